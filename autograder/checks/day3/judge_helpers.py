"""Judge side of day3_spatial_cbam: references, typical mistakes and hints the judges use.

No probe reaches this module, so none of it enters the sandbox (``autograder/sandbox/strip.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from autograder.checks.day3.probes import MODES
from autograder.harness import Judge, array, describe, is_tensor
from autograder.reference import day3_spatial_cbam as ref


def as_float64(value: Any) -> torch.Tensor:
    """A probed tensor as a float64 torch tensor (the judge's side)."""
    return torch.from_numpy(np.array(array(value), dtype=np.float64))


# ---------------------------------------------------------------------------- ChannelAttention
def ca_wrong(x: torch.Tensor, p: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {
        "average pooling alone (CBAM adds the max-pooled path)": ref.channel_gate(x, p, variant="avg_only"),
        "max pooling alone (CBAM adds the average-pooled path)": ref.channel_gate(x, p, variant="max_only"),
        "one MLP on avg + max (add the two MLP outputs, not the pooled vectors)": ref.channel_gate(
            x, p, variant="sum_before_mlp"
        ),
        "a sigmoid on each path before adding (one sigmoid after the sum)": ref.channel_gate(x, p, variant="sigmoid_each"),
        "a softmax over the channels instead of a sigmoid": ref.channel_gate(x, p, variant="softmax"),
    }


# ---------------------------------------------------------------------------- SpatialAttention
def sa_wrong(x: torch.Tensor, w: torch.Tensor) -> dict[str, torch.Tensor]:
    return {
        "[max, mean] in the wrong order (the conv's first input map is the mean)": ref.spatial_gate(x, w, "max_mean"),
        "a sum over the channels instead of the mean": ref.spatial_gate(x, w, "sum_max"),
        "a softmax over the positions instead of a sigmoid": ref.spatial_gate(x, w, "softmax"),
        "no sigmoid after the convolution": ref.spatial_gate(x, w, "no_sigmoid"),
        "the mean map twice (the second map is the max across channels)": ref.spatial_gate(x, w, "mean_mean"),
    }


# ---------------------------------------------------------------------------- CBAM
def cbam_wrong(x: torch.Tensor, p: dict[str, torch.Tensor], mode: str) -> dict[str, torch.Tensor]:
    wrong = {f"mode {m!r} (modes mixed up)": ref.cbam(x, p, m) for m in MODES if m != mode}
    wrong["the channel gate alone (the spatial gate is not applied)"] = ref.cbam(x, p, "channel_only")
    wrong["the spatial gate alone (the channel gate is not applied)"] = ref.cbam(x, p, "spatial_only")
    wrong["x * Mc + x * Ms (parallel means x * Mc(x) * Ms(x))"] = ref.cbam(x, p, "parallel_sum")
    wrong["the product of the gates without the input"] = ref.cbam(x, p, "gates_only")
    return wrong


# ---------------------------------------------------------------------------- FixedNet
CBAM_KEYS = ("channel_attention.mlp.0.weight", "channel_attention.mlp.0.bias", "channel_attention.mlp.2.weight",
             "channel_attention.mlp.2.bias", "spatial_attention.conv.weight")


def cbam_record_params(j: Judge, rec: dict, what: str) -> dict[str, torch.Tensor] | None:
    """The recorded CBAM weights as float64 tensors, if they have the contract's names and consistent shapes."""
    st = rec.get("state")
    if not isinstance(st, dict) or sorted(st) != sorted(CBAM_KEYS) or not all(is_tensor(st[k]) for k in CBAM_KEYS):
        j.fail(
            f"{what}: its parameters should be exactly {list(CBAM_KEYS)} (your CBAM from Exercise 3), "
            f"got {sorted(st) if isinstance(st, dict) else st}"
        )
        return None
    p = {k: as_float64(st[k]) for k in CBAM_KEYS}
    x = rec.get("input")
    if not is_tensor(x) or len(x["shape"]) != 4:
        j.fail(f"{what}: its input should be a (B, C, H, W) feature map, got {x['shape'] if is_tensor(x) else describe(x)}")
        return None
    c = x["shape"][1]
    w1, conv = p["channel_attention.mlp.0.weight"], p["spatial_attention.conv.weight"]
    hidden = w1.shape[0] if w1.dim() == 2 else 0
    k = conv.shape[-1] if conv.dim() == 4 else 0
    want = {
        "channel_attention.mlp.0.weight": (hidden, c),
        "channel_attention.mlp.0.bias": (hidden,),
        "channel_attention.mlp.2.weight": (c, hidden),
        "channel_attention.mlp.2.bias": (c,),
        "spatial_attention.conv.weight": (1, 2, k, k),
    }
    got = {key: tuple(v.shape) for key, v in p.items()}
    if got != want or hidden < 1 or k % 2 != 1:
        j.fail(f"{what}: on a {c}-channel input its parameter shapes should be {want} (hidden >= 1, odd kernel), got {got}")
        return None
    return p


def looks_like_probabilities(values: list[Any]) -> str:
    """'softmax' when every tensor's rows are non-negative and sum to 1, 'sigmoid' when all entries lie in [0, 1]."""
    arrays = [array(v).astype(np.float64) for v in values if is_tensor(v) and len(v["shape"]) == 2 and v["shape"][1] >= 2]
    if not arrays or not all(np.isfinite(a).all() for a in arrays):
        return ""
    if all((a >= 0).all() and np.allclose(a.sum(1), 1.0, atol=1e-4) for a in arrays):
        return "softmax"
    if all(((a >= 0) & (a <= 1)).all() for a in arrays):
        return "sigmoid"
    return ""


# ---------------------------------------------------------------------------- FixedDigitNet
def digit_wrong(x: torch.Tensor, p: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {
        "a softmax at the end (probabilities; F.cross_entropy wants logits)": ref.digit_net(x, p, "softmax"),
        "the channel statistics pooled over the whole batch (each image needs its own gate)": ref.digit_net(x, p, "batch_pool"),
        "no spatial gate": ref.digit_net(x, p, "no_spatial"),
        "no channel gate": ref.digit_net(x, p, "no_channel"),
        "[max, mean] fed to the spatial conv (mean first)": ref.digit_net(x, p, "max_mean"),
    }
