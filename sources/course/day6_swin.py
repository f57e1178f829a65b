# %% [markdown]
# # Day 6: the Swin Transformer: windows, shifts and a hierarchy
#
# A ViT (Day 5) lets every token attend to every other token. That is what makes it powerful, and
# also what makes it expensive: the attention matrix has $N^2$ entries for $N$ tokens, and the
# number of tokens grows with the **square** of the image side. Detection and segmentation need
# high-resolution, multi-scale feature maps, exactly where global attention hurts most.
#
# The Swin Transformer (Liu et al., 2021, *Swin Transformer: Hierarchical Vision Transformer using
# Shifted Windows*, arXiv:2103.14030) keeps attention but restricts it to local windows, shifts the
# windows every other block so that information crosses window borders, and merges patches between
# stages to build a CNN-like pyramid. Today, with torchvision's own Swin modules
# (`torchvision.models.swin_transformer`) opened up and measured:
#
# 1. what global attention costs: counted, timed and weighed;
# 2. how a map is cut into windows;
# 3. the relative position bias and its index table;
# 4. the cyclic shift and the attention mask, region by region; why $-100$ works;
# 5. an interactive picture: which tokens may a chosen token attend to?
# 6. what the shift and the relative position bias each buy (the paper's ablation, and our own measurements);
# 7. patch merging, the four-stage hierarchy, and the Swin-T/S/B/L family;
# 8. feature maps whose sides are not multiples of the window;
# 9. Swin next to ViT.
#
# The assignment then has you build each piece yourself and prove your block equal to torchvision's.

# %%
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision.models.swin_transformer as tv_swin
from PIL import Image
from sklearn.datasets import load_sample_image
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode
from torchvision.models import swin_b, swin_s, swin_t, vit_b_16

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
# Throughout the day we look *inside* torchvision's modules instead of rewriting them. Two
# instruments do that. `FlopCounterMode` counts the multiply-adds of every matrix product that runs.
# The small `Recorder` below is a `TorchDispatchMode`: while it is active, every low-level
# operator PyTorch runs passes through it, and it keeps a copy of the inputs and output of the
# operators we ask for (the matrix product that projects the windows, the softmax that turns scores
# into weights). Nothing is changed; we only watch.

# %%
class Recorder(TorchDispatchMode):
    """Run code unchanged; keep the tensor arguments and output of the chosen aten operators.

    With `copy=False` only their shapes and dtypes are kept (as `meta` tensors), which costs no memory.
    """

    def __init__(self, *ops, copy: bool = True):
        super().__init__()
        self.ops, self.copy, self.calls = ops, copy, []

    def keep(self, t):
        if not isinstance(t, torch.Tensor):
            return t
        return t.detach().clone() if self.copy else torch.empty_like(t, device="meta")

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func.overloadpacket in self.ops:
            self.calls.append((func.overloadpacket, [self.keep(a) for a in args], self.keep(out)))
        return out


