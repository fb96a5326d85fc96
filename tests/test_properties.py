"""Property tests (hypothesis) over validation, metrics, the backtest and every estimator family.

Generated inputs: random lengths and frequencies (daily, hourly, 15-minute, weekly, monthly, integer stamps, bare
arrays), NaN / +inf / -inf at random positions, constant series, magnitudes from 1e-8 to 1e9, tz-aware stamps across
the March 2021 DST change in Europe/Berlin, integer and float32 values, single series and two-series panels.

Property (the contract of ARCHITECTURE.md): every estimator either returns finite output of the right shape, or
raises ``ValueError`` / ``TypeError`` raised by tsrnn itself (the innermost frame of the traceback is in the
``tsrnn`` package; scikit-learn's ``check_array`` counts for window transformers and classifiers) that names the
series when the input was a panel with a bad value. Never a raw error from numpy / statsmodels / torch / hmmlearn,
never a NaN forecast, never a silently accepted NaN.

Each family test records every outcome instead of stopping at the first bad one, so that one run lists every
estimator that breaks; the test then fails if any outcome was unexpected. Counts per family (inputs tried, fitted,
rejected with a clear error) are printed at the end of the module and written as JSON to the file named by
``TSRNN_PROPERTY_COUNTS`` (``benchmarks/property_counts.py`` turns them into ``benchmarks/results/property_tests.md``).
``TSRNN_PROPERTY_SCALE`` multiplies every ``max_examples`` (default 1).
"""

from __future__ import annotations

import json
import os
import re
import time
import traceback
import warnings
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone

import tsrnn
from tsrnn import metrics as M
from tsrnn._validation import to_panel
from tsrnn.utils.estimator_checks import test_instance

_TSRNN_DIR = str(Path(tsrnn.__file__).resolve().parent)
_SCALE = float(os.environ.get("TSRNN_PROPERTY_SCALE", "1"))

COUNTS: dict[str, Counter] = defaultdict(Counter)
FAILURES: dict[str, list] = defaultdict(list)
PER_ESTIMATOR: dict[str, Counter] = defaultdict(Counter)
REASONS: dict[str, Counter] = defaultdict(Counter)  # why finite inputs were rejected, per estimator

# Bugs found by these tests in files owned by others, reported with a reproducer and a suggested fix; an entry
# turns the matching failure into a counted "known" outcome. Remove an entry once the fix lands.
KNOWN: dict[str, str] = {}


def _tz_calendar(spec, why):  # fixed: calendar stamps are now built in local time
    return False


# the same, for failures that depend on the input rather than the estimator
KNOWN_INPUTS: list = [
    (lambda spec, why: bool(why) and "no candidate model could be fitted" in why,
     "ETS refuses some valid finite series ('no candidate model could be fitted'): reported by issue 20's helper"),
]

# Forecasters may refuse finite input only for these reasons (the input cannot support the model or its
# settings); any other refusal of a finite input, or a non-finite forecast caught by the base, fails the test.
ALLOWED_REFUSALS = re.compile(
    r"too short|needs at least|too few|no series is long enough|no frequency can be inferred|irregular time stamps"
    r"|time stamps are irregular|negative values|calibration scores cannot give"
)


def _settings(n: int):
    return settings(max_examples=max(1, int(n * _SCALE)), deadline=None, database=None, derandomize=True,
                    suppress_health_check=list(HealthCheck), print_blob=False)


# ------------------------------------------------------------------------------------------------- inputs

FREQS = ["D", "h", "15min", "W-SUN", "MS", "ME", "int", "array"]


