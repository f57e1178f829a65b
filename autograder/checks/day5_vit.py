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

import torch
import torch.nn.functional as F

from autograder.checks.day5.judge_helpers import (
    MEAN_POOL_B16_PARAMS,
    block_mistakes,
    describe,
    diagnose,
    expect_close_explained,
    interp_mistakes,
    judge_grads,
    judge_model_structure,
    judge_state_keys,
    mean_pool_mistakes,
    patchify_mistakes,
    reference_patchify,
    rollout_mistakes,
    vit_mistakes,
    vit_reference,
)
from autograder.checks.day5.probes import (
    BLOCK_CASES,
    F64,
    PATCHIFY_BAD,
    PE_CASES,
    block_input,
    block_shapes,
    patchify_cases,
    pe_bad_shapes,
    pe_tensors,
    probe_encoder_block,
    probe_patch_embedding,
    probe_patchify,
    seeded_state,
)
from autograder.checks.day5.vit_probes import (
    MEAN_POOL_CASES,
    VIT_B16,
    VIT_CASES,
    interp_cases,
    mean_pool_shapes,
    probe_interpolate,
    probe_mean_pool,
    probe_rollout,
    probe_vision_transformer,
    rollout_cases,
    vit_input,
    vit_shapes,
)
from autograder.harness import Judge, Registry, array, dtype_name, randn
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


# ---------------------------------------------------------------------------- patchify

@REGISTRY.exercise("patchify", probe_patchify)
def judge_patchify(data: dict, j: Judge) -> None:
    expected_cases = patchify_cases()
    cases = j.results(data, "cases", len(expected_cases), "patchify", records=(dict, str))
    bad = j.results(data, "bad", len(PATCHIFY_BAD), "patchify on sizes not divisible by p", records=(dict, str))
    for (what, x, p), case in zip(expected_cases if cases else [], cases or [], strict=True):
        what = f"patchify on {what}"
        expected = reference_patchify(x, p)
        if not isinstance(case, dict) or not j.expect_tensor(
            case.get("out"), what, shape=tuple(expected.shape), dtype=dtype_name(x.dtype)
        ):
            continue
        hint = diagnose(case["out"], patchify_mistakes(x, p), atol=1e-6, rtol=0) or (
            "reshape to (B, C, H/p, p, W/p, p), permute to (B, H/p, W/p, C, p, p), reshape to (B, N, C*p*p)"
        )
        j.expect_close(case["out"], expected, f"{what}, compared with a strided convolution", atol=1e-6, rtol=1e-6, hint=hint)
        j.expect(not case.get("modified"), f"{what} changed its input in place")
    for (what, _, _), got in zip(PATCHIFY_BAD if bad else [], bad or [], strict=True):
        j.expect(got == "ValueError", f"patchify with {what} should raise ValueError (size not divisible by p); it gave {got}")


# ---------------------------------------------------------------------------- PatchEmbedding

