package engine

// Text vectorizer ops (schemas in core/graph/ops_vectorize.go): scikit-learn's
// word analyzer with its default token pattern, CountVectorizer's and
// HashingVectorizer's counts, and TfidfTransformer's weighting and norm.
//
// The contract:
//
//   - Tokens are Python's re.findall(r"(?u)\b\w\w+\b", text) on any valid
//     UTF-8. For str patterns CPython's \w is str.isalnum() or '_', that is
//     a letter (L*) or a character with a numeric type, which in Unicode 14
//     and 15 are exactly the N* characters: unicode.IsLetter/IsNumber. \b
//     is the edge between \w and the rest, so findall returns the maximal
//     runs of two or more word characters.
//   - lowercase is CPython's str.lower: the simple mapping (unicode.ToLower)
//     except U+0130 İ -> "i\u0307" (its only multi-character lowercase), and
//     Σ -> ς in the Final_Sigma context — the nearest character before it
//     that is not case-ignorable is cased, and the nearest after it is not
//     — judged on the original text, as CPython's handle_capital_sigma does.
//   - Go's tables are Unicode 15.0; CPython 3.11's are 14.0. They differ
//     only in the 4489 characters 15.0 assigned (none has a case mapping):
//     with unicode=14 those are unassigned, so neither word characters,
//     cased nor case-ignorable. The tests check every code point against
//     tables CPython 3.11 wrote (tests/text/).
//   - Counts are exact: integers below 2^24. TermWeight follows
//     sklearn.utils.sparsefuncs_fast's row loops in column order (the order
//     of a sorted CSR row): float64 rows give scikit-learn's bits except
//     where numpy's log (sublinear_tf) differs from Go's by an ulp; float32
//     rows round where scikit-learn's float32 path rounds.

import (
	"encoding/binary"
	"math"
	"math/bits"
	"sort"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
	"github.com/mle-runtime/mle/core/strs"
	"github.com/mle-runtime/mle/kernels"
)

func init() {
	text := []dtype.DType{dtype.String}
	mustRegister(Kernel{Op: "TermCount", Backend: CPUBackend, DTypes: text, Compile: compileTermCount})
	mustRegister(Kernel{Op: "TermHash", Backend: CPUBackend, DTypes: text, Compile: compileTermHash})
	mustRegister(Kernel{Op: "TermWeight", Backend: CPUBackend, DTypes: floatTypes, Compile: Stateless(bindTermWeight)})
}

// unicode15New lists the code points Unicode 15.0 assigned (unassigned in
// 14.0, the version of CPython 3.11's unicodedata).
var unicode15New = [][2]rune{
	{0x0CF3, 0x0CF3}, {0x0ECE, 0x0ECE}, {0x10EFD, 0x10EFF}, {0x1123F, 0x11241},
	{0x11B00, 0x11B09}, {0x11F00, 0x11F10}, {0x11F12, 0x11F3A}, {0x11F3E, 0x11F59},
	{0x1342F, 0x1342F}, {0x13439, 0x13455}, {0x1B132, 0x1B132}, {0x1B155, 0x1B155},
	{0x1D2C0, 0x1D2D3}, {0x1DF25, 0x1DF2A}, {0x1E030, 0x1E06D}, {0x1E08F, 0x1E08F},
	{0x1E4D0, 0x1E4F9}, {0x1F6DC, 0x1F6DC}, {0x1F774, 0x1F776}, {0x1F77B, 0x1F77F},
	{0x1F7D9, 0x1F7D9}, {0x1FA75, 0x1FA77}, {0x1FA87, 0x1FA88}, {0x1FAAD, 0x1FAAF},
	{0x1FABB, 0x1FABD}, {0x1FABF, 0x1FABF}, {0x1FACE, 0x1FACF}, {0x1FADA, 0x1FADB},
	{0x1FAE8, 0x1FAE8}, {0x1FAF7, 0x1FAF8}, {0x2B739, 0x2B739}, {0x31350, 0x323AF},
}

