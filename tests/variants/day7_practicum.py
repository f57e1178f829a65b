"""Wrong and right versions of the day7_practicum exercises, fed to the hidden checks by the tests.

Each source replaces the whole solution cell; it runs in a namespace holding the solution
notebook's other cells (torch, nn, F, math, torchvision, Recipe are defined there). The SmallViT and
train_vit variants are edits of the solution cells, read from the source, so they stay in step with it.
"""

from pathlib import Path

_SOURCE = (Path(__file__).resolve().parents[2] / "sources" / "solutions" / "day7_practicum.py").read_text(encoding="utf-8")


def _cell(grade_id: str) -> str:
    """The code of one solution cell of the assignment source."""
    start = _SOURCE.index(f'# %% nb="solution:{grade_id}"')
    return _SOURCE[start:].split("\n", 1)[1].split("\n# %%", 1)[0]


def _edit(grade_id: str, *pairs: tuple[str, str]) -> str:
    """The solution cell with each (old, new) replacement made (old must occur)."""
    code = _cell(grade_id)
    for old, new in pairs:
        if old not in code:
            raise ValueError(f"variant edit of {grade_id}: {old!r} not found in the solution")
        code = code.replace(old, new)
    return code


_TRAIN_HEAD = '''
def train_one_epoch(model, loader, optimizer, scheduler=None, device="cpu", amp=False):
    device_type = torch.device(device).type
    amp_dtype = torch.float16 if device_type == "cuda" and not torch.cuda.is_bf16_supported() else torch.bfloat16
    scaler = torch.amp.GradScaler(device_type, enabled=amp and amp_dtype == torch.float16)
'''

_EVAL_OK = '''
def evaluate(model, loader, device="cpu"):
    model.eval()
    total, correct, seen = 0.0, 0, 0
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            logits = model(x)
            total += F.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
            seen += len(y)
    return {"loss": total / seen, "acc": correct / seen}
'''

