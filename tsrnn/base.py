"""Estimator base classes (layer 1).

The one place that turns a single series or a panel into per-series arrays and back. Models implement small
private hooks on clean numpy input; the public ``fit``/``predict``/``update`` here validate, convert, dispatch
and assemble the output the contract promises:

* a Series in gives a Series out (or a DataFrame with interval columns), indexed by the next ``h`` stamps;
* a long ``unique_id, ds, y`` frame in gives a long ``unique_id, ds, <name>`` frame out.

Local models implement ``_fit_series(y, X) -> state`` and ``_predict_series(state, h, X, levels) -> (mean,
intervals)`` for one series; the base runs them over a panel (in parallel with ``n_jobs``). Global models set
``_is_global = True`` and implement ``_fit_panel(panel)`` / ``_predict_panel(panel, h, X, levels)``.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import validate_data

from ._validation import (
    Panel,
    SeriesData,
    check_horizon,
    check_levels,
    exog_for_predict,
    format_stamp,
    future_index,
    interval_columns,
    to_pandas_index,
    to_pandas_stamps,
    to_panel,
)

__all__ = ["BaseForecaster", "BaseDetector", "BaseTransformer", "gaussian_intervals", "quantile_intervals",
           "Forecast", "InconsistentVersionWarning"]

# (mean of shape (h,), {level: (lo, hi)})
Forecast = tuple[np.ndarray, dict]


def gaussian_intervals(mean: np.ndarray, sigma: np.ndarray, levels) -> dict:
    """Normal prediction intervals ``mean ± z_{(1+level/100)/2} * sigma`` for each level (in percent)."""
    out = {}
    for lv in levels:
        z = stats.norm.ppf(0.5 + lv / 200.0)
        out[lv] = (mean - z * sigma, mean + z * sigma)
    return out


def quantile_intervals(draws: np.ndarray, levels, loc=0.0, scale=1.0) -> dict:
    """Central intervals from sampled paths ``draws`` of shape ``(n_paths, h)``: for each level the
    ``(1 - level/100)/2`` and ``(1 + level/100)/2`` quantiles per step, mapped through ``loc + scale * q``."""
    out = {}
    for lv in levels:
        a = (1 - lv / 100) / 2
        lo, hi = np.quantile(draws, [a, 1 - a], axis=0)
        out[lv] = (loc + scale * lo, loc + scale * hi)
    return out


PROGRESS_MIN_SERIES = 100  # the auto rule of ``fit(progress=None)``


def _show_progress(progress, n_series: int, internal: bool) -> bool:
    """Whether a panel fit shows its bar: see ``BaseForecaster.fit``."""
    if progress is None:
        return not internal and n_series >= PROGRESS_MIN_SERIES and sys.stderr.isatty()
    return bool(progress) and n_series > 1


def _fit_one(est, s: SeriesData, bar):
    state = _per_series(est, s.uid, est._fit_series, s.y, s.X)
    bar.update(1)
    return state


def _fit_chunk(est, chunk):
    return [_per_series(est, s.uid, est._fit_series, s.y, s.X) for s in chunk]


def _per_series(est, uid, fn, *args):
    """Call a per-series hook; an error that does not name its series is re-raised naming model and series."""
    try:
        return fn(*args)
    except (ValueError, TypeError, ArithmeticError, RuntimeError, IndexError, KeyError) as exc:
        label = f"series {uid!r}"
        if label in str(exc):
            raise
        kind = TypeError if isinstance(exc, TypeError) else ValueError
        raise kind(f"{type(est).__name__}: {label}: {exc}") from exc


def _chunks(seq, n):
    n = max(1, min(n, len(seq)))
    size = -(-len(seq) // n)
    return [seq[i:i + size] for i in range(0, len(seq), size)]


def _resolve_n_jobs(n_jobs) -> int:
    import joblib

    if n_jobs is None:
        return 1
    return joblib.cpu_count() if n_jobs < 0 else int(n_jobs)


class InconsistentVersionWarning(UserWarning):
    """An estimator is loaded by a tsrnn version other than the one that saved it (as scikit-learn's warning of
    the same name). Its results may differ: refit it, or install the saving version, to be sure.

    Attributes: ``estimator_name``, ``original_version``, ``current_version``.
    """

    def __init__(self, *, estimator_name: str, original_version: str, current_version: str):
        self.estimator_name = estimator_name
        self.original_version = original_version
        self.current_version = current_version

    def __str__(self) -> str:
        return (
            f"this {self.estimator_name} was saved with tsrnn {self.original_version} and is loaded by tsrnn "
            f"{self.current_version}: results may differ; refit it, or install tsrnn=={self.original_version} "
            "to be sure"
        )


class _Versioned:
    """Pickles carry the tsrnn version. Loading one saved by another version warns
    (:class:`InconsistentVersionWarning`); it fails with a clear error only across a major version (``1.x`` from
    ``2.x``) or when the saved state cannot be read.

    Pickle (and so joblib) files execute code when loaded: load only files you trust.
    """

    def __getstate__(self):
        state = super().__getstate__()
        state = dict(state) if isinstance(state, dict) else {"__dict__": state}
        state["_tsrnn_version"] = _tsrnn_version()
        return state

    def __setstate__(self, state):
        name, current = type(self).__name__, _tsrnn_version()
        saved = state.pop("_tsrnn_version", None) if isinstance(state, dict) else None
        if saved is not None and saved != current:
            if _major(saved) != _major(current):
                raise ValueError(
                    f"this {name} was saved with tsrnn {saved} and cannot be loaded by tsrnn {current} (another "
                    f"major version); install tsrnn=={saved} to load it, or fit the model again"
                )
            warnings.warn(InconsistentVersionWarning(estimator_name=name, original_version=saved,
                                                     current_version=current), stacklevel=2)
        try:
            super().__setstate__(state)
        except Exception as exc:
            raise ValueError(
                f"this {name} (saved with tsrnn {saved or 'unknown'}) cannot be read by tsrnn {current}: {exc}; "
                "fit the model again"
            ) from exc


def _tsrnn_version() -> str:
    from . import __version__

    return __version__


def _major(version: str) -> str:
    return str(version).split(".")[0]


class BaseForecaster(_Versioned, BaseEstimator):
    """Base of every tsrnn forecaster.

    Subclass hooks (private, on validated numpy input):

    ``_fit_series(y, X) -> state``
        Local models: fit one series ``y`` of shape ``(n,)`` (``X`` is ``(n, k)`` or ``None``); return any
        picklable state.
    ``_predict_series(state, h, X, levels) -> (mean, {level: (lo, hi)})``
        Local models: forecast ``h`` steps; ``X`` is ``(h, k)`` future exogenous values or ``None``.
    ``_update_series(state, y, X, n_new) -> state``
        Append the last ``n_new`` values of ``y`` (the full history) without re-estimating parameters. The
        default refits, which is right for models without estimated parameters.
    ``_fit_panel(panel)``, ``_predict_panel(panel, h, X, levels) -> list[Forecast]``, ``_update_panel(panel)``
        Global models (``_is_global = True``).
    ``_min_length() -> int``
        The fewest observations a series may have.
    """

    _is_global = False
    _supports_exog = False

    # ------------------------------------------------------------------ hooks with defaults
    def _min_length(self) -> int:
        return 1

    def _fit_series(self, y: np.ndarray, X: np.ndarray | None):  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict_series(self, state, h: int, X: np.ndarray | None, levels: list) -> Forecast:  # pragma: no cover
        raise NotImplementedError

    def _update_series(self, state, y: np.ndarray, X: np.ndarray | None, n_new: int):
        return self._fit_series(y, X)

    def _fit_panel(self, panel: Panel) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict_panel(self, panel: Panel, h: int, X: dict, levels: list) -> list[Forecast]:  # pragma: no cover
        raise NotImplementedError

    def _update_panel(self, panel: Panel) -> None:
        """Global models: new history is stored in ``panel_``; nothing is re-estimated."""

    # ------------------------------------------------------------------ public API
    @property
    def name(self) -> str:
        """Column name of the forecasts (the class name)."""
        return type(self).__name__

    def fit(self, y, X=None, *, progress=None):
        """Fit to one series or a panel.

        Parameters
        ----------
        y : pd.Series, 1-D array, or long pd.DataFrame ``unique_id, ds, y`` (+ exogenous columns)
        X : pd.DataFrame, optional
            Exogenous regressors for a single series, aligned with ``y``.
        progress : bool or None, default None
            A tqdm bar over the series while a local model fits a panel. ``None`` (auto): shown when the panel
            has at least 100 series and stderr is a terminal, never inside the backtest (which passes its
            already validated panel and shows its own bar); ``True``: shown for any panel of two or more series;
            ``False``: never. With ``n_jobs`` the bar advances as chunks of series finish.

        Returns
        -------
        self
        """
        internal = isinstance(y, Panel)
        panel = to_panel(y, X, min_length=self._min_length(), model=self._describe())
        if panel.exog_names and not self._supports_exog:
            raise ValueError(
                f"{self.name} does not use exogenous regressors; drop {panel.exog_names} from the input"
            )
        self._fit_validated(panel, _show_progress(progress, len(panel), internal))
        return self

    def _fit_validated(self, panel: Panel, progress: bool = False) -> None:
        self.panel_ = panel
        if self._is_global:
            self._fit_panel(panel)
            self.states_ = None
        else:
            self.states_ = self._map_fit(panel.series, progress)

    def _map_fit(self, series: list[SeriesData], progress: bool = False) -> list:
        from tqdm.auto import tqdm

        n_jobs = _resolve_n_jobs(getattr(self, "n_jobs", 1))
        with tqdm(total=len(series), desc=f"{self.name} fit", unit="series", disable=not progress,
                  leave=False) as bar:
            if n_jobs == 1 or len(series) < 2:
                return [_fit_one(self, s, bar) for s in series]
            import joblib

            chunks = _chunks(series, 4 * n_jobs)
            parts = joblib.Parallel(n_jobs=n_jobs, return_as="generator")(
                joblib.delayed(_fit_chunk)(self, c) for c in chunks
            )
            states = []
            for chunk, part in zip(chunks, parts):
                states += part
                bar.update(len(chunk))
            return states

    def predict(self, h: int, X=None, level=None):
        """Forecast ``h`` steps after the end of each fitted series.

        Parameters
        ----------
        h : int
            Horizon, >= 1.
        X : pd.DataFrame, optional
            Future exogenous values (``h`` rows; for a panel a long frame with ``unique_id``).
        level : list of float, optional
            Interval levels in percent, e.g. ``[80, 95]``: adds ``<name>-lo-80`` ... columns.

        Returns
        -------
        pd.Series, or pd.DataFrame with interval columns, or a long pd.DataFrame for a panel.
        """
        self._check_fitted()
        h = check_horizon(h)
        levels = check_levels(level)
        Xf = exog_for_predict(self.panel_, X, h)
        return self._assemble(self.panel_, h, self._forecast_arrays(h, Xf, levels), levels)

    def _forecast_arrays(self, h: int, Xf: dict, levels: list) -> list[Forecast]:
        """Raw forecasts of every fitted series, checked for shape and finiteness (used by the backtest)."""
        panel = self.panel_
        if self._is_global:
            results = self._predict_panel(panel, h, Xf, levels)
        else:
            results = [_per_series(self, s.uid, self._predict_series, st, h, Xf.get(s.uid), levels)
                       for st, s in zip(self.states_, panel.series)]
        name = self.name
        for s, (mean, _) in zip(panel.series, results):
            mean = np.asarray(mean, dtype=float)
            if mean.shape != (h,):
                raise RuntimeError(f"{name}: series {s.uid!r}: forecast has shape {mean.shape}, expected ({h},)")
            if not np.isfinite(mean).all():
                raise ValueError(f"{name}: series {s.uid!r}: the model produced non-finite forecasts")
        return results

    def score(self, y, X=None) -> float:
        """Negative mean absolute error of the forecasts of ``y``, the observations that follow the fitted ones.

        ``y`` has the layout given to ``fit`` (a Series continuing the fitted one, or a long frame); each series
        is forecast ``len`` steps ahead and its stamps must be the forecast's. Higher is better, as scikit-learn
        expects, so ``GridSearchCV(forecaster, grid, cv=TimeSeriesSplit(k, test_size=h)).fit(y)`` tunes a
        forecaster on one series: each split fits on the past and scores the next ``h`` observations.
        ``X`` holds future exogenous values, as for ``predict``. ``predict``'s state is untouched.
        """
        self._check_fitted()
        test = to_panel(y, X, freq=self.panel_.freq if self.panel_.index_type == "datetime" else None)
        fitted = {s.uid: s for s in self.panel_.series}
        if self.panel_.kind == "series" and test.kind == "series":
            test.series[0].uid = self.panel_.series[0].uid
        unknown = set(test.uids) - set(fitted)
        if unknown:
            raise ValueError(f"score: unknown series {sorted(map(str, unknown))[:5]} (not seen in fit)")
        h = max(len(s) for s in test.series)
        if test.kind == "panel":  # future exogenous values are the extra columns of the frame
            X = y if self.panel_.exog_names else None
        Xf = exog_for_predict(self.panel_, X, h)
        errors = []
        for s, (mean, _) in zip(self.panel_.series, self._forecast_arrays(h, Xf, [])):
            t = next((u for u in test.series if u.uid == s.uid), None)
            if t is None:
                continue
            expected = future_index(self.panel_, fitted[s.uid], len(t))
            if not np.array_equal(expected, t.ds):
                raise ValueError(
                    f"series {s.uid!r}: score needs the observations that follow the fitted ones: expected stamps "
                    f"from {format_stamp(self.panel_, expected[0])}, got {format_stamp(self.panel_, t.ds[0])}"
                )
            errors.append(np.abs(np.asarray(mean)[:len(t)] - t.y))
        return -float(np.mean(np.concatenate(errors)))

    def update(self, y, X=None):
        """Append new observations that follow the fitted ones, without re-estimating parameters.

        ``y`` has the layout given to ``fit`` (a Series continuing the fitted one, or a long frame whose
        ``unique_id`` values were all seen in fit).
        """
        self._check_fitted()
        new = to_panel(y, X, freq=self.panel_.freq if self.panel_.index_type == "datetime" else None)
        old = {s.uid: (i, s) for i, s in enumerate(self.panel_.series)}
        if self.panel_.kind == "series" and new.kind == "series":
            new.series[0].uid = self.panel_.series[0].uid
        merged = list(self.panel_.series)
        changed = []
        for s in new.series:
            if s.uid not in old:
                raise ValueError(f"series {s.uid!r}: unknown unique_id in update (not seen in fit)")
            i, o = old[s.uid]
            expected = future_index(self.panel_, o, 1)[0]
            if s.ds[0] != expected:
                raise ValueError(
                    f"series {s.uid!r}: update must continue the fitted series: expected first stamp "
                    f"{format_stamp(self.panel_, expected)}, got {format_stamp(self.panel_, s.ds[0])}"
                )
            if (o.X is None) != (s.X is None):
                raise ValueError(f"series {s.uid!r}: update must carry the same exogenous columns as fit")
            Xc = None if o.X is None else np.concatenate([o.X, s.X])
            merged[i] = SeriesData(o.uid, np.concatenate([o.ds, s.ds]), np.concatenate([o.y, s.y]), Xc)
            changed.append((i, len(s)))
        self.panel_ = self.panel_.replace(merged)
        if self._is_global:
            self._update_panel(self.panel_)
        else:
            states = list(self.states_)
            for i, n_new in changed:
                s = merged[i]
                states[i] = _per_series(self, s.uid, self._update_series, states[i], s.y, s.X, n_new)
            self.states_ = states
        return self

    # ------------------------------------------------------------------ helpers
    def _check_fitted(self) -> None:
        if not hasattr(self, "panel_"):
            raise NotFittedError(f"This {self.name} instance is not fitted yet: call fit(y) before predict.")

    def _describe(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params(deep=False).items() if "length" in k)
        return f"{self.name}({params})"

    def _assemble(self, panel: Panel, h: int, results: list[Forecast], levels: list):
        name = self.name
        if panel.kind == "series":
            s = panel.series[0]
            idx = to_pandas_index(panel, future_index(panel, s, h))
            mean, iv = results[0]
            if not levels:
                return pd.Series(np.asarray(mean, dtype=float), index=idx, name=name)
            data = {name: mean}
            for lv in levels:
                lo_col, hi_col = interval_columns(name, lv)
                data[lo_col], data[hi_col] = iv[lv]
            return pd.DataFrame(data, index=idx)
        n = len(panel.series)
        uid = np.repeat(np.array(panel.uids, dtype=object), h)
        ds = np.concatenate([future_index(panel, s, h) for s in panel.series]) if n else np.array([])
        out = {"unique_id": uid, "ds": to_pandas_stamps(panel, ds), name: np.concatenate([r[0] for r in results])}
        for lv in levels:
            for col, side in zip(interval_columns(name, lv), (0, 1)):
                out[col] = np.concatenate([np.asarray(r[1][lv][side], dtype=float) for r in results])
        return pd.DataFrame(out)


class BaseDetector(_Versioned, BaseEstimator):
    """Base of every anomaly detector: ``fit(y)``, ``decision_function(y)``, ``predict(y)``.

    The raw anomaly score (higher is more anomalous) is kept apart from the threshold. Subclasses implement
    ``_fit(panel)`` and ``_score_series(s) -> (n,) scores`` (scores at stamps with too little history may be
    0). ``predict`` flags stamps whose score exceeds ``threshold_``, set in ``fit`` by ``_set_threshold``
    from the training scores (the ``(1 - contamination)`` quantile by default).
    """

    _default_contamination = 0.01

    def _min_length(self) -> int:
        return 2

    def _fit(self, panel: Panel) -> None:
        """Estimate what the detector needs from the training series (default: nothing)."""

    def _score_series(self, s: SeriesData) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _set_threshold(self, scores: np.ndarray) -> float:
        c = getattr(self, "contamination", self._default_contamination)
        return float(np.quantile(scores, 1.0 - c)) if len(scores) else np.inf

    def fit(self, y, X=None):
        panel = to_panel(y, min_length=self._min_length(), model=type(self).__name__)
        self.panel_ = panel
        self._fit(panel)
        scores = np.concatenate([self._finite_scores(s) for s in panel.series])
        self.threshold_ = self._set_threshold(scores)
        return self

    def _finite_scores(self, s: SeriesData) -> np.ndarray:
        sc = np.asarray(self._score_series(s), dtype=float)
        if sc.shape != (len(s),):
            raise RuntimeError(f"{type(self).__name__}: series {s.uid!r}: scores of shape {sc.shape}, expected ({len(s)},)")
        return np.nan_to_num(sc, nan=0.0, posinf=np.finfo(float).max)

    def _check_fitted(self) -> None:
        if not hasattr(self, "threshold_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet: call fit(y) first.")

    def _per_stamp(self, y, fn, name):
        self._check_fitted()
        panel = to_panel(y, min_length=self._min_length(), model=type(self).__name__)
        values = [fn(s) for s in panel.series]
        if panel.kind == "series":
            return pd.Series(values[0], index=to_pandas_index(panel, panel.series[0].ds), name=name)
        return pd.DataFrame({
            "unique_id": np.repeat(np.array(panel.uids, dtype=object), [len(s) for s in panel.series]),
            "ds": to_pandas_stamps(panel, np.concatenate([s.ds for s in panel.series])),
            name: np.concatenate(values),
        })

    def decision_function(self, y):
        """Anomaly score per stamp (higher is more anomalous); same layout as ``y``."""
        return self._per_stamp(y, self._finite_scores, "score")

    def predict(self, y):
        """1 where the score exceeds ``threshold_``, else 0; same layout as ``y``."""
        return self._per_stamp(y, lambda s: (self._finite_scores(s) > self.threshold_).astype(int), "anomaly")


class BaseTransformer(_Versioned, TransformerMixin, BaseEstimator):
    """Base of feature transformers on 2-D window arrays ``(n_windows, window_length)``."""

    def _validate_windows(self, X, *, reset: bool) -> np.ndarray:
        """2-D finite float64 windows; ``n_features_in_`` set on ``reset`` and checked otherwise (sklearn's wording)."""
        return validate_data(self, X, reset=reset, dtype=np.float64, ensure_2d=True, ensure_all_finite=True)

    def fit(self, X, y=None):
        self._validate_windows(X, reset=True)
        return self
