"""Wrong and right variants of the day5_vit exercises, fed to the hidden checks by the tests.

Each source replaces that exercise's whole solution cell, in a namespace holding the solution
notebook's other cells. Every WRONG variant must fail its exercise's checks and every RIGHT one
must pass; the first WRONG variant of each exercise is also autograded with nbgrader.
"""

# ---------------------------------------------------------------------------- shared pieces
_PE_INIT = '''
    def __init__(self, img_size, patch_size, in_chans, embed_dim):
        super().__init__()
        self.patch_size = patch_size
        self.num_patches = (img_size // patch_size) ** 2
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)
'''

_BLOCK_INIT = '''
class EncoderBlock(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4.0, eps=1e-6, act=nn.GELU):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = MultiHeadSelfAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), act(), nn.Linear(hidden, dim))
'''

_VIT_INIT = '''
class VisionTransformer(nn.Module):
    def __init__(self, img_size=224, patch_size=16, in_chans=3, num_classes=1000, embed_dim=768, depth=12,
                 num_heads=12, mlp_ratio=4.0):
        super().__init__()
        self.patch_embed = PatchEmbedding(img_size, patch_size, in_chans, embed_dim)
        n = self.patch_embed.num_patches
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.randn(1, n + 1, embed_dim) * 0.02)
        self.blocks = nn.ModuleList([EncoderBlock(embed_dim, num_heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.head = nn.Linear(embed_dim, num_classes)
'''

_MEAN_INIT = '''
class MeanPoolViT(nn.Module):
    def __init__(self, img_size=224, patch_size=16, in_chans=3, num_classes=1000, embed_dim=768, depth=12,
                 num_heads=12, mlp_ratio=4.0, eps=1e-6):
        super().__init__()
        self.patch_embed = PatchEmbedding(img_size, patch_size, in_chans, embed_dim)
        self.pos_embed = nn.Parameter(torch.randn(1, self.patch_embed.num_patches, embed_dim) * 0.02)
        self.blocks = nn.ModuleList([EncoderBlock(embed_dim, num_heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=eps)
        self.head = nn.Linear(embed_dim, num_classes)
'''

_MEAN_BODY = '''
    def forward(self, x):
        x = self.patch_embed(x) + self.pos_embed
        for block in self.blocks:
            x = block(x)
'''

_VIT_TAIL = '''
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x)[:, 0])
'''

