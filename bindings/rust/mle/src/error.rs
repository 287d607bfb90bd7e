//! [`Error`]: a failed MLE call, carrying the library's status and message.

use std::ffi::CStr;
use std::fmt;
use std::ptr;

use mle_sys as sys;

/// `Result<T, mle::Error>`.
pub type Result<T> = std::result::Result<T, Error>;

/// A failed MLE call: the full (extended) status code and the library's message
/// saying what failed and where.
///
/// `status()` is the exact code (e.g. `MLE_ERR_FORMAT_TRUNCATED` = 260), the one to
/// log or test; `primary()` / [`kind()`](Error::kind) is its class, the one to
/// branch on (see `include/mle.h`, "Status codes"). Errors raised by the binding
/// itself (a name containing a NUL byte, a rank above 8, a library that speaks
/// another ABI) use the same codes.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    status: u32,
    message: String,
}

/// The class of a status, to branch on: its primary code (low 8 bits), except
/// that a run past its timeout (`MLE_ERR_CANCELLED_DEADLINE`) is [`Timeout`]
/// rather than [`Cancelled`], since callers handle the two differently.
///
/// [`Timeout`]: ErrorKind::Timeout
/// [`Cancelled`]: ErrorKind::Cancelled
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `MLE_ERR_INVALID_ARGUMENT`: a bad argument, option, name or value.
    InvalidArgument,
    /// `MLE_ERR_BAD_HANDLE`: cannot happen through this crate's safe API.
    BadHandle,
    /// `MLE_ERR_IO`: open/read/map/write failed, or mapped memory faulted.
    Io,
    /// `MLE_ERR_FORMAT`: not a valid .mle file.
    Format,
    /// `MLE_ERR_CHECKSUM`: a CRC does not match; the file is damaged.
    Checksum,
    /// `MLE_ERR_GRAPH`: the model's graph is invalid.
    Graph,
    /// `MLE_ERR_METADATA`: the metadata JSON is invalid.
    Metadata,
    /// `MLE_ERR_UNSUPPORTED`: valid, but not supported by this build.
    Unsupported,
    /// `MLE_ERR_SHAPE`: input shapes do not fit the model.
    Shape,
    /// `MLE_ERR_DTYPE`: an input's dtype does not match the model.
    DType,
    /// `MLE_ERR_BUFFER_TOO_SMALL`.
    BufferTooSmall,
    /// `MLE_ERR_FORKED`: called in a child process after fork().
    Forked,
    /// `MLE_ERR_NO_MEMORY`: a run would need more than `max_arena_bytes`
    /// (`MLE_ERR_NO_MEMORY_LIMIT`), or the operating system refused the
    /// memory (`MLE_ERR_NO_MEMORY_SYSTEM`). Nothing was allocated or run.
    NoMemory,
    /// `MLE_ERR_INTERNAL`: a bug in MLE.
    Internal,
    /// `MLE_ERR_BUSY`: a session or builder used by two threads at once.
    Busy,
    /// `MLE_ERR_CANCELLED`: the run's cancel flag was set
    /// ([`RunOptions::cancel`](crate::RunOptions::cancel)).
    Cancelled,
    /// `MLE_ERR_CANCELLED_DEADLINE`: the run took longer than its timeout
    /// ([`RunOptions::timeout`](crate::RunOptions::timeout)); `primary()` is
    /// still `MLE_ERR_CANCELLED`.
    Timeout,
    /// `MLE_ERR_SECURITY`: a signature, key, decryption or access-policy
    /// check refused the file; `code()` names which.
    Security,
    /// A primary code this crate does not know (a newer library).
    Other(u32),
}

impl ErrorKind {
    /// The class of a (primary or extended) status code.
    pub fn from_status(status: u32) -> ErrorKind {
        // BEGIN GENERATED: error kinds (cmd/mle-gentables) - do not edit
        if status == sys::MLE_ERR_CANCELLED_DEADLINE {
            return ErrorKind::Timeout;
        }
        match sys::MLE_STATUS_PRIMARY(status) {
            sys::MLE_ERR_INVALID_ARGUMENT => ErrorKind::InvalidArgument,
            sys::MLE_ERR_BAD_HANDLE => ErrorKind::BadHandle,
            sys::MLE_ERR_IO => ErrorKind::Io,
            sys::MLE_ERR_FORMAT => ErrorKind::Format,
            sys::MLE_ERR_CHECKSUM => ErrorKind::Checksum,
            sys::MLE_ERR_GRAPH => ErrorKind::Graph,
            sys::MLE_ERR_METADATA => ErrorKind::Metadata,
            sys::MLE_ERR_UNSUPPORTED => ErrorKind::Unsupported,
            sys::MLE_ERR_SHAPE => ErrorKind::Shape,
            sys::MLE_ERR_DTYPE => ErrorKind::DType,
            sys::MLE_ERR_BUFFER_TOO_SMALL => ErrorKind::BufferTooSmall,
            sys::MLE_ERR_FORKED => ErrorKind::Forked,
            sys::MLE_ERR_NO_MEMORY => ErrorKind::NoMemory,
            sys::MLE_ERR_INTERNAL => ErrorKind::Internal,
            sys::MLE_ERR_BUSY => ErrorKind::Busy,
            sys::MLE_ERR_CANCELLED => ErrorKind::Cancelled,
            sys::MLE_ERR_SECURITY => ErrorKind::Security,
            p => ErrorKind::Other(p),
        }
        // END GENERATED: error kinds
    }
}

