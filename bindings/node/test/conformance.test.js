'use strict';
// The whole cross-language conformance suite (tests/conformance/README.md):
// every case, every run, through run() and runSync(), compared byte for byte
// (string outputs element by element).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');

const mle = require('..');
const suite = require('../support/suite.js');

let cases;
try {
  cases = suite.manifest().cases;
} catch (e) {
  test('conformance suite present', () => {
    throw e; // names `make conformance`
  });
}

function checkOpenError(err, want, how) {
  assert.ok(err instanceof mle.MLEError, `${how}: want MLEError, got ${err && err.stack}`);
  assert.equal(err.code, want.name, `${how}: got ${err.code} (${err.message}), want ${want.name}`);
  assert.equal(err.status, want.code, how);
  assert.equal(err.primary, want.primary, how);
  assert.equal(err.primaryCode, want.primary_name, how);
}

const signature = (list) => list.map((t) => ({ name: t.name, dtype: t.dtype, shape: [...t.shape] }));

function checkOutputs(got, run, how) {
  assert.deepEqual(Object.keys(got), run.outputs.map((t) => t.name), `${how}: output names`);
  for (const want of run.outputs) {
    const g = got[want.name];
    assert.equal(g.dtype, want.dtype, `${how}: ${want.name} dtype`);
    assert.deepEqual(g.shape, want.shape, `${how}: ${want.name} shape`);
    if (want.dtype === 'string') {
      assert.ok(Array.isArray(g.data), `${how}: ${want.name} is a ${g.data.constructor.name}, not an Array`);
      assert.equal(g.data.length, want.strings.length, `${how}: ${want.name} length`);
      for (const [k, s] of want.strings.entries()) {
        assert.equal(g.data[k], s, `${how}: ${want.name}[${k}] differs`);
      }
      continue;
    }
    assert.ok(g.data instanceof suite.ARRAYS[want.dtype], `${how}: ${want.name} is a ${g.data.constructor.name}`);
    const expected = suite.tensorBytes(want);
    assert.equal(g.data.byteLength, expected.length, `${how}: ${want.name} byte length`);
    assert.ok(suite.bytesOf(g.data).equals(expected), `${how}: ${want.name} bytes differ`);
  }
}

if (cases) {
  test('the manifest has cases', () => {
    assert.ok(cases.length > 0);
  });

  for (const c of cases) {
    test(c.name, async () => {
      const file = suite.suitePath(c.model);
      const options = { verify: c.verify === true };

      if (c.open_error) {
        assert.throws(() => mle.load(file, options), (e) => (checkOpenError(e, c.open_error, 'load'), true));
        assert.throws(
          () => mle.loadBuffer(fs.readFileSync(file), options),
          (e) => (checkOpenError(e, c.open_error, 'loadBuffer'), true),
        );
        await assert.rejects(mle.loadAsync(file, options), (e) => (checkOpenError(e, c.open_error, 'loadAsync'), true));
        return;
      }

      const model = mle.load(file, options);
      try {
        assert.deepEqual(signature(model.inputs), c.inputs, 'inputs');
        assert.deepEqual(signature(model.outputs), c.outputs, 'outputs');
        assert.equal(model.metadata.name, c.metadata.name);
        assert.equal(model.metadata.version, c.metadata.version);

        for (const [i, run] of c.runs.entries()) {
          const inputs = Object.fromEntries(run.inputs.map((t) => [t.name, suite.tensorInput(t)]));
          if (run.error) {
            const check = (how) => (e) => {
              assert.ok(e instanceof mle.MLEError, `${how}: want MLEError, got ${e && e.stack}`);
              assert.equal(e.code, run.error.name, `${how}: got ${e.code} (${e.message}), want ${run.error.name}`);
              assert.equal(e.status, run.error.code);
              assert.equal(e.primary, run.error.primary);
              return true;
            };
            assert.throws(() => model.runSync(inputs), check(`run ${i} (runSync)`));
            await assert.rejects(model.run(inputs), check(`run ${i} (run)`));
            continue;
          }
          checkOutputs(model.runSync(inputs), run, `run ${i} (runSync)`);
          checkOutputs(await model.run(inputs), run, `run ${i} (run)`);
        }
      } finally {
        model.close();
      }
    });
  }
}
