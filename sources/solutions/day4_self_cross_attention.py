# %% [markdown] nb="readonly:intro"
# # Day 4 assignment: multi-head self-attention and cross-attention
#
# You will turn the Day 1 formula into the two layers every vision transformer is built from:
#
# 1. `split_heads` and `merge_heads`: the reshapes that give each head its own slice of the features;
# 2. `MultiHeadSelfAttention`: learned projections $W_Q, W_K, W_V$, several heads, an output projection;
# 3. `CrossAttention`: queries from one sequence, keys and values from another;
# 4. `sincos_pos_embed_2d`: the fixed 2-D sine-cosine position embedding of MAE, for a grid of patches;
# 5. four concept questions.
#
# **How to work.** Write your code where it says `# YOUR CODE HERE` and delete the
# `raise NotImplementedError()` line. Run the test cell under each exercise: it explains
# what is wrong in words. When you are graded, more (hidden) checks run: other widths, head counts,
# batch sizes, sequence lengths, masks and dtypes, compared with `torch.nn.MultiheadAttention`
# (and, for the position embedding, with MAE's reference code on other grids and widths).
# Before you submit: *Kernel → Restart Kernel and Run All Cells*, and make sure nothing fails.
# Do not rename the notebook or delete cells.
#
# Shapes: `B` batch, `N` tokens, `dim` = `h * d` channels, `h` heads, `d` head width.
# Boolean masks mean **True = may attend**, as in `torch.nn.functional.scaled_dot_product_attention`
# (careful: `nn.MultiheadAttention` uses the opposite convention for its boolean `attn_mask`).

# %% nb="readonly:setup"
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

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


def torch_mask(mask, batch, heads, n_q, n_k):
    """Our mask (True = may attend, or float to add) -> a float mask nn.MultiheadAttention accepts.

    nn.MultiheadAttention reads a *boolean* attn_mask the other way round (True = blocked), so we
    hand it an additive float mask of shape (B*h, N_q, N_k) instead.
    """
    if mask.dtype == torch.bool:
        mask = torch.zeros(mask.shape).masked_fill(~mask, float("-inf"))
    return mask.expand(batch, heads, n_q, n_k).reshape(batch * heads, n_q, n_k)


# %% [markdown] nb="readonly:split_intro"
# ## Exercise 1: splitting and merging heads (2 + 2 points)
#
# A layer of width `dim = h * d` runs `h` attention heads side by side. Head `i` owns the
# features `i*d : (i+1)*d` of every token:
#
# $$x \in \mathbb{R}^{B \times N \times hd} \;\xrightarrow{\text{reshape}}\; \mathbb{R}^{B \times N \times h \times d}
# \;\xrightarrow{\text{transpose}(1,2)}\; \mathbb{R}^{B \times h \times N \times d}.$$
#
# After the transpose, every head is an independent `(N, d)` "sequence", so one batched matmul
# computes all heads' scores at once. `merge_heads` is the exact inverse: transpose back, then
# reshape to `(B, N, h*d)` (concatenating the heads' outputs token by token).
#
# A `view(B, h, N, d)` of the `(B, N, h*d)` tensor has the right *shape* but the wrong
# *content*: it chops the flat memory into blocks of `N*d` numbers, mixing tokens and heads.

