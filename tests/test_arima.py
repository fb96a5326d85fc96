"""ARIMA and AutoARIMA against statsmodels and against the textbook recursions."""

from __future__ import annotations

import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from statsmodels.tsa.arima.model import ARIMA as SMARIMA
from statsmodels.tsa.arima_process import arma_generate_sample
from statsmodels.tsa.stattools import kpss

from tsrnn.models import ARIMA, AutoARIMA
from tsrnn.models import _arima_kernels as K


def _sm(y, order, sorder=(0, 0, 0, 0), X=None, trend=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SMARIMA(y, exog=X, order=order, seasonal_order=sorder, trend=trend).fit()


def _arma(rng, ar, ma, n, burn=100):
    return arma_generate_sample(np.r_[1, -np.asarray(ar)], np.r_[1, ma], n + burn,
                                distrvs=lambda size: rng.standard_normal(size))[burn:]


@pytest.fixture
def airline(rng):
    """A seasonal series (m=12) with trend, 144 months."""
    t = np.arange(144)
    y = 100 + 0.5 * t + 10 * np.sin(2 * np.pi * t / 12) + np.cumsum(rng.normal(0, 1, 144))
    return pd.Series(y, index=pd.period_range("2000-01", periods=144, freq="M"), name="air")


@pytest.mark.parametrize("order,sorder", [((2, 0, 1), (0, 0, 0, 0)), ((1, 1, 1), (0, 0, 0, 0)),
                                          ((0, 1, 1), (0, 1, 1, 12)), ((3, 0, 0), (0, 0, 0, 0))])
def test_arima_matches_statsmodels(airline, order, sorder):
    y = airline
    ours = ARIMA(order=order, seasonal_order=sorder).fit(y).predict(18, level=[80, 95])
    ref = _sm(y.to_numpy(), order, sorder).get_forecast(18)
    np.testing.assert_allclose(ours["ARIMA"].to_numpy(), ref.predicted_mean, rtol=1e-6)
    ci = ref.conf_int(alpha=0.05)
    np.testing.assert_allclose(ours["ARIMA-lo-95"].to_numpy(), ci[:, 0], rtol=1e-6)
    np.testing.assert_allclose(ours["ARIMA-hi-95"].to_numpy(), ci[:, 1], rtol=1e-6)
    assert (ours["ARIMA-lo-95"] < ours["ARIMA-lo-80"]).all() and (ours["ARIMA-hi-80"] < ours["ARIMA-hi-95"]).all()
    assert isinstance(ours.index, pd.PeriodIndex) and ours.index[0] == pd.Period("2012-01", freq="M")


def test_arima_exogenous_matches_statsmodels(rng):
    n, h = 200, 10
    X = pd.DataFrame({"a": rng.normal(size=n + h), "b": np.sin(np.arange(n + h) / 5)})
    y = pd.Series(2 * X.a[:n] - X.b[:n] + _arma(rng, [0.6], [], n))
    model = ARIMA(order=(1, 0, 0)).fit(y, X=X.iloc[:n])
    ours = model.predict(h, X=X.iloc[n:].set_index(pd.RangeIndex(n, n + h)))
    ref = _sm(y.to_numpy(), (1, 0, 0), X=X.iloc[:n].to_numpy()).forecast(h, exog=X.iloc[n:].to_numpy())
    np.testing.assert_allclose(ours.to_numpy(), ref, rtol=1e-6)


def test_arima_update_keeps_parameters(rng):
    y = _arma(rng, [0.5], [0.3], 160) + 10
    model = ARIMA(order=(1, 0, 1)).fit(y[:120])
    params = model.states_[0]["params"].copy()
    model.update(pd.Series(y[120:], index=pd.RangeIndex(120, 160)))
    np.testing.assert_array_equal(model.states_[0]["params"], params)
    ref = _sm(y[:120], (1, 0, 1)).append(y[120:], refit=False).forecast(5)
    np.testing.assert_allclose(model.predict(5).to_numpy(), ref, rtol=1e-6)


def test_arima_too_short_names_minimum():
    with pytest.raises(ValueError, match=r"needs at least \d+"):
        ARIMA(order=(2, 1, 1), seasonal_order=(1, 1, 0, 12)).fit(np.arange(20.0))
    with pytest.raises(ValueError, match="order"):
        ARIMA(order=(1, -1, 0)).fit(np.arange(50.0))
    with pytest.raises(NotFittedError):
        ARIMA().predict(3)


# ------------------------------------------------------------------------------------------- kernels
def test_css_residuals_equal_explicit_recursion(rng):
    w = rng.normal(size=80)
    spec = K.Spec(2, 0, 1, 1, 0, 1, 4, True)
    x = np.array([0.3, -0.2, 0.4, 0.5, -0.3, 0.1])  # ar1 ar2 ma1 sar1 sma1 mean
    ours = K.css_residuals(x, w, spec)
    # R's CSS recursion written out: e_t = z_t - sum phi*_k z_{t-k} - sum theta*_k e_{t-k}, e_t = 0 for t < ncond
    a = K.ar_poly(x[:2], x[3:4], 4)
    b = K.ma_poly(x[2:3], x[4:5], 4)
    z = w - x[5]
    e = np.zeros(len(w))
    for t in range(spec.ncond, len(w)):
        e[t] = z[t] + sum(a[k] * z[t - k] for k in range(1, len(a))) - sum(b[k] * e[t - k] for k in range(1, len(b))
                                                                           if t - k >= 0)
    np.testing.assert_allclose(ours, e[spec.ncond:], rtol=1e-10, atol=1e-12)


def test_polynomials():
    np.testing.assert_allclose(K.ar_poly([0.5], [0.2], 3), [1, -0.5, 0, -0.2, 0.1])
    np.testing.assert_allclose(K.ma_poly([0.5], [], 3), [1, 0.5])
    np.testing.assert_allclose(K.diff_poly(1, 1, 2), [1, -1, -1, 1])
    y = np.arange(10.0) ** 2
    np.testing.assert_allclose(K.difference(y, 1, 1, 2), np.diff(y[2:] - y[:-2]))


@pytest.mark.parametrize("order,sorder", [((1, 1, 1), (0, 0, 0, 0)), ((0, 1, 1), (0, 1, 1, 12)),
                                          ((2, 0, 0), (1, 0, 0, 4))])
def test_forecast_kernel_matches_statsmodels_kalman(rng, order, sorder):
    """With long data the conditional recursion and the exact Kalman forecasts coincide for the same params."""
    y = np.cumsum(rng.normal(size=600)) if order[1] else _arma(rng, [0.5, 0.2], [], 600)
    if sorder[3] == 12:  # simulate the airline model (1-B)(1-B^12) y = (1 - 0.4B)(1 - 0.6B^12) e
        from scipy.signal import lfilter

        w = lfilter(K.ma_poly([-0.4], [-0.6], 12), [1.0], rng.normal(size=700))[100:]
        y = lfilter([1.0], K.diff_poly(1, 1, 12), w)
    res = _sm(y, order, sorder, trend="n")
    p, d, q = order
    P, D, Q, m = sorder
    spec = K.Spec(p, d, q, P, D, Q, max(m, 1), False)
    par = np.asarray(res.params)
    x = par[:-1]  # statsmodels order: ar, ma, sar, sma, sigma2 -- the kernel's order too
    mean, se = K.forecast_arma(y, x, par[-1], spec, 24)
    ref = res.get_forecast(24)
    np.testing.assert_allclose(mean, ref.predicted_mean, rtol=1e-4)
    np.testing.assert_allclose(se, np.sqrt(ref.var_pred_mean), rtol=2e-3)


def test_kpss_matches_statsmodels(rng):
    for x in (rng.normal(size=300), np.cumsum(rng.normal(size=300))):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = kpss(x, regression="c", nlags=int(4 * (300 / 100) ** 0.25))[0]
        assert K.kpss_stat(x) == pytest.approx(ref, rel=1e-10)
    # a 5 % test: white noise is left alone and random walks differenced once, nearly always
    assert sum(K.ndiffs(rng.normal(size=300)) == 0 for _ in range(20)) >= 16
    assert sum(K.ndiffs(np.cumsum(rng.normal(size=300))) == 1 for _ in range(20)) >= 16


def test_css_fit_recovers_parameters(rng):
    w = _arma(rng, [0.6], [0.4], 2000) + 3.0
    x, sigma2, ok = K.fit_css(w, K.Spec(1, 0, 1, mean=True))
    assert ok
    np.testing.assert_allclose(x[:2], [0.6, 0.4], atol=0.06)
    # on long data CSS and exact maximum likelihood agree
    ref = _sm(w, (1, 0, 1)).params  # const, ar, ma, sigma2
    np.testing.assert_allclose(x, [ref[1], ref[2], ref[0]], atol=0.02)
    assert sigma2 == pytest.approx(ref[3], rel=0.02)


# ------------------------------------------------------------------------------------------- AutoARIMA
def test_auto_arima_picks_orders(rng):
    ar = AutoARIMA().fit(_arma(rng, [0.7], [], 400) + 20)
    spec = ar.states_[0]["spec"]
    assert (spec.d, spec.p >= 1, spec.mean) == (0, True, True)
    rw = AutoARIMA().fit(np.cumsum(rng.normal(size=400)))
    assert rw.states_[0]["spec"].d == 1


def test_auto_arima_seasonal_close_to_statsmodels(airline):
    model = AutoARIMA(season_length=12, max_P=1, max_Q=1, max_order=3).fit(airline)
    spec = model.states_[0]["spec"]
    assert spec.m == 12 and spec.D == 1
    fc = model.predict(12, level=[95])
    # the same orders fitted by statsmodels' exact likelihood give nearly the same forecasts
    trend = "t" if spec.mean else "n"
    ref = _sm(airline.to_numpy(), (spec.p, spec.d, spec.q), (spec.P, spec.D, spec.Q, 12), trend=trend).forecast(12)
    np.testing.assert_allclose(fc["AutoARIMA"].to_numpy(), ref, rtol=0.02)
    assert (fc["AutoARIMA-lo-95"] < fc["AutoARIMA"]).all()


def test_auto_arima_final_mle_equals_statsmodels(rng):
    y = _arma(rng, [0.5], [0.3], 150) + 4
    model = AutoARIMA(method="css-ml", d=0).fit(y)
    spec, x = model.states_[0]["spec"], model.states_[0]["params"]
    ref = _sm(y, (spec.p, 0, spec.q), trend="c" if spec.mean else "n").params
    ours = np.r_[x[-1], x[:-1]] if spec.mean else x
    np.testing.assert_allclose(ours, ref[:-1], atol=2e-3)


def test_auto_arima_stepwise_close_to_exhaustive(rng):
    y = _arma(rng, [0.5], [0.4], 300) + 5
    kw = dict(max_p=2, max_q=2, max_order=4, d=0)
    step = AutoARIMA(**kw).fit(y).states_[0]["ic"]
    full = AutoARIMA(stepwise=False, **kw).fit(y).states_[0]["ic"]
    assert full <= step + 1e-6 * abs(step)
    assert step - full < 2.0


def test_auto_arima_update_and_persistence(tmp_path, rng):
    y = pd.Series(_arma(rng, [0.6], [], 220) + 50, index=pd.date_range("2021-01-01", periods=220, freq="h"))
    model = AutoARIMA().fit(y.iloc[:200])
    spec, params = model.states_[0]["spec"], model.states_[0]["params"].copy()
    model.update(y.iloc[200:])
    assert model.states_[0]["spec"] == spec
    np.testing.assert_array_equal(model.states_[0]["params"], params)
    ref = K.forecast_arma(y.to_numpy(), params, model.states_[0]["sigma2"], spec, 6)[0]
    np.testing.assert_allclose(model.predict(6).to_numpy(), ref)
    path = tmp_path / "m.joblib"
    joblib.dump(model, path)
    pd.testing.assert_series_equal(joblib.load(path).predict(6, level=[80])["AutoARIMA"],
                                   model.predict(6, level=[80])["AutoARIMA"])
    c = clone(AutoARIMA(season_length=7))
    assert c.get_params()["season_length"] == 7


def test_auto_arima_panel_parallel(daily_panel):
    one = AutoARIMA(season_length=7, method="css").fit(daily_panel).predict(7)
    two = AutoARIMA(season_length=7, method="css", n_jobs=2).fit(daily_panel).predict(7)
    pd.testing.assert_frame_equal(one, two)
    assert list(one.columns) == ["unique_id", "ds", "AutoARIMA"] and len(one) == 21


def test_auto_arima_auto_season(daily_series):
    pytest.importorskip("tsrnn.features.spectral")
    model = AutoARIMA(season_length="auto").fit(daily_series)
    assert model.states_[0]["spec"].m == 7


def test_auto_arima_bad_arguments():
    with pytest.raises(ValueError, match="season_length"):
        AutoARIMA(season_length=0).fit(np.arange(30.0))
    with pytest.raises(ValueError, match="ic"):
        AutoARIMA(ic="hqic").fit(np.arange(30.0))
    with pytest.raises(ValueError, match="at least 8"):
        AutoARIMA().fit(np.arange(5.0))
