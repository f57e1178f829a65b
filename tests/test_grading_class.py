"""Grading a real class (issue 18): every student found, platform exports, partial credit, copies flagged,
no stale grades, bounded outputs.

The fast tests here need no sandbox: downloads as Canvas and Moodle write them
(tests/grading/downloads.py), exports from journal entries, the judge's case counting, the
similarity report on planted copies and on the RIGHT variants of every day, the fingerprint and
the output budget. ``test_class_batch`` grades two small downloads end to end in sandboxes.
"""

from __future__ import annotations

import ast
import csv
import importlib.util
import itertools
import json
import shutil
import sys
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import ASSIGNMENTS  # noqa: E402
from autograder.grading.collect import find_submissions  # noqa: E402
from tests.grading import downloads as dl  # noqa: E402

DAY = dl.DAY
NOTEBOOKS = {"right": b'{"cells": []}', "wrong": b'{"cells": [1]}'}


def _all_files(source: Path) -> set[str]:
    if source.is_file():
        with zipfile.ZipFile(source) as zf:
            return {i.filename.rstrip("/") for i in zf.infolist() if not i.is_dir()}
    return {p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file()}


def _accounted(inv) -> set[str]:
    return {s.original for s in inv.submissions} | {f for f, _ in inv.skipped}


# ---------------------------------------------------------------------------- identity
def test_canvas_zip_keys_by_user_id(tmp_path):
    z = dl.canvas_zip(tmp_path / "submissions.zip", NOTEBOOKS)
    inv = find_submissions(z, DAY, work=tmp_path / "w")
    by = {s.student: s for s in inv.submissions}
    assert set(by) == {"canvas-41001", "canvas-41002", "canvas-41003"}, "two doejane users are two students"
    assert by["canvas-41001"].name == by["canvas-41002"].name == "doejane"
    assert by["canvas-41002"].late and not by["canvas-41001"].late, "Canvas's LATE marker is read"
    assert by["canvas-41003"].original.endswith(f"{DAY}-1.ipynb"), "the latest copy of one upload wins"
    reasons = dict(inv.skipped)
    assert "superseded by" in reasons[dl.canvas_name("smithalex", False, 41003, 900003, f"{DAY}.ipynb")]
    assert "not a notebook" in reasons[dl.canvas_name("leekim", False, 41004, 900004, "notes.txt")]
    assert _accounted(inv) == _all_files(z), "every file is graded or listed with a reason"
    assert not inv.conflicts


@pytest.mark.parametrize("layout", ["folder", "zip in folders", "zip without folders"])
def test_moodle_download_keys_by_participant_id(tmp_path, layout):
    if layout == "folder":
        source = dl.moodle_folders(tmp_path / "download", NOTEBOOKS)
    else:
        source = dl.moodle_zip(tmp_path / "download.zip", NOTEBOOKS, folders=layout == "zip in folders")
    inv = find_submissions(source, DAY, work=tmp_path / "w")
    by = {s.student: s for s in inv.submissions}
    assert set(by) == {"moodle-7001", "moodle-7002", "moodle-7003"}, "two Jane Does are two students"
    assert by["moodle-7001"].name == by["moodle-7002"].name == "Jane Doe"
    assert by["moodle-7003"].name == "Ana María Ruiz"
    assert [why for _, why in inv.skipped] == ["Moodle onlinetext submission, not a file (only uploaded notebooks are graded)"]
    assert _accounted(inv) == _all_files(source)


