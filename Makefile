# Two commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
# A local copy of the public datasets, laid out as ../shared/datasets (used only when present).
MIRROR ?= $(abspath ../shared/datasets)

.PHONY: venv demo test lint bench clean browser docs

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	# torch first, pinned: on these machines 2.13.0 is a CPU build lying on disk (pyproject keeps an honest range).
	$(PIP) install torch==2.13.0
	$(PIP) install -e ".[dev]"
	touch $@

venv: $(VENV)/.installed

demo: venv
	$(VENV)/bin/tsrnn benchmark --out tsrnn-report

# Headless Chromium for the report's browser test (Debian package; the test skips when it cannot be had).
browser:
	@command -v chromium >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) ; } || \
	  echo "chromium not installed: the report's browser test will skip"

test: venv browser
	$(VENV)/bin/ruff check tsrnn tests benchmarks
	if [ -d "$(MIRROR)" ]; then export TSRNN_DATA_MIRROR="$(MIRROR)"; fi; \
	$(PY) -m pytest -n 2 --dist loadfile -q tests

# The documentation site (Sphinx): user guide, API reference, executed notebooks; warnings are errors.
docs: venv
	$(VENV)/bin/sphinx-build -W --keep-going -b html docs docs/_build/html
	@echo "open docs/_build/html/index.html"

lint: venv
	$(VENV)/bin/ruff check tsrnn tests benchmarks

bench: venv
	$(PY) benchmarks/backtest_overhead.py

clean:
	rm -rf $(VENV) tsrnn-report .pytest_cache docs/_build docs/api docs/examples
