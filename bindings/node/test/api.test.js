'use strict';
// The JS API: errors, loading from buffers, output selection, close(),
// metadata, dtype and shape inference, and finalizers.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const v8 = require('node:v8');
const vm = require('node:vm');

const mle = require('..');
const suite = require('../support/suite.js');

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

const MLP = suite.mlpPath();
const model = (name) => suite.suitePath(`models/${name}.mle`);
const X = { features: { data: new Float32Array([0.5, -1, 2, 0.25, 1, 1, 1, 1]), shape: [2, 4] } };

// status: the number; code: its name (default: libmle's name for status).
function isMLEError(status, code) {
  return (e) => {
    assert.ok(e instanceof mle.MLEError, `want MLEError, got ${e && e.stack}`);
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'MLEError');
    assert.equal(e.status, status, `got ${e.code} (${e.status}): ${e.message}`);
    assert.equal(typeof e.code, 'string');
    assert.equal(e.code, code || mle.statusString(status));
    assert.equal(e.primary, status & 0xff);
    assert.equal(typeof e.message, 'string');
    assert.ok(e.message.length > 0);
    return true;
  };
}

const bytes = (t) => suite.bytesOf(t.data);
function sameResult(a, b) {
  assert.deepEqual(Object.keys(a), Object.keys(b));
  for (const k of Object.keys(a)) {
    assert.deepEqual(a[k].shape, b[k].shape);
    assert.equal(a[k].dtype, b[k].dtype);
    assert.ok(bytes(a[k]).equals(bytes(b[k])), k);
  }
}

test('versions', () => {
  assert.match(mle.version(), /^\d+\.\d+\.\d+/);
  assert.equal(mle.abiVersion(), 1);
  assert.equal(mle.ABI_VERSION, 1);
});

test('Status names match libmle', () => {
  for (const [name, code] of Object.entries(mle.Status)) assert.equal(mle.statusString(code), `MLE_${name}`);
  assert.equal(mle.statusString(123456), 'MLE_ERR_UNKNOWN');
});

test('missing file: MLE_ERR_IO_OPEN (259)', async () => {
  const missing = path.join(os.tmpdir(), 'mle-node-no-such-file.mle');
  assert.throws(() => mle.load(missing), isMLEError(259, 'MLE_ERR_IO_OPEN'));
  await assert.rejects(mle.loadAsync(missing), isMLEError(259, 'MLE_ERR_IO_OPEN'));
  try {
    mle.load(missing);
  } catch (e) {
    assert.equal(e.primary, 3);
    assert.equal(e.primaryCode, 'MLE_ERR_IO');
    assert.equal(e.primaryStatus, 'MLE_ERR_IO'); // the old name still works
    assert.match(e.message, /mle-node-no-such-file/);
  }
});

test('not an .mle file: MLE_ERR_FORMAT_*', () => {
  assert.throws(() => mle.loadBuffer(Buffer.alloc(0)), isMLEError(260, 'MLE_ERR_FORMAT_TRUNCATED'));
  assert.throws(() => mle.loadBuffer(Buffer.from('x'.repeat(200))), (e) => e instanceof mle.MLEError && e.primary === 4);
});

test('wrong input dtype: MLE_ERR_DTYPE (10)', async () => {
  const m = mle.load(MLP);
  const bad = { features: { data: new Float64Array(8), shape: [2, 4] } };
  assert.throws(() => m.runSync(bad), isMLEError(10, 'MLE_ERR_DTYPE'));
  await assert.rejects(m.run(bad), isMLEError(10, 'MLE_ERR_DTYPE'));
  // An explicit dtype that the array cannot hold; an unknown dtype name.
  const mismatch = { features: { data: new Float64Array(8), shape: [2, 4], dtype: 'float32' } };
  assert.throws(() => m.runSync(mismatch), isMLEError(10));
  await assert.rejects(m.run({ features: { data: new Float32Array(8), shape: [2, 4], dtype: 'float8' } }), isMLEError(10));
  // As raw bytes, the dtype given is the one sent to the library.
  const raw = { features: { data: new Uint8Array(new Float64Array(8).buffer), shape: [2, 4], dtype: 'float64' } };
  assert.throws(() => m.runSync(raw), isMLEError(10));
  m.close();
});

