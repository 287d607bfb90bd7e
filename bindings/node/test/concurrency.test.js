'use strict';
// Many asynchronous runs on one model at once: libmle's session pool (bounded
// by maxSessions), results going to the right promise, and an event loop that
// keeps turning.
const test = require('node:test');
const assert = require('node:assert/strict');

const mle = require('..');
const suite = require('../support/suite.js');

const N = 200;

// Deterministic inputs of different batch sizes, so a result delivered to the
// wrong promise would show.
function batch(i) {
  const rows = 1 + ((i * 389) % 6000);
  const data = new Float32Array(rows * 4);
  for (let j = 0; j < data.length; j++) data[j] = Math.sin(i * 7.31 + j * 0.173) * 3;
  return { features: { data, shape: [rows, 4] } };
}

function same(got, want, how) {
  assert.deepEqual(Object.keys(got), Object.keys(want), how);
  for (const name of Object.keys(want)) {
    assert.equal(got[name].dtype, want[name].dtype, `${how}: ${name}`);
    assert.deepEqual(got[name].shape, want[name].shape, `${how}: ${name}`);
    assert.ok(suite.bytesOf(got[name].data).equals(suite.bytesOf(want[name].data)), `${how}: ${name} bytes differ`);
  }
}

test(`${N} pending runs on one model match runSync`, async (t) => {
  const model = mle.load(suite.mlpPath());
  const inputs = Array.from({ length: N }, (_, i) => batch(i));
  const expected = inputs.map((x) => model.runSync(x));

  let settled = 0;
  let immediateSawPending = null;
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);

  const started = process.hrtime.bigint();
  const promises = inputs.map((x) =>
    model.run(x).then((r) => {
      settled++;
      return r;
    }),
  );
  const queueMs = Number(process.hrtime.bigint() - started) / 1e6;
  assert.equal(settled, 0, 'run() must not settle synchronously');
  setImmediate(() => {
    immediateSawPending = N - settled;
  });
  // The callers' arrays may change as soon as run() returns: inputs are copied.
  for (const x of inputs) x.features.data.fill(Number.NaN);

  const results = await Promise.all(promises);
  const totalMs = Number(process.hrtime.bigint() - started) / 1e6;
  clearInterval(timer);

  for (let i = 0; i < N; i++) same(results[i], expected[i], `run ${i}`);
  assert.ok(immediateSawPending !== null, 'setImmediate never ran while runs were pending');
  assert.ok(immediateSawPending > 0, `setImmediate ran only after every run settled (queued in ${queueMs} ms)`);
  t.diagnostic(
    `queued ${N} runs in ${queueMs.toFixed(1)} ms, all done in ${totalMs.toFixed(1)} ms; ` +
      `setImmediate ran with ${immediateSawPending} pending; ${ticks} timer ticks`,
  );
  model.close();
});

test('32 runs at once through 2 sessions (maxSessions: 2) match runSync', async () => {
  const model = mle.load(suite.mlpPath(), { maxSessions: 2 });
  const inputs = Array.from({ length: 32 }, (_, i) => batch(i + 1000));
  const expected = inputs.map((x) => model.runSync(x));
  // Runs beyond the 2 sessions wait in libmle on a libuv thread, and runSync
  // on this one may wait for a session too.
  const [results, sync] = await Promise.all([Promise.all(inputs.map((x) => model.run(x))), model.runSync(inputs[3])]);
  for (let i = 0; i < inputs.length; i++) same(results[i], expected[i], `run ${i}`);
  same(sync, expected[3], 'runSync among them');

  // The bound changes while runs are in flight; each still gets the right result.
  const more = inputs.map((x, i) => {
    if (i === 8) model.setOptions({ maxSessions: 1 });
    if (i === 16) model.setOptions({ maxSessions: 0, spinUs: -1 });
    if (i === 24) model.setOptions({ maxSessions: 3, spinUs: 0 });
    return model.run(x);
  });
  for (const [i, r] of (await Promise.all(more)).entries()) same(r, expected[i], `run ${i} while the bound changes`);
  model.close();
});

test('close() with runs pending: they finish, later runs fail with MLE_ERR_BAD_HANDLE', async () => {
  const model = mle.load(suite.mlpPath());
  const x = batch(5);
  const want = model.runSync(x);
  const pending = Array.from({ length: 50 }, () => model.run(x));
  model.close();
  assert.equal(model.closed, true);
  await assert.rejects(model.run(x), (e) => e instanceof mle.MLEError && e.code === 'MLE_ERR_BAD_HANDLE');
  assert.throws(() => model.runSync(x), (e) => e instanceof mle.MLEError && e.code === 'MLE_ERR_BAD_HANDLE');
  for (const r of await Promise.all(pending)) same(r, want, 'run begun before close()');
  assert.throws(() => model.setOptions({ maxSessions: 1 }), (e) => e instanceof mle.MLEError && e.code === 'MLE_ERR_BAD_HANDLE');
});

test('many models at once', async () => {
  const models = Array.from({ length: 8 }, () => mle.load(suite.mlpPath()));
  const x = batch(11);
  const want = models[0].runSync(x);
  const results = await Promise.all(models.flatMap((m) => [m.run(x), m.run(x), m.run(x)]));
  for (const r of results) same(r, want, 'result');
  for (const m of models) m.close();
});
