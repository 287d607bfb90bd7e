//! Shared helpers of the integration tests: where the conformance suite is, a
//! small JSON reader for its manifest (no serde: the tests need no crates), and
//! temporary directories.
#![allow(dead_code)]

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The repository root (bindings/rust/mle is three levels down).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

/// The conformance suite: `$MLE_CONFORMANCE_DIR`, else `<repo>/build/conformance`.
/// Panics, naming `make conformance`, when it has no manifest.
pub fn conformance_dir() -> PathBuf {
    let dir = match std::env::var_os("MLE_CONFORMANCE_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => repo_root().join("build/conformance"),
    };
    if !dir.join("manifest.json").is_file() {
        panic!(
            "no conformance suite in {}: run `make conformance` in the repository root \
             (or set MLE_CONFORMANCE_DIR)",
            dir.display()
        );
    }
    dir
}

/// The parsed manifest.json of the conformance suite.
pub fn manifest() -> (PathBuf, Json) {
    let dir = conformance_dir();
    let text = std::fs::read_to_string(dir.join("manifest.json")).expect("read manifest.json");
    let json = Json::parse(&text).unwrap_or_else(|e| panic!("manifest.json: {e}"));
    (dir, json)
}

/// Reads a tensor of the suite: `file`'s bytes from `data_offset`, which must
/// be exactly the shape's size for the dtype (strings: [`read_strings`]).
pub fn read_tensor_bytes(dir: &Path, t: &Json) -> Result<Vec<u8>, String> {
    let file = t["file"].as_str().ok_or("tensor without file")?;
    let offset = t["data_offset"].as_u64().ok_or("tensor without data_offset")? as usize;
    let dtype = t["dtype"].as_str().ok_or("tensor without dtype")?;
    let shape = t["shape"].as_i64_vec().ok_or("tensor without shape")?;
    let size = mle::DType::from_name(dtype).ok_or_else(|| format!("unknown dtype {dtype}"))?.size();
    let want = shape.iter().product::<i64>() as usize * size;
    let bytes = std::fs::read(dir.join(file)).map_err(|e| format!("{file}: {e}"))?;
    let data = bytes.get(offset..).ok_or_else(|| format!("{file}: data_offset {offset} past the end"))?;
    if data.len() != want {
        return Err(format!("{file}: {} data bytes, want {want} for {dtype} {shape:?}", data.len()));
    }
    Ok(data.to_vec())
}

/// The elements of a `string` tensor of the suite: its `strings` list, which
/// must hold exactly the shape's element count.
pub fn read_strings(t: &Json) -> Result<Vec<String>, String> {
    let Json::Array(items) = &t["strings"] else { return Err("string tensor without a strings list".into()) };
    let shape = t["shape"].as_i64_vec().ok_or("tensor without shape")?;
    let strings = items
        .iter()
        .map(|s| s.as_str().map(str::to_owned).ok_or_else(|| format!("strings holds {s:?}")))
        .collect::<Result<Vec<_>, _>>()?;
    if strings.len() as i64 != shape.iter().product::<i64>() {
        return Err(format!("{} strings for shape {shape:?}", strings.len()));
    }
    Ok(strings)
}

// ------------------------------------------------------------------- JSON

/// A JSON value. Numbers keep their text, so integers round-trip exactly.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

static NULL: Json = Json::Null;

impl Json {
    /// Parses a whole document (RFC 8259; duplicate keys are kept, the first wins on lookup).
    pub fn parse(text: &str) -> Result<Json, String> {
        let mut p = Parser { s: text.as_bytes(), i: 0, depth: 0 };
        let v = p.value()?;
        p.ws();
        if p.i != p.s.len() {
            return Err(p.err("trailing characters"));
        }
        Ok(v)
    }

    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(kv) => kv.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Json::Number(n) => n.parse().ok(),
            _ => None,
        }
    }
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Json::Number(n) => n.parse().ok(),
            _ => None,
        }
    }
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Number(n) => n.parse().ok(),
            _ => None,
        }
    }
    pub fn as_array(&self) -> &[Json] {
        match self {
            Json::Array(a) => a,
            _ => &[],
        }
    }
    pub fn as_i64_vec(&self) -> Option<Vec<i64>> {
        match self {
            Json::Array(a) => a.iter().map(Json::as_i64).collect(),
            _ => None,
        }
    }
    pub fn is_null(&self) -> bool {
        matches!(self, Json::Null)
    }
}

