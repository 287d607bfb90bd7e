package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/core/strs"
)

// textFixture is tests/text/fixture.json: what CPython 3.11 and
// scikit-learn compute (tests/text/gen_fixture.py writes it).
type textFixture struct {
	Meta  map[string]string
	Props struct {
		Word, CaseIgnorable, Cased [][2]rune
	}
	Lower   map[string][]rune
	Analyze []struct {
		Text      string
		Lowercase bool
		Ngram     [2]int
		Stop      []string
		Grams     []string
	}
	Long []struct {
		Unit      string
		Repeat    int
		Lowercase bool
		Count     int
		Sha256    string
	}
	Murmur [][2]json.RawMessage
}

func loadTextFixture(t testing.TB) *textFixture {
	t.Helper()
	b, err := os.ReadFile("../../tests/text/fixture.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		textFixture
		Props struct {
			Word          [][2]rune `json:"word"`
			CaseIgnorable [][2]rune `json:"case_ignorable"`
			Cased         [][2]rune `json:"cased"`
		}
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	fx := f.textFixture
	fx.Props.Word, fx.Props.CaseIgnorable, fx.Props.Cased = f.Props.Word, f.Props.CaseIgnorable, f.Props.Cased
	if fx.Meta["unicode"] != "14.0.0" || len(fx.Props.Word) == 0 {
		t.Fatalf("fixture from Unicode %q with %d word ranges; want CPython 3.11's 14.0.0 tables", fx.Meta["unicode"], len(fx.Props.Word))
	}
	return &fx
}

func inRanges(rs [][2]rune, r rune) bool {
	for _, x := range rs {
		if r >= x[0] && r <= x[1] {
			return true
		}
	}
	return false
}

// Every code point: \w, Cased, Case_Ignorable and str.lower as CPython 3.11
// has them; and Unicode 15 differs only in the characters 15.0 assigned.
func TestTextUnicodeTables(t *testing.T) {
	fx := loadTextFixture(t)
	// A Kawi letter and a CJK Extension H ideograph, new in Unicode 15.0.
	for _, r := range []rune{0x11F04, 0x31350} {
		if textProps(r, true) != 0 || textProps(r, false)&propWord == 0 {
			t.Errorf("%U: Unicode 14 %b, 15 %b", r, textProps(r, true), textProps(r, false))
		}
	}
	bad := 0
	for r := rune(0); r < 0x110000; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue
		}
		p := textProps(r, true)
		word, ign, cased := p&propWord != 0, p&propCaseIgnorable != 0, p&propCased != 0
		if word != inRanges(fx.Props.Word, r) || ign != inRanges(fx.Props.CaseIgnorable, r) ||
			(!ign && cased) != inRanges(fx.Props.Cased, r) {
			if bad++; bad < 20 {
				t.Errorf("%U: word %v ignorable %v cased %v; CPython differs", r, word, ign, cased)
			}
		}
		want := []rune{r}
		if l, ok := fx.Lower[strconv.Itoa(int(r))]; ok {
			want = l
		}
		got := []rune{r}
		if r != 0x3A3 {
			l, l2 := lowerRune(r)
			got = []rune{l}
			if l2 >= 0 {
				got = append(got, l2)
			}
		} else {
			got = []rune{0x3C3}
		}
		if !slices.Equal(got, want) {
			if bad++; bad < 20 {
				t.Errorf("lower(%U) = %U; CPython gives %U", r, got, want)
			}
		}
		if p15 := textProps(r, false); p15 != p && !newInUnicode15(r) {
			t.Errorf("%U: Unicode 15 properties %b differ from 14's %b outside the new characters", r, p15, p)
		}
	}
}

func testAnalyzer(lower bool, lo, hi int, stop []string) *analyzer {
	a := &analyzer{lower: lower, v14: true, lo: lo, hi: hi}
	if stop != nil {
		a.stop = map[string]struct{}{}
		for _, w := range stop {
			a.stop[w] = struct{}{}
		}
	}
	return a
}

