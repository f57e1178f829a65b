"""Run a student's notebook in a bubblewrap sandbox and judge the hidden checks outside it.

Pieces (all used by ``autograder.grading`` and, through :class:`SandboxedExecute`, by plain
``nbgrader autograde`` with the course configuration):

* :class:`Sandbox` - one per graded notebook: a private run directory, the sandbox's copy of
  ``autograder`` (``harness.py`` + the day's *probes* only: judges, references and quiz
  answers are stripped out, see :func:`probe_only_source`), and a judge server (a thread in
  this trusted process, listening on a unix socket in the run directory).
* :class:`SandboxKernelManager` - a Jupyter kernel manager that starts ipykernel inside
  ``bwrap``: read-only system and Python, no network, no repository, gradebook or other
  submissions, a private writable scratch directory, its own PID namespace, rlimits on
  memory, processes, file size and open files, a watchdog on process count and memory,
  ZeroMQ over unix sockets (``ipc``) so no network is needed.
* :func:`execute_notebook` - runs cells one at a time with a per-cell and a per-notebook wall
  time limit; a cell that ignores an interrupt, kills or crashes the kernel is recorded, the
  kernel is restarted, the earlier student cells are replayed, and grading goes on after it.

Inside the sandbox a hidden-test cell's ``check(assignment, exercise, obj)`` runs the probe
(student code on harness-chosen inputs), sends the plain data over the socket and gets back
the trusted verdict. The first data received for an exercise is the one that counts;
judging happens here, so nothing in the kernel can change a score except producing correct
outputs. A sandbox that cannot be set up raises :class:`SandboxError`: there is no fallback.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import fcntl
import json
import os
import shutil
import signal
import site
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(__file__).resolve().parent
MAX_MESSAGE = 256 * 2**20
SLOT_DIR = Path(tempfile.gettempdir()) / "course-sandbox-slots"
BASE_UID = 61000
N_SLOTS = 64


class SandboxError(RuntimeError):
    """The sandbox cannot be set up: grading must stop (never run unsandboxed)."""


@dataclass
class Limits:
    """Resource limits for one graded notebook (environment overrides: COURSE_*)."""

    cell_timeout: float = float(os.environ.get("COURSE_CELL_TIMEOUT", "120"))
    notebook_timeout: float = float(os.environ.get("COURSE_NOTEBOOK_TIMEOUT", "900"))
    interrupt_grace: float = 5.0
    memory_bytes: int = int(os.environ.get("COURSE_SANDBOX_MEMORY", str(16 * 2**30)))  # RLIMIT_AS per process (torch maps ~4 GiB)
    total_memory_bytes: int = int(os.environ.get("COURSE_SANDBOX_TOTAL_MEMORY", str(8 * 2**30)))  # watchdog, RSS sum
    max_processes: int = 24  # watchdog: processes (not threads) in the sandbox
    max_tasks: int = 160  # RLIMIT_NPROC (threads count too)
    file_size: int = 512 * 2**20  # RLIMIT_FSIZE
    open_files: int = 1024
    max_restarts: int = 4
    output_bytes: int = 200_000  # per cell, kept in the graded notebook
    threads: int = 1  # OMP/MKL/torch intra-op threads (parallel workers share the cores)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# ---------------------------------------------------------------------------- wire format
_DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
           "float16", "float32", "float64", "complex64", "complex128"}


def encode_plain(value: Any) -> Any:
    """Plain data -> JSON-able structure (arrays as base64 bytes). Used inside the sandbox."""
    if isinstance(value, np.ndarray):
        arr = np.ascontiguousarray(value)
        if arr.dtype.name not in _DTYPES:
            return {"__object__": f"ndarray[{arr.dtype}]"}
        return {"__nd__": [arr.dtype.name, list(arr.shape), base64.b64encode(arr.tobytes()).decode()]}
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return {"__float__": repr(v)} if v != v or v in (float("inf"), float("-inf")) else v
    if value is None:
        return None
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, (list, tuple)):
        return [encode_plain(v) for v in value]
    if isinstance(value, dict):
        return {str.__str__(str(k)): encode_plain(v) for k, v in value.items()}
    return {"__object__": type(value).__name__}


def decode_plain(value: Any, depth: int = 0) -> Any:
    """The trusted side: JSON structure -> plain data (only numpy arrays and builtins)."""
    if depth > 64:
        raise ValueError("probe data nested too deeply")
    if isinstance(value, list):
        return [decode_plain(v, depth + 1) for v in value]
    if isinstance(value, dict):
        if set(value) == {"__nd__"}:
            dtype, shape, data = value["__nd__"]
            if dtype not in _DTYPES or not all(isinstance(s, int) and s >= 0 for s in shape):
                raise ValueError("bad array in probe data")
            arr = np.frombuffer(base64.b64decode(data), dtype=np.dtype(dtype))
            return arr.reshape(shape).copy()
        if set(value) == {"__float__"}:
            return float(value["__float__"])
        return {str(k): decode_plain(v, depth + 1) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(f"unexpected {type(value).__name__} in probe data")


def _send_message(sock: socket.socket, payload: dict) -> None:
    data = json.dumps(payload).encode()
    sock.sendall(struct.pack(">Q", len(data)) + data)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(1 << 20, n - got))
        if not chunk:
            raise ConnectionError("connection closed")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _recv_message(sock: socket.socket) -> dict:
    (size,) = struct.unpack(">Q", _recv_exact(sock, 8))
    if size > MAX_MESSAGE:
        raise ValueError(f"probe message of {size} bytes is over the limit")
    return json.loads(_recv_exact(sock, size))


# ---------------------------------------------------------------------------- probe-only checks
def probe_only_source(source: str) -> str:
    """The day's checks module without judges, references or quiz answers.

    Keeps ``REGISTRY = Registry(...)`` and every top-level definition or import reachable from
    a probe; each ``@REGISTRY.exercise(name, probe)`` judge becomes a stub; each
    ``REGISTRY.quiz(name, answer, explanation)`` loses its answer.
    """
    return _strip(source, None)[0]


def sandbox_sources(assignment: str) -> dict[str, str]:
    """Every ``autograder`` module the sandbox gets: path -> source.

    The day's probe-only checks module, plus, for each ``autograder.*`` module it imports (other
    days' checks, ``autograder.reference``), a copy stripped down to the names the probes reach.
    ``harness.py`` is copied whole (it holds no answers).
    """
    wanted: dict[str, set[str] | None] = {f"autograder.checks.{assignment}": None}
    done: dict[str, tuple[set[str] | None, str]] = {}
    while True:
        pending = [m for m, r in wanted.items() if m not in done or done[m][0] != r]
        if not pending:
            break
        for mod in pending:
            roots = None if wanted[mod] is None else set(wanted[mod])
            path = PACKAGE.parent / (mod.replace(".", "/") + ".py")
            text, deps = _strip(path.read_text(encoding="utf-8"), roots)
            done[mod] = (roots, text)
            for dep, names in deps.items():
                if dep == "autograder.harness":
                    continue
                if wanted.get(dep, set()) is None:
                    continue
                wanted[dep] = set(wanted.get(dep) or set()) | names
    out = {"autograder/harness.py": (PACKAGE / "harness.py").read_text(encoding="utf-8")}
    for mod, (_, text) in done.items():
        parts = mod.split(".")
        for i in range(2, len(parts)):
            out.setdefault("/".join(parts[:i]) + "/__init__.py", "")
        out["/".join(parts) + ".py"] = text
    return out


def _strip(source: str, roots: set[str] | None) -> tuple[str, dict[str, set[str]]]:
    """Keep what ``roots`` reach (None: the module's probes and REGISTRY); return the imports it needs."""
    tree = ast.parse(source)
    is_root = roots is None
    defs: dict[str, list[ast.stmt]] = {}
    for node in tree.body:
        for name in _bound_names(node):
            defs.setdefault(name, []).append(node)
    if roots is None:
        roots = {"REGISTRY"}
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                for dec in node.decorator_list:
                    if _is_exercise_decorator(dec):
                        roots |= _used_names(dec)
    needed: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        for node in defs.get(name, []):
            if not _is_judge(node) and not isinstance(node, (ast.Import, ast.ImportFrom)):
                todo.extend(_used_names(node) - needed)
    body: list[ast.stmt] = []
    if is_root:
        stub = "def _sandbox_no_judge(data, j):\n    raise RuntimeError('judges do not run in the sandbox')"
        body.append(ast.parse(stub).body[0])
    deps: dict[str, set[str]] = {}
    kept: list[ast.stmt] = []
    for node in tree.body:
        if _is_judge(node):
            if is_root:
                dec = next(d for d in node.decorator_list if _is_exercise_decorator(d))
                body.append(ast.Expr(ast.Call(func=dec, args=[ast.Name("_sandbox_no_judge", ast.Load())], keywords=[])))
        elif _is_quiz(node):
            if is_root:
                call = node.value
                call.args = call.args[:1] + [ast.Constant("?"), ast.Constant("")]
                call.keywords = []
                body.append(node)
        elif isinstance(node, ast.ImportFrom):
            if node.module == "__future__":
                body.append(node)
                continue
            node.names = [a for a in node.names if (a.asname or a.name) in needed]
            if node.names:
                body.append(node)
        elif isinstance(node, ast.Import):
            node.names = [a for a in node.names if (a.asname or a.name).split(".")[0] in needed]
            if node.names:
                body.append(node)
        elif _bound_names(node) & needed:
            body.append(node)
            kept.append(node)
    for node in body:  # which autograder modules, and which of their names, the kept code uses
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("autograder") and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                if (PACKAGE.parent / (sub.replace(".", "/") + ".py")).exists():
                    local = alias.asname or alias.name
                    attrs = {a.attr for k in kept for a in ast.walk(k)
                             if isinstance(a, ast.Attribute) and isinstance(a.value, ast.Name) and a.value.id == local}
                    deps.setdefault(sub, set()).update(attrs)
                else:
                    deps.setdefault(node.module, set()).add(alias.name)
    future = [n for n in body if isinstance(n, ast.ImportFrom) and n.module == "__future__"]
    module = ast.Module(body=future + [n for n in body if n not in future], type_ignores=[])
    ast.fix_missing_locations(module)
    head = "# Generated by autograder.sandbox: what the probes need only (no judges, references or answers).\n"
    return head + ast.unparse(module) + "\n", deps


def _bound_names(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    return set()


def _used_names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _is_exercise_decorator(dec: ast.expr) -> bool:
    return (
        isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute) and dec.func.attr == "exercise"
        and isinstance(dec.func.value, ast.Name) and dec.func.value.id == "REGISTRY"
    )


def _is_judge(node: ast.stmt) -> bool:
    return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
        _is_exercise_decorator(d) for d in node.decorator_list
    )


