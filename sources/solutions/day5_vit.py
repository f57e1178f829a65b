# %% [markdown] nb="readonly:intro"
# # Day 5 assignment: a Vision Transformer from scratch, equal to torchvision's
#
# You will build ViT (Dosovitskiy et al., *An Image is Worth 16x16 Words*, ICLR 2021) piece by
# piece, and at the end copy the weights of `torchvision.models.VisionTransformer` into **your**
# model and watch it produce the same logits.
#
# 1. `patchify`: cut images into a sequence of flattened patches;
# 2. `PatchEmbedding`: the same thing followed by a linear map, written as one strided convolution;
# 3. `EncoderBlock`: the pre-norm transformer block (LayerNorm, multi-head self-attention, MLP, residuals);
# 4. `VisionTransformer`: class token, position embeddings, a stack of blocks, a head;
# 5. `MeanPoolViT`: the same model without a class token, classifying the mean of the patch tokens;
# 6. `attention_rollout`: where the class token "looks", through all layers;
# 7. `interpolate_pos_embed`: run a trained ViT at a new resolution;
# 8. four concept questions;
# 9. the finale: your `VisionTransformer()` (ViT-B/16) with torchvision's weights gives torchvision's logits,
#    and, if you can download them, classifies a photograph with torchvision's ImageNet weights.
#
# **How to work.** Write your code where it says `# YOUR CODE HERE` and delete the
# `raise NotImplementedError()` line. Run the test cell under each exercise: it explains what is
# wrong in words. When you are graded, hidden checks run more configurations (float64, other
# sizes, the full ViT-B/16 shape) against torchvision's own implementation.
# Before you submit: *Kernel → Restart Kernel and Run All Cells*, and make sure nothing fails.
# Do not rename the notebook or delete cells.
#
# Shapes: `B` batch, `C` channels, `H, W` image size, `p` patch size, `N = (H/p)(W/p)` patches,
# `D` embedding width, `h` heads.

# %% nb="readonly:setup"
import math

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"
print(f"torch {torch.__version__}, torchvision {torchvision.__version__}; running on {device}"
      + ("" if device == "cuda" else " (no GPU found: this assignment runs on the CPU in seconds)"))


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


