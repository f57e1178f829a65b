"""Probe side of day6_swin: the cases each probe runs and the probes themselves.

The sandbox gets what the probes reach of this module (``autograder/sandbox/strip.py``); the judges
rebuild the same cases from here, so a case is written once.
"""

from __future__ import annotations

from typing import Any

import torch

from autograder.harness import attempt, guarded, is_error, plain, randn
from autograder.reference import day6_swin as ref

F32, F64 = torch.float32, torch.float64


# ---------------------------------------------------------------------------- judge helpers
def _load(module: Any, params: dict[str, torch.Tensor]) -> Any:
    """Load the seeded parameters strictly (names and shapes are fixed by the contract)."""
    return guarded(lambda: (module.load_state_dict(params, strict=True), None)[1])


# ---------------------------------------------------------------------------- FLOP formulas
# Beyond the friendly cases: windows that do not divide the map, a window larger than the map,
# one-token-wide maps, and products far beyond 32-bit integers.
MSA_CASES = [(1, 1, 1), (2, 3, 4), (56, 56, 96), (28, 28, 192), (14, 14, 384), (7, 7, 768), (3, 5, 7), (100, 1, 2),
             (1, 100, 3), (13, 17, 96), (224, 224, 1024)]
WMSA_CASES = [(1, 1, 1, 1), (2, 2, 3, 2), (56, 56, 96, 7), (28, 28, 192, 7), (3, 5, 7, 1), (64, 32, 16, 8),
              (12, 12, 5, 4), (5, 7, 3, 2), (10, 6, 4, 4), (50, 50, 96, 7), (3, 3, 8, 7), (96, 96, 128, 7)]


def probe_msa_flops(fn: Any) -> dict:
    return {"values": [attempt(fn, *case) for case in MSA_CASES]}


def probe_wmsa_flops(fn: Any) -> dict:
    return {"values": [attempt(fn, *case) for case in WMSA_CASES]}


# ---------------------------------------------------------------------------- partition / reverse
def partition_cases() -> list[tuple[str, torch.Tensor, int]]:
    """(description, input (B, H, W, C), window size); rebuilt identically by the judge."""
    return [
        ("a (2, 8, 12, 3) map with 4x4 windows", randn(600, 2, 8, 12, 3), 4),
        ("a (1, 6, 6, 5) map with 3x3 windows", randn(601, 1, 6, 6, 5), 3),
        ("a (3, 4, 4, 2) map that is a single 4x4 window", randn(602, 3, 4, 4, 2), 4),
        ("a (1, 14, 7, 4) map with 7x7 windows", randn(603, 1, 14, 7, 4), 7),
        ("a (2, 6, 4, 1) map with 2x2 windows", randn(604, 2, 6, 4, 1), 2),
        ("a float64 (2, 4, 6, 3) map with 2x2 windows", randn(605, 2, 4, 6, 3, dtype=F64), 2),
        ("a (2, 3, 5, 2) map with 1x1 windows", randn(606, 2, 3, 5, 2), 1),
        ("an int64 (1, 4, 6, 2) map of token numbers with 2x2 windows", torch.arange(48).reshape(1, 4, 6, 2), 2),
        ("a non-contiguous (2, 6, 9, 3) map (a permuted (2, 3, 6, 9) tensor) with 3x3 windows",
         randn(607, 2, 3, 6, 9).permute(0, 2, 3, 1), 3),
    ]


def probe_window_partition(fn: Any) -> dict:
    cases = []
    for _, x, ws in partition_cases():
        before = x.clone()
        cases.append({"out": attempt(fn, x, ws), "modified": not torch.equal(before, x)})
    return {"cases": cases}