test('shape errors', async () => {
  const m = mle.load(MLP);
  assert.throws(() => m.runSync({ features: { data: new Float32Array(6), shape: [2, 3] } }), isMLEError(9));
  assert.throws(() => m.runSync({ features: { data: new Float32Array(8), shape: [2, -4] } }), isMLEError(9));
  assert.throws(() => m.runSync({ features: { data: new Float32Array(6) } }), isMLEError(9)); // 6 is not n x 4
  // Bytes that do not fit the shape are the library's MLE_ERR_INVALID_VALUE.
  assert.throws(() => m.runSync({ features: { data: new Float32Array(7), shape: [2, 4] } }), isMLEError(1025));
  await assert.rejects(m.run({ features: { data: new Float32Array(4), shape: [1, 2, 3, 4, 5, 6, 7, 8, 9] } }), isMLEError(9));
  m.close();
});

test('bad names: unknown input or output, missing input', async () => {
  const m = mle.load(MLP);
  assert.throws(() => m.runSync(X, { outputs: ['nope'] }), isMLEError(769, 'MLE_ERR_INVALID_NAME'));
  await assert.rejects(m.run(X, { outputs: ['nope'] }), isMLEError(769));
  assert.throws(() => m.runSync({ nope: X.features }), isMLEError(769));
  assert.throws(() => m.runSync({}), (e) => e instanceof mle.MLEError && e.primary === 1);
  m.close();
});

test('argument types', async () => {
  const m = mle.load(MLP);
  assert.throws(() => m.runSync(null), TypeError);
  assert.throws(() => m.runSync([X.features]), TypeError);
  assert.throws(() => m.runSync({ features: { data: 'abc', shape: [1] } }), TypeError);
  assert.throws(() => m.runSync({ features: { data: new Float32Array(4), shape: [1.5, 4] } }), TypeError);
  assert.throws(() => m.runSync(X, { outputs: [1] }), TypeError);
  assert.throws(() => m.runSync(X, { output: ['label'] }), isMLEError(513));
  await assert.rejects(m.run(42), TypeError); // run() rejects, never throws
  assert.throws(() => mle.load(42), TypeError);
  assert.throws(() => mle.loadBuffer('not bytes'), TypeError);
  assert.throws(() => new mle.Model(), TypeError);
  m.close();
});

test('open options', async () => {
  for (const options of [{ verify: true }, { readAll: true }, { threads: 1 }, { device: 'cpu' }, { maxArenaBytes: 1 << 20 }]) {
    const m = mle.load(MLP, options);
    sameResult(m.runSync(X), mle.load(MLP).runSync(X));
    m.close();
  }
  assert.throws(() => mle.load(MLP, { device: 'cuda' }), isMLEError(520, 'MLE_ERR_UNSUPPORTED_DEVICE'));
  assert.throws(() => mle.load(MLP, { device: 'tpu' }), isMLEError(513));
  assert.throws(() => mle.load(MLP, { verfy: true }), isMLEError(513, 'MLE_ERR_INVALID_OPTIONS'));
  assert.throws(() => mle.load(MLP, { threads: -1 }), isMLEError(513));
  assert.throws(() => mle.loadBuffer(fs.readFileSync(MLP), { readAll: true }), isMLEError(513));
  // A tiny memory cap refuses a big batch before allocating: MLE_ERR_NO_MEMORY_LIMIT (primary MLE_ERR_NO_MEMORY).
  const small = mle.load(MLP, { maxArenaBytes: 1024 });
  await assert.rejects(small.run({ features: new Float32Array(4096 * 4) }), isMLEError(269, 'MLE_ERR_NO_MEMORY_LIMIT'));
  assert.throws(() => small.runSync({ features: new Float32Array(4096 * 4) }), isMLEError(269, 'MLE_ERR_NO_MEMORY_LIMIT'));
  small.close();
  const m = mle.load(pathToFileURL(MLP));
  assert.equal(m.metadata.name, 'mlp_classifier');
  m.close();
});

