package format

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"time"
	"unicode"
	"unicode/utf16"
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
	Lineage     *Lineage // where the model came from; nil: not recorded
	Policy      *Policy  // access policy enforced at open; nil: none
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
	Lineage     *Lineage          `json:"lineage,omitempty"`
	Policy      *Policy           `json:"policy,omitempty"`
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
		Writer: m.Writer, Inputs: toJSONInfos(m.Inputs), Outputs: toJSONInfos(m.Outputs), Properties: m.Properties,
		Lineage: m.Lineage, Policy: m.Policy}
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
	if m.Policy != nil {
		if err := m.Policy.validate(); err != nil {
			return err
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
	obj, ok := tree.(jsonObject)
	if !ok {
		return nil, errs.New(errs.MetadataField, "metadata must be a JSON object")
	}
	if !signature {
		for _, k := range []string{"inputs", "outputs", "writer"} {
			if _, ok := obj.get(k); ok {
				return nil, errs.New(errs.MetadataField, "metadata %q is set by the writer from the graph; do not supply it", k)
			}
		}
		// A writer keeps only the keys of §4: anything else would vanish
		// from the file without a word, so it is refused.
		if err := onlyKeys(obj, "metadata", "name", "description", "version", "created", "producer", "properties", "lineage", "policy"); err != nil {
			return nil, err
		}
		if p, ok := obj.get("producer"); ok {
			if po, ok := p.(jsonObject); ok {
				if err := onlyKeys(po, "metadata producer", "name", "version"); err != nil {
					return nil, err
				}
			}
		}
	}
	m := &Metadata{}
	if err := stringFields(obj, "metadata", []stringField{{"name", &m.Name}, {"description", &m.Description},
		{"version", &m.Version}, {"created", &m.Created}, {"writer", &m.Writer}}); err != nil {
		return nil, err
	}
	if v, ok := obj.get("producer"); ok {
		p, ok := v.(jsonObject)
		if !ok {
			return nil, errs.New(errs.MetadataField, "metadata \"producer\" must be an object")
		}
		if err := stringFields(p, "metadata producer", []stringField{{"name", &m.Producer.Name},
			{"version", &m.Producer.Version}}); err != nil {
			return nil, err
		}
	}
	if v, ok := obj.get("properties"); ok {
		p, ok := v.(jsonObject)
		if !ok {
			return nil, errs.New(errs.MetadataField, "metadata \"properties\" must be an object of strings")
		}
		m.Properties = make(map[string]string, len(p))
		for _, pm := range p {
			s, ok := pm.val.(string)
			if !ok {
				return nil, errs.New(errs.MetadataField, "metadata property %q must be a string", pm.key)
			}
			m.Properties[pm.key] = s
		}
	}
	if v, ok := obj.get("lineage"); ok {
		if m.Lineage, err = parseLineage(v, !signature); err != nil {
			return nil, err
		}
	}
	if v, ok := obj.get("policy"); ok {
		if m.Policy, err = parsePolicy(v); err != nil {
			return nil, err
		}
	}
	for _, io := range []struct {
		key string
		dst *[]graph.ValueInfo
	}{{"inputs", &m.Inputs}, {"outputs", &m.Outputs}} {
		if !signature {
			break
		}
		v, ok := obj.get(io.key)
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
		o, ok := e.(jsonObject)
		if !ok {
			return nil, errs.New(errs.MetadataField, "metadata %s[%d] must be an object", key, i)
		}
		nv, _ := o.get("name")
		dv, _ := o.get("dtype")
		sv, _ := o.get("shape")
		name, ok1 := nv.(string)
		dt, ok2 := dv.(string)
		shape, ok3 := sv.([]any)
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

// jsonObject is a decoded JSON object: its members in document order, no
// two with the same key. Metadata objects are small, so a lookup is a scan.
type jsonObject []jsonMember

type jsonMember struct {
	key string
	val any
}

// stringField is a key whose value, when present, must be a string.
type stringField struct {
	key string
	dst *string
}

// stringFields copies the fields of o that are present into their dst.
func stringFields(o jsonObject, what string, fields []stringField) error {
	for _, f := range fields {
		if v, ok := o.get(f.key); ok {
			s, ok := v.(string)
			if !ok {
				return errs.New(errs.MetadataField, "%s %q must be a string", what, f.key)
			}
			*f.dst = s
		}
	}
	return nil
}

// onlyKeys refuses a member of o whose key is not among keys.
func onlyKeys(o jsonObject, what string, keys ...string) error {
	for _, m := range o {
		if !slices.Contains(keys, m.key) {
			return errs.New(errs.MetadataField, "%s key %q is not part of the format (docs/FORMAT.md §4), so the file "+
				"would not keep it; put free-form values in \"properties\" (string to string)", what, m.key)
		}
	}
	return nil
}

// get returns the value of key.
func (o jsonObject) get(key string) (any, bool) {
	for i := range o {
		if o[i].key == key {
			return o[i].val, true
		}
	}
	return nil, false
}

// indexAbove is the member count above which duplicate keys are found with
// a map rather than by scanning the members so far.
const indexAbove = 8

// parseStrictJSON decodes b into jsonObject / []any / string / json.Number
// / bool / nil, rejecting what encoding/json would let through:
// invalid UTF-8, more than MaxMetadataSize bytes or MaxMetadataDepth levels,
// duplicate keys (compared after unescaping), data after the value.
// Otherwise it accepts exactly the JSON that encoding/json accepts and
// decodes it to the same values (with UseNumber); FuzzMetadataJSON checks
// both against encoding/json.
func parseStrictJSON(b []byte) (any, error) {
	if len(b) > MaxMetadataSize {
		return nil, errs.New(errs.MetadataTooLarge, "metadata is %d bytes; the limit is %d", len(b), MaxMetadataSize)
	}
	if !utf8.Valid(b) {
		return nil, errs.New(errs.MetadataUTF8, "metadata is not valid UTF-8 (at byte %d)", firstInvalidUTF8(b))
	}
	p := jsonParser{b: b, s: string(b)}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(b) {
		return nil, errs.New(errs.MetadataSyntax, "metadata has data after the top-level value (at byte %d)", p.i)
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

// jsonParser is a recursive-descent parser of RFC 8259 JSON over valid
// UTF-8. Errors are reported where they are first seen, scanning left to
// right, so the first of several problems decides the error code.
type jsonParser struct {
	b []byte
	s string // b as a string: strings without escapes and numbers are substrings of it
	i int    // the next byte to read
}

func (p *jsonParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// unexpected reports the byte at p.i (or the end of the input).
func (p *jsonParser) unexpected(context string) error {
	if p.i >= len(p.b) {
		return errs.New(errs.MetadataSyntax, "metadata JSON ends early (at byte %d)", p.i)
	}
	r, _ := utf8.DecodeRune(p.b[p.i:])
	return errs.New(errs.MetadataSyntax, "metadata JSON: invalid character %q %s (at byte %d)", r, context, p.i)
}

func (p *jsonParser) value(depth int) (any, error) {
	if depth > MaxMetadataDepth {
		return nil, errs.New(errs.MetadataDepth, "metadata nests deeper than %d levels (at byte %d)", MaxMetadataDepth, p.i)
	}
	p.space()
	if p.i >= len(p.b) {
		return nil, p.unexpected("")
	}
	switch c := p.b[p.i]; c {
	case '{':
		return p.object(depth)
	case '[':
		return p.array(depth)
	case '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return s, nil
	case 't':
		return true, p.literal("true")
	case 'f':
		return false, p.literal("false")
	case 'n':
		return nil, p.literal("null")
	default:
		if c == '-' || c >= '0' && c <= '9' {
			return p.number()
		}
	}
	return nil, p.unexpected("looking for beginning of value")
}

// object parses an object at depth (p.i is at '{'). The checks come in the
// order of the token-by-token decoder this parser replaced: a key, then
// whether it is a duplicate, then the depth of its value, then the colon.
func (p *jsonParser) object(depth int) (any, error) {
	p.i++
	p.space()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return jsonObject{}, nil
	}
	obj := make(jsonObject, 0, 8)
	var index map[string]struct{} // the keys, once there are more than indexAbove
	for {
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil, p.unexpected("looking for beginning of object key string")
		}
		at := p.i
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		dup := false
		if index != nil {
			_, dup = index[key]
		} else {
			_, dup = obj.get(key)
		}
		if dup {
			return nil, errs.New(errs.MetadataDuplicate, "metadata has duplicate key %q (at byte %d)", key, at)
		}
		if depth+1 > MaxMetadataDepth {
			return nil, errs.New(errs.MetadataDepth, "metadata nests deeper than %d levels (at byte %d)", MaxMetadataDepth, p.i)
		}
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return nil, p.unexpected("after object key")
		}
		p.i++
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		obj = append(obj, jsonMember{key, v})
		switch {
		case index != nil:
			index[key] = struct{}{}
		case len(obj) > indexAbove:
			index = make(map[string]struct{}, 2*len(obj))
			for _, m := range obj {
				index[m.key] = struct{}{}
			}
		}
		p.space()
		if p.i >= len(p.b) {
			return nil, p.unexpected("")
		}
		switch p.b[p.i] {
		case ',':
			p.i++
			p.space()
		case '}':
			p.i++
			return obj, nil
		default:
			return nil, p.unexpected("after object key:value pair")
		}
	}
}

// array parses an array at depth (p.i is at '[').
func (p *jsonParser) array(depth int) (any, error) {
	p.i++
	arr := []any{}
	p.space()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return arr, nil
	}
	// The end of the input or a '}' is a syntax error even where an
	// element would be too deep.
	if p.i >= len(p.b) || p.b[p.i] == '}' {
		return nil, p.unexpected("looking for beginning of value")
	}
	for {
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
		p.space()
		if p.i >= len(p.b) {
			return nil, p.unexpected("")
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return arr, nil
		default:
			return nil, p.unexpected("after array element")
		}
	}
}

func (p *jsonParser) literal(lit string) error {
	for k := 0; k < len(lit); k++ {
		if p.i >= len(p.b) || p.b[p.i] != lit[k] {
			return p.unexpected("in literal " + lit)
		}
		p.i++
	}
	return nil
}

func (p *jsonParser) digits() {
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
}

func (p *jsonParser) isDigit() bool {
	return p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9'
}

// number parses -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (p *jsonParser) number() (any, error) {
	start := p.i
	if p.b[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(p.b) && p.b[p.i] == '0':
		p.i++
	case p.isDigit():
		p.digits()
	default:
		return nil, p.unexpected("in numeric literal")
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if !p.isDigit() {
			return nil, p.unexpected("after decimal point in numeric literal")
		}
		p.digits()
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if !p.isDigit() {
			return nil, p.unexpected("in exponent of numeric literal")
		}
		p.digits()
	}
	return json.Number(p.s[start:p.i]), nil
}

// str parses a string (p.i is at its opening quote). A string without
// escapes is a substring of p.s; escapes are decoded as encoding/json does,
// a lone or mismatched UTF-16 surrogate becoming U+FFFD.
func (p *jsonParser) str() (string, error) {
	p.i++
	start := p.i
	for p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case c == '"':
			p.i++
			return p.s[start : p.i-1], nil
		case c == '\\':
			return p.escapedStr(start)
		case c < 0x20:
			return "", p.unexpected("in string literal")
		}
		p.i++
	}
	return "", p.unexpected("")
}

