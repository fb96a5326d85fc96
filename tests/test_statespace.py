"""StateSpace against statsmodels' UnobservedComponents (forecasts, intervals, smoothing, update, regressors)."""

from __future__ import annotations

import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from statsmodels.tsa.statespace.structural import UnobservedComponents

from tsrnn.models import StateSpace


def _uc(y, X=None, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return UnobservedComponents(y, exog=X, **kw).fit(disp=False)


@pytest.fixture
def local_level(rng):
    """A local level model: mu_t random walk (sd 0.5) observed with noise (sd 1)."""
    mu = 10 + np.cumsum(rng.normal(0, 0.5, 150))
    return pd.Series(mu + rng.normal(0, 1, 150), index=pd.date_range("2022-01-01", periods=150, freq="D"))


def test_local_level_matches_statsmodels(local_level):
    y = local_level.to_numpy()
    model = StateSpace().fit(local_level)
    ref = _uc(y, level="llevel")
    fc = model.predict(7, level=[95])
    np.testing.assert_allclose(fc["StateSpace"].to_numpy(), ref.forecast(7), rtol=1e-6)
    ci = ref.get_forecast(7).conf_int(alpha=0.05)
    np.testing.assert_allclose(fc["StateSpace-lo-95"].to_numpy(), ci[:, 0], rtol=1e-4)
    # the estimated variances are near the simulated ones (0.25 and 1)
    names = model.states_[0]["names"]
    par = dict(zip(names, model.states_[0]["params"]))
    assert par["sigma2.level"] == pytest.approx(0.25, rel=0.8)
    assert par["sigma2.irregular"] == pytest.approx(1.0, rel=0.5)


def test_seasonal_trend_and_components(rng):
    t = np.arange(120)
    y = 5 + 0.2 * t + 3 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.5, 120)
    model = StateSpace(trend=True, season_length=12, harmonics=2, stochastic_seasonal=False).fit(y)
    ref = _uc(y, level="lltrend", freq_seasonal=[{"period": 12, "harmonics": 2}],
              stochastic_freq_seasonal=[False])
    np.testing.assert_allclose(model.predict(12).to_numpy(), ref.forecast(12), rtol=1e-5)
    comp = model.components()
    assert list(comp.columns) == ["y", "level", "trend", "seasonal"]
    np.testing.assert_allclose(comp["seasonal"], ref.freq_seasonal[0]["smoothed"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(comp["trend"].iloc[-1], 0.2, atol=0.05)


def test_dummy_seasonal_matches_statsmodels(rng):
    t = np.arange(84)
    y = 20 + np.tile([1.0, -2.0, 0.5, 3.0, -1.0, -1.5, 0.0], 12) + rng.normal(0, 0.3, 84)
    model = StateSpace(season_length=7).fit(y)
    ref = _uc(y, level="llevel", seasonal=7)
    np.testing.assert_allclose(model.predict(14).to_numpy(), ref.forecast(14), rtol=1e-5)
    assert len(t) == len(model.components())


def test_regressors_and_update(rng):
    n = 130
    X = pd.DataFrame({"promo": (rng.random(n) < 0.2).astype(float)})
    y = pd.Series(50 + np.cumsum(rng.normal(0, 0.3, n)) + 4 * X.promo + rng.normal(0, 0.5, n))
    model = StateSpace().fit(y.iloc[:100], X=X.iloc[:100])
    ref = _uc(y.iloc[:100].to_numpy(), X=X.iloc[:100].to_numpy(), level="llevel")
    beta = dict(zip(model.states_[0]["names"], model.states_[0]["params"]))["beta.x1"]
    assert beta == pytest.approx(4.0, abs=0.5)
    params = model.states_[0]["params"].copy()
    model.update(y.iloc[100:120], X=X.iloc[100:120])
    np.testing.assert_array_equal(model.states_[0]["params"], params)
    appended = ref.append(y.iloc[100:120].to_numpy(), exog=X.iloc[100:120].to_numpy())
    Xf = X.iloc[120:]
    np.testing.assert_allclose(model.predict(10, X=Xf).to_numpy(), appended.forecast(10, exog=Xf.to_numpy()),
                               rtol=1e-6)
    assert "regression" in model.components().columns


def test_persistence_errors_and_panel(tmp_path, daily_panel):
    model = StateSpace(season_length=7, harmonics=2).fit(daily_panel)
    out = model.predict(5, level=[80])
    path = tmp_path / "ss.joblib"
    joblib.dump(model, path)
    pd.testing.assert_frame_equal(joblib.load(path).predict(5, level=[80]), out)
    assert set(out.unique_id) == {"s0", "s1", "s2"}
    assert model.components("s2").shape[0] == 120
    with pytest.raises(ValueError, match="unknown unique_id"):
        model.components("nope")
    with pytest.raises(ValueError, match="harmonics"):
        StateSpace(season_length=7, harmonics=5).fit(daily_panel)
    with pytest.raises(ValueError, match="needs at least"):
        StateSpace(season_length=12).fit(np.arange(10.0))
