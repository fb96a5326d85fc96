"""Every notebook in ``notebooks/`` executes (small settings via ``TSRNN_NOTEBOOK_FAST=1``), is stored without
outputs, and imports tsrnn through its public API only.

Notebooks that need real data read ``TSRNN_DATA_MIRROR`` when it is set and fall back to synthetic data when it
is not, so they run either way.
"""

import ast
import importlib
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
PUBLIC = {"tsrnn", "tsrnn.models", "tsrnn.features", "tsrnn.anomaly", "tsrnn.classification", "tsrnn.backtest",
          "tsrnn.metrics", "tsrnn.datasets", "tsrnn.report", "tsrnn.nn", "tsrnn.nn.cells"}


def _code(nb) -> str:
    # drop IPython magics and shell escapes so that the rest parses as Python
    return "\n".join("\n".join(line for line in c.source.splitlines() if not re.match(r"\s*[%!]", line))
                     for c in nb.cells if c.cell_type == "code")


def test_there_are_notebooks():
    names = {p.name for p in NOTEBOOKS}
    assert {"01_quickstart.ipynb", "02_sales_forecasting.ipynb", "03_ecg.ipynb", "04_anomaly_detection.ipynb",
            "05_recurrent_cells.ipynb"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{path.name}: cells {dirty} hold outputs; strip them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_uses_the_public_api(path):
    tree = ast.parse(_code(nbformat.read(path, as_version=4)))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "tsrnn":
            assert node.module in PUBLIC, f"{path.name} imports from the private module {node.module}"
            module = importlib.import_module(node.module)
            public = set(getattr(module, "__all__", ())) | {n for n in dir(module) if not n.startswith("_")}
            for alias in node.names:
                assert alias.name in public, f"{path.name}: {node.module}.{alias.name} is not public"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "tsrnn":
                    assert alias.name in PUBLIC, f"{path.name} imports the private module {alias.name}"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes(path, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("TSRNN_NOTEBOOK_FAST", "1")
    monkeypatch.setenv("TSRNN_NOTEBOOK_OUT", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    assert any(c.outputs for c in nb.cells if c.cell_type == "code")
