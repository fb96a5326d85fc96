"""The documentation site builds without a warning, documents every public name of the contract, shows the
executed notebooks and guide pages with their outputs, and opens cleanly in a real browser.

The site is built once per module (``sphinx-build -W``, as ``make docs`` does) into a temporary folder. Building
executes the example notebooks (small settings, ``TSRNN_NOTEBOOK_FAST=1``) and the code cells of the user guide,
so a guide whose code no longer runs fails here.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_api import CONTRACT  # the public names of the contract (ARCHITECTURE.md, "Public names")

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(any(importlib.util.find_spec(m) is None for m in ("sphinx", "myst_nb", "furo")),
                       reason="the documentation tools are not installed (pip install -e '.[dev]')"),
]

NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
GUIDE = sorted(p.stem for p in (ROOT / "docs" / "user_guide").glob("*.md") if p.stem != "index")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # kernels draw figures inline
    env.update(TSRNN_DOCS_OFFLINE="1", PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", "-d", str(out / "doctrees"),
         str(ROOT / "docs"), str(out / "html")],
        capture_output=True, text=True, env=env, timeout=1800)
    return proc, out / "html"


def _read(path: Path) -> str:
    assert path.is_file(), f"{path} was not built"
    return path.read_text(encoding="utf-8")


def test_the_site_builds_without_warnings(site):
    proc, _ = site
    assert proc.returncode == 0, proc.stderr[-3000:]
    # Sphinx's own warnings read "<where>: WARNING: ..." (the notebook kernels' log lines are not Sphinx's)
    found = re.findall(r"^\S.*?: (?:WARNING|ERROR|CRITICAL): .*$", proc.stderr, flags=re.M)
    assert not found, found[:10]


def test_every_public_name_of_the_contract_has_an_api_page(site):
    _, html = site
    missing = [f"{m}.{n}" for m, names in CONTRACT.items() for n in names
               if not (html / "api" / "generated" / f"{m}.{n}.html").is_file()]
    assert not missing, missing
    page = _read(html / "api" / "generated" / "tsrnn.models.RNNForecaster.html")
    for text in ("Parameters", "fit", "predict", "update", "random_state"):  # inherited fit/predict are shown
        assert text in page, text


def test_notebooks_and_guide_pages_show_their_executed_outputs(site):
    _, html = site
    for name in NOTEBOOKS:
        page = _read(html / "examples" / f"{name}.html")
        assert page.count('class="cell_output') >= 2, f"{name}: no outputs rendered"
        assert "Traceback" not in page and "ansi-red-fg" not in page, f"{name}: an error output"
    plots = [n for n in NOTEBOOKS if re.search(r'<img [^>]*src="[^"]*\.png"', _read(html / "examples" / f"{n}.html"))]
    assert len(plots) >= len(NOTEBOOKS) - 1, f"notebook pages without a figure: {set(NOTEBOOKS) - set(plots)}"
    for name in GUIDE:
        page = _read(html / "user_guide" / f"{name}.html")
        if "cell_input" in page:
            assert 'class="cell_output' in page, f"user guide {name}: code cells without outputs"


def test_pages_open_cleanly_in_chromium(site, tmp_path):
    from test_report_browser import CHROMIUM, Browser, _screenshot

    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium; or set TSRNN_CHROMIUM)")
    _, html = site
    pages = [html / "index.html", html / "api" / "generated" / "tsrnn.models.RNNForecaster.html",
             html / "examples" / f"{NOTEBOOKS[0]}.html"]
    browser = Browser(tmp_path / "profile")
    problems = []
    try:
        for path in pages:
            browser.events.clear()  # each page waits for its own load event and reports its own errors
            s = browser.open(path.resolve().as_uri())
            imgs = browser.evaluate(s, "[...document.images].map(i => [i.currentSrc, i.complete, i.naturalWidth])")
            assert all(done and width > 0 for _, done, width in imgs), (path.name, imgs)
            text = browser.evaluate(s, "document.body.innerText")
            assert len(text) > 200, path.name
            shot = _screenshot(browser, s)
            assert shot.std() > 10 and (shot < 200).mean() > 0.01, f"{path.name}: a blank page"
            problems += [(path.name, p) for p in browser.problems()]
        assert problems == []
    finally:
        browser.close()
