"""Hidden checks for day2_channel_attention: SEBlock, eca_kernel_size, ECABlock, SEBasicBlock.

The judge recomputes every reference functionally (``autograder.reference.day2_channel_attention``)
from the same seeded weights the probe loads into the student's module. Running a module on seeded
cases is :mod:`autograder.probes`; comparing its outputs and gradients, :mod:`autograder.comparisons`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn as nn

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
from autograder.harness import Judge, Registry, array, attempt, describe, guarded, is_error, is_tensor, plain, randn
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
from autograder.reference import day2_channel_attention as ref

REGISTRY = Registry("day2_channel_attention")

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


def _se_wrong(x: torch.Tensor, p: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    s = x.mean((2, 3))
    return {
        "max pooling instead of average pooling (the squeeze is the spatial mean)": ref.se(x, p, pool="max"),
        "a softmax instead of a sigmoid (each channel needs its own gate in (0, 1))": ref.se(x, p, act="softmax"),
        "a ReLU after fc2 as well (the excitation is sigmoid(fc2(relu(fc1(s)))))": ref.se(x, p, relu_after=True),
        "a sum instead of a mean over H and W": ref.se(x, p, pool="sum"),
        "no ReLU between fc1 and fc2": ref.se(x, p, relu=False),
        "the gate without the input (return x * gate, not the gate)": ref.se_gate(s, p)[:, :, None, None].expand_as(x),
    }


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
            wrong=lambda x: _se_wrong(x, {k: v.to(x.dtype) for k, v in state.items()}),
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


def _locality_pair() -> tuple[torch.Tensor, torch.Tensor]:
    c, _, changed = LOCALITY
    a = positive_input(590, 2, c, 3, 4)
    b = a.clone()
    b[:, changed] *= 2.0  # changes that channel's mean only; no zeros, so out / x is still the gate
    return a, b


def _locality_probe(cls: Any) -> dict:
    c, k, _ = LOCALITY
    m = cls(c, k_size=k)
    m.load_state_dict(seeded_state(eca_shapes(k), 59))
    a, b = _locality_pair()
    with torch.no_grad():
        return {"a": plain(m(a) / a), "b": plain(m(b) / b)}


def _eca_wrong(x: torch.Tensor, w: torch.Tensor) -> dict[str, torch.Tensor]:
    s = x.mean((2, 3))
    return {
        "max pooling instead of average pooling": ref.eca(x, w, pool="max"),
        "a softmax over the channels instead of a sigmoid": ref.eca(x, w, act="softmax"),
        "no sigmoid on the convolution's output": ref.eca(x, w, act="none"),
        "a convolution with the kernel flipped (check the channel order of the pooled vector)": ref.eca(x, w.flip(-1)),
        "the gate without the input (return x * gate, not the gate)": ref.eca_gate(s, w)[:, :, None, None].expand_as(x),
    }


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
            wrong=lambda x: _eca_wrong(x, w.to(x.dtype)),
            returned_hint="return x rescaled by the gate, of the input's shape",
        )
        expected = reference_grads(lambda x, p: ref.eca(x, p["conv.weight"]), {"conv.weight": w}, inputs[0], 600 + n)
        judge_grads(j, res.get("grads"), expected, what)
    pair = configs[len(ECA_CONFIGS)]
    c, k, changed = LOCALITY
    what = f"ECABlock({c}, k_size={k}) when only channel {changed}'s mean changes"
    if j.expect_ok(pair, what) and isinstance(pair, dict):
        shape = tuple(_locality_pair()[0].shape)
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


def _block_inputs(n: int) -> tuple[list[torch.Tensor], torch.Tensor]:
    specs, train_spec = BLOCK_CONFIGS[n][4], BLOCK_CONFIGS[n][5]
    inputs = [x - 0.25 for x in make_inputs(specs, 700 + 10 * n)]  # negative entries too: the final ReLU matters
    return inputs, positive_input(790 + n, *train_spec) - 0.25


SHUT = [(16, 16, 1, 4, (2, 16, 5, 4)), (8, 16, 2, 4, (2, 8, 5, 6))]  # gate-shut probes: (c_in, c_out, stride, r, input)


def _shut_state(n: int) -> dict[str, torch.Tensor]:
    c_in, c_out, stride, r, _ = SHUT[n]
    state = block_state(block_shapes(c_in, c_out, stride, r), 95 + n)
    state["se.fc2.bias"] = torch.full((c_out,), -40.0)  # every gate sigmoid(~-40), about 4e-18
    return state


def _shut_probe(cls: Any) -> list:
    out = []
    for n, (c_in, c_out, stride, r, shape) in enumerate(SHUT):

        def run(n=n, c_in=c_in, c_out=c_out, stride=stride, r=r, shape=shape) -> Any:
            m = cls(c_in, c_out, stride=stride, reduction=r)
            m.load_state_dict(_shut_state(n), strict=True)
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
        inputs, train_x = _block_inputs(n)
        state = block_state(block_shapes(c_in, c_out, stride, r), 80 + n)
        results.append(guarded(lambda: probe_block_cases(_build_block(cls, n), state, inputs, train_x, 900 + n)))
    results.append(guarded(lambda: _defaults_probe(cls)))
    results.append(guarded(lambda: _shut_probe(cls)))
    return {"configs": results}


def _out_shape(x: torch.Tensor, c_out: int, stride: int) -> tuple[int, ...]:
    return (x.shape[0], c_out, -(-x.shape[2] // stride), -(-x.shape[3] // stride))


def _block_wrong(x: torch.Tensor, p: dict[str, torch.Tensor], stride: int, train: bool = False) -> dict[str, torch.Tensor]:
    def f(**kw: Any) -> torch.Tensor:
        return ref.se_basic_block(x, p, stride, train=train, **kw)

    wrong = {
        "SE after the addition (SE-POST); the gate must scale the residual branch only, before the addition": f(placement="post"),
        "no SE at all (call self.se on the branch)": f(placement="none"),
        "SE on the shortcut instead of the residual branch": f(placement="shortcut"),
        "SE before bn2 (it goes after the branch's last batch norm)": f(placement="before_bn2"),
        "SE after the final ReLU (it goes on the branch, before the addition)": f(placement="after_relu", final_relu=False),
        "no ReLU after the addition": f(final_relu=False),
    }
    if "downsample.0.weight" in p:
        wrong["a shortcut without its batch norm"] = f(shortcut_bn=False)
    return wrong


BLOCK_HINT = (
    "conv1 = Conv2d(C_in, C_out, 3, stride, padding=1, bias=False), bn1, conv2 = Conv2d(C_out, C_out, 3, padding=1, bias=False), "
    "bn2, se = SEBlock(C_out, reduction), and downsample = Sequential(Conv2d(C_in, C_out, 1, stride, bias=False), "
    "BatchNorm2d(C_out)) only when stride != 1 or C_in != C_out (else None)"
)


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
        inputs, train_x = _block_inputs(n)

        def cast(x: torch.Tensor) -> dict[str, torch.Tensor]:
            return {k: v.to(x.dtype) if v.is_floating_point() else v for k, v in state.items()}

        judge_outputs(
            j,
            res,
            inputs,
            reference=lambda x: ref.se_basic_block_torchvision(x, cast(x), stride),
            what=lambda x: f"{what} in eval mode on {input_label(x)}",
            wrong=lambda x: _block_wrong(x, cast(x), stride),
            out_shape=lambda x: _out_shape(x, c_out, stride),
            returned_hint="conv1 carries the stride; the output has out_channels channels",
        )
        train = {"cases": [res.get("train")]}
        judge_outputs(
            j,
            train,
            [train_x],
            reference=lambda x: ref.se_basic_block_torchvision(x, cast(x), stride, train=True),
            what=lambda x: f"{what} in training mode (batch statistics) on {input_label(x)}",
            wrong=lambda x: _block_wrong(x, cast(x), stride, train=True),
            out_shape=lambda x: _out_shape(x, c_out, stride),
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
            state = _shut_state(n)
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
