# %% [markdown]
# # Day 3: spatial attention and CBAM
#
# Day 2's gates answered **which** channels matter. Today's answer **where**: a spatial gate is one
# number per position, shared by all channels,
#
# $$y_{c,i,j} = m_{i,j}(x)\; x_{c,i,j}, \qquad m(x) \in (0,1)^{H\times W}.$$
#
# The Convolutional Block Attention Module (CBAM, Woo et al., 2018) chains a channel gate and a
# spatial gate. Today:
#
# 1. spatial attention: pool across channels (mean and max), a $7\times7$ convolution, a sigmoid;
# 2. CBAM's channel gate: average **and** max pooling through one shared MLP;
# 3. three ways to compose them (channel first, spatial first, parallel);
# 4. an experiment on real handwritten digits (scikit-learn's bundled set, placed in clutter):
#    the three arrangements and the plain network, several seeds, measured and reported as measured;
# 5. the learned spatial gates drawn over the input images, with an interactive viewer;
# 6. debugging: the symptoms a broken attention network shows (an error, a gate that does nothing,
#    a loss that will not fall, predictions that depend on the batch) and a tool that finds the cause
#    of each. In the assignment you build CBAM yourself and use these tools on two broken networks.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from IPython.display import Markdown, display
from sklearn.datasets import load_digits

try:
    import ipywidgets as widgets
except ImportError:  # the lesson still runs; the interactive cell then draws one static view
    widgets = None

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
print(f"torch {torch.__version__}; device: {device}")
if device.type == "cpu":
    print("No GPU found: running on the CPU (the default experiment is sized for it).")
    # The models are tiny: one thread spares the cost of synchronising threads over small tensors,
    # and leaves the other cores to the other people on a shared machine.
    torch.set_num_threads(1)
torch.manual_seed(0)
LESSON_START = time.perf_counter()

# %% [markdown]
# ## 1. The data: handwritten digits in clutter
#
# scikit-learn ships 1,797 real handwritten digits of $8\times8$ pixels, each pixel one of 17 grey
# levels (the integers 0 to 16; the next cell counts both). On their own they are too easy to show
# anything about *where* to look, so we make the task spatial: each digit is placed at a random
# position of a $16\times16$ canvas, together with two $3\times3$ fragments cut from other digits
# (clutter that looks like strokes). The label is the digit's class. Train and test use different
# digits (the first 1,200 of a shuffled order, and the rest). The images stay this small so that the
# experiment below, twelve small networks, trains on a laptop's CPU (its cell prints how long it took).

# %%
def cluttered_digits(canvas: int = 16, digit: int = 8, fragments: int = 2, frag: int = 3, seed: int = 0):
    """Digits at random positions among fragments of other digits; returns (images (N, 1, canvas, canvas), labels)."""
    x, y = load_digits(return_X_y=True)
    x = torch.tensor(x, dtype=torch.float32).reshape(-1, 1, 8, 8) / 16.0
    big = x[:, 0] if digit == 8 else F.interpolate(x, size=(digit, digit), mode="bilinear", align_corners=False).clamp(0, 1)[:, 0]
    rng = np.random.default_rng(seed)
    out = torch.zeros(len(big), canvas, canvas)
    for i in range(len(big)):
        for _ in range(fragments):  # clutter first, the digit on top (pixel-wise max)
            src = big[rng.integers(len(big))]
            a, b = rng.integers(0, digit - frag + 1, size=2)
            t, u = rng.integers(0, canvas - frag + 1, size=2)
            out[i, t : t + frag, u : u + frag] = torch.maximum(out[i, t : t + frag, u : u + frag], src[a : a + frag, b : b + frag])
        t, u = rng.integers(0, canvas - digit + 1, size=2)
        out[i, t : t + digit, u : u + digit] = torch.maximum(out[i, t : t + digit, u : u + digit], big[i])
    order = torch.as_tensor(rng.permutation(len(big)))
    return out[order, None], torch.as_tensor(y)[order]


raw_digits, _ = load_digits(return_X_y=True)
levels = np.unique(raw_digits)
print(f"{len(raw_digits):,} digits of {int(raw_digits.shape[1] ** 0.5)}x{int(raw_digits.shape[1] ** 0.5)} pixels; "
      f"{len(levels)} grey levels, {levels.min():.0f} to {levels.max():.0f}")

