# %% [markdown] nb="readonly:intro"
# # Day 7 assignment: train your own Vision Transformer
#
# The practicum notebook (`course/day7_practicum.ipynb`) trains a ViT on CIFAR-10 with
# PyTorch's own schedulers and torchvision's ViT. Here you build the same thing from your own
# parts and **train the transformer you wrote**:
#
# 1. `warmup_cosine_lr`: the learning-rate schedule (linear warmup, then cosine decay);
# 2. `accuracy`: top-k accuracy of a batch of logits;
# 3. `train_one_epoch`: one pass over the training data, with optional mixed precision;
# 4. `evaluate`: loss and accuracy on held-out data, without gradients;
# 5. `SmallViT`: a Vision Transformer for small images (patch size, width, depth, heads, a
#    class-token or a mean-pooled head, stochastic depth), with timm's parameter names;
# 6. `train_vit`: your recipe around it (AdamW, warmup and cosine, your loop), which trains a
#    `SmallViT` to a stated accuracy.
#
# **How you are graded.** Exercises 1-5 are checked against PyTorch's own modules on many
# shapes and settings. For exercise 6 the grader **trains your model with your recipe** on
# two-digit images made from scikit-learn's handwritten digits (one CPU core, about 30 seconds
# for the recipe below), then loads the trained weights into its own ViT and measures the
# accuracy on images your code never sees. It must reach the floor stated in exercise 6.
#
# Write your code where it says `# YOUR CODE HERE` and delete the `raise NotImplementedError()`
# line. Run the test cell under each exercise: it explains what is wrong. Before you submit:
# *Kernel → Restart Kernel and Run All Cells*, and make sure nothing fails. Do not rename the
# notebook or delete cells. A section at the end runs your code on CIFAR-10 on a GPU (Colab's
# free T4) when one is there; it is not graded, but it is the point of the day.

# %% nb="readonly:setup"
import math
import os
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"
GRADING = os.environ.get("NBGRADER_EXECUTION") == "autograde"  # nbgrader sets this while it grades
FLOOR = 0.75  # held-out accuracy your train_vit must reach on the two-digit images (exercise 6)
print(f"torch {torch.__version__}; running on {device}" + ("" if device == "cuda" else " (no GPU found: exercises 1-6 need none)"))


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


@dataclass
class Recipe:
    """A SmallViT and the recipe that trains it. The grader rebuilds the model from these fields."""

    # the model: SmallViT's arguments (you choose them: no defaults)
    patch_size: int
    embed_dim: int
    depth: int
    num_heads: int
    pool: str  # "cls": read the class token; "mean": average the patch tokens
    # the optimisation (you choose them too)
    epochs: int
    lr: float  # AdamW's peak learning rate
    mlp_ratio: float = 2.0
    drop_path: float = 0.0  # stochastic depth: the drop rate of the last block (0 in the first)
    # the data: the model sees (images / 255 - mean) / std, per channel
    mean: tuple = (0.5, 0.5, 0.5)
    std: tuple = (0.5, 0.5, 0.5)
    crop_pad: int = 0  # random translation by up to crop_pad pixels (0 = off)
    flip: bool = False  # random left-right flips (right for CIFAR-10, wrong for two-digit numbers)
    batch_size: int = 64
    weight_decay: float = 0.05
    warmup_epochs: float = 1.0
    min_lr: float = 1e-5  # where the cosine ends
    amp: bool = False  # mixed precision (train_one_epoch's amp)


# %% [markdown] nb="readonly:data_intro"
# ## The data: two-digit numbers
#
# Exercise 6 trains on **32x32 images of two-digit numbers**: two of scikit-learn's 1,797
# handwritten digits (8x8, scaled up to 16x16), side by side; the **label is the tens digit**
# (the left one), 10 classes. The digits of the training images and of the held-out images
# are different handwritten samples. The cell below builds them (the grader builds the same
# way, from a split of the digits your code never sees while it is graded).
#
# A transformer treats its input as a **set** of tokens: without a position embedding, swapping
# the two digits gives the same output, so it cannot know which one is the tens digit.

