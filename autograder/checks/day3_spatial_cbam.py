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

from typing import Any

import numpy as np
import torch
import torch.nn as nn

from autograder.comparisons import judge_grads, judge_outputs, judge_structure, reference_grads
from autograder.harness import (
    Judge,
    Registry,
    array,
    attempt,
    close,
    describe,
    guarded,
    is_error,
    is_tensor,
    plain,
    randn,
    seeded,
)
from autograder.probes import Shapes, make_inputs, positive_input, probe_module_cases, same_mean_pair, seeded_state
from autograder.reference import day3_spatial_cbam as ref

REGISTRY = Registry("day3_spatial_cbam")

def _keys_of(cls: Any, *args: Any, **kwargs: Any) -> dict:
    return {k: [int(s) for s in v.shape] for k, v in cls(*args, **kwargs).state_dict().items()}


def _tensor(value: Any) -> torch.Tensor:
    """A probed tensor as a float64 torch tensor (the judge's side)."""
    return torch.from_numpy(np.array(array(value), dtype=np.float64))


# ---------------------------------------------------------------------------- ChannelAttention
CA_CONFIGS = [  # (channels, reduction, input shapes)
    (32, 16, [(2, 32, 5, 7), (1, 32, 1, 1)]),
    (8, 16, [(3, 8, 4, 4)]),  # fewer channels than the reduction ratio: hidden = 1
    (12, 4, [(2, 12, 6, 3), (2, 12, 3, 5, "float64")]),
    (48, 8, [(1, 48, 9, 2)]),
    (5, 2, [(2, 5, 2, 3)]),  # odd channel count: hidden = 5 // 2 = 2
]


def ca_shapes(c: int, r: int, prefix: str = "") -> Shapes:
    h = max(1, c // r)
    return {
        f"{prefix}mlp.0.weight": (h, c),
        f"{prefix}mlp.0.bias": (h,),
        f"{prefix}mlp.2.weight": (c, h),
        f"{prefix}mlp.2.bias": (c,),
    }


def probe_ca(cls: Any) -> dict:
    results = []
    for n, (c, r, specs) in enumerate(CA_CONFIGS):
        inputs = make_inputs(specs, 210 + 10 * n)
        results.append(
            guarded(lambda: probe_module_cases(lambda: cls(c, reduction=r), ca_shapes(c, r), 120 + n, inputs, 310 + n))
        )

    def pair() -> dict:
        m = cls(16, reduction=4)
        m.load_state_dict(seeded_state(ca_shapes(16, 4), 141))
        a, b = same_mean_pair(800)
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
        inputs = make_inputs(specs, 210 + 10 * n)
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
SA_CONFIGS = [  # (kernel_size argument or None for the default, k, input shapes)
    (None, 7, [(2, 8, 9, 5), (1, 3, 1, 1)]),
    (3, 3, [(2, 16, 6, 6), (3, 4, 4, 7, "float64")]),
    (5, 5, [(1, 6, 11, 4)]),
    (7, 7, [(2, 1, 8, 10)]),  # one channel: mean and max coincide
    (1, 1, [(2, 5, 3, 3)]),
]


def probe_sa(cls: Any) -> dict:
    results = []
    for n, (k_arg, k, specs) in enumerate(SA_CONFIGS):
        inputs = make_inputs(specs, 230 + 10 * n)

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
        inputs = make_inputs(specs, 230 + 10 * n)
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
    (8, 16, 3, [(2, 8, 6, 6), (1, 8, 5, 3, "float64")]),  # fewer channels than the reduction ratio
    (24, 8, 5, [(3, 24, 7, 7)]),
    (6, 2, 1, [(2, 6, 3, 4)]),
]


def cbam_shapes(c: int, r: int, k: int) -> Shapes:
    return {**ca_shapes(c, r, "channel_attention."), "spatial_attention.conv.weight": (1, 2, k, k)}


def probe_cbam(cls: Any) -> dict:
    results = []
    for n, (c, r, k, specs) in enumerate(CBAM_CONFIGS):
        inputs = make_inputs(specs, 250 + 10 * n)
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

    def unknown_mode() -> str:
        try:
            cls(16, mode="sideways")(positive_input(298, 1, 16, 3, 3))
        except ValueError:
            return "ValueError"
        except Exception as exc:  # student code may raise anything
            return type(exc).__name__
        return "nothing"

    return {
        "configs": results,
        "default": guarded(default_mode),
        "modules": guarded(submodules),
        "unknown_mode": guarded(unknown_mode),
    }


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
    if j.expect_ok(data["unknown_mode"], "CBAM(16, mode='sideways')"):
        j.expect(
            data["unknown_mode"] == "ValueError",
            f"CBAM(16, mode='sideways') should raise a ValueError (in __init__), got {data['unknown_mode']}",
        )


# ---------------------------------------------------------------------------- FixedNet
# (num_classes passed, or None for the default of 10; batch size). The first case is probed in detail.
FIXEDNET_CASES = [(None, 3), (None, 1), (7, 2), (2, 4), (100, 1)]
CBAM_KEYS = ("channel_attention.mlp.0.weight", "channel_attention.mlp.0.bias", "channel_attention.mlp.2.weight",
             "channel_attention.mlp.2.bias", "spatial_attention.conv.weight")


