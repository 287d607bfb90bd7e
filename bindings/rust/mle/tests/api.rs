//! The safe API end to end: builder round trip, errors, metadata,
//! open_memory, output subsets by name, drop order.

mod support;

use mle::status::*;
use mle::{Builder, DType, ErrorKind, Model, ModelOptions, OpenOptions, SessionOptions, TensorView};
use support::{Json, TempDir};

const W: [f32; 6] = [0.5, -1.0, 2.0, 0.25, -0.5, 1.5]; // [3, 2]
const B: [f32; 2] = [0.1, -0.2];
const ALPHA: f32 = 2.0; // Gemm alpha
const LEAK: f32 = 0.1; // LeakyRelu alpha

/// X [-1, 3] f32 →
///   lin   = Gemm(X, W, B; alpha = 2)        (named node "fc")
///   act   = LeakyRelu(lin; alpha = 0.1)     output
///   label = ArgMax(lin; axis 1, keepdims 0) output
///   total = ReduceSum(act; axes [1], keepdims 0) output
///   g     = Gelu(X; approximate "tanh")     output
fn build() -> Builder {
    let mut b = Builder::new().unwrap();
    b.set_metadata_json(
        r#"{"name": "rust-roundtrip", "version": "1.2.3", "description": "built by tests/api.rs",
            "producer": {"name": "mle-rust-tests", "version": "0.1.0"}, "properties": {"k": "v"}}"#,
    )
    .unwrap()
    .add_input("X", DType::F32, &[-1, 3])
    .unwrap()
    .add_tensor("W", &[3, 2], &W)
    .unwrap()
    .add_tensor_bytes("B", DType::F32, &[2], &B.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>())
    .unwrap();
    let fc = b.add_named_node("Gemm", "fc", &["X", "W", "B"], &["lin"]).unwrap();
    b.set_attr_float(fc, "alpha", ALPHA as f64).unwrap().set_attr_int(fc, "transB", 0).unwrap();
    let leaky = b.add_node("LeakyRelu", &["lin"], &["act"]).unwrap();
    b.set_attr_float(leaky, "alpha", LEAK as f64).unwrap();
    let am = b.add_node("ArgMax", &["lin"], &["label"]).unwrap();
    b.set_attr_int(am, "axis", 1).unwrap().set_attr_int(am, "keepdims", 0).unwrap();
    let rs = b.add_node("ReduceSum", &["act"], &["total"]).unwrap();
    b.set_attr_ints(rs, "axes", &[1]).unwrap().set_attr_int(rs, "keepdims", 0).unwrap();
    let g = b.add_node("Gelu", &["X"], &["g"]).unwrap();
    b.set_attr_string(g, "approximate", "tanh").unwrap();
    for out in ["act", "label", "total", "g"] {
        b.add_output(out).unwrap();
    }
    b
}

const X: [f32; 6] = [1.0, 2.0, 3.0, -1.0, 0.5, -2.0]; // [2, 3]

/// The reference outputs of `build()` for X, in f64: (act, label, total, g).
fn reference(x: &[f32]) -> (Vec<f64>, Vec<i64>, Vec<f64>, Vec<f64>) {
    let rows = x.len() / 3;
    let (mut act, mut label, mut total) = (vec![], vec![], vec![]);
    for r in 0..rows {
        let lin: Vec<f64> = (0..2)
            .map(|j| {
                let dot: f64 = (0..3).map(|k| x[r * 3 + k] as f64 * W[k * 2 + j] as f64).sum();
                ALPHA as f64 * dot + B[j] as f64
            })
            .collect();
        let a: Vec<f64> = lin.iter().map(|&v| if v >= 0.0 { v } else { LEAK as f64 * v }).collect();
        label.push(if lin[1] > lin[0] { 1 } else { 0 });
        total.push(a.iter().sum());
        act.extend(a);
    }
    let c = (2.0 / std::f64::consts::PI).sqrt();
    let g =
        x.iter().map(|&v| 0.5 * v as f64 * (1.0 + (c * (v as f64 + 0.044715 * (v as f64).powi(3))).tanh())).collect();
    (act, label, total, g)
}

fn close(got: &[f32], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!((g as f64 - w).abs() <= 1e-5 * (1.0 + w.abs()), "{what}[{i}] = {g}, want {w}");
    }
}

