# %% [markdown] nb="readonly:intro"
# # Day 6 assignment: a Swin Transformer block, piece by piece
#
# You will build every piece of a Swin Transformer block and finish with a block whose output is
# **the same as torchvision's `SwinTransformerBlock`** once the weights are copied across, on maps
# of any size.
#
# 1. `msa_flops`, `wmsa_flops`: the cost of global versus window attention (Swin paper, Eq. 1-2);
# 2. `window_partition`, `window_reverse`: cut a feature map into windows and glue it back;
# 3. `relative_position_index`: the table that maps a pair of tokens to their relative-position bias;
# 4. `shifted_window_mask`: the additive mask that keeps cyclically shifted windows from mixing regions;
# 5. `WindowAttention`: multi-head attention inside each window, with relative position bias;
# 6. `PatchMerging`: the 2x2 down-sampling between stages;
# 7. `SwinBlock`: norm, (shifted) window attention, MLP, residuals;
# 8. `PaddedSwinBlock`: the same block on maps whose sides are not multiples of the window.
#
# **How to work.** Write your code where it says `# YOUR CODE HERE` and delete the
# `raise NotImplementedError()` line. Run the test cell under each exercise: it explains what is
# wrong. When you are graded, hidden checks run more cases (other sizes, batches, shifts, float64)
# and compare with torchvision and with the Swin authors' reference code.
# Before you submit: *Kernel → Restart Kernel and Run All Cells*, and make sure nothing fails.
# Do not rename the notebook or delete cells.
#
# Layout: Swin blocks work on **channels-last** maps `(B, H, W, C)`. `ws` (or $M$) is the window
# size; a window holds `N = ws*ws` tokens; `nW = (H/ws)(W/ws)` windows per image. Windows are
# always listed **row-major**: left to right along the top row of windows, then the next row.

# %% nb="readonly:setup"
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models.swin_transformer import SwinTransformerBlock  # the reference for Exercises 8 and 9

torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"
print(f"torch {torch.__version__}; running on {device}" + ("" if device == "cuda" else " (no GPU found: this assignment needs none)"))


def check_close(actual, expected, what, atol=1e-5, rtol=1e-4):
    """Compare a tensor with the expected one and explain any difference."""
    if not isinstance(actual, torch.Tensor):
        raise AssertionError(f"{what} should be a torch.Tensor, got {type(actual).__name__}")
    if actual.shape != expected.shape:
        raise AssertionError(f"{what} has shape {tuple(actual.shape)}, expected {tuple(expected.shape)}")
    if actual.dtype != expected.dtype:
        raise AssertionError(f"{what} has dtype {actual.dtype}, expected {expected.dtype}")
    if not torch.isfinite(actual).all() and torch.isfinite(expected).all():
        raise AssertionError(f"{what} contains inf or NaN; expected finite values")
    if not torch.allclose(actual, expected, atol=atol, rtol=rtol):
        diff = (actual - expected).abs().nan_to_num(nan=float("inf"))
        index = tuple(int(i) for i in torch.nonzero(diff == diff.max())[0])
        raise AssertionError(
            f"{what} differs from the expected values by up to {diff.max().item():.3g} "
            f"(tolerance {atol:g} + {rtol:g}*|expected|); first at index {index}: "
            f"got {actual[index].item():.6g}, expected {expected[index].item():.6g}"
        )
    print(f"ok: {what}")


def check_equal(actual, expected, what):
    """Exact comparison (indices, masks, rearrangements), explaining the first difference."""
    if not isinstance(actual, torch.Tensor):
        raise AssertionError(f"{what} should be a torch.Tensor, got {type(actual).__name__}")
    if actual.shape != expected.shape:
        raise AssertionError(f"{what} has shape {tuple(actual.shape)}, expected {tuple(expected.shape)}")
    bad = actual != expected
    if bad.any():
        index = tuple(int(i) for i in torch.nonzero(bad)[0])
        raise AssertionError(
            f"{what} differs in {int(bad.sum())} of {bad.numel()} entries; first at index {index}: "
            f"got {actual[index].item()}, expected {expected[index].item()}"
        )
    print(f"ok: {what}")


def torchvision_copy(block: nn.Module, window_size: int, shift_size: int) -> SwinTransformerBlock:
    """torchvision's block carrying your block's weights (its MLP has dropouts at indices 2 and 4)."""
    tv = SwinTransformerBlock(block.norm1.normalized_shape[0], block.attn.num_heads, [window_size] * 2, [shift_size] * 2,
                              mlp_ratio=block.mlp[0].out_features / block.mlp[0].in_features)
    state = {k.replace("mlp.2.", "mlp.3."): v for k, v in block.state_dict().items()}
    missing, unexpected = tv.load_state_dict(state, strict=False)
    assert not unexpected and set(missing) == {"attn.relative_position_index"}, (
        f"your block's parameter names do not match the contract: unexpected {unexpected}, missing {missing}"
    )
    return tv.eval()


# %% [markdown] nb="readonly:flops_intro"
# ## Exercise 1: what global attention costs (1 + 1 points)
#
# On a feature map of $h \times w$ tokens with $C$ channels, one multi-head self-attention layer
# spends $3hwC^2$ on the $q, k, v$ projections, $(hw)^2C$ on $QK^\top$, $(hw)^2C$ on
# (weights)$\cdot V$ and $hwC^2$ on the output projection (multiply-adds; the softmax is ignored):
#
# $$\Omega(\mathrm{MSA}) = 4hwC^2 + 2(hw)^2C. \tag{1}$$
#
# Window attention runs the same layer inside non-overlapping $M \times M$ windows: each of the
# $hw/M^2$ windows costs $4M^2C^2 + 2M^4C$, so
#
# $$\Omega(\mathrm{W\text{-}MSA}) = 4hwC^2 + 2M^2hwC. \tag{2}$$
#
# The first grows with the **square** of the number of tokens, the second **linearly**. Both
# functions take positive integers and return an `int`. Evaluate Eq. (2) as written even when $M$
# does not divide $h$ or $w$ (it is then the cost per token times $hw$, not a count of whole windows;
# the lesson measures what torchvision really spends on such maps, where it pads).

