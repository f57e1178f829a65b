# %% [markdown] nb="readonly:intro"
# # Day 1 assignment: the attention formula
#
# You will implement, from scratch, the three pieces every later day builds on:
#
# 1. `softmax`: a numerically stable softmax (without calling torch's own);
# 2. `scaled_dot_product_attention`: $\mathrm{softmax}(QK^\top/\sqrt{d})\,V$ with an optional mask;
# 3. `causal_mask`: the mask that lets position $i$ see only positions $\le i$.
#
# **How to work.** Write your code where it says `# YOUR CODE HERE` and delete the
# `raise NotImplementedError()` line. Run the test cell under each exercise: it explains
# what is wrong in words. When you are graded, more (hidden) checks run: other shapes,
# masks and dtypes, compared with PyTorch's own implementation.
# Before you submit: *Kernel → Restart Kernel and Run All Cells*, and make sure nothing fails.
# Do not rename the notebook or delete cells.
#
# Shapes: `B` batch, `L_q`/`L_k` query/key lengths, `d` query/key width, `d_v` value width.
# Boolean masks mean **True = may attend**, as in `torch.nn.functional.scaled_dot_product_attention`.

# %% nb="readonly:setup"
import math

import torch
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


# %% [markdown] nb="readonly:softmax_intro"
# ## Exercise 1: a numerically stable softmax (3 points)
#
# $$\mathrm{softmax}(x)_i = \frac{e^{x_i}}{\sum_j e^{x_j}} = \frac{e^{x_i - m}}{\sum_j e^{x_j - m}}, \qquad m = \max_j x_j .$$
#
# Subtracting the maximum changes nothing mathematically but keeps every exponent $\le 0$, so
# nothing overflows: without it, `exp(1e4)` is `inf` and the result is `nan`.
#
# * Work along `dim` (any dimension, negative allowed); keep the input's shape and dtype.
# * Entries equal to `-inf` must get weight exactly 0 (that is how masks will work).
# * Do **not** call `torch.softmax`, `F.softmax`, `Tensor.softmax`, `nn.Softmax` or the
#   `log_softmax` variants: the grader checks.

