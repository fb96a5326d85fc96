"""One conformance suite for every tsrnn estimator.

``check_estimator(est)`` runs every check that applies to the estimator's kind (forecaster, detector,
transformer, classifier) and raises ``AssertionError`` naming the first check that fails. ``yield_checks(est)``
gives ``(name, check)`` pairs for ``pytest.mark.parametrize``.

Estimators may define a class method ``_test_params()`` returning cheap constructor arguments (few epochs, small
networks); otherwise a few well-known arguments are set small when the estimator has them.
"""

from __future__ import annotations

import copy
import inspect
import io
import pickle
import types
import weakref
from collections.abc import Callable, Iterator

import joblib
import numpy as np
import pandas as pd
from sklearn.base import ClassifierMixin, clone
from sklearn.exceptions import NotFittedError

from ..base import BaseDetector, BaseForecaster, BaseTransformer

__all__ = ["check_estimator", "yield_checks", "test_instance"]

_CHEAP = {"max_epochs": 2, "n_init": 1, "hidden_size": 8, "n_iter": 10, "window": 14}


def test_instance(Est) -> object:
    """A cheap instance of the estimator class ``Est`` for the checks."""
    if hasattr(Est, "_test_params"):
        return Est(**Est._test_params())
    params = Est().get_params(deep=False)
    kw = {k: v for k, v in _CHEAP.items() if k in params}
    if "random_state" in params:
        kw["random_state"] = 0
    return Est(**kw)


test_instance.__test__ = False  # not a pytest test


def _series(n=120, seed=0, shift=0.0):
    r = np.random.default_rng(seed)
    idx = pd.date_range("2021-03-01", periods=n, freq="D")
    t = np.arange(n)
    return pd.Series(100 + shift + 0.05 * t + 10 * np.sin(2 * np.pi * t / 7) + r.normal(0, 1, n), index=idx, name="y")


def _panel():
    parts = [_series(n, seed=i, shift=5 * i) for i, n in enumerate((120, 104, 111))]
    return pd.concat(
        [pd.DataFrame({"unique_id": f"s{i}", "ds": s.index, "y": s.values}) for i, s in enumerate(parts)],
        ignore_index=True,
    )


def _roundtrip(obj):
    buf = io.BytesIO()
    joblib.dump(obj, buf)
    buf.seek(0)
    return joblib.load(buf)


# ---------------------------------------------------------------------------------------------- common


def check_init_stores_params(est):
    """``__init__`` stores each argument untouched under its own name; get/set_params and clone round-trip."""
    Est = type(est)
    sig = inspect.signature(Est.__init__) if Est.__init__ is not object.__init__ else inspect.Signature()
    names = [p for p in sig.parameters if p != "self"]
    for p in sig.parameters.values():
        assert p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD), f"{Est.__name__}.__init__ takes *args/**kwargs"
    default = Est()
    params = default.get_params(deep=False)
    assert sorted(params) == sorted(names), f"{Est.__name__}: get_params {sorted(params)} != __init__ args {names}"
    for name in names:
        d = sig.parameters[name].default
        assert params[name] is d or (isinstance(d, (int, float, str, type(None))) and params[name] == d), (
            f"{Est.__name__}.__init__ changed argument {name!r}: {params[name]!r} != default {d!r}")
    c = clone(est)
    for k, v in est.get_params(deep=False).items():
        cv = c.get_params(deep=False)[k]
        assert type(cv) is type(v), f"{Est.__name__}: clone changed the type of {k!r}"
    est2 = clone(est).set_params(**est.get_params(deep=False))
    assert est2.get_params(deep=False).keys() == est.get_params(deep=False).keys()


def check_not_fitted(est):
    """Using an unfitted estimator raises ``NotFittedError``."""
    e = clone(est)
    try:
        if isinstance(e, BaseForecaster):
            e.predict(3)
        elif isinstance(e, BaseDetector):
            e.decision_function(_series())
        elif isinstance(e, ClassifierMixin):
            e.predict(np.zeros((2, 10)))
        else:
            e.transform(np.zeros((2, 16)))
    except NotFittedError:
        return
    raise AssertionError(f"{type(est).__name__}: no NotFittedError before fit")


