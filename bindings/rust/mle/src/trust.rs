//! Signing and encryption of .mle files: [`keygen`], [`sign_file`],
//! [`encrypt_file`], [`decrypt_file`] (include/mle.h, "trust: signing,
//! encryption, compression"; docs/security.md says what each protects
//! against). Opening such files takes the keys of
//! [`OpenOptions`](crate::OpenOptions).

use std::ffi::{c_char, c_void, CString, OsString};
use std::path::{Path, PathBuf};
use std::ptr;

use mle_sys as sys;

use crate::error::{call, Result};
use crate::model::{check_abi, path_cstring};

/// Writes a new Ed25519 key pair: `<prefix>.key` (the private key, PKCS #8
/// PEM, mode 0600) and `<prefix>.pub` (the public key, PEM, for
/// [`OpenOptions::trusted_key`](crate::OpenOptions::trusted_key)). Returns
/// their paths. An existing `<prefix>.key` is never replaced (an error): a
/// lost private key cannot be recovered.
pub fn keygen(prefix: impl AsRef<Path>) -> Result<(PathBuf, PathBuf)> {
    check_abi()?;
    let prefix = prefix.as_ref();
    let c = path_cstring(prefix)?;
    // SAFETY: c is NUL-terminated and alive for the call; err is a valid slot.
    call(|err| unsafe { sys::mle_keygen(c.as_ptr(), err) })?;
    let with = |ext: &str| {
        let mut s = OsString::from(prefix.as_os_str());
        s.push(ext);
        PathBuf::from(s)
    };
    Ok((with(".key"), with(".pub")))
}

/// Signs the .mle file at `input` with an Ed25519 private key (the PEM a
/// `.key` file from [`keygen`] holds, or the 32-byte seed), writing the
/// signed file to `output` (`None`: `input`, replaced atomically). The file
/// is verified before it is signed; signatures already there are kept.
/// Encrypted files are refused: sign first, then encrypt.
pub fn sign_file(input: impl AsRef<Path>, output: Option<&Path>, key: &[u8]) -> Result<()> {
    file_op(sys::mle_sign_file, input.as_ref(), output, key)
}

/// Encrypts the .mle file at `input` with a 32-byte key (AES-256-GCM in
/// chunks) into `output` (`None`: in place). Another key length is
/// `MLE_ERR_KEY_INVALID`.
pub fn encrypt_file(input: impl AsRef<Path>, output: Option<&Path>, key: &[u8]) -> Result<()> {
    file_op(sys::mle_encrypt_file, input.as_ref(), output, key)
}

/// Writes the plain .mle file sealed in the encrypted file at `input` to
/// `output` (`None`: in place). Another key than the file's is
/// `MLE_ERR_KEY_WRONG`.
pub fn decrypt_file(input: impl AsRef<Path>, output: Option<&Path>, key: &[u8]) -> Result<()> {
    file_op(sys::mle_decrypt_file, input.as_ref(), output, key)
}

type FileKeyFn =
    unsafe extern "C" fn(*const c_char, *const c_char, *const c_void, usize, *mut *mut sys::mle_error) -> u32;

fn file_op(f: FileKeyFn, input: &Path, output: Option<&Path>, key: &[u8]) -> Result<()> {
    check_abi()?;
    let input = path_cstring(input)?;
    let output: Option<CString> = output.map(path_cstring).transpose()?;
    let out_ptr = output.as_ref().map_or(ptr::null(), |o| o.as_ptr());
    // A non-NULL pointer even for an empty key, so that the library reports
    // the length (MLE_ERR_KEY_INVALID), not a NULL argument.
    let key_ptr: *const c_void =
        if key.is_empty() { ptr::NonNull::<u8>::dangling().as_ptr().cast() } else { key.as_ptr().cast() };
    // SAFETY: the paths are NUL-terminated (out_ptr NULL or one of them) and
    // key is valid for key.len() reads, all alive for the call; the library
    // copies the key and keeps no pointer. err is a valid slot.
    call(|err| unsafe { f(input.as_ptr(), out_ptr, key_ptr, key.len(), err) })
}
