"""Batch grading: collect submissions, grade each in a sandbox (in parallel), journal, export.

Workers grade one submission at a time and return a plain result; only the coordinator (the
main process) writes the journal, the nbgrader gradebook and the reports, so parallel grading
never contends for the gradebook. Every submission has a deadline: a worker past it is killed
and the submission recorded as timed out, so no submission can hold up the batch. A submission
whose journal entry matches its file's hash and the grader's fingerprint is not graded again:
an interrupted batch resumes where it stopped, and re-running a finished batch rewrites the
same gradebook and reports.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from autograder.grading.collect import DEFAULT_PATTERN, Inventory, Submission, collect, find_submissions
from autograder.grading.feedback import write_feedback
from autograder.grading.pool import Outcome, run_tasks
from autograder.grading.reports import gradescope, write_gradebook, write_json, write_reports
from autograder.grading.settings import GradeBatch, fingerprint, load_settings
from autograder.grading.verdicts import (
    StudentFileError,
    assemble,
    manual_cells,
    partial_credit,
    read_student,
    release_for,
    template_for,
)
from autograder.sandbox import ROOT, Limits, Sandbox, SandboxError, execute_notebook
from autograder.sandbox.fs import remove_tree
from autograder.sandbox.outputs import escape_markdown
from autograder.sandbox.verdicts import apply_verdicts, graded_cells

__all__ = ["DEFAULT_PATTERN", "GradeBatch", "collect", "grade_batch", "grade_one", "gradescope", "load_settings",
           "write_gradebook", "write_reports"]
SUSPICIOUS = {
    "reads or writes outside the notebook's folder": (
        r"gradebook|/submitted/|autograded/|/solutions/|autograder/checks|\.\./|nbgrader_config|/proc/\d|/proc/self/(root|cwd)"
    ),
    "patches Python or library internals": (
        r"\bbuiltins\b|__builtins__|sys\.modules|setattr\(\s*(torch|np|numpy)\b|(torch|np|numpy)\.\w+\s*=[^=]"
    ),
    "hooks the IPython shell": (
        r"input_transformers|ast_transformers|set_custom_exc|events\.register|sys\.excepthook|showtraceback|run_cell"
    ),
    "uses the grader's own modules": r"\bautograder\b|\bREGISTRY\b|judge\.sock",
    "redefines comparison": r"def __eq__|__eq__\s*=",
    "exits or kills the process": r"os\._exit|os\.kill|sys\.exit|\bfork\(|ctypes",
}


def _empty_tests(assignment: str, reason: str) -> list[dict]:
    from autograder import registry

    return [
        {"grade_id": c["grade_id"], "exercise": c["exercise"], "hidden": c["hidden"], "max_score": c["points"],
         "score": 0.0, "in_kernel_score": 0.0, "passed": False, "failures": [], "reason": reason, "cell_status": "not_run"}
        for c in graded_cells(template_for(assignment), list(registry(assignment).exercises))
    ]


# ---------------------------------------------------------------------------- one submission
def grade_one(sub: dict, out: str, limits: dict, workdir: str | None = None, max_file_bytes: int = 64 * 2**20,
              partial: dict[str, list[str]] | None = None, keep_cases: bool = False) -> dict:
    """Grade one submission (runs in a worker process). Returns a JSON-able result.

    ``partial``: exercise -> the hidden-case labels the instructor's solution passes, for the
    exercises scored with partial credit. ``keep_cases``: keep every case label in the result
    (the reference run); otherwise only counts are kept.
    """
    sub = Submission(**sub)
    lim = Limits(**limits)
    out_dir = Path(out)
    started = time.monotonic()
    result: dict[str, Any] = {"student": sub.student, "assignment": sub.assignment, "file": sub.path,
                              "sha256": None, "status": "graded", "notes": [], "events": [], "cheat": []}
    raw = b""
    if sub.path:
        try:
            size = os.path.getsize(sub.path)
            result["sha256"] = _sha(sub.path)
            if size > max_file_bytes:  # never read into memory
                sub.problem = (f"the file is {size / 2**20:.1f} MB, over the limit of {max_file_bytes / 2**20:.0f} MB "
                               "(clear the outputs and hand it in again)")
            else:
                raw = Path(sub.path).read_bytes()
        except OSError as exc:
            sub.problem = f"cannot read the file: {exc}"
    try:
        if sub.problem:
            raise StudentFileError(sub.problem)
        student = read_student(raw, max_file_bytes)
    except StudentFileError as exc:
        result.update(status="invalid", notes=[str(exc)], tests=_empty_tests(sub.assignment, str(exc)),
                      manual=_manual(manual_cells(template_for(sub.assignment)), answered=False))
        return _finish(result, started)
    built = assemble(template_for(sub.assignment), release_for(sub.assignment), student)
    result["notes"] = built.notes
    result["manual"] = _manual(built.manual)
    result["answers"] = _answers(built.nb, release_for(sub.assignment))  # for the similarity report
    for m in built.manual:  # the student's own Markdown: shown as text, never as markup
        if m["cell_type"] != "code":
            built.nb.cells[m["index"]].source = escape_markdown(built.nb.cells[m["index"]].source)
    with Sandbox(sub.assignment, lim, source=built.student_code, workdir=workdir) as sandbox:
        execution = execute_notebook(built.nb, sandbox, built.replayable)
        records = apply_verdicts(built.nb, sandbox, execution)
        cases = json.loads(json.dumps(sandbox.cases))
        if partial:
            partial_credit(records, cases, partial)
        result["cases"] = cases if keep_cases else {
            ex: {"passed": len(c["passed"]), "failed": len(c["failed"]), "loose": c["loose"]} for ex, c in cases.items()}
        result["events"] = execution.events + [f for f in sandbox.faults if not any(f in e for e in execution.events)]
        result["restarts"] = execution.restarts
        result["cheat"] = _cheat_flags(records, sandbox, built.student_code)
        result["cell_status"] = {str(c.index): [c.status, c.detail] for c in execution.cells if c.status != "ok"}
    result["tests"] = records
    if any(r["cell_status"] in ("killed", "crashed", "timeout", "not_run") for r in records) or execution.restarts:
        result["status"] = "graded with faults"
    _finish(result, started)
    dest = out_dir / "autograded" / sub.student / sub.assignment / f"{sub.assignment}.ipynb"
    dest.parent.mkdir(parents=True, exist_ok=True)
    import nbformat

    nbformat.write(built.nb, str(dest))
    write_feedback(built.nb, result, out_dir / "feedback" / sub.student / sub.assignment / f"{sub.assignment}.html")
    return _finish(result, started)


def _answers(nb: Any, release: Any) -> dict[str, str]:
    """grade_id -> the student's code of each answered code solution cell."""
    stubs = {}
    for c in (release.cells if release is not None else []):
        meta = c.metadata.get("nbgrader", {})
        if meta.get("solution"):
            stubs[meta.get("grade_id")] = c.source.strip()
    out = {}
    for c in nb.cells:
        meta = c.metadata.get("nbgrader", {})
        gid = meta.get("grade_id")
        if c.cell_type == "code" and meta.get("solution") and gid and c.source.strip() != stubs.get(gid, "").strip():
            out[gid] = c.source[:100_000]
    return out


