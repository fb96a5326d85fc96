"""Online-learning detectors: models that keep learning as the stream goes, as NAB's leaders do (layer 3).

HTM, CAD OSE and ARTime learn from every row seen so far and never from a later one; their score at row ``t`` is
how badly the model of ``y_0 .. y_{t-1}`` expected ``y_t``. The detectors here do the same with tsrnn's families:

* :class:`OnlineRNNDetector`: a small GRU (or LSTM) next-value predictor, retrained every ``update_every`` rows on
  the sliding buffer of the last ``buffer`` rows (warm start: training continues from the previous weights), with
  the shared training loop :func:`tsrnn.nn.training.fit_module`;
* :class:`OnlineHMMDetector`: a Gaussian HMM re-estimated by EM every ``refit_every`` rows on the sliding buffer
  (warm start from the previous parameters), its forward filter carried from row to row.

Between two updates the model is frozen, and the rows it scores come after every row it was trained on, so the
score at ``t`` uses ``y_0 .. y_t`` only (appending rows never changes a past score; tested). ``fit`` learns
nothing but the alarm threshold: each series is learned from its own start when it is scored. Scores, likelihood,
thresholds and cooldown as in :mod:`tsrnn.anomaly.detectors`.
"""

from __future__ import annotations

import copy
import logging
import warnings

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.special import logsumexp

from .._validation import check_positive_int
from ..base import BaseDetector
from .detectors import past_zscore
from .thresholds import ThresholdMixin

__all__ = ["OnlineRNNDetector", "OnlineHMMDetector", "OnlineKNNDetector"]


def _standardise(buf: np.ndarray) -> tuple[float, float]:
    mu = float(np.mean(buf))
    return mu, max(float(np.std(buf)), 1e-8 * (1 + abs(mu)))


def _error_zscore(err: np.ndarray, window: int) -> np.ndarray:
    """Robust z-score of each error against the previous ``window`` ones (from 20 on); 0 where there is none."""
    ok = np.flatnonzero(np.isfinite(err))
    z = np.zeros(len(err))
    if len(ok):
        z[ok[0]:] = past_zscore(err[ok[0]:], window, min(20, window), robust=True)
    return z


class _OnlineDetector(ThresholdMixin, BaseDetector):
    def _min_length(self) -> int:
        return 1

    def _surprise(self, raw: np.ndarray) -> np.ndarray:
        return raw**2

    def _blocks(self, n: int, first: int, every: int):
        """``(t0, t1)``: the model is updated on rows before ``t0`` and scores rows ``t0 .. t1 - 1``."""
        for t0 in range(first, n, every):
            yield t0, min(n, t0 + every)


class OnlineRNNDetector(_OnlineDetector):
    """Prediction errors of a small recurrent next-value predictor that is retrained online on a sliding buffer.

    Every ``update_every`` rows the network (``cell``, ``hidden_size``; built once, then warm-started) is trained for
    ``epochs`` passes over the windows of the last ``buffer`` rows (standardised by that buffer's mean and standard
    deviation): input ``lags`` values, target the next one. The frozen network then predicts the next
    ``update_every`` rows one step ahead; the error ``e_t`` (in buffer standard deviations) is scored as a robust
    z-score against the previous ``buffer`` errors. Rows before the first update score 0.

    Parameters
    ----------
    cell : {"gru", "lstm"}, default "gru"
    hidden_size : int, default 16
    lags : int, default 32
    buffer : int, default 500
    update_every : int, default 100
    epochs : int, default 1
        Passes over the buffer at each update (warm start: each row is seen in ``buffer / update_every`` updates).
    lr : float, default 0.005
    batch_size : int, default 64
    likelihood, threshold, contamination, cooldown
        See :class:`tsrnn.anomaly.RollingZScore`.
    n_threads : int, default 1
        Torch intra-op threads while scoring (restored afterwards).
    random_state : int or None
    """

    def __init__(self, cell: str = "gru", hidden_size: int = 16, lags: int = 32, buffer: int = 500,
                 update_every: int = 100, epochs: int = 1, lr: float = 0.005, batch_size: int = 64,
                 likelihood: bool = True, threshold="auto", contamination: float = 1e-5, cooldown: int = 100,
                 n_threads: int = 1, random_state=None):
        self.cell = cell
        self.hidden_size = hidden_size
        self.lags = lags
        self.buffer = buffer
        self.update_every = update_every
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.likelihood = likelihood
        self.threshold = threshold
        self.contamination = contamination
        self.cooldown = cooldown
        self.n_threads = n_threads
        self.random_state = random_state

    def _module(self):
        import torch

        from ..nn.recurrent import RNN

        class NextValue(torch.nn.Module):
            def __init__(self, cell, hidden):
                super().__init__()
                self.rnn = RNN(cell, 1, hidden)
                self.head = torch.nn.Linear(hidden, 1)

            def forward(self, x):
                return self.head(self.rnn(x)[0][:, -1])

        return NextValue(self.cell, check_positive_int(self.hidden_size, "hidden_size", "OnlineRNNDetector"))

    def _train(self, module, buf: np.ndarray, seed: int) -> None:
        from ..nn.training import fit_module

        windows = sliding_window_view(buf[:-1], self.lags)[..., None].astype(np.float32)
        target = buf[self.lags:, None].astype(np.float32)
        fit_module(module, (windows, target), max_epochs=self.epochs, batch_size=self.batch_size,
                   lr=self.lr, patience=None, lr_schedule=None, random_state=seed, device="cpu")

    def _predict(self, module, z: np.ndarray) -> np.ndarray:
        import torch

        x = torch.from_numpy(sliding_window_view(z, self.lags)[..., None].astype(np.float32))
        with torch.no_grad():
            return module(x)[:, 0].numpy().astype(float)

    def _errors(self, y: np.ndarray) -> np.ndarray:
        import torch

        from ..nn.training import seed_from, seeded, torch_threads

        lags = check_positive_int(self.lags, "lags", "OnlineRNNDetector")
        buf = check_positive_int(self.buffer, "buffer", "OnlineRNNDetector", minimum=lags + 2)
        every = check_positive_int(self.update_every, "update_every", "OnlineRNNDetector")
        seed = seed_from(self.random_state)
        err = np.full(len(y), np.nan)
        with torch_threads(self.n_threads), seeded(seed):
            module = self._module().to(torch.float32)
            for t0, t1 in self._blocks(len(y), lags + every, every):
                mu, sd = _standardise(y[max(0, t0 - buf):t0])
                self._train(module, (y[max(0, t0 - buf):t0] - mu) / sd, seed + t0)
                module.eval()
                z = (y[t0 - lags:t1] - mu) / sd
                err[t0:t1] = z[lags:] - self._predict(module, z[:-1])
        return err

    def _raw_series(self, s) -> np.ndarray:
        return _error_zscore(self._errors(np.asarray(s.y, dtype=float)), self.buffer)

    @classmethod
    def _test_params(cls) -> dict:
        return {"hidden_size": 4, "lags": 8, "buffer": 60, "update_every": 30, "epochs": 1, "random_state": 0,
                "likelihood": False}


