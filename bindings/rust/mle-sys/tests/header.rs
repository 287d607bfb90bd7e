//! The hand-written bindings against include/mle.h and capi/symbols.txt, so
//! they cannot drift apart silently.

use std::ffi::CStr;
use std::path::PathBuf;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

fn read(rel: &str) -> String {
    let p = repo().join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn source() -> String {
    // Normalize whitespace so that signatures split over lines still match.
    include_str!("../src/lib.rs").split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn every_exported_function_is_declared() {
    let src = source();
    let mut n = 0;
    for line in read("capi/symbols.txt").lines() {
        let name = line.trim();
        if name.is_empty() || name.starts_with('#') {
            continue;
        }
        assert!(src.contains(&format!("pub fn {name}(")), "{name} is exported by libmle but not declared");
        n += 1;
    }
    assert!(n >= 33, "only {n} symbols in capi/symbols.txt?");
}

/// `#define NAME VALUE` lines of the header with an integer value, or with
/// a shift `(Au << B)` (evaluated).
fn header_defines() -> Vec<(String, i64)> {
    let int = |s: &str| s.trim_end_matches('u').parse::<i64>().ok();
    let mut out = Vec::new();
    for line in read("include/mle.h").lines() {
        let mut it = line.split_whitespace();
        if it.next() != Some("#define") {
            continue;
        }
        let (Some(name), Some(value)) = (it.next(), it.next()) else { continue };
        let shift = || {
            let a = int(value.strip_prefix('(')?)?;
            let (Some("<<"), Some(b)) = (it.next(), it.next()) else { return None };
            Some(a << int(b.strip_suffix(')')?)?)
        };
        if let Some(v) = int(value).or_else(shift) {
            out.push((name.to_string(), v));
        }
    }
    out
}

#[test]
fn every_constant_matches_the_header() {
    let src = source();
    let defines = header_defines();
    assert!(defines.len() > 60, "parsed only {} #defines", defines.len());
    for (name, value) in &defines {
        let found = src.contains(&format!("pub const {name}: mle_status = {value};"))
            || src.contains(&format!("pub const {name}: mle_dtype = {value};"))
            || src.contains(&format!("pub const {name}: i32 = {value};"))
            || src.contains(&format!("pub const {name}: u32 = {value};"))
            || src.contains(&format!("pub const {name}: usize = {value};"))
            || (value.count_ones() == 1
                && src.contains(&format!("pub const {name}: usize = 1 << {};", value.trailing_zeros())));
        assert!(found, "#define {name} {value} has no matching constant in mle-sys");
    }
}

#[test]
fn version_string_matches_the_header() {
    let header = read("include/mle.h");
    let line = header.lines().find_map(|l| l.strip_prefix("#define MLE_VERSION_STRING ")).expect("MLE_VERSION_STRING");
    assert_eq!(line.trim(), format!("\"{}\"", mle_sys::MLE_VERSION_STRING));
    let parts: Vec<u32> = mle_sys::MLE_VERSION_STRING.split('.').map(|p| p.parse().unwrap()).collect();
    assert_eq!(parts, [mle_sys::MLE_VERSION_MAJOR, mle_sys::MLE_VERSION_MINOR, mle_sys::MLE_VERSION_PATCH]);
    assert_eq!(mle_sys::MLE_VERSION_NUMBER, parts[0] * 10000 + parts[1] * 100 + parts[2]);
}

#[test]
fn status_strings_name_the_constants() {
    for (name, value) in header_defines() {
        if !(name.starts_with("MLE_ERR_") || name == "MLE_OK") {
            continue;
        }
        // SAFETY: mle_status_string takes any value and returns a static,
        // NUL-terminated, never-NULL string.
        let got = unsafe { CStr::from_ptr(mle_sys::mle_status_string(value as u32)) };
        assert_eq!(got.to_str().unwrap(), name, "mle_status_string({value})");
    }
}

#[test]
fn abi_version_and_defaults() {
    // SAFETY: plain calls without arguments.
    let (abi, opts) = unsafe { (mle_sys::mle_abi_version(), mle_sys::mle_default_open_options()) };
    assert_eq!(abi, mle_sys::MLE_ABI_VERSION);
    assert_eq!(opts.struct_size, std::mem::size_of::<mle_sys::mle_open_options>());
    assert_eq!(opts.device, mle_sys::MLE_DEVICE_CPU);
    assert_eq!(mle_sys::MLE_STATUS_PRIMARY(mle_sys::MLE_ERR_FORMAT_GAP), mle_sys::MLE_ERR_FORMAT);
    assert_eq!(mle_sys::MLE_STATUS_PRIMARY(mle_sys::MLE_ERR_CANCELLED_DEADLINE), mle_sys::MLE_ERR_CANCELLED);
    assert_eq!(mle_sys::MLE_STATUS_PRIMARY(mle_sys::MLE_ERR_NO_MEMORY_LIMIT), mle_sys::MLE_ERR_NO_MEMORY);
}

#[test]
fn max_string_bytes() {
    let defines = header_defines();
    let got = defines.iter().find(|(n, _)| n == "MLE_MAX_STRING_BYTES").map(|d| d.1);
    assert_eq!(got, Some(1 << 20), "MLE_MAX_STRING_BYTES parsed from the header");
    assert_eq!(mle_sys::MLE_MAX_STRING_BYTES, 1 << 20);
}

#[test]
fn default_run_options() {
    // SAFETY: no arguments; returns a plain struct by value.
    let o = unsafe { mle_sys::mle_default_run_options() };
    assert_eq!(o.struct_size, std::mem::size_of::<mle_sys::mle_run_options>());
    assert_eq!((o.timeout_us, o.cancel), (0, std::ptr::null()));
}

#[test]
fn default_trust_and_write_options() {
    // SAFETY: no arguments; return plain structs by value.
    let (t, w) = unsafe { (mle_sys::mle_default_trust_options(), mle_sys::mle_default_write_options()) };
    assert_eq!(t.struct_size, std::mem::size_of::<mle_sys::mle_trust_options>());
    assert_eq!((t.key, t.key_len, t.n_trusted_keys, t.require_signature), (std::ptr::null(), 0, 0, 0));
    assert_eq!((t.trusted_keys, t.trusted_key_lens), (std::ptr::null(), std::ptr::null()));
    assert_eq!(w.struct_size, std::mem::size_of::<mle_sys::mle_write_options>());
    assert_eq!((w.compress, w.quantize, w.properties_json), (std::ptr::null(), std::ptr::null(), std::ptr::null()));
    assert_eq!(
        (w.sign_key, w.sign_key_len, w.encrypt_key, w.encrypt_key_len),
        (std::ptr::null(), 0, std::ptr::null(), 0)
    );
    assert_eq!((w.level, w.flags), (0, 0));
}
