# %% [markdown] nb="readonly:intro"
# # Day 3 assignment: spatial attention and CBAM
#
# You will build the Convolutional Block Attention Module (CBAM, Woo et al., 2018) from its two
# halves, compose them in three ways, and then hunt the bugs in two networks that use such gates:
#
# 1. `ChannelAttention`: *which* channels matter; average- and max-pooled descriptors through one
#    shared MLP; returns the gate $M_c(x)$ of shape `(B, C, 1, 1)`.
# 2. `SpatialAttention`: *where* to look; mean and max across channels, a $k\times k$ convolution;
#    returns the gate $M_s(x)$ of shape `(B, 1, H, W)`.
# 3. `CBAM`: the two gates applied channel-first, spatial-first, or in parallel.
# 4. `FixedNet`: bug hunt 1. A small classifier that does not run; you write the repaired version.
# 5. `FixedDigitNet`: bug hunt 2. A digit classifier that, once it runs, does not learn as it should.
#
# Then answer four concept questions.
#
# **How to work.** Write your code where it says `# YOUR CODE HERE` and delete the
# `raise NotImplementedError()` line. Run the test cell under each exercise: it explains what is
# wrong in words. When you are graded, more (hidden) checks run: other channel counts (also fewer
# channels than the reduction ratio), kernel sizes, non-square maps, batch 1, float64, gradients,
# and a comparison with an independent reference implementation using the same weights.
# Before you submit: *Kernel → Restart Kernel and Run All Cells*, and make sure nothing fails.
# Do not rename the notebook or delete cells.
#
# Note the difference from Day 2: here `ChannelAttention` and `SpatialAttention` **return the gate**
# (so that `CBAM` can decide where to apply it); `CBAM` and Day 2's blocks **return the rescaled
# input**.

# %% nb="readonly:setup"
import matplotlib.pyplot as plt
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"
print(f"torch {torch.__version__}; running on {device}" + ("" if device == "cuda" else " (no GPU found: this assignment needs none)"))


def check_close(actual, expected, what, atol=1e-5, rtol=1e-4):
    """Compare a tensor with the expected one and explain any difference."""
    if not isinstance(actual, torch.Tensor):
        raise AssertionError(f"{what} should be a torch.Tensor, got {type(actual).__name__}")
    if actual.shape != expected.shape:
        raise AssertionError(f"{what} has shape {tuple(actual.shape)}, expected {tuple(expected.shape)}")
    if actual.dtype != expected.dtype:
        raise AssertionError(f"{what} has dtype {actual.dtype}, expected {expected.dtype}")
    if not torch.allclose(actual, expected, atol=atol, rtol=rtol):
        diff = (actual - expected).abs().nan_to_num(nan=float("inf"))
        index = tuple(int(i) for i in torch.nonzero(diff == diff.max())[0])
        raise AssertionError(
            f"{what} differs from the expected values by up to {diff.max().item():.3g} "
            f"(tolerance {atol:g} + {rtol:g}*|expected|); first at index {index}: "
            f"got {actual[index].item():.6g}, expected {expected[index].item():.6g}"
        )
    print(f"ok: {what}")


def check_shape(t, shape, what, hint=""):
    """Explain a shape mismatch (and what usually causes it)."""
    if not isinstance(t, torch.Tensor):
        raise AssertionError(f"{what} should be a torch.Tensor, got {type(t).__name__}")
    if tuple(t.shape) != tuple(shape):
        raise AssertionError(f"{what} has shape {tuple(t.shape)}, expected {tuple(shape)}" + (f". {hint}" if hint else ""))


def check_parameters(module, expected, what):
    """The module's parameters must have exactly these names and shapes."""
    got = {name: tuple(p.shape) for name, p in module.named_parameters()}
    if got != expected:
        missing = {k: v for k, v in expected.items() if got.get(k) != v}
        extra = {k: v for k, v in got.items() if k not in expected}
        raise AssertionError(f"{what}: parameters should be {expected}; missing or of another shape: {missing}; unexpected: {extra}")