def randomize_(module: nn.Module, seed: int = 0) -> nn.Module:
    """Give every parameter random values (torchvision starts the head and class token at zero,
    which would hide mistakes there)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            if p.dim() >= 2 and "pos_embedding" not in name and "class_token" not in name:
                p.copy_(noise / p[0].numel() ** 0.5)
            elif ("ln" in name or "norm" in name) and name.endswith("weight"):
                p.copy_(1 + 0.2 * noise)
            else:
                p.copy_(0.1 * noise)
    return module.eval()


# %% [markdown] nb="readonly:mhsa_intro"
# ## Given: multi-head self-attention (Day 4)
#
# This is the `MultiHeadSelfAttention` of Day 4, unchanged: `qkv = nn.Linear(dim, 3*dim)` whose
# output is `[q | k | v]`, `proj = nn.Linear(dim, dim)`, and the last attention weights kept in
# `self.attn_weights (B, h, N, N)`. Your `EncoderBlock` uses it as its `attn`.
#
# $$\mathrm{MHSA}(x) = \big[\mathrm{softmax}(Q_iK_i^\top/\sqrt{d})\,V_i\big]_{i=1..h}\,W_{proj}^\top + b_{proj},
# \qquad [Q\,|\,K\,|\,V] = x\,W_{qkv}^\top + b_{qkv}$$

# %% nb="readonly:mhsa"
class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention on (B, N, dim) tokens (the Day 4 module)."""

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim={dim} is not divisible by num_heads={num_heads}")
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.attn_weights = None

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        B, N, C = x.shape
        # (B, N, 3*dim) -> 3 x (B, h, N, d); features [q | k | v], head i at i*d:(i+1)*d
        q, k, v = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
        weights = scores.softmax(dim=-1)
        self.attn_weights = weights.detach()  # kept for visualisation and rollout
        out = (weights @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(out)


# %% [markdown] nb="readonly:patchify_intro"
# ## Exercise 1: an image as a sequence of patches (3 points)
#
# Cut each image of a batch `(B, C, H, W)` into non-overlapping `p x p` patches and flatten each
# patch into a vector, giving `(B, N, C*p*p)` with $N = \frac{H}{p}\cdot\frac{W}{p}$.
#
# * Patches in **row-major** order: patch `n` sits at grid row `n // (W/p)`, column `n % (W/p)`.
# * Each patch is flattened in **`(C, p, p)` order**: all of channel 0's `p*p` pixels (row by row),
#   then channel 1's, ... This is the order of a convolution weight `(D, C, p, p)`, which is why
#   a strided convolution computes the same as `patchify` followed by a linear layer.
# * Raise `ValueError` if `H` or `W` is not divisible by `p`.
#
# Hint: `reshape` to `(B, C, H/p, p, W/p, p)`, `permute` the axes into
# `(B, H/p, W/p, C, p, p)`, then `reshape` again. Keep the input's dtype; do not modify it.

# %% nb="solution:patchify"
def patchify(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, N, C*p*p): row-major patches, each flattened in (C, p, p) order."""
    ### BEGIN SOLUTION
    B, C, H, W = images.shape
    p = patch_size
    if H % p or W % p:
        raise ValueError(f"image size {H}x{W} is not divisible by the patch size {p}")
    x = images.reshape(B, C, H // p, p, W // p, p).permute(0, 2, 4, 1, 3, 5)
    return x.reshape(B, (H // p) * (W // p), C * p * p)
    ### END SOLUTION


# %% nb="test:test_patchify:1"
x = torch.arange(2 * 3 * 8 * 12, dtype=torch.float32).reshape(2, 3, 8, 12)
out = patchify(x, 4)
assert out.shape == (2, 6, 48), f"patchify of (2, 3, 8, 12) with p=4 should be (2, 6, 48) = (B, 2*3 patches, 3*4*4), got {tuple(out.shape)}"
check_close(out[0, 0], x[0, :, :4, :4].reshape(-1), "patch 0 (top-left), flattened in (C, p, p) order")
check_close(out[0, 1], x[0, :, :4, 4:8].reshape(-1), "patch 1 (the one to the right of patch 0: row-major order)")
check_close(out[1, 3], x[1, :, 4:8, :4].reshape(-1), "patch 3 of image 1 (second row, first column)")
conv = nn.Conv2d(3, 5, kernel_size=4, stride=4)
expected = conv(x).flatten(2).transpose(1, 2)
check_close(out @ conv.weight.reshape(5, -1).T + conv.bias, expected, "patchify(x) @ W^T + b against the strided convolution", atol=1e-3)
try:
    patchify(torch.zeros(1, 3, 10, 12), 4)
    raise AssertionError("patchify should raise ValueError when H=10 is not divisible by p=4")
except ValueError:
    pass
print("patchify: visible tests passed")

# %% nb="test:test_patchify_hidden:2"
# Hidden tests for `patchify` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day5_vit", "patchify", patchify)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:patch_embed_intro"
# ## Exercise 2: patch embedding as a strided convolution (3 points)
#
# The patch embedding maps every flattened patch $x_n \in \mathbb{R}^{Cp^2}$ to
# $z_n = E\,x_n + b$ with $E \in \mathbb{R}^{D \times Cp^2}$. A convolution with kernel size and
# stride `p` computes exactly that for every patch at once, with `E = conv.weight.reshape(D, -1)`.
#
# * `PatchEmbedding(img_size, patch_size, in_chans, embed_dim)` has one submodule:
#   `proj = nn.Conv2d(in_chans, embed_dim, patch_size, stride=patch_size)`.
# * Keep `self.num_patches = (img_size // patch_size) ** 2` (your ViT needs it).
# * `forward(x)`: `(B, C, H, W) -> (B, N, embed_dim)`, tokens in row-major order
#   (`flatten(2)` then `transpose(1, 2)`). Raise `ValueError` if `H` or `W` is not divisible by `p`.

# %% nb="solution:PatchEmbedding"
class PatchEmbedding(nn.Module):
    """Split an image into patches and embed each linearly: (B, C, H, W) -> (B, N, embed_dim)."""

    def __init__(self, img_size: int, patch_size: int, in_chans: int, embed_dim: int):
        super().__init__()
        ### BEGIN SOLUTION
        self.img_size = img_size
        self.patch_size = patch_size
        self.grid_size = img_size // patch_size
        self.num_patches = self.grid_size**2
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        H, W = x.shape[-2:]
        if H % self.patch_size or W % self.patch_size:
            raise ValueError(f"image size {H}x{W} is not divisible by the patch size {self.patch_size}")
        return self.proj(x).flatten(2).transpose(1, 2)
        ### END SOLUTION


# %% nb="test:test_PatchEmbedding:1"
pe = PatchEmbedding(img_size=16, patch_size=4, in_chans=3, embed_dim=8)
assert isinstance(getattr(pe, "proj", None), nn.Conv2d), "PatchEmbedding needs a submodule `proj` that is an nn.Conv2d"
assert pe.proj.kernel_size == (4, 4) and pe.proj.stride == (4, 4), (
    f"proj should have kernel_size=stride=patch_size=4, got kernel {pe.proj.kernel_size}, stride {pe.proj.stride}")
assert pe.num_patches == 16, f"num_patches should be (16 // 4)**2 = 16, got {getattr(pe, 'num_patches', None)}"
x = torch.randn(2, 3, 16, 16)
out = pe(x)
assert out.shape == (2, 16, 8), f"output should be (B, N, embed_dim) = (2, 16, 8), got {tuple(out.shape)}"
check_close(out, patchify(x, 4) @ pe.proj.weight.reshape(8, -1).T + pe.proj.bias, "PatchEmbedding against patchify + a linear map")
print("PatchEmbedding: visible tests passed")

# %% nb="test:test_PatchEmbedding_hidden:2"
# Hidden tests for `PatchEmbedding` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day5_vit", "PatchEmbedding", PatchEmbedding)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:block_intro"
# ## Exercise 3: the pre-norm encoder block (4 points)
#
# ViT uses the **pre-norm** block: LayerNorm *before* each sub-layer, residual connections
# around each:
#
# $$x' = x + \mathrm{MHSA}(\mathrm{LN}_1(x)), \qquad y = x' + \mathrm{MLP}(\mathrm{LN}_2(x')),
# \qquad \mathrm{MLP}(u) = W_2\,\mathrm{GELU}(W_1 u + b_1) + b_2 .$$
#
# (The original Transformer, and BERT after it, is *post*-norm, $\mathrm{LN}(x + f(x))$; pre-norm keeps
# an identity path from input to output through all blocks, and its gradients at initialisation
# are well-behaved without a learning-rate warm-up: Xiong et al., ICML 2020. The lesson measures
# that torchvision's ViT block is `nn.TransformerEncoderLayer(norm_first=True)`, not `False`.)
#
# * `EncoderBlock(dim, num_heads, mlp_ratio=4.0)` with submodules `norm1`, `attn`, `norm2`, `mlp`.
# * `norm1`, `norm2`: `nn.LayerNorm(dim, eps=1e-6)`; ViT uses `eps=1e-6`, not PyTorch's default 1e-5.
# * `attn`: a `MultiHeadSelfAttention(dim, num_heads)` (given above).
# * `mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))` with
#   `hidden = int(dim * mlp_ratio)`.
# * `forward(x)`: `(B, N, dim) -> (B, N, dim)`.
#
# The test copies the weights of torchvision's own ViT block into yours and compares outputs.

# %% nb="solution:EncoderBlock"
class EncoderBlock(nn.Module):
    """Pre-norm transformer encoder block on (B, N, dim) tokens."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        ### BEGIN SOLUTION
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = MultiHeadSelfAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))
        ### END SOLUTION


