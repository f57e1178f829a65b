"""References for day7_practicum: a ViT built from torch's own modules, for the judges only.

The student's ``SmallViT`` follows the course's (timm's) parameter names; this reference holds
the same numbers in PyTorch's own layers, so a comparison exercises the student's code against
``nn.MultiheadAttention``, ``nn.LayerNorm`` and ``nn.Conv2d`` rather than against a second copy
of the same idea:

=============================  ===================================
contract (SmallViT)            reference
=============================  ===================================
patch_embed.proj.{weight,bias} patch.{weight,bias}
cls_token (pool="cls" only)    cls
pos_embed                      pos
blocks.i.norm1 / norm2         blocks.i.ln1 / ln2
blocks.i.attn.qkv              blocks.i.mha.in_proj_{weight,bias}
blocks.i.attn.proj             blocks.i.mha.out_proj
blocks.i.mlp.0 / mlp.2         blocks.i.fc1 / fc2
norm                           ln
head                           fc
=============================  ===================================

Probes never import this module (nothing that computes an answer enters the sandbox).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

__all__ = ["ReferenceViT", "contract_shapes", "reference_drop_path_outputs"]


def contract_shapes(cfg: dict) -> dict[str, tuple[int, ...]]:
    """The contract's state_dict names and shapes for a SmallViT configuration."""
    d, p, c = cfg["embed_dim"], cfg["patch_size"], cfg.get("in_chans", 3)
    n = (cfg["img_size"] // p) ** 2 + (cfg["pool"] == "cls")
    hidden = int(d * cfg["mlp_ratio"])
    shapes: dict[str, tuple[int, ...]] = {"patch_embed.proj.weight": (d, c, p, p), "patch_embed.proj.bias": (d,)}
    if cfg["pool"] == "cls":
        shapes["cls_token"] = (1, 1, d)
    shapes["pos_embed"] = (1, n, d)
    for i in range(cfg["depth"]):
        shapes.update({
            f"blocks.{i}.norm1.weight": (d,), f"blocks.{i}.norm1.bias": (d,),
            f"blocks.{i}.attn.qkv.weight": (3 * d, d), f"blocks.{i}.attn.qkv.bias": (3 * d,),
            f"blocks.{i}.attn.proj.weight": (d, d), f"blocks.{i}.attn.proj.bias": (d,),
            f"blocks.{i}.norm2.weight": (d,), f"blocks.{i}.norm2.bias": (d,),
            f"blocks.{i}.mlp.0.weight": (hidden, d), f"blocks.{i}.mlp.0.bias": (hidden,),
            f"blocks.{i}.mlp.2.weight": (d, hidden), f"blocks.{i}.mlp.2.bias": (d,),
        })
    shapes.update({"norm.weight": (d,), "norm.bias": (d,), "head.weight": (cfg["num_classes"], d),
                   "head.bias": (cfg["num_classes"],)})
    return shapes


def _rename(name: str) -> str:
    """contract name -> reference name."""
    fixed = {"patch_embed.proj.weight": "patch.weight", "patch_embed.proj.bias": "patch.bias", "cls_token": "cls",
             "pos_embed": "pos", "norm.weight": "ln.weight", "norm.bias": "ln.bias", "head.weight": "fc.weight",
             "head.bias": "fc.bias"}
    if name in fixed:
        return fixed[name]
    prefix, _, rest = name.partition(".")  # "blocks"
    index, _, rest = rest.partition(".")
    inner = {"norm1.weight": "ln1.weight", "norm1.bias": "ln1.bias", "norm2.weight": "ln2.weight", "norm2.bias": "ln2.bias",
             "attn.qkv.weight": "mha.in_proj_weight", "attn.qkv.bias": "mha.in_proj_bias",
             "attn.proj.weight": "mha.out_proj.weight", "attn.proj.bias": "mha.out_proj.bias",
             "mlp.0.weight": "fc1.weight", "mlp.0.bias": "fc1.bias", "mlp.2.weight": "fc2.weight", "mlp.2.bias": "fc2.bias"}
    return f"{prefix}.{index}.{inner[rest]}"


class _RefBlock(nn.Module):
    def __init__(self, dim: int, heads: int, hidden: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(dim, eps=1e-6)
        self.mha = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ln2 = nn.LayerNorm(dim, eps=1e-6)
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """``keep (B, 2)``: per-sample factor on the attention and MLP branches (stochastic depth)."""
        h = self.ln1(x)
        a = self.mha(h, h, h, need_weights=False)[0]
        if keep is not None:
            a = a * keep[:, 0, None, None]
        x = x + a
        m = self.fc2(nn.functional.gelu(self.fc1(self.ln2(x))))
        if keep is not None:
            m = m * keep[:, 1, None, None]
        return x + m


class ReferenceViT(nn.Module):
    """A pre-norm ViT from PyTorch's modules; ``pool`` "cls" (class token) or "mean" (patch tokens)."""

    def __init__(self, cfg: dict) -> None:
        super().__init__()
        d, p = cfg["embed_dim"], cfg["patch_size"]
        self.pool = cfg["pool"]
        self.patch = nn.Conv2d(cfg.get("in_chans", 3), d, p, stride=p)
        n = (cfg["img_size"] // p) ** 2
        self.cls = nn.Parameter(torch.zeros(1, 1, d)) if self.pool == "cls" else None
        self.pos = nn.Parameter(torch.zeros(1, n + (self.pool == "cls"), d))
        hidden = int(d * cfg["mlp_ratio"])
        self.blocks = nn.ModuleList(_RefBlock(d, cfg["num_heads"], hidden) for _ in range(cfg["depth"]))
        self.ln = nn.LayerNorm(d, eps=1e-6)
        self.fc = nn.Linear(d, cfg["num_classes"])

    def load_contract_state(self, state: dict[str, torch.Tensor]) -> ReferenceViT:
        """Load a state dict written with the contract's names (all of them, nothing else)."""
        self.load_state_dict(OrderedDict((_rename(k), v) for k, v in state.items()), strict=True)
        return self

    def forward(self, x: torch.Tensor, keep: list[torch.Tensor | None] | None = None) -> torch.Tensor:
        tokens = self.patch(x).flatten(2).transpose(1, 2)
        if self.cls is not None:
            tokens = torch.cat([self.cls.expand(len(x), -1, -1), tokens], dim=1)
        tokens = tokens + self.pos
        for i, block in enumerate(self.blocks):
            tokens = block(tokens, None if keep is None else keep[i])
        tokens = self.ln(tokens)
        return self.fc(tokens[:, 0] if self.pool == "cls" else tokens.mean(dim=1))


def reference_drop_path_outputs(model: ReferenceViT, x: torch.Tensor, rates: list[float]) -> dict[tuple[bool, ...], torch.Tensor]:
    """Every output stochastic depth can give on input ``x`` (one image), keyed by which branches ran.

    ``rates[i]`` is block i's drop probability; a branch that runs is scaled by ``1 / (1 - rate)``.
    Blocks with rate 0 always run both branches.
    """
    import itertools

    choices = [[(True, True)] if r == 0 else list(itertools.product((True, False), repeat=2)) for r in rates]
    out = {}
    with torch.no_grad():
        for combo in itertools.product(*choices):
            keep = [torch.tensor([[(1.0 / (1 - r)) if a else 0.0, (1.0 / (1 - r)) if m else 0.0]], dtype=x.dtype)
                    for (a, m), r in zip(combo, rates, strict=True)]
            out[tuple(flag for pair in combo for flag in pair)] = model(x, keep)[0]
    return out