def counted_macs(run) -> dict[str, int]:
    """Multiply-adds per operator while `run()` executes (FlopCounterMode counts FLOPs = 2 x multiply-adds)."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        run()
    return {str(op).removeprefix("aten."): n // 2 for op, n in counter.get_flop_counts()["Global"].items()}

# %% [markdown]
# ## 1. What global attention costs
#
# Take a feature map of $h \times w$ tokens with $C$ channels. One multi-head self-attention (MSA)
# layer projects every token to $q, k, v$ and back out (four $C \times C$ matrices), forms the
# scores $QK^\top$ and the weighted sum of the values. The Swin paper (Sec. 3.2) counts
#
# $$\Omega(\mathrm{MSA}) = 4hwC^2 + 2(hw)^2C \qquad\text{(Eq. 1)}, \qquad
# \Omega(\mathrm{W\text{-}MSA}) = 4hwC^2 + 2M^2hwC \qquad\text{(Eq. 2)}$$
#
# multiply-adds (the softmax is left out), where W-MSA runs the same layer inside non-overlapping
# windows of $M \times M$ tokens: every query then meets $M^2$ keys instead of $hw$. Rather than
# trust the formulas, count what runs: PyTorch's own `nn.MultiheadAttention` (global) and
# torchvision's `ShiftedWindowAttention` (windows of $M = 8$, no shift), on maps of growing side.
# `addmm` is the projections, `bmm` the two attention products; dividing each count by the
# candidate term shows the coefficients.

# %%
C, heads, M = 96, 3, 8
mha = nn.MultiheadAttention(C, heads, batch_first=True).eval()
swa = tv_swin.ShiftedWindowAttention(C, [M, M], [0, 0], heads).eval()


def run_global(fmap: torch.Tensor):
    tokens = fmap.flatten(1, 2)  # (B, h*w, C): one sequence of all tokens
    return mha(tokens, tokens, tokens, need_weights=True, average_attn_weights=False)


print(f"C = {C}, {heads} heads, windows of {M} x {M}; counted multiply-adds divided by each term of Eq. 1 and 2")
print(f"{'map':>9}| {'global: proj/hwC^2':>19} {'bmm/(hw)^2C':>12} | {'windows: proj/hwC^2':>20} {'bmm/M^2hwC':>11}")
for s in (8, 16, 32, 12):
    fmap = torch.randn(1, s, s, C)
    g, w = counted_macs(lambda: run_global(fmap)), counted_macs(lambda: swa(fmap))
    hw = s * s
    note = "   <- 12 is not a multiple of 8 (Section 8)" if s % M else ""
    print(f"{s:>3} x {s:<3}| {g['addmm'] / (hw * C**2):>19.2f} {g['bmm'] / (hw**2 * C):>12.2f} | "
          f"{w['addmm'] / (hw * C**2):>20.2f} {w['bmm'] / (M**2 * hw * C):>11.2f}{note}")

# %% [markdown]
# The projections cost $4hwC^2$ in both layers, the attention products $2(hw)^2C$ globally and
# $2M^2hwC$ in windows: exactly Eq. 1 and Eq. 2 whenever $M$ divides the map. On the $12 \times 12$
# map the window layer spends more than Eq. 2 says: torchvision pads the map to $16 \times 16$ so that
# the windows fit, and pays for the padding (Section 8 looks at this).
#
# ### Measured: time and memory as the map grows
#
# Now the wall time (best of several runs, on a CPU with one thread so that other programs sharing
# the machine disturb it less) and the memory of the score tensor each layer really builds: the
# `Recorder` catches the tensor handed to the softmax. On a CPU the maps stop at $48 \times 48$ tokens
# (the cell prints how long it took); on a GPU it goes further.

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


def score_bytes(fn) -> int:
    """Bytes of every tensor that went into a softmax while `fn()` ran: the attention scores."""
    with Recorder(torch.ops.aten._softmax, copy=False) as rec:
        fn()
    return sum(args[0].numel() * args[0].element_size() for _, args, _ in rec.calls)


started = time.perf_counter()
sides = [8, 16, 24, 32, 48] + ([64, 96, 128] if device == "cuda" else [])
mha, swa = mha.to(device), swa.to(device)
rows = []
threads = torch.get_num_threads()
if device == "cpu":
    torch.set_num_threads(1)  # one thread: stable timings even when other programs share the CPU
with torch.no_grad():
    for s in sides:
        fmap = torch.randn(1, s, s, C, device=device)
        run_g, run_w = (lambda: run_global(fmap)), (lambda: swa(fmap))
        rows.append({"side": s, "tokens": s * s, "t_global": best_time(run_g), "t_window": best_time(run_w),
                     "mem_global": score_bytes(run_g), "mem_window": score_bytes(run_w)})
torch.set_num_threads(threads)

print(f"C = {C}, {heads} heads, windows of {M} x {M} tokens, on {device}" + (" (one thread)" if device == "cpu" else ""))
print(f"{'map':>9} {'tokens':>7} | {'global ms':>10} {'window ms':>10} {'ratio':>6} | {'global MiB':>11} {'window MiB':>11}")
for r in rows:
    print(f"{r['side']:>3} x {r['side']:<3} {r['tokens']:>7} | {1e3 * r['t_global']:>10.2f} {1e3 * r['t_window']:>10.2f} "
          f"{r['t_global'] / r['t_window']:>6.1f} | {r['mem_global'] / 2**20:>11.2f} {r['mem_window'] / 2**20:>11.2f}")

tokens = np.array([r["tokens"] for r in rows])
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
axes[0].loglog(tokens, [1e3 * r["t_global"] for r in rows], "o-", label="global attention (nn.MultiheadAttention)")
axes[0].loglog(tokens, [1e3 * r["t_window"] for r in rows], "s-", label=f"window attention (M = {M}, torchvision)")
axes[0].set(xlabel="tokens hw", ylabel="time (ms, best run)", title=f"measured time on {device}")
axes[1].loglog(tokens, [r["mem_global"] / 2**20 for r in rows], "o-", label="global scores")
axes[1].loglog(tokens, [r["mem_window"] / 2**20 for r in rows], "s-", label="window scores")
axes[1].set(xlabel="tokens hw", ylabel="score tensor (MiB)", title="memory of the scores fed to the softmax")
for ax in axes:
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
plt.tight_layout()
plt.show()
slope = np.polyfit(np.log(tokens[-3:]), np.log([r["t_global"] for r in rows[-3:]]), 1)[0]
slope_w = np.polyfit(np.log(tokens[-3:]), np.log([r["t_window"] for r in rows[-3:]]), 1)[0]
mem_slope = np.polyfit(np.log(tokens), np.log([r["mem_global"] for r in rows]), 1)[0]
mem_slope_w = np.polyfit(np.log(tokens), np.log([r["mem_window"] for r in rows]), 1)[0]
print(f"log-log slopes over the three largest maps: time global {slope:.2f}, window {slope_w:.2f}; "
      f"score memory global {mem_slope:.2f}, window {mem_slope_w:.2f} "
      "(1 = linear, 2 = quadratic in the tokens; the time is noisier, other programs share the machine)")
print(f"this cell took {time.perf_counter() - started:.1f} s")

# %% [markdown]
# On small maps the two cost about the same (the $4hwC^2$ projections dominate, and one window
# covers the whole $8 \times 8$ map). As the map grows, the score memory of global attention grows
# exactly with the square of the number of tokens and that of window attention linearly (the memory
# slopes printed above); the time follows the same trend, less cleanly (a CPU's caches and other
# programs add noise), and the ratio column shows how far global attention falls behind on large
# maps. At Swin-T's first stage ($56 \times 56$ tokens, $C = 96$, 3 heads, $M = 7$), counted on
# PyTorch's `meta` device (shapes only, no arithmetic):

# %%
with torch.device("meta"):
    stage1 = torch.empty(1, 56, 56, 96)
    mha_t = nn.MultiheadAttention(96, 3, batch_first=True)
    swa_t = tv_swin.ShiftedWindowAttention(96, [7, 7], [0, 0], 3)
    g = sum(counted_macs(lambda: mha_t(*[stage1.flatten(1, 2)] * 3, need_weights=True)).values())
    w = sum(counted_macs(lambda: swa_t(stage1)).values())
print(f"Swin-T stage 1, one attention layer: global {g / 1e9:.2f} G multiply-adds, windows {w / 1e9:.3f} G: {g / w:.1f}x")

# %% [markdown]
# ## 2. Cutting the map into windows
#
# Swin keeps feature maps **channels-last**, `(B, H, W, C)`. Window attention treats each
# $M \times M$ window as an independent sequence of $M^2$ tokens, so all windows of all images are
# processed as one big batch `(B * nW, M * M, C)`: the windows of image 0 in **row-major** order
# (left to right along the top row of windows, then the next row), then those of image 1. Below, the
# picture is cut by plain slicing into a $4 \times 4$ grid of windows of $56 \times 56$ pixels (in the
# network the tokens are $4 \times 4$-pixel patches and $M = 7$; here one token is an
# $8 \times 8$-pixel patch, so a window is $7 \times 7$ tokens).

# %%
PATCH, M_IMG = 8, 7  # 8-px tokens: a 28 x 28 token grid, windows of 7 x 7 tokens (56 px)
GRID, WIN_PX = 224 // PATCH, PATCH * M_IMG
n_side = 224 // WIN_PX  # 4 windows per row and per column

fig = plt.figure(figsize=(11, 5))
ax = fig.add_subplot(1, 2, 1)
ax.imshow(image)
for k in range(n_side * n_side):
    r, c = divmod(k, n_side)  # row-major numbering
    ax.add_patch(plt.Rectangle((c * WIN_PX, r * WIN_PX), WIN_PX, WIN_PX, fill=False, ec="w", lw=1.5))
    ax.text(c * WIN_PX + WIN_PX / 2, r * WIN_PX + WIN_PX / 2, str(k), color="w", fontsize=14, ha="center", va="center",
            weight="bold")
ax.set_title("window k sits at row k // 4, column k % 4")
ax.axis("off")
for k in range(n_side * n_side):
    r, c = divmod(k, n_side)
    sub = fig.add_subplot(n_side, 2 * n_side, r * 2 * n_side + n_side + c + 1)
    sub.imshow(image[r * WIN_PX:(r + 1) * WIN_PX, c * WIN_PX:(c + 1) * WIN_PX])
    sub.set_title(f"{k}", fontsize=7)
    sub.axis("off")
fig.suptitle("the batch of windows, in row-major order", fontsize=10)
plt.show()

# %% [markdown]
# Does torchvision list its windows in this order? Run its window attention on the $28 \times 28$
# token map (each token the mean colour of its $8 \times 8$ patch) and let the `Recorder` catch the
# input of the first matrix product (the $q, k, v$ projection): it is the batch of windows, one
# row per token.

# %%
token_map = torch.from_numpy(image.astype(np.float32) / 255).reshape(GRID, PATCH, GRID, PATCH, 3).mean((1, 3))[None]
probe_attn = tv_swin.ShiftedWindowAttention(3, [M_IMG, M_IMG], [0, 0], num_heads=1).eval()
with torch.no_grad(), Recorder(torch.ops.aten.addmm) as rec:
    probe_attn(token_map)
batch = rec.calls[0][1][1].reshape(-1, M_IMG, M_IMG, 3)  # the input of the qkv projection, as windows
same = all(torch.equal(batch[k], token_map[0, (k // n_side) * M_IMG:(k // n_side + 1) * M_IMG,
                                           (k % n_side) * M_IMG:(k % n_side + 1) * M_IMG]) for k in range(len(batch)))
print(f"torchvision's batch of windows: {tuple(batch.shape)}; window k equals our slice number k: {same}")

# %% [markdown]
# ## 3. Relative position bias and its index table
#
# Inside a window Swin adds a learned bias to the scores, which depends only on where the key is
# **relative** to the query (Eq. 4 of the paper):
#
# $$\mathrm{Attention}(Q,K,V) = \mathrm{softmax}\!\left(QK^\top/\sqrt{d} + B\right)V, \qquad
# B_{ij} = \hat B[\,y_i - y_j,\; x_i - x_j\,].$$
#
# Offsets run over $-(M-1) \dots M-1$ on each axis, so the table $\hat B$ has $(2M-1)^2$ rows (one
# column per head): $169 \times h$ numbers for $M = 7$ instead of $49 \times 49$ per head. To look
# entries up, the reference code flattens the pair of offsets into one row number,
# $(y_i - y_j + M - 1)(2M - 1) + (x_i - x_j + M - 1)$, and stores all of them in a buffer. Here is
# one query of a $3 \times 3$ window, worked out key by key, next to torchvision's buffer:

# %%
tv_block3 = tv_swin.SwinTransformerBlock(12, 3, [3, 3], [0, 0])
tv_index3 = tv_block3.attn.relative_position_index.view(9, 9)  # torchvision's buffer
query = 4  # the centre token, at (1, 1)
yq, xq = divmod(query, 3)
print(f"query {query} at (y, x) = ({yq}, {xq})")
for key in range(9):
    yk, xk = divmod(key, 3)
    dy, dx = yq - yk, xq - xk
    row = (dy + 2) * 5 + (dx + 2)
    print(f"  key {key} at ({yk}, {xk}): offset (dy, dx) = ({dy:+d}, {dx:+d}) -> table row {row:2d};"
          f" torchvision's buffer says {int(tv_index3[query, key]):2d}")
print("torchvision keeps the index in its state_dict:", "attn.relative_position_index" in tv_block3.state_dict())

# %%
M7 = 7
index7 = tv_swin.SwinTransformerBlock(12, 3, [M7, M7], [0, 0]).attn.relative_position_index  # (49*49,)
dy, dx = np.meshgrid(np.arange(-(M7 - 1), M7), np.arange(-(M7 - 1), M7), indexing="ij")
table = torch.tensor(-np.hypot(dy, dx), dtype=torch.float32).reshape(-1)  # a made-up 1-head table: closer = larger
bias = table[index7].view(M7 * M7, M7 * M7)  # B[i, j], looked up exactly as torchvision does

fig, axes = plt.subplots(1, 4, figsize=(15, 3.8))
axes[0].imshow(tv_index3, cmap="viridis")
for i in range(9):
    for j in range(9):
        axes[0].text(j, i, int(tv_index3[i, j]), ha="center", va="center", fontsize=7, color="w")
axes[0].set(title="torchvision's index, M = 3 (9 x 9 pairs -> 25 rows)", xlabel="key j", ylabel="query i")
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
# wide neighbourhood). The index is computed, never learned, so torchvision stores it as a buffer
# that moves with `.to(device)` (and, as printed above, saves it in the `state_dict`); the course's
# contract goes one step further and keeps it out of the `state_dict` (a non-persistent buffer),
# since it can always be rebuilt.
#
# ## 4. Shifted windows: the cyclic shift and the mask, region by region
#
# With fixed windows no information ever crosses a window border. Swin alternates regular blocks
# with **shifted** ones whose windows are displaced by $\lfloor M/2 \rfloor$ tokens. Displacing the
# grid naively creates partial windows at the borders ($\lceil h/M \rceil + 1$ per axis, some tiny).
# Instead Swin **rolls** the map by $-\lfloor M/2\rfloor$ (`torch.roll`) and cuts the usual windows:
# the same number of full windows, one batched computation (Sec. 3.2, Fig. 4). The price: windows
# along the bottom and right edges now contain pieces that were far apart (they wrapped around). A
# mask stops those pieces from attending to each other; after attention the map is rolled back.
#
# Along each axis the rolled map has three strips: $[0, H-M)$, whose windows are whole;
# $[H-M, H-s)$, the part of the last window that did not wrap; and $[H-s, H)$, the $s$ rows (or
# columns) that wrapped around from the other side. Their crossings make 9 regions, and tokens of a
# window may attend to each other only if they share a region.

# %%
SHIFT = M_IMG // 2  # 3 tokens = 24 px
strip = np.digitize(np.arange(GRID), [GRID - M_IMG, GRID - SHIFT])  # 0, 1, 2 along one axis of the rolled grid
region = strip[:, None] * 3 + strip[None, :]  # (28, 28) region of every token of the rolled grid
region_px = np.kron(region, np.ones((PATCH, PATCH), dtype=int))
rolled = np.roll(image, shift=(-SHIFT * PATCH, -SHIFT * PATCH), axis=(0, 1))
colors = plt.cm.tab10(np.arange(9))[:, :3]


def draw_grid(ax, offset: int = 0, color: str = "w") -> None:
    """Window borders in pixels; a shifted block's windows start `offset` px further down and right."""
    for k in range(0, 224, WIN_PX):
        ax.axhline((k + offset) % 224, color=color, lw=1.2)
        ax.axvline((k + offset) % 224, color=color, lw=1.2)


