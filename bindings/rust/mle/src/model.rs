//! [`Model`]: an opened .mle file, and its [`OpenOptions`].

use std::ffi::{CStr, CString};
use std::fmt;
use std::path::Path;
use std::ptr::{self, NonNull};

use mle_sys as sys;

use crate::dtype::DType;
use crate::error::{call, check, Error, Result};
use crate::session::{run_tensors, RunOptions, Session, SessionOptions};
use crate::tensor::{Tensor, TensorView};

/// Where a model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Device {
    /// `MLE_DEVICE_CPU`.
    #[default]
    Cpu,
    /// `MLE_DEVICE_CUDA`: `MLE_ERR_UNSUPPORTED_DEVICE` in a CPU-only build.
    Cuda,
}

/// Options for [`Model::open`] and [`Model::open_memory`] (`mle_open_options`,
/// and `mle_trust_options` for keys).
///
/// `OpenOptions::default()` takes the library's `mle_default_open_options()`.
/// Set fields directly or chain the setters:
/// `OpenOptions::new().verify(true).threads(2)`. Values out of range (negative
/// threads, ...) are refused by the library with `MLE_ERR_INVALID_OPTIONS`.
///
/// Signed and encrypted files (docs/security.md): [`key`](OpenOptions::key)
/// opens an encrypted file, [`trusted_key`](OpenOptions::trusted_key) and
/// [`require_signature`](OpenOptions::require_signature) check signatures.
/// With any of them set the model is opened with `mle_model_open_with`.
///
/// ```no_run
/// # fn main() -> mle::Result<()> {
/// let pem = std::fs::read("signer.pub").expect("the public key");
/// let key = [7u8; 32]; // the file's encryption key
/// let opts = mle::OpenOptions::new().key(&key).trusted_key(&pem).require_signature(true);
/// let model = mle::Model::open("model.mle", &opts)?;
/// # Ok(()) }
/// ```
///
/// Non-exhaustive: a newer header may add options (the C struct carries its
/// size for that), so build it from `default()` rather than a struct literal.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpenOptions {
    /// Check every CRC, weights included.
    pub verify: bool,
    /// Read the file into memory instead of mapping it.
    pub read_all: bool,
    /// Intra-op threads; 0 = number of CPUs.
    pub threads: i32,
    /// Where to run.
    pub device: Device,
    /// Cap in bytes on all the memory a session allocates for one run
    /// (activation arena, kernel scratch, plan tables, staging copies and the
    /// outputs). A run that would need more fails with `MLE_ERR_NO_MEMORY_LIMIT`
    /// ([`ErrorKind::NoMemory`](crate::ErrorKind::NoMemory)) before allocating
    /// anything. 0 = the library's default: 16 GiB, or 3/4 of what this
    /// process may use (physical memory, cgroup limit, `RLIMIT_AS`,
    /// `RLIMIT_DATA`) if that is less. Negative: `MLE_ERR_INVALID_OPTIONS`.
    pub max_arena_bytes: i64,
    /// Ed25519 public keys, each PEM ("PUBLIC KEY", as a `.pub` file from
    /// [`keygen`](crate::keygen) holds) or 32 raw bytes. A signed file must
    /// then carry a valid signature by one of them
    /// (`MLE_ERR_SIGNATURE_UNTRUSTED`, `MLE_ERR_SIGNATURE_INVALID`); an
    /// unsigned file opens unless [`require_signature`](OpenOptions::require_signature)
    /// is set. Anything else is `MLE_ERR_KEY_INVALID`.
    pub trusted_keys: Vec<Vec<u8>>,
    /// Refuse an unsigned file (`MLE_ERR_SIGNATURE_REQUIRED`). Needs
    /// trusted keys (else `MLE_ERR_INVALID_OPTIONS`).
    pub require_signature: bool,
    // The encryption key: private, so that it is wiped on drop and never
    // printed by Debug.
    key: Option<SecretBytes>,
}

/// Key bytes that are zeroed when dropped and never printed.
#[derive(Clone, PartialEq, Eq)]
struct SecretBytes(Vec<u8>);

