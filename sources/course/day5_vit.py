# %% [markdown]
# # Day 5: the Vision Transformer (ViT)
#
# *An Image is Worth 16x16 Words* (Dosovitskiy et al., ICLR 2021) applied the transformer encoder
# of NLP to images with almost no change: cut the image into patches, embed each patch linearly,
# add a learnable position embedding, prepend a class token, and run a stack of pre-norm encoder
# blocks. Today we build it, prove it computes exactly what `torchvision.models.VisionTransformer`
# computes, count what it costs, discuss honestly when it works (data!), and look inside a small
# ViT that we train right here on offline data.
#
# | part | what you will see |
# | --- | --- |
# | 1 | an image as a sequence of patches; patch embedding = a strided convolution (measured) |
# | 2 | class token, position embeddings, the pre-norm block; our ViT = torchvision's ViT (measured) |
# | 3 | parameters and FLOPs of ViT-B/16 by formula, checked against the model; tokens vs. cost |
# | 4 | inductive bias and data: published figures, and a measured ViT vs. CNN vs. hybrid comparison |
# | 5 | inside a trained ViT: attention per layer and head, rollout, position-embedding similarity |
# | 6 | position embeddings at a new resolution |
# | 7 | two errors of the seed material, measured |
#
# Everything runs on a CPU in about a minute. `FULL = True` below trains longer (better pictures).

# %%
import math
import time
from collections import OrderedDict

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from sklearn.datasets import load_digits, load_sample_images
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

try:
    import ipywidgets as widgets

    HAVE_WIDGETS = True
except ImportError:  # the lesson still runs; the explorer shows one static figure instead
    HAVE_WIDGETS = False

FULL = False  # True: 3x more training steps (nicer maps, a few minutes on a CPU)
device = "cuda" if torch.cuda.is_available() else "cpu"
print(f"torch {torch.__version__}, torchvision {torchvision.__version__}; device: {device}"
      + ("" if device == "cuda" else " (no GPU found: everything here is sized for a CPU)"))
torch.manual_seed(0)
np.random.seed(0)
plt.rcParams["figure.dpi"] = 80

# %% [markdown]
# ## 1. An image as a sequence of patches
#
# A transformer consumes a sequence of vectors. ViT makes one from an image
# $x \in \mathbb{R}^{C \times H \times W}$ by cutting it into non-overlapping $p \times p$ patches
# and flattening each:
#
# $$N = \frac{H}{p}\cdot\frac{W}{p} \text{ patches}, \qquad x_n \in \mathbb{R}^{C p^2}.$$
#
# ViT-B/16 on a 224x224 RGB image: $p = 16$, $N = 14 \cdot 14 = 196$ patches of
# $3 \cdot 16 \cdot 16 = 768$ numbers. Here is a real photograph cut that way.

# %%
photo_np = load_sample_images().images[0]  # a photo bundled with scikit-learn (427 x 640 x 3)
photo = torch.from_numpy(np.array(photo_np)).permute(2, 0, 1).float().div(255)[None]
photo = F.interpolate(photo, size=(224, 224), mode="bilinear", antialias=True, align_corners=False)


