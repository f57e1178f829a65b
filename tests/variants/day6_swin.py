"""Wrong and right implementations of Day 6's exercises, fed to the hidden checks by the tests.

Each source replaces one solution cell; the other cells of the solution notebook (the correct
window_partition, WindowAttention, SwinBlock, ...) are defined around it. Blocks rely only on the
contract of ``shifted_window_mask`` (one int shift for both axes): the per-axis masks below are
built from it (``_axis_mask``) or from scratch.
"""

# A per-axis shifted-window mask from the int contract: with one row of windows (H == ws) the top
# row of windows of a map twice as tall is unshifted along H; with one column, the first column of
# a map twice as wide.
_AXIS_MASK = '''
def _axis_mask(H, W, ws, sh, sw):
    if sh and sw:
        return shifted_window_mask(H, W, ws, sh)
    if sw:
        return shifted_window_mask(2 * ws, W, ws, sw)[: W // ws]
    return shifted_window_mask(H, 2 * ws, ws, sh)[0::2]
'''

_BLOCK_INIT = _AXIS_MASK + '''

class SwinBlock(nn.Module):
    def __init__(self, dim, num_heads, window_size=7, shift_size=0, mlp_ratio=4.0):
        super().__init__()
        self.window_size, self.shift_size = window_size, shift_size
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, window_size, num_heads)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x):
        B, H, W, C = x.shape
        ws = self.window_size
'''


def _block(body: str) -> str:
    """A SwinBlock whose forward continues with ``body`` (indented 8 spaces)."""
    return _BLOCK_INIT + body


_ATTEND = '''
        windows = window_partition(y, ws).reshape(-1, ws * ws, C)
        y = window_reverse(self.attn(windows, mask).reshape(-1, ws, ws, C), ws, H, W)
'''
_PER_AXIS = '''
        sh = self.shift_size if H > ws else 0
        sw = self.shift_size if W > ws else 0
'''
_MLP = '''
        x = x + y
        return x + self.mlp(self.norm2(x))
'''

# PaddedSwinBlock: the given constructor, then a forward that starts with the padded sizes.
_PAD_INIT = _AXIS_MASK + '''

class PaddedSwinBlock(SwinBlock):
    def __init__(self, dim, num_heads, window_size=7, shift_size=0, mlp_ratio=4.0):
        super().__init__(dim, num_heads, window_size=window_size, shift_size=shift_size, mlp_ratio=mlp_ratio)
        self.window_size, self.shift_size = window_size, shift_size

    def forward(self, x):
        B, H, W, C = x.shape
        ws, s = self.window_size, self.shift_size
        pb, pr = -H % ws, -W % ws
        Hp, Wp = H + pb, W + pr
'''
# Shift per axis from the padded sizes, roll, attend with the mask of the padded map, roll back.
_PAD_ATTEND = '''
        sh = s if Hp > ws else 0
        sw = s if Wp > ws else 0
        mask = None
        if sh or sw:
            y = torch.roll(y, shifts=(-sh, -sw), dims=(1, 2))
            mask = _axis_mask(Hp, Wp, ws, sh, sw).to(x.dtype)
        windows = self.attn(window_partition(y, ws).reshape(-1, ws * ws, C), mask)
        y = window_reverse(windows.reshape(-1, ws, ws, C), ws, Hp, Wp)
        if sh or sw:
            y = torch.roll(y, shifts=(sh, sw), dims=(1, 2))
'''
_PAD_END = '''
        x = x + y[:, :H, :W]
        return x + self.mlp(self.norm2(x))
'''


def _padded(body: str) -> str:
    """A PaddedSwinBlock whose forward continues with ``body`` (indented 8 spaces)."""
    return _PAD_INIT + body


