"""Hidden checks for day2_channel_attention: SEBlock, eca_kernel_size, ECABlock.

The judge recomputes every reference functionally (``autograder.reference.day2_channel_attention``)
from the same seeded weights the probe loads into the student's module. The module helpers here
(seeded weights, running a module on cases, comparing gradients) are reused by day 3.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from autograder.harness import Judge, Registry, array, attempt, guarded, is_error, is_tensor, plain, randn
from autograder.reference import day2_channel_attention as ref

REGISTRY = Registry("day2_channel_attention")

Shapes = dict[str, tuple[int, ...]]


# ---------------------------------------------------------------------------- shared module helpers
def seeded_state(shapes: Shapes, seed: int, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """Weights for the contract's parameter names: N(0, 1) scaled by 1/sqrt(fan_in) (biases 0.5).

    Moderate scales keep sigmoid gates away from 0 and 1, where wrong code would look right.
    """
    state = {}
    for i, name in enumerate(sorted(shapes)):
        shape = shapes[name]
        t = randn(seed * 100 + i, *shape, dtype=torch.float64)
        scale = 1.5 / math.sqrt(math.prod(shape[1:])) if len(shape) > 1 else 0.5
        state[name] = (t * scale).to(dtype)
    return state


def positive_input(seed: int, *shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A feature map with no zeros (so out / x recovers a multiplicative gate) and varied channel stats."""
    x = randn(seed, *shape, dtype=torch.float64)
    scale = 0.5 + torch.arange(shape[1], dtype=torch.float64).remainder(5)[None, :, None, None] * 0.4
    return (x * scale + 0.3 * torch.sign(x)).to(dtype)


def probe_module_cases(
    build: Callable[[], nn.Module],
    shapes: Shapes,
    seed: int,
    inputs: list[torch.Tensor],
    grad_weight_seed: int | None = None,
) -> dict:
    """Build a module, load seeded weights, run it on each input (float64 inputs in a .double() copy).

    Returns plain data: state_dict keys and shapes, load error if any, per-input output, whether
    the input was modified, and gradients of sum(out * w) for the first input.
    """
    module = build()
    keys = {k: [int(s) for s in v.shape] for k, v in module.state_dict().items()}
    result: dict[str, Any] = {"keys": keys, "cases": []}
    state = seeded_state(shapes, seed)
    loaded = guarded(lambda: (module.load_state_dict(state, strict=True), None)[1])
    result["load"] = loaded
    if is_error(loaded):
        return result
    module.eval()
    for x in inputs:
        m = module
        if x.dtype == torch.float64:  # a fresh float64 copy: the module must keep the input's dtype
            m = _double_copy(build, state)
            if isinstance(m, dict):  # error record
                result["cases"].append({"out": m, "modified": False})
                continue
        x_in = x.clone()
        out = attempt(m, x_in)
        result["cases"].append({"out": out, "modified": not torch.equal(x_in, x)})
    if grad_weight_seed is not None:
        result["grads"] = guarded(lambda: _grads(module, inputs[0], grad_weight_seed))
    return result


def _double_copy(build: Callable[[], nn.Module], state: dict[str, torch.Tensor]) -> Any:
    try:
        m = build()
        m.load_state_dict(state, strict=True)
        return m.double().eval()
    except Exception as exc:  # student code
        from autograder.harness import ERROR_KEY, error_text

        return {ERROR_KEY: error_text(exc)}


def _grads(module: nn.Module, x: torch.Tensor, seed: int) -> dict:
    x = x.clone().requires_grad_(True)
    module.zero_grad()
    out = module(x)
    (out * randn(seed, *out.shape)).sum().backward()
    grads = {name: plain(p.grad) for name, p in module.named_parameters()}
    grads["__input__"] = plain(x.grad)
    return grads


def reference_grads(fn: Callable[..., torch.Tensor], state: dict[str, torch.Tensor], x: torch.Tensor, seed: int) -> dict:
    """Gradients of sum(fn(x, state) * w) with respect to every weight and the input."""
    params = {k: v.clone().requires_grad_(True) for k, v in state.items()}
    x = x.clone().requires_grad_(True)
    out = fn(x, params)
    (out * randn(seed, *out.shape)).sum().backward()
    grads = {k: p.grad for k, p in params.items()}
    grads["__input__"] = x.grad
    return grads


