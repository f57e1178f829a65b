"""The batch's exports: the nbgrader gradebook, grades.csv, Gradescope results, summary and review report.

All of them are (re)written from the journal by the coordinator alone, so they are identical
whenever the journal is.
"""

from __future__ import annotations

import csv
import json
import os
import re
from pathlib import Path
from typing import Any

from autograder.grading.exports import write_platform_exports
from autograder.grading.verdicts import template_for
from autograder.sandbox.verdicts import graded_cells


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True, default=str), encoding="utf-8")
    os.replace(tmp, path)


# ---------------------------------------------------------------------------- gradebook
def write_gradebook(results: list[dict], db_url: str, late_policy: str = "none") -> dict[tuple[str, str], dict[str, float]]:
    """Idempotent: set every test cell's auto_score in nbgrader's gradebook (one writer).

    Cells people grade (written answers, tasks) are registered and left to them (formgrader):
    they keep ``needs_manual_grade`` until a person scores them. Returns the manual scores the
    gradebook already holds: (student, assignment) -> {grade_id: score}.
    """
    import warnings

    from nbgrader.api import Gradebook, MissingEntry

    from autograder import registry
    from autograder.grading.verdicts import manual_cells

    warnings.filterwarnings("ignore", message=".*not in session.*")
    manual: dict[tuple[str, str], dict[str, float]] = {}
    with Gradebook(db_url) as gb:
        for a in sorted({r["assignment"] for r in results}):
            try:
                gb.find_assignment(a)
            except MissingEntry:
                gb.update_or_create_assignment(a)
            gb.update_or_create_notebook(a, a)
            template = template_for(a)
            for c in graded_cells(template, list(registry(a).exercises)):
                gb.update_or_create_grade_cell(c["grade_id"], a, a, max_score=c["points"], cell_type="code")
            for m in manual_cells(template):
                if m["kind"] == "task":
                    gb.update_or_create_task_cell(m["grade_id"], a, a, max_score=m["points"], cell_type="markdown")
                else:
                    gb.update_or_create_grade_cell(m["grade_id"], a, a, max_score=m["points"], cell_type=m["cell_type"])
        for r in results:
            gb.update_or_create_student(r["student"])
            try:
                gb.find_submission(r["assignment"], r["student"])
            except MissingEntry:
                gb.add_submission(r["assignment"], r["student"])
            for t in r["tests"]:
                try:
                    grade = gb.find_grade(t["grade_id"], r["assignment"], r["assignment"], r["student"])
                except MissingEntry:
                    continue
                grade.auto_score = float(t["score"])
                grade.needs_manual_grade = False
            scores = {}
            for m in r.get("manual", []):
                try:
                    grade = gb.find_grade(m["grade_id"], r["assignment"], r["assignment"], r["student"])
                except MissingEntry:
                    continue
                if grade.manual_score is not None:
                    scores[m["grade_id"]] = float(grade.manual_score)
                else:
                    grade.needs_manual_grade = True
            manual[(r["student"], r["assignment"])] = scores
            nb = gb.find_submission_notebook(r["assignment"], r["assignment"], r["student"])
            nb.late_submission_penalty = late_penalty(r, sum(scores.values()), late_policy) or None
            gb.db.commit()
    return manual


def late_penalty(r: dict, manual_score: float, policy: str) -> float:
    """Points taken for a submission the platform marked late: nbgrader's "zero" takes everything."""
    if not r.get("late") or policy in ("", "none"):
        return 0.0
    if policy == "zero":
        return round(r["score"] + manual_score, 6)
    raise ValueError(f"late policy {policy!r} is not supported by manage.py grade (use 'zero' or 'none')")


