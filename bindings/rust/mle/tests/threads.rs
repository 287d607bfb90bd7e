//! One Model shared by 8 threads, each with its own Session, 1,000 runs each:
//! every output must equal a single-threaded reference. Plus the compile-time
//! thread-safety mapping of mle.h.

mod support;

use std::sync::Arc;

use mle::{Builder, Model, OpenOptions, Session, Tensor, TensorView};

// Compile-time checks: a Model is shareable, a Session and a Builder move
// between threads (one user at a time). That Session is *not* Sync is a
// compile_fail doctest on `mle::Session`.
fn assert_send<T: Send>() {}
fn assert_sync<T: Sync>() {}
#[allow(dead_code)]
fn static_assertions() {
    assert_send::<Model>();
    assert_sync::<Model>();
    assert_send::<Arc<Model>>();
    assert_send::<Session>();
    assert_send::<Builder>();
    assert_send::<Tensor>();
    assert_sync::<Tensor>();
    assert_send::<mle::Error>();
    assert_sync::<mle::Error>();
}

const THREADS: usize = 8;
const RUNS: usize = 1_000;

/// An input batch: shape and float32 bytes.
type Batch = (Vec<i64>, Vec<u8>);

/// The mlp_classifier model and the inputs of its manifest runs.
fn mlp_and_inputs() -> (Model, Vec<Batch>) {
    let (dir, manifest) = support::manifest();
    let case = manifest["cases"]
        .as_array()
        .iter()
        .find(|c| c["name"].as_str() == Some("mlp_classifier"))
        .expect("mlp_classifier in the conformance manifest");
    let model = Model::open(dir.join(case["model"].as_str().unwrap()), &OpenOptions::default()).expect("open");
    let inputs = case["runs"]
        .as_array()
        .iter()
        .map(|r| {
            let t = &r["inputs"].as_array()[0];
            (t["shape"].as_i64_vec().unwrap(), support::read_tensor_bytes(&dir, t).unwrap())
        })
        .collect();
    (model, inputs)
}

fn run(session: &mut Session, shape: &[i64], data: &[u8]) -> Vec<Tensor> {
    let x = TensorView::from_bytes(mle::DType::F32, shape, data).named("features");
    session.run(&[x]).expect("run")
}

#[test]
fn one_model_eight_threads() {
    let (model, inputs) = mlp_and_inputs();
    assert!(inputs.len() >= 2);
    let model = Arc::new(model);

    // Single-threaded reference for every input.
    let mut s = model.session().unwrap();
    let reference: Arc<Vec<Vec<Tensor>>> =
        Arc::new(inputs.iter().map(|(shape, data)| run(&mut s, shape, data)).collect());
    drop(s);
    let inputs = Arc::new(inputs);

    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (model, inputs, reference) = (Arc::clone(&model), Arc::clone(&inputs), Arc::clone(&reference));
            std::thread::spawn(move || {
                let mut session = model.session().expect("session");
                for i in 0..RUNS {
                    // Vary the batch shape between runs (threads start at different offsets).
                    let k = (i + t) % inputs.len();
                    let (shape, data) = &inputs[k];
                    let got = run(&mut session, shape, data);
                    assert_eq!(got, reference[k], "thread {t}, run {i}: outputs differ from the reference");
                }
                RUNS
            })
        })
        .collect();
    let total: usize = handles.into_iter().map(|h| h.join().expect("a thread panicked")).sum();
    assert_eq!(total, THREADS * RUNS);
}

#[test]
fn model_shared_by_reference_with_scoped_threads() {
    let (model, inputs) = mlp_and_inputs();
    let (shape, data) = &inputs[1];
    let want = run(&mut model.session().unwrap(), shape, data);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                // &Model crosses threads (Model: Sync); the metadata calls run concurrently too.
                let mut session = model.session().unwrap();
                for _ in 0..50 {
                    assert!(model.metadata().unwrap().contains("mlp_classifier"));
                    assert_eq!(run(&mut session, shape, data), want);
                }
            });
        }
    });
}

#[test]
fn session_moves_to_another_thread() {
    let (model, inputs) = mlp_and_inputs();
    let (shape, data) = inputs[1].clone();
    let mut session = model.session().unwrap();
    let want = run(&mut session, &shape, &data);
    drop(model); // the session keeps the model's data alive
    let got = std::thread::spawn(move || run(&mut session, &shape, &data)).join().unwrap();
    assert_eq!(got, want);
}
