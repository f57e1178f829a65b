#!/usr/bin/env python3
"""One entry point for the course: set-up, JupyterLab, tests, build, grading.

    python3 manage.py lab            install into .venv if needed, open JupyterLab on the contents
    python3 manage.py test [ARGS]    install if needed (test tools too), run the whole test suite
    python3 manage.py build [DAY]    rebuild notebooks from sources/ and the release with nbgrader
    python3 manage.py check          lint and check that notebooks are in sync with their sources
    python3 manage.py grade ARGS     batch-grade submissions in sandboxes (see docs/grading.md)
    python3 manage.py book [ARGS]    build the course website into book/_build/html (see docs/site.md)
    python3 manage.py student-edition OUT [--force] [--git]
                                     the folder to hand to a class: lessons, releases, no solutions
    python3 manage.py gpu-check      measure Day 7 on this machine's GPU (no network; one JSON file
                                     under docs/measurements/; --reduced: the same steps, tiny, on a CPU)

Needs only Python 3.10+ and git. Everything else goes into ./.venv, from requirements-lock.txt.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("COURSE_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def log(message: str) -> None:
    print(f"[manage] {message}", flush=True)


def run(*cmd: str | Path, **kwargs) -> int:
    return subprocess.call([str(c) for c in cmd], cwd=kwargs.pop("cwd", ROOT), **kwargs)


def environment(dev: bool = False) -> dict[str, str]:
    """The environment for commands inside .venv (its bin first on PATH, for nbgrader's alembic)."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join((str(BIN), env.get("PATH", "")))
    env["VIRTUAL_ENV"] = str(VENV)
    env.pop("PYTHONHOME", None)
    return env


def ensure_env(dev: bool = False) -> None:
    """Create .venv and install the pinned requirements when they changed since last time."""
    if sys.version_info < (3, 10):  # noqa: UP036 - this script must explain itself on old Pythons
        sys.exit(f"Python 3.10 or newer is needed, this is {sys.version.split()[0]}")
    req = ROOT / ("requirements-dev.txt" if dev else "requirements-lock.txt")
    files = [ROOT / "requirements-lock.txt"] + ([req] if dev else [])
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()
    stamp = VENV / (".installed-dev" if dev else ".installed")
    if stamp.exists() and stamp.read_text() == digest and PYTHON.exists():
        return
    if not PYTHON.exists():
        log(f"creating {VENV.relative_to(ROOT) if VENV.is_relative_to(ROOT) else VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    log(f"installing {req.name} (first time: a few minutes; torch is large)")
    code = run(PYTHON, "-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", req)
    if code:
        sys.exit(f"pip install -r {req.name} failed (exit {code}); see the messages above")
    stamp.write_text(digest)


# Programs the test suite needs beyond Python packages: the grading sandbox, the browser, and
# Node.js for JupyterHub's proxy (tests/test_hub.py).
SYSTEM_PACKAGES = {"bwrap": "bubblewrap", "chromium": "chromium", "node": "nodejs", "npm": "npm"}
PROXY = "configurable-http-proxy@4.6.3"  # JupyterHub's proxy, from npm (docs/jupyterhub.md)


def ensure_system_packages() -> None:
    """Install missing system programs with apt-get where we may (root on Debian/Ubuntu)."""
    import shutil

    browsers = (os.environ.get("COURSE_CHROMIUM", ""), "chromium", "chromium-browser", "google-chrome")
    found = {"chromium": any(b and shutil.which(b) for b in browsers)}
    missing = [pkg for prog, pkg in SYSTEM_PACKAGES.items() if not found.get(prog, shutil.which(prog) is not None)]
    if not missing:
        return
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        log(f"installing system packages: {' '.join(missing)}")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        run("apt-get", "update", "-qq", env=env, stdout=subprocess.DEVNULL)
        if run("apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing, env=env, stdout=subprocess.DEVNULL):
            sys.exit(f"apt-get install {' '.join(missing)} failed")
    else:
        log(f"missing {', '.join(missing)}: install them (e.g. `sudo apt-get install {' '.join(missing)}`); "
            "the tests that need them will fail until then")


def ensure_proxy() -> None:
    """JupyterHub's proxy for the hub test: on PATH, or installed once into .venv/node with npm."""
    import shutil

    local = VENV / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
    if shutil.which("configurable-http-proxy") or local.exists():
        return
    if not shutil.which("npm"):
        log("npm not found: the JupyterHub test will fail until configurable-http-proxy is installed")
        return
    log(f"installing {PROXY} into {local.parent.parent.parent} (npm)")
    if run("npm", "install", "--prefix", VENV / "node", "--no-audit", "--no-fund", "--loglevel=error", PROXY):
        log(f"npm install {PROXY} failed; the JupyterHub test will fail")


def cmd_lab(args: list[str]) -> int:
    ensure_env()
    log("starting JupyterLab on the course contents (Ctrl+C to stop)")
    root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in args else []
    return run(BIN / "jupyter", "lab", "course/index.ipynb", *root, *args, env=environment())


def cmd_test(args: list[str]) -> int:
    ensure_env(dev=True)
    ensure_system_packages()
    ensure_proxy()
    # loadscope: each test module runs on one worker, so a module's expensive fixture (a graded batch,
    # an nbgrader course, a lab server, a hub) is built once and no worker waits on another's lock.
    # (loadgroup would be finer, but with pytest 9.2 and xdist 3.8 it does not keep a group together.)
    parallel = not any(a.startswith("-n") for a in args)
    jobs = ["-n", os.environ.get("COURSE_TEST_JOBS", "2"), "--dist", "loadscope"] if parallel else []
    return run(PYTHON, "-m", "pytest", *jobs, *args, env=environment())


def cmd_build(args: list[str]) -> int:
    ensure_env()
    return run(PYTHON, "-m", "autograder.build", *args, env=environment())


def cmd_check(args: list[str]) -> int:
    ensure_env(dev=True)
    lint = run(PYTHON, "-m", "ruff", "check", ".", env=environment())
    sync = run(PYTHON, "-m", "autograder.build", "--check", env=environment())
    return lint or sync


def cmd_grade(args: list[str]) -> int:
    ensure_env()
    return run(PYTHON, "-m", "autograder.grading", *args, env=environment())


def cmd_gpu_check(args: list[str]) -> int:
    """Day 7's GPU measurements (tools/gpu_check.py). Uses this Python if it has torch (a GPU machine
    without network cannot install), else the course's .venv."""
    try:
        import torch  # noqa: F401
    except ImportError:
        ensure_env()
        return run(PYTHON, ROOT / "tools" / "gpu_check.py", *args, env=environment())
    return run(sys.executable, ROOT / "tools" / "gpu_check.py", *args)


COMMANDS = {"lab": cmd_lab, "test": cmd_test, "build": cmd_build, "check": cmd_check, "grade": cmd_grade,
            "gpu-check": cmd_gpu_check}


def cmd_book(args: list[str]) -> int:
    ensure_env(dev=True)  # Sphinx, MyST-NB and the theme are in requirements-dev.txt
    return run(PYTHON, "-m", "book.site", *args, env=environment())


COMMANDS["book"] = cmd_book


def cmd_student_edition(args: list[str]) -> int:
    return run(sys.executable, ROOT / "deploy" / "student_edition.py", *args)  # standard library only: no .venv


COMMANDS["student-edition"] = cmd_student_edition


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help") or argv[0] not in COMMANDS:
        print(__doc__)
        return 0 if argv and argv[0] in ("-h", "--help", "help") else 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
