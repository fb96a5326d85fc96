"""Plot helpers for notebooks and reports (layer 4); each returns a :class:`matplotlib.figure.Figure`.

Every function accepts ``ax=None`` (a new figure is made) or an existing Axes to draw into (its figure is
returned). Nothing here calls ``plt.show``: the functions work under the Agg backend, in scripts and in tests.
Inputs follow the toolkit's formats: a ``pd.Series`` or 1-D array for one series, a long frame
``unique_id, ds, y`` for a panel (pick the series with ``unique_id``), forecasts as returned by ``predict``
(``<model>`` and ``<model>-lo-<level>`` / ``-hi-`` columns).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .._validation import interval_columns

__all__ = ["plot_forecast", "plot_backtest", "plot_anomalies", "plot_attention", "plot_periodogram",
           "plot_scalogram", "plot_regimes", "plot_ranks", "plot_reliability", "plot_confusion"]

_BAND = re.compile(r"^(?P<model>.+)-lo-(?P<level>\d+(?:\.\d+)?)$")


# ------------------------------------------------------------------------------------------------ helpers
def _axes(ax, nrows: int = 1, figsize=(10, 3.5), **kw):
    """A fresh figure with ``nrows`` axes (a list), or the given Axes' figure with ``[ax]``."""
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax.figure, [ax]
    fig, axes = plt.subplots(nrows, 1, figsize=figsize, squeeze=False, **kw)
    return fig, list(axes[:, 0])


def _select(frame: pd.DataFrame, unique_id):
    """Rows of one series of a long frame (the first series when ``unique_id`` is None)."""
    if "unique_id" not in frame.columns:
        return frame, unique_id
    uids = pd.unique(frame["unique_id"])
    if len(uids) == 0:
        raise ValueError("the frame holds no series")
    if unique_id is None:
        unique_id = uids[0]
    elif unique_id not in set(uids):
        raise ValueError(f"unknown unique_id {unique_id!r}; the frame has {list(uids[:10])}"
                         f"{' ...' if len(uids) > 10 else ''}")
    return frame[frame["unique_id"] == unique_id], unique_id


def _series(y, unique_id=None) -> tuple[pd.Index, np.ndarray, object]:
    """``(stamps, values, unique_id)`` of a Series, 1-D array or long frame."""
    if isinstance(y, pd.DataFrame):
        g, unique_id = _select(y, unique_id)
        if "y" not in g.columns:
            raise ValueError("a long frame needs a 'y' column")
        x = _plain_index(g["ds"]) if "ds" in g.columns else pd.RangeIndex(len(g))
        return x, g["y"].to_numpy(dtype=float), unique_id
    if isinstance(y, pd.Series):
        return _plain_index(y.index), y.to_numpy(dtype=float), unique_id if unique_id is not None else y.name
    arr = np.asarray(y, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"expected a 1-D series, got shape {arr.shape}")
    return pd.RangeIndex(len(arr)), arr, unique_id


def _plain_index(index) -> pd.Index:
    """Stamps matplotlib can draw: periods become their start time stamps."""
    index = pd.Index(index)
    return index.to_timestamp() if isinstance(index, pd.PeriodIndex) else index


def _bands(columns, model: str) -> list[tuple[float, str, str]]:
    """``(level, lo column, hi column)`` of ``model``, widest level first."""
    out = []
    for c in columns:
        m = _BAND.match(str(c))
        hi = interval_columns(model, m["level"])[1] if m else None
        if m and m["model"] == model and hi in columns:
            out.append((float(m["level"]), c, hi))
    return sorted(out, reverse=True)


def _model_columns(frame: pd.DataFrame, exclude=("unique_id", "ds", "cutoff", "y")) -> list[str]:
    return [c for c in frame.columns if c not in exclude and not re.search(r"-(lo|hi)-\d+(\.\d+)?$", str(c))]


def _draw_forecast(ax, x, frame: pd.DataFrame, model: str, color, label=True) -> None:
    for k, (lv, lo, hi) in enumerate(_bands(frame.columns, model)):
        ax.fill_between(x, frame[lo].to_numpy(float), frame[hi].to_numpy(float), color=color,
                        alpha=0.15 + 0.1 * k, lw=0, label=f"{model} {lv:g}%" if label else None)
    ax.plot(x, frame[model].to_numpy(float), color=color, lw=1.6, label=model if label else None)


