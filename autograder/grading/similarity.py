"""Similarity report: solution cells that are near copies of the published solutions or of each other.

The solutions are public (``solutions/<day>/<day>.ipynb``), so a batch compares every student's
solution cells with the reference and with every other student's, using ``copydetect``
(winnowed k-gram fingerprints over code whose names, strings and comments are normalised).
Each cell is first put in one canonical form (parsed and unparsed: layout, parentheses, quotes
and comments disappear), so renamed variables and reformatting do not hide a copy. Code every
student is given (the release's stub: signature, docstring) is boilerplate and never counts.

A pair is *flagged* when either side's copied share of its solution code (all compared cells,
weighted by size) reaches ``GradeBatch.similarity_threshold``, or when one cell of at least
``similarity_min_chars`` normalised characters reaches ``similarity_cell_threshold``. Cells
shorter than copydetect's noise threshold (a one-line answer every student writes alike) are
never compared. The report (``similarity.html``, ``similarity.json``) shows each flagged pair
with the matched passages marked side by side, for a person to judge: it changes no grade.
"""

from __future__ import annotations

import ast
import html
import io
import itertools
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REFERENCE = "reference solution"
ROUGH = 0.5  # below this share of common fingerprints a cell pair is not compared passage by passage
SHOWN = 100  # flagged pairs shown side by side in the HTML (the rest are listed)


@dataclass
class Settings:
    threshold: float = 0.9  # copied share of one side's solution code (all cells)
    cell_threshold: float = 0.9  # copied share of one cell
    min_chars: int = 150  # normalised characters a cell needs to be flagged on its own
    noise: int = 25  # copydetect's k: matches shorter than this (normalised characters) are ignored
    guarantee: int = 30  # matches at least this long are always found (window = guarantee - noise + 1)

    @classmethod
    def from_batch(cls, settings: Any) -> Settings:
        if settings is None:
            return cls()
        return cls(settings.similarity_threshold, settings.similarity_cell_threshold, settings.similarity_min_chars,
                   settings.similarity_noise, settings.similarity_guarantee)


def canonical(code: str) -> str:
    """One layout for the same program: parsed and unparsed (no comments, one quoting, one spacing)."""
    try:
        return ast.unparse(ast.parse(code))
    except (SyntaxError, ValueError, RecursionError):
        return code


def solution_cells(path: Path, strip_markers: bool = True) -> dict[str, str]:
    """grade_id -> source of every code solution cell of a notebook (nbgrader's SOLUTION markers dropped)."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    out = {}
    for c in nb.get("cells", []):
        meta = c.get("metadata", {}).get("nbgrader", {})
        if c.get("cell_type") == "code" and meta.get("solution") and meta.get("grade_id"):
            src = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            if strip_markers:
                src = "".join(line for line in src.splitlines(True) if "### BEGIN SOLUTION" not in line
                              and "### END SOLUTION" not in line)
            out[meta["grade_id"]] = src
    return out


@dataclass
class Doc:
    """One student's (or the reference's) solution cells, fingerprinted."""

    who: str
    cells: dict[str, Any] = field(default_factory=dict)  # grade_id -> copydetect CodeFingerprint
    raw: dict[str, str] = field(default_factory=dict)


def _fingerprint(code: str, s: Settings, boilerplate: list[int]) -> Any:
    from copydetect import CodeFingerprint

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CodeFingerprint("cell.py", s.noise, s.guarantee - s.noise + 1, boilerplate=boilerplate,
                               fp=io.StringIO(canonical(code)))


def build_docs(answers: dict[str, dict[str, str]], reference: dict[str, str] | None, stubs: dict[str, str],
               s: Settings) -> list[Doc]:
    """Fingerprint every cell; ``answers``: who -> grade_id -> code; ``stubs``: the release's cells (boilerplate)."""
    bp = {gid: sorted(_fingerprint(code, s, []).hashes) for gid, code in stubs.items()}
    docs = []
    for who, cells in ([(REFERENCE, reference)] if reference else []) + sorted(answers.items()):
        d = Doc(who)
        for gid, code in cells.items():
            if not code.strip() or (gid in stubs and canonical(code) == canonical(stubs[gid])):
                continue  # not answered
            fp = _fingerprint(code, s, bp.get(gid, []))
            if fp.hashes:
                d.cells[gid], d.raw[gid] = fp, code
        docs.append(d)
    return docs


