"""A class on a real JupyterHub: nbgrader's exchange end to end, with real Unix accounts.

The test *is* docs/jupyterhub.md: it runs every shell block the guide marks
``<!-- hub-test: ... -->``, as the account the marker names, and does the students' and the
formgrader's part in Chromium through the hub. One instructor and two students are created with
the guide's own script (names unique to the run) and removed afterwards, homes included.

1. As root: the guide's set-up (exchange, groups, /etc files; here under a scratch prefix) and
   accounts; the hub from the installed configuration (PAM log-in, a local spawner).
2. The instructor releases Day 1 (generate_assignment, release_assignment).
3. Both students log in through the hub's page (Chromium), see only the student tools, fetch Day 1
   in the Assignment List, answer every exercise (Ana all right, Ben one concept question wrong),
   write the written answer, save, Validate, Submit. The deadline falls between the two
   submissions, so Ben's is late.
4. The instructor collects and autogrades (the course configuration: sandboxed), grades Ana's
   written answer in the formgrader, generates and releases feedback; each student fetches it in
   the Assignment List and reads their own score; the instructor exports grades.csv.
5. Checks: every grade in the gradebook, the late penalty, the CSV, the feedback pages; a student
   can neither list the exchange's submissions or feedback nor read the other's home.

Screenshots of each step: test-artifacts/browser/test_exchange_round_trip/ (one folder per
person). Needs root (to create accounts; CI runs as root), JupyterHub, configurable-http-proxy,
Chromium and bubblewrap (`python3 manage.py test` installs them); skipped with the reason otherwise.
"""

from __future__ import annotations

import csv
import json
import os
import pwd
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat
import pytest

from tests.browser import hub as H
from tests.browser import lab as L

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DAY = "day1_attention"
ROOT = L.ROOT
ART = L.ARTIFACTS / "test_exchange_round_trip"
WAIT = 900  # the longest any person waits for another's step (seconds); a failure elsewhere ends it sooner
WRITTEN_SCORE = 2  # the points the instructor gives Ana's written answer in the formgrader
ANA_WRITTEN = (
    "1. With -inf the allowed weights are exactly those without the masked keys (exp(-inf) = 0); a fully "
    "masked row is nan. 2. With -1e9 the same in float32; a fully masked row gets uniform weights. "
    "3. Multiplying after the softmax leaves rows that sum to less than 1."
)
BEN_WRITTEN = "All three ways give the same weights, because the masked weights end up as 0."


# -- what each student types ----------------------------------------------------------------------
def answers() -> dict[str, str]:
    """grade_id -> the reference solution of each code exercise (solution markers removed)."""
    nb = nbformat.read(ROOT / "solutions" / DAY / f"{DAY}.ipynb", as_version=4)
    out = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            out[meta["grade_id"]] = "".join(ln for ln in cell.source.splitlines(keepends=True) if "SOLUTION" not in ln)
    return out


def wrong_letter(source: str) -> str:
    right = re.search(r'"([A-D])"', source).group(1)
    return source.replace(f'"{right}"', f'"{"A" if right != "A" else "B"}"')


def release_layout() -> dict[str, int]:
    """grade_id -> cell index in the release (the fetched notebook has the same cells)."""
    nb = nbformat.read(ROOT / "assignments" / DAY / f"{DAY}.ipynb", as_version=4)
    return {c.metadata.get("nbgrader", {}).get("grade_id"): i for i, c in enumerate(nb.cells) if "nbgrader" in c.metadata}


def grade_cells() -> dict[str, tuple[float, bool]]:
    """grade_id -> (points, graded by a person) of every graded cell of the source notebook."""
    nb = nbformat.read(ROOT / "solutions" / DAY / f"{DAY}.ipynb", as_version=4)
    found = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") or meta.get("task"):
            found[meta["grade_id"]] = (float(meta["points"]), cell.cell_type == "markdown")
    return found