WRONG = {
    "msa_flops": {
        "h*w**2 instead of (h*w)**2": '''
def msa_flops(h, w, C):
    return 4 * h * w * C**2 + 2 * h * w**2 * C
''',
        "three projections instead of four": '''
def msa_flops(h, w, C):
    return 3 * h * w * C**2 + 2 * (h * w) ** 2 * C
''',
        "quadratic term counted once": '''
def msa_flops(h, w, C):
    return 4 * h * w * C**2 + (h * w) ** 2 * C
''',
    },
    "wmsa_flops": {
        "M instead of M**2": '''
def wmsa_flops(h, w, C, M):
    return 4 * h * w * C**2 + 2 * M * h * w * C
''',
        "cost of one window only": '''
def wmsa_flops(h, w, C, M):
    return 4 * M**2 * C**2 + 2 * M**4 * C
''',
        "whole windows counted with //": '''
def wmsa_flops(h, w, C, M):
    return (h // M) * (w // M) * (4 * M**2 * C**2 + 2 * M**4 * C)
''',
        "windows of the padded map (ceil)": '''
def wmsa_flops(h, w, C, M):
    return math.ceil(h / M) * math.ceil(w / M) * (4 * M**2 * C**2 + 2 * M**4 * C)
''',
    },
    "window_partition": {
        "windows in column-major order": '''
def window_partition(x, window_size):
    B, H, W, C = x.shape
    x = x.reshape(B, H // window_size, window_size, W // window_size, window_size, C)
    return x.permute(0, 3, 1, 2, 4, 5).reshape(-1, window_size, window_size, C)
''',
        "reshape without permute": '''
def window_partition(x, window_size):
    return x.reshape(-1, window_size, window_size, x.shape[-1])
''',
        "rows and columns of each window swapped": '''
def window_partition(x, window_size):
    B, H, W, C = x.shape
    x = x.reshape(B, H // window_size, window_size, W // window_size, window_size, C)
    return x.permute(0, 1, 3, 4, 2, 5).reshape(-1, window_size, window_size, C)
''',
        "view that needs a contiguous input": '''
def window_partition(x, window_size):
    B, H, W, C = x.shape
    ws = window_size
    x = x.view(B * (H // ws), ws, W // ws, ws, C)
    return x.permute(0, 2, 1, 3, 4).contiguous().view(-1, ws, ws, C)
''',
        "windows copied into a float32 tensor": '''
def window_partition(x, window_size):
    B, H, W, C = x.shape
    ws = window_size
    out = torch.zeros(B * (H // ws) * (W // ws), ws, ws, C)
    k = 0
    for b in range(B):
        for r in range(0, H, ws):
            for c in range(0, W, ws):
                out[k] = x[b, r:r + ws, c:c + ws]
                k += 1
    return out
''',
    },
    "window_reverse": {
        "windows placed in column-major order": '''
def window_reverse(windows, window_size, H, W):
    C = windows.shape[-1]
    B = windows.shape[0] // ((H // window_size) * (W // window_size))
    x = windows.reshape(B, W // window_size, H // window_size, window_size, window_size, C)
    return x.permute(0, 2, 3, 1, 4, 5).reshape(B, H, W, C)
''',
        "reshape without permute": '''
def window_reverse(windows, window_size, H, W):
    return windows.reshape(-1, H, W, windows.shape[-1])
''',
    },
    "relative_position_index": {
        "no offset and no scale": '''
def relative_position_index(window_size):
    coords = torch.stack(torch.meshgrid(torch.arange(window_size), torch.arange(window_size), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)
    return rel[..., 0] + rel[..., 1]
''',
        "no + ws - 1 offset": '''
def relative_position_index(window_size):
    coords = torch.stack(torch.meshgrid(torch.arange(window_size), torch.arange(window_size), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)
    return rel[..., 0] * (2 * window_size - 1) + rel[..., 1]
''',
        "no * (2ws - 1) scale": '''
def relative_position_index(window_size):
    coords = torch.stack(torch.meshgrid(torch.arange(window_size), torch.arange(window_size), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + window_size - 1
    return rel[..., 0] + rel[..., 1]
''',
        "scaled by ws instead of 2ws - 1": '''
def relative_position_index(window_size):
    coords = torch.stack(torch.meshgrid(torch.arange(window_size), torch.arange(window_size), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + window_size - 1
    return rel[..., 0] * window_size + rel[..., 1]
''',
        "transposed (key minus query)": '''
def relative_position_index(window_size):
    coords = torch.stack(torch.meshgrid(torch.arange(window_size), torch.arange(window_size), indexing="ij")).flatten(1)
    rel = (coords[:, None, :] - coords[:, :, None]).permute(1, 2, 0) + window_size - 1
    return rel[..., 0] * (2 * window_size - 1) + rel[..., 1]
''',
        "column offset scaled instead of the row offset": '''
def relative_position_index(window_size):
    coords = torch.stack(torch.meshgrid(torch.arange(window_size), torch.arange(window_size), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + window_size - 1
    return rel[..., 1] * (2 * window_size - 1) + rel[..., 0]
''',
        "int32 instead of long": '''
def relative_position_index(window_size):
    coords = torch.stack(torch.meshgrid(torch.arange(window_size), torch.arange(window_size), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + window_size - 1
    return (rel[..., 0] * (2 * window_size - 1) + rel[..., 1]).int()
''',
    },
    "shifted_window_mask": {
        "regions of the unshifted map": '''
def shifted_window_mask(H, W, window_size, shift_size):
    def strips(size):
        label = torch.zeros(size)
        label[shift_size:] = 1
        return label
    regions = strips(H)[:, None] * 3 + strips(W)[None, :]
    win = window_partition(regions[None, :, :, None], window_size).reshape(-1, window_size * window_size)
    return torch.zeros(win.shape[0], win.shape[1], win.shape[1]).masked_fill(win[:, :, None] != win[:, None, :], -100.0)
''',
        "-inf instead of -100": '''
def shifted_window_mask(H, W, window_size, shift_size):
    def strips(size):
        label = torch.zeros(size)
        label[size - window_size : size - shift_size] = 1
        label[size - shift_size :] = 2
        return label
    regions = strips(H)[:, None] * 3 + strips(W)[None, :]
    win = window_partition(regions[None, :, :, None], window_size).reshape(-1, window_size * window_size)
    return torch.zeros(win.shape[0], win.shape[1], win.shape[1]).masked_fill(win[:, :, None] != win[:, None, :], float("-inf"))
''',
        "boolean mask": '''
def shifted_window_mask(H, W, window_size, shift_size):
    def strips(size):
        label = torch.zeros(size)
        label[size - window_size : size - shift_size] = 1
        label[size - shift_size :] = 2
        return label
    regions = strips(H)[:, None] * 3 + strips(W)[None, :]
    win = window_partition(regions[None, :, :, None], window_size).reshape(-1, window_size * window_size)
    return win[:, :, None] == win[:, None, :]
''',
        "signs swapped": '''
def shifted_window_mask(H, W, window_size, shift_size):
    def strips(size):
        label = torch.zeros(size)
        label[size - window_size : size - shift_size] = 1
        label[size - shift_size :] = 2
        return label
    regions = strips(H)[:, None] * 3 + strips(W)[None, :]
    win = window_partition(regions[None, :, :, None], window_size).reshape(-1, window_size * window_size)
    return torch.zeros(win.shape[0], win.shape[1], win.shape[1]).masked_fill(win[:, :, None] == win[:, None, :], -100.0)
''',
        "region labels ignore the columns": '''
def shifted_window_mask(H, W, window_size, shift_size):
    label = torch.zeros(H)
    label[H - window_size : H - shift_size] = 1
    label[H - shift_size :] = 2
    regions = label[:, None].expand(H, W)
    win = window_partition(regions[None, :, :, None], window_size).reshape(-1, window_size * window_size)
    return torch.zeros(win.shape[0], win.shape[1], win.shape[1]).masked_fill(win[:, :, None] != win[:, None, :], -100.0)
''',
        "label windows taken column-major": '''
def shifted_window_mask(H, W, window_size, shift_size):
    def strips(size):
        label = torch.zeros(size)
        label[size - window_size : size - shift_size] = 1
        label[size - shift_size :] = 2
        return label
    regions = strips(H)[:, None] * 3 + strips(W)[None, :]
    ws = window_size
    win = regions.reshape(H // ws, ws, W // ws, ws).permute(2, 0, 1, 3).reshape(-1, ws * ws)
    return torch.zeros(win.shape[0], win.shape[1], win.shape[1]).masked_fill(win[:, :, None] != win[:, None, :], -100.0)
''',
        "no strips along an axis with a single window (the block's rule inside the mask)": '''
def shifted_window_mask(H, W, window_size, shift_size):
    def strips(size):
        label = torch.zeros(size)
        if size > window_size:
            label[size - window_size : size - shift_size] = 1
            label[size - shift_size :] = 2
        return label
    regions = strips(H)[:, None] * 3 + strips(W)[None, :]
    win = window_partition(regions[None, :, :, None], window_size).reshape(-1, window_size * window_size)
    return torch.zeros(win.shape[0], win.shape[1], win.shape[1]).masked_fill(win[:, :, None] != win[:, None, :], -100.0)
''',
    },
    "WindowAttention": {
        "bias table indexed with the transposed index": '''
class WindowAttention(nn.Module):
    def __init__(self, dim, window_size, num_heads, qkv_bias=True):
        super().__init__()
        self.num_heads, self.scale = num_heads, (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window_size - 1) ** 2, num_heads))
        self.register_buffer("relative_position_index", relative_position_index(window_size), persistent=False)

    def forward(self, x, mask=None):
        B_, N, C = x.shape
        q, k, v = self.qkv(x).reshape(B_, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.T.reshape(-1)]
        attn = attn + bias.reshape(N, N, -1).permute(2, 0, 1)
        if mask is not None:
            nw = mask.shape[0]
            attn = (attn.view(-1, nw, self.num_heads, N, N) + mask[None, :, None]).view(B_, self.num_heads, N, N)
        return self.proj((attn.softmax(-1) @ v).transpose(1, 2).reshape(B_, N, C))
''',
        "scale 1/sqrt(dim) instead of 1/sqrt(head_dim)": '''
class WindowAttention(nn.Module):
    def __init__(self, dim, window_size, num_heads, qkv_bias=True):
        super().__init__()
        self.num_heads, self.scale = num_heads, dim ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window_size - 1) ** 2, num_heads))
        self.register_buffer("relative_position_index", relative_position_index(window_size), persistent=False)

    def forward(self, x, mask=None):
        B_, N, C = x.shape
        q, k, v = self.qkv(x).reshape(B_, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.reshape(-1)]
        attn = attn + bias.reshape(N, N, -1).permute(2, 0, 1)
        if mask is not None:
            nw = mask.shape[0]
            attn = (attn.view(-1, nw, self.num_heads, N, N) + mask[None, :, None]).view(B_, self.num_heads, N, N)
        return self.proj((attn.softmax(-1) @ v).transpose(1, 2).reshape(B_, N, C))
''',
        "mask repeated in the wrong window order": '''
class WindowAttention(nn.Module):
    def __init__(self, dim, window_size, num_heads, qkv_bias=True):
        super().__init__()
        self.num_heads, self.scale = num_heads, (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window_size - 1) ** 2, num_heads))
        self.register_buffer("relative_position_index", relative_position_index(window_size), persistent=False)

    def forward(self, x, mask=None):
        B_, N, C = x.shape
        q, k, v = self.qkv(x).reshape(B_, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.reshape(-1)]
        attn = attn + bias.reshape(N, N, -1).permute(2, 0, 1)
        if mask is not None:
            attn = attn + mask.repeat_interleave(B_ // mask.shape[0], dim=0)[:, None]
        return self.proj((attn.softmax(-1) @ v).transpose(1, 2).reshape(B_, N, C))
''',
        "persistent index buffer": '''
class WindowAttention(nn.Module):
    def __init__(self, dim, window_size, num_heads, qkv_bias=True):
        super().__init__()
        self.num_heads, self.scale = num_heads, (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window_size - 1) ** 2, num_heads))
        self.register_buffer("relative_position_index", relative_position_index(window_size))

    def forward(self, x, mask=None):
        B_, N, C = x.shape
        q, k, v = self.qkv(x).reshape(B_, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.reshape(-1)]
        attn = attn + bias.reshape(N, N, -1).permute(2, 0, 1)
        if mask is not None:
            nw = mask.shape[0]
            attn = (attn.view(-1, nw, self.num_heads, N, N) + mask[None, :, None]).view(B_, self.num_heads, N, N)
        return self.proj((attn.softmax(-1) @ v).transpose(1, 2).reshape(B_, N, C))
''',
        "mask ignored": '''
class WindowAttention(nn.Module):
    def __init__(self, dim, window_size, num_heads, qkv_bias=True):
        super().__init__()
        self.num_heads, self.scale = num_heads, (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window_size - 1) ** 2, num_heads))
        self.register_buffer("relative_position_index", relative_position_index(window_size), persistent=False)

    def forward(self, x, mask=None):
        B_, N, C = x.shape
        q, k, v = self.qkv(x).reshape(B_, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.reshape(-1)]
        attn = attn + bias.reshape(N, N, -1).permute(2, 0, 1)
        return self.proj((attn.softmax(-1) @ v).transpose(1, 2).reshape(B_, N, C))
''',
        "softmax over the queries (dim=-2)": '''
class WindowAttention(nn.Module):
    def __init__(self, dim, window_size, num_heads, qkv_bias=True):
        super().__init__()
        self.num_heads, self.scale = num_heads, (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window_size - 1) ** 2, num_heads))
        self.register_buffer("relative_position_index", relative_position_index(window_size), persistent=False)

    def forward(self, x, mask=None):
        B_, N, C = x.shape
        q, k, v = self.qkv(x).reshape(B_, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.reshape(-1)]
        attn = attn + bias.reshape(N, N, -1).permute(2, 0, 1)
        if mask is not None:
            nw = mask.shape[0]
            attn = (attn.view(-1, nw, self.num_heads, N, N) + mask[None, :, None]).view(B_, self.num_heads, N, N)
        return self.proj((attn.softmax(-2) @ v).transpose(1, 2).reshape(B_, N, C))
''',
        "heads split from the wrong axis": '''
class WindowAttention(nn.Module):
    def __init__(self, dim, window_size, num_heads, qkv_bias=True):
        super().__init__()
        self.num_heads, self.scale = num_heads, (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window_size - 1) ** 2, num_heads))
        self.register_buffer("relative_position_index", relative_position_index(window_size), persistent=False)

    def forward(self, x, mask=None):
        B_, N, C = x.shape
        q, k, v = self.qkv(x).reshape(B_, N, self.num_heads, 3, C // self.num_heads).permute(3, 0, 2, 1, 4)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.reshape(-1)]
        attn = attn + bias.reshape(N, N, -1).permute(2, 0, 1)
        if mask is not None:
            nw = mask.shape[0]
            attn = (attn.view(-1, nw, self.num_heads, N, N) + mask[None, :, None]).view(B_, self.num_heads, N, N)
        return self.proj((attn.softmax(-1) @ v).transpose(1, 2).reshape(B_, N, C))
''',
    },
    "PatchMerging": {
        "wrong concatenation order": '''
class PatchMerging(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x):
        x0, x1 = x[:, 0::2, 0::2], x[:, 0::2, 1::2]
        x2, x3 = x[:, 1::2, 0::2], x[:, 1::2, 1::2]
        return self.reduction(self.norm(torch.cat([x0, x1, x2, x3], -1)))
''',
        "reshape that interleaves the wrong way": '''
class PatchMerging(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x):
        B, H, W, C = x.shape
        x = x.reshape(B, H // 2, 2, W // 2, 2, C).permute(0, 1, 3, 2, 4, 5).reshape(B, H // 2, W // 2, 4 * C)
        return self.reduction(self.norm(x))
''',
        "reduction with a bias": '''
class PatchMerging(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim)

    def forward(self, x):
        parts = [x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]]
        return self.reduction(self.norm(torch.cat(parts, -1)))
''',
    },
    "SwinBlock": {
        "shift in the wrong direction": _block(_PER_AXIS + '''
        y = self.norm1(x)
        mask = None
        if sh or sw:
            y = torch.roll(y, shifts=(sh, sw), dims=(1, 2))
            mask = _axis_mask(H, W, ws, sh, sw)
''' + _ATTEND + '''
        if sh or sw:
            y = torch.roll(y, shifts=(-sh, -sw), dims=(1, 2))
''' + _MLP),
        "shift not undone": _block(_PER_AXIS + '''
        y = self.norm1(x)
        mask = None
        if sh or sw:
            y = torch.roll(y, shifts=(-sh, -sw), dims=(1, 2))
            mask = _axis_mask(H, W, ws, sh, sw)
''' + _ATTEND + _MLP),
        "mask missing": _block(_PER_AXIS + '''
        y = self.norm1(x)
        mask = None
        if sh or sw:
            y = torch.roll(y, shifts=(-sh, -sw), dims=(1, 2))
''' + _ATTEND + '''
        if sh or sw:
            y = torch.roll(y, shifts=(sh, sw), dims=(1, 2))
''' + _MLP),
        "mask applied to the unshifted map (no roll)": _block(_PER_AXIS + '''
        y = self.norm1(x)
        mask = _axis_mask(H, W, ws, sh, sw) if (sh or sw) else None
''' + _ATTEND + _MLP),
        "mask applied in the unshifted block too": _block('''
        s = self.shift_size if self.shift_size > 0 else max(1, ws // 2)
        sh = s if H > ws else 0
        sw = s if W > ws else 0
        y = self.norm1(x)
        mask = _axis_mask(H, W, ws, sh, sw) if (sh or sw) else None
        if self.shift_size > 0 and (sh or sw):
            y = torch.roll(y, shifts=(-sh, -sw), dims=(1, 2))
''' + _ATTEND + '''
        if self.shift_size > 0 and (sh or sw):
            y = torch.roll(y, shifts=(sh, sw), dims=(1, 2))
''' + _MLP),
        "shifts along an axis that holds one window": _block('''
        s = self.shift_size
        y = self.norm1(x)
        mask = None
        if s:
            y = torch.roll(y, shifts=(-s, -s), dims=(1, 2))
            mask = shifted_window_mask(H, W, ws, s)
''' + _ATTEND + '''
        if s:
            y = torch.roll(y, shifts=(s, s), dims=(1, 2))
''' + _MLP),
        "rolls per axis but masks both axes (one shift for both)": _block(_PER_AXIS + '''
        y = self.norm1(x)
        mask = None
        if sh or sw:
            y = torch.roll(y, shifts=(-sh, -sw), dims=(1, 2))
            mask = shifted_window_mask(H, W, ws, self.shift_size)
''' + _ATTEND + '''
        if sh or sw:
            y = torch.roll(y, shifts=(sh, sw), dims=(1, 2))
''' + _MLP),
        "post-norm instead of pre-norm": _block(_PER_AXIS + '''
        y = x
        mask = None
        if sh or sw:
            y = torch.roll(y, shifts=(-sh, -sw), dims=(1, 2))
            mask = _axis_mask(H, W, ws, sh, sw)
''' + _ATTEND + '''
        if sh or sw:
            y = torch.roll(y, shifts=(sh, sw), dims=(1, 2))
        x = self.norm1(x + y)
        return self.norm2(x + self.mlp(x))
'''),
    },
    "PaddedSwinBlock": {
        "pads before norm1 (padded tokens become LayerNorm's bias)": _padded('''
        y = self.norm1(F.pad(x, (0, 0, 0, pr, 0, pb)))
''' + _PAD_ATTEND + _PAD_END),
        "pads at the top left": _padded('''
        y = F.pad(self.norm1(x), (0, 0, pr, 0, pb, 0))
''' + _PAD_ATTEND + '''
        x = x + y[:, pb:, pr:]
        return x + self.mlp(self.norm2(x))
'''),
        "masks the padded tokens out": _padded('''
        y = F.pad(self.norm1(x), (0, 0, 0, pr, 0, pb))
        sh = s if Hp > ws else 0
        sw = s if Wp > ws else 0
        real = F.pad(torch.ones(1, H, W, 1), (0, 0, 0, pr, 0, pb))
        if sh or sw:
            y = torch.roll(y, shifts=(-sh, -sw), dims=(1, 2))
            real = torch.roll(real, shifts=(-sh, -sw), dims=(1, 2))
        real = window_partition(real, ws).reshape(-1, ws * ws)
        mask = torch.where(real[:, None, :] > 0, 0.0, -100.0).expand(-1, ws * ws, -1)
        if sh or sw:
            mask = mask + _axis_mask(Hp, Wp, ws, sh, sw)
        windows = self.attn(window_partition(y, ws).reshape(-1, ws * ws, C), mask.to(x.dtype))
        y = window_reverse(windows.reshape(-1, ws, ws, C), ws, Hp, Wp)
        if sh or sw:
            y = torch.roll(y, shifts=(sh, sw), dims=(1, 2))
''' + _PAD_END),
        "shifts both axes even where the padded map holds one window": _padded('''
        y = F.pad(self.norm1(x), (0, 0, 0, pr, 0, pb))
        mask = None
        if s:
            y = torch.roll(y, shifts=(-s, -s), dims=(1, 2))
            mask = shifted_window_mask(Hp, Wp, ws, s).to(x.dtype)
        windows = self.attn(window_partition(y, ws).reshape(-1, ws * ws, C), mask)
        y = window_reverse(windows.reshape(-1, ws, ws, C), ws, Hp, Wp)
        if s:
            y = torch.roll(y, shifts=(s, s), dims=(1, 2))
''' + _PAD_END),
        "does not crop the padding off": _padded('''
        y = F.pad(self.norm1(x), (0, 0, 0, pr, 0, pb))
''' + _PAD_ATTEND + '''
        x = F.pad(x, (0, 0, 0, pr, 0, pb)) + y
        return x + self.mlp(self.norm2(x))
'''),
        "edge (replicate) padding instead of zeros": _padded('''
        y = F.pad(self.norm1(x).permute(0, 3, 1, 2), (0, pr, 0, pb), mode="replicate").permute(0, 2, 3, 1)
''' + _PAD_ATTEND + _PAD_END),
        "crops before rolling back": _padded('''
        y = F.pad(self.norm1(x), (0, 0, 0, pr, 0, pb))
        sh = s if Hp > ws else 0
        sw = s if Wp > ws else 0
        mask = None
        if sh or sw:
            y = torch.roll(y, shifts=(-sh, -sw), dims=(1, 2))
            mask = _axis_mask(Hp, Wp, ws, sh, sw).to(x.dtype)
        windows = self.attn(window_partition(y, ws).reshape(-1, ws * ws, C), mask)
        y = window_reverse(windows.reshape(-1, ws, ws, C), ws, Hp, Wp)[:, :H, :W]
        if sh or sw:
            y = torch.roll(y, shifts=(sh, sw), dims=(1, 2))
        x = x + y
        return x + self.mlp(self.norm2(x))
'''),
    },
}

