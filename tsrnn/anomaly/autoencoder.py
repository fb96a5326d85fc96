"""LSTM encoder-decoder anomaly detector: reconstruction error of sliding windows (layer 3).

After Malhotra et al. (2016), "LSTM-based encoder-decoder for multi-sensor anomaly detection": an LSTM encoder
reads the window ``x_{t-w+1} .. x_t`` (standardised with the training mean and deviation) into its final state
``(h_w, c_w)``; an LSTM decoder started from that state and fed ``h_w`` at every step emits, through a linear
layer, the window in reverse order ``xhat_t .. xhat_{t-w+1}``. Trained on normal windows to minimise the mean
squared error, the reconstruction error

``score_t = (1 / w) sum_{i=0}^{w-1} (x_{t-i} - xhat_{t-i})^2``

is high on windows unlike the training data. The window ends at ``t``: no look-ahead.

Training runs on tsrnn's shared loop (:func:`tsrnn.nn.fit_module`) with the shared settings of
:class:`tsrnn.nn.training.TrainingParams`: early stopping on the last ``validation_size`` of each series' windows,
gradient clipping, a learning-rate schedule, ``device`` and ``n_threads``.
"""

from __future__ import annotations

from dataclasses import field

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view

from .._validation import check_positive_int
from ..base import BaseDetector
from ..nn.training import TrainingParams, fit_module, neural_estimator, seed_from, seeded
from .thresholds import ThresholdMixin

nn = torch.nn

__all__ = ["AutoencoderDetector", "LSTMAutoencoder"]


class LSTMAutoencoder(nn.Module):
    """The encoder-decoder network: ``(batch, w, 1) -> (batch, w, 1)``.

    Parameters
    ----------
    hidden_size : int
        State size of the encoder and the decoder LSTM.
    """

    def __init__(self, hidden_size: int):
        super().__init__()
        self.encoder = nn.LSTM(1, hidden_size, batch_first=True)
        self.decoder = nn.LSTM(hidden_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (h, c) = self.encoder(x)
        z = h[-1].unsqueeze(1).expand(-1, x.shape[1], -1)
        out, _ = self.decoder(z, (h, c))
        return self.head(out).flip(1)  # the decoder emits the window backwards


@neural_estimator
class AutoencoderDetector(TrainingParams, ThresholdMixin, BaseDetector):
    """Reconstruction error of an LSTM encoder-decoder on the window ending at each stamp.

    Parameters
    ----------
    window : int, default 32
        Window length ``w``; the first ``w - 1`` stamps score 0.
    hidden_size : int, default 16
        LSTM state size.
    max_windows : int, default 1000
        At most this many training windows (evenly spaced) are used.
    likelihood, threshold, contamination, cooldown
        See :class:`tsrnn.anomaly.RollingZScore` (by default the score is Numenta's anomaly likelihood of the
        reconstruction error, in ``[0, 1]``).
    {training_parameters}

    Attributes
    ----------
    network_ : LSTMAutoencoder (float64, on the CPU)
    history_ : TrainingHistory
    loss_history_ : ndarray, the training loss per epoch
    """

    window: int = 32
    hidden_size: int = 16
    max_windows: int = 1000
    likelihood: bool = True
    threshold: object = "auto"
    contamination: float = 1e-5
    cooldown: int = 100
    max_epochs: int = field(default=10, kw_only=True)
    lr: float = field(default=1e-2, kw_only=True)
    random_state: int | np.random.RandomState | None = field(default=0, kw_only=True)

    def _min_length(self) -> int:
        return 2

    def _windows(self, y: np.ndarray) -> np.ndarray:
        z = (np.asarray(y, dtype=float) - self.mean_) / self.scale_
        return sliding_window_view(z, self.window_) if len(z) >= self.window_ else np.empty((0, self.window_))

    def _datasets(self, panel, validation_size) -> tuple[np.ndarray, np.ndarray | None]:
        """Training and validation windows: the last ``validation_size`` of each series' windows are held out, and
        training windows end before the first of them starts (no shared values); at most ``max_windows`` (evenly
        spaced) train and ``validation_size * max_windows`` validate."""
        tr, va = [], []
        for s in panel.series:
            X = self._windows(s.y)
            n_val = int(round((validation_size or 0.0) * len(X)))
            n_tr = len(X) - n_val - (self.window_ - 1 if n_val else 0)
            if n_val and n_tr < 1:  # too short to hold anything out
                n_val, n_tr = 0, len(X)
            tr.append(X[:n_tr])
            va.append(X[len(X) - n_val:])
        train, valid = np.concatenate(tr), np.concatenate(va)
        if not len(valid):
            return _thin(train, self.max_windows), None
        return _thin(train, self.max_windows), _thin(valid, round(validation_size * self.max_windows))

    def _fit(self, panel) -> None:
        w = check_positive_int(self.window, "window", "AutoencoderDetector", minimum=2)
        cfg = self._training_config()
        allv = np.concatenate([s.y for s in panel.series])
        self.window_ = int(min(w, min(len(s) for s in panel.series)))
        self.mean_ = float(allv.mean())
        self.scale_ = float(allv.std()) or 1.0
        train, valid = self._datasets(panel, cfg.validation_size)
        seed = seed_from(cfg.random_state)
        with self._threads():
            with seeded(seed):
                net = LSTMAutoencoder(int(self.hidden_size))
            as_data = lambda X: (np.ascontiguousarray(X[..., None], dtype=np.float32),)  # noqa: E731
            self.history_ = fit_module(net, as_data(train), None if valid is None else as_data(valid),
                                       loss_fn=_reconstruction_loss, random_state=seed + 1,
                                       desc="AutoencoderDetector", **cfg._fit_kwargs())
        self.network_ = net.cpu().double().eval()  # trained in float32, scored in float64
        self.loss_history_ = np.asarray(self.history_.train_loss)

    def reconstruction_errors(self, y: np.ndarray) -> np.ndarray:
        """Mean squared reconstruction error of the window ending at each stamp (NaN for the first ``w - 1``)."""
        X = self._windows(y)
        out = np.full(len(y), np.nan)
        if not len(X):
            return out
        errs = []
        with torch.no_grad(), self._threads():
            for i in range(0, len(X), 4096):
                xb = torch.from_numpy(np.array(X[i:i + 4096], dtype=np.float64)).unsqueeze(-1)  # a writable copy
                errs.append(torch.mean((self.network_(xb) - xb) ** 2, dim=(1, 2)).numpy())
        out[self.window_ - 1:] = np.concatenate(errs)
        return out

    def _raw_series(self, s):
        return np.nan_to_num(self.reconstruction_errors(s.y), nan=0.0)


def _reconstruction_loss(module, batch):
    (x,) = batch
    return torch.mean((module(x) - x) ** 2)


def _thin(X: np.ndarray, at_most) -> np.ndarray:
    """At most ``at_most`` rows of ``X``, evenly spaced (all of them when ``at_most`` is None or not smaller)."""
    if at_most is None or len(X) <= int(at_most):
        return X
    return X[np.linspace(0, len(X) - 1, max(int(at_most), 1)).round().astype(int)]