# -- preconditions --------------------------------------------------------------------------------
def skip_or_fail_reasons() -> tuple[str | None, list[str]]:
    """(why to skip, what is missing). Not root: skip. Root without the tools: fail (CI must run this)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return ("creates Unix accounts: needs root (CI runs as root; `sudo python3 manage.py test -k hub`)", [])
    missing = []
    for program in ("useradd", "userdel", "groupdel", "chpasswd", "runuser", "bwrap"):
        if shutil.which(program) is None:
            missing.append(program)
    if not (Path(sys.executable).parent / "jupyterhub").exists():
        missing.append("jupyterhub (requirements-dev.txt)")
    if H.find_proxy() is None:
        missing.append(f"configurable-http-proxy (npm install -g configurable-http-proxy@{H.PROXY_VERSION})")
    if L.find_chromium() is None:
        missing.append("chromium")
    closed = H.closed_to_others(Path(sys.prefix))
    if closed is not None:
        return (f"the Python environment ({sys.prefix}) is inside {closed}, which other accounts cannot enter: "
                "the students' servers could not start. Run the suite from a clone others can read "
                "(e.g. under /srv or /opt), or point COURSE_VENV at such an environment", missing)
    return None, missing


# -- the people ------------------------------------------------------------------------------------
class GaveUp(RuntimeError):
    """A wait ended because another person's step failed (that failure is the one reported)."""


class Shared:
    """What the people in the test wait on, and the first failure (which ends every wait)."""

    def __init__(self):
        self.events = {name: threading.Event() for name in (
            "released", "ana submitted", "deadline passed", "ben submitted", "autograded", "feedback released")}
        self.failed = threading.Event()
        self.seen: dict[str, dict] = {}

    def wait(self, name: str) -> None:
        deadline = time.monotonic() + WAIT
        while not self.events[name].wait(timeout=1):
            if self.failed.is_set():
                raise GaveUp(f"gave up waiting for '{name}': another step failed")
            if time.monotonic() > deadline:
                raise TimeoutError(f"'{name}' did not happen within {WAIT} s")

    def set(self, name: str) -> None:
        self.events[name].set()


def person(name: str, shared: Shared, body: Callable) -> Callable[[], None]:
    """Run one person's steps in their own Chromium (Playwright is per thread), screenshots included."""

    def run() -> None:
        from playwright.sync_api import sync_playwright

        shots = L.Shots(f"test_exchange_round_trip/{name}")
        watch = L.ConsoleWatch()
        with tempfile.TemporaryDirectory(prefix=f"chromium-{name}-") as profile, sync_playwright() as playwright:
            context = L.launch_chromium(playwright, Path(profile))
            context.set_default_timeout(120_000)
            page = context.new_page()
            watch.attach(page)
            try:
                body(page, shots)
            except BaseException:
                shared.failed.set()
                try:
                    shots(page, "at failure")
                except Exception:  # noqa: BLE001 - the page may be gone; the failure is reported
                    pass
                raise
            finally:
                (shots.dir / "console.log").write_text("\n".join(watch.lines) + "\n", encoding="utf-8")
                context.close()

    return run


def student_steps(hub: H.Hub, account: H.Account, shared: Shared, code: dict[str, str], written: str,
                  late: bool) -> Callable:
    layout = release_layout()

    def body(page, shot) -> None:
        seen = shared.seen.setdefault(account.name, {})
        started = time.monotonic()
        H.login(page, hub.base, account)
        seen["login_s"] = time.monotonic() - started
        shot(page, "logged in through the hub")
        seen["menu"] = H.nbgrader_menu(page)

        shared.wait("released")
        assignments = H.AssignmentList(page)
        shot(page, "assignment list")
        assignments.fetch(DAY)
        shot(page, "fetched")
        assignments.open_notebook(DAY, DAY)
        nb = L.Notebook(page, f"{DAY}.ipynb")
        for grade_id, source in code.items():
            H.set_code(nb, layout[grade_id], source)
        H.set_markdown(nb, layout["written_1"], written)
        nb.save()
        shot(page, "answered and saved")
        seen["validate"] = H.validate(nb)
        shot(page, "validate result")
        H.close_dialog(page)

        if late:
            shared.wait("deadline passed")
        assignments_tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text="Assignments").first
        assignments_tab.click()
        seen["submitted_at"] = assignments.submit(DAY)
        shot(page, "submitted")
        shared.set("ben submitted" if late else "ana submitted")

        shared.wait("feedback released")
        assignments_tab.click()
        assignments.fetch_feedback()
        shot(page, "feedback fetched")
        page.locator("#submitted_assignments_list a", has_text="view feedback").first.click()
        html = page.locator(".jp-DirListing-item", has_text=f"{DAY}.html").first
        html.dblclick()
        viewer = page.frame_locator(".jp-HTMLViewer iframe").first
        viewer.locator("h4", has_text="Score").first.wait_for(timeout=60_000)
        seen["feedback"] = viewer.locator("body").inner_text()
        shot(page, "feedback open")

    return body


