package format

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
)

// Producer names the framework a model was trained with.
type Producer struct {
	Name    string `json:"name"`    // e.g. "scikit-learn", "pytorch"
	Version string `json:"version"` // the framework's version
}

// Metadata is the METADATA section. Inputs and Outputs repeat the graph's
// signature so tools can read it without decoding the graph; readers check
// that the two agree.
type Metadata struct {
	Name        string
	Description string
	Version     string // the model's semver version
	Created     string // RFC 3339
	Producer    Producer
	Writer      string // the library that wrote the file, set by the builder
	Inputs      []graph.ValueInfo
	Outputs     []graph.ValueInfo
	Properties  map[string]string
}

var semverRE = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

type jsonValueInfo struct {
	Name  string  `json:"name"`
	DType string  `json:"dtype"`
	Shape []int64 `json:"shape"`
}

type jsonMetadata struct {
	Name        string            `json:"name,omitempty"`
	Description string            `json:"description,omitempty"`
	Version     string            `json:"version,omitempty"`
	Created     string            `json:"created,omitempty"`
	Producer    *Producer         `json:"producer,omitempty"`
	Writer      string            `json:"writer,omitempty"`
	Inputs      []jsonValueInfo   `json:"inputs"`
	Outputs     []jsonValueInfo   `json:"outputs"`
	Properties  map[string]string `json:"properties,omitempty"`
}

func toJSONInfos(vs []graph.ValueInfo) []jsonValueInfo {
	out := make([]jsonValueInfo, len(vs))
	for i, v := range vs {
		shape := v.Shape
		if shape == nil {
			shape = []int64{}
		}
		out[i] = jsonValueInfo{Name: v.Name, DType: v.DType.String(), Shape: shape}
	}
	return out
}

