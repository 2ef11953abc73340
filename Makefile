# Two commands a newcomer needs: `make run` and `make test`. Each creates .venv and installs what it needs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: run demo bench-audit bench-litellm bench-gateway test lint typecheck accuracy speed bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

# setup.py and the C sources: an edit rebuilds the native parts (proctor/detect/_ngram.c, _digits.c).
NATIVE := setup.py src/proctor/detect/_ngram.c src/proctor/detect/_digits.c

$(VENV)/.core: pyproject.toml $(NATIVE) | $(BIN)/python
	$(PIP) install -e .
	touch $@

$(VENV)/.test: pyproject.toml $(NATIVE) | $(BIN)/python
	$(PIP) install -e '.[test,postgres,capsule,litellm]'
	touch $@ $(VENV)/.core

## run: start the gateway on embedded defaults: SQLite audit, builtin:default policies, echo provider
run: $(VENV)/.core
	$(BIN)/proctor serve

## demo: check two sample prompts from the command line (no server, no key, no network)
demo: $(VENV)/.core
	$(BIN)/proctor check "Hi, I'm Jane (jane.doe@example.com, +1 415 555 0132). Please summarise my ticket."
	$(BIN)/proctor check "My SSN is 123-45-6789, can you file my taxes?"

## test: lint, type-check and run the whole test suite
test: $(VENV)/.test
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(VENV)/.test
	$(BIN)/ruff check src tests benchmarks scripts

typecheck: $(VENV)/.test
	$(BIN)/mypy

## accuracy: precision/recall per finding type on the corpus and on external sets installed now
accuracy: $(VENV)/.test
	$(PIP) install sqlmap faker pyyaml && $(PIP) install --no-deps presidio-evaluator pyrit
	$(BIN)/python -m benchmarks.accuracy

## speed: median check time per 1 KB, side by side with Presidio's pattern recognizers
speed: $(VENV)/.test
	$(PIP) install presidio-analyzer
	$(BIN)/python -m benchmarks.speed

## bench-audit: sealed append and verify throughput on SQLite and PostgreSQL
bench-audit: $(VENV)/.test
	$(BIN)/python -m benchmarks.audit

## bench-litellm: the LiteLLM proxy with and without Proctor's guardrail, side by side (added ms per request)
bench-litellm: $(VENV)/.test
	$(BIN)/python -m benchmarks.litellm_guardrail

## bench-gateway: `proctor serve` beside the LiteLLM proxy on one core each: req/s, added latency, CPU, RSS
bench-gateway: $(VENV)/.test
	$(PIP) install matplotlib
	$(BIN)/python -m benchmarks.gateway

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
