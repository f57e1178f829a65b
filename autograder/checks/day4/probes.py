"""Probe side of day4_self_cross_attention: the cases each probe runs and the probes themselves.

The sandbox gets what the probes reach of this module (``autograder/sandbox/strip.py``); the judges
rebuild the same cases from here, so a case is written once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn as nn

from autograder.harness import attempt, guarded, plain, randn


# ---------------------------------------------------------------------------- split / merge heads
def split_cases() -> list[tuple[str, torch.Tensor, int]]:
    """(description, x (B, N, h*d), h); rebuilt identically by the judge."""
    return [
        ("a (2, 5, 12) input split into 3 heads", randn(400, 2, 5, 12), 3),
        ("a (1, 7, 8) input split into 8 heads of width 1", randn(401, 1, 7, 8), 8),
        ("a (3, 4, 6) input with a single head", randn(402, 3, 4, 6), 1),
        ("a (2, 6, 10) float64 input split into 2 heads", randn(403, 2, 6, 10, dtype=torch.float64), 2),
        ("a non-contiguous (2, 5, 12) input (a transposed tensor) split into 4 heads", randn(404, 2, 12, 5).transpose(1, 2), 4),
        ("a (3, 7, 15) input (odd sizes) split into 5 heads of width 3", randn(405, 3, 7, 15), 5),
        ("a (1, 1, 9) input (one token) split into 3 heads", randn(406, 1, 1, 9), 3),
        ("a (2, 3, 7) input split into 7 heads of width 1 (num_heads = dim)", randn(407, 2, 3, 7), 7),
    ]


def probe_split_heads(fn: Any) -> dict:
    results = []
    for _, x, h in split_cases():
        before = x.clone()
        results.append({"out": attempt(fn, x, h), "modified": not torch.equal(before, x)})
    return {"cases": results}


def merge_cases() -> list[tuple[str, torch.Tensor]]:
    """(description, x (B, h, N, d)); rebuilt identically by the judge."""
    return [
        ("a (2, 3, 5, 4) input", randn(410, 2, 3, 5, 4)),
        ("a (1, 8, 7, 1) input", randn(411, 1, 8, 7, 1)),
        ("a (3, 1, 4, 6) input (one head)", randn(412, 3, 1, 4, 6)),
        ("a (2, 2, 6, 5) float64 input", randn(413, 2, 2, 6, 5, dtype=torch.float64)),
        (
            "a non-contiguous (2, 4, 5, 3) input (as split_heads returns it)",
            randn(414, 2, 5, 4, 3).transpose(1, 2),
        ),
        ("a (3, 5, 7, 3) input (odd sizes)", randn(415, 3, 5, 7, 3)),
        ("a (1, 3, 1, 5) input (one token)", randn(416, 1, 3, 1, 5)),
    ]


def probe_merge_heads(fn: Any) -> dict:
    results = []
    for _, x in merge_cases():
        before = x.clone()
        results.append({"out": attempt(fn, x), "modified": not torch.equal(before, x)})
    return {"cases": results}


# ---------------------------------------------------------------------------- attention modules
@dataclass(frozen=True)
class Case:
    """One forward pass of an attention module; the judge rebuilds every tensor from the seed."""

    what: str
    seed: int
    dim: int
    heads: int
    batch: int
    nq: int
    nk: int = 0  # cross-attention only
    context_dim: int = 0  # cross-attention only
    qkv_bias: bool = True
    mask: str = "none"  # none | bool2d | causal | pad | bool4d | float2d | floatpad | float4d
    dtype: torch.dtype = torch.float32

    @property
    def keys(self) -> int:
        return self.nk or self.nq


def case_mask(case: Case) -> torch.Tensor | None:
    b, h, nq, nk, s = case.batch, case.heads, case.nq, case.keys, case.seed
    if case.mask == "none":
        return None
    if case.mask == "bool2d":
        m = randn(s + 7, nq, nk) > -0.2
        m[:, 0] = True  # every query keeps at least one key
        return m
    if case.mask == "causal":
        return torch.ones(nq, nk, dtype=torch.bool).tril()
    if case.mask == "pad":
        m = torch.ones(b, 1, 1, nk, dtype=torch.bool)
        for i in range(b):
            m[i, ..., nk - i - 1 :] = i == 0  # batch i pads its last i+1 keys (batch 0 pads none)
        return m
    if case.mask == "bool4d":
        m = randn(s + 7, b, h, nq, nk) > 0.0
        m[..., 1] = True
        return m
    if case.mask == "float2d":
        return randn(s + 7, nq, nk, dtype=case.dtype) * 2.0
    if case.mask == "floatpad":  # additive padding mask: 0 for real keys, -inf for padding (batch i pads i keys)
        m = torch.zeros(b, 1, 1, nk, dtype=case.dtype)
        for i in range(b):
            m[i, ..., nk - i :] = -math.inf if i else 0.0
        return m
    if case.mask == "float4d":
        return randn(s + 7, b, h, nq, nk, dtype=case.dtype) * 2.0
    raise ValueError(case.mask)


def _param_shapes(case: Case, cross: bool) -> dict[str, tuple[int, ...]]:
    d = case.dim
    if cross:
        return {
            "q.weight": (d, d), "q.bias": (d,),
            "kv.weight": (2 * d, case.context_dim), "kv.bias": (2 * d,),
            "proj.weight": (d, d), "proj.bias": (d,),
        }
    shapes = {"qkv.weight": (3 * d, d), "qkv.bias": (3 * d,), "proj.weight": (d, d), "proj.bias": (d,)}
    if not case.qkv_bias:
        del shapes["qkv.bias"]
    return shapes


def seeded_params(case: Case, cross: bool) -> dict[str, torch.Tensor]:
    """Seeded parameters by contract name; weights ~ N(0, 1/fan_in) so the scores are O(1)."""
    out = {}
    for i, (name, shape) in enumerate(sorted(_param_shapes(case, cross).items())):
        t = randn(case.seed * 10 + i, *shape, dtype=case.dtype)
        out[name] = t / math.sqrt(shape[1]) if len(shape) == 2 else 0.2 * t
    return out


def case_inputs(case: Case, cross: bool) -> dict[str, torch.Tensor]:
    inputs = {"x": randn(case.seed + 1, case.batch, case.nq, case.dim, dtype=case.dtype)}
    if cross:
        inputs["context"] = randn(case.seed + 2, case.batch, case.keys, case.context_dim, dtype=case.dtype)
    return inputs


def _build(cls: Any, case: Case, cross: bool) -> nn.Module:
    """Instantiate the student's class and load the seeded parameters by their contract names."""
    if cross:
        module = cls(case.dim, case.context_dim, case.heads)
    elif case.qkv_bias:
        module = cls(case.dim, case.heads)
    else:
        module = cls(case.dim, case.heads, qkv_bias=False)
    module = module.to(case.dtype)
    expected = _param_shapes(case, cross)
    got = {name: tuple(p.shape) for name, p in module.named_parameters()}
    if got != expected:
        raise AttributeError(f"parameters are {got}, expected exactly {expected}")
    with torch.no_grad():
        for name, value in seeded_params(case, cross).items():
            module.get_parameter(name).copy_(value)
    return module