# %% [markdown] nb="readonly:mapping_intro"
# ### The weight mapping to torchvision
#
# torchvision stores the same numbers under other names. Its attention is an
# `nn.MultiheadAttention` whose `in_proj_weight` is stacked `[q | k | v]` exactly like our `qkv`,
# and its MLP has dropout layers at indices 2 and 4, so our `mlp.2` is its `mlp.3`. The functions
# below copy torchvision's weights into our modules; the tests use them.

# %% nb="readonly:mapping"
def block_names(ours: str = "", theirs: str = "") -> dict:
    """Our EncoderBlock's parameter names -> torchvision's EncoderBlock names."""
    pairs = {
        "norm1.weight": "ln_1.weight", "norm1.bias": "ln_1.bias",
        "attn.qkv.weight": "self_attention.in_proj_weight", "attn.qkv.bias": "self_attention.in_proj_bias",
        "attn.proj.weight": "self_attention.out_proj.weight", "attn.proj.bias": "self_attention.out_proj.bias",
        "norm2.weight": "ln_2.weight", "norm2.bias": "ln_2.bias",
        "mlp.0.weight": "mlp.0.weight", "mlp.0.bias": "mlp.0.bias",
        "mlp.2.weight": "mlp.3.weight", "mlp.2.bias": "mlp.3.bias",
    }
    return {ours + a: theirs + b for a, b in pairs.items()}


def vit_names(depth: int) -> dict:
    """Our VisionTransformer's parameter names -> torchvision's VisionTransformer names."""
    names = {
        "patch_embed.proj.weight": "conv_proj.weight", "patch_embed.proj.bias": "conv_proj.bias",
        "cls_token": "class_token", "pos_embed": "encoder.pos_embedding",
        "norm.weight": "encoder.ln.weight", "norm.bias": "encoder.ln.bias",
        "head.weight": "heads.head.weight", "head.bias": "heads.head.bias",
    }
    for i in range(depth):
        names.update(block_names(f"blocks.{i}.", f"encoder.layers.encoder_layer_{i}."))
    return names


def copy_from_torchvision(ours: nn.Module, theirs: nn.Module, names: dict) -> None:
    """Load torchvision's tensors into our module (strict: every name must match)."""
    state = theirs.state_dict()
    ours.load_state_dict({a: state[b] for a, b in names.items()}, strict=True)


# %% nb="test:test_EncoderBlock:1"
block = EncoderBlock(dim=32, num_heads=4)
for name in ("norm1", "norm2"):
    ln = getattr(block, name, None)
    assert isinstance(ln, nn.LayerNorm), f"{name} should be an nn.LayerNorm, got {type(ln).__name__}"
    assert ln.eps == 1e-6, f"{name}.eps is {ln.eps}; ViT's LayerNorms use eps=1e-6 (PyTorch's default is 1e-5)"
assert isinstance(getattr(block, "attn", None), MultiHeadSelfAttention), "attn should be a MultiHeadSelfAttention"
assert block.mlp[0].out_features == 128, f"the MLP's hidden width should be int(32 * 4.0) = 128, got {block.mlp[0].out_features}"
tv_block = randomize_(torchvision.models.vision_transformer.EncoderBlock(
    num_heads=4, hidden_dim=32, mlp_dim=128, dropout=0.0, attention_dropout=0.0))
copy_from_torchvision(block, tv_block, block_names())
x = torch.randn(2, 10, 32)
with torch.no_grad():
    check_close(block(x), tv_block(x), "EncoderBlock against torchvision's EncoderBlock (same weights)")
print("EncoderBlock: visible tests passed")

