# %% [markdown]
# # Day 1: the attention formula
#
# $$\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}\right) V$$
#
# Days 4 to 7 (self- and cross-attention, the Vision Transformer, the Swin Transformer) are built
# on this one line. Days 2 and 3 (Squeeze-and-Excitation, CBAM) share its idea, weights computed
# from the input that decide what to keep, but use sigmoid gates instead of a softmax over keys.
# Today we take the formula apart:
#
# 1. queries, keys and values as a **soft dictionary lookup**;
# 2. **softmax**, and why it must be computed stably;
# 3. why we divide by $\sqrt{d_k}$, **measured**;
# 4. attention as a **weighted average** on the pixels of a real photograph, and what a dot
#    product really rewards (compared with cosine similarity);
# 5. **masks**: padding and causal; and a popular loss term that does nothing;
# 6. what it **costs**: $O(n^2 d)$, measured as $n$ grows.
#
# The lesson uses PyTorch's own `torch.softmax` and `F.scaled_dot_product_attention`. In the
# assignment (`day1_attention`) you write `softmax`, `scaled_dot_product_attention`,
# `causal_mask` and `padded_attention` yourself.

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
LESSON_START = time.perf_counter()

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
# changes nothing. In floating point they are not: $e^x$ overflows to `inf` once $x$ passes
# $\ln(\text{largest float})$. Choosing $m = \max_j x_j$ makes every exponent $\le 0$, so nothing
# overflows and at least one term is exactly 1.
#
# Below, the first form is evaluated as written on `float32` tensors, and compared with PyTorch's
# `torch.softmax` (which subtracts the maximum internally).

# %%
overflow_at = math.log(torch.finfo(torch.float32).max)
print(f"float32: exp(x) is inf for x > {overflow_at:.2f}")
for scale in (1.0, 50.0, 100.0, 1000.0):
    x = torch.tensor([1.0, 2.0, 3.0]) * scale
    as_written = x.exp() / x.exp().sum()
    print(f"logits {x.tolist()}: as written {as_written.tolist()}  torch.softmax {np.round(torch.softmax(x, 0).tolist(), 4).tolist()}")

# %% [markdown]
# As soon as a logit passes the printed threshold, the formula as written returns `nan` (it
# computes `inf / inf`); `torch.softmax` is exact. Here is the same trick for **one row of plain
# Python numbers**, a loop you can follow by hand (in the assignment you write it for tensors, along
# any dimension):

# %%
def softmax_of_one_row(logits: list[float]) -> list[float]:
    """Softmax of one row of Python floats, shifting every exponent by the row's largest logit."""
    largest = max(logits)
    numerators = []
    for z in logits:
        numerators.append(math.exp(z - largest))  # z - largest <= 0: never overflows
    total = sum(numerators)  # >= 1: the largest logit contributes exp(0) = 1
    return [n / total for n in numerators]


row = [1000.0, 2000.0, 3000.0, -math.inf]
print("by hand:      ", [round(p, 4) for p in softmax_of_one_row(row)])
print("torch.softmax:", [round(p, 4) for p in torch.softmax(torch.tensor(row), 0).tolist()])
print("a masked logit: exp(-inf) =", math.exp(-math.inf))

# %% [markdown]
# A masked entry is a logit of $-\infty$: $e^{-\infty - m} = 0$ exactly, which is how masks will
# remove keys in section 5.

# %% [markdown]
# ## 3. Why divide by $\sqrt{d_k}$? Measured
#
# If the entries of $q$ and $k$ are independent with mean 0 and variance 1, then
# $q \cdot k = \sum_{i=1}^{d} q_i k_i$ is a sum of $d$ terms of variance 1, so
# $\mathrm{Var}(q \cdot k) = d$. The scores grow like $\sqrt{d}$, the softmax saturates (one weight
# near 1, the rest near 0) and the gradient that flows back through it shrinks. Dividing by
# $\sqrt{d}$ restores variance 1 whatever the width.
#
# The measurement: 2,000 random queries, each scored against 32 random keys, at widths $d$ from 4
# to 1024, with raw scores $q \cdot k$ and scaled scores $q \cdot k / \sqrt{d}$. For each we record
# the variance of the scores, the largest softmax weight (averaged over queries), the norm of the
# gradient that reaches the **scores** through the softmax (for the same random upstream gradient on
# the weights, averaged over queries), and how many of the 32 keys receive a gradient larger than
# $10^{-3}$.

