"""Batch grading: collect submissions, grade each in a sandbox (in parallel), journal, export.

Workers grade one submission at a time and return a plain result; only the coordinator (the
main process) writes the journal, the nbgrader gradebook and the reports, so parallel grading
never contends for the gradebook. A submission whose journal entry matches its file's hash and
the grader's fingerprint is not graded again: an interrupted batch resumes where it stopped,
and re-running a finished batch rewrites the same gradebook and reports.
"""

from __future__ import annotations

import csv
import hashlib
import html
import json
import os
import re
import shutil
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from autograder import ASSIGNMENTS
from autograder.grading.verdicts import (
    StudentFileError,
    apply_verdicts,
    assemble,
    graded_cells,
    read_student,
    release_for,
    template_for,
)
from autograder.sandbox import ROOT, Limits, Sandbox, SandboxError, execute_notebook

GRADER_VERSION = "1"
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


# ---------------------------------------------------------------------------- collecting
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


# ---------------------------------------------------------------------------- one submission
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
    "redefines comparison": r"def __eq__|__eq__\s*=",
    "exits or kills the process": r"os\._exit|os\.kill|sys\.exit|\bfork\(|ctypes",
}
AUDIT_MARK = "COURSE-AUDIT "


def fingerprint(assignment: str, limits: Limits) -> str:
    h = hashlib.sha256(GRADER_VERSION.encode())
    for p in (ROOT / "autograder" / "checks" / f"{assignment}.py", ROOT / "autograder" / "harness.py",
              ROOT / "autograder" / "sandbox.py", Path(__file__), Path(__file__).with_name("verdicts.py"),
              ROOT / "solutions" / assignment / f"{assignment}.ipynb"):
        h.update(p.read_bytes() if p.exists() else b"-")
    h.update(json.dumps(limits.as_dict(), sort_keys=True).encode())
    return h.hexdigest()[:16]


def _empty_tests(assignment: str, reason: str) -> list[dict]:
    from autograder import registry

    template = template_for(assignment)
    return [
        {"grade_id": c["grade_id"], "exercise": c["exercise"], "hidden": c["hidden"], "max_score": c["points"],
         "score": 0.0, "in_kernel_score": 0.0, "passed": False, "failures": [], "reason": reason, "cell_status": "not_run"}
        for c in graded_cells(template, list(registry(assignment).exercises))
    ]


def grade_one(sub: dict, out: str, limits: dict) -> dict:
    """Grade one submission (runs in a worker process). Returns a JSON-able result."""
    sub = Submission(**sub)
    lim = Limits(**limits)
    out_dir = Path(out)
    started = time.monotonic()
    result: dict[str, Any] = {"student": sub.student, "assignment": sub.assignment, "file": sub.path,
                              "sha256": None, "status": "graded", "notes": [], "events": [], "cheat": []}
    raw = b""
    if sub.path:
        try:
            raw = Path(sub.path).read_bytes()
            result["sha256"] = hashlib.sha256(raw).hexdigest()
        except OSError as exc:
            sub.problem = f"cannot read the file: {exc}"
    try:
        if sub.problem:
            raise StudentFileError(sub.problem)
        student = read_student(raw)
    except StudentFileError as exc:
        result.update(status="invalid", notes=[str(exc)], tests=_empty_tests(sub.assignment, str(exc)))
        return _finish(result, started)
    template = template_for(sub.assignment)
    built = assemble(template, release_for(sub.assignment), student)
    result["notes"] = built.notes
    with Sandbox(sub.assignment, lim) as sandbox:
        execution = execute_notebook(built.nb, sandbox, built.replayable)
        records = apply_verdicts(built.nb, sandbox, execution)
        result["events"] = execution.events + [f for f in sandbox.faults if not any(f in e for e in execution.events)]
        result["restarts"] = execution.restarts
        result["cheat"] = _cheat_flags(records, sandbox, built.student_code, _audit(sandbox))
        result["cell_status"] = {str(c.index): [c.status, c.detail] for c in execution.cells if c.status != "ok"}
    result["tests"] = records
    if any(r["cell_status"] in ("killed", "crashed", "timeout", "not_run") for r in records) or execution.restarts:
        result["status"] = "graded with faults"
    _finish(result, started)
    dest = out_dir / "autograded" / sub.student / sub.assignment / f"{sub.assignment}.ipynb"
    dest.parent.mkdir(parents=True, exist_ok=True)
    import nbformat

    nbformat.write(built.nb, str(dest))
    _feedback(built.nb, result, out_dir / "feedback" / sub.student / sub.assignment / f"{sub.assignment}.html")
    return _finish(result, started)


