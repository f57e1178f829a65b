"""Build the notebooks from their text sources, and the student release with nbgrader.

    sources/course/<day>.py     --jupytext-->  course/<day>.ipynb          (lesson)
    sources/solutions/<day>.py  --jupytext-->  solutions/<day>/<day>.ipynb (nbgrader source)
    solutions/<day>/            --nbgrader generate_assignment-->  assignments/<day>/

Sources are jupytext "percent" scripts. A cell header may carry one nbgrader marker,
``nb="KIND:GRADE_ID[:POINTS]"``:

    # %% nb="solution:softmax"                   the student's cell (graded by the tests below)
    # %% nb="test:test_softmax:2"                an autograded test cell worth 2 points
    # %% nb="readonly:setup"                     a locked cell (code or markdown)
    # %% [markdown] nb="answer:written_1:3"      a written answer graded by people, 3 points
    # %% [markdown] nb="task:task_1:2"           a manually graded task, 2 points

Written answers (``answer``) are nbgrader's manually graded answer cells: markdown, the model
answer and the rubric between ``### BEGIN SOLUTION`` and ``### END SOLUTION``, which the
release replaces by "YOUR ANSWER HERE". Tasks (``task``) are nbgrader's task cells: locked
markdown that states the task (the student answers in cells of their own below it), the rubric
between ``=== BEGIN MARK SCHEME ===`` and ``=== END MARK SCHEME ===``, which the release drops.

``python manage.py build`` rebuilds everything; ``python -m autograder.build --check``
fails when a committed notebook differs from what its source builds.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "sources"
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def days() -> list[str]:
    """Assignment names with a solution source, in course order."""
    return sorted(p.stem for p in (SOURCES / "solutions").glob("day*.py"))


def lessons() -> list[str]:
    """Lesson notebooks (every day, plus the table of contents)."""
    return sorted(p.stem for p in (SOURCES / "course").glob("*.py"))


MARK_SCHEME = ("=== BEGIN MARK SCHEME ===", "=== END MARK SCHEME ===")
SOLUTION_REGION = ("### BEGIN SOLUTION", "### END SOLUTION")


def _points(points: str) -> int | float:
    return float(points) if "." in points else int(points)


def _region(source: str, delimiters: tuple[str, str], where: str) -> list[str]:
    """The lines between each pair of delimiters (on lines of their own); fails when unbalanced."""
    begin, end = delimiters
    regions, current = [], None
    for line in source.splitlines():
        if begin in line:
            if current is not None:
                raise ValueError(f"{where}: nested {begin!r}")
            current = []
        elif end in line:
            if current is None:
                raise ValueError(f"{where}: {end!r} without {begin!r}")
            regions.append("\n".join(current))
            current = None
        elif current is not None:
            current.append(line)
    if current is not None:
        raise ValueError(f"{where}: {begin!r} without {end!r}")
    return regions


def _nbgrader_metadata(marker: str, where: str, cell_type: str = "code", source: str = "") -> dict:
    kind, _, rest = marker.partition(":")
    grade_id, _, points = rest.partition(":")
    if not grade_id:
        raise ValueError(f"{where}: marker {marker!r} needs a grade id")
    meta = {"grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3, "solution": False, "task": False}
    if kind == "solution":
        meta["solution"] = True
    elif kind == "test":
        if not grade_id.startswith("test_") or not points:
            raise ValueError(f"{where}: test cells are 'test:test_<exercise>:<points>', got {marker!r}")
        meta.update(grade=True, locked=True, points=_points(points))
    elif kind == "readonly":
        meta["locked"] = True
    elif kind in ("answer", "task"):
        if cell_type != "markdown" or not points:
            raise ValueError(f"{where}: {kind} cells are markdown cells marked '{kind}:<grade_id>:<points>', got "
                             f"{marker!r} on a {cell_type} cell")
        delimiters = SOLUTION_REGION if kind == "answer" else MARK_SCHEME
        if not any(r.strip() for r in _region(source, delimiters, where)):
            raise ValueError(f"{where}: a {kind} cell keeps its model answer and rubric between "
                             f"{delimiters[0]!r} and {delimiters[1]!r} (instructor notebook only)")
        if kind == "answer":
            meta.update(grade=True, solution=True, points=_points(points))
        else:
            meta.update(task=True, locked=True, points=_points(points))
    else:
        raise ValueError(f"{where}: unknown marker kind {kind!r} in {marker!r}")
    return meta


def rubrics(nb: nbformat.NotebookNode) -> dict[str, str]:
    """grade_id -> the instructor-only text of each written answer or task (model answer, rubric)."""
    found = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "markdown":
            continue
        if meta.get("task"):
            found[meta["grade_id"]] = "\n".join(_region(cell.source, MARK_SCHEME, meta["grade_id"]))
        elif meta.get("solution") and meta.get("grade"):
            found[meta["grade_id"]] = "\n".join(_region(cell.source, SOLUTION_REGION, meta["grade_id"]))
    return found


def notebook_from_source(path: Path) -> nbformat.NotebookNode:
    """Read a percent script into a clean notebook: no outputs, no stray metadata, stable ids."""
    nb = jupytext.read(path)
    cells = []
    seen: set[str] = set()
    for index, cell in enumerate(nb.cells):
        marker = cell.metadata.get("nb")
        metadata = {}
        if marker:
            metadata["nbgrader"] = _nbgrader_metadata(marker, f"{path.name} cell {index}", cell.cell_type, cell.source)
            gid = metadata["nbgrader"]["grade_id"]
            if gid in seen:
                raise ValueError(f"{path.name}: grade id {gid!r} used twice")
            seen.add(gid)
        if "tags" in cell.metadata:
            metadata["tags"] = list(cell.metadata["tags"])
        if cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(cell.source, metadata=metadata)
        elif cell.cell_type == "markdown":
            new = nbformat.v4.new_markdown_cell(cell.source, metadata=metadata)
        else:
            new = nbformat.v4.new_raw_cell(cell.source, metadata=metadata)
        digest = hashlib.sha1(f"{path.stem}/{index}".encode()).hexdigest()[:8]
        new["id"] = metadata.get("nbgrader", {}).get("grade_id", f"cell-{digest}")
        cells.append(new)
    out = nbformat.v4.new_notebook(cells=cells)
    out.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    out.nbformat, out.nbformat_minor = 4, 5
    return out


def normalise(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Strip outputs and run-time metadata (what nbgrader or Jupyter may add)."""
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        # nbgrader marks locked cells editable/deletable: false; JupyterLab honours both.
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in ("nbgrader", "tags", "editable", "deletable")}
    return nb


