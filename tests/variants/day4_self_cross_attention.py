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

_SINCOS = '''
def sincos_pos_embed_2d(grid_h, grid_w, dim, temperature=10000.0, num_prefix_tokens=0):
    if dim % 4:
        raise ValueError("dim must be a multiple of 4")
    f = dim // 4
    omega = 1.0 / TEMP ** (EXPONENT)
    r, c = torch.meshgrid(torch.arange(grid_h).float(), torch.arange(grid_w).float(), indexing="ij")
    r, c = ROW_COL
    x, y = c.reshape(-1, 1) * omega, r.reshape(-1, 1) * omega
    emb = torch.cat(BLOCKS, dim=1)
    return PREFIX
'''
_SINCOS_OK = {
    "TEMP": "temperature",
    "EXPONENT": "torch.arange(f) / f",
    "ROW_COL": "r, c",
    "BLOCKS": "[x.sin(), x.cos(), y.sin(), y.cos()]",
    "PREFIX": "torch.cat([torch.zeros(num_prefix_tokens, dim), emb])",
}


def _sincos(**changes: str) -> str:
    src = _SINCOS
    for key, value in {**_SINCOS_OK, **changes}.items():
        src = src.replace(key, value)
    return src


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
        "attn_weights squeezed (wrong shape for B=1 or N=1)": _mhsa(STORED="weights.squeeze()"),
        "qkv bias sliced unconditionally (crashes with qkv_bias=False)": _mhsa(
            SPLIT="(split_heads(F.linear(x, w, b), self.num_heads) "
            "for w, b in zip(self.qkv.weight.chunk(3), self.qkv.bias.chunk(3), strict=True))"
        ),
        "float mask applied only where it is -inf": _mhsa(
            MASKING='scores.masked_fill(~mask if mask.dtype == torch.bool else mask.isinf(), float("-inf"))'
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
        "mask expanded to (B, h, N_q, N_q) (assumes as many keys as queries)": _cross(
            MASKING='scores.masked_fill(~mask.expand(q.shape[0], self.num_heads, q.shape[2], q.shape[2]), -math.inf) '
            'if mask.dtype == torch.bool else scores + mask'
        ),
        "float mask applied only where it is -inf": _cross(
            MASKING='scores.masked_fill(~mask if mask.dtype == torch.bool else mask.isinf(), float("-inf"))'
        ),
    },
    "sincos_pos_embed_2d": {
        "row (y) in the first half, column (x) in the second": _sincos(BLOCKS="[y.sin(), y.cos(), x.sin(), x.cos()]"),
        "MoCo v3's code: meshgrid(w, h) with 'ij' indexing": _sincos(
            ROW_COL="reversed(torch.meshgrid(torch.arange(grid_w).float(), torch.arange(grid_h).float(), indexing='ij'))"
        ),
        "tokens in column-major order": _sincos(ROW_COL="r.T, c.T"),
        "[sin x | sin y | cos x | cos y]": _sincos(BLOCKS="[x.sin(), y.sin(), x.cos(), y.cos()]"),
        "sin and cos interleaved channel by channel": _sincos(
            BLOCKS="[torch.stack([x.sin(), x.cos()], -1).flatten(1), torch.stack([y.sin(), y.cos()], -1).flatten(1)]"
        ),
        "1-D exponent k/(dim/2)": _sincos(EXPONENT="torch.arange(f) / (dim // 2)"),
        "k counted from 1": _sincos(EXPONENT="torch.arange(1, f + 1) / f"),
        "linspace exponent k/(F-1)": _sincos(EXPONENT="torch.linspace(0, 1, f)"),
        "positions normalised to [0, 1)": _sincos(ROW_COL="r / grid_h, c / grid_w"),
        "temperature ignored": _sincos(TEMP="10000.0"),
        "prefix ignored": _sincos(PREFIX="emb"),
        "prefix rows appended at the end": _sincos(PREFIX="torch.cat([emb, torch.zeros(num_prefix_tokens, dim)])"),
        "prefix rows of ones": _sincos(PREFIX="torch.cat([torch.ones(num_prefix_tokens, dim), emb])"),
        "float64 result": _sincos(PREFIX="torch.cat([torch.zeros(num_prefix_tokens, dim), emb]).double()"),
        "batch axis added, (1, N, dim)": _sincos(PREFIX="torch.cat([torch.zeros(num_prefix_tokens, dim), emb])[None]"),
        "no ValueError for dim not a multiple of 4 (drops channels)": _sincos().replace(
            'raise ValueError("dim must be a multiple of 4")', "dim = dim - dim % 4"
        ),
        "assert instead of ValueError": _sincos().replace(
            'if dim % 4:\n        raise ValueError("dim must be a multiple of 4")',
            'assert dim % 4 == 0, "dim must be a multiple of 4"',
        ),
    },
    "quiz_1": {"more heads, more parameters": 'quiz_1 = "A"'},
    "quiz_2": {"invariant": 'quiz_2 = "A"'},
    "quiz_3": {"weights transposed": 'quiz_3 = "B"'},
    "quiz_4": {"a token always attends most to itself": 'quiz_4 = "A"'},
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
    "sincos_pos_embed_2d": {
        "the template (torch.meshgrid, float32 throughout)": _sincos(),
        "MAE's numpy code, generalised to grid_h x grid_w": '''
import numpy as np


def _one_axis(d, pos, temperature):
    omega = np.arange(d // 2, dtype=np.float64) / (d / 2.0)
    omega = 1.0 / temperature**omega
    out = np.einsum("m,d->md", pos.reshape(-1), omega)
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)


def sincos_pos_embed_2d(grid_h, grid_w, dim, temperature=10000.0, num_prefix_tokens=0):
    if dim % 4 != 0:
        raise ValueError(f"dim={dim} is not a multiple of 4")
    grid = np.meshgrid(np.arange(grid_w, dtype=np.float32), np.arange(grid_h, dtype=np.float32))  # w goes first
    grid = np.stack(grid, axis=0).reshape(2, 1, grid_h, grid_w)
    emb = np.concatenate([_one_axis(dim // 2, grid[0], temperature), _one_axis(dim // 2, grid[1], temperature)], axis=1)
    emb = np.concatenate([np.zeros([num_prefix_tokens, dim]), emb], axis=0)
    return torch.from_numpy(emb).float()
''',
        "a Python loop over the patches, math.sin": '''
def sincos_pos_embed_2d(grid_h, grid_w, dim, temperature=10000.0, num_prefix_tokens=0):
    if dim % 4:
        raise ValueError("dim must be divisible by 4")
    f = dim // 4
    freqs = [temperature ** (-k / f) for k in range(f)]
    rows = [[0.0] * dim for _ in range(num_prefix_tokens)]
    for r in range(grid_h):
        for c in range(grid_w):
            rows.append([math.sin(c * w) for w in freqs] + [math.cos(c * w) for w in freqs]
                        + [math.sin(r * w) for w in freqs] + [math.cos(r * w) for w in freqs])
    return torch.tensor(rows, dtype=torch.float32).reshape(num_prefix_tokens + grid_h * grid_w, dim)
''',
        "exp/log frequencies, broadcasting over a (H, W) grid, F.pad for the prefix": '''
def sincos_pos_embed_2d(grid_h, grid_w, dim, temperature=10000.0, num_prefix_tokens=0):
    if dim % 4 != 0:
        raise ValueError("dim % 4 != 0")
    f = dim // 4
    omega = torch.exp(-math.log(temperature) * torch.arange(f, dtype=torch.float32) / f)
    ys = torch.arange(grid_h, dtype=torch.float32)[:, None, None].expand(grid_h, grid_w, 1) * omega
    xs = torch.arange(grid_w, dtype=torch.float32)[None, :, None].expand(grid_h, grid_w, 1) * omega
    emb = torch.cat([torch.sin(xs), torch.cos(xs), torch.sin(ys), torch.cos(ys)], dim=-1).reshape(-1, dim)
    return F.pad(emb, (0, 0, num_prefix_tokens, 0))
''',
    },
    "quiz_1": {"lower case": 'quiz_1 = "d"'},
    "quiz_2": {"with spaces": 'quiz_2 = " B "'},
    "quiz_3": {"plain": 'quiz_3 = "A"'},
    "quiz_4": {"plain": 'quiz_4 = "C"'},
}
