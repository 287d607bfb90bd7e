//! Raw FFI bindings to `libmle`, written by hand from `include/mle.h` (ABI version 1).
//!
//! Everything here mirrors the C header one to one: the same names, the same
//! types, the same constants. The documentation of each item is the header's;
//! read `include/mle.h` for the full contract (ownership, thread safety). The
//! safe API is the `mle` crate.
//!
//! Linking: the build script looks for `libmle.so` in `$MLE_LIB_DIR`, else in
//! `<repository>/build` (run `make lib`), and exports the directory to
//! dependents' build scripts as `DEP_MLE_LIB_DIR`.
#![no_std]
#![allow(non_camel_case_types)]

use core::ffi::{c_char, c_void};
use core::marker::{PhantomData, PhantomPinned};

/// Bumped on any incompatible change of the header. Compare with
/// [`mle_abi_version`] at load time.
pub const MLE_ABI_VERSION: u32 = 1;

/// Largest tensor rank MLE handles.
pub const MLE_MAX_RANK: usize = 8;

// ---------------------------------------------------------------- status

/// A status code: `MLE_OK` (0) or an error. The low 8 bits are the primary code.
pub type mle_status = u32;

/// `MLE_STATUS_PRIMARY(s)`: the primary code (class) of a status.
#[inline]
#[allow(non_snake_case)]
pub const fn MLE_STATUS_PRIMARY(s: mle_status) -> mle_status {
    s & 0xff
}

pub use status::*;

/// The status constants of `mle.h` (also re-exported at the crate root).
pub mod status {
    use super::mle_status;

    // Primary codes.
    pub const MLE_OK: mle_status = 0;
    /// A bad argument or option.
    pub const MLE_ERR_INVALID_ARGUMENT: mle_status = 1;
    /// NULL, freed, forged or wrong-type handle.
    pub const MLE_ERR_BAD_HANDLE: mle_status = 2;
    /// open/read/map/write failed, or mapped memory faulted.
    pub const MLE_ERR_IO: mle_status = 3;
    /// The file is not a valid .mle file.
    pub const MLE_ERR_FORMAT: mle_status = 4;
    /// A CRC does not match: the file is damaged.
    pub const MLE_ERR_CHECKSUM: mle_status = 5;
    /// The model's graph is invalid.
    pub const MLE_ERR_GRAPH: mle_status = 6;
    /// The metadata JSON is invalid.
    pub const MLE_ERR_METADATA: mle_status = 7;
    /// Valid, but not supported by this build.
    pub const MLE_ERR_UNSUPPORTED: mle_status = 8;
    /// Input shapes do not fit the model.
    pub const MLE_ERR_SHAPE: mle_status = 9;
    /// Input dtype does not match the model.
    pub const MLE_ERR_DTYPE: mle_status = 10;
    /// An output buffer is too small; the size needed was written.
    pub const MLE_ERR_BUFFER_TOO_SMALL: mle_status = 11;
    /// Called in a child process after fork().
    pub const MLE_ERR_FORKED: mle_status = 12;
    /// A run would need more memory than allowed.
    pub const MLE_ERR_NO_MEMORY: mle_status = 13;
    /// A bug in MLE: please report it.
    pub const MLE_ERR_INTERNAL: mle_status = 14;
    /// The session or builder is in use by another thread.
    pub const MLE_ERR_BUSY: mle_status = 15;
    /// The run was cancelled or ran past its timeout.
    pub const MLE_ERR_CANCELLED: mle_status = 16;

    // Extended codes: primary | (n << 8).
    /// A required pointer was NULL.
    pub const MLE_ERR_INVALID_NULL: mle_status = 257;
    /// Bad options struct (struct_size or a field).
    pub const MLE_ERR_INVALID_OPTIONS: mle_status = 513;
    /// No input or output has that name.
    pub const MLE_ERR_INVALID_NAME: mle_status = 769;
    /// A value outside its documented range.
    pub const MLE_ERR_INVALID_VALUE: mle_status = 1025;
    /// Reading or writing a caller's buffer faulted.
    pub const MLE_ERR_INVALID_BUFFER: mle_status = 1281;

    pub const MLE_ERR_IO_OPEN: mle_status = 259;
    pub const MLE_ERR_IO_READ: mle_status = 515;
    pub const MLE_ERR_IO_MAP: mle_status = 771;
    /// The mapped file was truncated while in use.
    pub const MLE_ERR_IO_FAULT: mle_status = 1027;
    pub const MLE_ERR_IO_WRITE: mle_status = 1283;
    /// Not a regular file (FIFO, device, directory).
    pub const MLE_ERR_IO_NOT_FILE: mle_status = 1539;

