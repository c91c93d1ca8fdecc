"""Executing a notebook in a fresh Jupyter kernel for a test, as Run All would.

The kernel gets its own Jupyter/IPython folders under the test's work folder, no
NBGRADER_EXECUTION (so the test cells behave as in a student's Lab) and one BLAS thread: with
pytest-xdist's two workers on two cores, threaded BLAS on small matrices spins for the other
worker's core and runs many times slower. The test process's environment is restored after.
"""
import os
import time

import jupytext
from nbclient import NotebookClient

ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
_KERNEL_DIRS = ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR", "IPYTHONDIR")


def run_notebook(notebook, workdir, timeout=300, **client_options):
    """Execute every cell of `notebook` (in place) with `workdir` as its folder; returns it."""
    saved = {key: os.environ.get(key) for key in ("NBGRADER_EXECUTION", *_KERNEL_DIRS, *ONE_THREAD)}
    os.environ.pop("NBGRADER_EXECUTION", None)
    os.environ.update(ONE_THREAD)
    for key in _KERNEL_DIRS:
        os.environ[key] = str(os.path.join(workdir, key.lower()))
    try:
        NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(workdir)}}, **client_options).execute()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return notebook


def run_source_notebook(path, workdir, timeout=300):
    """Run All on the jupytext source at `path`; prints how long it took and returns the text its
    code cells printed (streams and plain-text results), in order, as one string."""
    notebook = jupytext.read(path)
    started = time.perf_counter()
    run_notebook(notebook, workdir, timeout=timeout)
    print(f"\nRun-All of {os.path.basename(path)}: {time.perf_counter() - started:.1f} s")
    return "".join(out.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                   for out in cell.outputs)
