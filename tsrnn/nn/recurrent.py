r"""The recurrent layer: a cell unrolled over time (back-propagation through time by autograd).

:class:`RNN` takes ``(batch, time, input_size)`` and returns ``(outputs, state)``:

* ``outputs``: ``(batch, time, D * hidden_size)``, the last layer's hidden states (``D = 2`` when bidirectional);
* ``state``: ``h_n`` of shape ``(num_layers * D, batch, hidden_size)``, or ``(h_n, c_n)`` for LSTM cells —
  PyTorch's convention.

Plain Elman, LSTM (also LSTM-b) and GRU cells run on PyTorch's fused ``nn.RNN``/``nn.LSTM``/``nn.GRU`` (cuDNN on a
GPU). The other cells (peephole LSTM, LSTM-f/-i/-o, MUT1–3) run as a Python loop over time: the input terms of all
steps are one matrix product (``cell.project``), the loop does only the recurrent part. By default
(``impl="bptt"``) that loop and its backward pass are written out by hand (:mod:`tsrnn.nn._bptt`: no autograd
bookkeeping per step, the recurrence-free factors and the weight gradients computed for all steps at once);
``impl="eager"`` lets autograd record ``cell.step`` (the reference, and the path for double backward), and
``impl="compiled"`` runs that step under ``torch.compile``. The loop always runs in float32 (or the input's
float64), also under mixed-precision autocast. ``cell="dnc"`` builds :class:`tsrnn.nn.DNC`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ._bptt import supports_bptt_class, unroll_bptt
from .cells import CELLS, LSTMCell

__all__ = ["RNN", "input_gradient_norms", "CELL_NAMES"]

_FUSED = {"elman": nn.RNN, "tanh": nn.RNN, "lstm": nn.LSTM, "lstm_b": nn.LSTM, "gru": nn.GRU}
CELL_NAMES = tuple(CELLS) + ("dnc",)


class RNN(nn.Module):
    r"""A stack of recurrent cells unrolled over time.

    Parameters
    ----------
    cell : str, default "lstm"
        ``"elman"`` (alias ``"tanh"``), ``"lstm"``, ``"peephole_lstm"``, ``"lstm_f"``, ``"lstm_i"``, ``"lstm_o"``,
        ``"lstm_b"``, ``"gru"``, ``"mut1"``, ``"mut2"``, ``"mut3"`` (see :mod:`tsrnn.nn.cells`) or ``"dnc"``.
    input_size, hidden_size, num_layers : int
    bidirectional : bool, default False
        A second stack reads the sequence backwards; outputs are concatenated ``[forward, backward]``.
    dropout : float, default 0.0
        Dropout on the outputs of every layer but the last (as ``torch.nn.LSTM``).
    impl : {"auto", "fused", "bptt", "eager", "compiled"}, default "auto"
        ``"auto"`` uses the fused PyTorch module where the cell allows it, else the hand-written BPTT loop
        (``"bptt"``); ``"eager"`` is autograd through the Python loop; ``"compiled"`` runs the loop's step under
        ``torch.compile``.
    **cell_options
        Passed to the cell (e.g. ``peephole=True``), or to :class:`tsrnn.nn.DNC` for ``cell="dnc"``
        (``memory_size``, ``word_size``, ``read_heads``).

    Shapes
    ------
    ``x``: ``(batch, time, input_size)``; ``state`` as returned (``None`` means zeros).
    """

    def __init__(self, cell: str = "lstm", input_size: int = 1, hidden_size: int = 32, num_layers: int = 1,
                 bidirectional: bool = False, dropout: float = 0.0, impl: str = "auto", **cell_options):
        super().__init__()
        cell = str(cell).lower()
        if cell not in CELL_NAMES:
            raise ValueError(f"RNN: unknown cell {cell!r}; choose one of {CELL_NAMES}")
        if impl not in ("auto", "fused", "bptt", "eager", "compiled"):
            raise ValueError(f"RNN: impl must be 'auto', 'fused', 'bptt', 'eager' or 'compiled', got {impl!r}")
        self.cell_name, self.input_size, self.hidden_size = cell, int(input_size), int(hidden_size)
        self.num_layers, self.bidirectional, self.dropout = int(num_layers), bool(bidirectional), float(dropout)
        self.num_directions = 2 if self.bidirectional else 1
        self.output_size = self.num_directions * self.hidden_size
        fusable = cell in _FUSED and not cell_options
        if impl == "fused" and not fusable:
            raise ValueError(f"RNN: cell {cell!r} with options {cell_options} has no fused PyTorch module")
        manual = cell in CELLS and supports_bptt_class(CELLS[cell][0])
        if impl == "bptt" and not manual:
            raise ValueError(f"RNN: cell {cell!r} has no hand-written BPTT; use impl='eager'")
        self.impl = ("fused" if fusable else "bptt" if manual else "eager") if impl == "auto" else impl
        self.state_is_tuple = cell in ("lstm", "lstm_b") or (cell in CELLS and CELLS[cell][0] is LSTMCell)
        if cell == "dnc":
            if self.num_layers != 1 or self.bidirectional:
                raise ValueError("RNN: cell='dnc' supports num_layers=1 and bidirectional=False only")
            from .dnc import DNC

            self.dnc = DNC(input_size=self.input_size, hidden_size=self.hidden_size, **cell_options)
            self.impl = "dnc"
        elif self.impl == "fused":
            kw = {"nonlinearity": "tanh"} if _FUSED[cell] is nn.RNN else {}
            self.fused = _FUSED[cell](self.input_size, self.hidden_size, self.num_layers, batch_first=True,
                                      dropout=self.dropout if self.num_layers > 1 else 0.0,
                                      bidirectional=self.bidirectional, **kw)
            if cell == "lstm_b":
                with torch.no_grad():
                    for name, p in self.fused.named_parameters():
                        if name.startswith("bias_ih"):
                            p[self.hidden_size:2 * self.hidden_size] += 1.0
        else:
            klass, opts = CELLS[cell]
            opts = {**opts, **cell_options}
            self.cells = nn.ModuleList()
            for layer in range(self.num_layers):
                n_in = self.input_size if layer == 0 else self.output_size
                for _ in range(self.num_directions):
                    self.cells.append(klass(n_in, self.hidden_size, **opts))
            self.drop = nn.Dropout(self.dropout)
        self._steps = None  # compiled step functions, rebuilt lazily (not pickled)

    # ------------------------------------------------------------------ helpers
    def __getstate__(self):
        state = self.__dict__.copy()
        state["_steps"] = None
        return state

    def _step_fns(self):
        if self._steps is None:
            if self.impl == "compiled":
                self._steps = [torch.compile(c.step, dynamic=False) for c in self.cells]
            else:
                self._steps = [c.step for c in self.cells]
        return self._steps

    def extra_repr(self) -> str:
        return (f"cell={self.cell_name!r}, impl={self.impl!r}, {self.input_size}, {self.hidden_size}, "
                f"num_layers={self.num_layers}, bidirectional={self.bidirectional}")

    def _unroll(self, idx: int, x: Tensor, state, reverse: bool):
        cell = self.cells[idx]
        xp = cell.project(x)
        # the recurrence runs in float32 under autocast: low-precision states drift over many steps, and the
        # cells mix their float32 parameters with the projections
        with torch.autocast(x.device.type, enabled=False):
            xp = xp.float() if xp.dtype in (torch.float16, torch.bfloat16) else xp
            if state is None:
                state = cell.init_state(x.shape[0], xp)
            elif self.state_is_tuple:
                state = tuple(s.to(xp.dtype) for s in state)
            else:
                state = state.to(xp.dtype)
            if self.impl == "bptt":
                if reverse:
                    out, state = unroll_bptt(cell, xp.flip(1), state)
                    return out.flip(1), state
                return unroll_bptt(cell, xp, state)
            return self._loop(idx, xp, state, reverse)

    def _loop(self, idx: int, xp: Tensor, state, reverse: bool):
        step = self._step_fns()[idx]
        T = xp.shape[1]
        outs = [None] * T
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            state = step(xp[:, t], state)
            outs[t] = state[0] if self.state_is_tuple else state
        return torch.stack(outs, dim=1), state

    # ------------------------------------------------------------------ forward
    def forward(self, x: Tensor, state=None):
        """Run the stack over ``x`` ``(batch, time, input_size)``; returns ``(outputs, state)``."""
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise ValueError(f"RNN: expected input of shape (batch, time, {self.input_size}), got {tuple(x.shape)}")
        if self.impl == "dnc":
            return self.dnc(x) if state is None else self.dnc(x, state)
        if self.impl == "fused":
            return self.fused(x, state)
        n = self.num_layers * self.num_directions
        if state is None:
            per = [None] * n
        elif self.state_is_tuple:
            per = [(state[0][i], state[1][i]) for i in range(n)]
        else:
            per = [state[i] for i in range(n)]
        finals = []
        out = x
        for layer in range(self.num_layers):
            if layer > 0:
                out = self.drop(out)
            outs = []
            for d in range(self.num_directions):
                i = layer * self.num_directions + d
                o, s = self._unroll(i, out, per[i], reverse=d == 1)
                outs.append(o)
                finals.append(s)
            out = outs[0] if len(outs) == 1 else torch.cat(outs, dim=-1)
        if self.state_is_tuple:
            return out, (torch.stack([s[0] for s in finals]), torch.stack([s[1] for s in finals]))
        return out, torch.stack(finals)


def input_gradient_norms(module: nn.Module, x: Tensor, loss_fn) -> Tensor:
    r"""How much the loss still feels the input at each time step: ``||dL/dx_t||_2`` for ``t = 1..T``.

    With the loss computed at the last step, these norms show the vanishing (or exploding) gradient of BPTT:
    in a tanh RNN they decay roughly geometrically with the distance ``T - t``, gated cells keep them up.

    Parameters
    ----------
    module : nn.Module mapping ``x`` to anything ``loss_fn`` accepts (e.g. an :class:`RNN`).
    x : Tensor ``(batch, time, input_size)``
    loss_fn : callable ``module(x) -> scalar`` ... precisely ``loss_fn(module(x))`` must be a scalar.

    Returns
    -------
    Tensor ``(time,)``: the norm over batch and features of the gradient at each step.
    """
    x = x.detach().clone().requires_grad_(True)
    loss = loss_fn(module(x))
    (grad,) = torch.autograd.grad(loss, x)
    return grad.pow(2).sum(dim=(0, 2)).sqrt().detach()