def test_roster_maps_ids_and_collisions_are_errors(tmp_path):
    z = dl.canvas_zip(tmp_path / "c.zip", NOTEBOOKS)
    roster = dl.roster(tmp_path / "roster.csv", [("41001", "Jane Doe", "jane.doe@uni.example", "jdoe"),
                                                 ("41002", "Jane Doe", "jane.doe2@uni.example", "jdoe2"),
                                                 ("41009", "No Show", "", "nshow")])
    inv = find_submissions(z, DAY, work=tmp_path / "w", roster=roster)
    by = {s.student: s for s in inv.submissions}
    assert {"jdoe", "jdoe2", "canvas-41003"} == set(by), "roster ids replace platform ids; others keep theirs"
    assert by["jdoe"].email == "jane.doe@uni.example" and by["jdoe"].platform_id == "41001"
    assert inv.roster_missing == ["No Show (41009)"]
    # a roster that maps two Canvas users to one student: an error naming both files, neither graded
    bad = dl.roster(tmp_path / "bad.csv", [("41001", "Jane Doe", "", "jdoe"), ("41002", "Jane Doe", "", "jdoe")])
    inv = find_submissions(z, DAY, work=tmp_path / "w2", roster=bad)
    assert "jdoe" not in {s.student for s in inv.submissions}
    (conflict,) = inv.conflicts
    for uid in (41001, 41002):
        assert dl.canvas_name("doejane", uid == 41002, uid, 900000 + uid - 41000, f"{DAY}.ipynb") in conflict
    assert _accounted(inv) == _all_files(z)


def test_two_different_notebooks_from_one_user_are_a_conflict(tmp_path):
    rows = [("doejane", False, 41001, 1, f"{DAY}.ipynb", "right"), ("doejane", False, 41001, 1, f"my_{DAY}.ipynb", "wrong"),
            ("asmith", False, 41005, 5, "Untitled.ipynb", "right")]
    z = dl.canvas_zip(tmp_path / "c.zip", NOTEBOOKS, rows)
    inv = find_submissions(z, None, work=tmp_path / "w")
    (conflict,) = inv.conflicts
    assert f"doejane_41001_1_{DAY}.ipynb" in conflict and f"doejane_41001_1_my_{DAY}.ipynb" in conflict
    assert inv.submissions == [], "no silent choice"
    assert "cannot tell which assignment" in dict(inv.skipped)["asmith_41005_5_Untitled.ipynb"]
    inv = find_submissions(z, DAY, work=tmp_path / "w2")  # one assignment graded: any notebook name is it
    assert [s.student for s in inv.submissions] == ["canvas-41005"]


def test_nbgrader_layout_lists_what_it_does_not_grade(tmp_path):
    (tmp_path / "s" / "alice" / DAY).mkdir(parents=True)
    (tmp_path / "s" / "alice" / DAY / f"{DAY}.ipynb").write_text("{}")
    (tmp_path / "s" / "alice" / DAY / "scratch.ipynb").write_text("{}")
    (tmp_path / "s" / "README.txt").write_text("x")
    inv = find_submissions(tmp_path / "s", DAY)
    assert [s.student for s in inv.submissions] == ["alice"]
    assert {f for f, _ in inv.skipped} == {f"alice/{DAY}/scratch.ipynb", "README.txt"}


# ---------------------------------------------------------------------------- exports
def _result(student, platform, pid, name, score, late=False, email="", manual=True):
    return {"student": student, "assignment": DAY, "score": score, "max_score": 17.0, "in_kernel_score": score,
            "status": "graded", "cheat": [], "notes": [], "events": [], "sha256": "x", "platform": platform,
            "platform_id": pid, "name": name, "email": email, "late": late, "original": f"{student}.ipynb", "extra": {},
            "tests": [{"grade_id": "test_softmax", "exercise": "softmax", "hidden": False, "max_score": 17.0,
                       "score": score, "passed": score == 17, "failures": [], "reason": "", "in_kernel_score": score}],
            "manual": [{"grade_id": "written_1", "kind": "written answer", "max_score": 3.0, "answered": True,
                        "status": "waiting for manual grading"}] if manual else [],
            "manual_max_score": 3.0 if manual else 0.0}


