"""The probe/judge split every hidden check is written in.

A graded exercise has two halves, kept apart so that grading can run them in different
processes (see ``autograder.grading``):

* ``probe(obj)`` runs the student's object on inputs the harness chooses and returns
  **plain data** only: numpy arrays, numbers, strings, ``None`` and lists/dicts of them.
  It never decides pass or fail, so tampering with it gains nothing.
* ``judge(data, j)`` runs in a trusted process, rebuilds every input and recomputes every
  reference itself (torch built-ins, torchvision, or ``autograder.reference``) and records
  failures on ``j``; no failure means the exercise passed.

Probe data comes from the student's process and is untrusted: a judge requires exactly the
cases it rebuilt (:meth:`Judge.each`), a tensor record whose data does not match its declared
shape and dtype is never a match, and no comparison broadcasts. What the probe reports about
itself (call recorders, "modified" flags) may take points away but never earns them.

``check(obj)`` runs both in one process, which is what a hidden-test cell does inside the
notebook. Messages say what is wrong in words a student can act on.

Helpers written once for every day: probe side :func:`plain`, :func:`attempt`, :func:`guarded`,
:class:`Case`, :func:`state_shapes`, :func:`param_grads`, :func:`randn`, :func:`seeded`; judge side
(``autograder/judging.py``, re-exported here) :class:`Judge` (``expect_*``, ``each``, ``results``,
``expect_state``, ``expect_grads``), :func:`close`, :func:`dtype_name`; rules an exercise enforces
(``autograder/rules.py``) through :meth:`Registry.ban`. Module exercises add
``autograder/probes.py`` (seeded weights and inputs, a module run on cases) and its judge-side twin
``autograder/comparisons.py``.
"""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autograder.judging import (  # noqa: F401 - the harness's public API includes the judge side
    DATA_DTYPE,
    ERROR_KEY,
    Judge,
    Plain,
    array,
    close,
    describe,
    dtype_name,
    is_error,
    is_tensor,
    tensor_problem,
)
from autograder.rules import Ban, record_ops, static_uses


# ---------------------------------------------------------------------------- probing
def plain(value: Any) -> Plain:
    """Turn a student's return value into plain data (no student objects survive)."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is always present in this course
        torch = None
    if torch is not None and isinstance(value, torch.Tensor):
        with torch._C.DisableTorchFunctionSubclass():  # a subclass cannot lie about its shape or data
            t = value.detach()
            info = {
                "__tensor__": True,
                "dtype": dtype_name(t.dtype),
                "device": t.device.type,
                "shape": [int(s) for s in t.shape],
                "requires_grad": bool(value.requires_grad),
            }
            if t.is_floating_point() and t.dtype not in (torch.float32, torch.float64):
                t = t.float()
            info["data"] = np.array(t.cpu().numpy(), copy=True)
        return info
    if isinstance(value, np.ndarray):
        return np.array(value, copy=True)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return {"__object__": type(value).__name__}


def error_text(exc: BaseException) -> str:
    """A one-line description of an exception, with the student's line when known."""
    tb = traceback.extract_tb(exc.__traceback__)
    where = ""
    for frame in reversed(tb):
        if frame.filename.startswith("<ipython-input") or "ipykernel" in frame.filename:
            where = f" (line {frame.lineno}: {frame.line})" if frame.line else ""
            break
    return f"{type(exc).__name__}: {exc}{where}"


