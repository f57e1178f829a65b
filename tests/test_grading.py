"""Batch grading against adversarial submissions (issue 8): every attack and fault gets its exact grade.

One batch of day1_attention submissions (tests/grading/day1_submissions.py: one per attack or
fault) is graded once in bubblewrap sandboxes; the tests then read the journal, the gradebook,
the exports and the cheat report. Timing bounds are loose on purpose.
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
from autograder.sandbox import Limits, SandboxError, probe_only_source  # noqa: E402
from tests.grading.day1_submissions import DAY, cases  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) is not installed")
slow = pytest.mark.slow  # grades notebooks in sandboxes

LIMITS = dict(cell_timeout=45.0, notebook_timeout=600.0, total_memory_bytes=int(1.5 * 2**30), max_restarts=4)


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
    data["sub"], data["out"] = Path(data["sub"]), Path(data["out"])
    data["before"] = {Path(k): v for k, v in data["before"].items()}
    return data


def _grade(base: Path) -> dict:
    sub, out = base / "submitted", base / "out"
    victim = sub / "honest_right" / DAY / f"{DAY}.ipynb"
    targets = [str(victim), str(out / "autograded" / "honest_right" / DAY / f"{DAY}.ipynb"), str(out / "grades.csv"),
               str(ROOT / "autograder" / "checks" / f"{DAY}.py")]
    expected = {}
    for name, (score, data) in cases(str(ROOT), str(out), targets).items():
        path = sub / name / DAY / f"{DAY}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
        expected[name] = score
    before = {str(p): _sha(p) for p in sub.rglob("*.ipynb")}
    checks_before = _sha(ROOT / "autograder" / "checks" / f"{DAY}.py")
    started = time.monotonic()
    summary = grade_batch(sub, out, jobs=2, limits=Limits(**LIMITS), log=lambda m: print(m, flush=True))
    elapsed = time.monotonic() - started
    journal = {p.stem: json.loads(p.read_text()) for p in (out / "journal" / DAY).glob("*.json")}
    return {"sub": sub, "out": out, "expected": expected, "summary": summary, "journal": journal, "elapsed": elapsed,
            "before": before, "checks_before": checks_before}


@slow
@pytest.mark.parametrize("name", list(cases("/r", "/o", []).keys()))
def test_exact_grade(batch, name):
    result = batch["journal"][name]
    assert result["score"] == batch["expected"][name], (
        f"{name}: got {result['score']}, expected {batch['expected'][name]}; "
        + "; ".join(f"{t['grade_id']}={t['score']} ({t['reason'][:150]})" for t in result["tests"])
    )
    assert result["max_score"] == 12


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
    assert j["fault_corrupt_file"]["status"] == "invalid"
    assert j["fault_ignores_interrupt"]["restarts"] >= 1


@slow
def test_others_untouched(batch):
    out = batch["out"]
    for path, digest in batch["before"].items():
        assert _sha(path) == digest, f"{path} was modified during grading"
    assert _sha(ROOT / "autograder" / "checks" / f"{DAY}.py") == batch["checks_before"]
    victim = json.loads((out / "autograded" / "honest_right" / DAY / f"{DAY}.ipynb").read_text())
    assert victim["cells"], "the honest student's autograded notebook was overwritten"
    rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    for name, score in batch["expected"].items():
        assert float(rows[name]["score"]) == score


@slow
def test_gradebook_matches(batch):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{batch['out'] / 'gradebook.db'}") as gb:
        for name, score in batch["expected"].items():
            sub = gb.find_submission(DAY, name)
            assert sub.score == pytest.approx(score), name
            assert sub.max_score == 12


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
    assert "honest_right" not in flagged and "honest_wrong_softmax" not in flagged


@slow
def test_exports(batch):
    out = batch["out"]
    gs = json.loads((out / "results" / "honest_wrong_softmax" / DAY / "results.json").read_text())
    assert gs["score"] == 5 and {t["name"] for t in gs["tests"]} >= {"test_softmax_hidden", "test_quiz_3"}
    failed = [t for t in gs["tests"] if t["status"] == "failed"]
    assert failed and all(t["output"] for t in failed)
    summary = json.loads((out / "summary.json").read_text())["assignments"][DAY]
    assert summary["submissions"] == len(batch["expected"])
    assert summary["tests"]["test_softmax_hidden"]["failures"], "failures by check are summarised"
    html = (out / "feedback" / "honest_wrong_softmax" / DAY / f"{DAY}.html").read_text()
    assert "Score: 5 / 12" in html and "<script>alert" not in html
    assert (out / "summary.md").exists() and (out / "cheat_report.md").exists()


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
    data = {"jdoe_12_34_day1_attention.ipynb": b"{}", "jdoe_12_34_day1_attention-2.ipynb": b"{}",
            "asmith_day1_attention.ipynb": b"{}", "readme.txt": b"x", "bob_day2_channel_attention.ipynb": b"{}"}
    z = tmp_path / "download.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for name, content in data.items():
            zf.writestr(f"submissions/{name}", content)
        zf.writestr("../../evil_day1_attention.ipynb", b"{}")
    subs = collect(z, DAY, work=tmp_path / "x")
    got = {(s.student, Path(s.path).name) for s in subs}
    assert got == {("jdoe", "jdoe_12_34_day1_attention-2.ipynb"), ("asmith", "asmith_day1_attention.ipynb"),
                   ("evil", "evil_day1_attention.ipynb")}
    assert all(Path(s.path).parent == tmp_path / "x" for s in subs)


def test_sandbox_unavailable_is_loud(tmp_path, monkeypatch):
    folder = tmp_path / "submitted" / "someone" / DAY
    folder.mkdir(parents=True)
    (folder / f"{DAY}.ipynb").write_text("{}")
    monkeypatch.setenv("COURSE_BWRAP", str(tmp_path / "no-bwrap"))
    with pytest.raises(SandboxError):
        grade_batch(tmp_path / "submitted", tmp_path / "out", limits=Limits(**LIMITS), log=lambda m: None)
    assert not (tmp_path / "out" / "grades.csv").exists()
    env = dict(os.environ, COURSE_BWRAP="/bin/false")
    cmd = [sys.executable, "-m", "autograder.grading", str(tmp_path / "submitted"), "--out", str(tmp_path / "o2")]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 3 and "nothing was graded" in proc.stderr
    assert not (tmp_path / "o2" / "grades.csv").exists()


@pytest.mark.parametrize("checks", sorted(p.stem for p in (ROOT / "autograder" / "checks").glob("day*.py")))
def test_sandbox_copy_has_no_judges_or_answers(checks):
    import ast

    from autograder import registry

    source = (ROOT / "autograder" / "checks" / f"{checks}.py").read_text()
    stripped = probe_only_source(source)
    compile(stripped, checks, "exec")
    tree = ast.parse(stripped)
    judges = {n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)
              and any("exercise" in ast.unparse(d) for d in n.decorator_list)}
    assert not judges & {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    reg = registry(checks)
    for name in reg.exercises:
        if name.startswith("quiz"):
            quiz_calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and ast.unparse(n.func).endswith(".quiz")
                          and ast.literal_eval(n.args[0]) == name]
            assert quiz_calls and ast.literal_eval(quiz_calls[0].args[1]) == "?"


def test_wire_format_is_plain_data():
    import numpy as np

    from autograder.sandbox import decode_plain, encode_plain

    class Sneaky(str):
        def __eq__(self, other):
            return True

    data = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": [1, 2.5, None, True, Sneaky("x")], "c": float("nan")}
    wire = json.loads(json.dumps(encode_plain(data)))
    back = decode_plain(wire)
    assert back["a"].dtype == np.float32 and back["a"].shape == (2, 3)
    assert type(back["b"][4]) is str and back["b"][4] == "x"
    assert back["c"] != back["c"]
    assert encode_plain(np.array([object()], dtype=object)) == {"__object__": "ndarray[object]"}
    with pytest.raises(ValueError):
        decode_plain({"__nd__": ["object", [1], ""]})
