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

# Students work on copies in $(COURSE)/workspace: building regenerates release/, never workspace/.
# The student's Lab runs without nbgrader's instructor extensions (student/jupyter-config), and
# as root (containers) with --allow-root, as the tests do.
COURSE ?= course
LAB ?= $(VENV)/bin/jupyter lab
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
lab: $(STAMP)
	$(PY) -m autograder build --course $(COURSE)
	$(PY) -m autograder workspace --course $(COURSE)
	JUPYTER_CONFIG_PATH=$(abspath student/jupyter-config) \
	  $(LAB) --ServerApp.root_dir=$(COURSE)/workspace $(ALLOW_ROOT)

bench: $(STAMP)
	$(PY) benchmarks/bench_minigrad.py
	$(PY) benchmarks/bench_viz.py
	$(PY) benchmarks/bench_grading.py

# Keeps course/workspace: that is the students' own work.
clean:
	rm -rf build artifacts .pytest_cache
	@if [ -d course ]; then find course -mindepth 1 -maxdepth 1 ! -name workspace -exec rm -rf {} +; fi
