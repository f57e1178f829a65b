"""Functional references for day 3 (CBAM's channel and spatial gates, the three compositions).

Weights come as dicts keyed like the contract's state_dict ("mlp.0.weight", "conv.weight", and
for CBAM "channel_attention.mlp.0.weight", "spatial_attention.conv.weight"). Keyword switches give
the typical wrong versions, used by the checks to name a student's mistake.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _mlp(s: torch.Tensor, p: dict[str, torch.Tensor], prefix: str = "") -> torch.Tensor:
    h = F.relu(F.linear(s, p[prefix + "mlp.0.weight"], p[prefix + "mlp.0.bias"]))
    return F.linear(h, p[prefix + "mlp.2.weight"], p[prefix + "mlp.2.bias"])


def channel_gate(x: torch.Tensor, p: dict[str, torch.Tensor], prefix: str = "", variant: str = "") -> torch.Tensor:
    """sigmoid(MLP(avgpool x) + MLP(maxpool x)) as (B, C, 1, 1); ``variant`` selects a typical mistake."""
    avg, mx = x.mean(dim=(2, 3)), x.amax(dim=(2, 3))
    if variant == "avg_only":
        z = _mlp(avg, p, prefix)
    elif variant == "max_only":
        z = _mlp(mx, p, prefix)
    elif variant == "sum_before_mlp":
        z = _mlp(avg + mx, p, prefix)
    elif variant == "sigmoid_each":
        return (torch.sigmoid(_mlp(avg, p, prefix)) + torch.sigmoid(_mlp(mx, p, prefix)))[:, :, None, None]
    elif variant == "softmax":
        return torch.softmax(_mlp(avg, p, prefix) + _mlp(mx, p, prefix), dim=1)[:, :, None, None]
    else:
        z = _mlp(avg, p, prefix) + _mlp(mx, p, prefix)
    return torch.sigmoid(z)[:, :, None, None]


def spatial_gate(x: torch.Tensor, w: torch.Tensor, variant: str = "") -> torch.Tensor:
    """sigmoid(conv([mean_c x, max_c x])) as (B, 1, H, W), zero padding k // 2, no bias."""
    mean, mx = x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)
    if variant == "max_mean":
        pooled = torch.cat([mx, mean], dim=1)
    elif variant == "sum_max":
        pooled = torch.cat([x.sum(dim=1, keepdim=True), mx], dim=1)
    elif variant == "mean_mean":
        pooled = torch.cat([mean, mean], dim=1)
    else:
        pooled = torch.cat([mean, mx], dim=1)
    z = F.conv2d(pooled, w, padding=w.shape[-1] // 2)
    if variant == "softmax":
        b, _, h, wd = z.shape
        return torch.softmax(z.reshape(b, -1), dim=1).reshape(b, 1, h, wd)
    if variant == "no_sigmoid":
        return z
    return torch.sigmoid(z)


def cbam(x: torch.Tensor, p: dict[str, torch.Tensor], mode: str = "channel_first") -> torch.Tensor:
    """CBAM with weights ``p`` (prefixed keys); modes as in the course contract."""
    w = p["spatial_attention.conv.weight"]

    def mc(t: torch.Tensor) -> torch.Tensor:
        return channel_gate(t, p, prefix="channel_attention.")

    if mode == "channel_first":
        y = x * mc(x)
        return y * spatial_gate(y, w)
    if mode == "spatial_first":
        y = x * spatial_gate(x, w)
        return y * mc(y)
    if mode == "parallel":
        return x * mc(x) * spatial_gate(x, w)
    if mode == "channel_only":
        return x * mc(x)
    if mode == "spatial_only":
        return x * spatial_gate(x, w)
    if mode == "parallel_sum":
        return x * mc(x) + x * spatial_gate(x, w)
    if mode == "gates_only":
        return mc(x) * spatial_gate(x, w)
    raise ValueError(mode)


def digit_net(x: torch.Tensor, p: dict[str, torch.Tensor], variant: str = "") -> torch.Tensor:
    """FixedDigitNet's forward pass (docs/exercises/day3_spatial_cbam.md): logits (B, num_classes).

    ``variant`` selects a typical wrong repair of BrokenDigitNet, used to name a student's mistake.
    """
    h = F.relu(F.conv2d(x, p["conv.weight"], p["conv.bias"], padding=1))
    if variant != "no_channel":
        dims = (0, 2, 3) if variant == "batch_pool" else (2, 3)
        z = _mlp(h.mean(dim=dims), p) + _mlp(h.amax(dim=dims), p)
        gate = torch.sigmoid(z)
        h = h * (gate[None, :, None, None] if variant == "batch_pool" else gate[:, :, None, None])
    if variant != "no_spatial":
        h = h * spatial_gate(h, p["spatial.weight"], "max_mean" if variant == "max_mean" else "")
    logits = F.linear(F.max_pool2d(h, 2).flatten(1), p["fc.weight"], p["fc.bias"])
    return torch.softmax(logits, dim=1) if variant == "softmax" else logits
