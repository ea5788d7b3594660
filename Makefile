# The few commands people type. Each creates .venv and installs into it first, so they work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# uv resolves this set in a second; pip's resolver back-tracks for minutes over moto's and
	# aiobotocore's pins and can end on releases that no longer build.
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

demo: $(STAMP)  ## run notebooks/quickstart.ipynb against the embedded S3 server, write build/
	$(BIN)/python scripts/demo.py

test: $(STAMP) browser  ## the whole test suite
	$(BIN)/python -m pytest

# The panel's browser test drives Debian's chromium; install it where it is missing and we may.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "The browser test needs chromium: sudo apt-get install chromium" >&2; fi; }

lint: $(STAMP)
	$(BIN)/ruff check dreambolt_magic tests scripts benchmarks
	$(BIN)/mypy

bench: $(STAMP)  ## every case on every server and profile; narrow it with e.g. ARGS="--size small --cases many"
	$(BIN)/python benchmarks/run.py $(ARGS)

clean:
	rm -rf $(VENV) build .pytest_cache
