'use strict';
// Plain-array inputs: every element is checked (a TypeError naming the input
// and the element for a non-numeric value, MLE_ERR_INVALID_VALUE for a
// number the dtype cannot hold), float16/bfloat16 values are rounded to
// nearest even, and big dimensions reach libmle exactly. Also: the Status
// table equals include/mle.h.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const mle = require('..');
const convert = require('../convert.js');
const suite = require('../support/suite.js');
const { includeDir } = require('../scripts/paths.js');

const model = (name) => mle.load(suite.suitePath(`models/${name}.mle`));

// Throws a TypeError naming the input and the element, through runSync and run.
async function refusesType(m, inputs, element) {
  const check = (e) => {
    assert.ok(e instanceof TypeError, `want TypeError, got ${e && e.stack}`);
    const name = Object.keys(inputs)[0];
    assert.match(e.message, new RegExp(`input "${name}": element ${element.replace(/[[\]]/g, '\\$&')} is `));
    return true;
  };
  assert.throws(() => m.runSync(inputs), check);
  await assert.rejects(m.run(inputs), check);
}

async function refusesValue(m, inputs) {
  const check = (e) => {
    assert.ok(e instanceof mle.MLEError, `want MLEError, got ${e && e.stack}`);
    assert.equal(e.code, 'MLE_ERR_INVALID_VALUE', e.message);
    assert.equal(e.status, mle.Status.ERR_INVALID_VALUE);
    assert.match(e.message, new RegExp(`input "${Object.keys(inputs)[0]}": element \\[`));
    return true;
  };
  assert.throws(() => m.runSync(inputs), check);
  await assert.rejects(m.run(inputs), check);
}

test('float32: strings, objects, undefined, null, booleans and holes are TypeErrors, not NaN', async () => {
  const m = mle.load(suite.mlpPath());
  const row = [0.5, -1, 2, 0.25];
  const bad = ['1', 'abc', {}, [], undefined, null, true, Symbol('x'), () => 1, new Float32Array(1)];
  for (const v of bad) {
    const nested = [row, [0.5, v, 2, 0.25]];
    // [] nests one level deeper (a ragged array) rather than being an element.
    if (Array.isArray(v)) {
      assert.throws(() => m.runSync({ features: nested }), (e) => e instanceof mle.MLEError && e.code === 'MLE_ERR_SHAPE');
      continue;
    }
    await refusesType(m, { features: nested }, '[1][1]');
    await refusesType(m, { features: { data: [...row, 1, 1, 1, v], shape: [2, 4] } }, '[7]');
  }
  // A hole is an element that is not there.
  await refusesType(m, { features: { data: [1, 2, , 4], shape: [1, 4] } }, '[2]');
  await refusesType(m, { features: [[1, 2, 3, 4], new Array(4)] }, '[1][0]');
  // Messages say what the element is.
  assert.throws(() => m.runSync({ features: [[1, 2, 3, '4x']] }), /element \[0\]\[3\] is a string \("4x"\); float32 takes numbers or bigints/);
  assert.throws(() => m.runSync({ features: [[1, 2, 3, null]] }), /element \[0\]\[3\] is null/);
  assert.throws(() => m.runSync({ features: [[1, 2, 3, new Date(0)]] }), /element \[0\]\[3\] is an object \(Date\)/);
  // Numbers, bigints, NaN and infinities are numbers: accepted.
  const want = m.runSync({ features: { data: new Float32Array([1, 2, 3, 4]), shape: [1, 4] } });
  const got = m.runSync({ features: [[1, 2n, 3, 4]] });
  assert.deepEqual(Array.from(got.probabilities.data), Array.from(want.probabilities.data));
  const special = m.runSync({ features: [[NaN, Infinity, -Infinity, -0]] });
  assert.equal(special.probabilities.shape[0], 1);
  // Nesting deeper than rank 8.
  let deep = [1];
  for (let i = 0; i < 9; i++) deep = [deep];
  assert.throws(() => m.runSync({ features: { data: deep, shape: [1] } }), (e) => e instanceof mle.MLEError && e.code === 'MLE_ERR_SHAPE');
  m.close();
});

