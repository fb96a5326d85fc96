r"""Recurrent cells: one time step of the Elman, LSTM (with peepholes and the gate ablations of Jozefowicz et al.),
GRU and MUT1–3 networks.

Every cell is built as ``Cell(input_size, hidden_size, **options)`` and called as ``cell(x, state=None)`` on ``x``
of shape ``(batch, input_size)``. A missing state means zeros. :class:`LSTMCell` returns ``(h, c)``, the others
``h``, each of shape ``(batch, hidden_size)``.

Each cell splits its step in two so that :class:`tsrnn.nn.RNN` can compute the input part for all time steps at
once (one large matrix product) and loop only over the recurrent part:

``cell.project(x)``
    ``(..., input_size) -> (..., n_proj)``: every term that depends on the input alone.
``cell.step(xp, state)``
    the rest of the step, given that projection (biases are folded into the projection; ``addmm``, ``addcmul``
    and ``lerp`` keep the number of operations per step, and so the Python overhead of the loop, low).

``forward(x, state) == step(project(x), state)``. Weights are initialised as in PyTorch,
``U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))``; matrices use PyTorch's layout (``weight_ih`` is
``(n_gates * hidden_size, input_size)``) so that weights copy across from ``torch.nn.RNNCell``/``LSTMCell``/
``GRUCell``.

References
----------
Elman (1990), Finding structure in time. Hochreiter & Schmidhuber (1997), Long short-term memory.
Gers & Schmidhuber (2000), Recurrent nets that time and count (peepholes). Cho et al. (2014), GRU.
Jozefowicz, Zaremba & Sutskever (2015), An empirical exploration of recurrent network architectures (MUT1–3 and
the LSTM-f/-i/-o/-b ablations).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["RecurrentCell", "ElmanCell", "LSTMCell", "GRUCell", "MUT1Cell", "MUT2Cell", "MUT3Cell", "CELLS"]


class RecurrentCell(nn.Module):
    """Base of the cells: sizes, PyTorch-style initialisation, zero state and ``forward = step(project(x))``."""

    #: whether the state is a pair ``(h, c)``
    state_is_tuple = False

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        if int(input_size) < 1 or int(hidden_size) < 1:
            raise ValueError(f"{type(self).__name__}: input_size and hidden_size must be >= 1, "
                             f"got {input_size}, {hidden_size}")
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)

    def reset_parameters(self) -> None:
        """Every parameter ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as ``torch.nn.RNNCell`` does."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def init_state(self, batch: int, like: Tensor):
        """The zero state for ``batch`` rows, on ``like``'s device and dtype."""
        h = like.new_zeros(batch, self.hidden_size)
        return (h, h.clone()) if self.state_is_tuple else h

    def project(self, x: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def step(self, xp: Tensor, state):  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x: Tensor, state=None):
        """One step on ``x`` ``(batch, input_size)``; ``state`` ``None`` means zeros."""
        if state is None:
            state = self.init_state(x.shape[0], x)
        return self.step(self.project(x), state)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"


def _linear_weights(module: RecurrentCell, n_in: int, n_hh: int, rows_in: int, rows_hh: int):
    module.weight_ih = nn.Parameter(torch.empty(rows_in, n_in))
    module.bias_ih = nn.Parameter(torch.empty(rows_in))
    module.weight_hh = nn.Parameter(torch.empty(rows_hh, n_hh))
    module.bias_hh = nn.Parameter(torch.empty(rows_hh))


