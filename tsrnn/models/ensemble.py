r"""EnsembleForecaster: several forecasters fitted to the same data, their forecasts combined step by step.

Point forecasts are combined by the per-step median or mean of the members. Intervals are combined bound by
bound with the same function: the ``level`` lower bound is the median (or mean) of the members' lower bounds,
the upper likewise. With ``combine="mean"`` this is *quantile averaging* (Vincentisation): the ensemble's
quantile function is the average of the members' quantile functions. It keeps the members' typical width
(unlike the mixture of the members' distributions, which widens with their disagreement) and is the combination
recommended for quantile forecasts by Lichtendahl, Grushka-Cockayne & Winkler (2013, *Management Science* 59).
The median does the same robustly: one member with absurd bounds cannot move the ensemble's. Both keep the
contract's shape: each member's 80 % interval lies inside its 95 % one and contains its point forecast, and the
median and the mean are monotone in every argument, so the combined intervals are nested and contain the
combined point forecast.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from sklearn.base import clone

from ..base import BaseForecaster

__all__ = ["EnsembleForecaster"]

_COMBINE = {"median": np.median, "mean": np.mean}


def _default_members() -> list:
    from .baselines import Drift
    from .ets import ETS
    from .theta import Theta

    return [("theta", Theta()), ("ets", ETS()), ("drift", Drift())]


class EnsembleForecaster(BaseForecaster):
    """Fit every forecaster of ``forecasters`` to the same data; combine their forecasts per step.

    Parameters
    ----------
    forecasters : list of forecasters or of ``(name, forecaster)`` pairs, optional
        Any tsrnn forecasters (different models, or one network with several ``random_state`` values). Default:
        ``Theta()``, ``ETS()`` and ``Drift()``. Nested parameters are ``<name>__<param>``; unnamed members are
        named after their class (``Theta``, and ``Theta_2`` for a second one).
    combine : {"median", "mean"}, default "median"
        Per-step function over the members, for the point forecasts and for each interval bound (see the
        module docstring).

    Attributes
    ----------
    forecasters_ : list of (name, fitted forecaster)
    """

    _is_global = True

    def __init__(self, forecasters=None, combine: str = "median"):
        self.forecasters = forecasters
        self.combine = combine

    # ------------------------------------------------------------------ composition (scikit-learn conventions)
    def _named(self) -> list[tuple[str, BaseForecaster]]:
        members = _default_members() if self.forecasters is None else list(self.forecasters)
        if not members:
            raise ValueError("EnsembleForecaster: forecasters is empty; give at least one forecaster")
        pairs, seen = [], Counter()
        for m in members:
            name, est = m if isinstance(m, tuple) else (None, m)
            if not isinstance(est, BaseForecaster):
                raise TypeError(f"EnsembleForecaster: {est!r} is not a tsrnn forecaster")
            if name is None:
                base = type(est).__name__
                seen[base] += 1
                name = base if seen[base] == 1 else f"{base}_{seen[base]}"
            pairs.append((str(name), est))
        names = [n for n, _ in pairs]
        if len(set(names)) != len(names) or any("__" in n for n in names):
            raise ValueError(f"EnsembleForecaster: member names must be unique and free of '__', got {names}")
        return pairs

    def get_params(self, deep: bool = True) -> dict:
        out = super().get_params(deep=False)
        if deep and self.forecasters is not None:
            for name, est in self._named():
                out[name] = est
                out.update({f"{name}__{k}": v for k, v in est.get_params(deep=True).items()})
        return out

    def set_params(self, **params):
        own = {k: params.pop(k) for k in list(params) if k in ("forecasters", "combine")}
        super().set_params(**own)
        if not params:
            return self
        named = dict(self._named())
        nested: dict[str, dict] = {}
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in named:
                raise ValueError(f"EnsembleForecaster: invalid parameter {key!r}; members are {list(named)}")
            if sub:
                nested.setdefault(name, {})[sub] = value
            else:
                self._replace(name, value)
        for name, sub in nested.items():
            dict(self._named())[name].set_params(**sub)
        return self

    def _replace(self, name: str, est) -> None:
        members = _default_members() if self.forecasters is None else list(self.forecasters)
        for i, (n, _) in enumerate(self._named()):
            if n == name:
                members[i] = (n, est) if isinstance(members[i], tuple) else est
        self.forecasters = members

    # ------------------------------------------------------------------ base hooks
    @property
    def _supports_exog(self) -> bool:
        return all(est._supports_exog for _, est in self._named())

    def _min_length(self) -> int:
        return max(est._min_length() for _, est in self._named())

    def _combiner(self):
        if self.combine not in _COMBINE:
            raise ValueError(f"EnsembleForecaster: combine must be 'median' or 'mean', got {self.combine!r}")
        return _COMBINE[self.combine]

    def _fit_panel(self, panel) -> None:
        self._combiner()
        fitted = []
        for name, est in self._named():
            e = clone(est)
            e._fit_validated(panel)
            fitted.append((name, e))
        self.forecasters_ = fitted

    def _predict_panel(self, panel, h, X, levels):
        f = self._combiner()
        runs = [est._forecast_arrays(h, X, levels) for _, est in self.forecasters_]
        out = []
        for i in range(len(panel.series)):
            mean = f(np.stack([np.asarray(r[i][0], dtype=float) for r in runs]), axis=0)
            iv = {lv: tuple(f(np.stack([np.asarray(r[i][1][lv][b], dtype=float) for r in runs]), axis=0)
                            for b in (0, 1)) for lv in levels}
            out.append((mean, iv))
        return out

    def update(self, y, X=None):
        """Append new observations to the ensemble and to every member (no member re-estimates)."""
        super().update(y, X)
        for _, est in self.forecasters_:
            est.update(y, X)
        return self