def _first_difference(a, b, path="") -> str | None:
    """Where two object graphs differ (a path such as ``.states_[0]['coef']``), or None when deeply equal.

    Arrays compare with NaNs equal; pandas objects with ``equals``; torch tensors by their values;
    other objects through their ``__dict__`` (or ``==`` when they have none).
    """
    if type(a) is not type(b):
        return f"{path} (type {type(a).__name__} -> {type(b).__name__})"
    if isinstance(a, dict):
        if set(a) != set(b):
            return f"{path} (keys {sorted(map(str, set(a) ^ set(b)))} added or removed)"
        return next((d for k in a if (d := _first_difference(a[k], b[k], f"{path}[{k!r}]"))), None)
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            return f"{path} (length {len(a)} -> {len(b)})"
        return next((d for i, (x, y) in enumerate(zip(a, b)) if (d := _first_difference(x, y, f"{path}[{i}]"))), None)
    if isinstance(a, np.ndarray):
        same = a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        return None if same else path
    if isinstance(a, (pd.DataFrame, pd.Series, pd.Index)):
        return None if a.equals(b) else path
    if hasattr(a, "detach") and hasattr(a, "cpu"):  # a torch tensor or parameter (modules go through __dict__)
        return _first_difference(a.detach().cpu().numpy(), b.detach().cpu().numpy(), path)
    if hasattr(a, "__dict__") and not isinstance(a, (type, types.FunctionType, types.MethodType)):
        return _first_difference(vars(a), vars(b), path + ".")
    if isinstance(a, weakref.ReferenceType):  # caches of the object graph itself (torch's flat weights)
        return None
    if type(a).__eq__ is object.__eq__:  # an opaque extension object (statsmodels' Cython state): by its pickle
        try:
            return None if pickle.dumps(a) == pickle.dumps(b) else path
        except (TypeError, pickle.PicklingError, AttributeError):
            return None  # neither comparable nor picklable: nothing to inspect
    try:
        return None if bool(a == b) or (a != a and b != b) else path
    except (TypeError, ValueError, RuntimeError):
        return None if a is b else path


def _assert_dict_unchanged(e, call, what):
    before = copy.deepcopy(e.__dict__)
    call()
    diff = _first_difference(before, e.__dict__)
    assert diff is None, f"{type(e).__name__}.{what} changed fitted state at {diff.lstrip('.')}"


def check_dict_unchanged(est):
    """``predict`` (and the other read-only methods) leave ``__dict__`` deeply unchanged, also with ``level=``.

    As scikit-learn's ``check_dict_unchanged``: a deep copy of ``__dict__`` taken before the call is compared
    after it, array by array, so a lazily computed attribute or a rewritten buffer shows up by name.
    """
    e = clone(est)
    if isinstance(e, BaseForecaster):
        e.fit(_series())
        _assert_dict_unchanged(e, lambda: e.predict(7), "predict")
        _assert_dict_unchanged(e, lambda: e.predict(7, level=[80, 95]), "predict(level=)")
        e = clone(est).fit(_panel())
        _assert_dict_unchanged(e, lambda: e.predict(5, level=[90]), "predict on a panel")
    elif isinstance(e, BaseDetector):
        y = _series()
        e.fit(y)
        _assert_dict_unchanged(e, lambda: e.decision_function(y), "decision_function")
        _assert_dict_unchanged(e, lambda: e.predict(y), "predict")
    elif isinstance(e, ClassifierMixin):
        X, target = _classification_data(e)
        e.fit(X, target)
        _assert_dict_unchanged(e, lambda: e.predict(X), "predict")
        _assert_dict_unchanged(e, lambda: e.predict_proba(X), "predict_proba")
    else:
        X = np.random.default_rng(0).normal(size=(6, 64))
        e.fit(X)
        _assert_dict_unchanged(e, lambda: e.transform(X), "transform")


# ---------------------------------------------------------------------------------------------- forecasters


def check_fit_returns_self(est):
    e = clone(est)
    assert e.fit(_series()) is e, f"{type(est).__name__}.fit does not return self"


