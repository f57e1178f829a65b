"""Finding the submissions, and who handed in each: nbgrader's ``submitted/`` layout, or a folder or
zip downloaded from a learning platform.

A student is keyed by the platform's stable id, never by a name two people can share:

* Canvas ("Download submissions"): ``<sortablename>_[LATE_]<user id>_<submission id>_<file>``;
  the key is ``canvas-<user id>``, the ``LATE`` marker is kept (the late policy applies to it).
* Moodle ("Download submissions", with or without "in folders"): a folder
  ``<Full Name>_<participant id>_assignsubmission_file_/<file>`` or a file
  ``<Full Name>_<participant id>_assignsubmission_file_<file>``; the key is ``moodle-<participant id>``.
* anything else named ``<student>_[anything_]<assignment>[-<n>].ipynb`` (``pattern``): the key is
  ``<student>``.

A roster (CSV with the columns ``platform_id, name, email, nbgrader_id``) maps platform ids to
the course's nbgrader ids. Every file under the source ends up in a :class:`Submission` or in
:attr:`Inventory.skipped` with the reason; two files that map to one student and assignment are
a conflict naming both (neither is graded until the instructor decides), never a silent choice.
Only numbered copies of one upload (``day1_attention.ipynb``, ``day1_attention-2.ipynb``) resolve
on their own: the highest number wins and the others are listed as superseded.
"""

from __future__ import annotations

import csv
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder import ASSIGNMENTS

STUDENT_RE = re.compile(r"[^A-Za-z0-9_.@-]")
# Generic downloads: "<student>_<anything>_<assignment>[-<n>].ipynb", e.g. "jdoe_day1_attention.ipynb".
DEFAULT_PATTERN = r"^(?P<student>[^_]+)_(?:.*_)?(?P<assignment>{assignments})(?:[-_ ]?\(?(?P<rev>\d+)\)?)?\.(?P<ext>\w+)$"
CANVAS_RE = re.compile(r"^(?P<name>[a-z0-9]*)_(?:(?P<late>LATE)_)?(?P<uid>\d+)_(?P<sid>\d+)_(?P<file>.+)$")
MOODLE_FOLDER_RE = re.compile(r"^(?P<name>.+)_(?P<pid>\d+)_assignsubmission_(?P<plugin>[a-z]+)_?$")
MOODLE_FILE_RE = re.compile(r"^(?P<name>.+)_(?P<pid>\d+)_assignsubmission_(?P<plugin>file|onlinetext)_(?P<file>.+)$")
REVISION_RE = re.compile(r"^(?P<base>.*?)(?:[-_ ]?\((?P<p>\d+)\)|-(?P<n>\d+))?(?P<ext>\.[A-Za-z0-9]+)$")
ROSTER_COLUMNS = {  # accepted headers (lower case, spaces as underscores) -> field
    "platform_id": "platform_id", "id": "platform_id", "user_id": "platform_id", "canvas_id": "platform_id",
    "canvas_user_id": "platform_id", "moodle_id": "platform_id", "participant_id": "platform_id",
    "name": "name", "student": "name", "full_name": "name", "email": "email", "email_address": "email",
    "nbgrader_id": "nbgrader_id", "nbgrader": "nbgrader_id", "student_id": "nbgrader_id", "username": "nbgrader_id",
    "id_number": "id_number", "sis_user_id": "id_number", "sis_login_id": "sis_login_id", "section": "section",
}


@dataclass
class Submission:
    student: str  # the key: journal, gradebook, reports
    assignment: str
    path: str | None
    problem: str = ""  # set when there is no usable file
    platform: str = "nbgrader"  # nbgrader | canvas | moodle | files
    platform_id: str = ""  # Canvas user id, Moodle participant id
    name: str = ""  # the name the platform wrote (Canvas: the sortable name; Moodle: the full name)
    email: str = ""
    late: bool = False  # the platform marked it late (Canvas: LATE)
    original: str = ""  # the file's path as downloaded (relative to the source)
    extra: dict = field(default_factory=dict)  # roster columns (id_number, sis_login_id, section)


@dataclass
class Inventory:
    """What :func:`find_submissions` found: submissions, files not graded (with why), conflicts."""

    submissions: list[Submission]
    skipped: list[tuple[str, str]]  # (file as downloaded, reason)
    conflicts: list[str]  # one message per student and assignment with two or more files
    roster_missing: list[str] = field(default_factory=list)  # roster students with no submission


@dataclass
class RosterEntry:
    platform_id: str
    name: str = ""
    email: str = ""
    nbgrader_id: str = ""
    extra: dict = field(default_factory=dict)


