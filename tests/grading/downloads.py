"""Learning-platform downloads as Canvas and Moodle write them, for the class-grading tests (issue 18).

* Canvas, "Download submissions": one flat zip; each file is
  ``<sortablename>_[LATE_]<user id>_<submission id>_<file as uploaded>`` (the sortable name is
  lower case, letters and digits only, so two Jane Does are both ``doejane``).
* Moodle, "Download submissions" with "Download submissions in folders": one folder per
  participant, ``<Full Name>_<participant id>_assignsubmission_file_/<file>`` (online-text
  submissions in ``..._assignsubmission_onlinetext_``); without folders, the same prefix on each file.
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

DAY = "day1_attention"
# (sortable name, late, user id, submission id, uploaded file name, which notebook)
CANVAS = [
    ("doejane", False, 41001, 900001, f"{DAY}.ipynb", "right"),
    ("doejane", True, 41002, 900002, f"{DAY}.ipynb", "wrong"),  # another Jane Doe, late
    ("smithalex", False, 41003, 900003, f"{DAY}.ipynb", "right"),
    ("smithalex", False, 41003, 900003, f"{DAY}-1.ipynb", "wrong"),  # re-uploaded: the -1 copy is the latest
    ("leekim", False, 41004, 900004, "notes.txt", "text"),  # a stray non-notebook file
]
# (full name, participant id, plugin, file name, which)
MOODLE = [
    ("Jane Doe", 7001, "file", f"{DAY}.ipynb", "right"),
    ("Jane Doe", 7002, "file", f"{DAY}.ipynb", "wrong"),  # same full name, another participant
    ("Ana María Ruiz", 7003, "file", f"{DAY}.ipynb", "right"),
    ("Ana María Ruiz", 7003, "onlinetext", "onlinetext.html", "text"),
]


def canvas_name(name: str, late: bool, uid: int, sid: int, file: str) -> str:
    return f"{name}_{'LATE_' if late else ''}{uid}_{sid}_{file}"


def canvas_zip(dest: Path, notebooks: dict[str, bytes], rows=CANVAS) -> Path:
    with zipfile.ZipFile(dest, "w") as zf:
        for name, late, uid, sid, file, which in rows:
            zf.writestr(canvas_name(name, late, uid, sid, file), notebooks.get(which, b"some text\n"))
    return dest


def moodle_folder_name(name: str, pid: int, plugin: str) -> str:
    return f"{name}_{pid}_assignsubmission_{plugin}_"


def moodle_folders(root: Path, notebooks: dict[str, bytes], rows=MOODLE) -> Path:
    for name, pid, plugin, file, which in rows:
        path = root / moodle_folder_name(name, pid, plugin) / file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(notebooks.get(which, b"<p>some text</p>\n"))
    return root


def moodle_zip(dest: Path, notebooks: dict[str, bytes], rows=MOODLE, folders: bool = True) -> Path:
    with zipfile.ZipFile(dest, "w") as zf:
        for name, pid, plugin, file, which in rows:
            prefix = moodle_folder_name(name, pid, plugin)
            zf.writestr(f"{prefix}/{file}" if folders else f"{prefix}{file}", notebooks.get(which, b"<p>text</p>\n"))
    return dest


def roster(dest: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    with open(dest, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["platform_id", "name", "email", "nbgrader_id"])
        w.writerows(rows)
    return dest