# %% nb="test:test_EncoderBlock_hidden:3"
# Hidden tests for `EncoderBlock` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day5_vit", "EncoderBlock", EncoderBlock)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:vit_intro"
# ## Exercise 4: the Vision Transformer (6 points)
#
# $$z_0 = [\,x_{cls};\; E\,x_1;\; \dots;\; E\,x_N\,] + E_{pos}, \qquad z_\ell = \mathrm{Block}_\ell(z_{\ell-1}),
# \qquad \hat y = W_{head}\,\mathrm{LN}(z_L^{0}) + b_{head}$$
#
# * `VisionTransformer(img_size=224, patch_size=16, in_chans=3, num_classes=1000, embed_dim=768,
#   depth=12, num_heads=12, mlp_ratio=4.0)`; the defaults are ViT-B/16.
# * Submodules and parameters, with these names: `patch_embed` (`PatchEmbedding`),
#   `cls_token` (`nn.Parameter` of shape `(1, 1, D)`), `pos_embed` (`nn.Parameter (1, N+1, D)`:
#   one position for the class token plus one per patch), `blocks` (`nn.ModuleList` of `depth`
#   `EncoderBlock`s), `norm` (`nn.LayerNorm(D, eps=1e-6)`), `head` (`nn.Linear(D, num_classes)`).
# * `forward(x)`: embed the patches, **prepend** the class token (expanded over the batch),
#   **then** add `pos_embed`, run the blocks, apply `norm`, and classify the **class token**
#   (token 0) with `head`: `(B, C, H, W) -> (B, num_classes)`.
# * Initialise `pos_embed` with small random values (e.g. `torch.randn(...) * 0.02`) and
#   `cls_token` with zeros; the tests overwrite them anyway.

