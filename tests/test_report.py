"""HTML / Markdown reports: the page holds the result's numbers, the rank statistics match the formulas."""

import base64
import io
import re
from html.parser import HTMLParser

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402
from scipy import stats  # noqa: E402

from tsrnn.report.html import (  # noqa: E402
    friedman_nemenyi,
    horizon_errors,
    render_backtest,
    render_detectors,
    render_html,
    render_markdown,
)


class _Tables(HTMLParser):
    """Cells of every table by id: ``{id: [[{text, attrs}]]}``, plus the ``<img>`` sources."""

    def __init__(self):
        super().__init__()
        self.tables, self.imgs, self._id, self._row, self._cell = {}, [], None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._id = a.get("id") or f"t{len(self.tables)}"
            self.tables[self._id] = []
        elif tag == "tr" and self._id is not None:
            self._row = []
            self.tables[self._id].append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = {"text": "", "attrs": a}
            self._row.append(self._cell)
        elif tag == "img":
            self.imgs.append(a)

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._cell = None
        elif tag == "table":
            self._id = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data


def _parse(path):
    p = _Tables()
    p.feed(path.read_text(encoding="utf-8"))
    return p


@pytest.fixture(scope="module")
def result():
    from tsrnn.backtest import backtest
    from tsrnn.datasets import make_sales
    from tsrnn.models import Drift, Mean, Naive, Naive2, SeasonalNaive

    df = make_sales(n_series=5, length=100, seed=3)
    models = {"Naive": Naive(), "SNaive": SeasonalNaive(season_length=7), "Mean": Mean(), "Drift": Drift(),
              "Naive2": Naive2(season_length=7)}
    return backtest(models, df, h=5, n_windows=3, level=[80], season_length=7, progress=False)


@pytest.fixture(scope="module")
def page(result, tmp_path_factory):
    return render_backtest(result, tmp_path_factory.mktemp("rep") / "report.html")


def test_leaderboard_in_the_page_equals_the_result(result, page):
    lb = result.leaderboard()
    rows = _parse(page).tables["leaderboard"]
    head = [c["text"] for c in rows[0]]
    assert head == ["#", "model", *map(str, lb.columns)]
    body = rows[1:]
    assert [r[1]["text"] for r in body] == list(lb.index)
    assert [int(r[0]["text"]) for r in body] == list(range(1, len(lb) + 1))
    for r, (_, expect) in zip(body, lb.iterrows()):
        for cell, col in zip(r[2:], lb.columns):
            assert cell["attrs"]["data-column"] == str(col)
            assert float(cell["attrs"]["data-value"]) == pytest.approx(expect[col], rel=1e-12, abs=0)
            assert float(cell["text"]) == pytest.approx(expect[col], rel=5e-4, abs=1e-12)


def test_the_best_of_each_column_is_marked(result, page):
    lb = result.leaderboard()
    rows = _parse(page).tables["leaderboard"][1:]
    for j, col in enumerate(lb.columns):
        marked = {r[1]["text"] for r in rows if "best" in r[j + 2]["attrs"].get("class", "")}
        x = lb[col].astype(float)
        if col == "coverage-80":
            d = (x - 0.8).abs()
            expect = set(d.index[d == d.min()])
        else:  # every other column of a backtest leaderboard: lower is better
            expect = set(x.index[x == x.min()])
        assert marked == expect, col


def test_page_is_self_contained_and_every_image_is_a_png(page):
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)
    assert "<script" not in text
    p = _parse(page)
    assert len(p.imgs) >= 5  # ranks, horizon, 2 forecast plots, timings
    for img in p.imgs:
        assert img["src"].startswith("data:image/png;base64,")
        im = Image.open(io.BytesIO(base64.b64decode(img["src"].split(",", 1)[1])))
        assert im.format == "PNG" and im.size == (int(img["width"]), int(img["height"]))
    for part in ("Summary", "Forecasting", "Failures"):
        assert f">{part}</h2>" in text
    for section in ("Leaderboard", "Forecasts", "Prediction intervals", "Error by horizon", "Ranks", "Timings"):
        assert f">{section}</h3>" in text
    assert "<summary>Run settings and environment</summary>" in text  # collapsed, and last
    assert text.index("Summary</h2>") < text.index("Leaderboard</h3>") < text.index("Forecasts</h3>")
    assert text.index("Failures</h2>") < text.index("<summary>Run settings and environment")
    assert "Friedman" in text and "No failures." in text


