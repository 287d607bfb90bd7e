//! Finds libmle and tells cargo how to link it. The first of these that applies wins:
//!
//! 1. `$MLE_LIB_DIR`: the directory that holds `libmle.so`;
//! 2. the `build-from-source` feature: `go build -buildmode=c-shared` of `./capi` into `OUT_DIR`, from
//!    `$MLE_SOURCE_DIR` or the MLE repository this crate sits in (the Makefile's flags);
//! 3. pkg-config: `mle.pc`, as `cmake --install` writes it (`PKG_CONFIG_PATH` for a custom prefix);
//! 4. `<repository>/build`, when this crate sits in an MLE repository (development: `make lib`).
//!
//! When a step that was asked for fails (MLE_LIB_DIR without the library, a failed Go build, an `mle.pc`
//! whose libdir lacks the library) the build stops there; otherwise it goes on to the next one, and when
//! none applies it stops listing what it tried.
//!
//! The directory is also build-script metadata (`links = "mle"` → `DEP_MLE_LIB_DIR` in the build scripts
//! of direct dependents), because cargo does not pass a dependency's `rustc-link-arg` (the rpath) on.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{exit, Command};

/// The outcome of one search step.
enum Step {
    Found(PathBuf),
    /// Did not apply; why (and go on).
    Skipped(String),
    /// Was asked for and failed; why (and stop).
    Failed(String),
}

fn main() {
    for var in [
        "MLE_LIB_DIR",
        "MLE_SOURCE_DIR",
        "GO",
        "PKG_CONFIG",
        "PKG_CONFIG_PATH",
        "PKG_CONFIG_LIBDIR",
        "PKG_CONFIG_SYSROOT_DIR",
        "PKG_CONFIG_ALLOW_CROSS",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/lib.rs");

    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let abi = crate_abi(&manifest);
    // bindings/rust/mle-sys → the repository root, when the crate is used from a checkout (not once packaged).
    let repo = Some(manifest.join("../../..")).filter(|r| is_source_tree(r)).map(|r| r.canonicalize().unwrap_or(r));

    let mut tried = Vec::new();
    for step in 1..=4 {
        let outcome = match step {
            1 => from_env(abi),
            2 => from_source(abi, repo.as_deref()),
            3 => from_pkg_config(abi),
            _ => from_repository(abi, repo.as_deref(), &manifest),
        };
        match outcome {
            Step::Found(dir) => return emit(&dir),
            Step::Skipped(why) => tried.push(why),
            Step::Failed(why) => {
                tried.push(why);
                fail(abi, &tried, true);
            }
        }
    }
    fail(abi, &tried, false);
}

/// Prints what was tried and exits; `stopped`: the last step was asked for and failed.
fn fail(abi: u32, tried: &[String], stopped: bool) -> ! {
    eprintln!("error: mle-sys: no libmle to link against (C ABI {abi}). Tried, in order:");
    for (i, why) in tried.iter().enumerate() {
        eprintln!("  {}. {why}", i + 1);
    }
    if stopped {
        eprintln!("The build stops at a source that was asked for and failed. See docs/rust.md.");
        exit(1);
    }
    eprintln!(
        "Set MLE_LIB_DIR to the directory holding libmle.so; or install MLE (`cmake --install`, then \
         PKG_CONFIG_PATH=<prefix>/lib/pkgconfig if the prefix is not a standard one); or enable the \
         `build-from-source` feature (needs Go and the MLE source: MLE_SOURCE_DIR). See docs/rust.md."
    );
    exit(1);
}

/// The ABI version this crate was written for: the generated `MLE_ABI_VERSION` in src/lib.rs.
fn crate_abi(manifest: &Path) -> u32 {
    let src = fs::read_to_string(manifest.join("src/lib.rs")).expect("mle-sys: read src/lib.rs");
    src.lines()
        .find_map(|l| l.trim().strip_prefix("pub const MLE_ABI_VERSION: u32 = ")?.strip_suffix(';')?.parse().ok())
        .expect("mle-sys: no `pub const MLE_ABI_VERSION: u32 = N;` in src/lib.rs")
}

/// The `#define MLE_ABI_VERSION Nu` of a source tree's include/mle.h.
fn header_abi(src: &Path) -> Option<u32> {
    let h = fs::read_to_string(src.join("include/mle.h")).ok()?;
    h.lines().find_map(|l| l.strip_prefix("#define MLE_ABI_VERSION ")?.trim().strip_suffix('u')?.parse().ok())
}

fn is_source_tree(dir: &Path) -> bool {
    dir.join("go.mod").is_file() && dir.join("capi/libmle.map").is_file() && dir.join("include/mle.h").is_file()
}

/// Checks that `dir` holds a `libmle.so` this crate can use; returns the directory, canonical.
fn check_dir(dir: &Path, abi: u32) -> Result<PathBuf, String> {
    let lib = dir.join("libmle.so");
    if !lib.is_file() {
        return Err(format!("{} does not exist", lib.display()));
    }
    // libmle.so → libmle.so.N names the library's C ABI (its SONAME); a mismatch would only show at run
    // time (MLE_ERR_UNSUPPORTED from the first Model), so refuse it here. An unversioned file is allowed.
    if let Ok(target) = fs::read_link(&lib) {
        let name = target.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if let Some(n) = name.strip_prefix("libmle.so.").and_then(|v| v.split('.').next()?.parse::<u32>().ok()) {
            if n != abi {
                return Err(format!(
                    "{} links to {name}, C ABI {n}; this mle-sys {} needs ABI {abi}",
                    lib.display(),
                    env::var("CARGO_PKG_VERSION").unwrap_or_default()
                ));
            }
        }
    }
    Ok(dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()))
}