test('integer dtypes: non-integers and out-of-range values are refused, not truncated or wrapped', async () => {
  const cases = [
    { name: 'op_cast_int8_to_float64', dtype: 'int8', ok: [-128, 127, 0n, -1], bad: [128, -129, 1.5, 2n ** 7n, NaN, Infinity] },
    { name: 'op_cast_uint8_to_float64', dtype: 'uint8', ok: [0, 255, 7n, 1], bad: [256, -1, 0.5, -1n] },
    { name: 'op_cast_int32_to_float64', dtype: 'int32', ok: [-(2 ** 31), 2 ** 31 - 1, -5n, 3], bad: [2 ** 31, -(2 ** 31) - 1, 1e-9, 2n ** 40n] },
  ];
  for (const c of cases) {
    const m = model(c.name);
    const input = m.inputs[0].name;
    assert.equal(m.inputs[0].dtype, c.dtype);
    const out = m.runSync({ [input]: c.ok });
    assert.deepEqual(Array.from(Object.values(out)[0].data), c.ok.map(Number), c.name);
    for (const v of c.bad) await refusesValue(m, { [input]: [0, 0, v, 0] });
    for (const v of ['1', true, undefined, {}]) await refusesType(m, { [input]: [0, v, 0, 0] }, '[1]');
    m.close();
  }
});

test('int64: bigints in range, safe-integer numbers; nothing else', async () => {
  const m = model('op_add_int64');
  const decl = m.inputs[0];
  const name = decl.name;
  const shape = decl.shape.map((d) => (d < 0 ? 1 : d));
  const count = shape.reduce((p, d) => p * d, 1);
  const fill = (v) => Array.from({ length: count }, (_, i) => (i === count - 1 ? v : 0));
  const run = (v) => m.runSync({ [name]: { data: fill(v), shape } });
  // The model adds a stored constant c (int64 arithmetic wraps).
  const last = (r) => Object.values(r)[0].data[count - 1];
  const c = last(run(0));
  for (const v of [2n ** 63n - 1n, -(2n ** 63n), Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, -7]) {
    assert.equal(last(run(v)), BigInt.asIntN(64, BigInt(v) + c), String(v));
  }
  for (const v of [2n ** 63n, -(2n ** 63n) - 1n, 2 ** 53, 1.5, NaN, -Infinity]) {
    await refusesValue(m, { [name]: { data: fill(v), shape } });
  }
  for (const v of ['5', '5n', true, null, undefined]) {
    await refusesType(m, { [name]: { data: fill(v), shape } }, `[${count - 1}]`);
  }
  m.close();
});

test('bool: booleans, 0 and 1 only', async () => {
  const m = model('op_cast_bool_to_float64');
  const name = m.inputs[0].name;
  const out = m.runSync({ [name]: [true, false, 1, 0n] });
  assert.deepEqual(Array.from(Object.values(out)[0].data), [1, 0, 1, 0]);
  for (const v of [2, -1, 0.5, 2n, NaN]) await refusesValue(m, { [name]: [true, v, false, true] });
  for (const v of ['false', 'true', '', undefined, null, {}]) await refusesType(m, { [name]: [true, false, v, true] }, '[2]');
  m.close();
});

// Independent decoders for the checks below.
function float16Value(bits) {
  const sign = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 0x1f;
  const f = bits & 0x3ff;
  if (e === 0) return sign * f * 2 ** -24;
  if (e === 0x1f) return f ? NaN : sign * Infinity;
  return sign * (1024 + f) * 2 ** (e - 25);
}
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function bfloat16Value(bits) {
  u32[0] = bits << 16;
  return f32[0];
}

