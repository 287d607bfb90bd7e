'use strict';
// Plain JS arrays to tensor elements (used by index.js; no native code).
//
// Every element is checked, so nothing turns into NaN or wraps around
// silently: a value of the wrong type (a string, an object, undefined, a
// boolean for a numeric dtype) is a TypeError naming the input and the
// element; a number the dtype cannot hold (1.5 or 300 for uint8, 2^53 as a
// number for int64) is an error made by the caller (MLE_ERR_INVALID_VALUE).
// String tensors are packed here too (packStrings), with MLEErrors instead.

const { constants: bufferConstants } = require('node:buffer');

const MAX_RANK = 8;

const BAD_TYPE = Symbol('bad type');
const BAD_VALUE = Symbol('bad value');

// Rounds half to even.
function roundEven(f) {
  const fl = Math.floor(f);
  const d = f - fl;
  return d > 0.5 || (d === 0.5 && fl % 2 === 1) ? fl + 1 : fl;
}

// The bits of x rounded (to nearest, ties to even) to a binary float with
// ebits exponent and mbits fraction bits. Scaling by powers of two is exact
// in doubles, so the one rounding is the last (no double rounding through
// float32).
function floatBits(x, ebits, mbits, nanBits) {
  if (Number.isNaN(x)) return nanBits;
  const sign = x < 0 || Object.is(x, -0) ? 1 << (ebits + mbits) : 0;
  const a = Math.abs(x);
  const bias = (1 << (ebits - 1)) - 1;
  const inf = ((1 << ebits) - 1) << mbits;
  if (a === Infinity) return sign | inf;
  const emin = 1 - bias;
  if (a < 2 ** emin) {
    // Subnormal, in units of 2^(emin - mbits); rounding up to 2^mbits units
    // gives the smallest normal, whose bits are the same number.
    return sign | roundEven(a * 2 ** (mbits - emin));
  }
  let e = Math.floor(Math.log2(a)); // log2 may be off by one near powers of two
  if (2 ** e > a) e -= 1;
  else if (2 ** (e + 1) <= a) e += 1;
  let m = roundEven((a / 2 ** e - 1) * 2 ** mbits);
  if (m === 2 ** mbits) {
    m = 0;
    e += 1;
  }
  if (e > bias) return sign | inf;
  return sign | ((e + bias) << mbits) | m;
}

/** IEEE 754 binary16 bits of x (round to nearest even). */
const float16Bits = (x) => floatBits(x, 5, 10, 0x7e00);
/** bfloat16 bits of x (round to nearest even). */
const bfloat16Bits = (x) => floatBits(x, 8, 7, 0x7fc0);

const INT_RANGE = {
  int8: [-128, 127],
  uint8: [0, 255],
  int32: [-2147483648, 2147483647],
};
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const toNumber = (v) => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : BAD_TYPE);

function integer(lo, hi) {
  return (v) => {
    if (typeof v === 'number') return Number.isInteger(v) && v >= lo && v <= hi ? v : BAD_VALUE;
    if (typeof v === 'bigint') return v >= lo && v <= hi ? Number(v) : BAD_VALUE;
    return BAD_TYPE;
  };
}

// Element converters: the value to store, BAD_TYPE or BAD_VALUE.
const CONVERT = {
  float32: toNumber,
  float64: toNumber,
  float16: (v) => {
    const n = toNumber(v);
    return n === BAD_TYPE ? n : float16Bits(n);
  },
  bfloat16: (v) => {
    const n = toNumber(v);
    return n === BAD_TYPE ? n : bfloat16Bits(n);
  },
  int8: integer(...INT_RANGE.int8),
  uint8: integer(...INT_RANGE.uint8),
  int32: integer(...INT_RANGE.int32),
  int64: (v) => {
    if (typeof v === 'bigint') return v >= INT64_MIN && v <= INT64_MAX ? v : BAD_VALUE;
    // A number beyond 2^53 - 1 has likely lost digits already: ask for a bigint.
    if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) : BAD_VALUE;
    return BAD_TYPE;
  },
  bool: (v) => {
    if (typeof v === 'boolean') return v ? 1 : 0;
    if (typeof v === 'number') return v === 0 || v === 1 ? v : BAD_VALUE;
    if (typeof v === 'bigint') return v === 0n || v === 1n ? Number(v) : BAD_VALUE;
    return BAD_TYPE;
  },
};

const TAKES = {
  bool: 'booleans (or 0 and 1)',
  int64: 'integers (bigints, or numbers up to 2^53 - 1)',
};
const takes = (dtype) => TAKES[dtype] || (INT_RANGE[dtype] ? 'integers' : 'numbers or bigints');

function describe(v) {
  switch (typeof v) {
    case 'undefined':
      return 'undefined';
    case 'string':
      return `a string (${JSON.stringify(v.length > 24 ? `${v.slice(0, 24)}...` : v)})`;
    case 'object':
      return v === null ? 'null' : `an object (${Object.prototype.toString.call(v).slice(8, -1)})`;
    case 'function':
      return 'a function';
    case 'symbol':
      return 'a symbol';
    default:
      return `a ${typeof v} (${String(v)})`;
  }
}

