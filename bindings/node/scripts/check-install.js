#!/usr/bin/env node
'use strict';
// Installs the npm package the way a user would, outside the checkout, and
// runs a model with it:
//
//   node scripts/check-install.js [TARBALL]
//
// Without TARBALL it first packs one (scripts/pack.js) into the temporary
// directory. In a fresh npm project there (mktemp, under the system's temp
// directory), with no MLE_LIB_DIR, MLE_INCLUDE_DIR or LD_LIBRARY_PATH:
//  1. `npm install TARBALL` must use the prebuilt addon: no source build (and
//     with --ignore-scripts, the prebuild must load all the same);
//  2. the conformance suite's mlp_classifier (copied next to the project)
//     runs through require('mle-runtime') and through `import`, every run of
//     the suite's case compared byte for byte with its expected outputs
//     (and expected errors by their string code), by run() and runSync();
//     the addon and libmle in memory must be the package's own
//     (/proc/self/maps), not the checkout's;
//  3. installing with MLE_BUILD_FROM_SOURCE=1 and no MLE_LIB_DIR must fail
//     with the message that says to set MLE_LIB_DIR; with MLE_LIB_DIR (the
//     checkout's build/), the package must build its addon from its own
//     sources and header, and run the model with it.
// The conformance suite comes from MLE_CONFORMANCE_DIR (default
// <repo>/build/conformance; `make conformance`). Not a `node --test` file:
// it packs and installs, which takes a while.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { pkgDir, repoDir, libDir, platformTag } = require('./paths.js');
const { dynamic } = require('./elf.js');
const suite = require('../support/suite.js');

const MODEL = 'models/mlp_classifier.mle';

function step(msg) {
  console.log(`\n== ${msg}`);
}

// A copy of the environment without anything that points into the checkout.
function cleanEnv(extra) {
  const env = { ...process.env, ...extra };
  for (const k of ['MLE_LIB_DIR', 'MLE_INCLUDE_DIR', 'MLE_RPATH_ORIGIN', 'LD_LIBRARY_PATH', 'NODE_PATH', 'MLE_BUILD_FROM_SOURCE', 'npm_config_build_from_source']) {
    if (!(extra && k in extra)) delete env[k];
  }
  return env;
}

function run(cmd, args, options = {}) {
  const res = spawnSync(cmd, args, { encoding: 'utf8', ...options });
  if (res.error) throw new Error(`cannot run ${cmd}: ${res.error.message}`);
  return res;
}

function mustRun(cmd, args, options) {
  const res = run(cmd, args, options);
  const out = `${res.stdout || ''}${res.stderr || ''}`;
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit status ${res.status}):\n${out}`);
  return out;
}

// The suite's case for MODEL as plain JSON for the child processes: inputs
// and expected outputs as base64 bytes.
function caseJSON(modelCopy) {
  const c = suite.manifest().cases.find((k) => k.model === MODEL && !k.open_error);
  assert.ok(c, `the conformance manifest has no case for ${MODEL}`);
  const tensor = (t) => {
    assert.notEqual(t.dtype, 'string', `${t.name}: string tensors are not handled here`);
    return { name: t.name, dtype: t.dtype, shape: t.shape, base64: suite.tensorBytes(t).toString('base64') };
  };
  return {
    model: modelCopy,
    runs: c.runs.map((r) => ({
      inputs: r.inputs.map(tensor),
      outputs: r.error ? undefined : r.outputs.map(tensor),
      error: r.error ? r.error.name : undefined,
    })),
  };
}

// The checks both entry points run (check.cjs in the project).
const CHECK = String.raw`'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const ARRAYS = { float32: Float32Array, float64: Float64Array, int64: BigInt64Array, int32: Int32Array,
  int8: Int8Array, uint8: Uint8Array, bool: Uint8Array, float16: Uint16Array, bfloat16: Uint16Array };

function typed(t) {
  const bytes = Buffer.from(t.base64, 'base64');
  const buf = new ArrayBuffer(bytes.length); // aligned
  new Uint8Array(buf).set(bytes);
  return { data: new ARRAYS[t.dtype](buf), shape: t.shape, dtype: t.dtype };
}

function same(got, want, how) {
  assert.deepEqual(Object.keys(got), want.map((t) => t.name), how + ': output names');
  for (const t of want) {
    const g = got[t.name];
    assert.equal(g.dtype, t.dtype, how + ': ' + t.name);
    assert.deepEqual(g.shape, t.shape, how + ': ' + t.name);
    const bytes = Buffer.from(g.data.buffer, g.data.byteOffset, g.data.byteLength);
    assert.ok(bytes.equals(Buffer.from(t.base64, 'base64')), how + ': ' + t.name + ' differs');
  }
}

