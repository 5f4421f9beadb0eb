# textlens developer entry points. `make help` lists them.
#
# Every target that runs project code first brings .venv up to date (`venv`),
# so `make test` on a fresh clone installs everything it needs.

PYTHON ?= python3
VENV ?= .venv
TORCH_VERSION ?= 2.13.0
EXTRAS ?= models,duckdb,dev
PYTEST_ARGS ?= -m "not slow" --durations=25
ARGS ?=

PY := $(VENV)/bin/python
# The stamp names what the venv was built from (pyproject.toml, the torch pin,
# the extras, the first-level packages of the rooms, which the editable install
# maps one by one): change any of them and the next `make` reinstalls.
SPEC_HASH := $(shell { cat pyproject.toml; echo "$(TORCH_VERSION) $(EXTRAS)"; \
	echo $(sort $(wildcard */textlens/*/__init__.py)); } \
	| { sha256sum 2>/dev/null || shasum -a 256; } | cut -c1-12)
STAMP := $(VENV)/.stamp-$(SPEC_HASH)
# Superset's own environment (SQLAlchemy 1.4, no torch): scripts/superset/setup_venv.sh.
SUPERSET_VENV ?= .venv-superset
SUPERSET_HASH := $(shell { cat pyproject.toml scripts/superset/setup_venv.sh \
	scripts/superset/constraints.txt; echo $(sort $(wildcard */textlens/*/__init__.py)); } \
	| { sha256sum 2>/dev/null || shasum -a 256; } | cut -c1-12)
SUPERSET_STAMP := $(SUPERSET_VENV)/.stamp-$(SUPERSET_HASH)

.DEFAULT_GOAL := help
.PHONY: help venv demo test test-all lint typecheck format proto docs serve bench bench-gpu clean \
	superset-venv superset-demo test-superset

# Model code never reaches the hub (models are local or in the HF cache) and
# the tokenizers' thread pool is not shared with forked workers.
demo test test-all bench bench-gpu superset-demo test-superset: export HF_HUB_OFFLINE := 1
demo test test-all bench bench-gpu superset-demo test-superset: export TOKENIZERS_PARALLELISM := false

help:
	@echo "make demo       start a server on the embedded models and query it"
	@echo "make test       lint, then the test suite without slow tests (PYTEST_ARGS=...)"
	@echo "make test-all   lint, then every test, slow ones included"
	@echo "make lint       ruff check, ruff format --check, mypy (strict)"
	@echo "make typecheck  mypy only"
	@echo "make format     ruff format and ruff check --fix"
	@echo "make proto      regenerate proto/textlens/v1 from textlens.proto"
	@echo "make docs       regenerate docs/configuration.md's table of TEXTLENS_* variables"
	@echo "make serve      run \`textlens serve \$$(ARGS)\`"
	@echo "make bench      peers, memory, gRPC serving, DuckDB UDF, backend and search benchmarks (~80 min on 2 cores)"
	@echo "make bench-gpu  GPU rows/s via gRPC from DuckDB + the GPU tests (needs CUDA torch)"
	@echo "make clean      remove build outputs and caches (keeps $(VENV), bench/results)"
	@echo "make superset-venv   build $(SUPERSET_VENV): pinned Superset + textlens[superset]"
	@echo "make superset-demo   textlens server + demo data + Superset + both dashboards on :8088"
	@echo "make test-superset   only the Superset end-to-end suite (real Superset, Chromium, Redis, Celery)"

# ---------------------------------------------------------------------------
# Environment
# ---------------------------------------------------------------------------

venv: $(STAMP)

# torch goes in first and alone: installed before anything that depends on
# it, pip keeps it, so no dependency can pull a CUDA build (here torch
# $(TORCH_VERSION) resolves to the CPU wheel on local disk).
$(STAMP):
	@test -x $(PY) || { echo "creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install "torch==$(TORCH_VERSION)"
	$(PY) -m pip install -e ".[$(EXTRAS)]"
	@$(PY) -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"
	@rm -f $(VENV)/.stamp-*
	@touch $@

superset-venv: $(SUPERSET_STAMP)

$(SUPERSET_STAMP):
	PYTHON=$(PYTHON) scripts/superset/setup_venv.sh $(SUPERSET_VENV)
	@rm -f $(SUPERSET_VENV)/.stamp-*
	@touch $@

# ---------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------

demo: venv
	$(PY) -m textlens.server.demo

serve: venv
	$(VENV)/bin/textlens serve $(ARGS)

superset-demo: venv superset-venv
	$(VENV)/bin/textlens superset demo --venv $(SUPERSET_VENV) $(ARGS)

# The peers (sentence-transformers' ONNX/OpenVINO recipes) run in their own venv at their
# own pins (bench/peers-requirements.txt); CPU torch first and alone, as in .venv.
PEERS_VENV ?= bench/.venv-peers
PEERS_HASH := $(shell { cat bench/peers-requirements.txt; echo "$(TORCH_VERSION)"; } \
	| { sha256sum 2>/dev/null || shasum -a 256; } | cut -c1-12)
PEERS_STAMP := $(PEERS_VENV)/.stamp-$(PEERS_HASH)

$(PEERS_STAMP):
	@test -x $(PEERS_VENV)/bin/python || $(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/python -m pip install --upgrade pip
	$(PEERS_VENV)/bin/python -m pip install "torch==$(TORCH_VERSION)"
	$(PEERS_VENV)/bin/python -m pip install -r bench/peers-requirements.txt
	@rm -f $(PEERS_VENV)/.stamp-*
	@touch $@

bench: venv $(PEERS_STAMP)
	@mkdir -p bench/results
	$(PY) bench/peers.py --peers-python $(PEERS_VENV)/bin/python --json bench/results/peers.json
	$(PY) bench/memory.py --json bench/results/memory.json
	$(PY) bench/serve_throughput.py --json bench/results/serve_throughput.json
	$(PY) bench/duckdb_udf.py --json bench/results/duckdb_udf.json
	$(PY) bench/backends.py --out bench/results/backends.json
	$(PY) bench/reliability.py --json bench/results/reliability.json
	$(PY) bench/first_start.py --json bench/results/first_start.json
	$(PY) bench/search.py --million --json bench/results/search.json

# On a machine with a CUDA torch: GPU rows/s through gRPC from DuckDB, the naive
# per-row ratio, fp16/bf16 x attention kernel x token budget x padding against the
# GPU's matmul peak, then the GPU tests.
bench-gpu: venv
	@mkdir -p bench/results
	$(PY) bench/gpu.py --json bench/results/gpu.json
	$(PY) bench/gpu_kernels.py --json bench/results/gpu_kernels.json
	$(PY) -m pytest -m gpu tests

# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------

# The Superset end-to-end suite (tests/superset_plugin) runs in both: it needs
# $(SUPERSET_VENV), and skips, saying why, only where Chromium is not installed.
test: venv superset-venv lint
	$(PY) -m pytest $(PYTEST_ARGS)

test-all: venv superset-venv lint
	$(PY) -m pytest

test-superset: venv superset-venv
	$(PY) -m pytest -m superset tests/superset_plugin $(ARGS)

# mypy checks the rooms' `textlens/` trees directly (pyproject.toml: mypy_path
# and files follow the path rule). All three run even when one fails, so one CI
# run shows every problem.
lint: venv
	@status=0; \
	echo "$(PY) -m ruff check ."; $(PY) -m ruff check . || status=1; \
	echo "$(PY) -m ruff format --check ."; $(PY) -m ruff format --check . || status=1; \
	echo "$(PY) -m mypy"; $(PY) -m mypy || status=1; \
	exit $$status

typecheck: venv
	$(PY) -m mypy

format: venv
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

proto: venv
	$(PY) scripts/gen_proto.py

# docs/configuration.md's table of TEXTLENS_* variables, generated from the code.
docs: venv
	$(PY) scripts/env_table.py

clean:
	rm -rf .build build dist .pytest_cache .mypy_cache .ruff_cache *.egg-info
	find . -path './.venv*' -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
