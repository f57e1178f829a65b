"""Wrong and right implementations of Day 1's exercises, fed to the hidden checks by the tests."""

WRONG = {
    "softmax": {
        "no max subtraction (overflows)": '''
def softmax(x, dim=-1):
    e = x.exp()
    return e / e.sum(dim=dim, keepdim=True)
''',
        "global max instead of per-slice max": '''
def softmax(x, dim=-1):
    e = (x - x.max()).exp()
    return e / e.sum(dim=dim, keepdim=True)
''',
        "normalised over the wrong dimension": '''
def softmax(x, dim=-1):
    e = (x - x.amax(dim=dim, keepdim=True)).exp()
    return e / e.sum(dim=0, keepdim=True)
''',
        "calls torch.softmax": '''
def softmax(x, dim=-1):
    return torch.softmax(x, dim=dim)
''',
        "calls Tensor.softmax": '''
def softmax(x, dim=-1):
    return x.softmax(dim)
''',
        "log-softmax in disguise": '''
def softmax(x, dim=-1):
    return torch.nn.functional.log_softmax(x, dim=dim).exp()
''',
        "edits its input in place": '''
def softmax(x, dim=-1):
    x -= x.amax(dim=dim, keepdim=True)
    x.exp_()
    return x / x.sum(dim=dim, keepdim=True)
''',
        "max without keepdim (broadcasts against the wrong axis)": '''
def softmax(x, dim=-1):
    e = (x - x.amax(dim=dim)).exp()
    return e / e.sum(dim=dim, keepdim=True)
''',
        "negative dim only: always normalises over the last axis": '''
def softmax(x, dim=-1):
    e = (x - x.amax(dim=-1, keepdim=True)).exp()
    return e / e.sum(dim=-1, keepdim=True)
''',
        "dim is keyword-only (softmax(x, 1) fails)": '''
def softmax(x, *, dim=-1):
    e = (x - x.amax(dim=dim, keepdim=True)).exp()
    return e / e.sum(dim=dim, keepdim=True)
''',
        "nan from overflow replaced by 0": '''
def softmax(x, dim=-1):
    e = x.exp()
    return torch.nan_to_num(e / e.sum(dim=dim, keepdim=True))
''',
        "computed in float32 whatever the input": '''
def softmax(x, dim=-1):
    x = x.float()
    e = (x - x.amax(dim=dim, keepdim=True)).exp()
    return e / e.sum(dim=dim, keepdim=True)
''',
        "returns a numpy array": '''
import numpy as np


def softmax(x, dim=-1):
    a = x.detach().numpy()
    e = np.exp(a - a.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)
''',
        "no gradient: rebuilt with torch.tensor": '''
def softmax(x, dim=-1):
    e = (x - x.amax(dim=dim, keepdim=True)).exp()
    return torch.tensor((e / e.sum(dim=dim, keepdim=True)).tolist(), dtype=x.dtype)
''',
        "calls nn.Softmax": '''
def softmax(x, dim=-1):
    return torch.nn.Softmax(dim=dim)(x)
''',
    },
    "scaled_dot_product_attention": {
        "missing the 1/sqrt(d) scale": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    weights = softmax(scores, dim=-1)
    return weights @ v, weights
''',
        "softmax over the queries axis": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    weights = softmax(scores, dim=-2)
    return weights @ v, weights
''',
        "inverted boolean mask": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    weights = softmax(scores, dim=-1)
    return weights @ v, weights
''',
        "scaled by sqrt(d_v) instead of sqrt(d)": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(v.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    weights = softmax(scores, dim=-1)
    return weights @ v, weights
''',
        "masked scores set to 0 instead of -inf": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, 0.0) if mask.dtype == torch.bool else scores + mask
    weights = softmax(scores, dim=-1)
    return weights @ v, weights
''',
        "float mask ignored": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None and mask.dtype == torch.bool:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = softmax(scores, dim=-1)
    return weights @ v, weights
''',
        "weights detached (no gradient to q and k)": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    weights = softmax(scores, dim=-1).detach()
    return weights @ v, weights
''',
        "returns float32 for float64 input": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    q, k, v = q.float(), k.float(), v.float()
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask.float()
    weights = softmax(scores, dim=-1)
    return weights @ v, weights
''',
        "k.T instead of k.transpose(-2, -1)": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.T / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    weights = softmax(scores, dim=-1)
    return weights @ v, weights
''',
        "masked scores filled with -1e4 (not small enough)": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, -1e4) if mask.dtype == torch.bool else scores + mask
    weights = softmax(scores, dim=-1)
    return weights @ v, weights
''',
        "boolean mask added as numbers": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores + mask
    weights = softmax(scores, dim=-1)
    return weights @ v, weights
''',
        "float mask read as keep/drop": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(mask == 0, float("-inf"))
    weights = softmax(scores, dim=-1)
    return weights @ v, weights
''',
        "float mask multiplied instead of added": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores * mask
    weights = softmax(scores, dim=-1)
    return weights @ v, weights
''',
        "mask assumed (L_q, L_k): unsqueezed for the batch": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        mask = mask.unsqueeze(0)
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    weights = softmax(scores, dim=-1)
    return weights @ v, weights
''',
        "scaled by 1/d instead of 1/sqrt(d)": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / q.shape[-1]
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    weights = softmax(scores, dim=-1)
    return weights @ v, weights
''',
        "returns (weights, out)": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    weights = softmax(scores, dim=-1)
    return weights, weights @ v
''',
        "mask only by keyword (positional mask ignored)": '''
def scaled_dot_product_attention(q, k, v, *args, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    weights = softmax(scores, dim=-1)
    return weights @ v, weights
''',
    },
    "causal_mask": {
        "upper triangle (future instead of past)": '''
def causal_mask(n):
    return torch.ones(n, n, dtype=torch.bool).triu()
''',
        "strictly below the diagonal": '''
def causal_mask(n):
    return torch.ones(n, n, dtype=torch.bool).tril(-1)
''',
        "float mask instead of bool": '''
def causal_mask(n):
    return torch.ones(n, n).tril()
''',
        "uint8 mask instead of bool": '''
def causal_mask(n):
    return torch.ones(n, n, dtype=torch.uint8).tril()
''',
        "a numpy array instead of a tensor": '''
import numpy as np


def causal_mask(n):
    return np.tril(np.ones((n, n), dtype=bool))
''',
        "wrong for n = 1 (special case returns False)": '''
def causal_mask(n):
    if n == 1:
        return torch.zeros(1, 1, dtype=torch.bool)
    return torch.ones(n, n, dtype=torch.bool).tril()
''',
        "argument named size (causal_mask(n=3) fails)": '''
def causal_mask(size):
    return torch.ones(size, size, dtype=torch.bool).tril()
''',
    },
    "padded_attention": {
        "lengths ignored (padding keys attended)": '''
def padded_attention(q, k, v, lengths):
    return scaled_dot_product_attention(q, k, v)
''',
        "queries masked too: padding rows are nan": '''
def padded_attention(q, k, v, lengths):
    length = q.shape[-2]
    real = torch.arange(length) < lengths[:, None]
    real = real.view(real.shape[0], *[1] * (q.dim() - 3), length)
    return scaled_dot_product_attention(q, k, v, mask=real.unsqueeze(-1) & real.unsqueeze(-2))
''',
        "queries masked too, nan replaced by 0 (nan gradients)": '''
def padded_attention(q, k, v, lengths):
    length = q.shape[-2]
    real = torch.arange(length) < lengths[:, None]
    real = real.view(real.shape[0], *[1] * (q.dim() - 3), length)
    out, weights = scaled_dot_product_attention(q, k, v, mask=real.unsqueeze(-1) & real.unsqueeze(-2))
    return torch.nan_to_num(out), torch.nan_to_num(weights)
''',
        "padding queries' rows not zeroed": '''
def padded_attention(q, k, v, lengths):
    length = q.shape[-2]
    real = torch.arange(length) < lengths[:, None]
    real = real.view(real.shape[0], *[1] * (q.dim() - 3), length)
    return scaled_dot_product_attention(q, k, v, mask=real.unsqueeze(-2))
''',
        "off by one: the first padding key kept": '''
def padded_attention(q, k, v, lengths):
    length = q.shape[-2]
    real = torch.arange(length) <= lengths[:, None]
    real = real.view(real.shape[0], *[1] * (q.dim() - 3), length)
    out, weights = scaled_dot_product_attention(q, k, v, mask=real.unsqueeze(-2))
    return out * real.unsqueeze(-1), weights * real.unsqueeze(-1)
''',
        "mask (B, 1, L) also on 4-D inputs (batch lines up with heads)": '''
def padded_attention(q, k, v, lengths):
    real = torch.arange(q.shape[-2]) < lengths[:, None]  # (B, L)
    out, weights = scaled_dot_product_attention(q, k, v, mask=real[:, None, :])
    keep = real[:, :, None]
    return out.masked_fill(~keep, 0.0), weights.masked_fill(~keep, 0.0)
''',
        "mask applied to the queries' axis instead of the keys'": '''
def padded_attention(q, k, v, lengths):
    length = q.shape[-2]
    real = torch.arange(length) < lengths[:, None]
    real = real.view(real.shape[0], *[1] * (q.dim() - 3), length)
    out, weights = scaled_dot_product_attention(q, k, v, mask=real.unsqueeze(-1))
    return torch.nan_to_num(out), torch.nan_to_num(weights)
''',
        "weights zeroed after the softmax without renormalising": '''
def padded_attention(q, k, v, lengths):
    length = q.shape[-2]
    real = torch.arange(length) < lengths[:, None]
    real = real.view(real.shape[0], *[1] * (q.dim() - 3), length)
    _, weights = scaled_dot_product_attention(q, k, v)
    weights = weights * real.unsqueeze(-2) * real.unsqueeze(-1)
    return weights @ v, weights
''',
        "float32 result for float64 input": '''
def padded_attention(q, k, v, lengths):
    q, k, v = q.float(), k.float(), v.float()
    length = q.shape[-2]
    real = torch.arange(length) < lengths[:, None]
    real = real.view(real.shape[0], *[1] * (q.dim() - 3), length)
    out, weights = scaled_dot_product_attention(q, k, v, mask=real.unsqueeze(-2))
    return out.masked_fill(~real.unsqueeze(-1), 0.0), weights.masked_fill(~real.unsqueeze(-1), 0.0)
''',
        "returns only out": '''
def padded_attention(q, k, v, lengths):
    length = q.shape[-2]
    real = torch.arange(length) < lengths[:, None]
    real = real.view(real.shape[0], *[1] * (q.dim() - 3), length)
    out, _ = scaled_dot_product_attention(q, k, v, mask=real.unsqueeze(-2))
    return out.masked_fill(~real.unsqueeze(-1), 0.0)
''',
    },
}

