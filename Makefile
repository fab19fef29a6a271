# kameng: `make run` brings up a demo marketplace, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= $(shell for p in python3.12 python3.13 /root/.pyenv/versions/3.12*/bin/python3 /root/.pyenv/versions/3.13*/bin/python3 /usr/bin/python3.12 /usr/bin/python3.13; do if $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then echo $$p; break; fi; done)
VENV := .venv
UV := $(VENV)/bin/uv
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install install-test run test suite check lock makemessages compilemessages browser openapi-lint-tools clean bench

$(VENV)/bin/python:
	@test -n "$(PYTHON)" || { echo "kameng needs Python 3.12 or newer (Django 6)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q uv==0.13.9

# Bytecode is compiled at install (--compile-bytecode, and compileall for src/): where
# PYTHONDONTWRITEBYTECODE=1 is set (this machine kind), Python never writes a .pyc itself, and every
# process (each test worker, every `kameng` subprocess, each gunicorn worker) would otherwise
# compile Django, ninja, pydantic and kameng from source again: ~3.5 of its ~5.5 CPU seconds to set
# up Django. A .pyc left stale by an edit is simply not used (Python checks the source's mtime).
$(VENV)/.installed: $(VENV)/bin/python requirements.lock pyproject.toml
	$(UV) pip sync -q --compile-bytecode -p $(VENV)/bin/python requirements.lock
	$(UV) pip install -q -p $(VENV)/bin/python --no-deps -e .
	$(VENV)/bin/python -m compileall -q -j 0 src >/dev/null
	touch $@

install: $(VENV)/.installed

install-test: install

lock:
	$(UV) pip compile -q pyproject.toml --extra test -p $(VENV)/bin/python -o requirements.lock

run: install
	$(VENV)/bin/kameng init
	$(VENV)/bin/kameng demo
	$(VENV)/bin/kameng serve --host $(HOST) --port $(PORT)

browser:
	@# fonts-noto-cjk: the browser suite renders Chinese, and the OCR tests draw Chinese screenshots;
	@# poppler-utils: the complaint tests render the PDF to PNG with pdftoppm
	@command -v chromium >/dev/null && command -v pdftoppm >/dev/null && fc-list :lang=zh 2>/dev/null | grep -q . || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk poppler-utils >/dev/null; }

# Static checks: lint and format (ruff), types (mypy with django-stubs), the layers (import-linter's
# contracts in pyproject.toml: which app may import which). The four run at the same time (mypy, the
# longest, has no cache on a fresh clone); each one's output is printed whole when it ends
# (--output-sync), and any one failing fails `make check`.
CHECKS := check-ruff check-format check-mypy check-imports
.PHONY: $(CHECKS)
check: install
	@$(MAKE) --no-print-directory -j 4 --output-sync=target $(CHECKS)

check-ruff: install
	$(VENV)/bin/ruff check src tests bench
check-format: install
	$(VENV)/bin/ruff format --check src tests bench
check-mypy: install
	$(VENV)/bin/mypy
check-imports: install
	$(VENV)/bin/lint-imports

# The OpenAPI linters (redocly, spectral) that tests/api/test_openapi_lint.py runs against the served
# document: npm packages pinned by tools/openapi-lint/package-lock.json, installed into that folder.
OPENAPI_LINT := tools/openapi-lint
$(OPENAPI_LINT)/node_modules/.installed: $(OPENAPI_LINT)/package.json $(OPENAPI_LINT)/package-lock.json
	@if command -v npm >/dev/null; then \
		cd $(OPENAPI_LINT) && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error && touch node_modules/.installed; \
	else echo "npm is missing: the OpenAPI lint tests skip (and fail under CI)"; fi

openapi-lint-tools: $(OPENAPI_LINT)/node_modules/.installed

# `make test`: the static checks, then the whole suite. `make suite`: the suite alone (.ci/run runs
# `make check` beside its SQLite pass's `make suite`, and its PostgreSQL pass without the checks: they
# do not depend on the database, so CI runs them once).
# The suite runs on every core (pytest-xdist; each worker has its own test database and data
# directory; `--dist worksteal` lets an idle worker take tests queued on a busy one, and
# tests/conftest.py starts the known slow modules first) and prints its 20 slowest tests.
# PYTEST_WORKERS=0 runs it in one process.
PYTEST_WORKERS ?= auto
test: check suite

# PYTHONDONTWRITEBYTECODE is emptied for the run: pytest keeps the test modules it rewrites (assertions)
# as .pyc files only where Python may write bytecode; without them every worker rewrites and compiles
# all ~280 test modules and plugins again (collection 16.2 CPU s per process, 7.0 s from the cache:
# the second pass of .ci/run and every later `make suite` reuse the first one's).
suite: install browser openapi-lint-tools
	@$(VENV)/bin/python -m compileall -q -j 0 src >/dev/null || true  # what changed since (see install)
	PYTHONDONTWRITEBYTECODE= $(VENV)/bin/python -m pytest -n $(PYTEST_WORKERS) $(if $(filter 0,$(PYTEST_WORKERS)),,--dist worksteal) --durations=20 $(PYTEST_ARGS)

# Benchmarks (issue 19): the quick version of each, one summary table; bench/RESULTS.md keeps the full runs.
bench: install
	$(VENV)/bin/python bench/run_all.py $(BENCH_ARGS)

# Translations: source strings are Chinese; src/kameng/locale/en holds the English catalog.
# The compiled .mo is committed, so running kameng never needs gettext; editing the catalog does.
makemessages: install
	@command -v msgfmt >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext >/dev/null; }
	cd src/kameng && KAMENG_DATA_DIR=$(CURDIR)/var DJANGO_SETTINGS_MODULE=kameng.settings ../../$(VENV)/bin/django-admin makemessages -l en --no-location --no-obsolete

compilemessages: install
	@command -v msgfmt >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext >/dev/null; }
	cd src/kameng && KAMENG_DATA_DIR=$(CURDIR)/var DJANGO_SETTINGS_MODULE=kameng.settings ../../$(VENV)/bin/django-admin compilemessages

clean:
	rm -rf $(VENV) var
