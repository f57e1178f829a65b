"""Wrong and right versions of the day 3 solution cells; the hidden checks must fail / pass them."""

_CA_HEAD = """
class ChannelAttention(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels))

    def forward(self, x):
"""

_SA_HEAD = """
class SpatialAttention(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x):
"""

_CBAM_HEAD = """
class CBAM(nn.Module):
    def __init__(self, channels, reduction=16, kernel_size=7, mode="channel_first"):
        super().__init__()
        self.mode = mode
        self.channel_attention = ChannelAttention(channels, reduction)
        self.spatial_attention = SpatialAttention(kernel_size)

    def forward(self, x):
        mc, ms = self.channel_attention, self.spatial_attention
"""

_NET_INIT = """
class FixedNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.cbam = CBAM(16, reduction=4)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(32 * 8 * 8, num_classes)

    def forward(self, x):
"""

_DIGIT_INIT = """
class FixedDigitNet(nn.Module):
    def __init__(self, num_classes=10, width=16, reduction=4):
        super().__init__()
        hidden = max(1, width // reduction)
        self.conv = nn.Conv2d(1, width, 3, padding=1)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, width))
        self.spatial = nn.Conv2d(2, 1, 3, padding=1, bias=False)
        self.fc = nn.Linear(width * 4 * 4, num_classes)

    def forward(self, x):
"""

