"""The course as people see it: JupyterLab in Debian's Chromium, driven by Playwright.

What runs (each step leaves a screenshot under test-artifacts/browser/<test>/, with the page's
console log; the server's log is test-artifacts/browser/jupyterlab-server-*.log):

* test_lesson_from_table_of_contents: JupyterLab started as `python3 manage.py lab` starts it opens
  course/index.ipynb; a click on the Day 1 link opens the lesson; Run All finishes with every code
  cell run and no error output; its figures are images that loaded; moving an ipywidgets slider
  redraws the plot (the image changes).
* test_assignment_feedback: the student release of Day 1; the locked setup cell runs; a correct
  softmax typed into the exercise cell passes its visible test; a wrong one (no max subtraction)
  gets the explanatory message, not a bare AssertionError.
* test_nbgrader_validate: `jupyter labextension list` shows nbgrader enabled and OK with no
  incompatibility; the lab extension activates in the page; the server loaded the course's nbgrader
  configuration without error; the Validate button's version check succeeds (no "Version Mismatch")
  and Validate on the solved notebook (solutions/day1_attention, hidden tests included) reports
  success.

Time: about 3 minutes of worker time in all (server and Chromium start about 25 s per xdist worker,
the lesson 50-90 s, the assignment 45-60 s, Validate 40-50 s, measured on a busy 2-core machine).

All of them fail on any browser console error or uncaught page exception, except the documented
allow-list in tests/browser/lab.py (CONSOLE_ALLOW). Each module run starts one server on a scratch
copy of the course, so the repository is never modified.
"""

from __future__ import annotations

import re
import subprocess
import time

import nbformat
import pytest

from tests.browser import lab as L

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DAY = "day1_attention"

CORRECT_SOFTMAX = '''def softmax(x, dim=-1):
    """Typed by the browser test: a numerically stable softmax."""
    e = (x - x.amax(dim=dim, keepdim=True)).exp()
    return e / e.sum(dim=dim, keepdim=True)
'''

WRONG_SOFTMAX = '''def softmax(x, dim=-1):
    """Typed by the browser test: the classic mistake, no max subtraction."""
    e = x.exp()
    return e / e.sum(dim=dim, keepdim=True)
'''


# -- fixtures -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lab_server(tmp_path_factory, request):
    scratch = tmp_path_factory.mktemp("browser")
    root = L.copy_course(L.ROOT, scratch / "course-root")
    worker = getattr(request.config, "workerinput", {}).get("workerid", "main")  # pytest-xdist's "gw0", ...
    log = L.ARTIFACTS / f"jupyterlab-server-{worker}.log"
    server = L.LabServer(root, scratch / "jupyter-state", log).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:  # fail, not skip: CI must not pass without running these
        raise RuntimeError(
            "the browser tests need the `playwright` package (requirements-dev.txt; `python3 manage.py test` "
            "installs it); deselect them with -m 'not browser'"
        ) from error
    with sync_playwright() as playwright:
        context = L.launch_chromium(playwright, tmp_path_factory.mktemp("chromium-profile"))
        context.set_default_timeout(60_000)
        yield context
        context.close()


class Session:
    """One test's page, console watch and screenshots."""

    def __init__(self, page, name: str):
        self.page, self.watch, self.shot = page, L.ConsoleWatch(), L.Shots(name)
        self.watch.attach(page)
        self.started = time.monotonic()

    def assert_console_clean(self) -> None:
        errors = "\n".join(self.watch.errors)
        assert not self.watch.errors, (
            f"the browser console reported errors on the course's pages (allow-list: tests/browser/lab.py "
            f"CONSOLE_ALLOW; full log: {self.shot.dir / 'console.log'}):\n{errors}"
        )


@pytest.fixture
def session(browser_context, request):
    page = browser_context.new_page()
    s = Session(page, request.node.name)
    failures = request.session.testsfailed
    yield s
    if request.session.testsfailed > failures:
        try:
            s.shot(page, "at failure")
        except Exception:  # noqa: BLE001 - the page may be gone; the failure itself is reported
            pass
    (s.shot.dir / "console.log").write_text("\n".join(s.watch.lines) + "\n", encoding="utf-8")
    (s.shot.dir / "duration.txt").write_text(f"{time.monotonic() - s.started:.1f} s\n", encoding="utf-8")
    page.close()