# %% nb="solution:msa_flops"
def msa_flops(h: int, w: int, C: int) -> int:
    """Multiply-adds of global multi-head self-attention on h x w tokens of C channels (Eq. 1)."""
    ### BEGIN SOLUTION
    return 4 * h * w * C**2 + 2 * (h * w) ** 2 * C
    ### END SOLUTION


# %% nb="test:test_msa_flops:1"
assert msa_flops(1, 1, 1) == 6, f"msa_flops(1, 1, 1) should be 4 + 2 = 6, got {msa_flops(1, 1, 1)}"
assert msa_flops(2, 3, 4) == 4 * 6 * 16 + 2 * 36 * 4, (
    f"msa_flops(2, 3, 4) should be 4*6*16 + 2*6**2*4 = {4 * 6 * 16 + 2 * 36 * 4}, got {msa_flops(2, 3, 4)}"
)
assert msa_flops(56, 56, 96) == 4 * 3136 * 96**2 + 2 * 3136**2 * 96, "msa_flops(56, 56, 96): check the (hw)^2 term"
print("msa_flops: visible tests passed")

# %% nb="test:test_msa_flops_hidden:1"
# Hidden tests for `msa_flops` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day6_swin", "msa_flops", msa_flops)
### END HIDDEN TESTS

# %% nb="solution:wmsa_flops"
def wmsa_flops(h: int, w: int, C: int, M: int) -> int:
    """Multiply-adds of window attention (windows of M x M tokens) on h x w tokens (Eq. 2)."""
    ### BEGIN SOLUTION
    return 4 * h * w * C**2 + 2 * M**2 * h * w * C
    ### END SOLUTION


# %% nb="test:test_wmsa_flops:1"
assert wmsa_flops(2, 2, 3, 2) == msa_flops(2, 2, 3), (
    "with one window covering the whole 2x2 map (M = 2), window attention IS global attention: "
    f"wmsa_flops(2, 2, 3, 2) should equal msa_flops(2, 2, 3) = {msa_flops(2, 2, 3)}, got {wmsa_flops(2, 2, 3, 2)}"
)
assert wmsa_flops(56, 56, 96, 7) == 4 * 3136 * 96**2 + 2 * 49 * 3136 * 96, "wmsa_flops(56, 56, 96, 7): check the M^2 hw C term"
ratio = msa_flops(56, 56, 96) / wmsa_flops(56, 56, 96, 7)
print(f"Swin-T stage 1 (56x56 tokens, C=96, M=7): global attention costs {ratio:.1f}x window attention")
print("wmsa_flops: visible tests passed")

# %% nb="test:test_wmsa_flops_hidden:1"
# Hidden tests for `wmsa_flops` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day6_swin", "wmsa_flops", wmsa_flops)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:partition_intro"
# ## Exercise 2: window partition (3 points)
#
# Cut a map `(B, H, W, C)` into non-overlapping `ws x ws` windows, returned as
# `(B * nW, ws, ws, C)`: all windows of image 0 first, in **row-major** order (window `r, c` of an
# image with `W/ws` windows per row is number `r * (W/ws) + c`), then those of image 1, and so on.
#
# Hint: reshape the map to `(B, H/ws, ws, W/ws, ws, C)`, bring the two window-grid axes next to
# each other, and flatten. H and W are multiples of `ws` (any `ws >= 1`); keep the dtype (the
# hidden checks also pass integer maps and non-contiguous views, such as a `permute`d tensor).

# %% nb="solution:window_partition"
def window_partition(x: torch.Tensor, window_size: int) -> torch.Tensor:
    """(B, H, W, C) -> (B * nW, ws, ws, C), windows in row-major order per image."""
    ### BEGIN SOLUTION
    B, H, W, C = x.shape
    if H % window_size or W % window_size:
        raise ValueError(f"H={H} and W={W} must be multiples of the window size {window_size}")
    x = x.reshape(B, H // window_size, window_size, W // window_size, window_size, C)
    # contiguous, like the reference code, so that callers may .view() the windows
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, window_size, window_size, C)
    ### END SOLUTION


# %% nb="test:test_window_partition:1"
x = torch.arange(2 * 4 * 6 * 3, dtype=torch.float32).reshape(2, 4, 6, 3)
wins = window_partition(x, 2)
assert isinstance(wins, torch.Tensor) and wins.shape == (12, 2, 2, 3), (
    f"a (2, 4, 6, 3) map cut into 2x2 windows gives 2 images x 6 windows: shape (12, 2, 2, 3), got "
    f"{tuple(wins.shape) if isinstance(wins, torch.Tensor) else type(wins).__name__}"
)
check_equal(wins[0], x[0, 0:2, 0:2], "window 0 (top-left window of image 0)")
check_equal(wins[1], x[0, 0:2, 2:4], "window 1 (the next window to the RIGHT: row-major order)")
check_equal(wins[3], x[0, 2:4, 0:2], "window 3 (first window of the second row of windows)")
check_equal(wins[6], x[1, 0:2, 0:2], "window 6 (top-left window of image 1)")
print("window_partition: visible tests passed")