fig, axes = plt.subplots(1, 4, figsize=(16, 4.2))
axes[0].imshow(image)
draw_grid(axes[0])
axes[0].set_title("regular windows (block l)")
axes[1].imshow(image)
draw_grid(axes[1], offset=SHIFT * PATCH, color="y")
axes[1].set_title(f"shifted windows (block l+1): +{SHIFT} tokens")
axes[2].imshow(0.45 * rolled / 255 + 0.55 * colors[region_px])
draw_grid(axes[2])
for r in range(9):
    ys, xs = np.nonzero(region_px == r)
    axes[2].text(xs.mean(), ys.mean(), str(r), color="k", fontsize=12, ha="center", va="center", weight="bold")
axes[2].set_title(f"rolled by -{SHIFT} tokens: 9 regions")
back_regions = np.roll(region_px, shift=(SHIFT * PATCH, SHIFT * PATCH), axis=(0, 1))
axes[3].imshow(0.45 * image / 255 + 0.55 * colors[back_regions])
draw_grid(axes[3], offset=SHIFT * PATCH, color="y")
axes[3].set_title("the regions, rolled back")
for ax in axes:
    ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# Only the windows in the last row or last column of the rolled grid mix regions. To see the mask
# torchvision really uses, take a shifted `ShiftedWindowAttention`, set its projections and bias
# table to zero (every score is then 0), and let the `Recorder` catch what goes into the softmax:
# nothing but the mask is left, $0$ where a query may attend to a key and $-100$ where it may not.

