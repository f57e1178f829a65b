# %% [markdown] nb="readonly:intro"
# # Day 2 assignment: channel attention (SE and ECA)
#
# You will implement the two channel-attention blocks from today's lesson:
#
# 1. `SEBlock`: Squeeze-and-Excitation (global average pool, bottleneck MLP, sigmoid, rescale);
# 2. `eca_kernel_size`: the adaptive kernel size of ECA;
# 3. `ECABlock`: Efficient Channel Attention (global average pool, 1-D convolution across channels,
#    sigmoid, rescale).
#
# Then answer three concept questions.
#
# **How to work.** Write your code where it says `# YOUR CODE HERE` and delete the
# `raise NotImplementedError()` line. Run the test cell under each exercise: it explains what is
# wrong in words. When you are graded, more (hidden) checks run: other channel counts (also fewer
# channels than the reduction ratio), non-square feature maps, batch 1, float64, gradients, and a
# comparison with an independent reference implementation using the same weights.
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
    out = block(x)
    if not isinstance(out, torch.Tensor) or out.shape != x.shape:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise AssertionError(
            f"the block must return the rescaled input, of the input's shape {tuple(x.shape)}; got {shape}. "
            "Multiply x by the gate instead of returning the gate."
        )
    return out / x


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
x = torch.rand(2, 32, 5, 7) + 0.5  # positive, so out / x is the gate
gate = channel_gate_of(se, x)
assert torch.allclose(gate, gate[:, :, :1, :1].expand_as(gate), atol=1e-6), (
    "the factor applied to a channel must be the same at every position (one gate per channel)"
)
assert (gate > 0).all() and (gate < 1).all(), "every gate must lie strictly between 0 and 1 (use a sigmoid)"
with torch.no_grad():
    expected = x * torch.sigmoid(se.fc2(F.relu(se.fc1(x.mean((2, 3))))))[:, :, None, None]
check_close(se(x), expected, "SEBlock output on a (2, 32, 5, 7) input")
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
# with $\gamma = 2$, $b = 1$ by default. Return a Python `int`.

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
# (channels outside $0..C-1$ count as zero: zero padding).
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
with torch.no_grad():
    s = x.mean((2, 3))
    w = eca.conv.weight[0, 0]
    padded = F.pad(s, (1, 1))
    logits = w[0] * padded[:, :-2] + w[1] * padded[:, 1:-1] + w[2] * padded[:, 2:]
check_close(gate[:, :, 0, 0], torch.sigmoid(logits), "ECA gates on a (2, 64, 4, 6) input (conv over neighbouring channel means)")
print("ECABlock: visible tests passed")

# %% nb="test:test_ECABlock_hidden:2"
# Hidden tests for `ECABlock` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day2_channel_attention", "ECABlock", ECABlock)
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
# * B. 8,464
# * C. 65,536
# * D. 131,072

# %% nb="solution:quiz_1"
### BEGIN SOLUTION
quiz_1 = "B"
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
# * A. the spatial mean of channel $c$ only.
# * B. the spatial means of channels $c - \lfloor k/2 \rfloor, \dots, c + \lfloor k/2 \rfloor$ only.
# * C. the spatial means of all $C$ channels, through a bottleneck.
# * D. the values of channel $c$ at $k \times k$ neighbouring positions.

# %% nb="solution:quiz_2"
### BEGIN SOLUTION
quiz_2 = "B"
### END SOLUTION

# %% nb="test:test_quiz_2:1"
assert isinstance(quiz_2, str) and quiz_2.strip().upper() in {"A", "B", "C", "D"}, "quiz_2 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day2_channel_attention", "quiz_2", quiz_2)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:quiz_3_text"
# **Question 3.** Why does SE end in a sigmoid rather than a softmax over the channels?
#
# * A. The sigmoid is cheaper to compute, and that is the only difference.
# * B. A softmax cannot be differentiated.
# * C. A softmax makes the $C$ gates sum to 1, so channels compete (with 256 channels the average
#   gate is 1/256); the sigmoid lets each channel be kept or suppressed independently.
# * D. A sigmoid makes the gates sum to 1, which keeps the output's scale unchanged.

# %% nb="solution:quiz_3"
### BEGIN SOLUTION
quiz_3 = "C"
### END SOLUTION

# %% nb="test:test_quiz_3:1"
assert isinstance(quiz_3, str) and quiz_3.strip().upper() in {"A", "B", "C", "D"}, "quiz_3 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day2_channel_attention", "quiz_3", quiz_3)
### END HIDDEN TESTS
