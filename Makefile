# Two commands from a fresh clone:
#   make run   — the application on its embedded defaults (SQLite, ORM broker, console e-mail)
#   make test  — installs what the tests need (Dovecot, Chromium) and runs the whole suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

# The translation catalogues (locale/*.po) are compiled here, never committed as .mo files.
.PHONY: run test venv bytecode messages system-test-deps lint format benchmark-ingestion benchmark-scale prod-check mutation

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

venv: $(VENV)/.installed

# The project's own bytecode, as pip compiles every installed package's: where the environment
# sets PYTHONDONTWRITEBYTECODE, every command would otherwise compile ~80 modules on start
# (~50 ms). Out-of-date files are only ever ignored, never used.
bytecode: venv
	$(PY) -m compileall -q -j 0 config organizations reception invoices manage.py

.env:
	cp .env.example .env

run: venv .env messages bytecode
	$(PY) manage.py migrate --no-input
	$(PY) manage.py setup_schedules
	$(PY) manage.py collectstatic --no-input -v0
	@echo
	@echo "Admin: http://$(HOST):$(PORT)/admin/  — para crear un usuario administrador:"
	@echo "  $(PY) manage.py createsuperuser"
	@echo
	$(PY) manage.py serve --host $(HOST) --port $(PORT)

# gettext's msgfmt compiles the .po catalogues; installed only where it is missing.
messages: venv
	@command -v msgfmt >/dev/null || { \
	  apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    gettext >/dev/null; }
	DEBUG=True $(PY) manage.py compilemessages --ignore=.venv -v0

system-test-deps:
	@command -v dovecot >/dev/null && command -v chromium >/dev/null \
	  && command -v msgfmt >/dev/null || { \
	  apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    dovecot-imapd dovecot-pop3d chromium fonts-dejavu-core gettext >/dev/null; }

test: venv system-test-deps messages bytecode
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports
	DEBUG=True $(PY) manage.py makemigrations --check --dry-run -v0
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

# Django's deployment checks (warnings fail) with README's production environment, or with
# the environment file of a real deployment: make prod-check PROD_ENV=/etc/recepcion/env
prod-check: venv
	$(PY) deploy/prod_check.py $(PROD_ENV)

lint:
	$(PY) -m ruff check . && $(PY) -m ruff format --check . && $(VENV)/bin/lint-imports

format:
	$(PY) -m ruff check --fix . && $(PY) -m ruff format .

# Scripts, not tests: see benchmarks/README.md (they create and drop their own database).
benchmark-ingestion: venv system-test-deps bytecode
	$(PY) benchmarks/ingestion.py

benchmark-scale: venv system-test-deps bytecode
	$(PY) benchmarks/scale.py

# Mutation testing of the risky modules, one at a time with their own tests; prints the kill rate
# per module and fails under 85 %. MODULES="nit status" runs some; see tests/mutation/README.md.
MODULES ?=
mutation: venv
	$(PY) -m tests.mutation.run $(MODULES)
