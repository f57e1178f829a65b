"""Every notebook runs top to bottom on CPU, the way its user runs it.

Lessons and releases run standalone: a temporary directory holding only that notebook, a kernel
without the repository on its path (a self-learner on Colab). A release may fail only in the
student's unimplemented cells and the tests that grade them. Solution notebooks run (with their
hidden tests) in tests/test_autograde.py, under nbgrader.

Lessons run through the course website's executor (book/site.py: execute_cached, the same
standalone run) into this test run's execution cache, which the site build (tests/test_site.py)
reads: each lesson is executed once per run for both. The cache is fresh for every run and holds
only runs that raised nothing, so a lesson test always reflects a run in this environment.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from conftest import DAYS, KERNEL_TIMEOUT, LESSONS, ROOT, errors, execute, kernel_env

from book import site
from tests.browser import site as site_tests


@pytest.fixture(scope="session")
def execution_cache(tmp_path_factory, request):
    return site_tests.execution_cache(tmp_path_factory, request.config)


def standalone(path, tmp):
    shutil.copy(path, tmp / path.name)
    probe = subprocess.run([sys.executable, "-c", "import autograder"], cwd=tmp, env=kernel_env(False), capture_output=True)
    assert probe.returncode != 0, "the standalone environment must not see the repository"
    return execute(tmp / path.name, tmp)


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS[::-1])  # the site build walks them forwards (conftest)
def test_lesson_runs_standalone(lesson, scratch, execution_cache):
    probe = subprocess.run([sys.executable, "-c", "import autograder"], cwd=scratch, env=site.kernel_env(), capture_output=True)
    assert probe.returncode != 0, "the standalone environment must not see the repository"
    nb, run = site.execute_cached(ROOT / "course" / f"{lesson}.ipynb", execution_cache, timeout=KERNEL_TIMEOUT)
    assert not run.errors, "\n".join(run.errors)  # cells that raised, and widgets whose first draw raised
    code = [c for c in nb.cells if c.cell_type == "code"]
    if lesson != "index":
        figures = sum("image/png" in o.get("data", {}) for c in code for o in c.get("outputs", []))
        assert figures >= 3, f"a lesson should show its ideas in figures; {lesson} drew {figures}"


@pytest.mark.slow
@pytest.mark.parametrize("day", DAYS)
def test_release_runs_standalone_failing_only_in_student_cells(day, scratch):
    nb = standalone(ROOT / "assignments" / day / f"{day}.ipynb", scratch)
    failed = errors(nb)
    for i, meta, err in failed:
        assert meta.get("solution") or meta.get("grade"), f"cell {i} (not a student or test cell) failed: {err}"
        if meta.get("solution"):
            assert err.startswith("NotImplementedError"), f"unimplemented cell {meta['grade_id']} failed with {err}"
    failed_tests = {meta["grade_id"] for _, meta, _ in failed if meta.get("grade")}
    visible = {
        c.metadata["nbgrader"]["grade_id"]
        for c in nb.cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade") and c.source.strip()
        and not c.source.lstrip().startswith("#")
    }
    assert visible <= failed_tests, f"visible tests pass on an unsolved release: {sorted(visible - failed_tests)}"
