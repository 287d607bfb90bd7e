//! Finds libmle.so and tells cargo how to link it.
//!
//! Search order: `$MLE_LIB_DIR` if set, else `<repository>/build` (three levels
//! above this crate: bindings/rust/mle-sys). The directory is also passed on as
//! build-script metadata (`DEP_MLE_LIB_DIR` in the build scripts of crates that
//! depend on mle-sys), so they can add an rpath for their own binaries: cargo
//! does not forward `rustc-link-arg` to dependents.

use std::env;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=MLE_LIB_DIR");
    println!("cargo:rerun-if-changed=build.rs");

    let dir = match env::var_os("MLE_LIB_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => {
            let manifest =
                PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR is set by cargo"));
            manifest.join("..").join("..").join("..").join("build")
        }
    };
    let dir = dir.canonicalize().unwrap_or(dir);
    let lib = dir.join("libmle.so");
    if !lib.is_file() {
        eprintln!(
            "error: mle-sys: {} not found.\n\
             Build it first: run `make lib` in the MLE repository root, \
             or set MLE_LIB_DIR to the directory that holds libmle.so.",
            lib.display()
        );
        std::process::exit(1);
    }
    emit(&dir, &lib);
}

fn emit(dir: &Path, lib: &Path) {
    let dir_s = dir.to_str().unwrap_or_else(|| panic!("mle-sys: library path {} is not UTF-8", dir.display()));
    println!("cargo:rerun-if-changed={}", lib.display());
    println!("cargo:rustc-link-search=native={dir_s}");
    println!("cargo:rustc-link-lib=dylib=mle");
    // For this crate's own tests; dependents add theirs from DEP_MLE_LIB_DIR.
    println!("cargo:rustc-link-arg=-Wl,-rpath,{dir_s}");
    // Metadata for dependents' build scripts (links = "mle" → DEP_MLE_LIB_DIR).
    println!("cargo:lib_dir={dir_s}");
}