def _run(cls: Any, case: Case, cross: bool) -> dict:
    module = _build(cls, case, cross)
    inputs = case_inputs(case, cross)
    mask = case_mask(case)
    before = {k: t.clone() for k, t in inputs.items()}
    args = [inputs["x"], inputs["context"]] if cross else [inputs["x"]]
    mask_before = mask.clone() if mask is not None else None
    with torch.no_grad():
        out = attempt(module, *args) if mask is None else attempt(module, *args, mask=mask)
    return {
        "out": out,
        "attn_weights": plain(getattr(module, "attn_weights", "missing")),
        "modified": any(not torch.equal(before[k], inputs[k]) for k in inputs)
        or (mask is not None and not torch.equal(mask_before, mask)),
    }


def _run_grads(cls: Any, case: Case, cross: bool) -> dict:
    module = _build(cls, case, cross)
    inputs = {k: t.clone().requires_grad_(True) for k, t in case_inputs(case, cross).items()}
    args = [inputs["x"], inputs["context"]] if cross else [inputs["x"]]
    mask = case_mask(case)
    out = module(*args) if mask is None else module(*args, mask=mask)
    (out * randn(case.seed + 3, *out.shape, dtype=case.dtype)).sum().backward()
    grads = {f"parameter {name}": plain(p.grad) for name, p in module.named_parameters()}
    grads.update({f"input {name}": plain(t.grad) for name, t in inputs.items()})
    return grads