# %% nb="readonly:data"
def digit_pairs(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Two-digit images from scikit-learn's digits: uint8 (N, 3, 32, 32) and the tens digit (N,)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    small = torch.tensor(digits.images, dtype=torch.float64)[:, None] / 16.0  # (1797, 1, 8, 8) in [0, 1]
    big = F.interpolate(small, size=(16, 16), mode="bilinear", align_corners=False)[:, 0]
    big = (big.clamp(0, 1) * 255).round().to(torch.uint8)  # (1797, 16, 16)
    order = torch.randperm(len(big), generator=torch.Generator().manual_seed(2024))
    pool = order[:450] if split == "heldout" else order[450:]  # 450 held-out digits, 1,347 training digits
    n = 1000 if split == "heldout" else 1600
    g = torch.Generator().manual_seed(1 if split == "heldout" else 0)
    left = torch.cat([pool[torch.randperm(len(pool), generator=g)], pool[torch.randint(0, len(pool), (n,), generator=g)]])[:n]
    right = pool[torch.randint(0, len(pool), (n,), generator=g)]
    images = torch.zeros(n, 32, 32, dtype=torch.uint8)
    images[:, 8:24, :16], images[:, 8:24, 16:] = big[left], big[right]
    labels = torch.as_tensor(digits.target, dtype=torch.int64)[left]
    return images[:, None].expand(-1, 3, -1, -1).contiguous(), labels


try:
    train_x, train_y = digit_pairs("train")
    val_x, val_y = digit_pairs("heldout")
    print(f"training images {tuple(train_x.shape)}, held-out images {tuple(val_x.shape)}; labels {train_y[:12].tolist()} ...")
except Exception as exc:  # while grading, scikit-learn's digits are hidden from the notebook
    train_x = train_y = val_x = val_y = None
    print(f"scikit-learn's digits are not readable here ({type(exc).__name__}); the training runs below are skipped")

if train_x is not None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 8, figsize=(12, 1.8))
    for ax, img, label in zip(axes, train_x[:8], train_y[:8].tolist(), strict=True):
        ax.imshow(img.permute(1, 2, 0).numpy()), ax.set_title(f"label {label}", fontsize=9), ax.axis("off")
    plt.tight_layout(), plt.show()

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
# `torch.bfloat16` on GPUs that have it natively (compute capability 8.0 and up,
# `torch.cuda.get_device_capability()`), else `torch.float16` together with a
# `torch.amp.GradScaler` (float16 has a narrow exponent range: small gradients would underflow
# to zero unless the loss is scaled up first). The parameters stay float32.
#
# $$\mathcal{L} = \frac{1}{N}\sum_{\text{batches } b} n_b\,\bar\ell_b, \qquad \bar\ell_b = \text{mean cross-entropy of batch } b.$$

# %% nb="solution:train_one_epoch"
def train_one_epoch(model, loader, optimizer, scheduler=None, device="cpu", amp=False) -> dict:
    """One pass over `loader` in train mode; returns {"loss": mean over samples, "acc": fraction}."""
    ### BEGIN SOLUTION
    device_type = torch.device(device).type
    # bfloat16 where the hardware has it (CPU, and CUDA GPUs from Ampere on); float16 + scaler on older GPUs (T4)
    if device_type == "cuda" and torch.cuda.get_device_capability(device)[0] < 8:
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

