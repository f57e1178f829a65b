"""Grades and feedback the learning platforms take back, keyed by the ids their downloads carry.

Per assignment, under ``OUT/exports/<assignment>/``:

==================================  ==========================================================
``canvas_grades.csv``               Canvas *Grades → Import*: ``Student, ID, SIS User ID, SIS
                                    Login ID, Section, <assignment>``, a "Points Possible" row;
                                    matched on ``ID`` (the Canvas user id of the download)
``canvas_feedback/``                one HTML page per student, ``<sortablename>_<user id>_
                                    <assignment>_feedback.html`` (attach in SpeedGrader)
``moodle_grading_worksheet.csv``    Moodle assignment *Upload grading worksheet* (offline
                                    grading): ``Identifier`` is ``Participant <id>``
``moodle_grades.csv``               Moodle gradebook *Import → CSV file*: ``Email address`` or
                                    ``ID number`` (from the roster) and the grade
``moodle_feedback.zip``             Moodle *Upload multiple feedback files in a zip*: each page
                                    named ``<Full Name>_<participant id>_assignsubmission_file_
                                    <assignment>_feedback.html``, as the download names files
==================================  ==========================================================

Each grade is the total: autograded score, plus the manual scores the gradebook holds, minus the
late penalty. Students the platform does not know (nbgrader layout, generic file names) are in
``grades.csv`` only.
"""

from __future__ import annotations

import csv
import re
import shutil
import zipfile
from pathlib import Path

MOODLE_WORKSHEET = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                    "Grade can be changed", "Last modified (submission)", "Last modified (grade)", "Feedback comments"]


def _fmt(x: float) -> str:
    return f"{x:g}"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "", name) or "student"


def _feedback(out: Path, r: dict) -> Path:
    return out / "feedback" / r["student"] / r["assignment"] / f"{r['assignment']}.html"


def _comment(r: dict) -> str:
    parts = [f"Autograded {r['score']:g} / {r['max_score']:g}"]
    if r.get("manual_pending"):
        parts.append("written answers waiting for manual grading: " + ", ".join(r["manual_pending"]))
    if r.get("late_penalty"):
        parts.append(f"late: {r['late_penalty']:g} points taken (late policy)")
    return "; ".join(parts)


def write_platform_exports(results: list[dict], out: Path, canvas_columns: dict[str, str]) -> dict[str, list[str]]:
    """Write the Canvas and Moodle files for every assignment that has students of that platform."""
    written: dict[str, list[str]] = {}
    for a in sorted({r["assignment"] for r in results}):
        rs = [r for r in results if r["assignment"] == a]
        folder = out / "exports" / a
        canvas = [r for r in rs if r.get("platform") == "canvas"]
        moodle = [r for r in rs if r.get("platform") == "moodle"]
        if canvas:
            written.setdefault(a, []).extend(_canvas(canvas, folder, out, canvas_columns.get(a, a)))
        if moodle:
            written.setdefault(a, []).extend(_moodle(moodle, folder, out, a))
    return written


def _canvas(rs: list[dict], folder: Path, out: Path, column: str) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "canvas_grades.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column])
        w.writerow(["Points Possible", "", "", "", "", _fmt(rs[0]["total_max"])])
        for r in sorted(rs, key=lambda r: int(r["platform_id"])):
            extra = r.get("extra", {})
            w.writerow([r.get("name", ""), r["platform_id"], extra.get("id_number", ""), extra.get("sis_login_id", ""),
                        extra.get("section", ""), _fmt(r["total"])])
    fb = folder / "canvas_feedback"
    if fb.exists():
        shutil.rmtree(fb)
    fb.mkdir()
    for r in rs:
        src = _feedback(out, r)
        if src.exists():
            shutil.copyfile(src, fb / f"{_safe(r.get('name', ''))}_{r['platform_id']}_{r['assignment']}_feedback.html")
    return ["canvas_grades.csv", "canvas_feedback/"]


def _moodle(rs: list[dict], folder: Path, out: Path, assignment: str) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    rs = sorted(rs, key=lambda r: int(r["platform_id"]))
    with open(folder / "moodle_grading_worksheet.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(MOODLE_WORKSHEET)
        for r in rs:
            w.writerow([f"Participant {r['platform_id']}", r.get("name", ""), r.get("email", ""), "Submitted for grading",
                        _fmt(r["total"]), _fmt(r["total_max"]), "Yes", "", "", _comment(r)])
    files = ["moodle_grading_worksheet.csv"]
    known = [r for r in rs if r.get("email") or r.get("extra", {}).get("id_number")]  # from the roster
    if known:
        with open(folder / "moodle_grades.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["Email address", "ID number", "Full name", assignment])
            for r in known:
                w.writerow([r.get("email", ""), r.get("extra", {}).get("id_number", ""), r.get("name", ""), _fmt(r["total"])])
        files.append("moodle_grades.csv")
    with zipfile.ZipFile(folder / "moodle_feedback.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        for r in rs:
            src = _feedback(out, r)
            if src.exists():
                zf.write(src, f"{r.get('name', '')}_{r['platform_id']}_assignsubmission_file_{assignment}_feedback.html")
    files.append("moodle_feedback.zip")
    return files
