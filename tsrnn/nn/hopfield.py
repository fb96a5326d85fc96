"""Hopfield associative memory: the classical binary network (Hopfield, 1982) and the continuous "modern"
retrieval of Ramsauer et al. (2020), "Hopfield Networks is All You Need".

Classical network on states ``s in {-1, +1}^N`` with symmetric weights ``W`` (zero diagonal) and energy

    E(s) = -1/2 s^T W s

* Hebbian rule: ``W = (1/N) sum_mu xi^mu xi^mu^T`` (diagonal set to 0); capacity about ``0.138 N`` patterns.
* Pseudo-inverse (projection) rule: ``W = X^T (X X^T)^{-1} X`` for patterns ``X`` of shape ``(P, N)`` (diagonal set
  to 0); every stored pattern is a fixed point for any ``P < N`` linearly independent patterns.
* Asynchronous update (one unit at a time, random order each sweep): ``s_i <- sign(sum_j W_ij s_j)``, keeping
  ``s_i`` when the field is 0. With ``W`` symmetric and a zero diagonal the energy never increases.
* Synchronous update (all units at once) can end in a 2-cycle; recall stops when the state repeats.

Modern retrieval on continuous states ``xi in R^N`` with stored patterns ``X`` (``P x N``) and inverse temperature
``beta``:

    xi <- X^T softmax(beta X xi)
    E(xi) = -lse(beta, X xi) + 1/2 xi^T xi + log(P) / beta + 1/2 max_mu ||x^mu||^2

with ``lse(beta, z) = log(sum_mu exp(beta z_mu)) / beta``. Each update does not increase ``E``, and with well
separated patterns one update retrieves the nearest one (exponential capacity in ``N``).
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp, softmax
from sklearn.base import BaseEstimator

__all__ = ["HopfieldNetwork"]

_RULES = ("hebbian", "pseudoinverse")
_UPDATES = ("async", "sync", "modern")


class HopfieldNetwork(BaseEstimator):
    """Hopfield associative memory with Hebbian or pseudo-inverse storage and classical or modern retrieval.

    Parameters
    ----------
    n_units : int, optional
        Number of units ``N``; taken from the patterns at ``fit`` when None.
    rule : {"hebbian", "pseudoinverse"}, default "hebbian"
        Storage rule of the classical weights.
    beta : float, default 8.0
        Inverse temperature of the modern retrieval (``update="modern"``).
    random_state : int, numpy Generator or None
        Seeds the unit order of asynchronous sweeps.

    Attributes
    ----------
    patterns_ : ndarray (n_patterns, n_units)
        The stored patterns (float64).
    weights_ : ndarray (n_units, n_units)
        Symmetric classical weights with a zero diagonal.
    n_units_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn.nn import HopfieldNetwork
    >>> rng = np.random.default_rng(0)
    >>> xi = rng.choice([-1.0, 1.0], size=(5, 100))
    >>> net = HopfieldNetwork(100).fit(xi)
    >>> noisy = xi[0].copy(); noisy[:10] *= -1
    >>> state, energies = net.recall(noisy)
    >>> bool((state == xi[0]).all())
    True
    """

    def __init__(self, n_units: int | None = None, rule: str = "hebbian", beta: float = 8.0, random_state=None):
        self.n_units = n_units
        self.rule = rule
        self.beta = beta
        self.random_state = random_state

    # ------------------------------------------------------------------ storage
    def fit(self, patterns, y=None) -> HopfieldNetwork:
        """Store ``patterns`` of shape ``(n_patterns, n_units)`` (or one pattern ``(n_units,)``).

        Classical (async / sync) recall needs patterns of ±1; modern recall accepts any real patterns. ``y`` is
        ignored (scikit-learn convention).
        """
        if self.rule not in _RULES:
            raise ValueError(f"rule must be one of {_RULES}, got {self.rule!r}")
        X = np.asarray(patterns, dtype=float)
        if X.ndim == 1:
            X = X[None, :]
        if X.ndim != 2 or X.shape[0] == 0:
            raise ValueError(f"patterns must have shape (n_patterns, n_units), got {X.shape}")
        if not np.isfinite(X).all():
            raise ValueError("patterns contain NaN or infinite values")
        if self.n_units is not None and X.shape[1] != self.n_units:
            raise ValueError(f"patterns have {X.shape[1]} units, the network has n_units={self.n_units}")
        n = X.shape[1]
        if self.rule == "hebbian":
            W = X.T @ X / n
        else:
            W = X.T @ np.linalg.pinv(X @ X.T) @ X
        np.fill_diagonal(W, 0.0)
        self.patterns_ = X
        self.weights_ = (W + W.T) / 2
        self.n_units_ = n
        self.binary_ = bool(np.isin(X, (-1.0, 1.0)).all())
        return self

    def _check_fitted(self):
        if not hasattr(self, "weights_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("HopfieldNetwork is not fitted: call fit(patterns) first")

    def _states(self, x) -> tuple[np.ndarray, bool]:
        self._check_fitted()
        S = np.asarray(x, dtype=float)
        single = S.ndim == 1
        S = np.atleast_2d(S)
        if S.ndim != 2 or S.shape[1] != self.n_units_:
            raise ValueError(f"states must have shape (n_units,) or (batch, n_units) with n_units={self.n_units_}, "
                             f"got {np.shape(x)}")
        if not np.isfinite(S).all():
            raise ValueError("states contain NaN or infinite values")
        return S.copy(), single

    # ------------------------------------------------------------------ energies
    def energy(self, x) -> float | np.ndarray:
        """Classical energy ``E(s) = -1/2 s^T W s`` of a state ``(n_units,)`` or a batch ``(batch, n_units)``."""
        S, single = self._states(x)
        e = -0.5 * np.einsum("bi,ij,bj->b", S, self.weights_, S)
        return float(e[0]) if single else e

    def modern_energy(self, x) -> float | np.ndarray:
        """Energy of the modern continuous network (Ramsauer et al., 2020, eq. 2) of one state or a batch.

        ``E(xi) = -lse(beta, X xi) + 1/2 xi^T xi + log(P) / beta + 1/2 max_mu ||x^mu||^2``.
        """
        S, single = self._states(x)
        X, beta = self.patterns_, float(self.beta)
        lse = logsumexp(beta * S @ X.T, axis=1) / beta
        e = -lse + 0.5 * (S * S).sum(1) + np.log(len(X)) / beta + 0.5 * (X * X).sum(1).max()
        return float(e[0]) if single else e

    # ------------------------------------------------------------------ retrieval
    def recall(self, x, max_iter: int = 100, update: str = "async", tol: float = 1e-8):
        """Run the network from ``x`` until it settles.

        Parameters
        ----------
        x : array (n_units,) or (batch, n_units)
            Initial state(s): ±1 for the classical updates, real for ``update="modern"``.
        max_iter : int, default 100
            Maximum number of sweeps (classical: every unit updated once; modern: one update of all units).
        update : {"async", "sync", "modern"}, default "async"
            Asynchronous or synchronous classical dynamics, or the modern continuous update
            ``xi <- X^T softmax(beta X xi)``.
        tol : float, default 1e-8
            Modern retrieval stops when no unit moves by more than ``tol``.

        Returns
        -------
        state : ndarray, shape of ``x``
            The state reached (the attractor when it converged within ``max_iter`` sweeps).
        energies : ndarray (n_sweeps + 1,) or (batch, n_sweeps + 1)
            ``energies[0]`` is the energy of ``x``, ``energies[k]`` the energy after sweep ``k``
            (classical energy, or the modern energy for ``update="modern"``). In a batch, a state that has settled
            keeps its energy while the others finish.
        """
        if update not in _UPDATES:
            raise ValueError(f"update must be one of {_UPDATES}, got {update!r}")
        if int(max_iter) < 1:
            raise ValueError(f"max_iter must be >= 1, got {max_iter}")
        S, single = self._states(x)
        if update == "modern":
            S, E = self._recall_modern(S, int(max_iter), tol)
        else:
            if not self.binary_:
                raise ValueError("classical recall needs stored patterns of ±1; use update='modern' for real-valued"
                                 " patterns, or store np.sign(patterns)")
            if not np.isin(S, (-1.0, 1.0)).all():
                raise ValueError("classical recall needs a state of ±1 values (binarise with np.where(x >= 0, 1, -1))")
            S, E = self._recall_classical(S, int(max_iter), sync=update == "sync")
        return (S[0], E[0]) if single else (S, E)

    def _recall_classical(self, S, max_iter, sync):
        rng = np.random.default_rng(self.random_state)
        energies = [self.energy(S)]
        seen = [S.copy()]
        active = np.ones(len(S), dtype=bool)
        for _ in range(max_iter):
            S[active] = self._sweep_sync(S[active]) if sync else self._sweep_async(S[active], rng)
            energies.append(self.energy(S))
            # async: settled when a sweep changes nothing; sync: also stop on a 2-cycle
            done = (S == seen[-1]).all(1)
            if sync and len(seen) >= 2:
                done |= (S == seen[-2]).all(1)
            active &= ~done
            seen = [seen[-1], S.copy()]
            if not active.any():
                break
        return S, np.stack(energies, axis=1)

    def _sweep_async(self, S, rng):
        """One asynchronous sweep over all units in a random order (the same order for the whole batch)."""
        W = self.weights_
        field = S @ W
        for i in rng.permutation(self.n_units_):
            new = np.where(field[:, i] > 0, 1.0, np.where(field[:, i] < 0, -1.0, S[:, i]))
            delta = new - S[:, i]
            if delta.any():
                S[:, i] = new
                field += delta[:, None] * W[i][None, :]
        return S

    def _sweep_sync(self, S):
        field = S @ self.weights_
        return np.where(field > 0, 1.0, np.where(field < 0, -1.0, S))

    def _recall_modern(self, S, max_iter, tol):
        X, beta = self.patterns_, float(self.beta)
        energies = [self.modern_energy(S)]
        active = np.ones(len(S), dtype=bool)
        for _ in range(max_iter):
            new = softmax(beta * S[active] @ X.T, axis=1) @ X
            moved = np.abs(new - S[active]).max(1) > tol
            S[active] = new
            energies.append(self.modern_energy(S))
            idx = np.flatnonzero(active)
            active[idx[~moved]] = False
            if not active.any():
                break
        return S, np.stack(energies, axis=1)

    def attention(self, x) -> np.ndarray:
        """Softmax weights ``softmax(beta X xi)`` over the stored patterns: ``(n_patterns,)`` or
        ``(batch, n_patterns)``. The argmax names the pattern a modern recall lands on."""
        S, single = self._states(x)
        p = softmax(float(self.beta) * S @ self.patterns_.T, axis=1)
        return p[0] if single else p
