'use strict';
// mle-runtime: run .mle models from Node.js (docs/node.md).
//
// The native addon (src/addon.cc) links libmle; this file checks arguments,
// infers dtypes and shapes, and presents models as JS objects.

const fs = require('node:fs');
const path = require('node:path');
const { fileURLToPath } = require('node:url');
const util = require('node:util');
const convert = require('./convert.js');
const { prebuildDir } = require('./scripts/paths.js');

// BEGIN GENERATED: abi version (cmd/mle-gentables) - do not edit
// The libmle ABI this package speaks: MLE_ABI_VERSION of include/mle.h.
const ABI_VERSION = 1;
// END GENERATED: abi version

const native = loadNative();

// The addon: the prebuilt one shipped for this platform and CPU
// (prebuilds/<platform>-<arch>/, next to its copy of libmle, found through
// RUNPATH $ORIGIN), else one built from source (build/Release). An addon
// that is present but does not load (say, a prebuild for a newer glibc) is
// passed over for the next; if none loads, the error names each.
function loadNative() {
  const candidates = [
    path.join(prebuildDir(), 'mle.node'),
    path.join(__dirname, 'build', 'Release', 'mle.node'),
    path.join(__dirname, 'build', 'Debug', 'mle.node'),
  ];
  const failures = [];
  for (const file of candidates) {
    if (!fs.existsSync(file)) continue;
    try {
      return require(file);
    } catch (e) {
      failures.push(e);
      e.message = `${file}: ${e.message}`;
    }
  }
  if (failures.length > 0) {
    let msg = `mle-runtime: cannot load the native addon (${failures.map((e) => e.message).join('; ')})`;
    if (failures.some((e) => String(e.message).includes('libmle'))) {
      msg +=
        '. A source build finds libmle.so through the rpath set when it was built (MLE_LIB_DIR, or <repo>/build): ' +
        'rebuild with `npm run build`, or set LD_LIBRARY_PATH';
    }
    throw new Error(msg, { cause: failures[0] });
  }
  throw new Error(
    `mle-runtime: no native addon: no prebuilt one for ${process.platform}-${process.arch} in this package, ` +
      'and none built from source. In an MLE checkout: `make lib` at the repository root, then `npm install` ' +
      '(or `npm run build`) in bindings/node; elsewhere: reinstall with MLE_LIB_DIR set to the directory holding libmle.so',
  );
}

if (native.abiVersion() !== ABI_VERSION || native.headerAbiVersion() !== ABI_VERSION) {
  throw new Error(
    `mle-runtime: libmle ABI version ${native.abiVersion()} (addon built for ${native.headerAbiVersion()}); ` +
      `this package needs ${ABI_VERSION}`,
  );
}

// ------------------------------------------------------------------ status

