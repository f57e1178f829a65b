"""Hidden checks for day7_practicum: the four training-loop pieces, SmallViT and train_vit.

* ``warmup_cosine_lr``, ``accuracy``, ``train_one_epoch``, ``evaluate``: the probes build small
  seeded models and batch lists (unequal batch sizes, batch norm, dropout, a per-step LR schedule,
  generators, float64) and run the student's function on them; they return numbers, parameter
  tensors and what an instrumented layer saw during the forward passes (train/eval mode, autocast
  dtype, whether gradients were enabled). The judges rebuild the same models from the same seeds
  and run a reference loop written here.
* ``SmallViT``: the probe builds the student's class in several configurations, loads seeded
  weights by name and returns outputs, gradients and parameter shapes; the judge compares them with
  a ViT built from ``nn.MultiheadAttention`` (``autograder/reference/day7_practicum.py``).
* ``train_vit``: the probe **trains** the student's recipe on the two-digit training images
  (``autograder/data``, the only data file the sandbox gets) and returns the trained weights and the
  recipe as plain data. The judge builds its own ViT from the recipe, loads the weights and measures
  the accuracy on held-out images the probe never receives (their file is not in the sandbox, and
  scikit-learn's digits are hidden there). Only that measured accuracy earns the points.
"""

from __future__ import annotations

import dataclasses
import math
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from autograder.harness import Judge, Registry, array, attempt, describe, guarded, is_error, is_tensor, plain, randn, seeded

REGISTRY = Registry("day7_practicum")

# Files under autograder/data the sandbox copy includes (the probe trains on them), and package data
# the sandbox hides while this day is graded (the held-out digits must not be readable there).
TRAIN_FILE, HELDOUT_FILE = "day7_digitpairs_train.npz", "day7_digitpairs_heldout.npz"
SANDBOX_FILES = (TRAIN_FILE,)
SANDBOX_HIDE = ("sklearn/datasets/data/digits.csv.gz",)


def _expect_cases(j: Judge, data: Any, count: int, what: str, key: str = "cases") -> bool:
    """The probe's results must be exactly one per case the judge rebuilt (an empty or short list fails)."""
    if is_error(data):
        return j.fail(f"{what}: the checks could not run: {describe(data)}")
    got = data.get(key) if isinstance(data, dict) else None
    if not isinstance(got, list):
        return j.fail(f"{what}: expected a list of {count} results, got {describe(got)}")
    if len(got) != count:
        return j.fail(f"{what}: expected exactly {count} results, one per case, got {len(got)}")
    return True


# ---------------------------------------------------------------------------- warmup_cosine_lr
def _lr_cases() -> list[tuple[str, tuple]]:
    """(description, (step, total_steps, warmup_steps, base_lr, min_lr))."""
    cases = [
        ("the first warmup step", (0, 100, 10, 1.0, 0.0)),
        ("a middle warmup step", (4, 100, 10, 1.0, 0.0)),
        ("the last warmup step", (9, 100, 10, 1.0, 0.0)),
        ("the first step after warmup", (10, 100, 10, 1.0, 0.0)),
        ("a step in the cosine part with min_lr > 0", (37, 100, 10, 0.5, 0.01)),
        ("the last step of the run", (99, 100, 10, 1.0, 0.0)),
        ("step == total_steps with min_lr > 0", (100, 100, 10, 2.0, 0.1)),
        ("no warmup, step 0", (0, 50, 0, 3e-4, 0.0)),
        ("no warmup, half-way", (25, 50, 0, 3e-4, 0.0)),
        ("warmup as long as the run (total_steps == warmup_steps)", (5, 5, 5, 1.0, 0.0)),
        ("warmup of one step", (0, 20, 1, 1e-3, 0.0)),
        ("a realistic run (warmup 5 epochs of 98 steps out of 200 epochs)", (12345, 19600, 490, 1e-3, 1e-5)),
    ]
    cases += [
        ("no warmup with min_lr > 0, step 0", (0, 40, 0, 1e-3, 1e-4)),
        ("no warmup with min_lr > 0, the last step", (39, 40, 0, 1e-3, 1e-4)),
        ("no warmup with min_lr > 0, step == total_steps", (40, 40, 0, 1e-3, 1e-4)),
        ("min_lr equal to base_lr (a constant rate after warmup)", (17, 50, 5, 0.01, 0.01)),
        ("warmup longer than the run (still warming up)", (7, 5, 10, 1.0, 0.0)),
        ("a large base_lr and min_lr", (30, 80, 20, 5.0, 0.5)),
        ("integer base_lr and min_lr", (12, 30, 4, 2, 1)),
    ]
    cases += [(f"step {s} of a 60-step run with 7 warmup steps and min_lr 1e-4", (s, 60, 7, 2e-3, 1e-4)) for s in range(60)]
    cases += [(f"step {s} of a 25-step run without warmup and min_lr 0.05", (s, 25, 0, 0.3, 0.05)) for s in range(0, 26, 3)]
    return cases


