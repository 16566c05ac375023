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
TORCH ?= 1
SEED ?= 0
BACKEND ?=
# pytest workers (pytest-xdist; 0: one process). make test runs in one process by default: on 2 cores and
# 24 GiB two workers took 39 min instead of about 60 but held 22 GiB at their peak; make test-fast uses two
TEST_WORKERS ?= 0
FAST_WORKERS ?= 2
ifneq ($(BACKEND),)
export KERAS_BACKEND := $(BACKEND)
endif
export TF_CPP_MIN_LOG_LEVEL ?= 3
export PYTHONWARNINGS ?= ignore::DeprecationWarning

.PHONY: book test test-fast setup mathjax notebooks run-times html html-strict pytest clean clean-results help

help:
	@echo "make book    execute all notebooks with PROFILE=$(PROFILE) and build the HTML book"
	@echo "make test    pytest: smoke-run every notebook, strict book build, every page in headless Chromium"
	@echo "make test-fast  the tests not marked slow, for the edit loop"
	@echo "variables:   PROFILE=smoke|cpu|full DATA_DIR=auto|PATH WEIGHTS=auto|imagenet|None|FILE SEED=0"
	@echo "             TORCH=1|0 (install the optional PyTorch extra: checkpoint conversion and its tests)"
	@echo "             BACKEND=tensorflow|jax (the Keras backend; default: TensorFlow where installed)"
	@echo "python -m mstl_lib weights status|fetch [--profile P]   the ImageNet files the chapters need"

setup: $(VENV)/.installed mathjax

# MathJax served with the book (offline); without npm the book loads it from its CDN.
mathjax: $(VENV)/.installed
	@$(BIN)/python scripts/fetch_mathjax.py || true

$(VENV)/.installed: pyproject.toml requirements.lock requirements-torch.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { echo "make: Python 3.11 is needed; \
	$(PYTHON) is $$($(PYTHON) -c 'import platform; print(platform.python_version())'). Pass PYTHON=python3.11." >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	if [ "$(TORCH)" = 1 ]; then $(BIN)/python -m pip install --quiet -r requirements-torch.txt; fi
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

notebooks: setup
	$(BIN)/python scripts/run_notebooks.py --profile $(PROFILE) --data-dir "$(DATA_DIR)" \
	  --weights "$(WEIGHTS)" --seed $(SEED)

# the landing page includes build/run_times.md: the chapters' measured times
run-times: setup
	$(BIN)/python -c "from mstl_lib.report.run_times import write_page; write_page('$(PROFILE)')"

html: run-times
	$(BIN)/jupyter-book build . --quiet
	@echo "Book: file://$(CURDIR)/_build/html/index.html"

html-strict: run-times
	$(BIN)/jupyter-book build . --quiet -W -n --keep-going

book: notebooks html

pytest: setup
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup --durations=15

# pytest executes every notebook with profile=smoke into a book of its own (tests/book),
# builds it with warnings as errors and checks every page in a browser; build/notebooks/
# and _build/ (your book) are left alone.
test: setup
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup --durations=15

# the edit loop: everything not marked slow (no notebook, book, browser, server or training beyond smoke)
test-fast: setup
	$(BIN)/python -m pytest -q -n $(FAST_WORKERS) --dist loadgroup -m "not slow" --durations=10

clean:
	rm -rf _build build/notebooks build/smoke_book build/screenshots

clean-results:
	rm -rf results
