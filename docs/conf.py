"""Sphinx configuration of tsrnn's documentation site (``make docs``).

Three parts, all built from the repository as it is:

* the user guide (``user_guide/*.md``, MyST Markdown);
* the API reference, generated at build time from the ``__all__`` of every public package (so a new public name
  appears without editing a list here), one page per name via ``autosummary``;
* the example notebooks of ``notebooks/``, copied into ``examples/`` and executed by myst-nb at build time with
  ``TSRNN_NOTEBOOK_FAST=1`` (small settings), so the pages show their outputs.

The build treats warnings as errors (``-W`` in the Makefile and the tests). Intersphinx links to numpy, pandas,
scikit-learn and PyTorch are used when their inventories can be reached; offline (CI) the build goes on without
them rather than failing or warning.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TSRNN_NOTEBOOK_FAST", "1")
# the notebook kernels show figures inline (ipykernel's backend) only when no other backend is forced on them
os.environ.pop("MPLBACKEND", None)

import tsrnn  # noqa: E402

project = "tsrnn"
author = "the tsrnn developers"
copyright = "2026, the tsrnn developers"  # noqa: A001
release = tsrnn.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "myst_nb",
    "sphinx-mathjax-offline",  # MathJax served from _static: pages render offline, no CDN request
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}

html_theme = "furo"
html_title = f"tsrnn {release}"
html_static_path: list[str] = []

# --- API reference -------------------------------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"
autodoc_default_options = {"show-inheritance": True}
autodoc_mock_imports: list[str] = []
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_custom_sections = [("Shapes", "Notes")]
add_module_names = False

#: the public packages, in the order of the contract (ARCHITECTURE.md: "Public names")
PUBLIC = {
    "tsrnn": "Top level: ``all_estimators``",
    "tsrnn.models": "Forecasters: baselines, ARIMA family, ETS/Theta, spectral, HMM, reduction, recurrent",
    "tsrnn.features": "Feature transformers: windows, Fourier/periodogram/STFT, wavelets",
    "tsrnn.anomaly": "Anomaly detectors, their scoring and evaluation",
    "tsrnn.classification": "Sequence classifiers and taggers",
    "tsrnn.backtest": "Backtesting: splitters, the engine, results",
    "tsrnn.metrics": "Point and interval metrics",
    "tsrnn.datasets": "Loaders of public data and synthetic generators",
    "tsrnn.report": "Plots and reports",
    "tsrnn.nn": "Pure PyTorch modules: cells, recurrent layer, attention, seq2seq, decoding, memory",
}


def _public_names(module: str) -> list[str]:
    mod = importlib.import_module(module)
    names = [n for n in getattr(mod, "__all__", []) if not n.startswith("_")]
    if module == "tsrnn":
        names = [n for n in names if n != "__version__"]
    return names


def _write_api_pages() -> None:
    """``api/<package>.rst`` for every public package: a summary table and one generated page per name."""
    out = HERE / "api"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir()
    index = ["API reference", "=============", "",
             "Every public name of the contract, by package. Each page is generated from the docstrings.", "",
             ".. toctree::", "   :maxdepth: 1", ""]
    for module, blurb in PUBLIC.items():
        index.append(f"   {module}")
        names = _public_names(module)
        lines = [module, "=" * len(module), "", blurb + ".", "", f".. currentmodule:: {module}", "",
                 ".. autosummary::", "   :toctree: generated", "   :nosignatures:", ""]
        lines += [f"   {n}" for n in names]
        (out / f"{module}.rst").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "index.rst").write_text("\n".join(index) + "\n", encoding="utf-8")


def _copy_notebooks() -> None:
    """The notebooks of ``notebooks/`` into ``examples/`` (executed by myst-nb when the site is built)."""
    out = HERE / "examples"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir()
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    for nb in notebooks:
        shutil.copy2(nb, out / nb.name)
    index = ["# Examples", "",
             "The notebooks of the repository's `notebooks/` folder, executed when this site was built (with small",
             "settings: `TSRNN_NOTEBOOK_FAST=1`). Run them yourself in Jupyter for the full-size versions.", "",
             "```{toctree}", ":maxdepth: 1", ""] + [nb.stem for nb in notebooks] + ["```", ""]
    (out / "index.md").write_text("\n".join(index), encoding="utf-8")


_write_api_pages()
_copy_notebooks()

# --- notebooks -------------------------------------------------------------------------------------------------
nb_execution_mode = os.environ.get("TSRNN_DOCS_EXECUTE", "force")  # "off" for a quick look at the prose
nb_execution_timeout = 900
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3

# --- intersphinx: only the inventories that can be reached -----------------------------------------------------
_INVENTORIES = {
    "python": "https://docs.python.org/3/",
    "numpy": "https://numpy.org/doc/stable/",
    "pandas": "https://pandas.pydata.org/docs/",
    "sklearn": "https://scikit-learn.org/stable/",
    "torch": "https://docs.pytorch.org/docs/stable/",
}


def _reachable(url: str) -> bool:
    if os.environ.get("TSRNN_DOCS_OFFLINE"):
        return False
    try:
        with urllib.request.urlopen(url + "objects.inv", timeout=3):  # noqa: S310 - fixed documentation hosts
            return True
    except Exception:  # noqa: BLE001 - offline or blocked: build without that link target
        return False


intersphinx_mapping = {name: (url, None) for name, url in _INVENTORIES.items() if _reachable(url)}
intersphinx_timeout = 5