def _fixednet_input(n: int, batch: int) -> torch.Tensor:
    return randn(700 + n, batch, 3, 32, 32)


def _is_cbam(m: nn.Module) -> bool:
    return type(m).__name__ == "CBAM"


def _trace_fixednet(net: nn.Module, x: torch.Tensor) -> dict:
    """Run net(x) once with hooks: the order of convolutions and CBAM calls, the first CBAM's input,
    weights, mode and output, and the input of the first layer that runs after that CBAM."""
    record: dict[str, Any] = {"events": [], "cbam": None, "next": None}
    depth = [0]  # > 0 while inside a CBAM
    state = {"after_cbam": False}
    handles = []

    def cbam_pre(mod, args, name):
        if depth[0] == 0:
            record["events"].append(["cbam", name])
        depth[0] += 1

    def cbam_post(mod, args, out, name):
        depth[0] -= 1
        if depth[0] == 0 and record["cbam"] is None:
            record["cbam"] = {
                "name": name,
                "input": plain(args[0]) if args else None,
                "output": plain(out),
                "state": {k: plain(v) for k, v in mod.state_dict().items()},
                "mode": mod.mode if isinstance(getattr(mod, "mode", None), str) else None,
            }
            state["after_cbam"] = True

    def leaf_pre(mod, args, name):
        if depth[0] > 0:
            return
        if isinstance(mod, nn.Conv2d):
            record["events"].append(["conv", name])
        if state["after_cbam"] and record["next"] is None:
            record["next"] = {"name": name, "type": type(mod).__name__, "input": plain(args[0]) if args else None}

    try:
        for name, m in net.named_modules():
            if _is_cbam(m):
                handles.append(m.register_forward_pre_hook(lambda mod, args, name=name: cbam_pre(mod, args, name)))
                handles.append(m.register_forward_hook(lambda mod, args, out, name=name: cbam_post(mod, args, out, name)))
            elif not any(True for _ in m.children()):
                handles.append(m.register_forward_pre_hook(lambda mod, args, name=name: leaf_pre(mod, args, name)))
        x_in = x.clone()
        with torch.no_grad():
            record["logits"] = attempt(net, x_in)
        record["modified"] = not torch.equal(x_in, x)
    finally:
        for h in handles:
            h.remove()
    return record


def _bypassed(net: nn.Module, cbam: nn.Module, x: torch.Tensor) -> Any:
    """Logits with the CBAM's output replaced by its input (the CBAM turned into the identity)."""
    handle = cbam.register_forward_hook(lambda mod, args, out: args[0])
    try:
        with torch.no_grad():
            return plain(net(x.clone()))
    finally:
        handle.remove()


def _fixednet_grads(net: nn.Module, x: torch.Tensor) -> dict:
    net.train()
    net.zero_grad()
    out = net(x)
    (out * randn(705, *out.shape)).sum().backward()
    net.eval()
    params = [(name, p) for name, p in net.named_parameters() if p.requires_grad]
    return {name: (None if p.grad is None else float(p.grad.abs().sum())) for name, p in params}


def probe_fixednet(cls: Any) -> dict:
    cases = []
    for n, (num_classes, batch) in enumerate(FIXEDNET_CASES):

        def run(n=n, num_classes=num_classes, batch=batch) -> Any:
            with seeded(710 + n):
                net = cls() if num_classes is None else cls(num_classes=num_classes)
            net.eval()
            x = _fixednet_input(n, batch)
            with torch.no_grad():
                return {"logits": attempt(net, x), "loud": attempt(net, x * 20)}

        cases.append(guarded(run))
    data: dict[str, Any] = {"cases": cases}

    def detail() -> dict:
        with seeded(710):
            net = cls()
        net.eval()
        cbams = [(name, m) for name, m in net.named_modules() if _is_cbam(m)]
        out: dict[str, Any] = {"n_cbam": len(cbams)}
        x = _fixednet_input(0, FIXEDNET_CASES[0][1])
        out["trace"] = guarded(lambda: _trace_fixednet(net, x))
        if cbams:
            out["bypass"] = guarded(lambda: _bypassed(net, cbams[0][1], x))
        out["grads"] = guarded(lambda: _fixednet_grads(net, randn(704, 4, 3, 32, 32)))
        out["cbam_params"] = [name for name, _ in net.named_parameters() if any(name.startswith(c + ".") for c, _ in cbams)]
        return out

    data["detail"] = guarded(detail)
    return data