def test_metadata_holds_settings_and_versions(result, page):
    meta = {r[0]["text"]: r[1]["text"] for r in _parse(page).tables["meta"][1:]}
    assert meta["settings: n_windows"] == "3" and meta["data: h"] == "5"
    assert meta["environment: numpy"] == np.__version__ and meta["environment: pandas"] == pd.__version__
    assert meta["models: models"] == ", ".join(result.models)


def test_friedman_nemenyi_match_the_formulas():
    rng = np.random.default_rng(0)
    k, n = 4, 30
    wide = pd.DataFrame(rng.normal(size=(n, k)) + np.array([0.0, 0.3, 0.6, 1.5]), columns=list("abcd"))
    fn = friedman_nemenyi(wide)
    chi2, p = stats.friedmanchisquare(*wide.T.to_numpy())
    assert fn["statistic"] == pytest.approx(chi2) and fn["pvalue"] == pytest.approx(p)
    R = wide.rank(axis=1).mean()
    pd.testing.assert_series_equal(fn["ranks"], R.sort_values())
    # Demsar (2006), Table 5(a): q_0.05 = 2.569 for k = 4; CD = q sqrt(k (k + 1) / (6 N))
    assert fn["cd"] == pytest.approx(2.569 * np.sqrt(k * (k + 1) / (6 * n)), rel=1e-3)
    se = np.sqrt(k * (k + 1) / (6 * n))
    for i in "abcd":
        for j in "abcd":
            if i != j:
                q = abs(R[i] - R[j]) / se * np.sqrt(2)
                expect = stats.studentized_range.sf(q, k, np.inf)
                assert fn["pvalues"].loc[i, j] == pytest.approx(expect, rel=1e-3, abs=1e-6)
    higher = friedman_nemenyi(-wide, higher_better=True)
    pd.testing.assert_series_equal(higher["ranks"], fn["ranks"])


def test_horizon_errors_average_to_the_leaderboard(result):
    hz = horizon_errors(result.forecasts, result.models)
    assert sorted(hz["step"].unique()) == [1, 2, 3, 4, 5]
    lb = result.leaderboard()
    for m in result.models:
        g = hz[hz["model"] == m]
        # every window has h steps, so the mean over steps of the per-step MAE is the mean per-window MAE
        assert g["mae"].mean() == pytest.approx(lb.loc[m, "mae"], rel=1e-10)
    f = result.forecasts
    first = f.groupby(["unique_id", "cutoff"]).head(1)
    y, yhat = first["y"].to_numpy(), first["Naive"].to_numpy()
    den = np.abs(y) + np.abs(yhat)
    sm = np.mean(np.divide(200 * np.abs(y - yhat), den, out=np.zeros_like(den), where=den > 0))
    assert hz.query("model == 'Naive' and step == 1")["smape"].item() == pytest.approx(sm)


def test_failures_table_and_markdown(tmp_path):
    from tsrnn.backtest import backtest
    from tsrnn.models import Mean, Naive

    class Broken(Naive):
        def _fit_series(self, y, X):
            if y[0] > 55:
                raise RuntimeError("boom on purpose")
            return super()._fit_series(y, X)

    rng = np.random.default_rng(1)
    df = pd.concat([pd.DataFrame({"unique_id": u, "ds": pd.date_range("2024-01-01", periods=40, freq="D"),
                                  "y": base + rng.normal(size=40)}) for u, base in (("ok", 10.0), ("bad", 60.0))])
    r = backtest({"Broken": Broken(), "Mean": Mean()}, df, h=3, n_windows=2, progress=False, on_error="record")
    assert len(r.errors)
    path = render_html(r, tmp_path / "out")  # a folder: report.html inside
    assert path == tmp_path / "out" / "report.html"
    p = _parse(path)
    fail = p.tables["failures-table"]
    head = [c["text"] for c in fail[0]]
    assert "traceback" not in head
    msgs = [r_[head.index("message")]["text"] for r_ in fail[1:]]
    assert len(msgs) == len(r.errors) and all("boom on purpose" in m for m in msgs)
    assert "<details><summary>Broken / bad" in path.read_text() and "RuntimeError" in path.read_text()
    md = render_markdown(r)
    assert "## Failures" in md and "boom on purpose" in md
    assert md.count("\n| ") >= len(r.models) + 1


