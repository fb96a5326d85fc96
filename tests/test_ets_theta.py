"""ETS against statsmodels' ETSModel; Theta against the M4 formula, statsmodels SES and the published M4 figures."""

from __future__ import annotations

import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.holtwinters import SimpleExpSmoothing

from tsrnn.models import ETS, Theta
from tsrnn.models.baselines import seasonal_indices
from tsrnn.models.theta import _ses_errors, ses_fit


@pytest.fixture
def monthly(rng):
    t = np.arange(96)
    y = (200 + 1.5 * t) * (1 + 0.2 * np.sin(2 * np.pi * t / 12)) + rng.normal(0, 4, 96)
    return pd.Series(y, index=pd.date_range("2015-01-31", periods=96, freq="ME"), name="sales")


# ------------------------------------------------------------------------------------------------ SES / Theta
def test_ses_fit_is_least_squares_and_matches_statsmodels(rng):
    y = 50 + np.cumsum(rng.normal(0, 1, 200)) + rng.normal(0, 2, 200)
    alpha, l0, last = ses_fit(y)
    e, l0_closed = _ses_errors(y, alpha)
    assert l0 == pytest.approx(l0_closed)
    # the explicit recursion gives the same errors and final level
    lev, errs = l0, []
    for v in y:
        errs.append(v - lev)
        lev += alpha * (v - lev)
    np.testing.assert_allclose(e, errs, rtol=1e-9, atol=1e-9)
    assert last == pytest.approx(lev)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = SimpleExpSmoothing(y, initialization_method="estimated").fit()
    assert float(e @ e) <= ref.sse * (1 + 1e-6)  # at least as good an optimum as statsmodels'
    assert alpha == pytest.approx(ref.params["smoothing_level"], abs=0.02)


def test_theta_equals_m4_formula_nonseasonal(rng):
    y = 100 + 0.8 * np.arange(120) + np.cumsum(rng.normal(0, 2, 120))
    fc = Theta().fit(y).predict(10).to_numpy()
    # M4 Theta.classic: 0.5 * SES(2y - L) + 0.5 * L, with SES fitted by statsmodels
    t = np.arange(1, 121)
    b, a = np.polyfit(t, y, 1)
    L = a + b * t
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ses = SimpleExpSmoothing(2 * y - L, initialization_method="estimated").fit().forecast(10)
    ref = 0.5 * ses + 0.5 * (a + b * np.arange(121, 131))
    np.testing.assert_allclose(fc, ref, rtol=2e-3)


def test_theta_seasonal_adjustment(monthly):
    model = Theta(season_length=12).fit(monthly)
    st = model.states_[0]
    assert st["seasonal"]
    np.testing.assert_allclose(st["indices"], seasonal_indices(monthly.to_numpy(), 12))
    fc = model.predict(24, level=[80])
    assert fc.index[0] == pd.Timestamp("2023-01-31")
    # the forecast follows the seasonal pattern of the data (same ordering of months)
    assert np.corrcoef(fc["Theta"].to_numpy()[:12], st["indices"][np.arange(96, 108) % 12])[0, 1] > 0.95
    assert (fc["Theta-lo-80"] < fc["Theta"]).all() and (fc["Theta"] < fc["Theta-hi-80"]).all()
    width = (fc["Theta-hi-80"] - fc["Theta-lo-80"]).to_numpy() / st["indices"][np.arange(96, 120) % 12]
    assert np.all(np.diff(width) >= -1e-9)  # adjusted widths grow with the horizon


def test_theta_nonnegative_floor_and_errors():
    y = np.r_[np.linspace(50, 1, 40)]
    assert (Theta().fit(y).predict(60).to_numpy() >= 0).all()
    with pytest.raises(ValueError, match="season_length"):
        Theta(season_length=0).fit(y)
    with pytest.raises(ValueError, match="needs at least 3"):
        Theta().fit(np.array([1.0, 2.0]))