fn check_outputs(outs: &[mle::Tensor], x: &[f32]) {
    let rows = (x.len() / 3) as i64;
    let (act, label, total, g) = reference(x);
    let names: Vec<&str> = outs.iter().map(|t| t.name()).collect();
    assert_eq!(names, ["act", "label", "total", "g"]);
    assert_eq!((outs[0].dtype(), outs[0].shape()), (DType::F32, &[rows, 2][..]));
    assert_eq!((outs[1].dtype(), outs[1].shape()), (DType::I64, &[rows][..]));
    assert_eq!((outs[2].dtype(), outs[2].shape()), (DType::F32, &[rows][..]));
    assert_eq!((outs[3].dtype(), outs[3].shape()), (DType::F32, &[rows, 3][..]));
    close(outs[0].as_f32().unwrap(), &act, "act");
    assert_eq!(outs[1].as_i64().unwrap(), &label[..]);
    assert_eq!(outs[1].to_vec_i64().unwrap(), label);
    assert!(outs[1].as_f32().is_none() && outs[0].as_i64().is_none(), "typed access checks the dtype");
    close(&outs[2].to_vec_f32().unwrap(), &total, "total");
    close(outs[3].as_f32().unwrap(), &g, "g");
}

#[test]
fn builder_round_trip() {
    let dir = TempDir::new("roundtrip");
    let path = dir.join("model.mle");
    let written = build().save(&path).unwrap();
    assert_eq!(written, std::fs::metadata(&path).unwrap().len());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "save leaves no temporary files");
    // Without the fsyncs: the same bytes.
    let unsynced = dir.join("unsynced.mle");
    assert_eq!(build().save_unsynced(&unsynced).unwrap(), written);
    assert_eq!(std::fs::read(&unsynced).unwrap().len() as u64, written);
    std::fs::remove_file(&unsynced).unwrap();

    for opts in [OpenOptions::default(), OpenOptions::new().verify(true).read_all(true).threads(1)] {
        let model = Model::open(&path, &opts).unwrap();
        let inputs = model.inputs().unwrap();
        assert_eq!(inputs, [mle::IoInfo { name: "X".into(), dtype: DType::F32, shape: vec![-1, 3] }]);
        let outputs = model.outputs().unwrap();
        let sig: Vec<(&str, DType, &[i64])> =
            outputs.iter().map(|o| (o.name.as_str(), o.dtype, &o.shape[..])).collect();
        assert_eq!(
            sig,
            [
                ("act", DType::F32, &[-1, 2][..]),
                ("label", DType::I64, &[-1][..]),
                ("total", DType::F32, &[-1][..]),
                ("g", DType::F32, &[-1, 3][..])
            ]
        );
        let mut s = model.session().unwrap();
        for x in [&X[..], &X[..3], &[][..], &X[..]] {
            let rows = (x.len() / 3) as i64;
            check_outputs(&s.run(&[TensorView::from_f32(x, &[rows, 3]).named("X")]).unwrap(), x);
        }
        // By position (no name).
        check_outputs(&s.run(&[TensorView::new(&X[..], &[2, 3])]).unwrap(), &X);
    }
}

#[test]
fn serialize_and_open_memory() {
    let bytes = build().serialize().unwrap();
    assert!(bytes.len() > 64);
    let mut copy = bytes.clone();
    let model = Model::open_memory(&copy, &OpenOptions::default().verify(true)).unwrap();
    copy.iter_mut().for_each(|b| *b = 0); // the library copied the bytes
    drop(copy);
    let outs = model.session().unwrap().run(&[TensorView::from_f32(&X, &[2, 3]).named("X")]).unwrap();
    check_outputs(&outs, &X);

    // Garbage and truncated buffers fail like files do.
    let e = Model::open_memory(&[7u8; 100], &OpenOptions::default()).unwrap_err();
    assert_eq!((e.status(), e.kind()), (MLE_ERR_FORMAT_BAD_MAGIC, ErrorKind::Format));
    let e = Model::open_memory(&bytes[..bytes.len() / 2], &OpenOptions::default()).unwrap_err();
    assert_eq!(e.status(), MLE_ERR_FORMAT_TRUNCATED);
    let e = Model::open_memory(&[], &OpenOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Format, "{e}");
}