def _reference_lr(step: int, total: int, warmup: int, base: float, min_lr: float) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    p = (step - warmup) / max(1, total - warmup)
    return min_lr + (base - min_lr) * (1 + math.cos(math.pi * p)) / 2


def probe_lr(fn: Any) -> dict:
    out = []
    for _, (step, total, warmup, base, min_lr) in _lr_cases():
        out.append(attempt(fn, step, total, warmup, base, min_lr))
    default_min = attempt(fn, 50, 100, 10, 1.0)  # min_lr must default to 0
    return {"values": out, "default_min": default_min}


def _lr_hint(args: tuple, got: float) -> str:
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


@REGISTRY.exercise("warmup_cosine_lr", probe_lr)
def judge_lr(data: dict, j: Judge) -> None:
    if not _expect_cases(j, data, len(_lr_cases()), "warmup_cosine_lr", key="values"):
        return
    wrong = 0
    for (what, args), got in zip(_lr_cases(), data["values"], strict=True):
        what = f"warmup_cosine_lr{args} ({what})"
        if not j.expect_ok(got, what):
            return
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            j.fail(f"{what} should return a Python float, got {describe(got)}")
            return
        expected = _reference_lr(*args)
        if not math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-12):
            wrong += 1
            if wrong <= 3:  # a few examples are enough; the rest repeat the same mistake
                j.fail(f"{what} is {got:.8g}, expected {expected:.8g}. Hint: {_lr_hint(args, got)}")
    if wrong > 3:
        j.fail(f"... and {wrong - 3} more steps give a wrong learning rate")
    j.expect_number(data["default_min"], _reference_lr(50, 100, 10, 1.0, 0.0),
                    "warmup_cosine_lr(50, 100, 10, 1.0) (min_lr defaults to 0)", rel=1e-6)


# ---------------------------------------------------------------------------- accuracy
def _accuracy_cases() -> list[tuple[str, torch.Tensor, torch.Tensor, tuple[int, ...] | None]]:
    """(description, logits, targets, topk or None for the default)."""
    def targets(seed: int, n: int, c: int) -> torch.Tensor:
        return torch.randint(0, c, (n,), generator=torch.Generator().manual_seed(seed))

    good = randn(21, 12, 4)
    t_good = good.argmax(1)
    t_good[:5] = (t_good[:5] + 1) % 4  # 7 of 12 right at top-1
    return [
        ("logits (10, 5) with the default topk", randn(1, 10, 5), targets(2, 10, 5), None),
        ("logits (12, 4), topk=(1,)", good, t_good, (1,)),
        ("logits (64, 10), topk=(1, 3, 5)", randn(3, 64, 10), targets(4, 64, 10), (1, 3, 5)),
        ("logits (30, 6), topk=(2, 1) (order kept)", randn(5, 30, 6), targets(6, 30, 6), (2, 1)),
        ("a batch of one sample, topk=(1, 2)", randn(7, 1, 3), torch.tensor([2]), (1, 2)),
        ("float64 logits (40, 7), topk=(1, 7)", randn(8, 40, 7, dtype=torch.float64), targets(9, 40, 7), (1, 7)),
        ("logits (500, 100), topk=(1, 5)", randn(10, 500, 100) + F.one_hot(targets(11, 500, 100), 100) * 2.0,
         targets(11, 500, 100), (1, 5)),
        ("logits (25, 8), topk=(5,) only", randn(12, 25, 8), targets(13, 25, 8), (5,)),
        ("logits (33, 9), topk=(3, 1, 2) (order kept)", randn(14, 33, 9), targets(15, 33, 9), (3, 1, 2)),
        ("logits (16, 4), topk=(4,) (every class: always 1)", randn(16, 16, 4), targets(17, 16, 4), (4,)),
        ("int32 targets, logits (20, 5), topk=(1, 2)", randn(18, 20, 5), targets(19, 20, 5).int(), (1, 2)),
    ]


def _reference_accuracy(logits: torch.Tensor, targets: torch.Tensor, topk: tuple[int, ...]) -> list[float]:
    order = logits.argsort(dim=1, descending=True)
    return [float((order[:, :k] == targets[:, None]).any(1).double().mean()) for k in topk]


def probe_accuracy(fn: Any) -> dict:
    results = []
    for _, logits, targets, topk in _accuracy_cases():
        before = logits.clone()
        out = attempt(fn, logits, targets) if topk is None else attempt(fn, logits, targets, topk=topk)
        results.append({"out": out, "modified": not torch.equal(before, logits)})
    return {"cases": results}


