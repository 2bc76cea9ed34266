# mouthsync: make demo | make test | make lint | make bench
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VIDEO ?= ../shared/data/clips/retalking_face2.mp4
OUT ?= out/demo
JOBS ?= 2

.PHONY: demo test test-fast lint bench clean

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "need $(PY) (Python 3.11)"; exit 2; }
	@test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	@VIDEO="$(VIDEO)" OUT="$(OUT)" $(BIN)/python -m mouthsync.demo

test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/python -m pytest -n $(JOBS) --dist loadfile

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench || true

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf out .pytest_cache
