# %% [markdown] nb="readonly:intro"
# # Day 2 assignment: channel attention (SE and ECA)
#
# You will implement the two channel-attention blocks from today's lesson, then put one into a
# residual network:
#
# 1. `SEBlock`: Squeeze-and-Excitation (global average pool, bottleneck MLP, sigmoid, rescale);
# 2. `eca_kernel_size`: the adaptive kernel size of ECA;
# 3. `ECABlock`: Efficient Channel Attention (global average pool, 1-D convolution across channels,
#    sigmoid, rescale);
# 4. `SEBasicBlock`: a ResNet basic block with your `SEBlock` on its residual branch (SE-ResNet).
#
# Then answer four concept questions.
#
# **How to work.** Write your code where it says `# YOUR CODE HERE` and delete the
# `raise NotImplementedError()` line. Run the test cell under each exercise: it explains what is
# wrong in words. When you are graded, more (hidden) checks run: other channel counts (also fewer
# channels than the reduction ratio), other reduction ratios, kernel sizes and strides, non-square
# feature maps, batch 1, float64, gradients, and a comparison with an independent reference
# implementation using the same weights.
# Before you submit: *Kernel → Restart Kernel and Run All Cells*, and make sure nothing fails.
# Do not rename the notebook or delete cells.
#
# Shapes: `B` batch, `C` channels, `H, W` height and width of the feature map.

# %% nb="readonly:setup"
import math

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
    if not isinstance(expected, torch.Tensor):  # hand-written numbers
        expected = torch.tensor(expected, dtype=actual.dtype)
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


def channel_gate_of(block, x):
    """The per-channel factor a block applied: out / x (x must have no zeros)."""
    with torch.no_grad():
        out = block(x)
    if not isinstance(out, torch.Tensor) or out.shape != x.shape:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise AssertionError(
            f"the block must return the rescaled input, of the input's shape {tuple(x.shape)}; got {shape}. "
            "Multiply x by the gate instead of returning the gate."
        )
    if out.dtype != x.dtype:
        raise AssertionError(f"the block returned dtype {out.dtype} for a {x.dtype} input; keep the input's dtype")
    return out / x


def set_weights(module, **values):
    """Load hand-chosen values into a module's parameters, e.g. set_weights(m, **{"fc1.bias": [0.0]})."""
    params = dict(module.named_parameters())
    with torch.no_grad():
        for name, value in values.items():
            if name not in params:
                raise AssertionError(f"{type(module).__name__} has no parameter {name}; its parameters: {sorted(params)}")
            value = torch.as_tensor(value, dtype=params[name].dtype)
            if params[name].shape != value.shape:
                raise AssertionError(f"{name} has shape {tuple(params[name].shape)}, expected {tuple(value.shape)}")
            params[name].copy_(value)


# %% [markdown] nb="readonly:se_intro"
# ## Exercise 1: the Squeeze-and-Excitation block (4 points)
#
# For a feature map $x \in \mathbb{R}^{B \times C \times H \times W}$:
#
# $$s_c = \frac{1}{HW}\sum_{i=1}^{H}\sum_{j=1}^{W} x_{c,i,j} \quad\text{(squeeze)}, \qquad
# g = \sigma\big(W_2\,\mathrm{ReLU}(W_1 s + b_1) + b_2\big) \quad\text{(excite)}, \qquad
# y_{c,i,j} = g_c\, x_{c,i,j} \quad\text{(rescale)}$$
#
# * `fc1 = nn.Linear(channels, hidden)` and `fc2 = nn.Linear(hidden, channels)` with
#   `hidden = max(1, channels // reduction)`. Use exactly these attribute names (the grader loads
#   weights into them) and no other parameters.
# * $\sigma$ is the **sigmoid**: every channel gets its own factor in $(0, 1)$; channels do not
#   compete for a fixed budget as they would under a softmax.
# * The gate has shape `(B, C)`; to multiply it with `x (B, C, H, W)` it must be reshaped to
#   `(B, C, 1, 1)` (broadcasting aligns the **trailing** dimensions).
# * Return a new tensor of the input's shape and dtype; do not modify `x` in place.