# ------------------------------------------------------------------------------------------------ forecasts
def plot_forecast(y, forecast, unique_id=None, *, actual=None, models=None, n_history: int | None = None,
                  ax=None, title: str | None = None):
    """History, forecast and its prediction intervals for one series.

    Parameters
    ----------
    y : pd.Series, 1-D array or long frame ``unique_id, ds, y``
        The history the model was fitted on.
    forecast : pd.Series or pd.DataFrame
        What ``predict`` returned: a Series, a frame of ``<model>`` and ``<model>-lo/hi-<level>`` columns indexed
        by the forecast stamps, or a long frame ``unique_id, ds, <model>, ...``.
    unique_id : optional
        Series to draw from a panel (default: the first).
    actual : same kinds as ``y``, optional
        The true values over the horizon, drawn in black.
    models : list of str, optional
        Forecast columns to draw (default: every point-forecast column).
    n_history : int, optional
        Draw only the last ``n_history`` observations of ``y``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, (ax,) = _axes(ax)
    x, v, unique_id = _series(y, unique_id)
    if n_history is not None:
        x, v = x[-int(n_history):], v[-int(n_history):]
    ax.plot(x, v, color="0.25", lw=1.0, label="history")
    if isinstance(forecast, pd.Series):
        forecast = forecast.to_frame(forecast.name if forecast.name is not None else "forecast")
    if not isinstance(forecast, pd.DataFrame):
        raise TypeError(f"forecast must be a pd.Series or pd.DataFrame, got {type(forecast).__name__}")
    if "unique_id" in forecast.columns:
        fc, _ = _select(forecast, unique_id)
        fx = _plain_index(fc["ds"])
    else:
        fc, fx = forecast, _plain_index(forecast.index)
    names = list(models) if models is not None else _model_columns(fc)
    missing = [m for m in names if m not in fc.columns]
    if missing:
        raise ValueError(f"no forecast column(s) {missing}; the forecast has {list(fc.columns)}")
    colors = _palette(len(names))
    for name, col in zip(names, colors):
        _draw_forecast(ax, fx, fc, name, col)
    if actual is not None:
        ax_, av, _ = _series(actual, unique_id)
        ax.plot(ax_, av, color="black", lw=1.0, ls="--", label="actual")
    ax.set_title(title or (f"{unique_id}" if unique_id is not None else "forecast"))
    _legend(ax)
    fig.autofmt_xdate()
    return fig


def _legend(ax) -> None:
    """Inside the axes when short, else to the right of it (long legends would hide the data)."""
    n = len(ax.get_legend_handles_labels()[1])
    if n <= 6:
        ax.legend(loc="upper left", fontsize="small", ncol=min(3, n))
    else:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="x-small", ncol=1 + n // 18,
                  borderaxespad=0.0)


def _palette(n: int) -> list:
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]


def plot_backtest(result, unique_id=None, *, models=None, y=None, max_windows: int | None = None, ax=None,
                  title: str | None = None):
    """Forecasts of every backtest window against the actuals for one series.

    Parameters
    ----------
    result : BacktestResult
        Its ``forecasts`` frame (``unique_id, ds, cutoff, y, <model>, <model>-lo-<level> ...``) is drawn.
    unique_id : optional
        Series to draw (default: the first of the result).
    models : list of str, optional
        Models to draw (default: all of the result's models).
    y : pd.Series or long frame, optional
        The full series, drawn as context behind the windows (the result keeps only the test stretches).
    max_windows : int, optional
        Draw only the last ``max_windows`` cutoffs.

    Returns
    -------
    matplotlib.figure.Figure
        Actuals in black, each model's forecast and intervals per window, dotted lines at the cutoffs.
    """
    fc = getattr(result, "forecasts", result)
    if not isinstance(fc, pd.DataFrame) or not {"ds", "cutoff", "y"} <= set(fc.columns):
        raise TypeError("plot_backtest needs a BacktestResult (or its forecasts frame with ds, cutoff, y)")
    g, unique_id = _select(fc, unique_id)
    names = list(models) if models is not None else list(getattr(result, "models", None) or _model_columns(g))
    cutoffs = list(pd.unique(g["cutoff"]))
    if max_windows is not None:
        cutoffs = cutoffs[-int(max_windows):]
        g = g[g["cutoff"].isin(cutoffs)]
    fig, (ax,) = _axes(ax)
    if y is not None:
        yx, yv, _ = _series(y, unique_id)
        ax.plot(yx, yv, color="0.6", lw=0.8, label="series")
    colors = _palette(len(names))
    for k, (c, w) in enumerate(g.groupby("cutoff", sort=False)):
        x = _plain_index(w["ds"])
        ax.plot(x, w["y"].to_numpy(float), color="black", lw=1.1, marker=".", ms=3,
                label="actual" if k == 0 else None)
        for name, col in zip(names, colors):
            if name in w.columns and np.isfinite(w[name].to_numpy(float)).any():
                _draw_forecast(ax, x, w, name, col, label=k == 0)
        ax.axvline(_plain_index([c])[0], color="0.5", ls=":", lw=0.8)
    ax.set_title(title or f"{unique_id}: {len(cutoffs)} backtest window(s)")
    _legend(ax)
    fig.autofmt_xdate()
    return fig


# ------------------------------------------------------------------------------------------------ anomalies
def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` index pairs of the runs of True in ``mask``."""
    m = np.concatenate([[False], np.asarray(mask, bool), [False]])
    d = np.flatnonzero(np.diff(m.astype(np.int8)))
    return list(zip(d[::2], d[1::2]))


def plot_anomalies(data, detections=None, *, scores=None, labels=None, unique_id=None, models=None,
                   threshold: float | None = None, ax=None, title: str | None = None):
    """A series with its labelled anomaly windows (shaded), the detections (markers) and the scores.

    Parameters
    ----------
    data : DetectorResult, long frame, pd.Series or 1-D array
        A :func:`tsrnn.anomaly.evaluate_detectors` result (its ``detections`` frame: one row per stamp and
        detector, with ``label``, ``score`` and ``anomaly``), a long frame ``unique_id, ds, y[, label]``, or one
        series.
    detections : 0/1 array-like or dict ``{name: array}``, optional
        Alarms per stamp (taken from the result when ``data`` is one).
    scores : array-like or dict ``{name: array}``, optional
        Anomaly scores per stamp, drawn on a second panel.
    labels : 0/1 array-like, optional
        Ground truth; its runs of 1 are shaded (default: the ``label`` column if present).
    unique_id : optional
        Series to draw (default: the first).
    models : list of str, optional
        Detectors to draw from a result (default: all).
    threshold : float, optional
        Drawn as a horizontal line on the score panel.

    Returns
    -------
    matplotlib.figure.Figure
    """
    frame = getattr(data, "detections", None)
    if frame is not None:  # DetectorResult
        g, unique_id = _select(frame, unique_id)
        names = list(models) if models is not None else list(pd.unique(g["model"]))
        first = g[g["model"] == names[0]]
        x, v = _plain_index(first["ds"]), first["y"].to_numpy(float)
        labels = first["label"].to_numpy() if labels is None else labels
        per = {n: g[g["model"] == n] for n in names}
        detections = {n: p["anomaly"].to_numpy() for n, p in per.items()}
        scores = {n: p["score"].to_numpy(float) for n, p in per.items()}
    else:
        if isinstance(data, pd.DataFrame) and labels is None and "label" in data.columns:
            labels = _select(data, unique_id)[0]["label"].to_numpy()
        x, v, unique_id = _series(data, unique_id)
        if detections is not None and not isinstance(detections, dict):
            detections = {"detections": detections}
        if scores is not None and not isinstance(scores, dict):
            scores = {"score": scores}
    if x.has_duplicates or not x.is_monotonic_increasing:
        x = pd.RangeIndex(len(v))  # NAB files may repeat stamps: draw against the row number
    has_scores = bool(scores)
    fig, axes = _axes(ax if not has_scores else None, nrows=2 if has_scores else 1,
                      figsize=(10, 4.5 if has_scores else 3), sharex=True)
    top = axes[0]
    top.plot(x, v, color="0.3", lw=0.8, label="series")
    if labels is not None:
        for k, (a, b) in enumerate(_runs(np.asarray(labels) == 1)):
            top.axvspan(x[a], x[min(b, len(x) - 1)], color="tab:orange", alpha=0.25, lw=0,
                        label="labelled window" if k == 0 else None)
    markers = "ov^sDP*X"
    for k, (name, col) in enumerate(zip(detections or {}, _palette(len(detections or {})))):
        d = np.asarray(detections[name]).astype(bool)
        if len(d) != len(v):
            raise ValueError(f"detections {name!r} have {len(d)} values for a series of {len(v)}")
        top.scatter(x[d], v[d], s=22, marker=markers[k % len(markers)], facecolor="none", edgecolor=col,
                    label=f"{name} ({int(d.sum())})", zorder=3)
    top.set_title(title or (f"{unique_id}" if unique_id is not None else "anomalies"))
    top.legend(loc="upper left", fontsize="small", ncol=3)
    if has_scores:
        bottom = axes[1]
        for name, col in zip(scores, _palette(len(scores))):
            s = np.asarray(scores[name], dtype=float)
            fin = np.isfinite(s)
            lo, hi = (np.min(s[fin]), np.max(s[fin])) if fin.any() else (0.0, 1.0)
            bottom.plot(x, (s - lo) / (hi - lo) if len(scores) > 1 and hi > lo else s, color=col, lw=0.8,
                        label=name)
        if threshold is not None:
            bottom.axhline(threshold, color="tab:red", ls="--", lw=0.8, label="threshold")
        bottom.set_ylabel("score" + (" (min-max scaled)" if len(scores) > 1 else ""))
        bottom.legend(loc="upper left", fontsize="small", ncol=3)
    fig.autofmt_xdate()
    return fig


# ------------------------------------------------------------------------------------------------ attention
def plot_attention(weights, unique_id=None, *, h: int | None = None, x_labels=None, y_labels=None, ax=None,
                   title: str | None = None):
    """Heat map of attention weights: output step (rows) by input step (columns).

    Parameters
    ----------
    weights : ndarray (h, window) or (n_series, h, window), or a fitted model with ``forecast_attention(h)``
        e.g. :class:`tsrnn.models.Seq2SeqForecaster` (column ``j`` is input ``y_{T-W+1+j}``).
    unique_id : optional
        Series to draw (an index into the first axis for arrays, a series id for a model).
    h : int, optional
        Forecast steps, for a model (default: its ``horizon``).
    x_labels, y_labels : list of str, optional
        Tick labels (default ``t-k`` for inputs and ``t+k`` for outputs).

    Returns
    -------
    matplotlib.figure.Figure
    """
    name = None
    if hasattr(weights, "forecast_attention"):
        model = weights
        weights = model.forecast_attention(h)
        uids = list(getattr(getattr(model, "panel_", None), "uids", range(len(weights))))
        i = 0 if unique_id is None else uids.index(unique_id)
        weights, name = weights[i], uids[i]
    w = np.asarray(weights, dtype=float)
    if w.ndim == 3:
        i = 0 if unique_id is None else int(unique_id)
        w, name = w[i], i
    if w.ndim != 2:
        raise ValueError(f"attention weights must be 2-D (h, window) or 3-D (n, h, window), got shape {w.shape}")
    fig, (ax,) = _axes(ax, figsize=(7, 0.3 * w.shape[0] + 2))
    im = ax.imshow(w, aspect="auto", cmap="viridis", origin="upper", interpolation="nearest")
    H, W = w.shape
    step = max(1, W // 10)
    ax.set_xticks(range(0, W, step))
    ax.set_xticklabels(x_labels[::step] if x_labels is not None else
                       [f"t-{W - 1 - j}" if W - 1 - j else "t" for j in range(0, W, step)], fontsize="small")
    ystep = max(1, H // 12)
    ax.set_yticks(range(0, H, ystep))
    ax.set_yticklabels(y_labels[::ystep] if y_labels is not None else [f"t+{k + 1}" for k in range(0, H, ystep)],
                       fontsize="small")
    ax.set_xlabel("input step")
    ax.set_ylabel("output step")
    ax.set_title(title or ("attention" + (f" of {name}" if name is not None else "")))
    fig.colorbar(im, ax=ax, label="weight")
    return fig


# ------------------------------------------------------------------------------------------------ spectra
def plot_periodogram(y, *, fs: float = 1.0, method: str = "fft", top_k: int = 3, log: bool = True,
                     unique_id=None, ax=None, title: str | None = None):
    """Periodogram of a series with its ``top_k`` strongest peaks labelled by their period.

    ``P(f_k) = (2 / (fs N)) |sum_t (x_t - mean x) e^{-2 pi i f_k t / fs}|^2`` (``method="fft"``, as
    :func:`scipy.signal.periodogram`) or Welch's average over segments (``method="welch"``), computed by
    :class:`tsrnn.features.Periodogram`.

    Parameters
    ----------
    y : pd.Series, 1-D array or long frame
    fs : float, default 1.0
        Samples per unit of time; frequencies are in cycles per unit, periods in units (samples when 1).
    method : {"fft", "welch"}
    top_k : int, default 3
        Peaks to annotate.
    log : bool, default True
        Logarithmic power axis.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from scipy.signal import find_peaks

    from ..features import Periodogram

    _, v, unique_id = _series(y, unique_id)
    if len(v) < 4 or not np.isfinite(v).all():
        raise ValueError("plot_periodogram: need at least 4 finite values")
    pg = Periodogram(method=method)
    if method == "welch":
        pg.set_params(taper="hann")
    pg.fit(v[None, :])
    P = pg.transform(v[None, :])[0] * (1.0 / fs)
    f = pg.frequencies_ * fs
    fig, (ax,) = _axes(ax)
    ax.plot(f, P, color="tab:blue", lw=1.0)
    if log:
        ax.set_yscale("log")
    peaks, _ = find_peaks(P)
    top = peaks[np.argsort(P[peaks])[::-1][:top_k]] if len(peaks) else np.argsort(P)[::-1][:top_k]
    for k in top:
        ax.plot(f[k], P[k], "o", color="tab:red", ms=4)
        ax.annotate(f"period {1 / f[k]:.3g}", (f[k], P[k]), textcoords="offset points", xytext=(4, 4),
                    fontsize="small", color="tab:red")
    ax.set_xlabel("frequency (cycles per unit)" if fs != 1 else "frequency (cycles per sample)")
    ax.set_ylabel("power spectral density")
    ax.set_title(title or (f"periodogram of {unique_id}" if unique_id is not None else "periodogram"))
    return fig


def plot_scalogram(y, scales=None, *, wavelet: str = "morl", sampling_period: float = 1.0, unique_id=None,
                   log_power: bool = True, ax=None, title: str | None = None):
    """Continuous wavelet scalogram ``|W(a, t)|^2`` (time by period) above the series.

    Computed by :func:`tsrnn.features.cwt_scalogram` on the series minus its mean; rows are scales shown by their period
    ``1 / centre frequency`` on a logarithmic axis.

    Parameters
    ----------
    y : pd.Series, 1-D array or long frame
    scales : array-like, optional
        Wavelet scales (default ``geomspace(1, n / 4, 64)``).
    wavelet : str, default "morl"
    sampling_period : float, default 1.0
    log_power : bool, default True
        Colour by ``log10`` of the power.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.ticker

    from ..features import cwt_scalogram

    x, v, unique_id = _series(y, unique_id)
    power, freqs = cwt_scalogram(v - v.mean(), scales=scales, wavelet=wavelet, sampling_period=sampling_period)
    periods = 1.0 / np.asarray(freqs)
    t = np.arange(len(v)) * sampling_period
    if ax is None:
        fig, (a0, a1) = _axes(None, nrows=2, figsize=(10, 5), sharex=True,
                              gridspec_kw={"height_ratios": [1, 2.5]})
        a0.plot(t, v, color="0.3", lw=0.8)
        a0.set_title(title or (f"scalogram of {unique_id}" if unique_id is not None else "scalogram"))
    else:
        fig, (a1,) = _axes(ax)
    z = np.log10(power + np.finfo(float).tiny) if log_power else power
    order = np.argsort(periods)
    vmin = np.percentile(z, 5) if log_power else None  # keep near-zero cells from washing out the colour scale
    mesh = a1.pcolormesh(t, periods[order], z[order], shading="nearest", cmap="magma", vmin=vmin)
    a1.set_yscale("log")
    a1.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    a1.yaxis.set_minor_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    a1.set_ylabel("period")
    a1.set_xlabel("time" if sampling_period != 1 else "sample")
    fig.colorbar(mesh, ax=a1, label="log10 power" if log_power else "power", pad=0.01)
    return fig


# ------------------------------------------------------------------------------------------------ regimes
def plot_regimes(model_or_y, states=None, *, y=None, online: bool = False, proba: bool = True, ax=None,
                 title: str | None = None):
    """A series with the background coloured by its hidden state (regime), and the state probabilities.

    Parameters
    ----------
    model_or_y : fitted HMMForecaster, or a pd.Series / 1-D array
        With a model, the states of ``y`` (default: its first fitted series) come from ``predict_states`` and
        the probabilities from ``predict_state_proba`` (``online=True``: filtered, never using future data;
        ``False``: Viterbi path and smoothed probabilities).
    states : 1-D int array, optional
        The state of each stamp, when ``model_or_y`` is a series.
    proba : bool, default True
        With a model, add a panel of the state probabilities.

    Returns
    -------
    matplotlib.figure.Figure
    """
    P = None
    if hasattr(model_or_y, "predict_states"):
        model = model_or_y
        st = model.predict_states(y, online=online)
        if isinstance(st, pd.DataFrame):  # a panel: first series
            uid = st["unique_id"].iloc[0]
            sel = st["unique_id"] == uid
            stamps, states = _plain_index(st.loc[sel, "ds"]), st.loc[sel, "state"].to_numpy()
            if proba:
                pr = model.predict_state_proba(y, online=online)
                P = pr.loc[pr["unique_id"] == uid].filter(like="state_").to_numpy()
        else:
            uid, stamps, states = getattr(st, "name", None), _plain_index(st.index), st.to_numpy()
            if proba:
                P = model.predict_state_proba(y, online=online).to_numpy()
        if y is None:
            s = model.panel_.series[0]
            values, uid = s.y[-len(states):], s.uid
        else:
            _, values, _ = _series(y, uid if isinstance(y, pd.DataFrame) else None)
            values = values[-len(states):]
        x = stamps
        title = title or f"{uid}: {'filtered' if online else 'Viterbi'} states"
    else:
        if states is None:
            raise ValueError("plot_regimes: give a fitted model with predict_states, or a series and its states")
        x, values, uid = _series(model_or_y)
        states = np.asarray(states).astype(int)
        if len(states) != len(values):
            raise ValueError(f"plot_regimes: {len(states)} states for a series of {len(values)}")
    has_p = P is not None and ax is None
    fig, axes = _axes(ax, nrows=2 if has_p else 1, figsize=(10, 4.5 if has_p else 3), sharex=True)
    top = axes[0]
    top.plot(x, values, color="0.15", lw=0.9)
    colors = _palette(int(states.max()) + 1)
    seen = set()
    for a, b in _state_runs(states):
        k = int(states[a])
        right = x[b] if b < len(x) else x[-1]
        top.axvspan(x[a], right, color=colors[k], alpha=0.25, lw=0, label=None if k in seen else f"state {k}")
        seen.add(k)
    top.set_title(title or "regimes")
    top.legend(loc="upper left", fontsize="small", ncol=len(seen))
    if has_p:
        axes[1].stackplot(x, P.T, colors=colors[:P.shape[1]], alpha=0.8)
        axes[1].set_ylim(0, 1)
        axes[1].set_ylabel("P(state)")
    fig.autofmt_xdate()
    return fig


def _state_runs(states: np.ndarray) -> list[tuple[int, int]]:
    change = np.flatnonzero(np.diff(states)) + 1
    starts = np.concatenate([[0], change])
    stops = np.concatenate([change, [len(states)]])
    return list(zip(starts, stops))


# ------------------------------------------------------------------------------------------------ reports
def plot_ranks(ranks: pd.Series, cd: float | None = None, *, metric: str = "", n_blocks: int | None = None,
               ax=None):
    """Mean ranks as a critical-difference diagram that stays legible at any number of models.

    One row per model, best (lowest mean rank) on top, so labels never overlap; a dot at each model's mean
    rank. With ``cd`` (the Nemenyi critical difference), the models whose mean rank lies within ``cd`` of the
    best are drawn in the best's colour (not significantly worse than it) and a bar of length ``cd`` is drawn
    from the best rank; the others are grey.

    Parameters
    ----------
    ranks : pd.Series
        Mean rank per model (1 = best).
    cd : float, optional
        Critical difference on the rank scale.
    """
    r = pd.Series(ranks, dtype=float).sort_values()
    fig, (ax,) = _axes(ax, figsize=(9, 0.32 * len(r) + 1.3))
    y = np.arange(len(r))
    best = r.iloc[0]
    tied = (r - best <= cd) if cd is not None else pd.Series(True, index=r.index)
    ax.hlines(y, 1, r.to_numpy(), color="0.85", lw=1)
    ax.scatter(r.to_numpy(), y, c=["tab:blue" if t else "0.55" for t in tied], s=36, zorder=3)
    for yi, v in zip(y, r.to_numpy()):
        ax.annotate(f"{v:.2f}", (v, yi), xytext=(6, 0), textcoords="offset points", va="center", fontsize=8)
    if cd is not None:
        ax.axvspan(best, best + cd, color="tab:blue", alpha=0.08, lw=0, label=f"within CD = {cd:.2f} of the best")
        ax.legend(loc="lower right", fontsize="small")
    ax.set_yticks(y, [str(m) for m in r.index], fontsize=9)
    ax.set_ylim(len(r) - 0.5, -0.5)
    ax.set_xlim(0.8, max(float(r.max()), best + (cd or 0)) + 0.6)
    ax.set_xlabel(f"mean rank{f' on {metric}' if metric else ''} (1 = best)"
                  + (f" over {n_blocks} blocks" if n_blocks else ""))
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def plot_reliability(coverage: pd.DataFrame, ax=None):
    """Empirical against nominal coverage of prediction intervals (a reliability plot).

    ``coverage``: models x nominal levels (in percent, the column names), values the share of actuals inside the
    interval (0-1). Points on the diagonal are calibrated; below it the intervals are too narrow.
    """
    fig, (ax,) = _axes(ax, figsize=(5.5, 4.2))
    levels = np.array([float(c) for c in coverage.columns])
    ax.plot([0, 100], [0, 100], color="0.5", ls="--", lw=0.8, label="nominal")
    markers = "ov^sDP*X<>"
    for k, ((model, row), col) in enumerate(zip(coverage.iterrows(), _palette(len(coverage)))):
        ax.plot(levels, 100 * row.to_numpy(float), marker=markers[k % len(markers)], color=col, lw=1,
                ls="-" if len(levels) > 1 else "none", label=str(model))
    lo = max(0.0, min(levels.min(), 100 * np.nanmin(coverage.to_numpy(float))) - 10)
    ax.set_xlim(lo, 100)
    ax.set_ylim(lo, 100)
    ax.set_xlabel("nominal coverage (%)")
    ax.set_ylabel("empirical coverage (%)")
    ax.grid(alpha=0.3)
    _legend(ax)
    fig.tight_layout()
    return fig


def plot_confusion(cm: pd.DataFrame, ax=None, title: str | None = None):
    """A confusion matrix (rows true, columns predicted): counts written, colour the row-normalised recall."""
    fig, (ax,) = _axes(ax, figsize=(3.8, 3.4))
    counts = cm.to_numpy()
    norm = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(counts.shape[0]):
        for j in range(counts.shape[1]):
            ax.text(j, i, int(counts[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if norm[i, j] > 0.6 else "black")
    ax.set_xticks(range(counts.shape[1]), [str(c) for c in cm.columns])
    ax.set_yticks(range(counts.shape[0]), [str(c) for c in cm.index])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title, fontsize=9)
    return fig
