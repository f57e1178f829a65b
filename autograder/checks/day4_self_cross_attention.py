"""Hidden checks for day4_self_cross_attention: split_heads, merge_heads, MultiHeadSelfAttention,
CrossAttention, sincos_pos_embed_2d and the concept questions.

References are computed here, in the judges only: ``torch.nn.MultiheadAttention`` with the seeded
parameters copied in the way the contract fixes, cross-checked against
``F.scaled_dot_product_attention`` on the same projections; for the position embedding, MAE's
``get_2d_sincos_pos_embed`` formulation (numpy), cross-checked against a second torch formulation.
The probes only call the student's code on fixed inputs (instantiate the classes, load seeded
parameters by their contract names, run them) and return plain data; they never compute an answer.
Every judge rebuilds its expected cases and requires exactly that many results.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from autograder.harness import ERROR_KEY, Judge, Registry, array, attempt, describe, guarded, is_error, plain, randn

REGISTRY = Registry("day4_self_cross_attention")


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def _results(data: Any, key: str, expected: int, j: Judge, name: str) -> list | None:
    """``data[key]`` if it is a list of exactly ``expected`` probed results; else record why and return None."""
    got = data.get(key) if isinstance(data, dict) else None
    if not isinstance(got, list):
        j.fail(f"{name}: the hidden checks received no results for '{key}' (the probe did not run to the end)")
        return None
    if len(got) != expected:
        j.fail(f"{name}: the hidden checks expected {expected} results for '{key}' and received {len(got)}")
        return None
    return got


# ---------------------------------------------------------------------------- split / merge heads
def _split_cases() -> list[tuple[str, torch.Tensor, int]]:
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


def _reference_split(x: torch.Tensor, h: int) -> torch.Tensor:
    b, n, c = x.shape
    return torch.stack([x[..., i * (c // h) : (i + 1) * (c // h)] for i in range(h)], dim=1)


def probe_split_heads(fn: Any) -> dict:
    results = []
    for _, x, h in _split_cases():
        before = x.clone()
        results.append({"out": attempt(fn, x, h), "modified": not torch.equal(before, x)})
    return {"cases": results}


@REGISTRY.exercise("split_heads", probe_split_heads)
def judge_split_heads(data: dict, j: Judge) -> None:
    cases = _split_cases()
    results = _results(data, "cases", len(cases), j, "split_heads")
    if results is None:
        return
    for (what, x, h), case in zip(cases, results, strict=True):
        what = f"split_heads on {what}"
        b, n, c = x.shape
        expected = _reference_split(x, h)
        if j.expect_tensor(case["out"], what, shape=(b, h, n, c // h), dtype=_dtype_name(x.dtype)):
            j.expect_close(
                case["out"], expected, what, atol=0, rtol=0,
                hint="head i must hold features i*d:(i+1)*d of every token: reshape to (B, N, h, d), then transpose(1, 2); "
                "a view/reshape straight to (B, h, N, d) mixes tokens and heads",
            )
        j.expect(not case["modified"], f"{what} changed its input in place")


def _merge_cases() -> list[tuple[str, torch.Tensor]]:
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
    for _, x in _merge_cases():
        before = x.clone()
        results.append({"out": attempt(fn, x), "modified": not torch.equal(before, x)})
    return {"cases": results}


@REGISTRY.exercise("merge_heads", probe_merge_heads)
def judge_merge_heads(data: dict, j: Judge) -> None:
    cases = _merge_cases()
    results = _results(data, "cases", len(cases), j, "merge_heads")
    if results is None:
        return
    for (what, x), case in zip(cases, results, strict=True):
        what = f"merge_heads on {what}"
        b, h, n, d = x.shape
        expected = torch.cat(x.unbind(1), dim=-1)
        out = case["out"]
        if is_error(out) and "view" in out[ERROR_KEY]:
            j.fail(
                f"{what} raised {out[ERROR_KEY]}. After a transpose the tensor is not contiguous: "
                "use .reshape(...) (or .contiguous().view(...))"
            )
            continue
        if j.expect_tensor(out, what, shape=(b, n, h * d), dtype=_dtype_name(x.dtype)):
            j.expect_close(
                out, expected, what, atol=0, rtol=0,
                hint="token t must hold [head 0 | head 1 | ...] of token t: transpose(1, 2) back to (B, N, h, d), "
                "then reshape to (B, N, h*d)",
            )
        j.expect(not case["modified"], f"{what} changed its input in place")


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


def _mask(case: Case) -> torch.Tensor | None:
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


def _params(case: Case, cross: bool) -> dict[str, torch.Tensor]:
    """Seeded parameters by contract name; weights ~ N(0, 1/fan_in) so the scores are O(1)."""
    out = {}
    for i, (name, shape) in enumerate(sorted(_param_shapes(case, cross).items())):
        t = randn(case.seed * 10 + i, *shape, dtype=case.dtype)
        out[name] = t / math.sqrt(shape[1]) if len(shape) == 2 else 0.2 * t
    return out


def _inputs(case: Case, cross: bool) -> dict[str, torch.Tensor]:
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
        for name, value in _params(case, cross).items():
            module.get_parameter(name).copy_(value)
    return module


def _run(cls: Any, case: Case, cross: bool) -> dict:
    module = _build(cls, case, cross)
    inputs = _inputs(case, cross)
    mask = _mask(case)
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
    inputs = {k: t.clone().requires_grad_(True) for k, t in _inputs(case, cross).items()}
    args = [inputs["x"], inputs["context"]] if cross else [inputs["x"]]
    mask = _mask(case)
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


def _torch_mask(mask: torch.Tensor | None, case: Case) -> torch.Tensor | None:
    """Our mask (True = may attend / additive float) -> nn.MultiheadAttention's additive (B*h, Nq, Nk)."""
    if mask is None:
        return None
    if mask.dtype == torch.bool:
        mask = torch.zeros(mask.shape, dtype=case.dtype).masked_fill(~mask, -math.inf)
    mask = mask.expand(case.batch, case.heads, case.nq, case.keys)
    return mask.reshape(case.batch * case.heads, case.nq, case.keys)


