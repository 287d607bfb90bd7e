package serve

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/strs"
	"github.com/mle-runtime/mle/kernels"
)

// The Open Inference Protocol's datatype names of the dtypes MLE has.
var oipNames = map[dtype.DType]string{
	dtype.Bool: "BOOL", dtype.Uint8: "UINT8", dtype.Int8: "INT8", dtype.Int32: "INT32", dtype.Int64: "INT64",
	dtype.Float16: "FP16", dtype.BFloat16: "BF16", dtype.Float32: "FP32", dtype.Float64: "FP64", dtype.String: "BYTES",
}

// oipTypes maps an OIP datatype name to its dtype. Names OIP has and MLE
// does not (UINT16, INT16, …) are absent: a request using them is refused.
var oipTypes = func() map[string]dtype.DType {
	m := map[string]dtype.DType{}
	for d, n := range oipNames {
		m[n] = d
	}
	return m
}()

// oipName returns dt's OIP datatype name.
func oipName(dt dtype.DType) string {
	if n, ok := oipNames[dt]; ok {
		return n
	}
	return dt.String()
}

// badRequest is a request the client must fix (HTTP 400).
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

func bad(format string, args ...any) error { return &badRequest{fmt.Sprintf(format, args...)} }

// inferRequest is a decoded inference request: tensors in the engine's
// layout (strings packed as in core/strs), not yet matched to a model.
type inferRequest struct {
	ID      string
	Inputs  []reqTensor
	Outputs []reqOutput // requested outputs; empty: all
	// BinaryOut is the request-level binary_data_output parameter.
	BinaryOut bool
	// Timeout is the request's "timeout" parameter (microseconds, as
	// Triton's clients send it); 0 when absent.
	TimeoutMicros int64
}

type reqTensor struct {
	Name  string
	DType dtype.DType
	Shape []int64
	Data  []byte
}

type reqOutput struct {
	Name string
	// Binary is the output's binary_data parameter; nil when absent.
	Binary *bool
}

type wireRequest struct {
	ID         string                     `json:"id"`
	Parameters map[string]json.RawMessage `json:"parameters"`
	Inputs     []wireInput                `json:"inputs"`
	Outputs    []wireOutput               `json:"outputs"`
}

type wireInput struct {
	Name       string                     `json:"name"`
	Shape      []int64                    `json:"shape"`
	Datatype   string                     `json:"datatype"`
	Parameters map[string]json.RawMessage `json:"parameters"`
	Data       json.RawMessage            `json:"data"`
}

type wireOutput struct {
	Name       string                     `json:"name"`
	Parameters map[string]json.RawMessage `json:"parameters"`
}

// maxInputs bounds the tensors one request may name.
const maxInputs = 4096