# %% [markdown] nb="readonly:vit_intro"
# ## Exercise 5: a Vision Transformer for small images (4 points)
#
# Assemble a ViT (Day 5 built one; reuse your code, or write it anew with
# `F.scaled_dot_product_attention`). `SmallViT(img_size=32, patch_size=4, in_chans=3,
# num_classes=10, embed_dim=64, depth=4, num_heads=4, mlp_ratio=2.0, pool="cls", drop_path=0.0)`:
#
# $$z_0 = [\,x_\text{cls};\; x_p^1 E;\dots;x_p^N E\,] + E_\text{pos},\qquad
#   z'_\ell = z_{\ell-1} + \mathrm{MSA}(\mathrm{LN}(z_{\ell-1})),\qquad
#   z_\ell = z'_\ell + \mathrm{MLP}(\mathrm{LN}(z'_\ell)),$$
#
# $y = \mathrm{head}(\mathrm{LN}(z_L)_0)$ for `pool="cls"`; for `pool="mean"` there is **no**
# class token ($z_0$ holds the $N$ patch tokens only) and $y = \mathrm{head}\big(\tfrac1N\sum_i
# \mathrm{LN}(z_L)_i\big)$. The grader loads weights into your model by name, so the
# parameters must be exactly these (timm's names, as on Day 5):
#
# | name | shape | what |
# |---|---|---|
# | `patch_embed.proj` | `Conv2d(in_chans, D, p, stride=p)` | patch embedding, $N = (\text{img\_size}/p)^2$ tokens |
# | `cls_token` | `(1, 1, D)` | only when `pool="cls"` |
# | `pos_embed` | `(1, N + 1, D)` or `(1, N, D)` | learned, added to every token (class token included) |
# | `blocks.i.norm1`, `blocks.i.norm2` | `LayerNorm(D, eps=1e-6)` | pre-norm |
# | `blocks.i.attn.qkv`, `blocks.i.attn.proj` | `Linear(D, 3D)` giving `[q | k | v]`, `Linear(D, D)` | head `h` uses features `h*d:(h+1)*d`, scale $1/\sqrt d$ |
# | `blocks.i.mlp` | `Sequential(Linear(D, int(D*mlp_ratio)), GELU(), Linear(.., D))` | exact (erf) GELU |
# | `norm`, `head` | `LayerNorm(D, eps=1e-6)`, `Linear(D, num_classes)` | |
#
# **Stochastic depth** (Huang et al. 2016, as in timm): in train mode, block $i$ of $L$ skips
# each of its two residual branches, **per sample and independently**, with probability
# $r_i = \text{drop\_path}\cdot i/(L-1)$ (0 for the first block; 0 when $L=1$), and scales a
# branch that runs by $1/(1-r_i)$, so the expectation is unchanged. In eval mode nothing is
# dropped. `torchvision.ops.stochastic_depth(branch, r, "row", self.training)` does exactly this.
#
# Raise `ValueError` when `img_size` is not divisible by `patch_size`, `embed_dim` not by
# `num_heads`, or `pool` is not `"cls"`/`"mean"`. Initialise as timm does (truncated normal,
# std 0.02, for the position embedding, the class token and the linear weights; zero biases).

# %% nb="solution:SmallViT"
# Helpers (an attention layer, a block, ...) go in this first block; their names start with "_".
### BEGIN SOLUTION
class _Attention(nn.Module):
    """Multi-head self-attention with a fused [q | k | v] projection."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)  # (B, h, N, d), scale 1/sqrt(d)
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class _Block(nn.Module):
    """Pre-norm encoder block; each residual branch is dropped per sample with probability `drop`."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, drop: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = _Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        self.drop = drop

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + torchvision.ops.stochastic_depth(self.attn(self.norm1(x)), self.drop, "row", self.training)
        return x + torchvision.ops.stochastic_depth(self.mlp(self.norm2(x)), self.drop, "row", self.training)
### END SOLUTION


