"""Per-student feedback HTML: the trusted score table first, then the graded notebook, made safe.

The notebook comes out of :func:`~autograder.grading.verdicts.apply_verdicts` already limited
to text and raster images; here sources and outputs are also cut short and ANSI escapes removed,
so that converting any submission to HTML costs little (nbconvert's ANSI conversion is slow on
long colour-coded output) and no student HTML or script reaches the page.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import nbformat

from autograder.sandbox.outputs import clip, sanitize

SOURCE_LIMIT = 10_000  # characters of one cell's source shown
SOURCE_TOTAL = 60_000  # characters of source shown in all (highlighting costs about 1 ms per 10 characters)
OUTPUT_LIMIT = 10_000  # characters of one output shown
OUTPUT_TOTAL = 100_000  # characters of outputs shown in all


def _esc(text: Any) -> str:
    """Markdown-safe text: no HTML, no emphasis or maths markers."""
    return html.escape(str(text)).replace("`", "&#96;").replace("*", "&#42;").replace("_", "&#95;").replace("$", "&#36;")


MARK_SCHEME = re.compile(r"[^\n]*BEGIN MARK SCHEME.*?END MARK SCHEME[^\n]*\n?", re.S)


def clear_mark_schemes(nb: Any) -> None:
    """Remove the graders' mark schemes (nbgrader's ``=== BEGIN MARK SCHEME ===`` ... ``END``) from every
    cell, as nbgrader's ClearMarkScheme does for its feedback; an unclosed one hides the rest of the cell."""
    for cell in nb.cells:
        if "BEGIN MARK SCHEME" in cell.source:
            source = MARK_SCHEME.sub("", cell.source)
            cell.source = source.split("BEGIN MARK SCHEME")[0].rsplit("\n", 1)[0] if "BEGIN MARK SCHEME" in source else source


def write_feedback(nb: Any, result: dict, dest: Path) -> None:
    """Write the feedback page for one graded submission (``result``: its journal entry)."""
    from nbconvert import HTMLExporter

    fb = nbformat.from_dict(json.loads(json.dumps(nb)))
    clear_mark_schemes(fb)
    sanitize(fb, text_limit=OUTPUT_LIMIT, strip_ansi=True, student_markdown=True)
    source_left, output_left = SOURCE_TOTAL, OUTPUT_TOTAL
    for cell in fb.cells:
        cell.source = clip(cell.source, max(0, min(SOURCE_LIMIT, source_left)))
        source_left -= len(cell.source)
        kept = []
        for out in cell.get("outputs", []):
            size = len(json.dumps(out))
            if size <= output_left:
                kept.append(out)
            output_left -= size
        if len(kept) < len(cell.get("outputs", [])):
            kept.append(nbformat.v4.new_output("stream", name="stdout", text="[more output not shown in the feedback]\n"))
        if cell.cell_type == "code":
            cell.outputs = kept
    lines = [f"# Feedback: {_esc(result['assignment'])}", "",
             f"**Score: {result['score']:g} / {result['max_score']:g}** (checks run by the grader outside your notebook)", ""]
    lines += ["| test | points | result |", "| --- | --- | --- |"]
    for t in result["tests"]:
        verdict = "passed" if t["passed"] else _esc(t["reason"] or "; ".join(t["failures"]))[:600]
        lines.append(f"| {_esc(t['grade_id'])} | {t['score']:g} / {t['max_score']:g} | {verdict} |")
    for m in result.get("manual", []):  # graded by a person later (formgrader)
        lines.append(f"| {_esc(m['grade_id'])} | (up to {m['max_score']:g}) | {_esc(m['status'])} |")
    for note in result["notes"] + result.get("events", []):
        lines.append(f"\n* {_esc(note)}")
    summary = nbformat.v4.new_markdown_cell("\n".join(lines))
    summary.metadata["nbgrader"] = {"locked": True}  # the grader's own cell: kept as written
    fb.cells.insert(0, summary)
    body, _ = HTMLExporter().from_notebook_node(fb)  # already plain: no need for bleach's (slow) pass
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(body, encoding="utf-8")
