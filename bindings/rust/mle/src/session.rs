//! [`Session`]: runs a model.

use std::ffi::{CStr, CString};
use std::fmt;
use std::ptr::{self, NonNull};
use std::sync::atomic::AtomicI32;
use std::time::Duration;

use mle_sys as sys;

use crate::dtype::DType;
use crate::error::{call, cstring, Error, Result};
use crate::model::{dtype_from_lib, shape_from_lib, Model};
use crate::tensor::{element_count, Tensor, TensorView};

/// Options of one run ([`Session::run_with`], [`Model::run_with`]): a timeout
/// and a cancel flag.
///
/// ```no_run
/// # fn main() -> mle::Result<()> {
/// use std::sync::atomic::{AtomicI32, Ordering};
/// use std::time::Duration;
///
/// # let model = mle::Model::open("model.mle", &mle::OpenOptions::default())?;
/// # let mut session = model.session()?;
/// # let x = [0.5f32; 4];
/// let stop = AtomicI32::new(0); // another thread may `stop.store(1, Ordering::Relaxed)`
/// let opts = mle::RunOptions::new().timeout(Duration::from_millis(100)).cancel(&stop);
/// match session.run_with(&[mle::TensorView::from_f32(&x, &[1, 4])], &opts) {
///     Ok(outputs) => println!("{:?}", outputs[0].as_f32()),
///     Err(e) if e.kind() == mle::ErrorKind::Timeout => println!("took over 100 ms"),
///     Err(e) if e.kind() == mle::ErrorKind::Cancelled => println!("cancelled"),
///     Err(e) => return Err(e),
/// }
/// # Ok(()) }
/// ```
///
/// Both are checked between nodes and between ~1 ms chunks of long kernels,
/// so a run stops within about a millisecond of work once the flag is set or
/// the time is up. A stopped run returns no outputs; the session stays usable.
/// Through [`Model::run_with`], the time spent waiting for one of the model's
/// pooled sessions counts against the timeout, and the flag stops the wait.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct RunOptions<'a> {
    /// `Some(d)`: the run fails with [`ErrorKind::Timeout`](crate::ErrorKind::Timeout)
    /// (`MLE_ERR_CANCELLED_DEADLINE`) once it has taken `d`, rounded up to a
    /// whole microsecond (so `Duration::ZERO` is a deadline already past).
    /// `None`: no limit.
    pub timeout: Option<Duration>,
    /// The run fails with [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled)
    /// (`MLE_ERR_CANCELLED`) soon after the flag becomes non-zero; a run
    /// started with it non-zero does no work. Set it from any thread. The
    /// library only reads it, and only during the call.
    pub cancel: Option<&'a AtomicI32>,
}

impl<'a> RunOptions<'a> {
    /// No timeout, no cancel flag (same as `Default`).
    pub fn new() -> RunOptions<'a> {
        RunOptions::default()
    }
    /// Sets [`timeout`](RunOptions::timeout).
    #[must_use]
    pub fn timeout(mut self, limit: Duration) -> RunOptions<'a> {
        self.timeout = Some(limit);
        self
    }
    /// Sets [`cancel`](RunOptions::cancel).
    #[must_use]
    pub fn cancel(mut self, flag: &'a AtomicI32) -> RunOptions<'a> {
        self.cancel = Some(flag);
        self
    }

    /// The C struct. Its `cancel` pointer borrows the flag: use the struct
    /// only while this `RunOptions` (and so the flag) is alive.
    pub fn to_c(&self) -> sys::mle_run_options {
        // SAFETY: no arguments; returns a plain struct by value.
        let mut c = unsafe { sys::mle_default_run_options() };
        if let Some(limit) = self.timeout {
            // At least 1 µs: 0 would mean "no limit" to the library.
            c.timeout_us = i64::try_from(limit.as_nanos().div_ceil(1000)).unwrap_or(i64::MAX).max(1);
        }
        if let Some(flag) = self.cancel {
            // AtomicI32 has the layout of i32; the library reads it with
            // atomic loads, so stores from other threads race with nothing.
            c.cancel = flag.as_ptr().cast_const();
        }
        c
    }
}

/// Options of one session ([`Session::with_options`], [`Model::session_with`];
/// `mle_session_options`).
///
/// `SessionOptions::default()` takes the library's
/// `mle_default_session_options()`: the model's memory cap, 16 cached plans.
/// Values out of range are refused with `MLE_ERR_INVALID_OPTIONS` when the
/// session is made. Non-exhaustive, like [`OpenOptions`](crate::OpenOptions):
/// start from `default()`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionOptions {
    /// This session's cap in bytes on the memory one run allocates (see
    /// [`OpenOptions::max_arena_bytes`](crate::OpenOptions::max_arena_bytes));
    /// a run that needs more fails with `MLE_ERR_NO_MEMORY_LIMIT`. 0 = the
    /// model's cap. Negative: `MLE_ERR_INVALID_OPTIONS`.
    pub max_arena_bytes: i64,
    /// Plans kept, one per distinct set of input shapes and outputs (a plan
    /// is the shapes, arena layout and bound kernels): runs that vary their
    /// shapes over more than this replan. 0 = 16, at most 4096.
    pub max_cached_plans: i32,
}

