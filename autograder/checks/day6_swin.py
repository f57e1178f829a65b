"""Hidden checks for day6_swin: the pieces of a Swin Transformer block.

References, all computed in the judge: torchvision's ``SwinTransformerBlock`` and ``PatchMerging``
(through the weight mapping of ``autograder.reference.day6_swin``), the Swin authors' reference
code for the relative position index, the shifted-window mask and window attention, and
entry-by-entry loop versions of the same tables.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from autograder.harness import Judge, Registry, array, attempt, guarded, is_error, is_tensor, plain, randn
from autograder.reference import day6_swin as ref

REGISTRY = Registry("day6_swin")


def _dtype(t: torch.Tensor) -> str:
    return str(t.dtype).replace("torch.", "")


def _load(module: Any, params: dict[str, torch.Tensor]) -> Any:
    """Load the seeded parameters strictly (names and shapes are fixed by the contract)."""
    return guarded(lambda: (module.load_state_dict(params, strict=True), None)[1])


def _matches(value: Any, expected: torch.Tensor, atol: float = 1e-5) -> bool:
    """Whether a probed tensor equals ``expected`` (used to name a typical mistake)."""
    if not is_tensor(value) or tuple(value["shape"]) != tuple(expected.shape):
        return False
    return bool(np.allclose(array(value).astype(np.float64), expected.double().numpy(), atol=atol, rtol=1e-4))


# ---------------------------------------------------------------------------- FLOP formulas
MSA_CASES = [(1, 1, 1), (2, 3, 4), (56, 56, 96), (28, 28, 192), (14, 14, 384), (7, 7, 768), (3, 5, 7), (100, 1, 2)]
WMSA_CASES = [(1, 1, 1, 1), (2, 2, 3, 2), (56, 56, 96, 7), (28, 28, 192, 7), (3, 5, 7, 1), (64, 32, 16, 8), (12, 12, 5, 4)]


def probe_msa_flops(fn: Any) -> dict:
    return {"values": [attempt(fn, *case) for case in MSA_CASES]}


@REGISTRY.exercise("msa_flops", probe_msa_flops)
def judge_msa_flops(data: dict, j: Judge) -> None:
    for (h, w, C), got in zip(MSA_CASES, data["values"], strict=True):
        expected = 4 * h * w * C**2 + 2 * (h * w) ** 2 * C
        if not j.expect_number(got, expected, f"msa_flops({h}, {w}, {C})"):
            j.fail(f"msa_flops is 4*h*w*C**2 (projections) + 2*(h*w)**2*C (QK^T and weights@V); got {got!r} for "
                   f"h={h}, w={w}, C={C}, expected {expected}")
            return


def probe_wmsa_flops(fn: Any) -> dict:
    return {"values": [attempt(fn, *case) for case in WMSA_CASES]}


@REGISTRY.exercise("wmsa_flops", probe_wmsa_flops)
def judge_wmsa_flops(data: dict, j: Judge) -> None:
    for (h, w, C, M), got in zip(WMSA_CASES, data["values"], strict=True):
        expected = 4 * h * w * C**2 + 2 * M**2 * h * w * C
        if not j.expect_number(got, expected, f"wmsa_flops({h}, {w}, {C}, {M})"):
            j.fail(f"wmsa_flops is 4*h*w*C**2 + 2*M**2*h*w*C (each of the hw/M^2 windows attends over M^2 tokens); "
                   f"got {got!r} for h={h}, w={w}, C={C}, M={M}, expected {expected}")
            return


# ---------------------------------------------------------------------------- partition / reverse
def _partition_cases() -> list[tuple[str, torch.Tensor, int]]:
    """(description, input (B, H, W, C), window size); rebuilt identically by the judge."""
    return [
        ("a (2, 8, 12, 3) map with 4x4 windows", randn(600, 2, 8, 12, 3), 4),
        ("a (1, 6, 6, 5) map with 3x3 windows", randn(601, 1, 6, 6, 5), 3),
        ("a (3, 4, 4, 2) map that is a single 4x4 window", randn(602, 3, 4, 4, 2), 4),
        ("a (1, 14, 7, 4) map with 7x7 windows", randn(603, 1, 14, 7, 4), 7),
        ("a (2, 6, 4, 1) map with 2x2 windows", randn(604, 2, 6, 4, 1), 2),
        ("a float64 (2, 4, 6, 3) map with 2x2 windows", randn(605, 2, 4, 6, 3, dtype=torch.float64), 2),
    ]


def _column_major(x: torch.Tensor, ws: int) -> torch.Tensor:
    B, H, W, C = x.shape
    x = x.reshape(B, H // ws, ws, W // ws, ws, C)
    return x.permute(0, 3, 1, 2, 4, 5).reshape(-1, ws, ws, C)


def probe_window_partition(fn: Any) -> dict:
    cases = []
    for _, x, ws in _partition_cases():
        before = x.clone()
        cases.append({"out": attempt(fn, x, ws), "modified": not torch.equal(before, x)})
    return {"cases": cases}


@REGISTRY.exercise("window_partition", probe_window_partition)
def judge_window_partition(data: dict, j: Judge) -> None:
    for (what, x, ws), case in zip(_partition_cases(), data["cases"], strict=True):
        what = f"window_partition on {what}"
        expected = ref.window_partition_loops(x, ws)
        got = case["out"]
        if not j.expect_tensor(got, what, shape=tuple(expected.shape), dtype=_dtype(x)):
            continue
        hint = "windows are listed row-major: image 0's top row of windows left to right, then its next row"
        if _matches(got, _column_major(x, ws), atol=0) and not _matches(got, expected, atol=0):
            hint = ("your windows come out in column-major order (down the first column of windows first); "
                    "permute to (B, H/ws, W/ws, ws, ws, C) so the window column index varies fastest")
        j.expect_equal(got, expected, what, hint=hint)
        j.expect(not case["modified"], f"{what} changed its input in place")


def probe_window_reverse(fn: Any) -> dict:
    cases = []
    for i, (_, x, ws) in enumerate(_partition_cases()):
        B, H, W, C = x.shape
        windows = ref.window_partition_official(x, ws)
        before = windows.clone()
        other = randn(700 + i, *windows.shape, dtype=x.dtype)  # arbitrary windows, not from a partition of x
        cases.append({
            "out": attempt(fn, windows, ws, H, W),
            "other": attempt(fn, other, ws, H, W),
            "modified": not torch.equal(before, windows),
        })
    return {"cases": cases}


@REGISTRY.exercise("window_reverse", probe_window_reverse)
def judge_window_reverse(data: dict, j: Judge) -> None:
    for i, ((what, x, ws), case) in enumerate(zip(_partition_cases(), data["cases"], strict=True)):
        B, H, W, C = x.shape
        label = f"window_reverse(window_partition(x, {ws}), {ws}, {H}, {W}) for {what}"
        hint = "window_reverse must undo window_partition exactly: windows row-major, image by image"
        if j.expect_tensor(case["out"], label, shape=tuple(x.shape), dtype=_dtype(x)):
            j.expect_equal(case["out"], x, label, hint=hint)
        other = randn(700 + i, B * (H // ws) * (W // ws), ws, ws, C, dtype=x.dtype)
        expected = other.reshape(B, H // ws, W // ws, ws, ws, C).permute(0, 1, 3, 2, 4, 5).reshape(B, H, W, C)
        label = f"window_reverse of arbitrary windows for {what}"
        if j.expect_tensor(case["other"], label, shape=tuple(x.shape), dtype=_dtype(x)):
            j.expect_equal(case["other"], expected, label, hint=hint)
        j.expect(not case["modified"], f"window_reverse changed its input windows in place ({what})")


# ---------------------------------------------------------------------------- relative position index
INDEX_SIZES = (1, 2, 3, 4, 5, 7)


def probe_relative_position_index(fn: Any) -> dict:
    return {"indices": [attempt(fn, ws) for ws in INDEX_SIZES]}


def _index_hint(got: Any, ws: int) -> str:
    coords = torch.stack(torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)
    official = ref.relative_position_index_official(ws)
    guesses = [
        (official.T, "your index is transposed: use coords[i] - coords[j] (query minus key), as the reference code"),
        (rel[..., 0] * (2 * ws - 1) + rel[..., 1], "add ws - 1 to both offsets before combining them"),
        ((rel[..., 0] + ws - 1) + (rel[..., 1] + ws - 1), "multiply the shifted row offset by 2*ws - 1"),
        ((rel[..., 0] + ws - 1) * ws + (rel[..., 1] + ws - 1),
         "the row offset is multiplied by 2*ws - 1 (the number of column offsets), not ws"),
        ((rel[..., 1] + ws - 1) * (2 * ws - 1) + (rel[..., 0] + ws - 1), "the ROW offset (dy) is the one multiplied by 2*ws - 1"),
    ]
    for table, hint in guesses:
        if _matches(got, table, atol=0):
            return hint
    return "index[i, j] = (dy + ws - 1) * (2ws - 1) + (dx + ws - 1) with (dy, dx) = position of token i minus that of token j"


@REGISTRY.exercise("relative_position_index", probe_relative_position_index)
def judge_relative_position_index(data: dict, j: Judge) -> None:
    for ws, got in zip(INDEX_SIZES, data["indices"], strict=True):
        what = f"relative_position_index({ws})"
        expected = ref.relative_position_index_official(ws)
        if not torch.equal(expected, ref.relative_position_index_loops(ws)):  # the two references agree
            j.fail("internal: the reference indices disagree")
        if not j.expect_tensor(got, what, shape=(ws * ws, ws * ws)):
            continue
        if got["dtype"] != "int64":
            j.fail(f"{what} has dtype {got['dtype']}; it indexes a table, so it must be torch.long (int64)")
            continue
        if ws > 1:
            j.expect_equal(got, expected, what, hint=_index_hint(got, ws))
        else:
            j.expect_equal(got, expected, what, hint="a 1x1 window has one pair (0, 0): index 0")


# ---------------------------------------------------------------------------- shifted-window mask
MASK_CASES = [
    (8, 8, 4, 2), (4, 4, 2, 1), (12, 8, 4, 2), (8, 12, 4, 1), (14, 14, 7, 3), (6, 9, 3, 1), (4, 8, 2, 1), (16, 16, 4, 3),
]


def probe_shifted_window_mask(fn: Any) -> dict:
    return {"masks": [attempt(fn, *case) for case in MASK_CASES]}


def _mask_hint(got: Any, H: int, W: int, ws: int, shift: int, expected: torch.Tensor) -> str:
    values = set(np.unique(array(got)).tolist()) if is_tensor(got) else set()
    if any(v == float("-inf") for v in values):
        return "use -100.0 (the reference value), not -inf, for pairs in different regions"
    if values <= {0.0, 1.0} or values <= {0.0, -1.0}:
        return "the mask is additive: 0.0 within a region, -100.0 across regions (not 1/0 or True/False)"
    if _matches(got, torch.where(expected == 0, -100.0, 0.0), atol=0):
        return "the signs are swapped: 0.0 where two tokens share a region, -100.0 where they do not"
    if _matches(got, torch.zeros_like(expected), atol=0):
        return ("the mask is all zeros: label the regions of the ROLLED map "
                "(strips [0, size-ws), [size-ws, size-shift), [size-shift, size))")
    return ("label the rolled map by strips [0, size-ws), [size-ws, size-shift), [size-shift, size) along each axis, "
            "cut the labels into windows row-major, and compare labels of every query/key pair")


@REGISTRY.exercise("shifted_window_mask", probe_shifted_window_mask)
def judge_shifted_window_mask(data: dict, j: Judge) -> None:
    for (H, W, ws, shift), got in zip(MASK_CASES, data["masks"], strict=True):
        what = f"shifted_window_mask({H}, {W}, {ws}, {shift})"
        expected = ref.shifted_window_mask_official(H, W, ws, shift)
        if not torch.equal(expected, ref.shifted_window_mask_loops(H, W, ws, shift)):
            j.fail("internal: the reference masks disagree")
        if not j.expect_tensor(got, what, shape=tuple(expected.shape)):
            continue
        if got["dtype"] not in ("float32", "float64", "float16", "bfloat16"):
            j.fail(f"{what} has dtype {got['dtype']}; it is added to the scores, so it must be a float tensor (0.0 / -100.0)")
            continue
        j.expect_close(got, expected, what, atol=1e-6, rtol=0, hint=_mask_hint(got, H, W, ws, shift, expected))


# ---------------------------------------------------------------------------- window attention
WA_CASES = [
    # (description, dim, ws, heads, qkv_bias, batch, mask kind, dtype)
    ("dim 16, 3x3 windows, 4 heads, 6 windows, no mask", 16, 3, 4, True, 1, None, torch.float32),
    ("dim 16, 3x3 windows, 4 heads, 2 images x 6 windows of a (6, 9) map, shifted-window mask",
     16, 3, 4, True, 2, "shift", torch.float32),
    ("dim 24, 4x4 windows, 3 heads, 3 images x 4 windows, random additive mask", 24, 4, 3, True, 3, "random", torch.float32),
    ("dim 8, 2x2 windows, 2 heads, qkv_bias=False", 8, 2, 2, False, 2, None, torch.float32),
    ("dim 6, 2x2 windows, 1 head, shifted-window mask", 6, 2, 1, True, 2, "shift", torch.float32),
    ("float64, dim 16, 3x3 windows, 2 heads, shifted-window mask", 16, 3, 2, True, 2, "shift", torch.float64),
]


def _wa_inputs(i: int) -> tuple[torch.Tensor, torch.Tensor | None, dict[str, torch.Tensor]]:
    _, dim, ws, heads, qkv_bias, batch, kind, dtype = WA_CASES[i]
    n_w = 6 if kind == "shift" or kind is None else 4
    x = randn(800 + i, batch * n_w, ws * ws, dim, dtype=dtype)
    mask = None
    if kind == "shift":
        mask = ref.shifted_window_mask_official(2 * ws, 3 * ws, ws, 1)  # 6 windows
    elif kind == "random":
        mask = 3.0 * randn(820 + i, n_w, ws * ws, ws * ws)
    params = {k: v.to(dtype) for k, v in ref.window_attention_params(840 + i, dim, ws, heads, qkv_bias).items()}
    return x, mask, params


def _wa_run(cls: Any, i: int) -> dict:
    _, dim, ws, heads, qkv_bias, *_ = WA_CASES[i]
    x, mask, params = _wa_inputs(i)
    module = cls(dim, ws, heads, qkv_bias=qkv_bias)
    result: dict = {
        "keys": sorted(module.state_dict().keys()),
        "buffers": sorted(name for name, _ in module.named_buffers()),
        "index": plain(dict(module.named_buffers()).get("relative_position_index")),
    }
    module = module.to(x.dtype)
    loaded = _load(module, params)
    result["load"] = loaded
    if is_error(loaded):
        return result
    module.eval()
    x_before = x.clone()
    args = (x,) if mask is None else (x, mask)
    result["out"] = attempt(module, *args)
    result["modified"] = not torch.equal(x_before, x)
    if i == 1:  # gradients reach every parameter
        module.zero_grad()
        out = module(*args)
        (out * randn(899, *out.shape)).sum().backward()
        result["grads"] = {name: plain(p.grad) for name, p in module.named_parameters()}
    return result


def probe_window_attention(cls: Any) -> dict:
    return {"cases": [guarded(lambda i=i: _wa_run(cls, i)) for i in range(len(WA_CASES))]}


def _wa_reference(i: int, transposed: bool = False, scale_dim: bool = False) -> torch.Tensor:
    _, dim, ws, heads, *_ = WA_CASES[i]
    x, mask, params = _wa_inputs(i)
    if transposed or scale_dim:  # a typical mistake, to name it in the message
        n = ws * ws
        index = ref.relative_position_index_official(ws)
        index = index.T if transposed else index
        qkv = torch.nn.functional.linear(x, params["qkv.weight"], params.get("qkv.bias"))
        q, k, v = qkv.reshape(x.shape[0], n, 3, heads, dim // heads).permute(2, 0, 3, 1, 4)
        attn = q @ k.transpose(-2, -1) * (dim if scale_dim else dim // heads) ** -0.5
        attn = attn + params["relative_position_bias_table"][index.reshape(-1)].view(n, n, -1).permute(2, 0, 1)
        if mask is not None:
            attn = (attn.view(-1, mask.shape[0], heads, n, n) + mask.to(x.dtype)[None, :, None]).view(-1, heads, n, n)
        out = (attn.softmax(-1) @ v).transpose(1, 2).reshape(x.shape)
        return torch.nn.functional.linear(out, params["proj.weight"], params["proj.bias"])
    return ref.window_attention_official(x, params, ws, heads, mask)


@REGISTRY.exercise("WindowAttention", probe_window_attention)
def judge_window_attention(data: dict, j: Judge) -> None:
    for i, case in enumerate(data["cases"]):
        what, dim, ws, heads, qkv_bias, batch, kind, dtype = WA_CASES[i]
        what = f"WindowAttention({dim}, {ws}, {heads}{', qkv_bias=False' if not qkv_bias else ''}) with {what}"
        if not j.expect_ok(case, what):
            continue
        x, mask, params = _wa_inputs(i)
        expected_keys = sorted(params)
        if case["keys"] != expected_keys:
            j.fail(f"{what}: state_dict keys are {case['keys']}, expected {expected_keys} "
                   "(qkv, proj, relative_position_bias_table; relative_position_index must be a non-persistent buffer)")
            continue
        if "relative_position_index" not in case["buffers"]:
            j.fail(f"{what}: register relative_position_index with register_buffer(..., persistent=False)")
        elif j.expect_tensor(case["index"], f"{what}: the relative_position_index buffer"):
            n = ws * ws
            idx = array(case["index"]).reshape(-1)
            j.expect(idx.size == n * n and bool((idx == ref.relative_position_index_official(ws).numpy().reshape(-1)).all()),
                     f"{what}: the relative_position_index buffer differs from the reference index (Exercise 4)")
        if not j.expect_ok(case["load"], f"{what}: loading parameters"):
            continue
        if not j.expect_tensor(case["out"], f"{what}: output", shape=tuple(x.shape), dtype=_dtype(x)):
            continue
        atol = 1e-10 if dtype == torch.float64 else 2e-5
        expected = ref.window_attention_official(x, params, ws, heads, mask)
        hint = ("scores = q k^T / sqrt(head_dim) + bias[h, i, j] with bias = table[index[i, j], h], plus mask[w] for "
                "window w of every image, softmax over keys, values, merge heads, proj")
        if _matches(case["out"], _wa_reference(i, transposed=True)):
            hint = "the bias table is indexed with the transposed index: bias[h, i, j] = table[index[i, j], h]"
        elif _matches(case["out"], _wa_reference(i, scale_dim=True)):
            hint = "scale by 1/sqrt(head_dim) = 1/sqrt(dim // num_heads), not 1/sqrt(dim)"
        elif kind == "random":
            hint = ("window w of EVERY image gets mask[w]: view the scores as (B, nW, heads, N, N) and add "
                    "mask[None, :, None] (windows of one image are consecutive)")
        j.expect_close(case["out"], expected, f"{what}: output", atol=atol, rtol=1e-4 if dtype == torch.float32 else 1e-8,
                       hint=hint)
        j.expect(not case.get("modified"), f"{what} changed its input in place")
        if dtype == torch.float32 and kind is None and ws == 3:  # cross-check with torchvision, one window per image
            tv = _torchvision_window_attention(x, params, ws, heads)
            j.expect_close(case["out"], tv, f"{what}: output vs torchvision's window attention", atol=atol, hint=hint)
        if "grads" in case:
            xg, maskg, paramsg = _wa_inputs(i)
            leaves = {k: v.clone().requires_grad_(True) for k, v in paramsg.items()}
            out = ref.window_attention_official(xg, leaves, ws, heads, maskg)
            (out * randn(899, *out.shape)).sum().backward()
            for name, leaf in leaves.items():
                got = case["grads"].get(name)
                if got is None:
                    j.fail(f"{what}: no gradient reached {name}; keep every step in differentiable torch operations")
                    continue
                j.expect_close(got, leaf.grad, f"{what}: gradient of {name}", atol=1e-4, rtol=1e-3)


def _torchvision_window_attention(x: torch.Tensor, params: dict, ws: int, heads: int) -> torch.Tensor:
    """torchvision's shifted_window_attention (no shift) on maps that are each exactly one window."""
    from torchvision.models.swin_transformer import shifted_window_attention

    n = ws * ws
    bias = params["relative_position_bias_table"][ref.torchvision_relative_position_index(ws).reshape(-1)]
    bias = bias.view(n, n, -1).permute(2, 0, 1).unsqueeze(0)
    out = shifted_window_attention(
        x.reshape(-1, ws, ws, x.shape[-1]), params["qkv.weight"], params["proj.weight"], bias, [ws, ws], heads, [0, 0],
        qkv_bias=params.get("qkv.bias"), proj_bias=params["proj.bias"], training=False,
    )
    return out.reshape(x.shape)