def test_platform_exports(tmp_path):
    from autograder.grading.reports import write_reports

    results = [_result("canvas-41001", "canvas", "41001", "doejane", 17.0),
               _result("canvas-41002", "canvas", "41002", "doejane", 12.0, late=True),
               _result("jdoe", "moodle", "7001", "Jane Doe", 17.0, email="jane.doe@uni.example"),
               _result("moodle-7002", "moodle", "7002", "Jane Doe", 9.5)]
    for r in results:
        page = tmp_path / "feedback" / r["student"] / DAY / f"{DAY}.html"
        page.parent.mkdir(parents=True)
        page.write_text(f"feedback of {r['student']}")
    manual = {("jdoe", DAY): {"written_1": 2.0}}  # a person graded one written answer in formgrader
    write_reports(results, tmp_path, manual=manual, late_policy="zero", canvas_columns={DAY: "Day 1 (4321)"})
    rows = list(csv.reader(open(tmp_path / "exports" / DAY / "canvas_grades.csv")))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Day 1 (4321)"]
    assert rows[1] == ["Points Possible", "", "", "", "", "20"]
    assert rows[2:] == [["doejane", "41001", "", "", "", "17"], ["doejane", "41002", "", "", "", "0"]], "LATE scores 0"
    work = list(csv.DictReader(open(tmp_path / "exports" / DAY / "moodle_grading_worksheet.csv")))
    assert [(w["Identifier"], w["Grade"]) for w in work] == [("Participant 7001", "19"), ("Participant 7002", "9.5")]
    assert "waiting for manual grading" in work[1]["Feedback comments"]
    imp = list(csv.DictReader(open(tmp_path / "exports" / DAY / "moodle_grades.csv")))
    assert imp == [{"Email address": "jane.doe@uni.example", "ID number": "", "Full name": "Jane Doe", DAY: "19"}]
    with zipfile.ZipFile(tmp_path / "exports" / DAY / "moodle_feedback.zip") as zf:
        assert sorted(zf.namelist()) == [f"Jane Doe_7001_assignsubmission_file_{DAY}_feedback.html",
                                         f"Jane Doe_7002_assignsubmission_file_{DAY}_feedback.html"]
        assert zf.read(f"Jane Doe_7001_assignsubmission_file_{DAY}_feedback.html") == b"feedback of jdoe"
    assert sorted(p.name for p in (tmp_path / "exports" / DAY / "canvas_feedback").iterdir()) == [
        f"doejane_41001_{DAY}_feedback.html", f"doejane_41002_{DAY}_feedback.html"]
    grades = {r["student"]: r for r in csv.DictReader(open(tmp_path / "grades.csv"))}
    assert grades["jdoe"]["manual_score"] == "2" and grades["jdoe"]["total"] == "19"
    assert grades["canvas-41002"]["late"] == "yes" and grades["canvas-41002"]["late_penalty"] == "12"
    assert "written_1 (waiting for manual grading)" in grades["moodle-7002"]["manual_pending"]


# ---------------------------------------------------------------------------- partial credit
def test_judge_counts_cases():
    from autograder.judging import Judge

    j = Judge("softmax")
    j.expect_close({"__tensor__": True}, [1.0], "case a")  # malformed: fails under its label
    import numpy as np

    good = {"__tensor__": True, "data": np.ones(2, dtype=np.float32), "shape": [2], "dtype": "float32"}
    j.expect_close(good, np.ones(2), "case b")
    j.expect_close(good, np.ones(2), "case c")
    j.expect(False, "case c changed its input in place")  # belongs to case c by its words
    assert j.case_counts() == {"passed": ["case b"], "failed": ["case a", "case c"], "loose": 0}
    j.fail("the grader expected 5 results but received 3")
    assert j.case_counts()["loose"] == 1, "a failure outside every case leaves no partial credit"


def test_partial_credit_scoring():
    from autograder.grading.verdicts import partial_credit

    def rec(gid, points, passed=False):
        return {"grade_id": gid, "exercise": "softmax", "max_score": points, "score": points if passed else 0.0,
                "passed": passed, "reason": "x", "cell_status": "ok"}

    reference = {"softmax": ["a", "b", "c", "d"]}
    records = [rec("test_softmax", 1.0), rec("test_softmax_hidden", 2.0)]
    partial_credit(records, {"softmax": {"passed": ["a", "b", "c", "forged"], "failed": ["d"], "loose": 0}}, reference)
    assert [r["score"] for r in records] == [0.75, 1.5], "3 of the reference's 4 cases; an unknown label earns nothing"
    records = [rec("test_softmax_hidden", 2.0)]
    partial_credit(records, {"softmax": {"passed": ["a", "b", "c"], "failed": [], "loose": 1}}, reference)
    assert records[0]["score"] == 0.0
    records = [rec("test_softmax_hidden", 2.0)]
    partial_credit(records, {}, reference)  # never reported
    assert records[0]["score"] == 0.0
    records = [rec("test_softmax_hidden", 2.0)]
    partial_credit(records, {"softmax": {"passed": ["a"], "failed": [], "loose": 0}}, {})  # not chosen: all or nothing
    assert records[0]["score"] == 0.0


