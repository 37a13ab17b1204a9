# The two README commands live here: `make demo` and `make test`. Each sets up what it needs first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-sqlite lint setup bench clean chromium

$(STAMP): pyproject.toml package.json package-lock.json tools/jsonld-contexts.cjs
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	npm ci --no-audit --no-fund --silent
	mkdir -p app/static/vendor/katex
	cp node_modules/htmx.org/dist/htmx.min.js app/static/vendor/
	cp -r node_modules/katex/dist/katex.min.js node_modules/katex/dist/katex.min.css \
	  node_modules/katex/dist/fonts app/static/vendor/katex/
	node tools/jsonld-contexts.cjs app/credentials/contexts.json
	touch $(STAMP)

setup: $(STAMP)

# The web app on an embedded SQLite database in instance/, with demo accounts, on http://127.0.0.1:5000
demo: $(STAMP)
	$(BIN)/thetapath demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# PostgreSQL for the second run of the database tests (trust auth on this kind of machine)
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -q --no-install-recommends chromium; \
	  else echo "The browser tests need Debian's chromium: sudo apt-get install chromium"; exit 1; fi; }

test: lint chromium
	$(BIN)/pytest
	@$(BIN)/python -c "import psycopg; psycopg.connect('$(PG_URL)').close()" 2>/dev/null || \
	  { echo "PostgreSQL is not reachable at $(PG_URL): start it, set PG_URL, or run 'make test-sqlite'"; exit 1; }
	# layout and figure checks, the engine's command line and the proof checks do not touch the
	# database: they run once, in the SQLite pass
	THETAPATH_TEST_DATABASE_URL=$(PG_URL) $(BIN)/pytest tests/app tests/e2e \
	  --ignore=tests/e2e/test_phone.py --ignore=tests/e2e/test_figures.py \
	  --ignore=tests/app/test_cli_engine.py --ignore=tests/app/test_proofs.py

test-sqlite: lint chromium
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python bench/cat.py
	$(BIN)/python bench/calibration.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
