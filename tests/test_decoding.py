"""Decoding strategies against brute force on small known models and hand-made distributions."""

import itertools
import math

import numpy as np
import pytest
import torch

from tsrnn.nn import beam_search, greedy, sample
from tsrnn.nn.decoding import map_state, top_k_top_p_filter

V, L = 3, 5


class TinyRNN(torch.nn.Module):
    """A random GRU language model: not Markov, so greedy is not optimal in general."""

    def __init__(self, seed=0, vocab=V, hidden=6, scale=2.0):
        super().__init__()
        torch.manual_seed(seed)
        self.emb = torch.nn.Embedding(vocab, hidden)
        self.cell = torch.nn.GRUCell(hidden, hidden)
        self.out = torch.nn.Linear(hidden, vocab)
        with torch.no_grad():
            self.out.weight.mul_(scale)

    def step(self, tok, h):
        h = self.cell(self.emb(tok), h)
        return self.out(h), h

    def log_prob(self, seq, h0, eos=None):
        """log p(seq) scoring tokens up to and including the first eos; and that length."""
        tok, h, lp, n = torch.tensor([0]), h0, 0.0, 0
        for t in seq:
            logits, h = self.step(tok, h)
            lp += torch.log_softmax(logits, -1)[0, t].item()
            n += 1
            tok = torch.tensor([t])
            if eos is not None and t == eos:
                break
        return lp, n


def _h0(n, seed=1):
    return torch.randn(n, 6, generator=torch.Generator().manual_seed(seed))


def test_greedy_is_stepwise_argmax_and_log_prob():
    m = TinyRNN()
    h0 = _h0(2)
    toks, lp = greedy(m.step, h0, [0, 0], L)
    assert toks.shape == (2, L)
    for b in range(2):
        tok, h, ref = torch.tensor([0]), h0[b:b + 1], []
        for _ in range(L):
            logits, h = m.step(tok, h)
            tok = logits.argmax(-1)
            ref.append(tok.item())
        assert toks[b].tolist() == ref
        assert lp[b].item() == pytest.approx(m.log_prob(ref, h0[b:b + 1])[0], abs=1e-5)


def test_top_k_1_and_zero_temperature_equal_greedy():
    m = TinyRNN()
    h0 = _h0(4)
    ref, ref_lp = greedy(m.step, h0, [0] * 4, L)
    g = torch.Generator().manual_seed(0)
    for kw in ({"top_k": 1}, {"temperature": 0.0}, {"temperature": 1e-4}, {"top_p": 1e-9}):
        toks, lp = sample(m.step, h0, [0] * 4, L, generator=g, **kw)
        assert torch.equal(toks, ref), kw
        assert torch.allclose(lp, ref_lp, atol=1e-5)


def test_top_p_boundary_mass_exactly_p_stops_the_nucleus():
    """Mass exactly ``p`` is enough (``>= p``): with four equally likely tokens (probabilities exactly 1/4), the
    nucleus of 0.5 is two tokens, of 0.75 three, of 0.25 one: a token whose more likely tokens already hold
    mass ``p`` is dropped."""
    logits = torch.zeros(1, 4, dtype=torch.float64)
    for p, n_kept in ((0.25, 1), (0.5, 2), (0.75, 3), (1.0, 4)):
        assert int(torch.isfinite(top_k_top_p_filter(logits.clone(), top_p=p)).sum()) == n_kept, p


def test_top_p_keeps_smallest_set_with_mass_at_least_p():
    probs = torch.tensor([0.15, 0.5, 0.05, 0.2, 0.1])  # sorted: 0.5 (1), 0.2 (3), 0.15 (0), 0.1 (4), 0.05 (2)
    logits = probs.log()[None]
    kept = lambda p: set(torch.isfinite(top_k_top_p_filter(logits, top_p=p))[0].nonzero().flatten().tolist())  # noqa: E731
    assert kept(0.4) == {1}
    assert kept(0.65) == {1, 3}
    assert kept(0.72) == {1, 3, 0}
    assert kept(0.9) == {1, 3, 0, 4}
    assert kept(0.99) == {0, 1, 2, 3, 4}
    assert kept(1.0) == {0, 1, 2, 3, 4}
    both = top_k_top_p_filter(logits, top_k=2, top_p=0.99)
    assert set(torch.isfinite(both)[0].nonzero().flatten().tolist()) == {1, 3}
    with pytest.raises(ValueError):
        top_k_top_p_filter(logits, top_p=0.0)
    with pytest.raises(ValueError):
        top_k_top_p_filter(logits, top_k=0)


def test_sampling_frequencies_follow_filtered_tempered_distribution():
    probs = torch.tensor([0.15, 0.5, 0.05, 0.2, 0.1])
    logits = probs.log()

    def step(tok, state):
        return logits.expand(tok.shape[0], -1), state

    n = 20000
    g = torch.Generator().manual_seed(0)
    toks, lp = sample(step, None, torch.zeros(n), 1, top_p=0.65, generator=g)
    freq = np.bincount(toks[:, 0].numpy(), minlength=5) / n
    assert np.allclose(freq, [0, 0.5 / 0.7, 0, 0.2 / 0.7, 0], atol=0.015)
    assert torch.allclose(lp, probs.log()[toks[:, 0]])  # log-prob under the unfiltered model
    toks, _ = sample(step, None, torch.zeros(n), 1, temperature=2.0, generator=g)
    ref = probs ** 0.5 / (probs ** 0.5).sum()
    assert np.allclose(np.bincount(toks[:, 0].numpy(), minlength=5) / n, ref.numpy(), atol=0.015)