# %% nb="solution:VisionTransformer"
class VisionTransformer(nn.Module):
    """ViT: patch embedding, class token, position embeddings, pre-norm blocks, head on the class token."""

    def __init__(self, img_size: int = 224, patch_size: int = 16, in_chans: int = 3, num_classes: int = 1000,
                 embed_dim: int = 768, depth: int = 12, num_heads: int = 12, mlp_ratio: float = 4.0):
        super().__init__()
        ### BEGIN SOLUTION
        self.patch_embed = PatchEmbedding(img_size, patch_size, in_chans, embed_dim)
        num_patches = self.patch_embed.num_patches
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.randn(1, num_patches + 1, embed_dim) * 0.02)
        self.blocks = nn.ModuleList([EncoderBlock(embed_dim, num_heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.head = nn.Linear(embed_dim, num_classes)
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        x = self.patch_embed(x)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)
        return self.head(x[:, 0])
        ### END SOLUTION


# %% [markdown] nb="readonly:vit_test_intro"
# The test builds torchvision's `VisionTransformer` with the same (small) configuration and
# random weights, copies them into yours, and compares the logits.

# %% nb="test:test_VisionTransformer:2"
cfg = dict(img_size=32, patch_size=8, in_chans=3, num_classes=10, embed_dim=64, depth=2, num_heads=4)
model = VisionTransformer(**cfg).eval()
assert tuple(model.pos_embed.shape) == (1, 17, 64), (
    f"pos_embed should be (1, N+1, D) = (1, 16+1, 64): one position per patch plus one for the class token; got {tuple(model.pos_embed.shape)}")
assert tuple(model.cls_token.shape) == (1, 1, 64), f"cls_token should be (1, 1, 64), got {tuple(model.cls_token.shape)}"
assert isinstance(model.blocks, nn.ModuleList) and len(model.blocks) == 2, "blocks should be an nn.ModuleList of `depth` EncoderBlocks"
assert model.norm.eps == 1e-6, f"norm.eps is {model.norm.eps}; use nn.LayerNorm(embed_dim, eps=1e-6)"
tv_vit = randomize_(torchvision.models.VisionTransformer(
    image_size=32, patch_size=8, num_layers=2, num_heads=4, hidden_dim=64, mlp_dim=256, num_classes=10))
copy_from_torchvision(model, tv_vit, vit_names(depth=2))
images = torch.randn(3, 3, 32, 32)
with torch.no_grad():
    ours, theirs = model(images), tv_vit(images)
assert ours.shape == (3, 10), f"logits should be (B, num_classes) = (3, 10), got {tuple(ours.shape)}"
check_close(ours, theirs, "your logits against torchvision's VisionTransformer (same weights)")
print(f"largest |difference| from torchvision's logits: {(ours - theirs).abs().max().item():.2e}")
print("VisionTransformer: visible tests passed")

# %% nb="test:test_VisionTransformer_hidden:4"
# Hidden tests for `VisionTransformer` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day5_vit", "VisionTransformer", VisionTransformer)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:mean_pool_intro"
# ## Exercise 5: a ViT without a class token (4 points)
#
# The class token is a convention ViT inherited from BERT. The alternative a CNN would use is
# **global average pooling**: drop the class token and classify the mean of the patch tokens. The
# ViT paper tried it (App. D.3, Fig. 9: both "work similarly well, but require different
# learning-rates"); the lesson compares the two over several seeds.
#
# $$z_0 = [\,E\,x_1;\; \dots;\; E\,x_N\,] + E_{pos}, \qquad z_\ell = \mathrm{Block}_\ell(z_{\ell-1}),
# \qquad \hat y = W_{head}\,\frac{1}{N}\sum_{n=1}^{N} \mathrm{LN}(z_L)_n + b_{head}$$
#
# * `MeanPoolViT(img_size=224, patch_size=16, in_chans=3, num_classes=1000, embed_dim=768, depth=12,
#   num_heads=12, mlp_ratio=4.0)`: the same arguments as `VisionTransformer`.
# * Submodules and parameters: `patch_embed` (`PatchEmbedding`), `pos_embed` (`nn.Parameter` of shape
#   `(1, N, D)`: one position per patch, and no class token), `blocks` (`nn.ModuleList` of `depth`
#   `EncoderBlock`s), `norm` (`nn.LayerNorm(D, eps=1e-6)`), `head` (`nn.Linear(D, num_classes)`).
#   Nothing else has parameters: in particular there is no `cls_token`.
# * `forward(x)`: `(B, C, H, W) -> (B, num_classes)`: embed the patches and add `pos_embed`, run the
#   blocks, apply `norm` to **every** token, **then** average over the `N` tokens and apply `head`.
#   (The order matters: the mean of normalised tokens is not the normalised mean.)
#
# The test copies torchvision's weights into yours: the patch convolution, and torchvision's
# `Encoder` built for `N` tokens (it adds the position embeddings, runs the blocks and applies its
# final LayerNorm), followed by the mean and a linear head.

# %% nb="solution:MeanPoolViT"
class MeanPoolViT(nn.Module):
    """ViT without a class token: patch embedding + position embeddings, pre-norm blocks, norm, mean over tokens, head."""

    def __init__(self, img_size: int = 224, patch_size: int = 16, in_chans: int = 3, num_classes: int = 1000,
                 embed_dim: int = 768, depth: int = 12, num_heads: int = 12, mlp_ratio: float = 4.0):
        super().__init__()
        ### BEGIN SOLUTION
        self.patch_embed = PatchEmbedding(img_size, patch_size, in_chans, embed_dim)
        self.pos_embed = nn.Parameter(torch.randn(1, self.patch_embed.num_patches, embed_dim) * 0.02)
        self.blocks = nn.ModuleList([EncoderBlock(embed_dim, num_heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.head = nn.Linear(embed_dim, num_classes)
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        x = self.patch_embed(x) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x).mean(dim=1))
        ### END SOLUTION


# %% nb="test:test_MeanPoolViT:1"
from torchvision.models.vision_transformer import Encoder

model = MeanPoolViT(img_size=32, patch_size=8, in_chans=3, num_classes=10, embed_dim=64, depth=2, num_heads=4).eval()
assert not hasattr(model, "cls_token"), "MeanPoolViT has no class token: remove cls_token"
assert tuple(model.pos_embed.shape) == (1, 16, 64), (
    f"pos_embed should be (1, N, D) = (1, 16, 64): one position per patch, none for a class token; got {tuple(model.pos_embed.shape)}")
assert isinstance(model.blocks, nn.ModuleList) and len(model.blocks) == 2, "blocks should be an nn.ModuleList of `depth` EncoderBlocks"
assert model.norm.eps == 1e-6, f"norm.eps is {model.norm.eps}; use nn.LayerNorm(embed_dim, eps=1e-6)"
# torchvision's parts: the patch convolution, an Encoder for 16 tokens (position embeddings, blocks, final LayerNorm), a head
tv_gap = torchvision.models.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=4, hidden_dim=64,
                                             mlp_dim=256, num_classes=10)
tv_gap.encoder = Encoder(seq_length=16, num_layers=2, num_heads=4, hidden_dim=64, mlp_dim=256, dropout=0.0, attention_dropout=0.0)
randomize_(tv_gap)
copy_from_torchvision(model, tv_gap, {k: v for k, v in vit_names(depth=2).items() if k != "cls_token"})
images = torch.randn(3, 3, 32, 32)
with torch.no_grad():
    ours = model(images)
    theirs = tv_gap.heads(tv_gap.encoder(tv_gap.conv_proj(images).flatten(2).transpose(1, 2)).mean(dim=1))
assert ours.shape == (3, 10), f"logits should be (B, num_classes) = (3, 10), got {tuple(ours.shape)}"
check_close(ours, theirs, "your logits against torchvision's patch convolution + Encoder + mean over tokens + head")
print("MeanPoolViT: visible tests passed")

# %% nb="test:test_MeanPoolViT_hidden:3"
# Hidden tests for `MeanPoolViT` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day5_vit", "MeanPoolViT", MeanPoolViT)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:rollout_intro"
# ## Exercise 6: attention rollout (3 points)
#
# One layer's attention map says where each token looks *in that layer's input*, which is
# already a mixture of tokens. Rollout (Abnar & Zuidema, *Quantifying Attention Flow in
# Transformers*, ACL 2020) follows the mixing through all layers. The residual connection
# keeps half of each token, so per layer
#
# $$\tilde A_\ell = \frac{1}{2}\Big(\frac{1}{h}\sum_{i=1}^{h} A_\ell^{(i)} + I\Big), \quad
# \hat A_\ell = \tilde A_\ell \text{ with every row divided by its sum}, \quad
# R = \hat A_L \cdots \hat A_2\,\hat A_1 .$$
#
# * `attention_rollout(attentions)`: a list of per-layer weights `(B, h, N, N)`, index 0 the
#   **first** layer, returns `R` of shape `(B, N, N)`. Row 0 of `R` (the class token) tells how
#   much each input token contributes to it.
# * Renormalise the rows even if the inputs' rows do not sum to 1 exactly.
# * Keep dtype and device; do not modify the inputs.

# %% nb="solution:attention_rollout"
def attention_rollout(attentions: list) -> torch.Tensor:
    """List of per-layer attention weights (B, h, N, N), first layer first -> rollout (B, N, N)."""
    ### BEGIN SOLUTION
    result = None
    for weights in attentions:
        a = weights.mean(dim=1)
        eye = torch.eye(a.shape[-1], dtype=a.dtype, device=a.device)
        a = (a + eye) / 2
        a = a / a.sum(dim=-1, keepdim=True)
        result = a if result is None else a @ result
    return result
    ### END SOLUTION


# %% nb="test:test_attention_rollout:1"
N = 5
eye = torch.eye(N).expand(2, 3, N, N)
check_close(attention_rollout([eye, eye]), torch.eye(N).expand(2, N, N), "rollout of identity attention (nothing mixes)")
uniform = torch.full((1, 2, N, N), 1 / N)
expected = (torch.full((N, N), 1 / N) + torch.eye(N)) / 2
check_close(attention_rollout([uniform])[0], expected, "one layer of uniform attention: (A + I) / 2")
a1 = torch.softmax(torch.randn(1, 2, N, N), -1)
a2 = torch.softmax(torch.randn(1, 2, N, N), -1)
step = lambda a: (a.mean(1) + torch.eye(N)) / 2
check_close(attention_rollout([a1, a2]), step(a2) @ step(a1), "two layers: R = A_2 @ A_1 (the later layer on the left)")
rows = attention_rollout([a1, a2, a1]).sum(-1)
assert torch.allclose(rows, torch.ones_like(rows), atol=1e-5), f"rows of the rollout must sum to 1, got {rows.tolist()}"
print("attention_rollout: visible tests passed")

# %% nb="test:test_attention_rollout_hidden:2"
# Hidden tests for `attention_rollout` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day5_vit", "attention_rollout", attention_rollout)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:rollout_demo_intro"
# Your ViT keeps each block's attention weights (`block.attn.attn_weights`), so rollout works on
# it directly. With the random weights of the test above the map means little (a trained model
# is needed for meaningful pictures; the lesson shows one), but the shapes are those you will use.

# %% nb="readonly:rollout_demo"
try:
    demo = randomize_(VisionTransformer(img_size=32, patch_size=8, num_classes=10, embed_dim=64, depth=2, num_heads=4))
    with torch.no_grad():
        demo(torch.randn(1, 3, 32, 32))
    r = attention_rollout([blk.attn.attn_weights for blk in demo.blocks])
    print("rollout", tuple(r.shape), "; class-token row over the 4x4 patch grid:")
    print(r[0, 0, 1:].reshape(4, 4).numpy().round(3))
except Exception as exc:  # an unfinished or still-wrong exercise must not stop the notebook here
    print(f"(finish the exercises above to see the rollout of your model; for now: {type(exc).__name__}: {exc})")

# %% [markdown] nb="readonly:interp_intro"
# ## Exercise 7: position embeddings at a new resolution (3 points)
#
# A ViT trained at 224x224 with `p=16` has a `14 x 14` grid of position embeddings. At 384x384 the
# grid is `24 x 24`: treat the grid part of `pos_embed` as a `D`-channel image and resize it
# bicubically; the prefix tokens (the class token) have no position and are kept as they are.
#
# * `interpolate_pos_embed(pos_embed, new_grid, num_prefix_tokens=1)`: `pos_embed (1, P + g*g, D)`
#   with `P = num_prefix_tokens` -> `(1, P + new_grid**2, D)`.
# * Grid tokens are in row-major order: reshape to `(1, g, g, D)`, move `D` to the channel axis,
#   resize with `F.interpolate(..., size=(new_grid, new_grid), mode="bicubic", align_corners=True)`
#   (the choice torchvision's `interpolate_embeddings` makes, which yours must match), move back.

# %% nb="solution:interpolate_pos_embed"
def interpolate_pos_embed(pos_embed: torch.Tensor, new_grid: int, num_prefix_tokens: int = 1) -> torch.Tensor:
    """(1, P + g*g, D) -> (1, P + new_grid**2, D): bicubic resize of the grid, prefix tokens kept."""
    ### BEGIN SOLUTION
    prefix, grid = pos_embed[:, :num_prefix_tokens], pos_embed[:, num_prefix_tokens:]
    n, dim = grid.shape[1], grid.shape[2]
    g = math.isqrt(n)
    if g * g != n:
        raise ValueError(f"{n} grid tokens do not form a square grid")
    grid = grid.reshape(1, g, g, dim).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=(new_grid, new_grid), mode="bicubic", align_corners=True)
    grid = grid.permute(0, 2, 3, 1).reshape(1, new_grid * new_grid, dim)
    return torch.cat([prefix, grid], dim=1)
    ### END SOLUTION


# %% nb="test:test_interpolate_pos_embed:1"
from collections import OrderedDict

from torchvision.models.vision_transformer import interpolate_embeddings

pos = torch.randn(1, 1 + 4 * 4, 8)
new = interpolate_pos_embed(pos, 6)
assert new.shape == (1, 1 + 36, 8), f"a 4x4 grid resized to 6x6 should give (1, 1 + 36, 8), got {tuple(new.shape)}"
check_close(new[:, 0], pos[:, 0], "the class token's embedding (it must be kept, not interpolated)")
check_close(interpolate_pos_embed(pos, 4), pos, "resizing to the same grid (must change nothing)")
expected = interpolate_embeddings(6, 1, OrderedDict({"encoder.pos_embedding": pos.clone()}))["encoder.pos_embedding"]
check_close(new, expected, "interpolate_pos_embed against torchvision's interpolate_embeddings")
print("interpolate_pos_embed: visible tests passed")

# %% nb="test:test_interpolate_pos_embed_hidden:2"
# Hidden tests for `interpolate_pos_embed` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day5_vit", "interpolate_pos_embed", interpolate_pos_embed)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:quiz_intro"
# ## Concept questions (1 point each)
#
# Answer each question by assigning one letter, e.g. `quiz_1 = "A"`. The visible test checks
# only that your answer is a letter; the grader knows which is right.
#
# **Question 1.** ViT-B/16 is fine-tuned at 384x384 pixels, keeping its 16x16 patches. How many
# tokens does its first encoder block receive for one image?
#
# * A. 576, one token for each patch of the 24 x 24 grid
# * B. 197, because the sequence length is fixed at pre-training
# * C. 338, since tokens grow in proportion to the side (197 x 384 / 224)
# * D. 577, the 24 x 24 patches plus the class token

# %% nb="solution:quiz_1"
### BEGIN SOLUTION
quiz_1 = "D"
### END SOLUTION

# %% nb="test:test_quiz_1:1"
assert isinstance(quiz_1, str) and quiz_1.strip().upper() in {"A", "B", "C", "D"}, "quiz_1 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day5_vit", "quiz_1", quiz_1)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:quiz_2_text"
# **Question 2.** You fine-tune ViT-B/16 at 448x448 instead of 224x224 (same patch size). By
# what factor does the cost of computing the attention scores $QK^\top$ in each layer grow?
#
# * A. 16: four times the tokens, and the score matrix is N x N
# * B. 2: the side of the image doubles, and so does the cost
# * C. 4: the image has four times the pixels to attend over
# * D. 1: the weights are the same, so every layer costs the same