def compare(a: Doc, b: Doc, s: Settings) -> dict | None:
    """The pair's similarity: per cell, and each side's copied share of its compared code."""
    from copydetect import compare_files

    cells, copied, total = [], [0.0, 0.0], [0.0, 0.0]
    for gid in sorted(set(a.cells) | set(b.cells)):
        fa, fb = a.cells.get(gid), b.cells.get(gid)
        for i, f in enumerate((fa, fb)):
            total[i] += f.token_coverage if f is not None else 0
        if fa is None or fb is None:
            continue
        shared = len(fa.hashes & fb.hashes)
        if not shared:
            continue
        if shared < ROUGH * min(len(fa.hashes), len(fb.hashes)):  # far from any threshold: the rough share will do
            sa, sb, slices = shared / len(fa.hashes), shared / len(fb.hashes), None
        else:
            _, (sa, sb), slices = compare_files(fa, fb)
        copied[0] += sa * fa.token_coverage
        copied[1] += sb * fb.token_coverage
        size = min(len(fa.filtered_code), len(fb.filtered_code))
        cells.append({"cell": gid, "similarity": [round(float(sa), 3), round(float(sb), 3)], "chars": size,
                      "flagged": bool(max(sa, sb) >= s.cell_threshold and size >= s.min_chars), "slices": slices})
    if not cells:
        return None
    share = [round(float(copied[i] / total[i]), 3) if total[i] else 0.0 for i in (0, 1)]
    flagged = bool(max(share) >= s.threshold or any(c["flagged"] for c in cells))
    return {"a": a.who, "b": b.who, "share": share, "flagged": flagged, "cells": cells}


def find_pairs(docs: list[Doc], s: Settings) -> list[dict]:
    """Every pair that shares a fingerprint in some cell, compared; the flagged ones first."""
    index: dict[tuple[str, int], set[int]] = {}
    for n, d in enumerate(docs):
        for gid, fp in d.cells.items():
            for h in fp.hashes:
                index.setdefault((gid, h), set()).add(n)
    candidates = set()
    for members in index.values():
        if 1 < len(members) <= len(docs):
            candidates.update(itertools.combinations(sorted(members), 2))
    pairs = [p for i, j in sorted(candidates) if (p := compare(docs[i], docs[j], s))]
    pairs.sort(key=lambda p: (not p["flagged"], -max(p["share"]), p["a"], p["b"]))
    return pairs


# ---------------------------------------------------------------------------- the batch's report
def similarity_report(results: list[dict], out: Path, settings: Any = None) -> dict:
    """Write ``similarity.html`` and ``similarity.json`` for a graded batch; return the counts."""
    from autograder.grading.verdicts import ROOT

    s = Settings.from_batch(settings)
    summary: dict[str, Any] = {"settings": s.__dict__, "assignments": {}}
    sections, data = [], {}
    for a in sorted({r["assignment"] for r in results}):
        answers = {r["student"]: r.get("answers", {}) for r in results if r["assignment"] == a and r.get("answers")}
        reference = solution_cells(ROOT / "solutions" / a / f"{a}.ipynb")
        release = ROOT / "assignments" / a / f"{a}.ipynb"
        stubs = solution_cells(release, strip_markers=False) if release.exists() else {}
        docs = build_docs(answers, reference, stubs, s)
        pairs = find_pairs(docs, s)
        flagged = [p for p in pairs if p["flagged"]]
        summary["assignments"][a] = {
            "submissions": len(answers), "pairs_compared": len(pairs), "flagged": len(flagged),
            "copies_of_reference": sorted(p["b"] if p["a"] == REFERENCE else p["a"] for p in flagged
                                          if REFERENCE in (p["a"], p["b"])),
        }
        byname = {d.who: d for d in docs}
        sections.append(_section(a, flagged, byname, len(answers), len(pairs)))
        data[a] = [{k: v for k, v in p.items() if k != "cells"} | {"cells": [
            {k: v for k, v in c.items() if k != "slices"} for c in p["cells"]]} for p in flagged]
    (out / "similarity.json").write_text(json.dumps({"summary": summary, "flagged": data}, indent=1), encoding="utf-8")
    (out / "similarity.html").write_text(_page(sections, s), encoding="utf-8")
    return summary


