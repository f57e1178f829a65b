# %% [markdown]
# # Day 5: the Vision Transformer (ViT)
#
# *An Image is Worth 16x16 Words* (Dosovitskiy et al., ICLR 2021) applied the transformer encoder
# of NLP to images with almost no change: cut the image into patches, embed each patch linearly,
# add a learnable position embedding, prepend a class token, and run a stack of pre-norm encoder
# blocks. Today we take `torchvision.models.VisionTransformer` apart, count what it costs, measure
# when it works (data!), and look inside small ViTs that we train right here on offline data.
#
# | part | what you will see |
# | --- | --- |
# | 1 | an image as a sequence of patches; patch embedding = a strided convolution (measured) |
# | 2 | torchvision's ViT, parameter by parameter; its block is pre-norm, BERT's is post-norm (measured) |
# | 3 | parameters and FLOPs of ViT-B/16 by formula, checked against torchvision's model; tokens vs. cost |
# | 4 | inductive bias and data: published figures, and a measured ViT vs. CNN vs. hybrid comparison |
# | 5 | class token or mean pooling? measured over several seeds |
# | 6 | inside a trained ViT with an 8x8 token grid: attention per head, mean attention distance, rollout and its limits |
# | 7 | position embeddings at a new resolution |
# | 8 | a ViT-B/16 on a photograph: ImageNet weights if you can download them, clearly labelled random ones if not |
# | 9 | two errors of the seed material |
#
# In the assignment you write every graded piece yourself (patches, patch embedding, the block,
# the model, rollout, resizing position embeddings, a mean-pooling ViT); here we use torchvision's
# own modules, so nothing below is a copy of what you will write.
#
# Everything runs on a CPU in a minute or two (the last cell prints how long it took). `FULL = True`
# trains three times longer and over more seeds (a few minutes).

# %%
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from sklearn.datasets import load_digits, load_sample_images
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from torchvision.models.vision_transformer import ConvStemConfig, Encoder, interpolate_embeddings
from torchvision.ops import Permute

try:
    import ipywidgets as widgets

    HAVE_WIDGETS = True
except ImportError:  # the lesson still runs; the explorer shows one static figure instead
    HAVE_WIDGETS = False

FULL = False  # True: 3x more training steps and 5 seeds instead of 3 (a few minutes on a CPU)
DOWNLOAD_PRETRAINED = False  # True (e.g. on Colab): part 8 downloads torchvision's ImageNet weights for ViT-B/16
device = "cuda" if torch.cuda.is_available() else "cpu"
print(f"torch {torch.__version__}, torchvision {torchvision.__version__}; device: {device}"
      + ("" if device == "cuda" else " (no GPU found: everything here is sized for a CPU)"))
torch.manual_seed(0)
plt.rcParams["figure.dpi"] = 80
lesson_start = time.perf_counter()

# %% [markdown]
# ## 1. An image as a sequence of patches
#
# A transformer consumes a sequence of vectors. ViT makes one from an image
# $x \in \mathbb{R}^{C \times H \times W}$ by cutting it into non-overlapping $p \times p$ patches
# and flattening each (Dosovitskiy et al., Sec. 3.1):
#
# $$N = \frac{H}{p}\cdot\frac{W}{p} \text{ patches}, \qquad x_n \in \mathbb{R}^{C p^2}.$$
#
# ViT-B/16 on a 224x224 RGB image: $p = 16$, $N = 14 \cdot 14 = 196$ patches of
# $3 \cdot 16 \cdot 16 = 768$ numbers. Here is a real photograph cut that way, one patch at a
# time with two plain loops (the assignment asks for the batched version without loops).

# %%
photo_np = load_sample_images().images[0]  # a photo bundled with scikit-learn (427 x 640 x 3)
photo = torch.from_numpy(np.array(photo_np)).permute(2, 0, 1).float().div(255)[None]
photo = F.interpolate(photo, size=(224, 224), mode="bilinear", antialias=True, align_corners=False)

P = 16
side = 224 // P  # 14 patches per row and per column
image = photo[0]  # one image (3, 224, 224), no batch axis
patch_list, patch_list_channels_last = [], []
for row in range(side):  # row-major: left to right, then the next row down
    for col in range(side):
        patch = image[:, row * P:(row + 1) * P, col * P:(col + 1) * P]  # (3, 16, 16)
        patch_list.append(patch.reshape(-1))  # channel 0's 256 pixels, then channel 1's, ...: (C, p, p) order
        patch_list_channels_last.append(patch.permute(1, 2, 0).reshape(-1))  # (p, p, C): a common mistake
tokens = torch.stack(patch_list)  # (196, 768)
print("image", tuple(image.shape), "-> tokens", tuple(tokens.shape))

fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), gridspec_kw={"width_ratios": [1, 1.2, 1.6]})
axes[0].imshow(image.permute(1, 2, 0).clamp(0, 1))
for k in range(0, 225, P):
    axes[0].axhline(k - 0.5, color="w", lw=0.6)
    axes[0].axvline(k - 0.5, color="w", lw=0.6)
axes[0].set_title("224x224 image, 16x16 patches")
axes[0].axis("off")
tiles = F.pad(tokens[84:112].reshape(28, 3, P, P), (2, 2, 2, 2), value=1.0)  # grid rows 6-7, white gaps
tiles = tiles.permute(0, 2, 3, 1).clamp(0, 1)
axes[1].imshow(torch.cat([torch.cat(list(tiles[r * 7:(r + 1) * 7]), dim=1) for r in range(4)], dim=0))
axes[1].set_title("tokens 84-111 (grid rows 6-7), in sequence order")
axes[1].axis("off")
axes[2].imshow(tokens, aspect="auto", cmap="gray")
axes[2].set_xlabel("768 numbers per token: channel R (0-255), G, B, each 16x16 row by row")
axes[2].set_ylabel("token n")
axes[2].set_title("the sequence: a (196, 768) matrix")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Patch embedding is a strided convolution
#
# Each patch is mapped linearly to width $D$: $z_n = E\,x_n + b$, $E \in \mathbb{R}^{D \times Cp^2}$.
# torchvision implements this as `conv_proj`, a convolution with kernel size $p$ and stride $p$: it
# visits exactly the patches and computes the same dot products, if $E$ is its weight `(D, C, p, p)`
# flattened. This is why the patch order `(C, p, p)` matters: it is the order of a convolution
# weight. Measured with a layer shaped like the `conv_proj` of torchvision's `vit_b_16` (random weights):

# %%
with torch.device("meta"):  # shapes only: which layer does torchvision's vit_b_16 use?
    print("torchvision vit_b_16 conv_proj:", torchvision.models.vit_b_16().conv_proj)
conv_proj = nn.Conv2d(3, 768, kernel_size=16, stride=16)  # the same layer, with real (random) weights
with torch.no_grad():
    by_conv = conv_proj(photo).flatten(2).transpose(1, 2)[0]  # (196, 768), tokens in row-major order
    E = conv_proj.weight.reshape(768, -1)  # (D, C*p*p)
    by_matmul = tokens @ E.T + conv_proj.bias
    by_wrong_order = torch.stack(patch_list_channels_last) @ E.T + conv_proj.bias
