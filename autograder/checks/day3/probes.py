"""Probe side of day3_spatial_cbam: the cases each probe runs and the probes themselves.

The sandbox gets what the probes reach of this module (``autograder/sandbox/strip.py``); the judges
rebuild the same cases from here, so a case is written once.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from autograder.harness import attempt, guarded, is_error, plain, randn, seeded
from autograder.probes import Shapes, make_inputs, positive_input, probe_module_cases, same_mean_pair, seeded_state


def _keys_of(cls: Any, *args: Any, **kwargs: Any) -> dict:
    return {k: [int(s) for s in v.shape] for k, v in cls(*args, **kwargs).state_dict().items()}


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


# ---------------------------------------------------------------------------- FixedNet
# (num_classes passed, or None for the default of 10; batch size). The first case is probed in detail.
FIXEDNET_CASES = [(None, 3), (None, 1), (7, 2), (2, 4), (100, 1)]


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