def _is_quiz(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Attribute) and node.value.func.attr == "quiz"
    )


_STUB = '''"""The sandbox's stand-in for the course's `autograder` package.

`check` runs the probe (your code on inputs the grader chooses) and sends the results to
the grader, which judges them outside this kernel and answers with its verdict.
"""
import json as _json
import socket as _socket
import struct as _struct

ASSIGNMENT = {assignment!r}
_SOCKET = {socket!r}


def registry(assignment=ASSIGNMENT):
    import importlib
    return importlib.import_module("autograder.checks." + ASSIGNMENT).REGISTRY


def check(assignment, exercise, obj):
    from autograder.sandbox_wire import encode_plain
    data = registry().probe(exercise, obj)
    payload = _json.dumps({{"exercise": str(exercise), "data": encode_plain(data)}}).encode()
    with _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM) as s:
        s.connect(_SOCKET)
        s.sendall(_struct.pack(">Q", len(payload)) + payload)
        size = _struct.unpack(">Q", _recv(s, 8))[0]
        reply = _json.loads(_recv(s, size))
    if reply.get("failures"):
        lines = "\\n".join("  - " + m for m in reply["failures"])
        raise AssertionError(f"{{exercise}}: {{len(reply['failures'])}} hidden check(s) failed:\\n{{lines}}")
    print(f"{{exercise}}: all hidden checks passed")


def _recv(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("the grader closed the connection")
        buf += chunk
    return buf
'''

