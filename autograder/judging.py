"""Reading untrusted probe data on the trusted side: :class:`Judge` and its helpers.

Everything a probe returns was produced in the student's process. A tensor record is believed
only when its data has the shape and dtype it declares; comparisons never broadcast; a judge
pairs the cases it rebuilt with the probe's results one to one (:meth:`Judge.each`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

Plain = Any  # numpy arrays, numbers, str, None, lists and dicts of them
ERROR_KEY = "__error__"
T = TypeVar("T")
# The numpy dtype ``plain`` stores for each torch dtype (half precisions are widened to float32).
DATA_DTYPE = {
    "float16": "float32", "bfloat16": "float32", "float32": "float32", "float64": "float64",
    "complex64": "complex64", "complex128": "complex128", "bool": "bool", "uint8": "uint8", "int8": "int8",
    "int16": "int16", "int32": "int32", "int64": "int64", "uint16": "uint16", "uint32": "uint32", "uint64": "uint64",
}



def dtype_name(dtype: Any) -> str:
    """``torch.float32``, ``np.float32`` or ``"torch.float32"`` -> ``"float32"``."""
    return str(getattr(dtype, "name", None) or dtype).replace("torch.", "")


def tensor_problem(value: Plain) -> str | None:
    """Why a tensor record's data disagrees with what it declares (None: it is consistent)."""
    data, shape, dtype = value.get("data"), value.get("shape"), value.get("dtype")
    if not isinstance(data, np.ndarray):
        return "it holds no array"
    if not isinstance(shape, list) or not all(isinstance(s, int) and not isinstance(s, bool) for s in shape):
        return "its shape is not a list of integers"
    if tuple(data.shape) != tuple(shape):
        return f"its data has shape {tuple(data.shape)}, not the declared {tuple(shape)}"
    if DATA_DTYPE.get(dtype) != data.dtype.name:
        return f"its data has dtype {data.dtype.name}, which a {dtype!r} tensor does not give"
    return None


def is_error(value: Plain) -> bool:
    return isinstance(value, dict) and ERROR_KEY in value


def is_tensor(value: Plain) -> bool:
    """A tensor record whose data matches its declared shape and dtype."""
    return isinstance(value, dict) and value.get("__tensor__") is True and tensor_problem(value) is None


def array(value: Plain) -> np.ndarray:
    """The numpy data of a probed tensor (or array); a malformed tensor record raises."""
    if isinstance(value, dict) and value.get("__tensor__") is True:
        problem = tensor_problem(value)
        if problem:
            raise ValueError(f"malformed tensor record: {problem}")
        return value["data"]
    return np.asarray(value)


def describe(value: Plain) -> str:
    if is_error(value):
        return f"raised {value[ERROR_KEY]}"
    if is_tensor(value):
        return f"a {value['dtype']} tensor of shape {tuple(value['shape'])}"
    if isinstance(value, dict) and value.get("__tensor__") is True:
        return f"a malformed tensor record ({tensor_problem(value)})"
    if isinstance(value, dict) and "__object__" in value:
        return f"an object of type {value['__object__']}"
    if isinstance(value, list):
        return f"a list/tuple of length {len(value)}"
    return f"{type(value).__name__} {value!r}"[:200]


def close(value: Plain, expected: Any, atol: float = 1e-5, rtol: float = 1e-4) -> bool:
    """Quiet, strict closeness (same shape, no broadcasting); to name a typical mistake."""
    if not is_tensor(value):
        return False
    exp = _numpy(expected)
    got = array(value)
    return got.shape == exp.shape and not _mismatch(got, exp, atol, rtol).any()


def _mismatch(got: np.ndarray, exp: np.ndarray, atol: float, rtol: float) -> np.ndarray:
    """Elementwise: where ``got`` is not within tolerance of ``exp`` (equal infinities and NaNs agree)."""
    kind = np.complex128 if np.iscomplexobj(got) or np.iscomplexobj(exp) else np.float64
    got, exp = got.astype(kind), exp.astype(kind)
    same = (got == exp) | (np.isnan(got) & np.isnan(exp))
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(got - exp)
        tol = atol + rtol * np.abs(np.where(np.isinf(exp), 0.0, exp))
        return ~(same | (diff <= tol))


