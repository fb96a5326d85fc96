"""Differentiable neural computer (Graves et al., 2016, "Hybrid computing using a neural network with dynamic
external memory", Nature 538): an LSTM controller that reads from and writes to an external memory matrix.

At each step ``t`` the controller sees the input and the previous read vectors, ``[x_t; r_{t-1}]``, and emits an
interface vector that parameterises one write head and ``R`` read heads:

* content addressing ``C(M, k, beta)[i] = softmax_i(beta * cos(k, M[i]))``;
* dynamic memory allocation from the usage vector
  ``u_t = (u_{t-1} + w^w_{t-1} - u_{t-1} * w^w_{t-1}) * psi_t`` with retention ``psi_t = prod_i (1 - f^i w^{r,i}_{t-1})``
  and allocation ``a_t[phi_j] = (1 - u_t[phi_j]) prod_{l<j} u_t[phi_l]`` (``phi`` sorts usage ascending);
* the write ``w^w_t = g^w (g^a a_t + (1 - g^a) c^w_t)``, ``M_t = M_{t-1} * (1 - w^w e^T) + w^w v^T``;
* the temporal link matrix ``L_t[i, j] = (1 - w^w[i] - w^w[j]) L_{t-1}[i, j] + w^w[i] p_{t-1}[j]`` (zero diagonal)
  with precedence ``p_t = (1 - sum_i w^w[i]) p_{t-1} + w^w``;
* read weights mixing backward, content and forward modes,
  ``w^{r,i}_t = pi_1 L^T w^{r,i}_{t-1} + pi_2 C(M_t, k^{r,i}, beta^{r,i}) + pi_3 L w^{r,i}_{t-1}``,
  and read vectors ``r^i_t = M_t^T w^{r,i}_t``.

The output at each step is ``y_t = W [h_t; r_t]`` of size ``hidden_size``, so the module drops in wherever an
LSTM layer's output sequence is expected.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["DNC", "DNCState", "content_weights", "allocation_weights", "update_link"]

_EPS = 1e-6


class DNCState(NamedTuple):
    """Recurrent state of a :class:`DNC` (every field batch-first).

    Attributes
    ----------
    h, c : (batch, hidden_size)
        LSTM controller state.
    memory : (batch, memory_size, word_size)
    usage : (batch, memory_size)
    link : (batch, memory_size, memory_size)
        Temporal link matrix: ``link[b, i, j]`` is the degree to which slot ``i`` was written right after slot ``j``.
    precedence : (batch, memory_size)
    read_weights : (batch, read_heads, memory_size)
    write_weights : (batch, memory_size)
    read_vectors : (batch, read_heads, word_size)
    """

    h: torch.Tensor
    c: torch.Tensor
    memory: torch.Tensor
    usage: torch.Tensor
    link: torch.Tensor
    precedence: torch.Tensor
    read_weights: torch.Tensor
    write_weights: torch.Tensor
    read_vectors: torch.Tensor

    def detach(self) -> DNCState:
        """The same state cut from the autograd graph (for truncated back-propagation through time)."""
        return DNCState(*(t.detach() for t in self))


def content_weights(memory: torch.Tensor, keys: torch.Tensor, strengths: torch.Tensor) -> torch.Tensor:
    """Content-based addressing ``softmax_i(beta * cos(k, M[i]))``.

    Parameters
    ----------
    memory : (batch, N, W)
    keys : (batch, H, W)
        One key per head.
    strengths : (batch, H)
        Key strengths ``beta >= 1``.

    Returns
    -------
    (batch, H, N) weights, each row summing to 1.
    """
    sim = torch.einsum("bhw,bnw->bhn", keys, memory)
    norms = keys.norm(dim=-1, keepdim=True) * memory.norm(dim=-1).unsqueeze(1)
    return torch.softmax(strengths.unsqueeze(-1) * sim / (norms + _EPS), dim=-1)


def allocation_weights(usage: torch.Tensor) -> torch.Tensor:
    """Allocation weighting ``a[phi_j] = (1 - u[phi_j]) prod_{l<j} u[phi_l]``, ``phi`` = usage sorted ascending.

    As in the paper, no gradient flows through the sort permutation (only through the sorted values).

    Parameters
    ----------
    usage : (batch, N), values in [0, 1].

    Returns
    -------
    (batch, N) weights summing to ``1 - prod_i u[i]`` (<= 1).
    """
    u = _EPS + (1 - _EPS) * usage  # keeps the cumulative product strictly positive, as in the reference code
    sorted_u, phi = torch.sort(u, dim=-1, stable=True)
    ones = torch.ones_like(sorted_u[:, :1])
    excl_prod = torch.cumprod(torch.cat([ones, sorted_u[:, :-1]], dim=-1), dim=-1)
    sorted_alloc = (1 - sorted_u) * excl_prod
    return torch.zeros_like(u).scatter(-1, phi, sorted_alloc)


def update_link(link: torch.Tensor, precedence: torch.Tensor, write: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of the temporal link matrix and the precedence weighting.

    Parameters
    ----------
    link : (batch, N, N)
    precedence : (batch, N)
        ``p_{t-1}``.
    write : (batch, N)
        ``w^w_t``.

    Returns
    -------
    link : (batch, N, N)
        ``L_t[i, j] = (1 - w[i] - w[j]) L_{t-1}[i, j] + w[i] p_{t-1}[j]``, diagonal zero.
    precedence : (batch, N)
        ``p_t = (1 - sum_i w[i]) p_{t-1} + w``.
    """
    wi = write.unsqueeze(-1)
    wj = write.unsqueeze(-2)
    link = (1 - wi - wj) * link + wi * precedence.unsqueeze(-2)
    n = link.shape[-1]
    link = link * (1 - torch.eye(n, dtype=link.dtype, device=link.device))
    precedence = (1 - write.sum(-1, keepdim=True)) * precedence + write
    return link, precedence