// from: "prebuild" (the package's prebuilt pair) or a directory (a source
// build: build/Release's addon, linked with libmle in that directory).
exports.check = async function check(mle, how, entry, from = 'prebuild') {
  const app = __dirname;
  const pkg = path.join(app, 'node_modules', 'mle-runtime');
  assert.ok(entry.startsWith(pkg + path.sep), how + ': mle-runtime resolved to ' + entry);
  const c = JSON.parse(fs.readFileSync(path.join(app, 'case.json'), 'utf8'));
  const m = mle.load(c.model, { verify: true });
  let compared = 0;
  for (const [i, r] of c.runs.entries()) {
    const inputs = Object.fromEntries(r.inputs.map((t) => [t.name, typed(t)]));
    if (r.error) {
      const want = (e) => e instanceof mle.MLEError && e.code === r.error && typeof e.status === 'number';
      assert.throws(() => m.runSync(inputs), want, how + ': run ' + i);
      await assert.rejects(m.run(inputs), want, how + ': run ' + i);
      continue;
    }
    same(await m.run(inputs), r.outputs, how + ': run ' + i);
    same(m.runSync(inputs), r.outputs, how + ': runSync ' + i);
    compared++;
  }
  assert.ok(compared > 0, 'no run to compare');
  assert.throws(() => mle.load(path.join(app, 'no-such-model.mle')),
    (e) => e instanceof mle.MLEError && e.code === 'MLE_ERR_IO_OPEN' && e.status === mle.Status.ERR_IO_OPEN);
  await assert.rejects(m.run({}, { signal: AbortSignal.abort() }), (e) => e.name === 'AbortError');
  m.close();
  // The addon and libmle this process mapped: the package's prebuilt pair,
  // or its source build and the libmle it was built against.
  const mapped = new Set();
  for (const line of fs.readFileSync('/proc/self/maps', 'utf8').split('\n')) {
    const file = line.trim().split(/\s+/)[5];
    if (file && /(^|\/)(libmle\.so[^/]*|mle\.node)$/.test(file)) mapped.add(file);
  }
  const files = [...mapped];
  const addons = files.filter((f) => f.endsWith('/mle.node'));
  const libs = files.filter((f) => /libmle\.so/.test(f));
  assert.ok(addons.length === 1 && libs.length === 1, how + ': mapped ' + files);
  const real = fs.realpathSync(pkg);
  if (from === 'prebuild') {
    for (const f of files) assert.ok(f.startsWith(path.join(real, 'prebuilds') + path.sep), how + ': ' + f + ' is not the package\'s prebuild');
  } else {
    assert.equal(addons[0], path.join(real, 'build', 'Release', 'mle.node'), how);
    assert.equal(path.dirname(libs[0]), fs.realpathSync(from), how);
  }
  console.log(how + ': ' + compared + ' runs equal the suite\'s outputs; libmle ' + mle.version() + ' from ' + [...mapped].join(', '));
};
`;

const USE_CJS = `'use strict';
const mle = require('mle-runtime');
require('./check.cjs').check(mle, 'require', require.resolve('mle-runtime')).catch((e) => {
  console.error(e);
  process.exit(1);
});
`;

const USE_MJS = `import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import mle, { load, MLEError, Status } from 'mle-runtime';