def check_series_output(est):
    """A Series in gives a Series of ``h`` values indexed by the next ``h`` stamps; finite."""
    y = _series()
    f = clone(est).fit(y).predict(7)
    assert isinstance(f, pd.Series), f"{type(est).__name__}: predict on a Series returned {type(f).__name__}"
    expected = pd.date_range(y.index[-1] + pd.Timedelta(days=1), periods=7, freq="D")
    assert f.index.equals(expected), f"{type(est).__name__}: forecast index {f.index[:2]} != {expected[:2]}"
    assert np.isfinite(f.to_numpy()).all(), f"{type(est).__name__}: non-finite forecasts"


def check_intervals_nested(est):
    """``level`` adds lo/hi columns; 80 % intervals lie inside 95 % ones and contain the point forecast."""
    name = est.name
    f = clone(est).fit(_series()).predict(7, level=[80, 95])
    assert isinstance(f, pd.DataFrame), f"{type(est).__name__}: predict with level should return a DataFrame"
    cols = [name, f"{name}-lo-80", f"{name}-hi-80", f"{name}-lo-95", f"{name}-hi-95"]
    assert list(f.columns) == cols, f"{type(est).__name__}: columns {list(f.columns)} != {cols}"
    m, lo80, hi80, lo95, hi95 = (f[c].to_numpy() for c in cols)
    tol = 1e-8 * (1 + np.abs(m))
    assert (lo95 <= lo80 + tol).all() and (hi80 <= hi95 + tol).all(), f"{type(est).__name__}: 80 % not inside 95 %"
    assert (lo80 <= m + tol).all() and (m <= hi80 + tol).all(), f"{type(est).__name__}: point outside its interval"


def check_panel_output(est):
    """A long frame in gives a long frame ``unique_id, ds, <name>`` with ``h`` rows per series."""
    panel = _panel()
    out = clone(est).fit(panel).predict(5)
    assert isinstance(out, pd.DataFrame), f"{type(est).__name__}: panel predict returned {type(out).__name__}"
    assert list(out.columns[:3]) == ["unique_id", "ds", est.name], list(out.columns)
    assert len(out) == 15 and (out.groupby("unique_id").size() == 5).all()
    last = panel.groupby("unique_id")["ds"].max()
    first = out.groupby("unique_id")["ds"].min()
    assert ((first - last) == pd.Timedelta(days=1)).all(), f"{type(est).__name__}: panel forecasts misaligned"


def check_panel_equals_series(est):
    """Local models: forecasting a panel equals forecasting each series alone."""
    if est._is_global:
        return
    panel = _panel()
    out = clone(est).fit(panel).predict(5)
    for uid, g in panel.groupby("unique_id", sort=False):
        alone = clone(est).fit(pd.Series(g["y"].to_numpy(), index=pd.DatetimeIndex(g["ds"]))).predict(5)
        got = out.loc[out["unique_id"] == uid, est.name].to_numpy()
        np.testing.assert_allclose(got, alone.to_numpy(), rtol=1e-6, atol=1e-8,
                                   err_msg=f"{type(est).__name__}: panel forecast of {uid} differs from alone")


def check_deterministic(est):
    """The same ``random_state`` (or none needed) gives the same forecasts twice."""
    y = _series()
    a = clone(est).fit(y).predict(7).to_numpy()
    b = clone(est).fit(y).predict(7).to_numpy()
    np.testing.assert_array_equal(a, b, err_msg=f"{type(est).__name__}: two fits gave different forecasts")


def check_persistence(est):
    """A fitted estimator round-trips through joblib and predicts the same numbers."""
    e = clone(est).fit(_series())
    a = e.predict(7).to_numpy()
    b = _roundtrip(e).predict(7).to_numpy()
    np.testing.assert_array_equal(a, b, err_msg=f"{type(est).__name__}: forecasts changed after joblib round trip")


def check_bad_input(est):
    """NaN in y and h < 1 raise ValueError naming the problem."""
    y = _series().copy()
    y.iloc[10] = np.nan
    try:
        clone(est).fit(y)
    except ValueError as e:
        assert "NaN" in str(e) and "series" in str(e), f"{type(est).__name__}: unclear NaN error: {e}"
    else:
        raise AssertionError(f"{type(est).__name__}: NaN in y was accepted")
    e = clone(est).fit(_series())
    try:
        e.predict(0)
    except ValueError as err:
        assert "h" in str(err)
    else:
        raise AssertionError(f"{type(est).__name__}: h=0 was accepted")


