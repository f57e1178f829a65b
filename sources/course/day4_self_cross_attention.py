# %% [markdown]
# # Day 4: self-attention, multi-head attention and cross-attention
#
# On Day 1 attention was a formula, $\mathrm{softmax}(QK^\top/\sqrt{d})V$, applied to tensors someone
# handed us. Today it becomes a **layer** with learned weights, the layer every vision transformer
# stacks a dozen times:
#
# 1. from the formula to a layer: the projections $W_Q, W_K, W_V$ and $W_O$, and when a token attends
#    most to itself (not always: measured on a photograph);
# 2. several **heads**, and the reshapes that split and merge them (drawn);
# 3. **position information**: why attention needs it (permutation equivariance, measured, and a task
#    that cannot be learned without it), 1-D and 2-D **sinusoidal**, **learned** and **relative** position
#    encodings, with the similarity of position vectors across the grid drawn;
# 4. what it **costs** as the sequence grows, and PyTorch's **fused** `scaled_dot_product_attention`
#    against the plain version (time and peak memory, measured on this machine);
# 5. self-attention over the **patches of a real photograph**: one map per head, with a widget;
# 6. **cross-attention**: word tokens that learn, in seconds on a CPU, to find the object they name;
# 7. **padding and causal masks** with several heads (and the opposite convention of `nn.MultiheadAttention`).
#
# The assignment (`day4_self_cross_attention`) asks you to write `split_heads`, `merge_heads`,
# `MultiHeadSelfAttention`, `CrossAttention` and the 2-D sine-cosine position embedding
# `sincos_pos_embed_2d` yourself; here we use PyTorch's built-ins (and other forms of the same ideas)
# so the demos stay short and you can compare your code with them later.

# %%
import contextlib
import math
import os
import time

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from IPython.display import display
from PIL import Image
from sklearn.datasets import load_sample_images

torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"
print(f"torch {torch.__version__}; device: {device}" + ("" if device == "cuda" else " (no GPU found: everything below runs on the CPU)"))
plt.rcParams.update({"figure.dpi": 90, "axes.titlesize": 10})

# %% [markdown]
# ## 1. From the formula to a layer
#
# Self-attention computes queries, keys and values **from the same tokens** $X \in \mathbb{R}^{N \times C}$
# (one row per patch), through three learned matrices:
#
# $$Q = X W_Q,\qquad K = X W_K,\qquad V = X W_V,\qquad
# \mathrm{SA}(X) = \underbrace{\mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d}}\right)}_{A \;\in\; \mathbb{R}^{N\times N}} V\, W_O .$$
#
# * $W_Q$ and $W_K$ decide **what counts as similar**: token $i$ attends to token $j$ when
#   $x_i W_Q \cdot x_j W_K$ is large. Without them, $A$ would depend on raw dot products $x_i \cdot x_j$
#   (the end of this section measures what that does).
# * $W_V$ decides **what is passed along** once a token is chosen, and $W_O$ mixes the result back
#   into the token's channels.
#
# In code the three projections are one `nn.Linear(C, 3C)` whose output is cut into `[q | k | v]`.
# The cell below computes a one-head layer by hand and checks it against `nn.MultiheadAttention`.

# %%
C, N = 8, 5
x = torch.randn(1, N, C)
layer = nn.MultiheadAttention(C, num_heads=1, batch_first=True)
W_qkv, b_qkv = layer.in_proj_weight, layer.in_proj_bias      # (3C, C), (3C,): rows are [W_Q | W_K | W_V]
q, k, v = F.linear(x, W_qkv, b_qkv).chunk(3, dim=-1)          # each (1, N, C)
A = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(C), dim=-1)   # (1, N, N), rows sum to 1
by_hand = layer.out_proj(A @ v)                                # W_O
builtin, builtin_A = layer(x, x, x)
print("attention matrix A (rows = queries, columns = keys):\n", A[0].detach().numpy().round(3))
print(f"max |by hand - nn.MultiheadAttention| = {(by_hand - builtin).abs().max().item():.2e} (output), "
      f"{(A - builtin_A).abs().max().item():.2e} (weights)")

# %% [markdown]
# ### Does a token attend most to itself?
#
# A common statement is that dot-product self-attention makes every token attend most to itself.
# Take the simplest case, no projections ($Q = K = X$), where the score of key $j$ for query $i$ is
# $x_i \cdot x_j / \sqrt{C}$. By Cauchy-Schwarz,
#
# $$x_i \cdot x_j \;\le\; \lVert x_i\rVert\,\lVert x_j\rVert, \qquad x_i \cdot x_i = \lVert x_i\rVert^2 .$$
#
# * If **all tokens have the same norm**, the right-hand sides are equal, so the self-score is the
#   largest in its row (a tie only with an identical token): every token attends most to itself.
# * If the norms differ, a **longer** token pointing roughly the same way wins: $x_i \cdot x_j > x_i \cdot x_i$
#   as soon as $\lVert x_j\rVert \cos\theta_{ij} > \lVert x_i\rVert$.
# * With learned $W_Q \ne W_K$ the score is $x_i W_Q W_K^\top x_j$, a different bilinear form, and
#   nothing favours the diagonal at all.
#
# Measured on the 294 patches (16×16 pixels, 768 numbers each) of a photograph: raw pixel patches
# have all-positive entries (similar directions) and norms set by their brightness.

# %%
photo = np.asarray(Image.fromarray(load_sample_images().images[0]).resize((336, 224), Image.BILINEAR), np.float32) / 255
pixel_tokens = torch.from_numpy(photo).unfold(0, 16, 16).unfold(1, 16, 16).reshape(-1, 3 * 16 * 16)  # (294, 768)
norms = pixel_tokens.norm(dim=1, keepdim=True)
variants = {
    "raw pixel patches (norms differ)": pixel_tokens,
    "same directions, every norm equal": pixel_tokens / norms * norms.mean(),
}
rows_self = {}
for name, X in variants.items():
    A_self = torch.softmax(X @ X.T / math.sqrt(X.shape[1]), dim=-1)            # Q = K = X
    top = A_self.argmax(dim=-1)
    rows_self[name] = top
    print(f"{name:36s}: the largest weight is on the token itself in {(top == torch.arange(len(X))).float().mean():6.1%}"
          f" of rows; {len(top.unique()):3d} different winners; mean weight on itself {A_self.diagonal().mean():.4f}"
          f" (uniform: 1/{len(X)} = {1 / len(X):.4f})")
brightest = norms.squeeze(1).argmax()
print(f"with raw patches, {(rows_self['raw pixel patches (norms differ)'] == brightest).float().mean():.1%} of the rows "
      f"put their largest weight on one patch, the one with the largest norm (patch {brightest.item()})")
with torch.no_grad():
    learned_like = nn.MultiheadAttention(768, 1, batch_first=True)                # random W_Q != W_K
    equal = variants["same directions, every norm equal"][None]
    _, A_proj = learned_like(equal, equal, equal)
print(f"equal norms but random W_Q != W_K: the largest weight is on the token itself in "
      f"{(A_proj[0].argmax(-1) == torch.arange(equal.shape[1])).float().mean():.1%} of rows (1/294 = 0.3% by chance)")

# %% [markdown]
# So the statement holds only for equal norms, and even then "largest" is not "large": with directions
# this similar, each row is spread over many patches (the mean weight on itself, printed above, is far
# from 1, of the order of the uniform value). Raw pixel patches all look at the brightest (largest-norm)
# patch instead. Transformers normalise tokens before attention (LayerNorm, Day 5), but then project
# them with learned $W_Q \ne W_K$, so in a trained layer the diagonal of $A$ is whatever training made it.

