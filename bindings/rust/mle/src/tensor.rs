//! Tensors: [`TensorView`] (input, usually borrowed) and [`Tensor`] (owned output).

use std::borrow::Cow;
use std::fmt;
use std::ptr::NonNull;

use mle_sys as sys;

use crate::dtype::{bytes_of, DType, Element};
use crate::error::{Error, Result};
use crate::strings;

/// An input tensor: dtype, shape and the bytes, usually the caller's,
/// borrowed. The data is only read, during [`Session::run`](crate::Session::run).
///
/// Strings ([`from_strings`](TensorView::from_strings)) are packed once into
/// a buffer the view owns, the form the library takes (docs/FORMAT.md §7.1);
/// numbers are borrowed as they are.
///
/// The fields are public: the library checks everything (dtype against the
/// model, shape, `data.len()` against the shape's size, packed strings) and
/// answers with an [`Error`] when something does not fit.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorView<'a> {
    /// The graph input to bind; `None` binds by position.
    pub name: Option<&'a str>,
    /// Element type.
    pub dtype: DType,
    /// Dimensions (at most 8).
    pub shape: Vec<i64>,
    /// The elements, C order, little-endian; for [`DType::String`], packed.
    pub data: Cow<'a, [u8]>,
}

impl<'a> TensorView<'a> {
    /// A view of typed elements; the dtype follows from `T`.
    pub fn new<T: Element>(data: &'a [T], shape: &[i64]) -> TensorView<'a> {
        TensorView { name: None, dtype: T::DTYPE, shape: shape.to_vec(), data: Cow::Borrowed(bytes_of(data)) }
    }

    /// A view of raw bytes of any dtype (float16 and bfloat16 included;
    /// strings already packed as in docs/FORMAT.md §7.1).
    pub fn from_bytes(dtype: DType, shape: &[i64], data: &'a [u8]) -> TensorView<'a> {
        TensorView { name: None, dtype, shape: shape.to_vec(), data: Cow::Borrowed(data) }
    }

    /// `string` elements, C order (`&[&str]`, `&[String]`, ...), packed into
    /// a buffer the view owns.
    ///
    /// Errors: `MLE_ERR_INVALID_VALUE` when `values.len()` is not the
    /// shape's element count; `MLE_ERR_INVALID_STRING` for an element longer
    /// than [`MLE_MAX_STRING_BYTES`](sys::MLE_MAX_STRING_BYTES) (1 MiB);
    /// `MLE_ERR_NO_MEMORY_SYSTEM` when the packed copy cannot be allocated.
    /// A model input that takes numbers refuses it at run time with
    /// `MLE_ERR_DTYPE`.
    ///
    /// ```no_run
    /// # fn main() -> mle::Result<()> {
    /// # let mut session = mle::Model::open("model.mle", &Default::default())?.session()?;
    /// let city = ["Lyon", "東京"];
    /// let age = [31.0f64, 45.0];
    /// let outputs = session.run(&[
    ///     mle::TensorView::from_strings(&city, &[2])?.named("city"),
    ///     mle::TensorView::from_f64(&age, &[2]).named("age"),
    /// ])?;
    /// # Ok(()) }
    /// ```
    pub fn from_strings<S: AsRef<str>>(values: &[S], shape: &[i64]) -> Result<TensorView<'a>> {
        check_count(values.len(), shape)?;
        Ok(TensorView {
            name: None,
            dtype: DType::String,
            shape: shape.to_vec(),
            data: Cow::Owned(strings::pack(values)?),
        })
    }

    /// `float32` elements.
    pub fn from_f32(data: &'a [f32], shape: &[i64]) -> TensorView<'a> {
        TensorView::new(data, shape)
    }
    /// `float64` elements.
    pub fn from_f64(data: &'a [f64], shape: &[i64]) -> TensorView<'a> {
        TensorView::new(data, shape)
    }
    /// `int32` elements.
    pub fn from_i32(data: &'a [i32], shape: &[i64]) -> TensorView<'a> {
        TensorView::new(data, shape)
    }
    /// `int64` elements.
    pub fn from_i64(data: &'a [i64], shape: &[i64]) -> TensorView<'a> {
        TensorView::new(data, shape)
    }
    /// `int8` elements.
    pub fn from_i8(data: &'a [i8], shape: &[i64]) -> TensorView<'a> {
        TensorView::new(data, shape)
    }
    /// `uint8` elements.
    pub fn from_u8(data: &'a [u8], shape: &[i64]) -> TensorView<'a> {
        TensorView::new(data, shape)
    }
    /// `bool` elements (one byte each, 0 or 1).
    pub fn from_bool(data: &'a [bool], shape: &[i64]) -> TensorView<'a> {
        // SAFETY: bool is one byte holding 0 or 1, so every bool is a valid
        // u8; the length in bytes equals the number of elements, and the
        // memory stays borrowed for 'a.
        let bytes = unsafe { std::slice::from_raw_parts(data.as_ptr().cast::<u8>(), data.len()) };
        TensorView { name: None, dtype: DType::Bool, shape: shape.to_vec(), data: Cow::Borrowed(bytes) }
    }

    /// The same view bound to the graph input `name`.
    #[must_use]
    pub fn named(mut self, name: &'a str) -> TensorView<'a> {
        self.name = Some(name);
        self
    }
}

/// Product of the dimensions; `None` for a negative dimension or overflow.
pub(crate) fn element_count(shape: &[i64]) -> Option<usize> {
    shape.iter().try_fold(1usize, |n, &d| n.checked_mul(usize::try_from(d).ok()?))
}

/// `MLE_ERR_INVALID_VALUE` unless `n` elements fill `shape` exactly.
fn check_count(n: usize, shape: &[i64]) -> Result<()> {
    if element_count(shape) == Some(n) {
        Ok(())
    } else {
        Err(Error::new(sys::MLE_ERR_INVALID_VALUE, format!("{n} elements do not fill shape {shape:?}")))
    }
}

/// Memory that libmle allocated (an output buffer), freed with `mle_free`.
struct LibBuf {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: LibBuf uniquely owns a plain heap block with no thread affinity;
// mle_free may be called from any thread, and shared access is read-only.
unsafe impl Send for LibBuf {}
// SAFETY: see Send; &LibBuf only allows reading the bytes.
unsafe impl Sync for LibBuf {}

impl Drop for LibBuf {
    fn drop(&mut self) {
        // SAFETY: ptr came from the library (mle_session_run with data = NULL)
        // and is owned by this LibBuf alone; it is freed exactly once.
        unsafe { sys::mle_free(self.ptr.as_ptr().cast()) };
    }
}

/// Where a tensor's bytes live. Both kinds are aligned to at least 8 bytes,
/// so every [`Element`] can be borrowed in place.
enum Storage {
    /// The library's allocation (malloc: aligned for any primitive).
    Lib(LibBuf),
    /// Our own copy, in 8-byte words.
    Owned { words: Vec<u64>, len: usize },
}

impl Storage {
    fn owned(bytes: &[u8]) -> Storage {
        let mut words = vec![0u64; bytes.len().div_ceil(8)];
        // SAFETY: words holds at least bytes.len() initialized bytes, u64 has
        // no padding and any byte pattern is a valid u64; the two regions
        // are distinct allocations.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), words.as_mut_ptr().cast::<u8>(), bytes.len()) };
        Storage::Owned { words, len: bytes.len() }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            // SAFETY: the library allocated len bytes at ptr (it reported
            // nbytes for this buffer) and wrote them all; they live until
            // the LibBuf is dropped, which &self prevents.
            Storage::Lib(b) => unsafe { std::slice::from_raw_parts(b.ptr.as_ptr(), b.len) },
            // SAFETY: words holds at least len initialized bytes (Storage::owned).
            Storage::Owned { words, len } => unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<u8>(), *len) },
        }
    }
}

/// An output tensor: name, dtype, shape and the bytes, owned.
///
/// Outputs come from the library's own allocation, kept as is (no copy) and
/// freed with `mle_free` on drop. Typed access checks the dtype:
/// [`as_f32`](Tensor::as_f32) borrows the elements in place (the buffer is
/// always aligned for every element type), [`to_vec_f32`](Tensor::to_vec_f32)
/// copies them. Strings are held packed (docs/FORMAT.md §7.1) and checked
/// when the tensor is made; [`to_strings`](Tensor::to_strings) copies them
/// out, [`as_strs`](Tensor::as_strs) borrows them.
pub struct Tensor {
    name: String,
    dtype: DType,
    shape: Vec<i64>,
    storage: Storage,
}

impl Tensor {
    /// A tensor over a copy of `data`; `data.len()` must equal the shape's size
    /// (`MLE_ERR_INVALID_VALUE` otherwise). Strings must be packed as in
    /// docs/FORMAT.md §7.1 (`MLE_ERR_INVALID_STRING` otherwise).
    pub fn from_bytes(name: impl Into<String>, dtype: DType, shape: &[i64], data: &[u8]) -> Result<Tensor> {
        if dtype == DType::String {
            let n = element_count(shape).ok_or_else(|| {
                Error::new(sys::MLE_ERR_INVALID_VALUE, format!("shape {shape:?} has no element count"))
            })?;
            strings::unpack(data, n).map_err(|m| Error::new(sys::MLE_ERR_INVALID_STRING, m))?;
            return Ok(Tensor { name: name.into(), dtype, shape: shape.to_vec(), storage: Storage::owned(data) });
        }
        let want = element_count(shape).and_then(|n| n.checked_mul(dtype.size()));
        if want != Some(data.len()) {
            return Err(Error::new(
                sys::MLE_ERR_INVALID_VALUE,
                format!("{} bytes do not hold a {dtype} tensor of shape {shape:?}", data.len()),
            ));
        }
        Ok(Tensor { name: name.into(), dtype, shape: shape.to_vec(), storage: Storage::owned(data) })
    }

    /// A tensor of typed elements (copied).
    pub fn from_slice<T: Element>(name: impl Into<String>, shape: &[i64], values: &[T]) -> Result<Tensor> {
        Tensor::from_bytes(name, T::DTYPE, shape, bytes_of(values))
    }

    /// A `string` tensor (packed copy); errors as
    /// [`TensorView::from_strings`].
    pub fn from_strings<S: AsRef<str>>(name: impl Into<String>, shape: &[i64], values: &[S]) -> Result<Tensor> {
        check_count(values.len(), shape)?;
        let packed = strings::pack(values)?;
        Ok(Tensor { name: name.into(), dtype: DType::String, shape: shape.to_vec(), storage: Storage::owned(&packed) })
    }

    /// `MLE_ERR_INTERNAL` unless a `string` tensor the library returned is
    /// packed as §7.1 says, so that reading it can rely on that.
    pub(crate) fn check_library_strings(&self) -> Result<()> {
        if self.dtype != DType::String {
            return Ok(());
        }
        strings::unpack(self.data(), self.len()).map(drop).map_err(|m| {
            Error::new(
                sys::MLE_ERR_INTERNAL,
                format!("libmle returned malformed strings for output {:?}: {m}", self.name),
            )
        })
    }

    /// Takes ownership of a library-allocated output buffer.
    ///
    /// # Safety
    /// `data` must be NULL or a buffer of at least `nbytes` initialized bytes
    /// that the library allocated for the caller (to be freed with `mle_free`)
    /// and that nothing else frees.
    pub(crate) unsafe fn from_library(
        name: String,
        dtype: DType,
        shape: Vec<i64>,
        data: *mut std::ffi::c_void,
        nbytes: usize,
    ) -> Tensor {
        let storage = match NonNull::new(data.cast::<u8>()) {
            Some(ptr) => {
                let buf = LibBuf { ptr, len: nbytes };
                if (ptr.as_ptr() as usize) % 8 == 0 {
                    Storage::Lib(buf)
                } else {
                    // Not seen with any malloc, but typed borrows need 8-byte
                    // alignment: copy, then free the library's buffer.
                    Storage::owned(Storage::Lib(buf).bytes())
                }
            }
            None => Storage::owned(&[]),
        };
        Tensor { name, dtype, shape, storage }
    }

    /// The graph output's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }
    /// The dimensions.
    pub fn shape(&self) -> &[i64] {
        &self.shape
    }
    /// Number of elements (product of the shape).
    pub fn len(&self) -> usize {
        // Every constructor checked the shape against the bytes.
        element_count(&self.shape).unwrap_or(0)
    }
    /// True when the tensor has no elements (some dimension is 0).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The elements' bytes, C order, little-endian; strings packed
    /// (docs/FORMAT.md §7.1).
    pub fn data(&self) -> &[u8] {
        self.storage.bytes()
    }
    /// Size of the data in bytes.
    pub fn nbytes(&self) -> usize {
        self.data().len()
    }
    /// The bytes, as an owned vector (copied).
    pub fn into_bytes(self) -> Vec<u8> {
        self.data().to_vec()
    }

    /// The elements as `&[T]`, borrowed in place; `None` unless `dtype() == T::DTYPE`.
    pub fn as_slice<T: Element>(&self) -> Option<&[T]> {
        if self.dtype != T::DTYPE {
            return None;
        }
        let bytes = self.data();
        let size = std::mem::size_of::<T>();
        if bytes.is_empty() {
            return Some(&[]);
        }
        if (bytes.as_ptr() as usize) % std::mem::align_of::<T>() != 0 || bytes.len() % size != 0 {
            return None; // unreachable: Storage is 8-byte aligned, lengths come from the dtype
        }
        // SAFETY: the pointer is non-null and aligned for T (checked above),
        // the region holds bytes.len() / size whole elements, T is a
        // primitive number for which every bit pattern is valid (sealed
        // Element), and the borrow is tied to &self, so the bytes stay alive
        // and unmodified.
        Some(unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<T>(), bytes.len() / size) })
    }

    /// A copy of the elements as `Vec<T>`; `None` unless `dtype() == T::DTYPE`.
    pub fn to_vec<T: Element>(&self) -> Option<Vec<T>> {
        self.as_slice().map(<[T]>::to_vec)
    }

    /// `float32` elements, borrowed.
    pub fn as_f32(&self) -> Option<&[f32]> {
        self.as_slice()
    }
    /// `float64` elements, borrowed.
    pub fn as_f64(&self) -> Option<&[f64]> {
        self.as_slice()
    }
    /// `int32` elements, borrowed.
    pub fn as_i32(&self) -> Option<&[i32]> {
        self.as_slice()
    }
    /// `int64` elements, borrowed.
    pub fn as_i64(&self) -> Option<&[i64]> {
        self.as_slice()
    }
    /// `int8` elements, borrowed.
    pub fn as_i8(&self) -> Option<&[i8]> {
        self.as_slice()
    }
    /// `uint8` elements, borrowed.
    pub fn as_u8(&self) -> Option<&[u8]> {
        self.as_slice()
    }
    /// `float32` elements, copied.
    pub fn to_vec_f32(&self) -> Option<Vec<f32>> {
        self.to_vec()
    }
    /// `float64` elements, copied.
    pub fn to_vec_f64(&self) -> Option<Vec<f64>> {
        self.to_vec()
    }
    /// `int32` elements, copied.
    pub fn to_vec_i32(&self) -> Option<Vec<i32>> {
        self.to_vec()
    }
    /// `int64` elements, copied.
    pub fn to_vec_i64(&self) -> Option<Vec<i64>> {
        self.to_vec()
    }
    /// `bool` elements (any non-zero byte is true), copied.
    pub fn to_vec_bool(&self) -> Option<Vec<bool>> {
        (self.dtype == DType::Bool).then(|| self.data().iter().map(|&b| b != 0).collect())
    }

    /// `string` elements in C order, borrowed from the packed buffer; `None`
    /// unless `dtype()` is [`DType::String`].
    pub fn as_strs(&self) -> Option<Vec<&str>> {
        if self.dtype != DType::String {
            return None;
        }
        // Checked when the tensor was made (from_bytes, from_strings, or
        // check_library_strings for outputs), so this cannot fail.
        strings::unpack(self.data(), self.len()).ok()
    }

    /// `string` elements in C order, copied; `None` unless `dtype()` is
    /// [`DType::String`].
    pub fn to_strings(&self) -> Option<Vec<String>> {
        self.as_strs().map(|v| v.into_iter().map(str::to_owned).collect())
    }

    /// An input view of this tensor (unnamed: bind it with [`TensorView::named`]).
    pub fn view(&self) -> TensorView<'_> {
        TensorView::from_bytes(self.dtype, &self.shape, self.data())
    }
}

impl Clone for Tensor {
    fn clone(&self) -> Tensor {
        Tensor {
            name: self.name.clone(),
            dtype: self.dtype,
            shape: self.shape.clone(),
            storage: Storage::owned(self.data()),
        }
    }
}

impl PartialEq for Tensor {
    /// Same name, dtype, shape and bytes (so NaNs with equal bits are equal).
    fn eq(&self, other: &Tensor) -> bool {
        self.name == other.name && self.dtype == other.dtype && self.shape == other.shape && self.data() == other.data()
    }
}

impl Eq for Tensor {}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tensor")
            .field("name", &self.name)
            .field("dtype", &self.dtype)
            .field("shape", &self.shape)
            .field("nbytes", &self.nbytes())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_storage_is_aligned_and_typed() {
        let t = Tensor::from_slice("x", &[2, 2], &[1.0f64, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(t.as_f64(), Some(&[1.0, 2.0, 3.0, 4.0][..]));
        assert_eq!(t.as_f32(), None);
        assert_eq!(t.len(), 4);
        assert_eq!(t.clone(), t);
        let odd = Tensor::from_bytes("b", DType::U8, &[3], &[1, 2, 3]).unwrap();
        assert_eq!(odd.as_u8(), Some(&[1u8, 2, 3][..]));
        let e = Tensor::from_bytes("b", DType::F32, &[3], &[1, 2, 3]).unwrap_err();
        assert_eq!(e.status(), sys::MLE_ERR_INVALID_VALUE);
        let empty = Tensor::from_slice::<i64>("e", &[0, 3], &[]).unwrap();
        assert!(empty.is_empty() && empty.as_i64() == Some(&[][..]));
        let b = Tensor::from_bytes("b", DType::Bool, &[3], &[0, 1, 2]).unwrap();
        assert_eq!(b.to_vec_bool(), Some(vec![false, true, true]));
    }

    #[test]
    fn string_tensors() {
        let words = ["b", "", "東京", "a\0"];
        let t = Tensor::from_strings("s", &[2, 2], &words).unwrap();
        assert_eq!((t.dtype(), t.shape(), t.len(), t.is_empty()), (DType::String, &[2, 2][..], 4, false));
        assert_eq!(t.as_strs().unwrap(), words);
        assert_eq!(t.to_strings().unwrap(), words);
        assert_eq!(t.nbytes(), 8 * 5 + 1 + 6 + 2);
        assert!(t.as_u8().is_none() && t.to_vec_bool().is_none(), "typed access checks the dtype");
        let n = Tensor::from_slice("x", &[1], &[1.5f64]).unwrap();
        assert!(n.as_strs().is_none() && n.to_strings().is_none());

        // The packed bytes round-trip through from_bytes and view().
        let again = Tensor::from_bytes("s", DType::String, &[4], t.data()).unwrap();
        assert_eq!(again.to_strings(), t.to_strings());
        let v = t.view();
        assert_eq!((v.dtype, &v.shape[..], &v.data[..]), (DType::String, &[2, 2][..], t.data()));
        let owned: Vec<String> = words.iter().map(|s| s.to_string()).collect();
        let v = TensorView::from_strings(&owned, &[4]).unwrap().named("s");
        assert_eq!((v.name, &v.data[..]), (Some("s"), t.data()));
        assert_eq!(t.clone(), t);

        let empty = Tensor::from_strings::<&str>("e", &[0, 3], &[]).unwrap();
        assert!(empty.is_empty() && empty.as_strs() == Some(vec![]) && empty.nbytes() == 8);

        // Errors, never panics.
        let e = Tensor::from_strings("s", &[3], &words).unwrap_err();
        assert_eq!(e.status(), sys::MLE_ERR_INVALID_VALUE, "{e}");
        assert_eq!(TensorView::from_strings(&words, &[-4]).unwrap_err().status(), sys::MLE_ERR_INVALID_VALUE);
        assert_eq!(TensorView::from_strings(&words, &[5]).unwrap_err().status(), sys::MLE_ERR_INVALID_VALUE);
        let long = "é".repeat(sys::MLE_MAX_STRING_BYTES / 2) + "x";
        let e = TensorView::from_strings(&[long], &[1]).unwrap_err();
        assert_eq!(e.status(), sys::MLE_ERR_INVALID_STRING, "{e}");
        let e = Tensor::from_bytes("s", DType::String, &[4], &t.data()[..t.nbytes() - 1]).unwrap_err();
        assert_eq!(e.status(), sys::MLE_ERR_INVALID_STRING, "{e}");
        let e = Tensor::from_bytes("s", DType::String, &[-1], t.data()).unwrap_err();
        assert_eq!(e.status(), sys::MLE_ERR_INVALID_VALUE, "{e}");
        let bad_utf8 = [&0u64.to_le_bytes()[..], &1u64.to_le_bytes(), &[0xc3]].concat(); // half of "é"
        let e = Tensor::from_bytes("s", DType::String, &[1], &bad_utf8).unwrap_err();
        assert_eq!(e.status(), sys::MLE_ERR_INVALID_STRING, "{e}");
    }

    #[test]
    fn element_counts() {
        assert_eq!(element_count(&[]), Some(1));
        assert_eq!(element_count(&[2, 0, 3]), Some(0));
        assert_eq!(element_count(&[-1, 3]), None);
        assert_eq!(element_count(&[i64::MAX, 4]), None);
    }
}
