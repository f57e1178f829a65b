# %% [markdown] nb="readonly:intro"
# # Day 7 assignment: the pieces of a training loop
#
# The practicum notebook (`course/day7_practicum.ipynb`) trains a Vision Transformer on CIFAR-10.
# Here you write the four pieces that every such run is made of, small enough to be graded on a
# CPU in seconds:
#
# 1. `warmup_cosine_lr`: the learning-rate schedule (linear warmup, then cosine decay);
# 2. `accuracy`: top-k accuracy of a batch of logits;
# 3. `train_one_epoch`: one pass over the training data, with optional mixed precision;
# 4. `evaluate`: loss and accuracy on held-out data, without gradients.
#
# At the end you put them together and train a small network on scikit-learn's handwritten
# digits with your own code.
#
# **How to work.** Write your code where it says `# YOUR CODE HERE` and delete the
# `raise NotImplementedError()` line. Run the test cell under each exercise: it explains what is
# wrong. When you are graded, hidden checks run your functions on other models, batch sizes and
# schedules, and compare them with a reference implementation.
# Before you submit: *Kernel → Restart Kernel and Run All Cells*, and make sure nothing fails.
# Do not rename the notebook or delete cells.

# %% nb="readonly:setup"
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"
print(f"torch {torch.__version__}; running on {device}" + ("" if device == "cuda" else " (no GPU found: this assignment needs none)"))


def check_close(actual, expected, what, atol=1e-6, rtol=1e-5):
    """Compare a number (or tensor) with the expected one and explain any difference."""
    if isinstance(actual, torch.Tensor) and actual.numel() == 1:
        raise AssertionError(f"{what} should be a Python float, got a tensor; use .item()")
    if not isinstance(actual, (float, int)) or isinstance(actual, bool):
        raise AssertionError(f"{what} should be a Python float, got {type(actual).__name__}")
    if not math.isclose(actual, expected, rel_tol=rtol, abs_tol=atol):
        raise AssertionError(f"{what} is {actual:.8g}, expected {expected:.8g}")
    print(f"ok: {what}")