def _reference_module(case: Case, cross: bool) -> nn.MultiheadAttention:
    """nn.MultiheadAttention holding the seeded parameters, copied as the contract says."""
    p = _params(case, cross)
    d = case.dim
    if cross:
        ref = nn.MultiheadAttention(d, case.heads, kdim=case.context_dim, vdim=case.context_dim, batch_first=True)
    else:
        ref = nn.MultiheadAttention(d, case.heads, batch_first=True)
    ref = ref.to(case.dtype)
    with torch.no_grad():
        if cross and ref.in_proj_weight is not None:  # context_dim == dim: torch packs q, k, v in one matrix
            ref.in_proj_weight.copy_(torch.cat([p["q.weight"], p["kv.weight"]]))
            ref.in_proj_bias.copy_(torch.cat([p["q.bias"], p["kv.bias"]]))
        elif cross:
            ref.q_proj_weight.copy_(p["q.weight"])
            ref.k_proj_weight.copy_(p["kv.weight"][:d])
            ref.v_proj_weight.copy_(p["kv.weight"][d:])
            ref.in_proj_bias.copy_(torch.cat([p["q.bias"], p["kv.bias"]]))
        else:
            ref.in_proj_weight.copy_(p["qkv.weight"])
            ref.in_proj_bias.copy_(p["qkv.bias"] if "qkv.bias" in p else torch.zeros(3 * d, dtype=case.dtype))
        ref.out_proj.weight.copy_(p["proj.weight"])
        ref.out_proj.bias.copy_(p["proj.bias"])
    return ref