# %% nb="solution:split_heads"
def split_heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """(B, N, h*d) -> (B, h, N, d); head i takes features i*d:(i+1)*d of every token."""
    ### BEGIN SOLUTION
    batch, tokens, channels = x.shape
    if channels % num_heads:
        raise ValueError(f"{channels} channels cannot be split into {num_heads} heads")
    return x.reshape(batch, tokens, num_heads, channels // num_heads).transpose(1, 2)
    ### END SOLUTION


# %% nb="test:test_split_heads:1"
x = torch.arange(2 * 3 * 8.0).reshape(2, 3, 8)  # B=2, N=3, dim=8
s = split_heads(x, 4)
assert isinstance(s, torch.Tensor) and s.shape == (2, 4, 3, 2), (
    f"split_heads of a (2, 3, 8) tensor into 4 heads should have shape (2, 4, 3, 2) = (B, h, N, d), "
    f"got {tuple(s.shape) if isinstance(s, torch.Tensor) else type(s).__name__}"
)
assert torch.equal(s[1, 2, 0], x[1, 0, 4:6]), (
    f"head 2 of token 0 (batch 1) should hold features 4:6 of that token, {x[1, 0, 4:6].tolist()}, "
    f"got {s[1, 2, 0].tolist()}. Did you view/reshape straight to (B, h, N, d) without a transpose?"
)
check_close(split_heads(x, 1), x.unsqueeze(1), "split_heads with a single head")
print("split_heads: visible tests passed")

# %% nb="test:test_split_heads_hidden:1"
# Hidden tests for `split_heads` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day4_self_cross_attention", "split_heads", split_heads)
### END HIDDEN TESTS

# %% nb="solution:merge_heads"
def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(B, h, N, d) -> (B, N, h*d), the inverse of split_heads."""
    ### BEGIN SOLUTION
    batch, heads, tokens, head_dim = x.shape
    return x.transpose(1, 2).reshape(batch, tokens, heads * head_dim)
    ### END SOLUTION


# %% nb="test:test_merge_heads:1"
x = torch.randn(2, 5, 12)
m = merge_heads(split_heads(x, 3))
assert isinstance(m, torch.Tensor) and m.shape == (2, 5, 12), (
    f"merge_heads of a (2, 3, 5, 4) tensor should have shape (2, 5, 12) = (B, N, h*d), "
    f"got {tuple(m.shape) if isinstance(m, torch.Tensor) else type(m).__name__}"
)
check_close(m, x, "merge_heads(split_heads(x, 3)), which must give x back")
y = torch.arange(2 * 3 * 4 * 2.0).reshape(2, 3, 4, 2)  # B=2, h=3, N=4, d=2
assert torch.equal(merge_heads(y)[0, 1, 2:4], y[0, 1, 1]), (
    "token 1 of the merged tensor should hold head 1's output for token 1 in features 2:4; "
    "transpose (B, h, N, d) back to (B, N, h, d) before reshaping"
)
print("merge_heads: visible tests passed")

# %% nb="test:test_merge_heads_hidden:1"
# Hidden tests for `merge_heads` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day4_self_cross_attention", "merge_heads", merge_heads)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:mhsa_intro"
# ## Exercise 2: multi-head self-attention (6 points)
#
# For input $X \in \mathbb{R}^{N \times \text{dim}}$ (one image of the batch), head $i$ computes
#
# $$Q_i = X W_Q^{(i)},\quad K_i = X W_K^{(i)},\quad V_i = X W_V^{(i)},\qquad
# \mathrm{head}_i = \mathrm{softmax}\!\left(\frac{Q_i K_i^\top}{\sqrt{d}} + M\right) V_i ,$$
#
# and the layer returns $\mathrm{concat}(\mathrm{head}_1, \dots, \mathrm{head}_h)\, W_O + b_O$.
# Note the scale: $d$ = `dim // num_heads` is the **head** width, not `dim`.
#
# Implementation, as in `nn.MultiheadAttention` and timm:
#
# * `self.qkv = nn.Linear(dim, 3*dim, bias=qkv_bias)` computes all three projections in one
#   matmul; its output is `[q | k | v]` (the first `dim` features are q, the next k, the last v).
#   Split it with `chunk`/slicing, then `split_heads` each of q, k, v.
# * `self.proj = nn.Linear(dim, dim)` is $W_O$, applied after `merge_heads`.
# * `mask` (optional) broadcasts against the scores `(B, h, N, N)`: `(N, N)`, `(B, 1, 1, N)` (padding)
#   and `(B, h, N, N)` all work. A **boolean** mask means True = may attend (set the other scores
#   to `-inf`); a **float** mask is added to the scores.
# * Keep the attention weights (after the softmax) in `self.attn_weights`, shape `(B, h, N, N)`:
#   Day 5 draws attention maps from them. Storing them detached is fine.
#
# You may use `torch.softmax` here (you wrote your own on Day 1). The result must equal
# `nn.MultiheadAttention(dim, num_heads, batch_first=True)` with `in_proj_weight = qkv.weight`,
# `in_proj_bias = qkv.bias` and `out_proj = proj`: the test below copies the weights and compares.

# %% nb="solution:MultiHeadSelfAttention"
class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention on (B, N, dim) tokens.

    Args:
        dim: token width; must be divisible by num_heads.
        num_heads: number of heads h; each has width d = dim // num_heads.
        qkv_bias: whether the qkv projection has a bias.
    Attributes:
        qkv: nn.Linear(dim, 3*dim) whose output is [q | k | v].
        proj: nn.Linear(dim, dim), the output projection.
        attn_weights: the weights of the last forward pass, (B, h, N, N).
    """

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True):
        super().__init__()
        ### BEGIN SOLUTION
        if dim % num_heads:
            raise ValueError(f"dim={dim} must be divisible by num_heads={num_heads}")
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.attn_weights = None
        ### END SOLUTION

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, N, dim), optional mask broadcastable to (B, h, N, N) -> (B, N, dim)."""
        ### BEGIN SOLUTION
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q, k, v = (split_heads(t, self.num_heads) for t in (q, k, v))
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
        weights = torch.softmax(scores, dim=-1)
        self.attn_weights = weights.detach()
        return self.proj(merge_heads(weights @ v))
        ### END SOLUTION


# %% nb="test:test_MultiHeadSelfAttention:2"
torch.manual_seed(1)
mhsa = MultiHeadSelfAttention(dim=16, num_heads=4)
names = sorted(name for name, _ in mhsa.named_parameters())
assert names == ["proj.bias", "proj.weight", "qkv.bias", "qkv.weight"], (
    f"the parameters should be qkv.weight, qkv.bias, proj.weight, proj.bias; got {names}"
)
assert tuple(mhsa.qkv.weight.shape) == (48, 16), f"qkv should be nn.Linear(16, 48); its weight is {tuple(mhsa.qkv.weight.shape)}"
x = torch.randn(2, 5, 16)
out = mhsa(x)
assert isinstance(out, torch.Tensor) and out.shape == (2, 5, 16), (
    f"the output should have shape (2, 5, 16) = (B, N, dim), got {tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}"
)
w = mhsa.attn_weights
assert isinstance(w, torch.Tensor) and w.shape == (2, 4, 5, 5), (
    f"self.attn_weights should be a (2, 4, 5, 5) = (B, h, N, N) tensor, got {tuple(w.shape) if isinstance(w, torch.Tensor) else w!r}"
)
assert torch.allclose(w.sum(-1), torch.ones(2, 4, 5), atol=1e-5), (
    "every row of self.attn_weights must sum to 1 (softmax over the keys, the last axis)"
)
reference = nn.MultiheadAttention(16, 4, batch_first=True)
with torch.no_grad():
    reference.in_proj_weight.copy_(mhsa.qkv.weight)
    reference.in_proj_bias.copy_(mhsa.qkv.bias)
    reference.out_proj.weight.copy_(mhsa.proj.weight)
    reference.out_proj.bias.copy_(mhsa.proj.bias)
ref_out, ref_w = reference(x, x, x, average_attn_weights=False)
check_close(w, ref_w, "attn_weights compared with nn.MultiheadAttention (scale by 1/sqrt(head_dim)?)")
check_close(out, ref_out, "output compared with nn.MultiheadAttention (output projection applied?)")
pad = torch.tensor([[True, True, True, True, True], [True, True, True, False, False]]).view(2, 1, 1, 5)
out = mhsa(x, mask=pad)
assert (mhsa.attn_weights[1, :, :, 3:] == 0).all(), "padded keys (mask False) must get weight exactly 0: True = may attend"
check_close(out, reference(x, x, x, attn_mask=torch_mask(pad, 2, 4, 5, 5))[0], "output with a (2, 1, 1, 5) padding mask")
print("MultiHeadSelfAttention: visible tests passed")

# %% nb="test:test_MultiHeadSelfAttention_hidden:4"
# Hidden tests for `MultiHeadSelfAttention` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day4_self_cross_attention", "MultiHeadSelfAttention", MultiHeadSelfAttention)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:cross_intro"
# ## Exercise 3: cross-attention (5 points)
#
# Cross-attention lets one sequence read another: text tokens reading image patches, object
# queries reading a feature map (DETR), a decoder reading an encoder. The queries come from
# `x (B, N_q, dim)`, the keys and values from `context (B, N_k, context_dim)`:
#
# $$Q = x W_Q,\quad K = c\, W_K,\quad V = c\, W_V,\qquad
# \mathrm{out} = \mathrm{concat}_i\!\left(\mathrm{softmax}\!\left(\frac{Q_i K_i^\top}{\sqrt{d}} + M\right) V_i\right) W_O .$$
#
# * `self.q = nn.Linear(dim, dim)`, `self.kv = nn.Linear(context_dim, 2*dim)` with output `[k | v]`,
#   `self.proj = nn.Linear(dim, dim)`.
# * The weights are `(B, h, N_q, N_k)`, not square; keep them in `self.attn_weights`.
# * `mask` broadcasts against `(B, h, N_q, N_k)`: `(N_q, N_k)`, `(B, 1, 1, N_k)`, `(B, h, N_q, N_k)`;
#   bool (True = may attend) or float (added), as before.
#
# It equals `nn.MultiheadAttention(dim, num_heads, kdim=context_dim, vdim=context_dim, batch_first=True)`
# with `q_proj_weight = q.weight`, `k_proj_weight`/`v_proj_weight` the two halves of `kv.weight`,
# `in_proj_bias = cat([q.bias, kv.bias])` and `out_proj = proj`.

# %% nb="solution:CrossAttention"
class CrossAttention(nn.Module):
    """Multi-head cross-attention: queries from x (B, Nq, dim), keys/values from context (B, Nk, context_dim).

    Attributes:
        q: nn.Linear(dim, dim).
        kv: nn.Linear(context_dim, 2*dim) whose output is [k | v].
        proj: nn.Linear(dim, dim).
        attn_weights: the weights of the last forward pass, (B, h, Nq, Nk).
    """

    def __init__(self, dim: int, context_dim: int, num_heads: int):
        super().__init__()
        ### BEGIN SOLUTION
        if dim % num_heads:
            raise ValueError(f"dim={dim} must be divisible by num_heads={num_heads}")
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(context_dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)
        self.attn_weights = None
        ### END SOLUTION

    def forward(self, x: torch.Tensor, context: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, Nq, dim), context (B, Nk, context_dim), mask broadcastable to (B, h, Nq, Nk) -> (B, Nq, dim)."""
        ### BEGIN SOLUTION
        q = split_heads(self.q(x), self.num_heads)
        k, v = (split_heads(t, self.num_heads) for t in self.kv(context).chunk(2, dim=-1))
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
        weights = torch.softmax(scores, dim=-1)
        self.attn_weights = weights.detach()
        return self.proj(merge_heads(weights @ v))
        ### END SOLUTION


