"""From the trusted verdicts to test-cell scores: the one step both grading paths share.

:func:`apply_verdicts` scores every graded test cell from the trusted judge, for nbgrader's
``SandboxedExecute`` and for the batch grader alike: a test cell (visible or hidden) of exercise
``X`` gets its points exactly when ``X``'s probe data reached the grader and the judge passed it.
The cell's outputs become the grader's verdict alone (a line of text, or one ``GraderVerdict``
error), so nbgrader's own ``SaveAutoGrades`` (which reads any earlier ``execute_result`` as partial
credit) agrees; every other output is cut down to what is safe to open in a browser
(:func:`autograder.sandbox.outputs.sanitize`).
"""

from __future__ import annotations

from typing import Any

import nbformat

from autograder.sandbox.outputs import sanitize

HIDDEN = "### BEGIN HIDDEN TESTS"


def nbgrader_meta(cell: Any) -> dict:
    """A cell's nbgrader metadata, or {} when it is missing or malformed."""
    md = cell.get("metadata") if isinstance(cell, dict) else None
    nbg = md.get("nbgrader") if isinstance(md, dict) else None
    return nbg if isinstance(nbg, dict) else {}


def exercise_of(grade_id: str, exercises: list[str]) -> str | None:
    """``test_softmax_hidden`` -> ``softmax`` (the longest exercise name that fits)."""
    best = None
    for name in exercises:
        if grade_id == f"test_{name}" or grade_id.startswith(f"test_{name}_"):
            if best is None or len(name) > len(best):
                best = name
    return best


def graded_cells(nb: nbformat.NotebookNode, exercises: list[str]) -> list[dict]:
    out = []
    for index, cell in enumerate(nb.cells):
        meta = nbgrader_meta(cell)
        if cell.cell_type == "code" and meta.get("grade") and meta.get("grade_id"):
            out.append({
                "index": index, "grade_id": meta["grade_id"], "points": float(meta.get("points", 0) or 0),
                "exercise": exercise_of(meta["grade_id"], exercises), "hidden": HIDDEN in cell.source,
            })
    return out


def apply_verdicts(
    nb: nbformat.NotebookNode, sandbox: Any, execution: Any, template: Any = None, student_markdown: bool = False
) -> list[dict]:
    """Score the graded test cells from the trusted verdicts; their outputs become the verdict alone.

    ``student_markdown``: Markdown cells that are not locked came from the student (nbgrader's
    path); their HTML is escaped.
    """
    exercises = list(sandbox.registry.exercises)
    runs = {c.index: c for c in execution.cells}
    cells = graded_cells(nb, exercises)
    records = []
    for info in cells:
        cell = nb.cells[info["index"]]
        ex = info["exercise"]
        in_kernel = not any(o.get("output_type") == "error" for o in cell.get("outputs", []))
        run = runs.get(info["index"])
        if run is not None and run.status not in ("ok", "error"):
            in_kernel = False
        failures = sandbox.verdicts.get(ex) if ex else None
        passed = failures == []
        reason = ""
        if ex is None:
            reason = f"test cell {info['grade_id']} belongs to no registered exercise"
        elif failures is None:
            hidden = [c for c in cells if c["exercise"] == ex and c["hidden"]]
            hrun = runs.get(hidden[0]["index"]) if hidden else None
            if hrun is not None and hrun.status != "ok":
                reason = f"the hidden check for `{ex}` did not complete: {hrun.detail}"
            else:
                reason = f"the hidden check for `{ex}` never reported to the grader (was `check` replaced or the cell rewritten?)"
        elif failures:
            reason = "; ".join(failures)
        cell["outputs"] = [verdict_output(ex or info["grade_id"], passed, failures or [reason])]
        records.append({
            "grade_id": info["grade_id"], "exercise": ex, "hidden": info["hidden"], "max_score": info["points"],
            "score": info["points"] if passed else 0.0, "in_kernel_score": info["points"] if in_kernel else 0.0,
            "passed": passed, "failures": list(failures or []), "reason": reason,
            "cell_status": run.status if run else "not_run",
        })
    sanitize(nb, text_limit=sandbox.limits.output_bytes, student_markdown=student_markdown,
             verdicts={info["index"] for info in cells})
    return records


def verdict_output(name: str, passed: bool, failures: list[str]) -> nbformat.NotebookNode:
    """The only output a graded test cell keeps: the grader's verdict."""
    if passed:
        return nbformat.v4.new_output("stream", name="stdout",
                                      text=f"{name}: passed the checks the grader ran outside your notebook\n")
    head = f"{name}: failed the checks the grader ran outside your notebook"
    lines = [str(m)[:2000] for m in failures[:30]]
    return nbformat.v4.new_output("error", ename="GraderVerdict", evalue=head,
                                  traceback=[head + ":"] + [f"  - {m}" for m in lines])