def set_weights(module, seed):
    """Overwrite every parameter (taken in order of name) with seeded random numbers, so that the
    output can be compared with numbers computed in advance."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in sorted(module.named_parameters(), key=lambda item: item[0]):
            p.copy_(0.5 * torch.randn(p.shape, generator=g))
    return module


def seeded_input(seed, *shape):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# %% [markdown] nb="readonly:ca_intro"
# ## Exercise 1: channel attention with a shared MLP (3 points)
#
# $$M_c(x) = \sigma\big(\mathrm{MLP}(\mathrm{AvgPool}(x)) + \mathrm{MLP}(\mathrm{MaxPool}(x))\big) \in (0,1)^{B\times C\times 1\times 1}$$
#
# where AvgPool and MaxPool reduce over $H, W$ (giving `(B, C)` each) and **the same** MLP
# `nn.Sequential(nn.Linear(C, hidden), nn.ReLU(), nn.Linear(hidden, C))`, `hidden = max(1, C // reduction)`,
# processes both. Add the two outputs, then apply one sigmoid.
#
# * Store the MLP as `self.mlp` (exactly this `nn.Sequential`, no other parameters).
# * `forward(x)` **returns the gate** `(B, C, 1, 1)`, not `x * gate`.

# %% nb="solution:ChannelAttention"
class ChannelAttention(nn.Module):
    """CBAM's channel gate from average- and max-pooled descriptors through one shared MLP.

    Shapes: forward(x (B, C, H, W)) -> gate (B, C, 1, 1) with entries in (0, 1).
    """

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        ### BEGIN SOLUTION
        hidden = max(1, channels // reduction)
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels))
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        avg = self.mlp(x.mean(dim=(2, 3)))  # (B, C)
        mx = self.mlp(x.amax(dim=(2, 3)))  # same weights for both descriptors
        return torch.sigmoid(avg + mx)[:, :, None, None]
        ### END SOLUTION


# %% nb="test:test_ChannelAttention:1"
ca = ChannelAttention(32, reduction=8)
check_parameters(ca, {"mlp.0.weight": (4, 32), "mlp.0.bias": (4,), "mlp.2.weight": (32, 4), "mlp.2.bias": (32,)},
                 "ChannelAttention(32, reduction=8): one shared MLP, hidden = 32 // 8 = 4")
check_shape(ca(torch.randn(2, 32, 5, 7)), (2, 32, 1, 1), "ChannelAttention(32)(x) for x (2, 32, 5, 7)",
            "Return the gate (B, C, 1, 1), not x * gate.")
check_parameters(ChannelAttention(8), {"mlp.0.weight": (1, 8), "mlp.0.bias": (1,), "mlp.2.weight": (8, 1), "mlp.2.bias": (8,)},
                 "ChannelAttention(8) with the default reduction 16: hidden = max(1, 8 // 16) = 1")
# known numbers: seeded weights and input, gate computed in advance
ca = set_weights(ChannelAttention(4, reduction=2), seed=1)
with torch.no_grad():
    gate = ca(seeded_input(2, 2, 4, 3, 2))
expected = torch.tensor([[0.32351, 0.43181, 0.36599, 0.332858], [0.350712, 0.417309, 0.22715, 0.799194]]).view(2, 4, 1, 1)
check_close(gate, expected, "ChannelAttention(4, reduction=2) with seeded weights on a seeded (2, 4, 3, 2) input", atol=1e-4)
print("ChannelAttention: visible tests passed")

# %% nb="test:test_ChannelAttention_hidden:2"
# Hidden tests for `ChannelAttention` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day3_spatial_cbam", "ChannelAttention", ChannelAttention)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:sa_intro"
# ## Exercise 2: spatial attention (3 points)
#
# $$M_s(x) = \sigma\Big(f^{k\times k}\big([\,\mathrm{mean}_c(x);\ \max_c(x)\,]\big)\Big) \in (0,1)^{B\times 1\times H\times W}$$
#
# * Pool **across channels**: the mean and the max over `dim=1`, each `(B, 1, H, W)`; concatenate
#   them **mean first** into `(B, 2, H, W)`.
# * `self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)` keeps $H\times W$.
# * Sigmoid; **return the gate** `(B, 1, H, W)`.

# %% nb="solution:SpatialAttention"
class SpatialAttention(nn.Module):
    """CBAM's spatial gate: a conv over the channel-wise mean and max maps.

    Shapes: forward(x (B, C, H, W)) -> gate (B, 1, H, W) with entries in (0, 1).
    """

    def __init__(self, kernel_size: int = 7):
        super().__init__()
        ### BEGIN SOLUTION
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)  # same H, W out
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)  # (B, 2, H, W)
        return torch.sigmoid(self.conv(pooled))
        ### END SOLUTION


# %% nb="test:test_SpatialAttention:1"
sa = SpatialAttention()
check_parameters(sa, {"conv.weight": (1, 2, 7, 7)}, "SpatialAttention(): conv from 2 maps (mean, max) to 1, 7x7 by default, no bias")
check_shape(sa(torch.randn(2, 8, 9, 5)), (2, 1, 9, 5), "SpatialAttention()(x) for x (2, 8, 9, 5)",
            "Return the gate (B, 1, H, W); padding = kernel_size // 2 keeps H and W.")
sa = set_weights(SpatialAttention(kernel_size=3), seed=3)
with torch.no_grad():
    gate = sa(seeded_input(4, 1, 3, 3, 4))
expected = torch.tensor([[0.935132, 0.872135, 0.64802, 0.730892],
                         [0.311373, 0.839538, 0.961815, 0.911376],
                         [0.987696, 0.989724, 0.720985, 0.874207]]).view(1, 1, 3, 4)
check_close(gate, expected, "SpatialAttention(kernel_size=3) with seeded weights on a seeded (1, 3, 3, 4) input", atol=1e-4)
print("SpatialAttention: visible tests passed")

# %% nb="test:test_SpatialAttention_hidden:2"
# Hidden tests for `SpatialAttention` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day3_spatial_cbam", "SpatialAttention", SpatialAttention)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:cbam_intro"
# ## Exercise 3: CBAM in three arrangements (4 points)
#
# `CBAM(channels, reduction=16, kernel_size=7, mode="channel_first")` holds
# `self.channel_attention = ChannelAttention(channels, reduction)` and
# `self.spatial_attention = SpatialAttention(kernel_size)` and returns the rescaled input:
#
# | mode | computation |
# | --- | --- |
# | `"channel_first"` (the paper's choice) | $x' = x \odot M_c(x)$, then $y = x' \odot M_s(x')$ |
# | `"spatial_first"` | $x' = x \odot M_s(x)$, then $y = x' \odot M_c(x')$ |
# | `"parallel"` | $y = x \odot M_c(x) \odot M_s(x)$, both gates computed from the input $x$ |
#
# Broadcasting does the work: `(B, C, H, W) * (B, C, 1, 1)` and `(B, C, H, W) * (B, 1, H, W)`.
# Raise a `ValueError` for any other mode (when the module is created).

# %% nb="solution:CBAM"
class CBAM(nn.Module):
    """Convolutional Block Attention Module: channel and spatial gates, in sequence or in parallel.

    Shapes: forward(x (B, C, H, W)) -> (B, C, H, W).
    """

    def __init__(self, channels: int, reduction: int = 16, kernel_size: int = 7, mode: str = "channel_first"):
        super().__init__()
        ### BEGIN SOLUTION
        if mode not in ("channel_first", "spatial_first", "parallel"):
            raise ValueError(f"unknown CBAM mode {mode!r}")
        self.mode = mode
        self.channel_attention = ChannelAttention(channels, reduction)
        self.spatial_attention = SpatialAttention(kernel_size)
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        if self.mode == "channel_first":
            x = x * self.channel_attention(x)
            return x * self.spatial_attention(x)
        if self.mode == "spatial_first":
            x = x * self.spatial_attention(x)
            return x * self.channel_attention(x)
        return x * self.channel_attention(x) * self.spatial_attention(x)
        ### END SOLUTION


# %% nb="test:test_CBAM:1"
# known numbers for each mode (seeded weights and input): the output summed over the channels
# (one number per position) and summed over the positions (one number per channel)
expected = {
    "channel_first": ([[-0.22856, 0.005928, 0.178433], [0.064473, -0.537531, 0.019726]], [-0.595281, 0.401988, -0.11201, -0.192229]),
    "spatial_first": ([[-0.114937, -0.031989, 0.141133], [0.092647, -0.645083, 0.011814]], [-0.346448, 0.23723, -0.205028, -0.23217]),
    "parallel": ([[-0.127748, 0.004005, 0.105636], [0.041926, -0.634228, 0.019029]], [-0.420886, 0.220411, -0.201017, -0.189888]),
}
x = seeded_input(6, 1, 4, 2, 3)
for mode, (per_position, per_channel) in expected.items():
    block = CBAM(4, reduction=2, kernel_size=3, mode=mode)
    assert isinstance(getattr(block, "channel_attention", None), ChannelAttention), "CBAM needs self.channel_attention = ChannelAttention(...)"
    assert isinstance(getattr(block, "spatial_attention", None), SpatialAttention), "CBAM needs self.spatial_attention = SpatialAttention(...)"
    set_weights(block, seed=5)
    with torch.no_grad():
        out = block(x)
    check_shape(out, x.shape, f"CBAM(mode={mode!r}) output", "CBAM returns the input rescaled by both gates, not a gate.")
    check_close(out.sum(dim=1), torch.tensor(per_position).view(1, 2, 3), f"CBAM(mode={mode!r}): output summed over channels", atol=1e-4)
    check_close(out.sum(dim=(2, 3)), torch.tensor(per_channel).view(1, 4), f"CBAM(mode={mode!r}): output summed over positions", atol=1e-4)
try:
    CBAM(16, mode="sideways")
except ValueError:
    pass
else:
    raise AssertionError("CBAM(16, mode='sideways') should raise a ValueError")
print("CBAM: visible tests passed")

# %% nb="test:test_CBAM_hidden:3"
# Hidden tests for `CBAM` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day3_spatial_cbam", "CBAM", CBAM)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:bug_intro"
# ## Exercise 4: bug hunt 1, a network that does not run (3 points)
#
# `BrokenNet` below is the kind of "attention classifier" for $32\times32$ RGB images that tutorials
# publish. Its author meant: a convolution, a channel gate, a spatial gate, pooling, a second
# convolution, pooling, a linear classifier. What they report:
#
# * Calling it on a batch of images raises an error (run the cell after the next one).
# * Once they had made it run, they trained it, and `spatial_gate.weight` came out exactly as it had
#   been initialised: that gate never learned anything.
#
# Find every bug: fixing one may uncover the next. `symptoms(model, x)` (next cell) runs a model the
# way its user would and prints what it observes; use it on `BrokenNet`, and on your repair.

# %% nb="readonly:symptoms"
def symptoms(model, x):
    """Run model(x) in eval mode; print the error, or the output's shape and range and which parameters
    get no gradient in one backward pass."""
    model.eval()
    try:
        out = model(x)
    except Exception as err:  # report the error as a user sees it
        print(f"model(x) raised {type(err).__name__}: {err}")
        return
    print(f"model(x) ran: output {tuple(out.shape)}, values from {out.min().item():.3g} to {out.max().item():.3g}")
    model.zero_grad()
    out.float().pow(2).sum().backward()
    silent = [name for name, p in model.named_parameters() if p.grad is None]
    print(f"parameters that got no gradient: {silent or 'none'}")


# %% nb="readonly:broken_net"
class BrokenNet(nn.Module):
    """Do not fix this class; write FixedNet below."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.channel_gate = nn.Sequential(nn.Linear(16, 4), nn.ReLU(), nn.Linear(4, 16), nn.Sigmoid())
        self.spatial_gate = nn.Conv2d(2, 1, 7, padding=3, bias=False)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(32 * 16 * 16, num_classes)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        g = self.channel_gate(x.mean(dim=(2, 3)))
        x = x * g
        s = torch.sigmoid(self.spatial_gate(torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)))
        x = self.pool(x)
        x = self.pool(F.relu(self.conv2(x)))
        x = x.flatten(1)
        return self.fc(x)


