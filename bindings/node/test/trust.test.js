'use strict';
// Signed and encrypted models: keygen, sign, encrypt and decrypt through
// libmle, then opening with keys (load, loadAsync, loadBuffer) and the exact
// status of every refusal.
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const mle = require('..');
const suite = require('../support/suite.js');

const S = mle.Status;
const X = { features: { data: new Float32Array([0.5, -1, 2, 0.25, 1, 1, 1, 1]), shape: [2, 4] } };

// The widest MLP the suite has (mlp_wide has weights worth encrypting in chunks).
function basePath() {
  const wide = suite.suitePath('models/mlp_wide.mle');
  return fs.existsSync(wide) ? wide : suite.mlpPath();
}

function isMLEError(code) {
  return (e) => {
    assert.ok(e instanceof mle.MLEError, `want MLEError, got ${e && e.stack}`);
    assert.equal(e.code, mle.statusString(code), `got ${e.code} (${e.status}): ${e.message}`);
    assert.equal(e.status, code);
    assert.equal(e.primary, code & 0xff);
    return true;
  };
}

function sameOutputs(a, b) {
  assert.deepEqual(Object.keys(a), Object.keys(b));
  for (const k of Object.keys(a)) {
    assert.deepEqual(a[k].shape, b[k].shape);
    assert.equal(a[k].dtype, b[k].dtype);
    assert.ok(suite.bytesOf(a[k].data).equals(suite.bytesOf(b[k].data)), k);
  }
}

