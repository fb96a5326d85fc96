r"""Encoder–decoder (sequence to sequence) network with optional attention (Sutskever et al. 2014; Cho et al.
2014; Bahdanau et al. 2015; Luong et al. 2015).

Encoder: any :class:`tsrnn.nn.RNN` (optionally bidirectional) reads the input ``x_1..x_S`` and gives the states
``h̄_1..h̄_S``. Its final state initialises the decoder (a bidirectional encoder's two final states per layer are
mapped to one by ``tanh(W_b [h_fwd; h_bwd] + b_b)``; LSTM cells map ``c`` linearly).

Decoder: a unidirectional RNN run one step at a time. At step ``t`` it reads the previous output value
``y_{t-1}`` (and, with attention, the previous attentional vector ``ã_{t-1}``: Luong's *input feeding*):

.. math::

    h_t = \mathrm{RNN}([y_{t-1}; ã_{t-1}], h_{t-1}),\quad (c_t, α_t) = \mathrm{Attention}(h_t, h̄_{1..S}),\quad
    ã_t = \tanh(W_c [c_t; h_t]),\quad o_t = W_o ã_t + b_o

(without attention ``o_t = W_o h_t + b_o``). ``o_t`` is the predicted value (regression) or the logits over
``n_bins`` value bins (categorical mode; the decoder then reads the centre of the previous bin).

Training uses teacher forcing: the decoder reads the true ``y_{t-1}``; with *scheduled sampling* (Bengio et al.
2015) each sequence reads, with probability ``1 - p``, the model's own previous output instead (its prediction,
or a bin sampled from its distribution).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .attention import KINDS, Attention
from .recurrent import RNN

__all__ = ["Seq2Seq"]


class Seq2Seq(nn.Module):
    """Encoder–decoder network.

    Parameters
    ----------
    input_size : int
        Features per encoder step.
    output_size : int, default 1
        Values per decoder step (must be 1 in categorical mode).
    hidden_size : int, default 32
    cell : str, default "gru"
        Any :class:`tsrnn.nn.RNN` cell except ``"dnc"``; used by encoder and decoder.
    num_layers : int, default 1
    bidirectional : bool, default False
        Bidirectional encoder (the decoder is always unidirectional).
    attention : {None, "dot", "scaled_dot", "general", "additive"}
    dropout : float, default 0.0
    bin_centers : array-like of shape (n_bins,), optional
        Categorical mode: outputs are logits over these bins; the decoder reads bin centres.

    Shapes
    ------
    ``forward(x (B, S, input_size), horizon, y0 (B, output_size), target=None (B, T, output_size), mask=None
    (B, S))`` returns ``(out (B, T, output_size or n_bins), weights (B, T, S) or None)``.
    """

    def __init__(self, input_size: int = 1, output_size: int = 1, hidden_size: int = 32, cell: str = "gru",
                 num_layers: int = 1, bidirectional: bool = False, attention: str | None = None,
                 dropout: float = 0.0, bin_centers=None):
        super().__init__()
        if str(cell).lower() == "dnc":
            raise ValueError("Seq2Seq: cell='dnc' is not supported (its state is not a recurrent layer state)")
        if attention is not None and attention not in KINDS:
            raise ValueError(f"Seq2Seq: attention must be None or one of {KINDS}, got {attention!r}")
        self.categorical = bin_centers is not None
        if self.categorical and output_size != 1:
            raise ValueError("Seq2Seq: categorical mode needs output_size=1")
        self.input_size, self.output_size, self.hidden_size = input_size, output_size, hidden_size
        self.encoder = RNN(cell, input_size, hidden_size, num_layers, bidirectional=bidirectional, dropout=dropout)
        D, H = self.encoder.num_directions, hidden_size
        self.is_lstm = self.encoder.state_is_tuple
        if D == 2:
            self.bridge_h = nn.Linear(2 * H, H)
            self.bridge_c = nn.Linear(2 * H, H) if self.is_lstm else None
        self.attention = None
        feed = 0
        if attention is not None:
            key = D * H
            self.key_proj = nn.Linear(key, H, bias=False) if attention in ("dot", "scaled_dot") and D == 2 else None
            self.attention = Attention(H, H if self.key_proj is not None else key, kind=attention)
            feed = H
        self.decoder = RNN(cell, output_size + feed, H, num_layers, dropout=dropout)
        if self.categorical:
            self.register_buffer("bin_centers", torch.as_tensor(bin_centers, dtype=torch.float32).reshape(-1))
        n_out = len(self.bin_centers) if self.categorical else output_size
        self.head = nn.Linear(H, n_out)

    # ------------------------------------------------------------------ encoder
    def encode(self, x: Tensor, mask: Tensor | None = None) -> dict:
        """Run the encoder; return the decoder's initial state as a dict of batch-first tensors.

        ``mask`` ``(B, S)`` marks real (True) versus padded (False) steps; it keeps the attention off the padding.
        Pad on the left (with zeros) so that the forward encoder's final state follows the real steps; a backward
        direction reads the padding last, so a bidirectional encoder's final state still sees it.
        """
        keys, state = self.encoder(x)
        L, D, H = self.encoder.num_layers, self.encoder.num_directions, self.hidden_size
        parts = state if self.is_lstm else (state,)
        out = []
        for i, s in enumerate(parts):  # (L*D, B, H)
            if D == 2:
                s = s.view(L, 2, -1, H).permute(0, 2, 1, 3).reshape(L, -1, 2 * H)
                s = torch.tanh(self.bridge_h(s)) if i == 0 else self.bridge_c(s)
            out.append(s.transpose(0, 1))  # batch first (B, L, H)
        st = {"h": out[0]}
        if self.is_lstm:
            st["c"] = out[1]
        if self.attention is not None:
            st["keys"] = self.key_proj(keys) if self.key_proj is not None else keys
            st["mask"] = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device) if mask is None else mask.bool()
            st["feed"] = torch.zeros(x.shape[0], self.hidden_size, device=x.device)
        return st

    # ------------------------------------------------------------------ decoder
    def step(self, y_prev: Tensor, state: dict):
        """One decoder step from ``y_prev`` ``(B, output_size)``; returns ``(out, weights or None, state)``."""
        inp = y_prev if self.attention is None else torch.cat([y_prev, state["feed"]], dim=-1)
        h = state["h"].transpose(0, 1).contiguous()
        rnn_state = (h, state["c"].transpose(0, 1).contiguous()) if self.is_lstm else h
        top, rnn_state = self.decoder(inp.unsqueeze(1), rnn_state)
        top = top[:, 0]
        new = dict(state)
        if self.is_lstm:
            new["h"], new["c"] = rnn_state[0].transpose(0, 1), rnn_state[1].transpose(0, 1)
        else:
            new["h"] = rnn_state.transpose(0, 1)
        weights = None
        if self.attention is not None:
            ctx, weights = self.attention(top, state["keys"], state["mask"])
            top = self.attention.attentional(ctx, top)
            new["feed"] = top
        return self.head(top), weights, new

    def token_step(self, tokens: Tensor, state: dict):
        """Categorical mode, for :mod:`tsrnn.nn.decoding`: ``(tokens (N,), state) -> (logits (N, n_bins), state)``.

        The weights of each step are appended to ``state["weights"]`` when that key is present.
        """
        logits, w, new = self.step(self.bin_centers[tokens].unsqueeze(-1), state)
        if "weights" in state and w is not None:
            new["weights"] = torch.cat([state["weights"], w.unsqueeze(1)], dim=1)
        return logits, new

    def quantise(self, y: Tensor) -> Tensor:
        """Index of the nearest bin centre of each value (categorical mode)."""
        return (y.unsqueeze(-1) - self.bin_centers).abs().argmin(dim=-1)

    def forward(self, x: Tensor, horizon: int, y0: Tensor, target: Tensor | None = None,
                teacher_forcing: float = 1.0, mask: Tensor | None = None, generator: torch.Generator | None = None):
        """Decode ``horizon`` steps after encoding ``x``.

        ``target`` ``(B, T, output_size)`` (NaN allowed where there is no target) is read with probability
        ``teacher_forcing`` per sequence and step; otherwise (and always without ``target``) the decoder reads
        its own previous output: the prediction, or in categorical mode the centre of a bin sampled from its
        output distribution (the most likely bin when ``target`` is None).
        """
        state = self.encode(x, mask)
        prev = y0
        if self.categorical:
            prev = self.bin_centers[self.quantise(y0[:, 0])].unsqueeze(-1)
        outs, ws = [], []
        for t in range(horizon):
            o, w, state = self.step(prev, state)
            outs.append(o)
            if w is not None:
                ws.append(w)
            if self.categorical:
                if target is None:
                    own = o.argmax(-1)
                else:
                    own = torch.multinomial(torch.softmax(o.detach(), -1), 1, generator=generator).squeeze(1)
                own = self.bin_centers[own].unsqueeze(-1)
            else:
                own = o.detach() if target is not None else o
            if target is not None and t < target.shape[1] and teacher_forcing > 0:
                true = target[:, t]
                if self.categorical:
                    true = self.bin_centers[self.quantise(torch.nan_to_num(true[:, 0]))].unsqueeze(-1)
                true = torch.where(torch.isnan(true), own, true)
                if teacher_forcing >= 1:
                    prev = true
                else:
                    u = torch.rand(true.shape[0], 1, generator=generator, device=true.device)
                    prev = torch.where(u < teacher_forcing, true, own)
            else:
                prev = own
        out = torch.stack(outs, dim=1)
        return out, (torch.stack(ws, dim=1) if ws else None)