images, labels = cluttered_digits()
x_train, y_train, x_test, y_test = images[:1200], labels[:1200], images[1200:], labels[1200:]
mean, std = x_train.mean(), x_train.std()
x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
print(f"train {tuple(x_train.shape)}, test {tuple(x_test.shape)}; classes {sorted(set(labels.tolist()))}")

fig, axes = plt.subplots(2, 10, figsize=(13, 3))
for ax, img, lab in zip(axes.flat, images[1200:1220], labels[1200:1220]):
    ax.imshow(img[0], cmap="gray_r")
    ax.set_title(f"label {lab.item()}", fontsize=8)
    ax.axis("off")
fig.suptitle("Test images: a real handwritten digit somewhere in the canvas, among fragments of others")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 2. Spatial attention
#
# To score position $(i, j)$ the module first summarises the $C$ channels there by two numbers, their
# mean and their maximum (the max keeps a strong response of a single channel that the mean
# would dilute):
#
# $$P = \big[\,\mathrm{mean}_c\, x_{c,:,:}\,;\ \max_c\, x_{c,:,:}\,\big] \in \mathbb{R}^{2\times H\times W},
# \qquad M_s(x) = \sigma\big(f^{7\times7}(P)\big) \in (0,1)^{1\times H\times W}.$$
#
# $f^{7\times7}$ is a convolution from 2 maps to 1 (98 weights, no bias) with padding 3 so that
# $H\times W$ is kept; its receptive field lets the score of a position depend on its
# neighbourhood. Order matters only by convention: the first input map is the mean, the second the max.
#
# ## 3. CBAM's channel attention
#
# Like SE, but the spatial summary is taken twice, by average and by max pooling, and both go
# through the **same** MLP (shared weights: no extra parameters, and both summaries are mapped
# into the same space before they are added):
#
# $$M_c(x) = \sigma\big(\mathrm{MLP}(\mathrm{AvgPool}(x)) + \mathrm{MLP}(\mathrm{MaxPool}(x))\big) \in (0,1)^{C\times1\times1}.$$
#
# ## 4. Composing them
#
# | arrangement | computation |
# | --- | --- |
# | channel first (CBAM's default) | $x' = x\odot M_c(x)$, $\;y = x'\odot M_s(x')$ |
# | spatial first | $x' = x\odot M_s(x)$, $\;y = x'\odot M_c(x')$ |
# | parallel | $y = x\odot M_c(x)\odot M_s(x)$, both gates from $x$ |
#
# Broadcasting applies the gates: `(B, C, H, W) * (B, C, 1, 1)` and `(B, C, H, W) * (B, 1, H, W)`.
# The CBAM paper (Woo et al., 2018, Table 3: ResNet-50 on ImageNet) reports channel-first ahead of
# the other two: top-1 error 22.66 % channel first, 22.78 % spatial first, 22.95 % in parallel, so
# margins of 0.12 and 0.29 percentage points. We now ask the same question at a scale that runs on a
# CPU.
#
# The code below writes the two gates in a different form from the formulas' literal reading (and
# from the assignment's interface), to show what "one shared MLP" means to the machine:
#
# * **The channel gate as $1\times1$ convolutions.** A $1\times1$ convolution is a linear layer applied
#   at every position. Put the two pooled descriptors side by side as a `(B, C, 1, 2)` "image": one
#   pass of the $1\times1$-convolution MLP processes both with the same weights, and adding the two
#   columns gives $\mathrm{MLP}(\mathrm{avg}) + \mathrm{MLP}(\max)$.
# * **The spatial gate as a pipeline:** `nn.Sequential(channel pooling, conv, sigmoid)`.
# * **An arrangement as a recipe:** a list of steps; all gates of one step are computed from the
#   same input and then applied. Channel first is `[channel], [spatial]`; parallel is one step
#   `[channel, spatial]`.

