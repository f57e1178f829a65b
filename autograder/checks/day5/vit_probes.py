"""Probe side of day5_vit (continued): the cases and probes of its later exercises.

The sandbox gets what the probes reach of this module (``autograder/sandbox/strip.py``).
"""

from __future__ import annotations

from typing import Any

import torch

from autograder.checks.day5.probes import F64, block_shapes, load_strict, seeded_state
from autograder.harness import attempt, guarded, plain, randn, state_shapes

# ---------------------------------------------------------------------------- VisionTransformer
VIT_B16 = dict(img_size=224, patch_size=16, in_chans=3, num_classes=1000, embed_dim=768, depth=12, num_heads=12, mlp_ratio=4.0)
VIT_CASES = [
    # (description, config or None for the defaults, batch, dtype, seed, small_tokens, gradients)
    (
        "img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=4, 10 classes",
        dict(img_size=32, patch_size=8, in_chans=3, num_classes=10, embed_dim=32, depth=2, num_heads=4),
        2,
        torch.float32,
        1000,
        False,
        True,
    ),
    (
        "img_size=24, patch_size=4, in_chans=1, 5 classes, embed_dim=24, depth=3, num_heads=3, mlp_ratio=2.0 in float64",
        dict(img_size=24, patch_size=4, in_chans=1, num_classes=5, embed_dim=24, depth=3, num_heads=3, mlp_ratio=2.0),
        3,
        F64,
        2000,
        False,
        False,
    ),
    (
        "img_size=16, patch_size=4, embed_dim=16, depth=1, num_heads=2 in float64, with embeddings of size 1e-3 "
        "(where eps matters)",
        dict(img_size=16, patch_size=4, in_chans=3, num_classes=7, embed_dim=16, depth=1, num_heads=2),
        2,
        F64,
        3000,
        True,
        False,
    ),
    (
        "img_size=15, patch_size=5, in_chans=2, embed_dim=10, depth=2, num_heads=1, mlp_ratio=2.7 (hidden 27), 3 classes, "
        "one image in float64",
        dict(img_size=15, patch_size=5, in_chans=2, num_classes=3, embed_dim=10, depth=2, num_heads=1, mlp_ratio=2.7),
        1,
        F64,
        3500,
        False,
        False,
    ),
    (
        "VisionTransformer() with its defaults, the ViT-B/16 shape (86,567,656 parameters), on one 224x224 image",
        None,
        1,
        torch.float32,
        4000,
        False,
        False,
    ),
]


def vit_shapes(cfg: dict) -> dict[str, list[int]]:
    d, p, c, grid = cfg["embed_dim"], cfg["patch_size"], cfg.get("in_chans", 3), cfg["img_size"] // cfg["patch_size"]
    shapes = {
        "cls_token": [1, 1, d],
        "pos_embed": [1, grid * grid + 1, d],
        "patch_embed.proj.weight": [d, c, p, p],
        "patch_embed.proj.bias": [d],
    }
    for i in range(cfg["depth"]):
        shapes.update({f"blocks.{i}.{k}": v for k, v in block_shapes(d, cfg.get("mlp_ratio", 4.0)).items()})
    shapes.update(
        {"norm.weight": [d], "norm.bias": [d], "head.weight": [cfg["num_classes"], d], "head.bias": [cfg["num_classes"]]}
    )
    return shapes


def vit_input(cfg: dict, batch: int, dtype: torch.dtype, seed: int) -> torch.Tensor:
    return randn(seed + 5, batch, cfg.get("in_chans", 3), cfg["img_size"], cfg["img_size"], dtype=dtype)


def _model_info(model: Any) -> dict:
    blocks = getattr(model, "blocks", None)
    return {
        "patch_embed": type(getattr(model, "patch_embed", None)).__name__,
        "blocks": type(blocks).__name__,
        "block_types": [type(b).__name__ for b in blocks] if isinstance(blocks, torch.nn.ModuleList) else None,
        "norm": type(getattr(model, "norm", None)).__name__,
        "norm_eps": plain(getattr(getattr(model, "norm", None), "eps", None)),
        "head": type(getattr(model, "head", None)).__name__,
        "params": sum(p.numel() for p in model.parameters()),
        "shapes": state_shapes(model),
    }


