"""`manage.py grade` as a normal user (class 7): exact grades, no grader file in the student's reach.

As root the kernel runs under a per-sandbox uid; as a normal user it runs in a user namespace as
that same user, who owns the run folder. This test creates a throwaway unprivileged user, grades
a small batch as that user (honest work, a submission that plants links and FIFOs where grader
files used to be, early reports, a disk fill) and removes the user again.

Where the Python installation lives in a folder the user cannot read (pyenv under /root), the
grader runs in a mount namespace that shows the user that installation only, read-only; the
grader itself, and the sandboxes it starts, run unprivileged.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.grading.day1_submissions import DAY, cases  # noqa: E402

NAMES = ("honest_right", "honest_wrong_softmax", "attack_plant_links", "attack_early_report", "dos_disk_fill")
VICTIM_TEXT = "a file of the grading user: must never change\n"


def _why_not() -> str | None:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "needs root to create a throwaway unprivileged user"
    for tool in ("useradd", "userdel", "runuser", "setpriv", "bwrap"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


@pytest.fixture(scope="module")
def user():
    why = _why_not()
    if why:
        pytest.skip(why)
    name = f"cg{secrets.token_hex(4)}"
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)
    try:
        probe = subprocess.run(["runuser", "-u", name, "--", "bwrap", "--unshare-user", "--ro-bind", "/", "/", "true"],
                               capture_output=True, text=True, timeout=60)
        if probe.returncode != 0:
            pytest.skip(f"unprivileged user namespaces are not available here: {probe.stderr.strip()[:200]}")
        yield name
    finally:
        subprocess.run(["userdel", name], check=False)


def _as_user(uid: int) -> list[str]:
    """The command prefix that runs as ``uid`` and can read this Python installation."""
    switch = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]
    python = Path(sys.base_prefix).resolve()
    closed = [p for p in reversed(python.parents) if p != Path("/") and not os.stat(p).st_mode & 0o001]
    if not closed:
        return switch
    top = closed[0]
    cmd = ["bwrap", "--dev-bind", "/", "/", "--perms", "0755", "--tmpfs", str(top)]
    for parent in reversed(python.parents):
        if parent.is_relative_to(top) and parent != top:
            cmd += ["--perms", "0755", "--dir", str(parent)]
    return [*cmd, "--ro-bind", str(python), str(python), "--", *switch]


@pytest.mark.slow
def test_grading_as_a_normal_user(user):
    base = Path(tempfile.mkdtemp(prefix="course-nonroot-"))
    try:
        victim = base / "victim.txt"
        victim.write_text(VICTIM_TEXT)
        every = cases(str(ROOT), str(base / "out"), [], str(victim))
        for name in NAMES:
            path = base / "submitted" / name / DAY / f"{DAY}.ipynb"
            path.parent.mkdir(parents=True)
            path.write_bytes(every[name][1])
        subprocess.run(["chown", "-R", f"{user}:", str(base)], check=True)
        env = {"HOME": str(base), "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LANG": "C.UTF-8"}
        uid = pwd.getpwnam(user).pw_uid
        cmd = [*_as_user(uid), "env", "-i", *[f"{k}={v}" for k, v in env.items()], sys.executable, "-m",
               "autograder.grading", str(base / "submitted"), "--out", str(base / "out"), "--jobs", "2",
               "--cell-timeout", "45"]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1500)
        log = proc.stdout[-3000:] + proc.stderr[-3000:]
        assert proc.returncode == 0, log
        for name in NAMES:
            entry = base / "out" / "journal" / DAY / f"{name}.json"
            assert entry.exists(), f"{name} was not graded:\n{log}"
            result = json.loads(entry.read_text())
            assert result["score"] == every[name][0], (name, result["tests"], result["events"])
        assert victim.read_text() == VICTIM_TEXT
        assert not list(base.glob("course-batch-*")) and not any(Path(tempfile.gettempdir()).glob(f"*{user}*"))
        plant = json.loads((base / "out" / "journal" / DAY / "attack_plant_links.json").read_text())
        assert plant["status"] == "graded with faults"
    finally:
        shutil.rmtree(base, ignore_errors=True)
