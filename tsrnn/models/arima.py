"""ARIMA family: :class:`ARIMA` with fixed orders (on statsmodels) and :class:`AutoARIMA` (fast stepwise search).

A seasonal ARIMA(p, d, q)(P, D, Q)_m model with regressors ``X`` is (regression with ARIMA errors)

.. math::

    y_t = X_t \\beta + \\eta_t, \\qquad
    \\phi(B)\\Phi(B^m)(1-B)^d(1-B^m)^D \\eta_t = \\theta(B)\\Theta(B^m) e_t, \\quad e_t \\sim N(0, \\sigma^2).

AR, MA and ARMA are the special orders ``(p, 0, 0)``, ``(0, 0, q)`` and ``(p, 0, q)``.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_positive_int
from ..base import BaseForecaster, gaussian_intervals
from . import _arima_kernels as K
from ._sm import filtered_forecast, quiet

__all__ = ["ARIMA", "AutoARIMA"]


def _check_order(order, n: int, owner: str, what: str) -> tuple:
    try:
        t = tuple(int(v) for v in order)
        bad = len(t) != n or any(v < 0 for v in t) or any(isinstance(v, bool) for v in order)
    except (TypeError, ValueError):
        bad = True
    if bad:
        raise ValueError(f"{owner}: {what} must be a tuple of {n} non-negative integers, got {order!r}")
    return t


class ARIMA(BaseForecaster):
    """Seasonal ARIMA with fixed orders, estimated by exact maximum likelihood (statsmodels state space).

    Forecasts are those of :class:`statsmodels.tsa.arima.model.ARIMA` with the same orders and trend.

    Parameters
    ----------
    order : tuple (p, d, q), default (1, 0, 0)
    seasonal_order : tuple (P, D, Q, m), default (0, 0, 0, 0)
    trend : {None, "n", "c", "t", "ct"}, default None
        statsmodels' trend; ``None`` means a constant when there is no differencing, none otherwise.
    n_jobs : int, default 1
        Series fitted in parallel (panels).

    Attributes
    ----------
    states_ : list of dict
        Per series: the estimated ``params`` (statsmodels order) and the history.
    """

    _supports_exog = True

    @classmethod
    def _test_params(cls) -> dict:
        return {"order": (1, 0, 1)}

    def __init__(self, order=(1, 0, 0), seasonal_order=(0, 0, 0, 0), trend=None, n_jobs: int = 1):
        self.order = order
        self.seasonal_order = seasonal_order
        self.trend = trend
        self.n_jobs = n_jobs

    def _orders(self):
        p, d, q = _check_order(self.order, 3, "ARIMA", "order")
        P, D, Q, m = _check_order(self.seasonal_order, 4, "ARIMA", "seasonal_order")
        if (P or D or Q) and m < 2:
            raise ValueError(f"ARIMA: a seasonal order needs a period m >= 2, got seasonal_order={self.seasonal_order}")
        return (p, d, q), (P, D, Q, m)

    def _min_length(self) -> int:
        (p, d, q), (P, D, Q, m) = self._orders()
        n_par = p + q + P + Q + 2
        return d + D * m + max(p + P * m, q + Q * m) + n_par

    def _model(self, y, X):
        from statsmodels.tsa.arima.model import ARIMA as SMARIMA

        order, sorder = self._orders()
        return SMARIMA(y, exog=X, order=order, seasonal_order=sorder, trend=self.trend)

    def _fit_series(self, y, X):
        with quiet():
            res = self._model(y, X).fit()
        return {"params": np.asarray(res.params), "y": y, "X": X}

    def _update_series(self, state, y, X, n_new):
        return {"params": state["params"], "y": y, "X": X}

    def _predict_series(self, state, h, X, levels):
        return filtered_forecast("ARIMA", self._model(state["y"], state["X"]), state, h, X, levels)


class AutoARIMA(BaseForecaster):
    """Automatic seasonal ARIMA in the stepwise spirit of Hyndman & Khandakar (2008).

    1. ``D`` from the STL seasonal strength (``> 0.64``, ``forecast::nsdiffs``' default), then ``d`` from
       repeated KPSS tests at 5 % on the seasonally differenced series.
    2. Stepwise search over ``(p, q, P, Q)`` and the constant: start from (2,2)(1,1), (0,0)(0,0),
       (1,0)(1,0), (0,1)(0,1); move to the best neighbour (each order ±1, p and q together, P and Q together,
       constant on/off) while the information criterion improves. Candidates are ranked by conditional sum
       of squares (CSS) fits with a vectorised kernel, warm-started from the current best model, on a common
       conditioning window so that their criteria are comparable.
    3. The chosen model gets one exact maximum-likelihood fit (statsmodels SARIMAX on the differenced series,
       started at the CSS estimate) when ``method="css-ml"``. ``method="auto"`` (default) does so only when the
       state dimension ``max(p + mP, q + mQ + 1)`` is at most ``13``: for hourly data with a 24-period
       seasonal part the Kalman filter of statsmodels costs seconds to tens of seconds per fit, and the CSS
       estimate (on several hundred observations) forecasts as well (see ``benchmarks/auto_arima_speed.py``).

    Forecasts extend the ARMA recursion and integrate back; intervals use the psi weights of the integrated
    model, ``se_h^2 = sigma^2 * sum_{j<h} psi_j^2``.

    Parameters
    ----------
    season_length : int or "auto", default 1
        The period ``m``; ``"auto"`` takes the strongest period of :func:`tsrnn.features.detect_seasonality`.
    max_p, max_q, max_P, max_Q, max_order : int
        Bounds of the search (``max_order`` bounds ``p + q + P + Q``).
    max_d, max_D : int
        Bounds on the orders of differencing.
    d, D : int or None
        Fixed orders of differencing (``None`` chooses them by test).
    ic : {"aicc", "aic", "bic"}, default "aicc"
    method : {"auto", "css-ml", "css"}, default "auto"
        ``"css"`` skips the final maximum-likelihood fit (fastest); ``"css-ml"`` always does it.
    stepwise : bool, default True
        ``False`` evaluates every order within the bounds (slow; for checks).
    n_jobs : int, default 1

    Attributes
    ----------
    states_ : list of dict
        Per series: the chosen ``spec`` (a :class:`tsrnn.models._arima_kernels.Spec`), ``params``, ``sigma2``
        and the ``ic`` value.
    """

    @classmethod
    def _test_params(cls) -> dict:
        return {"season_length": 7, "max_order": 3, "method": "css"}

    def __init__(self, season_length=1, max_p: int = 5, max_q: int = 5, max_P: int = 2, max_Q: int = 2,
                 max_order: int = 5, max_d: int = 2, max_D: int = 1, d=None, D=None, ic: str = "aicc",
                 method: str = "auto", stepwise: bool = True, n_jobs: int = 1):
        self.season_length = season_length
        self.max_p = max_p
        self.max_q = max_q
        self.max_P = max_P
        self.max_Q = max_Q
        self.max_order = max_order
        self.max_d = max_d
        self.max_D = max_D
        self.d = d
        self.D = D
        self.ic = ic
        self.method = method
        self.stepwise = stepwise
        self.n_jobs = n_jobs

    # -------------------------------------------------------------------------------- checks
    def _check(self):
        if self.ic not in ("aicc", "aic", "bic"):
            raise ValueError(f"AutoARIMA: ic must be 'aicc', 'aic' or 'bic', got {self.ic!r}")
        if self.method not in ("auto", "css-ml", "css"):
            raise ValueError(f"AutoARIMA: method must be 'auto', 'css-ml' or 'css', got {self.method!r}")
        m = self.season_length
        if not (isinstance(m, str) and m == "auto"):
            check_positive_int(m, "season_length", "AutoARIMA", alternatives="'auto'")

    def _min_length(self) -> int:
        self._check()
        return 8

    def _period(self, y) -> int:
        if self.season_length != "auto":
            return int(self.season_length)
        from ..features import detect_seasonality

        cands = [int(c) for c in detect_seasonality(y) if 2 <= int(c) <= len(y) // 3]
        return cands[0] if cands else 1

    # -------------------------------------------------------------------------------- search
    def _score(self, loglik: float, k: int, n: int) -> float:
        if self.ic == "aic":
            return -2 * loglik + 2 * k
        if self.ic == "bic":
            return -2 * loglik + k * np.log(n)
        return -2 * loglik + 2 * k + (2 * k * (k + 1) / (n - k - 1) if n - k - 1 > 0 else np.inf)

    def _fit_series(self, y, X):
        self._check()
        with quiet():
            return self._search(y)

    def _search(self, y):
        """Differencing orders by test, then the (p, q, P, Q, constant) search; the best model refined by MLE."""
        m = self._period(y)
        seasonal = m > 1 and len(y) >= 2 * m + 2
        m = m if seasonal else 1
        D = (self.D if self.D is not None else K.nsdiffs(y, m, self.max_D)) if seasonal else 0
        d = self.d if self.d is not None else K.ndiffs(K.difference(y, 0, D, m), self.max_d)
        w = K.difference(y, d, D, m)
        if len(w) < 4:
            raise ValueError(f"AutoARIMA: series of {len(y)} observations is too short after differencing (d={d}, D={D})")
        search = _OrderSearch(self, w, d, D, m, seasonal)
        search.stepwise() if self.stepwise else search.grid()
        best = search.best()
        if best is None:  # nothing admissible: white noise on the differenced series
            spec = K.Spec(0, d, 0, 0, D, 0, m, search.allow_mean)
            x, sigma2, _ = K.fit_css(w, spec)
            return {"spec": spec, "params": x, "sigma2": sigma2, "ic": np.nan, "y": y}
        score, (spec, x, sigma2) = best
        small = max(spec.p + spec.m * spec.P, spec.q + spec.m * spec.Q + 1) <= 13
        if self.method == "css-ml" or (self.method == "auto" and small):
            x, sigma2 = self._mle(w, spec, x, sigma2)
        return {"spec": spec, "params": x, "sigma2": sigma2, "ic": score, "y": y}

    @staticmethod
    def _mle(w, spec: K.Spec, x, sigma2):
        """One exact-likelihood fit (statsmodels SARIMAX on the differenced series), started at the CSS fit."""
        from statsmodels.tsa.statespace.sarimax import SARIMAX

        ar, ma, sar, sma, mu = spec.split(x)
        exog = np.ones((len(w), 1)) if spec.mean else None
        try:
            with quiet():
                mod = SARIMAX(w, exog=exog, order=(spec.p, 0, spec.q),
                              seasonal_order=(spec.P, 0, spec.Q, spec.m) if spec.m > 1 else (0, 0, 0, 0))
                start = np.r_[[mu] if spec.mean else [], ar, ma, sar, sma, sigma2]
                res = mod.fit(start_params=start, disp=False, maxiter=50)
            par = np.asarray(res.params)
        except (ValueError, np.linalg.LinAlgError):  # pragma: no cover - keep the CSS estimate
            return x, sigma2
        k0 = int(spec.mean)
        arma = par[k0:k0 + spec.n_arma]
        new = np.r_[arma, par[:1]] if spec.mean else arma
        s2 = float(par[-1])
        if not (np.all(np.isfinite(new)) and s2 > 0 and K._admissible(new, spec)):
            return x, sigma2
        e = K.css_residuals(new, w, spec)
        return new, float(e @ e / len(e)) if len(e) else s2

    def _update_series(self, state, y, X, n_new):
        return {**state, "y": y}

    def _predict_series(self, state, h, X, levels):
        mean, se = K.forecast_arma(state["y"], state["params"], state["sigma2"], state["spec"], h)
        return mean, gaussian_intervals(mean, se, levels)


_STEPWISE_MOVES = [(-1, 0, 0, 0), (1, 0, 0, 0), (0, -1, 0, 0), (0, 1, 0, 0), (-1, -1, 0, 0), (1, 1, 0, 0),
                   (0, 0, -1, 0), (0, 0, 1, 0), (0, 0, 0, -1), (0, 0, 0, 1), (0, 0, -1, -1), (0, 0, 1, 1)]


class _OrderSearch:
    """The (p, q, P, Q, constant) search of :class:`AutoARIMA` on one differenced series ``w``.

    ``fits`` maps each evaluated key ``(p, q, P, Q, mean)`` to ``(score, (spec, params, sigma2))`` (or
    ``(inf, None)`` when the key is outside the bounds); ``stepwise`` and ``grid`` fill it, ``best`` reads it.
    Every candidate is scored on the same conditioning window ``ncond`` so that their criteria compare.
    """

    def __init__(self, est: AutoARIMA, w, d: int, D: int, m: int, seasonal: bool):
        self.est, self.w, self.d, self.D, self.m = est, w, d, D, m
        max_P = est.max_P if seasonal else 0
        self.max_Q = est.max_Q if seasonal else 0
        # the common conditioning window of the ranking: what the largest model needs, at most half the data
        self.ncond = min(est.max_p + m * max_P, len(w) // 2)
        self.max_P = min(max_P, self.ncond // m) if seasonal else 0
        self.seasonal = seasonal
        self.allow_mean = d + D <= 1
        self.fits: dict = {}

    def _admissible(self, key, spec) -> bool:
        p, q, P, Q, mean = key
        e = self.est
        return not (p > e.max_p or q > e.max_q or P > self.max_P or Q > self.max_Q or min(key[:4]) < 0
                    or p + q + P + Q > e.max_order or spec.ncond > self.ncond or (mean and not self.allow_mean))

    def evaluate(self, key, x0=None) -> float:
        """The criterion of ``key`` (CSS fit, cached in ``fits``)."""
        if key in self.fits:
            return self.fits[key][0]
        spec = K.Spec(key[0], self.d, key[1], key[2], self.D, key[3], self.m, key[4])
        if not self._admissible(key, spec):
            self.fits[key] = (np.inf, None)
            return np.inf
        x, sigma2, ok = K.fit_css(self.w, spec, x0=x0)
        score = np.inf
        if ok and sigma2 > 0:
            e = K.css_residuals(x, self.w, spec)[self.ncond - spec.ncond:]
            nu = len(e)
            s2 = float(e @ e / nu)
            if s2 > 0:
                loglik = -0.5 * nu * (np.log(2 * np.pi * s2) + 1)
                score = self.est._score(loglik, spec.n_params + 1, nu)
        self.fits[key] = (score, (spec, x, sigma2))
        return score

    def warm(self, key_from, key_to):
        """Starting values for ``key_to`` from the fit of ``key_from`` (shared coefficients kept)."""
        res = self.fits.get(key_from, (None, None))[1]
        if res is None:
            return None
        spec, x, _ = res
        ar, ma, sar, sma, mu = spec.split(x)
        p, q, P, Q, mean = key_to

        def fitlen(v, k):
            return np.r_[v[:k], np.zeros(max(0, k - len(v)))]

        out = np.r_[fitlen(ar, p), fitlen(ma, q), fitlen(sar, P), fitlen(sma, Q)]
        if mean:
            out = np.r_[out, mu if spec.mean else float(np.mean(self.w))]
        return out

    def _start(self):
        """The best of the four starting models."""
        starts = [(2, 2, 1, 1), (0, 0, 0, 0), (1, 0, 1, 0), (0, 1, 0, 1)]
        if not self.seasonal:
            starts = [(p, q, 0, 0) for p, q, _, _ in starts]
        e = self.est
        best, best_score = None, np.inf
        for p, q, P, Q in starts:
            key = (min(p, e.max_p), min(q, e.max_q), min(P, self.max_P), min(Q, self.max_Q), self.allow_mean)
            s = self.evaluate(key)
            if s < best_score:
                best, best_score = key, s
        return best, best_score

    def stepwise(self) -> None:
        """Move to the best neighbour while the criterion improves (at most 100 moves)."""
        best, best_score = self._start()
        for _ in range(100):
            if best is None:
                break
            p, q, P, Q, c = best
            moves = [(p + a, q + b, P + A, Q + B, c) for a, b, A, B in _STEPWISE_MOVES]
            if self.allow_mean:
                moves.append((p, q, P, Q, not c))
            improved = False
            for key in moves:
                s = self.evaluate(key, x0=self.warm(best, key)) if key not in self.fits else self.fits[key][0]
                if s < best_score - 1e-9:
                    best, best_score, improved = key, s, True
            if not improved:
                break

    def grid(self) -> None:
        """Every order within the bounds."""
        for p in range(self.est.max_p + 1):
            for q in range(self.est.max_q + 1):
                for P in range(self.max_P + 1):
                    for Q in range(self.max_Q + 1):
                        for c in ([True, False] if self.allow_mean else [False]):
                            self.evaluate((p, q, P, Q, c))

    def best(self):
        """``(score, (spec, params, sigma2))`` of the lowest finite criterion, or None."""
        ranked = sorted(((sc, k) for k, (sc, r) in self.fits.items() if r is not None and np.isfinite(sc)),
                        key=lambda t: t[0])
        return (ranked[0][0], self.fits[ranked[0][1]][1]) if ranked else None
