//! [`Builder`]: assembles a model and writes an .mle file.

use std::ffi::{c_char, CString};
use std::fmt;
use std::path::Path;
use std::ptr::{self, NonNull};

use mle_sys as sys;

use crate::dtype::{bytes_of, DType, Element};
use crate::error::{call, cstring, Error, Result};
use crate::model::{check_abi, path_cstring};

/// Assembles a model and writes an .mle file: the only writer of the format.
///
/// Declare inputs, store weights, append nodes (ONNX op names and semantics)
/// and set their attributes, name the outputs, then [`save`](Builder::save) or
/// [`serialize`](Builder::serialize). Validation (references, cycles, ops,
/// attributes, shapes) happens there, with the same status codes a reader
/// gives. Names must be non-empty UTF-8 without NUL bytes.
///
/// `Send`, not `Sync`: one thread at a time (every method takes `&mut self`).
///
/// ```no_run
/// # fn main() -> mle::Result<()> {
/// use mle::{Builder, DType};
/// let mut b = Builder::new()?;
/// b.set_metadata_json(r#"{"name": "double", "version": "1.0.0"}"#)?
///     .add_input("x", DType::F32, &[-1, 3])?
///     .add_tensor("two", &[1], &[2.0f32])?;
/// b.add_node("Mul", &["x", "two"], &["y"])?;
/// b.add_output("y")?;
/// let bytes = b.serialize()?;
/// # Ok(()) }
/// ```
pub struct Builder {
    h: NonNull<sys::mle_builder>,
}

// SAFETY: mle.h: "mle_builder: one thread at a time" — not bound to the
// thread that made it; the owning Builder moves as a whole. Not Sync.
unsafe impl Send for Builder {}

fn rank_of(shape: &[i64]) -> Result<i32> {
    i32::try_from(shape.len())
        .map_err(|_| Error::new(sys::MLE_ERR_INVALID_VALUE, format!("rank {} is out of range", shape.len())))
}

/// C strings for a list of names, plus the pointer array ("" stays "": the
/// library reads it as an absent optional argument).
fn cstrings(names: &[&str], what: &str) -> Result<(Vec<CString>, Vec<*const c_char>)> {
    let owned = names.iter().map(|n| cstring(n, what)).collect::<Result<Vec<_>>>()?;
    let ptrs = owned.iter().map(|s| s.as_ptr()).collect();
    Ok((owned, ptrs))
}

impl Builder {
    /// An empty builder.
    pub fn new() -> Result<Builder> {
        check_abi()?;
        let mut h = ptr::null_mut();
        // SAFETY: h and err are valid out-pointers.
        call(|err| unsafe { sys::mle_builder_new(&mut h, err) })?;
        NonNull::new(h)
            .map(|h| Builder { h })
            .ok_or_else(|| Error::new(sys::MLE_ERR_INTERNAL, "mle_builder_new returned MLE_OK but no handle"))
    }

    /// The raw handle, owned by this `Builder` (for calls into `mle_sys`).
    pub fn as_raw(&mut self) -> *mut sys::mle_builder {
        self.h.as_ptr()
    }

    /// Descriptive metadata as a JSON object with any of `"name"`,
    /// `"description"`, `"version"` (semver), `"created"` (RFC 3339),
    /// `"producer": {"name", "version"}`, `"properties": {string: string}`.
    pub fn set_metadata_json(&mut self, json: &str) -> Result<&mut Builder> {
        let json = cstring(json, "metadata JSON")?;
        let h = self.as_raw();
        // SAFETY: live handle used by this thread alone (&mut self); json is
        // NUL-terminated and alive for the call.
        call(|err| unsafe { sys::mle_builder_set_metadata_json(h, json.as_ptr(), err) })?;
        Ok(self)
    }

    /// Declares a graph input; -1 in `shape` marks a dimension sized at run time.
    pub fn add_input(&mut self, name: &str, dtype: DType, shape: &[i64]) -> Result<&mut Builder> {
        let name = cstring(name, "input name")?;
        let rank = rank_of(shape)?;
        let h = self.as_raw();
        // SAFETY: live, exclusive handle; name NUL-terminated; shape valid for
        // rank reads; all alive for the call (the library copies them).
        call(|err| unsafe { sys::mle_builder_add_input(h, name.as_ptr(), dtype.id(), shape.as_ptr(), rank, err) })?;
        Ok(self)
    }