// gramsOf lists t's n-grams in termRow's order.
func gramsOf(a *analyzer, t *tokens) []string {
	out := []string{}
	for n := a.lo; n <= min(a.hi, len(t.start)); n++ {
		for i := 0; i+n <= len(t.start); i++ {
			out = append(out, string(t.joined[t.start[i]:t.end[i+n-1]]))
		}
	}
	return out
}

// scikit-learn's word analyzer on the fixture's documents (café, İstanbul,
// final sigmas, digits, underscores, combining marks, emoji, NUL, ...).
func TestTextAnalyze(t *testing.T) {
	fx := loadTextFixture(t)
	var tk tokens
	for _, c := range fx.Analyze {
		a := testAnalyzer(c.Lowercase, c.Ngram[0], c.Ngram[1], c.Stop)
		a.analyze([]byte(c.Text), &tk)
		if got := gramsOf(a, &tk); !slices.Equal(got, c.Grams) {
			t.Errorf("%q (lowercase %v, ngrams %v, %d stop words): got %q, want %q", c.Text, c.Lowercase, c.Ngram, len(c.Stop), got, c.Grams)
		}
	}
	for _, c := range fx.Long {
		a := testAnalyzer(c.Lowercase, 1, 1, nil)
		a.analyze([]byte(strings.Repeat(c.Unit, c.Repeat)), &tk)
		got := gramsOf(a, &tk)
		sum := sha256.Sum256([]byte(strings.Join(got, "\n")))
		if len(got) != c.Count || hex.EncodeToString(sum[:]) != c.Sha256 {
			t.Errorf("%q × %d (lowercase %v): %d tokens, digest %x; want %d, %s", c.Unit, c.Repeat, c.Lowercase, len(got), sum, c.Count, c.Sha256)
		}
	}
}

func TestMurmur3(t *testing.T) {
	fx := loadTextFixture(t)
	if len(fx.Murmur) < 1000 {
		t.Fatalf("%d murmur cases", len(fx.Murmur))
	}
	for _, c := range fx.Murmur {
		var tok string
		var want int32
		if err := json.Unmarshal(c[0], &tok); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(c[1], &want); err != nil {
			t.Fatal(err)
		}
		if got := int32(murmur3([]byte(tok))); got != want {
			t.Errorf("murmurhash3_32(%q) = %d, want %d", tok, got, want)
		}
	}
}

// textModel builds TermCount or TermHash (then TermWeight when norm != "")
// over a string input "text".
func textModel(t testing.TB, op string, vocab, stop []string, idf []float64, attrs []graph.Attr, norm string, sublinear int64) *Model {
	t.Helper()
	b := format.NewBuilder()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(b.AddInput("text", dtype.String, []int64{-1}))
	ins := []string{"text"}
	if op == "TermCount" {
		must(b.AddTensor("vocab", dtype.String, []int64{int64(len(vocab))}, strs.PackStrings(vocab)))
		ins = append(ins, "vocab")
	}
	if stop != nil {
		must(b.AddTensor("stop", dtype.String, []int64{int64(len(stop))}, strs.PackStrings(stop)))
		ins = append(ins, "stop")
	} else if op == "TermCount" {
		ins = append(ins, "")
	}
	b.AddNode(graph.Node{Op: op, Inputs: ins, Outputs: []string{"counts"}, Attrs: attrs})
	out := "counts"
	if norm != "" {
		to := dtype.Float64
		for _, a := range attrs {
			if a.Name == "to" {
				to = dtype.DType(a.Int)
			}
		}
		wins := []string{"counts"}
		if idf != nil {
			must(b.AddTensor("idf", to, []int64{int64(len(idf))}, encode(to, idf)))
			wins = append(wins, "idf")
		}
		b.AddNode(graph.Node{Op: "TermWeight", Inputs: wins, Outputs: []string{"w"}, Attrs: []graph.Attr{
			{Name: "norm", Type: graph.AttrString, String: norm}, {Name: "sublinear_tf", Type: graph.AttrInt, Int: sublinear}}})
		out = "w"
	}
	must(b.AddOutput(out))
	return saveOpen(t, b, filepath.Join(t.TempDir(), "m.mle"), Options{})
}