def test_markdown_leaderboard_bolds_the_best(result):
    md = render_markdown(result)
    lb = result.leaderboard()
    key = next(m for m in ("owa", "mase", "smape", "mae") if m in lb.columns)  # what the leaderboard sorts by
    best = lb[key].idxmin()
    row = next(line for line in md.splitlines() if line.startswith(f"| 1 | {lb.index[0]} |"))
    assert lb.index[0] == best and f"**{lb.loc[best, key]:.4g}**" in row
    assert "## sMAPE by horizon" in md and "## Timings" in md


def test_to_html_uses_the_full_report(result, tmp_path):
    path = result.to_html(tmp_path / "r.html")
    assert ">Ranks</h3>" in path.read_text()


def test_detector_report(tmp_path):
    from tsrnn.anomaly import RollingZScore, evaluate_detectors

    rng = np.random.default_rng(5)
    frames = []
    for i in range(3):  # 800 rows: the first 120 train, enough for the 80-row window's warm-up
        y = rng.normal(size=800)
        lab = np.zeros(800, int)
        y[450 + 20 * i] += 9
        lab[448 + 20 * i:453 + 20 * i] = 1
        frames.append(pd.DataFrame({"unique_id": f"s{i}", "ds": np.arange(800), "y": y, "label": lab}))
    data = pd.concat(frames, ignore_index=True)
    res = evaluate_detectors({"z20": RollingZScore(window=20), "z40": RollingZScore(window=40),
                              "z80": RollingZScore(window=80)}, data, progress=False)
    path = render_html(res, tmp_path / "det.html", n_series=2)
    p = _parse(path)
    lb = res.leaderboard()
    body = p.tables["leaderboard"][1:]
    assert [r[1]["text"] for r in body] == list(lb.index)
    for r, (_, expect) in zip(body, lb.iterrows()):
        for cell, col in zip(r[2:], lb.columns):
            v = float(cell["attrs"]["data-value"])
            assert (np.isnan(v) and np.isnan(expect[col])) or v == pytest.approx(expect[col], rel=1e-12)
    nab = [r for r in body if "best" in r[2]["attrs"].get("class", "")]
    assert {r[1]["text"] for r in nab} == set(lb.index[lb["nab_standard"] == lb["nab_standard"].max()])
    alts = [i["alt"] for i in p.imgs]
    assert sum(a.startswith("detections on") for a in alts) == 2
    assert render_detectors is not None and "nab_standard" in render_markdown(res)


def test_model_params_and_seeds_are_listed_when_recorded(result, tmp_path):
    import copy

    r = copy.copy(result)
    r.meta = {**result.meta, "model_params": {"Naive": {}, "LSTM": {"hidden_size": 16, "random_state": 7}}}
    meta = {row[0]["text"]: row[1]["text"] for row in _parse(render_backtest(r, tmp_path / "p.html")).tables["meta"][1:]}
    assert meta["models: LSTM params"] == "hidden_size=16, random_state=7"
    assert meta["models: LSTM random_state"] == "7"


# ------------------------------------------------------------------------------------------------ one rank metric
def _hand_ranks(result, metric, nominal=None):
    """Mean rank per model over (series, window) blocks, computed here from the raw scores."""
    sc = result.scores[result.scores["metric"] == metric]
    wide = sc.pivot_table(index=["unique_id", "cutoff"], columns="model", values="value")
    if nominal is not None:
        wide = (wide - nominal).abs()
    return wide.rank(axis=1).mean()


def _caption(path):
    text = path.read_text(encoding="utf-8")
    return re.search(r"rank = mean rank on (\S+) within", text).group(1)


@pytest.mark.parametrize("metric", [None, "smape", "mae"])
def test_caption_rank_column_and_diagram_use_the_sort_metric(result, tmp_path, metric):
    path = render_backtest(result, tmp_path / "r.html", metric=metric)
    lb = result.leaderboard(metric)
    sort_metric = metric or "mase"  # the leaderboard's default with mase in the scores
    assert list(lb[sort_metric]) == sorted(lb[sort_metric])
    assert _caption(path) == sort_metric
    p = _parse(path)
    rows = p.tables["leaderboard"]
    j = [c["text"] for c in rows[0]].index("rank")
    page_rank = {r[1]["text"]: float(r[j]["attrs"]["data-value"]) for r in rows[1:]}
    expect = _hand_ranks(result, sort_metric)
    assert page_rank == pytest.approx(expect.to_dict(), rel=1e-12)
    diagram = {r[0]["text"]: float(r[1]["attrs"]["data-value"]) for r in p.tables["ranks-table"][1:]}
    assert diagram == pytest.approx(expect.to_dict(), rel=1e-12)
    assert f"mean rank on {sort_metric}" in path.read_text()


