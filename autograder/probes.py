"""Probe-side helpers for ``nn.Module`` exercises: seeded weights and inputs, a module run on cases.

These run in the student's process (the sandbox gets the ones a day's probes use) and hold no
answers: they build inputs and weights from seeds, call the student's module and return plain
data. The judge rebuilds the same weights and inputs from the same seeds
(:mod:`autograder.comparisons` compares them).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn as nn

from autograder.harness import ERROR_KEY, Plain, attempt, error_text, guarded, is_error, plain, randn

Shapes = dict[str, tuple[int, ...]]  # parameter name -> shape (the contract's state_dict)


def seeded_state(shapes: Shapes, seed: int, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """Weights for the contract's parameter names: N(0, 1) scaled by 1.5/sqrt(fan_in) (1-d tensors 0.5 N(0, 1)).

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
    """A (B, C, H, W) feature map with no zeros (so out / x recovers a multiplicative gate) and varied channel stats."""
    x = randn(seed, *shape, dtype=torch.float64)
    scale = 0.5 + torch.arange(shape[1], dtype=torch.float64).remainder(5)[None, :, None, None] * 0.4
    return (x * scale + 0.3 * torch.sign(x)).to(dtype)


def make_inputs(specs: list[tuple], seed: int) -> list[torch.Tensor]:
    """One :func:`positive_input` per spec ``(B, C, H, W[, "float64"])``, seeded ``seed + index``."""
    xs = []
    for i, spec in enumerate(specs):
        dtype = torch.float64 if spec[-1] == "float64" else torch.float32
        dims = [s for s in spec if isinstance(s, int)]
        xs.append(positive_input(seed + i, *dims, dtype=dtype))
    return xs


def double_copy(build: Callable[[], nn.Module], state: dict[str, torch.Tensor]) -> nn.Module | dict:
    """A fresh module with ``state`` loaded, in float64 and eval mode (or an error record)."""
    try:
        m = build()
        m.load_state_dict(state, strict=True)
        return m.double().eval()
    except Exception as exc:  # student code
        return {ERROR_KEY: error_text(exc)}


def input_grads(module: nn.Module, x: torch.Tensor, seed: int) -> dict[str, Plain]:
    """Gradients of ``sum(module(x) * w)`` (``w = randn(seed)``) for every parameter and the input (``"__input__"``)."""
    x = x.clone().requires_grad_(True)
    module.zero_grad()
    out = module(x)
    (out * randn(seed, *out.shape)).sum().backward()
    grads = {name: plain(p.grad) for name, p in module.named_parameters()}
    grads["__input__"] = plain(x.grad)
    return grads


def probe_module_cases(
    build: Callable[[], nn.Module],
    shapes: Shapes,
    seed: int,
    inputs: list[torch.Tensor],
    grad_weight_seed: int | None = None,
) -> dict[str, Any]:
    """Build a module, load seeded weights, run it on each input (float64 inputs in a .double() copy).

    Returns plain data: ``keys`` (state_dict names and shapes), ``load`` (None or the load error),
    ``cases`` (per input: ``out`` and whether the input was ``modified``) and, with
    ``grad_weight_seed``, ``grads`` (:func:`input_grads` for the first input).
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
            m = double_copy(build, state)
            if is_error(m):
                result["cases"].append({"out": m, "modified": False})
                continue
        x_in = x.clone()
        out = attempt(m, x_in)
        result["cases"].append({"out": out, "modified": not torch.equal(x_in, x)})
    if grad_weight_seed is not None:
        result["grads"] = guarded(lambda: input_grads(module, inputs[0], grad_weight_seed))
    return result


def same_mean_pair(seed: int, shape: tuple[int, ...] = (2, 16, 4, 4)) -> tuple[torch.Tensor, torch.Tensor]:
    """Two inputs (seeds ``seed``, ``seed + 1``) with equal channel means but different channel maxima."""
    a = positive_input(seed, *shape)
    b = positive_input(seed + 1, *shape)
    return a, b - b.mean((2, 3), keepdim=True) + a.mean((2, 3), keepdim=True)