# %%
class SideBySidePool(nn.Module):
    """(B, C, H, W) -> (B, C, 1, 2): the average-pooled and the max-pooled descriptor as two columns."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([F.adaptive_avg_pool2d(x, 1), F.adaptive_max_pool2d(x, 1)], dim=3)


class SumColumns(nn.Module):
    """(B, C, 1, 2) -> (B, C, 1, 1): MLP(avg) + MLP(max)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.sum(dim=3, keepdim=True)


def mlp_gate(channels: int, reduction: int = 4) -> nn.Sequential:
    """M_c(x) as a pipeline: both descriptors through one MLP of 1x1 convolutions, summed, one sigmoid."""
    width = channels // reduction or 1  # at least one hidden unit
    shared_mlp = [nn.Conv2d(channels, width, 1), nn.ReLU(), nn.Conv2d(width, channels, 1)]  # the same weights on both columns
    return nn.Sequential(SideBySidePool(), *shared_mlp, SumColumns(), nn.Sigmoid())


class ChannelPool(nn.Module):
    """The two maps the spatial convolution sees: (B, C, H, W) -> (B, 2, H, W), the mean first, then the max."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        per_position = x.flatten(2)  # (B, C, H*W): the statistics run over the channel axis, one position at a time
        stats = torch.stack((per_position.mean(1), per_position.max(1).values), 1)  # (B, 2, H*W)
        return stats.unflatten(2, x.shape[2:])


def conv_gate(kernel_size: int = 7) -> nn.Sequential:
    """M_s(x) as a pipeline: channel pooling, a k x k convolution from 2 maps to 1 (no bias), a sigmoid."""
    same_size = nn.Conv2d(2, 1, kernel_size, padding="same", bias=False)  # odd k: pads k // 2 on each side
    return nn.Sequential(ChannelPool(), same_size, nn.Sigmoid())


# An arrangement is a list of steps; the gates of one step are all computed from the step's input.
RECIPES: dict[str, list[tuple[str, ...]]] = {
    "channel_first": [("channel",), ("spatial",)],
    "spatial_first": [("spatial",), ("channel",)],
    "parallel": [("channel", "spatial")],
    "channel_only": [("channel",)],  # ablations: one gate unused
    "spatial_only": [("spatial",)],
}


class GateStage(nn.Module):
    """CBAM's two gates, applied as a recipe says; keeps the last spatial gate for plotting."""

    def __init__(self, channels: int, recipe: list[tuple[str, ...]], reduction: int = 4, kernel_size: int = 7):
        super().__init__()
        self.recipe = recipe
        self.gates = nn.ModuleDict({"channel": mlp_gate(channels, reduction), "spatial": conv_gate(kernel_size)})
        self.last_spatial: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for step in self.recipe:
            masks = {name: self.gates[name](x) for name in step}  # every gate of a step sees the same x
            if "spatial" in masks:
                self.last_spatial = masks["spatial"].detach()
            for mask in masks.values():
                x = x * mask  # broadcasting: (B, C, 1, 1) or (B, 1, H, W) against (B, C, H, W)
        return x


stage = GateStage(16, RECIPES["channel_first"])
counts = {name: sum(p.numel() for p in gate.parameters()) for name, gate in stage.gates.items()}
print(f"gates for C = 16 channels, reduction 4: channel gate {counts['channel']} parameters, 7x7 spatial gate {counts['spatial']}")
probe = torch.randn(2, 16, 5, 6)
print({name: tuple(gate(probe).shape) for name, gate in stage.gates.items()}, "->", tuple(stage(probe).shape))