RIGHT = {
    "msa_flops": {
        "the six products written out": '''
def msa_flops(h, w, C):
    n = h * w
    q = k = v = out = n * C * C
    scores = weighted = n * n * C
    return q + k + v + out + scores + weighted
''',
    },
    "wmsa_flops": {
        "per-window cost times a fractional window count": '''
def wmsa_flops(h, w, C, M):
    windows = h * w / M**2
    return round(windows * (4 * M**2 * C**2 + 2 * M**4 * C))
''',
    },
    "window_partition": {
        "cut out with loops and stacked": '''
def window_partition(x, window_size):
    B, H, W, C = x.shape
    ws = window_size
    return torch.stack([x[b, r:r + ws, c:c + ws] for b in range(B) for r in range(0, H, ws) for c in range(0, W, ws)])
''',
        "unfold": '''
def window_partition(x, window_size):
    B, H, W, C = x.shape
    ws = window_size
    t = x.unfold(1, ws, ws).unfold(2, ws, ws)  # (B, H/ws, W/ws, C, ws, ws)
    return t.permute(0, 1, 2, 4, 5, 3).reshape(-1, ws, ws, C)
''',
    },
    "window_reverse": {
        "written back window by window": '''
def window_reverse(windows, window_size, H, W):
    ws, C = window_size, windows.shape[-1]
    per_row, per_image = W // ws, (H // ws) * (W // ws)
    out = windows.new_zeros(windows.shape[0] // per_image, H, W, C)
    for i in range(windows.shape[0]):
        b, w = divmod(i, per_image)
        r, c = divmod(w, per_row)
        out[b, r * ws:(r + 1) * ws, c * ws:(c + 1) * ws] = windows[i]
    return out
''',
    },
    "relative_position_index": {
        "double loop from the definition": '''
def relative_position_index(window_size):
    n = window_size * window_size
    out = torch.empty(n, n, dtype=torch.long)
    for i in range(n):
        for j in range(n):
            dy = i // window_size - j // window_size
            dx = i % window_size - j % window_size
            out[i, j] = (dy + window_size - 1) * (2 * window_size - 1) + dx + window_size - 1
    return out
''',
    },
    "shifted_window_mask": {
        "the reference code's slices": '''
def shifted_window_mask(H, W, window_size, shift_size):
    img_mask = torch.zeros((1, H, W, 1))
    slices = (slice(0, -window_size), slice(-window_size, -shift_size), slice(-shift_size, None))
    cnt = 0
    for h in slices:
        for w in slices:
            img_mask[:, h, w, :] = cnt
            cnt += 1
    mask_windows = window_partition(img_mask, window_size).view(-1, window_size * window_size)
    attn_mask = mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)
    return attn_mask.masked_fill(attn_mask != 0, -100.0).masked_fill(attn_mask == 0, 0.0)
''',
        "two strips per axis (the cut at size-ws is a window border anyway)": '''
def shifted_window_mask(H, W, window_size, shift_size):
    rows = (torch.arange(H) >= H - shift_size).float()
    cols = (torch.arange(W) >= W - shift_size).float()
    regions = rows[:, None] * 2 + cols[None, :]
    win = window_partition(regions[None, :, :, None], window_size).reshape(-1, window_size * window_size)
    return torch.where(win[:, :, None] == win[:, None, :], 0.0, -100.0)
''',
    },
    "WindowAttention": {
        "F.scaled_dot_product_attention with bias and mask as a float mask": '''
class WindowAttention(nn.Module):
    def __init__(self, dim, window_size, num_heads, qkv_bias=True):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window_size - 1) ** 2, num_heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        self.register_buffer("relative_position_index", relative_position_index(window_size), persistent=False)

    def forward(self, x, mask=None):
        B_, N, C = x.shape
        q, k, v = self.qkv(x).view(B_, N, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        bias = self.relative_position_bias_table[self.relative_position_index].permute(2, 0, 1)  # (h, N, N)
        bias = bias.unsqueeze(0).expand(B_, -1, -1, -1)
        if mask is not None:
            nw = mask.shape[0]
            bias = (bias.reshape(B_ // nw, nw, self.num_heads, N, N) + mask.to(x)[None, :, None]).reshape(B_, -1, N, N)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        return self.proj(out.transpose(1, 2).reshape(B_, N, C))
''',
    },
    "PatchMerging": {
        "one reshape and permute": '''
class PatchMerging(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x):
        B, H, W, C = x.shape
        # (row offset, column offset) -> channel block: (0,0), (1,0), (0,1), (1,1): column offset outer
        x = x.reshape(B, H // 2, 2, W // 2, 2, C).permute(0, 1, 3, 4, 2, 5).reshape(B, H // 2, W // 2, 4 * C)
        return self.reduction(self.norm(x))
''',
    },
    "SwinBlock": {
        "rolls each axis separately and builds the mask inline": _block('''
        sh = self.shift_size if H > ws else 0
        sw = self.shift_size if W > ws else 0
        shortcut = x
        y = self.norm1(x)
        if sh:
            y = y.roll(-sh, 1)
        if sw:
            y = y.roll(-sw, 2)
        mask = None
        if sh or sw:
            def strips(n, s):
                return (torch.arange(n) >= n - s).float() if s else torch.zeros(n)
            lab = strips(H, sh)[:, None] * 2 + strips(W, sw)[None, :]
            win = window_partition(lab[None, :, :, None], ws).reshape(-1, ws * ws)
            mask = torch.where(win[:, :, None] == win[:, None, :], 0.0, -100.0).to(x.dtype)
        windows = window_partition(y, ws).reshape(-1, ws * ws, C)
        y = window_reverse(self.attn(windows, mask).reshape(-1, ws, ws, C), ws, H, W)
        if sh:
            y = y.roll(sh, 1)
        if sw:
            y = y.roll(sw, 2)
        x = shortcut + y
        return x + self.mlp(self.norm2(x))
'''),
        "per-axis mask from the int contract (a taller or wider map)": _block(_PER_AXIS + '''
        y = self.norm1(x)
        mask = None
        if sh or sw:
            y = torch.roll(y, shifts=(-sh, -sw), dims=(1, 2))
            mask = _axis_mask(H, W, ws, sh, sw).to(x.dtype)
''' + _ATTEND + '''
        if sh or sw:
            y = torch.roll(y, shifts=(sh, sw), dims=(1, 2))
''' + _MLP),
    },
    "PaddedSwinBlock": {
        "independent module, zeros written into a larger tensor, torchvision-style slices": '''
class PaddedSwinBlock(nn.Module):
    def __init__(self, dim, num_heads, window_size=7, shift_size=0, mlp_ratio=4.0):
        super().__init__()
        self.ws, self.s = window_size, shift_size
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, window_size, num_heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, int(dim * mlp_ratio)), nn.GELU(), nn.Linear(int(dim * mlp_ratio), dim))

    def forward(self, x):
        B, H, W, C = x.shape
        ws = self.ws
        Hp, Wp = -(-H // ws) * ws, -(-W // ws) * ws
        y = x.new_zeros(B, Hp, Wp, C)
        y[:, :H, :W] = self.norm1(x)
        sh = self.s if Hp > ws else 0
        sw = self.s if Wp > ws else 0
        mask = None
        if sh or sw:
            y = torch.roll(y, shifts=(-sh, -sw), dims=(1, 2))
            img = torch.zeros(Hp, Wp)
            rows = (slice(0, -ws), slice(-ws, -sh), slice(-sh, None)) if sh else (slice(None),)
            cols = (slice(0, -ws), slice(-ws, -sw), slice(-sw, None)) if sw else (slice(None),)
            for k, (r, c) in enumerate((r, c) for r in rows for c in cols):
                img[r, c] = k
            lab = window_partition(img[None, :, :, None], ws).reshape(-1, ws * ws)
            mask = torch.where(lab[:, :, None] == lab[:, None, :], 0.0, -100.0).to(x.dtype)
        out = self.attn(window_partition(y, ws).reshape(-1, ws * ws, C), mask)
        y = window_reverse(out.reshape(-1, ws, ws, C), ws, Hp, Wp)
        if sh or sw:
            y = torch.roll(y, shifts=(sh, sw), dims=(1, 2))
        x = x + y[:, :H, :W]
        return x + self.mlp(self.norm2(x))
''',
        "subclass, F.pad, one roll per axis": _padded('''
        y = F.pad(self.norm1(x), (0, 0, 0, pr, 0, pb))
        sh = s if Hp > ws else 0
        sw = s if Wp > ws else 0
        if sh:
            y = y.roll(-sh, 1)
        if sw:
            y = y.roll(-sw, 2)
        mask = _axis_mask(Hp, Wp, ws, sh, sw).to(x.dtype) if (sh or sw) else None
        windows = self.attn(window_partition(y, ws).reshape(-1, ws * ws, C), mask)
        y = window_reverse(windows.reshape(-1, ws, ws, C), ws, Hp, Wp)
        if sh:
            y = y.roll(sh, 1)
        if sw:
            y = y.roll(sw, 2)
''' + _PAD_END),
    },
}
