# The README's two commands: `make demo` and `make test`. Both install what they need first.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
PY ?= python3.11
UV_VERSION := 0.13.8
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install demo demo-distributed test lint typecheck unit variants-sample bench soak soak-crash acceptance acceptance-variants clean

$(BIN)/pa: pyproject.toml packages/tradovate-sim/pyproject.toml packages/pa-harness/pyproject.toml uv.lock
	@$(PY) -m uv --version >/dev/null 2>&1 || $(PY) -m pip install --quiet "uv==$(UV_VERSION)"
	$(PY) -m uv sync --locked --all-packages --no-python-downloads
	@touch $(BIN)/pa

install: $(BIN)/pa

demo: install
	$(BIN)/pa demo --no-tui

demo-distributed: install
	$(BIN)/pa demo-distributed

lint: install
	$(BIN)/ruff check src packages tests
	$(BIN)/ruff format --check src packages tests
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest

# Acceptance A-E once more under one mixed simulator variant set that rotates with the commit: `sample:1` seeded by
# the first 8 hex digits of the commit under test (the seed, the set and the command that repeats it are printed
# first, so a red run reproduces from its log). In process only: the variants are Tradovate's side, not the
# transport's. `unit` already ran the whole suite under the defaults.
variants-sample: install
	$(BIN)/pa acceptance --variants sample:1 -k 'not nats' --out artifacts/acceptance-sample

test: lint typecheck unit variants-sample

bench: install
	$(BIN)/pa bench

soak: install
	$(BIN)/pa soak --seeds 300

# Not part of `make test` (which runs two crash seeds): real PA processes SIGKILLed at seeded points (~30 s a seed).
soak-crash: install
	$(BIN)/pa soak --crash --seeds 100

acceptance: install
	$(BIN)/pa acceptance

# Not part of `make test` (about 16 minutes on 2 cores): the acceptance suite under every value of every variant
# switch, each alone, over both transports; docs/simulator.md "Acceptance under every variant" has the last results.
acceptance-variants: install
	$(BIN)/pa acceptance --variants all --out artifacts/acceptance-variants

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache artifacts
