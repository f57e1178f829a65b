"""Wrong and right implementations of the day-4 exercises, fed to the hidden checks by the tests.

Each source replaces that exercise's solution cell, in a namespace holding the solution
notebook's other cells (so `split_heads`, `merge_heads`, `math`, `torch`, `nn`, `F` exist).
The first WRONG variant of every exercise is also autograded with nbgrader.
"""

# Shared bodies: a correct layer in which one line at a time is broken.
_MHSA = '''
class MultiHeadSelfAttention(nn.Module):
    def __init__(self, dim, num_heads, qkv_bias=True):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.attn_weights = None

    def forward(self, x, mask=None):
        B, N, C = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q, k, v = SPLIT
        scores = q @ k.transpose(-2, -1) / SCALE
        if mask is not None:
            scores = MASKING
        weights = torch.softmax(scores, dim=SOFTMAX_DIM)
        self.attn_weights = STORED
        return OUTPUT
'''
_MHSA_OK = {
    "SPLIT": "(split_heads(t, self.num_heads) for t in (q, k, v))",
    "SCALE": "math.sqrt(self.head_dim)",
    "MASKING": 'scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask',
    "SOFTMAX_DIM": "-1",
    "STORED": "weights",
    "OUTPUT": "self.proj(merge_heads(weights @ v))",
}


def _mhsa(**changes: str) -> str:
    src = _MHSA
    for key, value in {**_MHSA_OK, **changes}.items():
        src = src.replace(key, value)
    return src


_CROSS = '''
class CrossAttention(nn.Module):
    def __init__(self, dim, context_dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(context_dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)
        self.attn_weights = None

    def forward(self, x, context, mask=None):
        q = split_heads(self.q(x), self.num_heads)
        k, v = (split_heads(t, self.num_heads) for t in self.kv(KV_SOURCE).chunk(2, dim=-1))
        KV_SWAP
        scores = q @ k.transpose(-2, -1) / SCALE
        if mask is not None:
            scores = MASKING
        weights = torch.softmax(scores, dim=SOFTMAX_DIM)
        self.attn_weights = weights.detach()
        return OUTPUT
'''
_CROSS_OK = {
    "KV_SOURCE": "context",
    "KV_SWAP": "",
    "SCALE": "math.sqrt(self.head_dim)",
    "MASKING": 'scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask',
    "SOFTMAX_DIM": "-1",
    "OUTPUT": "self.proj(merge_heads(weights @ v))",
}


def _cross(**changes: str) -> str:
    src = _CROSS
    for key, value in {**_CROSS_OK, **changes}.items():
        src = src.replace(key, value)
    return src


_SELF_KV_CROSS = '''
class CrossAttention(nn.Module):
    """K/V from the queries: only works when context_dim == dim, and then computes self-attention."""

    def __init__(self, dim, context_dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(context_dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, context, mask=None):
        q = split_heads(self.q(x), self.num_heads)
        k, v = (split_heads(t, self.num_heads) for t in self.kv(x).chunk(2, dim=-1))
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
        weights = torch.softmax(scores, dim=-1)
        self.attn_weights = weights
        return self.proj(merge_heads(weights @ v))
'''

