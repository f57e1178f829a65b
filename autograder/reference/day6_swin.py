"""Trusted references for day6_swin, used by ``autograder/checks/day6_swin.py``.

* ``relative_position_index_official`` and ``shifted_window_mask_official`` are transcriptions of
  the Swin authors' reference code (microsoft/Swin-Transformer, ``swin_transformer.py``);
  ``relative_position_index_loops`` and ``shifted_window_mask_loops`` compute the same tables from
  their definitions, one entry at a time, so that each reference checks the other.
* ``swin_block_params`` / ``window_attention_params`` / ``patch_merging_params`` generate seeded
  parameters under the course's names; ``torchvision_block`` / ``torchvision_patch_merging`` load
  them into torchvision's modules through the weight mapping below.
* ``window_attention_official`` is the reference code's ``WindowAttention.forward``;
  ``torchvision_attention_branch`` runs torchvision's ``shifted_window_attention`` (padding, per-axis
  shift, mask, crop) on an already normalised map, so that a judge can build the outputs of typical
  mistakes (padding before the norm, padding at the top left) from torchvision's own code.

Only judges use this module. The probes reach nothing here but the seeded parameter generators:
nothing that computes a partition, an index, a mask, an attention or a block enters the sandbox.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torchvision.models.swin_transformer import PatchMerging as TVPatchMerging
from torchvision.models.swin_transformer import SwinTransformerBlock

from autograder.harness import randn

# Course name -> torchvision name. torchvision's MLP is Sequential(Linear, GELU, Dropout, Linear,
# Dropout), so the course's second Linear (index 2) is torchvision's index 3.
BLOCK_NAME_MAP = {"mlp.2.weight": "mlp.3.weight", "mlp.2.bias": "mlp.3.bias"}


# ------------------------------------------------------------------------ index and mask
def relative_position_index_official(window_size: int) -> torch.Tensor:
    """The Swin reference code's ``relative_position_index`` (ws*ws, ws*ws)."""
    coords_h = torch.arange(window_size)
    coords_w = torch.arange(window_size)
    coords = torch.stack(torch.meshgrid([coords_h, coords_w], indexing="ij"))  # 2, Wh, Ww
    coords_flatten = torch.flatten(coords, 1)  # 2, Wh*Ww
    relative_coords = coords_flatten[:, :, None] - coords_flatten[:, None, :]  # 2, Wh*Ww, Wh*Ww
    relative_coords = relative_coords.permute(1, 2, 0).contiguous()  # Wh*Ww, Wh*Ww, 2
    relative_coords[:, :, 0] += window_size - 1  # shift to start from 0
    relative_coords[:, :, 1] += window_size - 1
    relative_coords[:, :, 0] *= 2 * window_size - 1
    return relative_coords.sum(-1)  # Wh*Ww, Wh*Ww


def relative_position_index_loops(window_size: int) -> torch.Tensor:
    """The same table from its definition: token i at (y_i, x_i) = divmod(i, ws)."""
    n = window_size * window_size
    out = torch.empty(n, n, dtype=torch.long)
    for i in range(n):
        yi, xi = divmod(i, window_size)
        for j in range(n):
            yj, xj = divmod(j, window_size)
            out[i, j] = (yi - yj + window_size - 1) * (2 * window_size - 1) + (xi - xj + window_size - 1)
    return out


