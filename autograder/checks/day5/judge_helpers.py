"""Judge side of day5_vit: references, typical mistakes and hints the judges use.

No probe reaches this module, so none of it enters the sandbox (``autograder/sandbox/strip.py``).
"""

from __future__ import annotations

import functools
from typing import Any

import torch
import torch.nn.functional as F

from autograder.checks.day5.probes import F64, seeded_state
from autograder.checks.day5.vit_probes import vit_input, vit_shapes
from autograder.harness import Judge, close
from autograder.reference.day5_vit import torchvision_vit


# ---------------------------------------------------------------------------- shared helpers
def describe(value: Any) -> str:
    """A short description of probed data that is not what a check expected."""
    if isinstance(value, dict) and "__error__" in value:
        return f"an error ({str(value['__error__'])[:120]})"
    if isinstance(value, (list, tuple)):
        return f"a list of length {len(value)}"
    return f"{type(value).__name__} {str(value)[:80]}"


def diagnose(value: Any, alternatives: list[tuple[str, torch.Tensor]], atol: float = 1e-4, rtol: float = 1e-3) -> str:
    """The explanation of the first known mistake whose output matches the student's, else ''."""
    for explanation, alt in alternatives:
        if close(value, alt, atol, rtol):
            return explanation
    return ""


def expect_close_explained(
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
    if not close(value, expected, atol, rtol):
        hint = diagnose(value, mistakes(), *(diag_tol or (atol * 10, rtol * 10))) or default_hint
    return j.expect_close(value, expected, what, atol=atol, rtol=rtol, hint=hint)


def judge_state_keys(j: Judge, got: Any, expected: dict[str, list[int]], what: str) -> bool:
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


def judge_grads(j: Judge, grads: Any, reference: Any, mapping: dict[str, str], what: str) -> None:
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
def reference_patchify(x: torch.Tensor, p: int) -> torch.Tensor:
    """Patches through a convolution whose kernel picks one pixel per output channel (C, p, p order)."""
    c = x.shape[1]
    pick = torch.eye(c * p * p, dtype=x.dtype).reshape(c * p * p, c, p, p)
    return F.conv2d(x, pick, stride=p).flatten(2).transpose(1, 2)


def patchify_mistakes(x: torch.Tensor, p: int) -> list[tuple[str, torch.Tensor]]:
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


# ---------------------------------------------------------------------------- EncoderBlock
def block_mistakes(tv: Any, x: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
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


# ---------------------------------------------------------------------------- VisionTransformer
@functools.lru_cache(maxsize=8)
def vit_reference(cfg_items: tuple, seed: int, small_tokens: bool, dtype: torch.dtype, batch: int) -> torch.Tensor:
    """torchvision's logits on the case's input (cached: ViT-B/16's forward takes seconds on a CPU)."""
    cfg = dict(cfg_items)
    tv = torchvision_vit(cfg, seeded_state(vit_shapes(cfg), seed, small_tokens), dtype=dtype)
    with torch.no_grad():
        return tv(vit_input(cfg, batch, dtype, seed))


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


def vit_mistakes(tv: Any, x: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
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


def judge_model_structure(j: Judge, case: dict, cfg: dict, what: str) -> None:
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


# ---------------------------------------------------------------------------- MeanPoolViT
MEAN_POOL_B16_PARAMS = 86_567_656 - 768 - 768  # ViT-B/16 without the class token and its position embedding


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


def mean_pool_mistakes(ref: Any, x: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
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


# ---------------------------------------------------------------------------- attention rollout
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


def rollout_mistakes(attentions: list[torch.Tensor]) -> list[tuple[str, torch.Tensor]]:
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


# ---------------------------------------------------------------------------- interpolate_pos_embed
def _interp_variant(
    pos: torch.Tensor, new: int, prefix: int, mode: str = "bicubic", align: bool = True, permute: bool = True
) -> torch.Tensor:
    head, grid = pos[:, :prefix], pos[:, prefix:]
    g, d = int(round(grid.shape[1] ** 0.5)), grid.shape[2]
    img = grid.reshape(1, g, g, d).permute(0, 3, 1, 2) if permute else grid.reshape(1, d, g, g)
    img = F.interpolate(img, size=(new, new), mode=mode, align_corners=align)
    flat = img.permute(0, 2, 3, 1).reshape(1, new * new, d) if permute else img.reshape(1, new * new, d)
    return torch.cat([head, flat], dim=1)


def interp_mistakes(pos: torch.Tensor, new: int, prefix: int) -> list[tuple[str, torch.Tensor]]:
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
