package graph

import (
	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
)

// Text vectorizers, as scikit-learn's feature_extraction.text computes them
// with its default word analyzer (docs/FORMAT.md, "Text vectorizer ops").
//
//	TermCount(text [N] string, vocabulary [V] string, stop_words [S] string?) -> [N, V] f32/f64
//	  Each document is lowercased as Python's str.lower does (lowercase=1),
//	  cut into tokens as Python's re.findall(r"(?u)\b\w\w+\b") does (the
//	  maximal runs of two or more word characters), stripped of the tokens
//	  in stop_words, then turned into the n-grams of ngram_min..ngram_max
//	  tokens joined by one space. Column j counts the n-grams equal to
//	  vocabulary[j] (1 for any count with binary=1); others are ignored.
//	  vocabulary and stop_words are stored constants; vocabulary entries
//	  are distinct. Attribute to: the output dtype (float32 or float64).
//	  Attribute unicode: the Unicode version of the character properties,
//	  14 (CPython 3.11) or 15 (CPython 3.12, and Go's own tables).
//	TermHash(text [N] string, stop_words [S] string?) -> [N, n_features] f32/f64
//	  The same n-grams, each hashed as scikit-learn's HashingVectorizer does:
//	  h = MurmurHash3 (x86, 32-bit, seed 0) of its UTF-8 bytes as a signed
//	  int32, column |h| mod n_features, value +1, or with alternate_sign=1
//	  -1 when h < 0, summed; binary=1 sets every column an n-gram reached
//	  (even one whose signs cancel) to 1.
//	TermWeight(X [N, V] f32/f64, idf [V]?) -> [N, V]
//	  scikit-learn's TfidfTransformer and vectorizer norm on the non-zero
//	  entries of each row, in column order: 1 + log x when sublinear_tf=1,
//	  times idf[j] when idf is given, then divided by the row's norm
//	  ("l2": the square root of a sequential sum of squares, "l1": a
//	  sequential sum of absolute values, accumulated in float64 from
//	  products rounded to X's dtype; a row whose sum is 0 is left as is;
//	  "none": no norm).

// TermNorms lists TermWeight's norm attribute values.
var TermNorms = []string{"l2", "l1", "none"}

// MaxTermNgram bounds ngram_max: the work per token grows with it.
const MaxTermNgram = 32

func init() {
	textAttrs := func(more ...AttrSpec) []AttrSpec {
		return append([]AttrSpec{intAttr("lowercase", 1), intAttr("ngram_min", 1), intAttr("ngram_max", 1),
			intAttr("binary", 0), intAttr("to", int64(dtype.Float64)), intAttr("unicode", 14)}, more...)
	}
	text := []dtype.DType{dtype.String}
	register(&OpSchema{Name: "TermCount", MinInputs: 2, MaxInputs: 3, Types: text, Stored: []int{1, 2}, Attrs: textAttrs(), infer: inferTermCount})
	register(&OpSchema{Name: "TermHash", MinInputs: 1, MaxInputs: 2, Types: text, Stored: []int{1},
		Attrs: textAttrs(intAttr("n_features", 1<<20), intAttr("alternate_sign", 1)), infer: inferTermHash})
	register(&OpSchema{Name: "TermWeight", MinInputs: 1, MaxInputs: 2, Types: floatTypes,
		Attrs: []AttrSpec{intAttr("sublinear_tf", 0), {Name: "norm", Type: AttrString, Default: Attr{String: "l2"}}},
		infer: inferTermWeight})
}

// termText checks the attributes and string inputs the text ops share and
// returns the number of documents and the output dtype.
func (x *inferCtx) termText() (int64, dtype.DType, error) {
	op := x.n.Op
	for i, in := range x.in {
		if in == nil {
			continue
		}
		if in.DType != dtype.String || len(in.Shape) != 1 {
			return 0, 0, x.errf(errs.GraphDType, "%s input %d (%q) must be a 1-D string tensor; it is %s %v", op, i, in.Name, in.DType, in.Shape)
		}
	}
	for _, a := range []string{"lowercase", "binary"} {
		if v := x.attr(a).Int; v != 0 && v != 1 {
			return 0, 0, x.errf(errs.GraphAttribute, "%s %s must be 0 or 1, got %d", op, a, v)
		}
	}
	lo, hi := x.attr("ngram_min").Int, x.attr("ngram_max").Int
	if lo < 1 || lo > hi || hi > MaxTermNgram {
		return 0, 0, x.errf(errs.GraphAttribute, "%s n-gram range %d..%d: want 1 <= ngram_min <= ngram_max <= %d", op, lo, hi, MaxTermNgram)
	}
	if u := x.attr("unicode").Int; u != 14 && u != 15 {
		return 0, 0, x.errf(errs.GraphAttribute, "%s unicode is %d; want 14 or 15", op, u)
	}
	to := dtype.DType(x.attr("to").Int)
	if x.attr("to").Int != int64(to) || !to.IsFloat() {
		return 0, 0, x.errf(errs.GraphAttribute, "%s to is %d; want float32 (%d) or float64 (%d)", op, x.attr("to").Int, dtype.Float32, dtype.Float64)
	}
	return x.in[0].Shape[0], to, nil
}

func inferTermCount(x *inferCtx) error {
	n, to, err := x.termText()
	if err != nil {
		return err
	}
	x.out[0] = ValueInfo{DType: to, Shape: []int64{n, x.in[1].Shape[0]}}
	return nil
}

func inferTermHash(x *inferCtx) error {
	n, to, err := x.termText()
	if err != nil {
		return err
	}
	if a := x.attr("alternate_sign").Int; a != 0 && a != 1 {
		return x.errf(errs.GraphAttribute, "TermHash alternate_sign must be 0 or 1, got %d", a)
	}
	f := x.attr("n_features").Int
	if f < 1 || f > 1<<31-1 {
		return x.errf(errs.GraphAttribute, "TermHash n_features is %d; want 1..2^31-1", f)
	}
	x.out[0] = ValueInfo{DType: to, Shape: []int64{n, f}}
	return nil
}

func inferTermWeight(x *inferCtx) error {
	dt, err := x.sameType(floatTypes)
	if err != nil {
		return err
	}
	xs := x.in[0].Shape
	if len(xs) != 2 {
		return x.errf(errs.GraphShape, "TermWeight X %q must be 2-D, got shape %v", x.in[0].Name, xs)
	}
	if len(x.in) > 1 && x.in[1] != nil {
		idf := x.in[1].Shape
		if len(idf) != 1 {
			return x.errf(errs.GraphShape, "TermWeight idf %q must be 1-D, got shape %v", x.in[1].Name, idf)
		}
		v, ok := mergeDim(xs[1], idf[0])
		if !ok {
			return x.errf(errs.GraphShape, "TermWeight idf %q has %d entries; X has %d columns", x.in[1].Name, idf[0], xs[1])
		}
		xs = []int64{xs[0], v}
	}
	if v := x.attr("sublinear_tf").Int; v != 0 && v != 1 {
		return x.errf(errs.GraphAttribute, "TermWeight sublinear_tf must be 0 or 1, got %d", v)
	}
	if norm := x.attr("norm").String; !inList(norm, TermNorms) {
		return x.errf(errs.GraphAttribute, "TermWeight norm is %q; want one of %q", norm, TermNorms)
	}
	x.out[0] = ValueInfo{DType: dt, Shape: xs}
	return nil
}