class SmallNet(nn.Module):
    """Three conv blocks; an attention module after each of the first two (or none)."""

    def __init__(self, mode: str | None, widths: tuple[int, int, int] = (8, 16, 32)):
        super().__init__()
        c1, c2, c3 = widths

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())

        self.block1, self.block2, self.block3 = block(1, c1), block(c1, c2), block(c2, c3)
        self.att1 = GateStage(c1, RECIPES[mode]) if mode else nn.Identity()
        self.att2 = GateStage(c2, RECIPES[mode]) if mode else nn.Identity()
        self.head = nn.Linear(c3, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(self.att1(self.block1(x)), 2)  # 16 -> 8
        x = F.max_pool2d(self.att2(self.block2(x)), 2)  # 8 -> 4
        return self.head(self.block3(x).mean(dim=(2, 3)))


def run(mode: str | None, seed: int, epochs: int, batch: int = 100) -> tuple[SmallNet, float]:
    """Train with Adam and a one-cycle schedule from a seed (same data order for every mode at that seed); test accuracy."""
    torch.manual_seed(seed)
    model = SmallNet(mode).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    steps = epochs * -(-len(x_train) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=steps)  # warm-up, then anneal to ~0
    gen = torch.Generator().manual_seed(seed)
    xt, yt = x_train.to(device), y_train.to(device)
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(xt), generator=gen).split(batch):
            loss = F.cross_entropy(model(xt[idx.to(device)]), yt[idx.to(device)])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    with torch.no_grad():
        acc = (model(x_test.to(device)).argmax(1).cpu() == y_test).float().mean().item()
    return model, acc


# %% [markdown]
# ### The experiment
#
# Same data, same seeds (initialisation and batch order) for every arrangement; only the attention
# modules differ. `FULL = False` (default) is sized for a CPU in a shared classroom: 3 seeds,
# 6 epochs, the plain network and the three CBAM arrangements (12 runs, 72 network-epochs).
# `FULL = True` adds the single-gate ablations and uses 5 seeds and 15 epochs: 30 runs, 450
# network-epochs, about six times the default's training work. The cell prints the time it took.

# %%
FULL = False
SEEDS = range(5) if FULL else range(3)
EPOCHS = 15 if FULL else 6
MODES = [None, "channel_first", "spatial_first", "parallel"] + (["channel_only", "spatial_only"] if FULL else [])

t0 = time.perf_counter()
test_acc: dict[str, list[float]] = {}
models: dict[str, SmallNet] = {}
for mode in MODES:
    name = mode or "no attention"
    test_acc[name] = []
    for seed in SEEDS:
        model, acc = run(mode, seed, EPOCHS)
        test_acc[name].append(acc)
        if seed == 0:
            models[name] = model.cpu()
    n_params = sum(p.numel() for p in models[name].parameters())
    runs = ", ".join(f"{a:.3f}" for a in test_acc[name])
    print(f"{name:14s} params {n_params:6,d}   test accuracy {np.mean(test_acc[name]):.3f} ± {np.std(test_acc[name]):.3f}   ({runs})")
train_seconds = time.perf_counter() - t0
print(f"{len(MODES) * len(SEEDS)} training runs in {train_seconds:.0f} s on {device}")

# %%
names = list(test_acc)
fig, ax = plt.subplots(figsize=(8, 3.6))
for i, name in enumerate(names):
    ax.scatter(np.full(len(test_acc[name]), i) + np.linspace(-0.1, 0.1, len(test_acc[name])), test_acc[name], color="C0", alpha=0.6)
    ax.errorbar(i + 0.25, np.mean(test_acc[name]), yerr=np.std(test_acc[name]), fmt="o", color="C3", capsize=4)
ax.set_xticks(range(len(names)), names, rotation=15)
ax.set_ylabel("test accuracy")
ax.set_title(f"Cluttered digits, {len(SEEDS)} seeds x {EPOCHS} epochs (dots: seeds; red: mean ± std)")
plt.tight_layout()
plt.show()

# paired differences: the same seed means the same initial conv weights and the same batches
base = np.array(test_acc["channel_first"])
paired = {other: base - np.array(test_acc[other]) for other in names if other != "channel_first"}
for other, d in paired.items():
    print(f"channel_first - {other:13s}: mean {d.mean():+.3f}, per seed {', '.join(f'{v:+.3f}' for v in d)}")
arrangements = ("channel_first", "spatial_first", "parallel")
spread = max(np.std(v) for v in test_acc.values())
order_gap = max(np.mean(test_acc[m]) for m in arrangements) - min(np.mean(test_acc[m]) for m in arrangements)
best = max(arrangements, key=lambda m: np.mean(test_acc[m]))
gain = np.mean(test_acc[best]) - np.mean(test_acc["no attention"])


def verdict(gap: float) -> str:
    """A gap compared with twice the largest seed-to-seed standard deviation of this run."""
    if abs(gap) < 2 * spread:
        return "within twice the seed-to-seed spread: no reliable difference in this run"
    return "larger than twice the seed-to-seed spread"


