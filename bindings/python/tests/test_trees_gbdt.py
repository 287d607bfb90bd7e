"""Parity with XGBoost and LightGBM: every wrapper, raw Boosters, their
objectives, NaN and categorical splits, and inputs placed on, just below and
just above every split threshold. Margins and raw scores are compared
exactly; probabilities to float32 (XGBoost) or a few float64 ulps
(LightGBM: its exp is glibc's, the engine's its own); labels exactly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import lightgbm as lgb
import xgboost as xgb

import mle_runtime
from mle_runtime import MLEUnsupportedError

KZERO = float(np.float32(1e-35))  # LightGBM's kZeroThreshold
XGB_TOL = dict(rtol=1e-6, atol=1e-6)
LGB_TOL = dict(rtol=1e-12, atol=1e-12)
XGB = dict(n_estimators=12, max_depth=3, n_jobs=1, random_state=0)
LGB = dict(n_estimators=12, num_leaves=8, min_child_samples=5, n_jobs=1, verbose=-1, random_state=0)
CAT_PROBES = [np.nan, -1.0, -0.5, -1e10, 1e10, 2.0**24, 2.0**24 + 1, 2.0**31, 0.5, 3.7, 8.0, 13.0, 100.0]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def data(n: int = 600, seed: int = 0, cat: bool = False):
    """X (6 columns, NaN in a few; column 1 often exactly 0; with cat,
    column 5 holds integer-coded categories 0..7) and targets."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    X[rng.random(n) < 0.3, 1] = 0.0
    if cat:
        X[:, 5] = rng.integers(0, 8, n)
    X[rng.random((n, 6)) < 0.06] = np.nan
    z = np.nan_to_num(X)
    signal = z[:, 0] + z[:, 1] - 0.5 * z[:, 2] + (np.isin(X[:, 5], [0, 4, 6]) if cat else 0)
    y = {"binary": (signal > 0.2).astype(int),
         "multi": np.digitize(signal + rng.normal(scale=0.3, size=n), [-0.5, 0.6]),
         "regression": signal + rng.normal(scale=0.1, size=n),
         "positive": np.exp(0.4 * signal) + rng.random(n) * 0.1,
         "unit": 1 / (1 + np.exp(-signal)),
         "rank": np.clip(np.round(signal + 1), 0, 3).astype(int)}
    return X, y


def probes(X: np.ndarray, thresholds: list[tuple[int, float]], cats: tuple[int, ...] = (), seed: int = 1):
    """X plus rows equal to random rows of X except for one feature placed
    on a threshold, one float64 or float32 step either side of it, or a
    special value (zeros, LightGBM's near-zero band, NaN, unseen and invalid
    categories)."""
    rng = np.random.default_rng(seed)
    rows = []

    def put(f: int, values: list[float]) -> None:
        for v in values:
            r = X[rng.integers(len(X))].copy()
            r[f] = v
            rows.append(r)

    for f, t in thresholds:
        t32 = np.float32(t)
        put(f, [t, np.nextafter(t, np.inf), np.nextafter(t, -np.inf), float(t32),
                float(np.nextafter(t32, np.float32(np.inf))), float(np.nextafter(t32, np.float32(-np.inf)))])
    for f in range(X.shape[1]):
        if f in cats:
            put(f, CAT_PROBES)
        else:
            put(f, [0.0, -0.0, 1e-36, -1e-36, KZERO, -KZERO, np.nextafter(KZERO, 1), np.nextafter(-KZERO, -1),
                    np.nan])
    return np.vstack([X, np.array(rows)])


def dump_load(model, tmp_path, **kw):
    path = tmp_path / "m.mle"
    mle_runtime.dump(model, path, **kw)
    return mle_runtime.load(path)


def same_labels(got, want):
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want), err_msg="labels differ")


# ---------------------------------------------------------------- XGBoost

def xgb_thresholds(booster) -> list[tuple[int, float]]:
    gb = json.loads(booster.save_raw("json"))["learner"]["gradient_booster"]
    trees = (gb["gbtree"] if gb["name"] == "dart" else gb)["model"]["trees"]
    out = set()
    for t in trees:
        for f, c, left, kind in zip(t["split_indices"], t["split_conditions"], t["left_children"], t["split_type"]):
            if left != -1 and kind == 0:
                out.add((f, float(np.float32(c))))
    return sorted(out)


