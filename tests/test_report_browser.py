"""Open the HTML report in a real headless Chromium (DevTools protocol over --remote-debugging-pipe).

Checks: the page loads with no console error and no uncaught exception, every ``<img>`` decodes
(``naturalWidth > 0``), a screenshot is not blank, and the leaderboard's numbers read from the DOM equal
``result.leaderboard()``; the quick suite's one report shows its summary and leaderboard above the fold of a
1400x900 window and holds the detector, classifier and interval sections. Skips when Chromium is not installed
(``apt-get install chromium``).
"""

import base64
import fcntl
import io
import json
import os
import shutil
import subprocess
import time

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

CHROMIUM = next((p for p in (os.environ.get("TSRNN_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                             shutil.which("chromium-browser")) if p and os.path.exists(p)), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install "
                                                          "chromium; or set TSRNN_CHROMIUM)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         "--remote-debugging-pipe", "--window-size=1200,1600"]


class Browser:
    """A minimal DevTools-protocol client: commands on fd 3, replies and events on fd 4, NUL-separated JSON."""

    def __init__(self, user_data_dir):
        cmd_r, self._cmd_w = os.pipe()
        self._out_r, out_w = os.pipe()

        def wire():  # in the child: its fd 3 reads our commands, its fd 4 carries its replies
            a, b = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10), fcntl.fcntl(out_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={user_data_dir}", "about:blank"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     preexec_fn=wire, pass_fds=(3, 4))
        os.close(cmd_r)
        os.close(out_w)
        self._buf, self._id, self.events = b"", 0, []

    def _read(self, deadline):
        while b"\0" not in self._buf:
            if time.monotonic() > deadline:
                raise TimeoutError("no reply from Chromium")
            import select

            ready, _, _ = select.select([self._out_r], [], [], 0.5)
            if ready:
                chunk = os.read(self._out_r, 1 << 20)
                if not chunk:
                    raise RuntimeError("Chromium closed the pipe")
                self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None, timeout=60.0):
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_event(self, method, timeout=60.0):
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events:
                if e.get("method") == method:
                    return e
            self.events.append(self._read(deadline))

    def open(self, url):
        """A new tab with Runtime/Log/Page events on; returns its session id once ``url`` has loaded."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        s = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            self.send(f"{domain}.enable", session=s)
        self.send("Page.navigate", {"url": url}, session=s)
        self.wait_event("Page.loadEventFired")
        return s

    def viewport(self, session, width, height):
        """Emulate a ``width`` x ``height`` window (CSS pixels)."""
        self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1,
                                                         "mobile": False}, session=session)

    def evaluate(self, session, expr):
        r = self.send("Runtime.evaluate", {"expression": expr, "returnByValue": True, "awaitPromise": True},
                      session=session)
        if "exceptionDetails" in r:
            raise RuntimeError(r["exceptionDetails"])
        return r["result"]["value"]

    def problems(self):
        """Console errors, uncaught exceptions and error log entries seen so far."""
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.exceptionThrown":
                out.append(p["exceptionDetails"].get("text", "exception"))
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(" ".join(str(a.get("value", a.get("description"))) for a in p.get("args", [])))
            elif m == "Log.entryAdded" and p["entry"].get("level") == "error":
                out.append(p["entry"].get("text", ""))
        return out

    def close(self):
        try:
            self.send("Browser.close", timeout=10)
        except Exception:  # noqa: BLE001 - it may close the pipe before replying
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._cmd_w)
        os.close(self._out_r)


@pytest.fixture
def browser(tmp_path):
    b = Browser(tmp_path / "chromium-profile")
    yield b
    b.close()


_READ_PAGE = """(() => {
  const imgs = [...document.images].map(i => ({alt: i.alt, complete: i.complete, w: i.naturalWidth,
                                               h: i.naturalHeight}));
  const rows = [...document.querySelectorAll('#leaderboard tbody tr')].map(tr =>
      [...tr.querySelectorAll('td')].map(td => ({text: td.textContent.trim(),
                                                  value: td.dataset.value ?? null,
                                                  column: td.dataset.column ?? null})));
  const head = [...document.querySelectorAll('#leaderboard thead th')].map(th => th.textContent.trim());
  return {imgs, rows, head, title: document.title};
})()"""


def _screenshot(browser, session):
    data = browser.send("Page.captureScreenshot", {"format": "png"}, session=session)["data"]
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("L"), dtype=float)


def test_report_opens_cleanly_in_chromium(tmp_path, browser):
    from tsrnn.backtest import backtest
    from tsrnn.datasets import make_sales
    from tsrnn.models import Drift, Mean, Naive, SeasonalNaive

    df = make_sales(n_series=3, length=90, seed=7)
    result = backtest({"Naive": Naive(), "SNaive": SeasonalNaive(season_length=7), "Mean": Mean(), "Drift": Drift()},
                      df, h=5, n_windows=2, level=[80], season_length=7, progress=False)
    path = result.to_html(tmp_path / "report.html")
    s = browser.open(path.resolve().as_uri())
    page = browser.evaluate(s, _READ_PAGE)
    assert browser.problems() == []
    assert page["title"] == "tsrnn backtest report"
    assert len(page["imgs"]) >= 4
    for img in page["imgs"]:
        assert img["complete"] and img["w"] > 0 and img["h"] > 0, img["alt"]
    lb = result.leaderboard()
    assert page["head"] == ["#", "model", *map(str, lb.columns)]
    assert [r[1]["text"] for r in page["rows"]] == list(lb.index)
    for row, (_, expect) in zip(page["rows"], lb.iterrows()):
        for cell, col in zip(row[2:], lb.columns):
            assert cell["column"] == str(col)
            assert float(cell["value"]) == pytest.approx(expect[col], rel=1e-12, abs=0)
            assert float(cell["text"]) == pytest.approx(expect[col], rel=5e-4, abs=1e-12)
    shot = _screenshot(browser, s)
    assert shot.std() > 10 and (shot < 200).mean() > 0.01  # text, tables and plots drawn, not a blank page


def test_detector_report_opens_cleanly_in_chromium(tmp_path, browser):
    import pandas as pd

    from tsrnn.anomaly import RollingZScore, evaluate_detectors
    from tsrnn.report import render_detectors

    rng = np.random.default_rng(4)
    frames = []
    for i in range(2):
        y = rng.normal(size=300)
        y[200 + 30 * i] += 10
        label = np.zeros(300, int)
        label[197 + 30 * i:205 + 30 * i] = 1
        frames.append(pd.DataFrame({"unique_id": f"s{i}", "ds": np.arange(300), "y": y, "label": label}))
    result = evaluate_detectors({"z30": RollingZScore(window=30), "z60": RollingZScore(window=60)},
                                pd.concat(frames, ignore_index=True), progress=False)
    path = render_detectors(result, tmp_path / "detectors.html")
    s = browser.open(path.resolve().as_uri())
    page = browser.evaluate(s, _READ_PAGE)
    assert browser.problems() == []
    assert all(img["w"] > 0 for img in page["imgs"]) and len(page["imgs"]) >= 3
    lb = result.leaderboard()
    assert [r[1]["text"] for r in page["rows"]] == list(lb.index)
    for row, (_, expect) in zip(page["rows"], lb.iterrows()):
        for cell, col in zip(row[2:], lb.columns):
            v = float(cell["value"])
            assert (np.isnan(v) and np.isnan(expect[col])) or v == pytest.approx(expect[col], rel=1e-12, abs=0)


_LAYOUT = """(() => {
  const box = sel => { const e = document.querySelector(sel); if (!e) return null;
                       const r = e.getBoundingClientRect(); return {top: r.top, bottom: r.bottom}; };
  return {summary: box('#summary'), board: box('#leaderboard'), boardHead: box('#leaderboard thead'),
          boardFirst: box('#leaderboard tbody tr'), detectors: box('#detectors'), classifiers: box('#classifiers'),
          intervals: box('#intervals'), run: box('#run details'), runOpen: document.querySelector('#run details').open,
          links: [...document.querySelectorAll('nav.toc a')].map(a => a.getAttribute('href')),
          ids: [...document.querySelectorAll('[id]')].map(e => e.id), height: window.innerHeight,
          width: window.innerWidth};
})()"""


def test_quick_suite_report_reads_top_down(tmp_path, browser):
    from tsrnn.suites import run_suite

    res = run_suite("quick", models=["Naive", "SeasonalNaive", "Theta", "Mean", "RollingZScore", "WaveletDetector",
                                     "Wavelet+LogReg"], out=tmp_path / "q", progress=False)
    s = browser.open((tmp_path / "q" / "report.html").resolve().as_uri())
    browser.viewport(s, 1400, 900)
    lay = browser.evaluate(s, _LAYOUT)
    page = browser.evaluate(s, _READ_PAGE)
    assert browser.problems() == []
    assert (lay["width"], lay["height"]) == (1400, 900)
    assert 0 <= lay["summary"]["top"] and lay["summary"]["bottom"] <= 900  # the summary whole above the fold
    assert lay["boardHead"]["top"] >= lay["summary"]["bottom"] and lay["boardFirst"]["bottom"] <= 900
    for part in ("detectors", "classifiers", "intervals"):
        assert lay[part] is not None and lay[part]["top"] > 900, part  # present, below the leaderboard
    assert lay["runOpen"] is False and lay["run"]["top"] > lay["classifiers"]["top"]  # settings last, collapsed
    assert {h[1:] for h in lay["links"]} <= set(lay["ids"])
    alts = [i["alt"] for i in page["imgs"]]
    for alt in ("coverage reliability plot", "critical difference diagram", "confusion matrices of synthetic_beats"):
        assert alt in alts
    assert any(a.startswith("detections on") for a in alts)
    for img in page["imgs"]:
        assert img["complete"] and img["w"] > 0 and img["h"] > 0, img["alt"]
    lb = res.forecasts.leaderboard()
    assert [r[1]["text"] for r in page["rows"]] == list(lb.index)
    shot = _screenshot(browser, s)
    assert shot.shape == (900, 1400) and shot.std() > 10


def test_the_harness_sees_errors_and_broken_images(tmp_path, browser):
    """Negative control: a page with a console error and an undecodable image is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text("<!doctype html><html><head><meta charset='utf-8'><link rel='icon' href='data:,'></head><body>"
                   "<img alt='broken' src='data:image/png;base64,AAAA'><script>console.error('deliberate');"
                   "</script></body></html>", encoding="utf-8")
    s = browser.open(bad.as_uri())
    page = browser.evaluate(s, _READ_PAGE)
    assert any("deliberate" in p for p in browser.problems())
    assert page["imgs"][0]["w"] == 0
    shot = _screenshot(browser, s)
    assert (shot < 200).mean() < 0.01  # the blank-page check would fire on it