def judge_structure(j: Judge, data: dict, shapes: Shapes, what: str, hint: str = "") -> bool:
    """state_dict keys and shapes must be exactly the contract's; the seeded weights must load."""
    got = {k: tuple(v) for k, v in data["keys"].items()}
    want = {k: tuple(v) for k, v in shapes.items()}
    if got != want:
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        wrong = sorted(k for k in set(got) & set(want) if got[k] != want[k])
        parts = []
        if missing:
            parts.append(f"missing {', '.join(f'{k} {want[k]}' for k in missing)}")
        if extra:
            parts.append(f"unexpected {', '.join(f'{k} {got[k]}' for k in extra)}")
        if wrong:
            parts.append("wrong shape " + ", ".join(f"{k} {got[k]} (expected {want[k]})" for k in wrong))
        return j.fail(f"{what}: the parameters (state_dict) should be exactly {want}; {'; '.join(parts)}{_h(hint)}")
    if is_error(data["load"]):
        return j.fail(f"{what}: loading weights into the module failed: {data['load']['__error__']}")
    return True


def _h(hint: str) -> str:
    return f". Hint: {hint}" if hint else ""


def matches(value: Any, expected: torch.Tensor, atol: float = 1e-5, rtol: float = 1e-4) -> bool:
    """Whether a probed tensor equals ``expected`` (used to name a typical mistake)."""
    if not is_tensor(value) or tuple(value["shape"]) != tuple(expected.shape):
        return False
    got = array(value).astype(np.float64)
    exp = expected.detach().double().numpy()
    return bool(np.all(np.abs(got - exp) <= atol + rtol * np.abs(exp)))


def judge_grads(j: Judge, grads: Any, expected: dict[str, torch.Tensor], what: str) -> None:
    if not j.expect_ok(grads, f"backward through {what}"):
        return
    for name, ref_grad in expected.items():
        label = "the input" if name == "__input__" else name
        got = grads.get(name)
        if got is None:
            j.fail(
                f"{what}: no gradient reached {label}; keep every step in torch operations "
                "(no .detach(), .data, .numpy() or torch.no_grad() in forward), and use the parameter"
            )
            continue
        j.expect_close(got, ref_grad, f"{what}: gradient with respect to {label}", atol=1e-4, rtol=1e-3)


def judge_outputs(
    j: Judge,
    data: dict,
    inputs: list[torch.Tensor],
    reference: Callable[[torch.Tensor], torch.Tensor],
    what: Callable[[torch.Tensor], str],
    wrong: Callable[[torch.Tensor], dict[str, torch.Tensor]] | None = None,
    out_shape: Callable[[torch.Tensor], tuple[int, ...]] | None = None,
    returned_hint: str = "",
) -> None:
    """Compare each case with the reference; name the typical mistake the output matches, if any."""
    for x, case in zip(inputs, data["cases"], strict=True):
        label = what(x)
        out = case["out"]
        expected = reference(x)
        shape = out_shape(x) if out_shape else tuple(x.shape)
        dtype = str(x.dtype).replace("torch.", "")
        if not j.expect_ok(out, label):
            continue
        if is_tensor(out) and tuple(out["shape"]) != shape:
            j.fail(f"{label} has shape {tuple(out['shape'])}, expected {shape}{_h(returned_hint)}")
            continue
        if not j.expect_tensor(out, label, shape=shape, dtype=dtype):
            continue
        j.expect(not case["modified"], f"{label}: the input was modified in place; compute into a new tensor (x * g, not x *= g)")
        hint = ""
        if wrong:
            for mistake, value in wrong(x).items():
                if matches(out, value):
                    hint = f"your output matches what {mistake} gives"
                    break
        j.expect_close(out, expected, label, atol=1e-5, rtol=1e-4, hint=hint)


# ---------------------------------------------------------------------------- SEBlock
SE_CONFIGS = [  # (channels, reduction, input shapes)
    (32, 16, [(2, 32, 5, 7), (1, 32, 1, 1)]),
    (8, 16, [(3, 8, 4, 4)]),  # fewer channels than the reduction ratio: hidden = 1
    (12, 4, [(2, 12, 6, 3), (2, 12, 3, 5, "float64")]),
    (64, 8, [(1, 64, 9, 2)]),
]


