"""What of a student's outputs may reach the instructor: plain text and images, size-capped.

Autograded notebooks and feedback are opened in the instructor's browser (formgrader, the
feedback HTML). Student HTML, JavaScript, SVG, Markdown outputs, widget views and widget state
could run code there, so only ``text/plain`` and raster images survive, and student-written
Markdown and raw cells are neutralised (their HTML escaped).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from typing import Any

import nbformat

SAFE_MIME = ("text/plain", "image/png", "image/jpeg", "image/gif")
ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
TRUNCATED = "\n[output truncated by the grader]\n"


def clip(text: Any, limit: int) -> str:
    if isinstance(text, list):
        text = "".join(t for t in text if isinstance(t, str))
    elif not isinstance(text, str):
        text = str(text)
    return text if len(text) <= limit else text[:limit] + TRUNCATED


def output_size(output: Any) -> int:
    return len(json.dumps(output, default=str))


class OutputBudget:
    """The per-cell and per-notebook output caps, counted as outputs arrive.

    Each output is measured once, when it arrives (:meth:`admit` adds its size to running totals;
    nothing already kept is measured again). A cell whose outputs go past a cap keeps what came
    before and gets one truncation marker: later outputs are dropped without another marker,
    unless the cell cleared its outputs (``clear_output``) since, which also removed the marker.
    """

    def __init__(self, cell_bytes: int, notebook_bytes: int):
        self.cell_bytes, self.notebook_bytes = cell_bytes, notebook_bytes
        self.used: dict[int, int] = {}  # cell index -> bytes kept
        self.total = 0  # bytes kept in the whole notebook
        self.cut: set[int] = set()  # cells past a cap: everything later is dropped
        self.markers: dict[int, Any] = {}  # cell index -> the marker output it shows

    def start_cell(self, cell_index: int) -> None:
        """The cell runs again from empty outputs (its earlier bytes no longer count against it)."""
        self.total -= self.used.pop(cell_index, 0)
        self.cut.discard(cell_index)
        self.markers.pop(cell_index, None)

    def admit(self, cell_index: int, outs: list, size: int) -> bool:
        """True: keep the output (its ``size`` is counted). False: drop it; ``outs`` shows the marker once."""
        used = self.used.get(cell_index, 0)
        if cell_index not in self.cut and used + size <= self.cell_bytes and self.total + size <= self.notebook_bytes:
            self.used[cell_index] = used + size
            self.total += size
            return True
        self.cut.add(cell_index)
        marker = self.markers.get(cell_index)
        if marker is None or not outs or outs[-1] is not marker:  # the marker is always the cell's last output
            marker = nbformat.v4.new_output("stream", name="stderr", text=TRUNCATED)
            outs.append(marker)
            self.markers[cell_index] = marker
        return False


def clean_output(output: Any, text_limit: int, strip_ansi: bool = False) -> Any | None:
    """A safe copy of one output (None: nothing of it may be shown)."""
    kind = output.get("output_type")
    fix = (lambda s: ANSI.sub("", s)) if strip_ansi else (lambda s: s)
    if kind == "stream":
        name = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
        text = fix(clip(output.get("text", ""), 4 * text_limit))  # escapes do not count against the limit
        return nbformat.v4.new_output("stream", name=name, text=clip(text, text_limit))
    if kind == "error":
        tb = output.get("traceback") if isinstance(output.get("traceback"), list) else []
        return nbformat.v4.new_output(
            "error", ename=fix(clip(output.get("ename", ""), 200)), evalue=fix(clip(output.get("evalue", ""), 2000)),
            traceback=[fix(clip(line, 2000)) for line in tb[:60]],
        )
    if kind in ("display_data", "execute_result"):
        data = output.get("data") if isinstance(output.get("data"), dict) else {}
        kept = {k: clip(v, text_limit) if k == "text/plain" else v for k, v in data.items()
                if k in SAFE_MIME and isinstance(v, (str, list))}
        if "text/plain" in kept:
            kept["text/plain"] = fix(kept["text/plain"])
        if not kept:
            return None
        if kind == "execute_result":
            return nbformat.v4.new_output("execute_result", data=kept, execution_count=output.get("execution_count"))
        return nbformat.v4.new_output("display_data", data=kept)
    return None


def escape_markdown(source: str) -> str:
    """Student Markdown without its HTML: tags are shown as text, links cannot run script."""
    return re.sub(r"(?i)(java|vb)script:", r"\1script&#58;", source.replace("<", "&lt;"))


def sanitize(nb: Any, *, text_limit: int = 200_000, strip_ansi: bool = False, student_markdown: bool = False,
             verdicts: Collection[int] = ()) -> Any:
    """Make ``nb`` safe to open in a browser, in place (and return it).

    Code-cell outputs keep plain text and raster images only; widget state and output metadata
    go; the cells in ``verdicts`` (graded cells holding the grader's verdict) are left as they are.
    ``student_markdown``: Markdown and raw cells that are not locked course cells came from
    the student: their HTML is escaped, attachments and raw formats dropped.
    """
    nb.metadata.pop("widgets", None)
    for index, cell in enumerate(nb.cells):
        cell.metadata.pop("widgets", None)
        if index in verdicts:
            continue
        if cell.cell_type == "code":
            cell.outputs = [o for o in (clean_output(o, text_limit, strip_ansi) for o in cell.get("outputs", [])) if o]
            continue
        nbg = cell.metadata.get("nbgrader", {}) if isinstance(cell.metadata.get("nbgrader"), dict) else {}
        if student_markdown and not nbg.get("locked"):
            cell.pop("attachments", None)
            for key in ("format", "raw_mimetype", "jupyter"):
                cell.metadata.pop(key, None)
            cell.source = escape_markdown(clip(cell.source, text_limit))
    return nb
