r"""RNNForecaster: one recurrent network trained across all series of a panel (a *global* model).

Each series is scaled on its own (``scaler``), cut into windows of ``window`` steps (``tsrnn.features.make_windows``),
and the windows of all series are mixed in the mini-batches of :func:`tsrnn.nn.fit_module`. At step ``t`` the
network reads ``z_t = [y_t, x_t]`` (scaled value and exogenous regressors) for the ``window`` last steps; a linear
head maps the last hidden state ``h_t`` and the regressors of the steps to forecast to the output:

.. math::  \hat y_{t+1:t+H} = W [h_t, x_{t+1:t+H}] + b

with ``H = 1`` for ``strategy="recursive"`` (each forecast is fed back as the next input) and ``H = horizon`` for
``strategy="mimo"`` (all steps at once; longer horizons continue block by block).

The output head and its loss are pluggable (:data:`HEADS`): ``"mse"`` and ``"mae"`` give a point forecast with
intervals from the per-series in-sample residual spread (recursive: ``sigma_h = sigma_1 sqrt(h)``; MIMO: each
output step's own spread); ``"gaussian"`` outputs ``(mu, log
sigma)`` trained by the Gaussian negative log-likelihood; ``"quantile"`` outputs the ``quantiles`` trained by the
pinball loss (the median is the point forecast); ``"categorical"`` outputs a softmax over ``n_bins`` value bins
trained by cross-entropy. ``distribution=`` picks a likelihood head instead (:data:`DISTRIBUTIONS`: ``"normal"``,
``"studentt"``, and for counts ``"poisson"`` and ``"negbin"`` with DeepAR's per-window mean scaling), trained by
its negative log-likelihood, the point forecast being the predictive mean. For the probabilistic heads the
intervals are quantiles of ``n_samples`` Monte Carlo sample paths (each sampled value fed back for the recursive
strategy).

Without arguments the window, the seasonal skip and the scaling are chosen from the data at ``fit`` (see
:class:`RNNForecaster`, *Defaults*).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .._validation import check_positive_int
from ..base import BaseForecaster, gaussian_intervals, quantile_intervals
from ..features import make_windows
from ..nn.recurrent import CELL_NAMES, RNN
from ..nn.training import TrainingParams, fit_module, neural_estimator, seed_from, seeded
from ._season import panel_season

__all__ = ["RNNForecaster", "HEADS", "Head", "DISTRIBUTIONS", "DistributionHead"]

_CELL_ALIASES = {"peephole": "peephole_lstm", "tanh": "elman", "rnn": "elman"}


# ----------------------------------------------------------------------------------------------- output heads
class Head:
    """An output head: how many numbers per step, the training loss, the point forecast, and sampling.

    ``out`` has shape ``(batch, H, n_out)``, ``y`` ``(batch, H)``. ``sample`` returns ``(batch, H)`` draws or
    ``None`` for point heads (intervals then come from residuals). ``prepare(z) -> (z_in, ctx)`` maps the
    network's input windows before the forward pass; ``ctx`` (here ``None``) is handed to ``loss``, ``point``
    and ``sample`` (the count heads pass their window scale this way).
    """

    n_out = 1
    probabilistic = False

    def __init__(self, est: RNNForecaster):
        self.est = est

    def prepare(self, z):
        return z, None

    def loss(self, out, y, ctx=None):  # pragma: no cover - abstract
        raise NotImplementedError

    def point(self, out, ctx=None):
        return out[..., 0]

    def sample(self, out, gen, ctx=None):
        return None

    def setup(self, y: np.ndarray) -> dict:
        """Fit-time state from the training targets ``y`` ``(n, H)`` (scaled); stored as ``head_state_``."""
        return {}


class MSEHead(Head):
    def loss(self, out, y, ctx=None):
        return nn.functional.mse_loss(out[..., 0], y)


class MAEHead(Head):
    def loss(self, out, y, ctx=None):
        return nn.functional.l1_loss(out[..., 0], y)


class GaussianHead(Head):
    r"""``(mu, log sigma)`` trained by ``mean(log sigma + (y - mu)^2 / (2 sigma^2))`` (the NLL up to a constant)."""

    n_out = 2
    probabilistic = True

    def loss(self, out, y, ctx=None):
        mu, log_sigma = out[..., 0], out[..., 1].clamp(-7.0, 7.0)
        return (log_sigma + 0.5 * ((y - mu) * torch.exp(-log_sigma)) ** 2).mean()

    def sample(self, out, gen, ctx=None):
        mu, sigma = out[..., 0], torch.exp(out[..., 1].clamp(-7.0, 7.0))
        return mu + sigma * torch.randn(mu.shape, generator=gen, dtype=mu.dtype)


class QuantileHead(Head):
    r"""The quantiles ``q`` of ``quantiles`` trained by the pinball loss ``max(q (y - f), (q - 1)(y - f))``."""

    probabilistic = True

    def __init__(self, est):
        super().__init__(est)
        q = sorted(set(float(v) for v in (est.quantiles or (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975)))
                   | {0.5})
        if not all(0.0 < v < 1.0 for v in q):
            raise ValueError(f"RNNForecaster: quantiles must lie in (0, 1), got {q}")
        self.q = torch.tensor(q)
        self.n_out = len(q)

    def loss(self, out, y, ctx=None):
        diff = y.unsqueeze(-1) - out
        q = self.q.to(out.device, out.dtype)
        return torch.maximum(q * diff, (q - 1.0) * diff).mean()

    def point(self, out, ctx=None):
        return out[..., int(torch.searchsorted(self.q, torch.tensor(0.5)))]

    def sample(self, out, gen, ctx=None):
        """Inverse-CDF draw: ``u ~ U(q_1, q_K)`` interpolated linearly between the (sorted) predicted quantiles."""
        vals, _ = out.sort(dim=-1)
        q = self.q.to(out.dtype)
        u = q[0] + (q[-1] - q[0]) * torch.rand(out.shape[:-1], generator=gen, dtype=out.dtype)
        k = torch.searchsorted(q, u.contiguous()).clamp(1, len(q) - 1)
        lo, hi = q[k - 1], q[k]
        vlo = vals.gather(-1, (k - 1).unsqueeze(-1)).squeeze(-1)
        vhi = vals.gather(-1, k.unsqueeze(-1)).squeeze(-1)
        return vlo + (vhi - vlo) * (u - lo) / (hi - lo)


class CategoricalHead(Head):
    r"""The value range cut into ``n_bins`` bins; softmax probabilities trained by cross-entropy on the bin of ``y``.

    Bin edges are equally spaced between the 0.5 % and 99.5 % quantiles of the (scaled) training targets; the outer
    bins are open. Point forecast: the probability-weighted mean of the bin centres; samples: a bin drawn from the
    probabilities, then a uniform position inside it.
    """

    probabilistic = True

    def __init__(self, est):
        super().__init__(est)
        self.n_out = int(est.n_bins) if est.n_bins is not None else 50
        if self.n_out < 2:
            raise ValueError(f"RNNForecaster: n_bins must be >= 2, got {est.n_bins!r}")
        state = getattr(est, "head_state_", None) or {}
        if "edges" in state:
            self.edges = torch.as_tensor(state["edges"], dtype=torch.float32)

    def setup(self, y):
        lo, hi = np.quantile(y, [0.005, 0.995])
        if hi - lo < 1e-6:
            lo, hi = lo - 1.0, hi + 1.0
        self.edges = torch.linspace(float(lo), float(hi), self.n_out + 1)
        return {"edges": self.edges.numpy()}

    def _centres(self, like):
        e = self.edges.to(like.device, like.dtype)
        return 0.5 * (e[1:] + e[:-1])

    def loss(self, out, y, ctx=None):
        idx = torch.bucketize(y.contiguous(), self.edges[1:-1].to(y.device, y.dtype))
        return nn.functional.cross_entropy(out.reshape(-1, self.n_out), idx.reshape(-1))

    def point(self, out, ctx=None):
        return torch.softmax(out, dim=-1) @ self._centres(out)

    def sample(self, out, gen, ctx=None):
        p = torch.softmax(out, dim=-1).reshape(-1, self.n_out)
        k = torch.multinomial(p, 1, generator=gen).squeeze(-1)
        e = self.edges.to(out.dtype)
        u = torch.rand(k.shape, generator=gen, dtype=out.dtype)
        return (e[k] + u * (e[k + 1] - e[k])).reshape(out.shape[:-1])


# ----------------------------------------------------------------------------------------------- likelihood heads
class DistributionHead(Head):
    r"""A parametric predictive distribution per step, trained by its negative log-likelihood (``distribution``).

    ``params(out, ctx)`` maps the raw outputs to the distribution's parameters, ``nll(y, *params)`` is the
    negative log-likelihood written out (tested against ``torch.distributions``' ``log_prob``), ``dist(*params)``
    the ``torch.distributions`` object used to sample. The point forecast is the distribution's **mean**; interval
    bounds are quantiles of ``n_samples`` sample paths (each draw fed back for the recursive strategy).
    """

    probabilistic = True
    counts = False

    def params(self, out, ctx):  # pragma: no cover - abstract
        raise NotImplementedError

    def nll(self, y, *params):  # pragma: no cover - abstract
        raise NotImplementedError

    def dist(self, *params):  # pragma: no cover - abstract
        raise NotImplementedError

    def loss(self, out, y, ctx=None):
        return self.nll(y, *self.params(out, ctx)).mean()

    def point(self, out, ctx=None):
        return self.dist(*self.params(out, ctx)).mean

    def sample(self, out, gen, ctx=None):  # torch.distributions draw from the global generator: seeded by caller
        return self.dist(*self.params(out, ctx)).sample()


def _positive(x, floor=1e-3):
    return nn.functional.softplus(x) + floor


class NormalHead(DistributionHead):
    r"""``N(mu, sigma^2)`` in scaled units, ``sigma = softplus(o_2) + 10^-3``;
    ``nll = log sigma + log(2 pi) / 2 + ((y - mu) / sigma)^2 / 2``."""

    n_out = 2

    def params(self, out, ctx):
        return out[..., 0], _positive(out[..., 1])

    def nll(self, y, mu, sigma):
        return torch.log(sigma) + 0.5 * math.log(2 * math.pi) + 0.5 * ((y - mu) / sigma) ** 2

    def dist(self, mu, sigma):
        return torch.distributions.Normal(mu, sigma)


class StudentTHead(DistributionHead):
    r"""Student's t with ``nu = 2 + softplus(o_3)`` degrees of freedom (finite variance), location ``mu`` and
    scale ``sigma = softplus(o_2) + 10^-3`` in scaled units; with ``u = (y - mu) / sigma``:
    ``nll = -lgamma((nu+1)/2) + lgamma(nu/2) + log(nu pi) / 2 + log sigma + (nu+1)/2 log(1 + u^2 / nu)``."""

    n_out = 3

    def params(self, out, ctx):
        return 2.0 + nn.functional.softplus(out[..., 2]), out[..., 0], _positive(out[..., 1])

    def nll(self, y, df, mu, sigma):
        u = (y - mu) / sigma
        return (torch.lgamma(0.5 * df) - torch.lgamma(0.5 * (df + 1)) + 0.5 * torch.log(df * math.pi)
                + torch.log(sigma) + 0.5 * (df + 1) * torch.log1p(u**2 / df))

    def dist(self, df, mu, sigma):
        return torch.distributions.StudentT(df, mu, sigma)


class CountHead(DistributionHead):
    r"""A count distribution on the raw (unscaled, non-negative) series, scaled as DeepAR does (Salinas et al.,
    2020): each input window is divided by ``nu = 1 + mean(window)`` (so the network sees values near 1 whatever
    the series' size, and the scale follows the level window by window) and the predicted mean is
    ``mu = nu * softplus(o_1)``, in counts. Draws are counts (non-negative integers); so are the interval bounds'
    sources, and the mean forecast is positive."""

    counts = True

    def prepare(self, z):
        nu = 1.0 + z[:, :, 0].mean(dim=1, keepdim=True)  # (B, 1)
        return torch.cat([z[:, :, :1] / nu.unsqueeze(-1), z[:, :, 1:]], dim=-1), nu


class PoissonHead(CountHead):
    r"""``Poisson(mu)``; ``nll = mu - y log mu + lgamma(y + 1)``."""

    def params(self, out, ctx):
        return (ctx * _positive(out[..., 0], 1e-6),)

    def nll(self, y, mu):
        return mu - y * torch.log(mu) + torch.lgamma(y + 1.0)

    def dist(self, mu):
        return torch.distributions.Poisson(mu)


class NegBinHead(CountHead):
    r"""Negative binomial with mean ``mu`` and dispersion ``alpha = softplus(o_2) / sqrt(nu)`` (DeepAR's scaling),
    variance ``mu + alpha mu^2``; with ``r = 1 / alpha``:
    ``nll = -lgamma(y + r) + lgamma(y + 1) + lgamma(r) - r log(r / (r + mu)) - y log(mu / (r + mu))``."""

    n_out = 2

    def params(self, out, ctx):
        return ctx * _positive(out[..., 0], 1e-6), _positive(out[..., 1], 1e-4) / torch.sqrt(ctx)

    def nll(self, y, mu, alpha):
        r = 1.0 / alpha
        return (torch.lgamma(y + 1.0) + torch.lgamma(r) - torch.lgamma(y + r)
                - r * torch.log(r / (r + mu)) - y * torch.log(mu / (r + mu)))

    def dist(self, mu, alpha):
        r = 1.0 / alpha
        return torch.distributions.NegativeBinomial(total_count=r, logits=torch.log(mu) - torch.log(r))


#: distribution name -> likelihood head (``RNNForecaster(distribution=...)``)
DISTRIBUTIONS: dict[str, type[DistributionHead]] = {"normal": NormalHead, "studentt": StudentTHead,
                                                     "poisson": PoissonHead, "negbin": NegBinHead}


#: loss name -> head class; new output modes plug in here
HEADS: dict[str, type[Head]] = {"mse": MSEHead, "mae": MAEHead, "gaussian": GaussianHead, "quantile": QuantileHead,
                                "categorical": CategoricalHead}


# ----------------------------------------------------------------------------------------------- network
class WindowNet(nn.Module):
    """RNN over a window of ``[y, x]`` rows, then a linear head on ``[h_last, x_future]``.

    ``forward(z (B, window, 1 + k), xf (B, H * k)) -> (B, H, n_out)``.
    """

    def __init__(self, cell, n_features, hidden_size, num_layers, dropout, horizon, n_exog, n_out, cell_options):
        super().__init__()
        self.horizon, self.n_out = horizon, n_out
        self.rnn = RNN(cell, n_features, hidden_size, num_layers, dropout=dropout, **cell_options)
        self.head = nn.Linear(self.rnn.output_size + horizon * n_exog, horizon * n_out)

    def forward(self, z, xf=None):
        out, _ = self.rnn(z)
        last = out[:, -1]
        if xf is not None and xf.shape[-1]:
            last = torch.cat([last, xf], dim=-1)
        return self.head(last).view(z.shape[0], self.horizon, self.n_out)


# ----------------------------------------------------------------------------------------------- forecaster
class WindowDataset:
    """Training windows cut from the series on demand (a lazy dataset for :func:`tsrnn.nn.fit_module`).

    Holds the scaled rows of each series once and an ``(n_windows, 2)`` index of ``(series, start)``;
    ``take(indices)`` cuts just those windows and returns ``(z, xf, target, series)`` (or the columns chosen by
    :meth:`select`), equal to what :func:`tsrnn.features.make_windows` would give for them. Memory is the data
    plus 16 bytes per window, instead of ``window + horizon`` values per window.
    """

    def __init__(self, rows, index, window, horizon, centred, cols=(0, 1, 2, 3)):
        self.index, self.window, self.horizon = np.asarray(index, dtype=np.int64), window, horizon
        self.centred, self.cols = centred, tuple(cols)
        if isinstance(rows, tuple):  # (flat, offsets) shared by select()
            self.flat, self.offsets = rows
        else:  # all series' rows in one array, so that a batch is one gather instead of a loop over windows
            rows = [np.asarray(r, dtype=np.float64) for r in rows]
            self.offsets = np.cumsum([0] + [len(r) for r in rows[:-1]]).astype(np.int64)
            self.flat = np.concatenate(rows) if rows else np.empty((0, 1))

    def __len__(self) -> int:
        return len(self.index)

    def select(self, cols) -> WindowDataset:
        return WindowDataset((self.flat, self.offsets), self.index, self.window, self.horizon, self.centred, cols)

    def take(self, idx) -> tuple:
        w, H = self.window, self.horizon
        sel = self.index[np.asarray(idx, dtype=np.int64)]
        start = self.offsets[sel[:, 0]] + sel[:, 1]
        block = self.flat[start[:, None] + np.arange(w + H)]  # (B, w + H, 1 + k)
        Z, Y = block[:, :w], block[:, w:]
        Zc, target = self.centred(Z, Y)
        parts = (Zc.astype(np.float32), Y[:, :, 1:].reshape(len(Y), -1).astype(np.float32),
                 target.astype(np.float32), sel[:, 0])
        return tuple(parts[c] for c in self.cols)

    def column(self, c: int, chunk: int = 4096) -> np.ndarray:
        """One column over all windows, built chunk by chunk."""
        return np.concatenate([self.take(np.arange(a, min(a + chunk, len(self))))[self.cols.index(c)]
                               for a in range(0, len(self), chunk)])


@neural_estimator
class RNNForecaster(TrainingParams, BaseForecaster):
    r"""Global recurrent forecaster: one network trained on the windows of every series of the panel.

    **Defaults.** Built with no arguments it is meant to forecast any ordinary series sensibly, so the settings
    that depend on the data are chosen at ``fit`` from the data (and stored as ``window_``, ``season_length_``,
    ``scaler_``):

    - ``season_length="auto"``: the period found by :func:`tsrnn.features.detect_seasonality` on most series of
      the panel (none if most series have none). When a period ``m`` is found the network forecasts the
      deviation from the seasonal naive forecast (a seasonal skip connection), so an untrained or undertrained
      network already forecasts the seasonal pattern instead of a flat line.
    - ``window="auto"``: at least two seasons and at least 16 steps (``m * ceil(max(16, 2m) / m)``; 16 without a
      season), at most a third of the shortest series, so that there are many training windows. When the
      shortest series cannot hold a season in its window, the seasonal skip is turned off.
    - ``scaler="auto"``: ``"window"`` (each window centred on its own mean after standardising the series): the
      network sees shapes, not levels, so a trending series is forecast from its current level instead of the
      training mean (the failure of a fixed per-series scaling: a flat forecast far from a rising series). With
      a count ``distribution`` the DeepAR scaling is used instead (see below).
    - Training stops early on the last 10 % of each series' windows (``patience=10``, best weights restored);
      ``n_threads=1`` (small recurrent networks are sequential; more threads only wait on busy cores): the shared
      settings of :class:`tsrnn.nn.training.TrainingParams`.

    Parameters
    ----------
    cell : str, default "lstm"
        ``"lstm"``, ``"gru"``, ``"elman"``, ``"peephole_lstm"``, ``"mut1"``, ``"mut2"``, ``"mut3"``, the LSTM
        ablations ``"lstm_f"``, ``"lstm_i"``, ``"lstm_o"``, ``"lstm_b"``, or ``"dnc"`` (see :class:`tsrnn.nn.RNN`).
    hidden_size, num_layers : int, default 32, 1
    window : int or "auto", default "auto"
        Input steps per window (see *Defaults*).
    strategy : {"recursive", "mimo"}, default "recursive"
    horizon : int, optional
        Steps output at once by ``strategy="mimo"`` (required there).
    scaler : {"auto", "standard", "window", "log", "mean", "none"}, default "auto"
        Per series: ``(y - mean) / std``, ``y / mean(|y|)``, or as is. ``"window"`` standardises each series and
        then centres every window on its own mean (the local level), inputs and targets alike; the forecast adds
        that level back. It helps series whose level drifts. ``"log"`` (positive series only) works on ``log y``
        and centres every window the same way, so each window is divided by its geometric mean: the network
        sees ratios, a level- and scale-free input for series with multiplicative level and seasonality (the
        normalisation of ES-RNN, Smyl 2020, without its exponential-smoothing level); forecasts and interval
        bounds are mapped back with ``exp`` (so intervals are asymmetric). ``"auto"``: see *Defaults*.
    loss : {"mse", "mae", "gaussian", "quantile", "categorical"}, default "mse"
    distribution : {None, "normal", "studentt", "poisson", "negbin"}, default None
        A likelihood head trained by the negative log-likelihood (it replaces ``loss``). The **point forecast is
        the predictive mean**; interval bounds are quantiles of ``n_samples`` sample paths. ``"normal"`` and
        ``"studentt"`` work in the scaled units of ``scaler``. ``"poisson"`` and ``"negbin"`` are for counts
        (``y >= 0``): they model the raw series, scaled as DeepAR does (each window divided by ``1 + mean(window)``,
        the predicted mean multiplied back, the negative binomial's dispersion divided by its square root), with
        no seasonal skip (an additive correction could go negative); their forecasts, draws and bounds are never
        negative. With them ``scaler`` must be "auto" or "none".
    quantiles : sequence of float, optional
        Quantile levels of ``loss="quantile"`` (0.5 is always added); default 0.025 .. 0.975.
    dropout : float, default 0.0
        Between stacked layers.
    max_windows : int, optional
        Keep only the most recent ``max_windows`` training windows of each series.
    season_length : int, "auto" or None, default "auto"
        When set, the network forecasts the deviation from the seasonal naive forecast read from its window,
        ``y_{t+j} = y_{t+j-m(1+floor((j-1)/m))} + f(.)`` (a seasonal skip connection, in the spirit of ES-RNN's
        deseasonalisation); needs ``window >= season_length``. ``None`` turns it off; ``"auto"``: see *Defaults*.
    n_bins : int, optional
        Bins of ``loss="categorical"`` (default 50).
    n_samples : int, default 100
        Sample paths for the intervals of the probabilistic heads.
    warm_start : bool, default False
        A new ``fit`` continues from the weights (and optimiser state) of the previous one.
    cell_options : dict, optional
        Passed to the cell (e.g. ``{"memory_size": 16}`` for ``"dnc"``).
    {training_parameters}

    Attributes
    ----------
    module_ : WindowNet (on the CPU)
    history_ : TrainingHistory
    window_, season_length_, scaler_ : the settings used (``"auto"`` resolved; ``season_length_`` None: no skip)
    loc_, scale_ : dict uid -> float, the per-series scaling
    sigma_ : dict uid -> (H,) residual standard deviation (scaled units) per output step over each series' last
        100 windows (point heads; computed in ``fit`` and ``update``), else None
    """

    _is_global = True
    _supports_exog = True

    cell: str = "lstm"
    hidden_size: int = 32
    num_layers: int = 1
    window: int | str = "auto"
    strategy: str = "recursive"
    horizon: int | None = None
    scaler: str = "auto"
    loss: str = "mse"
    distribution: str | None = None
    quantiles: tuple | None = None
    dropout: float = 0.0
    max_windows: int | None = None
    season_length: int | str | None = "auto"
    n_bins: int | None = None
    n_samples: int = 100
    warm_start: bool = False
    cell_options: dict | None = None

    # ------------------------------------------------------------------ settings
    def _out_steps(self) -> int:
        if self.strategy == "recursive":
            return 1
        if self.strategy != "mimo":
            raise ValueError(f"RNNForecaster: strategy must be 'recursive' or 'mimo', got {self.strategy!r}")
        if self.horizon is None or int(self.horizon) < 1:
            raise ValueError("RNNForecaster: strategy='mimo' needs horizon=<steps output at once> (an int >= 1)")
        return int(self.horizon)

    def _window_param(self):
        w = self.window
        if w == "auto":
            return None
        return check_positive_int(w, "window", "RNNForecaster", alternatives="'auto'")

    def _window(self) -> int:
        """The fitted window length."""
        return self.window_

    def _min_length(self) -> int:
        w = self._window_param()
        return (w if w is not None else 3) + self._out_steps()

    def _cell_name(self) -> str:
        c = _CELL_ALIASES.get(str(self.cell).lower(), str(self.cell).lower())
        if c not in CELL_NAMES:
            raise ValueError(f"RNNForecaster: unknown cell {self.cell!r}; choose one of {CELL_NAMES}")
        return c

    def _head(self) -> Head:
        if self.distribution is not None:
            if self.distribution not in DISTRIBUTIONS:
                raise ValueError(f"RNNForecaster: distribution must be None or one of {sorted(DISTRIBUTIONS)}, "
                                 f"got {self.distribution!r}")
            return DISTRIBUTIONS[self.distribution](self)
        if self.loss not in HEADS:
            raise ValueError(f"RNNForecaster: loss must be one of {sorted(HEADS)}, got {self.loss!r}")
        return HEADS[self.loss](self)

    def _resolve(self, panel, head) -> None:
        """Choose ``scaler_``, ``season_length_`` and ``window_`` from the data where they are "auto"."""
        counts = getattr(head, "counts", False)
        if counts and self.scaler not in ("auto", "none", None):
            raise ValueError(f"RNNForecaster: distribution={self.distribution!r} scales the raw counts itself; "
                             f"scaler must be 'auto' or 'none', got {self.scaler!r}")
        self.scaler_ = ("none" if counts else "window") if self.scaler == "auto" else self.scaler
        H = self._out_steps()
        n_min = min(len(s.y) for s in panel.series)
        cap = max(2, min(n_min // 3, n_min - H - 1))
        m = self.season_length
        if m == "auto":
            m = panel_season([s.y for s in panel.series])
        else:
            check_positive_int(m, "season_length", "RNNForecaster", allow_none=True, alternatives="'auto'")
        w = self._window_param()
        if w is None:
            w = min(m * -(-max(16, 2 * m) // m) if m else 16, cap)
            if m and w < m:  # the shortest series cannot hold a season in a window: no skip
                m, w = None, min(16, cap)
        elif m is not None and w < m:
            if self.season_length == "auto":
                m = None
            else:
                raise ValueError(f"RNNForecaster: season_length must be an integer in [1, window={w}], "
                                 f"got {self.season_length!r}")
        self.window_ = int(w)
        self.season_length_ = None if (m is None or counts) else int(m)

    def _scaling(self, y: np.ndarray) -> tuple[float, float]:
        if self.scaler_ in ("standard", "window"):
            loc, scale = float(np.mean(y)), float(np.std(y))
        elif self.scaler_ == "mean":
            loc, scale = 0.0, float(np.mean(np.abs(y)))
        elif self.scaler_ in ("log", "none", None):  # "log" transforms in _rows and needs no location or scale
            loc, scale = 0.0, 1.0
        else:
            raise ValueError(f"RNNForecaster: scaler must be 'auto', 'standard', 'window', 'log', 'mean' or 'none', "
                             f"got {self.scaler!r}")
        return loc, (scale if scale > 1e-12 else 1.0)

    def _rows(self, s) -> np.ndarray:
        """``(n, 1 + k)`` rows ``[scaled y, x]`` of one series."""
        if self.scaler_ == "log":
            if not (s.y > 0).all():
                raise ValueError(f"RNNForecaster: series {s.uid!r} has values <= 0 (minimum {np.min(s.y):g}); "
                                 "scaler='log' needs positive series")
            ys = np.log(s.y)
        else:
            ys = (s.y - self.loc_[s.uid]) / self.scale_[s.uid]
        return ys[:, None] if s.X is None else np.column_stack([ys, s.X])

    def _centres_windows(self) -> bool:
        """Whether every window is centred on its own mean (``scaler`` "window" or "log")."""
        return self.scaler_ in ("window", "log")

    def _level(self, z):
        """Local level of each window ``z`` ``(B, window, 1 + k)`` (``scaler`` "window" or "log"), shape ``(B, 1)``;
        else 0."""
        if not self._centres_windows():
            return 0.0
        return z[:, :, 0].mean(1, keepdims=True) if isinstance(z, np.ndarray) else z[:, :, 0].mean(1, keepdim=True)

    def _season_index(self):
        """Window positions of the seasonal naive forecast of each output step (``season_length_`` set), or None."""
        m = self.season_length_
        if m is None:
            return None
        j = np.arange(self._out_steps())
        return self._window() + j - m * (1 + j // m)

    def _base(self, z):
        """The seasonal naive forecast ``(B, H)`` read from the windows ``z`` (0 when ``season_length`` is None)."""
        idx = self._season_index()
        return 0.0 if idx is None else z[:, idx, 0]

    def _centred(self, Z, Y):
        """Windows and the network's targets: the local level removed (``scaler="window"``) and the seasonal naive
        forecast subtracted (``season_length``); numpy."""
        lvl = self._level(Z)
        if self._centres_windows():
            Z = Z.copy()
            Z[:, :, 0] -= lvl
        return Z, Y[:, :, 0] - lvl - self._base(Z)

    # ------------------------------------------------------------------ fit
    def _windows(self, panel, validation_size):
        """Training and validation :class:`WindowDataset`\\ s over all series (windows are cut per batch)."""
        w, H = self._window(), self._out_steps()
        rows, tr, va = [], [], []
        for i, s in enumerate(panel.series):
            r = self._rows(s)
            rows.append(r)
            m = len(r) - w - H + 1
            if m < 1:
                continue
            n_val = int(round(validation_size * m)) if validation_size else 0
            n_val = min(n_val, m - 1) if m > 1 else 0
            n_tr = max(m - n_val - (H - 1 if n_val else 0), 1)  # no target overlap with validation
            lo = 0 if self.max_windows is None else max(0, n_tr - int(self.max_windows))
            tr.append(np.column_stack([np.full(n_tr - lo, i), np.arange(lo, n_tr)]))
            if n_val:
                va.append(np.column_stack([np.full(n_val, i), np.arange(m - n_val, m)]))
        index = lambda parts: np.concatenate(parts) if parts else np.empty((0, 2), dtype=np.int64)  # noqa: E731
        return (WindowDataset(rows, index(tr), w, H, self._centred),
                WindowDataset(rows, index(va), w, H, self._centred) if va else None)

    def _fit_panel(self, panel) -> None:
        cfg = self._training_config()
        with self._threads():
            self._train(panel, cfg)

    def _train(self, panel, cfg) -> None:
        head = self._head()
        cell = self._cell_name()
        self._resolve(panel, head)
        if getattr(head, "counts", False):
            _check_counts(panel, self.distribution)
        self.loc_, self.scale_ = {}, {}
        for s in panel.series:
            self.loc_[s.uid], self.scale_[s.uid] = self._scaling(s.y)
        train, valid = self._windows(panel, cfg.validation_size)
        k = len(panel.exog_names)
        H = self._out_steps()
        seed = seed_from(cfg.random_state)
        config = (cell, int(self.hidden_size), int(self.num_layers), self._window(), H, k, head.n_out)
        if not (self.warm_start and getattr(self, "config_", None) == config):
            with seeded(seed):
                self.module_ = WindowNet(cell, 1 + k, int(self.hidden_size), int(self.num_layers),
                                         float(self.dropout), H, k, head.n_out, dict(self.cell_options or {}))
            self.optimizer_state_ = None
            self.head_state_ = head.setup(train.column(2))  # a warm start keeps the head's state (e.g. the bins)
        self.config_ = config

        def loss_fn(module, batch):  # batch: (z, y) or, with regressors, (z, xf, y)
            z, ctx = head.prepare(batch[0])
            return head.loss(module(z, *batch[1:-1]), batch[-1], ctx)

        cols = [0, 1, 2] if k else [0, 2]
        self.history_ = fit_module(
            self.module_, train.select(cols), valid.select(cols) if valid else None, loss_fn=loss_fn,
            random_state=seed + 1, optimizer_state=self.optimizer_state_, desc=f"RNNForecaster({cell})",
            **cfg._fit_kwargs())
        self.optimizer_state_ = self.history_.optimizer_state
        self.module_.cpu().eval()
        self.sigma_ = None if head.probabilistic else self._residual_sigma(panel, head)

    def _update_panel(self, panel) -> None:
        """New observations move the forecast origin; the residual spread is recomputed on the last windows."""
        head = self._head()
        if getattr(head, "counts", False):
            _check_counts(panel, self.distribution)
        if not head.probabilistic:
            with self._threads():
                self.sigma_ = self._residual_sigma(panel, head)

    @torch.no_grad()
    def _residual_sigma(self, panel, head) -> dict:
        """RMS of the scaled in-sample residuals per series and output step, over each series' last 100 windows."""
        w, H = self._window(), self._out_steps()
        out = {}
        for s in panel.series:
            Z, Y = make_windows(self._rows(s)[-(w + H + 99):], w, H)
            xf = Y[:, :, 1:].reshape(len(Y), -1)
            Zc, target = self._centred(Z, Y)
            zin, ctx = head.prepare(torch.from_numpy(Zc.astype(np.float32)))
            pred = head.point(self.module_(zin, torch.from_numpy(xf.astype(np.float32))), ctx).double().numpy()
            pred, target = pred + self._base(Zc), target + self._base(Zc)
            out[s.uid] = np.sqrt(np.mean((pred - target) ** 2, axis=0))
        return out

    # ------------------------------------------------------------------ predict
    @torch.no_grad()
    def _paths(self, z, xf_all, h, head, gen):
        """Roll the network forward ``h`` steps from windows ``z`` ``(B, w, 1+k)``; ``xf_all`` ``(B, h', k)``.

        ``gen`` None: feed back the point forecast; else feed back sampled values. Returns ``(B, h)``.
        """
        H = self._out_steps()
        k = z.shape[-1] - 1
        out = []
        done = 0
        while done < h:
            xf = xf_all[:, done:done + H]
            if xf.shape[1] < H:  # pad the regressors of steps beyond h (their forecasts are discarded)
                pad = xf[:, -1:].expand(-1, H - xf.shape[1], -1) if xf.shape[1] else z.new_zeros(len(z), H, k)
                xf = torch.cat([xf, pad], dim=1)
            lvl = self._level(z)
            zin = z if not self._centres_windows() else torch.cat([z[:, :, :1] - lvl.unsqueeze(-1), z[:, :, 1:]], dim=-1)
            znet, ctx = head.prepare(zin)
            o = self.module_(znet, xf.reshape(len(z), -1))
            step = (head.point(o, ctx) if gen is None else head.sample(o, gen, ctx)) + lvl + self._base(zin)
            out.append(step)
            z = torch.cat([z, torch.cat([step.unsqueeze(-1), xf], dim=-1)], dim=1)[:, -z.shape[1]:]
            done += H
        return torch.cat(out, dim=1)[:, :h]

    def _predict_panel(self, panel, h, X, levels):
        with self._threads():
            return self._forecast(panel, h, X, levels)

    def _forecast(self, panel, h, X, levels):
        head = self._head()
        w = self._window()
        k = len(panel.exog_names)
        H = self._out_steps()
        z = torch.from_numpy(np.stack([self._rows(s)[-w:] for s in panel.series]).astype(np.float32))
        n_fut = -(-h // H) * H
        if k:
            xf = np.stack([np.asarray(X[s.uid], dtype=np.float32) for s in panel.series])
        else:
            xf = np.zeros((len(panel.series), n_fut, 0), dtype=np.float32)
        xf = torch.from_numpy(xf)
        mean = self._paths(z, xf, h, head, None).double().numpy()
        draws = None
        if levels and head.probabilistic:
            S = int(self.n_samples)
            seed = seed_from(self.random_state)
            gen = torch.Generator().manual_seed(seed)
            with seeded(seed):  # torch.distributions sample from the global generator: seeded, then restored
                paths = self._paths(z.repeat_interleave(S, 0), xf.repeat_interleave(S, 0), h, head, gen)
            draws = paths.double().numpy().reshape(len(panel.series), S, h)
        results = []
        steps = np.arange(h)
        back = np.exp if self.scaler_ == "log" else (lambda a: a)  # noqa: E731  (to the data's units)
        for i, s in enumerate(panel.series):
            loc, scale = self.loc_[s.uid], self.scale_[s.uid]
            m = loc + scale * mean[i]
            if not levels:
                results.append((back(m), {}))
                continue
            if draws is not None:
                iv = quantile_intervals(draws[i], levels, loc, scale)
            else:
                sig = self.sigma_[s.uid]
                sigma = sig[steps % H] * np.sqrt(1 + steps // H) if H > 1 else sig[0] * np.sqrt(steps + 1)
                iv = gaussian_intervals(m, scale * sigma, levels)
            results.append((back(m), {lv: (back(lo), back(hi)) for lv, (lo, hi) in iv.items()}))
        return results


def _check_counts(panel, distribution) -> None:
    for s in panel.series:
        if (s.y < 0).any():
            raise ValueError(f"RNNForecaster: series {s.uid!r} has negative values (minimum {np.min(s.y):g}); "
                             f"distribution={distribution!r} is for counts (y >= 0)")