def _manual(cells: list[dict], answered: bool | None = None) -> list[dict]:
    """The journal's entries for cells people grade: points, and that they wait for a person."""
    out = []
    for m in cells:
        done = m.get("answered", False) if answered is None else answered
        out.append({"grade_id": m["grade_id"], "kind": m["kind"], "max_score": m["points"], "answered": done,
                    "status": "waiting for manual grading" if done else "not answered (waiting for manual grading)"})
    return out


def _finish(result: dict, started: float) -> dict:
    tests = result["tests"]
    result.setdefault("manual", [])
    result["manual_max_score"] = round(sum(m["max_score"] for m in result["manual"]), 6)
    result["score"] = round(sum(t["score"] for t in tests), 6)
    result["max_score"] = round(sum(t["max_score"] for t in tests), 6)
    result["in_kernel_score"] = round(sum(t["in_kernel_score"] for t in tests), 6)
    result["seconds"] = round(time.monotonic() - started, 2)
    return result


def _cheat_flags(records: list[dict], sandbox: Sandbox, code: str) -> list[str]:
    flags = []
    for r in records:
        if r["hidden"] and r["in_kernel_score"] > r["score"]:
            flags.append(f"{r['grade_id']}: passed inside the kernel but failed the trusted judge "
                         f"({r['in_kernel_score']:g} vs {r['score']:g} points)")
    for ex, n in sorted(sandbox.requests.items()):
        if n > 1:
            flags.append(f"{ex} was reported to the grader {n} times (its hidden test calls `check` once)")
    flags += sandbox.review_notes()
    audit = sandbox.audit()
    if audit:
        flags.append("tried to open paths outside its sandbox: " + ", ".join(audit[:10]))
    for label, rx in SUSPICIOUS.items():
        hits = sorted({m.group(0) for m in re.finditer(rx, code)})
        if hits:
            flags.append(f"code {label}: {', '.join(hits[:6])}")
    return flags


