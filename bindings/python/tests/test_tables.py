"""Models over tables: OneHotEncoder, OrdinalEncoder, ColumnTransformer and
TransformedTargetRegressor, with DataFrames of text and number columns
passed by name (one graph input per column)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder, StandardScaler

import mle_runtime
from mle_runtime import MLEDTypeError, MLEShapeError, MLEUnsupportedError, MLEValueError

CITIES = np.array(["Paris", "東京", "Lyon", "Zürich", "São Paulo", ""], dtype=object)


def frame(n: int = 240, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "city": CITIES[rng.choice(len(CITIES), n, p=[0.3, 0.25, 0.2, 0.15, 0.07, 0.03])],
        "age": rng.normal(40, 12, n),
        "rooms": rng.integers(1, 6, n).astype(np.int64),
        "size": rng.gamma(3, 20, n),
        "kind": rng.choice(["flat", "house", "loft"], n),
    })
    df.loc[::9, "age"] = np.nan
    return df


def target(df: pd.DataFrame, kind: str) -> np.ndarray:
    score = df["size"].to_numpy() / 30 + df["age"].fillna(40).to_numpy() / 20 + (df["city"] == "Paris").to_numpy()
    if kind == "regression":
        return score
    return np.array(["low", "mid", "high"])[np.digitize(score, np.quantile(score, [0.33, 0.66]))]


def unseen(df: pd.DataFrame) -> pd.DataFrame:
    t = df.head(12).copy()
    t.loc[t.index[0], "city"] = "Berlin"
    t.loc[t.index[1], "kind"] = "castle"
    t.loc[t.index[2], "rooms"] = 9
    t.loc[t.index[3], "age"] = np.nan
    return t


def parity(est, df, path, X_run=None):
    mle_runtime.dump(est, path)
    m = mle_runtime.load(path)
    X_run = df if X_run is None else X_run
    for name in ("predict", "predict_proba", "decision_function", "transform"):
        if not hasattr(est, name):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = getattr(est, name)(X_run)
        want = want.toarray() if hasattr(want, "toarray") else np.asarray(want)
        got = getattr(m, name)(X_run)
        assert got.shape == want.shape, name
        if want.dtype.kind in "OUb" or (name == "predict" and want.dtype.kind in "iu"):
            assert got.tolist() == want.tolist(), f"{name} differs"
        else:
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, err_msg=name)
    return m


ENCODERS = [
    lambda: OneHotEncoder(handle_unknown="ignore"),
    lambda: OneHotEncoder(handle_unknown="ignore", sparse_output=False, drop="first"),
    lambda: OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=20),
    lambda: OneHotEncoder(handle_unknown="warn", max_categories=3),
    lambda: OneHotEncoder(drop="if_binary", handle_unknown="ignore"),
    lambda: OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
    lambda: OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=-2),
    lambda: OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, min_frequency=20),
]


@pytest.mark.parametrize("make", ENCODERS, ids=lambda m: repr(m()).replace(" ", ""))
def test_encoders_on_text_and_numbers(make, tmp_path):
    df = frame()[["city", "rooms", "kind", "age"]]
    enc = make().fit(df)
    m = parity(enc, df, tmp_path / "e.mle", unseen(df))
    assert [s.mle_dtype for s in m.inputs] == ["string", "float64", "string", "float64"]
    parity(enc, df, tmp_path / "e.mle")


@pytest.mark.parametrize("make", ENCODERS[:2] + ENCODERS[5:6], ids=lambda m: repr(m()).replace(" ", ""))
def test_encoders_on_numeric_arrays(make, tmp_path):
    """Fitted on a plain float array: one 2-D input, as for other transformers."""
    X = np.column_stack([np.arange(60) % 4, (np.arange(60) % 3) * 1.5, np.where(np.arange(60) % 7 == 0, np.nan, 2.0)])
    enc = make().fit(X)
    m = parity(enc, X, tmp_path / "e.mle", np.vstack([X[:10], [[9, 1.5, 2.0], [0, 4.5, np.nan]]]))
    assert [list(s.shape) for s in m.inputs] == [[-1, 3]]


def test_encoder_on_object_array_without_names(tmp_path):
    X = np.array([["a", "x"], ["b", "y"], ["a", "y"], ["c", "x"]] * 5, dtype=object)
    enc = OneHotEncoder(handle_unknown="ignore").fit(X)
    m = parity(enc, X, tmp_path / "e.mle", np.array([["b", "z"], ["q", "x"]], dtype=object))
    assert [s.name for s in m.inputs] == ["x0", "x1"]


def pipelines():
    num = make_pipeline(SimpleImputer(), StandardScaler())
    return [
        lambda: make_pipeline(ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), ["city", "kind"]),
                                                 ("num", num, ["age", "size"])]), LogisticRegression(max_iter=1000)),
        lambda: make_pipeline(ColumnTransformer([("cat", OrdinalEncoder(handle_unknown="use_encoded_value",
                                                                        unknown_value=-1), [0, 4]),
                                                 ("num", "passthrough", [2, 3])], remainder="drop"),
                              HistGradientBoostingClassifier(max_iter=20, random_state=0)),
        lambda: make_pipeline(ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                                                 ["city"]), ("drop", "drop", ["kind"])], remainder=num),
                              LogisticRegression(max_iter=1000)),
    ]


@pytest.mark.parametrize("make", pipelines(), ids=["onehot+scaled", "ordinal+passthrough+hgb", "remainder-pipeline"])
def test_column_transformer_classifiers(make, tmp_path):
    df = frame()
    est = make().fit(df, target(df, "class"))
    m = parity(est, df, tmp_path / "p.mle")
    parity(est, df, tmp_path / "p.mle", unseen(df))
    assert m.predict(df).dtype == est.predict(df).dtype
    # dict of columns and a float32 frame give the same answers
    cols = {c: df[c].to_numpy() for c in df.columns}
    assert m.predict(cols).tolist() == est.predict(df).tolist()


def test_column_transformer_regressors(tmp_path):
    df = frame()
    y = target(df, "regression")
    ct = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), ["city"]),
                            ("num", SimpleImputer(), ["age", "size", "rooms"])])
    parity(make_pipeline(ct, RandomForestRegressor(n_estimators=10, random_state=0)).fit(df, y), df, tmp_path / "r.mle")
    ttr = TransformedTargetRegressor(make_pipeline(ct, Ridge()), transformer=StandardScaler()).fit(df, y)
    parity(ttr, df, tmp_path / "t.mle", unseen(df))
    ttr = TransformedTargetRegressor(make_pipeline(ct, LinearRegression()), func=np.log, inverse_func=np.exp).fit(df, y)
    parity(ttr, df, tmp_path / "l.mle")
    ttr = TransformedTargetRegressor(make_pipeline(ct, Ridge()), transformer=MinMaxScaler()).fit(df, y)
    parity(ttr, df, tmp_path / "m.mle")


def test_bad_tables_name_the_column(tmp_path):
    df = frame()
    est = pipelines()[0]().fit(df, target(df, "class"))
    mle_runtime.dump(est, tmp_path / "p.mle")
    m = mle_runtime.load(tmp_path / "p.mle")
    with pytest.raises(MLEShapeError, match="'city'.*missing"):
        m.predict(df.drop(columns="city"))
    with pytest.raises(MLEShapeError, match="'extra'.*not seen"):
        m.predict(df.assign(extra=1.0))
    with pytest.raises(MLEDTypeError, match="column 'size' holds str"):
        m.predict(df.assign(size="big"))
    with pytest.raises(MLEDTypeError, match="'city'"):
        m.predict(df.assign(city=1.5))
    # None in a text column is an unknown category here, as in scikit-learn
    assert m.predict(df.assign(city=None)).tolist() == est.predict(df.assign(city=None)).tolist()
    assert m.predict(df.assign(age=np.nan)).tolist() == est.predict(df.assign(age=np.nan)).tolist()  # imputed
    # NaN where nothing imputes it: scikit-learn refuses, and so does the model, naming the column.
    plain = make_pipeline(ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), ["city"]),
                                             ("num", StandardScaler(), ["size"])]),
                          LogisticRegression(max_iter=1000)).fit(df, target(df, "class"))
    mle_runtime.dump(plain, tmp_path / "q.mle")
    with pytest.raises(ValueError):
        plain.predict(df.assign(size=np.nan))
    with pytest.raises(MLEValueError, match="column 'size' contains NaN"):
        mle_runtime.load(tmp_path / "q.mle").predict(df.assign(size=np.nan))


def test_unknown_category_refused_when_fitted_so(tmp_path):
    df = frame()[["city", "age"]]
    enc = make_pipeline(ColumnTransformer([("c", OneHotEncoder(handle_unknown="error"), ["city"])],
                                          remainder="passthrough")).fit(df)
    m = parity(enc, df, tmp_path / "e.mle")
    bad = df.head(3).assign(city=["Paris", "Atlantis", "Lyon"])
    with pytest.raises(ValueError):
        enc.transform(bad)
    with pytest.raises(MLEValueError, match='"Atlantis".*"city"') as e:
        m.transform(bad)
    assert e.value.status_name == "MLE_ERR_INVALID_CATEGORY"


@pytest.mark.parametrize("missing", [None, np.nan])
@pytest.mark.parametrize("make", [lambda: OneHotEncoder(handle_unknown="ignore"),
                                  lambda: OneHotEncoder(handle_unknown="error"),
                                  lambda: OrdinalEncoder(encoded_missing_value=-5)], ids=["ignore", "error", "ordinal"])
def test_text_with_missing_values(make, missing, tmp_path):
    """None/NaN in a text column is a category of its own (scikit-learn puts
    it last); the binding passes it as mle.missing_text."""
    df = frame()[["city", "age"]].astype({"city": object})
    df.loc[::5, "city"] = missing
    enc = make_pipeline(ColumnTransformer([("c", make(), ["city"])], remainder="passthrough")).fit(df)
    m = parity(enc, df, tmp_path / "e.mle")
    assert json.loads(m.metadata["properties"]["mle.missing_text"])["None"] == "\x00None\x00"
    # scikit-learn keeps None and NaN apart and takes pd.NA as unknown
    t = df.head(4).copy()
    t.loc[t.index[0], "city"] = pd.NA
    t.loc[t.index[1], "city"] = np.nan if missing is None else None
    if enc[0].transformers_[0][1].handle_unknown == "error":
        with pytest.raises(ValueError):
            enc.transform(t)
        with pytest.raises(MLEValueError, match="MLE_ERR_INVALID_CATEGORY"):
            m.transform(t)
    else:
        parity(enc, df, tmp_path / "e.mle", t)


def test_missing_text_unseen_at_fit_is_unknown(tmp_path):
    df = frame()[["city"]].astype(object)
    enc = OneHotEncoder(handle_unknown="ignore").fit(df)
    t = df.head(3).copy()
    t.loc[t.index[1], "city"] = None
    parity(enc, df, tmp_path / "e.mle", t)


@pytest.mark.parametrize("reps", [1, 40])
def test_unpack_round_trips(reps):
    """The binding's unpacking of string outputs (hashed for batches of
    labels) gives back every string exactly: empty ones, NULs, non-ASCII,
    strings that differ only past 8 bytes or by trailing NULs."""
    from mle_runtime._strings import Lookup, pack, unpack

    base = ["a", "", "b\x00", "東京", "a", "ab", "ab\x00", "abcdefgh", "abcdefghi", "été", "Σ", "x" * 64, "x" * 65]
    vals = base * reps
    packed = pack(np.array(vals, dtype=object), "x").tobytes()
    assert unpack(packed, (len(vals),)).tolist() == vals
    like = np.array(sorted(set(vals)), dtype=object)
    got = unpack(packed, (len(vals),), Lookup(like))
    assert got.tolist() == vals
    assert unpack(packed, (len(vals),), Lookup(like[:2])).tolist() == vals  # not all among like: decoded instead
