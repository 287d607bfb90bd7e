// The recipe of docs/rust.md ("Running without LD_LIBRARY_PATH"), verbatim: an rpath to the directory
// in which mle-sys found libmle, passed on by the mle crate.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_MLE_RUST_LIB_DIR");
    if let Ok(dir) = std::env::var("DEP_MLE_RUST_LIB_DIR") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
