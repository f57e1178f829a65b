"""Hidden checks for day2_channel_attention: SEBlock, eca_kernel_size, ECABlock, SEBasicBlock.

The judge recomputes every reference functionally (``autograder.reference.day2_channel_attention``)
from the same seeded weights the probe loads into the student's module. Running a module on seeded
cases is :mod:`autograder.probes`; comparing its outputs and gradients, :mod:`autograder.comparisons`.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from autograder.checks.day2.judge_helpers import BLOCK_HINT, block_wrong, eca_wrong, out_shape, se_wrong
from autograder.checks.day2.probes import (
    BLOCK_CONFIGS,
    ECA_CONFIGS,
    ECA_K_CASES,
    LOCALITY,
    SE_CONFIGS,
    SHUT,
    block_inputs,
    block_shapes,
    block_state,
    eca_shapes,
    locality_pair,
    probe_eca,
    probe_eca_kernel_size,
    probe_se,
    probe_se_basic_block,
    se_shapes,
    shut_state,
)
from autograder.comparisons import (
    expect_count,
    field,
    input_label,
    judge_grads,
    judge_outputs,
    judge_structure,
    reference_grads,
    too_many,
)
from autograder.harness import Judge, Registry, array, describe, is_tensor, randn
from autograder.probes import make_inputs, same_mean_pair, seeded_state
from autograder.reference import day2_channel_attention as ref

REGISTRY = Registry("day2_channel_attention")


# ---------------------------------------------------------------------------- SEBlock

@REGISTRY.exercise("SEBlock", probe_se)
def judge_se(data: dict, j: Judge) -> None:
    configs = field(j, data, "configs", "SEBlock")
    if configs is None or not expect_count(j, configs, len(SE_CONFIGS) + 2, "SEBlock's checks"):
        return
    for n, (c, r, specs) in enumerate(SE_CONFIGS):
        if too_many(j, "SEBlock"):
            break
        what = f"SEBlock({c}, reduction={r})"
        res = configs[n]
        if not j.expect_ok(res, what):
            continue
        shapes = se_shapes(c, r)
        if not judge_structure(
            j,
            res,
            shapes,
            what,
            hint="fc1 = nn.Linear(C, hidden), fc2 = nn.Linear(hidden, C), hidden = max(1, C // reduction), no other parameters",
        ):
            continue
        state = seeded_state(shapes, 20 + n)
        inputs = make_inputs(specs, 200 + 10 * n)
        judge_outputs(
            j,
            res,
            inputs,
            reference=lambda x: ref.se(x, {k: v.to(x.dtype) for k, v in state.items()}),
            what=lambda x: f"{what} on {input_label(x)}",
            wrong=lambda x: se_wrong(x, {k: v.to(x.dtype) for k, v in state.items()}),
            returned_hint="return x rescaled by the gate, of the input's shape",
        )
        for x, case in zip(inputs, res["cases"], strict=True):
            out = case.get("out") if isinstance(case, dict) else None
            if is_tensor(out) and tuple(out["shape"]) == tuple(x.shape):
                gate = array(out) / x.numpy()
                j.expect(
                    bool(np.allclose(gate, gate[:, :, :1, :1], atol=1e-5)),
                    f"{what}: the factor applied to a channel must be the same at every position (one gate per channel, "
                    "reshaped to (B, C, 1, 1))",
                )
                j.expect(bool(((gate >= 0) & (gate <= 1 + 1e-6)).all()), f"{what}: every gate must lie between 0 and 1 (sigmoid)")
                break
        judge_grads(j, res.get("grads"), reference_grads(ref.se, state, inputs[0], 300 + n), what)
    default = configs[len(SE_CONFIGS)]
    if j.expect_ok(default, "SEBlock(64) with the default reduction"):
        keys = default.get("keys") if isinstance(default, dict) else None
        got = keys.get("fc1.weight") if isinstance(keys, dict) else None
        j.expect(
            got == [4, 64],
            f"SEBlock(64) should use reduction=16 by default (fc1.weight of shape (4, 64)), got {describe(got)}",
        )
    pair = configs[len(SE_CONFIGS) + 1]
    what = "SEBlock(16, reduction=4) on two inputs with the same channel means"
    if j.expect_ok(pair, what) and isinstance(pair, dict):
        shape = tuple(same_mean_pair(400)[0].shape)
        if j.expect_tensor(pair.get("a"), what, shape=shape, dtype="float32") and j.expect_tensor(
            pair.get("b"), what, shape=shape, dtype="float32"
        ):
            j.expect(
                bool(np.allclose(array(pair["a"]), array(pair["b"]), atol=1e-5)),
                "SEBlock: two inputs with the same spatial mean per channel (but different maxima) must get the same gates; "
                "the squeeze is global AVERAGE pooling",
            )


# ---------------------------------------------------------------------------- eca_kernel_size

@REGISTRY.exercise("eca_kernel_size", probe_eca_kernel_size)
def judge_eca_kernel_size(data: dict, j: Judge) -> None:
    values = field(j, data, "values", "eca_kernel_size")
    if values is None or not expect_count(j, values, len(ECA_K_CASES), "eca_kernel_size's cases"):
        return
    for (c, args, kw), got in zip(ECA_K_CASES, values, strict=True):
        shown = ", ".join([str(c)] + [str(a) for a in args] + [f"{k}={v}" for k, v in kw.items()])
        what = f"eca_kernel_size({shown})"
        if not j.expect_ok(got, what):
            continue
        if isinstance(got, bool) or not isinstance(got, int):
            j.fail(f"{what} should return a Python int, got {describe(got)}")
            continue
        params = {"gamma": 2, "b": 1} | dict(zip(("gamma", "b")[: len(args)], args, strict=True)) | kw
        want = ref.eca_kernel_size(c, **params)
        t = int(abs((math.log2(c) + params["b"]) / params["gamma"]))
        j.expect(
            got == want,
            f"{what} = {got}, expected {want} (t = int(|(log2 {c} + b) / gamma|) = {t} with gamma = {params['gamma']}, "
            f"b = {params['b']}: {'odd, so k = t' if t % 2 else 'even, so k = t + 1'})",
        )


# ---------------------------------------------------------------------------- ECABlock

@REGISTRY.exercise("ECABlock", probe_eca)
def judge_eca(data: dict, j: Judge) -> None:
    configs = field(j, data, "configs", "ECABlock")
    if configs is None or not expect_count(j, configs, len(ECA_CONFIGS) + 1, "ECABlock's checks"):
        return
    for n, ((c, k_arg, k, specs), res) in enumerate(zip(ECA_CONFIGS, configs[: len(ECA_CONFIGS)], strict=True)):
        if too_many(j, "ECABlock"):
            break
        what = f"ECABlock({c})" if k_arg is None else f"ECABlock({c}, k_size={k_arg})"
        if not j.expect_ok(res, what):
            continue
        shapes = eca_shapes(k)
        if not judge_structure(
            j,
            res,
            shapes,
            what,
            hint=f"conv = nn.Conv1d(1, 1, k, padding=k // 2, bias=False) with k = k_size or eca_kernel_size(channels) = {k}",
        ):
            continue
        conv = res.get("conv")
        if j.expect_ok(conv, f"{what}.conv") and isinstance(conv, dict):
            j.expect(conv.get("type") == "Conv1d", f"{what}.conv should be an nn.Conv1d, got {conv.get('type')}")
            j.expect(
                conv.get("padding") == [k // 2], f"{what}.conv should have padding={k // 2} (k // 2), got {conv.get('padding')}"
            )
            j.expect(conv.get("bias") is False, f"{what}.conv must have no bias (bias=False)")
        w = seeded_state(shapes, 60 + n)["conv.weight"]
        inputs = make_inputs(specs, 500 + 10 * n)
        judge_outputs(
            j,
            res,
            inputs,
            reference=lambda x: ref.eca(x, w.to(x.dtype)),
            what=lambda x: f"{what} on {input_label(x)}",
            wrong=lambda x: eca_wrong(x, w.to(x.dtype)),
            returned_hint="return x rescaled by the gate, of the input's shape",
        )
        expected = reference_grads(lambda x, p: ref.eca(x, p["conv.weight"]), {"conv.weight": w}, inputs[0], 600 + n)
        judge_grads(j, res.get("grads"), expected, what)
    pair = configs[len(ECA_CONFIGS)]
    c, k, changed = LOCALITY
    what = f"ECABlock({c}, k_size={k}) when only channel {changed}'s mean changes"
    if j.expect_ok(pair, what) and isinstance(pair, dict):
        shape = tuple(locality_pair()[0].shape)
        if j.expect_tensor(pair.get("a"), what, shape=shape, dtype="float32") and j.expect_tensor(
            pair.get("b"), what, shape=shape, dtype="float32"
        ):
            diff = np.abs(array(pair["a"]) - array(pair["b"])).max(axis=(0, 2, 3))
            moved = sorted(int(i) for i in np.flatnonzero(diff > 1e-6))
            want = list(range(changed - k // 2, changed + k // 2 + 1))
            j.expect(
                moved == want,
                f"{what}: the gates of channels {moved} changed, expected exactly channels {want} (the k = {k} channels "
                f"centred on {changed}); the 1-D convolution must run along the channel axis of the pooled vector",
            )


# ---------------------------------------------------------------------------- SEBasicBlock

@REGISTRY.exercise("SEBasicBlock", probe_se_basic_block)
def judge_se_basic_block(data: dict, j: Judge) -> None:
    configs = field(j, data, "configs", "SEBasicBlock")
    if configs is None or not expect_count(j, configs, len(BLOCK_CONFIGS) + 2, "SEBasicBlock's checks"):
        return
    failures = len(j.failures)
    for n, (c_in, c_out, stride, r, _, _) in enumerate(BLOCK_CONFIGS):
        if too_many(j, "SEBasicBlock"):
            break
        what = f"SEBasicBlock({c_in}, {c_out}, stride={stride}, reduction={r})"
        res = configs[n]
        if not j.expect_ok(res, what):
            continue
        shapes = block_shapes(c_in, c_out, stride, r)
        if not judge_structure(j, res, shapes, what, hint=BLOCK_HINT):
            continue
        state = block_state(shapes, 80 + n)
        inputs, train_x = block_inputs(n)

        def cast(x: torch.Tensor) -> dict[str, torch.Tensor]:
            return {k: v.to(x.dtype) if v.is_floating_point() else v for k, v in state.items()}

        judge_outputs(
            j,
            res,
            inputs,
            reference=lambda x: ref.se_basic_block_torchvision(x, cast(x), stride),
            what=lambda x: f"{what} in eval mode on {input_label(x)}",
            wrong=lambda x: block_wrong(x, cast(x), stride),
            out_shape=lambda x: out_shape(x, c_out, stride),
            returned_hint="conv1 carries the stride; the output has out_channels channels",
        )
        train = {"cases": [res.get("train")]}
        judge_outputs(
            j,
            train,
            [train_x],
            reference=lambda x: ref.se_basic_block_torchvision(x, cast(x), stride, train=True),
            what=lambda x: f"{what} in training mode (batch statistics) on {input_label(x)}",
            wrong=lambda x: block_wrong(x, cast(x), stride, train=True),
            out_shape=lambda x: out_shape(x, c_out, stride),
        )
        params = {k: v for k, v in state.items() if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))}
        buffers = {k: v for k, v in state.items() if k not in params}
        expected = reference_grads(lambda x, p: ref.se_basic_block(x, p | buffers, stride), params, inputs[0], 900 + n)
        judge_grads(j, res.get("grads"), expected, f"{what} (eval mode)")
    if len(j.failures) > failures:
        j.fail("SEBasicBlock uses your SEBlock as its se submodule: if SEBlock fails its own checks, fix it first")

    defaults = configs[len(BLOCK_CONFIGS)]
    if j.expect_ok(defaults, "SEBasicBlock(32, 32) and SEBasicBlock(32, 64) with default stride and reduction") and isinstance(
        defaults, dict
    ):
        same, wider = defaults.get("same"), defaults.get("wider")
        want_same = {k: list(v) for k, v in block_shapes(32, 32, 1, 16).items()}
        want_wider = {k: list(v) for k, v in block_shapes(32, 64, 1, 16).items()}
        j.expect(
            same == want_same,
            "SEBasicBlock(32, 32) should default to stride=1 and reduction=16 (se.fc1.weight (2, 32)) and have no downsample; "
            f"its state_dict has {describe(sorted(same) if isinstance(same, dict) else same)}",
        )
        j.expect(
            wider == want_wider,
            "SEBasicBlock(32, 64) changes the channel count, so it needs downsample = Sequential(Conv2d(32, 64, 1, bias=False), "
            "BatchNorm2d(64)) even at stride 1; and reduction=16 by default (se.fc1.weight (4, 64))",
        )
        for key, c_out in (("same_out", 32), ("wider_out", 64)):
            label = f"SEBasicBlock(32, {c_out}) on a (1, 32, 4, 6) input"
            j.expect_tensor(defaults.get(key), label, shape=(1, c_out, 4, 6), dtype="float32")

    shut = configs[len(BLOCK_CONFIGS) + 1]
    if j.expect_ok(shut, "SEBasicBlock with every SE gate shut") and expect_count(j, shut, len(SHUT), "shut-gate cases"):
        for n, ((c_in, c_out, stride, _, shape), got) in enumerate(zip(SHUT, shut, strict=True)):
            state = shut_state(n)
            x = randn(980 + n, *shape)
            if "downsample.0.weight" in state:
                w = state["downsample.0.weight"]
                mean, var = state["downsample.1.running_mean"], state["downsample.1.running_var"]
                shortcut = torch.nn.functional.conv2d(x, w, stride=stride)
                shortcut = (shortcut - mean[:, None, None]) / torch.sqrt(var[:, None, None] + 1e-5)
                shortcut = shortcut * state["downsample.1.weight"][:, None, None] + state["downsample.1.bias"][:, None, None]
                expected, part = torch.relu(shortcut), "relu(downsample(x))"
            else:
                expected, part = torch.relu(x), "relu(x)"
            what = f"SEBasicBlock({c_in}, {c_out}, stride={stride}) in eval mode with every SE gate shut (fc2.bias = -40)"
            if not j.expect_tensor(got, what, shape=tuple(expected.shape), dtype="float32"):
                continue
            j.expect_close(
                got,
                expected,
                what,
                atol=1e-5,
                hint=f"with the gates at ~0 the residual branch is silenced and the block must return {part}: the gate "
                "scales the branch only, never the shortcut or the sum",
            )


# ---------------------------------------------------------------------------- concept questions

REGISTRY.quiz(
    "quiz_1",
    "D",
    "Count both layers with their biases: fc1 = Linear(C, C/r) has C*C/r weights and C/r biases, fc2 = Linear(C/r, C) "
    "has C/r*C weights and C biases. Put in C = 256 and r = 16 and add the four terms.",
)
REGISTRY.quiz(
    "quiz_2",
    "C",
    "ECA's excitation is a 1-D convolution of width k that slides along the vector of channel means (zero-padded at "
    "both ends). Which entries of that vector fall under the window centred on channel c? Nothing else enters the gate.",
)
REGISTRY.quiz(
    "quiz_3",
    "A",
    "A softmax over C entries always returns numbers that sum to 1, whatever the logits; with equal logits they are all "
    "equal. Work out each gate for C = 256 and what multiplying every channel by it does. A sigmoid has no such budget.",
)
REGISTRY.quiz(
    "quiz_4",
    "B",
    "In SE-ResNet the gate multiplies the residual branch F(x) only, before the addition: out = relu(g * F(x) + x). "
    "Set g to 0 in that formula.",
)
