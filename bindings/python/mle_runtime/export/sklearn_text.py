"""sklearn.feature_extraction.text: CountVectorizer, TfidfVectorizer,
HashingVectorizer and TfidfTransformer, through the TermCount, TermHash and
TermWeight ops (docs/FORMAT.md).

What is exact: the word analyzer with the default token_pattern
r"(?u)\\b\\w\\w+\\b" (tokens as Python's re finds them in any Unicode text),
lowercase (Python's str.lower: İ and final sigma included), ngram_range,
stop_words (a list, or "english": the set is stored in the model), binary,
the fitted vocabulary_ (min_df, max_df and max_features already applied),
idf_ (use_idf, smooth_idf), sublinear_tf, norm "l1"/"l2"/None summed in
scikit-learn's order, HashingVectorizer's n_features and alternate_sign.
Values: counts exactly; TF-IDF float64 within an ulp of numpy's log
(sublinear_tf) of scikit-learn's bits, float32 (dtype=np.float32) on
scikit-learn's float32 path. The output is dense [N, V] in the graph's
dtype (scikit-learn's is a sparse matrix of the same values).

Refused, naming the parameter: a callable analyzer, preprocessor or
tokenizer, another token_pattern, strip_accents, analyzer "char"/"char_wb",
input "file"/"filename", a dtype whose counts would not be exact. A text
model has one input, "text": a 1-D string tensor of documents; a vectorizer
inside a ColumnTransformer reads its one text column.

Tokenization follows the Unicode version of the exporting Python (14.0 for
3.11, 15.0 for 3.12); others are refused, since \\w and str.lower change
with it.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import numpy as np

from .._builder import STRING
from .._graph import Graph
from . import sklearn_pipeline
from ._head import unsupported
from ._registry import TRANSFORMER, register
from ._table import Columns

DTYPE_IDS = {np.dtype(np.float32): 1, np.dtype(np.float64): 11}
DEFAULT_PATTERNS = (r"(?u)\b\w\w+\b", r"\b\w\w+\b")  # (?u) is the default for str patterns
UNICODE = {"14.0.0": 14, "15.0.0": 15}  # the versions TermCount/TermHash reproduce
TEXT_INPUT = "text"

_COUNT_NOTE = ("analyzer='word' with the default token_pattern, lowercase, ngram_range, stop_words "
               "(list or 'english'), binary, dtype; dense output")
_NORM_NOTE = "norm l1/l2/None in scikit-learn's summation order"


def _analyzer(est: Any) -> dict:
    """TermCount/TermHash attributes from a vectorizer's analyzer settings;
    refuses what they cannot reproduce."""
    name = type(est).__name__

    def refuse(param: str, why: str = "") -> Exception:
        return unsupported(f"{name}({param}={getattr(est, param)!r}){why}")

    if est.input != "content":
        raise refuse("input", " (documents are passed as strings)")
    if callable(est.analyzer) or est.analyzer != "word":
        raise refuse("analyzer", " (only analyzer='word' is exported)")
    if est.preprocessor is not None:
        raise refuse("preprocessor")
    if est.tokenizer is not None:
        raise refuse("tokenizer")
    if est.token_pattern not in DEFAULT_PATTERNS:
        raise refuse("token_pattern", r" (only the default r'(?u)\b\w\w+\b' is exported)")
    if est.strip_accents:
        raise refuse("strip_accents")
    lo, hi = (int(n) for n in est.ngram_range)
    if not 1 <= lo <= hi <= 32:
        raise refuse("ngram_range", " (1 <= min_n <= max_n <= 32 is exported)")
    version = UNICODE.get(unicodedata.unidata_version)
    if version is None:
        raise unsupported(f"{name} exported from a Python with Unicode {unicodedata.unidata_version} tables "
                          "(its \\w and str.lower are reproduced for Unicode 14.0 and 15.0: Python 3.11 and 3.12)")
    return {"lowercase": int(bool(est.lowercase)), "ngram_min": lo, "ngram_max": hi,
            "binary": int(bool(est.binary)), "unicode": version}


def _compute_dtype(est: Any, hashing: bool = False) -> np.dtype:
    """The dtype scikit-learn's counts (and TF-IDF) are computed in: float32
    or float64; integer counts are exact in float64."""
    dt = np.dtype(est.dtype)
    if dt in (np.float32, np.float64):
        return dt
    if dt.kind == "i" and dt.itemsize >= 4 or (dt.kind == "u" and dt.itemsize >= 4 and not hashing):
        return np.dtype(np.float64)
    raise unsupported(f"{type(est).__name__}(dtype={dt.name}) (its counts could wrap or round)")


def _text_input(g: Graph, est: Any, x: Any) -> str:
    """The documents: the model's text input, or the one text column a
    ColumnTransformer gives the vectorizer."""
    if isinstance(x, Columns):
        if len(x.indices) != 1:
            raise unsupported(f"{type(est).__name__} over {len(x.indices)} columns (a vectorizer takes one text "
                              "column: select it by name, not as a list)")
        return x.column(0, True)
    if x != TEXT_INPUT:
        raise unsupported(f"{type(est).__name__} after another step (a vectorizer reads the documents)")
    return x


def _stop_words(g: Graph, est: Any) -> list[str]:
    stop = est.get_stop_words()
    words = sorted(w for w in stop if isinstance(w, str)) if stop is not None else []
    return [g.const(np.array(words, dtype=object), "stop_words", object)] if words else []


def _weigh(g: Graph, x: str, dt: np.dtype, norm: Any, sublinear: bool, idf: Any, name: str) -> str:
    """TermWeight (sublinear tf, idf, norm), or x when it would change nothing."""
    if norm not in (None, "l1", "l2"):
        raise unsupported(f"{name}(norm={norm!r})")
    if norm is None and not sublinear and idf is None:
        return x
    ins = [x] + ([g.const(np.asarray(idf, dtype=dt), "idf", dt)] if idf is not None else [])
    return g.op("TermWeight", *ins, norm=norm or "none", sublinear_tf=int(bool(sublinear)), hint="tfidf")


def _to_graph(g: Graph, v: str, dt: np.dtype) -> str:
    return v if dt == g.dtype else g.op("Cast", v, to=DTYPE_IDS[g.dtype])


def _counts(g: Graph, est: Any, x: Any, dt: np.dtype) -> str:
    attrs = _analyzer(est)
    vocab = est.vocabulary_
    terms: list[Any] = [None] * len(vocab)
    for term, j in vocab.items():
        if not isinstance(term, str) or not 0 <= int(j) < len(terms) or terms[int(j)] is not None:
            raise unsupported(f"{type(est).__name__} with a vocabulary_ that is not str terms indexed 0..n-1")
        terms[int(j)] = term
    if not terms:
        raise unsupported(f"{type(est).__name__} with an empty vocabulary_")
    docs = _text_input(g, est, x)
    v = g.const(np.array(terms, dtype=object), "vocabulary", object)
    return g.op("TermCount", docs, v, *_stop_words(g, est), to=DTYPE_IDS[dt], hint="counts", **attrs)


@register("sklearn.feature_extraction.text.CountVectorizer", TRANSFORMER, _COUNT_NOTE, columns=True)
def _count_vectorizer(g: Graph, est: Any, x: Any) -> str:
    dt = _compute_dtype(est)
    return _to_graph(g, _counts(g, est, x, dt), dt)


@register("sklearn.feature_extraction.text.TfidfVectorizer", TRANSFORMER,
          _COUNT_NOTE + "; idf_, sublinear_tf, " + _NORM_NOTE, columns=True)
def _tfidf_vectorizer(g: Graph, est: Any, x: Any) -> str:
    dt = _compute_dtype(est)
    tf = est._tfidf  # transform uses the settings it was fitted with
    counts = _counts(g, est, x, dt)
    out = _weigh(g, counts, dt, tf.norm, tf.sublinear_tf, getattr(tf, "idf_", None), "TfidfVectorizer")
    return _to_graph(g, out, dt)


@register("sklearn.feature_extraction.text.HashingVectorizer", TRANSFORMER,
          _COUNT_NOTE + "; n_features, alternate_sign (MurmurHash3 as scikit-learn's), " + _NORM_NOTE,
          columns=True)
def _hashing_vectorizer(g: Graph, est: Any, x: Any) -> str:
    dt = _compute_dtype(est, hashing=True)
    attrs = _analyzer(est)
    n = int(est.n_features)
    if not 1 <= n <= 2**31 - 1:
        raise unsupported(f"HashingVectorizer(n_features={est.n_features!r})")
    docs = _text_input(g, est, x)
    counts = g.op("TermHash", docs, *_stop_words(g, est), n_features=n, alternate_sign=int(bool(est.alternate_sign)),
                  to=DTYPE_IDS[dt], hint="hashed", **attrs)
    return _to_graph(g, _weigh(g, counts, dt, est.norm, False, None, "HashingVectorizer"), dt)


@register("sklearn.feature_extraction.text.TfidfTransformer", TRANSFORMER,
          "idf_, sublinear_tf, " + _NORM_NOTE + ", on a count matrix in the graph's dtype")
def _tfidf_transformer(g: Graph, est: Any, x: str) -> str:
    return _weigh(g, x, g.dtype, est.norm, est.sublinear_tf, getattr(est, "idf_", None), "TfidfTransformer")


for _name in ("CountVectorizer", "TfidfVectorizer", "HashingVectorizer"):
    sklearn_pipeline.INPUTS[f"sklearn.feature_extraction.text.{_name}"] = (TEXT_INPUT, STRING, [-1])
