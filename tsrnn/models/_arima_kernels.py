"""Numerical kernels of the ARIMA family: conditional sum of squares (CSS), forecasts with psi-weight
intervals, unit-root tests for the order of differencing.

Notation (Box, Jenkins & Reinsel): a seasonal ARIMA(p, d, q)(P, D, Q)_m model of ``y`` is

.. math::

    \\phi(B)\\,\\Phi(B^m)\\,(w_t - \\mu) = \\theta(B)\\,\\Theta(B^m)\\,e_t, \\qquad
    w_t = (1 - B)^d (1 - B^m)^D y_t,

with :math:`\\phi(B) = 1 - \\sum_i \\phi_i B^i`, :math:`\\theta(B) = 1 + \\sum_j \\theta_j B^j` (statsmodels'
sign convention) and :math:`e_t \\sim N(0, \\sigma^2)`. The CSS residuals follow R's ``arima(method="CSS")``:
residuals before ``ncond = p + m P`` are zero and the recursion starts there. Everything here is vectorised
with :func:`scipy.signal.lfilter`, so one evaluation of the sum of squares costs microseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, signal

__all__ = [
    "Spec", "difference", "diff_poly", "ar_poly", "ma_poly", "css_residuals", "fit_css", "forecast_arma",
    "kpss_stat", "ndiffs", "seasonal_strength", "nsdiffs", "is_stationary",
]


@dataclass(frozen=True)
class Spec:
    """Orders of a seasonal ARIMA model; ``mean`` adds a constant mean of the differenced series."""

    p: int
    d: int
    q: int
    P: int = 0
    D: int = 0
    Q: int = 0
    m: int = 1
    mean: bool = False

    @property
    def n_arma(self) -> int:
        return self.p + self.q + self.P + self.Q

    @property
    def n_params(self) -> int:
        """Estimated coefficients (ARMA + mean), not counting the innovation variance."""
        return self.n_arma + int(self.mean)

    @property
    def ncond(self) -> int:
        return self.p + self.m * self.P

    def split(self, x: np.ndarray):
        """``x = [ar(p), ma(q), sar(P), sma(Q), mean?]`` into its parts."""
        x = np.asarray(x, dtype=float)
        a = self.p
        b = a + self.q
        c = b + self.P
        d = c + self.Q
        return x[:a], x[a:b], x[b:c], x[c:d], (float(x[d]) if self.mean else 0.0)

    def __str__(self) -> str:
        s = f"ARIMA({self.p},{self.d},{self.q})"
        if self.m > 1 and (self.P or self.D or self.Q):
            s += f"({self.P},{self.D},{self.Q})[{self.m}]"
        return s + (" with mean" if self.mean else "")


def diff_poly(d: int, D: int, m: int) -> np.ndarray:
    """Coefficients of :math:`(1 - B)^d (1 - B^m)^D` in powers of ``B``."""
    c = np.array([1.0])
    for _ in range(d):
        c = np.convolve(c, [1.0, -1.0])
    seas = np.zeros(m + 1)
    seas[0], seas[m] = 1.0, -1.0
    for _ in range(D):
        c = np.convolve(c, seas)
    return c


def difference(y: np.ndarray, d: int, D: int = 0, m: int = 1) -> np.ndarray:
    """``(1 - B)^d (1 - B^m)^D y``; shape ``(n - d - m D,)``."""
    c = diff_poly(d, D, m)
    return np.convolve(y, c, mode="valid") if len(c) > 1 else np.asarray(y, dtype=float).copy()


def _lag_poly(coef: np.ndarray, step: int, sign: float) -> np.ndarray:
    out = np.zeros(len(coef) * step + 1)
    out[0] = 1.0
    out[step::step] = sign * np.asarray(coef)
    return out


def _product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if len(b) == 1:
        return a
    if len(a) == 1:
        return b
    return np.convolve(a, b)


def ar_poly(ar, sar, m: int) -> np.ndarray:
    """:math:`\\phi(B)\\Phi(B^m)` as coefficients ``[1, -phi_1, ...]``."""
    return _product(_lag_poly(ar, 1, -1.0), _lag_poly(sar, m, -1.0))


def ma_poly(ma, sma, m: int) -> np.ndarray:
    """:math:`\\theta(B)\\Theta(B^m)` as coefficients ``[1, theta_1, ...]``."""
    return _product(_lag_poly(ma, 1, 1.0), _lag_poly(sma, m, 1.0))


def is_stationary(coef, sign: float = -1.0, tol: float = 1.001) -> bool:
    """True when all roots of ``1 + sign * sum_i coef_i z^i`` lie outside ``|z| = tol``."""
    coef = np.asarray(coef, dtype=float)
    if coef.size == 0 or not np.any(coef):
        return True
    poly = np.r_[1.0, sign * coef]
    nz = np.nonzero(poly)[0][-1]
    roots = np.roots(poly[: nz + 1][::-1])
    return bool(np.all(np.abs(roots) > tol))


def css_residuals(x: np.ndarray, w: np.ndarray, spec: Spec) -> np.ndarray:
    """CSS residuals :math:`e_t`, ``t = ncond .. n-1``, of the differenced series ``w``; shape ``(n - ncond,)``."""
    ar, ma, sar, sma, mu = spec.split(x)
    a = ar_poly(ar, sar, spec.m)
    b = ma_poly(ma, sma, spec.m)
    z = w - mu
    u = np.convolve(z, a, mode="valid") if len(a) > 1 else z  # u_t = phi(B) z_t for t >= ncond
    return signal.lfilter([1.0], b, u) if len(b) > 1 else u


def _admissible(x, spec: Spec) -> bool:
    ar, ma, sar, sma, _ = spec.split(x)
    return (is_stationary(ar) and is_stationary(sar) and is_stationary(ma, 1.0) and is_stationary(sma, 1.0))


def fit_css(w: np.ndarray, spec: Spec, x0: np.ndarray | None = None, max_nfev: int = 200):
    """Minimise the conditional sum of squares of ``w`` under ``spec``.

    Parameters
    ----------
    w : ndarray of shape (n,)
        The differenced series.
    spec : Spec
    x0 : ndarray of shape (spec.n_params,), optional
        Starting values (warm start); zeros and the sample mean otherwise.

    Returns
    -------
    x : ndarray of shape (spec.n_params,)
        ``[ar, ma, sar, sma, mean?]``.
    sigma2 : float
        ``SSE / n_used``, the CSS estimate of the innovation variance.
    ok : bool
        False when the estimate is not stationary / invertible (then the model should not be used).
    """
    k = spec.n_params
    if x0 is None:
        x0 = np.zeros(k)
        if spec.mean:
            x0[-1] = float(np.mean(w))
    if k == 0:
        e = css_residuals(x0, w, spec)
        return x0, float(e @ e / len(e)), True
    scale = max(float(np.std(w)), 1e-8)

    def resid(x):
        with np.errstate(all="ignore"):
            e = css_residuals(x, w, spec) / scale
        return np.where(np.isfinite(e), e, 1e6)

    method = "lm" if len(w) - spec.ncond > k else "trf"
    try:
        sol = optimize.least_squares(resid, x0, method=method, max_nfev=max_nfev * (k + 1), x_scale="jac")
        x = sol.x
    except (ValueError, np.linalg.LinAlgError):  # pragma: no cover - defensive
        x = x0
    e = css_residuals(x, w, spec)
    sigma2 = float(e @ e / len(e)) if len(e) else np.inf
    ok = bool(np.isfinite(sigma2) and _admissible(x, spec))
    return x, sigma2, ok


def forecast_arma(y: np.ndarray, x: np.ndarray, sigma2: float, spec: Spec, h: int):
    """Forecasts of ``y`` and their standard errors ``h`` steps ahead.

    The differenced series is extended by the ARMA recursion with future innovations set to zero, then
    integrated back through :math:`(1-B)^d(1-B^m)^D`. Standard errors use the psi weights of the full
    (integrated) model, :math:`\\mathrm{se}_h^2 = \\sigma^2 \\sum_{j<h} \\psi_j^2`, where
    :math:`\\psi(B) = \\theta(B)\\Theta(B^m) / (\\phi(B)\\Phi(B^m)(1-B)^d(1-B^m)^D)`.

    Returns
    -------
    mean, se : ndarrays of shape (h,)
    """
    ar, ma, sar, sma, mu = spec.split(x)
    a = ar_poly(ar, sar, spec.m)
    b = ma_poly(ma, sma, spec.m)
    c = diff_poly(spec.d, spec.D, spec.m)
    w = difference(y, spec.d, spec.D, spec.m)
    e = np.zeros(len(w))
    e[spec.ncond:] = css_residuals(x, w, spec)
    z = np.r_[w - mu, np.zeros(h)]
    ee = np.r_[e, np.zeros(h)]
    n = len(w)
    for t in range(n, n + h):
        ar_part = -sum(a[k] * z[t - k] for k in range(1, len(a)) if t - k >= 0)
        ma_part = sum(b[k] * ee[t - k] for k in range(1, len(b)) if 0 <= t - k < n)
        z[t] = ar_part + ma_part
    wf = z[n:] + mu
    yy = np.r_[np.asarray(y, dtype=float), np.zeros(h)]
    N = len(y)
    for t in range(N, N + h):  # y_t = w_t - sum_{k>=1} c_k y_{t-k}
        yy[t] = wf[t - N] - float(c[1:] @ yy[t - np.arange(1, len(c))])
    full_ar = np.convolve(a, c)
    impulse = np.zeros(h)
    impulse[0] = 1.0
    psi = signal.lfilter(b, full_ar, impulse)
    se = np.sqrt(sigma2 * np.cumsum(psi**2))
    return yy[N:], se


# ------------------------------------------------------------------------------- orders of differencing


def kpss_stat(x: np.ndarray, nlags: int | None = None) -> float:
    """KPSS level-stationarity statistic (Kwiatkowski et al. 1992) with Bartlett long-run variance.

    :math:`\\eta = n^{-2} \\sum_t S_t^2 / \\hat\\lambda^2`, :math:`S_t` the partial sums of ``x - mean(x)``,
    :math:`\\hat\\lambda^2 = \\gamma_0 + 2 \\sum_{k=1}^{l} (1 - k/(l+1)) \\gamma_k`; default
    :math:`l = \\lfloor 4 (n/100)^{1/4} \\rfloor` (R urca's ``lags="short"``).
    """
    x = np.asarray(x, dtype=float)
    n = len(x)
    e = x - x.mean()
    if nlags is None:
        nlags = int(4 * (n / 100) ** 0.25)
    nlags = min(nlags, n - 1)
    s = np.cumsum(e)
    lrv = e @ e / n
    for k in range(1, nlags + 1):
        lrv += 2 * (1 - k / (nlags + 1)) * (e[k:] @ e[:-k]) / n
    if lrv <= 0:
        return 0.0
    return float(s @ s / n**2 / lrv)


KPSS_CRIT_05 = 0.463  # 5 % critical value of the level-stationarity test


def ndiffs(x: np.ndarray, max_d: int = 2) -> int:
    """Number of first differences by repeated KPSS tests at the 5 % level (as ``forecast::ndiffs``)."""
    x = np.asarray(x, dtype=float)
    d = 0
    while d < max_d and len(x) > 3 and np.ptp(x) > 0 and kpss_stat(x) > KPSS_CRIT_05:
        x = np.diff(x)
        d += 1
    return d


def seasonal_strength(x: np.ndarray, m: int) -> float:
    """Strength of seasonality :math:`F_S = \\max(0, 1 - \\mathrm{Var}(R) / \\mathrm{Var}(S + R))` from STL.

    (Wang, Smith & Hyndman 2006; the ``"seas"`` test of ``forecast::nsdiffs``.)
    """
    from statsmodels.tsa.seasonal import STL

    res = STL(np.asarray(x, dtype=float), period=m, robust=False).fit()
    vr = np.var(res.resid)
    vsr = np.var(res.seasonal + res.resid)
    return float(max(0.0, 1.0 - vr / vsr)) if vsr > 0 else 0.0


def nsdiffs(x: np.ndarray, m: int, max_D: int = 1, threshold: float = 0.64) -> int:
    """Number of seasonal differences: ``1`` while the seasonal strength exceeds ``threshold``."""
    x = np.asarray(x, dtype=float)
    D = 0
    while D < max_D and m > 1 and len(x) >= 2 * m + 1 and np.ptp(x) > 0 and seasonal_strength(x, m) > threshold:
        x = x[m:] - x[:-m]
        D += 1
    return D
