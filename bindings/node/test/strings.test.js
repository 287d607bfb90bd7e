'use strict';
// String tensors (docs/FORMAT.md §7.1): inputs are arrays of JS strings,
// packed to UTF-8 here; outputs come back as arrays of JS strings. Bad
// elements are MLEErrors naming the input and the element: MLE_ERR_DTYPE for
// a non-string, MLE_ERR_INVALID_STRING for a lone surrogate (which UTF-8
// cannot hold) or an element over MAX_STRING_BYTES.
const test = require('node:test');
const assert = require('node:assert/strict');

const mle = require('..');
const suite = require('../support/suite.js');

const load = (name) => mle.load(suite.suitePath(`models/${name}.mle`));
const caseOf = (name) => suite.manifest().cases.find((c) => c.name === name);

// Fails the same way through runSync and run.
async function refuses(m, inputs, code, pattern) {
  const check = (how) => (e) => {
    assert.ok(e instanceof mle.MLEError, `${how}: want MLEError, got ${e && e.stack}`);
    assert.equal(e.status, code, `${how}: got ${e.code}: ${e.message}`);
    assert.equal(e.code, mle.statusString(code), how);
    assert.match(e.message, pattern, how);
    return true;
  };
  assert.throws(() => m.runSync(inputs), check('runSync'));
  await assert.rejects(m.run(inputs), check('run'));
}

// mixed_columns echoes its text column back (and looks it up among categories).
const echo = (m, city, options) => m.runSync({ city, age: new Float64Array(city.length) }, options);

test('string_labels: scores in, class labels out', async () => {
  const m = load('string_labels');
  assert.deepEqual(m.outputs[0], { name: 'label', dtype: 'string', shape: [-1] });
  const run = caseOf('string_labels').runs[0];
  const inputs = Object.fromEntries(run.inputs.map((t) => [t.name, suite.tensorInput(t)]));
  const want = run.outputs.find((t) => t.name === 'label').strings;
  assert.ok(want.includes('setosa') && want.some((s) => /東京/.test(s)), 'the suite has real labels');
  for (const r of [m.runSync(inputs), await m.run(inputs)]) {
    assert.equal(r.label.dtype, 'string');
    assert.deepEqual(r.label.shape, [want.length]);
    assert.ok(Array.isArray(r.label.data));
    assert.deepEqual(r.label.data, want);
  }
  // The label follows the index of the largest score.
  const labels = new Map();
  const r = m.runSync(inputs);
  r.index.data.forEach((k, i) => labels.set(k, r.label.data[i]));
  const scores = { data: new Float64Array([0, 0, 9, 9, 0, 0, 0, 9, 0]), shape: [3, 3] };
  const got = m.runSync({ scores });
  assert.deepEqual(Array.from(got.index.data), [2n, 0n, 1n]);
  assert.deepEqual(got.label.data, [2n, 0n, 1n].map((k) => labels.get(k)));
  // Zero rows: an empty array.
  const none = await m.run({ scores: { data: new Float64Array(0), shape: [0, 3] } });
  assert.deepEqual(none.label.data, []);
  assert.deepEqual(none.label.shape, [0]);
  m.close();
});

test('string inputs: flat or nested arrays, shapes, any Unicode text', async () => {
  const m = load('mixed_columns');
  assert.deepEqual(m.inputs[0], { name: 'city', dtype: 'string', shape: [-1] });
  const text = ['東京', 'Lyon', '', 'Paris', 'São Paulo', 'a\0b', '😀 emoji', 'é'.repeat(100)];
  const r = echo(m, text);
  assert.deepEqual(r.city_echo.data, text);
  assert.deepEqual(r.city_echo.shape, [text.length]);
  // Known categories map to their codes, unknown ones to -1.
  assert.deepEqual(Array.from(r.code.data.slice(0, 5)), [1n, -1n, 3n, 0n, 2n]);
  // The same input as {data, shape, dtype}, and as a nested array with a shape.
  const age = new Float64Array(2);
  assert.deepEqual(m.runSync({ city: { data: ['x', 'y'], shape: [2], dtype: 'string' }, age }).city_echo.data, ['x', 'y']);
  assert.deepEqual(m.runSync({ city: { data: [['x'], ['y']], shape: [2] }, age }).city_echo.data, ['x', 'y']);
  assert.deepEqual(echo(m, []).city_echo.data, []);
  // The shape must hold exactly the elements given.
  await refuses(m, { city: { data: ['x', 'y', 'z'], shape: [2] }, age }, mle.Status.ERR_SHAPE, /input "city": 3 strings do not fill shape \[2\]/);
  // A rank the model does not take: libmle's shape error.
  await refuses(m, { city: [['x'], ['y']], age }, mle.Status.ERR_SHAPE, /city/);
  await refuses(m, { city: [['x'], ['y', 'z']], age }, mle.Status.ERR_SHAPE, /ragged/);
  m.close();
});

