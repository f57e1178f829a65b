"""The probe/judge split every hidden check is written in.

A graded exercise has two halves, kept apart so that grading can run them in different
processes (see ``autograder.grading``):

* ``probe(obj)`` runs the student's object on inputs the harness chooses and returns
  **plain data** only: numpy arrays, numbers, strings, ``None`` and lists/dicts of them.
  It never decides pass or fail, so tampering with it gains nothing.
* ``judge(data)`` runs in a trusted process, recomputes every reference itself (torch
  built-ins, torchvision, or ``autograder.reference``) and returns a list of failure
  messages; an empty list means the exercise passed.

``check(obj)`` runs both in one process, which is what a hidden-test cell does inside the
notebook. Messages say what is wrong in words a student can act on.
"""

from __future__ import annotations

import contextlib
import math
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Plain = Any  # numpy arrays, numbers, str, None, lists and dicts of them
ERROR_KEY = "__error__"


# ---------------------------------------------------------------------------- probing
def plain(value: Any) -> Plain:
    """Turn a student's return value into plain data (no student objects survive)."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is always present in this course
        torch = None
    if torch is not None and isinstance(value, torch.Tensor):
        t = value.detach()
        info = {
            "__tensor__": True,
            "dtype": str(t.dtype).replace("torch.", ""),
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


# ---------------------------------------------------------------------------- judging
def is_error(value: Plain) -> bool:
    return isinstance(value, dict) and ERROR_KEY in value


def is_tensor(value: Plain) -> bool:
    return isinstance(value, dict) and value.get("__tensor__") is True


def array(value: Plain) -> np.ndarray:
    """The numpy data of a probed tensor (or array)."""
    return value["data"] if is_tensor(value) else np.asarray(value)


def describe(value: Plain) -> str:
    if is_error(value):
        return f"raised {value[ERROR_KEY]}"
    if is_tensor(value):
        return f"a {value['dtype']} tensor of shape {tuple(value['shape'])}"
    if isinstance(value, dict) and "__object__" in value:
        return f"an object of type {value['__object__']}"
    if isinstance(value, list):
        return f"a list/tuple of length {len(value)}"
    return f"{type(value).__name__} {value!r}"[:200]


@dataclass
class Judge:
    """Collects failures for one exercise. Each ``expect_*`` returns True when it passed."""

    exercise: str
    failures: list[str] = field(default_factory=list)

    def fail(self, message: str) -> bool:
        self.failures.append(message)
        return False

    def expect(self, condition: bool, message: str) -> bool:
        return True if condition else self.fail(message)

    def expect_ok(self, value: Plain, what: str) -> bool:
        if is_error(value):
            return self.fail(f"{what} raised an error: {value[ERROR_KEY]}")
        return True

    def expect_tensor(
        self,
        value: Plain,
        what: str,
        shape: tuple[int, ...] | None = None,
        dtype: str | None = None,
    ) -> bool:
        if not self.expect_ok(value, what):
            return False
        if not is_tensor(value):
            return self.fail(f"{what} should be a torch tensor, got {describe(value)}")
        got = tuple(value["shape"])
        if shape is not None and got != tuple(shape):
            return self.fail(f"{what} has shape {got}, expected {tuple(shape)}")
        if dtype is not None and value["dtype"] != dtype:
            return self.fail(f"{what} has dtype {value['dtype']}, expected {dtype} (keep the input's dtype)")
        return True

    def expect_close(
        self,
        value: Plain,
        expected: Any,
        what: str,
        atol: float = 1e-5,
        rtol: float = 1e-4,
        hint: str = "",
    ) -> bool:
        """Compare a probed tensor with a reference (torch tensor or numpy array)."""
        exp = _numpy(expected)
        if not self.expect_tensor(value, what, shape=exp.shape):
            return False
        got = array(value).astype(np.float64)
        exp = exp.astype(np.float64)
        if np.isnan(got).any() and not np.isnan(exp).any():
            return self.fail(f"{what} contains NaN (at {_first_index(np.isnan(got))}); expected finite values{_hint(hint)}")
        both_inf = np.isinf(got) & np.isinf(exp) & (np.sign(got) == np.sign(exp))
        diff = np.where(both_inf, 0.0, np.abs(got - exp))
        tol = atol + rtol * np.abs(np.where(np.isinf(exp), 0.0, exp))
        bad = ~(diff <= tol)
        if bad.any():
            idx = _first_index(bad)
            return self.fail(
                f"{what} differs from the reference: max |difference| = {np.nanmax(diff):.3g} "
                f"(tolerance atol={atol:g}, rtol={rtol:g}); first at index {idx}: "
                f"got {got[idx]:.6g}, expected {exp[idx]:.6g}{_hint(hint)}"
            )
        return True

    def expect_equal(self, value: Plain, expected: Any, what: str, hint: str = "") -> bool:
        """Exact equality of a probed tensor with a reference (ints, bools, indices)."""
        exp = _numpy(expected)
        if not self.expect_tensor(value, what, shape=exp.shape):
            return False
        got = array(value)
        bad = got != exp
        if np.any(bad):
            idx = _first_index(bad)
            return self.fail(
                f"{what} differs from the reference in {int(np.sum(bad))} of {bad.size} entries; "
                f"first at index {idx}: got {got[idx]!r}, expected {exp[idx]!r}{_hint(hint)}"
            )
        return True

    def expect_number(self, value: Plain, expected: float, what: str, rel: float = 1e-9) -> bool:
        if not self.expect_ok(value, what):
            return False
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return self.fail(f"{what} should be a number, got {describe(value)}")
        if not math.isclose(float(value), float(expected), rel_tol=rel, abs_tol=1e-12):
            return self.fail(f"{what} is {value!r}, expected {expected!r}")
        return True


def _numpy(x: Any) -> np.ndarray:
    try:
        import torch

        if isinstance(x, torch.Tensor):
            x = x.detach()
            if x.is_floating_point() and x.dtype not in (torch.float32, torch.float64):
                x = x.float()
            return x.cpu().numpy()
    except ImportError:  # pragma: no cover
        pass
    return np.asarray(x)


def _first_index(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0]) if mask.ndim else ()


def _hint(hint: str) -> str:
    return f". Hint: {hint}" if hint else ""


# ---------------------------------------------------------------------------- exercises
@dataclass(frozen=True)
class Exercise:
    """One graded exercise: its probe (untrusted side) and judge (trusted side)."""

    name: str
    probe: Callable[[Any], Plain]
    judge: Callable[[Plain, Judge], None]


class Registry:
    """The exercises of one assignment, in notebook order."""

    def __init__(self, assignment: str):
        self.assignment = assignment
        self.exercises: dict[str, Exercise] = {}

    def exercise(self, name: str, probe: Callable[[Any], Plain]) -> Callable:
        """Decorator for a judge function: ``@registry.exercise("softmax", probe_softmax)``."""

        def register(judge: Callable[[Plain, Judge], None]) -> Callable[[Plain, Judge], None]:
            self.exercises[name] = Exercise(name, probe, judge)
            return judge

        return register

    def quiz(self, name: str, answer: str, explanation: str) -> None:
        """A concept question: the student assigns one letter to ``name``."""

        def probe(value: Any) -> Plain:
            return value if isinstance(value, str) else {"__object__": type(value).__name__}

        def judge(data: Plain, j: Judge) -> None:
            if not isinstance(data, str):
                j.fail(f"{name} should be a string such as 'A', got {describe(data)}")
            elif data.strip().upper() != answer:
                j.fail(f"{name} = {data!r} is not the right answer. {explanation}")

        self.exercises[name] = Exercise(name, probe, judge)

    def judge(self, name: str, data: Plain) -> list[str]:
        j = Judge(name)
        try:
            self.exercises[name].judge(data, j)
        except Exception as exc:  # malformed probe data must fail, never crash grading
            j.fail(f"could not judge the probed results ({type(exc).__name__}: {exc})")
        return j.failures

    def probe(self, name: str, obj: Any) -> Plain:
        return guarded(lambda: self.exercises[name].probe(obj))

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