function runOnce(m) {
  try {
    return m.runSync(X);
  } finally {
    m.close();
  }
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mle-node-trust-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

const plainPath = path.join(dir, 'plain.mle');
fs.copyFileSync(basePath(), plainPath);
const want = runOnce(mle.load(plainPath));

test('keygen writes a key pair and refuses to replace it', () => {
  const kp = mle.keygen(path.join(dir, 'a'));
  assert.deepEqual(kp, { privateKeyPath: path.join(dir, 'a.key'), publicKeyPath: path.join(dir, 'a.pub') });
  assert.match(fs.readFileSync(kp.privateKeyPath, 'utf8'), /-----BEGIN PRIVATE KEY-----/);
  assert.match(fs.readFileSync(kp.publicKeyPath, 'utf8'), /-----BEGIN PUBLIC KEY-----/);
  assert.equal(fs.statSync(kp.privateKeyPath).mode & 0o777, 0o600);
  assert.throws(() => mle.keygen(path.join(dir, 'a')), mle.MLEError);
});

test('signed: trusted key, untrusted key, required signature', async () => {
  const ka = mle.keygen(path.join(dir, 'signer'));
  const kb = mle.keygen(path.join(dir, 'other'));
  const signed = path.join(dir, 'signed.mle');
  assert.equal(mle.sign(plainPath, ka.privateKeyPath, signed), signed);

  // The public key as a path, as PEM text, as bytes; one on its own or in a list.
  const pem = fs.readFileSync(ka.publicKeyPath, 'utf8');
  const forms = [[ka.publicKeyPath], pem, [Buffer.from(pem)], [kb.publicKeyPath, new Uint8Array(Buffer.from(pem))]];
  for (const trustedKeys of forms) {
    sameOutputs(runOnce(mle.load(signed, { trustedKeys, requireSignature: true })), want);
  }
  sameOutputs(runOnce(await mle.loadAsync(signed, { trustedKeys: [ka.publicKeyPath], requireSignature: true })), want);
  sameOutputs(runOnce(mle.loadBuffer(fs.readFileSync(signed), { trustedKeys: [pem], requireSignature: true })), want);
  // verify too: every tensor's digest checked at open.
  sameOutputs(runOnce(mle.load(signed, { trustedKeys: [pem], requireSignature: true, verify: true })), want);

  assert.throws(() => mle.load(signed, { trustedKeys: [kb.publicKeyPath] }), isMLEError(S.ERR_SIGNATURE_UNTRUSTED));
  await assert.rejects(
    mle.loadAsync(signed, { trustedKeys: [kb.publicKeyPath] }),
    isMLEError(S.ERR_SIGNATURE_UNTRUSTED),
  );
  assert.throws(
    () => mle.loadBuffer(fs.readFileSync(signed), { trustedKeys: [kb.publicKeyPath] }),
    isMLEError(S.ERR_SIGNATURE_UNTRUSTED),
  );
  assert.throws(
    () => mle.load(plainPath, { trustedKeys: [ka.publicKeyPath], requireSignature: true }),
    isMLEError(S.ERR_SIGNATURE_REQUIRED),
  );
  // An unsigned file opens with trusted keys when no signature is required.
  sameOutputs(runOnce(mle.load(plainPath, { trustedKeys: [ka.publicKeyPath] })), want);

  // sign in place, with the private key as bytes.
  const inPlace = path.join(dir, 'in-place.mle');
  fs.copyFileSync(plainPath, inPlace);
  assert.equal(mle.sign(inPlace, fs.readFileSync(ka.privateKeyPath)), inPlace);
  sameOutputs(runOnce(mle.load(inPlace, { trustedKeys: [pem], requireSignature: true })), want);
});

test('trusted key that is not a key: MLE_ERR_KEY_INVALID; a missing .pub: MLE_ERR_IO_OPEN', () => {
  assert.throws(() => mle.load(plainPath, { trustedKeys: [Buffer.alloc(7)] }), isMLEError(S.ERR_KEY_INVALID));
  assert.throws(
    () => mle.load(plainPath, { trustedKeys: [path.join(dir, 'missing.pub')] }),
    isMLEError(S.ERR_IO_OPEN),
  );
});

test('encrypted: no key, wrong key, short key, right key', async () => {
  const key = crypto.randomBytes(32);
  const enc = path.join(dir, 'enc.mle');
  assert.equal(mle.encrypt(plainPath, key, enc), enc);

  assert.throws(() => mle.load(enc), isMLEError(S.ERR_KEY_REQUIRED));
  assert.throws(() => mle.load(enc, { key: crypto.randomBytes(32) }), isMLEError(S.ERR_KEY_WRONG));
  assert.throws(() => mle.load(enc, { key: key.subarray(0, 31) }), isMLEError(S.ERR_KEY_INVALID));
  assert.throws(() => mle.loadBuffer(fs.readFileSync(enc)), isMLEError(S.ERR_KEY_REQUIRED));
  await assert.rejects(mle.loadAsync(enc, { key: crypto.randomBytes(32) }), isMLEError(S.ERR_KEY_WRONG));

  sameOutputs(runOnce(mle.load(enc, { key })), want);
  sameOutputs(runOnce(mle.load(enc, { key: new Uint8Array(key) })), want);
  sameOutputs(runOnce(await mle.loadAsync(enc, { key })), want);
  sameOutputs(runOnce(mle.loadBuffer(fs.readFileSync(enc), { key })), want);
  // A key for a plain file is not needed, but does no harm.
  sameOutputs(runOnce(mle.load(plainPath, { key })), want);

  // decrypt gives back a plain file; a wrong key is refused.
  const dec = path.join(dir, 'dec.mle');
  assert.throws(() => mle.decrypt(enc, crypto.randomBytes(32), dec), isMLEError(S.ERR_KEY_WRONG));
  assert.equal(mle.decrypt(enc, key, dec), dec);
  sameOutputs(runOnce(mle.load(dec)), want);
  assert.throws(
    () => mle.encrypt(plainPath, key.subarray(0, 31), path.join(dir, 'x.mle')),
    isMLEError(S.ERR_KEY_INVALID),
  );
});

test('signed, then encrypted: both checks', () => {
  const k = mle.keygen(path.join(dir, 'both'));
  const key = crypto.randomBytes(32);
  const file = path.join(dir, 'both.mle');
  mle.sign(plainPath, k.privateKeyPath, file);
  mle.encrypt(file, key); // in place
  const other = mle.keygen(path.join(dir, 'both-other'));
  sameOutputs(runOnce(mle.load(file, { key, trustedKeys: [k.publicKeyPath], requireSignature: true })), want);
  assert.throws(() => mle.load(file, { trustedKeys: [k.publicKeyPath] }), isMLEError(S.ERR_KEY_REQUIRED));
  assert.throws(
    () => mle.load(file, { key, trustedKeys: [other.publicKeyPath], requireSignature: true }),
    isMLEError(S.ERR_SIGNATURE_UNTRUSTED),
  );
  // Encrypted files are not signed again: sign before encrypting.
  assert.throws(() => mle.sign(file, k.privateKeyPath, path.join(dir, 'resigned.mle')), mle.MLEError);
});

test('option types are checked', () => {
  assert.throws(() => mle.load(plainPath, { key: 'not bytes' }), TypeError);
  assert.throws(() => mle.load(plainPath, { trustedKeys: [42] }), TypeError);
  assert.throws(() => mle.load(plainPath, { requireSignature: 'yes' }), isMLEError(S.ERR_INVALID_OPTIONS));
  assert.throws(() => mle.encrypt(plainPath, 'key'), TypeError);
  // libmle: a required signature needs keys to check it against.
  assert.throws(() => mle.load(plainPath, { requireSignature: true }), isMLEError(S.ERR_INVALID_OPTIONS));
});