class SmallViT(nn.Module):
    """A Vision Transformer for small images: (B, in_chans, img_size, img_size) -> logits (B, num_classes)."""

    def __init__(self, img_size=32, patch_size=4, in_chans=3, num_classes=10, embed_dim=64, depth=4, num_heads=4,
                 mlp_ratio=2.0, pool="cls", drop_path=0.0):
        super().__init__()
        ### BEGIN SOLUTION
        if img_size % patch_size:
            raise ValueError(f"img_size {img_size} is not divisible by patch_size {patch_size}")
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
        if pool not in ("cls", "mean"):
            raise ValueError(f"pool must be 'cls' or 'mean', got {pool!r}")
        self.pool = pool
        self.patch_embed = nn.ModuleDict({"proj": nn.Conv2d(in_chans, embed_dim, patch_size, stride=patch_size)})
        n = (img_size // patch_size) ** 2
        if pool == "cls":
            self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
            nn.init.trunc_normal_(self.cls_token, std=0.02)
        self.pos_embed = nn.Parameter(torch.zeros(1, n + (pool == "cls"), embed_dim))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        rates = [drop_path * i / max(1, depth - 1) for i in range(depth)]
        self.blocks = nn.ModuleList(_Block(embed_dim, num_heads, mlp_ratio, r) for r in rates)
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.head = nn.Linear(embed_dim, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
        ### END SOLUTION

    def forward(self, x):
        """Images (B, C, H, W) -> logits (B, num_classes)."""
        ### BEGIN SOLUTION
        x = self.patch_embed["proj"](x).flatten(2).transpose(1, 2)  # (B, N, D), patches in row-major order
        if self.pool == "cls":
            x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        x = x + self.pos_embed
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)
        return self.head(x[:, 0] if self.pool == "cls" else x.mean(dim=1))
        ### END SOLUTION


# %% nb="test:test_SmallViT:1"
# 1. the parameters are the contract's
model = SmallViT(img_size=32, patch_size=4, num_classes=10, embed_dim=32, depth=2, num_heads=4, mlp_ratio=2.0)
shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
for name, shape in [("patch_embed.proj.weight", (32, 3, 4, 4)), ("cls_token", (1, 1, 32)), ("pos_embed", (1, 65, 32)),
                    ("blocks.1.attn.qkv.weight", (96, 32)), ("blocks.1.attn.proj.weight", (32, 32)),
                    ("blocks.0.mlp.0.weight", (64, 32)), ("blocks.0.mlp.2.weight", (32, 64)), ("norm.weight", (32,)),
                    ("head.weight", (10, 32))]:
    assert shapes.get(name) == shape, f"parameter {name} should have shape {shape}, got {shapes.get(name, 'no such parameter')}"
mean_model = SmallViT(img_size=32, patch_size=8, embed_dim=32, depth=1, num_heads=2, pool="mean")
assert "cls_token" not in mean_model.state_dict(), "with pool='mean' there is no class token"
assert tuple(mean_model.pos_embed.shape) == (1, 16, 32), f"pos_embed with pool='mean' and 16 patches: (1, 16, 32), got {tuple(mean_model.pos_embed.shape)}"
for bad in (dict(img_size=30), dict(embed_dim=30), dict(pool="max")):
    try:
        SmallViT(**bad)
    except ValueError:
        continue
    raise AssertionError(f"SmallViT({bad}) should raise ValueError")
# 2. with pool="cls" it computes what torchvision's ViT computes with the same weights
tv = torchvision.models.VisionTransformer(image_size=32, patch_size=4, num_layers=2, num_heads=4, hidden_dim=32, mlp_dim=64,
                                          num_classes=10).eval()
with torch.no_grad():
    for p in tv.parameters():
        p.normal_(0, 0.3)
names = {"patch_embed.proj.weight": "conv_proj.weight", "patch_embed.proj.bias": "conv_proj.bias", "cls_token": "class_token",
         "pos_embed": "encoder.pos_embedding", "norm.weight": "encoder.ln.weight", "norm.bias": "encoder.ln.bias",
         "head.weight": "heads.head.weight", "head.bias": "heads.head.bias"}
for i in range(2):
    tvb = f"encoder.layers.encoder_layer_{i}."
    names.update({f"blocks.{i}.norm1.weight": tvb + "ln_1.weight", f"blocks.{i}.norm1.bias": tvb + "ln_1.bias",
                  f"blocks.{i}.attn.qkv.weight": tvb + "self_attention.in_proj_weight",
                  f"blocks.{i}.attn.qkv.bias": tvb + "self_attention.in_proj_bias",
                  f"blocks.{i}.attn.proj.weight": tvb + "self_attention.out_proj.weight",
                  f"blocks.{i}.attn.proj.bias": tvb + "self_attention.out_proj.bias",
                  f"blocks.{i}.norm2.weight": tvb + "ln_2.weight", f"blocks.{i}.norm2.bias": tvb + "ln_2.bias",
                  f"blocks.{i}.mlp.0.weight": tvb + "mlp.0.weight", f"blocks.{i}.mlp.0.bias": tvb + "mlp.0.bias",
                  f"blocks.{i}.mlp.2.weight": tvb + "mlp.3.weight", f"blocks.{i}.mlp.2.bias": tvb + "mlp.3.bias"})
tv_state = tv.state_dict()
model.load_state_dict({k: tv_state[v] for k, v in names.items()})
x = torch.randn(3, 3, 32, 32)
with torch.no_grad():
    got, want = model.eval()(x), tv(x)
assert got.shape == (3, 10), f"logits should have shape (3, 10), got {tuple(got.shape)}"
err = (got - want).abs().max().item()
assert err < 1e-4, f"logits differ from torchvision's ViT with the same weights by up to {err:.3g} (check the block order, the norms, the class token)"
print(f"ok: same logits as torchvision.models.VisionTransformer (max difference {err:.1e})")
# 3. stochastic depth only in train mode
drop_model = SmallViT(img_size=32, patch_size=8, embed_dim=32, depth=3, num_heads=2, drop_path=0.5).eval()
with torch.no_grad():
    assert torch.equal(drop_model(x), drop_model(x)), "in eval mode stochastic depth must drop nothing"
    drop_model.train()
    assert not torch.equal(drop_model(x), drop_model(x)), "in train mode with drop_path=0.5 the output should be random"
print("SmallViT: visible tests passed")

# %% nb="test:test_SmallViT_hidden:3"
# Hidden tests for `SmallViT` run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder import check

check("day7_practicum", "SmallViT", SmallViT)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:train_vit_intro"
# ## Exercise 6: your recipe, your run (5 points)
#
# `train_vit(images, labels, recipe=None, seed=0, device="cpu", val=None, log=print)` trains a
# `SmallViT` and returns **`(model, recipe)`** with the model in eval mode:
#
# * `images`: uint8 `(N, 3, H, W)`; `labels`: int64 `(N,)` in `0..K-1` (build the model with
#   `num_classes = K`). The model sees `(images / 255 - recipe.mean) / recipe.std`.
# * `recipe=None` means **your CPU recipe**: choose it in the function (a `Recipe(...)`; see the
#   setup cell for its fields). This is the recipe the grader trains. `seed` seeds everything.
# * Use your four functions: the schedule through `torch.optim.lr_scheduler.LambdaLR` with
#   `warmup_cosine_lr` as the multiplier (steps per batch, warmup and cosine from `lr` to
#   `min_lr`), `AdamW` with weight decay on the weight matrices and kernels only (not on biases,
#   norms, `pos_embed`, `cls_token`), one `train_one_epoch` per epoch over shuffled batches (a
#   list or a generator of `(x, y)` pairs), and `evaluate` (and `accuracy`) on `val` if given.
#
# **The grader** calls `train_vit(images, labels, seed=0)` on 1,600 training images in a
# sandbox with **one CPU thread**, loads your trained weights into its own ViT built from your
# recipe's fields, and measures accuracy on 1,000 held-out images. It requires at least
# **75% (`FLOOR`)**; chance is 10%, and a ViT that cannot tell left from right can reach at
# most about 55%. Your run may use at most 90 s of CPU time there (aim for about 30 s). Choose the
# model for this budget: 8x8 patches give 16 tokens, 4x4 patches 64, and attention and MLP cost
# grows with the token count. On this task a class-token ViT with 4x4 patches also tends to sit near chance for several
# epochs before its attention finds the tens digit; 8x8 patches, or mean pooling, learn much sooner.
# The cell below runs your function on the held-out images the notebook built and prints what the
# grader will check.

# %% nb="solution:train_vit"
def train_vit(images, labels, recipe=None, seed=0, device="cpu", val=None, log=print):
    """Train a SmallViT on uint8 images (N, 3, H, W) and labels (N,); return (model in eval mode, recipe)."""
    ### BEGIN SOLUTION
    if recipe is None:  # the CPU recipe: 16 tokens of width 96, three blocks, eight epochs
        recipe = Recipe(patch_size=8, embed_dim=96, depth=3, num_heads=4, mlp_ratio=2.0, pool="cls",
                        mean=(0.2, 0.2, 0.2), std=(0.35, 0.35, 0.35), epochs=8, batch_size=64, lr=2e-3,
                        weight_decay=0.05, warmup_epochs=1.0, min_lr=1e-5)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = SmallViT(img_size=images.shape[-1], patch_size=recipe.patch_size, in_chans=images.shape[1],
                     num_classes=int(labels.max()) + 1, embed_dim=recipe.embed_dim, depth=recipe.depth,
                     num_heads=recipe.num_heads, mlp_ratio=recipe.mlp_ratio, pool=recipe.pool,
                     drop_path=recipe.drop_path).to(device)
    mean = torch.tensor(recipe.mean, dtype=torch.float32, device=device).view(1, -1, 1, 1)
    std = torch.tensor(recipe.std, dtype=torch.float32, device=device).view(1, -1, 1, 1)
    x_all, y_all = images.to(device), labels.to(device)

    def batches(x_src, y_src, train):
        order = torch.randperm(len(y_src), generator=gen).to(device) if train else torch.arange(len(y_src), device=device)
        for start in range(0, len(order), recipe.batch_size):
            idx = order[start : start + recipe.batch_size]
            x = x_src[idx].float() / 255
            if train and recipe.crop_pad:  # shift each image by up to crop_pad pixels (zero padding)
                p, size = recipe.crop_pad, x.shape[-1]
                padded = F.pad(x, (p, p, p, p))
                shifts = torch.randint(0, 2 * p + 1, (len(idx), 2), generator=gen).tolist()
                x = torch.stack([padded[i, :, dy : dy + size, dx : dx + size] for i, (dy, dx) in enumerate(shifts)])
            if train and recipe.flip:
                flip = (torch.rand(len(idx), generator=gen) < 0.5).to(device)
                x = torch.where(flip[:, None, None, None], x.flip(-1), x)
            yield (x - mean) / std, y_src[idx]

    no_decay = {"pos_embed", "cls_token"}
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and n not in no_decay]
    other = [p for n, p in model.named_parameters() if p.ndim < 2 or n in no_decay]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": recipe.weight_decay},
                                   {"params": other, "weight_decay": 0.0}], lr=recipe.lr)
    steps = math.ceil(len(y_all) / recipe.batch_size)
    total, warmup = recipe.epochs * steps, round(recipe.warmup_epochs * steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: warmup_cosine_lr(s, total, warmup, 1.0, recipe.min_lr / recipe.lr))
    for epoch in range(recipe.epochs):
        start = time.perf_counter()
        stats = train_one_epoch(model, batches(x_all, y_all, True), optimizer, scheduler, device=device, amp=recipe.amp)
        line = f"epoch {epoch + 1}/{recipe.epochs}: train loss {stats['loss']:.3f} acc {stats['acc']:.3f}"
        if val is not None:
            held = evaluate(model, batches(val[0].to(device), val[1].to(device), False), device=device)
            line += f" | held-out loss {held['loss']:.3f} acc {held['acc']:.3f}"
        log(f"{line} | {time.perf_counter() - start:.1f} s")
    if val is not None:
        model.eval()
        with torch.no_grad():
            pairs = [(model(x), y) for x, y in batches(val[0].to(device), val[1].to(device), False)]
        top1, top3 = accuracy(torch.cat([p[0] for p in pairs]), torch.cat([p[1] for p in pairs]), topk=(1, 3))
        log(f"held-out top-1 {top1:.3f}, top-3 {top3:.3f}")
    return model.eval(), recipe
    ### END SOLUTION