func (p *jsonParser) escapedStr(start int) (string, error) {
	buf := append(make([]byte, 0, p.i-start+16), p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(buf), nil
		case c < 0x20:
			return "", p.unexpected("in string literal")
		case c != '\\':
			buf = append(buf, c)
			p.i++
			continue
		}
		p.i++ // the backslash
		if p.i >= len(p.b) {
			return "", p.unexpected("")
		}
		switch e := p.b[p.i]; e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			p.i++
			r, err := p.hex4()
			if err != nil {
				return "", err
			}
			if utf16.IsSurrogate(r) {
				// A pair needs a second \uXXXX right after; anything else
				// leaves the first as U+FFFD and is read on its own.
				r2 := hex4At(p.b[p.i:])
				if d := utf16.DecodeRune(r, r2); d != unicode.ReplacementChar {
					r = d
					p.i += 6
				} else {
					r = unicode.ReplacementChar
				}
			}
			buf = utf8.AppendRune(buf, r)
			continue
		default:
			return "", p.unexpected("in string escape code")
		}
		p.i++
	}
	return "", p.unexpected("")
}

func hexVal(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c - 'a' + 10)
	case c >= 'A' && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

// hex4 reads the four hex digits of a \u escape.
func (p *jsonParser) hex4() (rune, error) {
	var r rune
	for k := 0; k < 4; k++ {
		if p.i >= len(p.b) {
			return 0, p.unexpected("")
		}
		v := hexVal(p.b[p.i])
		if v < 0 {
			return 0, p.unexpected("in \\u hexadecimal character escape")
		}
		r = r<<4 | v
		p.i++
	}
	return r, nil
}

// hex4At returns the rune of a \uXXXX escape at the start of b, or -1.
func hex4At(b []byte) rune {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range b[2:6] {
		v := hexVal(c)
		if v < 0 {
			return -1
		}
		r = r<<4 | v
	}
	return r
}
