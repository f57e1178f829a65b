"""What of the course's checks enters the sandbox: the probes and what they reach, nothing else.

:func:`sandbox_sources` builds the sandbox's ``autograder`` package: the day's checks module cut
down by :func:`probe_only_source` (judges become stubs, quiz answers become ``"?"``, only
definitions a probe reaches are kept), every other ``autograder.*`` module those definitions
import cut down to the names they use, and the harness (which holds no answers) whole.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent  # autograder/
WHOLE = ("autograder.harness", "autograder.judging", "autograder.rules")  # copied whole: they hold no answers
KEPT_CALLS = ("quiz", "ban")  # REGISTRY.<call>(...) statements the probes need


def probe_only_source(source: str) -> str:
    """The day's checks module without judges, references or quiz answers.

    Keeps ``REGISTRY = Registry(...)``, ``REGISTRY.ban(...)`` and every top-level definition or
    import reachable from a probe; each ``@REGISTRY.exercise(name, probe)`` judge becomes a stub;
    each ``REGISTRY.quiz(name, answer, explanation)`` loses its answer.
    """
    return _strip(source, None)[0]


def module_file(module: str) -> Path:
    """The source file of an importable module (``autograder.checks.day1_attention`` -> its path)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        raise ImportError(f"no Python source for {module}")
    return Path(spec.origin)


def sandbox_sources(assignment: str, checks_module: str | None = None) -> dict[str, str]:
    """Every ``autograder`` module the sandbox gets: relative path -> source.

    ``checks_module``: where the day's checks live (default ``autograder.checks.<assignment>``);
    inside the sandbox it is always ``autograder/checks/<assignment>.py``.
    """
    root_module = checks_module or f"autograder.checks.{assignment}"
    wanted: dict[str, set[str] | None] = {root_module: None}
    done: dict[str, tuple[set[str] | None, str]] = {}
    while True:
        pending = [m for m, r in wanted.items() if m not in done or done[m][0] != r]
        if not pending:
            break
        for mod in pending:
            roots = None if wanted[mod] is None else set(wanted[mod])
            text, deps = _strip(module_file(mod).read_text(encoding="utf-8"), roots)
            done[mod] = (roots, text)
            for dep, names in deps.items():
                if dep in WHOLE or wanted.get(dep, set()) is None:
                    continue
                wanted[dep] = set(wanted.get(dep) or set()) | names
    out = {f"{m.replace('.', '/')}.py": module_file(m).read_text(encoding="utf-8") for m in WHOLE}
    for mod, (_, text) in done.items():
        parts = f"autograder.checks.{assignment}".split(".") if mod == root_module else mod.split(".")
        for i in range(2, len(parts)):
            out.setdefault("/".join(parts[:i]) + "/__init__.py", "")
        out["/".join(parts) + ".py"] = text
    return out


def _strip(source: str, roots: set[str] | None) -> tuple[str, dict[str, set[str]]]:
    """Keep what ``roots`` reach (None: the module's probes and REGISTRY); return the imports it needs."""
    tree = ast.parse(source)
    is_root = roots is None
    defs: dict[str, list[ast.stmt]] = {}
    for node in tree.body:
        for name in _bound_names(node):
            defs.setdefault(name, []).append(node)
    if roots is None:
        roots = {"REGISTRY"}
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                for dec in node.decorator_list:
                    if _is_exercise_decorator(dec):
                        roots |= _used_names(dec)
            elif _is_registry_call(node, ("ban",)):
                roots |= _used_names(node)
    needed: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        for node in defs.get(name, []):
            if not _is_judge(node) and not isinstance(node, (ast.Import, ast.ImportFrom)):
                todo.extend(_used_names(node) - needed)
    body: list[ast.stmt] = []
    if is_root:
        stub = "def _sandbox_no_judge(data, j):\n    raise RuntimeError('judges do not run in the sandbox')"
        body.append(ast.parse(stub).body[0])
    kept: list[ast.stmt] = []
    for node in tree.body:
        if _is_judge(node):
            if is_root:
                dec = next(d for d in node.decorator_list if _is_exercise_decorator(d))
                body.append(ast.Expr(ast.Call(func=dec, args=[ast.Name("_sandbox_no_judge", ast.Load())], keywords=[])))
        elif _is_registry_call(node, ("quiz",)):
            if is_root:
                call = node.value
                call.args = call.args[:1] + [ast.Constant("?"), ast.Constant("")]
                call.keywords = []
                body.append(node)
        elif _is_registry_call(node, ("ban",)):
            if is_root:
                body.append(node)
                kept.append(node)
        elif isinstance(node, ast.ImportFrom):
            if node.module == "__future__":
                body.append(node)
                continue
            node.names = [a for a in node.names if (a.asname or a.name) in needed]
            if node.names:
                body.append(node)
        elif isinstance(node, ast.Import):
            node.names = [a for a in node.names if (a.asname or a.name).split(".")[0] in needed]
            if node.names:
                body.append(node)
        elif _bound_names(node) & needed:
            body.append(node)
            kept.append(node)
    deps = _autograder_deps(body, kept)
    future = [n for n in body if isinstance(n, ast.ImportFrom) and n.module == "__future__"]
    module = ast.Module(body=future + [n for n in body if n not in future], type_ignores=[])
    ast.fix_missing_locations(module)
    head = "# Generated by autograder.sandbox: what the probes need only (no judges, references or answers).\n"
    return head + ast.unparse(module) + "\n", deps


def _autograder_deps(body: list[ast.stmt], kept: list[ast.stmt]) -> dict[str, set[str]]:
    """Which ``autograder`` modules, and which of their names, the kept code uses."""
    deps: dict[str, set[str]] = {}
    for node in body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("autograder") and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                if importlib.util.find_spec(node.module) is not None and _is_module(sub):
                    local = alias.asname or alias.name
                    attrs = {a.attr for k in kept for a in ast.walk(k)
                             if isinstance(a, ast.Attribute) and isinstance(a.value, ast.Name) and a.value.id == local}
                    deps.setdefault(sub, set()).update(attrs)
                else:
                    deps.setdefault(node.module, set()).add(alias.name)
    return deps


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _bound_names(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    return set()


def _used_names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _is_exercise_decorator(dec: ast.expr) -> bool:
    return (
        isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute) and dec.func.attr == "exercise"
        and isinstance(dec.func.value, ast.Name) and dec.func.value.id == "REGISTRY"
    )


def _is_judge(node: ast.stmt) -> bool:
    return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
        _is_exercise_decorator(d) for d in node.decorator_list
    )


def _is_registry_call(node: ast.stmt, names: tuple[str, ...]) -> bool:
    return (
        isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Attribute) and node.value.func.attr in names
    )
