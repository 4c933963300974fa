# The two commands a newcomer needs: `make run` (demo portal on http://127.0.0.1:8000) and
# `make test` (lint + the whole test suite). The others are for day-to-day work.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PYTHON := $(VENV)/bin/python
# Rewritten whenever the requirements change, so that pip only runs when it has something to do.
STAMP := $(VENV)/.requirements-installed

# Tests run with DEBUG off, like production, over plain http (the local-only override of
# .env.example, SITE_URL included). The key is for tests only.
TEST_ENV := env -u DEBUG \
	SECRET_KEY=test-only-key-not-secret-6f1c0e9b2d4a4f7e8c3b5a19d0e2f4c6 \
	SECURE_SSL_REDIRECT=0 SESSION_COOKIE_SECURE=0 CSRF_COOKIE_SECURE=0 DOCUMENT_SIGNING_KEY_GENERATE=1 \
	SITE_URL=http://testserver SITE_URL_ALLOW_HTTP=1

# Translation catalogues outside the virtualenv; compilemessages runs only when there are some.
PO_FILES := $(shell find . -path ./$(VENV) -prune -o -name '*.po' -print 2>/dev/null)

.PHONY: help install run test lint fmt bench clean distclean messages check-harfbuzz

help:
	@echo "make run        install, migrate, seed the demo accounts, serve http://127.0.0.1:8000"
	@echo "make test       install, ruff, then the whole pytest suite"
	@echo "make lint       ruff check + format check"
	@echo "make fmt        ruff format + autofix"
	@echo "make bench      run the benchmarks in bench/"
	@echo "make clean      remove caches and collected static files"
	@echo "make distclean  clean, and remove .venv and var/ (the demo database and uploads)"

$(PYTHON):
	@python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python >= 3.11 is required as python3 (found $$(python3 --version 2>&1))." >&2; exit 1; }
	python3 -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt | $(PYTHON)
	$(PYTHON) -m pip install --disable-pip-version-check -r requirements-dev.txt
	@touch $@

install: $(STAMP)

messages: $(STAMP)
ifneq ($(strip $(PO_FILES)),)
	DEBUG=1 $(PYTHON) manage.py compilemessages --ignore=$(VENV) --ignore=var
endif

# WeasyPrint works without libharfbuzz-subset0 but renders certificates about 2.7x slower.
check-harfbuzz:
	@if ! { ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null; } | grep -q libharfbuzz-subset; then \
		echo ""; \
		echo "WARNING: the system library libharfbuzz-subset0 is missing."; \
		echo "  WeasyPrint falls back to slow font subsetting: certificate PDFs render about 2.7x slower."; \
		echo "  Install it with: sudo apt-get install libharfbuzz-subset0"; \
		echo ""; \
	fi

run: messages
	mkdir -p var
	DEBUG=1 $(PYTHON) manage.py migrate
	DEBUG=1 $(PYTHON) manage.py seed_demo
	@$(MAKE) --no-print-directory check-harfbuzz
	DEBUG=1 $(PYTHON) manage.py runserver 127.0.0.1:8000

# DATABASE_URL / REDIS_URL are honoured when set (PostgreSQL, real Celery broker); without them the
# suite runs on SQLite with eager tasks and the tests that need the services skip.
test: messages
	$(VENV)/bin/ruff check .
	$(TEST_ENV) $(VENV)/bin/pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP)
	@shopt -s nullglob; scripts=(bench/[!_]*.py); \
	if [ $${#scripts[@]} -eq 0 ]; then echo "No benchmark in bench/ yet."; exit 0; fi; \
	for script in "$${scripts[@]}"; do \
		echo "== $$script"; \
		$(TEST_ENV) $(PYTHON) "$$script" $(BENCH_ARGS) || exit 1; \
	done

clean:
	rm -rf .pytest_cache .ruff_cache .hypothesis var/staticfiles
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -print0 | xargs -0 rm -rf

distclean: clean
	rm -rf $(VENV) var
