"""Batch grading against adversarial submissions (issues 8 and 15): every attack and fault gets its exact grade.

One batch of day1_attention submissions (tests/grading/day1_submissions.py: one per attack or
fault, and issue 15's set, at least one per class of hole) is graded once in bubblewrap
sandboxes; the tests then read the journal, the gradebook, the exports and the review report.
Expected grades derive from the notebook's points per exercise. Timing bounds are loose on purpose.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.grading.batch import collect, grade_batch  # noqa: E402
from autograder.sandbox import Limits, SandboxError  # noqa: E402
from tests.grading.day1_submissions import CLASSES, DAY, POINTS, TOTAL, WRITTEN_POINTS, cases  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) is not installed")
slow = pytest.mark.slow  # grades notebooks in sandboxes

LIMITS = dict(cell_timeout=20.0, notebook_timeout=600.0, total_memory_bytes=int(1.5 * 2**30), max_restarts=4,
              scratch_bytes=64 * 2**20)
VICTIM_TEXT = "the grader's own file: must never change\n"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Grade the batch once per test session, even when pytest-xdist runs these tests in several workers."""
    import fcntl

    basetemp = tmp_path_factory.getbasetemp()
    shared = basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp
    base = shared / "grading-batch"
    base.mkdir(exist_ok=True)
    with open(shared / "grading-batch.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = base / "state.json"
        if not state.exists():
            data = _grade(base)
            state.write_text(json.dumps({k: (str(v) if isinstance(v, Path) else v) for k, v in data.items()}, default=str))
        data = json.loads(state.read_text())
    for key in ("sub", "out", "work", "victim"):
        data[key] = Path(data[key])
    data["before"] = {Path(k): v for k, v in data["before"].items()}
    return data


def _grade(base: Path) -> dict:
    import tempfile

    sub, out = base / "submitted", base / "out"
    work = Path(tempfile.mkdtemp(prefix="course-test-work-"))  # short: unix socket paths hold 107 bytes
    victim = base / "victim.txt"
    victim.write_text(VICTIM_TEXT)
    honest = sub / "honest_right" / DAY / f"{DAY}.ipynb"
    targets = [str(honest), str(out / "autograded" / "honest_right" / DAY / f"{DAY}.ipynb"), str(out / "grades.csv"),
               str(ROOT / "autograder" / "checks" / f"{DAY}.py")]
    expected = {}
    for name, (score, data) in cases(str(ROOT), str(out), targets, str(victim)).items():
        path = sub / name / DAY / f"{DAY}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
        expected[name] = score
    before = {str(p): _sha(p) for p in sub.rglob("*.ipynb")}
    checks_before = _sha(ROOT / "autograder" / "checks" / f"{DAY}.py")
    started = time.monotonic()
    summary = grade_batch(sub, out, jobs=2, limits=Limits(**LIMITS), log=lambda m: print(m, flush=True), workdir=work)
    elapsed = time.monotonic() - started
    journal = {p.stem: json.loads(p.read_text()) for p in (out / "journal" / DAY).glob("*.json")}
    return {"sub": sub, "out": out, "work": work, "victim": victim, "expected": expected, "summary": summary,
            "journal": journal, "elapsed": elapsed, "before": before, "checks_before": checks_before}


def _names() -> list[str]:
    return list(cases("/r", "/o", []).keys())


@slow
@pytest.mark.parametrize("name", _names())
def test_exact_grade(batch, name):
    result = batch["journal"][name]
    assert result["score"] == batch["expected"][name], (
        f"{name}: got {result['score']}, expected {batch['expected'][name]}; "
        + "; ".join(f"{t['grade_id']}={t['score']} ({t['reason'][:150]})" for t in result["tests"])
    )
    assert result["max_score"] == TOTAL


def test_every_class_has_an_adversarial_submission():
    names = set(_names())
    assert set(CLASSES) == set(range(1, 9))
    for cls, members in CLASSES.items():
        assert members and set(members) <= names, f"class {cls}: {members}"
    assert POINTS["softmax"] > 0 and TOTAL == sum(POINTS.values())


@slow
def test_faults_have_clear_reasons(batch):
    j = batch["journal"]

    def reasons(name):
        r = j[name]
        return " ".join(r["notes"] + r["events"] + [t["reason"] for t in r["tests"]])

    assert "time limit" in reasons("fault_infinite_loop")
    assert "ignored the interrupt" in reasons("fault_ignores_interrupt")
    assert "kernel died" in reasons("fault_os_exit")
    assert "kernel died" in reasons("fault_kernel_crash")
    assert "too many processes" in reasons("fault_fork_bomb")
    assert "memory" in reasons("fault_huge_allocation")
    assert "not valid JSON" in reasons("fault_corrupt_file")
    assert "not a notebook" in reasons("fault_not_a_notebook")
    assert "lost its nbgrader metadata" in reasons("fault_lost_metadata")
    assert "duplicated cell ids" in reasons("fault_duplicate_ids")
    assert "over the limit" in reasons("dos_huge_file") and j["dos_huge_file"]["status"] == "invalid"
    assert "socket folder" in reasons("dos_disk_fill")
    assert "must not use torch's own softmax" in reasons("attack_softmax_alias")
    assert "_disable_current_modes" in reasons("attack_softmax_escape")
    assert j["fault_corrupt_file"]["status"] == "invalid"
    assert j["fault_ignores_interrupt"]["restarts"] >= 1


@slow
def test_others_untouched(batch):
    out = batch["out"]
    for path, digest in batch["before"].items():
        assert _sha(path) == digest, f"{path} was modified during grading"
    assert _sha(ROOT / "autograder" / "checks" / f"{DAY}.py") == batch["checks_before"]
    assert batch["victim"].read_text() == VICTIM_TEXT, "a link planted in the sandbox made the grader write outside"
    victim = json.loads((out / "autograded" / "honest_right" / DAY / f"{DAY}.ipynb").read_text())
    assert victim["cells"], "the honest student's autograded notebook was overwritten"
    rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    for name, score in batch["expected"].items():
        assert float(rows[name]["score"]) == score
    assert list(batch["work"].iterdir()) == [], "the batch left run folders behind (deep trees, links)"
    batch["work"].rmdir()


@slow
def test_gradebook_matches(batch):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{batch['out'] / 'gradebook.db'}") as gb:
        for name, score in batch["expected"].items():
            sub = gb.find_submission(DAY, name)
            assert sub.score == pytest.approx(score), name
            assert sub.max_score == TOTAL + WRITTEN_POINTS, "the written answer's points wait for a person"


@slow
def test_cheat_report(batch):
    flagged = {f["student"]: " ".join(f["flags"]) for f in json.loads((batch["out"] / "cheat_report.json").read_text())}
    for name in ("attack_custom_exception_handler", "attack_input_transformer"):
        assert "passed inside the kernel but failed the trusted judge" in flagged[name]
    # the run-time audit flags the course's own paths even when the repository lives under /tmp
    assert "outside its sandbox" in flagged["attack_read_hidden_tests"]
    assert "outside its sandbox" in flagged["attack_write_other_files"]
    assert "gradebook" in flagged["attack_write_other_files"]
    assert "patches" in flagged["attack_monkeypatch"]
    assert "refused" in flagged["attack_early_report"] and "more than one report" in flagged["attack_early_report"]
    assert "grader's own modules" in flagged["attack_hollow_records"]
    for name in ("attack_softmax_alias", "attack_softmax_escape"):
        assert "must not use torch's own softmax" in flagged[name]
    assert "refused" in flagged["dos_judge_flood"]
    assert "honest_right" not in flagged and "honest_wrong_softmax" not in flagged


@slow
def test_exports(batch):
    out = batch["out"]
    gs = json.loads((out / "results" / "honest_wrong_softmax" / DAY / "results.json").read_text())
    assert gs["score"] == batch["expected"]["honest_wrong_softmax"]
    assert {t["name"] for t in gs["tests"]} >= {"test_softmax_hidden", "test_quiz_3"}
    failed = [t for t in gs["tests"] if t["status"] == "failed"]
    assert failed and all(t["output"] for t in failed)
    summary = json.loads((out / "summary.json").read_text())["assignments"][DAY]
    assert summary["submissions"] == len(batch["expected"])
    assert summary["tests"]["test_softmax_hidden"]["failures"], "failures by check are summarised"
    html = (out / "feedback" / "honest_wrong_softmax" / DAY / f"{DAY}.html").read_text()
    assert f"Score: {batch['expected']['honest_wrong_softmax']:g} / {TOTAL:g}" in html and "<script>alert" not in html
    assert (out / "summary.md").exists() and (out / "cheat_report.md").exists()


def _autograded(batch, name: str) -> dict:
    return json.loads((batch["out"] / "autograded" / name / DAY / f"{DAY}.ipynb").read_text())


@slow
def test_graded_cells_hold_the_verdict_alone(batch):
    """Class 3: nbgrader scores a test cell from its outputs; after grading they are the verdict only."""
    for name in ("attack_partial_credit_output", "honest_right", "attack_custom_exception_handler"):
        for cell in _autograded(batch, name)["cells"]:
            if cell["cell_type"] == "code" and cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
                outs = cell["outputs"]
                assert len(outs) == 1 and outs[0]["output_type"] in ("stream", "error"), (name, outs)
                assert (outs[0]["output_type"] == "error") == (outs[0].get("ename") == "GraderVerdict")


@slow
def test_outputs_are_bounded_and_safe(batch):
    """Classes 6 and 8: display updates, widgets, floods and scripts stay out of notebooks and feedback."""
    out = batch["out"]
    for name in ("dos_display_flood", "dos_huge_output", "attack_html_js", "dos_judge_flood"):
        path = out / "autograded" / name / DAY / f"{DAY}.ipynb"
        assert path.stat().st_size < 3 * 2**20, f"{name}: autograded notebook of {path.stat().st_size} bytes"
        nb = json.loads(path.read_text())
        assert "widgets" not in nb["metadata"]
        mimes = {k for c in nb["cells"] for o in c.get("outputs", []) for k in o.get("data", {})}
        assert mimes <= {"text/plain", "image/png", "image/jpeg", "image/gif"}, (name, mimes)
        html = (out / "feedback" / name / DAY / f"{DAY}.html").read_text()
        assert len(html) < 4 * 2**20, f"{name}: feedback of {len(html)} characters"
        for bad in ("<script>alert", "<img src=x", "<svg ", "\x1b["):  # markup, not the (escaped) code that printed it
            assert bad not in html, f"{name}: {bad!r} reached the feedback page"
    flood = json.dumps(_autograded(batch, "dos_display_flood"))
    assert "y" * 10_000 not in flood and "x" * 300_000 not in flood


@slow
def test_floods_cost_only_that_submission(batch):
    """Class 6 at batch level: floods, a disk fill and huge outputs finish quickly and cost nothing else."""
    j = batch["journal"]
    for name in ("dos_display_flood", "dos_huge_output", "dos_judge_flood", "dos_disk_fill", "attack_plant_links"):
        assert j[name]["seconds"] < 300, f"{name} took {j[name]['seconds']} s"
        assert j[name]["score"] == batch["expected"][name]
    assert j["honest_right"]["score"] == TOTAL


@slow
def test_throughput_and_loose_timing(batch):
    print(f"graded {len(batch['expected'])} submissions in {batch['elapsed']:.0f} s: "
          f"{batch['summary']['throughput']['per_minute']} per minute")
    assert batch["elapsed"] < 1800
    for name, r in batch["journal"].items():
        assert r["seconds"] < LIMITS["notebook_timeout"] + 120, name


@slow
def test_rerun_is_deterministic_and_resumes(batch, tmp_path):
    sub = batch["sub"]
    out = tmp_path / "out"
    shutil.copytree(batch["out"], out)
    grades = (out / "grades.csv").read_text()
    # an interrupted batch: two journal entries were never written
    for name in ("honest_wrong_softmax", "fault_not_a_notebook"):
        (out / "journal" / DAY / f"{name}.json").unlink()
    summary = grade_batch(sub, out, jobs=2, limits=Limits(**LIMITS), log=lambda m: None)
    assert summary["throughput"]["graded"] == 2
    assert (out / "grades.csv").read_text() == grades
    summary = grade_batch(sub, out, jobs=2, limits=Limits(**LIMITS), log=lambda m: None)
    assert summary["throughput"]["graded"] == 0
    assert (out / "grades.csv").read_text() == grades


def test_lms_zip_and_pattern(tmp_path):
    from autograder.grading.collect import find_submissions

    data = {"jdoe_12_34_day1_attention.ipynb": b"{}", "jdoe_12_34_day1_attention-2.ipynb": b"{}",
            "asmith_day1_attention.ipynb": b"{}", "readme.txt": b"x", "bob_day2_channel_attention.ipynb": b"{}"}
    z = tmp_path / "download.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for name, content in data.items():
            zf.writestr(f"submissions/{name}", content)
        zf.writestr("../../evil_day1_attention.ipynb", b"{}")
    found = find_submissions(z, DAY, work=tmp_path / "x")
    got = {(s.student, Path(s.path).name) for s in found.submissions}
    assert got == {("canvas-12", "jdoe_12_34_day1_attention-2.ipynb"), ("asmith", "asmith_day1_attention.ipynb"),
                   ("evil", "evil_day1_attention.ipynb")}
    assert all((tmp_path / "x") in Path(s.path).parents for s in found.submissions), "nothing lands outside"
    skipped = dict(found.skipped)
    assert "superseded" in skipped["submissions/jdoe_12_34_day1_attention.ipynb"]
    assert "not being graded" in skipped["submissions/bob_day2_channel_attention.ipynb"]
    assert "fits no known download layout" in skipped["submissions/readme.txt"]
    assert collect(z, DAY, work=tmp_path / "y")[0].student == "asmith"


@slow
def test_written_answers_wait_for_manual_grading(batch):
    """Issue 16: a written answer is not "no solution cell found"; it waits for a person, with its points."""
    r = batch["journal"]["honest_right"]
    assert not any("written_1" in n for n in r["notes"]), r["notes"]
    assert [(m["grade_id"], m["max_score"], m["status"]) for m in r["manual"]] == [
        ("written_1", 3.0, "waiting for manual grading")]
    rows = {row["student"]: row for row in csv.DictReader(open(batch["out"] / "grades.csv"))}
    assert rows["honest_right"]["manual_pending"] == "written_1 (waiting for manual grading)"
    assert rows["honest_right"]["total_max"] == f"{TOTAL + WRITTEN_POINTS:g}" and WRITTEN_POINTS == 3
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{batch['out'] / 'gradebook.db'}") as gb:
        grade = gb.find_grade("written_1", DAY, DAY, "honest_right")
        assert grade.needs_manual_grade and grade.manual_score is None


@slow
def test_changed_reference_regrades(batch, tmp_path, monkeypatch):
    """Issue 18: fixing a file in autograder/reference/ re-grades; nothing else changed, nothing re-grades."""
    from autograder.grading import settings as settings_module

    sub = tmp_path / "submitted" / "honest_right" / DAY
    sub.mkdir(parents=True)
    shutil.copy(batch["sub"] / "honest_right" / DAY / f"{DAY}.ipynb", sub)
    out = tmp_path / "out"
    shutil.copytree(batch["out"], out)
    summary = grade_batch(tmp_path / "submitted", out, jobs=1, limits=Limits(**LIMITS), log=lambda m: None,
                          settings=_no_similarity())
    assert summary["throughput"]["graded"] == 0, "already graded with these files"
    scratch = tmp_path / "repo"
    shutil.copytree(ROOT / "autograder", scratch / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "solutions" / DAY, scratch / "solutions" / DAY)
    reference = sorted((scratch / "autograder" / "reference").glob("*.py"))[0]
    reference.write_text(reference.read_text() + "\n# a fix to the reference\n")
    monkeypatch.setattr(settings_module, "FINGERPRINT_ROOT", scratch)
    summary = grade_batch(tmp_path / "submitted", out, jobs=1, limits=Limits(**LIMITS), log=lambda m: None,
                          settings=_no_similarity())
    assert summary["throughput"]["graded"] == 1, "a changed reference must re-grade"


def _no_similarity():
    from autograder.grading.batch import GradeBatch

    return GradeBatch(similarity=False)


def test_sandbox_unavailable_is_loud(tmp_path):
    folder = tmp_path / "submitted" / "someone" / DAY
    folder.mkdir(parents=True)
    (folder / f"{DAY}.ipynb").write_text("{}")
    with pytest.raises(SandboxError):
        grade_batch(tmp_path / "submitted", tmp_path / "out", limits=Limits(**LIMITS, bwrap=str(tmp_path / "no-bwrap")),
                    log=lambda m: None)
    assert not (tmp_path / "out" / "grades.csv").exists()
    cmd = [sys.executable, "-m", "autograder.grading", str(tmp_path / "submitted"), "--out", str(tmp_path / "o2"),
           "--bwrap", "/bin/false"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 3 and "nothing was graded" in proc.stderr
    assert not (tmp_path / "o2" / "grades.csv").exists()