RIGHT = {
    "softmax": {
        "max detached (the shift needs no gradient)": '''
def softmax(x, dim=-1):
    e = (x - x.detach().amax(dim=dim, keepdim=True)).exp()
    return e / e.sum(dim=dim, keepdim=True)
''',
        "moves dim to the end and back": '''
def softmax(x, dim=-1):
    y = x.movedim(dim, -1)
    e = torch.exp(y - y.max(-1, keepdim=True).values)
    return (e / e.sum(-1, keepdim=True)).movedim(-1, dim)
''',
        "logsumexp form": '''
def softmax(x, dim=-1):
    m = x.amax(dim=dim, keepdim=True)
    return torch.exp(x - m - torch.log(torch.exp(x - m).sum(dim=dim, keepdim=True)))
''',
        "max via torch.max(...).values": '''
def softmax(x, dim=-1):
    e = torch.exp(x - torch.max(x, dim=dim, keepdim=True).values)
    return e / torch.sum(e, dim=dim, keepdim=True)
''',
    },
    "scaled_dot_product_attention": {
        "einsum and a large negative fill": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = torch.einsum("...qd,...kd->...qk", q, k) * q.shape[-1] ** -0.5
    if mask is not None:
        if mask.dtype == torch.bool:
            scores = torch.where(mask, scores, torch.full_like(scores, -1e30))
        else:
            scores = scores + mask
    weights = softmax(scores, dim=-1)
    return torch.einsum("...qk,...kv->...qv", weights, v), weights
''',
        "scale applied to q first, matmul with mT": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = (q / q.size(-1) ** 0.5) @ k.mT
    if mask is not None:
        scores = scores.masked_fill(mask.logical_not(), -math.inf) if mask.dtype is torch.bool else scores + mask
    weights = softmax(scores)
    return torch.matmul(weights, v), weights
''',
        "a -1e9 fill and masks of any kind turned additive": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(k.shape[-1]))
    if mask is not None:
        if mask.dtype == torch.bool:
            mask = torch.zeros(mask.shape, dtype=scores.dtype).masked_fill(~mask, -1e9)
        scores = scores + mask
    weights = softmax(scores, dim=-1)
    return weights @ v, weights
''',
        "torch.finfo(dtype).min as the fill": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        if mask.dtype == torch.bool:
            scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        else:
            scores = scores + mask
    weights = softmax(scores, dim=-1)
    return weights @ v, weights
''',
    },
    "causal_mask": {
        "comparison of aranges": '''
def causal_mask(n):
    i = torch.arange(n)
    return i[:, None] >= i[None, :]
''',
        "torch.tril of ones, converted to bool": '''
def causal_mask(n):
    return torch.tril(torch.ones(n, n)).bool()
''',
        "a double loop": '''
def causal_mask(n):
    m = torch.zeros(n, n, dtype=torch.bool)
    for i in range(n):
        for j in range(i + 1):
            m[i, j] = True
    return m
''',
    },
    "padded_attention": {
        "one sequence at a time, pasted into zeros": '''
def padded_attention(q, k, v, lengths):
    out = q.new_zeros(*q.shape[:-1], v.shape[-1])
    weights = q.new_zeros(*q.shape[:-1], k.shape[-2])
    for b, n in enumerate(lengths.tolist()):
        ob, wb = scaled_dot_product_attention(q[b, ..., :n, :], k[b, ..., :n, :], v[b, ..., :n, :])
        out[b, ..., :n, :] = ob
        weights[b, ..., :n, :n] = wb
    return out, weights
''',
        "additive float mask and torch.where": '''
def padded_attention(q, k, v, lengths):
    B, L = q.shape[0], q.shape[-2]
    shape = (B,) + (1,) * (q.dim() - 2) + (L,)
    real = (torch.arange(L).expand(B, L) < lengths.long().unsqueeze(1)).reshape(shape)
    bias = torch.zeros(shape, dtype=q.dtype).masked_fill(~real, float("-inf"))
    out, weights = scaled_dot_product_attention(q, k, v, mask=bias)
    query_real = real.transpose(-1, -2)
    return torch.where(query_real, out, torch.zeros_like(out)), torch.where(query_real, weights, torch.zeros_like(weights))
''',
        "padding queries multiplied by 0 (a float mask of rows)": '''
def padded_attention(q, k, v, lengths):
    L = q.shape[-2]
    real = torch.arange(L)[None, :] < lengths[:, None]
    for _ in range(q.dim() - 2):
        real = real.unsqueeze(1)
    out, weights = scaled_dot_product_attention(q, k, v, real)
    rows = real.transpose(-1, -2).to(q.dtype)
    return out * rows, weights * rows
''',
    },
}
