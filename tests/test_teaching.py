"""Lessons teach the idea; the assignment is where the graded code is built. Quizzes test understanding.

* No lesson binds the name of any graded exercise (of any day), and no lesson definition (a
  function, a class or a method) is a near copy of a solution definition. Definitions are compared
  after normalisation: docstrings dropped, every local name (variables, arguments, the function's own
  name) renamed in order of appearance, so renaming variables does not hide a copy. Attribute and
  module names (``.amax``, ``F.linear``) are kept: they carry what the code does.
* Concept questions: the right answer is not the strictly longest option in more than a third of the
  course's questions, and the answers are spread over the letters.

Both read the text sources in ``sources/`` (the notebooks are built from them).
"""

from __future__ import annotations

import ast
import difflib
import io
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "sources"
DAYS = sorted(p.stem for p in (SOURCES / "solutions").glob("day*.py"))
LESSONS = sorted(p.stem for p in (SOURCES / "course").glob("day*.py"))

# A lesson definition this similar to a solution definition is a near copy. Calibrated on the
# lessons of 2026-11 (before they were rewritten): the give-aways scored 0.71 (Day 1's stable softmax
# written with .max instead of .amax) to 1.00 (Day 5's classes); plotting helpers, data loaders and
# training loops scored under 0.6 against every solution.
SIMILARITY_LIMIT = 0.70
# Definitions shorter than this (in normalised tokens) are too small to call a copy
# (``return self.proj(x)``); the name rule still applies to them.
MIN_TOKENS = 30


@dataclass(frozen=True)
class Definition:
    where: str  # "day1_attention: softmax" or "lesson day1_attention: Gates.forward"
    tokens: tuple[str, ...]


def _cells(path: Path, kind: str | None = None) -> list[tuple[str, str]]:
    """(marker, source) of each code cell; ``kind`` keeps only cells whose marker starts so."""
    nb = jupytext.read(path)
    out = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        marker = cell.metadata.get("nb", "")
        if kind is None or marker.startswith(kind):
            out.append((marker, cell.source))
    return out