# %% nb="test:test_train_vit:1"
if GRADING or train_x is None:  # while grading: a quick run on random images (the hidden test trains the real one)
    g = torch.Generator().manual_seed(0)
    xs, ys = torch.randint(0, 256, (96, 3, 32, 32), dtype=torch.uint8, generator=g), torch.randint(0, 10, (96,), generator=g)
    small = Recipe(patch_size=8, embed_dim=16, depth=1, num_heads=2, pool="cls", epochs=1, lr=1e-3, batch_size=32)
    result = train_vit(xs, ys, recipe=small)
else:
    start = time.perf_counter()
    result = train_vit(train_x, train_y, val=(val_x, val_y))
    seconds = time.perf_counter() - start
assert isinstance(result, tuple) and len(result) == 2, f"train_vit should return (model, recipe), got {type(result).__name__}"
model, used = result
assert isinstance(model, SmallViT), f"the model should be a SmallViT, got {type(model).__name__}"
assert isinstance(used, Recipe), f"the second value should be the Recipe you trained with, got {type(used).__name__}"
assert not model.training, "return the model in eval mode (model.eval())"
if not (GRADING or train_x is None):
    x_norm = (val_x.float() / 255 - torch.tensor(used.mean).view(1, -1, 1, 1)) / torch.tensor(used.std).view(1, -1, 1, 1)
    with torch.no_grad():
        held_acc = (model.cpu()(x_norm).argmax(1) == val_y).float().mean().item()
    print(f"your recipe: {asdict(used)}")
    print(f"held-out accuracy {held_acc:.3f} (the grader requires {FLOOR:.2f}); training took {seconds:.1f} s "
          f"with {torch.get_num_threads()} threads (the grader uses 1 thread and allows 90 s of CPU time)")
    assert held_acc >= FLOOR, f"held-out accuracy {held_acc:.3f} is below the floor {FLOOR}: change the recipe or fix the loop"