def instructor_steps(hub: H.Hub, account: H.Account, shared: Shared, grade_student: str) -> Callable:
    def body(page, shot) -> None:
        seen = shared.seen.setdefault(account.name, {})
        H.login(page, hub.base, account)
        shot(page, "logged in through the hub")
        seen["menu"] = H.nbgrader_menu(page)
        shared.wait("ben submitted")
        shared.wait("autograded")
        H.open_menu_entry(page, "Formgrader")
        frame = page.frame_locator(".jp-MainAreaWidget iframe[src*='formgrader']").first
        frame.locator("a", has_text="Manual Grading").first.click()
        frame.locator("a", has_text=DAY).first.click()
        frame.locator("td a", has_text=DAY).first.click()
        name = frame.locator("a.name-shown", has_text=grade_student)
        name.wait_for(state="attached")  # the list loads after the page
        frame.locator("#toggle_names").click()
        name.wait_for(state="visible")
        shot(page, "formgrader submissions")
        name.click()
        score = frame.locator("input.score#written_1")
        score.wait_for()
        score.scroll_into_view_if_needed()
        seen["rubric_hidden"] = "Rubric" not in frame.locator("body").inner_text()
        with page.expect_response(lambda r: "/formgrader/api/grade/" in r.url and r.request.method == "PUT") as saved:
            score.fill(str(WRITTEN_SCORE))
            score.press("Tab")
        seen["grade_saved"] = saved.value.status
        shot(page, "written answer graded")

    return body


