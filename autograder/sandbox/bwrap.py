"""The bubblewrap command line, the sandbox user ids, and the processes a sandbox leaves behind.

What the kernel sees (:func:`command`): ``/usr`` (and the ``/bin``, ``/lib*`` links), a few
``/etc`` files and the Python installation, read-only; the run folder's ``pkg/`` (the sandbox's
``autograder``) and ``judge/`` (the judge's socket), read-only; one ``ipc-<n>/`` folder for the
kernel's ZeroMQ sockets, writable; size-limited tmpfs at ``home/`` (its cwd), ``/tmp`` and
``/dev/shm``; the root itself read-only. No network, no repository, no gradebook, no other
submission, no grader file (logs go through a pipe).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import site
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from autograder.sandbox.limits import SandboxError

ROOT = Path(__file__).resolve().parents[2]
SLOT_DIR = Path("/tmp/course-sandbox-slots")  # machine-wide: every grader on this machine shares the uids
BASE_UID = 61000
N_SLOTS = 64


def python_paths() -> list[Path]:
    """Directories the kernel needs read-only: the Python installation and its packages."""
    paths = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), Path(sys.executable).resolve().parent}
    for p in site_packages():
        paths.add(p)
    for mod in ("torch", "numpy", "ipykernel"):
        with contextlib.suppress(Exception):
            paths.add(Path(__import__(mod).__file__).resolve().parent.parent)
    paths = {p for p in paths if not str(p).startswith("/usr/")}
    out: list[Path] = []  # drop paths inside others; never expose the repository itself (only its .venv)
    for p in sorted(paths, key=lambda p: len(p.parts)):
        if any(p.is_relative_to(q) for q in out):
            continue
        if p == ROOT or (ROOT.is_relative_to(p) and p != Path("/")):
            raise SandboxError(f"the Python installation {p} contains the course repository; use a venv outside it or in .venv")
        out.append(p)
    return out


def site_packages() -> list[Path]:
    return [Path(p).resolve() for p in [*site.getsitepackages(), site.getusersitepackages()] if Path(p).is_dir()]


def hidden_paths(relative: Iterable[str]) -> list[Path]:
    """Installed files a day hides from the kernel (``SANDBOX_HIDE``: paths inside site-packages)."""
    out = []
    for rel in relative:
        p = Path(rel)
        if p.is_absolute() or ".." in p.parts or not p.parts:
            raise SandboxError(f"SANDBOX_HIDE entries are paths inside site-packages, not {rel!r}")
        out += [sp / p for sp in site_packages() if (sp / p).exists()]
    return out


def command(sb: object, argv: list[str], ipc: Path) -> list[str]:
    """The bwrap command line that runs ``argv`` in sandbox ``sb`` (a :class:`~autograder.sandbox.Sandbox`)."""
    lim = sb.limits
    cmd = [sb.bwrap, "--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib64", "lib32"):
        p = Path("/") / name
        if p.is_symlink():
            cmd += ["--symlink", os.readlink(p), str(p)]
        elif p.is_dir():
            cmd += ["--ro-bind", str(p), str(p)]
    for etc in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "fonts", "alternatives", "mime.types"):
        cmd += ["--ro-bind-try", f"/etc/{etc}", f"/etc/{etc}"]
    size = str(lim.scratch_bytes)
    cmd += ["--proc", "/proc", "--dev", "/dev", "--perms", "01777", "--size", size, "--tmpfs", "/tmp",
            "--perms", "01777", "--size", size, "--tmpfs", "/dev/shm"]
    made = {Path("/"), Path("/tmp"), Path("/dev")}
    mounts = [(p, "--ro-bind") for p in python_paths()]
    mounts += [(sb.pkg, "--ro-bind"), (sb.judge_dir, "--ro-bind"), (ipc, "--bind"), (sb.home, "--tmpfs")]
    for path, how in mounts:
        for parent in reversed(path.parents):  # mount points' parents: traversable by the kernel's uid
            if parent not in made:
                cmd += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
        if how == "--tmpfs":
            cmd += ["--perms", "01777", "--size", size, "--tmpfs", str(path)]
        else:
            cmd += [how, str(path), str(path)]
    for hidden in sb.hidden:
        if hidden.is_dir():
            cmd += ["--perms", "0555", "--size", "4096", "--tmpfs", str(hidden)]
        else:
            cmd += ["--ro-bind", str(sb.empty), str(hidden)]
    cmd += ["--remount-ro", "/",
            "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--hostname", "sandbox", "--chdir", str(sb.home), "--clearenv"]
    n = str(lim.threads)
    env = {
        "HOME": str(sb.home), "USER": "student", "LOGNAME": "student", "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(sb.pkg), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
        "MPLCONFIGDIR": str(sb.home / ".matplotlib"), "MPLBACKEND": "agg", "TMPDIR": "/tmp",
        "OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n, "TORCH_NUM_THREADS": n,
        "JUPYTER_PLATFORM_DIRS": "1", "JUPYTER_RUNTIME_DIR": str(sb.home / ".jupyter"),
        "IPYTHONDIR": str(sb.home / ".ipython"), "LANG": "C.UTF-8",
        "NBGRADER_EXECUTION": "autograde",  # as nbgrader sets it: notebooks may skip long visible runs
    }
    for k, v in env.items():
        cmd += ["--setenv", k, v]
    if sb.privileged:
        cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--", "/usr/bin/setpriv",
                f"--reuid={sb.uid}", f"--regid={sb.uid}", "--clear-groups", "--inh-caps=-all",
                "--bounding-set=-all", "--"]
    else:
        cmd += ["--unshare-user", "--"]
    return cmd + argv


class Slot:
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


def kill_uid(uid: int) -> None:
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


def descendants(pid: int) -> list[int]:
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


def statm_rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def pss(pid: int) -> int:
    """Proportional set size (shared pages split between the processes sharing them), else RSS."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return statm_rss(pid)


def task_count(uid: int) -> int:
    """Threads of every process of ``uid`` (what RLIMIT_NPROC counts)."""
    count = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            text = status.read_text()
            if f"\nUid:\t{uid}\t" in text:
                count += int(text.split("\nThreads:\t")[1].split("\n")[0])
    return count
