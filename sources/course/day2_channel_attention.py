# %% [markdown]
# # Day 2: channel attention (Squeeze-and-Excitation and ECA)
#
# A convolutional layer produces $C$ feature maps ("channels"); each responds to one kind of
# pattern: an edge at some angle, a colour, a blob. For a given image some of these channels carry
# the evidence that matters and others are noise. **Channel attention** lets the network look at
# the whole image first and then turn each channel up or down:
#
# $$y_{c,i,j} = g_c(x)\; x_{c,i,j}, \qquad g(x) \in (0, 1)^C .$$
#
# Unlike Day 1's attention, nothing here is a weighted average over positions: the gate is one
# number per channel, computed from the whole feature map, multiplying every position of that channel.
#
# Today:
# 1. a small convolutional feature extractor on real photos, so that channels have a meaning;
# 2. **Squeeze-and-Excitation** (SE, Hu et al., 2018): squeeze (global average pooling), excite
#    (bottleneck MLP, sigmoid), rescale; torchvision's own SE block trained on a small task, and the
#    gates it learns;
# 3. what SE costs (the reduction ratio $r$, about $2C^2/r$ parameters), measured in a ResNet-50;
# 4. where SE goes in a residual block: what the paper measured, and what happens at initialisation;
# 5. **ECA** (Wang et al., 2020): one 1-D convolution across the channel axis instead of the MLP,
#    with a kernel size that follows $C$;
# 6. an interactive view: pick a photo and a channel, see its gate and the map before and after.
#
# Everything runs on a CPU in well under a minute; no downloads (the photos ship with
# scikit-learn and matplotlib).

# %%
import math
import time
from collections.abc import Callable

import matplotlib.cbook as cbook
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from sklearn.datasets import load_sample_images
from torchvision.ops import SqueezeExcitation

try:
    import ipywidgets as widgets
except ImportError:  # the lesson still runs; the interactive cell then draws one static view
    widgets = None

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
print(f"torch {torch.__version__}, torchvision {torchvision.__version__}; device: {device}")
if device.type == "cpu":
    print("No GPU found: running on the CPU (this lesson is small enough for it).")
if device.type == "cpu":
    # These models are tiny: one thread avoids the cost of synchronising threads, which on a busy
    # 2-core machine made training several times slower (measured while writing this lesson).
    torch.set_num_threads(1)
torch.manual_seed(0)
LESSON_START = time.perf_counter()

# %% [markdown]
# ## 1. Real photos and a feature extractor whose channels mean something
#
# We use the three photographs that ship with scikit-learn and matplotlib (a Chinese temple, a
# flower, Grace Hopper), centre-cropped and resized to $160\times160$.
#
# A trained CNN's channels would be the natural input, but pretrained weights cannot be
# downloaded here, and a randomly initialised CNN's channels mean nothing. So the first layer is
# a **hand-built filter bank**: a `Conv2d(3, 16, 7)` whose 16 filters we set ourselves, followed
# by a ReLU. Each channel then has a name: 8 oriented edge detectors (4 angles, 2 scales),
# 4 colour-opponent channels, 2 centre-surround (blob) detectors, brightness and darkness.