# %% [markdown]
# ## 2. Several heads: split, attend, merge
#
# One softmax gives each query **one** way to distribute its attention. A patch of a face may
# need to look at the other eye (similar texture) *and* at the patch just below (position) at
# the same time. Multi-head attention runs $h$ attentions side by side, each on its own slice of
# $d = C/h$ channels:
#
# $$\mathrm{head}_i = \mathrm{softmax}\!\left(\frac{Q_i K_i^\top}{\sqrt{d}}\right) V_i,\qquad
# \mathrm{MHSA}(X) = [\mathrm{head}_1 \,|\, \cdots \,|\, \mathrm{head}_h]\, W_O ,$$
#
# where $Q_i$ is columns $i d : (i+1) d$ of $Q$. Note the scale: $\sqrt{d}$, the **head** width.
# Nothing is computed twice: the heads share the same `(C, 3C)` projection, cut into slices.
# In tensors, *split* is a reshape plus a transpose and *merge* is the inverse:
#
# $$(B, N, h\,d) \xrightarrow{\ \texttt{reshape}\ } (B, N, h, d) \xrightarrow{\ \texttt{transpose(1, 2)}\ } (B, h, N, d)
# \xrightarrow{\text{attention per head}} (B, h, N, d) \xrightarrow{\ \texttt{transpose(1, 2)}\ } (B, N, h, d)
# \xrightarrow{\ \texttt{reshape}\ } (B, N, h\,d).$$
#
# The figure below runs these reshapes on a tensor whose entries are their own indices, coloured
# by the head they belong to. The right-hand panel is the classic bug: `view(B, h, N, d)` without
# the transpose has the right *shape* but chops memory in blocks of $N d$ numbers, so "head 0"
# receives all channels of tokens 0 and 1 instead of channels 0-2 of every token.

# %%
N_demo, h_demo, d_demo = 4, 2, 3
x_demo = torch.arange(N_demo * h_demo * d_demo).reshape(1, N_demo, h_demo * d_demo)   # entry = its flat index
split = x_demo.reshape(1, N_demo, h_demo, d_demo).transpose(1, 2)                    # (1, h, N, d), correct
wrong = x_demo.view(1, h_demo, N_demo, d_demo)                                       # right shape, wrong content
head_of = (x_demo % (h_demo * d_demo)) // d_demo                                     # which head owns each channel


