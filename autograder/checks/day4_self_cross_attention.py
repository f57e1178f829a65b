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

import torch

from autograder.checks.day4.judge_helpers import (
    judge_module,
    judge_sincos_bad_dims,
    judge_sincos_cases,
    reference_split,
)
from autograder.checks.day4.probes import (
    CROSS_CASES,
    CROSS_GRAD_CASE,
    MHSA_CASES,
    MHSA_GRAD_CASE,
    merge_cases,
    probe_cross,
    probe_merge_heads,
    probe_mhsa,
    probe_sincos,
    probe_split_heads,
    sincos_bad_dims,
    sincos_cases,
    split_cases,
)
from autograder.harness import ERROR_KEY, Judge, Registry, dtype_name, is_error

REGISTRY = Registry("day4_self_cross_attention")


# ---------------------------------------------------------------------------- split / merge heads

@REGISTRY.exercise("split_heads", probe_split_heads)
def judge_split_heads(data: dict, j: Judge) -> None:
    cases = split_cases()
    results = j.results(data, "cases", len(cases), "split_heads")
    if results is None:
        return
    for (what, x, h), case in zip(cases, results, strict=True):
        what = f"split_heads on {what}"
        b, n, c = x.shape
        expected = reference_split(x, h)
        if j.expect_tensor(case["out"], what, shape=(b, h, n, c // h), dtype=dtype_name(x.dtype)):
            j.expect_close(
                case["out"], expected, what, atol=0, rtol=0,
                hint="head i must hold features i*d:(i+1)*d of every token: reshape to (B, N, h, d), then transpose(1, 2); "
                "a view/reshape straight to (B, h, N, d) mixes tokens and heads",
            )
        j.expect(not case["modified"], f"{what} changed its input in place")


@REGISTRY.exercise("merge_heads", probe_merge_heads)
def judge_merge_heads(data: dict, j: Judge) -> None:
    cases = merge_cases()
    results = j.results(data, "cases", len(cases), "merge_heads")
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
        if j.expect_tensor(out, what, shape=(b, n, h * d), dtype=dtype_name(x.dtype)):
            j.expect_close(
                out, expected, what, atol=0, rtol=0,
                hint="token t must hold [head 0 | head 1 | ...] of token t: transpose(1, 2) back to (B, N, h, d), "
                "then reshape to (B, N, h*d)",
            )
        j.expect(not case["modified"], f"{what} changed its input in place")


# ---------------------------------------------------------------------------- attention modules

@REGISTRY.exercise("MultiHeadSelfAttention", probe_mhsa)
def judge_mhsa(data: dict, j: Judge) -> None:
    judge_module(data, j, MHSA_CASES, MHSA_GRAD_CASE, cross=False, name="MultiHeadSelfAttention")


@REGISTRY.exercise("CrossAttention", probe_cross)
def judge_cross(data: dict, j: Judge) -> None:
    judge_module(data, j, CROSS_CASES, CROSS_GRAD_CASE, cross=True, name="CrossAttention")


# ---------------------------------------------------------------------------- 2-D sin-cos position embedding

@REGISTRY.exercise("sincos_pos_embed_2d", probe_sincos)
def judge_sincos(data: dict, j: Judge) -> None:
    name = "sincos_pos_embed_2d"
    cases = sincos_cases()
    results = j.results(data, "cases", len(cases), name)
    bad = j.results(data, "bad_dims", len(sincos_bad_dims()), name)
    if results is not None:
        judge_sincos_cases(cases, results, j, name)
    if bad is not None:
        judge_sincos_bad_dims(bad, j, name)


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
