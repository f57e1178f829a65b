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
    },
}

RIGHT = {
    "softmax": {
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
    },
    "causal_mask": {
        "comparison of aranges": '''
def causal_mask(n):
    i = torch.arange(n)
    return i[:, None] >= i[None, :]
''',
    },
}