# %%
masked_attn = tv_swin.ShiftedWindowAttention(16, [M_IMG, M_IMG], [SHIFT, SHIFT], num_heads=2).eval()
with torch.no_grad():
    for p in (masked_attn.qkv.weight, masked_attn.qkv.bias, masked_attn.relative_position_bias_table):
        p.zero_()
    with Recorder(torch.ops.aten._softmax) as rec:
        masked_attn(torch.randn(1, GRID, GRID, 16))
mask = rec.calls[0][1][0][:, 0]  # (windows, 49, 49), head 0: the scores are the mask alone
print(f"scores caught: {tuple(rec.calls[0][1][0].shape)} (windows, heads, queries, keys); values {mask.unique().tolist()}")

fig, axes = plt.subplots(1, 4, figsize=(15, 3.8))
for ax, w in zip(axes, (0, 3, 12, 15), strict=True):
    ax.imshow(mask[w], cmap="gray", vmin=-100, vmax=0)
    r, c = divmod(w, n_side)
    inside = sorted(set(region[r * M_IMG:(r + 1) * M_IMG, c * M_IMG:(c + 1) * M_IMG].ravel().tolist()))
    ax.set(title=f"window {w}: regions {inside}", xlabel="key token", ylabel="query token")
plt.suptitle("torchvision's shifted-window masks (white = may attend, black = -100)")
plt.tight_layout()
plt.show()
print(f"windows whose mask blocks something: {int((mask != 0).flatten(1).any(1).sum())} of {mask.shape[0]}")

