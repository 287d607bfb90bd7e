// Package errs defines MLE's status codes and the error type every layer returns.
//
// Codes follow SQLite's scheme: the low 8 bits are the primary code (what a
// binding maps to an exception class) and the upper bits refine it into an
// extended code that names the exact failure (what tests assert).
package errs

import (
	"errors"
	"fmt"
)

// Code is an MLE status code. The values are part of the C ABI: never reuse one.
type Code uint32

// Primary codes.
const (
	OK              Code = 0
	InvalidArgument Code = 1
	BadHandle       Code = 2
	IO              Code = 3
	Format          Code = 4
	Checksum        Code = 5
	Graph           Code = 6
	Metadata        Code = 7
	Unsupported     Code = 8
	Shape           Code = 9
	DType           Code = 10
	BufferTooSmall  Code = 11
	Forked          Code = 12
	NoMemory        Code = 13
	Internal        Code = 14
	Busy            Code = 15
	Cancelled       Code = 16
)

func ext(primary Code, n uint32) Code { return primary | Code(n<<8) }

// Extended codes. Each names one class of failure.
var (
	InvalidNull    = ext(InvalidArgument, 1) // a required pointer was NULL
	InvalidOptions = ext(InvalidArgument, 2) // bad options struct (struct_size, unknown value)
	InvalidName    = ext(InvalidArgument, 3) // unknown input/output name
	InvalidValue   = ext(InvalidArgument, 4) // a value out of its documented range
	InvalidBuffer  = ext(InvalidArgument, 5) // a caller's buffer faulted when read or written

	IOOpen    = ext(IO, 1) // the file could not be opened or stat'ed
	IORead    = ext(IO, 2) // reading failed
	IOMap     = ext(IO, 3) // mmap failed
	IOFault   = ext(IO, 4) // mapped memory faulted (file truncated while in use)
	IOWrite   = ext(IO, 5) // writing, syncing or renaming failed
	IONotFile = ext(IO, 6) // the path is not a regular file (FIFO, device, directory)

	FormatTruncated      = ext(Format, 1)  // file shorter than its structures say
	FormatBadMagic       = ext(Format, 2)  // not an .mle file
	FormatVersion        = ext(Format, 3)  // newer major version
	FormatRequiredFlag   = ext(Format, 4)  // unknown required-feature bit
	FormatEndian         = ext(Format, 5)  // endianness marker is not little-endian
	FormatSectionBounds  = ext(Format, 6)  // a section lies outside the file
	FormatSectionOverlap = ext(Format, 7)  // two sections overlap
	FormatGap            = ext(Format, 8)  // gap, trailing bytes, or non-zero padding
	FormatHeader         = ext(Format, 9)  // bad header/section-table field
	FormatMisaligned     = ext(Format, 10) // tensor or section not aligned as required
	FormatShapeOverflow  = ext(Format, 11) // shape × itemsize overflows
	FormatNegativeDim    = ext(Format, 12) // a stored tensor has a negative dimension
	FormatDType          = ext(Format, 13) // unknown dtype id
	FormatTensorBounds   = ext(Format, 14) // tensor data extends past the weights section
	FormatDescriptor     = ext(Format, 15) // any other malformed tensor descriptor

	ChecksumHeader  = ext(Checksum, 1)
	ChecksumSection = ext(Checksum, 2)
	ChecksumTensor  = ext(Checksum, 3)

	GraphMissingTensor = ext(Graph, 1) // a node reads a name nothing defines
	GraphCycle         = ext(Graph, 2)
	GraphUnknownOp     = ext(Graph, 3)
	GraphAttribute     = ext(Graph, 4) // missing, unknown, duplicate or wrongly typed attribute
	GraphShape         = ext(Graph, 5) // shapes or arities do not fit the op
	GraphMalformed     = ext(Graph, 6) // the GRAPH section's bytes do not decode
	GraphDuplicate     = ext(Graph, 7) // a name is defined twice
	GraphDType         = ext(Graph, 8) // dtypes do not fit the op
	GraphTooLarge      = ext(Graph, 9) // a tensor's static size exceeds what any run could hold

	MetadataSyntax     = ext(Metadata, 1) // not valid JSON
	MetadataDuplicate  = ext(Metadata, 2) // duplicate object key
	MetadataTooLarge   = ext(Metadata, 3) // over the size cap
	MetadataDepth      = ext(Metadata, 4) // nested too deeply
	MetadataField      = ext(Metadata, 5) // a known field has the wrong type or value
	MetadataUTF8       = ext(Metadata, 6) // invalid UTF-8
	MetadataSignature  = ext(Metadata, 7) // inputs/outputs disagree with the graph
	MetadataMissingKey = ext(Metadata, 8) // a required field is absent

	UnsupportedEncoding = ext(Unsupported, 1)
	UnsupportedDevice   = ext(Unsupported, 2)
	UnsupportedFeature  = ext(Unsupported, 3)

	ShapeTooLarge = ext(Shape, 1) // a tensor's size at these input shapes exceeds what any run could hold

	NoMemoryLimit  = ext(NoMemory, 1) // the run needs more than the session's memory cap
	NoMemorySystem = ext(NoMemory, 2) // the operating system refused the memory

	CancelledDeadline = ext(Cancelled, 1) // the run took longer than its timeout
)