class ElmanCell(RecurrentCell):
    r"""Elman (simple, "tanh") recurrent cell.

    .. math::  h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})

    Parameters ``weight_ih (H, I)``, ``weight_hh (H, H)``, ``bias_ih (H,)``, ``bias_hh (H,)`` as in
    ``torch.nn.RNNCell``. Returns ``h`` of shape ``(batch, H)``.
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__(input_size, hidden_size)
        _linear_weights(self, self.input_size, self.hidden_size, self.hidden_size, self.hidden_size)
        self.reset_parameters()

    def project(self, x):
        return torch.nn.functional.linear(x, self.weight_ih, self.bias_ih + self.bias_hh)

    def step(self, xp, h):
        return torch.tanh(torch.addmm(xp, h, self.weight_hh.t()))


class LSTMCell(RecurrentCell):
    r"""Long short-term memory cell, with optional peepholes and the gate ablations of Jozefowicz et al. (2015).

    .. math::

        i_t &= \sigma(W_{ii} x_t + W_{hi} h_{t-1} + p_i \odot c_{t-1} + b_i) \\
        f_t &= \sigma(W_{if} x_t + W_{hf} h_{t-1} + p_f \odot c_{t-1} + b_f) \\
        g_t &= \tanh(W_{ig} x_t + W_{hg} h_{t-1} + b_g) \\
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
        o_t &= \sigma(W_{io} x_t + W_{ho} h_{t-1} + p_o \odot c_t + b_o) \\
        h_t &= o_t \odot \tanh(c_t)

    The peephole terms ``p_* ⊙ c`` (diagonal weights, Gers & Schmidhuber 2000) are present only with
    ``peephole=True``; ``b = b_ih + b_hh`` (two biases, as in ``torch.nn.LSTMCell``).

    Parameters
    ----------
    input_size, hidden_size : int
    peephole : bool, default False
        Feed ``c_{t-1}`` to the input and forget gates and ``c_t`` to the output gate.
    forget_gate, input_gate, output_gate : bool, default True
        ``False`` removes that gate (it is fixed at 1): the LSTM-f, LSTM-i and LSTM-o variants.
    forget_bias : float, default 0.0
        Added to the forget-gate bias at initialisation; ``1.0`` is the LSTM-b variant.

    The gate rows of ``weight_ih`` / ``weight_hh`` are ordered ``i, f, g, o`` (as in PyTorch), the removed gates
    left out. Returns ``(h, c)``, each ``(batch, H)``.
    """

    state_is_tuple = True

    def __init__(self, input_size: int, hidden_size: int, peephole: bool = False, forget_gate: bool = True,
                 input_gate: bool = True, output_gate: bool = True, forget_bias: float = 0.0):
        super().__init__(input_size, hidden_size)
        self.peephole = bool(peephole)
        self.gates = tuple(g for g, on in (("i", input_gate), ("f", forget_gate), ("g", True), ("o", output_gate))
                           if on)
        self.forget_bias = float(forget_bias)
        H, n = self.hidden_size, len(self.gates)
        _linear_weights(self, self.input_size, H, n * H, n * H)
        if self.peephole:
            self.peep = nn.Parameter(torch.empty(3, H))  # rows: input, forget, output
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.forget_bias and "f" in self.gates:
            k = self.gates.index("f") * self.hidden_size
            with torch.no_grad():
                self.bias_ih[k:k + self.hidden_size] += self.forget_bias

    def project(self, x):
        return torch.nn.functional.linear(x, self.weight_ih, self.bias_ih + self.bias_hh)

    def step(self, xp, state):
        h, c = state
        z = torch.addmm(xp, h, self.weight_hh.t())
        parts = dict(zip(self.gates, z.chunk(len(self.gates), dim=-1)))
        if self.peephole:
            if "i" in parts:
                parts["i"] = torch.addcmul(parts["i"], self.peep[0], c)
            if "f" in parts:
                parts["f"] = torch.addcmul(parts["f"], self.peep[1], c)
        g = torch.tanh(parts["g"])
        ig = torch.sigmoid(parts["i"]) * g if "i" in parts else g
        c = torch.addcmul(ig, torch.sigmoid(parts["f"]), c) if "f" in parts else c + ig
        tc = torch.tanh(c)
        if "o" in parts:
            zo = torch.addcmul(parts["o"], self.peep[2], c) if self.peephole else parts["o"]
            h = torch.sigmoid(zo) * tc
        else:
            h = tc
        return h, c

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, peephole={self.peephole}, gates={''.join(self.gates)}"


class GRUCell(RecurrentCell):
    r"""Gated recurrent unit (Cho et al., 2014), in PyTorch's formulation.

    .. math::

        r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) \\
        z_t &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\
        n_t &= \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})) \\
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    Gate rows ordered ``r, z, n`` as in ``torch.nn.GRUCell``. Returns ``h`` ``(batch, H)``.
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__(input_size, hidden_size)
        H = self.hidden_size
        _linear_weights(self, self.input_size, H, 3 * H, 3 * H)
        self.reset_parameters()

    def project(self, x):
        return torch.nn.functional.linear(x, self.weight_ih, self.bias_ih)

    def step(self, xp, h):
        xr, xz, xn = xp.chunk(3, dim=-1)
        hr, hz, hn = torch.nn.functional.linear(h, self.weight_hh, self.bias_hh).chunk(3, dim=-1)
        r = torch.sigmoid(xr + hr)
        z = torch.sigmoid(xz + hz)
        n = torch.tanh(torch.addcmul(xn, r, hn))
        return torch.lerp(n, h, z)


