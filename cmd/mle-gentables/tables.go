package main

// The source of truth for MLE's status codes, dtypes and versions. Every
// language's copy (Go, C, C++, Python, Rust, Node.js, the docs) is generated
// from these three values by `make gen`; edit them here, never there.
//
// A Go table rather than a JSON or TOML file: the generator needs no parser
// or schema, a typo in a field name is a compile error, and entries can carry
// comments. Values are part of the C ABI and the file format: never change or
// reuse one.

// version is the library version (mle_version) and the C ABI version
// (MLE_ABI_VERSION, bumped on any incompatible change of include/mle.h).
var version = Version{Library: "0.1.0", ABI: 1}

// statuses lists every status code. Codes follow SQLite's scheme: a primary
// code (Value, below 256) is the class a binding maps to an exception type; an
// extended code (Primary + Ext) is primary | Ext<<8 and names the exact
// failure. Python and Rust name the class a primary code maps to; an extended
// code names one only where it needs a more specific class than its primary.
// Doc is one line for the header and the bindings (`x` marks code in Rust docs
// and Markdown; C and Go print it without the backquotes).
var statuses = []Status{
	{Name: "MLE_OK", Go: "OK", Value: 0},
	{Name: "MLE_ERR_INVALID_ARGUMENT", Go: "InvalidArgument", Value: 1, Doc: "a bad argument or option",
		Python: "MLEValueError", Rust: "InvalidArgument"},
	{Name: "MLE_ERR_BAD_HANDLE", Go: "BadHandle", Value: 2, Doc: "NULL, freed, forged or wrong-type handle",
		Python: "MLEValueError", Rust: "BadHandle"},
	{Name: "MLE_ERR_IO", Go: "IO", Value: 3, Doc: "open/read/map/write failed, or mapped memory faulted",
		Python: "MLEIOError", Rust: "Io"},
	{Name: "MLE_ERR_FORMAT", Go: "Format", Value: 4, Doc: "the file is not a valid .mle file",
		Python: "MLEFormatError", Rust: "Format"},
	{Name: "MLE_ERR_CHECKSUM", Go: "Checksum", Value: 5, Doc: "a CRC does not match: the file is damaged",
		Python: "MLEChecksumError", Rust: "Checksum"},
	{Name: "MLE_ERR_GRAPH", Go: "Graph", Value: 6, Doc: "the model's graph is invalid",
		Python: "MLEFormatError", Rust: "Graph"},
	{Name: "MLE_ERR_METADATA", Go: "Metadata", Value: 7, Doc: "the metadata JSON is invalid",
		Python: "MLEFormatError", Rust: "Metadata"},
	{Name: "MLE_ERR_UNSUPPORTED", Go: "Unsupported", Value: 8, Doc: "valid, but not supported by this build",
		Python: "MLEUnsupportedError", Rust: "Unsupported"},
	{Name: "MLE_ERR_SHAPE", Go: "Shape", Value: 9, Doc: "input shapes do not fit the model",
		Python: "MLEShapeError", Rust: "Shape"},
	{Name: "MLE_ERR_DTYPE", Go: "DType", Value: 10, Doc: "input dtype does not match the model",
		Python: "MLEDTypeError", Rust: "DType"},
	{Name: "MLE_ERR_BUFFER_TOO_SMALL", Go: "BufferTooSmall", Value: 11,
		Doc:    "an output buffer is too small; the size needed was written",
		Python: "MLEValueError", Rust: "BufferTooSmall"},
	{Name: "MLE_ERR_FORKED", Go: "Forked", Value: 12, Doc: "called in a child process after fork()",
		Python: "MLEForkError", Rust: "Forked"},
	{Name: "MLE_ERR_NO_MEMORY", Go: "NoMemory", Value: 13, Doc: "a run would need more memory than allowed",
		Python: "MLEMemoryError", Rust: "NoMemory"},
	{Name: "MLE_ERR_INTERNAL", Go: "Internal", Value: 14, Doc: "a bug in MLE, e.g. a caught panic: please report it",
		Python: "MLEInternalError", Rust: "Internal"},
	{Name: "MLE_ERR_BUSY", Go: "Busy", Value: 15, Doc: "the session or builder is in use by another thread",
		Python: "MLEBusyError", Rust: "Busy"},
	{Name: "MLE_ERR_CANCELLED", Go: "Cancelled", Value: 16, Doc: "the run was cancelled or ran past its timeout",
		Python: "MLECancelledError", Rust: "Cancelled"},
	{Name: "MLE_ERR_SECURITY", Go: "Security", Value: 17,
		Doc:    "a signature, key, decryption or access-policy check failed",
		Python: "MLESecurityError", Rust: "Security"},

	{Name: "MLE_ERR_INVALID_NULL", Go: "InvalidNull", Primary: "MLE_ERR_INVALID_ARGUMENT", Ext: 1,
		Doc: "a required pointer was NULL"},
	{Name: "MLE_ERR_INVALID_OPTIONS", Go: "InvalidOptions", Primary: "MLE_ERR_INVALID_ARGUMENT", Ext: 2,
		Doc: "bad options struct (struct_size or a field)"},
	{Name: "MLE_ERR_INVALID_NAME", Go: "InvalidName", Primary: "MLE_ERR_INVALID_ARGUMENT", Ext: 3,
		Doc: "no input or output has that name"},
	{Name: "MLE_ERR_INVALID_VALUE", Go: "InvalidValue", Primary: "MLE_ERR_INVALID_ARGUMENT", Ext: 4,
		Doc: "a value outside its documented range"},
	{Name: "MLE_ERR_INVALID_BUFFER", Go: "InvalidBuffer", Primary: "MLE_ERR_INVALID_ARGUMENT", Ext: 5,
		Doc: "reading or writing a caller's buffer faulted"},
	{Name: "MLE_ERR_INVALID_STRING", Go: "InvalidString", Primary: "MLE_ERR_INVALID_ARGUMENT", Ext: 6,
		Doc: "a string tensor's offsets are inconsistent, an element is not UTF-8 or is longer than allowed"},
	{Name: "MLE_ERR_INVALID_CATEGORY", Go: "InvalidCategory", Primary: "MLE_ERR_INVALID_ARGUMENT", Ext: 7,
		Doc: "a category the model did not see in training, where it was fitted to refuse them"},

	{Name: "MLE_ERR_IO_OPEN", Go: "IOOpen", Primary: "MLE_ERR_IO", Ext: 1,
		Doc: "the file could not be opened or stat'ed"},
	{Name: "MLE_ERR_IO_READ", Go: "IORead", Primary: "MLE_ERR_IO", Ext: 2, Doc: "reading failed"},
	{Name: "MLE_ERR_IO_MAP", Go: "IOMap", Primary: "MLE_ERR_IO", Ext: 3, Doc: "mapping the file (mmap) failed"},
	{Name: "MLE_ERR_IO_FAULT", Go: "IOFault", Primary: "MLE_ERR_IO", Ext: 4,
		Doc: "the mapped file was truncated while in use"},
	{Name: "MLE_ERR_IO_WRITE", Go: "IOWrite", Primary: "MLE_ERR_IO", Ext: 5,
		Doc: "writing, syncing or renaming failed"},
	{Name: "MLE_ERR_IO_NOT_FILE", Go: "IONotFile", Primary: "MLE_ERR_IO", Ext: 6,
		Doc: "not a regular file (FIFO, device, directory)"},

	{Name: "MLE_ERR_FORMAT_TRUNCATED", Go: "FormatTruncated", Primary: "MLE_ERR_FORMAT", Ext: 1,
		Doc: "shorter than its structures say"},
	{Name: "MLE_ERR_FORMAT_BAD_MAGIC", Go: "FormatBadMagic", Primary: "MLE_ERR_FORMAT", Ext: 2,
		Doc: "not an .mle file"},
	{Name: "MLE_ERR_FORMAT_VERSION", Go: "FormatVersion", Primary: "MLE_ERR_FORMAT", Ext: 3,
		Doc: "a newer major format version"},
	{Name: "MLE_ERR_FORMAT_REQUIRED_FLAG", Go: "FormatRequiredFlag", Primary: "MLE_ERR_FORMAT", Ext: 4,
		Doc: "requires a feature this build does not know"},
	{Name: "MLE_ERR_FORMAT_ENDIAN", Go: "FormatEndian", Primary: "MLE_ERR_FORMAT", Ext: 5,
		Doc: "not little-endian"},
	{Name: "MLE_ERR_FORMAT_SECTION_BOUNDS", Go: "FormatSectionBounds", Primary: "MLE_ERR_FORMAT", Ext: 6,
		Doc: "a section lies outside the file"},
	{Name: "MLE_ERR_FORMAT_SECTION_OVERLAP", Go: "FormatSectionOverlap", Primary: "MLE_ERR_FORMAT", Ext: 7,
		Doc: "sections or tensors overlap"},
	{Name: "MLE_ERR_FORMAT_GAP", Go: "FormatGap", Primary: "MLE_ERR_FORMAT", Ext: 8,
		Doc: "gap, trailing bytes or non-zero padding"},
	{Name: "MLE_ERR_FORMAT_HEADER", Go: "FormatHeader", Primary: "MLE_ERR_FORMAT", Ext: 9,
		Doc: "a bad header or section-table field"},
	{Name: "MLE_ERR_FORMAT_MISALIGNED", Go: "FormatMisaligned", Primary: "MLE_ERR_FORMAT", Ext: 10,
		Doc: "tensor data not 64-byte aligned"},
	{Name: "MLE_ERR_FORMAT_SHAPE_OVERFLOW", Go: "FormatShapeOverflow", Primary: "MLE_ERR_FORMAT", Ext: 11,
		Doc: "shape x itemsize overflows"},
	{Name: "MLE_ERR_FORMAT_NEGATIVE_DIM", Go: "FormatNegativeDim", Primary: "MLE_ERR_FORMAT", Ext: 12,
		Doc: "a stored tensor has a negative dimension"},
	{Name: "MLE_ERR_FORMAT_DTYPE", Go: "FormatDType", Primary: "MLE_ERR_FORMAT", Ext: 13,
		Doc: "unknown dtype id"},
	{Name: "MLE_ERR_FORMAT_TENSOR_BOUNDS", Go: "FormatTensorBounds", Primary: "MLE_ERR_FORMAT", Ext: 14,
		Doc: "tensor data runs past the WEIGHTS section"},
	{Name: "MLE_ERR_FORMAT_DESCRIPTOR", Go: "FormatDescriptor", Primary: "MLE_ERR_FORMAT", Ext: 15,
		Doc: "another malformed tensor descriptor"},
	{Name: "MLE_ERR_FORMAT_STRING", Go: "FormatString", Primary: "MLE_ERR_FORMAT", Ext: 16,
		Doc: "a stored string tensor is malformed (offsets, UTF-8, length)"},
	{Name: "MLE_ERR_FORMAT_SIGNATURE", Go: "FormatSignature", Primary: "MLE_ERR_FORMAT", Ext: 17,
		Doc: "the SIGNATURE section or its manifest does not decode"},
	{Name: "MLE_ERR_FORMAT_MANIFEST", Go: "FormatManifest", Primary: "MLE_ERR_FORMAT", Ext: 18,
		Doc: "the signed manifest does not describe this file (sections or tensors differ in number or place)"},
	{Name: "MLE_ERR_FORMAT_CODEC", Go: "FormatCodec", Primary: "MLE_ERR_FORMAT", Ext: 19,
		Doc: "a compressed or quantized tensor's stream is corrupt"},
	{Name: "MLE_ERR_FORMAT_CODEC_SIZE", Go: "FormatCodecSize", Primary: "MLE_ERR_FORMAT", Ext: 20,
		Doc: "a compressed stream decodes to more or fewer bytes than declared"},
	{Name: "MLE_ERR_FORMAT_CHUNK_TABLE", Go: "FormatChunkTable", Primary: "MLE_ERR_FORMAT", Ext: 21,
		Doc: "a chunk table is malformed or points outside its tensor"},
	{Name: "MLE_ERR_FORMAT_ENCRYPTION", Go: "FormatEncryption", Primary: "MLE_ERR_FORMAT", Ext: 22,
		Doc: "the ENCRYPTION or SEALED section of an encrypted file is malformed"},

	{Name: "MLE_ERR_CHECKSUM_HEADER", Go: "ChecksumHeader", Primary: "MLE_ERR_CHECKSUM", Ext: 1},
	{Name: "MLE_ERR_CHECKSUM_SECTION", Go: "ChecksumSection", Primary: "MLE_ERR_CHECKSUM", Ext: 2},
	{Name: "MLE_ERR_CHECKSUM_TENSOR", Go: "ChecksumTensor", Primary: "MLE_ERR_CHECKSUM", Ext: 3},

	{Name: "MLE_ERR_GRAPH_MISSING_TENSOR", Go: "GraphMissingTensor", Primary: "MLE_ERR_GRAPH", Ext: 1,
		Doc: "a node reads a tensor nothing defines"},
	{Name: "MLE_ERR_GRAPH_CYCLE", Go: "GraphCycle", Primary: "MLE_ERR_GRAPH", Ext: 2},
	{Name: "MLE_ERR_GRAPH_UNKNOWN_OP", Go: "GraphUnknownOp", Primary: "MLE_ERR_GRAPH", Ext: 3},
	{Name: "MLE_ERR_GRAPH_ATTRIBUTE", Go: "GraphAttribute", Primary: "MLE_ERR_GRAPH", Ext: 4,
		Doc: "missing, unknown, duplicate or wrongly typed attribute"},
	{Name: "MLE_ERR_GRAPH_SHAPE", Go: "GraphShape", Primary: "MLE_ERR_GRAPH", Ext: 5,
		Doc: "shapes or arities do not fit an op"},
	{Name: "MLE_ERR_GRAPH_MALFORMED", Go: "GraphMalformed", Primary: "MLE_ERR_GRAPH", Ext: 6,
		Doc: "the GRAPH section does not decode"},
	{Name: "MLE_ERR_GRAPH_DUPLICATE", Go: "GraphDuplicate", Primary: "MLE_ERR_GRAPH", Ext: 7,
		Doc: "a tensor name is defined twice"},
	{Name: "MLE_ERR_GRAPH_DTYPE", Go: "GraphDType", Primary: "MLE_ERR_GRAPH", Ext: 8,
		Doc: "dtypes do not fit an op"},
	{Name: "MLE_ERR_GRAPH_TOO_LARGE", Go: "GraphTooLarge", Primary: "MLE_ERR_GRAPH", Ext: 9,
		Doc: "a tensor's static size exceeds what any run could hold"},
	{Name: "MLE_ERR_GRAPH_TREE", Go: "GraphTree", Primary: "MLE_ERR_GRAPH", Ext: 10,
		Doc: "a tree ensemble's node arrays are malformed (cycles, shared nodes, indices or offsets out of range)"},

	{Name: "MLE_ERR_METADATA_SYNTAX", Go: "MetadataSyntax", Primary: "MLE_ERR_METADATA", Ext: 1,
		Doc: "not valid JSON"},
	{Name: "MLE_ERR_METADATA_DUPLICATE", Go: "MetadataDuplicate", Primary: "MLE_ERR_METADATA", Ext: 2,
		Doc: "duplicate JSON object key"},
	{Name: "MLE_ERR_METADATA_TOO_LARGE", Go: "MetadataTooLarge", Primary: "MLE_ERR_METADATA", Ext: 3,
		Doc: "over the size cap"},
	{Name: "MLE_ERR_METADATA_DEPTH", Go: "MetadataDepth", Primary: "MLE_ERR_METADATA", Ext: 4,
		Doc: "nested too deeply"},
	{Name: "MLE_ERR_METADATA_FIELD", Go: "MetadataField", Primary: "MLE_ERR_METADATA", Ext: 5,
		Doc: "a known field has the wrong type or value, or a writer got a key the format does not define"},
	{Name: "MLE_ERR_METADATA_UTF8", Go: "MetadataUTF8", Primary: "MLE_ERR_METADATA", Ext: 6,
		Doc: "invalid UTF-8"},
	{Name: "MLE_ERR_METADATA_SIGNATURE", Go: "MetadataSignature", Primary: "MLE_ERR_METADATA", Ext: 7,
		Doc: "inputs/outputs disagree with the graph"},
	{Name: "MLE_ERR_METADATA_MISSING_KEY", Go: "MetadataMissingKey", Primary: "MLE_ERR_METADATA", Ext: 8,
		Doc: "a required field is absent"},
	{Name: "MLE_ERR_METADATA_POLICY", Go: "MetadataPolicy", Primary: "MLE_ERR_METADATA", Ext: 9,
		Doc: "the access policy is malformed or names a claim this runtime does not know"},

	{Name: "MLE_ERR_UNSUPPORTED_ENCODING", Go: "UnsupportedEncoding", Primary: "MLE_ERR_UNSUPPORTED", Ext: 1,
		Doc: "a tensor encoding id this build does not know"},
	{Name: "MLE_ERR_UNSUPPORTED_DEVICE", Go: "UnsupportedDevice", Primary: "MLE_ERR_UNSUPPORTED", Ext: 2,
		Doc: "e.g. CUDA in a CPU-only build"},
	{Name: "MLE_ERR_UNSUPPORTED_FEATURE", Go: "UnsupportedFeature", Primary: "MLE_ERR_UNSUPPORTED", Ext: 3},

	{Name: "MLE_ERR_SIGNATURE_INVALID", Go: "SignatureInvalid", Primary: "MLE_ERR_SECURITY", Ext: 1,
		Doc: "a signature does not verify over the file's manifest"},
	{Name: "MLE_ERR_SIGNATURE_UNTRUSTED", Go: "SignatureUntrusted", Primary: "MLE_ERR_SECURITY", Ext: 2,
		Doc: "the file is signed, but by none of the trusted keys"},
	{Name: "MLE_ERR_SIGNATURE_REQUIRED", Go: "SignatureRequired", Primary: "MLE_ERR_SECURITY", Ext: 3,
		Doc: "a signature is required and the file has none"},
	{Name: "MLE_ERR_DIGEST_MISMATCH", Go: "DigestMismatch", Primary: "MLE_ERR_SECURITY", Ext: 4,
		Doc: "a section or tensor changed after signing: its SHA-256 differs from the signed manifest"},
	{Name: "MLE_ERR_KEY_REQUIRED", Go: "KeyRequired", Primary: "MLE_ERR_SECURITY", Ext: 5,
		Doc: "the file is encrypted and no key was given"},
	{Name: "MLE_ERR_KEY_WRONG", Go: "KeyWrong", Primary: "MLE_ERR_SECURITY", Ext: 6,
		Doc: "the key is not the one the file was encrypted with"},
	{Name: "MLE_ERR_KEY_INVALID", Go: "KeyInvalid", Primary: "MLE_ERR_SECURITY", Ext: 7,
		Doc: "a key or key file has the wrong length or format"},
	{Name: "MLE_ERR_DECRYPT", Go: "Decrypt", Primary: "MLE_ERR_SECURITY", Ext: 8,
		Doc: "encrypted data was tampered with or truncated: a chunk fails authentication"},
	{Name: "MLE_ERR_POLICY", Go: "Policy", Primary: "MLE_ERR_SECURITY", Ext: 9,
		Doc: "the file's access policy refuses this host, user, time or runtime"},

	{Name: "MLE_ERR_SHAPE_TOO_LARGE", Go: "ShapeTooLarge", Primary: "MLE_ERR_SHAPE", Ext: 1,
		Doc: "at these input shapes a tensor's size overflows"},

	{Name: "MLE_ERR_NO_MEMORY_LIMIT", Go: "NoMemoryLimit", Primary: "MLE_ERR_NO_MEMORY", Ext: 1,
		Doc: "the run needs more than `max_arena_bytes`"},
	{Name: "MLE_ERR_NO_MEMORY_SYSTEM", Go: "NoMemorySystem", Primary: "MLE_ERR_NO_MEMORY", Ext: 2,
		Doc: "the operating system refused the memory"},

	{Name: "MLE_ERR_CANCELLED_DEADLINE", Go: "CancelledDeadline", Primary: "MLE_ERR_CANCELLED", Ext: 1,
		Doc: "the run took longer than its timeout", Python: "MLETimeoutError", Rust: "Timeout"},
}

