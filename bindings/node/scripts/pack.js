#!/usr/bin/env node
'use strict';
// Makes the npm package with a prebuilt addon:
//
//   node scripts/pack.js DEST_DIR      (prints the .tgz's path)
//
// Needs `npm ci` in bindings/node (node-gyp, node-addon-api) and libmle
// (MLE_LIB_DIR, default <repo>/build; `make lib`). In a temporary copy of the
// package's files (the checkout is left alone, so a prebuild can never shadow
// a development build there), it builds the addon with RUNPATH $ORIGIN and
// puts it in prebuilds/<platform>-<arch>/ next to a copy of the libmle it
// links (under its SONAME, e.g. libmle.so.1): the pair works wherever the
// package is installed, with no LD_LIBRARY_PATH. The package also carries
// include/mle.h and LICENSE, so that installing it on another platform can
// build from source with only MLE_LIB_DIR set. Then `npm pack` into DEST_DIR.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { pkgDir, repoDir, libDir, includeDir, platformTag } = require('./paths.js');
const { dynamic } = require('./elf.js');

class PackError extends Error {}

// Thrown, not process.exit(), so that the temporary copy is removed.
function fail(msg) {
  throw new PackError(msg);
}

// Output goes to stderr: stdout is the .tgz's path alone.
function run(cmd, args, options) {
  const res = spawnSync(cmd, args, { stdio: ['ignore', 2, 2], ...options });
  if (res.error) fail(`cannot run ${cmd}: ${res.error.message}`);
  if (res.status !== 0) fail(`${cmd} ${args.join(' ')} failed (exit status ${res.status})`);
  return res;
}

function main() {
  if (process.argv.length !== 3) {
    console.error('usage: node scripts/pack.js DEST_DIR');
    process.exit(2);
  }
  const dest = path.resolve(process.argv[2]);
  fs.mkdirSync(dest, { recursive: true });
  if (!fs.existsSync(path.join(pkgDir, 'node_modules', 'node-addon-api'))) {
    fail(`${path.join(pkgDir, 'node_modules')} lacks node-addon-api: run \`npm ci\` in ${pkgDir} first`);
  }
  const header = path.join(includeDir(), 'mle.h');
  if (!fs.existsSync(header)) fail(`${header} not found (MLE_INCLUDE_DIR)`);
  // The repository's LICENSE (the package keeps a copy too, for packing
  // without this script; test/package.test.js checks that they agree).
  const rootLicense = path.join(repoDir, 'LICENSE');
  const license = fs.existsSync(rootLicense) ? rootLicense : path.join(pkgDir, 'LICENSE');
  if (!fs.existsSync(license)) fail(`${license} not found`);

  const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'mle-node-pack-'));
  try {
    // The files npm would pack from the checkout (those that exist there).
    for (const entry of ['package.json', 'README.md', ...pkg.files]) {
      const from = path.join(pkgDir, entry);
      if (fs.existsSync(from)) fs.cpSync(from, path.join(stage, entry), { recursive: true });
    }
    fs.copyFileSync(license, path.join(stage, 'LICENSE'));
    fs.mkdirSync(path.join(stage, 'include'), { recursive: true });
    fs.copyFileSync(header, path.join(stage, 'include', 'mle.h'));

    // Build in the copy, against the checkout's node_modules and libmle.
    fs.symlinkSync(path.join(pkgDir, 'node_modules'), path.join(stage, 'node_modules'), 'dir');
    const env = { ...process.env, MLE_LIB_DIR: libDir(), MLE_INCLUDE_DIR: includeDir(), MLE_RPATH_ORIGIN: '1' };
    run(process.execPath, [path.join(stage, 'scripts', 'build.js')], { cwd: stage, env });
    const built = path.join(stage, 'build', 'Release', 'mle.node');
    const dyn = dynamic(built);
    if (dyn.runpath !== '$ORIGIN' || dyn.rpath !== undefined) {
      fail(`${built}: RUNPATH ${dyn.runpath}, RPATH ${dyn.rpath}; want RUNPATH $ORIGIN only`);
    }
    const libs = dyn.needed.filter((n) => n.startsWith('libmle.'));
    if (libs.length !== 1) fail(`${built} needs ${JSON.stringify(dyn.needed)}: want one libmle`);
    const lib = path.join(libDir(), libs[0]); // the file the SONAME names (a symlink is followed)
    if (!fs.existsSync(lib)) fail(`${lib} not found: the addon needs ${libs[0]}`);

    // What the prebuild asks of the machine it is installed on (the install
    // script builds from source where it does not load).
    const symbols = spawnSync('objdump', ['-T', built, lib], { encoding: 'utf8' }).stdout || '';
    const newest = (tag) => [...new Set(symbols.match(new RegExp(`\\b${tag}_[0-9.]+`, 'g')) || [])].sort((a, b) =>
      a.localeCompare(b, 'en', { numeric: true })).pop();
    console.error(`pack: the prebuild needs ${newest('GLIBC') || 'GLIBC ?'} and ${newest('GLIBCXX') || 'no libstdc++ version'}`);

    const out = path.join(stage, 'prebuilds', platformTag());
    fs.mkdirSync(out, { recursive: true });
    fs.copyFileSync(built, path.join(out, 'mle.node'));
    fs.copyFileSync(lib, path.join(out, libs[0]));
    fs.chmodSync(path.join(out, libs[0]), 0o755);
    fs.rmSync(path.join(stage, 'build'), { recursive: true, force: true });
    fs.unlinkSync(path.join(stage, 'node_modules'));

    // It loads from the copy alone: no checkout path, no LD_LIBRARY_PATH.
    const clean = { ...process.env };
    for (const k of ['MLE_LIB_DIR', 'MLE_INCLUDE_DIR', 'MLE_RPATH_ORIGIN', 'LD_LIBRARY_PATH']) delete clean[k];
    const probe = `const m = require(${JSON.stringify(stage)}); console.log('pack: the prebuild loads: libmle ' + m.version() + ', ABI ' + m.abiVersion());`;
    run(process.execPath, ['-e', probe], { env: clean, cwd: os.tmpdir() });

    const res = spawnSync('npm', ['pack', '--json', '--pack-destination', dest], { cwd: stage, encoding: 'utf8', env: clean });
    if (res.error || res.status !== 0) fail(`npm pack failed: ${res.stderr || res.error}`);
    const [info] = JSON.parse(res.stdout);
    const files = new Set(info.files.map((f) => f.path));
    for (const want of [`prebuilds/${platformTag()}/mle.node`, `prebuilds/${platformTag()}/${libs[0]}`, 'LICENSE', 'include/mle.h', 'index.mjs']) {
      if (!files.has(want)) fail(`the package lacks ${want}`);
    }
    const tgz = path.join(dest, info.filename);
    console.error(`pack: ${info.files.length} files, ${(info.size / 1e6).toFixed(1)} MB packed (${(info.unpackedSize / 1e6).toFixed(1)} MB unpacked)`);
    console.log(tgz);
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

try {
  main();
} catch (e) {
  if (!(e instanceof PackError)) throw e;
  console.error(`pack: ${e.message}`);
  process.exitCode = 1;
}