def check_xgb(est, X, tmp_path, cats=(), **kw):
    Xp = probes(X, xgb_thresholds(est.get_booster()), cats)
    m = dump_load(est, tmp_path, **kw)
    Xr = Xp.astype(kw["dtype"]) if "dtype" in kw else Xp
    if hasattr(est, "predict_proba"):
        same_labels(m.predict(Xr), est.predict(Xp))
        np.testing.assert_array_equal(m.decision_function(Xr), est.predict(Xp, output_margin=True))
        np.testing.assert_allclose(m.predict_proba(Xr), est.predict_proba(Xp), **XGB_TOL)
    else:
        np.testing.assert_allclose(m.predict(Xr), est.predict(Xp), **XGB_TOL)
    return m, Xp


XGB_CLASSIFIERS = {
    "binary": (lambda: xgb.XGBClassifier(**XGB), "binary"),
    "softprob": (lambda: xgb.XGBClassifier(**XGB), "multi"),
    "softmax": (lambda: xgb.XGBClassifier(objective="multi:softmax", **XGB), "multi"),
    "logitraw": (lambda: xgb.XGBClassifier(objective="binary:logitraw", **XGB), "binary"),
    "dart": (lambda: xgb.XGBClassifier(booster="dart", rate_drop=0.3, **XGB), "binary"),
    "dart-multi": (lambda: xgb.XGBClassifier(booster="dart", rate_drop=0.3, **XGB), "multi"),
    "parallel-trees": (lambda: xgb.XGBClassifier(num_parallel_tree=3, **XGB), "multi"),
    "rf": (lambda: xgb.XGBRFClassifier(**XGB), "binary"),
}


@pytest.mark.parametrize("name", XGB_CLASSIFIERS)
def test_xgb_classifier(name, tmp_path):
    make, task = XGB_CLASSIFIERS[name]
    X, y = data()
    check_xgb(make().fit(X, y[task]), X, tmp_path)


XGB_REGRESSORS = {
    "squarederror": (lambda: xgb.XGBRegressor(**XGB), "regression"),
    "absoluteerror": (lambda: xgb.XGBRegressor(objective="reg:absoluteerror", **XGB), "regression"),
    "pseudohuber": (lambda: xgb.XGBRegressor(objective="reg:pseudohubererror", **XGB), "regression"),
    "squaredlog": (lambda: xgb.XGBRegressor(objective="reg:squaredlogerror", **XGB), "positive"),
    "quantiles": (lambda: xgb.XGBRegressor(objective="reg:quantileerror", quantile_alpha=[0.2, 0.8], **XGB),
                  "regression"),
    "logistic": (lambda: xgb.XGBRegressor(objective="reg:logistic", **XGB), "unit"),
    "poisson": (lambda: xgb.XGBRegressor(objective="count:poisson", **XGB), "positive"),
    "gamma": (lambda: xgb.XGBRegressor(objective="reg:gamma", **XGB), "positive"),
    "tweedie": (lambda: xgb.XGBRegressor(objective="reg:tweedie", **XGB), "positive"),
    "dart": (lambda: xgb.XGBRegressor(booster="dart", rate_drop=0.3, **XGB), "regression"),
    "rf": (lambda: xgb.XGBRFRegressor(**XGB), "regression"),
    "ranker-ndcg": (lambda: xgb.XGBRanker(objective="rank:ndcg", **XGB), "rank"),
    "ranker-pairwise": (lambda: xgb.XGBRanker(objective="rank:pairwise", **XGB), "rank"),
    "ranker-map": (lambda: xgb.XGBRanker(objective="rank:map", **XGB), "rank"),
}


@pytest.mark.parametrize("name", XGB_REGRESSORS)
def test_xgb_regressor(name, tmp_path):
    make, task = XGB_REGRESSORS[name]
    X, y = data()
    target = (y[task] > 1).astype(int) if name == "ranker-map" else y[task]  # MAP needs binary relevance
    kw = {"qid": np.repeat(np.arange(6), 100)} if task == "rank" else {}
    check_xgb(make().fit(X, target, **kw), X, tmp_path)


