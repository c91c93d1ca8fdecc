"""How the untrusted process is started: bubblewrap when it works, a weaker fallback otherwise.

With bubblewrap (Debian package ``bubblewrap``) the student's process sees a private root
filesystem holding only: /usr, the Python installation and the virtualenv (read-only, with
forbidden packages and the trusted ``autograder`` package masked by empty directories), the
in-sandbox harness, the job's input folder (read-only) and output folder, and size-limited tmpfs
scratch space. No network, no other processes (own PID namespace), no course directory, no
gradebook, no other submissions.

Without bubblewrap (or when it cannot create namespaces) the process runs as a plain subprocess in
a scratch directory with the same resource limits and, when the grader runs as root, under a
throwaway unprivileged uid (so it cannot write any course file, signal the grader or fork without
limit). It can still read world-readable files and use the network, and forbidden modules are
refused only by an import hook the student could remove. ``isolation_mode()`` reports which
mode is in use; the grader prints it.
"""
import functools
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass

HARNESS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sandbox")
TRUSTED_PACKAGE = os.path.dirname(os.path.abspath(__file__))
# Packages that come along with a forbidden one (torch ships these as separate top-level names).
COMPANIONS = {"torch": ("functorch", "torchgen")}
# Course packages outside the virtualenv (editable installs) that tasks may allow.
COURSE_PACKAGES = ("minigrad",)


@dataclass(frozen=True)
class Limits:
    """Resource limits of one untrusted process."""
    memory_bytes: int = 1 << 30      # RLIMIT_AS: address space, so a memory bomb gets MemoryError
    processes: int = 16              # RLIMIT_NPROC for the throwaway uid: stops fork bombs
    open_files: int = 64             # RLIMIT_NOFILE
    file_bytes: int = 64 << 20       # RLIMIT_FSIZE: largest file it may write
    scratch_bytes: int = 64 << 20    # size of the tmpfs scratch directory (bubblewrap only)
    cpu_seconds: int = 120           # RLIMIT_CPU backstop; wall-time limits are per step

    def as_options(self):
        return {"as": self.memory_bytes, "nproc": self.processes, "nofile": self.open_files,
                "fsize": self.file_bytes, "core": 0, "cpu": self.cpu_seconds}


def _package_path(name):
    """(path, is_directory) where `name` would be imported from, without importing it."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return list(spec.submodule_search_locations)[0], True
    if spec.origin and os.path.exists(spec.origin):
        return spec.origin, False
    return None


def _under(path, roots):
    return any(os.path.commonpath([path, root]) == root for root in roots)


@functools.lru_cache(maxsize=None)
def _runtime_roots():
    roots = []
    for path in (os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), sys.prefix):
        if not _under(path, ["/usr"]) and path not in roots:
            roots.append(path)
    return tuple(roots)


def bwrap_command(in_dir, out_dir, forbidden, allowed, limits):
    """argv prefix that runs a command inside bubblewrap with the job's folders mounted.

    Inside: /job/in (read-only), /job/out, /grader/sandbox (the harness), /scratch and /tmp."""
    cmd = ["bwrap", "--die-with-parent", "--new-session",
           "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    if os.geteuid() != 0:
        cmd.append("--unshare-user")  # unprivileged: namespaces need a user namespace
    made = {"/"}

    def mount(flag, source, dest):
        # bwrap creates missing parents as 0700; a dropped uid must be able to traverse them
        parents = []
        parent = os.path.dirname(dest)
        while parent not in made:
            parents.append(parent)
            made.add(parent)
            parent = os.path.dirname(parent)
        for path in reversed(parents):
            cmd.extend(["--perms", "0755", "--dir", path])
        cmd.extend([flag, source, dest] if source is not None else [flag, dest])

    mount("--ro-bind", "/usr", "/usr")
    for top in ("/bin", "/sbin", "/lib", "/lib64", "/lib32"):
        if os.path.islink(top):
            cmd += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            cmd += ["--ro-bind", top, top]
    # The scratch /tmp first: a checkout or venv that lives under /tmp is bound on top of it
    # below (mounted the other way round, the tmpfs would hide it).
    cmd += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp"]
    made.update(("/proc", "/dev", "/tmp"))
    roots = _runtime_roots()
    for root in roots:
        mount("--ro-bind", root, root)
    masks = []
    for name in forbidden:
        for package in (name,) + COMPANIONS.get(name, ()):
            found = _package_path(package)
            if found and _under(found[0], roots + ("/usr",)):
                masks.append(found)
    if _under(TRUSTED_PACKAGE, roots + ("/usr",)):
        masks.append((TRUSTED_PACKAGE, True))
    for name in COURSE_PACKAGES:
        found = _package_path(name)
        if name in allowed and found and not _under(found[0], roots + ("/usr",)):
            mount("--ro-bind", found[0], found[0])
    for path, is_dir in masks:
        cmd += (["--tmpfs", path] if is_dir else ["--ro-bind", "/dev/null", path])
    cmd += ["--perms", "1777", "--size", str(limits.scratch_bytes), "--tmpfs", "/scratch"]
    mount("--ro-bind", HARNESS_DIR, "/grader/sandbox")
    mount("--ro-bind", in_dir, "/job/in")
    mount("--bind", out_dir, "/job/out")
    cmd += ["--chdir", "/scratch"]
    return cmd


@functools.lru_cache(maxsize=None)
def bwrap_works():
    """True when bubblewrap is installed and can create the namespaces we need, here and now."""
    if shutil.which("bwrap") is None or os.environ.get("AUTOGRADER_NO_BWRAP"):
        return False
    with tempfile.TemporaryDirectory(prefix="autograder-probe-") as probe:
        cmd = bwrap_command(probe, probe, (), (), Limits())
        cmd += [sys.executable, "-I", "-c", "import numpy"]
        try:
            done = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, timeout=30)
        except (OSError, subprocess.SubprocessError):
            return False
    return done.returncode == 0


def isolation_mode():
    """"bubblewrap" or "fallback" (see the module docstring for what each enforces)."""
    return "bubblewrap" if bwrap_works() else "fallback"


def _world_readable(path):
    """True when an unprivileged user can traverse every ancestor of path and read path."""
    path = os.path.realpath(path)
    parts = path.split(os.sep)
    for i in range(2, len(parts) + 1):
        mode = os.stat(os.sep.join(parts[:i]) or os.sep).st_mode
        if not mode & 0o001:
            return False
    return bool(os.stat(path).st_mode & 0o004)


@functools.lru_cache(maxsize=None)
def throwaway_uid_usable():
    """Can the untrusted process run as a throwaway uid? Needs root, and (without bubblewrap,
    where the mounts decide) a Python installation that other users can read."""
    if os.geteuid() != 0:
        return False
    if bwrap_works():
        return True
    return all(_world_readable(p) for p in (sys.base_prefix, sys.prefix))


def sandbox_env(scratch):
    """The whole environment of the untrusted process: nothing inherited from the grader."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": scratch,
        "TMPDIR": scratch,
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": scratch,
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
