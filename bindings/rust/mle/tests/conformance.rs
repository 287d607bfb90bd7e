//! The cross-language conformance suite (tests/conformance/README.md), run
//! through the safe API: every case, every run (through a Session and through
//! Model::run), outputs compared byte for byte (strings element by element).
//! Also string tensors on the suite's `string_labels` and `mixed_columns`.

mod support;

use std::io::Write;
use std::path::Path;

use mle::status::*;
use mle::{DType, ErrorKind, Model, OpenOptions, TensorView};
use support::{conformance_dir, manifest, read_strings, read_tensor_bytes, Json};

#[derive(Default)]
struct Tally {
    cases: usize,
    open_errors: usize,
    runs: usize,
    runs_passed: usize,
    run_errors: usize,
    failures: Vec<String>,
}

/// `(name, dtype name, shape)` of each entry of a manifest signature.
fn manifest_signature(list: &Json) -> Vec<(String, String, Vec<i64>)> {
    list.as_array()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap_or("").to_string(),
                t["dtype"].as_str().unwrap_or("").to_string(),
                t["shape"].as_i64_vec().unwrap_or_default(),
            )
        })
        .collect()
}

fn model_signature(infos: &[mle::IoInfo]) -> Vec<(String, String, Vec<i64>)> {
    infos.iter().map(|i| (i.name.clone(), i.dtype.name().to_string(), i.shape.clone())).collect()
}

/// Checks an error against a manifest `{"code", "name", "primary", "primary_name"}`.
fn check_error(err: &mle::Error, want: &Json) -> Result<(), String> {
    let code = want["code"].as_u64().ok_or("error without code")? as u32;
    let primary = want["primary"].as_u64().ok_or("error without primary")? as u32;
    if err.status() != code || err.primary() != primary {
        return Err(format!("got {err}, want {} ({code}), primary {primary}", want["name"]));
    }
    if Some(err.status_name()) != want["name"].as_str() || Some(err.primary_name()) != want["primary_name"].as_str() {
        return Err(format!(
            "status names {}/{}, want {}/{}",
            err.status_name(),
            err.primary_name(),
            want["name"],
            want["primary_name"]
        ));
    }
    if err.message().is_empty() {
        return Err("error without message".into());
    }
    Ok(())
}

/// Whether a manifest tensor holds strings (listed in `strings`, no file).
fn is_string(t: &Json) -> bool {
    t["dtype"].as_str() == Some("string")
}

