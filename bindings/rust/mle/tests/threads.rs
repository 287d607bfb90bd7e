//! One Model shared by 8 threads, each with its own Session, 1,000 runs each,
//! and 8 threads calling Model::run on one model (the library's session pool):
//! every output must equal a single-threaded reference. Plus the compile-time
//! thread-safety mapping of mle.h.

mod support;

use std::sync::Arc;

use mle::{Builder, Model, ModelOptions, OpenOptions, Session, Tensor, TensorView};

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
fn model_run_from_eight_threads() {
    let (model, inputs) = mlp_and_inputs();
    let mut s = model.session().unwrap();
    let reference: Vec<Vec<Tensor>> = inputs.iter().map(|(shape, data)| run(&mut s, shape, data)).collect();
    drop(s);
    let view = |k: usize| TensorView::from_bytes(mle::DType::F32, &inputs[k].0, &inputs[k].1).named("features");

    // The default bound (one session per CPU), then fewer sessions than
    // threads (most calls wait for one), then one.
    for bound in [0, 2, 1] {
        model.set_options(&ModelOptions::new().max_sessions(bound)).unwrap();
        std::thread::scope(|scope| {
            for t in 0..THREADS {
                let (model, reference, view) = (&model, &reference, &view);
                scope.spawn(move || {
                    for i in 0..RUNS / 5 {
                        let k = (i + t) % reference.len();
                        let got = model.run(&[view(k)]).expect("Model::run");
                        assert_eq!(got, reference[k], "max_sessions {bound}, thread {t}, run {i}");
                        if i % 50 == 0 {
                            let label = model.run_named(&[view(k)], &["label"]).expect("Model::run_named");
                            let want: Vec<&Tensor> = reference[k].iter().filter(|o| o.name() == "label").collect();
                            assert_eq!(label.iter().collect::<Vec<_>>(), want);
                        }
                    }
                });
            }
            // Changing the options while runs are in flight is allowed.
            scope.spawn(|| {
                for spin in [-1, 0, 50] {
                    model.set_options(&ModelOptions::new().max_sessions(bound).spin_us(spin)).unwrap();
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
            });
        });
    }
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
