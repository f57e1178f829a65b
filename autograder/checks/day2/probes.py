"""Probe side of day2_channel_attention: the cases each probe runs and the probes themselves.

The sandbox gets what the probes reach of this module (``autograder/sandbox/strip.py``); the judges
rebuild the same cases from here, so a case is written once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn as nn

from autograder.harness import attempt, guarded, is_error, plain, randn
from autograder.probes import (
    Shapes,
    double_copy,
    input_grads,
    make_inputs,
    positive_input,
    probe_module_cases,
    same_mean_pair,
    seeded_state,
)

# ---------------------------------------------------------------------------- SEBlock
SE_CONFIGS = [  # (channels, reduction, input shapes)
    (32, 16, [(2, 32, 5, 7), (1, 32, 1, 1)]),
    (8, 16, [(3, 8, 4, 4)]),  # fewer channels than the reduction ratio: hidden = 1
    (12, 4, [(2, 12, 6, 3), (2, 12, 3, 5, "float64")]),
    (64, 8, [(1, 64, 9, 2)]),
    (10, 3, [(2, 10, 4, 5)]),  # C not a multiple of r: hidden = 10 // 3 = 3
    (6, 1, [(2, 6, 3, 3)]),  # no reduction: hidden = C
    (3, 16, [(2, 3, 4, 4), (4, 3, 2, 5, "float64")]),  # tiny C: hidden = 1
    (16, 16, [(2, 16, 3, 3)]),  # C == r: hidden = 1
]


def se_shapes(c: int, r: int) -> Shapes:
    h = max(1, c // r)
    return {"fc1.weight": (h, c), "fc1.bias": (h,), "fc2.weight": (c, h), "fc2.bias": (c,)}


def probe_se(cls: Any) -> dict:
    results = []
    for n, (c, r, specs) in enumerate(SE_CONFIGS):
        inputs = make_inputs(specs, 200 + 10 * n)
        results.append(guarded(lambda: probe_module_cases(lambda: cls(c, reduction=r), se_shapes(c, r), 20 + n, inputs, 300 + n)))
    # default reduction is 16
    results.append(guarded(lambda: {"keys": {k: list(v.shape) for k, v in cls(64).state_dict().items()}}))
    # the gate must depend on the spatial mean only: same means, different maxima
    results.append(guarded(lambda: _same_mean_probe(cls)))
    return {"configs": results}


def _same_mean_probe(cls: Any) -> dict:
    m = cls(16, reduction=4)
    m.load_state_dict(seeded_state(se_shapes(16, 4), 41))
    a, b = same_mean_pair(400)
    with torch.no_grad():
        return {"a": plain(m(a) / a), "b": plain(m(b) / b)}


# ---------------------------------------------------------------------------- eca_kernel_size
ECA_K_CASES = [  # (channels, positional arguments after channels, keyword arguments)
    (1, (), {}),  # log2(1) = 0: t = int(0.5) = 0, even -> 1
    (2, (), {}),
    (3, (), {}),
    (4, (), {}),
    (8, (), {}),
    (16, (), {}),
    (24, (), {}),
    (32, (), {}),
    (64, (), {}),
    (100, (), {}),
    (128, (), {}),
    (256, (), {}),
    (512, (), {}),
    (1024, (), {}),
    (2048, (), {}),
    (4096, (), {}),
    (64, (), {"gamma": 3}),
    (256, (), {"gamma": 3, "b": 2}),
    (512, (), {"gamma": 1}),  # t = 10, even
    (1024, (), {"b": 0}),
    (32, (), {"gamma": 1.5, "b": 0.5}),
    (128, (), {"gamma": 1, "b": 0}),  # t = 7, odd
    (64, (3, 2), {}),  # gamma, b by position
    (1000, (2.5,), {}),
    (2, (), {"b": -3}),  # (1 - 3) / 2 = -1: the absolute value matters
    (4, (), {"gamma": 2, "b": -6}),  # |-2| = 2, even -> 3
    (64, (), {"gamma": -2}),  # |-3.5| -> 3
    (16, (), {"gamma": 0.5, "b": 0.25}),  # t = 8, even -> 9
]


def probe_eca_kernel_size(fn: Any) -> dict:
    return {"values": [attempt(fn, c, *args, **kw) for c, args, kw in ECA_K_CASES]}


# ---------------------------------------------------------------------------- ECABlock
ECA_CONFIGS = [  # (channels, k_size argument, expected k, input shapes)
    (64, None, 3, [(2, 64, 5, 7), (1, 64, 1, 1)]),  # t = 3, odd
    (256, None, 5, [(2, 256, 3, 4)]),  # t = 4, even
    (16, 5, 5, [(3, 16, 4, 6), (2, 16, 3, 2, "float64")]),  # explicit k wider than the default 3
    (3, None, 1, [(2, 3, 5, 5)]),  # log2(3) + 1 < 3: k = 1
    (40, 7, 7, [(1, 40, 2, 9)]),
    (16, None, 3, [(2, 16, 2, 2)]),  # t = 2, even
    (8, 1, 1, [(2, 8, 3, 3)]),  # k_size = 1: a per-channel gate without neighbours
    (512, 3, 3, [(1, 512, 2, 3)]),  # explicit k narrower than the default 5
    (6, 9, 9, [(2, 6, 4, 3), (1, 6, 2, 2, "float64")]),  # kernel wider than the channel axis: zero padding on both sides
    (1, None, 1, [(3, 1, 2, 2)]),  # a single channel
    (2048, None, 7, [(1, 2048, 1, 2)]),  # t = 6, even
]


def eca_shapes(k: int) -> Shapes:
    return {"conv.weight": (1, 1, k)}


def probe_eca(cls: Any) -> dict:
    results = []
    for n, (c, k_arg, k, specs) in enumerate(ECA_CONFIGS):
        inputs = make_inputs(specs, 500 + 10 * n)

        def build(c=c, k_arg=k_arg):
            return cls(c) if k_arg is None else cls(c, k_size=k_arg)

        res = guarded(lambda: probe_module_cases(build, eca_shapes(k), 60 + n, inputs, 600 + n))
        if not is_error(res):
            res["conv"] = guarded(lambda: _conv_info(build()))
        results.append(res)
    results.append(guarded(lambda: _locality_probe(cls)))
    return {"configs": results}


def _conv_info(m: nn.Module) -> dict:
    conv = getattr(m, "conv", None)
    return {
        "type": type(conv).__name__,
        "padding": [int(p) for p in getattr(conv, "padding", ())] if not isinstance(getattr(conv, "padding", 0), str) else [-1],
        "bias": getattr(conv, "bias", None) is not None,
    }


LOCALITY = (12, 3, 5)  # channels, k_size, the channel whose mean changes


def locality_pair() -> tuple[torch.Tensor, torch.Tensor]:
    c, _, changed = LOCALITY
    a = positive_input(590, 2, c, 3, 4)
    b = a.clone()
    b[:, changed] *= 2.0  # changes that channel's mean only; no zeros, so out / x is still the gate
    return a, b


def _locality_probe(cls: Any) -> dict:
    c, k, _ = LOCALITY
    m = cls(c, k_size=k)
    m.load_state_dict(seeded_state(eca_shapes(k), 59))
    a, b = locality_pair()
    with torch.no_grad():
        return {"a": plain(m(a) / a), "b": plain(m(b) / b)}


# ---------------------------------------------------------------------------- SEBasicBlock
BLOCK_CONFIGS = [  # (in_channels, out_channels, stride, reduction, eval-mode input shapes, train-mode input shape)
    (16, 16, 1, 4, [(2, 16, 6, 5), (1, 16, 1, 1), (2, 16, 5, 4, "float64")], (3, 16, 5, 6)),  # identity shortcut
    (8, 16, 2, 4, [(2, 8, 7, 6), (1, 8, 4, 4)], (2, 8, 6, 6)),  # stride and channels change
    (12, 24, 1, 16, [(2, 12, 5, 5)], (2, 12, 4, 3)),  # channels change at stride 1; SE hidden = 1
    (16, 16, 2, 8, [(2, 16, 8, 6), (1, 16, 5, 7, "float64")], (2, 16, 5, 5)),  # stride only
]
BN_BUFFERS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def has_downsample(c_in: int, c_out: int, stride: int) -> bool:
    return stride != 1 or c_in != c_out


def block_shapes(c_in: int, c_out: int, stride: int, r: int) -> Shapes:
    """The contract's state_dict of SEBasicBlock: parameters and batch-norm buffers."""
    shapes: Shapes = {"conv1.weight": (c_out, c_in, 3, 3), "conv2.weight": (c_out, c_out, 3, 3)}
    norms = ["bn1", "bn2"]
    if has_downsample(c_in, c_out, stride):
        shapes["downsample.0.weight"] = (c_out, c_in, 1, 1)
        norms.append("downsample.1")
    for bn in norms:
        for name in BN_BUFFERS:
            shapes[f"{bn}.{name}"] = () if name == "num_batches_tracked" else (c_out,)
    shapes |= {f"se.{k}": v for k, v in se_shapes(c_out, r).items()}
    return shapes


