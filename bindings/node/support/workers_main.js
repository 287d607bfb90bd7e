'use strict';
// Run by test/workers.test.js in a child process (its exit code and output
// are the test). The main thread starts WORKERS worker threads; each loads
// the addon (a separate addon instance), loads and drops the model ROUNDS
// times, running it every time (async and sync), and exits. One more worker
// is terminated while its runs are pending. Meanwhile the main thread keeps
// running the model and its timers keep firing. The process must then exit
// by itself with code 0.
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');
const v8 = require('node:v8');
const vm = require('node:vm');

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

const mle = require('..');
const suite = require('./suite.js');

const WORKERS = 4;
const ROUNDS = 100;

function input(seed) {
  const data = new Float32Array(16 * 4);
  for (let i = 0; i < data.length; i++) data[i] = Math.cos(seed * 1.7 + i * 0.31) * 2;
  return { features: { data, shape: [16, 4] } };
}

function digest(result) {
  return Object.entries(result)
    .map(([name, t]) => `${name}:${t.dtype}:${t.shape}:${Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('hex')}`)
    .join('|');
}

async function workerMain() {
  const { path, expected, mode } = workerData;
  if (mode === 'terminate') {
    const model = mle.load(path);
    const big = new Float32Array(4096 * 4).fill(0.5);
    for (let i = 0; i < 64; i++) model.run({ features: { data: big, shape: [4096, 4] } });
    parentPort.postMessage({ ready: true });
    await new Promise(() => {}); // wait to be terminated with runs in flight
    return;
  }
  const x = input(1);
  for (let round = 0; round < ROUNDS; round++) {
    const model = round % 2 === 0 ? mle.load(path) : await mle.loadAsync(path);
    const [a, b] = await Promise.all([model.run(x), model.run(x)]);
    const c = model.runSync(x);
    for (const r of [a, b, c]) if (digest(r) !== expected) throw new Error(`round ${round}: wrong result`);
    if (round % 3 === 0) model.close(); // else dropped: the finalizer frees it
    if (round % 10 === 9) gc();
  }
  parentPort.postMessage({ done: ROUNDS });
}

async function main() {
  const path = suite.mlpPath();
  const model = mle.load(path);
  const expected = digest(model.runSync(input(1)));

  let ticks = 0;
  const timer = setInterval(() => ticks++, 2);
  const exits = [];
  const spawn = (mode) => {
    const w = new Worker(__filename, { workerData: { path, expected, mode } });
    const exited = new Promise((resolve, reject) => {
      w.on('error', reject);
      w.on('exit', resolve);
    });
    return { w, exited };
  };

  const workers = Array.from({ length: WORKERS }, () => spawn('normal'));
  let done = 0;
  for (const { w } of workers) w.on('message', (m) => (done += m.done ? 1 : 0));

  const victim = spawn('terminate');
  await new Promise((resolve) => victim.w.once('message', resolve));
  await victim.w.terminate();
  await victim.exited;

  // The main thread keeps working while the workers run.
  let mainRuns = 0;
  const x = input(1);
  while (done < WORKERS) {
    const r = await model.run(x);
    if (digest(r) !== expected) throw new Error('main thread: wrong result');
    mainRuns++;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const codes = await Promise.all(workers.map((w) => w.exited));
  clearInterval(timer);
  if (codes.some((c) => c !== 0)) throw new Error(`worker exit codes ${codes}`);
  if (ticks === 0) throw new Error('the main thread timer never fired');
  model.close();
  gc();
  console.log(`ok: ${WORKERS} workers x ${ROUNDS} loads, 1 terminated mid-run, ${mainRuns} main-thread runs, ${ticks} timer ticks`);
}

if (isMainThread) {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
} else {
  workerMain().catch((e) => {
    console.error(e);
    process.exitCode = 1;
    throw e;
  });
}
