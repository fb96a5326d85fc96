"""Cells against independent references: torch's own RNNCell/LSTMCell/GRUCell (copied weights), the equations
of the papers written out with explicit matrices, and float64 gradcheck for every cell."""

from __future__ import annotations

import pytest
import torch

from tsrnn.nn import cells
from tsrnn.nn.cells import CELLS, ElmanCell, GRUCell, LSTMCell, MUT1Cell, MUT2Cell, MUT3Cell

sig, tanh = torch.sigmoid, torch.tanh


@pytest.fixture
def x_h():
    g = torch.Generator().manual_seed(0)
    return torch.randn(5, 3, generator=g), torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g)


@pytest.mark.parametrize(("ours", "theirs"), [(ElmanCell, torch.nn.RNNCell), (GRUCell, torch.nn.GRUCell),
                                              (LSTMCell, torch.nn.LSTMCell)])
def test_matches_torch_cells_with_copied_weights(ours, theirs, x_h):
    x, h, c = x_h
    torch.manual_seed(1)
    ref = theirs(3, 4)
    cell = ours(3, 4)
    cell.load_state_dict(ref.state_dict())
    for state in (None, (h, c) if ours is LSTMCell else h):
        a = cell(x, state)
        b = ref(x, state)
        for u, v in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
            assert torch.allclose(u, v, atol=1e-6, rtol=0)


def test_missing_state_means_zeros(x_h):
    x, _, _ = x_h
    for name, (klass, opts) in CELLS.items():
        cell = klass(3, 4, **opts)
        out = cell(x)
        zero = torch.zeros(5, 4)
        ref = cell(x, (zero, zero) if cell.state_is_tuple else zero)
        for u, v in zip(out if isinstance(out, tuple) else (out,), ref if isinstance(ref, tuple) else (ref,)):
            assert torch.equal(u, v), name
            assert u.shape == (5, 4)


def _lstm_reference(cell, x, h, c, peephole):
    """Hochreiter-Schmidhuber / Gers-Schmidhuber equations with the gates written one by one."""
    H = cell.hidden_size
    W, U, b = cell.weight_ih, cell.weight_hh, cell.bias_ih + cell.bias_hh
    pre = {g: x @ W[k * H:(k + 1) * H].T + h @ U[k * H:(k + 1) * H].T + b[k * H:(k + 1) * H]
           for k, g in enumerate(cell.gates)}
    p = cell.peep if peephole else torch.zeros(3, H)
    i = sig(pre["i"] + p[0] * c) if "i" in pre else 1.0
    f = sig(pre["f"] + p[1] * c) if "f" in pre else 1.0
    c_new = f * c + i * tanh(pre["g"])
    o = sig(pre["o"] + p[2] * c_new) if "o" in pre else 1.0
    return o * tanh(c_new), c_new


@pytest.mark.parametrize("opts", [{"peephole": True}, {"forget_gate": False}, {"input_gate": False},
                                  {"output_gate": False}, {"forget_bias": 1.0}, {"peephole": True, "input_gate": False}])
def test_lstm_variants_follow_their_equations(opts, x_h):
    x, h, c = x_h
    torch.manual_seed(2)
    cell = LSTMCell(3, 4, **opts)
    with torch.no_grad():
        if cell.peephole:
            cell.peep.normal_()  # make the peephole terms count
        got = cell(x, (h, c))
        ref = _lstm_reference(cell, x, h, c, cell.peephole)
    assert torch.allclose(got[0], ref[0], atol=1e-6) and torch.allclose(got[1], ref[1], atol=1e-6)
    n_gates = 4 - sum(not opts.get(k, True) for k in ("forget_gate", "input_gate", "output_gate"))
    assert cell.weight_ih.shape == (n_gates * 4, 3)


def test_lstm_b_initialises_forget_bias_to_one_plus_uniform():
    torch.manual_seed(3)
    cell = LSTMCell(3, 50, forget_bias=1.0)
    f = cell.bias_ih[50:100]
    bound = 1 / 50**0.5
    assert ((f >= 1 - bound) & (f <= 1 + bound)).all()
    assert (cell.bias_ih[:50].abs() <= bound).all()


