"""From a student's file to the notebook that is graded, and from verdicts to test-cell scores.

* :func:`assemble` builds the notebook to execute from the instructor's source notebook
  (``solutions/<day>/<day>.ipynb``, trusted): its cells, metadata, test and locked cells, with
  each solution cell's source taken from the student's notebook (matched by nbgrader
  ``grade_id``, then by cell id, then by the name the cell defines), and the student's extra
  code cells kept after the solution cell they followed. Deleted, edited, duplicated or
  skip-tagged test cells, lost metadata and duplicated ids therefore change nothing.
* :func:`~autograder.sandbox.verdicts.apply_verdicts` (shared with nbgrader's path) scores every
  graded test cell from the trusted judge: a test cell
  (visible or hidden) of exercise ``X`` gets its points exactly when ``X``'s probe data reached
  the grader and the judge passed it. The cell's outputs become the grader's verdict alone (a
  line of text, or one ``GraderVerdict`` error), so nbgrader's own ``SaveAutoGrades`` (which
  reads any earlier ``execute_result`` as partial credit) agrees; every other output is cut down
  to what is safe to open in a browser (:func:`autograder.sandbox.outputs.sanitize`).
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.rules import join_cells
from autograder.sandbox.verdicts import HIDDEN, nbgrader_meta

_meta = nbgrader_meta

ROOT = Path(__file__).resolve().parent.parent.parent


class StudentFileError(ValueError):
    """The submission is not a usable notebook (corrupt, not JSON, not a notebook)."""


def template_for(assignment: str) -> nbformat.NotebookNode:
    path = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
    return nbformat.read(path, as_version=4)


def release_for(assignment: str) -> nbformat.NotebookNode | None:
    path = ROOT / "assignments" / assignment / f"{assignment}.ipynb"
    return nbformat.read(path, as_version=4) if path.exists() else None


# ---------------------------------------------------------------------------- reading
def read_student(raw: bytes, max_bytes: int = 64 * 2**20) -> list[dict]:
    """The student's cells as plain dicts; raises StudentFileError when it is no notebook."""
    if len(raw) > max_bytes:
        raise StudentFileError(f"the file is {len(raw) / 2**20:.0f} MB, over the limit of {max_bytes / 2**20:.0f} MB "
                               "(clear the outputs and hand it in again)")
    if not raw.strip():
        raise StudentFileError("the file is empty")
    try:
        doc = json.loads(raw.decode("utf-8", errors="strict"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StudentFileError(f"not a notebook: the file is not valid JSON ({type(exc).__name__})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("cells"), list):
        raise StudentFileError("not a notebook: no list of cells")
    cells = []
    for c in doc["cells"]:
        if not isinstance(c, dict):
            continue
        src = c.get("source", "")
        if isinstance(src, list):
            src = "".join(s for s in src if isinstance(s, str))
        if not isinstance(src, str):
            src = ""
        cells.append({
            "cell_type": c.get("cell_type") if c.get("cell_type") in ("code", "markdown", "raw") else "raw",
            "source": src,
            "grade_id": _meta(c).get("grade_id") if isinstance(_meta(c).get("grade_id"), str) else None,
            "id": c.get("id") if isinstance(c.get("id"), str) else None,
        })
    return cells


def _defines(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        found = re.findall(r"^(?:def|class)\s+([A-Za-z_]\w*)|^([A-Za-z_]\w*)\s*=", source, re.M)
        return {a or b for a, b in found}
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def _norm(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


# ---------------------------------------------------------------------------- assembling
@dataclass
class Assembled:
    nb: nbformat.NotebookNode
    notes: list[str]
    replayable: set[int]
    student_code: str  # every student-written code cell, for the static scan
    manual: list[dict] = field(default_factory=list)  # cells graded by people (manual_cells), with "answered"


def manual_cells(nb: nbformat.NotebookNode) -> list[dict]:
    """Cells people grade: written answers (a graded solution cell that is not autograded code, i.e.
    Markdown) and tasks, each with its points."""
    out = []
    for index, cell in enumerate(nb.cells):
        meta = _meta(cell)
        gid = meta.get("grade_id")
        if not gid or not meta.get("grade") and not meta.get("task"):
            continue
        if meta.get("task") or (meta.get("solution") and meta.get("grade") and cell.cell_type != "code"):
            out.append({"index": index, "grade_id": gid, "points": float(meta.get("points", 0) or 0),
                        "kind": "task" if meta.get("task") else "written answer", "cell_type": cell.cell_type})
    return out


def assemble(template: nbformat.NotebookNode, release: nbformat.NotebookNode | None, student: list[dict]) -> Assembled:
    notes: list[str] = []
    solution_ids = [_meta(c)["grade_id"] for c in template.cells if _meta(c).get("solution") and _meta(c).get("grade_id")]
    fixed_ids = {
        _meta(c)["grade_id"] for c in template.cells
        if (_meta(c).get("grade") or _meta(c).get("locked")) and not _meta(c).get("solution")
    }
    fixed_ids |= {c.get("id") for c in template.cells if not _meta(c).get("solution")}
    fixed_sources = {_norm(c.source) for c in template.cells if not _meta(c).get("solution") and c.source.strip()}
    stubs: dict[str, str] = {}
    if release is not None:
        for c in release.cells:
            if _meta(c).get("solution"):
                stubs[_meta(c).get("grade_id")] = c.source
            elif c.source.strip():
                fixed_sources.add(_norm(c.source))

    manual = manual_cells(template)
    written_ids = {m["grade_id"] for m in manual if m["cell_type"] != "code"}
    solution_ids = [g for g in solution_ids if g not in written_ids]
    code = [(i, c) for i, c in enumerate(student) if c["cell_type"] == "code"]
    written: dict[str, int] = {}  # written answers: grade id -> the student's Markdown/raw cell
    for i, c in enumerate(student):
        claimed = c["grade_id"] or c["id"]
        if c["cell_type"] != "code" and claimed in written_ids and claimed not in written:
            written[claimed] = i
    matched: dict[str, int] = {}  # grade id -> student cell index
    role: dict[int, str] = {}  # student index -> "solution:<gid>" | "fixed" | "extra"
    seen_ids: dict[str, int] = {}
    for i, c in code:
        claimed = c["grade_id"] or c["id"]
        if claimed:
            seen_ids[claimed] = seen_ids.get(claimed, 0) + 1
        if claimed in solution_ids and claimed not in matched:
            matched[claimed] = i
            role[i] = f"solution:{claimed}"
        elif claimed in fixed_ids or _norm(c["source"]) in fixed_sources or HIDDEN in c["source"]:
            role[i] = "fixed"
    dups = sorted(k for k, n in seen_ids.items() if n > 1)
    if dups:
        notes.append(f"duplicated cell ids in the submission: {', '.join(dups)} (the first solution cell of each id is graded; "
                     "later copies run as your own extra cells; test cells always come from the course)")
    for gid in solution_ids:
        if gid in matched:
            continue
        for i, c in code:
            if i not in role and gid in _defines(c["source"]):
                matched[gid] = i
                role[i] = f"solution:{gid}"
                notes.append(f"the solution cell `{gid}` had lost its nbgrader metadata; it was found by the name it defines")
                break
        else:
            notes.append(f"no solution cell for `{gid}` was found in the submission; it counts as not answered")
    extras_after: dict[str | None, list[int]] = {}
    anchor: str | None = None
    for i, c in code:
        r = role.get(i)
        if r and r.startswith("solution:"):
            anchor = r.split(":", 1)[1]
        elif r is None and c["source"].strip():
            role[i] = "extra"
            extras_after.setdefault(anchor, []).append(i)
    n_extra = sum(len(v) for v in extras_after.values())
    if n_extra:
        notes.append(f"{n_extra} extra code cell(s) of yours were kept and run after the solution cell they followed")

    cells = []
    replayable: set[int] = set()
    first_solution_done = False

    def add_extras(key: str | None) -> None:
        for n, i in enumerate(extras_after.get(key, [])):
            cell = nbformat.v4.new_code_cell(student[i]["source"])
            cell["id"] = f"student-extra-{i}"
            cells.append(cell)
            replayable.add(len(cells) - 1)
            del n

    for tc in template.cells:
        meta = _meta(tc)
        gid = meta.get("grade_id")
        if meta.get("solution") and not first_solution_done:
            add_extras(None)
            first_solution_done = True
        new = nbformat.from_dict(json.loads(json.dumps(tc)))
        if new.cell_type == "code":
            new.outputs, new.execution_count = [], None
            new.metadata = {k: v for k, v in new.metadata.items() if k in ("nbgrader",)}
        if meta.get("solution") and gid in written_ids:
            new.source = student[written[gid]]["source"] if gid in written else stubs.get(gid, "YOUR ANSWER HERE")
        elif meta.get("solution"):
            if gid in matched:
                new.source = student[matched[gid]]["source"]
            else:
                new.source = stubs.get(gid, "# YOUR CODE HERE\nraise NotImplementedError()")
        cells.append(new)
        if new.cell_type == "code" and not meta.get("grade"):
            replayable.add(len(cells) - 1)
        if meta.get("solution"):
            add_extras(gid)
    if not first_solution_done:
        add_extras(None)
    nb = nbformat.v4.new_notebook(cells=cells, metadata=json.loads(json.dumps(template.metadata)))
    student_code = join_cells([student[i]["source"] for i, c in code if role.get(i) != "fixed"])
    for m in manual:
        answer = student[written[m["grade_id"]]]["source"] if m["grade_id"] in written else ""
        stub = stubs.get(m["grade_id"], "YOUR ANSWER HERE")
        m["answered"] = m["kind"] == "task" or bool(answer.strip()) and _norm(answer) != _norm(stub)
    return Assembled(nb, notes, replayable, student_code, manual)


# ---------------------------------------------------------------------------- verdicts
# ---------------------------------------------------------------------------- partial credit
def partial_credit(records: list[dict], cases: dict[str, dict], reference: dict[str, list[str]]) -> None:
    """Score failed test cells of the exercises in ``reference`` in proportion to the hidden cases passed (in place).

    ``cases``: the judge's cases of this submission (exercise -> passed/failed labels and ``loose``,
    the failures that belong to no case); ``reference``: exercise -> the case labels the instructor's
    solution passed (the denominator). Only those labels count, so a case the reference does not
    have earns nothing; an exercise with a failure outside every case (no or malformed data, a
    banned operator, a check that did not complete) earns 0. All of it is judged outside the kernel.
    """
    for r in records:
        ex = r["exercise"]
        if r["passed"] or ex not in reference or not reference[ex]:
            continue
        ref = set(reference[ex])
        got = cases.get(ex)
        if got is None or got.get("loose"):
            passed = 0
        else:
            passed = len(ref & set(got.get("passed", [])))
        r["cases"] = [passed, len(ref)]
        r["score"] = round(r["max_score"] * passed / len(ref), 3)
        if passed:
            r["reason"] = f"partial credit: {passed} of {len(ref)} hidden cases passed. {r['reason']}"