def make_batches(n=23, batch_size=8, features=5, classes=3, seed=0):
    """A list of (inputs, targets) batches: a stand-in for a DataLoader (last batch smaller)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, features, generator=g)
    y = torch.randint(0, classes, (n,), generator=g)
    return [(x[i : i + batch_size], y[i : i + batch_size]) for i in range(0, n, batch_size)]


# %% [markdown] nb="readonly:lr_intro"
# ## Exercise 1: warmup and cosine decay (3 points)
#
# Transformers trained with AdamW are unstable in their first steps: Adam's estimate of the
# gradient's second moment is still poor, so updates can be large. The usual remedy is a
# **linear warmup** followed by a **cosine decay** to `min_lr`. For step $s$ (counting from 0),
# $T$ = `total_steps`, $W$ = `warmup_steps`:
#
# $$
# \mathrm{lr}(s) = \begin{cases}
#   \mathrm{base\_lr}\cdot\dfrac{s+1}{W} & s < W \\[2ex]
#   \mathrm{min\_lr} + (\mathrm{base\_lr}-\mathrm{min\_lr})\,\dfrac{1+\cos(\pi p)}{2},
#   \quad p = \dfrac{s-W}{\max(1,\,T-W)} & s \ge W
# \end{cases}
# $$
#
# The `+1` makes the first step use a small but nonzero rate and the last warmup step reach
# `base_lr` exactly. Return a Python float.

# %% nb="solution:warmup_cosine_lr"
def warmup_cosine_lr(step: int, total_steps: int, warmup_steps: int, base_lr: float, min_lr: float = 0.0) -> float:
    """The learning rate at optimizer step `step` (0-based) of a run of `total_steps` steps."""
    ### BEGIN SOLUTION
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    p = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return min_lr + (base_lr - min_lr) * (1 + math.cos(math.pi * p)) / 2
    ### END SOLUTION


# %% nb="test:test_warmup_cosine_lr:1"
check_close(warmup_cosine_lr(0, 100, 10, 1.0), 0.1, "lr at step 0 of a 10-step warmup (base_lr * 1/10)")
check_close(warmup_cosine_lr(9, 100, 10, 1.0), 1.0, "lr at the last warmup step (must reach base_lr)")
check_close(warmup_cosine_lr(10, 100, 10, 1.0), 1.0, "lr at the first cosine step (p = 0)")
check_close(warmup_cosine_lr(55, 100, 10, 1.0), 0.5, "lr half-way through the cosine part (p = 0.5)")
check_close(warmup_cosine_lr(100, 100, 10, 2.0, min_lr=0.1), 0.1, "lr at the end of the run (must be min_lr)")
check_close(warmup_cosine_lr(0, 50, 0, 3e-4), 3e-4, "lr at step 0 without warmup")
lrs = [warmup_cosine_lr(s, 200, 20, 1e-3) for s in range(200)]
assert max(lrs) <= 1e-3 + 1e-12, f"the lr must never exceed base_lr; max is {max(lrs)}"
assert all(a <= b for a, b in zip(lrs[:20], lrs[1:21], strict=True)), "the lr must increase during warmup"
assert all(a >= b for a, b in zip(lrs[20:-1], lrs[21:], strict=True)), "the lr must decrease after warmup"
print("warmup_cosine_lr: visible tests passed")

# %% nb="test:test_warmup_cosine_lr_hidden:2"
# Hidden tests for `warmup_cosine_lr` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day7_practicum", "warmup_cosine_lr", warmup_cosine_lr)
### END HIDDEN TESTS

# %% nb="readonly:lr_plot"
# What the schedule looks like (runs once your function works).
import matplotlib.pyplot as plt

try:
    steps = np.arange(1000)
    plt.figure(figsize=(6, 2.5))
    plt.plot(steps, [warmup_cosine_lr(int(s), 1000, 100, 1e-3, 1e-5) for s in steps])
    plt.xlabel("optimizer step"), plt.ylabel("learning rate"), plt.title("warmup 100 steps, cosine to 1e-5")
    plt.tight_layout(), plt.show()
except NotImplementedError:
    print("(implement warmup_cosine_lr to see its plot)")

# %% [markdown] nb="readonly:acc_intro"
# ## Exercise 2: top-k accuracy (3 points)
#
# For logits `(B, C)` and integer targets `(B,)`, the top-$k$ accuracy is the fraction of samples
# whose target is among the $k$ largest logits:
#
# $$\mathrm{acc}@k = \frac{1}{B}\sum_{i=1}^{B} \mathbb{1}\left[y_i \in \operatorname{top}_k(z_i)\right].$$
#
# Return a **list of Python floats in [0, 1]**, one per entry of `topk`, in the same order
# (fractions, not percentages). Hint: `logits.topk(k, dim=1)` gives the indices of the $k$ largest.

# %% nb="solution:accuracy"
def accuracy(logits: torch.Tensor, targets: torch.Tensor, topk: tuple[int, ...] = (1,)) -> list[float]:
    """Top-k accuracies of logits (B, C) against targets (B,), as fractions in [0, 1]."""
    ### BEGIN SOLUTION
    with torch.no_grad():
        top = logits.topk(max(topk), dim=1).indices  # (B, maxk), best first
        hit = top == targets.view(-1, 1)
        return [hit[:, :k].any(dim=1).float().mean().item() for k in topk]
    ### END SOLUTION


# %% nb="test:test_accuracy:1"
logits = torch.tensor([[0.1, 2.0, 0.3], [1.5, 0.2, 0.1], [0.2, 0.1, 3.0], [0.3, 0.4, 0.2]])
targets = torch.tensor([1, 1, 2, 0])  # rows 0 and 2 right at top-1; row 1 at top-2; row 3 at top-2
acc = accuracy(logits, targets)
assert isinstance(acc, list) and len(acc) == 1, f"accuracy(..., topk=(1,)) should return a list of one float, got {acc!r}"
check_close(acc[0], 0.5, "top-1 accuracy (2 of 4 right)")
acc = accuracy(logits, targets, topk=(1, 2, 3))
assert isinstance(acc, list) and len(acc) == 3, f"accuracy(..., topk=(1, 2, 3)) should return 3 values, got {acc!r}"
check_close(acc[1], 1.0, "top-2 accuracy (every target among the 2 largest)")
check_close(acc[2], 1.0, "top-3 accuracy (3 classes: always 1)")
print("accuracy: visible tests passed")

# %% nb="test:test_accuracy_hidden:2"
# Hidden tests for `accuracy` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day7_practicum", "accuracy", accuracy)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:train_intro"
# ## Exercise 3: one training epoch (5 points)
#
# `train_one_epoch(model, loader, optimizer, scheduler=None, device="cpu", amp=False)` makes one
# pass over `loader` (any iterable of `(inputs, targets)` batches):
#
# 1. put the model in **train mode** (dropout on, batch norm uses batch statistics);
# 2. for each batch: move it to `device`, compute the logits and the **cross-entropy** (mean over
#    the batch), clear old gradients, back-propagate, `optimizer.step()`, then `scheduler.step()`
#    if a scheduler is given (schedules in this course are per *step*, not per epoch);
# 3. return `{"loss": ..., "acc": ...}` as Python floats: `loss` is the mean over **samples**
#    (weight each batch's loss by its size, the last batch is often smaller) and `acc` the fraction
#    of samples classified right, both from the logits computed during training.
#
# **Mixed precision.** With `amp=True` run the forward pass (and the loss) under
# `torch.autocast(device_type, dtype=...)`: on the CPU use `torch.bfloat16`; on CUDA use
# `torch.bfloat16` if `torch.cuda.is_bf16_supported()`, else `torch.float16` together with a
# `torch.amp.GradScaler` (float16 has a narrow exponent range: small gradients would underflow
# to zero unless the loss is scaled up first). The parameters stay float32.
#
# $$\mathcal{L} = \frac{1}{N}\sum_{\text{batches } b} n_b\,\bar\ell_b, \qquad \bar\ell_b = \text{mean cross-entropy of batch } b.$$

# %% nb="solution:train_one_epoch"
def train_one_epoch(model, loader, optimizer, scheduler=None, device="cpu", amp=False) -> dict:
    """One pass over `loader` in train mode; returns {"loss": mean over samples, "acc": fraction}."""
    ### BEGIN SOLUTION
    device_type = torch.device(device).type
    if device_type == "cuda" and not torch.cuda.is_bf16_supported():
        amp_dtype = torch.float16
    else:
        amp_dtype = torch.bfloat16
    scaler = torch.amp.GradScaler(device_type, enabled=amp and amp_dtype == torch.float16)
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        with torch.autocast(device_type, dtype=amp_dtype, enabled=amp):
            logits = model(inputs)
            loss = F.cross_entropy(logits, targets)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        if scheduler is not None:
            scheduler.step()
        n = targets.shape[0]
        total_loss += loss.item() * n
        correct += (logits.argmax(dim=1) == targets).sum().item()
        seen += n
    return {"loss": total_loss / seen, "acc": correct / seen}
    ### END SOLUTION


# %% nb="test:test_train_one_epoch:1"
torch.manual_seed(1)
model = nn.Sequential(nn.Linear(5, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3))
model.eval()  # train_one_epoch must switch it to train mode itself
opt = torch.optim.SGD(model.parameters(), lr=0.1)
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 / (1 + s))
batches = make_batches()  # batch sizes 8, 8, 7
before = [p.detach().clone() for p in model.parameters()]
stats = train_one_epoch(model, batches, opt, sched)
assert isinstance(stats, dict) and set(stats) >= {"loss", "acc"}, f"return a dict with keys 'loss' and 'acc', got {stats!r}"
for key in ("loss", "acc"):
    assert isinstance(stats[key], float), f"stats[{key!r}] should be a Python float (use .item()), got {type(stats[key]).__name__}"
assert model.training, "the model should be in train mode after train_one_epoch (call model.train())"
assert 0.0 <= stats["acc"] <= 1.0, f"acc must be a fraction in [0, 1], got {stats['acc']}"
assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True)), "the parameters did not change: call optimizer.step()"
assert sched.last_epoch == 3, f"scheduler.step() should run once per batch (3 batches), it ran {sched.last_epoch} times"
# the same epoch written out by hand, from the same starting weights
torch.manual_seed(1)
ref = nn.Sequential(nn.Linear(5, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3)).train()
ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1)
ref_sched = torch.optim.lr_scheduler.LambdaLR(ref_opt, lambda s: 1.0 / (1 + s))
losses, n_right = [], 0
for x, y in batches:
    out = ref(x)
    loss = F.cross_entropy(out, y)
    ref_opt.zero_grad()
    loss.backward()
    ref_opt.step()
    ref_sched.step()
    losses.append(loss.item() * len(y))
    n_right += (out.argmax(1) == y).sum().item()
check_close(stats["loss"], sum(losses) / 23, "mean training loss over the 23 samples (weight each batch by its size)", atol=1e-5)
check_close(stats["acc"], n_right / 23, "training accuracy over the 23 samples")
for (name, p), q in zip(model.named_parameters(), ref.parameters(), strict=True):
    assert torch.allclose(p, q, atol=1e-5), f"parameter {name} differs from a hand-written epoch (zero the gradients before each backward?)"
stats = train_one_epoch(model, batches, opt, amp=True)
assert all(p.dtype == torch.float32 for p in model.parameters()), "with amp=True the parameters must stay float32"
print("amp=True ran; loss", round(stats["loss"], 4))
print("train_one_epoch: visible tests passed")

# %% nb="test:test_train_one_epoch_hidden:4"
# Hidden tests for `train_one_epoch` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day7_practicum", "train_one_epoch", train_one_epoch)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:eval_intro"
# ## Exercise 4: evaluation (3 points)
#
# `evaluate(model, loader, device="cpu")` returns `{"loss": ..., "acc": ...}` on held-out data:
# the cross-entropy averaged over **samples** and the accuracy as a fraction, both Python floats.
# Put the model in **eval mode** (dropout off, batch norm uses its running statistics) and leave it
# there, and compute **no gradients** (`torch.no_grad()` or `torch.inference_mode()`): evaluation
# must not change the model, and without the autograd graph it needs far less memory.

# %% nb="solution:evaluate"
def evaluate(model, loader, device="cpu") -> dict:
    """Loss (mean over samples) and accuracy (fraction) of `model` on `loader`, in eval mode."""
    ### BEGIN SOLUTION
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    with torch.no_grad():
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.to(device)
            logits = model(inputs)
            total_loss += F.cross_entropy(logits, targets, reduction="sum").item()
            correct += (logits.argmax(dim=1) == targets).sum().item()
            seen += targets.shape[0]
    return {"loss": total_loss / seen, "acc": correct / seen}
    ### END SOLUTION


# %% nb="test:test_evaluate:1"
torch.manual_seed(2)
model = nn.Sequential(nn.Linear(5, 16), nn.Dropout(0.5), nn.ReLU(), nn.Linear(16, 3))
model.train()  # evaluate must switch to eval mode (else dropout makes results random)
batches = make_batches(seed=3)
stats = evaluate(model, batches)
assert isinstance(stats, dict) and set(stats) >= {"loss", "acc"}, f"return a dict with keys 'loss' and 'acc', got {stats!r}"
assert not model.training, "evaluate should leave the model in eval mode (call model.eval())"
assert all(p.grad is None for p in model.parameters()), "evaluate must not compute gradients (use torch.no_grad())"
x = torch.cat([b[0] for b in batches])
y = torch.cat([b[1] for b in batches])
with torch.no_grad():
    out = model(x)
check_close(stats["loss"], F.cross_entropy(out, y).item(), "loss over the 23 samples (weight each batch by its size)", atol=1e-5)
check_close(stats["acc"], (out.argmax(1) == y).float().mean().item(), "accuracy over the 23 samples")
print("evaluate: visible tests passed")

# %% nb="test:test_evaluate_hidden:2"
# Hidden tests for `evaluate` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day7_practicum", "evaluate", evaluate)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:together_intro"
# ## Putting it together: digits in a few seconds
#
# Your four functions are a complete training loop. The cell below trains a small CNN on
# scikit-learn's 1,797 handwritten digits (8x8 grey images, bundled offline), with AdamW and your
# schedule, and reports held-out accuracy. Chance is 10%; expect well above 90%.

# %% nb="readonly:together"
import time

from sklearn.datasets import load_digits

try:
    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0  # (1797, 1, 8, 8)
    labels = torch.tensor(digits.target)
    perm = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    train_idx, test_idx = perm[:1400], perm[1400:]
    train_set = torch.utils.data.TensorDataset(images[train_idx], labels[train_idx])
    test_set = torch.utils.data.TensorDataset(images[test_idx], labels[test_idx])
    train_loader = torch.utils.data.DataLoader(train_set, batch_size=64, shuffle=True)
    test_loader = torch.utils.data.DataLoader(test_set, batch_size=256)
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 4 * 4, 10),
    ).to(device)
    epochs = 3
    total = epochs * len(train_loader)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: warmup_cosine_lr(s, total, total // 10, 1.0))
    for epoch in range(epochs):
        start = time.perf_counter()
        tr = train_one_epoch(net, train_loader, opt, sched, device=device)
        te = evaluate(net, test_loader, device=device)
        print(f"epoch {epoch + 1}: train loss {tr['loss']:.3f} acc {tr['acc']:.3f} | "
              f"held-out loss {te['loss']:.3f} acc {te['acc']:.3f} | {time.perf_counter() - start:.1f} s")
except NotImplementedError:
    print("(implement the four exercises above to run this)")

# %% [markdown] nb="readonly:quiz_intro"
# ## Concept questions (1 point each)
#
# Answer each question by assigning one letter, e.g. `quiz_1 = "A"`. The visible test checks
# only that your answer is a letter; the grader knows which is right.
#
# **Question 1.** You train on a T4 GPU, which has no fast bfloat16, so you use float16 autocast.
# Why does float16 need a `GradScaler` when bfloat16 does not?
#
# * A. float16 has fewer mantissa bits than bfloat16, so its sums are less accurate.
# * B. float16 has a 5-bit exponent: gradients smaller than about $6\times10^{-8}$ become zero; scaling the loss up moves them into range. bfloat16 keeps float32's 8-bit exponent.
# * C. The scaler makes float16 matrix multiplications run on tensor cores.
# * D. Without it the parameters would be stored in float16 and lose precision.

# %% nb="solution:quiz_1"
### BEGIN SOLUTION
quiz_1 = "B"
### END SOLUTION

# %% nb="test:test_quiz_1:1"
assert isinstance(quiz_1, str) and quiz_1.strip().upper() in {"A", "B", "C", "D"}, "quiz_1 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day7_practicum", "quiz_1", quiz_1)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:quiz_2_text"
# **Question 2.** A small ViT and a ResNet-style CNN of similar size are trained from scratch on
# CIFAR-10 with the same short budget (tens of epochs) and the same augmentation. What does one
# typically measure, and why?
#
# * A. The ViT is clearly more accurate: attention sees the whole image from the first layer.
# * B. Both reach the same accuracy: the number of parameters decides.
# * C. The CNN is more accurate: convolutions build in locality and translation equivariance, which a ViT must learn from data; ViTs catch up with much more data, augmentation or epochs.
# * D. The ViT is about 4x more efficient per FLOP.

# %% nb="solution:quiz_2"
### BEGIN SOLUTION
quiz_2 = "C"
### END SOLUTION

# %% nb="test:test_quiz_2:1"
assert isinstance(quiz_2, str) and quiz_2.strip().upper() in {"A", "B", "C", "D"}, "quiz_2 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day7_practicum", "quiz_2", quiz_2)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:quiz_3_text"
# **Question 3.** A ViT with patch size 4 on 32x32 images has 64 patch tokens plus a class token.
# You change the patch size to 2 (same width and depth). Roughly how does the cost of the
# attention score matrices ($QK^\top$) change?
#
# * A. About 16 times larger: 4x the tokens, and the score matrix grows with the square of the token count.
# * B. About 4 times larger: cost is linear in the number of tokens.
# * C. Unchanged: the embedding width is the same.
# * D. About 4 times smaller: each patch has fewer pixels.

# %% nb="solution:quiz_3"
### BEGIN SOLUTION
quiz_3 = "A"
### END SOLUTION

# %% nb="test:test_quiz_3:1"
assert isinstance(quiz_3, str) and quiz_3.strip().upper() in {"A", "B", "C", "D"}, "quiz_3 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day7_practicum", "quiz_3", quiz_3)
### END HIDDEN TESTS