fn run_case(dir: &Path, case: &Json, t: &mut Tally) -> Result<(), String> {
    let model_path = dir.join(case["model"].as_str().ok_or("case without model")?);
    let opts = OpenOptions::default().verify(case["verify"].as_bool().unwrap_or(false));

    if let Some(want) = case.get("open_error") {
        t.open_errors += 1;
        match Model::open(&model_path, &opts) {
            Ok(_) => return Err(format!("opened, want {}", want["name"])),
            Err(e) => check_error(&e, want).map_err(|m| format!("open: {m}"))?,
        }
        // The same bytes from memory fail the same way.
        let bytes = std::fs::read(&model_path).map_err(|e| e.to_string())?;
        match Model::open_memory(&bytes, &opts) {
            Ok(_) => return Err(format!("open_memory succeeded, want {}", want["name"])),
            Err(e) => check_error(&e, want).map_err(|m| format!("open_memory: {m}"))?,
        }
        return Ok(());
    }

    let model = Model::open(&model_path, &opts).map_err(|e| format!("open: {e}"))?;
    let inputs = model.inputs().map_err(|e| e.to_string())?;
    let outputs = model.outputs().map_err(|e| e.to_string())?;
    if model_signature(&inputs) != manifest_signature(&case["inputs"]) {
        return Err(format!("inputs {:?}, want {:?}", model_signature(&inputs), manifest_signature(&case["inputs"])));
    }
    if model_signature(&outputs) != manifest_signature(&case["outputs"]) {
        return Err(format!(
            "outputs {:?}, want {:?}",
            model_signature(&outputs),
            manifest_signature(&case["outputs"])
        ));
    }
    let meta = Json::parse(&model.metadata().map_err(|e| e.to_string())?)?;
    for key in ["name", "version"] {
        if meta[key] != case["metadata"][key] {
            return Err(format!("metadata {key} {}, want {}", meta[key], case["metadata"][key]));
        }
    }

    let mut session = model.session().map_err(|e| e.to_string())?;
    for (r, run) in case["runs"].as_array().iter().enumerate() {
        let specs = run["inputs"].as_array();
        // Numbers come from files (borrowed by the views); strings from the
        // manifest, packed into views of their own.
        let data = specs
            .iter()
            .map(|s| if is_string(s) { Ok(Vec::new()) } else { read_tensor_bytes(dir, s) })
            .collect::<Result<Vec<_>, _>>()?;
        let mut views = Vec::new();
        for (s, bytes) in specs.iter().zip(&data) {
            let dtype = s["dtype"].as_str().unwrap_or("").parse().map_err(|e: mle::Error| e.to_string())?;
            let shape = s["shape"].as_i64_vec().ok_or("input without shape")?;
            let view = if is_string(s) {
                TensorView::from_strings(&read_strings(s)?, &shape).map_err(|e| format!("run {r}: {e}"))?
            } else {
                TensorView::from_bytes(dtype, &shape, bytes)
            };
            views.push(view.named(s["name"].as_str().ok_or("input without name")?));
        }

        if let Some(want) = run.get("error") {
            t.run_errors += 1;
            match session.run(&views) {
                Ok(_) => return Err(format!("run {r}: succeeded, want {}", want["name"])),
                Err(e) => check_error(&e, want).map_err(|m| format!("run {r}: {m}"))?,
            }
            match model.run(&views) {
                Ok(_) => return Err(format!("run {r} (Model::run): succeeded, want {}", want["name"])),
                Err(e) => check_error(&e, want).map_err(|m| format!("run {r} (Model::run): {m}"))?,
            }
            t.runs_passed += 1;
            continue;
        }

        let got = session.run(&views).map_err(|e| format!("run {r}: {e}"))?;
        // The model's own session pool gives the same bytes.
        if model.run(&views).map_err(|e| format!("run {r} (Model::run): {e}"))? != got {
            return Err(format!("run {r}: Model::run differs from Session::run"));
        }
        if got.len() != outputs.len() {
            return Err(format!("run {r}: {} outputs, model has {}", got.len(), outputs.len()));
        }
        let expected = run["outputs"].as_array();
        // Again for the expected outputs only, by name, in reverse order.
        let names: Vec<&str> = expected.iter().rev().filter_map(|o| o["name"].as_str()).collect();
        let subset = session.run_named(&views, &names).map_err(|e| format!("run {r} (by name): {e}"))?;
        for (o, want) in expected.iter().enumerate() {
            let name = want["name"].as_str().ok_or("output without name")?;
            // Ok: the bytes of a number tensor; Err: the elements of a string tensor.
            let want_data = if is_string(want) { Err(read_strings(want)?) } else { Ok(read_tensor_bytes(dir, want)?) };
            let chosen = &subset[expected.len() - 1 - o];
            for (how, tensor) in [("", got.iter().find(|t| t.name() == name)), (" (by name)", Some(chosen))] {
                let tensor = tensor.ok_or_else(|| format!("run {r}: no output {name:?}"))?;
                let shape = want["shape"].as_i64_vec().unwrap_or_default();
                if tensor.name() != name
                    || Some(tensor.dtype().name()) != want["dtype"].as_str()
                    || tensor.shape() != shape
                {
                    return Err(format!(
                        "run {r}{how}: output {:?} {} {:?}, want {name:?} {} {shape:?}",
                        tensor.name(),
                        tensor.dtype(),
                        tensor.shape(),
                        want["dtype"]
                    ));
                }
                match &want_data {
                    Ok(bytes) if tensor.data() != bytes => {
                        let at = tensor.data().iter().zip(bytes).position(|(a, b)| a != b).unwrap_or(0);
                        return Err(format!("run {r}{how}: output {name:?} differs from byte {at}"));
                    }
                    Ok(_) => {}
                    Err(strings) => {
                        let got =
                            tensor.to_strings().ok_or_else(|| format!("run {r}{how}: {name:?} is not strings"))?;
                        if got.len() != strings.len() {
                            return Err(format!(
                                "run {r}{how}: {name:?} has {} strings, want {}",
                                got.len(),
                                strings.len()
                            ));
                        }
                        if let Some(i) = got.iter().zip(strings).position(|(a, b)| a != b) {
                            return Err(format!("run {r}{how}: {name:?}[{i}] = {:?}, want {:?}", got[i], strings[i]));
                        }
                    }
                }
            }
        }
        t.runs_passed += 1;
    }
    Ok(())
}