def read_roster(path: Path) -> dict[str, RosterEntry]:
    """platform id -> entry, from a CSV with the columns platform_id, name, email, nbgrader_id."""
    entries: dict[str, RosterEntry] = {}
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        fields = {h: ROSTER_COLUMNS.get(re.sub(r"[\s-]+", "_", (h or "").strip().lower())) for h in reader.fieldnames or []}
        if "platform_id" not in fields.values():
            raise ValueError(f"{path}: the roster needs a platform_id column (found: {', '.join(reader.fieldnames or [])})")
        for n, row in enumerate(reader, start=2):
            data = {fields[k]: (v or "").strip() for k, v in row.items() if fields.get(k)}
            pid = data.get("platform_id", "")
            if not pid:
                continue
            if pid in entries:
                raise ValueError(f"{path}, line {n}: platform id {pid} appears twice in the roster")
            extra = {k: data[k] for k in ("id_number", "sis_login_id", "section") if data.get(k)}
            entries[pid] = RosterEntry(pid, data.get("name", ""), data.get("email", ""),
                                       _student_id(data["nbgrader_id"]) if data.get("nbgrader_id") else "", extra)
    return entries


def collect(
    source: Path, assignment: str | None = None, pattern: str | None = None, work: Path | None = None,
    roster: Path | dict[str, RosterEntry] | None = None,
) -> list[Submission]:
    """The submissions under ``source`` (see :func:`find_submissions` for what is not graded and why)."""
    return find_submissions(source, assignment, pattern, work, roster).submissions


def find_submissions(
    source: Path, assignment: str | None = None, pattern: str | None = None, work: Path | None = None,
    roster: Path | dict[str, RosterEntry] | None = None,
) -> Inventory:
    """Every file under ``source`` (a folder or a zip): graded as a :class:`Submission`, or skipped with the reason."""
    source = Path(source)
    if source.is_file() and zipfile.is_zipfile(source):
        work = Path(work or tempfile.mkdtemp(prefix="course-lms-"))
        work.mkdir(parents=True, exist_ok=True)
        _extract(source, work)
        source = work
    if not source.is_dir():
        raise FileNotFoundError(f"no submissions folder or zip at {source}")
    if isinstance(roster, (str, Path)):
        roster = read_roster(Path(roster))
    names = [a for a in ASSIGNMENTS if assignment in (None, a)]
    nbgrader_layout = [d for d in source.iterdir() if d.is_dir() and any((d / a).is_dir() for a in names)]
    if nbgrader_layout:
        return _nbgrader(source, nbgrader_layout, names)
    regex = re.compile(pattern or DEFAULT_PATTERN.format(assignments="|".join(sorted(ASSIGNMENTS, key=len, reverse=True))))
    files, skipped = _files(source)
    found: list[Submission] = []
    for path in sorted(files):
        rel = path.relative_to(source).as_posix()
        sub, why = _identify(path, rel, regex, names, assignment)
        if sub is None:
            skipped.append((rel, why))
        else:
            found.append(sub)
    if roster:
        for s in found:
            entry = roster.get(s.platform_id) if s.platform in ("canvas", "moodle") else None
            if entry is None:
                continue
            s.student = entry.nbgrader_id or s.student
            s.name = entry.name or s.name
            s.email = entry.email
            s.extra = dict(entry.extra)
    subs, more_skipped, conflicts = _resolve(found)
    skipped += more_skipped
    missing = []
    if roster:
        present = {(s.platform_id, s.student) for s in found}
        missing = sorted(f"{e.name or e.platform_id} ({e.platform_id})" for e in roster.values()
                         if not any(pid == e.platform_id or st == e.nbgrader_id for pid, st in present))
    return Inventory(subs, sorted(skipped), conflicts, missing)


# ---------------------------------------------------------------------------- layouts
def _nbgrader(source: Path, folders: list[Path], names: list[str]) -> Inventory:
    subs: list[Submission] = []
    skipped: list[tuple[str, str]] = []
    for sdir in sorted(folders):
        student = _student_id(sdir.name)
        for a in names:
            adir = sdir / a
            if not adir.is_dir():
                continue
            nb = adir / f"{a}.ipynb"
            others = sorted(p for p in adir.rglob("*") if p.is_file() and not p.name.startswith("."))
            if nb.is_file():
                chosen: Path | None = nb
            else:
                ipynbs = [p for p in others if p.suffix == ".ipynb"]
                chosen = (ipynbs or others or [None])[0]
            if chosen is None:
                subs.append(Submission(student, a, None, f"no {a}.ipynb in the submission folder"))
                continue
            subs.append(Submission(student, a, str(chosen), original=chosen.relative_to(source).as_posix()))
            for p in others:
                if p != chosen:
                    skipped.append((p.relative_to(source).as_posix(), f"not graded: {student}'s graded file is {chosen.name}"))
    listed = {d.name for d in folders}
    for p in sorted(source.iterdir()):
        if p.name.startswith(".") or p.name in listed:
            continue
        skipped.append((p.name, "outside the nbgrader layout <student>/<assignment>/<assignment>.ipynb"))
    return Inventory(subs, skipped, [])