_LAUNCH = '''import os, resource, sys
limits = {limits!r}
for name, value in limits.items():
    resource.setrlimit(getattr(resource, name), (value, value))
_AUDIT = os.open({audit!r}, os.O_WRONLY | os.O_APPEND)
_ALLOWED = {allowed!r}
_PYTHON = {python!r}
_FORBIDDEN = {forbidden!r}  # the course itself, flagged even where /tmp counts as scratch
_EVENTS = {{"open", "os.listdir", "os.scandir", "glob.glob", "os.remove", "os.rename", "os.rmdir", "shutil.rmtree",
           "os.mkdir", "os.chmod"}}


def _hook(event, args, _abspath=os.path.abspath, _fsdecode=os.fsdecode, _write=os.write):
    if event in _EVENTS and args and isinstance(args[0], (str, bytes, os.PathLike)):
        try:
            path = _abspath(_fsdecode(args[0]))
        except Exception:
            return
        where = path + "/"
        if not where.startswith(_ALLOWED) or (where.startswith(_FORBIDDEN) and not where.startswith(_PYTHON)):
            _write(_AUDIT, ("COURSE-AUDIT " + event + " " + path.replace("\\n", " ")[:300] + "\\n").encode("utf-8", "replace"))


sys.addaudithook(_hook)
try:  # the heavy imports happen before the first cell, so they never count against a cell's time
    import numpy, torch  # noqa: F401
except Exception:
    pass
sys.argv = ["ipykernel_launcher", *sys.argv[1:]]
import runpy
runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
'''


def _wire_module_source() -> str:
    """encode_plain and its helpers, for the sandbox (decode and judging stay here)."""
    import inspect

    head = "import base64\nfrom typing import Any\n\nimport numpy as np\n_DTYPES = "
    return head + repr(_DTYPES) + "\n\n" + inspect.getsource(encode_plain)