def test_sample_is_reproducible_with_a_seeded_generator():
    m = TinyRNN()
    h0 = _h0(8)
    a = sample(m.step, h0, [0] * 8, L, generator=torch.Generator().manual_seed(3))[0]
    b = sample(m.step, h0, [0] * 8, L, generator=torch.Generator().manual_seed(3))[0]
    assert torch.equal(a, b)


def test_beam_width_1_equals_greedy():
    m = TinyRNN()
    h0 = _h0(3)
    g_tok, g_lp = greedy(m.step, h0, [0] * 3, L)
    b_tok, b_lp = beam_search(m.step, h0, [0] * 3, L, beam_width=1)
    assert torch.equal(g_tok, b_tok)
    assert torch.allclose(g_lp, b_lp, atol=1e-5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_wide_beam_finds_the_brute_force_best(seed):
    m = TinyRNN(seed=seed, scale=3.0)
    h0 = _h0(2, seed=seed + 10)
    toks, scores = beam_search(m.step, h0, [0, 0], L, beam_width=V ** (L - 1))
    for b in range(2):
        all_lp = {s: m.log_prob(s, h0[b:b + 1])[0] for s in itertools.product(range(V), repeat=L)}
        best = max(all_lp, key=all_lp.get)
        assert tuple(toks[b].tolist()) == best
        assert scores[b].item() == pytest.approx(all_lp[best], abs=1e-4)


def test_beam_beats_greedy_on_a_garden_path():
    """p(a)=0.6, p(b)=0.4; after a the next token is uniform, after b it is 0.9 sure: the best path is b, c."""
    table = torch.log(torch.tensor([
        [0.6, 0.4, 0.0, 0.0],      # first step (the state flag says so)
        [1 / 3, 1 / 3, 1 / 3, 0],  # after a (token 0)
        [0.05, 0.05, 0.9, 0.0],    # after b (token 1)
        [0.25, 0.25, 0.25, 0.25],  # after c, d
    ]) + 1e-12)

    def step(tok, first):
        rows = torch.where(first, torch.zeros_like(tok), tok + 1)
        return table[rows.clamp(max=3)], torch.zeros_like(first)

    first = torch.ones(1, dtype=torch.bool)
    g, g_lp = greedy(step, first, [0], 2)
    b, b_lp = beam_search(step, first, [0], 2, beam_width=2)
    assert g[0].tolist()[0] == 0 and math.exp(g_lp.item()) == pytest.approx(0.2, abs=1e-6)
    assert b[0].tolist() == [1, 2] and math.exp(b_lp.item()) == pytest.approx(0.36, abs=1e-6)


def _brute_force_eos(m, h0, eos, alpha):
    best, best_score = None, -np.inf
    for s in itertools.product(range(V), repeat=L):
        if eos in s:  # canonical form: eos padding after the first eos
            i = s.index(eos)
            if any(t != eos for t in s[i:]):
                continue
        lp, n = m.log_prob(s, h0, eos=eos)
        score = lp / ((5 + n) / 6) ** alpha
        if score > best_score:
            best, best_score = s, score
    return best, best_score


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_beam_with_eos_and_length_penalty_matches_brute_force(alpha):
    m = TinyRNN(seed=4, scale=3.0)
    for b in range(3):
        h0 = _h0(3, seed=20)[b:b + 1]
        toks, score = beam_search(m.step, h0, [0], L, beam_width=V ** (L - 1), eos=2, length_penalty=alpha)
        best, best_score = _brute_force_eos(m, h0, 2, alpha)
        assert tuple(toks[0].tolist()) == best
        assert score.item() == pytest.approx(best_score, abs=1e-4)


def test_eos_padding_and_frozen_log_prob():
    m = TinyRNN(seed=5)
    h0 = _h0(16)
    toks, lp = sample(m.step, h0, [0] * 16, 8, eos=2, generator=torch.Generator().manual_seed(0))
    for b in range(16):
        s = toks[b].tolist()
        if 2 in s:
            assert all(t == 2 for t in s[s.index(2):])
        assert lp[b].item() == pytest.approx(m.log_prob(s, h0[b:b + 1], eos=2)[0], abs=1e-4)


def test_beam_batch_equals_one_at_a_time_and_return_all():
    m = TinyRNN(seed=6)
    h0 = _h0(3)
    toks, sc = beam_search(m.step, h0, [0, 1, 2], L, beam_width=3)
    for b in range(3):
        t1, s1 = beam_search(m.step, h0[b:b + 1], [b], L, beam_width=3)
        assert torch.equal(t1[0], toks[b]) and torch.allclose(s1[0], sc[b])
    allt, alls = beam_search(m.step, h0, [0, 1, 2], L, beam_width=3, return_all=True)
    assert allt.shape == (3, 3, L) and alls.shape == (3, 3)
    assert (alls[:, :-1] >= alls[:, 1:]).all()
    assert torch.equal(allt[:, 0], toks)


def test_map_state_nested():
    st = {"h": torch.ones(2, 3), "c": (torch.zeros(2), 5)}
    out = map_state(st, lambda t: t.repeat_interleave(2, 0))
    assert out["h"].shape == (4, 3) and out["c"][0].shape == (4,) and out["c"][1] == 5
