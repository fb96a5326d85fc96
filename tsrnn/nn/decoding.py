"""Autoregressive decoding strategies, generic over a step function.

A *step function* advances a model by one token::

    logits, state = step(tokens, state)

with ``tokens`` a ``(N,)`` long tensor (the previous token of each of the ``N`` running sequences), ``state``
anything the model carries (a tensor or a nested tuple/list/dict of tensors whose first dimension is ``N``) and
``logits`` of shape ``(N, V)`` over a vocabulary of ``V`` tokens. The next-token distribution is
``p(y_t | y_<t) = softmax(logits)``.

* :func:`greedy` picks ``argmax_v p(v | y_<t)`` at each step.
* :func:`sample` draws from ``softmax(logits / T)`` restricted to the ``top_k`` most likely tokens and/or the
  nucleus: the smallest set of most likely tokens whose probability mass is at least ``top_p``
  (Holtzman et al. 2020).
* :func:`beam_search` keeps the ``beam_width`` prefixes of highest ``log p(y_1..y_t)``, and ranks the finished
  hypotheses by ``log p(Y) / lp(Y)`` with the GNMT length penalty ``lp(Y) = ((5 + |Y|) / 6) ** length_penalty``
  (Wu et al. 2016); ``length_penalty = 0`` ranks by the plain log-probability.

All three stop after ``max_len`` tokens; with ``eos`` a sequence that emitted ``eos`` is padded with ``eos`` and
its log-probability no longer changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

__all__ = ["greedy", "sample", "beam_search", "top_k_top_p_filter", "map_state"]

StepFn = Callable[[torch.Tensor, Any], tuple[torch.Tensor, Any]]


def map_state(state: Any, fn: Callable[[torch.Tensor], torch.Tensor]) -> Any:
    """Apply ``fn`` to every tensor of a (nested tuple/list/dict) state; other leaves are kept."""
    if isinstance(state, torch.Tensor):
        return fn(state)
    if isinstance(state, dict):
        return {k: map_state(v, fn) for k, v in state.items()}
    if isinstance(state, (tuple, list)):
        return type(state)(map_state(v, fn) for v in state)
    return state


def _start(start) -> torch.Tensor:
    return torch.as_tensor(start, dtype=torch.long).reshape(-1)


def _finish(tokens, logp, step_logp, finished, eos):
    """Apply the eos rule to one step: finished sequences emit ``eos`` at log-probability 0."""
    if eos is None:
        return tokens, logp + step_logp, finished
    tokens = torch.where(finished, torch.full_like(tokens, eos), tokens)
    logp = logp + torch.where(finished, torch.zeros_like(step_logp), step_logp)
    return tokens, logp, finished | (tokens == eos)


@torch.no_grad()
def greedy(step: StepFn, state: Any, start, max_len: int, eos: int | None = None):
    """Greedy decoding: ``y_t = argmax_v softmax(logits_t)_v``.

    Parameters
    ----------
    step : callable ``(tokens (N,), state) -> (logits (N, V), state)``
    state : initial state of the ``N`` sequences
    start : int or array-like of shape ``(N,)``
        The first input token of each sequence.
    max_len : int
        Number of tokens to generate.
    eos : int, optional
        End-of-sequence token.

    Returns
    -------
    tokens : LongTensor ``(N, max_len)``
    log_prob : Tensor ``(N,)``, ``Σ_t log p(y_t | y_<t)`` under the model.
    """
    return sample(step, state, start, max_len, temperature=0.0, eos=eos)  # the zero-temperature limit


def top_k_top_p_filter(logits: torch.Tensor, top_k: int | None = None, top_p: float | None = None) -> torch.Tensor:
    """Set to ``-inf`` the logits outside the ``top_k`` largest and outside the nucleus of mass ``top_p``.

    The nucleus is the smallest set of most likely tokens whose probability mass is ``>= top_p``; the most
    likely token is always kept. ``logits`` has shape ``(N, V)``.
    """
    logits = logits.clone()
    V = logits.shape[-1]
    if top_k is not None:
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        if top_k < V:
            kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
            logits[logits < kth] = float("-inf")
    if top_p is not None:
        if not 0.0 < top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {top_p}")
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        probs = torch.softmax(sorted_logits, dim=-1)
        mass_before = torch.cumsum(probs, dim=-1) - probs  # mass of the strictly more likely tokens
        drop_sorted = mass_before >= top_p
        drop_sorted[..., 0] = False
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits[drop] = float("-inf")
    return logits


@torch.no_grad()
def sample(step: StepFn, state: Any, start, max_len: int, temperature: float = 1.0, top_k: int | None = None,
           top_p: float | None = None, eos: int | None = None, generator: torch.Generator | None = None):
    """Ancestral sampling from ``softmax(logits / temperature)`` with optional top-k / nucleus (top-p) filtering.

    ``temperature = 0`` (or ``top_k = 1``) is greedy decoding. To draw ``m`` paths per sequence, repeat the
    start tokens and the state ``m`` times (e.g. ``map_state(state, lambda t: t.repeat_interleave(m, 0))``).

    Parameters
    ----------
    step, state, start, max_len, eos
        As in :func:`greedy`.
    temperature : float, default 1.0
        ``T >= 0``; lower is more deterministic.
    top_k : int, optional
        Sample only among the ``k`` most likely tokens.
    top_p : float, optional
        Sample only among the smallest set of most likely tokens with mass ``>= top_p``.
    generator : torch.Generator, optional
        Source of randomness (seed it for reproducible paths).

    Returns
    -------
    tokens : LongTensor ``(N, max_len)``
    log_prob : Tensor ``(N,)``, the log-probability of each path under the *unfiltered, untempered* model.
    """
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    tok = _start(start)
    n = tok.shape[0]
    logp = torch.zeros(n)
    finished = torch.zeros(n, dtype=torch.bool)
    out = []
    for _ in range(max_len):
        logits, state = step(tok, state)
        lp = torch.log_softmax(logits.float(), dim=-1)
        if temperature == 0:
            tok = lp.argmax(dim=-1)
        else:
            filt = top_k_top_p_filter(lp / temperature, top_k, top_p)
            tok = torch.multinomial(torch.softmax(filt, dim=-1), 1, generator=generator).squeeze(1)
        tok, logp, finished = _finish(tok, logp, lp.gather(1, tok[:, None]).squeeze(1), finished, eos)
        out.append(tok)
    return torch.stack(out, dim=1), logp


def _length_penalty(length: torch.Tensor, alpha: float) -> torch.Tensor:
    return ((5.0 + length.float()) / 6.0) ** alpha


@torch.no_grad()
def beam_search(step: StepFn, state: Any, start, max_len: int, beam_width: int = 4, length_penalty: float = 0.0,
                eos: int | None = None, return_all: bool = False):
    """Beam search for the most likely sequence ``argmax_Y log p(Y)`` (approximately; exact as the beam grows).

    At each step every kept prefix is extended by every token, and the ``beam_width`` extensions of highest
    ``log p(y_1..y_t)`` are kept. A prefix that emitted ``eos`` is finished: it is carried along with its
    score frozen. The final ranking divides by ``lp(|Y|) = ((5 + |Y|)/6) ** length_penalty`` (``|Y|`` counts
    tokens up to and including ``eos``). ``beam_width = 1`` is greedy decoding.

    The state's tensors must have the sequence dimension first (``(N, ...)``); they are expanded to
    ``N * beam_width`` rows and re-indexed as beams are reordered.

    Returns
    -------
    tokens : LongTensor ``(N, max_len)`` (or ``(N, beam_width, max_len)`` with ``return_all``)
    scores : Tensor ``(N,)`` (or ``(N, beam_width)``), ``log p(Y) / lp(|Y|)``, best first.
    """
    if beam_width < 1:
        raise ValueError(f"beam_width must be >= 1, got {beam_width}")
    K = int(beam_width)
    tok0 = _start(start)
    n = tok0.shape[0]
    tok = tok0.repeat_interleave(K)
    state = map_state(state, lambda t: t.repeat_interleave(K, dim=0))
    score = torch.full((n, K), float("-inf"))
    score[:, 0] = 0.0  # only one live beam at the start, so the K beams do not duplicate it
    finished = torch.zeros(n, K, dtype=torch.bool)
    length = torch.zeros(n, K, dtype=torch.long)
    hist = torch.zeros(n, K, 0, dtype=torch.long)
    for _ in range(max_len):
        logits, state = step(tok, state)
        lp = torch.log_softmax(logits.float(), dim=-1).view(n, K, -1)
        V = lp.shape[-1]
        if eos is not None:
            frozen = torch.full_like(lp, float("-inf"))
            frozen[..., eos] = 0.0
            lp = torch.where(finished[..., None], frozen, lp)
        cand = (score[..., None] + lp).view(n, K * V)
        k_eff = min(K, K * V)
        top, idx = torch.topk(cand, k_eff, dim=-1)
        if k_eff < K:  # tiny vocabulary: pad with dead beams
            top = torch.cat([top, torch.full((n, K - k_eff), float("-inf"))], dim=1)
            idx = torch.cat([idx, idx[:, :1].expand(n, K - k_eff)], dim=1)
        beam, new_tok = idx // V, idx % V
        rows = (torch.arange(n)[:, None] * K + beam).reshape(-1)
        state = map_state(state, lambda t, rows=rows: t.index_select(0, rows))
        was_finished = finished.gather(1, beam)
        length = length.gather(1, beam) + (~was_finished).long()
        finished = was_finished | ((new_tok == eos) if eos is not None else torch.zeros_like(was_finished))
        hist = torch.cat([hist.gather(1, beam[..., None].expand(-1, -1, hist.shape[-1])), new_tok[..., None]], -1)
        score = top
        tok = new_tok.reshape(-1)
    final = score / _length_penalty(length, length_penalty)
    final, order = torch.sort(final, dim=-1, descending=True)
    hist = hist.gather(1, order[..., None].expand(-1, -1, hist.shape[-1]))
    if return_all:
        return hist, final
    return hist[:, 0], final[:, 0]