fn from_env(abi: u32) -> Step {
    match env::var_os("MLE_LIB_DIR") {
        Some(d) if !d.is_empty() => match check_dir(Path::new(&d), abi) {
            Ok(dir) => Step::Found(dir),
            Err(why) => Step::Failed(format!("MLE_LIB_DIR={}: {why}", Path::new(&d).display())),
        },
        _ => Step::Skipped("MLE_LIB_DIR: not set".into()),
    }
}

fn cross_compiling() -> bool {
    env::var("TARGET").ok() != env::var("HOST").ok()
}

fn from_source(abi: u32, repo: Option<&Path>) -> Step {
    if env::var_os("CARGO_FEATURE_BUILD_FROM_SOURCE").is_none() {
        return Step::Skipped("feature `build-from-source`: not enabled".into());
    }
    match build_from_source(abi, repo) {
        Ok(dir) => Step::Found(dir),
        Err(why) => Step::Failed(format!("feature `build-from-source`: {why}")),
    }
}

/// `go build -buildmode=c-shared` of ./capi into `$OUT_DIR/lib`, with the Makefile's LIB_LDFLAGS.
fn build_from_source(abi: u32, repo: Option<&Path>) -> Result<PathBuf, String> {
    let src = match env::var_os("MLE_SOURCE_DIR") {
        Some(d) if !d.is_empty() => {
            let d = PathBuf::from(d);
            if !is_source_tree(&d) {
                return Err(format!(
                    "MLE_SOURCE_DIR={} is not an MLE source tree (it needs go.mod, capi/libmle.map and include/mle.h)",
                    d.display()
                ));
            }
            d.canonicalize().unwrap_or(d)
        }
        _ => repo.map(Path::to_path_buf).ok_or(
            "no MLE source: MLE_SOURCE_DIR is not set and this crate does not sit in an MLE repository; \
             set MLE_SOURCE_DIR to a checkout of MLE",
        )?,
    };
    match header_abi(&src) {
        Some(n) if n == abi => {}
        n => {
            return Err(format!(
                "{} has C ABI {}, this mle-sys needs {abi}",
                src.join("include/mle.h").display(),
                n.map_or_else(|| "(none found)".to_string(), |n| n.to_string())
            ))
        }
    }
    if cross_compiling() {
        return Err(format!(
            "cross-compiling (target {}) is not supported: build libmle for the target and set MLE_LIB_DIR",
            env::var("TARGET").unwrap_or_default()
        ));
    }
    let go = env::var_os("GO").filter(|g| !g.is_empty()).unwrap_or_else(|| "go".into());
    let go_shown = Path::new(&go).display().to_string();
    match Command::new(&go).arg("version").output() {
        Ok(o) if o.status.success() => {}
        Ok(o) => return Err(format!("`{go_shown} version` failed: {}", String::from_utf8_lossy(&o.stderr).trim())),
        Err(e) => {
            return Err(format!(
                "`{go_shown}` not found ({e}): install Go (the version in {}), or set GO to the go command",
                src.join("go.mod").display()
            ))
        }
    }
    for p in ["capi", "core", "kernels", "go.mod", "go.sum", "include/mle.h"] {
        println!("cargo:rerun-if-changed={}", src.join(p).display());
    }

    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("lib");
    fs::create_dir_all(&out).map_err(|e| format!("create {}: {e}", out.display()))?;
    let soname = format!("libmle.so.{abi}");
    let map = src.join("capi/libmle.map");
    let map = map.to_str().filter(|m| !m.contains(['\'', ' '])).ok_or_else(|| {
        format!("{}: the source path must be UTF-8 without spaces or quotes (it goes into -ldflags)", map.display())
    })?;
    // As the Makefile's LIB_LDFLAGS: only mle_* exported, never unloaded, SONAME libmle.so.<ABI>.
    let ldflags = format!("-s -extldflags '-Wl,--version-script={map} -Wl,-z,nodelete -Wl,-soname,{soname}'");
    let tmp = out.join(format!("{soname}.tmp"));
    let output = Command::new(&go)
        .args(["build", "-buildmode=c-shared", "-trimpath"])
        .arg(format!("-ldflags={ldflags}"))
        .arg("-o")
        .arg(&tmp)
        .arg("./capi")
        .current_dir(&src)
        .env("CGO_ENABLED", "1")
        .output()
        .map_err(|e| format!("run {go_shown}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`{go_shown} build -buildmode=c-shared -trimpath -ldflags=\"{ldflags}\" -o {} ./capi` in {} failed:\n{}",
            tmp.display(),
            src.display(),
            String::from_utf8_lossy(&output.stderr).trim_end()
        ));
    }
    // Replace, not overwrite: a test still running keeps its mapping of the old file.
    fs::rename(&tmp, out.join(&soname)).map_err(|e| format!("rename {}: {e}", tmp.display()))?;
    let link = out.join("libmle.so");
    let _ = fs::remove_file(&link);
    #[cfg(unix)]
    std::os::unix::fs::symlink(&soname, &link).map_err(|e| format!("symlink {}: {e}", link.display()))?;
    #[cfg(not(unix))]
    fs::copy(out.join(&soname), &link).map_err(|e| format!("copy to {}: {e}", link.display()))?;
    // cgo's generated header is internal (include/mle.h is the public one).
    for entry in fs::read_dir(&out).map_err(|e| e.to_string())?.flatten() {
        if entry.path().extension().is_some_and(|x| x == "h") {
            let _ = fs::remove_file(entry.path());
        }
    }
    Ok(out)
}

