'use strict';
// Where the build finds libmle and its header. Used by binding.gyp (through
// `node -p`) and by scripts/build.js.
//
//   MLE_LIB_DIR      directory holding libmle.so  (default: <repo>/build)
//   MLE_INCLUDE_DIR  directory holding mle.h      (default: <repo>/include)
//
// Relative values are resolved against the current directory; the defaults
// are relative to this package (bindings/node inside the MLE repository).
const path = require('node:path');

const pkgDir = path.resolve(__dirname, '..');
const repoDir = path.resolve(pkgDir, '..', '..');

function fromEnv(name, fallback) {
  const v = process.env[name];
  return v ? path.resolve(v) : fallback;
}

const libDir = () => fromEnv('MLE_LIB_DIR', path.join(repoDir, 'build'));
const includeDir = () => fromEnv('MLE_INCLUDE_DIR', path.join(repoDir, 'include'));

module.exports = { pkgDir, repoDir, libDir, includeDir };
