# %% [markdown]
# # Day 1: the attention formula
#
# $$\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}\right) V$$
#
# Everything in this course, from Squeeze-and-Excitation to the Swin Transformer, is a variation
# on this one line. Today we take it apart:
#
# 1. queries, keys and values as a **soft dictionary lookup**;
# 2. dot products as similarity, and **softmax** (and why it must be computed stably);
# 3. why we divide by $\sqrt{d_k}$, **measured**;
# 4. attention as a **weighted average**, on the pixels of a real photograph;
# 5. **masks**: padding and causal;
# 6. what it **costs**: $O(n^2 d)$, measured as $n$ grows.
#
# The assignment (`day1_attention`) asks you to implement `softmax`,
# `scaled_dot_product_attention` and `causal_mask` yourself.

# %%
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"
print(f"torch {torch.__version__}; device: {device}" + ("" if device == "cuda" else " (no GPU: everything today runs on CPU)"))
plt.rcParams.update({"figure.dpi": 90, "axes.titlesize": 10})

# %% [markdown]
# ## 1. A soft dictionary lookup
#
# A Python dictionary maps a **query** to the **value** whose **key** matches it exactly. Attention
# relaxes "matches exactly" into "matches to some degree": every key gets a weight that grows with
# its similarity to the query, the weights sum to 1, and the answer is the weighted average of all
# the values.
#
# | | hard lookup | attention |
# |---|---|---|
# | match | `key == query` (0 or 1) | $w_j = \mathrm{softmax}_j(q \cdot k_j)$, in $(0, 1)$ |
# | answer | one value | $\sum_j w_j v_j$ |
# | differentiable? | no | yes: gradients reach $q$, every $k_j$ and every $v_j$ |
#
# Below, four keys are points in the plane and each carries a scalar value. A query near key 2
# gets an answer close to value 2; a query between keys blends their values.

# %%
keys = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]]) * 3
values = torch.tensor([10.0, 20.0, 30.0, 40.0])
for query in ([0.0, 3.0], [2.0, 2.0], [0.0, 0.0]):
    q = torch.tensor(query)
    w = torch.softmax(keys @ q, dim=0)
    print(f"query {query}: weights {np.round(w.numpy(), 3)} -> answer {float(w @ values):.2f}")

# %% [markdown]
# The query `[0, 3]` points at key 2 (value 20) and gets almost all the weight; `[2, 2]` sits
# between keys 1 and 2 and averages their values; `[0, 0]` is equally similar to every key and
# gets the plain mean, 25.

# %% [markdown]
# ## 2. Softmax, and why it must be computed stably
#
# $$\mathrm{softmax}(x)_i = \frac{e^{x_i}}{\sum_j e^{x_j}} = \frac{e^{x_i - m}}{\sum_j e^{x_j - m}} \quad\text{for any constant } m.$$
#
# The two forms are equal in exact arithmetic: multiplying numerator and denominator by $e^{-m}$
# changes nothing. In floating point they are not: `float32` overflows at $e^{88.7}$. Choosing
# $m = \max_j x_j$ makes every exponent $\le 0$, so nothing overflows and at least one term is 1.

# %%
def naive_softmax(x: torch.Tensor) -> torch.Tensor:
    return x.exp() / x.exp().sum(-1, keepdim=True)


def stable_softmax(x: torch.Tensor) -> torch.Tensor:
    e = (x - x.amax(-1, keepdim=True)).exp()
    return e / e.sum(-1, keepdim=True)


for scale in (1.0, 50.0, 100.0, 1000.0):
    x = torch.tensor([1.0, 2.0, 3.0]) * scale
    print(f"logits {x.tolist()}: naive {naive_softmax(x).tolist()}  stable {np.round(stable_softmax(x).tolist(), 4).tolist()}")

# %% [markdown]
# As soon as a logit passes about 88.7, the naive version returns `nan` (it computes `inf / inf`). The
# stable one is exact. A masked entry is a logit of $-\infty$: $e^{-\infty - m} = 0$ exactly, which
# is how masks will remove keys in section 5.