# %% nb="test:test_window_partition_hidden:2"
# Hidden tests for `window_partition` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day6_swin", "window_partition", window_partition)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:reverse_intro"
# ## Exercise 3: window reverse (2 points)
#
# The exact inverse: `(B * nW, ws, ws, C)` windows back into a `(B, H, W, C)` map, so that
# `window_reverse(window_partition(x, ws), ws, H, W)` equals `x`. The batch size is
# `windows.shape[0] // nW`.

# %% nb="solution:window_reverse"
def window_reverse(windows: torch.Tensor, window_size: int, H: int, W: int) -> torch.Tensor:
    """(B * nW, ws, ws, C) -> (B, H, W, C); the inverse of window_partition."""
    ### BEGIN SOLUTION
    n_h, n_w = H // window_size, W // window_size
    C = windows.shape[-1]
    B = windows.shape[0] // (n_h * n_w)
    x = windows.reshape(B, n_h, n_w, window_size, window_size, C)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(B, H, W, C)
    ### END SOLUTION


# %% nb="test:test_window_reverse:1"
x = torch.randn(2, 6, 9, 4)
back = window_reverse(window_partition(x, 3), 3, 6, 9)
check_equal(back, x, "window_reverse(window_partition(x, 3), 3, 6, 9) on a (2, 6, 9, 4) map")
wins = torch.arange(4, dtype=torch.float32).view(4, 1, 1, 1).expand(4, 2, 2, 1)
expected = torch.tensor([[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]], dtype=torch.float32).view(1, 4, 4, 1)
check_equal(window_reverse(wins, 2, 4, 4), expected, "four constant 2x2 windows numbered 0..3 placed back in row-major order")
print("window_reverse: visible tests passed")

# %% nb="test:test_window_reverse_hidden:1"
# Hidden tests for `window_reverse` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day6_swin", "window_reverse", window_reverse)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:index_intro"
# ## Exercise 4: the relative position index (3 points)
#
# Swin adds a learned bias $B$ to the attention scores that depends only on the **relative**
# position of query and key inside the window:
#
# $$\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d}} + B\right) V .$$
#
# Token $i$ of a window sits at $(y_i, x_i) = (i \,//\, M,\ i \bmod M)$. The offsets
# $\Delta y = y_i - y_j$ and $\Delta x = x_i - x_j$ each lie in $[-(M-1), M-1]$: $2M-1$ values, so
# a table of $(2M-1)^2$ rows (one column per head) holds every possible bias. The index into it is
#
# $$\mathrm{index}[i, j] = (\Delta y + M - 1)\,(2M - 1) + (\Delta x + M - 1),$$
#
# i.e. shift both offsets to start at 0, then flatten row-major. Return a `torch.long` tensor
# `(M*M, M*M)`, identical to the Swin authors' reference code.

# %% nb="solution:relative_position_index"
def relative_position_index(window_size: int) -> torch.Tensor:
    """LongTensor (ws*ws, ws*ws): index[i, j] into a (2ws-1)^2 relative-position bias table."""
    ### BEGIN SOLUTION
    coords = torch.stack(torch.meshgrid(torch.arange(window_size), torch.arange(window_size), indexing="ij"))
    coords = coords.flatten(1)  # (2, N): row and column of every token
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)  # (N, N, 2): (dy, dx)
    rel = rel + (window_size - 1)  # offsets now start at 0
    return rel[..., 0] * (2 * window_size - 1) + rel[..., 1]
    ### END SOLUTION


# %% nb="test:test_relative_position_index:1"
idx = relative_position_index(2)
assert isinstance(idx, torch.Tensor) and idx.dtype == torch.long, "relative_position_index must return a torch.long tensor"
expected = torch.tensor([[4, 3, 1, 0], [5, 4, 2, 1], [7, 6, 4, 3], [8, 7, 5, 4]])
check_equal(idx, expected, "relative_position_index(2) (tokens (0,0), (0,1), (1,0), (1,1))")
idx7 = relative_position_index(7)
assert idx7.shape == (49, 49), f"relative_position_index(7) should have shape (49, 49), got {tuple(idx7.shape)}"
assert idx7.min() == 0 and idx7.max() == 13 * 13 - 1, (
    f"indices must cover 0 .. (2*7-1)^2 - 1 = 168, got {idx7.min().item()} .. {idx7.max().item()}: "
    "did you add M-1 to both offsets and multiply the row offset by 2M-1?"
)
assert (idx7.diagonal() == 84).all(), "a token relative to itself (dy = dx = 0) is the centre of the table: index 6*13 + 6 = 84"
print("relative_position_index: visible tests passed")

# %% nb="test:test_relative_position_index_hidden:2"
# Hidden tests for `relative_position_index` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day6_swin", "relative_position_index", relative_position_index)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:mask_intro"
# ## Exercise 5: the shifted-window mask (4 points)
#
# A shifted block rolls the map by `-shift` along H and W (`torch.roll`) and then cuts regular
# windows. Windows along the bottom and right edges now hold tokens that were far apart in the
# image (they wrapped around). The mask stops them from attending to each other.
#
# Label the rolled `H x W` map by strips: along each axis the positions `[0, size-ws)`,
# `[size-ws, size-shift)` and `[size-shift, size)` are strips 0, 1, 2; a token's **region** is the
# pair (row strip, column strip), 9 regions in all. Cut the label map into windows with your
# `window_partition` and return a float `(nW, ws*ws, ws*ws)` tensor that is `0.0` where query `i`
# and key `j` of a window share a region and `-100.0` where they do not (the value of the
# reference code: $e^{-100}\approx 4\cdot10^{-44}$, so those weights vanish after the softmax).
#
# The domain: `H` and `W` are multiples of `ws`, and `shift_size` is one `int` with
# `0 < shift_size < ws`, used along both axes. The definition holds even when `H == ws` (strip 0
# is then empty and the single row of windows is still cut at `ws - shift`): deciding *not* to
# shift along such an axis is the block's job (Exercise 8), not the mask's.