# %% nb="solution:quiz_2"
### BEGIN SOLUTION
quiz_2 = "A"
### END SOLUTION

# %% nb="test:test_quiz_2:1"
assert isinstance(quiz_2, str) and quiz_2.strip().upper() in {"A", "B", "C", "D"}, "quiz_2 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day5_vit", "quiz_2", quiz_2)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:quiz_3_text"
# **Question 3.** Trained on ImageNet-1k alone with a standard recipe, ViT-B/16 falls behind
# comparable ResNets; pre-trained on ImageNet-21k or JFT-300M it overtakes them. Why?
#
# * A. Self-attention cannot represent local features such as edges or corners.
# * B. ViT-B/16 has too few parameters to fit the thousand classes of ImageNet.
# * C. It assumes less about images, so it must learn locality from the data.
# * D. Its position embeddings need over a hundred million images to be learned.

# %% nb="solution:quiz_3"
### BEGIN SOLUTION
quiz_3 = "C"
### END SOLUTION

# %% nb="test:test_quiz_3:1"
assert isinstance(quiz_3, str) and quiz_3.strip().upper() in {"A", "B", "C", "D"}, "quiz_3 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day5_vit", "quiz_3", quiz_3)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:quiz_4_text"
# **Question 4.** A photograph shows a cat and a dog. You compute the attention rollout of a
# trained ViT once to explain its logit "cat" and once to explain its logit "dog". What do you get?
#
# * A. Two maps, each one highlighting the animal of its class.
# * B. The same map twice: rollout never looks at the logits.
# * C. Two maps differing only by a scale factor, the softmax of each logit.
# * D. An error, because rollout needs the gradient of the chosen logit.