# %% nb="test:test_CrossAttention:1"
torch.manual_seed(2)
cross = CrossAttention(dim=12, context_dim=20, num_heads=3)
names = sorted(name for name, _ in cross.named_parameters())
assert names == ["kv.bias", "kv.weight", "proj.bias", "proj.weight", "q.bias", "q.weight"], (
    f"the parameters should be q.*, kv.*, proj.* (weight and bias each); got {names}"
)
x, context = torch.randn(2, 4, 12), torch.randn(2, 7, 20)
out = cross(x, context)
assert isinstance(out, torch.Tensor) and out.shape == (2, 4, 12), (
    f"the output should have shape (2, 4, 12) = (B, N_q, dim), got {tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}"
)
w = cross.attn_weights
assert isinstance(w, torch.Tensor) and w.shape == (2, 3, 4, 7), (
    f"self.attn_weights should be (2, 3, 4, 7) = (B, h, N_q, N_k), got {tuple(w.shape) if isinstance(w, torch.Tensor) else w!r}. "
    "Keys and values come from `context`, queries from `x`."
)
reference = nn.MultiheadAttention(12, 3, kdim=20, vdim=20, batch_first=True)
with torch.no_grad():
    reference.q_proj_weight.copy_(cross.q.weight)
    reference.k_proj_weight.copy_(cross.kv.weight[:12])
    reference.v_proj_weight.copy_(cross.kv.weight[12:])
    reference.in_proj_bias.copy_(torch.cat([cross.q.bias, cross.kv.bias]))
    reference.out_proj.weight.copy_(cross.proj.weight)
    reference.out_proj.bias.copy_(cross.proj.bias)
