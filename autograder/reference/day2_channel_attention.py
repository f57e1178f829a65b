"""Functional references for day 2 (SE, ECA), written independently of the solution notebook.

Each takes the weights as a dict of tensors named as the contract's state_dict keys, so the
checks can load the same seeded weights into the student's module. Keyword switches produce
the typical wrong versions, which the checks use to name a student's mistake.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def _pool(x: torch.Tensor, pool: str) -> torch.Tensor:
    if pool == "mean":
        return x.mean(dim=(2, 3))
    if pool == "max":
        return x.amax(dim=(2, 3))
    if pool == "sum":
        return x.sum(dim=(2, 3))
    raise ValueError(pool)


def _act(z: torch.Tensor, act: str) -> torch.Tensor:
    if act == "sigmoid":
        return torch.sigmoid(z)
    if act == "softmax":
        return torch.softmax(z, dim=1)
    if act == "none":
        return z
    raise ValueError(act)


def se_gate(
    s: torch.Tensor, p: dict[str, torch.Tensor], act: str = "sigmoid", relu: bool = True, relu_after: bool = False
) -> torch.Tensor:
    """Excitation of pooled channel descriptors ``s (B, C)`` -> gates ``(B, C)``."""
    h = F.linear(s, p["fc1.weight"], p["fc1.bias"])
    if relu:
        h = F.relu(h)
    z = F.linear(h, p["fc2.weight"], p["fc2.bias"])
    if relu_after:
        z = F.relu(z)
    return _act(z, act)


def se(x: torch.Tensor, p: dict[str, torch.Tensor], pool: str = "mean", **kwargs) -> torch.Tensor:
    """SE block: x * sigmoid(fc2(relu(fc1(GAP(x))))) broadcast over H, W."""
    return x * se_gate(_pool(x, pool), p, **kwargs)[:, :, None, None]


def eca_kernel_size(channels: int, gamma: float = 2, b: float = 1) -> int:
    t = int(abs((math.log2(channels) + b) / gamma))
    return t if t % 2 == 1 else t + 1


def eca_gate(s: torch.Tensor, w: torch.Tensor, act: str = "sigmoid") -> torch.Tensor:
    """1-D cross-correlation of the channel descriptors ``s (B, C)`` with ``w (1, 1, k)``, zero padded."""
    k = w.shape[-1]
    padded = F.pad(s, (k // 2, k // 2))
    # explicit sum over the window: independent of conv1d's conventions
    z = sum(w[0, 0, j] * padded[:, j : j + s.shape[1]] for j in range(k))
    return _act(z, act)


def eca(x: torch.Tensor, w: torch.Tensor, pool: str = "mean", act: str = "sigmoid") -> torch.Tensor:
    return x * eca_gate(_pool(x, pool), w, act=act)[:, :, None, None]