#[test]
fn conformance_suite() {
    let (dir, manifest) = manifest();
    assert_eq!(manifest["format"].as_str(), Some("mle-conformance"));
    assert_eq!(manifest["version"].as_i64(), Some(1), "manifest version this test knows");
    let cases = manifest["cases"].as_array();
    assert!(!cases.is_empty(), "the manifest lists no cases");

    let mut t = Tally { runs: cases.iter().map(|c| c["runs"].as_array().len()).sum(), ..Tally::default() };
    for case in cases {
        t.cases += 1;
        let name = case["name"].as_str().unwrap_or("?");
        if let Err(m) = run_case(&dir, case, &mut t) {
            t.failures.push(format!("{name}: {m}"));
        }
    }
    // Written to the real stderr (not eprintln!, which the test harness
    // captures), so the tally shows in every `cargo test`.
    let _ = writeln!(
        std::io::stderr(),
        "conformance ({}): {}/{} cases passed ({} expecting an open error), {}/{} runs passed ({} expecting a run error)",
        dir.canonicalize().unwrap_or(dir.clone()).display(),
        t.cases - t.failures.len(),
        t.cases,
        t.open_errors,
        t.runs_passed,
        t.runs,
        t.run_errors
    );
    assert!(t.failures.is_empty(), "{} of {} cases failed:\n  {}", t.failures.len(), t.cases, t.failures.join("\n  "));
}

