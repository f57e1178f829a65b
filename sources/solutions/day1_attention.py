# %% [markdown] nb="readonly:intro"
# # Day 1 assignment: the attention formula
#
# You will implement, from scratch, the pieces every later day builds on, and use them on a
# problem the lesson left open:
#
# 1. `softmax`: a numerically stable softmax (without calling torch's own);
# 2. `scaled_dot_product_attention`: $\mathrm{softmax}(QK^\top/\sqrt{d})\,V$ with an optional mask;
# 3. `causal_mask`: the mask that lets position $i$ see only positions $\le i$;
# 4. `padded_attention`: attention over a batch of sequences of different lengths, padded to one
#    length, where the padding changes nothing.
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


def torch_softmax_calls(fn, *args, **kwargs):
    """Run `fn(*args, **kwargs)` with torch's own softmax functions replaced by recorders.

    Returns the names of those it called (an empty list when it called none of them).
    """
    targets = [
        (torch, "softmax"), (torch, "log_softmax"), (F, "softmax"), (F, "log_softmax"),
        (torch.special, "softmax"), (torch.special, "log_softmax"),
        (torch.Tensor, "softmax"), (torch.Tensor, "log_softmax"),
        (torch.nn.Softmax, "forward"), (torch.nn.LogSoftmax, "forward"),
    ]
    called = []
    saved = [(owner, name, name in vars(owner), getattr(owner, name)) for owner, name in targets]

    def recorder(label, original):
        def wrapped(*a, **kw):
            called.append(label)
            return original(*a, **kw)
        return wrapped

    try:
        for owner, name, _, original in saved:
            setattr(owner, name, recorder(f"{getattr(owner, '__name__', owner)}.{name}", original))
        fn(*args, **kwargs)
    finally:
        for owner, name, owned, original in saved:
            if owned:
                setattr(owner, name, original)
            else:
                delattr(owner, name)
    return sorted(set(called))


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
#   `log_softmax` variants. The test cell below tells you if your code calls one of them, and the
#   grader gives no points for this exercise if it does.

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
used = torch_softmax_calls(softmax, torch.randn(3, 4))
assert not used, (
    f"your softmax calls torch's own softmax ({', '.join(used)}). Write it yourself with max, exp and sum: "
    "the grader gives no points for a softmax that calls torch.softmax, F.softmax, Tensor.softmax, "
    "nn.Softmax or a log_softmax."
)
x = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
check_close(softmax(x), torch.softmax(x, dim=-1), "softmax of a small (2, 3) tensor")
check_close(softmax(x, dim=0), torch.softmax(x, dim=0), "softmax along dim=0")
cube = torch.randn(2, 3, 4)
for dim in (1, -2, -3):
    check_close(softmax(cube, dim), torch.softmax(cube, dim=dim), f"softmax of a (2, 3, 4) tensor along dim={dim}")
square = torch.randn(5, 5)
check_close(softmax(square), torch.softmax(square, dim=-1), "softmax of a square (5, 5) tensor (keepdim=True?)")
big = torch.tensor([[1e4, 0.0, -1e4]])
check_close(softmax(big), torch.tensor([[1.0, 0.0, 0.0]]), "softmax of entries of size 1e4 (needs the max trick)")
inf = torch.tensor([[0.5, -math.inf, 0.5]])
assert softmax(inf)[0, 1] == 0, "an entry equal to -inf must get weight exactly 0"
x64 = torch.randn(3, 4, dtype=torch.float64)
check_close(softmax(x64), torch.softmax(x64, dim=-1), "softmax of a float64 tensor (keep the dtype)")
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
bias = torch.randn(4, 6)
out, weights = scaled_dot_product_attention(q, k, v, mask=bias)
check_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=bias), "out with a float mask (added to the scores)")
q4, k4, v4 = torch.randn(2, 3, 4, 8), torch.randn(2, 3, 5, 8), torch.randn(2, 3, 5, 8)
keep = torch.tensor([[True] * 5, [True, True, False, False, False]]).view(2, 1, 1, 5)  # (B, 1, 1, L_k)
out, weights = scaled_dot_product_attention(q4, k4, v4, mask=keep)
assert (weights[1, ..., 2:] == 0).all(), "with a (B, 1, 1, L_k) padding mask, the padding keys must get weight exactly 0"
check_close(out, F.scaled_dot_product_attention(q4, k4, v4, attn_mask=keep), "out on 4-D inputs with a (2, 1, 1, 5) mask")
q64, k64, v64 = q.double(), k.double(), v.double()
check_close(scaled_dot_product_attention(q64, k64, v64)[0], F.scaled_dot_product_attention(q64, k64, v64),
            "out for float64 inputs (keep the dtype)")
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
assert isinstance(m, torch.Tensor), f"causal_mask should return a torch tensor, got {type(m).__name__}"
assert m.dtype == torch.bool, f"causal_mask should return a bool tensor, got {m.dtype}"
expected = torch.tensor([[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]], dtype=torch.bool)
assert torch.equal(m, expected), f"causal_mask(4) should be\n{expected.int()}\ngot\n{m.int()}"
one = causal_mask(1)
assert isinstance(one, torch.Tensor) and one.shape == (1, 1) and one.dtype == torch.bool and bool(one[0, 0]), (
    f"causal_mask(1) should be tensor([[True]]), got {one!r}"
)
_, w = scaled_dot_product_attention(torch.randn(5, 4), torch.randn(5, 4), torch.randn(5, 4), mask=causal_mask(5))
assert (w.triu(1) == 0).all(), "with a causal mask, no query may put weight on a later key"
print("causal_mask: visible tests passed")

