"""DNC: the memory mechanisms against the equations of Graves et al. (2016), the weightings' invariants, gradients
(gradcheck in float64), state continuation, persistence, and learning a small copy task."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from torch import nn

from tsrnn.nn import DNC
from tsrnn.nn.dnc import DNCState, allocation_weights, content_weights, update_link
from tsrnn.nn.training import copy_task


def _allocation_reference(u):
    """The paper's formula written with a Python loop: a[phi_j] = (1 - u[phi_j]) prod_{l<j} u[phi_l]."""
    u = np.asarray(u, dtype=float)
    a = np.zeros_like(u)
    prod = 1.0
    for j in np.argsort(u, kind="stable"):
        a[j] = (1 - u[j]) * prod
        prod *= u[j]
    return a


def test_allocation_weights_follow_the_paper(rng):
    u = torch.tensor([[0.5, 0.2, 0.9]], dtype=torch.float64)
    a = allocation_weights(u)[0].numpy()
    np.testing.assert_allclose(a, [(1 - 0.5) * 0.2, 1 - 0.2, (1 - 0.9) * 0.2 * 0.5], atol=1e-5)
    np.testing.assert_allclose(a.sum(), 1 - 0.5 * 0.2 * 0.9, atol=1e-5)
    batch = rng.uniform(size=(20, 7))
    got = allocation_weights(torch.tensor(batch)).numpy()
    np.testing.assert_allclose(got, [_allocation_reference(1e-6 + (1 - 1e-6) * b) for b in batch], atol=1e-12)
    # free memory: everything goes to the first free slot; full memory: nothing is allocated
    np.testing.assert_allclose(allocation_weights(torch.zeros(1, 4, dtype=torch.float64))[0], [1, 0, 0, 0], atol=1e-5)
    assert allocation_weights(torch.ones(1, 4, dtype=torch.float64)).sum() < 1e-5
    # the least used slot gets the most
    assert (got.argmax(1) == batch.argmin(1)).all()


def test_content_weights_are_a_softmax_of_scaled_cosines(rng):
    M = torch.tensor(rng.normal(size=(2, 5, 3)))
    k = torch.tensor(rng.normal(size=(2, 4, 3)))
    beta = torch.tensor(rng.uniform(1, 5, size=(2, 4)))
    cos = nn.functional.cosine_similarity(k.unsqueeze(2), M.unsqueeze(1), dim=-1)
    ref = torch.softmax(beta.unsqueeze(-1) * cos, dim=-1)
    torch.testing.assert_close(content_weights(M, k, beta), ref, atol=1e-5, rtol=0)


def test_temporal_links_record_the_write_order():
    N = 4
    link, prec = torch.zeros(1, N, N), torch.zeros(1, N)
    for slot in (0, 2, 1):  # write slot 0, then 2, then 1
        link, prec = update_link(link, prec, nn.functional.one_hot(torch.tensor([slot]), N).float())
    expected = torch.zeros(N, N)
    expected[2, 0] = 1  # 2 was written after 0
    expected[1, 2] = 1  # 1 was written after 2
    torch.testing.assert_close(link[0], expected)
    torch.testing.assert_close(prec[0], torch.tensor([0.0, 1.0, 0.0, 0.0]))
    forward = link[0] @ torch.tensor([1.0, 0, 0, 0])  # from slot 0 forward in time -> slot 2
    backward = link[0].T @ torch.tensor([0.0, 1, 0, 0])  # from slot 1 backward in time -> slot 2
    torch.testing.assert_close(forward, torch.tensor([0.0, 0, 1, 0]))
    torch.testing.assert_close(backward, torch.tensor([0.0, 0, 1, 0]))


def test_weightings_stay_in_the_simplex_and_links_are_substochastic():
    torch.manual_seed(0)
    m = DNC(3, 16, memory_size=6, word_size=4, read_heads=3)
    with torch.no_grad():  # large interface outputs make the gates and modes saturate as well
        m.interface.weight.mul_(5)
    state = None
    for _ in range(4):
        _, state = m(torch.randn(5, 6, 3) * 3, state)
        r, w = state.read_weights, state.write_weights
        assert (r >= 0).all() and (r.sum(-1) <= 1 + 1e-5).all()
        assert (w >= 0).all() and (w.sum(-1) <= 1 + 1e-5).all()
        assert (state.usage >= 0).all() and (state.usage <= 1 + 1e-6).all()
        L = state.link
        assert (L >= -1e-7).all()
        assert (L.sum(-1) <= 1 + 1e-5).all() and (L.sum(-2) <= 1 + 1e-5).all()
        assert torch.diagonal(L, dim1=-2, dim2=-1).abs().max() == 0
        assert (state.precedence.sum(-1) <= 1 + 1e-5).all()


