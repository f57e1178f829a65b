"""Drive the course in a real browser: a JupyterLab server, Debian's Chromium, notebook actions.

The server is started the way `python3 manage.py lab` starts it (``jupyter lab course/index.ipynb``
from the course root, with the .venv's programs first on PATH), plus what a test needs: no browser
of its own, a free port, a random token, a scratch copy of the course as its root, and JupyterLab's
user state (settings, workspaces, runtime files) in scratch folders so that nothing from the
tester's own JupyterLab leaks in or out. ``--allow-root`` is added only when running as root (CI
containers), where jupyter refuses to start without it.

Chromium is the system's (Debian's ``chromium`` package, which `python3 manage.py test` installs
when missing), driven through Playwright's Python package by its executable path: Playwright's own
browser download is never used. ``COURSE_CHROMIUM`` overrides the path.

Every waiting step waits for a state (kernel idle, a prompt number, an image), never a fixed time.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"

# What the browser tests copy into the server's root: the three notebook trees, and what the
# nbgrader Validate action needs (the configuration with its shared settings in deploy/jupyter/, and
# the hidden-test harness that the solution notebook's hidden cells import).
COPIED = ("course", "assignments", "solutions", "autograder", "nbgrader_config.py", "deploy")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

# Timeouts in seconds. Generous: CI machines and a 2-core laptop running the suite in parallel
# are slow; none of these is ever waited out when things work, every wait ends on a state.
SERVER_START = 180
LAB_LOAD = 180
RUN_ALL = 600
CELL_RUN = 180
VALIDATE = 600

# Browser console messages that are not about the course: each entry is (regex matched against the
# whole message text, why it is harmless). Everything else logged at level "error", and every
# uncaught page exception, on the course's pages fails the test. The list is empty: JupyterLab
# 4.6 with the pinned extensions logs no error when it serves this course. If an upgrade brings a
# message that is JupyterLab's own business (not a notebook, a widget or nbgrader), add it here
# with the reason, e.g.
#     (r"Failed to load resource: .* 404 .*/api/some-optional-endpoint.*", "optional endpoint probe"),
CONSOLE_ALLOW: list[tuple[str, str]] = []


def find_chromium() -> str | None:
    """The system Chromium (or Chrome): $COURSE_CHROMIUM, else the first one on PATH."""
    explicit = os.environ.get("COURSE_CHROMIUM")
    if explicit:
        return explicit
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def copy_course(source: Path, dest: Path) -> Path:
    """A scratch copy of what JupyterLab serves (the tests edit, run and save notebooks in it)."""
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.pyc")
    for name in COPIED:
        src = source / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore)
        elif src.exists():
            shutil.copy2(src, dest / name)
    return dest


class LabServer:
    """`jupyter lab course/index.ipynb` as `python3 manage.py lab` runs it, on a scratch copy."""

    def __init__(self, root: Path, state: Path, log_path: Path):
        self.root, self.state, self.log_path = root, state, log_path
        self.port = free_port()
        self.token = secrets.token_hex(24)
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        jupyter = Path(sys.executable).parent / ("jupyter.exe" if os.name == "nt" else "jupyter")
        cmd = [
            str(jupyter), "lab", "course/index.ipynb",  # what manage.py lab runs
            "--no-browser",
            f"--port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        return cmd

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        bin_dir = str(Path(sys.executable).parent)
        env["PATH"] = os.pathsep.join((bin_dir, env.get("PATH", "")))  # as manage.py's environment()
        env.pop("PYTHONHOME", None)
        # One compute thread per kernel, as the suite's other notebook runs (they share 2 cores).
        env.setdefault("OMP_NUM_THREADS", "1")
        for var, sub in (
            ("JUPYTERLAB_SETTINGS_DIR", "lab-settings"),
            ("JUPYTERLAB_WORKSPACES_DIR", "lab-workspaces"),
            ("JUPYTER_RUNTIME_DIR", "runtime"),
        ):
            env[var] = str(self.state / sub)
            (self.state / sub).mkdir(parents=True, exist_ok=True)
        # JupyterLab asks once, in a toast, whether to fetch Jupyter news; answer "no" up front so
        # the toast does not cover the screenshots (and nothing tries the network).
        news = self.state / "lab-settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
        news.parent.mkdir(parents=True, exist_ok=True)
        news.write_text('{"fetchNews": "false", "checkForUpdates": false}\n', encoding="utf-8")
        return env

    def start(self) -> LabServer:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "w", encoding="utf-8")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            self.command(), cwd=self.root, env=self.environment(), stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + SERVER_START
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.base}/api/status?token={self.token}", timeout=5) as reply:
                    if reply.status == 200:
                        return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"jupyter lab did not answer within {SERVER_START} s:\n{self.log_tail()}")
            time.sleep(0.25)  # polling the server's status endpoint, not waiting for a guess

    @property
    def base(self) -> str:
        return f"http://localhost:{self.port}"

    def url(self, path: str, workspace: str | None = None) -> str:
        """The JupyterLab URL opening ``path``; a named workspace keeps tests' layouts apart."""
        prefix = f"/lab/workspaces/{workspace}" if workspace else "/lab"
        return f"{self.base}{prefix}/tree/{path}?token={self.token}"

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)  # the server and the kernels it started
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def launch_chromium(playwright, profile: Path):
    """Debian's Chromium through Playwright, with a fresh profile; returns the browser context."""
    executable = find_chromium()
    if executable is None:
        raise RuntimeError(
            "No Chromium found. `python3 manage.py test` installs Debian's `chromium` package when it "
            "can (root with apt-get); otherwise install it (`sudo apt-get install chromium`) or point "
            "COURSE_CHROMIUM at a Chromium or Chrome binary. Skip these tests with `-m 'not browser'`."
        )
    return playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=executable,
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": 1400, "height": 1000},
        device_scale_factor=1,
    )


