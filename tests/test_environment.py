"""The two ways of installing the kit (pip via pyproject.toml, conda via environment.yml) agree."""
import pathlib
import re
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def pyproject_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return dict(line.split("==") for line in project["dependencies"])


def environment_pins():
    pins = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        match = re.match(r"^\s+-\s+([A-Za-z0-9_.\-]+)==([^\s#]+)\s*$", line)
        if match:
            pins[match.group(1)] = match.group(2)
    return pins


def test_every_dependency_is_pinned_exactly():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    loose = [d for d in project["dependencies"] if "==" not in d]
    assert not loose, f"pin these in pyproject.toml: {loose}"


def test_environment_yml_lists_the_same_pins_as_pyproject():
    assert environment_pins() == pyproject_pins()


def test_environment_yml_uses_python_311():
    assert re.search(r"^\s+-\s+python=3\.11\s*$", (ROOT / "environment.yml").read_text(), re.M)


def test_torch_is_pinned_to_a_version_with_a_cpu_wheel():
    # An unpinned torch resolves to a multi-GB CUDA build; the Makefile installs this pin first.
    assert pyproject_pins()["torch"] == "2.13.0"
    assert '"torch==2.13.0"' in (ROOT / "Makefile").read_text()


def test_minigrad_never_imports_torch():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "minigrad").rglob("*.py")
                 if re.search(r"^\s*(import torch|from torch)", p.read_text(), re.M)]
    assert not offenders, f"minigrad must stand on NumPy alone: {offenders}"
