# %% [markdown] nb="readonly:intro"
# # Day 3 assignment: spatial attention and CBAM
#
# You will build the Convolutional Block Attention Module (CBAM, Woo et al., 2018) from its two
# halves, compose them in three ways, and repair a broken network that uses them:
#
# 1. `ChannelAttention`: *which* channels matter; average- and max-pooled descriptors through one
#    shared MLP; returns the gate $M_c(x)$ of shape `(B, C, 1, 1)`.
# 2. `SpatialAttention`: *where* to look; mean and max across channels, a $k\times k$ convolution;
#    returns the gate $M_s(x)$ of shape `(B, 1, H, W)`.
# 3. `CBAM`: the two gates applied channel-first, spatial-first, or in parallel.
# 4. `FixedNet`: the bug hunt. A small classifier that does not run; you write the repaired version.
#
# Then answer three concept questions.
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
assert isinstance(getattr(ca, "mlp", None), nn.Sequential) and len(ca.mlp) == 3, (
    "ChannelAttention needs self.mlp = nn.Sequential(nn.Linear(C, hidden), nn.ReLU(), nn.Linear(hidden, C))"
)
assert sorted(k for k, _ in ca.named_parameters()) == ["mlp.0.bias", "mlp.0.weight", "mlp.2.bias", "mlp.2.weight"], (
    f"ChannelAttention's parameters should be those of the one shared MLP, got {sorted(k for k, _ in ca.named_parameters())}"
)
assert ca.mlp[0].out_features == 4, f"ChannelAttention(32, reduction=8): hidden should be 4, got {ca.mlp[0].out_features}"
x = torch.randn(2, 32, 5, 7)
gate = ca(x)
check_shape(gate, (2, 32, 1, 1), "ChannelAttention(32)(x) for x (2, 32, 5, 7)", "Return the gate (B, C, 1, 1), not x * gate.")
assert ((gate > 0) & (gate < 1)).all(), "the channel gate must lie strictly between 0 and 1 (one sigmoid at the end)"
with torch.no_grad():
    expected = torch.sigmoid(ca.mlp(x.mean((2, 3))) + ca.mlp(x.amax((2, 3))))[:, :, None, None]
check_close(gate, expected, "ChannelAttention gate (sigmoid of shared MLP on avg-pool plus shared MLP on max-pool)")
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
sa = SpatialAttention(7)
assert isinstance(getattr(sa, "conv", None), nn.Conv2d), "SpatialAttention needs an nn.Conv2d named conv"
assert tuple(sa.conv.weight.shape) == (1, 2, 7, 7), (
    f"SpatialAttention(7).conv.weight should be (1, 2, 7, 7): 2 input maps (mean, max), 1 output; got {tuple(sa.conv.weight.shape)}"
)
assert sa.conv.bias is None, "the spatial convolution has no bias (bias=False)"
x = torch.randn(2, 8, 9, 5)
gate = sa(x)
check_shape(gate, (2, 1, 9, 5), "SpatialAttention(7)(x) for x (2, 8, 9, 5)", "Return the gate (B, 1, H, W); padding = kernel_size // 2 keeps H and W.")
assert ((gate > 0) & (gate < 1)).all(), "the spatial gate must lie strictly between 0 and 1 (sigmoid)"
with torch.no_grad():
    pooled = torch.stack([x.mean(1), x.amax(1)], dim=1)
    expected = torch.sigmoid(F.conv2d(pooled, sa.conv.weight, padding=3))
    swapped = torch.sigmoid(F.conv2d(pooled.flip(1), sa.conv.weight, padding=3))
assert not torch.allclose(gate, swapped, atol=1e-6), "the conv must see [mean, max] in that order; yours sees [max, mean]"
check_close(gate, expected, "SpatialAttention gate (conv over [mean, max] across channels, then sigmoid)")
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
# Raise a `ValueError` for any other mode.

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
x = torch.randn(2, 16, 6, 5)
for mode in ("channel_first", "spatial_first", "parallel"):
    block = CBAM(16, reduction=4, kernel_size=3, mode=mode)
    assert isinstance(getattr(block, "channel_attention", None), ChannelAttention), "CBAM needs self.channel_attention = ChannelAttention(...)"
    assert isinstance(getattr(block, "spatial_attention", None), SpatialAttention), "CBAM needs self.spatial_attention = SpatialAttention(...)"
    out = block(x)
    check_shape(out, x.shape, f"CBAM(mode={mode!r}) output", "CBAM returns the input rescaled by both gates.")
    with torch.no_grad():
        mc, ms = block.channel_attention, block.spatial_attention
        if mode == "channel_first":
            y = x * mc(x)
            expected = y * ms(y)
        elif mode == "spatial_first":
            y = x * ms(x)
            expected = y * mc(y)
        else:
            expected = x * mc(x) * ms(x)
    check_close(out, expected, f"CBAM output in mode {mode!r}")
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
# ## Exercise 4: the bug hunt (3 points)
#
# The network below (`BrokenNet`) is the kind of "channel attention classifier" found in tutorials.
# It has three bugs. Run the next two cells: the first two bugs raise errors; the third is silent.
#
# 1. A channel gate of shape `(B, C)` multiplied with a feature map `(B, C, H, W)`: broadcasting
#    aligns the **trailing** dimensions, so `C` is compared with `W`.
# 2. A classifier head whose `in_features` does not match the flattened feature map.
# 3. A spatial gate that is computed but never applied: no error, its weights just never learn
#    (their gradient is `None`).

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

    def forward(self, x, fix_broadcast=False, fix_flatten=False):
        x = F.relu(self.conv1(x))  # (B, 16, 32, 32)
        g = self.channel_gate(x.mean(dim=(2, 3)))  # (B, 16)
        x = x * (g[:, :, None, None] if fix_broadcast else g)  # bug 1
        s = torch.sigmoid(self.spatial_gate(torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)))  # noqa: F841
        x = self.pool(x)  # bug 3: the spatial gate s is never applied
        x = self.pool(F.relu(self.conv2(x)))  # (B, 32, 8, 8)
        x = x.flatten(1)
        return self.fc(x if not fix_flatten else F.pad(x, (0, self.fc.in_features - x.shape[1])))  # bug 2