// BEGIN GENERATED: status codes (cmd/mle-gentables) - do not edit
/** Status codes of include/mle.h, by name without the MLE_ prefix. */
const Status = Object.freeze({
  OK: 0,
  ERR_INVALID_ARGUMENT: 1,
  ERR_BAD_HANDLE: 2,
  ERR_IO: 3,
  ERR_FORMAT: 4,
  ERR_CHECKSUM: 5,
  ERR_GRAPH: 6,
  ERR_METADATA: 7,
  ERR_UNSUPPORTED: 8,
  ERR_SHAPE: 9,
  ERR_DTYPE: 10,
  ERR_BUFFER_TOO_SMALL: 11,
  ERR_FORKED: 12,
  ERR_NO_MEMORY: 13,
  ERR_INTERNAL: 14,
  ERR_BUSY: 15,
  ERR_CANCELLED: 16,
  ERR_SECURITY: 17,
  ERR_INVALID_NULL: 257,
  ERR_INVALID_OPTIONS: 513,
  ERR_INVALID_NAME: 769,
  ERR_INVALID_VALUE: 1025,
  ERR_INVALID_BUFFER: 1281,
  ERR_INVALID_STRING: 1537,
  ERR_INVALID_CATEGORY: 1793,
  ERR_IO_OPEN: 259,
  ERR_IO_READ: 515,
  ERR_IO_MAP: 771,
  ERR_IO_FAULT: 1027,
  ERR_IO_WRITE: 1283,
  ERR_IO_NOT_FILE: 1539,
  ERR_FORMAT_TRUNCATED: 260,
  ERR_FORMAT_BAD_MAGIC: 516,
  ERR_FORMAT_VERSION: 772,
  ERR_FORMAT_REQUIRED_FLAG: 1028,
  ERR_FORMAT_ENDIAN: 1284,
  ERR_FORMAT_SECTION_BOUNDS: 1540,
  ERR_FORMAT_SECTION_OVERLAP: 1796,
  ERR_FORMAT_GAP: 2052,
  ERR_FORMAT_HEADER: 2308,
  ERR_FORMAT_MISALIGNED: 2564,
  ERR_FORMAT_SHAPE_OVERFLOW: 2820,
  ERR_FORMAT_NEGATIVE_DIM: 3076,
  ERR_FORMAT_DTYPE: 3332,
  ERR_FORMAT_TENSOR_BOUNDS: 3588,
  ERR_FORMAT_DESCRIPTOR: 3844,
  ERR_FORMAT_STRING: 4100,
  ERR_FORMAT_SIGNATURE: 4356,
  ERR_FORMAT_MANIFEST: 4612,
  ERR_FORMAT_CODEC: 4868,
  ERR_FORMAT_CODEC_SIZE: 5124,
  ERR_FORMAT_CHUNK_TABLE: 5380,
  ERR_FORMAT_ENCRYPTION: 5636,
  ERR_CHECKSUM_HEADER: 261,
  ERR_CHECKSUM_SECTION: 517,
  ERR_CHECKSUM_TENSOR: 773,
  ERR_GRAPH_MISSING_TENSOR: 262,
  ERR_GRAPH_CYCLE: 518,
  ERR_GRAPH_UNKNOWN_OP: 774,
  ERR_GRAPH_ATTRIBUTE: 1030,
  ERR_GRAPH_SHAPE: 1286,
  ERR_GRAPH_MALFORMED: 1542,
  ERR_GRAPH_DUPLICATE: 1798,
  ERR_GRAPH_DTYPE: 2054,
  ERR_GRAPH_TOO_LARGE: 2310,
  ERR_GRAPH_TREE: 2566,
  ERR_METADATA_SYNTAX: 263,
  ERR_METADATA_DUPLICATE: 519,
  ERR_METADATA_TOO_LARGE: 775,
  ERR_METADATA_DEPTH: 1031,
  ERR_METADATA_FIELD: 1287,
  ERR_METADATA_UTF8: 1543,
  ERR_METADATA_SIGNATURE: 1799,
  ERR_METADATA_MISSING_KEY: 2055,
  ERR_METADATA_POLICY: 2311,
  ERR_UNSUPPORTED_ENCODING: 264,
  ERR_UNSUPPORTED_DEVICE: 520,
  ERR_UNSUPPORTED_FEATURE: 776,
  ERR_SHAPE_TOO_LARGE: 265,
  ERR_NO_MEMORY_LIMIT: 269,
  ERR_NO_MEMORY_SYSTEM: 525,
  ERR_CANCELLED_DEADLINE: 272,
  ERR_SIGNATURE_INVALID: 273,
  ERR_SIGNATURE_UNTRUSTED: 529,
  ERR_SIGNATURE_REQUIRED: 785,
  ERR_DIGEST_MISMATCH: 1041,
  ERR_KEY_REQUIRED: 1297,
  ERR_KEY_WRONG: 1553,
  ERR_KEY_INVALID: 1809,
  ERR_DECRYPT: 2065,
  ERR_POLICY: 2321,
});
// END GENERATED: status codes

/** The name of a status code, e.g. "MLE_ERR_FORMAT_BAD_MAGIC" ("MLE_ERR_UNKNOWN" if unknown). */
function statusString(code) {
  return native.statusString(Number(code) >>> 0);
}

/**
 * An error reported by libmle (or by this package, with a status of the same
 * scheme). As Node's own errors do, `code` is a string: the extended status's
 * name, e.g. "MLE_ERR_FORMAT_TRUNCATED". `status` is its number (260),
 * `primary` the class's number (status & 0xff) and `primaryCode` its name.
 */
class MLEError extends Error {
  constructor(message, status, code) {
    super(message);
    const s = Number(status) >>> 0;
    Object.defineProperty(this, 'name', { value: 'MLEError', enumerable: false, configurable: true, writable: true });
    this.code = typeof code === 'string' ? code : native.statusString(s);
    this.status = s;
    this.primary = s & 0xff;
  }

  /** The primary code's name, e.g. "MLE_ERR_FORMAT". */
  get primaryCode() {
    return native.statusString(this.primary);
  }

  /** Old name of primaryCode (kept so code written for 0.1.0 still works). */
  get primaryStatus() {
    return this.primaryCode;
  }
}

/**
 * How run() and loadAsync() reject when their AbortSignal fires: an MLEError
 * of status MLE_ERR_CANCELLED (16) whose name is "AbortError", as for Node's
 * own abortable calls, and whose cause is the signal's reason.
 */
class AbortError extends MLEError {
  constructor(message, reason) {
    super(message, Status.ERR_CANCELLED);
    Object.defineProperty(this, 'name', { value: 'AbortError', enumerable: false, configurable: true, writable: true });
    setCause(this, reason);
  }
}

native.setErrorClass(MLEError);

