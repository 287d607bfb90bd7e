//! Stopping runs (mle.h: mle_session_run_opts, mle_model_run): timeouts, a
//! cancel flag set from another thread or before the run, runs waiting for a
//! pooled session, and the session after a stop. The workload is the
//! conformance suite's slow_matmul: Y = A·B for any sizes.

mod support;

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use mle::status::*;
use mle::{ErrorKind, Model, ModelOptions, OpenOptions, RunOptions, Session, Tensor, TensorView};

/// A multiplication of two n×n matrices of ones (every result is n).
struct Big {
    n: usize,
    ones: Vec<f32>,
    /// How long one uncancelled run takes on this machine, now.
    full: Duration,
}

impl Big {
    fn inputs(&self) -> [TensorView<'_>; 2] {
        let n = self.n as i64;
        [TensorView::from_f32(&self.ones, &[n, n]).named("A"), TensorView::from_f32(&self.ones, &[n, n]).named("B")]
    }

    /// Asserts that a run stopped `after` its trigger took well under a full run.
    fn assert_stopped_early(&self, took: Duration, after: Duration, what: &str) {
        assert!(
            took < after + self.full / 2,
            "{what}: took {took:?}; an uncancelled {n}x{n} run takes {:?}",
            self.full,
            n = self.n
        );
    }
}

fn model() -> Model {
    let path = support::conformance_dir().join("models/slow_matmul.mle");
    Model::open(&path, &OpenOptions::default()).unwrap()
}

fn session() -> Session {
    model().session().unwrap()
}

fn check_product(out: &[Tensor], n: usize) {
    assert_eq!((out.len(), out[0].name(), out[0].shape()), (1, "Y", &[n as i64, n as i64][..]));
    let y = out[0].as_f32().unwrap();
    assert!(y.iter().all(|&v| v == n as f32), "A·B of ones is {n} everywhere");
}

/// Timing tests run one at a time: concurrent runs would share the CPUs.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The workload, sized so that a full run takes at least 250 ms here (2048
/// is about a second on a small machine; a fast one gets 4096).
fn big() -> &'static Big {
    static BIG: OnceLock<Big> = OnceLock::new();
    BIG.get_or_init(|| {
        let mut s = session();
        let mut n = 2048;
        loop {
            let mut big = Big { n, ones: vec![1.0; n * n], full: Duration::ZERO };
            let t0 = Instant::now();
            let out = s.run(&big.inputs()).unwrap();
            big.full = t0.elapsed();
            check_product(&out, n);
            if big.full >= Duration::from_millis(250) || n >= 4096 {
                assert!(big.full >= Duration::from_millis(100), "{n}x{n} took only {:?}", big.full);
                return big;
            }
            n *= 2;
        }
    })
}

/// A small product through the same session, to show it still works.
fn small_run(s: &mut Session, opts: &RunOptions<'_>) {
    let (a, b) = ([1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], [1.0f32, 0.0, 0.0, 1.0, 1.0, 1.0]);
    let inputs = [TensorView::from_f32(&a, &[2, 3]).named("A"), TensorView::from_f32(&b, &[3, 2]).named("B")];
    let out = s.run_with(&inputs, opts).unwrap();
    assert_eq!(out[0].as_f32().unwrap(), &[4.0, 5.0, 10.0, 11.0]);
    let out = s.run_named_with(&inputs, &["Y"], opts).unwrap();
    assert_eq!(out[0].as_f32().unwrap(), &[4.0, 5.0, 10.0, 11.0]);
}

#[test]
fn timeout_stops_a_long_run() {
    let _serial = serial();
    let big = big();
    let mut s = session();
    let limit = Duration::from_millis(10);
    let t0 = Instant::now();
    let e = s.run_with(&big.inputs(), &RunOptions::new().timeout(limit)).unwrap_err();
    let took = t0.elapsed();
    assert_eq!(e.status(), MLE_ERR_CANCELLED_DEADLINE, "{e}");
    assert_eq!((e.primary(), e.kind()), (MLE_ERR_CANCELLED, ErrorKind::Timeout));
    assert_eq!(e.status(), 272);
    assert!(took >= limit, "stopped after {took:?}, before its timeout");
    big.assert_stopped_early(took, limit, "10 ms timeout");

    // A zero timeout is already past, not "no limit".
    let e = s.run_with(&big.inputs(), &RunOptions::new().timeout(Duration::ZERO)).unwrap_err();
    assert_eq!(e.status(), MLE_ERR_CANCELLED_DEADLINE, "{e}");

    // The session works after a stop, and a timeout that is not reached
    // changes nothing.
    small_run(&mut s, &RunOptions::new().timeout(Duration::from_secs(60)));
    small_run(&mut s, &RunOptions::new().timeout(Duration::MAX));
}

#[test]
fn cancel_from_another_thread() {
    let _serial = serial();
    let big = big();
    let mut s = session();
    let flag = AtomicI32::new(0);
    let delay = Duration::from_millis(50);
    let t0 = Instant::now();
    let result = std::thread::scope(|scope| {
        scope.spawn(|| {
            std::thread::sleep(delay);
            flag.store(1, Ordering::Relaxed);
        });
        s.run_with(&big.inputs(), &RunOptions::new().cancel(&flag))
    });
    let took = t0.elapsed();
    let e = result.unwrap_err();
    assert_eq!((e.status(), e.primary(), e.kind()), (MLE_ERR_CANCELLED, MLE_ERR_CANCELLED, ErrorKind::Cancelled));
    assert_eq!(e.status(), 16, "{e}");
    assert!(took >= delay, "cancelled after {took:?}, before the flag was set");
    big.assert_stopped_early(took, delay, "cancelled after 50 ms");
    assert_eq!(flag.load(Ordering::Relaxed), 1, "the library never writes the flag");

    // Cleared, the same flag lets runs through.
    flag.store(0, Ordering::Relaxed);
    small_run(&mut s, &RunOptions::new().cancel(&flag));
}