fn from_pkg_config(abi: u32) -> Step {
    if cross_compiling() && env::var_os("PKG_CONFIG_ALLOW_CROSS").is_none() {
        return Step::Skipped("pkg-config: not used when cross-compiling (set PKG_CONFIG_ALLOW_CROSS=1)".into());
    }
    let prog = env::var_os("PKG_CONFIG").filter(|p| !p.is_empty()).unwrap_or_else(|| "pkg-config".into());
    let shown = format!("{} --variable=libdir mle", Path::new(&prog).display());
    let output = match Command::new(&prog).args(["--variable=libdir", "mle"]).output() {
        Ok(o) => o,
        Err(e) => return Step::Skipped(format!("pkg-config: `{shown}`: {e}")),
    };
    let libdir = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if !output.status.success() {
        let msg = String::from_utf8_lossy(&output.stderr);
        return Step::Skipped(format!("pkg-config: `{shown}`: {}", msg.trim().replace('\n', " ")));
    }
    if libdir.is_empty() {
        return Step::Failed(format!("pkg-config: `{shown}` printed nothing: mle.pc has no libdir"));
    }
    match check_dir(Path::new(&libdir), abi) {
        Ok(dir) => Step::Found(dir),
        Err(why) => Step::Failed(format!("pkg-config: mle.pc names libdir {libdir}: {why}")),
    }
}

fn from_repository(abi: u32, repo: Option<&Path>, manifest: &Path) -> Step {
    let Some(repo) = repo else {
        return Step::Skipped(format!(
            "<repository>/build: this crate does not sit in an MLE repository ({} has no capi/libmle.map)",
            manifest.join("../../..").display()
        ));
    };
    let dir = repo.join("build");
    match check_dir(&dir, abi) {
        Ok(dir) => Step::Found(dir),
        Err(why) => Step::Skipped(format!("{}: {why} (run `make lib` in {})", dir.display(), repo.display())),
    }
}

fn emit(dir: &Path) {
    let dir_s = dir.to_str().unwrap_or_else(|| panic!("mle-sys: library path {} is not UTF-8", dir.display()));
    // Relink when the library is rebuilt (`make lib` replaces it).
    println!("cargo:rerun-if-changed={}", dir.join("libmle.so").display());
    println!("cargo:rustc-link-search=native={dir_s}");
    println!("cargo:rustc-link-lib=dylib=mle");
    // For this crate's own tests; dependents add theirs from DEP_MLE_LIB_DIR.
    println!("cargo:rustc-link-arg=-Wl,-rpath,{dir_s}");
    // Metadata for direct dependents' build scripts (links = "mle" → DEP_MLE_LIB_DIR).
    println!("cargo:lib_dir={dir_s}");
}