# ---------------------------------------------------------------------------- the sandbox
def _python_paths() -> list[Path]:
    """Directories the kernel needs read-only: the Python installation and its packages."""
    paths = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), Path(sys.executable).resolve().parent}
    for p in site.getsitepackages() + [site.getusersitepackages()]:
        if Path(p).is_dir():
            paths.add(Path(p).resolve())
    for mod in ("torch", "numpy", "ipykernel"):
        try:
            spec = __import__(mod).__file__
            paths.add(Path(spec).resolve().parent.parent)
        except Exception:  # pragma: no cover - optional
            pass
    paths = {p for p in paths if not str(p).startswith("/usr/")}
    # drop paths inside others; never expose the repository itself (only its .venv)
    out = []
    for p in sorted(paths, key=lambda p: len(p.parts)):
        if any(p.is_relative_to(q) for q in out):
            continue
        if p == ROOT or (ROOT.is_relative_to(p) and p != Path("/")):
            raise SandboxError(f"the Python installation {p} contains the course repository; use a venv outside it or in .venv")
        out.append(p)
    return out


class _Slot:
    """A sandbox user id reserved with a lock file (distinct uid => per-sandbox RLIMIT_NPROC)."""

    def __init__(self) -> None:
        SLOT_DIR.mkdir(parents=True, exist_ok=True)
        for n in range(N_SLOTS):
            fh = open(SLOT_DIR / f"{n}.lock", "w")  # noqa: SIM115 - held for the slot's lifetime
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                fh.close()
                continue
            self.fh, self.uid = fh, BASE_UID + n
            return
        raise SandboxError(f"all {N_SLOTS} sandbox slots are in use")

    def release(self) -> None:
        with contextlib.suppress(Exception):
            self.fh.close()