def error_outputs(path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    found = []
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.output_type == "error":
                found.append(f"cell {index}: {out.ename}: {out.evalue}")
    return found


# -- tests ----------------------------------------------------------------------------------------
def test_lesson_from_table_of_contents(lab_server, session):
    page, shot = session.page, session.shot

    # 1. The README's way in: JupyterLab opens course/index.ipynb.
    page.goto(lab_server.url("course/index.ipynb"))
    index = L.Notebook(page, "index.ipynb")
    link = index.panel.locator(f'.jp-RenderedMarkdown a[href*="/files/course/{DAY}.ipynb"]').first
    link.wait_for()
    shot(page, "table of contents open")

    # 2. Follow the link to Day 1's lesson: JupyterLab opens it in a new tab.
    link.click()
    lesson = L.Notebook(page, f"{DAY}.ipynb")
    shot(page, "lesson open from the link")

    # 3. Run all cells; every code cell ran (Run All stops at the first error) ...
    started = time.monotonic()
    prompts = lesson.run_all()
    ran_for = time.monotonic() - started
    shot(page, "lesson after run all")
    not_run = [i for i, p in enumerate(prompts) if not L.PROMPT_DONE.match(p)]
    assert prompts and not not_run, f"after Run All, code cells {not_run} did not run (prompts {prompts})"

    # ... and no cell has an error output (read from the saved notebook, the authoritative record).
    lesson.save()
    errors = error_outputs(lab_server.root / "course" / f"{DAY}.ipynb")
    assert not errors, f"the lesson has error outputs after Run All: {errors}"

    # 4. Figures render: images in the outputs that the browser decoded.
    images = lesson.panel.locator(".jp-OutputArea-output img")
    assert images.count() > 0, "the lesson shows no figure after Run All"
    broken = images.evaluate_all("imgs => imgs.filter(i => !(i.complete && i.naturalWidth > 0)).length")
    assert broken == 0, f"{broken} of {images.count()} figures did not load"
    images.first.scroll_into_view_if_needed()
    shot(page, "first figure")

    # 5. Move an ipywidgets slider: the plot it drives is redrawn with a different image.
    slider = lesson.panel.locator(".widget-slider").first
    slider.scroll_into_view_if_needed()
    cell = slider.locator("xpath=ancestor::div[contains(concat(' ', @class, ' '), ' jp-Cell ')][1]")
    cell_images = "cell => [...cell.querySelectorAll('.jp-OutputArea-output img')].map(i => i.src)"
    before = cell.first.evaluate(cell_images)
    readout = slider.locator(".widget-readout")
    value_before = readout.inner_text() if readout.count() else None
    assert before, "the cell with the slider shows no plot before the slider moves"
    shot(page, "widget before moving the slider", element=cell)

    track = slider.locator(".noUi-target, .slider").first
    box = track.bounding_box()
    assert box, "the slider's track is not visible"
    page.mouse.click(box["x"] + box["width"] * 0.85, box["y"] + box["height"] / 2)
    page.wait_for_function(
        "([cell, before]) => { const now = [...cell.querySelectorAll('.jp-OutputArea-output img')].map(i => i.src);"
        " return now.length >= before.length && now.length > 0 && now.join() !== before.join()"
        " && [...cell.querySelectorAll('.jp-OutputArea-output img')].every(i => i.complete && i.naturalWidth > 0); }",
        arg=[cell.first.element_handle(), before], timeout=L.CELL_RUN * 1000, polling=200,
    )
    lesson.wait_idle()
    if value_before is not None:
        assert readout.inner_text() != value_before, "the slider's value did not change"
    shot(page, "widget after moving the slider", element=cell)
    print(f"lesson Run All took {ran_for:.1f} s in the browser")
    session.assert_console_clean()


def test_assignment_feedback(lab_server, session):
    page, shot = session.page, session.shot
    page.goto(lab_server.url(f"assignments/{DAY}/{DAY}.ipynb", workspace="assignment"))
    nb = L.Notebook(page, f"{DAY}.ipynb")
    shot(page, "assignment open")

    # The locked set-up cell (imports, device detection, test helpers).
    setup = nb.code_cell("def check_close(")
    out = nb.run_cell(setup)
    assert "running on" in out, f"the set-up cell should say which device it uses; it printed {out!r}"

    solution = nb.code_cell("def softmax(")
    visible_test = nb.code_cell("softmax: visible tests passed")
    assert "YOUR CODE HERE" in solution.inner_text(), "the release's softmax cell should hold the stub"

    # A correct solution typed in: the visible test passes.
    nb.set_source(solution, CORRECT_SOFTMAX)
    out = nb.run_cell(solution)
    assert "Error" not in out, f"defining the correct softmax failed: {out}"
    out = nb.run_cell(visible_test)
    shot(page, "correct softmax passes its visible test", element=visible_test)
    assert "softmax: visible tests passed" in out and "Error" not in out, f"the visible test failed a correct softmax:\n{out}"

    # A wrong one (no max subtraction): the visible test explains what is wrong.
    nb.set_source(solution, WRONG_SOFTMAX)
    nb.run_cell(solution)
    out = nb.run_cell(visible_test)
    shot(page, "wrong softmax gets an explanation", element=visible_test)
    assert "AssertionError" in out, f"the visible test should fail a softmax without max subtraction:\n{out}"
    message = re.search(r"AssertionError:?(.*)", out)
    assert message and len(message.group(1).strip()) > 20, f"the failure has no explanation:\n{out}"
    assert "max trick" in out or "inf or NaN" in out, f"the message should point at the overflow:\n{out}"
    assert "visible tests passed" not in out
    session.assert_console_clean()


def test_nbgrader_validate(lab_server, session):
    page, shot = session.page, session.shot

    # The lab extension as installed: enabled and OK (an incompatible one is listed with a warning).
    listed = subprocess.run(
        [str(lab_server.command()[0]), "labextension", "list"], capture_output=True, text=True,
        env=lab_server.environment(), cwd=lab_server.root, timeout=120,
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", listed.stdout + listed.stderr)
    line = next((ln for ln in text.splitlines() if "@jupyter/nbgrader" in ln), "")
    assert re.search(r"enabled\s+OK", line), f"`jupyter labextension list` does not show nbgrader enabled and OK:\n{text}"
    assert not re.search(r"incompatib|not compatible", text, re.I), f"an extension is reported incompatible:\n{text}"

    page.goto(lab_server.url(f"solutions/{DAY}/{DAY}.ipynb", workspace="validate"))
    nb = L.Notebook(page, f"{DAY}.ipynb")
    button = nb.panel.locator(".validate-button")
    button.wait_for()
    activated = session.watch.matching(r"JupyterLab extension validate-assignment is activated")
    assert activated, "the nbgrader lab extension did not activate (no activation message in the console)"
    shot(page, "solution notebook with the validate button")

    # Validate: the extension checks its version against the server's, saves, then validates.
    with page.expect_response(lambda r: "/nbgrader_version" in r.url) as version_reply:
        button.click()
    reply = version_reply.value.json()
    assert reply.get("success") is True, f"nbgrader's version check failed: {reply}"
    dialog = page.locator(".jp-Dialog")
    dialog.locator(".jp-Dialog-header").wait_for(timeout=L.VALIDATE * 1000)
    body = dialog.inner_text()
    shot(page, "validate result")
    assert "Version Mismatch" not in body, body
    assert "Success! Your notebook passes all the tests." in body, f"Validate did not report success:\n{body}"
    dialog.locator(".jp-Dialog-button").first.click()

    nbgrader_warnings = [
        ln for ln in session.watch.matching(r"nbgrader")
        if re.match(r"\[(warning|error)\]", ln) or re.search(r"mismatch|incompatib", ln, re.I)
    ]
    assert not nbgrader_warnings, "the browser console has nbgrader warnings:\n" + "\n".join(nbgrader_warnings)
    server_log = lab_server.log_text()
    assert "does not match the server extension" not in server_log, "the server logged an nbgrader version mismatch"
    config_errors = [
        ln.strip() for ln in server_log.splitlines()
        if re.match(r"\[E .*(config|nbgrader)", ln, re.I) or re.match(r"\s+\w+(Error|Exception): ", ln)
    ]
    assert not config_errors, (
        "the server could not load the course's nbgrader configuration (nbgrader then runs without it):\n"
        + "\n".join(config_errors) + f"\nfull log: {lab_server.log_path}"
    )
    session.assert_console_clean()