# ---------------------------------------------------------------------------- patch merging
PM_CASES = [
    ("a (2, 8, 8, 4) map", (2, 8, 8, 4), torch.float32),
    ("a non-square (1, 6, 10, 8) map", (1, 6, 10, 8), torch.float32),
    ("a (3, 2, 2, 6) map (one output position)", (3, 2, 2, 6), torch.float32),
    ("a float64 (2, 4, 6, 4) map", (2, 4, 6, 4), torch.float64),
]


def _pm_run(cls: Any, i: int) -> dict:
    _, shape, dtype = PM_CASES[i]
    dim = shape[-1]
    x = randn(900 + i, *shape, dtype=dtype)
    module = cls(dim)
    result: dict = {"keys": sorted(module.state_dict().keys())}
    params = {k: v.to(dtype) for k, v in ref.patch_merging_params(920 + i, dim).items()}
    module = module.to(dtype)
    result["load"] = _load(module, params)
    if is_error(result["load"]):
        return result
    before = x.clone()
    result["out"] = attempt(module.eval(), x)
    result["modified"] = not torch.equal(before, x)
    return result


def probe_patch_merging(cls: Any) -> dict:
    return {"cases": [guarded(lambda i=i: _pm_run(cls, i)) for i in range(len(PM_CASES))]}