def _parse(source: str) -> ast.Module | None:
    # notebook magics and shell escapes are not Python
    lines = ["pass" if ln.lstrip().startswith(("%", "!")) else ln for ln in source.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


class _Normalise(ast.NodeTransformer):
    """Drop docstrings; rename local names (not attributes) to v0, v1, ... in order of appearance."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def _rename(self, name: str) -> str:
        return self.names.setdefault(name, f"v{len(self.names)}")

    def _strip_doc(self, node: ast.AST) -> None:
        body = getattr(node, "body", None)
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(
            body[0].value.value, str
        ):
            node.body = body[1:] or [ast.Pass()]

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        self._strip_doc(node)
        node.name = self._rename(node.name)
        node.returns = None  # annotations are style, not substance
        return self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self._strip_doc(node)
        node.name = self._rename(node.name)
        return self.generic_visit(node)

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg = self._rename(node.arg)
        node.annotation = None
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in {"torch", "F", "nn", "np", "math", "self", "super", "range", "len", "int", "float"}:
            return node
        node.id = self._rename(node.id)
        return node


def _tokens(node: ast.AST) -> tuple[str, ...]:
    import copy

    tree = _Normalise().visit(copy.deepcopy(node))
    text = ast.unparse(tree)
    skip = {tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT, tokenize.ENDMARKER}
    return tuple(t.string for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type not in skip)


def _definitions(tree: ast.Module, where: str) -> list[Definition]:
    """Every function, class and method in ``tree``, normalised."""
    found = []

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found.append(Definition(f"{where}: {prefix}{node.name}", _tokens(node)))
                visit(node.body, f"{prefix}{node.name}.")

    visit(tree.body, "")
    return found


def _bound_names(tree: ast.Module) -> set[str]:
    """Names a lesson binds: definitions at any depth, top-level assignments and imports."""
    names = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def graded_names() -> dict[str, str]:
    """Every graded exercise name of the course (solution cells, quizzes excluded) -> its day."""
    names = {}
    for day in DAYS:
        for marker, _ in _cells(SOURCES / "solutions" / f"{day}.py", "solution:"):
            name = marker.split(":")[1]
            if not name.startswith("quiz_"):
                names[name] = day
    return names


def solution_definitions() -> list[Definition]:
    found = []
    for day in DAYS:
        for marker, source in _cells(SOURCES / "solutions" / f"{day}.py", "solution:"):
            tree = _parse(source.replace("### BEGIN SOLUTION", "").replace("### END SOLUTION", ""))
            if tree is not None:
                found += _definitions(tree, f"{day} solution {marker.split(':')[1]}")
    return [d for d in found if len(d.tokens) >= MIN_TOKENS]


def lesson_tree(lesson: str) -> ast.Module:
    sources = [src for _, src in _cells(SOURCES / "course" / f"{lesson}.py")]
    trees = [t for t in (_parse(s) for s in sources) if t is not None]
    return ast.Module(body=[n for t in trees for n in t.body], type_ignores=[])


def similarity(a: Definition, b: Definition) -> float:
    return difflib.SequenceMatcher(None, a.tokens, b.tokens, autojunk=False).ratio()


@pytest.fixture(scope="module")
def solutions() -> list[Definition]:
    return solution_definitions()


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_defines_no_graded_name(lesson):
    graded = graded_names()
    clash = sorted(_bound_names(lesson_tree(lesson)) & set(graded))
    assert not clash, (
        f"the {lesson} lesson defines graded names: "
        + ", ".join(f"{n} (graded in {graded[n]})" for n in clash)
        + ". A lesson teaches with torch's own functions or differently shaped code; the student writes these."
    )


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_holds_no_near_copy_of_a_solution(lesson, solutions):
    copies = []
    for mine in _definitions(lesson_tree(lesson), f"lesson {lesson}"):
        if len(mine.tokens) < MIN_TOKENS:
            continue
        for theirs in solutions:
            ratio = similarity(mine, theirs)
            if ratio >= SIMILARITY_LIMIT:
                copies.append((ratio, mine.where, theirs.where))
    copies.sort(reverse=True)
    assert not copies, f"{len(copies)} near copies of graded solutions in the {lesson} lesson:\n" + "\n".join(
        f"  {ratio:.2f} similar: {a}  ~  {b}" for ratio, a, b in copies
    )


def test_similarity_catches_a_renamed_copy_and_spares_different_code():
    solution = _definitions(ast.parse(
        "def softmax(x, dim=-1):\n    shifted = x - x.amax(dim=dim, keepdim=True)\n"
        "    e = shifted.exp()\n    return e / e.sum(dim=dim, keepdim=True)\n"), "s")[0]
    renamed = _definitions(ast.parse(
        "def stable(z, axis=-1):\n    '''doc'''\n    m = z - z.amax(dim=axis, keepdim=True)\n"
        "    w = m.exp()\n    return w / w.sum(dim=axis, keepdim=True)\n"), "l")[0]
    loop = _definitions(ast.parse(
        "def one_query(q, keys):\n    scores = [float(q @ k) for k in keys]\n    top = max(scores)\n"
        "    w = [math.exp(s - top) for s in scores]\n    return [x / sum(w) for x in w]\n"), "l")[0]
    assert similarity(renamed, solution) == 1.0
    assert similarity(loop, solution) < SIMILARITY_LIMIT


# ---------------------------------------------------------------------------- concept questions
OPTION = re.compile(r"^\s*[*-]\s+\**([A-F])[.)]\**\s+(.+?)\s*$")


@dataclass(frozen=True)
class Quiz:
    where: str
    options: dict[str, str]
    answer: str


def quizzes() -> list[Quiz]:
    """Each quiz: the options listed in the markdown before its solution cell, the letter it assigns."""
    found = []
    for day in DAYS:
        nb = jupytext.read(SOURCES / "solutions" / f"{day}.py")
        options: dict[str, str] = {}
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                listed = {m.group(1): m.group(2) for m in map(OPTION.match, cell.source.splitlines()) if m}
                if listed:
                    options = listed
                continue
            marker = cell.metadata.get("nb", "")
            if marker.startswith("solution:quiz_"):
                answer = re.search(r"""=\s*["']([A-F])["']""", cell.source)
                assert answer, f"{day} {marker}: no letter assigned"
                found.append(Quiz(f"{day} {marker.split(':')[1]}", options, answer.group(1)))
                options = {}
    return found


def _plain_length(text: str) -> int:
    """Characters a reader sees: no markdown emphasis or code ticks, LaTeX commands as one symbol."""
    text = re.sub(r"\\[a-zA-Z]+", "x", text)
    return len(re.sub(r"[*_`$\\{}]", "", text))


def test_every_quiz_has_its_options_and_answer():
    for quiz in quizzes():
        assert len(quiz.options) >= 3, f"{quiz.where}: found options {sorted(quiz.options)}; list them as '* A. ...'"
        assert quiz.answer in quiz.options, f"{quiz.where}: the answer {quiz.answer} is not one of its options"


def test_right_answer_is_rarely_the_longest_option():
    found = quizzes()
    longest = []
    for quiz in found:
        lengths = {k: _plain_length(v) for k, v in quiz.options.items()}
        right = lengths[quiz.answer]
        if all(right > n for k, n in lengths.items() if k != quiz.answer):
            longest.append(quiz.where)
    assert len(longest) * 3 <= len(found), (
        f"the right answer is the strictly longest option in {len(longest)} of {len(found)} questions "
        f"(at most a third allowed): {', '.join(longest)}. Make distractors real misconceptions of similar length."
    )


def test_answers_are_spread_over_the_letters():
    found = quizzes()
    counts = {}
    for quiz in found:
        counts[quiz.answer] = counts.get(quiz.answer, 0) + 1
    most = max(counts.values())
    assert most <= 0.4 * len(found), f"answers by letter {dict(sorted(counts.items()))}: one letter is right too often"
    assert len(counts) >= 4, f"answers by letter {dict(sorted(counts.items()))}: use every letter A-D"