#[test]
fn flag_set_before_the_run() {
    let _serial = serial();
    let big = big();
    let mut s = session();
    let flag = AtomicI32::new(1);
    let t0 = Instant::now();
    let e = s.run_with(&big.inputs(), &RunOptions::new().cancel(&flag)).unwrap_err();
    let took = t0.elapsed();
    assert_eq!((e.status(), e.kind()), (MLE_ERR_CANCELLED, ErrorKind::Cancelled), "{e}");
    assert!(took < big.full / 10, "took {took:?} of a {:?} run: it did work", big.full);

    // Any non-zero value counts, also together with a timeout, and even a
    // tiny run does nothing.
    flag.store(-7, Ordering::Relaxed);
    let opts = RunOptions::new().cancel(&flag).timeout(Duration::from_secs(60));
    let (a, b) = ([1.0f32; 6], [1.0f32; 6]);
    let small = [TensorView::from_f32(&a, &[2, 3]).named("A"), TensorView::from_f32(&b, &[3, 2]).named("B")];
    assert_eq!(s.run_with(&small, &opts).unwrap_err().status(), MLE_ERR_CANCELLED);
    assert_eq!(s.run_named_with(&small, &["Y"], &opts).unwrap_err().status(), MLE_ERR_CANCELLED);
    flag.store(0, Ordering::Relaxed);
    small_run(&mut s, &opts);
}

#[test]
fn default_options_run_normally() {
    let _serial = serial();
    let mut s = session();
    small_run(&mut s, &RunOptions::default());
    let opts = RunOptions::new();
    assert_eq!((opts.timeout, opts.cancel.is_none()), (None, true));
}

#[test]
fn model_run_stops_like_a_session_run() {
    let _serial = serial();
    let big = big();
    let model = model();
    let limit = Duration::from_millis(10);
    let t0 = Instant::now();
    let e = model.run_with(&big.inputs(), &RunOptions::new().timeout(limit)).unwrap_err();
    let took = t0.elapsed();
    assert_eq!((e.status(), e.kind()), (MLE_ERR_CANCELLED_DEADLINE, ErrorKind::Timeout), "{e}");
    big.assert_stopped_early(took, limit, "Model::run_with, 10 ms timeout");
    let flag = AtomicI32::new(1);
    let e = model.run_named_with(&big.inputs(), &["Y"], &RunOptions::new().cancel(&flag)).unwrap_err();
    assert_eq!(e.status(), MLE_ERR_CANCELLED, "{e}");
}

#[test]
fn waiting_for_the_one_session_stops_at_timeout_and_flag() {
    let _serial = serial();
    let big = big();
    let model = model();
    model.set_options(&ModelOptions::new().max_sessions(1)).unwrap();
    let (a, b) = ([1.0f32; 6], [1.0f32; 6]);
    let small = [TensorView::from_f32(&a, &[2, 3]).named("A"), TensorView::from_f32(&b, &[3, 2]).named("B")];
    let hold = AtomicI32::new(0);
    let started = AtomicI32::new(0);
    std::thread::scope(|scope| {
        // Holds the one session until `hold` is set.
        let busy = scope.spawn(|| {
            started.store(1, Ordering::Relaxed);
            model.run_with(&big.inputs(), &RunOptions::new().cancel(&hold))
        });
        while started.load(Ordering::Relaxed) == 0 {
            std::thread::yield_now();
        }
        std::thread::sleep(Duration::from_millis(20)); // it has the session by now

        let limit = Duration::from_millis(50);
        let t0 = Instant::now();
        let e = model.run_with(&small, &RunOptions::new().timeout(limit)).unwrap_err();
        let took = t0.elapsed();
        assert_eq!((e.status(), e.kind()), (MLE_ERR_CANCELLED_DEADLINE, ErrorKind::Timeout), "{e}");
        assert!(took >= limit, "gave up waiting after {took:?}, before its timeout");
        big.assert_stopped_early(took, limit, "waiting with a 50 ms timeout");

        let flag = AtomicI32::new(0);
        let t0 = Instant::now();
        let e = std::thread::scope(|inner| {
            inner.spawn(|| {
                std::thread::sleep(limit);
                flag.store(1, Ordering::Relaxed);
            });
            model.run_with(&small, &RunOptions::new().cancel(&flag))
        })
        .unwrap_err();
        let took = t0.elapsed();
        assert_eq!((e.status(), e.kind()), (MLE_ERR_CANCELLED, ErrorKind::Cancelled), "{e}");
        big.assert_stopped_early(took, limit, "waiting, cancelled after 50 ms");

        // Raising the bound lets a waiting run in.
        model.set_options(&ModelOptions::new().max_sessions(2)).unwrap();
        let out = model.run_with(&small, &RunOptions::new().timeout(Duration::from_secs(60))).unwrap();
        assert_eq!(out[0].as_f32().unwrap(), &[3.0; 4]);

        hold.store(1, Ordering::Relaxed);
        assert_eq!(busy.join().unwrap().unwrap_err().status(), MLE_ERR_CANCELLED);
    });
    model.set_options(&ModelOptions::new().max_sessions(1)).unwrap();
    assert_eq!(model.run(&small).unwrap()[0].as_f32().unwrap(), &[3.0; 4]);
}