ref_out, ref_w = reference(x, context, context, average_attn_weights=False)
check_close(w, ref_w, "attn_weights compared with nn.MultiheadAttention")
check_close(out, ref_out, "output compared with nn.MultiheadAttention (is kv's output [k | v], in that order?)")
print("CrossAttention: visible tests passed")

# %% nb="test:test_CrossAttention_hidden:4"
# Hidden tests for `CrossAttention` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day4_self_cross_attention", "CrossAttention", CrossAttention)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:sincos_intro"
# ## Exercise 4: a 2-D sine-cosine position embedding (4 points)
#
# Self-attention sees a *set* of patches (the lesson measured it), so a vision transformer adds a
# position vector to each patch token. ViT learns them; MAE, MoCo v3 and many models since use a
# **fixed** 2-D sine-cosine embedding instead: nothing to learn, and defined for any grid size.
#
# For a grid of `grid_h` x `grid_w` patches, tokens in **row-major order** (token $t = r \cdot \text{grid\_w} + c$
# for the patch in row $r$, column $c$, as `Conv2d(...).flatten(2)` gives them) and $F = \text{dim}/4$
# frequencies
#
# $$\omega_k = T^{-k/F},\qquad k = 0, 1, \dots, F-1 \qquad (T = \text{temperature} = 10000),$$
#
# token $t$ gets four blocks of $F$ channels, the **column** ($x$) in the first half, the **row** ($y$) in the second:
#
# $$E_t = \big[\, \sin(c\,\omega) \;\big|\; \cos(c\,\omega) \;\big|\; \sin(r\,\omega) \;\big|\; \cos(r\,\omega) \,\big] \in \mathbb{R}^{\text{dim}} .$$
#
# With `num_prefix_tokens = n`, the result starts with `n` rows of zeros (a class token has no position),
# then the `grid_h * grid_w` rows above: shape `(n + grid_h * grid_w, dim)`, `float32`.
# A `dim` that is not a multiple of 4 raises `ValueError`.
#
# Example, `dim = 8` ($F = 2$, $\omega = (1, 0.01)$), the patch in row 2, column 1 of a 3 x 4 grid is token
# $2 \cdot 4 + 1 = 9$: $E_9 = [\sin 1, \sin 0.01, \cos 1, \cos 0.01, \sin 2, \sin 0.02, \cos 2, \cos 0.02]$.
#
# **Why the layout is fixed to the last index.** Any fixed arrangement of these channels works when
# a model is trained from scratch, and the published code does not agree on one: MAE's
# `util/pos_embed.py` (the layout above; its `meshgrid` takes the column coordinate first) and MoCo v3's
# `vits.py` (whose `meshgrid` gives, on square grids, the row in the first half) differ by a swap of the
# halves. A checkpoint trained with one and run with the other sees every patch at its mirror position
# across the diagonal. The hidden checks use MAE's layout, on square and non-square grids.