impl Error {
    /// An error with the given status and message.
    pub fn new(status: u32, message: impl Into<String>) -> Error {
        Error { status, message: message.into() }
    }

    /// The full status: primary code plus refinement (e.g. 516 `MLE_ERR_FORMAT_BAD_MAGIC`).
    pub fn status(&self) -> u32 {
        self.status
    }

    /// The primary code, `MLE_STATUS_PRIMARY(status)` (e.g. 4 `MLE_ERR_FORMAT`).
    pub fn primary(&self) -> u32 {
        sys::MLE_STATUS_PRIMARY(self.status)
    }

    /// The class as an enum ([`ErrorKind::from_status`]).
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::from_status(self.status)
    }

    /// The name of the status, e.g. `"MLE_ERR_FORMAT_BAD_MAGIC"` (`mle_status_string`).
    pub fn status_name(&self) -> &'static str {
        status_string(self.status)
    }

    /// The name of the primary code, e.g. `"MLE_ERR_FORMAT"`.
    pub fn primary_name(&self) -> &'static str {
        status_string(self.primary())
    }

    /// The library's message: what failed and where.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.status_name(), self.status, self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("status", &self.status)
            .field("name", &self.status_name())
            .field("message", &self.message)
            .finish()
    }
}

impl std::error::Error for Error {}

/// The name of a status code, e.g. `"MLE_ERR_DTYPE"`; `"MLE_ERR_UNKNOWN"` for
/// codes the library does not know.
pub fn status_string(status: u32) -> &'static str {
    // SAFETY: mle_status_string accepts any value and returns a pointer to a
    // NUL-terminated string in static storage, never NULL (mle.h).
    let s = unsafe { CStr::from_ptr(sys::mle_status_string(status)) };
    s.to_str().unwrap_or("MLE_ERR_UNKNOWN")
}

/// Turns a status and the `mle_error` the library stored into a `Result`,
/// freeing the `mle_error`.
///
/// # Safety
/// `err` must be NULL or an `mle_error` handed out by the library and not
/// freed yet; it must not be used after this call.
pub(crate) unsafe fn take(status: u32, err: *mut sys::mle_error) -> Result<()> {
    if status == sys::MLE_OK {
        // SAFETY: the caller passes NULL or a live error; freeing NULL is a no-op.
        unsafe { sys::mle_error_free(err) };
        return Ok(());
    }
    let message = if err.is_null() {
        String::new()
    } else {
        // SAFETY: err is live (caller's contract); the message is valid until
        // mle_error_free, and we copy it before that.
        let m = unsafe { CStr::from_ptr(sys::mle_error_message(err)) }.to_string_lossy().into_owned();
        // SAFETY: err is live and not used again.
        unsafe { sys::mle_error_free(err) };
        m
    };
    let message = if message.is_empty() { status_string(status).to_string() } else { message };
    Err(Error::new(status, message))
}

/// Calls `f` with a fresh `mle_error **` slot and converts its status.
pub(crate) fn call(f: impl FnOnce(*mut *mut sys::mle_error) -> u32) -> Result<()> {
    let mut err: *mut sys::mle_error = ptr::null_mut();
    let status = f(&mut err);
    // SAFETY: err is NULL or the error the library just stored for this call.
    unsafe { take(status, err) }
}

/// A status-only result (functions without an `mle_error **`).
pub(crate) fn check(status: u32) -> Result<()> {
    // SAFETY: NULL error.
    unsafe { take(status, ptr::null_mut()) }
}

/// `MLE_ERR_INVALID_VALUE` for a string argument that cannot cross into C.
pub(crate) fn cstring(s: &str, what: &str) -> Result<std::ffi::CString> {
    std::ffi::CString::new(s)
        .map_err(|_| Error::new(sys::MLE_ERR_INVALID_VALUE, format!("{what} {s:?} contains a NUL byte")))
}