def patchify(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, N, C*p*p), row-major patches, each flattened in (C, p, p) order."""
    B, C, H, W = images.shape
    p = patch_size
    if H % p or W % p:
        raise ValueError(f"{H}x{W} is not divisible by the patch size {p}")
    x = images.reshape(B, C, H // p, p, W // p, p).permute(0, 2, 4, 1, 3, 5)  # (B, H/p, W/p, C, p, p)
    return x.reshape(B, (H // p) * (W // p), C * p * p)


tokens = patchify(photo, 16)
print("image", tuple(photo.shape), "-> tokens", tuple(tokens.shape))

fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), gridspec_kw={"width_ratios": [1, 1.2, 1.6]})
axes[0].imshow(photo[0].permute(1, 2, 0).clamp(0, 1))
for k in range(0, 225, 16):
    axes[0].axhline(k - 0.5, color="w", lw=0.6)
    axes[0].axvline(k - 0.5, color="w", lw=0.6)
axes[0].set_title("224x224 image, 16x16 patches")
axes[0].axis("off")
tiles = F.pad(tokens[0, 84:112].reshape(28, 3, 16, 16), (2, 2, 2, 2), value=1.0)  # grid rows 6-7, white gaps
tiles = tiles.permute(0, 2, 3, 1).clamp(0, 1)
axes[1].imshow(torch.cat([torch.cat(list(tiles[r * 7:(r + 1) * 7]), dim=1) for r in range(4)], dim=0))
axes[1].set_title("tokens 84-111 (grid rows 6-7), in sequence order")
axes[1].axis("off")
axes[2].imshow(tokens[0], aspect="auto", cmap="gray")
axes[2].set_xlabel("768 numbers per token: channel R (0-255), G, B, each 16x16 row by row")
axes[2].set_ylabel("token n")
axes[2].set_title("the sequence: a (196, 768) matrix")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Patch embedding is a strided convolution
#
# Each patch is mapped linearly to width $D$: $z_n = E\,x_n + b$, $E \in \mathbb{R}^{D \times Cp^2}$.
# A convolution with kernel size $p$ and stride $p$ visits exactly the patches and computes the
# same dot products, if $E$ is its weight `(D, C, p, p)` flattened. This is why the patch order
# `(C, p, p)` matters: it is the order of a convolution weight. Let us measure the agreement.

# %%
conv = nn.Conv2d(3, 768, kernel_size=16, stride=16)
with torch.no_grad():
    by_conv = conv(photo).flatten(2).transpose(1, 2)  # (1, 196, 768)
    by_matmul = patchify(photo, 16) @ conv.weight.reshape(768, -1).T + conv.bias
    wrong_order = photo.reshape(1, 3, 14, 16, 14, 16).permute(0, 2, 4, 3, 5, 1).reshape(1, 196, 768)  # (p, p, C)
    by_wrong = wrong_order @ conv.weight.reshape(768, -1).T + conv.bias
print(f"conv vs patchify+matmul: max |difference| = {(by_conv - by_matmul).abs().max():.2e} (float32 rounding)")
print(f"with patches flattened in (p, p, C) order instead: max |difference| = {(by_conv - by_wrong).abs().max():.2f}")

# %% [markdown]
# ## 2. The model
#
# $$z_0 = [\,x_{cls};\; E x_1;\; \dots;\; E x_N\,] + E_{pos} \in \mathbb{R}^{(N+1) \times D}$$
#
# * **Class token** $x_{cls}$: a learned vector prepended to the sequence. It attends to all
#   patches in every layer; its final state is what the head classifies.
# * **Position embeddings** $E_{pos} \in \mathbb{R}^{(N+1) \times D}$: self-attention is
#   permutation-equivariant, so without them the model sees a bag of patches. ViT *learns* one
#   vector per position (1-D indices; the paper found 2-D-aware variants no better). Add them
#   **after** prepending the class token: there are $N+1$ of them.
# * **Pre-norm encoder block**, $L$ times:
#   $$z' = z + \mathrm{MHSA}(\mathrm{LN}_1(z)), \qquad z'' = z' + \mathrm{MLP}(\mathrm{LN}_2(z')), \qquad
#   \mathrm{MLP}(u) = W_2\,\mathrm{GELU}(W_1 u + b_1) + b_2,\ W_1 \in \mathbb{R}^{4D \times D}.$$
#   The residual stream is never normalised, so gradients have an identity path through all
#   blocks; the original (post-norm) transformer needed careful warm-up to train.
# * **Head**: $\hat y = W_{head}\,\mathrm{LN}(z_L^{0}) + b$ on the class token's final state.
#
# ViT's LayerNorms use $\epsilon = 10^{-6}$. The code below is the whole model.

# %%
class MultiHeadSelfAttention(nn.Module):
    """Day 4's module: qkv -> [q|k|v], scaled dot-product per head, proj; keeps attn_weights."""

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True):
        super().__init__()
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.attn_weights = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, N, C = x.shape
        q, k, v = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        weights = (q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)).softmax(dim=-1)  # (B, h, N, N)
        self.attn_weights = weights.detach()
        return self.proj((weights @ v).transpose(1, 2).reshape(B, N, C))


class PatchEmbedding(nn.Module):
    def __init__(self, img_size: int, patch_size: int, in_chans: int, embed_dim: int):
        super().__init__()
        self.patch_size, self.num_patches = patch_size, (img_size // patch_size) ** 2
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)  # (B, D, H/p, W/p) -> (B, N, D)


class EncoderBlock(nn.Module):
    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = MultiHeadSelfAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))  # pre-norm: normalise the branch input, not the stream
        return x + self.mlp(self.norm2(x))


