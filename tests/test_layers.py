"""The layer table of the architecture (``../shared/design/ARCHITECTURE.md``) holds: no module under ``tsrnn/``
imports a higher layer, and ``tsrnn/backtest/`` imports no model.

Every ``import`` / ``from ... import`` in every module is read with ``ast`` (imports inside functions included:
a lazy import is still a dependency), relative imports resolved against the module's package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "tsrnn"

#: (lowest first) the layer of each top-level module or subpackage of ``tsrnn``.
LAYERS = {
    "_validation": 0, "metrics": 0, "_tables": 0, "_lazy": 0,
    "base": 1, "nn": 1, "features": 1, "datasets": 1,
    "models": 2, "backtest": 2,
    "anomaly": 3, "classification": 3,
    "report": 4,
    "cli": 5, "suites": 5, "__main__": 5, "utils": 5, "__init__": 5,
}

#: Documented conveniences: ``BacktestResult.to_html`` and ``.plot`` call the report layer, importing it inside
#: the method (never at module level). Nothing else may reach up.
ALLOWED_UPWARD = {
    ("tsrnn.backtest.result", "tsrnn.report.html"),
    ("tsrnn.backtest.result", "tsrnn.report.plots"),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts)


def _imports(path: Path):
    """``(imported module, line, at module level)`` for every import of ``tsrnn`` in ``path``."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(n) for n in tree.body} | {id(c) for n in tree.body if isinstance(n, (ast.If, ast.Try))
                                        for c in ast.walk(n)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            # "from . import scoring" names submodules
            targets = [f"{mod}.{a.name}" for a in node.names] if not node.module else [mod]
        else:
            continue
        for t in targets:
            if t == "tsrnn" or t.startswith("tsrnn."):
                yield t, node.lineno, id(node) in top


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) == 1:
        return LAYERS["__init__"]
    return LAYERS.get(parts[1])


MODULES = sorted(ROOT.rglob("*.py"))


def test_every_module_has_a_layer():
    unknown = {_module_name(p) for p in MODULES if _layer(_module_name(p)) is None}
    assert not unknown, f"add these to LAYERS (and to the architecture's layer table): {sorted(unknown)}"


def _violations():
    out = []
    for path in MODULES:
        me = _module_name(path)
        for target, line, at_top in _imports(path):
            mine, theirs = _layer(me), _layer(target)
            if theirs is None:
                continue
            if theirs > mine and (me, target) not in ALLOWED_UPWARD:
                out.append(f"{me}:{line} imports {target} (layer {theirs} > {mine})")
            elif (me, target) in ALLOWED_UPWARD and at_top:
                out.append(f"{me}:{line} imports {target} at module level (allowed only inside the method)")
    return out


def test_no_module_imports_a_higher_layer():
    bad = _violations()
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_backtest_imports_no_model():
    bad = [f"{_module_name(p)}:{line} imports {t}" for p in (ROOT / "backtest").rglob("*.py")
           for t, line, _ in _imports(p) if t == "tsrnn.models" or t.startswith("tsrnn.models.")]
    assert not bad, "the backtest takes estimators as arguments; it imports no model:\n" + "\n".join(bad)


@pytest.mark.parametrize("source, expected", [
    ("from ..report.html import render\n", [("tsrnn.report.html", True)]),
    ("from . import scoring\n", [("tsrnn.backtest.scoring", True)]),
    ("import tsrnn.models.arima\n", [("tsrnn.models.arima", True)]),
    ("import numpy\ndef f():\n    from ..models import Naive2\n", [("tsrnn.models", False)]),
])
def test_the_import_reader_itself(monkeypatch, source, expected):
    """The reader resolves relative imports as Python does (a module placed in tsrnn/backtest/)."""
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: source)
    assert [(t, top) for t, _, top in _imports(ROOT / "backtest" / "result.py")] == expected


def test_a_planted_upward_import_is_caught(monkeypatch):
    real = Path.read_text
    planted = {ROOT / "metrics.py": "from .report import html\n",
               ROOT / "backtest" / "result.py": "from ..report.html import render_backtest\n"}
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: planted.get(self, None) or real(self, encoding))
    bad = _violations()
    assert any(b.startswith("tsrnn.metrics:1 imports tsrnn.report (layer 4 > 0)") for b in bad)
    assert any("tsrnn.backtest.result:1" in b and "module level" in b for b in bad)
