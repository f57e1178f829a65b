"""Hidden checks for day5_vit: patchify, PatchEmbedding, EncoderBlock, VisionTransformer, MeanPoolViT,
attention_rollout, interpolate_pos_embed and the concept questions.

Probes (run in the student's process) choose seeded inputs and seeded weights under the course's
parameter names (``seeded_state``), call the student's code and return plain data. They never
call a reference implementation. Judges (trusted) rebuild every case from its seed and compare with
independent references: a strided convolution (patchify, PatchEmbedding), torchvision's
``EncoderBlock``, ``VisionTransformer`` and ``Encoder`` holding the same weights (through
``autograder.reference.day5_vit``, small configurations and the full ViT-B/16 shape), an
independent numpy rollout, and torchvision's ``interpolate_embeddings``. Where a typical mistake
explains a difference (post-norm, a missing residual, mean pooling, position embeddings skipped,
patches in (p, p, C) order, the mean taken before the final LayerNorm, ...) the judge recomputes
that mistake and names it.
"""

from __future__ import annotations

import functools
import math
from collections import OrderedDict
from typing import Any

import torch
import torch.nn.functional as F

from autograder.harness import Judge, Registry, array, attempt, guarded, is_tensor, plain, randn
from autograder.reference.day5_vit import (
    block_to_torchvision,
    mean_pool_to_torchvision,
    reference_interpolate_pos_embed,
    reference_rollout,
    torchvision_block,
    torchvision_mean_pool_vit,
    torchvision_vit,
    vit_to_torchvision,
)

REGISTRY = Registry("day5_vit")
F64 = torch.float64


# ---------------------------------------------------------------------------- shared helpers
def _dt(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def describe(value: Any) -> str:
    """A short description of probed data that is not what a check expected."""
    if isinstance(value, dict) and "__error__" in value:
        return f"an error ({str(value['__error__'])[:120]})"
    if isinstance(value, (list, tuple)):
        return f"a list of length {len(value)}"
    return f"{type(value).__name__} {str(value)[:80]}"


def _cases(j: Judge, data: Any, expected: int, what: str, key: str = "cases") -> list | None:
    """The probed case list, if it holds exactly the ``expected`` number of cases; else a clear failure."""
    if not j.expect_ok(data, f"checking {what}"):
        return None
    cases = data.get(key) if isinstance(data, dict) else None
    if not isinstance(cases, list) or len(cases) != expected or not all(isinstance(c, (dict, str)) for c in cases):
        if not isinstance(cases, list):
            got = describe(cases)
        elif len(cases) != expected:
            got = f"{len(cases)} results"
        else:
            got = "results that are not the records the checks write"
        j.fail(
            f"the checks of {what} ran {expected} cases but received {got}: the checks did not complete "
            "(did your code stop them, or change the function or class while they ran?)"
        )
        return None
    return cases


def _close(value: Any, expected: torch.Tensor, atol: float, rtol: float) -> bool:
    """Quiet closeness test used to recognise a typical mistake (never records a failure)."""
    if not is_tensor(value) or tuple(value["shape"]) != tuple(expected.shape):
        return False
    return bool(torch.allclose(torch.as_tensor(array(value)).double(), expected.detach().double(), atol=atol, rtol=rtol))


def _diagnose(value: Any, alternatives: list[tuple[str, torch.Tensor]], atol: float = 1e-4, rtol: float = 1e-3) -> str:
    """The explanation of the first known mistake whose output matches the student's, else ''."""
    for explanation, alt in alternatives:
        if _close(value, alt, atol, rtol):
            return explanation
    return ""


def _expect_close_explained(
    j: Judge,
    value: Any,
    expected: torch.Tensor,
    what: str,
    atol: float,
    rtol: float,
    mistakes: Any,
    default_hint: str,
    diag_tol: tuple[float, float] | None = None,
) -> bool:
    """``expect_close``, computing the known mistakes (``mistakes()``) only when the values differ."""
    hint = ""
    if not _close(value, expected, atol, rtol):
        hint = _diagnose(value, mistakes(), *(diag_tol or (atol * 10, rtol * 10))) or default_hint
    return j.expect_close(value, expected, what, atol=atol, rtol=rtol, hint=hint)


def _raises_value_error(fn: Any, *args: Any) -> str:
    """'ValueError', 'no error', or the other exception raised."""
    try:
        fn(*args)
    except ValueError:
        return "ValueError"
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc)[:120]}"
    return "no error"


def _state_shapes(module: Any) -> dict[str, list[int]]:
    return {k: [int(s) for s in v.shape] for k, v in module.state_dict().items()}


def _load(module: Any, state: dict[str, torch.Tensor]) -> None:
    module.load_state_dict(state, strict=True)


def seeded_state(shapes: dict[str, list[int]], seed: int, small_tokens: bool = False) -> OrderedDict:
    """Seeded float32 values of a trained-like scale for every course-named tensor in ``shapes``.

    torchvision starts the head and the class token at zero and LayerNorms at (1, 0): a
    comparison on such weights would not notice a missing head or a skipped LayerNorm, so every
    tensor is random. ``small_tokens`` scales the patch projection and the embeddings down so that
    the LayerNorm inputs have a variance near 1e-6, where the eps matters. The probe loads these
    values into the student's module; the judge loads the same values into torchvision's.
    """
    state = OrderedDict()
    for i, (name, shape) in enumerate(shapes.items()):
        noise = randn(seed * 1000 + i, *shape)
        parts = name.split(".")
        if parts[-1] == "weight" and len(parts) >= 2 and parts[-2] in ("norm", "norm1", "norm2"):
            value = 1.0 + 0.2 * noise
        elif len(shape) >= 2 and name not in ("cls_token", "pos_embed"):
            value = noise / math.prod(shape[1:]) ** 0.5
        else:
            value = 0.1 * noise
        if small_tokens and (name.startswith("patch_embed.") or name in ("cls_token", "pos_embed")):
            value = value * 1e-3
        state[name] = value
    return state


def _judge_state_keys(j: Judge, got: Any, expected: dict[str, list[int]], what: str) -> bool:
    """Compare a probed {name: shape} with the contract's; explain missing, extra and misshaped entries."""
    if not j.expect_ok(got, f"building {what}"):
        return False
    if not isinstance(got, dict):
        return j.fail(f"{what}: could not read its parameters (state_dict gave {describe(got)})")
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    ok = True
    if missing or extra:
        hint = ""
        if "cls_token" in extra:
            hint = " A mean-pooling ViT has no class token."
        ok = j.fail(
            f"{what}'s parameters do not have the contract's names: missing {missing[:6]}"
            f"{' ...' if len(missing) > 6 else ''}, unexpected {extra[:6]}{' ...' if len(extra) > 6 else ''}. "
            f"Use exactly the submodule names of the exercise text.{hint}"
        )
    for name in sorted(set(expected) & set(got)):
        if list(got[name]) != list(expected[name]):
            hint = ""
            if name == "pos_embed":
                hint = " (one position per token of the sequence)"
            ok = j.fail(f"{what}: {name} has shape {tuple(got[name])}, expected {tuple(expected[name])}{hint}")
    return ok