lines = [
    f"| model | test accuracy, mean ± std over {len(SEEDS)} seeds | per seed |",
    "| --- | --- | --- |",
    *(f"| {n} | {np.mean(test_acc[n]):.3f} ± {np.std(test_acc[n]):.3f} | {', '.join(f'{a:.3f}' for a in test_acc[n])} |"
      for n in names),
    "",
    f"* Largest gap between the three arrangements: **{order_gap:.3f}**; largest seed-to-seed std: **{spread:.3f}**. "
    f"The gap is {verdict(order_gap)}.",
    f"* Best arrangement ({best}) minus the plain network: **{gain:+.3f}**, {verdict(gain)}"
    + ("." if abs(gain) < 2 * spread else (": attention helped." if gain > 0 else ": attention hurt.")),
]
for ablation in ("spatial_only", "channel_only"):
    if ablation in test_acc:
        d = np.mean(test_acc[ablation]) - np.mean(test_acc["channel_first"])
        lines.append(f"* {ablation} minus channel_first: **{d:+.3f}**, {verdict(d)}.")
display(Markdown("\n".join(lines)))

# %% [markdown]
# **What to take from it.** The table and the verdicts above are this run's; read them, not a
# slogan. A gap between two models counts as an effect here only when it exceeds twice the largest
# seed-to-seed standard deviation (the per-seed columns show how large that spread is). Where the
# arrangements do not clear that bar, the experiment can neither confirm nor refute "sequential,
# channel first is best". The CBAM paper supports that ordering with ImageNet-scale training, and
# even there the margins are 0.12 and 0.29 percentage points (Table 3). Whether attention helps at
# all is a separate question; the verdict on the plain network says what this run found.
#
# `FULL = True` runs 5 seeds of 15 epochs and adds two ablations, a network with the channel gate
# only and one with the spatial gate only, and prints the same verdicts for them: on a task whose
# difficulty is *where* the digit is, it is worth measuring which gate carries the effect. (The
# single-gate models keep both gates' parameters, hence the same parameter count; one gate is
# unused, and section 6 shows how to detect exactly that.) A claim about an architecture needs the
# seeds, the spread and the scale next to it.
#
# ## 5. Where do the learned spatial gates look?
#
# The first attention module works at the input's resolution ($16\times16$), so its spatial gate
# $M_s$ can be laid over the image. Below: test images, and the gate of each arrangement's model
# (seed 0) as a heatmap (bright = kept, dark = suppressed), with the input's strokes outlined in cyan.

# %%
def spatial_gate(model: SmallNet, x: torch.Tensor, layer: int = 1) -> torch.Tensor:
    """The spatial gate of attention module `layer` for images x, upsampled to the input size."""
    with torch.no_grad():
        model(x)
    gate = (model.att1 if layer == 1 else model.att2).last_spatial
    return F.interpolate(gate, size=x.shape[-2:], mode="nearest")[:, 0]


show = x_test[:8]
raw = images[1200:1208, 0]
fig, axes = plt.subplots(3, 8, figsize=(14, 5.6))
for row, mode in enumerate(("channel_first", "spatial_first", "parallel")):
    gates = spatial_gate(models[mode], show)
    with torch.no_grad():
        pred = models[mode](show).argmax(1)
    for j in range(8):
        ax = axes[row, j]
        ax.imshow(gates[j], cmap="inferno", vmin=0, vmax=1)
        ax.contour(raw[j], levels=[0.35], colors="cyan", linewidths=0.8)  # the strokes of the input
        ax.set_title(f"{mode}\ntrue {y_test[j].item()}, pred {pred[j].item()}", fontsize=7)
        ax.axis("off")
fig.suptitle("Spatial gate of the first CBAM (bright = kept, dark = suppressed); cyan: outline of the input's strokes")
plt.tight_layout()
plt.show()

# %%
with torch.no_grad():
    feats = models["channel_first"].block1(show[:1])
    after_channel = feats * models["channel_first"].att1.gates["channel"](feats)
    pooled = ChannelPool()(after_channel)[0]  # what the spatial gate's convolution receives
    gate = spatial_gate(models["channel_first"], show[:1])[0]