class _MUTCell(RecurrentCell):
    r"""Shared parts of the MUT cells: gates ``z`` (update) and ``r`` (reset) and the candidate
    ``tanh(W_hh (r ⊙ h) + u(x) + b_h)``; ``h_t = z ⊙ candidate + (1 - z) ⊙ h_{t-1}``.

    Where the paper adds the raw input ``x_t`` (or ``tanh(x_t)``) to a hidden-size vector it assumes
    ``input_size == hidden_size``; when the sizes differ a learned projection ``P x_t`` (no bias) of the input
    stands in for ``x_t``. ``project(x)`` returns the input terms ``[z_x, r_x, u_x]`` concatenated.
    """

    uses_raw_x = True  # MUT1/MUT2 add the raw input to a hidden-size vector; MUT3 does not

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__(input_size, hidden_size)
        H = self.hidden_size
        self.weight_hh = nn.Parameter(torch.empty(H, H))  # candidate recurrence W_hh
        self.bias_h = nn.Parameter(torch.empty(H))
        self.bias_z = nn.Parameter(torch.empty(H))
        self.bias_r = nn.Parameter(torch.empty(H))
        self.same_size = self.input_size == H
        if not self.same_size and self.uses_raw_x:
            self.weight_p = nn.Parameter(torch.empty(H, self.input_size))

    def _raw_x(self, x):
        return x if self.same_size else torch.nn.functional.linear(x, self.weight_p)

    def _bias(self):
        return torch.cat([self.bias_z, self.bias_r, self.bias_h])

    def _update(self, z, r, xu, h):
        """``h + z ⊙ (tanh(W_hh (r ⊙ h) + xu) - h)``, with ``xu`` already holding its bias."""
        return torch.lerp(h, torch.tanh(torch.addmm(xu, r * h, self.weight_hh.t())), z)