# %% [markdown]
# ### Why $-100$ works, and where it would not
#
# The mask is **added** to the scores before the softmax. A key with $-100$ added gets weight
# $e^{s-100}/\sum e^{s'} \le e^{-100+\Delta}$, where $\Delta$ is the spread of the real scores:
# negligible for any reasonable $\Delta$. A finite value also keeps every intermediate finite:
# with $-\infty$, a row whose keys were *all* masked would compute $-\infty - (-\infty) =$ NaN. In
# Swin that cannot happen (every query shares its region with itself), so $-\infty$ would work as
# well; $-100$ is simply the reference code's choice. It is not a half-precision necessity either:
# float16 holds values down to $-65504$, so even $-10^4$ fits. Measured on scores with a typical
# spread, and on scores a hundred times larger:

# %%
torch.manual_seed(0)
window_mask = mask[:16]
v = torch.randn(16, 49, 8)
blocked = window_mask < 0
for spread in (3.0, 300.0):
    scores = spread * torch.randn(16, 49, 49)
    w_100 = (scores + window_mask).softmax(-1)
    w_inf = (scores + torch.where(blocked, -math.inf, 0.0)).softmax(-1)
    print(f"score spread {spread:>5}: largest weight on a blocked key {w_100[blocked].max().item():.1e}; "
          f"max |out(-100) - out(-inf)| = {(w_100 @ v - w_inf @ v).abs().max().item():.1e}")
half = torch.finfo(torch.float16)
print(f"float16: largest finite value {half.max:.0f}; -1e4 in float16 is {torch.tensor(-1e4, dtype=torch.float16).item():.0f} "
      f"(finite); the softmax in float16 gives a blocked key weight "
      f"{(torch.tensor([0.0, -100.0], dtype=torch.float16)).softmax(-1)[1].item():.1f}")
print(f"what does overflow in float16: adding two masks of its most negative value, "
      f"{(torch.tensor(half.min, dtype=torch.float16) + torch.tensor(half.min, dtype=torch.float16)).item()}")

# %% [markdown]
# With scores spread over a few units the $-100$ mask gives the same output as $-\infty$ to float32
# precision; only scores spread over hundreds of units would let a blocked key through. In half precision $e^{-100}$
# underflows to exactly 0. The genuine overflow risk in low precision is elsewhere: libraries that
# mask with the dtype's most negative value must not add two such masks.
#
# ## 5. Interactive: whom may a token attend to?
#
# Pick a token (row, column on the $28 \times 28$ token grid) and a block type. The picture is
# computed by torchvision itself: nudge the chosen input token and see which outputs of its
# `ShiftedWindowAttention` change. (Reach is symmetric here: "sharing a window and a region" is.) In
# a regular block a token attends to the 49 tokens of its window; in a shifted block to the tokens of
# its **shifted** window that also share its region. Try a token near the bottom-right corner: in
# the shifted block its window wraps around the image, and the mask keeps only its real neighbours.

# %%
reach_attn = {shifted: tv_swin.ShiftedWindowAttention(16, [M_IMG, M_IMG], [SHIFT * shifted] * 2, num_heads=2).eval()
              for shifted in (False, True)}
reach_x = torch.randn(1, GRID, GRID, 16)


def reach(row: int, col: int, shifted: bool) -> np.ndarray:
    """(28, 28) bool: the outputs of torchvision's attention that change when input token (row, col) changes."""
    nudged = reach_x.clone()
    nudged[0, row, col] += 1.0
    with torch.no_grad():
        change = (reach_attn[shifted](nudged) - reach_attn[shifted](reach_x)).abs().amax(-1)[0]
    return (change > 1e-6).numpy()


def show_reach(row: int = 26, col: int = 26, shifted: bool = True) -> None:
    ok = reach(row, col, shifted)
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
# ## 6. What the shift and the relative position bias each buy
#
# The paper ablates both on Swin-T (Table 4: ImageNet-1K top-1, COCO with Cascade Mask R-CNN,
# ADE20K with UperNet):
#
# | Swin-T variant (Table 4) | ImageNet top-1 | COCO AP$^\text{box}$ | COCO AP$^\text{mask}$ | ADE20K mIoU |
# | --- | --- | --- | --- | --- |
# | w/o shifting | 80.2 | 47.7 | 41.5 | 43.3 |
# | shifted windows (= rel. pos.) | **81.3** | **50.5** | **43.7** | **46.1** |
# | no pos. | 80.1 | 49.2 | 42.6 | 43.8 |
# | abs. pos. | 80.5 | 49.0 | 42.4 | 43.2 |
# | abs. + rel. pos. | 81.3 | 50.2 | 43.4 | 44.0 |
# | rel. pos. without the $QK^\top$ term ("w/o app.") | 79.3 | 48.2 | 41.9 | 44.1 |
#
# The shift is worth +1.1 top-1, +2.8 box AP, +2.2 mask AP and +2.8 mIoU (Sec. 4.4); the relative
# position bias +1.2 top-1 over no position information and +0.8 over ViT's absolute embedding, with
# larger gains on the dense tasks; adding the absolute embedding on top of the bias hurts detection
# and segmentation. Both matter most where the output is a map. Cyclic shifting also costs little:
# Table 5 measures the whole network 13 % (Swin-T) to 18 % (Swin-S, Swin-B) faster with the cyclic
# shift than with padded shifted windows.
#
# **Measured: what the shift buys, in connectivity.** Stack torchvision's `SwinTransformerBlock`s on
# the $28 \times 28$ token grid and ask autograd which input tokens can influence one output token
# (a non-zero gradient means a path exists). Without the shift the answer stays one window, however
# deep the stack; with the shift alternating, the reach grows with every block.