def _probe_model_case(
    cls: Any, cfg: dict | None, defaults: dict, shapes_of: Any, batch: int, dtype: torch.dtype, seed: int, small: bool,
    grads: bool,
) -> dict:
    """Build the student's model, load seeded weights under the contract's names, run forward (and backward)."""
    model = cls() if cfg is None else cls(**cfg)
    cfg = cfg or defaults
    info = _model_info(model)
    state = seeded_state(shapes_of(cfg), seed, small_tokens=small)
    info["load"] = attempt(load_strict, model, state)
    del state
    model = model.to(dtype).eval()
    x = vit_input(cfg, batch, dtype, seed)
    before = x.clone()
    with torch.no_grad():
        info["out"] = attempt(model, x)
    info["modified"] = not torch.equal(before, x)
    if grads:

        def backward() -> dict:
            (model(x) * randn(seed + 9, batch, cfg["num_classes"], dtype=dtype)).sum().backward()
            return {n: plain(p.grad) for n, p in model.named_parameters()}

        info["grads"] = guarded(backward)
    return info


def probe_vision_transformer(cls: Any) -> dict:
    return {
        "cases": [guarded(lambda c=c: _probe_model_case(cls, c[1], VIT_B16, vit_shapes, *c[2:])) for c in VIT_CASES]
    }


# ---------------------------------------------------------------------------- MeanPoolViT
MEAN_POOL_CASES = [
    # (description, config or None for the defaults, batch, dtype, seed, small_tokens, gradients)
    (
        "img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=4, 10 classes",
        dict(img_size=32, patch_size=8, in_chans=3, num_classes=10, embed_dim=32, depth=2, num_heads=4),
        2,
        torch.float32,
        5000,
        False,
        True,
    ),
    (
        "img_size=24, patch_size=4, in_chans=1, 5 classes, embed_dim=24, depth=1, num_heads=3, mlp_ratio=2.5 (hidden 60) "
        "in float64",
        dict(img_size=24, patch_size=4, in_chans=1, num_classes=5, embed_dim=24, depth=1, num_heads=3, mlp_ratio=2.5),
        3,
        F64,
        6000,
        False,
        False,
    ),
    (
        "img_size=20, patch_size=5, embed_dim=12, depth=3, num_heads=1, mlp_ratio=1.3 (hidden int(15.6) = 15) in float64, "
        "with embeddings of size 1e-3 (where eps matters)",
        dict(img_size=20, patch_size=5, in_chans=3, num_classes=4, embed_dim=12, depth=3, num_heads=1, mlp_ratio=1.3),
        2,
        F64,
        7000,
        True,
        False,
    ),
    (
        "img_size=12, patch_size=2 (a 6x6 grid), in_chans=2, embed_dim=16, depth=2, num_heads=2, 3 classes, one image",
        dict(img_size=12, patch_size=2, in_chans=2, num_classes=3, embed_dim=16, depth=2, num_heads=2),
        1,
        torch.float32,
        8000,
        False,
        False,
    ),
]


def mean_pool_shapes(cfg: dict) -> dict[str, list[int]]:
    shapes = {k: v for k, v in vit_shapes(cfg).items() if k != "cls_token"}
    grid = cfg["img_size"] // cfg["patch_size"]
    shapes["pos_embed"] = [1, grid * grid, cfg["embed_dim"]]
    return shapes


def _probe_mean_pool_defaults(cls: Any) -> dict:
    model = cls()
    return {"params": sum(p.numel() for p in model.parameters()), "shapes": state_shapes(model)}