# -- the test --------------------------------------------------------------------------------------
def test_exchange_round_trip():
    reason, missing = skip_or_fail_reasons()
    if reason and not missing:
        pytest.skip(reason)
    assert not missing, "the hub test needs: " + ", ".join(missing) + " (`python3 manage.py test` installs them as root)"
    if reason:
        pytest.skip(reason)

    steps = H.guide_steps()
    assert list(steps) == ["setup", "accounts", "instructor-setup", "release", "deadline", "collect-autograde",
                           "feedback", "export"], f"docs/jupyterhub.md's marked steps changed: {list(steps)}"
    tag = secrets.token_hex(4)
    instructor, ana, ben = f"cvh{tag}-teach", f"cvh{tag}-ana", f"cvh{tag}-ben"
    groups = {"COURSE_STUDENTS_GROUP": f"cvh{tag}-students", "COURSE_INSTRUCTORS_GROUP": f"cvh{tag}-teachers"}
    scratch = Path(tempfile.mkdtemp(prefix=f"course-hub-{tag}-"))
    scratch.chmod(0o755)  # the servers (other accounts) read the configuration under it
    shutil.rmtree(ART, ignore_errors=True)
    ART.mkdir(parents=True)
    timings: dict[str, float] = {}
    started = time.monotonic()
    hub: H.Hub | None = None
    accounts: dict[str, H.Account] = {}
    try:
        python_bin, how = H.interpreter_for_accounts(scratch)
        print(f"the hub and the accounts' servers run {how}")
        env = {
            "PATH": os.pathsep.join((str(python_bin), str(Path(H.find_proxy()).parent), "/usr/sbin", "/usr/bin", "/sbin",
                                     "/bin")),
            "COURSE_HUB_ETC": str(scratch / "etc"), "COURSE_EXCHANGE_ROOT": str(scratch / "exchange"), **groups,
            "INSTRUCTOR": instructor, "STUDENTS": f"{ana} {ben}",
        }
        hub = H.Hub(python_bin, scratch / "etc", scratch / "hub-state", {**os.environ, **env}, ART / "jupyterhub.log")
        # 1. The administrator: set-up and accounts, from a copy of the repository.
        admin = scratch / "admin-clone"
        shutil.copytree(ROOT / "deploy", admin / "deploy")
        for name in ("setup", "accounts"):
            H.run_as("root", steps[name][1], env, cwd=admin)
        for line in (admin / "passwords.tsv").read_text().splitlines():
            name, password = line.split("\t")
            accounts[name] = H.Account(name, password, "instructor" if name == instructor else "student")
        assert set(accounts) == {instructor, ana, ben}, f"add-account.sh printed {sorted(accounts)}"
        for account in accounts.values():
            mode = account.home.stat().st_mode & 0o777
            assert mode == 0o700, f"{account.name}'s home has mode {oct(mode)}: other students could read it"
        teacher = accounts[instructor]
        clone = teacher.home / "attention-cv"  # the instructor's clone of the (private) repository
        for name in ("autograder", "solutions", "assignments", "deploy", "nbgrader_config.py"):
            src = ROOT / name
            (shutil.copytree(src, clone / name, ignore=shutil.ignore_patterns("__pycache__"))
             if src.is_dir() else shutil.copy2(src, clone / name))
        subprocess.run(["chown", "-R", f"{instructor}:{instructor}", str(clone)], check=True)
        instr_env = {k: v for k, v in env.items() if k not in ("INSTRUCTOR", "STUDENTS")}
        H.run_as(instructor, steps["instructor-setup"][1], instr_env, cwd=teacher.home)
        hub.start()
        timings["set-up and hub start"] = time.monotonic() - started

        # 2-4. The people, each in their own browser; the instructor's commands from this thread.
        shared = Shared()
        code = answers()
        ben_code = {**code, "quiz_1": wrong_letter(code["quiz_1"])}
        with ThreadPoolExecutor(max_workers=3) as pool:
            futures = {
                "ana": pool.submit(person("ana", shared, student_steps(hub, accounts[ana], shared, code, ANA_WRITTEN, False))),
                "ben": pool.submit(person("ben", shared, student_steps(hub, accounts[ben], shared, ben_code, BEN_WRITTEN, True))),
                "instructor": pool.submit(person("instructor", shared, instructor_steps(hub, teacher, shared, ana))),
            }
            try:
                t = time.monotonic()
                H.run_as(instructor, steps["release"][1], instr_env, cwd=teacher.home)
                timings["release"] = time.monotonic() - t
                shared.set("released")
                shared.wait("ana submitted")
                due = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=1)
                H.run_as(instructor, steps["deadline"][1], {**instr_env, "DUE": due.strftime("%Y-%m-%d %H:%M:%S UTC")},
                         cwd=teacher.home)
                while datetime.now(timezone.utc) <= due:  # Ben submits after the deadline
                    time.sleep(0.1)
                shared.set("deadline passed")
                shared.wait("ben submitted")
                t = time.monotonic()
                H.run_as(instructor, steps["collect-autograde"][1], instr_env, cwd=teacher.home)
                timings["collect and autograde (2 submissions, sandboxed)"] = time.monotonic() - t
                shared.set("autograded")
                futures["instructor"].result(timeout=WAIT)  # the written answer is graded
                t = time.monotonic()
                H.run_as(instructor, steps["feedback"][1], instr_env, cwd=teacher.home)
                timings["generate and release feedback"] = time.monotonic() - t
                shared.set("feedback released")
                for future in futures.values():
                    future.result(timeout=WAIT)
                memory = {a.name: H.resident_mb(a.uid) for a in accounts.values()}
                validate_config = H.server_nbgrader_config(accounts[ana], python_bin)
                H.run_as(instructor, steps["export"][1], instr_env, cwd=teacher.home)
            except BaseException as error:
                shared.failed.set()
                failures = [f"{who}: {type(e).__name__}: {e}" for who, f in futures.items()
                            if (e := f.exception(timeout=WAIT)) is not None and not isinstance(e, GaveUp)]
                if failures:  # a person's step failed first: that is the cause to report
                    raise AssertionError("\n".join(failures) + f"\n(then: {error})") from error
                raise
        timings["whole round trip"] = time.monotonic() - started

        # 5. What the run produced.
        check_people(shared.seen, accounts, instructor, ana, ben)
        check_validate_config(validate_config, scratch / "exchange")
        check_gradebook(clone / "gradebook.db", ana, ben)
        check_export(clone / "grades.csv", ana, ben)
        check_isolation(scratch / "exchange", accounts[ana], accounts[ben])
        (ART / "timings.json").write_text(json.dumps({"seconds": timings, "resident_mb": memory}, indent=1) + "\n")
        print("hub round trip:", json.dumps(timings), "resident MB per account:", json.dumps(memory))
    finally:
        if hub is not None:
            hub.stop()
        for name in (instructor, ana, ben):
            remove_account(name)
        for group in groups.values():
            subprocess.run(["groupdel", group], capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)