func newInUnicode15(r rune) bool {
	i := sort.Search(len(unicode15New), func(i int) bool { return unicode15New[i][1] >= r })
	return i < len(unicode15New) && unicode15New[i][0] <= r
}

// The Word_Break values MidLetter, MidNumLet and Single_Quote, which are
// case-ignorable beside the categories Mn, Me, Cf, Lm and Sk (Unicode 14
// and 15 agree on them).
var wordBreakMid = []rune{0x27, 0x2E, 0x3A, 0xB7, 0x387, 0x55F, 0x5F4, 0x2018, 0x2019, 0x2024, 0x2027,
	0xFE13, 0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A}

// Character properties (bits of textProps).
const (
	propWord          = 1 << iota // \w in a Python str pattern
	propCased                     // Unicode Cased
	propCaseIgnorable             // Unicode Case_Ignorable
)

// textProps returns the properties of r in Unicode 15, or in Unicode 14
// when v14.
func textProps(r rune, v14 bool) uint8 {
	if r < 0x80 {
		return asciiProps[r]
	}
	if v14 && newInUnicode15(r) {
		return 0
	}
	return uniProps(r)
}

func uniProps(r rune) uint8 {
	var p uint8
	if r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) {
		p |= propWord
	}
	if unicode.In(r, unicode.Lu, unicode.Ll, unicode.Lt, unicode.Other_Lowercase, unicode.Other_Uppercase) {
		p |= propCased
	}
	ign := unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
	for _, m := range wordBreakMid {
		ign = ign || r == m
	}
	if ign {
		p |= propCaseIgnorable
	}
	return p
}

var asciiProps = func() (t [0x80]uint8) {
	for r := range t {
		t[r] = uniProps(rune(r))
	}
	return t
}()

// tokens is one document's kept tokens: their bytes joined by one space
// (so the n-gram of tokens i..k is one slice), and where each lies.
type tokens struct {
	joined     []byte
	start, end []int32
	cur, sep   int // the token being read: its first byte, and where it (and its separator) began
	runes      int // its characters so far (0: between tokens)
}

// analyzer is a compiled word analyzer: lowercasing, tokens, stop words,
// n-grams.
type analyzer struct {
	lower, v14 bool
	lo, hi     int
	stop       map[string]struct{}
	bufs       sync.Pool // *tokens
}

func newAnalyzer(c *CompileCtx, stopInput int) (*analyzer, error) {
	n := c.Node
	a := &analyzer{lower: n.Attr("lowercase").Int == 1, v14: n.Attr("unicode").Int == 14,
		lo: int(n.Attr("ngram_min").Int), hi: int(n.Attr("ngram_max").Int)}
	a.bufs.New = func() any { return new(tokens) }
	if stopInput < len(c.In) && c.In[stopInput] != nil {
		words, cnt, err := stringConst(c, stopInput, "stop words")
		if err != nil {
			return nil, err
		}
		a.stop = make(map[string]struct{}, cnt)
		for i := int64(0); i < cnt; i++ {
			a.stop[string(strs.Elem(words, cnt, i))] = struct{}{}
		}
	}
	return a, nil
}

// stringConst returns input i, a stored string constant, checked.
func stringConst(c *CompileCtx, i int, what string) ([]byte, int64, error) {
	b := c.Const(i)
	if b == nil {
		return nil, 0, errs.New(errs.GraphAttribute, "%s: the %s %q must be a stored constant", c.Node.Op, what, c.In[i].Name)
	}
	n, _ := dtype.NumElements(c.In[i].Shape)
	if err := strs.Check(b, n, errs.FormatString); err != nil {
		return nil, 0, errs.Prefix(err, "%s %q", what, c.In[i].Name)
	}
	return b, n, nil
}