// process.exit() does not run the addon's environment cleanup hook before
// libuv joins its thread pool, which would wait for every pending run: cancel
// them first ('exit' listeners run before that). In a worker, exit and
// terminate() run the hook, which cancels them too.
process.on('exit', () => native.cancelAll());

function mleError(status, message) {
  return new MLEError(message, status);
}

// ------------------------------------------------------------------ dtypes

// BEGIN GENERATED: dtypes (cmd/mle-gentables) - do not edit
// Element types (docs/FORMAT.md §7) and the TypedArray each is held in.
const DTYPES = {
  float32: { id: 1, size: 4, Array: Float32Array },
  uint8: { id: 2, size: 1, Array: Uint8Array },
  int8: { id: 3, size: 1, Array: Int8Array },
  int32: { id: 6, size: 4, Array: Int32Array },
  int64: { id: 7, size: 8, Array: BigInt64Array },
  string: { id: 8, size: 0, Array: Array },
  bool: { id: 9, size: 1, Array: Uint8Array },
  float16: { id: 10, size: 2, Array: Uint16Array },
  float64: { id: 11, size: 8, Array: Float64Array },
  bfloat16: { id: 16, size: 2, Array: Uint16Array },
};
// END GENERATED: dtypes
const DTYPE_NAMES = Object.freeze(Object.keys(DTYPES));

// The dtype a TypedArray gives when none is named.
const NATURAL = new Map([
  [Float32Array, 'float32'],
  [Float64Array, 'float64'],
  [BigInt64Array, 'int64'],
  [Int32Array, 'int32'],
  [Int8Array, 'int8'],
  [Uint8Array, 'uint8'],
]);

function naturalDType(data) {
  for (const [Ctor, name] of NATURAL) if (data instanceof Ctor) return name;
  return undefined;
}

// ----------------------------------------------------------------- options

// Serving options (mle_model_set_options): load() takes them too.
const MODEL_OPTIONS = new Set(['maxSessions', 'spinUs']);
// Keys (mle_trust_options): opened with mle_model_open_with when any is given.
const TRUST_OPTIONS = new Set(['key', 'trustedKeys', 'requireSignature']);
const OPEN_OPTIONS = new Set([
  'verify',
  'readAll',
  'threads',
  'device',
  'maxArenaBytes',
  ...MODEL_OPTIONS,
  ...TRUST_OPTIONS,
]);
const DEVICES = { cpu: 0, cuda: 1 };
const INT32_MAX = 0x7fffffff;

function badOption(msg) {
  return mleError(Status.ERR_INVALID_OPTIONS, msg);
}

function checkKeys(options, known, what) {
  if (typeof options !== 'object' || Array.isArray(options)) throw new TypeError(`${what} must be an object`);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw badOption(`unknown option "${key}" (known: ${[...known].join(', ')})`);
  }
}

// {maxSessions?, spinUs?} of options, checked here as far as their type;
// libmle checks the upper bounds (MLE_ERR_INVALID_OPTIONS too).
function modelOptions(options) {
  const o = {};
  const m = options.maxSessions;
  if (m !== undefined) {
    if (!Number.isInteger(m) || m < 0 || m > INT32_MAX) {
      throw badOption('options.maxSessions must be an integer >= 0 (0 = one per CPU)');
    }
    o.maxSessions = m;
  }
  const s = options.spinUs;
  if (s !== undefined) {
    if (!Number.isInteger(s) || s < -1 || s > INT32_MAX) {
      throw badOption('options.spinUs must be an integer >= -1 (-1 = never spin, 0 = the default)');
    }
    o.spinUs = s;
  }
  return o;
}

function isBytes(v) {
  return ArrayBuffer.isView(v) || v instanceof ArrayBuffer;
}

// A key given as bytes: its length is libmle's to check (MLE_ERR_KEY_INVALID).
function keyBytes(v, what) {
  if (!isBytes(v)) throw new TypeError(`${what} must be a Buffer or Uint8Array`);
  return v;
}

// A public or signing key: bytes (PEM or raw), PEM text, or the path (string
// or file: URL) of a key file, read here.
function keySource(v, what) {
  if (isBytes(v)) return v;
  if (typeof v === 'string' && v.trimStart().startsWith('-----BEGIN')) return Buffer.from(v, 'utf8');
  if (typeof v === 'string' || v instanceof URL) {
    const file = toPath(v);
    try {
      return fs.readFileSync(file);
    } catch (e) {
      const msg = `${what}: cannot read key file ${JSON.stringify(file)}: ${e.message}`;
      throw setCause(mleError(Status.ERR_IO_OPEN, msg), e);
    }
  }
  throw new TypeError(`${what} must be a Buffer, a Uint8Array, PEM text or a key file's path`);
}

