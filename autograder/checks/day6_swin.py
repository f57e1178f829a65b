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

import torch

from autograder.checks.day6.judge_helpers import (
    column_major,
    index_hint,
    judge_blocks,
    judge_wa_grads,
    mask_hint,
    single_window_axis,
    torchvision_window_attention,
    wa_reference,
)
from autograder.checks.day6.probes import (
    BLOCK_CASES,
    BLOCK_GRAD_CASE,
    F32,
    F64,
    INDEX_SIZES,
    MASK_CASES,
    MSA_CASES,
    PAD_CASES,
    PAD_GRAD_CASE,
    PM_CASES,
    WA_CASES,
    WA_GRAD_CASE,
    WMSA_CASES,
    partition_cases,
    probe_msa_flops,
    probe_padded_swin_block,
    probe_patch_merging,
    probe_relative_position_index,
    probe_shifted_window_mask,
    probe_swin_block,
    probe_window_attention,
    probe_window_partition,
    probe_window_reverse,
    probe_wmsa_flops,
    reverse_cases,
    wa_inputs,
)
from autograder.harness import Judge, Registry, close, dtype_name, randn
from autograder.reference import day6_swin as ref

REGISTRY = Registry("day6_swin")


# ---------------------------------------------------------------------------- FLOP formulas

@REGISTRY.exercise("msa_flops", probe_msa_flops)
def judge_msa_flops(data: dict, j: Judge) -> None:
    values = j.results(data, "values", len(MSA_CASES), "msa_flops")
    if values is None:
        return
    for (h, w, C), got in zip(MSA_CASES, values, strict=True):
        expected = 4 * h * w * C**2 + 2 * (h * w) ** 2 * C
        if not j.expect_number(got, expected, f"msa_flops({h}, {w}, {C})"):
            j.fail(f"msa_flops is 4*h*w*C**2 (projections) + 2*(h*w)**2*C (QK^T and weights@V); got {got!r} for "
                   f"h={h}, w={w}, C={C}, expected {expected}")
            return


@REGISTRY.exercise("wmsa_flops", probe_wmsa_flops)
def judge_wmsa_flops(data: dict, j: Judge) -> None:
    values = j.results(data, "values", len(WMSA_CASES), "wmsa_flops")
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

@REGISTRY.exercise("window_partition", probe_window_partition)
def judge_window_partition(data: dict, j: Judge) -> None:
    expected_cases = partition_cases()
    cases = j.results(data, "cases", len(expected_cases), "window_partition")
    if cases is None:
        return
    for (what, x, ws), case in zip(expected_cases, cases, strict=True):
        what = f"window_partition on {what}"
        if not isinstance(case, dict):
            j.fail(f"{what}: no result")
            continue
        expected = ref.window_partition_loops(x, ws)
        got = case.get("out")
        if not j.expect_tensor(got, what, shape=tuple(expected.shape), dtype=dtype_name(x.dtype)):
            continue
        hint = "windows are listed row-major: image 0's top row of windows left to right, then its next row"
        if close(got, column_major(x, ws), atol=0) and not close(got, expected, atol=0):
            hint = ("your windows come out in column-major order (down the first column of windows first); "
                    "permute to (B, H/ws, W/ws, ws, ws, C) so the window column index varies fastest")
        j.expect_equal(got, expected, what, hint=hint)
        j.expect(not case.get("modified"), f"{what} changed its input in place")


@REGISTRY.exercise("window_reverse", probe_window_reverse)
def judge_window_reverse(data: dict, j: Judge) -> None:
    expected_cases = reverse_cases()
    cases = j.results(data, "cases", len(expected_cases), "window_reverse")
    if cases is None:
        return
    for (what, windows, ws, H, W), case in zip(expected_cases, cases, strict=True):
        label = f"window_reverse(windows, {ws}, {H}, {W}) on {what}"
        if not isinstance(case, dict):
            j.fail(f"{label}: no result")
            continue
        expected = ref.window_reverse_loops(windows, ws, H, W)
        got = case.get("out")
        if not j.expect_tensor(got, label, shape=tuple(expected.shape), dtype=dtype_name(windows.dtype)):
            continue
        hint = "window_reverse must undo window_partition exactly: windows row-major, image by image"
        if close(got, expected.transpose(1, 2).reshape(expected.shape), atol=0):
            hint = "rows and columns are swapped; window i of an image goes to row i // (W/ws), column i % (W/ws)"
        j.expect_equal(got, expected, label, hint=hint)
        j.expect(not case.get("modified"), f"{label} changed its input windows in place")


# ---------------------------------------------------------------------------- relative position index

@REGISTRY.exercise("relative_position_index", probe_relative_position_index)
def judge_relative_position_index(data: dict, j: Judge) -> None:
    indices = j.results(data, "indices", len(INDEX_SIZES), "relative_position_index")
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
        hint = index_hint(got, ws) if ws > 1 else "a 1x1 window has one pair (0, 0): index 0"
        j.expect_equal(got, expected, what, hint=hint)