// decodeRequest decodes an OIP v2 inference request. headerLen is the
// Inference-Header-Content-Length (-1 when absent): the body is that many
// bytes of JSON followed by the binary tensor data.
func decodeRequest(body []byte, headerLen int64) (*inferRequest, error) {
	head, bin := body, []byte(nil)
	if headerLen >= 0 {
		if headerLen > int64(len(body)) {
			return nil, bad("Inference-Header-Content-Length is %d but the body holds %d bytes", headerLen, len(body))
		}
		head, bin = body[:headerLen], body[headerLen:]
	}
	var w wireRequest
	if err := json.Unmarshal(head, &w); err != nil {
		return nil, bad("malformed request JSON: %v", err)
	}
	if len(w.Inputs) == 0 {
		return nil, bad("the request has no inputs")
	}
	if len(w.Inputs) > maxInputs || len(w.Outputs) > maxInputs {
		return nil, bad("the request names %d inputs and %d outputs; at most %d each", len(w.Inputs), len(w.Outputs), maxInputs)
	}
	req := &inferRequest{ID: w.ID}
	for k, v := range w.Parameters {
		switch k {
		case "binary_data_output":
			b, err := boolParam(v)
			if err != nil {
				return nil, bad("request parameter binary_data_output: %v", err)
			}
			req.BinaryOut = b
		case "timeout":
			var us int64
			if err := json.Unmarshal(v, &us); err != nil || us < 0 {
				return nil, bad("request parameter timeout: want microseconds as a non-negative integer")
			}
			req.TimeoutMicros = us
		}
	}
	seen := map[string]bool{}
	for i := range w.Inputs {
		in := &w.Inputs[i]
		if in.Name == "" {
			return nil, bad("input %d has no name", i)
		}
		if seen[in.Name] {
			return nil, bad("input %q appears twice", in.Name)
		}
		seen[in.Name] = true
		t, rest, err := decodeInput(in, bin)
		if err != nil {
			return nil, err
		}
		bin = rest
		req.Inputs = append(req.Inputs, t)
	}
	if len(bin) != 0 {
		return nil, bad("%d bytes of binary data follow the last input's (binary_data_size must cover the data exactly)", len(bin))
	}
	seenOut := map[string]bool{}
	for i, o := range w.Outputs {
		if o.Name == "" {
			return nil, bad("requested output %d has no name", i)
		}
		if seenOut[o.Name] {
			return nil, bad("output %q is requested twice", o.Name)
		}
		seenOut[o.Name] = true
		ro := reqOutput{Name: o.Name}
		for k, v := range o.Parameters {
			switch k {
			case "binary_data":
				b, err := boolParam(v)
				if err != nil {
					return nil, bad("output %q parameter binary_data: %v", o.Name, err)
				}
				ro.Binary = &b
			case "classification":
				return nil, bad("output %q: the classification extension is not supported; request the scores and take the top classes", o.Name)
			}
		}
		req.Outputs = append(req.Outputs, ro)
	}
	return req, nil
}

func boolParam(v json.RawMessage) (bool, error) {
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		return false, fmt.Errorf("want true or false, got %s", truncate(string(v), 40))
	}
	return b, nil
}

// decodeInput decodes one input tensor, taking its binary data from the
// front of bin; it returns the rest of bin.
func decodeInput(in *wireInput, bin []byte) (reqTensor, []byte, error) {
	t, n, err := newReqTensor(in.Name, in.Datatype, in.Shape)
	if err != nil {
		return t, bin, err
	}
	size := int64(-1)
	if raw, has := in.Parameters["binary_data_size"]; has {
		if err := json.Unmarshal(raw, &size); err != nil || size < 0 {
			return t, bin, bad("input %q: binary_data_size must be a non-negative integer", in.Name)
		}
	}
	if size < 0 {
		if len(in.Data) == 0 || string(in.Data) == "null" {
			return t, bin, bad("input %q has neither data nor binary_data_size", in.Name)
		}
		data, err := parseJSONData(in.Data, t.DType, n)
		if err != nil {
			return t, bin, bad("input %q: %v", in.Name, err)
		}
		t.Data = data
		return t, bin, nil
	}
	if len(in.Data) != 0 && string(in.Data) != "null" {
		return t, bin, bad("input %q has both data and binary_data_size", in.Name)
	}
	if size > int64(len(bin)) {
		return t, bin, bad("input %q: binary_data_size is %d but only %d bytes of binary data remain", in.Name, size, len(bin))
	}
	if err := t.setRaw(bin[:size], n, "binary_data_size"); err != nil {
		return t, bin, err
	}
	return t, bin[size:], nil
}

// newReqTensor checks an input's name, datatype and shape; it returns the
// tensor without data and its element count.
func newReqTensor(name, datatype string, shape []int64) (reqTensor, int64, error) {
	t := reqTensor{Name: name, Shape: shape}
	dt, ok := oipTypes[datatype]
	if !ok {
		return t, 0, bad("input %q: datatype %q is not one MLE has (BOOL, UINT8, INT8, INT32, INT64, FP16, BF16, FP32, FP64, BYTES)", name, datatype)
	}
	t.DType = dt
	if shape == nil {
		return t, 0, bad("input %q has no shape", name)
	}
	if len(shape) > dtype.MaxRank {
		return t, 0, bad("input %q has rank %d; at most %d", name, len(shape), dtype.MaxRank)
	}
	for _, d := range shape {
		if d < 0 {
			return t, 0, bad("input %q: shape %v has a negative dimension", name, shape)
		}
	}
	n, ok := dtype.NumElements(shape)
	if !ok {
		return t, 0, bad("input %q: shape %v overflows", name, shape)
	}
	if _, ok := dtype.ByteSize(dt, shape); !ok {
		return t, 0, bad("input %q: shape %v overflows", name, shape)
	}
	return t, n, nil
}