def probe_mean_pool(cls: Any) -> dict:
    return {
        "cases": [guarded(lambda c=c: _probe_model_case(cls, c[1], VIT_B16, mean_pool_shapes, *c[2:])) for c in MEAN_POOL_CASES],
        "defaults": guarded(lambda: _probe_mean_pool_defaults(cls)),
    }


# ---------------------------------------------------------------------------- attention rollout
def _softmaxed(seed: int, *shape: int, dtype: torch.dtype = torch.float32, sharp: float = 2.0) -> torch.Tensor:
    return torch.softmax(randn(seed, *shape, dtype=dtype) * sharp, dim=-1)


def rollout_cases() -> list[tuple[str, list[torch.Tensor]]]:
    unnormalised = [randn(60, 2, 3, 6, 6).abs() + 0.05, randn(61, 2, 3, 6, 6).abs() + 0.05]
    return [
        ("3 layers of (2, 4, 6, 6) weights", [_softmaxed(10 + i, 2, 4, 6, 6) for i in range(3)]),
        ("a single layer of (1, 2, 5, 5) weights", [_softmaxed(20, 1, 2, 5, 5)]),
        (
            "6 layers of (1, 3, 17, 17) float64 weights",
            [_softmaxed(30 + i, 1, 3, 17, 17, dtype=F64, sharp=3.0) for i in range(6)],
        ),
        ("2 layers whose rows do not sum to 1 (renormalise after adding I)", unnormalised),
        ("4 layers with one head each, (3, 1, 4, 4)", [_softmaxed(40 + i, 3, 1, 4, 4, sharp=4.0) for i in range(4)]),
        (
            "12 layers of (4, 2, 10, 10) float64 weights (a batch of 4)",
            [_softmaxed(50 + i, 4, 2, 10, 10, dtype=F64, sharp=1.5) for i in range(12)],
        ),
        ("a single token, 2 layers of (2, 3, 1, 1)", [_softmaxed(70 + i, 2, 3, 1, 1) for i in range(2)]),
    ]


def probe_rollout(fn: Any) -> dict:
    cases = []
    for _, attentions in rollout_cases():
        before = [a.clone() for a in attentions]
        given = list(attentions)
        out = attempt(fn, given)
        modified = len(given) != len(before) or any(not torch.equal(a, b) for a, b in zip(attentions, before, strict=True))
        cases.append({"out": out, "modified": modified})
    return {"cases": cases}


# ---------------------------------------------------------------------------- interpolate_pos_embed
def interp_cases() -> list[tuple[str, torch.Tensor, int, int]]:
    return [
        ("a 4x4 grid (1, 1+16, 8) to 6x6", randn(70, 1, 17, 8), 6, 1),
        ("a 7x7 grid (1, 1+49, 12) down to 3x3", randn(71, 1, 50, 12), 3, 1),
        ("a 3x3 grid with 2 prefix tokens (1, 2+9, 4) to 5x5", randn(72, 1, 11, 4), 5, 2),
        ("a 5x5 grid with no prefix token (1, 25, 6) to 8x8", randn(73, 1, 25, 6), 8, 0),
        ("ViT-B/16's 14x14 grid (1, 1+196, 16) in float64 to 24x24 (224 -> 384 pixels)", randn(74, 1, 197, 16, dtype=F64), 24, 1),
        ("a 4x4 grid to the same 4x4 grid", randn(75, 1, 17, 5), 4, 1),
        ("a 6x6 grid with 4 prefix tokens (1, 4+36, 3) down to 4x4", randn(76, 1, 40, 3), 4, 4),
        ("a 1x1 grid (1, 1+1, 2) up to 3x3 in float64", randn(77, 1, 2, 2, dtype=F64), 3, 1),
    ]


def probe_interpolate(fn: Any) -> dict:
    cases = []
    for _, pos, grid, prefix in interp_cases():
        before = pos.clone()
        cases.append({"out": attempt(fn, pos, grid, prefix), "modified": not torch.equal(before, pos)})
    return {"cases": cases}
