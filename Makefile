# The project's commands (CONTRACTS.md): install, run, test, bench.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
UV_VERSION := 0.13.9
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

# The test suite's services: the machine's PostgreSQL and Redis unless set.
TEST_DATABASE_URL ?= $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/selfcare)
TEST_REDIS_URL ?= $(or $(REDIS_URL),redis://127.0.0.1:6379)
# Two workers: the machine has two cores; each worker has its own database and queue.
# worksteal: a worker that is done takes tests queued for the other, so the few long
# ones (browser, faults) do not leave one worker running alone at the end.
PYTEST_ARGS ?= -n 2 --dist worksteal
# Benchmarks fill a database of their own, never the development or test one.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/selfcare_bench
BENCH_LOAD_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/selfcare_bench_load

PO_FILES := $(wildcard locale/*/LC_MESSAGES/django.po)
MO_FILES := $(PO_FILES:.po=.mo)

.PHONY: install run test lint typecheck security bench bench-load screenshots messages translations clean

## install: .venv with the locked runtime and test dependencies (a second run changes nothing)
install: $(VENV)/.installed

$(VENV)/.installed: uv.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv && [ "$$($(BIN)/uv --version | cut -d' ' -f2)" = "$(UV_VERSION)" ] \
		|| $(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv sync --frozen --all-groups --python $(BIN)/python
	@touch $@

## translations: compile the .po catalogues (the .mo files are built, never committed)
translations: $(MO_FILES)

locale/%/LC_MESSAGES/django.mo: locale/%/LC_MESSAGES/django.po
	msgfmt --check --output-file $@ $<

## messages: collect new strings from the code into the .po catalogues
messages: install
	$(MANAGE) makemessages --locale it --no-obsolete --no-location --ignore '.venv/*' --ignore 'var/*'

## run: set up, migrate, load the demo data and run web, worker and beat until Ctrl-C
run: install translations
	@mkdir -p var
	$(MANAGE) migrate --noinput
	$(MANAGE) seed_demo
	@exec bin/run-portal

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy .

## security: known vulnerabilities in the locked dependencies (pip-audit) and bandit on the apps (docs/security.md)
security: install
	@bin/audit-dependencies
	@$(BIN)/bandit -c pyproject.toml -r selfcare billing roaming procedures insight manage.py -q

## test: lint, types, security checks, migrations check and the whole suite on PostgreSQL and Redis
test: install translations lint typecheck security
	@# Migrations are compared with the models, not with a database.
	DATABASE_URL=sqlite://:memory: $(MANAGE) makemigrations --check --dry-run
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
		$(BIN)/pytest --create-db --durations=15 $(PYTEST_ARGS)

## bench: the benchmarks of QUALITY.md, each printing its ratio against a baseline of the same run
bench: install translations
	DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/python -m benchmarks $(BENCH)

## bench-load: 200 clients of 20 companies for 60 s through gunicorn (QUALITY.md, "load"; BENCH_LOAD_* to change)
bench-load: install translations
	DATABASE_URL=$(BENCH_LOAD_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/python -m benchmarks.load

## screenshots: the README's pictures: the main pages with the demo data, in Italian and English, into docs/screenshots
screenshots: install translations
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots \
		$(BIN)/pytest --create-db tests/browser/test_screenshots.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache $(MO_FILES)