    /// Shorter than its structures say.
    pub const MLE_ERR_FORMAT_TRUNCATED: mle_status = 260;
    /// Not an .mle file.
    pub const MLE_ERR_FORMAT_BAD_MAGIC: mle_status = 516;
    /// A newer major format version.
    pub const MLE_ERR_FORMAT_VERSION: mle_status = 772;
    /// Requires a feature this build does not know.
    pub const MLE_ERR_FORMAT_REQUIRED_FLAG: mle_status = 1028;
    /// Not little-endian.
    pub const MLE_ERR_FORMAT_ENDIAN: mle_status = 1284;
    /// A section lies outside the file.
    pub const MLE_ERR_FORMAT_SECTION_BOUNDS: mle_status = 1540;
    /// Sections or tensors overlap.
    pub const MLE_ERR_FORMAT_SECTION_OVERLAP: mle_status = 1796;
    /// Gap, trailing bytes or non-zero padding.
    pub const MLE_ERR_FORMAT_GAP: mle_status = 2052;
    /// A bad header or section-table field.
    pub const MLE_ERR_FORMAT_HEADER: mle_status = 2308;
    /// Tensor data not 64-byte aligned.
    pub const MLE_ERR_FORMAT_MISALIGNED: mle_status = 2564;
    /// shape x itemsize overflows.
    pub const MLE_ERR_FORMAT_SHAPE_OVERFLOW: mle_status = 2820;
    /// A stored tensor has a negative dimension.
    pub const MLE_ERR_FORMAT_NEGATIVE_DIM: mle_status = 3076;
    /// Unknown dtype id.
    pub const MLE_ERR_FORMAT_DTYPE: mle_status = 3332;
    /// Tensor data runs past the WEIGHTS section.
    pub const MLE_ERR_FORMAT_TENSOR_BOUNDS: mle_status = 3588;
    /// Another malformed tensor descriptor.
    pub const MLE_ERR_FORMAT_DESCRIPTOR: mle_status = 3844;

    pub const MLE_ERR_CHECKSUM_HEADER: mle_status = 261;
    pub const MLE_ERR_CHECKSUM_SECTION: mle_status = 517;
    pub const MLE_ERR_CHECKSUM_TENSOR: mle_status = 773;

    /// A node reads a tensor nothing defines.
    pub const MLE_ERR_GRAPH_MISSING_TENSOR: mle_status = 262;
    pub const MLE_ERR_GRAPH_CYCLE: mle_status = 518;
    pub const MLE_ERR_GRAPH_UNKNOWN_OP: mle_status = 774;
    /// Missing, unknown or wrongly typed attribute.
    pub const MLE_ERR_GRAPH_ATTRIBUTE: mle_status = 1030;
    /// Shapes or arities do not fit an op.
    pub const MLE_ERR_GRAPH_SHAPE: mle_status = 1286;
    /// The GRAPH section does not decode.
    pub const MLE_ERR_GRAPH_MALFORMED: mle_status = 1542;
    /// A tensor name is defined twice.
    pub const MLE_ERR_GRAPH_DUPLICATE: mle_status = 1798;
    /// Dtypes do not fit an op.
    pub const MLE_ERR_GRAPH_DTYPE: mle_status = 2054;
    /// A tensor's static size exceeds what any run could hold.
    pub const MLE_ERR_GRAPH_TOO_LARGE: mle_status = 2310;

    pub const MLE_ERR_METADATA_SYNTAX: mle_status = 263;
    /// Duplicate JSON object key.
    pub const MLE_ERR_METADATA_DUPLICATE: mle_status = 519;
    pub const MLE_ERR_METADATA_TOO_LARGE: mle_status = 775;
    pub const MLE_ERR_METADATA_DEPTH: mle_status = 1031;
    /// A known field has the wrong type or value.
    pub const MLE_ERR_METADATA_FIELD: mle_status = 1287;
    pub const MLE_ERR_METADATA_UTF8: mle_status = 1543;
    /// inputs/outputs disagree with the graph.
    pub const MLE_ERR_METADATA_SIGNATURE: mle_status = 1799;
    pub const MLE_ERR_METADATA_MISSING_KEY: mle_status = 2055;

    /// A tensor encoding this build lacks (zstd, ...).
    pub const MLE_ERR_UNSUPPORTED_ENCODING: mle_status = 264;
    /// E.g. CUDA in a CPU-only build.
    pub const MLE_ERR_UNSUPPORTED_DEVICE: mle_status = 520;
    pub const MLE_ERR_UNSUPPORTED_FEATURE: mle_status = 776;