def _mut_reference(cell, x, h):
    """Jozefowicz, Zaremba & Sutskever (2015), MUT1-3, with input_size == hidden_size (x used raw)."""
    H = cell.hidden_size
    Whh, bz, br, bh = cell.weight_hh, cell.bias_z, cell.bias_r, cell.bias_h
    if isinstance(cell, MUT1Cell):
        Wxz, Wxr = cell.weight_x[:H], cell.weight_x[H:]
        z = sig(x @ Wxz.T + bz)
        r = sig(x @ Wxr.T + h @ cell.weight_hr.T + br)
        cand = tanh((r * h) @ Whh.T + tanh(x) + bh)
    elif isinstance(cell, MUT2Cell):
        Wxz, Wxh = cell.weight_x[:H], cell.weight_x[H:]
        Whz, Whr = cell.weight_h[:H], cell.weight_h[H:]
        z = sig(x @ Wxz.T + h @ Whz.T + bz)
        r = sig(x + h @ Whr.T + br)
        cand = tanh((r * h) @ Whh.T + x @ Wxh.T + bh)
    else:
        Wxz, Wxr, Wxh = cell.weight_x[:H], cell.weight_x[H:2 * H], cell.weight_x[2 * H:]
        z = sig(x @ Wxz.T + tanh(h) @ cell.weight_hz.T + bz)
        r = sig(x @ Wxr.T + h @ cell.weight_hr.T + br)
        cand = tanh((r * h) @ Whh.T + x @ Wxh.T + bh)
    return cand * z + h * (1 - z)


@pytest.mark.parametrize("klass", [MUT1Cell, MUT2Cell, MUT3Cell])
def test_mut_cells_follow_the_paper(klass, x_h):
    _, h, _ = x_h
    x = torch.randn(5, 4, generator=torch.Generator().manual_seed(4))
    torch.manual_seed(5)
    cell = klass(4, 4)
    with torch.no_grad():
        assert torch.allclose(cell(x, h), _mut_reference(cell, x, h), atol=1e-6)


@pytest.mark.parametrize("klass", [MUT1Cell, MUT2Cell])
def test_mut_cells_project_the_input_when_sizes_differ(klass, x_h):
    x, h, _ = x_h
    cell = klass(3, 4)
    assert cell.weight_p.shape == (4, 3)
    assert cell(x, h).shape == (5, 4)


@pytest.mark.parametrize("name", sorted(CELLS))
def test_gradcheck_float64(name):
    klass, opts = CELLS[name]
    torch.manual_seed(6)
    cell = klass(3, 2, **opts).double()
    if getattr(cell, "peephole", False):
        with torch.no_grad():
            cell.peep.normal_()
    x = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    h = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)
    if cell.state_is_tuple:
        c = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)
        fn = lambda x, h, c, *p: cell(x, (h, c))  # noqa: E731
        inputs = (x, h, c)
    else:
        fn = lambda x, h, *p: cell(x, h)  # noqa: E731
        inputs = (x, h)
    assert torch.autograd.gradcheck(fn, inputs + tuple(cell.parameters()), eps=1e-6, atol=1e-5)


def test_public_access_and_bad_sizes():
    assert cells.LSTMCell(3, 4, peephole=True)(torch.randn(2, 3))[0].shape == (2, 4)
    with pytest.raises(ValueError, match="hidden_size"):
        ElmanCell(3, 0)


@pytest.mark.parametrize("name", sorted(CELLS))
def test_every_parameter_is_used(name):
    klass, opts = CELLS[name]
    cell = klass(3, 4, **opts)
    out = cell(torch.randn(2, 3), None)
    h = out[0] + out[1] if isinstance(out, tuple) else out
    grads = torch.autograd.grad(h.square().sum(), list(cell.parameters()), allow_unused=True)
    unused = [n for (n, _), g in zip(cell.named_parameters(), grads) if g is None]
    assert not unused, unused