def _judge_grads(j: Judge, grads: Any, reference: Any, mapping: dict[str, str], what: str) -> None:
    """Gradients probed per course name against ``reference``'s (after its backward), through ``mapping``."""
    if not isinstance(grads, dict):
        j.fail(f"{what}: the gradients could not be read ({describe(grads)})")
        return
    params = dict(reference.named_parameters())
    for ours, theirs in mapping.items():
        got = grads.get(ours)
        if got is None:
            j.fail(f"{what}: parameter {ours} gets no gradient; is it used in forward?")
            return
        if not j.expect_close(got, params[theirs].grad, f"{what}: gradient of {ours}", atol=1e-4, rtol=1e-3):
            return


# ---------------------------------------------------------------------------- patchify
def _patchify_cases() -> list[tuple[str, torch.Tensor, int]]:
    return [
        ("a (2, 3, 8, 12) batch with p=4 (non-square)", randn(1, 2, 3, 8, 12), 4),
        ("a single (1, 1, 6, 6) grey image with p=3", randn(2, 1, 1, 6, 6), 3),
        ("a (2, 3, 32, 32) batch with p=16", randn(3, 2, 3, 32, 32), 16),
        ("a float64 (1, 2, 4, 10) image with p=2", randn(4, 1, 2, 4, 10, dtype=F64), 2),
        ("p=1 on a (1, 3, 3, 2) image", randn(5, 1, 3, 3, 2), 1),
        ("p equal to the image size, (3, 1, 5, 5) with p=5 (one patch per image)", randn(6, 3, 1, 5, 5), 5),
        ("a tall (1, 3, 12, 4) image with p=4", randn(7, 1, 3, 12, 4), 4),
    ]


PATCHIFY_BAD = [
    ("H=10 with p=4", (1, 3, 10, 12), 4),
    ("W=10 with p=4", (1, 3, 8, 10), 4),
    ("H=7 and W=7 with p=2", (2, 1, 7, 7), 2),
]


def probe_patchify(fn: Any) -> dict:
    cases = []
    for _, x, p in _patchify_cases():
        before = x.clone()
        cases.append({"out": attempt(fn, x, p), "modified": not torch.equal(before, x)})
    bad = [_raises_value_error(fn, torch.zeros(*shape), p) for _, shape, p in PATCHIFY_BAD]
    return {"cases": cases, "bad": bad}


def _reference_patchify(x: torch.Tensor, p: int) -> torch.Tensor:
    """Patches through a convolution whose kernel picks one pixel per output channel (C, p, p order)."""
    c = x.shape[1]
    pick = torch.eye(c * p * p, dtype=x.dtype).reshape(c * p * p, c, p, p)
    return F.conv2d(x, pick, stride=p).flatten(2).transpose(1, 2)


