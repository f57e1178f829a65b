"""Plain `nbgrader autograde` with the course configuration: sandboxed, judged outside the kernel, exact grades.

One scratch nbgrader course; one submission per class of issue 15 (tests/grading/day1_submissions.py)
plus the issue-8 tampering case, each autograded by nbgrader and scored by its own SaveAutoGrades
from the cells' outputs, which after grading are the grader's verdicts alone.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.grading.day1_submissions import CLASSES, CUSTOM_EXC, DAY, POINTS, WRITTEN_POINTS, cases, dump, notebook, score_without

ROOT = Path(__file__).resolve().parent.parent
VICTIM_TEXT = "the grader's own file: must never change\n"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) is not installed")]


def _tampered() -> bytes:
    """Issue 8: a wrong attention function, a handler that hides every failure, skip tags on every cell."""
    wrong_sdpa = "def scaled_dot_product_attention(q, k, v, mask=None):\n    return v, q\n"
    nb = notebook({"scaled_dot_product_attention": wrong_sdpa}, {"setup": [CUSTOM_EXC]})
    for cell in nb["cells"]:
        cell.setdefault("metadata", {})["tags"] = ["skip-execution"]
    return dump(nb)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config, PyFileConfigLoader

    base = tmp_path_factory.mktemp("nbgrader-course")
    os.environ["PATH"] = os.pathsep.join((str(Path(sys.executable).parent), os.environ.get("PATH", "")))
    (base / "solutions" / DAY).mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / DAY / f"{DAY}.ipynb", base / "solutions" / DAY / f"{DAY}.ipynb")
    victim = base / "victim.txt"
    victim.write_text(VICTIM_TEXT)
    every = cases(str(ROOT), str(base), [], str(victim))
    chosen = {members[0]: every[members[0]] for members in CLASSES.values()}
    # the solution's padded_attention calls scaled_dot_product_attention: a wrong one costs both
    chosen["mallory_tampered"] = (score_without("scaled_dot_product_attention", "padded_attention"), _tampered())
    for name, (_, data) in chosen.items():
        path = base / "submitted" / name / DAY / f"{DAY}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
    config = Config()
    config.merge(PyFileConfigLoader("nbgrader_config.py", path=str(ROOT / "autograder")).load_config())
    config.CourseDirectory.root = str(base)
    config.CourseDirectory.db_url = f"sqlite:///{base / 'gradebook.db'}"
    config.Exchange.root = str(base / "exchange")
    config.Execute.timeout = 60
    config.SandboxedExecute.scratch_bytes = 64 * 2**20
    names = [getattr(p, "__name__", str(p)) for p in config.Autograde.autograde_preprocessors]
    assert names[0] == "SandboxedExecute"
    api = NbGraderAPI(config=config)
    assert api.generate_assignment(DAY, force=True, create=True)["success"]
    logs = {}
    for name in chosen:
        result = api.autograde(DAY, name, force=True, create=True)
        assert result["success"], result.get("log")
        logs[name] = result.get("log", "")
    feedback = api.generate_feedback(DAY, "attack_html_js", force=True)
    assert feedback["success"], feedback.get("log")
    return {"base": base, "expected": {k: v[0] for k, v in chosen.items()}, "victim": victim, "logs": logs}


def _scores(course, name):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course['base'] / 'gradebook.db'}") as gb:
        s = gb.find_submission(DAY, name)
        return s.score, s.max_score, {g.name: g.score for g in s.notebooks[0].grades}


def _autograded(course, name) -> dict:
    return json.loads((course["base"] / "autograded" / name / DAY / f"{DAY}.ipynb").read_text())


@pytest.mark.parametrize("name", [m[0] for m in CLASSES.values()] + ["mallory_tampered"])
def test_exact_grade_through_nbgrader(course, name):
    score, maximum, by_cell = _scores(course, name)
    assert maximum == sum(POINTS.values()) + WRITTEN_POINTS  # written answers: graded by people later
    assert score == pytest.approx(course["expected"][name]), (name, by_cell)


def test_tampered_cells_score_from_the_trusted_judge(course):
    _, _, by_cell = _scores(course, "mallory_tampered")
    assert by_cell["test_scaled_dot_product_attention_hidden"] == 0 and by_cell["test_softmax_hidden"] > 0


def test_graded_cells_hold_the_verdict_alone(course):
    for name in course["expected"]:
        for cell in _autograded(course, name)["cells"]:
            if cell["cell_type"] == "code" and cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
                outs = cell["outputs"]
                assert len(outs) == 1 and outs[0]["output_type"] in ("stream", "error"), (name, outs)


def test_no_student_html_or_script_reaches_formgrader(course):
    nb = _autograded(course, "attack_html_js")
    # what a browser renders as markup: rich outputs and Markdown (code and streams are shown as escaped text)
    rendered = [o.get("data") for c in nb["cells"] for o in c.get("outputs", [])]
    rendered += [c["source"] for c in nb["cells"] if c["cell_type"] != "code"]
    text = json.dumps([rendered, nb["metadata"]])
    for bad in ("<script>alert", "<img src=x", "application/javascript", "text/html", "image/svg+xml", "widget-view"):
        assert bad not in text, bad
    assert any("&lt;script>" in "".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    html = next((course["base"] / "feedback" / "attack_html_js" / DAY).glob("*.html")).read_text()
    for bad in ("<script>alert", "<img src=x", "onload=alert"):
        assert bad not in html, bad


def test_review_notes_and_victim(course):
    assert course["victim"].read_text() == VICTIM_TEXT
    assert "refused" in course["logs"]["attack_early_report"]
    assert "must not use torch's own softmax" in course["logs"]["attack_softmax_alias"]