def window_partition_official(x: torch.Tensor, window_size: int) -> torch.Tensor:
    """The reference code's ``window_partition``: (B, H, W, C) -> (B*nW, ws, ws, C)."""
    B, H, W, C = x.shape
    x = x.view(B, H // window_size, window_size, W // window_size, window_size, C)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, window_size, window_size, C)


def window_partition_loops(x: torch.Tensor, window_size: int) -> torch.Tensor:
    """Windows cut out one by one, row-major within each image."""
    B, H, W, _ = x.shape
    out = []
    for b in range(B):
        for r in range(H // window_size):
            for c in range(W // window_size):
                out.append(x[b, r * window_size : (r + 1) * window_size, c * window_size : (c + 1) * window_size])
    return torch.stack(out)


def window_reverse_loops(windows: torch.Tensor, window_size: int, H: int, W: int) -> torch.Tensor:
    """Windows written back one by one, row-major within each image: (B*nW, ws, ws, C) -> (B, H, W, C)."""
    per_row, per_image = W // window_size, (H // window_size) * (W // window_size)
    out = windows.new_zeros(windows.shape[0] // per_image, H, W, windows.shape[-1])
    for i in range(windows.shape[0]):
        b, w = divmod(i, per_image)
        r, c = divmod(w, per_row)
        out[b, r * window_size : (r + 1) * window_size, c * window_size : (c + 1) * window_size] = windows[i]
    return out


def shifted_window_mask_official(H: int, W: int, window_size: int, shift_size: int) -> torch.Tensor:
    """The reference code's ``attn_mask`` of a shifted block: (nW, ws*ws, ws*ws), 0 or -100."""
    img_mask = torch.zeros((1, H, W, 1))
    h_slices = (slice(0, -window_size), slice(-window_size, -shift_size), slice(-shift_size, None))
    w_slices = (slice(0, -window_size), slice(-window_size, -shift_size), slice(-shift_size, None))
    cnt = 0
    for h in h_slices:
        for w in w_slices:
            img_mask[:, h, w, :] = cnt
            cnt += 1
    mask_windows = window_partition_official(img_mask, window_size).view(-1, window_size * window_size)
    attn_mask = mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)
    return attn_mask.masked_fill(attn_mask != 0, -100.0).masked_fill(attn_mask == 0, 0.0)


def _region(pos: int, size: int, window_size: int, shift_size: int) -> int:
    """Which of the three strips of the shifted map a row (or column) belongs to."""
    if pos < size - window_size:
        return 0
    return 1 if pos < size - shift_size else 2


def shifted_window_mask_loops(H: int, W: int, window_size: int, shift_size: int) -> torch.Tensor:
    """The same mask entry by entry: tokens of a window may attend iff they share a region."""
    n_w = (H // window_size) * (W // window_size)
    n = window_size * window_size
    out = torch.zeros(n_w, n, n)
    for w in range(n_w):
        wr, wc = divmod(w, W // window_size)
        labels = []
        for t in range(n):
            ty, tx = divmod(t, window_size)
            y, x = wr * window_size + ty, wc * window_size + tx
            labels.append((_region(y, H, window_size, shift_size), _region(x, W, window_size, shift_size)))
        for i in range(n):
            for j in range(n):
                if labels[i] != labels[j]:
                    out[w, i, j] = -100.0
    return out


# ------------------------------------------------------------------------ parameters
def _linear(seed: int, out_f: int, in_f: int, bias: bool = True) -> dict[str, torch.Tensor]:
    params = {"weight": randn(seed, out_f, in_f) / math.sqrt(in_f)}
    if bias:
        params["bias"] = 0.1 * randn(seed + 1, out_f)
    return params


def _layer_norm(seed: int, dim: int) -> dict[str, torch.Tensor]:
    return {"weight": 1.0 + 0.2 * randn(seed, dim), "bias": 0.1 * randn(seed + 1, dim)}


def _prefixed(prefix: str, params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v for k, v in params.items()}


def window_attention_params(
    seed: int, dim: int, window_size: int, num_heads: int, qkv_bias: bool = True
) -> dict[str, torch.Tensor]:
    """Seeded ``WindowAttention`` parameters under the course's names.

    The bias table is drawn with std 0.5 (not torchvision's 0.02) so that indexing it wrongly
    changes the output far beyond the tolerance.
    """
    params = _prefixed("qkv", _linear(seed, 3 * dim, dim, bias=qkv_bias))
    params.update(_prefixed("proj", _linear(seed + 2, dim, dim)))
    params["relative_position_bias_table"] = 0.5 * randn(seed + 4, (2 * window_size - 1) ** 2, num_heads)
    return params


def swin_block_params(
    seed: int, dim: int, num_heads: int, window_size: int, mlp_ratio: float = 4.0
) -> dict[str, torch.Tensor]:
    """Seeded ``SwinBlock`` parameters under the course's names (``mlp.0``, ``mlp.2``)."""
    hidden = int(dim * mlp_ratio)
    params = _prefixed("norm1", _layer_norm(seed, dim))
    params.update(_prefixed("attn", window_attention_params(seed + 10, dim, window_size, num_heads)))
    params.update(_prefixed("norm2", _layer_norm(seed + 20, dim)))
    params.update(_prefixed("mlp.0", _linear(seed + 30, hidden, dim)))
    params.update(_prefixed("mlp.2", _linear(seed + 40, dim, hidden)))
    return params


def patch_merging_params(seed: int, dim: int) -> dict[str, torch.Tensor]:
    params = _prefixed("norm", _layer_norm(seed, 4 * dim))
    params.update(_prefixed("reduction", _linear(seed + 2, 2 * dim, 4 * dim, bias=False)))
    return params


# ------------------------------------------------------------------------ torchvision modules
def torchvision_block(
    params: dict[str, torch.Tensor], dim: int, num_heads: int, window_size: int, shift_size: int, mlp_ratio: float = 4.0
) -> SwinTransformerBlock:
    """torchvision's ``SwinTransformerBlock`` carrying the course-named ``params``, in eval mode."""
    block = SwinTransformerBlock(dim, num_heads, [window_size, window_size], [shift_size, shift_size], mlp_ratio=mlp_ratio)
    state = block.state_dict()  # keeps torchvision's own relative_position_index buffer
    for name, value in params.items():
        target = BLOCK_NAME_MAP.get(name, name)
        if target not in state or state[target].shape != value.shape:
            raise KeyError(f"no torchvision parameter {target!r} of shape {tuple(value.shape)}")
        state[target] = value.clone()
    block.load_state_dict(state)
    return block.eval()


def torchvision_patch_merging(params: dict[str, torch.Tensor], dim: int) -> TVPatchMerging:
    module = TVPatchMerging(dim)
    module.load_state_dict({k: v.clone() for k, v in params.items()})
    return module.eval()


def torchvision_relative_position_index(window_size: int) -> torch.Tensor:
    """torchvision's buffer, reshaped to (ws*ws, ws*ws)."""
    block = SwinTransformerBlock(8, 2, [window_size, window_size], [0, 0])
    n = window_size * window_size
    return block.attn.relative_position_index.view(n, n).clone()


# ------------------------------------------------------------------------ window attention
def window_attention_official(
    x: torch.Tensor, params: dict[str, torch.Tensor], window_size: int, num_heads: int, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """The reference code's ``WindowAttention.forward`` on (B*nW, N, C) with these parameters."""
    B_, N, C = x.shape
    qkv_bias = params["qkv.bias"].to(x.dtype) if "qkv.bias" in params else None
    qkv = F.linear(x, params["qkv.weight"].to(x.dtype), qkv_bias)
    qkv = qkv.reshape(B_, N, 3, num_heads, C // num_heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    q = q * (C // num_heads) ** -0.5
    attn = q @ k.transpose(-2, -1)
    index = relative_position_index_official(window_size)
    table = params["relative_position_bias_table"].to(x.dtype)
    bias = table[index.view(-1)].view(N, N, -1).permute(2, 0, 1).contiguous()
    attn = attn + bias.unsqueeze(0)
    if mask is not None:
        nW = mask.shape[0]
        attn = attn.view(B_ // nW, nW, num_heads, N, N) + mask.to(x.dtype).unsqueeze(1).unsqueeze(0)
        attn = attn.view(-1, num_heads, N, N)
    attn = attn.softmax(dim=-1)
    out = (attn @ v).transpose(1, 2).reshape(B_, N, C)
    return F.linear(out, params["proj.weight"].to(x.dtype), params["proj.bias"].to(x.dtype))


def torchvision_attention_branch(
    y: torch.Tensor, params: dict[str, torch.Tensor], window_size: int, shift_size: int, num_heads: int,
    prefix: str = "attn.",
) -> torch.Tensor:
    """torchvision's ``shifted_window_attention`` on a normalised map ``y`` (B, H, W, C), any H, W."""
    from torchvision.models.swin_transformer import shifted_window_attention

    n = window_size * window_size
    table = params[prefix + "relative_position_bias_table"].to(y.dtype)
    index = torchvision_relative_position_index(window_size).reshape(-1)
    bias = table[index].view(n, n, -1).permute(2, 0, 1).contiguous().unsqueeze(0)
    qkv_bias = params.get(prefix + "qkv.bias")
    return shifted_window_attention(
        y, params[prefix + "qkv.weight"].to(y.dtype), params[prefix + "proj.weight"].to(y.dtype), bias,
        [window_size, window_size], num_heads, [shift_size, shift_size],
        qkv_bias=None if qkv_bias is None else qkv_bias.to(y.dtype), proj_bias=params[prefix + "proj.bias"].to(y.dtype),
        training=False,
    )