# %%
def load_photos(size: int = 160) -> dict[str, torch.Tensor]:
    """The bundled photos as float tensors (3, size, size) in [0, 1]."""
    arrays = dict(zip(("temple", "flower"), load_sample_images().images))
    with cbook.get_sample_data("grace_hopper.jpg") as f:
        arrays["grace_hopper"] = plt.imread(f)
    photos = {}
    for name, a in arrays.items():
        t = torch.as_tensor(np.asarray(a, dtype=np.float32)[..., :3] / 255.0).permute(2, 0, 1)
        h, w = t.shape[1:]
        s = min(h, w)  # centre crop to a square, then resize
        t = t[:, (h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
        t = F.interpolate(t[None], size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0]
        photos[name] = t.clamp(0, 1)  # antialiasing can overshoot [0, 1] slightly
    return photos


def filter_bank(k: int = 7) -> tuple[nn.Conv2d, list[str]]:
    """A Conv2d(3, 16, k) with hand-set, interpretable filters, and the channels' names."""
    r = torch.arange(k, dtype=torch.float32) - k // 2
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    lum = torch.tensor([0.299, 0.587, 0.114])[:, None, None]  # luminance weights of R, G, B

    def gauss(sigma: float) -> torch.Tensor:
        g = torch.exp(-(xx**2 + yy**2) / (2 * sigma**2))
        return g / g.sum()

    weights, biases, names = [], [], []
    for scale, (sigma, freq) in (("fine", (1.2, 0.22)), ("coarse", (2.2, 0.11))):
        for angle in (0, 45, 90, 135):
            u = xx * math.cos(math.radians(angle)) + yy * math.sin(math.radians(angle))
            g = torch.exp(-(xx**2 + yy**2) / (2 * sigma**2)) * torch.sin(2 * math.pi * freq * u)  # odd Gabor: an edge
            weights.append(lum * (g - g.mean()) / g.abs().sum() * 4)
            biases.append(0.0)
            names.append(f"edge {angle}° {scale}")
    blur = gauss(1.5)
    for name, rgb in (("red-green", (1, -1, 0)), ("green-red", (-1, 1, 0)), ("blue-yellow", (-0.5, -0.5, 1)), ("yellow-blue", (0.5, 0.5, -1))):
        weights.append(torch.tensor(rgb, dtype=torch.float32)[:, None, None] * blur)
        biases.append(0.0)
        names.append(name)
    dog = gauss(1.0) - gauss(2.5)  # difference of Gaussians: a centre-surround "blob" detector
    weights += [lum * dog * 4, -lum * dog * 4]
    biases += [0.0, 0.0]
    names += ["light blob", "dark blob"]
    weights += [lum * blur, -lum * blur]
    biases += [0.0, 1.0]  # darkness = relu(1 - brightness)
    names += ["brightness", "darkness"]
    conv = nn.Conv2d(3, len(names), k, padding=k // 2)
    with torch.no_grad():
        conv.weight.copy_(torch.stack(weights))
        conv.bias.copy_(torch.tensor(biases))
    conv.requires_grad_(False)
    return conv, names


photos = load_photos()
bank, channel_names = filter_bank()
images = torch.stack(list(photos.values()))  # (3, 3, 160, 160)
with torch.no_grad():
    raw = F.relu(bank(images))  # (3 images, 16 channels, 160, 160)
    # put the channels on a comparable scale: divide by each channel's std over all three photos
    channel_scale = raw.transpose(0, 1).flatten(1).std(dim=1).clamp_min(1e-6)
    features = raw / channel_scale[None, :, None, None]
print("feature maps:", tuple(features.shape), "(images, channels, H, W)")

fig, axes = plt.subplots(2, 9, figsize=(15, 3.8))
for ax, (name, img) in zip(axes[:, 0], list(photos.items())[:2]):
    ax.imshow(img.permute(1, 2, 0))
    ax.set_title(name, fontsize=9)
for c, ax in enumerate(axes[:, 1:].T.flatten()):
    w = bank.weight[c]
    ax.imshow((w / (2 * w.abs().max()) + 0.5).permute(1, 2, 0).clamp(0, 1))  # grey = 0, colour = sign per RGB
    ax.set_title(channel_names[c], fontsize=7)
for ax in axes.flat:
    ax.axis("off")
fig.suptitle("Two of the photos and the 16 hand-set 7x7 filters (grey = 0; the colour shows which of R, G, B a filter adds or subtracts)")
plt.tight_layout()
plt.show()

# %%
fig, axes = plt.subplots(3, 9, figsize=(15, 5.4))
for row, (name, img) in enumerate(photos.items()):
    axes[row, 0].imshow(img.permute(1, 2, 0))
    axes[row, 0].set_title(name, fontsize=9)
    for j, c in enumerate([0, 2, 4, 6, 8, 10, 12, 15]):
        axes[row, j + 1].imshow(features[row, c], cmap="magma", vmin=0, vmax=3)
        axes[row, j + 1].set_title(channel_names[c], fontsize=8)
for ax in axes.flat:
    ax.axis("off")
fig.suptitle("Feature maps (8 of the 16 channels): each channel lights up where its pattern occurs")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 2. Squeeze: one number per channel
#
# To decide how much a channel matters *for this image*, SE first summarises each channel by its
# spatial mean, **global average pooling**:
#
# $$s_c = \frac{1}{HW}\sum_{i=1}^{H}\sum_{j=1}^{W} x_{c,i,j}, \qquad s \in \mathbb{R}^{C} .$$
#
# This descriptor has a global receptive field: every position of the image contributes, whereas
# a $7\times7$ filter sees only its neighbourhood. The three photos have clearly different profiles.

# %%
squeeze = features.mean(dim=(2, 3))  # s: (3 images, 16 channels)
fig, ax = plt.subplots(figsize=(12, 3.2))
width = 0.27
for i, name in enumerate(photos):
    ax.bar(np.arange(16) + (i - 1) * width, squeeze[i], width, label=name)
ax.set_xticks(range(16), channel_names, rotation=60, ha="right", fontsize=8)
ax.set_ylabel("$s_c$ (channel mean)")
ax.set_title("Squeeze: the spatial mean of every channel, per photo")
ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 3. Excitation and rescale
#
# The descriptor goes through a two-layer bottleneck MLP and a sigmoid:
#
# $$g = \sigma\big(W_2\,\mathrm{ReLU}(W_1 s + b_1) + b_2\big), \qquad W_1 \in \mathbb{R}^{\frac{C}{r}\times C},\; W_2 \in \mathbb{R}^{C\times\frac{C}{r}},$$
#
# and the output rescales each channel: $y_{c,i,j} = g_c\,x_{c,i,j}$.
#
# * The **bottleneck** (width $C/r$, reduction ratio $r$, 16 in the paper) limits the cost and
#   forces the gates to depend on a few joint factors of the channel statistics.
# * The **sigmoid**, not a softmax: each channel gets its own factor in $(0, 1)$; several channels
#   can be fully on at once. A softmax would make the $C$ gates share one unit of mass.
# * The gate has shape `(B, C)`; before multiplying it must become `(B, C, 1, 1)` so that it
#   broadcasts over $H$ and $W$ (broadcasting aligns trailing dimensions; Day 3's bug hunt is
#   about exactly this).
#
# The excitation weights are learned. To see gates that mean something, we train a tiny model on a
# small task: given a random $40\times40$ crop of the feature maps, say which photo it comes from.
# The model is `features -> gate -> global average pool -> linear`. Because the gate is one number per
# channel, pooling and gating commute, $\mathrm{GAP}(g\odot x) = g\odot\mathrm{GAP}(x) = g(s)\odot s$,
# so the classifier sees the crop's channel means re-weighted by the gate, and we can train on the
# crop means directly (computed for thousands of crops at once from a summed-area table). We train
# it three ways (no gate, SE, ECA from Section 6), 3 seeds each, crops from the left half of each
# photo for training and from the right half for testing.
#
# The SE block is torchvision's own, `torchvision.ops.SqueezeExcitation(C, C/r)` (the one inside its
# EfficientNet and RegNet; MobileNetV3 uses it with a hard sigmoid). Its `fc1` and `fc2` are $1\times1$
# convolutions, which on the $(B, C, 1, 1)$ pooled map are exactly the two linear layers of the formula.
# We initialise them with normal weights of variance $1/\text{fan-in}$ and zero biases, so that the 4
# bottleneck units start out in use (Section 6 prints how many are still active after training). ECA
# (Section 6) is written here as a sliding window over the vector of channel means; in the assignment
# you build both blocks yourself as `nn.Module`s, with `nn.Linear` and `nn.Conv1d`.

# %%
def se_gates(se: SqueezeExcitation, s: torch.Tensor) -> torch.Tensor:
    """The gates (B, C) torchvision's SE block computes from channel means s (B, C).

    Its `_scale` pools (a no-op on a 1x1 map), applies fc1, ReLU, fc2 and the sigmoid; its forward
    multiplies the input by the result.
    """
    return se._scale(s[:, :, None, None])[:, :, 0, 0]


def trainable_se(channels: int, hidden: int) -> SqueezeExcitation:
    """torchvision's SE block, initialised with N(0, 1/fan_in) weights and zero biases (see the text)."""
    se = SqueezeExcitation(channels, hidden)
    for conv in (se.fc1, se.fc2):
        nn.init.normal_(conv.weight, std=conv.in_channels**-0.5)
        nn.init.zeros_(conv.bias)
    return se


class SlidingWindowECA(nn.Module):
    """ECA's gate as a sliding window over the channel means: z_c = sum_j w_j s_(c+j-k//2), g = sigmoid(z).

    Channels beyond either end count as zero. k weights in total, whatever C is.
    """

    def __init__(self, k: int = 3):
        super().__init__()
        self.weight = nn.Parameter(0.3 * torch.randn(k))

    def gates(self, s: torch.Tensor) -> torch.Tensor:  # channel means (B, C) -> gates (B, C)
        k = self.weight.numel()
        windows = F.pad(s, (k // 2, k // 2)).unfold(-1, k, 1)  # (B, C, k): the k means centred on each channel
        return torch.sigmoid(windows @ self.weight)

    def forward(self, feature_maps: torch.Tensor) -> torch.Tensor:  # (B, C, H, W): scale channel c of image b by g[b, c]
        return torch.einsum("bchw,bc->bchw", feature_maps, self.gates(feature_maps.mean(dim=(2, 3))))


def gates_of(gate: nn.Module, s: torch.Tensor) -> torch.Tensor:
    return se_gates(gate, s) if isinstance(gate, SqueezeExcitation) else gate.gates(s)


class CropClassifier(nn.Module):
    """logits = linear(g(s) * s) from a crop's channel means s = GAP(crop); no gate: linear(s)."""

    def __init__(self, gate: nn.Module | None, channels: int = 16, classes: int = 3):
        super().__init__()
        self.gate = gate
        self.head = nn.Linear(channels, classes)

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        return self.head(s if self.gate is None else gates_of(self.gate, s) * s)


def summed_area(feats: torch.Tensor) -> torch.Tensor:
    """table[..., i, j] = sum of feats[..., :i, :j]; any crop's sum is then 4 look-ups."""
    return F.pad(feats.cumsum(2).cumsum(3), (1, 0, 1, 0))


def crop_means_at(table: torch.Tensor, labels: torch.Tensor, t: torch.Tensor, u: torch.Tensor, size: int) -> torch.Tensor:
    """Channel means (n, C) of the crops [labels[i], :, t[i]:t[i]+size, u[i]:u[i]+size] of the summed photos."""
    b, r = t + size, u + size
    sums = table[labels, :, b, r] - table[labels, :, t, r] - table[labels, :, b, u] + table[labels, :, t, u]
    return sums / size**2


def crop_means(table: torch.Tensor, n: int, size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Channel means of n random size x size crops, and which photo each came from."""
    labels = torch.randint(table.shape[0], (n,), generator=generator)
    t = torch.randint(table.shape[2] - size, (n,), generator=generator)
    u = torch.randint(table.shape[3] - size, (n,), generator=generator)
    return crop_means_at(table, labels, t, u, size), labels


CROP, STEPS = 40, 300
train_table = summed_area(features[..., :80])  # left half of each photo to train
test_table = summed_area(features[..., 80:])  # right half to test
test_s, test_y = crop_means(test_table, 2000, CROP, torch.Generator().manual_seed(123))
direct = features[2, :, 5 : 5 + CROP, 87 : 87 + CROP].mean(dim=(1, 2))  # the table agrees with a direct mean
assert torch.allclose(crop_means_at(test_table, torch.tensor([2]), torch.tensor([5]), torch.tensor([7]), CROP)[0], direct, atol=1e-4)


def train(gate: nn.Module | None, seed: int = 0) -> tuple[CropClassifier, float]:
    torch.manual_seed(seed)
    model = CropClassifier(gate)
    opt = torch.optim.Adam(model.parameters(), lr=0.03)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(STEPS):
        s, y = crop_means(train_table, 128, CROP, gen)
        loss = F.cross_entropy(model(s), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        acc = (model(test_s).argmax(1) == test_y).float().mean().item()
    return model, acc


t0 = time.perf_counter()
results = {}
for label, make in (("no gate", lambda: None), ("SE (r=4)", lambda: trainable_se(16, 4)), ("ECA (k=3)", lambda: SlidingWindowECA(3))):
    accs = []
    for seed in range(3):
        model, acc = train(make(), seed)
        accs.append(acc)
    results[label] = (model, accs)
    n_params = 0 if model.gate is None else sum(p.numel() for p in model.gate.parameters())
    print(f"{label:10s} gate parameters {n_params:4d}   held-out accuracy over 3 seeds: "
          f"{np.mean(accs):.3f} ± {np.std(accs):.3f}  ({', '.join(f'{a:.3f}' for a in accs)})")
print(f"(trained 9 models in {time.perf_counter() - t0:.1f} s)")
baseline = results["no gate"][1]
for label in ("SE (r=4)", "ECA (k=3)"):
    accs = results[label][1]
    spread = max(np.std(accs), np.std(baseline))
    verdict = "larger than" if abs(np.mean(accs) - np.mean(baseline)) > 2 * spread else "within"
    print(f"{label}: {np.mean(accs) - np.mean(baseline):+.3f} vs no gate, {verdict} twice the spread over seeds (±{spread:.3f})")
se_model, eca_model = results["SE (r=4)"][0], results["ECA (k=3)"][0]

# %% [markdown]
# Read these numbers for what they are: a 3-way task on three photos, where the crop's channel
# means alone already separate the classes well (the "no gate" line); a gate adds a multiplicative
# interaction $g(s)\odot s$ on top of the linear classifier. Compare each difference with the spread over
# seeds printed next to it: with three seeds, a difference within that spread is no evidence either way.
# ECA's gate has 3 weights shared by all channels and sees only neighbouring channels; in a hand-built
# bank whose neighbouring channels are not always related (Section 6) that is a strong restriction.
# None of this says how SE or ECA behave inside a deep network trained end to end on a large data set
# (for that, the papers' ImageNet tables, such as the one in Section 5).
#
# The point of the exercise is not the accuracy but the gates the SE block learned: below, the gate
# of every channel for every photo (whole photo as input).

# %%
with torch.no_grad():
    photo_se_gates = gates_of(se_model.gate, squeeze)  # (3 photos, 16 channels), whole photo as input
    photo_eca_gates = gates_of(eca_model.gate, squeeze)
fig, ax = plt.subplots(figsize=(12, 3.4))
for i, name in enumerate(photos):
    ax.bar(np.arange(16) + (i - 1) * width, photo_se_gates[i], width, label=name)
ax.axhline(0.5, color="grey", lw=0.8, ls="--")
ax.set_xticks(range(16), channel_names, rotation=60, ha="right", fontsize=8)
ax.set_ylim(0, 1)
ax.set_ylabel("gate $g_c$")
ax.set_title("Learned SE gates per photo: the same block boosts different channels for different inputs")
ax.legend()
plt.tight_layout()
plt.show()

fig, axes = plt.subplots(3, 7, figsize=(14, 6.2))
for row, name in enumerate(photos):
    order = torch.argsort(photo_se_gates[row], descending=True)
    picks = [("boosted", c) for c in order[:3].tolist()] + [("suppressed", c) for c in order[-3:].tolist()]
    axes[row, 0].imshow(photos[name].permute(1, 2, 0))
    axes[row, 0].set_title(name, fontsize=9)
    for j, (kind, c) in enumerate(picks):
        axes[row, j + 1].imshow(features[row, c] * photo_se_gates[row, c], cmap="magma", vmin=0, vmax=3)
        axes[row, j + 1].set_title(f"{kind}: {channel_names[c]}\ng = {photo_se_gates[row, c]:.2f}", fontsize=8)
for ax in axes.flat:
    ax.axis("off")
fig.suptitle("After rescaling (same colour scale): the three most boosted and the three most suppressed channels per photo")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 4. What SE costs: the reduction ratio
#
# Per SE block: $C\cdot\frac{C}{r} + \frac{C}{r}$ (first layer) $+\ \frac{C}{r}\cdot C + C$ (second layer)
# $= \frac{2C^2}{r} + C + \frac{C}{r} \approx \frac{2C^2}{r}$ parameters. A single $3\times3$
# convolution from $C$ to $C$ channels has $9C^2$, so with $r=16$ an SE block costs about
# $\frac{2/16}{9} \approx 1.4\%$ of one such convolution. The compute is even smaller: the MLP runs once
# per image, not once per position.
#
# Measured rather than estimated: we put SE (and ECA) into every bottleneck of torchvision's
# ResNet-50 (random weights, nothing downloaded), right after its last batch norm and before the
# residual addition (the standard place; Section 5), count the parameters and time a forward pass.

# %%
def se_params(c: int, r: int) -> int:
    h = max(1, c // r)
    return c * h + h + h * c + c


ECA_K = {}  # C -> ECA's kernel size psi(C), for the table and the ECA-ResNet-50 below
print(f"{'C':>5} | " + " | ".join(f"SE r={r:<2d}" for r in (4, 8, 16, 32)) + " | 3x3 conv C->C | ECA k")
for c in (64, 256, 512, 1024, 2048):
    t = int(abs((math.log2(c) + 1) / 2))
    ECA_K[c] = t if t % 2 else t + 1
    print(f"{c:5d} | " + " | ".join(f"{se_params(c, r):8,d}" for r in (4, 8, 16, 32)) + f" | {9 * c * c + c:13,d} | {ECA_K[c]}")


def resnet50_with(make_gate: Callable[[int], nn.Module] | None) -> nn.Module:
    """torchvision's ResNet-50 with make_gate(C) after the last batch norm of every bottleneck's branch."""
    net = torchvision.models.resnet50(weights=None)
    if make_gate is not None:
        for layer in (net.layer1, net.layer2, net.layer3, net.layer4):
            for bottleneck in layer:  # bn3 -> (bn3, gate): the gate sits on the residual branch, before the addition
                bottleneck.bn3 = nn.Sequential(bottleneck.bn3, make_gate(bottleneck.bn3.num_features))
    return net.eval()


def time_forward(net: nn.Module, x: torch.Tensor, repeats: int = 3) -> float:
    """The fastest of a few timed forward passes (the minimum is the least disturbed by other processes)."""
    times = []
    with torch.no_grad():
        net(x)  # warm-up
        for _ in range(repeats):
            start = time.perf_counter()
            net(x)
            times.append(time.perf_counter() - start)
    return min(times)


x = torch.randn(1, 3, 160, 160)
base_params = None
print(f"\n{'model':14s} {'parameters':>12s} {'added':>11s} {'vs ResNet-50':>13s} {'CPU forward, 1x3x160x160':>26s}")
for label, make_gate in (
    ("ResNet-50", None),
    ("SE-ResNet-50", lambda c: SqueezeExcitation(c, c // 16)),  # torchvision's SE block, r = 16
    ("ECA-ResNet-50", lambda c: SlidingWindowECA(ECA_K[c])),
):
    net = resnet50_with(make_gate)
    n = sum(p.numel() for p in net.parameters())
    base_params = base_params or n
    added = n - base_params
    print(f"{label:14s} {n:12,d} {added:+11,d} {100 * added / base_params:+12.2f}% {1000 * time_forward(net, x):23.0f} ms")

# %% [markdown]
# SE adds roughly 10% parameters to ResNet-50 (most of it in the last stage, where $C = 2048$:
# each of its SE blocks alone has $2\cdot2048^2/16 \approx 524$k weights), yet little time, because
# those weights are used once per image. ECA adds under a hundred parameters in total. (Timings on a
# shared CPU vary by tens of percent between runs, so compare them loosely; the parameter counts are exact.)
#
# ## 5. Where SE goes in a residual block
#
# A residual block computes $x_{l+1} = \mathrm{ReLU}(x_l + F(x_l))$. SE-ResNet applies SE to the
# **residual branch**, after its last batch norm and before the addition (Hu et al., Fig. 3):
# $x_{l+1} = \mathrm{ReLU}(x_l + g\odot F(x_l))$. The shortcut is untouched, so a gate near 0 silences the
# branch and the block passes its input on. This is the block you build in the assignment
# (`SEBasicBlock`), and where the ResNet-50 above had its gates. Placing SE **after** the addition
# ("SE-POST"), $x_{l+1} = \mathrm{ReLU}(g\odot(x_l + F(x_l)))$, scales the shortcut too: along a chain
# of shortcuts the gates of successive blocks multiply.
#
# How much does that matter? The paper measured it. Hu et al. (*Squeeze-and-Excitation Networks*,
# TPAMI version, Table 14) trained ResNet-50 on ImageNet with four placements:
#
# | placement | where the gate acts | top-1 error (%) | top-5 error (%) |
# | --- | --- | --- | --- |
# | SE (standard) | residual branch, before the addition | 22.28 | 6.03 |
# | SE-PRE | the block's input, before the residual unit | 22.23 | 6.00 |
# | SE-POST | the sum, after the addition | 22.78 | 6.35 |
# | SE-Identity | the shortcut, in parallel with the branch | 22.20 | 6.15 |
#
# SE-POST is about **half a point** worse in top-1 error (22.78 vs 22.28); the other three are equally
# good. A cost, not a collapse: the gates are **learned**, and training can move them towards 1 wherever a
# shortcut has to carry the signal.
#
# What SE-POST changes at the start of training, measured: 16 residual blocks (as many as ResNet-50
# has), each branch `conv-BN-ReLU-conv-BN` as in a ResNet basic block, each with torchvision's
# `SqueezeExcitation` at its default initialisation, run on the photos' feature maps
# (average-pooled to $40\times40$), with batch norm in training mode as at the first step.

# %%
torch.manual_seed(0)
stack_input = F.avg_pool2d(features, 4)  # (3 photos, 16 channels, 40, 40)
depth, ch = 16, stack_input.shape[1]


def residual_branch(channels: int) -> nn.Sequential:
    """F(x) of a ResNet basic block: conv-BN-ReLU-conv-BN."""
    return nn.Sequential(
        nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(),
        nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels),
    )


branches = [residual_branch(ch) for _ in range(depth)]
stack_gates = [SqueezeExcitation(ch, ch // 4) for _ in range(depth)]


def run_stack(placement: str) -> dict[str, list[float]]:
    """Per block: the signal's RMS, the mean SE gate, and the gain of the all-shortcut path from the input."""
    x, shortcut_gain = stack_input, torch.ones(stack_input.shape[:2])
    record = {"rms": [stack_input.pow(2).mean().sqrt().item()], "gate": [], "shortcut": [1.0]}
    with torch.no_grad():
        for branch, se in zip(branches, stack_gates):
            f = branch(x)
            if placement == "no SE":
                x = F.relu(x + f)
            elif placement == "SE on the branch":
                record["gate"].append(se_gates(se, f.mean(dim=(2, 3))).mean().item())
                x = F.relu(x + se(f))  # torchvision's SE: f times its gate
            else:  # SE-POST
                g = se_gates(se, (x + f).mean(dim=(2, 3)))
                record["gate"].append(g.mean().item())
                shortcut_gain = shortcut_gain * g  # the shortcut passes through every gate on its way
                x = F.relu(se(x + f))
            record["rms"].append(x.pow(2).mean().sqrt().item())
            record["shortcut"].append(shortcut_gain.mean().item())
    return record


stacks = {placement: run_stack(placement) for placement in ("no SE", "SE on the branch", "SE-POST")}
all_gates = stacks["SE on the branch"]["gate"] + stacks["SE-POST"]["gate"]
print(f"torchvision's SqueezeExcitation at initialisation: mean gate per block {min(all_gates):.3f} to {max(all_gates):.3f}")
for placement, record in stacks.items():
    print(f"{placement:17s}: signal RMS {record['rms'][0]:.2f} at the input, {record['rms'][-1]:.2f} after {depth} blocks; "
          f"all-shortcut path from the input scaled by {record['shortcut'][-1]:.2g}")

fig, axes = plt.subplots(1, 2, figsize=(12, 3.6))
for (placement, record), color in zip(stacks.items(), ("grey", "C0", "C3")):
    axes[0].plot(record["rms"], color=color, label=placement)
    axes[1].semilogy(record["shortcut"], color=color, label=placement)
axes[0].set_ylim(bottom=0)
axes[0].set_ylabel("signal RMS")
axes[0].set_title("The signal survives in every placement")
axes[1].set_ylabel("gain of the all-shortcut path")
axes[1].set_title("Only SE-POST scales the shortcuts, block after block")
for ax in axes:
    ax.set_xlabel("block")
    ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# What this measures, and what it does not:
#
# * An untrained SE block roughly **halves** the channels: its gates start around $\sigma(0) = 0.5$ (the mean
#   gate of each block is printed above), because its last layer's output starts small.
# * On the branch, that only scales $F$; the shortcut still carries the input unchanged.
# * In SE-POST the all-shortcut path shrinks by the product of the gates, about $0.5^{16}$ after 16 blocks,
#   yet the signal does not vanish (left plot): every branch ends in a batch norm, which puts a unit-scale
#   signal back in at each block, and the signal settles at a lower, steady level. Nothing collapses; what
#   SE-POST loses at initialisation is the clean shortcut. He et al. (*Identity Mappings in Deep Residual
#   Networks*, 2016, Sec. 3 and Table 1) found that scaling or gating the shortcut makes very deep ResNets
#   harder to optimise, and that a shortcut gate initialised near 1 (a large bias) comes much closer to the
#   plain shortcut.
# * None of this is trained. The gates are learned, and whether training recovers what SE-POST takes away
#   is what Table 14 measured: almost, at half a point of top-1 error on ImageNet.

# %% [markdown]
# ## 6. ECA: a 1-D convolution across channels
#
# SE's MLP mixes every channel with every other one through the bottleneck. ECA (Efficient Channel
# Attention) observes that a gate may need only its **neighbouring** channels, and that the
# dimensionality reduction itself hurts. It replaces the MLP by a 1-D convolution of width $k$ along the
# vector of channel means (zero padded, no bias):
#
# $$g_c = \sigma\Big(\sum_{j=-\lfloor k/2\rfloor}^{\lfloor k/2\rfloor} w_j\, s_{c+j}\Big), \qquad
# k = \psi(C) = \Big|\frac{\log_2 C + b}{\gamma}\Big|_{\text{odd}},\ \gamma = 2,\ b = 1,$$
#
# where $|t|_{\text{odd}}$ means: take the integer part $t$ of the expression and use $t$ if it is
# odd, else $t+1$. Wider layers get a wider kernel, slowly: $k = 3$ for $C = 64$, $5$ for $256$,
# $7$ for $2048$ (the table in Section 4). The parameter count is $k$, independent of $C$.
#
# A "1-D convolution" in PyTorch's sense is a cross-correlation: a window of $k$ weights sliding along
# the sequence, $w_{-\lfloor k/2\rfloor}$ meeting the channel before $c$. That is what
# `SlidingWindowECA.gates` in Section 3 computes, one window per channel (`unfold`); the assignment builds
# the same thing with `nn.Conv1d`.
#
# As matrices: both compute a pre-activation $z = M s$ from the squeezed vector. For ECA $M$ is a
# **banded** $C\times C$ matrix (the same $k$ weights on every row, shifted). SE's map is nonlinear;
# its Jacobian $\partial z/\partial s = W_2\,\mathrm{diag}(\mathrm{ReLU}')\,W_1$ at a photo is a
# low-rank **dense** matrix (rank at most $C/r$, the number of bottleneck units the ReLU lets through).
# Below, both from the models trained in Section 3; the SE Jacobian at the photo with the most active
# units. A unit that is off for a photo contributes nothing to that photo's gates (the counts are printed;
# a photo with no active unit gets the same gates whatever its content: $\sigma(b_2)$).

# %%
with torch.no_grad():
    w = eca_model.gate.weight
    k = w.numel()
    band = torch.zeros(16, 16)
    for c in range(16):
        for j in range(k):
            if 0 <= c + j - k // 2 < 16:
                band[c, c + j - k // 2] = w[j]
    # the banded matrix and the sliding window are the same map: check it on the temple's channel means
    s0 = squeeze[0]
    assert torch.allclose(torch.sigmoid(band @ s0), eca_model.gate.gates(s0[None])[0], atol=1e-6)
    se = se_model.gate  # torchvision's fc1, fc2 are 1x1 convolutions: weights (out, in, 1, 1)
    w1, b1, w2 = se.fc1.weight[:, :, 0, 0], se.fc1.bias, se.fc2.weight[:, :, 0, 0]
    active = (squeeze @ w1.T + b1) > 0  # (3 photos, C/r): which bottleneck units the ReLU lets through
    for name, units in zip(photos, active):
        print(f"{name:12s}: {int(units.sum())} of {units.numel()} bottleneck units active")
    pick = int(active.sum(dim=1).argmax())  # the photo with the most active units
    jac = w2 @ torch.diag(active[pick].float()) @ w1
fig, axes = plt.subplots(1, 2, figsize=(10, 4.3))
for ax, m, title in ((axes[0], jac, f"SE: dense, rank {int(torch.linalg.matrix_rank(jac))} (photo: {list(photos)[pick]})"),
                     (axes[1], band, f"ECA: banded, k = {k}, {k} parameters")):
    lim = m.abs().max().item()
    im = ax.imshow(m, cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("input channel (squeezed $s_j$)")
    ax.set_ylabel("gate pre-activation $z_c$")
    fig.colorbar(im, ax=ax, fraction=0.046)
plt.tight_layout()
plt.show()

fig, ax = plt.subplots(figsize=(12, 3.2))
for i, name in enumerate(photos):
    ax.bar(np.arange(16) + (i - 1) * width, photo_eca_gates[i], width, label=name)
ax.set_xticks(range(16), channel_names, rotation=60, ha="right", fontsize=8)
ax.set_ylim(0, 1)
ax.set_ylabel("gate $g_c$")
ax.set_title("Learned ECA gates per photo (3 parameters in total)")
ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# Note the ordering assumption behind ECA: "neighbouring channel" has a meaning only if nearby
# channel indices are related. In a trained CNN the order of channels is arbitrary at
# initialisation, and training adapts the filters to whatever local mixing ECA imposes; in our hand-built
# bank, neighbours are often related (edge angles, colour pairs), but not everywhere.
#
# ## 7. Explore: a photo, a channel, its gate
#
# Pick a photo and a channel: the channel's feature map before and after the SE gate (same colour
# scale), and all 16 gates with the chosen one highlighted.

# %%
def show_channel(photo: str = "temple", channel: int = 12) -> None:
    i = list(photos).index(photo)
    g_se, g_eca = photo_se_gates[i, channel].item(), photo_eca_gates[i, channel].item()
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.4), gridspec_kw={"width_ratios": [1, 1, 1, 2.2]})
    axes[0].imshow(photos[photo].permute(1, 2, 0))
    axes[0].set_title(photo)
    axes[1].imshow(features[i, channel], cmap="magma", vmin=0, vmax=3)
    axes[1].set_title(f"{channel_names[channel]}: before")
    axes[2].imshow(features[i, channel] * g_se, cmap="magma", vmin=0, vmax=3)
    axes[2].set_title(f"after SE (x {g_se:.2f})")
    for ax in axes[:3]:
        ax.axis("off")
    colors = ["C1" if c == channel else "C0" for c in range(16)]
    axes[3].bar(np.arange(16) - 0.2, photo_se_gates[i], 0.4, color=colors, label="SE")
    axes[3].bar(np.arange(16) + 0.2, photo_eca_gates[i], 0.4, color=colors, alpha=0.45, label="ECA")
    axes[3].set_xticks(range(16), channel_names, rotation=60, ha="right", fontsize=7)
    axes[3].set_ylim(0, 1)
    axes[3].set_title(f"gates for {photo} (solid: SE, light: ECA = {g_eca:.2f})")
    plt.tight_layout()
    plt.show()


if widgets is not None:
    widgets.interact(
        show_channel,
        photo=widgets.Dropdown(options=list(photos), value="temple", description="photo"),
        channel=widgets.IntSlider(value=12, min=0, max=15, description="channel"),
    )
else:
    show_channel("temple", 12)

# %% [markdown]
# ## Summary
#
# | | SE | ECA |
# | --- | --- | --- |
# | squeeze | global average pool, $s\in\mathbb{R}^C$ | the same |
# | excitation | $\sigma(W_2\,\mathrm{ReLU}(W_1 s + b_1) + b_2)$ | $\sigma(\text{conv1d}_k(s))$, $k=\psi(C)$ |
# | parameters per block | $\approx 2C^2/r$ | $k$ (3 to 9) |
# | gate of channel $c$ sees | all channels (through a rank-$C/r$ bottleneck) | channels $c-\lfloor k/2\rfloor..c+\lfloor k/2\rfloor$ |
#
# * The gate is one sigmoid factor per channel, broadcast over $H, W$ as `(B, C, 1, 1)`.
# * SE gates start around 0.5 (an untrained block roughly halves the channels); the gates are learned.
# * In a residual network, gate the residual branch, before the addition: the shortcut stays clean. Gating the
#   sum (SE-POST) cost about half a point of top-1 error on ImageNet (Hu et al., Table 14); it does not collapse.
# * The assignment: `SEBlock`, `eca_kernel_size`, `ECABlock` as `nn.Module`s with fixed attribute names, and
#   `SEBasicBlock`, a ResNet basic block with your SE on its branch, all checked against reference
#   implementations.

# %%
print(f"lesson ran in {time.perf_counter() - LESSON_START:.1f} s on {device}")