class Sandbox:
    """A run directory + judge server for grading one notebook of ``assignment``."""

    def __init__(self, assignment: str, limits: Limits | None = None, bwrap: str | None = None):
        from autograder import registry

        self.assignment = assignment
        self.limits = limits or Limits()
        self.registry = registry(assignment)
        # judge with the kernel's thread count: some references (a training epoch with Adam) are
        # only reproducible bit for bit with the same number of intra-op threads
        import torch

        torch.set_num_threads(self.limits.threads)
        self.bwrap = bwrap or os.environ.get("COURSE_BWRAP") or shutil.which("bwrap")
        if not self.bwrap or not os.path.exists(self.bwrap):
            raise SandboxError(
                "bubblewrap (bwrap) is not installed: install it (apt-get install bubblewrap); refusing to grade unsandboxed"
            )
        self.privileged = os.geteuid() == 0
        self.slot = _Slot() if self.privileged else None
        self.uid = self.slot.uid if self.slot else os.getuid()
        self.tracked: set[int] = set()  # sandbox processes seen by the watchdog (unprivileged mode)
        if self.privileged:
            _kill_uid(self.uid)  # leftovers of a grader that died while holding this slot
        self.dir = Path(tempfile.mkdtemp(prefix="course-sandbox-"))
        os.chmod(self.dir, 0o755)
        self.home = self.dir / "home"
        self.pkg = self.dir / "pkg"
        self.home.mkdir()
        self._write_package()
        if self.privileged:
            os.chown(self.home, self.uid, self.uid)
            os.chown(self.dir / "ipc", self.uid, self.uid)
        self.socket_path = str(self.dir / "judge.sock")
        self.received: dict[str, Any] = {}  # exercise -> decoded probe data (the first one)
        self.verdicts: dict[str, list[str]] = {}  # exercise -> failures ([] = passed)
        self.requests: dict[str, int] = {}
        self.protocol_errors: list[str] = []
        self.faults: list[str] = []  # watchdog and kernel events, in order
        self._lock = threading.Lock()
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(self.socket_path)
        os.chmod(self.socket_path, 0o777)
        self._server.listen(4)
        self._closing = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    # -- files visible in the sandbox
    def _write_package(self) -> None:
        (self.dir / "ipc").mkdir()
        pkg = self.pkg / "autograder"
        (pkg / "checks").mkdir(parents=True)
        (pkg / "__init__.py").write_text(_STUB.format(assignment=self.assignment, socket=str(self.dir / "judge.sock")))
        (pkg / "sandbox_wire.py").write_text(_wire_module_source())
        for rel, text in sandbox_sources(self.assignment).items():
            if rel == "autograder/__init__.py":
                continue
            (self.pkg / rel).parent.mkdir(parents=True, exist_ok=True)
            (self.pkg / rel).write_text(text, encoding="utf-8")
        limits = {
            "RLIMIT_AS": self.limits.memory_bytes,
            "RLIMIT_NPROC": self._nproc_limit(),
            "RLIMIT_FSIZE": self.limits.file_size,
            "RLIMIT_NOFILE": self.limits.open_files,
            "RLIMIT_CORE": 0,
        }
        audit = self.dir / "audit.log"
        audit.touch()
        os.chmod(audit, 0o666)
        python = tuple(str(p).rstrip("/") + "/" for p in _python_paths())
        allowed = tuple(str(p) for p in _python_paths()) + (
            "/usr/", "/etc/", "/proc/", "/sys/", "/dev/", "/tmp/", "/var/tmp/", "/usr/tmp/",
            "/lib/", "/lib64/", "/lib32/", "/bin/", "/sbin/",
            str(self.dir) + "/")
        (self.pkg / "launch.py").write_text(_LAUNCH.format(
            limits=limits, audit=str(audit), allowed=allowed, python=python, forbidden=(str(ROOT) + "/",)
        ))
        for p in [self.pkg, *self.pkg.rglob("*")]:
            os.chmod(p, 0o755 if p.is_dir() else 0o644)

    def _nproc_limit(self) -> int:
        if self.privileged:
            return self.limits.max_tasks
        # unprivileged: RLIMIT_NPROC counts every task of this uid; allow what already runs
        uid = os.getuid()
        count = 0
        for status in Path("/proc").glob("[0-9]*/status"):
            with contextlib.suppress(OSError):
                text = status.read_text()
                if f"\nUid:\t{uid}\t" in text:
                    count += int(text.split("\nThreads:\t")[1].split("\n")[0])
        return count + self.limits.max_tasks

    def command(self, argv: list[str]) -> list[str]:
        """The bwrap command line that runs ``argv`` inside the sandbox."""
        cmd = [self.bwrap, "--ro-bind", "/usr", "/usr"]
        for name in ("bin", "sbin", "lib", "lib64", "lib32"):
            p = Path("/") / name
            if p.is_symlink():
                cmd += ["--symlink", os.readlink(p), str(p)]
            elif p.is_dir():
                cmd += ["--ro-bind", str(p), str(p)]
        for etc in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "fonts", "alternatives", "mime.types"):
            cmd += ["--ro-bind-try", f"/etc/{etc}", f"/etc/{etc}"]
        cmd += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
        made: set[Path] = {Path("/"), Path("/tmp")}
        for path in [*_python_paths(), self.dir]:
            for parent in reversed(path.parents):
                if parent not in made:
                    cmd += ["--perms", "0755", "--dir", str(parent)]
                    made.add(parent)
            made.add(path)
            if path == self.dir:
                cmd += ["--bind", str(path), str(path), "--ro-bind", str(self.pkg), str(self.pkg)]
            else:
                cmd += ["--ro-bind", str(path), str(path)]
        cmd += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                "--die-with-parent", "--new-session", "--hostname", "sandbox", "--chdir", str(self.home), "--clearenv"]
        n = str(self.limits.threads)
        env = {
            "HOME": str(self.home), "USER": "student", "LOGNAME": "student", "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(self.pkg), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
            "MPLCONFIGDIR": str(self.home / ".matplotlib"), "MPLBACKEND": "agg", "TMPDIR": "/tmp",
            "OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n, "TORCH_NUM_THREADS": n,
            "JUPYTER_PLATFORM_DIRS": "1", "JUPYTER_RUNTIME_DIR": str(self.home / ".jupyter"),
            "IPYTHONDIR": str(self.home / ".ipython"), "LANG": "C.UTF-8",
        }
        for k, v in env.items():
            cmd += ["--setenv", k, v]
        if self.privileged:
            cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--", "/usr/bin/setpriv",
                    f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups", "--inh-caps=-all",
                    "--bounding-set=-all", "--"]
        else:
            cmd += ["--unshare-user", "--"]
        return cmd + argv

    def kernel_argv(self) -> list[str]:
        return [sys.executable, str(self.pkg / "launch.py"), "-f", "{connection_file}",
                "--HistoryManager.enabled=False", "--IPKernelApp.trio_loop=False"]

    def selftest(self) -> None:
        """Check that the sandbox works and isolates; raise SandboxError otherwise."""
        code = (
            "import os, socket, sys\n"
            f"assert not os.path.exists({str(ROOT / 'autograder')!r}), 'repository visible'\n"
            f"open({str(self.home / 'probe.txt')!r}, 'w').write('ok')\n"
            "try:\n    socket.create_connection(('1.1.1.1', 53), timeout=2); sys.exit('network reachable')\n"
            "except OSError:\n    pass\n"
            "print('sandbox ok', os.getuid())\n"
        )
        try:
            out = subprocess.run(self.command([sys.executable, "-c", code]), capture_output=True, text=True, timeout=120)
        except Exception as exc:
            raise SandboxError(f"cannot start the sandbox: {exc}") from exc
        if out.returncode != 0 or "sandbox ok" not in out.stdout:
            raise SandboxError(f"the sandbox does not work here (bwrap exit {out.returncode}): {out.stderr.strip()[-800:]}")
        (self.home / "probe.txt").unlink(missing_ok=True)

    # -- judge server
    def _serve(self) -> None:
        while not self._closing:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(600)
                msg = _recv_message(conn)
                exercise = msg.get("exercise")
                if exercise not in self.registry.exercises:
                    raise ValueError(f"unknown exercise {exercise!r}")
                data = decode_plain(msg.get("data"))
            except Exception as exc:
                with self._lock:
                    self.protocol_errors.append(f"{type(exc).__name__}: {exc}"[:300])
                with contextlib.suppress(Exception):
                    _send_message(conn, {"failures": ["the grader could not read the probe results"]})
                return
            with self._lock:
                self.requests[exercise] = self.requests.get(exercise, 0) + 1
                first = exercise not in self.received
                if first:
                    self.received[exercise] = data
            if first:
                failures = self.registry.judge(exercise, data)
                with self._lock:
                    self.verdicts[exercise] = failures
            else:
                while exercise not in self.verdicts:
                    time.sleep(0.01)
            with contextlib.suppress(Exception):
                _send_message(conn, {"failures": self.verdicts[exercise]})

    def kill_all(self) -> None:
        """SIGKILL every process of this sandbox (bwrap's PID-namespace init included)."""
        if self.privileged:
            _kill_uid(self.uid)
        for pid in sorted(self.tracked):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    def close(self) -> None:
        self.kill_all()
        self._closing = True
        with contextlib.suppress(Exception):
            self._server.close()
        if self.slot:
            self.slot.release()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# ---------------------------------------------------------------------------- kernel manager
