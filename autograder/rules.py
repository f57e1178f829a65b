"""Rules an exercise enforces on how it is solved, e.g. "softmax without torch's own softmax".

Two detectors, both of which can only take points away:

* :func:`record_ops` runs the probe under a ``TorchDispatchMode`` that sees every torch operator
  however it is reached (an alias captured before grading, ``getattr``, a module's forward).
  It runs in the student's process, so a negative proves nothing.
* :func:`static_uses` scans the student's code (every code cell, as the grader read the notebook)
  on the trusted side for the forbidden names and for ways to switch the recorder off.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

CELL_MARK = "\n# ---- next student cell ----\n"
# Names that reach into torch's dispatch machinery: a way to hide operators from the recorder.
ESCAPES = (
    "_python_dispatch", "_disable_current_modes", "_pop_mode", "_push_mode", "_DisableTorchDispatch",
    "_unset_dispatch_mode", "_set_dispatch_mode", "_get_dispatch_mode", "_get_current_dispatch_mode",
    "DisableTorchFunctionSubclass", "TorchDispatchMode", "record_ops",
)


@dataclass(frozen=True)
class Ban:
    """Library functions an exercise must not use: ``names`` (static scan) and aten ``ops`` (recorder)."""

    what: str
    names: tuple[str, ...]
    ops: tuple[str, ...]


def join_cells(sources: Sequence[str]) -> str:
    """The student's code cells as one text that :func:`static_uses` can split again."""
    return CELL_MARK.join(sources)


def record_ops(ops: Sequence[str], fn: Callable[[], Any]) -> tuple[Any, list[str]]:
    """Run ``fn()``; return its result and which of the aten operators ``ops`` ran meanwhile."""
    from torch.utils._python_dispatch import TorchDispatchMode

    wanted, seen = frozenset(ops), set()

    class Recorder(TorchDispatchMode):
        @classmethod
        def _should_skip_dynamo(cls) -> bool:  # no torch._dynamo (3 s to import) around a plain recorder
            return False

        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            name = func.overloadpacket.__name__
            if name in wanted:
                seen.add(name)
            return func(*args, **(kwargs or {}))

    with Recorder():
        result = fn()
    return result, sorted(seen)


def static_uses(source: str | None, names: Sequence[str], own: str = "") -> list[str]:
    """Where the student's code names a forbidden function (``own``: the exercise's own name, allowed)."""
    if not source:
        return []
    found: set[str] = set()
    for cell in source.split(CELL_MARK):
        code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell.splitlines())
        try:
            found |= _ast_uses(ast.parse(code), set(names), own)
        except (SyntaxError, ValueError, RecursionError):
            found |= _regex_uses(code, names)
    return sorted(found)


def _ast_uses(tree: ast.AST, names: set[str], own: str) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in names:
            found.add(f".{node.attr}")
        elif isinstance(node, ast.Name) and node.id in names and node.id != own:
            found.add(node.id)
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name in names:
                    found.add(f"import of {alias.name}")
                elif alias.name == "*" and (node.module or "").split(".")[0] == "torch":
                    found.add(f"from {node.module} import *")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names:
            found.add(f"the string {node.value!r}")
        escape = _escape_name(node)
        if escape:
            found.add(f"{escape} (switches the grader's operator recorder off)")
    return found


def _escape_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute) and node.attr in ESCAPES:
        return node.attr
    if isinstance(node, ast.Name) and node.id in ESCAPES:
        return node.id
    if isinstance(node, ast.ImportFrom):
        hit = [a.name for a in node.names if a.name in ESCAPES] + [p for p in (node.module or "").split(".") if p in ESCAPES]
        return hit[0] if hit else None
    if isinstance(node, ast.Import):
        hit = [p for a in node.names for p in a.name.split(".") if p in ESCAPES]
        return hit[0] if hit else None
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and any(e in node.value for e in ESCAPES):
        return next(e for e in ESCAPES if e in node.value)
    return None


def _regex_uses(code: str, names: Sequence[str]) -> set[str]:
    alternatives = "|".join(re.escape(n) for n in names)
    found = {f".{m}" for m in re.findall(rf"\.\s*({alternatives})\b", code)}
    found |= {f"import of {m}" for m in re.findall(rf"\bimport\b[^\n]*\b({alternatives})\b", code)}
    found |= {f"{e} (switches the grader's operator recorder off)" for e in ESCAPES if e in code}
    return found