    /// Declares a graph output (its dtype and shape are inferred).
    pub fn add_output(&mut self, name: &str) -> Result<&mut Builder> {
        let name = cstring(name, "output name")?;
        let h = self.as_raw();
        // SAFETY: live, exclusive handle; name NUL-terminated and alive.
        call(|err| unsafe { sys::mle_builder_add_output(h, name.as_ptr(), err) })?;
        Ok(self)
    }

    /// Stores a constant tensor (weights) of typed elements; the data is copied.
    pub fn add_tensor<T: Element>(&mut self, name: &str, shape: &[i64], values: &[T]) -> Result<&mut Builder> {
        self.add_tensor_bytes(name, T::DTYPE, shape, bytes_of(values))
    }

    /// Stores a constant `string` tensor (e.g. class labels), elements in C
    /// order; errors as [`TensorView::from_strings`](crate::TensorView::from_strings).
    pub fn add_tensor_strings<S: AsRef<str>>(
        &mut self,
        name: &str,
        shape: &[i64],
        values: &[S],
    ) -> Result<&mut Builder> {
        let packed = crate::Tensor::from_strings(name, shape, values)?;
        self.add_tensor_bytes(name, DType::String, shape, packed.data())
    }

    /// Stores a constant tensor of any dtype from its raw bytes (C order,
    /// little-endian; strings packed as in docs/FORMAT.md §7.1); the data is
    /// copied.
    pub fn add_tensor_bytes(&mut self, name: &str, dtype: DType, shape: &[i64], data: &[u8]) -> Result<&mut Builder> {
        let name = cstring(name, "tensor name")?;
        let rank = rank_of(shape)?;
        let h = self.as_raw();
        // SAFETY: live, exclusive handle; name NUL-terminated; shape valid for
        // rank reads and data for data.len() reads; all alive for the call.
        call(|err| unsafe {
            sys::mle_builder_add_tensor(
                h,
                name.as_ptr(),
                dtype.id(),
                shape.as_ptr(),
                rank,
                data.as_ptr().cast(),
                data.len(),
                err,
            )
        })?;
        Ok(self)
    }

    /// Appends an unnamed node running `op` (ONNX name and semantics: "Gemm",
    /// "Relu", ...). `""` among inputs or outputs is an absent optional
    /// argument. Returns the node's index, for the `set_attr_*` methods.
    pub fn add_node(&mut self, op: &str, inputs: &[&str], outputs: &[&str]) -> Result<usize> {
        self.node(op, None, inputs, outputs)
    }

    /// [`add_node`](Builder::add_node) with a node name.
    pub fn add_named_node(&mut self, op: &str, name: &str, inputs: &[&str], outputs: &[&str]) -> Result<usize> {
        self.node(op, Some(name), inputs, outputs)
    }

    fn node(&mut self, op: &str, name: Option<&str>, inputs: &[&str], outputs: &[&str]) -> Result<usize> {
        let op = cstring(op, "op")?;
        let name = name.map(|n| cstring(n, "node name")).transpose()?;
        let (_in_keep, in_ptrs) = cstrings(inputs, "node input")?;
        let (_out_keep, out_ptrs) = cstrings(outputs, "node output")?;
        let mut index = 0usize;
        let h = self.as_raw();
        // SAFETY: live, exclusive handle; op and name are NUL-terminated (or
        // NULL); in_ptrs/out_ptrs hold their lengths' worth of pointers into
        // CStrings kept alive by _in_keep/_out_keep until after the call.
        call(|err| unsafe {
            sys::mle_builder_add_node(
                h,
                op.as_ptr(),
                name.as_ref().map_or(ptr::null(), |n| n.as_ptr()),
                in_ptrs.as_ptr(),
                in_ptrs.len(),
                out_ptrs.as_ptr(),
                out_ptrs.len(),
                &mut index,
                err,
            )
        })?;
        Ok(index)
    }

    /// Sets an int attribute of `node`.
    pub fn set_attr_int(&mut self, node: usize, name: &str, value: i64) -> Result<&mut Builder> {
        let name = cstring(name, "attribute name")?;
        let h = self.as_raw();
        // SAFETY: live, exclusive handle; name NUL-terminated and alive.
        call(|err| unsafe { sys::mle_builder_set_attr_int(h, node, name.as_ptr(), value, err) })?;
        Ok(self)
    }