# %% nb="solution:shifted_window_mask"
def shifted_window_mask(H: int, W: int, window_size: int, shift_size: int) -> torch.Tensor:
    """Float (nW, ws*ws, ws*ws): 0 where two tokens of a window share a region, -100.0 elsewhere."""
    ### BEGIN SOLUTION
    def strips(size: int) -> torch.Tensor:
        label = torch.zeros(size)
        label[size - window_size : size - shift_size] = 1
        label[size - shift_size :] = 2
        return label

    regions = strips(H)[:, None] * 3 + strips(W)[None, :]  # (H, W) region id of the rolled map
    windows = window_partition(regions[None, :, :, None], window_size).reshape(-1, window_size * window_size)
    different = windows[:, :, None] != windows[:, None, :]
    return torch.zeros(different.shape).masked_fill(different, -100.0)
    ### END SOLUTION


# %% nb="test:test_shifted_window_mask:1"
m = shifted_window_mask(4, 4, 2, 1)
assert isinstance(m, torch.Tensor) and m.shape == (4, 4, 4), (
    f"a 4x4 map with 2x2 windows has 4 windows of 4 tokens: expected shape (4, 4, 4), got "
    f"{tuple(m.shape) if isinstance(m, torch.Tensor) else type(m).__name__}"
)
assert m.is_floating_point(), f"the mask is added to the scores, so it must be a float tensor, got {m.dtype}"
assert set(m.unique().tolist()) <= {0.0, -100.0}, f"mask values must be 0.0 or -100.0, got {m.unique().tolist()}"
assert (m[0] == 0).all(), "window 0 (top-left) lies inside one region: its mask must be all 0"
# Window 1 (top-right): columns 2 and 3 are strips 1 and 2, so tokens 0, 2 (column 2) and 1, 3 (column 3) split.
expected = torch.tensor([[0, -100, 0, -100], [-100, 0, -100, 0], [0, -100, 0, -100], [-100, 0, -100, 0]], dtype=torch.float32)
check_equal(m[1], expected, "mask of window 1 of shifted_window_mask(4, 4, 2, 1)")
assert (m[3] != 0).sum() == 12, (
    f"window 3 (bottom-right) holds 4 tokens from 4 different regions: 12 of its 16 entries must be -100, got {(m[3] != 0).sum().item()}"
)
one_row = shifted_window_mask(2, 4, 2, 1)  # H == ws: a single row of windows
assert isinstance(one_row, torch.Tensor) and one_row.shape == (2, 4, 4), (
    f"shifted_window_mask(2, 4, 2, 1) should have shape (2, 4, 4), got "
    f"{tuple(one_row.shape) if isinstance(one_row, torch.Tensor) else type(one_row).__name__}"
)
assert (one_row[0] != 0).any(), (
    "with H == ws the rows are still cut into strips [0, ws-shift) and [ws-shift, ws): window 0 of "
    "shifted_window_mask(2, 4, 2, 1) must separate row 0 (tokens 0, 1) from row 1 (tokens 2, 3)"
)
print("shifted_window_mask: visible tests passed")

# %% nb="test:test_shifted_window_mask_hidden:3"
# Hidden tests for `shifted_window_mask` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day6_swin", "shifted_window_mask", shifted_window_mask)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:wattn_intro"
# ## Exercise 6: window attention with relative position bias (4 points)
#
# `WindowAttention(dim, window_size, num_heads, qkv_bias=True)` is multi-head self-attention run
# independently in every window, plus the bias of Exercise 4:
#
# * `qkv = nn.Linear(dim, 3*dim, bias=qkv_bias)` whose output is `[q | k | v]`, each split into
#   heads (head `h` takes features `h*d:(h+1)*d`, `d = dim // num_heads`); `proj = nn.Linear(dim, dim)`.
# * `relative_position_bias_table = nn.Parameter((2ws-1)^2, num_heads)` (initialise it with
#   `nn.init.trunc_normal_(..., std=0.02)`), and `relative_position_index` registered with
#   `register_buffer(..., persistent=False)`: it is computed, not learned, so it stays out of the
#   `state_dict`.
# * `forward(x, mask=None)`: `x` is `(B*nW, N, dim)` (the windows of one image consecutive);
#   scores `q k^T / sqrt(d)` `(B*nW, h, N, N)`, plus `bias[h, i, j] = table[index[i, j], h]`, plus
#   the optional `mask (nW, N, N)` (window `w` of **every** image gets `mask[w]`), softmax over
#   the keys, weighted sum of the values, heads merged back, `proj`.

