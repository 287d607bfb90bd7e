'use strict';
// A pending run never blocks exit: process.exit() and worker.terminate()
// (and process.exit() in a worker) return promptly while long runs are on
// the libuv pool, instead of waiting for them. Each scenario runs in a child
// process (support/exit_main.js), so a hang shows as a timeout here.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawn } = require('node:child_process');

const suite = require('../support/suite.js');

const SCRIPT = path.join(__dirname, '..', 'support', 'exit_main.js');
const PROMPT_MS = 2000;

// Runs the scenario; resolves to {result (its JSON line), exitedAt} once it
// exited with status `status`.
function scenario(mode, status = 0) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const exitedAt = Date.now();
      clearTimeout(killer);
      child.on('close', () => {
        const out = `${stdout}\n${stderr}`;
        try {
          assert.equal(signal, null, `${mode}: killed by ${signal}:\n${out}`);
          assert.equal(code, status, `${mode}: exit status ${code}:\n${out}`);
          resolve({ result: JSON.parse(stdout.trim().split('\n').pop()), exitedAt });
        } catch (e) {
          reject(e);
        }
      });
    });
  });
}

let baseline;
test('baseline: one uncancelled run', async (t) => {
  suite.mlpPath(); // a clear error if the conformance suite is missing
  const { result } = await scenario('baseline');
  baseline = result;
  t.diagnostic(`4096x4096 MatMul: ${result.finished ? '' : 'more than '}${result.runMs.toFixed(0)} ms`);
  assert.ok(result.runMs > 0);
});

const runMs = () => {
  assert.ok(baseline, 'the baseline test failed');
  return baseline.runMs;
};

test('process.exit() with runs pending exits promptly', async (t) => {
  const { result, exitedAt } = await scenario('exit');
  const ms = exitedAt - result.exitAt;
  t.diagnostic(`exited ${ms} ms after process.exit() (one run alone: ${runMs().toFixed(0)} ms or more)`);
  assert.ok(ms < PROMPT_MS, `exit took ${ms} ms`);
  assert.ok(ms < runMs(), `exit took ${ms} ms, not less than one run (${runMs()} ms)`);
});

test('an uncaught exception with runs pending exits promptly', async (t) => {
  const { result, exitedAt } = await scenario('uncaught', 1);
  const ms = exitedAt - result.exitAt;
  t.diagnostic(`exited ${ms} ms after the exception`);
  assert.ok(ms < PROMPT_MS, `exit took ${ms} ms`);
  assert.ok(ms < runMs(), `exit took ${ms} ms, not less than one run (${runMs()} ms)`);
});

test('process.exit() while a worker has runs pending exits promptly', async (t) => {
  const { result, exitedAt } = await scenario('worker-exit');
  const ms = exitedAt - result.exitAt;
  t.diagnostic(`exited ${ms} ms after process.exit()`);
  assert.ok(ms < PROMPT_MS, `exit took ${ms} ms`);
  assert.ok(ms < runMs(), `exit took ${ms} ms, not less than one run (${runMs()} ms)`);
});

test('worker.terminate() with runs pending resolves promptly; the main thread is fine', async (t) => {
  const { result } = await scenario('worker-terminate');
  t.diagnostic(`terminate() took ${result.terminateMs.toFixed(0)} ms`);
  assert.ok(result.terminateMs < PROMPT_MS, `terminate() took ${result.terminateMs} ms`);
  assert.ok(result.terminateMs < runMs());
  assert.equal(result.ok, true, 'the main thread ran the MLP after the worker went');
});

test('process.exit() in a worker with runs pending ends the worker promptly', async (t) => {
  const { result } = await scenario('worker-self');
  t.diagnostic(`the worker exited ${result.workerExitMs} ms after its process.exit()`);
  assert.equal(result.workerCode, 7);
  assert.ok(result.workerExitMs < PROMPT_MS, `the worker took ${result.workerExitMs} ms to exit`);
  assert.ok(result.workerExitMs < runMs());
  assert.equal(result.ok, true, 'the main thread ran the MLP after the worker went');
});
