# Two commands do all the set-up: `make demo` and `make test` (see README).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Elsewhere, point this at PyTorch's CPU wheel index (README explains); here the CPU wheel is local.
TORCH_INDEX ?=
# nbgrader runs alembic as a subprocess: the venv's bin/ must be on PATH.
export PATH := $(abspath $(VENV)/bin):$(PATH)

.PHONY: install test demo lab bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "torch==2.13.0" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PY) -m pip install -q -e .
	@if $(PY) -m pip freeze | grep -qi '^nvidia-'; then \
	  echo "error: a CUDA build of torch was installed (nvidia-* packages present)."; \
	  echo "       Remove $(VENV) and run again with TORCH_INDEX set to PyTorch's CPU wheel index (README)."; \
	  exit 1; fi
	@touch $(STAMP)

# One BLAS thread per test worker: threaded BLAS in two workers on two cores thrashes.
test: $(STAMP)
	OPENBLAS_NUM_THREADS=1 $(PY) -m pytest -q -n 2

demo: $(STAMP)
	$(PY) -m autograder demo

lab: $(STAMP)
	$(PY) -m autograder build
	$(VENV)/bin/jupytext --quiet --to ipynb -o course/release/00_tour.ipynb notebooks/00_tour.py
	$(VENV)/bin/jupyter lab --notebook-dir=course/release

bench: $(STAMP)
	$(PY) benchmarks/bench_minigrad.py
	$(PY) benchmarks/bench_viz.py
	$(PY) benchmarks/bench_grading.py

clean:
	rm -rf course build artifacts .pytest_cache
