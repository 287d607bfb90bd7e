//! Signed and encrypted models: keygen, sign_file, encrypt_file and
//! decrypt_file through libmle, then opening with the keys of OpenOptions
//! (from a file and from memory), with the exact status of every refusal.

mod support;

use std::path::{Path, PathBuf};

use mle::status::*;
use mle::{Builder, DType, Error, ErrorKind, Model, OpenOptions, Tensor, TensorView};
use support::TempDir;

const KEY: [u8; 32] = [0x5a; 32];
const OTHER_KEY: [u8; 32] = [0xa5; 32];
const X: [f32; 8] = [0.5, -1.0, 2.0, 0.25, 1.0, 1.0, 1.0, 1.0]; // [2, 4]

/// features [-1, 4] → Gemm(64) → Relu → Gemm(3) → Softmax → probabilities, label.
fn save_mlp(path: &Path) {
    let w1: Vec<f32> = (0..4 * 64).map(|i| ((i * 37 % 101) as f32 - 50.0) / 100.0).collect();
    let b1: Vec<f32> = (0..64).map(|i| (i as f32 - 32.0) / 64.0).collect();
    let w2: Vec<f32> = (0..64 * 3).map(|i| ((i * 53 % 97) as f32 - 48.0) / 50.0).collect();
    let b2 = [0.1f32, -0.2, 0.05];
    let mut b = Builder::new().unwrap();
    b.set_metadata_json(r#"{"name": "rust-trust", "version": "1.0.0"}"#)
        .unwrap()
        .add_input("features", DType::F32, &[-1, 4])
        .unwrap()
        .add_tensor("W1", &[4, 64], &w1)
        .unwrap()
        .add_tensor("b1", &[64], &b1)
        .unwrap()
        .add_tensor("W2", &[64, 3], &w2)
        .unwrap()
        .add_tensor("b2", &[3], &b2)
        .unwrap();
    b.add_node("Gemm", &["features", "W1", "b1"], &["h"]).unwrap();
    b.add_node("Relu", &["h"], &["r"]).unwrap();
    b.add_node("Gemm", &["r", "W2", "b2"], &["logits"]).unwrap();
    let sm = b.add_node("Softmax", &["logits"], &["probabilities"]).unwrap();
    b.set_attr_int(sm, "axis", -1).unwrap();
    let am = b.add_node("ArgMax", &["probabilities"], &["label"]).unwrap();
    b.set_attr_int(am, "axis", 1).unwrap().set_attr_int(am, "keepdims", 0).unwrap();
    b.add_output("probabilities").unwrap().add_output("label").unwrap();
    b.save(path).unwrap();
}

fn run(model: &Model) -> Vec<Tensor> {
    model.run(&[TensorView::from_f32(&X, &[2, 4]).named("features")]).unwrap()
}

fn same(a: &[Tensor], b: &[Tensor]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert_eq!((x.name(), x.dtype(), x.shape()), (y.name(), y.dtype(), y.shape()));
        assert_eq!(x.data(), y.data(), "output {}", x.name());
    }
}

#[track_caller]
fn expect(r: mle::Result<Model>, status: u32) -> Error {
    let e = r.expect_err("want an error");
    assert_eq!(e.status(), status, "got {e}, want {}", mle::status_string(status));
    assert!(!e.message().is_empty());
    e
}

/// A temp dir with the plain model, and its outputs.
fn setup(tag: &str) -> (TempDir, PathBuf, Vec<Tensor>) {
    let dir = TempDir::new(tag);
    let plain = dir.join("plain.mle");
    save_mlp(&plain);
    let want = run(&Model::open(&plain, &OpenOptions::default()).unwrap());
    (dir, plain, want)
}