def _failed(sub: Submission, outcome: Outcome) -> dict:
    """The journal entry of a submission the grader could not finish (timeout or crash): 0, with the reason."""
    reason = f"the grader could not finish this submission ({outcome.kind}): {outcome.error.splitlines()[0][:300]}"
    result = {"student": sub.student, "assignment": sub.assignment, "file": sub.path, "sha256": _sha(sub.path),
              "status": "timed out" if outcome.kind == "timeout" else "grader error", "notes": [reason], "events": [],
              "cheat": [], "tests": _empty_tests(sub.assignment, reason),
              "manual": _manual(manual_cells(template_for(sub.assignment)), answered=False)}
    return _finish(result, time.monotonic() - outcome.seconds)


# ---------------------------------------------------------------------------- the batch
def _nbgrader_path() -> None:
    """nbgrader runs `alembic` from PATH: use the one installed next to this Python."""
    bindir = os.path.dirname(sys.executable)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join((bindir, os.environ.get("PATH", "")))


def grade_batch(
    source: Path,
    out: Path,
    assignment: str | None = None,
    jobs: int | None = None,
    limits: Limits | None = None,
    pattern: str | None = None,
    db_url: str | None = None,
    force: bool = False,
    log: Any = print,
    settings: GradeBatch | None = None,
    workdir: Path | None = None,
    roster: Path | None = None,
) -> dict:
    """Grade every submission under ``source`` into ``out`` (see docs/grading.md).

    ``workdir``: where the sandboxes' run folders go (default: the system's temporary folder);
    the batch removes its own folder there when it ends. ``roster``: CSV mapping platform ids to
    nbgrader ids (default: ``settings.roster``).
    """
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    limits = limits or Limits()
    settings = settings or GradeBatch()
    jobs = jobs or settings.jobs or os.cpu_count() or 1
    roster = roster or (Path(settings.roster) if settings.roster else None)
    workdir = Path(tempfile.mkdtemp(prefix="course-batch-", dir=workdir))
    try:
        found = find_submissions(Path(source), assignment, pattern, work=workdir / "download", roster=roster)
        subs = found.submissions
        _write_inventory(found, out, log)
        if not subs:
            raise FileNotFoundError(f"no submissions found in {source} ({len(found.skipped)} file(s) not graded: "
                                    f"see {out / 'not_graded.csv'})")
        assignments = sorted({s.assignment for s in subs})
        for a in assignments:  # loud failure before anything is graded
            with Sandbox(a, limits, workdir=workdir) as sb:
                sb.selftest()
        partial_names = {a: settings.partial_exercises(a, _exercises(a)) for a in assignments}
        prints = {a: fingerprint(a, limits, scoring={"partial": partial_names[a]}) for a in assignments}
        reference = {a: _reference_cases(a, partial_names[a], limits, settings, out, workdir, log) if partial_names[a]
                     else {} for a in assignments}
        journal = out / "journal"
        todo = []
        for s in subs:
            entry = _journal_path(journal, s)
            if not force and entry.exists():
                old = json.loads(entry.read_text())
                if old.get("fingerprint") == prints[s.assignment] and old.get("sha256") == _sha(s.path):
                    continue
            todo.append(s)
        log(f"[grade] {len(subs)} submission(s), {len(subs) - len(todo)} already graded, {len(todo)} to grade "
            f"with {jobs} worker(s)")
        started = time.monotonic()
        done = 0

        def finished(outcome: Outcome) -> None:
            nonlocal done
            s = todo[outcome.index]
            if outcome.kind == "fatal":
                log(f"[grade] {s.student}: the sandbox failed: {outcome.error}")
                return
            if outcome.kind == "error":  # a grader bug: report it, do not journal (a re-run retries)
                log(f"[grade] {s.student}: grader error {outcome.error}")
                return
            res = outcome.result if outcome.kind == "ok" else _failed(s, outcome)
            res["fingerprint"] = prints[s.assignment]
            write_json(_journal_path(journal, s), res)
            done += 1
            log(f"[grade] {s.student}/{s.assignment}: {res['score']:g}/{res['max_score']:g} "
                f"({res['status']}, {res['seconds']:.1f} s)")

        tasks = [(grade_one, (asdict(s), str(out), limits.as_dict(), str(workdir), settings.max_file_bytes,
                              reference[s.assignment] or None)) for s in todo]
        fatal: list[str] = []
        run_tasks(tasks, jobs, settings.deadline(limits),
                  lambda o: fatal.append(o.error) if o.kind == "fatal" else finished(o))
        if fatal:
            raise SandboxError(fatal[0])
        elapsed = time.monotonic() - started
    finally:
        remove_tree(workdir)
    results = []
    for s in subs:
        path = _journal_path(journal, s)
        if path.exists():  # the journal holds the grade; who handed it in comes from this download
            results.append({**json.loads(path.read_text()), **_identity(s)})
    _nbgrader_path()
    manual = write_gradebook(results, db_url or f"sqlite:///{out / 'gradebook.db'}", late_policy=settings.late_policy)
    summary = write_reports(results, out, manual=manual, late_policy=settings.late_policy,
                            canvas_columns=dict(settings.canvas_columns))
    summary["throughput"] = {"graded": done, "seconds": round(elapsed, 1),
                             "per_minute": round(60 * done / elapsed, 2) if done and elapsed else None}
    summary["not_graded"] = len(found.skipped)
    summary["conflicts"] = found.conflicts
    summary["partial_credit"] = partial_names
    if settings.similarity:
        from autograder.grading.similarity import similarity_report

        t0 = time.monotonic()
        try:
            summary["similarity"] = similarity_report(results, out, settings=settings)
        except ImportError as exc:  # grades first: a missing report never costs the batch
            summary["similarity"] = {"error": f"no similarity report: {exc} (pip install copydetect)"}
            log(f"[grade] WARNING: {summary['similarity']['error']}")
        summary["similarity"]["seconds"] = round(time.monotonic() - t0, 2)
    write_json(out / "summary.json", summary)
    for c in found.conflicts:
        log(f"[grade] ERROR: {c}")
    log(f"[grade] done: {len(results)} result(s) in {out}; grades.csv, summary.md, cheat_report.md, not_graded.csv"
        + (", similarity.html" if settings.similarity else ""))
    return summary


