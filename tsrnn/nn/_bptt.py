r"""Back-propagation through time written out by hand for the cells that have no fused PyTorch kernel.

Autograd through the Python loop of :class:`tsrnn.nn.RNN` records every operation of every step and replays
them one by one; for the small models of forecasting that bookkeeping, not the arithmetic, is most of the time.
Here each cell's whole sequence is one :class:`torch.autograd.Function`:

* the forward loop runs without recording (a handful of operations per step) and keeps the gate activations;
* the backward loop does only what the recurrence forces to be sequential (the gradients with respect to
  ``h_{t-1}`` and ``c_{t-1}``); every factor that does not depend on the recurrence is computed for all steps at
  once before the loop, and the gradients of the recurrent weights are one matrix product over all steps after
  it (as cuDNN does).

The gradients are checked against autograd through the eager loop (``impl="eager"``) and with
:func:`torch.autograd.gradcheck` in ``tests/test_bptt.py``. Double backward is not supported: use
``impl="eager"`` for Hessian-vector products (``create_graph=True`` through this path raises an error rather than
return a wrong second derivative).

Notation of the derivations below: ``dX`` is the gradient of the loss with respect to ``X``; ``σ' = σ(1-σ)``,
``tanh' = 1 - tanh²``; products are element-wise unless written ``@``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .cells import LSTMCell, MUT1Cell, MUT2Cell, MUT3Cell

__all__ = ["supports_bptt_class", "unroll_bptt"]


def supports_bptt_class(klass) -> bool:
    """Whether cells of this class have a hand-written sequence kernel here."""
    return issubclass(klass, (LSTMCell, MUT1Cell, MUT2Cell, MUT3Cell))


def unroll_bptt(cell, xp: Tensor, state):
    """Outputs ``(B, T, H)`` and final state of ``cell`` run over the projected inputs ``xp`` ``(B, T, P)``."""
    if isinstance(cell, LSTMCell):
        h0, c0 = state
        weights = [cell.weight_hh] + ([cell.peep] if cell.peephole else [])
        out, h, c = _LSTMSeq.apply(cell.gates, cell.peephole, xp, h0, c0, *weights)
        return out, (h, c)
    kind = {MUT1Cell: 1, MUT2Cell: 2, MUT3Cell: 3}[type(cell)]
    rec = [cell.weight_hr] if kind == 1 else [cell.weight_h] if kind == 2 else [cell.weight_hz, cell.weight_hr]
    out, h = _MUTSeq.apply(kind, xp, state, cell.weight_hh, *rec)
    return out, h


def _first_order_only():
    """Backward with ``create_graph=True`` would treat the recurrence as constant in a second derivative: refuse."""
    if torch.is_grad_enabled():
        raise RuntimeError("RNN(impl='bptt') computes first derivatives only (its backward pass is written by "
                           "hand); for second derivatives (create_graph=True) build the layer with impl='eager'")


def _gate_slots(gates, H: int) -> dict:
    """Column slice of each present LSTM gate in ``z`` (gate blocks in the cell's order, ``H`` wide)."""
    return {g: slice(j * H, (j + 1) * H) for j, g in enumerate(gates)}


def _zeros_if_none(g, like):
    return torch.zeros_like(like) if g is None else g


class _LSTMSeq(torch.autograd.Function):
    r"""The LSTM of :class:`tsrnn.nn.cells.LSTMCell` (any subset of the gates ``i, f, o``; peepholes optional).

    Forward, per step: ``z = xp_t + h W^T`` (+ ``p_i c``, ``p_f c`` with peepholes), ``g = tanh z_g``,
    ``c_t = f c_{t-1} + i g``, ``o = σ(z_o + p_o c_t)``, ``h_t = o tanh c_t`` (an absent gate is 1).

    Backward, with ``dh`` (from the output and from step ``t+1``) and ``dc`` (from step ``t+1``):
    ``dz_o = dh tanh(c) σ'(o)``; ``dc += dh o tanh'(c) + p_o dz_o``;
    ``dz_i = dc g σ'(i)``, ``dz_f = dc c_{t-1} σ'(f)``, ``dz_g = dc i tanh'(g)``;
    ``dc_{t-1} = dc f + p_i dz_i + p_f dz_f``; ``dh_{t-1} = dz W``;
    ``dW = Σ_t dz_t^T h_{t-1}``, ``dp_i = Σ dz_i c_{t-1}``, ``dp_f = Σ dz_f c_{t-1}``, ``dp_o = Σ dz_o c_t``.
    """

    @staticmethod
    def forward(ctx, gates, peephole, xp, h0, c0, W, peep=None):
        T = xp.shape[1]
        H = h0.shape[-1]
        sl = _gate_slots(gates, H)
        Wt = W.t()
        n_if = ("i" in sl) + ("f" in sl)
        if peephole:
            peep_if = peep[[j for j, g in enumerate("if") if g in sl]]  # rows of the present i, f gates
        h, c = h0, c0
        hs, cs, acts = [], [], []
        for t in range(T):
            z = torch.addmm(xp[:, t], h, Wt)
            if peephole:
                if n_if:  # the i and f blocks lead z: one update and one sigmoid for both
                    z[:, :n_if * H].view(-1, n_if, H).addcmul_(peep_if, c[:, None])
                a = torch.empty_like(z)
                if n_if:
                    torch.sigmoid(z[:, :n_if * H], out=a[:, :n_if * H])
            else:
                a = torch.sigmoid(z)  # the g and o slices are overwritten or used below
            g = torch.tanh(z[:, sl["g"]], out=a[:, sl["g"]])
            ig = a[:, sl["i"]] * g if "i" in sl else g
            c = torch.addcmul(ig, a[:, sl["f"]], c) if "f" in sl else c + ig
            tc = torch.tanh(c)
            if "o" in sl:
                if peephole:
                    o = torch.sigmoid(torch.addcmul(z[:, sl["o"]], peep[2], c), out=a[:, sl["o"]])
                else:
                    o = a[:, sl["o"]]
                h = o * tc
            else:
                h = tc
            hs.append(h)
            cs.append(c)
            acts.append(a)
        Hs, Cs, A = torch.stack(hs), torch.stack(cs), torch.stack(acts)  # time-major (T, B, ·)
        ctx.gates, ctx.peephole = gates, peephole
        ctx.save_for_backward(Hs, Cs, A, h0, c0, W, *([peep] if peephole else []))
        return Hs.transpose(0, 1), h, c

    @staticmethod
    def backward(ctx, d_out, d_hT, d_cT):
        _first_order_only()
        Hs, Cs, A, h0, c0, W, *peep = ctx.saved_tensors
        peep = peep[0] if peep else None
        gates, peephole = ctx.gates, ctx.peephole
        T, B, H = Hs.shape
        sl = _gate_slots(gates, H)
        d_out = _zeros_if_none(d_out, Hs.transpose(0, 1)).transpose(0, 1)  # (T, B, H)
        Cprev = torch.cat([c0[None], Cs[:-1]])
        tc = torch.tanh(Cs)
        # factors that do not depend on the recurrence, for all steps at once
        if "o" in sl:
            o = A[..., sl["o"]]
            f_o = tc * o * (1 - o)  # dz_o = dh * f_o
            f_c = o * (1 - tc * tc)  # dc += dh * f_c
        else:
            f_c = 1 - tc * tc
        g = A[..., sl["g"]]
        ifg = [x for x in ("i", "f", "g") if x in sl]  # their slots are the first len(ifg) blocks of z
        parts = []
        for x in ifg:
            if x == "i":
                i = A[..., sl["i"]]
                parts.append(g * i * (1 - i))
            elif x == "f":
                f = A[..., sl["f"]]
                parts.append(Cprev * f * (1 - f))
            else:
                parts.append((A[..., sl["i"]] if "i" in sl else 1) * (1 - g * g))
        D = torch.stack(parts, dim=2)  # (T, B, n_ifg, H): dz_ifg = dc * D
        F = A[..., sl["f"]] if "f" in sl else None
        dZ = torch.empty(T, B, len(gates) * H, dtype=Hs.dtype, device=Hs.device)
        n_ifg = len(ifg)
        dh = _zeros_if_none(d_hT, h0) + d_out[T - 1]
        dc = _zeros_if_none(d_cT, c0)
        for t in range(T - 1, -1, -1):
            dz = dZ[t]
            if "o" in sl:
                dzo = torch.mul(dh, f_o[t], out=dz[:, sl["o"]])
                dc = torch.addcmul(dc, dh, f_c[t])
                if peephole:
                    dc = dc.addcmul_(dzo, peep[2])
            else:
                dc = torch.addcmul(dc, dh, f_c[t])
            torch.mul(D[t], dc[:, None], out=dz[:, :n_ifg * H].view(B, n_ifg, H))
            dc = dc * F[t] if F is not None else dc
            if peephole:
                if "i" in sl:
                    dc = dc.addcmul_(dz[:, sl["i"]], peep[0])
                if "f" in sl:
                    dc = dc.addcmul_(dz[:, sl["f"]], peep[1])
            dh = torch.addmm(d_out[t - 1], dz, W) if t > 0 else dz @ W
        Hprev = torch.cat([h0[None], Hs[:-1]])
        dW = dZ.reshape(T * B, -1).t() @ Hprev.reshape(T * B, H)
        grads = [dZ.transpose(0, 1), dh, dc, dW]
        if peephole:
            dp = torch.zeros_like(peep)
            if "i" in sl:
                dp[0] = (dZ[..., sl["i"]] * Cprev).sum((0, 1))
            if "f" in sl:
                dp[1] = (dZ[..., sl["f"]] * Cprev).sum((0, 1))
            if "o" in sl:
                dp[2] = (dZ[..., sl["o"]] * Cs).sum((0, 1))
            grads.append(dp)
        return (None, None, *grads)


class _MUTSeq(torch.autograd.Function):
    r"""MUT1-3 of Jozefowicz et al. (2015) as in :mod:`tsrnn.nn.cells`: ``xp = [x_z, x_r, x_u]`` (biases included),
    ``r = σ(x_r + h W_hr^T)``, ``z = σ(x_z)`` (MUT1), ``σ(x_z + h W_hz^T)`` (MUT2, ``W_h = [W_hz; W_hr]``) or
    ``σ(x_z + tanh(h) W_hz^T)`` (MUT3), ``u = tanh(x_u + (r h) W_hh^T)``, ``h_t = h + z (u - h)``.

    Backward with ``dh`` the gradient of ``h_t``: ``dz_pre = dh (u - h) σ'(z)``, ``du_pre = dh z tanh'(u)``,
    ``d(rh) = du_pre W_hh``, ``dr_pre = d(rh) h σ'(r)``, and
    ``dh_{t-1} = dh (1 - z) + d(rh) r + dr_pre W_hr + [dz_pre W_hz]`` (MUT3: ``(dz_pre W_hz) tanh'(h)``);
    ``dW_hh = Σ du_pre^T (r h)``, ``dW_hr = Σ dr_pre^T h``, ``dW_hz = Σ dz_pre^T h`` (MUT3: ``tanh h``).
    """

    @staticmethod
    def forward(ctx, kind, xp, h0, Whh, *rec):
        T = xp.shape[1]
        H = h0.shape[-1]
        Whh_t = Whh.t()
        if kind == 1:
            Whr_t = rec[0].t()
            Zall = torch.sigmoid(xp[..., :H])
        elif kind == 2:
            Wh_t = rec[0].t()  # (H, 2H): [hz | hr]
        else:
            Whz_t, Whr_t = rec[0].t(), rec[1].t()
        h = h0
        hs, zs, rs, us = [], [], [], []
        for t in range(T):
            x = xp[:, t]
            if kind == 1:
                z = Zall[:, t]
                r = torch.sigmoid(torch.addmm(x[:, H:2 * H], h, Whr_t))
            elif kind == 2:
                zr = torch.sigmoid(torch.addmm(x[:, :2 * H], h, Wh_t))
                z, r = zr[:, :H], zr[:, H:]
                zs.append(zr)
            else:
                z = torch.sigmoid(torch.addmm(x[:, :H], torch.tanh(h), Whz_t))
                r = torch.sigmoid(torch.addmm(x[:, H:2 * H], h, Whr_t))
                zs.append(z)
            u = torch.tanh(torch.addmm(x[:, 2 * H:], r * h, Whh_t))
            h = torch.lerp(h, u, z)
            hs.append(h)
            us.append(u)
            if kind != 2:
                rs.append(r)
        Hs, U = torch.stack(hs), torch.stack(us)
        if kind == 1:
            Z, R = Zall.transpose(0, 1), torch.stack(rs)
        elif kind == 2:
            ZR = torch.stack(zs)
            Z, R = ZR[..., :H], ZR[..., H:]
        else:
            Z, R = torch.stack(zs), torch.stack(rs)
        ctx.kind = kind
        ctx.save_for_backward(Hs, Z, R, U, h0, Whh, *rec)
        return Hs.transpose(0, 1), h

    @staticmethod
    def backward(ctx, d_out, d_hT):
        _first_order_only()
        Hs, Z, R, U, h0, Whh, *rec = ctx.saved_tensors
        kind = ctx.kind
        T, B, H = Hs.shape
        d_out = _zeros_if_none(d_out, Hs.transpose(0, 1)).transpose(0, 1)
        Hprev = torch.cat([h0[None], Hs[:-1]])
        # recurrence-free factors, all steps at once
        f_z = (U - Hprev) * Z * (1 - Z)  # dz_pre = dh * f_z
        f_u = Z * (1 - U * U)  # du_pre = dh * f_u
        f_r = Hprev * R * (1 - R)  # dr_pre = d(rh) * f_r
        keep = 1 - Z  # direct path dh_{t-1} += dh * (1 - z)
        dG = torch.empty(T, B, 3 * H, dtype=Hs.dtype, device=Hs.device)  # slots [z, r, u] as in xp
        if kind == 3:
            th = torch.tanh(Hprev)
            f_th = 1 - th * th
        Wzr = rec[0] if kind == 2 else None  # (2H, H): rows [hz; hr], matches the [z, r] slots
        dh = _zeros_if_none(d_hT, h0) + d_out[T - 1]
        for t in range(T - 1, -1, -1):
            g = dG[t]
            dz_pre = torch.mul(dh, f_z[t], out=g[:, :H])
            du = torch.mul(dh, f_u[t], out=g[:, 2 * H:])
            drh = du @ Whh
            torch.mul(drh, f_r[t], out=g[:, H:2 * H])
            nxt = torch.addcmul(d_out[t - 1], dh, keep[t]) if t > 0 else dh * keep[t]
            nxt = nxt.addcmul_(drh, R[t])
            if kind == 1:
                nxt = nxt.addmm_(g[:, H:2 * H], rec[0])
            elif kind == 2:
                nxt = nxt.addmm_(g[:, :2 * H], Wzr)
            else:
                nxt = nxt.addmm_(g[:, H:2 * H], rec[1]).addcmul_(dz_pre @ rec[0], f_th[t])
            dh = nxt
        flat = lambda x: x.reshape(T * B, -1)  # noqa: E731
        dWhh = flat(dG[..., 2 * H:]).t() @ flat(R * Hprev)
        if kind == 1:
            d_rec = [flat(dG[..., H:2 * H]).t() @ flat(Hprev)]
        elif kind == 2:
            d_rec = [flat(dG[..., :2 * H]).t() @ flat(Hprev)]
        else:
            d_rec = [flat(dG[..., :H]).t() @ flat(th), flat(dG[..., H:2 * H]).t() @ flat(Hprev)]
        return (None, dG.transpose(0, 1), dh, dWhh, *d_rec)