def _finish(result: dict, started: float) -> dict:
    tests = result["tests"]
    result["score"] = round(sum(t["score"] for t in tests), 6)
    result["max_score"] = round(sum(t["max_score"] for t in tests), 6)
    result["in_kernel_score"] = round(sum(t["in_kernel_score"] for t in tests), 6)
    result["seconds"] = round(time.monotonic() - started, 2)
    return result


def _audit(sandbox: Sandbox) -> list[str]:
    log = sandbox.dir / "audit.log"
    if not log.exists():
        return []
    paths = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith(AUDIT_MARK):
            paths.append(line[len(AUDIT_MARK):][:300])
    return sorted(set(paths))[:50]


def _cheat_flags(records: list[dict], sandbox: Sandbox, code: str, audit: list[str]) -> list[str]:
    flags = []
    for r in records:
        if r["hidden"] and r["in_kernel_score"] > r["score"]:
            flags.append(f"{r['grade_id']}: passed inside the kernel but failed the trusted judge "
                         f"({r['in_kernel_score']:g} vs {r['score']:g} points)")
    for ex, n in sorted(sandbox.requests.items()):
        if n > 1:
            flags.append(f"`check` was called {n} times for {ex} (the hidden tests call it once)")
    flags += [f"malformed probe data: {e}" for e in sandbox.protocol_errors]
    if audit:
        flags.append("tried to open paths outside its sandbox: " + ", ".join(audit[:10]))
    for label, rx in SUSPICIOUS.items():
        hits = sorted({m.group(0) for m in re.finditer(rx, code)})
        if hits:
            flags.append(f"code {label}: {', '.join(hits[:6])}")
    return flags


def _feedback(nb: Any, result: dict, dest: Path) -> None:
    """Per-student HTML: a trusted summary first, then the graded notebook (rich outputs dropped)."""
    import nbformat
    from nbconvert import HTMLExporter

    fb = nbformat.from_dict(json.loads(json.dumps(nb)))
    for cell in fb.cells:
        if cell.cell_type == "code":
            kept = []
            for o in cell.get("outputs", []):
                if o.get("output_type") in ("display_data", "execute_result"):
                    data = {k: v for k, v in o.get("data", {}).items() if k in ("text/plain", "image/png", "image/jpeg")}
                    if not data:
                        continue
                    o["data"] = data
                kept.append(o)
            cell["outputs"] = kept
    esc = lambda s: html.escape(str(s)).replace("`", "&#96;").replace("*", "&#42;").replace("_", "&#95;").replace("$", "&#36;")  # noqa: E731
    lines = [f"# Feedback: {esc(result['assignment'])}", "",
             f"**Score: {result['score']:g} / {result['max_score']:g}** (checks run by the grader outside your notebook)", ""]
    lines += ["| test | points | result |", "| --- | --- | --- |"]
    for t in result["tests"]:
        verdict = "passed" if t["passed"] else esc(t["reason"] or "; ".join(t["failures"]))[:600]
        lines.append(f"| {esc(t['grade_id'])} | {t['score']:g} / {t['max_score']:g} | {verdict} |")
    for note in result["notes"] + result.get("events", []):
        lines.append(f"\n* {esc(note)}")
    fb.cells.insert(0, nbformat.v4.new_markdown_cell("\n".join(lines)))
    body, _ = HTMLExporter().from_notebook_node(fb)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(body, encoding="utf-8")


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
) -> dict:
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    limits = limits or Limits()
    subs = collect(Path(source), assignment, pattern, work=None)
    assignments = sorted({s.assignment for s in subs})
    if not subs:
        raise FileNotFoundError(f"no submissions found in {source}")
    for a in assignments:  # loud failure before anything is graded
        with Sandbox(a, limits) as sb:
            sb.selftest()
    prints = {a: fingerprint(a, limits) for a in assignments}
    journal = out / "journal"
    todo = []
    for s in subs:
        entry = _journal_path(journal, s)
        if not force and entry.exists():
            with_hash = json.loads(entry.read_text())
            if with_hash.get("fingerprint") == prints[s.assignment] and with_hash.get("sha256") == _sha(s.path):
                continue
        todo.append(s)
    log(f"[grade] {len(subs)} submission(s), {len(subs) - len(todo)} already graded, {len(todo)} to grade "
        f"with {jobs or os.cpu_count()} worker(s)")
    started = time.monotonic()
    done = 0
    pending = list(todo)
    while pending:
        ctx = get_context("spawn")
        batch, pending = pending, []
        with ProcessPoolExecutor(max_workers=jobs or os.cpu_count(), mp_context=ctx) as pool:
            futures = {pool.submit(grade_one, asdict(s), str(out), limits.as_dict()): s for s in batch}
            for fut in as_completed(futures):
                s = futures[fut]
                try:
                    res = fut.result()
                except BrokenProcessPool:
                    pending.append(s)
                    continue
                except SandboxError:
                    raise
                except Exception as exc:  # a grader bug: report it, do not journal (a re-run retries)
                    log(f"[grade] {s.student}: grader error {type(exc).__name__}: {exc}")
                    continue
                res["fingerprint"] = prints[s.assignment]
                _write_json(_journal_path(journal, s), res)
                done += 1
                log(f"[grade] {s.student}/{s.assignment}: {res['score']:g}/{res['max_score']:g} "
                    f"({res['status']}, {res['seconds']:.1f} s)")
        if pending and len(pending) == len(batch):
            raise RuntimeError("the worker pool keeps breaking; see the messages above")
    elapsed = time.monotonic() - started
    results = []
    for s in subs:
        entry = _journal_path(journal, s)
        if entry.exists():
            results.append(json.loads(entry.read_text()))
    _nbgrader_path()
    write_gradebook(results, db_url or f"sqlite:///{out / 'gradebook.db'}")
    summary = write_reports(results, out)
    summary["throughput"] = {"graded": done, "seconds": round(elapsed, 1),
                             "per_minute": round(60 * done / elapsed, 2) if done and elapsed else None}
    _write_json(out / "summary.json", summary)
    log(f"[grade] done: {len(results)} result(s) in {out}; grades.csv, summary.md, cheat_report.md")
    return summary


