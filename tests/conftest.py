"""Shared helpers: run notebooks like a student would, and autograde like an instructor would."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.build import days, lessons  # noqa: E402

DAYS = days()
LESSONS = lessons()
# Every lesson runs in under 40 s in total on a quiet 2-core machine; a cell that takes 240 s is stuck.
KERNEL_TIMEOUT = int(os.environ.get("COURSE_TEST_CELL_TIMEOUT", "150"))


def kernel_env(with_repo: bool) -> dict[str, str]:
    """Environment for a notebook kernel: with or without the repository importable."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_XDIST_WORKER", "PYTEST_CURRENT_TEST")}
    env["PATH"] = os.pathsep.join((str(Path(sys.executable).parent), env.get("PATH", "")))
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    env.setdefault("OMP_NUM_THREADS", "1")
    if with_repo:
        env["PYTHONPATH"] = str(ROOT)
    return env


def execute(path: Path, cwd: Path, with_repo: bool = False) -> nbformat.NotebookNode:
    """Execute a notebook top to bottom (continuing after errors) in `cwd`; return it with outputs.

    A cell timeout is retried once with a fresh kernel (book.site.execute_in says why).
    """
    from book.site import execute_in

    return execute_in(path, cwd, kernel_env(with_repo), KERNEL_TIMEOUT)


def errors(nb: nbformat.NotebookNode) -> list[tuple[int, dict, str]]:
    """(cell index, nbgrader metadata, "Ename: evalue") for every cell that raised."""
    found = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                found.append((i, cell.metadata.get("nbgrader", {}), f"{out['ename']}: {out['evalue']}"[:500]))
    return found


def solution_cells(day: str) -> list[tuple[str, str]]:
    """(marker, source) for every code cell of a day's solution source, in order."""
    nb = jupytext.read(ROOT / "sources" / "solutions" / f"{day}.py")
    return [(c.metadata.get("nb", ""), c.source) for c in nb.cells if c.cell_type == "code"]


def notebook_with(day: str, replacements: dict[str, str]) -> nbformat.NotebookNode:
    """The built solution notebook with some solution cells' sources replaced."""
    nb = nbformat.read(ROOT / "solutions" / day / f"{day}.ipynb", as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in replacements and cell.metadata["nbgrader"].get("solution"):
            cell.source = replacements[gid]
    return nb


def load_variants(day: str):
    """tests/variants/<day>.py as a module (WRONG and RIGHT dicts), or None."""
    path = ROOT / "tests" / "variants" / f"{day}.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location(f"variants_{day}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------- nbgrader
class Course:
    """A scratch nbgrader course: the day's solution released into it, submissions autograded."""

    def __init__(self, root: Path, day: str):
        from nbgrader.apps import NbGraderAPI
        from traitlets.config import Config, PyFileConfigLoader

        self.root, self.day = root, day
        (root / "solutions" / day).mkdir(parents=True)
        shutil.copy(ROOT / "solutions" / day / f"{day}.ipynb", root / "solutions" / day)
        config = Config()
        config.merge(PyFileConfigLoader("nbgrader_config.py", path=str(ROOT / "autograder")).load_config())
        config.CourseDirectory.root = str(root)
        config.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
        config.Exchange.root = str(root / "exchange")
        config.Execute.timeout = KERNEL_TIMEOUT
        self.api = NbGraderAPI(config=config)
        result = self.api.generate_assignment(day, force=True, create=True)
        assert result["success"], result["log"]

    def autograde(self, student: str, nb: nbformat.NotebookNode) -> dict[str, tuple[float, float]]:
        """Submit `nb` as `student`, autograde it; {grade_id: (score, max_score)} of graded cells."""
        from nbgrader.api import Gradebook

        folder = self.root / "submitted" / student / self.day
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{self.day}.ipynb")
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        result = self.api.autograde(self.day, student, force=True, create=True)
        assert result["success"], f"nbgrader autograde failed:\n{result['log']}\n{result.get('error')}"
        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}") as gb:
            sub = gb.find_submission_notebook(self.day, self.day, student)
            return {g.name: (g.score, g.max_score) for g in sub.grades}

    def autograded_notebook(self, student: str) -> nbformat.NotebookNode:
        return nbformat.read(self.root / "autograded" / student / self.day / f"{self.day}.ipynb", as_version=4)


@pytest.fixture
def scratch():
    with tempfile.TemporaryDirectory(prefix="course-test-") as tmp:
        yield Path(tmp)


# The longest test modules first: `manage.py test` hands whole modules to its two workers in
# collection order (--dist loadscope), so starting with the longest ones balances the workers
# (longest processing time first). The site build and the lesson tests share each lesson's
# execution (a per-lesson lock and cache): they start together, on two workers, and walk the
# lessons in opposite orders, so each lesson is executed once and two run at a time.
LONGEST_FIRST = ("test_site", "test_notebooks", "test_grading", "test_autograde", "test_hub", "test_checks",
                 "test_grading_nbgrader", "test_browser", "test_grading_class", "test_grading_nonroot")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.stem, len(rank)))  # stable: each module keeps its order
