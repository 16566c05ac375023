# Two commands do everything on a fresh machine:
#   make book   set up .venv, execute every notebook (PROFILE=cpu), build _build/html
#   make test   set up .venv, run pytest: it executes every notebook with profile=smoke,
#               builds that book with warnings as errors and opens every page in
#               headless Chromium (skipped with a notice when Chromium is absent)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PROFILE ?= cpu
DATA_DIR ?= auto
WEIGHTS ?= auto
SEED ?= 0
export TF_CPP_MIN_LOG_LEVEL ?= 3
export PYTHONWARNINGS ?= ignore::DeprecationWarning

.PHONY: book test setup mathjax notebooks html html-strict pytest clean clean-results help

help:
	@echo "make book    execute all notebooks with PROFILE=$(PROFILE) and build the HTML book"
	@echo "make test    pytest: smoke-run every notebook, strict book build, every page in headless Chromium"
	@echo "variables:   PROFILE=smoke|cpu|full DATA_DIR=auto|PATH WEIGHTS=auto|imagenet|None|FILE SEED=0"

setup: $(VENV)/.installed mathjax

# MathJax served with the book (offline); without npm the book loads it from its CDN.
mathjax: $(VENV)/.installed
	@$(BIN)/python scripts/fetch_mathjax.py || true

$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

notebooks: setup
	$(BIN)/python scripts/run_notebooks.py --profile $(PROFILE) --data-dir "$(DATA_DIR)" \
	  --weights "$(WEIGHTS)" --seed $(SEED)

html: setup
	$(BIN)/jupyter-book build . --quiet
	@echo "Book: file://$(CURDIR)/_build/html/index.html"

html-strict: setup
	$(BIN)/jupyter-book build . --quiet -W -n --keep-going

book: notebooks html

pytest: setup
	$(BIN)/python -m pytest -q

# pytest executes every notebook with profile=smoke into a book of its own (tests/book),
# builds it with warnings as errors and checks every page in a browser; build/notebooks/
# and _build/ (your book) are left alone.
test: setup
	$(BIN)/python -m pytest -q

clean:
	rm -rf _build build/notebooks build/smoke_book build/screenshots

clean-results:
	rm -rf results