# %%
def reach_after(depth: int, shifted: bool, row: int = 13, col: int = 13) -> np.ndarray:
    """(28, 28) bool: input tokens with a gradient path to output token (row, col) through `depth` blocks."""
    torch.manual_seed(depth)
    blocks = nn.Sequential(*[tv_swin.SwinTransformerBlock(16, 2, [M_IMG, M_IMG], [SHIFT * int(shifted and i % 2)] * 2)
                             for i in range(depth)]).eval()
    x = torch.randn(1, GRID, GRID, 16, requires_grad=True)
    blocks(x)[0, row, col].sum().backward()
    return (x.grad[0].abs().amax(-1) > 0).numpy()


depths = (1, 2, 3, 4)
reaches = {(d, s): reach_after(d, s) for d in depths for s in (False, True)}
print(f"{'blocks':>6} | {'tokens reaching (13, 13): no shift':>34} | {'with the shift alternating':>26}")
for d in depths:
    print(f"{d:>6} | {int(reaches[d, False].sum()):>34} | {int(reaches[d, True].sum()):>26}")
fig, axes = plt.subplots(1, 4, figsize=(13, 3.4))
for ax, (d, s) in zip(axes, [(4, False), (2, True), (3, True), (4, True)], strict=True):
    ax.imshow(reaches[d, s], cmap="Blues")
    ax.plot(13, 13, "r*", ms=10)
    ax.set_title(f"{d} blocks, {'shifted' if s else 'no shift'}: {int(reaches[d, s].sum())} tokens", fontsize=9)
    ax.set_xticks(np.arange(-0.5, GRID, M_IMG), minor=False)
    ax.set_yticks(np.arange(-0.5, GRID, M_IMG), minor=False)
    ax.grid(True, color="gray", lw=0.5)
    ax.set_xticklabels([])
    ax.set_yticklabels([])
plt.suptitle("input tokens that can influence output token (13, 13) (grid lines: the regular windows)", fontsize=10)
plt.tight_layout()
plt.show()

# %% [markdown]
# **Measured: what the bias buys.** Swin has no absolute position embedding, so inside a window the
# bias is the only thing that tells attention *where* a token is. Without it, window attention is
# blind to order: shuffle the tokens inside every window (the same shuffle in each) and the outputs
# are merely shuffled the same way. With a bias table, the outputs change.

# %%
torch.manual_seed(0)
wmsa = tv_swin.ShiftedWindowAttention(16, [M_IMG, M_IMG], [0, 0], num_heads=2).eval()
x = torch.randn(1, GRID, GRID, 16)
perm = torch.randperm(M_IMG * M_IMG)