def block_state(shapes: Shapes, seed: int) -> dict[str, torch.Tensor]:
    """Seeded weights, and batch-norm statistics far from the defaults (so eval mode matters)."""
    norms = sorted(k for k in shapes if k.startswith(("bn1.", "bn2.", "downsample.1.")))
    state = seeded_state({k: v for k, v in shapes.items() if k not in norms}, seed)
    for i, key in enumerate(norms):
        z = randn(seed * 100 + 50 + i, *shapes[key], dtype=torch.float64) if shapes[key] else None
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(0)
        elif key.endswith("running_var"):
            state[key] = torch.exp(0.4 * z).float()
        elif key.endswith("weight"):
            state[key] = (1.0 + 0.3 * z).float()
        else:  # bias, running_mean
            state[key] = (0.3 * z).float()
    return state


def probe_block_cases(
    build: Callable[[], nn.Module],
    state: dict[str, torch.Tensor],
    inputs: list[torch.Tensor],
    train_x: torch.Tensor,
    grad_seed: int,
) -> dict:
    """Like probe_module_cases, with the state given, plus one forward pass in training mode."""
    module = build()
    result: dict[str, Any] = {"keys": {k: [int(s) for s in v.shape] for k, v in module.state_dict().items()}, "cases": []}
    result["load"] = guarded(lambda: (module.load_state_dict(state, strict=True), None)[1])
    if is_error(result["load"]):
        return result
    module.eval()
    for x in inputs:
        m = double_copy(build, state) if x.dtype == torch.float64 else module
        if isinstance(m, dict):
            result["cases"].append({"out": m, "modified": False})
            continue
        x_in = x.clone()
        result["cases"].append({"out": attempt(m, x_in), "modified": not torch.equal(x_in, x)})

    def train_case() -> dict:
        m = build()
        m.load_state_dict(state, strict=True)
        m.train()
        x_in = train_x.clone()
        return {"out": attempt(m, x_in), "modified": not torch.equal(x_in, train_x)}

    result["train"] = guarded(train_case)
    result["grads"] = guarded(lambda: input_grads(module, inputs[0], grad_seed))
    return result