// emit adds one character of the (lowercased) text.
func (a *analyzer) emit(t *tokens, r rune) {
	if textProps(r, a.v14)&propWord == 0 {
		a.endToken(t)
		return
	}
	if t.runes == 0 {
		t.sep = len(t.joined)
		if len(t.start) > 0 {
			t.joined = append(t.joined, ' ')
		}
		t.cur = len(t.joined)
	}
	if r < utf8.RuneSelf {
		t.joined = append(t.joined, byte(r))
	} else {
		t.joined = utf8.AppendRune(t.joined, r)
	}
	t.runes++
}

// endToken keeps the token being read if it has two characters or more and
// is not a stop word.
func (a *analyzer) endToken(t *tokens) {
	if t.runes == 0 {
		return
	}
	_, stop := a.stop[string(t.joined[t.cur:])]
	if t.runes < 2 || stop {
		t.joined = t.joined[:t.sep]
	} else {
		t.start = append(t.start, int32(t.cur))
		t.end = append(t.end, int32(len(t.joined)))
	}
	t.runes = 0
}

// analyze fills t with doc's tokens.
func (a *analyzer) analyze(doc []byte, t *tokens) {
	t.joined, t.start, t.end, t.runes = t.joined[:0], t.start[:0], t.end[:0], 0
	if !a.lower {
		for i := 0; i < len(doc); {
			r, n := rune(doc[i]), 1
			if r >= utf8.RuneSelf {
				r, n = utf8.DecodeRune(doc[i:])
			}
			a.emit(t, r)
			i += n
		}
		a.endToken(t)
		return
	}
	prevCased := false // the nearest character before that is not case-ignorable is cased
	for i := 0; i < len(doc); {
		r, n := rune(doc[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRune(doc[i:])
		}
		if r == 0x3A3 { // Σ
			if prevCased && !a.casedNext(doc[i+n:]) {
				a.emit(t, 0x3C2)
			} else {
				a.emit(t, 0x3C3)
			}
		} else {
			l, l2 := lowerRune(r)
			a.emit(t, l)
			if l2 >= 0 {
				a.emit(t, l2)
			}
		}
		if p := textProps(r, a.v14); p&propCaseIgnorable == 0 {
			prevCased = p&propCased != 0
		}
		i += n
	}
	a.endToken(t)
}

// lowerRune is str.lower of one character other than Σ (whose lowercase
// depends on its neighbours): one rune, or two (l2 >= 0).
func lowerRune(r rune) (l, l2 rune) {
	switch {
	case r < utf8.RuneSelf:
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return r, -1
	case r == 0x130: // İ, whose full lowercase is i + COMBINING DOT ABOVE
		return 'i', 0x307
	}
	return unicode.ToLower(r), -1
}

// casedNext reports whether the first character of rest that is not
// case-ignorable is cased. The scans of successive sigmas do not overlap
// (each stops at the next character that is not case-ignorable), so a
// document costs linear time.
func (a *analyzer) casedNext(rest []byte) bool {
	for len(rest) > 0 {
		r, n := utf8.DecodeRune(rest)
		if p := textProps(r, a.v14); p&propCaseIgnorable == 0 {
			return p&propCased != 0
		}
		rest = rest[n:]
	}
	return false
}

// murmur3 is MurmurHash3's x86 32-bit variant with seed 0, as
// sklearn.utils.murmurhash3_32 computes it on a string's UTF-8 bytes.
func murmur3(b []byte) uint32 {
	const c1, c2 = 0xcc9e2d51, 0x1b873593
	var h uint32
	n := len(b)
	for ; len(b) >= 4; b = b[4:] {
		k := binary.LittleEndian.Uint32(b)
		k = bits.RotateLeft32(k*c1, 15) * c2
		h = bits.RotateLeft32(h^k, 13)*5 + 0xe6546b64
	}
	var k uint32
	switch len(b) {
	case 3:
		k ^= uint32(b[2]) << 16
		fallthrough
	case 2:
		k ^= uint32(b[1]) << 8
		fallthrough
	case 1:
		k ^= uint32(b[0])
		h ^= bits.RotateLeft32(k*c1, 15) * c2
	}
	h ^= uint32(n)
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// termCounter maps an n-gram to its column and sign; ok false skips it.
type termCounter interface {
	column(g []byte) (j int, sign float64, ok bool)
}

type vocabulary map[string]int

func (v vocabulary) column(g []byte) (int, float64, bool) {
	j, ok := v[string(g)]
	return j, 1, ok
}

// hashed is HashingVectorizer's column and sign of an n-gram.
type hashed struct {
	features  int64
	alternate bool
}

func (h hashed) column(g []byte) (int, float64, bool) {
	v := int64(int32(murmur3(g)))
	sign := 1.0
	if h.alternate && v < 0 {
		sign = -1
	}
	if v < 0 {
		v = -v
	}
	return int(v % h.features), sign, true
}

// termCompiled is a compiled TermCount or TermHash.
type termCompiled struct {
	a      *analyzer
	cols   termCounter
	binary bool
}

func compileTermCount(c *CompileCtx) (Compiled, error) {
	a, err := newAnalyzer(c, 2)
	if err != nil {
		return nil, err
	}
	words, n, err := stringConst(c, 1, "vocabulary")
	if err != nil {
		return nil, err
	}
	v := make(vocabulary, n)
	for i := int64(0); i < n; i++ {
		w := string(strs.Elem(words, n, i))
		if _, dup := v[w]; dup {
			return nil, errs.New(errs.GraphAttribute, "TermCount vocabulary %q: entry %d repeats an earlier one", c.In[1].Name, i)
		}
		v[w] = int(i)
	}
	return &termCompiled{a: a, cols: v, binary: c.Node.Attr("binary").Int == 1}, nil
}

func compileTermHash(c *CompileCtx) (Compiled, error) {
	a, err := newAnalyzer(c, 1)
	if err != nil {
		return nil, err
	}
	h := hashed{features: c.Node.Attr("n_features").Int, alternate: c.Node.Attr("alternate_sign").Int == 1}
	return &termCompiled{a: a, cols: h, binary: c.Node.Attr("binary").Int == 1}, nil
}

func (tc *termCompiled) Bind(b *BindCtx) (Executor, error) {
	shape := b.Out[0].Shape
	rows, cols := int(shape[0]), int(shape[1])
	// A document costs about its length, unknown here: count a row as
	// its output width plus a short text.
	return &termExec{c: tc, cols: cols, f32: b.Out[0].DType == dtype.Float32,
		rc: splitWork(rows, cols/8+512, 1, b.Threads)}, nil
}

type termExec struct {
	c    *termCompiled
	cols int
	f32  bool
	rc   rowChunks
	x    *RunCtx
	in   []byte
	out  []byte
}

func (e *termExec) Run(x *RunCtx, in, out []Buf) {
	e.x, e.in, e.out = x, in[0].Host, out[0].Host
	x.Parallel(e.rc.count, e)
	e.x, e.in, e.out = nil, nil, nil
}

func (e *termExec) RunChunk(c int, _ *kernels.Worker) {
	lo, hi := e.rc.bounds(c)
	a := e.c.a
	t := a.bufs.Get().(*tokens)
	defer a.bufs.Put(t)
	stop := e.x.Worker.Stop
	for i := lo; i < hi; i++ {
		if stop.Stopped() { // a document can take long (1 MiB, 32-grams)
			return
		}
		a.analyze(e.x.Str(e.in[refSize*i:]), t)
		if e.f32 {
			termRow(e, f32s(e.out)[i*e.cols:(i+1)*e.cols], t)
		} else {
			termRow(e, f64s(e.out)[i*e.cols:(i+1)*e.cols], t)
		}
	}
}

// termRow counts t's n-grams (n in ngram_min..ngram_max, as scikit-learn's
// _word_ngrams lists them) into row.
func termRow[T float32 | float64](e *termExec, row []T, t *tokens) {
	clear(row)
	cols, binary := e.c.cols, e.c.binary
	nt := len(t.start)
	for n := e.c.a.lo; n <= min(e.c.a.hi, nt); n++ {
		if e.x.Worker.Stop.Stopped() {
			return
		}
		for i := 0; i+n <= nt; i++ {
			j, sign, ok := cols.column(t.joined[t.start[i]:t.end[i+n-1]])
			switch {
			case !ok:
			case binary:
				row[j] = 1
			default:
				row[j] += T(sign)
			}
		}
	}
}

// TermWeight.

const (
	normL2 = iota
	normL1
	normNone
)

func bindTermWeight(b *BindCtx) (Executor, error) {
	s := b.In[0].Shape
	rows, cols := int(s[0]), int(s[1])
	norm := normL2
	for i, n := range graph.TermNorms {
		if n == b.Node.Attr("norm").String {
			norm = i
		}
	}
	return &termWeight{rows: rows, cols: cols, norm: norm, sublinear: b.Node.Attr("sublinear_tf").Int == 1,
		f32: b.In[0].DType == dtype.Float32, rc: splitWork(rows, cols, 2, b.Threads)}, nil
}

type termWeight struct {
	rows, cols   int
	norm         int
	sublinear    bool
	f32          bool
	rc           rowChunks
	in, idf, out []byte
}

func (e *termWeight) Run(x *RunCtx, in, out []Buf) {
	e.in, e.idf, e.out = in[0].Host, opt(in, 1), out[0].Host
	x.Parallel(e.rc.count, e)
	e.in, e.idf, e.out = nil, nil, nil
}

func (e *termWeight) RunChunk(c int, _ *kernels.Worker) {
	lo, hi := e.rc.bounds(c)
	for i := lo; i < hi; i++ {
		r := i * e.cols
		if e.f32 {
			weighRow32(e, f32s(e.in)[r:r+e.cols], f32s(e.idf), f32s(e.out)[r:r+e.cols])
		} else {
			weighRow64(e, f64s(e.in)[r:r+e.cols], f64s(e.idf), f64s(e.out)[r:r+e.cols])
		}
	}
}

// weighRow64 is TfidfTransformer.transform on one float64 row: only the
// stored (non-zero) entries change, as in scikit-learn's CSR data. The
// explicit conversions keep each product rounded (no fused multiply-add).
func weighRow64(e *termWeight, x, idf, out []float64) {
	var sum float64
	for j, v := range x {
		if v != 0 {
			if e.sublinear {
				v = math.Log(v) + 1
			}
			if idf != nil {
				v = float64(v * idf[j])
			}
			switch e.norm {
			case normL2:
				sum += float64(v * v)
			case normL1:
				sum += math.Abs(v)
			}
		}
		out[j] = v
	}
	if e.norm == normNone || sum == 0 {
		return
	}
	if e.norm == normL2 {
		sum = math.Sqrt(sum)
	}
	for j, v := range out {
		if v != 0 {
			out[j] = v / sum
		}
	}
}

// weighRow32 is the float32 path: values, logs and products rounded to
// float32, sums of squares (each square rounded to float32) in float64,
// and each quotient computed in float64 then rounded, as the Cython loops
// do for float data.
func weighRow32(e *termWeight, x, idf, out []float32) {
	var sum float64
	for j, v := range x {
		if v != 0 {
			if e.sublinear {
				v = float32(math.Log(float64(v))) + 1
			}
			if idf != nil {
				v = float32(v * idf[j])
			}
			switch e.norm {
			case normL2:
				sum += float64(float32(v * v))
			case normL1:
				sum += math.Abs(float64(v))
			}
		}
		out[j] = v
	}
	if e.norm == normNone || sum == 0 {
		return
	}
	if e.norm == normL2 {
		sum = math.Sqrt(sum)
	}
	for j, v := range out {
		if v != 0 {
			out[j] = float32(float64(v) / sum)
		}
	}
}