@st.composite
def series_specs(draw, min_n=1, max_n=60, allow_bad=True, allow_panel=True):
    n = draw(st.integers(min_n, max_n))
    return {
        "n": n,
        "freq": draw(st.sampled_from(FREQS)),
        "tz": draw(st.sampled_from([None, "Europe/Berlin"])),
        "log_scale": draw(st.floats(-8, 9)),
        "kind": draw(st.sampled_from(["walk", "seasonal", "constant", "trend"])),
        "dtype": draw(st.sampled_from(["float64", "float32", "int64"])),
        "bad": draw(st.sampled_from([None, None, None, "nan", "inf", "-inf"])) if allow_bad else None,
        "bad_pos": draw(st.floats(0, 1)),
        "panel": draw(st.booleans()) if allow_panel else False,
        "seed": draw(st.integers(0, 2**16)),
    }


def _values(spec, n, seed):
    r = np.random.default_rng(seed)
    t = np.arange(n)
    kind = spec["kind"]
    if kind == "constant":
        v = np.full(n, 3.0)
    elif kind == "walk":
        v = 5 + np.cumsum(r.normal(0, 1, n))
    elif kind == "seasonal":
        v = 10 + 3 * np.sin(2 * np.pi * t / 7) + r.normal(0, 0.3, n)
    else:
        v = 2 + 0.5 * t + r.normal(0, 0.2, n)
    v = v * 10.0 ** spec["log_scale"]
    if spec["dtype"] == "int64":
        v = np.round(v).astype(np.int64)
    elif spec["dtype"] == "float32":
        v = v.astype(np.float32)
    return v


def _index(spec, n):
    freq, tz = spec["freq"], spec["tz"]
    if freq in ("int", "array"):
        return pd.RangeIndex(n)
    # start two days before the spring-forward change in Berlin (2021-03-28 02:00 -> 03:00)
    start = {"h": "2021-03-27 12:00", "15min": "2021-03-28 00:00"}.get(freq, "2021-03-21")
    if freq in ("W-SUN", "MS", "ME"):
        start = "2020-11-01"
    return pd.date_range(start, periods=n, freq=freq, tz=tz)


def make_input(spec):
    """The generated series (pd.Series / ndarray) or two-series long frame, and its uids."""
    n = spec["n"]
    v = _values(spec, n, spec["seed"])
    if spec["bad"] is not None:
        v = v.astype(np.float64)
        v[min(n - 1, int(spec["bad_pos"] * n))] = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf}[spec["bad"]]
    if spec["freq"] == "array" and not spec["panel"]:
        return v, [None]
    idx = _index(spec, n)
    if not spec["panel"]:
        return pd.Series(v, index=idx, name="y"), [None]
    other = _values({**spec, "kind": "walk"}, n, spec["seed"] + 1)
    ds = np.asarray(idx) if spec["freq"] != "array" else np.arange(n)
    if spec["tz"] is not None and isinstance(idx, pd.DatetimeIndex):
        ds = idx
    frame = pd.concat([pd.DataFrame({"unique_id": "ok_series", "ds": ds, "y": other}),
                       pd.DataFrame({"unique_id": "gen_series", "ds": ds, "y": v})], ignore_index=True)
    return frame, ["ok_series", "gen_series"]


# ------------------------------------------------------------------------------------------------- outcomes


