//! mle-sys finds libmle (MLE_LIB_DIR, build-from-source, pkg-config, <repository>/build) and passes its
//! directory here as DEP_MLE_LIB_DIR. Cargo passes neither a dependency's `rustc-link-arg` nor its
//! `links` metadata further than its direct dependents, so this script
//!
//! - adds an rpath to that directory for this crate's own tests and examples, and
//! - passes the directory on as this crate's metadata (`links = "mle-rust"`): a program that depends on
//!   `mle` alone reads it as DEP_MLE_RUST_LIB_DIR in its build script and adds the rpath to its own
//!   binaries (docs/rust.md, "Running without LD_LIBRARY_PATH").

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_MLE_LIB_DIR");
    if let Ok(dir) = std::env::var("DEP_MLE_LIB_DIR") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
        println!("cargo:lib_dir={dir}");
    }
}
