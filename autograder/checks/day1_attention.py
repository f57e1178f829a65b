"""Hidden checks for day1_attention: softmax, scaled_dot_product_attention, causal_mask, padded_attention.

References are torch built-ins (``torch.softmax``, ``F.scaled_dot_product_attention``,
``torch.tril``), computed here in the judge, never in the student's process.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from autograder.checks.day1.judge_helpers import (
    NAN_HINT,
    out_and_weights,
    padded_mask_free,
    pairs,
    probe_data,
    reference_sdpa,
)
from autograder.checks.day1.probes import (
    CAUSAL_BY_KEYWORD,
    CAUSAL_SIZES,
    PADDED_GRAD,
    SOFTMAX_GRAD,
    grad_inputs,
    grad_masks,
    padded_cases,
    probe_causal_mask,
    probe_padded_attention,
    probe_sdpa,
    probe_softmax,
    sdpa_cases,
    softmax_inputs,
)
from autograder.harness import Judge, Registry, describe, randn

REGISTRY = Registry("day1_attention")


# ---------------------------------------------------------------------------- softmax

# The ban (COURSE_SPEC: torch.softmax, F.softmax, Tensor.softmax, nn.Softmax and the log_softmax variants):
# a static scan of every student code cell (trusted side) and a dispatch-level recorder of the
# operators these reach, around the whole probe. Either one fails the exercise and is listed for review.
FORBIDDEN = ("softmax", "log_softmax", "Softmax", "LogSoftmax", "_softmax", "_log_softmax", "_safe_softmax")
SOFTMAX_OPS = ("softmax", "log_softmax", "_softmax", "_log_softmax", "_safe_softmax", "_masked_softmax",
               "special_softmax", "special_log_softmax")
REGISTRY.ban("softmax", "torch's own softmax", names=FORBIDDEN, ops=SOFTMAX_OPS)


@REGISTRY.exercise("softmax", probe_softmax)
def judge_softmax(data: dict, j: Judge) -> None:
    if not probe_data(j, data, "softmax"):
        return
    inputs = softmax_inputs()
    probed = j.results(data, "cases", len(inputs), "the softmax cases")
    for (what, x, how), case in pairs(inputs, probed):
        what = f"softmax on {what}"
        if not isinstance(case, dict):
            j.fail(f"{what}: the grader received {describe(case)} instead of a result")
            continue
        dim = how.get("dim", -1)
        expected = torch.softmax(x, dim=dim)
        out = case.get("out")
        if not j.expect_tensor(out, what, shape=tuple(x.shape), dtype=str(x.dtype).replace("torch.", "")):
            continue
        j.expect(case.get("modified") is False, f"{what} changed its input in place; compute into a new tensor")
        low_precision = x.dtype == torch.bfloat16
        j.expect_close(
            out, expected, what, atol=1e-2 if low_precision else 1e-6, rtol=2e-2 if low_precision else 1e-5,
            hint=f"subtract the maximum along dim={dim} (keepdim=True) before exp, and normalise along the same dim",
        )
        masked = torch.isinf(x).numpy()
        if masked.any():
            j.expect(bool((out["data"][masked] == 0).all()), f"{what}: entries equal to -inf must get weight exactly 0")
    grad = data.get("grad") if isinstance(data, dict) else None
    if j.expect_ok(grad, "backward through softmax"):
        x = randn(SOFTMAX_GRAD["seed"], *SOFTMAX_GRAD["shape"]).requires_grad_(True)
        (torch.softmax(x, dim=SOFTMAX_GRAD["dim"]) * randn(SOFTMAX_GRAD["upstream"], *SOFTMAX_GRAD["shape"])).sum().backward()
        j.expect_close(
            grad, x.grad, "the gradient of softmax(x, dim=1) with respect to x", atol=1e-6, rtol=1e-5,
            hint="build the result from torch operations on x (no .detach(), .numpy() or torch.tensor(...) copies) "
            "so that gradients flow back to x",
        )


# --------------------------------------------------------------- scaled dot-product attention

@REGISTRY.exercise("scaled_dot_product_attention", probe_sdpa)
def judge_sdpa(data: dict, j: Judge) -> None:
    if not probe_data(j, data, "scaled_dot_product_attention"):
        return
    cases = sdpa_cases()
    probed = j.results(data, "cases", len(cases), "the attention cases")
    for (what, inputs, _), case in pairs(cases, probed):
        what = f"scaled_dot_product_attention with {what}"
        pair = out_and_weights(j, what, case)
        if pair is None:
            continue
        out, weights = pair
        ref_out, ref_w = reference_sdpa(**inputs)
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
            if mask is not None:
                blocked = ((~mask) if mask.dtype == torch.bool else torch.isneginf(mask)).expand(ref_w.shape).numpy()
                if blocked.any():
                    j.expect(
                        bool((w[blocked] == 0).all()),
                        f"{what}: weights on masked keys must be exactly 0 (a boolean mask is True where a query may "
                        f"attend; a float mask of -inf removes the key); max weight on a masked key is {w[blocked].max():.3g}",
                    )
            j.expect_close(
                weights, ref_w, f"{what}: weights", atol=1e-5, rtol=1e-4,
                hint="weights = softmax(q @ k^T / sqrt(d) + mask) over the keys, with d = q.shape[-1]; a boolean mask "
                "sets excluded scores to -inf, a float mask is added",
            )
        if j.expect_tensor(out, f"{what}: out", shape=tuple(ref_out.shape), dtype=dtype):
            j.expect_close(out, ref_out, f"{what}: out", atol=1e-5, rtol=1e-4, hint="out = weights @ v")
        j.expect(case.get("modified") is False, f"{what} changed an input tensor in place")
    masks = grad_masks()
    grads = j.results(data, "grads", len(masks), "the backward cases")
    for (what, mask), got in pairs(masks, grads):
        what = f"backward through scaled_dot_product_attention with {what}"
        if not j.expect_ok(got, what):
            continue
        if not isinstance(got, dict):
            j.fail(f"{what}: the grader received {describe(got)} instead of gradients")
            continue
        inputs = {k: t.clone().requires_grad_(True) for k, t in grad_inputs().items()}
        ref = F.scaled_dot_product_attention(inputs["q"], inputs["k"], inputs["v"], attn_mask=mask)
        (ref * randn(103, 2, 3, 4)).sum().backward()
        for name, t in inputs.items():
            j.expect_close(
                got.get(name), t.grad, f"{what}: the gradient with respect to {name}", atol=1e-5, rtol=1e-4,
                hint="keep every step in torch operations so gradients flow (no .detach(), .numpy() or in-place edits)",
            )


# ---------------------------------------------------------------------------- causal mask

@REGISTRY.exercise("causal_mask", probe_causal_mask)
def judge_causal_mask(data: dict, j: Judge) -> None:
    if not probe_data(j, data, "causal_mask"):
        return
    calls = [(n, f"causal_mask({n})") for n in CAUSAL_SIZES] + [(CAUSAL_BY_KEYWORD, f"causal_mask(n={CAUSAL_BY_KEYWORD})")]
    masks = j.results(data, "masks", len(calls), "the causal_mask calls")
    for (n, what), got in pairs(calls, masks):
        if not j.expect_tensor(got, what, shape=(n, n)):
            continue
        if got["dtype"] != "bool":
            j.fail(f"{what} has dtype {got['dtype']}; a mask must be a bool tensor (True = may attend): use dtype=torch.bool")
        else:
            j.expect_equal(
                got, torch.ones(n, n, dtype=torch.bool).tril(), what,
                hint="True on and below the diagonal: query i may attend to keys 0..i",
            )


# ---------------------------------------------------------------------- padded attention

@REGISTRY.exercise("padded_attention", probe_padded_attention)
def judge_padded_attention(data: dict, j: Judge) -> None:
    if not probe_data(j, data, "padded_attention"):
        return
    cases = padded_cases()
    probed = j.results(data, "cases", len(cases), "the padded_attention cases")
    for (what, inputs), case in pairs(cases, probed):
        what = f"padded_attention with {what}"
        pair = out_and_weights(j, what, case)
        if pair is None:
            continue
        out, weights = pair
        ref_out, ref_w = padded_mask_free(inputs["q"], inputs["k"], inputs["v"], inputs["lengths"])
        dtype = str(inputs["q"].dtype).replace("torch.", "")
        lengths = [int(n) for n in inputs["lengths"]]
        for name, got, ref in (("weights", weights, ref_w), ("out", out, ref_out)):
            label = f"{what}: {name}"
            if not j.expect_tensor(got, label, shape=tuple(ref.shape), dtype=dtype):
                continue
            values = got["data"]
            if not j.expect(bool(np.isfinite(values).all()), f"{label} contains nan or inf. Hint: {NAN_HINT}"):
                continue
            for b, n in enumerate(lengths):
                if n < values.shape[-2]:
                    j.expect(
                        bool((values[b, ..., n:, :] == 0).all()),
                        f"{label}: the rows of padding queries (sequence {b}, positions {n} and up) must be exactly 0",
                    )
                if name == "weights" and n < values.shape[-1]:
                    j.expect(
                        bool((values[b, ..., :n, n:] == 0).all()),
                        f"{label}: real queries of sequence {b} must give its padding keys (positions {n} and up) "
                        f"weight exactly 0; the largest such weight is {values[b, ..., :n, n:].max():.3g}",
                    )
            j.expect_close(
                got, ref, label, atol=1e-5, rtol=1e-4,
                hint="at the real positions of each sequence the result must equal attention on that sequence alone; "
                "the mask must broadcast with the batch dimension first, (B, 1, ..., 1, L)",
            )
        j.expect(case.get("modified") is False, f"{what} changed an input tensor in place")
    grads = data.get("grads") if isinstance(data, dict) else None
    what = "backward through padded_attention (q, k (2, 2, 5, 8), lengths [5, 3])"
    if j.expect_ok(grads, what):
        if not isinstance(grads, dict):
            j.fail(f"{what}: the grader received {describe(grads)} instead of gradients")
            return
        inputs = {name: randn(PADDED_GRAD[name][0], *PADDED_GRAD[name][1]).requires_grad_(True) for name in "qkv"}
        ref_out, _ = padded_mask_free(inputs["q"], inputs["k"], inputs["v"], torch.tensor(PADDED_GRAD["lengths"]))
        (ref_out * randn(PADDED_GRAD["upstream"][0], *PADDED_GRAD["upstream"][1])).sum().backward()
        for name, t in inputs.items():
            label = f"{what}: the gradient with respect to {name}"
            got = grads.get(name)
            if j.expect_tensor(got, label, shape=tuple(t.shape)):
                if j.expect(bool(np.isfinite(got["data"]).all()), f"{label} contains nan or inf. Hint: {NAN_HINT}"):
                    j.expect_close(
                        got, t.grad, label, atol=1e-5, rtol=1e-4,
                        hint="nothing at a padding position may influence a real output, and padding outputs are "
                        "constant 0: their gradients are 0",
                    )


# ---------------------------------------------------------------------------- concept questions

REGISTRY.quiz(
    "quiz_1", "B",
    "A sum of d independent products, each of variance 1, has variance d; the standard deviation is the square root "
    "of the variance. Dividing a random variable by c divides its standard deviation by c (and its variance by c^2).",
)
REGISTRY.quiz(
    "quiz_2", "C",
    "Add up one row of softmax weights first: what is their mean over the N keys, and does it depend on the "
    "scores? Then ask what gradient a term has that the scores cannot change (the lesson measures it, section 5).",
)
REGISTRY.quiz(
    "quiz_3", "D",
    "Count the tokens first ((224/4)^2 against (224/16)^2), then remember that a head stores one weight for every "
    "(query, key) pair: memory grows with the square of the number of tokens.",
)
REGISTRY.quiz(
    "quiz_4", "A",
    "When every score is -inf, the maximum m is -inf too. Evaluate x_i - m for such an entry in floating point "
    "(try it: float('-inf') - float('-inf')), and follow it through exp and the division.",
)