    /// At these input shapes a tensor's size overflows.
    pub const MLE_ERR_SHAPE_TOO_LARGE: mle_status = 265;

    /// The run needs more than `max_arena_bytes`.
    pub const MLE_ERR_NO_MEMORY_LIMIT: mle_status = 269;
    /// The operating system refused the memory.
    pub const MLE_ERR_NO_MEMORY_SYSTEM: mle_status = 525;

    /// The run took longer than its timeout.
    pub const MLE_ERR_CANCELLED_DEADLINE: mle_status = 272;
}

// ---------------------------------------------------------------- dtypes

/// Element type id. The ids equal ONNX `TensorProto.DataType` values.
pub type mle_dtype = i32;
pub const MLE_DTYPE_FLOAT32: mle_dtype = 1;
pub const MLE_DTYPE_UINT8: mle_dtype = 2;
pub const MLE_DTYPE_INT8: mle_dtype = 3;
pub const MLE_DTYPE_INT32: mle_dtype = 6;
pub const MLE_DTYPE_INT64: mle_dtype = 7;
pub const MLE_DTYPE_BOOL: mle_dtype = 9;
pub const MLE_DTYPE_FLOAT16: mle_dtype = 10;
pub const MLE_DTYPE_FLOAT64: mle_dtype = 11;
pub const MLE_DTYPE_BFLOAT16: mle_dtype = 16;

// ------------------------------------------------------- handles, errors

macro_rules! opaque {
    ($($(#[$m:meta])* $name:ident),* $(,)?) => {$(
        $(#[$m])*
        #[repr(C)]
        pub struct $name {
            _data: [u8; 0],
            // Not Send, not Sync, not Unpin: only ever used behind a pointer.
            _marker: PhantomData<(*mut u8, PhantomPinned)>,
        }
    )*};
}

opaque!(
    /// An opened model (opaque).
    mle_model,
    /// Per-thread run state of a model (opaque).
    mle_session,
    /// Assembles a model and writes an .mle file (opaque).
    mle_builder,
    /// Error details: a status and a message (opaque; free with [`mle_error_free`]).
    mle_error,
);

// ---------------------------------------------------------------- models

pub const MLE_DEVICE_CPU: i32 = 0;
pub const MLE_DEVICE_CUDA: i32 = 1;

/// Options of [`mle_model_open`]; get them from [`mle_default_open_options`].
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct mle_open_options {
    /// `sizeof(mle_open_options)`; set by `mle_default_open_options`.
    pub struct_size: usize,
    /// Non-zero: check every CRC, weights included.
    pub verify: i32,
    /// Non-zero: read the file into memory instead of mapping it.
    pub read_all: i32,
    /// Intra-op threads; 0 = number of CPUs.
    pub threads: i32,
    /// `MLE_DEVICE_CPU`; `MLE_DEVICE_CUDA` is `MLE_ERR_UNSUPPORTED_DEVICE` in a CPU-only build.
    pub device: i32,
    /// Cap on the memory a session allocates for one run (arena, kernel
    /// scratch, plan tables, staging copies, library-allocated outputs); a
    /// run that would need more fails with `MLE_ERR_NO_MEMORY_LIMIT` before
    /// allocating. 0 = the default: 16 GiB, or 3/4 of what the process may
    /// use if that is less.
    pub max_arena_bytes: i64,
}

/// One graph input or output.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct mle_io_info {
    /// Set by the caller to `size_of::<mle_io_info>()`.
    pub struct_size: usize,
    /// Valid until the model handle is freed.
    pub name: *const c_char,
    pub dtype: mle_dtype,
    pub rank: i32,
    /// -1 marks a dimension sized at run time.
    pub shape: [i64; MLE_MAX_RANK],
}

// -------------------------------------------------------------- sessions

/// A tensor passed to or returned from [`mle_session_run`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct mle_tensor {
    /// Inputs: which graph input (NULL: by position). Outputs: which graph
    /// output (NULL: by position); the library sets it to the output's name,
    /// valid while the session lives.
    pub name: *const c_char,
    /// Inputs: must equal the model's; outputs: set by the library.
    pub dtype: mle_dtype,
    /// Inputs: given; outputs: set by the library.
    pub rank: i32,
    /// Inputs: given; outputs: set by the library.
    pub shape: [i64; MLE_MAX_RANK],
    /// Inputs: the elements, C order, little-endian; read during the call only.
    /// Outputs: a buffer of `nbytes` bytes to fill, or NULL to have the library
    /// allocate one (free it with [`mle_free`]).
    pub data: *mut c_void,
    /// Inputs: bytes at data (must equal the shape's size). Outputs: capacity
    /// on entry; bytes written (or needed, with `MLE_ERR_BUFFER_TOO_SMALL`) on return.
    pub nbytes: usize,
}