@pytest.mark.data
@pytest.mark.slow
def test_theta_reproduces_published_m4_hourly(mirror):
    """M4 organisers' Theta on Hourly: sMAPE 18.138, MASE 2.455 (Makridakis et al. 2020)."""
    tr = pd.read_csv(mirror / "m4/hourly/Hourly-train.csv", index_col=0)
    te = pd.read_csv(mirror / "m4/hourly/Hourly-test.csv", index_col=0)
    sm, ms = [], []
    for uid in tr.index:
        y, yt = tr.loc[uid].dropna().to_numpy(float), te.loc[uid].dropna().to_numpy(float)
        f = Theta(season_length=24).fit(y).predict(48).to_numpy()
        sm.append(np.mean(200 * np.abs(yt - f) / (np.abs(yt) + np.abs(f))))
        ms.append(np.mean(np.abs(yt - f)) / np.mean(np.abs(y[24:] - y[:-24])))
    assert np.mean(sm) == pytest.approx(18.138, rel=0.01)
    assert np.mean(ms) == pytest.approx(2.455, rel=0.01)


# ------------------------------------------------------------------------------------------------ ETS
def _sm_ets(y, e, t, dp, s, m=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ETSModel(pd.Series(y), error=e, trend=t, damped_trend=dp, seasonal=s, seasonal_periods=m).fit(disp=False)


def test_ets_fixed_model_matches_statsmodels(monthly):
    y = monthly.to_numpy()
    model = ETS(season_length=12, error="add", trend="add", seasonal="add", damped=True).fit(monthly)
    ref = _sm_ets(y, "add", "add", True, "add", 12)
    fc = model.predict(12, level=[90])
    np.testing.assert_allclose(fc["ETS"].to_numpy(), ref.forecast(12), rtol=1e-6)
    pi = ref.get_prediction(96, 107).pred_int(alpha=0.1).to_numpy()
    np.testing.assert_allclose(fc["ETS-lo-90"].to_numpy(), pi[:, 0], rtol=1e-6)
    np.testing.assert_allclose(fc["ETS-hi-90"].to_numpy(), pi[:, 1], rtol=1e-6)


def test_ets_auto_selects_minimum_aicc(rng):
    y = 20 + np.cumsum(rng.normal(0.3, 1, 80))
    model = ETS(error="add").fit(y)
    best = model.states_[0]
    scores = {(t, dp): _sm_ets(y, "add", t, dp, None).aicc for t, dp in [(None, False), ("add", False), ("add", True)]}
    assert best["ic"] == pytest.approx(min(scores.values()), rel=1e-6)
    assert best["spec"][1:3] == min(scores, key=scores.get)


def test_ets_picks_seasonal_model_and_updates(monthly):
    model = ETS(season_length=12, error="add", damped=False).fit(monthly.iloc[:84])
    spec = model.states_[0]["spec"]
    assert spec[3] == "add"
    params = model.states_[0]["params"].copy()
    model.update(monthly.iloc[84:])
    np.testing.assert_array_equal(model.states_[0]["params"], params)
    ref = ETSModel(pd.Series(monthly.to_numpy()), error=spec[0], trend=spec[1], damped_trend=spec[2], seasonal=spec[3],
                   seasonal_periods=12).smooth(params).forecast(6)
    np.testing.assert_allclose(model.predict(6).to_numpy(), ref, rtol=1e-6)


def test_ets_simulated_intervals_are_reproducible(tmp_path, monthly):
    model = ETS(season_length=12, error="mul", trend=None, seasonal="mul").fit(monthly)
    a = model.predict(6, level=[80])
    path = tmp_path / "ets.joblib"
    joblib.dump(model, path)
    pd.testing.assert_frame_equal(joblib.load(path).predict(6, level=[80]), a)
    assert (a["ETS-lo-80"] < a["ETS"]).all() and (a["ETS"] < a["ETS-hi-80"]).all()


def test_ets_errors():
    with pytest.raises(ValueError, match="error"):
        ETS(error="X").fit(np.arange(1.0, 30.0))
    with pytest.raises(ValueError, match="season_length"):
        ETS(seasonal="add").fit(np.arange(1.0, 30.0))
    with pytest.raises(ValueError, match="needs at least 4"):
        ETS().fit(np.array([1.0, 2.0, 3.0]))
    # non-positive data: multiplicative candidates are skipped, the fit still works
    y = np.r_[np.zeros(5), np.arange(1.0, 30.0)]
    assert ETS(error="auto").fit(y).states_[0]["spec"][0] == "add"
