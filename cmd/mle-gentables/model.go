package main

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// code is a Status with its value worked out.
type code struct {
	Status
	value   uint32
	primary *code // itself for a primary code
	ext     []*code
}

// model is the checked tables, in the orders the renderers need.
type model struct {
	version   Version
	byValue   []*code // every code, ascending value
	primaries []*code // MLE_OK and the primary codes, ascending; each with its extended codes by Ext
	dtypes    []DType // ascending id
}

var (
	identRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	cNameRE   = regexp.MustCompile(`^MLE_(OK|ERR_[A-Z][A-Z0-9_]*)$`)
	dtNameRE  = regexp.MustCompile(`^[a-z][a-z0-9]*$`)
	libVerRE  = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)
	typedArrs = map[string]string{
		"Int8Array": "napi_int8_array", "Uint8Array": "napi_uint8_array", "Int16Array": "napi_int16_array",
		"Uint16Array": "napi_uint16_array", "Int32Array": "napi_int32_array", "Uint32Array": "napi_uint32_array",
		"Float32Array": "napi_float32_array", "Float64Array": "napi_float64_array",
		"BigInt64Array": "napi_bigint64_array", "BigUint64Array": "napi_biguint64_array",
	}
)

func newModel() (*model, error) {
	return buildModel(version, statuses, dtypes)
}

// buildModel checks the tables: everything a generated file relies on
// (unique names and values, known primaries, a class for every primary code)
// is refused here, before any file is touched.
func buildModel(v Version, sts []Status, dts []DType) (*model, error) {
	if !libVerRE.MatchString(v.Library) || v.ABI < 1 {
		return nil, fmt.Errorf("bad version %+v", v)
	}
	m := &model{version: v}
	byName := map[string]*code{}
	goNames := map[string]bool{}
	for _, s := range sts {
		if !cNameRE.MatchString(s.Name) {
			return nil, fmt.Errorf("%q: names are MLE_OK or MLE_ERR_[A-Z0-9_]+", s.Name)
		}
		if byName[s.Name] != nil {
			return nil, fmt.Errorf("%s is listed twice", s.Name)
		}
		if !identRE.MatchString(s.Go) || strings.ToUpper(s.Go[:1]) != s.Go[:1] || goNames[s.Go] {
			return nil, fmt.Errorf("%s: Go name %q is not a new exported identifier", s.Name, s.Go)
		}
		if strings.ContainsAny(s.Doc, "\n\r|") || strings.Contains(s.Doc, "*/") {
			return nil, fmt.Errorf("%s: Doc must be one line without '|' or '*/'", s.Name)
		}
		for _, id := range []string{s.Python, s.Rust} {
			if id != "" && !identRE.MatchString(id) {
				return nil, fmt.Errorf("%s: %q is not an identifier", s.Name, id)
			}
		}
		goNames[s.Go] = true
		byName[s.Name] = &code{Status: s}
	}
	byValue := map[uint32]*code{}
	for _, s := range sts {
		c := byName[s.Name]
		switch {
		case s.Primary == "" && s.Ext == 0:
			if s.Value >= 256 || (s.Value == 0) != (s.Name == "MLE_OK") {
				return nil, fmt.Errorf("%s: a primary code's value is 1..255 (MLE_OK: 0)", s.Name)
			}
			if s.Value != 0 && (s.Python == "" || s.Rust == "") {
				return nil, fmt.Errorf("%s: a primary code names its Python and Rust class", s.Name)
			}
			c.value, c.primary = s.Value, c
			m.primaries = append(m.primaries, c)
		default:
			p := byName[s.Primary]
			if p == nil || p.Primary != "" || p.Ext != 0 || p.Name == "MLE_OK" {
				return nil, fmt.Errorf("%s: Primary %q is not a primary error code", s.Name, s.Primary)
			}
			if s.Value != 0 || s.Ext == 0 || s.Ext >= 1<<24 {
				return nil, fmt.Errorf("%s: an extended code sets Primary and Ext (1..2^24-1), not Value", s.Name)
			}
			if strings.Contains(s.Doc, ";") {
				return nil, fmt.Errorf("%s: docs/C_API.md lists extended codes split by ';': not in Doc", s.Name)
			}
			c.value, c.primary = p.Value|s.Ext<<8, p
			p.ext = append(p.ext, c)
		}
		if o := byValue[c.value]; o != nil {
			return nil, fmt.Errorf("%s and %s both have the value %d", o.Name, s.Name, c.value)
		}
		byValue[c.value] = c
		m.byValue = append(m.byValue, c)
	}
	sort.Slice(m.byValue, func(i, j int) bool { return m.byValue[i].value < m.byValue[j].value })
	sort.Slice(m.primaries, func(i, j int) bool { return m.primaries[i].value < m.primaries[j].value })
	for _, p := range m.primaries {
		sort.Slice(p.ext, func(i, j int) bool { return p.ext[i].Ext < p.ext[j].Ext })
	}

	seen := map[string]bool{}
	ids := map[int]bool{}
	for _, d := range dts {
		if d.ID < 1 || d.ID > 255 || ids[d.ID] {
			return nil, fmt.Errorf("dtype %q: id %d is not a new id in 1..255", d.Name, d.ID)
		}
		ids[d.ID] = true
		if (d.Size < 1) != d.Var {
			return nil, fmt.Errorf("dtype %q: size %d (0 exactly for variable-length types)", d.Name, d.Size)
		}
		if d.Var && (d.JS != "Array" || d.RustElem != "" || d.Cpp != "" || d.NumPy != "") {
			return nil, fmt.Errorf("dtype %q: a variable-length type is a JS Array and has no element type", d.Name)
		}
		if _, ok := typedArrs[d.JS]; !ok && !d.Var {
			return nil, fmt.Errorf("dtype %q: JS %q is not a TypedArray", d.Name, d.JS)
		}
		if strings.ContainsAny(d.Doc, "\n\r|()") || strings.Contains(d.Doc, "*/") {
			return nil, fmt.Errorf("dtype %q: Doc must be one line without '|', '(', ')' or '*/'", d.Name)
		}
		for _, n := range []string{d.Name, d.Short} {
			if n != "" && (!dtNameRE.MatchString(n) || seen[n]) {
				return nil, fmt.Errorf("dtype %q: name %q is not a new lower-case name", d.Name, n)
			}
			seen[n] = true
		}
		for _, id := range []string{"go:" + d.Go, "rust:" + d.Rust} {
			if !identRE.MatchString(id[strings.Index(id, ":")+1:]) || seen[id] {
				return nil, fmt.Errorf("dtype %q: %q is not a new identifier", d.Name, id)
			}
			seen[id] = true
		}
		m.dtypes = append(m.dtypes, d)
	}
	sort.Slice(m.dtypes, func(i, j int) bool { return m.dtypes[i].ID < m.dtypes[j].ID })
	return m, nil
}

// cDTypeName is the C constant of a dtype: MLE_DTYPE_FLOAT32.
func cDTypeName(d DType) string { return "MLE_DTYPE_" + strings.ToUpper(d.Name) }

// plain drops the `code` marks Rust docs and Markdown render.
func plain(doc string) string { return strings.ReplaceAll(doc, "`", "") }

// sentence makes a doc line a Rust doc sentence: capitalized, with a period.
func sentence(doc string) string {
	if doc == "" {
		return ""
	}
	doc = strings.ToUpper(doc[:1]) + doc[1:]
	if !strings.HasSuffix(doc, ".") {
		doc += "."
	}
	return doc
}