/// Per-run options (cancellation and timeout) of [`mle_session_run_opts`];
/// get them from [`mle_default_run_options`].
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct mle_run_options {
    /// `sizeof(mle_run_options)`; set by `mle_default_run_options`.
    pub struct_size: usize,
    /// Positive: the run fails with `MLE_ERR_CANCELLED_DEADLINE` once it has
    /// taken this many microseconds. 0: no limit. Negative: `MLE_ERR_INVALID_OPTIONS`.
    pub timeout_us: i64,
    /// Optional (`const volatile int32_t *` in C). The run fails with
    /// `MLE_ERR_CANCELLED` soon after `*cancel` becomes non-zero; a run
    /// started with it non-zero does no work. The library reads it during the
    /// call only and never writes it: point it at an `AtomicI32`
    /// (`AtomicI32::as_ptr`) and store to that from any thread.
    pub cancel: *const i32,
}

// Layouts checked against the C compiler's (x86_64 / aarch64 LP64).
const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    assert!(size_of::<mle_run_options>() == 24 && align_of::<mle_run_options>() == 8);
    assert!(offset_of!(mle_run_options, timeout_us) == 8 && offset_of!(mle_run_options, cancel) == 16);
    assert!(size_of::<mle_open_options>() == 32 && align_of::<mle_open_options>() == 8);
    assert!(offset_of!(mle_open_options, verify) == 8 && offset_of!(mle_open_options, max_arena_bytes) == 24);
    assert!(size_of::<mle_io_info>() == 88 && offset_of!(mle_io_info, shape) == 24);
    assert!(size_of::<mle_tensor>() == 96);
    assert!(offset_of!(mle_tensor, shape) == 16 && offset_of!(mle_tensor, data) == 80);
    assert!(offset_of!(mle_tensor, nbytes) == 88);
};