fig, axes = plt.subplots(1, 4, figsize=(11, 3))
for ax, img, title in zip(axes, (raw[0], pooled[0], pooled[1], gate), ("input", "mean over channels", "max over channels", "gate sigma(conv7x7([mean, max]))")):
    ax.imshow(img, cmap="gray_r" if title == "input" else "viridis")
    ax.set_title(title, fontsize=9)
    ax.axis("off")
fig.suptitle("What the 7x7 convolution sees: the two channel-pooled maps (channel-first model, first CBAM)")
plt.tight_layout()
plt.show()

# %% [markdown]
# The gates are what a small network found useful for *its* loss, not a segmentation: nothing asks
# them to cover the digit neatly, and the three arrangements, trained from the same seed, learned
# different ones (compare the rows). Use the viewer to look at more test images and at the second
# module's (coarser, $8\times8$) gate.

# %%
def view(index: int = 0, mode: str = "channel_first", layer: int = 1) -> None:
    x = x_test[index : index + 1]
    gate = spatial_gate(models[mode], x, layer)[0]
    with torch.no_grad():
        probs = F.softmax(models[mode](x), dim=1)[0]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.3), gridspec_kw={"width_ratios": [1, 1, 1.6]})
    axes[0].imshow(images[1200 + index, 0], cmap="gray_r")
    axes[0].set_title(f"test image {index}, label {y_test[index].item()}")
    axes[1].imshow(gate, cmap="inferno", vmin=0, vmax=1)
    axes[1].contour(images[1200 + index, 0], levels=[0.35], colors="cyan", linewidths=0.8)
    axes[1].set_title(f"{mode}: spatial gate, module {layer}")
    for ax in axes[:2]:
        ax.axis("off")
    axes[2].bar(range(10), probs, color=["C3" if c == y_test[index].item() else "C0" for c in range(10)])
    axes[2].set_xticks(range(10))
    axes[2].set_title("predicted probabilities (red: true class)")
    plt.tight_layout()
    plt.show()


if widgets is not None:
    widgets.interact(
        view,
        index=widgets.IntSlider(value=0, min=0, max=len(x_test) - 1, description="test image"),
        mode=widgets.Dropdown(options=["channel_first", "spatial_first", "parallel"], value="channel_first", description="model"),
        layer=widgets.Dropdown(options=[1, 2], value=1, description="module"),
    )
else:
    view(0, "channel_first", 1)

# %% [markdown]
# ## 6. Debugging an attention network: from symptom to cause
#
# Attention modules fail in a few typical ways, and each shows a symptom before anyone reads the
# code. For each symptom, a tool that points at the cause:
#
# | symptom | first tool |
# | --- | --- |
# | an error about sizes | the broadcasting rule; a shape trace with forward hooks |
# | a gate that does nothing | the gradient test (`.grad is None`); the bypass test |
# | a loss that will not fall | the loss at initialisation; overfitting one small batch; the output's range |
# | predictions that change with the batch or between calls | two invariance tests in eval mode |
#
# ### 6.1 An error about sizes
#
# **Broadcasting aligns shapes from the right.** Two sizes are compatible when they are equal or one
# of them is 1. A gate must therefore carry its singleton axes explicitly: `(B, C, 1, 1)` for a
# channel gate, `(B, 1, H, W)` for a spatial one. `torch.broadcast_shapes` applies the rule without
# computing anything:

# %%
def broadcast(x_shape: tuple[int, ...], g_shape: tuple[int, ...]) -> str:
    try:
        return f"-> {tuple(torch.broadcast_shapes(x_shape, g_shape))}"
    except RuntimeError as err:
        return f"error: {str(err).split('!')[0]}"


x_shape = (2, 16, 8, 12)  # (B, C, H, W), all sizes different
for g_shape in [(2, 16, 1, 1), (2, 1, 8, 12), (2, 16), (16,), (2, 8, 12)]:
    print(f"x {x_shape} * gate {str(g_shape):14s} {broadcast(x_shape, g_shape)}")
square = (12, 12, 12, 12)  # B = C = H = W: every size coincides
print(f"x {square} * gate {str((12, 12)):14s} {broadcast(square, (12, 12))}   (runs, but pairs the gate's axes with H and W)")