# %% nb="solution:WindowAttention"
class WindowAttention(nn.Module):
    """Multi-head self-attention inside windows, with a learned relative position bias."""

    def __init__(self, dim: int, window_size: int, num_heads: int, qkv_bias: bool = True):
        super().__init__()
        ### BEGIN SOLUTION
        self.dim, self.window_size, self.num_heads = dim, window_size, num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim**-0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window_size - 1) ** 2, num_heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        self.register_buffer("relative_position_index", relative_position_index(window_size), persistent=False)
        ### END SOLUTION

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """x (B*nW, N, dim), optional additive mask (nW, N, N) -> (B*nW, N, dim)."""
        ### BEGIN SOLUTION
        B_, N, C = x.shape
        qkv = self.qkv(x).reshape(B_, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)  # each (B*nW, h, N, d)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.reshape(-1)]
        attn = attn + bias.reshape(N, N, -1).permute(2, 0, 1).unsqueeze(0)  # (1, h, N, N)
        if mask is not None:
            n_w = mask.shape[0]
            # windows of one image are consecutive, so window w of every image gets mask[w]
            attn = attn.view(B_ // n_w, n_w, self.num_heads, N, N) + mask.to(attn).unsqueeze(1).unsqueeze(0)
            attn = attn.view(B_, self.num_heads, N, N)
        attn = attn.softmax(dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(B_, N, C)
        return self.proj(out)
        ### END SOLUTION


# %% nb="test:test_WindowAttention:1"
torch.manual_seed(1)
wa = WindowAttention(16, 3, 4)
assert isinstance(wa.qkv, nn.Linear) and wa.qkv.weight.shape == (48, 16), "qkv must be nn.Linear(dim, 3*dim)"
assert tuple(wa.relative_position_bias_table.shape) == (25, 4), (
    f"relative_position_bias_table should be ((2*3-1)^2, num_heads) = (25, 4), got {tuple(wa.relative_position_bias_table.shape)}"
)
assert "relative_position_index" in dict(wa.named_buffers()), "register relative_position_index as a buffer"
assert "relative_position_index" not in wa.state_dict(), "relative_position_index must be a NON-persistent buffer (persistent=False)"
x = torch.randn(6, 9, 16)
out = wa(x)
assert out.shape == (6, 9, 16), f"WindowAttention on (B*nW, N, dim) = (6, 9, 16) must return the same shape, got {tuple(out.shape)}"
# With a zero bias table and no mask, window attention is plain multi-head attention in each window.
mha = nn.MultiheadAttention(16, 4, batch_first=True)
with torch.no_grad():
    wa.relative_position_bias_table.zero_()
    mha.in_proj_weight.copy_(wa.qkv.weight)
    mha.in_proj_bias.copy_(wa.qkv.bias)
    mha.out_proj.weight.copy_(wa.proj.weight)
    mha.out_proj.bias.copy_(wa.proj.bias)
    check_close(wa(x), mha(x, x, x, need_weights=False)[0], "WindowAttention with a zero bias table vs nn.MultiheadAttention")
    # A -100 mask between tokens 0 and the rest makes token 0 attend only to itself.
    mask = torch.zeros(3, 9, 9)
    mask[:, 0, 1:] = mask[:, 1:, 0] = -100.0
    solo = wa.proj(wa.qkv(x)[..., 32:])  # token 0's output = proj(its own value)
    check_close(wa(x, mask)[:, 0], solo[:, 0], "token 0 cut off by the mask attends only to itself")
print("WindowAttention: visible tests passed")

# %% nb="test:test_WindowAttention_hidden:3"
# Hidden tests for `WindowAttention` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day6_swin", "WindowAttention", WindowAttention)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:merge_intro"
# ## Exercise 7: patch merging (3 points)
#
# Between stages, Swin halves the resolution and doubles the channels, like a strided convolution
# in a CNN. `PatchMerging(dim)` takes `(B, H, W, C)` (H, W even), concatenates the four
# interleaved sub-grids **in this order**
#
# `x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]`
#
# along the channels into `(B, H/2, W/2, 4C)`, then applies `norm = nn.LayerNorm(4*dim)` and
# `reduction = nn.Linear(4*dim, 2*dim, bias=False)`: `(B, H/2, W/2, 2C)`.

# %% nb="solution:PatchMerging"
class PatchMerging(nn.Module):
    """(B, H, W, C) -> (B, H/2, W/2, 2C): concatenate 2x2 neighbours, LayerNorm, Linear."""

    def __init__(self, dim: int):
        super().__init__()
        ### BEGIN SOLUTION
        self.dim = dim
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        x0 = x[..., 0::2, 0::2, :]  # top-left of every 2x2 block
        x1 = x[..., 1::2, 0::2, :]  # bottom-left
        x2 = x[..., 0::2, 1::2, :]  # top-right
        x3 = x[..., 1::2, 1::2, :]  # bottom-right
        return self.reduction(self.norm(torch.cat([x0, x1, x2, x3], dim=-1)))
        ### END SOLUTION


# %% nb="test:test_PatchMerging:1"
from torchvision.models.swin_transformer import PatchMerging as TorchvisionPatchMerging

torch.manual_seed(2)
pm = PatchMerging(8)
assert isinstance(pm.norm, nn.LayerNorm) and tuple(pm.norm.normalized_shape) == (32,), "norm must be nn.LayerNorm(4*dim)"
assert isinstance(pm.reduction, nn.Linear) and pm.reduction.weight.shape == (16, 32) and pm.reduction.bias is None, (
    "reduction must be nn.Linear(4*dim, 2*dim, bias=False)"
)
x = torch.randn(2, 6, 4, 8)
out = pm(x)
assert out.shape == (2, 3, 2, 16), f"PatchMerging(8) on (2, 6, 4, 8) should give (2, 3, 2, 16), got {tuple(out.shape)}"
tv = TorchvisionPatchMerging(8)
tv.load_state_dict(pm.state_dict())
with torch.no_grad():
    check_close(out, tv(x), "PatchMerging vs torchvision's PatchMerging (same weights): check the concatenation order")
print("PatchMerging: visible tests passed")

# %% nb="test:test_PatchMerging_hidden:2"
# Hidden tests for `PatchMerging` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day6_swin", "PatchMerging", PatchMerging)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:block_intro"
# ## Exercise 8: the Swin block (6 points)
#
# `SwinBlock(dim, num_heads, window_size=7, shift_size=0, mlp_ratio=4.0)` on `(B, H, W, C)`
# (H and W multiples of the window, `0 <= shift_size < window_size`), with submodules `norm1`,
# `attn` (your `WindowAttention`), `norm2` (both `nn.LayerNorm(dim)`) and
# `mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))`,
# `hidden = int(dim * mlp_ratio)`:
#
# $$\hat z = \text{(S)W-MSA}(\mathrm{LN}(z)) + z, \qquad z' = \mathrm{MLP}(\mathrm{LN}(\hat z)) + \hat z .$$
#
# The (shifted) window attention, step by step:
#
# 1. if shifting: roll the normalised map by `(-shift_h, -shift_w)` over dims `(1, 2)`;
# 2. `window_partition`, flatten each window to `(B*nW, ws*ws, C)`, run `attn` with the
#    mask of Exercise 5 (only when shifting);
# 3. `window_reverse`, then roll back by `(+shift_h, +shift_w)`;
# 4. add the residual, then the MLP branch.
#
# **The shift is per axis, as in torchvision (required: the visible test below and the hidden
# checks test it).** Along an axis whose size equals the window there is only one window, and
# torchvision does not shift along that axis: `shift_h = shift_size if H > ws else 0`, and the same
# for `W`. For example `H = 7, W = 14, ws = 7`: roll only along W, and the mask has strips along W
# only; with `H = W = ws` nothing is rolled and no mask is used.
#
# Your `shifted_window_mask` takes one shift for both axes. For a shift along W only (`H == ws`,
# one row of windows), look at `shifted_window_mask(2 * ws, W, ws, shift)`: its top row of windows
# lies entirely in row strip 0, so its first `W // ws` windows are exactly the mask you need.
# Likewise, for a shift along H only, take the windows in the first column of
# `shifted_window_mask(H, 2 * ws, ws, shift)` (every second window). Or build the per-axis mask in
# the block yourself: only the contract of `shifted_window_mask` is guaranteed.

# %% nb="solution:SwinBlock"
class SwinBlock(nn.Module):
    """One Swin Transformer block on (B, H, W, C): (shifted) window attention and an MLP."""

    def __init__(self, dim: int, num_heads: int, window_size: int = 7, shift_size: int = 0, mlp_ratio: float = 4.0):
        super().__init__()
        ### BEGIN SOLUTION
        self.dim, self.num_heads = dim, num_heads
        self.window_size, self.shift_size = window_size, shift_size
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, window_size, num_heads)
        self.norm2 = nn.LayerNorm(dim)
        width = int(mlp_ratio * dim)  # the MLP's hidden width
        self.mlp = nn.Sequential(nn.Linear(dim, width), nn.GELU(), nn.Linear(width, dim))
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, H, W, C) -> (B, H, W, C)."""
        ### BEGIN SOLUTION
        B, H, W, C = x.shape
        ws = self.window_size
        # as torchvision: no shift along an axis that holds a single window
        shift_h = self.shift_size if H > ws else 0
        shift_w = self.shift_size if W > ws else 0
        y = self.norm1(x)
        mask = None
        if shift_h or shift_w:
            y = torch.roll(y, shifts=(-shift_h, -shift_w), dims=(1, 2))
            if shift_h and shift_w:
                mask = shifted_window_mask(H, W, ws, self.shift_size)
            elif shift_w:  # one row of windows: the top row of a map twice as tall is unshifted along H
                mask = shifted_window_mask(2 * ws, W, ws, shift_w)[: W // ws]
            else:  # one column of windows: the first column of a map twice as wide
                mask = shifted_window_mask(H, 2 * ws, ws, shift_h)[0::2]
            mask = mask.to(device=x.device, dtype=x.dtype)
        windows = window_partition(y, ws).reshape(-1, ws * ws, C)
        windows = self.attn(windows, mask)
        y = window_reverse(windows.reshape(-1, ws, ws, C), ws, H, W)
        if shift_h or shift_w:
            y = torch.roll(y, shifts=(shift_h, shift_w), dims=(1, 2))
        x = x + y
        return x + self.mlp(self.norm2(x))
        ### END SOLUTION


# %% nb="test:test_SwinBlock:2"
torch.manual_seed(3)
for (H, W, ws, shift) in [(8, 8, 4, 0), (8, 8, 4, 2), (12, 8, 4, 2), (7, 14, 7, 3), (14, 7, 7, 3)]:
    block = SwinBlock(32, 4, window_size=ws, shift_size=shift).eval()
    with torch.no_grad():
        block.attn.relative_position_bias_table.normal_(0, 0.5)  # make a mis-indexed bias visible
    x = torch.randn(2, H, W, 32)
    with torch.no_grad():
        ours, theirs = block(x), torchvision_copy(block, ws, shift)(x)
    assert ours.shape == x.shape, f"SwinBlock must keep the shape {tuple(x.shape)}, got {tuple(ours.shape)}"
    print(f"H={H:2d} W={W:2d} ws={ws} shift={shift}: max |yours - torchvision| = {(ours - theirs).abs().max().item():.2e}")
    one_axis = " (a single window along one axis: shift only along the other)" if shift and (H == ws or W == ws) else ""
    check_close(ours, theirs, f"SwinBlock vs torchvision's SwinTransformerBlock (H={H}, W={W}, ws={ws}, shift={shift}){one_axis}")
print("SwinBlock: visible tests passed: your block computes what torchvision's SwinTransformerBlock computes")

# %% nb="test:test_SwinBlock_hidden:4"
# Hidden tests for `SwinBlock` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day6_swin", "SwinBlock", SwinBlock)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:padded_intro"
# ## Exercise 9: Swin on maps of any size (4 points)
#
# Real feature maps are rarely multiples of the window. A detector's 800 x 1333 input gives a
# 200 x 333 map at stride 4; Swin-B at 384 x 384 pixels gives 96 x 96 tokens, and 96 is not a
# multiple of 7. The paper pads ("bottom-right padding is employed on the feature map if needed",
# Sec. 3.2, footnote 4), and so does torchvision's `shifted_window_attention`:
#
# 1. `y = norm1(x)`, then pad `y` **with zeros at the bottom and on the right** to
#    `Hp = ceil(H / ws) * ws` rows and `Wp = ceil(W / ws) * ws` columns (`F.pad` pads the last
#    dimension first: `F.pad(y, (0, 0, 0, Wp - W, 0, Hp - H))`). The padding comes **after** the norm,
#    so the padded tokens are zero vectors.
# 2. Decide the shift per axis from the **padded** sizes: shift along an axis only if it holds more
#    than one window (`Hp > ws`, `Wp > ws`), as in Exercise 8.
# 3. Roll, partition, attend with the mask of the padded `Hp x Wp` map, reverse, roll back,
#    exactly as in `SwinBlock`. The padded tokens are **not** masked: real tokens attend to them as
#    to zero vectors (torchvision does this; the lesson measures how much weight they get).
# 4. Crop back to `H x W`, add the residual, then the MLP branch (on real tokens only).
#
# `PaddedSwinBlock` is given as a subclass of your `SwinBlock`: same constructor, submodules and
# `state_dict`; you write `forward` for any `H, W >= 1`. On maps whose sides are multiples of the
# window it computes exactly what `SwinBlock` computes; on any size, what torchvision's
# `SwinTransformerBlock` computes with the same weights.

# %% nb="solution:PaddedSwinBlock"
class PaddedSwinBlock(SwinBlock):
    """A SwinBlock for maps of any size: pad (bottom/right, zeros, after norm1), attend, crop back."""

    def __init__(self, dim: int, num_heads: int, window_size: int = 7, shift_size: int = 0, mlp_ratio: float = 4.0):
        super().__init__(dim, num_heads, window_size=window_size, shift_size=shift_size, mlp_ratio=mlp_ratio)
        self.window_size, self.shift_size = window_size, shift_size  # SwinBlock's attributes are not contract: set them

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, H, W, C), any H, W >= 1 -> (B, H, W, C)."""
        ### BEGIN SOLUTION
        B, H, W, C = x.shape
        ws, shift = self.window_size, self.shift_size
        pad_b, pad_r = -H % ws, -W % ws
        y = F.pad(self.norm1(x), (0, 0, 0, pad_r, 0, pad_b))  # zeros after the norm, bottom and right
        Hp, Wp = H + pad_b, W + pad_r
        shift_h = shift if Hp > ws else 0  # one window along an axis: no shift along it
        shift_w = shift if Wp > ws else 0
        mask = None
        if shift_h or shift_w:
            y = torch.roll(y, shifts=(-shift_h, -shift_w), dims=(1, 2))
            if shift_h and shift_w:
                mask = shifted_window_mask(Hp, Wp, ws, shift)
            elif shift_w:
                mask = shifted_window_mask(2 * ws, Wp, ws, shift)[: Wp // ws]
            else:
                mask = shifted_window_mask(Hp, 2 * ws, ws, shift)[0::2]
            mask = mask.to(device=x.device, dtype=x.dtype)
        windows = self.attn(window_partition(y, ws).reshape(-1, ws * ws, C), mask)
        y = window_reverse(windows.reshape(-1, ws, ws, C), ws, Hp, Wp)
        if shift_h or shift_w:
            y = torch.roll(y, shifts=(shift_h, shift_w), dims=(1, 2))
        x = x + y[:, :H, :W]
        return x + self.mlp(self.norm2(x))
        ### END SOLUTION


# %% nb="test:test_PaddedSwinBlock:1"
torch.manual_seed(4)
for (B, H, W, ws, shift) in [(1, 5, 9, 4, 2), (2, 3, 10, 4, 2), (1, 6, 6, 7, 3), (2, 9, 7, 7, 3)]:
    block = PaddedSwinBlock(16, 2, window_size=ws, shift_size=shift).eval()
    with torch.no_grad():
        block.attn.relative_position_bias_table.normal_(0, 0.5)
        block.norm1.bias.normal_(0, 0.5)  # a norm bias makes "pad before the norm" visible
    x = torch.randn(B, H, W, 16)
    with torch.no_grad():
        ours, theirs = block(x), torchvision_copy(block, ws, shift)(x)
    assert ours.shape == x.shape, (
        f"PaddedSwinBlock on {tuple(x.shape)} must return the same shape (crop the padding off), got {tuple(ours.shape)}"
    )
    print(f"H={H} W={W} ws={ws} shift={shift} (padded to {-(-H // ws) * ws} x {-(-W // ws) * ws}): "
          f"max |yours - torchvision| = {(ours - theirs).abs().max().item():.2e}")
    check_close(ours, theirs, f"PaddedSwinBlock vs torchvision's SwinTransformerBlock (H={H}, W={W}, ws={ws}, shift={shift})")
same = PaddedSwinBlock(16, 2, window_size=4, shift_size=2).eval()
plain_block = SwinBlock(16, 2, window_size=4, shift_size=2).eval()
plain_block.load_state_dict(same.state_dict())
x = torch.randn(2, 8, 12, 16)
with torch.no_grad():
    check_close(same(x), plain_block(x), "PaddedSwinBlock vs your SwinBlock on an (8, 12) map (no padding needed)")
print("PaddedSwinBlock: visible tests passed")

# %% nb="test:test_PaddedSwinBlock_hidden:3"
# Hidden tests for `PaddedSwinBlock` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day6_swin", "PaddedSwinBlock", PaddedSwinBlock)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:quiz_intro"
# ## Concept questions (1 point each)
#
# Answer each question by assigning one letter, e.g. `quiz_1 = "A"`. The visible test checks
# only that your answer is a letter; the grader knows which is right.
#
# **Question 1.** Doubling the side of the input image (4x the tokens, $C$ and $M$ fixed): by
# roughly what factor do the attention costs of Eq. (1) and Eq. (2) grow, once the image is large?
#
# * A. Global by about 16, window by about 4.
# * B. Both by about 4, like the number of tokens.
# * C. Global by about 8, window by about 2.
# * D. Global by about 16, window not at all.

# %% nb="solution:quiz_1"
### BEGIN SOLUTION
quiz_1 = "A"
### END SOLUTION

# %% nb="test:test_quiz_1:1"
assert isinstance(quiz_1, str) and quiz_1.strip().upper() in {"A", "B", "C", "D"}, "quiz_1 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day6_swin", "quiz_1", quiz_1)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:quiz_2_text"
# **Question 2.** A shifted block of Swin-T's first stage: a $56 \times 56$ map, $M = 7$, shift 3,
# so $8 \times 8 = 64$ windows. In how many of them does the mask block some pairs of tokens?
#
# * A. 1: only the bottom-right window mixes regions.
# * B. 8: the windows of the last row mix regions.
# * C. 15: the last row and the last column of windows.
# * D. 64: every window, since every window was shifted.

