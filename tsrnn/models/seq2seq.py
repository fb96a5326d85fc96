r"""Seq2SeqForecaster: a global encoder–decoder forecaster with optional attention (see :class:`tsrnn.nn.Seq2Seq`).

Each series is standardised on its own, ``z = (y - loc) / scale``. The encoder reads the last ``window`` values
(shorter histories are left-padded with zeros and masked out of the attention), the decoder emits ``horizon``
steps, feeding back its previous value. Trained by teacher forcing, optionally with scheduled sampling whose
teacher-forcing probability decays with the optimiser step ``i`` as ``p_i = p_0 k / (k + exp(i / k))`` (Bengio et
al. 2015, inverse sigmoid decay). ``predict(h)`` may ask for more steps than ``horizon``: the decoder keeps going.

Two output modes:

* regression (``n_bins=None``): squared-error loss; intervals ``mean ± z σ_h scale`` from the RMS of free-running
  residuals per step ``σ_h`` (``σ_h = σ_H sqrt(h / H)`` beyond the trained horizon);
* categorical (``n_bins=K``): the scaled values are quantised into ``K`` equal bins on ``[-bin_range,
  bin_range]`` and the decoder outputs a softmax over them (cross-entropy loss), which makes it a probabilistic
  forecaster: ``n_samples`` paths are drawn with :func:`tsrnn.nn.sample` (``temperature``, ``top_k``, ``top_p``),
  each value uniform within its bin; their quantiles give the intervals and their mean (or median) the point
  forecast; ``point="beam"`` returns the most likely path of :func:`tsrnn.nn.beam_search` instead and
  ``point="greedy"`` the greedy one.

:meth:`forecast_attention` returns the attention of the forecast from the end of each series, ``(n_series, h,
window)``, where column ``j`` is the input ``y_{T - window + 1 + j}`` (sample paths averaged in categorical mode):
the same decoding ``predict`` runs, so it is the attention of ``predict(h)``; :meth:`plot_attention` draws it as a
heat map. ``predict`` itself stores nothing (it never changes fitted state).

Training settings (epochs, batch size, learning rate and schedule, early stopping on a ``validation_size`` part,
clipping, device, threads, seed) are the shared ones of :class:`tsrnn.nn.training.TrainingParams`.

(:class:`tsrnn.models.RNNForecaster` has the same categorical output as its ``loss="categorical"`` head.)
"""

from __future__ import annotations

import math
from dataclasses import field

import numpy as np
import torch
from torch import nn

from .._validation import check_positive_int
from ..base import BaseForecaster, gaussian_intervals, quantile_intervals
from ..nn.decoding import beam_search, greedy, map_state, sample
from ..nn.seq2seq import Seq2Seq
from ..nn.training import TrainingParams, fit_module, neural_estimator, seed_from, seeded

__all__ = ["Seq2SeqForecaster", "bin_grid"]


def bin_grid(n_bins: int, bin_range: float = 4.0) -> tuple[np.ndarray, float]:
    """Centres of ``n_bins`` equal bins on ``[-bin_range, bin_range]`` and their width."""
    check_positive_int(n_bins, "n_bins", minimum=2)
    width = 2.0 * bin_range / n_bins
    return -bin_range + width * (np.arange(n_bins) + 0.5), width


def _quantise(y: torch.Tensor, centers: torch.Tensor, width: float) -> torch.Tensor:
    k = torch.floor((y - centers[0]) / width + 0.5).long()
    return k.clamp(0, len(centers) - 1)


