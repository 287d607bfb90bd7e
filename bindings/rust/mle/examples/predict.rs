//! predict (Rust): opens an .mle model, prints its signature, runs it on a
//! small deterministic batch and prints the outputs.
//!
//! Usage: cargo run --example predict -- [MODEL.mle] [ROWS]
//!
//! MODEL defaults to build/demo/mlp.mle (`make demo`), else the conformance
//! suite's models/mlp_classifier.mle (`make conformance`). ROWS (default 4)
//! replaces the dynamic dimensions of the inputs. String inputs get a few
//! city names (try the suite's models/mixed_columns.mle).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mle::{DType, Model, OpenOptions, Tensor, TensorView};

fn default_model() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..");
    let demo = root.join("build/demo/mlp.mle");
    if demo.is_file() {
        demo
    } else {
        root.join("build/conformance/models/mlp_classifier.mle")
    }
}

/// The input's elements as little-endian bytes: 3 sin(1.7 k) in the input's dtype.
fn ramp(dtype: DType, count: usize) -> Option<Vec<u8>> {
    let v = (0..count).map(|k| 3.0 * (k as f64 * 1.7).sin());
    Some(match dtype {
        DType::F32 => v.flat_map(|x| (x as f32).to_le_bytes()).collect(),
        DType::F64 => v.flat_map(f64::to_le_bytes).collect(),
        DType::I32 => v.flat_map(|x| (x.round() as i32).to_le_bytes()).collect(),
        DType::I64 => v.flat_map(|x| (x.round() as i64).to_le_bytes()).collect(),
        _ => return None,
    })
}

/// The elements of a string input: city names, over and over.
fn words(count: usize) -> Vec<&'static str> {
    ["Lyon", "東京", "Paris", "São Paulo", ""].into_iter().cycle().take(count).collect()
}

fn show(t: &Tensor) -> String {
    let vals: Vec<String> = if let Some(v) = t.as_strs() {
        v.iter().take(12).map(|s| format!("{s:?}")).collect()
    } else if let Some(v) = t.as_f32() {
        v.iter().take(12).map(|x| format!("{x:.4}")).collect()
    } else if let Some(v) = t.as_f64() {
        v.iter().take(12).map(|x| format!("{x:.4}")).collect()
    } else if let Some(v) = t.as_i64() {
        v.iter().take(12).map(i64::to_string).collect()
    } else if let Some(v) = t.as_i32() {
        v.iter().take(12).map(i32::to_string).collect()
    } else {
        t.data().iter().take(12).map(u8::to_string).collect()
    };
    format!("{}{}", vals.join(" "), if t.len() > 12 { " ..." } else { "" })
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let path = args.next().map_or_else(default_model, PathBuf::from);
    let rows: i64 = match args.next().map(|r| r.parse()) {
        None => 4,
        Some(Ok(r)) if r >= 0 => r,
        Some(_) => {
            eprintln!("usage: predict [MODEL.mle] [ROWS]");
            return ExitCode::from(2);
        }
    };
    match run(&path, rows) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("predict: {}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}

fn run(path: &Path, rows: i64) -> Result<(), Box<dyn std::error::Error>> {
    let model = Model::open(path, &OpenOptions::default())?;
    let shown = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    println!("model {} (libmle {})", shown.display(), mle::version());
    let inputs = model.inputs()?;
    for io in &inputs {
        println!("  input  {:<16} {:<8} {:?}", io.name, io.dtype, io.shape);
    }
    for io in model.outputs()? {
        println!("  output {:<16} {:<8} {:?}", io.name, io.dtype, io.shape);
    }

    // One buffer per input, dynamic dimensions set to `rows`; strings are
    // packed into their view (from_strings), numbers borrowed from `data`.
    let mut data = Vec::new();
    for io in &inputs {
        let shape: Vec<i64> = io.shape.iter().map(|&d| if d < 0 { rows } else { d }).collect();
        let count = shape.iter().product::<i64>() as usize;
        let bytes = if io.dtype == DType::String {
            Vec::new()
        } else {
            ramp(io.dtype, count).ok_or_else(|| format!("input {} is {}: not supported here", io.name, io.dtype))?
        };
        data.push((shape, count, bytes));
    }
    let mut views = Vec::new();
    for (io, (shape, count, bytes)) in inputs.iter().zip(&data) {
        let view = if io.dtype == DType::String {
            TensorView::from_strings(&words(*count), shape)?
        } else {
            TensorView::from_bytes(io.dtype, shape, bytes)
        };
        views.push(view.named(&io.name));
    }

    let mut session = model.session()?;
    let outputs = session.run(&views)?;
    println!("batch of {rows} rows:");
    for t in &outputs {
        println!("  {:<16} {:?}: {}", t.name(), t.shape(), show(t));
    }
    // Classifier-style predictions: a label per row (a string, or a class
    // index with its probability).
    if let Some(labels) = outputs.iter().filter(|t| t.shape() == [rows]).find_map(Tensor::as_strs) {
        for (r, l) in labels.iter().enumerate() {
            println!("  row {r}: {l:?}");
        }
        return Ok(());
    }
    let label = outputs.iter().find(|t| t.dtype() == DType::I64 && t.shape() == [rows]);
    let probs = outputs.iter().find(|t| t.dtype() == DType::F32 && t.shape().len() == 2 && t.shape()[0] == rows);
    if let Some(labels) = label.and_then(Tensor::as_i64) {
        let classes = probs.map_or(0, |t| t.shape()[1] as usize);
        for (r, &l) in labels.iter().enumerate() {
            let p = probs.and_then(Tensor::as_f32).and_then(|p| p.get(r * classes + usize::try_from(l).ok()?));
            match p {
                Some(p) => println!("  row {r}: class {l} (p = {p:.4})"),
                None => println!("  row {r}: class {l}"),
            }
        }
    }
    Ok(())
}
