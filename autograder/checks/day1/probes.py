"""Probe side of day1_attention: the cases each probe runs and the probes themselves.

The sandbox gets what the probes reach of this module (``autograder/sandbox/strip.py``); the judges
rebuild the same cases from here, so a case is written once.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from autograder.harness import attempt, guarded, plain, randn


# ---------------------------------------------------------------------------- softmax
def softmax_inputs() -> list[tuple[str, torch.Tensor, dict[str, Any]]]:
    """(description, input, how to call) for each softmax case; rebuilt identically by the judge.

    The third element holds ``dim`` (absent: the default, -1) and ``positional`` (pass ``dim``
    as the second argument instead of by keyword).
    """
    mixed_scale = torch.stack([randn(13, 6) * 1e4, randn(14, 6) * 1e4 - 2e4, randn(15, 6)])
    with_inf = randn(16, 3, 3, 5)
    with_inf[0, 0, 1] = with_inf[1, 2, 0] = with_inf[1, 2, 4] = with_inf[2, 1, 3] = -math.inf
    inf_along_dim1 = randn(17, 2, 4, 3)
    inf_along_dim1[0, 1, 0] = inf_along_dim1[0, 3, 0] = inf_along_dim1[1, 0, 2] = -math.inf
    cases = [
        ("a (4, 7) input, default dim", randn(1, 4, 7), {}),
        ("a (2, 3, 5) input with dim=1", randn(2, 2, 3, 5), {"dim": 1}),
        ("a (3, 4) input with dim=0", randn(3, 3, 4), {"dim": 0}),
        ("a (2, 3, 4, 5) input with dim=-2", randn(4, 2, 3, 4, 5), {"dim": -2}),
        ("rows whose entries are about 1e4 in size (and rows far apart)", mixed_scale, {}),
        ("an input with some -inf entries", with_inf, {}),
        ("a float64 input", randn(5, 3, 6, dtype=torch.float64), {}),
        ("a single-element dimension", randn(6, 4, 1), {}),
        ("a square (5, 5) input, default dim", randn(7, 5, 5), {}),
        ("a 1-D input of length 7", randn(8, 7), {}),
        ("a 1-D input of length 7 with dim=0", randn(8, 7), {"dim": 0}),
        ("a (3, 6) input whose columns are about 1e4 in size, dim=0", randn(9, 3, 6) * 1e4, {"dim": 0}),
        ("a (2, 4, 3) input with -inf entries, dim=1", inf_along_dim1, {"dim": 1}),
        ("a float64 (3, 4, 2) input with dim=0", randn(10, 3, 4, 2, dtype=torch.float64), {"dim": 0}),
        ("a bfloat16 (4, 9) input", (randn(11, 4, 9) * 3).to(torch.bfloat16), {}),
    ]
    # every dimension of a 4-D tensor, negative ones included, by keyword and by position
    every_dim = randn(12, 2, 3, 4, 5)
    for dim in range(-4, 4):
        positional = dim % 2 == 1
        how = f"softmax(x, {dim})" if positional else f"softmax(x, dim={dim})"
        cases.append((f"a (2, 3, 4, 5) input, called as {how}", every_dim, {"dim": dim, "positional": positional}))
    return cases


def _call_softmax(softmax: Any, x: torch.Tensor, how: dict[str, Any]) -> Any:
    if "dim" not in how:
        return softmax(x)
    return softmax(x, how["dim"]) if how.get("positional") else softmax(x, dim=how["dim"])


SOFTMAX_GRAD = {"seed": 18, "shape": (3, 4, 6), "dim": 1, "upstream": 19}


def _softmax_grad(softmax: Any) -> Any:
    """Gradient of sum(softmax(x, dim=1) * u) with respect to x: a softmax must pass gradients."""
    x = randn(SOFTMAX_GRAD["seed"], *SOFTMAX_GRAD["shape"]).requires_grad_(True)
    out = softmax(x, dim=SOFTMAX_GRAD["dim"])
    (out * randn(SOFTMAX_GRAD["upstream"], *SOFTMAX_GRAD["shape"])).sum().backward()
    return plain(x.grad)


def probe_softmax(softmax: Any) -> dict:
    results = []
    for _, x, how in softmax_inputs():
        before = x.clone()
        out = attempt(_call_softmax, softmax, x, how)
        results.append({"out": out, "input_after": plain(x), "modified": not torch.equal(before, x)})
    return {"cases": results, "grad": guarded(lambda: _softmax_grad(softmax))}


# --------------------------------------------------------------- scaled dot-product attention
def sdpa_cases() -> list[tuple[str, dict[str, Any], bool]]:
    """(description, inputs, positional) for each attention case; rebuilt identically by the judge.

    ``positional``: call ``fn(q, k, v, mask)`` instead of ``fn(q=..., k=..., v=..., mask=...)``.
    """
    cases: list[tuple[str, dict[str, Any], bool]] = []

    def add(what: str, seed: int, q: tuple, k: tuple, v: tuple, mask: Any = None, scale: float = 1.0, dtype=None,
            positional: bool = False, explicit_none: bool = False):
        inputs = {
            "q": randn(seed, *q, dtype=dtype) * scale,
            "k": randn(seed + 1, *k, dtype=dtype) * scale,
            "v": randn(seed + 2, *v, dtype=dtype),
        }
        if mask is not None or explicit_none:
            inputs["mask"] = mask
        cases.append((what, inputs, positional))

    def keep(seed: int, *shape: int) -> torch.Tensor:
        """A random boolean mask that keeps key 0 of every row (no row is fully masked)."""
        kept = randn(seed, *shape) > -0.3
        kept[..., 0] = True
        return kept

    add("q (2, 5, 8), k (2, 7, 8), v (2, 7, 3), no mask", 10, (2, 5, 8), (2, 7, 8), (2, 7, 3))
    add("unbatched q (6, 64), k (9, 64), v (9, 16)", 20, (6, 64), (9, 64), (9, 16))
    add("4-D q (2, 3, 4, 16), k and v (2, 3, 6, 16) and (2, 3, 6, 5)", 30, (2, 3, 4, 16), (2, 3, 6, 16), (2, 3, 6, 5))
    mask = randn(44, 5, 7) > -0.3
    mask[:, 0] = True  # every query keeps at least one key
    add("a boolean (5, 7) mask broadcast over the batch", 40, (3, 5, 32), (3, 7, 32), (3, 7, 4), mask=mask)
    pad = torch.ones(2, 1, 1, 6, dtype=torch.bool)
    pad[0, ..., 4:] = False
    pad[1, ..., 2:] = False
    add("a (2, 1, 1, 6) padding mask on 4-D inputs", 50, (2, 4, 6, 8), (2, 4, 6, 8), (2, 4, 6, 8), mask=pad)
    causal = torch.ones(6, 6, dtype=torch.bool).tril()
    add("a causal (6, 6) mask", 60, (2, 6, 16), (2, 6, 16), (2, 6, 16), mask=causal)
    add("large logits (q and k scaled by 30)", 70, (2, 4, 16), (2, 5, 16), (2, 5, 16), scale=30.0)
    add("a float (additive) mask", 80, (2, 4, 8), (2, 5, 8), (2, 5, 8), mask=randn(85, 4, 5))
    add("float64 inputs", 90, (2, 3, 8), (2, 4, 8), (2, 4, 2), dtype=torch.float64)
    # every kind and broadcast shape of mask the contract allows
    pad3 = torch.tensor([[True] * 5, [True, True, True, False, False], [True, False, False, False, False]])[:, None, :]
    add("a (3, 1, 5) padding mask on 3-D inputs", 110, (3, 4, 8), (3, 5, 8), (3, 5, 6), mask=pad3)
    add("a 1-D (7,) boolean mask", 120, (2, 3, 8), (2, 7, 8), (2, 7, 4), mask=keep(125, 7))
    add("a per-head (3, 4, 6) boolean mask on (2, 3, ...) inputs", 130, (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 5),
        mask=keep(135, 3, 4, 6))
    add("a full-shape (2, 4, 5) boolean mask", 140, (2, 4, 8), (2, 5, 8), (2, 5, 3), mask=keep(145, 2, 4, 5))
    add("a rectangular (3, 8) boolean mask on unbatched inputs", 150, (3, 16), (8, 16), (8, 2), mask=keep(155, 3, 8))
    additive_causal = torch.zeros(5, 5).masked_fill(~torch.ones(5, 5, dtype=torch.bool).tril(), -math.inf)
    add("a float mask holding 0 and -inf (a causal mask in additive form)", 160, (2, 5, 8), (2, 5, 8), (2, 5, 8),
        mask=additive_causal)
    add("a float (2, 1, 1, 6) mask on 4-D inputs", 170, (2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8),
        mask=randn(175, 2, 1, 1, 6) * 3)
    add("float64 inputs with a boolean mask", 180, (2, 4, 8), (2, 6, 8), (2, 6, 3), dtype=torch.float64,
        mask=keep(185, 4, 6))
    add("float64 inputs with a float64 additive mask", 190, (2, 4, 8), (2, 5, 8), (2, 5, 3), dtype=torch.float64,
        mask=randn(195, 4, 5, dtype=torch.float64))
    add("very large logits (q and k scaled by 100) and a boolean mask", 200, (2, 4, 16), (2, 6, 16), (2, 6, 4),
        scale=100.0, mask=keep(205, 4, 6))
    far_apart = {  # every score below -2e4: a "large negative" fill such as -1e4 would outscore the kept keys
        "q": randn(206, 2, 4, 4).abs() * 50 + 100,
        "k": -(randn(207, 2, 6, 4).abs() * 50 + 100),
        "v": randn(208, 2, 6, 3),
        "mask": keep(209, 4, 6),
    }
    cases.append(("scores all below -20000 (q and k point apart) and a boolean mask", far_apart, False))
    add("a single query (L_q = 1)", 210, (2, 1, 8), (2, 5, 8), (2, 5, 3))
    add("a single key (L_k = 1)", 220, (2, 4, 8), (2, 1, 8), (2, 1, 3))
    add("the mask passed as the fourth positional argument", 230, (2, 4, 8), (2, 5, 8), (2, 5, 3),
        mask=keep(235, 4, 5), positional=True)
    add("mask=None passed explicitly", 240, (2, 3, 8), (2, 4, 8), (2, 4, 3), explicit_none=True)
    return cases


def _call_sdpa(fn: Any, inputs: dict[str, Any], positional: bool) -> Any:
    if positional:
        return fn(inputs["q"], inputs["k"], inputs["v"], inputs["mask"])
    return fn(**inputs)


def probe_sdpa(fn: Any) -> dict:
    results = []
    for _, inputs, positional in sdpa_cases():
        before = {k: t.clone() for k, t in inputs.items() if t is not None}
        result = attempt(_call_sdpa, fn, inputs, positional)
        results.append({"result": result, "modified": any(not torch.equal(before[k], inputs[k]) for k in before)})
    grads = [guarded(lambda mask=mask: _sdpa_grads(fn, mask)) for _, mask in grad_masks()]
    return {"cases": results, "grads": grads}


def grad_inputs() -> dict[str, torch.Tensor]:
    return {"q": randn(100, 2, 3, 8), "k": randn(101, 2, 5, 8), "v": randn(102, 2, 5, 4)}


def grad_masks() -> list[tuple[str, torch.Tensor | None]]:
    """(description, mask) of each backward case: q (2, 3, 8), k (2, 5, 8), v (2, 5, 4)."""
    padding = torch.tensor([[True] * 5, [True, True, False, False, False]])[:, None, :]  # (2, 1, 5)
    return [("no mask", None), ("a (2, 1, 5) padding mask", padding), ("a float mask", randn(104, 3, 5))]


def _sdpa_grads(fn: Any, mask: torch.Tensor | None) -> dict:
    inputs = {k: t.clone().requires_grad_(True) for k, t in grad_inputs().items()}
    out = fn(**inputs, mask=mask) if mask is not None else fn(**inputs)
    out = out[0] if isinstance(out, (tuple, list)) else out
    (out * randn(103, 2, 3, 4)).sum().backward()
    return {k: plain(t.grad) for k, t in inputs.items()}


# ---------------------------------------------------------------------------- causal mask
CAUSAL_SIZES = (1, 2, 5, 9, 64)
CAUSAL_BY_KEYWORD = 3  # one more call, as causal_mask(n=3)


def probe_causal_mask(fn: Any) -> dict:
    return {"masks": [attempt(fn, n) for n in CAUSAL_SIZES] + [attempt(fn, n=CAUSAL_BY_KEYWORD)]}


# ---------------------------------------------------------------------- padded attention
def padded_cases() -> list[tuple[str, dict[str, torch.Tensor]]]:
    """(description, inputs) for each padded_attention case; rebuilt identically by the judge."""
    cases: list[tuple[str, dict[str, torch.Tensor]]] = []

    def add(what: str, seed: int, qk: tuple, dv: int, lengths: list[int], dtype=None, length_dtype=torch.int64,
            padding_scale: float | None = None, padding_seed: int | None = None):
        q, k = randn(seed, *qk, dtype=dtype), randn(seed + 1, *qk, dtype=dtype)
        v = randn(seed + 2, *qk[:-1], dv, dtype=dtype)
        if padding_scale is not None or padding_seed is not None:  # overwrite what the padding holds
            noise_seed = padding_seed if padding_seed is not None else seed + 3
            for i, t in enumerate((q, k, v)):
                noise = randn(noise_seed + i, *t.shape, dtype=dtype) * (padding_scale or 1.0)
                for b, n in enumerate(lengths):
                    t[b, ..., n:, :] = noise[b, ..., n:, :]
        cases.append((what, {"q": q, "k": k, "v": v, "lengths": torch.tensor(lengths, dtype=length_dtype)}))

    add("3-D q (3, 6, 8), v (3, 6, 5) and lengths [6, 4, 1]", 300, (3, 6, 8), 5, [6, 4, 1])
    add("the same inputs with other values in the padding (the result must not change)", 300, (3, 6, 8), 5, [6, 4, 1],
        padding_scale=10.0, padding_seed=306)
    add("heads: q (2, 3, 5, 16), v (2, 3, 5, 4) and lengths [2, 5]", 310, (2, 3, 5, 16), 4, [2, 5])
    add("two dimensions between batch and length: q (2, 2, 3, 4, 8) and lengths [3, 4]", 320, (2, 2, 3, 4, 8), 3, [3, 4])
    add("a batch of one with no padding: q (1, 7, 8) and lengths [7]", 330, (1, 7, 8), 8, [7])
    add("float64 inputs and int32 lengths [5, 3, 2]", 340, (3, 5, 4), 6, [5, 3, 2], dtype=torch.float64,
        length_dtype=torch.int32)
    add("padding that holds values of size 1000 (lengths [3, 6])", 350, (2, 6, 8), 4, [3, 6], padding_scale=1000.0)
    add("unsorted lengths [1, 6, 4]", 360, (3, 6, 8), 5, [1, 6, 4])
    add("length-1 sequences: q (2, 1, 4) and lengths [1, 1]", 370, (2, 1, 4), 2, [1, 1])
    return cases


PADDED_GRAD = {"q": (400, (2, 2, 5, 8)), "k": (401, (2, 2, 5, 8)), "v": (402, (2, 2, 5, 3)), "lengths": [5, 3],
               "upstream": (403, (2, 2, 5, 3))}


def _padded_grad(fn: Any) -> dict:
    inputs = {name: randn(PADDED_GRAD[name][0], *PADDED_GRAD[name][1]).requires_grad_(True) for name in "qkv"}
    out = fn(inputs["q"], inputs["k"], inputs["v"], torch.tensor(PADDED_GRAD["lengths"]))
    out = out[0] if isinstance(out, (tuple, list)) else out
    (out * randn(PADDED_GRAD["upstream"][0], *PADDED_GRAD["upstream"][1])).sum().backward()
    return {name: plain(t.grad) for name, t in inputs.items()}


def probe_padded_attention(fn: Any) -> dict:
    results = []
    for _, inputs in padded_cases():
        before = {k: t.clone() for k, t in inputs.items()}
        result = attempt(fn, inputs["q"], inputs["k"], inputs["v"], inputs["lengths"])
        results.append({"result": result, "modified": any(not torch.equal(before[k], inputs[k]) for k in inputs)})
    return {"cases": results, "grads": guarded(lambda: _padded_grad(fn))}
