"""Hidden checks for day7_practicum: warmup_cosine_lr, accuracy, train_one_epoch, evaluate.

The probes build small seeded models and batch lists (unequal batch sizes, batch norm, dropout, a
per-step LR schedule) and run the student's function on them; they return numbers, parameter
tensors and what an instrumented layer saw during the forward passes (train/eval mode, autocast
dtype, whether gradients were enabled). The judges rebuild the same models from the same seeds
and run a reference loop written here.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from autograder.harness import Judge, Registry, array, attempt, describe, guarded, plain, randn, seeded

REGISTRY = Registry("day7_practicum")


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
    cases += [(f"step {s} of a 60-step run with 7 warmup steps and min_lr 1e-4", (s, 60, 7, 2e-3, 1e-4)) for s in range(60)]
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
    return {k: plain(v) for k, v in model.state_dict().items()}


# ---------------------------------------------------------------------------- train_one_epoch
# (description, model kind, seed, batch sizes, optimizer, use a scheduler, amp, start in eval mode)
TRAIN_CASES: list[tuple[str, str, int, tuple[int, ...], str, bool, bool, bool]] = [
    ("a batch-norm model given in eval mode, SGD with momentum and a per-step LambdaLR, batches of 8, 8, 8 and 5",
     "bn", 100, (8, 8, 8, 5), "sgd", True, False, True),
    ("a plain MLP, AdamW, no scheduler, batches of 10 and 3", "plain", 200, (10, 3), "adamw", False, False, False),
    ("a batch-norm model, Adam with a per-step LambdaLR, batches of 16, 4 and 9",
     "bn", 300, (16, 4, 9), "adam", True, False, False),
    ("amp=True on the CPU (bfloat16 autocast), SGD, batches of 12 and 7", "plain", 400, (12, 7), "sgd", False, True, False),
]


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
    for _, kind, seed, sizes, opt_name, use_sched, amp, start_eval in TRAIN_CASES:
        def run() -> dict:
            model, opt, sched, batches = _train_setup(kind, seed, sizes, opt_name, use_sched, start_eval)
            loader = _Loader(batches)
            result = attempt(fn, model, loader, opt, scheduler=sched, device="cpu", amp=amp)
            return {
                "result": result,
                "state": _state(model),
                "param_dtypes": [str(p.dtype).replace("torch.", "") for p in model.parameters()],
                "training_after": model.training,
                "log": list(_spy(model).log),
                "passes": loader.passes,
                "sched_steps": sched.last_epoch if sched is not None else None,
                "opt_steps": int(opt.state_dict()["state"].get(0, {}).get("step", torch.tensor(-1)).item())
                if opt_name != "sgd" else None,
            }

        cases.append(guarded(run))
    return {"cases": cases}


def _reference_train(kind: str, seed: int, sizes: tuple[int, ...], opt_name: str, use_sched: bool, amp: bool, start_eval: bool):
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
    for case_spec, case in zip(TRAIN_CASES, data["cases"], strict=True):
        what, kind, seed, sizes, opt_name, use_sched, amp, start_eval = case_spec
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
        if case["passes"] != 1:
            j.fail(f"{what}: the loader was iterated {case['passes']} times; one epoch is one pass")
        if use_sched and case["sched_steps"] != len(sizes):
            j.fail(f"{what}: scheduler.step() ran {case['sched_steps']} times for {len(sizes)} batches; "
                   "call it once after every optimizer.step()")
        if case["opt_steps"] is not None and case["opt_steps"] != len(sizes):
            j.fail(f"{what}: optimizer.step() ran {case['opt_steps']} times for {len(sizes)} batches")
        ref, ref_loss, ref_acc = _reference_train(kind, seed, sizes, opt_name, use_sched, amp, start_eval)
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
        if set(state) != set(ref_state):
            j.fail(f"{what}: the model's state_dict keys changed")
            continue
        ptol = 5e-3 if amp else 1e-5
        for key, value in ref_state.items():
            if key.endswith("num_batches_tracked"):
                continue
            got = array(state[key]).astype("float64")
            ref_value = value.double().numpy()
            if got.shape != ref_value.shape or not (abs(got - ref_value) <= ptol + ptol * abs(ref_value)).all():
                j.fail(f"{what}: after the epoch, {key} differs from a reference epoch (cross-entropy with mean reduction "
                       "per batch, optimizer.zero_grad() before each backward, optimizer.step() and then scheduler.step() "
                       "per batch, train mode)")
                break


# ---------------------------------------------------------------------------- evaluate
# (description, model kind, seed, batch sizes)
EVAL_CASES: list[tuple[str, str, int, tuple[int, ...]]] = [
    ("a dropout + batch-norm model given in train mode, batches of 8, 8 and 4", "dropout", 500, (8, 8, 4)),
    ("a batch-norm model, batches of 32 and 1", "bn", 600, (32, 1)),
    ("a plain MLP, one batch of 50", "plain", 700, (50,)),
]


def probe_evaluate(fn: Any) -> dict:
    cases = []
    for _, kind, seed, sizes in EVAL_CASES:
        def run() -> dict:
            model = _model(kind, seed).train()
            loader = _Loader(_batches(seed + 1, sizes))
            with seeded(seed + 2):  # if dropout stays on, at least the result is reproducible
                result = attempt(fn, model, loader, device="cpu")
            return {
                "result": result,
                "state": _state(model),
                "grads": [p.grad is not None for p in model.parameters()],
                "training_after": model.training,
                "log": list(_spy(model).log),
                "passes": loader.passes,
            }

        cases.append(guarded(run))
    return {"cases": cases}


@REGISTRY.exercise("evaluate", probe_evaluate)
def judge_evaluate(data: dict, j: Judge) -> None:
    for (what, kind, seed, sizes), case in zip(EVAL_CASES, data["cases"], strict=True):
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
        if case["passes"] != 1:
            j.fail(f"{what}: the loader was iterated {case['passes']} times; evaluate makes one pass")
        model = _model(kind, seed).eval()
        ref_state = model.state_dict()
        for key, value in ref_state.items():
            if key in case["state"] and not (array(case["state"][key]) == value.numpy()).all():
                j.fail(f"{what}: evaluation changed the model ({key}); in eval mode batch norm does not update "
                       "its running statistics")
                break
        x = torch.cat([b[0] for b in _batches(seed + 1, sizes)])
        y = torch.cat([b[1] for b in _batches(seed + 1, sizes)])
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