# %% [markdown]
# ## 3. Why divide by $\sqrt{d_k}$? Measured
#
# If the entries of $q$ and $k$ are independent with mean 0 and variance 1, then
# $q \cdot k = \sum_{i=1}^{d} q_i k_i$ is a sum of $d$ terms of variance 1, so
# $\mathrm{Var}(q \cdot k) = d$. The scores grow like $\sqrt{d}$, the softmax saturates (one weight
# near 1, the rest near 0) and its gradient vanishes. Dividing by $\sqrt{d}$ restores variance 1
# whatever the width. Let us measure all three claims.

# %%
dims = [4, 16, 64, 256, 1024]
n_keys, trials = 32, 2000
rows = []
for d in dims:
    q = torch.randn(trials, 1, d)
    k = torch.randn(trials, n_keys, d)
    raw = (q @ k.transpose(-2, -1)).squeeze(1)  # (trials, n_keys)
    for label, scores in (("raw", raw), ("scaled", raw / math.sqrt(d))):
        scores = scores.clone().requires_grad_(True)
        w = torch.softmax(scores, -1)
        (w * torch.randn_like(w)).sum().backward()  # a random upstream gradient
        rows.append(
            dict(d=d, kind=label, var=scores.var().item(), max_w=w.max(-1).values.mean().item(),
                 grad=scores.grad.norm(dim=-1).mean().item())
        )

print(f"{'d':>5} {'scores':>7} {'Var(score)':>11} {'mean max weight':>16} {'|grad|':>9}")
for r in rows:
    print(f"{r['d']:>5} {r['kind']:>7} {r['var']:>11.1f} {r['max_w']:>16.3f} {r['grad']:>9.4f}")

fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
for kind, style in (("raw", "o-"), ("scaled", "s--")):
    sel = [r for r in rows if r["kind"] == kind]
    axes[0].loglog(dims, [r["var"] for r in sel], style, label=kind)
    axes[1].semilogx(dims, [r["max_w"] for r in sel], style, label=kind)
    axes[2].loglog(dims, [r["grad"] for r in sel], style, label=kind)
axes[0].loglog(dims, dims, ":", color="gray", label="y = d")
axes[0].set(title="variance of q·k", xlabel="d")
axes[1].set(title=f"largest of {n_keys} softmax weights", xlabel="d", ylim=(0, 1.05))
axes[2].set(title="gradient norm through softmax", xlabel="d")
for ax in axes:
    ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# What the measurement shows: the raw variance follows $y = d$ exactly; the scaled one stays at 1.
# Without scaling, at $d = 1024$ the largest of 32 weights averages above 0.9 (the softmax has
# become an argmax) and the gradient that flows back through it is an order of magnitude smaller.
# With scaling, the weights and the gradients look the same at every width.

# %% [markdown]
# ## 4. Attention as a weighted average, on a real photograph
#
# Cut a photograph into $8 \times 8$ patches and treat each patch as a token. Its **key** and
# **value** are its mean colour (a 3-vector); a **query** is the colour of one chosen patch. The
# weights $\mathrm{softmax}(q \cdot k_j / \tau)$ over all patches form a heatmap: where in the image
# is a colour like this one? The temperature $\tau$ plays the role of $\sqrt{d_k}$: small $\tau$
# gives sharp, nearly one-hot weights; large $\tau$ spreads them out.
#
# Colours are centred (mean subtracted) so that the dot product measures agreement in colour,
# not brightness alone.

# %%
import ipywidgets as widgets
from matplotlib import cbook

image = plt.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)).astype(np.float32) / 255.0
patch = 8
H, W = (image.shape[0] // patch) * patch, (image.shape[1] // patch) * patch
img = torch.from_numpy(image[:H, :W])  # (H, W, 3)
gh, gw = H // patch, W // patch
tokens = img.reshape(gh, patch, gw, patch, 3).mean(dim=(1, 3)).reshape(-1, 3)  # (N, 3) mean colour per patch
keys_img = (tokens - tokens.mean(0)) / tokens.std(0)
print(f"image {image.shape[:2]} -> {gh} x {gw} = {gh * gw} patch tokens of width 3")


def attend(row: int, col: int, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    query = keys_img[row * gw + col]
    weights = torch.softmax(keys_img @ query / temperature, dim=0)
    answer = weights @ tokens  # the weighted average of the values (colours)
    return weights.reshape(gh, gw), answer


def show(row: int = 20, col: int = 30, temperature: float = 1.0) -> None:
    weights, answer = attend(row, col, temperature)
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6), gridspec_kw={"width_ratios": [4, 4, 1]})
    axes[0].imshow(img)
    axes[0].add_patch(plt.Rectangle((col * patch, row * patch), patch, patch, fill=False, color="lime", lw=2))
    axes[0].set_title("query patch (green)")
    axes[1].imshow(img)
    axes[1].imshow(weights, cmap="inferno", alpha=0.75, extent=(0, W, H, 0))
    axes[1].set_title(f"attention weights, τ = {temperature:.2f} (max {weights.max():.3f})")
    axes[2].imshow(answer.reshape(1, 1, 3).clamp(0, 1).numpy())
    axes[2].set_title("weighted\naverage colour")
    for ax in axes:
        ax.axis("off")
    plt.tight_layout()
    plt.show()


