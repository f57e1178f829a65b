# %% [markdown]
# # Day 6: the Swin Transformer: windows, shifts and a hierarchy
#
# A ViT (Day 5) lets every token attend to every other token. That is what makes it powerful, and
# also what makes it expensive: the attention matrix has $N^2$ entries for $N$ tokens, and the
# number of tokens grows with the **square** of the image side. Detection and segmentation need
# high-resolution, multi-scale feature maps, exactly where global attention hurts most.
#
# The Swin Transformer (Liu et al., 2021, *Swin Transformer: Hierarchical Vision Transformer using
# Shifted Windows*) keeps attention but restricts it to local windows, shifts the windows every
# other block so that information crosses window borders, and merges patches between stages to
# build a CNN-like pyramid. Today:
#
# 1. what global attention costs, by formula, by counting and by measuring time and memory;
# 2. window partition and its reverse;
# 3. the relative position bias and its index table;
# 4. the cyclic shift and the attention mask, region by region; why $-100$ works;
# 5. an interactive picture: which tokens may a chosen token attend to?
# 6. patch merging and the four-stage hierarchy; Swin next to ViT.
#
# The assignment then has you build each piece and prove your block equal to torchvision's.

# %%
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from sklearn.datasets import load_sample_image
from torch.utils.flop_counter import FlopCounterMode

torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"
print(f"torch {torch.__version__}; running on {device}"
      + ("" if device == "cuda" else " (no GPU found: every measurement below runs on the CPU, at reduced sizes)"))

# A real photograph, bundled with scikit-learn (no download): centre-cropped to a square, 224 x 224.
photo = load_sample_image("china.jpg")
side = min(photo.shape[:2])
top, left = (photo.shape[0] - side) // 2, (photo.shape[1] - side) // 2
image = np.asarray(Image.fromarray(photo[top:top + side, left:left + side]).resize((224, 224), Image.BILINEAR))
plt.figure(figsize=(3, 3))
plt.imshow(image)
plt.axis("off")
plt.title("our 224 x 224 test image")
plt.show()

# %% [markdown]
# ## 1. What global attention costs
#
# Take a feature map of $h \times w$ tokens with $C$ channels. One multi-head self-attention
# (MSA) layer computes $q, k, v$ with three $C \times C$ projections ($3hwC^2$ multiply-adds),
# the scores $QK^\top$ ($(hw)^2 C$ over all heads together), the weighted sum of the values
# (another $(hw)^2C$) and an output projection ($hwC^2$):
#
# $$\Omega(\mathrm{MSA}) = 4hwC^2 + 2(hw)^2C \qquad\text{(Swin paper, Eq. 1)}$$
#
# Window attention (W-MSA) runs the same layer inside each of the $hw/M^2$ non-overlapping
# windows of $M \times M$ tokens; one window costs $4M^2C^2 + 2M^4C$, so
#
# $$\Omega(\mathrm{W\text{-}MSA}) = \frac{hw}{M^2}\left(4M^2C^2 + 2M^4C\right) = 4hwC^2 + 2M^2hwC \qquad\text{(Eq. 2)}$$
#
# Quadratic versus linear in the number of tokens $hw$. First we check the formulas by **counting**:
# PyTorch's `FlopCounterMode` records every matrix multiplication that actually runs
# (it reports FLOPs = 2 x multiply-adds; the softmax is not counted, as in the paper).

# %%
def msa_flops(h: int, w: int, C: int) -> int:
    """Eq. (1): multiply-adds of global multi-head self-attention."""
    return 4 * h * w * C**2 + 2 * (h * w) ** 2 * C


def wmsa_flops(h: int, w: int, C: int, M: int) -> int:
    """Eq. (2): multiply-adds of window attention with M x M windows."""
    return 4 * h * w * C**2 + 2 * M**2 * h * w * C


def to_windows(x: torch.Tensor, M: int) -> torch.Tensor:
    """(B, H, W, C) -> (B * nW, M*M, C): cut into M x M windows, row-major (via unfold)."""
    B, H, W, C = x.shape
    t = x.unfold(1, M, M).unfold(2, M, M)  # (B, H/M, W/M, C, M, M)
    return t.permute(0, 1, 2, 4, 5, 3).reshape(-1, M * M, C)