def write(nb: nbformat.NotebookNode, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.validate(nb)
    path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")


def generate_release(day: str, solution: Path, dest: Path) -> None:
    """Run nbgrader's generate_assignment on one solution notebook, in a scratch course."""
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config, PyFileConfigLoader

    with tempfile.TemporaryDirectory() as tmp:
        course = Path(tmp)
        os.environ["PATH"] = os.pathsep.join((str(Path(sys.executable).parent), os.environ.get("PATH", "")))
        (course / "solutions" / day).mkdir(parents=True)
        shutil.copy(solution, course / "solutions" / day / f"{day}.ipynb")
        config = Config()
        config.merge(PyFileConfigLoader("nbgrader_config.py", path=str(ROOT / "autograder")).load_config())
        config.CourseDirectory.root = str(course)
        config.CourseDirectory.db_url = f"sqlite:///{course / 'gradebook.db'}"
        config.Exchange.root = str(course / "exchange")
        config.NbGraderAPI.log_level = "WARN"
        api = NbGraderAPI(config=config)
        api.log.setLevel("WARNING")
        result = api.generate_assignment(day, force=True, create=True)
        if not result["success"]:
            raise RuntimeError(f"nbgrader generate_assignment failed for {day}:\n{result['log']}\n{result.get('error')}")
        released = nbformat.read(course / "assignments" / day / f"{day}.ipynb", as_version=4)
    write(normalise(released), dest)


def build(root: Path = ROOT, only: list[str] | None = None) -> list[Path]:
    """Build every notebook into ``root`` (the repository, or a scratch copy for checks)."""
    written = []
    for name in lessons():
        if only and name not in only and name != "index":
            continue
        path = root / "course" / f"{name}.ipynb"
        write(notebook_from_source(SOURCES / "course" / f"{name}.py"), path)
        written.append(path)
    for day in days():
        if only and day not in only:
            continue
        solution = root / "solutions" / day / f"{day}.ipynb"
        write(notebook_from_source(SOURCES / "solutions" / f"{day}.py"), solution)
        release = root / "assignments" / day / f"{day}.ipynb"
        generate_release(day, solution, release)
        written += [solution, release]
    return written


def stale() -> list[str]:
    """Committed notebooks that differ from a fresh build (or are missing)."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = build(Path(tmp))
        problems = []
        for path in fresh:
            rel = path.relative_to(tmp)
            committed = ROOT / rel
            if not committed.exists():
                problems.append(f"{rel} is missing")
            elif committed.read_text(encoding="utf-8") != path.read_text(encoding="utf-8"):
                problems.append(f"{rel} is out of date")
        expected = {p.relative_to(tmp) for p in fresh}
        for folder in ("course", "solutions", "assignments"):
            for path in (ROOT / folder).rglob("*.ipynb"):
                rel = path.relative_to(ROOT)
                if ".ipynb_checkpoints" not in rel.parts and rel not in expected:
                    problems.append(f"{rel} has no source in sources/")
        return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("days", nargs="*", help="only these assignments (default: all)")
    parser.add_argument("--check", action="store_true", help="only report notebooks out of sync")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale()
        for p in problems:
            print(p)
        print("notebooks in sync with sources" if not problems else "run `python manage.py build` and commit")
        return 1 if problems else 0
    for path in build(only=args.days or None):
        print("wrote", path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
