"""Hidden checks for day3_spatial_cbam: ChannelAttention, SpatialAttention, CBAM, FixedNet, FixedDigitNet.

References are functional (``autograder.reference.day3_spatial_cbam``), evaluated by the judges with
the same seeded weights the probes load into the student's modules. FixedNet's architecture is free:
its probe records, with hooks, what goes into and comes out of its CBAM (and what the next layer
receives), and the judge recomputes that CBAM with the reference. FixedDigitNet (the second bug
hunt, docs/exercises/day3_spatial_cbam.md) has a fixed forward pass and is compared with the
reference outright.

Running a module on seeded cases is :mod:`autograder.probes`; comparing its outputs and gradients,
:mod:`autograder.comparisons` (shared with day 2).
"""

from __future__ import annotations

import numpy as np
import torch

from autograder.checks.day3.judge_helpers import (
    as_float64,
    ca_wrong,
    cbam_record_params,
    cbam_wrong,
    digit_wrong,
    looks_like_probabilities,
    sa_wrong,
)
from autograder.checks.day3.probes import (
    CA_CONFIGS,
    CBAM_CONFIGS,
    DIGIT_CONFIGS,
    FIXEDNET_CASES,
    MODES,
    SA_CONFIGS,
    ca_shapes,
    cbam_shapes,
    digit_shapes,
    probe_ca,
    probe_cbam,
    probe_digitnet,
    probe_fixednet,
    probe_sa,
)
from autograder.comparisons import judge_grads, judge_outputs, judge_structure, reference_grads
from autograder.harness import Judge, Registry, array, close, is_tensor
from autograder.probes import make_inputs, positive_input, same_mean_pair, seeded_state
from autograder.reference import day3_spatial_cbam as ref

REGISTRY = Registry("day3_spatial_cbam")


# ---------------------------------------------------------------------------- ChannelAttention

@REGISTRY.exercise("ChannelAttention", probe_ca)
def judge_ca(data: dict, j: Judge) -> None:
    for n, ((c, r, specs), res) in enumerate(zip(CA_CONFIGS, data["configs"], strict=True)):
        what = f"ChannelAttention({c}, reduction={r})"
        if not j.expect_ok(res, what):
            continue
        shapes = ca_shapes(c, r)
        if not judge_structure(
            j,
            res,
            shapes,
            what,
            hint="one shared mlp = nn.Sequential(nn.Linear(C, hidden), nn.ReLU(), nn.Linear(hidden, C)), "
            "hidden = max(1, C // reduction); the same MLP serves both pooled paths, so no second set of weights",
        ):
            continue
        state = seeded_state(shapes, 120 + n)
        inputs = make_inputs(specs, 210 + 10 * n)
        judge_outputs(
            j,
            res,
            inputs,
            reference=lambda x: ref.channel_gate(x, {k: v.to(x.dtype) for k, v in state.items()}),
            what=lambda x: f"{what} on a {x.dtype} input of shape {tuple(x.shape)}".replace("torch.", ""),
            wrong=lambda x: ca_wrong(x, {k: v.to(x.dtype) for k, v in state.items()}),
            out_shape=lambda x: (x.shape[0], x.shape[1], 1, 1),
            returned_hint="ChannelAttention returns the gate (B, C, 1, 1), not x * gate",
        )
        judge_grads(j, res.get("grads"), reference_grads(ref.channel_gate, state, inputs[0], 310 + n), what)
    if j.expect_ok(data["default"], "ChannelAttention(64) with the default reduction"):
        j.expect(
            tuple(data["default"].get("mlp.0.weight", ())) == (4, 64),
            "ChannelAttention(64) should use reduction=16 by default (mlp.0.weight (4, 64)), "
            f"got {data['default'].get('mlp.0.weight')}",
        )
    pair = data["pair"]
    if j.expect_ok(pair, "ChannelAttention on two inputs with the same channel means"):
        a, b = same_mean_pair(800)
        state = seeded_state(ca_shapes(16, 4), 141)
        what = "ChannelAttention(16, reduction=4) on two inputs with equal channel means but different maxima"
        j.expect_close(pair["a"], ref.channel_gate(a, state), f"{what} (first input)")
        j.expect_close(
            pair["b"],
            ref.channel_gate(b, state),
            f"{what} (second input)",
            hint="the gate must change with the channel maxima: both pooled paths go through the MLP",
        )


# ---------------------------------------------------------------------------- SpatialAttention

