"""RNNClassifier / RNNTagger: scikit-learn classifier behaviour, pooling equal to the recurrent layer's own final
states, class weights as scikit-learn computes them, learning tasks that need memory, persistence."""

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.utils.class_weight import compute_class_weight

from tsrnn.classification import RNNClassifier, RNNTagger


def _spike_task(n, L, rng):
    """Class 1: a spike in the first half; class 0: in the second half (the label is far from the end)."""
    X = rng.normal(0, 0.3, (n, L))
    y = rng.integers(0, 2, n)
    pos = np.where(y == 1, rng.integers(0, L // 2, n), rng.integers(L // 2, L, n))
    X[np.arange(n), pos] += 4.0
    return X, y


def test_sklearn_classifier_contract(rng):
    X, t = rng.normal(size=(20, 30)), np.repeat([0, 1], 10)
    c = RNNClassifier(random_state=0)
    assert is_classifier(c) and clone(c).get_params() == c.get_params()
    with pytest.raises(NotFittedError):
        c.predict(X)
    assert c.fit(X, t) is c
    P = c.predict_proba(X)
    assert c.predict(X).shape == (20,) and P.shape == (20, 2) and np.allclose(P.sum(1), 1)
    labels = np.where(t == 1, "abnormal", "normal")
    c2 = RNNClassifier(random_state=0, max_epochs=3).fit(X[:, :, None], labels)
    assert list(c2.classes_) == ["abnormal", "normal"] and set(c2.predict(X)) <= {"abnormal", "normal"}


def test_bidirectional_last_pooling_uses_the_final_states(rng):
    X = rng.normal(size=(6, 12, 2))
    c = RNNClassifier(cell="gru", hidden_size=5, num_layers=2, bidirectional=True, max_epochs=2,
                      random_state=0).fit(X, np.arange(6) % 3)
    net = c.module_
    xs = torch.from_numpy(((X - c.mean_) / c.std_).astype(np.float32))
    with torch.no_grad():
        _, h_n = net.rnn(xs)  # (num_layers * 2, B, H): forward after t=T, backward after t=1 of the last layer
        ref = torch.softmax(net.head(torch.cat([h_n[-2], h_n[-1]], -1)), -1).double().numpy()
    assert np.allclose(c.predict_proba(X), ref, atol=1e-6)
    # and the same against torch's own GRU holding the same weights
    gru = torch.nn.GRU(2, 5, 2, batch_first=True, bidirectional=True)
    gru.load_state_dict(net.rnn.fused.state_dict())
    with torch.no_grad():
        _, h2 = gru(xs)
    assert torch.allclose(h2, h_n, atol=1e-6)


def test_mean_and_attention_pooling(rng):
    X = rng.normal(size=(8, 10))
    y = np.arange(8) % 2
    m = RNNClassifier(pooling="mean", max_epochs=2, random_state=0).fit(X, y)
    xs = torch.from_numpy(((X[:, :, None] - m.mean_) / m.std_).astype(np.float32))
    with torch.no_grad():
        out, _ = m.module_.rnn(xs)
        ref = torch.softmax(m.module_.head(out.mean(1)), -1).numpy()
    assert np.allclose(m.predict_proba(X), ref, atol=1e-6)
    a = RNNClassifier(pooling="attention", bidirectional=True, max_epochs=2, random_state=0).fit(X, y)
    w = a.attention_weights(X)
    assert w.shape == (8, 10) and np.allclose(w.sum(1), 1)
    with pytest.raises(ValueError, match="attention"):
        m.attention_weights(X)


@pytest.mark.parametrize("kw", [{"cell": "gru"}, {"cell": "lstm", "pooling": "attention", "bidirectional": True}])
def test_learns_a_task_that_needs_memory(rng, kw):
    X, y = _spike_task(300, 30, rng)
    Xt, yt = _spike_task(200, 30, rng)
    c = RNNClassifier(hidden_size=16, max_epochs=25, random_state=0, **kw).fit(X, y)
    assert c.score(Xt, yt) > 0.9


def test_balanced_class_weight(rng):
    c = RNNClassifier(class_weight="balanced", max_epochs=1, random_state=0)
    y = np.array([0] * 18 + [1] * 2)
    c.fit(rng.normal(size=(20, 5)), y)
    w = c._class_weights(y)
    assert np.allclose(w.numpy(), compute_class_weight("balanced", classes=np.array([0, 1]), y=y))
    assert np.allclose(w.numpy(), [20 / (2 * 18), 20 / (2 * 2)])
    d = RNNClassifier(class_weight={1: 5.0}, max_epochs=1).fit(rng.normal(size=(20, 5)), y)
    assert np.allclose(d._class_weights(y).numpy(), [1.0, 5.0])
    with pytest.raises(ValueError, match="class_weight"):
        RNNClassifier(class_weight="auto", max_epochs=1).fit(rng.normal(size=(20, 5)), y)


def test_balanced_weights_raise_minority_recall(rng):
    """Overlapping classes, 9:1: weighting the rare class trades majority recall for minority recall."""
    def data(n):
        y = (rng.random(n) < 0.1).astype(int)
        return rng.normal(0, 1, (n, 8)) + 0.8 * y[:, None], y

    X, y = data(600)
    Xt, yt = data(1000)
    recall = {}
    for cw in (None, "balanced"):
        c = RNNClassifier(hidden_size=8, max_epochs=15, class_weight=cw, random_state=0).fit(X, y)
        recall[cw] = np.mean(c.predict(Xt)[yt == 1] == 1)
    assert recall["balanced"] > recall[None] + 0.2, recall


def test_tagger_labels_each_step(rng):
    """Label of step t is whether x_{t-2} > 0: needs a memory of two steps."""
    def data(n):
        X = rng.normal(size=(n, 20))
        y = np.zeros((n, 20), int)
        y[:, 2:] = X[:, :-2] > 0
        return X, y

    X, y = data(300)
    Xt, yt = data(100)
    tg = RNNTagger(hidden_size=16, max_epochs=30, random_state=0).fit(X, y)
    assert tg.predict(Xt).shape == (100, 20) and tg.predict_proba(Xt).shape == (100, 20, 2)
    assert tg.score(Xt[:, 2:], yt[:, 2:]) < 1.0  # the tagger runs on any length
    assert np.mean(tg.predict(Xt)[:, 2:] == yt[:, 2:]) > 0.95
    with pytest.raises(ValueError, match="shape"):
        RNNTagger(max_epochs=1).fit(X, y[:, 0])


def test_reproducible_and_joblib_round_trip(tmp_path, rng):
    X, y = _spike_task(40, 12, rng)
    a = RNNClassifier(max_epochs=3, random_state=4, dropout=0.2, num_layers=2).fit(X, y)
    b = RNNClassifier(max_epochs=3, random_state=4, dropout=0.2, num_layers=2).fit(X, y)
    assert np.array_equal(a.predict_proba(X), b.predict_proba(X))
    joblib.dump(a, tmp_path / "c.joblib")
    assert np.array_equal(joblib.load(tmp_path / "c.joblib").predict_proba(X), a.predict_proba(X))


def test_input_errors(rng):
    c = RNNClassifier(max_epochs=1).fit(rng.normal(size=(10, 6, 2)), np.arange(10) % 2)
    with pytest.raises(ValueError, match="channels"):
        c.predict(rng.normal(size=(3, 6, 3)))
    with pytest.raises(ValueError):
        c.predict(np.full((3, 6, 2), np.nan))
    with pytest.raises(ValueError, match="pooling"):
        RNNClassifier(pooling="max").fit(rng.normal(size=(10, 6)), np.arange(10) % 2)
    with pytest.raises(ValueError, match="shape"):
        RNNClassifier(max_epochs=1).fit(rng.normal(size=(10, 6)), np.arange(9) % 2)


# ----------------------------------------------------------------------------------------------- the ecg suite
@pytest.mark.data
def test_ecg_suite_runs_and_writes_its_report(mirror, tmp_path):
    from tsrnn.suites.ecg import load_task, run

    res = run(models=["Wavelet+LogReg"], tasks=("ecg200",), out=tmp_path, quick=True, progress=False)
    lb = res.leaderboard()
    assert list(lb["model"]) == ["Wavelet+LogReg"]
    assert {"accuracy", "macro_f1", "recall_normal", "recall_MI"} <= set(lb.columns)
    d = load_task("ecg200")
    assert d["X_train"].shape == (100, 96, 2) and d["X_test"].shape == (100, 96, 2)
    assert (d["y_test"] == "MI").sum() == 36  # the archive's test split: 64 normal, 36 MI
    cm = res.confusion[("ecg200", "Wavelet+LogReg")].to_numpy()
    assert cm.sum() == 100 and lb["accuracy"].iloc[0] == pytest.approx(np.trace(cm) / 100)
    md = (tmp_path / "ecg.md").read_text()
    assert "Leaderboard: ecg200" in md and (tmp_path / "ecg_ecg200_confusion.png").exists()


@pytest.mark.data
@pytest.mark.slow
def test_mitbih_task_records_are_disjoint_and_counts_match_physionet(mirror):
    from tsrnn.suites.ecg import TEST_RECORDS, TRAIN_RECORDS, load_task

    assert not set(TRAIN_RECORDS) & set(TEST_RECORDS)
    d = load_task("mitbih", max_normal=None)
    y = d["y_test"]
    # PhysioNet's beat counts of records 200 + 221: V 826 + 396, A 30, F 2, N 1743 + 2031 (edge beats dropped)
    assert (y == "V").sum() == 1222 and (y == "S").sum() == 30 and (y == "F").sum() == 2
    assert 3765 <= (y == "N").sum() <= 3774
    assert d["X_train"].shape[1:] == (63, 5) and np.isfinite(d["X_train"]).all()


def test_default_holds_out_a_stratified_part_and_stops_early_with_the_best_weights(rng):
    # random labels: the validation loss can only get worse once the net starts memorising, so training stops
    X, y = rng.normal(size=(120, 16)), np.tile([0, 0, 1], 40)  # classes 2:1
    c = RNNClassifier(hidden_size=24, lr=2e-2, max_epochs=60, patience=3, random_state=0).fit(X, y)
    h = c.history_
    assert h.stopped_early and h.n_epochs < 60
    assert h.best_epoch == int(np.argmin(h.valid_loss)) and h.n_epochs == h.best_epoch + 3 + 1
    # the held-out part: 10 % of the rows, stratified (8 of class 0, 4 of class 1), and the fitted weights are the
    # best epoch's: their loss on it equals the recorded best validation loss
    from tsrnn.nn.training import seed_from

    Xs = c._as_3d(X, fit=False)
    (_, _), (Xv, yv) = c._split(Xs, y, seed_from(0), 0.1)
    assert len(yv) == 12 and np.bincount(yv).tolist() == [8, 4]
    P = c.predict_proba(Xv[:, :, 0] * c.std_ + c.mean_)
    assert -np.mean(np.log(P[np.arange(12), yv])) == pytest.approx(h.valid_loss[h.best_epoch], rel=1e-4)


def test_validation_off_trains_every_epoch(rng):
    X, y = _spike_task(40, 12, rng)
    c = RNNClassifier(hidden_size=6, max_epochs=4, validation_size=None, random_state=0).fit(X, y)
    assert c.history_.n_epochs == 4 and c.history_.valid_loss == [] and not c.history_.stopped_early


def test_default_early_stopping_keeps_accuracy_on_a_memory_task(rng):
    X, y = _spike_task(300, 24, rng)
    Xt, yt = _spike_task(200, 24, rng)
    c = RNNClassifier(hidden_size=16, random_state=0).fit(X, y)  # default validation split and patience
    assert len(c.history_.valid_loss) == c.history_.n_epochs  # validated every epoch on the held-out part
    assert c.score(Xt, yt) > 0.95


@pytest.mark.parametrize("cls", [RNNClassifier, RNNTagger])
def test_n_threads_only_inside_fit_and_predict(rng, cls, thread_spy):
    from tsrnn.classification.rnn import SequenceNet

    thread_spy.watch(SequenceNet)
    X = rng.normal(size=(20, 8))
    y = (X > 0).astype(int) if cls is RNNTagger else np.repeat([0, 1], 10)
    c = cls(hidden_size=4, max_epochs=2, n_threads=thread_spy.target, random_state=0).fit(X, y)
    thread_spy.check()
    c.predict(X)
    thread_spy.check()
    with pytest.raises(ValueError, match=f"{cls.__name__}: n_threads"):
        cls(n_threads=0).fit(X, y)
