'use strict';
// Test support (outside test/, so `node --test` does not run it as a test
// file): locating and reading the cross-language conformance suite
// (tests/conformance/README.md at the repository root).
const fs = require('node:fs');
const path = require('node:path');
const { repoDir } = require('../scripts/paths.js');

const SUITE_DIR = process.env.MLE_CONFORMANCE_DIR
  ? path.resolve(process.env.MLE_CONFORMANCE_DIR)
  : path.join(repoDir, 'build', 'conformance');
const MANIFEST = path.join(SUITE_DIR, 'manifest.json');

const ARRAYS = {
  float32: Float32Array,
  float64: Float64Array,
  int64: BigInt64Array,
  int32: Int32Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
};

/** The parsed manifest; throws an Error naming `make conformance` when the suite is missing. */
function manifest() {
  if (!fs.existsSync(MANIFEST)) {
    throw new Error(
      `no conformance suite at ${SUITE_DIR}: run \`make conformance\` at the repository root ` +
        '(or set MLE_CONFORMANCE_DIR to a generated suite)',
    );
  }
  return JSON.parse(fs.readFileSync(MANIFEST, 'utf8'));
}

/** Absolute path of a file named in the manifest. */
function suitePath(rel) {
  return path.join(SUITE_DIR, rel);
}

/** The raw little-endian element bytes of a manifest tensor (from data_offset on; not for strings). */
function tensorBytes(t) {
  if (t.dtype === 'string') throw new Error(`conformance: string tensor ${t.name} has no file; use its strings`);
  const raw = fs.readFileSync(suitePath(t.file));
  return raw.subarray(t.data_offset);
}

/**
 * A manifest tensor as run() input: {data (the dtype's TypedArray, or for
 * dtype string the manifest's `strings`), shape, dtype}.
 */
function tensorInput(t) {
  if (t.dtype === 'string') {
    if (!Array.isArray(t.strings)) throw new Error(`conformance: string tensor ${t.name} has no strings list`);
    return { data: t.strings, shape: t.shape, dtype: t.dtype };
  }
  const bytes = tensorBytes(t);
  const Ctor = ARRAYS[t.dtype];
  if (!Ctor) throw new Error(`conformance: unknown dtype ${t.dtype}`);
  const buf = new ArrayBuffer(bytes.length); // aligned copy
  new Uint8Array(buf).set(bytes);
  return { data: new Ctor(buf), shape: t.shape, dtype: t.dtype };
}

/** The bytes of a result's typed array. */
function bytesOf(view) {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

/** Path of the conformance MLP (used by the concurrency and worker tests). */
function mlpPath() {
  manifest();
  return suitePath('models/mlp_classifier.mle');
}

module.exports = { SUITE_DIR, ARRAYS, manifest, suitePath, tensorBytes, tensorInput, bytesOf, mlpPath };