class VisionTransformer(nn.Module):
    def __init__(self, img_size=224, patch_size=16, in_chans=3, num_classes=1000, embed_dim=768, depth=12,
                 num_heads=12, mlp_ratio=4.0):
        super().__init__()
        self.patch_embed = PatchEmbedding(img_size, patch_size, in_chans, embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.randn(1, self.patch_embed.num_patches + 1, embed_dim) * 0.02)
        self.blocks = nn.ModuleList([EncoderBlock(embed_dim, num_heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.head = nn.Linear(embed_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.norm(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)[:, 0])  # classify the class token

    def attention_maps(self) -> list:
        return [block.attn.attn_weights for block in self.blocks]


# %% [markdown]
# ### The same numbers as torchvision
#
# torchvision's `VisionTransformer` stores the same parameters under other names (its attention is
# an `nn.MultiheadAttention` whose `in_proj_weight` is stacked `[q | k | v]` like our `qkv`; its MLP
# has dropouts at indices 2 and 4). Copy random weights over (torchvision starts its head and class
# token at zero, which would hide mistakes) and compare logits.

# %%
def vit_names(depth: int) -> dict:
    """Our parameter names -> torchvision's."""
    names = {"patch_embed.proj.weight": "conv_proj.weight", "patch_embed.proj.bias": "conv_proj.bias",
             "cls_token": "class_token", "pos_embed": "encoder.pos_embedding",
             "norm.weight": "encoder.ln.weight", "norm.bias": "encoder.ln.bias",
             "head.weight": "heads.head.weight", "head.bias": "heads.head.bias"}
    block = {"norm1": "ln_1", "norm2": "ln_2", "attn.qkv.weight": "self_attention.in_proj_weight",
             "attn.qkv.bias": "self_attention.in_proj_bias", "attn.proj": "self_attention.out_proj",
             "mlp.0": "mlp.0", "mlp.2": "mlp.3"}
    for i in range(depth):
        for ours, theirs in block.items():
            suffixes = [""] if ours.endswith(("weight", "bias")) else [".weight", ".bias"]
            for s in suffixes:
                names[f"blocks.{i}.{ours}{s}"] = f"encoder.layers.encoder_layer_{i}.{theirs}{s}"
    return names


tv = torchvision.models.VisionTransformer(image_size=32, patch_size=8, num_layers=3, num_heads=4, hidden_dim=64,
                                          mlp_dim=256, num_classes=10).eval()
with torch.no_grad():
    for p in tv.parameters():
        p.copy_(torch.randn_like(p) * (p.shape[-1] ** -0.5 if p.dim() > 1 else 0.3))
ours = VisionTransformer(img_size=32, patch_size=8, num_classes=10, embed_dim=64, depth=3, num_heads=4).eval()
state = tv.state_dict()
ours.load_state_dict({a: state[b] for a, b in vit_names(3).items()}, strict=True)
x = torch.randn(4, 3, 32, 32)
with torch.no_grad():
    diff = (ours(x) - tv(x)).abs().max().item()
print(f"our ViT vs torchvision's, same random weights: max |logit difference| = {diff:.2e}")

# %% [markdown]
# ## 3. What ViT-B/16 costs
#
# **Parameters** ($C=3$, $p=16$, $D=768$, $L=12$, MLP width $4D$, $K=1000$ classes, $N=196$):
#
# $$\underbrace{C p^2 D + D}_{\text{patch embedding}} + \underbrace{D}_{cls} + \underbrace{(N+1) D}_{pos}
# + L\big(\underbrace{3D^2 + 3D}_{qkv} + \underbrace{D^2 + D}_{proj} + \underbrace{8D^2 + 5D}_{MLP}
# + \underbrace{4D}_{2\,LN}\big) + \underbrace{2D}_{LN} + \underbrace{DK + K}_{head}$$
#
# **Multiply-accumulates** per image (1 MAC = 2 FLOPs), per block on $T = N+1$ tokens:
# $3TD^2$ (qkv) $+\ T^2D$ (scores) $+\ T^2D$ (weights x values) $+\ TD^2$ (proj) $+\ 8TD^2$ (MLP),
# i.e. $12TD^2 + 2T^2D$; plus $N C p^2 D$ for the patch embedding and $DK$ for the head.
# We check both formulas against the model itself, built on PyTorch's `meta` device (shapes
# only, no memory) and run under `FlopCounterMode`, which counts every matrix product.

# %%
def vit_params(C=3, p=16, D=768, L=12, N=196, K=1000, r=4):
    block = (3 * D * D + 3 * D) + (D * D + D) + (2 * r * D * D + r * D + D) + 4 * D
    return C * p * p * D + D + D + (N + 1) * D + L * block + 2 * D + D * K + K


def vit_macs(C=3, p=16, D=768, L=12, N=196, K=1000, r=4):
    T = N + 1
    return N * C * p * p * D + L * ((4 + 2 * r) * T * D * D + 2 * T * T * D) + D * K


with torch.device("meta"):
    vit_b = VisionTransformer()  # defaults: ViT-B/16
    tv_b = torchvision.models.vit_b_16()
    with FlopCounterMode(display=False) as counter:
        vit_b(torch.empty(1, 3, 224, 224))
counted = {str(k).replace("aten.", ""): v for k, v in counter.get_flop_counts()["Global"].items()}
print(f"parameters: formula {vit_params():,} | our model {sum(p.numel() for p in vit_b.parameters()):,} "
      f"| torchvision vit_b_16 {sum(p.numel() for p in tv_b.parameters()):,}")
print(f"GMACs per 224x224 image: formula {vit_macs() / 1e9:.3f} | counted {counter.get_total_flops() / 2e9:.3f} "
      f"(FLOPs by op: {counted})")
print(f"attention-score share (2T^2D per block): {12 * 2 * 197**2 * 768 / vit_macs():.1%} of the MACs at 224x224")

# %% [markdown]
# ### Tokens grow with resolution squared, attention with tokens squared
#
# $N = (H/p)^2$: halving the patch size or doubling the side multiplies the tokens by 4; the
# linear layers grow with $N$, the attention scores with $N^2$. The table and figure use the
# formula (checked above); the last plot is measured: forward time of a small ViT on this CPU.

# %%
print(f"{'resolution':>10} {'patch':>5} {'tokens':>7} {'GMACs':>8} {'attention share':>16}")
for res, p in [(224, 32), (224, 16), (224, 8), (384, 16), (448, 16), (512, 16)]:
    n = (res // p) ** 2
    total = vit_macs(p=p, N=n)
    print(f"{res:>10} {p:>5} {n:>7} {total / 1e9:>8.1f} {12 * 2 * (n + 1) ** 2 * 768 / total:>16.1%}")

sides = np.arange(64, 1025, 32)
fig, axes = plt.subplots(1, 2, figsize=(13, 4))
for p in (8, 16, 32):
    n = (sides // p) ** 2
    axes[0].plot(sides, [vit_macs(p=p, N=int(k)) / 1e9 for k in n], label=f"ViT-B/{p}")
    axes[0].plot(sides, [12 * 2 * (int(k) + 1) ** 2 * 768 / 1e9 for k in n], ls="--", color=axes[0].lines[-1].get_color())
axes[0].set(xlabel="image side (pixels)", ylabel="GMACs per image", yscale="log",
            title="ViT-B cost by formula (dashed: attention scores only)")
axes[0].legend()

measured = []
for side in (32, 64, 96, 128, 192):
    n = (side // 8) ** 2
    model_at = VisionTransformer(img_size=side, patch_size=8, num_classes=10, embed_dim=192, depth=2, num_heads=3).eval()
    xb = torch.randn(2, 3, side, side)
    with torch.no_grad():
        model_at(xb)  # warm-up
        start = time.perf_counter()
        for _ in range(2):
            model_at(xb)
    measured.append((n + 1, (time.perf_counter() - start) / 2 * 1000))
t_tok, t_ms = zip(*measured)
axes[1].plot(t_tok, t_ms, "o-")
axes[1].set(xlabel="tokens N+1", ylabel="ms per batch of 2 (measured)", xscale="log", yscale="log",
            title="measured: a 2-block ViT (D=192) on this machine")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 4. Inductive bias and data: what the papers measured
#
# A convolution builds in two assumptions about images: **locality** (a unit sees a small
# neighbourhood) and **translation equivariance** (the same filter everywhere). ViT keeps almost
# none: only the patch grid, and position embeddings that start random. Everything else (which
# patches are neighbours, that edges look the same everywhere) must be learned from data. The
# published numbers show exactly that trade-off; they do **not** support "ViT generalises better
# than CNNs on small data":
#
# | model | trained on | ImageNet top-1 | source |
# | --- | --- | --- | --- |
# | ViT-B/16 | ImageNet-1k (1.3M images) | 77.9 % | Dosovitskiy et al. 2021, Table 5 |
# | ViT-L/16 | ImageNet-1k | 76.5 % (*worse* than B: overfits) | same |
# | ViT-B/16 | ImageNet-21k (14M) | 84.0 % | same |
# | ViT-L/16 | JFT-300M (300M) | 87.1 % | same |
# | BiT-L (ResNet-152x4) | JFT-300M | 87.5 % | same, Table 2 |
# | DeiT-B (= ViT-B/16) | ImageNet-1k, 300 epochs, strong augmentation + regularisation | 81.8 % | Touvron et al. 2021 |
# | torchvision `vit_b_16` `IMAGENET1K_V1` | ImageNet-1k, DeiT-style recipe | 81.1 % | torchvision model docs |
#
# The paper's own summary (Sec. 4.2, Fig. 3-4): on ImageNet-sized data, ViTs underperform
# comparable ResNets; with 14M-300M images they match or beat them. DeiT closes the gap on
# ImageNet-1k alone with heavy augmentation (RandAugment, Mixup, CutMix, random erasing),
# stochastic depth and long training (and distillation from a CNN teacher for its best numbers).
#
# **"ViT is 4x more efficient"** is a distortion of a specific claim: pre-trained on JFT-300M
# and judged by transfer accuracy, ViT "uses approximately 2-4x less compute to attain the same
# performance" as the paper's ResNets (Sec. 4.4), i.e. *pre-training* compute at very large scale.
# It says nothing about small data, inference speed or memory; at 224x224, ViT-B/16 needs
# 17.6 GMACs per image (counted above), about 4x a ResNet-50 (4.1 GMACs).
#
# ### Measured here: ViT vs. CNN vs. hybrid on 1,400 handwritten digits
#
# scikit-learn's bundled digits (8x8 grey scans, 1,797 images; no download) are tiny, so we can
# train three models with the **same optimiser, number of steps and data** on this CPU, once with
# all 1,400 training images and once with 20 % of them:
#
# * **ViT**: patch size 2 (a 4x4 grid of 16 tokens), $D=48$, 3 blocks, 3 heads;
# * **CNN**: two 3x3 convolutions, ~20k parameters;
# * **hybrid**: a small convolutional stem (two 3x3 convolutions, the second with stride 2) makes
#   the 4x4 grid of tokens, then the same transformer. A convolutional stem gives the tokens local
#   features before attention sees them; Xiao et al. (*Early Convolutions Help Transformers See
#   Better*, NeurIPS 2021) found it makes ViT training far less sensitive to the optimiser,
#   learning rate and weight decay, and converge faster. ViT's paper already had "hybrid" models
#   built on ResNet features.

# %%
digits = load_digits()
images = torch.tensor(digits.images, dtype=torch.float32)[:, None] / 16.0  # (1797, 1, 8, 8) in [0, 1]
labels = torch.tensor(digits.target)
order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
train_idx, test_idx = order[:1400], order[1400:]
MEAN, STD = images[train_idx].mean().item(), images[train_idx].std().item()
normalise = lambda t: (t - MEAN) / STD
STEPS = 1200 if FULL else 400


def shift(x: torch.Tensor) -> torch.Tensor:
    """Augmentation: move each digit by up to one pixel (zero padding), a cheap translation prior."""
    padded = F.pad(x, (1, 1, 1, 1))
    dy, dx = np.random.randint(0, 3, size=2)
    return padded[..., dy:dy + x.shape[-2], dx:dx + x.shape[-1]]


def train(model: nn.Module, idx: torch.Tensor, steps: int = STEPS, lr: float = 6e-3, batch: int = 64) -> dict:
    """AdamW with a one-cycle schedule; returns test accuracy, loss curve and time."""
    threads = torch.get_num_threads()
    if device == "cpu":
        torch.set_num_threads(1)  # these matrices are tiny: one thread beats synchronising several
    model = model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.2)
    gen = torch.Generator().manual_seed(1)
    curve, start = [], time.perf_counter()
    model.train()
    for _ in range(steps):
        pick = idx[torch.randint(len(idx), (batch,), generator=gen)]
        xb, yb = normalise(shift(images[pick])).to(device), labels[pick].to(device)
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        curve.append(loss.item())
    model.eval()
    with torch.no_grad():
        acc = (model(normalise(images[test_idx]).to(device)).argmax(1).cpu() == labels[test_idx]).float().mean().item()
    torch.set_num_threads(threads)
    return {"acc": acc, "curve": curve, "seconds": time.perf_counter() - start}


class HybridViT(VisionTransformer):
    """A ViT whose tokens come from a small convolutional stem instead of a single patch projection."""

    def __init__(self, embed_dim=48, depth=3, num_heads=3, num_classes=10):
        super().__init__(img_size=8, patch_size=2, in_chans=1, num_classes=num_classes, embed_dim=embed_dim,
                         depth=depth, num_heads=num_heads, mlp_ratio=2.0)
        self.patch_embed.proj = nn.Sequential(  # 8x8 -> 4x4 grid, like patch size 2
            nn.Conv2d(1, 24, 3, padding=1), nn.BatchNorm2d(24), nn.ReLU(),
            nn.Conv2d(24, embed_dim, 3, stride=2, padding=1))


def make(kind: str) -> nn.Module:
    torch.manual_seed(0)
    if kind == "ViT":
        return VisionTransformer(img_size=8, patch_size=2, in_chans=1, num_classes=10, embed_dim=48, depth=3,
                                 num_heads=3, mlp_ratio=2.0)
    if kind == "hybrid":
        return HybridViT()
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


results, models = {}, {}
small_idx = train_idx[: len(train_idx) // 5]
RUNS = [("ViT", "100%"), ("ViT", "20%"), ("CNN", "100%"), ("CNN", "20%"), ("hybrid", "100%")]
if FULL:
    RUNS.append(("hybrid", "20%"))
for kind, fraction in RUNS:
    models[kind, fraction] = make(kind)
    results[kind, fraction] = train(models[kind, fraction], train_idx if fraction == "100%" else small_idx)

print(f"{'model':>7} {'params':>8} {'acc, 1400 imgs':>15} {'acc, 280 imgs':>14} {'seconds':>8}")
for kind in ("ViT", "CNN", "hybrid"):
    n_params = sum(p.numel() for p in models[kind, "100%"].parameters())
    runs = [results.get((kind, f)) for f in ("100%", "20%")]
    accs = [f"{r['acc']:.1%}" if r else "(FULL only)" for r in runs]
    print(f"{kind:>7} {n_params:>8,} {accs[0]:>15} {accs[1]:>14} {sum(r['seconds'] for r in runs if r):>8.1f}")

fig, ax = plt.subplots(figsize=(8, 3.5))
smooth = lambda c: np.convolve(c, np.ones(15) / 15, mode="valid")
for (kind, fraction), r in results.items():
    ax.plot(smooth(r["curve"]), label=f"{kind}, {fraction} of the data", ls="-" if fraction == "100%" else "--")
ax.set(xlabel="step", ylabel="training loss (smoothed)", yscale="log", title="same optimiser, same steps")
ax.legend(ncol=3, fontsize=8)
plt.show()

# %% [markdown]
# Read the table for what it is: one seed, one tiny dataset, 400 steps (when this lesson was
# written: CNN 98 %, hybrid 97 %, plain ViT 82 % with all the data; CNN 95 %, ViT 66 % with 280
# images; your numbers may differ slightly with the hardware). The pattern is the
# one the papers report: the CNN, whose architecture already "knows" locality, is the most accurate
# with the fewest parameters and loses little when the data shrinks; the plain ViT lags after the
# same number of steps, because it must first *learn* which patches are neighbours (its loss curve
# stays flat for a while); the convolutional stem closes most of the gap. With 300 million images
# the order changes (table above); with 1,400 digits it does not.
#
# ## 5. Looking inside a trained ViT
#
# From here on we study the ViT trained on all 1,400 digits. `model.attention_maps()` returns
# every block's weights `(B, h, N+1, N+1)`; token 0 is the class token, tokens 1..16 the 4x4
# patch grid (row-major).
#
# ### Attention per layer and head
#
# Row 0 of each map says where the class token looks. Pick a digit, a layer, a head and the
# query token (0 = class token, else a patch) in the explorer.

# %%
vit = models["ViT", "100%"].cpu().eval()
GRID = 4
sample = normalise(images[test_idx[:12]])
with torch.no_grad():
    predictions = vit(sample).argmax(1)
maps = vit.attention_maps()  # list of (12, 3, 17, 17)


def upsample(grid_values: torch.Tensor) -> np.ndarray:
    """A (GRID*GRID,) vector of patch values as an 8x8 picture (each patch covers 2x2 pixels)."""
    return grid_values.reshape(GRID, GRID).repeat_interleave(2, 0).repeat_interleave(2, 1).numpy()


def show_attention(digit: int = 0, layer: int = 2, head: int = 0, query: int = 0) -> None:
    weights = maps[layer][digit, head, query]  # (17,)
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.3))
    axes[0].imshow(images[test_idx[digit], 0], cmap="gray_r")
    axes[0].set_title(f"digit {labels[test_idx[digit]].item()} (predicted {predictions[digit].item()})")
    if query > 0:
        r, c = divmod(query - 1, GRID)
        axes[0].add_patch(plt.Rectangle((2 * c - 0.5, 2 * r - 0.5), 2, 2, fill=False, ec="red", lw=2))
    axes[1].imshow(upsample(weights[1:]), cmap="magma")
    axes[1].set_title(f"layer {layer}, head {head}: where token {query} looks\n"
                      f"(weight on the class token: {weights[0]:.2f})")
    axes[2].imshow(maps[layer][digit, head], cmap="magma")
    axes[2].set(title="the full (17, 17) map", xlabel="key token", ylabel="query token")
    for a in axes[:2]:
        a.axis("off")
    plt.tight_layout()
    plt.show()


if HAVE_WIDGETS:
    widgets.interact(show_attention, digit=widgets.IntSlider(0, 0, 11), layer=widgets.IntSlider(2, 0, len(maps) - 1),
                     head=widgets.IntSlider(0, 0, maps[0].shape[1] - 1), query=widgets.IntSlider(0, 0, GRID * GRID))
else:
    show_attention()

# %% [markdown]
# All layers and heads at once, for the class token of one digit: early layers spread their
# attention, later ones concentrate on the strokes that distinguish the class.

# %%
digit = 3
fig, axes = plt.subplots(len(maps), maps[0].shape[1] + 1, figsize=(2.2 * (maps[0].shape[1] + 1), 2.2 * len(maps)))
for layer, weights in enumerate(maps):
    axes[layer, 0].imshow(images[test_idx[digit], 0], cmap="gray_r")
    axes[layer, 0].set_ylabel(f"layer {layer}")
    for head in range(weights.shape[1]):
        axes[layer, head + 1].imshow(upsample(weights[digit, head, 0, 1:]), cmap="magma")
        axes[layer, head + 1].set_title(f"head {head}", fontsize=9)
for a in axes.ravel():
    a.set_xticks([])
    a.set_yticks([])
plt.suptitle("class-token attention over the 4x4 patches, per layer and head")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Attention rollout
#
# A later layer mixes tokens that are already mixtures, so one layer's map is not "where the
# model looks". Rollout (Abnar & Zuidema, ACL 2020) multiplies the layers, with the residual path
# modelled as the identity: per layer $\hat A_\ell = \mathrm{rownorm}\big(\tfrac12(\bar A_\ell + I)\big)$
# with $\bar A_\ell$ the mean over heads, and $R = \hat A_L \cdots \hat A_1$. Row 0 of $R$ estimates
# how much each input patch flows into the class token. It is a heuristic (it ignores the MLPs
# and the values), but a cheap and usually sensible one.

# %%
def attention_rollout(attentions: list) -> torch.Tensor:
    result = None
    for weights in attentions:
        a = weights.mean(dim=1)
        a = (a + torch.eye(a.shape[-1])) / 2
        a = a / a.sum(dim=-1, keepdim=True)
        result = a if result is None else a @ result  # the later layer acts last: on the left
    return result


rollout = attention_rollout(maps)  # (12, 17, 17)
fig, axes = plt.subplots(3, 8, figsize=(14, 5.6))
for i in range(8):
    axes[0, i].imshow(images[test_idx[i], 0], cmap="gray_r")
    axes[0, i].set_title(f"{labels[test_idx[i]].item()} -> {predictions[i].item()}", fontsize=9)
    axes[1, i].imshow(upsample(maps[-1][i, :, 0, 1:].mean(0)), cmap="magma")
    axes[2, i].imshow(upsample(rollout[i, 0, 1:]), cmap="magma")
axes[1, 0].set_ylabel("last layer,\nhead mean")
axes[2, 0].set_ylabel("rollout")
for a in axes.ravel():
    a.set_xticks([])
    a.set_yticks([])
plt.suptitle("class token: last-layer attention vs. rollout through all layers")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Position-embedding similarity: the grid of grids
#
# For each patch position $i$ draw the cosine similarity of its embedding with every other
# position's, $\cos(E_{pos}^{(i)}, E_{pos}^{(j)})$, arranged on the patch grid. At
# initialisation the embeddings are independent random vectors: every tile shows a single bright
# pixel (similar only to itself). After training, nearby positions have learned similar
# embeddings, and rows and columns appear: the model has *learned* the 2-D layout that a CNN
# is given for free. ViT's paper (Fig. 7) shows the same on ImageNet at 14x14.

# %%
def position_similarity(pos_embed: torch.Tensor, grid: int) -> np.ndarray:
    e = F.normalize(pos_embed[0, 1:].detach(), dim=-1)  # drop the class token's embedding
    return (e @ e.T).reshape(grid, grid, grid, grid).numpy()


def grid_of_grids(sim: np.ndarray, title: str) -> None:
    g = sim.shape[0]
    fig, axes = plt.subplots(g, g, figsize=(4.2, 4.2))
    for i in range(g):
        for j in range(g):
            axes[i, j].imshow(sim[i, j], cmap="viridis", vmin=-1, vmax=1)
            axes[i, j].axis("off")
    fig.suptitle(title, fontsize=10)
    plt.show()


grid_of_grids(position_similarity(make("ViT").pos_embed, GRID), "random initialisation")
grid_of_grids(position_similarity(vit.pos_embed, GRID), f"after {STEPS} training steps")
sim = position_similarity(vit.pos_embed, GRID)
near = np.mean([sim[i, j, i + di, j + dj] for i in range(GRID) for j in range(GRID) for di, dj in ((0, 1), (1, 0))
                if i + di < GRID and j + dj < GRID])
far = np.mean([sim[i, j, k, m] for i in range(GRID) for j in range(GRID) for k in range(GRID) for m in range(GRID)
               if abs(i - k) + abs(j - m) >= 4])
print(f"trained: mean similarity of neighbouring positions {near:.2f}, of positions >= 4 steps apart {far:.2f}")

# %% [markdown]
# ## 6. Position embeddings at a new resolution
#
# The weights of a ViT do not depend on the number of tokens, except `pos_embed`. To run at a
# higher resolution (ViT fine-tunes at 384x384 after pre-training at 224x224: 24x24 instead of
# 14x14 patches), treat the grid part of the embeddings as a $D$-channel image and resize it
# bicubically; the class token's embedding is kept. torchvision's `interpolate_embeddings` does
# exactly that (with `align_corners=True`); ours agrees with it:

# %%
def interpolate_pos_embed(pos_embed: torch.Tensor, new_grid: int, num_prefix_tokens: int = 1) -> torch.Tensor:
    prefix, grid = pos_embed[:, :num_prefix_tokens], pos_embed[:, num_prefix_tokens:]
    g, dim = math.isqrt(grid.shape[1]), grid.shape[2]
    grid = grid.reshape(1, g, g, dim).permute(0, 3, 1, 2)  # the grid as a D-channel image
    grid = F.interpolate(grid, size=(new_grid, new_grid), mode="bicubic", align_corners=True)
    return torch.cat([prefix, grid.permute(0, 2, 3, 1).reshape(1, new_grid * new_grid, dim)], dim=1)


new_pos = interpolate_pos_embed(vit.pos_embed.detach(), 6)
theirs = torchvision.models.vision_transformer.interpolate_embeddings(
    6, 1, OrderedDict({"encoder.pos_embedding": vit.pos_embed.detach().clone()}))["encoder.pos_embedding"]
print(f"4x4 -> 6x6 grid: {tuple(vit.pos_embed.shape)} -> {tuple(new_pos.shape)}; "
      f"max |difference| from torchvision: {(new_pos - theirs).abs().max():.1e}")
grid_of_grids(position_similarity(new_pos, 6), "trained embeddings, interpolated to 6x6")

# %% [markdown]
# Does the resized model still work? Upsample the test digits to 12x12 (a 6x6 grid of 2x2
# patches), copy every weight, put in the interpolated embeddings, and measure. For comparison:
# the same model with the position embeddings of the patches set to zero.

# %%
big = VisionTransformer(img_size=12, patch_size=2, in_chans=1, num_classes=10, embed_dim=48, depth=3, num_heads=3,
                        mlp_ratio=2.0).eval()
state = {k: v for k, v in vit.state_dict().items() if k != "pos_embed"}
big.load_state_dict({**state, "pos_embed": new_pos}, strict=True)
test_8 = normalise(images[test_idx])
test_12 = F.interpolate(test_8, size=(12, 12), mode="bilinear", align_corners=False)
accuracy = lambda m, x: (m(x).argmax(1) == labels[test_idx]).float().mean().item()
with torch.no_grad():
    acc_8, acc_12 = accuracy(vit, test_8), accuracy(big, test_12)
    big.pos_embed[:, 1:] = 0
    acc_12_nopos = accuracy(big, test_12)
print(f"test accuracy at 8x8 (trained resolution):                 {acc_8:.1%}")
print(f"at 12x12 with bicubically interpolated position embeddings: {acc_12:.1%}")
print(f"at 12x12 with the patch position embeddings zeroed:         {acc_12_nopos:.1%}")

# %% [markdown]
# The interpolated embeddings keep the model far above chance (10 %), and far above the same
# model without position information; but accuracy drops a lot, because each 2x2 patch now covers
# a smaller part of every stroke than the model ever saw in training. Interpolation gives the
# model a sensible starting point at the new resolution; that is why ViT then *fine-tunes* there
# briefly (its paper: pre-train at 224, fine-tune at 384).

# %% [markdown]
# ## 7. Two seed errors, measured
#
# **"ViT for text sentiment."** A tutorial this course was drawn from feeds a sentence to a ViT's
# patch tokenizer. `patchify` and the strided convolution need a `(B, C, H, W)` image: a string
# has no channels and no 2-D neighbourhood. What ViT shares with NLP is everything *after* the
# tokenizer: the encoder blocks are exactly BERT's (pre-norm). For text you use a text tokenizer
# and a token-embedding table (`nn.Embedding`), i.e. a text transformer, not a ViT.
#
# **"Add the mean attention weight to the loss."** Every row of a softmax sums to 1, so the mean
# of the weights `(B, h, N, N)` is exactly $1/N$ whatever the parameters: the term is a constant and
# its gradient is zero. Measured on our trained model:

# %%
blk = vit.blocks[0]
tokens0 = torch.cat([vit.cls_token.expand(len(sample), -1, -1), vit.patch_embed(sample)], dim=1) + vit.pos_embed
B, N, D = tokens0.shape
h = blk.attn.num_heads
q, k, _ = blk.attn.qkv(blk.norm1(tokens0)).reshape(B, N, 3, h, D // h).permute(2, 0, 3, 1, 4)
weights = (q @ k.transpose(-2, -1) / math.sqrt(D // h)).softmax(dim=-1)  # layer 0's weights, with gradients
vit.zero_grad()
weights.mean().backward()
grad = blk.attn.qkv.weight.grad.abs().max().item()
print(f"mean attention weight = {weights.mean().item():.6f}, 1/N = {1 / N:.6f}; "
      f"largest gradient it sends to the qkv weights: {grad:.1e} (zero up to float rounding)")
vit.zero_grad()

# %% [markdown]
# ## Summary
#
# * ViT = patchify + linear embedding (a strided convolution) + class token + learned position
#   embeddings + $L$ pre-norm blocks ($z + \mathrm{MHSA}(\mathrm{LN}(z))$, $z + \mathrm{MLP}(\mathrm{LN}(z))$,
#   GELU, $\epsilon = 10^{-6}$) + a head on the class token. Ours equals torchvision's to float
#   rounding.
# * ViT-B/16: 86,567,656 parameters and 17.56 GMACs per 224x224 image, both by formula and
#   counted. Tokens grow with the square of the resolution, attention with the square of the tokens.
# * Fewer built-in assumptions mean more data (or strong augmentation, distillation, or a
#   convolutional stem). On small data a CNN wins; the papers' "more efficient" refers to
#   pre-training compute at the scale of 300M images.
# * Inside: attention maps per layer and head, rollout across layers, and position embeddings
#   that learn the 2-D grid, which can be resized for a new resolution.
#
# In the assignment you build each piece yourself, and your ViT-B/16 reproduces torchvision's
# logits.
