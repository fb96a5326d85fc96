r"""ESRNNForecaster: the exponential-smoothing + recurrent-network hybrid of Smyl (2020), the M4 winner.

Per series ``i`` (local, learned): a level smoothing coefficient ``alpha_i``, one smoothing coefficient
``gamma_ik`` per seasonality ``m_k`` (one or two, e.g. 24 and 168 for hourly data) and the initial seasonal
factors. Multiplicative Holt-Winters without trend (two seasonalities ``s``, ``u``):

.. math::
    l_t = \alpha \frac{y_t}{s_t u_t} + (1 - \alpha) l_{t-1}, \quad
    s_{t+m_1} = \gamma_1 \frac{y_t}{l_t u_t} + (1 - \gamma_1) s_t, \quad
    u_{t+m_2} = \gamma_2 \frac{y_t}{l_t s_t} + (1 - \gamma_2) u_t.

Global (shared by all series): a stack of dilated LSTM blocks with residual connections between blocks
(:class:`tsrnn.nn.RNN` layers; dilation ``d`` means the state at ``t`` comes from ``t - d``) and a ``tanh`` adapter
and linear output. At every step ``t`` it reads the deseasonalised, level-normalised, log window
``x_{t-w+1..t} = log(y / (l_t s u))`` and outputs quantiles of ``log(y_{t+j} / (l_t s_{t+j} u_{t+j}))`` for
``j = 1..H``. The seasonal factors of the output steps are those known at ``t`` (``s_{t+1+(j-1) mod m}``), so
training sees exactly what forecasting sees. Both parts are trained together, end to end, by the pinball loss
of the quantiles plus a penalty on the wiggliness of the log level (the mean squared change of its
differences, Smyl's level-variability penalty). The forecast is ``exp(quantile) * l_T * seasonal factors``;
the median is the point forecast and the other quantiles give the intervals.

Ensembling: ``n_models`` networks from different seeds and, for each, the weights after each of the last
``n_snapshots`` epochs; the members' quantiles are averaged (in log space).

References: S. Smyl, "A hybrid method of exponential smoothing and recurrent neural networks for time series
forecasting", International Journal of Forecasting 36 (2020) 75-85.
"""

from __future__ import annotations

import copy
from dataclasses import field

import numpy as np
import torch
from scipy import stats
from torch import nn

from ..base import BaseForecaster
from ..features import detect_seasonality
from ..nn.recurrent import RNN
from ..nn.training import TrainingParams, fit_module, neural_estimator, seed_from, seeded

__all__ = ["ESRNNForecaster", "ESRNNModule", "holt_winters"]

_QUANTILES = (0.025, 0.1, 0.5, 0.9, 0.975)


# ----------------------------------------------------------------------------------------------- pure functions
def holt_winters(y, alpha, gammas, init_seasons):
    r"""Multiplicative Holt-Winters level and seasonal factors, vectorised over series (torch, differentiable).

    Written as ``d_t = y_t / (s_t u_t)``, ``l_t = alpha d_t + (1 - alpha) l_{t-1}``, ``r_t = d_t / l_t`` and
    ``s_{t+m} = s_t (1 + gamma (r_t - 1))`` (the same equations as the module docstring, fewer operations).

    Parameters
    ----------
    y : Tensor ``(B, T)``, positive. Series of different lengths are left-aligned and padded on the right with
        any positive value: padding only changes states after a series' end, which nothing reads.
    alpha : Tensor ``(B,)`` in (0, 1); gammas : list of ``(B,)`` in (0, 1), one per seasonality.
    init_seasons : list of Tensors ``(B, m_k)``, the positive seasonal factors of the first ``m_k`` steps.

    Returns
    -------
    level : ``(B, T)`` the level after each step; seasons : list of ``(B, T + m_k)``: factor ``k`` of every step,
    the last ``m_k`` being those of the ``m_k`` steps after ``T - 1`` (known at ``T - 1``).
    """
    T = y.shape[1]
    seas = [list(s.unbind(1)) for s in init_seasons]
    beta = 1 - alpha
    level = None
    levels = []
    for t in range(T):
        f = [s[t] for s in seas]
        d = y[:, t]
        for fk in f:
            d = d / fk
        level = d if level is None else alpha * d + beta * level
        levels.append(level)
        if seas:
            r1 = d / level - 1
            for k, s in enumerate(seas):
                s.append(f[k] * (1 + gammas[k] * r1))
    return torch.stack(levels, 1), [torch.stack(s, 1) for s in seas]


