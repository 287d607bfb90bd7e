// The package's entry points: `import` (index.mjs, through the exports map)
// and `require` (index.js) give one API and one addon instance.
import test from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as ns from 'mle-runtime';
import mle, { load, loadAsync, MLEError, AbortError, Status } from 'mle-runtime';

const require = createRequire(import.meta.url);
const cjs = require('mle-runtime');
const suite = require('../support/suite.js');

test('import and require give the same API', () => {
  assert.equal(require.resolve('mle-runtime'), require.resolve('../index.js'));
  assert.equal(mle, cjs);
  assert.deepEqual(Object.keys(ns).filter((k) => k !== 'default').sort(), Object.keys(cjs).sort());
  for (const k of Object.keys(cjs)) assert.equal(ns[k], cjs[k], k);
  assert.equal(load, cjs.load);
  assert.equal(MLEError, cjs.MLEError);
});

test('import: a model runs, and errors carry string codes', async () => {
  const m = await loadAsync(suite.mlpPath());
  const r = await m.run({ features: { data: new Float32Array([0.5, -1, 2, 0.25, 1, 1, 1, 1]), shape: [2, 4] } });
  assert.deepEqual(r.probabilities.shape, [2, 3]);
  assert.deepEqual(r.label.shape, [2]);
  const sync = m.runSync({ features: { data: new Float32Array([0.5, -1, 2, 0.25, 1, 1, 1, 1]), shape: [2, 4] } });
  assert.deepEqual(Array.from(r.label.data), Array.from(sync.label.data));
  let err;
  try {
    m.runSync({ features: { data: new Float32Array(6), shape: [2, 3] } });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof MLEError && err instanceof cjs.MLEError);
  assert.equal(err.code, 'MLE_ERR_SHAPE');
  assert.equal(err.status, Status.ERR_SHAPE);
  await assert.rejects(m.run({ features: new Float32Array(4) }, { signal: AbortSignal.abort() }), (e) => e instanceof AbortError && e.name === 'AbortError');
  m.close();
});