impl Default for SessionOptions {
    fn default() -> SessionOptions {
        // SAFETY: no arguments; returns a plain struct by value.
        let c = unsafe { sys::mle_default_session_options() };
        SessionOptions { max_arena_bytes: c.max_arena_bytes, max_cached_plans: c.max_cached_plans }
    }
}

impl SessionOptions {
    /// The library's defaults (same as `Default`).
    pub fn new() -> SessionOptions {
        SessionOptions::default()
    }
    /// Sets [`max_arena_bytes`](SessionOptions::max_arena_bytes).
    #[must_use]
    pub fn max_arena_bytes(mut self, n: i64) -> SessionOptions {
        self.max_arena_bytes = n;
        self
    }
    /// Sets [`max_cached_plans`](SessionOptions::max_cached_plans).
    #[must_use]
    pub fn max_cached_plans(mut self, n: i32) -> SessionOptions {
        self.max_cached_plans = n;
        self
    }

    /// The C struct, `struct_size` set by `mle_default_session_options`.
    pub fn to_c(&self) -> sys::mle_session_options {
        // SAFETY: no arguments; returns a plain struct by value.
        let mut c = unsafe { sys::mle_default_session_options() };
        c.max_arena_bytes = self.max_arena_bytes;
        c.max_cached_plans = self.max_cached_plans;
        c
    }
}

/// Per-thread run state of a model: its activation arena and cached plans.
///
/// `Send` but not `Sync`: a session moves between threads but is used by one
/// at a time, which `run(&mut self)` enforces at compile time (the library
/// would refuse a concurrent call with `MLE_ERR_BUSY`). Make one session per
/// thread from a shared [`Model`].
///
/// A session does not borrow its model: the library keeps the model's data
/// alive while a session exists, so the `Model` may be dropped first.
///
/// [`Model::run`] needs no session (it borrows one from the model's pool);
/// a `Session` of your own keeps its arena and plans to itself and takes
/// [`SessionOptions`].
///
/// ```compile_fail,E0277
/// fn shared<T: Sync>() {}
/// shared::<mle::Session>(); // a Session is not Sync
/// ```
pub struct Session {
    h: NonNull<sys::mle_session>,
    n_outputs: usize,
}

// SAFETY: mle.h: "mle_session: one thread at a time" — not bound to the
// thread that made it. Moving the owning Session to another thread keeps one
// user at a time. (No Sync: &Session gives no access to the handle anyway,
// and run takes &mut self.)
unsafe impl Send for Session {}

/// A zeroed `mle_tensor`.
fn empty_tensor() -> sys::mle_tensor {
    sys::mle_tensor {
        name: ptr::null(),
        dtype: 0,
        rank: 0,
        shape: [0; sys::MLE_MAX_RANK],
        data: ptr::null_mut(),
        nbytes: 0,
    }
}

impl Session {
    /// A new session of `model`.
    pub fn new(model: &Model) -> Result<Session> {
        let mut h = ptr::null_mut();
        // SAFETY: the model handle is live (&Model); h and err are valid out-pointers.
        call(|err| unsafe { sys::mle_session_new(model.as_raw(), &mut h, err) })?;
        Session::from_raw(h, model)
    }

    /// A new session of `model` with `options` (`mle_session_new_opts`).
    pub fn with_options(model: &Model, options: &SessionOptions) -> Result<Session> {
        let opts = options.to_c();
        let mut h = ptr::null_mut();
        // SAFETY: the model handle is live (&Model); opts is a valid struct
        // alive for the call; h and err are valid out-pointers.
        call(|err| unsafe { sys::mle_session_new_opts(model.as_raw(), &opts, &mut h, err) })?;
        Session::from_raw(h, model)
    }

    fn from_raw(h: *mut sys::mle_session, model: &Model) -> Result<Session> {
        let h = NonNull::new(h)
            .ok_or_else(|| Error::new(sys::MLE_ERR_INTERNAL, "mle_session_new returned MLE_OK but no handle"))?;
        Ok(Session { h, n_outputs: model.n_outputs() })
    }

    /// The raw handle, owned by this `Session` (for calls into `mle_sys`).
    pub fn as_raw(&mut self) -> *mut sys::mle_session {
        self.h.as_ptr()
    }