# %% nb="solution:quiz_4"
### BEGIN SOLUTION
quiz_4 = "B"
### END SOLUTION

# %% nb="test:test_quiz_4:1"
assert isinstance(quiz_4, str) and quiz_4.strip().upper() in {"A", "B", "C", "D"}, "quiz_4 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day5_vit", "quiz_4", quiz_4)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:finale_intro"
# ## The moment: your ViT-B/16 is torchvision's ViT-B/16
#
# Below, torchvision's `vit_b_16` (86.6 million parameters, here with random weights) is copied
# into **your** `VisionTransformer()` with its default, ViT-B/16 configuration, and both classify a
# real photograph. Same logits, same top-5 class indices. (This test is worth 1 point; it takes a
# few seconds on a CPU.)

# %% nb="test:test_VisionTransformer_b16:1"
import numpy as np
from sklearn.datasets import load_sample_images

photo = torch.from_numpy(np.array(load_sample_images().images[0])).permute(2, 0, 1).float() / 255
photo = F.interpolate(photo[None], size=(224, 224), mode="bilinear", antialias=True, align_corners=False)
photo = (photo - torch.tensor([0.485, 0.456, 0.406])[:, None, None]) / torch.tensor([0.229, 0.224, 0.225])[:, None, None]
vit_b = VisionTransformer().eval()
tv_b = randomize_(torchvision.models.vit_b_16(weights=None))
n_params = sum(p.numel() for p in vit_b.parameters())
assert n_params == 86_567_656, f"VisionTransformer() should be ViT-B/16 with 86,567,656 parameters, got {n_params:,}"
copy_from_torchvision(vit_b, tv_b, vit_names(depth=12))
with torch.no_grad():
    ours, theirs = vit_b(photo), tv_b(photo)