def test_xgb_multi_target_regressor(tmp_path):
    X, y = data()
    Y = np.column_stack([y["regression"], y["unit"]])
    m, Xp = check_xgb(xgb.XGBRegressor(**XGB).fit(X, Y), X, tmp_path)
    assert m.predict(Xp).shape == (len(Xp), 2)


def test_xgb_float32_model_and_dataframe(tmp_path):
    X, y = data()
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    est = xgb.XGBClassifier(**XGB).fit(df, y["multi"])
    check_xgb(est, X, tmp_path, dtype=np.float32)
    m = dump_load(est, tmp_path)
    assert m.feature_names_in_ == list(df.columns)
    same_labels(m.predict(df), est.predict(df))


def test_xgb_categorical_sklearn(tmp_path):
    X, y = data(cat=True)
    ft = ["q"] * 5 + ["c"]
    est = xgb.XGBClassifier(enable_categorical=True, feature_types=ft, max_cat_to_onehot=1, **XGB)
    check_xgb(est.fit(X, y["binary"]), X, tmp_path, cats=(5,))


@pytest.mark.parametrize("objective", ["binary:logistic", "multi:softprob", "multi:softmax", "reg:squarederror",
                                       "count:poisson", "rank:ndcg", "survival:cox"])
def test_xgb_booster(objective, tmp_path):
    """A raw Booster (categorical splits included): predict is
    Booster.predict, decision_function its output_margin."""
    X, y = data(cat=True)
    task = {"binary:logistic": "binary", "multi:softprob": "multi", "multi:softmax": "multi",
            "count:poisson": "positive", "rank:ndcg": "rank"}.get(objective, "regression")
    ft = ["q"] * 5 + ["c"]
    dtrain = xgb.DMatrix(X, y[task], feature_types=ft, enable_categorical=True)
    params = {"objective": objective, "max_depth": 3, "nthread": 1, "max_cat_to_onehot": 1}
    if task == "multi":
        params["num_class"] = 3
    if task == "rank":
        dtrain.set_group([100] * 6)
    booster = xgb.train(params, dtrain, 10)
    Xp = probes(X, xgb_thresholds(booster), cats=(5,))
    dp = xgb.DMatrix(Xp, feature_types=ft, enable_categorical=True)
    m = dump_load(booster, tmp_path)
    np.testing.assert_array_equal(m.decision_function(Xp), booster.predict(dp, output_margin=True))
    np.testing.assert_allclose(m.predict(Xp), booster.predict(dp), **XGB_TOL)


def test_xgb_survival_aft_booster(tmp_path):
    X, y = data()
    dtrain = xgb.DMatrix(X)
    dtrain.set_float_info("label_lower_bound", y["positive"])
    dtrain.set_float_info("label_upper_bound", np.where(np.arange(len(X)) % 3 == 0, np.inf, y["positive"]))
    booster = xgb.train({"objective": "survival:aft", "max_depth": 3, "nthread": 1}, dtrain, 10)
    m = dump_load(booster, tmp_path)
    np.testing.assert_array_equal(m.decision_function(X), booster.predict(xgb.DMatrix(X), output_margin=True))
    np.testing.assert_allclose(m.predict(X), booster.predict(xgb.DMatrix(X)), **XGB_TOL)


def test_xgb_early_stopping(tmp_path):
    """The wrapper predicts with rounds up to best_iteration, a raw Booster
    with all of them."""
    X, y = data()
    est = xgb.XGBClassifier(early_stopping_rounds=2, **dict(XGB, n_estimators=40, learning_rate=1.0))
    est.fit(X[:400], y["multi"][:400], eval_set=[(X[400:], y["multi"][400:])], verbose=False)
    assert est.best_iteration < est.get_booster().num_boosted_rounds() - 1
    check_xgb(est, X, tmp_path)
    booster = est.get_booster()
    m = dump_load(booster, tmp_path)
    np.testing.assert_array_equal(m.decision_function(X), booster.predict(xgb.DMatrix(X), output_margin=True))