# ---------------------------------------------------------------------------- shifted-window mask

@REGISTRY.exercise("shifted_window_mask", probe_shifted_window_mask)
def judge_shifted_window_mask(data: dict, j: Judge) -> None:
    masks = j.results(data, "masks", len(MASK_CASES), "shifted_window_mask")
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
        j.expect_close(got, expected, what, atol=1e-6, rtol=0, hint=mask_hint(got, H, W, ws, shift, expected))


# ---------------------------------------------------------------------------- window attention

@REGISTRY.exercise("WindowAttention", probe_window_attention)
def judge_window_attention(data: dict, j: Judge) -> None:
    cases = j.results(data, "cases", len(WA_CASES), "WindowAttention")
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
        x, mask, params = wa_inputs(i)
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
        if not j.expect_tensor(case.get("out"), f"{what}: output", shape=tuple(x.shape), dtype=dtype_name(x.dtype)):
            continue
        atol = 1e-10 if dtype == F64 else 2e-5
        expected = ref.window_attention_official(x, params, ws, heads, mask)
        hint = ("scores = q k^T / sqrt(head_dim) + bias[h, i, j] with bias = table[index[i, j], h], plus mask[w] for "
                "window w of every image, softmax over keys, values, merge heads, proj")
        if ws > 1 and close(case["out"], wa_reference(i, transposed=True)):
            hint = "the bias table is indexed with the transposed index: bias[h, i, j] = table[index[i, j], h]"
        elif heads > 1 and close(case["out"], wa_reference(i, scale_dim=True)):
            hint = "scale by 1/sqrt(head_dim) = 1/sqrt(dim // num_heads), not 1/sqrt(dim)"
        elif kind is not None and images > 1:
            hint = ("window w of EVERY image gets mask[w]: view the scores as (B, nW, heads, N, N) and add "
                    "mask[None, :, None] (windows of one image are consecutive)")
        j.expect_close(case["out"], expected, f"{what}: output", atol=atol, rtol=1e-4 if dtype == F32 else 1e-8, hint=hint)
        j.expect(not case.get("modified"), f"{what} changed its input in place")
        if dtype == F32 and kind is None and ws > 1:  # cross-check with torchvision, one window per image
            tv = torchvision_window_attention(x, params, ws, heads)
            j.expect_close(case["out"], tv, f"{what}: output vs torchvision's window attention", atol=atol, hint=hint)
        if i == WA_GRAD_CASE:
            judge_wa_grads(case.get("grads"), i, what, j)


# ---------------------------------------------------------------------------- patch merging

@REGISTRY.exercise("PatchMerging", probe_patch_merging)
def judge_patch_merging(data: dict, j: Judge) -> None:
    cases = j.results(data, "cases", len(PM_CASES), "PatchMerging")
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
        if not j.expect_tensor(case.get("out"), what, shape=tuple(expected.shape), dtype=dtype_name(x.dtype)):
            continue
        hint = ("concatenate x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2] in this order, "
                "then norm, then reduction")
        parts = [x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]]
        with torch.no_grad():
            swapped = tv.reduction(tv.norm(torch.cat([parts[0], parts[2], parts[1], parts[3]], -1)))
        if close(case["out"], swapped):
            hint = "wrong concatenation order: the second block is x[:, 1::2, 0::2] (odd ROWS), the third x[:, 0::2, 1::2]"
        atol = 1e-10 if dtype == F64 else 1e-5
        j.expect_close(case["out"], expected, f"{what} vs torchvision's PatchMerging", atol=atol, hint=hint)
        j.expect(not case.get("modified"), f"{what} changed its input in place")


# ---------------------------------------------------------------------------- Swin blocks

@REGISTRY.exercise("SwinBlock", probe_swin_block)
def judge_swin_block(data: dict, j: Judge) -> None:
    passed = judge_blocks("SwinBlock", BLOCK_CASES, 1000, BLOCK_GRAD_CASE, data, j)
    if len(passed) < len(BLOCK_CASES):
        return
    unshifted = [i for i, c in enumerate(BLOCK_CASES) if c[6] == 0]
    one_axis = [i for i, c in enumerate(BLOCK_CASES) if single_window_axis(c)]
    shifted = [i for i, c in enumerate(BLOCK_CASES) if c[6] > 0 and not single_window_axis(c)]
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
    passed = judge_blocks("PaddedSwinBlock", PAD_CASES, 3000, PAD_GRAD_CASE, data, j)
    if len(passed) < len(PAD_CASES):
        return
    unpadded = [i for i, c in enumerate(PAD_CASES) if c[1] % c[5] == 0 and c[2] % c[5] == 0]
    one_axis = [i for i, c in enumerate(PAD_CASES) if i not in unpadded and single_window_axis(c)]
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