@dataclass
class Judge:
    """Collects failures for one exercise. Each ``expect_*`` returns True when it passed.

    ``source``: the student's code as the grader read it from the notebook (trusted; None when
    unknown, e.g. in-process checks). ``review``: notes for the instructor's review report.
    """

    exercise: str
    failures: list[str] = field(default_factory=list)
    source: str | None = None
    review: list[str] = field(default_factory=list)
    # The hidden cases, for partial credit: each expect_* records its ``what`` as a case label, which
    # passes when every check under it passed (see :meth:`case_counts` and :func:`_counted`).
    labels: dict[str, bool] = field(default_factory=dict)

    def fail(self, message: str) -> bool:
        self.failures.append(message)
        return False

    def case_counts(self) -> dict[str, Any]:
        """The cases this judge checked: ``passed`` and ``failed`` labels, and ``loose``: how many
        failures belong to no case (malformed or missing data, banned operators, ...), which leave
        nothing to give partial credit for. A failure belongs to the case whose label starts it."""
        longest_first = sorted(self.labels, key=len, reverse=True)
        failed = {k for k, ok in self.labels.items() if not ok}
        loose = 0
        for message in self.failures:
            owner = next((k for k in longest_first if message.startswith(k)), None)
            if owner is None:
                loose += 1
            else:
                failed.add(owner)
        return {"passed": [k for k in self.labels if k not in failed], "failed": [k for k in self.labels if k in failed],
                "loose": loose}

    def flag(self, message: str) -> None:
        """Note something for the review report (the score is changed only by ``fail``)."""
        self.review.append(message)

    def expect(self, condition: bool, message: str) -> bool:
        return True if condition else self.fail(message)

    def expect_ok(self, value: Plain, what: str) -> bool:
        if is_error(value):
            return self.fail(f"{what} raised an error: {value[ERROR_KEY]}")
        return True

    def each(self, expected: Sequence[T], received: Plain, what: str) -> list[tuple[T, Plain]]:
        """Pair the cases the judge rebuilt with the probe's results: exactly one result per case.

        A missing, extra or malformed list fails (with a message) and yields no pairs.
        """
        if is_error(received):
            self.fail(f"{what}: the checks could not run: {received[ERROR_KEY]}")
            return []
        if not isinstance(received, list):
            self.fail(f"{what}: expected a list of {len(expected)} results, got {describe(received)}")
            return []
        if len(received) != len(expected):
            self.fail(f"{what}: expected exactly {len(expected)} results, one per case, got {len(received)}")
            return []
        return list(zip(expected, received, strict=True))

    def results(self, data: Plain, key: str, count: int, what: str, records: tuple[type, ...] = ()) -> list | None:
        """The probe's list ``data[key]``, if it holds exactly ``count`` results (one per case the judge
        rebuilt) and, with ``records``, each is one of those types; otherwise one clear failure and None.
        """
        if is_error(data):
            self.fail(f"{what}: the checks could not run: {data[ERROR_KEY]}")
            return None
        if not isinstance(data, dict) or key not in data:
            self.fail(f"{what}: the checks did not report their results (got {describe(data)}); "
                      "run every cell in order and submit again")
            return None
        before = len(self.failures)
        got = [result for _, result in self.each(range(count), data[key], what)]
        if len(self.failures) > before:
            return None
        if records and not all(isinstance(r, records) for r in got):
            self.fail(f"{what}: the results are not the records the checks write "
                      "(did your code stop them, or change the function or class while they ran?)")
            return None
        return got

    def expect_tensor(
        self,
        value: Plain,
        what: str,
        shape: tuple[int, ...] | None = None,
        dtype: str | None = None,
    ) -> bool:
        if not self.expect_ok(value, what):
            return False
        if isinstance(value, dict) and value.get("__tensor__") is True and tensor_problem(value):
            return self.fail(f"{what}: the returned tensor could not be read back ({tensor_problem(value)})")
        if not is_tensor(value):
            return self.fail(f"{what} should be a torch tensor, got {describe(value)}")
        got = tuple(value["shape"])
        if shape is not None and got != tuple(shape):
            return self.fail(f"{what} has shape {got}, expected {tuple(shape)}")
        if dtype is not None and value["dtype"] != dtype_name(dtype):
            return self.fail(f"{what} has dtype {value['dtype']}, expected {dtype_name(dtype)} (keep the input's dtype)")
        return True

    def expect_close(
        self,
        value: Plain,
        expected: Any,
        what: str,
        atol: float = 1e-5,
        rtol: float = 1e-4,
        hint: str = "",
        dtype: Any = None,
    ) -> bool:
        """Compare a probed tensor with a reference (torch tensor or numpy array): same shape, no broadcasting."""
        exp = _numpy(expected)
        if not self.expect_tensor(value, what, shape=exp.shape, dtype=dtype):
            return False
        got = array(value)
        if np.isnan(got).any() and not np.isnan(exp).any():
            return self.fail(f"{what} contains NaN (at {_first_index(np.isnan(got))}); expected finite values{_hint(hint)}")
        bad = _mismatch(got, exp, atol, rtol)
        if bad.any():
            idx = _first_index(bad)
            with np.errstate(invalid="ignore", over="ignore"):
                diff = np.abs(got.astype(np.complex128) - exp.astype(np.complex128))
            return self.fail(
                f"{what} differs from the reference: max |difference| = {np.nanmax(diff):.3g} "
                f"(tolerance atol={atol:g}, rtol={rtol:g}); first at index {idx}: "
                f"got {_fmt(got[idx])}, expected {_fmt(exp[idx])}{_hint(hint)}"
            )
        return True

    def expect_equal(self, value: Plain, expected: Any, what: str, hint: str = "") -> bool:
        """Exact equality of a probed tensor with a reference (ints, bools, indices): same shape."""
        exp = _numpy(expected)
        if not self.expect_tensor(value, what, shape=exp.shape):
            return False
        got = array(value)
        bad = np.asarray(got != exp)
        if bad.shape != exp.shape:
            return self.fail(f"{what} cannot be compared with the reference")
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

    def expect_state(self, got: Plain, expected: Mapping[str, Sequence[int]], what: str, hint: str = "") -> bool:
        """A probed ``{name: shape}`` (see :func:`state_shapes`) must be exactly the contract's."""
        if not self.expect_ok(got, f"building {what}"):
            return False
        want = {k: tuple(v) for k, v in expected.items()}
        if not isinstance(got, dict) or not all(isinstance(v, list) for v in got.values()):
            return self.fail(f"{what}: expected the module's parameter names and shapes, got {describe(got)}")
        have = {k: tuple(v) for k, v in got.items()}
        if have == want:
            return True
        missing, extra = sorted(set(want) - set(have)), sorted(set(have) - set(want))
        wrong = sorted(k for k in set(have) & set(want) if have[k] != want[k])
        parts = [f"missing {', '.join(f'{k} {want[k]}' for k in missing[:6])}"] if missing else []
        parts += [f"unexpected {', '.join(f'{k} {have[k]}' for k in extra[:6])}"] if extra else []
        parts += ["wrong shape " + ", ".join(f"{k} {have[k]} (expected {want[k]})" for k in wrong[:6])] if wrong else []
        return self.fail(f"{what}: the parameters (state_dict) are not the contract's: {'; '.join(parts)}{_hint(hint)}")

    def expect_grads(
        self, got: Plain, expected: Mapping[str, Any], what: str, atol: float = 1e-4, rtol: float = 1e-3
    ) -> bool:
        """Probed gradients (``{name: tensor record or None}``) against reference gradients, name by name."""
        if not self.expect_ok(got, f"backward through {what}"):
            return False
        if not isinstance(got, dict):
            return self.fail(f"{what}: expected gradients by parameter name, got {describe(got)}")
        ok = True
        for name, ref in expected.items():
            if got.get(name) is None:
                ok = self.fail(f"{what}: no gradient reached {name}; keep every step in torch operations "
                               "(no .detach(), .data, .numpy() or torch.no_grad() in forward)")
            else:
                ok = self.expect_close(got[name], ref, f"{what}: gradient with respect to {name}", atol=atol, rtol=rtol) and ok
        return ok


def _counted(method: Any) -> Any:
    """Wrap a ``Judge.expect_*`` so that it records its ``what`` and whether it passed."""
    import functools
    import inspect

    signature = inspect.signature(method)

    @functools.wraps(method)
    def wrapper(self: Judge, *args: Any, **kwargs: Any) -> bool:
        ok = method(self, *args, **kwargs)
        what = str(signature.bind(self, *args, **kwargs).arguments["what"])
        self.labels[what] = self.labels.get(what, True) and bool(ok)
        return ok

    return wrapper


for _name in ("expect_ok", "expect_tensor", "expect_close", "expect_equal", "expect_number", "expect_state", "expect_grads"):
    setattr(Judge, _name, _counted(getattr(Judge, _name)))


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


def _fmt(x: Any) -> str:
    return f"{x:.6g}" if isinstance(x, (float, np.floating)) else repr(x.item() if hasattr(x, "item") else x)


def _hint(hint: str) -> str:
    return f". Hint: {hint}" if hint else ""
