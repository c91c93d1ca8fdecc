"""minigrad.viz imports without torch, a display or a browser, and leaves pyplot alone."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_needs_no_torch_display_or_pyplot():
    env = {key: value for key, value in os.environ.items()
           if key not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")}
    code = ("import sys, minigrad.viz\n"
            "assert 'torch' not in sys.modules, 'minigrad.viz imported torch'\n"
            "assert 'matplotlib.pyplot' not in sys.modules, 'minigrad.viz imported pyplot'\n"
            "w = minigrad.viz.finite_difference_explorer(abs, lambda x: 1.0, 1.0)\n"
            "assert w.output.outputs[0]['data']['image/png']\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_no_torch_import_statement_under_minigrad():
    # The library supports torch models by duck typing only (a pre-stop hook checks the same).
    offenders = [f"{path}:{number}" for path in (ROOT / "minigrad").rglob("*.py")
                 for number, line in enumerate(path.read_text().splitlines(), start=1)
                 if line.lstrip().startswith(("import torch", "from torch"))]
    assert offenders == []
