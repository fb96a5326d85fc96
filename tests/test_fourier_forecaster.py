"""FourierForecaster against statsmodels (OLS and state-space ARIMA with regressors) and known signals."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.tsa.arima.model import ARIMA as SMARIMA

from tsrnn.models import FourierForecaster
from tsrnn.utils.estimator_checks import check_estimator


def _design(t, spec):
    cols = [np.ones(len(t))]
    for p, K in spec:
        for k in range(1, K + 1):
            cols += [np.sin(2 * np.pi * k * t / p), np.cos(2 * np.pi * k * t / p)]
    return np.column_stack(cols)


def _hourly(n=24 * 7 * 4, seed=0, ar=0.0):
    r = np.random.default_rng(seed)
    t = np.arange(n)
    e = np.zeros(n)
    z = r.normal(0, 1.0, n)
    for i in range(n):
        e[i] = ar * (e[i - 1] if i else 0) + z[i]
    y = (50 + 8 * np.sin(2 * np.pi * t / 24) + 3 * np.cos(4 * np.pi * t / 24) + 5 * np.sin(2 * np.pi * t / 168 + 0.5)
         + e)
    return pd.Series(y, index=pd.date_range("2022-01-03", periods=n, freq="h"))


@pytest.mark.parametrize("method", ["two-step", "mle"])
def test_conformance(method):
    check_estimator(FourierForecaster(method=method))


def test_plain_harmonic_regression_equals_ols():
    y = _hourly()
    n = len(y)
    f = FourierForecaster(periods=[24, 168], orders=[3, 2], arima_order=(0, 0, 0)).fit(y)
    ols = sm.OLS(y.to_numpy(), _design(np.arange(n), [(24, 3), (168, 2)])).fit()
    np.testing.assert_allclose(f.states_[0]["coef"], ols.params, rtol=1e-8, atol=1e-8)
    fut = _design(np.arange(n, n + 48), [(24, 3), (168, 2)])
    np.testing.assert_allclose(f.predict(48).to_numpy(), ols.predict(fut), rtol=1e-10)
    assert f.states_[0]["sigma"] == pytest.approx(np.sqrt(ols.scale))
    iv = f.predict(48, level=[95])
    np.testing.assert_allclose(iv["FourierForecaster-hi-95"] - iv["FourierForecaster"], 1.959964 * np.sqrt(ols.scale),
                               rtol=1e-5)


def test_mle_equals_statsmodels_arima_with_regressors():
    y = _hourly(ar=0.6)
    n = len(y)
    f = FourierForecaster(periods=[24, 168], orders=[2, 1], arima_order=(1, 0, 0), method="mle").fit(y)
    D = _design(np.arange(n), [(24, 2), (168, 1)])[:, 1:]
    ref = SMARIMA(y.to_numpy(), exog=D, order=(1, 0, 0), trend="c").fit()
    fut = _design(np.arange(n, n + 24), [(24, 2), (168, 1)])[:, 1:]
    np.testing.assert_allclose(f.predict(24).to_numpy(), ref.get_forecast(24, exog=fut).predicted_mean, rtol=1e-6)


def test_two_step_close_to_mle_and_recovers_truth():
    y = _hourly(ar=0.6, seed=3)
    a = FourierForecaster(periods=[24, 168], orders=[2, 1], method="two-step").fit(y)
    b = FourierForecaster(periods=[24, 168], orders=[2, 1], method="mle").fit(y)
    fa, fb = a.predict(48).to_numpy(), b.predict(48).to_numpy()
    assert np.max(np.abs(fa - fb)) < 0.3  # noise sd is 1.25
    coef = a.states_[0]["coef"]
    np.testing.assert_allclose(coef[[1, 4, 5]], [8, 3, 5 * np.cos(0.5)], atol=0.35)  # sin24, cos(2*24), sin168
    phi = a.states_[0]["arima"].params[0]
    assert phi == pytest.approx(0.6, abs=0.08)


def test_auto_periods_and_orders():
    y = _hourly(n=24 * 7 * 5, seed=1)
    f = FourierForecaster().fit(y)
    st = f.states_[0]
    assert sorted(st["periods"]) == [24, 168]
    k24 = st["orders"][st["periods"].index(24)]
    assert 2 <= k24 <= 4  # the signal has harmonics 1 and 2 of the daily cycle
    t = np.arange(len(y), len(y) + 168)
    truth = 50 + 8 * np.sin(2 * np.pi * t / 24) + 3 * np.cos(4 * np.pi * t / 24) + 5 * np.sin(2 * np.pi * t / 168 + 0.5)
    assert np.mean(np.abs(f.predict(168).to_numpy() - truth)) < 0.5


def test_no_season_means_no_terms(rng):
    y = rng.normal(10, 1, 200)
    f = FourierForecaster().fit(y)
    assert f.states_[0]["periods"] == [] and len(f.states_[0]["coef"]) == 1
    assert f.predict(5).to_numpy() == pytest.approx(np.full(5, y.mean()), abs=0.3)


def test_update_keeps_parameters():
    y = _hourly(ar=0.5)
    f = FourierForecaster(periods=[24], orders=2).fit(y.iloc[:-10])
    coef, phi = f.states_[0]["coef"].copy(), f.states_[0]["arima"].params.copy()
    f.update(y.iloc[-10:])
    np.testing.assert_array_equal(f.states_[0]["coef"], coef)
    np.testing.assert_array_equal(f.states_[0]["arima"].params, phi)
    # one-step forecast of regression + AR(1) errors: reg(n) + phi * (y_{n-1} - reg(n-1)), mean-zero errors
    n = len(y)
    D = _design(np.arange(n - 1, n + 1), [(24, 2)])
    reg = D @ coef
    expect = reg[1] + phi[0] * (y.iloc[-1] - reg[0])
    assert f.predict(1).iloc[0] == pytest.approx(expect, rel=1e-6)


def test_exogenous_regressor(rng):
    n = 300
    x = rng.normal(size=n)
    y = pd.Series(5 + 2.5 * x + np.sin(2 * np.pi * np.arange(n) / 12) + rng.normal(0, 0.1, n))
    X = pd.DataFrame({"x": x})
    f = FourierForecaster(periods=[12], orders=1, arima_order=(0, 0, 0)).fit(y, X=X)
    assert f.states_[0]["coef"][-1] == pytest.approx(2.5, abs=0.05)
    out = f.predict(3, X=pd.DataFrame({"x": [0.0, 1.0, 2.0]}))
    assert out.iloc[2] - out.iloc[0] == pytest.approx(5.0 + np.sin(2 * np.pi * 302 / 12) - np.sin(2 * np.pi * 300 / 12),
                                                      abs=0.15)


def test_errors():
    with pytest.raises(ValueError, match="method"):
        FourierForecaster(method="ols").fit(np.arange(30.0))
    with pytest.raises(ValueError, match="periods"):
        FourierForecaster(periods=[1]).fit(np.arange(30.0))
    with pytest.raises(ValueError, match="arima_order"):
        FourierForecaster(arima_order=(1, 0)).fit(np.arange(30.0))


def test_log_models_log_y():
    y = np.exp(_hourly().to_numpy() / 20)
    a = FourierForecaster(periods=[24], orders=2, log=True).fit(y).predict(10, level=[80])
    b = FourierForecaster(periods=[24], orders=2).fit(np.log(y)).predict(10, level=[80])
    np.testing.assert_allclose(a.to_numpy(), np.exp(b.to_numpy()), rtol=1e-10)
    with pytest.raises(ValueError, match="positive"):
        FourierForecaster(log=True).fit(np.r_[1.0, -1.0, np.ones(30)])