impl Drop for SecretBytes {
    fn drop(&mut self) {
        for b in self.0.iter_mut() {
            // SAFETY: b is a valid, exclusive &mut u8. Volatile, so the
            // stores to memory about to be freed are not optimized away.
            unsafe { ptr::write_volatile(b, 0) };
        }
        std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes>", self.0.len())
    }
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        // SAFETY: no arguments; returns a plain struct by value.
        let c = unsafe { sys::mle_default_open_options() };
        OpenOptions {
            verify: c.verify != 0,
            read_all: c.read_all != 0,
            threads: c.threads,
            device: if c.device == sys::MLE_DEVICE_CUDA { Device::Cuda } else { Device::Cpu },
            max_arena_bytes: c.max_arena_bytes,
            trusted_keys: Vec::new(),
            require_signature: false,
            key: None,
        }
    }
}

impl OpenOptions {
    /// The library's defaults (same as `Default`).
    pub fn new() -> OpenOptions {
        OpenOptions::default()
    }
    /// Sets [`verify`](OpenOptions::verify).
    #[must_use]
    pub fn verify(mut self, yes: bool) -> OpenOptions {
        self.verify = yes;
        self
    }
    /// Sets [`read_all`](OpenOptions::read_all).
    #[must_use]
    pub fn read_all(mut self, yes: bool) -> OpenOptions {
        self.read_all = yes;
        self
    }
    /// Sets [`threads`](OpenOptions::threads).
    #[must_use]
    pub fn threads(mut self, n: i32) -> OpenOptions {
        self.threads = n;
        self
    }
    /// Sets [`device`](OpenOptions::device).
    #[must_use]
    pub fn device(mut self, d: Device) -> OpenOptions {
        self.device = d;
        self
    }
    /// Sets [`max_arena_bytes`](OpenOptions::max_arena_bytes).
    #[must_use]
    pub fn max_arena_bytes(mut self, n: i64) -> OpenOptions {
        self.max_arena_bytes = n;
        self
    }

    /// Sets the 32-byte key of an encrypted file (copied; wiped when these
    /// options are dropped). Without it an encrypted file is
    /// `MLE_ERR_KEY_REQUIRED`; another key is `MLE_ERR_KEY_WRONG`, another
    /// length `MLE_ERR_KEY_INVALID`. A plain file ignores it.
    #[must_use]
    pub fn key(mut self, key: &[u8]) -> OpenOptions {
        self.key = Some(SecretBytes(key.to_vec()));
        self
    }
    /// Adds a trusted Ed25519 public key (PEM or 32 raw bytes) to
    /// [`trusted_keys`](OpenOptions::trusted_keys).
    #[must_use]
    pub fn trusted_key(mut self, public_key: &[u8]) -> OpenOptions {
        self.trusted_keys.push(public_key.to_vec());
        self
    }
    /// Sets [`require_signature`](OpenOptions::require_signature).
    #[must_use]
    pub fn require_signature(mut self, yes: bool) -> OpenOptions {
        self.require_signature = yes;
        self
    }

    /// Calls `f` with the `mle_trust_options` of these options, or NULL when
    /// no key option is set. The struct and the arrays it points to live
    /// until `f` returns (the library copies what it keeps).
    pub(crate) fn with_trust<R>(&self, f: impl FnOnce(*const sys::mle_trust_options) -> R) -> R {
        if self.key.is_none() && self.trusted_keys.is_empty() && !self.require_signature {
            return f(ptr::null());
        }
        let ptrs: Vec<*const std::ffi::c_void> = self.trusted_keys.iter().map(|k| k.as_ptr().cast()).collect();
        let lens: Vec<usize> = self.trusted_keys.iter().map(Vec::len).collect();
        // SAFETY: no arguments; returns a plain struct by value.
        let mut t = unsafe { sys::mle_default_trust_options() };
        if let Some(key) = &self.key {
            // A non-NULL pointer even for an empty key: NULL means "no key".
            t.key =
                if key.0.is_empty() { ptr::NonNull::<u8>::dangling().as_ptr().cast() } else { key.0.as_ptr().cast() };
            t.key_len = key.0.len();
        }
        if !ptrs.is_empty() {
            t.trusted_keys = ptrs.as_ptr();
            t.trusted_key_lens = lens.as_ptr();
            t.n_trusted_keys = ptrs.len();
        }
        t.require_signature = i32::from(self.require_signature);
        f(&t)
    }