def test_coverage_is_ranked_by_its_distance_to_the_nominal_level(result, tmp_path):
    path = render_backtest(result, tmp_path / "c.html", metric="coverage-80")
    assert _caption(path) == "coverage-80"
    rows = _parse(path).tables["leaderboard"]
    j = [c["text"] for c in rows[0]].index("rank")
    page_rank = {r[1]["text"]: float(r[j]["attrs"]["data-value"]) for r in rows[1:]}
    expect = _hand_ranks(result, "coverage-80", nominal=0.8)
    assert page_rank == pytest.approx(expect.to_dict(), rel=1e-12)
    # not the ascending ranks of the raw coverage, for which the lowest coverage would win
    assert page_rank != pytest.approx(_hand_ranks(result, "coverage-80").to_dict(), rel=1e-12)


def test_owa_block_losses_follow_m4():
    from tsrnn.report.html import block_losses

    sc = pd.DataFrame({"unique_id": ["a"] * 6, "cutoff": [0] * 6, "model": ["Naive2", "x", "y"] * 2,
                       "metric": ["smape"] * 3 + ["mase"] * 3, "value": [10.0, 5.0, 20.0, 2.0, 3.0, 1.0]})
    w = block_losses(sc, "owa", ["unique_id", "cutoff"])
    assert w.loc[("a", 0)].to_dict() == pytest.approx({"Naive2": 1.0, "x": (0.5 + 1.5) / 2, "y": (2 + 0.5) / 2})
    nab = sc.assign(metric="nab")
    assert (block_losses(nab, "nab", ["unique_id"]).to_numpy() < 0).all()  # higher is better: negated
    cov = sc.assign(metric="coverage-80", value=[0.7, 0.8, 0.95] * 2)
    np.testing.assert_allclose(block_losses(cov, "coverage-80", ["unique_id", "cutoff"]).to_numpy(), [[0.1, 0, 0.15]])


def test_significance_sentence():
    from tsrnn.report.html import _significance

    rng = np.random.default_rng(0)
    strong = pd.DataFrame(rng.normal(size=(40, 4)) * 0.1 + np.array([0.0, 0.05, 3.0, 5.0]), columns=list("abcd"))
    text, fn = _significance(strong, "mase", 0.05)
    assert "are significant" in text and fn["pvalue"] < 1e-6
    assert "a is not significantly better than b." in text  # b is within the CD of a, c and d are not
    # a always first, f always last, b..e rotate: mean ranks 1, 3.5 x 4, 6; CD(k=6, N=8) = 2.67
    many = pd.DataFrame([[0.0, *(1 + np.roll(np.arange(4), i)), 10.0] for i in range(8)], columns=list("abcdef"))
    text, _ = _significance(many, "mase", 0.05)
    assert "a is significantly better only than f; the 4 other models are within the critical difference." in text
    same = pd.DataFrame(rng.normal(size=(40, 3)), columns=list("abc"))
    text, fn = _significance(same, "mase", 0.05)
    assert "not significant" in text and fn["pvalue"] >= 0.05
    assert "Too few" in _significance(strong[["a", "b"]], "mase", 0.05)[0]


# ------------------------------------------------------------------------------------------------ intervals
def test_interval_section_coverage_msis_note_and_negative_share(result, tmp_path):
    path = render_backtest(result, tmp_path / "i.html")
    text = path.read_text(encoding="utf-8")
    assert 'id="intervals"' in text and 'alt="coverage reliability plot"' in text
    assert "MSIS is not in this run" in text  # no msis in the scores: skipped with a note
    tables = _parse(path).tables
    cov = next(t for t in tables.values() if t[0][1]["text"] == "coverage-80")
    lb = result.leaderboard()
    for r in cov[1:]:
        assert float(r[1]["attrs"]["data-value"]) == pytest.approx(lb.loc[r[0]["text"], "coverage-80"], rel=1e-12)
    neg = next(t for t in tables.values() if [c["text"] for c in t[0][:2]] == ["model", "point"])
    f = result.forecasts
    for r in neg[1:]:
        m = r[0]["text"]
        assert float(r[1]["attrs"]["data-value"]) == pytest.approx((f[m] < 0).mean())
        assert float(r[2]["attrs"]["data-value"]) == pytest.approx((f[f"{m}-lo-80"] < 0).mean())