# %% nb="solution:quiz_2"
### BEGIN SOLUTION
quiz_2 = "C"
### END SOLUTION

# %% nb="test:test_quiz_2:1"
assert isinstance(quiz_2, str) and quiz_2.strip().upper() in {"A", "B", "C", "D"}, "quiz_2 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day6_swin", "quiz_2", quiz_2)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:quiz_3_text"
# **Question 3.** Instead of the cyclic shift, one could displace the window grid by
# $\lfloor M/2 \rfloor$ and pad the partial windows at the border (the paper's "naive solution",
# Sec. 3.2). Why does Swin roll the map instead?
#
# * A. Rolling lets windows overlap, so each token sees more neighbours.
# * B. Rolling needs no attention mask at all, unlike padding.
# * C. Padding would change the relative position index table.
# * D. Rolling keeps $(h/M)(w/M)$ windows; padding needs $(h/M+1)(w/M+1)$.

# %% nb="solution:quiz_3"
### BEGIN SOLUTION
quiz_3 = "D"
### END SOLUTION

# %% nb="test:test_quiz_3:1"
assert isinstance(quiz_3, str) and quiz_3.strip().upper() in {"A", "B", "C", "D"}, "quiz_3 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day6_swin", "quiz_3", quiz_3)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:quiz_4_text"
# **Question 4.** torchvision's `SwinTransformerBlock` with $M = 7$ and shift 3 receives a
# $5 \times 10$ feature map. What does it do?
#
# * A. It raises an error: 5 and 10 are not multiples of 7.
# * B. Pads to 7 x 14, rolls along the width only, crops to 5 x 10.
# * C. Pads to 7 x 14, rolls along both axes by 3, crops back to 5 x 10.
# * D. Shrinks the window to 5 x 5 so that it fits, with no shift.