def _sdpa_reference(case: Case, cross: bool) -> torch.Tensor:
    """The same layer written with F.scaled_dot_product_attention (a second, independent reference)."""
    p, inputs, d, h = _params(case, cross), _inputs(case, cross), case.dim, case.heads
    x = inputs["x"]
    if cross:
        q = F.linear(x, p["q.weight"], p["q.bias"])
        k, v = F.linear(inputs["context"], p["kv.weight"], p["kv.bias"]).split(d, dim=-1)
    else:
        q, k, v = F.linear(x, p["qkv.weight"], p.get("qkv.bias")).split(d, dim=-1)

    def heads(t: torch.Tensor) -> torch.Tensor:
        return t.unflatten(-1, (h, d // h)).transpose(1, 2)

    out = F.scaled_dot_product_attention(heads(q), heads(k), heads(v), attn_mask=_mask(case))
    return F.linear(out.transpose(1, 2).flatten(2), p["proj.weight"], p["proj.bias"])


def _reference(case: Case, cross: bool) -> tuple[torch.Tensor, torch.Tensor]:
    ref = _reference_module(case, cross)
    inputs = _inputs(case, cross)
    kv = inputs["context"] if cross else inputs["x"]
    with torch.no_grad():
        out, weights = ref(inputs["x"], kv, kv, attn_mask=_torch_mask(_mask(case), case), average_attn_weights=False)
        second = _sdpa_reference(case, cross)
    tol = 1e-4 if case.dtype == torch.float32 else 1e-10
    if not torch.allclose(out, second, atol=tol, rtol=tol):  # the two references must agree before judging anyone
        raise RuntimeError(f"internal: nn.MultiheadAttention and F.scaled_dot_product_attention disagree on {case.what}")
    return out, weights


MASK_WORDS = {
    "bool2d": "a boolean (N_q, N_k) mask",
    "causal": "a causal (N, N) mask",
    "pad": "a (B, 1, 1, N_k) boolean padding mask",
    "bool4d": "a boolean (B, h, N_q, N_k) mask",
    "float2d": "a float (additive) (N_q, N_k) mask",
    "floatpad": "a float (additive) (B, 1, 1, N_k) padding mask of 0 and -inf",
    "float4d": "a float (additive) (B, h, N_q, N_k) mask",
}


def _judge_module(data: dict, j: Judge, cases: list[Case], grad_case: Case, cross: bool, name: str) -> None:
    results = _results(data, "cases", len(cases), j, name)
    if results is None:
        return
    shapes_reported = False
    for case, result in zip(cases, results, strict=True):
        what = f"{name} with {case.what}"
        if is_error(result):
            message = result[ERROR_KEY]
            if "parameters are" in message:
                if not shapes_reported:
                    j.fail(f"{name}: {message.split(': ', 1)[1]} (names and shapes are fixed by the contract)")
                    shapes_reported = True
            else:
                j.fail(f"{what} raised an error: {message}")
            continue
        if is_error(result["out"]):
            j.fail(f"{what} raised an error: {result['out'][ERROR_KEY]}")
            continue
        ref_out, ref_w = _reference(case, cross)
        dtype = _dtype_name(case.dtype)
        mask = _mask(case)
        w = result["attn_weights"]
        w_shape = (case.batch, case.heads, case.nq, case.keys)
        if isinstance(w, str) and w == "missing":
            j.fail(f"{what}: the module has no attribute attn_weights; store the softmax weights (B, h, N_q, N_k) there")
        elif j.expect_tensor(w, f"{what}: attn_weights", shape=w_shape, dtype=dtype):
            arr = w["data"].astype("float64")
            rows = arr.sum(-1)
            if math.isnan(rows.sum()):
                j.fail(
                    f"{what}: attn_weights contain NaN: some row had every key masked out. Is the mask inverted "
                    "(True must mean 'may attend')?"
                )
            elif not abs(rows - 1).max() < 1e-4:
                j.fail(
                    f"{what}: every row of attn_weights must sum to 1 over the keys (last axis); a row sums to "
                    f"{rows.flat[abs(rows - 1).argmax()]:.4g}. Store the weights after the softmax, and take it over the keys."
                )
            elif mask is not None and (mask.dtype == torch.bool or bool(torch.isinf(mask).any())):
                blocked = ((~mask) if mask.dtype == torch.bool else torch.isinf(mask)).expand(w_shape).numpy()
                j.expect(
                    bool((arr[blocked] == 0).all()),
                    f"{what}: attn_weights must be exactly 0 on blocked keys (a bool mask's False, a float mask's -inf); "
                    f"the largest weight on a blocked key is {arr[blocked].max():.3g}. Is the mask inverted, ignored or "
                    "broadcast wrongly?",
                )
            j.expect_close(
                w, ref_w, f"{what}: attn_weights", atol=1e-5, rtol=1e-4,
                hint=_weights_hint(case, cross),
            )
        if j.expect_tensor(result["out"], f"{what}: output", shape=tuple(ref_out.shape), dtype=dtype):
            j.expect_close(
                result["out"], ref_out, f"{what}: output", atol=1e-5, rtol=1e-4,
                hint="out = proj(merge_heads(weights @ v)); check the [q | k | v] order"
                + (" ([k | v] from kv(context))" if cross else "")
                + " and that the output projection is applied",
            )
        j.expect(not result["modified"], f"{what} changed an input tensor (or the mask) in place")
    _judge_grads(data.get("grads"), j, grad_case, cross, name)


def _weights_hint(case: Case, cross: bool) -> str:
    parts = ["weights = softmax(q_i k_i^T / sqrt(d)) with d = dim // num_heads, the head width"]
    parts.append("queries from x, keys from context" if cross else "q is the first third of qkv's output, k the second")
    if case.mask.startswith("float"):
        parts.append("a float mask is added to the scores before the softmax")
    elif case.mask != "none":
        parts.append("a bool mask keeps scores where it is True and sets the others to -inf")
    return "; ".join(parts)


def _judge_grads(grads: Any, j: Judge, case: Case, cross: bool, name: str) -> None:
    what = f"{name}: backward pass with {case.what}"
    if not j.expect_ok(grads, what):
        return
    if not isinstance(grads, dict):
        j.fail(f"{what}: the hidden checks received no gradients (the probe did not run to the end)")
        return
    ref = _reference_module(case, cross)
    inputs = {k: t.clone().requires_grad_(True) for k, t in _inputs(case, cross).items()}
    kv = inputs["context"] if cross else inputs["x"]
    out, _ = ref(inputs["x"], kv, kv, attn_mask=_torch_mask(_mask(case), case))
    (out * randn(case.seed + 3, *out.shape, dtype=case.dtype)).sum().backward()
    d = case.dim
    expected = {"parameter proj.weight": ref.out_proj.weight.grad, "parameter proj.bias": ref.out_proj.bias.grad}
    if cross and ref.in_proj_weight is not None:
        expected["parameter q.weight"] = ref.in_proj_weight.grad[:d]
        expected["parameter kv.weight"] = ref.in_proj_weight.grad[d:]
    elif cross:
        expected["parameter q.weight"] = ref.q_proj_weight.grad
        expected["parameter kv.weight"] = torch.cat([ref.k_proj_weight.grad, ref.v_proj_weight.grad])
    if cross:
        expected["parameter q.bias"] = ref.in_proj_bias.grad[:d]
        expected["parameter kv.bias"] = ref.in_proj_bias.grad[d:]
    else:
        expected["parameter qkv.weight"] = ref.in_proj_weight.grad
        expected["parameter qkv.bias"] = ref.in_proj_bias.grad
    expected.update({f"input {k}": t.grad for k, t in inputs.items()})
    for key, ref_grad in expected.items():
        got = grads.get(key)
        if got is None:
            j.fail(
                f"{what}: no gradient reached {key}. Keep every step in differentiable torch operations "
                "(no .detach() on the path to the output, no .data, no in-place edits of the weights)"
            )
            continue
        j.expect_close(got, ref_grad, f"{what}: gradient of {key}", atol=1e-5, rtol=1e-4)


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


@REGISTRY.exercise("MultiHeadSelfAttention", probe_mhsa)
def judge_mhsa(data: dict, j: Judge) -> None:
    _judge_module(data, j, MHSA_CASES, MHSA_GRAD_CASE, cross=False, name="MultiHeadSelfAttention")


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


@REGISTRY.exercise("CrossAttention", probe_cross)
def judge_cross(data: dict, j: Judge) -> None:
    _judge_module(data, j, CROSS_CASES, CROSS_GRAD_CASE, cross=True, name="CrossAttention")


# ---------------------------------------------------------------------------- 2-D sin-cos position embedding
SINCOS_TOL = 1e-4  # float32 sin/cos of positions up to ~20 radians: errors ~1e-6; every wrong layout is off by O(0.1-1)


def _sincos_cases() -> list[tuple[str, tuple, dict]]:
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


def _sincos_bad_dims() -> list[tuple[int, int, int]]:
    """(grid_h, grid_w, dim) with dim not divisible by 4: each must raise ValueError."""
    return [(4, 4, 6), (3, 3, 10), (2, 2, 2)]


def probe_sincos(fn: Any) -> dict:
    return {
        "cases": [attempt(fn, *args, **kwargs) for _, args, kwargs in _sincos_cases()],
        "bad_dims": [attempt(fn, *args) for args in _sincos_bad_dims()],
    }


def _sincos_arguments(args: tuple, kwargs: dict) -> tuple[int, int, int, float, int]:
    names = ("grid_h", "grid_w", "dim", "temperature", "num_prefix_tokens")
    values = {"temperature": 10000.0, "num_prefix_tokens": 0, **dict(zip(names[: len(args)], args, strict=True)), **kwargs}
    return tuple(values[n] for n in names)


def _mae_sincos(grid_h: int, grid_w: int, dim: int, temperature: float, prefix: int) -> np.ndarray:
    """MAE's get_2d_sincos_pos_embed (util/pos_embed.py), generalised to grid_h x grid_w and a temperature."""

    def one_axis(d: int, pos: np.ndarray) -> np.ndarray:
        omega = np.arange(d // 2, dtype=np.float64) / (d / 2.0)
        omega = 1.0 / temperature**omega
        out = np.einsum("m,d->md", pos.reshape(-1).astype(np.float64), omega)
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)

    grid = np.stack(np.meshgrid(np.arange(grid_w, dtype=np.float32), np.arange(grid_h, dtype=np.float32)), axis=0)
    emb = np.concatenate([one_axis(dim // 2, grid[0]), one_axis(dim // 2, grid[1])], axis=1)  # grid[0] = column
    return np.concatenate([np.zeros((prefix, dim)), emb], axis=0)


def _sincos_layouts(grid_h: int, grid_w: int, dim: int, temperature: float, prefix: int) -> dict[str, torch.Tensor]:
    """The contract's layout, written a second way (torch, float64), and typical wrong ones, for hints."""
    f = dim // 4
    k = torch.arange(f, dtype=torch.float64)
    omega = temperature ** (-k / f)
    r, c = torch.meshgrid(torch.arange(grid_h, dtype=torch.float64), torch.arange(grid_w, dtype=torch.float64), indexing="ij")
    r, c = r.reshape(-1, 1), c.reshape(-1, 1)
    rt, ct = (t.reshape(grid_h, grid_w).T.reshape(-1, 1) for t in (r, c))  # tokens in column-major order

    def blocks(x: torch.Tensor, y: torch.Tensor, w: torch.Tensor = omega) -> list[torch.Tensor]:
        return [torch.sin(x * w), torch.cos(x * w), torch.sin(y * w), torch.cos(y * w)]

    def interleaved(pos: torch.Tensor) -> torch.Tensor:
        return torch.stack([torch.sin(pos * omega), torch.cos(pos * omega)], dim=-1).flatten(1)

    sx, cx, sy, cy = blocks(c, r)
    layouts = {
        "right": torch.cat([sx, cx, sy, cy], 1),
        "the row (y) coordinate in the first half and the column (x) in the second (the halves are swapped; "
        "MoCo v3's code gives this on square grids)": torch.cat([sy, cy, sx, cx], 1),
        "the tokens in column-major order (token t = c*grid_h + r) instead of row-major (t = r*grid_w + c)":
            torch.cat(blocks(ct, rt), 1),
        "[sin x | sin y | cos x | cos y] instead of [sin x | cos x | sin y | cos y]": torch.cat([sx, sy, cx, cy], 1),
        "sin and cos interleaved channel by channel (the 1-D Transformer layout) instead of in blocks":
            torch.cat([interleaved(c), interleaved(r)], 1),
        "frequencies T^(-k/(dim/2)) (the exponent divides by dim/2, the 1-D formula) instead of T^(-k/(dim/4))":
            torch.cat(blocks(c, r, temperature ** (-k / (dim // 2))), 1),
        "frequencies T^(-(k+1)/(dim/4)) (k counted from 1) instead of T^(-k/(dim/4)) with k = 0 .. dim/4 - 1":
            torch.cat(blocks(c, r, temperature ** (-(k + 1) / f)), 1),
        "frequencies T^(-k/(dim/4 - 1)) (a linspace from 0 to 1) instead of T^(-k/(dim/4))":
            torch.cat(blocks(c, r, temperature ** (-k / max(f - 1, 1))), 1),
        "positions divided by the grid size instead of the integer indices r and c":
            torch.cat(blocks(c / grid_w, r / grid_h), 1),
        "the default temperature 10000 instead of the temperature argument":
            torch.cat(blocks(c, r, 10000.0 ** (-k / f)), 1),
    }
    return {name: torch.cat([torch.zeros(prefix, dim, dtype=torch.float64), emb]) for name, emb in layouts.items()}


def _sincos_diagnosis(got: np.ndarray, layouts: dict[str, torch.Tensor], prefix: int) -> str:
    """Name the typical mistake whose output matches the student's, if one does."""
    for name, emb in layouts.items():
        same = emb.shape == got.shape and np.allclose(got[prefix:], emb.numpy()[prefix:], atol=SINCOS_TOL, rtol=0)
        if name != "right" and same:
            return f"your embedding matches {name}"
    return (
        "token t = r*grid_w + c must hold [sin(c*w_k) | cos(c*w_k) | sin(r*w_k) | cos(r*w_k)], blocks of dim/4 channels, "
        "with w_k = temperature^(-k/(dim/4)), k = 0 .. dim/4 - 1"
    )


@REGISTRY.exercise("sincos_pos_embed_2d", probe_sincos)
def judge_sincos(data: dict, j: Judge) -> None:
    name = "sincos_pos_embed_2d"
    cases = _sincos_cases()
    results = _results(data, "cases", len(cases), j, name)
    bad = _results(data, "bad_dims", len(_sincos_bad_dims()), j, name)
    if results is not None:
        _judge_sincos_cases(cases, results, j, name)
    if bad is not None:
        _judge_sincos_bad_dims(bad, j, name)


def _judge_sincos_cases(cases: list[tuple[str, tuple, dict]], results: list, j: Judge, name: str) -> None:
    for (what, args, kwargs), got in zip(cases, results, strict=True):
        grid_h, grid_w, dim, temperature, prefix = _sincos_arguments(args, kwargs)
        what = f"{name} for {what}"
        expected = _mae_sincos(grid_h, grid_w, dim, temperature, prefix)
        layouts = _sincos_layouts(grid_h, grid_w, dim, temperature, prefix)
        if not np.allclose(expected, layouts["right"].numpy(), atol=1e-9, rtol=0):  # the two references must agree
            raise RuntimeError(f"internal: the two references of {name} disagree on {what}")
        rows = prefix + grid_h * grid_w
        if not j.expect_tensor(got, what, shape=(rows, dim)):
            continue
        if got["dtype"] != "float32":
            j.fail(f"{what} has dtype {got['dtype']}; return float32, the dtype of the patch tokens it is added to")
            continue
        arr = array(got).astype(np.float64)
        if prefix and not (arr[:prefix] == 0).all():
            j.fail(
                f"{what}: the first {prefix} row(s) are for prefix tokens (a class token has no position) and must be "
                "exactly 0; the grid's embeddings follow them"
            )
            continue
        j.expect_close(got, expected, what, atol=SINCOS_TOL, rtol=0, hint=_sincos_diagnosis(arr, layouts, prefix))


def _judge_sincos_bad_dims(results: list, j: Judge, name: str) -> None:
    for (grid_h, grid_w, dim), got in zip(_sincos_bad_dims(), results, strict=True):
        if not (is_error(got) and got[ERROR_KEY].startswith("ValueError")):
            outcome = describe(got) if is_error(got) else f"returned {describe(got)}"
            j.fail(
                f"{name}({grid_h}, {grid_w}, {dim}) should raise ValueError: dim={dim} cannot be cut into four blocks "
                f"of dim/4 channels; it {outcome}"
            )


# ---------------------------------------------------------------------------- concept questions
REGISTRY.quiz(
    "quiz_1", "D",
    "The heads split one set of projections: qkv is dim x 3dim and proj is dim x dim whatever h is, "
    "so the count is 4*dim^2 + 4*dim; more heads only means narrower heads.",
)
REGISTRY.quiz(
    "quiz_2", "B",
    "Every output row is computed by the same formula from the whole set of tokens, so permuting the inputs "
    "permutes the outputs the same way (equivariance, not invariance); W_O mixes channels, never tokens. "
    "Positions must be added to tell patches apart.",
)
REGISTRY.quiz(
    "quiz_3", "A",
    "The output has one row per query, (B, N_q, dim); the weights have one row per query and one column per key, "
    "per head: (B, h, N_q, N_k). Put the numbers of the question into these shapes.",
)
REGISTRY.quiz(
    "quiz_4", "C",
    "Without projections the score of key j for query i is x_i . x_j <= |x_i| |x_j|: the self-score |x_i|^2 is the "
    "largest only when no other token is longer in nearly the same direction (always true if all norms are equal). "
    "Compute the three scores of x_1; the common scale 1/sqrt(2) does not change which is largest.",
)
