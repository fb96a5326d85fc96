"""The hand-written BPTT path (impl="bptt", the default for cells without a fused kernel) gives autograd's numbers:
outputs, final states and the gradients of inputs, initial states and every parameter equal those of autograd
through the eager loop to float64 round-off; gradcheck passes; mixed-precision autocast runs the loop in
float32."""

from __future__ import annotations

import pytest
import torch

from tsrnn.nn import RNN

CUSTOM = ["peephole_lstm", "lstm_f", "lstm_i", "lstm_o", "mut1", "mut2", "mut3"]
# peepholes combined with the gate ablations, passed as cell options
OPTIONED = [("lstm", {"peephole": True, "input_gate": False}), ("lstm", {"peephole": True, "forget_gate": False}),
            ("lstm", {"peephole": True, "output_gate": False}), ("lstm", {"peephole": True, "forget_bias": 1.0})]


def _pair(cell, opts, layers, bidir, input_size=3, hidden=5):
    torch.manual_seed(0)
    eager = RNN(cell, input_size, hidden, num_layers=layers, bidirectional=bidir, impl="eager", **opts).double()
    manual = RNN(cell, input_size, hidden, num_layers=layers, bidirectional=bidir, **opts).double()
    assert manual.impl == "bptt"
    manual.load_state_dict(eager.state_dict())
    return eager, manual


def _loss(out, state):
    states = state if isinstance(state, tuple) else (state,)
    w = torch.linspace(-1, 1, out.shape[-1], dtype=out.dtype)
    return (out * w).sin().sum() + sum((s ** 2).sum() for s in states)


@pytest.mark.parametrize(("cell", "opts"), [(c, {}) for c in CUSTOM] + OPTIONED)
@pytest.mark.parametrize(("layers", "bidir", "given_state"), [(1, False, False), (2, True, True)])
def test_bptt_equals_autograd_through_the_loop(cell, opts, layers, bidir, given_state):
    eager, manual = _pair(cell, opts, layers, bidir)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4, 9, 3, dtype=torch.float64, generator=g, requires_grad=True)
    n = layers * (2 if bidir else 1)
    h0 = torch.randn(n, 4, 5, dtype=torch.float64, generator=g, requires_grad=True)
    c0 = torch.randn(n, 4, 5, dtype=torch.float64, generator=g, requires_grad=True)
    state = ((h0, c0) if eager.state_is_tuple else h0) if given_state else None
    inputs = [x] + ([h0] + ([c0] if eager.state_is_tuple else []) if given_state else [])
    (oe, se), (om, sm) = eager(x, state), manual(x, state)
    torch.testing.assert_close(om, oe, rtol=0, atol=1e-13)
    for a, b in zip(sm if eager.state_is_tuple else (sm,), se if eager.state_is_tuple else (se,)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-13)
    ge = torch.autograd.grad(_loss(oe, se), inputs + list(eager.parameters()))
    gm = torch.autograd.grad(_loss(om, sm), inputs + list(manual.parameters()))
    for a, b in zip(gm, ge):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cell", CUSTOM)
def test_bptt_gradcheck(cell):
    torch.manual_seed(0)
    rnn = RNN(cell, 2, 3).double()
    x = torch.randn(2, 5, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda inp: rnn(inp)[0], (x,), eps=1e-6, atol=1e-7)
    params = list(rnn.parameters())

    def f(*ps):
        with torch.no_grad():
            for p, v in zip(params, ps):
                p.copy_(v)
        return rnn(x)[0]

    # the parameters' gradients against finite differences (weights are read through the module)
    for i, p in enumerate(params):
        num = torch.zeros_like(p)
        base = [q.detach().clone() for q in params]
        for j in range(p.numel()):
            for sgn in (1, -1):
                vals = [q.clone() for q in base]
                vals[i].view(-1)[j] += sgn * 1e-6
                num.view(-1)[j] += sgn * f(*vals).sum().item() / 2e-6
        f(*base)
        (ana,) = torch.autograd.grad(rnn(x)[0].sum(), p)
        torch.testing.assert_close(ana, num, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("cell", ["peephole_lstm", "mut1", "mut3"])
def test_the_loop_runs_in_float32_under_autocast(cell):
    """Under bfloat16 autocast the input projection may run in bfloat16; the recurrence does not (no dtype error,
    float32 outputs, close to the float32 run)."""
    torch.manual_seed(0)
    rnn = RNN(cell, 4, 8)
    x = torch.randn(3, 12, 4)
    ref, _ = rnn(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, _ = rnn(x)
        out.float().sum().backward()
    assert out.dtype == torch.float32
    assert (out - ref).abs().max() < 0.05
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in rnn.parameters())


def test_bptt_is_refused_where_there_is_none():
    with pytest.raises(ValueError, match="no hand-written BPTT"):
        RNN("gru", 2, 3, impl="bptt")
    assert RNN("gru", 2, 3).impl == "fused" and RNN("mut2", 2, 3).impl == "bptt"


@pytest.mark.parametrize("cell", ["peephole_lstm", "mut2"])
@pytest.mark.parametrize(("batch", "T"), [(1, 1), (3, 1), (1, 6)])
def test_bptt_edge_sizes(cell, batch, T):
    eager, manual = _pair(cell, {}, 1, False)
    x = torch.randn(batch, T, 3, dtype=torch.float64, requires_grad=True)
    (oe, se), (om, sm) = eager(x), manual(x)
    torch.testing.assert_close(om, oe, rtol=0, atol=1e-13)
    ge = torch.autograd.grad(_loss(oe, se), [x] + list(eager.parameters()))
    gm = torch.autograd.grad(_loss(om, sm), [x] + list(manual.parameters()))
    for a, b in zip(gm, ge):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_second_derivatives_are_refused_not_wrong():
    rnn = RNN("mut1", 2, 3).double()
    x = torch.randn(2, 4, 2, dtype=torch.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="first derivatives only.*impl='eager'"):
        torch.autograd.grad(rnn(x)[0].sum(), x, create_graph=True)
    eager = RNN("mut1", 2, 3, impl="eager").double()  # the eager path has them
    (g,) = torch.autograd.grad(eager(x)[0].sum(), x, create_graph=True)
    assert torch.autograd.grad(g.sum(), x)[0].shape == x.shape