@REGISTRY.exercise("accuracy", probe_accuracy)
def judge_accuracy(data: dict, j: Judge) -> None:
    if not _expect_cases(j, data, len(_accuracy_cases()), "accuracy"):
        return
    for (what, logits, targets, topk), case in zip(_accuracy_cases(), data["cases"], strict=True):
        what = f"accuracy on {what}"
        out = case["out"]
        if not j.expect_ok(out, what):
            continue
        expected = _reference_accuracy(logits, targets, topk or (1,))
        if not isinstance(out, list) or len(out) != len(expected):
            j.fail(f"{what} should return a list of {len(expected)} float(s), one per entry of topk; got {describe(out)}")
            continue
        for k, got, exp in zip(topk or (1,), out, expected, strict=True):
            if isinstance(got, dict) and got.get("__tensor__"):
                j.fail(f"{what}: top-{k} is a tensor; return Python floats (use .item())")
                break
            if isinstance(got, bool) or not isinstance(got, (int, float)):
                j.fail(f"{what}: top-{k} should be a float, got {describe(got)}")
                break
            if math.isclose(got, 100 * exp, rel_tol=1e-6) and exp > 0:
                j.fail(f"{what}: top-{k} is {got:.6g}, a percentage; return a fraction in [0, 1] ({exp:.6g})")
                break
            if not math.isclose(got, exp, rel_tol=1e-6, abs_tol=1e-9):
                hint = ""
                n_right = round(exp * len(targets))
                if math.isclose(got, n_right, abs_tol=1e-9) and n_right > 1:
                    hint = " Hint: divide the count of right samples by the batch size."
                elif k > 1:
                    hint = " Hint: a sample counts if its target is anywhere among its k largest logits (logits.topk(k, dim=1))."
                else:
                    hint = " Hint: compare the argmax over the classes (dim=1) with the targets."
                j.fail(f"{what}: top-{k} accuracy is {got:.6g}, expected {exp:.6g}.{hint}")
                break
        j.expect(not case["modified"], f"{what} changed the logits in place")