# %% nb="solution:sincos_pos_embed_2d"
def sincos_pos_embed_2d(
    grid_h: int, grid_w: int, dim: int, temperature: float = 10000.0, num_prefix_tokens: int = 0
) -> torch.Tensor:
    """Fixed 2-D sine-cosine position embedding (MAE layout) -> (num_prefix_tokens + grid_h*grid_w, dim) float32.

    Row num_prefix_tokens + r*grid_w + c holds [sin(c w) | cos(c w) | sin(r w) | cos(r w)], each block dim/4
    channels, with w_k = temperature ** (-k / (dim/4)), k = 0 .. dim/4 - 1; the first num_prefix_tokens rows are 0.
    Raises ValueError if dim is not a multiple of 4.
    """
    ### BEGIN SOLUTION
    if dim % 4:
        raise ValueError(f"dim={dim} must be a multiple of 4 (sin and cos for each of the two axes)")
    quarter = dim // 4
    omega = temperature ** (-torch.arange(quarter, dtype=torch.float64) / quarter)   # (F,)
    rows = torch.arange(grid_h, dtype=torch.float64).repeat_interleave(grid_w)       # r of token t = r*grid_w + c
    cols = torch.arange(grid_w, dtype=torch.float64).repeat(grid_h)                  # c of token t
    x, y = cols[:, None] * omega, rows[:, None] * omega                              # (N, F) each
    grid = torch.cat([x.sin(), x.cos(), y.sin(), y.cos()], dim=1)                    # (N, dim)
    prefix = torch.zeros(num_prefix_tokens, dim, dtype=torch.float64)
    return torch.cat([prefix, grid]).float()
    ### END SOLUTION


