# Sandi: `make run` serves the local stack, `make test` runs every test.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck check bench load clean staff-token package

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)  ## emulator + tables + API on :8000 + inbox on :8025
	$(PY) -m local.devstack

STAFF ?= agent01
ROLE  ?= agent
staff-token: $(STAMP)  ## a staff bearer token for the running local stack (admin routes)
	@$(PY) -m local.staff_token $(STAFF) --role $(ROLE)

STAGE ?= dev
package: $(STAMP)  ## dist/$(STAGE)/sam.json + deployment.zip, no AWS credentials needed
	$(PY) -m local.package --stage $(STAGE)

test: $(STAMP)  ## the whole suite
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(STAMP)
	$(PY) -m mypy

check: lint typecheck test  ## everything before a commit

bench: $(STAMP)  ## benchmarks + a 60 s load test -> docs/PERFORMANCE.md (+ PNG plots)
	$(PY) -m bench.run --with-load

load: $(STAMP)  ## the bounded load test alone (loopback, stops by itself)
	$(PY) -m bench.load --seconds 60 --clients 8

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