_VIT_WRONG = {
    "no position embedding added": _edit("SmallViT", ("        x = x + self.pos_embed\n", "")),
    "post-norm blocks (norm after the residual sum)": _edit("SmallViT", (
        """        x = x + torchvision.ops.stochastic_depth(self.attn(self.norm1(x)), self.drop, "row", self.training)
        return x + torchvision.ops.stochastic_depth(self.mlp(self.norm2(x)), self.drop, "row", self.training)""",
        """        x = self.norm1(x + self.attn(x))
        return self.norm2(x + self.mlp(x))""")),
    "heads split as (3, d, h) instead of (3, h, d)": _edit("SmallViT", (
        "reshape(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)",
        "reshape(b, n, 3, c // self.num_heads, self.num_heads).permute(2, 0, 4, 1, 3)")),
    "attention scaled by 1/d instead of 1/sqrt(d)": _edit("SmallViT", (
        "F.scaled_dot_product_attention(q, k, v)", "F.scaled_dot_product_attention(q, k, v, scale=1.0 / q.shape[-1])")),
    "mean pooling before the final norm": _edit("SmallViT", (
        """        x = self.norm(x)
        return self.head(x[:, 0] if self.pool == "cls" else x.mean(dim=1))""",
        """        if self.pool == "cls":
            return self.head(self.norm(x)[:, 0])
        return self.head(self.norm(x.mean(dim=1)))""")),
    "no final LayerNorm": _edit("SmallViT", ("        x = self.norm(x)\n", "")),
    "tanh-approximated GELU": _edit("SmallViT", ("nn.GELU()", "nn.GELU(approximate='tanh')")),
    "LayerNorm with PyTorch's default eps 1e-5": _edit("SmallViT",
        ("eps=1e-6)\n        self.attn", "eps=1e-5)\n        self.attn")),
    "position embedding added before the class token is prepended (no position for the class token)": _edit("SmallViT",
        ("        self.pos_embed = nn.Parameter(torch.zeros(1, n + (pool == \"cls\"), embed_dim))",
         "        self.pos_embed = nn.Parameter(torch.zeros(1, n, embed_dim))"),
        ("""        x = self.patch_embed["proj"](x).flatten(2).transpose(1, 2)  # (B, N, D), patches in row-major order
        if self.pool == "cls":
            x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        x = x + self.pos_embed""",
         """        x = self.patch_embed["proj"](x).flatten(2).transpose(1, 2) + self.pos_embed
        if self.pool == "cls":
            x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)""")),
    "a class token also with pool='mean'": _edit("SmallViT",
        ("        if pool == \"cls\":\n            self.cls_token", "        if True:\n            self.cls_token"),
        ("torch.zeros(1, n + (pool == \"cls\"), embed_dim)", "torch.zeros(1, n + 1, embed_dim)"),
        ("        if self.pool == \"cls\":\n            x = torch.cat", "        if True:\n            x = torch.cat"),
        ("x[:, 0] if self.pool == \"cls\" else x.mean(dim=1)", "x[:, 0] if self.pool == \"cls\" else x[:, 1:].mean(dim=1)")),
    "no ValueError for a patch size that does not divide the image": _edit("SmallViT", (
        "        if img_size % patch_size:\n"
        "            raise ValueError(f\"img_size {img_size} is not divisible by patch_size {patch_size}\")\n", "")),
    "stochastic depth drops the whole batch at once": _edit("SmallViT",
        ('self.drop, "row", self.training)', 'self.drop, "batch", self.training)')),
    "stochastic depth at the same rate in every block": _edit("SmallViT", (
        "rates = [drop_path * i / max(1, depth - 1) for i in range(depth)]", "rates = [drop_path] * depth")),
    "stochastic depth without rescaling the kept branches": _edit("SmallViT", (
        """        x = x + torchvision.ops.stochastic_depth(self.attn(self.norm1(x)), self.drop, "row", self.training)
        return x + torchvision.ops.stochastic_depth(self.mlp(self.norm2(x)), self.drop, "row", self.training)""",
        """        keep = lambda: (torch.rand(x.shape[0], 1, 1) >= self.drop).to(x.dtype) if self.training else 1.0
        x = x + self.attn(self.norm1(x)) * keep()
        return x + self.mlp(self.norm2(x)) * keep()""")),
    "one stochastic-depth draw for both branches of a block": _edit("SmallViT", (
        """        x = x + torchvision.ops.stochastic_depth(self.attn(self.norm1(x)), self.drop, "row", self.training)
        return x + torchvision.ops.stochastic_depth(self.mlp(self.norm2(x)), self.drop, "row", self.training)""",
        """        if self.training and self.drop > 0:
            keep = (torch.rand(x.shape[0], 1, 1) >= self.drop).to(x.dtype) / (1 - self.drop)
        else:
            keep = 1.0
        x = x + self.attn(self.norm1(x)) * keep
        return x + self.mlp(self.norm2(x)) * keep""")),
    "stochastic depth also in eval mode": _edit("SmallViT", ('self.drop, "row", self.training)', 'self.drop, "row", True)')),
    "position embedding frozen (not a trainable parameter)": _edit("SmallViT", (
        "        nn.init.trunc_normal_(self.pos_embed, std=0.02)\n",
        "        nn.init.trunc_normal_(self.pos_embed, std=0.02)\n        self.pos_embed.requires_grad_(False)\n")),
}

_TRAIN_VIT_WRONG = {
    "no position embedding (pos_embed kept at zero and frozen)": _edit("train_vit", (
        "    mean = torch.tensor(recipe.mean",
        "    model.pos_embed.requires_grad_(False)\n    nn.init.zeros_(model.pos_embed)\n    mean = torch.tensor(recipe.mean")),
    "labels shuffled separately from the images": _edit("train_vit", (
        "    x_all, y_all = images.to(device), labels.to(device)\n",
        "    x_all, y_all = images.to(device), labels.to(device)\n"
        "    y_all = y_all[torch.randperm(len(y_all), generator=gen).to(device)]\n")),
    "learning rate 100x too high (0.2)": _edit("train_vit", ("batch_size=64, lr=2e-3,", "batch_size=64, lr=0.2,")),
    "learning rate 100x too low (2e-5)": _edit("train_vit", ("batch_size=64, lr=2e-3,", "batch_size=64, lr=2e-5,")),
    "returns only the model, not (model, recipe)": _edit("train_vit",
        ("epochs=8,", "epochs=1,"), ("    return model.eval(), recipe\n", "    return model.eval()\n")),
}