// {key?, trustedKeys?, requireSignature?} for the addon (undefined: none given).
function trustOptions(options) {
  if (![...TRUST_OPTIONS].some((k) => options[k] !== undefined)) return undefined;
  const t = {};
  if (options.key !== undefined) t.key = keyBytes(options.key, 'options.key');
  if (options.trustedKeys !== undefined) {
    let keys = options.trustedKeys;
    if (!Array.isArray(keys)) keys = [keys]; // one key on its own
    t.trustedKeys = keys.map((k, i) => keySource(k, `options.trustedKeys[${i}]`));
  }
  if (options.requireSignature !== undefined) {
    if (typeof options.requireSignature !== 'boolean') throw badOption('options.requireSignature must be a boolean');
    t.requireSignature = options.requireSignature;
  }
  return t;
}

// Open options for the addon, the serving options to set after opening, and
// the keys (trust; undefined when none are given).
function openOptions(options) {
  if (options === undefined || options === null) return { open: {}, model: {}, trust: undefined };
  if (typeof options === 'object' && 'signal' in options) {
    throw new TypeError('options.signal is for loadAsync(): load() and loadBuffer() block this thread, so nothing could abort them');
  }
  checkKeys(options, OPEN_OPTIONS, 'options');
  const o = {};
  for (const key of ['verify', 'readAll']) {
    const v = options[key];
    if (v === undefined) continue;
    if (typeof v !== 'boolean') throw badOption(`options.${key} must be a boolean`);
    o[key] = v;
  }
  if (options.threads !== undefined) {
    const t = options.threads;
    if (!Number.isInteger(t) || t < 0 || t > 0x7fffffff) throw badOption('options.threads must be an integer >= 0 (0 = every CPU)');
    o.threads = t;
  }
  if (options.device !== undefined) {
    if (!Object.prototype.hasOwnProperty.call(DEVICES, options.device)) {
      throw badOption(`options.device must be "cpu" or "cuda", not ${JSON.stringify(options.device)}`);
    }
    o.device = DEVICES[options.device];
  }
  if (options.maxArenaBytes !== undefined) {
    const m = Number(options.maxArenaBytes);
    if (!Number.isSafeInteger(m) || m < 0) {
      throw badOption('options.maxArenaBytes must be an integer >= 0 (0 = the default: 16 GiB, or 3/4 of the memory this process may use if less)');
    }
    o.maxArenaBytes = m;
  }
  return { open: o, model: modelOptions(options), trust: trustOptions(options) };
}

function toPath(path) {
  if (path instanceof URL) return fileURLToPath(path);
  if (typeof path !== 'string') throw new TypeError('path must be a string or a file: URL');
  return path;
}

// ------------------------------------------------------------------ inputs

// Shape of a (rectangular) nested array.
function nestedShape(name, arr) {
  const shape = [];
  let a = arr;
  while (Array.isArray(a)) {
    shape.push(a.length);
    if (shape.length > 8) throw mleError(Status.ERR_SHAPE, `input "${name}": nested deeper than rank 8`);
    if (a.length === 0) break;
    a = a[0];
  }
  const check = (x, depth) => {
    if (depth === shape.length) {
      if (Array.isArray(x)) throw mleError(Status.ERR_SHAPE, `input "${name}": ragged nested array`);
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[depth]) {
      throw mleError(Status.ERR_SHAPE, `input "${name}": ragged nested array`);
    }
    for (const y of x) check(y, depth + 1);
  };
  check(arr, 0);
  return shape;
}

// Elements of a plain (nested) array as the dtype's TypedArray; every element
// is checked (convert.js).
const CONVERT_ERRORS = {
  value: (msg) => mleError(Status.ERR_INVALID_VALUE, msg),
  shape: (msg) => mleError(Status.ERR_SHAPE, msg),
};
function fromArray(name, values, dtype) {
  return convert.fromArray(name, values, dtype, DTYPES[dtype].Array, CONVERT_ERRORS);
}

/** The longest string element a run takes, in bytes of UTF-8 (MLE_MAX_STRING_BYTES). */
const MAX_STRING_BYTES = native.maxStringBytes();

const STRING_ERRORS = {
  dtype: (msg) => mleError(Status.ERR_DTYPE, msg),
  string: (msg) => mleError(Status.ERR_INVALID_STRING, msg),
  shape: (msg) => mleError(Status.ERR_SHAPE, msg),
  value: (msg) => mleError(Status.ERR_INVALID_VALUE, msg),
};

const DIM_LIMIT = 2n ** 63n; // dimensions are int64 in the C API

