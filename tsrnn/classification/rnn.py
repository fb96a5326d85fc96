r"""Recurrent sequence classifiers: :class:`RNNClassifier` (many-to-one) and :class:`RNNTagger` (many-to-many).

Both read ``X`` of shape ``(n, length)`` or ``(n, length, channels)``, standardised per channel with the training
mean and standard deviation, through a :class:`tsrnn.nn.RNN` (any cell, stacked, optionally bidirectional) giving
``h_1..h_T`` (``D * hidden_size`` each).

* :class:`RNNClassifier` pools them into one vector ``s`` and applies ``softmax(W s + b)``. ``pooling="last"`` uses
  the final states (forward ``h_T`` and, when bidirectional, backward ``h_1``), ``"mean"`` the average over time,
  ``"attention"`` a learned attention pooling (Yang et al. 2016): ``α_t = softmax_t(vᵀ tanh(W_q q + W_k h_t +
  b))`` with a learned query ``q`` and ``s = Σ_t α_t h_t``.
* :class:`RNNTagger` labels every step: ``p(y_t | x) = softmax(W h_t + b)`` (use ``bidirectional=True`` so that
  step ``t`` sees the whole sequence).

Training minimises the (class-weighted) cross-entropy with :func:`tsrnn.nn.fit_module`. ``class_weight="balanced"``
weights class ``k`` by ``n / (K n_k)``, as scikit-learn does.
"""

from __future__ import annotations

from dataclasses import field

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import check_array
from torch import nn

from ..nn.attention import Attention
from ..nn.recurrent import RNN
from ..nn.training import TrainingParams, fit_module, neural_estimator, seed_from, seeded

__all__ = ["RNNClassifier", "RNNTagger", "SequenceNet"]


class SequenceNet(nn.Module):
    """RNN, then a pooled (``pooling`` in {"last", "mean", "attention"}) or per-step (``pooling=None``) linear head.

    ``forward(x (B, T, C)) -> logits (B, K)`` or ``(B, T, K)``; ``pool_weights(x) -> (B, T)`` attention weights.
    """

    def __init__(self, cell, n_channels, hidden_size, num_layers, bidirectional, dropout, n_classes, pooling):
        super().__init__()
        self.rnn = RNN(cell, n_channels, hidden_size, num_layers, bidirectional=bidirectional, dropout=dropout)
        d = self.rnn.output_size
        self.pooling, self.hidden_size = pooling, hidden_size
        if pooling == "attention":
            self.query = nn.Parameter(torch.zeros(d))
            self.attn = Attention(d, d, kind="additive")
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(d, n_classes)

    def _pool(self, out):
        if self.pooling == "last":
            if self.rnn.bidirectional:
                H = self.hidden_size
                return torch.cat([out[:, -1, :H], out[:, 0, H:]], dim=-1)
            return out[:, -1]
        if self.pooling == "mean":
            return out.mean(1)
        ctx, w = self.attn(self.query.expand(out.shape[0], -1), out)
        return ctx

    def forward(self, x):
        out, _ = self.rnn(x)
        if self.pooling is None:
            return self.head(self.drop(out))
        return self.head(self.drop(self._pool(out)))

    def pool_weights(self, x):
        out, _ = self.rnn(x)
        return self.attn(self.query.expand(out.shape[0], -1), out)[1]


