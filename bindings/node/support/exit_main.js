'use strict';
// Run by test/exit.test.js in a child process: `node exit_main.js MODE`.
// Long runs (slow_matmul, N x N) are pending when the process or a worker
// ends. The child prints one JSON line; the parent measures how long the
// child took to exit after the `exitAt` it reports.
//
//   baseline        one run, given LIMIT_MS at most: {runMs, finished}
//                   (finished false: the run needs more than runMs)
//   exit            RUNS runs pending, process.exit(0) 100 ms later: {exitAt}
//   uncaught        RUNS runs pending, an uncaught exception 100 ms later
//                   (exit status 1): {exitAt}
//   worker-exit     a worker has RUNS runs pending; the main thread calls
//                   process.exit(0) 100 ms after it reports: {exitAt}
//   worker-self     the worker itself calls process.exit(7) with RUNS runs
//                   pending at the exitAt it announced; then the main thread
//                   runs a model and exits: {workerExitMs, workerCode, ok}
//   worker-terminate  worker.terminate() with RUNS runs pending; then the
//                   main thread runs a model and exits: {terminateMs, ok}
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');

const mle = require('..');
const suite = require('./suite.js');

const N = Number(process.env.MLE_EXIT_N) || 4096;
const RUNS = 5; // more than the libuv pool's 4 threads: one waits in its queue
const LIMIT_MS = 3000; // enough to show a run far outlasts a prompt exit

function longInputs() {
  const data = new Float32Array(N * N);
  for (let i = 0; i < data.length; i++) data[i] = (i % 5) - 2;
  return { A: { data, shape: [N, N] }, B: { data, shape: [N, N] } };
}

// Starts RUNS runs and leaves them pending (their rejections are expected
// only if something cancels them while the process lives: ignore them).
function startRuns() {
  const model = mle.load(suite.suitePath('models/slow_matmul.mle'));
  const inputs = longInputs();
  for (let i = 0; i < RUNS; i++) model.run(inputs).catch(() => {});
  return model;
}

const print = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The MLP's result must still be right after the worker went away.
function mainStillWorks() {
  const m = mle.load(suite.mlpPath());
  const x = { features: { data: new Float32Array([0.5, -1, 2, 0.25]), shape: [1, 4] } };
  const a = m.runSync(x);
  return m.run(x).then((b) => {
    m.close();
    return Buffer.from(a.probabilities.data.buffer).equals(Buffer.from(b.probabilities.data.buffer));
  });
}

function spawnWorker(mode) {
  const w = new Worker(__filename, { workerData: { mode } });
  const exited = new Promise((resolve, reject) => {
    w.once('error', reject);
    w.once('exit', resolve);
  });
  const ready = new Promise((resolve) => w.once('message', resolve));
  return { w, exited, ready };
}

async function main(mode) {
  if (mode === 'baseline') {
    const model = mle.load(suite.suitePath('models/slow_matmul.mle'));
    const inputs = longInputs();
    const t0 = process.hrtime.bigint();
    let finished = true;
    await model.run(inputs, { timeoutMs: LIMIT_MS }).catch((e) => {
      if (e.code !== 'MLE_ERR_CANCELLED_DEADLINE') throw e;
      finished = false;
    });
    print({ runMs: Number(process.hrtime.bigint() - t0) / 1e6, finished });
  } else if (mode === 'exit') {
    startRuns();
    await sleep(100);
    print({ exitAt: Date.now() });
    process.exit(0);
  } else if (mode === 'uncaught') {
    startRuns();
    await sleep(100);
    print({ exitAt: Date.now() });
    setImmediate(() => {
      throw new Error('uncaught on purpose (test/exit.test.js)');
    });
  } else if (mode === 'worker-exit') {
    const { ready } = spawnWorker('pending');
    await ready;
    await sleep(100);
    print({ exitAt: Date.now() });
    process.exit(0);
  } else if (mode === 'worker-self') {
    const { ready, exited } = spawnWorker('self-exit');
    const { exitAt } = await ready;
    const workerCode = await exited;
    print({ workerExitMs: Date.now() - exitAt, workerCode, ok: await mainStillWorks() });
  } else if (mode === 'worker-terminate') {
    const { w, ready, exited } = spawnWorker('pending');
    await ready;
    await sleep(100);
    const t0 = process.hrtime.bigint();
    await w.terminate();
    const terminateMs = Number(process.hrtime.bigint() - t0) / 1e6;
    await exited;
    print({ terminateMs, ok: await mainStillWorks() });
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
}

async function worker() {
  startRuns();
  if (workerData.mode === 'self-exit') {
    const exitAt = Date.now() + 100;
    parentPort.postMessage({ exitAt });
    await sleep(exitAt - Date.now());
    process.exit(7);
  }
  parentPort.postMessage('pending');
  await new Promise(() => {}); // wait to be ended with the runs in flight
}

if (isMainThread) {
  main(process.argv[2]).catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
} else {
  worker();
}