// Primary returns the primary code of c.
func (c Code) Primary() Code { return c & 0xff }

var names = map[Code]string{
	OK: "MLE_OK", InvalidArgument: "MLE_ERR_INVALID_ARGUMENT", BadHandle: "MLE_ERR_BAD_HANDLE",
	IO: "MLE_ERR_IO", Format: "MLE_ERR_FORMAT", Checksum: "MLE_ERR_CHECKSUM", Graph: "MLE_ERR_GRAPH",
	Metadata: "MLE_ERR_METADATA", Unsupported: "MLE_ERR_UNSUPPORTED", Shape: "MLE_ERR_SHAPE",
	DType: "MLE_ERR_DTYPE", BufferTooSmall: "MLE_ERR_BUFFER_TOO_SMALL", Forked: "MLE_ERR_FORKED",
	NoMemory: "MLE_ERR_NO_MEMORY", Internal: "MLE_ERR_INTERNAL", Busy: "MLE_ERR_BUSY",
	Cancelled: "MLE_ERR_CANCELLED",

	InvalidNull: "MLE_ERR_INVALID_NULL", InvalidOptions: "MLE_ERR_INVALID_OPTIONS",
	InvalidName: "MLE_ERR_INVALID_NAME", InvalidValue: "MLE_ERR_INVALID_VALUE",
	InvalidBuffer: "MLE_ERR_INVALID_BUFFER",

	IOOpen: "MLE_ERR_IO_OPEN", IORead: "MLE_ERR_IO_READ", IOMap: "MLE_ERR_IO_MAP",
	IOFault: "MLE_ERR_IO_FAULT", IOWrite: "MLE_ERR_IO_WRITE", IONotFile: "MLE_ERR_IO_NOT_FILE",

	FormatTruncated: "MLE_ERR_FORMAT_TRUNCATED", FormatBadMagic: "MLE_ERR_FORMAT_BAD_MAGIC",
	FormatVersion: "MLE_ERR_FORMAT_VERSION", FormatRequiredFlag: "MLE_ERR_FORMAT_REQUIRED_FLAG",
	FormatEndian: "MLE_ERR_FORMAT_ENDIAN", FormatSectionBounds: "MLE_ERR_FORMAT_SECTION_BOUNDS",
	FormatSectionOverlap: "MLE_ERR_FORMAT_SECTION_OVERLAP", FormatGap: "MLE_ERR_FORMAT_GAP",
	FormatHeader: "MLE_ERR_FORMAT_HEADER", FormatMisaligned: "MLE_ERR_FORMAT_MISALIGNED",
	FormatShapeOverflow: "MLE_ERR_FORMAT_SHAPE_OVERFLOW", FormatNegativeDim: "MLE_ERR_FORMAT_NEGATIVE_DIM",
	FormatDType: "MLE_ERR_FORMAT_DTYPE", FormatTensorBounds: "MLE_ERR_FORMAT_TENSOR_BOUNDS",
	FormatDescriptor: "MLE_ERR_FORMAT_DESCRIPTOR",

	ChecksumHeader: "MLE_ERR_CHECKSUM_HEADER", ChecksumSection: "MLE_ERR_CHECKSUM_SECTION",
	ChecksumTensor: "MLE_ERR_CHECKSUM_TENSOR",

	GraphMissingTensor: "MLE_ERR_GRAPH_MISSING_TENSOR", GraphCycle: "MLE_ERR_GRAPH_CYCLE",
	GraphUnknownOp: "MLE_ERR_GRAPH_UNKNOWN_OP", GraphAttribute: "MLE_ERR_GRAPH_ATTRIBUTE",
	GraphShape: "MLE_ERR_GRAPH_SHAPE", GraphMalformed: "MLE_ERR_GRAPH_MALFORMED",
	GraphDuplicate: "MLE_ERR_GRAPH_DUPLICATE", GraphDType: "MLE_ERR_GRAPH_DTYPE",
	GraphTooLarge: "MLE_ERR_GRAPH_TOO_LARGE",

	MetadataSyntax: "MLE_ERR_METADATA_SYNTAX", MetadataDuplicate: "MLE_ERR_METADATA_DUPLICATE",
	MetadataTooLarge: "MLE_ERR_METADATA_TOO_LARGE", MetadataDepth: "MLE_ERR_METADATA_DEPTH",
	MetadataField: "MLE_ERR_METADATA_FIELD", MetadataUTF8: "MLE_ERR_METADATA_UTF8",
	MetadataSignature: "MLE_ERR_METADATA_SIGNATURE", MetadataMissingKey: "MLE_ERR_METADATA_MISSING_KEY",

	UnsupportedEncoding: "MLE_ERR_UNSUPPORTED_ENCODING", UnsupportedDevice: "MLE_ERR_UNSUPPORTED_DEVICE",
	UnsupportedFeature: "MLE_ERR_UNSUPPORTED_FEATURE",

	ShapeTooLarge: "MLE_ERR_SHAPE_TOO_LARGE",

	NoMemoryLimit: "MLE_ERR_NO_MEMORY_LIMIT", NoMemorySystem: "MLE_ERR_NO_MEMORY_SYSTEM",

	CancelledDeadline: "MLE_ERR_CANCELLED_DEADLINE",
}