_VIT_RIGHT = {
    "explicit softmax attention and a hand-written drop path": _edit("SmallViT",
        ("        out = F.scaled_dot_product_attention(q, k, v)  # (B, h, N, d), scale 1/sqrt(d)",
         "        out = (q @ k.transpose(-2, -1) * q.shape[-1] ** -0.5).softmax(dim=-1) @ v"),
        ("""        x = x + torchvision.ops.stochastic_depth(self.attn(self.norm1(x)), self.drop, "row", self.training)
        return x + torchvision.ops.stochastic_depth(self.mlp(self.norm2(x)), self.drop, "row", self.training)""",
         """        x = x + self._drop(self.attn(self.norm1(x)))
        return x + self._drop(self.mlp(self.norm2(x)))

    def _drop(self, branch):
        if not self.training or self.drop == 0:
            return branch
        keep = 1 - self.drop
        mask = torch.empty(branch.shape[0], 1, 1, dtype=branch.dtype).bernoulli_(keep)
        return branch * mask / keep""")),
    "einsum attention and a patch embedding module with a proj attribute": _edit("SmallViT",
        ("        out = F.scaled_dot_product_attention(q, k, v)  # (B, h, N, d), scale 1/sqrt(d)",
         "        w = torch.einsum('bhqd,bhkd->bhqk', q, k).div(math.sqrt(q.shape[-1])).softmax(-1)\n"
         "        out = torch.einsum('bhqk,bhkd->bhqd', w, v)"),
        ("nn.ModuleDict({\"proj\": nn.Conv2d(in_chans, embed_dim, patch_size, stride=patch_size)})",
         "nn.Module()\n        self.patch_embed.proj = nn.Conv2d(in_chans, embed_dim, patch_size, stride=patch_size)"),
        ('self.patch_embed["proj"](x)', "self.patch_embed.proj(x)")),
}

_TRAIN_VIT_RIGHT = {
    "mean pooling, patch 8, a DataLoader over a TensorDataset": _edit("train_vit",
        ('pool="cls",\n                        mean=(0.2', 'pool="mean",\n                        mean=(0.2'),
        ("stats = train_one_epoch(model, batches(x_all, y_all, True), optimizer, scheduler, device=device, amp=recipe.amp)",
         """data = torch.utils.data.TensorDataset(((x_all.float() / 255 - mean) / std), y_all)
        loader = torch.utils.data.DataLoader(data, batch_size=recipe.batch_size, shuffle=True, generator=gen)
        stats = train_one_epoch(model, loader, optimizer, scheduler, device=device, amp=recipe.amp)""")),
    "patch 4 with mean pooling, width 64, two blocks, ten epochs": _edit("train_vit", (
        """recipe = Recipe(patch_size=8, embed_dim=96, depth=3, num_heads=4, mlp_ratio=2.0, pool="cls",
                        mean=(0.2, 0.2, 0.2), std=(0.35, 0.35, 0.35), epochs=8, batch_size=64, lr=2e-3,""",
        """recipe = Recipe(patch_size=4, embed_dim=64, depth=2, num_heads=4, mlp_ratio=2.0, pool="mean",
                        mean=(0.2, 0.2, 0.2), std=(0.35, 0.35, 0.35), epochs=10, batch_size=64, lr=2e-3,""")),
}