def attempt(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Plain:
    """Call student code; return its result as plain data, or an error record."""
    try:
        return plain(fn(*args, **kwargs))
    except Exception as exc:  # student code may raise anything
        return {ERROR_KEY: error_text(exc)}


def guarded(fn: Callable[[], Plain]) -> Plain:
    """Run a probe step that itself calls student code in several places."""
    try:
        return fn()
    except Exception as exc:
        return {ERROR_KEY: error_text(exc)}


def state_shapes(module: Any) -> dict[str, list[int]]:
    """``{name: shape}`` of a module's ``state_dict`` (for :meth:`Judge.expect_state`)."""
    return {str(k): [int(s) for s in v.shape] for k, v in module.state_dict().items()}


def param_grads(module: Any) -> dict[str, Plain]:
    """``{name: gradient}`` of every parameter (``None`` where no gradient arrived)."""
    return {str(k): None if p.grad is None else plain(p.grad) for k, p in module.named_parameters()}


@dataclass(frozen=True)
class Case:
    """One input the probe runs and the judge rebuilds: a description and the call's arguments."""

    what: str
    args: tuple = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def run(self, fn: Callable[..., Any]) -> Plain:
        """Call the student's ``fn`` on this case (the probe side)."""
        return attempt(fn, *self.args, **dict(self.kwargs))


# ---------------------------------------------------------------------------- exercises
@dataclass(frozen=True)
class Exercise:
    """One graded exercise: its probe (untrusted side) and judge (trusted side)."""

    name: str
    probe: Callable[[Any], Plain]
    judge: Callable[[Plain, Judge], None]


@dataclass
class Verdict:
    failures: list[str]
    review: list[str]
    cases: dict = field(default_factory=dict)  # Judge.case_counts(): passed and failed case labels (partial credit)


class Registry:
    """The exercises of one assignment, in notebook order."""

    def __init__(self, assignment: str):
        self.assignment = assignment
        self.exercises: dict[str, Exercise] = {}
        self.bans: dict[str, Ban] = {}

    def exercise(self, name: str, probe: Callable[[Any], Plain]) -> Callable:
        """Decorator for a judge function: ``@registry.exercise("softmax", probe_softmax)``."""

        def register(judge: Callable[[Plain, Judge], None]) -> Callable[[Plain, Judge], None]:
            self.exercises[name] = Exercise(name, probe, judge)
            return judge

        return register

    def quiz(self, name: str, answer: str, explanation: str) -> None:
        """A concept question: the student assigns one letter to ``name``."""

        def probe(value: Any) -> Plain:
            return str.__str__(value) if isinstance(value, str) else {"__object__": type(value).__name__}

        def judge(data: Plain, j: Judge) -> None:
            if not isinstance(data, str):
                j.fail(f"{name} should be a string such as 'A', got {describe(data)}")
            elif data.strip().upper() != answer:
                j.fail(f"{name} = {data!r} is not the right answer. {explanation}")

        self.exercises[name] = Exercise(name, probe, judge)

    def ban(self, name: str, what: str, names: Sequence[str], ops: Sequence[str]) -> None:
        """Forbid library functions in an exercise: torch operators ``ops`` seen while the probe runs
        (a dispatch-level recorder) or ``names`` in the student's code (a static scan, trusted side)
        fail it and are listed for review."""
        self.bans[name] = Ban(what, tuple(names), tuple(ops))

    def probe(self, name: str, obj: Any) -> Plain:
        ban = self.bans.get(name)
        if ban is None:
            return guarded(lambda: self.exercises[name].probe(obj))
        data, ops = record_ops(ban.ops, lambda: guarded(lambda: self.exercises[name].probe(obj)))
        return {"__probe__": data, "__ops__": ops}

    def verdict(self, name: str, data: Plain, source: str | None = None) -> Verdict:
        """Judge probe data (trusted side); ``source`` is the student's code read by the grader."""
        j = Judge(name, source=source)
        ban = self.bans.get(name)
        if ban is not None:
            ops: list[str] = []
            if isinstance(data, dict) and set(data) == {"__probe__", "__ops__"}:
                ops = [str(o) for o in data["__ops__"]] if isinstance(data["__ops__"], list) else []
                data = data["__probe__"]
            seen = [f"the operator {', '.join(sorted(set(ops)))} ran while `{name}` was checked"] if ops else []
            written = static_uses(source, ban.names, name)
            seen += [f"your code has {', '.join(written)}"[:300]] if written else []
            if seen:
                message = f"{name} must not use {ban.what}, but it does: {'; '.join(seen)}"
                j.fail(message)
                j.flag(message)
        try:
            self.exercises[name].judge(data, j)
        except Exception as exc:  # malformed probe data must fail, never crash grading
            j.fail(f"could not judge the probed results ({type(exc).__name__}: {str(exc)[:300]})")
        return Verdict(j.failures, j.review, j.case_counts())

    def judge(self, name: str, data: Plain, source: str | None = None) -> list[str]:
        return self.verdict(name, data, source).failures

    def check(self, name: str, obj: Any) -> None:
        """Probe and judge in this process; raise AssertionError listing every failure."""
        failures = self.judge(name, self.probe(name, obj))
        if failures:
            lines = "\n".join(f"  - {m}" for m in failures)
            raise AssertionError(f"{name}: {len(failures)} hidden check(s) failed:\n{lines}")
        print(f"{name}: all hidden checks passed")


# ---------------------------------------------------------------------------- helpers
@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Fix torch's RNG inside the block and restore it afterwards."""
    import torch

    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        yield
    finally:
        torch.random.set_rng_state(state)


def randn(seed: int, *shape: int, dtype: Any = None) -> Any:
    """A reproducible standard-normal tensor; the judge regenerates it from the seed."""
    import torch

    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=dtype or torch.float32)