# ---------------------------------------------------------------------------- instrumented models
class _Spy(nn.Module):
    """Identity layer that records, at every forward, what the student's loop set up."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[dict[str, Any]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.log.append({"training": self.training, "dtype": str(x.dtype).replace("torch.", ""), "grad": torch.is_grad_enabled(),
                         "batch": int(x.shape[0])})
        return x


def _model(kind: str, seed: int) -> nn.Sequential:
    """Seeded small classifiers on 6 features and 4 classes (the judge rebuilds them identically)."""
    with seeded(seed):
        if kind == "bn":
            layers = [nn.Linear(6, 16), _Spy(), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 4)]
        elif kind == "dropout":
            layers = [nn.Linear(6, 16), _Spy(), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 4)]
        else:
            layers = [nn.Linear(6, 12), _Spy(), nn.GELU(), nn.Linear(12, 4)]
        model = nn.Sequential(*layers)
        if kind != "plain":
            bn = model[2]
            bn.running_mean.copy_(torch.randn(16) * 0.3)
            bn.running_var.copy_(torch.rand(16) + 0.5)
    return model


def _batches(seed: int, sizes: tuple[int, ...]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(n, 6, generator=g) * 2, torch.randint(0, 4, (n,), generator=g)) for n in sizes]


class _Loader:
    """An iterable of batches that counts how often it is iterated (a DataLoader stand-in)."""

    def __init__(self, batches: list) -> None:
        self.batches = batches
        self.passes = 0

    def __iter__(self) -> Iterator:
        self.passes += 1
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


def _spy(model: nn.Module) -> _Spy:
    return next(m for m in model.modules() if isinstance(m, _Spy))


def _state(model: nn.Module) -> dict[str, Any]:
    """The state_dict as plain data; 0-d entries (num_batches_tracked) as shape (1,), which survives the wire."""
    return {k: plain(v.reshape(1) if v.dim() == 0 else v) for k, v in model.state_dict().items()}


def _as_stored(value: torch.Tensor) -> np.ndarray:
    """A reference state_dict entry the way `_state` stores it."""
    return (value.reshape(1) if value.dim() == 0 else value).numpy()


# ---------------------------------------------------------------------------- train_one_epoch
# (description, model kind, seed, batch sizes, optimizer, use a scheduler, amp, start in eval mode, a generator loader)
TRAIN_CASES: list[tuple[str, str, int, tuple[int, ...], str, bool, bool, bool, bool]] = [
    ("a batch-norm model given in eval mode, SGD with momentum and a per-step LambdaLR, batches of 8, 8, 8 and 5",
     "bn", 100, (8, 8, 8, 5), "sgd", True, False, True, False),
    ("a plain MLP, AdamW, no scheduler, batches of 10 and 3", "plain", 200, (10, 3), "adamw", False, False, False, False),
    ("a batch-norm model, Adam with a per-step LambdaLR, batches of 16, 4 and 9",
     "bn", 300, (16, 4, 9), "adam", True, False, False, False),
    ("amp=True on the CPU (bfloat16 autocast), SGD, batches of 12 and 7",
     "plain", 400, (12, 7), "sgd", False, True, False, False),
    ("a generator of [x, y] lists (no len(), one pass), AdamW with a per-step LambdaLR, batches of 9, 9 and 2",
     "plain", 450, (9, 9, 2), "adamw", True, False, False, True),
    ("amp=True on the CPU with a batch-norm model, SGD with a per-step LambdaLR, a generator of batches of 11, 6 and 6",
     "bn", 470, (11, 6, 6), "sgd", True, True, False, True),
]


def _loader(batches: list, generator: bool) -> Any:
    """A counting re-iterable loader, or a one-pass generator of [x, y] lists (as DataLoader yields)."""
    return (list(b) for b in batches) if generator else _Loader(batches)


def _optimizer(name: str, params: Any) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(params, lr=0.2, momentum=0.9)
    if name == "adam":
        return torch.optim.Adam(params, lr=0.01)
    return torch.optim.AdamW(params, lr=0.02, weight_decay=0.1)


def _lambda(step: int) -> float:
    return 1.0 / (1.0 + 2.0 * step)  # changes a lot per step, so its timing shows in the weights


def _train_setup(kind: str, seed: int, sizes: tuple[int, ...], opt_name: str, use_sched: bool, start_eval: bool):
    model = _model(kind, seed)
    model.train(not start_eval)
    opt = _optimizer(opt_name, model.parameters())
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lambda) if use_sched else None
    return model, opt, sched, _batches(seed + 1, sizes)


def probe_train(fn: Any) -> dict:
    cases = []
    for _, kind, seed, sizes, opt_name, use_sched, amp, start_eval, generator in TRAIN_CASES:
        def run() -> dict:
            model, opt, sched, batches = _train_setup(kind, seed, sizes, opt_name, use_sched, start_eval)
            loader = _loader(batches, generator)
            result = attempt(fn, model, loader, opt, scheduler=sched, device="cpu", amp=amp)
            return {
                "result": result,
                "state": _state(model),
                "param_dtypes": [str(p.dtype).replace("torch.", "") for p in model.parameters()],
                "training_after": model.training,
                "log": list(_spy(model).log),
                "passes": None if generator else loader.passes,
                "sched_steps": sched.last_epoch if sched is not None else None,
                "opt_steps": int(opt.state_dict()["state"].get(0, {}).get("step", torch.tensor(-1)).item())
                if opt_name != "sgd" else None,
            }

        cases.append(guarded(run))
    return {"cases": cases}


def _reference_train(kind: str, seed: int, sizes: tuple[int, ...], opt_name: str, use_sched: bool, amp: bool, start_eval: bool,
                     generator: bool = False):
    model, opt, sched, batches = _train_setup(kind, seed, sizes, opt_name, use_sched, start_eval)
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


def _check_stats(j: Judge, result: Any, what: str) -> dict | None:
    if not j.expect_ok(result, what):
        return None
    if not isinstance(result, dict) or not {"loss", "acc"} <= set(result):
        j.fail(f"{what} should return a dict with keys 'loss' and 'acc', got {describe(result)}")
        return None
    if not (_number(j, result["loss"], f"{what}: 'loss'") and _number(j, result["acc"], f"{what}: 'acc'")):
        return None
    return result


@REGISTRY.exercise("train_one_epoch", probe_train)
def judge_train(data: dict, j: Judge) -> None:
    if not _expect_cases(j, data, len(TRAIN_CASES), "train_one_epoch"):
        return
    for case_spec, case in zip(TRAIN_CASES, data["cases"], strict=True):
        what, kind, seed, sizes, opt_name, use_sched, amp, start_eval, generator = case_spec
        what = f"train_one_epoch with {what}"
        if not j.expect_ok(case, what):
            continue
        log = case["log"]
        n = sum(sizes)
        if len(log) != len(sizes):
            j.fail(f"{what}: the model ran {len(log)} forward passes for {len(sizes)} batches; expected exactly one per batch "
                   "(iterate over the loader once, and reuse the logits of the training forward pass for the accuracy)")
            continue
        if not all(entry["training"] for entry in log):
            j.fail(f"{what}: the forward passes ran in eval mode; call model.train() at the start")
        if not all(entry["grad"] for entry in log):
            j.fail(f"{what}: the forward passes ran with gradients disabled")
        dtypes = {entry["dtype"] for entry in log}
        if amp and dtypes != {"bfloat16"}:
            j.fail(f"{what}: with amp=True on the CPU the forward pass should run under "
                   f"torch.autocast('cpu', dtype=torch.bfloat16); a linear layer's output was {', '.join(sorted(dtypes))}")
        if not amp and dtypes != {"float32"}:
            j.fail(f"{what}: with amp=False the forward pass should run in float32, "
                   f"a linear layer's output was {', '.join(sorted(dtypes))}")
        if any(d != "float32" for d in case["param_dtypes"]):
            j.fail(f"{what}: parameters changed dtype to {set(case['param_dtypes'])}; mixed precision keeps float32 parameters "
                   "(autocast casts inside operations, do not call model.half())")
        j.expect(case["training_after"], f"{what}: the model should still be in train mode afterwards")
        if not generator and case["passes"] != 1:
            j.fail(f"{what}: the loader was iterated {case['passes']} times; one epoch is one pass")
        if use_sched and case["sched_steps"] != len(sizes):
            j.fail(f"{what}: scheduler.step() ran {case['sched_steps']} times for {len(sizes)} batches; "
                   "call it once after every optimizer.step()")
        if case["opt_steps"] is not None and case["opt_steps"] != len(sizes):
            j.fail(f"{what}: optimizer.step() ran {case['opt_steps']} times for {len(sizes)} batches")
        ref, ref_loss, ref_acc = _reference_train(kind, seed, sizes, opt_name, use_sched, amp, start_eval, generator)
        stats = _check_stats(j, case["result"], what)
        tol = 2e-2 if amp else 1e-5
        if stats is not None:
            loss = float(stats["loss"])
            if not math.isclose(loss, ref_loss, rel_tol=tol, abs_tol=tol):
                # a typical mistake: averaging batch means without weighting by batch size
                hint = "the loss is the mean over samples of the cross-entropy computed during training (before each step)"
                if math.isclose(loss, ref_loss * n, rel_tol=tol):
                    hint = "divide the summed loss by the number of samples"
                elif sizes and math.isclose(loss, ref_loss * n / sizes[-1], rel_tol=tol):
                    hint = "accumulate the loss over all batches, not only the last one"
                j.fail(f"{what}: 'loss' is {loss:.6g}, expected {ref_loss:.6g}. Hint: {hint}; weight each batch's mean "
                       "loss by its size (the last batch is smaller)")
            acc = float(stats["acc"])
            if not math.isclose(acc, ref_acc, abs_tol=1.5 / n if amp else 1e-6):
                hint = "acc is the fraction of training samples whose argmax logit equals the target"
                if math.isclose(acc, ref_acc * n, abs_tol=1e-6) or math.isclose(acc, 100 * ref_acc, abs_tol=1e-6):
                    hint = "return a fraction in [0, 1], not a count or a percentage"
                j.fail(f"{what}: 'acc' is {acc:.6g}, expected {ref_acc:.6g}. Hint: {hint}")
        state = case["state"]
        ref_state = ref.state_dict()
        if not isinstance(state, dict) or set(state) != set(ref_state):
            j.fail(f"{what}: the model's state_dict keys changed")
            continue
        ptol = 5e-3 if amp else 1e-5
        for key, value in ref_state.items():
            if key.endswith("num_batches_tracked"):
                continue
            if not is_tensor(state[key]) or tuple(state[key]["shape"]) != tuple(value.shape) or state[key]["dtype"] != "float32":
                j.fail(f"{what}: after the epoch, {key} is {describe(state[key])}; expected a float32 tensor of shape "
                       f"{tuple(value.shape)} (parameters keep their dtype)")
                break
            got = array(state[key]).astype("float64")
            ref_value = value.double().numpy()
            if got.shape != ref_value.shape or not (abs(got - ref_value) <= ptol + ptol * abs(ref_value)).all():
                j.fail(f"{what}: after the epoch, {key} differs from a reference epoch (cross-entropy with mean reduction "
                       "per batch, optimizer.zero_grad() before each backward, optimizer.step() and then scheduler.step() "
                       "per batch, train mode)")
                break


# ---------------------------------------------------------------------------- evaluate
# (description, model kind, seed, batch sizes, a generator loader, dtype)
EVAL_CASES: list[tuple[str, str, int, tuple[int, ...], bool, torch.dtype]] = [
    ("a dropout + batch-norm model given in train mode, batches of 8, 8 and 4", "dropout", 500, (8, 8, 4), False, torch.float32),
    ("a batch-norm model, batches of 32 and 1", "bn", 600, (32, 1), False, torch.float32),
    ("a plain MLP, one batch of 50", "plain", 700, (50,), False, torch.float32),
    ("a float64 dropout model and inputs, a generator of [x, y] lists of 7 and 5", "dropout", 800, (7, 5), True, torch.float64),
]


def _eval_batches(seed: int, sizes: tuple[int, ...], dtype: torch.dtype) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(x.to(dtype), y) for x, y in _batches(seed, sizes)]


def probe_evaluate(fn: Any) -> dict:
    cases = []
    for _, kind, seed, sizes, generator, dtype in EVAL_CASES:
        def run() -> dict:
            model = _model(kind, seed).to(dtype).train()
            loader = _loader(_eval_batches(seed + 1, sizes, dtype), generator)
            with seeded(seed + 2):  # if dropout stays on, at least the result is reproducible
                result = attempt(fn, model, loader, device="cpu")
            return {
                "result": result,
                "state": _state(model),
                "grads": [p.grad is not None for p in model.parameters()],
                "training_after": model.training,
                "log": list(_spy(model).log),
                "passes": None if generator else loader.passes,
            }

        cases.append(guarded(run))
    return {"cases": cases}


@REGISTRY.exercise("evaluate", probe_evaluate)
def judge_evaluate(data: dict, j: Judge) -> None:
    if not _expect_cases(j, data, len(EVAL_CASES), "evaluate"):
        return
    for (what, kind, seed, sizes, generator, dtype), case in zip(EVAL_CASES, data["cases"], strict=True):
        what = f"evaluate with {what}"
        if not j.expect_ok(case, what):
            continue
        log = case["log"]
        if any(entry["training"] for entry in log):
            j.fail(f"{what}: the forward passes ran in train mode (dropout on, batch norm on batch statistics); "
                   "call model.eval() first")
        if any(entry["grad"] for entry in log):
            j.fail(f"{what}: gradients were enabled during the forward passes; wrap the loop in torch.no_grad() "
                   "(or torch.inference_mode())")
        if any(case["grads"]):
            j.fail(f"{what}: some parameters have a .grad afterwards; evaluation must not call backward()")
        j.expect(not case["training_after"], f"{what}: the model should be left in eval mode")
        if not generator and case["passes"] != 1:
            j.fail(f"{what}: the loader was iterated {case['passes']} times; evaluate makes one pass")
        if len(log) != len(sizes):
            j.fail(f"{what}: the model ran {len(log)} forward passes for {len(sizes)} batches; expected one per batch")
        model = _model(kind, seed).to(dtype).eval()
        ref_state = model.state_dict()
        if not isinstance(case["state"], dict) or set(case["state"]) != set(ref_state):
            j.fail(f"{what}: the model's state_dict keys changed")
            continue
        for key, value in ref_state.items():
            got, want = case["state"][key], _as_stored(value)
            if not is_tensor(got) or tuple(got["shape"]) != want.shape or not np.array_equal(array(got), want):
                j.fail(f"{what}: evaluation changed the model ({key}); in eval mode batch norm does not update "
                       "its running statistics, and evaluation never steps an optimizer")
                break
        x = torch.cat([b[0] for b in _eval_batches(seed + 1, sizes, dtype)])
        y = torch.cat([b[1] for b in _eval_batches(seed + 1, sizes, dtype)])
        with torch.no_grad():
            logits = model(x)
        ref_loss = F.cross_entropy(logits, y).item()
        ref_acc = (logits.argmax(1) == y).double().mean().item()
        stats = _check_stats(j, case["result"], what)
        if stats is None:
            continue
        loss, acc = float(stats["loss"]), float(stats["acc"])
        if not math.isclose(loss, ref_loss, rel_tol=1e-5, abs_tol=1e-6):
            means = [F.cross_entropy(logits[s - n: s], y[s - n: s]).item() for s, n in zip(_cumsum(sizes), sizes, strict=True)]
            hint = "cross-entropy averaged over all samples, in eval mode"
            if math.isclose(loss, sum(means) / len(means), rel_tol=1e-5):
                hint = ("you averaged the batch means; weight each batch by its size "
                        "(or sum with reduction='sum' and divide by the count)")
            elif math.isclose(loss, ref_loss * len(y), rel_tol=1e-5):
                hint = "divide the summed loss by the number of samples"
            j.fail(f"{what}: 'loss' is {loss:.6g}, expected {ref_loss:.6g}. Hint: {hint}")
        if not math.isclose(acc, ref_acc, abs_tol=1e-6):
            hint = "acc is the fraction of samples whose argmax logit equals the target"
            if math.isclose(acc, ref_acc * len(y), abs_tol=1e-6) or math.isclose(acc, 100 * ref_acc, abs_tol=1e-6):
                hint = "return a fraction in [0, 1], not a count or a percentage"
            j.fail(f"{what}: 'acc' is {acc:.6g}, expected {ref_acc:.6g}. Hint: {hint}")


def _cumsum(sizes: tuple[int, ...]) -> list[int]:
    out, total = [], 0
    for n in sizes:
        total += n
        out.append(total)
    return out


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


def _filled(name: str, shape: tuple[int, ...], seed: int) -> torch.Tensor:
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
    model.load_state_dict({k: _filled(k, tuple(v.shape), seed).to(v.dtype) for k, v in state.items()})


def _vit_images(seed: int, kwargs: dict, batch: int, dtype: torch.dtype) -> torch.Tensor:
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
            x = _vit_images(seed, kwargs, batch, dtype)
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


def _reference_vit(kwargs: dict, seed: int, dtype: torch.dtype) -> Any:
    from autograder.reference.day7_practicum import ReferenceViT, contract_shapes

    cfg = dict(kwargs)
    shapes = contract_shapes(cfg)
    model = ReferenceViT(cfg).to(dtype)
    model.load_contract_state({k: _filled(k, v, seed).to(dtype) for k, v in shapes.items()})
    return model.eval(), shapes


def _contract_grads(model: nn.Module, shapes: dict) -> dict[str, torch.Tensor]:
    from autograder.reference.day7_practicum import _rename

    params = dict(model.named_parameters())
    return {k: params[_rename(k)].grad for k in shapes}


def _vit_hint(kwargs: dict, seed: int, dtype: torch.dtype, x: torch.Tensor, got: np.ndarray) -> str:
    """Name a typical mistake when the logits match one."""
    model, _ = _reference_vit(kwargs, seed, dtype)
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


@REGISTRY.exercise("SmallViT", probe_small_vit)
def judge_small_vit(data: dict, j: Judge) -> None:
    if not _expect_cases(j, data, len(VIT_CASES), "SmallViT"):
        return
    for (what, kwargs, batch, seed, dtype), case in zip(VIT_CASES, data["cases"], strict=True):
        what = f"SmallViT with {what}"
        if not j.expect_ok(case, what):
            continue
        model, shapes = _reference_vit(kwargs, seed, dtype)
        got_shapes = case.get("shapes") if isinstance(case, dict) else None
        if not isinstance(got_shapes, dict) or {k: tuple(v) for k, v in got_shapes.items() if isinstance(v, list)} != shapes:
            have = got_shapes if isinstance(got_shapes, dict) else {}
            missing = sorted(set(shapes) - set(have))[:4]
            extra = sorted(set(have) - set(shapes))[:4]
            wrong = sorted(k for k in set(have) & set(shapes) if tuple(have[k]) != shapes[k])[:4]
            j.fail(f"{what}: the parameters are not the contract's (timm's names); missing {missing or 'none'}, "
                   f"unexpected {extra or 'none'}, wrong shape "
                   f"{[f'{k} {tuple(have[k])} (expected {shapes[k]})' for k in wrong] or 'none'}")
            continue
        trainable = case.get("trainable") if isinstance(case.get("trainable"), dict) else {}
        if set(trainable) != set(shapes) or not all(trainable.get(k) is True for k in shapes):
            j.fail(f"{what}: every entry of the state_dict must be a trainable nn.Parameter (requires_grad=True, no "
                   f"buffers); check {sorted(k for k in shapes if trainable.get(k) is not True)[:4]}")
        x = _vit_images(seed, kwargs, batch, dtype)
        with torch.no_grad():
            expected = model(x)
        tol = dict(atol=1e-10, rtol=1e-8) if dtype == torch.float64 else dict(atol=2e-5, rtol=2e-4)
        dtype_name = str(dtype).replace("torch.", "")
        if j.expect_tensor(case["eval"], f"{what}: the logits", shape=tuple(expected.shape), dtype=dtype_name):
            if not j.expect_close(case["eval"], expected, f"{what}: the logits in eval mode", **tol):
                j.fail(f"{what}: Hint: {_vit_hint(kwargs, seed, dtype, x, array(case['eval']).astype(np.float64))}")
                continue
        else:
            continue
        if "train" in case or kwargs.get("drop_path", 0.0) == 0.0:
            j.expect_close(case.get("train"), expected, f"{what}: the logits in train mode with drop_path=0 (no dropout "
                           "anywhere, so train and eval mode agree)", **tol)
        model.zero_grad()
        (model(x) * randn(seed + 100, batch, kwargs["num_classes"], dtype=dtype)).sum().backward()
        grads = case.get("grads")
        if not isinstance(grads, dict) or set(grads) != set(shapes):
            j.fail(f"{what}: expected a gradient for every parameter after backward")
        else:
            for name, ref_grad in _contract_grads(model, shapes).items():
                if grads[name] is None:
                    j.fail(f"{what}: no gradient reached {name}; keep every step in torch operations")
                    break
                gtol = dict(atol=1e-9, rtol=1e-7) if dtype == torch.float64 else dict(atol=1e-4, rtol=1e-3)
                if not j.expect_close(grads[name], ref_grad, f"{what}: the gradient with respect to {name}", **gtol):
                    break
        j.expect(case.get("x_modified") is False, f"{what}: the forward pass changed its input images in place")
    refused = data.get("refused")
    if not isinstance(refused, list) or len(refused) != len(VIT_BAD_ARGS):
        j.fail("SmallViT: the checks of invalid arguments did not run")
    else:
        for (what, _), got in zip(VIT_BAD_ARGS, refused, strict=True):
            if not (is_error(got) and str(got["__error__"]).startswith("ValueError")):
                j.fail(f"SmallViT({what}) should raise ValueError, got {describe(got)}")
    _judge_drop_path(data.get("drop"), j)


def _judge_drop_path(got: Any, j: Judge) -> None:
    from autograder.reference.day7_practicum import reference_drop_path_outputs

    what = "SmallViT with drop_path=0.5 and depth 2 (rates 0 and 0.5), one image repeated 400 times in train mode"
    if not j.expect_ok(got, what) or not isinstance(got, dict):
        j.expect(isinstance(got, dict), f"{what}: no results")
        return
    model, _ = _reference_vit(DROP_ARGS, DROP_SEED, torch.float32)
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
GRADING_SEED = 0
# The grader renames the classes (digit d is class CLASS_ORDER[d]), so weights prepared elsewhere with
# the digits' own labels do not score; a recipe that learns from the given labels is unaffected.
CLASS_ORDER = (3, 7, 0, 9, 5, 1, 8, 2, 6, 4)
RECIPE_FIELDS = ("patch_size", "embed_dim", "depth", "num_heads", "mlp_ratio", "pool", "mean", "std")


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


def _pairs_file(name: str) -> tuple[np.ndarray, np.ndarray]:
    path = Path(__file__).resolve().parent.parent / "data" / name
    if path.is_file():
        with np.load(path) as blob:
            return blob["x"], blob["y"]
    return digit_pairs("heldout" if name == HELDOUT_FILE else "train")  # e.g. a sandbox without the data files


def _as_images(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (N, 32, 32) -> (N, 3, 32, 32); labels renamed with CLASS_ORDER."""
    images = torch.from_numpy(np.ascontiguousarray(x))[:, None].expand(-1, 3, -1, -1).contiguous()
    return images, torch.as_tensor(np.asarray(CLASS_ORDER)[y], dtype=torch.int64)


