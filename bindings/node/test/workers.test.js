'use strict';
// worker_threads: the addon is context-aware (one instance per thread) and
// models loaded, run and dropped in workers never crash the process. The
// scenario runs in a child process so a crash or a hang shows as its exit
// status rather than taking the test runner down.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const suite = require('../support/suite.js');

test('workers load, run and drop models; the process exits cleanly', (t) => {
  suite.mlpPath(); // a clear error if the conformance suite is missing
  const script = path.join(__dirname, '..', 'support', 'workers_main.js');
  const res = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 240_000 });
  const out = `${res.stdout}\n${res.stderr}`;
  assert.equal(res.error, undefined, `spawn: ${res.error}`);
  assert.equal(res.signal, null, `killed by ${res.signal}:\n${out}`);
  assert.equal(res.status, 0, `exit status ${res.status}:\n${out}`);
  assert.match(res.stdout, /^ok: 4 workers x 100 loads/m, out);
  t.diagnostic(res.stdout.trim());
});