// Dimensions for the addon: numbers, or bigints above 2^53 - 1 so that they
// reach libmle exactly (it decides whether the shape is too large).
function checkShape(name, shape) {
  if (!Array.isArray(shape)) throw new TypeError(`input "${name}": shape must be an array of integers`);
  if (shape.length > 8) throw mleError(Status.ERR_SHAPE, `input "${name}": rank ${shape.length} is outside 0..8`);
  return shape.map((dim) => {
    let big;
    if (typeof dim === 'bigint') big = dim;
    else if (typeof dim === 'number' && Number.isInteger(dim)) big = BigInt(dim);
    else throw new TypeError(`input "${name}": shape must be an array of integers (numbers or bigints)`);
    if (big < 0n) throw mleError(Status.ERR_SHAPE, `input "${name}": dimension ${dim} is negative`);
    if (big >= DIM_LIMIT) {
      throw mleError(Status.ERR_SHAPE_TOO_LARGE, `input "${name}": dimension ${dim} does not fit in 64 bits`);
    }
    return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  });
}

// The shape of count elements fed to an input declared as decl (one -1 at
// most is inferred).
function inferShape(name, decl, count) {
  if (!decl) throw mleError(Status.ERR_SHAPE, `input "${name}": give a shape (the model has no input "${name}")`);
  const dynamic = decl.shape.filter((d) => d < 0).length;
  if (dynamic === 0) return decl.shape.slice();
  const known = decl.shape.reduce((p, d) => (d < 0 ? p : p * d), 1);
  if (dynamic > 1 || known === 0 || count % known !== 0) {
    throw mleError(
      Status.ERR_SHAPE,
      `input "${name}": give a shape (${count} elements do not fit [${decl.shape.join(', ')}] unambiguously)`,
    );
  }
  return decl.shape.map((d) => (d < 0 ? count / known : d));
}

// A string input as the addon takes it: the elements of a plain (nested)
// array of strings packed (docs/FORMAT.md §7.1) into a Uint8Array. The
// shape is the nesting's unless given; either way it must hold every element.
function prepareStrings(name, data, shape) {
  if (!Array.isArray(data)) {
    throw mleError(Status.ERR_DTYPE, `input "${name}": dtype string takes an array of strings, not ${convert.describe(data)}`);
  }
  const dims = shape === undefined ? nestedShape(name, data) : checkShape(name, shape);
  const { bytes, count } = convert.packStrings(name, data, MAX_STRING_BYTES, STRING_ERRORS);
  const size = dims.reduce((p, d) => p * BigInt(d), 1n);
  if (size !== BigInt(count)) {
    throw mleError(
      Status.ERR_SHAPE,
      `input "${name}": ${count} strings do not fill shape [${dims.join(', ')}] (${size} elements)`,
    );
  }
  return { name, dtype: DTYPES.string.id, shape: dims, data: bytes };
}

// One input as the addon takes it: {name, dtype (id), shape, data}.
function prepareInput(name, value, decl) {
  let data, shape, dtype;
  if (ArrayBuffer.isView(value) || Array.isArray(value)) {
    data = value;
  } else if (value !== null && typeof value === 'object') {
    ({ data, shape, dtype } = value);
  } else {
    throw new TypeError(`input "${name}" must be {data, shape, dtype?} (or a TypedArray)`);
  }

  if (dtype !== undefined && !Object.prototype.hasOwnProperty.call(DTYPES, dtype)) {
    throw mleError(Status.ERR_DTYPE, `input "${name}": unknown dtype ${JSON.stringify(dtype)} (one of ${DTYPE_NAMES.join(', ')})`);
  }

  const declared = decl && DTYPES[decl.dtype] ? decl.dtype : undefined;
  if (dtype === 'string' || (dtype === undefined && declared === 'string' && Array.isArray(data))) {
    return prepareStrings(name, data, shape);
  }

  if (Array.isArray(data)) {
    dtype = dtype || (decl && decl.dtype);
    if (!dtype || !DTYPES[dtype]) throw mleError(Status.ERR_DTYPE, `input "${name}": give a dtype for a plain array`);
    if (shape === undefined) shape = nestedShape(name, data);
    data = fromArray(name, data, dtype);
  } else if (ArrayBuffer.isView(data)) {
    const raw = data instanceof Uint8Array || data instanceof DataView; // raw little-endian bytes: any dtype
    if (dtype !== undefined) {
      if (!(data instanceof DTYPES[dtype].Array) && !raw) {
        throw mleError(
          Status.ERR_DTYPE,
          `input "${name}": dtype ${dtype} needs a ${DTYPES[dtype].Array.name} (or raw bytes in a Uint8Array), ` +
            `not a ${data.constructor.name}`,
        );
      }
    } else {
      if (declared === 'string') {
        throw mleError(
          Status.ERR_DTYPE,
          `input "${name}" takes strings: give an array of strings, not a ${data.constructor.name}`,
        );
      }
      if (data instanceof Uint8Array && (declared === 'bool' || declared === 'uint8')) dtype = declared;
      else if (data instanceof Uint16Array && (declared === 'float16' || declared === 'bfloat16')) dtype = declared;
      else if (data instanceof DataView && declared) dtype = declared;
      else dtype = naturalDType(data);
      if (dtype === undefined) {
        throw mleError(
          Status.ERR_DTYPE,
          `input "${name}": a ${data.constructor.name} needs a dtype ` +
            '(Float32Array, Float64Array, BigInt64Array, Int32Array, Int8Array and Uint8Array imply theirs)',
        );
      }
    }
  } else {
    throw new TypeError(`input "${name}": data must be a TypedArray, a DataView or an array`);
  }

  const d = DTYPES[dtype];
  if (shape === undefined) {
    if (data.byteLength % d.size !== 0) {
      throw mleError(Status.ERR_SHAPE, `input "${name}": ${data.byteLength} bytes are not a whole number of ${dtype}`);
    }
    shape = inferShape(name, decl, data.byteLength / d.size);
  } else {
    shape = checkShape(name, shape);
  }
  return { name, dtype: d.id, shape, data };
}

