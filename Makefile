# Two commands do everything on a fresh machine:
#   make book   set up .venv, execute every notebook (PROFILE=cpu), build _build/html
#   make test   set up .venv, run pytest, execute every notebook with profile=smoke,
#               build the book with warnings as errors
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
export TF_CPP_MIN_LOG_LEVEL ?= 3
export PYTHONWARNINGS ?= ignore::DeprecationWarning

.PHONY: book test setup notebooks html html-strict pytest clean clean-results help

help:
	@echo "make book    execute all notebooks with PROFILE=$(PROFILE) and build the HTML book"
	@echo "make test    pytest + smoke-run every notebook + strict book build"
	@echo "variables:   PROFILE=smoke|cpu|full DATA_DIR=auto|PATH WEIGHTS=auto|imagenet|None|FILE SEED=0"
	@echo "             TORCH=1|0 (install the optional PyTorch extra: checkpoint conversion and its tests)"

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock requirements-torch.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	if [ "$(TORCH)" = 1 ]; then $(BIN)/python -m pip install --quiet -r requirements-torch.txt; fi
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

# pytest includes tests/test_notebooks.py, which executes every notebook with
# profile=smoke into build/notebooks/; the strict book build then renders those.
test: setup
	$(BIN)/python -m pytest -q
	$(MAKE) --no-print-directory html-strict

clean:
	rm -rf _build build/notebooks

clean-results:
	rm -rf results
