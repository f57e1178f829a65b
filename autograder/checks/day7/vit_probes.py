"""Probe side of day7_practicum (continued): the cases and probes of its later exercises.

The sandbox gets what the probes reach of this module (``autograder/sandbox/strip.py``).
"""

from __future__ import annotations

import dataclasses
import math
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from autograder.checks.day7.probes import HELDOUT_FILE, TRAIN_FILE
from autograder.harness import attempt, describe, guarded, plain, randn, seeded

# ---------------------------------------------------------------------------- SmallViT
# (description, constructor arguments, batch, seed, dtype)
VIT_CASES: list[tuple[str, dict, int, int, torch.dtype]] = [
    ("patch 4 on 32x32 RGB, width 32, depth 2, 4 heads, class token",
     dict(img_size=32, patch_size=4, in_chans=3, num_classes=10, embed_dim=32, depth=2, num_heads=4, mlp_ratio=2.0,
          pool="cls"), 3, 11, torch.float32),
    ("patch 8, width 48, one block, 3 heads, mlp_ratio 4, mean pooling, 7 classes",
     dict(img_size=32, patch_size=8, in_chans=3, num_classes=7, embed_dim=48, depth=1, num_heads=3, mlp_ratio=4.0,
          pool="mean"), 2, 12, torch.float32),
    ("16x16 single-channel images, patch 4, width 24, 2 heads, mlp_ratio 1.5, class token, 5 classes",
     dict(img_size=16, patch_size=4, in_chans=1, num_classes=5, embed_dim=24, depth=2, num_heads=2, mlp_ratio=1.5,
          pool="cls"), 4, 13, torch.float32),
    ("8x8 images, patch 2, width 16, one head, depth 3, mean pooling, a batch of one",
     dict(img_size=8, patch_size=2, in_chans=3, num_classes=3, embed_dim=16, depth=3, num_heads=1, mlp_ratio=2.0,
          pool="mean"), 1, 14, torch.float32),
    ("float64 weights and images, 12x12 with patch 4, 3 heads, class token, drop_path=0.3 (eval mode drops nothing)",
     dict(img_size=12, patch_size=4, in_chans=3, num_classes=4, embed_dim=12, depth=2, num_heads=3, mlp_ratio=2.0,
          pool="cls", drop_path=0.3), 2, 15, torch.float64),
    ("tiny token values (patch weights and embeddings scaled by 1e-3, so LayerNorm's eps=1e-6 matters)",
     dict(img_size=16, patch_size=4, in_chans=3, num_classes=6, embed_dim=16, depth=1, num_heads=2, mlp_ratio=2.0,
          pool="mean"), 2, 16, torch.float32),
]
SMALL_TOKEN_SEEDS = {16}  # cases whose tokens are tiny: eps 1e-5 instead of 1e-6 changes the logits
# arguments SmallViT must refuse with ValueError
VIT_BAD_ARGS: list[tuple[str, dict]] = [
    ("img_size 30 with patch_size 4", dict(img_size=30, patch_size=4, embed_dim=16, num_heads=2)),
    ("embed_dim 30 with 4 heads", dict(img_size=32, patch_size=4, embed_dim=30, num_heads=4)),
    ("pool='max'", dict(img_size=32, patch_size=4, embed_dim=16, num_heads=2, pool="max")),
]
# stochastic depth in train mode: one image repeated, depth 2 (rates 0 and 0.5)
DROP_ARGS = dict(img_size=16, patch_size=8, in_chans=3, num_classes=4, embed_dim=16, depth=2, num_heads=2, mlp_ratio=2.0,
                 pool="cls", drop_path=0.5)
DROP_ROWS, DROP_SEED = 400, 21


