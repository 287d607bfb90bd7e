//! The program of scripts/install-test.sh: a crate outside the repository that depends on `mle` alone.
//! It runs one case of the conformance suite ($MLE_CONFORMANCE_DIR) and compares every output with the
//! manifest's, byte for byte, and every expected error by its exact code.
//!
//! Usage: mle-consumer [CASE]   (default mlp_classifier)

// bindings/rust/mle/tests/support/mod.rs, copied next to this file: the suite's manifest reader.
mod support;

use std::process::ExitCode;

use support::{manifest, read_strings, read_tensor_bytes, Json};

fn main() -> ExitCode {
    let name = std::env::args().nth(1).unwrap_or_else(|| "mlp_classifier".into());
    match run_case(&name) {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mle-consumer: {name}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn is_string(t: &Json) -> bool {
    t["dtype"].as_str() == Some("string")
}

fn run_case(name: &str) -> Result<String, String> {
    let (dir, json) = manifest();
    let case = json["cases"].as_array().iter().find(|c| c["name"].as_str() == Some(name)).ok_or("no such case")?;
    let opts = mle::OpenOptions::default().verify(case["verify"].as_bool().unwrap_or(false));
    let path = dir.join(case["model"].as_str().ok_or("case without model")?);
    let model = mle::Model::open(&path, &opts).map_err(|e| format!("open: {e}"))?;
    let graph_outputs = model.outputs().map_err(|e| e.to_string())?.len();
    let mut session = model.session().map_err(|e| e.to_string())?;

    let (mut runs, mut outputs, mut errors) = (0, 0, 0);
    for (r, run) in case["runs"].as_array().iter().enumerate() {
        runs += 1;
        let specs = run["inputs"].as_array();
        let data = specs
            .iter()
            .map(|s| if is_string(s) { Ok(Vec::new()) } else { read_tensor_bytes(&dir, s) })
            .collect::<Result<Vec<_>, _>>()?;
        let mut views = Vec::new();
        for (s, bytes) in specs.iter().zip(&data) {
            let shape = s["shape"].as_i64_vec().ok_or("input without shape")?;
            let dtype: mle::DType = s["dtype"].as_str().unwrap_or("").parse().map_err(|e: mle::Error| e.to_string())?;
            let view = if is_string(s) {
                mle::TensorView::from_strings(&read_strings(s)?, &shape).map_err(|e| e.to_string())?
            } else {
                mle::TensorView::from_bytes(dtype, &shape, bytes)
            };
            views.push(view.named(s["name"].as_str().ok_or("input without name")?));
        }

        let result = session.run(&views);
        if let Some(want) = run.get("error") {
            let code = want["code"].as_u64().ok_or("error without code")? as u32;
            match result {
                Err(e) if e.status() == code => errors += 1,
                Err(e) => return Err(format!("run {r}: {e}, want {} ({code})", want["name"])),
                Ok(_) => return Err(format!("run {r}: succeeded, want {}", want["name"])),
            }
            continue;
        }
        let got = result.map_err(|e| format!("run {r}: {e}"))?;
        if got.len() != graph_outputs {
            return Err(format!("run {r}: {} outputs, the model has {graph_outputs}", got.len()));
        }
        for want in run["outputs"].as_array() {
            let name = want["name"].as_str().ok_or("output without name")?;
            let t = got.iter().find(|t| t.name() == name).ok_or_else(|| format!("run {r}: no output {name:?}"))?;
            let shape = want["shape"].as_i64_vec().unwrap_or_default();
            if Some(t.dtype().name()) != want["dtype"].as_str() || t.shape() != shape {
                return Err(format!(
                    "run {r}: output {name:?} is {} {:?}, want {} {shape:?}",
                    t.dtype(),
                    t.shape(),
                    want["dtype"]
                ));
            }
            let equal = if is_string(want) {
                t.to_strings() == Some(read_strings(want)?)
            } else {
                t.data() == read_tensor_bytes(&dir, want)?
            };
            if !equal {
                return Err(format!("run {r}: output {name:?} differs from the manifest"));
            }
            outputs += 1;
        }
    }
    if runs == 0 {
        return Err("the case has no runs".into());
    }
    Ok(format!(
        "{name}: {runs} runs, {outputs} outputs equal to the manifest, {errors} failing as expected \
         (libmle {}, ABI {})",
        mle::version(),
        mle::abi_version()
    ))
}
