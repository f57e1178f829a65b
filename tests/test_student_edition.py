"""The student edition (`python3 manage.py student-edition OUT`): what a class gets, and nothing more."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "deploy"))

import student_edition as SE  # noqa: E402


@pytest.fixture(scope="module")
def edition(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("edition") / "attention-cv-students"
    proc = subprocess.run([sys.executable, str(ROOT / "manage.py"), "student-edition", str(out), "--git"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def test_edition_holds_lessons_releases_readme_environment_licence(edition):
    days = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
    for day in days:
        for rel in (f"course/{day}.ipynb", f"assignments/{day}/{day}.ipynb"):
            assert (edition / rel).read_bytes() == (ROOT / rel).read_bytes(), f"{rel} differs from the repository's"
    for rel in ("course/index.ipynb", "README.md", "LICENSE", "requirements.txt", "requirements-lock.txt",
                "environment.yml", "docs/glossary.md", ".gitignore"):
        assert (edition / rel).is_file(), f"the edition lacks {rel}"
    readme = (edition / "README.md").read_text()
    assert "requirements-lock.txt" in readme and "Assignment List" in readme and "LICENSE" in readme
    assert "MIT" in (edition / "LICENSE").read_text() and "CC BY 4.0" in (edition / "LICENSE").read_text()


def test_edition_holds_no_solutions_checks_variants_or_instructor_docs(edition):
    top = {p.name for p in edition.iterdir()}
    assert top == {"course", "assignments", "docs", "README.md", "LICENSE", "requirements.txt", "requirements-lock.txt",
                   "environment.yml", ".gitignore", ".student-edition", ".git"}, top
    assert [p.name for p in (edition / "docs").iterdir()] == ["glossary.md"]
    names = {p.name for p in edition.rglob("*") if ".git" not in p.relative_to(edition).parts}
    for leaked in ("solutions", "sources", "autograder", "tests", "variants", "tools", "deploy", "manage.py",
                   "instructor-guide.md", "grading.md", "authoring.md", "nbgrader_config.py", "gradebook.db"):
        assert leaked not in names, f"the edition contains {leaked}"
    for path in edition.rglob("*.ipynb"):
        text = path.read_text()
        for marker in SE.FORBIDDEN:
            assert marker not in text, f"{path.relative_to(edition)} contains {marker}"
    # written answers arrive as the bare stub, their rubric stays behind
    released = json.loads((edition / "assignments/day1_attention/day1_attention.ipynb").read_text())
    written = [c for c in released["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "written_1"]
    assert written and "".join(written[0]["source"]) == "YOUR ANSWER HERE"
    assert "Rubric" not in json.dumps(released)


def test_edition_is_a_git_repository_with_one_commit(edition):
    log = subprocess.run(["git", "log", "--oneline"], cwd=edition, capture_output=True, text=True, check=True).stdout
    assert len(log.splitlines()) == 1
    status = subprocess.run(["git", "status", "--porcelain"], cwd=edition, capture_output=True, text=True, check=True).stdout
    assert status == "", f"files left out of the commit: {status}"


def test_check_catches_leaks_and_broken_links(edition, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(edition, bad, ignore=shutil.ignore_patterns(".git"))
    SE.check(bad)  # a clean copy passes
    solution = json.loads((ROOT / "solutions/day1_attention/day1_attention.ipynb").read_text())
    lesson = bad / "course" / "day1_attention.ipynb"
    nb = json.loads(lesson.read_text())
    softmax = next(c for c in solution["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "softmax")
    body = "".join(softmax["source"]).split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
    released = bad / "assignments" / "day1_attention" / "day1_attention.ipynb"
    release = json.loads(released.read_text())
    release["cells"].append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": body})
    released.write_text(json.dumps(release))
    nb["cells"].append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": body})
    rubric = next(c for c in solution["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "written_1")
    rubric_text = "".join(rubric["source"]).split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": rubric_text})
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "See [the grading guide](../docs/grading.md)."})
    lesson.write_text(json.dumps(nb))
    with pytest.raises(SE.EditionError, match="links to ../docs/grading.md"):
        SE.check(bad)
    nb["cells"].pop()
    lesson.write_text(json.dumps(nb))
    release["cells"].pop()
    released.write_text(json.dumps(release))
    warnings = SE.check(bad)  # in a lesson: reported
    assert sum("course/day1_attention.ipynb contains a solution block of day1_attention" in w for w in warnings) == 2, (
        f"the solution code and the written answer's rubric in a lesson were not both reported: {warnings}")
    (released.parent / "notes.md").write_text(rubric_text)
    release["cells"].append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": body})
    released.write_text(json.dumps(release))
    (bad / "tools").mkdir()
    with pytest.raises(SE.EditionError) as error:
        SE.check(bad)
    message = str(error.value)
    assert "assignments/day1_attention/day1_attention.ipynb contains a solution block of day1_attention" in message
    assert "notes.md contains" in message, "a written answer's rubric next to the release was not caught"
    assert "unexpected tools" in message
    assert "course/" not in message, "a lesson's overlap must be a warning, not a refusal"


def test_refuses_to_overwrite_a_folder_that_is_not_an_edition(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(SE.EditionError, match="not empty"):
        SE.build(tmp_path)
    with pytest.raises(SE.EditionError, match="not empty"):
        SE.build(tmp_path, force=True)
    assert (tmp_path / "mine.txt").read_text() == "keep me"
