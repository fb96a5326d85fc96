"""Attention: weights are a distribution that respects masks, each score function matches its formula (and
torch's own scaled-dot-product attention), and a learned attention finds the position a copy task needs."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tsrnn.nn import Attention

KINDS = ["dot", "scaled_dot", "general", "additive"]


def _inputs(B=3, T=2, S=5, d=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, T, d, generator=g), torch.randn(B, S, d, generator=g)


@pytest.mark.parametrize("kind", KINDS)
def test_weights_are_a_distribution_and_shapes(kind):
    torch.manual_seed(0)
    att = Attention(4, kind=kind)
    q, k = _inputs()
    ctx, w = att(q, k)
    assert ctx.shape == (3, 2, 4) and w.shape == (3, 2, 5)
    assert torch.allclose(w.sum(-1), torch.ones(3, 2), atol=1e-6)
    assert (w >= 0).all()
    ctx1, w1 = att(q[:, 0], k)  # a single query step
    assert ctx1.shape == (3, 4) and w1.shape == (3, 5)
    assert torch.allclose(w1, w[:, 0], atol=1e-6)
    assert torch.allclose(ctx, torch.einsum("bts,bsd->btd", w, k), atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_mask_zero_weight_and_equals_truncated_keys(kind):
    torch.manual_seed(0)
    att = Attention(4, kind=kind)
    q, k = _inputs()
    lengths = torch.tensor([5, 3, 1])
    mask = torch.arange(5)[None, :] < lengths[:, None]
    ctx, w = att(q, k, mask)
    assert torch.allclose(w.sum(-1), torch.ones(3, 2), atol=1e-6)
    assert (w[~mask[:, None, :].expand_as(w)] == 0).all()
    for b, n in enumerate(lengths.tolist()):  # padding does not change the answer
        cb, wb = att(q[b:b + 1], k[b:b + 1, :n])
        assert torch.allclose(wb[0], w[b, :, :n], atol=1e-6)
        assert torch.allclose(cb[0], ctx[b], atol=1e-6)
    # no gradient reaches the padded keys
    k2 = k.clone().requires_grad_(True)
    ctx2, _ = att(q, k2, mask)
    ctx2.sum().backward()
    assert (k2.grad[~mask] == 0).all()


def test_all_masked_row_gives_zero_weights():
    att = Attention(4, kind="dot")
    q, k = _inputs(B=2, T=1)
    mask = torch.tensor([[True] * 5, [False] * 5])
    ctx, w = att(q, k, mask)
    assert torch.isfinite(w).all() and (w[1] == 0).all() and (ctx[1] == 0).all()
    assert torch.allclose(w[0].sum(), torch.tensor(1.0))


def test_scaled_dot_is_dot_over_sqrt_d():
    q, k = _inputs(d=16)
    dot, sdot = Attention(16, kind="dot"), Attention(16, kind="scaled_dot")
    assert torch.allclose(sdot.score(q, k), dot.score(q, k) / math.sqrt(16), atol=1e-6)
    _, w = sdot(q, k)
    assert torch.allclose(w, torch.softmax(dot.score(q, k) / 4.0, -1), atol=1e-6)


def test_scaled_dot_matches_torch_sdpa_with_mask():
    q, k = _inputs(d=8)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 0, 1, 0, 1]], dtype=torch.bool)
    ctx, _ = Attention(8, kind="scaled_dot")(q, k, mask)
    ref = F.scaled_dot_product_attention(q, k, k, attn_mask=mask[:, None, :])
    assert torch.allclose(ctx, ref, atol=1e-5)


def test_general_and_additive_match_their_formulas():
    torch.manual_seed(1)
    q, k = _inputs(B=2, T=3, S=4, d=5)
    k6 = torch.randn(2, 4, 6)
    gen = Attention(5, key_size=6, kind="general")
    W = gen.W_a.weight.detach().numpy()  # (5, 6)
    ref = np.einsum("btq,qk,bsk->bts", q.numpy(), W, k6.numpy())
    assert np.allclose(gen.score(q, k6).detach().numpy(), ref, atol=1e-5)
    add = Attention(5, key_size=6, kind="additive", attn_size=7)
    Wq, Wk, bk = add.W_q.weight.detach().numpy(), add.W_k.weight.detach().numpy(), add.W_k.bias.detach().numpy()
    v = add.v_a.weight.detach().numpy()[0]
    qn, kn = q.numpy(), k6.numpy()
    ref = np.empty((2, 3, 4))
    for b in range(2):
        for t in range(3):
            for s in range(4):
                ref[b, t, s] = v @ np.tanh(Wq @ qn[b, t] + Wk @ kn[b, s] + bk)
    assert np.allclose(add.score(q, k6).detach().numpy(), ref, atol=1e-5)
    ctx, w = add(q, k6)
    e = np.exp(ref - ref.max(-1, keepdims=True))
    assert np.allclose(w.detach().numpy(), e / e.sum(-1, keepdims=True), atol=1e-5)


def test_attentional_vector():
    att = Attention(4, key_size=3, kind="general", output_size=2)
    c, h = torch.randn(5, 3), torch.randn(5, 4)
    a = att.attentional(c, h)
    Wc = att.W_c.weight.detach()
    assert a.shape == (5, 2)
    assert torch.allclose(a, torch.tanh(torch.cat([c, h], -1) @ Wc.T), atol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="kind"):
        Attention(4, kind="cosine")
    with pytest.raises(ValueError, match="query_size == key_size"):
        Attention(4, key_size=3, kind="dot")


@pytest.mark.parametrize("kind", KINDS)
def test_learned_attention_finds_the_copied_position(kind):
    """Output step t copies input x_{perm(t)}: the query of step t is learned, the keys carry the value and the
    position; the trained attention must put > 0.8 of its weight on perm(t)."""
    torch.manual_seed(0)
    S, T, d = 8, 8, 16
    perm = torch.tensor([7, 6, 5, 4, 3, 2, 1, 0])

    class Copy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.pos = torch.nn.Parameter(torch.randn(S, d) * 0.5)
            self.val = torch.nn.Linear(1, d)
            self.query = torch.nn.Parameter(torch.randn(T, d) * 0.5)
            self.att = Attention(d, kind=kind)
            self.out = torch.nn.Linear(d, 1)

        def forward(self, x):
            keys = self.val(x[..., None]) + self.pos
            ctx, w = self.att(self.query.expand(x.shape[0], T, d), keys)
            return self.out(ctx).squeeze(-1), w

    model = Copy()
    opt = torch.optim.Adam(model.parameters(), lr=0.03)
    g = torch.Generator().manual_seed(0)
    for _ in range(300):
        x = torch.randn(64, S, generator=g)
        pred, _ = model(x)
        loss = F.mse_loss(pred, x[:, perm])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        x = torch.randn(256, S, generator=g)
        _, w = model(x)
    on_target = w[:, torch.arange(T), perm]  # (256, T)
    assert on_target.mean() > 0.8, on_target.mean(0)
