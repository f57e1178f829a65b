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

import math

import numpy as np
import torch
import torch.nn.functional as F

from autograder.checks.day7.judge_helpers import (
    ACCURACY_FLOOR,
    TIME_LIMIT_S,
    as_stored,
    check_stats,
    contract_grads,
    cumsum,
    heldout_accuracy,
    judge_drop_path,
    lr_hint,
    number_field,
    reference_accuracy,
    reference_lr,
    reference_train,
    reference_vit,
    vit_hint,
)
from autograder.checks.day7.probes import (
    EVAL_CASES,
    HELDOUT_FILE,  # noqa: F401 - tests/test_day7_data.py reads it here
    TRAIN_CASES,
    TRAIN_FILE,
    accuracy_cases,
    eval_batches,
    lr_cases,
    make_model,
    probe_accuracy,
    probe_evaluate,
    probe_lr,
    probe_train,
)
from autograder.checks.day7.vit_probes import (
    VIT_BAD_ARGS,
    VIT_CASES,
    digit_pairs,  # noqa: F401 - tests/test_day7_data.py reads it here
    probe_small_vit,
    probe_train_vit,
    vit_images,
)
from autograder.harness import Judge, Registry, array, describe, is_error, is_tensor, randn

REGISTRY = Registry("day7_practicum")
SANDBOX_FILES = (TRAIN_FILE,)
SANDBOX_HIDE = ("sklearn/datasets/data/digits.csv.gz",)


# ---------------------------------------------------------------------------- warmup_cosine_lr

@REGISTRY.exercise("warmup_cosine_lr", probe_lr)
def judge_lr(data: dict, j: Judge) -> None:
    if j.results(data, "values", len(lr_cases()), "warmup_cosine_lr") is None:
        return
    wrong = 0
    for (what, args), got in zip(lr_cases(), data["values"], strict=True):
        what = f"warmup_cosine_lr{args} ({what})"
        if not j.expect_ok(got, what):
            return
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            j.fail(f"{what} should return a Python float, got {describe(got)}")
            return
        expected = reference_lr(*args)
        if not math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-12):
            wrong += 1
            if wrong <= 3:  # a few examples are enough; the rest repeat the same mistake
                j.fail(f"{what} is {got:.8g}, expected {expected:.8g}. Hint: {lr_hint(args, got)}")
    if wrong > 3:
        j.fail(f"... and {wrong - 3} more steps give a wrong learning rate")
    j.expect_number(data["default_min"], reference_lr(50, 100, 10, 1.0, 0.0),
                    "warmup_cosine_lr(50, 100, 10, 1.0) (min_lr defaults to 0)", rel=1e-6)


# ---------------------------------------------------------------------------- accuracy

@REGISTRY.exercise("accuracy", probe_accuracy)
def judge_accuracy(data: dict, j: Judge) -> None:
    if j.results(data, "cases", len(accuracy_cases()), "accuracy") is None:
        return
    for (what, logits, targets, topk), case in zip(accuracy_cases(), data["cases"], strict=True):
        what = f"accuracy on {what}"
        out = case["out"]
        if not j.expect_ok(out, what):
            continue
        expected = reference_accuracy(logits, targets, topk or (1,))
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


# ---------------------------------------------------------------------------- train_one_epoch

@REGISTRY.exercise("train_one_epoch", probe_train)
def judge_train(data: dict, j: Judge) -> None:
    if j.results(data, "cases", len(TRAIN_CASES), "train_one_epoch") is None:
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
        ref, ref_loss, ref_acc = reference_train(kind, seed, sizes, opt_name, use_sched, amp, start_eval, generator)
        stats = check_stats(j, case["result"], what)
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

@REGISTRY.exercise("evaluate", probe_evaluate)
def judge_evaluate(data: dict, j: Judge) -> None:
    if j.results(data, "cases", len(EVAL_CASES), "evaluate") is None:
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
        model = make_model(kind, seed).to(dtype).eval()
        ref_state = model.state_dict()
        if not isinstance(case["state"], dict) or set(case["state"]) != set(ref_state):
            j.fail(f"{what}: the model's state_dict keys changed")
            continue
        for key, value in ref_state.items():
            got, want = case["state"][key], as_stored(value)
            if not is_tensor(got) or tuple(got["shape"]) != want.shape or not np.array_equal(array(got), want):
                j.fail(f"{what}: evaluation changed the model ({key}); in eval mode batch norm does not update "
                       "its running statistics, and evaluation never steps an optimizer")
                break
        x = torch.cat([b[0] for b in eval_batches(seed + 1, sizes, dtype)])
        y = torch.cat([b[1] for b in eval_batches(seed + 1, sizes, dtype)])
        with torch.no_grad():
            logits = model(x)
        ref_loss = F.cross_entropy(logits, y).item()
        ref_acc = (logits.argmax(1) == y).double().mean().item()
        stats = check_stats(j, case["result"], what)
        if stats is None:
            continue
        loss, acc = float(stats["loss"]), float(stats["acc"])
        if not math.isclose(loss, ref_loss, rel_tol=1e-5, abs_tol=1e-6):
            means = [F.cross_entropy(logits[s - n: s], y[s - n: s]).item() for s, n in zip(cumsum(sizes), sizes, strict=True)]
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


# ---------------------------------------------------------------------------- SmallViT

@REGISTRY.exercise("SmallViT", probe_small_vit)
def judge_small_vit(data: dict, j: Judge) -> None:
    if j.results(data, "cases", len(VIT_CASES), "SmallViT") is None:
        return
    for (what, kwargs, batch, seed, dtype), case in zip(VIT_CASES, data["cases"], strict=True):
        what = f"SmallViT with {what}"
        if not j.expect_ok(case, what):
            continue
        model, shapes = reference_vit(kwargs, seed, dtype)
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
        x = vit_images(seed, kwargs, batch, dtype)
        with torch.no_grad():
            expected = model(x)
        tol = dict(atol=1e-10, rtol=1e-8) if dtype == torch.float64 else dict(atol=2e-5, rtol=2e-4)
        dtype_name = str(dtype).replace("torch.", "")
        if j.expect_tensor(case["eval"], f"{what}: the logits", shape=tuple(expected.shape), dtype=dtype_name):
            if not j.expect_close(case["eval"], expected, f"{what}: the logits in eval mode", **tol):
                j.fail(f"{what}: Hint: {vit_hint(kwargs, seed, dtype, x, array(case['eval']).astype(np.float64))}")
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
            for name, ref_grad in contract_grads(model, shapes).items():
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
    judge_drop_path(data.get("drop"), j)


# ---------------------------------------------------------------------------- train_vit

@REGISTRY.exercise("train_vit", probe_train_vit)
def judge_train_vit(data: dict, j: Judge) -> None:
    held, train, failures = heldout_accuracy(data)
    for message in failures:
        j.fail(message)
    if held is None:
        return
    cpu = data.get("cpu_seconds")  # CPU time, not wall time: a busy grading machine must not fail a run
    if not number_field(cpu, float) or cpu > TIME_LIMIT_S:
        took = f"{cpu:.0f}" if number_field(cpu, float) else describe(cpu)
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