def from_windows(windows: torch.Tensor, M: int, H: int, W: int) -> torch.Tensor:
    """(B * nW, M*M, C) -> (B, H, W, C), the inverse of to_windows."""
    C = windows.shape[-1]
    t = windows.reshape(-1, H // M, W // M, M, M, C)
    return t.permute(0, 1, 3, 2, 4, 5).reshape(-1, H, W, C)


class Attention(nn.Module):
    """Plain multi-head self-attention on (batch, tokens, C); returns the output and the score tensor."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        B, N, C = x.shape
        q, k, v = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-2, -1) * (C // self.heads) ** -0.5  # (B, heads, N, N): the expensive tensor
        out = scores.softmax(-1) @ v
        return self.proj(out.transpose(1, 2).reshape(B, N, C)), scores


def global_attention(attn: Attention, fmap: torch.Tensor):
    B, H, W, C = fmap.shape
    return attn(fmap.reshape(B, H * W, C))


def window_attention(attn: Attention, fmap: torch.Tensor, M: int):
    return attn(to_windows(fmap, M))


def counted_macs(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops() // 2


C, heads, M = 96, 3, 8
attn = Attention(C, heads).eval()
print(f"{'tokens':>9} | {'Eq. 1':>14} {'counted':>14} | {'Eq. 2':>12} {'counted':>12}")
with torch.no_grad():
    for s in (8, 16, 32):
        fmap = torch.randn(1, s, s, C)
        g = counted_macs(lambda: global_attention(attn, fmap))
        w = counted_macs(lambda: window_attention(attn, fmap, M))
        print(f"{s:>3} x {s:<3} | {msa_flops(s, s, C):>14,} {g:>14,} | {wmsa_flops(s, s, C, M):>12,} {w:>12,}")
        assert g == msa_flops(s, s, C) and w == wmsa_flops(s, s, C, M)
print("the counted multiply-adds equal Eq. (1) and Eq. (2) exactly")

# %% [markdown]
# ### Measured: time and memory as the image grows
#
# Now the real thing: run global attention and window attention ($M = 8$) on feature maps of
# growing side, on this machine, and record the wall time (best of several runs; on a CPU with
# one thread, so that other programs sharing the machine disturb it less) and the memory of the
# score tensor each one actually allocates (`scores.numel() * scores.element_size()`; on a GPU
# also the peak memory the CUDA allocator reports). The default sizes keep this cell to a few
# seconds on a CPU; on a GPU it goes further.

# %%
def best_time(fn, min_runs: int = 3, budget_s: float = 0.3, max_runs: int = 25) -> float:
    """Best wall time over at least `min_runs` runs (more while under `budget_s`), after one warm-up.

    The minimum is the least disturbed run: on a shared machine other processes only ever add time.
    """
    fn()
    best, spent, runs = math.inf, 0.0, 0
    while runs < min_runs or (spent < budget_s and runs < max_runs):
        runs += 1
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        best, spent = min(best, elapsed), spent + elapsed
    return best


def peak_bytes(fn) -> int | None:
    if device != "cuda":
        return None
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    fn()
    return torch.cuda.max_memory_allocated()


sides = [8, 16, 24, 32, 48, 64] + ([96, 128] if device == "cuda" else [])
attn = Attention(C, heads).to(device).eval()
rows = []
threads = torch.get_num_threads()
if device == "cpu":
    torch.set_num_threads(1)  # one thread: stable timings even when other programs share the CPU
with torch.no_grad():
    for s in sides:
        fmap = torch.randn(1, s, s, C, device=device)
        run_g = lambda: global_attention(attn, fmap)
        run_w = lambda: window_attention(attn, fmap, M)
        _, sg = run_g()
        _, sw = run_w()
        rows.append({
            "side": s, "tokens": s * s,
            "t_global": best_time(run_g), "t_window": best_time(run_w),
            "mem_global": sg.numel() * sg.element_size(), "mem_window": sw.numel() * sw.element_size(),
            "peak_global": peak_bytes(run_g), "peak_window": peak_bytes(run_w),
        })
        del sg, sw
torch.set_num_threads(threads)

print(f"C = {C}, {heads} heads, windows of {M} x {M} tokens, on {device}" + (" (one thread)" if device == "cpu" else ""))
print(f"{'map':>9} {'tokens':>7} | {'global ms':>10} {'window ms':>10} {'ratio':>6} | {'global MiB':>11} {'window MiB':>11}"
      + (" | peak global / window MiB" if device == "cuda" else ""))
for r in rows:
    line = (f"{r['side']:>3} x {r['side']:<3} {r['tokens']:>7} | {1e3 * r['t_global']:>10.2f} {1e3 * r['t_window']:>10.2f} "
            f"{r['t_global'] / r['t_window']:>6.1f} | {r['mem_global'] / 2**20:>11.2f} {r['mem_window'] / 2**20:>11.2f}")
    if r["peak_global"] is not None:
        line += f" | {r['peak_global'] / 2**20:.1f} / {r['peak_window'] / 2**20:.1f}"
    print(line)

tokens = np.array([r["tokens"] for r in rows])
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
axes[0].loglog(tokens, [1e3 * r["t_global"] for r in rows], "o-", label="global attention")
axes[0].loglog(tokens, [1e3 * r["t_window"] for r in rows], "s-", label=f"window attention (M = {M})")
axes[0].set(xlabel="tokens hw", ylabel="time (ms, best run)", title=f"measured time on {device}")
axes[1].loglog(tokens, [r["mem_global"] / 2**20 for r in rows], "o-", label="global: heads x (hw)^2 scores")
axes[1].loglog(tokens, [r["mem_window"] / 2**20 for r in rows], "s-", label="window: heads x hw x M^2 scores")
axes[1].set(xlabel="tokens hw", ylabel="score tensor (MiB)", title="measured memory of the attention scores")
for ax in axes:
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
plt.tight_layout()
plt.show()
slope = np.polyfit(np.log(tokens[-3:]), np.log([r["t_global"] for r in rows[-3:]]), 1)[0]
slope_w = np.polyfit(np.log(tokens[-3:]), np.log([r["t_window"] for r in rows[-3:]]), 1)[0]
print(f"log-log slope of time over the three largest sizes: global {slope:.2f}, window {slope_w:.2f} "
      "(expected near 2 and 1 once the (hw)^2 term dominates; other programs running on the machine add noise)")

# %% [markdown]
# On small maps the two cost about the same (the $4hwC^2$ projections dominate, and one window
# covers the whole $8 \times 8$ map); as the map grows, global attention's time and memory grow
# with the square of the number of tokens while window attention stays linear. At Swin-T's
# first stage ($56 \times 56$ tokens, $C = 96$, $M = 7$) the two formulas give:

# %%
print(f"Swin-T stage 1: MSA {msa_flops(56, 56, 96) / 1e9:.2f} G multiply-adds, W-MSA {wmsa_flops(56, 56, 96, 7) / 1e9:.3f} G: "
      f"{msa_flops(56, 56, 96) / wmsa_flops(56, 56, 96, 7):.1f}x")

# %% [markdown]
# ## 2. Window partition and reverse
#
# Swin keeps feature maps **channels-last**, `(B, H, W, C)`. A window partition reshapes the map
# into `(B * nW, M, M, C)`: the windows of image 0 in row-major order, then those of image 1, ...
# Each window becomes an independent "sequence" of $M^2$ tokens, so all windows are processed as
# one big batch. The reverse puts them back. Both are pure rearrangements: no arithmetic.
# Below, the picture is cut into $4 \times 4$ windows of $56 \times 56$ pixels (in the network the
# tokens are $4 \times 4$-pixel patches and $M = 7$; here one token is an $8 \times 8$-pixel
# patch, so a window is $7 \times 7$ tokens = 56 px).

# %%
PATCH, M_IMG = 8, 7  # 8-px tokens: a 28 x 28 token grid, windows of 7 x 7 tokens (56 px)
GRID = 224 // PATCH
img_t = torch.from_numpy(image.copy()).float() / 255  # (H, W, 3) channels-last, like Swin's feature maps
wins = img_t.unfold(0, PATCH * M_IMG, PATCH * M_IMG).unfold(1, PATCH * M_IMG, PATCH * M_IMG)  # (4, 4, 3, 56, 56)
wins = wins.permute(0, 1, 3, 4, 2).reshape(-1, PATCH * M_IMG, PATCH * M_IMG, 3)  # (16, 56, 56, 3), row-major
fig, axes = plt.subplots(4, 4, figsize=(5, 5))
for i, ax in enumerate(axes.flat):
    ax.imshow(wins[i].numpy())
    ax.set_title(f"window {i}", fontsize=7)
    ax.axis("off")
plt.suptitle("window_partition: 16 windows, row-major", fontsize=9)
plt.tight_layout()
plt.show()
back = wins.reshape(4, 4, 56, 56, 3).permute(0, 2, 1, 3, 4).reshape(224, 224, 3)
print("reverse(partition(image)) == image:", torch.equal(back, img_t))

# %% [markdown]
# ## 3. Relative position bias and its index table
#
# Inside a window Swin adds a learned bias to the scores, which depends only on where the key is
# **relative** to the query:
#
# $$\mathrm{Attention}(Q,K,V) = \mathrm{softmax}\!\left(QK^\top/\sqrt{d} + B\right)V, \qquad
# B_{ij} = \hat B[\,y_i - y_j,\; x_i - x_j\,].$$
#
# Offsets run over $-(M-1) \dots M-1$ on each axis, so the table $\hat B$ has $(2M-1)^2$ rows (one
# column per head): $169 \times h$ numbers for $M = 7$ instead of $49 \times 49$ per head. To look
# entries up, the reference code flattens the pair of offsets into one index:
#
# $$\mathrm{index}[i,j] = (y_i - y_j + M - 1)(2M - 1) + (x_i - x_j + M - 1).$$

# %%
def rel_index(M: int) -> torch.Tensor:
    """(M*M, M*M) index into the (2M-1)^2 bias table, as in the Swin reference code."""
    ys, xs = torch.meshgrid(torch.arange(M), torch.arange(M), indexing="ij")
    ys, xs = ys.flatten(), xs.flatten()
    return (ys[:, None] - ys[None, :] + M - 1) * (2 * M - 1) + (xs[:, None] - xs[None, :] + M - 1)


idx3 = rel_index(3)
from torchvision.models.swin_transformer import SwinTransformerBlock

tv_index = SwinTransformerBlock(12, 3, [3, 3], [0, 0]).attn.relative_position_index.view(9, 9)
print("same as torchvision's buffer:", torch.equal(idx3, tv_index))

M7 = 7
dy, dx = np.meshgrid(np.arange(-(M7 - 1), M7), np.arange(-(M7 - 1), M7), indexing="ij")
table = torch.tensor(-np.hypot(dy, dx), dtype=torch.float32).reshape(-1)  # a made-up 1-head table: closer = larger bias
bias = table[rel_index(M7)]  # (49, 49): B[i, j]

fig, axes = plt.subplots(1, 4, figsize=(15, 3.8))
axes[0].imshow(idx3, cmap="viridis")
for i in range(9):
    for j in range(9):
        axes[0].text(j, i, int(idx3[i, j]), ha="center", va="center", fontsize=7, color="w")
axes[0].set(title="index for M = 3 (9 x 9 pairs -> 25 rows)", xlabel="key j", ylabel="query i")
axes[1].imshow(table.reshape(2 * M7 - 1, 2 * M7 - 1), cmap="magma")
axes[1].set(title="a bias table, 13 x 13 offsets", xlabel="dx + 6", ylabel="dy + 6")
for ax, q in zip(axes[2:], (24, 0), strict=True):
    ax.imshow(bias[q].reshape(M7, M7), cmap="magma")
    ax.plot(q % M7, q // M7, "c*", ms=14)
    ax.set(title=f"B[{q}, :] over the 7x7 window (query = star)")
plt.tight_layout()
plt.show()

# %% [markdown]
# The same 169 numbers serve every query: the pattern is centred on whichever token asks. In a
# trained network each head learns its own table (some heads prefer the left neighbour, others a
# wide neighbourhood). The index is computed, never learned, so Swin stores it as a
# **non-persistent buffer**: it moves with `.to(device)` but stays out of the `state_dict`.
#
# ## 4. Shifted windows: the cyclic shift and the mask, region by region
#
# With fixed windows no information ever crosses a window border. Swin alternates regular blocks
# with **shifted** ones whose windows are displaced by $\lfloor M/2 \rfloor$ tokens. Displacing the
# grid naively creates partial windows at the borders ($\lceil h/M \rceil + 1$ per axis, some
# tiny). Instead Swin **rolls** the map by $-\lfloor M/2\rfloor$ (`torch.roll`) and cuts the usual
# windows: the same number of full windows, one batched computation. The price: windows along
# the bottom and right edges now contain pieces that were far apart (they wrapped around). A
# mask stops those pieces from attending to each other; after attention the map is rolled back.
#
# Label the rolled map by strips, along each axis $[0, H-M)$, $[H-M, H-s)$, $[H-s, H)$: 9 regions.
# Tokens of a window may attend to each other only if they share a region.

# %%
SHIFT = M_IMG // 2  # 3 tokens = 24 px


def strips(size: int, M: int, s: int) -> torch.Tensor:
    label = torch.zeros(size, dtype=torch.long)
    label[size - M:size - s] = 1
    label[size - s:] = 2
    return label


region = strips(GRID, M_IMG, SHIFT)[:, None] * 3 + strips(GRID, M_IMG, SHIFT)[None, :]  # (28, 28) on the rolled grid
rolled = torch.roll(img_t, shifts=(-SHIFT * PATCH, -SHIFT * PATCH), dims=(0, 1))
region_px = region.repeat_interleave(PATCH, 0).repeat_interleave(PATCH, 1)
colors = plt.cm.tab10(np.arange(9))[:, :3]


def draw_grid(ax, offset: int = 0, color: str = "w") -> None:
    """Window borders in pixels; a shifted block's windows start `offset` px further down and right."""
    for k in range(0, 224, PATCH * M_IMG):
        ax.axhline((k + offset) % 224, color=color, lw=1.2)
        ax.axvline((k + offset) % 224, color=color, lw=1.2)


fig, axes = plt.subplots(1, 4, figsize=(16, 4.2))
axes[0].imshow(image)
draw_grid(axes[0])
axes[0].set_title("regular windows (block l)")
axes[1].imshow(image)
draw_grid(axes[1], offset=SHIFT * PATCH, color="y")
axes[1].set_title(f"shifted windows (block l+1): +{SHIFT} tokens")
axes[2].imshow(0.45 * rolled.numpy() + 0.55 * colors[region_px.numpy()])
draw_grid(axes[2])
for r in range(9):
    ys, xs = np.nonzero(region_px.numpy() == r)
    axes[2].text(xs.mean(), ys.mean(), str(r), color="k", fontsize=12, ha="center", va="center", weight="bold")
axes[2].set_title(f"rolled by -{SHIFT} tokens: 9 regions")
back_regions = torch.roll(region_px, shifts=(SHIFT * PATCH, SHIFT * PATCH), dims=(0, 1))
axes[3].imshow(0.45 * img_t.numpy() + 0.55 * colors[back_regions.numpy()])
draw_grid(axes[3], offset=SHIFT * PATCH, color="y")
axes[3].set_title("the regions, rolled back")
for ax in axes:
    ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# Only the windows in the last row or last column of the rolled grid mix regions. For each
# window, the mask compares the region labels of every query/key pair: 0 where they match,
# $-100$ where they differ. Four windows of the $4 \times 4$ grid, their $49 \times 49$ masks:

# %%
def window_mask(region_grid: torch.Tensor, M: int) -> torch.Tensor:
    """(nW, M*M, M*M): 0 within a region, -100 across regions (regions of the ROLLED grid)."""
    labels = to_windows(region_grid[None, :, :, None].float(), M)[..., 0]  # (nW, M*M)
    return torch.where(labels[:, :, None] == labels[:, None, :], 0.0, -100.0)


mask = window_mask(region, M_IMG)

fig, axes = plt.subplots(1, 4, figsize=(15, 3.8))
for ax, w in zip(axes, (0, 3, 12, 15), strict=True):
    ax.imshow(mask[w], cmap="gray", vmin=-100, vmax=0)
    regions_here = sorted(set(to_windows(region[None, :, :, None].float(), M_IMG)[w, :, 0].long().tolist()))
    ax.set(title=f"window {w}: regions {regions_here}", xlabel="key token", ylabel="query token")
plt.suptitle("shifted-window masks (white = may attend, black = -100)")
plt.tight_layout()
plt.show()
print(f"windows whose mask blocks something: {int((mask != 0).flatten(1).any(1).sum())} of {mask.shape[0]}")

# %% [markdown]
# ### Why $-100$ works
#
# The mask is **added** to the scores before the softmax. A key with $-100$ added gets weight
# $e^{s-100}/\sum e^{s'} \le e^{-100+\Delta}$, where $\Delta$ is the spread of the real scores:
# below $10^{-40}$ for any reasonable $\Delta$, i.e. zero at float32 precision ($10^{-7}$
# relative). A finite value keeps every intermediate finite (no `inf - inf = nan`, even in half
# precision where $-10^4$ would already overflow), and every query always shares its region
# with itself, so no row is fully masked. Measured:

# %%
torch.manual_seed(0)
scores = 3 * torch.randn(16, 49, 49)  # typical trained scores have a spread of a few units
w_100 = (scores + mask).softmax(-1)
w_inf = (scores + torch.where(mask < 0, -math.inf, 0.0)).softmax(-1)
v = torch.randn(16, 49, 8)
print(f"largest weight a blocked key gets with -100: {w_100[mask.expand_as(w_100) < 0].max().item():.2e}")
print(f"max |out(-100) - out(-inf)| = {(w_100 @ v - w_inf @ v).abs().max().item():.2e}")

# %% [markdown]
# ## 5. Interactive: whom may a token attend to?
#
# Pick a token (row, column on the $28 \times 28$ token grid) and a block type. In a regular block
# it attends to the 49 tokens of its window; in a shifted block to the tokens of its **shifted**
# window that also share its region, shown here in the original image's coordinates (the
# cyclic shift is undone). Try a token near the bottom-right corner: in the shifted block its
# window wraps around the image, and the mask keeps only the tokens that are really its neighbours.

# %%
def allowed(row: int, col: int, shifted: bool) -> np.ndarray:
    """(28, 28) bool: the tokens (original coordinates) that token (row, col) may attend to."""
    ys, xs = np.meshgrid(np.arange(GRID), np.arange(GRID), indexing="ij")
    if not shifted:
        return (ys // M_IMG == row // M_IMG) & (xs // M_IMG == col // M_IMG)
    ry, rx = (ys - SHIFT) % GRID, (xs - SHIFT) % GRID  # where each token sits after torch.roll(-SHIFT)
    same_window = (ry // M_IMG == ry[row, col] // M_IMG) & (rx // M_IMG == rx[row, col] // M_IMG)
    reg = region.numpy()[ry, rx]
    return same_window & (reg == reg[row, col])


def show_reach(row: int = 26, col: int = 26, shifted: bool = True) -> None:
    ok = allowed(row, col, shifted)
    ok_px = np.kron(ok, np.ones((PATCH, PATCH)))[..., None]
    fig, ax = plt.subplots(figsize=(4.8, 4.8))
    ax.imshow(image / 255 * (0.25 + 0.75 * ok_px))
    draw_grid(ax, offset=SHIFT * PATCH if shifted else 0, color="y" if shifted else "w")
    ax.add_patch(plt.Rectangle((col * PATCH, row * PATCH), PATCH, PATCH, fill=False, ec="r", lw=2.5))
    kind = "shifted block (roll + mask)" if shifted else "regular block"
    ax.set_title(f"token ({row}, {col}), {kind}: attends to {int(ok.sum())} tokens", fontsize=9)
    ax.axis("off")
    plt.show()


show_reach(26, 26, shifted=True)  # a static picture for readers without a live kernel

try:
    import ipywidgets as widgets

    widgets.interact(
        show_reach,
        row=widgets.IntSlider(value=26, min=0, max=GRID - 1, description="row"),
        col=widgets.IntSlider(value=26, min=0, max=GRID - 1, description="column"),
        shifted=widgets.Checkbox(value=True, description="shifted block"),
    )
except ImportError:
    print("ipywidgets is not installed: call show_reach(row, col, shifted) by hand")

# %% [markdown]
# ### Does our picture match torchvision?
#
# The drawing above uses our own roll-and-mask. torchvision's `SwinTransformerBlock` implements
# the same thing; here is a check on the attention *reach*: perturb one input token and see which
# output tokens of torchvision's attention layer change (reach is symmetric here, because
# "sharing a window and a region" is).

# %%
from torchvision.models.swin_transformer import ShiftedWindowAttention

torch.manual_seed(0)
tv_attn = ShiftedWindowAttention(16, [M_IMG, M_IMG], [SHIFT, SHIFT], num_heads=2).eval()
x = torch.randn(1, GRID, GRID, 16)
row, col = 26, 26
x2 = x.clone()
x2[0, row, col] += 1.0
with torch.no_grad():
    changed = (tv_attn(x2) - tv_attn(x)).abs().amax(-1)[0] > 1e-6
print("tokens changed in torchvision:", int(changed.sum()), "| our picture:", int(allowed(row, col, True).sum()),
      "| identical sets:", bool((changed.numpy() == allowed(row, col, True)).all()))

# %% [markdown]
# ## 6. Patch merging and the hierarchy
#
# Between stages Swin halves the resolution and doubles the width: **patch merging** concatenates
# each $2 \times 2$ neighbourhood (`x[0::2, 0::2], x[1::2, 0::2], x[0::2, 1::2], x[1::2, 1::2]`, in
# torchvision's order) into $4C$ channels, normalises, and projects to $2C$ with a linear layer:
# the transformer's version of a stride-2 convolution. Four stages give feature maps at strides
# 4, 8, 16, 32, exactly the pyramid a CNN backbone (ResNet) hands to a detector (FPN, Mask R-CNN)
# or a segmentation head (UPerNet). A ViT keeps one resolution (stride 16) everywhere.

# %%
grid = torch.arange(16.0).reshape(1, 4, 4, 1)
merged = torch.cat([grid[:, 0::2, 0::2], grid[:, 1::2, 0::2], grid[:, 0::2, 1::2], grid[:, 1::2, 1::2]], -1)
print("a 4x4 map of token numbers:\n", grid[0, ..., 0].long().numpy())
print("after the concatenation: 2x2 positions, 4 channels each:\n", merged[0].long().numpy())

from torchvision.models import swin_t, vit_b_16

with torch.device("meta"):  # shapes only: no weights are allocated, nothing is computed
    swin = swin_t(weights=None).eval()
    shapes = []
    hooks = [layer.register_forward_hook(lambda m, i, o, n=name: shapes.append((n, type(m).__name__, tuple(o.shape))))
             for name, layer in swin.features.named_children()]
    swin(torch.empty(1, 3, 224, 224))
for h in hooks:
    h.remove()
print("\nswin_t on a 224 x 224 image (features are channels-last (B, H, W, C)):")
for name, kind, shape in shapes:
    print(f"  features[{name}] {kind:<14} -> {shape}")

# %% [markdown]
# ## 7. Swin next to ViT, measured
#
# Count the multiply-adds of the full torchvision models at two resolutions (on PyTorch's
# `meta` device: shapes only, no arithmetic, so this is instant). ViT-B/16 is built for each
# resolution (`image_size`), Swin-T takes any multiple of 32.

# %%
def gmacs(model_fn, res: int) -> float:
    with torch.device("meta"):
        model = model_fn(res)
        with FlopCounterMode(display=False) as counter:
            model(torch.empty(1, 3, res, res))
    return counter.get_total_flops() / 2e9


n_swin = sum(p.numel() for p in swin.parameters()) / 1e6
with torch.device("meta"):
    n_vit = sum(p.numel() for p in vit_b_16(weights=None).parameters()) / 1e6
print(f"{'model':<10} {'params':>8} {'tokens @224':>12} {'GMACs @224':>11} {'GMACs @448':>11} {'growth':>7}")
for name, fn, n, toks in (("Swin-T", lambda r: swin_t(weights=None), n_swin, "3136 -> 49"),
                          ("ViT-B/16", lambda r: vit_b_16(weights=None, image_size=r), n_vit, "196 + cls")):
    a, b = gmacs(fn, 224), gmacs(fn, 448)
    print(f"{name:<10} {n:>7.1f}M {toks:>12} {a:>11.2f} {b:>11.2f} {b / a:>6.1f}x")

# %% [markdown]
# | | ViT | Swin |
# | --- | --- | --- |
# | tokens | one resolution, $16 \times 16$-pixel patches, plus a class token | $4 \times 4$-pixel patches, merged stage by stage (stride 4 -> 32) |
# | attention | global: every token sees every token from layer 1 | local windows; shifted windows connect neighbours; reach grows with depth and merging |
# | cost in the number of tokens | quadratic (Eq. 1) | linear (Eq. 2) |
# | position information | learned absolute embedding (interpolated for new sizes) | relative position bias inside windows |
# | typical use | classification, large-scale pre-training (CLIP, MAE), whole-image tasks | backbone for detection and segmentation (multi-scale features for FPN / UPerNet), dense prediction at high resolution |
#
# Doubling the resolution multiplies the tokens by 4: Swin's cost grows about 4x (linear), ViT's
# by more than 4x because the $(hw)^2$ term grows 16x (the measured growth above). Swin's locality
# is also a prior, like a CNN's: useful on moderate data, and it is what makes high-resolution
# feature maps affordable.
#
# **Next:** the assignment has you implement `window_partition`, `window_reverse`, the
# relative position index, the shifted-window mask, `WindowAttention`, `PatchMerging` and a
# full `SwinBlock`, and check that your block's output equals torchvision's
# `SwinTransformerBlock` with the same weights.