@dataclass
class ConsoleWatch:
    """Every console message and uncaught exception of a page, kept for the report and the check."""

    lines: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def attach(self, page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", self._on_pageerror)

    def _on_console(self, message) -> None:
        where = (message.location or {}).get("url", "")
        text = f"[{message.type}] {message.text}" + (f"  ({where})" if where else "")
        self.lines.append(text)
        if message.type == "error" and not allowed(message.text):
            self.errors.append(text)

    def _on_pageerror(self, error) -> None:
        text = f"[pageerror] {error}"
        self.lines.append(text)
        self.errors.append(text)

    def matching(self, pattern: str) -> list[str]:
        return [line for line in self.lines if re.search(pattern, line, re.I)]


def allowed(text: str, allow: Iterable[tuple[str, str]] = CONSOLE_ALLOW) -> bool:
    return any(re.fullmatch(pattern, text, re.S) for pattern, _why in allow)


class Shots:
    """Numbered screenshots of one test's steps under test-artifacts/browser/<test>/."""

    def __init__(self, name: str):
        self.dir = ARTIFACTS / name
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.count = 0
        self.taken: list[Path] = []

    def __call__(self, page, step: str, element=None) -> Path:
        self.count += 1
        path = self.dir / f"{self.count:02d}-{re.sub(r'[^a-z0-9]+', '-', step.lower()).strip('-')}.png"
        if element is not None:
            element.screenshot(path=str(path))
        else:
            page.screenshot(path=str(path))
        self.taken.append(path)
        return path


PROMPT_DONE = re.compile(r"^\[\d+\]:?$")

# JavaScript run in the page: the input prompts ("[ ]:", "[*]:", "[3]:") of a panel's code cells.
_PROMPTS_JS = "panel => [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent.trim())"
_IMAGES_JS = "panel => [...panel.querySelectorAll('.jp-OutputArea-output img')].map(i => i.src)"


class Notebook:
    """One notebook open in JupyterLab: its main-area panel and the actions a person takes in it."""

    def __init__(self, page, name: str):
        self.page, self.name = page, name
        tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab").filter(
            has=page.locator(".lm-TabBar-tabLabel", has_text=re.compile(rf"^{re.escape(name)}$"))
        )
        tab.first.wait_for(timeout=LAB_LOAD * 1000)
        self.tab = tab.first
        tab_id = self.tab.get_attribute("id")
        self.panel = page.locator(f'#jp-main-dock-panel .jp-NotebookPanel[aria-labelledby="{tab_id}"]')
        self.panel.wait_for(timeout=LAB_LOAD * 1000)
        self.wait_idle(LAB_LOAD)

    # -- state -------------------------------------------------------------------------------
    def wait_idle(self, timeout: float = CELL_RUN) -> None:
        """Wait until this notebook's kernel is connected and idle, and nothing is queued.

        Two signals, because each alone lies at start-up: the toolbar's execution indicator says
        "idle" before any kernel exists, and the status bar's kernel item ("Python 3 (ipykernel) |
        Idle") says nothing about cells still queued. The status bar shows the current notebook.
        """
        self.tab.click()
        self.page.locator("#jp-main-statusbar").get_by_text(re.compile(r"\|\s*Idle\s*$")).first.wait_for(timeout=timeout * 1000)
        self.panel.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for(timeout=timeout * 1000)

    def prompts(self) -> list[str]:
        return self.panel.evaluate(_PROMPTS_JS)

    def images(self) -> list[str]:
        return self.panel.evaluate(_IMAGES_JS)

    def code_cell(self, containing: str):
        """The code cell whose source contains ``containing`` (exactly one)."""
        cells = self.panel.locator(".jp-CodeCell").filter(
            has=self.page.locator(".jp-InputArea-editor", has_text=containing)
        )
        count = cells.count()
        if count != 1:
            raise AssertionError(f"{self.name}: expected one code cell containing {containing!r}, found {count}")
        return cells.first

    # -- actions -----------------------------------------------------------------------------
    def menu(self, menu: str, item: str) -> None:
        """Click a main-menu entry by its labels, e.g. ("Run", "Run All Cells"), for this notebook."""
        self.tab.click()  # make this notebook JupyterLab's current widget
        self.page.locator(".lm-MenuBar-item", has_text=re.compile(rf"^{re.escape(menu)}$")).click()
        entry = self.page.locator(".lm-Menu-content > .lm-Menu-item").filter(
            has=self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{re.escape(item)}$"))
        )
        entry.first.click()

    def run_all(self, timeout: float = RUN_ALL) -> list[str]:
        """Run → Run All Cells, then wait until nothing is queued or running; return the prompts."""
        self.wait_idle()
        self.menu("Run", "Run All Cells")
        # Started: some prompt shows [*] or a number. Done: nothing queued and the kernel idle.
        self.page.wait_for_function(
            "panel => [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]"
            ".some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))",
            arg=self.panel.element_handle(), timeout=timeout * 1000,
        )
        self.page.wait_for_function(
            "panel => ![...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]"
            ".some(p => p.textContent.includes('*'))"
            " && panel.querySelector('.jp-Notebook-ExecutionIndicator[data-status=\"idle\"]') !== null",
            arg=self.panel.element_handle(), timeout=timeout * 1000, polling=250,
        )
        return self.prompts()

    def set_source(self, cell, source: str) -> None:
        """Replace a cell's source as a person would: click into it, select all, type (paste) the text."""
        editor = cell.locator(".jp-InputArea-editor .cm-content")
        editor.scroll_into_view_if_needed()
        editor.click()
        self.page.keyboard.press("ControlOrMeta+a")
        self.page.keyboard.press("Delete")
        self.page.keyboard.insert_text(source)
        self.page.wait_for_function(
            "([el, n]) => el.textContent.replace(/\\s/g, '').length === n",
            arg=[editor.element_handle(), len(re.sub(r"\s", "", source))], timeout=10_000,
        )

    def run_cell(self, cell, timeout: float = CELL_RUN) -> str:
        """Run one cell (Ctrl+Enter in it) and wait for its new prompt number; return its output text."""
        prompt = cell.locator(".jp-InputPrompt")
        before = prompt.text_content().strip()
        cell.locator(".jp-InputArea-editor .cm-content").click()
        self.page.keyboard.press("Control+Enter")
        self.page.wait_for_function(
            "([p, before]) => { const t = p.textContent.trim(); return /^\\[\\d+\\]/.test(t) && t !== before; }",
            arg=[prompt.element_handle(), before], timeout=timeout * 1000, polling=200,
        )
        self.wait_idle(timeout)
        return self.output_text(cell)

    def output_text(self, cell) -> str:
        outputs = cell.locator(".jp-OutputArea-output")
        return "\n".join(outputs.nth(i).inner_text() for i in range(outputs.count()))

    def save(self) -> None:
        """File → Save, and wait until the tab no longer shows unsaved changes."""
        self.menu("File", "Save Notebook")
        self.page.wait_for_function("t => !t.classList.contains('jp-mod-dirty')", arg=self.tab.element_handle())
