"""LSTM encoder-decoder anomaly detector: reconstruction error of sliding windows (layer 3).

After Malhotra et al. (2016), "LSTM-based encoder-decoder for multi-sensor anomaly detection": an LSTM encoder
reads the window ``x_{t-w+1} .. x_t`` (standardised with the training mean and deviation) into its final state
``(h_w, c_w)``; an LSTM decoder started from that state and fed ``h_w`` at every step emits, through a linear
layer, the window in reverse order ``xhat_t .. xhat_{t-w+1}``. Trained on normal windows to minimise the mean
squared error, the reconstruction error

``score_t = (1 / w) sum_{i=0}^{w-1} (x_{t-i} - xhat_{t-i})^2``

is high on windows unlike the training data. The window ends at ``t``: no look-ahead.
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view

from ..base import BaseDetector
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


class AutoencoderDetector(ThresholdMixin, BaseDetector):
    """Reconstruction error of an LSTM encoder-decoder on the window ending at each stamp.

    Parameters
    ----------
    window : int
        Window length ``w``; the first ``w - 1`` stamps score 0.
    hidden_size : int
        LSTM state size.
    epochs : int
        Passes over the training windows (Adam, learning rate ``lr``, mini-batches of ``batch_size``).
    max_windows : int
        At most this many training windows (evenly spaced) are used.
    random_state : int, optional
        Seeds weight initialisation and shuffling.
    threshold, contamination, cooldown
        See :class:`tsrnn.anomaly.RollingZScore`.
    """

    def __init__(self, window: int = 32, hidden_size: int = 16, epochs: int = 10, lr: float = 1e-2,
                 batch_size: int = 64, max_windows: int = 1000, random_state: int | None = 0,
                 threshold="quantile", contamination: float = 0.01, cooldown: int = 0):
        self.window = window
        self.hidden_size = hidden_size
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.max_windows = max_windows
        self.random_state = random_state
        self.threshold = threshold
        self.contamination = contamination
        self.cooldown = cooldown

    def _min_length(self) -> int:
        return 2

    def _windows(self, y: np.ndarray) -> np.ndarray:
        z = (np.asarray(y, dtype=float) - self.mean_) / self.scale_
        return sliding_window_view(z, self.window_) if len(z) >= self.window_ else np.empty((0, self.window_))

    def _fit(self, panel) -> None:
        w = self.window
        if isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 2:
            raise ValueError(f"AutoencoderDetector: window must be an integer >= 2, got {w!r}")
        allv = np.concatenate([s.y for s in panel.series])
        self.window_ = int(min(w, min(len(s) for s in panel.series)))
        self.mean_ = float(allv.mean())
        self.scale_ = float(allv.std()) or 1.0
        X = np.concatenate([self._windows(s.y) for s in panel.series])
        if len(X) > self.max_windows:
            X = X[np.linspace(0, len(X) - 1, self.max_windows).round().astype(int)]
        seed = 0 if self.random_state is None else int(self.random_state)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = LSTMAutoencoder(int(self.hidden_size))
        gen = torch.Generator().manual_seed(seed)
        data = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)).unsqueeze(-1)
        opt = torch.optim.Adam(net.parameters(), lr=self.lr)
        losses = []
        net.train()
        for _ in range(int(self.epochs)):
            perm = torch.randperm(len(data), generator=gen)
            total = 0.0
            for i in range(0, len(data), int(self.batch_size)):
                xb = data[perm[i:i + int(self.batch_size)]]
                opt.zero_grad()
                loss = torch.mean((net(xb) - xb) ** 2)
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(xb)
            losses.append(total / max(len(data), 1))
        self.network_ = net.double().eval()  # trained in float32, scored in float64
        self.loss_history_ = np.asarray(losses)

    def reconstruction_errors(self, y: np.ndarray) -> np.ndarray:
        """Mean squared reconstruction error of the window ending at each stamp (NaN for the first ``w - 1``)."""
        X = self._windows(y)
        out = np.full(len(y), np.nan)
        if not len(X):
            return out
        errs = []
        with torch.no_grad():
            for i in range(0, len(X), 4096):
                xb = torch.from_numpy(np.array(X[i:i + 4096], dtype=np.float64)).unsqueeze(-1)  # a writable copy
                errs.append(torch.mean((self.network_(xb) - xb) ** 2, dim=(1, 2)).numpy())
        out[self.window_ - 1:] = np.concatenate(errs)
        return out

    def _score_series(self, s):
        return np.nan_to_num(self.reconstruction_errors(s.y), nan=0.0)