// dtypes lists the element types of docs/FORMAT.md §7, in id order. Ids equal
// ONNX TensorProto.DataType values. Per language: the Go constant and the
// short name dtype.Parse also accepts; the Rust enum variant and the Rust and
// C++ element types (none: no native type, callers use the bytes); the numpy
// dtype; the TypedArray Node.js holds the elements in. Bits marks a type no
// binding has a native type for, handed out as raw bits.
var dtypes = []DType{
	{ID: 1, Name: "float32", Size: 4, Go: "Float32", Short: "f32", Rust: "F32", RustElem: "f32", Cpp: "float",
		NumPy: "float32", JS: "Float32Array"},
	{ID: 2, Name: "uint8", Size: 1, Go: "Uint8", Short: "u8", Rust: "U8", RustElem: "u8", Cpp: "uint8_t",
		NumPy: "uint8", JS: "Uint8Array"},
	{ID: 3, Name: "int8", Size: 1, Go: "Int8", Short: "i8", Rust: "I8", RustElem: "i8", Cpp: "int8_t",
		NumPy: "int8", JS: "Int8Array"},
	{ID: 6, Name: "int32", Size: 4, Go: "Int32", Short: "i32", Rust: "I32", RustElem: "i32", Cpp: "int32_t",
		NumPy: "int32", JS: "Int32Array"},
	{ID: 7, Name: "int64", Size: 8, Go: "Int64", Short: "i64", Rust: "I64", RustElem: "i64", Cpp: "int64_t",
		NumPy: "int64", JS: "BigInt64Array"},
	// bool has Rust's bool, but not as an Element: not every byte is a valid bool.
	// string: UTF-8 text of any length; Size 0 (variable). Outside a run a
	// string tensor is packed: offsets, then bytes (docs/FORMAT.md §7.1).
	{ID: 8, Name: "string", Size: 0, Doc: "UTF-8 text, packed as in §7.1", Go: "String", Short: "str", Rust: "String",
		JS: "Array", Var: true},
	{ID: 9, Name: "bool", Size: 1, Doc: "0 or 1", Go: "Bool", Rust: "Bool", Cpp: "bool",
		NumPy: "bool", JS: "Uint8Array"},
	{ID: 10, Name: "float16", Size: 2, Doc: "IEEE half", Go: "Float16", Short: "f16", Rust: "F16",
		NumPy: "float16", JS: "Uint16Array", Bits: true},
	{ID: 11, Name: "float64", Size: 8, Go: "Float64", Short: "f64", Rust: "F64", RustElem: "f64", Cpp: "double",
		NumPy: "float64", JS: "Float64Array"},
	{ID: 16, Name: "bfloat16", Size: 2, Go: "BFloat16", Short: "bf16", Rust: "BF16", JS: "Uint16Array", Bits: true},
}

// Version is the library's version string and C ABI version.
type Version struct {
	Library string
	ABI     int
}

// Status is one status code.
type Status struct {
	Name    string // the C name, MLE_OK or MLE_ERR_*
	Go      string // the constant in core/errs
	Value   uint32 // primary codes: the value (< 256)
	Primary string // extended codes: the primary code's Name
	Ext     uint32 // extended codes: the refinement, value = primary | Ext<<8
	Doc     string
	Python  string // exception class (mle_runtime/_errors.py)
	Rust    string // mle::ErrorKind variant
}

// DType is one element type.
type DType struct {
	ID       int
	Name     string // docs/FORMAT.md §7, metadata "dtype" strings
	Size     int    // bytes per element
	Doc      string
	Go       string
	Short    string
	Rust     string
	RustElem string
	Cpp      string
	NumPy    string
	JS       string
	Bits     bool
	Var      bool // variable-length elements (string): Size is 0
}