// Encode returns m as canonical JSON (fixed key order, sorted properties).
func (m *Metadata) Encode() ([]byte, error) {
	jm := jsonMetadata{Name: m.Name, Description: m.Description, Version: m.Version, Created: m.Created,
		Writer: m.Writer, Inputs: toJSONInfos(m.Inputs), Outputs: toJSONInfos(m.Outputs), Properties: m.Properties}
	if m.Producer != (Producer{}) {
		p := m.Producer
		jm.Producer = &p
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep "<i8" readable, not "\u003ci8"
	if err := enc.Encode(jm); err != nil {
		return nil, errs.Wrap(errs.MetadataField, err, "encoding metadata")
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Validate checks field values (semver, RFC 3339 time, lengths).
func (m *Metadata) Validate() error {
	if m.Version != "" && !semverRE.MatchString(m.Version) {
		return errs.New(errs.MetadataField, "metadata version %q is not a semantic version (e.g. 1.2.0)", m.Version)
	}
	if m.Created != "" {
		if _, err := time.Parse(time.RFC3339, m.Created); err != nil {
			return errs.New(errs.MetadataField, "metadata created %q is not an RFC 3339 time", m.Created)
		}
	}
	for _, s := range []string{m.Name, m.Description, m.Version, m.Created, m.Producer.Name, m.Producer.Version, m.Writer} {
		if !utf8.ValidString(s) {
			return errs.New(errs.MetadataUTF8, "metadata holds invalid UTF-8")
		}
	}
	for k, v := range m.Properties {
		if k == "" || !utf8.ValidString(k) || !utf8.ValidString(v) {
			return errs.New(errs.MetadataField, "metadata property %q: keys must be non-empty UTF-8 strings", k)
		}
	}
	return nil
}

// ParseMetadata parses METADATA JSON strictly: valid UTF-8, at most
// MaxMetadataSize bytes and MaxMetadataDepth levels, no duplicate keys, and
// exact-case keys. Unknown top-level keys are ignored, so newer minors may
// add fields; known keys must have the documented types.
func ParseMetadata(b []byte) (*Metadata, error) {
	return parseMetadata(b, true)
}

// ParseUserMetadata parses the caller-supplied part of metadata (everything
// but inputs and outputs, which the builder derives from the graph).
func ParseUserMetadata(b []byte) (*Metadata, error) {
	return parseMetadata(b, false)
}

func parseMetadata(b []byte, signature bool) (*Metadata, error) {
	tree, err := parseStrictJSON(b)
	if err != nil {
		return nil, err
	}
	obj, ok := tree.(map[string]any)
	if !ok {
		return nil, errs.New(errs.MetadataField, "metadata must be a JSON object")
	}
	if !signature {
		for _, k := range []string{"inputs", "outputs", "writer"} {
			if _, ok := obj[k]; ok {
				return nil, errs.New(errs.MetadataField, "metadata %q is set by the writer from the graph; do not supply it", k)
			}
		}
	}
	m := &Metadata{}
	str := func(key string, dst *string) error {
		v, ok := obj[key]
		if !ok {
			return nil
		}
		s, ok := v.(string)
		if !ok {
			return errs.New(errs.MetadataField, "metadata %q must be a string", key)
		}
		*dst = s
		return nil
	}
	for key, dst := range map[string]*string{"name": &m.Name, "description": &m.Description, "version": &m.Version, "created": &m.Created, "writer": &m.Writer} {
		if err := str(key, dst); err != nil {
			return nil, err
		}
	}
	if v, ok := obj["producer"]; ok {
		p, ok := v.(map[string]any)
		if !ok {
			return nil, errs.New(errs.MetadataField, "metadata \"producer\" must be an object")
		}
		for key, dst := range map[string]*string{"name": &m.Producer.Name, "version": &m.Producer.Version} {
			if pv, ok := p[key]; ok {
				s, ok := pv.(string)
				if !ok {
					return nil, errs.New(errs.MetadataField, "metadata producer %q must be a string", key)
				}
				*dst = s
			}
		}
	}
	if v, ok := obj["properties"]; ok {
		p, ok := v.(map[string]any)
		if !ok {
			return nil, errs.New(errs.MetadataField, "metadata \"properties\" must be an object of strings")
		}
		m.Properties = make(map[string]string, len(p))
		for k, pv := range p {
			s, ok := pv.(string)
			if !ok {
				return nil, errs.New(errs.MetadataField, "metadata property %q must be a string", k)
			}
			m.Properties[k] = s
		}
	}
	for _, io := range []struct {
		key string
		dst *[]graph.ValueInfo
	}{{"inputs", &m.Inputs}, {"outputs", &m.Outputs}} {
		if !signature {
			break
		}
		v, ok := obj[io.key]
		if !ok {
			return nil, errs.New(errs.MetadataMissingKey, "metadata lacks %q", io.key)
		}
		if *io.dst, err = parseSignature(io.key, v); err != nil {
			return nil, err
		}
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

func parseSignature(key string, v any) ([]graph.ValueInfo, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, errs.New(errs.MetadataField, "metadata %q must be an array", key)
	}
	out := make([]graph.ValueInfo, len(list))
	for i, e := range list {
		o, ok := e.(map[string]any)
		if !ok {
			return nil, errs.New(errs.MetadataField, "metadata %s[%d] must be an object", key, i)
		}
		name, ok1 := o["name"].(string)
		dt, ok2 := o["dtype"].(string)
		shape, ok3 := o["shape"].([]any)
		if !ok1 || !ok2 || !ok3 {
			return nil, errs.New(errs.MetadataField, "metadata %s[%d] needs string \"name\", string \"dtype\" and array \"shape\"", key, i)
		}
		d, ok := dtype.Parse(dt)
		if !ok {
			return nil, errs.New(errs.MetadataField, "metadata %s[%d] has unknown dtype %q", key, i, dt)
		}
		if len(shape) > dtype.MaxRank {
			return nil, errs.New(errs.MetadataField, "metadata %s[%d] has rank %d > %d", key, i, len(shape), dtype.MaxRank)
		}
		dims := make([]int64, len(shape))
		for j, s := range shape {
			n, ok := s.(json.Number)
			var err error
			if ok {
				dims[j], err = n.Int64()
			}
			if !ok || err != nil || dims[j] < graph.Dynamic {
				return nil, errs.New(errs.MetadataField, "metadata %s[%d] shape[%d] must be an integer >= -1", key, i, j)
			}
		}
		out[i] = graph.ValueInfo{Name: name, DType: d, Shape: dims}
	}
	return out, nil
}

// parseStrictJSON decodes b into map[string]any / []any / string /
// json.Number / bool / nil, rejecting what encoding/json would let through.
func parseStrictJSON(b []byte) (any, error) {
	if len(b) > MaxMetadataSize {
		return nil, errs.New(errs.MetadataTooLarge, "metadata is %d bytes; the limit is %d", len(b), MaxMetadataSize)
	}
	if !utf8.Valid(b) {
		return nil, errs.New(errs.MetadataUTF8, "metadata is not valid UTF-8 (at byte %d)", firstInvalidUTF8(b))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errs.New(errs.MetadataSyntax, "metadata has data after the top-level value (at byte %d)", dec.InputOffset())
	}
	return v, nil
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}

func syntaxErr(dec *json.Decoder, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return errs.New(errs.MetadataSyntax, "metadata JSON: %v (at byte %d)", se, se.Offset)
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return errs.New(errs.MetadataSyntax, "metadata JSON ends early (at byte %d)", dec.InputOffset())
	}
	return errs.New(errs.MetadataSyntax, "metadata JSON: %v (at byte %d)", err, dec.InputOffset())
}

func decodeValue(dec *json.Decoder, depth int) (any, error) {
	if depth > MaxMetadataDepth {
		return nil, errs.New(errs.MetadataDepth, "metadata nests deeper than %d levels (at byte %d)", MaxMetadataDepth, dec.InputOffset())
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxErr(dec, err)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			obj := map[string]any{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, syntaxErr(dec, err)
				}
				key := kt.(string) // the decoder guarantees object keys are strings
				if _, dup := obj[key]; dup {
					return nil, errs.New(errs.MetadataDuplicate, "metadata has duplicate key %q (at byte %d)", key, dec.InputOffset())
				}
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				obj[key] = v
			}
			if _, err := dec.Token(); err != nil {
				return nil, syntaxErr(dec, err)
			}
			return obj, nil
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, syntaxErr(dec, err)
			}
			return arr, nil
		}
		return nil, errs.New(errs.MetadataSyntax, "metadata JSON: unexpected %q (at byte %d)", t, dec.InputOffset())
	default:
		return t, nil
	}
}