# %% [markdown]
# Only the first two lines apply a gate as meant. A `(B, C)` gate is matched against `(H, W)`: with
# sizes that differ this raises an error, and when the sizes happen to coincide it runs and silently
# scales position `(h, w)` by the gate entry `[h, w]`. Test a module with sizes that are all
# different (here 2, 16, 8, 12), so that a misaligned axis fails loudly.
#
# **A shape trace.** Forward hooks run after a module's forward; one that prints the output shape of
# every child shows where the sizes stop fitting. Here, a small classifier for our $16\times16$
# images whose linear layer was sized by guessing:

# %%
def trace_shapes(model: nn.Module, x: torch.Tensor) -> None:
    """Print each child module's output shape for one forward pass; stop at the first error."""
    hooks = [child.register_forward_hook(lambda m, i, o, n=n: print(f"  {n:3s} {type(m).__name__:10s} -> {tuple(o.shape)}"))
             for n, child in model.named_children()]
    try:
        model(x)
    except RuntimeError as err:
        print(f"  stopped: {err}")
    finally:
        for h in hooks:
            h.remove()


guessed = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(16 * 8 * 8, 10),
)
trace_shapes(guessed, x_test[:1])

# %% [markdown]
# The trace shows the last pooling's output and the flattened vector the linear layer receives. In
# the error, `mat1` is that input, (batch, features), and `mat2` is the layer's weight transposed,
# (`in_features`, `out_features`): the two inner numbers must agree, so `in_features` must equal the
# traced feature count. Every $2\times2$ pooling halves $H$ and $W$; trace it rather than compute it
# in your head. (`nn.LazyLinear`, or global average pooling before the head, removes the dependence
# on the input size altogether.)
#
# ### 6.2 A gate that does nothing
#
# **The gradient test.** After one `backward()`, a parameter whose `.grad` is still `None` had no path
# to the loss: autograd never reached it, so it never learns. A gradient that is a tensor of small
# numbers, or even of zeros, is a different matter: the path exists. Below: the `channel_only`
# recipe of section 4, whose spatial gate is built but never applied, next to a `channel_first` stage
# whose spatial convolution starts at exactly zero.

# %%
def no_gradient(module: nn.Module, x: torch.Tensor) -> dict[str, str]:
    """One backward pass of a weighted sum of the output; how each parameter's gradient came out."""
    module.zero_grad()
    (module(x) * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))).sum().backward()
    return {n: "None" if p.grad is None else f"norm {p.grad.norm():.2e}" for n, p in module.named_parameters()}


torch.manual_seed(0)
features = torch.randn(4, 16, 8, 8)
for label, stage in (("channel_only recipe", GateStage(16, RECIPES["channel_only"])),
                     ("channel_first, spatial conv zeroed", GateStage(16, RECIPES["channel_first"]))):
    if label.endswith("zeroed"):
        nn.init.zeros_(stage.gates["spatial"][1].weight)
    print(label)
    for name, grad in no_gradient(stage, features).items():
        print(f"   {name:24s} grad {grad}")

# %% [markdown]
# The unused spatial convolution reports `None`; the zero-initialised one gets a gradient like any
# other weight and will move at the first optimiser step.
#
# **The bypass test.** A gate that is applied can still be useless to the network. Replace a module's
# output by its input (a forward hook that returns `args[0]`) and measure what changes. For the
# trained channel-first models of section 4, the test accuracy with each attention module bypassed:

# %%
def accuracy_with(model: nn.Module, bypass: tuple[nn.Module, ...] = ()) -> float:
    """Test accuracy with the given modules turned into the identity."""
    hooks = [m.register_forward_hook(lambda mod, args, out: args[0]) for m in bypass]
    try:
        with torch.no_grad():
            return (model(x_test).argmax(1) == y_test).float().mean().item()
    finally:
        for h in hooks:
            h.remove()


trained = models["channel_first"].eval()
for label, bypass in (("nothing bypassed", ()), ("first module bypassed", (trained.att1,)),
                      ("second module bypassed", (trained.att2,)), ("both bypassed", (trained.att1, trained.att2))):
    print(f"{label:24s} test accuracy {accuracy_with(trained, bypass):.3f}")