def initial_seasons(logy: np.ndarray, seasons) -> list[np.ndarray]:
    """Classical start values of the log seasonal factors: per position of the first cycles (at most 4), the mean
    log value minus the cycle mean; the second seasonality is taken from what the first leaves. Zeros for a
    seasonality with fewer than two cycles of data."""
    rest = np.asarray(logy, dtype=float)
    out = []
    for m in seasons:
        n = min(len(rest) // m, 4)
        if n < 2:
            out.append(np.zeros(m))
            continue
        cycles = rest[:n * m].reshape(n, m)
        s = (cycles - cycles.mean(1, keepdims=True)).mean(0)
        out.append(s)
        rest = rest - np.resize(s, len(rest))
    return out


# ----------------------------------------------------------------------------------------------- network
class DilatedLSTM(nn.Module):
    """One LSTM layer whose state at ``t`` comes from ``t - dilation``: the sequence is cut into ``dilation``
    interleaved sub-sequences run as a batch (a fused :class:`tsrnn.nn.RNN`). ``(B, T, in) -> (B, T, hidden)``."""

    def __init__(self, input_size: int, hidden_size: int, dilation: int):
        super().__init__()
        self.dilation = int(dilation)
        self.rnn = RNN("lstm", input_size, hidden_size, 1)

    def forward(self, x):
        B, T, F = x.shape
        d = self.dilation
        pad = (-T) % d  # padded at the end: the layer is causal, so padding never reaches real steps
        if pad:
            x = torch.cat([x, x.new_zeros(B, pad, F)], 1)
        n = x.shape[1] // d
        z = x.reshape(B, n, d, F).transpose(1, 2).reshape(B * d, n, F)
        out, _ = self.rnn(z)
        out = out.reshape(B, d, n, -1).transpose(1, 2).reshape(B, n * d, -1)
        return out[:, :T]


class ESRNNModule(nn.Module):
    """The per-series smoothing parameters of ``n_series`` series and the global dilated residual LSTM.

    ``forward(idx, y, mask)`` on series ``idx`` ``(B,)``, values ``y`` ``(B, T)`` and ``mask`` ``(B, T)`` returns a
    dict with ``quantiles`` ``(B, P, H, Q)`` for the ``P = T - w + 1`` window ends ``t = w-1 .. T-1``, the
    normalised log ``target`` ``(B, P, H)`` with its ``valid`` mask, the log ``level`` ``(B, T)`` and the log
    seasonal ``offset`` of the output steps ``(B, P, H)``.
    """

    def __init__(self, n_series, seasons, init_seasons, window, horizon, quantiles, hidden_size, dilations):
        super().__init__()
        self.seasons, self.window, self.horizon = tuple(seasons), int(window), int(horizon)
        self.register_buffer("q", torch.tensor(quantiles, dtype=torch.float32))
        self.alpha_logit = nn.Parameter(torch.zeros(n_series))
        self.gamma_logit = nn.Parameter(torch.full((n_series, len(self.seasons)), -1.0))
        self.init_season = nn.ParameterList(
            [nn.Parameter(torch.as_tensor(np.asarray(s), dtype=torch.float32)) for s in init_seasons])
        self.blocks = nn.ModuleList()
        n_in = self.window
        for block in dilations:
            layers = nn.ModuleList()
            for d in block:
                layers.append(DilatedLSTM(n_in, hidden_size, d))
                n_in = hidden_size
            self.blocks.append(layers)
        self.adapter = nn.Linear(hidden_size, hidden_size)
        self.out = nn.Linear(hidden_size, self.horizon * len(quantiles))

    def smoothing(self, idx, y):
        """Log level ``(B, T)`` and log seasonal factors (list of ``(B, T + m)``) of the series ``idx``."""
        alpha = torch.sigmoid(self.alpha_logit[idx])
        gam = torch.sigmoid(self.gamma_logit[idx])
        init = [torch.exp(p[idx]) for p in self.init_season]
        level, seas = holt_winters(y, alpha, list(gam.unbind(1)), init)
        return torch.log(level), [torch.log(s) for s in seas]

    def network(self, x):
        """Dilated residual LSTM stack: hidden states ``(B, P, hidden)`` of the windows ``x`` ``(B, P, w)``."""
        h = x
        for i, block in enumerate(self.blocks):
            inp = h
            for layer in block:
                h = layer(h)
            if i > 0:  # residual connection between blocks (shapes agree from the second block on)
                h = h + inp
        return h

    def forward(self, idx, y, mask, rows=None, n_windows=None):
        """``rows`` ``(B,)``: forecast from one window end per series (no target); else training outputs at all
        window ends, or at ``n_windows`` random ones shared by the batch."""
        w, H, T = self.window, self.horizon, y.shape[1]
        logy = torch.log(y)
        level, seas = self.smoothing(idx, y)
        deseas = logy - sum(s[:, :T] for s in seas)
        P = T - w + 1
        hid = self.network(deseas.unfold(1, w, 1) - level[:, w - 1:].unsqueeze(-1))  # windows (B, P, w)
        if rows is not None:
            sel = rows.unsqueeze(1)
        elif n_windows is not None and P > n_windows:
            sel = torch.randperm(P, device=y.device)[:n_windows].sort().values.expand(len(y), -1)
        else:
            sel = torch.arange(P, device=y.device).expand(len(y), -1)
        hid = hid.gather(1, sel.unsqueeze(-1).expand(-1, -1, hid.shape[-1]))
        quantiles = self.out(torch.tanh(self.adapter(hid))).view(*sel.shape, H, len(self.q))
        t = sel + w - 1  # the window ends, (B, K)
        steps = torch.arange(H, device=y.device)
        offset = level.gather(1, t).unsqueeze(-1)
        for s, m in zip(seas, self.seasons):  # the factors of t + 1 + j known at t: t + 1 + (j mod m)
            at = t.unsqueeze(-1) + 1 + steps.remainder(m)
            offset = offset + s.gather(1, at.flatten(1)).view(at.shape)
        out = {"quantiles": quantiles, "offset": offset, "level": level}
        if rows is None:
            pos = (t.unsqueeze(-1) + 1 + steps).flatten(1)  # (B, K * H)
            out["valid"] = ((pos < T) & mask.gather(1, pos.clamp(max=T - 1))).view(offset.shape)
            out["target"] = logy.gather(1, pos.clamp(max=T - 1)).view(offset.shape) - offset
        return out


def _pinball(pred, target, q, valid):
    diff = target.unsqueeze(-1) - pred
    loss = torch.maximum(q * diff, (q - 1.0) * diff).mean(-1)
    v = valid.to(loss.dtype)
    return (loss * v).sum() / v.sum().clamp(min=1.0)


def _level_penalty(level, mask):
    """Mean squared second difference of the log level over observed steps."""
    d2 = level[:, 2:] - 2 * level[:, 1:-1] + level[:, :-2]
    v = mask[:, 2:].to(d2.dtype)
    return (d2 ** 2 * v).sum() / v.sum().clamp(min=1.0)


# ----------------------------------------------------------------------------------------------- forecaster
@neural_estimator
class ESRNNForecaster(TrainingParams, BaseForecaster):
    r"""ES-RNN (Smyl 2020): per-series Holt-Winters smoothing learned jointly with a global dilated LSTM.

    See the module docstring for the equations. Defaults follow Smyl's hourly configuration, scaled to a CPU:
    windows of one (shortest) season, output ``horizon`` of two seasons, LSTM blocks with dilations
    ``(1, 2)`` then ``(m_1, m_2)`` (or ``(m_1, 2 m_1)`` with one season), 40 hidden units, pinball loss on
    the quantiles ``(0.025, 0.1, 0.5, 0.9, 0.975)``.

    Parameters
    ----------
    season_length : "auto", int, tuple of one or two ints, or None, default "auto"
        Seasonalities of the Holt-Winters part. ``"auto"``: the most frequent strongest period that
        :func:`tsrnn.features.detect_seasonality` finds across the series (none when none is found).
    horizon : int, optional
        Steps output at once; default ``2 * m_1`` (8 without season). Longer forecasts continue block by
        block, the median forecast appended to the series.
    window : int, optional
        Input steps of the network; default ``m_1`` (at least 4; 8 without season).
    hidden_size : int, default 40
    dilations : tuple of tuples of int, optional
        LSTM layers per block and their dilations; residual connections between blocks.
    quantiles : sequence of float, optional
        Output quantiles (0.5 is always added); intervals are interpolated between them, and beyond the
        outermost ones extrapolated with a normal tail.
    level_penalty : float, default 10.0
        Weight of the level-wiggliness penalty.
    n_windows : int or None, default 128
        Window ends per series at which each mini-batch's loss is computed (random, shared by the batch; the LSTM
        still reads every step). Neighbouring windows overlap almost entirely, so a sample of them costs a
        fraction of the output layer and loss and loses little. ``None``: all.
    n_models : int, default 1
        Networks trained from different seeds (``random_state`` + k); their forecasts are averaged.
    n_snapshots : int, default 3
        Weights of each of the last ``n_snapshots`` epochs of each network, averaged as well.
    {training_parameters}

    A mini-batch is ``batch_size`` whole series. ``validation_size`` must stay ``None``: as in Smyl's setup the
    model trains on every window for ``max_epochs`` (``patience`` is unused).

    Attributes
    ----------
    members_ : list of ESRNNModule
        The ensemble (on the CPU).
    seasons_ : tuple of int
        The resolved seasons; ``window_`` and ``horizon_`` (int) are the resolved input and output lengths.
    offset_ : dict
        ``uid -> float`` added before the log (non-positive series are shifted to be positive).
    histories_ : list of TrainingHistory
        One per member.
    """

    _is_global = True

    season_length: object = "auto"
    horizon: int | None = None
    window: int | None = None
    hidden_size: int = 40
    dilations: tuple | None = None
    quantiles: tuple | None = None
    level_penalty: float = 10.0
    n_windows: int | None = 128
    n_models: int = 1
    n_snapshots: int = 3
    max_epochs: int = field(default=40, kw_only=True)
    batch_size: int = field(default=32, kw_only=True)
    lr: float = field(default=3e-3, kw_only=True)
    lr_schedule: str | None = field(default=None, kw_only=True)
    patience: int | None = field(default=None, kw_only=True)
    validation_size: float | None = field(default=None, kw_only=True)
    clip_grad_norm: float | None = field(default=20.0, kw_only=True)

    @classmethod
    def _test_params(cls) -> dict:
        return dict(season_length=7, hidden_size=8, max_epochs=3, n_snapshots=2, random_state=0)

    # ------------------------------------------------------------------ settings
    def _min_length(self) -> int:
        w = self.window if self.window is not None else 4
        return int(w) + 1

    def _resolve_seasons(self, panel) -> tuple:
        sl = self.season_length
        if sl is None:
            return ()
        if isinstance(sl, str):
            if sl != "auto":
                raise ValueError(f"ESRNNForecaster: season_length must be 'auto', an int, a tuple or None, got {sl!r}")
            found = [p for s in panel.series[:200] for p in detect_seasonality(s.y)[:1]]
            return (int(np.bincount(found).argmax()),) if found else ()
        out = tuple(int(m) for m in np.atleast_1d(sl))
        if not 1 <= len(out) <= 2 or min(out) < 2:
            raise ValueError(f"ESRNNForecaster: season_length needs one or two periods >= 2, got {sl!r}")
        return tuple(sorted(out))

    def _settings(self, panel):
        seasons = self._resolve_seasons(panel)
        m1 = seasons[0] if seasons else None
        H = int(self.horizon) if self.horizon is not None else (2 * m1 if m1 else 8)
        w = int(self.window) if self.window is not None else (max(m1, 4) if m1 else 8)
        if H < 1 or w < 1:
            raise ValueError(f"ESRNNForecaster: horizon and window must be >= 1, got {H} and {w}")
        short = [s.uid for s in panel.series if len(s.y) < w + 1]
        if short:
            raise ValueError(f"ESRNNForecaster: series {short[0]!r} is too short: it needs at least window + 1 = "
                             f"{w + 1} values")
        if self.dilations is not None:
            dil = tuple(tuple(int(d) for d in b) for b in self.dilations)
        elif seasons:
            dil = ((1, 2), (m1, seasons[1] if len(seasons) > 1 else 2 * m1))
        else:
            dil = ((1, 2), (4, 8))
        q = tuple(sorted(set(float(v) for v in (self.quantiles or _QUANTILES)) | {0.5}))
        if not all(0.0 < v < 1.0 for v in q):
            raise ValueError(f"ESRNNForecaster: quantiles must lie in (0, 1), got {q}")
        return seasons, H, w, dil, q

    # ------------------------------------------------------------------ data
    def _arrays(self, panel):
        """Right-padded positive values ``(N, T)`` and their mask, as float32 / bool arrays."""
        T = max(len(s.y) for s in panel.series)
        y = np.ones((len(panel.series), T), dtype=np.float64)
        mask = np.zeros_like(y, dtype=bool)
        for i, s in enumerate(panel.series):
            v = s.y + self.offset_.get(s.uid, 0.0)
            if not (v > 0).all():
                raise ValueError(f"ESRNNForecaster: series {s.uid!r} is not positive after its fitted shift")
            y[i, :len(v)], y[i, len(v):], mask[i, :len(v)] = v, v[-1], True
        return y.astype(np.float32), mask

    @staticmethod
    def _shift(y: np.ndarray) -> float:
        """0 for a positive series; else a shift that makes it positive (the model is multiplicative)."""
        lo = float(np.min(y))
        return 0.0 if lo > 0 else -lo + max(float(np.std(y)), 1e-3)

    # ------------------------------------------------------------------ fit
    def _fit_panel(self, panel) -> None:
        self.offset_ = {s.uid: self._shift(s.y) for s in panel.series}
        self.seasons_, self.horizon_, self.window_, dil, q = self._settings(panel)
        y, mask = self._arrays(panel)
        init = list(zip(*[initial_seasons(np.log(y[i, :mask[i].sum()]), self.seasons_)
                          for i in range(len(y))])) if self.seasons_ else []
        data = (np.arange(len(y)), y, mask)
        cfg = self._training_config()
        if cfg.validation_size:
            raise ValueError("ESRNNForecaster: validation_size must be None (it trains on every window)")
        base = seed_from(self.random_state)
        self.members_, self.histories_ = [], []
        with self._threads():
            for k in range(int(self.n_models)):
                with seeded(base + k):
                    module = ESRNNModule(len(y), self.seasons_, [np.stack(s) for s in init], self.window_,
                                         self.horizon_, q, int(self.hidden_size), dil)
                self._train(module, data, base + k, cfg)

    def _loss(self, module, batch):
        idx, y, mask = batch
        out = module(idx, y, mask, n_windows=self.n_windows)
        loss = _pinball(out["quantiles"], out["target"], module.q, out["valid"])
        return loss + float(self.level_penalty) * _level_penalty(out["level"], mask)

    def _train(self, module, data, seed, cfg) -> None:
        """Train one network; keep its weights after each of the last ``n_snapshots`` epochs."""
        epochs = cfg.max_epochs
        n_snap = int(np.clip(self.n_snapshots, 1, epochs))
        kw = {**cfg._fit_kwargs(), "desc": "ESRNNForecaster"}
        state = None
        for part, n_ep in enumerate([epochs - n_snap + 1] + [1] * (n_snap - 1)):
            kw["max_epochs"] = n_ep
            hist = fit_module(module, data, None, loss_fn=self._loss, random_state=seed + 1000 * part,
                              optimizer_state=state, **kw)
            state = hist.optimizer_state
            self.histories_.append(hist)
            self.members_.append(copy.deepcopy(module).cpu().eval())

    # ------------------------------------------------------------------ predict
    @torch.no_grad()
    def _block(self, y, mask, last):
        """Quantile forecasts ``(N, H, Q)`` (data units) of the next ``H`` steps after each series' last value,
        averaged over the ensemble in log space."""
        out = []
        for a in range(0, len(y), 64):  # chunks of series bound the memory of the window tensors
            sl = slice(a, a + 64)
            idx = torch.arange(a, min(a + 64, len(y)))
            yt, mt = torch.from_numpy(y[sl]), torch.from_numpy(mask[sl])
            rows = torch.from_numpy(last[sl] - self.window_ + 1)
            logq = 0.0
            for m in self.members_:
                res = m(idx, yt, mt, rows)
                qs, _ = res["quantiles"][:, 0].sort(-1)
                logq = logq + qs + res["offset"][:, 0].unsqueeze(-1)
            out.append(np.exp((logq / len(self.members_)).double().numpy()))
        return np.concatenate(out)

    def _quantile_paths(self, panel, h):
        """``(N, h, Q)`` forecasts; beyond one block the median is appended and the smoothing run on."""
        y, mask = self._arrays(panel)
        last = mask.sum(1) - 1
        blocks = []
        for _ in range(-(-h // self.horizon_)):
            fc = self._block(y, mask, last)
            blocks.append(fc)
            med = fc[:, :, int(np.searchsorted(self.members_[0].q.numpy(), 0.5))].astype(np.float32)
            n_new = last + 1 + self.horizon_
            y2 = np.ones((len(y), max(n_new.max(), y.shape[1])), dtype=np.float32)
            m2 = np.zeros(y2.shape, dtype=bool)
            for i in range(len(y)):
                y2[i, :last[i] + 1] = y[i, :last[i] + 1]
                y2[i, last[i] + 1:n_new[i]] = med[i]
                y2[i, n_new[i]:] = med[i, -1]
                m2[i, :n_new[i]] = True
            y, mask, last = y2, m2, n_new - 1
        return np.concatenate(blocks, axis=1)[:, :h]

    def _predict_panel(self, panel, h, X, levels):
        with self._threads():
            fc = self._quantile_paths(panel, h)
        q = self.members_[0].q.numpy().astype(float)
        results = []
        for i, s in enumerate(panel.series):
            shift = self.offset_[s.uid]
            qs = fc[i] - shift
            med = qs[:, int(np.searchsorted(q, 0.5))]
            results.append((med, {lv: _interval(qs, q, med, lv) for lv in levels}))
        return results


def _interval(qs, q, med, level):
    """Central interval of ``level`` percent from quantile forecasts ``qs`` ``(h, Q)`` at levels ``q``:
    interpolated between the quantiles, extrapolated beyond the outermost with a normal tail."""
    a = (1 - level / 100) / 2
    out = []
    for p, j in ((a, 0), (1 - a, -1)):
        if q[0] <= p <= q[-1]:
            out.append(np.array([np.interp(p, q, row) for row in qs]))
        else:
            sigma = (qs[:, j] - med) / stats.norm.ppf(q[j])
            out.append(med + stats.norm.ppf(p) * sigma)
    return out[0], out[1]