def _identify(path: Path, rel: str, regex: re.Pattern, names: list[str], only: str | None) -> tuple[Submission | None, str]:
    """The submission one downloaded file is, or None and why it is not graded."""
    parts = PurePosixPath(rel).parts
    folder = next((m for m in (MOODLE_FOLDER_RE.match(p) for p in reversed(parts[:-1])) if m), None)
    moodle = MOODLE_FILE_RE.match(path.name)
    canvas = CANVAS_RE.match(path.name)
    if folder or moodle:
        m = folder or moodle
        plugin, file = m.group("plugin"), path.name if folder else moodle.group("file")
        if plugin != "file":
            return None, f"Moodle {plugin} submission, not a file (only uploaded notebooks are graded)"
        sub = Submission(f"moodle-{m.group('pid')}", "", str(path), platform="moodle", platform_id=m.group("pid"),
                         name=m.group("name"), original=rel)
    elif canvas:
        file = canvas.group("file")
        sub = Submission(f"canvas-{canvas.group('uid')}", "", str(path), platform="canvas", platform_id=canvas.group("uid"),
                         name=canvas.group("name"), late=bool(canvas.group("late")), original=rel,
                         extra={"submission_id": canvas.group("sid")})
    else:
        m = regex.match(path.name)
        if not m:
            return None, "the file name fits no known download layout (Canvas, Moodle, <student>_<assignment>.ipynb)"
        if m.group("assignment") not in names:
            return None, f"assignment {m.group('assignment')!r} is not being graded"
        sub = Submission(_student_id(m.group("student")), m.group("assignment"), str(path), platform="files",
                         name=m.group("student"), original=rel)
        file = path.name
    if not file.lower().endswith(".ipynb"):
        return None, f"not a notebook ({Path(file).suffix or 'no extension'}); {sub.student} handed in this file too"
    if not sub.assignment:
        known = [a for a in sorted(names, key=len, reverse=True) if a in file]
        if known:
            sub.assignment = known[0]
        elif only:
            sub.assignment = only
        else:
            return None, ("cannot tell which assignment this notebook is (its name names none): "
                          "grade the download with --assignment")
    return sub, ""


def _revision(name: str) -> tuple[str, int]:
    """``day1_attention-2.ipynb`` and ``day1_attention (2).ipynb`` -> (``day1_attention.ipynb``, 2)."""
    m = REVISION_RE.match(name)
    if not m:
        return name, 0
    return m.group("base") + m.group("ext"), int(m.group("p") or m.group("n") or 0)


def _resolve(found: list[Submission]) -> tuple[list[Submission], list[tuple[str, str]], list[str]]:
    """One submission per student and assignment: numbered copies of one upload resolve to the highest,
    anything else is a conflict naming every file."""
    groups: dict[tuple[str, str], list[Submission]] = {}
    for s in found:
        groups.setdefault((s.student, s.assignment), []).append(s)
    subs, skipped, conflicts = [], [], []
    for (student, a), group in sorted(groups.items()):
        if len(group) == 1:
            subs.append(group[0])
            continue
        people = {(s.platform, s.platform_id or s.name) for s in group}
        bases = {_upload_name(s)[0] for s in group}
        if len(people) == 1 and len(bases) == 1:
            group.sort(key=lambda s: (_upload_name(s)[1], s.original))
            subs.append(group[-1])
            skipped += [(s.original, f"superseded by {group[-1].original} (a later copy of the same upload)")
                        for s in group[:-1]]
            continue
        files = ", ".join(s.original for s in group)
        who = "; ".join(sorted({f"{s.platform} {s.platform_id or s.name} ({s.name})" for s in group}))
        msg = (f"{len(group)} files map to student {student} for {a}: {files} [{who}]; none of them was graded: "
               "fix the roster or remove all but one file, then grade again")
        conflicts.append(msg)
        skipped += [(s.original, f"conflict: {msg}") for s in group]
    return subs, skipped, conflicts


def _upload_name(s: Submission) -> tuple[str, int]:
    name = Path(s.original).name
    m = (MOODLE_FILE_RE.match(name) if s.platform == "moodle" else None) or (
        CANVAS_RE.match(name) if s.platform == "canvas" else None)
    return _revision(m.group("file") if m else name)


# ---------------------------------------------------------------------------- files
def _files(source: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """The files to identify, and those listed as not graded at once (hidden files, links)."""
    out, skipped = [], []
    for p in source.rglob("*"):
        rel = p.relative_to(source)
        if p.is_symlink():
            skipped.append((rel.as_posix(), "a link, not followed"))
        elif not p.is_file():
            continue
        elif any(part.startswith(".") or part == "__MACOSX" for part in rel.parts):
            skipped.append((rel.as_posix(), "a hidden or system file (not a submission)"))
        else:
            out.append(p)
    return out, skipped


def _extract(zpath: Path, work: Path) -> None:
    """Unpack a download, keeping its folders (Moodle's layout) but never leaving ``work``."""
    with zipfile.ZipFile(zpath) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            parts = [p for p in PurePosixPath(info.filename.replace("\\", "/")).parts if p not in ("", ".", "..", "/")]
            if not parts or parts[-1].startswith("."):
                continue
            dest = work.joinpath(*parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(dest, "wb") as dst:
                shutil.copyfileobj(src, dst, length=1 << 20)


def _student_id(name: str) -> str:
    return STUDENT_RE.sub("-", name).strip("-.") or "unknown"