def filled(name: str, shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """Seeded float64 values for a parameter, by its name: trained-like scales, no zero heads or unit norms."""
    g = torch.Generator().manual_seed(seed * 100_003 + zlib.crc32(name.encode()) % 100_003)
    noise = torch.randn(tuple(shape), generator=g, dtype=torch.float64)
    if name.endswith(("norm1.weight", "norm2.weight")) or name == "norm.weight":
        return 1.0 + 0.2 * noise
    small = 1e-3 if seed in SMALL_TOKEN_SEEDS else 1.0
    if name in ("cls_token", "pos_embed"):
        return 0.5 * small * noise
    if name.startswith("patch_embed."):
        return small * noise / math.sqrt(max(1, math.prod(shape[1:])))
    if len(shape) >= 2:
        return noise / math.sqrt(max(1, math.prod(shape[1:])))
    return 0.1 * noise


def _load_filled(model: nn.Module, seed: int) -> None:
    state = model.state_dict()
    model.load_state_dict({k: filled(k, tuple(v.shape), seed).to(v.dtype) for k, v in state.items()})


def vit_images(seed: int, kwargs: dict, batch: int, dtype: torch.dtype) -> torch.Tensor:
    size = kwargs["img_size"]
    return randn(seed, batch, kwargs["in_chans"], size, size, dtype=dtype)


def probe_small_vit(cls: Any) -> dict:
    cases = []
    for _, kwargs, batch, seed, dtype in VIT_CASES:
        def run() -> dict:
            model = cls(**kwargs)
            shapes = {str(k): [int(n) for n in v.shape] for k, v in model.state_dict().items()}
            trainable = {str(k): bool(p.requires_grad) for k, p in model.named_parameters()}
            model = model.to(dtype)
            _load_filled(model, seed)
            x = vit_images(seed, kwargs, batch, dtype)
            before = x.clone()
            out = {"shapes": shapes, "trainable": trainable, "eval": attempt(model.eval(), x)}
            if kwargs.get("drop_path", 0.0) == 0.0:
                out["train"] = attempt(model.train(), x)
            model.eval().zero_grad()
            weights = randn(seed + 100, batch, kwargs["num_classes"], dtype=dtype)
            (model(x) * weights).sum().backward()
            out["grads"] = {str(k): None if p.grad is None else plain(p.grad) for k, p in model.named_parameters()}
            out["x_modified"] = not torch.equal(x, before)
            return out

        cases.append(guarded(run))
    refused = [attempt(lambda kw=kw: cls(**kw) and "no error") for _, kw in VIT_BAD_ARGS]

    def drop() -> dict:
        model = cls(**DROP_ARGS)
        _load_filled(model, DROP_SEED)
        x = randn(DROP_SEED, 1, 3, 16, 16).expand(DROP_ROWS, -1, -1, -1).contiguous()
        with seeded(DROP_SEED + 1), torch.no_grad():
            train_out = model.train()(x)
            eval_out = model.eval()(x[:2])
        return {"train": plain(train_out), "eval": plain(eval_out)}

    return {"cases": cases, "refused": refused, "drop": guarded(drop)}


# ---------------------------------------------------------------------------- train_vit
GRADING_SEED = 0
# The grader renames the classes (digit d is class CLASS_ORDER[d]), so weights prepared elsewhere with
# the digits' own labels do not score; a recipe that learns from the given labels is unaffected.
CLASS_ORDER = (3, 7, 0, 9, 5, 1, 8, 2, 6, 4)


def digit_pairs(split: str) -> tuple[np.ndarray, np.ndarray]:
    """Derive the two-digit images from scikit-learn's digits: uint8 (N, 32, 32) and the tens digit (N,).

    The same derivation as the assignment's `digit_pairs` (a test keeps them equal). 450 of the
    1,797 digits are held out; the held-out images use only those, the training images only the rest.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    small = torch.tensor(digits.images, dtype=torch.float64)[:, None] / 16.0
    big = F.interpolate(small, size=(16, 16), mode="bilinear", align_corners=False)[:, 0]
    big = (big.clamp(0, 1) * 255).round().to(torch.uint8)
    order = torch.randperm(len(big), generator=torch.Generator().manual_seed(2024))
    pool = order[:450] if split == "heldout" else order[450:]
    n = 1000 if split == "heldout" else 1600
    g = torch.Generator().manual_seed(1 if split == "heldout" else 0)
    left = torch.cat([pool[torch.randperm(len(pool), generator=g)], pool[torch.randint(0, len(pool), (n,), generator=g)]])[:n]
    right = pool[torch.randint(0, len(pool), (n,), generator=g)]
    images = torch.zeros(n, 32, 32, dtype=torch.uint8)
    images[:, 8:24, :16], images[:, 8:24, 16:] = big[left], big[right]
    return images.numpy(), np.asarray(digits.target, dtype=np.int64)[left.numpy()]


def pairs_file(name: str) -> tuple[np.ndarray, np.ndarray]:
    path = Path(__file__).resolve().parents[2] / "data" / name  # autograder/data
    if path.is_file():
        with np.load(path) as blob:
            return blob["x"], blob["y"]
    return digit_pairs("heldout" if name == HELDOUT_FILE else "train")  # e.g. a sandbox without the data files


def as_images(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (N, 32, 32) -> (N, 3, 32, 32); labels renamed with CLASS_ORDER."""
    images = torch.from_numpy(np.ascontiguousarray(x))[:, None].expand(-1, 3, -1, -1).contiguous()
    return images, torch.as_tensor(np.asarray(CLASS_ORDER)[y], dtype=torch.int64)


def probe_train_vit(fn: Any) -> dict:
    return train_and_report(fn, GRADING_SEED)


def train_and_report(fn: Any, seed: int) -> dict:
    """Train with the student's train_vit on the training images; the weights and recipe as plain data."""
    images, labels = as_images(*pairs_file(TRAIN_FILE))

    def run() -> dict:
        torch.manual_seed(seed)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # as in the grading sandbox, wherever this runs
        try:
            start, cpu = time.perf_counter(), time.process_time()
            out = fn(images.clone(), labels.clone(), seed=seed)
            seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
        finally:
            torch.set_num_threads(threads)
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            return {"returned": describe(plain(out))}
        model, recipe = out
        if dataclasses.is_dataclass(recipe) and not isinstance(recipe, type):
            recipe = dataclasses.asdict(recipe)
        state = model.state_dict() if isinstance(model, nn.Module) else None
        return {"recipe": plain(recipe), "state": None if state is None else {str(k): plain(v) for k, v in state.items()},
                "model_type": type(model).__name__, "seconds": float(seconds), "cpu_seconds": float(cpu_seconds)}

    return guarded(run)