print(f"your ViT-B/16: {n_params:,} parameters (torchvision: {sum(p.numel() for p in tv_b.parameters()):,})")
print(f"largest |difference| between the 1000 logits: {(ours - theirs).abs().max().item():.2e}")
print("top-5 classes, yours:      ", ours.topk(5).indices[0].tolist())
print("top-5 classes, torchvision:", theirs.topk(5).indices[0].tolist())
check_close(ours, theirs, "your ViT-B/16 logits against torchvision's vit_b_16 on a photograph", atol=1e-4, rtol=1e-3)
del tv_b

# %% [markdown] nb="readonly:finale_photo_intro"
# ### What does your ViT-B/16 see?
#
# Random weights give random classes. torchvision also ships trained ImageNet weights for
# `vit_b_16` (`IMAGENET1K_V1`, 81.1 % top-1 in its documentation). Set `USE_PRETRAINED = True`
# where you have a network connection (e.g. on Colab; about 330 MB): the cell downloads them,
# copies them into **your** model with the same `vit_names` mapping, and prints its top-5 classes
# for the photograph. Without the download it uses the random weights of the test above and says so.

# %% nb="readonly:finale_photo"
import numpy as np
from sklearn.datasets import load_sample_images

USE_PRETRAINED = False
try:
    weights = torchvision.models.ViT_B_16_Weights.IMAGENET1K_V1
    source = "RANDOM weights (nothing downloaded): these classes are meaningless"
    if USE_PRETRAINED:
        try:
            copy_from_torchvision(vit_b, torchvision.models.vit_b_16(weights=weights), vit_names(depth=12))
            source = "torchvision's ImageNet-1k weights (IMAGENET1K_V1)"
        except Exception as exc:  # offline or blocked: say so, keep the random weights
            print(f"could not download the weights ({type(exc).__name__}); keeping the random ones")
    raw = torch.from_numpy(np.array(load_sample_images().images[0])).permute(2, 0, 1)
    with torch.no_grad():
        probs = vit_b.eval()(weights.transforms()(raw)[None]).softmax(-1)[0]
    print(f"your VisionTransformer() with {source}:")
    for prob, index in zip(*probs.topk(5)):
        print(f"  {prob:6.1%}  {weights.meta['categories'][index]}")
except Exception as exc:  # an unfinished VisionTransformer must not stop the notebook here
    print(f"(finish VisionTransformer to classify the photograph; for now: {type(exc).__name__}: {exc})")
vit_b = None  # free the memory

# %% [markdown] nb="readonly:written_1_text"
# ## Written question (3 points, graded by your instructor)
#
# Your `attention_rollout` averages the heads, replaces each layer's weights $A$ by $(A + I)/2$,
# renormalises the rows and multiplies the layers (Abnar and Zuidema, ACL 2020).
#
# 1. What does the $+ I$ stand for in the encoder block, and why is $(A + I)/2$ then a better
#    picture of how information moves through a layer than $A$ alone?
# 2. A rollout map is often shown as "what the model looked at to decide the class". Name two
#    things in the network that rollout ignores, and say what that means for this reading of the
#    map (hint: compare the maps for two different classes of the same image).
#
# Write your answer in the cell below (double-click it to edit it), a few sentences per part. No
# test checks it: a person grades it after you submit.

# %% [markdown] nb="answer:written_1:3"
# ### BEGIN SOLUTION
# **Model answer.**
# 1. The residual connection: a block computes $x + \mathrm{attn}(\mathrm{norm}(x))$, so each token
#    keeps its own state and adds what attention brings. $A$ alone pretends each token is replaced by
#    the weighted average; $(A + I)/2$ gives the token itself half the weight, as the skip path does
#    (equal weights are the method's simplifying assumption).
# 2. Rollout uses only the attention weights: it ignores the values and their norms (a large weight
#    on a value vector near 0 moves nothing), the MLPs, the LayerNorms and the classifier head.
#    So the map is the same whatever class you ask about: it shows how tokens mixed, not what
#    evidence supports one class (Chefer et al., CVPR 2021, make this point and add gradients).
#
# **Rubric (3 points).**
# * part 1 (1 point): the residual/skip connection, and that the token keeps part of itself.
#   Half a point for "identity for the residual" without why it improves the picture;
# * part 2 (2 points): two ignored parts among values, MLP, LayerNorm, head (1 point); the map is
#   class-agnostic, so it is not an explanation of a particular decision (1 point).
# ### END SOLUTION