WRONG = {
    "warmup_cosine_lr": {
        "warmup uses step / warmup_steps (step 0 gets lr 0, never reaches base_lr)": '''
def warmup_cosine_lr(step, total_steps, warmup_steps, base_lr, min_lr=0.0):
    if step < warmup_steps:
        return base_lr * step / warmup_steps
    p = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return min_lr + (base_lr - min_lr) * (1 + math.cos(math.pi * p)) / 2
''',
        "cosine progress divided by total_steps": '''
def warmup_cosine_lr(step, total_steps, warmup_steps, base_lr, min_lr=0.0):
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    p = (step - warmup_steps) / max(1, total_steps)
    return min_lr + (base_lr - min_lr) * (1 + math.cos(math.pi * p)) / 2
''',
        "min_lr ignored": '''
def warmup_cosine_lr(step, total_steps, warmup_steps, base_lr, min_lr=0.0):
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    p = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return base_lr * (1 + math.cos(math.pi * p)) / 2
''',
        "cosine not shifted by the warmup": '''
def warmup_cosine_lr(step, total_steps, warmup_steps, base_lr, min_lr=0.0):
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    return min_lr + (base_lr - min_lr) * (1 + math.cos(math.pi * step / total_steps)) / 2
''',
        "crashes without warmup (division by zero when total == warmup)": '''
def warmup_cosine_lr(step, total_steps, warmup_steps, base_lr, min_lr=0.0):
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    p = (step - warmup_steps) / (total_steps - warmup_steps)
    return min_lr + (base_lr - min_lr) * (1 + math.cos(math.pi * p)) / 2
''',
        "returns a tensor": '''
def warmup_cosine_lr(step, total_steps, warmup_steps, base_lr, min_lr=0.0):
    if step < warmup_steps:
        return torch.tensor(base_lr * (step + 1) / warmup_steps)
    p = torch.tensor((step - warmup_steps) / max(1, total_steps - warmup_steps))
    return min_lr + (base_lr - min_lr) * (1 + torch.cos(math.pi * p)) / 2
''',
    },
    "accuracy": {
        "percentages instead of fractions": '''
def accuracy(logits, targets, topk=(1,)):
    top = logits.topk(max(topk), dim=1).indices
    return [100.0 * (top[:, :k] == targets[:, None]).any(1).float().mean().item() for k in topk]
''',
        "top-k compares only the k-th prediction": '''
def accuracy(logits, targets, topk=(1,)):
    top = logits.topk(max(topk), dim=1).indices
    return [(top[:, k - 1] == targets).float().mean().item() for k in topk]
''',
        "argmax over the batch axis": '''
def accuracy(logits, targets, topk=(1,)):
    out = []
    for k in topk:
        top = logits.topk(k, dim=0).indices.T[: len(targets)] if k <= len(logits) else logits.topk(k, dim=1).indices
        out.append((top[:, :k] == targets[:, None]).any(1).float().mean().item() if top.ndim == 2 else 0.0)
    return out
''',
        "returns counts": '''
def accuracy(logits, targets, topk=(1,)):
    top = logits.topk(max(topk), dim=1).indices
    return [float((top[:, :k] == targets[:, None]).any(1).sum()) for k in topk]
''',
        "returns tensors": '''
def accuracy(logits, targets, topk=(1,)):
    top = logits.topk(max(topk), dim=1).indices
    return [(top[:, :k] == targets[:, None]).any(1).float().mean() for k in topk]
''',
        "ignores topk order (sorted)": '''
def accuracy(logits, targets, topk=(1,)):
    top = logits.topk(max(topk), dim=1).indices
    return [(top[:, :k] == targets[:, None]).any(1).float().mean().item() for k in sorted(topk)]
''',
    },
    "train_one_epoch": {
        "never zeroes the gradients": _TRAIN_HEAD + '''
    model.train()
    total, correct, seen = 0.0, 0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        with torch.autocast(device_type, dtype=amp_dtype, enabled=amp):
            logits = model(x)
            loss = F.cross_entropy(logits, y)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        if scheduler is not None:
            scheduler.step()
        total += loss.item() * len(y)
        correct += (logits.argmax(1) == y).sum().item()
        seen += len(y)
    return {"loss": total / seen, "acc": correct / seen}
''',
        "loss averaged over batches, not samples": _TRAIN_HEAD + '''
    model.train()
    losses, correct, seen = [], 0, 0
    for x, y in loader:
        with torch.autocast(device_type, dtype=amp_dtype, enabled=amp):
            logits = model(x.to(device))
            loss = F.cross_entropy(logits, y.to(device))
        optimizer.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        if scheduler is not None:
            scheduler.step()
        losses.append(loss.item())
        correct += (logits.argmax(1) == y).sum().item()
        seen += len(y)
    return {"loss": sum(losses) / len(losses), "acc": correct / seen}
''',
        "never calls model.train()": _TRAIN_HEAD + '''
    total, correct, seen = 0.0, 0, 0
    for x, y in loader:
        with torch.autocast(device_type, dtype=amp_dtype, enabled=amp):
            logits = model(x)
            loss = F.cross_entropy(logits, y)
        optimizer.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        if scheduler is not None:
            scheduler.step()
        total += loss.item() * len(y)
        correct += (logits.argmax(1) == y).sum().item()
        seen += len(y)
    return {"loss": total / seen, "acc": correct / seen}
''',
        "scheduler stepped once per epoch": _TRAIN_HEAD + '''
    model.train()
    total, correct, seen = 0.0, 0, 0
    for x, y in loader:
        with torch.autocast(device_type, dtype=amp_dtype, enabled=amp):
            logits = model(x)
            loss = F.cross_entropy(logits, y)
        optimizer.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        total += loss.item() * len(y)
        correct += (logits.argmax(1) == y).sum().item()
        seen += len(y)
    if scheduler is not None:
        scheduler.step()
    return {"loss": total / seen, "acc": correct / seen}
''',
        "scheduler stepped before the optimizer": _TRAIN_HEAD + '''
    model.train()
    total, correct, seen = 0.0, 0, 0
    for x, y in loader:
        with torch.autocast(device_type, dtype=amp_dtype, enabled=amp):
            logits = model(x)
            loss = F.cross_entropy(logits, y)
        optimizer.zero_grad()
        scaler.scale(loss).backward()
        if scheduler is not None:
            scheduler.step()
        scaler.step(optimizer)
        scaler.update()
        total += loss.item() * len(y)
        correct += (logits.argmax(1) == y).sum().item()
        seen += len(y)
    return {"loss": total / seen, "acc": correct / seen}
''',
        "amp ignored": '''
def train_one_epoch(model, loader, optimizer, scheduler=None, device="cpu", amp=False):
    model.train()
    total, correct, seen = 0.0, 0, 0
    for x, y in loader:
        logits = model(x.to(device))
        loss = F.cross_entropy(logits, y.to(device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total += loss.item() * len(y)
        correct += (logits.argmax(1) == y).sum().item()
        seen += len(y)
    return {"loss": total / seen, "acc": correct / seen}
''',
        "amp by converting the model to bfloat16": '''
def train_one_epoch(model, loader, optimizer, scheduler=None, device="cpu", amp=False):
    model.train()
    if amp:
        model.to(torch.bfloat16)
    total, correct, seen = 0.0, 0, 0
    for x, y in loader:
        x = x.to(device, torch.bfloat16 if amp else torch.float32)
        logits = model(x)
        loss = F.cross_entropy(logits.float(), y.to(device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total += loss.item() * len(y)
        correct += (logits.argmax(1) == y).sum().item()
        seen += len(y)
    return {"loss": total / seen, "acc": correct / seen}
''',
        "accuracy recomputed after the step with a second forward pass": _TRAIN_HEAD + '''
    model.train()
    total, correct, seen = 0.0, 0, 0
    for x, y in loader:
        with torch.autocast(device_type, dtype=amp_dtype, enabled=amp):
            loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        if scheduler is not None:
            scheduler.step()
        with torch.no_grad():
            correct += (model(x).argmax(1) == y).sum().item()
        total += loss.item() * len(y)
        seen += len(y)
    return {"loss": total / seen, "acc": correct / seen}
''',
        "returns tensors": _TRAIN_HEAD + '''
    model.train()
    total, correct, seen = 0.0, 0, 0
    for x, y in loader:
        with torch.autocast(device_type, dtype=amp_dtype, enabled=amp):
            logits = model(x)
            loss = F.cross_entropy(logits, y)
        optimizer.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        if scheduler is not None:
            scheduler.step()
        total = total + loss.detach() * len(y)
        correct = correct + (logits.argmax(1) == y).sum()
        seen += len(y)
    return {"loss": total / seen, "acc": correct / seen}
''',
        "summed loss (reduction='sum') back-propagated": _TRAIN_HEAD + '''
    model.train()
    total, correct, seen = 0.0, 0, 0
    for x, y in loader:
        with torch.autocast(device_type, dtype=amp_dtype, enabled=amp):
            logits = model(x)
            loss = F.cross_entropy(logits, y, reduction="sum")
        optimizer.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        if scheduler is not None:
            scheduler.step()
        total += loss.item()
        correct += (logits.argmax(1) == y).sum().item()
        seen += len(y)
    return {"loss": total / seen, "acc": correct / seen}
''',
    },
    "evaluate": {
        "never calls model.eval()": '''
def evaluate(model, loader, device="cpu"):
    total, correct, seen = 0.0, 0, 0
    with torch.no_grad():
        for x, y in loader:
            logits = model(x)
            total += F.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
            seen += len(y)
    return {"loss": total / seen, "acc": correct / seen}
''',
        "gradients enabled": '''
def evaluate(model, loader, device="cpu"):
    model.eval()
    total, correct, seen = 0.0, 0, 0
    for x, y in loader:
        logits = model(x)
        total += F.cross_entropy(logits, y, reduction="sum").item()
        correct += (logits.argmax(1) == y).sum().item()
        seen += len(y)
    return {"loss": total / seen, "acc": correct / seen}
''',
        "mean of batch means": '''
def evaluate(model, loader, device="cpu"):
    model.eval()
    losses, correct, seen = [], 0, 0
    with torch.no_grad():
        for x, y in loader:
            logits = model(x)
            losses.append(F.cross_entropy(logits, y).item())
            correct += (logits.argmax(1) == y).sum().item()
            seen += len(y)
    return {"loss": sum(losses) / len(losses), "acc": correct / seen}
''',
        "accuracy as a percentage": '''
def evaluate(model, loader, device="cpu"):
    model.eval()
    total, correct, seen = 0.0, 0, 0
    with torch.no_grad():
        for x, y in loader:
            logits = model(x)
            total += F.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
            seen += len(y)
    return {"loss": total / seen, "acc": 100.0 * correct / seen}
''',
        "restores train mode at the end": '''
def evaluate(model, loader, device="cpu"):
    was_training = model.training
    model.eval()
    total, correct, seen = 0.0, 0, 0
    with torch.no_grad():
        for x, y in loader:
            logits = model(x)
            total += F.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
            seen += len(y)
    model.train(was_training)
    return {"loss": total / seen, "acc": correct / seen}
''',
        "calls backward on the evaluation loss": '''
def evaluate(model, loader, device="cpu"):
    model.eval()
    total, correct, seen = 0.0, 0, 0
    for x, y in loader:
        logits = model(x)
        loss = F.cross_entropy(logits, y, reduction="sum")
        loss.backward()
        total += loss.item()
        correct += (logits.argmax(1) == y).sum().item()
        seen += len(y)
    return {"loss": total / seen, "acc": correct / seen}
''',
    },
    "SmallViT": _VIT_WRONG,
    "train_vit": _TRAIN_VIT_WRONG,
}