func intAttrs(kv ...any) []graph.Attr {
	var out []graph.Attr
	for i := 0; i < len(kv); i += 2 {
		out = append(out, graph.Attr{Name: kv[i].(string), Type: graph.AttrInt, Int: int64(kv[i+1].(int))})
	}
	return out
}

func runText(t testing.TB, m *Model, docs []string) []float64 {
	t.Helper()
	outs, err := runModel(t, m, []Tensor{strInput(docs...)})
	if err != nil {
		t.Fatal(err)
	}
	return decode(outs[0].DType, outs[0].Data)
}

// TermCount counts the fixture's n-grams into a vocabulary (unknown grams
// ignored, binary, stop words, float32), over enough documents to run in
// parallel chunks.
func TestTermCount(t *testing.T) {
	fx := loadTextFixture(t)
	var docs []string
	var grams [][]string
	for _, c := range fx.Analyze {
		if c.Lowercase && c.Ngram == [2]int{1, 3} {
			docs, grams = append(docs, c.Text), append(grams, c.Grams)
		}
	}
	seen := map[string]bool{}
	var vocab []string
	for _, g := range grams {
		for _, w := range g {
			if !seen[w] && len(seen)%3 != 1 { // leave some out: unknown n-grams are ignored
				vocab = append(vocab, w)
			}
			seen[w] = true
		}
	}
	vocab = append(vocab, "never seen")
	col := map[string]int{}
	for j, w := range vocab {
		col[w] = j
	}
	for _, to := range []dtype.DType{dtype.Float64, dtype.Float32} {
		for _, binary := range []int{0, 1} {
			m := textModel(t, "TermCount", vocab, nil, nil, intAttrs("ngram_max", 3, "binary", binary, "to", int(to)), "", 0)
			reps := 40 // 40 × the documents: several chunks
			var all []string
			for range reps {
				all = append(all, docs...)
			}
			got := runText(t, m, all)
			want := make([]float64, len(all)*len(vocab))
			for i := range all {
				for _, w := range grams[i%len(docs)] {
					if j, ok := col[w]; ok {
						if binary == 1 {
							want[i*len(vocab)+j] = 1
						} else {
							want[i*len(vocab)+j]++
						}
					}
				}
			}
			near(t, "counts", got, want, 0)
		}
	}
	// Stop words are dropped before the n-grams are formed.
	m := textModel(t, "TermCount", []string{"ab", "cd", "ab ef", "ab cd"}, []string{"cd"}, nil, intAttrs("ngram_max", 2), "", 0)
	near(t, "stop words", runText(t, m, []string{"AB CD EF ab", ""}), []float64{2, 0, 1, 0, 0, 0, 0, 0}, 0)
}

// TermHash: sklearn's column |h| mod n and sign, with cancelling signs kept
// as a stored (binary: 1) entry.
func TestTermHash(t *testing.T) {
	docs := []string{"Le café est très bon, très bon!", "ΣΑΣ İstanbul 東京 ok_1 ok_1 ok_1", "", "a b c"}
	const nf = 16
	a := testAnalyzer(true, 1, 2, nil)
	for _, alt := range []int{0, 1} {
		for _, binary := range []int{0, 1} {
			m := textModel(t, "TermHash", nil, nil, nil, intAttrs("ngram_max", 2, "n_features", nf, "alternate_sign", alt, "binary", binary), "", 0)
			got := runText(t, m, docs)
			want := make([]float64, len(docs)*nf)
			var tk tokens
			for i, d := range docs {
				a.analyze([]byte(d), &tk)
				row := want[i*nf : (i+1)*nf]
				hit := make([]bool, nf)
				for _, g := range gramsOf(a, &tk) {
					h := int64(int32(murmur3([]byte(g))))
					j := h % nf
					if j < 0 {
						j = -j
					}
					sign := 1.0
					if alt == 1 && h < 0 {
						sign = -1
					}
					row[j] += sign
					hit[j] = true
				}
				for j := range row {
					if binary == 1 && hit[j] {
						row[j] = 1
					}
				}
			}
			near(t, "hashed", got, want, 0)
		}
	}
}

