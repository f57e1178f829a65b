"""The release pipeline: sources build, notebooks are in sync, the release hides what it must."""

from __future__ import annotations

import ast
import subprocess
import sys

import nbformat
import pytest
from conftest import DAYS, LESSONS, ROOT

from autograder import ASSIGNMENTS, registry
from autograder.build import rubrics, stale


def test_every_contract_assignment_is_known():
    assert set(DAYS) <= set(ASSIGNMENTS), f"unknown assignment sources: {set(DAYS) - set(ASSIGNMENTS)}"
    assert "day1_attention" in DAYS


@pytest.mark.slow
def test_committed_notebooks_are_in_sync_with_sources():
    problems = stale()
    assert not problems, "notebooks out of sync (run `python3 manage.py build`):\n" + "\n".join(problems)


def _notebooks():
    for folder in ("course", "solutions", "assignments"):
        yield from sorted((ROOT / folder).rglob("*.ipynb"))


@pytest.mark.parametrize("path", list(_notebooks()), ids=lambda p: str(p.relative_to(ROOT)))
def test_notebooks_carry_no_outputs_or_stray_metadata(path):
    nb = nbformat.read(path, as_version=4)
    assert set(nb.metadata) <= {"kernelspec", "language_info"}, f"stray notebook metadata: {set(nb.metadata)}"
    for i, cell in enumerate(nb.cells):
        allowed = {"nbgrader", "tags", "editable", "deletable"}
        assert set(cell.metadata) <= allowed, f"cell {i}: stray metadata {set(cell.metadata)}"
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"cell {i} has outputs"


@pytest.mark.parametrize("day", DAYS)
def test_release_holds_no_solution_and_no_hidden_test(day):
    release = (ROOT / "assignments" / day / f"{day}.ipynb").read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "from autograder"):
        assert marker not in release, f"the release of {day} contains {marker!r}"
    solution = nbformat.read(ROOT / "solutions" / day / f"{day}.ipynb", as_version=4)
    released = nbformat.read(ROOT / "assignments" / day / f"{day}.ipynb", as_version=4)
    release_cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in released.cells}
    everything = " ".join(" ".join(c.source.split()) for c in released.cells)
    for cell in solution.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not (meta.get("solution") and cell.cell_type == "code"):
            continue
        stub = release_cells.get(meta["grade_id"], "")
        assert "raise NotImplementedError()" in stub, f"{day}: the release cell {meta['grade_id']} is not stubbed"
        for block in cell.source.split("### BEGIN SOLUTION")[1:]:
            body = [ln for ln in block.split("### END SOLUTION")[0].splitlines() if ln.strip()]
            if len(body) >= 2:
                text = " ".join(" ".join(body).split())
                assert text not in everything, f"{day}: a solution block of {meta['grade_id']} is in the release"


@pytest.mark.parametrize("day", DAYS)
def test_release_locks_read_only_and_test_cells(day):
    released = nbformat.read(ROOT / "assignments" / day / f"{day}.ipynb", as_version=4)
    for cell in released.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("locked"):
            assert cell.metadata.get("editable") is False and cell.metadata.get("deletable") is False, (
                f"{day}: locked cell {meta.get('grade_id')} can be edited or deleted in JupyterLab"
            )
        elif meta.get("solution"):
            assert cell.metadata.get("editable", True) is True, f"{day}: the student cannot edit {meta['grade_id']}"


@pytest.mark.parametrize("day", DAYS)
def test_grade_ids_follow_the_contract(day):
    """One solution cell per registered exercise, defining that name; tests named test_<exercise>."""
    nb = nbformat.read(ROOT / "solutions" / day / f"{day}.ipynb", as_version=4)
    exercises = set(registry(day).exercises)
    solutions, tests = {}, []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":  # written answers (markdown) are graded by people
            solutions[meta["grade_id"]] = cell.source
        elif meta.get("grade") and cell.cell_type == "code":
            tests.append(meta["grade_id"])
    assert set(solutions) == exercises, f"solution cells {sorted(solutions)} != checked exercises {sorted(exercises)}"
    quizzes = [e for e in exercises if e.startswith("quiz_")]
    assert 2 <= len(quizzes) <= 4, f"{day} has {len(quizzes)} concept questions; the contract asks 2-4"
    for name, source in solutions.items():
        defined = {
            t.id if isinstance(t, ast.Name) else t.name
            for node in ast.parse(source).body
            for t in ([node] if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else getattr(node, "targets", []))
            if isinstance(t, (ast.Name, ast.FunctionDef, ast.ClassDef))
        }
        public = {d for d in defined if not d.startswith("_")}
        assert public == {name}, f"solution cell {name!r} must define exactly {name!r} (plus _private helpers), defines {public}"
        owned = [t for t in tests if t == f"test_{name}" or t.startswith(f"test_{name}_")]
        assert owned, f"exercise {name!r} has no graded test cell test_{name}..."
        hidden = [
            c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") in owned and "BEGIN HIDDEN TESTS" in c.source
        ]
        assert hidden, f"exercise {name!r} has no hidden tests"