# %% nb="readonly:broken_net_symptoms"
symptoms(BrokenNet(), torch.randn(4, 3, 32, 32))

# %% [markdown] nb="readonly:fixednet_intro"
# Write `FixedNet(num_classes=10)`: a small classifier for `(B, 3, 32, 32)` images that returns
# logits `(B, num_classes)` and uses your `CBAM` **right after its first convolution** (no other
# convolution runs before the CBAM, and the CBAM's output must feed the rest of the network). Keep
# BrokenNet's idea (convolution, attention, pooling, convolution, pooling, linear classifier), with
# every bug fixed. Nothing else is fixed: choose the widths. The grader checks that your CBAM
# computes what Exercise 3 asks, that the network really uses its output, that every parameter
# takes part, and that the output is logits of the right shape for any `num_classes` and batch size.

# %% nb="solution:FixedNet"
class FixedNet(nn.Module):
    """conv -> CBAM -> pool -> conv -> pool -> linear; (B, 3, 32, 32) -> logits (B, num_classes)."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        ### BEGIN SOLUTION
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.cbam = CBAM(16, reduction=4, kernel_size=7)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(32 * 8 * 8, num_classes)  # two 2x2 poolings: 32 -> 16 -> 8
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        x = self.cbam(F.relu(self.conv1(x)))  # (B, 16, 32, 32), both gates applied
        x = self.pool(x)  # (B, 16, 16, 16)
        x = self.pool(F.relu(self.conv2(x)))  # (B, 32, 8, 8)
        return self.fc(x.flatten(1))
        ### END SOLUTION


# %% nb="test:test_FixedNet:1"
net = FixedNet()
symptoms(net, torch.randn(4, 3, 32, 32))
cbams = [m for m in net.modules() if isinstance(m, CBAM)]
assert len(cbams) >= 1, "FixedNet must contain a CBAM (your class from Exercise 3)"
logits = net.eval()(torch.randn(4, 3, 32, 32))
check_shape(logits, (4, 10), "FixedNet()(x) for x (4, 3, 32, 32)", "The classifier's in_features must equal the size of the flattened features.")
check_shape(FixedNet(num_classes=7).eval()(torch.randn(1, 3, 32, 32)), (1, 7), "FixedNet(num_classes=7) on one image")
net.zero_grad()
net(torch.randn(2, 3, 32, 32)).pow(2).sum().backward()
unused = [name for name, p in net.named_parameters() if p.grad is None]
assert not unused, f"these parameters got no gradient, so they never take part in the output: {unused}"
with torch.no_grad():
    kept = net(torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0)))
    handle = cbams[0].register_forward_hook(lambda module, args, out: args[0])  # the CBAM made a no-op
    bypassed = net(torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0)))
    handle.remove()
assert not torch.allclose(kept, bypassed), "FixedNet's output does not change when its CBAM does nothing: its output is not used"
print("FixedNet: visible tests passed")

# %% nb="test:test_FixedNet_hidden:2"
# Hidden tests for `FixedNet` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day3_spatial_cbam", "FixedNet", FixedNet)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:digits_intro"
# ## Exercise 5: bug hunt 2, a network that runs but does not learn (4 points)
#
# `BrokenDigitNet` classifies scikit-learn's $8\times8$ handwritten digits with a channel gate and a
# spatial gate. Its docstring says what it is meant to compute. Its author's bug report:
#
# 1. `model(images)` raises a `TypeError` (run the cell after the class to see it).
# 2. "I patched that line. Now it runs, but the training loss levels off far above where a plain CNN
#    without any gate gets on the same data, and it stays there." (The test cell under your repair
#    trains both with `train_digits` and draws the two loss curves.)
# 3. "In eval mode, the same images give different logits each time I call the model."
# 4. "The prediction for an image changes when I change the *other* images in its batch."
#
# Write `FixedDigitNet(num_classes=10, width=16, reduction=4)`: the network the docstring describes,
# with every bug fixed. Keep the layers and their names (`conv`, `mlp`, `fc`, plus the spatial
# gate's convolution as `spatial`), so that its parameters are exactly `conv.weight`, `conv.bias`,
# `mlp.0.weight`, `mlp.0.bias`, `mlp.2.weight`, `mlp.2.bias`, `spatial.weight`, `fc.weight`,
# `fc.bias`. The grader compares your network, loaded with its own weights, with the description,
# for several `num_classes`, widths and reductions (also a width smaller than the reduction).

# %% nb="readonly:digits_data"
from sklearn.datasets import load_digits

digits_x, digits_y = load_digits(return_X_y=True)
digits_x = torch.tensor(digits_x, dtype=torch.float32).reshape(-1, 1, 8, 8) / 16.0  # grey levels 0..16 -> [0, 1]
digits_y = torch.tensor(digits_y)
print(f"{len(digits_x)} digits, images {tuple(digits_x.shape[1:])}, pixel values {digits_x.min().item()} to {digits_x.max().item()}")


def train_digits(model, epochs=5, seed=0, batch=64):
    """Train on the first 1,200 digits with Adam (lr 1e-2) and cross-entropy; return the mean loss of each epoch."""
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    order = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(epochs):
        model.train()
        total = 0.0
        for idx in torch.randperm(1200, generator=order).split(batch):
            loss = F.cross_entropy(model(digits_x[idx]), digits_y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        losses.append(total / 1200)
    return losses


class PlainDigitCNN(nn.Module):
    """The same convolution, pooling and classifier as BrokenDigitNet, without any gate."""

    def __init__(self, num_classes=10, width=16):
        super().__init__()
        self.conv = nn.Conv2d(1, width, 3, padding=1)
        self.fc = nn.Linear(width * 4 * 4, num_classes)

    def forward(self, x):
        return self.fc(F.max_pool2d(F.relu(self.conv(x)), 2).flatten(1))



# %% nb="readonly:broken_digit_net"
class BrokenDigitNet(nn.Module):
    """Digit classifier with a channel gate and a spatial gate. Do not fix this class; write FixedDigitNet below.

    What it is meant to compute, for images x of shape (B, 1, 8, 8):
        h = relu(conv(x))                                   conv: 3x3, 1 -> width channels, padding 1
        h = h * sigmoid(mlp(avg_hw(h)) + mlp(max_hw(h)))      each image's own channel gate, (B, width, 1, 1)
        h = h * sigmoid(spatial([mean_c(h), max_c(h)]))       each image's own spatial gate, (B, 1, 8, 8);
                                                            spatial: 3x3 conv, 2 -> 1 maps, padding 1, no bias
        logits = fc(flatten(maxpool_2x2(h)))                 (B, num_classes): raw scores, nothing applied after fc
    avg_hw, max_hw: mean and max over the 8x8 positions; mean_c, max_c: mean and max over the channels.
    """

    def __init__(self, num_classes: int = 10, width: int = 16, reduction: int = 4):
        super().__init__()
        hidden = max(1, width // reduction)
        self.conv = nn.Conv2d(1, width, 3, padding=1)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, width))
        self.fc = nn.Linear(width * 4 * 4, num_classes)

    def forward(self, x):
        h = F.relu(self.conv(x))
        avg, mx = h.mean(dim=(0, 2, 3)), h.amax(dim=(0, 2, 3))
        h = h * torch.sigmoid(self.mlp(avg) + self.mlp(mx)).view(1, -1, 1, 1)
        spatial = nn.Conv2d(2, 1, 3, padding=1, bias=False)
        pooled = torch.cat([h.mean(dim=1, keepdim=True), h.max(dim=1, keepdim=True)], dim=1)
        h = h * torch.sigmoid(spatial(pooled))
        return F.softmax(self.fc(F.max_pool2d(h, 2).flatten(1)), dim=1)


# %% nb="readonly:broken_digit_symptoms"
symptoms(BrokenDigitNet(), digits_x[:8])

# %% nb="solution:FixedDigitNet"
class FixedDigitNet(nn.Module):
    """BrokenDigitNet repaired: (B, 1, 8, 8) digits -> logits (B, num_classes), as its docstring describes."""

    def __init__(self, num_classes: int = 10, width: int = 16, reduction: int = 4):
        super().__init__()
        ### BEGIN SOLUTION
        hidden = max(1, width // reduction)
        self.conv = nn.Conv2d(1, width, 3, padding=1)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, width))
        self.spatial = nn.Conv2d(2, 1, 3, padding=1, bias=False)  # registered once: learned, same weights every call
        self.fc = nn.Linear(width * 4 * 4, num_classes)
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        h = F.relu(self.conv(x))
        avg, mx = h.mean(dim=(2, 3)), h.amax(dim=(2, 3))  # per image: (B, width), not pooled over the batch
        h = h * torch.sigmoid(self.mlp(avg) + self.mlp(mx))[:, :, None, None]
        pooled = torch.cat([h.mean(dim=1, keepdim=True), h.amax(dim=1, keepdim=True)], dim=1)  # amax returns a tensor
        h = h * torch.sigmoid(self.spatial(pooled))
        return self.fc(F.max_pool2d(h, 2).flatten(1))  # logits: F.cross_entropy applies the softmax
        ### END SOLUTION


# %% nb="test:test_FixedDigitNet:1"
net = FixedDigitNet()
check_parameters(
    net,
    {"conv.weight": (16, 1, 3, 3), "conv.bias": (16,), "mlp.0.weight": (4, 16), "mlp.0.bias": (4,), "mlp.2.weight": (16, 4),
     "mlp.2.bias": (16,), "spatial.weight": (1, 2, 3, 3), "fc.weight": (10, 256), "fc.bias": (10,)},
    "FixedDigitNet() (width 16, reduction 4)",
)
symptoms(net, digits_x[:8])
net.eval()
with torch.no_grad():
    first, second = net(digits_x[:8]), net(digits_x[:8])
    alone = net(digits_x[3:4])
check_shape(first, (8, 10), "FixedDigitNet()(x) for 8 digits", "Return logits (B, num_classes).")
check_close(second, first, "symptom 3: FixedDigitNet called twice on the same images in eval mode (should agree)")
check_close(alone, first[3:4], "symptom 4: image 3 on its own vs in its batch of 8 (should agree)")
# known numbers: seeded weights on two seeded images
set_weights(net, seed=7)
with torch.no_grad():
    logits = net(seeded_input(8, 2, 1, 8, 8))
expected = torch.tensor([[2.245168, -1.383742, -4.110524, -0.252653, -6.121649, 2.337961, 6.958432, 5.36234, 6.96074, -7.864089],
                         [-3.792171, -7.997915, 1.667828, -7.966627, -6.484412, 13.11333, -7.68942, -6.58169, -0.256881, -4.031635]])
check_close(logits, expected, "FixedDigitNet() with seeded weights on two seeded images", atol=1e-4)
# symptom 2: the loss curve after a short training run, next to the plain CNN's
torch.manual_seed(0)
plain_losses = train_digits(PlainDigitCNN())
print("plain CNN, mean training loss per epoch:    ", ", ".join(f"{v:.3f}" for v in plain_losses))
torch.manual_seed(0)
losses = train_digits(FixedDigitNet())
print("FixedDigitNet, mean training loss per epoch:", ", ".join(f"{v:.3f}" for v in losses))
plt.figure(figsize=(5, 3))
plt.plot(range(1, len(plain_losses) + 1), plain_losses, "o-", label="plain CNN (no gates)")
plt.plot(range(1, len(losses) + 1), losses, "s-", label="FixedDigitNet")
plt.xlabel("epoch")
plt.ylabel("training loss")
plt.title("Training loss on the digits")
plt.legend()
plt.show()
assert losses[-1] < 0.5, (
    f"symptom 2: after {len(losses)} epochs FixedDigitNet's training loss is still {losses[-1]:.3f} "
    f"(the plain CNN reaches {plain_losses[-1]:.3f}): the loss curve still levels off too high"
)
print("FixedDigitNet: visible tests passed")

# %% nb="test:test_FixedDigitNet_hidden:3"
# Hidden tests for `FixedDigitNet` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day3_spatial_cbam", "FixedDigitNet", FixedDigitNet)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:quiz_intro"
# ## Concept questions (1 point each)
#
# Answer each question by assigning one letter, e.g. `quiz_1 = "A"`. The visible test checks
# only that your answer is a letter; the grader knows which is right.
#
# **Question 1.** How many parameters (weights and biases together) does
# `CBAM(64, reduction=16, kernel_size=7)` have?
#
# * A. 679
# * B. 1,258
# * C. 678
# * D. 3,716

# %% nb="solution:quiz_1"
### BEGIN SOLUTION
quiz_1 = "C"
### END SOLUTION

# %% nb="test:test_quiz_1:1"
assert isinstance(quiz_1, str) and quiz_1.strip().upper() in {"A", "B", "C", "D"}, "quiz_1 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day3_spatial_cbam", "quiz_1", quiz_1)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:quiz_2_text"
# **Question 2.** In `CBAM(mode="channel_first")`, the spatial gate is computed from ...
#
# * A. the block's input $x$, before either gate is applied.
# * B. the channel gate $M_c(x)$ itself, spread over $H\times W$.
# * C. the block's output, after both gates are applied.
# * D. the features after the channel gate, $x \odot M_c(x)$.

# %% nb="solution:quiz_2"
### BEGIN SOLUTION
quiz_2 = "D"
### END SOLUTION

# %% nb="test:test_quiz_2:1"
assert isinstance(quiz_2, str) and quiz_2.strip().upper() in {"A", "B", "C", "D"}, "quiz_2 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day3_spatial_cbam", "quiz_2", quiz_2)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:quiz_3_text"
# **Question 3.** After one `loss.backward()`, `model.gate.weight.grad` is `None`, while every other
# parameter of the model has a gradient tensor. What is the most likely cause?
#
# * A. The learning rate is too small for the gate to learn.
# * B. The gate's output never reaches the loss: it is not used.
# * C. The gate's sigmoid is saturated, so its gradient vanished.
# * D. The gate's weights were initialised to exactly zero.

# %% nb="solution:quiz_3"
### BEGIN SOLUTION
quiz_3 = "B"
### END SOLUTION

# %% nb="test:test_quiz_3:1"
assert isinstance(quiz_3, str) and quiz_3.strip().upper() in {"A", "B", "C", "D"}, "quiz_3 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day3_spatial_cbam", "quiz_3", quiz_3)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:quiz_4_text"
# **Question 4.** A 10-class network ends with a softmax, and its output is trained with
# `F.cross_entropy`, which applies a log-softmax itself. What is the lowest loss it can reach on one
# image, even when it is as sure and as right as it can be?
#
# * A. about 1.46
# * B. 0, only reached more slowly
# * C. about 2.30 ($\ln 10$)
# * D. about 0.69 ($\ln 2$)

# %% nb="solution:quiz_4"
### BEGIN SOLUTION
quiz_4 = "A"
### END SOLUTION

# %% nb="test:test_quiz_4:1"
assert isinstance(quiz_4, str) and quiz_4.strip().upper() in {"A", "B", "C", "D"}, "quiz_4 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day3_spatial_cbam", "quiz_4", quiz_4)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:written_1_text"
# ## Written question (3 points, graded by your instructor)
#
# CBAM pools twice where SE pools once: its channel gate uses the average **and** the maximum over
# the positions of each channel, and its spatial gate the mean **and** the maximum over the channels
# at each position.
#
# 1. Describe a feature map (one channel is enough, in words or numbers) whose average hides
#    something that its maximum shows, and say why that matters for a gate.
# 2. In `mode="channel_first"` the spatial gate is computed from the features the channel gate
#    has already rescaled; in `mode="parallel"` both gates see the input. What information does the
#    spatial gate have in the first case that it lacks in the second?
#
# Write your answer in the cell below (double-click it to edit it), a few sentences per part. No
# test checks it: a person grades it after you submit.

# %% [markdown] nb="answer:written_1:3"
# ### BEGIN SOLUTION
# **Model answer.**
# 1. A channel that is 0 everywhere except one strong response (a small object: 10 at one of
#    $14 \times 14 = 196$ positions) has mean $10/196 \approx 0.05$, like a channel of faint noise;
#    its maximum, 10, shows the object. A gate that sees only the average cannot tell a rare strong
#    feature from a weak diffuse one; the maximum keeps the most distinctive response.
# 2. After the channel gate, channels judged unimportant are scaled down, so the mean and maximum
#    over channels at each position are dominated by the useful channels: the spatial gate knows
#    *which* channels matter. In parallel mode it pools over all channels as they came in, noise
#    channels included (and the two gates cannot take each other into account).
#
# **Rubric (3 points).**
# * part 1 (2 points): a concrete sparse or peaked example where the mean is small and the maximum
#   large (1 point); why it matters: the average dilutes rare strong responses (1 point);
# * part 2 (1 point): the spatial gate pools over channels already weighted by importance. Half a
#   point for "the order changes the result" without what the spatial gate gains.
# ### END SOLUTION