# %%
dims = [4, 16, 64, 256, 1024]
n_keys, trials = 32, 2000
rows = []
for d in dims:
    q = torch.randn(trials, 1, d)
    k = torch.randn(trials, n_keys, d)
    upstream = torch.randn(trials, n_keys)  # the same random upstream gradient for both kinds of scores
    raw = (q @ k.transpose(-2, -1)).squeeze(1)  # (trials, n_keys)
    for label, scores in (("raw", raw), ("scaled", raw / math.sqrt(d))):
        scores = scores.clone().requires_grad_(True)
        w = torch.softmax(scores, -1)
        (w * upstream).sum().backward()
        rows.append(
            dict(d=d, kind=label, var=scores.var().item(), max_w=w.max(-1).values.mean().item(),
                 grad=scores.grad.norm(dim=-1).mean().item(),
                 keys_with_grad=(scores.grad.abs() > 1e-3).float().sum(-1).mean().item())
        )

print(f"{'d':>5} {'scores':>7} {'Var(score)':>11} {'predicted':>10} {'mean max weight':>16} {'|grad|':>8} {'keys with grad':>15}")
for r in rows:
    predicted = r["d"] if r["kind"] == "raw" else 1  # Var(q.k) = d; dividing by sqrt(d) divides it by d
    print(f"{r['d']:>5} {r['kind']:>7} {r['var']:>11.1f} {predicted:>10} {r['max_w']:>16.3f} "
          f"{r['grad']:>8.4f} {r['keys_with_grad']:>15.1f}")
at = {(r["d"], r["kind"]): r for r in rows}
big = dims[-1]
print(f"\nat d = {big}: the largest of {n_keys} raw-score weights averages {at[big, 'raw']['max_w']:.3f} "
      f"(scaled: {at[big, 'scaled']['max_w']:.3f});")
print(f"the gradient reaching the raw scores is {at[big, 'scaled']['grad'] / at[big, 'raw']['grad']:.1f}x smaller "
      f"than the one reaching the scaled scores, and it reaches {at[big, 'raw']['keys_with_grad']:.1f} keys "
      f"of {n_keys} on average (scaled: {at[big, 'scaled']['keys_with_grad']:.1f}).")

fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
for kind, style in (("raw", "o-"), ("scaled", "s--")):
    sel = [r for r in rows if r["kind"] == kind]
    axes[0].loglog(dims, [r["var"] for r in sel], style, label=kind)
    axes[1].semilogx(dims, [r["max_w"] for r in sel], style, label=kind)
    axes[2].loglog(dims, [r["grad"] for r in sel], style, label=kind)
axes[0].loglog(dims, dims, ":", color="gray", label="y = d")
axes[0].set(title="variance of the scores", xlabel="d")
axes[1].set(title=f"largest of {n_keys} softmax weights", xlabel="d", ylim=(0, 1.05))
axes[2].set(title="norm of the gradient reaching the scores", xlabel="d")
for ax in axes:
    ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# What the measurement shows (the numbers are printed above): the variance of the raw scores
# follows the prediction $d$ and that of the scaled scores stays at 1, within sampling noise.
# Without scaling, at $d = 1024$ the softmax has nearly become an argmax, the gradient reaching the
# scores is several times smaller (the printed ratio), and it reaches about one key per query on
# average: the keys that lost hardly learn. With scaling, the weights and the gradients look the
# same at every width.
#
# One thing this does *not* show: the gradient with respect to $q$ itself is not smaller for raw
# scores, because raw scores are $\sqrt{d}$ times more sensitive to $q$. What the saturated softmax
# loses is the comparison between keys, not the size of every gradient.

