//! Adds an rpath to libmle's directory for this crate's tests and examples, so
//! they run without LD_LIBRARY_PATH. mle-sys finds the library (MLE_LIB_DIR or
//! <repository>/build) and passes its directory here as DEP_MLE_LIB_DIR; cargo
//! does not forward a dependency's `rustc-link-arg` itself.

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_MLE_LIB_DIR");
    if let Ok(dir) = std::env::var("DEP_MLE_LIB_DIR") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
