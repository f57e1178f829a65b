"""Judge-side comparisons for ``nn.Module`` exercises (the trusted side of :mod:`autograder.probes`).

A judge rebuilds the seeded weights and inputs the probe used, computes the reference itself
(``autograder.reference`` or torch) and hands it to these helpers, which compare the probe's
plain data with it: state_dict structure, outputs case by case (naming a typical mistake the
output matches), gradients. Nothing here knows an answer; it only compares.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from autograder.harness import randn
from autograder.judging import ERROR_KEY, Judge, Plain, close, describe, dtype_name, is_error, is_tensor
from autograder.probes import Shapes

MAX_FAILURES = 8  # enough to see a pattern; more would bury the first, most telling message


def hint_suffix(hint: str) -> str:
    """``". Hint: <hint>"`` to end a failure message with, or nothing."""
    return f". Hint: {hint}" if hint else ""


def input_label(x: torch.Tensor) -> str:
    """How a failure names an input: ``a float32 input of shape (2, 8, 4, 4)``."""
    return f"a {dtype_name(x.dtype)} input of shape {tuple(x.shape)}"


def expect_count(j: Judge, items: Plain, n: int, what: str) -> bool:
    """The probe must report exactly ``n`` results (one per case the judge rebuilt), as a list."""
    if not isinstance(items, list):
        return j.fail(f"{what}: expected a list of {n} results, one per case, got {describe(items)}")
    if len(items) != n:
        return j.fail(f"{what}: expected results for exactly {n} cases, got {len(items)}; every case must be run and reported")
    return True


def too_many(j: Judge, what: str) -> bool:
    """After MAX_FAILURES failures, say that further checks were skipped (the exercise has failed anyway)."""
    if len(j.failures) < MAX_FAILURES:
        return False
    j.fail(f"{what}: further checks were skipped after {len(j.failures)} failures; fix the problems above first")
    return True


def field(j: Judge, data: Plain, key: str, what: str) -> Plain:
    """``data[key]`` of a probe's dict, or None after a clear failure."""
    if not isinstance(data, dict) or key not in data:
        j.fail(f"{what}: the probe's report has no '{key}' entry (got {describe(data)})")
        return None
    return data[key]


def reference_grads(
    fn: Callable[..., torch.Tensor], state: dict[str, torch.Tensor], x: torch.Tensor, seed: int
) -> dict[str, torch.Tensor]:
    """Gradients of ``sum(fn(x, state) * w)`` for every weight and the input (the judge's twin of
    :func:`autograder.probes.input_grads`)."""
    params = {k: v.clone().requires_grad_(True) for k, v in state.items()}
    x = x.clone().requires_grad_(True)
    out = fn(x, params)
    (out * randn(seed, *out.shape)).sum().backward()
    grads = {k: p.grad for k, p in params.items()}
    grads["__input__"] = x.grad
    return grads


def judge_structure(j: Judge, data: Plain, shapes: Shapes, what: str, hint: str = "") -> bool:
    """state_dict keys and shapes (``data["keys"]``) must be exactly the contract's; the seeded weights must load."""
    keys = field(j, data, "keys", what)
    if not isinstance(keys, dict):
        return keys is not None and j.fail(f"{what}: could not read the module's state_dict keys")
    got = {k: tuple(v) if isinstance(v, list) else v for k, v in keys.items()}
    want = {k: tuple(v) for k, v in shapes.items()}
    if got != want:
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        wrong = sorted(k for k in set(got) & set(want) if got[k] != want[k])
        parts = []
        if missing:
            parts.append(f"missing {', '.join(f'{k} {want[k]}' for k in missing)}")
        if extra:
            parts.append(f"unexpected {', '.join(f'{k} {got[k]}' for k in extra)}")
        if wrong:
            parts.append("wrong shape " + ", ".join(f"{k} {got[k]} (expected {want[k]})" for k in wrong))
        return j.fail(f"{what}: the parameters (state_dict) should be exactly {want}; {'; '.join(parts)}{hint_suffix(hint)}")
    if is_error(data.get("load")):
        return j.fail(f"{what}: loading weights into the module failed: {data['load'][ERROR_KEY]}")
    return True


def judge_grads(j: Judge, grads: Plain, expected: dict[str, torch.Tensor], what: str) -> None:
    """Probed gradients (``{name: tensor record}``, ``"__input__"`` for the input) against :func:`reference_grads`."""
    if not j.expect_ok(grads, f"backward through {what}"):
        return
    if not isinstance(grads, dict):
        j.fail(f"backward through {what}: expected the gradients of every parameter, got {describe(grads)}")
        return
    for name, ref_grad in expected.items():
        label = "the input" if name == "__input__" else name
        got = grads.get(name)
        if got is None:
            j.fail(
                f"{what}: no gradient reached {label}; keep every step in torch operations "
                "(no .detach(), .data, .numpy() or torch.no_grad() in forward), and use the parameter"
            )
            continue
        j.expect_close(got, ref_grad, f"{what}: gradient with respect to {label}", atol=1e-4, rtol=1e-3,
                       dtype=ref_grad.dtype)


def judge_outputs(
    j: Judge,
    data: Plain,
    inputs: list[torch.Tensor],
    reference: Callable[[torch.Tensor], torch.Tensor],
    what: Callable[[torch.Tensor], str],
    wrong: Callable[[torch.Tensor], dict[str, torch.Tensor]] | None = None,
    out_shape: Callable[[torch.Tensor], tuple[int, ...]] | None = None,
    returned_hint: str = "",
) -> None:
    """Compare each case of :func:`autograder.probes.probe_module_cases` with ``reference(x)``.

    ``what(x)`` names a case; ``wrong(x)``: typical mistakes by description, named when the output
    matches one; ``out_shape(x)``: the expected shape (default: the input's); ``returned_hint``:
    said when the shape is wrong.
    """
    cases = field(j, data, "cases", what(inputs[0]))
    if cases is None or not expect_count(j, cases, len(inputs), f"{what(inputs[0])} and the other inputs"):
        return
    for x, case in zip(inputs, cases, strict=True):
        label = what(x)
        out = case.get("out") if isinstance(case, dict) and not is_error(case) else case
        expected = reference(x)
        shape = out_shape(x) if out_shape else tuple(x.shape)
        if not j.expect_ok(out, label):
            continue
        if is_tensor(out) and tuple(out["shape"]) != shape:
            j.fail(f"{label} has shape {tuple(out['shape'])}, expected {shape}{hint_suffix(returned_hint)}")
            continue
        if not j.expect_tensor(out, label, shape=shape, dtype=x.dtype):
            continue
        j.expect(
            isinstance(case, dict) and case.get("modified") is False,
            f"{label}: the input was modified in place; compute into a new tensor (x * g rather than x *= g, "
            "out + x rather than x += out)",
        )
        hint = ""
        if wrong and not close(out, expected):  # name the mistake only when there is one (saves time)
            for mistake, value in wrong(x).items():
                if close(out, value):
                    hint = f"your output matches what {mistake} gives"
                    break
        j.expect_close(out, expected, label, atol=1e-5, rtol=1e-4, hint=hint)
