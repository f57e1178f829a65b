"""Probe side of day5_vit: the cases each probe runs and the probes themselves.

The sandbox gets what the probes reach of this module (``autograder/sandbox/strip.py``); the judges
rebuild the same cases from here, so a case is written once.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

import torch

from autograder.harness import attempt, guarded, plain, randn, state_shapes

F64 = torch.float64


# ---------------------------------------------------------------------------- shared helpers
def _raises_value_error(fn: Any, *args: Any) -> str:
    """'ValueError', 'no error', or the other exception raised."""
    try:
        fn(*args)
    except ValueError:
        return "ValueError"
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc)[:120]}"
    return "no error"


def load_strict(module: Any, state: dict[str, torch.Tensor]) -> None:
    module.load_state_dict(state, strict=True)


def seeded_state(shapes: dict[str, list[int]], seed: int, small_tokens: bool = False) -> OrderedDict:
    """Seeded float32 values of a trained-like scale for every course-named tensor in ``shapes``.

    torchvision starts the head and the class token at zero and LayerNorms at (1, 0): a
    comparison on such weights would not notice a missing head or a skipped LayerNorm, so every
    tensor is random. ``small_tokens`` scales the patch projection and the embeddings down so that
    the LayerNorm inputs have a variance near 1e-6, where the eps matters. The probe loads these
    values into the student's module; the judge loads the same values into torchvision's.
    """
    state = OrderedDict()
    for i, (name, shape) in enumerate(shapes.items()):
        noise = randn(seed * 1000 + i, *shape)
        parts = name.split(".")
        if parts[-1] == "weight" and len(parts) >= 2 and parts[-2] in ("norm", "norm1", "norm2"):
            value = 1.0 + 0.2 * noise
        elif len(shape) >= 2 and name not in ("cls_token", "pos_embed"):
            value = noise / math.prod(shape[1:]) ** 0.5
        else:
            value = 0.1 * noise
        if small_tokens and (name.startswith("patch_embed.") or name in ("cls_token", "pos_embed")):
            value = value * 1e-3
        state[name] = value
    return state


# ---------------------------------------------------------------------------- patchify
def patchify_cases() -> list[tuple[str, torch.Tensor, int]]:
    return [
        ("a (2, 3, 8, 12) batch with p=4 (non-square)", randn(1, 2, 3, 8, 12), 4),
        ("a single (1, 1, 6, 6) grey image with p=3", randn(2, 1, 1, 6, 6), 3),
        ("a (2, 3, 32, 32) batch with p=16", randn(3, 2, 3, 32, 32), 16),
        ("a float64 (1, 2, 4, 10) image with p=2", randn(4, 1, 2, 4, 10, dtype=F64), 2),
        ("p=1 on a (1, 3, 3, 2) image", randn(5, 1, 3, 3, 2), 1),
        ("p equal to the image size, (3, 1, 5, 5) with p=5 (one patch per image)", randn(6, 3, 1, 5, 5), 5),
        ("a tall (1, 3, 12, 4) image with p=4", randn(7, 1, 3, 12, 4), 4),
    ]


PATCHIFY_BAD = [
    ("H=10 with p=4", (1, 3, 10, 12), 4),
    ("W=10 with p=4", (1, 3, 8, 10), 4),
    ("H=7 and W=7 with p=2", (2, 1, 7, 7), 2),
]


def probe_patchify(fn: Any) -> dict:
    cases = []
    for _, x, p in patchify_cases():
        before = x.clone()
        cases.append({"out": attempt(fn, x, p), "modified": not torch.equal(before, x)})
    bad = [_raises_value_error(fn, torch.zeros(*shape), p) for _, shape, p in PATCHIFY_BAD]
    return {"cases": cases, "bad": bad}


# ---------------------------------------------------------------------------- PatchEmbedding
PE_CASES = [
    # (description, config, batch, dtype, seed)
    (
        "img_size=16, patch_size=4, in_chans=3, embed_dim=8",
        dict(img_size=16, patch_size=4, in_chans=3, embed_dim=8),
        2,
        torch.float32,
        10,
    ),
    (
        "img_size=12, patch_size=3, in_chans=1, embed_dim=5 in float64",
        dict(img_size=12, patch_size=3, in_chans=1, embed_dim=5),
        1,
        F64,
        20,
    ),
    (
        "img_size=32, patch_size=16, in_chans=3, embed_dim=24",
        dict(img_size=32, patch_size=16, in_chans=3, embed_dim=24),
        3,
        torch.float32,
        30,
    ),
    (
        "img_size=6, patch_size=1, in_chans=2, embed_dim=3 (one token per pixel)",
        dict(img_size=6, patch_size=1, in_chans=2, embed_dim=3),
        2,
        torch.float32,
        40,
    ),
]


def pe_tensors(cfg: dict, batch: int, dtype: torch.dtype, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    d, c, p, s = cfg["embed_dim"], cfg["in_chans"], cfg["patch_size"], cfg["img_size"]
    weight = randn(seed, d, c, p, p, dtype=dtype) / (c * p * p) ** 0.5
    bias = randn(seed + 1, d, dtype=dtype) * 0.1
    x = randn(seed + 2, batch, c, s, s, dtype=dtype)
    return weight, bias, x


def pe_bad_shapes(cfg: dict) -> list[tuple[str, tuple[int, ...]]]:
    """Inputs whose height or width is not divisible by the patch size (none for patch_size=1)."""
    p, s, c = cfg["patch_size"], cfg["img_size"], cfg["in_chans"]
    if p == 1:
        return []
    return [
        (f"a {s + 1}x{s} image (height not divisible by {p})", (1, c, s + 1, s)),
        (f"a {s}x{s + 1} image (width not divisible by {p})", (1, c, s, s + 1)),
    ]


def _probe_pe_case(cls: Any, cfg: dict, batch: int, dtype: torch.dtype, seed: int) -> dict:
    module = cls(**cfg)
    proj = getattr(module, "proj", None)
    info = {
        "proj_type": type(proj).__name__,
        "kernel_size": plain(list(getattr(proj, "kernel_size", []) or [])),
        "stride": plain(list(getattr(proj, "stride", []) or [])),
        "num_patches": plain(getattr(module, "num_patches", None)),
        "shapes": state_shapes(module),
    }
    weight, bias, x = pe_tensors(cfg, batch, dtype, seed)
    module = module.to(dtype)
    info["load"] = attempt(load_strict, module, {"proj.weight": weight, "proj.bias": bias})
    before = x.clone()
    info["out"] = attempt(module, x)
    info["modified"] = not torch.equal(before, x)
    info["bad"] = [_raises_value_error(module, torch.zeros(*shape, dtype=dtype)) for _, shape in pe_bad_shapes(cfg)]
    return info


def probe_patch_embedding(cls: Any) -> dict:
    return {"cases": [guarded(lambda c=c: _probe_pe_case(cls, *c[1:])) for c in PE_CASES]}


# ---------------------------------------------------------------------------- EncoderBlock
BLOCK_CASES = [
    # (description, dim, heads, mlp_ratio, x shape, dtype, seed, input scale)
    ("dim=16, num_heads=2 on (2, 7, 16) tokens", 16, 2, 4.0, (2, 7, 16), torch.float32, 100, 1.0),
    ("dim=24, num_heads=3, mlp_ratio=2.0 on one (1, 5, 24) float64 sequence", 24, 3, 2.0, (1, 5, 24), F64, 200, 1.0),
    ("dim=12, num_heads=3, mlp_ratio=1.5 (hidden 18) in float64", 12, 3, 1.5, (2, 4, 12), F64, 300, 1.0),
    (
        "dim=32, num_heads=4 on float64 tokens of size 1e-3 (where LayerNorm's eps matters)",
        32,
        4,
        4.0,
        (2, 9, 32),
        F64,
        400,
        1e-3,
    ),
    (
        "dim=8, num_heads=1, mlp_ratio=2.7 (hidden int(21.6) = 21, not 22) in float64",
        8,
        1,
        2.7,
        (3, 6, 8),
        F64,
        500,
        1.0,
    ),
    ("dim=20, num_heads=5, mlp_ratio=0.5 (a narrow MLP, hidden 10) on a single token", 20, 5, 0.5, (2, 1, 20), F64, 600, 1.0),
]


def block_input(shape: tuple, dtype: torch.dtype, seed: int, scale: float) -> torch.Tensor:
    return randn(seed + 7, *shape, dtype=dtype) * scale


def _module_info(m: Any) -> dict:
    """Type names, LayerNorm eps and MLP layout of a block (plain data)."""
    info = {}
    for name in ("norm1", "norm2", "attn", "mlp"):
        sub = getattr(m, name, None)
        info[name] = type(sub).__name__
    info["eps"] = [plain(getattr(getattr(m, n, None), "eps", None)) for n in ("norm1", "norm2")]
    mlp = getattr(m, "mlp", None)
    info["mlp_layers"] = [type(layer).__name__ for layer in mlp] if isinstance(mlp, torch.nn.Sequential) else None
    info["gelu_approx"] = (
        [getattr(layer, "approximate", None) for layer in mlp if type(layer).__name__ == "GELU"] if info["mlp_layers"] else []
    )
    return info


def block_shapes(dim: int, ratio: float) -> dict[str, list[int]]:
    hidden = int(dim * ratio)
    return {
        "norm1.weight": [dim],
        "norm1.bias": [dim],
        "attn.qkv.weight": [3 * dim, dim],
        "attn.qkv.bias": [3 * dim],
        "attn.proj.weight": [dim, dim],
        "attn.proj.bias": [dim],
        "norm2.weight": [dim],
        "norm2.bias": [dim],
        "mlp.0.weight": [hidden, dim],
        "mlp.0.bias": [hidden],
        "mlp.2.weight": [dim, hidden],
        "mlp.2.bias": [dim],
    }


def _probe_block_case(
    cls: Any, dim: int, heads: int, ratio: float, shape: tuple, dtype: torch.dtype, seed: int, scale: float, grads: bool
) -> dict:
    module = cls(dim, heads, mlp_ratio=ratio)
    info = _module_info(module)
    info["shapes"] = state_shapes(module)
    info["load"] = attempt(load_strict, module, seeded_state(block_shapes(dim, ratio), seed))
    module = module.to(dtype).eval()
    x = block_input(shape, dtype, seed, scale)
    before = x.clone()
    info["out"] = attempt(module, x)
    info["modified"] = not torch.equal(before, x)
    if grads:

        def backward() -> dict:
            xg = x.clone().requires_grad_(True)
            (module(xg) * randn(seed + 9, *shape, dtype=dtype)).sum().backward()
            return {"x": plain(xg.grad), "params": {n: plain(p.grad) for n, p in module.named_parameters()}}

        info["grads"] = guarded(backward)
    return info


def probe_encoder_block(cls: Any) -> dict:
    return {"cases": [guarded(lambda c=c, i=i: _probe_block_case(cls, *c[1:], grads=i == 0)) for i, c in enumerate(BLOCK_CASES)]}
