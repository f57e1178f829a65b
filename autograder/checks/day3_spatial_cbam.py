"""Hidden checks for day3_spatial_cbam: ChannelAttention, SpatialAttention, CBAM, FixedNet.

References are functional (``autograder.reference.day3_spatial_cbam``), evaluated here with the
same seeded weights the probe loads into the student's modules. FixedNet's architecture is free,
so its checks are behavioural: shapes, where the CBAM runs, that its output is used, gradients.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn as nn

from autograder.checks.day2_channel_attention import (
    Shapes,
    _inputs,
    judge_grads,
    judge_outputs,
    judge_structure,
    positive_input,
    probe_module_cases,
    reference_grads,
    seeded_state,
)
from autograder.harness import Judge, Registry, array, attempt, guarded, is_error, is_tensor, plain, randn, seeded
from autograder.reference import day3_spatial_cbam as ref

REGISTRY = Registry("day3_spatial_cbam")


def _keys_of(cls: Any, *args: Any, **kwargs: Any) -> dict:
    return {k: [int(s) for s in v.shape] for k, v in cls(*args, **kwargs).state_dict().items()}


# ---------------------------------------------------------------------------- ChannelAttention
CA_CONFIGS = [  # (channels, reduction, input shapes)
    (32, 16, [(2, 32, 5, 7), (1, 32, 1, 1)]),
    (8, 16, [(3, 8, 4, 4)]),  # fewer channels than the reduction ratio: hidden = 1
    (12, 4, [(2, 12, 6, 3), (2, 12, 3, 5, "float64")]),
    (48, 8, [(1, 48, 9, 2)]),
]


def ca_shapes(c: int, r: int, prefix: str = "") -> Shapes:
    h = max(1, c // r)
    return {
        f"{prefix}mlp.0.weight": (h, c),
        f"{prefix}mlp.0.bias": (h,),
        f"{prefix}mlp.2.weight": (c, h),
        f"{prefix}mlp.2.bias": (c,),
    }


def _same_mean_pair() -> tuple[torch.Tensor, torch.Tensor]:
    """Two inputs with equal channel means but different channel maxima."""
    a = positive_input(800, 2, 16, 4, 4)
    b = positive_input(801, 2, 16, 4, 4)
    return a, b - b.mean((2, 3), keepdim=True) + a.mean((2, 3), keepdim=True)


def probe_ca(cls: Any) -> dict:
    results = []
    for n, (c, r, specs) in enumerate(CA_CONFIGS):
        inputs = _inputs(specs, 210 + 10 * n)
        results.append(
            guarded(lambda: probe_module_cases(lambda: cls(c, reduction=r), ca_shapes(c, r), 120 + n, inputs, 310 + n))
        )

    def pair() -> dict:
        m = cls(16, reduction=4)
        m.load_state_dict(seeded_state(ca_shapes(16, 4), 141))
        a, b = _same_mean_pair()
        with torch.no_grad():
            return {"a": plain(m(a)), "b": plain(m(b))}

    return {"configs": results, "default": guarded(lambda: _keys_of(cls, 64)), "pair": guarded(pair)}


def _ca_wrong(x: torch.Tensor, p: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {
        "average pooling alone (CBAM adds the max-pooled path)": ref.channel_gate(x, p, variant="avg_only"),
        "max pooling alone (CBAM adds the average-pooled path)": ref.channel_gate(x, p, variant="max_only"),
        "one MLP on avg + max (add the two MLP outputs, not the pooled vectors)": ref.channel_gate(
            x, p, variant="sum_before_mlp"
        ),
        "a sigmoid on each path before adding (one sigmoid after the sum)": ref.channel_gate(x, p, variant="sigmoid_each"),
        "a softmax over the channels instead of a sigmoid": ref.channel_gate(x, p, variant="softmax"),
    }


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
        inputs = _inputs(specs, 210 + 10 * n)
        judge_outputs(
            j,
            res,
            inputs,
            reference=lambda x: ref.channel_gate(x, {k: v.to(x.dtype) for k, v in state.items()}),
            what=lambda x: f"{what} on a {x.dtype} input of shape {tuple(x.shape)}".replace("torch.", ""),
            wrong=lambda x: _ca_wrong(x, {k: v.to(x.dtype) for k, v in state.items()}),
            out_shape=lambda x: (x.shape[0], x.shape[1], 1, 1),
            returned_hint="ChannelAttention returns the gate (B, C, 1, 1), not x * gate",
        )
        for case in res["cases"]:
            if is_tensor(case["out"]):
                g = array(case["out"])
                j.expect(
                    bool(((g >= 0) & (g <= 1)).all()), f"{what}: every gate must lie between 0 and 1 (one sigmoid after the sum)"
                )
                break
        judge_grads(j, res.get("grads"), reference_grads(ref.channel_gate, state, inputs[0], 310 + n), what)
    if j.expect_ok(data["default"], "ChannelAttention(64) with the default reduction"):
        j.expect(
            tuple(data["default"].get("mlp.0.weight", ())) == (4, 64),
            "ChannelAttention(64) should use reduction=16 by default (mlp.0.weight (4, 64)), "
            f"got {data['default'].get('mlp.0.weight')}",
        )
    pair = data["pair"]
    if (
        j.expect_ok(pair, "ChannelAttention on two inputs with the same channel means")
        and is_tensor(pair["a"])
        and is_tensor(pair["b"])
    ):
        ga, gb = array(pair["a"]), array(pair["b"])
        j.expect(
            ga.shape != gb.shape or not np.allclose(ga, gb, atol=1e-6),
            "ChannelAttention gives the same gate to two inputs with equal channel means but different maxima: "
            "the max-pooled path is missing",
        )


# ---------------------------------------------------------------------------- SpatialAttention
SA_CONFIGS = [  # (kernel_size argument or None for the default, k, input shapes)
    (None, 7, [(2, 8, 9, 5), (1, 3, 1, 1)]),
    (3, 3, [(2, 16, 6, 6), (3, 4, 4, 7, "float64")]),
    (5, 5, [(1, 6, 11, 4)]),
    (1, 1, [(2, 5, 3, 3)]),
]


def probe_sa(cls: Any) -> dict:
    results = []
    for n, (k_arg, k, specs) in enumerate(SA_CONFIGS):
        inputs = _inputs(specs, 230 + 10 * n)

        def build(k_arg=k_arg):
            return cls() if k_arg is None else cls(kernel_size=k_arg)

        res = guarded(lambda: probe_module_cases(build, {"conv.weight": (1, 2, k, k)}, 160 + n, inputs, 330 + n))
        if not is_error(res):
            res["conv"] = guarded(lambda: _conv2d_info(build()))
        results.append(res)
    return {"configs": results}


def _conv2d_info(m: nn.Module) -> dict:
    conv = getattr(m, "conv", None)
    padding = getattr(conv, "padding", ())
    return {
        "type": type(conv).__name__,
        "padding": [-1] if isinstance(padding, str) else [int(p) for p in padding],
        "bias": getattr(conv, "bias", None) is not None,
    }


def _sa_wrong(x: torch.Tensor, w: torch.Tensor) -> dict[str, torch.Tensor]:
    return {
        "[max, mean] in the wrong order (the conv's first input map is the mean)": ref.spatial_gate(x, w, "max_mean"),
        "a sum over the channels instead of the mean": ref.spatial_gate(x, w, "sum_max"),
        "a softmax over the positions instead of a sigmoid": ref.spatial_gate(x, w, "softmax"),
        "no sigmoid after the convolution": ref.spatial_gate(x, w, "no_sigmoid"),
        "the mean map twice (the second map is the max across channels)": ref.spatial_gate(x, w, "mean_mean"),
    }


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
        inputs = _inputs(specs, 230 + 10 * n)
        judge_outputs(
            j,
            res,
            inputs,
            reference=lambda x: ref.spatial_gate(x, w.to(x.dtype)),
            what=lambda x: f"{what} on a {x.dtype} input of shape {tuple(x.shape)}".replace("torch.", ""),
            wrong=lambda x: _sa_wrong(x, w.to(x.dtype)),
            out_shape=lambda x: (x.shape[0], 1, x.shape[2], x.shape[3]),
            returned_hint="SpatialAttention returns the gate (B, 1, H, W), not x * gate; pool across channels (dim=1)",
        )
        expected = reference_grads(lambda x, p: ref.spatial_gate(x, p["conv.weight"]), {"conv.weight": w}, inputs[0], 330 + n)
        judge_grads(j, res.get("grads"), expected, what)


# ---------------------------------------------------------------------------- CBAM
MODES = ("channel_first", "spatial_first", "parallel")
CBAM_CONFIGS = [  # (channels, reduction, kernel_size, input shapes)
    (16, 4, 7, [(2, 16, 9, 5), (1, 16, 4, 4)]),
    (8, 16, 3, [(2, 8, 6, 6), (1, 8, 5, 3, "float64")]),
    (24, 8, 5, [(3, 24, 7, 7)]),
]


def cbam_shapes(c: int, r: int, k: int) -> Shapes:
    return {**ca_shapes(c, r, "channel_attention."), "spatial_attention.conv.weight": (1, 2, k, k)}


def probe_cbam(cls: Any) -> dict:
    results = []
    for n, (c, r, k, specs) in enumerate(CBAM_CONFIGS):
        inputs = _inputs(specs, 250 + 10 * n)
        per_mode = {}
        for mode in MODES:
            per_mode[mode] = guarded(
                lambda mode=mode: probe_module_cases(
                    lambda: cls(c, reduction=r, kernel_size=k, mode=mode), cbam_shapes(c, r, k), 180 + n, inputs, 350 + n
                )
            )
        results.append(per_mode)

    def default_mode() -> Any:
        m = cls(16, reduction=4, kernel_size=3)
        m.load_state_dict(seeded_state(cbam_shapes(16, 4, 3), 199))
        with torch.no_grad():
            return plain(m(positive_input(299, 2, 16, 5, 6)))

    def submodules() -> dict:
        m = cls(16)
        return {name: type(getattr(m, name, None)).__name__ for name in ("channel_attention", "spatial_attention")} | {
            "keys": _keys_of(cls, 32)
        }

    return {"configs": results, "default": guarded(default_mode), "modules": guarded(submodules)}


def _cbam_wrong(x: torch.Tensor, p: dict[str, torch.Tensor], mode: str) -> dict[str, torch.Tensor]:
    wrong = {f"mode {m!r} (modes mixed up)": ref.cbam(x, p, m) for m in MODES if m != mode}
    wrong["the channel gate alone (the spatial gate is not applied)"] = ref.cbam(x, p, "channel_only")
    wrong["the spatial gate alone (the channel gate is not applied)"] = ref.cbam(x, p, "spatial_only")
    wrong["x * Mc + x * Ms (parallel means x * Mc(x) * Ms(x))"] = ref.cbam(x, p, "parallel_sum")
    wrong["the product of the gates without the input"] = ref.cbam(x, p, "gates_only")
    return wrong


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
        inputs = _inputs(specs, 250 + 10 * n)
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
                wrong=lambda x, mode=mode: _cbam_wrong(x, cast(x), mode),
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


# ---------------------------------------------------------------------------- FixedNet
def probe_fixednet(cls: Any) -> dict:
    with seeded(7):
        net = cls()
    cbam_names = [name for name, m in net.named_modules() if type(m).__name__ == "CBAM"]
    data: dict[str, Any] = {"n_cbam": len(cbam_names)}
    x = randn(700, 3, 3, 32, 32)
    events: list[list] = []
    handles = []
    for name, m in net.named_modules():
        inside = any(name == c or name.startswith(c + ".") for c in cbam_names)
        if type(m).__name__ == "CBAM":
            handles.append(m.register_forward_pre_hook(lambda mod, args, name=name: events.append(["cbam", name])))
        elif isinstance(m, nn.Conv2d) and not inside:
            handles.append(m.register_forward_hook(lambda mod, a, o, name=name: events.append(["conv", name])))
    try:
        net.eval()
        x_in = x.clone()
        with torch.no_grad():
            data["eval"] = attempt(net, x_in)
        data["modified"] = not torch.equal(x_in, x)
    finally:
        for h in handles:
            h.remove()
    data["events"] = events
    if cbam_names:
        first = net.get_submodule(cbam_names[0])

        def bypassed() -> Any:
            handle = first.register_forward_hook(lambda mod, args, out: args[0])  # CBAM replaced by identity
            try:
                with torch.no_grad():
                    return plain(net(x.clone()))
            finally:
                handle.remove()

        data["bypass"] = guarded(bypassed)
    data["one"] = attempt(lambda: net.eval()(randn(702, 1, 3, 32, 32)))
    data["seven"] = attempt(lambda: cls(num_classes=7).eval()(randn(703, 2, 3, 32, 32)))

    def grads() -> dict:
        net.train()
        net.zero_grad()
        out = net(randn(704, 4, 3, 32, 32))
        (out * randn(705, *out.shape)).sum().backward()
        return {
            name: (None if p.grad is None else float(p.grad.abs().sum())) for name, p in net.named_parameters() if p.requires_grad
        }

    data["grads"] = guarded(grads)
    data["cbam_params"] = [name for name, _ in net.named_parameters() if any(name.startswith(c + ".") for c in cbam_names)]
    return data


@REGISTRY.exercise("FixedNet", probe_fixednet)
def judge_fixednet(data: dict, j: Judge) -> None:
    if data["n_cbam"] < 1:
        j.fail("FixedNet must contain a CBAM module (your class from Exercise 3) after its first convolution")
    out = data["eval"]
    if j.expect_tensor(out, "FixedNet()(x) for x (3, 3, 32, 32)", shape=(3, 10), dtype="float32"):
        j.expect(bool(np.isfinite(array(out)).all()), "FixedNet's logits contain inf or NaN")
        j.expect(not data["modified"], "FixedNet modified its input in place")
    elif is_tensor(out):
        j.fail("FixedNet must return logits (B, num_classes): check the flattened size against the classifier's in_features")
    j.expect_tensor(data["one"], "FixedNet() in eval mode on one image (1, 3, 32, 32)", shape=(1, 10))
    j.expect_tensor(data["seven"], "FixedNet(num_classes=7) on (2, 3, 32, 32)", shape=(2, 7))
    events = data["events"]
    if data["n_cbam"] >= 1 and not is_error(out):
        kinds = [e[0] for e in events]
        if "cbam" not in kinds:
            j.fail("FixedNet's CBAM is never called in forward: apply it to the output of the first convolution")
        else:
            before = kinds.index("cbam")
            j.expect(
                before == 1,
                "FixedNet must apply its CBAM right after its first convolution (exactly one convolution before it); "
                f"{before} convolution(s) ran before the CBAM"
                + (f": {', '.join(e[1] for e in events[:before])}" if before else ""),
            )
        bypass = data.get("bypass")
        if is_tensor(out) and j.expect_ok(bypass, "FixedNet with its CBAM replaced by the identity") and is_tensor(bypass):
            diff = float(np.abs(array(bypass) - array(out)).max()) if tuple(bypass["shape"]) == tuple(out["shape"]) else 1.0
            j.expect(
                diff > 1e-6,
                "FixedNet's logits do not change when its CBAM is replaced by the identity: the CBAM's output is discarded. "
                "Use it: x = self.cbam(x), and feed that x to the rest of the network",
            )
    grads = data["grads"]
    if j.expect_ok(grads, "backward through FixedNet"):
        unused = [name for name, g in grads.items() if g is None]
        j.expect(
            not unused,
            f"these parameters of FixedNet got no gradient, so they never affect the logits: {', '.join(unused)} "
            "(a layer created but not used, or a gate computed but never applied)",
        )
        # the parameters that receive a gradient whenever a gate is applied (ReLU units inside the MLP may be dead)
        gates = ("spatial_attention.conv.weight", "channel_attention.mlp.2.bias")
        dead = [name for name in data["cbam_params"] if name.endswith(gates) and grads.get(name) == 0.0]
        j.expect(not dead, f"the CBAM parameters {', '.join(dead)} get a zero gradient: are both gates applied to the features?")


# ---------------------------------------------------------------------------- concept questions
REGISTRY.quiz(
    "quiz_1",
    "B",
    "The spatial conv maps the 2 pooled maps (mean, max) to 1 map with a 7x7 kernel and no bias: 2*7*7 = 98 weights, "
    "independent of C because the channels are pooled away first.",
)
REGISTRY.quiz(
    "quiz_2",
    "B",
    "Channel-first CBAM computes x' = x * Mc(x) and then the spatial gate of x', so Ms sees the channel-refined features.",
)
REGISTRY.quiz(
    "quiz_3",
    "C",
    "Broadcasting aligns trailing dimensions: (16, 16) lines up with (H, W), so x[b, c, h, w] is scaled by g[h, w]. "
    "With B = C = H = W nothing fails, which makes it a silent bug; reshape the gate to (B, C, 1, 1).",
)