WRONG = {
    "patchify": {
        "patches flattened in (p, p, C) order": '''
def patchify(images, patch_size):
    B, C, H, W = images.shape
    p = patch_size
    if H % p or W % p:
        raise ValueError("not divisible")
    x = images.reshape(B, C, H // p, p, W // p, p).permute(0, 2, 4, 3, 5, 1)
    return x.reshape(B, (H // p) * (W // p), C * p * p)
''',
        "plain reshape without permute": '''
def patchify(images, patch_size):
    B, C, H, W = images.shape
    if H % patch_size or W % patch_size:
        raise ValueError("not divisible")
    return images.reshape(B, (H // patch_size) * (W // patch_size), C * patch_size * patch_size)
''',
        "patches in column-major order": '''
def patchify(images, patch_size):
    B, C, H, W = images.shape
    p = patch_size
    if H % p or W % p:
        raise ValueError("not divisible")
    x = images.reshape(B, C, H // p, p, W // p, p).permute(0, 4, 2, 1, 3, 5)
    return x.reshape(B, (H // p) * (W // p), C * p * p)
''',
        "no ValueError for sizes not divisible by p (unfold silently drops the border)": '''
def patchify(images, patch_size):
    return F.unfold(images, kernel_size=patch_size, stride=patch_size).transpose(1, 2)
''',
        "ValueError only when the height is not divisible": '''
def patchify(images, patch_size):
    B, C, H, W = images.shape
    p = patch_size
    if H % p:
        raise ValueError("not divisible")
    x = images[..., : W - W % p].reshape(B, C, H // p, p, W // p, p).permute(0, 2, 4, 1, 3, 5)
    return x.reshape(B, (H // p) * (W // p), C * p * p)
''',
        "square images assumed (uses H for both sides)": '''
def patchify(images, patch_size):
    B, C, H, W = images.shape
    p = patch_size
    if H % p or W % p:
        raise ValueError("not divisible")
    g = H // p
    x = images[..., :H].reshape(B, C, g, p, g, p).permute(0, 2, 4, 1, 3, 5)
    return x.reshape(B, g * g, C * p * p)
''',
    },
    "PatchEmbedding": {
        "tokens reshaped without transposing": "class PatchEmbedding(nn.Module):" + _PE_INIT + '''
    def forward(self, x):
        if x.shape[-1] % self.patch_size or x.shape[-2] % self.patch_size:
            raise ValueError("not divisible")
        y = self.proj(x)
        return y.reshape(y.shape[0], -1, y.shape[1])
''',
        "a Linear layer named proj instead of the convolution": '''
class PatchEmbedding(nn.Module):
    def __init__(self, img_size, patch_size, in_chans, embed_dim):
        super().__init__()
        self.patch_size = patch_size
        self.num_patches = (img_size // patch_size) ** 2
        self.proj = nn.Linear(in_chans * patch_size * patch_size, embed_dim)

    def forward(self, x):
        return self.proj(patchify(x, self.patch_size))
''',
        "no ValueError for sizes not divisible by p": "class PatchEmbedding(nn.Module):" + _PE_INIT + '''
    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)
''',
        "ValueError only when the height is not divisible": "class PatchEmbedding(nn.Module):" + _PE_INIT + '''
    def forward(self, x):
        if x.shape[-2] % self.patch_size:
            raise ValueError("not divisible")
        return self.proj(x).flatten(2).transpose(1, 2)
''',
        "tokens in column-major order": "class PatchEmbedding(nn.Module):" + _PE_INIT + '''
    def forward(self, x):
        if x.shape[-1] % self.patch_size or x.shape[-2] % self.patch_size:
            raise ValueError("not divisible")
        return self.proj(x).transpose(2, 3).flatten(2).transpose(1, 2)
''',
    },
    "EncoderBlock": {
        "post-norm instead of pre-norm": _BLOCK_INIT + '''
    def forward(self, x):
        x = self.norm1(x + self.attn(x))
        return self.norm2(x + self.mlp(x))
''',
        "missing residual around the attention": _BLOCK_INIT + '''
    def forward(self, x):
        x = self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))
''',
        "missing residual around the MLP": _BLOCK_INIT + '''
    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return self.mlp(self.norm2(x))
''',
        "LayerNorm with the default eps (1e-5)": _BLOCK_INIT.replace("eps=1e-6", "eps=1e-5") + '''
    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))
''',
        "ReLU instead of GELU": _BLOCK_INIT.replace("act=nn.GELU", "act=nn.ReLU") + '''
    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))
''',
        "tanh-approximated GELU": _BLOCK_INIT.replace("act=nn.GELU", "act=lambda: nn.GELU(approximate='tanh')") + '''
    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))
''',
        "norm1 reused before the MLP": _BLOCK_INIT + '''
    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm1(x))
''',
        "hidden width rounded instead of truncated (round(dim * mlp_ratio))": _BLOCK_INIT.replace(
            "int(dim * mlp_ratio)", "round(dim * mlp_ratio)") + '''
    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))
''',
        "hidden width dim * 4 regardless of mlp_ratio": _BLOCK_INIT.replace("int(dim * mlp_ratio)", "dim * 4") + '''
    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))
''',
    },
    "VisionTransformer": {
        "mean pooling instead of the class token": _VIT_INIT + '''
    def forward(self, x):
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x).mean(dim=1))
''',
        "position embedding added before the class token is prepended (wrong length)":
            _VIT_INIT.replace("(1, n + 1, embed_dim)", "(1, n, embed_dim)") + '''
    def forward(self, x):
        x = self.patch_embed(x) + self.pos_embed
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
''' + _VIT_TAIL,
        "position embedding added to the patches only (class token gets none)": _VIT_INIT + '''
    def forward(self, x):
        x = self.patch_embed(x) + self.pos_embed[:, 1:]
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
''' + _VIT_TAIL,
        "no position embedding at all": _VIT_INIT + '''
    def forward(self, x):
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
''' + _VIT_TAIL,
        "final LayerNorm with the default eps": _VIT_INIT.replace("nn.LayerNorm(embed_dim, eps=1e-6)", "nn.LayerNorm(embed_dim)")
        + '''
    def forward(self, x):
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
''' + _VIT_TAIL,
        "final norm skipped": _VIT_INIT + '''
    def forward(self, x):
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.head(x[:, 0])
''',
        "class token appended at the end, last token classified": _VIT_INIT + '''
    def forward(self, x):
        x = self.patch_embed(x)
        x = torch.cat([x, self.cls_token.expand(x.shape[0], -1, -1)], dim=1) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x)[:, -1])
''',
        "mlp_ratio not passed on to the blocks": _VIT_INIT.replace(
            "EncoderBlock(embed_dim, num_heads, mlp_ratio)", "EncoderBlock(embed_dim, num_heads)") + '''
    def forward(self, x):
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
''' + _VIT_TAIL,
        "three input channels hard-coded": _VIT_INIT.replace(
            "PatchEmbedding(img_size, patch_size, in_chans, embed_dim)",
            "PatchEmbedding(img_size, patch_size, 3, embed_dim)",
        ) + '''
    def forward(self, x):
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
''' + _VIT_TAIL,
        "blocks in a plain Python list (not registered)": _VIT_INIT.replace(
            "self.blocks = nn.ModuleList([EncoderBlock(embed_dim, num_heads, mlp_ratio) for _ in range(depth)])",
            "self.blocks = [EncoderBlock(embed_dim, num_heads, mlp_ratio) for _ in range(depth)]",
        ) + '''
    def forward(self, x):
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
''' + _VIT_TAIL,
    },
    "MeanPoolViT": {
        "mean taken before the final LayerNorm": _MEAN_INIT + _MEAN_BODY + '''
        return self.head(self.norm(x.mean(dim=1)))
''',
        "the class token kept and classified (VisionTransformer under another name)": '''
class MeanPoolViT(VisionTransformer):
    pass
''',
        "a class token kept in the sequence and included in the mean": _VIT_INIT.replace(
            "class VisionTransformer", "class MeanPoolViT") + '''
    def forward(self, x):
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x).mean(dim=1))
''',
        "final norm skipped": _MEAN_INIT + _MEAN_BODY + '''
        return self.head(x.mean(dim=1))
''',
        "max pooling instead of the mean": _MEAN_INIT + _MEAN_BODY + '''
        return self.head(self.norm(x).amax(dim=1))
''',
        "sum instead of the mean": _MEAN_INIT + _MEAN_BODY + '''
        return self.head(self.norm(x).sum(dim=1))
''',
        "mean over the feature axis instead of the tokens": _MEAN_INIT + _MEAN_BODY + '''
        return self.head(self.norm(x).mean(dim=2))
''',
        "position embeddings never added": _MEAN_INIT + '''
    def forward(self, x):
        x = self.patch_embed(x)
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x).mean(dim=1))
''',
        "LayerNorm with the default eps (1e-5)": _MEAN_INIT.replace("eps=1e-6", "eps=1e-5") + _MEAN_BODY + '''
        return self.head(self.norm(x).mean(dim=1))
''',
        "mlp_ratio not passed on to the blocks": _MEAN_INIT.replace(
            "EncoderBlock(embed_dim, num_heads, mlp_ratio)", "EncoderBlock(embed_dim, num_heads)") + _MEAN_BODY + '''
        return self.head(self.norm(x).mean(dim=1))
''',
        "only the first patch token classified": _MEAN_INIT + _MEAN_BODY + '''
        return self.head(self.norm(x)[:, 0])
''',
    },
    "attention_rollout": {
        "layers multiplied in the wrong order": '''
def attention_rollout(attentions):
    result = None
    for w in attentions:
        a = w.mean(dim=1)
        a = (a + torch.eye(a.shape[-1], dtype=a.dtype)) / 2
        a = a / a.sum(dim=-1, keepdim=True)
        result = a if result is None else result @ a
    return result
''',
        "no identity for the residual": '''
def attention_rollout(attentions):
    result = None
    for w in attentions:
        a = w.mean(dim=1)
        a = a / a.sum(dim=-1, keepdim=True)
        result = a if result is None else a @ result
    return result
''',
        "max over heads instead of the mean": '''
def attention_rollout(attentions):
    result = None
    for w in attentions:
        a = w.amax(dim=1)
        a = (a + torch.eye(a.shape[-1], dtype=a.dtype)) / 2
        a = a / a.sum(dim=-1, keepdim=True)
        result = a if result is None else a @ result
    return result
''',
        "rows not renormalised": '''
def attention_rollout(attentions):
    result = None
    for w in attentions:
        a = (w.mean(dim=1) + torch.eye(w.shape[-1], dtype=w.dtype)) / 2
        result = a if result is None else a @ result
    return result
''',
        "renormalised before adding the identity": '''
def attention_rollout(attentions):
    result = None
    for w in attentions:
        a = w.mean(dim=1)
        a = a / a.sum(dim=-1, keepdim=True)
        a = (a + torch.eye(a.shape[-1], dtype=a.dtype)) / 2
        result = a if result is None else a @ result
    return result
''',
        "result cast to float32": '''
def attention_rollout(attentions):
    result = None
    for w in attentions:
        a = (w.float().mean(dim=1) + torch.eye(w.shape[-1])) / 2
        a = a / a.sum(dim=-1, keepdim=True)
        result = a if result is None else a @ result
    return result
''',
    },
    "interpolate_pos_embed": {
        "align_corners=False": '''
def interpolate_pos_embed(pos_embed, new_grid, num_prefix_tokens=1):
    prefix, grid = pos_embed[:, :num_prefix_tokens], pos_embed[:, num_prefix_tokens:]
    g, d = math.isqrt(grid.shape[1]), grid.shape[2]
    grid = grid.reshape(1, g, g, d).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=(new_grid, new_grid), mode="bicubic", align_corners=False)
    return torch.cat([prefix, grid.permute(0, 2, 3, 1).reshape(1, -1, d)], dim=1)
''',
        "reshaped to (1, D, g, g) without permuting": '''
def interpolate_pos_embed(pos_embed, new_grid, num_prefix_tokens=1):
    prefix, grid = pos_embed[:, :num_prefix_tokens], pos_embed[:, num_prefix_tokens:]
    g, d = math.isqrt(grid.shape[1]), grid.shape[2]
    grid = F.interpolate(grid.reshape(1, d, g, g), size=(new_grid, new_grid), mode="bicubic", align_corners=True)
    return torch.cat([prefix, grid.reshape(1, -1, d)], dim=1)
''',
        "bilinear interpolation": '''
def interpolate_pos_embed(pos_embed, new_grid, num_prefix_tokens=1):
    prefix, grid = pos_embed[:, :num_prefix_tokens], pos_embed[:, num_prefix_tokens:]
    g, d = math.isqrt(grid.shape[1]), grid.shape[2]
    grid = grid.reshape(1, g, g, d).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=(new_grid, new_grid), mode="bilinear", align_corners=True)
    return torch.cat([prefix, grid.permute(0, 2, 3, 1).reshape(1, -1, d)], dim=1)
''',
        "always exactly one prefix token": '''
def interpolate_pos_embed(pos_embed, new_grid, num_prefix_tokens=1):
    prefix, grid = pos_embed[:, :1], pos_embed[:, 1:]
    g, d = math.isqrt(grid.shape[1]), grid.shape[2]
    grid = grid.reshape(1, g, g, d).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=(new_grid, new_grid), mode="bicubic", align_corners=True)
    return torch.cat([prefix, grid.permute(0, 2, 3, 1).reshape(1, -1, d)], dim=1)
''',
        "prefix tokens dropped": '''
def interpolate_pos_embed(pos_embed, new_grid, num_prefix_tokens=1):
    grid = pos_embed[:, num_prefix_tokens:]
    g, d = math.isqrt(grid.shape[1]), grid.shape[2]
    grid = grid.reshape(1, g, g, d).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=(new_grid, new_grid), mode="bicubic", align_corners=True)
    return grid.permute(0, 2, 3, 1).reshape(1, -1, d)
''',
    },
    "quiz_1": {"the patch count without the class token": 'quiz_1 = "A"\n', "linear in the side": 'quiz_1 = "C"\n'},
    "quiz_2": {"linear in the number of pixels": 'quiz_2 = "C"\n', "same parameters, same cost": 'quiz_2 = "D"\n'},
    "quiz_3": {"attention cannot see edges": 'quiz_3 = "A"\n'},
    "quiz_4": {"rollout is class-specific": 'quiz_4 = "A"\n', "rollout needs gradients": 'quiz_4 = "D"\n'},
}