// setRaw sets the data of a tensor of n elements from its little-endian
// bytes (BYTES: each element a 4-byte length and its bytes). what names
// the size's source in errors.
func (t *reqTensor) setRaw(raw []byte, n int64, what string) error {
	if t.DType == dtype.String {
		data, err := unpackBinaryStrings(raw, n)
		if err != nil {
			return bad("input %q: %v", t.Name, err)
		}
		t.Data = data
		return nil
	}
	if want, _ := dtype.ByteSize(t.DType, t.Shape); int64(len(raw)) != want {
		return bad("input %q: %s is %d bytes but a %s tensor of shape %v takes %d bytes", t.Name, what, len(raw), oipName(t.DType), t.Shape, want)
	}
	t.Data = aligned(raw)
	return nil
}

// aligned returns b, or a copy of it when it does not start on an 8-byte
// boundary: kernels read elements through typed pointers.
func aligned(b []byte) []byte {
	if len(b) == 0 || uintptr(unsafe.Pointer(&b[0]))%8 == 0 {
		return b
	}
	c := make([]byte, len(b))
	copy(c, b)
	return c
}

// unpackBinaryStrings turns n BYTES elements, each a 4-byte little-endian
// length and its bytes, into the packed string layout.
func unpackBinaryStrings(raw []byte, n int64) ([]byte, error) {
	if n > int64(len(raw))/4 {
		return nil, fmt.Errorf("%d BYTES elements need at least %d bytes; the binary data holds %d", n, 4*n, len(raw))
	}
	head, _ := strs.HeaderSize(n)
	out := make([]byte, head, head+int64(len(raw))-4*n)
	p := raw
	for i := int64(0); i < n; i++ {
		if len(p) < 4 {
			return nil, fmt.Errorf("BYTES element %d: its 4-byte length is past the end of the binary data", i)
		}
		l := binary.LittleEndian.Uint32(p)
		p = p[4:]
		if uint64(l) > uint64(len(p)) {
			return nil, fmt.Errorf("BYTES element %d is %d bytes long but only %d bytes remain", i, l, len(p))
		}
		out = append(out, p[:l]...)
		p = p[l:]
		binary.LittleEndian.PutUint64(out[8*(i+1):], uint64(len(out))-uint64(head))
	}
	if len(p) != 0 {
		return nil, fmt.Errorf("%d bytes follow the last of the %d BYTES elements", len(p), n)
	}
	return out, nil
}

// parseJSONData reads a JSON array (flat or nested in any way: only the
// order of the elements counts, as in the protocol) of n elements of dt.
// The whole request has already been checked to be valid JSON.
func parseJSONData(raw []byte, dt dtype.DType, n int64) ([]byte, error) {
	if n > int64(len(raw)) { // every element takes at least one byte
		return nil, fmt.Errorf("the shape holds %d elements but data is %d bytes of JSON", n, len(raw))
	}
	var out []byte
	var texts [][]byte
	if dt == dtype.String {
		texts = make([][]byte, 0, n)
	} else {
		out = make([]byte, n*int64(dt.Size()))
	}
	i := int64(0)
	for p := 0; p < len(raw); {
		c := raw[p]
		switch c {
		case '[', ']', ',', ' ', '\t', '\n', '\r':
			p++
			continue
		}
		end := p
		if c == '"' {
			end = stringEnd(raw, p)
		} else {
			for end < len(raw) && !isDelim(raw[end]) {
				end++
			}
		}
		tok := raw[p:end]
		p = end
		if i >= n {
			return nil, fmt.Errorf("data has more than the %d elements of the shape", n)
		}
		if dt == dtype.String {
			s, err := jsonText(tok)
			if err != nil {
				return nil, fmt.Errorf("element %d: %v", i, err)
			}
			texts = append(texts, s)
		} else if err := putElem(out, dt, i, tok); err != nil {
			return nil, fmt.Errorf("element %d: %v", i, err)
		}
		i++
	}
	if i != n {
		return nil, fmt.Errorf("data has %d elements but the shape holds %d", i, n)
	}
	if dt == dtype.String {
		return strs.Pack(texts), nil
	}
	return out, nil
}