# %% [markdown]
# ## 4. Attention as a weighted average, on a real photograph
#
# Cut a photograph into $8 \times 8$ patches and treat each patch as a token. Its **value** is its
# mean colour (a 3-vector); its **key** is that colour **standardised**: minus the mean colour of
# the image, divided by the standard deviation of each channel. A **query** is the key of one
# chosen patch. The weights $\mathrm{softmax}(q \cdot k_j / \tau)$ over all patches form a heatmap;
# the temperature $\tau$ plays the role of $\sqrt{d_k}$: small $\tau$ gives sharp, nearly one-hot
# weights; large $\tau$ spreads them out.
#
# What does a dot product reward? $q \cdot k = \lVert q\rVert\,\lVert k\rVert \cos\theta$: it grows
# with the angle's cosine **and** with the key's length. The keys that win are not the colours most
# like the query's but the ones that lie **furthest along the query's direction** from the mean
# colour: the most extreme patches on that side. Cosine similarity $\cos\theta$ removes the
# length and ranks keys by direction only. The right-hand map uses it, rescaled to the same spread
# over the image (standard deviation across patches) as the dot products, so that at the same
# $\tau$ the two maps differ in which patches they favour, not in the size of their scores. Each
# heatmap's colours run from 0 to its own largest weight (printed in its title).

# %%
import ipywidgets as widgets
from matplotlib import cbook