def test_interval_scores_are_shown_when_present(result, tmp_path):
    import copy

    r = copy.copy(result)
    extra = result.scores[result.scores["metric"] == "mae"].assign(metric="msis")
    r.scores = pd.concat([result.scores, extra], ignore_index=True)
    text = render_backtest(r, tmp_path / "m.html").read_text(encoding="utf-8")
    assert "Interval scores (lower is better)" in text and "MSIS is not in this run" not in text


# ------------------------------------------------------------------------------------------------ one report
def test_one_report_holds_forecasts_detectors_and_classifiers(result, tmp_path):
    from tsrnn.anomaly import RollingZScore, evaluate_detectors
    from tsrnn.report.html import render_report
    from tsrnn.suites.ecg import ECGSuiteResult

    rng = np.random.default_rng(2)
    y = rng.normal(size=300)
    y[200] += 9
    lab = np.zeros(300, int)
    lab[198:203] = 1
    data = pd.DataFrame({"unique_id": "s", "ds": np.arange(300), "y": y, "label": lab})
    det = evaluate_detectors({"z20": RollingZScore(window=20), "z50": RollingZScore(window=50)}, data, progress=False)
    cm = pd.DataFrame([[8, 2], [1, 9]], index=["true a", "true b"], columns=["a", "b"])
    cls = ECGSuiteResult(pd.DataFrame([{"task": "t", "model": "m", "accuracy": 0.85, "macro_f1": 0.85}]),
                         {("t", "m"): cm})
    path = render_report(tmp_path / "all.html", forecasts=result, detectors={"gen": det}, classifiers=cls,
                         settings={"suite": "unit"})
    text = path.read_text(encoding="utf-8")
    ids = set(re.findall(r'id="([^"]+)"', text))
    for part in ("summary", "forecasting", "detectors", "classifiers", "failures", "run"):
        assert part in ids, part
    assert set(re.findall(r'href="#([^"]+)"', text)) <= ids  # every contents link has a target
    assert "leaderboard" in ids and "leaderboard-detectors" in ids
    assert 'alt="detections on s"' in text and 'alt="confusion matrices of t"' in text
    summary = text[text.index('id="summary"'):text.index('id="forecasting"')]
    assert "Forecasting" in summary and "Detectors" in summary and "Classifiers" in summary
    assert "t: m (macro_f1 0.85)" in summary


def test_ranks_diagram_is_legible_with_15_models():
    from tsrnn.report.plots import plot_ranks

    rng = np.random.default_rng(0)
    names = [f"Model number {i} with a long name" for i in range(15)]
    ranks = pd.Series(np.sort(rng.uniform(1, 15, 15)), index=names)
    ranks.iloc[3:6] = ranks.iloc[3]  # ties must not overlap either
    fig = plot_ranks(ranks, cd=2.5, metric="mase", n_blocks=40)
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    ax = fig.axes[0]
    labels = [t for t in ax.get_yticklabels() if t.get_text()]
    assert [t.get_text() for t in labels] == list(ranks.sort_values(kind="stable").index)
    texts = labels + [t for t in ax.texts]
    boxes = [t.get_window_extent(r) for t in texts]
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not boxes[i].overlaps(boxes[j]), (texts[i].get_text(), texts[j].get_text())
    fb = fig.bbox
    assert all(fb.x0 - 1 <= b.x0 and b.x1 <= fb.x1 + 1 and fb.y0 - 1 <= b.y0 and b.y1 <= fb.y1 + 1 for b in boxes)


def test_markdown_ranks_like_the_html(result, tmp_path):
    md = render_markdown(result, metric="coverage-80")
    head = next(line for line in md.splitlines() if line.startswith("| # | model |"))
    j = [c.strip() for c in head.strip("|").split("|")].index("rank")
    expect = _hand_ranks(result, "coverage-80", nominal=0.8)
    for line in md.splitlines():
        cells = [c.strip().strip("*") for c in line.strip("|").split("|")]
        if len(cells) > j and cells[1] in expect.index and cells[0].isdigit():
            assert float(cells[j]) == pytest.approx(expect[cells[1]], rel=1e-3)