class DNC(nn.Module):
    """Differentiable neural computer with an LSTM controller, usable as a recurrent layer.

    Parameters
    ----------
    input_size : int
        Features per time step of the input.
    hidden_size : int
        Size of the LSTM controller and of the output at each step.
    memory_size : int, default 16
        Number of memory slots ``N``.
    word_size : int, default 16
        Size of each memory word ``W``.
    read_heads : int, default 2
        Number of read heads ``R``.

    Shapes
    ------
    ``forward(x, state=None)`` takes ``x`` of shape ``(batch, time, input_size)`` and returns
    ``(outputs, state)`` with ``outputs`` of shape ``(batch, time, hidden_size)`` and ``state`` a
    :class:`DNCState` after the last step (``state=None`` starts from zeros: empty memory, no usage, no links).

    Notes
    -----
    The interface vector emitted by the controller at each step has ``R W + 3 W + 5 R + 3`` entries: read keys
    ``(R, W)``, read strengths ``R``, write key ``W``, write strength, erase vector ``W`` (sigmoid), write vector
    ``W``, free gates ``R`` (sigmoid), allocation gate, write gate and read modes ``(R, 3)`` (softmax over
    backward / content / forward). Strengths use ``oneplus(x) = 1 + softplus(x)``.
    """

    def __init__(self, input_size: int, hidden_size: int, memory_size: int = 16, word_size: int = 16,
                 read_heads: int = 2) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.memory_size = memory_size
        self.word_size = word_size
        self.read_heads = read_heads
        R, W = read_heads, word_size
        self.controller = nn.LSTMCell(input_size + R * W, hidden_size)
        self.interface = nn.Linear(hidden_size, R * W + 3 * W + 5 * R + 3)
        self.output = nn.Linear(hidden_size + R * W, hidden_size)

    def initial_state(self, batch: int, device=None, dtype=None) -> DNCState:
        """The zero state for ``batch`` sequences (empty memory, no usage, no links)."""
        p = next(self.parameters())
        kw = {"device": device or p.device, "dtype": dtype or p.dtype}
        N, W, R, H = self.memory_size, self.word_size, self.read_heads, self.hidden_size
        z = torch.zeros
        return DNCState(z(batch, H, **kw), z(batch, H, **kw), z(batch, N, W, **kw), z(batch, N, **kw),
                        z(batch, N, N, **kw), z(batch, N, **kw), z(batch, R, N, **kw), z(batch, N, **kw),
                        z(batch, R, W, **kw))

    def _split_interface(self, xi: torch.Tensor) -> dict[str, torch.Tensor]:
        R, W = self.read_heads, self.word_size
        sizes = [R * W, R, W, 1, W, W, R, 1, 1, 3 * R]
        parts = torch.split(xi, sizes, dim=-1)
        b = xi.shape[0]
        return {
            "read_keys": parts[0].reshape(b, R, W),
            "read_strengths": 1 + F.softplus(parts[1]),
            "write_key": parts[2].reshape(b, 1, W),
            "write_strength": 1 + F.softplus(parts[3]),
            "erase": torch.sigmoid(parts[4]),
            "write_vector": parts[5],
            "free_gates": torch.sigmoid(parts[6]),
            "alloc_gate": torch.sigmoid(parts[7]),
            "write_gate": torch.sigmoid(parts[8]),
            "read_modes": torch.softmax(parts[9].reshape(b, R, 3), dim=-1),
        }

    def memory_step(self, iface: dict[str, torch.Tensor], state: DNCState) -> tuple[DNCState, torch.Tensor]:
        """Apply one interface (already split and squashed) to the memory part of ``state``.

        Returns the new state (controller fields unchanged) and the read vectors ``(batch, R, W)``.
        """
        # usage: retained by the free gates of last step's reads, raised by last step's write
        psi = torch.prod(1 - iface["free_gates"].unsqueeze(-1) * state.read_weights, dim=1)
        usage = (state.usage + state.write_weights - state.usage * state.write_weights) * psi
        # write
        alloc = allocation_weights(usage)
        wcontent = content_weights(state.memory, iface["write_key"], iface["write_strength"]).squeeze(1)
        ga, gw = iface["alloc_gate"], iface["write_gate"]
        write = gw * (ga * alloc + (1 - ga) * wcontent)
        memory = (state.memory * (1 - write.unsqueeze(-1) * iface["erase"].unsqueeze(1))
                  + write.unsqueeze(-1) * iface["write_vector"].unsqueeze(1))
        link, precedence = update_link(state.link, state.precedence, write)
        # read
        forward = torch.einsum("bij,brj->bri", link, state.read_weights)
        backward = torch.einsum("bji,brj->bri", link, state.read_weights)
        rcontent = content_weights(memory, iface["read_keys"], iface["read_strengths"])
        modes = iface["read_modes"]
        read = modes[..., 0:1] * backward + modes[..., 1:2] * rcontent + modes[..., 2:3] * forward
        read_vectors = torch.einsum("brn,bnw->brw", read, memory)
        new = DNCState(state.h, state.c, memory, usage, link, precedence, read, write, read_vectors)
        return new, read_vectors

    def forward(self, x: torch.Tensor, state: DNCState | None = None) -> tuple[torch.Tensor, DNCState]:
        """Run the DNC over ``x`` of shape ``(batch, time, input_size)``; see the class docstring."""
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise ValueError(f"DNC expects input of shape (batch, time, {self.input_size}), got {tuple(x.shape)}")
        batch = x.shape[0]
        if state is None:
            state = self.initial_state(batch, x.device, x.dtype)
        elif not isinstance(state, DNCState):
            state = DNCState(*state)
        outputs = []
        for t in range(x.shape[1]):
            ctrl_in = torch.cat([x[:, t], state.read_vectors.reshape(batch, -1)], dim=-1)
            h, c = self.controller(ctrl_in, (state.h, state.c))
            iface = self._split_interface(self.interface(h))
            state, reads = self.memory_step(iface, state._replace(h=h, c=c))
            outputs.append(self.output(torch.cat([h, reads.reshape(batch, -1)], dim=-1)))
        return torch.stack(outputs, dim=1), state

    def extra_repr(self) -> str:
        return (f"input_size={self.input_size}, hidden_size={self.hidden_size}, memory_size={self.memory_size}, "
                f"word_size={self.word_size}, read_heads={self.read_heads}")