test('model options: load({maxSessions, spinUs}) and setOptions()', async () => {
  const want = mle.load(MLP).runSync(X);
  const file = fs.readFileSync(MLP);
  const opened = [
    mle.load(MLP, { maxSessions: 1 }),
    mle.load(MLP, { spinUs: -1, verify: true }),
    mle.load(MLP, { maxSessions: 65536, spinUs: 100000 }),
    mle.loadBuffer(file, { maxSessions: 2, spinUs: 0 }),
    await mle.loadAsync(MLP, { maxSessions: 0, spinUs: 50 }),
  ];
  for (const m of opened) {
    sameResult(m.runSync(X), want);
    sameResult(await m.run(X), want);
    m.close();
  }

  const bad = isMLEError(513, 'MLE_ERR_INVALID_OPTIONS');
  // Out of libmle's range: refused after opening, and the model is not handed out.
  for (const options of [{ maxSessions: 65537 }, { spinUs: 100001 }]) {
    assert.throws(() => mle.load(MLP, options), bad, JSON.stringify(options));
    assert.throws(() => mle.loadBuffer(file, options), bad);
    await assert.rejects(mle.loadAsync(MLP, options), bad);
  }
  // Refused here before opening: types, negatives, unknown names.
  for (const options of [{ maxSessions: -1 }, { maxSessions: 1.5 }, { maxSessions: '2' }, { maxSessions: 2n }, { spinUs: -2 }, { spinUs: null }, { spinUs: 2 ** 31 }]) {
    assert.throws(() => mle.load(MLP, options), bad, JSON.stringify(options, (k, v) => (typeof v === 'bigint' ? `${v}n` : v)));
  }

  const m = mle.load(MLP);
  m.setOptions({ maxSessions: 3 });
  m.setOptions({ spinUs: -1 });
  m.setOptions({});
  m.setOptions({ maxSessions: 0, spinUs: 0 });
  sameResult(m.runSync(X), want);
  for (const options of [
    { maxSessions: -1 },
    { maxSessions: 1.5 },
    { maxSessions: '2' },
    { maxSessions: 65537 },
    { spinUs: -2 },
    { spinUs: 100001 },
    { spinUs: NaN },
    { maxsessions: 1 },
    { verify: true }, // an open option: not changeable afterwards
  ]) {
    assert.throws(() => m.setOptions(options), bad, JSON.stringify(options));
  }
  for (const options of [undefined, null, 'maxSessions', 4, [1]]) assert.throws(() => m.setOptions(options), TypeError);
  // A refused change leaves the model as it was.
  sameResult(await m.run(X), want);
  m.close();
  assert.throws(() => m.setOptions({ maxSessions: 1 }), isMLEError(2, 'MLE_ERR_BAD_HANDLE'));
});

test('loadBuffer and loadAsync give the same model', async () => {
  const ref = mle.load(MLP);
  const want = ref.runSync(X);
  const file = fs.readFileSync(MLP);
  const odd = Buffer.alloc(file.length + 3);
  file.copy(odd, 3);
  for (const buf of [file, new Uint8Array(file), file.buffer.slice(file.byteOffset, file.byteOffset + file.length), odd.subarray(3), new DataView(odd.buffer, odd.byteOffset + 3, file.length)]) {
    const m = mle.loadBuffer(buf);
    assert.deepEqual(m.inputs, ref.inputs);
    assert.deepEqual(m.outputs, ref.outputs);
    sameResult(m.runSync(X), want);
    sameResult(await m.run(X), want);
    m.close();
  }
  // The bytes are copied: changing the buffer afterwards changes nothing.
  const copy = Buffer.from(file);
  const m = mle.loadBuffer(copy);
  copy.fill(0);
  sameResult(m.runSync(X), want);
  const a = await mle.loadAsync(MLP, { verify: true });
  sameResult(await a.run(X), want);
  a.close();
  ref.close();
});

test('output selection by name', async () => {
  const m = mle.load(MLP);
  const all = m.runSync(X);
  assert.deepEqual(Object.keys(all), ['probabilities', 'label']);
  assert.ok(all.label.data instanceof BigInt64Array);
  assert.ok(all.probabilities.data instanceof Float32Array);
  const label = await m.run(X, { outputs: ['label'] });
  assert.deepEqual(Object.keys(label), ['label']);
  assert.ok(bytes(label.label).equals(bytes(all.label)));
  const both = m.runSync(X, { outputs: ['label', 'probabilities'] });
  assert.deepEqual(Object.keys(both), ['label', 'probabilities']);
  sameResult({ probabilities: both.probabilities, label: both.label }, all);
  assert.deepEqual(Object.keys(m.runSync(X, { outputs: 'probabilities' })), ['probabilities']);
  assert.throws(() => m.runSync(X, { outputs: [] }), isMLEError(1025));
  m.close();
});

test('close() then run: MLE_ERR_BAD_HANDLE (2)', async () => {
  const m = mle.load(MLP);
  assert.equal(m.closed, false);
  m.close();
  m.close(); // idempotent
  assert.equal(m.closed, true);
  await assert.rejects(m.run(X), isMLEError(2, 'MLE_ERR_BAD_HANDLE'));
  assert.throws(() => m.runSync(X), isMLEError(2, 'MLE_ERR_BAD_HANDLE'));
  assert.equal(m.inputs[0].name, 'features'); // the signature stays readable
  if (typeof Symbol.dispose === 'symbol') {
    const d = mle.load(MLP);
    d[Symbol.dispose]();
    assert.equal(d.closed, true);
  }
});