const RUN_OPTIONS = new Set(['outputs', 'timeoutMs', 'signal']);
// Microseconds must stay exact in a double on their way to the int64 timeout.
const MAX_TIMEOUT_MS = Math.floor(Number.MAX_SAFE_INTEGER / 1000);

function isAbortSignal(s) {
  return s !== null && typeof s === 'object' && typeof s.aborted === 'boolean' && typeof s.addEventListener === 'function';
}

// {names (undefined: all), timeoutUs (0: none), signal} from run()/runSync() options.
function runOptions(options, async) {
  const o = { names: undefined, timeoutUs: 0, signal: undefined };
  if (options === undefined || options === null) return o;
  if (typeof options !== 'object' || Array.isArray(options)) throw new TypeError('run options must be an object');
  for (const key of Object.keys(options)) {
    if (!RUN_OPTIONS.has(key)) {
      throw mleError(Status.ERR_INVALID_OPTIONS, `unknown run option "${key}" (known: ${[...RUN_OPTIONS].join(', ')})`);
    }
  }
  let names = options.outputs;
  if (names !== undefined && names !== null) {
    if (typeof names === 'string') names = [names];
    if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) {
      throw new TypeError('options.outputs must be an array of output names');
    }
    o.names = names;
  }
  const t = options.timeoutMs;
  if (t !== undefined) {
    if (typeof t !== 'number') throw new TypeError(`options.timeoutMs must be a number of milliseconds, not ${typeof t}`);
    if (!(t >= 0 && t <= MAX_TIMEOUT_MS)) {
      throw new RangeError(`options.timeoutMs must be from 0 (no limit) to ${MAX_TIMEOUT_MS}, not ${t}`);
    }
    o.timeoutUs = Math.ceil(t * 1000); // a positive timeout never rounds to 0 (= none)
  }
  const signal = options.signal;
  if (signal !== undefined) {
    if (!async) {
      throw new TypeError('options.signal is for run(): runSync() blocks this thread, so nothing could abort it (use timeoutMs)');
    }
    if (!isAbortSignal(signal)) throw new TypeError('options.signal must be an AbortSignal');
    o.signal = signal;
  }
  return o;
}

// Like an `Error` constructed with {cause}: own, not enumerable.
function setCause(e, cause) {
  Object.defineProperty(e, 'cause', { value: cause, writable: true, configurable: true, enumerable: false });
  return e;
}

function abortError(signal, what) {
  return new AbortError(`${what} was aborted: its AbortSignal fired`, signal.reason);
}

// ------------------------------------------------------------------- model

function deepFreeze(x) {
  if (x !== null && typeof x === 'object' && !Object.isFrozen(x)) {
    Object.freeze(x);
    for (const v of Object.values(x)) deepFreeze(v);
  }
  return x;
}

const kCreate = Symbol('mle-runtime.create');

/** An open model. Get one from load(), loadAsync() or loadBuffer(). */
class Model {
  #native;
  #inputs;
  #outputs;
  #inputByName;
  #metadataJSON;
  #metadata;
  // The serving options last set: the C call takes both, so an option left
  // out of setOptions() keeps its value.
  #modelOptions = { maxSessions: 0, spinUs: 0 };

  constructor(token, nativeModel, options) {
    if (token !== kCreate) throw new TypeError('Model is not constructible: use mle.load() or mle.loadBuffer()');
    this.#native = nativeModel;
    if (options && Object.keys(options).length > 0) {
      try {
        this.#setOptions(options);
      } catch (e) {
        nativeModel.close(); // the caller never gets this model
        throw e;
      }
    }
    const info = nativeModel.info();
    this.#inputs = deepFreeze(info.inputs);
    this.#outputs = deepFreeze(info.outputs);
    this.#inputByName = new Map(info.inputs.map((i) => [i.name, i]));
    this.#metadataJSON = info.metadata;
  }