RIGHT = {
    "warmup_cosine_lr": {
        "numpy and a single expression": '''
import numpy as np

def warmup_cosine_lr(step, total_steps, warmup_steps, base_lr, min_lr=0.0):
    if step < warmup_steps:
        return float(base_lr * (step + 1) / warmup_steps)
    p = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return float(min_lr + 0.5 * (base_lr - min_lr) * (1 + np.cos(np.pi * p)))
''',
    },
    "accuracy": {
        "argsort and a loop over k": '''
def accuracy(logits, targets, topk=(1,)):
    order = logits.argsort(dim=1, descending=True)
    out = []
    for k in topk:
        hits = (order[:, :k] == targets.unsqueeze(1)).sum().item()
        out.append(hits / targets.numel())
    return out
''',
    },
    "train_one_epoch": {
        "inference-free bookkeeping with set_to_none=False and sum-then-divide": '''
def train_one_epoch(model, loader, optimizer, scheduler=None, device="cpu", amp=False):
    dev = torch.device(device)
    use_fp16 = amp and dev.type == "cuda" and not torch.cuda.is_bf16_supported()
    scaler = torch.amp.GradScaler("cuda", enabled=use_fp16) if dev.type == "cuda" else None
    model.train()
    loss_sum = torch.zeros((), dtype=torch.float64)
    right = 0
    count = 0
    for inputs, targets in loader:
        inputs, targets = inputs.to(dev), targets.to(dev)
        optimizer.zero_grad(set_to_none=False)
        with torch.autocast(dev.type, dtype=torch.float16 if use_fp16 else torch.bfloat16, enabled=amp):
            logits = model(inputs)
            loss = torch.nn.functional.cross_entropy(logits, targets)
        if scaler is not None and use_fp16:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        if scheduler:
            scheduler.step()
        loss_sum += loss.detach().double() * targets.size(0)
        right += int((logits.detach().argmax(-1) == targets).sum())
        count += targets.size(0)
    return dict(loss=float(loss_sum / count), acc=right / count)
''',
    },
    "evaluate": {
        "inference_mode and concatenated logits": '''
def evaluate(model, loader, device="cpu"):
    model.eval()
    all_logits, all_targets = [], []
    with torch.inference_mode():
        for x, y in loader:
            all_logits.append(model(x.to(device)).float())
            all_targets.append(y.to(device))
    logits, targets = torch.cat(all_logits), torch.cat(all_targets)
    return {
        "loss": F.cross_entropy(logits, targets).item(),
        "acc": (logits.argmax(1) == targets).float().mean().item(),
    }
''',
    },
    "SmallViT": _VIT_RIGHT,
    "train_vit": _TRAIN_VIT_RIGHT,
}
