#!/usr/bin/env node
'use strict';
// Loads an .mle model, prints its signature and predicts a fixed batch.
//
//   make lib demo                              # writes build/demo/mlp.mle (optional)
//   cd bindings/node && npm ci                 # builds the addon
//   node ../../examples/node/predict.js [MODEL.mle]
//
// Without an argument it uses build/demo/mlp.mle, else the conformance
// suite's models/mlp_classifier.mle (`make conformance`).
const fs = require('node:fs');
const path = require('node:path');

const mle = require('../../bindings/node');

const repo = path.resolve(__dirname, '..', '..');
const candidates = [
  path.join(repo, 'build', 'demo', 'mlp.mle'),
  path.join(process.env.MLE_CONFORMANCE_DIR || path.join(repo, 'build', 'conformance'), 'models', 'mlp_classifier.mle'),
];

async function main() {
  const file = process.argv[2] || candidates.find((f) => fs.existsSync(f));
  if (!file) {
    console.error(`no model given and none of ${candidates.join(', ')} exists: run \`make demo\` or \`make conformance\``);
    process.exit(2);
  }

  const model = mle.load(file, { verify: true });
  const meta = model.metadata;
  console.log(`libmle ${mle.version()} (ABI ${mle.abiVersion()})`);
  console.log(`${file}: ${meta.name || '?'} ${meta.version || ''}${meta.description ? ` — ${meta.description}` : ''}`);
  const sig = (t) => `  ${t.name.padEnd(16)} ${t.dtype.padEnd(8)} [${t.shape.map((d) => (d < 0 ? '?' : d)).join(', ')}]`;
  console.log('inputs:');
  model.inputs.forEach((t) => console.log(sig(t)));
  console.log('outputs:');
  model.outputs.forEach((t) => console.log(sig(t)));

  // A fixed batch of 4 rows for every input: dynamic dimensions are 4 (the
  // first) or 1, values follow a fixed pattern.
  const inputs = {};
  for (const [k, t] of model.inputs.entries()) {
    const shape = t.shape.map((d, i) => (d >= 0 ? d : i === 0 ? 4 : 1));
    const n = shape.reduce((p, d) => p * d, 1);
    const values = Array.from({ length: n }, (_, i) => Math.round(Math.sin(i * 1.9 + k * 1.3 + 0.3) * 300) / 100);
    // Plain numbers are converted to the input's dtype; a string input takes strings.
    inputs[t.name] = { data: t.dtype === 'string' ? values.map(String) : values, shape };
  }

  const result = await model.run(inputs); // on the libuv thread pool
  const rows = model.inputs.length ? inputs[model.inputs[0].name].shape[0] : 0;
  console.log(`\npredictions for a batch of ${rows}:`);
  for (const [name, out] of Object.entries(result)) {
    console.log(`  ${name} ${out.dtype} [${out.shape.join(', ')}]`);
    const fmt = (v) =>
      typeof v === 'string' ? JSON.stringify(v) : typeof v === 'bigint' ? v.toString() : Number(v.toPrecision(4));
    if (out.shape.length === 0) {
      console.log(`    ${fmt(out.data[0])}`);
      continue;
    }
    const perRow = out.shape.slice(1).reduce((p, d) => p * d, 1);
    for (let r = 0; r < out.shape[0]; r++) {
      console.log(`    row ${r}: ${Array.from(out.data.slice(r * perRow, (r + 1) * perRow), fmt).join(', ')}`);
    }
  }
  model.close();
}

main().catch((e) => {
  // e.code is the status name ("MLE_ERR_IO_OPEN"), e.status its number (259).
  console.error(e instanceof mle.MLEError ? `${e.code}: ${e.message}` : e);
  process.exit(1);
});
