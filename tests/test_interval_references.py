"""Interval values of each model against an independent reference (issue 20, item 7).

Each model's interval is rebuilt here from the textbook formula, by hand, from the fitted parameters: the model's
code (or statsmodels inside it) is never compared with itself. References:

* Theta: SES with drift (Hyndman and Billah, 2003); ``se_h = sigma sqrt(1 + (h - 1) alpha^2)``.
* AutoARIMA (CSS): conditional least squares of an AR(1) is ordinary least squares of ``y_t`` on ``y_{t-1}``;
  CSS's ``sigma^2`` is the residual sum of squares over the number of residuals (R's ``arima(method="CSS")``).
* ARIMA: Box-Jenkins psi weights, ``se_h^2 = sigma^2 sum_{j<h} psi_j^2``.
* ETS: Hyndman, Koehler, Ord and Snyder (2008), Table 6.1, with the maximum-likelihood ``sigma^2 = SSE / n``.
* StateSpace: the local level model's Kalman filter written out (Durbin and Koopman, 2012, ch. 2).
* FourierForecaster: OLS on the harmonics by numpy's lstsq, AR(1) errors by the psi weights.
"""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tsrnn.models import ARIMA, ETS, AutoARIMA, FourierForecaster, StateSpace, Theta

Z95 = stats.norm.ppf(0.975)
H = np.arange(1, 7)


def _half_width(f: pd.DataFrame, name: str) -> np.ndarray:
    hi, lo = f[f"{name}-hi-95"].to_numpy(), f[f"{name}-lo-95"].to_numpy()
    return (hi - lo) / (2 * Z95)


def _ar1(n, phi, mu, seed, sigma=1.0):
    r = np.random.default_rng(seed)
    y = np.empty(n)
    y[0] = mu
    for t in range(1, n):
        y[t] = mu + phi * (y[t - 1] - mu) + sigma * r.normal()
    return y


def test_theta_standard_error_by_hand():
    r = np.random.default_rng(3)
    n = 90
    y = 50 + 0.3 * np.arange(n) + np.cumsum(r.normal(0, 1, n)) * 0.5 + r.normal(0, 1, n)
    est = Theta().fit(y)
    st = est.states_[0]
    alpha, l0 = st["alpha"], st["l0"]
    t = np.arange(1, n + 1)
    slope, intercept = np.polyfit(t, y, 1)
    line = intercept + slope * t
    z = 2 * y - line
    level, zhat = l0, np.empty(n)
    for i in range(n):  # SES one-step forecasts of the theta=2 line
        zhat[i] = level
        level = level + alpha * (z[i] - level)
    resid = y - (0.5 * zhat + 0.5 * line)
    sigma = np.sqrt(resid @ resid / (n - 3))
    f = est.predict(len(H), level=[95])
    np.testing.assert_allclose(f["Theta"], 0.5 * level + 0.5 * (intercept + slope * (n + H)), rtol=1e-9)
    np.testing.assert_allclose(_half_width(f, "Theta"), sigma * np.sqrt(1 + (H - 1) * alpha**2), rtol=1e-9)


def test_autoarima_css_sigma2_is_ols_rss_over_n():
    y = _ar1(200, 0.7, 20.0, 0)
    est = AutoARIMA(season_length=1, max_p=1, max_q=0, max_d=0, d=0, method="css").fit(y)
    X = np.column_stack([np.ones(len(y) - 1), y[:-1]])
    (c, phi), *_ = np.linalg.lstsq(X, y[1:], rcond=None)
    e = y[1:] - X @ [c, phi]
    sigma2 = e @ e / len(e)  # CSS: divided by the number of residuals, no degrees-of-freedom correction
    f = est.predict(len(H), level=[95])
    mu = c / (1 - phi)
    np.testing.assert_allclose(f["AutoARIMA"], mu + phi**H * (y[-1] - mu), rtol=1e-6)
    psi2 = np.cumsum(phi ** (2 * (H - 1)))
    np.testing.assert_allclose(_half_width(f, "AutoARIMA"), np.sqrt(sigma2 * psi2), rtol=1e-6)


def test_arima_psi_weight_variances():
    y = _ar1(150, 0.6, 5.0, 1)
    est = ARIMA(order=(1, 0, 0)).fit(y)
    const, phi, s2 = est.states_[0]["params"]
    f = est.predict(len(H), level=[95])
    np.testing.assert_allclose(f["ARIMA"], const + phi**H * (y[-1] - const), rtol=1e-8)
    np.testing.assert_allclose(_half_width(f, "ARIMA"), np.sqrt(s2 * np.cumsum(phi ** (2 * (H - 1)))), rtol=1e-8)
    # ARIMA(0,1,1): psi_0 = 1, psi_j = 1 + theta
    w = np.cumsum(np.random.default_rng(2).normal(size=120)) + 30
    est = ARIMA(order=(0, 1, 1)).fit(w)
    theta, s2 = est.states_[0]["params"]
    f = est.predict(len(H), level=[95])
    np.testing.assert_allclose(_half_width(f, "ARIMA"), np.sqrt(s2 * (1 + (H - 1) * (1 + theta) ** 2)), rtol=1e-6)


