package format

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mle-runtime/mle/core/errs"
)

// parseStrictJSONTokens is the metadata parser that parseStrictJSON
// replaced, built on encoding/json's token reader (slow: most of the time
// of opening a small model went into it). It stays here as the reference
// that FuzzMetadataJSON holds the new parser to: the same error code for
// every input, the same value for every input both accept.
func parseStrictJSONTokens(b []byte) (any, error) {
	if len(b) > MaxMetadataSize {
		return nil, errs.New(errs.MetadataTooLarge, "metadata is %d bytes; the limit is %d", len(b), MaxMetadataSize)
	}
	if !utf8.Valid(b) {
		return nil, errs.New(errs.MetadataUTF8, "metadata is not valid UTF-8 (at byte %d)", firstInvalidUTF8(b))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := decodeTokens(dec, b, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errs.New(errs.MetadataSyntax, "metadata has data after the top-level value (at byte %d)", dec.InputOffset())
	}
	return v, nil
}

func tokenSyntaxErr(dec *json.Decoder, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return errs.New(errs.MetadataSyntax, "metadata JSON: %v (at byte %d)", se, se.Offset)
	}
	return errs.New(errs.MetadataSyntax, "metadata JSON: %v (at byte %d)", err, dec.InputOffset())
}

// endsEarly reports whether only whitespace follows the decoder's
// position: the document ends inside an array or object. Checked before
// More, whose answer at the end of the input changed between Go versions
// (1.27 says true, so that the next Token reports the error: then a
// document both truncated and too deep gave MetadataDepth instead of
// MetadataSyntax); parseStrictJSON reports the truncation.
func endsEarly(dec *json.Decoder, b []byte) bool {
	return len(bytes.TrimLeft(b[dec.InputOffset():], " \t\r\n")) == 0
}

func decodeTokens(dec *json.Decoder, b []byte, depth int) (any, error) {
	if depth > MaxMetadataDepth {
		return nil, errs.New(errs.MetadataDepth, "metadata nests deeper than %d levels", MaxMetadataDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, tokenSyntaxErr(dec, err)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			obj := map[string]any{}
			for !endsEarly(dec, b) && dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, tokenSyntaxErr(dec, err)
				}
				key := kt.(string)
				if _, dup := obj[key]; dup {
					return nil, errs.New(errs.MetadataDuplicate, "metadata has duplicate key %q", key)
				}
				v, err := decodeTokens(dec, b, depth+1)
				if err != nil {
					return nil, err
				}
				obj[key] = v
			}
			if _, err := dec.Token(); err != nil {
				return nil, tokenSyntaxErr(dec, err)
			}
			return obj, nil
		case '[':
			arr := []any{}
			for !endsEarly(dec, b) && dec.More() {
				v, err := decodeTokens(dec, b, depth+1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, tokenSyntaxErr(dec, err)
			}
			return arr, nil
		}
		return nil, errs.New(errs.MetadataSyntax, "metadata JSON: unexpected %q", t)
	default:
		return t, nil
	}
}

// generic converts parseStrictJSON's objects to maps, as encoding/json
// decodes them.
func generic(v any) any {
	switch t := v.(type) {
	case jsonObject:
		m := make(map[string]any, len(t))
		for _, e := range t {
			m[e.key] = generic(e.val)
		}
		return m
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = generic(e)
		}
		return out
	}
	return v
}

// valueDepth is the depth of the deepest value in v (the top level is 0).
func valueDepth(v any) int {
	d := 0
	switch t := v.(type) {
	case map[string]any:
		for _, e := range t {
			d = max(d, 1+valueDepth(e))
		}
	case []any:
		for _, e := range t {
			d = max(d, 1+valueDepth(e))
		}
	}
	return d
}

