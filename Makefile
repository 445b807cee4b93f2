# Sandi: `make run` serves the local stack, `make test` runs every test.
# The Lambda runtime's minor version (3.12: SnapStart supports it). The venv uses the
# same one, found on PATH or among pyenv's versions (pyenv shims answer only for the
# selected version, so each candidate is run once to see that it works).
PYTHON_MINOR := 3.12
PYTHON ?= $(shell for p in python$(PYTHON_MINOR) $${PYENV_ROOT:-$$HOME/.pyenv}/versions/$(PYTHON_MINOR).*/bin/python$(PYTHON_MINOR) /usr/local/bin/python$(PYTHON_MINOR) /usr/bin/python$(PYTHON_MINOR); do "$$p" -c 'import sys; assert sys.version_info[:2] == tuple(map(int, "$(PYTHON_MINOR)".split(".")))' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
VENV   := .venv
PY     := $(VENV)/bin/python
MARK   := $(VENV)/.python-$(PYTHON_MINOR)
STAMP  := $(VENV)/.installed

.PHONY: run test test-year-ahead lint typecheck check bench load clean staff-token staff-user package screenshots rotate-secret preflight smoke

# A venv of another minor version (an older checkout's) is replaced, not reused.
$(MARK):
	@test -n "$(PYTHON)" || { echo "Python $(PYTHON_MINOR) not found (PATH or pyenv); install it, or make PYTHON=/path/to/python$(PYTHON_MINOR)"; exit 1; }
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	touch $(MARK)

$(STAMP): requirements.txt requirements-dev.txt $(MARK)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)  ## emulator + tables + API on :8000 + inbox on :8025
	$(PY) -m local.devstack

STAFF ?= agent01
ROLE  ?= agent
staff-token: $(STAMP)  ## a staff bearer token for the running local stack (admin routes)
	@$(PY) -m local.staff_token $(STAFF) --role $(ROLE)

staff-user: staff-token  ## the same: creates STAFF in group ROLE (password in the README) and prints a token

rotate-secret: $(STAMP)  ## a new signing version for STAGE (local: the running stack); see README
	$(PY) -m local.rotate_secret --stage $(STAGE) --region $(REGION)

STAGE ?= dev
REGION ?= ap-southeast-3
package: $(STAMP)  ## dist/$(STAGE)/sam.json + deployment.zip, no AWS credentials needed
	$(PY) -m local.package --stage $(STAGE)

BUCKET ?=
SENDER ?=
preflight: $(STAMP)  ## is the AWS account ready for STAGE? (read-only; prints ok or what to do per step)
	$(PY) -m local.preflight --stage $(STAGE) --region $(REGION) --bucket "$(BUCKET)" --sender "$(SENDER)"

URL ?= http://127.0.0.1:8000/
smoke: $(STAMP)  ## after a deploy: walk what a first day needs against URL (the stack's ApiUrl)
	$(PY) -m local.smoke $(URL)

# The browser tests drive Debian's chromium (Playwright's own browser download does not
# work here): installed from Debian's packages when missing, as root or through sudo.
CHROMIUM := /usr/bin/chromium
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core

SCAN := .venv-scan/.installed
$(SCAN): requirements-scan.txt $(MARK)
	rm -rf .venv-scan
	$(PYTHON) -m venv .venv-scan
	.venv-scan/bin/python -m pip install --quiet -r requirements-scan.txt
	touch $(SCAN)

# The description's linters and the TypeScript client generator, from the npm registry
# (pinned in clients/package-lock.json; node and npm come with the machine).
NODE_TOOLS := clients/node_modules/.installed
$(NODE_TOOLS): clients/package.json clients/package-lock.json
	cd clients && npm ci --no-audit --no-fund --silent
	touch $(NODE_TOOLS)

# One worker per core (each starts its own local stack when its tests need one).
test: $(STAMP) $(CHROMIUM) $(SCAN) $(NODE_TOOLS)  ## the whole suite (browser tests, the template scan, generated clients)
	$(PY) -m pytest -n auto

# Every test must pass on any date: the same suite with the machine's clock seen a year
# ahead (libfaketime, from Debian's packages, shifts the wall clock of every process it
# starts, monotonic clock included: the schemathesis client is run on the real clock, see
# tests/test_schemathesis.py).
FAKETIME := /usr/bin/faketime
$(FAKETIME):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends faketime

AHEAD ?= +365d
test-year-ahead: $(STAMP) $(CHROMIUM) $(SCAN) $(NODE_TOOLS) $(FAKETIME)  ## the whole suite with the clock seen AHEAD (default a year) from now
	$(FAKETIME) -f '$(AHEAD)' $(PY) -m pytest -n auto

screenshots: $(STAMP) $(CHROMIUM)  ## the console's main screens -> docs/console/*.png
	SANDI_SCREENSHOT_DIR=docs/console $(PY) -m pytest -p no:xdist tests/test_console.py

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(STAMP)
	$(PY) -m mypy

check: lint typecheck test  ## everything before a commit

bench: $(STAMP)  ## benchmarks + a 60 s load test -> docs/PERFORMANCE.md (+ PNG plots)
	$(PY) -m bench.run --with-load

load: $(STAMP)  ## the bounded load test alone (loopback, stops by itself)
	$(PY) -m bench.load --seconds 60 --clients 4 --double

clean:
	rm -rf $(VENV) .venv-scan .pytest_cache .mypy_cache .ruff_cache .hypothesis