def test_partial_credit_settings():
    from autograder.grading.batch import GradeBatch, load_settings

    _, course = load_settings()
    assert course.partial_credit is False and course.partial_exercises(DAY, ["softmax"]) == [], "default: all or nothing"
    assert course.late_policy == "zero", "the course's nbgrader late policy applies to platform late flags"
    s = GradeBatch(partial_credit_exercises=[f"{DAY}.softmax", "causal_mask"])
    assert s.partial_exercises(DAY, ["softmax", "causal_mask", "quiz_1"]) == ["softmax", "causal_mask"]
    s = GradeBatch(partial_credit=True, all_or_nothing_exercises=["quiz_1"])
    assert s.partial_exercises(DAY, ["softmax", "quiz_1"]) == ["softmax"]


# ---------------------------------------------------------------------------- no stale grades
def test_fingerprint_covers_every_grading_file(tmp_path, monkeypatch):
    from autograder.grading import batch
    from autograder.sandbox import Limits

    shutil.copytree(ROOT / "autograder", tmp_path / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "solutions" / DAY).mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / DAY / f"{DAY}.ipynb", tmp_path / "solutions" / DAY)
    lim = Limits()
    base = batch.fingerprint(DAY, lim, root=tmp_path)
    seen = {base}
    reference = sorted((tmp_path / "autograder" / "reference").glob("*.py"))[0]
    for path in (reference, tmp_path / "autograder" / "judging.py", tmp_path / "autograder" / "sandbox" / "outputs.py",
                 sorted((tmp_path / "autograder" / "data").iterdir())[0], tmp_path / "solutions" / DAY / f"{DAY}.ipynb"):
        old = path.read_bytes()
        path.write_bytes(old + b"\n")
        changed = batch.fingerprint(DAY, lim, root=tmp_path)
        assert changed not in seen, f"{path.relative_to(tmp_path)} does not reach the fingerprint"
        path.write_bytes(old)
    assert batch.fingerprint(DAY, lim, root=tmp_path) == base
    assert batch.fingerprint(DAY, Limits(cell_timeout=1.0), root=tmp_path) != base
    assert batch.fingerprint(DAY, lim, root=tmp_path, scoring={"partial": ["softmax"]}) != base
    from importlib import metadata

    real = metadata.version
    monkeypatch.setattr(metadata, "version", lambda d: "0.0-other" if d == "torchvision" else real(d))
    assert batch.fingerprint(DAY, lim, root=tmp_path) != base, "the torchvision version reaches the fingerprint"


# ---------------------------------------------------------------------------- outputs
def test_output_budget_marks_once_and_counts_incrementally():
    from autograder.sandbox.outputs import TRUNCATED, OutputBudget

    b = OutputBudget(cell_bytes=100, notebook_bytes=150)
    outs: list = []
    kept = [b.admit(0, outs, 30) for _ in range(10)]
    assert kept == [True] * 3 + [False] * 7 and b.used[0] == 90 and b.total == 90
    assert [o["text"] for o in outs] == [TRUNCATED], "one marker however many outputs are dropped"
    outs.clear()  # clear_output removed everything, the marker too: the next drop says so again, once
    assert not b.admit(0, outs, 30) and not b.admit(0, outs, 1) and len(outs) == 1
    assert b.admit(1, [], 60) and not b.admit(1, outs1 := [], 10) and len(outs1) == 1, "notebook cap (150)"
    b.start_cell(0)  # the cell runs again: its bytes are released
    assert b.total == 60 and b.admit(0, [], 80)


