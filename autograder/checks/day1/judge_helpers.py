"""Judge side of day1_attention: references, typical mistakes and hints the judges use.

No probe reaches this module, so none of it enters the sandbox (``autograder/sandbox/strip.py``).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from autograder.harness import Judge, describe


# ---------------------------------------------------------------------------- softmax
def pairs(expected: list, probed: list | None) -> list[tuple[Any, Any]]:
    """Each expected case with its probed result; none when the probe's list was rejected by ``Judge.results``."""
    return [] if probed is None else list(zip(expected, probed, strict=True))


def probe_data(j: Judge, data: Any, exercise: str) -> bool:
    """The probe of every exercise returns a dict; anything else fails with one clear message."""
    if isinstance(data, dict):
        return True
    return j.fail(
        f"the grader received {describe(data)} instead of the results of {exercise}; "
        "the checks could not run (run every cell in order and submit again)"
    )


# --------------------------------------------------------------- scaled dot-product attention
def reference_sdpa(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: Any = None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, -math.inf) if mask.dtype == torch.bool else scores + mask
    weights = torch.softmax(scores, dim=-1)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # positional: torch names them query/key/value
    return out, weights


# ---------------------------------------------------------------------- padded attention
def padded_mask_free(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, lengths: torch.Tensor):
    """The reference, computed sequence by sequence on the unpadded slices (no mask involved)."""
    outs, weights = [], []
    length = q.shape[-2]
    for b, n in enumerate(int(n) for n in lengths):
        qb, kb, vb = q[b, ..., :n, :], k[b, ..., :n, :], v[b, ..., :n, :]
        wb = torch.softmax(qb @ kb.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)
        ob = F.scaled_dot_product_attention(qb, kb, vb)
        outs.append(F.pad(ob, (0, 0, 0, length - n)))
        weights.append(F.pad(wb, (0, length - n, 0, length - n)))
    return torch.stack(outs), torch.stack(weights)


NAN_HINT = (
    "a padding query whose every key is masked gives a softmax of 0/0 = nan (and nan gradients, even when the nan "
    "is replaced afterwards); mask only the padding keys, then set the padding queries' rows to 0"
)


def out_and_weights(j: Judge, what: str, case: Any) -> tuple[Any, Any] | None:
    """The (out, weights) pair one probed call returned, or None after one clear failure."""
    if not isinstance(case, dict):
        j.fail(f"{what}: the grader received {describe(case)} instead of a result")
        return None
    result = case.get("result")
    if not j.expect_ok(result, what):
        return None
    if not (isinstance(result, list) and len(result) == 2):
        j.fail(f"{what} should return a pair (out, weights), got {describe(result)}")
        return None
    return result[0], result[1]