WRONG = {
    "ChannelAttention": {
        "separate MLPs for the two paths": """
class ChannelAttention(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels))
        self.mlp_max = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels))

    def forward(self, x):
        return torch.sigmoid(self.mlp(x.mean((2, 3))) + self.mlp_max(x.amax((2, 3))))[:, :, None, None]
""",
        "average pooling only": _CA_HEAD
        + """
        return torch.sigmoid(self.mlp(x.mean((2, 3))))[:, :, None, None]
""",
        "max pooling only": _CA_HEAD
        + """
        return torch.sigmoid(self.mlp(x.amax((2, 3))))[:, :, None, None]
""",
        "softmax instead of sigmoid": _CA_HEAD
        + """
        return torch.softmax(self.mlp(x.mean((2, 3))) + self.mlp(x.amax((2, 3))), dim=1)[:, :, None, None]
""",
        "sigmoid on each path": _CA_HEAD
        + """
        return (torch.sigmoid(self.mlp(x.mean((2, 3)))) + torch.sigmoid(self.mlp(x.amax((2, 3)))))[:, :, None, None]
""",
        "MLP on the sum of the pooled vectors": _CA_HEAD
        + """
        return torch.sigmoid(self.mlp(x.mean((2, 3)) + x.amax((2, 3))))[:, :, None, None]
""",
        "gate applied instead of returned": _CA_HEAD
        + """
        return x * torch.sigmoid(self.mlp(x.mean((2, 3))) + self.mlp(x.amax((2, 3))))[:, :, None, None]
""",
        "ReLU after the last layer": """
class ChannelAttention(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels), nn.ReLU())

    def forward(self, x):
        return torch.sigmoid(self.mlp(x.mean((2, 3))) + self.mlp(x.amax((2, 3))))[:, :, None, None]
""",
        "gate returned as (B, C)": _CA_HEAD
        + """
        return torch.sigmoid(self.mlp(x.mean((2, 3))) + self.mlp(x.amax((2, 3))))
""",
        "hidden without max(1, ...)": """
class ChannelAttention(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = max(2, channels // reduction)
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels))

    def forward(self, x):
        return torch.sigmoid(self.mlp(x.mean((2, 3))) + self.mlp(x.amax((2, 3))))[:, :, None, None]
""",
    },
    "SpatialAttention": {
        "[max, mean] order swapped": _SA_HEAD
        + """
        return torch.sigmoid(self.conv(torch.cat([x.amax(1, keepdim=True), x.mean(1, keepdim=True)], 1)))
""",
        "sum instead of mean": _SA_HEAD
        + """
        return torch.sigmoid(self.conv(torch.cat([x.sum(1, keepdim=True), x.amax(1, keepdim=True)], 1)))
""",
        "softmax over positions": _SA_HEAD
        + """
        z = self.conv(torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1))
        return torch.softmax(z.flatten(1), dim=1).view_as(z)
""",
        "gate applied instead of returned": _SA_HEAD
        + """
        return x * torch.sigmoid(self.conv(torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)))
""",
        "pooling over space instead of channels": _SA_HEAD
        + """
        pooled = torch.stack([x.mean((2, 3)), x.amax((2, 3))], 1)[..., None]  # (B, 2, C, 1)
        return torch.sigmoid(self.conv(pooled)).mean(2, keepdim=True).expand(-1, 1, x.shape[2], x.shape[3])
""",
        "conv with a bias": """
class SpatialAttention(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x):
        return torch.sigmoid(self.conv(torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)))
""",
        "fixed kernel size 7": """
class SpatialAttention(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, 7, padding=3, bias=False)

    def forward(self, x):
        return torch.sigmoid(self.conv(torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)))
""",
        "no padding, gate resized back": """
class SpatialAttention(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, bias=False)

    def forward(self, x):
        pooled = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)
        k = self.conv.kernel_size[0]
        return torch.sigmoid(self.conv(F.pad(pooled, (k // 2,) * 4, mode="replicate")))
""",
        "no sigmoid": _SA_HEAD
        + """
        return self.conv(torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1))
""",
    },
    "CBAM": {
        "modes mixed up (spatial_first computes channel_first)": _CBAM_HEAD
        + """
        if self.mode in ("channel_first", "spatial_first"):
            x = x * mc(x)
            return x * ms(x)
        return x * mc(x) * ms(x)
""",
        "parallel computed in sequence": _CBAM_HEAD
        + """
        if self.mode == "spatial_first":
            x = x * ms(x)
            return x * mc(x)
        x = x * mc(x)
        return x * ms(x)
""",
        "sequential gates both computed from the input": _CBAM_HEAD
        + """
        return x * mc(x) * ms(x)
""",
        "parallel as a sum": _CBAM_HEAD
        + """
        if self.mode == "channel_first":
            x = x * mc(x)
            return x * ms(x)
        if self.mode == "spatial_first":
            x = x * ms(x)
            return x * mc(x)
        return x * mc(x) + x * ms(x)
""",
        "spatial gate never applied": _CBAM_HEAD
        + """
        return x * mc(x)
""",
        "gates returned instead of applied": _CBAM_HEAD
        + """
        return mc(x) * ms(x)
""",
        "default mode spatial_first": """
class CBAM(nn.Module):
    def __init__(self, channels, reduction=16, kernel_size=7, mode="spatial_first"):
        super().__init__()
        self.mode = mode
        self.channel_attention = ChannelAttention(channels, reduction)
        self.spatial_attention = SpatialAttention(kernel_size)

    def forward(self, x):
        mc, ms = self.channel_attention, self.spatial_attention
        if self.mode == "channel_first":
            x = x * mc(x)
            return x * ms(x)
        if self.mode == "spatial_first":
            x = x * ms(x)
            return x * mc(x)
        return x * mc(x) * ms(x)
""",
        "reduction ignored": """
class CBAM(nn.Module):
    def __init__(self, channels, reduction=16, kernel_size=7, mode="channel_first"):
        super().__init__()
        self.mode = mode
        self.channel_attention = ChannelAttention(channels)
        self.spatial_attention = SpatialAttention(kernel_size)

    def forward(self, x):
        mc, ms = self.channel_attention, self.spatial_attention
        if self.mode == "channel_first":
            x = x * mc(x)
            return x * ms(x)
        if self.mode == "spatial_first":
            x = x * ms(x)
            return x * mc(x)
        return x * mc(x) * ms(x)
""",
        "unknown modes silently computed as parallel": _CBAM_HEAD
        + """
        if self.mode == "channel_first":
            x = x * mc(x)
            return x * ms(x)
        if self.mode == "spatial_first":
            x = x * ms(x)
            return x * mc(x)
        return x * mc(x) * ms(x)
""",
        "in-place rescale": _CBAM_HEAD
        + """
        if self.mode == "parallel":
            return x * mc(x) * ms(x)
        first, second = (mc, ms) if self.mode == "channel_first" else (ms, mc)
        x *= first(x)
        x *= second(x)
        return x
""",
    },
    "FixedNet": {
        "CBAM computed but its output discarded": _NET_INIT
        + """
        x = F.relu(self.conv1(x))
        _ = self.cbam(x)
        x = self.pool(x)
        x = self.pool(F.relu(self.conv2(x)))
        return self.fc(x.flatten(1))
""",
        "wrong flatten size": """
class FixedNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.cbam = CBAM(16, reduction=4)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(32 * 16 * 16, num_classes)

    def forward(self, x):
        x = self.pool(self.cbam(F.relu(self.conv1(x))))
        x = self.pool(F.relu(self.conv2(x)))
        return self.fc(x.flatten(1))
""",
        "CBAM after the second conv": """
class FixedNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.cbam = CBAM(32, reduction=4)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(32 * 8 * 8, num_classes)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(self.cbam(F.relu(self.conv2(x))))
        return self.fc(x.flatten(1))
""",
        "broken channel gate kept": """
class FixedNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.gate = nn.Sequential(nn.Linear(16, 4), nn.ReLU(), nn.Linear(4, 16), nn.Sigmoid())
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(32 * 8 * 8, num_classes)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = x * self.gate(x.mean((2, 3)))
        x = self.pool(x)
        x = self.pool(F.relu(self.conv2(x)))
        return self.fc(x.flatten(1))
""",
        "num_classes ignored": """
class FixedNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.cbam = CBAM(16, reduction=4)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(32 * 8 * 8, 10)

    def forward(self, x):
        x = self.pool(self.cbam(F.relu(self.conv1(x))))
        x = self.pool(F.relu(self.conv2(x)))
        return self.fc(x.flatten(1))
""",
        "unused extra layer": """
class FixedNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.cbam = CBAM(16, reduction=4)
        self.spatial_gate = nn.Conv2d(2, 1, 7, padding=3, bias=False)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(32 * 8 * 8, num_classes)

    def forward(self, x):
        x = self.pool(self.cbam(F.relu(self.conv1(x))))
        x = self.pool(F.relu(self.conv2(x)))
        return self.fc(x.flatten(1))
""",
        "a 1x1 stem conv before the CBAM": """
class FixedNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 1)
        self.conv1 = nn.Conv2d(8, 16, 3, padding=1)
        self.cbam = CBAM(16, reduction=4)
        self.pool = nn.MaxPool2d(4)
        self.fc = nn.Linear(16 * 8 * 8, num_classes)

    def forward(self, x):
        x = self.pool(self.cbam(F.relu(self.conv1(self.stem(x)))))
        return self.fc(x.flatten(1))
""",
        "softmax on the logits": _NET_INIT
        + """
        x = self.pool(self.cbam(F.relu(self.conv1(x))))
        x = self.pool(F.relu(self.conv2(x)))
        return F.softmax(self.fc(x.flatten(1)), dim=1)
""",
        "sigmoid on the logits": _NET_INIT
        + """
        x = self.pool(self.cbam(F.relu(self.conv1(x))))
        x = self.pool(F.relu(self.conv2(x)))
        return torch.sigmoid(self.fc(x.flatten(1)))
""",
        "a home-made module named CBAM that is not a CBAM": """
class CBAM(nn.Module):
    def __init__(self, channels, reduction=16, kernel_size=7, mode="channel_first"):
        super().__init__()
        self.mode = mode
        self.channel_attention = ChannelAttention(channels, reduction)
        self.spatial_attention = SpatialAttention(kernel_size)

    def forward(self, x):
        return x * self.channel_attention(x) + x * self.spatial_attention(x)


class FixedNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.cbam = CBAM(16, reduction=4)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(32 * 8 * 8, num_classes)

    def forward(self, x):
        x = self.pool(self.cbam(F.relu(self.conv1(x))))
        x = self.pool(F.relu(self.conv2(x)))
        return self.fc(x.flatten(1))
""",
        "CBAM output only nudges the features (x + 0.01 * cbam(x) ** 2)": _NET_INIT
        + """
        h = F.relu(self.conv1(x))
        x = self.pool(h + 0.01 * self.cbam(h) ** 2)
        x = self.pool(F.relu(self.conv2(x)))
        return self.fc(x.flatten(1))
""",
        "CBAM on the image, before the first convolution": """
class FixedNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.cbam = CBAM(3, reduction=1, kernel_size=7)
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(32 * 8 * 8, num_classes)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(self.cbam(x))))
        x = self.pool(F.relu(self.conv2(x)))
        return self.fc(x.flatten(1))
""",
        "num_classes fixed for the default only (hard-coded batch-independent head of 10)": """
class FixedNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.cbam = CBAM(16, reduction=4)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(32 * 8 * 8, 10)
        self.num_classes = num_classes

    def forward(self, x):
        x = self.pool(self.cbam(F.relu(self.conv1(x))))
        x = self.pool(F.relu(self.conv2(x)))
        return self.fc(x.flatten(1))[:, : min(10, self.num_classes)]
""",
    },
    "FixedDigitNet": {
        "softmax kept at the end (probabilities)": _DIGIT_INIT
        + """
        h = F.relu(self.conv(x))
        h = h * torch.sigmoid(self.mlp(h.mean(dim=(2, 3))) + self.mlp(h.amax(dim=(2, 3))))[:, :, None, None]
        pooled = torch.cat([h.mean(dim=1, keepdim=True), h.amax(dim=1, keepdim=True)], dim=1)
        h = h * torch.sigmoid(self.spatial(pooled))
        return F.softmax(self.fc(F.max_pool2d(h, 2).flatten(1)), dim=1)
""",
        "channel statistics still pooled over the batch": _DIGIT_INIT
        + """
        h = F.relu(self.conv(x))
        avg, mx = h.mean(dim=(0, 2, 3)), h.amax(dim=(0, 2, 3))
        h = h * torch.sigmoid(self.mlp(avg) + self.mlp(mx)).view(1, -1, 1, 1)
        pooled = torch.cat([h.mean(dim=1, keepdim=True), h.amax(dim=1, keepdim=True)], dim=1)
        h = h * torch.sigmoid(self.spatial(pooled))
        return self.fc(F.max_pool2d(h, 2).flatten(1))
""",
        "spatial convolution still created in forward": """
class FixedDigitNet(nn.Module):
    def __init__(self, num_classes=10, width=16, reduction=4):
        super().__init__()
        hidden = max(1, width // reduction)
        self.conv = nn.Conv2d(1, width, 3, padding=1)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, width))
        self.fc = nn.Linear(width * 4 * 4, num_classes)

    def forward(self, x):
        h = F.relu(self.conv(x))
        h = h * torch.sigmoid(self.mlp(h.mean(dim=(2, 3))) + self.mlp(h.amax(dim=(2, 3))))[:, :, None, None]
        spatial = nn.Conv2d(2, 1, 3, padding=1, bias=False).to(x.dtype)
        pooled = torch.cat([h.mean(dim=1, keepdim=True), h.amax(dim=1, keepdim=True)], dim=1)
        h = h * torch.sigmoid(spatial(pooled))
        return self.fc(F.max_pool2d(h, 2).flatten(1))
""",
        "only the TypeError fixed": """
class FixedDigitNet(nn.Module):
    def __init__(self, num_classes=10, width=16, reduction=4):
        super().__init__()
        hidden = max(1, width // reduction)
        self.conv = nn.Conv2d(1, width, 3, padding=1)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, width))
        self.fc = nn.Linear(width * 4 * 4, num_classes)

    def forward(self, x):
        h = F.relu(self.conv(x))
        avg, mx = h.mean(dim=(0, 2, 3)), h.amax(dim=(0, 2, 3))
        h = h * torch.sigmoid(self.mlp(avg) + self.mlp(mx)).view(1, -1, 1, 1)
        spatial = nn.Conv2d(2, 1, 3, padding=1, bias=False)
        pooled = torch.cat([h.mean(dim=1, keepdim=True), h.max(dim=1, keepdim=True).values], dim=1)
        h = h * torch.sigmoid(spatial(pooled))
        return F.softmax(self.fc(F.max_pool2d(h, 2).flatten(1)), dim=1)
""",
        "max and mean swapped in the spatial pooling": _DIGIT_INIT
        + """
        h = F.relu(self.conv(x))
        h = h * torch.sigmoid(self.mlp(h.mean(dim=(2, 3))) + self.mlp(h.amax(dim=(2, 3))))[:, :, None, None]
        pooled = torch.cat([h.max(dim=1, keepdim=True)[0], h.mean(dim=1, keepdim=True)], dim=1)
        h = h * torch.sigmoid(self.spatial(pooled))
        return self.fc(F.max_pool2d(h, 2).flatten(1))
""",
        "spatial gate computed from the features before the channel gate": _DIGIT_INIT
        + """
        h = F.relu(self.conv(x))
        s = torch.sigmoid(self.spatial(torch.cat([h.mean(dim=1, keepdim=True), h.amax(dim=1, keepdim=True)], dim=1)))
        h = h * torch.sigmoid(self.mlp(h.mean(dim=(2, 3))) + self.mlp(h.amax(dim=(2, 3))))[:, :, None, None]
        return self.fc(F.max_pool2d(h * s, 2).flatten(1))
""",
        "a log-softmax at the end": _DIGIT_INIT
        + """
        h = F.relu(self.conv(x))
        h = h * torch.sigmoid(self.mlp(h.mean(dim=(2, 3))) + self.mlp(h.amax(dim=(2, 3))))[:, :, None, None]
        pooled = torch.cat([h.mean(dim=1, keepdim=True), h.amax(dim=1, keepdim=True)], dim=1)
        h = h * torch.sigmoid(self.spatial(pooled))
        return F.log_softmax(self.fc(F.max_pool2d(h, 2).flatten(1)), dim=1)
""",
        "width and reduction ignored (always 16 and 4)": """
class FixedDigitNet(nn.Module):
    def __init__(self, num_classes=10, width=16, reduction=4):
        super().__init__()
        self.conv = nn.Conv2d(1, 16, 3, padding=1)
        self.mlp = nn.Sequential(nn.Linear(16, 4), nn.ReLU(), nn.Linear(4, 16))
        self.spatial = nn.Conv2d(2, 1, 3, padding=1, bias=False)
        self.fc = nn.Linear(16 * 4 * 4, num_classes)

    def forward(self, x):
        h = F.relu(self.conv(x))
        h = h * torch.sigmoid(self.mlp(h.mean(dim=(2, 3))) + self.mlp(h.amax(dim=(2, 3))))[:, :, None, None]
        pooled = torch.cat([h.mean(dim=1, keepdim=True), h.amax(dim=1, keepdim=True)], dim=1)
        h = h * torch.sigmoid(self.spatial(pooled))
        return self.fc(F.max_pool2d(h, 2).flatten(1))
""",
        "hidden without max(1, ...)": """
class FixedDigitNet(nn.Module):
    def __init__(self, num_classes=10, width=16, reduction=4):
        super().__init__()
        hidden = max(2, width // reduction)
        self.conv = nn.Conv2d(1, width, 3, padding=1)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, width))
        self.spatial = nn.Conv2d(2, 1, 3, padding=1, bias=False)
        self.fc = nn.Linear(width * 4 * 4, num_classes)

    def forward(self, x):
        h = F.relu(self.conv(x))
        h = h * torch.sigmoid(self.mlp(h.mean(dim=(2, 3))) + self.mlp(h.amax(dim=(2, 3))))[:, :, None, None]
        pooled = torch.cat([h.mean(dim=1, keepdim=True), h.amax(dim=1, keepdim=True)], dim=1)
        h = h * torch.sigmoid(self.spatial(pooled))
        return self.fc(F.max_pool2d(h, 2).flatten(1))
""",
        "gradient cut at the gates (computed under no_grad)": _DIGIT_INIT
        + """
        h = F.relu(self.conv(x))
        with torch.no_grad():
            g = torch.sigmoid(self.mlp(h.mean(dim=(2, 3))) + self.mlp(h.amax(dim=(2, 3))))[:, :, None, None]
        h = h * g
        with torch.no_grad():
            s = torch.sigmoid(self.spatial(torch.cat([h.mean(dim=1, keepdim=True), h.amax(dim=1, keepdim=True)], dim=1)))
        return self.fc(F.max_pool2d(h * s, 2).flatten(1))
""",
    },
    "quiz_1": {"wrong letter": 'quiz_1 = "A"\n'},
    "quiz_2": {"wrong letter": 'quiz_2 = "A"\n'},
    "quiz_3": {"wrong letter": 'quiz_3 = "C"\n'},
    "quiz_4": {"wrong letter": 'quiz_4 = "B"\n'},
}

