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
