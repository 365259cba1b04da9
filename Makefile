# The two commands of README: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test

$(BIN)/mfci: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(BIN)/mfci

setup: $(BIN)/mfci

# Warm the bundled example flows into the default local store, then show it.
demo: setup
	METAFLOW_USER=$${METAFLOW_USER:-$${USER:-demo}} $(BIN)/mfci warm examples
	$(BIN)/mfci show

test: setup
	$(BIN)/python -m pytest -q
