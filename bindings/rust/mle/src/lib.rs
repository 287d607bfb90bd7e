//! Safe Rust API of MLE, a runtime for machine-learning models stored in `.mle`
//! files. It wraps `libmle` (the C API in `include/mle.h`) through the
//! [`mle_sys`] crate.
//!
//! ```no_run
//! # fn main() -> mle::Result<()> {
//! let model = mle::Model::open("model.mle", &mle::OpenOptions::default())?;
//! let mut session = model.session()?;
//! let x = [0.5f32, -1.0, 2.0, 0.25];
//! let outputs = session.run(&[mle::TensorView::from_f32(&x, &[1, 4]).named("features")])?;
//! println!("{:?}", outputs[0].as_f32());
//! # Ok(()) }
//! ```
//!
//! Text columns are [`DType::String`] tensors: pass them with
//! [`TensorView::from_strings`] (`&[&str]`, `&[String]`, ...; packed once
//! into the form the library takes, docs/FORMAT.md §7.1) and read string
//! outputs with [`Tensor::to_strings`] (or borrow them with
//! [`Tensor::as_strs`]). Each element must be at most
//! [`sys::MLE_MAX_STRING_BYTES`] (1 MiB) of UTF-8 (`MLE_ERR_INVALID_STRING`);
//! strings for a number input, or numbers for a string input, are
//! `MLE_ERR_DTYPE`.
//!
//! ```no_run
//! # fn main() -> mle::Result<()> {
//! # let model = mle::Model::open("model.mle", &mle::OpenOptions::default())?;
//! let city = ["Lyon", "東京"];
//! let age = [31.0f64, 45.0];
//! let outputs = model.run(&[
//!     mle::TensorView::from_strings(&city, &[2])?.named("city"),
//!     mle::TensorView::from_f64(&age, &[2]).named("age"),
//! ])?;
//! let labels: Option<Vec<String>> = outputs[0].to_strings(); // None unless a string output
//! # Ok(()) }
//! ```
//!
//! Thread safety follows the C library: a [`Model`] is `Send + Sync` (share
//! it with `Arc` or a scoped borrow) and [`Model::run`] may be called from any
//! number of threads at once, through the library's bounded session pool
//! ([`ModelOptions`]); a [`Session`] and a [`Builder`] are `Send` but not
//! `Sync` and take `&mut self`, so one thread uses each at a time. A `Session`
//! does not borrow its `Model`: the library keeps the model's data alive while
//! sessions exist.
//!
//! Every failure is an [`Error`] carrying the library's status code
//! (`status()`, e.g. 516 `MLE_ERR_FORMAT_BAD_MAGIC`), its class (`primary()`,
//! [`kind()`](Error::kind)) and message; nothing panics on a library error.
//! The constants of `mle.h` are in [`status`].
//!
//! No model and no input can abort, hang or exhaust the process: memory a run
//! needs is checked against [`OpenOptions::max_arena_bytes`] before it is
//! allocated ([`ErrorKind::NoMemory`]; per session: [`SessionOptions`]), and
//! [`Session::run_with`] and [`Model::run_with`] take a timeout and a cancel
//! flag ([`RunOptions`]; [`ErrorKind::Timeout`], [`ErrorKind::Cancelled`]).
//!
//! Signed and encrypted models: [`keygen`], [`sign_file`], [`encrypt_file`]
//! and [`decrypt_file`] write them; [`OpenOptions::key`],
//! [`OpenOptions::trusted_key`] and [`OpenOptions::require_signature`] open
//! them. Every refusal is [`ErrorKind::Security`], its `status()` naming
//! which check failed (`MLE_ERR_SIGNATURE_UNTRUSTED`, `MLE_ERR_KEY_WRONG`, ...).

#[cfg(target_endian = "big")]
compile_error!("MLE tensors are little-endian; this crate supports little-endian targets only");

mod builder;
mod dtype;
mod error;
mod model;
mod session;
mod strings;
mod tensor;
mod trust;

pub use builder::Builder;
pub use dtype::{DType, Element};
pub use error::{status_string, Error, ErrorKind, Result};
pub use model::{Device, IoInfo, Model, ModelOptions, OpenOptions};
pub use session::{RunOptions, Session, SessionOptions};
pub use tensor::{Tensor, TensorView};
pub use trust::{decrypt_file, encrypt_file, keygen, sign_file};

/// The raw C bindings.
pub use mle_sys as sys;

/// The status codes of `mle.h` (`MLE_OK`, `MLE_ERR_DTYPE`, `MLE_ERR_IO_OPEN`, ...).
pub use mle_sys::status;

/// Version of the loaded library, e.g. `"0.1.0"`.
pub fn version() -> &'static str {
    // SAFETY: mle_version returns a NUL-terminated string in static storage.
    unsafe { std::ffi::CStr::from_ptr(sys::mle_version()) }.to_str().unwrap_or("")
}

/// ABI version of the loaded library; this crate needs [`sys::MLE_ABI_VERSION`]
/// (checked when the first `Model` or `Builder` is created).
pub fn abi_version() -> u32 {
    // SAFETY: no arguments.
    unsafe { sys::mle_abi_version() }
}

// The thread-safety mapping of mle.h, checked at compile time.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    const fn send<T: Send>() {}
    send_sync::<Model>();
    send::<Session>();
    send::<Builder>();
    send_sync::<Tensor>();
    send_sync::<Error>();
    send_sync::<RunOptions<'static>>();
    send_sync::<ModelOptions>();
    send_sync::<OpenOptions>();
    send_sync::<SessionOptions>();
    // RunOptions hands the library an AtomicI32 as its `const volatile int32_t *`.
    assert!(std::mem::size_of::<std::sync::atomic::AtomicI32>() == 4);
    assert!(std::mem::align_of::<std::sync::atomic::AtomicI32>() == 4);
};
