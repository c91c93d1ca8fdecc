"""Entry point of the untrusted grading process: run the answer cells, call the tasks, send arrays.

    python -I harness.py IN_DIR OPTIONS_JSON

IN_DIR (read-only) holds ``plan.json`` (the assignment whose ``sandbox.py`` defines the calls,
cells to execute, tasks with their calls and case settings) and ``task<k>.bin`` (the input
arrays of task k, keys ``c<case>_<name>``, in ``packed.py``'s format). Everything goes back as
records on the pipe ``options["result_fd"]``: a header line ``NAME JSON_BYTES ARRAY_BYTES`` and
the two payloads. NAME is ``ready`` (before any student code), ``cell<i>``
(after cell i, with its error if it raised), ``task<k>`` (per-case errors and dtypes, and the
returned arrays, packed) and ``done``. Nothing is written to disk, so nothing the student's code
does to the file system can lose a result. The trusted runner times every step from the arrival
of these records; student code can write to the pipe too, which at most spoils its own results.

The prologue (limits, dropping root, the import guard) runs before any student code.
"""
import builtins
import json
import linecache
import os
import resource
import sys

# the folder that holds ``autograder/sandbox`` (this file's package) and
# ``autograder/assignments/<assignment>/sandbox*.py``: all of the grader a sandbox can see
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

LIMITS = {
    "as": resource.RLIMIT_AS,
    "nproc": resource.RLIMIT_NPROC,
    "nofile": resource.RLIMIT_NOFILE,
    "fsize": resource.RLIMIT_FSIZE,
    "core": resource.RLIMIT_CORE,
}


def apply_limits(limits):
    """Set soft = hard limits, so student code cannot raise them again."""
    for name, value in limits.items():
        if name == "cpu":
            resource.setrlimit(resource.RLIMIT_CPU, (int(value), int(value) + 1))
        elif name in LIMITS:
            resource.setrlimit(LIMITS[name], (int(value), int(value)))


def drop_root(uid, writable_dirs):
    """Become an unprivileged user (RLIMIT_NPROC is not enforced for root)."""
    for path in writable_dirs:
        os.chmod(path, 0o1777)
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise SystemExit("harness: could not drop privileges")


def load_job(in_dir):
    """(plan, inputs) of a job folder: plan.json and task<k>.bin (cold start, one job per process)."""
    from autograder.sandbox import packed

    with open(os.path.join(in_dir, "plan.json")) as fh:
        plan = json.load(fh)
    inputs = []
    for k in range(len(plan["tasks"])):
        with open(os.path.join(in_dir, f"task{k}.bin"), "rb") as fh:
            inputs.append(packed.unpack(fh.read()))
    return plan, inputs


def preload(assignment_folder):
    """Import what every job needs while the interpreter's files are readable: NumPy (before
    student code, so the saving functions are the real ones), the calls, the assignment's
    sandbox module. -> that module."""
    import importlib

    import numpy  # noqa: F401
    from autograder.sandbox import calls, cells, guard, packed  # noqa: F401
    guard.preimport()   # a warm sandbox's children then block complex numbers at no cost
    return importlib.import_module(f"autograder.assignments.{assignment_folder}.sandbox")


def main(argv):
    in_dir, options = argv[1], json.loads(argv[2])
    plan, inputs = load_job(in_dir)
    run_job(plan, inputs, options, preload(plan["assignment"]))


def run_job(plan, inputs, options, assignment):
    """Run one job's cells and tasks in this process (it ends with it): `assignment` is the
    assignment's imported sandbox module, options the trusted side's (fds, uid, limits...)."""
    from autograder.sandbox import calls, cells, guard, packed

    result_fd = options["result_fd"]
    # taken now, before student code can replace them
    getpid, exit_now, write_fd, read_fd = os.getpid, os._exit, os.write, os.read
    pack, dumps = packed.pack, json.dumps
    harness_pid = getpid()

    def only_harness():
        # a child forked by student code returns into this loop too: it must not carry on
        # running tasks, writing results or reporting progress alongside the real harness
        if getpid() != harness_pid:
            exit_now(0)

    def send(name, payload=None, arrays=None):
        only_harness()
        body = dumps(payload).encode() if payload is not None else b""
        packed_arrays = pack(arrays) if arrays is not None else b""
        data = memoryview(b"%s %d %d\n" % (name.encode(), len(body), len(packed_arrays)) + body + packed_arrays)
        while len(data):
            data = data[write_fd(result_fd, data):]

    # bound now: an answer cell could otherwise replace a call, or the table of calls, and make
    # up what the grader measures (the functions the calls use stay as reachable as ever)
    run_case, describe_error, call_table = calls.run_case, calls.describe_error, dict(assignment.CALLS)

    if options.get("uid") is not None and os.getuid() == 0:
        drop_root(options["uid"], options.get("writable", []))
    apply_limits(options.get("limits", {}))
    if options.get("scratch"):
        os.chdir(options["scratch"])

    guard.install(options.get("forbidden", []))
    send("ready")

    namespace = {"__name__": "__main__", "__builtins__": builtins, "get_ipython": cells.get_ipython}
    skip = set(options.get("skip_cells", []))
    for i, cell in enumerate(plan["cells"]):
        if i in skip:
            continue
        filename = f"<cell {cell['grade_id']}>"
        source = cells.to_python(cell["source"])
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        error = None
        try:
            exec(compile(source, filename, "exec"), namespace)
        except BaseException as exc:  # noqa: BLE001 - a failing cell must not stop the others
            only_harness()
            error = describe_error(exc)
        send(f"cell{i}", {"error": error})

    for k, task in enumerate(plan["tasks"]):
        if k < options.get("first_task", 0):
            continue
        fns, missing = [], None
        for name in task["functions"]:
            fn = namespace.get(name)
            if not callable(fn):
                what = "is not defined" if fn is None else f"is a {type(fn).__name__}, not a function"
                missing = {"type": "NameError", "message": f"{name} {what}", "cell": None,
                           "line": None, "code": None, "missing_function": name}
            fns.append(fn)
        if task.get("measure_memory"):
            # the trusted side measures this task's memory from outside: it resets the kernel's
            # peak, then lets the task begin (a byte on this pipe, whose write end only it holds)
            try:
                if read_fd(options["measure_fd"], 1) != b"m":
                    exit_now(0)
            except (OSError, KeyError, TypeError):
                exit_now(0)
        results, arrays = [], {}
        for i, params in enumerate(task["cases"]):
            if missing:
                results.append({"error": missing, "dtypes": {}})
                continue
            case_arrays = {key.split("_", 1)[1]: value for key, value in inputs[k].items()
                           if key.split("_", 1)[0] == f"c{i}"}
            outputs, dtypes, error = run_case(call_table, task["call"], fns, case_arrays, params)
            only_harness()
            results.append({"error": error, "dtypes": dtypes})
            arrays.update({f"c{i}_{key}": value for key, value in outputs.items()})
        send(f"task{k}", {"cases": results}, arrays)
    send("done")


if __name__ == "__main__":
    main(sys.argv)
