"""Linear-Gaussian structural state space model (the toolkit's dynamic Bayesian network).

A basic structural model (Harvey 1989) on statsmodels' :class:`~statsmodels.tsa.statespace.structural.
UnobservedComponents`, estimated by maximum likelihood with the Kalman filter:

.. math::

    y_t = \\mu_t + \\gamma_t + x_t^\\top \\beta + \\varepsilon_t, \\qquad
    \\mu_{t+1} = \\mu_t + \\nu_t + \\eta_t, \\qquad \\nu_{t+1} = \\nu_t + \\zeta_t,

with a seasonal :math:`\\gamma_t` either in dummy form, :math:`\\gamma_{t+1} = -\\sum_{j=1}^{m-1}
\\gamma_{t+1-j} + \\omega_t`, or as ``k`` stochastic trigonometric harmonics of period ``m``. Every
disturbance is independent Gaussian; each arrow ``state_t -> state_{t+1}`` and ``state_t -> y_t`` is a
linear-Gaussian conditional, so this is a dynamic Bayesian network whose exact inference is the Kalman
filter (forecasts) and smoother (:meth:`StateSpace.components`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_positive_int
from ..base import BaseForecaster
from ._sm import filtered_forecast, quiet

__all__ = ["StateSpace"]


class StateSpace(BaseForecaster):
    """Unobserved-components model: level, optional trend, optional seasonal, optional exogenous regressors.

    Parameters
    ----------
    level : bool, default True
        A (stochastic) level :math:`\\mu_t`.
    trend : bool, default False
        A (stochastic) slope :math:`\\nu_t` (local linear trend).
    season_length : int, default 1
        Period ``m`` of the seasonal component; ``1`` means none.
    harmonics : int or None, default None
        ``None``: dummy seasonal (``m - 1`` states); ``k``: ``k`` trigonometric harmonics (``2k`` states,
        much faster for long periods such as ``m = 24``).
    stochastic_level, stochastic_trend, stochastic_seasonal : bool, default True
        Whether each component has its own disturbance (``False`` makes it deterministic).
    irregular : bool, default True
        The observation noise :math:`\\varepsilon_t`.
    autoregressive : int or None, default None
        Order of an AR component :math:`c_t` added to the observation equation.
    n_jobs : int, default 1

    Attributes
    ----------
    states_ : list of dict
        Per series: the estimated ``params`` (statsmodels' order and names) and the history.
    """

    _supports_exog = True

    @classmethod
    def _test_params(cls) -> dict:
        return {"season_length": 7, "harmonics": 2}

    def __init__(self, level: bool = True, trend: bool = False, season_length: int = 1, harmonics=None,
                 stochastic_level: bool = True, stochastic_trend: bool = True, stochastic_seasonal: bool = True,
                 irregular: bool = True, autoregressive=None, n_jobs: int = 1):
        self.level = level
        self.trend = trend
        self.season_length = season_length
        self.harmonics = harmonics
        self.stochastic_level = stochastic_level
        self.stochastic_trend = stochastic_trend
        self.stochastic_seasonal = stochastic_seasonal
        self.irregular = irregular
        self.autoregressive = autoregressive
        self.n_jobs = n_jobs

    def _check(self):
        m = self.season_length
        check_positive_int(m, "season_length", "StateSpace")
        if self.trend and not self.level:
            raise ValueError("StateSpace: a trend needs a level (level=True)")
        k = self.harmonics
        if k is not None and (isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= m // 2):
            raise ValueError(f"StateSpace: harmonics must be an integer in 1..season_length // 2, got {k!r}")

    def _min_length(self) -> int:
        self._check()
        m = self.season_length
        return max(2 * m, 2) + 2 + int(self.trend) + int(self.autoregressive or 0)

    def _model(self, y, X):
        from statsmodels.tsa.statespace.structural import UnobservedComponents

        m = int(self.season_length)
        kw = {}
        if m > 1 and self.harmonics is None:
            kw = {"seasonal": m, "stochastic_seasonal": self.stochastic_seasonal}
        elif m > 1:
            kw = {"freq_seasonal": [{"period": m, "harmonics": int(self.harmonics)}],
                  "stochastic_freq_seasonal": [self.stochastic_seasonal]}
        return UnobservedComponents(
            y, exog=X, irregular=bool(self.irregular), level=bool(self.level), trend=bool(self.trend), stochastic_level=self.stochastic_level,
            stochastic_trend=self.stochastic_trend, autoregressive=self.autoregressive, **kw,
        )

    def _fit_series(self, y, X):
        self._check()
        with quiet():
            mod = self._model(y, X)
            res = mod.fit(disp=False)
        return {"params": np.asarray(res.params), "names": list(mod.param_names), "y": y, "X": X}

    def _update_series(self, state, y, X, n_new):
        return {**state, "y": y, "X": X}

    def _results(self, state):
        with quiet():
            return self._model(state["y"], state["X"]).smooth(state["params"])

    def _predict_series(self, state, h, X, levels):
        return filtered_forecast("StateSpace", self._model(state["y"], state["X"]), state, h, X, levels)

    def components(self, unique_id=None) -> pd.DataFrame:
        """Smoothed components of a fitted series (for plots).

        Parameters
        ----------
        unique_id : optional
            Which series of a panel (default: the first).

        Returns
        -------
        pd.DataFrame indexed like the fitted series, with columns ``y``, ``level`` and, when in the model,
        ``trend`` (the slope), ``seasonal``, ``autoregressive`` and ``regression``; each smoothed
        :math:`E[\\text{state}_t \\mid y_{1..n}]`.
        """
        self._check_fitted()
        uids = self.panel_.uids
        i = 0 if unique_id is None else uids.index(unique_id) if unique_id in uids else None
        if i is None:
            raise ValueError(f"StateSpace: unknown unique_id {unique_id!r}")
        state, s = self.states_[i], self.panel_.series[i]
        res = self._results(state)
        out = {"y": s.y}
        if self.level:
            out["level"] = np.asarray(res.level.smoothed)
        if self.trend:
            out["trend"] = np.asarray(res.trend.smoothed)
        if self.season_length > 1:
            comp = res.seasonal if self.harmonics is None else res.freq_seasonal[0]
            out["seasonal"] = np.asarray(comp.smoothed)
        if self.autoregressive:
            out["autoregressive"] = np.asarray(res.autoregressive.smoothed)
        if state["X"] is not None:
            beta = np.asarray([p for p, nm in zip(state["params"], state["names"]) if nm.startswith("beta.")])
            out["regression"] = state["X"] @ beta
        from .._validation import to_pandas_index

        return pd.DataFrame(out, index=to_pandas_index(self.panel_, s.ds))