@pytest.mark.parametrize("day", DAYS)
def test_every_exercise_has_a_wrong_variant(day):
    from conftest import load_variants

    variants = load_variants(day)
    assert variants is not None, f"tests/variants/{day}.py is missing"
    missing = [e for e in registry(day).exercises if not e.startswith("quiz_") and not variants.WRONG.get(e)]
    assert not missing, f"{day}: no WRONG variant proves the checks of {missing}"


def test_lessons_have_sources():
    assert "index" in LESSONS
    for day in DAYS:
        assert day in LESSONS, f"course/{day}.ipynb (the lesson) has no source"


def test_code_is_lint_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise", "."], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 manage.py test" in readme and "python3 manage.py test" in ci


def test_nbgrader_configuration():
    from traitlets.config import PyFileConfigLoader

    c = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT / "autograder")).load_config()
    assert c.CourseDirectory.source_directory == "solutions" and c.CourseDirectory.release_directory == "assignments"
    assert c.OverwriteCells.add_missing_cells is True
    assert c.IgnorePattern.enabled is True and c.IgnorePattern.pattern
    assert c.Execute.skip_cells_with_tag not in ("skip-execution", "") and len(c.Execute.skip_cells_with_tag) > 20
    assert c.Execute.timeout > 0 and c.LimitOutput.max_lines > 0
    again = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT / "autograder")).load_config()
    assert again.Execute.skip_cells_with_tag != c.Execute.skip_cells_with_tag, "the skip tag must not be guessable"


# ---------------------------------------------------------------------------- written answers
def _manual_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "markdown" and (
        c.metadata.get("nbgrader", {}).get("task") or c.metadata.get("nbgrader", {}).get("grade"))]


@pytest.mark.parametrize("day", DAYS)
def test_every_day_has_a_written_question_with_a_rubric(day):
    solution = nbformat.read(ROOT / "solutions" / day / f"{day}.ipynb", as_version=4)
    manual = _manual_cells(solution)
    assert manual, f"{day} has no written question (an 'answer:' or 'task:' cell, docs/authoring.md)"
    found = rubrics(solution)
    for cell in manual:
        gid = cell.metadata["nbgrader"]["grade_id"]
        assert cell.metadata["nbgrader"]["points"] > 0, f"{day}: {gid} is worth no points"
        assert "rubric" in found[gid].lower(), f"{day}: the instructor text of {gid} has no rubric"


@pytest.mark.parametrize("day", DAYS)
def test_release_keeps_no_rubric(day):
    """Model answers and rubrics of written questions stay in the instructor notebook."""
    solution = nbformat.read(ROOT / "solutions" / day / f"{day}.ipynb", as_version=4)
    released = nbformat.read(ROOT / "assignments" / day / f"{day}.ipynb", as_version=4)
    text = (ROOT / "assignments" / day / f"{day}.ipynb").read_text()
    assert "MARK SCHEME" not in text, f"the release of {day} contains a mark-scheme region"
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in released.cells}
    everything = " ".join(" ".join(c.source.split()) for c in released.cells)
    for gid, rubric in rubrics(solution).items():
        cell = by_id.get(gid)
        assert cell is not None and cell.cell_type == "markdown", f"{day}: the release lost the written cell {gid}"
        if cell.metadata["nbgrader"].get("solution"):
            assert cell.source == "YOUR ANSWER HERE", f"{day}: the release's answer cell {gid} is not the bare stub"
            assert cell.metadata["nbgrader"]["grade"] and not cell.metadata["nbgrader"]["locked"]
        for line in rubric.splitlines():
            words = " ".join(line.split())
            if len(words) > 12:
                assert words not in everything, f"{day}: rubric text of {gid} reached the release: {words!r}"


MARKED = """# %% [markdown] nb="readonly:intro"
# # A test day

# %% [markdown] nb="answer:written_1:3"
# ### BEGIN SOLUTION
# Model answer ZEBRA-MODEL.
#
# Rubric: one point for ZEBRA-RUBRIC.
# ### END SOLUTION

# %% [markdown] nb="task:task_1:2"
# **Task.** Plot the weights in a cell of your own below, and describe them.
#
# === BEGIN MARK SCHEME ===
# Full marks when GIRAFFE-SCHEME is visible.
# === END MARK SCHEME ===

# %% nb="solution:f"
def f():
    ### BEGIN SOLUTION
    return 1
    ### END SOLUTION

# %% nb="test:test_f:1"
assert f() == 1
"""