@neural_estimator
class Seq2SeqForecaster(TrainingParams, BaseForecaster):
    r"""Global encoder–decoder forecaster.

    Parameters
    ----------
    cell : str, default "gru"
        Recurrent cell of encoder and decoder (any :class:`tsrnn.nn.RNN` cell but ``"dnc"``).
    attention : {None, "dot", "scaled_dot", "general", "additive"}, default None
    hidden_size, num_layers : int, default 32, 1
    bidirectional : bool, default False
        Bidirectional encoder.
    window : int, default 24
        Encoder length (input steps).
    horizon : int, default 12
        Decoder steps in training.
    dropout : float, default 0.0
    teacher_forcing : float, default 1.0
        Probability ``p_0`` that the decoder reads the true previous value in training.
    scheduled_sampling : float, optional
        ``k`` of the inverse-sigmoid decay ``p_i = p_0 k / (k + exp(i / k))`` over optimiser steps ``i``.
    n_bins : int, optional
        Categorical mode with this many bins (``None``: regression).
    bin_range : float, default 4.0
        Bins cover ``[-bin_range, bin_range]`` standard deviations of the series.
    n_samples : int, default 200
        Sample paths per series (categorical mode).
    point : {"mean", "median", "greedy", "beam"}, default "mean"
        Point forecast in categorical mode.
    beam_width : int, default 8
    temperature, top_k, top_p :
        Sampling settings of :func:`tsrnn.nn.sample`.
    max_windows : int, optional
        At most this many training windows in all (a random subset, from ``random_state``).
    {training_parameters}

    Attributes
    ----------
    module_ : tsrnn.nn.Seq2Seq (on the CPU)
    history_ : TrainingHistory
    loc_, scale_ : dict uid -> float
    sigma_ : (horizon,) RMS of the scaled free-running residuals per step (regression mode)
    """

    _is_global = True

    cell: str = "gru"
    attention: str | None = None
    hidden_size: int = 32
    num_layers: int = 1
    bidirectional: bool = False
    window: int = 24
    horizon: int = 12
    dropout: float = 0.0
    teacher_forcing: float = 1.0
    scheduled_sampling: float | None = None
    n_bins: int | None = None
    bin_range: float = 4.0
    n_samples: int = 200
    point: str = "mean"
    beam_width: int = 8
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    max_windows: int | None = 20000
    lr: float = field(default=3e-3, kw_only=True)

    @classmethod
    def _test_params(cls) -> dict:
        return dict(hidden_size=8, window=14, horizon=7, max_epochs=2, random_state=0)

    def _min_length(self) -> int:
        return 2

    # ------------------------------------------------------------------ data
    def _check(self) -> tuple[int, int]:
        for name in ("window", "horizon"):
            check_positive_int(getattr(self, name), name, "Seq2SeqForecaster")
        if self.point not in ("mean", "median", "greedy", "beam"):
            raise ValueError(f"Seq2SeqForecaster: point must be 'mean', 'median', 'greedy' or 'beam', got {self.point!r}")
        return int(self.window), int(self.horizon)

    def _context(self, z: np.ndarray, end: int, W: int):
        """The ``W`` values before ``end`` (left-padded with zeros) and their mask."""
        x, m = np.zeros(W, np.float32), np.zeros(W, bool)
        part = z[max(0, end - W):end]
        x[W - len(part):], m[W - len(part):] = part, True
        return x, m

    def _windows(self, z: np.ndarray, W: int, H: int, ends) -> tuple[np.ndarray, ...]:
        xs, ms, ts = [], [], []
        for e in ends:
            x, m = self._context(z, e, W)
            t = np.full(H, np.nan, np.float32)
            tgt = z[e:e + H]
            t[:len(tgt)] = tgt
            xs.append(x)
            ms.append(m)
            ts.append(t)
        return np.stack(xs), np.stack(ms), np.stack(ts)

    def _datasets(self, panel, W, H, cfg):
        """Training and validation windows. With ``validation_size``, the last ``max(1, round(validation_size *
        m))`` of each series' ``m`` full-horizon windows are held out, and training windows end (targets included)
        before the first of them; without, every window trains."""
        tr, va = [], []
        for s in panel.series:
            z = ((s.y - self.loc_[s.uid]) / self.scale_[s.uid]).astype(np.float32)
            n, m = len(z), len(z) - H  # m: windows ending at 1..n-H have a full target
            n_val = max(1, int(round(cfg.validation_size * m))) if cfg.validation_size and m >= 2 else 0
            cut = n - H - n_val + 1 if n_val else n
            if n_val and cut < 2:  # keep a validation window only when there is room for training too
                cut, n_val = n, 0
            tr.append(self._windows(z[:cut], W, H, range(1, cut)))
            if n_val:
                va.append(self._windows(z, W, H, range(cut, cut + n_val)))
        cat = lambda parts: tuple(np.concatenate(c) for c in zip(*parts)) if parts else None  # noqa: E731
        train, valid = cat(tr), cat(va)
        if self.max_windows is not None and len(train[0]) > int(self.max_windows):
            rs = np.random.default_rng(seed_from(cfg.random_state))
            keep = np.sort(rs.choice(len(train[0]), int(self.max_windows), replace=False))
            train = tuple(a[keep] for a in train)
        return train, valid

    # ------------------------------------------------------------------ fit
    def _fit_panel(self, panel) -> None:
        cfg = self._training_config()
        W, H = self._check()
        with self._threads():
            self._fit_network(panel, W, H, cfg)

    def _fit_network(self, panel, W, H, cfg) -> None:
        self.loc_, self.scale_ = {}, {}
        for s in panel.series:
            sd = float(np.std(s.y))
            self.loc_[s.uid], self.scale_[s.uid] = float(np.mean(s.y)), (sd if sd > 1e-12 else 1.0)
        train, valid = self._datasets(panel, W, H, cfg)
        centers = None
        if self.n_bins is not None:
            centers, self.bin_width_ = bin_grid(self.n_bins, float(self.bin_range))
        seed = seed_from(cfg.random_state)
        self.seed_ = seed
        with seeded(seed):
            self.module_ = Seq2Seq(1, 1, int(self.hidden_size), self.cell, int(self.num_layers),
                                   bool(self.bidirectional), self.attention, float(self.dropout), centers)
        self.history_ = fit_module(self.module_, train, valid, loss_fn=self._loss_fn(), random_state=seed + 1,
                                   desc=f"Seq2SeqForecaster({self.cell}, {self.attention})", **cfg._fit_kwargs())
        self.module_.cpu().eval()
        self.sigma_ = None if self.n_bins is not None else self._residual_sigma(train, valid, H)

    def _loss_fn(self):
        """Teacher-forced loss (with scheduled sampling, counted in optimiser steps); free running in validation."""
        counter = {"steps": 0}

        def loss_fn(module, batch):
            x, m, t = batch
            p = float(self.teacher_forcing)
            if module.training:
                if self.scheduled_sampling:
                    k = float(self.scheduled_sampling)
                    p *= k / (k + math.exp(min(counter["steps"] / k, 700.0)))
                counter["steps"] += 1
            else:
                p = 0.0  # validation: free running, as in predict
            out, _ = module(x[..., None], t.shape[1], x[:, -1:], t[..., None], teacher_forcing=p, mask=m)
            ok = ~torch.isnan(t)
            if module.categorical:
                k = _quantise(torch.nan_to_num(t), module.bin_centers, self.bin_width_)
                return nn.functional.cross_entropy(out[ok], k[ok])
            return ((out[..., 0] - torch.nan_to_num(t)) ** 2)[ok].mean()

        return loss_fn

    @torch.no_grad()
    def _residual_sigma(self, train, valid, H) -> np.ndarray:
        x, m, t = (np.concatenate([a, b]) for a, b in zip(train, valid)) if valid else train
        keep = np.random.default_rng(0).permutation(len(x))[:2000]
        xt, mt = torch.from_numpy(x[keep]), torch.from_numpy(m[keep])
        out, _ = self.module_(xt[..., None], H, xt[:, -1:], mask=mt)
        res = out[..., 0].numpy() - t[keep]
        sig = np.sqrt(np.nanmean(res**2, axis=0))
        return np.where(np.isfinite(sig), sig, np.nanmax(sig) if np.isfinite(sig).any() else 1.0)

    # ------------------------------------------------------------------ predict
    def _last_contexts(self, panel, W):
        xs, ms = zip(*[self._context(((s.y - self.loc_[s.uid]) / self.scale_[s.uid]).astype(np.float32), len(s.y), W)
                       for s in panel.series])
        return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ms))

    @torch.no_grad()
    def _decode(self, panel, h):
        """Scaled point paths ``(n, h)``, sample paths ``(n, S, h)`` (categorical) or None, and the attention
        ``(n, h, window)`` or None, decoded from the end of each series."""
        W, _ = self._check()
        x, m = self._last_contexts(panel, W)
        with self._threads():
            if self.n_bins is None:
                out, w = self.module_(x[..., None], h, x[:, -1:], mask=m)
                return out[..., 0].double().numpy(), None, w
            return self._categorical(x, m, h)

    def _predict_panel(self, panel, h, X, levels):
        _, H = self._check()
        mean, draws, _ = self._decode(panel, h)
        results = []
        for i, s in enumerate(panel.series):
            loc, scale = self.loc_[s.uid], self.scale_[s.uid]
            mu = loc + scale * mean[i]
            if draws is not None:
                iv = quantile_intervals(draws[i], levels, loc, scale)
            else:
                steps = np.arange(1, h + 1)
                sig = np.where(steps <= H, self.sigma_[np.minimum(steps, H) - 1],
                               self.sigma_[-1] * np.sqrt(steps / H))
                iv = gaussian_intervals(mu, scale * sig, levels)
            results.append((mu, iv))
        return results

    def forecast_attention(self, h: int | None = None) -> np.ndarray:
        """The attention of ``predict(h)``: ``(n_series, h, window)``, series in the order of the fitted panel.

        Row ``k`` is forecast step ``t + k + 1``, column ``j`` the input ``y_{T - window + 1 + j}`` (zero over
        left padding); averaged over the sample paths in categorical mode. ``h`` defaults to ``horizon``.
        """
        self._check_fitted()
        if self.module_.attention is None:
            raise ValueError("Seq2SeqForecaster: no attention weights; fit with attention='dot', 'general', ...")
        h = int(self.horizon if h is None else h)
        if h < 1:
            raise ValueError(f"Seq2SeqForecaster: h must be a positive integer, got {h}")
        return self._decode(self.panel_, h)[2].double().numpy()

    def _categorical(self, x, m, h):
        """Sample paths (and optionally the greedy or beam path) of the categorical decoder, in scaled units."""
        mod, S, B = self.module_, int(self.n_samples), len(x)
        gen = torch.Generator().manual_seed(self.seed_ + 2)
        state = mod.encode(x[..., None], m)
        start = mod.quantise(x[:, -1])
        rep = map_state(state, lambda t: t.repeat_interleave(S, 0))
        tok, _ = sample(mod.token_step, rep, start.repeat_interleave(S), h, temperature=float(self.temperature),
                        top_k=self.top_k, top_p=self.top_p, generator=gen)
        w = None
        if mod.attention is not None:
            w = self._path_weights(rep, start.repeat_interleave(S), tok).view(B, S, h, -1).mean(1)
        jitter = (torch.rand(tok.shape, generator=gen, dtype=torch.float64) - 0.5) * self.bin_width_
        draws = (mod.bin_centers.double()[tok] + jitter).numpy().reshape(B, S, h)
        if self.point == "mean":
            mean = draws.mean(1)
        elif self.point == "median":
            mean = np.median(draws, 1)
        else:
            if self.point == "greedy":
                best, _ = greedy(mod.token_step, state, start, h)
            else:
                best, _ = beam_search(mod.token_step, state, start, h, beam_width=int(self.beam_width))
            mean = mod.bin_centers.double()[best].numpy()
        return mean, draws, w

    def _path_weights(self, state, start, tokens):
        """Attention weights ``(N, h, S)`` along given token paths (teacher-forced on the sampled tokens)."""
        mod = self.module_
        prev, ws = start, []
        st = {k: v for k, v in state.items() if k != "weights"}
        for t in range(tokens.shape[1]):
            _, w, st = mod.step(mod.bin_centers[prev].unsqueeze(-1), st)
            ws.append(w)
            prev = tokens[:, t]
        return torch.stack(ws, 1)

    # ------------------------------------------------------------------ plots
    def plot_attention(self, unique_id=None, h: int | None = None, ax=None):
        """Heat map of :meth:`forecast_attention` ``(h)`` of one series: forecast step (rows) by input step
        (columns)."""
        import matplotlib.pyplot as plt

        uids = self.panel_.uids if hasattr(self, "panel_") else []
        weights = self.forecast_attention(h)
        i = 0 if unique_id is None else uids.index(unique_id)
        w = weights[i]
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        im = ax.imshow(w, aspect="auto", cmap="viridis", origin="upper")
        W = w.shape[1]
        ax.set_xticks(range(0, W, max(1, W // 8)))
        ax.set_xticklabels([f"t-{W - j - 1}" if W - j - 1 else "t" for j in range(0, W, max(1, W // 8))])
        ax.set_xlabel("input step (t = last observation)")
        ax.set_ylabel("forecast step")
        ax.set_yticks(range(w.shape[0]))
        ax.set_yticklabels([f"t+{k + 1}" for k in range(w.shape[0])])
        ax.set_title(f"attention of {uids[i]!s}")
        ax.figure.colorbar(im, ax=ax, label="weight")
        return ax