    /// Runs the model and returns every output, in graph order.
    ///
    /// `inputs` holds one view per graph input, bound by name (or by position
    /// where `name` is `None`). A run with the same input shapes as an earlier
    /// one reuses its plan and arena.
    ///
    /// The run cannot be interrupted; use [`run_with`](Session::run_with) for
    /// a timeout or a cancel flag.
    pub fn run(&mut self, inputs: &[TensorView<'_>]) -> Result<Vec<Tensor>> {
        self.run_impl(inputs, None, None)
    }

    /// [`run`](Session::run) with a timeout and/or a cancel flag. A run that
    /// is stopped fails with [`ErrorKind::Timeout`](crate::ErrorKind::Timeout)
    /// or [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled) and returns
    /// no outputs.
    pub fn run_with(&mut self, inputs: &[TensorView<'_>], options: &RunOptions<'_>) -> Result<Vec<Tensor>> {
        self.run_impl(inputs, None, Some(options))
    }

    /// Runs the model for the named outputs only (1 to all of them, in the
    /// order asked): nodes that feed none of them do not run. An unknown name
    /// is `MLE_ERR_INVALID_NAME`.
    pub fn run_named(&mut self, inputs: &[TensorView<'_>], outputs: &[&str]) -> Result<Vec<Tensor>> {
        self.run_impl(inputs, Some(outputs), None)
    }

    /// [`run_named`](Session::run_named) with a timeout and/or a cancel flag
    /// (see [`run_with`](Session::run_with)).
    pub fn run_named_with(
        &mut self,
        inputs: &[TensorView<'_>],
        outputs: &[&str],
        options: &RunOptions<'_>,
    ) -> Result<Vec<Tensor>> {
        self.run_impl(inputs, Some(outputs), Some(options))
    }

    fn run_impl(
        &mut self,
        inputs: &[TensorView<'_>],
        names: Option<&[&str]>,
        options: Option<&RunOptions<'_>>,
    ) -> Result<Vec<Tensor>> {
        let h = self.h.as_ptr();
        run_tensors(inputs, names, self.n_outputs, options, |c_in, c_out, opts, err| {
            // SAFETY: the handle is live and used by this thread alone (&mut
            // self); the arrays, names, data and options are valid for the
            // call (see run_tensors).
            unsafe {
                sys::mle_session_run_opts(h, c_in.as_ptr(), c_in.len(), c_out.as_mut_ptr(), c_out.len(), opts, err)
            }
        })
    }
}

/// The C side of a run for [`Session`] and [`Model::run`]: converts `inputs`
/// and the output `names` (`None`: the first `n_outputs`, all of them) to
/// `mle_tensor`s, calls `run` (`mle_session_run_opts` or `mle_model_run`)
/// with them, the options (or NULL) and an error slot, and takes ownership
/// of the outputs the library allocated.
///
/// `run` gets arrays whose names point to C strings and whose data point to
/// the borrowed input slices, all alive until it returns, and an options
/// pointer that is NULL or valid (its cancel flag borrowed by `options`)
/// for the call. Output names the library sets must stay valid until this
/// returns (the session or model handle must outlive the call).
pub(crate) fn run_tensors(
    inputs: &[TensorView<'_>],
    names: Option<&[&str]>,
    n_outputs: usize,
    options: Option<&RunOptions<'_>>,
    run: impl FnOnce(
        &[sys::mle_tensor],
        &mut [sys::mle_tensor],
        *const sys::mle_run_options,
        *mut *mut sys::mle_error,
    ) -> u32,
) -> Result<Vec<Tensor>> {
    // The C strings must outlive the call: keep them here.
    let mut keep: Vec<CString> = Vec::new();
    let mut c_in = Vec::with_capacity(inputs.len());
    for v in inputs {
        let mut t = empty_tensor();
        if let Some(name) = v.name {
            let s = cstring(name, "input name")?;
            t.name = s.as_ptr(); // the heap buffer does not move with the CString
            keep.push(s);
        }
        if v.shape.len() > sys::MLE_MAX_RANK {
            return Err(Error::new(
                sys::MLE_ERR_SHAPE,
                format!(
                    "input {} has rank {}; MLE handles at most {}",
                    v.name.map_or_else(|| format!("#{}", c_in.len()), |n| format!("{n:?}")),
                    v.shape.len(),
                    sys::MLE_MAX_RANK
                ),
            ));
        }
        t.dtype = v.dtype.id();
        t.rank = v.shape.len() as i32; // <= 8
        t.shape[..v.shape.len()].copy_from_slice(&v.shape);
        // The library only reads inputs; the field is non-const in C.
        t.data = v.data.as_ptr().cast_mut().cast();
        t.nbytes = v.data.len();
        c_in.push(t);
    }

    let mut c_out = match names {
        None => vec![empty_tensor(); n_outputs],
        Some(names) => {
            let mut out = Vec::with_capacity(names.len());
            for name in names {
                let s = cstring(name, "output name")?;
                let mut t = empty_tensor();
                t.name = s.as_ptr();
                keep.push(s);
                out.push(t);
            }
            out
        }
    };
    // Every output has data = NULL: the library allocates it (strings
    // included, whose size is known only once the run has computed them).
    let c_opts = options.map(RunOptions::to_c);
    let opts_ptr = c_opts.as_ref().map_or(ptr::null(), ptr::from_ref);

    call(|err| run(&c_in, &mut c_out, opts_ptr, err))?;
    // On failure the library has freed what it allocated (mle.h), and `?`
    // returned above. On success every data pointer is ours.

    // Check what the library reported for every output first; if any of it
    // is off, free all buffers (ours after MLE_OK) and report it.
    let mut metas = Vec::with_capacity(c_out.len());
    for (i, t) in c_out.iter().enumerate() {
        match output_meta(t, names.map(|n| n[i])) {
            Ok(m) => metas.push(m),
            Err(e) => {
                for t in &c_out {
                    // SAFETY: after MLE_OK every data pointer is NULL or a
                    // buffer the library allocated for us; none has been
                    // wrapped yet, so each is freed exactly once.
                    unsafe { sys::mle_free(t.data) };
                }
                return Err(e);
            }
        }
    }
    let result: Vec<Tensor> = metas
        .into_iter()
        .zip(&c_out)
        .map(|((name, dtype, shape), t)| {
            // SAFETY: after MLE_OK, t.data is NULL (empty output) or a buffer
            // of t.nbytes bytes the library allocated for us; this Tensor
            // becomes its only owner and frees it with mle_free.
            unsafe { Tensor::from_library(name, dtype, shape, t.data, t.nbytes) }
        })
        .collect();
    // Packed strings are read in place later: check them once here (an
    // error drops `result`, which frees every buffer).
    for t in &result {
        t.check_library_strings()?;
    }
    Ok(result)
}

/// Name, dtype and shape of an output the library filled in, checked
/// against its byte count.
fn output_meta(t: &sys::mle_tensor, asked: Option<&str>) -> Result<(String, DType, Vec<i64>)> {
    let dtype = dtype_from_lib(t.dtype)?;
    let shape = shape_from_lib(&t.shape, t.rank)?;
    let n = element_count(&shape);
    let fits = if dtype == DType::String {
        // Packed: at least the n+1 offsets; the rest is checked once wrapped.
        n.and_then(|n| n.checked_add(1)?.checked_mul(8)).is_some_and(|head| t.nbytes >= head)
    } else {
        n.and_then(|n| n.checked_mul(dtype.size())) == Some(t.nbytes)
    };
    if !fits || (t.data.is_null() && t.nbytes != 0) {
        return Err(Error::new(
            sys::MLE_ERR_INTERNAL,
            format!("libmle returned {} bytes for a {dtype} output of shape {shape:?}", t.nbytes),
        ));
    }
    let name = if t.name.is_null() {
        asked.unwrap_or_default().to_string()
    } else {
        // SAFETY: the library set name to the output's name, a NUL-terminated
        // string valid while the session or model handle lives, which the
        // caller of run_tensors keeps alive (or left our own CString, alive
        // in its `keep`); it is copied at once.
        unsafe { CStr::from_ptr(t.name) }.to_string_lossy().into_owned()
    };
    Ok((name, dtype, shape))
}

impl Drop for Session {
    fn drop(&mut self) {
        // SAFETY: the handle is live and owned by this Session alone (no
        // other thread can be running it: that would need &mut self), and it
        // is not used after this.
        unsafe { sys::mle_session_free(self.h.as_ptr()) };
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session").field("handle", &self.h).field("outputs", &self.n_outputs).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_options_to_c() {
        let c = RunOptions::new().to_c();
        assert_eq!(
            (c.struct_size, c.timeout_us, c.cancel),
            (std::mem::size_of::<sys::mle_run_options>(), 0, ptr::null())
        );
        let us = |d: Duration| RunOptions::new().timeout(d).to_c().timeout_us;
        assert_eq!(us(Duration::from_millis(10)), 10_000);
        assert_eq!(us(Duration::from_nanos(1_001)), 2, "rounded up");
        assert_eq!(us(Duration::from_nanos(1)), 1);
        assert_eq!(us(Duration::ZERO), 1, "zero is a deadline already past, not 0 = no limit");
        assert_eq!(us(Duration::MAX), i64::MAX);
        let flag = AtomicI32::new(0);
        let c = RunOptions::new().cancel(&flag).to_c();
        assert_eq!((c.cancel, c.timeout_us), (flag.as_ptr().cast_const(), 0));
    }
}