WRONG = {
    "split_heads": {
        "view straight to (B, h, N, d) without the transpose": '''
def split_heads(x, num_heads):
    B, N, C = x.shape
    return x.view(B, num_heads, N, C // num_heads)
''',
        "heads take strided features (reshape to (B, N, d, h))": '''
def split_heads(x, num_heads):
    B, N, C = x.shape
    return x.reshape(B, N, C // num_heads, num_heads).permute(0, 3, 1, 2)
''',
        "forgets the transpose, returns (B, N, h, d)": '''
def split_heads(x, num_heads):
    B, N, C = x.shape
    return x.reshape(B, N, num_heads, C // num_heads)
''',
        "casts to float32": '''
def split_heads(x, num_heads):
    B, N, C = x.shape
    return x.float().reshape(B, N, num_heads, C // num_heads).transpose(1, 2)
''',
    },
    "merge_heads": {
        "reshape without transposing back": '''
def merge_heads(x):
    B, h, N, d = x.shape
    return x.reshape(B, N, h * d)
''',
        "view after the transpose (fails on non-contiguous tensors)": '''
def merge_heads(x):
    B, h, N, d = x.shape
    return x.transpose(1, 2).view(B, N, h * d)
''',
        "concatenates along the token axis": '''
def merge_heads(x):
    return torch.cat(x.unbind(1), dim=1).reshape(x.shape[0], x.shape[2], -1)
''',
    },
    "MultiHeadSelfAttention": {
        "heads split by view without the transpose": _mhsa(
            SPLIT="(t.reshape(B, self.num_heads, N, self.head_dim) for t in (q, k, v))",
            OUTPUT="self.proj((weights @ v).reshape(B, N, C))",
        ),
        "scale by sqrt(dim) instead of sqrt(head dim)": _mhsa(SCALE="math.sqrt(C)"),
        "keys and values swapped": _mhsa(SPLIT="(split_heads(t, self.num_heads) for t in (q, v, k))"),
        "mask inverted": _mhsa(
            MASKING='scores.masked_fill(mask, float("-inf")) if mask.dtype == torch.bool else scores + mask'
        ),
        "missing output projection": _mhsa(OUTPUT="merge_heads(weights @ v)"),
        "mask ignored": _mhsa(MASKING="scores"),
        "float mask treated as a boolean": _mhsa(MASKING='scores.masked_fill(~mask.bool(), float("-inf"))'),
        "float mask multiplied instead of added": _mhsa(
            MASKING='scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores * mask'
        ),
        "softmax over the queries": _mhsa(SOFTMAX_DIM="-2"),
        "attn_weights stored before the softmax": _mhsa(STORED="scores"),
        "attn_weights averaged over heads": _mhsa(STORED="weights.mean(1)"),
        "no scaling at all": _mhsa(SCALE="1.0"),
        "qkv read as interleaved per head (B, N, h, 3, d)": _mhsa(
            SPLIT="self.qkv(x).reshape(B, N, self.num_heads, 3, self.head_dim).permute(3, 0, 2, 1, 4)"
        ),
        "masking fills 0 instead of -inf": _mhsa(
            MASKING="scores.masked_fill(~mask, 0.0) if mask.dtype == torch.bool else scores + mask"
        ),
        "qkv_bias ignored": _mhsa().replace("bias=qkv_bias", "bias=True"),
        "output detached (no gradients)": _mhsa(OUTPUT="self.proj(merge_heads(weights @ v)).detach()"),
        "mask given an extra head axis (assumes a (B, N, N) mask)": _mhsa(
            MASKING='scores.masked_fill(~mask[:, None], -math.inf) if mask.dtype == torch.bool else scores + mask[:, None]'
        ),
        "inverts a boolean mask in place": _mhsa(
            MASKING='scores.masked_fill(mask.logical_not_(), float("-inf")) if mask.dtype == torch.bool else scores + mask'
        ),
    },
    "CrossAttention": {
        "K/V taken from the queries": _SELF_KV_CROSS,
        "keys and values swapped": _cross(KV_SWAP="k, v = v, k"),
        "scale by sqrt(dim) instead of sqrt(head dim)": _cross(SCALE="math.sqrt(self.num_heads * self.head_dim)"),
        "mask inverted": _cross(
            MASKING='scores.masked_fill(mask, float("-inf")) if mask.dtype == torch.bool else scores + mask'
        ),
        "missing output projection": _cross(OUTPUT="merge_heads(weights @ v)"),
        "softmax over the queries": _cross(SOFTMAX_DIM="-2"),
        "mask ignored": _cross(MASKING="scores"),
        "attn_weights stored transposed, (B, h, Nk, Nq)": _cross().replace(
            "self.attn_weights = weights.detach()", "self.attn_weights = weights.transpose(-2, -1).detach()"
        ),
    },
    "quiz_1": {"more heads, more parameters": 'quiz_1 = "B"'},
    "quiz_2": {"invariant": 'quiz_2 = "A"'},
    "quiz_3": {"weights transposed": 'quiz_3 = "A"'},
}

