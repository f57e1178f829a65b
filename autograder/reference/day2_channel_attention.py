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


# ---------------------------------------------------------------------------- SE-ResNet basic block
BN_KEYS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def _bn(x: torch.Tensor, p: dict[str, torch.Tensor], prefix: str, train: bool) -> torch.Tensor:
    # clones: in training mode F.batch_norm updates the running statistics it is given
    mean, var = p[f"{prefix}.running_mean"].clone(), p[f"{prefix}.running_var"].clone()
    return F.batch_norm(x, mean, var, p[f"{prefix}.weight"], p[f"{prefix}.bias"], training=train, momentum=0.1, eps=1e-5)


def se_basic_block(
    x: torch.Tensor,
    p: dict[str, torch.Tensor],
    stride: int,
    train: bool = False,
    placement: str = "branch",
    final_relu: bool = True,
    shortcut_bn: bool = True,
) -> torch.Tensor:
    """Functional SE-ResNet basic block; ``p`` holds the contract's state_dict entries.

    ``placement``: "branch" (right: SE on the residual branch before the addition), "post" (SE on the
    sum, before the final ReLU), "after_relu" (SE on the block's output), "shortcut" (SE on the
    shortcut), "none" (no SE), "before_bn2" (SE between conv2 and bn2). The other switches name further typical mistakes.
    """
    se_p = {k[3:]: v for k, v in p.items() if k.startswith("se.")}
    out = F.relu(_bn(F.conv2d(x, p["conv1.weight"], stride=stride, padding=1), p, "bn1", train))
    out = F.conv2d(out, p["conv2.weight"], padding=1)
    if placement == "before_bn2":
        out = se(out, se_p)
    out = _bn(out, p, "bn2", train)
    if "downsample.0.weight" in p:
        shortcut = F.conv2d(x, p["downsample.0.weight"], stride=stride)
        if shortcut_bn:
            shortcut = _bn(shortcut, p, "downsample.1", train)
    else:
        shortcut = x
    if placement == "branch":
        out = se(out, se_p)
    elif placement == "shortcut":
        shortcut = se(shortcut, se_p)
    out = out + shortcut
    if placement == "post":
        out = se(out, se_p)
    if placement == "after_relu":
        return se(F.relu(out), se_p)
    return F.relu(out) if final_relu else out


def se_basic_block_torchvision(x: torch.Tensor, p: dict[str, torch.Tensor], stride: int, train: bool = False) -> torch.Tensor:
    """The same block built from torchvision's ``BasicBlock`` and ``SqueezeExcitation`` (after ``bn2``)."""
    from torchvision.models.resnet import BasicBlock
    from torchvision.ops import SqueezeExcitation

    c_out, c_in = p["conv1.weight"].shape[:2]
    hidden = p["se.fc1.weight"].shape[0]
    downsample = None
    if "downsample.0.weight" in p:
        downsample = torch.nn.Sequential(
            torch.nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), torch.nn.BatchNorm2d(c_out)
        )
    block = BasicBlock(c_in, c_out, stride=stride, downsample=downsample)
    block.load_state_dict({k: v for k, v in p.items() if not k.startswith("se.")}, strict=True)
    gate = SqueezeExcitation(c_out, hidden)  # fc1, fc2 are 1x1 convolutions: the Linear weights with two unit axes
    gate.load_state_dict({k[3:]: v[..., None, None] if k.endswith("weight") else v for k, v in p.items() if k.startswith("se.")})
    block.bn2 = torch.nn.Sequential(block.bn2, gate)
    block = block.to(x.dtype).train(train)
    with torch.no_grad():
        return block(x.clone())