# ---------------------------------------------------------------------------- similarity
def _variants(day: str):
    spec = importlib.util.spec_from_file_location(f"variants_{day}", ROOT / "tests" / "variants" / f"{day}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.RIGHT


def rename_variables(code: str) -> str:
    """A disguised copy: every local name and parameter renamed, the layout redone (comments gone)."""
    tree = ast.parse(code)
    top = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    bound = {n.arg for n in ast.walk(tree) if isinstance(n, ast.arg) and n.arg != "self"}
    bound |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    new = {b: f"my_{b}_value" for b in bound - top}
    for n in ast.walk(tree):
        if isinstance(n, ast.arg) and n.arg in new:
            n.arg = new[n.arg]
        elif isinstance(n, ast.Name) and n.id in new:
            n.id = new[n.id]
    return ast.unparse(tree)


# RIGHT variants that are not independent: Day 7's are edits of the solution cells (read from the
# source), Day 5's share one written-out __init__ (_PE_INIT, _BLOCK_INIT, _VIT_INIT, _MEAN_INIT).
# They are counted and reported, not held to "never flagged".
DERIVED = {("day7_practicum", "SmallViT"), ("day7_practicum", "train_vit"), ("day5_vit", "PatchEmbedding"),
           ("day5_vit", "EncoderBlock"), ("day5_vit", "VisionTransformer"), ("day5_vit", "MeanPoolViT")}


def test_similarity_precision_and_recall():
    """Planted copies (verbatim, renamed) are flagged; the RIGHT variants, written independently, are not."""
    from autograder.grading.similarity import REFERENCE, Settings, build_docs, compare, solution_cells

    s = Settings()
    planted = {"flagged": 0, "total": 0, "missed": []}
    honest = {"flagged": 0, "total": 0, "false": []}
    derived = {"flagged": 0, "total": 0}
    started = time.monotonic()
    for day in ASSIGNMENTS:
        reference = solution_cells(ROOT / "solutions" / day / f"{day}.ipynb")
        stubs = solution_cells(ROOT / "assignments" / day / f"{day}.ipynb", strip_markers=False)
        for ex, variants in _variants(day).items():
            if ex not in reference or ex.startswith("quiz"):
                continue
            answers = {"copy-verbatim": {ex: reference[ex]}, "copy-renamed": {ex: rename_variables(reference[ex])}}
            for n, code in enumerate(variants.values()):
                answers[f"variant-{n}"] = {ex: code}
                answers[f"variant-{n}-copy"] = {ex: rename_variables(code)}
            docs = {d.who: d for d in build_docs(answers, {ex: reference[ex]}, stubs, s)}
            if ex not in docs[REFERENCE].cells:
                continue  # shorter than the noise threshold: never compared

            def flagged(a: str, b: str) -> bool:
                if ex not in docs[a].cells or ex not in docs[b].cells:
                    return False
                return bool((compare(docs[a], docs[b], s) or {}).get("flagged"))

            for a, b in [("copy-verbatim", REFERENCE), ("copy-renamed", REFERENCE)] + [
                    (f"variant-{n}-copy", f"variant-{n}") for n in range(len(variants))]:
                hit = flagged(a, b)
                planted["total"] += 1
                planted["flagged"] += hit
                if not hit:
                    planted["missed"].append(f"{day}.{ex}: {a}")
            pairs = [(f"variant-{n}", REFERENCE) for n in range(len(variants))]
            pairs += [(f"variant-{m}", f"variant-{n}") for m, n in itertools.combinations(range(len(variants)), 2)]
            bucket = derived if (day, ex) in DERIVED else honest
            for a, b in pairs:
                hit = flagged(a, b)
                bucket["total"] += 1
                bucket["flagged"] += hit
                if hit and bucket is honest:
                    honest["false"].append(f"{day}.{ex}: {a} ~ {b}")
    seconds = time.monotonic() - started
    precision = planted["flagged"] / max(1, planted["flagged"] + honest["flagged"])
    recall = planted["flagged"] / planted["total"]
    print(f"\nsimilarity: planted copies flagged {planted['flagged']}/{planted['total']} (recall {recall:.3f}); "
          f"independent RIGHT variant pairs flagged {honest['flagged']}/{honest['total']}; precision {precision:.3f}; "
          f"variants derived from the solution flagged {derived['flagged']}/{derived['total']}; {seconds:.1f} s")
    assert honest["flagged"] == 0, honest["false"]
    assert recall >= 0.97, planted["missed"]


def test_similarity_report_side_by_side(tmp_path):
    from autograder.grading.similarity import similarity_report, solution_cells

    reference = solution_cells(ROOT / "solutions" / DAY / f"{DAY}.ipynb")
    right = _variants(DAY)
    honest = {ex: next(iter(right[ex].values())) for ex in ("softmax", "scaled_dot_product_attention", "padded_attention")}
    other = {ex: list(right[ex].values())[1] for ex in honest}
    copied = {ex: rename_variables(reference[ex]) for ex in honest}
    results = [{"student": name, "assignment": DAY, "answers": answers}
               for name, answers in (("honest-a", honest), ("honest-b", other), ("copier", copied),
                                     ("copier-friend", {ex: rename_variables(code) for ex, code in other.items()}))]
    summary = similarity_report(results, tmp_path)
    day = summary["assignments"][DAY]
    assert day["copies_of_reference"] == ["copier"]
    flagged = json.loads((tmp_path / "similarity.json").read_text())["flagged"][DAY]
    assert {frozenset((p["a"], p["b"])) for p in flagged} == {frozenset(("reference solution", "copier")),
                                                              frozenset(("honest-b", "copier-friend"))}
    page = (tmp_path / "similarity.html").read_text()
    assert page.count("<table>") >= 2 and "<mark>" in page and "copier-friend" in page
    assert "<script" not in page


# ---------------------------------------------------------------------------- feedback
def test_feedback_hides_mark_schemes():
    import nbformat

    from autograder.grading.feedback import clear_mark_schemes

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("Explain.\n=== BEGIN MARK SCHEME ===\n2 points: names the scale\n"
                                      "=== END MARK SCHEME ===\nThanks."),
        nbformat.v4.new_markdown_cell("Task\n=== BEGIN MARK SCHEME ===\nunclosed secret")])
    clear_mark_schemes(nb)
    assert [c.source for c in nb.cells] == ["Explain.\nThanks.", "Task"]


