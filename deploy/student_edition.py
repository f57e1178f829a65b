"""Build the student edition: what to hand to a class, without solutions or grading material.

    python3 manage.py student-edition OUT [--force] [--git]

OUT receives the lessons (course/), the released assignments (assignments/), the glossary, a
students' README (deploy/student-edition/README.md), the environment files and the licence.
Nothing else: no solutions/, sources/, autograder/ (hidden checks, quiz answers), tests/
(variants), tools/, deploy/ or instructor documentation. The result is checked before this
returns: no solution, hidden-test or mark-scheme region, no solution block of any day, no import
of the grading package, no link to a file left out. ``--git`` makes it a git repository with one
commit, ready to push to the class's (private) remote.

Standard library only: it runs before any environment is installed.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = ".student-edition"
FILES = {  # source (relative to the repository) -> destination in the edition
    "deploy/student-edition/README.md": "README.md",
    "LICENSE": "LICENSE",
    "requirements.txt": "requirements.txt",
    "requirements-lock.txt": "requirements-lock.txt",
    "environment.yml": "environment.yml",
    "docs/glossary.md": "docs/glossary.md",
}
FOLDERS = ("course", "assignments")
FORBIDDEN = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "MARK SCHEME",
             "from autograder", "import autograder", "REGISTRY.quiz")
GITIGNORE = ".venv/\n__pycache__/\n.ipynb_checkpoints/\n.virtual_documents/\n/data/\n"


class EditionError(RuntimeError):
    """The edition would leak grading material or is incomplete."""


def _notebook_text(path: Path) -> list[tuple[str, str]]:
    """(cell type, source) of every cell of a notebook."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [(c.get("cell_type", ""), "".join(c["source"]) if isinstance(c["source"], list) else c["source"])
            for c in nb.get("cells", [])]


def solution_blocks(root: Path = ROOT) -> list[tuple[str, str]]:
    """(where, whitespace-normalised text) of every solution block of every day (2+ non-blank lines)."""
    blocks = []
    for path in sorted((root / "solutions").glob("*/*.ipynb")):
        for _, source in _notebook_text(path):
            for block in source.split("### BEGIN SOLUTION")[1:]:
                body = [ln for ln in block.split("### END SOLUTION")[0].splitlines() if ln.strip()]
                if len(body) >= 2:
                    blocks.append((path.stem, " ".join(" ".join(body).split())))
    return blocks


def build(out: Path, root: Path = ROOT, force: bool = False) -> list[Path]:
    """Write the edition into ``out`` and check it; returns the files written."""
    out = out.resolve()
    if out == root or root.is_relative_to(out) or out.is_relative_to(root / "solutions"):
        raise EditionError(f"refusing to write the edition into {out}")
    if out.exists() and any(out.iterdir()):
        if not (force and (out / MARKER).exists()):
            raise EditionError(f"{out} is not empty (use --force to replace an earlier student edition there)")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.pyc")
    for folder in FOLDERS:
        shutil.copytree(root / folder, out / folder, ignore=ignore)
    for src, dest in FILES.items():
        (out / dest).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / src, out / dest)
    (out / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
    (out / MARKER).write_text("built by `python3 manage.py student-edition` from the course repository\n", encoding="utf-8")
    for warning in check(out, root):
        print(f"warning: {warning}", file=sys.stderr)
    return sorted(p for p in out.rglob("*") if p.is_file())


def check(out: Path, root: Path = ROOT) -> list[str]:
    """Raise EditionError if the edition holds grading material or links to what it lacks.

    Returns warnings: solution blocks that a lesson repeats word for word (the course's authors
    should look at them; the edition is still built).
    """
    problems = []
    allowed_top = {*FOLDERS, *(Path(d).parts[0] for d in FILES.values()), ".gitignore", MARKER, ".git"}
    problems += [f"unexpected {p.name}" for p in out.iterdir() if p.name not in allowed_top]
    texts: dict[Path, str] = {}  # every file's text; a notebook's: its cells' sources
    for path in out.rglob("*"):
        if path.is_file() and ".git" not in path.relative_to(out).parts:
            try:
                texts[path] = path.read_text(encoding="utf-8")
                if path.suffix == ".ipynb":
                    texts[path] += "\n" + "\n".join(src for _, src in _notebook_text(path))
            except (UnicodeDecodeError, json.JSONDecodeError, KeyError):
                problems.append(f"{path.relative_to(out)}: not a text file or not a notebook")
    for path, text in texts.items():
        problems += [f"{path.relative_to(out)} contains {m!r}" for m in FORBIDDEN if m in text]
    flat = {path: " ".join(text.split()) for path, text in texts.items()}
    warnings = []
    for where, block in solution_blocks(root):
        for path, text in flat.items():
            if block in text:
                found = f"{path.relative_to(out)} contains a solution block of {where}: {block[:90]}..."
                # A lesson is the course's own published text (tests/test_teaching.py governs what it may
                # show); an overlap there is reported, not refused. Anywhere else it is a leak.
                (warnings if path.relative_to(out).parts[0] == "course" else problems).append(found)
    for day in sorted(p.name for p in (root / "solutions").iterdir() if p.is_dir()):
        if not (out / "assignments" / day / f"{day}.ipynb").exists():
            problems.append(f"assignments/{day}/{day}.ipynb is missing")
    for path in texts:
        problems += _broken_links(path, out)
    if problems:
        raise EditionError("the student edition is not fit to hand out:\n  " + "\n  ".join(problems))
    return warnings


def _broken_links(path: Path, out: Path) -> list[str]:
    if path.suffix == ".ipynb":
        text = "\n".join(src for kind, src in _notebook_text(path) if kind == "markdown")
    elif path.suffix == ".md":
        text = path.read_text(encoding="utf-8")
    else:
        return []
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z][a-z0-9+.-]*:|^#|^/", target):  # a URL, an anchor, a site path
            continue
        if not (path.parent / target.split("#")[0]).resolve().is_relative_to(out) or \
                not (path.parent / target.split("#")[0]).exists():
            broken.append(f"{path.relative_to(out)} links to {target}, which is not in the edition")
    return broken


def init_git(out: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=Course staff", "-c", "user.email=course@example.invalid", *args],
                       cwd=out, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "Student edition of Attention in Computer Vision")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="folder to write (must be empty or an earlier student edition)")
    parser.add_argument("--force", action="store_true", help="replace an earlier student edition in OUT")
    parser.add_argument("--git", action="store_true", help="make OUT a git repository with one commit")
    args = parser.parse_args(argv)
    try:
        files = build(args.out, force=args.force)
        if args.git:
            init_git(args.out)
    except EditionError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"student edition: {len(files)} files in {args.out.resolve()} (checked: no solutions, hidden tests, "
          "rubrics or grading code)" + (", a git repository with one commit" if args.git else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