    /// The C struct, `struct_size` set by `mle_default_open_options`.
    pub fn to_c(&self) -> sys::mle_open_options {
        // SAFETY: no arguments; returns a plain struct by value.
        let mut c = unsafe { sys::mle_default_open_options() };
        c.verify = i32::from(self.verify);
        c.read_all = i32::from(self.read_all);
        c.threads = self.threads;
        c.device = match self.device {
            Device::Cpu => sys::MLE_DEVICE_CPU,
            Device::Cuda => sys::MLE_DEVICE_CUDA,
        };
        c.max_arena_bytes = self.max_arena_bytes;
        c
    }
}

/// Serving options of a [`Model`] ([`Model::set_options`]; `mle_model_options`):
/// how [`Model::run`] shares the model between threads.
///
/// `ModelOptions::default()` takes the library's `mle_default_model_options()`
/// (one session per CPU, 1 ms of spinning). Values out of range are refused
/// with `MLE_ERR_INVALID_OPTIONS`. Non-exhaustive, like [`OpenOptions`]:
/// start from `default()`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ModelOptions {
    /// The most sessions [`Model::run`] keeps and runs at once; further
    /// concurrent calls wait for one (within their timeout and cancel flag).
    /// 0 = the number of CPUs, at most 65536.
    pub max_sessions: i32,
    /// Microseconds an idle intra-op worker thread spins for new work before
    /// it sleeps: back-to-back runs then start without a wake-up, at the
    /// price of CPU time. 0 = the default (1000), -1 = never spin, at most
    /// 100000.
    pub spin_us: i32,
}

impl Default for ModelOptions {
    fn default() -> ModelOptions {
        // SAFETY: no arguments; returns a plain struct by value.
        let c = unsafe { sys::mle_default_model_options() };
        ModelOptions { max_sessions: c.max_sessions, spin_us: c.spin_us }
    }
}

impl ModelOptions {
    /// The library's defaults (same as `Default`).
    pub fn new() -> ModelOptions {
        ModelOptions::default()
    }
    /// Sets [`max_sessions`](ModelOptions::max_sessions).
    #[must_use]
    pub fn max_sessions(mut self, n: i32) -> ModelOptions {
        self.max_sessions = n;
        self
    }
    /// Sets [`spin_us`](ModelOptions::spin_us).
    #[must_use]
    pub fn spin_us(mut self, us: i32) -> ModelOptions {
        self.spin_us = us;
        self
    }

    /// The C struct, `struct_size` set by `mle_default_model_options`.
    pub fn to_c(&self) -> sys::mle_model_options {
        // SAFETY: no arguments; returns a plain struct by value.
        let mut c = unsafe { sys::mle_default_model_options() };
        c.max_sessions = self.max_sessions;
        c.spin_us = self.spin_us;
        c
    }
}

/// A graph input or output: name, dtype and shape (-1 = sized at run time).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IoInfo {
    /// The name to bind inputs to / select outputs by.
    pub name: String,
    /// Element type.
    pub dtype: DType,
    /// Dimensions; -1 marks one sized at run time.
    pub shape: Vec<i64>,
}

/// Checks once that the loaded libmle speaks `MLE_ABI_VERSION`.
pub(crate) fn check_abi() -> Result<()> {
    static ABI: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    // SAFETY: no arguments.
    let abi = *ABI.get_or_init(|| unsafe { sys::mle_abi_version() });
    if abi == sys::MLE_ABI_VERSION {
        Ok(())
    } else {
        Err(Error::new(
            sys::MLE_ERR_UNSUPPORTED,
            format!("libmle has ABI version {abi}; this crate speaks {}", sys::MLE_ABI_VERSION),
        ))
    }
}