# %% nb="solution:quiz_4"
### BEGIN SOLUTION
quiz_4 = "B"
### END SOLUTION

# %% nb="test:test_quiz_4:1"
assert isinstance(quiz_4, str) and quiz_4.strip().upper() in {"A", "B", "C", "D"}, "quiz_4 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day6_swin", "quiz_4", quiz_4)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:written_1_text"
# ## Written question (3 points, graded by your instructor)
#
# 1. Suppose every Swin block used the same, unshifted window grid (patch merging between stages
#    still happens). Which pairs of tokens could never exchange information inside one stage, however
#    many blocks the stage has?
# 2. The shifted block rolls the map by $\lfloor M/2 \rfloor$ and then masks. Why is the mask needed
#    after a *cyclic* shift, and why does the reference value $-100$ work where $-\infty$ is the
#    textbook choice?
#
# Write your answer in the cell below (double-click it to edit it), a few sentences per part. No
# test checks it: a person grades it after you submit.

# %% [markdown] nb="answer:written_1:3"
# ### BEGIN SOLUTION
# **Model answer.**
# 1. Tokens in different windows: attention never crosses a window border, so with a fixed grid
#    the windows stay isolated for the whole stage (only patch merging, at the stage's end, mixes
#    neighbouring windows). Shifting the grid in every other block makes windows straddle the old
#    borders, so information crosses them.
# 2. The cyclic roll moves the rows and columns cut off at one border to the opposite border, so
#    some windows hold tokens that are far apart in the image (top and bottom edges). The mask
#    stops those from attending to each other, so each shifted window only mixes tokens that are
#    neighbours in the image. $-100$ is added to the scores: $e^{-100} \approx 4 \cdot 10^{-44}$, zero to
#    float32 precision (exactly 0 in float16) relative to the unmasked weights, and it avoids the
#    `nan` of a row that would be all $-\infty$.
#
# **Rubric (3 points).**
# * part 1 (1 point): tokens in different windows, with the reason (attention stays within a window);
# * part 2 (2 points): the roll wraps distant border tokens into one window, the mask keeps them
#   apart (1 point); $e^{-100}$ is negligible, so $-100$ acts as $-\infty$ without the risk of `nan`
#   (1 point). Half a point for "-100 is small enough" without the exponential.
# ### END SOLUTION