# -- checks ----------------------------------------------------------------------------------------
def expected_scores() -> tuple[float, float]:
    """(autograded points, points graded by people) of Day 1."""
    cells = grade_cells()
    return sum(p for p, manual in cells.values() if not manual), sum(p for p, manual in cells.values() if manual)


def check_people(seen: dict, accounts: dict, instructor: str, ana: str, ben: str) -> None:
    auto, manual = expected_scores()
    for student in (ana, ben):
        assert seen[student]["menu"] == ["Assignment List"], f"{student} sees instructor tools: {seen[student]['menu']}"
        assert "Success! Your notebook passes all the tests." in seen[student]["validate"], seen[student]["validate"]
    assert "Formgrader" in seen[instructor]["menu"], f"the instructor has no formgrader: {seen[instructor]['menu']}"
    assert seen[instructor]["grade_saved"] == 200 and seen[instructor]["rubric_hidden"]
    ana_fb, ben_fb = seen[ana]["feedback"], seen[ben]["feedback"]
    assert f"(Score: {auto + WRITTEN_SCORE:.1f} / {auto + manual:.1f})" in ana_fb, ana_fb[:600]
    assert f"(Score: 0.0 / {auto + manual:.1f})" in ben_fb, ben_fb[:600]
    assert f"Late submission penalty (Score: -{auto - 1:.1f})" in ben_fb, ben_fb[:600]
    for text in (ana_fb, ben_fb):
        assert "Rubric" not in text and "Model answer" not in text, "the rubric reached a student's feedback"
    ana_words, ben_words = "leaves rows that sum to less than 1", "the masked weights end up as 0"  # as rendered
    assert ana_words in ANA_WRITTEN and ben_words in BEN_WRITTEN
    assert ana_words in ana_fb and ben_words not in ana_fb, "Ana's feedback is not her own"
    assert ben_words in ben_fb and ana_words not in ben_fb, "Ben's feedback is not his own"


def check_validate_config(found: dict, exchange: Path) -> None:
    """A student's server reads the course's settings: Validate runs with the course's per-cell limit."""
    from traitlets.config import PyFileConfigLoader

    shared = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT / "deploy" / "jupyter")).load_config()
    assert found == {"timeout": shared.Execute.timeout, "course_id": "attention-cv", "exchange": str(exchange)}, (
        f"a student's server loads {found}; the course's settings are timeout {shared.Execute.timeout}, attention-cv, "
        f"{exchange} (nbgrader's default per-cell limit for Validate is 30 s)")