RIGHT = {
    "patchify": {
        "F.unfold with an explicit divisibility check": '''
def patchify(images, patch_size):
    if images.shape[-2] % patch_size or images.shape[-1] % patch_size:
        raise ValueError("image size not divisible by the patch size")
    return F.unfold(images, kernel_size=patch_size, stride=patch_size).transpose(1, 2)
''',
        "Tensor.unfold twice": '''
def patchify(images, patch_size):
    B, C, H, W = images.shape
    p = patch_size
    if H % p or W % p:
        raise ValueError("image size not divisible by the patch size")
    x = images.unfold(2, p, p).unfold(3, p, p)          # (B, C, H/p, W/p, p, p)
    return x.permute(0, 2, 3, 1, 4, 5).reshape(B, -1, C * p * p)
''',
    },
    "PatchEmbedding": {
        "einsum over patchify": "class PatchEmbedding(nn.Module):" + _PE_INIT + '''
    def forward(self, x):
        patches = patchify(x, self.patch_size)
        w = self.proj.weight.reshape(self.proj.out_channels, -1)
        return torch.einsum("bnk,dk->bnd", patches, w) + self.proj.bias
''',
    },
    "EncoderBlock": {
        "named residual branches": _BLOCK_INIT + '''
    def forward(self, x):
        attn_out = self.attn(self.norm1(x))
        y = x + attn_out
        mlp_out = self.mlp(self.norm2(y))
        return y + mlp_out
''',
    },
    "VisionTransformer": {
        "pos_embed split into class and patch parts when adding": _VIT_INIT + '''
    def forward(self, x):
        x = self.patch_embed(x) + self.pos_embed[:, 1:]
        cls = self.cls_token + self.pos_embed[:, :1]
        x = torch.cat([cls.expand(x.shape[0], -1, -1), x], dim=1)
''' + _VIT_TAIL,
        "norm applied to the class token only": _VIT_INIT + '''
    def forward(self, x):
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x[:, 0]))
''',
    },
    "MeanPoolViT": {
        "a VisionTransformer subclass that deletes the class token": '''
class MeanPoolViT(VisionTransformer):
    def __init__(self, img_size=224, patch_size=16, in_chans=3, num_classes=1000, embed_dim=768, depth=12,
                 num_heads=12, mlp_ratio=4.0):
        super().__init__(img_size, patch_size, in_chans, num_classes, embed_dim, depth, num_heads, mlp_ratio)
        del self.cls_token
        self.pos_embed = nn.Parameter(torch.zeros(1, self.patch_embed.num_patches, embed_dim))

    def forward(self, x):
        x = self.patch_embed(x) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x).sum(dim=1) / x.shape[1])
''',
        "functools.reduce over the blocks, einsum mean": _MEAN_INIT + '''
    def forward(self, x):
        import functools

        x = functools.reduce(lambda t, block: block(t), self.blocks, self.patch_embed(x) + self.pos_embed)
        weights = torch.full((x.shape[1],), 1.0 / x.shape[1], dtype=x.dtype)
        return self.head(torch.einsum("bnd,n->bd", self.norm(x), weights))
''',
    },
    "attention_rollout": {
        "functools.reduce, without the halving (renormalisation makes it equal)": '''
import functools


def attention_rollout(attentions):
    def step(w):
        a = w.mean(1) + torch.eye(w.shape[-1], dtype=w.dtype, device=w.device)
        return a / a.sum(-1, keepdim=True)

    return functools.reduce(lambda r, w: step(w) @ r, attentions[1:], step(attentions[0]))
''',
    },
    "interpolate_pos_embed": {
        "transpose/view style": '''
def interpolate_pos_embed(pos_embed, new_grid, num_prefix_tokens=1):
    n_grid = pos_embed.shape[1] - num_prefix_tokens
    g = int(round(n_grid ** 0.5))
    d = pos_embed.shape[-1]
    grid = pos_embed[:, num_prefix_tokens:].transpose(1, 2).reshape(1, d, g, g)
    grid = F.interpolate(grid, size=new_grid, mode="bicubic", align_corners=True)
    grid = grid.flatten(2).transpose(1, 2)
    return torch.cat([pos_embed[:, :num_prefix_tokens], grid], dim=1)
''',
    },
}
