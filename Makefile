# The two everyday commands:  make demo  (serve the demo on http://127.0.0.1:8000)  and  make test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python

.PHONY: demo test lint check install bench clean-demo

$(BIN)/.installed: requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-deps -r requirements.lock
	touch $@

install: $(BIN)/.installed

## Serve the product with demo data on the embedded default (SQLite, eager tasks).
demo: $(BIN)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py runserver 127.0.0.1:8000

## Run the whole test suite (DATABASE_URL / CELERY_BROKER_URL from the environment; SQLite and eager by default).
test: $(BIN)/.installed
	$(BIN)/pytest -q $(PYTEST_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## Build the scale dataset when missing, run every benchmark and the load test, write docs/benchmarks.md.
## DATABASE_URL must name a dedicated PostgreSQL database; BENCH_ARGS=--no-load skips the load test.
bench: $(BIN)/.installed
	$(PY) bench/run_all.py $(BENCH_ARGS)