print(f"conv vs patches @ E^T + b: max |difference| = {(by_conv - by_matmul).abs().max():.2e} (float32 rounding)")
print(f"with patches flattened in (p, p, C) order instead: max |difference| = {(by_conv - by_wrong_order).abs().max():.2f}")

# %% [markdown]
# ## 2. The model, parameter by parameter
#
# The paper's equations (Sec. 3.1, Eq. 1-4):
#
# $$z_0 = [\,x_{cls};\; E x_1;\; \dots;\; E x_N\,] + E_{pos}, \quad
# z'_\ell = \mathrm{MSA}(\mathrm{LN}(z_{\ell-1})) + z_{\ell-1}, \quad
# z_\ell = \mathrm{MLP}(\mathrm{LN}(z'_\ell)) + z'_\ell, \quad y = \mathrm{LN}(z_L^0).$$
#
# * **Class token** $x_{cls}$: a learned vector prepended to the sequence. It attends to all
#   patches in every layer; its final state, after one more LayerNorm, is what the head classifies.
# * **Position embeddings** $E_{pos} \in \mathbb{R}^{(N+1) \times D}$: self-attention is
#   permutation-equivariant, so without them the model sees a bag of patches. ViT *learns* one
#   vector per position (1-D indices; the paper found 2-D-aware variants no better, App. D.4).
#   They are added **after** prepending the class token: there are $N+1$ of them.
# * **Pre-norm blocks**: the LayerNorm sits *inside* each residual branch ("LN is applied before
#   every block, and residual connections after every block", Sec. 3.1); the residual stream
#   itself is never normalised. MLP: $W_2\,\mathrm{GELU}(W_1 u + b_1) + b_2$ with $W_1 \in \mathbb{R}^{4D \times D}$.
# * **Head**: a linear layer on $y$.
#
# Every one of these is a named tensor in torchvision's model. A small one (32x32 images, 8x8
# patches, $D = 64$, 2 blocks, 4 heads), its first block shown:

# %%
tiny = torchvision.models.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=4, hidden_dim=64,
                                            mlp_dim=256, num_classes=10)
for name, p in tiny.named_parameters():
    if "encoder_layer_1" not in name:
        print(f"{name:58} {str(tuple(p.shape)):>12}")
print(f"LayerNorm eps: {tiny.encoder.ln.eps} (PyTorch's default is 1e-5); MLP: {tiny.encoder.layers[0].mlp}")

# %% [markdown]
# Read it against the equations: `class_token (1, 1, D)`; `encoder.pos_embedding (1, N+1, D)` with
# $N = 16$; per block `ln_1`, then `self_attention.in_proj_weight (3D, D)`, the query, key and
# value projections stacked as `[q | k | v]`, and `out_proj`; `ln_2`; the MLP at indices 0 and 3
# (torchvision puts dropouts at 2 and 4); after the last block `encoder.ln`; `heads.head`.
#
# ### Pre-norm, measured: ViT's block is not BERT's
#
# The original Transformer (Vaswani et al., 2017) and BERT (Devlin et al., 2019, Sec. 3: "based on
# the original implementation described in Vaswani et al.") are **post-norm**: $z' = \mathrm{LN}(z + \mathrm{MSA}(z))$. ViT moved the LayerNorm into the
# branch, following Wang et al. (2019) and Baevski & Auli (2019) (Sec. 3.1). Why: Xiong et al.
# (*On Layer Normalization in the Transformer Architecture*, ICML 2020) prove that at
# initialisation a post-norm Transformer has large expected gradients for the parameters near the
# output, which is why it needs a learning-rate warm-up, while the pre-norm gradients are
# well-behaved (their abstract and Sec. 3). PyTorch's own `nn.TransformerEncoderLayer` implements
# both placements (`norm_first=True/False`); give it the weights of torchvision's ViT block and
# compare outputs:

# %%
def encoder_layer_like(vit_block: nn.Module, norm_first: bool) -> nn.TransformerEncoderLayer:
    """PyTorch's generic encoder layer holding the weights of one torchvision ViT block."""
    dim = vit_block.ln_1.normalized_shape[0]
    layer = nn.TransformerEncoderLayer(dim, vit_block.num_heads, dim_feedforward=vit_block.mlp[0].out_features,
                                       dropout=0.0, activation="gelu", layer_norm_eps=1e-6, batch_first=True,
                                       norm_first=norm_first)
    renamed = {"ln_1": "norm1", "ln_2": "norm2", "self_attention": "self_attn", "mlp.0": "linear1", "mlp.3": "linear2"}
    state = {}
    for name, tensor in vit_block.state_dict().items():
        for theirs, ours in renamed.items():
            name = name.replace(theirs, ours)
        state[name] = tensor
    layer.load_state_dict(state, strict=True)
    return layer.eval()


block = tiny.encoder.layers[0].eval()
with torch.no_grad():
    for p in block.parameters():  # random values everywhere (LayerNorms start at 1 and 0, biases at 0)
        p.add_(0.1 * torch.randn_like(p))
    z = torch.randn(2, 17, 64)
    vit_out = block(z)
    pre = (encoder_layer_like(block, norm_first=True)(z) - vit_out).abs().max().item()
    post = (encoder_layer_like(block, norm_first=False)(z) - vit_out).abs().max().item()
print(f"torchvision ViT block vs nn.TransformerEncoderLayer(norm_first=True),  pre-norm:  max |diff| = {pre:.1e}")
print(f"torchvision ViT block vs nn.TransformerEncoderLayer(norm_first=False), post-norm: max |diff| = {post:.2f}")

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
# We check both formulas against torchvision's `vit_b_16` built on PyTorch's `meta` device (shapes
# only, no memory) and run under `FlopCounterMode`, which counts every matrix product.

# %%
def vit_params(C=3, p=16, D=768, L=12, N=196, K=1000, r=4):
    block = (3 * D * D + 3 * D) + (D * D + D) + (2 * r * D * D + r * D + D) + 4 * D
    return C * p * p * D + D + D + (N + 1) * D + L * block + 2 * D + D * K + K


def vit_macs(C=3, p=16, D=768, L=12, N=196, K=1000, r=4):
    T = N + 1
    return N * C * p * p * D + L * ((4 + 2 * r) * T * D * D + 2 * T * T * D) + D * K


with torch.device("meta"):
    vit_b = torchvision.models.vit_b_16()
    with FlopCounterMode(display=False) as counter:
        vit_b(torch.empty(1, 3, 224, 224))
counted = {str(k).replace("aten.", ""): v for k, v in counter.get_flop_counts()["Global"].items()}
print(f"parameters: formula {vit_params():,} | torchvision vit_b_16 {sum(p.numel() for p in vit_b.parameters()):,}")
print(f"GMACs per 224x224 image: formula {vit_macs() / 1e9:.3f} | counted {counter.get_total_flops() / 2e9:.3f} "
      f"(FLOPs by op: {counted})")
