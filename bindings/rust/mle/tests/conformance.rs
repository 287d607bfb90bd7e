//! The cross-language conformance suite (tests/conformance/README.md), run
//! through the safe API: every case, every run (through a Session and through
//! Model::run), outputs compared byte for byte.

mod support;

use std::io::Write;
use std::path::Path;

use mle::{Model, OpenOptions, TensorView};
use support::{manifest, read_tensor_bytes, Json};

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
        let data = specs.iter().map(|s| read_tensor_bytes(dir, s)).collect::<Result<Vec<_>, _>>()?;
        let mut views = Vec::new();
        for (s, bytes) in specs.iter().zip(&data) {
            let dtype = s["dtype"].as_str().unwrap_or("").parse().map_err(|e: mle::Error| e.to_string())?;
            let shape = s["shape"].as_i64_vec().ok_or("input without shape")?;
            views.push(
                TensorView::from_bytes(dtype, &shape, bytes).named(s["name"].as_str().ok_or("input without name")?),
            );
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
            let bytes = read_tensor_bytes(dir, want)?;
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
                if tensor.data() != bytes {
                    let at = tensor.data().iter().zip(&bytes).position(|(a, b)| a != b).unwrap_or(0);
                    return Err(format!("run {r}{how}: output {name:?} differs from byte {at}"));
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