def _probe_module(cls: Any, cases: list[Case], grad_case: Case, cross: bool) -> dict:
    return {
        "cases": [guarded(lambda c=c: _run(cls, c, cross)) for c in cases],
        "grads": guarded(lambda: _run_grads(cls, grad_case, cross)),
    }


MASK_WORDS = {
    "bool2d": "a boolean (N_q, N_k) mask",
    "causal": "a causal (N, N) mask",
    "pad": "a (B, 1, 1, N_k) boolean padding mask",
    "bool4d": "a boolean (B, h, N_q, N_k) mask",
    "float2d": "a float (additive) (N_q, N_k) mask",
    "floatpad": "a float (additive) (B, 1, 1, N_k) padding mask of 0 and -inf",
    "float4d": "a float (additive) (B, h, N_q, N_k) mask",
}


MHSA_CASES = [
    Case("dim=16, 4 heads, B=2, N=5, no mask", 420, 16, 4, 2, 5),
    Case("dim=32, 8 heads, B=1, N=9, no mask", 421, 32, 8, 1, 9),
    Case("dim=24, a single head, B=3, N=4", 422, 24, 1, 3, 4),
    Case("dim=12, 3 heads, qkv_bias=False", 423, 12, 3, 2, 6, qkv_bias=False),
    Case("dim=16, 2 heads, N=7 and " + MASK_WORDS["bool2d"], 424, 16, 2, 2, 7, mask="bool2d"),
    Case("dim=16, 4 heads, B=3, N=6 and " + MASK_WORDS["pad"], 425, 16, 4, 3, 6, mask="pad"),
    Case("dim=8, 2 heads, N=5 and " + MASK_WORDS["bool4d"], 426, 8, 2, 2, 5, mask="bool4d"),
    Case("dim=16, 4 heads, N=5 and " + MASK_WORDS["causal"], 427, 16, 4, 2, 5, mask="causal"),
    Case("dim=16, 4 heads, N=6 and " + MASK_WORDS["float2d"], 428, 16, 4, 2, 6, mask="float2d"),
    Case("dim=12, 2 heads, N=4 and " + MASK_WORDS["float4d"], 429, 12, 2, 2, 4, mask="float4d"),
    Case("float64 input and parameters, dim=16, 2 heads, " + MASK_WORDS["pad"], 430, 16, 2, 2, 5,
         mask="pad", dtype=torch.float64),
    Case("dim=6, 6 heads of width 1 (num_heads = dim), B=2, N=5", 432, 6, 6, 2, 5),
    Case("dim=15, 5 heads of width 3, B=3, N=7, qkv_bias=False and " + MASK_WORDS["floatpad"], 433, 15, 5, 3, 7,
         qkv_bias=False, mask="floatpad"),
    Case("dim=8, 2 heads, B=1, a single token (N=1)", 434, 8, 2, 1, 1),
    Case("float64, dim=12, 3 heads, qkv_bias=False and " + MASK_WORDS["bool4d"], 435, 12, 3, 2, 6,
         qkv_bias=False, mask="bool4d", dtype=torch.float64),
]
MHSA_GRAD_CASE = Case("dim=16, 4 heads, B=2, N=5 and a padding mask", 431, 16, 4, 2, 5, mask="pad")


def probe_mhsa(cls: Any) -> dict:
    return _probe_module(cls, MHSA_CASES, MHSA_GRAD_CASE, cross=False)


