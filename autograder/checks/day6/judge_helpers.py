"""Judge side of day6_swin: references, typical mistakes and hints the judges use.

No probe reaches this module, so none of it enters the sandbox (``autograder/sandbox/strip.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from autograder.checks.day6.probes import F32, F64, WA_CASES, block_inputs, wa_inputs
from autograder.harness import Judge, array, close, dtype_name, is_tensor, randn
from autograder.reference import day6_swin as ref


# ---------------------------------------------------------------------------- judge helpers
# ---------------------------------------------------------------------------- partition / reverse
def column_major(x: torch.Tensor, ws: int) -> torch.Tensor:
    B, H, W, C = x.shape
    x = x.reshape(B, H // ws, ws, W // ws, ws, C)
    return x.permute(0, 3, 1, 2, 4, 5).reshape(-1, ws, ws, C)


# ---------------------------------------------------------------------------- relative position index
def index_hint(got: Any, ws: int) -> str:
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
        if close(got, table, atol=0):
            return hint
    return "index[i, j] = (dy + ws - 1) * (2ws - 1) + (dx + ws - 1) with (dy, dx) = position of token i minus that of token j"


# ---------------------------------------------------------------------------- shifted-window mask
def mask_hint(got: Any, H: int, W: int, ws: int, shift: int, expected: torch.Tensor) -> str:
    values = set(np.unique(array(got)).tolist()) if is_tensor(got) else set()
    if any(v == float("-inf") for v in values):
        return "use -100.0 (the reference value), not -inf, for pairs in different regions"
    if values <= {0.0, 1.0} or values <= {0.0, -1.0}:
        return "the mask is additive: 0.0 within a region, -100.0 across regions (not 1/0 or True/False)"
    if close(got, torch.where(expected == 0, -100.0, 0.0), atol=0):
        return "the signs are swapped: 0.0 where two tokens share a region, -100.0 where they do not"
    if close(got, torch.zeros_like(expected), atol=0):
        return ("the mask is all zeros: label the regions of the ROLLED map "
                "(strips [0, size-ws), [size-ws, size-shift), [size-shift, size))")
    if H == ws or W == ws:
        return ("even when H (or W) equals the window size, cut that axis into the strips [size-ws, size-shift) and "
                "[size-shift, size): the mask does not apply the block's per-axis rule")
    return ("label the rolled map by strips [0, size-ws), [size-ws, size-shift), [size-shift, size) along each axis, "
            "cut the labels into windows row-major, and compare labels of every query/key pair")


# ---------------------------------------------------------------------------- window attention
def wa_reference(i: int, transposed: bool = False, scale_dim: bool = False) -> torch.Tensor:
    _, dim, ws, heads, *_ = WA_CASES[i]
    x, mask, params = wa_inputs(i)
    if transposed or scale_dim:  # a typical mistake, to name it in the message
        n = ws * ws
        index = ref.relative_position_index_official(ws)
        index = index.T if transposed else index
        qkv = F.linear(x, params["qkv.weight"], params.get("qkv.bias"))
        q, k, v = qkv.reshape(x.shape[0], n, 3, heads, dim // heads).permute(2, 0, 3, 1, 4)
        attn = q @ k.transpose(-2, -1) * (dim if scale_dim else dim // heads) ** -0.5
        attn = attn + params["relative_position_bias_table"][index.reshape(-1)].view(n, n, -1).permute(2, 0, 1)
        if mask is not None:
            attn = (attn.view(-1, mask.shape[0], heads, n, n) + mask.to(x.dtype)[None, :, None]).view(-1, heads, n, n)
        out = (attn.softmax(-1) @ v).transpose(1, 2).reshape(x.shape)
        return F.linear(out, params["proj.weight"], params["proj.bias"])
    return ref.window_attention_official(x, params, ws, heads, mask)


def judge_wa_grads(grads: Any, i: int, what: str, j: Judge) -> None:
    _, dim, ws, heads, *_ = WA_CASES[i]
    x, mask, params = wa_inputs(i)
    leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    out = ref.window_attention_official(x, leaves, ws, heads, mask)
    (out * randn(899, *out.shape)).sum().backward()
    if not isinstance(grads, dict):
        j.fail(f"{what}: no gradients came back; keep every step in differentiable torch operations")
        return
    for name, leaf in leaves.items():
        got = grads.get(name)
        if got is None:
            j.fail(f"{what}: no gradient reached {name}; keep every step in differentiable torch operations")
            continue
        j.expect_close(got, leaf.grad, f"{what}: gradient of {name}", atol=1e-4, rtol=1e-3)


def torchvision_window_attention(x: torch.Tensor, params: dict, ws: int, heads: int) -> torch.Tensor:
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


# ---------------------------------------------------------------------------- Swin blocks
def _block_label(name: str, case: tuple) -> str:
    B, H, W, dim, heads, ws, shift, ratio, dtype = case
    extra = f", mlp_ratio={ratio}" if ratio != 4.0 else ""
    kind = "" if dtype == F32 else " in float64"
    return f"{name}({dim}, {heads}, window_size={ws}, shift_size={shift}{extra}) on a ({B}, {H}, {W}, {dim}) input{kind}"


def _torchvision_block(case: tuple, params: dict) -> Any:
    B, H, W, dim, heads, ws, shift, ratio, dtype = case
    return ref.torchvision_block(params, dim, heads, ws, shift, ratio).to(dtype)


def judge_blocks(name: str, table: list, seed: int, grad_case: int, data: dict, j: Judge) -> dict[int, bool]:
    """Compare every case with torchvision's block; return which cases passed."""
    passed: dict[int, bool] = {}
    cases = j.results(data, "cases", len(table), name)
    if cases is None:
        return passed
    for i, case in enumerate(cases):
        what = _block_label(name, table[i])
        passed[i] = False
        if not j.expect_ok(case, what):
            continue
        if not isinstance(case, dict):
            j.fail(f"{what}: no result")
            continue
        x, params = block_inputs(table, seed, i)
        if case.get("keys") != sorted(params):
            j.fail(f"{what}: state_dict keys are {case.get('keys')}, expected {sorted(params)} (norm1, attn = "
                   "WindowAttention, norm2, mlp = nn.Sequential(nn.Linear, nn.GELU, nn.Linear))")
            return passed
        if not j.expect_ok(case.get("load"), f"{what}: loading parameters"):
            return passed
        tv = _torchvision_block(table[i], params)
        with torch.no_grad():
            expected = tv(x)
        got = case.get("out")
        if is_tensor(got) and tuple(got["shape"]) != tuple(x.shape) and len(got["shape"]) == 4:
            j.fail(f"{what} returned shape {tuple(got['shape'])}; the block keeps the input's shape {tuple(x.shape)} "
                   "(pad for the windows, then crop the padding off again)")
            continue
        if not j.expect_tensor(got, what, shape=tuple(x.shape), dtype=dtype_name(x.dtype)):
            continue
        atol = 1e-10 if table[i][-1] == F64 else 5e-5
        passed[i] = close(got, expected, atol=atol)
        if not passed[i]:
            diff = float(np.abs(array(got).astype(np.float64) - expected.double().numpy()).max())
            j.fail(f"{what} differs from torchvision's SwinTransformerBlock with the same weights: "
                   f"max |difference| = {diff:.3g} (tolerance {atol:g}){_padding_hint(table[i], x, params, tv, got)}")
        j.expect(not case.get("modified"), f"{what} changed its input in place")
        if i == grad_case and passed[i]:
            _judge_block_grads(case.get("grads"), table[i], x, params, seed, what, j)
    return passed