func isDelim(c byte) bool {
	return c == ',' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// stringEnd returns the index just past the JSON string starting at p.
func stringEnd(raw []byte, p int) int {
	for q := p + 1; q < len(raw); q++ {
		switch raw[q] {
		case '\\':
			q++
		case '"':
			return q + 1
		}
	}
	return len(raw)
}

// jsonText decodes a JSON string token.
func jsonText(tok []byte) ([]byte, error) {
	if len(tok) == 0 || tok[0] != '"' {
		return nil, fmt.Errorf("%s is not a string (BYTES elements are JSON strings)", truncate(string(tok), 40))
	}
	if bytes.IndexByte(tok, '\\') < 0 && len(tok) >= 2 {
		s := tok[1 : len(tok)-1]
		if !utf8.Valid(s) {
			return nil, fmt.Errorf("the string is not valid UTF-8")
		}
		return s, nil
	}
	var s string
	if err := json.Unmarshal(tok, &s); err != nil {
		return nil, err
	}
	return []byte(s), nil
}

// putElem parses the JSON token tok as element i of a dt tensor.
func putElem(out []byte, dt dtype.DType, i int64, tok []byte) error {
	s := unsafe.String(&tok[0], len(tok)) // read only while tok lives: no copy per element
	if dt == dtype.Bool {
		switch s {
		case "true":
			out[i] = 1
		case "false":
			out[i] = 0
		default:
			return fmt.Errorf("%s is not true or false", truncate(s, 40))
		}
		return nil
	}
	if tok[0] == '"' || s == "true" || s == "false" || s == "null" || tok[0] == '{' {
		return fmt.Errorf("%s is not a number", truncate(s, 40))
	}
	switch dt {
	case dtype.Float32:
		v, err := strconv.ParseFloat(s, 32)
		if err != nil {
			return numErr(s, "FP32")
		}
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(float32(v)))
	case dtype.Float64:
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return numErr(s, "FP64")
		}
		binary.LittleEndian.PutUint64(out[8*i:], math.Float64bits(v))
	case dtype.Float16, dtype.BFloat16:
		v, err := strconv.ParseFloat(s, 32)
		if err != nil {
			return numErr(s, oipName(dt))
		}
		h := kernels.F32ToF16(float32(v))
		if dt == dtype.BFloat16 {
			h = kernels.F32ToBF16(float32(v))
		}
		binary.LittleEndian.PutUint16(out[2*i:], h)
	case dtype.Int64:
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return numErr(s, "INT64")
		}
		binary.LittleEndian.PutUint64(out[8*i:], uint64(v))
	case dtype.Int32:
		v, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return numErr(s, "INT32")
		}
		binary.LittleEndian.PutUint32(out[4*i:], uint32(v))
	case dtype.Int8:
		v, err := strconv.ParseInt(s, 10, 8)
		if err != nil {
			return numErr(s, "INT8")
		}
		out[i] = byte(v)
	case dtype.Uint8:
		v, err := strconv.ParseUint(s, 10, 8)
		if err != nil {
			return numErr(s, "UINT8")
		}
		out[i] = byte(v)
	default:
		return fmt.Errorf("datatype %s cannot be given as JSON", oipName(dt))
	}
	return nil
}