@REGISTRY.exercise("PatchMerging", probe_patch_merging)
def judge_patch_merging(data: dict, j: Judge) -> None:
    for i, case in enumerate(data["cases"]):
        what, shape, dtype = PM_CASES[i]
        dim = shape[-1]
        what = f"PatchMerging({dim}) on {what}"
        if not j.expect_ok(case, what):
            continue
        expected_keys = ["norm.bias", "norm.weight", "reduction.weight"]
        if case["keys"] != expected_keys:
            j.fail(f"{what}: state_dict keys are {case['keys']}, expected {expected_keys} "
                   "(norm = nn.LayerNorm(4*dim), reduction = nn.Linear(4*dim, 2*dim, bias=False))")
            continue
        if not j.expect_ok(case["load"], f"{what}: loading parameters"):
            continue
        x = randn(900 + i, *shape, dtype=dtype)
        params = {k: v.to(dtype) for k, v in ref.patch_merging_params(920 + i, dim).items()}
        tv = ref.torchvision_patch_merging(params, dim).to(dtype)
        with torch.no_grad():
            expected = tv(x)
        hint = ("concatenate x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2] in this order, "
                "then norm, then reduction")
        parts = [x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]]
        with torch.no_grad():
            swapped = tv.reduction(tv.norm(torch.cat([parts[0], parts[2], parts[1], parts[3]], -1)))
        if _matches(case["out"], swapped):
            hint = "wrong concatenation order: the second block is x[:, 1::2, 0::2] (odd ROWS), the third x[:, 0::2, 1::2]"
        atol = 1e-10 if dtype == torch.float64 else 1e-5
        j.expect_close(case["out"], expected, f"{what} vs torchvision's PatchMerging", atol=atol, hint=hint)
        j.expect(not case.get("modified"), f"{what} changed its input in place")