class OnlineHMMDetector(_OnlineDetector):
    """Surprise of each row under a Gaussian HMM that is re-estimated online on a sliding buffer.

    Every ``refit_every`` rows the HMM (``n_states`` Gaussian states on the values standardised by the buffer) is
    re-estimated by ``n_iter`` EM steps on the last ``buffer`` rows, starting from the previous parameters
    (hmmlearn's ``GaussianHMM``). The state distribution at the end of the buffer then starts a forward filter that
    scores the next ``refit_every`` rows by ``-log p(x_t | x_{..t-1})`` (standardised units). Rows before the first
    estimate score 0.

    Parameters
    ----------
    n_states : int, default 3
    buffer : int, default 1000
    refit_every : int, default 100
    n_iter : int, default 10
    likelihood, threshold, contamination, cooldown
        See :class:`tsrnn.anomaly.RollingZScore`.
    random_state : int or None
    """

    def __init__(self, n_states: int = 3, buffer: int = 1000, refit_every: int = 100, n_iter: int = 10,
                 likelihood: bool = True, threshold="auto", contamination: float = 1e-5, cooldown: int = 100,
                 random_state=None):
        self.n_states = n_states
        self.buffer = buffer
        self.refit_every = refit_every
        self.n_iter = n_iter
        self.likelihood = likelihood
        self.threshold = threshold
        self.contamination = contamination
        self.cooldown = cooldown
        self.random_state = random_state

    def _surprise(self, raw: np.ndarray) -> np.ndarray:
        return np.maximum(raw, 0.0)  # a density above 1 is no surprise at all

    def _new_model(self):
        from hmmlearn.hmm import GaussianHMM

        seed = None if self.random_state is None else int(np.random.RandomState(self.random_state).randint(2**31))
        return GaussianHMM(self.n_states, covariance_type="diag", n_iter=self.n_iter, random_state=seed,
                           min_covar=1e-3)

    def _flat_model(self, z: np.ndarray):
        """Every state the buffer's normal (used when EM cannot start, e.g. on a constant buffer)."""
        k, model = self.n_states, self._new_model()
        model.n_features = 1
        model.startprob_ = np.full(k, 1.0 / k)
        model.transmat_ = np.full((k, k), 1.0 / k)
        model.means_ = np.full((k, 1), float(np.mean(z)))
        model.covars_ = np.full((k, 1), max(float(np.var(z)), 1e-3))
        return model

    def _em(self, model, z: np.ndarray):
        """``(model, state distribution at the end of z)`` after EM, or ``None`` where EM broke down."""
        log = logging.getLogger("hmmlearn")
        level = log.level
        log.setLevel(logging.ERROR)  # EM on a short, flat buffer: hmmlearn's convergence chatter (restored below)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(z[:, None])
                post = model.predict_proba(z[:, None])[-1]
        except ValueError:
            return None
        finally:
            log.setLevel(level)
        params = (model.startprob_, model.transmat_, model.means_, model.covars_, post)
        return (model, post) if all(np.isfinite(a).all() for a in params) else None

    def _refit(self, model, z: np.ndarray):
        """Re-estimate on the buffer ``z`` from ``model`` (a fresh one when None); keep the last good model when EM
        breaks down (a constant buffer, a collapsed state)."""
        fitted = self._em(copy.deepcopy(model) if model is not None else self._new_model(), z)
        if fitted is None:
            model = model if model is not None else self._flat_model(z)
            post = model.predict_proba(z[:, None])[-1]
        else:
            model, post = fitted
        model.init_params = ""  # later refits start from these parameters
        return model, post

    @staticmethod
    def _filter(model, p: np.ndarray, z: np.ndarray) -> np.ndarray:
        """``-log p(z_t | z_{..t-1})`` for each ``z_t``, the filter starting from state distribution ``p``."""
        mu, var = model.means_[:, 0], model.covars_.reshape(len(p), -1)[:, 0]
        logb = -0.5 * (np.log(2 * np.pi * var)[None] + (z[:, None] - mu[None]) ** 2 / var[None])
        A, out = model.transmat_, np.empty(len(z))
        for i in range(len(z)):
            lp = np.log(np.maximum(p @ A, 1e-300)) + logb[i]
            out[i] = -logsumexp(lp)
            p = np.exp(lp + out[i])
        return out

    def _raw_series(self, s) -> np.ndarray:
        y = np.asarray(s.y, dtype=float)
        k = check_positive_int(self.n_states, "n_states", "OnlineHMMDetector")
        buf = check_positive_int(self.buffer, "buffer", "OnlineHMMDetector", minimum=10 * k)
        every = check_positive_int(self.refit_every, "refit_every", "OnlineHMMDetector")
        raw, model = np.zeros(len(y)), None
        for t0, t1 in self._blocks(len(y), max(every, 10 * k), every):
            mu, sd = _standardise(y[max(0, t0 - buf):t0])
            model, p = self._refit(model, (y[max(0, t0 - buf):t0] - mu) / sd)
            raw[t0:t1] = self._filter(model, p, (y[t0:t1] - mu) / sd)
        return raw

    @classmethod
    def _test_params(cls) -> dict:
        return {"n_states": 2, "buffer": 60, "refit_every": 30, "n_iter": 5, "random_state": 0, "likelihood": False}


