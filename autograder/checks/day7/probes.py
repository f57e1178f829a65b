"""Probe side of day7_practicum: the cases each probe runs and the probes themselves.

The sandbox gets what the probes reach of this module (``autograder/sandbox/strip.py``); the judges
rebuild the same cases from here, so a case is written once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from autograder.harness import attempt, guarded, plain, randn, seeded

# Files under autograder/data the sandbox copy includes (the probe trains on them), and package data
# the sandbox hides while this day is graded (the held-out digits must not be readable there).
TRAIN_FILE, HELDOUT_FILE = "day7_digitpairs_train.npz", "day7_digitpairs_heldout.npz"


# ---------------------------------------------------------------------------- warmup_cosine_lr
def lr_cases() -> list[tuple[str, tuple]]:
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


def probe_lr(fn: Any) -> dict:
    out = []
    for _, (step, total, warmup, base, min_lr) in lr_cases():
        out.append(attempt(fn, step, total, warmup, base, min_lr))
    default_min = attempt(fn, 50, 100, 10, 1.0)  # min_lr must default to 0
    return {"values": out, "default_min": default_min}


# ---------------------------------------------------------------------------- accuracy
def accuracy_cases() -> list[tuple[str, torch.Tensor, torch.Tensor, tuple[int, ...] | None]]:
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


def probe_accuracy(fn: Any) -> dict:
    results = []
    for _, logits, targets, topk in accuracy_cases():
        before = logits.clone()
        out = attempt(fn, logits, targets) if topk is None else attempt(fn, logits, targets, topk=topk)
        results.append({"out": out, "modified": not torch.equal(before, logits)})
    return {"cases": results}


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


def make_model(kind: str, seed: int) -> nn.Sequential:
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


def train_setup(kind: str, seed: int, sizes: tuple[int, ...], opt_name: str, use_sched: bool, start_eval: bool):
    model = make_model(kind, seed)
    model.train(not start_eval)
    opt = _optimizer(opt_name, model.parameters())
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lambda) if use_sched else None
    return model, opt, sched, _batches(seed + 1, sizes)


def probe_train(fn: Any) -> dict:
    cases = []
    for _, kind, seed, sizes, opt_name, use_sched, amp, start_eval, generator in TRAIN_CASES:
        def run() -> dict:
            model, opt, sched, batches = train_setup(kind, seed, sizes, opt_name, use_sched, start_eval)
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


# ---------------------------------------------------------------------------- evaluate
# (description, model kind, seed, batch sizes, a generator loader, dtype)
EVAL_CASES: list[tuple[str, str, int, tuple[int, ...], bool, torch.dtype]] = [
    ("a dropout + batch-norm model given in train mode, batches of 8, 8 and 4", "dropout", 500, (8, 8, 4), False, torch.float32),
    ("a batch-norm model, batches of 32 and 1", "bn", 600, (32, 1), False, torch.float32),
    ("a plain MLP, one batch of 50", "plain", 700, (50,), False, torch.float32),
    ("a float64 dropout model and inputs, a generator of [x, y] lists of 7 and 5", "dropout", 800, (7, 5), True, torch.float64),
]


def eval_batches(seed: int, sizes: tuple[int, ...], dtype: torch.dtype) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(x.to(dtype), y) for x, y in _batches(seed, sizes)]


def probe_evaluate(fn: Any) -> dict:
    cases = []
    for _, kind, seed, sizes, generator, dtype in EVAL_CASES:
        def run() -> dict:
            model = make_model(kind, seed).to(dtype).train()
            loader = _loader(eval_batches(seed + 1, sizes, dtype), generator)
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