CROSS_CASES = [
    Case("dim=12, context_dim=20, 3 heads, N_q=4, N_k=7", 440, 12, 3, 2, 4, nk=7, context_dim=20),
    Case("dim=16, context_dim=16, 4 heads, N_q=N_k=6 (same widths and lengths)", 441, 16, 4, 2, 6, nk=6, context_dim=16),
    Case("dim=32, context_dim=24, 8 heads, B=1, a single query, N_k=9", 442, 32, 8, 1, 1, nk=9, context_dim=24),
    Case("dim=8, context_dim=5, 2 heads, B=3, N_q=6 > N_k=3", 443, 8, 2, 3, 6, nk=3, context_dim=5),
    Case("dim=16, context_dim=10, 2 heads, " + MASK_WORDS["bool2d"], 444, 16, 2, 2, 5, nk=8, context_dim=10, mask="bool2d"),
    Case("dim=16, context_dim=12, 4 heads, B=3, " + MASK_WORDS["pad"], 445, 16, 4, 3, 4, nk=7, context_dim=12, mask="pad"),
    Case("dim=12, context_dim=12, 3 heads, " + MASK_WORDS["bool4d"], 446, 12, 3, 2, 3, nk=6, context_dim=12, mask="bool4d"),
    Case("dim=8, context_dim=6, 2 heads, " + MASK_WORDS["float2d"], 447, 8, 2, 2, 4, nk=5, context_dim=6, mask="float2d"),
    Case("dim=8, context_dim=6, 4 heads, " + MASK_WORDS["float4d"], 448, 8, 4, 2, 3, nk=5, context_dim=6, mask="float4d"),
    Case(
        "float64 inputs and parameters, dim=12, context_dim=7, 3 heads, " + MASK_WORDS["pad"],
        449, 12, 3, 2, 4, nk=6, context_dim=7, mask="pad", dtype=torch.float64,
    ),
    Case("dim=10, context_dim=3, a single head, B=2, N_q=5, N_k=4", 451, 10, 1, 2, 5, nk=4, context_dim=3),
    Case("dim=6, context_dim=9, 6 heads of width 1 (num_heads = dim), N_q=2, N_k=7", 452, 6, 6, 2, 2, nk=7, context_dim=9),
    Case("dim=9, context_dim=14, 3 heads, B=3, N_q=5, N_k=6 and " + MASK_WORDS["floatpad"], 453, 9, 3, 3, 5, nk=6,
         context_dim=14, mask="floatpad"),
    Case("dim=8, context_dim=4, 2 heads, a single key (N_k=1)", 454, 8, 2, 2, 3, nk=1, context_dim=4),
]
CROSS_GRAD_CASE = Case(
    "dim=12, context_dim=9, 3 heads, N_q=3, N_k=5 and a padding mask", 450, 12, 3, 2, 3, nk=5, context_dim=9, mask="pad"
)


def probe_cross(cls: Any) -> dict:
    return _probe_module(cls, CROSS_CASES, CROSS_GRAD_CASE, cross=True)


# ---------------------------------------------------------------------------- 2-D sin-cos position embedding
def sincos_cases() -> list[tuple[str, tuple, dict]]:
    """(description, positional args, keyword args) for sincos_pos_embed_2d; rebuilt identically by the judge."""
    return [
        ("a 2 x 3 grid (wider than tall), dim=8", (2, 3, 8), {}),
        ("a 3 x 2 grid (taller than wide), dim=8", (3, 2, 8), {}),
        ("a 14 x 14 grid, dim=64", (14, 14, 64), {}),
        ("a 12 x 20 grid, dim=768 (ViT-B width)", (12, 20, 768), {}),
        ("a 7 x 10 grid, dim=32, temperature=100", (7, 10, 32), {"temperature": 100.0}),
        ("a single row (1 x 5), dim=4 (one frequency per axis)", (1, 5, 4), {}),
        ("a single column (6 x 1), dim=12 (three frequencies per axis)", (6, 1, 12), {}),
        ("a single patch (1 x 1), dim=16", (1, 1, 16), {}),
        ("a 4 x 4 grid, dim=16, num_prefix_tokens=1 (a class token)", (4, 4, 16), {"num_prefix_tokens": 1}),
        (
            "a 3 x 5 grid, dim=24, temperature=1000, num_prefix_tokens=2",
            (3, 5, 24), {"temperature": 1000.0, "num_prefix_tokens": 2},
        ),
        ("a 2 x 4 grid, dim=8, temperature=50 and num_prefix_tokens=1 passed by position", (2, 4, 8, 50.0, 1), {}),
    ]


def sincos_bad_dims() -> list[tuple[int, int, int]]:
    """(grid_h, grid_w, dim) with dim not divisible by 4: each must raise ValueError."""
    return [(4, 4, 6), (3, 3, 10), (2, 2, 2)]


def probe_sincos(fn: Any) -> dict:
    return {
        "cases": [attempt(fn, *args, **kwargs) for _, args, kwargs in sincos_cases()],
        "bad_dims": [attempt(fn, *args) for args in sincos_bad_dims()],
    }