#[test]
fn json_reader() {
    let j = Json::parse(r#" {"a": [1, -2.5e3, true, null], "s": "x\"\u00e9\ud83d\ude00", "o": {}, "e": []} "#).unwrap();
    assert_eq!(j["a"].as_array().len(), 4);
    assert_eq!(j["a"].as_array()[0].as_i64(), Some(1));
    assert_eq!(j["a"].as_array()[1].as_f64(), Some(-2500.0));
    assert_eq!(j["s"].as_str(), Some("x\"é😀"));
    assert!(j["missing"].is_null());
    assert_eq!(j["o"], Json::Object(vec![]));
    for bad in ["", "{", "[1,]", "{\"a\" 1}", "01x", "\"\\q\"", "[1] 2", "\"a\nb\""] {
        assert!(Json::parse(bad).is_err(), "{bad:?} parsed");
    }
}

fn open_suite_model(name: &str) -> Model {
    let path = conformance_dir().join("models").join(name);
    Model::open(&path, &OpenOptions::default()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `string_labels`: ArgMax over float64 scores gathers a string label per row.
#[test]
fn string_labels() {
    let model = open_suite_model("string_labels.mle");
    let outs = model.outputs().unwrap();
    assert_eq!((outs[0].name.as_str(), outs[0].dtype, &outs[0].shape[..]), ("label", DType::String, &[-1][..]));
    let scores = [0.1, 0.7, 0.2, 0.9, 0.05, 0.05, 0.0, 0.1, 0.3, 0.2, 0.5, 0.3];
    let mut s = model.session().unwrap();
    let got = s.run(&[TensorView::from_f64(&scores, &[4, 3]).named("scores")]).unwrap();
    let label = &got[0];
    assert_eq!((label.name(), label.dtype(), label.shape(), label.len()), ("label", DType::String, &[4][..], 4));
    assert_eq!(got[1].as_i64().unwrap(), [1, 0, 2, 1]);
    let want = ["versicolor", "setosa", "virginica ün\u{ef} 東京", "versicolor"];
    assert_eq!(label.to_strings().unwrap(), want);
    assert_eq!(label.as_strs().unwrap(), want);
    assert!(label.as_f64().is_none(), "typed access checks the dtype");
    // The same through the model's pool, and just the labels by name.
    assert_eq!(model.run(&[TensorView::from_f64(&scores, &[4, 3]).named("scores")]).unwrap(), got);
    let only = s.run_named(&[TensorView::from_f64(&scores[..3], &[1, 3]).named("scores")], &["label"]).unwrap();
    assert_eq!(only[0].to_strings().unwrap(), ["versicolor"]);
    // No rows: no labels, still a well-formed string tensor.
    let none = s.run(&[TensorView::from_f64(&[], &[0, 3]).named("scores")]).unwrap();
    assert_eq!((none[0].shape(), none[0].is_empty(), none[0].to_strings()), (&[0][..], true, Some(vec![])));
}

/// Runs `mixed_columns` with its two named columns (in reverse order: names bind).
fn run_columns(s: &mut mle::Session, city: TensorView<'_>, age: TensorView<'_>) -> mle::Result<Vec<mle::Tensor>> {
    s.run(&[age.named("age"), city.named("city")])
}

/// `mixed_columns`: a string column and a float64 column, by name; the text
/// is echoed back. Over-long strings and mixed-up dtypes are errors.
#[test]
fn string_inputs_and_their_errors() {
    let model = open_suite_model("mixed_columns.mle");
    let mut s = model.session().unwrap();
    let city = ["Paris", "", "São Paulo", "Nowhere"];
    let owned: Vec<String> = city.iter().map(|c| c.to_string()).collect();
    let age = [30.0, 41.5, 18.0, 77.0];
    let ages = || TensorView::from_f64(&age, &[4]);
    let cities = || TensorView::from_strings(&city, &[4]).unwrap();

    let outs = run_columns(&mut s, cities(), ages()).unwrap();
    let echo = outs.iter().find(|t| t.name() == "city_echo").unwrap();
    assert_eq!((echo.dtype(), echo.shape()), (DType::String, &[4][..]));
    assert_eq!(echo.to_strings().unwrap(), city);
    // &[String] packs the same; an output fed back as an input works too.
    assert_eq!(run_columns(&mut s, TensorView::from_strings(&owned, &[4]).unwrap(), ages()).unwrap(), outs);
    assert_eq!(run_columns(&mut s, echo.view(), ages()).unwrap(), outs);

    // An element of 1 MiB passes; 1 MiB + 1 byte is refused, by the binding
    // when packing and by the library for bytes packed by hand.
    let one_age = || TensorView::from_f64(&age[..1], &[1]);
    let max = "é".repeat(mle::sys::MLE_MAX_STRING_BYTES / 2);
    let outs = run_columns(&mut s, TensorView::from_strings(&[&max], &[1]).unwrap(), one_age()).unwrap();
    assert_eq!(outs[2].as_strs().unwrap(), [max.as_str()]);
    let over = max.clone() + "x";
    let e = TensorView::from_strings(&["ok", over.as_str()], &[2]).unwrap_err();
    assert_eq!((e.status(), e.kind()), (MLE_ERR_INVALID_STRING, ErrorKind::InvalidArgument), "{e}");
    assert_eq!(e.status_name(), "MLE_ERR_INVALID_STRING");
    let packed = [&0u64.to_le_bytes()[..], &(over.len() as u64).to_le_bytes(), over.as_bytes()].concat();
    let e = run_columns(&mut s, TensorView::from_bytes(DType::String, &[1], &packed), one_age()).unwrap_err();
    assert_eq!(e.status(), MLE_ERR_INVALID_STRING, "{e}");
    assert!(e.message().contains("city"), "the library names the input: {e}");
    // Text that is not UTF-8, packed by hand, is refused the same way.
    let packed = [&0u64.to_le_bytes()[..], &2u64.to_le_bytes(), b"\xc3("].concat();
    let e = run_columns(&mut s, TensorView::from_bytes(DType::String, &[1], &packed), one_age()).unwrap_err();
    assert_eq!(e.status(), MLE_ERR_INVALID_STRING, "{e}");

    // Strings for the float64 column, numbers for the text column.
    let e = run_columns(&mut s, cities(), cities()).unwrap_err();
    assert_eq!((e.status(), e.kind()), (MLE_ERR_DTYPE, ErrorKind::DType), "{e}");
    let e = run_columns(&mut s, ages(), ages()).unwrap_err();
    assert_eq!((e.status(), e.kind()), (MLE_ERR_DTYPE, ErrorKind::DType), "{e}");
    let e = model.run(&[cities().named("age"), cities().named("city")]).unwrap_err();
    assert_eq!(e.status(), MLE_ERR_DTYPE, "Model::run: {e}");

    // The session still works after every error.
    assert_eq!(run_columns(&mut s, cities(), ages()).unwrap()[2].to_strings().unwrap(), city);
}