extern "C" {
    /// `MLE_ABI_VERSION` of the loaded library.
    pub fn mle_abi_version() -> u32;
    /// Library version, e.g. "0.1.0". Static storage.
    pub fn mle_version() -> *const c_char;
    /// Name of a status code. Static storage; never NULL ("MLE_ERR_UNKNOWN" for unknown codes).
    pub fn mle_status_string(status: mle_status) -> *const c_char;
    /// The status an error carries. 0 for NULL.
    pub fn mle_error_status(err: *const mle_error) -> mle_status;
    /// The error's message. Valid until `mle_error_free`. "" for NULL.
    pub fn mle_error_message(err: *const mle_error) -> *const c_char;
    /// Frees an error. NULL is a no-op.
    pub fn mle_error_free(err: *mut mle_error);
    /// Frees memory the library allocated (output tensors, serialized files). NULL is a no-op.
    pub fn mle_free(ptr: *mut c_void);

    /// Default options (struct_size set).
    pub fn mle_default_open_options() -> mle_open_options;
    /// Opens and validates the model at path. `opts` may be NULL for defaults.
    pub fn mle_model_open(
        path: *const c_char,
        opts: *const mle_open_options,
        model: *mut *mut mle_model,
        err: *mut *mut mle_error,
    ) -> mle_status;
    /// Opens a model from a buffer holding a whole .mle file; the bytes are copied.
    pub fn mle_model_open_memory(
        data: *const c_void,
        len: usize,
        opts: *const mle_open_options,
        model: *mut *mut mle_model,
        err: *mut *mut mle_error,
    ) -> mle_status;
    /// Frees a model handle. Sessions created from it stay usable.
    pub fn mle_model_free(model: *mut mle_model) -> mle_status;
    /// The METADATA JSON: `*len` = its length; copied NUL-terminated into `buf`
    /// when not NULL (`cap >= *len + 1`, else `MLE_ERR_BUFFER_TOO_SMALL`).
    pub fn mle_model_metadata(
        model: *mut mle_model,
        buf: *mut c_char,
        cap: usize,
        len: *mut usize,
        err: *mut *mut mle_error,
    ) -> mle_status;
    pub fn mle_model_input_count(model: *mut mle_model, count: *mut usize) -> mle_status;
    pub fn mle_model_output_count(model: *mut mle_model, count: *mut usize) -> mle_status;
    pub fn mle_model_input_info(
        model: *mut mle_model,
        index: usize,
        info: *mut mle_io_info,
        err: *mut *mut mle_error,
    ) -> mle_status;
    pub fn mle_model_output_info(
        model: *mut mle_model,
        index: usize,
        info: *mut mle_io_info,
        err: *mut *mut mle_error,
    ) -> mle_status;

    /// Creates a session: per-thread state (activation arena, cached plans).
    pub fn mle_session_new(
        model: *mut mle_model,
        session: *mut *mut mle_session,
        err: *mut *mut mle_error,
    ) -> mle_status;
    /// Frees a session. `MLE_ERR_BUSY` if another thread is running it.
    pub fn mle_session_free(session: *mut mle_session) -> mle_status;
    /// Runs the model. `n_inputs` must equal the model's input count; `n_outputs`
    /// is 1 to the model's output count (by name, or the first `n_outputs`).
    pub fn mle_session_run(
        session: *mut mle_session,
        inputs: *const mle_tensor,
        n_inputs: usize,
        outputs: *mut mle_tensor,
        n_outputs: usize,
        err: *mut *mut mle_error,
    ) -> mle_status;
    /// Default run options: no timeout, no cancel flag.
    pub fn mle_default_run_options() -> mle_run_options;
    /// `mle_session_run` with options (`opts` may be NULL: no timeout, no
    /// flag). Cancellation and the timeout are checked between nodes and
    /// between chunks of every long kernel. A cancelled run leaves caller
    /// output buffers with unspecified contents and frees the outputs the
    /// library allocated.
    pub fn mle_session_run_opts(
        session: *mut mle_session,
        inputs: *const mle_tensor,
        n_inputs: usize,
        outputs: *mut mle_tensor,
        n_outputs: usize,
        opts: *const mle_run_options,
        err: *mut *mut mle_error,
    ) -> mle_status;

    pub fn mle_builder_new(builder: *mut *mut mle_builder, err: *mut *mut mle_error) -> mle_status;
    pub fn mle_builder_free(builder: *mut mle_builder) -> mle_status;
    pub fn mle_builder_set_metadata_json(
        builder: *mut mle_builder,
        json: *const c_char,
        err: *mut *mut mle_error,
    ) -> mle_status;
    pub fn mle_builder_add_input(
        builder: *mut mle_builder,
        name: *const c_char,
        dtype: mle_dtype,
        shape: *const i64,
        rank: i32,
        err: *mut *mut mle_error,
    ) -> mle_status;
    pub fn mle_builder_add_output(
        builder: *mut mle_builder,
        name: *const c_char,
        err: *mut *mut mle_error,
    ) -> mle_status;
    pub fn mle_builder_add_tensor(
        builder: *mut mle_builder,
        name: *const c_char,
        dtype: mle_dtype,
        shape: *const i64,
        rank: i32,
        data: *const c_void,
        nbytes: usize,
        err: *mut *mut mle_error,
    ) -> mle_status;
    pub fn mle_builder_add_node(
        builder: *mut mle_builder,
        op: *const c_char,
        name: *const c_char,
        inputs: *const *const c_char,
        n_inputs: usize,
        outputs: *const *const c_char,
        n_outputs: usize,
        node_index: *mut usize,
        err: *mut *mut mle_error,
    ) -> mle_status;
    pub fn mle_builder_set_attr_int(
        builder: *mut mle_builder,
        node: usize,
        name: *const c_char,
        value: i64,
        err: *mut *mut mle_error,
    ) -> mle_status;
    pub fn mle_builder_set_attr_float(
        builder: *mut mle_builder,
        node: usize,
        name: *const c_char,
        value: f64,
        err: *mut *mut mle_error,
    ) -> mle_status;
    pub fn mle_builder_set_attr_string(
        builder: *mut mle_builder,
        node: usize,
        name: *const c_char,
        value: *const c_char,
        err: *mut *mut mle_error,
    ) -> mle_status;
    pub fn mle_builder_set_attr_ints(
        builder: *mut mle_builder,
        node: usize,
        name: *const c_char,
        values: *const i64,
        n: usize,
        err: *mut *mut mle_error,
    ) -> mle_status;
    pub fn mle_builder_set_attr_floats(
        builder: *mut mle_builder,
        node: usize,
        name: *const c_char,
        values: *const f64,
        n: usize,
        err: *mut *mut mle_error,
    ) -> mle_status;
    /// Validates the model and writes it to path atomically.
    pub fn mle_builder_save(
        builder: *mut mle_builder,
        path: *const c_char,
        bytes_written: *mut u64,
        err: *mut *mut mle_error,
    ) -> mle_status;
    /// Validates the model and returns the file's bytes in `*data` (free with `mle_free`).
    pub fn mle_builder_serialize(
        builder: *mut mle_builder,
        data: *mut *mut c_void,
        len: *mut usize,
        err: *mut *mut mle_error,
    ) -> mle_status;
}