#[test]
fn keygen_writes_a_pair_once() {
    let dir = TempDir::new("keygen");
    let (key, public) = mle::keygen(dir.join("k")).unwrap();
    assert_eq!((key.clone(), public.clone()), (dir.join("k.key"), dir.join("k.pub")));
    assert!(std::fs::read_to_string(&key).unwrap().contains("-----BEGIN PRIVATE KEY-----"));
    assert!(std::fs::read_to_string(&public).unwrap().contains("-----BEGIN PUBLIC KEY-----"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // An existing private key is never replaced.
    assert!(mle::keygen(dir.join("k")).is_err());
}

#[test]
fn signed_models() {
    let (dir, plain, want) = setup("signed");
    let (sk, pk) = mle::keygen(dir.join("signer")).unwrap();
    let (_, other_pk) = mle::keygen(dir.join("other")).unwrap();
    let pem = std::fs::read(&pk).unwrap();
    let other_pem = std::fs::read(&other_pk).unwrap();
    let signed = dir.join("signed.mle");
    mle::sign_file(&plain, Some(&signed), &std::fs::read(&sk).unwrap()).unwrap();

    let trusted = OpenOptions::new().trusted_key(&pem).require_signature(true);
    same(&run(&Model::open(&signed, &trusted).unwrap()), &want);
    same(&run(&Model::open(&signed, &trusted.clone().verify(true)).unwrap()), &want);
    let bytes = std::fs::read(&signed).unwrap();
    same(&run(&Model::open_memory(&bytes, &trusted).unwrap()), &want);
    // One trusted key among others is enough.
    let either = OpenOptions::new().trusted_key(&other_pem).trusted_key(&pem).require_signature(true);
    same(&run(&Model::open(&signed, &either).unwrap()), &want);

    let untrusted = OpenOptions::new().trusted_key(&other_pem);
    let e = expect(Model::open(&signed, &untrusted), MLE_ERR_SIGNATURE_UNTRUSTED);
    assert_eq!(e.kind(), ErrorKind::Security);
    assert_eq!(e.primary(), MLE_ERR_SECURITY);
    expect(Model::open_memory(&bytes, &untrusted), MLE_ERR_SIGNATURE_UNTRUSTED);

    expect(Model::open(&plain, &trusted), MLE_ERR_SIGNATURE_REQUIRED);
    // Unsigned opens with trusted keys unless a signature is required.
    same(&run(&Model::open(&plain, &OpenOptions::new().trusted_key(&pem)).unwrap()), &want);
    // A required signature needs keys to check it against.
    expect(Model::open(&signed, &OpenOptions::new().require_signature(true)), MLE_ERR_INVALID_OPTIONS);
    // Not a key at all.
    expect(Model::open(&signed, &OpenOptions::new().trusted_key(b"not a key")), MLE_ERR_KEY_INVALID);

    // Signing in place.
    let in_place = dir.join("in-place.mle");
    std::fs::copy(&plain, &in_place).unwrap();
    mle::sign_file(&in_place, None, &std::fs::read(&sk).unwrap()).unwrap();
    same(&run(&Model::open(&in_place, &trusted).unwrap()), &want);
}

#[test]
fn encrypted_models() {
    let (dir, plain, want) = setup("encrypted");
    let enc = dir.join("enc.mle");
    mle::encrypt_file(&plain, Some(&enc), &KEY).unwrap();

    let none = OpenOptions::default();
    let e = expect(Model::open(&enc, &none), MLE_ERR_KEY_REQUIRED);
    assert_eq!(e.kind(), ErrorKind::Security);
    expect(Model::open(&enc, &OpenOptions::new().key(&OTHER_KEY)), MLE_ERR_KEY_WRONG);
    expect(Model::open(&enc, &OpenOptions::new().key(&KEY[..31])), MLE_ERR_KEY_INVALID);

    let keyed = OpenOptions::new().key(&KEY);
    same(&run(&Model::open(&enc, &keyed).unwrap()), &want);
    same(&run(&Model::open(&enc, &keyed.clone().read_all(true)).unwrap()), &want);
    let bytes = std::fs::read(&enc).unwrap();
    expect(Model::open_memory(&bytes, &none), MLE_ERR_KEY_REQUIRED);
    expect(Model::open_memory(&bytes, &OpenOptions::new().key(&OTHER_KEY)), MLE_ERR_KEY_WRONG);
    same(&run(&Model::open_memory(&bytes, &keyed).unwrap()), &want);
    // The key never shows in Debug output.
    let dbg = format!("{keyed:?}");
    assert!(!dbg.contains("90, 90"), "{dbg}");

    // decrypt_file restores the plain model; another key is refused.
    let dec = dir.join("dec.mle");
    let err = mle::decrypt_file(&enc, Some(&dec), &OTHER_KEY).unwrap_err();
    assert_eq!(err.status(), MLE_ERR_KEY_WRONG, "{err}");
    mle::decrypt_file(&enc, Some(&dec), &KEY).unwrap();
    same(&run(&Model::open(&dec, &none).unwrap()), &want);
    // In place, both ways.
    mle::encrypt_file(&dec, None, &KEY).unwrap();
    expect(Model::open(&dec, &none), MLE_ERR_KEY_REQUIRED);
    mle::decrypt_file(&dec, None, &KEY).unwrap();
    same(&run(&Model::open(&dec, &none).unwrap()), &want);

    let err = mle::encrypt_file(&plain, Some(&dir.join("x.mle")), &KEY[..31]).unwrap_err();
    assert_eq!(err.status(), MLE_ERR_KEY_INVALID, "{err}");
}

#[test]
fn signed_then_encrypted() {
    let (dir, plain, want) = setup("both");
    let (sk, pk) = mle::keygen(dir.join("signer")).unwrap();
    let (_, other_pk) = mle::keygen(dir.join("other")).unwrap();
    let file = dir.join("both.mle");
    mle::sign_file(&plain, Some(&file), &std::fs::read(&sk).unwrap()).unwrap();
    mle::encrypt_file(&file, None, &KEY).unwrap();

    let pem = std::fs::read(&pk).unwrap();
    let all = OpenOptions::new().key(&KEY).trusted_key(&pem).require_signature(true);
    same(&run(&Model::open(&file, &all).unwrap()), &want);
    expect(Model::open(&file, &OpenOptions::new().trusted_key(&pem)), MLE_ERR_KEY_REQUIRED);
    let wrong_signer =
        OpenOptions::new().key(&KEY).trusted_key(&std::fs::read(&other_pk).unwrap()).require_signature(true);
    expect(Model::open(&file, &wrong_signer), MLE_ERR_SIGNATURE_UNTRUSTED);
    // Encrypted files are refused for signing: sign first, then encrypt.
    assert!(mle::sign_file(&file, Some(&dir.join("again.mle")), &std::fs::read(&sk).unwrap()).is_err());
}
