"""A JupyterHub with real Unix accounts, driven as docs/jupyterhub.md says (tests/test_hub.py).

* :func:`guide_steps` reads the shell blocks marked ``<!-- hub-test: NAME as=ROLE -->`` from the
  guide: the test runs exactly those, as root or as the instructor's account (:func:`run_as`).
* :class:`Hub` starts ``jupyterhub -f <etc>/jupyterhub/jupyterhub_config.py`` (the configuration
  the guide installs) on free local ports and stops it with every server it spawned.
* The browser helpers log in through the hub's page and work the nbgrader Assignment List, a
  notebook's cells (JupyterLab renders long notebooks lazily: cells are scrolled into view first),
  Validate and the formgrader, the way a person does.

Every wait ends on a state (a list row, a dialog, a saved file), not on a guessed time.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.browser import lab as L

ROOT = L.ROOT
GUIDE = ROOT / "docs" / "jupyterhub.md"
PROXY_VERSION = "4.6.3"  # configurable-http-proxy, as docs/jupyterhub.md and manage.py install it
STEP = re.compile(r"<!-- hub-test: (?P<name>[\w-]+) as=(?P<role>\w+) -->\s*```bash\n(?P<script>.*?)```", re.S)

HUB_START = 180
SPAWN = 300
EXCHANGE_ACTION = 180
VALIDATE = 600


def guide_steps(path: Path = GUIDE) -> dict[str, tuple[str, str]]:
    """name -> (role, shell script) for every block the guide marks for the test, in order."""
    steps = {}
    for m in STEP.finditer(path.read_text(encoding="utf-8")):
        if m["name"] in steps:
            raise ValueError(f"{path.name}: hub-test step {m['name']!r} appears twice")
        steps[m["name"]] = (m["role"], m["script"])
    return steps


def find_proxy() -> str | None:
    """configurable-http-proxy: on PATH, or where `python3 manage.py test` installs it (.venv/node)."""
    found = shutil.which("configurable-http-proxy")
    local = Path(sys.prefix) / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
    return found or (str(local) if local.exists() else None)


def closed_to_others(path: Path) -> Path | None:
    """The first folder on the way to ``path`` that other accounts cannot enter (None: all open)."""
    path = path.resolve()
    for folder in [*reversed(path.parents), path]:
        if folder.is_dir() and not os.stat(folder).st_mode & stat.S_IXOTH:
            return folder
    return None


def interpreter_for_accounts(scratch: Path) -> tuple[Path, str]:
    """The bin folder whose Python the hub and every account's server run, and how it was chosen.

    Normally this environment's own. When its base interpreter lies in a folder other accounts
    cannot enter (a pyenv Python under /root, as on the course's development machine), the
    accounts would silently run the system's libpython and standard library with this
    environment's packages (a different Python: nbconvert's HTML export breaks on it). Then the
    test builds a copy of the same interpreter under ``scratch`` (binary, libpython, standard
    library; packages still this environment's, through a .pth file; Jupyter's data and
    configuration folders linked) that every account can run. An installation avoids this by
    putting its environment under /opt, as docs/jupyterhub.md says.
    """
    import sysconfig

    own = Path(sys.executable).parent
    for folder in (Path(sys.prefix), Path(sysconfig.get_paths()["purelib"])):
        if closed_to_others(folder) is not None:
            raise FileNotFoundError(f"this environment ({folder}) is inside {closed_to_others(folder)}, "
                                    "which other accounts cannot enter")
    base, libdir = Path(sys.base_prefix), Path(sysconfig.get_config_var("LIBDIR") or sys.base_prefix)
    closed = closed_to_others(base / "bin") or closed_to_others(libdir)
    if closed is None:
        return own, f"this environment's Python ({sys.executable})"
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    py = scratch / "python"
    (py / "bin").mkdir(parents=True)
    (py / "lib").mkdir()
    binary = (base / "bin" / version).resolve()
    data = binary.read_bytes()
    old = str(libdir).encode() + b"\0"
    new = b"$ORIGIN/../lib"
    if sysconfig.get_config_var("Py_ENABLE_SHARED") and old in data:  # RUNPATH: find libpython next to the copy
        data = data.replace(old, new + b"\0" * (len(old) - len(new)))
    (py / "bin" / version).write_bytes(data)
    (py / "bin" / version).chmod(0o755)
    for lib in libdir.glob(f"lib{version}*.so*"):
        shutil.copy2(lib, py / "lib" / lib.name)
    skip = shutil.ignore_patterns("site-packages", "test", "idlelib", "tkinter", "turtledemo", "ensurepip")
    shutil.copytree(base / "lib" / version, py / "lib" / version, ignore=skip, symlinks=True)
    site_dir = py / "lib" / version / "site-packages"
    site_dir.mkdir()
    purelib = sysconfig.get_paths()["purelib"]
    (site_dir / "course-environment.pth").write_text(f"import site; site.addsitedir({purelib!r})\n")
    for sub in ("share", "etc"):
        (py / sub).mkdir()
        if (Path(sys.prefix) / sub / "jupyter").exists():
            (py / sub / "jupyter").symlink_to(Path(sys.prefix) / sub / "jupyter")
    for name in ("python", "python3"):
        (py / "bin" / name).symlink_to(version)
    shebang = f"#!{own / 'python'}".encode()
    for script in own.iterdir():
        if script.is_file() and not (py / "bin" / script.name).exists():
            head = script.read_bytes()[:400]
            if head.startswith(shebang) or head.startswith(f"#!{own / version}".encode()) or head.startswith(
                    f"#!{own / 'python3'}".encode()):
                body = script.read_bytes().split(b"\n", 1)[1]
                (py / "bin" / script.name).write_bytes(f"#!{py / 'bin' / version}\n".encode() + body)
                (py / "bin" / script.name).chmod(0o755)
    probe = subprocess.run(["runuser", "-u", "nobody", "--", str(py / "bin" / "python"), "-c",
                            "import sys, nbgrader, jupyterhub; print(sys.version)"], capture_output=True, text=True)
    if probe.returncode or probe.stdout.strip() != sys.version:
        raise RuntimeError(f"the copied interpreter does not run as another account: {probe.stdout}{probe.stderr}")
    return py / "bin", (f"a copy of this environment's Python ({sys.version.split()[0]}) under {py}: its own "
                        f"{base} lies inside {closed}, which other accounts cannot enter")


def run_as(user: str, script: str, env: dict[str, str], cwd: Path | str, timeout: float = 900) -> str:
    """Run a guide block with bash -euo pipefail as ``user`` (root: directly), in a clean environment."""
    home = pwd.getpwnam(user).pw_dir
    base = {"HOME": home, "USER": user, "LOGNAME": user, "LANG": "C.UTF-8", "SHELL": "/bin/bash"}
    full = {**base, **env}
    cmd = ["bash", "-euo", "pipefail", "-c", script]
    if user != "root":
        cmd = ["runuser", "-u", user, "--", "env", "-i", *(f"{k}={v}" for k, v in full.items()), *cmd]
        full = dict(os.environ)  # runuser itself; the block gets only the clean environment above
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=cwd, env=full, capture_output=True, text=True, timeout=timeout)
    took = time.monotonic() - started
    output = proc.stdout + proc.stderr
    if proc.returncode:
        raise AssertionError(f"as {user}, the guide's block failed (exit {proc.returncode}) after {took:.0f} s:\n"
                             f"{script}\n--- output ---\n{output[-6000:]}")
    return output


def processes_of(uid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def resident_mb(uid: int) -> float:
    """Resident memory of every process of one account, in MB (from /proc/<pid>/status)."""
    total = 0
    for pid in processes_of(uid):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def server_nbgrader_config(account: Account, python_bin: Path) -> dict:
    """The nbgrader settings the account's running JupyterLab server loads (as its Validate does).

    Reads JUPYTER_CONFIG_PATH from the server process the hub started, then loads nbgrader's
    configuration as that account, from its home, the way nbgrader's Validate handler does.
    """
    env = None
    for pid in processes_of(account.uid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            if b"jupyterhub-singleuser" in cmdline:
                env = dict(v.split("=", 1) for v in Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in v)
                break
        except OSError:
            pass
    if env is None:
        raise AssertionError(f"no running server of {account.name}")
    code = ("import json, os\nfrom jupyter_core.paths import jupyter_config_path\nfrom nbgrader.apps import NbGrader\n"
            "app = NbGrader()\npaths = jupyter_config_path()\npaths.insert(0, os.getcwd())\n"
            "app.config_file_paths.append(paths)\napp.load_config_file()\nc = app.config\n"
            "print(json.dumps({'timeout': c.Execute.timeout, 'course_id': c.CourseDirectory.course_id, "
            "'exchange': c.Exchange.root}))\n")
    keep = {k: env[k] for k in ("JUPYTER_CONFIG_PATH", "COURSE_EXCHANGE_ROOT", "PATH") if k in env}
    out = run_as(account.name, f"{python_bin / 'python'} -c {shlex.quote(code)}", keep, cwd=account.home)
    return json.loads(out.strip().splitlines()[-1])


@dataclass
class Account:
    name: str
    password: str
    role: str

    @property
    def uid(self) -> int:
        return pwd.getpwnam(self.name).pw_uid

    @property
    def home(self) -> Path:
        return Path(pwd.getpwnam(self.name).pw_dir)


class Hub:
    """``jupyterhub -f <etc>/jupyterhub/jupyterhub_config.py`` in ``state``, on free local ports."""

    def __init__(self, bin_dir: Path, etc: Path, state: Path, env: dict[str, str], log_path: Path):
        self.bin, self.etc, self.state, self.env, self.log_path = bin_dir, etc, state, env, log_path
        self.port, self.api_port, self.hub_port = L.free_port(), L.free_port(), L.free_port()
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [
            str(self.bin / "jupyterhub"), "-f", str(self.etc / "jupyterhub" / "jupyterhub_config.py"),
            f"--JupyterHub.bind_url={self.base}",
            f"--JupyterHub.hub_bind_url=http://127.0.0.1:{self.hub_port}",
            f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{self.api_port}",
        ]

    def start(self) -> Hub:
        self.state.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "w", encoding="utf-8")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(self.command(), cwd=self.state, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        deadline = time.monotonic() + HUB_START
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyterhub exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.base}/hub/api", timeout=5) as reply:
                    if reply.status == 200:
                        return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"jupyterhub did not answer within {HUB_START} s:\n{self.log_tail()}")
            time.sleep(0.25)  # polling the hub's API, not waiting for a guess

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM: the hub stops the servers it spawned and its proxy; whatever is left is killed."""
        if self.process is None or self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # the proxy, if the hub left it
        except ProcessLookupError:
            pass