// checkMetadataJSON holds parseStrictJSON to the token-based reference and
// to encoding/json itself.
func checkMetadataJSON(t *testing.T, b []byte) {
	t.Helper()
	tree, err := parseStrictJSON(b)
	got := generic(tree)
	ref, refErr := parseStrictJSONTokens(b)
	if c, rc := errs.CodeOf(err), errs.CodeOf(refErr); c != rc {
		t.Fatalf("%q: code %v (%v), the token parser says %v (%v)", b, c, err, rc, refErr)
	}
	if err == nil && !reflect.DeepEqual(got, ref) {
		t.Fatalf("%q: value %#v, the token parser says %#v", b, got, ref)
	}
	if err != nil && errs.CodeOf(err) != errs.MetadataTooLarge && !strings.Contains(err.Error(), "at byte") {
		t.Fatalf("%q: error without an offset: %v", b, err)
	}
	if len(b) > MaxMetadataSize || !utf8.Valid(b) {
		if err == nil {
			t.Fatalf("%q: accepted", b)
		}
		return
	}
	if !json.Valid(b) {
		switch errs.CodeOf(err) {
		case errs.MetadataSyntax, errs.MetadataDuplicate, errs.MetadataDepth:
		default:
			t.Fatalf("%q: invalid JSON gave %v (%v)", b, errs.CodeOf(err), err)
		}
		return
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var want any
	if derr := dec.Decode(&want); derr != nil {
		t.Fatalf("%q: json.Valid but Decode: %v", b, derr)
	}
	switch errs.CodeOf(err) {
	case errs.OK:
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: value %#v, encoding/json says %#v", b, got, want)
		}
		if valueDepth(got) > MaxMetadataDepth {
			t.Fatalf("%q: accepted depth %d", b, valueDepth(got))
		}
	case errs.MetadataDepth:
		if valueDepth(want) <= MaxMetadataDepth {
			t.Fatalf("%q: depth error for depth %d", b, valueDepth(want))
		}
	case errs.MetadataDuplicate:
	default:
		t.Fatalf("%q: valid JSON gave %v (%v)", b, errs.CodeOf(err), err)
	}
}

var metadataJSONSeeds = []string{
	tinyMeta,
	`{"name":"RandomForestClassifier","created":"2026-11-30T08:11:39Z","producer":{"name":"scikit-learn","version":"1.9.1"},"writer":"libmle 0.1.0","inputs":[{"name":"X","dtype":"float64","shape":[-1,20]}],"outputs":[{"name":"label","dtype":"int64","shape":[-1]},{"name":"probabilities","dtype":"float64","shape":[-1,2]}],"properties":{"mle.allow_nan":"true","mle.classes":"{\"dtype\":\"<i8\",\"values\":[0,1]}","mle.methods":"{\"predict\":\"label\",\"predict_proba\":\"probabilities\",\"predict_log_proba\":\"probabilities\"}","mle.task":"classifier"}}`,
	` { "a" : [ 1 , -2.5e+3 , 0 , -0 , 1E9 , true , false , null , "" , { } , [ ] ] } `,
	`"\u00e9\ud83d\ude00\ud800\udc00\ud800\u0041\udc00x\ud800"`,
	`"\"\\\/\b\f\n\r\t\u0000\u001f"`,
	`{"a":1,"\u0061":2}`,
	`{"a":{"b":1},"a":2`,
	`[1,]`, `{"a":1,}`, `[01]`, `-`, `1.`, `1e`, `.5`, `tru`, `nul`, `"\x"`, `"\u12"`, `"a`, `{"a" 1}`, `{,}`, `[}`, `{]`, `{}x`, `1 2`, "\"\t\"", ``, ` `, "\xef\xbb\xbf{}",
	`"é日本"`, `{"é":"ü"}`, `[1e400]`, `123456789012345678901234567890`,
	strings.Repeat("[", MaxMetadataDepth) + strings.Repeat("]", MaxMetadataDepth),
	strings.Repeat("[", MaxMetadataDepth) + "1" + strings.Repeat("]", MaxMetadataDepth),
	strings.Repeat("[", MaxMetadataDepth+1) + strings.Repeat("]", MaxMetadataDepth+1),
	strings.Repeat("[", MaxMetadataDepth+1) + "}",
	strings.Repeat("[", MaxMetadataDepth+1) + "1" + strings.Repeat("]", MaxMetadataDepth+1),
	strings.Repeat("[", MaxMetadataDepth+2) + "}",
	strings.Repeat("[", MaxMetadataDepth+2) + strings.Repeat("]", MaxMetadataDepth+2),
	strings.Repeat("[", MaxMetadataDepth+1),
	strings.Repeat(`{"a":`, MaxMetadataDepth) + "{}" + strings.Repeat("}", MaxMetadataDepth),
	strings.Repeat(`{"a":`, MaxMetadataDepth) + `{"b" 1}` + strings.Repeat("}", MaxMetadataDepth),
	strings.Repeat(`{"a":`, MaxMetadataDepth) + `{x}` + strings.Repeat("}", MaxMetadataDepth),
	strings.Repeat(`[`, MaxMetadataDepth) + `[x]` + strings.Repeat("]", MaxMetadataDepth),
	// Around indexAbove members, where duplicates are found with a map.
	`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"h":9}`,
	`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"a":10}`,
	`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":{"a":1,"a":2}}`,
	`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"\u006a":11}`,
	`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11}`,
}