def _ses_series(n, alpha, seed, trend=0.0):
    r = np.random.default_rng(seed)
    level, y = 10.0, []
    for _ in range(n):
        e = r.normal()
        y.append(level + e)
        level = level + alpha * e
    return pd.Series(np.array(y) + trend * np.arange(n))


def test_ets_ann_and_aan_variances_from_hyndman_2008():
    y = _ses_series(80, 0.3, 1)
    est = ETS(error="add", trend=None, seasonal=None).fit(y)
    a, level = est.states_[0]["params"]
    e = []
    for v in y:
        e.append(v - level)
        level += a * e[-1]
    s2 = np.dot(e, e) / len(y)
    f = est.predict(len(H), level=[95])
    np.testing.assert_allclose(f["ETS"], level, rtol=1e-9)
    np.testing.assert_allclose(_half_width(f, "ETS"), np.sqrt(s2 * (1 + (H - 1) * a**2)), rtol=1e-7)
    y2 = _ses_series(80, 0.3, 2, trend=0.5)
    est = ETS(error="add", trend="add", seasonal=None, damped=False).fit(y2)
    a, b, level, slope = est.states_[0]["params"]
    e = []
    for v in y2:
        e.append(v - level - slope)
        level, slope = level + slope + a * e[-1], slope + b * e[-1]
    s2 = np.dot(e, e) / len(y2)
    var = 1 + (H - 1) * (a**2 + a * b * H + b**2 * H * (2 * H - 1) / 6)
    f = est.predict(len(H), level=[95])
    np.testing.assert_allclose(f["ETS"], level + H * slope, rtol=1e-9)
    np.testing.assert_allclose(_half_width(f, "ETS"), np.sqrt(s2 * var), rtol=1e-7)


def test_statespace_local_level_kalman_filter_by_hand():
    r = np.random.default_rng(4)
    mu = np.cumsum(r.normal(0, 0.5, 100)) + 20
    y = mu + r.normal(0, 1.0, 100)
    est = StateSpace().fit(y)
    s_eps, s_eta = est.states_[0]["params"]
    a, P = y[0], s_eps + s_eta  # exact diffuse start: after y_1 the level is y_1 with variance s_eps + s_eta
    for v in y[1:]:
        F = P + s_eps
        K = P / F
        a, P = a + K * (v - a), P * (1 - K) + s_eta
    f = est.predict(len(H), level=[95])
    np.testing.assert_allclose(f["StateSpace"], a, rtol=1e-6)
    np.testing.assert_allclose(_half_width(f, "StateSpace"), np.sqrt(P + (H - 1) * s_eta + s_eps), rtol=1e-6)


def test_fourier_two_step_regression_with_ar1_errors():
    n, period = 120, 12.0
    t = np.arange(n)
    u = _ar1(n, 0.5, 0.0, 5, sigma=0.5)
    y = 10 + 3 * np.sin(2 * np.pi * t / period) + np.cos(4 * np.pi * t / period) + u
    est = FourierForecaster(periods=[period], orders=[2], arima_order=(1, 0, 0)).fit(y)
    cols = lambda s: np.column_stack([np.ones(len(s))] + [f(2 * np.pi * k * s / period) for k in (1, 2)  # noqa: E731
                                                         for f in (np.sin, np.cos)])
    coef, *_ = np.linalg.lstsq(cols(t), y, rcond=None)
    resid = y - cols(t) @ coef
    phi, s2 = est.states_[0]["arima"].params
    tf = np.arange(n, n + len(H))
    f = est.predict(len(H), level=[95])
    np.testing.assert_allclose(f["FourierForecaster"], cols(tf) @ coef + phi**H * resid[-1], rtol=1e-6)
    np.testing.assert_allclose(_half_width(f, "FourierForecaster"), np.sqrt(s2 * np.cumsum(phi ** (2 * (H - 1)))),
                               rtol=1e-6)


@pytest.mark.parametrize("model, name", [(Theta(), "Theta"), (ETS(error="add", trend=None, seasonal=None), "ETS")])
def test_simulated_coverage_of_ses_like_models(model, name):
    """Monte Carlo reference: on series drawn from the SES model itself, 80 % intervals cover about 80 %."""
    hits = []
    for seed in range(60):
        y = _ses_series(70, 0.4, 100 + seed)
        fit, test = y.iloc[:64], y.iloc[64:].to_numpy()
        f = type(model)(**model.get_params()).fit(fit).predict(6, level=[80])
        hits.append((test >= f[f"{name}-lo-80"].to_numpy()) & (test <= f[f"{name}-hi-80"].to_numpy()))
    assert 0.72 <= np.mean(hits) <= 0.90
