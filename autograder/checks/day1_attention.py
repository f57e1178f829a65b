"""Hidden checks for day1_attention: softmax, scaled_dot_product_attention, causal_mask.

References are torch built-ins (``torch.softmax``, ``F.scaled_dot_product_attention``,
``torch.tril``), computed here in the judge, never in the student's process.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from autograder.harness import Judge, Registry, attempt, guarded, plain, randn

REGISTRY = Registry("day1_attention")

# ---------------------------------------------------------------------------- softmax
# The ban (COURSE_SPEC: torch.softmax, F.softmax, Tensor.softmax, nn.Softmax and the log_softmax variants):
# a static scan of every student code cell (trusted side) and a dispatch-level recorder of the
# operators these reach, around the whole probe. Either one fails the exercise and is listed for review.
FORBIDDEN = ("softmax", "log_softmax", "Softmax", "LogSoftmax", "_softmax", "_log_softmax", "_safe_softmax")
SOFTMAX_OPS = ("softmax", "log_softmax", "_softmax", "_log_softmax", "_safe_softmax", "_masked_softmax",
               "special_softmax", "special_log_softmax")
REGISTRY.ban("softmax", "torch's own softmax", names=FORBIDDEN, ops=SOFTMAX_OPS)


def _softmax_inputs() -> list[tuple[str, torch.Tensor, dict[str, Any]]]:
    """(description, input, kwargs) for each softmax case; rebuilt identically by the judge."""
    mixed_scale = torch.stack([randn(13, 6) * 1e4, randn(14, 6) * 1e4 - 2e4, randn(15, 6)])
    with_inf = randn(16, 3, 3, 5)
    with_inf[0, 0, 1] = with_inf[1, 2, 0] = with_inf[1, 2, 4] = with_inf[2, 1, 3] = -math.inf
    return [
        ("a (4, 7) input, default dim", randn(1, 4, 7), {}),
        ("a (2, 3, 5) input with dim=1", randn(2, 2, 3, 5), {"dim": 1}),
        ("a (3, 4) input with dim=0", randn(3, 3, 4), {"dim": 0}),
        ("a (2, 3, 4, 5) input with dim=-2", randn(4, 2, 3, 4, 5), {"dim": -2}),
        ("rows whose entries are about 1e4 in size (and rows far apart)", mixed_scale, {}),
        ("an input with some -inf entries", with_inf, {}),
        ("a float64 input", randn(5, 3, 6, dtype=torch.float64), {}),
        ("a single-element dimension", randn(6, 4, 1), {}),
    ]


def probe_softmax(softmax: Any) -> dict:
    results = []
    for _, x, kwargs in _softmax_inputs():
        before = x.clone()
        out = attempt(softmax, x, **kwargs)
        results.append({"out": out, "input_after": plain(x), "modified": not torch.equal(before, x)})
    return {"cases": results}


@REGISTRY.exercise("softmax", probe_softmax)
def judge_softmax(data: dict, j: Judge) -> None:
    for (what, x, kwargs), case in zip(_softmax_inputs(), data["cases"], strict=True):
        what = f"softmax on {what}"
        expected = torch.softmax(x, dim=kwargs.get("dim", -1))
        out = case["out"]
        if not j.expect_tensor(out, what, shape=tuple(x.shape), dtype=str(x.dtype).replace("torch.", "")):
            continue
        j.expect(not case["modified"], f"{what} changed its input in place; compute into a new tensor")
        j.expect_close(
            out, expected, what, atol=1e-6, rtol=1e-5,
            hint="subtract the maximum along `dim` (keepdim=True) before exp, and normalise along the same `dim`",
        )
        if "-inf" in what:
            got = case["out"]["data"]
            j.expect(bool((got[torch.isinf(x).numpy()] == 0).all()), f"{what}: entries equal to -inf must get weight exactly 0")


# --------------------------------------------------------------- scaled dot-product attention
def _sdpa_cases() -> list[tuple[str, dict[str, Any]]]:
    """(description, inputs) for each attention case; rebuilt identically by the judge."""
    cases: list[tuple[str, dict[str, Any]]] = []

    def add(what: str, seed: int, q: tuple, k: tuple, v: tuple, mask: Any = None, scale: float = 1.0, dtype=None):
        inputs = {
            "q": randn(seed, *q, dtype=dtype) * scale,
            "k": randn(seed + 1, *k, dtype=dtype) * scale,
            "v": randn(seed + 2, *v, dtype=dtype),
        }
        if mask is not None:
            inputs["mask"] = mask
        cases.append((what, inputs))

    add("q (2, 5, 8), k (2, 7, 8), v (2, 7, 3), no mask", 10, (2, 5, 8), (2, 7, 8), (2, 7, 3))
    add("unbatched q (6, 64), k (9, 64), v (9, 16)", 20, (6, 64), (9, 64), (9, 16))
    add("4-D q (2, 3, 4, 16), k and v (2, 3, 6, 16) and (2, 3, 6, 5)", 30, (2, 3, 4, 16), (2, 3, 6, 16), (2, 3, 6, 5))
    keep = randn(44, 5, 7) > -0.3
    keep[:, 0] = True  # every query keeps at least one key
    add("a boolean (5, 7) mask broadcast over the batch", 40, (3, 5, 32), (3, 7, 32), (3, 7, 4), mask=keep)
    pad = torch.ones(2, 1, 1, 6, dtype=torch.bool)
    pad[0, ..., 4:] = False
    pad[1, ..., 2:] = False
    add("a (2, 1, 1, 6) padding mask on 4-D inputs", 50, (2, 4, 6, 8), (2, 4, 6, 8), (2, 4, 6, 8), mask=pad)
    causal = torch.ones(6, 6, dtype=torch.bool).tril()
    add("a causal (6, 6) mask", 60, (2, 6, 16), (2, 6, 16), (2, 6, 16), mask=causal)
    add("large logits (q and k scaled by 30)", 70, (2, 4, 16), (2, 5, 16), (2, 5, 16), scale=30.0)
    add("a float (additive) mask", 80, (2, 4, 8), (2, 5, 8), (2, 5, 8), mask=randn(85, 4, 5))
    add("float64 inputs", 90, (2, 3, 8), (2, 4, 8), (2, 4, 2), dtype=torch.float64)
    return cases


def probe_sdpa(fn: Any) -> dict:
    results = []
    for _, inputs in _sdpa_cases():
        before = {k: t.clone() for k, t in inputs.items()}
        results.append({"result": attempt(fn, **inputs), "modified": any(not torch.equal(before[k], inputs[k]) for k in inputs)})
    grads = guarded(lambda: _sdpa_grads(fn))
    return {"cases": results, "grads": grads}


def _grad_inputs() -> dict[str, torch.Tensor]:
    return {"q": randn(100, 2, 3, 8), "k": randn(101, 2, 5, 8), "v": randn(102, 2, 5, 4)}


def _sdpa_grads(fn: Any) -> dict:
    inputs = {k: t.clone().requires_grad_(True) for k, t in _grad_inputs().items()}
    out = fn(**inputs)
    out = out[0] if isinstance(out, (tuple, list)) else out
    (out * randn(103, 2, 3, 4)).sum().backward()
    return {k: plain(t.grad) for k, t in inputs.items()}


def _reference_sdpa(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: Any = None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, -math.inf) if mask.dtype == torch.bool else scores + mask
    weights = torch.softmax(scores, dim=-1)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # positional: torch names them query/key/value
    return out, weights


@REGISTRY.exercise("scaled_dot_product_attention", probe_sdpa)
def judge_sdpa(data: dict, j: Judge) -> None:
    for (what, inputs), case in zip(_sdpa_cases(), data["cases"], strict=True):
        what = f"scaled_dot_product_attention with {what}"
        result = case["result"]
        if not j.expect_ok(result, what):
            continue
        if not (isinstance(result, list) and len(result) == 2):
            j.fail(f"{what} should return a pair (out, weights)")
            continue
        out, weights = result
        ref_out, ref_w = _reference_sdpa(**inputs)
        dtype = str(inputs["q"].dtype).replace("torch.", "")
        if j.expect_tensor(weights, f"{what}: weights", shape=tuple(ref_w.shape), dtype=dtype):
            w = weights["data"]
            rows = w.sum(-1)
            if not abs(rows - 1).max() < 1e-4:
                j.fail(
                    f"{what}: every row of the weights must sum to 1 over the keys (last axis); "
                    f"a row sums to {rows.flat[abs(rows - 1).argmax()]:.4g}. Is the softmax over the last axis?"
                )
            mask = inputs.get("mask")
            if mask is not None and mask.dtype == torch.bool:
                blocked = (~mask).expand(ref_w.shape).numpy()
                j.expect(
                    bool((w[blocked] == 0).all()),
                    f"{what}: weights where the mask is False must be exactly 0 (True means 'may attend'); "
                    f"max weight on a masked key is {w[blocked].max():.3g}",
                )
            j.expect_close(
                weights, ref_w, f"{what}: weights", atol=1e-5, rtol=1e-4,
                hint="weights = softmax(q @ k^T / sqrt(d)) over the keys, with d = q.shape[-1]",
            )
        if j.expect_tensor(out, f"{what}: out", shape=tuple(ref_out.shape), dtype=dtype):
            j.expect_close(out, ref_out, f"{what}: out", atol=1e-5, rtol=1e-4, hint="out = weights @ v")
        j.expect(not case["modified"], f"{what} changed an input tensor in place")
    grads = data["grads"]
    if j.expect_ok(grads, "backward through scaled_dot_product_attention"):
        inputs = {k: t.clone().requires_grad_(True) for k, t in _grad_inputs().items()}
        (F.scaled_dot_product_attention(inputs["q"], inputs["k"], inputs["v"]) * randn(103, 2, 3, 4)).sum().backward()
        for name, t in inputs.items():
            j.expect_close(
                grads[name], t.grad, f"the gradient with respect to {name}", atol=1e-5, rtol=1e-4,
                hint="keep every step in torch operations so gradients flow (no .detach(), .numpy() or in-place edits)",
            )


# ---------------------------------------------------------------------------- causal mask
CAUSAL_SIZES = (1, 2, 5, 9)


def probe_causal_mask(fn: Any) -> dict:
    return {"masks": [attempt(fn, n) for n in CAUSAL_SIZES]}


@REGISTRY.exercise("causal_mask", probe_causal_mask)
def judge_causal_mask(data: dict, j: Judge) -> None:
    for n, got in zip(CAUSAL_SIZES, data["masks"], strict=True):
        what = f"causal_mask({n})"
        if j.expect_tensor(got, what, shape=(n, n), dtype="bool"):
            j.expect_equal(
                got, torch.ones(n, n, dtype=torch.bool).tril(), what,
                hint="True on and below the diagonal: query i may attend to keys 0..i",
            )


# ---------------------------------------------------------------------------- concept questions
REGISTRY.quiz(
    "quiz_1", "C",
    "With q and k of unit-variance entries, q . k is a sum of d products, so its variance grows like d; "
    "dividing by sqrt(d) brings it back to 1 and keeps the softmax out of saturation.",
)
REGISTRY.quiz(
    "quiz_2", "B",
    "Adding the same constant to every score of a row leaves the softmax unchanged, which is why "
    "subtracting the row maximum is safe.",
)
REGISTRY.quiz(
    "quiz_3", "D",
    "The score matrix has n x n entries, each a d-dimensional dot product: O(n^2 d) time and O(n^2) memory.",
)