image = plt.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)).astype(np.float32) / 255.0
patch = 8
H, W = (image.shape[0] // patch) * patch, (image.shape[1] // patch) * patch
img = torch.from_numpy(image[:H, :W])  # (H, W, 3)
gh, gw = H // patch, W // patch
tokens = img.reshape(gh, patch, gw, patch, 3).mean(dim=(1, 3)).reshape(-1, 3)  # (N, 3) mean colour per patch
keys_img = (tokens - tokens.mean(0)) / tokens.std(0)  # standardised: mean 0, std 1 per channel
print(f"image {image.shape[:2]} -> {gh} x {gw} = {gh * gw} patch tokens of width 3")


def scores_for(row: int, col: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Dot-product and cosine scores of one query patch against every patch (cosine rescaled to the same spread)."""
    query = keys_img[row * gw + col]
    dot = keys_img @ query
    cosine = F.cosine_similarity(keys_img, query[None, :], dim=-1)
    return dot, cosine * (dot.std() / cosine.std())


def show(row: int = 20, col: int = 30, temperature: float = 1.0) -> None:
    dot, cosine = scores_for(row, col)
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.6), gridspec_kw={"width_ratios": [4, 4, 4, 1]})
    axes[0].imshow(img)
    axes[0].add_patch(plt.Rectangle((col * patch, row * patch), patch, patch, fill=False, color="lime", lw=2))
    axes[0].set_title("query patch (green)")
    answers = []
    for ax, (name, scores) in zip(axes[1:3], (("dot product", dot), ("cosine similarity", cosine))):
        weights = torch.softmax(scores / temperature, dim=0)
        answers.append(weights @ tokens)  # the weighted average of the values (colours)
        ax.imshow(img)
        ax.imshow(weights.reshape(gh, gw), cmap="inferno", alpha=0.75, extent=(0, W, H, 0))
        ax.set_title(f"{name}, τ = {temperature:.2f} (max {weights.max():.3f})")
    swatches = torch.stack([tokens[row * gw + col]] + answers).reshape(3, 1, 3)
    axes[3].imshow(swatches.clamp(0, 1).numpy())
    axes[3].set_title("query colour,\naverage (dot),\naverage (cosine)", fontsize=8)
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
# Measured for the default query (row 20, column 30): where does the query's **own** patch rank
# among all patches, how far in colour are the 20 top-scoring patches from the query's colour, and
# over how many patches do the weights spread at $\tau = 1$ (the effective number
# $1 / \sum_j w_j^2$: $N$ for uniform weights, 1 for a one-hot row)?

# %%
row, col = 20, 30
own = row * gw + col
dot, cosine = scores_for(row, col)
for name, scores in (("dot product", dot), ("cosine", cosine)):
    rank = int((scores > scores[own] + 1e-6).sum()) + 1  # 1 = nothing scores higher than the patch itself
    top = scores.topk(20).indices
    distance = (tokens[top] - tokens[own]).norm(dim=-1).mean().item()
    length = keys_img[top].norm(dim=-1).mean().item()
    spread = 1 / (torch.softmax(scores, dim=0) ** 2).sum().item()
    print(f"{name}: the query's own patch ranks {rank} of {len(scores)}; weights at τ = 1 spread over {spread:.0f} patches")
    print(f"    top 20: mean colour {np.round(tokens[top].mean(0).numpy(), 2)} (query {np.round(tokens[own].numpy(), 2)}), "
          f"{distance:.3f} away in RGB (0-1 scale), key length {length:.2f} (query's {keys_img[own].norm():.2f})")

# %% [markdown]
# Under the dot product, hundreds of patches outscore the query's own patch, and the winners are
# far from its colour and much longer than the query: the most extreme patches in its direction
# (for this skin-coloured query: pure white patches of the shirt, see the printed mean colour), and
# the weights concentrate on few of them. Under cosine similarity the query's own patch comes first, the
# winners are close in colour, and the weights spread over every patch of that hue: cosine has a
# ceiling of 1 that many patches reach, the dot product has none.
# Both maps light up patches anywhere in the image, near or far: attention is global, position plays
# no role, only content. Turn $\tau$ down and the weights collapse onto the few top-scoring
# patches; turn it up and they spread out until the answer is the image's mean colour.
#
# Transformers use the dot product, not the cosine: the learned projections $W_Q, W_K$ can set
# the lengths of queries and keys, and a key's length becomes a learned "salience". (Some models do
# normalise queries and keys, e.g. Swin Transformer V2's scaled cosine attention, Liu et al. 2022,
# Section 3.2.)

# %% [markdown]
# ## 5. Masks: padding and causal
#
# A boolean mask says which keys a query **may** attend to (True = may attend, as in
# `torch.nn.functional.scaled_dot_product_attention`). Its effect: the excluded scores become
# $-\infty$ before the softmax; their weights become exactly 0 and the others renormalise. A
# **float** mask is added to the scores instead (0 keeps a key, $-\infty$ removes it, anything in
# between tilts the weights).
#
# * **Padding mask**: sequences of different lengths are padded to the same length; no query
#   may attend to the padding.
# * **Causal mask**: in a model that generates a sequence left to right, position $i$ may see
#   positions $\le i$ only: a lower-triangular `(L, L)` matrix.
#
# `F.scaled_dot_product_attention` returns only the output $\sum_j w_{ij} v_j$. To see the weights
# themselves we use a small trick: attend over the **identity matrix** as values. Row $i$ of
# $W I$ is row $i$ of $W$.

# %%
def weights_by_identity(q: torch.Tensor, k: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """PyTorch's attention weights for q (..., Lq, d), k (..., Lk, d): attend over the identity as values."""
    n_keys = k.shape[-2]
    identity = torch.eye(n_keys, dtype=q.dtype).expand(*k.shape[:-1], n_keys)  # (..., Lk, Lk)
    return F.scaled_dot_product_attention(q, k, identity, attn_mask=mask)


L, d = 8, 16
q, k, v = torch.randn(L, d), torch.randn(L, d), torch.randn(L, d)  # one sequence, no batch
padding = torch.tensor([True] * 5 + [False] * 3)  # a sequence of 5 real tokens padded to 8: keys 5-7 are padding
causal = torch.ones(L, L, dtype=torch.bool).tril()

fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
for ax, (title, mask) in zip(axes, [("no mask", None), ("padding mask (5 real tokens of 8)", padding), ("causal mask", causal)]):
    w = weights_by_identity(q, k, mask)
    ax.imshow(w.numpy(), cmap="viridis", vmin=0, vmax=w.max().item())
    ax.set(title=title, xlabel="key position", ylabel="query position")
plt.tight_layout()
plt.show()

w = weights_by_identity(q, k, causal)
out = F.scaled_dot_product_attention(q, k, v, attn_mask=causal)
additive = torch.zeros(L, L).masked_fill(~causal, -math.inf)  # the same mask as a float mask
print("weights on masked keys:", w[~causal].abs().max().item(), "| every row sums to 1:",
      torch.allclose(w.sum(-1), torch.ones(L)))
print("out equals weights @ v:", torch.allclose(out, w @ v, atol=1e-6))
print("bool mask = float mask of 0 and -inf:", torch.allclose(out, F.scaled_dot_product_attention(q, k, v, attn_mask=additive), atol=1e-6))
print("bool mask = is_causal=True:", torch.allclose(out, F.scaled_dot_product_attention(q, k, v, is_causal=True), atol=1e-6))

# %% [markdown]
# Weight 0 is the bottom of the colour scale (viridis' dark purple): in the padding panel the key
# columns 5 to 7 are dark purple in every row, and the causal matrix is lower-triangular. The
# printed checks confirm what the figure shows: masked weights are exactly 0, rows sum to 1, the
# output is the weighted average of the values, and the three ways of writing a causal mask agree.
#
# Look again at the padding panel: the **rows** 5 to 7 are queries that sit on padding. They still
# attend to the real keys and produce an output that nothing should use. Masking those rows too
# is not as simple as it sounds: a row in which **every** key is masked is a softmax of $-\infty$
# everywhere.

# %%
nothing_allowed = torch.full((4,), -math.inf)
print("torch.softmax of a row with every key masked:", torch.softmax(nothing_allowed, 0).tolist())
row_mask = torch.ones(L, L, dtype=torch.bool)
row_mask[2] = False  # query 2 may attend to no key at all
print(f"F.scaled_dot_product_attention (torch {torch.__version__}), output of that query:",
      F.scaled_dot_product_attention(q, k, v, attn_mask=row_mask)[2, :4].tolist(), "...")

# %% [markdown]
# The softmax of such a row is $0/0$: `nan` (and `nan` spreads through every later sum it enters,
# forward and backward). `F.scaled_dot_product_attention` returns what is printed above for that
# query (zeros in recent PyTorch versions, which special-case such rows); the formula itself gives
# `nan`, and the course contract leaves such rows unspecified. The assignment's `padded_attention`
# asks you to batch sequences of different lengths so that padding queries produce exactly 0,
# without a single `nan`.

# %% [markdown]
# ### A pitfall from the wild: "regularising" the mean attention weight
#
# Some tutorials add the mean attention weight to the loss, "to encourage sparse attention". It
# cannot work. Each row of weights is a softmax over $L_k$ keys, so it sums to 1; the mean over a
# tensor of shape $(B, h, L_q, L_k)$ is
#
# $$\frac{1}{B\,h\,L_q\,L_k}\sum_{b,h,i}\underbrace{\sum_j w_{bhij}}_{=\,1} = \frac{1}{L_k}$$
#
# whatever the scores: a constant, with gradient zero. Later days (4 and 5) point back here.
# Measured: the term's value at very different scores, its gradient, and what 50 steps of
# gradient descent on it do to the weights, compared with a penalty that does depend on the weights'
# distribution, their entropy $-\sum_j w_j \log w_j$ (low entropy = sparse).

# %%
torch.manual_seed(1)
start_scores = torch.randn(2, 4, 6, 10)  # (B, h, Lq, Lk) scores of a toy attention layer
for spread in (0.1, 1.0, 10.0):
    print(f"scores of scale {spread:>4}: mean attention weight = {torch.softmax(start_scores * spread, -1).mean().item():.6f}")
print(f"1 / L_k = {1 / 10:.6f}")


def mean_weight(w: torch.Tensor) -> torch.Tensor:
    return w.mean()


def mean_entropy(w: torch.Tensor) -> torch.Tensor:
    return -(w * w.clamp_min(1e-12).log()).sum(-1).mean()


history, steps = {}, 50
for penalty in (mean_weight, mean_entropy):
    scores = start_scores.clone().requires_grad_(True)
    optimiser = torch.optim.SGD([scores], lr=4.0)
    largest = []
    for step in range(steps):
        w = torch.softmax(scores, -1)
        largest.append(w.max(-1).values.mean().item())
        optimiser.zero_grad()
        penalty(w).backward()
        if step == 0:
            print(f"{penalty.__name__:>12}: largest |gradient| on the scores at the start {scores.grad.abs().max().item():.1e}")
        optimiser.step()
    history[penalty.__name__] = largest
    print(f"{penalty.__name__:>12}: after {steps} steps the scores moved by at most "
          f"{(scores - start_scores).abs().max().item():.1e}; mean largest weight {largest[0]:.3f} -> {largest[-1]:.3f}")

plt.figure(figsize=(5, 3.2))
for name, largest in history.items():
    plt.plot(largest, label=f"penalty: {name}")
plt.xlabel("gradient step")
plt.ylabel("mean largest weight per row")
plt.title("what each penalty does to the weights")
plt.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# The mean weight is $1/L_k$ at every scale of the scores; its gradient is zero up to float
# rounding (far below what can change a `float32` score near 1), and 50 steps of descent leave
# the scores where they were (the printed change). The entropy penalty has a real gradient and makes
# every row sharper: the largest weight per row grows step after step (the figure). To make attention
# sparser, penalise something that depends on the weights' *distribution* (entropy, or the largest
# weight), or lower the temperature.

# %% [markdown]
# ## 6. What attention costs: $O(n^2 d)$, measured
#
# The score matrix $QK^\top$ has $n \times n$ entries, each a dot product of width $d$:
# $n^2 d$ multiply-adds, and $n^2$ numbers to store per head; $W V$ costs as much again. Doubling
# the sequence length quadruples both. We time PyTorch's two kinds of implementation as $n$ grows
# (on this machine's device):
#
# * the **math** backend, PyTorch's reference implementation, which computes the formula as written
#   and stores the $n \times n$ weights (the pseudo-code in the documentation of
#   `F.scaled_dot_product_attention`); selected with `sdpa_kernel(SDPBackend.MATH)`;
# * the default **fused** kernel, which processes the keys in blocks and never stores the whole
#   matrix (FlashAttention, Dao et al. 2022, Section 3.1; PyTorch picks it, or a similar
#   memory-efficient kernel, when the inputs allow).

# %%
from torch.nn.attention import SDPBackend, sdpa_kernel


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


def math_backend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    with sdpa_kernel(SDPBackend.MATH):
        return F.scaled_dot_product_attention(q, k, v)


d = 64
sizes = [256, 512, 1024, 2048, 4096]
plain_t, fused_t = [], []
with torch.no_grad():
    for n in sizes:
        q, k, v = (torch.randn(1, n, d, device=device) for _ in range(3))
        plain_t.append(timed(lambda: math_backend(q, k, v)))
        fused_t.append(timed(lambda: F.scaled_dot_product_attention(q, k, v)))

print(f"{'n':>6} {'math (ms)':>10} {'fused (ms)':>11} {'weights (MiB, fp32)':>20}")
for n, a, b in zip(sizes, plain_t, fused_t):
    print(f"{n:>6} {a * 1e3:>10.2f} {b * 1e3:>11.2f} {n * n * 4 / 2**20:>20.1f}")
ratios = ", ".join(f"{b / a:.1f}x" for a, b in zip(plain_t, plain_t[1:]))
print(f"math backend, time ratio per doubling of n: {ratios}  (pure n^2 arithmetic would give 4x)")
print(f"fused / math time at n = {sizes[-1]}: {fused_t[-1] / plain_t[-1]:.2f}")
print(f"multiply-adds in QK^T and W V at n = {sizes[-1]}: 2 n^2 d = {2 * sizes[-1] ** 2 * d / 1e9:.2f} G")

plt.figure(figsize=(5, 3.4))
plt.loglog(sizes, plain_t, "o-", label="math backend (stores n×n weights)")
plt.loglog(sizes, fused_t, "s-", label="fused kernel (default)")
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
# and doubling $n$ can cost less than 4x. Once the arithmetic dominates, each doubling costs about
# 4x, the $n^2$ line. When the $n \times n$ matrix no longer fits in the CPU's caches, the math
# backend can do worse than 4x: it writes the whole matrix to memory and reads it back, and memory
# is slower than arithmetic. (On a busy machine timings are noisy, which is why we keep the best of
# five runs.) The operation count is exact whatever the machine: $2n^2d$ multiply-adds.
#
# Compare the two columns for the fused kernel's speed on this machine (the printed fused / math
# ratio). Its larger advantage is memory: it never holds the $n \times n$ matrix, which matters
# most on a GPU. It does not change the $O(n^2 d)$ arithmetic. This quadratic cost is the reason
# Day 6's Swin Transformer restricts attention to windows: a $224 \times 224$ image cut into
# $4 \times 4$ patches is already $56^2 = 3{,}136$ tokens.
#
# ## Summary
#
# * Attention is a differentiable lookup: weights from query-key similarity, output a weighted
#   average of values.
# * Softmax needs the max-subtraction trick; masked scores are $-\infty$ and get weight 0; a row
#   with every key masked is $0/0$.
# * Dividing by $\sqrt{d_k}$ keeps the score variance at 1, the softmax unsaturated and the gradient
#   spread over the keys, at every width (measured above).
# * A dot product rewards keys that lie far along the query's direction, not keys equal to it.
# * The mean attention weight is always $1/L_k$: it cannot be a loss.
# * Cost is $O(n^2 d)$ time and, unless fused, $O(n^2)$ memory per head.
#
# Now open the assignment `day1_attention` and build these pieces yourself.

# %%
print(f"lesson ran in {time.perf_counter() - LESSON_START:.0f} s on {device}")
