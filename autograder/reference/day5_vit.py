"""References for day5_vit, for the judges only (nothing here may run in the student's process).

torchvision holds the same numbers as the course's modules under other names:

=============================  ==========================================
course                         torchvision
=============================  ==========================================
patch_embed.proj.{weight,bias} conv_proj.{weight,bias}
cls_token                      class_token
pos_embed                      encoder.pos_embedding
blocks.i.norm1 / norm2         encoder.layers.encoder_layer_i.ln_1 / ln_2
blocks.i.attn.qkv              ...self_attention.in_proj_{weight,bias}
blocks.i.attn.proj             ...self_attention.out_proj
blocks.i.mlp.0 / mlp.2         ...mlp.0 / mlp.3 (torchvision has dropouts at 2 and 4)
norm                           encoder.ln
head                           heads.head
=============================  ==========================================

Both attention layouts are ``[q | k | v]`` along the output axis, so no reshuffling is needed.
The probes fill the student's modules with seeded values under the course's names; the judges load
the same values into torchvision's modules through these maps (``torchvision_vit``,
``torchvision_block``, ``torchvision_mean_pool_vit``) and compare.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
from torch import nn
from torchvision.models import VisionTransformer as TorchvisionViT
from torchvision.models.vision_transformer import Encoder as TorchvisionEncoder
from torchvision.models.vision_transformer import EncoderBlock as TorchvisionBlock
from torchvision.models.vision_transformer import interpolate_embeddings

__all__ = [
    "MeanPoolReference",
    "block_to_torchvision",
    "mean_pool_to_torchvision",
    "reference_interpolate_pos_embed",
    "reference_rollout",
    "torchvision_block",
    "torchvision_mean_pool_vit",
    "torchvision_vit",
    "vit_to_torchvision",
]


def _block_map(prefix_course: str, prefix_tv: str) -> dict[str, str]:
    """course name -> torchvision name for one encoder block."""
    pairs = {
        "norm1.weight": "ln_1.weight",
        "norm1.bias": "ln_1.bias",
        "attn.qkv.weight": "self_attention.in_proj_weight",
        "attn.qkv.bias": "self_attention.in_proj_bias",
        "attn.proj.weight": "self_attention.out_proj.weight",
        "attn.proj.bias": "self_attention.out_proj.bias",
        "norm2.weight": "ln_2.weight",
        "norm2.bias": "ln_2.bias",
        "mlp.0.weight": "mlp.0.weight",
        "mlp.0.bias": "mlp.0.bias",
        "mlp.2.weight": "mlp.3.weight",
        "mlp.2.bias": "mlp.3.bias",
    }
    return {prefix_course + c: prefix_tv + t for c, t in pairs.items()}


def block_to_torchvision() -> dict[str, str]:
    """course ``EncoderBlock`` state-dict name -> torchvision ``EncoderBlock`` name."""
    return _block_map("", "")


def vit_to_torchvision(depth: int) -> dict[str, str]:
    """course ``VisionTransformer`` state-dict name -> torchvision ``VisionTransformer`` name."""
    names = {
        "cls_token": "class_token",
        "pos_embed": "encoder.pos_embedding",
        "patch_embed.proj.weight": "conv_proj.weight",
        "patch_embed.proj.bias": "conv_proj.bias",
        "norm.weight": "encoder.ln.weight",
        "norm.bias": "encoder.ln.bias",
        "head.weight": "heads.head.weight",
        "head.bias": "heads.head.bias",
    }
    for i in range(depth):
        names.update(_block_map(f"blocks.{i}.", f"encoder.layers.encoder_layer_{i}."))
    return names


def mean_pool_to_torchvision(depth: int) -> dict[str, str]:
    """course ``MeanPoolViT`` state-dict name -> ``MeanPoolReference`` name (no class token)."""
    names = {k: v for k, v in vit_to_torchvision(depth).items() if k != "cls_token"}
    names["head.weight"], names["head.bias"] = "head.weight", "head.bias"
    return names


def _load_mapped(module: nn.Module, state: dict[str, torch.Tensor], mapping: dict[str, str]) -> nn.Module:
    """Load course-named tensors into a torchvision module (strict: every name must be there)."""
    module.load_state_dict(OrderedDict((mapping[k], v) for k, v in state.items()), strict=True)
    return module


def _build_vit(cfg: dict) -> TorchvisionViT:
    model = TorchvisionViT(
        image_size=cfg["img_size"],
        patch_size=cfg["patch_size"],
        num_layers=cfg["depth"],
        num_heads=cfg["num_heads"],
        hidden_dim=cfg["embed_dim"],
        mlp_dim=int(cfg["embed_dim"] * cfg.get("mlp_ratio", 4.0)),
        num_classes=cfg["num_classes"],
    )
    in_chans = cfg.get("in_chans", 3)
    if in_chans != 3:  # torchvision hard-codes 3 input channels; swap the patch projection
        d, p = cfg["embed_dim"], cfg["patch_size"]
        model.conv_proj = nn.Conv2d(in_chans, d, kernel_size=p, stride=p)
    return model


def torchvision_vit(cfg: dict, state: dict[str, torch.Tensor], dtype: torch.dtype = torch.float32) -> TorchvisionViT:
    """torchvision's ViT for a course config, holding the course-named ``state``, eval mode."""
    with torch.device("meta"):  # skip torchvision's own initialisation: every parameter is loaded
        model = _build_vit(cfg)
    model = model.to_empty(device="cpu").to(dtype)
    return _load_mapped(model, state, vit_to_torchvision(cfg["depth"])).eval()