func TestMetadataJSON(t *testing.T) {
	for _, s := range metadataJSONSeeds {
		checkMetadataJSON(t, []byte(s))
	}
	// Some codes spelled out (the checks above compare them with the
	// token-based parser).
	for _, c := range []struct {
		in   string
		want errs.Code
	}{
		{`{"a":1,"\u0061":2}`, errs.MetadataDuplicate},
		{`{"a":{"b":1},"a":2`, errs.MetadataDuplicate}, // found before the end
		// The innermost value may be at depth MaxMetadataDepth (the top is 0).
		{strings.Repeat("[", MaxMetadataDepth+1) + strings.Repeat("]", MaxMetadataDepth+1), errs.OK},
		{strings.Repeat("[", MaxMetadataDepth) + "1" + strings.Repeat("]", MaxMetadataDepth), errs.OK},
		{strings.Repeat("[", MaxMetadataDepth+1) + "1" + strings.Repeat("]", MaxMetadataDepth+1), errs.MetadataDepth},
		{strings.Repeat("[", MaxMetadataDepth+2) + strings.Repeat("]", MaxMetadataDepth+2), errs.MetadataDepth},
		{strings.Repeat("[", MaxMetadataDepth+1) + "}", errs.MetadataSyntax},
		{strings.Repeat(`{"a":`, MaxMetadataDepth) + `{"b" 1}` + strings.Repeat("}", MaxMetadataDepth), errs.MetadataDepth},
		{`[1,]`, errs.MetadataSyntax},
		{`{}x`, errs.MetadataSyntax},
		{"\xff", errs.MetadataUTF8},
		{`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"a":10}`, errs.MetadataDuplicate},
		{`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"h":9}`, errs.MetadataDuplicate},
	} {
		if _, err := parseStrictJSON([]byte(c.in)); errs.CodeOf(err) != c.want {
			t.Errorf("%.40q: %v, want %v", c.in, err, c.want)
		}
	}
	// Many keys, the last a duplicate of the first.
	var many strings.Builder
	many.WriteString("{")
	for i := range 2000 {
		fmt.Fprintf(&many, `"k%d":%d,`, i, i)
	}
	many.WriteString(`"k0":0}`)
	if _, err := parseStrictJSON([]byte(many.String())); errs.CodeOf(err) != errs.MetadataDuplicate {
		t.Errorf("2001 keys, one twice: %v", err)
	}
	v, err := parseStrictJSON([]byte(`"\ud800\u0041\ud83d\ude00"`))
	if err != nil || v != "\uFFFDA\U0001F600" {
		t.Errorf("surrogates: %q, %v", v, err)
	}
}

// FuzzMetadataJSON: parseStrictJSON gives the token-based reference's error
// code on every input and its value on every accepted one; on valid UTF-8
// it accepts what encoding/json accepts (but duplicate keys and depth past
// MaxMetadataDepth) with the same value, and rejects what it rejects.
func FuzzMetadataJSON(f *testing.F) {
	for _, s := range metadataJSONSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkMetadataJSON(t, b)
	})
}

func BenchmarkParseMetadata(b *testing.B) {
	meta := []byte(metadataJSONSeeds[1])
	b.Run("parser", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseMetadata(meta); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("tokens", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parseStrictJSONTokens(meta); err != nil {
				b.Fatal(err)
			}
		}
	})
}