# %% nb="solution:SEBlock"
class SEBlock(nn.Module):
    """Squeeze-and-Excitation: rescale each channel by a gate computed from all channel means.

    Args:
        channels: C, the number of input (and output) channels.
        reduction: r, the bottleneck ratio; hidden = max(1, C // r).
    Shapes: forward(x (B, C, H, W)) -> (B, C, H, W).
    """

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        ### BEGIN SOLUTION
        hidden = max(1, channels // reduction)  # at least one unit when C < r
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        s = x.mean(dim=(2, 3))  # squeeze: (B, C)
        g = torch.sigmoid(self.fc2(F.relu(self.fc1(s))))  # excite: (B, C), each in (0, 1)
        return x * g[:, :, None, None]  # rescale: (B, C, 1, 1) broadcasts over H and W
        ### END SOLUTION


# %% nb="test:test_SEBlock:1"
se = SEBlock(32, reduction=8)
assert isinstance(getattr(se, "fc1", None), nn.Linear) and isinstance(getattr(se, "fc2", None), nn.Linear), (
    "SEBlock needs two nn.Linear layers named fc1 and fc2"
)
assert (se.fc1.in_features, se.fc1.out_features) == (32, 4), (
    f"SEBlock(32, reduction=8).fc1 should map 32 -> 4 features, got {se.fc1.in_features} -> {se.fc1.out_features}"
)
assert (se.fc2.in_features, se.fc2.out_features) == (4, 32), (
    f"SEBlock(32, reduction=8).fc2 should map 4 -> 32 features, got {se.fc2.in_features} -> {se.fc2.out_features}"
)
assert SEBlock(8, reduction=16).fc1.out_features == 1, "with 8 channels and reduction 16 the bottleneck must still have 1 unit (max(1, C // r))"
assert SEBlock(64).fc1.out_features == 4, "SEBlock(64) should use reduction=16 by default (hidden = 64 // 16 = 4)"
x = torch.rand(2, 32, 5, 7) + 0.5  # positive, so out / x is the gate
gate = channel_gate_of(se, x)
assert torch.allclose(gate, gate[:, :, :1, :1].expand_as(gate), atol=1e-6), (
    "the factor applied to a channel must be the same at every position (one gate per channel)"
)
assert (gate > 0).all() and (gate < 1).all(), "every gate must lie strictly between 0 and 1 (use a sigmoid)"

# A hand-checkable example: C = 4, reduction 2 (hidden 2), channel means s = (3, 1, 1, 2), each channel
# with a +-0.5 checkerboard on top (so its maximum is not its mean).
#   fc1: W1 s + b1 = (3 - 1, 1 - 2) + (0, -1) = (2, -2);  ReLU -> (2, 0)
#   fc2: W2 (2, 0) + b2 = (2, -2, 1, -1);  sigmoid -> (0.8808, 0.1192, 0.7311, 0.2689)
small = SEBlock(4, reduction=2)
set_weights(
    small,
    **{
        "fc1.weight": [[1.0, 0.0, -1.0, 0.0], [0.0, 1.0, 0.0, -1.0]],
        "fc1.bias": [0.0, -1.0],
        "fc2.weight": [[1.0, 0.0], [-1.0, 0.0], [0.5, 1.0], [0.0, 2.0]],
        "fc2.bias": [0.0, 0.0, 0.0, -1.0],
    },
)
checker = 0.5 * torch.tensor([[1.0, -1.0], [-1.0, 1.0]])
x_small = torch.tensor([3.0, 1.0, 1.0, 2.0])[None, :, None, None] + checker
gates = channel_gate_of(small, x_small)[0, :, 0, 0]
check_close(gates, [0.8808, 0.1192, 0.7311, 0.2689], "SEBlock gates in the hand-checked example", atol=1e-4)
print("SEBlock: visible tests passed")

# %% nb="test:test_SEBlock_hidden:3"
# Hidden tests for `SEBlock` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day2_channel_attention", "SEBlock", SEBlock)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:eca_kernel_intro"
# ## Exercise 2: ECA's adaptive kernel size (2 points)
#
# ECA replaces SE's two fully connected layers by one 1-D convolution across the channel axis.
# Its kernel size $k$ (how many neighbouring channels each gate looks at) grows with the
# logarithm of the number of channels:
#
# $$t = \left\lfloor\, \left|\frac{\log_2 C + b}{\gamma}\right| \,\right\rfloor, \qquad
# k = \begin{cases} t & t \text{ odd} \\ t + 1 & t \text{ even} \end{cases}$$
#
# with $\gamma = 2$, $b = 1$ by default (any real $\gamma \ne 0$ and $b$ are allowed: mind the absolute
# value). Return a Python `int`.

# %% nb="solution:eca_kernel_size"
def eca_kernel_size(channels: int, gamma: float = 2, b: float = 1) -> int:
    """ECA's kernel size for `channels` channels: always an odd int >= 1."""
    ### BEGIN SOLUTION
    t = int(abs((math.log2(channels) + b) / gamma))
    return t if t % 2 else t + 1
    ### END SOLUTION


# %% nb="test:test_eca_kernel_size:1"
for c, k in [(64, 3), (256, 5), (2048, 7)]:
    got = eca_kernel_size(c)
    assert isinstance(got, int), f"eca_kernel_size({c}) should return an int, got {type(got).__name__}"
    assert got == k, f"eca_kernel_size({c}) should be {k} (t = int(({math.log2(c):g} + 1) / 2)), got {got}"
assert eca_kernel_size(16) == 3, f"eca_kernel_size(16): t = int((4 + 1) / 2) = 2 is even, so k = 3; got {eca_kernel_size(16)}"
assert eca_kernel_size(64, gamma=1, b=0) == 7, (
    f"eca_kernel_size(64, gamma=1, b=0): t = int((6 + 0) / 1) = 6 is even, so k = 7; got {eca_kernel_size(64, gamma=1, b=0)}"
)
print("eca_kernel_size: visible tests passed")

# %% nb="test:test_eca_kernel_size_hidden:1"
# Hidden tests for `eca_kernel_size` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day2_channel_attention", "eca_kernel_size", eca_kernel_size)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:eca_intro"
# ## Exercise 3: the ECA block (3 points)
#
# $$s = \mathrm{GAP}(x) \in \mathbb{R}^{B\times C}, \qquad
# g_c = \sigma\Big(\sum_{j=-\lfloor k/2\rfloor}^{\lfloor k/2\rfloor} w_j\, s_{c+j}\Big), \qquad y = g \odot x$$
#
# (channels outside $0..C-1$ count as zero: zero padding; $w_{-\lfloor k/2\rfloor}$ is the first entry
# of the kernel, as in PyTorch's convolutions, which are cross-correlations).
#
# * `conv = nn.Conv1d(1, 1, k, padding=k // 2, bias=False)` with `k = k_size or eca_kernel_size(channels)`.
#   Only $k$ parameters, whatever $C$ is.
# * The 1-D convolution runs **along the channel axis**: treat the pooled vector `(B, C)` as a
#   one-channel sequence `(B, 1, C)`, convolve, and reshape the result to `(B, C, 1, 1)`.
# * Sigmoid, then rescale `x`; return a new tensor of the input's shape and dtype.

# %% nb="solution:ECABlock"
class ECABlock(nn.Module):
    """Efficient Channel Attention: a gate per channel from a 1-D conv over neighbouring channel means.

    Args:
        channels: C.
        k_size: the (odd) kernel size; None means eca_kernel_size(channels).
    Shapes: forward(x (B, C, H, W)) -> (B, C, H, W).
    """

    def __init__(self, channels: int, k_size: int | None = None):
        super().__init__()
        ### BEGIN SOLUTION
        k = k_size or eca_kernel_size(channels)
        self.conv = nn.Conv1d(1, 1, k, padding=k // 2, bias=False)
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        s = x.mean(dim=(2, 3)).unsqueeze(1)  # (B, 1, C): the channels form a 1-D sequence
        g = torch.sigmoid(self.conv(s)).squeeze(1)  # (B, C)
        return x * g[:, :, None, None]
        ### END SOLUTION


# %% nb="test:test_ECABlock:1"
eca = ECABlock(64)
assert isinstance(getattr(eca, "conv", None), nn.Conv1d), "ECABlock needs an nn.Conv1d named conv"
assert tuple(eca.conv.weight.shape) == (1, 1, 3), (
    f"ECABlock(64).conv.weight should have shape (1, 1, 3): one input channel, one output channel, "
    f"k = eca_kernel_size(64) = 3; got {tuple(eca.conv.weight.shape)}"
)
assert eca.conv.bias is None, "ECA's convolution has no bias (bias=False)"
assert tuple(ECABlock(64, k_size=5).conv.weight.shape) == (1, 1, 5), "ECABlock(64, k_size=5) must use kernel size 5"
x = torch.rand(2, 64, 4, 6) + 0.5
gate = channel_gate_of(eca, x)
assert torch.allclose(gate, gate[:, :, :1, :1].expand_as(gate), atol=1e-6), "one gate per channel: the same factor at every position"

# A hand-checkable example: C = 5, kernel (w_-1, w_0, w_1) = (0.5, 1, -1), channel means s = (1, 2, 3, 4, 5)
# (zero beyond both ends). z_c = 0.5 s_(c-1) + s_c - s_(c+1):
#   z = (0 + 1 - 2, 0.5 + 2 - 3, 1 + 3 - 4, 1.5 + 4 - 5, 2 + 5 - 0) = (-1, -0.5, 0, 0.5, 7)
#   g = sigmoid(z) = (0.2689, 0.3775, 0.5, 0.6225, 0.9991)
small = ECABlock(5, k_size=3)
set_weights(small, **{"conv.weight": [[[0.5, 1.0, -1.0]]]})
x_small = torch.arange(1.0, 6.0)[None, :, None, None] + 0.25 * torch.tensor([[1.0, -1.0, 0.0], [-1.0, 1.0, 0.0]])
gates = channel_gate_of(small, x_small)[0, :, 0, 0]
check_close(gates, [0.2689, 0.3775, 0.5, 0.6225, 0.9991], "ECA gates in the hand-checked example", atol=1e-4)
print("ECABlock: visible tests passed")

# %% nb="test:test_ECABlock_hidden:2"
# Hidden tests for `ECABlock` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day2_channel_attention", "ECABlock", ECABlock)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:se_basic_block_intro"
# ## Exercise 4: an SE-ResNet basic block (4 points)
#
# The lesson put SE into torchvision's ResNet-50 by patching its bottlenecks. Here you build the
# smaller **basic block** of ResNet-18/34 with SE yourself, the way SE-ResNet places it (Hu et al.,
# Fig. 3): on the **residual branch**, after its last batch norm and **before** the addition.
#
# $$\mathrm{out} = \mathrm{ReLU}\big(\,\mathrm{SE}(F(x)) + \mathrm{shortcut}(x)\,\big), \qquad
# F(x) = \mathrm{BN}_2\big(\mathrm{conv}_2(\mathrm{ReLU}(\mathrm{BN}_1(\mathrm{conv}_1(x))))\big)$$
#
# `SEBasicBlock(in_channels, out_channels, stride=1, reduction=16)` with exactly these submodules:
#
# | name | module |
# | --- | --- |
# | `conv1` | `nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)` |
# | `bn1` | `nn.BatchNorm2d(out_channels)` |
# | `conv2` | `nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)` |
# | `bn2` | `nn.BatchNorm2d(out_channels)` |
# | `se` | your `SEBlock(out_channels, reduction)` |
# | `downsample` | `None` when `stride == 1` and `in_channels == out_channels`; otherwise `nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels))` |
#
# * The shortcut is `x` itself, or `downsample(x)` when the shapes change (a stride, or another
#   channel count). The SE gate never touches the shortcut.
# * `forward(x (B, in_channels, H, W)) -> (B, out_channels, H', W')` with $H' = \lceil H / \text{stride} \rceil$.
# * It must give the same output as torchvision's `BasicBlock` with `SqueezeExcitation` after `bn2`
#   (same weights), in training mode (batch statistics) and in eval mode; keep the dtype, do not
#   modify `x` in place.
# * It uses your `SEBlock`: make Exercise 1 pass first.

# %% nb="solution:SEBasicBlock"
class SEBasicBlock(nn.Module):
    """ResNet basic block with SE on the residual branch: relu(se(F(x)) + shortcut(x)).

    Args:
        in_channels, out_channels: channels in and out.
        stride: stride of conv1 and of the shortcut's 1x1 convolution.
        reduction: the SE block's reduction ratio.
    Shapes: forward(x (B, in_channels, H, W)) -> (B, out_channels, ceil(H / stride), ceil(W / stride)).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, reduction: int = 16):
        super().__init__()
        ### BEGIN SOLUTION
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.se = SEBlock(out_channels, reduction)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:  # the shortcut must match the branch's shape
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
            )
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        shortcut = x if self.downsample is None else self.downsample(x)
        branch = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(self.se(branch) + shortcut)  # the gate scales the branch only, never the shortcut
        ### END SOLUTION


# %% nb="test:test_SEBasicBlock:1"
from torchvision.models.resnet import BasicBlock  # noqa: E402  (torchvision's block, to compare with)

block = SEBasicBlock(16, 16, reduction=4).eval()
for name, kind in [("conv1", nn.Conv2d), ("bn1", nn.BatchNorm2d), ("conv2", nn.Conv2d), ("bn2", nn.BatchNorm2d), ("se", SEBlock)]:
    assert isinstance(getattr(block, name, None), kind), f"SEBasicBlock needs a submodule {name} of type {kind.__name__}"
assert block.se.fc1.out_features == 4, f"SEBasicBlock(16, 16, reduction=4).se should be SEBlock(16, 4), got hidden {block.se.fc1.out_features}"
assert block.conv1.bias is None and block.conv2.bias is None, "the 3x3 convolutions have no bias (batch norm follows them)"
assert getattr(block, "downsample", "missing") is None, "SEBasicBlock(16, 16) keeps the shapes: its downsample must be None"
down = SEBasicBlock(8, 16, stride=2, reduction=4).eval()
assert tuple(down.conv1.stride) == (2, 2), f"the stride belongs to conv1; got conv1.stride = {down.conv1.stride}"
assert isinstance(down.downsample, nn.Sequential) and [type(m) for m in down.downsample] == [nn.Conv2d, nn.BatchNorm2d], (
    "SEBasicBlock(8, 16, stride=2) needs downsample = nn.Sequential(nn.Conv2d(8, 16, 1, stride=2, bias=False), nn.BatchNorm2d(16))"
)
with torch.no_grad():
    out = down(torch.randn(2, 8, 7, 6))
assert out.shape == (2, 16, 4, 3), f"SEBasicBlock(8, 16, stride=2) on (2, 8, 7, 6) should give (2, 16, 4, 3), got {tuple(out.shape)}"

# Meaning: with the SE gate shut (a large negative bias in fc2, so every gate is ~0) the branch is
# silenced and an identity block must pass relu(x) on. SE after the addition would output ~0 instead.
x = torch.randn(2, 16, 6, 5)
with torch.no_grad():
    block.se.fc2.bias.fill_(-30.0)
    check_close(block(x), F.relu(x), "SEBasicBlock(16, 16) with every SE gate shut (must be relu(x))", atol=1e-6)
    block.se.fc2.bias.normal_()

# Wiring: the same as torchvision's BasicBlock whose bn2 is followed by your SE (sharing your submodules).
for blk, shape in [(block, (2, 16, 6, 5)), (down, (2, 8, 7, 6))]:
    tv = BasicBlock(blk.conv1.in_channels, blk.conv1.out_channels, blk.conv1.stride[0], downsample=blk.downsample).eval()
    tv.conv1, tv.bn1, tv.conv2, tv.bn2 = blk.conv1, blk.bn1, blk.conv2, nn.Sequential(blk.bn2, blk.se)
    for bn in (blk.bn1, blk.bn2):  # non-trivial running statistics, so eval-mode batch norm matters
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
    x = torch.randn(*shape)
    with torch.no_grad():
        check_close(blk(x), tv(x), f"SEBasicBlock{(blk.conv1.in_channels, blk.conv1.out_channels, blk.conv1.stride[0])} vs torchvision's BasicBlock + your SE")
print("SEBasicBlock: visible tests passed")

# %% nb="test:test_SEBasicBlock_hidden:3"
# Hidden tests for `SEBasicBlock` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day2_channel_attention", "SEBasicBlock", SEBasicBlock)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:quiz_intro"
# ## Concept questions (1 point each)
#
# Answer each question by assigning one letter, e.g. `quiz_1 = "A"`. The visible test checks
# only that your answer is a letter; the grader knows which is right.
#
# **Question 1.** How many parameters (weights and biases) does `SEBlock(256, reduction=16)` have?
#
# * A. 8,192
# * B. 8,208
# * C. 131,072
# * D. 8,464

# %% nb="solution:quiz_1"
### BEGIN SOLUTION
quiz_1 = "D"
### END SOLUTION

# %% nb="test:test_quiz_1:1"
assert isinstance(quiz_1, str) and quiz_1.strip().upper() in {"A", "B", "C", "D"}, "quiz_1 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day2_channel_attention", "quiz_1", quiz_1)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:quiz_2_text"
# **Question 2.** In an `ECABlock` with kernel size $k$, the gate of channel $c$ depends on ...
#
# * A. the spatial mean of channel $c$ alone, times one learned weight.
# * B. the spatial means of all $C$ channels, mixed through a bottleneck.
# * C. the spatial means of channels $c - \lfloor k/2 \rfloor$ to $c + \lfloor k/2 \rfloor$.
# * D. the values of channel $c$ in a $k \times k$ window of positions.

# %% nb="solution:quiz_2"
### BEGIN SOLUTION
quiz_2 = "C"
### END SOLUTION

# %% nb="test:test_quiz_2:1"
assert isinstance(quiz_2, str) and quiz_2.strip().upper() in {"A", "B", "C", "D"}, "quiz_2 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day2_channel_attention", "quiz_2", quiz_2)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:quiz_3_text"
# **Question 3.** SE ends in a sigmoid. Suppose it ended in a softmax over its $C = 256$ channels
# instead, and all channels of some input were equally useful (equal logits). What would the block do?
#
# * A. Multiply every channel by 1/256, shrinking the whole feature map.
# * B. Multiply every channel by 0.5, as a sigmoid of a zero logit would.
# * C. Leave every channel as it is, since the gates then sum to 256.
# * D. Keep one channel at full strength and set the other 255 to zero.

# %% nb="solution:quiz_3"
### BEGIN SOLUTION
quiz_3 = "A"
### END SOLUTION

# %% nb="test:test_quiz_3:1"
assert isinstance(quiz_3, str) and quiz_3.strip().upper() in {"A", "B", "C", "D"}, "quiz_3 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day2_channel_attention", "quiz_3", quiz_3)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:quiz_4_text"
# **Question 4.** In your `SEBasicBlock` (stride 1, same channels), suppose training drives every
# SE gate close to 0. What does the block then compute, approximately?
#
# * A. Zero everywhere, whatever its input, since the gate scales the sum.
# * B. ReLU of its input: the branch is silenced, the shortcut passes on.
# * C. The branch alone, as in a plain network without a shortcut.
# * D. Its input halved, since a shut gate still lets half of it through.

# %% nb="solution:quiz_4"
### BEGIN SOLUTION
quiz_4 = "B"
### END SOLUTION

# %% nb="test:test_quiz_4:1"
assert isinstance(quiz_4, str) and quiz_4.strip().upper() in {"A", "B", "C", "D"}, "quiz_4 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day2_channel_attention", "quiz_4", quiz_4)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:written_1_text"
# ## Written question (3 points, graded by your instructor)
#
# SE computes the gate of each channel from all $C$ channel means through a bottleneck
# ($C \to C/r \to C$); ECA computes it from the $k$ neighbouring channel means with one shared 1-D
# convolution and no reduction.
#
# 1. The order of the channels that a convolution outputs is arbitrary when training starts. Why
#    can a rule that looks only at *neighbouring* channels still work, and what could SE learn
#    that ECA cannot?
# 2. Wang et al. (ECA-Net, CVPR 2020) argue against SE's dimensionality reduction. What does the
#    bottleneck force on the $C$ gates, and what does ECA keep instead?
#
# Write your answer in the cell below (double-click it to edit it), a few sentences per part. No
# test checks it: a person grades it after you submit.

# %% [markdown] nb="answer:written_1:3"
# ### BEGIN SOLUTION
# **Model answer.**
# 1. The convolution before the gate is trained together with it, so the network can learn to put
#    channels whose gates should interact next to each other; "neighbour" is whatever training
#    makes it. SE can let any channel's gate depend on any other channel (a global, learned
#    interaction, e.g. one channel switching off a distant one); ECA's gate for channel $c$ sees
#    only channels $c - \lfloor k/2 \rfloor .. c + \lfloor k/2 \rfloor$, with the same $k$ weights
#    for every channel.
# 2. The bottleneck maps the $C$ means to $C/r$ numbers and back, so the $C$ gates are a function
#    of only $C/r$ values: the gates cannot vary independently, and no channel's gate has a direct
#    weight from its own descriptor. ECA keeps the direct correspondence between a channel and its
#    gate (no reduction) and limits the interaction to a local one, with $k$ parameters instead of
#    about $2C^2/r$.
#
# **Rubric (3 points).**
# * part 1 (2 points): the preceding layer learns the channel order, so locality is learned
#   (1 point); SE's interaction is global, ECA's local and shared (1 point);
# * part 2 (1 point): the bottleneck couples the gates through $C/r$ numbers, ECA keeps one gate per
#   channel with a direct dependence. Half a point for "fewer parameters" alone.
# ### END SOLUTION