def torchvision_block(dim: int, num_heads: int, mlp_ratio: float, state: dict[str, torch.Tensor], dtype=torch.float32):
    """torchvision's ``EncoderBlock`` holding the course-named ``state`` (no dropout), eval mode."""
    with torch.device("meta"):
        block = TorchvisionBlock(num_heads, dim, int(dim * mlp_ratio), 0.0, 0.0)
    block = block.to_empty(device="cpu").to(dtype)
    return _load_mapped(block, state, block_to_torchvision()).eval()


class MeanPoolReference(nn.Module):
    """A ViT classified from the mean of its patch tokens, built from torchvision's parts.

    ``conv_proj`` (the patch embedding), torchvision's ``Encoder`` with one position per patch
    (it adds ``pos_embedding``, runs the blocks and applies its final LayerNorm ``ln``), then the
    mean over tokens and a linear ``head``: the "GAP" classifier of the ViT paper (App. D.3).
    """

    def __init__(self, cfg: dict):
        super().__init__()
        d, p = cfg["embed_dim"], cfg["patch_size"]
        grid = cfg["img_size"] // p
        self.conv_proj = nn.Conv2d(cfg.get("in_chans", 3), d, kernel_size=p, stride=p)
        self.encoder = TorchvisionEncoder(
            grid * grid, cfg["depth"], cfg["num_heads"], d, int(d * cfg.get("mlp_ratio", 4.0)), 0.0, 0.0
        )
        self.head = nn.Linear(d, cfg["num_classes"])

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """The encoder's output (B, N, D), final LayerNorm applied."""
        return self.encoder(self.conv_proj(x).flatten(2).transpose(1, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.tokens(x).mean(dim=1))


def torchvision_mean_pool_vit(cfg: dict, state: dict[str, torch.Tensor], dtype=torch.float32) -> MeanPoolReference:
    with torch.device("meta"):
        model = MeanPoolReference(cfg)
    model = model.to_empty(device="cpu").to(dtype)
    return _load_mapped(model, state, mean_pool_to_torchvision(cfg["depth"])).eval()


def reference_rollout(attentions: list[torch.Tensor]) -> torch.Tensor:
    """Attention rollout (Abnar & Zuidema, 2020), written independently in float64 numpy.

    Per layer: mean over heads, add the identity (the residual path), halve, make every row sum
    to 1; then chain the layers, first layer applied first: ``R = A_L ... A_2 A_1``.
    """
    dtype = attentions[0].dtype
    arrays = [a.detach().cpu().double().numpy() for a in attentions]
    b, _, n, _ = arrays[0].shape
    out = np.empty((b, n, n))
    for i in range(b):
        r = np.eye(n)
        for layer in arrays:
            a = layer[i].mean(axis=0)
            a = 0.5 * a + 0.5 * np.eye(n)
            a = a / a.sum(axis=1, keepdims=True)
            r = a @ r
        out[i] = r
    return torch.from_numpy(out).to(dtype)


def reference_interpolate_pos_embed(pos_embed: torch.Tensor, new_grid: int, num_prefix_tokens: int = 1) -> torch.Tensor:
    """``interpolate_pos_embed`` through torchvision's ``interpolate_embeddings``.

    torchvision handles exactly one prefix token; other counts are handled by giving it the grid
    with a dummy prefix and putting the real prefix tokens back afterwards.
    """
    prefix, grid = pos_embed[:, :num_prefix_tokens], pos_embed[:, num_prefix_tokens:]
    dummy = torch.zeros_like(pos_embed[:, :1])
    state = OrderedDict({"encoder.pos_embedding": torch.cat([dummy, grid], dim=1).clone()})
    new = interpolate_embeddings(new_grid, 1, state)["encoder.pos_embedding"]
    return torch.cat([prefix, new[:, 1:]], dim=1)
