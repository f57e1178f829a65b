"""Hidden checks for day6_swin: the pieces of a Swin Transformer block, and the block on any map size.

Probes choose the inputs (seeded), call the student's objects and return plain data. They reach
only the harness, the case tables below and the seeded parameter generators of
``autograder.reference.day6_swin``: nothing a probe can reach computes a window partition or
reverse, an index, a mask, an attention, a merge, a block or a FLOP count, so the sandbox copy of
this module holds no answer.

Judges rebuild every case themselves, require exactly those cases, and compute the references:
torchvision's ``SwinTransformerBlock``, ``PatchMerging`` and ``shifted_window_attention`` with the
same weights (through the weight mapping of ``autograder.reference.day6_swin``), the Swin authors'
reference code for the index, the mask and window attention, and entry-by-entry loop versions of
the same tables. Where a typical mistake explains a difference, the judge recomputes that mistake
and names it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from autograder.harness import Judge, Registry, array, attempt, describe, guarded, is_error, is_tensor, plain, randn
from autograder.reference import day6_swin as ref

REGISTRY = Registry("day6_swin")
F32, F64 = torch.float32, torch.float64


# ---------------------------------------------------------------------------- judge helpers
def _dtype(t: torch.Tensor) -> str:
    return str(t.dtype).replace("torch.", "")


def _cases(data: Any, key: str, expected: int, j: Judge, what: str) -> list | None:
    """The probed results under ``key``: exactly ``expected`` of them, or a failure that says why."""
    if not j.expect_ok(data, what):
        return None
    got = data.get(key) if isinstance(data, dict) else None
    if not isinstance(got, list):
        j.fail(f"{what}: the checks expected a list of {expected} results and got {describe(got)}")
        return None
    if len(got) != expected:
        j.fail(f"{what}: the checks ran {expected} cases but received results for {len(got)}")
        return None
    return got


def _matches(value: Any, expected: torch.Tensor, atol: float = 1e-5) -> bool:
    """Whether a probed tensor equals ``expected`` in shape and values (used to name a typical mistake)."""
    if not is_tensor(value) or tuple(value["shape"]) != tuple(expected.shape):
        return False
    return bool(np.allclose(array(value).astype(np.float64), expected.double().numpy(), atol=atol, rtol=1e-4))


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


@REGISTRY.exercise("msa_flops", probe_msa_flops)
def judge_msa_flops(data: dict, j: Judge) -> None:
    values = _cases(data, "values", len(MSA_CASES), j, "msa_flops")
    if values is None:
        return
    for (h, w, C), got in zip(MSA_CASES, values, strict=True):
        expected = 4 * h * w * C**2 + 2 * (h * w) ** 2 * C
        if not j.expect_number(got, expected, f"msa_flops({h}, {w}, {C})"):
            j.fail(f"msa_flops is 4*h*w*C**2 (projections) + 2*(h*w)**2*C (QK^T and weights@V); got {got!r} for "
                   f"h={h}, w={w}, C={C}, expected {expected}")
            return


def probe_wmsa_flops(fn: Any) -> dict:
    return {"values": [attempt(fn, *case) for case in WMSA_CASES]}


@REGISTRY.exercise("wmsa_flops", probe_wmsa_flops)
def judge_wmsa_flops(data: dict, j: Judge) -> None:
    values = _cases(data, "values", len(WMSA_CASES), j, "wmsa_flops")
    if values is None:
        return
    for (h, w, C, M), got in zip(WMSA_CASES, values, strict=True):
        expected = 4 * h * w * C**2 + 2 * M**2 * h * w * C
        if j.expect_number(got, expected, f"wmsa_flops({h}, {w}, {C}, {M})"):
            continue
        per_window = 4 * M**2 * C**2 + 2 * M**4 * C
        hint = "each of the hw/M^2 windows attends over M^2 tokens"
        if got == (h // M) * (w // M) * per_window:
            hint = ("you count whole windows with //; Eq. (2) is the formula 4hwC^2 + 2M^2hwC for any h, w, "
                    f"even when M = {M} does not divide h = {h} or w = {w}")
        elif got == -(-h // M) * -(-w // M) * per_window:
            hint = ("you count the windows of a padded map (what torchvision spends); the exercise asks for Eq. (2) as "
                    "written, 4hwC^2 + 2M^2hwC")
        j.fail(f"wmsa_flops is 4*h*w*C**2 + 2*M**2*h*w*C ({hint}); got {got!r} for h={h}, w={w}, C={C}, M={M}, "
               f"expected {expected}")
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
        ("a float64 (2, 4, 6, 3) map with 2x2 windows", randn(605, 2, 4, 6, 3, dtype=F64), 2),
        ("a (2, 3, 5, 2) map with 1x1 windows", randn(606, 2, 3, 5, 2), 1),
        ("an int64 (1, 4, 6, 2) map of token numbers with 2x2 windows", torch.arange(48).reshape(1, 4, 6, 2), 2),
        ("a non-contiguous (2, 6, 9, 3) map (a permuted (2, 3, 6, 9) tensor) with 3x3 windows",
         randn(607, 2, 3, 6, 9).permute(0, 2, 3, 1), 3),
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
    expected_cases = _partition_cases()
    cases = _cases(data, "cases", len(expected_cases), j, "window_partition")
    if cases is None:
        return
    for (what, x, ws), case in zip(expected_cases, cases, strict=True):
        what = f"window_partition on {what}"
        if not isinstance(case, dict):
            j.fail(f"{what}: no result")
            continue
        expected = ref.window_partition_loops(x, ws)
        got = case.get("out")
        if not j.expect_tensor(got, what, shape=tuple(expected.shape), dtype=_dtype(x)):
            continue
        hint = "windows are listed row-major: image 0's top row of windows left to right, then its next row"
        if _matches(got, _column_major(x, ws), atol=0) and not _matches(got, expected, atol=0):
            hint = ("your windows come out in column-major order (down the first column of windows first); "
                    "permute to (B, H/ws, W/ws, ws, ws, C) so the window column index varies fastest")
        j.expect_equal(got, expected, what, hint=hint)
        j.expect(not case.get("modified"), f"{what} changed its input in place")


def _reverse_cases() -> list[tuple[str, torch.Tensor, int, int, int]]:
    """(description, windows (B*nW, ws, ws, C), ws, H, W): arbitrary windows, not cut from a map."""
    cases = []
    for i, (what, x, ws) in enumerate(_partition_cases()):
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
    for _, windows, ws, H, W in _reverse_cases():
        before = windows.clone()
        cases.append({"out": attempt(fn, windows, ws, H, W), "modified": not torch.equal(before, windows)})
    return {"cases": cases}


@REGISTRY.exercise("window_reverse", probe_window_reverse)
def judge_window_reverse(data: dict, j: Judge) -> None:
    expected_cases = _reverse_cases()
    cases = _cases(data, "cases", len(expected_cases), j, "window_reverse")
    if cases is None:
        return
    for (what, windows, ws, H, W), case in zip(expected_cases, cases, strict=True):
        label = f"window_reverse(windows, {ws}, {H}, {W}) on {what}"
        if not isinstance(case, dict):
            j.fail(f"{label}: no result")
            continue
        expected = ref.window_reverse_loops(windows, ws, H, W)
        got = case.get("out")
        if not j.expect_tensor(got, label, shape=tuple(expected.shape), dtype=_dtype(windows)):
            continue
        hint = "window_reverse must undo window_partition exactly: windows row-major, image by image"
        if _matches(got, expected.transpose(1, 2).reshape(expected.shape), atol=0):
            hint = "rows and columns are swapped; window i of an image goes to row i // (W/ws), column i % (W/ws)"
        j.expect_equal(got, expected, label, hint=hint)
        j.expect(not case.get("modified"), f"{label} changed its input windows in place")


# ---------------------------------------------------------------------------- relative position index
INDEX_SIZES = (1, 2, 3, 4, 5, 7, 8, 12)


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
    indices = _cases(data, "indices", len(INDEX_SIZES), j, "relative_position_index")
    if indices is None:
        return
    for ws, got in zip(INDEX_SIZES, indices, strict=True):
        what = f"relative_position_index({ws})"
        expected = ref.relative_position_index_official(ws)
        if not torch.equal(expected, ref.relative_position_index_loops(ws)):  # the two references agree
            j.fail("internal: the reference indices disagree")
        if not j.expect_tensor(got, what, shape=(ws * ws, ws * ws)):
            continue
        if got["dtype"] != "int64":
            j.fail(f"{what} has dtype {got['dtype']}; it indexes a table, so it must be torch.long (int64)")
            continue
        hint = _index_hint(got, ws) if ws > 1 else "a 1x1 window has one pair (0, 0): index 0"
        j.expect_equal(got, expected, what, hint=hint)


# ---------------------------------------------------------------------------- shifted-window mask
# (H, W, ws, shift): non-square maps, a shift of ws - 1, maps with a single row (H == ws) or a single
# column (W == ws) of windows, and a map that is a single window.
MASK_CASES = [
    (8, 8, 4, 2), (4, 4, 2, 1), (12, 8, 4, 2), (8, 12, 4, 1), (14, 14, 7, 3), (6, 9, 3, 1), (4, 8, 2, 1), (16, 16, 4, 3),
    (4, 8, 4, 1), (6, 3, 3, 2), (3, 3, 3, 1), (12, 8, 4, 3),
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
    if H == ws or W == ws:
        return ("even when H (or W) equals the window size, cut that axis into the strips [size-ws, size-shift) and "
                "[size-shift, size): the mask does not apply the block's per-axis rule")
    return ("label the rolled map by strips [0, size-ws), [size-ws, size-shift), [size-shift, size) along each axis, "
            "cut the labels into windows row-major, and compare labels of every query/key pair")


@REGISTRY.exercise("shifted_window_mask", probe_shifted_window_mask)
def judge_shifted_window_mask(data: dict, j: Judge) -> None:
    masks = _cases(data, "masks", len(MASK_CASES), j, "shifted_window_mask")
    if masks is None:
        return
    for (H, W, ws, shift), got in zip(MASK_CASES, masks, strict=True):
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


def _wa_inputs(i: int) -> tuple[torch.Tensor, torch.Tensor | None, dict[str, torch.Tensor]]:
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
    if i == WA_GRAD_CASE:  # gradients reach every parameter
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
        qkv = F.linear(x, params["qkv.weight"], params.get("qkv.bias"))
        q, k, v = qkv.reshape(x.shape[0], n, 3, heads, dim // heads).permute(2, 0, 3, 1, 4)
        attn = q @ k.transpose(-2, -1) * (dim if scale_dim else dim // heads) ** -0.5
        attn = attn + params["relative_position_bias_table"][index.reshape(-1)].view(n, n, -1).permute(2, 0, 1)
        if mask is not None:
            attn = (attn.view(-1, mask.shape[0], heads, n, n) + mask.to(x.dtype)[None, :, None]).view(-1, heads, n, n)
        out = (attn.softmax(-1) @ v).transpose(1, 2).reshape(x.shape)
        return F.linear(out, params["proj.weight"], params["proj.bias"])
    return ref.window_attention_official(x, params, ws, heads, mask)


@REGISTRY.exercise("WindowAttention", probe_window_attention)
def judge_window_attention(data: dict, j: Judge) -> None:
    cases = _cases(data, "cases", len(WA_CASES), j, "WindowAttention")
    if cases is None:
        return
    for i, case in enumerate(cases):
        what, dim, ws, heads, qkv_bias, images, n_w, kind, dtype = WA_CASES[i]
        what = f"WindowAttention({dim}, {ws}, {heads}{', qkv_bias=False' if not qkv_bias else ''}) on {what}"
        if not j.expect_ok(case, what):
            continue
        if not isinstance(case, dict):
            j.fail(f"{what}: no result")
            continue
        x, mask, params = _wa_inputs(i)
        expected_keys = sorted(params)
        if case.get("keys") != expected_keys:
            j.fail(f"{what}: state_dict keys are {case.get('keys')}, expected {expected_keys} "
                   "(qkv, proj, relative_position_bias_table; relative_position_index must be a non-persistent buffer)")
            continue
        if "relative_position_index" not in (case.get("buffers") or []):
            j.fail(f"{what}: register relative_position_index with register_buffer(..., persistent=False)")
        elif j.expect_tensor(case.get("index"), f"{what}: the relative_position_index buffer", shape=(ws * ws, ws * ws)):
            j.expect_equal(case["index"], ref.relative_position_index_official(ws),
                           f"{what}: the relative_position_index buffer", hint="it must hold the index of Exercise 4")
        if not j.expect_ok(case.get("load"), f"{what}: loading parameters"):
            continue
        if not j.expect_tensor(case.get("out"), f"{what}: output", shape=tuple(x.shape), dtype=_dtype(x)):
            continue
        atol = 1e-10 if dtype == F64 else 2e-5
        expected = ref.window_attention_official(x, params, ws, heads, mask)
        hint = ("scores = q k^T / sqrt(head_dim) + bias[h, i, j] with bias = table[index[i, j], h], plus mask[w] for "
                "window w of every image, softmax over keys, values, merge heads, proj")
        if ws > 1 and _matches(case["out"], _wa_reference(i, transposed=True)):
            hint = "the bias table is indexed with the transposed index: bias[h, i, j] = table[index[i, j], h]"
        elif heads > 1 and _matches(case["out"], _wa_reference(i, scale_dim=True)):
            hint = "scale by 1/sqrt(head_dim) = 1/sqrt(dim // num_heads), not 1/sqrt(dim)"
        elif kind is not None and images > 1:
            hint = ("window w of EVERY image gets mask[w]: view the scores as (B, nW, heads, N, N) and add "
                    "mask[None, :, None] (windows of one image are consecutive)")
        j.expect_close(case["out"], expected, f"{what}: output", atol=atol, rtol=1e-4 if dtype == F32 else 1e-8, hint=hint)
        j.expect(not case.get("modified"), f"{what} changed its input in place")
        if dtype == F32 and kind is None and ws > 1:  # cross-check with torchvision, one window per image
            tv = _torchvision_window_attention(x, params, ws, heads)
            j.expect_close(case["out"], tv, f"{what}: output vs torchvision's window attention", atol=atol, hint=hint)
        if i == WA_GRAD_CASE:
            _judge_wa_grads(case.get("grads"), i, what, j)


def _judge_wa_grads(grads: Any, i: int, what: str, j: Judge) -> None:
    _, dim, ws, heads, *_ = WA_CASES[i]
    x, mask, params = _wa_inputs(i)
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


@REGISTRY.exercise("PatchMerging", probe_patch_merging)
def judge_patch_merging(data: dict, j: Judge) -> None:
    cases = _cases(data, "cases", len(PM_CASES), j, "PatchMerging")
    if cases is None:
        return
    for i, case in enumerate(cases):
        what, shape, dtype = PM_CASES[i]
        dim = shape[-1]
        what = f"PatchMerging({dim}) on {what}"
        if not j.expect_ok(case, what):
            continue
        if not isinstance(case, dict):
            j.fail(f"{what}: no result")
            continue
        expected_keys = ["norm.bias", "norm.weight", "reduction.weight"]
        if case.get("keys") != expected_keys:
            j.fail(f"{what}: state_dict keys are {case.get('keys')}, expected {expected_keys} "
                   "(norm = nn.LayerNorm(4*dim), reduction = nn.Linear(4*dim, 2*dim, bias=False))")
            continue
        if not j.expect_ok(case.get("load"), f"{what}: loading parameters"):
            continue
        x = randn(900 + i, *shape, dtype=dtype)
        params = {k: v.to(dtype) for k, v in ref.patch_merging_params(920 + i, dim).items()}
        tv = ref.torchvision_patch_merging(params, dim).to(dtype)
        with torch.no_grad():
            expected = tv(x)
        if not j.expect_tensor(case.get("out"), what, shape=tuple(expected.shape), dtype=_dtype(x)):
            continue
        hint = ("concatenate x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2] in this order, "
                "then norm, then reduction")
        parts = [x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]]
        with torch.no_grad():
            swapped = tv.reduction(tv.norm(torch.cat([parts[0], parts[2], parts[1], parts[3]], -1)))
        if _matches(case["out"], swapped):
            hint = "wrong concatenation order: the second block is x[:, 1::2, 0::2] (odd ROWS), the third x[:, 0::2, 1::2]"
        atol = 1e-10 if dtype == F64 else 1e-5
        j.expect_close(case["out"], expected, f"{what} vs torchvision's PatchMerging", atol=atol, hint=hint)
        j.expect(not case.get("modified"), f"{what} changed its input in place")


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


def _block_inputs(table: list, seed: int, i: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    B, H, W, dim, heads, ws, shift, ratio, dtype = table[i]
    x = randn(seed + i, B, H, W, dim, dtype=dtype)
    params = {k: v.to(dtype) for k, v in ref.swin_block_params(seed + 20 + 50 * i, dim, heads, ws, ratio).items()}
    return x, params


def _block_label(name: str, case: tuple) -> str:
    B, H, W, dim, heads, ws, shift, ratio, dtype = case
    extra = f", mlp_ratio={ratio}" if ratio != 4.0 else ""
    kind = "" if dtype == F32 else " in float64"
    return f"{name}({dim}, {heads}, window_size={ws}, shift_size={shift}{extra}) on a ({B}, {H}, {W}, {dim}) input{kind}"


def _block_run(cls: Any, table: list, seed: int, i: int, grad_case: int) -> dict:
    B, H, W, dim, heads, ws, shift, ratio, dtype = table[i]
    x, params = _block_inputs(table, seed, i)
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


def _torchvision_block(case: tuple, params: dict) -> Any:
    B, H, W, dim, heads, ws, shift, ratio, dtype = case
    return ref.torchvision_block(params, dim, heads, ws, shift, ratio).to(dtype)


def _judge_blocks(name: str, table: list, seed: int, grad_case: int, data: dict, j: Judge) -> dict[int, bool]:
    """Compare every case with torchvision's block; return which cases passed."""
    passed: dict[int, bool] = {}
    cases = _cases(data, "cases", len(table), j, name)
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
        x, params = _block_inputs(table, seed, i)
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
        if not j.expect_tensor(got, what, shape=tuple(x.shape), dtype=_dtype(x)):
            continue
        atol = 1e-10 if table[i][-1] == F64 else 5e-5
        passed[i] = _matches(got, expected, atol=atol)
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
        if _matches(got, before_norm):
            return (". Hint: you pad before norm1; pad the NORMALISED map, so that the padded tokens are zero vectors "
                    "(padding first makes them LayerNorm's bias)")
        y = F.pad(tv.norm1(x), (0, 0, pad_r, 0, pad_b, 0))  # zeros at the top and on the left
        z = x + ref.torchvision_attention_branch(y, params, ws, shift, heads)[:, pad_b:, pad_r:]
        if _matches(got, z + tv.mlp(tv.norm2(z))):
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