def test_xgb_label_cut_near_zero_margin(tmp_path):
    """XGBClassifier predicts 1 where its float32 probability is > 0.5,
    which margins in (0, ~8.9e-8] are not: a one-leaf model with its leaf
    set to margins around that cut."""
    X, y = data(n=100)
    est = xgb.XGBClassifier(n_estimators=1, max_depth=1, base_score=0.5, n_jobs=1).fit(X, y["binary"])
    doc = json.loads(est.get_booster().save_raw("json"))
    tree = doc["learner"]["gradient_booster"]["model"]["trees"][0]
    seen = set()
    for v in np.float32([0, 1e-8, 8.9e-8, 8.940696e-08, 8.9406974e-08, 9e-8, 1.2e-7, -1e-8]):
        for up in (np.nextafter(v, np.float32(1)), v):
            tree["split_conditions"] = [float(up) if l == -1 else s
                                        for s, l in zip(tree["split_conditions"], tree["left_children"])]
            clf = xgb.XGBClassifier()
            clf.load_model(bytearray(json.dumps(doc).encode()))
            want = clf.predict(X[:1])
            seen.add(int(want[0]))
            same_labels(dump_load(clf, tmp_path).predict(X[:1]), want)
    assert seen == {0, 1}


@pytest.mark.parametrize("make,tol", [(lambda: xgb.XGBClassifier(**XGB), XGB_TOL),
                                      (lambda: lgb.LGBMClassifier(**LGB), LGB_TOL)], ids=["xgboost", "lightgbm"])
def test_pipeline(make, tol, tmp_path):
    X, y = data()
    X = np.nan_to_num(X)
    pipe = make_pipeline(StandardScaler(), make()).fit(X, y["multi"])
    m = dump_load(pipe, tmp_path)
    same_labels(m.predict(X), pipe.predict(X))
    np.testing.assert_allclose(m.predict_proba(X), pipe.predict_proba(X), **tol)


def _custom_objective(y_true, y_pred):
    return y_pred - y_true, np.ones_like(y_pred)


@pytest.mark.parametrize("make,task,reason", [
    (lambda: xgb.XGBClassifier(booster="gblinear", n_estimators=3), "multi", "gblinear"),
    (lambda: xgb.XGBClassifier(multi_strategy="multi_output_tree", tree_method="hist", n_estimators=3), "multi",
     "vector-leaf"),
    (lambda: xgb.XGBRegressor(objective=_custom_objective, n_estimators=3), "regression", "custom objective"),
    (lambda: xgb.XGBClassifier(missing=0.0, n_estimators=3), "binary", "missing=0.0"),
    (lambda: xgb.XGBClassifier(objective="binary:hinge", n_estimators=3), "binary", "binary:hinge"),
])
def test_xgb_unsupported(make, task, reason, tmp_path):
    X, y = data(n=200)
    est = make().fit(X, y[task])
    with pytest.raises(MLEUnsupportedError, match=reason):
        mle_runtime.dump(est, tmp_path / "m.mle")


# ---------------------------------------------------------------- LightGBM

def lgb_thresholds(booster) -> list[tuple[int, float]]:
    out = set()
    tree = {}
    for line in booster.model_to_string().splitlines():
        if line.startswith(("Tree=", "end of trees")) and "threshold" in tree:
            for f, t, d in zip(*(tree[k].split(" ") for k in ("split_feature", "threshold", "decision_type"))):
                if int(d) & 1 == 0:
                    out.add((int(f), float(t)))
            tree = {}
        key, _, value = line.partition("=")
        tree[key] = value
    return sorted(out)


def check_lgb(est, X, tmp_path, cats=()):
    Xp = probes(X, lgb_thresholds(est.booster_), cats)
    m = dump_load(est, tmp_path)
    if hasattr(est, "predict_proba"):
        same_labels(m.predict(Xp), est.predict(Xp))
        np.testing.assert_array_equal(m.decision_function(Xp), est.predict(Xp, raw_score=True))
        np.testing.assert_allclose(m.predict_proba(Xp), est.predict_proba(Xp), **LGB_TOL)
    else:
        np.testing.assert_allclose(m.predict(Xp), est.predict(Xp), **LGB_TOL)
    return m