// String returns the C constant name of c, e.g. "MLE_ERR_FORMAT_BAD_MAGIC".
func (c Code) String() string {
	if s, ok := names[c]; ok {
		return s
	}
	if s, ok := names[c.Primary()]; ok {
		return fmt.Sprintf("%s(extended %d)", s, uint32(c)>>8)
	}
	return fmt.Sprintf("MLE_STATUS_%d", uint32(c))
}

// AllCodes lists every named code, for tests and the C header check.
func AllCodes() []Code {
	out := make([]Code, 0, len(names))
	for c := range names {
		out = append(out, c)
	}
	return out
}

// Error is the error type of every MLE layer: a code plus a message that
// names what failed and where.
type Error struct {
	Code Code
	Msg  string
	Err  error // optional cause
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Msg, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

// Message returns the error's text without the status-code prefix (for
// APIs that report the code separately).
func Message(err error) string {
	var e *Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Msg, e.Err)
	}
	return e.Msg
}

// New returns an *Error with a formatted message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error carrying cause.
func Wrap(code Code, cause error, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...), Err: cause}
}

// CodeOf returns the code of the first *Error in err's chain, OK for nil and
// Internal for errors that carry no code.
func CodeOf(err error) Code {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Prefix adds context to err's message while keeping its code.
func Prefix(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return &Error{Code: e.Code, Msg: fmt.Sprintf(format, args...) + ": " + e.Msg, Err: e.Err}
	}
	return Wrap(Internal, err, format, args...)
}