#[test]
fn metadata_json() {
    let model = Model::open_memory(&build().serialize().unwrap(), &OpenOptions::default()).unwrap();
    let text = model.metadata().unwrap();
    let meta = Json::parse(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(meta["name"].as_str(), Some("rust-roundtrip"));
    assert_eq!(meta["version"].as_str(), Some("1.2.3"));
    assert_eq!(meta["description"].as_str(), Some("built by tests/api.rs"));
    assert_eq!(meta["producer"]["name"].as_str(), Some("mle-rust-tests"));
    assert_eq!(meta["properties"]["k"].as_str(), Some("v"));
    assert_eq!(meta["inputs"].as_array().len(), 1, "{text}");
    assert_eq!(meta["outputs"].as_array().len(), 4, "{text}");
}

#[test]
fn output_subset_by_name() {
    let model = Model::open_memory(&build().serialize().unwrap(), &OpenOptions::default()).unwrap();
    let mut s = model.session().unwrap();
    let x = [TensorView::from_f32(&X, &[2, 3]).named("X")];
    let all = s.run(&x).unwrap();

    let one = s.run_named(&x, &["label"]).unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0], all[1]);

    let two = s.run_named(&x, &["g", "act"]).unwrap();
    assert_eq!((two[0].name(), two[1].name()), ("g", "act"));
    assert_eq!((&two[0], &two[1]), (&all[3], &all[0]));

    let e = s.run_named(&x, &["nope"]).unwrap_err();
    assert_eq!((e.status(), e.kind()), (MLE_ERR_INVALID_NAME, ErrorKind::InvalidArgument));
    let e = s.run_named(&x, &[]).unwrap_err();
    assert_eq!(e.status(), MLE_ERR_INVALID_VALUE, "{e}");
    let e = s.run_named(&x, &["la\0bel"]).unwrap_err();
    assert_eq!(e.status(), MLE_ERR_INVALID_VALUE);
    // Errors leave the session usable.
    assert_eq!(s.run(&x).unwrap(), all);
}

#[test]
fn open_errors() {
    let dir = TempDir::new("errors");
    let e = Model::open(dir.join("no-such-file.mle"), &OpenOptions::default()).unwrap_err();
    assert_eq!(e.status(), MLE_ERR_IO_OPEN, "{e}");
    assert_eq!((e.primary(), e.kind()), (MLE_ERR_IO, ErrorKind::Io));
    assert_eq!(e.status_name(), "MLE_ERR_IO_OPEN");
    assert_eq!(e.primary_name(), "MLE_ERR_IO");
    assert!(e.message().contains("no-such-file.mle"), "message names the file: {e}");
    assert!(e.to_string().starts_with("MLE_ERR_IO_OPEN (259): "), "{e}");
    let as_dyn: Box<dyn std::error::Error + Send + Sync> = Box::new(e);
    assert!(as_dyn.to_string().contains("MLE_ERR_IO_OPEN"));

    let e = Model::open("bad\0path.mle", &OpenOptions::default()).unwrap_err();
    assert_eq!((e.status(), e.kind()), (MLE_ERR_INVALID_VALUE, ErrorKind::InvalidArgument));

    let path = dir.join("m.mle");
    build().save(&path).unwrap();
    let e = Model::open(&path, &OpenOptions::default().device(mle::Device::Cuda)).unwrap_err();
    assert_eq!((e.status(), e.kind()), (MLE_ERR_UNSUPPORTED_DEVICE, ErrorKind::Unsupported));
    let e = Model::open(&path, &OpenOptions::default().threads(-1)).unwrap_err();
    assert_eq!(e.status(), MLE_ERR_INVALID_OPTIONS);

    // One flipped weight byte: found by verify only.
    let mut bytes = std::fs::read(&path).unwrap();
    let w: Vec<u8> = W.iter().flat_map(|v| v.to_le_bytes()).collect();
    let at = bytes.windows(w.len()).position(|win| win == w).expect("W's bytes in the file");
    bytes[at + 5] ^= 0x10;
    std::fs::write(&path, &bytes).unwrap();
    let e = Model::open(&path, &OpenOptions::default().verify(true)).unwrap_err();
    assert_eq!((e.status(), e.kind()), (MLE_ERR_CHECKSUM_TENSOR, ErrorKind::Checksum));
    assert!(Model::open(&path, &OpenOptions::default()).is_ok());
}