def probe_train_vit(fn: Any) -> dict:
    return train_and_report(fn, GRADING_SEED)


def train_and_report(fn: Any, seed: int) -> dict:
    """Train with the student's train_vit on the training images; the weights and recipe as plain data."""
    images, labels = _as_images(*_pairs_file(TRAIN_FILE))

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


def _number_field(value: Any, kind: type) -> bool:
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
        if not _number_field(recipe[key], int) or recipe[key] < 1:
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
    if not _number_field(ratio, float) or not 0 < ratio <= 16 or int(recipe["embed_dim"] * ratio) < 1:
        j.fail(f"{what}: mlp_ratio should be a number in (0, 16], got {describe(recipe['mlp_ratio'])}")
        return None
    if recipe["pool"] not in ("cls", "mean"):
        j.fail(f"{what}: pool should be 'cls' or 'mean', got {describe(recipe['pool'])}")
        return None
    for key in ("mean", "std"):
        values = recipe[key]
        if not (isinstance(values, list) and len(values) == 3 and all(_number_field(v, float) for v in values)):
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
    held = _accuracy_of(model, *_as_images(*_pairs_file(HELDOUT_FILE)), recipe["mean"], recipe["std"])
    train = _accuracy_of(model, *_as_images(*_pairs_file(TRAIN_FILE)), recipe["mean"], recipe["std"])
    return held, train, j.failures