def test_shapes_state_continuation_and_batch_independence():
    torch.manual_seed(1)
    m = DNC(3, 10, memory_size=5, word_size=4, read_heads=2)
    x = torch.randn(4, 9, 3)
    out, state = m(x)
    assert out.shape == (4, 9, 10) and isinstance(state, DNCState)
    assert state.memory.shape == (4, 5, 4) and state.link.shape == (4, 5, 5) and state.read_vectors.shape == (4, 2, 4)
    first, mid = m(x[:, :4])
    second, end = m(x[:, 4:], mid)
    torch.testing.assert_close(torch.cat([first, second], 1), out)
    torch.testing.assert_close(end.memory, state.memory)
    torch.testing.assert_close(m(x, m.initial_state(4))[0], out)
    torch.testing.assert_close(m(x, tuple(m.initial_state(4)))[0], out)  # a plain tuple state is accepted
    torch.testing.assert_close(m(x[:1])[0], out[:1])
    assert not mid.detach().memory.requires_grad
    with pytest.raises(ValueError, match="input"):
        m(torch.randn(4, 9, 2))


def test_gradcheck_float64():
    torch.manual_seed(2)
    m = DNC(2, 4, memory_size=3, word_size=2, read_heads=2).double()
    x = torch.randn(2, 4, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda inp: m(inp)[0], (x,))
    names = [n for n, _ in m.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_() for p in m.parameters())

    def f(*ps):
        return torch.func.functional_call(m, dict(zip(names, ps)), (x.detach(),))[0]

    assert torch.autograd.gradcheck(f, params, fast_mode=True)
    # the gradient reaches the first input through the memory, not only through the controller state
    out, _ = m(x)
    (g,) = torch.autograd.grad(out[:, -1].sum(), x)
    assert g[:, 0].abs().sum() > 0


def test_round_trip_predicts_identically():
    torch.manual_seed(3)
    m = DNC(3, 8, 4, 4, 1)
    x = torch.randn(2, 5, 3)
    buf = io.BytesIO()
    torch.save(m, buf)
    buf.seek(0)
    again = torch.load(buf, weights_only=False)
    torch.testing.assert_close(again(x)[0], m(x)[0], rtol=0, atol=0)


def test_learns_a_small_copy_task():
    torch.manual_seed(0)
    bits, hidden = 4, 32
    core = DNC(bits + 1, hidden, memory_size=8, word_size=8, read_heads=1)
    head = nn.Linear(hidden, bits)
    params = list(core.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=1e-2)
    g = torch.Generator().manual_seed(0)

    def bit_errors():
        with torch.no_grad():
            x, y, out = copy_task(torch.Generator().manual_seed(99), 200, 3, bits)
            pred = (head(core(x)[0]) > 0).float()
            return float((pred[:, out] != y[:, out]).sum() / 200)

    before = bit_errors()
    for _ in range(400):
        x, y, out = copy_task(g, 16, int(torch.randint(1, 4, (1,), generator=g)), bits)
        loss = nn.functional.binary_cross_entropy_with_logits(head(core(x)[0])[:, out], y[:, out])
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 10.0)
        opt.step()
    after = bit_errors()
    assert before > 4.0  # about chance: 6 of 12 bits wrong
    assert after < 0.4 * before, (before, after)


def test_equivariant_to_a_permutation_of_memory_slots(monkeypatch):
    """Breaking allocation ties in another slot order (as CUDA's sort may) only permutes the slots: same outputs."""
    import tsrnn.nn.dnc as dnc

    torch.manual_seed(4)
    m = DNC(3, 8, memory_size=6, word_size=4, read_heads=2).double()
    x = torch.randn(3, 8, 3, dtype=torch.float64)
    out, state = m(x)
    perm = torch.tensor([3, 0, 5, 1, 4, 2])
    original = dnc.allocation_weights
    monkeypatch.setattr(dnc, "allocation_weights", lambda u: original(u[:, perm])[:, torch.argsort(perm)])
    out2, state2 = m(x)
    torch.testing.assert_close(out2, out)
    assert (state2.link - state.link).abs().max() > 1e-3  # the slots really were used in another order
    torch.testing.assert_close(state2.link.flatten(1).sort(-1).values, state.link.flatten(1).sort(-1).values)
