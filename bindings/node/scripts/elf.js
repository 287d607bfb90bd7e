'use strict';
// The dynamic section of an ELF file (NEEDED, RUNPATH, RPATH, SONAME), read
// with binutils' readelf. For scripts/pack.js and scripts/check-install.js.
const { spawnSync } = require('node:child_process');

function dynamic(file) {
  const res = spawnSync('readelf', ['-d', '-W', file], { encoding: 'utf8' });
  if (res.error) throw new Error(`cannot run readelf (binutils) on ${file}: ${res.error.message}`);
  if (res.status !== 0) throw new Error(`readelf -d ${file} failed: ${res.stderr.trim()}`);
  const d = { needed: [], runpath: undefined, rpath: undefined, soname: undefined };
  for (const m of res.stdout.matchAll(/\((NEEDED|RUNPATH|RPATH|SONAME)\)[^[\n]*\[([^\]\n]*)\]/g)) {
    if (m[1] === 'NEEDED') d.needed.push(m[2]);
    else d[m[1].toLowerCase()] = m[2];
  }
  return d;
}

module.exports = { dynamic };
