# gpu-chatops — two commands matter: `make demo` and `make test`. Each installs what it needs.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEMO_ARGS ?=

# Compiled bytecode is kept in the venv, not beside the sources: an environment that says
# PYTHONDONTWRITEBYTECODE otherwise recompiles every module in every process the tests start
# (a third of a test run, and seconds of every `chatops` start).
export PYTHONPYCACHEPREFIX := $(abspath $(VENV))/pycache
unexport PYTHONDONTWRITEBYTECODE

# Installs into the venv with uv when it can be had (parallel downloads: a fresh demo is ready in about a
# third of pip's time), else with pip. uv is given pip's constraints and local wheels, so both pick alike.
PIP_CONSTRAINT_FILE := $(shell python3 -m pip config get global.constraint 2>/dev/null)
PIP_LINKS := $(shell python3 -m pip config get global.find-links 2>/dev/null)
define install
set -o pipefail; \
if $(PY) -m pip install -q --disable-pip-version-check uv >/dev/null 2>&1 && \
   $(VENV)/bin/uv pip install --python $(PY) --no-progress \
     $(if $(PIP_CONSTRAINT_FILE),--constraint $(PIP_CONSTRAINT_FILE)) \
     $(foreach l,$(PIP_LINKS),$(if $(wildcard $(l)),--find-links $(l))) '$(1)' 2>&1 | grep -v '^ [+~-] '; \
then :; else \
  echo "uv unavailable: installing with pip"; \
  $(PY) -m pip install --no-compile --progress-bar off '$(1)' 2>&1 \
    | grep --line-buffered -E '^(Collecting|Successfully installed|ERROR|error)' \
    | sed -u -e 's/^Collecting /  + /' -e 's/^Successfully installed .*/  done/'; fi
endef

.PHONY: test check demo eval bench chaos coverage lint typecheck contract clean system-deps

$(STAMP): pyproject.toml
	@command -v python3 >/dev/null || { echo "python3 is required"; exit 1; }
	@[ -x $(PY) ] || python3 -m venv $(VENV)
	@$(call install,-e .[dev])
	@touch $(STAMP) $(RUNTIME_STAMP)

# The demo needs the runtime only (no test or lint tools). Progress shows: one line per package.
# --no-compile: Python compiles what the demo imports as it imports it, not every module of every package.
$(RUNTIME_STAMP): pyproject.toml
	@command -v python3 >/dev/null || { echo "python3 is required"; exit 1; }
	@[ -x $(PY) ] || { echo "creating $(VENV)"; python3 -m venv $(VENV); }
	@echo "installing gpu-chatops and its runtime dependencies into $(VENV) (not the development tools)"
	@$(call install,-e .)
	@touch $(RUNTIME_STAMP)

# Debian packages the tests start for real (installed only when missing).
system-deps:
	@if ! command -v redis-server >/dev/null; then \
	  echo "installing redis-server (apt-get)"; \
	  (apt-get update -qq || sudo apt-get update -qq) && \
	  (apt-get install -y -qq redis-server >/dev/null || sudo apt-get install -y -qq redis-server >/dev/null); \
	fi
	@if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null \
	    || ! command -v prometheus-alertmanager >/dev/null; then \
	  echo "installing prometheus prometheus-alertmanager (apt-get)"; \
	  (apt-get update -qq || sudo apt-get update -qq) && \
	  (apt-get install -y -qq prometheus prometheus-alertmanager >/dev/null \
	    || sudo apt-get install -y -qq prometheus prometheus-alertmanager >/dev/null); \
	fi
	@if ! command -v kubectl >/dev/null; then \
	  echo "installing kubectl (apt-get)"; \
	  apt-get update -qq; \
	  apt-get install -y -qq kubectl-cli-bin >/dev/null 2>&1 || apt-get install -y -qq kubectl >/dev/null 2>&1 \
	    || { echo "kubectl could not be installed: the deploy tests need it"; exit 1; }; \
	fi

test: $(STAMP) system-deps
	$(PY) -m pytest -q -p no:cacheprovider -n 6 --dist worksteal  # six workers on two cores: most tests wait on real servers and simulated time, not on the CPU; idle workers take queued tests from busy ones

check: $(STAMP)
	$(VENV)/bin/ruff check bot handlers tests
	$(VENV)/bin/mypy --strict bot handlers
	$(PY) -m pytest -q -p no:cacheprovider tests/unit/test_import_contract.py

# Line and branch coverage of bot/ and handlers/ (subprocesses too: `chatops run` under test is measured).
coverage: $(STAMP) system-deps
	rm -f .coverage .coverage.*
	$(PY) -m pytest -q -p no:cacheprovider -n 4 --dist worksteal --cov --cov-report= || echo "(some tests failed: coverage still reported)"
	$(PY) -m coverage combine -q || true
	$(PY) -m coverage report --include='bot/*,handlers/*' --skip-covered --sort=cover | tail -40
	@for part in 'bot/*,handlers/*' 'bot/domain/*'; do \
	  $(PY) -m coverage json -q --include="$$part" -o $(VENV)/coverage-totals.json && $(PY) -c "import json; \
	  t = json.load(open('$(VENV)/coverage-totals.json'))['totals']; lines = 100 * t['covered_lines'] / t['num_statements']; \
	  print(f\"$$part: {lines:.1f} % of lines, {100 * t['covered_branches'] / max(1, t['num_branches']):.1f} % of branches\")"; \
	done

eval: $(STAMP)
	$(PY) -m tests.bench.nl_eval

bench: $(STAMP) system-deps
	$(PY) -m tests.bench.ack_latency
	$(PY) -m tests.bench.slow_clients

# Fault injection (a few minutes): bot and Redis SIGKILLed, API server faults, Slack 429s; see tests/chaos/.
# CHAOS_LAUNCHES=N sizes it. `make test` runs only its short crash test (tests/chaos/test_crash_*.py).
chaos: $(STAMP) system-deps
	CHATOPS_CHAOS=1 $(PY) -m pytest -q -p no:cacheprovider -s tests/chaos

# `exec`: make's shell gives way, so a closed terminal's SIGHUP reaches the demo directly.
demo: $(RUNTIME_STAMP)
	@exec $(VENV)/bin/chatops demo $(DEMO_ARGS)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache
