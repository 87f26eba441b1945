# The two everyday commands:  make demo  (serve the demo on http://127.0.0.1:8000)  and  make test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PORT ?= 8000

# What a fresh Debian 12 machine needs besides this folder: Python's venv and make; WeasyPrint's Pango and
# HarfBuzz (PDF letters and reports) and a font; Debian's Chromium for the browser journeys.
SYSTEM_PACKAGES := python3-venv make libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 \
	fonts-dejavu-core chromium

.PHONY: demo test lint check install bench clean-demo system-deps

$(BIN)/.installed: requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-deps -r requirements.lock
	touch $@

install: $(BIN)/.installed

## Install the system packages above with apt-get (root, or sudo); installs nothing when all are there.
system-deps:
	@missing="$$(for p in $(SYSTEM_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null \
	  | grep -q 'install ok installed' || echo $$p; done)"; \
	if [ -z "$$missing" ]; then echo "system packages: all present ($(SYSTEM_PACKAGES))"; exit 0; fi; \
	echo "system packages to install:" $$missing; \
	sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing

## Serve the product with demo data on the embedded default (SQLite, eager tasks); PORT=8001 serves elsewhere.
## A second run keeps the data it finds (the seed is idempotent); make clean-demo starts afresh.
demo: $(BIN)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

## Remove the demo's database and its uploaded and generated files (the embedded default only).
clean-demo:
	rm -f db.sqlite3
	rm -rf var/private
	@echo "demo data removed: the next make demo seeds afresh"

## Run the whole test suite (DATABASE_URL / CELERY_BROKER_URL from the environment; SQLite and eager by default),
## on one worker per core (pytest-xdist; each worker has its own test database). TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= auto
test: $(BIN)/.installed
	$(BIN)/pytest -q -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## What CI checks before the tests: lint, the apps' import layers (import-linter, [tool.importlinter] in
## pyproject.toml), migrations in step with the models, the production settings' deploy check, the OpenAPI schema.
check: lint
	$(BIN)/lint-imports --no-cache --config pyproject.toml
	$(PY) manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=eurohpc.settings.production \
	  SECRET_KEY="check-only-$$(head -c 48 /dev/urandom | base64 | tr -d '/+=\n')" \
	  ALLOWED_HOSTS=aif-grants.example.eu GRANTS_PUBLIC_BASE_URL=https://aif-grants.example.eu DATABASE_URL="$${DATABASE_URL:-sqlite:///$(CURDIR)/db.sqlite3}" \
	  $(PY) manage.py check --deploy --fail-level WARNING
	$(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null

## Build the scale dataset when missing, run every benchmark and the load test, write docs/benchmarks.md.
## DATABASE_URL must name a dedicated PostgreSQL database; BENCH_ARGS=--no-load skips the load test.
bench: $(BIN)/.installed
	$(PY) bench/run_all.py $(BENCH_ARGS)
