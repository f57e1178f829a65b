"""Judge side of day7_practicum: references, typical mistakes and hints the judges use.

No probe reaches this module, so none of it enters the sandbox (``autograder/sandbox/strip.py``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from autograder.checks.day7.probes import HELDOUT_FILE, TRAIN_FILE, train_setup
from autograder.checks.day7.vit_probes import DROP_ARGS, DROP_ROWS, DROP_SEED, as_images, filled, pairs_file
from autograder.harness import Judge, array, describe, is_tensor, randn


# ---------------------------------------------------------------------------- warmup_cosine_lr
def reference_lr(step: int, total: int, warmup: int, base: float, min_lr: float) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    p = (step - warmup) / max(1, total - warmup)
    return min_lr + (base - min_lr) * (1 + math.cos(math.pi * p)) / 2


def lr_hint(args: tuple, got: float) -> str:
    step, total, warmup, base, min_lr = args
    if step < warmup:
        if math.isclose(got, base * step / max(1, warmup), rel_tol=1e-6, abs_tol=1e-15):
            return "during warmup use (step + 1) / warmup_steps, so step 0 is not 0 and the last warmup step reaches base_lr"
        return "during warmup the rate grows linearly: base_lr * (step + 1) / warmup_steps"
    p_wrong = (step - warmup) / max(1, total)
    if math.isclose(got, min_lr + (base - min_lr) * (1 + math.cos(math.pi * p_wrong)) / 2, rel_tol=1e-6):
        return "p divides by total_steps - warmup_steps (the length of the cosine part), not total_steps"
    if math.isclose(got, min_lr + (base - min_lr) * (1 + math.cos(math.pi * step / max(1, total))) / 2, rel_tol=1e-6):
        return "the cosine part starts after warmup: p = (step - warmup_steps) / max(1, total_steps - warmup_steps)"
    if min_lr and math.isclose(got, base * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup))) / 2, rel_tol=1e-6):
        return "the cosine decays from base_lr to min_lr: min_lr + (base_lr - min_lr) * (1 + cos(pi p)) / 2"
    return "after warmup: min_lr + (base_lr - min_lr) * (1 + cos(pi p)) / 2"


# ---------------------------------------------------------------------------- accuracy
def reference_accuracy(logits: torch.Tensor, targets: torch.Tensor, topk: tuple[int, ...]) -> list[float]:
    order = logits.argsort(dim=1, descending=True)
    return [float((order[:, :k] == targets[:, None]).any(1).double().mean()) for k in topk]


# ---------------------------------------------------------------------------- instrumented models
def as_stored(value: torch.Tensor) -> np.ndarray:
    """A reference state_dict entry the way `_state` stores it."""
    return (value.reshape(1) if value.dim() == 0 else value).numpy()


# ---------------------------------------------------------------------------- train_one_epoch
def reference_train(kind: str, seed: int, sizes: tuple[int, ...], opt_name: str, use_sched: bool, amp: bool, start_eval: bool,
                     generator: bool = False):
    model, opt, sched, batches = train_setup(kind, seed, sizes, opt_name, use_sched, start_eval)
    model.train()
    total, correct = 0.0, 0
    for x, y in batches:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
            logits = model(x)
            loss = F.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        total += loss.item() * len(y)
        correct += int((logits.argmax(1) == y).sum())
    n = sum(sizes)
    return model, total / n, correct / n


def _number(j: Judge, value: Any, what: str) -> bool:
    if isinstance(value, dict) and value.get("__tensor__"):
        return j.fail(f"{what} is a tensor; return a Python float (use .item())")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return j.fail(f"{what} should be a Python float, got {describe(value)}")
    return True


def check_stats(j: Judge, result: Any, what: str) -> dict | None:
    if not j.expect_ok(result, what):
        return None
    if not isinstance(result, dict) or not {"loss", "acc"} <= set(result):
        j.fail(f"{what} should return a dict with keys 'loss' and 'acc', got {describe(result)}")
        return None
    if not (_number(j, result["loss"], f"{what}: 'loss'") and _number(j, result["acc"], f"{what}: 'acc'")):
        return None
    return result


# ---------------------------------------------------------------------------- evaluate
def cumsum(sizes: tuple[int, ...]) -> list[int]:
    out, total = [], 0
    for n in sizes:
        total += n
        out.append(total)
    return out


# ---------------------------------------------------------------------------- SmallViT
def reference_vit(kwargs: dict, seed: int, dtype: torch.dtype) -> Any:
    from autograder.reference.day7_practicum import ReferenceViT, contract_shapes

    cfg = dict(kwargs)
    shapes = contract_shapes(cfg)
    model = ReferenceViT(cfg).to(dtype)
    model.load_contract_state({k: filled(k, v, seed).to(dtype) for k, v in shapes.items()})
    return model.eval(), shapes


def contract_grads(model: nn.Module, shapes: dict) -> dict[str, torch.Tensor]:
    from autograder.reference.day7_practicum import _rename

    params = dict(model.named_parameters())
    return {k: params[_rename(k)].grad for k in shapes}


def vit_hint(kwargs: dict, seed: int, dtype: torch.dtype, x: torch.Tensor, got: np.ndarray) -> str:
    """Name a typical mistake when the logits match one."""
    model, _ = reference_vit(kwargs, seed, dtype)
    with torch.no_grad():
        pos = model.pos.detach().clone()
        model.pos.zero_()
        no_pos = model(x).numpy()
        model.pos.copy_(pos)
        if got.shape == no_pos.shape and np.allclose(got, no_pos, atol=1e-4, rtol=1e-3):
            return "the logits are those of a ViT without position embedding: add pos_embed to every token"
        tokens = model.patch(x).flatten(2).transpose(1, 2)
        if model.cls is not None:
            tokens = torch.cat([model.cls.expand(len(x), -1, -1), tokens], dim=1)
        tokens = tokens + model.pos
        for block in model.blocks:
            tokens = block(tokens)
        pooled = tokens[:, 0] if model.pool == "cls" else tokens.mean(1)
        no_norm = model.fc(pooled).numpy()
        if got.shape == no_norm.shape and np.allclose(got, no_norm, atol=1e-4, rtol=1e-3):
            return "apply the final LayerNorm (norm) to the tokens before the head"
        if model.pool == "mean":
            pre = model.fc(model.ln(tokens.mean(1))).numpy()
            if got.shape == pre.shape and np.allclose(got, pre, atol=1e-4, rtol=1e-3):
                return "with pool='mean', normalise the tokens first, then average them (head(mean(norm(z))))"
    return ("pre-norm blocks x + attn(norm1(x)), x + mlp(norm2(x)); qkv output split as [q | k | v], head h using "
            "features h*d:(h+1)*d, scale 1/sqrt(d); GELU (exact); LayerNorm eps 1e-6")


def judge_drop_path(got: Any, j: Judge) -> None:
    from autograder.reference.day7_practicum import reference_drop_path_outputs

    what = "SmallViT with drop_path=0.5 and depth 2 (rates 0 and 0.5), one image repeated 400 times in train mode"
    if not j.expect_ok(got, what) or not isinstance(got, dict):
        j.expect(isinstance(got, dict), f"{what}: no results")
        return
    model, _ = reference_vit(DROP_ARGS, DROP_SEED, torch.float32)
    x = randn(DROP_SEED, 1, 3, 16, 16)
    with torch.no_grad():
        plain_out = model(x)[0]
    if not j.expect_close(got.get("eval"), plain_out.expand(2, -1), f"{what}: the logits in eval mode (nothing dropped)",
                          atol=2e-5, rtol=2e-4):
        return
    if not j.expect_tensor(got.get("train"), f"{what}: the logits in train mode", shape=(DROP_ROWS, 4), dtype="float32"):
        return
    rows = array(got["train"]).astype(np.float64)
    candidates = reference_drop_path_outputs(model, x, [0.0, 0.5])
    keys = list(candidates)
    table = np.stack([candidates[k].numpy() for k in keys])  # (K, classes)
    dist = np.abs(rows[:, None, :] - table[None]).max(-1)  # (rows, K)
    match = dist.argmin(1)
    unmatched = int((dist.min(1) > 1e-4 + 1e-3 * np.abs(table).max()).sum())
    if unmatched:
        j.fail(f"{what}: {unmatched} of {DROP_ROWS} rows are none of the outputs stochastic depth can give. Hint: drop "
               "each residual branch (attention, MLP) per sample, with rate drop_path * i / (depth - 1) in block i (0 in "
               "the first block), and scale a branch that runs by 1 / (1 - rate)")
        return
    attn_dropped = np.array([not keys[m][2] for m in match])
    mlp_dropped = np.array([not keys[m][3] for m in match])
    low, high = 0.5 - 0.1, 0.5 + 0.1  # 400 rows: 4 standard deviations around the rate
    for name, dropped in (("attention", attn_dropped), ("MLP", mlp_dropped)):
        if not low <= dropped.mean() <= high:
            j.fail(f"{what}: the {name} branch of the last block was skipped in {dropped.mean():.0%} of the rows, expected "
                   "about 50% (rate 0.5 per sample, drawn independently for every sample)")
            return
    mixed = (attn_dropped != mlp_dropped).mean()
    j.expect(low <= mixed <= high, f"{what}: the attention and MLP branches were dropped together in {1 - mixed:.0%} of "
             "the rows; draw the two branches independently (two stochastic-depth calls per block)")


# ---------------------------------------------------------------------------- train_vit
# The two-digit images: two of scikit-learn's digits side by side, label = the left (tens) digit.
ACCURACY_FLOOR = 0.75  # reference: 92.1-96.8% over 20 seeds; without position embedding at most ~55% (docs/exercises)
TIME_LIMIT_S = 90.0  # CPU seconds of one thread (the solution needs about 12)
RECIPE_FIELDS = ("patch_size", "embed_dim", "depth", "num_heads", "mlp_ratio", "pool", "mean", "std")


def number_field(value: Any, kind: type) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) if kind is int else isinstance(value, (int, float)) and math.isfinite(value)


def _recipe_config(recipe: Any, j: Judge) -> dict | None:
    """The model configuration from a probed recipe, validated (None after a failure)."""
    what = "train_vit: the recipe it returned"
    if not isinstance(recipe, dict) or not all(k in recipe for k in RECIPE_FIELDS):
        j.fail(f"{what} should be a Recipe with the fields {', '.join(RECIPE_FIELDS)}, got {describe(recipe)}")
        return None
    for key in ("patch_size", "embed_dim", "depth", "num_heads"):
        if not number_field(recipe[key], int) or recipe[key] < 1:
            j.fail(f"{what}: {key} should be a positive int, got {describe(recipe[key])}")
            return None
    if recipe["patch_size"] not in (1, 2, 4, 8, 16, 32):
        j.fail(f"{what}: patch_size {recipe['patch_size']} does not divide the 32x32 images")
        return None
    if recipe["embed_dim"] > 1024 or recipe["depth"] > 24 or recipe["embed_dim"] % recipe["num_heads"]:
        j.fail(f"{what}: embed_dim {recipe['embed_dim']}, depth {recipe['depth']}, num_heads {recipe['num_heads']} is not a "
               "small ViT (embed_dim at most 1024 and divisible by num_heads, depth at most 24)")
        return None
    ratio = recipe["mlp_ratio"]
    if not number_field(ratio, float) or not 0 < ratio <= 16 or int(recipe["embed_dim"] * ratio) < 1:
        j.fail(f"{what}: mlp_ratio should be a number in (0, 16], got {describe(recipe['mlp_ratio'])}")
        return None
    if recipe["pool"] not in ("cls", "mean"):
        j.fail(f"{what}: pool should be 'cls' or 'mean', got {describe(recipe['pool'])}")
        return None
    for key in ("mean", "std"):
        values = recipe[key]
        if not (isinstance(values, list) and len(values) == 3 and all(number_field(v, float) for v in values)):
            j.fail(f"{what}: {key} should hold 3 numbers (one per channel), got {describe(values)}")
            return None
    if min(recipe["std"]) <= 0:
        j.fail(f"{what}: std must be positive, got {recipe['std']}")
        return None
    return dict(img_size=32, in_chans=3, num_classes=10, patch_size=recipe["patch_size"], embed_dim=recipe["embed_dim"],
                depth=recipe["depth"], num_heads=recipe["num_heads"], mlp_ratio=float(recipe["mlp_ratio"]), pool=recipe["pool"])


def _trained_state(state: Any, shapes: dict, j: Judge) -> dict[str, torch.Tensor] | None:
    what = "train_vit: the trained model"
    if not isinstance(state, dict):
        j.fail(f"{what} should be an nn.Module (a SmallViT); got none")
        return None
    have = set(state)
    if have != set(shapes):
        j.fail(f"{what}: its parameters do not match its recipe (a SmallViT with the recipe's fields); missing "
               f"{sorted(set(shapes) - have)[:4] or 'none'}, unexpected {sorted(have - set(shapes))[:4] or 'none'}")
        return None
    out = {}
    for name, shape in shapes.items():
        value = state[name]
        if not is_tensor(value) or tuple(value["shape"]) != shape or value["dtype"] != "float32":
            j.fail(f"{what}: {name} is {describe(value)}; expected a float32 tensor of shape {shape}")
            return None
        data = np.asarray(array(value), dtype=np.float32)
        if data.shape != shape or not np.isfinite(data).all():
            j.fail(f"{what}: {name} holds {'NaN or infinite values' if data.shape == shape else 'malformed data'} "
                   "(the training diverged: a learning rate far too high?)")
            return None
        out[name] = torch.from_numpy(data.copy())
    return out


def _accuracy_of(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, mean: list, std: list) -> float:
    m = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
    right = 0
    with torch.no_grad():
        for start in range(0, len(labels), 500):
            x = (images[start : start + 500].float() / 255 - m) / s
            right += int((model(x).argmax(1) == labels[start : start + 500]).sum())
    return right / len(labels)


def heldout_accuracy(data: Any) -> tuple[float | None, float | None, list[str]]:
    """(held-out accuracy, training accuracy, failures) of probed train_vit results; used by the judge and tools."""
    j = Judge("train_vit")
    from autograder.reference.day7_practicum import ReferenceViT, contract_shapes

    if not j.expect_ok(data, "train_vit") or not isinstance(data, dict):
        return None, None, j.failures or ["train_vit: no results"]
    if "returned" in data:
        j.fail(f"train_vit should return (model, recipe), got {data['returned']}")
        return None, None, j.failures
    cfg = _recipe_config(data.get("recipe"), j)
    if cfg is None:
        return None, None, j.failures
    shapes = contract_shapes(cfg)
    state = _trained_state(data.get("state"), shapes, j)
    if state is None:
        return None, None, j.failures
    model = ReferenceViT(cfg).load_contract_state(state).eval()
    recipe = data["recipe"]
    held = _accuracy_of(model, *as_images(*pairs_file(HELDOUT_FILE)), recipe["mean"], recipe["std"])
    train = _accuracy_of(model, *as_images(*pairs_file(TRAIN_FILE)), recipe["mean"], recipe["std"])
    return held, train, j.failures