    /// Sets a float attribute of `node` (must be finite).
    pub fn set_attr_float(&mut self, node: usize, name: &str, value: f64) -> Result<&mut Builder> {
        let name = cstring(name, "attribute name")?;
        let h = self.as_raw();
        // SAFETY: live, exclusive handle; name NUL-terminated and alive.
        call(|err| unsafe { sys::mle_builder_set_attr_float(h, node, name.as_ptr(), value, err) })?;
        Ok(self)
    }

    /// Sets a string attribute of `node`.
    pub fn set_attr_string(&mut self, node: usize, name: &str, value: &str) -> Result<&mut Builder> {
        let name = cstring(name, "attribute name")?;
        let value = cstring(value, "attribute value")?;
        let h = self.as_raw();
        // SAFETY: live, exclusive handle; both strings NUL-terminated and alive.
        call(|err| unsafe { sys::mle_builder_set_attr_string(h, node, name.as_ptr(), value.as_ptr(), err) })?;
        Ok(self)
    }

    /// Sets an ints attribute of `node`.
    pub fn set_attr_ints(&mut self, node: usize, name: &str, values: &[i64]) -> Result<&mut Builder> {
        let name = cstring(name, "attribute name")?;
        let h = self.as_raw();
        // SAFETY: live, exclusive handle; name NUL-terminated; values valid
        // for values.len() reads; all alive for the call.
        call(|err| unsafe {
            sys::mle_builder_set_attr_ints(h, node, name.as_ptr(), values.as_ptr(), values.len(), err)
        })?;
        Ok(self)
    }

    /// Sets a floats attribute of `node`.
    pub fn set_attr_floats(&mut self, node: usize, name: &str, values: &[f64]) -> Result<&mut Builder> {
        let name = cstring(name, "attribute name")?;
        let h = self.as_raw();
        // SAFETY: live, exclusive handle; name NUL-terminated; values valid
        // for values.len() reads; all alive for the call.
        call(|err| unsafe {
            sys::mle_builder_set_attr_floats(h, node, name.as_ptr(), values.as_ptr(), values.len(), err)
        })?;
        Ok(self)
    }

    /// Validates the model and writes it to `path` atomically (temporary file,
    /// fsync, rename): on failure `path` is untouched. Returns the file size.
    pub fn save(&mut self, path: impl AsRef<Path>) -> Result<u64> {
        let path = path_cstring(path.as_ref())?;
        let mut written = 0u64;
        let h = self.as_raw();
        // SAFETY: live, exclusive handle; path NUL-terminated and alive;
        // written and err are valid out-pointers.
        call(|err| unsafe { sys::mle_builder_save(h, path.as_ptr(), &mut written, err) })?;
        Ok(written)
    }

    /// [`save`](Self::save) without the fsyncs of the file and its directory:
    /// the file still appears whole or not at all, to readers and after a
    /// crash of the process, but a power loss soon after may lose it (what
    /// most writers give). The fsyncs are most of a small model's save.
    pub fn save_unsynced(&mut self, path: impl AsRef<Path>) -> Result<u64> {
        let path = path_cstring(path.as_ref())?;
        let mut written = 0u64;
        let h = self.as_raw();
        // SAFETY: as in save.
        call(|err| unsafe { sys::mle_builder_save_flags(h, path.as_ptr(), sys::MLE_SAVE_NO_SYNC, &mut written, err) })?;
        Ok(written)
    }

    /// Validates the model and returns the .mle file's bytes.
    pub fn serialize(&mut self) -> Result<Vec<u8>> {
        let mut data: *mut std::ffi::c_void = ptr::null_mut();
        let mut len = 0usize;
        let h = self.as_raw();
        // SAFETY: live, exclusive handle; data, len and err are valid out-pointers.
        call(|err| unsafe { sys::mle_builder_serialize(h, &mut data, &mut len, err) })?;
        if data.is_null() {
            return if len == 0 {
                Ok(Vec::new())
            } else {
                Err(Error::new(sys::MLE_ERR_INTERNAL, "mle_builder_serialize returned no data"))
            };
        }
        // SAFETY: after MLE_OK, data holds len bytes the library allocated
        // for us; they are copied, then freed exactly once with mle_free.
        let bytes = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) }.to_vec();
        // SAFETY: see above; data is not used after this.
        unsafe { sys::mle_free(data) };
        Ok(bytes)
    }
}

impl Drop for Builder {
    fn drop(&mut self) {
        // SAFETY: the handle is live, owned by this Builder alone, and not
        // used after this.
        unsafe { sys::mle_builder_free(self.h.as_ptr()) };
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder").field("handle", &self.h).finish()
    }
}