class MUT1Cell(_MUTCell):
    r"""MUT1 of Jozefowicz, Zaremba & Sutskever (2015).

    .. math::

        z &= \sigma(W_{xz} x_t + b_z) \\
        r &= \sigma(W_{xr} x_t + W_{hr} h_t + b_r) \\
        h_{t+1} &= \tanh(W_{hh} (r \odot h_t) + \tanh(x_t) + b_h) \odot z + h_t \odot (1 - z)

    (``x_t`` replaced by ``P x_t`` when ``input_size != hidden_size``). Returns ``h`` ``(batch, H)``.
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__(input_size, hidden_size)
        H = self.hidden_size
        self.weight_x = nn.Parameter(torch.empty(2 * H, self.input_size))  # rows: W_xz, W_xr
        self.weight_hr = nn.Parameter(torch.empty(H, H))
        self.reset_parameters()

    def project(self, x):
        return torch.cat([torch.nn.functional.linear(x, self.weight_x), torch.tanh(self._raw_x(x))], dim=-1) + self._bias()

    def step(self, xp, h):
        xz, xr, xu = xp.chunk(3, dim=-1)
        r = torch.sigmoid(torch.addmm(xr, h, self.weight_hr.t()))
        return self._update(torch.sigmoid(xz), r, xu, h)


class MUT2Cell(_MUTCell):
    r"""MUT2 of Jozefowicz, Zaremba & Sutskever (2015).

    .. math::

        z &= \sigma(W_{xz} x_t + W_{hz} h_t + b_z) \\
        r &= \sigma(x_t + W_{hr} h_t + b_r) \\
        h_{t+1} &= \tanh(W_{hh} (r \odot h_t) + W_{xh} x_t + b_h) \odot z + h_t \odot (1 - z)

    (``x_t`` in ``r`` replaced by ``P x_t`` when ``input_size != hidden_size``). Returns ``h`` ``(batch, H)``.
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__(input_size, hidden_size)
        H = self.hidden_size
        self.weight_x = nn.Parameter(torch.empty(2 * H, self.input_size))  # rows: W_xz, W_xh
        self.weight_h = nn.Parameter(torch.empty(2 * H, H))  # rows: W_hz, W_hr
        self.reset_parameters()

    def project(self, x):
        xz, xu = torch.nn.functional.linear(x, self.weight_x).chunk(2, dim=-1)
        return torch.cat([xz, self._raw_x(x), xu], dim=-1) + self._bias()

    def step(self, xp, h):
        xz, xr, xu = xp.chunk(3, dim=-1)
        hz, hr = torch.nn.functional.linear(h, self.weight_h).chunk(2, dim=-1)
        return self._update(torch.sigmoid(xz + hz), torch.sigmoid(xr + hr), xu, h)


class MUT3Cell(_MUTCell):
    r"""MUT3 of Jozefowicz, Zaremba & Sutskever (2015).

    .. math::

        z &= \sigma(W_{xz} x_t + W_{hz} \tanh(h_t) + b_z) \\
        r &= \sigma(W_{xr} x_t + W_{hr} h_t + b_r) \\
        h_{t+1} &= \tanh(W_{hh} (r \odot h_t) + W_{xh} x_t + b_h) \odot z + h_t \odot (1 - z)

    Returns ``h`` ``(batch, H)``.
    """

    uses_raw_x = False

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__(input_size, hidden_size)
        H = self.hidden_size
        self.weight_x = nn.Parameter(torch.empty(3 * H, self.input_size))  # rows: W_xz, W_xr, W_xh
        self.weight_hz = nn.Parameter(torch.empty(H, H))
        self.weight_hr = nn.Parameter(torch.empty(H, H))
        self.reset_parameters()

    def project(self, x):
        return torch.nn.functional.linear(x, self.weight_x, self._bias())

    def step(self, xp, h):
        xz, xr, xu = xp.chunk(3, dim=-1)
        z = torch.sigmoid(torch.addmm(xz, torch.tanh(h), self.weight_hz.t()))
        r = torch.sigmoid(torch.addmm(xr, h, self.weight_hr.t()))
        return self._update(z, r, xu, h)


#: name -> (cell class, options): the architectures of Jozefowicz et al.'s table and the peephole LSTM
CELLS: dict[str, tuple[type[RecurrentCell], dict]] = {
    "elman": (ElmanCell, {}),
    "tanh": (ElmanCell, {}),
    "lstm": (LSTMCell, {}),
    "peephole_lstm": (LSTMCell, {"peephole": True}),
    "lstm_f": (LSTMCell, {"forget_gate": False}),
    "lstm_i": (LSTMCell, {"input_gate": False}),
    "lstm_o": (LSTMCell, {"output_gate": False}),
    "lstm_b": (LSTMCell, {"forget_bias": 1.0}),
    "gru": (GRUCell, {}),
    "mut1": (MUT1Cell, {}),
    "mut2": (MUT2Cell, {}),
    "mut3": (MUT3Cell, {}),
}