def reverse_cases() -> list[tuple[str, torch.Tensor, int, int, int]]:
    """(description, windows (B*nW, ws, ws, C), ws, H, W): arbitrary windows, not cut from a map."""
    cases = []
    for i, (what, x, ws) in enumerate(partition_cases()):
        B, H, W, C = x.shape
        n = B * (H // ws) * (W // ws)
        if x.is_floating_point():
            windows = randn(700 + i, n, ws, ws, C, dtype=x.dtype)
        else:
            windows = torch.arange(n * ws * ws * C).reshape(n, ws, ws, C)
        cases.append((f"the {n} windows of {what}", windows, ws, H, W))
    B, H, W, C, ws = 2, 6, 9, 3, 3
    windows = randn(720, B * 6, C, ws, ws).permute(0, 2, 3, 1)  # non-contiguous
    cases.append(("12 non-contiguous 3x3 windows (a permuted tensor) of a (2, 6, 9, 3) map", windows, ws, H, W))
    return cases


def probe_window_reverse(fn: Any) -> dict:
    cases = []
    for _, windows, ws, H, W in reverse_cases():
        before = windows.clone()
        cases.append({"out": attempt(fn, windows, ws, H, W), "modified": not torch.equal(before, windows)})
    return {"cases": cases}


# ---------------------------------------------------------------------------- relative position index
INDEX_SIZES = (1, 2, 3, 4, 5, 7, 8, 12)


def probe_relative_position_index(fn: Any) -> dict:
    return {"indices": [attempt(fn, ws) for ws in INDEX_SIZES]}


# ---------------------------------------------------------------------------- shifted-window mask
# (H, W, ws, shift): non-square maps, a shift of ws - 1, maps with a single row (H == ws) or a single
# column (W == ws) of windows, and a map that is a single window.
MASK_CASES = [
    (8, 8, 4, 2), (4, 4, 2, 1), (12, 8, 4, 2), (8, 12, 4, 1), (14, 14, 7, 3), (6, 9, 3, 1), (4, 8, 2, 1), (16, 16, 4, 3),
    (4, 8, 4, 1), (6, 3, 3, 2), (3, 3, 3, 1), (12, 8, 4, 3),
]


def probe_shifted_window_mask(fn: Any) -> dict:
    return {"masks": [attempt(fn, *case) for case in MASK_CASES]}


# ---------------------------------------------------------------------------- window attention
WA_CASES = [
    # (description, dim, ws, heads, qkv_bias, images, windows per image, mask kind, dtype)
    ("6 windows, no mask", 16, 3, 4, True, 1, 6, None, F32),
    ("2 images x 6 windows, a 0/-100 mask", 16, 3, 4, True, 2, 6, "block", F32),
    ("3 images x 4 windows, a random additive mask", 24, 4, 3, True, 3, 4, "random", F32),
    ("qkv_bias=False, 2 images x 4 windows", 8, 2, 2, False, 2, 4, None, F32),
    ("1 head, 2 images x 6 windows, a 0/-100 mask", 6, 2, 1, True, 2, 6, "block", F32),
    ("float64, 2 images x 6 windows, a 0/-100 mask", 16, 3, 2, True, 2, 6, "block", F64),
    ("1x1 windows (one token each), 5 windows", 8, 1, 2, True, 1, 5, None, F32),
    ("5x5 windows, 4 heads of width 1, 2 images x 2 windows, a random additive mask", 4, 5, 4, True, 2, 2, "random", F32),
]
WA_GRAD_CASE = 1


def wa_inputs(i: int) -> tuple[torch.Tensor, torch.Tensor | None, dict[str, torch.Tensor]]:
    """Input windows, mask and seeded parameters of case ``i`` (the mask is random data, not a Swin mask)."""
    _, dim, ws, heads, qkv_bias, images, n_w, kind, dtype = WA_CASES[i]
    n = ws * ws
    x = randn(800 + i, images * n_w, n, dim, dtype=dtype)
    mask = None
    if kind == "block":  # 0 or -100 at random, never on the diagonal (no query loses every key)
        mask = torch.where(randn(820 + i, n_w, n, n) > 0.3, -100.0, 0.0) * (1 - torch.eye(n))
    elif kind == "random":
        mask = 3.0 * randn(820 + i, n_w, n, n)
    params = {k: v.to(dtype) for k, v in ref.window_attention_params(840 + i, dim, ws, heads, qkv_bias).items()}
    return x, mask, params


def _wa_run(cls: Any, i: int) -> dict:
    _, dim, ws, heads, qkv_bias, *_ = WA_CASES[i]
    x, mask, params = wa_inputs(i)
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
    if i == WA_GRAD_CASE:  # gradients reach every parameter
        module.zero_grad()
        out = module(*args)
        (out * randn(899, *out.shape)).sum().backward()
        result["grads"] = {name: plain(p.grad) for name, p in module.named_parameters()}
    return result


def probe_window_attention(cls: Any) -> dict:
    return {"cases": [guarded(lambda i=i: _wa_run(cls, i)) for i in range(len(WA_CASES))]}


# ---------------------------------------------------------------------------- patch merging
PM_CASES = [
    ("a (2, 8, 8, 4) map", (2, 8, 8, 4), F32),
    ("a non-square (1, 6, 10, 8) map", (1, 6, 10, 8), F32),
    ("a (3, 2, 2, 6) map (one output position)", (3, 2, 2, 6), F32),
    ("a float64 (2, 4, 6, 4) map", (2, 4, 6, 4), F64),
    ("a (1, 2, 8, 1) map with one channel", (1, 2, 8, 1), F32),
    ("a (4, 10, 2, 3) map", (4, 10, 2, 3), F32),
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


# ---------------------------------------------------------------------------- Swin blocks
BLOCK_CASES = [
    # (B, H, W, dim, heads, ws, shift, mlp_ratio, dtype); H and W multiples of ws
    (2, 8, 8, 32, 4, 4, 0, 4.0, F32),
    (2, 8, 8, 32, 4, 4, 2, 4.0, F32),
    (1, 12, 8, 16, 2, 4, 2, 4.0, F32),
    (2, 6, 10, 16, 2, 2, 1, 4.0, F32),
    (1, 14, 14, 32, 4, 7, 3, 4.0, F32),
    (1, 9, 9, 12, 3, 3, 1, 2.0, F32),
    (1, 7, 14, 24, 3, 7, 3, 4.0, F32),
    (1, 14, 7, 24, 3, 7, 3, 4.0, F32),
    (2, 4, 4, 16, 2, 4, 2, 4.0, F32),
    (2, 8, 8, 16, 2, 4, 2, 4.0, F64),
    (1, 12, 8, 8, 1, 4, 3, 2.5, F32),
    (2, 3, 5, 8, 2, 1, 0, 1.5, F32),
    (1, 6, 12, 12, 3, 6, 5, 4.0, F32),
]
BLOCK_GRAD_CASE = 1

# Any H, W: padded along both axes, along one, along none; a padded axis that holds a single
# window (so no shift along it); maps smaller than one window; a single token; 1x1 windows.
PAD_CASES = [
    (1, 5, 9, 16, 2, 4, 2, 4.0, F32),
    (2, 3, 10, 16, 2, 4, 2, 4.0, F32),
    (1, 10, 3, 16, 2, 4, 2, 4.0, F32),
    (1, 6, 6, 16, 4, 7, 3, 4.0, F32),
    (2, 8, 12, 16, 2, 4, 2, 4.0, F32),
    (1, 9, 7, 24, 3, 7, 3, 4.0, F32),
    (1, 1, 1, 8, 2, 3, 1, 4.0, F32),
    (2, 5, 5, 16, 2, 4, 0, 4.0, F32),
    (1, 11, 6, 8, 1, 4, 3, 2.5, F32),
    (1, 7, 10, 16, 2, 4, 2, 4.0, F64),
    (1, 2, 3, 8, 2, 1, 0, 4.0, F32),
    (1, 12, 8, 16, 2, 4, 2, 4.0, F32),
]
PAD_GRAD_CASE = 0


def block_inputs(table: list, seed: int, i: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    B, H, W, dim, heads, ws, shift, ratio, dtype = table[i]
    x = randn(seed + i, B, H, W, dim, dtype=dtype)
    params = {k: v.to(dtype) for k, v in ref.swin_block_params(seed + 20 + 50 * i, dim, heads, ws, ratio).items()}
    return x, params


def _block_run(cls: Any, table: list, seed: int, i: int, grad_case: int) -> dict:
    B, H, W, dim, heads, ws, shift, ratio, dtype = table[i]
    x, params = block_inputs(table, seed, i)
    module = cls(dim, heads, window_size=ws, shift_size=shift, mlp_ratio=ratio)
    result: dict = {"keys": sorted(module.state_dict().keys())}
    module = module.to(dtype)
    result["load"] = _load(module, params)
    if is_error(result["load"]):
        return result
    module.eval()
    before = x.clone()
    result["out"] = attempt(module, x)
    result["modified"] = not torch.equal(before, x)
    if i == grad_case:
        module.zero_grad()
        out = module(x)
        (out * randn(seed + 99, *out.shape)).sum().backward()
        result["grads"] = {name: plain(p.grad) for name, p in module.named_parameters()}
    return result


def probe_swin_block(cls: Any) -> dict:
    return {"cases": [guarded(lambda i=i: _block_run(cls, BLOCK_CASES, 1000, i, BLOCK_GRAD_CASE))
                      for i in range(len(BLOCK_CASES))]}


def probe_padded_swin_block(cls: Any) -> dict:
    return {"cases": [guarded(lambda i=i: _block_run(cls, PAD_CASES, 3000, i, PAD_GRAD_CASE)) for i in range(len(PAD_CASES))]}