def draw_matrix(ax, values, colours, title):
    ax.imshow(colours, cmap="Pastel1", vmin=0, vmax=8)
    for (r, c), val in np.ndenumerate(values):
        ax.text(c, r, str(val), ha="center", va="center", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks(range(values.shape[0]))
    ax.set_yticklabels([f"token {i}" for i in range(values.shape[0])], fontsize=8)
    ax.set_title(title)


fig, axes = plt.subplots(1, 5, figsize=(14, 2.6), gridspec_kw={"width_ratios": [2, 1, 1, 1, 1]})
draw_matrix(axes[0], x_demo[0].numpy(), head_of[0].numpy(), "x (N, h*d): colour = owning head")
for i in range(h_demo):
    draw_matrix(axes[1 + i], split[0, i].numpy(), head_of[0].flatten()[split[0, i].numpy()], f"split: head {i} (N, d)")
    draw_matrix(axes[3 + i], wrong[0, i].numpy(), head_of[0].flatten()[wrong[0, i].numpy()], f"view only: 'head {i}'")
plt.tight_layout()
plt.show()
merged = split.transpose(1, 2).reshape(1, N_demo, h_demo * d_demo)
print("merge(split(x)) == x:", torch.equal(merged, x_demo), "| mixed colours in a 'head' panel = tokens' channels scrambled")

# %% [markdown]
# **More heads, same parameters.** The heads divide the width; they do not multiply the weights.
# A layer of width $C$ has $3C^2 + 3C$ parameters in the `qkv` projection and $C^2 + C$ in $W_O$,
# whatever $h$ is, and the FLOPs are the same too. What changes is that each head's dot products
# use only $d = C/h$ channels.

# %%
for heads in (1, 2, 4, 8, 16):
    m = nn.MultiheadAttention(256, heads, batch_first=True)
    print(f"C=256, h={heads:2d}: head width d={256 // heads:3d}, parameters = {sum(p.numel() for p in m.parameters()):,}"
          f" (4C^2+4C = {4 * 256**2 + 4 * 256:,})")

# %% [markdown]
# ## 3. Position information
#
# ### 3.1 Self-attention does not know where a token is
#
# Permute the tokens with a permutation matrix $P$. Every score is a dot product between two
# tokens, so the scores are permuted on both axes, the softmax rows follow, and
#
# $$\mathrm{SA}(PX) = P\,\mathrm{SA}(X)\qquad\text{(permutation equivariance).}$$
#
# For an image cut into patches, this means the layer cannot tell a photograph from the same
# patches shuffled: it sees a **set**, not a grid. Vision transformers therefore add a position
# embedding to each patch token before the first layer. Measured:

# %%
torch.manual_seed(0)
mhsa = nn.MultiheadAttention(32, 4, batch_first=True)
tokens = torch.randn(1, 49, 32)                  # 7x7 patch tokens
perm = torch.randperm(49)
with torch.no_grad():
    out = mhsa(tokens, tokens, tokens)[0]
    out_perm = mhsa(tokens[:, perm], tokens[:, perm], tokens[:, perm])[0]
    pos = torch.randn(1, 49, 32)                 # a (here random) position embedding, fixed per grid location
    with_pos = mhsa(tokens + pos, tokens + pos, tokens + pos)[0]
    with_pos_perm = mhsa(tokens[:, perm] + pos, tokens[:, perm] + pos, tokens[:, perm] + pos)[0]
print(f"no positions:   max |SA(PX) - P SA(X)| = {(out_perm - out[:, perm]).abs().max().item():.2e}  (equal up to rounding)")
print(f"with positions: max |SA(PX + E) - P SA(X + E)| = {(with_pos_perm - with_pos[:, perm]).abs().max().item():.2e}"
      "  (the layer now sees where each patch was)")

# %% [markdown]
# Which position vectors? Four families, each below with a figure of **how similar the position
# vectors of different places are** (cosine similarity): a layer can only tell two places apart, or
# treat them as neighbours, through these vectors.
#
# ### 3.2 Sinusoidal, 1-D (the original Transformer)
#
# Vaswani et al. (2017, §3.5) give position $p$ of a sequence the vector
#
# $$\mathrm{PE}(p)_{2i} = \sin(p\,\omega_i),\qquad \mathrm{PE}(p)_{2i+1} = \cos(p\,\omega_i),\qquad
# \omega_i = 10000^{-2i/d},\quad i = 0, \dots, d/2 - 1:$$
#
# pairs of channels that turn at geometrically spaced speeds, from one radian per position down to
# about $1/10000$. Two consequences, both measured below. The dot product of two positions depends only on
# their **offset** $k$: $\mathrm{PE}(p) \cdot \mathrm{PE}(p+k) = \sum_i \cos(k\,\omega_i)$. And moving by $k$
# is a fixed **rotation** of every channel pair, $\mathrm{PE}(p+k) = R_k\,\mathrm{PE}(p)$, which is why
# the authors expected a layer to learn to attend by relative position.

# %%
def sinusoid_table(n_positions: int, width: int) -> torch.Tensor:
    """(n_positions, width) 1-D sinusoidal table in Vaswani's layout: channels 2i = sin, 2i+1 = cos (float64)."""
    angles = torch.outer(torch.arange(n_positions, dtype=torch.float64),
                         10000.0 ** (-torch.arange(0, width, 2, dtype=torch.float64) / width))
    return torch.stack([angles.sin(), angles.cos()], dim=-1).reshape(n_positions, width)


pe_1d = sinusoid_table(64, 64)                                   # 64 positions, 64 channels
gram = pe_1d @ pe_1d.T                                           # all dot products
omega = 10000.0 ** (-torch.arange(0, 64, 2, dtype=torch.float64) / 64)
spread = max((gram.diagonal(k).max() - gram.diagonal(k).min()).item() for k in range(64))
closed = max((gram.diagonal(k) - torch.cos(k * omega).sum()).abs().max().item() for k in range(64))
k_shift = 5
R = torch.zeros(64, 64, dtype=torch.float64)                    # block-diagonal rotation by k_shift positions
for i, w in enumerate(omega):
    c_, s_ = math.cos(k_shift * w), math.sin(k_shift * w)
    R[2 * i: 2 * i + 2, 2 * i: 2 * i + 2] = torch.tensor([[c_, s_], [-s_, c_]], dtype=torch.float64)
rotated = pe_1d[:-k_shift] @ R.T
print(f"PE(p) . PE(p+k) varies with p by at most {spread:.1e} for any offset k; it equals sum_i cos(k w_i) to {closed:.1e}")
print(f"PE(p+{k_shift}) = R_{k_shift} PE(p) for every p, up to {(rotated - pe_1d[k_shift:]).abs().max().item():.1e}")

cos_1d = gram / gram.diagonal()[:, None]                         # every vector has norm^2 = 32: cosine similarity
fig, axes = plt.subplots(1, 3, figsize=(14, 3.4))
axes[0].imshow(pe_1d.T, cmap="RdBu", aspect="auto", vmin=-1, vmax=1)
axes[0].set(xlabel="position p", ylabel="channel", title="PE(p): fast pairs on top, slow below")
axes[1].imshow(cos_1d, cmap="viridis", vmin=-0.2, vmax=1)
axes[1].set(xlabel="position", ylabel="position", title="cosine similarity of PE vectors")
for p_ref in (10, 30):
    axes[2].plot(cos_1d[p_ref], label=f"similarity to position {p_ref}")
axes[2].set(xlabel="position", ylim=(-0.3, 1.05), title="a bump around each position")
axes[2].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ### 3.3 Sinusoidal, 2-D (MAE, MoCo v3)
#
# Patches have a row $r$ and a column $c$. A 1-D table over the **flattened** index $t = r \cdot W + c$
# works (ViT's appendix D.4 compares it with 2-D variants), but it does not know the grid: the patch below
# $t$ is $t + W$, far away in index. The 2-D version spends **half the channels on each axis**: a 1-D
# sinusoidal vector of $c$ with $D/2$ channels, concatenated with one of $r$ (how exactly the four
# blocks are laid out is fixed in the assignment, where you build it).
#
# We can draw its similarity **without building it**: the dot product of two concatenations is the
# sum of the dot products of the parts, and every 2-D vector has the same norm $\sqrt{D/2}$, so
#
# $$\cos\big(E(r, c), E(r', c')\big) = \frac{G_{c c'} + G_{r r'}}{D/2},\qquad G = \text{Gram matrix of the 1-D table with } D/2 \text{ channels}.$$
#
# Below, for a 7×7 grid with $D = 64$: each small square is one patch's similarity to every patch of
# the grid (the layout of ViT's Figure 7, centre), for the 1-D table over $t$ and for the 2-D one.

# %%
GH = GW = 7
D_GRID = 64
t_index = torch.arange(GH * GW)
row_of, col_of = t_index // GW, t_index % GW                      # row-major: t = r * GW + c
flat = sinusoid_table(GH * GW, D_GRID)
sim_flat = (flat @ flat.T) / (D_GRID / 2)                         # 1-D over the flattened index
half = sinusoid_table(GH, D_GRID // 2)                           # one axis, half the channels
G_axis = half @ half.T
sim_grid = (G_axis[col_of][:, col_of] + G_axis[row_of][:, row_of]) / (D_GRID / 2)   # 2-D, from the Gram matrices


def similarity_tiles(sim: torch.Tensor, gh: int, gw: int) -> torch.Tensor:
    """(N, N) similarities -> (gh*gh, gw*gw) picture: tile (r, c) is patch (r, c)'s similarity to the whole grid."""
    return sim.reshape(gh, gw, gh, gw).permute(0, 2, 1, 3).reshape(gh * gh, gw * gw)


def draw_tiles(ax, sim: torch.Tensor, gh: int, gw: int, title: str) -> None:
    """Tiles of one grid's similarities; the colour scale runs from the panel's smallest value to 1."""
    image = ax.imshow(similarity_tiles(sim, gh, gw), cmap="viridis", vmin=sim.min().item(), vmax=1)
    plt.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
    for i in range(1, gh):
        ax.axhline(i * gh - 0.5, color="white", lw=0.8)
    for i in range(1, gw):
        ax.axvline(i * gw - 0.5, color="white", lw=0.8)
    ax.set(title=title, xticks=[], yticks=[])


dist = torch.cdist(torch.stack([row_of, col_of], 1).double(), torch.stack([row_of, col_of], 1).double())
right_nb = (col_of[None] == col_of[:, None] + 1) & (row_of[None] == row_of[:, None])
below_nb = (row_of[None] == row_of[:, None] + 1) & (col_of[None] == col_of[:, None])
for name, sim in (("1-D over t", sim_flat), ("2-D", sim_grid)):
    print(f"{name:10s}: mean similarity to the right neighbour {sim[right_nb].mean():.2f}, to the neighbour below "
          f"{sim[below_nb].mean():.2f}, to patches 4 or more apart {sim[dist >= 4].mean():.2f}")
fig, axes = plt.subplots(1, 2, figsize=(11, 5.2))
draw_tiles(axes[0], sim_flat, GH, GW, "1-D sinusoidal over t = r*7 + c")
draw_tiles(axes[1], sim_grid, GH, GW, "2-D sinusoidal (half the channels per axis)")
plt.tight_layout()
plt.show()

# %% [markdown]
# The 1-D table treats the patch to the right as a close neighbour and the patch below as a stranger
# (the printed numbers); the 2-D one treats both alike, and its similarity falls off along rows and
# columns, a cross centred on each patch.
#
# ### 3.4 Learned, and a task that needs positions
#
# ViT (Dosovitskiy et al., 2021, §3.1) simply **learns** the position vectors: an `nn.Parameter` of
# shape $(1, N+1, D)$ added to the tokens (torchvision starts it from a normal distribution with standard
# deviation 0.02), so before training their similarity has no structure at all. What they become depends on what the task rewards. A small
# task whose answer is **where** something is: each 16×16 image holds one coloured disc in one of the
# 16 cells of a 4×4 grid, and the model must name the cell (16 classes, chance 1/16). The model cuts
# the image into 16 patches of 4×4 pixels (a convolution), adds a position embedding, lets **one
# learned query cross-attend over the 16 tokens** (attention pooling) and classifies the result. We
# train it three times, changing only the position embedding: none, the 1-D sinusoidal table of 3.2
# over $t$ (fixed), and a learned one.

# %%
LOC_S, LOC_CELL, LOC_GRID, LOC_D = 16, 4, 4, 32
_ly, _lx = np.mgrid[0:LOC_S, 0:LOC_S].astype(np.float32)


def disc_images(n: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """n images (3, 16, 16) with one disc of random colour and size in a random cell; label = the cell, 0..15."""
    cells = rng.integers(0, LOC_GRID * LOC_GRID, n)
    cy = (cells // LOC_GRID) * LOC_CELL + 1.5 + rng.uniform(-0.5, 0.5, n)
    cx = (cells % LOC_GRID) * LOC_CELL + 1.5 + rng.uniform(-0.5, 0.5, n)
    radius = rng.uniform(1.0, 1.8, n)
    inside = (_ly - cy[:, None, None]) ** 2 + (_lx - cx[:, None, None]) ** 2 <= radius[:, None, None] ** 2
    colour = rng.uniform(0.3, 1.0, (n, 3)).astype(np.float32)
    images = inside[:, None] * colour[:, :, None, None] + rng.normal(0, 0.05, (n, 3, LOC_S, LOC_S))
    return torch.from_numpy(images.astype(np.float32)), torch.from_numpy(cells)


class Locator(nn.Module):
    """Patch tokens + a position embedding ('none', 'sinusoidal' or 'learned'), attention pooling, a linear classifier."""

    def __init__(self, position: str):
        super().__init__()
        self.patches = nn.Conv2d(3, LOC_D, LOC_CELL, stride=LOC_CELL)
        n_tokens = LOC_GRID * LOC_GRID
        if position == "learned":                                   # trained with everything else
            self.pos = nn.Parameter(torch.randn(1, n_tokens, LOC_D) * 0.02)
        elif position == "sinusoidal":                              # fixed: a buffer, not a parameter
            self.register_buffer("pos", sinusoid_table(n_tokens, LOC_D).float()[None])
        else:
            self.register_buffer("pos", torch.zeros(1, n_tokens, LOC_D))
        self.query = nn.Parameter(torch.randn(1, 1, LOC_D) * 0.02)
        self.pool = nn.MultiheadAttention(LOC_D, 4, batch_first=True)
        self.classify = nn.Linear(LOC_D, n_tokens)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        tokens = self.patches(images).flatten(2).transpose(1, 2) + self.pos      # (B, 16, D)
        pooled, _ = self.pool(self.query.expand(len(images), -1, -1), tokens, tokens)
        return self.classify(pooled[:, 0])


loc_rng = np.random.default_rng(0)
loc_train, loc_test = disc_images(3000, loc_rng), disc_images(500, loc_rng)
locators, loc_scores = {}, {}
start = time.perf_counter()
for position in ("none", "sinusoidal", "learned"):
    torch.manual_seed(0)
    model = Locator(position)
    initial_pos = model.pos.detach().clone()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(200):
        idx = torch.randint(0, len(loc_train[0]), (64,))
        loss = F.cross_entropy(model(loc_train[0][idx]), loc_train[1][idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        loc_scores[position] = (model(loc_test[0]).argmax(1) == loc_test[1]).float().mean().item()
    locators[position] = (model, initial_pos)
print(f"trained 3 models x 200 steps in {time.perf_counter() - start:.1f} s on the CPU")
for position, score in loc_scores.items():
    print(f"position embedding {position:10s}: test accuracy {score:6.1%} (chance 1/16 = 6.2%)")

# %% [markdown]
# Without positions the model is at chance (the printed accuracy): after the permutation-equivariant
# pooling, a disc in cell 3 and the same disc in cell 12 give the same set of tokens (up to the noise),
# hence the same answer. Either position embedding fixes it. What did the learned one
# learn? Its similarity across the 4×4 grid, before and after training, next to the 1-D sinusoidal table:

# %%
loc_t = torch.arange(LOC_GRID * LOC_GRID)
loc_dist = torch.cdist(torch.stack([loc_t // LOC_GRID, loc_t % LOC_GRID], 1).float(),
                       torch.stack([loc_t // LOC_GRID, loc_t % LOC_GRID], 1).float())
learned_model, learned_init = locators["learned"]
panels = {
    "learned, at initialisation": learned_init[0],
    "learned, after training": learned_model.pos.detach()[0],
    "1-D sinusoidal over t (fixed)": sinusoid_table(LOC_GRID * LOC_GRID, LOC_D),
}
fig, axes = plt.subplots(1, 3, figsize=(13, 4.4))
for ax, (name, vectors) in zip(axes, panels.items()):
    unit = F.normalize(vectors.double(), dim=1)
    sim = unit @ unit.T
    draw_tiles(ax, sim, LOC_GRID, LOC_GRID, name)
    print(f"{name:30s}: mean cosine similarity to grid neighbours {sim[loc_dist == 1].mean():5.2f}, "
          f"to patches 2 or more apart {sim[loc_dist >= 2].mean():5.2f}")
plt.tight_layout()
plt.show()

# %% [markdown]
# Learned embeddings learn what the task asks for. This task only needs the 16 cells told apart: the
# learned vectors did that (the accuracy above) while staying close to orthogonal, neighbours included
# (the printed similarities for "learned", before and after training, are all near zero), unlike the
# sinusoidal table, whose vectors are all alike and differ only by the bump around each position. In ViT, trained on ImageNet-scale data, the learned vectors do
# come to encode distance: nearby patches get similar embeddings, with row and column structure
# (Dosovitskiy et al., 2021, Figure 7, centre), and the paper found 1-D, 2-D and relative variants to
# perform about the same, all clearly better than none (Appendix D.4, Table 8).
#
# ### 3.5 Relative position: a bias on the scores
#
# Instead of adding a vector to each token, add a number to each **score** that depends only on the
# offset $j - i$ between query and key (Shaw et al., 2018; Swin's relative position bias, Liu et al.,
# 2021, §3.2, which Day 6 builds in 2-D):
#
# $$A = \mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d}} + B\right),\qquad B_{ij} = b[\,j - i\,],$$
#
# one learned table $b$ of $2N - 1$ numbers (per head), constant along every diagonal of $B$. A float
# `attn_mask` is exactly such an additive term, so `nn.MultiheadAttention` runs it as it is. What it
# buys, measured: the layer now depends on the order of the tokens (a permutation changes the output),
# yet it knows only **offsets**, not places. With a circular table (offset taken modulo $N$) a cyclic
# shift of the tokens shifts the output and changes nothing else, which an absolute embedding cannot do.

# %%
torch.manual_seed(0)
N_REL, C_REL = 12, 16
offset_table = torch.randn(2 * N_REL - 1) * 2                        # b[j - i], stored at index j - i + N - 1
offset = torch.arange(N_REL)[None, :] - torch.arange(N_REL)[:, None]  # (N, N): j - i
bias_linear = offset_table[offset + N_REL - 1]                        # Toeplitz: constant along diagonals
bias_circular = offset_table[offset % N_REL]                          # offsets modulo N: circulant
rel_layer = nn.MultiheadAttention(C_REL, 2, batch_first=True)
seq = torch.randn(1, N_REL, C_REL)
absolute = torch.randn(1, N_REL, C_REL)                               # an absolute embedding, for comparison
shuffle, shift = torch.randperm(N_REL), 3


def attend_with_bias(x: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Self-attention of rel_layer on x, with an optional additive (N, N) score bias."""
    with torch.no_grad():
        return rel_layer(x, x, x, attn_mask=bias)[0]


perm_err = (attend_with_bias(seq[:, shuffle], bias_linear) - attend_with_bias(seq, bias_linear)[:, shuffle]).abs().max().item()
rel_err = (attend_with_bias(seq.roll(shift, 1), bias_circular) - attend_with_bias(seq, bias_circular).roll(shift, 1)).abs().max().item()
abs_err = (attend_with_bias(seq.roll(shift, 1) + absolute) - attend_with_bias(seq + absolute).roll(shift, 1)).abs().max().item()
print(f"relative bias, tokens permuted:          max |SA(PX) - P SA(X)| = {perm_err:.2f} (order now matters)")
print(f"circular relative bias, shifted by {shift}:   max difference from the shifted output = {rel_err:.1e}")
print(f"absolute embedding, shifted by {shift}:       max difference from the shifted output = {abs_err:.2f}")
fig, axes = plt.subplots(1, 2, figsize=(8, 3.6))
for ax, (name, b) in zip(axes, (("B, offsets j - i", bias_linear), ("B, offsets modulo N", bias_circular))):
    ax.imshow(b, cmap="RdBu", vmin=-4, vmax=4)
    ax.set(title=name, xlabel="key j", ylabel="query i")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 4. What it costs, and the fused kernel
#
# For $N$ tokens of width $d$ per head, the scores $QK^\top$ take $N^2 d$ multiply-adds per head
# and the attention matrix holds $N^2$ numbers per head: **quadratic** in $N$. A 224×224 image in
# 16×16 patches is $N = 196$; in 8×8 patches, $N = 784$ and the attention matrix is 16 times larger.
#
# `torch.nn.functional.scaled_dot_product_attention` computes the same result with a **fused**
# kernel (FlashAttention-style on GPUs, a tiled kernel on CPUs): it walks over blocks of keys with a
# running softmax, so the $N \times N$ matrix is never stored. We time both versions and measure the
# extra memory each needs at its peak: on a GPU with `torch.cuda.max_memory_allocated`; on a CPU by
# replaying PyTorch's own allocation records (`torch.profiler` with `profile_memory=True`).

# %%
def plain_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """softmax(q k^T / sqrt(d)) v, materialising the (N, N) weights."""
    weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)
    return weights @ v


@contextlib.contextmanager
def quiet_native_stderr():
    """Silence C-level stderr (the profiler's native logger prints a line per run) inside the block."""
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def peak_extra_memory(fn, *args) -> float | None:
    """Bytes PyTorch holds at the peak of fn(*args) beyond what was allocated before; None if unmeasurable."""
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        fn(*args)
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - before
    try:  # CPU: replay the allocator's own records (+bytes on allocation, -bytes on free) in time order
        with quiet_native_stderr(), torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as prof:
            fn(*args)
        events = sorted((e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"), key=lambda e: e.start_ns())
        in_use = peak = 0
        for e in events:
            in_use += e.nbytes()
            peak = max(peak, in_use)
        return peak
    except (AttributeError, RuntimeError, OSError):  # the record format is internal to PyTorch and may change
        return None


def best_time(fn, *args, repeats: int = 3) -> float:
    """Best of a few runs, in seconds (the minimum is the least disturbed by other programs)."""
    times = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn(*args)
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return min(times)


heads, head_dim = 4, 32
lengths = [256, 512, 1024, 2048] if device == "cpu" else [512, 1024, 2048, 4096, 8192]
functions = {"plain": plain_attention, "fused": F.scaled_dot_product_attention}
rows = []
with torch.no_grad():
    for n in lengths:  # timing first, with the allocator as it normally runs
        q, k, v = (torch.randn(1, heads, n, head_dim, device=device) for _ in range(3))
        assert torch.allclose(plain_attention(q, k, v), F.scaled_dot_product_attention(q, k, v), atol=1e-4)
        row = {"N": n, "matrix_MiB": heads * n * n * 4 / 2**20}
        for name, fn in functions.items():
            fn(q, k, v)  # warm-up
            row[f"{name}_ms"] = best_time(fn, q, k, v) * 1e3
        rows.append(row)
    for row in rows:  # then peak memory
        q, k, v = (torch.randn(1, heads, row["N"], head_dim, device=device) for _ in range(3))
        for name, fn in functions.items():
            mem = peak_extra_memory(fn, q, k, v)
            row[f"{name}_MiB"] = float("nan") if mem is None else mem / 2**20
    del q, k, v

print(f"{heads} heads of width {head_dim}, batch 1, on {device}; 'N x N' = size of the float32 (h, N, N) weights"
      + ("; nan = peak memory not measurable with this PyTorch" if any(math.isnan(r["plain_MiB"]) for r in rows) else ""))
print(f"{'N':>6} {'N x N (MiB)':>12} {'plain (ms)':>11} {'fused (ms)':>11} {'speed-up':>9} {'plain peak (MiB)':>17} {'fused peak (MiB)':>17}")
for r in rows:
    print(f"{r['N']:>6} {r['matrix_MiB']:>12.1f} {r['plain_ms']:>11.1f} {r['fused_ms']:>11.1f} {r['plain_ms'] / r['fused_ms']:>8.1f}x"
          f" {r['plain_MiB']:>17.1f} {r['fused_MiB']:>17.1f}")

fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
ns = [r["N"] for r in rows]
axes[0].loglog(ns, [r["plain_ms"] for r in rows], "o-", label="plain (materialises N x N)")
axes[0].loglog(ns, [r["fused_ms"] for r in rows], "s-", label="F.scaled_dot_product_attention")
axes[0].loglog(ns, [rows[0]["plain_ms"] * (n / ns[0]) ** 2 for n in ns], "k:", label="~N^2 reference")
axes[0].set(xlabel="sequence length N", ylabel="time (ms)", title=f"time on {device}")
axes[0].legend(fontsize=8)
axes[1].plot(ns, [r["matrix_MiB"] for r in rows], "k:", label="size of the (h, N, N) weights, float32")
axes[1].plot(ns, [r["plain_MiB"] for r in rows], "o-", label="plain: measured peak")
axes[1].plot(ns, [r["fused_MiB"] for r in rows], "s-", label="fused: measured peak")
axes[1].set(xlabel="sequence length N", ylabel="extra memory at peak (MiB)", title="peak memory")
axes[1].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# **Reading the numbers.** Doubling $N$ multiplies the plain version's memory by 4 and its time by
# roughly 4 or more (more once the matrix no longer fits in the CPU's caches; compare with the dotted lines). Its peak is about **two** $(h, N, N)$ stacks: the scores and the
# softmax of the scores are alive at the same moment. The fused kernel's peak is about the size of its
# output, $h N d$ numbers: it never stores the matrix. Both compute the same numbers (the `assert`
# checks it). The fused kernel is also faster here by the factor in the table; how much depends on the
# CPU and on what else it is running (the timings are the best of three runs on a machine that may be
# shared), so trust your own table over any "X times faster" claim. The lesson: use
# `F.scaled_dot_product_attention` for the output, and compute the weights yourself only when you
# need to *look* at them.

# %% [markdown]
# ## 5. Self-attention over the patches of a photograph, one map per head
#
# A trained vision transformer's heads specialise: some attend to nearby patches, some to patches
# of similar colour or texture anywhere in the image. We cannot download a trained model here, so we
# **build** a 4-head layer whose projections make that specialisation explicit, and look at it.
#
# Each 16×16 patch becomes a token of 16 interpretable features, four per head: mean colour
# (RGB and brightness), texture (mean horizontal and vertical gradient, their ratio, contrast),
# position (sine/cosine of row and column). Head $i$'s $W_Q^{(i)}, W_K^{(i)}$ read only its own four
# features, so its scores measure one kind of similarity:
#
# | head | $W_Q^{(i)}$, $W_K^{(i)}$ read | attends to |
# |---|---|---|
# | 0 colour | mean R, G, B, brightness | patches of similar colour |
# | 1 texture | gradients, contrast | patches of similar texture |
# | 2 position | sin/cos of row and column | nearby patches |
# | 3 contrast | colour, with $W_K = -W_Q$ | patches of the *most different* colour |
#
# It is an ordinary `nn.MultiheadAttention`: we only write the weights by hand.

# %%
PATCH = 16
photos = {name.split("/")[-1].split(".")[0]: img for name, img in zip(load_sample_images().filenames, load_sample_images().images)}


def to_patches(img: np.ndarray, size=(224, 336)) -> tuple[np.ndarray, torch.Tensor]:
    """Resize an (H, W, 3) uint8 photo and cut it into 16x16 patches -> (resized image, (gh, gw, 3, 16, 16))."""
    resized = np.asarray(Image.fromarray(img).resize((size[1], size[0]), Image.BILINEAR), dtype=np.float32) / 255
    t = torch.from_numpy(resized).permute(2, 0, 1)                          # (3, H, W)
    patches = t.unfold(1, PATCH, PATCH).unfold(2, PATCH, PATCH)             # (3, gh, gw, 16, 16)
    return resized, patches.permute(1, 2, 0, 3, 4)


def patch_features(patches: torch.Tensor) -> torch.Tensor:
    """(gh, gw, 3, p, p) -> (gh*gw, 16) tokens: 4 colour, 4 texture, 4 position, 4 colour (for the contrast head)."""
    gh, gw = patches.shape[:2]
    grey = patches.mean(2)
    colour = torch.cat([patches.mean((-1, -2)), grey.mean((-1, -2))[..., None]], -1)              # (gh, gw, 4)
    gx = (grey[..., :, 1:] - grey[..., :, :-1]).abs().mean((-1, -2))
    gy = (grey[..., 1:, :] - grey[..., :-1, :]).abs().mean((-1, -2))
    texture = torch.stack([gx, gy, (gx - gy) / (gx + gy + 1e-3), grey.std((-1, -2))], -1)        # (gh, gw, 4)
    standardise = lambda f: (f - f.mean((0, 1))) / (f.std((0, 1)) + 1e-6)
    r, c = torch.meshgrid(torch.arange(gh) / gh, torch.arange(gw) / gw, indexing="ij")
    position = torch.stack([torch.sin(math.pi * r), torch.cos(math.pi * r), torch.sin(math.pi * c), torch.cos(math.pi * c)], -1)
    colour = standardise(colour)
    feats = torch.cat([colour, standardise(texture), position * 2.0, colour], -1)
    return feats.reshape(gh * gw, 16)


HEAD_NAMES = ["colour", "texture", "position", "contrast"]
sharpness = [1.5, 1.5, 6.0, 1.5]                 # larger = peakier attention (it multiplies q . k)
hand_built = nn.MultiheadAttention(16, 4, batch_first=True)
with torch.no_grad():
    W_Q, W_K = torch.zeros(16, 16), torch.zeros(16, 16)
    for i, s in enumerate(sharpness):
        block = slice(4 * i, 4 * i + 4)
        W_Q[block, block] = torch.eye(4) * math.sqrt(s * math.sqrt(4))   # the layer divides by sqrt(d) = 2; undo it
        W_K[block, block] = torch.eye(4) * math.sqrt(s * math.sqrt(4)) * (-1 if HEAD_NAMES[i] == "contrast" else 1)
    hand_built.in_proj_weight.copy_(torch.cat([W_Q, W_K, torch.eye(16)]))   # [W_Q | W_K | W_V], V = the features
    hand_built.in_proj_bias.zero_()

maps = {}
for name, img in photos.items():
    resized, patches = to_patches(img)
    tokens = patch_features(patches)[None]                                 # (1, N, 16)
    with torch.no_grad():
        _, weights = hand_built(tokens, tokens, tokens, average_attn_weights=False)   # (1, 4, N, N)
    maps[name] = (resized, weights[0], patches.shape[:2])
gh, gw = maps["china"][2]
print(f"{len(photos)} photos, each {gh} x {gw} = {gh * gw} patch tokens; weights per photo: {tuple(maps['china'][1].shape)} (h, N, N)")

# %% [markdown]
# Numbers first: for every head, the average distance (in patches) between a query and the patches
# it attends to, and the average colour difference between them. The position head looks close by;
# the colour head looks far but at similar colours; the contrast head looks at the most different colours.

# %%
r_idx, c_idx = torch.meshgrid(torch.arange(gh), torch.arange(gw), indexing="ij")
coords = torch.stack([r_idx.flatten(), c_idx.flatten()], -1).float()
dist = torch.cdist(coords, coords)                                         # (N, N) patch distances
for name, (_, w, _) in maps.items():
    _, patches = to_patches(photos[name])
    mean_rgb = patches.mean((-1, -2)).reshape(-1, 3)
    colour_gap = torch.cdist(mean_rgb, mean_rgb)
    uniform = (dist.mean().item(), colour_gap.mean().item())
    print(f"{name}: uniform attention would give distance {uniform[0]:.1f} patches, colour gap {uniform[1]:.3f}")
    for i, head in enumerate(HEAD_NAMES):
        print(f"   head {i} ({head:8s}): mean distance {(w[i] * dist).sum(-1).mean().item():5.1f} patches, "
              f"mean colour gap {(w[i] * colour_gap).sum(-1).mean().item():.3f}")

# %% [markdown]
# Now look. Pick a photo, a head and a query patch (the red square); the heat map is that query's
# row of the attention matrix, reshaped to the patch grid and drawn over the image. The static figure
# shows all four heads for one query; the widget lets you explore.

# %%
def show_attention(photo: str = "china", head: int = 0, row: int = 6, col: int = 8, ax=None) -> None:
    resized, w, (gh, gw) = maps[photo]
    query = row * gw + col
    heat = w[head, query].reshape(gh, gw).numpy()
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(6, 4))
    ax.imshow(resized)
    ax.imshow(heat, cmap="inferno", alpha=0.6, extent=(0, gw * PATCH, gh * PATCH, 0), interpolation="nearest")
    ax.add_patch(plt.Rectangle((col * PATCH, row * PATCH), PATCH, PATCH, fill=False, edgecolor="red", lw=2))
    ax.set_title(f"{photo}, head {head} ({HEAD_NAMES[head]}), query ({row}, {col}); max weight {heat.max():.3f}")
    ax.axis("off")
    if own:
        plt.show()


fig, axes = plt.subplots(2, 2, figsize=(12, 6.5))
for i, ax in enumerate(axes.flat):
    show_attention("china", head=i, row=4, col=14, ax=ax)
plt.tight_layout()
plt.show()

widgets.interactive(
    show_attention,
    photo=widgets.Dropdown(options=list(maps), value="china", description="photo"),
    head=widgets.Dropdown(options=[(f"{i}: {n}", i) for i, n in enumerate(HEAD_NAMES)], value=0, description="head"),
    row=widgets.IntSlider(6, 0, gh - 1, description="query row"),
    col=widgets.IntSlider(8, 0, gw - 1, description="query col"),
    ax=widgets.fixed(None),
)

# %% [markdown]
# Things to try: move the query from the sky to the pagoda's roof, then into the trees. The position
# head follows the query as a blob of neighbours; the colour and texture heads jump to patches of the
# same look anywhere in the photo; the contrast head lights up whatever looks least like the query.
# These heads are built by hand to make the idea visible. In trained ViTs, Dosovitskiy et al. (2021,
# Figure 7, right) measure each head's mean attention distance (the attention-weighted distance
# printed above, in pixels instead of patches): in the lowest layers some heads already attend across most of the image
# while others stay local, and the distances grow with depth.

# %% [markdown]
# ## 6. Cross-attention: words that find what they name
#
# In **cross-attention** the queries come from one sequence and the keys and values from another:
#
# $$Q = X_{\text{text}} W_Q,\quad K = X_{\text{image}} W_K,\quad V = X_{\text{image}} W_V,\qquad
# \mathrm{CA} = \mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d}}\right) V W_O \in \mathbb{R}^{N_q \times C}.$$
#
# The weights are $N_q \times N_k$ (not square): each query token gets a distribution over image
# patches. This is how captioning decoders read an image, how DETR's object queries find objects,
# and how the text in a diffusion model steers the image.
#
# A complete, trainable example small enough for a CPU. Synthetic 32×32 images hold three objects,
# in 3 of the 16 cells of a 4×4 grid, with three of four colours and three of four shapes, paired at
# random. A question is **one word**: a colour ("red") asks for that object's shape, a shape ("cross")
# asks for that object's colour. Because the pairing is random and one colour and one shape are missing
# from each image, the answer can only be read **at the named object**: the only way to answer is
# for the word's attention to land there. The model:
#
# * image → 16 patch tokens (an 8×8-patch convolution, the "patch embedding");
# * word → one query token (`nn.Embedding`);
# * one `nn.MultiheadAttention` layer, 4 heads, query = word, keys/values = patches;
# * a linear classifier on the attended vector → 8 answers (4 shapes, 4 colours).

# %%
S, CELL, GRID = 32, 8, 4
COLOURS = {"red": (1.0, 0.15, 0.1), "green": (0.1, 0.85, 0.2), "blue": (0.15, 0.3, 1.0), "yellow": (1.0, 0.9, 0.1)}
SHAPES = ("circle", "square", "triangle", "cross")
WORDS = list(COLOURS) + list(SHAPES)              # word i: 0-3 colours, 4-7 shapes; answers use the same 8 labels
_yy, _xx = np.mgrid[0:S, 0:S].astype(np.float32)


def shape_masks(cy: np.ndarray, cx: np.ndarray, r: np.ndarray) -> np.ndarray:
    """(4, n, S, S) boolean masks of a circle, square, triangle and cross centred at (cy, cx), radius r."""
    dy, dx, r = _yy - cy[:, None, None], _xx - cx[:, None, None], r[:, None, None]
    t = (dy + r) / (2 * r)                        # 0 at the triangle's apex, 1 at its base
    return np.stack([
        dy**2 + dx**2 <= r**2,
        (abs(dy) <= 0.8 * r) & (abs(dx) <= 0.8 * r),
        (t >= 0) & (t <= 1) & (abs(dx) <= t * r),
        ((abs(dy) <= 0.35 * r) & (abs(dx) <= r)) | ((abs(dx) <= 0.35 * r) & (abs(dy) <= r)),
    ])


def make_dataset(n: int, rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
    """n (image, word, answer, target mask) examples; target = pixels of the object the word names."""
    colours = np.argsort(rng.random((n, 4)), axis=1)[:, :3]       # 3 distinct colours per image
    shapes = np.argsort(rng.random((n, 4)), axis=1)[:, :3]        # 3 distinct shapes, paired at random
    cells = np.argsort(rng.random((n, GRID * GRID)), axis=1)[:, :3]
    ask = rng.integers(0, 3, n)                                   # which object the word names
    by_colour = rng.random(n) < 0.5
    rows = np.arange(n)
    words = np.where(by_colour, colours[rows, ask], 4 + shapes[rows, ask])
    answers = np.where(by_colour, 4 + shapes[rows, ask], colours[rows, ask])   # colour word -> shape label, shape word -> colour label
    images = np.zeros((n, 3, S, S), np.float32)
    targets = np.zeros((n, S, S), bool)
    palette = np.array(list(COLOURS.values()), np.float32)
    for obj in range(3):
        cy = (cells[:, obj] // GRID) * CELL + 3.5 + rng.uniform(-0.6, 0.6, n)
        cx = (cells[:, obj] % GRID) * CELL + 3.5 + rng.uniform(-0.6, 0.6, n)
        mask = shape_masks(cy, cx, rng.uniform(2.6, 3.3, n))[shapes[:, obj], rows]
        images += mask[:, None] * palette[colours[:, obj]][:, :, None, None]
        targets |= mask & (ask == obj)[:, None, None]
    images += rng.normal(0, 0.05, images.shape).astype(np.float32)
    return tuple(torch.from_numpy(a) for a in (images, words, answers, targets))


rng = np.random.default_rng(0)
train_set, test_set = make_dataset(4000, rng), make_dataset(500, rng)
fig, axes = plt.subplots(1, 6, figsize=(12, 2.3))
for i, ax in enumerate(axes):
    ax.imshow(test_set[0][i].permute(1, 2, 0).clamp(0, 1))
    ax.set_title(f'"{WORDS[test_set[1][i]]}" -> {WORDS[test_set[2][i]]}')
    ax.axis("off")
plt.suptitle("examples: the question word and its answer")
plt.tight_layout()
plt.show()

# %%
class WordFinder(nn.Module):
    """A word token cross-attends over the patch tokens of an image, then answers from what it read."""

    def __init__(self, dim: int = 64, heads: int = 4, words: int = len(WORDS), answers: int = len(WORDS)):
        super().__init__()
        self.patch_embed = nn.Sequential(nn.Conv2d(3, 64, CELL, stride=CELL), nn.GELU(), nn.Conv2d(64, dim, 1))
        self.word_embed = nn.Embedding(words, dim)
        self.cross = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, answers))

    def forward(self, images: torch.Tensor, words: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        patches = self.patch_embed(images).flatten(2).transpose(1, 2)     # (B, 16, dim): keys and values
        query = self.word_embed(words)[:, None]                            # (B, 1, dim): N_q = 1
        read, weights = self.cross(query, patches, patches, average_attn_weights=False)   # weights (B, h, 1, 16)
        return self.head(read[:, 0]), weights[:, :, 0]


def finder_scores(model: nn.Module, data: tuple[torch.Tensor, ...]) -> dict[str, float]:
    """Answer accuracy, and where the attention went: share on the named object, and how often its peak is there."""
    images, words, answers, targets = (t.to(device) for t in data)
    with torch.no_grad():
        logits, weights = model(images, words)
    on_target = F.max_pool2d(targets[:, None].float(), CELL).flatten(1)    # (B, 16): 1 for the named object's cell
    mean_w = weights.mean(1)
    return {
        "accuracy": (logits.argmax(1) == answers).float().mean().item(),
        "attention on object": (mean_w * on_target).sum(1).mean().item(),
        "peak on object": on_target.gather(1, mean_w.argmax(1, keepdim=True)).mean().item(),
    }


torch.manual_seed(0)
finder = WordFinder().to(device)
optimizer = torch.optim.AdamW(finder.parameters(), lr=3e-3, weight_decay=1e-4)
STEPS, BATCH = 400, 128
print("before training:", {k: round(v, 3) for k, v in finder_scores(finder, test_set).items()}, "(1/16 = 0.062 is uniform attention)")
history = []
start = time.perf_counter()
images, words, answers, _ = (t.to(device) for t in train_set)
for step in range(1, STEPS + 1):
    idx = torch.randint(0, len(images), (BATCH,), device=device)
    logits, _ = finder(images[idx], words[idx])
    loss = F.cross_entropy(logits, answers[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 50 == 0:
        history.append((step, loss.item(), *finder_scores(finder, test_set).values()))
train_seconds = time.perf_counter() - start
final = finder_scores(finder, test_set)
print(f"trained {STEPS} steps of {BATCH} in {train_seconds:.1f} s on {device}")
print(f"test accuracy {final['accuracy']:.1%} (chance about 25-33%); attention share on the named object "
      f"{final['attention on object']:.2f}; its peak lands on the named object in {final['peak on object']:.1%} of questions")

hist = np.array(history)
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(hist[:, 0], hist[:, 2], "o-", label="test accuracy")
ax.plot(hist[:, 0], hist[:, 3], "s-", label="attention share on named object")
ax.plot(hist[:, 0], hist[:, 4], "^-", label="attention peak on named object")
ax.set(xlabel="training step", ylim=(0, 1.02), title="the word learns where to look")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# The accuracy and where the attention goes rise **together**: nothing in the loss mentions the
# attention, yet the only way to lower the loss is to look at the named object. Below, each test image
# with its question; the heat map is the word's cross-attention over the 16 patches (mean over heads),
# then the four heads separately for the first example. The per-head numbers (the share of each
# head's attention that lands on the named object, over the whole test set; uniform attention would
# give 1/16 = 0.06) show how the finding is divided among the heads. Nobody designed that division;
# it is what training found, and it changes with the random seed.

# %%
images_t, words_t, answers_t, targets_t = (t[:8].to(device) for t in test_set)
with torch.no_grad():
    logits, weights = finder(images_t, words_t)
fig, axes = plt.subplots(1, 8, figsize=(16, 2.6))
for i, ax in enumerate(axes):
    ax.imshow(images_t[i].permute(1, 2, 0).clamp(0, 1).cpu())
    ax.imshow(weights[i].mean(0).reshape(GRID, GRID).cpu(), cmap="inferno", alpha=0.55, extent=(0, S, S, 0), vmin=0, vmax=1)
    ok = "ok" if logits[i].argmax() == answers_t[i] else "WRONG"
    ax.set_title(f'"{WORDS[words_t[i]]}" -> {WORDS[logits[i].argmax()]} ({ok})', fontsize=9)
    ax.axis("off")
plt.tight_layout()
plt.show()

with torch.no_grad():
    all_images, all_words, _, all_targets = (t.to(device) for t in test_set)
    per_head = finder(all_images, all_words)[1]                                   # (B, h, 16)
    on_target = F.max_pool2d(all_targets[:, None].float(), CELL).flatten(1)[:, None]   # (B, 1, 16)
    share = (per_head * on_target).sum(-1).mean(0)
print("attention share on the named object, per head (test set):", [round(x, 2) for x in share.tolist()])

fig, axes = plt.subplots(1, 5, figsize=(12, 2.6))
axes[0].imshow(images_t[0].permute(1, 2, 0).clamp(0, 1).cpu())
axes[0].set_title(f'question: "{WORDS[words_t[0]]}"')
for hd in range(4):
    axes[hd + 1].imshow(weights[0, hd].reshape(GRID, GRID).cpu(), cmap="inferno", vmin=0, vmax=1)
    axes[hd + 1].set_title(f"head {hd}")
for ax in axes:
    ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 7. Masks with several heads
#
# Scores have shape $(B, h, N_q, N_k)$, and a mask only has to **broadcast** to it. With the
# convention of `F.scaled_dot_product_attention` (and of the assignment), a boolean mask is
# **True where attention is allowed**; a float mask is **added** to the scores.
#
# | mask | shape | use |
# |---|---|---|
# | padding | $(B, 1, 1, N_k)$ | sequences of different lengths in one batch: no query may look at padding |
# | causal | $(N, N)$, lower-triangular | autoregressive decoding: token $i$ sees only $j \le i$ |
# | per head | $(B, h, N_q, N_k)$ | anything else (e.g. a different window per head) |
#
# **Padding.** Two sequences of lengths 6 and 4, padded to 6. With the padding mask, the real
# tokens' outputs do not depend on what the padding contains, and equal the output of the short
# sequence processed alone:

# %%
torch.manual_seed(0)
B, Nmax, heads, d = 2, 6, 4, 8
lengths = torch.tensor([6, 4])
q, k, v = (torch.randn(B, heads, Nmax, d) for _ in range(3))
pad_mask = (torch.arange(Nmax)[None, :] < lengths[:, None])[:, None, None, :]   # (B, 1, 1, N_k), True = real token
out = F.scaled_dot_product_attention(q, k, v, attn_mask=pad_mask)
k2, v2 = k.clone(), v.clone()
k2[1, :, 4:], v2[1, :, 4:] = 100.0, -100.0                                   # garbage in the padding
out2 = F.scaled_dot_product_attention(q, k2, v2, attn_mask=pad_mask)
alone = F.scaled_dot_product_attention(q[1:, :, :4], k[1:, :, :4], v[1:, :, :4])
print("pad_mask[1] =", pad_mask[1, 0, 0].int().tolist())
print(f"changing the padding changes the real tokens' outputs by {(out2[1, :, :4] - out[1, :, :4]).abs().max().item():.1e}")
print(f"padded batch vs. the short sequence alone: max difference {(out[1, :, :4] - alone[0]).abs().max().item():.1e}")

# %% [markdown]
# **Causal.** An $(N, N)$ lower-triangular mask broadcasts over the batch and the heads. Each head
# still has its own weights, but all of them are zero above the diagonal, and changing a later token
# leaves the earlier outputs exactly as they were:

# %%
causal = torch.ones(Nmax, Nmax, dtype=torch.bool).tril()
scores = q @ k.transpose(-2, -1) / math.sqrt(d)
weights = torch.softmax(scores.masked_fill(~causal, float("-inf")), dim=-1)     # (B, h, N, N)
out = F.scaled_dot_product_attention(q, k, v, attn_mask=causal)
k3 = k.clone()
k3[:, :, -1] += 5.0                                                            # change only the last token's key
out3 = F.scaled_dot_product_attention(q, k3, v, attn_mask=causal)
print(f"max weight above the diagonal: {weights.triu(1).max().item()}; outputs 0..{Nmax - 2} change by "
      f"{(out3[:, :, :-1] - out[:, :, :-1]).abs().max().item():.1e} when the last key changes")
fig, axes = plt.subplots(1, heads, figsize=(11, 2.6))
for hd, ax in enumerate(axes):
    ax.imshow(weights[0, hd], cmap="viridis", vmin=0, vmax=1)
    ax.set(title=f"head {hd}", xlabel="key", ylabel="query" if hd == 0 else None)
plt.suptitle("causal weights of 4 heads: each its own, all lower-triangular")
plt.tight_layout()
plt.show()

# %% [markdown]
# **A trap: `nn.MultiheadAttention` reads boolean masks the other way round.** Its `attn_mask` and
# `key_padding_mask` mark with True the positions that may **not** be attended. Passing our
# "True = allowed" mask silently attends to the padding only:

# %%
mha = nn.MultiheadAttention(16, 4, batch_first=True)
tokens = torch.randn(2, Nmax, 16)
keep = torch.arange(Nmax)[None, :] < lengths[:, None]                           # (B, N) True = real token
with torch.no_grad():
    right = mha(tokens, tokens, tokens, key_padding_mask=~keep)[1]               # torch: True = ignore
    wrong = mha(tokens, tokens, tokens, key_padding_mask=keep)[1]
print(f"sequence 2, weight on its padding: with ~keep {right[1, :, 4:].sum(-1).max().item():.3f}, "
      f"with keep {wrong[1, :, 4:].sum(-1).min().item():.3f} (every query looks only at padding)")

# %% [markdown]
# ## Summary
#
# * A self-attention layer = projections $W_Q, W_K, W_V$ (one `Linear(C, 3C)`, output `[q | k | v]`),
#   $h$ heads on slices of width $d = C/h$ (scale by $\sqrt{d}$), merge, output projection $W_O$.
# * Split = `reshape(B, N, h, d).transpose(1, 2)`; merge = the inverse. A bare `view` scrambles tokens.
# * Without projections a token attends most to itself only if all tokens have equal norms; raw pixel
#   patches of a photograph all attended most to the brightest one.
# * Self-attention is permutation-equivariant: it needs position information. Without it, a model could
#   not say in which cell a disc was (chance accuracy); a 1-D sinusoidal or a learned embedding fixed that.
#   Sinusoidal vectors make similarity depend on the offset only; the 2-D version gives each axis half the
#   channels, so neighbours along rows and columns are alike; learned vectors learn what the task needs;
#   a relative bias $b[j - i]$ on the scores knows offsets but not places.
# * The cost is $O(N^2)$ in time and, unless a fused kernel is used, in memory;
#   `F.scaled_dot_product_attention` gives the same output without the matrix.
# * Cross-attention: queries from one sequence, keys and values from another; weights $(B, h, N_q, N_k)$.
#   Trained only to answer, a word's attention learned to land on the object it names.
# * Masks broadcast to $(B, h, N_q, N_k)$; True = may attend (but `nn.MultiheadAttention`'s boolean
#   masks mean the opposite).
# * Adding "the mean attention weight" to a loss does nothing: it is the constant $1/N_k$ (measured on Day 1).
#
# Now open the assignment `day4_self_cross_attention` and build `MultiHeadSelfAttention`,
# `CrossAttention` and the 2-D sine-cosine embedding yourself; the tests compare the layers with
# `nn.MultiheadAttention` and the embedding with MAE's reference code.