from jupyter_client.kernelspec import KernelSpec  # noqa: E402
from jupyter_client.manager import AsyncKernelManager  # noqa: E402
from traitlets import Any as AnyTrait  # noqa: E402


class SandboxKernelManager(AsyncKernelManager):
    """An ipykernel inside bwrap, reached over unix sockets in the sandbox's run directory."""

    sandbox = AnyTrait(None, allow_none=True)

    def __init__(self, **kwargs: Any) -> None:
        sandbox = kwargs.pop("sandbox", None)
        kwargs.setdefault("transport", "ipc")
        super().__init__(**kwargs)
        if sandbox is None:
            raise SandboxError("SandboxKernelManager needs a Sandbox (use autograder.sandbox.SandboxedExecute)")
        self.sandbox = sandbox
        self.transport = "ipc"
        self.ip = str(sandbox.dir / "ipc" / "kernel")
        self.connection_file = str(sandbox.dir / "ipc" / "kernel.json")
        self._watchdog: threading.Thread | None = None

    @property
    def kernel_spec(self) -> KernelSpec:  # type: ignore[override]
        return KernelSpec(argv=self.sandbox.kernel_argv(), display_name="Python 3 (sandboxed)", language="python",
                          interrupt_mode="message", env={}, metadata={})

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = super().format_kernel_cmd([])  # nbclient's extra arguments are in kernel_argv already
        return self.sandbox.command(cmd)

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        kw["env"] = {"PATH": "/usr/bin:/bin"}
        kw.pop("cwd", None)
        if self.sandbox.privileged:  # the kernel runs as the slot's uid and must read its connection file
            os.chown(self.connection_file, self.sandbox.uid, self.sandbox.uid)
        kw["stdout"] = subprocess.DEVNULL
        kw["stderr"] = open(self.sandbox.dir / "kernel.log", "ab")  # noqa: SIM115 - owned by the process
        await super()._async_launch_kernel(kernel_cmd, **kw)
        process = getattr(self.provisioner, "process", None)
        if process is not None:
            self._watchdog = threading.Thread(target=self._watch, args=(process,), daemon=True)
            self._watchdog.start()

    async def _async_kill_kernel(self, restart: bool = False) -> None:
        process = getattr(self.provisioner, "process", None)
        if process is not None:
            for pid in _descendants(process.pid)[1:]:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        self.sandbox.kill_all()
        await super()._async_kill_kernel(restart=restart)

    def _watch(self, process: Any) -> None:
        """Kill the whole sandbox when it holds too many processes or too much memory."""
        lim = self.sandbox.limits
        tick = 0
        while process.poll() is None:
            pids = _descendants(process.pid)
            if not self.sandbox.privileged:
                self.sandbox.tracked.update(pids[1:])
            reason, rss = None, 0
            tick += 1
            if len(pids) > lim.max_processes + 2:  # + bwrap's init and the kernel
                reason = f"too many processes in the sandbox ({len(pids)}; limit {lim.max_processes}): killed"
            elif tick % 4 == 0 and sum(_statm_rss(p) for p in pids) > lim.total_memory_bytes:
                rss = sum(_rss(p) for p in pids)  # resident pages shared after fork count once here
            if reason is None and rss > lim.total_memory_bytes:
                reason = (f"the sandbox used {rss / 2**30:.1f} GiB of memory "
                          f"(limit {lim.total_memory_bytes / 2**30:.1f} GiB): killed")
            if reason:
                self.sandbox.faults.append(reason)
                for pid in pids[1:]:  # the namespace's init first: that kills everything inside
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
                self.sandbox.kill_all()
                with contextlib.suppress(Exception):
                    os.kill(process.pid, signal.SIGKILL)
                return
            time.sleep(0.1)