# For every grid position: which position its token comes from after the shuffle (same window, shuffled place).
ys, xs = np.divmod(np.arange(GRID * GRID), GRID)
moved = perm.numpy()[(ys % M_IMG) * M_IMG + xs % M_IMG]  # the within-window place the token is taken from
source = torch.from_numpy((ys - ys % M_IMG + moved // M_IMG) * GRID + (xs - xs % M_IMG + moved % M_IMG))


def shuffle_windows(t: torch.Tensor) -> torch.Tensor:
    """The same permutation of the 49 tokens inside every 7 x 7 window (t: (1, 28, 28, C)), by gathering."""
    return t.flatten(1, 2)[:, source].reshape(t.shape)


with torch.no_grad():
    for label, table_std in (("no bias (table = 0)", 0.0), ("a bias table (std 1)", 1.0)):
        wmsa.relative_position_bias_table.normal_(0, 1).mul_(table_std)
        gap = (wmsa(shuffle_windows(x)) - shuffle_windows(wmsa(x))).abs().max().item()
        print(f"{label:>21}: max |attend(shuffled) - shuffled(attend)| = {gap:.1e}")

# %% [markdown]
# ## 7. Patch merging, the hierarchy and the Swin family
#
# Between stages Swin halves the resolution and doubles the width: **patch merging** concatenates
# each $2 \times 2$ neighbourhood into $4C$ channels, normalises, and projects to $2C$ with a linear
# layer: the transformer's version of a stride-2 convolution. torchvision does the gathering in a
# small private helper, `_patch_merging_pad` (it also pads odd sizes with a zero row or column). On a
# map of token numbers:

# %%
numbers = torch.arange(16.0).reshape(1, 4, 4, 1)
gathered = tv_swin._patch_merging_pad(numbers)  # torchvision's own gathering step
print("a 4x4 map of token numbers:\n", numbers[0, ..., 0].long().numpy())
print("torchvision's 2x2 gathering: 2x2 positions, 4 channels each (the order is part of the contract):\n",
      gathered[0].long().numpy())
odd = tv_swin._patch_merging_pad(torch.arange(1.0, 26.0).reshape(1, 5, 5, 1))
print(f"a 5x5 map becomes {tuple(odd.shape[1:3])}: the missing row and column are zeros, e.g. position (2, 2) holds "
      f"{odd[0, 2, 2].long().tolist()}")

# %% [markdown]
# Four stages give feature maps at strides 4, 8, 16, 32, exactly the pyramid a CNN backbone (ResNet)
# hands to a detector (FPN, Mask R-CNN) or a segmentation head (UPerNet). A ViT keeps one resolution
# (stride 16) everywhere. On PyTorch's `meta` device (shapes only, no arithmetic), Swin-T's stages:

# %%
with torch.device("meta"):  # shapes only: no weights are allocated, nothing is computed
    swin = swin_t(weights=None).eval()
    shapes = []
    hooks = [layer.register_forward_hook(lambda m, i, o, n=name: shapes.append((n, type(m).__name__, tuple(o.shape))))
             for name, layer in swin.features.named_children()]
    swin(torch.empty(1, 3, 224, 224))
for h in hooks:
    h.remove()
print("swin_t on a 224 x 224 image (features are channels-last (B, H, W, C)):")
for name, kind, shape in shapes:
    print(f"  features[{name}] {kind:<14} -> {shape}")

# %% [markdown]
# The paper builds a family of four (Sec. 3.3 and Table 7): the width $C$ of stage 1 and the depth of
# stage 3 change, everything else stays (window $M = 7$, head width $d = 32$, MLP ratio 4).
# torchvision builds Swin-T, -S and -B (`swin_t`, `swin_s`, `swin_b`); Swin-L is the same
# `SwinTransformer` class with the paper's configuration. Parameters and multiply-adds counted from
# the constructors (meta device), next to the paper's Table 1:

# %%
def on_meta(builder, **kwargs) -> nn.Module:
    """Build a model on the meta device: shapes only, no memory, no arithmetic."""
    with torch.device("meta"):
        return builder(**kwargs).eval()


def count(model: nn.Module, res: int = 224) -> tuple[float, float]:
    """(parameters in M, multiply-adds in G) of a meta-device model, for one res x res image."""
    n = sum(p.numel() for p in model.parameters()) / 1e6
    macs = sum(counted_macs(lambda: model(torch.empty(1, 3, res, res, device="meta"))).values()) / 1e9
    return n, macs


def swin_l() -> tv_swin.SwinTransformer:
    """Swin-L as in the paper (Sec. 3.3, Table 7): C = 192, depths {2, 2, 18, 2}; torchvision has no builder for it."""
    return tv_swin.SwinTransformer(patch_size=[4, 4], embed_dim=192, depths=[2, 2, 18, 2], num_heads=[6, 12, 24, 48],
                                   window_size=[7, 7])


family = {"Swin-T": (swin, "29M, 4.5G (Table 1a)"),
          "Swin-S": (on_meta(swin_s, weights=None), "50M, 8.7G (Table 1a)"),
          "Swin-B": (on_meta(swin_b, weights=None), "88M, 15.4G (Table 1a)"),
          "Swin-L": (on_meta(swin_l), "197M (Table 1b, at 384: 103.9G)")}
print(f"{'model':<7} {'C':>4} {'depths':>14} {'heads':>15} | {'params':>8} {'GMACs @224':>11} | paper")
measured = {}
for name, (model, paper) in family.items():
    stages = model.features[1::2]
    widths = [stage[0].attn.qkv.in_features for stage in stages]
    depths_ = [len(stage) for stage in stages]
    heads_ = [stage[0].attn.num_heads for stage in stages]
    measured[name] = count(model)
    print(f"{name:<7} {widths[0]:>4} {str(depths_):>14} {str(heads_):>15} | {measured[name][0]:>7.1f}M "
          f"{measured[name][1]:>11.2f} | {paper}")
print("head width (channels / heads) in every stage:", sorted({w // h for m, _ in family.values()
      for w, h in ((st[0].attn.qkv.in_features, st[0].attn.num_heads) for st in m.features[1::2])}))

# %% [markdown]
# The counted multiply-adds match the paper's "FLOPs" column (4.5G, 8.7G, 15.4G): the paper's
# FLOPs are multiply-adds. The parameter counts agree within a million (Table 1(a) lists Swin-T as
# 29M). Each head is 32 channels wide in every model and stage, so the number of heads is the width
# divided by 32. Swin-L is in Table 1(b) only at $384 \times 384$; Section 8 counts it there.
#
# ## 8. Feature maps whose sides are not multiples of the window
#
# Real maps rarely fit: a detector's $800 \times 1333$ input gives a $200 \times 333$ map at stride 4,
# and Swin-B at $384 \times 384$ pixels gives $96 \times 96$ tokens, not a multiple of 7. The paper
# pads: "bottom-right padding is employed on the feature map if needed" (Sec. 3.2, footnote 4).
# torchvision's `shifted_window_attention` does exactly that, in four steps you will implement in
# the assignment: pad the (already normalised) map with zeros at the bottom and right to multiples of
# $M$; shift only along axes that then hold more than one window; attend; crop back. Two consequences
# can be measured. First, padding is all there is to it: torchvision's output on a $5 \times 10$ map
# equals its output on the same map zero-padded by hand to $7 \times 14$, cropped:

# %%
torch.manual_seed(0)
pad_attn = tv_swin.ShiftedWindowAttention(16, [7, 7], [3, 3], num_heads=2).eval()
x = torch.randn(1, 5, 10, 16)
with torch.no_grad(), Recorder(torch.ops.aten._softmax) as rec:
    direct = pad_attn(x)
    by_hand = pad_attn(F.pad(x, (0, 0, 0, 4, 0, 2)))[:, :5, :10]
print(f"max |torchvision(5 x 10) - crop(torchvision(zero-padded to 7 x 14))| = {(direct - by_hand).abs().max().item():.1e}")

# %% [markdown]
# Second, the padded tokens are **not masked**: they are zero vectors, so their keys are just the
# key bias, and real queries attend to them like to any other token. The `Recorder` caught the
# scores of that run; how much weight do the real queries of the $7 \times 14$ map give to padding?

# %%
scores = rec.calls[0][1][0]  # (2 windows, 2 heads, 49 queries, 49 keys)
rolled_real = torch.roll(F.pad(torch.ones(1, 5, 10), (0, 4, 0, 2)), shifts=(0, -3), dims=(1, 2))  # shift along W only
is_real = rolled_real.reshape(1, 7, 2, 7).permute(0, 2, 1, 3).reshape(2, 49).bool()  # window order of torchvision
weights = scores.softmax(-1)
on_padding = (weights * (~is_real)[:, None, None, :]).sum(-1)  # (windows, heads, queries)
real_queries = is_real[:, None, :].expand_as(on_padding)
print(f"padded tokens: {int((~is_real).sum())} of {is_real.numel()} positions; real queries put "
      f"{100 * on_padding[real_queries].mean().item():.0f} % of their attention on them on average "
      f"(random weights; a trained network learns what to do with them)")

# %% [markdown]
# And padding costs compute. Swin-B at $384 \times 384$ with $M = 7$ pads its stage maps from 96, 48,
# 24, 12 tokens to 98, 49, 28, 14; the authors' 384-pixel models instead use $M = 12$, which divides
# every stage (microsoft/Swin-Transformer, `configs/swin/swin_base_patch4_window12_384_finetune.yaml`
# and `configs/swin_large_patch4_window12_384.yaml`). Counted:

# %%
for name, width, window in (("Swin-B", 128, 7), ("Swin-B", 128, 12), ("Swin-L", 192, 12)):
    params, macs = count(on_meta(tv_swin.SwinTransformer, patch_size=[4, 4], embed_dim=width, depths=[2, 2, 18, 2],
                                 num_heads=[width // 32 * 2**k for k in range(4)], window_size=[window, window]), res=384)
    padded = [-(-s // window) * window for s in (96, 48, 24, 12)]
    print(f"{name} at 384 x 384, M = {window:>2}: stage maps [96, 48, 24, 12] -> {padded}; {macs:6.1f} G multiply-adds, "
          f"{params:.1f}M parameters")
print("paper, Table 1: Swin-B at 384 x 384: 88M, 47.0G FLOPs (1a); Swin-L at 384 x 384: 197M, 103.9G FLOPs (1b)")

# %% [markdown]
# The Swin authors' classification code takes a third route for maps *smaller* than a window: it
# shrinks the window to the map and turns the shift off (`SwinTransformerBlock.__init__` in
# microsoft/Swin-Transformer, `models/swin_transformer.py`). torchvision pads instead, and that is
# the behaviour the assignment's `PaddedSwinBlock` reproduces.
#
# ## 9. Swin next to ViT, measured
#
# Count the multiply-adds of the full torchvision models at two resolutions (meta device again).
# ViT-B/16 is built for each resolution (`image_size`); Swin-T takes any size (it pads where needed).

# %%
n_vit, vit224 = count(on_meta(vit_b_16, weights=None), 224)
_, vit448 = count(on_meta(vit_b_16, weights=None, image_size=448), 448)
_, swin448 = count(swin, 448)
print(f"{'model':<10} {'params':>8} {'tokens @224':>12} {'GMACs @224':>11} {'GMACs @448':>11} {'growth':>7}")
for name, n, toks, a, b in (("Swin-T", measured["Swin-T"][0], "3136 -> 49", measured["Swin-T"][1], swin448),
                            ("ViT-B/16", n_vit, "196 + cls", vit224, vit448)):
    print(f"{name:<10} {n:>7.1f}M {toks:>12} {a:>11.2f} {b:>11.2f} {b / a:>6.1f}x")

# %% [markdown]
# | | ViT | Swin |
# | --- | --- | --- |
# | tokens | one resolution, $16 \times 16$-pixel patches, plus a class token | $4 \times 4$-pixel patches, merged stage by stage (stride 4 -> 32) |
# | attention | global: every token sees every token from layer 1 | local windows; shifted windows connect neighbours; reach grows with depth and merging (Section 6) |
# | cost in the number of tokens | quadratic (Eq. 1) | linear (Eq. 2) |
# | position information | learned absolute embedding (interpolated for new sizes) | relative position bias inside windows |
# | other sizes | positional embedding must be interpolated | pads to whole windows (Section 8) |
# | typical use | classification, large-scale pre-training (CLIP, MAE), whole-image tasks | backbone for detection and segmentation (multi-scale features for FPN / UPerNet), dense prediction at high resolution |
#
# Doubling the resolution multiplies the tokens by 4: Swin's cost grows about 4x (linear), ViT's by
# more than 4x because its $(hw)^2$ term grows 16x (the measured growth above). Swin's locality is
# also a prior, like a CNN's, and it is what makes high-resolution feature maps affordable.
#
# **Next:** the assignment has you implement the cost formulas, `window_partition`,
# `window_reverse`, the relative position index, the shifted-window mask, `WindowAttention`,
# `PatchMerging`, a full `SwinBlock`, and a `PaddedSwinBlock` for maps of any size, and check that
# your blocks compute what torchvision's `SwinTransformerBlock` computes with the same weights.