show()  # a static picture for readers without a live kernel
widgets.interactive(
    show,
    row=widgets.IntSlider(20, 0, gh - 1, description="query row"),
    col=widgets.IntSlider(30, 0, gw - 1, description="query col"),
    temperature=widgets.FloatLogSlider(value=1.0, base=10, min=-1.5, max=1, step=0.05, description="τ"),
)

# %% [markdown]
# Move the query onto the uniform, the skin or the background: the heatmap lights up every
# patch of a similar colour, anywhere in the image. That is the property that makes attention
# global: distance plays no role, only content. Turn $\tau$ down and the weights collapse onto the
# few most similar patches; turn it up and they spread out until the answer is the image's mean
# colour.

# %% [markdown]
# ## 5. Masks: padding and causal
#
# A boolean mask says which keys a query **may** attend to (True = may attend, as in
# `torch.nn.functional.scaled_dot_product_attention`). Implementation: set the excluded scores to
# $-\infty$ before the softmax; their weights become exactly 0 and the others renormalise.
#
# * **Padding mask**: sequences of different lengths are padded to the same length; no query
#   may attend to the padding. Shape `(B, 1, L_k)` broadcasts over the queries.
# * **Causal mask**: in a model that generates a sequence left to right, position $i$ may see
#   positions $\le i$ only: a lower-triangular `(L, L)` matrix.

# %%
def attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


L, d = 8, 16
q, k, v = torch.randn(2, L, d), torch.randn(2, L, d), torch.randn(2, L, d)
lengths = torch.tensor([8, 5])
padding = (torch.arange(L)[None, :] < lengths[:, None])[:, None, :]  # (B, 1, L): key j is real
causal = torch.ones(L, L, dtype=torch.bool).tril()

fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
for ax, (title, mask, b) in zip(
    axes, [("no mask", None, 1), ("padding mask (sequence of length 5)", padding, 1), ("causal mask", causal, 0)]
):
    _, w = attention(q, k, v, mask)
    ax.imshow(w[b].numpy(), cmap="viridis", vmin=0, vmax=w[b].max().item())
    ax.set(title=title, xlabel="key position", ylabel="query position")
plt.tight_layout()
plt.show()

out, w = attention(q, k, v, causal)
reference = F.scaled_dot_product_attention(q, k, v, attn_mask=causal)
print("weights on masked keys:", w[..., ~causal].abs().max().item(), "| rows sum to", w.sum(-1).mean().item())
print("max |ours - F.scaled_dot_product_attention| =", (out - reference).abs().max().item())
print("same as is_causal=True:", torch.allclose(out, F.scaled_dot_product_attention(q, k, v, is_causal=True), atol=1e-6))

# %% [markdown]
# The padded columns (keys 5 to 7 of the second sequence) are black, the causal matrix is
# lower-triangular, and our twelve-line function agrees with PyTorch's fused kernel to float
# rounding.

# %% [markdown]
# ### A pitfall from the wild: "regularising" the mean attention weight
#
# Some tutorials add the mean attention weight to the loss, "to encourage sparse attention". Every
# row of softmax weights sums to 1, so the mean over $L_k$ keys is exactly $1/L_k$ whatever the
# scores: the term is a constant, its gradient is zero, and it changes nothing. Measured:

