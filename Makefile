# The two README commands live here: `make demo` and `make test`. Each sets up what it needs first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint setup bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

# Until the web app lands (issue 5) the demo runs the engine end to end in the terminal:
# it calibrates a published data set and simulates adaptive tests on the calibrated bank.
demo: $(STAMP)
	$(BIN)/thetapath calibrate tests/adaptive/data/lsat7.csv --model 2pl --out $(VENV)/lsat7-bank.json
	cat $(VENV)/lsat7-bank.json
	$(BIN)/thetapath simulate --synthetic-bank 500 --examinees 300 --seed 1 --se 0.3 --cut 0.5

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python bench/cat.py
	$(BIN)/python bench/calibration.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