def _exercises(assignment: str) -> list[str]:
    from autograder import registry

    return list(registry(assignment).exercises)


def _identity(s: Submission) -> dict:
    return {"student": s.student, "platform": s.platform, "platform_id": s.platform_id, "name": s.name, "email": s.email,
            "late": s.late, "original": s.original, "extra": s.extra}


def _write_inventory(found: Inventory, out: Path, log: Any) -> None:
    """not_graded.csv: every file that is not graded, with the reason."""
    import csv

    with open(out / "not_graded.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "reason"])
        w.writerows(found.skipped)
    for name in found.roster_missing:
        log(f"[grade] roster: no submission from {name}")
    if found.skipped:
        log(f"[grade] {len(found.skipped)} file(s) not graded, each with the reason in {out / 'not_graded.csv'}")


def _reference_cases(assignment: str, exercises: list[str], limits: Limits, settings: GradeBatch, out: Path,
                     workdir: Path, log: Any) -> dict[str, list[str]]:
    """exercise -> the hidden-case labels the instructor's solution passes (the denominators of partial
    credit), from grading ``solutions/<day>/<day>.ipynb`` once per fingerprint in the sandbox."""
    cache = out / "journal" / "_reference" / f"{assignment}.json"
    key = fingerprint(assignment, limits)
    if cache.exists():
        data = json.loads(cache.read_text())
        if data.get("fingerprint") == key:
            return {ex: data["cases"][ex] for ex in exercises if ex in data["cases"]}
    log(f"[grade] partial credit: grading the instructor's solution of {assignment} to count its hidden cases")
    sub = Submission("_reference", assignment, str(ROOT / "solutions" / assignment / f"{assignment}.ipynb"))
    scratch = Path(tempfile.mkdtemp(prefix="reference-", dir=workdir))
    outcomes: list[Outcome] = []
    run_tasks([(grade_one, (asdict(sub), str(scratch), limits.as_dict(), str(workdir), settings.max_file_bytes, None,
                            True))], 1, settings.deadline(limits), outcomes.append)
    if not outcomes or outcomes[0].kind != "ok":
        why = outcomes[0].error if outcomes else "no result"
        log(f"[grade] WARNING: the instructor's solution of {assignment} could not be graded ({why[:300]}); "
            "partial credit is off for this assignment")
        return {}
    res = outcomes[0].result
    passed = {t["exercise"] for t in res["tests"] if t["passed"]} - {t["exercise"] for t in res["tests"] if not t["passed"]}
    cases = {ex: c["passed"] for ex, c in res.get("cases", {}).items() if ex in passed and c["passed"]}
    broken = sorted(set(exercises) - passed)
    if broken:
        log(f"[grade] WARNING: the instructor's solution fails {', '.join(broken)}: no partial credit for them")
    write_json(cache, {"fingerprint": key, "cases": cases, "score": res["score"], "max_score": res["max_score"]})
    return {ex: cases[ex] for ex in exercises if ex in cases}


def _sha(path: str | None) -> str | None:
    """SHA-256 of a file, read in chunks (a huge file is never held in memory)."""
    if not path:
        return None
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()


def _journal_path(journal: Path, s: Submission) -> Path:
    return journal / s.assignment / f"{s.student}.json"