def _marked(fp: Any, slices: Any) -> str:
    from copydetect.utils import highlight_overlap

    if len(slices[0]) == 0:
        return html.escape(fp.raw_code)
    text, _ = highlight_overlap(fp.raw_code, slices, "<mark>", "</mark>", escape_html=True)
    return text


def _section(assignment: str, flagged: list[dict], docs: dict[str, Doc], n: int, compared: int) -> str:
    e = html.escape
    parts = [f"<h2>{e(assignment)}: {len(flagged)} flagged pair(s) among {n} submission(s) "
             f"({compared} pair(s) shared any code)</h2>"]
    if len(flagged) > SHOWN:
        parts.append(f"<p>The {SHOWN} most similar pairs are shown; the others are listed here and in similarity.json:</p><ul>")
        parts += [f"<li>{e(p['a'])} and {e(p['b'])}: {p['share'][0]:.0%} / {p['share'][1]:.0%}</li>" for p in flagged[SHOWN:]]
        parts.append("</ul>")
    for p in flagged[:SHOWN]:
        a, b = docs[p["a"]], docs[p["b"]]
        parts.append(f"<details open><summary><b>{e(p['a'])}</b> and <b>{e(p['b'])}</b>: copied share "
                     f"{p['share'][0]:.0%} / {p['share'][1]:.0%} of their solution code</summary>")
        for c in sorted(p["cells"], key=lambda c: -max(c["similarity"])):
            fa, fb = a.cells[c["cell"]], b.cells[c["cell"]]
            if c["slices"] is None:
                continue  # little in common: not worth a look
            sl_a, sl_b = c["slices"]
            parts.append(
                f"<h4>{e(c['cell'])}: {c['similarity'][0]:.0%} / {c['similarity'][1]:.0%} matched"
                f"{' (flagged)' if c['flagged'] else ''}</h4><table><tr><th>{e(p['a'])}</th><th>{e(p['b'])}</th></tr>"
                f"<tr><td><pre>{_marked(fa, sl_a)}</pre></td><td><pre>{_marked(fb, sl_b)}</pre></td></tr>"
                f"<tr><td><details><summary>as written</summary><pre>{e(a.raw[c['cell']])}</pre></details></td>"
                f"<td><details><summary>as written</summary><pre>{e(b.raw[c['cell']])}</pre></details></td></tr></table>")
        parts.append("</details>")
    return "\n".join(parts)


def _page(sections: list[str], s: Settings) -> str:
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Similarity report</title><style>"
        "body{font-family:sans-serif;margin:2em} table{width:100%;table-layout:fixed;border-collapse:collapse}"
        "td,th{vertical-align:top;border:1px solid #ccc;padding:4px} pre{white-space:pre-wrap;font-size:12px}"
        "mark{background:#ffd54f}</style></head><body><h1>Similarity report</h1>"
        "<p>Solution cells that are near copies of the published reference solutions or of each other "
        "(copydetect fingerprints of the code in one canonical layout, names normalised). Marked passages "
        "match. A flag is a question for a person, not a verdict: short exercises have few ways to be written. "
        f"Thresholds: pair {s.threshold:.0%} of one side's solution code, one cell {s.cell_threshold:.0%} "
        f"(cells of at least {s.min_chars} normalised characters), noise {s.noise}, guarantee {s.guarantee}.</p>"
        + "\n".join(sections) + "</body></html>\n"
    )