RF = dict(boosting_type="rf", subsample=0.7, subsample_freq=1)
LGB_CLASSIFIERS = {
    "binary": (lambda: lgb.LGBMClassifier(**LGB), "binary"),
    "binary-sigmoid": (lambda: lgb.LGBMClassifier(sigmoid=0.7, **LGB), "binary"),
    "multiclass": (lambda: lgb.LGBMClassifier(**LGB), "multi"),
    "multiclassova": (lambda: lgb.LGBMClassifier(objective="multiclassova", **LGB), "multi"),
    "cross-entropy": (lambda: lgb.LGBMClassifier(objective="cross_entropy", **LGB), "binary"),
    "zero-as-missing": (lambda: lgb.LGBMClassifier(zero_as_missing=True, **LGB), "multi"),
    "no-missing": (lambda: lgb.LGBMClassifier(use_missing=False, **LGB), "binary"),
    "rf-binary": (lambda: lgb.LGBMClassifier(**RF, **LGB), "binary"),
    "rf-multiclass": (lambda: lgb.LGBMClassifier(**RF, **LGB), "multi"),
}


@pytest.mark.parametrize("labels", ["int", "str"])
@pytest.mark.parametrize("name", LGB_CLASSIFIERS)
def test_lgbm_classifier(name, labels, tmp_path):
    make, task = LGB_CLASSIFIERS[name]
    X, y = data(cat=True)
    target = y[task] if labels == "int" else np.array(["ant", "bee", "cat"])[y[task]]
    est = make().fit(X, target, categorical_feature=[5])
    m = check_lgb(est, X, tmp_path, cats=(5,))
    assert list(m.classes_) == list(est.classes_)


LGB_REGRESSORS = {
    "regression": (lambda: lgb.LGBMRegressor(**LGB), "regression"),
    "l1": (lambda: lgb.LGBMRegressor(objective="regression_l1", **LGB), "regression"),
    "huber": (lambda: lgb.LGBMRegressor(objective="huber", **LGB), "regression"),
    "quantile": (lambda: lgb.LGBMRegressor(objective="quantile", alpha=0.8, **LGB), "regression"),
    "poisson": (lambda: lgb.LGBMRegressor(objective="poisson", **LGB), "positive"),
    "gamma": (lambda: lgb.LGBMRegressor(objective="gamma", **LGB), "positive"),
    "tweedie": (lambda: lgb.LGBMRegressor(objective="tweedie", **LGB), "positive"),
    "zero-as-missing": (lambda: lgb.LGBMRegressor(zero_as_missing=True, **LGB), "regression"),
    "no-missing": (lambda: lgb.LGBMRegressor(use_missing=False, **LGB), "regression"),
    "rf": (lambda: lgb.LGBMRegressor(**RF, **LGB), "regression"),
    "rf-poisson": (lambda: lgb.LGBMRegressor(objective="poisson", **RF, **LGB), "positive"),
    "lambdarank": (lambda: lgb.LGBMRanker(**LGB), "rank"),
    "rank-xendcg": (lambda: lgb.LGBMRanker(objective="rank_xendcg", **LGB), "rank"),
}


@pytest.mark.parametrize("name", LGB_REGRESSORS)
def test_lgbm_regressor(name, tmp_path):
    make, task = LGB_REGRESSORS[name]
    X, y = data(cat=True)
    kw = {"group": [100] * 6} if task == "rank" else {}
    est = make().fit(X, y[task], categorical_feature=[5], **kw)
    check_lgb(est, X, tmp_path, cats=(5,))


@pytest.mark.parametrize("params,task", [
    ({"objective": "binary"}, "binary"), ({"objective": "multiclass", "num_class": 3}, "multi"),
    ({"objective": "regression"}, "regression"), ({"objective": "poisson"}, "positive"),
    ({"objective": "multiclass", "num_class": 3, **RF}, "multi"),
])
def test_lgbm_booster(params, task, tmp_path):
    X, y = data(cat=True)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    params = {**params, "num_leaves": 8, "min_data_in_leaf": 5, "verbose": -1, "num_threads": 1}
    booster = lgb.train(params, lgb.Dataset(df, y[task], categorical_feature=[5]), num_boost_round=10)
    Xp = probes(X, lgb_thresholds(booster), cats=(5,))
    m = dump_load(booster, tmp_path)
    assert m.feature_names_in_ == list(df.columns)
    np.testing.assert_array_equal(m.decision_function(Xp), booster.predict(Xp, raw_score=True))
    np.testing.assert_allclose(m.predict(Xp), booster.predict(Xp), **LGB_TOL)