@neural_estimator
class _RNNSequenceBase(TrainingParams, ClassifierMixin, BaseEstimator):
    """Shared by :class:`RNNClassifier` and :class:`RNNTagger`: the fields below, then the shared training settings
    of :class:`tsrnn.nn.training.TrainingParams` (keyword-only)."""

    _per_step = False

    cell: str = "gru"
    hidden_size: int = 32
    num_layers: int = 1
    bidirectional: bool = False
    pooling: str = "last"
    dropout: float = 0.0
    class_weight: str | dict | None = None
    scale: bool = True
    batch_size: int = field(default=32, kw_only=True)
    lr: float = field(default=5e-3, kw_only=True)
    lr_schedule: str | None = field(default="cosine", kw_only=True)

    @classmethod
    def _test_params(cls) -> dict:
        return dict(hidden_size=8, max_epochs=5, random_state=0)

    # ------------------------------------------------------------------ input
    def _as_3d(self, X, fit: bool) -> np.ndarray:
        name = type(self).__name__
        X = check_array(X, dtype=np.float32, allow_nd=True, ensure_2d=False, ensure_all_finite=True)
        if X.ndim == 2:
            X = X[:, :, None]
        if X.ndim != 3:
            raise ValueError(f"{name}: X must have shape (n, length) or (n, length, channels), got {X.shape}")
        if fit:
            self.n_channels_ = X.shape[2]
            if self.scale:
                self.mean_ = X.mean(axis=(0, 1))
                sd = X.std(axis=(0, 1))
                self.std_ = np.where(sd > 1e-8, sd, 1.0).astype(np.float32)
            else:
                self.mean_ = np.zeros(X.shape[2], np.float32)
                self.std_ = np.ones(X.shape[2], np.float32)
        elif X.shape[2] != self.n_channels_:
            raise ValueError(f"{name}: X has {X.shape[2]} channels, the model was fitted on {self.n_channels_}")
        return ((X - self.mean_) / self.std_).astype(np.float32)

    def _class_weights(self, codes: np.ndarray) -> torch.Tensor | None:
        cw = self.class_weight
        if cw is None:
            return None
        K = len(self.classes_)
        if isinstance(cw, str):
            if cw != "balanced":
                raise ValueError(f"{type(self).__name__}: class_weight must be None, 'balanced' or a dict, got {cw!r}")
            w = compute_class_weight("balanced", classes=np.arange(K), y=codes)
        elif isinstance(cw, dict):
            w = np.array([float(cw.get(c, 1.0)) for c in self.classes_])
        else:
            raise ValueError(f"{type(self).__name__}: class_weight must be None, 'balanced' or a dict, got {cw!r}")
        return torch.tensor(w, dtype=torch.float32)

    def _split(self, X, codes, seed, validation_size):
        """Hold out ``validation_size`` of the rows at random, stratified by class when every class has two rows
        or more (the classifier); ``(train, None)`` when there is nothing to hold out."""
        n = len(X)
        n_val = int(round(float(validation_size or 0.0) * n))
        if n_val < 1 or n - n_val < 1:
            return (X, codes), None
        strata = None
        if not self._per_step:
            counts = np.bincount(codes)
            if counts.min() >= 2 and len(counts) <= n_val <= n - len(counts):
                strata = codes
        tr, va = train_test_split(np.arange(n), test_size=n_val, random_state=seed % 2**32, stratify=strata)
        return (X[tr], codes[tr]), (X[va], codes[va])

    # ------------------------------------------------------------------ fit / predict
    def fit(self, X, y):
        """Fit on ``X`` ``(n, length[, channels])`` and labels ``y`` ``(n,)`` (classifier) or ``(n, length)``
        (tagger)."""
        cfg = self._training_config()
        with self._threads():
            return self._fit(X, y, cfg)

    def _fit(self, X, y, cfg):
        name = type(self).__name__
        pooling = None if self._per_step else self.pooling
        if pooling not in (None, "last", "mean", "attention"):
            raise ValueError(f"{name}: pooling must be 'last', 'mean' or 'attention', got {self.pooling!r}")
        Xs = self._as_3d(X, fit=True)
        y = np.asarray(y)
        expected = Xs.shape[:2] if self._per_step else Xs.shape[:1]
        if y.shape != expected:
            raise ValueError(f"{name}: y must have shape {expected}, got {y.shape}")
        enc = LabelEncoder().fit(y.ravel())
        self.classes_ = enc.classes_
        codes = enc.transform(y.ravel()).reshape(y.shape).astype(np.int64)
        weights = self._class_weights(codes.ravel())
        seed = seed_from(cfg.random_state)
        with seeded(seed):
            self.module_ = SequenceNet(str(self.cell).lower(), Xs.shape[2], int(self.hidden_size),
                                       int(self.num_layers), bool(self.bidirectional), float(self.dropout),
                                       len(self.classes_), pooling)
        train, valid = self._split(Xs, codes, seed, cfg.validation_size)
        K = len(self.classes_)

        def loss_fn(module, batch):
            xb, yb = batch
            logits = module(xb).reshape(-1, K)
            w = None if weights is None else weights.to(logits.device)
            return nn.functional.cross_entropy(logits, yb.reshape(-1), weight=w)

        self.history_ = fit_module(self.module_, train, valid, loss_fn=loss_fn, random_state=seed + 1, desc=name,
                                   **cfg._fit_kwargs())
        self.module_.cpu().eval()
        return self

    def _check_fitted(self):
        if not hasattr(self, "module_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet: call fit(X, y) first.")

    @torch.no_grad()
    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities ``(n, n_classes)`` (classifier) or ``(n, length, n_classes)`` (tagger), columns in
        the order of ``classes_``."""
        self._check_fitted()
        Xs = torch.from_numpy(self._as_3d(X, fit=False))
        with self._threads():
            out = [torch.softmax(self.module_(Xs[i:i + 1024]), -1) for i in range(0, len(Xs), 1024)]
        return torch.cat(out).double().numpy()

    def predict(self, X) -> np.ndarray:
        """The most probable class of each sequence (or step)."""
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(-1)]


@neural_estimator
class RNNClassifier(_RNNSequenceBase):
    """Many-to-one recurrent classifier (scikit-learn ``ClassifierMixin``).

    Parameters
    ----------
    cell : str, default "gru"
        Any :class:`tsrnn.nn.RNN` cell (``"lstm"``, ``"gru"``, ``"elman"``, ``"mut1"``, ...).
    hidden_size, num_layers : int, default 32, 1
    bidirectional : bool, default False
    pooling : {"last", "mean", "attention"}, default "last"
    dropout : float, default 0.0
        Between stacked layers and before the output layer.
    class_weight : None, "balanced" or dict {label: weight}
    scale : bool, default True
        Standardise each channel with the training mean and standard deviation.
    {training_parameters}

    By default a stratified ``validation_size`` of the rows is held out and training stops ``patience`` epochs
    after the best validation loss, with the best weights restored (one fit on 14k MIT-BIH beats trained all 50
    epochs before, 26 minutes on 2 cores); the cosine schedule anneals the rate towards 0 over ``max_epochs``.

    Attributes
    ----------
    classes_ : ndarray (n_classes,)
    module_ : SequenceNet (on the CPU)
    history_ : TrainingHistory
    """

    @torch.no_grad()
    def attention_weights(self, X) -> np.ndarray:
        """The pooling attention ``α`` ``(n, length)`` of each sequence (``pooling="attention"`` only)."""
        self._check_fitted()
        if self.module_.pooling != "attention":
            raise ValueError("RNNClassifier: attention_weights needs pooling='attention'")
        with self._threads():
            return self.module_.pool_weights(torch.from_numpy(self._as_3d(X, fit=False))).double().numpy()


@neural_estimator
class RNNTagger(_RNNSequenceBase):
    """Many-to-many recurrent tagger: one label per step; ``y`` has shape ``(n, length)``.

    Parameters as :class:`RNNClassifier` (``pooling`` is ignored); ``predict`` returns ``(n, length)`` labels and
    ``score`` the accuracy over all steps.
    """

    _per_step = True

    def score(self, X, y, sample_weight=None) -> float:
        """Mean accuracy over all steps of all sequences."""
        return float(np.average(self.predict(X).ravel() == np.asarray(y).ravel(),
                                weights=None if sample_weight is None else np.repeat(sample_weight, np.shape(y)[1])))