print("train_vit: visible tests passed")

# %% nb="test:test_train_vit_hidden:4"
# Hidden tests for `train_vit` run here when your notebook is graded (it trains your recipe again).
### BEGIN HIDDEN TESTS
from autograder import check

check("day7_practicum", "train_vit", train_vit)
### END HIDDEN TESTS

# %% [markdown] nb="readonly:gpu_intro"
# ## On a GPU: the same code on CIFAR-10 (Colab's T4)
#
# The cell below runs **your** `train_vit` on CIFAR-10 (50,000 training images, 10,000 test
# images) with the practicum's `t4` model (patch 4, width 256, depth 6, 4 heads) and a recipe
# your loop can follow: random crops and flips, stochastic depth 0.1, mixed precision (float16
# with a gradient scaler on a T4, which has no fast bfloat16), 30 epochs (the practicum's `t4`
# profile trains 60). It runs only when a GPU is present (on Colab: *Runtime →
# Change runtime type → T4 GPU*), downloads CIFAR-10 once (170 MB), and is skipped while grading.
# What to expect is in the practicum notebook, section "What this run measured"; the practicum's
# `t4` profile adds RandAugment, MixUp/CutMix and label smoothing, which your loop does not have.

# %% nb="readonly:gpu_run"
T4_RECIPE = Recipe(patch_size=4, embed_dim=256, depth=6, num_heads=4, mlp_ratio=2.0, pool="cls", drop_path=0.1,
                   mean=(0.4914, 0.4822, 0.4465), std=(0.2470, 0.2435, 0.2616), crop_pad=4, flip=True,
                   epochs=30, batch_size=512, lr=1e-3, weight_decay=0.05, warmup_epochs=3, min_lr=1e-5, amp=True)