func numErr(s, what string) error {
	return fmt.Errorf("%s is not a valid %s value", truncate(s, 40), what)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// respTensor is an output ready to encode.
type respTensor struct {
	Name   string
	DType  dtype.DType
	Shape  []int64
	Data   []byte // engine layout
	Binary bool
}

// encodeResponse writes an inference response: the JSON header and, when
// some output is binary, the binary data after it. It returns the body and
// the JSON header's length (-1 when nothing is binary).
func encodeResponse(model string, version int64, id string, outs []respTensor) ([]byte, int) {
	b := make([]byte, 0, 256)
	b = append(b, `{"model_name":`...)
	b = appendString(b, model)
	b = append(b, `,"model_version":"`...)
	b = strconv.AppendInt(b, version, 10)
	b = append(b, '"')
	if id != "" {
		b = append(b, `,"id":`...)
		b = appendString(b, id)
	}
	b = append(b, `,"outputs":[`...)
	var bins [][]byte
	for k, o := range outs {
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendString(b, o.Name)
		b = append(b, `,"datatype":"`...)
		b = append(b, oipName(o.DType)...)
		b = append(b, `","shape":[`...)
		for j, d := range o.Shape {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, d, 10)
		}
		b = append(b, ']')
		n, _ := dtype.NumElements(o.Shape)
		if o.Binary {
			raw := o.Data
			if o.DType == dtype.String {
				raw = packBinaryStrings(o.Data, n)
			}
			bins = append(bins, raw)
			b = append(b, `,"parameters":{"binary_data_size":`...)
			b = strconv.AppendInt(b, int64(len(raw)), 10)
			b = append(b, "}}"...)
			continue
		}
		b = append(b, `,"data":[`...)
		b = appendData(b, o.DType, o.Data, n)
		b = append(b, "]}"...)
	}
	b = append(b, "]}"...)
	if bins == nil {
		return b, -1
	}
	head := len(b)
	for _, r := range bins {
		b = append(b, r...)
	}
	return b, head
}

// packBinaryStrings turns a packed string tensor into BYTES binary data.
func packBinaryStrings(packed []byte, n int64) []byte {
	head, _ := strs.HeaderSize(n)
	out := make([]byte, 0, 4*n+int64(len(packed))-head)
	for i := int64(0); i < n; i++ {
		e := strs.Elem(packed, n, i)
		out = binary.LittleEndian.AppendUint32(out, uint32(len(e)))
		out = append(out, e...)
	}
	return out
}

// appendData appends n elements of dt as JSON values separated by commas.
// Non-finite floats are written NaN, Infinity and -Infinity, as Python's
// json module (which OIP's Python clients use) reads and writes them.
func appendData(b []byte, dt dtype.DType, data []byte, n int64) []byte {
	for i := int64(0); i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		switch dt {
		case dtype.Float32:
			b = appendFloat(b, float64(math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))), 32)
		case dtype.Float64:
			b = appendFloat(b, math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:])), 64)
		case dtype.Float16:
			b = appendFloat(b, float64(kernels.F16ToF32(binary.LittleEndian.Uint16(data[2*i:]))), 32)
		case dtype.BFloat16:
			b = appendFloat(b, float64(kernels.BF16ToF32(binary.LittleEndian.Uint16(data[2*i:]))), 32)
		case dtype.Int64:
			b = strconv.AppendInt(b, int64(binary.LittleEndian.Uint64(data[8*i:])), 10)
		case dtype.Int32:
			b = strconv.AppendInt(b, int64(int32(binary.LittleEndian.Uint32(data[4*i:]))), 10)
		case dtype.Int8:
			b = strconv.AppendInt(b, int64(int8(data[i])), 10)
		case dtype.Uint8:
			b = strconv.AppendUint(b, uint64(data[i]), 10)
		case dtype.Bool:
			b = strconv.AppendBool(b, data[i] != 0)
		case dtype.String:
			b = appendString(b, string(strs.Elem(data, n, i)))
		}
	}
	return b
}

func appendFloat(b []byte, v float64, bits int) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, 1):
		return append(b, "Infinity"...)
	case math.IsInf(v, -1):
		return append(b, "-Infinity"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, bits)
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	simple := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 || c == '<' || c == '>' || c == '&' {
			simple = false
			break
		}
	}
	if simple {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	q, _ := json.Marshal(s)
	return append(b, q...)
}