# %%
scores = torch.randn(4, 6, 10, requires_grad=True)
mean_weight = torch.softmax(scores, dim=-1).mean()
mean_weight.backward()
print(f"mean attention weight = {mean_weight.item():.6f} (1/L_k = {1 / 10:.6f}); "
      f"largest |gradient| it sends to the scores: {scores.grad.abs().max().item():.1e}")

# %% [markdown]
# To make attention sparser you must penalise something that depends on the weights'
# *distribution*, for example their entropy $-\sum_j w_j \log w_j$, or lower the temperature.

# %% [markdown]
# ## 6. What attention costs: $O(n^2 d)$, measured
#
# The score matrix $QK^\top$ has $n \times n$ entries, each a dot product of width $d$:
# $n^2 d$ multiply-adds, and $n^2$ numbers to store per head. Doubling the sequence length
# quadruples both. We time the plain version and PyTorch's fused
# `F.scaled_dot_product_attention` as $n$ grows (on this machine's device).

# %%
def timed(fn, repeats: int = 5) -> float:
    """Best of `repeats` runs: the minimum is the least disturbed by other work on the machine."""
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


d = 64
sizes = [256, 512, 1024, 2048, 4096]
plain_t, fused_t = [], []
with torch.no_grad():
    for n in sizes:
        q, k, v = (torch.randn(1, n, d, device=device) for _ in range(3))
        plain_t.append(timed(lambda: attention(q, k, v)))
        fused_t.append(timed(lambda: F.scaled_dot_product_attention(q, k, v)))

print(f"{'n':>6} {'plain (ms)':>11} {'fused (ms)':>11} {'weights (MiB, fp32)':>20}")
for n, a, b in zip(sizes, plain_t, fused_t):
    print(f"{n:>6} {a * 1e3:>11.2f} {b * 1e3:>11.2f} {n * n * 4 / 2**20:>20.1f}")
ratios = ", ".join(f"{b / a:.1f}x" for a, b in zip(plain_t, plain_t[1:]))
print(f"plain version, time ratio per doubling of n: {ratios}  (pure n^2 arithmetic would give 4x)")
print(f"multiply-adds in QK^T and weights@V at n = {sizes[-1]}: 2 n^2 d = {2 * sizes[-1] ** 2 * d / 1e9:.2f} G")

plt.figure(figsize=(5, 3.4))
plt.loglog(sizes, plain_t, "o-", label="plain (materialises n×n weights)")
plt.loglog(sizes, fused_t, "s-", label="F.scaled_dot_product_attention")
ref = np.array(sizes, dtype=float) ** 2
plt.loglog(sizes, plain_t[-1] * ref / ref[-1], ":", color="gray", label="∝ n²")
plt.xlabel("sequence length n")
plt.ylabel("seconds per call")
plt.legend()
plt.title(f"attention time, d = {d}, {device}")
plt.gca().xaxis.set_minor_formatter(plt.NullFormatter())
plt.tight_layout()
plt.show()

# %% [markdown]
# Read the ratios printed above. For small $n$, fixed overheads (dispatch, allocation) dominate
# and doubling $n$ costs less than 4x. Once the arithmetic dominates, each doubling costs about 4x,
# the $n^2$ line. When the $n \times n$ matrix no longer fits in the CPU's caches, the plain version
# can do worse than 4x: it writes the whole matrix to memory and reads it back, and memory is
# slower than arithmetic. (On a busy machine timings are noisy, which is why we keep the best of
# five runs.) The operation count is exact whatever the machine: $2n^2d$ multiply-adds.
#
# The fused kernel is faster and, more importantly on a GPU, never stores the $n \times n$
# matrix. This quadratic cost is the reason Day 6's Swin Transformer
# restricts attention to windows: a $224 \times 224$ image cut into $4 \times 4$ patches is already
# 3,136 tokens.
#
# ## Summary
#
# * Attention is a differentiable lookup: weights from query-key similarity, output a weighted
#   average of values.
# * Softmax needs the max-subtraction trick; masked scores are $-\infty$ and get weight 0.
# * Dividing by $\sqrt{d_k}$ keeps the score variance at 1, the softmax unsaturated and the gradients
#   alive, at every width (measured above).
# * Cost is $O(n^2 d)$ time and $O(n^2)$ memory per head.
#
# Now open the assignment `day1_attention` and build these pieces yourself.