# %% [markdown]
# A network that learned to rely on its gates loses accuracy when they are bypassed (the numbers
# above say how much this one relies on each module). If the logits do not change at all, the
# module's output never reaches them: it is computed and dropped.
#
# ### 6.3 A loss that will not fall
#
# Three checks, cheapest first.
#
# 1. **The loss at initialisation.** A freshly initialised classifier is unsure, so its cross-entropy
#    should be close to $\ln K$ for $K$ classes: $\ln 10 \approx 2.303$.
# 2. **Overfit one small batch.** A network and loss that are wired correctly can memorise 32 images
#    in a few dozen steps. If the loss on a single batch does not approach zero, the problem is in the
#    model or the loss, not in the data or the number of epochs.
# 3. **Look at what the network returns.** `F.cross_entropy` expects *logits*, unnormalised scores
#    of any sign and size: the documentation of `nn.CrossEntropyLoss` says the input "is expected to
#    contain the unnormalized logits for each class" (the loss applies the log-softmax itself).

# %%
torch.manual_seed(0)
fresh = SmallNet("channel_first")
batch_x, batch_y = x_train[:32], y_train[:32]
with torch.no_grad():
    out = fresh.eval()(batch_x)
print(f"loss at initialisation {F.cross_entropy(out, batch_y).item():.3f}  (ln 10 = {np.log(10):.3f})")
print(f"the network's output: values from {out.min():.2f} to {out.max():.2f}; "
      f"row sums from {out.sum(1).min():.2f} to {out.sum(1).max():.2f}")

opt = torch.optim.Adam(fresh.parameters(), lr=1e-2)
fresh.train()
one_batch = []
for _ in range(60):
    loss = F.cross_entropy(fresh(batch_x), batch_y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    one_batch.append(loss.item())
print(f"one batch of 32, 60 Adam steps: loss {one_batch[0]:.3f} -> {one_batch[-1]:.4f}")
plt.figure(figsize=(5, 3))
plt.semilogy(one_batch)
plt.xlabel("step")
plt.ylabel("cross-entropy (log scale)")
plt.title("Overfitting one batch: a healthy network memorises it")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### 6.4 Predictions that depend on the batch, or change between calls
#
# In eval mode a classifier is a function of each image alone: calling it twice gives the same
# logits, and an image's logits do not depend on which other images share its batch. (In train mode
# batch normalisation does use the batch's statistics; that is why both tests run in eval mode.)
# Both properties are cheap to test:

# %%
with torch.no_grad():
    trained.eval()
    first, second = trained(x_test[:64]), trained(x_test[:64])
    alone = trained(x_test[5:6])
print(f"two calls on the same 64 images: max |difference| {(first - second).abs().max().item():.2e}")
print(f"image 5 alone vs in its batch of 64: max |difference| {(alone - first[5:6]).abs().max().item():.2e}")

# %% [markdown]
# Both differences are zero up to floating-point rounding. The first test fails when something in
# `forward` draws new random numbers or keeps state from call to call; the second when some
# computation mixes the images of a batch.
#
# ## Summary
#
# * Spatial gate: $\sigma(f^{7\times7}([\mathrm{mean}_c; \max_c]))$, shape `(B, 1, H, W)`; its only
#   parameters are the convolution's $2\cdot7\cdot7$ weights, whatever $C$ is.
# * CBAM's channel gate: avg- and max-pooled descriptors through **one** shared MLP, summed, one sigmoid.
# * Arrangements: channel first, spatial first, parallel. At our scale, measured over seeds, report
#   the spread next to every gap; the paper's ImageNet margins are tenths of a percent.
# * Gates broadcast only with the right singleton axes: `(B, C, 1, 1)` and `(B, 1, H, W)`; test with
#   sizes that all differ.
# * Debugging: trace shapes with hooks; `.grad is None` means no path to the loss; a bypass shows what
#   a module contributes; check the initial loss, overfit one batch, return logits; test that
#   predictions do not depend on the batch or on the call.

# %%
print(f"lesson ran in {time.perf_counter() - LESSON_START:.1f} s on {device}")