# %% nb="solution:softmax"
def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Numerically stable softmax of `x` along `dim`.

    Args:
        x: a tensor of any shape; entries may be -inf (they get weight 0).
        dim: the dimension to normalise over.
    Returns:
        A tensor of the same shape and dtype as `x` whose slices along `dim` sum to 1.
    """
    ### BEGIN SOLUTION
    shifted = x - x.amax(dim=dim, keepdim=True)
    exp = shifted.exp()
    return exp / exp.sum(dim=dim, keepdim=True)
    ### END SOLUTION


# %% nb="test:test_softmax:1"
x = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
check_close(softmax(x), torch.softmax(x, dim=-1), "softmax of a small (2, 3) tensor")
check_close(softmax(x, dim=0), torch.softmax(x, dim=0), "softmax along dim=0")
big = torch.tensor([[1e4, 0.0, -1e4]])
check_close(softmax(big), torch.tensor([[1.0, 0.0, 0.0]]), "softmax of entries of size 1e4 (needs the max trick)")
inf = torch.tensor([[0.5, -math.inf, 0.5]])
assert softmax(inf)[0, 1] == 0, "an entry equal to -inf must get weight exactly 0"
rows = softmax(torch.randn(4, 6)).sum(-1)
assert torch.allclose(rows, torch.ones(4)), f"each row must sum to 1, got sums {rows.tolist()}"
print("softmax: visible tests passed")

# %% nb="test:test_softmax_hidden:2"
# Hidden tests for `softmax` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day1_attention", "softmax", softmax)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:sdpa_intro"
# ## Exercise 2: scaled dot-product attention (4 points)
#
# $$\mathrm{Attention}(Q, K, V) = \underbrace{\mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d}}\right)}_{\text{weights}} V$$
#
# * `q (..., L_q, d)`, `k (..., L_k, d)`, `v (..., L_k, d_v)`; any number of leading batch
#   dimensions. `d` is the **query/key** width, `q.shape[-1]`.
# * `mask` (optional) broadcasts to `(..., L_q, L_k)`. A **boolean** mask means True = may attend:
#   set the excluded scores to `-inf` before the softmax (use your `softmax`). A **float** mask is
#   added to the scores, as in PyTorch.
# * Return `(out, weights)` with `out (..., L_q, d_v)` and `weights (..., L_q, L_k)`.
#
# The result must equal `torch.nn.functional.scaled_dot_product_attention` on the same input.

# %% nb="solution:scaled_dot_product_attention"
def scaled_dot_product_attention(q, k, v, mask=None):
    """Attention of queries `q` over keys `k` and values `v`.

    Args:
        q: (..., L_q, d) queries.
        k: (..., L_k, d) keys.
        v: (..., L_k, d_v) values.
        mask: optional; bool (True = may attend) or float (added to the scores),
            broadcastable to (..., L_q, L_k).
    Returns:
        out: (..., L_q, d_v), the weighted average of the values.
        weights: (..., L_q, L_k), each row sums to 1.
    """
    ### BEGIN SOLUTION
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        if mask.dtype == torch.bool:
            scores = scores.masked_fill(~mask, float("-inf"))
        else:
            scores = scores + mask
    weights = softmax(scores, dim=-1)
    return weights @ v, weights
    ### END SOLUTION


# %% nb="test:test_scaled_dot_product_attention:1"
q, k, v = torch.randn(2, 4, 8), torch.randn(2, 6, 8), torch.randn(2, 6, 3)
out, weights = scaled_dot_product_attention(q, k, v)
assert out.shape == (2, 4, 3), f"out should have shape (2, 4, 3) = (B, L_q, d_v), got {tuple(out.shape)}"
assert weights.shape == (2, 4, 6), f"weights should have shape (2, 4, 6) = (B, L_q, L_k), got {tuple(weights.shape)}"
rows = weights.sum(-1)
assert torch.allclose(rows, torch.ones_like(rows), atol=1e-5), (
    f"each row of the weights must sum to 1 over the keys; got row sums {rows[0].tolist()}. "
    "Is the softmax over the last dimension?"
)
check_close(weights, torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(8), -1), "weights (is the scale 1/sqrt(d)?)")
check_close(out, F.scaled_dot_product_attention(q, k, v), "out, compared with F.scaled_dot_product_attention")
mask = torch.tensor([True, True, True, False, False, True]).expand(4, 6)
out, weights = scaled_dot_product_attention(q, k, v, mask=mask)
assert (weights[..., 3:5] == 0).all(), "keys where the mask is False must get weight exactly 0 (True = may attend)"
check_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), "out with a boolean mask")
print("scaled_dot_product_attention: visible tests passed")

# %% nb="test:test_scaled_dot_product_attention_hidden:3"
# Hidden tests for `scaled_dot_product_attention` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day1_attention", "scaled_dot_product_attention", scaled_dot_product_attention)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:causal_intro"
# ## Exercise 3: the causal mask (1 point)
#
# In a causal (autoregressive) model, position $i$ may attend to positions $0, \dots, i$ only.
# Return a boolean `(n, n)` tensor that is True on and below the diagonal.

# %% nb="solution:causal_mask"
def causal_mask(n: int) -> torch.Tensor:
    """A (n, n) bool tensor, True where query i may attend to key j (j <= i)."""
    ### BEGIN SOLUTION
    return torch.ones(n, n, dtype=torch.bool).tril()
    ### END SOLUTION


# %% nb="test:test_causal_mask:1"
m = causal_mask(4)
assert m.dtype == torch.bool, f"causal_mask should return a bool tensor, got {m.dtype}"
expected = torch.tensor([[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]], dtype=torch.bool)
assert torch.equal(m, expected), f"causal_mask(4) should be\n{expected.int()}\ngot\n{m.int()}"
_, w = scaled_dot_product_attention(torch.randn(5, 4), torch.randn(5, 4), torch.randn(5, 4), mask=causal_mask(5))
assert (w.triu(1) == 0).all(), "with a causal mask, no query may put weight on a later key"
print("causal_mask: visible tests passed")

# %% nb="test:test_causal_mask_hidden:1"
# Hidden tests for `causal_mask` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day1_attention", "causal_mask", causal_mask)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:quiz_intro"
# ## Concept questions (1 point each)
#
# Answer each question by assigning one letter, e.g. `quiz_1 = "A"`. The visible test checks
# only that your answer is a letter; the grader knows which is right.
#
# **Question 1.** The entries of $q, k \in \mathbb{R}^d$ are independent with mean 0 and
# variance 1. Why does attention divide $q \cdot k$ by $\sqrt{d}$?
#
# * A. To make the weights sum to 1.
# * B. Because the values $v$ have $\sqrt{d}$ entries.
# * C. $q \cdot k$ has variance $d$; dividing by $\sqrt{d}$ gives variance 1, so the softmax does not saturate as $d$ grows.
# * D. To make attention cost $O(n\sqrt{d})$ instead of $O(nd)$.

# %% nb="solution:quiz_1"
### BEGIN SOLUTION
quiz_1 = "C"
### END SOLUTION

# %% nb="test:test_quiz_1:1"
assert isinstance(quiz_1, str) and quiz_1.strip().upper() in {"A", "B", "C", "D"}, "quiz_1 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day1_attention", "quiz_1", quiz_1)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:quiz_2_text"
# **Question 2.** What does $\mathrm{softmax}(x + c)$ equal, for a constant $c$ added to every entry?
#
# * A. $\mathrm{softmax}(x) + c$
# * B. $\mathrm{softmax}(x)$
# * C. $e^{c}\,\mathrm{softmax}(x)$
# * D. $\mathrm{softmax}(x) / c$

# %% nb="solution:quiz_2"
### BEGIN SOLUTION
quiz_2 = "B"
### END SOLUTION

# %% nb="test:test_quiz_2:1"
assert isinstance(quiz_2, str) and quiz_2.strip().upper() in {"A", "B", "C", "D"}, "quiz_2 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day1_attention", "quiz_2", quiz_2)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:quiz_3_text"
# **Question 3.** Self-attention over a sequence of $n$ tokens of width $d$: how do the time to
# compute the scores and the memory for the weight matrix grow?
#
# * A. $O(nd)$ time, $O(n)$ memory
# * B. $O(n d^2)$ time, $O(d^2)$ memory
# * C. $O(n \log n)$ time, $O(n)$ memory
# * D. $O(n^2 d)$ time, $O(n^2)$ memory

# %% nb="solution:quiz_3"
### BEGIN SOLUTION
quiz_3 = "D"
### END SOLUTION

# %% nb="test:test_quiz_3:1"
assert isinstance(quiz_3, str) and quiz_3.strip().upper() in {"A", "B", "C", "D"}, "quiz_3 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day1_attention", "quiz_3", quiz_3)
### END HIDDEN TESTS