def _build_block(cls: Any, n: int) -> Callable[[], nn.Module]:
    c_in, c_out, stride, r, _, _ = BLOCK_CONFIGS[n]
    if n == 0:  # positional, as in the contract's signature
        return lambda: cls(c_in, c_out, stride, r)
    return lambda: cls(c_in, c_out, stride=stride, reduction=r)


def block_inputs(n: int) -> tuple[list[torch.Tensor], torch.Tensor]:
    specs, train_spec = BLOCK_CONFIGS[n][4], BLOCK_CONFIGS[n][5]
    inputs = [x - 0.25 for x in make_inputs(specs, 700 + 10 * n)]  # negative entries too: the final ReLU matters
    return inputs, positive_input(790 + n, *train_spec) - 0.25


SHUT = [(16, 16, 1, 4, (2, 16, 5, 4)), (8, 16, 2, 4, (2, 8, 5, 6))]  # gate-shut probes: (c_in, c_out, stride, r, input)


def shut_state(n: int) -> dict[str, torch.Tensor]:
    c_in, c_out, stride, r, _ = SHUT[n]
    state = block_state(block_shapes(c_in, c_out, stride, r), 95 + n)
    state["se.fc2.bias"] = torch.full((c_out,), -40.0)  # every gate sigmoid(~-40), about 4e-18
    return state


def _shut_probe(cls: Any) -> list:
    out = []
    for n, (c_in, c_out, stride, r, shape) in enumerate(SHUT):

        def run(n=n, c_in=c_in, c_out=c_out, stride=stride, r=r, shape=shape) -> Any:
            m = cls(c_in, c_out, stride=stride, reduction=r)
            m.load_state_dict(shut_state(n), strict=True)
            with torch.no_grad():
                return plain(m.eval()(randn(980 + n, *shape)))

        out.append(guarded(run))
    return out


def _defaults_probe(cls: Any) -> dict:
    same, wider = cls(32, 32), cls(32, 64)
    with torch.no_grad():
        x = positive_input(990, 1, 32, 4, 6)
        return {
            "same": {k: [int(s) for s in v.shape] for k, v in same.state_dict().items()},
            "wider": {k: [int(s) for s in v.shape] for k, v in wider.state_dict().items()},
            "same_out": plain(same.eval()(x)),
            "wider_out": plain(wider.eval()(x)),
        }


def probe_se_basic_block(cls: Any) -> dict:
    results = []
    for n, (c_in, c_out, stride, r, _, _) in enumerate(BLOCK_CONFIGS):
        inputs, train_x = block_inputs(n)
        state = block_state(block_shapes(c_in, c_out, stride, r), 80 + n)
        results.append(guarded(lambda: probe_block_cases(_build_block(cls, n), state, inputs, train_x, 900 + n)))
    results.append(guarded(lambda: _defaults_probe(cls)))
    results.append(guarded(lambda: _shut_probe(cls)))
    return {"configs": results}