# -- the browser side ------------------------------------------------------------------------------
def login(page, base: str, account: Account) -> None:
    """The hub's log-in form; returns when the user's JupyterLab has loaded."""
    page.goto(f"{base}/hub/login")
    page.locator("#username_input").fill(account.name)
    page.locator("#password_input").fill(account.password)
    page.locator("#login_submit").click()
    page.wait_for_url(re.compile(rf".*/user/{re.escape(account.name)}/lab.*"), timeout=SPAWN * 1000)
    page.locator("#jp-main-dock-panel .lm-TabBar-tab").first.wait_for(timeout=L.LAB_LOAD * 1000)


def nbgrader_menu(page) -> list[str]:
    """The entries of JupyterLab's Nbgrader menu (the menu is closed again)."""
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Nbgrader$")).click()
    entries = page.locator(".lm-Menu-content > .lm-Menu-item .lm-Menu-itemLabel")
    entries.first.wait_for()
    labels = [t.strip() for t in entries.all_inner_texts() if t.strip()]  # hidden entries have no text
    page.keyboard.press("Escape")
    return labels


def open_menu_entry(page, label: str) -> None:
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Nbgrader$")).click()
    page.locator(".lm-Menu-content > .lm-Menu-item").filter(
        has=page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{re.escape(label)}$"))
    ).first.click()


