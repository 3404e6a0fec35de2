# Two entry points: `make demo` (set up, then run the main job on the bundled sample data) and
# `make test` (set up, then run the whole test suite). Both are idempotent.
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= out/demo

.PHONY: setup setup-test demo test test-fast bench clean

setup:
	@bash scripts/setup.sh

setup-test:
	@WITH_CHROMIUM=1 bash scripts/setup.sh

demo: setup
	$(BIN)/onellm-data demo --out $(OUT)

test: setup-test
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "slow or not slow" tests

test-fast: setup-test
	$(BIN)/python -m pytest -q -m "not slow" tests

bench: setup
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf out .pytest_cache
