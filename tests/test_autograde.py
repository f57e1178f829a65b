"""The nbgrader round trip: solutions score full marks, the release scores zero, wrong answers lose points."""

from __future__ import annotations

import pytest
from conftest import DAYS, Course, errors, load_variants, notebook_with

from autograder import registry

pytestmark = pytest.mark.slow


def by_exercise(day: str, scores: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """Sum the test cells of each exercise (test_<name> and test_<name>_*)."""
    totals = {}
    for name in registry(day).exercises:
        cells = [v for k, v in scores.items() if k == f"test_{name}" or k.startswith(f"test_{name}_")]
        totals[name] = (sum(s for s, _ in cells), sum(m for _, m in cells))
    return totals


@pytest.mark.parametrize("day", DAYS)
def test_round_trip(day, scratch):
    course = Course(scratch, day)

    full = course.autograde("solution", notebook_with(day, {}))
    failed = errors(course.autograded_notebook("solution"))
    assert not failed, "the solution notebook raised:\n" + "\n".join(f"cell {i}: {e}" for i, _, e in failed)
    lost = {k: v for k, v in full.items() if v[0] != v[1]}
    assert not lost, f"the solution must score full marks; lost points in {lost}"

    import nbformat
    from conftest import ROOT

    release = nbformat.read(ROOT / "assignments" / day / f"{day}.ipynb", as_version=4)
    zero = by_exercise(day, course.autograde("untouched", release))
    scored = {k: v for k, v in zero.items() if v[0] != 0}
    assert not scored, f"the untouched release must score 0 on every exercise; scored {scored}"

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