@REGISTRY.exercise("PatchEmbedding", probe_patch_embedding)
def judge_patch_embedding(data: dict, j: Judge) -> None:
    cases = j.results(data, "cases", len(PE_CASES), "PatchEmbedding", records=(dict, str))
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
        if not judge_state_keys(j, case["shapes"], {"proj.weight": [d, c, p, p], "proj.bias": [d]}, what):
            continue
        if not j.expect_ok(case["load"], f"{what}: loading proj.weight and proj.bias"):
            continue
        weight, bias, x = pe_tensors(cfg, batch, dtype, seed)
        expected = F.conv2d(x, weight, bias, stride=p).flatten(2).transpose(1, 2)
        if j.expect_tensor(case["out"], f"{what}: output", shape=tuple(expected.shape), dtype=dtype_name(dtype)):
            hint = (
                diagnose(
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
        bad_shapes = pe_bad_shapes(cfg)
        if isinstance(case["bad"], list) and len(case["bad"]) == len(bad_shapes):
            for (bad_what, _), got in zip(bad_shapes, case["bad"], strict=True):
                j.expect(got == "ValueError", f"{what} on {bad_what} should raise ValueError; it gave {got}")
        else:
            j.fail(f"{what}: the checks on sizes not divisible by the patch size did not complete")


# ---------------------------------------------------------------------------- EncoderBlock

@REGISTRY.exercise("EncoderBlock", probe_encoder_block)
def judge_encoder_block(data: dict, j: Judge) -> None:
    cases = j.results(data, "cases", len(BLOCK_CASES), "EncoderBlock", records=(dict, str))
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
        shapes = block_shapes(dim, ratio)
        if not judge_state_keys(j, case["shapes"], shapes, what):
            if "mlp.0.weight" in case["shapes"] and case["shapes"]["mlp.0.weight"][0] != shapes["mlp.0.weight"][0]:
                j.fail(f"{what}: the MLP's hidden width must be int(dim * mlp_ratio) = {shapes['mlp.0.weight'][0]}")
            continue
        if not j.expect_ok(case["load"], f"{what}: loading torchvision's weights"):
            continue
        tv = torchvision_block(dim, heads, ratio, seeded_state(shapes, seed), dtype=dtype)
        x = block_input(shape, dtype, seed, scale)
        with torch.no_grad():
            expected = tv(x)
        if j.expect_tensor(case["out"], f"{what}: output", shape=tuple(expected.shape), dtype=dtype_name(dtype)):
            tol = (1e-5, 1e-4) if dtype == torch.float32 else (1e-9, 1e-7)
            hint = diagnose(case["out"], block_mistakes(tv, x), atol=tol[0] * 10, rtol=tol[1] * 10)
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
                judge_grads(j, grads.get("params"), tv, block_to_torchvision(), what)


# ---------------------------------------------------------------------------- VisionTransformer

@REGISTRY.exercise("VisionTransformer", probe_vision_transformer)
def judge_vision_transformer(data: dict, j: Judge) -> None:
    cases = j.results(data, "cases", len(VIT_CASES), "VisionTransformer", records=(dict, str))
    for (what, cfg, batch, dtype, seed, small, grads), case in zip(VIT_CASES if cases else [], cases or [], strict=True):
        what = f"VisionTransformer: {what}"
        if not j.expect_ok(case, what):
            continue
        cfg = cfg or VIT_B16
        judge_model_structure(j, case, cfg, what)
        if not judge_state_keys(j, case["shapes"], vit_shapes(cfg), what):
            continue
        if cfg is VIT_B16:
            j.expect(case["params"] == 86_567_656, f"{what}: {case['params']:,} parameters, expected 86,567,656 (ViT-B/16)")
        if not j.expect_ok(case["load"], f"{what}: loading torchvision's weights"):
            continue
        key = (tuple(sorted(cfg.items())), seed, small, dtype)
        expected = vit_reference(*key, batch)
        if dtype == F64:
            tol = (1e-9, 1e-7)
        else:
            tol = (1e-4, 1e-3) if cfg is VIT_B16 else (1e-5, 1e-4)
        if j.expect_tensor(case["out"], f"{what}: logits", shape=(batch, cfg["num_classes"]), dtype=dtype_name(dtype)):
            default = "patch_embed, prepend cls_token, + pos_embed, blocks, norm, head(x[:, 0])"
            if small:
                default = "with tiny embeddings a LayerNorm eps other than 1e-6 changes the logits a lot"

            def mistakes(cfg=cfg, seed=seed, small=small, dtype=dtype, batch=batch) -> list:
                if cfg is VIT_B16:  # ViT-B/16 forwards take seconds each: diagnose on the small configurations only
                    return []
                tv = torchvision_vit(cfg, seeded_state(vit_shapes(cfg), seed, small), dtype=dtype)
                return vit_mistakes(tv, vit_input(cfg, batch, dtype, seed))

            expect_close_explained(
                j, case["out"], expected, f"{what}: logits compared with torchvision's VisionTransformer", tol[0], tol[1],
                mistakes, default,
            )
        j.expect(not case["modified"], f"{what}: forward changed its input in place")
        if grads and j.expect_ok(case.get("grads"), f"{what}: backward"):
            tv = torchvision_vit(cfg, seeded_state(vit_shapes(cfg), seed, small), dtype=dtype).train()
            (tv(vit_input(cfg, batch, dtype, seed)) * randn(seed + 9, batch, cfg["num_classes"], dtype=dtype)).sum().backward()
            judge_grads(j, case["grads"], tv, vit_to_torchvision(cfg["depth"]), what)


# ---------------------------------------------------------------------------- MeanPoolViT

@REGISTRY.exercise("MeanPoolViT", probe_mean_pool)
def judge_mean_pool(data: dict, j: Judge) -> None:
    cases = j.results(data, "cases", len(MEAN_POOL_CASES), "MeanPoolViT", records=(dict, str))
    for (what, cfg, batch, dtype, seed, small, grads), case in zip(MEAN_POOL_CASES if cases else [], cases or [], strict=True):
        what = f"MeanPoolViT: {what}"
        if not j.expect_ok(case, what):
            continue
        judge_model_structure(j, case, cfg, what)
        shapes = mean_pool_shapes(cfg)
        if not judge_state_keys(j, case["shapes"], shapes, what):
            continue
        if not j.expect_ok(case["load"], f"{what}: loading the weights"):
            continue
        ref = torchvision_mean_pool_vit(cfg, seeded_state(shapes, seed, small), dtype=dtype)
        x = vit_input(cfg, batch, dtype, seed)
        with torch.no_grad():
            expected = ref(x)
        tol = (1e-9, 1e-7) if dtype == F64 else (1e-5, 1e-4)
        if j.expect_tensor(case["out"], f"{what}: logits", shape=(batch, cfg["num_classes"]), dtype=dtype_name(dtype)):
            default = "x = patch_embed(x) + pos_embed, the blocks, norm, then the mean over the N tokens, head"
            if small:
                default = "with tiny embeddings a LayerNorm eps other than 1e-6 changes the logits a lot"
            expect_close_explained(
                j, case["out"], expected, f"{what}: logits compared with torchvision's Encoder and a mean over tokens",
                tol[0], tol[1], lambda ref=ref, x=x: mean_pool_mistakes(ref, x), default,
            )
        j.expect(not case["modified"], f"{what}: forward changed its input in place")
        if grads and j.expect_ok(case.get("grads"), f"{what}: backward"):
            ref = ref.train()
            (ref(x) * randn(seed + 9, batch, cfg["num_classes"], dtype=dtype)).sum().backward()
            judge_grads(j, case["grads"], ref, mean_pool_to_torchvision(cfg["depth"]), what)
    defaults = data.get("defaults") if isinstance(data, dict) else None
    what = "MeanPoolViT() with its defaults (the ViT-B/16 shape without a class token)"
    if not isinstance(defaults, dict) or "shapes" not in defaults:
        j.expect_ok(defaults, what) and j.fail(f"{what}: the check of the defaults did not complete")
    else:
        if judge_state_keys(j, defaults.get("shapes"), mean_pool_shapes(VIT_B16), what):
            j.expect(
                defaults.get("params") == MEAN_POOL_B16_PARAMS,
                f"{what}: {defaults.get('params')} parameters, expected {MEAN_POOL_B16_PARAMS:,}",
            )


# ---------------------------------------------------------------------------- attention rollout

@REGISTRY.exercise("attention_rollout", probe_rollout)
def judge_rollout(data: dict, j: Judge) -> None:
    expected_cases = rollout_cases()
    cases = j.results(data, "cases", len(expected_cases), "attention_rollout", records=(dict, str))
    for (what, attentions), case in zip(expected_cases if cases else [], cases or [], strict=True):
        what = f"attention_rollout on {what}"
        expected = reference_rollout(attentions)
        if not isinstance(case, dict) or not j.expect_tensor(
            case.get("out"), what, shape=tuple(expected.shape), dtype=dtype_name(attentions[0].dtype)
        ):
            continue
        hint = diagnose(case["out"], rollout_mistakes(attentions), atol=1e-6, rtol=1e-5) or (
            "per layer: mean over heads, (A + I) / 2, divide each row by its sum; then R = A_L @ ... @ A_1"
        )
        j.expect_close(case["out"], expected, what, atol=1e-5, rtol=1e-4, hint=hint)
        j.expect(not case.get("modified"), f"{what} modified its input (the list or a tensor in it)")


# ---------------------------------------------------------------------------- interpolate_pos_embed

@REGISTRY.exercise("interpolate_pos_embed", probe_interpolate)
def judge_interpolate(data: dict, j: Judge) -> None:
    expected_cases = interp_cases()
    cases = j.results(data, "cases", len(expected_cases), "interpolate_pos_embed", records=(dict, str))
    for (what, pos, grid, prefix), case in zip(expected_cases if cases else [], cases or [], strict=True):
        what = f"interpolate_pos_embed on {what} (num_prefix_tokens={prefix})"
        expected = reference_interpolate_pos_embed(pos, grid, prefix)
        if not isinstance(case, dict) or not j.expect_tensor(
            case.get("out"), what, shape=tuple(expected.shape), dtype=dtype_name(pos.dtype)
        ):
            continue
        if prefix and not torch.allclose(
            torch.as_tensor(array(case["out"])[:, :prefix]).double(), pos[:, :prefix].double(), atol=1e-6, rtol=1e-6
        ):
            j.fail(f"{what}: the first {prefix} (prefix) token(s) must be copied unchanged, not interpolated")
            continue
        hint = diagnose(case["out"], interp_mistakes(pos, grid, prefix), atol=1e-6, rtol=1e-5) or (
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