impl std::ops::Index<&str> for Json {
    type Output = Json;
    /// `json["key"]`: the value, or `Null` when absent.
    fn index(&self, key: &str) -> &Json {
        self.get(key).unwrap_or(&NULL)
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Json::Null => f.write_str("null"),
            Json::Bool(b) => write!(f, "{b}"),
            Json::Number(n) => f.write_str(n),
            Json::String(s) => write!(f, "{s:?}"),
            Json::Array(a) => {
                f.write_str("[")?;
                for (i, v) in a.iter().enumerate() {
                    write!(f, "{}{v}", if i > 0 { "," } else { "" })?;
                }
                f.write_str("]")
            }
            Json::Object(kv) => {
                f.write_str("{")?;
                for (i, (k, v)) in kv.iter().enumerate() {
                    write!(f, "{}{k:?}:{v}", if i > 0 { "," } else { "" })?;
                }
                f.write_str("}")
            }
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    depth: usize,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> String {
        format!("JSON: {what} at byte {}", self.i)
    }
    fn ws(&mut self) {
        while matches!(self.s.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }
    fn eat(&mut self, lit: &str) -> Result<(), String> {
        if self.s[self.i..].starts_with(lit.as_bytes()) {
            self.i += lit.len();
            Ok(())
        } else {
            Err(self.err(&format!("expected {lit}")))
        }
    }
    fn value(&mut self) -> Result<Json, String> {
        self.ws();
        match self.s.get(self.i) {
            None => Err(self.err("unexpected end")),
            Some(b'n') => self.eat("null").map(|_| Json::Null),
            Some(b't') => self.eat("true").map(|_| Json::Bool(true)),
            Some(b'f') => self.eat("false").map(|_| Json::Bool(false)),
            Some(b'"') => self.string().map(Json::String),
            Some(b'[') => self.nested(b']', |p| {
                let mut a = Vec::new();
                loop {
                    a.push(p.value()?);
                    if p.sep(b']')? {
                        return Ok(Json::Array(a));
                    }
                }
            }),
            Some(b'{') => self.nested(b'}', |p| {
                let mut kv = Vec::new();
                loop {
                    p.ws();
                    let k = p.string()?;
                    p.ws();
                    p.eat(":")?;
                    kv.push((k, p.value()?));
                    if p.sep(b'}')? {
                        return Ok(Json::Object(kv));
                    }
                }
            }),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.err("unexpected character")),
        }
    }
    /// `[`/`{` already seen: handles the empty case and the nesting limit.
    fn nested(&mut self, close: u8, body: impl FnOnce(&mut Self) -> Result<Json, String>) -> Result<Json, String> {
        self.depth += 1;
        if self.depth > 128 {
            return Err(self.err("nested too deeply"));
        }
        self.i += 1;
        self.ws();
        let v = if self.s.get(self.i) == Some(&close) {
            self.i += 1;
            Ok(if close == b']' { Json::Array(Vec::new()) } else { Json::Object(Vec::new()) })
        } else {
            body(self)
        };
        self.depth -= 1;
        v
    }
    /// After an element: `,` (more follow) or the closing bracket (done).
    fn sep(&mut self, close: u8) -> Result<bool, String> {
        self.ws();
        match self.s.get(self.i) {
            Some(b',') => {
                self.i += 1;
                Ok(false)
            }
            Some(&c) if c == close => {
                self.i += 1;
                Ok(true)
            }
            _ => Err(self.err("expected , or closing bracket")),
        }
    }
    fn number(&mut self) -> Result<Json, String> {
        let start = self.i;
        if self.s[self.i] == b'-' {
            self.i += 1;
        }
        let digits = |p: &mut Self| {
            let s = p.i;
            while matches!(p.s.get(p.i), Some(b'0'..=b'9')) {
                p.i += 1;
            }
            p.i > s
        };
        if !digits(self) {
            return Err(self.err("bad number"));
        }
        if self.s.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !digits(self) {
                return Err(self.err("bad fraction"));
            }
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.s.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !digits(self) {
                return Err(self.err("bad exponent"));
            }
        }
        Ok(Json::Number(String::from_utf8_lossy(&self.s[start..self.i]).into_owned()))
    }
    fn hex4(&mut self) -> Result<u32, String> {
        let h = self.s.get(self.i..self.i + 4).ok_or_else(|| self.err("short \\u escape"))?;
        let v = u32::from_str_radix(std::str::from_utf8(h).map_err(|_| self.err("bad \\u"))?, 16)
            .map_err(|_| self.err("bad \\u escape"))?;
        self.i += 4;
        Ok(v)
    }
    fn string(&mut self) -> Result<String, String> {
        if self.s.get(self.i) != Some(&b'"') {
            return Err(self.err("expected string"));
        }
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let c = *self.s.get(self.i).ok_or_else(|| self.err("unterminated string"))?;
            self.i += 1;
            match c {
                b'"' => return String::from_utf8(out).map_err(|_| self.err("string is not UTF-8")),
                b'\\' => {
                    let e = *self.s.get(self.i).ok_or_else(|| self.err("bad escape"))?;
                    self.i += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let mut cp = self.hex4()?;
                            if (0xD800..0xDC00).contains(&cp) {
                                self.eat("\\u")?;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.err("bad surrogate pair"));
                                }
                                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                            }
                            char::from_u32(cp).ok_or_else(|| self.err("bad code point"))?
                        }
                        _ => return Err(self.err("bad escape")),
                    };
                    out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
                }
                0..=0x1f => return Err(self.err("control character in string")),
                _ => out.push(c),
            }
        }
    }
}

// ------------------------------------------------------------ temp dirs

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let p = std::env::temp_dir().join(format!(
            "mle-rust-{tag}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