class AssignmentList:
    """nbgrader's Assignment List panel (Nbgrader → Assignment List)."""

    def __init__(self, page):
        self.page = page
        open_menu_entry(page, "Assignment List")
        page.locator("#released_assignments_list").wait_for()

    def rows(self, which: str):
        return self.page.locator(f"#{which}_assignments_list > .list_item")

    def refresh_until(self, which: str, text: str, timeout: float = EXCHANGE_ACTION):
        """Press the list's refresh button until a row of ``which`` shows ``text``."""
        deadline = time.monotonic() + timeout
        row = self.rows(which).filter(has_text=text)
        while True:
            self.page.locator("#refresh_assignments_list").click()
            try:
                row.first.wait_for(timeout=5_000)
                return row.first
            except Exception:  # noqa: BLE001 - not there yet: refresh again
                if time.monotonic() > deadline:
                    raise
            # a refresh is a request to the server; the next check waits on the list again

    def fetch(self, assignment: str):
        row = self.refresh_until("released", assignment)
        row.locator(".item_status button", has_text="Fetch").click()
        return self.rows("fetched").filter(has_text=assignment).first.wait_for(timeout=EXCHANGE_ACTION * 1000)

    def open_notebook(self, assignment: str, notebook: str) -> None:
        self.page.locator("#fetched_assignments_list a", has_text=assignment).first.click()
        link = self.page.locator("#fetched_assignments_list .nested_list_item .item_name a", has_text=notebook).first
        link.wait_for()
        link.click()

    def submit(self, assignment: str) -> str:
        """Submit; returns the time stamp the Submitted list shows for it."""
        self.page.locator('[aria-label="Assignments"], .lm-TabBar-tab', has_text="Assignments").first.click()
        submitted = self.page.locator("#submitted_assignments_list .list_item .item_name")
        before = submitted.count()
        row = self.rows("fetched").filter(has_text=assignment).first
        row.locator(".item_status button", has_text="Submit").click()
        self.page.wait_for_function(
            "n => document.querySelectorAll('#submitted_assignments_list .list_item .item_name').length > n",
            arg=before, timeout=EXCHANGE_ACTION * 1000,
        )
        return submitted.last.inner_text().strip()

    def fetch_feedback(self) -> None:
        self.page.locator(".lm-TabBar-tab", has_text="Assignments").first.click()
        button = self.page.locator("#submitted_assignments_list button", has_text="Fetch Feedback").first
        deadline = time.monotonic() + EXCHANGE_ACTION
        while not button.count():
            self.page.locator("#refresh_assignments_list").click()
            try:
                button.wait_for(timeout=5_000)
            except Exception:  # noqa: BLE001 - released feedback shows after a refresh
                if time.monotonic() > deadline:
                    raise
        button.click()
        self.page.locator("#submitted_assignments_list", has_text="view feedback").wait_for(timeout=EXCHANGE_ACTION * 1000)


