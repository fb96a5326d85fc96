"""Attention over a sequence of encoder states (Bahdanau et al. 2015; Luong et al. 2015).

For a query ``h_t`` (the decoder state, size ``d_q``) and keys ``h̄_s`` (encoder states, size ``d_k``,
``s = 1..S``) the score function is one of

=============== ==============================================================
``dot``         ``score(h_t, h̄_s) = h_tᵀ h̄_s``                    (``d_q = d_k``)
``scaled_dot``  ``score(h_t, h̄_s) = h_tᵀ h̄_s / sqrt(d_k)``        (Vaswani et al. 2017)
``general``     ``score(h_t, h̄_s) = h_tᵀ W_a h̄_s``                 (Luong)
``additive``    ``score(h_t, h̄_s) = v_aᵀ tanh(W_q h_t + W_k h̄_s)`` (Bahdanau, "concat")
=============== ==============================================================

the weights are ``α_ts = softmax_s(score)`` over the positions allowed by the mask, the context is
``c_t = Σ_s α_ts h̄_s`` and the attentional vector is ``ã_t = tanh(W_c [c_t; h_t])``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["Attention", "KINDS"]

KINDS = ("dot", "scaled_dot", "general", "additive")


class Attention(nn.Module):
    """Attention of a query over keys (the keys are also the values).

    Parameters
    ----------
    query_size : int
        ``d_q``, size of the query (decoder state).
    key_size : int, optional
        ``d_k``, size of each key (encoder state); defaults to ``query_size``.
    kind : {"dot", "scaled_dot", "general", "additive"}, default "dot"
        Score function (see the module docstring).
    attn_size : int, optional
        Hidden size of the additive score's ``tanh`` layer; defaults to ``query_size``.
    output_size : int, optional
        Size of the attentional vector ``ã_t = tanh(W_c [c_t; h_t])``; defaults to ``query_size``.

    Shapes
    ------
    ``forward(query, keys, mask=None)``: ``query`` ``(B, d_q)`` or ``(B, T, d_q)``; ``keys`` ``(B, S, d_k)``;
    ``mask`` ``(B, S)`` bool, True where a key may be attended to (padding is False). Returns
    ``(context, weights)`` of shapes ``(B, d_k)`` and ``(B, S)`` (or ``(B, T, d_k)`` and ``(B, T, S)``).
    A row whose mask is all False gets zero weights and a zero context.
    """

    def __init__(self, query_size: int, key_size: int | None = None, kind: str = "dot",
                 attn_size: int | None = None, output_size: int | None = None):
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"Attention: kind must be one of {KINDS}, got {kind!r}")
        key_size = query_size if key_size is None else key_size
        if kind in ("dot", "scaled_dot") and key_size != query_size:
            raise ValueError(
                f"Attention(kind={kind!r}) needs query_size == key_size, got {query_size} and {key_size}; "
                "use kind='general' or 'additive' for different sizes"
            )
        self.kind, self.query_size, self.key_size = kind, query_size, key_size
        if kind == "general":
            self.W_a = nn.Linear(key_size, query_size, bias=False)
        elif kind == "additive":
            attn_size = query_size if attn_size is None else attn_size
            self.W_q = nn.Linear(query_size, attn_size, bias=False)
            self.W_k = nn.Linear(key_size, attn_size, bias=True)
            self.v_a = nn.Linear(attn_size, 1, bias=False)
        self.W_c = nn.Linear(key_size + query_size, query_size if output_size is None else output_size, bias=False)

    def score(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """Raw scores ``(B, T, S)`` for ``query`` ``(B, T, d_q)`` and ``keys`` ``(B, S, d_k)``."""
        if self.kind == "additive":
            e = torch.tanh(self.W_q(query).unsqueeze(2) + self.W_k(keys).unsqueeze(1))  # (B, T, S, A)
            return self.v_a(e).squeeze(-1)
        k = self.W_a(keys) if self.kind == "general" else keys
        s = torch.bmm(query, k.transpose(1, 2))
        if self.kind == "scaled_dot":
            s = s / math.sqrt(self.key_size)
        return s

    def forward(self, query: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor | None = None):
        single = query.dim() == 2
        q = query.unsqueeze(1) if single else query
        scores = self.score(q, keys)
        if mask is not None:
            mask = mask.to(torch.bool).unsqueeze(1)
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        if mask is not None:
            weights = torch.nan_to_num(weights, nan=0.0) * mask  # all-masked rows -> zeros
        context = torch.bmm(weights, keys)
        if single:
            return context.squeeze(1), weights.squeeze(1)
        return context, weights

    def attentional(self, context: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        """The attentional vector ``ã_t = tanh(W_c [c_t; h_t])`` (last dimension ``output_size``)."""
        return torch.tanh(self.W_c(torch.cat([context, query], dim=-1)))

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}, query_size={self.query_size}, key_size={self.key_size}"
