//! Each crate ships a copy of the repository's LICENSE (a published crate holds only its own directory),
//! so the copies must not drift from it.

use std::path::Path;

#[test]
fn crate_licenses_are_the_repository_license() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..");
    let read = |p: &Path| std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let want = read(&root.join("LICENSE"));
    assert!(String::from_utf8_lossy(&want).contains("Apache License"), "LICENSE is not the Apache-2.0 text");
    for krate in ["mle-sys", "mle"] {
        let copy = root.join("bindings/rust").join(krate).join("LICENSE");
        assert!(read(&copy) == want, "{} differs from the repository's LICENSE: copy it again", copy.display());
    }
}