def _cbam_record_params(j: Judge, rec: dict, what: str) -> dict[str, torch.Tensor] | None:
    """The recorded CBAM weights as float64 tensors, if they have the contract's names and consistent shapes."""
    st = rec.get("state")
    if not isinstance(st, dict) or sorted(st) != sorted(CBAM_KEYS) or not all(is_tensor(st[k]) for k in CBAM_KEYS):
        j.fail(
            f"{what}: its parameters should be exactly {list(CBAM_KEYS)} (your CBAM from Exercise 3), "
            f"got {sorted(st) if isinstance(st, dict) else st}"
        )
        return None
    p = {k: _tensor(st[k]) for k in CBAM_KEYS}
    x = rec.get("input")
    if not is_tensor(x) or len(x["shape"]) != 4:
        j.fail(f"{what}: its input should be a (B, C, H, W) feature map, got {x['shape'] if is_tensor(x) else describe(x)}")
        return None
    c = x["shape"][1]
    w1, conv = p["channel_attention.mlp.0.weight"], p["spatial_attention.conv.weight"]
    hidden = w1.shape[0] if w1.dim() == 2 else 0
    k = conv.shape[-1] if conv.dim() == 4 else 0
    want = {
        "channel_attention.mlp.0.weight": (hidden, c),
        "channel_attention.mlp.0.bias": (hidden,),
        "channel_attention.mlp.2.weight": (c, hidden),
        "channel_attention.mlp.2.bias": (c,),
        "spatial_attention.conv.weight": (1, 2, k, k),
    }
    got = {key: tuple(v.shape) for key, v in p.items()}
    if got != want or hidden < 1 or k % 2 != 1:
        j.fail(f"{what}: on a {c}-channel input its parameter shapes should be {want} (hidden >= 1, odd kernel), got {got}")
        return None
    return p


def _looks_like_probabilities(values: list[Any]) -> str:
    """'softmax' when every tensor's rows are non-negative and sum to 1, 'sigmoid' when all entries lie in [0, 1]."""
    arrays = [array(v).astype(np.float64) for v in values if is_tensor(v) and len(v["shape"]) == 2 and v["shape"][1] >= 2]
    if not arrays or not all(np.isfinite(a).all() for a in arrays):
        return ""
    if all((a >= 0).all() and np.allclose(a.sum(1), 1.0, atol=1e-4) for a in arrays):
        return "softmax"
    if all(((a >= 0) & (a <= 1)).all() for a in arrays):
        return "sigmoid"
    return ""


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
    probabilities = _looks_like_probabilities(outputs)
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
    p = _cbam_record_params(j, rec, what)
    cbam_ok = False
    if p is not None and j.expect_tensor(rec["output"], f"{what}'s output", shape=tuple(rec["input"]["shape"]), dtype="float32"):
        x = _tensor(rec["input"])
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
        y, x = _tensor(rec["output"]), _tensor(rec["input"])
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
DIGIT_CONFIGS = [  # (constructor keywords, (num_classes, width, reduction) they mean, input shapes)
    ({}, (10, 16, 4), [(4, 1, 8, 8), (1, 1, 8, 8)]),
    ({"num_classes": 7, "width": 8, "reduction": 16}, (7, 8, 16), [(3, 1, 8, 8), (2, 1, 8, 8, "float64")]),
    ({"num_classes": 3, "width": 12, "reduction": 3}, (3, 12, 3), [(5, 1, 8, 8)]),
    ({"width": 6, "reduction": 2}, (10, 6, 2), [(2, 1, 8, 8)]),
    ({"num_classes": 2}, (2, 16, 4), [(3, 1, 8, 8)]),
]


def digit_shapes(num_classes: int, width: int, reduction: int) -> Shapes:
    return {
        "conv.weight": (width, 1, 3, 3),
        "conv.bias": (width,),
        **ca_shapes(width, reduction),
        "spatial.weight": (1, 2, 3, 3),
        "fc.weight": (num_classes, width * 16),
        "fc.bias": (num_classes,),
    }


def probe_digitnet(cls: Any) -> dict:
    results = []
    for n, (kwargs, dims, specs) in enumerate(DIGIT_CONFIGS):
        inputs = make_inputs(specs, 270 + 10 * n)
        results.append(guarded(lambda: probe_module_cases(lambda: cls(**kwargs), digit_shapes(*dims), 500 + n, inputs, 520 + n)))

    def twice() -> dict:  # the same images twice in eval mode, and one image on its own
        m = cls()
        m.load_state_dict(seeded_state(digit_shapes(10, 16, 4), 540))
        m.eval()
        x = make_inputs([(4, 1, 8, 8)], 541)[0]
        with torch.no_grad():
            return {"a": plain(m(x)), "b": plain(m(x)), "one": plain(m(x[2:3]))}

    return {"configs": results, "twice": guarded(twice)}


def _digit_wrong(x: torch.Tensor, p: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {
        "a softmax at the end (probabilities; F.cross_entropy wants logits)": ref.digit_net(x, p, "softmax"),
        "the channel statistics pooled over the whole batch (each image needs its own gate)": ref.digit_net(x, p, "batch_pool"),
        "no spatial gate": ref.digit_net(x, p, "no_spatial"),
        "no channel gate": ref.digit_net(x, p, "no_channel"),
        "[max, mean] fed to the spatial conv (mean first)": ref.digit_net(x, p, "max_mean"),
    }


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
            wrong=lambda x, cast=cast: _digit_wrong(x, cast(x)),
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
