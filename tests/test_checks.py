"""The hidden checks themselves: the solution passes, every WRONG variant fails, every RIGHT one passes.

Each variant replaces one solution cell; the notebook's code cells (except tests) run in order in a
fresh namespace, then that exercise's probe and judge run on the name it defines.
"""

from __future__ import annotations

import pytest
from conftest import DAYS, load_variants, solution_cells

from autograder import registry


def namespace(day: str, replace: dict[str, str] | None = None) -> dict:
    ns: dict = {"__name__": "__main__"}
    for marker, source in solution_cells(day):
        kind, _, rest = marker.partition(":")
        if kind == "test":
            continue
        grade_id = rest.partition(":")[0]
        code = (replace or {}).get(grade_id, source) if kind == "solution" else source
        exec(compile(code, f"<{day}:{grade_id or 'cell'}>", "exec"), ns)
    return ns


def cases():
    for day in DAYS:
        variants = load_variants(day)
        yield pytest.param(day, None, None, True, id=f"{day}-solution")
        if variants is None:
            continue
        for expect_pass, table in ((False, variants.WRONG), (True, getattr(variants, "RIGHT", {}))):
            for exercise, named in table.items():
                for name in named:
                    kind = "right" if expect_pass else "wrong"
                    yield pytest.param(day, exercise, name, expect_pass, id=f"{day}-{exercise}-{kind}-{name}")


@pytest.mark.parametrize("day, exercise, variant, expect_pass", list(cases()))
def test_checks_separate_right_from_wrong(day, exercise, variant, expect_pass, capsys):
    reg = registry(day)
    if exercise is None:  # the reference solution passes every exercise
        ns = namespace(day)
        for name in reg.exercises:
            failures = reg.judge(name, reg.probe(name, ns[name]))
            assert not failures, f"the solution fails {name}:\n" + "\n".join(failures)
        return
    source = getattr(load_variants(day), "RIGHT" if expect_pass else "WRONG")[exercise][variant]
    ns = namespace(day, {exercise: source})
    failures = reg.judge(exercise, reg.probe(exercise, ns[exercise]))
    if expect_pass:
        assert not failures, f"a correct variant ({variant}) fails {exercise}:\n" + "\n".join(failures)
    else:
        assert failures, f"a wrong variant ({variant}) passes every check of {exercise}"
        for message in failures:
            assert len(message) > 20 and "could not judge" not in message, f"unhelpful failure message: {message!r}"