# %% nb="test:test_sincos_pos_embed_2d:1"
pe = sincos_pos_embed_2d(3, 4, 8)
assert isinstance(pe, torch.Tensor) and pe.shape == (12, 8), (
    f"a 3 x 4 grid with dim=8 should give a (12, 8) tensor (one row per patch), "
    f"got {tuple(pe.shape) if isinstance(pe, torch.Tensor) else type(pe).__name__}"
)
assert pe.dtype == torch.float32, f"the embedding should be float32, got {pe.dtype}"
check_close(pe[0], torch.tensor([0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0]), "token 0 (row 0, column 0): sin 0 = 0, cos 0 = 1")
expected_9 = torch.tensor([math.sin(1), math.sin(0.01), math.cos(1), math.cos(0.01),
                           math.sin(2), math.sin(0.02), math.cos(2), math.cos(0.02)])
check_close(pe[9], expected_9, "token 9 (row 2, column 1; the example above). Column first, then row")
check_close(pe.norm(dim=1), torch.full((12,), 2.0), "the norm of every row (sin^2 + cos^2 = 1 per frequency and axis: sqrt(dim/2))")
with_cls = sincos_pos_embed_2d(3, 4, 8, num_prefix_tokens=1)
assert isinstance(with_cls, torch.Tensor) and with_cls.shape == (13, 8), (
    "with num_prefix_tokens=1 the result has one more row, (13, 8)"
)
check_close(with_cls[0], torch.zeros(8), "the prefix row (a class token has no position)")
check_close(with_cls[1:], pe, "the rows after the prefix (the grid's embedding)")
try:
    sincos_pos_embed_2d(2, 2, 6)
except ValueError:
    pass
else:
    raise AssertionError("dim=6 is not a multiple of 4: sincos_pos_embed_2d(2, 2, 6) should raise ValueError")
print("sincos_pos_embed_2d: visible tests passed")

# %% nb="test:test_sincos_pos_embed_2d_hidden:3"
# Hidden tests for `sincos_pos_embed_2d` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day4_self_cross_attention", "sincos_pos_embed_2d", sincos_pos_embed_2d)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:quiz_intro"
# ## Concept questions (1 point each)
#
# Answer each question by assigning one letter, e.g. `quiz_1 = "A"`. The visible test checks
# only that your answer is a letter; the grader knows which is right.
#
# **Question 1.** A `MultiHeadSelfAttention(dim=256, num_heads=h)` (with biases) has how many
# parameters, as a function of the number of heads $h$?
#
# * A. $h \cdot (4 \cdot 256^2 + 4 \cdot 256)$: each head has its own full-width projections.
# * B. $(4 \cdot 256^2 + 4 \cdot 256) / h$: more heads, so fewer weights per head.
# * C. $4 \cdot 256^2 + 4 \cdot 256 + h^2$: one extra weight per pair of heads.
# * D. $4 \cdot 256^2 + 4 \cdot 256$, the same for every $h$ that divides 256.

# %% nb="solution:quiz_1"
### BEGIN SOLUTION
quiz_1 = "D"
### END SOLUTION

# %% nb="test:test_quiz_1:1"
assert isinstance(quiz_1, str) and quiz_1.strip().upper() in {"A", "B", "C", "D"}, "quiz_1 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day4_self_cross_attention", "quiz_1", quiz_1)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:quiz_2_text"
# **Question 2.** You shuffle the $N$ patch tokens of an image (the same permutation $P$ for every
# feature) and feed them to a `MultiHeadSelfAttention` **without** position embeddings. The output is
#
# * A. the old output, unchanged row for row: attention sums over all tokens, so order is lost.
# * B. the old output with its rows permuted by the same $P$: equivariant, not invariant.
# * C. different in every row, because each softmax depends on the order of its keys.
# * D. the old output up to rounding, because $W_O$ mixes the tokens back into their places.

# %% nb="solution:quiz_2"
### BEGIN SOLUTION
quiz_2 = "B"
### END SOLUTION

# %% nb="test:test_quiz_2:1"
assert isinstance(quiz_2, str) and quiz_2.strip().upper() in {"A", "B", "C", "D"}, "quiz_2 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day4_self_cross_attention", "quiz_2", quiz_2)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:quiz_3_text"
# **Question 3.** Ten text queries (`N_q = 10`) cross-attend over the $N_k = 196$ patch tokens of an
# image, `dim = 64`, 4 heads, batch 1. What are the shapes of the output and of `attn_weights`?
#
# * A. output `(1, 10, 64)`, weights `(1, 4, 10, 196)`
# * B. output `(1, 196, 64)`, weights `(1, 4, 196, 10)`
# * C. output `(1, 10, 64)`, weights `(1, 4, 196, 196)`
# * D. output `(1, 196, 64)`, weights `(1, 4, 10, 10)`