RIGHT = {
    "split_heads": {
        "view then permute": '''
def split_heads(x, num_heads):
    B, N, C = x.shape
    return x.view(B, N, num_heads, C // num_heads).permute(0, 2, 1, 3)
''',
        "stack of chunks": '''
def split_heads(x, num_heads):
    return torch.stack(x.chunk(num_heads, dim=-1), dim=1)
''',
        "unflatten and contiguous copy": '''
def split_heads(x, num_heads):
    return x.unflatten(-1, (num_heads, -1)).transpose(1, 2).contiguous()
''',
    },
    "merge_heads": {
        "cat of the heads": '''
def merge_heads(x):
    return torch.cat(x.unbind(1), dim=-1)
''',
        "permute, contiguous, view": '''
def merge_heads(x):
    B, h, N, d = x.shape
    return x.permute(0, 2, 1, 3).contiguous().view(B, N, h * d)
''',
        "flatten": '''
def merge_heads(x):
    return x.transpose(1, 2).flatten(2)
''',
    },
    "MultiHeadSelfAttention": {
        "timm style: one reshape of qkv to (3, B, h, N, d), weights kept with their graph": '''
class MultiHeadSelfAttention(nn.Module):
    def __init__(self, dim, num_heads, qkv_bias=True):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, mask=None):
        B, N, C = x.shape
        q, k, v = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        if mask is not None:
            if mask.dtype == torch.bool:
                attn = attn.masked_fill(mask.logical_not(), float("-inf"))
            else:
                attn = attn + mask
        attn = attn.softmax(dim=-1)
        self.attn_weights = attn
        return self.proj((attn @ v).transpose(1, 2).reshape(B, N, C))
''',
        "einsum, and F.scaled_dot_product_attention for the output": '''
class MultiHeadSelfAttention(nn.Module):
    def __init__(self, dim, num_heads, qkv_bias=True):
        super().__init__()
        self.h = num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.attn_weights = None

    def forward(self, x, mask=None):
        q, k, v = (split_heads(t, self.h) for t in self.qkv(x).split(x.shape[-1], dim=-1))
        scores = torch.einsum("bhqd,bhkd->bhqk", q, k) / math.sqrt(q.shape[-1])
        if mask is not None:
            scores = torch.where(mask, scores, -math.inf) if mask.dtype == torch.bool else scores + mask
        self.attn_weights = torch.softmax(scores, -1).detach()
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.proj(merge_heads(out))
''',
        "separate Linear calls via weight slices": '''
class MultiHeadSelfAttention(nn.Module):
    def __init__(self, dim, num_heads, qkv_bias=True):
        super().__init__()
        self.dim, self.num_heads = dim, num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, mask=None):
        D = self.dim
        W, b = self.qkv.weight, self.qkv.bias
        parts = [F.linear(x, W[i * D:(i + 1) * D], None if b is None else b[i * D:(i + 1) * D]) for i in range(3)]
        q, k, v = (split_heads(t, self.num_heads) for t in parts)
        s = q @ k.transpose(-1, -2) * (D // self.num_heads) ** -0.5
        if mask is not None and mask.dtype == torch.bool:
            s = s.masked_fill(~mask, float("-inf"))
        elif mask is not None:
            s = s + mask
        a = s.softmax(-1)
        self.attn_weights = a
        return self.proj(merge_heads(a @ v))
''',
    },
    "CrossAttention": {
        "einsum": '''
class CrossAttention(nn.Module):
    def __init__(self, dim, context_dim, num_heads):
        super().__init__()
        self.h = num_heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(context_dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, context, mask=None):
        dim = x.shape[-1]
        q = split_heads(self.q(x), self.h)
        kv = self.kv(context)
        k, v = split_heads(kv[..., :dim], self.h), split_heads(kv[..., dim:], self.h)
        s = torch.einsum("bhqd,bhkd->bhqk", q, k) / math.sqrt(dim // self.h)
        if mask is not None:
            s = s.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else s + mask
        self.attn_weights = s.softmax(-1)
        return self.proj(merge_heads(torch.einsum("bhqk,bhkd->bhqd", self.attn_weights, v)))
''',
        "F.scaled_dot_product_attention with separately computed weights": '''
class CrossAttention(nn.Module):
    def __init__(self, dim, context_dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(context_dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)
        self.attn_weights = None

    def forward(self, x, context, mask=None):
        q = split_heads(self.q(x), self.num_heads)
        k, v = (split_heads(t, self.num_heads) for t in self.kv(context).chunk(2, -1))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        if mask is not None:
            scores = scores.masked_fill(~mask, -math.inf) if mask.dtype == torch.bool else scores + mask
        self.attn_weights = scores.softmax(-1).detach()
        return self.proj(merge_heads(out))
''',
    },
    "quiz_1": {"lower case": 'quiz_1 = "a"'},
    "quiz_2": {"with spaces": 'quiz_2 = " B "'},
    "quiz_3": {"plain": 'quiz_3 = "C"'},
}
