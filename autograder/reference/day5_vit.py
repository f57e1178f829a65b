"""References for day5_vit: the weight mapping to torchvision's ViT and an independent rollout.

The course's ``VisionTransformer`` (COURSE_SPEC) and ``torchvision.models.VisionTransformer``
hold the same numbers under different names:

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
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
from torch import nn
from torchvision.models import VisionTransformer as TorchvisionViT
from torchvision.models.vision_transformer import EncoderBlock as TorchvisionBlock
from torchvision.models.vision_transformer import interpolate_embeddings

__all__ = [
    "block_to_torchvision",
    "course_state_from_torchvision",
    "make_torchvision_block",
    "make_torchvision_vit",
    "randomize_",
    "reference_interpolate_pos_embed",
    "reference_rollout",
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


def course_state_from_torchvision(tv_state: dict[str, torch.Tensor], mapping: dict[str, str]) -> OrderedDict:
    """The course-named state dict holding torchvision's tensors (detached views, not copies:
    ``load_state_dict`` copies them, and copying ViT-B/16 twice costs seconds)."""
    return OrderedDict((c, tv_state[t].detach()) for c, t in mapping.items())


def randomize_(module: nn.Module, seed: int, small_tokens: bool = False) -> nn.Module:
    """Fill every parameter with seeded values of a trained-like scale (in place, returns module).

    torchvision zero-initialises the head and the class token and sets LayerNorms to (1, 0):
    a comparison on such weights would not notice a missing head or a skipped LayerNorm, so
    every tensor gets random values. ``small_tokens`` scales the patch projection and the
    embeddings down so that LayerNorm inputs have a variance near 1e-6, where the eps matters.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            noise = torch.randn(p.shape, generator=g, dtype=torch.float32).to(p.dtype)
            if name.endswith(("ln_1.weight", "ln_2.weight", "ln.weight")):
                p.copy_(1.0 + 0.2 * noise)
            elif p.dim() >= 2 and name not in ("class_token", "encoder.pos_embedding"):
                fan_in = p[0].numel()
                p.copy_(noise / fan_in**0.5)
            else:
                p.copy_(0.1 * noise)
            if small_tokens and (name.startswith("conv_proj") or name in ("class_token", "encoder.pos_embedding")):
                p.mul_(1e-3)
    return module


def make_torchvision_vit(cfg: dict, seed: int, small_tokens: bool = False, dtype=torch.float32) -> TorchvisionViT:
    """torchvision's ViT for a course config (img_size, patch_size, ...), random weights, eval mode."""
    in_chans = cfg.get("in_chans", 3)
    with torch.device("meta"):  # skip torchvision's own initialisation: randomize_ overwrites every parameter
        model = _build_vit(cfg, in_chans)
    model = model.to_empty(device="cpu")
    randomize_(model, seed, small_tokens=small_tokens)
    return model.to(dtype).eval()


def _build_vit(cfg: dict, in_chans: int) -> TorchvisionViT:
    model = TorchvisionViT(
        image_size=cfg["img_size"],
        patch_size=cfg["patch_size"],
        num_layers=cfg["depth"],
        num_heads=cfg["num_heads"],
        hidden_dim=cfg["embed_dim"],
        mlp_dim=int(cfg["embed_dim"] * cfg.get("mlp_ratio", 4.0)),
        num_classes=cfg["num_classes"],
    )
    if in_chans != 3:  # torchvision hard-codes 3 input channels; swap the patch projection
        d, p = cfg["embed_dim"], cfg["patch_size"]
        model.conv_proj = nn.Conv2d(in_chans, d, kernel_size=p, stride=p)
    return model


def make_torchvision_block(dim: int, num_heads: int, mlp_ratio: float, seed: int, dtype=torch.float32) -> TorchvisionBlock:
    with torch.device("meta"):
        block = TorchvisionBlock(num_heads, dim, int(dim * mlp_ratio), 0.0, 0.0)
    return randomize_(block.to_empty(device="cpu"), seed).to(dtype).eval()


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
