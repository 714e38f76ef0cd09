# opcert: two commands on a fresh machine — `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TRANSLATIONS := platform/opcert/translations
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
PG_URL ?= $(OPCERT_TEST_DATABASE_URL)

.PHONY: lock install system-deps translations messages run test lint typecheck pytest clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv

# Exactly what uv.lock says (frozen: never re-resolved here). `--inexact` keeps pip and uv in the venv.
# To upgrade on purpose: `make lock` (or `.venv/bin/uv lock --upgrade-package NAME`), run `make test`, and commit
# pyproject.toml and uv.lock together in a commit of their own.
$(STAMP): pyproject.toml uv.lock | $(BIN)/python
	UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv sync --quiet --frozen --inexact --all-extras --python $(BIN)/python
	touch $(STAMP)

lock: | $(BIN)/python
	$(BIN)/uv lock --upgrade

install: $(STAMP)

# Ticket PDFs embed a CJK font; their tests read pages back with poppler; tests/browser drives Debian's Chromium
# (no CSP violation on any main page). Installed from Debian's packages when missing and we are root (as on the
# project's machines and CI); otherwise say what to install.
CJK_FONT := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
CHROMIUM := /usr/bin/chromium
system-deps:
	@if [ ! -f $(CJK_FONT) ] || ! command -v pdftoppm >/dev/null || [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk poppler-utils chromium; \
	  else echo "please install fonts-noto-cjk, poppler-utils and chromium (sudo apt-get install -y fonts-noto-cjk poppler-utils chromium)"; exit 1; fi; \
	fi

translations: install
	$(BIN)/pybabel compile --statistics -d $(TRANSLATIONS)

# After adding or changing user-facing text: refresh messages.po, then translate its new (empty) entries.
# -w 100: the width messages.po is kept at, so an update rewraps nothing that did not change.
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -w 100 -o $(VENV)/messages.pot .
	$(BIN)/pybabel update -i $(VENV)/messages.pot -d $(TRANSLATIONS) -l en --no-fuzzy-matching -w 100

run: install translations
	$(BIN)/opcert db upgrade
	$(BIN)/opcert demo
	$(BIN)/gunicorn --no-control-socket --workers $(WORKERS) --bind $(HOST):$(PORT) --access-logfile - wsgi:app

# ruff, then the dependency direction between packages (import-linter contracts in pyproject.toml).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

# Every test on SQLite; again on PostgreSQL when OPCERT_TEST_DATABASE_URL is set (CI sets it).
pytest: install translations system-deps
	$(BIN)/pytest
	@if [ -n "$(PG_URL)" ]; then echo "== PostgreSQL run =="; OPCERT_TEST_DATABASE_URL="$(PG_URL)" $(BIN)/pytest --db postgresql; fi

test: lint typecheck pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