test('string inputs: non-strings are MLE_ERR_DTYPE naming the input', async () => {
  const m = load('mixed_columns');
  const age = new Float64Array(2);
  const DTYPE = mle.Status.ERR_DTYPE;
  for (const v of [1, 1n, null, undefined, true, {}, Symbol('s'), new String('boxed')]) {
    await refuses(m, { city: ['ok', v], age }, DTYPE, /input "city": element \[1\] is .*; a string input takes strings/);
  }
  await refuses(m, { city: { data: [['ok'], [2]], shape: [2] }, age }, DTYPE, /input "city": element \[1\]\[0\] is a number/);
  await refuses(m, { city: [1.5, 2.5], age }, DTYPE, /input "city": element \[0\] is a number/);
  // Anything but an array, with or without dtype "string".
  await refuses(m, { city: new Float64Array(2), age }, DTYPE, /input "city" takes strings/);
  await refuses(m, { city: { data: new Uint8Array(24), shape: [2], dtype: 'string' }, age }, DTYPE, /input "city": dtype string takes an array/);
  await refuses(m, { city: { data: 'xy', shape: [2], dtype: 'string' }, age }, DTYPE, /input "city": dtype string takes an array of strings, not a string/);
  // Numbers declared as numbers reach libmle, which refuses the dtype.
  await refuses(m, { city: { data: new Float64Array(2), dtype: 'float64' }, age }, DTYPE, /city/);
  await refuses(m, { city: { data: [1, 2], dtype: 'float64' }, age }, DTYPE, /city/);
  // Strings for a numeric input stay a TypeError, as for any plain array.
  assert.throws(() => m.runSync({ city: ['a', 'b'], age: ['1', '2'] }), TypeError);
  m.close();
});

test('string inputs: lone surrogates are MLE_ERR_INVALID_STRING, not replaced', async () => {
  const m = load('mixed_columns');
  const age = new Float64Array(2);
  const INVALID = mle.Status.ERR_INVALID_STRING;
  const bad = [
    ['x\ud800y', 'U\\+D800 at index 1'],
    ['\udc00', 'U\\+DC00 at index 0'],
    ['ab\udbff', 'U\\+DBFF at index 2'],
    ['\ude00\ud83d', 'U\\+DE00 at index 0'], // a pair in the wrong order
    ['😀\udfff', 'U\\+DFFF at index 2'],
  ];
  for (const [s, where] of bad) {
    await refuses(m, { city: ['fine', s], age }, INVALID, new RegExp(`input "city": element \\[1\\] has a lone surrogate \\(${where}\\)`));
  }
  // Pairs are fine, and come back as they went in.
  assert.deepEqual(echo(m, ['\ud83d\ude00', '𝄞']).city_echo.data, ['😀', '𝄞']);
  m.close();
});

test('string inputs: an element over MAX_STRING_BYTES of UTF-8 is MLE_ERR_INVALID_STRING', async () => {
  assert.equal(mle.MAX_STRING_BYTES, 1 << 20);
  const m = load('mixed_columns');
  const atLimit = 'é'.repeat(mle.MAX_STRING_BYTES / 2); // 2 bytes each: exactly the limit
  const r = echo(m, ['short', atLimit]);
  assert.equal(r.city_echo.data[1], atLimit);
  const age = new Float64Array(2);
  const INVALID = mle.Status.ERR_INVALID_STRING;
  const pattern = new RegExp(`input "city": element \\[1\\] is ${mle.MAX_STRING_BYTES + 1} bytes of UTF-8; the limit is ${mle.MAX_STRING_BYTES}`);
  await refuses(m, { city: ['short', `${atLimit}a`], age }, INVALID, pattern);
  await refuses(m, { city: ['short', 'a'.repeat(mle.MAX_STRING_BYTES + 1)], age }, INVALID, pattern);
  m.close();
});

test('string tensors through run(): concurrent runs, inputs taken at the call', async () => {
  const m = load('mixed_columns');
  const batches = Array.from({ length: 16 }, (_, i) => Array.from({ length: 50 + i }, (_, k) => `${i}:${k} ünï ${'東'.repeat(k % 7)}`));
  const pending = batches.map((city) => m.run({ city, age: new Float64Array(city.length) }));
  // Changing the arrays after run() returns changes nothing: they were packed at the call.
  for (const b of batches) b.fill('changed');
  const results = await Promise.all(pending);
  for (const [i, r] of results.entries()) {
    assert.equal(r.city_echo.data.length, 50 + i);
    r.city_echo.data.forEach((s, k) => assert.equal(s, `${i}:${k} ünï ${'東'.repeat(k % 7)}`));
  }
  // Only the string output.
  const only = await m.run({ city: ['Paris'], age: [30] }, { outputs: ['city_echo'] });
  assert.deepEqual(Object.keys(only), ['city_echo']);
  assert.deepEqual(only.city_echo.data, ['Paris']);
  // Errors reject; they do not throw.
  const p = m.run({ city: ['\ud800'], age: [1] });
  assert.ok(p instanceof Promise);
  await assert.rejects(p, (e) => e instanceof mle.MLEError && e.code === 'MLE_ERR_INVALID_STRING');
  m.close();
});