def _patchify_mistakes(x: torch.Tensor, p: int) -> list[tuple[str, torch.Tensor]]:
    b, c, h, w = x.shape
    blocks = x.reshape(b, c, h // p, p, w // p, p)
    n, d = (h // p) * (w // p), c * p * p
    return [
        (
            "each patch is flattened in (p, p, C) order (channels last); flatten in (C, p, p) order, the order of a conv weight",
            blocks.permute(0, 2, 4, 3, 5, 1).reshape(b, n, d),
        ),
        (
            "the patches come in column-major order; list them row by row (patch n at row n // (W/p))",
            blocks.permute(0, 4, 2, 1, 3, 5).reshape(b, n, d),
        ),
        (
            "the patch rows and columns are swapped inside each patch (flattened (C, p_w, p_h))",
            blocks.permute(0, 2, 4, 1, 5, 3).reshape(b, n, d),
        ),
        ("the pixels were reshaped without permuting the axes, so patches mix rows of the image", x.reshape(b, n, d)),
    ]


@REGISTRY.exercise("patchify", probe_patchify)
def judge_patchify(data: dict, j: Judge) -> None:
    expected_cases = _patchify_cases()
    cases = _cases(j, data, len(expected_cases), "patchify")
    bad = _cases(j, data, len(PATCHIFY_BAD), "patchify on sizes not divisible by p", key="bad")
    for (what, x, p), case in zip(expected_cases if cases else [], cases or [], strict=True):
        what = f"patchify on {what}"
        expected = _reference_patchify(x, p)
        if not isinstance(case, dict) or not j.expect_tensor(
            case.get("out"), what, shape=tuple(expected.shape), dtype=_dt(x.dtype)
        ):
            continue
        hint = _diagnose(case["out"], _patchify_mistakes(x, p), atol=1e-6, rtol=0) or (
            "reshape to (B, C, H/p, p, W/p, p), permute to (B, H/p, W/p, C, p, p), reshape to (B, N, C*p*p)"
        )
        j.expect_close(case["out"], expected, f"{what}, compared with a strided convolution", atol=1e-6, rtol=1e-6, hint=hint)
        j.expect(not case.get("modified"), f"{what} changed its input in place")
    for (what, _, _), got in zip(PATCHIFY_BAD if bad else [], bad or [], strict=True):
        j.expect(got == "ValueError", f"patchify with {what} should raise ValueError (size not divisible by p); it gave {got}")


# ---------------------------------------------------------------------------- PatchEmbedding
PE_CASES = [
    # (description, config, batch, dtype, seed)
    (
        "img_size=16, patch_size=4, in_chans=3, embed_dim=8",
        dict(img_size=16, patch_size=4, in_chans=3, embed_dim=8),
        2,
        torch.float32,
        10,
    ),
    (
        "img_size=12, patch_size=3, in_chans=1, embed_dim=5 in float64",
        dict(img_size=12, patch_size=3, in_chans=1, embed_dim=5),
        1,
        F64,
        20,
    ),
    (
        "img_size=32, patch_size=16, in_chans=3, embed_dim=24",
        dict(img_size=32, patch_size=16, in_chans=3, embed_dim=24),
        3,
        torch.float32,
        30,
    ),
    (
        "img_size=6, patch_size=1, in_chans=2, embed_dim=3 (one token per pixel)",
        dict(img_size=6, patch_size=1, in_chans=2, embed_dim=3),
        2,
        torch.float32,
        40,
    ),
]


def _pe_tensors(cfg: dict, batch: int, dtype: torch.dtype, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    d, c, p, s = cfg["embed_dim"], cfg["in_chans"], cfg["patch_size"], cfg["img_size"]
    weight = randn(seed, d, c, p, p, dtype=dtype) / (c * p * p) ** 0.5
    bias = randn(seed + 1, d, dtype=dtype) * 0.1
    x = randn(seed + 2, batch, c, s, s, dtype=dtype)
    return weight, bias, x


def _pe_bad_shapes(cfg: dict) -> list[tuple[str, tuple[int, ...]]]:
    """Inputs whose height or width is not divisible by the patch size (none for patch_size=1)."""
    p, s, c = cfg["patch_size"], cfg["img_size"], cfg["in_chans"]
    if p == 1:
        return []
    return [
        (f"a {s + 1}x{s} image (height not divisible by {p})", (1, c, s + 1, s)),
        (f"a {s}x{s + 1} image (width not divisible by {p})", (1, c, s, s + 1)),
    ]


def _probe_pe_case(cls: Any, cfg: dict, batch: int, dtype: torch.dtype, seed: int) -> dict:
    module = cls(**cfg)
    proj = getattr(module, "proj", None)
    info = {
        "proj_type": type(proj).__name__,
        "kernel_size": plain(list(getattr(proj, "kernel_size", []) or [])),
        "stride": plain(list(getattr(proj, "stride", []) or [])),
        "num_patches": plain(getattr(module, "num_patches", None)),
        "shapes": _state_shapes(module),
    }
    weight, bias, x = _pe_tensors(cfg, batch, dtype, seed)
    module = module.to(dtype)
    info["load"] = attempt(_load, module, {"proj.weight": weight, "proj.bias": bias})
    before = x.clone()
    info["out"] = attempt(module, x)
    info["modified"] = not torch.equal(before, x)
    info["bad"] = [_raises_value_error(module, torch.zeros(*shape, dtype=dtype)) for _, shape in _pe_bad_shapes(cfg)]
    return info


def probe_patch_embedding(cls: Any) -> dict:
    return {"cases": [guarded(lambda c=c: _probe_pe_case(cls, *c[1:])) for c in PE_CASES]}


@REGISTRY.exercise("PatchEmbedding", probe_patch_embedding)
def judge_patch_embedding(data: dict, j: Judge) -> None:
    cases = _cases(j, data, len(PE_CASES), "PatchEmbedding")
    for (what, cfg, batch, dtype, seed), case in zip(PE_CASES if cases else [], cases or [], strict=True):
        what = f"PatchEmbedding({what})"
        if not j.expect_ok(case, what):
            continue
        p, d, c = cfg["patch_size"], cfg["embed_dim"], cfg["in_chans"]
        if not j.expect(case["proj_type"] == "Conv2d", f"{what}: proj should be an nn.Conv2d, got {case['proj_type']}"):
            continue
        j.expect(
            list(case["kernel_size"]) == [p, p] and list(case["stride"]) == [p, p],
            f"{what}: proj should have kernel_size = stride = {p}, got kernel {case['kernel_size']}, stride {case['stride']}",
        )
        grid = cfg["img_size"] // p
        if case["num_patches"] is not None:  # optional attribute (the exercise text asks for it; the contract does not)
            j.expect(
                case["num_patches"] == grid * grid, f"{what}: num_patches should be {grid * grid}, got {case['num_patches']!r}"
            )
        if not _judge_state_keys(j, case["shapes"], {"proj.weight": [d, c, p, p], "proj.bias": [d]}, what):
            continue
        if not j.expect_ok(case["load"], f"{what}: loading proj.weight and proj.bias"):
            continue
        weight, bias, x = _pe_tensors(cfg, batch, dtype, seed)
        expected = F.conv2d(x, weight, bias, stride=p).flatten(2).transpose(1, 2)
        if j.expect_tensor(case["out"], f"{what}: output", shape=tuple(expected.shape), dtype=_dt(dtype)):
            hint = (
                _diagnose(
                    case["out"],
                    [
                        (
                            "the tokens are in column-major order; use flatten(2).transpose(1, 2) on the (B, D, H/p, W/p) output",
                            F.conv2d(x, weight, bias, stride=p).transpose(2, 3).flatten(2).transpose(1, 2),
                        ),
                        (
                            "the output was reshaped to (B, N, D) without transposing (it mixes channels and positions); "
                            "use flatten(2).transpose(1, 2)",
                            F.conv2d(x, weight, bias, stride=p).reshape(batch, -1, d),
                        ),
                    ],
                )
                or "out = proj(x).flatten(2).transpose(1, 2)"
            )
            j.expect_close(case["out"], expected, f"{what}: output", atol=1e-5, rtol=1e-4, hint=hint)
        j.expect(not case["modified"], f"{what} changed its input in place")
        bad_shapes = _pe_bad_shapes(cfg)
        if isinstance(case["bad"], list) and len(case["bad"]) == len(bad_shapes):
            for (bad_what, _), got in zip(bad_shapes, case["bad"], strict=True):
                j.expect(got == "ValueError", f"{what} on {bad_what} should raise ValueError; it gave {got}")
        else:
            j.fail(f"{what}: the checks on sizes not divisible by the patch size did not complete")


# ---------------------------------------------------------------------------- EncoderBlock
BLOCK_CASES = [
    # (description, dim, heads, mlp_ratio, x shape, dtype, seed, input scale)
    ("dim=16, num_heads=2 on (2, 7, 16) tokens", 16, 2, 4.0, (2, 7, 16), torch.float32, 100, 1.0),
    ("dim=24, num_heads=3, mlp_ratio=2.0 on one (1, 5, 24) float64 sequence", 24, 3, 2.0, (1, 5, 24), F64, 200, 1.0),
    ("dim=12, num_heads=3, mlp_ratio=1.5 (hidden 18) in float64", 12, 3, 1.5, (2, 4, 12), F64, 300, 1.0),
    (
        "dim=32, num_heads=4 on float64 tokens of size 1e-3 (where LayerNorm's eps matters)",
        32,
        4,
        4.0,
        (2, 9, 32),
        F64,
        400,
        1e-3,
    ),
    (
        "dim=8, num_heads=1, mlp_ratio=2.7 (hidden int(21.6) = 21, not 22) in float64",
        8,
        1,
        2.7,
        (3, 6, 8),
        F64,
        500,
        1.0,
    ),
    ("dim=20, num_heads=5, mlp_ratio=0.5 (a narrow MLP, hidden 10) on a single token", 20, 5, 0.5, (2, 1, 20), F64, 600, 1.0),
]


def _block_input(shape: tuple, dtype: torch.dtype, seed: int, scale: float) -> torch.Tensor:
    return randn(seed + 7, *shape, dtype=dtype) * scale


def _module_info(m: Any) -> dict:
    """Type names, LayerNorm eps and MLP layout of a block (plain data)."""
    info = {}
    for name in ("norm1", "norm2", "attn", "mlp"):
        sub = getattr(m, name, None)
        info[name] = type(sub).__name__
    info["eps"] = [plain(getattr(getattr(m, n, None), "eps", None)) for n in ("norm1", "norm2")]
    mlp = getattr(m, "mlp", None)
    info["mlp_layers"] = [type(layer).__name__ for layer in mlp] if isinstance(mlp, torch.nn.Sequential) else None
    info["gelu_approx"] = (
        [getattr(layer, "approximate", None) for layer in mlp if type(layer).__name__ == "GELU"] if info["mlp_layers"] else []
    )
    return info


def _block_shapes(dim: int, ratio: float) -> dict[str, list[int]]:
    hidden = int(dim * ratio)
    return {
        "norm1.weight": [dim],
        "norm1.bias": [dim],
        "attn.qkv.weight": [3 * dim, dim],
        "attn.qkv.bias": [3 * dim],
        "attn.proj.weight": [dim, dim],
        "attn.proj.bias": [dim],
        "norm2.weight": [dim],
        "norm2.bias": [dim],
        "mlp.0.weight": [hidden, dim],
        "mlp.0.bias": [hidden],
        "mlp.2.weight": [dim, hidden],
        "mlp.2.bias": [dim],
    }


def _probe_block_case(
    cls: Any, dim: int, heads: int, ratio: float, shape: tuple, dtype: torch.dtype, seed: int, scale: float, grads: bool
) -> dict:
    module = cls(dim, heads, mlp_ratio=ratio)
    info = _module_info(module)
    info["shapes"] = _state_shapes(module)
    info["load"] = attempt(_load, module, seeded_state(_block_shapes(dim, ratio), seed))
    module = module.to(dtype).eval()
    x = _block_input(shape, dtype, seed, scale)
    before = x.clone()
    info["out"] = attempt(module, x)
    info["modified"] = not torch.equal(before, x)
    if grads:

        def backward() -> dict:
            xg = x.clone().requires_grad_(True)
            (module(xg) * randn(seed + 9, *shape, dtype=dtype)).sum().backward()
            return {"x": plain(xg.grad), "params": {n: plain(p.grad) for n, p in module.named_parameters()}}

        info["grads"] = guarded(backward)
    return info


def probe_encoder_block(cls: Any) -> dict:
    return {"cases": [guarded(lambda c=c, i=i: _probe_block_case(cls, *c[1:], grads=i == 0)) for i, c in enumerate(BLOCK_CASES)]}


def _block_mistakes(tv: Any, x: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
    """Outputs of the usual wrong blocks, built from torchvision's sub-layers."""

    def attn(u: torch.Tensor) -> torch.Tensor:
        return tv.self_attention(u, u, u, need_weights=False)[0]

    ln1, ln2, mlp = tv.ln_1, tv.ln_2, tv.mlp
    with torch.no_grad():
        post1 = ln1(x + attn(x))
        a = x + attn(ln1(x))
        no_attn_res = attn(ln1(x))
        mlp_relu = lambda u: mlp[3](torch.relu(mlp[0](u)))
        return [
            (
                "this is a post-norm block (LayerNorm after the residual sum); ViT is pre-norm: "
                "x = x + attn(norm1(x)); x = x + mlp(norm2(x))",
                ln2(post1 + mlp(post1)),
            ),
            (
                "the residual connection around the attention is missing (x = x + attn(norm1(x)))",
                no_attn_res + mlp(ln2(no_attn_res)),
            ),
            ("the residual connection around the MLP is missing (x = x + mlp(norm2(x)))", mlp(ln2(a))),
            ("the MLP uses ReLU; ViT's MLP uses GELU", a + mlp_relu(ln2(a))),
            ("the same LayerNorm (norm1) is used before the MLP; use norm2 there", a + mlp(ln1(a))),
            (
                "the attention sees the raw tokens instead of norm1(x) (pre-norm normalises before attention)",
                (x + attn(x)) + mlp(ln2(x + attn(x))),
            ),
        ]


@REGISTRY.exercise("EncoderBlock", probe_encoder_block)
def judge_encoder_block(data: dict, j: Judge) -> None:
    cases = _cases(j, data, len(BLOCK_CASES), "EncoderBlock")
    pairs = zip(BLOCK_CASES if cases else [], cases or [], strict=True)
    for index, ((what, dim, heads, ratio, shape, dtype, seed, scale), case) in enumerate(pairs):
        what = f"EncoderBlock({what})"
        if not j.expect_ok(case, what):
            continue
        for name, want in (
            ("norm1", "LayerNorm"),
            ("norm2", "LayerNorm"),
            ("attn", "MultiHeadSelfAttention"),
            ("mlp", "Sequential"),
        ):
            j.expect(case[name] == want, f"{what}: {name} should be an {want}, got {case[name]}")
        for name, eps in zip(("norm1", "norm2"), case["eps"], strict=True):
            if isinstance(eps, float) and eps != 1e-6:
                j.fail(f"{what}: {name}.eps is {eps:g}; ViT's LayerNorms use eps=1e-6 (PyTorch's default is 1e-5)")
        if case["mlp_layers"] is not None and case["mlp_layers"] != ["Linear", "GELU", "Linear"]:
            j.fail(f"{what}: mlp should be Sequential(Linear, GELU, Linear), got {case['mlp_layers']}")
        if any(a not in (None, "none") for a in case["gelu_approx"]):
            j.fail(f"{what}: use the exact nn.GELU() (approximate='none'), as ViT and torchvision do")
        shapes = _block_shapes(dim, ratio)
        if not _judge_state_keys(j, case["shapes"], shapes, what):
            if "mlp.0.weight" in case["shapes"] and case["shapes"]["mlp.0.weight"][0] != shapes["mlp.0.weight"][0]:
                j.fail(f"{what}: the MLP's hidden width must be int(dim * mlp_ratio) = {shapes['mlp.0.weight'][0]}")
            continue
        if not j.expect_ok(case["load"], f"{what}: loading torchvision's weights"):
            continue
        tv = torchvision_block(dim, heads, ratio, seeded_state(shapes, seed), dtype=dtype)
        x = _block_input(shape, dtype, seed, scale)
        with torch.no_grad():
            expected = tv(x)
        if j.expect_tensor(case["out"], f"{what}: output", shape=tuple(expected.shape), dtype=_dt(dtype)):
            tol = (1e-5, 1e-4) if dtype == torch.float32 else (1e-9, 1e-7)
            hint = _diagnose(case["out"], _block_mistakes(tv, x), atol=tol[0] * 10, rtol=tol[1] * 10)
            if not hint and scale < 1:
                hint = "with tiny inputs a LayerNorm eps other than 1e-6 changes the output a lot"
            j.expect_close(
                case["out"],
                expected,
                f"{what}: output compared with torchvision's EncoderBlock",
                atol=tol[0],
                rtol=tol[1],
                hint=hint or "x = x + attn(norm1(x)); x = x + mlp(norm2(x))",
            )
        j.expect(not case["modified"], f"{what} changed its input in place")
        if index == 0 and j.expect_ok(case.get("grads"), f"{what}: backward"):
            grads = case["grads"]
            tv = tv.train()  # the gradient path of nn.MultiheadAttention (no fused inference kernel)
            xg = x.clone().requires_grad_(True)
            (tv(xg) * randn(seed + 9, *shape, dtype=dtype)).sum().backward()
            if not isinstance(grads, dict):
                j.fail(f"{what}: the gradients could not be read ({describe(grads)})")
            elif j.expect_close(grads.get("x"), xg.grad, f"{what}: gradient with respect to the input", atol=1e-4, rtol=1e-3):
                _judge_grads(j, grads.get("params"), tv, block_to_torchvision(), what)


# ---------------------------------------------------------------------------- VisionTransformer
VIT_B16 = dict(img_size=224, patch_size=16, in_chans=3, num_classes=1000, embed_dim=768, depth=12, num_heads=12, mlp_ratio=4.0)
VIT_CASES = [
    # (description, config or None for the defaults, batch, dtype, seed, small_tokens, gradients)
    (
        "img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=4, 10 classes",
        dict(img_size=32, patch_size=8, in_chans=3, num_classes=10, embed_dim=32, depth=2, num_heads=4),
        2,
        torch.float32,
        1000,
        False,
        True,
    ),
    (
        "img_size=24, patch_size=4, in_chans=1, 5 classes, embed_dim=24, depth=3, num_heads=3, mlp_ratio=2.0 in float64",
        dict(img_size=24, patch_size=4, in_chans=1, num_classes=5, embed_dim=24, depth=3, num_heads=3, mlp_ratio=2.0),
        3,
        F64,
        2000,
        False,
        False,
    ),
    (
        "img_size=16, patch_size=4, embed_dim=16, depth=1, num_heads=2 in float64, with embeddings of size 1e-3 "
        "(where eps matters)",
        dict(img_size=16, patch_size=4, in_chans=3, num_classes=7, embed_dim=16, depth=1, num_heads=2),
        2,
        F64,
        3000,
        True,
        False,
    ),
    (
        "img_size=15, patch_size=5, in_chans=2, embed_dim=10, depth=2, num_heads=1, mlp_ratio=2.7 (hidden 27), 3 classes, "
        "one image in float64",
        dict(img_size=15, patch_size=5, in_chans=2, num_classes=3, embed_dim=10, depth=2, num_heads=1, mlp_ratio=2.7),
        1,
        F64,
        3500,
        False,
        False,
    ),
    (
        "VisionTransformer() with its defaults, the ViT-B/16 shape (86,567,656 parameters), on one 224x224 image",
        None,
        1,
        torch.float32,
        4000,
        False,
        False,
    ),
]


def _vit_shapes(cfg: dict) -> dict[str, list[int]]:
    d, p, c, grid = cfg["embed_dim"], cfg["patch_size"], cfg.get("in_chans", 3), cfg["img_size"] // cfg["patch_size"]
    shapes = {
        "cls_token": [1, 1, d],
        "pos_embed": [1, grid * grid + 1, d],
        "patch_embed.proj.weight": [d, c, p, p],
        "patch_embed.proj.bias": [d],
    }
    for i in range(cfg["depth"]):
        shapes.update({f"blocks.{i}.{k}": v for k, v in _block_shapes(d, cfg.get("mlp_ratio", 4.0)).items()})
    shapes.update(
        {"norm.weight": [d], "norm.bias": [d], "head.weight": [cfg["num_classes"], d], "head.bias": [cfg["num_classes"]]}
    )
    return shapes


def _vit_input(cfg: dict, batch: int, dtype: torch.dtype, seed: int) -> torch.Tensor:
    return randn(seed + 5, batch, cfg.get("in_chans", 3), cfg["img_size"], cfg["img_size"], dtype=dtype)


def _model_info(model: Any) -> dict:
    blocks = getattr(model, "blocks", None)
    return {
        "patch_embed": type(getattr(model, "patch_embed", None)).__name__,
        "blocks": type(blocks).__name__,
        "block_types": [type(b).__name__ for b in blocks] if isinstance(blocks, torch.nn.ModuleList) else None,
        "norm": type(getattr(model, "norm", None)).__name__,
        "norm_eps": plain(getattr(getattr(model, "norm", None), "eps", None)),
        "head": type(getattr(model, "head", None)).__name__,
        "params": sum(p.numel() for p in model.parameters()),
        "shapes": _state_shapes(model),
    }


def _probe_model_case(
    cls: Any, cfg: dict | None, defaults: dict, shapes_of: Any, batch: int, dtype: torch.dtype, seed: int, small: bool,
    grads: bool,
) -> dict:
    """Build the student's model, load seeded weights under the contract's names, run forward (and backward)."""
    model = cls() if cfg is None else cls(**cfg)
    cfg = cfg or defaults
    info = _model_info(model)
    state = seeded_state(shapes_of(cfg), seed, small_tokens=small)
    info["load"] = attempt(_load, model, state)
    del state
    model = model.to(dtype).eval()
    x = _vit_input(cfg, batch, dtype, seed)
    before = x.clone()
    with torch.no_grad():
        info["out"] = attempt(model, x)
    info["modified"] = not torch.equal(before, x)
    if grads:

        def backward() -> dict:
            (model(x) * randn(seed + 9, batch, cfg["num_classes"], dtype=dtype)).sum().backward()
            return {n: plain(p.grad) for n, p in model.named_parameters()}

        info["grads"] = guarded(backward)
    return info


def probe_vision_transformer(cls: Any) -> dict:
    return {
        "cases": [guarded(lambda c=c: _probe_model_case(cls, c[1], VIT_B16, _vit_shapes, *c[2:])) for c in VIT_CASES]
    }


@functools.lru_cache(maxsize=8)
def _vit_reference(cfg_items: tuple, seed: int, small_tokens: bool, dtype: torch.dtype, batch: int) -> torch.Tensor:
    """torchvision's logits on the case's input (cached: ViT-B/16's forward takes seconds on a CPU)."""
    cfg = dict(cfg_items)
    tv = torchvision_vit(cfg, seeded_state(_vit_shapes(cfg), seed, small_tokens), dtype=dtype)
    with torch.no_grad():
        return tv(_vit_input(cfg, batch, dtype, seed))


def _tv_forward(tv: Any, x: torch.Tensor, pool: str = "cls", pos: str = "after", final_norm: bool = True) -> torch.Tensor:
    """torchvision's ViT forward, optionally with one of the usual mistakes."""
    with torch.no_grad():
        t = tv._process_input(x)
        pe = tv.encoder.pos_embedding
        if pos == "patches":
            t = t + pe[:, 1:]
        t = torch.cat([tv.class_token.expand(t.shape[0], -1, -1), t], dim=1)
        if pos == "after":
            t = t + pe
        t = tv.encoder.layers(t)
        if final_norm:
            t = tv.encoder.ln(t)
        t = t[:, 0] if pool == "cls" else (t.mean(1) if pool == "mean" else t[:, 1:].mean(1))
        return tv.heads(t)


def _vit_mistakes(tv: Any, x: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
    return [
        (
            "the logits come from the mean of all tokens; ViT classifies the class token (token 0 after norm)",
            _tv_forward(tv, x, pool="mean"),
        ),
        (
            "the logits come from the mean of the patch tokens; ViT classifies the class token (token 0 after norm)",
            _tv_forward(tv, x, pool="patch_mean"),
        ),
        (
            "the position embeddings are added to the patches before the class token is prepended (the class token "
            "gets none); prepend the class token first, then add all N+1 position embeddings",
            _tv_forward(tv, x, pos="patches"),
        ),
        ("the position embeddings are never added; x = cat([cls, patches]) + pos_embed", _tv_forward(tv, x, pos="none")),
        ("the final LayerNorm `norm` is not applied before the head", _tv_forward(tv, x, final_norm=False)),
    ]


def _judge_model_structure(j: Judge, case: dict, cfg: dict, what: str) -> None:
    j.expect(
        case["patch_embed"] == "PatchEmbedding", f"{what}: patch_embed should be a PatchEmbedding, got {case['patch_embed']}"
    )
    if j.expect(case["blocks"] == "ModuleList", f"{what}: blocks should be an nn.ModuleList, got {case['blocks']}"):
        types = case["block_types"] or []
        j.expect(
            len(types) == cfg["depth"] and all(t == "EncoderBlock" for t in types),
            f"{what}: blocks should hold depth={cfg['depth']} EncoderBlocks, got {types[:4]}{'...' if len(types) > 4 else ''}",
        )
    if case["norm"] == "LayerNorm" and case["norm_eps"] != 1e-6:
        j.fail(f"{what}: norm.eps is {case['norm_eps']}; use nn.LayerNorm(embed_dim, eps=1e-6)")
    j.expect(case["norm"] == "LayerNorm", f"{what}: norm should be an nn.LayerNorm, got {case['norm']}")
    j.expect(case["head"] == "Linear", f"{what}: head should be an nn.Linear, got {case['head']}")


@REGISTRY.exercise("VisionTransformer", probe_vision_transformer)
def judge_vision_transformer(data: dict, j: Judge) -> None:
    cases = _cases(j, data, len(VIT_CASES), "VisionTransformer")
    for (what, cfg, batch, dtype, seed, small, grads), case in zip(VIT_CASES if cases else [], cases or [], strict=True):
        what = f"VisionTransformer: {what}"
        if not j.expect_ok(case, what):
            continue
        cfg = cfg or VIT_B16
        _judge_model_structure(j, case, cfg, what)
        if not _judge_state_keys(j, case["shapes"], _vit_shapes(cfg), what):
            continue
        if cfg is VIT_B16:
            j.expect(case["params"] == 86_567_656, f"{what}: {case['params']:,} parameters, expected 86,567,656 (ViT-B/16)")
        if not j.expect_ok(case["load"], f"{what}: loading torchvision's weights"):
            continue
        key = (tuple(sorted(cfg.items())), seed, small, dtype)
        expected = _vit_reference(*key, batch)
        if dtype == F64:
            tol = (1e-9, 1e-7)
        else:
            tol = (1e-4, 1e-3) if cfg is VIT_B16 else (1e-5, 1e-4)
        if j.expect_tensor(case["out"], f"{what}: logits", shape=(batch, cfg["num_classes"]), dtype=_dt(dtype)):
            default = "patch_embed, prepend cls_token, + pos_embed, blocks, norm, head(x[:, 0])"
            if small:
                default = "with tiny embeddings a LayerNorm eps other than 1e-6 changes the logits a lot"

            def mistakes(cfg=cfg, seed=seed, small=small, dtype=dtype, batch=batch) -> list:
                if cfg is VIT_B16:  # ViT-B/16 forwards take seconds each: diagnose on the small configurations only
                    return []
                tv = torchvision_vit(cfg, seeded_state(_vit_shapes(cfg), seed, small), dtype=dtype)
                return _vit_mistakes(tv, _vit_input(cfg, batch, dtype, seed))

            _expect_close_explained(
                j, case["out"], expected, f"{what}: logits compared with torchvision's VisionTransformer", tol[0], tol[1],
                mistakes, default,
            )
        j.expect(not case["modified"], f"{what}: forward changed its input in place")
        if grads and j.expect_ok(case.get("grads"), f"{what}: backward"):
            tv = torchvision_vit(cfg, seeded_state(_vit_shapes(cfg), seed, small), dtype=dtype).train()
            (tv(_vit_input(cfg, batch, dtype, seed)) * randn(seed + 9, batch, cfg["num_classes"], dtype=dtype)).sum().backward()
            _judge_grads(j, case["grads"], tv, vit_to_torchvision(cfg["depth"]), what)


# ---------------------------------------------------------------------------- MeanPoolViT
MEAN_POOL_B16_PARAMS = 86_567_656 - 768 - 768  # ViT-B/16 without the class token and its position embedding
MEAN_POOL_CASES = [
    # (description, config or None for the defaults, batch, dtype, seed, small_tokens, gradients)
    (
        "img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=4, 10 classes",
        dict(img_size=32, patch_size=8, in_chans=3, num_classes=10, embed_dim=32, depth=2, num_heads=4),
        2,
        torch.float32,
        5000,
        False,
        True,
    ),
    (
        "img_size=24, patch_size=4, in_chans=1, 5 classes, embed_dim=24, depth=1, num_heads=3, mlp_ratio=2.5 (hidden 60) "
        "in float64",
        dict(img_size=24, patch_size=4, in_chans=1, num_classes=5, embed_dim=24, depth=1, num_heads=3, mlp_ratio=2.5),
        3,
        F64,
        6000,
        False,
        False,
    ),
    (
        "img_size=20, patch_size=5, embed_dim=12, depth=3, num_heads=1, mlp_ratio=1.3 (hidden int(15.6) = 15) in float64, "
        "with embeddings of size 1e-3 (where eps matters)",
        dict(img_size=20, patch_size=5, in_chans=3, num_classes=4, embed_dim=12, depth=3, num_heads=1, mlp_ratio=1.3),
        2,
        F64,
        7000,
        True,
        False,
    ),
    (
        "img_size=12, patch_size=2 (a 6x6 grid), in_chans=2, embed_dim=16, depth=2, num_heads=2, 3 classes, one image",
        dict(img_size=12, patch_size=2, in_chans=2, num_classes=3, embed_dim=16, depth=2, num_heads=2),
        1,
        torch.float32,
        8000,
        False,
        False,
    ),
]


def _mean_pool_shapes(cfg: dict) -> dict[str, list[int]]:
    shapes = {k: v for k, v in _vit_shapes(cfg).items() if k != "cls_token"}
    grid = cfg["img_size"] // cfg["patch_size"]
    shapes["pos_embed"] = [1, grid * grid, cfg["embed_dim"]]
    return shapes


def _probe_mean_pool_defaults(cls: Any) -> dict:
    model = cls()
    return {"params": sum(p.numel() for p in model.parameters()), "shapes": _state_shapes(model)}


def probe_mean_pool(cls: Any) -> dict:
    return {
        "cases": [guarded(lambda c=c: _probe_model_case(cls, c[1], VIT_B16, _mean_pool_shapes, *c[2:])) for c in MEAN_POOL_CASES],
        "defaults": guarded(lambda: _probe_mean_pool_defaults(cls)),
    }


def _mean_pool_variant(ref: Any, x: torch.Tensor, variant: str) -> torch.Tensor:
    """The reference's logits, or those of a typical mistake."""
    with torch.no_grad():
        enc = ref.encoder
        t = ref.conv_proj(x).flatten(2).transpose(1, 2) + (0 if variant == "no_pos" else enc.pos_embedding)
        t = enc.layers(t)
        if variant == "mean_then_norm":
            return ref.head(enc.ln(t.mean(dim=1)))
        if variant == "no_norm":
            return ref.head(t.mean(dim=1))
        t = enc.ln(t)
        if variant == "max":
            return ref.head(t.amax(dim=1))
        if variant == "sum":
            return ref.head(t.sum(dim=1))
        if variant == "first":
            return ref.head(t[:, 0])
        return ref.head(t.mean(dim=1))


def _mean_pool_mistakes(ref: Any, x: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
    return [
        (
            "the mean is taken before the final LayerNorm; normalise every token with `norm`, then average them",
            _mean_pool_variant(ref, x, "mean_then_norm"),
        ),
        ("the final LayerNorm `norm` is not applied before pooling", _mean_pool_variant(ref, x, "no_norm")),
        ("the tokens are pooled with a max; take their mean", _mean_pool_variant(ref, x, "max")),
        ("the tokens are summed; take their mean (divide by N)", _mean_pool_variant(ref, x, "sum")),
        ("only the first patch token is classified; average all N tokens", _mean_pool_variant(ref, x, "first")),
        ("the position embeddings are never added; x = patch_embed(x) + pos_embed", _mean_pool_variant(ref, x, "no_pos")),
    ]


@REGISTRY.exercise("MeanPoolViT", probe_mean_pool)
def judge_mean_pool(data: dict, j: Judge) -> None:
    cases = _cases(j, data, len(MEAN_POOL_CASES), "MeanPoolViT")
    for (what, cfg, batch, dtype, seed, small, grads), case in zip(MEAN_POOL_CASES if cases else [], cases or [], strict=True):
        what = f"MeanPoolViT: {what}"
        if not j.expect_ok(case, what):
            continue
        _judge_model_structure(j, case, cfg, what)
        shapes = _mean_pool_shapes(cfg)
        if not _judge_state_keys(j, case["shapes"], shapes, what):
            continue
        if not j.expect_ok(case["load"], f"{what}: loading the weights"):
            continue
        ref = torchvision_mean_pool_vit(cfg, seeded_state(shapes, seed, small), dtype=dtype)
        x = _vit_input(cfg, batch, dtype, seed)
        with torch.no_grad():
            expected = ref(x)
        tol = (1e-9, 1e-7) if dtype == F64 else (1e-5, 1e-4)
        if j.expect_tensor(case["out"], f"{what}: logits", shape=(batch, cfg["num_classes"]), dtype=_dt(dtype)):
            default = "x = patch_embed(x) + pos_embed, the blocks, norm, then the mean over the N tokens, head"
            if small:
                default = "with tiny embeddings a LayerNorm eps other than 1e-6 changes the logits a lot"
            _expect_close_explained(
                j, case["out"], expected, f"{what}: logits compared with torchvision's Encoder and a mean over tokens",
                tol[0], tol[1], lambda ref=ref, x=x: _mean_pool_mistakes(ref, x), default,
            )
        j.expect(not case["modified"], f"{what}: forward changed its input in place")
        if grads and j.expect_ok(case.get("grads"), f"{what}: backward"):
            ref = ref.train()
            (ref(x) * randn(seed + 9, batch, cfg["num_classes"], dtype=dtype)).sum().backward()
            _judge_grads(j, case["grads"], ref, mean_pool_to_torchvision(cfg["depth"]), what)
    defaults = data.get("defaults") if isinstance(data, dict) else None
    what = "MeanPoolViT() with its defaults (the ViT-B/16 shape without a class token)"
    if not isinstance(defaults, dict) or "shapes" not in defaults:
        j.expect_ok(defaults, what) and j.fail(f"{what}: the check of the defaults did not complete")
    else:
        if _judge_state_keys(j, defaults.get("shapes"), _mean_pool_shapes(VIT_B16), what):
            j.expect(
                defaults.get("params") == MEAN_POOL_B16_PARAMS,
                f"{what}: {defaults.get('params')} parameters, expected {MEAN_POOL_B16_PARAMS:,}",
            )


# ---------------------------------------------------------------------------- attention rollout
def _softmaxed(seed: int, *shape: int, dtype: torch.dtype = torch.float32, sharp: float = 2.0) -> torch.Tensor:
    return torch.softmax(randn(seed, *shape, dtype=dtype) * sharp, dim=-1)


def _rollout_cases() -> list[tuple[str, list[torch.Tensor]]]:
    unnormalised = [randn(60, 2, 3, 6, 6).abs() + 0.05, randn(61, 2, 3, 6, 6).abs() + 0.05]
    return [
        ("3 layers of (2, 4, 6, 6) weights", [_softmaxed(10 + i, 2, 4, 6, 6) for i in range(3)]),
        ("a single layer of (1, 2, 5, 5) weights", [_softmaxed(20, 1, 2, 5, 5)]),
        (
            "6 layers of (1, 3, 17, 17) float64 weights",
            [_softmaxed(30 + i, 1, 3, 17, 17, dtype=F64, sharp=3.0) for i in range(6)],
        ),
        ("2 layers whose rows do not sum to 1 (renormalise after adding I)", unnormalised),
        ("4 layers with one head each, (3, 1, 4, 4)", [_softmaxed(40 + i, 3, 1, 4, 4, sharp=4.0) for i in range(4)]),
        (
            "12 layers of (4, 2, 10, 10) float64 weights (a batch of 4)",
            [_softmaxed(50 + i, 4, 2, 10, 10, dtype=F64, sharp=1.5) for i in range(12)],
        ),
        ("a single token, 2 layers of (2, 3, 1, 1)", [_softmaxed(70 + i, 2, 3, 1, 1) for i in range(2)]),
    ]


def probe_rollout(fn: Any) -> dict:
    cases = []
    for _, attentions in _rollout_cases():
        before = [a.clone() for a in attentions]
        given = list(attentions)
        out = attempt(fn, given)
        modified = len(given) != len(before) or any(not torch.equal(a, b) for a, b in zip(attentions, before, strict=True))
        cases.append({"out": out, "modified": modified})
    return {"cases": cases}


def _rollout_variant(
    attentions: list[torch.Tensor], order: str = "later_left", identity: bool = True, heads: str = "mean", renorm: bool = True
) -> torch.Tensor:
    result = None
    for w in attentions:
        a = w.double().mean(1) if heads == "mean" else w.double().amax(1)
        if identity:
            a = (a + torch.eye(a.shape[-1], dtype=F64)) / 2
        if renorm:
            a = a / a.sum(-1, keepdim=True)
        result = a if result is None else (a @ result if order == "later_left" else result @ a)
    return result


def _rollout_mistakes(attentions: list[torch.Tensor]) -> list[tuple[str, torch.Tensor]]:
    return [
        (
            "the layers are multiplied in the wrong order (A_1 @ A_2 @ ...); the later layer goes on the left: "
            "R = A_L @ ... @ A_1",
            _rollout_variant(attentions, order="earlier_left"),
        ),
        ("the identity (residual path) is not added: use (A + I) / 2", _rollout_variant(attentions, identity=False)),
        ("the heads are combined with a max; average them", _rollout_variant(attentions, heads="max")),
        ("the rows are not renormalised after (A + I) / 2", _rollout_variant(attentions, renorm=False)),
    ]


@REGISTRY.exercise("attention_rollout", probe_rollout)
def judge_rollout(data: dict, j: Judge) -> None:
    expected_cases = _rollout_cases()
    cases = _cases(j, data, len(expected_cases), "attention_rollout")
    for (what, attentions), case in zip(expected_cases if cases else [], cases or [], strict=True):
        what = f"attention_rollout on {what}"
        expected = reference_rollout(attentions)
        if not isinstance(case, dict) or not j.expect_tensor(
            case.get("out"), what, shape=tuple(expected.shape), dtype=_dt(attentions[0].dtype)
        ):
            continue
        hint = _diagnose(case["out"], _rollout_mistakes(attentions), atol=1e-6, rtol=1e-5) or (
            "per layer: mean over heads, (A + I) / 2, divide each row by its sum; then R = A_L @ ... @ A_1"
        )
        j.expect_close(case["out"], expected, what, atol=1e-5, rtol=1e-4, hint=hint)
        j.expect(not case.get("modified"), f"{what} modified its input (the list or a tensor in it)")


# ---------------------------------------------------------------------------- interpolate_pos_embed
def _interp_cases() -> list[tuple[str, torch.Tensor, int, int]]:
    return [
        ("a 4x4 grid (1, 1+16, 8) to 6x6", randn(70, 1, 17, 8), 6, 1),
        ("a 7x7 grid (1, 1+49, 12) down to 3x3", randn(71, 1, 50, 12), 3, 1),
        ("a 3x3 grid with 2 prefix tokens (1, 2+9, 4) to 5x5", randn(72, 1, 11, 4), 5, 2),
        ("a 5x5 grid with no prefix token (1, 25, 6) to 8x8", randn(73, 1, 25, 6), 8, 0),
        ("ViT-B/16's 14x14 grid (1, 1+196, 16) in float64 to 24x24 (224 -> 384 pixels)", randn(74, 1, 197, 16, dtype=F64), 24, 1),
        ("a 4x4 grid to the same 4x4 grid", randn(75, 1, 17, 5), 4, 1),
        ("a 6x6 grid with 4 prefix tokens (1, 4+36, 3) down to 4x4", randn(76, 1, 40, 3), 4, 4),
        ("a 1x1 grid (1, 1+1, 2) up to 3x3 in float64", randn(77, 1, 2, 2, dtype=F64), 3, 1),
    ]


def probe_interpolate(fn: Any) -> dict:
    cases = []
    for _, pos, grid, prefix in _interp_cases():
        before = pos.clone()
        cases.append({"out": attempt(fn, pos, grid, prefix), "modified": not torch.equal(before, pos)})
    return {"cases": cases}


def _interp_variant(
    pos: torch.Tensor, new: int, prefix: int, mode: str = "bicubic", align: bool = True, permute: bool = True
) -> torch.Tensor:
    head, grid = pos[:, :prefix], pos[:, prefix:]
    g, d = int(round(grid.shape[1] ** 0.5)), grid.shape[2]
    img = grid.reshape(1, g, g, d).permute(0, 3, 1, 2) if permute else grid.reshape(1, d, g, g)
    img = F.interpolate(img, size=(new, new), mode=mode, align_corners=align)
    flat = img.permute(0, 2, 3, 1).reshape(1, new * new, d) if permute else img.reshape(1, new * new, d)
    return torch.cat([head, flat], dim=1)


def _interp_mistakes(pos: torch.Tensor, new: int, prefix: int) -> list[tuple[str, torch.Tensor]]:
    return [
        (
            "align_corners=False; torchvision's interpolate_embeddings uses align_corners=True",
            _interp_variant(pos, new, prefix, align=False),
        ),
        ("bilinear interpolation; use mode='bicubic'", _interp_variant(pos, new, prefix, mode="bilinear")),
        (
            "the (1, g*g, D) grid was reshaped straight to (1, D, g, g); "
            "reshape to (1, g, g, D) and permute D to the channel axis",
            _interp_variant(pos, new, prefix, permute=False),
        ),
    ]


@REGISTRY.exercise("interpolate_pos_embed", probe_interpolate)
def judge_interpolate(data: dict, j: Judge) -> None:
    expected_cases = _interp_cases()
    cases = _cases(j, data, len(expected_cases), "interpolate_pos_embed")
    for (what, pos, grid, prefix), case in zip(expected_cases if cases else [], cases or [], strict=True):
        what = f"interpolate_pos_embed on {what} (num_prefix_tokens={prefix})"
        expected = reference_interpolate_pos_embed(pos, grid, prefix)
        if not isinstance(case, dict) or not j.expect_tensor(
            case.get("out"), what, shape=tuple(expected.shape), dtype=_dt(pos.dtype)
        ):
            continue
        if prefix and not torch.allclose(
            torch.as_tensor(array(case["out"])[:, :prefix]).double(), pos[:, :prefix].double(), atol=1e-6, rtol=1e-6
        ):
            j.fail(f"{what}: the first {prefix} (prefix) token(s) must be copied unchanged, not interpolated")
            continue
        hint = _diagnose(case["out"], _interp_mistakes(pos, grid, prefix), atol=1e-6, rtol=1e-5) or (
            "reshape the grid part to (1, g, g, D), permute to (1, D, g, g), F.interpolate(size=(new, new), "
            "mode='bicubic', align_corners=True), then back to (1, new*new, D)"
        )
        j.expect_close(
            case["out"], expected, f"{what}, compared with torchvision's interpolate_embeddings", atol=1e-5, rtol=1e-4, hint=hint
        )
        j.expect(not case.get("modified"), f"{what} changed its input in place")


# ---------------------------------------------------------------------------- concept questions
REGISTRY.quiz(
    "quiz_1",
    "D",
    "Count the patches first: the side holds 384 / 16 patches in each direction, and the number of patches is that "
    "squared, not proportional to the side. Then remember what ViT prepends to the patch sequence.",
)
REGISTRY.quiz(
    "quiz_2",
    "A",
    "The parameters do not depend on the resolution, but the work does: doubling the side multiplies the number of "
    "patches N by 4, and the score matrix QK^T has N x N entries.",
)
REGISTRY.quiz(
    "quiz_3",
    "C",
    "Self-attention can represent local filters, and ViT-B has ample parameters; what it lacks is the built-in prior "
    "of a convolution (locality, translation equivariance), which must then be learned from data. That pays off "
    "with ImageNet-21k/JFT-300M pre-training, or DeiT-style augmentation and regularisation on ImageNet-1k.",
)
REGISTRY.quiz(
    "quiz_4",
    "B",
    "Rollout multiplies the (head-averaged) attention matrices plus the identity; nothing in it depends on which "
    "logit you want explained. Class-specific maps need the output, e.g. gradient-weighted relevance "
    "(Chefer et al., ICCV 2021).",
)

__all__ = ["REGISTRY", "seeded_state"]