function range(dtype) {
  if (INT_RANGE[dtype]) return ` (${INT_RANGE[dtype][0]} to ${INT_RANGE[dtype][1]})`;
  if (dtype === 'int64') return ' (-2^63 to 2^63 - 1; numbers only up to 2^53 - 1 in magnitude, beyond that use bigints)';
  if (dtype === 'bool') return ' (true, false, 0 or 1)';
  return '';
}

/**
 * The elements of a plain (possibly nested) array as a new TypedArray of
 * dtype, in C order. errors: {value(msg), shape(msg)} make the MLEErrors for
 * a number the dtype cannot hold and for nesting deeper than rank 8.
 */
function fromArray(name, data, dtype, TypedArray, errors) {
  const convert = CONVERT[dtype];
  if (!convert) throw new TypeError(`input "${name}": no conversion from a plain array to ${dtype}`);
  const out = [];
  eachLeaf(name, data, errors, (v, where) => {
    const x = convert(v);
    if (x === BAD_TYPE) {
      throw new TypeError(`input "${name}": element ${where()} is ${describe(v)}; ${dtype} takes ${takes(dtype)}`);
    }
    if (x === BAD_VALUE) {
      throw errors.value(`input "${name}": element ${where()} (${String(v)}) is not a ${dtype} value${range(dtype)}`);
    }
    out.push(x);
  });
  return new TypedArray(out);
}

/**
 * Calls visit(element, where) for each non-array element of a plain
 * (possibly nested) array, in C order; where() names the element ("[1][0]").
 * Nesting deeper than rank 8 throws errors.shape.
 */
function eachLeaf(name, data, errors, visit) {
  const path = [];
  const where = () => path.map((i) => `[${i}]`).join('');
  const walk = (arr) => {
    for (let i = 0; i < arr.length; i++) {
      const v = arr[i];
      path.push(i);
      if (Array.isArray(v)) {
        if (path.length >= MAX_RANK) throw errors.shape(`input "${name}": nested deeper than rank ${MAX_RANK}`);
        walk(v);
      } else {
        visit(v, where);
      }
      path.pop();
    }
  };
  walk(data);
}

// Index of the first lone surrogate in s, or -1. JS strings are UTF-16 and
// may hold unpaired surrogates, which UTF-8 cannot encode: every encoder in
// Node (Buffer, TextEncoder, napi_get_value_string_utf8) replaces them with
// U+FFFD silently, so they are refused here instead.
function loneSurrogateAt(s) {
  if (s.isWellFormed()) return -1;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
    }
    return i;
  }
  return -1;
}

/**
 * The elements of a plain (possibly nested) array of strings, packed as
 * docs/FORMAT.md §7.1 says: count + 1 little-endian uint64 offsets, then the
 * UTF-8 bytes. Returns {bytes (a Uint8Array over its own ArrayBuffer), count}.
 * errors: {dtype(msg), string(msg), shape(msg), value(msg)} make the MLEErrors
 * for a non-string element, a string that cannot be passed (lone surrogate,
 * over maxBytes of UTF-8), nesting deeper than rank 8 and a total too large
 * for one buffer.
 */
function packStrings(name, data, maxBytes, errors) {
  const strs = [];
  const lens = [];
  let total = 0;
  eachLeaf(name, data, errors, (v, where) => {
    if (typeof v !== 'string') {
      throw errors.dtype(`input "${name}": element ${where()} is ${describe(v)}; a string input takes strings`);
    }
    const at = loneSurrogateAt(v);
    if (at >= 0) {
      const unit = v.charCodeAt(at).toString(16).toUpperCase();
      throw errors.string(
        `input "${name}": element ${where()} has a lone surrogate (U+${unit} at index ${at}), which is not valid UTF-8`,
      );
    }
    const len = Buffer.byteLength(v, 'utf8');
    if (len > maxBytes) {
      throw errors.string(`input "${name}": element ${where()} is ${len} bytes of UTF-8; the limit is ${maxBytes}`);
    }
    strs.push(v);
    lens.push(len);
    total += len;
  });
  const count = strs.length;
  const head = 8 * (count + 1);
  if (head + total > bufferConstants.MAX_LENGTH) {
    throw errors.value(`input "${name}": ${count} strings take ${head + total} bytes packed, more than one buffer can hold`);
  }
  // A fresh ArrayBuffer: its own memory, aligned for the offsets.
  const bytes = Buffer.from(new ArrayBuffer(head + total));
  let off = 0;
  for (let i = 0; i <= count; i++) {
    // Offsets stay below 2^53: write them as two 32-bit halves (no bigints).
    bytes.writeUInt32LE(off % 0x100000000, 8 * i);
    bytes.writeUInt32LE(Math.floor(off / 0x100000000), 8 * i + 4);
    if (i < count) {
      bytes.write(strs[i], head + off, lens[i], 'utf8');
      off += lens[i];
    }
  }
  return { bytes: new Uint8Array(bytes.buffer, 0, bytes.byteLength), count };
}

module.exports = { fromArray, packStrings, float16Bits, bfloat16Bits, describe };