def _kill_uid(uid: int) -> None:
    """SIGKILL every process whose real uid is ``uid`` (a sandbox slot's own uid), until none is left."""
    for _ in range(100):
        found = False
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/status") as fh:
                    text = fh.read()
                if int(text.split("\nUid:\t", 1)[1].split()[0]) == uid:
                    found = True
                    os.kill(int(entry), signal.SIGKILL)
            except (OSError, IndexError, ValueError):
                continue
        if not found:
            return
        time.sleep(0.02)


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except OSError:
            continue
    return out


def _statm_rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def _rss(pid: int) -> int:
    """Proportional set size (shared pages split between the processes sharing them), else RSS."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


# ---------------------------------------------------------------------------- execution
@dataclass
class CellRun:
    index: int
    status: str  # ok | error | timeout | killed | crashed | skipped | not_run
    detail: str = ""


@dataclass
class Execution:
    cells: list[CellRun] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    restarts: int = 0
    seconds: float = 0.0


def _make_client(nb: Any, sandbox: Sandbox):
    from nbclient import NotebookClient

    class Client(NotebookClient):
        def output(self, outs, msg, display_id, cell_index):  # noqa: ANN001 - nbclient's signature
            size = sum(len(json.dumps(o)) for o in outs)
            if size > sandbox.limits.output_bytes:
                if not any(o.get("name") == "course-truncated" for o in outs):
                    from nbformat.v4 import new_output

                    outs.append(new_output("stream", name="stderr", text="\n[output truncated by the grader]\n"))
                    outs[-1]["name"] = "stderr"
                return None
            return super().output(outs, msg, display_id, cell_index)

    km = SandboxKernelManager(sandbox=sandbox)
    import secrets

    return Client(nb, km=km, timeout=None, allow_errors=True, record_timing=False, startup_timeout=120,
                  shutdown_kernel="immediate", kernel_name="python3",
                  skip_cells_with_tag="course-never-skip-" + secrets.token_hex(16))  # a student's tag skips nothing


def execute_notebook(nb: Any, sandbox: Sandbox, replayable: set[int] | None = None) -> Execution:
    """Execute every code cell of ``nb`` (in place) in the sandbox, one at a time.

    ``replayable``: indices of cells re-run (outputs discarded) in a fresh kernel after a
    kernel death, so the cells after the fatal one see the student's definitions.
    """
    from nbclient.exceptions import DeadKernelError

    lim = sandbox.limits
    start = time.monotonic()
    deadline = start + lim.notebook_timeout
    result = Execution()
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    status: dict[int, CellRun] = {}
    skip: set[int] = set()
    position = 0
    while position < len(code_cells):
        if time.monotonic() > deadline:
            break
        client = _make_client(nb, sandbox)
        km = client.km
        fatal: int | None = None
        try:
            with client.setup_kernel(cleanup_kc=True):  # shut the kernel down on leaving
                # replay the student's earlier cells in a restarted kernel
                for i in code_cells[:position]:
                    if replayable is not None and i in replayable and i not in skip:
                        shadow = nb.cells[i].copy()
                        shadow["outputs"] = []
                        outcome = _run_cell(client, shadow, i, lim, deadline)
                        if outcome.status in ("killed", "crashed"):
                            raise _Dead(i, outcome)
                while position < len(code_cells):
                    i = code_cells[position]
                    if time.monotonic() > deadline:
                        break
                    outcome = _run_cell(client, nb.cells[i], i, lim, deadline)
                    status[i] = outcome
                    position += 1
                    if outcome.status in ("killed", "crashed"):
                        fatal = i
                        break
        except _Dead as dead:
            result.events.append(f"cell {dead.index} killed the kernel again while replaying; it is skipped")
            skip.add(dead.index)
            fatal = -1
        except DeadKernelError as exc:
            if position < len(code_cells):
                i = code_cells[position]
                status[i] = CellRun(i, "crashed", f"the kernel died: {exc}")
                position += 1
                fatal = i
        except Exception as exc:  # the kernel could not start
            sandbox.kill_all()
            if result.restarts == 0 and position == 0 and not result.events:
                result.events.append(f"the kernel did not start ({type(exc).__name__}: {exc}); retrying once")
                if time.monotonic() < deadline:
                    continue
            if position == 0 and result.restarts == 0:
                raise SandboxError(f"the sandboxed kernel failed to start: {type(exc).__name__}: {exc}") from exc
            result.events.append(
                f"the kernel could not be restarted ({type(exc).__name__}: {exc}); the remaining cells were not run"
            )
            break
        if km._watchdog is not None:
            km._watchdog.join(timeout=30)  # its kill, if any, must not reach the next kernel
        if fatal is None:
            break
        if fatal >= 0:
            skip.add(fatal)
            result.events.append(f"cell {fatal}: {status[fatal].detail}")
        if result.restarts >= lim.max_restarts:
            result.events.append(f"the kernel died {result.restarts + 1} times; the remaining cells were not run")
            break
        result.restarts += 1
    for i in code_cells:
        result.cells.append(status.get(i, CellRun(i, "not_run", "not run (an earlier fault or the notebook time limit)")))
        if i not in status:
            nb.cells[i]["outputs"] = []
    if time.monotonic() > deadline:
        result.events.append(f"the notebook time limit ({lim.notebook_timeout:g} s) was reached")
    result.seconds = time.monotonic() - start
    return result


class _Dead(Exception):
    def __init__(self, index: int, outcome: CellRun):
        super().__init__(index)
        self.index, self.outcome = index, outcome


def _run_cell(client: Any, cell: Any, index: int, lim: Limits, deadline: float) -> CellRun:
    """Run one cell with a wall-time limit: interrupt, then kill after a grace period."""
    from nbclient.exceptions import DeadKernelError

    if not cell.source.strip():
        return CellRun(index, "ok")
    cell.outputs = []
    budget = max(1.0, min(lim.cell_timeout, deadline - time.monotonic()))
    state = {"phase": "running"}
    done = threading.Event()
    km = client.km
    process = getattr(km.provisioner, "process", None)

    def watchdog() -> None:
        if done.wait(budget):
            return
        state["phase"] = "interrupted"
        with contextlib.suppress(Exception):
            _interrupt(km)
        if done.wait(lim.interrupt_grace):
            return
        state["phase"] = "killed"
        if process is not None:
            for pid in _descendants(process.pid):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        km.sandbox.kill_all()

    timer = threading.Thread(target=watchdog, daemon=True)
    timer.start()
    faults_before = len(client.km.sandbox.faults)
    try:
        client.execute_cell(cell, index, store_history=True)
    except DeadKernelError:
        done.set()
        timer.join()  # a kill in progress must finish before a new kernel starts under the same uid
        new_faults = client.km.sandbox.faults[faults_before:]
        if state["phase"] == "killed":
            return CellRun(index, "killed",
                           f"ran over the {budget:g} s time limit and ignored the interrupt; the kernel was killed")
        if new_faults:
            return CellRun(index, "killed", new_faults[-1])
        return CellRun(index, "crashed", "the kernel died while running this cell (os._exit, a crash, or a signal)")
    finally:
        done.set()
        timer.join()
    if state["phase"] == "interrupted":
        return CellRun(index, "timeout", f"ran over the {budget:g} s time limit and was interrupted")
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if errors:
        return CellRun(index, "error", f"{errors[-1].get('ename', '')}: {str(errors[-1].get('evalue', ''))[:300]}")
    return CellRun(index, "ok")


def _interrupt(km: Any) -> None:
    """Send an interrupt_request on the control channel (works through the sandbox)."""
    msg = km.session.msg("interrupt_request", content={})
    km._connect_control_socket()
    km.session.send(km._control_socket, msg)


# ---------------------------------------------------------------------------- nbgrader
from nbgrader.preprocessors import Execute  # noqa: E402


class SandboxedExecute(Execute):
    """nbgrader's Execute, run in the sandbox, with test-cell outputs set from the trusted judge.

    Put it in place of ``Execute`` in ``Autograde.autograde_preprocessors`` (see the block at
    the end of ``autograder/nbgrader_config.py``): plain ``nbgrader autograde`` then executes
    in bwrap and ``SaveAutoGrades`` scores each test cell from the out-of-process verdict.
    """

    def preprocess(self, nb: Any, resources: dict) -> tuple[Any, dict]:
        from autograder.grading.verdicts import apply_verdicts

        assignment = resources.get("nbgrader", {}).get("assignment")
        if not assignment:
            raise SandboxError("SandboxedExecute needs the assignment id (run through nbgrader autograde)")
        limits = Limits(cell_timeout=float(self.timeout or Limits().cell_timeout))
        with Sandbox(assignment, limits) as sandbox:
            replayable = {
                i for i, c in enumerate(nb.cells) if c.cell_type == "code" and not c.metadata.get("nbgrader", {}).get("grade")
            }
            execution = execute_notebook(nb, sandbox, replayable)
            records = apply_verdicts(nb, sandbox, execution)
        failed = [r["grade_id"] for r in records if not r["passed"]]
        self.log.info("sandboxed grading: %d of %d test cells passed the trusted checks%s", len(records) - len(failed),
                      len(records), f" (failed: {', '.join(failed)})" if failed else "")
        return nb, resources
