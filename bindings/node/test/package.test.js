'use strict';
// package.json as published: no `private`, the exports map (types, import,
// require), the files list, and the LICENSE kept in step with the
// repository's. scripts/check-install.js tests the packed tarball itself.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { pkgDir, repoDir } = require('../scripts/paths.js');

const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));

test('publishable: not private, licensed, with an install script that prefers a prebuild', () => {
  assert.equal(pkg.private, undefined);
  assert.equal(pkg.license, 'Apache-2.0');
  assert.equal(pkg.scripts.install, 'node scripts/install.js');
});

test('the exports map: import and require, each with its types', () => {
  const root = pkg.exports['.'];
  assert.deepEqual(root.import, { types: './index.d.mts', default: './index.mjs' });
  assert.deepEqual(root.require, { types: './index.d.ts', default: './index.js' });
  for (const file of ['index.js', 'index.mjs', 'index.d.ts', 'index.d.mts']) {
    assert.ok(fs.existsSync(path.join(pkgDir, file)), file);
    assert.ok(pkg.files.includes(file), `${file} is packed`);
  }
  assert.equal(pkg.main, 'index.js');
  assert.equal(pkg.types, 'index.d.ts');
});

test('every file the package needs is in its files list', () => {
  // include/ and prebuilds/ are made by scripts/pack.js in its copy.
  for (const entry of pkg.files.filter((f) => f !== 'include/' && f !== 'prebuilds/')) {
    assert.ok(fs.existsSync(path.join(pkgDir, entry)), `${entry} is listed but missing`);
  }
  for (const needed of ['scripts/build.js', 'scripts/install.js', 'scripts/paths.js', 'convert.js', 'binding.gyp', 'src/', 'include/', 'prebuilds/', 'LICENSE']) {
    assert.ok(pkg.files.includes(needed), `${needed} is not packed`);
  }
  // Tools of the checkout stay out of the package.
  for (const tool of ['scripts/', 'scripts/pack.js', 'scripts/check-install.js', 'scripts/elf.js', 'test/', 'support/']) {
    assert.ok(!pkg.files.includes(tool), `${tool} would be packed`);
  }
});

test('LICENSE is the repository\'s', () => {
  const root = path.join(repoDir, 'LICENSE');
  assert.ok(fs.readFileSync(path.join(pkgDir, 'LICENSE')).equals(fs.readFileSync(root)), 'copy the repository LICENSE to bindings/node/LICENSE');
});

test('the package version is the library version (include/mle.h)', () => {
  const header = fs.readFileSync(path.join(repoDir, 'include', 'mle.h'), 'utf8');
  const m = header.match(/^#define MLE_VERSION_STRING "([^"]+)"$/m);
  assert.ok(m, 'MLE_VERSION_STRING not found');
  assert.equal(pkg.version, m[1]);
});