def _sha(path: str | None) -> str | None:
    if not path:
        return None
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def _journal_path(journal: Path, s: Submission) -> Path:
    return journal / s.assignment / f"{s.student}.json"


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True, default=str), encoding="utf-8")
    os.replace(tmp, path)


# ---------------------------------------------------------------------------- gradebook
def write_gradebook(results: list[dict], db_url: str) -> None:
    """Idempotent: set every test cell's auto_score in nbgrader's gradebook (one writer)."""
    import warnings

    from nbgrader.api import Gradebook, MissingEntry

    from autograder import registry

    warnings.filterwarnings("ignore", message=".*not in session.*")
    with Gradebook(db_url) as gb:
        for a in sorted({r["assignment"] for r in results}):
            try:
                gb.find_assignment(a)
            except MissingEntry:
                gb.update_or_create_assignment(a)
            gb.update_or_create_notebook(a, a)
            for c in graded_cells(template_for(a), list(registry(a).exercises)):
                gb.update_or_create_grade_cell(c["grade_id"], a, a, max_score=c["points"], cell_type="code")
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
            gb.db.commit()


# ---------------------------------------------------------------------------- reports
def write_reports(results: list[dict], out: Path) -> dict:
    results = sorted(results, key=lambda r: (r["assignment"], r["student"]))
    with open(out / "grades.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["assignment", "student", "score", "max_score", "in_kernel_score", "status", "flags", "reasons"])
        for r in results:
            reasons = sorted({t["reason"][:200] for t in r["tests"] if not t["passed"] and t["reason"]})
            w.writerow([r["assignment"], r["student"], f"{r['score']:g}", f"{r['max_score']:g}", f"{r['in_kernel_score']:g}",
                        r["status"], len(r["cheat"]), " | ".join(r["notes"] + r.get("events", []) + reasons)[:2000]])
    for r in results:
        _write_json(out / "results" / r["student"] / r["assignment"] / "results.json", gradescope(r))
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
    _write_json(out / "cheat_report.json", flagged)
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
    _write_json(out / "summary.json", summary)
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
