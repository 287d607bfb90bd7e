'use strict';
// Where the build finds libmle and its header, and where a prebuilt addon
// lives. Used by binding.gyp (through `node -p`), the scripts and index.js.
//
//   MLE_LIB_DIR       directory holding libmle.so  (default: <repo>/build)
//   MLE_INCLUDE_DIR   directory holding mle.h      (default: the package's
//                     include/ when it ships one, else <repo>/include)
//   MLE_RPATH_ORIGIN  1: link the addon with RUNPATH $ORIGIN instead of
//                     MLE_LIB_DIR (scripts/pack.js, for a prebuild that
//                     carries its libmle next to it)
//
// Relative values are resolved against the current directory; the defaults
// are relative to this package (bindings/node inside the MLE repository).
const fs = require('node:fs');
const path = require('node:path');

const pkgDir = path.resolve(__dirname, '..');
const repoDir = path.resolve(pkgDir, '..', '..');

function fromEnv(name, fallback) {
  const v = process.env[name];
  return v ? path.resolve(v) : fallback;
}

const libDir = () => fromEnv('MLE_LIB_DIR', path.join(repoDir, 'build'));
const includeDir = () => {
  const shipped = path.join(pkgDir, 'include');
  return fromEnv('MLE_INCLUDE_DIR', fs.existsSync(path.join(shipped, 'mle.h')) ? shipped : path.join(repoDir, 'include'));
};
const rpathOrigin = () => (process.env.MLE_RPATH_ORIGIN === '1' ? 1 : 0);

// The prebuilt addon's directory for this platform and CPU (N-API is stable
// across Node versions, so one build serves every Node this package supports).
const platformTag = () => `${process.platform}-${process.arch}`;
const prebuildDir = () => path.join(pkgDir, 'prebuilds', platformTag());

// Whether this package sits in an MLE checkout (bindings/node), where
// `make lib` builds libmle, or was installed from a tarball.
const inCheckout = () => fs.existsSync(path.join(repoDir, 'include', 'mle.h')) && fs.existsSync(path.join(repoDir, 'go.mod'));

module.exports = { pkgDir, repoDir, libDir, includeDir, rpathOrigin, platformTag, prebuildDir, inCheckout };