def check_gradebook(db: Path, ana: str, ben: str) -> None:
    from nbgrader.api import Gradebook

    cells = grade_cells()
    auto, manual = expected_scores()
    with Gradebook(f"sqlite:///{db}") as gb:
        for student in (ana, ben):
            sub = gb.find_submission_notebook(DAY, DAY, student)
            grades = {g.name: g for g in sub.grades}
            assert set(grades) == set(cells), f"{student}: graded cells {sorted(grades)} != {sorted(cells)}"
            for gid, (points, by_person) in cells.items():
                g = grades[gid]
                if by_person:
                    expected_manual = WRITTEN_SCORE if student == ana else None
                    assert g.manual_score == expected_manual and g.needs_manual_grade == (student == ben), (
                        f"{student} {gid}: manual {g.manual_score}, waiting {g.needs_manual_grade}")
                else:
                    wrong = student == ben and gid == "test_quiz_1"
                    assert g.auto_score == (0 if wrong else points) and not g.needs_manual_grade, (
                        f"{student} {gid}: auto score {g.auto_score} of {points}")
        ana_sub, ben_sub = gb.find_submission(DAY, ana), gb.find_submission(DAY, ben)
        assert ana_sub.total_seconds_late == 0 and ana_sub.late_submission_penalty == 0
        assert ben_sub.total_seconds_late > 0, "Ben submitted after the deadline"
        assert ben_sub.late_submission_penalty == auto - 1, f"late penalty {ben_sub.late_submission_penalty} != {auto - 1}"
        assert ana_sub.score == auto + WRITTEN_SCORE and ben_sub.score - ben_sub.late_submission_penalty == 0
        assert ana_sub.max_score == ben_sub.max_score == auto + manual


def check_export(path: Path, ana: str, ben: str) -> None:
    auto, manual = expected_scores()
    rows = {r["student_id"]: r for r in csv.DictReader(path.open())}
    assert set(rows) == {ana, ben}, f"grades.csv has {sorted(rows)}"
    assert float(rows[ana]["score"]) == auto + WRITTEN_SCORE and float(rows[ana]["late_submission_penalty"]) == 0
    assert float(rows[ben]["raw_score"]) == auto - 1 and float(rows[ben]["score"]) == 0
    assert float(rows[ben]["late_submission_penalty"]) == auto - 1
    assert all(float(r["max_score"]) == auto + manual for r in rows.values())


def check_isolation(exchange: Path, ana: H.Account, ben: H.Account) -> None:
    """Ben cannot list the submissions or the feedback, nor read Ana's home; names are unguessable."""
    course = exchange / "attention-cv"
    for folder in (course / "inbound", course / "feedback"):
        probe = subprocess.run(["runuser", "-u", ben.name, "--", "ls", str(folder)], capture_output=True, text=True)
        assert probe.returncode != 0 and "Permission denied" in probe.stderr, f"{ben.name} can list {folder}: {probe.stdout}"
    for target in (ana.home, ana.home / DAY / f"{DAY}.ipynb"):
        probe = subprocess.run(["runuser", "-u", ben.name, "--", "cat" if target.suffix else "ls", str(target)],
                               capture_output=True, text=True)
        assert probe.returncode != 0, f"{ben.name} can read {target}"
    submissions = sorted(p.name for p in (course / "inbound").iterdir())
    assert len(submissions) == 2 and all(re.fullmatch(rf"[^+]+\+{DAY}\+[^+]+\+[A-Za-z0-9_-]{{12}}", s) for s in submissions), (
        f"submission names without a random part: {submissions}")
    feedback = sorted(p.name for p in (course / "feedback").iterdir())
    assert len(feedback) == 2 and all(re.fullmatch(r"[0-9a-f]{32,}\.html", f) for f in feedback), feedback


def remove_account(name: str) -> None:
    """Remove an account the test created, with its home; end its leftover processes first (by pid)."""
    try:
        uid = pwd.getpwnam(name).pw_uid
    except KeyError:
        return
    for pid in H.processes_of(uid):
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    subprocess.run(["userdel", "-r", name], capture_output=True)