// TermWeight: sublinear tf, idf, and the l2/l1 norms in scikit-learn's
// order; rows that sum to 0 stay as they are.
func TestTermWeight(t *testing.T) {
	vocab := []string{"aa", "bb", "cc", "dd"}
	docs := []string{"aa aa aa bb bb bb bb", "cc", "", "aa bb cc dd dd"}
	idf := []float64{1, 1.5, 2.25, 1.125}
	for _, to := range []dtype.DType{dtype.Float64, dtype.Float32} {
		for _, sub := range []int64{0, 1} {
			for _, norm := range []string{"l2", "l1", "none"} {
				m := textModel(t, "TermCount", vocab, nil, idf, intAttrs("to", int(to)), norm, sub)
				got := runText(t, m, docs)
				counts := []float64{3, 4, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 1, 2}
				want := make([]float64, len(counts))
				for i := 0; i < 4; i++ {
					row, sum := want[4*i:4*i+4], 0.0
					for j := range row {
						v := counts[4*i+j]
						if v != 0 && sub == 1 {
							v = math.Log(v) + 1
						}
						row[j] = v * idf[j]
						if norm == "l2" {
							sum += row[j] * row[j]
						} else {
							sum += math.Abs(row[j])
						}
					}
					if norm == "l2" {
						sum = math.Sqrt(sum)
					}
					for j := range row {
						if norm != "none" && sum != 0 {
							row[j] /= sum
						}
					}
				}
				tol := 1e-15
				if to == dtype.Float32 {
					tol = 1e-6
				}
				near(t, "weights "+to.String()+" "+norm, got, want, tol)
			}
		}
	}
	// [3, 4] has l2 norm 5 exactly.
	m := textModel(t, "TermCount", []string{"aa", "bb"}, nil, nil, nil, "l2", 0)
	near(t, "3-4-5", runText(t, m, []string{"aa aa aa bb bb bb bb"}), []float64{0.6, 0.8}, 0)
}

type termConsts map[string]graph.ValueInfo

func (c termConsts) Lookup(n string) (graph.ValueInfo, bool) { v, ok := c[n]; return v, ok }
func (c termConsts) Int64s(n string) ([]int64, error) {
	return nil, errs.New(errs.GraphMissingTensor, "no %q", n)
}

func TestTermOpsRefuse(t *testing.T) {
	check := func(what string, ins []tin, consts []tconst, n graph.Node, code errs.Code) {
		t.Helper()
		g := &graph.Graph{Nodes: []graph.Node{n}, Outputs: []graph.ValueInfo{{Name: "y"}}}
		for _, in := range ins {
			g.Inputs = append(g.Inputs, graph.ValueInfo{Name: in.name, DType: in.dt, Shape: in.sig})
		}
		c := map[string]graph.ValueInfo{}
		for _, k := range consts {
			c[k.name] = graph.ValueInfo{Name: k.name, DType: k.dt, Shape: k.shape}
		}
		_, err := graph.CheckInferOutputs(g, termConsts(c))
		if errs.CodeOf(err) != code {
			t.Errorf("%s: got %v, want %v", what, err, code)
		}
	}
	text := []tin{{name: "s", dt: dtype.String, sig: []int64{-1}}}
	v := []tconst{{name: "v", dt: dtype.String, shape: []int64{3}}}
	node := func(op string, attrs []graph.Attr, ins ...string) graph.Node {
		return graph.Node{Op: op, Inputs: ins, Outputs: []string{"y"}, Attrs: attrs}
	}
	// The uses TestEveryOpInfers (core/graph) makes of them: constant text.
	s := []tconst{{name: "s", dt: dtype.String, shape: []int64{3}}}
	check("TermCount(s, s)", nil, s, node("TermCount", nil, "s", "s"), errs.OK)
	check("TermHash(s)", nil, s, node("TermHash", nil, "s"), errs.OK)
	check("TermWeight(x)", []tin{{name: "x", dt: dtype.Float32, sig: []int64{4, 4}}}, nil, node("TermWeight", nil, "x"), errs.OK)
	check("ngram_min 0", text, v, node("TermCount", intAttrs("ngram_min", 0), "s", "v"), errs.GraphAttribute)
	check("ngram 3..2", text, v, node("TermCount", intAttrs("ngram_min", 3, "ngram_max", 2), "s", "v"), errs.GraphAttribute)
	check("ngram_max 33", text, v, node("TermCount", intAttrs("ngram_max", 33), "s", "v"), errs.GraphAttribute)
	check("to int64", text, v, node("TermCount", intAttrs("to", int(dtype.Int64)), "s", "v"), errs.GraphAttribute)
	check("unicode 16", text, v, node("TermCount", intAttrs("unicode", 16), "s", "v"), errs.GraphAttribute)
	check("n_features 0", text, nil, node("TermHash", intAttrs("n_features", 0), "s"), errs.GraphAttribute)
	check("numbers", []tin{{name: "x", dt: dtype.Float64, sig: []int64{-1}}}, v, node("TermCount", nil, "x", "v"), errs.GraphDType)
	check("2-D text", []tin{{name: "s", dt: dtype.String, sig: []int64{-1, 2}}}, v, node("TermCount", nil, "s", "v"), errs.GraphDType)
	x := []tin{{name: "x", dt: dtype.Float64, sig: []int64{-1, 3}}}
	check("norm max", x, nil, node("TermWeight", []graph.Attr{{Name: "norm", Type: graph.AttrString, String: "max"}}, "x"), errs.GraphAttribute)
	check("idf width", x, []tconst{{name: "i", dt: dtype.Float64, shape: []int64{4}}}, node("TermWeight", nil, "x", "i"), errs.GraphShape)

	// Compile: a repeated vocabulary entry.
	m := textModel(t, "TermCount", []string{"ab", "cd", "ab"}, nil, nil, nil, "", 0)
	if _, err := runModel(t, m, []Tensor{strInput("ab")}); errs.CodeOf(err) != errs.GraphAttribute {
		t.Errorf("repeated vocabulary entry: got %v", err)
	}
}