# ---------------------------------------------------------------------------- a class, end to end
def _honest_variant_notebook(n: int) -> bytes:
    """Every Day 1 exercise answered with RIGHT variant ``n`` (written independently of the solution)."""
    from tests.grading.day1_submissions import dump, notebook

    right = _variants(DAY)
    return dump(notebook({ex: list(v.values())[n % len(v)] for ex, v in right.items() if not ex.startswith("quiz")}))


def _renamed_copy_notebook() -> bytes:
    from tests.grading.day1_submissions import RIGHT, dump, notebook

    copied = {}
    for gid, code in RIGHT.items():
        try:
            copied[gid] = rename_variables(code) if not gid.startswith(("quiz", "written")) else code
        except SyntaxError:
            copied[gid] = code
    return dump(notebook(copied))


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) is not installed")
def test_class_batch(tmp_path):
    """A Canvas zip and a Moodle zip graded into one folder: ids, late policy, partial credit, exports, copies."""
    from autograder.grading.batch import grade_batch, load_settings
    from autograder.sandbox import Limits
    from tests.grading.day1_submissions import TOTAL, WRONG_SOFTMAX, dump, notebook, score_without

    written = notebook()
    for c in written["cells"]:
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "written_1":
            c["source"] = "Scaling by 1/sqrt(d) keeps the logits' variance near 1 (my own words)."
    nbs = {"right": dump(written), "wrong": dump(notebook({"softmax": WRONG_SOFTMAX})), "variant": _honest_variant_notebook(1),
           "copy": _renamed_copy_notebook()}
    canvas = dl.canvas_zip(tmp_path / "canvas.zip", nbs, [
        ("doejane", False, 41001, 900001, f"{DAY}.ipynb", "right"),
        ("doejane", True, 41002, 900002, f"{DAY}.ipynb", "wrong"),
        ("smithalex", False, 41003, 900003, f"{DAY}.ipynb", "wrong"),
        ("smithalex", False, 41003, 900003, f"{DAY}-1.ipynb", "variant"),
        ("leekim", False, 41004, 900004, "notes.txt", "text")])
    moodle = dl.moodle_zip(tmp_path / "moodle.zip", nbs, [
        ("Jane Doe", 7001, "file", f"{DAY}.ipynb", "copy"), ("Jane Doe", 7002, "file", f"{DAY}.ipynb", "variant"),
        ("Ana María Ruiz", 7003, "onlinetext", "onlinetext.html", "text")])
    roster = dl.roster(tmp_path / "roster.csv", [("7001", "Jane Doe", "jane.doe@uni.example", "jdoe")])
    _, settings = load_settings()
    settings.partial_credit_exercises = ["softmax", "scaled_dot_product_attention"]
    limits = Limits(cell_timeout=45.0, notebook_timeout=600.0, total_memory_bytes=int(1.5 * 2**30), scratch_bytes=64 * 2**20)
    out = tmp_path / "out"
    started = time.monotonic()
    c = grade_batch(canvas, out, assignment=DAY, jobs=2, limits=limits, settings=settings, log=print)
    grades = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    skipped = {r["file"]: r["reason"] for r in csv.DictReader(open(out / "not_graded.csv"))}
    assert {r["file"] for r in grades.values()} | set(skipped) == _all_files(canvas), "every file graded or listed"
    assert float(grades["canvas-41001"]["score"]) == TOTAL and grades["canvas-41001"]["manual_pending"]
    wrong = float(grades["canvas-41002"]["score"])
    assert score_without("softmax", "scaled_dot_product_attention") < wrong < TOTAL, "partial credit for the cases passed"
    assert float(grades["canvas-41003"]["score"]) == TOTAL, "the latest upload (independent RIGHT variants) passes"
    imported = list(csv.reader(open(out / "exports" / DAY / "canvas_grades.csv")))
    assert [row[1:] for row in imported[2:]] == [["41001", "", "", "", "17"], ["41002", "", "", "", "0"],
                                                  ["41003", "", "", "", "17"]], "LATE scores 0 under the course's policy"
    autograded = json.loads((out / "autograded" / "canvas-41001" / DAY / f"{DAY}.ipynb").read_text())
    answer = next(c for c in autograded["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "written_1")
    assert "my own words" in "".join(answer["source"]), "the student's written answer, not the model answer"
    assert c["similarity"]["assignments"][DAY]["copies_of_reference"] == ["canvas-41001"]

    # the same course and settings: the reference's case count is reused, not run again
    shutil.copytree(out / "journal" / "_reference", out / "moodle" / "journal" / "_reference")
    m = grade_batch(moodle, out / "moodle", assignment=DAY, jobs=2, limits=limits, settings=settings, log=print,
                    roster=roster)
    elapsed = time.monotonic() - started
    grades = {r["student"]: r for r in csv.DictReader(open(out / "moodle" / "grades.csv"))}
    skipped = {r["file"]: r["reason"] for r in csv.DictReader(open(out / "moodle" / "not_graded.csv"))}
    assert {r["file"] for r in grades.values()} | set(skipped) == _all_files(moodle)
    assert set(grades) == {"jdoe", "moodle-7002"} and float(grades["moodle-7002"]["score"]) == TOTAL
    assert m["similarity"]["assignments"][DAY]["copies_of_reference"] == ["jdoe"], "a renamed copy is still a copy"
    imp = list(csv.DictReader(open(out / "moodle" / "exports" / DAY / "moodle_grades.csv")))
    assert [r["Email address"] for r in imp] == ["jane.doe@uni.example"]
    with zipfile.ZipFile(out / "moodle" / "exports" / DAY / "moodle_feedback.zip") as zf:
        assert sorted(zf.namelist()) == [f"Jane Doe_{pid}_assignsubmission_file_{DAY}_feedback.html" for pid in (7001, 7002)]
    graded = c["throughput"]["graded"] + m["throughput"]["graded"]
    print(f"\nclass batch: {graded} submissions (+1 reference run) in {elapsed:.0f} s; similarity report "
          f"{c['similarity']['seconds']} s + {m['similarity']['seconds']} s")