def _raised_in(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    return tb[-1].filename if tb else ""


def _clear(exc: BaseException, spec, allow_sklearn=False) -> str | None:
    """None if ``exc`` is the contract's clear error, else why not."""
    if not isinstance(exc, (ValueError, TypeError)):
        return f"{type(exc).__name__} is not ValueError/TypeError"
    where = _raised_in(exc)
    ok_where = where.startswith(_TSRNN_DIR) or (allow_sklearn and "sklearn/utils/validation" in where)
    if not ok_where:
        return f"{type(exc).__name__} raised outside tsrnn ({where})"
    if spec is not None and spec.get("panel") and spec.get("bad") and "gen_series" not in str(exc):
        return "the error does not name the series with the bad value"
    return None


def _record(family: str, name: str, spec, fn, allow_sklearn=False, strict=False, checks_bad=False):
    """Run ``fn`` (returns None or raises AssertionError on a wrong output) and count the outcome.

    ``strict``: a finite input refused for a reason outside ``ALLOWED_REFUSALS``, or a non-finite forecast
    caught by the base, is a failure. ``checks_bad``: ``fn`` itself asserts what became of a NaN/inf input (the
    backtest with ``on_error="record"`` sets the series aside and records it), so returning is not a failure."""
    COUNTS[family]["inputs"] += 1
    PER_ESTIMATOR[name]["inputs"] += 1
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn()
    except AssertionError as e:
        outcome, why = "fail", f"wrong output: {str(e).splitlines()[0] if str(e) else repr(e)}"
    except Exception as e:  # noqa: BLE001 - classified below
        why = _clear(e, spec, allow_sklearn)
        outcome = "clear_error" if why is None else "fail"
        if why is None and (spec is None or spec.get("bad") is None):  # rejected although the values are finite
            REASONS[name][re.sub(r"[-+]?\d[\d.e+-]*", "#", str(e))[:100]] += 1
        if why is None and spec is not None and spec.get("bad") is None and "non-finite forecasts" in str(e):
            outcome = "nonfinite_guard"  # the base caught a NaN forecast on finite input: clear, but noted
        if why is not None:
            why = f"{why}: {type(e).__name__}: {str(e)[:200]}"
        elif strict and spec is not None and spec.get("bad") is None and (
                outcome == "nonfinite_guard" or not ALLOWED_REFUSALS.search(str(e))):
            outcome, why = "fail", f"a valid finite input was refused: {type(e).__name__}: {str(e)[:200]}"
    else:
        if spec is not None and spec.get("bad") is not None and not checks_bad:
            outcome, why = "fail", "a NaN/inf in the input was accepted"
        else:
            outcome, why = "ok", None
    PER_ESTIMATOR[name]["ms"] += int(1000 * (time.perf_counter() - t0))
    if outcome == "fail" and (name in KNOWN or any(pred(spec, why) for pred, _ in KNOWN_INPUTS)):
        outcome = "known"
    COUNTS[family][outcome] += 1
    PER_ESTIMATOR[name][outcome] += 1
    if outcome == "fail" and len(FAILURES[family]) < 200:
        FAILURES[family].append((name, why, spec))


def _assert_no_failures(family):
    fails = FAILURES.get(family, [])
    if fails:
        by = Counter(f[0] for f in fails)
        lines = [f"{n}: {w} | {s}" for n, w, s in fails[:12]]
        pytest.fail(f"{family}: {len(fails)} unexpected outcomes {dict(by)}:\n" + "\n".join(lines))


# ------------------------------------------------------------------------------------------------- forecasters

FAMILIES = {
    "baseline forecasters": ["Naive", "SeasonalNaive", "Drift", "Mean", "Naive2"],
    "statistical forecasters": ["ARIMA", "AutoARIMA", "ETS", "Theta", "StateSpace"],
    "spectral forecasters": ["FourierForecaster", "WaveletForecaster"],
    "HMM forecaster": ["HMMForecaster"],
    "neural/global forecasters": ["RNNForecaster", "Seq2SeqForecaster", "ReductionForecaster"],
    "intermittent forecasters": ["Croston", "TSB", "ADIDA", "IMAPA"],
    "meta forecasters": ["ConformalForecaster", "EnsembleForecaster"],
    "ES-RNN": ["ESRNNForecaster"],
}
_CHEAPER = {"RNNForecaster": dict(max_epochs=1, hidden_size=4), "Seq2SeqForecaster": dict(max_epochs=1, hidden_size=4),
            "ESRNNForecaster": dict(max_epochs=1, hidden_size=4, n_snapshots=1),
            "HMMForecaster": dict(n_states=2), "AutoARIMA": dict(max_order=2)}
EXAMPLES = {"baseline forecasters": 500, "statistical forecasters": 500, "spectral forecasters": 500,
            "HMM forecaster": 500, "neural/global forecasters": 500, "intermittent forecasters": 300,
            "meta forecasters": 150, "ES-RNN": 60}


def _cheap(name):
    Est = dict(tsrnn.all_estimators())[name]
    est = test_instance(Est)
    params = est.get_params(deep=False)
    est.set_params(**{k: v for k, v in _CHEAPER.get(name, {}).items() if k in params})
    if "progress" in params:
        est.set_params(progress=False)
    return est


def test_families_cover_every_forecaster():
    listed = sorted(n for names in FAMILIES.values() for n in names)
    assert listed == sorted(n for n, _ in tsrnn.all_estimators("forecaster"))


def _forecast_check(est, spec, h):
    y, uids = make_input(spec)
    e = clone(est).fit(y)
    out = e.predict(h, level=[80])
    name = e.name
    assert isinstance(out, pd.DataFrame), f"predict with level returned {type(out).__name__}"
    n_rows = h * len(uids)
    assert len(out) == n_rows, f"{len(out)} rows, expected {n_rows}"
    m, lo, hi = (out[c].to_numpy(dtype=float) for c in (name, f"{name}-lo-80", f"{name}-hi-80"))
    assert np.isfinite(m).all() and np.isfinite(lo).all() and np.isfinite(hi).all(), "non-finite forecast"
    tol = 1e-6 * (1 + np.abs(m))
    assert (lo <= m + tol).all() and (m <= hi + tol).all(), "point forecast outside its 80 % interval"
    idx = None
    if isinstance(y, pd.Series):
        idx = y.index
    elif isinstance(y, pd.DataFrame) and pd.api.types.is_datetime64_any_dtype(y["ds"]):
        idx = pd.DatetimeIndex(y["ds"].iloc[:spec["n"]])
    # the forecast continues the input's calendar (two stamps of a long frame are ambiguous: 30 days or a month)
    if isinstance(idx, pd.DatetimeIndex) and spec["n"] >= 3:
        want = pd.date_range(idx[-1], periods=h + 1, freq=spec["freq"])[1:]
        got = out.index if isinstance(y, pd.Series) else pd.DatetimeIndex(out["ds"].iloc[:h])
        assert got.equals(want), f"forecast stamps {list(got[:2].astype(str))} != {list(want[:2].astype(str))}"


def _forecaster_family_test(family):
    names = FAMILIES[family]
    estimators = {n: _cheap(n) for n in names}
    max_n = 40 if family in ("neural/global forecasters", "HMM forecaster") else 60

    @_settings(EXAMPLES[family])
    @given(spec=series_specs(max_n=max_n), which=st.integers(0, len(names) - 1), h=st.integers(1, 8))
    def run(spec, which, h):
        name = names[which]
        _record(family, name, spec, lambda: _forecast_check(estimators[name], spec, h), strict=True)

    run()
    _assert_no_failures(family)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_forecaster_family(family):
    _forecaster_family_test(family)


# ------------------------------------------------------------------------------------------------- detectors

DETECTORS = [n for n, _ in tsrnn.all_estimators("detector")]
_DET_CHEAP = {"AutoencoderDetector": dict(epochs=1, hidden_size=4, window=8), "HMMDetector": dict(n_states=2),
              "ResidualDetector": dict(init_length=20, window=20), "RollingZScore": dict(window=10),
              "WaveletDetector": dict(window=8, baseline=30)}


def _detector(name):
    est = test_instance(dict(tsrnn.all_estimators())[name])
    params = est.get_params(deep=False)
    est.set_params(**{k: v for k, v in _DET_CHEAP.get(name, {}).items() if k in params})
    return est


def _detect_check(est, spec):
    y, uids = make_input(spec)
    e = clone(est).fit(y)
    s = e.decision_function(y)
    flags = e.predict(y)
    col = s["score"].to_numpy(dtype=float) if isinstance(s, pd.DataFrame) else np.asarray(s, dtype=float)
    assert col.shape == (spec["n"] * len(uids),), f"scores of shape {col.shape}"
    assert np.isfinite(col).all(), "non-finite scores"
    fl = flags["anomaly"].to_numpy() if isinstance(flags, pd.DataFrame) else np.asarray(flags)
    assert set(np.unique(fl)) <= {0, 1}, "predict is not 0/1"


def test_detector_family():
    estimators = {n: _detector(n) for n in DETECTORS}

    @_settings(500)
    @given(spec=series_specs(max_n=80), which=st.integers(0, len(DETECTORS) - 1))
    def run(spec, which):
        name = DETECTORS[which]
        _record("detectors", name, spec, lambda: _detect_check(estimators[name], spec))

    run()
    _assert_no_failures("detectors")


# ------------------------------------------------------------------------------------------------- transformers

TRANSFORMERS = [n for n, _ in tsrnn.all_estimators("transformer")]


@st.composite
def window_arrays(draw):
    n_win = draw(st.integers(1, 6))
    length = draw(st.integers(1, 70))
    spec = {"n": length, "freq": "array", "tz": None, "log_scale": draw(st.floats(-8, 9)),
            "kind": draw(st.sampled_from(["walk", "seasonal", "constant", "trend"])),
            "dtype": draw(st.sampled_from(["float64", "float32", "int64"])),
            "bad": draw(st.sampled_from([None, None, None, "nan", "inf"])), "bad_pos": draw(st.floats(0, 1)),
            "panel": False, "seed": draw(st.integers(0, 2**16))}
    X = np.stack([_values(spec, length, spec["seed"] + i) for i in range(n_win)])
    if spec["bad"]:
        X = X.astype(float)
        X[draw(st.integers(0, n_win - 1)), min(length - 1, int(spec["bad_pos"] * length))] = (
            np.nan if spec["bad"] == "nan" else np.inf)
    return X, spec


def _transform_check(est, X):
    e = clone(est).fit(X)
    Z = np.asarray(e.transform(X))
    assert Z.ndim == 2 and Z.shape[0] == X.shape[0], f"output of shape {Z.shape} for input {X.shape}"
    assert np.isfinite(Z.astype(float)).all(), "non-finite features"


def test_transformer_family():
    estimators = {n: test_instance(dict(tsrnn.all_estimators())[n]) for n in TRANSFORMERS}

    @_settings(500)
    @given(data=window_arrays(), which=st.integers(0, len(TRANSFORMERS) - 1))
    def run(data, which):
        X, spec = data
        name = TRANSFORMERS[which]
        _record("transformers", name, spec, lambda: _transform_check(estimators[name], X), allow_sklearn=True)

    run()
    _assert_no_failures("transformers")


# ------------------------------------------------------------------------------------------------- classifiers

CLASSIFIERS = [n for n, _ in tsrnn.all_estimators("classifier")]


def _classify_check(est, X, labels, tagger):
    e = clone(est).fit(X, labels)
    p = e.predict(X)
    proba = e.predict_proba(X)
    assert p.shape == labels.shape, f"predict shape {p.shape}, expected {labels.shape}"
    assert set(np.unique(p)) <= set(np.unique(labels)), "predicted a class never seen"
    assert np.isfinite(proba).all() and np.allclose(proba.sum(-1), 1, atol=1e-5), "probabilities"


def test_classifier_family():
    estimators = {n: clone(test_instance(dict(tsrnn.all_estimators())[n])).set_params(max_epochs=1, hidden_size=4)
                  for n in CLASSIFIERS}

    @_settings(500)
    @given(data=window_arrays(), which=st.integers(0, len(CLASSIFIERS) - 1), n_classes=st.integers(1, 3),
           three_d=st.booleans())
    def run(data, which, n_classes, three_d):
        X, spec = data
        name = CLASSIFIERS[which]
        tagger = name == "RNNTagger"
        r = np.random.default_rng(spec["seed"])
        labels = r.integers(0, n_classes, size=X.shape if tagger else X.shape[:1])
        Xin = X[:, :, None] if three_d else X
        _record("classifiers", name, spec, lambda: _classify_check(estimators[name], Xin, labels, tagger),
                allow_sklearn=True)

    run()
    _assert_no_failures("classifiers")


# ------------------------------------------------------------------------------------------------- validation


def test_to_panel_properties():
    @_settings(500)
    @given(spec=series_specs(max_n=50))
    def run(spec):
        def check():
            y, uids = make_input(spec)
            p = to_panel(y)
            assert len(p.series) == len(uids)
            for s in p.series:
                assert s.y.dtype == np.float64 and np.isfinite(s.y).all() and len(s.y) == spec["n"]
                assert len(s.ds) == len(s.y)
            if spec["dtype"] != "float32":  # float32 -> float64 is exact; compare the generated values
                np.testing.assert_array_equal(p.series[-1].y, np.asarray(y["y"] if spec["panel"] else y,
                                                                         dtype=float)[-spec["n"]:])
        _record("validation (to_panel)", "to_panel", spec, check)

    run()
    _assert_no_failures("validation (to_panel)")


# ------------------------------------------------------------------------------------------------- metrics

METRIC_NAMES = ["mae", "rmse", "mape", "smape"]


def test_metric_properties():
    @_settings(500)
    @given(n=st.integers(1, 30), log_scale=st.floats(-8, 9), seed=st.integers(0, 2**16),
           metric=st.sampled_from(METRIC_NAMES + ["mase", "coverage"]), bad=st.sampled_from([None, None, "nan", "inf"]),
           dtype=st.sampled_from(["float64", "float32", "int64"]), constant=st.booleans())
    def run(n, log_scale, seed, metric, bad, dtype, constant):
        r = np.random.default_rng(seed)
        scale = 10.0 ** log_scale
        yt = (np.full(n, 2.0) if constant else r.normal(5, 2, n)) * scale
        yp = yt + r.normal(0, 1, n) * scale
        if dtype == "int64":
            yt, yp = np.round(yt).astype(np.int64), np.round(yp).astype(np.int64)
        elif dtype == "float32":
            yt, yp = yt.astype(np.float32), yp.astype(np.float32)
        spec = {"bad": None, "panel": False}  # a metric may propagate NaN/inf: checked below, not rejected
        if bad:
            yp = yp.astype(float)
            yp[r.integers(0, n)] = np.nan if bad == "nan" else np.inf

        def check():
            if metric == "mase":
                v = M.mase(yt, yp, y_train=np.concatenate([yt, yt]), season_length=1)
            elif metric == "coverage":
                v = M.coverage(yt, yp - scale, yp + scale)
            else:
                v = getattr(M, metric)(yt, yp)
            v = float(np.asarray(v))
            if bad:
                # pure numpy metrics propagate a bad prediction; they must never hide it behind a finite number
                # (coverage: an infinite bound is a legitimate, if useless, interval; a NaN bound must not count)
                if metric == "coverage" and bad == "inf":
                    return
                assert not np.isfinite(v), f"{metric} = {v} although y_pred holds {bad}"
                return
            # mape/mase are undefined (inf or nan by design) when y_true is zero / the scale is zero
            if metric in ("mape", "mase") and not np.isfinite(v):
                return
            assert np.isfinite(v) and v >= 0, f"{metric} = {v}"
            if metric in ("mae", "rmse"):
                ref = np.abs(np.asarray(yt, float) - np.asarray(yp, float))
                want = ref.mean() if metric == "mae" else np.sqrt((ref ** 2).mean())
                assert np.isclose(v, want, rtol=1e-6, atol=0), f"{metric} {v} != {want}"
            if metric == "smape":
                assert v <= 200 + 1e-9
        _record("metrics", metric, spec, check)

    run()
    _assert_no_failures("metrics")


# ------------------------------------------------------------------------------------------------- backtest


def test_backtest_properties():
    from tsrnn.backtest import backtest
    from tsrnn.models import Naive, SeasonalNaive

    @_settings(150)
    @given(spec=series_specs(min_n=1, max_n=40), h=st.integers(1, 5), n_windows=st.integers(1, 3),
           refit=st.sampled_from([True, False, 2]), record=st.booleans())
    def run(spec, h, n_windows, refit, record):
        def check():
            y, uids = make_input(spec)
            res = backtest([Naive(), SeasonalNaive(3)], y, h=h, n_windows=n_windows, refit=refit, progress=False,
                           on_error="record" if record else "raise", metrics=("mae", "rmse", "smape"))
            set_aside = res.errors[res.errors["model"].isna()]  # series that could not be backtested at all
            assert record or not len(set_aside), "a series set aside although on_error='raise'"
            if spec.get("bad") is not None:  # accepted only by setting the bad series aside, with why
                assert record and len(set_aside), "a NaN/inf in the input was accepted"
                assert set_aside["message"].str.contains("NaN|inf|non-finite|too short|observation").any()
            assert len(set_aside) < len(uids), "every series set aside without an error"
            n_rows = (len(uids) - set_aside["unique_id"].nunique()) * n_windows * h
            assert len(res.forecasts) == n_rows, f"{len(res.forecasts)} forecast rows, expected {n_rows}"
            f = res.forecasts
            for col in ("Naive", "SeasonalNaive"):
                nan_rows = f.loc[~np.isfinite(f[col].to_numpy(float))]
                err = res.errors[res.errors["model"] == col]
                recorded = set(zip(err["unique_id"], err["cutoff"].astype(str)))
                missing = set(zip(nan_rows["unique_id"], nan_rows["cutoff"].astype(str))) - recorded
                assert not missing, f"NaN forecast of {col} with no recorded error"
            if len(res.errors):
                assert record, "errors recorded although on_error='raise'"
                assert res.errors["message"].str.contains("series").all(), "a recorded error names no series"
        _record("backtest", "backtest", spec, check, checks_bad=True)

    run()
    _assert_no_failures("backtest")


# ------------------------------------------------------------------------------------------------- summary


@pytest.fixture(scope="module", autouse=True)
def _summary():
    yield
    if not COUNTS:
        return
    lines = ["", "property tests: inputs per family (ok = fitted with finite output of the right shape; clear = "
             "contract ValueError/TypeError)"]
    for fam, c in COUNTS.items():
        lines.append(f"  {fam:28s} {dict(c)}")
    print("\n".join(lines))
    path = os.environ.get("TSRNN_PROPERTY_COUNTS")
    if path:
        Path(path).write_text(json.dumps({"families": {k: dict(v) for k, v in COUNTS.items()},
                                          "estimators": {k: dict(v) for k, v in PER_ESTIMATOR.items()},
                                          "rejections": {k: dict(v.most_common(8)) for k, v in REASONS.items()},
                                          "known_issues": [f"{k}: {v}" for k, v in KNOWN.items()]
                                          + [f"inputs: {r}" for _, r in KNOWN_INPUTS],
                                          "failures": {k: [(n, w, repr(s)) for n, w, s in v]
                                                       for k, v in FAILURES.items()}}, indent=1))


# ------------------------------------------------------------------------------------------------- found bugs, now fixed


@pytest.mark.parametrize("freq,start", [("D", "2021-03-22"), ("W-SUN", "2021-03-07"), ("MS", "2020-11-01"),
                                        ("ME", "2020-11-01")])
def test_tz_aware_calendar_forecast_stamps(freq, start):
    from tsrnn.models import Naive

    idx = pd.date_range(start, periods=6, freq=freq, tz="Europe/Berlin")
    got = Naive().fit(pd.Series(np.arange(6.0), index=idx)).predict(3).index
    assert got.equals(pd.date_range(idx[-1], periods=4, freq=freq)[1:])


@pytest.mark.parametrize("freq", ["MS", "ME", "W-SUN"])
def test_tz_aware_calendar_panel_like_series(freq):
    idx = pd.date_range("2020-11-01", periods=8, freq=freq, tz="Europe/Berlin")
    alone = to_panel(pd.Series(np.arange(8.0), index=idx))
    panel = to_panel(pd.DataFrame({"unique_id": "a", "ds": idx, "y": np.arange(8.0)}))
    assert panel.freq == alone.freq
