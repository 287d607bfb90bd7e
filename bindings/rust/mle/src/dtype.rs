//! Element types.

use std::fmt;
use std::str::FromStr;

use mle_sys as sys;

use crate::error::Error;

// BEGIN GENERATED: dtype enum (cmd/mle-gentables) - do not edit
/// An element type. The discriminants are the ids of `mle.h` (ONNX
/// `TensorProto.DataType` values); the names are those of docs/FORMAT.md §7.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum DType {
    /// `float32`
    F32 = sys::MLE_DTYPE_FLOAT32,
    /// `uint8`
    U8 = sys::MLE_DTYPE_UINT8,
    /// `int8`
    I8 = sys::MLE_DTYPE_INT8,
    /// `int32`
    I32 = sys::MLE_DTYPE_INT32,
    /// `int64`
    I64 = sys::MLE_DTYPE_INT64,
    /// `string` (UTF-8 text, packed as in §7.1)
    String = sys::MLE_DTYPE_STRING,
    /// `bool` (0 or 1)
    Bool = sys::MLE_DTYPE_BOOL,
    /// `float16` (IEEE half); no Rust type: use the raw bytes.
    F16 = sys::MLE_DTYPE_FLOAT16,
    /// `float64`
    F64 = sys::MLE_DTYPE_FLOAT64,
    /// `bfloat16`; no Rust type: use the raw bytes.
    BF16 = sys::MLE_DTYPE_BFLOAT16,
}

impl DType {
    /// Every dtype, in id order.
    pub const ALL: [DType; 10] = [
        DType::F32,
        DType::U8,
        DType::I8,
        DType::I32,
        DType::I64,
        DType::String,
        DType::Bool,
        DType::F16,
        DType::F64,
        DType::BF16,
    ];

    /// Size of one element in bytes (0 for `String`: variable, packed as docs/FORMAT.md §7.1 says).
    pub fn size(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::U8 => 1,
            DType::I8 => 1,
            DType::I32 => 4,
            DType::I64 => 8,
            DType::String => 0,
            DType::Bool => 1,
            DType::F16 => 2,
            DType::F64 => 8,
            DType::BF16 => 2,
        }
    }

    /// The format's name: `"float32"`, `"int64"`, `"bool"`, ...
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::U8 => "uint8",
            DType::I8 => "int8",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::String => "string",
            DType::Bool => "bool",
            DType::F16 => "float16",
            DType::F64 => "float64",
            DType::BF16 => "bfloat16",
        }
    }
}
// END GENERATED: dtype enum

impl DType {
    /// The dtype with this id, if MLE has one.
    pub fn from_id(id: i32) -> Option<DType> {
        DType::ALL.into_iter().find(|d| d.id() == id)
    }

    /// The id (`MLE_DTYPE_*`).
    pub fn id(self) -> i32 {
        self as i32
    }

    /// The dtype named `name` (`"float32"`, ...).
    pub fn from_name(name: &str) -> Option<DType> {
        DType::ALL.into_iter().find(|d| d.name() == name)
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl FromStr for DType {
    type Err = Error;
    /// Parses a format name (`"float32"`); unknown names are `MLE_ERR_INVALID_VALUE`.
    fn from_str(s: &str) -> Result<DType, Error> {
        DType::from_name(s).ok_or_else(|| Error::new(sys::MLE_ERR_INVALID_VALUE, format!("unknown dtype name {s:?}")))
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A Rust element type with an MLE dtype: `f32`, `f64`, `i8`, `u8`, `i32`, `i64`.
///
/// Sealed: implemented only for primitive numbers, which have no padding and
/// for which every bit pattern is a valid value, so their slices can be viewed
/// as bytes and (aligned) bytes as them. `bool` is handled separately
/// ([`TensorView::from_bool`](crate::TensorView::from_bool),
/// [`Tensor::to_vec_bool`](crate::Tensor::to_vec_bool)) because not every byte
/// is a valid `bool`.
pub trait Element: sealed::Sealed + Copy + Send + Sync + 'static {
    /// The dtype of this element type.
    const DTYPE: DType;
}

macro_rules! element {
    ($($t:ty => $d:ident),*) => {$(
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const DTYPE: DType = DType::$d;
        }
    )*};
}
// BEGIN GENERATED: element types (cmd/mle-gentables) - do not edit
element!(f32 => F32, u8 => U8, i8 => I8, i32 => I32, i64 => I64, f64 => F64);
// END GENERATED: element types

/// The bytes of a slice of elements (native = little-endian order).
pub(crate) fn bytes_of<T: Element>(values: &[T]) -> &[u8] {
    // SAFETY: T is a primitive number (sealed trait): no padding, every byte
    // initialized. u8 has alignment 1 and the length covers exactly the same
    // memory, which stays borrowed for the returned lifetime.
    unsafe { std::slice::from_raw_parts(values.as_ptr().cast::<u8>(), std::mem::size_of_val(values)) }
}