#[test]
fn run_errors() {
    let model = Model::open_memory(&build().serialize().unwrap(), &OpenOptions::default()).unwrap();
    let mut s = model.session().unwrap();
    let xd: Vec<f64> = X.iter().map(|&v| v as f64).collect();

    let e = s.run(&[TensorView::from_f64(&xd, &[2, 3]).named("X")]).unwrap_err();
    assert_eq!((e.status(), e.kind()), (MLE_ERR_DTYPE, ErrorKind::DType), "{e}");
    assert_eq!(e.status(), 10);
    let e = s.run(&[TensorView::from_f32(&X, &[3, 2]).named("X")]).unwrap_err();
    assert_eq!((e.status(), e.kind()), (MLE_ERR_SHAPE, ErrorKind::Shape), "{e}");
    let e = s.run(&[TensorView::from_f32(&X, &[6]).named("X")]).unwrap_err();
    assert_eq!(e.status(), MLE_ERR_SHAPE, "wrong rank: {e}");
    let e = s.run(&[TensorView::from_f32(&X, &[1, 1, 1, 1, 1, 1, 1, 2, 3]).named("X")]).unwrap_err();
    assert_eq!(e.status(), MLE_ERR_SHAPE, "rank 9: {e}");
    let e = s.run(&[TensorView::from_f32(&X[..5], &[2, 3]).named("X")]).unwrap_err();
    assert_eq!(e.status(), MLE_ERR_INVALID_VALUE, "too few bytes: {e}");
    let e = s.run(&[TensorView::from_f32(&X, &[2, 3]).named("Y")]).unwrap_err();
    assert_eq!(e.status(), MLE_ERR_INVALID_NAME, "{e}");
    let e = s.run(&[TensorView::from_f32(&X, &[2, 3]).named("X\0")]).unwrap_err();
    assert_eq!(e.status(), MLE_ERR_INVALID_VALUE, "{e}");
    let e = s.run(&[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "no inputs: {e}");
    let x = TensorView::from_f32(&X, &[2, 3]).named("X");
    let e = s.run(&[x.clone(), x.clone()]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "two inputs: {e}");
    // The session still works after every error.
    check_outputs(&s.run(&[x]).unwrap(), &X);
}

#[test]
fn arena_limit() {
    let bytes = build().serialize().unwrap();
    let model = Model::open_memory(&bytes, &OpenOptions::default().max_arena_bytes(64)).unwrap();
    let mut s = model.session().unwrap();
    let big = vec![0.5f32; 3 * 10_000];
    let e = s.run(&[TensorView::from_f32(&big, &[10_000, 3]).named("X")]).unwrap_err();
    assert_eq!((e.status(), e.primary(), e.kind()), (MLE_ERR_NO_MEMORY_LIMIT, MLE_ERR_NO_MEMORY, ErrorKind::NoMemory));
    assert_eq!(e.status(), 269, "{e}");
    // Refused before anything ran: the session still works within the cap.
    let model = Model::open_memory(&bytes, &OpenOptions::default().max_arena_bytes(1 << 20)).unwrap();
    let mut s = model.session().unwrap();
    check_outputs(&s.run(&[TensorView::from_f32(&X, &[2, 3]).named("X")]).unwrap(), &X);
    let huge = vec![0.5f32; 3 * 100_000];
    let e = s.run(&[TensorView::from_f32(&huge, &[100_000, 3]).named("X")]).unwrap_err();
    assert_eq!(e.status(), MLE_ERR_NO_MEMORY_LIMIT, "100,000 rows of outputs need 4 MB: {e}");
    check_outputs(&s.run(&[TensorView::from_f32(&X, &[2, 3]).named("X")]).unwrap(), &X);
    let e = Model::open_memory(&bytes, &OpenOptions::default().max_arena_bytes(-1)).unwrap_err();
    assert_eq!(e.status(), MLE_ERR_INVALID_OPTIONS, "{e}");
}

#[test]
fn model_run_and_its_errors() {
    let model = Model::open_memory(&build().serialize().unwrap(), &OpenOptions::default()).unwrap();
    let x = [TensorView::from_f32(&X, &[2, 3]).named("X")];
    check_outputs(&model.run(&x).unwrap(), &X);
    check_outputs(&model.run(&[TensorView::new(&X[..], &[2, 3])]).unwrap(), &X); // by position
    check_outputs(
        &model.run_with(&x, &mle::RunOptions::new().timeout(std::time::Duration::from_secs(60))).unwrap(),
        &X,
    );
    let mut s = model.session().unwrap();
    let subset = model.run_named(&x, &["total", "act"]).unwrap();
    assert_eq!(subset, s.run_named(&x, &["total", "act"]).unwrap());
    let flag = std::sync::atomic::AtomicI32::new(1);
    let e = model.run_named_with(&x, &["label"], &mle::RunOptions::new().cancel(&flag)).unwrap_err();
    assert_eq!((e.status(), e.kind()), (MLE_ERR_CANCELLED, ErrorKind::Cancelled), "{e}");

    let xd: Vec<f64> = X.iter().map(|&v| v as f64).collect();
    let e = model.run(&[TensorView::from_f64(&xd, &[2, 3]).named("X")]).unwrap_err();
    assert_eq!(e.status(), MLE_ERR_DTYPE, "{e}");
    let e = model.run(&[TensorView::from_f32(&X, &[2, 3]).named("Y")]).unwrap_err();
    assert_eq!(e.status(), MLE_ERR_INVALID_NAME, "{e}");
    let e = model.run_named(&x, &["nope"]).unwrap_err();
    assert_eq!(e.status(), MLE_ERR_INVALID_NAME, "{e}");
    let e = model.run(&[TensorView::from_f32(&X, &[1, 1, 1, 1, 1, 1, 1, 2, 3]).named("X")]).unwrap_err();
    assert_eq!(e.status(), MLE_ERR_SHAPE, "rank 9: {e}");
    let e = model.run(&[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "no inputs: {e}");
    check_outputs(&model.run(&x).unwrap(), &X);
}

#[test]
fn model_options() {
    let model = Model::open_memory(&build().serialize().unwrap(), &OpenOptions::default()).unwrap();
    let x = [TensorView::from_f32(&X, &[2, 3]).named("X")];
    let defaults = ModelOptions::default();
    assert_eq!((defaults.max_sessions, defaults.spin_us), (0, 0), "0 = one session per CPU, 1 ms");
    let c = ModelOptions::new().max_sessions(3).spin_us(-1).to_c();
    assert_eq!((c.struct_size, c.max_sessions, c.spin_us), (std::mem::size_of::<mle::sys::mle_model_options>(), 3, -1));

    for ok in [
        ModelOptions::new().max_sessions(1),
        ModelOptions::new().spin_us(-1),
        ModelOptions::new().max_sessions(65_536).spin_us(100_000),
        ModelOptions::default(),
    ] {
        model.set_options(&ok).unwrap_or_else(|e| panic!("{ok:?}: {e}"));
        check_outputs(&model.run(&x).unwrap(), &X);
    }
    for bad in [
        ModelOptions::new().max_sessions(-1),
        ModelOptions::new().max_sessions(65_537),
        ModelOptions::new().max_sessions(i32::MIN),
        ModelOptions::new().spin_us(-2),
        ModelOptions::new().spin_us(100_001),
        ModelOptions::new().spin_us(i32::MAX),
    ] {
        let e = model.set_options(&bad).unwrap_err();
        assert_eq!((e.status(), e.kind()), (MLE_ERR_INVALID_OPTIONS, ErrorKind::InvalidArgument), "{bad:?}: {e}");
        assert!(!e.message().is_empty());
    }
    // A refused change leaves the model as it was.
    check_outputs(&model.run(&x).unwrap(), &X);
}

#[test]
fn session_options() {
    let bytes = build().serialize().unwrap();
    let model = Model::open_memory(&bytes, &OpenOptions::default()).unwrap();
    let x = [TensorView::from_f32(&X, &[2, 3]).named("X")];
    let defaults = SessionOptions::default();
    assert_eq!((defaults.max_arena_bytes, defaults.max_cached_plans), (0, 0), "0 = the model's cap, 16 plans");
    let c = SessionOptions::new().max_arena_bytes(7).max_cached_plans(2).to_c();
    assert_eq!(
        (c.struct_size, c.max_arena_bytes, c.max_cached_plans),
        (std::mem::size_of::<mle::sys::mle_session_options>(), 7, 2)
    );

    // A tiny cap on this session alone: its runs are refused before anything
    // is allocated, while the model's other sessions are not capped.
    let mut tiny = model.session_with(&SessionOptions::new().max_arena_bytes(64)).unwrap();
    let e = tiny.run(&x).unwrap_err();
    assert_eq!((e.status(), e.primary(), e.kind()), (MLE_ERR_NO_MEMORY_LIMIT, MLE_ERR_NO_MEMORY, ErrorKind::NoMemory));
    check_outputs(&model.session().unwrap().run(&x).unwrap(), &X);
    check_outputs(&model.run(&x).unwrap(), &X);
    // A session cap above the model's applies to that session.
    let capped = Model::open_memory(&bytes, &OpenOptions::default().max_arena_bytes(64)).unwrap();
    assert_eq!(capped.run(&x).unwrap_err().status(), MLE_ERR_NO_MEMORY_LIMIT);
    let mut roomy = mle::Session::with_options(&capped, &SessionOptions::new().max_arena_bytes(1 << 20)).unwrap();
    check_outputs(&roomy.run(&x).unwrap(), &X);

    // One cached plan: changing shapes replans, results stay right.
    let mut one = model.session_with(&SessionOptions::new().max_cached_plans(1)).unwrap();
    for rows in [2usize, 1, 2, 0, 1] {
        let xs = &X[..rows * 3];
        check_outputs(&one.run(&[TensorView::from_f32(xs, &[rows as i64, 3]).named("X")]).unwrap(), xs);
    }
    model.session_with(&SessionOptions::new().max_cached_plans(4096)).unwrap();

    for bad in [
        SessionOptions::new().max_arena_bytes(-1),
        SessionOptions::new().max_cached_plans(-1),
        SessionOptions::new().max_cached_plans(4097),
    ] {
        let e = model.session_with(&bad).unwrap_err();
        assert_eq!((e.status(), e.kind()), (MLE_ERR_INVALID_OPTIONS, ErrorKind::InvalidArgument), "{bad:?}: {e}");
    }
}

#[test]
fn builder_errors() {
    fn one_node(op: &str, input: &str) -> (Builder, usize) {
        let mut b = Builder::new().unwrap();
        b.add_input("X", DType::F32, &[-1, 3]).unwrap();
        let n = b.add_node(op, &[input], &["Y"]).unwrap();
        b.add_output("Y").unwrap();
        (b, n)
    }
    fn save_fails(mut b: Builder, want: u32) {
        let dir = TempDir::new("save");
        let e = b.save(dir.join("m.mle")).unwrap_err();
        assert_eq!(e.status(), want, "{e}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "a failed save leaves nothing behind");
        assert_eq!(b.serialize().unwrap_err().status(), want);
    }
    save_fails(one_node("NoSuchOp", "X").0, MLE_ERR_GRAPH_UNKNOWN_OP);
    save_fails(one_node("Relu", "undefined").0, MLE_ERR_GRAPH_MISSING_TENSOR);
    let (mut b, n) = one_node("LeakyRelu", "X");
    b.set_attr_floats(n, "alpha", &[0.1, 0.2]).unwrap(); // checked at save
    save_fails(b, MLE_ERR_GRAPH_ATTRIBUTE);
    let (mut b, n) = one_node("LeakyRelu", "X");
    b.set_attr_string(n, "alpha", "0.1").unwrap();
    save_fails(b, MLE_ERR_GRAPH_ATTRIBUTE);

    let (mut b, _) = one_node("Relu", "X");
    let dir = TempDir::new("nodir");
    let e = b.save(dir.join("no-such-dir/m.mle")).unwrap_err();
    assert_eq!((e.status(), e.kind()), (MLE_ERR_IO_WRITE, ErrorKind::Io), "{e}");
    assert!(b.save(dir.join("ok.mle")).is_ok(), "the builder is still usable");

    let mut b = Builder::new().unwrap();
    assert_eq!(b.add_input("X\0", DType::F32, &[1]).unwrap_err().status(), MLE_ERR_INVALID_VALUE);
    assert_eq!(b.add_input("X", DType::F32, &[1; 9]).unwrap_err().status(), MLE_ERR_INVALID_VALUE, "rank 9");
    assert_eq!(b.set_attr_int(99, "axis", 1).unwrap_err().status(), MLE_ERR_INVALID_VALUE, "no node 99");
    assert_eq!(b.add_node("Relu", &["a\0"], &["b"]).unwrap_err().status(), MLE_ERR_INVALID_VALUE);
    assert_eq!(b.add_tensor("t", &[2], &[1.0f32]).unwrap_err().kind(), ErrorKind::InvalidArgument);
    let e = b.set_metadata_json("{not json").unwrap_err();
    assert_eq!((e.status(), e.kind()), (MLE_ERR_METADATA_SYNTAX, ErrorKind::Metadata), "{e}");

    // Empty names are refused when given.
    let (mut b, _) = one_node("Relu", "X");
    assert_eq!(b.add_output("").unwrap_err().status(), MLE_ERR_INVALID_VALUE);
    assert_eq!(b.add_input("", DType::F32, &[1]).unwrap_err().status(), MLE_ERR_INVALID_VALUE);
}

#[test]
fn bool_and_integer_tensors() {
    // C (bool), A, B (int64) → Z = Where(C, A, B), gt = Greater(A, B) (bool)
    let mut b = Builder::new().unwrap();
    b.add_input("C", DType::Bool, &[-1]).unwrap();
    b.add_input("A", DType::I64, &[-1]).unwrap();
    b.add_input("B", DType::I64, &[-1]).unwrap();
    b.add_node("Where", &["C", "A", "B"], &["Z"]).unwrap();
    b.add_node("Greater", &["A", "B"], &["gt"]).unwrap();
    b.add_output("Z").unwrap().add_output("gt").unwrap();
    let model = Model::open_memory(&b.serialize().unwrap(), &OpenOptions::default()).unwrap();
    let (c, a, bb) = ([true, false, true], [1i64, 2, 3], [3i64, 1, 0]);
    let outs = model
        .session()
        .unwrap()
        .run(&[
            TensorView::from_i64(&bb, &[3]).named("B"), // order does not matter with names
            TensorView::from_bool(&c, &[3]).named("C"),
            TensorView::from_i64(&a, &[3]).named("A"),
        ])
        .unwrap();
    assert_eq!(outs[0].as_i64().unwrap(), &[1, 1, 3]);
    assert_eq!(outs[1].dtype(), DType::Bool);
    assert_eq!(outs[1].to_vec_bool().unwrap(), [false, true, true]);
    assert!(outs[1].as_u8().is_none(), "bool is not uint8");
    // An output fed back as an input.
    let again = model
        .session()
        .unwrap()
        .run(&[
            outs[1].view().named("C"),
            TensorView::from_i64(&a, &[3]).named("A"),
            TensorView::from_i64(&bb, &[3]).named("B"),
        ])
        .unwrap();
    assert_eq!(again[0].as_i64().unwrap(), &[3, 2, 3]);
}

#[test]
fn session_outlives_model() {
    let model = Model::open_memory(&build().serialize().unwrap(), &OpenOptions::default()).unwrap();
    let mut s1 = model.session().unwrap();
    let mut s2 = model.session().unwrap();
    drop(model); // the C library keeps the model's data alive for the sessions
    let x = [TensorView::from_f32(&X, &[2, 3]).named("X")];
    check_outputs(&s1.run(&x).unwrap(), &X);
    drop(s1);
    check_outputs(&s2.run(&x).unwrap(), &X);
    let outs = s2.run_named(&x, &["total"]).unwrap();
    assert_eq!(outs[0].name(), "total");
}

#[test]
fn versions() {
    assert_eq!(mle::abi_version(), mle::sys::MLE_ABI_VERSION);
    let v = mle::version();
    assert!(v.split('.').count() == 3 && v.split('.').all(|p| p.parse::<u32>().is_ok()), "version {v:?}");
    assert_eq!(mle::status_string(MLE_ERR_DTYPE), "MLE_ERR_DTYPE");
    assert_eq!(mle::status_string(0xdead), "MLE_ERR_UNKNOWN");
    assert_eq!(ErrorKind::from_status(MLE_ERR_GRAPH_CYCLE), ErrorKind::Graph);
    assert_eq!(ErrorKind::from_status(MLE_ERR_CANCELLED), ErrorKind::Cancelled);
    assert_eq!(ErrorKind::from_status(MLE_ERR_CANCELLED_DEADLINE), ErrorKind::Timeout);
    assert_eq!(ErrorKind::from_status(MLE_ERR_NO_MEMORY_SYSTEM), ErrorKind::NoMemory);
    assert_eq!(ErrorKind::from_status(MLE_ERR_INVALID_BUFFER), ErrorKind::InvalidArgument);
    assert_eq!(ErrorKind::from_status(0x2a), ErrorKind::Other(0x2a));
    for d in DType::ALL {
        assert_eq!(DType::from_id(d.id()), Some(d));
        assert_eq!(d.name().parse::<DType>().unwrap(), d);
    }
    assert_eq!((DType::BF16.size(), DType::F64.size(), DType::Bool.size()), (2, 8, 1));
    assert_eq!("float128".parse::<DType>().unwrap_err().status(), MLE_ERR_INVALID_VALUE);
}

/// mle.h: a mapped file truncated while in use gives MLE_ERR_IO_FAULT, not a
/// crash (the Go runtime's SIGBUS handling must coexist with Rust's own
/// signal handlers, in the harness's threads and in threads we spawn).
#[test]
fn truncated_mapped_file_is_an_io_fault() {
    let dir = TempDir::new("fault");
    let path = dir.join("big.mle");
    let w = vec![0.25f32; 64 * 1024]; // 256 KiB of weights: many pages
    let mut b = Builder::new().unwrap();
    b.add_input("X", DType::F32, &[-1, 64]).unwrap().add_tensor("W", &[64, 1024], &w).unwrap();
    b.add_node("MatMul", &["X", "W"], &["Y"]).unwrap();
    b.add_output("Y").unwrap();
    b.save(&path).unwrap();

    let model = Model::open(&path, &OpenOptions::default()).unwrap(); // mapped
    let mut s = model.session().unwrap();
    let x = vec![1.0f32; 64];
    let y = s.run(&[TensorView::from_f32(&x, &[1, 64])]).unwrap();
    assert_eq!(y[0].as_f32().unwrap()[0], 16.0);

    std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(4096).unwrap();
    let e = s.run(&[TensorView::from_f32(&x, &[1, 64])]).unwrap_err();
    assert_eq!((e.status(), e.kind()), (MLE_ERR_IO_FAULT, ErrorKind::Io), "{e}");
    let mut s2 = model.session().unwrap();
    let e = std::thread::spawn(move || s2.run(&[TensorView::from_f32(&[1.0f32; 64], &[1, 64])]).unwrap_err())
        .join()
        .unwrap();
    assert_eq!(e.status(), MLE_ERR_IO_FAULT, "{e}");
}

/// String tensors end to end through the builder: a constant of labels
/// gathered by index, a string input echoed and concatenated, a float input
/// beside them.
#[test]
fn string_tensors() {
    // labels (const [3]) ; idx int64 [-1] -> picked = Gather(labels, idx)
    // words string [-1] -> both = Concat(words, picked) ; x float32 [-1] -> y = Neg(x)
    let mut b = Builder::new().unwrap();
    b.add_input("words", DType::String, &[-1]).unwrap();
    b.add_input("idx", DType::I64, &[-1]).unwrap();
    b.add_input("x", DType::F32, &[-1]).unwrap();
    b.add_tensor_strings("labels", &[3], &["cat", "", "chien 🐕"]).unwrap();
    b.add_node("Gather", &["labels", "idx"], &["picked"]).unwrap();
    let c = b.add_node("Concat", &["words", "picked"], &["both"]).unwrap();
    b.set_attr_int(c, "axis", 0).unwrap();
    b.add_node("Neg", &["x"], &["y"]).unwrap();
    b.add_output("picked").unwrap().add_output("both").unwrap().add_output("y").unwrap();
    let model = Model::open_memory(&b.serialize().unwrap(), &OpenOptions::default().verify(true)).unwrap();
    let sig: Vec<(String, DType)> = model.inputs().unwrap().into_iter().map(|i| (i.name, i.dtype)).collect();
    assert_eq!(sig, [("words".into(), DType::String), ("idx".into(), DType::I64), ("x".into(), DType::F32)]);
    assert_eq!(model.outputs().unwrap()[1].dtype, DType::String);

    let mut s = model.session().unwrap();
    let words = vec!["a\0b".to_string(), "Ünïcödé".to_string()];
    let idx = [2i64, 0, 1];
    let x = [1.5f32];
    let outs = s
        .run(&[
            TensorView::from_strings(&words, &[2]).unwrap().named("words"),
            TensorView::from_i64(&idx, &[3]).named("idx"),
            TensorView::from_f32(&x, &[1]).named("x"),
        ])
        .unwrap();
    assert_eq!(
        (outs[0].shape(), outs[0].to_strings().unwrap()),
        (&[3][..], vec!["chien 🐕".into(), "cat".into(), "".into()])
    );
    assert_eq!(outs[1].as_strs().unwrap(), ["a\0b", "Ünïcödé", "chien 🐕", "cat", ""]);
    assert_eq!((outs[1].len(), outs[1].shape()), (5, &[5][..]));
    assert_eq!(outs[2].as_f32().unwrap(), [-1.5]);
    assert!(format!("{:?}", outs[1]).contains("String"), "{:?}", outs[1]);

    // Zero strings in, zero out; the packed form is just offsets[0].
    let none: [&str; 0] = [];
    let outs = model
        .run(&[
            TensorView::from_strings(&none, &[0]).unwrap().named("words"),
            TensorView::from_i64(&[], &[0]).named("idx"),
            TensorView::from_f32(&[], &[0]).named("x"),
        ])
        .unwrap();
    assert!(outs[0].is_empty() && outs[1].is_empty() && outs[1].nbytes() == 8);

    // Errors: a string for the float input, numbers for the string input,
    // over-long or miscounted strings, a short packing; the session stays usable.
    let run = |s: &mut mle::Session, words: TensorView<'_>, x: TensorView<'_>| {
        s.run(&[words.named("words"), TensorView::from_i64(&[0], &[1]).named("idx"), x.named("x")])
    };
    let e =
        run(&mut s, TensorView::from_strings(&["a"], &[1]).unwrap(), TensorView::from_strings(&["1.5"], &[1]).unwrap())
            .unwrap_err();
    assert_eq!((e.status(), e.kind()), (MLE_ERR_DTYPE, ErrorKind::DType), "{e}");
    let e = run(&mut s, TensorView::from_f32(&x, &[1]), TensorView::from_f32(&x, &[1])).unwrap_err();
    assert_eq!(e.status(), MLE_ERR_DTYPE, "{e}");
    let big = "x".repeat(mle::sys::MLE_MAX_STRING_BYTES + 1);
    let e = TensorView::from_strings(&[big], &[1]).unwrap_err();
    assert_eq!(e.status(), MLE_ERR_INVALID_STRING, "{e}");
    let e = TensorView::from_strings(&["a", "b"], &[3]).unwrap_err();
    assert_eq!(e.status(), MLE_ERR_INVALID_VALUE, "{e}");
    let e = run(&mut s, TensorView::from_bytes(DType::String, &[2], &[0u8; 8]), TensorView::from_f32(&x, &[1]))
        .unwrap_err();
    assert_eq!(e.status(), MLE_ERR_INVALID_STRING, "too few offsets: {e}");
    let outs = run(&mut s, TensorView::from_strings(&["ok"], &[1]).unwrap(), TensorView::from_f32(&x, &[1])).unwrap();
    assert_eq!(outs[1].to_strings().unwrap(), ["ok", "cat"]);

    // Builder errors for string constants.
    let mut b = Builder::new().unwrap();
    assert_eq!(b.add_tensor_strings("t", &[2], &["a"]).unwrap_err().status(), MLE_ERR_INVALID_VALUE);
    let big = "y".repeat(mle::sys::MLE_MAX_STRING_BYTES + 1);
    assert_eq!(b.add_tensor_strings("t", &[1], &[big]).unwrap_err().status(), MLE_ERR_INVALID_STRING);
}
