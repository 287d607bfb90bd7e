#!/usr/bin/env node
'use strict';
// Builds the native addon from source with node-gyp (`npm run build`, and
// scripts/install.js when there is no prebuilt addon for this platform).
//
// - libmle: MLE_LIB_DIR (default <repo>/build) must hold libmle.so (`make lib`
//   at the repository root builds it). The addon links it with an rpath to
//   that directory, so `require` needs no LD_LIBRARY_PATH (MLE_RPATH_ORIGIN=1:
//   $ORIGIN instead, for scripts/pack.js).
// - Node headers: the ones installed with this node (<prefix>/include/node)
//   when present, so no download is needed (they also match the running node
//   exactly); else node-gyp downloads them. npm_config_nodedir (or
//   `npm install --nodedir=DIR`) overrides.
// - node-gyp: this package's pinned devDependency, else the one npm bundles.
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { pkgDir, libDir, includeDir, inCheckout } = require('./paths.js');

function fail(msg) {
  console.error(`mle-runtime: ${msg}`);
  process.exit(1);
}

const lib = path.join(libDir(), 'libmle.so');
if (!fs.existsSync(lib)) {
  fail(
    inCheckout() && !process.env.MLE_LIB_DIR
      ? `${lib} not found: run \`make lib\` at the repository root, or set MLE_LIB_DIR to the directory holding libmle.so`
      : `cannot build the addon from source: ${lib} not found. Set MLE_LIB_DIR to the directory holding ` +
          'libmle.so (lib/ of the MLE release tarball, or build/ of an MLE checkout after `make lib`) and install again',
  );
}
const header = path.join(includeDir(), 'mle.h');
if (!fs.existsSync(header)) {
  fail(`${header} not found: set MLE_INCLUDE_DIR to the directory holding mle.h`);
}

function nodeGypScript() {
  try {
    return require.resolve('node-gyp/bin/node-gyp.js', { paths: [pkgDir] });
  } catch {
    // not installed (e.g. installed as a dependency, without devDependencies)
  }
  const bundled = process.env.npm_config_node_gyp;
  if (bundled && fs.existsSync(bundled)) return bundled;
  const npmDir = path.join(path.dirname(path.dirname(process.execPath)), 'lib', 'node_modules', 'npm');
  const guess = path.join(npmDir, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (fs.existsSync(guess)) return guess;
  return null;
}

const args = ['rebuild', '--jobs=2'];
if (!process.env.npm_config_nodedir) {
  const prefix = path.dirname(path.dirname(process.execPath));
  if (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) {
    args.push(`--nodedir=${prefix}`);
  }
}

const script = nodeGypScript();
const res = script
  ? spawnSync(process.execPath, [script, ...args], { cwd: pkgDir, stdio: 'inherit' })
  : spawnSync('node-gyp', args, { cwd: pkgDir, stdio: 'inherit', shell: process.platform === 'win32' });
if (res.error) fail(`cannot run node-gyp: ${res.error.message}`);
process.exit(res.status === null ? 1 : res.status);