@REGISTRY.exercise("SpatialAttention", probe_sa)
def judge_sa(data: dict, j: Judge) -> None:
    for n, ((k_arg, k, specs), res) in enumerate(zip(SA_CONFIGS, data["configs"], strict=True)):
        what = "SpatialAttention()" if k_arg is None else f"SpatialAttention(kernel_size={k_arg})"
        if not j.expect_ok(res, what):
            continue
        shapes = {"conv.weight": (1, 2, k, k)}
        if not judge_structure(
            j, res, shapes, what, hint=f"conv = nn.Conv2d(2, 1, {k}, padding={k // 2}, bias=False); the default kernel_size is 7"
        ):
            continue
        conv = res.get("conv")
        if j.expect_ok(conv, f"{what}.conv"):
            j.expect(conv["type"] == "Conv2d", f"{what}.conv should be an nn.Conv2d, got {conv['type']}")
            j.expect(
                conv["padding"] == [k // 2, k // 2],
                f"{what}.conv should have padding={k // 2} (kernel_size // 2, keeps H and W), got {conv['padding']}",
            )
        w = seeded_state(shapes, 160 + n)["conv.weight"]
        inputs = make_inputs(specs, 230 + 10 * n)
        judge_outputs(
            j,
            res,
            inputs,
            reference=lambda x: ref.spatial_gate(x, w.to(x.dtype)),
            what=lambda x: f"{what} on a {x.dtype} input of shape {tuple(x.shape)}".replace("torch.", ""),
            wrong=lambda x: sa_wrong(x, w.to(x.dtype)),
            out_shape=lambda x: (x.shape[0], 1, x.shape[2], x.shape[3]),
            returned_hint="SpatialAttention returns the gate (B, 1, H, W), not x * gate; pool across channels (dim=1)",
        )
        expected = reference_grads(lambda x, p: ref.spatial_gate(x, p["conv.weight"]), {"conv.weight": w}, inputs[0], 330 + n)
        judge_grads(j, res.get("grads"), expected, what)


# ---------------------------------------------------------------------------- CBAM

@REGISTRY.exercise("CBAM", probe_cbam)
def judge_cbam(data: dict, j: Judge) -> None:
    mods = data["modules"]
    if j.expect_ok(mods, "CBAM(16)"):
        j.expect(
            mods["channel_attention"] == "ChannelAttention",
            f"CBAM.channel_attention should be a ChannelAttention, got {mods['channel_attention']}",
        )
        j.expect(
            mods["spatial_attention"] == "SpatialAttention",
            f"CBAM.spatial_attention should be a SpatialAttention, got {mods['spatial_attention']}",
        )
        want = {k: list(v) for k, v in cbam_shapes(32, 16, 7).items()}
        j.expect(
            mods["keys"] == want,
            f"CBAM(32) with the defaults (reduction=16, kernel_size=7) should have parameters {want}, got {mods['keys']}",
        )
    for n, ((c, r, k, specs), per_mode) in enumerate(zip(CBAM_CONFIGS, data["configs"], strict=True)):
        shapes = cbam_shapes(c, r, k)
        state = seeded_state(shapes, 180 + n)
        inputs = make_inputs(specs, 250 + 10 * n)
        if sorted(per_mode) != sorted(MODES):
            j.fail(f"CBAM({c}, reduction={r}, kernel_size={k}): results for the modes {sorted(per_mode)}, expected {list(MODES)}")
            continue
        for mode in MODES:
            res = per_mode[mode]
            what = f"CBAM({c}, reduction={r}, kernel_size={k}, mode={mode!r})"
            if not j.expect_ok(res, what):
                continue
            if not judge_structure(
                j,
                res,
                shapes,
                what,
                hint="self.channel_attention = ChannelAttention(channels, reduction), "
                "self.spatial_attention = SpatialAttention(kernel_size), no other parameters",
            ):
                continue

            def cast(x: torch.Tensor) -> dict[str, torch.Tensor]:
                return {key: v.to(x.dtype) for key, v in state.items()}

            judge_outputs(
                j,
                res,
                inputs,
                reference=lambda x, mode=mode: ref.cbam(x, cast(x), mode),
                what=lambda x, what=what: f"{what} on a {x.dtype} input of shape {tuple(x.shape)}".replace("torch.", ""),
                wrong=lambda x, mode=mode: cbam_wrong(x, cast(x), mode),
                returned_hint="CBAM returns the input rescaled by both gates",
            )
            expected = reference_grads(lambda x, p, mode=mode: ref.cbam(x, p, mode), state, inputs[0], 350 + n)
            judge_grads(j, res.get("grads"), expected, what)
    x = positive_input(299, 2, 16, 5, 6)
    j.expect_close(
        data["default"],
        ref.cbam(x, seeded_state(cbam_shapes(16, 4, 3), 199), "channel_first"),
        "CBAM(16, reduction=4, kernel_size=3) with the default mode",
        hint='the default mode is "channel_first"',
    )
    if j.expect_ok(data["unknown_mode"], "CBAM(16, mode='sideways')"):
        j.expect(
            data["unknown_mode"] == "ValueError",
            f"CBAM(16, mode='sideways') should raise a ValueError (in __init__), got {data['unknown_mode']}",
        )


# ---------------------------------------------------------------------------- FixedNet

@REGISTRY.exercise("FixedNet", probe_fixednet)
def judge_fixednet(data: dict, j: Judge) -> None:
    outputs = []
    for (num_classes, batch), case in zip(FIXEDNET_CASES, data["cases"], strict=True):
        classes = 10 if num_classes is None else num_classes
        built = "FixedNet()" if num_classes is None else f"FixedNet(num_classes={num_classes})"
        what = f"{built} in eval mode on ({batch}, 3, 32, 32)"
        if not j.expect_ok(case, what):
            continue
        logits = case["logits"]
        if is_tensor(logits) and tuple(logits["shape"]) != (batch, classes):
            j.fail(
                f"{what} returned shape {tuple(logits['shape'])}, expected logits ({batch}, {classes}): "
                "the classifier's output size is num_classes, and its in_features must match the flattened features"
            )
            continue
        if not j.expect_tensor(logits, what, shape=(batch, classes), dtype="float32"):
            continue
        j.expect(bool(np.isfinite(array(logits)).all()), f"{what}: the logits contain inf or NaN")
        outputs += [logits, case["loud"]]
    probabilities = looks_like_probabilities(outputs)
    if probabilities:
        seen = "rows that sum to 1" if probabilities == "softmax" else "every entry in [0, 1]"
        j.fail(
            f"FixedNet returns probabilities ({seen}), "
            "not logits: return the output of the last linear layer; F.cross_entropy applies the softmax itself"
        )

    detail = data["detail"]
    if not j.expect_ok(detail, "FixedNet()"):
        return
    if detail["n_cbam"] < 1:
        j.fail("FixedNet must contain a CBAM module (your class from Exercise 3) right after its first convolution")
        return
    trace = detail["trace"]
    if not j.expect_ok(trace, "FixedNet() with hooks on its layers") or not j.expect_ok(trace["logits"], "FixedNet()"):
        return
    j.expect(not trace["modified"], "FixedNet modified its input in place")
    kinds = [e[0] for e in trace["events"]]
    rec = trace["cbam"]
    if "cbam" not in kinds or not isinstance(rec, dict):
        j.fail("FixedNet's CBAM is never called in forward: apply it to the output of the first convolution")
        return
    before = kinds.index("cbam")
    convs = ", ".join(e[1] for e in trace["events"][:before])
    j.expect(
        before == 1,
        "FixedNet must apply its CBAM right after its first convolution (exactly one convolution before it); "
        f"{before} convolution(s) ran before the CBAM" + (f": {convs}" if before else ""),
    )

    # the CBAM really is a CBAM: recompute its output from its recorded input and weights
    what = f"the CBAM in FixedNet ({rec['name']})"
    p = cbam_record_params(j, rec, what)
    cbam_ok = False
    if p is not None and j.expect_tensor(rec["output"], f"{what}'s output", shape=tuple(rec["input"]["shape"]), dtype="float32"):
        x = as_float64(rec["input"])
        modes = [rec["mode"]] if rec["mode"] in MODES else []
        modes += [m for m in MODES if m not in modes]
        cbam_ok = any(close(rec["output"], ref.cbam(x, p, m), atol=1e-5, rtol=1e-4) for m in modes)
        if not cbam_ok:
            j.expect_close(
                rec["output"],
                ref.cbam(x, p, modes[0]),
                f"{what}'s output on the features it received",
                hint="it differs from a reference CBAM with the same weights in every mode: check the CBAM exercise, "
                "and use that class (not another module named CBAM)",
            )

    # the network uses the CBAM's output: the next layer receives it, and bypassing the CBAM changes the logits
    nxt = trace["next"]
    if cbam_ok and isinstance(nxt, dict) and is_tensor(nxt.get("input")) and nxt["input"]["shape"] == rec["output"]["shape"]:
        y, x = as_float64(rec["output"]), as_float64(rec["input"])
        fed = (y, y + x, y.relu(), (y + x).relu())  # the output itself, a residual CBAM, or a ReLU of either
        j.expect(
            any(close(nxt["input"], f, atol=1e-6, rtol=1e-5) for f in fed),
            f"the layer after FixedNet's CBAM ({nxt['name']}, {nxt['type']}) does not receive the CBAM's output: "
            "keep the result, x = self.cbam(x), and feed that x to the rest of the network",
        )
    bypass = detail.get("bypass")
    logits = trace["logits"]
    if j.expect_ok(bypass, "FixedNet with its CBAM replaced by the identity") and is_tensor(bypass) and is_tensor(logits):
        same_shape = tuple(bypass["shape"]) == tuple(logits["shape"])
        diff = float(np.abs(array(bypass) - array(logits)).max()) if same_shape and array(logits).size else 0.0
        j.expect(
            diff > 1e-6,
            "FixedNet's logits do not change when its CBAM is replaced by the identity: the CBAM's output is discarded. "
            "Use it: x = self.cbam(x), and feed that x to the rest of the network",
        )

    grads = detail["grads"]
    if j.expect_ok(grads, "backward through FixedNet") and isinstance(grads, dict):
        unused = [name for name, g in grads.items() if g is None]
        j.expect(
            not unused,
            f"these parameters of FixedNet got no gradient, so they never affect the logits: {', '.join(unused)} "
            "(a layer created but not used, or a gate computed but never applied)",
        )
        # the parameters that receive a gradient whenever a gate is applied (ReLU units inside the MLP may be dead)
        gates = ("spatial_attention.conv.weight", "channel_attention.mlp.2.bias")
        dead = [name for name in detail["cbam_params"] if name.endswith(gates) and grads.get(name) == 0.0]
        j.expect(not dead, f"the CBAM parameters {', '.join(dead)} get a zero gradient: are both gates applied to the features?")


# ---------------------------------------------------------------------------- FixedDigitNet

@REGISTRY.exercise("FixedDigitNet", probe_digitnet)
def judge_digitnet(data: dict, j: Judge) -> None:
    for n, ((kwargs, dims, specs), res) in enumerate(zip(DIGIT_CONFIGS, data["configs"], strict=True)):
        args = ", ".join(f"{k}={v}" for k, v in kwargs.items())
        what = f"FixedDigitNet({args})"
        if not j.expect_ok(res, what):
            continue
        shapes = digit_shapes(*dims)
        if not judge_structure(
            j,
            res,
            shapes,
            what,
            hint="keep BrokenDigitNet's layers and names (conv, mlp, fc) and register the spatial gate's convolution "
            "in __init__ as self.spatial = nn.Conv2d(2, 1, 3, padding=1, bias=False): a layer created in forward gets new "
            "random weights at every call and never learns",
        ):
            continue
        state = seeded_state(shapes, 500 + n)
        inputs = make_inputs(specs, 270 + 10 * n)

        def cast(x: torch.Tensor, state=state) -> dict[str, torch.Tensor]:
            return {k: v.to(x.dtype) for k, v in state.items()}

        judge_outputs(
            j,
            res,
            inputs,
            reference=lambda x, cast=cast: ref.digit_net(x, cast(x)),
            what=lambda x, what=what: f"{what} on a {x.dtype} batch of shape {tuple(x.shape)}".replace("torch.", ""),
            wrong=lambda x, cast=cast: digit_wrong(x, cast(x)),
            out_shape=lambda x, dims=dims: (x.shape[0], dims[0]),
            returned_hint="FixedDigitNet returns logits (B, num_classes)",
        )
        judge_grads(j, res.get("grads"), reference_grads(ref.digit_net, state, inputs[0], 520 + n), what)
    twice = data["twice"]
    if j.expect_ok(twice, "FixedDigitNet() called twice on the same images"):
        x = make_inputs([(4, 1, 8, 8)], 541)[0]
        expected = ref.digit_net(x, seeded_state(digit_shapes(10, 16, 4), 540))
        j.expect_close(twice["a"], expected, "FixedDigitNet() in eval mode on 4 images (first call)")
        j.expect_close(
            twice["b"], expected, "FixedDigitNet() in eval mode on the same 4 images (second call)",
            hint="the same input must give the same logits: no layer may be created (with new random weights) in forward",
        )
        j.expect_close(
            twice["one"], expected[2:3], "FixedDigitNet() on image 2 of that batch on its own",
            hint="an image's logits must not depend on the other images in its batch",
        )


# ---------------------------------------------------------------------------- concept questions

REGISTRY.quiz(
    "quiz_1",
    "C",
    "Count the parts: the shared MLP is two Linear layers with their biases (hidden = max(1, C // reduction)), used for both "
    "pooled paths; the spatial convolution maps the 2 pooled maps to 1 map with a k x k kernel and no bias, whatever C is.",
)
REGISTRY.quiz(
    "quiz_2",
    "D",
    "In channel-first CBAM the second gate is computed from what the first one produced: write the two lines x' = ... and "
    "y = ... and read off which tensor the spatial module receives.",
)
REGISTRY.quiz(
    "quiz_3",
    "B",
    "A gradient of None (not a tensor of zeros) means autograd found no path from the loss to that parameter at all. "
    "Saturation, a zero initialisation or a small learning rate all leave a path, so they give a tensor, maybe tiny or zero.",
)
REGISTRY.quiz(
    "quiz_4",
    "A",
    "F.cross_entropy applies log-softmax to whatever it receives. If those inputs are probabilities, each lies in [0, 1]: "
    "work out the loss when the true class gets 1 and the other nine get 0. It is the best case, and it is not zero.",
)