/// A path as a C string (`MLE_ERR_INVALID_VALUE` if it contains NUL).
pub(crate) fn path_cstring(path: &Path) -> Result<CString> {
    #[cfg(unix)]
    let bytes = {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let bytes = path
        .to_str()
        .ok_or_else(|| Error::new(sys::MLE_ERR_INVALID_VALUE, format!("path {path:?} is not UTF-8")))?
        .as_bytes()
        .to_vec();
    CString::new(bytes)
        .map_err(|_| Error::new(sys::MLE_ERR_INVALID_VALUE, format!("path {path:?} contains a NUL byte")))
}

/// An opened model: shareable between threads (`Send + Sync`; wrap it in an
/// `Arc` or borrow it). Run it from any number of threads at once with
/// [`Model::run`] (sessions borrowed from the library's bounded pool, see
/// [`ModelOptions`]), or through [`Session`]s of your own, one per thread.
/// Dropping it frees the handle; sessions made from it keep working, because
/// the library keeps the model's data alive while they exist.
pub struct Model {
    h: NonNull<sys::mle_model>,
    n_outputs: usize,
}

// SAFETY: mle.h: "mle_model: immutable; any function on it may be called from
// any thread concurrently" (mle_model_run and mle_model_set_options
// included), and freeing it while sessions live is allowed. The handle is an
// opaque checked token, not a pointer into Rust memory.
unsafe impl Send for Model {}
// SAFETY: see Send: every function on a model may run concurrently.
unsafe impl Sync for Model {}

impl Model {
    /// Opens and validates the .mle file at `path` (memory-mapped unless
    /// `options.read_all`; every CRC checked if `options.verify`), with the
    /// keys of `options` if any (signature checked, file decrypted).
    pub fn open(path: impl AsRef<Path>, options: &OpenOptions) -> Result<Model> {
        check_abi()?;
        let path = path_cstring(path.as_ref())?;
        let opts = options.to_c();
        let mut h = ptr::null_mut();
        options.with_trust(|trust| {
            if trust.is_null() {
                // SAFETY: path is NUL-terminated and opts a valid struct, both
                // alive for the call (the library keeps no pointer); h and err
                // are valid out-pointers.
                call(|err| unsafe { sys::mle_model_open(path.as_ptr(), &opts, &mut h, err) })
            } else {
                // SAFETY: as above; trust and every buffer it points to live
                // until with_trust returns, after the call (the library
                // copies them).
                call(|err| unsafe { sys::mle_model_open_with(path.as_ptr(), &opts, trust, &mut h, err) })
            }
        })?;
        Model::from_raw(h)
    }

    /// Opens a model from the bytes of a whole .mle file (e.g.
    /// [`Builder::serialize`](crate::Builder::serialize)). The bytes are
    /// copied: the slice may be dropped afterwards.
    pub fn open_memory(bytes: &[u8], options: &OpenOptions) -> Result<Model> {
        check_abi()?;
        let opts = options.to_c();
        let mut h = ptr::null_mut();
        let (data, len) = (bytes.as_ptr().cast(), bytes.len());
        options.with_trust(|trust| {
            if trust.is_null() {
                // SAFETY: bytes is valid for bytes.len() reads during the call
                // (the library copies it); opts, h and err are valid pointers.
                call(|err| unsafe { sys::mle_model_open_memory(data, len, &opts, &mut h, err) })
            } else {
                // SAFETY: as above; trust and its buffers live until
                // with_trust returns, after the call.
                call(|err| unsafe { sys::mle_model_open_memory_with(data, len, &opts, trust, &mut h, err) })
            }
        })?;
        Model::from_raw(h)
    }

    fn from_raw(h: *mut sys::mle_model) -> Result<Model> {
        let h = NonNull::new(h)
            .ok_or_else(|| Error::new(sys::MLE_ERR_INTERNAL, "mle_model_open returned MLE_OK but no handle"))?;
        let mut model = Model { h, n_outputs: 0 };
        model.n_outputs = model.output_count()?; // on error, dropping model frees the handle
        Ok(model)
    }

    /// The raw handle, owned by this `Model` (for calls into `mle_sys`).
    pub fn as_raw(&self) -> *mut sys::mle_model {
        self.h.as_ptr()
    }

    /// The METADATA section's JSON (name, producer, version, inputs, outputs, ...).
    pub fn metadata(&self) -> Result<String> {
        let mut len = 0usize;
        // SAFETY: the handle is live; buf NULL with cap 0 only queries the length.
        call(|err| unsafe { sys::mle_model_metadata(self.as_raw(), ptr::null_mut(), 0, &mut len, err) })?;
        let mut buf = vec![0u8; len + 1];
        let mut got = 0usize;
        // SAFETY: buf is writable for buf.len() bytes, which the library
        // checks against cap before writing.
        call(|err| unsafe {
            sys::mle_model_metadata(self.as_raw(), buf.as_mut_ptr().cast(), buf.len(), &mut got, err)
        })?;
        if got > len {
            return Err(Error::new(sys::MLE_ERR_INTERNAL, "metadata length changed between calls"));
        }
        buf.truncate(got);
        String::from_utf8(buf)
            .map_err(|e| Error::new(sys::MLE_ERR_METADATA_UTF8, format!("metadata JSON is not UTF-8: {e}")))
    }

    /// The graph's inputs, in order.
    pub fn inputs(&self) -> Result<Vec<IoInfo>> {
        self.infos(sys::mle_model_input_count, sys::mle_model_input_info)
    }

    /// The graph's outputs, in order.
    pub fn outputs(&self) -> Result<Vec<IoInfo>> {
        self.infos(sys::mle_model_output_count, sys::mle_model_output_info)
    }

    /// Number of graph outputs.
    pub(crate) fn n_outputs(&self) -> usize {
        self.n_outputs
    }

    fn output_count(&self) -> Result<usize> {
        let mut n = 0usize;
        // SAFETY: live handle, valid out-pointer.
        check(unsafe { sys::mle_model_output_count(self.as_raw(), &mut n) })?;
        Ok(n)
    }

    fn infos(
        &self,
        count: unsafe extern "C" fn(*mut sys::mle_model, *mut usize) -> u32,
        info: unsafe extern "C" fn(*mut sys::mle_model, usize, *mut sys::mle_io_info, *mut *mut sys::mle_error) -> u32,
    ) -> Result<Vec<IoInfo>> {
        let mut n = 0usize;
        // SAFETY: live handle, valid out-pointer.
        check(unsafe { count(self.as_raw(), &mut n) })?;
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let mut c = sys::mle_io_info {
                struct_size: std::mem::size_of::<sys::mle_io_info>(),
                name: ptr::null(),
                dtype: 0,
                rank: 0,
                shape: [0; sys::MLE_MAX_RANK],
            };
            // SAFETY: live handle, i < count, c is a valid mle_io_info with
            // struct_size set.
            call(|err| unsafe { info(self.as_raw(), i, &mut c, err) })?;
            if c.name.is_null() {
                return Err(Error::new(sys::MLE_ERR_INTERNAL, format!("io info {i} has no name")));
            }
            // SAFETY: the name is NUL-terminated and valid while the model
            // handle lives, which &self guarantees; it is copied at once.
            let name = unsafe { CStr::from_ptr(c.name) }.to_string_lossy().into_owned();
            out.push(IoInfo { name, dtype: dtype_from_lib(c.dtype)?, shape: shape_from_lib(&c.shape, c.rank)? });
        }
        Ok(out)
    }

    /// A new session of this model. Same as [`Session::new`].
    pub fn session(&self) -> Result<Session> {
        Session::new(self)
    }

    /// A new session of this model with options. Same as
    /// [`Session::with_options`].
    pub fn session_with(&self, options: &SessionOptions) -> Result<Session> {
        Session::with_options(self, options)
    }

    /// Changes the serving options (`mle_model_set_options`); runs that start
    /// afterwards use them, and lowering `max_sessions` lets the runs in
    /// progress finish. Any thread, at any time.
    pub fn set_options(&self, options: &ModelOptions) -> Result<()> {
        let opts = options.to_c();
        // SAFETY: the handle is live (&self) and the call is thread-safe
        // (mle.h); opts is a valid struct alive for the call.
        call(|err| unsafe { sys::mle_model_set_options(self.as_raw(), &opts, err) })
    }

    /// Runs the model without a session of your own (`mle_model_run`): any
    /// number of threads may call it at once on one `&Model`. Each call
    /// borrows a session from the model's pool; at most
    /// [`max_sessions`](ModelOptions::max_sessions) run together and the
    /// others wait for one. Inputs and outputs as [`Session::run`]: every
    /// output, in graph order.
    pub fn run(&self, inputs: &[TensorView<'_>]) -> Result<Vec<Tensor>> {
        self.run_impl(inputs, None, None)
    }

    /// [`run`](Model::run) with a timeout and/or a cancel flag, which also
    /// bound the wait for a pooled session (see [`Session::run_with`]).
    pub fn run_with(&self, inputs: &[TensorView<'_>], options: &RunOptions<'_>) -> Result<Vec<Tensor>> {
        self.run_impl(inputs, None, Some(options))
    }

    /// [`run`](Model::run) for the named outputs only (see
    /// [`Session::run_named`]).
    pub fn run_named(&self, inputs: &[TensorView<'_>], outputs: &[&str]) -> Result<Vec<Tensor>> {
        self.run_impl(inputs, Some(outputs), None)
    }

    /// [`run_named`](Model::run_named) with a timeout and/or a cancel flag.
    pub fn run_named_with(
        &self,
        inputs: &[TensorView<'_>],
        outputs: &[&str],
        options: &RunOptions<'_>,
    ) -> Result<Vec<Tensor>> {
        self.run_impl(inputs, Some(outputs), Some(options))
    }

    fn run_impl(
        &self,
        inputs: &[TensorView<'_>],
        names: Option<&[&str]>,
        options: Option<&RunOptions<'_>>,
    ) -> Result<Vec<Tensor>> {
        run_tensors(inputs, names, self.n_outputs, options, |c_in, c_out, opts, err| {
            // SAFETY: the handle is live for the whole call (&self), so the
            // output names it sets stay valid until run_tensors copies them;
            // mle_model_run may run on many threads at once (mle.h). The
            // arrays, names, data and options are valid for the call (see
            // run_tensors).
            unsafe {
                sys::mle_model_run(self.as_raw(), c_in.as_ptr(), c_in.len(), c_out.as_mut_ptr(), c_out.len(), opts, err)
            }
        })
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: the handle is live and owned by this Model alone; it is not
        // used after this. Sessions made from it stay valid (mle.h). The
        // status cannot be reported from drop; it can only be MLE_OK here.
        unsafe { sys::mle_model_free(self.h.as_ptr()) };
    }
}

impl fmt::Debug for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Model").field("handle", &self.h).field("outputs", &self.n_outputs).finish()
    }
}

/// A dtype id reported by the library.
pub(crate) fn dtype_from_lib(id: i32) -> Result<DType> {
    DType::from_id(id)
        .ok_or_else(|| Error::new(sys::MLE_ERR_INTERNAL, format!("libmle reported unknown dtype id {id}")))
}

/// A shape reported by the library.
pub(crate) fn shape_from_lib(dims: &[i64; sys::MLE_MAX_RANK], rank: i32) -> Result<Vec<i64>> {
    match usize::try_from(rank) {
        Ok(r) if r <= sys::MLE_MAX_RANK => Ok(dims[..r].to_vec()),
        _ => Err(Error::new(sys::MLE_ERR_INTERNAL, format!("libmle reported rank {rank}"))),
    }
}
