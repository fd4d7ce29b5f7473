# Tandem: `make run` and `make test` each do all the set-up on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup lint format bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch==2.13.0 resolves to the CPU wheel on this machine's disk (see README for CUDA).
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

## The main job: start `tandem lsp` on the embedded default and drive it through a real LSP client.
run: $(STAMP)
	$(BIN)/python -m lsp_server demo

## The whole test suite.
test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check lsp_server completion codechat inference tests
	$(BIN)/ruff format --check lsp_server completion codechat inference tests

format: $(STAMP)
	$(BIN)/ruff format lsp_server completion codechat inference tests
	$(BIN)/ruff check --fix lsp_server completion codechat inference tests

bench: $(STAMP)
	$(BIN)/tandem bench spec --json
	$(BIN)/tandem bench latency --json

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