# ---------------------------------------------------------------------------- Swin block
BLOCK_CASES = [
    # (B, H, W, dim, heads, ws, shift, mlp_ratio, dtype)
    (2, 8, 8, 32, 4, 4, 0, 4.0, torch.float32),
    (2, 8, 8, 32, 4, 4, 2, 4.0, torch.float32),
    (1, 12, 8, 16, 2, 4, 2, 4.0, torch.float32),
    (2, 6, 10, 16, 2, 2, 1, 4.0, torch.float32),
    (1, 14, 14, 32, 4, 7, 3, 4.0, torch.float32),
    (1, 9, 9, 12, 3, 3, 1, 2.0, torch.float32),
    (1, 7, 14, 24, 3, 7, 3, 4.0, torch.float32),
    (1, 14, 7, 24, 3, 7, 3, 4.0, torch.float32),
    (2, 4, 4, 16, 2, 4, 2, 4.0, torch.float32),
    (2, 8, 8, 16, 2, 4, 2, 4.0, torch.float64),
]
GRAD_CASE = 1


def _block_inputs(i: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    B, H, W, dim, heads, ws, shift, ratio, dtype = BLOCK_CASES[i]
    x = randn(1000 + i, B, H, W, dim, dtype=dtype)
    params = {k: v.to(dtype) for k, v in ref.swin_block_params(1020 + 50 * i, dim, heads, ws, ratio).items()}
    return x, params


def _block_label(i: int) -> str:
    B, H, W, dim, heads, ws, shift, ratio, dtype = BLOCK_CASES[i]
    extra = f", mlp_ratio={ratio}" if ratio != 4.0 else ""
    kind = "" if dtype == torch.float32 else " in float64"
    return f"SwinBlock({dim}, {heads}, window_size={ws}, shift_size={shift}{extra}) on a ({B}, {H}, {W}, {dim}) input{kind}"


def _block_run(cls: Any, i: int) -> dict:
    B, H, W, dim, heads, ws, shift, ratio, dtype = BLOCK_CASES[i]
    x, params = _block_inputs(i)
    module = cls(dim, heads, window_size=ws, shift_size=shift, mlp_ratio=ratio)
    result: dict = {
        "keys": sorted(module.state_dict().keys()),
        "mlp": [type(m).__name__ for m in module.mlp] if hasattr(module, "mlp") else None,
    }
    module = module.to(dtype)
    result["load"] = _load(module, params)
    if is_error(result["load"]):
        return result
    module.eval()
    before = x.clone()
    result["out"] = attempt(module, x)
    result["modified"] = not torch.equal(before, x)
    if i == GRAD_CASE:
        module.zero_grad()
        out = module(x)
        (out * randn(1099, *out.shape)).sum().backward()
        result["grads"] = {name: plain(p.grad) for name, p in module.named_parameters()}
    return result


def probe_swin_block(cls: Any) -> dict:
    return {"cases": [guarded(lambda i=i: _block_run(cls, i)) for i in range(len(BLOCK_CASES))]}


def _torchvision_output(i: int) -> torch.Tensor:
    B, H, W, dim, heads, ws, shift, ratio, dtype = BLOCK_CASES[i]
    x, params = _block_inputs(i)
    tv = ref.torchvision_block(params, dim, heads, ws, shift, ratio).to(dtype)
    with torch.no_grad():
        return tv(x)


@REGISTRY.exercise("SwinBlock", probe_swin_block)
def judge_swin_block(data: dict, j: Judge) -> None:
    passed: dict[int, bool] = {}
    for i, case in enumerate(data["cases"]):
        B, H, W, dim, heads, ws, shift, ratio, dtype = BLOCK_CASES[i]
        what = _block_label(i)
        if not j.expect_ok(case, what):
            passed[i] = False
            continue
        x, params = _block_inputs(i)
        if case["keys"] != sorted(params):
            j.fail(f"{what}: state_dict keys are {case['keys']}, expected {sorted(params)} (norm1, attn = WindowAttention, "
                   "norm2, mlp = nn.Sequential(nn.Linear, nn.GELU, nn.Linear))")
            return
        if not j.expect_ok(case["load"], f"{what}: loading parameters"):
            return
        expected = _torchvision_output(i)
        if not j.expect_tensor(case["out"], what, shape=tuple(x.shape), dtype=_dtype(x)):
            passed[i] = False
            continue
        atol = 1e-10 if dtype == torch.float64 else 5e-5
        got = array(case["out"]).astype(np.float64)
        passed[i] = bool(np.allclose(got, expected.double().numpy(), atol=atol, rtol=1e-4))
        if not passed[i]:
            diff = float(np.abs(got - expected.double().numpy()).max())
            j.fail(f"{what} differs from torchvision's SwinTransformerBlock with the same weights: "
                   f"max |difference| = {diff:.3g} (tolerance {atol:g})")
        j.expect(not case.get("modified"), f"{what} changed its input in place")
        if "grads" in case and passed[i]:
            _judge_block_grads(case["grads"], i, j)
    _explain_block_failures(passed, j)


def _judge_block_grads(grads: dict, i: int, j: Judge) -> None:
    B, H, W, dim, heads, ws, shift, ratio, dtype = BLOCK_CASES[i]
    x, params = _block_inputs(i)
    tv = ref.torchvision_block(params, dim, heads, ws, shift, ratio)
    out = tv(x)
    (out * randn(1099, *out.shape)).sum().backward()
    tv_params = dict(tv.named_parameters())
    for name in params:
        got = grads.get(name)
        if got is None:
            j.fail(f"{_block_label(i)}: no gradient reached {name}")
            continue
        j.expect_close(got, tv_params[ref.BLOCK_NAME_MAP.get(name, name)].grad, f"{_block_label(i)}: gradient of {name}",
                       atol=1e-4, rtol=1e-3, hint="keep every step in differentiable torch operations")


def _explain_block_failures(passed: dict[int, bool], j: Judge) -> None:
    """Name the likely mistake from which configurations fail."""
    unshifted = [i for i, c in enumerate(BLOCK_CASES) if c[6] == 0]
    one_axis = [i for i, c in enumerate(BLOCK_CASES) if c[6] > 0 and (c[1] <= c[5] or c[2] <= c[5])]
    shifted = [i for i, c in enumerate(BLOCK_CASES) if c[6] > 0 and c[1] > c[5] and c[2] > c[5]]
    ok = lambda idx: all(passed.get(i, False) for i in idx)
    if ok(unshifted) and ok(shifted) and not ok(one_axis):
        j.fail("SwinBlock: when H (or W) equals the window size there is a single window along that axis and "
               "torchvision does not shift along it: use shift 0 on that axis (roll and mask only the other axis)")
    elif ok(unshifted) and not ok(shifted):
        j.fail("SwinBlock: the unshifted blocks match torchvision but the shifted ones do not. Roll by (-shift, -shift) "
               "BEFORE the window attention, pass shifted_window_mask to the attention, and roll back by (+shift, +shift) after")
    elif not ok(unshifted) and ok(shifted):
        j.fail("SwinBlock: the shifted blocks match but the unshifted ones do not: with shift_size=0 there is no roll "
               "and NO mask")
    elif not ok(unshifted):
        j.fail("SwinBlock: even the unshifted block differs from torchvision. Check pre-norm residuals "
               "(x + attn(norm1(x)), then + mlp(norm2(x))), the window partition/reverse and the attention")


# ---------------------------------------------------------------------------- concept questions
REGISTRY.quiz(
    "quiz_1", "B",
    "Eq. (1) has the (hw)^2 term: 4x the tokens gives 16x the cost; Eq. (2) is linear in hw: 4x.",
)
REGISTRY.quiz(
    "quiz_2", "C",
    "After rolling by the shift, only windows touching the bottom or right edge hold tokens that wrapped around: "
    "the last row (8) and last column (8) of windows, sharing one corner: 15.",
)
REGISTRY.quiz(
    "quiz_3", "D",
    "The cyclic shift keeps the same number of equally sized windows, so batched window attention costs exactly the "
    "same as in the regular block; the mask restores the correct neighbourhoods.",
)