RIGHT = {
    "ChannelAttention": {
        "a loop over the two descriptors, F.linear with the MLP's weights": """
class ChannelAttention(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = channels // reduction if channels >= reduction else 1
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels))

    def forward(self, x):
        first, last = self.mlp[0], self.mlp[2]
        total = 0
        for descriptor in (x.flatten(2).mean(-1), x.flatten(2).max(-1).values):
            total = total + F.linear(F.relu(F.linear(descriptor, first.weight, first.bias)), last.weight, last.bias)
        return torch.sigmoid(total).reshape(*total.shape, 1, 1)
""",
        "adaptive pooling modules, stacked batch through the MLP": """
class ChannelAttention(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        self.avg = nn.AdaptiveAvgPool2d(1)
        self.max = nn.AdaptiveMaxPool2d(1)
        self.mlp = nn.Sequential(
            nn.Linear(channels, max(1, channels // reduction)), nn.ReLU(inplace=True),
            nn.Linear(max(1, channels // reduction), channels),
        )

    def forward(self, x):
        b, c = x.shape[:2]
        both = self.mlp(torch.cat([self.avg(x).view(b, c), self.max(x).view(b, c)], 0))
        return (both[:b] + both[b:]).sigmoid().view(b, c, 1, 1)
""",
    },
    "SpatialAttention": {
        "convolution by unfold and a matrix product, one image at a time": _SA_HEAD
        + """
        k = self.conv.kernel_size[0]
        outs = []
        for image in x:  # (C, H, W)
            pooled = torch.stack([image.mean(0), image.amax(0)])[None]  # (1, 2, H, W)
            cols = F.unfold(pooled, k, padding=k // 2)  # (1, 2*k*k, H*W)
            z = self.conv.weight.reshape(1, -1) @ cols[0]  # (1, H*W)
            outs.append(torch.sigmoid(z).reshape(1, *image.shape[1:]))
        return torch.stack(outs)
""",
        "torch.max(...)[0] and stack": _SA_HEAD
        + """
        mx, _ = torch.max(x, dim=1)
        pooled = torch.stack([torch.mean(x, dim=1), mx], dim=1)
        return 1 / (1 + torch.exp(-self.conv(pooled)))
""",
    },
    "CBAM": {
        "one method per arrangement, einsum to apply the channel gate": """
class CBAM(nn.Module):
    def __init__(self, channels, reduction=16, kernel_size=7, mode="channel_first"):
        super().__init__()
        self.channel_attention = ChannelAttention(channels, reduction)
        self.spatial_attention = SpatialAttention(kernel_size)
        self._run = {"channel_first": self._cs, "spatial_first": self._sc, "parallel": self._par}.get(mode)
        if self._run is None:
            raise ValueError(f"mode must be channel_first, spatial_first or parallel, not {mode!r}")
        self.mode = mode

    def _ch(self, x):
        return torch.einsum("bchw,bc->bchw", x, self.channel_attention(x)[:, :, 0, 0])

    def _sp(self, x):
        return x * self.spatial_attention(x)

    def _cs(self, x):
        return self._sp(self._ch(x))

    def _sc(self, x):
        return self._ch(self._sp(x))

    def _par(self, x):
        return self._ch(x) * self.spatial_attention(x)

    def forward(self, x):
        return self._run(x)
""",
        "dict of strategies, gates via helper": """
class CBAM(nn.Module):
    def __init__(self, channels, reduction=16, kernel_size=7, mode="channel_first"):
        super().__init__()
        if mode not in {"channel_first", "spatial_first", "parallel"}:
            raise ValueError(mode)
        self.channel_attention = ChannelAttention(channels, reduction=reduction)
        self.spatial_attention = SpatialAttention(kernel_size=kernel_size)
        self.mode = mode

    def forward(self, x):
        if self.mode == "parallel":
            return x * (self.channel_attention(x) * self.spatial_attention(x))
        order = [self.channel_attention, self.spatial_attention]
        if self.mode == "spatial_first":
            order.reverse()
        for gate in order:
            x = gate(x) * x
        return x
""",
    },
    "FixedNet": {
        "default CBAM (one hidden unit), functional layers": """
class FixedNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 5, padding=2)
        self.cbam = CBAM(16)
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1)
        self.fc = nn.Linear(16 * 4 * 4, num_classes)

    def forward(self, x):
        x = F.max_pool2d(self.cbam(F.relu(self.conv1(x))), 4)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc(torch.flatten(x, 1))
""",
        "BatchNorm, adaptive pooling, dropout": """
class FixedNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 24, 3, padding=1), nn.BatchNorm2d(24), nn.ReLU())
        self.attention = CBAM(24, reduction=8, mode="parallel")
        self.rest = nn.Sequential(
            nn.MaxPool2d(2), nn.Conv2d(24, 48, 3, padding=1, stride=2), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(48, num_classes))

    def forward(self, x):
        return self.head(self.rest(self.attention(self.features(x))))
""",
        "residual CBAM, functional pooling, BatchNorm": """
class FixedNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.cbam = CBAM(8, reduction=2, kernel_size=5, mode="spatial_first")
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.head = nn.Linear(16 * 8 * 8, num_classes)

    def forward(self, x):
        h = F.relu(self.bn(self.stem(x)))
        h = h + self.cbam(h)
        h = F.max_pool2d(h, 2)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)
        return self.head(h.flatten(1))
""",
    },
    "FixedDigitNet": {
        "torch.max(...).values, flatten(2), functional spatial conv": """
class FixedDigitNet(nn.Module):
    def __init__(self, num_classes=10, width=16, reduction=4):
        super().__init__()
        self.conv = nn.Conv2d(1, width, kernel_size=3, padding=1)
        self.mlp = nn.Sequential(
            nn.Linear(width, max(1, width // reduction)), nn.ReLU(inplace=True), nn.Linear(max(1, width // reduction), width)
        )
        self.spatial = nn.Conv2d(2, 1, kernel_size=3, padding=1, bias=False)
        self.fc = nn.Linear(16 * width, num_classes)

    def forward(self, x):
        h = torch.relu(self.conv(x))
        flat = h.flatten(2)  # (B, width, 64)
        gate = (self.mlp(flat.mean(-1)) + self.mlp(torch.max(flat, dim=-1).values)).sigmoid()
        h = h * gate.unsqueeze(-1).unsqueeze(-1)
        stats = torch.stack([h.mean(1), torch.max(h, dim=1).values], dim=1)
        h = h * torch.sigmoid(F.conv2d(stats, self.spatial.weight, padding=1))
        return self.fc(torch.flatten(F.max_pool2d(h, kernel_size=2, stride=2), start_dim=1))
""",
        "nn.MaxPool2d module, einsum classifier": """
class FixedDigitNet(nn.Module):
    def __init__(self, num_classes=10, width=16, reduction=4):
        super().__init__()
        hidden = max(1, width // reduction)
        self.conv = nn.Conv2d(1, width, 3, padding=1)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, width))
        self.spatial = nn.Conv2d(2, 1, 3, padding=1, bias=False)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(width * 16, num_classes)

    def forward(self, x):
        h = F.relu(self.conv(x))
        g = torch.sigmoid(self.mlp(F.adaptive_avg_pool2d(h, 1).flatten(1)) + self.mlp(F.adaptive_max_pool2d(h, 1).flatten(1)))
        h = h * g.view(*g.shape, 1, 1)
        h = h * torch.sigmoid(self.spatial(torch.cat([h.mean(1, keepdim=True), h.amax(1, keepdim=True)], 1)))
        z = self.pool(h).flatten(1)
        return torch.einsum("bi,oi->bo", z, self.fc.weight) + self.fc.bias
""",
    },
}
