#!/usr/bin/env node
'use strict';
// The package's install script. A package made by scripts/pack.js carries a
// prebuilt addon (prebuilds/<platform>-<arch>/mle.node with its libmle); when
// there is one for this machine and it loads, nothing is built. Otherwise the
// addon is built from source (scripts/build.js), which needs libmle.so
// (MLE_LIB_DIR) and a C++ toolchain.
//
// `npm install --build-from-source` (npm_config_build_from_source) or
// MLE_BUILD_FROM_SOURCE=1 builds from source even when a prebuild is there.
// A prebuild that is not used is removed, so that index.js, which tries the
// prebuild first, loads the source build.
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { prebuildDir, platformTag } = require('./paths.js');

const dir = prebuildDir();
const addon = path.join(dir, 'mle.node');
const truthy = (v) => v !== undefined && v !== '' && v !== '0' && v !== 'false';
const fromSource = truthy(process.env.MLE_BUILD_FROM_SOURCE) || truthy(process.env.npm_config_build_from_source);

if (fs.existsSync(addon)) {
  if (fromSource) {
    console.log(`mle-runtime: building from source as asked; removing the prebuilt addon for ${platformTag()}`);
    fs.rmSync(dir, { recursive: true, force: true });
  } else {
    // Load it in a child process: a dynamic-linker failure (an older glibc,
    // say) must not end this script before it can fall back.
    const probe = `try { require(${JSON.stringify(addon)}); } catch (e) { console.error(e.message); process.exit(1); }`;
    const res = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' });
    if (res.status === 0) {
      console.log(`mle-runtime: using the prebuilt addon for ${platformTag()}`);
      process.exit(0);
    }
    const why = (res.stderr || String(res.error || '')).split('\n').find((l) => l.trim()) || `exit status ${res.status}`;
    console.warn(`mle-runtime: the prebuilt addon for ${platformTag()} does not load here (${why.trim()}); building from source`);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

require('./build.js');