class OnlineKNNDetector(_OnlineDetector):
    """Distance of the latest window of values to its nearest past windows (after KNN CAD, Burnaev and Ishimtsev
    2016, one of NAB's leaders), with the reference set growing online.

    The window ``w_t = (y_{t-d+1} .. y_t)`` (standardised by the mean and standard deviation of the reference rows)
    gets the nonconformity ``a_t``, the mean Euclidean distance to its ``k`` nearest windows among those ending in
    the ``buffer`` rows before the current block; the reference set and scale are refreshed every ``update_every``
    rows. The raw score is the robust z-score of ``a_t`` against the previous ``buffer`` nonconformities (0 before
    the first reference set exists). A pattern seen before scores low wherever it occurs; a new shape scores high.

    Parameters
    ----------
    dim : int, default 20
    k : int, default 10
    buffer : int, default 2000
    update_every : int, default 50
    likelihood, threshold, contamination, cooldown
        See :class:`tsrnn.anomaly.RollingZScore`.
    """

    def __init__(self, dim: int = 20, k: int = 10, buffer: int = 2000, update_every: int = 50,
                 likelihood: bool = True, threshold="auto", contamination: float = 1e-5, cooldown: int = 100):
        self.dim = dim
        self.k = k
        self.buffer = buffer
        self.update_every = update_every
        self.likelihood = likelihood
        self.threshold = threshold
        self.contamination = contamination
        self.cooldown = cooldown

    def _nonconformity(self, y: np.ndarray) -> np.ndarray:
        d = check_positive_int(self.dim, "dim", "OnlineKNNDetector")
        k = check_positive_int(self.k, "k", "OnlineKNNDetector")
        buf = check_positive_int(self.buffer, "buffer", "OnlineKNNDetector", minimum=d + k)
        every = check_positive_int(self.update_every, "update_every", "OnlineKNNDetector")
        a = np.full(len(y), np.nan)
        for t0, t1 in self._blocks(len(y), d + k + every, every):
            lo = max(0, t0 - buf)
            mu, sd = _standardise(y[lo:t0])
            ref = sliding_window_view((y[lo:t0] - mu) / sd, d)
            cur = sliding_window_view((y[t0 - d + 1:t1] - mu) / sd, d)
            d2 = (cur**2).sum(1)[:, None] - 2 * cur @ ref.T + (ref**2).sum(1)[None]
            near = np.partition(np.maximum(d2, 0.0), k - 1, axis=1)[:, :k]
            a[t0:t1] = np.sqrt(near).mean(axis=1)
        return a

    def _raw_series(self, s) -> np.ndarray:
        return _error_zscore(self._nonconformity(np.asarray(s.y, dtype=float)), self.buffer)

    @classmethod
    def _test_params(cls) -> dict:
        return {"dim": 5, "k": 3, "buffer": 60, "update_every": 10, "likelihood": False}
