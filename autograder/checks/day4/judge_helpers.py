"""Judge side of day4_self_cross_attention: references, typical mistakes and hints the judges use.

No probe reaches this module, so none of it enters the sandbox (``autograder/sandbox/strip.py``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from autograder.checks.day4.probes import Case, case_inputs, case_mask, seeded_params, sincos_bad_dims
from autograder.harness import ERROR_KEY, Judge, array, describe, dtype_name, is_error, randn


# ---------------------------------------------------------------------------- split / merge heads
def reference_split(x: torch.Tensor, h: int) -> torch.Tensor:
    b, n, c = x.shape
    return torch.stack([x[..., i * (c // h) : (i + 1) * (c // h)] for i in range(h)], dim=1)


# ---------------------------------------------------------------------------- attention modules
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
    p = seeded_params(case, cross)
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
    p, inputs, d, h = seeded_params(case, cross), case_inputs(case, cross), case.dim, case.heads
    x = inputs["x"]
    if cross:
        q = F.linear(x, p["q.weight"], p["q.bias"])
        k, v = F.linear(inputs["context"], p["kv.weight"], p["kv.bias"]).split(d, dim=-1)
    else:
        q, k, v = F.linear(x, p["qkv.weight"], p.get("qkv.bias")).split(d, dim=-1)

    def heads(t: torch.Tensor) -> torch.Tensor:
        return t.unflatten(-1, (h, d // h)).transpose(1, 2)

    out = F.scaled_dot_product_attention(heads(q), heads(k), heads(v), attn_mask=case_mask(case))
    return F.linear(out.transpose(1, 2).flatten(2), p["proj.weight"], p["proj.bias"])


def _reference(case: Case, cross: bool) -> tuple[torch.Tensor, torch.Tensor]:
    ref = _reference_module(case, cross)
    inputs = case_inputs(case, cross)
    kv = inputs["context"] if cross else inputs["x"]
    with torch.no_grad():
        out, weights = ref(inputs["x"], kv, kv, attn_mask=_torch_mask(case_mask(case), case), average_attn_weights=False)
        second = _sdpa_reference(case, cross)
    tol = 1e-4 if case.dtype == torch.float32 else 1e-10
    if not torch.allclose(out, second, atol=tol, rtol=tol):  # the two references must agree before judging anyone
        raise RuntimeError(f"internal: nn.MultiheadAttention and F.scaled_dot_product_attention disagree on {case.what}")
    return out, weights


def judge_module(data: dict, j: Judge, cases: list[Case], grad_case: Case, cross: bool, name: str) -> None:
    results = j.results(data, "cases", len(cases), name)
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
        dtype = dtype_name(case.dtype)
        mask = case_mask(case)
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
    inputs = {k: t.clone().requires_grad_(True) for k, t in case_inputs(case, cross).items()}
    kv = inputs["context"] if cross else inputs["x"]
    out, _ = ref(inputs["x"], kv, kv, attn_mask=_torch_mask(case_mask(case), case))
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


# ---------------------------------------------------------------------------- 2-D sin-cos position embedding
SINCOS_TOL = 1e-4  # float32 sin/cos of positions up to ~20 radians: errors ~1e-6; every wrong layout is off by O(0.1-1)


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


def judge_sincos_cases(cases: list[tuple[str, tuple, dict]], results: list, j: Judge, name: str) -> None:
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


def judge_sincos_bad_dims(results: list, j: Judge, name: str) -> None:
    for (grid_h, grid_w, dim), got in zip(sincos_bad_dims(), results, strict=True):
        if not (is_error(got) and got[ERROR_KEY].startswith("ValueError")):
            outcome = describe(got) if is_error(got) else f"returned {describe(got)}"
            j.fail(
                f"{name}({grid_h}, {grid_w}, {dim}) should raise ValueError: dim={dim} cannot be cut into four blocks "
                f"of dim/4 channels; it {outcome}"
            )
