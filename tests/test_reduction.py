"""ReductionForecaster against least squares on explicit lag matrices, hand-run recursions and invariances."""

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression
from statsmodels.tsa.ar_model import AutoReg

from tsrnn.features import Periodogram, WaveletFeatures
from tsrnn.models import ReductionForecaster
from tsrnn.utils.estimator_checks import check_estimator


def _ar2(n, seed, c=0.0):
    r = np.random.default_rng(seed)
    y = np.zeros(n)
    for t in range(2, n):
        y[t] = c + 0.6 * y[t - 1] - 0.3 * y[t - 2] + r.normal()
    return y


def _panel(series):
    return pd.concat([pd.DataFrame({"unique_id": f"s{i}", "ds": np.arange(len(y)), "y": y})
                      for i, y in enumerate(series)], ignore_index=True)


@pytest.mark.parametrize("kw", [{}, {"strategy": "direct", "horizon": 3, "window": 14},
                                {"estimator": HistGradientBoostingRegressor(max_iter=20), "window": 14,
                                 "random_state": 0, "features": WaveletFeatures(wavelet="haar")}])
def test_conformance(kw):
    check_estimator(ReductionForecaster(**kw))


def test_recursive_linear_equals_autoreg():
    y = _ar2(400, 0, c=1.0)
    f = ReductionForecaster(LinearRegression(), window=2, normalize=None).fit(y)
    ref = AutoReg(y, lags=2, trend="c").fit()
    est = f.estimators_[0]
    np.testing.assert_allclose([est.intercept_, est.coef_[1], est.coef_[0]], ref.params, rtol=1e-8)
    np.testing.assert_allclose(f.predict(10).to_numpy(), ref.predict(start=400, end=409), rtol=1e-8)


def test_global_training_set_pools_all_series():
    ys = [_ar2(n, s) for s, n in ((1, 150), (2, 90), (3, 200))]
    f = ReductionForecaster(LinearRegression(), window=3, normalize=None).fit(_panel(ys))
    rows = [np.column_stack([y[i:len(y) - 3 + i] for i in range(3)] + [y[3:]]) for y in ys]
    A = np.vstack(rows)
    beta = np.linalg.lstsq(np.column_stack([np.ones(len(A)), A[:, :3]]), A[:, 3], rcond=None)[0]
    np.testing.assert_allclose([f.estimators_[0].intercept_, *f.estimators_[0].coef_], beta, atol=1e-10)
    out = f.predict(2)
    last = ys[1][-3:]
    step1 = beta[0] + beta[1:] @ last
    step2 = beta[0] + beta[1:] @ np.r_[last[1:], step1]
    np.testing.assert_allclose(out.loc[out.unique_id == "s1", "ReductionForecaster"], [step1, step2], rtol=1e-10)


def test_direct_models_each_step_and_continues_past_horizon():
    y = _ar2(300, 4)
    f = ReductionForecaster(LinearRegression(), window=4, strategy="direct", horizon=3, normalize=None).fit(y)
    assert len(f.estimators_) == 3
    n = len(y)
    X = np.column_stack([y[i:n - 6 + i] for i in range(4)])
    for j in range(3):
        target = y[4 + j:n - 2 + j]
        beta = np.linalg.lstsq(np.column_stack([np.ones(len(X)), X]), target, rcond=None)[0]
        np.testing.assert_allclose([f.estimators_[j].intercept_, *f.estimators_[j].coef_], beta, atol=1e-10)
    out = f.predict(5).to_numpy()
    first = np.array([e.predict(y[-4:][None])[0] for e in f.estimators_])
    np.testing.assert_allclose(out[:3], first, rtol=1e-10)
    nxt = np.r_[y[-1:], first][None]
    np.testing.assert_allclose(out[3:], [f.estimators_[0].predict(nxt)[0], f.estimators_[1].predict(nxt)[0]],
                               rtol=1e-10)


def test_window_normalisation_makes_scale_and_level_irrelevant():
    base = [_ar2(200, s) + 5 for s in range(3)]
    f = ReductionForecaster(window=10).fit(_panel(base))
    g = ReductionForecaster(window=10).fit(_panel([1000 + 50 * y for y in base]))
    a, b = f.predict(6, level=[80]), g.predict(6, level=[80])
    np.testing.assert_allclose(1000 + 50 * a["ReductionForecaster"], b["ReductionForecaster"], rtol=1e-8)
    np.testing.assert_allclose(1000 + 50 * a["ReductionForecaster-hi-80"], b["ReductionForecaster-hi-80"], rtol=1e-8)


def test_learns_a_shared_seasonal_shape():
    t = np.arange(24 * 20)
    ys = [10 * k + k * np.sin(2 * np.pi * t / 24) + 0.01 * np.random.default_rng(k).normal(size=len(t))
          for k in (1, 2, 3)]
    f = ReductionForecaster().fit(_panel(ys))
    assert f.window_ == 48  # twice the detected period
    out = f.predict(24)
    fut = np.arange(len(t), len(t) + 24)
    for k in (1, 2, 3):
        got = out.loc[out.unique_id == f"s{k - 1}", "ReductionForecaster"].to_numpy()
        np.testing.assert_allclose(got, 10 * k + k * np.sin(2 * np.pi * fut / 24), atol=0.05 * k)


def test_feature_transformers_are_appended():
    y = _ar2(300, 5)
    f = ReductionForecaster(window=16, features=[WaveletFeatures(wavelet="haar"), Periodogram(output="dominant")])
    f.fit(y)
    n_wav = f.features_[0].transform(np.zeros((1, 16))).shape[1]
    assert f.estimators_[0].n_features_in_ == 16 + n_wav + 6
    assert np.isfinite(f.predict(5).to_numpy()).all()


def test_update_reuses_the_fitted_model():
    y = _ar2(300, 6)
    f = ReductionForecaster(LinearRegression(), window=5, normalize=None).fit(y[:-20])
    est = f.estimators_[0]
    f.update(pd.Series(y[-20:], index=pd.RangeIndex(280, 300)))
    assert f.estimators_[0] is est
    assert f.predict(1).iloc[0] == pytest.approx(est.predict(y[-5:][None])[0])


def test_errors():
    with pytest.raises(ValueError, match="strategy"):
        ReductionForecaster(strategy="dirrec").fit(np.arange(50.0))
    with pytest.raises(ValueError, match="long enough"):
        ReductionForecaster(window=60).fit(np.arange(50.0))
    with pytest.raises(ValueError, match="horizon"):
        ReductionForecaster(strategy="direct", horizon=0).fit(np.arange(50.0))


@pytest.mark.parametrize("strategy", ["recursive", "direct"])
def test_interval_coverage_near_nominal(strategy):
    ys = [_ar2(300, 100 + s) + 20 for s in range(40)]
    train = _panel([y[:280] for y in ys])
    f = ReductionForecaster(window=6, strategy=strategy, horizon=5).fit(train)
    out = f.predict(20, level=[80])
    truth = np.concatenate([y[280:] for y in ys])
    inside = (truth >= out["ReductionForecaster-lo-80"]) & (truth <= out["ReductionForecaster-hi-80"])
    assert 0.72 <= inside.mean() <= 0.88