# ---------------------------------------------------------------------------- reports
def write_reports(results: list[dict], out: Path, manual: dict | None = None, late_policy: str = "none",
                  canvas_columns: dict | None = None) -> dict:
    results = sorted(results, key=lambda r: (r["assignment"], r["student"]))
    manual = manual or {}
    for r in results:  # the totals every export uses
        scores = manual.get((r["student"], r["assignment"]), {})
        r["manual_score"] = round(sum(scores.values()), 6)
        r["manual_pending"] = [m["grade_id"] for m in r.get("manual", []) if m["grade_id"] not in scores]
        r["late_penalty"] = late_penalty(r, r["manual_score"], late_policy)
        r["total"] = round(r["score"] + r["manual_score"] - r["late_penalty"], 6)
        r["total_max"] = round(r["max_score"] + r.get("manual_max_score", 0.0), 6)
    with open(out / "grades.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["assignment", "student", "score", "max_score", "in_kernel_score", "status", "flags", "reasons",
                    "name", "platform", "platform_id", "late", "late_penalty", "manual_score", "manual_max_score",
                    "manual_pending", "total", "total_max", "file"])
        for r in results:
            reasons = sorted({t["reason"][:200] for t in r["tests"] if not t["passed"] and t["reason"]})
            w.writerow([r["assignment"], r["student"], f"{r['score']:g}", f"{r['max_score']:g}", f"{r['in_kernel_score']:g}",
                        r["status"], len(r["cheat"]), " | ".join(r["notes"] + r.get("events", []) + reasons)[:2000],
                        r.get("name", ""), r.get("platform", ""), r.get("platform_id", ""), "yes" if r.get("late") else "",
                        f"{r['late_penalty']:g}", f"{r['manual_score']:g}", f"{r.get('manual_max_score', 0):g}",
                        " ".join(f"{g} (waiting for manual grading)" for g in r["manual_pending"]),
                        f"{r['total']:g}", f"{r['total_max']:g}", r.get("original", "")])
    write_platform_exports(results, out, canvas_columns or {})
    for r in results:
        write_json(out / "results" / r["student"] / r["assignment"] / "results.json", gradescope(r))
    summary: dict[str, Any] = {"assignments": {}}
    for a in sorted({r["assignment"] for r in results}):
        rs = [r for r in results if r["assignment"] == a]
        exercises: dict[str, dict] = {}
        for r in rs:
            for t in r["tests"]:
                e = exercises.setdefault(
                    t["grade_id"], {"exercise": t["exercise"], "max_score": t["max_score"], "scores": [], "failures": {}}
                )
                e["scores"].append(t["score"])
                for msg in (t["failures"] or ([t["reason"]] if not t["passed"] and t["reason"] else [])):
                    key = _failure_key(msg)
                    e["failures"][key] = e["failures"].get(key, 0) + 1
        summary["assignments"][a] = {
            "submissions": len(rs),
            "mean_score": round(sum(r["score"] for r in rs) / len(rs), 3),
            "max_score": rs[0]["max_score"],
            "late": sum(1 for r in rs if r.get("late")),
            "waiting_for_manual_grading": sum(1 for r in rs if r.get("manual_pending")),
            "tests": {
                gid: {"exercise": e["exercise"], "max_score": e["max_score"],
                      "mean": round(sum(e["scores"]) / len(e["scores"]), 3),
                      "pass_rate": round(sum(1 for s in e["scores"] if s >= e["max_score"]) / len(e["scores"]), 3),
                      "failures": dict(sorted(e["failures"].items(), key=lambda kv: (-kv[1], kv[0])))}
                for gid, e in exercises.items()
            },
        }
    flagged = [{"student": r["student"], "assignment": r["assignment"], "score": r["score"],
                "in_kernel_score": r["in_kernel_score"], "flags": r["cheat"]} for r in results if r["cheat"]]
    summary["flagged"] = len(flagged)
    write_json(out / "cheat_report.json", flagged)
    md = ["# Cheat report", "", "Submissions whose in-kernel score differs from the trusted score, or whose code "
          "touched forbidden paths or grading internals. Review them by hand.", ""]
    for f in flagged:
        md.append(f"## {f['student']} ({f['assignment']}): trusted {f['score']:g}, in-kernel {f['in_kernel_score']:g}")
        md += [f"* {x}" for x in f["flags"]] + [""]
    (out / "cheat_report.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    md = ["# Per-exercise summary", ""]
    for a, s in summary["assignments"].items():
        md += [f"## {a}: {s['submissions']} submission(s), mean {s['mean_score']:g} / {s['max_score']:g}", "",
               "| test | mean | pass rate | most frequent failures |", "| --- | --- | --- | --- |"]
        for gid, t in s["tests"].items():
            top = "; ".join(f"{n}x {k}" for k, n in list(t["failures"].items())[:3]).replace("|", "/")
            md.append(f"| {gid} | {t['mean']:g} / {t['max_score']:g} | {t['pass_rate']:.0%} | {top} |")
        md.append("")
    (out / "summary.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    write_json(out / "summary.json", summary)
    return summary


def _failure_key(message: str) -> str:
    if " differs from" in message:
        head = message.split(" differs from")[0] + " differs from the reference"
    else:
        head = message.split(": ", 1)[0]
    return re.sub(r"\s+", " ", head)[:160]


def gradescope(r: dict) -> dict:
    """Gradescope's results.json: score, tests with name/score/max_score/status/output."""
    return {
        "score": r["score"],
        "output": " ".join(r["notes"] + r.get("events", [])) or f"{r['status']}",
        "tests": [
            {"name": t["grade_id"], "number": t["exercise"] or "", "score": t["score"], "max_score": t["max_score"],
             "status": "passed" if t["passed"] else "failed",
             "output": "passed" if t["passed"] else "\n".join(t["failures"]) or t["reason"],
             "visibility": "after_published" if t["hidden"] else "visible"}
            for t in r["tests"]
        ],
        "extra_data": {"student": r["student"], "assignment": r["assignment"], "status": r["status"], "sha256": r["sha256"]},
    }
