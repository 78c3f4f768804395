# Two commands for a fresh machine: `make run` (chat app on the bundled corpus) and `make test`.
# Re-running either on a ready machine installs nothing: installs are keyed on pyproject.toml.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: run test check index eval eval-conversations bench-squad bench-perf soak cluster-demo clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (set PYTHON=...)"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch first, pinned: a looser spec pulls a multi-GB CUDA build; 2.13.0 is a CPU build on local disk
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

index: $(VENV)/.installed
	$(BIN)/qa index

run: $(VENV)/.installed
	$(BIN)/python app.py

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# the fast tier: no real model, browser or server, on both cores (about a minute on a 2-core machine)
check: $(VENV)/.installed-test
	$(BIN)/python -m pytest -m "not model and not browser and not slow" -q -n 2 $(PYTEST_ARGS)

eval: $(VENV)/.installed index
	$(BIN)/qa eval --split test --report eval/out/report.html --json eval/out/results.json --baseline eval/baseline.json

# follow-up questions (issue 28): the pages of the second folder get an index of their own
eval-conversations: $(VENV)/.installed index
	$(BIN)/qa eval --split test eval/conversations/corpus.jsonl --report eval/out/conv-corpus.html --json eval/out/conv-corpus.json
	$(BIN)/qa index --corpus eval/conversations/pages --index eval/out/pages-index
	$(BIN)/qa eval --split test --index eval/out/pages-index eval/conversations/pages.jsonl --report eval/out/conv-pages.html --json eval/out/conv-pages.json

bench-squad: $(VENV)/.installed
	$(BIN)/qa bench squad --version 1.1 --mode all --json eval/out/squad-1.1.json
	$(BIN)/qa bench squad --version 2.0 --json eval/out/squad-2.0.json

bench-perf: $(VENV)/.installed
	$(BIN)/qa bench perf --json eval/out/perf.json

# Ray (2 nodes, in a loopback-only network namespace: needs root) builds the corpus into a throw-away
# PostgreSQL; two app replicas serve it; the gold test split and a 200-question load test go through both
cluster-demo: $(VENV)/.installed-test
	$(BIN)/python scripts/cluster_demo.py

soak: $(VENV)/.installed-test
	$(BIN)/python scripts/soak.py --trials 200

clean:
	rm -rf embeddings/index embeddings/.index.builds var eval/out .pytest_cache