@REGISTRY.exercise("train_vit", probe_train_vit)
def judge_train_vit(data: dict, j: Judge) -> None:
    held, train, failures = heldout_accuracy(data)
    for message in failures:
        j.fail(message)
    if held is None:
        return
    cpu = data.get("cpu_seconds")  # CPU time, not wall time: a busy grading machine must not fail a run
    if not _number_field(cpu, float) or cpu > TIME_LIMIT_S:
        took = f"{cpu:.0f}" if _number_field(cpu, float) else describe(cpu)
        j.fail(f"train_vit took {took} s of CPU time on the grader's one thread; the limit is {TIME_LIMIT_S:.0f} s "
               "(fewer epochs, fewer or larger patches, a narrower or shallower model)")
    if held < ACCURACY_FLOOR:
        if train < 0.2:
            hint = ("the model did not learn the training images either: are the labels kept with their images (shuffle "
                    "images and labels with the same permutation)? A learning rate far too high diverges, far too low "
                    "barely moves; does the optimizer hold all the parameters, and does the scheduler scale the rate?")
        elif train - held > 0.15:
            hint = "it fits the training images but does not generalise: more regularisation or a smaller model"
        else:
            hint = ("it learns, but not enough: more epochs within the time limit, a learning rate near 1e-3 to 3e-3 for "
                    "AdamW, and does the model add its position embedding (without it, the tens digit and the units "
                    "digit cannot be told apart)?")
        j.fail(f"train_vit: your trained model reaches {held:.1%} on the held-out two-digit images (training images "
               f"{train:.1%}); the floor is {ACCURACY_FLOOR:.0%} (chance 10%). Hint: {hint}")


# ---------------------------------------------------------------------------- concept questions
REGISTRY.quiz(
    "quiz_1", "B",
    "float16 has a 5-bit exponent (smallest subnormal about 6e-8, largest 65504), so small gradients underflow to zero; the "
    "GradScaler multiplies the loss before backward and divides the gradients before the step. bfloat16 has float32's 8-bit "
    "exponent, so it needs no scaling.",
)
REGISTRY.quiz(
    "quiz_2", "C",
    "With a short budget on a small dataset the CNN wins: locality and translation equivariance are built into convolutions, "
    "while a ViT has to learn them from data (the practicum measures this).",
)
REGISTRY.quiz(
    "quiz_3", "A",
    "Patch 2 gives (32/2)^2 = 256 tokens instead of 64: 4x the tokens, and the N x N score matrix costs O(N^2 d), so about 16x.",
)
REGISTRY.quiz(
    "quiz_4", "D",
    "Self-attention and the MLP treat the tokens as a set: permute the patch tokens and the class token's output is "
    "the same. Only the position embedding says which patch was on the left, so without it the tens and the units digit "
    "are indistinguishable (the hidden check of train_vit measures this: about half the accuracy).",
)
