//! [`Session`]: runs a model.

use std::ffi::{CStr, CString};
use std::fmt;
use std::ptr::{self, NonNull};

use mle_sys as sys;

use crate::dtype::DType;
use crate::error::{call, cstring, Error, Result};
use crate::model::{dtype_from_lib, shape_from_lib, Model};
use crate::tensor::{element_count, Tensor, TensorView};

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
        let n_outputs = model.output_count()?;
        let mut h = ptr::null_mut();
        // SAFETY: the model handle is live (&Model); h and err are valid out-pointers.
        call(|err| unsafe { sys::mle_session_new(model.as_raw(), &mut h, err) })?;
        let h = NonNull::new(h)
            .ok_or_else(|| Error::new(sys::MLE_ERR_INTERNAL, "mle_session_new returned MLE_OK but no handle"))?;
        Ok(Session { h, n_outputs })
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
    pub fn run(&mut self, inputs: &[TensorView<'_>]) -> Result<Vec<Tensor>> {
        self.run_impl(inputs, None)
    }

    /// Runs the model for the named outputs only (1 to all of them, in the
    /// order asked): nodes that feed none of them do not run. An unknown name
    /// is `MLE_ERR_INVALID_NAME`.
    pub fn run_named(&mut self, inputs: &[TensorView<'_>], outputs: &[&str]) -> Result<Vec<Tensor>> {
        self.run_impl(inputs, Some(outputs))
    }

    fn run_impl(&mut self, inputs: &[TensorView<'_>], names: Option<&[&str]>) -> Result<Vec<Tensor>> {
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
            None => vec![empty_tensor(); self.n_outputs],
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
        // Every output has data = NULL: the library allocates it.

        // SAFETY: the handle is live and used by this thread alone (&mut
        // self). c_in and c_out are valid arrays of their lengths; every
        // name points into a CString in `keep` and every input's data into a
        // slice borrowed for this call, all alive until after the call.
        call(|err| unsafe {
            sys::mle_session_run(self.h.as_ptr(), c_in.as_ptr(), c_in.len(), c_out.as_mut_ptr(), c_out.len(), err)
        })?;
        // On failure the library has freed what it allocated (mle.h), and
        // `?` returned above. On success every data pointer is ours.

        // Check what the library reported for every output first; if any of
        // it is off, free all buffers (ours after MLE_OK) and report it.
        let mut metas = Vec::with_capacity(c_out.len());
        for (i, t) in c_out.iter().enumerate() {
            match output_meta(t, names.map(|n| n[i])) {
                Ok(m) => metas.push(m),
                Err(e) => {
                    for t in &c_out {
                        // SAFETY: after MLE_OK every data pointer is NULL or
                        // a buffer the library allocated for us; none has
                        // been wrapped yet, so each is freed exactly once.
                        unsafe { sys::mle_free(t.data) };
                    }
                    return Err(e);
                }
            }
        }
        let result = metas
            .into_iter()
            .zip(&c_out)
            .map(|((name, dtype, shape), t)| {
                // SAFETY: after MLE_OK, t.data is NULL (empty output) or a
                // buffer of t.nbytes bytes the library allocated for us; this
                // Tensor becomes its only owner and frees it with mle_free.
                unsafe { Tensor::from_library(name, dtype, shape, t.data, t.nbytes) }
            })
            .collect();
        Ok(result)
    }
}

/// Name, dtype and shape of an output the library filled in, checked
/// against its byte count.
fn output_meta(t: &sys::mle_tensor, asked: Option<&str>) -> Result<(String, DType, Vec<i64>)> {
    let dtype = dtype_from_lib(t.dtype)?;
    let shape = shape_from_lib(&t.shape, t.rank)?;
    let want = element_count(&shape).and_then(|n| n.checked_mul(dtype.size()));
    if want != Some(t.nbytes) || (t.data.is_null() && t.nbytes != 0) {
        return Err(Error::new(
            sys::MLE_ERR_INTERNAL,
            format!("libmle returned {} bytes for a {dtype} output of shape {shape:?}", t.nbytes),
        ));
    }
    let name = if t.name.is_null() {
        asked.unwrap_or_default().to_string()
    } else {
        // SAFETY: the library set name to the output's name, a NUL-terminated
        // string valid while the session lives (or left our own CString,
        // alive in the caller's `keep`); it is copied at once.
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