// A deadline stops a run inside its documents, not after them.
func TestTermHashDeadline(t *testing.T) {
	doc := strings.Repeat("ab ", strs.MaxBytes/3)
	m := textModel(t, "TermHash", nil, nil, nil, intAttrs("ngram_max", graph.MaxTermNgram, "n_features", 1<<10), "", 0)
	outs := make([]Tensor, 1)
	start := time.Now()
	err := m.Run([]Tensor{strInput(doc, doc, doc, doc)}, outs, nil, RunOptions{Timeout: 5 * time.Millisecond}, heapAlloc)
	wantCode(t, err, errs.CancelledDeadline)
	if d := time.Since(start); d > 500*time.Millisecond { // ~1.5 s unstopped
		t.Errorf("stopped after %v", d)
	}
}

// The most work one document can ask for: 1 MiB of two-letter words in
// 1..32-grams. A deadline stops it.
func BenchmarkTermHashWorst(b *testing.B) {
	doc := strings.Repeat("ab ", strs.MaxBytes/3)
	m := textModel(b, "TermHash", nil, nil, nil, intAttrs("ngram_max", graph.MaxTermNgram, "n_features", 1<<10), "", 0)
	for b.Loop() {
		runText(b, m, []string{doc})
	}
}

// 1000 documents of 100 words, 1- and 2-grams into 5000 columns, TF-IDF.
func BenchmarkTermCountTfidf(b *testing.B) {
	words := make([]string, 20000)
	for i := range words {
		words[i] = strconv.FormatInt(int64(i)*7919+100000, 36)
	}
	docs := make([]string, 1000)
	for i := range docs {
		var sb strings.Builder
		for k := range 100 {
			sb.WriteString(words[(i*131+k*977)%len(words)] + " ")
		}
		docs[i] = sb.String()
	}
	idf := make([]float64, 5000)
	for i := range idf {
		idf[i] = 1 + float64(i%7)/3
	}
	m := textModel(b, "TermCount", words[:5000], nil, idf, intAttrs("ngram_max", 2), "l2", 1)
	in := []Tensor{strInput(docs...)}
	outs := make([]Tensor, 1)
	for b.Loop() {
		outs[0] = Tensor{}
		if err := m.Run(in, outs, nil, RunOptions{}, heapAlloc); err != nil {
			b.Fatal(err)
		}
	}
}
