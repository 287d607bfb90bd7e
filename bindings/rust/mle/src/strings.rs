//! The packed form of string tensors (docs/FORMAT.md §7.1): for n elements,
//! n+1 little-endian `u64` offsets, then the UTF-8 bytes back to back.

use mle_sys as sys;

use crate::error::{Error, Result};

/// Bytes of the offsets of `n` elements, `8 * (n + 1)`; `None` on overflow.
fn header_size(n: usize) -> Option<usize> {
    n.checked_add(1)?.checked_mul(8)
}

/// Packs `values` as the library takes them. An element over
/// `MLE_MAX_STRING_BYTES` is `MLE_ERR_INVALID_STRING`, as the library would
/// answer; checking first also bounds what is copied. A size the address
/// space cannot hold, or memory the allocator refuses, is
/// `MLE_ERR_NO_MEMORY_SYSTEM` rather than an abort.
pub(crate) fn pack<S: AsRef<str>>(values: &[S]) -> Result<Vec<u8>> {
    let mut text = Some(0usize); // None: past usize (elements may alias one another)
    for (i, s) in values.iter().enumerate() {
        let len = s.as_ref().len();
        if len > sys::MLE_MAX_STRING_BYTES {
            return Err(Error::new(
                sys::MLE_ERR_INVALID_STRING,
                format!(
                    "string {i} is {len} bytes of UTF-8; the limit is {} (MLE_MAX_STRING_BYTES)",
                    sys::MLE_MAX_STRING_BYTES
                ),
            ));
        }
        text = text.and_then(|t| t.checked_add(len));
    }
    let n = values.len();
    let total = text.zip(header_size(n)).and_then(|(t, h)| t.checked_add(h));
    let mut out = Vec::new();
    if total.map_or(true, |t| out.try_reserve_exact(t).is_err()) {
        let size = total.map_or_else(|| "more than the address space".to_string(), |t| format!("{t} bytes"));
        return Err(Error::new(sys::MLE_ERR_NO_MEMORY_SYSTEM, format!("packing {n} strings needs {size}: refused")));
    }
    let mut end = 0u64;
    out.extend_from_slice(&end.to_le_bytes());
    for s in values {
        end += s.as_ref().len() as u64;
        out.extend_from_slice(&end.to_le_bytes());
    }
    for s in values {
        out.extend_from_slice(s.as_ref().as_bytes());
    }
    Ok(out)
}

/// The `n` elements of packed `bytes`, borrowed; every rule of §7.1 is
/// checked (offsets, UTF-8, the length limit), so nothing here can panic.
/// The error says which rule broke.
pub(crate) fn unpack(bytes: &[u8], n: usize) -> std::result::Result<Vec<&str>, String> {
    let head = header_size(n)
        .filter(|&h| h <= bytes.len())
        .ok_or_else(|| format!("{} bytes cannot hold the offsets of {n} strings", bytes.len()))?;
    let (offsets, text) = bytes.split_at(head);
    let mut offsets = offsets.chunks_exact(8).map(|c| {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        u64::from_le_bytes(w)
    });
    if offsets.next() != Some(0) {
        return Err("offsets[0] is not 0".into());
    }
    let mut out = Vec::with_capacity(n); // n <= bytes.len() / 8: bounded by the input
    let mut start = 0usize;
    for (i, end) in offsets.enumerate() {
        let (e, s) = usize::try_from(end)
            .ok()
            .filter(|&e| e >= start)
            .and_then(|e| text.get(start..e).map(|s| (e, s)))
            .ok_or_else(|| {
                format!("offsets[{}] = {end} is below offsets[{i}] or past the {} text bytes", i + 1, text.len())
            })?;
        if s.len() > sys::MLE_MAX_STRING_BYTES {
            return Err(format!("string {i} is {} bytes; the limit is {}", s.len(), sys::MLE_MAX_STRING_BYTES));
        }
        out.push(std::str::from_utf8(s).map_err(|err| format!("string {i} is not UTF-8: {err}"))?);
        start = e;
    }
    if start != text.len() {
        return Err(format!("offsets[{n}] = {start}, but {} text bytes follow the offsets", text.len()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packed(offsets: &[u64], text: &[u8]) -> Vec<u8> {
        offsets.iter().flat_map(|o| o.to_le_bytes()).chain(text.iter().copied()).collect()
    }

    #[test]
    fn round_trip() {
        let words = ["", "héllo", "東京", "a\0b", ""];
        let p = pack(&words).unwrap();
        assert_eq!(p, packed(&[0, 0, 6, 12, 15, 15], "héllo東京a\0b".as_bytes()));
        assert_eq!(unpack(&p, 5).unwrap(), words);
        let owned: Vec<String> = words.iter().map(|s| s.to_string()).collect();
        assert_eq!(pack(&owned).unwrap(), p);
        let none: [&str; 0] = [];
        assert_eq!(pack(&none).unwrap(), [0u8; 8]);
        assert_eq!(unpack(&[0u8; 8], 0).unwrap(), Vec::<&str>::new());
    }

    #[test]
    fn limits() {
        let max = "x".repeat(sys::MLE_MAX_STRING_BYTES);
        let p = pack(&[max.as_str()]).unwrap();
        assert_eq!(unpack(&p, 1).unwrap()[0].len(), sys::MLE_MAX_STRING_BYTES);
        let over = "x".repeat(sys::MLE_MAX_STRING_BYTES + 1);
        let e = pack(&["ok", over.as_str()]).unwrap_err();
        assert_eq!(e.status(), sys::MLE_ERR_INVALID_STRING);
        assert!(e.message().contains("string 1 is 1048577 bytes"), "{e}");
        let p = packed(&[0, over.len() as u64], over.as_bytes());
        assert!(unpack(&p, 1).unwrap_err().contains("limit"));
    }

    #[test]
    fn malformed() {
        for (bytes, n, why) in [
            (vec![], 0, "cannot hold"),
            (vec![0u8; 15], 1, "cannot hold"),
            (packed(&[1, 1], b"a"), 1, "offsets[0]"),
            (packed(&[0, 2, 1], b"ab"), 2, "offsets[2] = 1 is below"),
            (packed(&[0, 3], b"ab"), 1, "past the 2 text bytes"),
            (packed(&[0, u64::MAX], b"ab"), 1, "past"),
            (packed(&[0, 1], b"ab"), 1, "offsets[1] = 1, but 2 text bytes"),
            (packed(&[0, 1], b"\xff"), 1, "not UTF-8"),
            (packed(&[0, 1, 2], "é".as_bytes()), 2, "not UTF-8"),
        ] {
            let e = unpack(&bytes, n).unwrap_err();
            assert!(e.contains(why), "{bytes:?}: {e}");
        }
        assert!(unpack(&[0u8; 8], usize::MAX).is_err(), "no overflow");
    }
}