def test_written_answer_and_task_markers_build_nbgrader_manual_cells(tmp_path):
    from autograder.build import generate_release, notebook_from_source, write

    source = tmp_path / "dayx.py"
    source.write_text(MARKED)
    nb = notebook_from_source(source)
    meta = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"] for c in nb.cells}
    assert meta["written_1"] == {"grade": True, "grade_id": "written_1", "locked": False, "points": 3,
                                "schema_version": 3, "solution": True, "task": False}
    assert meta["task_1"] == {"grade": False, "grade_id": "task_1", "locked": True, "points": 2, "schema_version": 3,
                              "solution": False, "task": True}
    assert rubrics(nb) == {"written_1": "Model answer ZEBRA-MODEL.\n\nRubric: one point for ZEBRA-RUBRIC.",
                           "task_1": "Full marks when GIRAFFE-SCHEME is visible."}
    write(nb, tmp_path / "solutions" / "dayx.ipynb")
    generate_release("dayx", tmp_path / "solutions" / "dayx.ipynb", tmp_path / "release" / "dayx.ipynb")
    text = (tmp_path / "release" / "dayx.ipynb").read_text()
    for secret in ("ZEBRA", "GIRAFFE", "MARK SCHEME", "BEGIN SOLUTION"):
        assert secret not in text, f"{secret} reached the release"
    released = {c.metadata["nbgrader"]["grade_id"]: c for c in nbformat.reads(text, as_version=4).cells}
    assert released["written_1"].source == "YOUR ANSWER HERE"
    assert released["task_1"].source.strip() == "**Task.** Plot the weights in a cell of your own below, and describe them."
    assert released["task_1"].metadata["editable"] is False


@pytest.mark.parametrize("header, problem", [
    ('# %% nb="answer:written_1:3"\n# ### BEGIN SOLUTION\n# x\n# ### END SOLUTION\n', "markdown"),
    ('# %% [markdown] nb="answer:written_1"\n# ### BEGIN SOLUTION\n# x\n# ### END SOLUTION\n', "points"),
    ('# %% [markdown] nb="answer:written_1:3"\n# An answer without a rubric region.\n', "BEGIN SOLUTION"),
    ('# %% [markdown] nb="task:task_1:2"\n# A task without a mark scheme.\n', "MARK SCHEME"),
    ('# %% [markdown] nb="task:task_1:2"\n# === BEGIN MARK SCHEME ===\n# never closed\n', "END MARK SCHEME"),
])
def test_malformed_manual_markers_are_refused(tmp_path, header, problem):
    from autograder.build import notebook_from_source

    source = tmp_path / "dayx.py"
    source.write_text(header)
    with pytest.raises(ValueError, match=problem):
        notebook_from_source(source)


# ---------------------------------------------------------------------------- one configuration
def test_one_configuration_one_set_of_limits(monkeypatch):
    """Course id, exchange, per-cell limit: stated once (deploy/jupyter/nbgrader_config.py), used everywhere."""
    import re

    from traitlets.config import PyFileConfigLoader

    for var in ("COURSE_EXCHANGE_ROOT", "COURSE_CELL_TIMEOUT"):
        monkeypatch.delenv(var, raising=False)
    shared = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT / "deploy" / "jupyter")).load_config()
    course = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT / "autograder")).load_config()
    assert shared.CourseDirectory.course_id == course.CourseDirectory.course_id == "attention-cv"
    assert shared.Exchange.root == course.Exchange.root == "/srv/nbgrader/exchange"
    assert shared.Execute.timeout == course.Execute.timeout > 0
    assert course.LateSubmissionPlugin.penalty_method == "zero"
    assert any(p.__name__ == "ClearMarkScheme" for p in course.GenerateFeedback.preprocessors), "feedback shows mark schemes"
    # Each value is assigned in exactly one file (the shared one); everything else loads it.
    files = [ROOT / "nbgrader_config.py", ROOT / "autograder" / "nbgrader_config.py", *sorted((ROOT / "deploy").rglob("*.py"))]
    for setting in ("CourseDirectory.course_id", "Exchange.root", "Execute.timeout"):
        where = [str(f.relative_to(ROOT)) for f in files if re.search(rf"^c\.{re.escape(setting)}\s*=", f.read_text(), re.M)]
        assert where == ["deploy/jupyter/nbgrader_config.py"], f"{setting} is set in {where}"
    from autograder.sandbox import Limits

    assert Limits().cell_timeout == shared.Execute.timeout, "the batch grader's per-cell limit differs from Validate's"