def se_shapes(c: int, r: int) -> Shapes:
    h = max(1, c // r)
    return {"fc1.weight": (h, c), "fc1.bias": (h,), "fc2.weight": (c, h), "fc2.bias": (c,)}


def _inputs(specs: list[tuple], seed: int) -> list[torch.Tensor]:
    xs = []
    for i, spec in enumerate(specs):
        dtype = torch.float64 if spec[-1] == "float64" else torch.float32
        dims = [s for s in spec if isinstance(s, int)]
        xs.append(positive_input(seed + i, *dims, dtype=dtype))
    return xs


def probe_se(cls: Any) -> dict:
    results = []
    for n, (c, r, specs) in enumerate(SE_CONFIGS):
        inputs = _inputs(specs, 200 + 10 * n)
        results.append(guarded(lambda: probe_module_cases(lambda: cls(c, reduction=r), se_shapes(c, r), 20 + n, inputs, 300 + n)))
    # default reduction is 16
    results.append(guarded(lambda: {"keys": {k: list(v.shape) for k, v in cls(64).state_dict().items()}}))
    # the gate must depend on the spatial mean only: same means, different maxima
    results.append(guarded(lambda: _same_mean_probe(cls)))
    return {"configs": results}


def _same_mean_pair() -> tuple[torch.Tensor, torch.Tensor]:
    a = positive_input(400, 2, 16, 4, 4)
    b = positive_input(401, 2, 16, 4, 4)
    b = b - b.mean((2, 3), keepdim=True) + a.mean((2, 3), keepdim=True)  # same channel means, other maxima
    return a, b


def _same_mean_probe(cls: Any) -> dict:
    m = cls(16, reduction=4)
    m.load_state_dict(seeded_state(se_shapes(16, 4), 41))
    a, b = _same_mean_pair()
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
    configs = data["configs"]
    for n, (c, r, specs) in enumerate(SE_CONFIGS):
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
        inputs = _inputs(specs, 200 + 10 * n)
        judge_outputs(
            j,
            res,
            inputs,
            reference=lambda x: ref.se(x, {k: v.to(x.dtype) for k, v in state.items()}),
            what=lambda x: f"{what} on a {x.dtype} input of shape {tuple(x.shape)}".replace("torch.", ""),
            wrong=lambda x: _se_wrong(x, {k: v.to(x.dtype) for k, v in state.items()}),
            returned_hint="return x rescaled by the gate, of the input's shape",
        )
        for x, case in zip(inputs, res["cases"], strict=True):
            if is_tensor(case["out"]) and tuple(case["out"]["shape"]) == tuple(x.shape):
                gate = array(case["out"]) / x.numpy()
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
        j.expect(
            tuple(default["keys"].get("fc1.weight", ())) == (4, 64),
            f"SEBlock(64) should use reduction=16 by default (fc1.weight (4, 64)), got {default['keys'].get('fc1.weight')}",
        )
    pair = configs[len(SE_CONFIGS) + 1]
    if j.expect_ok(pair, "SEBlock on two inputs with the same channel means") and is_tensor(pair["a"]) and is_tensor(pair["b"]):
        ga, gb = array(pair["a"]), array(pair["b"])
        if ga.shape == gb.shape:
            j.expect(
                bool(np.allclose(ga, gb, atol=1e-5)),
                "SEBlock: two inputs with the same spatial mean per channel (but different maxima) must get the same gates; "
                "the squeeze is global AVERAGE pooling",
            )


# ---------------------------------------------------------------------------- eca_kernel_size
ECA_K_CASES = [
    (1, {}),
    (2, {}),
    (3, {}),
    (4, {}),
    (8, {}),
    (16, {}),
    (24, {}),
    (32, {}),
    (64, {}),
    (100, {}),
    (128, {}),
    (256, {}),
    (512, {}),
    (1024, {}),
    (2048, {}),
    (4096, {}),
    (64, {"gamma": 3}),
    (256, {"gamma": 3, "b": 2}),
    (512, {"gamma": 1}),
    (1024, {"b": 0}),
    (32, {"gamma": 1.5, "b": 0.5}),
]


def probe_eca_kernel_size(fn: Any) -> dict:
    return {"values": [attempt(fn, c, **kw) for c, kw in ECA_K_CASES]}


@REGISTRY.exercise("eca_kernel_size", probe_eca_kernel_size)
def judge_eca_kernel_size(data: dict, j: Judge) -> None:
    for (c, kw), got in zip(ECA_K_CASES, data["values"], strict=True):
        args = ", ".join([str(c)] + [f"{k}={v}" for k, v in kw.items()])
        what = f"eca_kernel_size({args})"
        if not j.expect_ok(got, what):
            continue
        if isinstance(got, bool) or not isinstance(got, int):
            j.fail(f"{what} should return a Python int, got {type(got).__name__} {got!r}")
            continue
        want = ref.eca_kernel_size(c, **kw)
        t = int(abs((math.log2(c) + kw.get("b", 1)) / kw.get("gamma", 2)))
        j.expect(
            got == want,
            f"{what} = {got}, expected {want} (t = int(|(log2 {c} + b) / gamma|) = {t}, "
            f"{'odd, so k = t' if t % 2 else 'even, so k = t + 1'})",
        )


# ---------------------------------------------------------------------------- ECABlock
ECA_CONFIGS = [  # (channels, k_size argument, expected k, input shapes)
    (64, None, 3, [(2, 64, 5, 7), (1, 64, 1, 1)]),
    (256, None, 5, [(2, 256, 3, 4)]),
    (16, 5, 5, [(3, 16, 4, 6), (2, 16, 3, 2, "float64")]),
    (3, None, 1, [(2, 3, 5, 5)]),  # log2(3) + 1 < 3: k = 1
    (40, 7, 7, [(1, 40, 2, 9)]),
]


def probe_eca(cls: Any) -> dict:
    results = []
    for n, (c, k_arg, k, specs) in enumerate(ECA_CONFIGS):
        inputs = _inputs(specs, 500 + 10 * n)
        shapes = {"conv.weight": (1, 1, k)}

        def build(c=c, k_arg=k_arg):
            return cls(c) if k_arg is None else cls(c, k_size=k_arg)

        res = guarded(lambda: probe_module_cases(build, shapes, 60 + n, inputs, 600 + n))
        if not is_error(res):
            res["conv"] = guarded(lambda: _conv_info(build()))
        results.append(res)
    return {"configs": results}


def _conv_info(m: nn.Module) -> dict:
    conv = getattr(m, "conv", None)
    return {
        "type": type(conv).__name__,
        "padding": [int(p) for p in getattr(conv, "padding", ())] if not isinstance(getattr(conv, "padding", 0), str) else [-1],
        "bias": getattr(conv, "bias", None) is not None,
    }


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
    for n, ((c, k_arg, k, specs), res) in enumerate(zip(ECA_CONFIGS, data["configs"], strict=True)):
        what = f"ECABlock({c})" if k_arg is None else f"ECABlock({c}, k_size={k_arg})"
        if not j.expect_ok(res, what):
            continue
        shapes = {"conv.weight": (1, 1, k)}
        if not judge_structure(
            j,
            res,
            shapes,
            what,
            hint=f"conv = nn.Conv1d(1, 1, k, padding=k // 2, bias=False) with k = k_size or eca_kernel_size(channels) = {k}",
        ):
            continue
        conv = res.get("conv")
        if j.expect_ok(conv, f"{what}.conv"):
            j.expect(conv["type"] == "Conv1d", f"{what}.conv should be an nn.Conv1d, got {conv['type']}")
            j.expect(conv["padding"] == [k // 2], f"{what}.conv should have padding={k // 2} (k // 2), got {conv['padding']}")
            j.expect(not conv["bias"], f"{what}.conv must have no bias (bias=False)")
        w = seeded_state(shapes, 60 + n)["conv.weight"]
        inputs = _inputs(specs, 500 + 10 * n)
        judge_outputs(
            j,
            res,
            inputs,
            reference=lambda x: ref.eca(x, w.to(x.dtype)),
            what=lambda x: f"{what} on a {x.dtype} input of shape {tuple(x.shape)}".replace("torch.", ""),
            wrong=lambda x: _eca_wrong(x, w.to(x.dtype)),
            returned_hint="return x rescaled by the gate, of the input's shape",
        )
        expected = reference_grads(lambda x, p: ref.eca(x, p["conv.weight"]), {"conv.weight": w}, inputs[0], 600 + n)
        judge_grads(j, res.get("grads"), expected, what)


# ---------------------------------------------------------------------------- concept questions
REGISTRY.quiz(
    "quiz_1",
    "B",
    "fc1 has 256*16 weights + 16 biases and fc2 has 16*256 weights + 256 biases: 2*256^2/16 + 16 + 256 = 8,464.",
)
REGISTRY.quiz(
    "quiz_2",
    "B",
    "The 1-D convolution of width k runs along the vector of channel means, so gate c sees the means of the k channels "
    "centred on c (zero-padded at the ends), nothing else.",
)
REGISTRY.quiz(
    "quiz_3",
    "C",
    "A softmax normalises the gates to sum 1, so channels compete for one unit of weight; SE's sigmoid gives each channel "
    "an independent factor in (0, 1), so many channels can be kept at once.",
)
