"""One graded notebook's sandbox: its run folder, its copy of ``autograder``, its judge and its log.

The run folder (created by the grader, removed by :func:`~autograder.sandbox.fs.remove_tree`)::

    course-sandbox-XXXX/
        pkg/          read-only in the sandbox: the probe-only ``autograder``, launch.py, sandbox.json
        judge/        read-only in the sandbox: judge.sock, the judge's socket
        ipc-<n>/      writable: the n-th kernel's ZeroMQ sockets and connection file
        empty         an empty file bound over what a day hides (SANDBOX_HIDE)

``home/`` (the kernel's cwd), ``/tmp`` and ``/dev/shm`` are size-limited tmpfs inside the
sandbox; nothing the student writes reaches the host's disk except within ``ipc-<n>/``, which
the watchdog keeps to sockets. Grader files (the kernel's log, the audit) never live in the
sandbox: the kernel's stderr is a pipe.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from autograder.sandbox import bwrap
from autograder.sandbox.fs import remove_tree
from autograder.sandbox.judge import JudgeServer
from autograder.sandbox.kernel import KernelLog
from autograder.sandbox.limits import Limits, SandboxError
from autograder.sandbox.strip import sandbox_sources

ROOT = bwrap.ROOT
INSIDE = Path(__file__).resolve().parent / "inside"
AUDIT_MARK = "COURSE-AUDIT "


class Sandbox:
    """A run folder + judge server for grading one notebook of ``assignment``.

    ``checks_module``: the day's checks (default ``autograder.checks.<assignment>``); ``source``:
    the student's code as the grader read it (for rules such as the softmax ban); ``workdir``: where
    the run folder goes (default: the system's temporary folder).
    """

    def __init__(self, assignment: str, limits: Limits | None = None, bwrap_path: str | None = None, *,
                 checks_module: str | None = None, source: str | None = None, workdir: str | Path | None = None):
        self.assignment = assignment
        self.limits = limits or Limits()
        self.checks_module = checks_module or f"autograder.checks.{assignment}"
        if checks_module is None:
            from autograder import registry

            registry(assignment)  # a known assignment, or KeyError
        self.module = importlib.import_module(self.checks_module)
        self.registry = self.module.REGISTRY
        import torch  # judge with the kernel's thread count: some references are bit-exact only then

        torch.set_num_threads(self.limits.threads)
        self.bwrap = bwrap_path or self.limits.bwrap or shutil.which("bwrap") or ""
        if not self.bwrap or not os.path.exists(self.bwrap):
            raise SandboxError(
                "bubblewrap (bwrap) is not installed: install it (apt-get install bubblewrap); refusing to grade unsandboxed"
            )
        self.hidden = bwrap.hidden_paths(getattr(self.module, "SANDBOX_HIDE", ()))
        self.privileged = os.geteuid() == 0
        self.slot = bwrap.Slot() if self.privileged else None
        self.uid = self.slot.uid if self.slot else os.getuid()
        self.tracked: set[int] = set()  # sandbox processes seen by the watchdog (unprivileged mode)
        if self.privileged:
            bwrap.kill_uid(self.uid)  # leftovers of a grader that died while holding this slot
        self.faults: list[str] = []  # watchdog and kernel events, in order
        self.output_budget: Any = None  # execute_notebook's output caps (outputs.OutputBudget)
        self.log = KernelLog(AUDIT_MARK)
        self.dir = Path(tempfile.mkdtemp(prefix="course-sandbox-", dir=workdir)).resolve()
        try:
            if len(str(self.dir)) > 80:  # unix socket paths (the judge's, the kernel's) hold 107 bytes at most
                raise SandboxError(f"the sandbox's run folder {self.dir} is too long a path for unix sockets; "
                                   "use a shorter workdir or TMPDIR")
            os.chmod(self.dir, 0o755)
            self.home, self.pkg, self.judge_dir = self.dir / "home", self.dir / "pkg", self.dir / "judge"
            self.empty = self.dir / "empty"
            self.empty.touch(mode=0o444)
            self._ipc_count = 0
            self._write_package()
            self.judge_dir.mkdir(mode=0o755)
            self.socket_path = str(self.judge_dir / "judge.sock")
            self.judge = JudgeServer(self.socket_path, self.registry, self.limits.message_bytes)
            os.chmod(self.socket_path, 0o777)  # the kernel's uid connects (as root: another uid)
            self.judge.source = source
        except BaseException:
            self.close()
            raise

    # -- what the probe side reports, as the grader recorded it
    source = property(lambda self: self.judge.source, lambda self, v: setattr(self.judge, "source", v))
    verdicts = property(lambda self: self.judge.verdicts)
    received = property(lambda self: self.judge.received)
    cases = property(lambda self: self.judge.cases)
    requests = property(lambda self: self.judge.requests)
    protocol_errors = property(lambda self: self.judge.protocol_errors)

    def review_notes(self) -> list[str]:
        """Everything about this run an instructor should look at (never changes the score)."""
        return self.judge.review + self.judge.refused + [f"malformed probe data: {e}" for e in self.judge.protocol_errors]

    def audit(self) -> list[str]:
        """File-system calls outside the sandbox's own paths, as the kernel's audit hook logged them."""
        self.log.wait(1.0)
        return sorted(self.log.audit)[:50]

    # -- files visible in the sandbox
    def _write_package(self) -> None:
        files = sandbox_sources(self.assignment, self.checks_module)
        files["autograder/__init__.py"] = (INSIDE / "client.py").read_text(encoding="utf-8")
        files["autograder/wire.py"] = (Path(__file__).with_name("wire.py")).read_text(encoding="utf-8")
        files["launch.py"] = (INSIDE / "launch.py").read_text(encoding="utf-8")
        for rel, text in files.items():
            (self.pkg / rel).parent.mkdir(parents=True, exist_ok=True)
            (self.pkg / rel).write_text(text, encoding="utf-8")
        data = Path(self.module.__file__).resolve().parent.parent / "data"
        for name in getattr(self.module, "SANDBOX_FILES", ()):
            if Path(name).name != name or not (data / name).is_file():
                raise SandboxError(f"SANDBOX_FILES names files in {data}, not {name!r}")
            (self.pkg / "autograder" / "data").mkdir(exist_ok=True)
            shutil.copyfile(data / name, self.pkg / "autograder" / "data" / name)
        python = [str(p).rstrip("/") + "/" for p in bwrap.python_paths()]
        allowed = python + ["/usr/", "/etc/", "/proc/", "/sys/", "/dev/", "/tmp/", "/var/tmp/", "/usr/tmp/", "/lib/",
                            "/lib64/", "/lib32/", "/bin/", "/sbin/", str(self.dir) + "/"]
        rlimits = {"RLIMIT_AS": self.limits.memory_bytes, "RLIMIT_NPROC": self._nproc_limit(),
                   "RLIMIT_FSIZE": self.limits.file_size, "RLIMIT_NOFILE": self.limits.open_files, "RLIMIT_CORE": 0}
        config = {"assignment": self.assignment, "socket": str(self.judge_dir / "judge.sock"), "rlimits": rlimits,
                  "allowed": allowed, "python": python, "forbidden": [str(ROOT) + "/"], "audit_mark": AUDIT_MARK}
        (self.pkg / "sandbox.json").write_text(json.dumps(config), encoding="utf-8")
        for p in [self.pkg, *self.pkg.rglob("*")]:
            os.chmod(p, 0o755 if p.is_dir() else 0o644)

    def _nproc_limit(self) -> int:
        if self.privileged:
            return self.limits.max_tasks
        return bwrap.task_count(os.getuid()) + self.limits.max_tasks  # RLIMIT_NPROC counts all of this uid's tasks

    def new_ipc_dir(self) -> Path:
        """A fresh folder for the next kernel's sockets (what an earlier kernel left is never reused)."""
        for old in self.dir.glob("ipc-*"):
            with contextlib.suppress(OSError):
                remove_tree(old)
        self._ipc_count += 1
        path = self.dir / f"ipc-{self._ipc_count}"
        path.mkdir(mode=0o700)
        return path

    def command(self, argv: list[str], ipc: Path | None = None) -> list[str]:
        """The bwrap command line that runs ``argv`` inside the sandbox."""
        return bwrap.command(self, argv, ipc or self.new_ipc_dir())

    def kernel_argv(self) -> list[str]:
        return [sys.executable, str(self.pkg / "launch.py"), "-f", "{connection_file}",
                "--HistoryManager.enabled=False", "--IPKernelApp.trio_loop=False"]

    def selftest(self) -> None:
        """Check that the sandbox works and isolates; raise SandboxError otherwise."""
        code = (
            "import os, socket, sys\n"
            f"assert not os.path.exists({str(ROOT / 'autograder')!r}), 'repository visible'\n"
            "open('probe.txt', 'w').write('ok')\n"
            "try:\n    open('/probe.txt', 'w'); sys.exit('the root is writable')\n"
            "except OSError:\n    pass\n"
            "try:\n    socket.create_connection(('1.1.1.1', 53), timeout=2); sys.exit('network reachable')\n"
            "except OSError:\n    pass\n"
            "print('sandbox ok', os.getuid())\n"
        )
        ipc = self.new_ipc_dir()
        if self.privileged:
            os.chown(ipc, self.uid, self.uid)
        try:
            out = subprocess.run(self.command([sys.executable, "-c", code], ipc=ipc), capture_output=True, text=True,
                                 timeout=120)
        except Exception as exc:
            raise SandboxError(f"cannot start the sandbox: {exc}") from exc
        if out.returncode != 0 or "sandbox ok" not in out.stdout:
            raise SandboxError(f"the sandbox does not work here (bwrap exit {out.returncode}): {out.stderr.strip()[-800:]}")

    def kill_all(self) -> None:
        """SIGKILL every process of this sandbox (bwrap's PID-namespace init included)."""
        if self.privileged and self.slot is not None:
            bwrap.kill_uid(self.uid)
        for pid in sorted(self.tracked):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    def close(self) -> None:
        self.kill_all()
        judge = getattr(self, "judge", None)
        if judge is not None:
            judge.close()
        if self.slot:
            self.slot.release()
        if getattr(self, "dir", None) is not None:
            with contextlib.suppress(OSError):
                remove_tree(self.dir)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
