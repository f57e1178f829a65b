"""Finding the submissions: nbgrader's ``submitted/`` layout, or a folder or zip from a learning platform."""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from autograder import ASSIGNMENTS

STUDENT_RE = re.compile(r"[^A-Za-z0-9_.@-]")
# LMS downloads: "<student>_<anything>_<assignment>[-<n>].ipynb", e.g. Canvas's
# "doejane_12345_67890_day1_attention-1.ipynb" or "jdoe_day1_attention.ipynb".
DEFAULT_PATTERN = r"^(?P<student>[^_]+)_(?:.*_)?(?P<assignment>{assignments})(?:[-_ ]?\(?(?P<rev>\d+)\)?)?\.(?P<ext>\w+)$"


@dataclass
class Submission:
    student: str
    assignment: str
    path: str | None
    problem: str = ""  # set when there is no usable file


def collect(
    source: Path, assignment: str | None = None, pattern: str | None = None, work: Path | None = None
) -> list[Submission]:
    """Submissions under ``source``: nbgrader's ``<student>/<assignment>/<assignment>.ipynb``, or a
    zip / folder of files named after ``pattern`` (see DEFAULT_PATTERN)."""
    source = Path(source)
    if source.is_file() and zipfile.is_zipfile(source):
        work = Path(work or tempfile.mkdtemp(prefix="course-lms-"))
        work.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(source) as zf:
            for info in zf.infolist():
                name = Path(info.filename).name
                if info.is_dir() or not name or name.startswith("."):
                    continue
                with zf.open(info) as src, open(work / name, "wb") as dst:
                    shutil.copyfileobj(src, dst, length=1 << 20)
        source = work
    if not source.is_dir():
        raise FileNotFoundError(f"no submissions folder or zip at {source}")
    names = [a for a in ASSIGNMENTS if assignment in (None, a)]
    nbgrader_layout = [d for d in source.iterdir() if d.is_dir() and any((d / a).is_dir() for a in names)]
    subs: list[Submission] = []
    if nbgrader_layout:
        for sdir in sorted(nbgrader_layout):
            for a in names:
                adir = sdir / a
                if not adir.is_dir():
                    continue
                student = _student_id(sdir.name)
                nb = adir / f"{a}.ipynb"
                if nb.is_file():
                    subs.append(Submission(student, a, str(nb)))
                else:
                    others = sorted(p for p in adir.iterdir() if p.is_file() and not p.name.startswith("."))
                    ipynbs = [p for p in others if p.suffix == ".ipynb"]
                    if ipynbs:
                        subs.append(Submission(student, a, str(ipynbs[0])))
                    elif others:
                        subs.append(Submission(student, a, str(others[0])))
                    else:
                        subs.append(Submission(student, a, None, f"no {a}.ipynb in the submission folder"))
        return subs
    regex = re.compile(pattern or DEFAULT_PATTERN.format(assignments="|".join(sorted(names, key=len, reverse=True))))
    best: dict[tuple[str, str], tuple[int, str, Path]] = {}
    for path in sorted(p for p in source.iterdir() if p.is_file()):
        m = regex.match(path.name)
        if not m or m.group("assignment") not in names:
            continue
        key = (_student_id(m.group("student")), m.group("assignment"))
        rev = int(m.groupdict().get("rev") or 0)
        if key not in best or (rev, path.name) > best[key][:2]:
            best[key] = (rev, path.name, path)
    for (student, a), (_, _, path) in sorted(best.items()):
        subs.append(Submission(student, a, str(path)))
    return subs


def _student_id(name: str) -> str:
    return STUDENT_RE.sub("-", name).strip("-.") or "unknown"