# %% nb="readonly:broken_net_errors"
broken = BrokenNet()
images = torch.randn(4, 3, 32, 32)
for fixes in ({}, {"fix_broadcast": True}, {"fix_broadcast": True, "fix_flatten": True}):
    try:
        logits = broken(images, **fixes)
        logits.sum().backward()
        unused = [name for name, p in broken.named_parameters() if p.grad is None]
        print(f"with {fixes}: runs, logits {tuple(logits.shape)}; parameters that got no gradient: {unused}")
    except RuntimeError as err:
        print(f"with {fixes or 'no fixes'}: RuntimeError: {err}")

# %% [markdown] nb="readonly:fixednet_intro"
# Write `FixedNet(num_classes=10)`: a small classifier for `(B, 3, 32, 32)` images that returns
# logits `(B, num_classes)` and uses your `CBAM` **right after its first convolution** (no other
# convolution runs before the CBAM, and the CBAM's output must feed the rest of the network). Keep
# BrokenNet's idea (conv, attention, pooling, conv, pooling, linear head), with the bugs fixed:
# work out the flattened size from the shapes, and let every layer you create take part in the
# forward pass. Nothing else is fixed: choose the widths.

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
cbams = [m for m in net.modules() if isinstance(m, CBAM)]
assert len(cbams) >= 1, "FixedNet must contain a CBAM (your class from Exercise 3)"
logits = net(torch.randn(4, 3, 32, 32))
check_shape(logits, (4, 10), "FixedNet()(x) for x (4, 3, 32, 32)", "Work out the flattened size from the shapes after each pooling.")
check_shape(FixedNet(num_classes=7).eval()(torch.randn(1, 3, 32, 32)), (1, 7), "FixedNet(num_classes=7) on one image")
net.zero_grad()
net(torch.randn(2, 3, 32, 32)).sum().backward()
unused = [name for name, p in net.named_parameters() if p.grad is None]
assert not unused, f"these parameters got no gradient, so they never take part in the output: {unused} (a gate computed but never applied?)"
print("FixedNet: visible tests passed")

# %% nb="test:test_FixedNet_hidden:2"
# Hidden tests for `FixedNet` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day3_spatial_cbam", "FixedNet", FixedNet)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:quiz_intro"
# ## Concept questions (1 point each)
#
# Answer each question by assigning one letter, e.g. `quiz_1 = "A"`. The visible test checks
# only that your answer is a letter; the grader knows which is right.
#
# **Question 1.** How many parameters does `SpatialAttention(kernel_size=7)` have, for a feature map
# with $C$ channels?
#
# * A. 49
# * B. 98, whatever $C$ is
# * C. $49\,C$
# * D. $98\,C + 1$

# %% nb="solution:quiz_1"
### BEGIN SOLUTION
quiz_1 = "B"
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
# * A. the block's input $x$.
# * B. $x \odot M_c(x)$, the input after the channel gate.
# * C. the channel gate $M_c(x)$ alone.
# * D. the block's output.

# %% nb="solution:quiz_2"
### BEGIN SOLUTION
quiz_2 = "B"
### END SOLUTION

# %% nb="test:test_quiz_2:1"
assert isinstance(quiz_2, str) and quiz_2.strip().upper() in {"A", "B", "C", "D"}, "quiz_2 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day3_spatial_cbam", "quiz_2", quiz_2)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:quiz_3_text"
# **Question 3.** A batch of 16 feature maps `x` has shape `(16, 16, 16, 16)` (B = C = H = W = 16)
# and a channel gate `g` has shape `(16, 16)` = `(B, C)`. What does `x * g` do?
#
# * A. Raises an error, because the shapes cannot broadcast.
# * B. Scales each channel of each image by its gate, as intended.
# * C. Runs without error but multiplies `x[b, c, h, w]` by `g[h, w]`: broadcasting aligns trailing
#   dimensions, so a silent bug; `g[:, :, None, None]` (shape `(B, C, 1, 1)`) is the fix.
# * D. Runs without error and multiplies `x[b, c, h, w]` by `g[b, c]` for the first image only.

# %% nb="solution:quiz_3"
### BEGIN SOLUTION
quiz_3 = "C"
### END SOLUTION

# %% nb="test:test_quiz_3:1"
assert isinstance(quiz_3, str) and quiz_3.strip().upper() in {"A", "B", "C", "D"}, "quiz_3 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day3_spatial_cbam", "quiz_3", quiz_3)
### END HIDDEN TESTS
