# prow-graphql: `make run` and `make test` are the two set-up commands; everything else is optional.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
EXAMPLE := examples/prow
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: run test lint typecheck layers unit schema proto bench bench-gangway clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required" if sys.version_info < (3, 11) else 0)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

-include mk/*.mk

# Installing builds the package, which generates gangway.proto's Python code into the source
# tree (setup.py's build_gangway_proto step, see `proto`): a changed .proto or build step reinstalls.
GANGWAY_PROTO := gql/prow_graphql/gangway/gangway.proto
INSTALL_INPUTS := pyproject.toml setup.py $(GANGWAY_PROTO)

$(VENV)/.run-installed: $(INSTALL_INPUTS) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: $(INSTALL_INPUTS) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.run-installed

## run: start the gateway on the embedded backend with the example config (GraphiQL URL printed)
run: $(VENV)/.run-installed
	$(BIN)/prow-graphql serve --backend memory --dev \
	  --config-path $(EXAMPLE)/config.yaml --job-config-path $(EXAMPLE)/jobs \
	  --host $(HOST) --port $(PORT) --metrics-port 0

## test: linters, type checks, import layers and the whole test suite
test: lint typecheck layers unit

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check setup.py gql tests bench scripts
	$(BIN)/ruff format --check setup.py gql tests bench scripts

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy --strict -p prow_graphql

layers: $(VENV)/.dev-installed
	$(BIN)/lint-imports

unit: $(VENV)/.dev-installed
	$(BIN)/pytest

## schema: regenerate schema.graphql from the code
schema: $(VENV)/.dev-installed
	$(BIN)/prow-graphql export-schema --output schema.graphql

## proto: regenerate gql/prow_graphql/gangway/_generated/ from gangway.proto (not committed)
proto: $(VENV)/.dev-installed
	$(BIN)/python setup.py --quiet build_gangway_proto --inplace

## bench: side-by-side measurements (not part of the test suite)
bench: $(VENV)/.dev-installed
	$(BIN)/python -m bench

## bench-gangway: gangway API latencies: create over REST and gRPC, watch stream vs 2 s polling
bench-gangway: $(VENV)/.dev-installed
	$(BIN)/python -m bench.gangway

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build gql/prow_graphql/gangway/_generated