# %% nb="test:test_causal_mask_hidden:1"
# Hidden tests for `causal_mask` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day1_attention", "causal_mask", causal_mask)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:padded_intro"
# ## Exercise 4: attention over padded sequences (4 points)
#
# Real batches hold sequences of different lengths: sentences, the objects detected in an image,
# images cut into different numbers of patches. To stack them into one tensor, each is **padded**
# to a common length $L$; `lengths[b]` says how many positions of item $b$ are real (positions
# `0 .. lengths[b] - 1`); the rest is padding whose content is arbitrary. The lesson drew the
# padding mask of one sequence; here you make a whole batch behave as if it had never been padded.
#
# Write `padded_attention(q, k, v, lengths) -> (out, weights)`:
#
# * `q (B, ..., L, d)`, `k (B, ..., L, d)`, `v (B, ..., L, d_v)`: the batch is the **first**
#   dimension, positions and features the last two, with any number of dimensions in between
#   (heads, for instance: `(B, h, L, d)`). `lengths` is an integer tensor `(B,)` with
#   `1 <= lengths[b] <= L`.
# * A real query of item $b$ attends to the real keys of item $b$ only: padding keys get weight
#   exactly 0, and `out` at the real positions equals `scaled_dot_product_attention` run on the
#   unpadded sequence alone, whatever (finite) values the padding holds.
# * A padding query produces nothing: its row of `weights` and its row of `out` are exactly 0.
# * No `nan` anywhere, neither in the result nor in the gradients (recall from the lesson what the
#   softmax of a row whose every key is masked gives). Gradients reach `q`, `k` and `v`.
# * Returns `out (B, ..., L, d_v)` and `weights (B, ..., L, L)`, in the input's dtype. Use your
#   `scaled_dot_product_attention`; think about the shape your mask needs to broadcast against
#   `(B, ..., L, L)` when the batch dimension comes first.

# %% nb="solution:padded_attention"
def padded_attention(q, k, v, lengths):
    """Attention within each of B sequences padded to a common length L.

    Args:
        q: (B, ..., L, d) queries; k: (B, ..., L, d) keys; v: (B, ..., L, d_v) values.
        lengths: (B,) integer tensor; item b is real at positions 0 .. lengths[b] - 1.
    Returns:
        out: (B, ..., L, d_v); at real positions, attention over the real keys only; 0 at padding.
        weights: (B, ..., L, L); 0 on padding keys and on the rows of padding queries.
    """
    ### BEGIN SOLUTION
    length = q.shape[-2]
    real = torch.arange(length, device=q.device) < lengths.to(q.device)[:, None]  # (B, L)
    real = real.view(real.shape[0], *[1] * (q.dim() - 3), length)  # (B, 1, ..., 1, L)
    out, weights = scaled_dot_product_attention(q, k, v, mask=real.unsqueeze(-2))  # keys: (B, 1, ..., 1, 1, L)
    padding_query = ~real.unsqueeze(-1)  # (B, 1, ..., 1, L, 1)
    return out.masked_fill(padding_query, 0.0), weights.masked_fill(padding_query, 0.0)
    ### END SOLUTION