def check_update(est):
    """``update`` with new observations moves the forecast origin to the new end."""
    y = _series()
    e = clone(est).fit(y.iloc[:-7]).update(y.iloc[-7:])
    f = e.predict(3)
    assert f.index[0] == y.index[-1] + pd.Timedelta(days=1), f"{type(est).__name__}: update did not move the origin"
    assert np.isfinite(f.to_numpy()).all()


# ---------------------------------------------------------------------------------------------- detectors


def check_detector_output(est):
    y = _series()
    e = clone(est)
    assert e.fit(y) is e
    s = e.decision_function(y)
    p = e.predict(y)
    assert isinstance(s, pd.Series) and len(s) == len(y) and s.index.equals(y.index)
    assert np.isfinite(s.to_numpy()).all(), f"{type(est).__name__}: non-finite scores"
    assert set(np.unique(p.to_numpy())) <= {0, 1}
    np.testing.assert_array_equal(_roundtrip(e).decision_function(y).to_numpy(), s.to_numpy())


# ---------------------------------------------------------------------------------------------- transformers


def check_transformer_output(est):
    X = np.random.default_rng(0).normal(size=(6, 64))
    e = clone(est)
    out = np.asarray(e.fit(X).transform(X))
    assert out.ndim == 2 and out.shape[0] == 6, f"{type(est).__name__}: transform shape {out.shape}"
    assert np.isfinite(out).all()
    np.testing.assert_allclose(np.asarray(_roundtrip(e).transform(X)), out)


# ---------------------------------------------------------------------------------------------- classifiers


def _classification_data(est):
    """24 windows of length 20 in two classes (per step for taggers)."""
    r = np.random.default_rng(0)
    X = r.normal(size=(24, 20))
    y = np.repeat(["a", "b"], 12)
    X[y == "b"] += 1.5
    return X, (np.repeat(y[:, None], 20, axis=1) if getattr(est, "_per_step", False) else y)


def check_classifier_output(est):
    """classes_, predict_proba rows summing to 1, labels from classes_, joblib round trip.

    Taggers (``_per_step = True``) label every step: ``y`` and ``predict`` are ``(n, length)``, ``predict_proba``
    is ``(n, length, n_classes)``.
    """
    X, target = _classification_data(est)
    per_step = getattr(est, "_per_step", False)
    e = clone(est).fit(X, target)
    assert list(e.classes_) == ["a", "b"]
    proba = e.predict_proba(X)
    expected = (24, 20, 2) if per_step else (24, 2)
    assert proba.shape == expected and np.allclose(proba.sum(axis=-1), 1), proba.shape
    pred = e.predict(X)
    assert pred.shape == target.shape and set(np.unique(pred)) <= {"a", "b"}
    np.testing.assert_allclose(_roundtrip(e).predict_proba(X), proba, rtol=1e-6)


# ---------------------------------------------------------------------------------------------- driver


def yield_checks(est) -> Iterator[tuple[str, Callable]]:
    """``(name, check)`` for every check that applies to ``est``; call as ``check(est)``."""
    common = [check_init_stores_params, check_not_fitted, check_dict_unchanged]
    if isinstance(est, BaseForecaster):
        specific = [check_fit_returns_self, check_series_output, check_intervals_nested, check_panel_output,
                    check_panel_equals_series, check_deterministic, check_persistence, check_bad_input, check_update]
    elif isinstance(est, BaseDetector):
        specific = [check_detector_output]
    elif isinstance(est, ClassifierMixin):
        specific = [check_classifier_output]
    elif isinstance(est, BaseTransformer):
        specific = [check_transformer_output]
    else:
        raise TypeError(f"{type(est).__name__} is not a tsrnn estimator")
    for chk in common + specific:
        yield chk.__name__, chk


def check_estimator(est) -> list[str]:
    """Run every applicable check; raise ``AssertionError`` naming the first failure. Returns the checks run."""
    ran = []
    for name, chk in yield_checks(est):
        try:
            chk(est)
        except AssertionError as e:
            raise AssertionError(f"{type(est).__name__} fails {name}: {e}") from e
        ran.append(name)
    return ran