print(f"attention-score share (2T^2D per block): {12 * 2 * 197**2 * 768 / vit_macs():.1%} of the MACs at 224x224")

# %% [markdown]
# ### Tokens grow with resolution squared, attention with tokens squared
#
# $N = (H/p)^2$: halving the patch size or doubling the side multiplies the tokens by 4; the
# linear layers grow with $N$, the attention scores with $N^2$. The table and figure use the
# formula (checked above); the last plot is measured: forward time of a small ViT on this machine.

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
for side_px in (32, 64, 96, 128, 192):
    model_at = torchvision.models.VisionTransformer(image_size=side_px, patch_size=8, num_layers=2, num_heads=3,
                                                    hidden_dim=192, mlp_dim=768, num_classes=10).eval()
    xb = torch.randn(2, 3, side_px, side_px)
    with torch.no_grad():
        model_at(xb)  # warm-up
        start = time.perf_counter()
        for _ in range(2):
            model_at(xb)
    measured.append(((side_px // 8) ** 2 + 1, (time.perf_counter() - start) / 2 * 1000))
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
# none: only the patch grid, and position embeddings that start random ("Inductive bias",
# Sec. 3.1). Everything else must be learned from data. The published numbers show that trade-off;
# they do **not** support "ViT generalises better than CNNs on small data":
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
# The paper's own summary (Sec. 4.3 *Pre-training Data Requirements*, Fig. 3 and 4): pre-trained
# on ImageNet, large ViTs do worse than BiT ResNets; with ImageNet-21k or JFT-300M they match or
# beat them. DeiT closes the gap on ImageNet-1k alone with heavy augmentation (RandAugment, Mixup,
# CutMix, random erasing), stochastic depth and long training (and distillation from a CNN teacher
# for its best numbers).
#
# **"ViT is 4x more efficient"** distorts a specific claim: pre-trained on JFT-300M and judged by
# transfer accuracy, "ViT uses approximately 2-4x less compute to attain the same performance" as
# the paper's ResNets (Sec. 4.4 *Scaling Study*, Fig. 5), i.e. *pre-training* compute at very large
# scale. It says nothing about small data, inference speed or memory; at 224x224, ViT-B/16 needs
# 17.6 GMACs per image (counted above), about 4x a ResNet-50 (4.1 GMACs).
#
# ### Measured here: ViT vs. CNN vs. hybrid on 1,400 handwritten digits
#
# scikit-learn's bundled digits (8x8 grey scans, 1,797 images; no download) are tiny, so we can
# train three models with the **same optimiser, number of steps and data** on this CPU, with all
# 1,400 training images, and the CNN also with 20 % of them (`FULL = True` trains the ViT and the
# hybrid on 20 % too). All are stock torchvision or torch modules
# (the grey digits are repeated into 3 channels so that torchvision's models take them unchanged):
#
# * **ViT**: `torchvision.models.VisionTransformer`, patch size 2 (a 4x4 grid of 16 tokens),
#   $D=48$, 2 blocks, 3 heads;
# * **CNN**: two 3x3 convolutions with BatchNorm, about 20k parameters;
# * **hybrid**: the same ViT with torchvision's convolutional stem (`conv_stem_configs`: a 3x3
#   convolution, then a 3x3 convolution with stride 2, each with BatchNorm and ReLU) making the 4x4
#   grid of tokens. Xiao et al. (*Early Convolutions Help Transformers See Better*, NeurIPS 2021)
#   found such a stem makes ViT training far less sensitive to the optimiser and its settings;
#   ViT's paper already had "hybrid" models built on ResNet features (Sec. 3.1).
#
# Every model starts from PyTorch's default initialisation of its linear layers (torchvision's ViT
# starts its head at zero and its MLPs with Xavier's rule), so that all of them start alike.

# %%
digits = load_digits()
images = torch.tensor(digits.images, dtype=torch.float32)[:, None] / 16.0  # (1797, 1, 8, 8) in [0, 1]
labels = torch.tensor(digits.target)
order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
train_idx, test_idx = order[:1400], order[1400:]
MEAN, STD = images[train_idx].mean().item(), images[train_idx].std().item()
STEPS = 900 if FULL else 300
BATCH = 32


def normalise(t: torch.Tensor) -> torch.Tensor:
    """Standardise the grey digits and repeat them into 3 channels (torchvision's models expect RGB)."""
    return ((t - MEAN) / STD).expand(-1, 3, -1, -1)


def shift(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Augmentation: move the batch by up to one pixel (zero padding), a cheap translation prior."""
    padded = F.pad(x, (1, 1, 1, 1))
    dy, dx = torch.randint(0, 3, (2,), generator=gen).tolist()
    return padded[..., dy:dy + x.shape[-2], dx:dx + x.shape[-1]]


def default_linear_init(model: nn.Module) -> nn.Module:
    for module in model.modules():
        if isinstance(module, nn.Linear):
            module.reset_parameters()
    return model


def fit(model: nn.Module, idx: torch.Tensor, seed: int = 0, steps: int = STEPS, lr: float = 6e-3) -> dict:
    """AdamW with a one-cycle schedule; returns test accuracy, loss curve and time."""
    threads = torch.get_num_threads()
    if device == "cpu":
        torch.set_num_threads(1)  # these matrices are tiny: one thread beats synchronising several
    model = model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.2)
    gen = torch.Generator().manual_seed(seed + 1)  # the order of the batches and the shifts
    curve, start = [], time.perf_counter()
    model.train()
    for _ in range(steps):
        pick = idx[torch.randint(len(idx), (BATCH,), generator=gen)]
        xb, yb = normalise(shift(images[pick], gen)).to(device), labels[pick].to(device)
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        curve.append(loss.item())
    model.eval()
    with torch.no_grad():
        hits = model(normalise(images[test_idx]).to(device)).argmax(1).cpu() == labels[test_idx]
    torch.set_num_threads(threads)
    return {"acc": hits.float().mean().item(), "curve": curve, "seconds": time.perf_counter() - start}


def make(kind: str, seed: int = 0) -> nn.Module:
    """A fresh model for the digits: 'ViT', 'hybrid', 'CNN' or 'mean' (part 5)."""
    torch.manual_seed(seed)
    vit_shape = dict(image_size=8, patch_size=2, num_layers=2, num_heads=3, hidden_dim=48, mlp_dim=96, num_classes=10)
    if kind == "ViT":
        model = torchvision.models.VisionTransformer(**vit_shape)
    elif kind == "hybrid":
        stem = [ConvStemConfig(out_channels=24, kernel_size=3, stride=1), ConvStemConfig(out_channels=48, kernel_size=3, stride=2)]
        model = torchvision.models.VisionTransformer(**vit_shape, conv_stem_configs=stem)
    elif kind == "mean":  # the ViT without a class token: the mean of the 16 patch tokens is classified
        model = nn.Sequential(
            nn.Conv2d(3, 48, kernel_size=2, stride=2), nn.Flatten(2), Permute([0, 2, 1]),  # (B, 16, 48) patch tokens
            Encoder(16, 2, 3, 48, 96, 0.0, 0.0),  # + 16 position embeddings, 2 pre-norm blocks, final LayerNorm
            Permute([0, 2, 1]), nn.AdaptiveAvgPool1d(1), nn.Flatten(),  # mean over the tokens: (B, 48)
            nn.Linear(48, 10))
    else:
        model = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
                              nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))
    return default_linear_init(model)


results, models = {}, {}
small_idx = train_idx[: len(train_idx) // 5]
RUNS = [("ViT", "100%"), ("CNN", "100%"), ("CNN", "20%"), ("hybrid", "100%")]
if FULL:
    RUNS += [("ViT", "20%"), ("hybrid", "20%")]
for kind, fraction in RUNS:
    models[kind, fraction] = make(kind)
    results[kind, fraction] = fit(models[kind, fraction], train_idx if fraction == "100%" else small_idx)

print(f"{'model':>7} {'params':>8} {'acc, 1400 imgs':>15} {'acc, 280 imgs':>14} {'seconds':>8}")
for kind in ("ViT", "CNN", "hybrid"):
    n_params = sum(p.numel() for p in models[kind, "100%"].parameters())
    runs = [results.get((kind, f)) for f in ("100%", "20%")]
    accs = [f"{r['acc']:.1%}" if r else "(FULL only)" for r in runs]
    print(f"{kind:>7} {n_params:>8,} {accs[0]:>15} {accs[1]:>14} {sum(r['seconds'] for r in runs if r):>8.1f}")
for fraction in [f for f in ("100%", "20%") if ("ViT", f) in results]:
    gap = results["CNN", fraction]["acc"] - results["ViT", fraction]["acc"]
    print(f"with {fraction} of the data the CNN is {gap:+.1%} (points) {'ahead of' if gap > 0 else 'behind'} the ViT")

fig, ax = plt.subplots(figsize=(8, 3.5))
smooth = lambda c: np.convolve(c, np.ones(15) / 15, mode="valid")
for (kind, fraction), r in results.items():
    ax.plot(smooth(r["curve"]), label=f"{kind}, {fraction} of the data", ls="-" if fraction == "100%" else "--")
ax.set(xlabel="step", ylabel="training loss (smoothed)", yscale="log", title="same optimiser, same steps")
ax.legend(ncol=3, fontsize=8)
plt.show()

# %% [markdown]
# Read the table for what it is: one seed, one tiny dataset, a few hundred steps (part 5 shows how
# much a single seed can move an accuracy). The papers' pattern to compare it with: the CNN, whose
# architecture already "knows" locality, needs little data; the plain ViT must first *learn*
# which patches are neighbours; a convolutional stem gives the tokens local features before
# attention sees them. With 300 million images the order changes (table above); with 1,400 digits,
# check the printed gaps above for what this run shows.
#
# ## 5. Class token or mean pooling?
#
# ViT classifies a class token "to stay as close as possible to the original Transformer model"
# (App. D.3), like BERT's `[class]` token (Sec. 3.1). The obvious alternative is to drop the class
# token and classify the **mean of the patch tokens** (after the final LayerNorm), "just like
# ResNet's final feature map" (App. D.3). The ViT paper (App. D.3, Fig. 9) found the two "work similarly
# well, but require different learning-rates". Here: the same trunk as part 4's ViT, once with
# a class token (`torchvision.models.VisionTransformer`) and once without, pooled by the mean
# (`make("mean")`: torchvision's `Encoder` between a patch convolution and a linear head), the
# same recipe and learning rate, over several seeds. One seed (part 4) is not enough to rank
# two models whose difference is small; the spread across seeds is the yardstick.

# %%
SEEDS = list(range(5 if FULL else 3))
pooled = {"class token": [], "mean pooling": []}
for seed in SEEDS:
    for kind, label in (("ViT", "class token"), ("mean", "mean pooling")):
        run = results["ViT", "100%"] if (kind, seed) == ("ViT", 0) else fit(make(kind, seed), train_idx, seed=seed)
        pooled[label].append(run["acc"])
for label, accs in pooled.items():
    print(f"{label:>13}: " + "  ".join(f"{a:.1%}" for a in accs) + f"   mean {np.mean(accs):.1%} +- {np.std(accs, ddof=1):.1%} (std over seeds)")
diff = np.array(pooled["mean pooling"]) - np.array(pooled["class token"])
spread = max(np.std(pooled["class token"], ddof=1), np.std(pooled["mean pooling"], ddof=1))
print("mean pooling - class token, same seed: " + "  ".join(f"{d:+.1%}" for d in diff)
      + f"; average {diff.mean():+.1%}")
verdict = "smaller than" if abs(diff.mean()) < spread else "larger than"
print(f"the average difference is {verdict} the seed-to-seed spread of one model ({spread:.1%}) "
      f"with {len(SEEDS)} seeds and {STEPS} steps")

fig, ax = plt.subplots(figsize=(5, 3))
for i, accs in enumerate(pooled.values()):
    ax.plot(np.full(len(accs), i) + np.linspace(-0.08, 0.08, len(accs)), accs, "o", ms=7)
    ax.plot([i - 0.2, i + 0.2], [np.mean(accs)] * 2, "k-")
ax.set(xticks=[0, 1], xticklabels=list(pooled), ylabel="test accuracy", xlim=(-0.6, 1.6),
       title=f"{len(SEEDS)} seeds each (bar: mean)")
plt.show()

# %% [markdown]
# ## 6. Looking inside a trained ViT
#
# A 4x4 grid of tokens is too coarse to say *where* attention goes. For this part we train a ViT
# with one token per pixel: an 8x8 grid of 64 tokens plus the class token, $D = 32$, 3 blocks,
# 4 heads. So that each token carries a little shape and not a single grey value, this model's
# patches **overlap**: its `conv_proj` is a 3x3 convolution with stride 1 (each token embeds the
# 3x3 neighbourhood of its pixel, still a linear map of a patch). Everything after the patch
# embedding is torchvision's ViT.
#
# torchvision's attention layer is an `nn.MultiheadAttention` that its blocks call with
# `need_weights=False`; two hooks ask it for the per-head weights and keep them, without
# changing what the model computes.

# %%
def make_pixel_vit(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    model = torchvision.models.VisionTransformer(image_size=8, patch_size=1, num_layers=3, num_heads=4, hidden_dim=32,
                                                 mlp_dim=64, num_classes=10)
    model.conv_proj = nn.Conv2d(3, 32, kernel_size=3, stride=1, padding=1)  # overlapping 3x3 patches, one per pixel
    return default_linear_init(model)


def watch_attention(model: nn.Module) -> tuple[list, list]:
    """Make every attention layer of a torchvision ViT record what it did.

    Returns the list the records go to (one dict per layer call) and the hook handles (`.remove()` them)."""
    records, handles = [], []

    def ask_for_weights(module, args, kwargs):
        return args, {**kwargs, "need_weights": True, "average_attn_weights": False}

    def keep(module, args, kwargs, output):
        out, weights = output  # (B, N, D) and (B, h, N, N)
        if out.requires_grad:
            out.retain_grad()  # part 6's relevance maps need the gradient arriving at this output
        records.append({"module": module, "input": args[0], "out": out, "weights": weights})

    for layer in model.encoder.layers:
        handles.append(layer.self_attention.register_forward_pre_hook(ask_for_weights, with_kwargs=True))
        handles.append(layer.self_attention.register_forward_hook(keep, with_kwargs=True))
    return records, handles


pixel_vit = make_pixel_vit()
PIXEL_STEPS = STEPS * 2 // 3
pixel_run = fit(pixel_vit, train_idx, steps=PIXEL_STEPS)
pixel_vit = pixel_vit.cpu().eval()
print(f"8x8-grid ViT: test accuracy {pixel_run['acc']:.1%} after {PIXEL_STEPS} steps ({pixel_run['seconds']:.0f} s)")

test_x = normalise(images[test_idx])
with torch.no_grad():
    plain_logits = pixel_vit(test_x)  # no hooks yet
records, handles = watch_attention(pixel_vit)
with torch.no_grad():
    test_logits = pixel_vit(test_x)
predictions = test_logits.argmax(1)
maps = [r["weights"] for r in records]  # per layer: (397, 4, 65, 65)
for handle in handles:
    handle.remove()
print("attention per layer:", tuple(maps[0].shape), "x", len(maps), "layers; token 0 is the class token")
print(f"logits with and without the hooks: max |difference| = {(test_logits - plain_logits).abs().max():.1e}")

# %% [markdown]
# ### Attention per layer and head
#
# Row 0 of each map says where the class token looks. Pick a digit, a layer, a head and the
# query token (0 = class token, else a pixel) in the explorer.

# %%
GRID = 8


def show_attention(digit: int = 0, layer: int = 2, head: int = 0, query: int = 0) -> None:
    weights = maps[layer][digit, head, query]  # (65,)
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.3))
    axes[0].imshow(images[test_idx[digit], 0], cmap="gray_r")
    axes[0].set_title(f"digit {labels[test_idx[digit]].item()} (predicted {predictions[digit].item()})")
    if query > 0:
        r, c = divmod(query - 1, GRID)
        axes[0].add_patch(plt.Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, ec="red", lw=2))
    axes[1].imshow(weights[1:].reshape(GRID, GRID), cmap="magma")
    axes[1].set_title(f"layer {layer}, head {head}: where token {query} looks\n"
                      f"(weight on the class token: {weights[0]:.2f})")
    axes[2].imshow(maps[layer][digit, head], cmap="magma")
    axes[2].set(title="the full (65, 65) map", xlabel="key token", ylabel="query token")
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
# All layers and heads at once, for the class token of one digit:

# %%
digit = 3
fig, axes = plt.subplots(len(maps), maps[0].shape[1] + 1, figsize=(2.2 * (maps[0].shape[1] + 1), 2.2 * len(maps)))
for layer, weights in enumerate(maps):
    axes[layer, 0].imshow(images[test_idx[digit], 0], cmap="gray_r")
    axes[layer, 0].set_ylabel(f"layer {layer}")
    for head in range(weights.shape[1]):
        axes[layer, head + 1].imshow(weights[digit, head, 0, 1:].reshape(GRID, GRID), cmap="magma")
        axes[layer, head + 1].set_title(f"head {head}", fontsize=9)
for a in axes.ravel():
    a.set_xticks([])
    a.set_yticks([])
plt.suptitle("class-token attention over the 8x8 pixels, per layer and head")
plt.tight_layout()
plt.show()

# %% [markdown]
# Does the class token look at the strokes? "Looks at the strokes" can be measured: the share of
# the class token's attention (over the 64 pixels) that falls on pixels with ink, against the
# share of the image that has ink, which is what attention spread evenly would give.

# %%
ink = images[test_idx, 0].reshape(-1, 64) > 0.25  # (397, 64): pixels with ink
ink_area = ink.float().mean().item()
print(f"ink covers {ink_area:.1%} of the pixels (the share an even spread of attention would put on ink)")
for layer, weights in enumerate(maps):
    to_pixels = weights[:, :, 0, 1:]  # (397, h, 64): the class token's row, without itself
    share = ((to_pixels * ink[:, None]).sum(-1) / to_pixels.sum(-1)).mean(0)  # per head
    print(f"layer {layer}: share of class-token attention on ink, per head: "
          + "  ".join(f"{s:.1%}" for s in share) + f"   (mean {share.mean():.1%})")

# %% [markdown]
# ### Mean attention distance per head and layer
#
# How far does a token look? For query pixel $q$ in one head, weight the distance to every other
# pixel by the attention it receives, $\sum_k A_{qk}\,\lVert \mathrm{pos}_q - \mathrm{pos}_k \rVert$,
# and average over queries and images. This "attention distance" is the ViT paper's analogue of a
# receptive field (Sec. 4.5, Fig. 7 right; computed as in App. D.7, Fig. 11). There it is measured
# on ViT-L/16 (24 layers, 16 heads, 224-pixel images): "some heads attend to most of the image
# already in the lowest layers", others "have consistently small attention distances in the low
# layers", "the attention distance increases with network depth", and the localised heads are
# "less pronounced in hybrid models".
#
# We measure it on our 8x8-grid model (query and key: the 64 pixels; the class token's column is
# left out and each row renormalised), next to the same model **before training** (random weights,
# for reference only) and to attention spread evenly.

# %%
def patch_distances(grid: int, patch_px: int = 1) -> torch.Tensor:
    """(grid*grid, grid*grid) distances in pixels between the centres of the patches of a grid."""
    coords = torch.stack(torch.meshgrid(torch.arange(grid), torch.arange(grid), indexing="ij"), dim=-1).reshape(-1, 2)
    return torch.cdist(coords.float(), coords.float()) * patch_px


def mean_attention_distance(weights: torch.Tensor, grid: int, patch_px: int = 1) -> torch.Tensor:
    """(B, h, 1+N, 1+N) weights -> (h,) mean distance in pixels between a query patch and what it attends to."""
    between_patches = weights[:, :, 1:, 1:]  # leave the class token out ...
    between_patches = between_patches / between_patches.sum(-1, keepdim=True)  # ... and renormalise each row
    return (between_patches * patch_distances(grid, patch_px)).sum(-1).mean(dim=(0, 2))


untrained = make_pixel_vit().eval()
untrained_records, handles = watch_attention(untrained)
with torch.no_grad():
    untrained(test_x)
for handle in handles:
    handle.remove()
trained_dist = torch.stack([mean_attention_distance(w, GRID) for w in maps]).numpy()  # (layers, heads)
untrained_dist = torch.stack([mean_attention_distance(r["weights"], GRID) for r in untrained_records]).numpy()
even = patch_distances(GRID).mean().item()

fig, ax = plt.subplots(figsize=(6.5, 3.8))
for layer in range(len(maps)):
    ax.plot(np.full(trained_dist.shape[1], layer), trained_dist[layer], "o", color="C0", ms=7,
            label="trained, one dot per head" if layer == 0 else None)
    ax.plot(np.full(untrained_dist.shape[1], layer) + 0.15, untrained_dist[layer], "x", color="gray",
            label="same model untrained (random weights)" if layer == 0 else None)
ax.axhline(even, color="C1", ls="--", label=f"attention spread evenly ({even:.2f} px)")
ax.set(xlabel="layer", ylabel="mean attention distance (pixels)", xticks=range(len(maps)),
       title="8x8-grid ViT on digits (cf. ViT paper Fig. 7, right)")
ax.legend(fontsize=8)
plt.show()
for layer in range(len(maps)):
    low, high = untrained_dist[layer].min(), untrained_dist[layer].max()
    local, wide = (trained_dist[layer] < low).sum(), (trained_dist[layer] > high).sum()
    print(f"layer {layer}: trained heads {np.sort(trained_dist[layer]).round(2)} px; untrained heads {low:.2f}-{high:.2f} px; "
          f"after training {local} head(s) more local and {wide} more global than every untrained head")
first, last = trained_dist[0], trained_dist[-1]
print(f"mean over heads: first layer {first.mean():.2f} px, last layer {last.mean():.2f} px "
      f"({'larger' if last.mean() > first.mean() else 'not larger'} in the last layer in this run); "
      f"the most local head of all: {trained_dist.min():.2f} px, against {even:.2f} px for an even spread")

# %% [markdown]
# What this can and cannot show. A 3-block model trained for a few hundred steps on 8x8 digits
# is not ViT-L/16 on 224-pixel photographs: no distance here exceeds 9.9 pixels, the even spread is
# already about 4 pixels, three layers leave little room for a trend with depth, and the
# overlapping 3x3 patch embedding mixes neighbouring pixels before the first attention layer (as
# the paper's hybrids do, whose early heads are less local). So read the printout for what it is:
# how far training moved each head away from the untrained model (whose heads all sit near the
# even spread) in this run. The paper's picture, with heads from a few pixels to most of a
# 224-pixel image, needs a model trained at that scale: with `DOWNLOAD_PRETRAINED = True`, part 8
# measures the same quantity, with the same hooks, on torchvision's trained ViT-B/16.
#
# ### Attention rollout, and what it cannot tell
#
# One layer's map is not "where the model looks": a later layer mixes tokens that are already
# mixtures. Rollout (Abnar & Zuidema, ACL 2020; used for the ViT paper's Fig. 6, App. D.8)
# multiplies the layers, with the residual connection modelled as the identity: per layer
# $\hat A_\ell = \mathrm{rownorm}\big(\tfrac12(\bar A_\ell + I)\big)$ with $\bar A_\ell$ the mean over
# heads, and $R = \hat A_L \cdots \hat A_1$. Row 0 of $R$ estimates how much each pixel flows into
# the class token. Written out for **one** image in numpy (the assignment asks for a batched torch
# version):

# %%
one = 3  # a test digit
per_layer = [w[one].double().numpy() for w in maps]  # each (h, 65, 65)
steps = [(a.mean(axis=0) + np.eye(65)) / 2 for a in per_layer]
steps = [s / s.sum(axis=1, keepdims=True) for s in steps]
rolled = np.linalg.multi_dot(steps[::-1])  # A_L ... A_2 A_1: the first layer acts first, on the right
print(f"rollout {rolled.shape}; row 0 sums to {rolled[0].sum():.6f}; share of row 0 on the class token itself "
      f"{rolled[0, 0]:.2f}")

# %% [markdown]
# Rollout has two limits worth knowing. It ignores the MLPs and the values (only attention
# weights enter), and it is **class-agnostic**: it never looks at the output, so "where did the
# model see a 3" and "where did it see an 8" get the same map. Chefer, Gur and Wolf (*Generic
# Attention-model Explainability*, ICCV 2021, Eq. 5-6) weight each head's attention by the
# gradient of the chosen class score $y_c$ and keep only positive contributions:
#
# $$\bar A_\ell = \mathbb{E}_h\big[(\nabla_{A_\ell} y_c \odot A_\ell)^+\big], \qquad R \leftarrow R + \bar A_\ell R
# \quad (R = I \text{ before the first layer}).$$
#
# (Their CVPR 2021 paper, *Transformer Interpretability Beyond Attention Visualization*, uses
# layer-wise relevance propagation in place of $A_\ell$.) The gradient with respect to the attention
# weights follows from the chain rule at the hooked layer: with $Z_h = A_h V_h$ (heads side by
# side) and the output $Z W_O^\top + b_O$, $\nabla_Z = \nabla_{\text{out}} W_O$ and
# $\nabla_{A_h} = \nabla_{Z_h} V_h^\top$, where $V$ is the value projection of the layer's input.

# %%
def relevance_maps(model: nn.Module, x: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """Gradient-weighted attention relevance (Chefer et al. 2021) of the class token: (B, 64)."""
    watched, handles = watch_attention(model)
    logits = model(x)
    model.zero_grad()
    logits.gather(1, classes[:, None]).sum().backward()  # images are independent: one backward for all
    B, n = x.shape[0], watched[0]["weights"].shape[-1]
    R = torch.eye(n).expand(B, n, n)
    for rec in watched:
        mha, weights = rec["module"], rec["weights"]
        heads, dim = mha.num_heads, mha.embed_dim
        grad_z = rec["out"].grad @ mha.out_proj.weight  # (B, N, D): gradient at the heads' concatenated output
        values = rec["input"] @ mha.in_proj_weight[2 * dim:].T + mha.in_proj_bias[2 * dim:]  # (B, N, D)
        split = lambda t: t.reshape(B, n, heads, dim // heads).transpose(1, 2)  # (B, h, N, d)
        grad_a = split(grad_z) @ split(values).transpose(-2, -1)  # (B, h, N, N): d y_c / d A
        a_bar = (grad_a * weights).clamp(min=0).mean(dim=1)
        R = R + a_bar @ R
    for handle in handles:
        handle.remove()
    return R[:, 0, 1:].detach()


subset = torch.arange(120)  # the first 120 test digits
x_sub = test_x[subset]
top2 = test_logits[subset].topk(2, dim=1).indices  # the predicted class and the runner-up
rel_first = relevance_maps(pixel_vit, x_sub, top2[:, 0])
rel_second = relevance_maps(pixel_vit, x_sub, top2[:, 1])
rollout_rows = []
for i in subset.tolist():
    s = [(w[i].double().numpy().mean(axis=0) + np.eye(65)) / 2 for w in maps]
    s = [a / a.sum(axis=1, keepdims=True) for a in s]
    rollout_rows.append(np.linalg.multi_dot(s[::-1])[0, 1:])
rollout_rows = torch.tensor(np.array(rollout_rows), dtype=torch.float32)  # (120, 64)

fig, axes = plt.subplots(4, 4, figsize=(9, 9))
for row, i in enumerate([0, 1, 2, 3]):
    axes[row, 0].imshow(images[test_idx[i], 0], cmap="gray_r")
    axes[row, 0].set_title(f"digit {labels[test_idx[i]].item()}", fontsize=9)
    axes[row, 1].imshow(rollout_rows[i].reshape(GRID, GRID), cmap="magma")
    axes[row, 1].set_title("rollout (any class)", fontsize=9)
    for col, (rel, cls) in enumerate(((rel_first, top2[i, 0]), (rel_second, top2[i, 1])), start=2):
        axes[row, col].imshow(rel[i].reshape(GRID, GRID), cmap="magma")
        axes[row, col].set_title(f"relevance for class {cls.item()}", fontsize=9)
for a in axes.ravel():
    a.set_xticks([])
    a.set_yticks([])
plt.suptitle("rollout is the same whatever the class; gradient-weighted relevance is not")
plt.tight_layout()
plt.show()

corr = lambda a, b: torch.stack([torch.corrcoef(torch.stack([u, v]))[0, 1] for u, v in zip(a, b)])
print(f"correlation of the maps for the predicted class and the runner-up, mean over {len(subset)} digits: "
      f"relevance {corr(rel_first, rel_second).nanmean():.2f}, rollout 1.00 (it never sees the class)")

# %% [markdown]
# Which map points at pixels the prediction actually depends on? A perturbation test (as in
# Chefer et al.'s evaluations): blank the 6 pixels a map ranks highest (set them to the paper's
# background, 0) and measure how much the predicted class's probability falls; a faithful map
# should hurt more than 6 random pixels.

# %%
def blanked(order_scores: torch.Tensor, k: int = 6) -> torch.Tensor:
    """The subset's digits with each image's k highest-scoring pixels set to background."""
    x = images[test_idx[subset], 0].reshape(len(subset), 64).clone()
    x.scatter_(1, order_scores.topk(k, dim=1).indices, 0.0)
    return normalise(x.reshape(-1, 1, GRID, GRID))


with torch.no_grad():
    p_before = pixel_vit(x_sub).softmax(1).gather(1, top2[:, :1])[:, 0]
    drops = {}
    for name, scores in (("rollout", rollout_rows), ("relevance, predicted class", rel_first),
                         ("random pixels", torch.rand(len(subset), 64, generator=torch.Generator().manual_seed(0)))):
        p_after = pixel_vit(blanked(scores)).softmax(1).gather(1, top2[:, :1])[:, 0]
        drops[name] = (p_before - p_after).mean().item()
for name, d in drops.items():
    print(f"blank the top 6 pixels of {name:27}: predicted-class probability falls by {d:.3f} on average")

# %% [markdown]
# ### Position-embedding similarity: the grid of grids
#
# For each position $i$ draw the cosine similarity of its embedding with every other position's,
# $\cos(E_{pos}^{(i)}, E_{pos}^{(j)})$, arranged on the grid. At initialisation the embeddings are
# independent random vectors: every tile shows a single bright pixel (similar only to itself). The
# ViT paper shows the trained pattern for ViT-L/32, a 7x7 grid (Sec. 4.5, Fig. 7 center): nearby
# patches, and patches in the same row or column, get similar embeddings. Ours, 8x8:

# %%
def position_similarity(pos_embedding: torch.Tensor, grid: int) -> np.ndarray:
    e = F.normalize(pos_embedding[0, 1:].detach(), dim=-1)  # drop the class token's embedding
    return (e @ e.T).reshape(grid, grid, grid, grid).numpy()


def grid_of_grids(sim: np.ndarray, title: str) -> None:
    """Tile (i, j) of the mosaic is position (i, j)'s similarity to every position, drawn as a g x g image."""
    g = sim.shape[0]
    mosaic = np.full((g * (g + 1) - 1, g * (g + 1) - 1), np.nan)  # one blank row/column between tiles
    for i in range(g):
        for j in range(g):
            mosaic[i * (g + 1):i * (g + 1) + g, j * (g + 1):j * (g + 1) + g] = sim[i, j]
    fig, ax = plt.subplots(figsize=(4.6, 4.6))
    ax.imshow(mosaic, cmap="viridis", vmin=-1, vmax=1)
    ax.axis("off")
    ax.set_title(title, fontsize=10)
    plt.show()


def near_and_far(sim: np.ndarray) -> tuple[float, float]:
    g = sim.shape[0]
    near = np.mean([sim[i, j, i + di, j + dj] for i in range(g) for j in range(g) for di, dj in ((0, 1), (1, 0))
                    if i + di < g and j + dj < g])
    far = np.mean([sim[i, j, k, m] for i in range(g) for j in range(g) for k in range(g) for m in range(g)
                   if abs(i - k) + abs(j - m) >= g // 2])
    return near, far


grid_of_grids(position_similarity(untrained.encoder.pos_embedding, GRID), "random initialisation")
trained_sim = position_similarity(pixel_vit.encoder.pos_embedding, GRID)
grid_of_grids(trained_sim, f"after {PIXEL_STEPS} training steps")
for name, sim in (("untrained", position_similarity(untrained.encoder.pos_embedding, GRID)), ("trained", trained_sim)):
    near, far = near_and_far(sim)
    print(f"{name:>9}: mean similarity of neighbouring positions {near:.2f}, of positions >= 4 steps apart {far:.2f}")

# %% [markdown]
# ## 7. Position embeddings at a new resolution
#
# The weights of a ViT do not depend on the number of tokens, except the position embeddings. To
# run at a higher resolution (ViT fine-tunes at 384x384 after pre-training at 224x224, Sec. 3.2:
# 24x24 instead of 14x14 patches), treat the grid part of the embeddings as a $D$-channel image
# and resize it; the class token's embedding is kept. torchvision's `interpolate_embeddings` does
# this for a whole state dict (bicubic, `align_corners=True`). Upsample the test digits to 12x12,
# resize the trained 8x8 embeddings to 12x12, copy everything else, and measure; for comparison,
# the same model with the position embeddings of the pixels set to zero.

# %%
state_12 = interpolate_embeddings(image_size=12, patch_size=1, model_state=pixel_vit.state_dict())
print("position embeddings:", tuple(pixel_vit.encoder.pos_embedding.shape), "->",
      tuple(state_12["encoder.pos_embedding"].shape))
big = torchvision.models.VisionTransformer(image_size=12, patch_size=1, num_layers=3, num_heads=4, hidden_dim=32,
                                           mlp_dim=64, num_classes=10)
big.conv_proj = nn.Conv2d(3, 32, kernel_size=3, stride=1, padding=1)
big.load_state_dict(state_12, strict=True)
big.eval()
test_12 = F.interpolate(test_x, size=(12, 12), mode="bilinear", align_corners=False)
hit_rate = lambda model, x: (model(x).argmax(1) == labels[test_idx]).float().mean().item()
with torch.no_grad():
    acc_8, acc_12 = hit_rate(pixel_vit, test_x), hit_rate(big, test_12)
    big.encoder.pos_embedding[:, 1:] = 0
    acc_12_nopos = hit_rate(big, test_12)
print(f"test accuracy at 8x8 (trained resolution):                  {acc_8:.1%}")
print(f"at 12x12 with bicubically interpolated position embeddings: {acc_12:.1%}")
print(f"at 12x12 with the pixels' position embeddings zeroed:       {acc_12_nopos:.1%}   (chance: 10%)")
grid_of_grids(position_similarity(torch.as_tensor(state_12["encoder.pos_embedding"]), 12),
              "trained embeddings, interpolated to 12x12")

# %% [markdown]
# Compare the three numbers. Interpolation gives the model a starting point at the new
# resolution, not a finished model: each 3x3 patch of an upsampled digit now covers a smaller part
# of each stroke than the patches it was trained on. ViT therefore *fine-tunes* after changing the
# resolution (Sec. 3.2) rather than using the resized model as it is.
#
# ## 8. ViT-B/16 on a photograph
#
# torchvision ships ImageNet weights for `vit_b_16` (`IMAGENET1K_V1`; their accuracy, size and
# recipe are printed below from the metadata that comes with torchvision). With
# `DOWNLOAD_PRETRAINED = True` (at the top, e.g. on Colab) the cell below downloads them and
# classifies the photograph of part 1. Without the download it says so and uses
# **random weights**: then the model runs, its top-5 "classes" are arbitrary, and nothing about them
# is learned behaviour.

# %%
weights = torchvision.models.ViT_B_16_Weights.IMAGENET1K_V1
categories = weights.meta["categories"]  # the 1000 ImageNet class names ship with torchvision
print(f"IMAGENET1K_V1: ImageNet-1k top-1 {weights.meta['_metrics']['ImageNet-1K']['acc@1']} %, "
      f"{weights.meta['_file_size']:.0f} MB; {' '.join(weights.meta['_docs'].split())}")
status = "RANDOM weights (no download): the classes below are meaningless"
model_b16 = None
if DOWNLOAD_PRETRAINED:
    try:
        model_b16 = torchvision.models.vit_b_16(weights=weights)
        status = "ImageNet-1k weights IMAGENET1K_V1 (downloaded)"
    except Exception as exc:  # offline, blocked, or out of disk: say so and fall back
        print(f"could not download the weights ({type(exc).__name__}: {str(exc)[:120]}); falling back to random ones")
if model_b16 is None:
    model_b16 = torchvision.models.vit_b_16(weights=None)
model_b16.eval()
x_photo = weights.transforms()(torch.from_numpy(np.array(photo_np)).permute(2, 0, 1))[None]  # resize, crop, normalise
with torch.no_grad():
    probs = model_b16(x_photo).softmax(-1)[0]
print(f"vit_b_16 with {status}")
for p, c in zip(*probs.topk(5)):
    print(f"  {p:6.1%}  {categories[c]}")

if status.startswith("ImageNet"):  # part 6's measurement on a model trained at scale (one photograph)
    b16_records, handles = watch_attention(model_b16)
    with torch.no_grad():
        model_b16(x_photo)
    for handle in handles:
        handle.remove()
    b16_dist = torch.stack([mean_attention_distance(r["weights"], 14, 16) for r in b16_records]).numpy()
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for layer, heads in enumerate(b16_dist):
        ax.plot(np.full(len(heads), layer), heads, "o", color="C0", ms=5)
    ax.set(xlabel="layer", ylabel="mean attention distance (pixels)", ylim=(0, 224),
           title="trained ViT-B/16 (IMAGENET1K_V1), one photograph (cf. ViT paper Fig. 7, right)")
    plt.show()
    print("per layer, most local and most global head (px):",
          "  ".join(f"{lo:.0f}-{hi:.0f}" for lo, hi in zip(b16_dist.min(1), b16_dist.max(1))))
else:
    print("mean attention distance of a trained ViT-B/16: not measured (needs the downloaded weights; "
          "random weights would say nothing about trained behaviour)")
del model_b16

# %% [markdown]
# ## 9. Two seed errors
#
# **"ViT for text sentiment."** A tutorial this course was drawn from feeds a sentence to a ViT's
# patch tokenizer. The patch embedding is a convolution over a `(B, C, H, W)` image; a sentence is
# a sequence of token ids, with no channels and no 2-D neighbourhood:

# %%
sentence_ids = torch.tensor([[101, 1045, 2293, 2023, 3185, 102]])  # "[CLS] i love this movie [SEP]" as word-piece ids
try:
    tiny.conv_proj(sentence_ids)
except Exception as exc:
    print(f"ViT's patch embedding on token ids: {type(exc).__name__}: {str(exc)[:150]}")

# %% [markdown]
# Forcing the ids into a fake image would run, but its "patches" would group words by where they
# happen to land in an arbitrary grid. What ViT shares with NLP is everything *after* the
# tokenizer: the transformer encoder (with the LayerNorm moved, part 2). For text you use a text
# tokenizer and a token-embedding table (`nn.Embedding`), i.e. a text transformer such as BERT.
#
# **"Add the mean attention weight to the loss."** Day 1 measured why this does nothing (each
# softmax row sums to 1, so the mean is the constant $1/N$); see its section on the seed errors.
#
# ## Summary
#
# * ViT = patches + a linear embedding (a strided convolution) + class token + learned position
#   embeddings + $L$ pre-norm blocks ($z + \mathrm{MSA}(\mathrm{LN}(z))$, $z + \mathrm{MLP}(\mathrm{LN}(z))$,
#   GELU, $\epsilon = 10^{-6}$) + a head on the class token. The block is pre-norm, unlike BERT's.
# * ViT-B/16: 86,567,656 parameters and 17.56 GMACs per 224x224 image, both by formula and
#   counted. Tokens grow with the square of the resolution, attention with the square of the tokens.
# * Fewer built-in assumptions mean more data (or strong augmentation, distillation, or a
#   convolutional stem). On small data a CNN is the safer bet; the paper's "2-4x less compute"
#   refers to pre-training at the scale of 300M images.
# * Class token or mean pooling: compare them over seeds, not on one run.
# * Inside: attention per layer and head, mean attention distance, rollout (class-agnostic) and
#   gradient-weighted relevance (class-specific), position embeddings that learn the 2-D grid and
#   can be resized for a new resolution.
#
# In the assignment you build each piece yourself, and your ViT-B/16 reproduces torchvision's
# logits.

# %%
print(f"lesson ran in {time.perf_counter() - lesson_start:.0f} s on {device}")