def test_lgbm_early_stopping(tmp_path):
    """predict stops at best_iteration (the wrapper's booster_ keeps only
    those rounds; a Booster kept for training has more)."""
    X, y = data(cat=True)
    est = lgb.LGBMClassifier(**dict(LGB, n_estimators=50, learning_rate=0.5))
    est.fit(X[:400], y["multi"][:400], eval_set=[(X[400:], y["multi"][400:])],
            callbacks=[lgb.early_stopping(2, verbose=False)])
    check_lgb(est, X, tmp_path)
    params = {"objective": "multiclass", "num_class": 3, "learning_rate": 0.5, "verbose": -1, "num_threads": 1}
    booster = lgb.train(params, lgb.Dataset(X[:400], y["multi"][:400]), 50,
                        valid_sets=[lgb.Dataset(X[400:], y["multi"][400:])],
                        callbacks=[lgb.early_stopping(2, verbose=False)], keep_training_booster=True)
    assert 0 < booster.best_iteration < booster.current_iteration()
    m = dump_load(booster, tmp_path)
    np.testing.assert_array_equal(m.decision_function(X), booster.predict(X, raw_score=True))
    np.testing.assert_allclose(m.predict(X), booster.predict(X), **LGB_TOL)


def _lgb_custom_objective(y_true, y_pred):
    return y_pred - y_true, np.ones_like(y_pred)


@pytest.mark.parametrize("make,reason", [
    (lambda: lgb.LGBMRegressor(linear_tree=True, **LGB), "linear_tree"),
    (lambda: lgb.LGBMRegressor(objective=_lgb_custom_objective, **LGB), "custom objective"),
    (lambda: lgb.LGBMRegressor(reg_sqrt=True, **LGB), "reg_sqrt"),
    (lambda: lgb.LGBMRegressor(objective="cross_entropy_lambda", **LGB), "cross_entropy_lambda"),
])
def test_lgbm_unsupported(make, reason, tmp_path):
    X, y = data(n=200)
    est = make().fit(np.nan_to_num(X), y["unit"])
    with pytest.raises(MLEUnsupportedError, match=reason):
        mle_runtime.dump(est, tmp_path / "m.mle")


@pytest.mark.parametrize("make", [lambda: lgb.LGBMRegressor(**LGB),
                                  lambda: xgb.XGBRegressor(enable_categorical=True, **XGB)],
                         ids=["lightgbm", "xgboost"])
def test_pandas_categorical_unsupported(make, tmp_path):
    """Models that map pandas category values to codes themselves."""
    X, y = data(n=200)
    df = pd.DataFrame({"a": X[:, 0], "c": pd.Categorical(np.where(y["binary"] == 1, "yes", "no"))})
    est = make().fit(df, y["regression"])
    with pytest.raises(MLEUnsupportedError, match="pandas"):
        mle_runtime.dump(est, tmp_path / "m.mle")


# ------------------------------------------------------------ no library

def test_runs_and_imports_without_xgboost_or_lightgbm(tmp_path):
    """Exporter modules import, and exported models run, with xgboost and
    lightgbm unimportable."""
    X, y = data()
    clf = xgb.XGBClassifier(**XGB).fit(X, y["binary"])
    reg = lgb.LGBMRegressor(**LGB).fit(X, y["regression"])
    mle_runtime.dump(clf, tmp_path / "x.mle")
    mle_runtime.dump(reg, tmp_path / "l.mle")
    np.save(tmp_path / "X.npy", X)
    code = f"""
import sys
sys.modules["xgboost"] = sys.modules["lightgbm"] = None  # import fails
import numpy as np, mle_runtime
from mle_runtime.export import lgbm, xgb
X = np.load("X.npy")
np.save("x.npy", mle_runtime.load("x.mle").predict(X))
np.save("l.npy", mle_runtime.load("l.mle").predict(X))
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(mle_runtime.__file__).parent.parent),
                                                        os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, check=True)
    same_labels(np.load(tmp_path / "x.npy"), clf.predict(X))
    np.testing.assert_allclose(np.load(tmp_path / "l.npy"), reg.predict(X), **LGB_TOL)