for (const [dtype, encode, decode, nan] of [
  ['float16', convert.float16Bits, float16Value, 0x7e00],
  ['bfloat16', convert.bfloat16Bits, bfloat16Value, 0x7fc0],
]) {
  test(`${dtype}: plain numbers are rounded to nearest even (every value, every midpoint)`, () => {
    const SIGN = 0x8000;
    const maxFinite = dtype === 'float16' ? 0x7bff : 0x7f7f;
    const inf = dtype === 'float16' ? 0x7c00 : 0x7f80;
    for (let b = 0; b < 0x10000; b++) {
      const v = decode(b);
      if (!Number.isNaN(v)) assert.equal(encode(v), b, `${dtype} ${v} (0x${b.toString(16)})`);
    }
    // Between neighbours b and b + 1 (exact in a double): the midpoint rounds
    // to the even one, a hair either side to the nearer one; the same for
    // negative values.
    for (let b = 0; b < maxFinite; b++) {
      const v = decode(b);
      const next = decode(b + 1);
      const mid = (v + next) / 2;
      const hair = (next - v) / 1024;
      const even = b % 2 === 0 ? b : b + 1;
      for (const [x, want] of [[mid, even], [mid + hair, b + 1], [mid - hair, b]]) {
        assert.equal(encode(x), want, `${dtype} ${x}`);
        assert.equal(encode(-x), want | SIGN, `${dtype} ${-x}`);
      }
    }
    // From the midpoint past the largest finite value on: infinity.
    const max = decode(maxFinite);
    const tie = max + (max - decode(maxFinite - 1)) / 2;
    assert.equal(encode(tie), inf);
    assert.equal(encode(-tie), inf | SIGN);
    assert.equal(encode(1e300), inf);
    // Half the smallest subnormal and below: zero, with its sign.
    assert.equal(encode(decode(1) / 2), 0);
    assert.equal(encode(-Number.MIN_VALUE), SIGN);
    assert.equal(encode(NaN), nan);
  });
}

test('float16/bfloat16 plain arrays are values; Uint16Arrays are raw bits', () => {
  const errors = { value: (m) => new RangeError(m), shape: (m) => new RangeError(m) };
  assert.deepEqual(Array.from(convert.fromArray('x', [1, -2, 0.5, 65504], 'float16', Uint16Array, errors)), [0x3c00, 0xc000, 0x3800, 0x7bff]);
  assert.deepEqual(Array.from(convert.fromArray('x', [[1], [3.140625]], 'bfloat16', Uint16Array, errors)), [0x3f80, 0x4049]);
  assert.throws(() => convert.fromArray('x', [1, 'a'], 'float16', Uint16Array, errors), /input "x": element \[1\] is a string/);
});

test('big dimensions reach libmle exactly, as numbers up to 2^53 - 1 and bigints beyond', async () => {
  const m = model('hostile_empty_huge');
  const empty = new Float32Array(0);
  const run = (shape) => m.runSync({ X: { data: empty, shape } });
  // 2^40 (and 2^53 - 1) rows of nothing: numbers both ways.
  for (const n of [2 ** 40, Number.MAX_SAFE_INTEGER]) {
    const r = run([n, 0]);
    assert.deepEqual(r.softmax.shape, [n, 0]);
    assert.deepEqual(r.transposed.shape, [0, n]);
    assert.equal(r.softmax.data.length, 0);
    const a = await m.run({ X: { data: empty, shape: [0, n] } });
    assert.deepEqual(a.transposed.shape, [n, 0]);
  }
  // Beyond 2^53 - 1 a double would round: bigints, in and out.
  const big = 2n ** 53n + 1n;
  const r = run([big, 0]);
  assert.deepEqual(r.softmax.shape, [big, 0]);
  assert.deepEqual(r.concat.shape, [2n * big, 0]);
  assert.deepEqual(run([2n ** 40n, 0n]).softmax.shape, [2 ** 40, 0]); // small bigints come back as numbers
  assert.deepEqual(run([2 ** 60, 0]).softmax.shape, [2n ** 60n, 0]); // an exact integer number above 2^53
  // No int64 holds 2^63.
  for (const dim of [2n ** 63n, 2 ** 63]) {
    assert.throws(() => run([dim, 0]), (e) => e instanceof mle.MLEError && e.code === 'MLE_ERR_SHAPE_TOO_LARGE');
  }
  assert.throws(() => run([1.5, 0]), TypeError);
  assert.throws(() => run(['1', 0]), TypeError);
  m.close();
});

test('Status equals the codes of include/mle.h', () => {
  const header = fs.readFileSync(path.join(includeDir(), 'mle.h'), 'utf8');
  const fromHeader = {};
  for (const [, name, value] of header.matchAll(/^#define MLE_((?:OK|ERR_)[A-Z0-9_]*)\s+(\d+)u\b/gm)) {
    fromHeader[name] = Number(value);
  }
  assert.ok(Object.keys(fromHeader).length > 60);
  assert.deepEqual({ ...mle.Status }, fromHeader);
  for (const [name, code] of Object.entries(mle.Status)) assert.equal(mle.statusString(code), `MLE_${name}`);
});