def cell_at(nb: L.Notebook, index: int):
    """The notebook's cell number ``index`` (0-based), scrolled into view (rendered lazily)."""
    cell = nb.panel.locator(f'.jp-Notebook .jp-Cell[data-windowed-list-index="{index}"]')
    outer = nb.panel.locator(".jp-WindowedPanel-outer").first
    for _ in range(400):
        if cell.count():
            cell.scroll_into_view_if_needed()
            return cell
        outer.evaluate("el => { el.scrollTop += el.clientHeight / 2; }")
        try:
            nb.page.wait_for_function(
                "([el, i]) => el.querySelector(`.jp-Cell[data-windowed-list-index=\"${i}\"]`) !== null",
                arg=[nb.panel.element_handle(), index], timeout=300, polling=50,
            )
        except Exception:  # noqa: BLE001 - not rendered yet: scroll further
            pass
    raise AssertionError(f"{nb.name}: cell {index} never appeared")


def set_code(nb: L.Notebook, index: int, source: str) -> None:
    nb.set_source(cell_at(nb, index), source)


def set_markdown(nb: L.Notebook, index: int, text: str) -> None:
    """Edit a markdown cell as a person does: double-click, replace the text, Shift+Enter to render."""
    cell = cell_at(nb, index)
    cell.dblclick()
    editor = cell.locator(".jp-InputArea-editor .cm-content")
    editor.wait_for()
    editor.click()
    nb.page.keyboard.press("ControlOrMeta+a")
    nb.page.keyboard.press("Delete")
    nb.page.keyboard.insert_text(text)
    nb.page.wait_for_function(
        "([el, n]) => el.textContent.replace(/\\s/g, '').length === n",
        arg=[editor.element_handle(), len(re.sub(r"\s", "", text))], timeout=10_000,
    )
    nb.page.keyboard.press("Shift+Enter")
    cell.locator(".jp-RenderedMarkdown").wait_for()


def validate(nb: L.Notebook) -> str:
    """Press Validate in the notebook's toolbar; return the text of the result dialog (closed again)."""
    nb.tab.click()
    nb.panel.locator(".validate-button").click()
    dialog = nb.page.locator(".jp-Dialog")
    dialog.locator(".jp-Dialog-header").wait_for(timeout=VALIDATE * 1000)
    text = dialog.inner_text()
    return text


def close_dialog(page) -> None:
    page.locator(".jp-Dialog .jp-Dialog-button").first.click()
    page.locator(".jp-Dialog").wait_for(state="detached")
