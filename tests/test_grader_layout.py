"""The grader's layout (issue 15): small modules, and the judge side of each day never enters the sandbox."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import ASSIGNMENTS  # noqa: E402
from autograder.sandbox import sandbox_sources  # noqa: E402

MAX_LINES = 420  # issue 15: "no module of the grader is over about 400 lines"


def test_no_grader_module_is_over_about_400_lines():
    long = {str(p.relative_to(ROOT)): n for p in sorted((ROOT / "autograder").rglob("*.py"))
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"split these modules (over {MAX_LINES} lines): {long}"


@pytest.mark.parametrize("day", ASSIGNMENTS)
def test_judge_side_modules_stay_out_of_the_sandbox(day):
    files = sandbox_sources(day)
    assert f"autograder/checks/{day}.py" in files
    leaked = [f for f in files if f.endswith("judge_helpers.py") or f == "autograder/comparisons.py"]
    assert not leaked, f"{day}: judge-side modules reached by a probe: {leaked}"


# Grading flows one way: the batch grader (autograder/grading) uses the sandbox, the sandbox uses
# the harness and the day's checks, and nothing lower imports anything higher.
LAYERS = [  # (package, packages it must not import)
    ("autograder/sandbox", ("autograder.grading",)),
    ("autograder/checks", ("autograder.grading", "autograder.sandbox")),
    ("autograder/harness.py", ("autograder.grading", "autograder.sandbox", "autograder.checks")),
    ("autograder/judging.py", ("autograder.grading", "autograder.sandbox", "autograder.checks")),
    ("autograder/probes.py", ("autograder.grading", "autograder.sandbox", "autograder.checks")),
    ("autograder/comparisons.py", ("autograder.grading", "autograder.sandbox", "autograder.checks")),
]


@pytest.mark.parametrize("where,forbidden", LAYERS)
def test_grading_flows_one_way(where, forbidden):
    import ast

    path = ROOT / where
    files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
    upward = []
    for f in files:
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            upward += [f"{f.relative_to(ROOT)}:{node.lineno} imports {n}" for n in names if n.startswith(forbidden)]
    assert not upward, "a lower layer imports a higher one:\n" + "\n".join(upward)