if device == "cuda" and not GRADING:
    try:
        cifar = {split: torchvision.datasets.CIFAR10("data", train=split == "train", download=True) for split in ("train", "test")}
    except Exception as exc:  # no network and no copy under ./data
        cifar = None
        print(f"CIFAR-10 could not be loaded ({type(exc).__name__}: {str(exc)[:100]}); skipped")
    if cifar is not None:
        as_tensors = {s: (torch.from_numpy(d.data).permute(0, 3, 1, 2).contiguous(), torch.tensor(d.targets)) for s, d in cifar.items()}
        print(f"GPU: {torch.cuda.get_device_name()}; training your SmallViT with the t4 recipe")
        start = time.perf_counter()
        gpu_model, _ = train_vit(*as_tensors["train"], recipe=T4_RECIPE, device="cuda", val=as_tensors["test"])
        print(f"{T4_RECIPE.epochs} epochs in {time.perf_counter() - start:.0f} s on {torch.cuda.get_device_name()}")
else:
    print("Skipped: no GPU here" + (" (grading)" if GRADING else "") + ". On Colab choose a T4 runtime and run this cell.")

# %% [markdown] nb="readonly:written_1_text"
# ## Written question: report your run (3 points, graded by your instructor)
#
# 1. Your recipe and its result: copy the recipe line and the held-out accuracy that the visible
#    test of `train_vit` printed (CPU, two-digit images). If you ran the GPU cell above, add the
#    GPU model, the seconds per epoch and the final test accuracy it printed.
# 2. One choice in your recipe (patch size, pooling, depth or width, learning rate, epochs) that
#    you changed or would change, what it did to the held-out accuracy (or what you expect it to
#    do), and why, in terms of tokens, parameters or optimisation.
# 3. If you ran on a GPU: your epochs take longer than the practicum's compiled `t4` profile. Name
#    two differences between your loop and the practicum's that explain it, and how you would
#    measure which one matters more. Without a GPU: name two things your CPU run could not tell you
#    about the T4 run, and how the practicum's `gpu-check` or profile would measure them.
#
# Write your answer in the cell below (double-click it to edit it), a few sentences per part. No
# test checks it: a person grades it after you submit.