def _padding_hint(case: tuple, x: torch.Tensor, params: dict, tv: Any, got: Any) -> str:
    """Name a padding mistake when the output equals what that mistake computes."""
    B, H, W, dim, heads, ws, shift, ratio, dtype = case
    pad_b, pad_r = -H % ws, -W % ws
    if not (pad_b or pad_r):
        return ""
    with torch.no_grad():
        before_norm = tv(F.pad(x, (0, 0, 0, pad_r, 0, pad_b)))[:, :H, :W]
        if close(got, before_norm):
            return (". Hint: you pad before norm1; pad the NORMALISED map, so that the padded tokens are zero vectors "
                    "(padding first makes them LayerNorm's bias)")
        y = F.pad(tv.norm1(x), (0, 0, pad_r, 0, pad_b, 0))  # zeros at the top and on the left
        z = x + ref.torchvision_attention_branch(y, params, ws, shift, heads)[:, pad_b:, pad_r:]
        if close(got, z + tv.mlp(tv.norm2(z))):
            return ". Hint: pad at the bottom and on the right (F.pad(y, (0, 0, 0, pad_w, 0, pad_h))), not at the top left"
    return ""


def _judge_block_grads(grads: Any, case: tuple, x: torch.Tensor, params: dict, seed: int, what: str, j: Judge) -> None:
    tv = _torchvision_block(case, params)
    out = tv(x)
    (out * randn(seed + 99, *out.shape)).sum().backward()
    tv_params = dict(tv.named_parameters())
    if not isinstance(grads, dict):
        j.fail(f"{what}: no gradients came back; keep every step in differentiable torch operations")
        return
    for name in params:
        got = grads.get(name)
        if got is None:
            j.fail(f"{what}: no gradient reached {name}")
            continue
        j.expect_close(got, tv_params[ref.BLOCK_NAME_MAP.get(name, name)].grad, f"{what}: gradient of {name}",
                       atol=1e-4, rtol=1e-3, hint="keep every step in differentiable torch operations")


def single_window_axis(case: tuple) -> bool:
    """A shifted case where one (padded) axis holds a single window, so torchvision shifts only the other."""
    B, H, W, dim, heads, ws, shift, *_ = case
    return shift > 0 and (-(-H // ws) == 1 or -(-W // ws) == 1)
