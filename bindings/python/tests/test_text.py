"""Parity with scikit-learn's text vectorizers (CountVectorizer,
TfidfVectorizer, HashingVectorizer, TfidfTransformer) on a small
multilingual corpus: tokens as Python's re finds them (Unicode \\w and
\\b), str.lower's İ and final sigma, n-grams, stop words, binary, idf,
sublinear tf and the norms in scikit-learn's order.

Contract: transform equals scikit-learn's (toarray) within 1e-12 relative
for float64 (counts exactly), within float32 rounding for dtype=float32;
text classification Pipelines give identical labels and scores within
1e-9 (the classifier's GEMM sums in another order)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import (ENGLISH_STOP_WORDS, CountVectorizer, HashingVectorizer,
                                             TfidfTransformer, TfidfVectorizer)
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

import mle_runtime
from mle_runtime import MLEDTypeError, MLEUnsupportedError, MLEValueError

CORPUS = [
    "The quick brown fox jumps over the lazy dog. The dog sleeps!",
    "Le café est très bon ; la crème brûlée, naïve et élégante, aussi.",
    "Die Straße ist groß, STRASSE und ẞ: Grüße aus Köln.",
    "ΟΔΥΣΣΕΥΣ και ΣΑΣ: ο Οδυσσέας ταξίδεψε στην Ιθάκη, ΣΟΦΟΣ.",
    "İstanbul ve IĞDIR, ılık İzmir; istanbul çok güzel.",
    "東京は日本の首都です。京都も美しい 東京 東京タワー",
    "emoji 👍🏽 test😀test 🇫🇷 ok👍ok",
    "digits 2024 1st ½ Ⅻ ٣٤ ① x² 3.14 1,000",
    "__init__ snake_case _private a_b __dunder__ _",
    "cafe\u0301 combining e\u0301e\u0301 a\u0308b",
    "the the the fox fox dog",
    "AΣ ΣΑΣ. Σ'Α ΑΣ\u0301 café NAÏVE",
]
TEST_DOCS = CORPUS + [
    "",
    "   ",
    "unknown words only: zyxwv qwertyuiop",
    "THE QUICK Café ÉLÉGANTE İSTANBUL ΣΑΣ",
    "null\x00byte\x00test café\x00ok",
    "tab\tnew\nline and the dog",
]
LABELS = ["en", "fr", "de", "el", "tr", "ja", "emoji", "num", "code", "fr", "en", "el"]


def close(got, want, rtol=1e-12):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape
    err = np.abs(got - want)
    tol = rtol * np.maximum(np.abs(want), 1e-300)
    bad = err > tol
    worst = np.max(err / np.maximum(np.abs(want), 1e-300))
    assert not bad.any(), f"max relative error {worst} at {np.argwhere(bad)[:5]}"


def _ids(params: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in params.items()) or "default"


def roundtrip(est, tmp_path, name="m.mle", **kw):
    path = tmp_path / name
    mle_runtime.dump(est, path, **kw)
    return mle_runtime.load(path)


def check(est, tmp_path, docs=TEST_DOCS, rtol=1e-12):
    m = roundtrip(est, tmp_path)
    assert [(s.name, s.mle_dtype, s.shape) for s in m.inputs] == [("text", "string", (-1,))]
    want = est.transform(docs)
    want = want.toarray() if hasattr(want, "toarray") else want
    got = m.transform(docs)
    assert got.shape == want.shape
    close(got, want, rtol)
    # one document at a time, and a numpy array of them
    close(m.transform(docs[:1]), want[:1], rtol)
    close(m.transform(np.array(docs, dtype=object)), want, rtol)
    return m


COUNT_PARAMS = [
    {},
    {"ngram_range": (1, 2)},
    {"ngram_range": (2, 3)},
    {"ngram_range": (1, 3), "stop_words": "english"},
    {"stop_words": ["the", "est", "σας", "東京", "ok"]},
    {"binary": True, "ngram_range": (1, 2)},
    {"lowercase": False},
    {"lowercase": False, "ngram_range": (1, 2), "binary": True},
    {"min_df": 2},
    {"max_df": 0.2, "ngram_range": (1, 2)},
    {"max_features": 10},
    {"dtype": np.float32},
    {"dtype": np.int32},
    {"token_pattern": r"\b\w\w+\b"},
    {"vocabulary": ["the", "dog", "café", "σας", "i̇stanbul", "東京", "ok", "not a token", "the dog"],
     "ngram_range": (1, 2)},
    {"vocabulary": {"fox": 2, "dog": 0, "straße": 1}},
]


@pytest.mark.parametrize("params", COUNT_PARAMS, ids=_ids)
def test_count_vectorizer(params, tmp_path):
    est = CountVectorizer(**params).fit(CORPUS)
    check(est, tmp_path)


TFIDF_PARAMS = [
    {},
    {"norm": "l1"},
    {"norm": None},
    {"sublinear_tf": True},
    {"use_idf": False},
    {"smooth_idf": False, "ngram_range": (1, 2)},
    {"binary": True, "norm": "l1", "sublinear_tf": True},
    {"ngram_range": (1, 3), "stop_words": "english", "sublinear_tf": True, "max_df": 0.5},
    {"lowercase": False, "use_idf": False, "norm": None},
    {"dtype": np.float32},
    {"dtype": np.float32, "sublinear_tf": True, "norm": "l1"},
]


@pytest.mark.parametrize("params", TFIDF_PARAMS, ids=_ids)
def test_tfidf_vectorizer(params, tmp_path):
    est = TfidfVectorizer(**params).fit(CORPUS)
    f32 = params.get("dtype") == np.float32
    check(est, tmp_path, rtol=1e-6 if f32 else 1e-12)
    if f32:  # scikit-learn's float32 path, step by step: all but a few log ulps are bit-identical
        m = roundtrip(est, tmp_path, "m2.mle")
        want = est.transform(TEST_DOCS).toarray()
        assert np.mean(m.transform(TEST_DOCS).astype(np.float32) == want) > 0.99


def test_tfidf_bits(tmp_path):
    # No log: every step is scikit-learn's, so the float64 bits are equal.
    est = TfidfVectorizer(ngram_range=(1, 2)).fit(CORPUS)
    m = roundtrip(est, tmp_path)
    assert np.array_equal(m.transform(TEST_DOCS), est.transform(TEST_DOCS).toarray())


HASH_PARAMS = [
    {"n_features": 2**10},
    {"n_features": 2**4},  # collisions: signs cancel
    {"n_features": 2**4, "binary": True},  # a cancelled entry is still stored: 1
    {"n_features": 2**4, "binary": True, "alternate_sign": False, "norm": None},
    {"n_features": 2**8, "alternate_sign": False, "norm": "l1", "ngram_range": (1, 2)},
    {"n_features": 2**8, "norm": None, "stop_words": "english", "lowercase": False},
    {"n_features": 2**8, "dtype": np.float32},
    {"n_features": 2**6, "norm": None, "dtype": np.int64},
    {},  # 2**20 columns
]


@pytest.mark.parametrize("params", HASH_PARAMS, ids=_ids)
def test_hashing_vectorizer(params, tmp_path):
    est = HashingVectorizer(**params)
    docs = TEST_DOCS if params else TEST_DOCS[:3]
    check(est, tmp_path, docs=docs, rtol=1e-6 if params.get("dtype") == np.float32 else 1e-12)


def test_hashing_every_hash_bit(tmp_path):
    # |h| mod four coprime widths (product > 2^31) and the sign fix
    # MurmurHash3 of each token: 2000 random tokens, one per document.
    rng = random.Random(5)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789_éßΣσς東京ıİ"
    docs = ["".join(rng.choice(alphabet) for _ in range(rng.randint(2, 24))) for _ in range(2000)]
    for n in (1009, 1013, 1019, 1021):
        est = HashingVectorizer(n_features=n, norm=None)
        m = roundtrip(est, tmp_path, f"h{n}.mle")
        assert np.array_equal(m.transform(docs), est.transform(docs).toarray())


TRANSFORMER_PARAMS = [{}, {"norm": "l1", "sublinear_tf": True}, {"use_idf": False, "norm": None, "sublinear_tf": True},
                      {"smooth_idf": False}]


@pytest.mark.parametrize("params", TRANSFORMER_PARAMS, ids=_ids)
def test_tfidf_transformer(params, tmp_path):
    counts = CountVectorizer(ngram_range=(1, 2)).fit(CORPUS)
    # After a vectorizer in a Pipeline, and alone on a count matrix.
    pipe = make_pipeline(counts, TfidfTransformer(**params)).fit(CORPUS)
    check(pipe, tmp_path)
    alone = TfidfTransformer(**params).fit(counts.transform(CORPUS))
    X = counts.transform(TEST_DOCS).toarray().astype(np.float64)
    m = roundtrip(alone, tmp_path, "alone.mle")
    close(m.transform(X), alone.transform(X).toarray())


def test_hashing_then_tfidf(tmp_path):
    pipe = make_pipeline(HashingVectorizer(n_features=2**8, alternate_sign=False), TfidfTransformer(sublinear_tf=True))
    check(pipe.fit(CORPUS), tmp_path)


def test_unicode_sample(tmp_path):
    # Characters from every plane, in and around words, upper and lower case.
    rng = random.Random(3)
    pool = [chr(c) for c in rng.sample(range(0x30000), 6000) if not 0xD800 <= c <= 0xDFFF]
    pool += list("ΣσςİıIi\u0301\u0307\u200d_'.:")
    docs = [" ".join("".join(rng.choice(pool) for _ in range(rng.randint(1, 5))) for _ in range(60))
            for _ in range(40)]
    for lowercase in (True, False):
        est = CountVectorizer(lowercase=lowercase, ngram_range=(1, 2)).fit(docs[:30])
        check(est, tmp_path, docs=docs)


@pytest.mark.parametrize("clf", [LogisticRegression(max_iter=500), MultinomialNB(), LinearSVC()],
                         ids=lambda c: type(c).__name__)
def test_text_classification(clf, tmp_path):
    pipe = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True), clf).fit(CORPUS, LABELS)
    m = roundtrip(pipe, tmp_path)
    labels = m.predict(TEST_DOCS)
    assert labels.tolist() == pipe.predict(TEST_DOCS).tolist()
    assert isinstance(labels[0], str)
    for method in ("predict_proba", "decision_function"):
        if hasattr(pipe, method):
            close(getattr(m, method)(TEST_DOCS), getattr(pipe, method)(TEST_DOCS), 1e-9)


def test_column_transformer_text_column(tmp_path):
    import pandas as pd

    df = pd.DataFrame({"review": CORPUS, "stars": np.arange(len(CORPUS), dtype=np.float64)})
    ct = ColumnTransformer([("t", TfidfVectorizer(), "review"), ("n", StandardScaler(), ["stars"])])
    pipe = make_pipeline(ct, LogisticRegression(max_iter=500)).fit(df, LABELS)
    m = roundtrip(pipe, tmp_path)
    test = pd.DataFrame({"review": TEST_DOCS, "stars": np.linspace(0, 12, len(TEST_DOCS))})
    assert m.predict(test).tolist() == pipe.predict(test).tolist()
    close(m.predict_proba(test), pipe.predict_proba(test), 1e-9)


def test_refuses_large_and_non_string_documents(tmp_path):
    est = CountVectorizer().fit(CORPUS)
    m = roundtrip(est, tmp_path)
    big = "a" * (1 << 20)
    assert m.transform([big[:-1] + " ", "ok"]).shape == (2, len(est.vocabulary_))  # 1 MiB exactly is fine
    with pytest.raises(MLEValueError) as e:
        m.transform([big + "b"])
    assert e.value.status_name == "MLE_ERR_INVALID_STRING"
    for bad in ([1, 2], ["ok", None], [b"bytes"], np.array([1.0, 2.0])):
        with pytest.raises(MLEDTypeError):
            m.transform(bad)
    with pytest.raises(MLEValueError):
        m.transform("one string, not a list")


@pytest.mark.parametrize("params, word", [
    ({"analyzer": "char"}, "analyzer"),
    ({"analyzer": "char_wb"}, "analyzer"),
    ({"analyzer": str.split}, "analyzer"),
    ({"tokenizer": str.split}, "tokenizer"),
    ({"preprocessor": str.upper}, "preprocessor"),
    ({"token_pattern": r"(?u)\b\w+\b"}, "token_pattern"),
    ({"strip_accents": "unicode"}, "strip_accents"),
    ({"strip_accents": "ascii"}, "strip_accents"),
    ({"dtype": np.int8}, "dtype"),
    ({"dtype": np.int16}, "dtype"),
])
def test_refused(params, word, tmp_path):
    for cls in (CountVectorizer, TfidfVectorizer):
        est = cls(**params).fit(CORPUS)
        with pytest.raises(MLEUnsupportedError, match=word):
            mle_runtime.dump(est, tmp_path / "x.mle")


def test_refused_input_files(tmp_path):
    paths = []
    for i, doc in enumerate(CORPUS):
        paths.append(tmp_path / f"doc{i}.txt")
        paths[-1].write_text(doc, encoding="utf-8")
    est = CountVectorizer(input="filename").fit(paths)
    with pytest.raises(MLEUnsupportedError, match="input"):
        mle_runtime.dump(est, tmp_path / "x.mle")


def test_english_stop_words_baked(tmp_path):
    est = CountVectorizer(stop_words="english").fit(CORPUS)
    m = roundtrip(est, tmp_path)
    docs = [" ".join(sorted(ENGLISH_STOP_WORDS)) + " dog fox"]
    close(m.transform(docs), est.transform(docs).toarray())