# %% [markdown] nb="answer:written_1:3"
# ### BEGIN SOLUTION
# **Model answer** (the numbers are the ones the student's own notebook printed).
# 1. E.g. `patch_size=8, embed_dim=96, depth=3, pool='cls', epochs=8, lr=2e-3`: held-out accuracy
#    0.95 in about 40 s on 2 threads. On a T4 (if run): seconds per epoch and the final test
#    accuracy, as printed.
# 2. E.g. patch 4 instead of 8 gives 64 tokens instead of 16: four times the tokens, sixteen times
#    the attention scores and a harder optimisation for the class token within the same few
#    epochs, so accuracy drops in this budget (the assignment measured 20-54 % with a class token);
#    mean pooling or larger patches recover it. A learning rate 100x too high diverges, 100x too
#    low barely moves.
# 3. GPU: the practicum compiles the model (`torch.compile`), augments on the GPU, and its data
#    loader keeps the GPU fed; the student's loop runs eager, possibly with CPU-side batches and
#    synchronising `.item()` calls each step. Measure by switching one at a time (compile on/off,
#    data on GPU/CPU) and timing steps with `torch.cuda.synchronize()`, or with the PyTorch
#    profiler. Without a GPU: GPU images/s and seconds per epoch, peak GPU memory, and whether
#    float16 with a scaler is stable; `gpu-check` measures images/s, s/epoch and peak memory.
#
# **Rubric (3 points).**
# * part 1 (1 point): recipe and accuracy match the notebook's printed outputs (check the output
#   cells; an answer that does not match them gets 0 for this part);
# * part 2 (1 point): a concrete change with its effect and a reason tied to tokens, parameters or
#   optimisation. Half a point for the effect without a reason;
# * part 3 (1 point): two real differences (or two unmeasured quantities) and a way to measure
#   them one at a time. Half a point for one.
# ### END SOLUTION

# %% [markdown] nb="readonly:quiz_intro"
# ## Concept questions (1 point each)
#
# Answer each question by assigning one letter, e.g. `quiz_1 = "A"`. The visible test checks
# only that your answer is a letter; the grader knows which is right.
#
# **Question 1.** You train on a T4 GPU, which has no fast bfloat16, so you use float16 autocast.
# Why does float16 need a `GradScaler` when bfloat16 does not?
#
# * A. float16 keeps fewer mantissa bits than bfloat16, so its sums drift; the scaler corrects the drift.
# * B. float16's 5-bit exponent flushes gradients below about $6\times10^{-8}$ to zero; scaling the loss lifts them into range.
# * C. The scaler lets float16 matrix multiplications use tensor cores, which bfloat16 reaches without help.
# * D. Without a scaler, autocast would store the parameters and Adam's moments in float16 and lose precision every step.

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
# * A. The ViT is more accurate: global attention sees the whole image in its first layer, which convolutions reach only after many layers.
# * B. They end up about equal: with similar parameter counts, accuracy depends on the data and the budget, not the architecture.
# * C. The CNN is more accurate: locality and translation equivariance are built into convolutions; a ViT must learn them from data.
# * D. The ViT is more accurate per FLOP: attention is cheaper than convolution at 32x32, so it trains more epochs in the same time.

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
# * A. About 16 times larger: 4x the tokens, and the score matrix grows with the square of the count.
# * B. About 4 times larger: attention, like the MLP, costs a fixed amount per token it processes.
# * C. Unchanged: the embedding width stays the same, and the score matrix depends only on the width.
# * D. About 4 times smaller: each patch holds 4 times fewer pixels, so each dot product is cheaper.

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

# %% [markdown] nb="readonly:quiz_4_text"
# **Question 4.** You train your `SmallViT` (class-token head) on the two-digit images, but its
# forward pass forgets to add `pos_embed`. What happens, and why?
#
# * A. Nothing changes: each patch embedding already encodes where in the image its patch was cut.
# * B. It learns more slowly but reaches the same accuracy, because attention finds the left digit later.
# * C. It fails only with `pool="mean"`; with a class token the order of the patch tokens is still known.
# * D. Its output ignores the order of the patch tokens, so it cannot tell the tens digit from the units.

# %% nb="solution:quiz_4"
### BEGIN SOLUTION
quiz_4 = "D"
### END SOLUTION

# %% nb="test:test_quiz_4:1"
assert isinstance(quiz_4, str) and quiz_4.strip().upper() in {"A", "B", "C", "D"}, "quiz_4 must be one of 'A', 'B', 'C', 'D'"
### BEGIN HIDDEN TESTS
from autograder import check

check("day7_practicum", "quiz_4", quiz_4)
### END HIDDEN TESTS