  /** The graph inputs: [{name, dtype, shape}] (-1 = sized at run time). */
  get inputs() {
    return this.#inputs;
  }

  /** The graph outputs: [{name, dtype, shape}] (-1 = sized at run time). */
  get outputs() {
    return this.#outputs;
  }

  /** The METADATA section, parsed (frozen). */
  get metadata() {
    if (this.#metadata === undefined) this.#metadata = deepFreeze(JSON.parse(this.#metadataJSON));
    return this.#metadata;
  }

  /** The METADATA section as the file stores it (JSON text). */
  get metadataJSON() {
    return this.#metadataJSON;
  }

  /** Whether close() was called. */
  get closed() {
    return this.#native.isClosed();
  }

  #prepare(inputs, options, async) {
    const o = runOptions(options, async);
    if (this.#native.isClosed()) throw mleError(Status.ERR_BAD_HANDLE, 'the model is closed');
    if (inputs === null || typeof inputs !== 'object' || Array.isArray(inputs) || ArrayBuffer.isView(inputs)) {
      throw new TypeError('inputs must be an object: {inputName: {data, shape, dtype?}}');
    }
    o.list = Object.keys(inputs).map((name) => prepareInput(name, inputs[name], this.#inputByName.get(name)));
    return o;
  }

  /**
   * Runs the model on the libuv thread pool. Inputs are copied first, so the
   * arrays may change as soon as this returns. Resolves to
   * {outputName: {data, shape, dtype}}; rejects with MLEError (code
   * "MLE_ERR_CANCELLED_DEADLINE" past options.timeoutMs), or AbortError once
   * options.signal fires.
   */
  run(inputs, options) {
    let o;
    try {
      o = this.#prepare(inputs, options, true);
    } catch (e) {
      return Promise.reject(e);
    }
    const { signal } = o;
    if (signal === undefined) {
      try {
        return this.#native.run(o.list, o.names, o.timeoutUs, false);
      } catch (e) {
        return Promise.reject(e);
      }
    }
    if (signal.aborted) return Promise.reject(abortError(signal, 'the run'));
    let promise, cancel;
    try {
      [promise, cancel] = this.#native.run(o.list, o.names, o.timeoutUs, true);
    } catch (e) {
      return Promise.reject(e);
    }
    if (!cancel) return promise; // the arguments were refused
    // The listener sets the run's cancel flag: libmle stops the run within
    // about a millisecond of work, and the promise settles then (so the run
    // no longer holds a session or CPU when it rejects). The listener goes
    // when the run settles, so a long-lived signal does not collect them.
    const onAbort = () => cancel();
    signal.addEventListener('abort', onAbort, { once: true });
    // Aborted before the promise settled: an AbortError, even when the run
    // got to its end before seeing the flag (its outputs are dropped).
    return promise.then(
      (result) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) throw abortError(signal, 'the run');
        return result;
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) throw abortError(signal, 'the run');
        throw e;
      },
    );
  }

  /** Same as run(), on this thread (options.timeoutMs, but no signal). Throws MLEError. */
  runSync(inputs, options) {
    const o = this.#prepare(inputs, options, false);
    return this.#native.runSync(o.list, o.names, o.timeoutUs);
  }

  /**
   * Frees the model and libmle's sessions of it now (otherwise garbage
   * collection does). Runs in flight finish; later runs fail with MLE_ERR_BAD_HANDLE.
   * Idempotent.
   */
  close() {
    this.#native.close();
  }

  /**
   * Changes the serving options {maxSessions, spinUs} (those left out keep
   * their value); runs that start afterwards use them. Throws MLEError
   * (MLE_ERR_INVALID_OPTIONS, or MLE_ERR_BAD_HANDLE once closed).
   */
  setOptions(options) {
    if (options === undefined || options === null) throw new TypeError('setOptions needs {maxSessions?, spinUs?}');
    checkKeys(options, MODEL_OPTIONS, 'options');
    this.#setOptions(modelOptions(options));
  }

  #setOptions(checked) {
    const next = { ...this.#modelOptions, ...checked };
    this.#native.setOptions(next.maxSessions, next.spinUs);
    this.#modelOptions = next;
  }

  [util.inspect.custom](depth, options, inspect) {
    const io = (l) => l.map((t) => `${t.name}: ${t.dtype}[${t.shape.join(', ')}]`).join(', ');
    let name = '';
    try {
      name = this.metadata.name ? ` ${JSON.stringify(this.metadata.name)}` : '';
    } catch {
      // metadata is validated by libmle; never expected
    }
    return `Model${name} { inputs: (${io(this.#inputs)}), outputs: (${io(this.#outputs)})${this.closed ? ', closed' : ''} }`;
  }
}

if (typeof Symbol.dispose === 'symbol') {
  Model.prototype[Symbol.dispose] = function dispose() {
    this.close();
  };
}