const require = createRequire(import.meta.url);
assert.equal(load, mle.load);
assert.equal(MLEError, require('mle-runtime').MLEError); // one instance for import and require
assert.equal(Status.ERR_SHAPE, 9);
await require('./check.cjs').check(mle, 'import', fileURLToPath(import.meta.resolve('mle-runtime')));
`;

function main() {
  const args = process.argv.slice(2);
  if (args.length > 1 || args.some((a) => a.startsWith('-'))) {
    console.error('usage: node scripts/check-install.js [TARBALL]');
    process.exit(2);
  }
  const modelFile = suite.suitePath(MODEL);
  suite.manifest(); // names `make conformance` when the suite is missing
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mle-node-install-'));
  try {
    assert.ok(!fs.realpathSync(work).startsWith(fs.realpathSync(repoDir) + path.sep), `${work} is inside the checkout`);
    let tarball = args[0] && path.resolve(args[0]);
    if (!tarball) {
      step('pack (scripts/pack.js)');
      const res = run(process.execPath, [path.join(pkgDir, 'scripts', 'pack.js'), path.join(work, 'dist')], { stdio: ['ignore', 'pipe', 'inherit'] });
      if (res.status !== 0) throw new Error(`scripts/pack.js failed (exit status ${res.status})`);
      tarball = res.stdout.trim().split('\n').pop();
    }
    assert.ok(fs.existsSync(tarball), `${tarball} not found`);

    step(`npm install ${path.basename(tarball)} into a fresh project (${work}/app)`);
    const app = path.join(work, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'mle-install-check', version: '1.0.0', private: true }, null, 2));
    const npmArgs = ['install', '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts', tarball];
    const out = mustRun('npm', npmArgs, { cwd: app, env: cleanEnv() });
    process.stdout.write(out);
    assert.match(out, new RegExp(`mle-runtime: using the prebuilt addon for ${platformTag()}`));
    const pkg = path.join(app, 'node_modules', 'mle-runtime');
    const prebuilt = path.join(pkg, 'prebuilds', platformTag());
    assert.ok(!fs.existsSync(path.join(pkg, 'build')), 'the install built from source although a prebuild is there');
    const dyn = dynamic(path.join(prebuilt, 'mle.node'));
    assert.equal(dyn.runpath, '$ORIGIN');
    const libs = dyn.needed.filter((n) => n.startsWith('libmle.'));
    assert.equal(libs.length, 1);
    assert.ok(fs.existsSync(path.join(prebuilt, libs[0])), `${libs[0]} is not next to the addon`);
    console.log(`${path.relative(app, prebuilt)}: mle.node (NEEDED ${libs[0]}, RUNPATH ${dyn.runpath}), ${fs.readdirSync(prebuilt).join(', ')}`);
    const meta = JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'), 'utf8'));
    assert.equal(meta.private, undefined);
    assert.ok(fs.readFileSync(path.join(pkg, 'LICENSE')).equals(fs.readFileSync(path.join(repoDir, 'LICENSE'))), 'LICENSE');
    assert.ok(fs.existsSync(path.join(pkg, 'include', 'mle.h')), 'include/mle.h (for a source build)');

    step('run the model through require() and import');
    const model = path.join(work, path.basename(MODEL));
    fs.copyFileSync(modelFile, model);
    fs.writeFileSync(path.join(app, 'case.json'), JSON.stringify(caseJSON(model)));
    fs.writeFileSync(path.join(app, 'check.cjs'), CHECK);
    fs.writeFileSync(path.join(app, 'use.cjs'), USE_CJS);
    fs.writeFileSync(path.join(app, 'use.mjs'), USE_MJS);
    for (const script of ['use.cjs', 'use.mjs']) {
      process.stdout.write(mustRun(process.execPath, [script], { cwd: app, env: cleanEnv() }));
    }

    step('npm install --ignore-scripts: the prebuild loads without the install script');
    const app3 = path.join(work, 'app-no-scripts');
    fs.mkdirSync(app3);
    fs.writeFileSync(path.join(app3, 'package.json'), JSON.stringify({ name: 'mle-install-check-no-scripts', version: '1.0.0', private: true }, null, 2));
    mustRun('npm', [...npmArgs.slice(0, -1), '--ignore-scripts', tarball], { cwd: app3, env: cleanEnv() });
    for (const f of ['case.json', 'check.cjs', 'use.cjs']) fs.copyFileSync(path.join(app, f), path.join(app3, f));
    process.stdout.write(mustRun(process.execPath, ['use.cjs'], { cwd: app3, env: cleanEnv() }));

    step('a source build without libmle fails clearly');
    const app2 = path.join(work, 'app-source');
    fs.mkdirSync(app2);
    fs.writeFileSync(path.join(app2, 'package.json'), JSON.stringify({ name: 'mle-install-check-source', version: '1.0.0', private: true }, null, 2));
    const res = run('npm', npmArgs, { cwd: app2, env: cleanEnv({ MLE_BUILD_FROM_SOURCE: '1' }) });
    const out2 = `${res.stdout}${res.stderr}`;
    assert.notEqual(res.status, 0, `the install succeeded without libmle:\n${out2}`);
    assert.match(out2, /mle-runtime: cannot build the addon from source: .*libmle\.so not found\. Set MLE_LIB_DIR/);
    console.log(out2.split('\n').find((l) => l.includes('cannot build the addon from source')));

    step("a source build with MLE_LIB_DIR: the package's own sources and header");
    const lib = libDir(); // the checkout's build/ (or MLE_LIB_DIR as this script was given it)
    process.stdout.write(mustRun('npm', npmArgs, { cwd: app2, env: cleanEnv({ MLE_BUILD_FROM_SOURCE: '1', MLE_LIB_DIR: lib }) }));
    const pkg2 = path.join(app2, 'node_modules', 'mle-runtime');
    assert.ok(fs.existsSync(path.join(pkg2, 'build', 'Release', 'mle.node')), 'no source build');
    assert.ok(!fs.existsSync(path.join(pkg2, 'prebuilds', platformTag())), 'the unused prebuild is still there');
    assert.equal(dynamic(path.join(pkg2, 'build', 'Release', 'mle.node')).runpath, lib);
    for (const f of ['case.json', 'check.cjs']) fs.copyFileSync(path.join(app, f), path.join(app2, f));
    const useSource = USE_CJS.replace("'require', require.resolve('mle-runtime')", `'require (source build)', require.resolve('mle-runtime'), ${JSON.stringify(lib)}`);
    assert.notEqual(useSource, USE_CJS);
    fs.writeFileSync(path.join(app2, 'use.cjs'), useSource);
    process.stdout.write(mustRun(process.execPath, ['use.cjs'], { cwd: app2, env: cleanEnv() }));

    console.log('\ncheck-install: the package installed outside the checkout and ran the model through require and import');
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main();