# %% nb="test:test_padded_attention:1"
lengths = torch.tensor([6, 4, 1])
q, k, v = torch.randn(3, 6, 8), torch.randn(3, 6, 8), torch.randn(3, 6, 5)
result = padded_attention(q, k, v, lengths)
assert isinstance(result, (tuple, list)) and len(result) == 2, f"return the pair (out, weights), got {type(result).__name__}"
out, weights = result
assert isinstance(out, torch.Tensor) and isinstance(weights, torch.Tensor), "out and weights must both be tensors"
assert out.shape == (3, 6, 5), f"out should have shape (B, L, d_v) = (3, 6, 5), got {tuple(out.shape)}"
assert weights.shape == (3, 6, 6), f"weights should have shape (B, L, L) = (3, 6, 6), got {tuple(weights.shape)}"
assert torch.isfinite(out).all() and torch.isfinite(weights).all(), (
    "the result contains nan or inf: a padding query whose every key is masked gives 0/0 in the softmax"
)
for b, n in enumerate(lengths.tolist()):
    qb, kb, vb = q[b, :n], k[b, :n], v[b, :n]  # sequence b without its padding
    check_close(out[b, :n], F.scaled_dot_product_attention(qb, kb, vb),
                f"out of sequence {b} (length {n}), compared with attention on it unpadded")
    check_close(weights[b, :n, :n], torch.softmax(qb @ kb.mT / math.sqrt(8), dim=-1), f"weights of sequence {b} over its real keys")
    assert (weights[b, :, n:] == 0).all(), f"sequence {b}: its padding keys (positions {n} to 5) must get weight exactly 0"
    assert (weights[b, n:] == 0).all() and (out[b, n:] == 0).all(), (
        f"sequence {b}: the rows of its padding queries (positions {n} to 5) must be exactly 0 in out and weights"
    )
noisy = [t.clone() for t in (q, k, v)]
for t in noisy:
    for b, n in enumerate(lengths.tolist()):
        t[b, n:] = 100 * torch.randn_like(t[b, n:])
check_close(padded_attention(*noisy, lengths)[0], out, "out after changing only what the padding holds")
leaves = [t.clone().requires_grad_(True) for t in (q, k, v)]
padded_attention(*leaves, lengths)[0].sum().backward()
for name, t in zip("qkv", leaves):
    assert t.grad is not None and torch.isfinite(t.grad).all(), (
        f"the gradient with respect to {name} is missing or holds nan: replacing a nan after the softmax "
        "does not remove it from the backward pass; never let a row have every key masked"
    )
qh, kh, vh = torch.randn(2, 4, 5, 8), torch.randn(2, 4, 5, 8), torch.randn(2, 4, 5, 3)  # (B, h, L, d)
out, weights = padded_attention(qh, kh, vh, torch.tensor([5, 2]))
assert weights.shape == (2, 4, 5, 5), f"with heads, weights should have shape (B, h, L, L) = (2, 4, 5, 5), got {tuple(weights.shape)}"
check_close(out[1, :, :2], F.scaled_dot_product_attention(qh[1, :, :2], kh[1, :, :2], vh[1, :, :2]),
            "4-D input (B, h, L, d): out of sequence 1 (length 2) in every head")
print("padded_attention: visible tests passed")

# %% nb="test:test_padded_attention_hidden:3"
# Hidden tests for `padded_attention` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day1_attention", "padded_attention", padded_attention)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:quiz_intro"
# ## Concept questions (1 point each)
#
# Answer each question by assigning one letter, e.g. `quiz_1 = "A"`. The visible test checks
# only that your answer is a letter; the grader knows which is right.
#
# **Question 1.** The entries of $q, k \in \mathbb{R}^{64}$ are independent, with mean 0 and
# variance 1. What are the standard deviations of the raw score $q \cdot k$ and of the scaled
# score $q \cdot k / \sqrt{64}$?
#
# * A. 64 and 8
# * B. 8 and 1
# * C. 8 and 2.83
# * D. 1 and 0.125

# %% nb="solution:quiz_1"
### BEGIN SOLUTION
quiz_1 = "B"
### END SOLUTION

# %% nb="test:test_quiz_1:1"
assert isinstance(quiz_1, str) and quiz_1.strip().upper() in {"A", "B", "C", "D"}, "quiz_1 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day1_attention", "quiz_1", quiz_1)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:quiz_2_text"
# **Question 2.** The attention weights of a layer have shape $(B, h, N, N)$ with $N = 50$, each
# row a softmax over the keys. A tutorial adds `0.1 * weights.mean()` to the loss "to make
# attention sparse". What does this term do to training?
#
# * A. It pushes every weight towards 0, so each row attends to fewer keys.
# * B. It penalises the largest weights most, so the rows become flatter.
# * C. Nothing: it always equals 0.1/50, so its gradient is zero.
# * D. It pushes the largest weight of every row up towards 1.