test('metadata, inputs and outputs', () => {
  const m = mle.load(MLP);
  assert.equal(typeof m.metadata, 'object');
  assert.equal(m.metadata.name, 'mlp_classifier');
  assert.equal(m.metadata.version, '1.0.0');
  assert.deepEqual(m.metadata, JSON.parse(m.metadataJSON));
  assert.ok(Object.isFrozen(m.metadata));
  assert.deepEqual(m.inputs, [{ name: 'features', dtype: 'float32', shape: [-1, 4] }]);
  assert.deepEqual(m.outputs, [
    { name: 'probabilities', dtype: 'float32', shape: [-1, 3] },
    { name: 'label', dtype: 'int64', shape: [-1] },
  ]);
  assert.ok(Object.isFrozen(m.inputs) && Object.isFrozen(m.inputs[0].shape));
  assert.match(require('node:util').inspect(m), /Model "mlp_classifier" \{ inputs: \(features: float32\[-1, 4\]\)/);
  m.close();
});

test('inputs: inferred dtypes and shapes, plain and nested arrays', async () => {
  const m = mle.load(MLP);
  const want = m.runSync(X);
  const flat = [0.5, -1, 2, 0.25, 1, 1, 1, 1];
  sameResult(m.runSync({ features: X.features.data }), want); // shape [-1, 4] inferred
  sameResult(m.runSync({ features: { data: X.features.data } }), want);
  sameResult(m.runSync({ features: { data: flat, shape: [2, 4] } }), want);
  sameResult(m.runSync({ features: [flat.slice(0, 4), flat.slice(4)] }), want);
  sameResult(await m.run({ features: { data: new Uint8Array(X.features.data.buffer), shape: [2, 4], dtype: 'float32' } }), want);
  sameResult(m.runSync({ features: new DataView(X.features.data.buffer) }), want);
  assert.throws(() => m.runSync({ features: [[1, 2, 3, 4], [1, 2]] }), isMLEError(9));
  // Zero rows.
  const empty = m.runSync({ features: { data: new Float32Array(0), shape: [0, 4] } });
  assert.deepEqual(empty.probabilities.shape, [0, 3]);
  assert.equal(empty.probabilities.data.length, 0);
  m.close();

  // bool inputs come as Uint8Array (dtype inferred from the model).
  const b = mle.load(model('op_cast_bool_to_float64'));
  const bdecl = b.inputs[0];
  assert.equal(bdecl.dtype, 'bool');
  const shape = bdecl.shape.map((d) => (d < 0 ? 2 : d));
  const n = shape.reduce((p, d) => p * d, 1);
  const bits = Uint8Array.from({ length: n }, (_, i) => i % 2);
  const r1 = b.runSync({ [bdecl.name]: { data: bits, shape } });
  const r2 = b.runSync({ [bdecl.name]: { data: Array.from(bits, Boolean), shape, dtype: 'bool' } });
  sameResult(r1, r2);
  const out = Object.values(r1)[0];
  assert.deepEqual(Array.from(out.data), Array.from(bits));
  b.close();

  // int64 inputs: BigInt64Array, or numbers/bigints in a plain array.
  const i = mle.load(model('op_add_int64'));
  const idecl = i.inputs[0];
  const ishape = idecl.shape.map((d) => (d < 0 ? 1 : d));
  const count = ishape.reduce((p, d) => p * d, 1);
  const values = Array.from({ length: count }, (_, k) => k - 2);
  sameResult(i.runSync({ [idecl.name]: { data: BigInt64Array.from(values, BigInt), shape: ishape } }),
    i.runSync({ [idecl.name]: { data: values, shape: ishape } }));
  i.close();
});

test('async inputs are copied: the caller may change them at once', async () => {
  const m = mle.load(MLP);
  const data = Float32Array.from({ length: 400 }, (_, k) => Math.sin(k));
  const want = m.runSync({ features: { data, shape: [100, 4] } });
  const p = m.run({ features: { data, shape: [100, 4] } });
  data.fill(1e30);
  sameResult(await p, want);
  m.close();
});

test('finalizers: dropped models and models collected with runs pending', async () => {
  const want = mle.load(MLP).runSync(X);
  for (let i = 0; i < 200; i++) mle.load(MLP).runSync(X);
  gc();
  const pending = [];
  for (let i = 0; i < 20; i++) pending.push(mle.load(MLP).run(X)); // the Model is unreachable at once
  gc();
  for (const r of await Promise.all(pending)) sameResult(r, want);
  gc();
  await new Promise((resolve) => setImmediate(resolve));
  // Outputs own their memory: they outlive the model.
  const m = mle.load(MLP);
  const r = m.runSync(X);
  m.close();
  gc();
  sameResult(r, want);
});