# %% nb="solution:quiz_3"
### BEGIN SOLUTION
quiz_3 = "A"
### END SOLUTION

# %% nb="test:test_quiz_3:1"
assert isinstance(quiz_3, str) and quiz_3.strip().upper() in {"A", "B", "C", "D"}, "quiz_3 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day4_self_cross_attention", "quiz_3", quiz_3)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:quiz_4_text"
# **Question 4.** Self-attention **without** projections ($Q = K = V = X$, scores scaled by $1/\sqrt{2}$)
# over three tokens $x_1 = (1, 0)$, $x_2 = (3, 1)$, $x_3 = (0, 2)$. In the row of query $x_1$, which key
# gets the largest weight?
#
# * A. $x_1$ itself: a vector is always more similar to itself than to any other.
# * B. None: all three get 1/3, as there are no learned $W_Q, W_K$ to compare with.
# * C. $x_2$: its score $x_1 \cdot x_2 = 3$ beats the self-score $x_1 \cdot x_1 = 1$.
# * D. $x_1$ and $x_2$ tie, because the scale $1/\sqrt{2}$ evens out their norms.

# %% nb="solution:quiz_4"
### BEGIN SOLUTION
quiz_4 = "C"
### END SOLUTION

# %% nb="test:test_quiz_4:1"
assert isinstance(quiz_4, str) and quiz_4.strip().upper() in {"A", "B", "C", "D"}, "quiz_4 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day4_self_cross_attention", "quiz_4", quiz_4)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:written_1_text"
# ## Written question (3 points, graded by your instructor)
#
# Question 1 showed that `MultiHeadSelfAttention(dim, num_heads)` has as many parameters for every
# number of heads $h$ that divides `dim`. So what do several heads buy, and what do they cost?
# Compare $h = 1$ with $h = 8$ at `dim = 256`, for one image of $N$ patch tokens:
#
# 1. What can 8 heads express in one layer that one head cannot? (Think of what one row of one
#    head's weights is, and what the output of that row is.)
# 2. How do the multiply-adds of $QK^\top$ and of the weights times $V$ change, and the memory the
#    weights take?
# 3. What becomes of each head when $h$ grows so far that the head width $d = \text{dim}/h$ is tiny,
#    say $h = 128$ and $d = 2$?
#
# Write your answer in the cell below (double-click it to edit it), a few sentences per part. No
# test checks it: a person grades it after you submit.

# %% [markdown] nb="answer:written_1:3"
# ### BEGIN SOLUTION
# **Model answer.**
# 1. One row of one head's weights is a single probability distribution over the keys, so the
#    query gets one weighted average of the values: a query that needs two things at once (two
#    parts of an object, its neighbour and the background) gets a blend of them. Eight heads give
#    each query eight independent distributions whose results are concatenated and mixed by $W_O$.
# 2. The multiply-adds stay the same: each head does $N^2 d$ for $QK^\top$ and $N^2 d$ for the weights
#    times $V$, and $h \cdot N^2 d = N^2 \cdot \text{dim}$ whatever $h$ is (the projections do not change
#    either). The weights take $h$ times the memory: a $(B, h, N, N)$ tensor, 8 times as much.
# 3. Each head compares queries and keys in only $d$ dimensions, so its $N \times N$ score matrix
#    $Q_i K_i^\top$ has rank at most $d$: with $d = 2$ a head can form only very coarse patterns
#    (the "low-rank bottleneck" of Bhojanapalli et al., ICML 2020). More heads is not always better;
#    ViT-B uses $d = 64$ (768 channels, 12 heads).
#
# **Rubric (3 points).** One point per part:
# * part 1: one head = one distribution (one weighted average) per query; several heads = several
#   distributions, combined by $W_O$. "More heads learn more features" without the reason: half a point;
# * part 2: compute unchanged ($h \cdot d = \text{dim}$) and weights memory $\times h$; half a point for one of the two;
# * part 3: each head's scores are limited by the small $d$ (low rank, or "too few dimensions to
#   compare queries and keys"); half a point for "each head becomes weaker" without the reason.
# ### END SOLUTION
