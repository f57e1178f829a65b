"""Wrong and right versions of the day7_practicum exercises, fed to the hidden checks by the tests.

Each source replaces the whole solution cell; it runs in a namespace holding the solution
notebook's other cells (torch, nn, F, math are imported there).
"""

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
}
