"""Forecasting by reduction to regression: any scikit-learn regressor on lag windows, trained across the panel.

Every series is cut into windows of ``window`` consecutive values and the value(s) that follow each
(:func:`tsrnn.features.make_windows`); the windows of all series form one training set, so one regressor
learns the dynamics shared by the panel (a *global* model, like the gradient-boosting models that won
the M5 competition).

With ``normalize="window"`` each window is standardised by its own mean and standard deviation, inputs and
targets alike, ``z = (x - mean(x_window)) / sd(x_window)``, so that series of any level and scale share a model.

Strategies (Taieb et al., 2012):

* ``"recursive"``: one model of ``y_{t+1}``; the forecast is appended to the window (which is standardised
  afresh) ``h`` times.
* ``"direct"``: one model per step ``j = 1..horizon`` of ``y_{t+j}``; beyond ``horizon`` the direct forecasts
  are appended and the next block is forecast from them (direct-recursive).

Optional feature transformers (e.g. :class:`tsrnn.features.WaveletFeatures`, :class:`tsrnn.features.Periodogram`)
are fitted on the normalised input windows and their outputs are appended to the lags.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone

from .._validation import check_positive_int
from ..base import BaseForecaster, gaussian_intervals
from ..features.spectral import detect_seasonality
from ..features.windows import make_windows

__all__ = ["ReductionForecaster"]


def _default_estimator():
    from sklearn.linear_model import Ridge

    return Ridge(alpha=1.0)


class ReductionForecaster(BaseForecaster):
    """A global scikit-learn regressor on lag windows (recursive or direct multi-step).

    Parameters
    ----------
    estimator : scikit-learn regressor, optional
        Default ``Ridge(alpha=1.0)``. Cloned before fitting (one clone per step for ``"direct"``).
    window : int, optional
        Number of lags. Default: twice the strongest period :func:`tsrnn.features.detect_seasonality` finds on
        the longest series, or the second period if longer (168 on hourly data with a weekly cycle), clipped
        to 8..200; 8 without season; capped so that the longest series still gives a training window.
    strategy : {"recursive", "direct"}, default "recursive"
    horizon : int, default 12
        Steps modelled directly by ``strategy="direct"`` (ignored by ``"recursive"``).
    features : transformer or list of transformers, optional
        Fitted on the normalised input windows; their outputs are appended to the lags.
    normalize : {"window", None}, default "window"
    max_windows : int, optional
        Keep at most this many training windows (the most recent of each series, evenly thinned), to bound
        the cost of slow regressors on long panels.
    random_state : int, optional
        Given to the estimator (if it takes one).

    Attributes
    ----------
    window_ : int
    estimators_ : list
        The fitted regressor(s): one for "recursive", ``horizon`` for "direct".
    features_ : list
        The fitted feature transformers.
    sigma_ : ndarray (n_steps,)
        In-sample residual standard deviation per modelled step, in normalised units.

    Notes
    -----
    Intervals are normal, ``mean ± z * s_j * sd(last window)``, with ``s_j`` the root mean square of the
    ``j``-step errors (in window-sd units) of forecasts made from up to 500 origins spread over the training
    history.
    """

    _is_global = True

    def __init__(self, estimator=None, window: int | None = None, strategy: str = "recursive", horizon: int = 12,
                 features=None, normalize: str | None = "window", max_windows: int | None = None,
                 random_state: int | None = None):
        self.estimator = estimator
        self.window = window
        self.strategy = strategy
        self.horizon = horizon
        self.features = features
        self.normalize = normalize
        self.max_windows = max_windows
        self.random_state = random_state

    def _min_length(self) -> int:
        if self.strategy not in ("recursive", "direct"):
            raise ValueError(f"ReductionForecaster: strategy must be 'recursive' or 'direct', got {self.strategy!r}")
        if self.normalize not in ("window", None):
            raise ValueError(f"ReductionForecaster: normalize must be 'window' or None, got {self.normalize!r}")
        w = self.window
        check_positive_int(w, "window", "ReductionForecaster", allow_none=True)
        return 2

    # ------------------------------------------------------------------ helpers
    def _steps(self) -> int:
        if self.strategy == "recursive":
            return 1
        H = self.horizon
        return check_positive_int(H, "horizon", "ReductionForecaster")

    def _choose_window(self, panel, steps: int) -> int:
        lengths = [len(s) for s in panel.series]
        if self.window is not None:
            w = int(self.window)
        else:
            longest = panel.series[int(np.argmax(lengths))].y
            periods = detect_seasonality(longest)
            w = int(np.clip(max(2 * periods[0], *periods[:2]), 8, 200)) if len(periods) else 8
            w = max(1, min(w, max(lengths) - steps - 1))
        if max(lengths) < w + steps:
            raise ValueError(
                f"ReductionForecaster: no series is long enough for a training window: window={w} + "
                f"{steps} step(s) needs {w + steps} observations, the longest series has {max(lengths)}"
            )
        return w

    def _scale(self, W: np.ndarray):
        """Per-row location and scale of input windows ``W`` (n, window)."""
        if self.normalize is None:
            return np.zeros((len(W), 1)), np.ones((len(W), 1))
        mu = W.mean(axis=1, keepdims=True)
        sd = W.std(axis=1, keepdims=True)
        floor = 1e-8 * np.maximum(np.abs(mu), 1.0)
        return mu, np.where(sd > floor, sd, 1.0)

    def _design(self, Z: np.ndarray) -> np.ndarray:
        parts = [Z] + [np.asarray(f.transform(Z), dtype=float) for f in self.features_]
        return np.hstack(parts) if len(parts) > 1 else Z

    def _training_set(self, panel, w: int, steps: int):
        Xs, Ys = [], []
        for s in panel.series:
            if len(s) < w + steps:
                continue
            X, Y = make_windows(s.y, w, steps)
            Xs.append(X)
            Ys.append(Y)
        X, Y = np.vstack(Xs), np.vstack(Ys)
        if self.max_windows is not None and len(X) > self.max_windows:
            keep = np.linspace(0, len(X) - 1, int(self.max_windows)).round().astype(int)
            X, Y = X[keep], Y[keep]
        return X, Y

    # ------------------------------------------------------------------ hooks
    def _fit_panel(self, panel):
        steps = self._steps()
        w = self._choose_window(panel, steps)
        X, Y = self._training_set(panel, w, steps)
        mu, sd = self._scale(X)
        Z, T = (X - mu) / sd, (Y - mu) / sd
        feats = self.features
        feats = [] if feats is None else list(feats) if isinstance(feats, (list, tuple)) else [feats]
        self.features_ = [clone(f).fit(Z) for f in feats]
        D = self._design(Z)
        base = self.estimator if self.estimator is not None else _default_estimator()
        self.estimators_, sigma = [], []
        for j in range(steps):
            est = clone(base)
            if self.random_state is not None and "random_state" in est.get_params():
                est.set_params(random_state=self.random_state)
            est.fit(D, T[:, j])
            resid = T[:, j] - np.asarray(est.predict(D), dtype=float)
            sigma.append(float(np.sqrt(np.mean(resid**2))))
            self.estimators_.append(est)
        self.window_ = w
        self.sigma_ = np.array(sigma)

    def _last_windows(self, panel) -> np.ndarray:
        w = self.window_
        rows = []
        for s in panel.series:
            y = s.y[-w:]
            rows.append(np.r_[np.full(w - len(y), y[0]), y])  # short series: pad with their first value
        return np.vstack(rows)

    def _forecast(self, W: np.ndarray, h: int) -> np.ndarray:
        """``(n, h)`` forecasts from raw input windows ``W`` (n, window)."""
        out = np.empty((len(W), 0))
        while out.shape[1] < h:  # recursive: one step at a time; direct: blocks of `horizon` steps
            mu, sd = self._scale(W)  # the window is standardised afresh at every step
            D = self._design((W - mu) / sd)
            pred = mu + sd * np.column_stack([np.asarray(e.predict(D), dtype=float) for e in self.estimators_])
            out = np.hstack([out, pred])
            W = np.hstack([W, pred])[:, -self.window_:]
        return out[:, :h]

    def _error_sd(self, panel, h: int) -> np.ndarray:
        """Standard deviation of the ``1..h``-step errors in units of the input window's sd.

        Measured by forecasting from up to ``_N_CALIBRATION`` origins spread evenly over the training history
        (in-sample, so slightly optimistic). Without a series long enough for ``window + h`` values, the
        one-step residual sd grown as ``sqrt(h)`` (recursive) or the per-step residual sds (direct) are used.
        """
        w = self.window_
        origins = [(s.y, o) for s in panel.series for o in range(w, len(s) - h + 1)]
        if not origins:
            steps = np.arange(1, h + 1)
            if self.strategy == "recursive":
                return self.sigma_[0] * np.sqrt(steps)
            j = np.minimum(steps, len(self.sigma_)) - 1
            return self.sigma_[j] * np.sqrt(1 + (steps - 1) // len(self.sigma_))
        pick = np.linspace(0, len(origins) - 1, min(len(origins), self._N_CALIBRATION)).round().astype(int)
        W = np.vstack([origins[i][0][origins[i][1] - w: origins[i][1]] for i in pick])
        truth = np.vstack([origins[i][0][origins[i][1]: origins[i][1] + h] for i in pick])
        _, sd = self._scale(W)
        err = (truth - self._forecast(W, h)) / sd
        return np.sqrt(np.mean(err**2, axis=0))

    _N_CALIBRATION = 500

    def _predict_panel(self, panel, h, X, levels):
        W = self._last_windows(panel)
        out = self._forecast(W, h)
        if not levels:
            return [(mean, {}) for mean in out]
        _, sd_last = self._scale(W)  # errors scale with the last observed window's sd
        sig = self._error_sd(panel, h)
        return [(mean, gaussian_intervals(mean, sig * sd_last[i, 0], levels)) for i, mean in enumerate(out)]