// --------------------------------------------------------------- functions

/** Opens the .mle file at path (memory-mapped unless readAll). Throws MLEError. */
function load(path, options) {
  const p = toPath(path);
  const o = openOptions(options);
  return new Model(kCreate, native.open(p, o.open, o.trust), o.model);
}

/**
 * load() on the libuv thread pool (for verify on large files). Rejects with
 * MLEError; with AbortError once options.signal fires.
 */
async function loadAsync(path, options) {
  let signal;
  if (options !== undefined && options !== null && typeof options === 'object' && 'signal' in options) {
    ({ signal, ...options } = options);
    if (signal !== undefined && !isAbortSignal(signal)) throw new TypeError('options.signal must be an AbortSignal');
  }
  const p = toPath(path);
  const o = openOptions(options);
  if (signal === undefined) return new Model(kCreate, await native.openAsync(p, o.open, o.trust), o.model);
  if (signal.aborted) throw abortError(signal, 'the load');
  // libmle cannot stop an open half-way: an abort rejects at once, and the
  // model, when the open completes, is closed here, never handed out.
  const opening = native.openAsync(p, o.open, o.trust);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(abortError(signal, 'the load'));
    signal.addEventListener('abort', onAbort, { once: true });
    opening.then(
      (nativeModel) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) {
          nativeModel.close(); // already rejected
          return;
        }
        try {
          resolve(new Model(kCreate, nativeModel, o.model));
        } catch (e) {
          reject(e); // the Model closed it
        }
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e); // after an abort: ignored, the promise is settled
      },
    );
  });
}

/** Opens a model from the bytes of a whole .mle file (copied). Throws MLEError. */
function loadBuffer(buffer, options) {
  if (!(ArrayBuffer.isView(buffer) || buffer instanceof ArrayBuffer || buffer instanceof SharedArrayBuffer)) {
    throw new TypeError('loadBuffer needs a Buffer, TypedArray, DataView or ArrayBuffer');
  }
  if (buffer instanceof SharedArrayBuffer) buffer = new Uint8Array(buffer);
  const o = openOptions(options);
  return new Model(kCreate, native.openMemory(buffer, o.open, o.trust), o.model);
}

// ------------------------------------------------------------------- trust

function outPath(out) {
  return out === undefined || out === null ? undefined : toPath(out);
}

/**
 * Writes a new Ed25519 key pair: `${prefix}.key` (private, PKCS #8 PEM, mode
 * 0600) and `${prefix}.pub` (public, PEM). An existing `${prefix}.key` is
 * never replaced (MLEError). Returns both paths.
 */
function keygen(prefix) {
  const p = toPath(prefix);
  native.keygen(p);
  return { privateKeyPath: `${p}.key`, publicKeyPath: `${p}.pub` };
}

/**
 * Signs the .mle file at path with an Ed25519 private key (a key file's path,
 * PEM text, or bytes: PEM or the 32-byte seed), writing out (default: path,
 * in place). Encrypted files are refused: sign, then encrypt. Returns the
 * signed file's path. Synchronous.
 */
function sign(path, key, out) {
  const p = toPath(path);
  const o = outPath(out);
  const k = keySource(key, 'key');
  try {
    native.signFile(p, o, k);
  } finally {
    if (k !== key && Buffer.isBuffer(k)) k.fill(0); // our copy of the private key
  }
  return o === undefined ? p : o;
}

/** Encrypts the .mle file at path with a 32-byte key into out (default: in place). Returns its path. */
function encrypt(path, key, out) {
  const p = toPath(path);
  const o = outPath(out);
  native.encryptFile(p, o, keyBytes(key, 'key'));
  return o === undefined ? p : o;
}

/** Decrypts the .mle file at path (32-byte key) into out (default: in place). Returns its path. */
function decrypt(path, key, out) {
  const p = toPath(path);
  const o = outPath(out);
  native.decryptFile(p, o, keyBytes(key, 'key'));
  return o === undefined ? p : o;
}

/** Version of the loaded libmle, e.g. "0.1.0". */
function version() {
  return native.version();
}

/** ABI version of the loaded libmle (this package needs ABI_VERSION). */
function abiVersion() {
  return native.abiVersion();
}

module.exports = {
  load,
  loadAsync,
  loadBuffer,
  version,
  abiVersion,
  keygen,
  sign,
  encrypt,
  decrypt,
  statusString,
  MAX_STRING_BYTES,
  Model,
  MLEError,
  AbortError,
  Status,
  dtypes: DTYPE_NAMES,
  ABI_VERSION,
};

// For the tests only (not API): how many libmle model handles the addon
// holds in this process, to check that nothing leaks.
Object.defineProperty(module.exports, Symbol.for('mle-runtime.liveModels'), { value: () => native.liveModels() });