# %% nb="solution:quiz_2"
### BEGIN SOLUTION
quiz_2 = "C"
### END SOLUTION

# %% nb="test:test_quiz_2:1"
assert isinstance(quiz_2, str) and quiz_2.strip().upper() in {"A", "B", "C", "D"}, "quiz_2 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day1_attention", "quiz_2", quiz_2)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:quiz_3_text"
# **Question 3.** A $224 \times 224$ image cut into $16 \times 16$ patches gives 196 tokens.
# Cut into $4 \times 4$ patches instead (the token width $d$ unchanged), how much memory do the
# attention weights of one head take, compared with before?
#
# * A. 4 times as much: each patch is 4 times narrower.
# * B. 16 times as much: there are 16 times as many tokens.
# * C. The same amount: it depends on the width $d$ only.
# * D. 256 times as much: one weight per pair of tokens.

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

# %% [markdown] nb="readonly:quiz_4_text"
# **Question 4.** A boolean mask leaves one query no key at all, so its whole row of scores is
# set to $-\infty$. What does the stable softmax of that row,
# $e^{x_i - m} / \sum_j e^{x_j - m}$ with $m = \max_j x_j$, give?
#
# * A. `nan` everywhere: $x_i - m$ is $-\infty - (-\infty)$.
# * B. 0 everywhere, because $e^{-\infty} = 0$ for every key.
# * C. $1/L_k$ everywhere, as if no key had been masked.
# * D. 1 on the first key (a maximum), 0 on the others.

# %% nb="solution:quiz_4"
### BEGIN SOLUTION
quiz_4 = "A"
### END SOLUTION

# %% nb="test:test_quiz_4:1"
assert isinstance(quiz_4, str) and quiz_4.strip().upper() in {"A", "B", "C", "D"}, "quiz_4 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day1_attention", "quiz_4", quiz_4)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:written_1_text"
# ## Written question (3 points, graded by your instructor)
#
# Published code keeps query $i$ away from key $j$ in three ways:
#
# 1. set the score to $-\infty$ before the softmax (what your `scaled_dot_product_attention` does
#    with a boolean mask);
# 2. set the score to $-10^9$ before the softmax instead;
# 3. take the softmax over all keys, then multiply the weights by the 0/1 mask.
#
# For each way, say (a) whether the weights of the allowed keys equal those of attention run
# without the masked keys at all, and (b) what it gives for a query whose every key is masked
# (a padding row in `padded_attention`). Say why, in a sentence each; a few lines of code in a
# cell of your own to check your claims are welcome (float16 is worth a try for way 2).
#
# Write your answer in the cell below (double-click it to edit it). No test checks it: a person
# grades it after you submit.

# %% [markdown] nb="answer:written_1:3"
# ### BEGIN SOLUTION
# **Model answer.**
# 1. $-\infty$: exactly equal, since $e^{-\infty} = 0$ and the normaliser then sums over the allowed
#    keys only. A row with every key masked is `nan` ($-\infty - (-\infty)$, or $0/0$), and the `nan`
#    also reaches the gradients: such rows must be avoided or replaced, as `padded_attention` does.
# 2. $-10^9$: equal in float32 in practice, since $e^{-10^9}$ underflows to exactly 0. A fully
#    masked row gets no `nan` but uniform weights $1/L$ over the masked keys: finite and silently
#    wrong. $-10^9$ does not fit in float16 (largest value 65504): `masked_fill` raises an overflow
#    error, and a cast turns it into $-\infty$ (back to way 1). `torch.finfo(dtype).min` is the safe
#    choice of this kind.
# 3. Multiplying after the softmax: not equal. The masked keys still took part in the normaliser,
#    so the allowed weights are too small, the row sums to less than 1 and depends on what the
#    masked (padding) keys hold. Dividing by the row sum afterwards repairs it (the same as way 1,
#    with $0/0$ on a fully masked row).
#
# **Rubric (3 points).** One point per way, for both parts with a reason:
# * way 1: equal weights because $e^{-\infty} = 0$ drops the key from the normaliser; `nan` on a fully
#   masked row (the reason: $-\infty - (-\infty)$ or $0/0$);
# * way 2: equal in float32 (underflow to 0); uniform weights, not `nan`, on a fully masked row.
#   The float16 overflow is not required; mentioning it makes up for a half point lost elsewhere;
# * way 3: not equal because the masked keys stay in the normaliser (rows sum to less than 1).
#
# Half a point for a right outcome without a reason. No point for a reason that contradicts the
# outcome ("equal, because the mask sets the weights to 0 afterwards").
# ### END SOLUTION