def _single_window_axis(case: tuple) -> bool:
    """A shifted case where one (padded) axis holds a single window, so torchvision shifts only the other."""
    B, H, W, dim, heads, ws, shift, *_ = case
    return shift > 0 and (-(-H // ws) == 1 or -(-W // ws) == 1)


@REGISTRY.exercise("SwinBlock", probe_swin_block)
def judge_swin_block(data: dict, j: Judge) -> None:
    passed = _judge_blocks("SwinBlock", BLOCK_CASES, 1000, BLOCK_GRAD_CASE, data, j)
    if len(passed) < len(BLOCK_CASES):
        return
    unshifted = [i for i, c in enumerate(BLOCK_CASES) if c[6] == 0]
    one_axis = [i for i, c in enumerate(BLOCK_CASES) if _single_window_axis(c)]
    shifted = [i for i, c in enumerate(BLOCK_CASES) if c[6] > 0 and not _single_window_axis(c)]
    ok = lambda idx: all(passed[i] for i in idx)
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


@REGISTRY.exercise("PaddedSwinBlock", probe_padded_swin_block)
def judge_padded_swin_block(data: dict, j: Judge) -> None:
    passed = _judge_blocks("PaddedSwinBlock", PAD_CASES, 3000, PAD_GRAD_CASE, data, j)
    if len(passed) < len(PAD_CASES):
        return
    unpadded = [i for i, c in enumerate(PAD_CASES) if c[1] % c[5] == 0 and c[2] % c[5] == 0]
    one_axis = [i for i, c in enumerate(PAD_CASES) if i not in unpadded and _single_window_axis(c)]
    padded = [i for i, c in enumerate(PAD_CASES) if i not in unpadded and i not in one_axis]
    ok = lambda idx: all(passed[i] for i in idx)
    if not ok(unpadded):
        j.fail("PaddedSwinBlock: even maps that need no padding differ from torchvision: there the block must compute "
               "exactly what SwinBlock computes")
    elif ok(padded) and not ok(one_axis):
        j.fail("PaddedSwinBlock: decide the shift from the PADDED sizes: an axis whose padded size equals the window "
               "holds one window, and torchvision does not shift along it (roll and mask only the other axis)")
    elif not ok(padded):
        j.fail("PaddedSwinBlock: maps that need padding differ from torchvision. Normalise, pad with zeros at the bottom "
               "and on the right to multiples of the window, roll/attend/roll back on the padded map (the padded tokens "
               "are not masked), crop to H x W, then add the residual and the MLP branch")


# ---------------------------------------------------------------------------- concept questions
REGISTRY.quiz(
    "quiz_1", "A",
    "Look at which term of each formula dominates on a large image: Eq. (1) grows with the square of the number of "
    "tokens hw, Eq. (2) only linearly, because every window keeps M^2 tokens however large the image.",
)
REGISTRY.quiz(
    "quiz_2", "C",
    "After the cyclic shift only the windows that receive wrapped-around tokens mix regions: those touching the "
    "bottom edge or the right edge of the rolled map. Count them on the 8 x 8 grid of windows, without counting the "
    "corner twice.",
)
REGISTRY.quiz(
    "quiz_3", "D",
    "Compare the number and the size of the windows in the two approaches: the cyclic shift keeps every window full "
    "and their number unchanged, so the shifted block is one batched computation of the same cost; the mask restores "
    "the correct neighbourhoods.",
)
REGISTRY.quiz(
    "quiz_4", "B",
    "torchvision pads the map at the bottom and on the right to multiples of the window (5 -> 7, 10 -> 14) and crops "
    "back afterwards; then decide, axis by axis, whether the padded map holds more than one window.",
)
