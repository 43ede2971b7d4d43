# `make demo` and `make test` each do the whole set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test serve lint format bench bench-solve clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

demo: $(STAMP)
	$(BIN)/wbl demo

test: $(STAMP)
	$(BIN)/python -m pytest

serve: $(STAMP)
	$(BIN)/wbl serve --sample

lint: $(STAMP)
	$(BIN)/ruff check --no-cache .
	$(BIN)/ruff format --check --no-cache .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache .hypothesis *.egg-info

bench: $(STAMP)
	$(BIN)/python -m benchmarks.import_bench --students 1000 10000 50000

# About 50 minutes: our solve, min-cost flow, deferred acceptance, serial dictatorship and
# HiGHS (in its own process) on generated terms of 1,000 / 10,000 / 50,000 students.
bench-solve: $(STAMP)
	$(BIN)/python -m benchmarks.solve_bench --students 1000 10000 50000 --out benchmarks/solve_results.md
