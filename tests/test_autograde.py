"""The nbgrader round trip: solutions score full marks, the release scores zero, wrong answers lose points."""

from __future__ import annotations

import nbformat
import pytest
from conftest import DAYS, ROOT, Course, errors, load_variants, notebook_with

from autograder import registry

pytestmark = pytest.mark.slow


def by_exercise(day: str, scores: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """Sum the test cells of each exercise (test_<name> and test_<name>_*)."""
    totals = {}
    for name in registry(day).exercises:
        cells = [v for k, v in scores.items() if k == f"test_{name}" or k.startswith(f"test_{name}_")]
        totals[name] = (sum(s for s, _ in cells), sum(m for _, m in cells))
    return totals


def manual_cells(day: str) -> dict[str, float]:
    """grade_id -> points of the cells graded by people (written answers, tasks) in the source notebook."""
    nb = nbformat.read(ROOT / "solutions" / day / f"{day}.ipynb", as_version=4)
    found = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown" and (meta.get("task") or (meta.get("solution") and meta.get("grade"))):
            found[meta["grade_id"]] = meta["points"]
    return found


def answer_cells(day: str) -> set[str]:
    """The written answer cells (markdown solution cells) among manual_cells(day)."""
    nb = nbformat.read(ROOT / "solutions" / day / f"{day}.ipynb", as_version=4)
    return {c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("solution")}


def needs_manual_grade(course: Course, student: str) -> set[str]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gb:
        sub = gb.find_submission_notebook(course.day, course.day, student)
        return {g.name for g in sub.grades if g.needs_manual_grade}


@pytest.mark.parametrize("day", DAYS)
def test_round_trip(day, scratch):
    course = Course(scratch, day)

    manual = manual_cells(day)
    full = course.autograde("solution", notebook_with(day, {}))
    failed = errors(course.autograded_notebook("solution"))
    assert not failed, "the solution notebook raised:\n" + "\n".join(f"cell {i}: {e}" for i, _, e in failed)
    lost = {k: v for k, v in full.items() if v[0] != v[1] and k not in manual}
    assert not lost, f"the solution must score full autograded marks; lost points in {lost}"
    waiting = needs_manual_grade(course, "solution")
    assert waiting == set(manual), f"written answers must wait for a person (and nothing else): {waiting} != {set(manual)}"

    release = nbformat.read(ROOT / "assignments" / day / f"{day}.ipynb", as_version=4)
    untouched = course.autograde("untouched", release)
    zero = by_exercise(day, untouched)
    scored = {k: v for k, v in zero.items() if v[0] != 0}
    assert not scored, f"the untouched release must score 0 on every exercise; scored {scored}"
    for gid, points in manual.items():
        assert untouched[gid] == (0, points), f"the unanswered written cell {gid} scored {untouched[gid]}"
    # nbgrader grades an answer cell left as released 0 by itself; a task always waits for a person
    assert needs_manual_grade(course, "untouched") == set(manual) - answer_cells(day)

    variants = load_variants(day)
    wrong = {name: next(iter(table.values())) for name, table in variants.WRONG.items() if table}
    graded = by_exercise(day, course.autograde("wrong", notebook_with(day, wrong)))
    for name, (score, maximum) in graded.items():
        if name in wrong:
            assert score < maximum, f"the wrong {name} ({next(iter(variants.WRONG[name]))}) kept all its points"
        else:
            assert score == maximum, f"{name} lost points although only other exercises were wrong"


WARNING_SDPA = """
import warnings

def scaled_dot_product_attention(q, k, v, mask=None):
    warnings.warn("this API is deprecated", UserWarning)
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    weights = torch.exp(scores - scores.amax(-1, keepdim=True))
    weights = weights / weights.sum(-1, keepdim=True)
    return weights @ v, weights
"""


def test_configuration_defeats_skip_tags_deleted_tests_and_stderr_warnings(scratch):
    """A tampered day-1 submission: skip-execution tags, a deleted test cell, warnings on stderr."""
    day = "day1_attention"
    course = Course(scratch, day)
    nb = notebook_with(day, {
        "softmax": load_variants(day).WRONG["softmax"]["no max subtraction (overflows)"],
        # correct, independent of the (wrong) softmax above, and noisy on stderr
        "scaled_dot_product_attention": WARNING_SDPA,
    })
    kept = []
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if gid.startswith("test_softmax"):
            cell.metadata["tags"] = ["skip-execution"]
        if gid != "test_causal_mask_hidden":
            kept.append(cell)
    nb.cells = kept
    scores = by_exercise(day, course.autograde("tamperer", nb))
    assert scores["softmax"][0] == 0, "skip-execution tags must not skip the tests of a wrong softmax"
    assert scores["causal_mask"] == (2, 2), f"the deleted hidden test must be restored and pass: {scores['causal_mask']}"
    sdpa = scores["scaled_dot_product_attention"]
    assert sdpa[0] == sdpa[1], f"warnings on stderr must not zero a correct answer: {sdpa}"
    graded = course.autograded_notebook("tamperer")
    assert any(c.metadata.get("nbgrader", {}).get("grade_id") == "test_causal_mask_hidden" for c in graded.cells)
