"""Wrong and right versions of the day 2 solution cells; the hidden checks must fail / pass them."""

_SE_HEAD = """
class SEBlock(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def forward(self, x):
"""

_ECA_HEAD = """
class ECABlock(nn.Module):
    def __init__(self, channels, k_size=None):
        super().__init__()
        k = k_size or eca_kernel_size(channels)
        self.conv = nn.Conv1d(1, 1, k, padding=k // 2, bias=False)

    def forward(self, x):
"""

_K = """
def eca_kernel_size(channels, gamma=2, b=1):
"""

WRONG = {
    "SEBlock": {
        "max pooling for the squeeze": _SE_HEAD
        + """
        g = torch.sigmoid(self.fc2(F.relu(self.fc1(x.amax(dim=(2, 3))))))
        return x * g[:, :, None, None]
""",
        "softmax instead of sigmoid": _SE_HEAD
        + """
        g = torch.softmax(self.fc2(F.relu(self.fc1(x.mean(dim=(2, 3))))), dim=1)
        return x * g[:, :, None, None]
""",
        "ReLU after the last layer": _SE_HEAD
        + """
        g = torch.sigmoid(F.relu(self.fc2(F.relu(self.fc1(x.mean(dim=(2, 3)))))))
        return x * g[:, :, None, None]
""",
        "gate returned instead of applied": _SE_HEAD
        + """
        return torch.sigmoid(self.fc2(F.relu(self.fc1(x.mean(dim=(2, 3))))))[:, :, None, None]
""",
        "no ReLU in the bottleneck": _SE_HEAD
        + """
        g = torch.sigmoid(self.fc2(self.fc1(x.mean(dim=(2, 3)))))
        return x * g[:, :, None, None]
""",
        "sum instead of mean": _SE_HEAD
        + """
        g = torch.sigmoid(self.fc2(F.relu(self.fc1(x.sum(dim=(2, 3))))))
        return x * g[:, :, None, None]
""",
        "in-place rescale": _SE_HEAD
        + """
        g = torch.sigmoid(self.fc2(F.relu(self.fc1(x.mean(dim=(2, 3))))))
        x *= g[:, :, None, None]
        return x
""",
        "hidden = C // r without the max(1, ...)": """
class SEBlock(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = channels // reduction or 2
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def forward(self, x):
        g = torch.sigmoid(self.fc2(F.relu(self.fc1(x.mean(dim=(2, 3))))))
        return x * g[:, :, None, None]
""",
        "gate broadcast over the wrong axes": _SE_HEAD
        + """
        g = torch.sigmoid(self.fc2(F.relu(self.fc1(x.mean(dim=(2, 3))))))
        return x * g.mean(1)[:, None, None, None]
""",
        "float32 buffer breaks float64": _SE_HEAD
        + """
        s = x.mean(dim=(2, 3)).float()
        g = torch.sigmoid(self.fc2(F.relu(self.fc1(s))))
        return x * g[:, :, None, None].to(torch.float32)
""",
        "detached gate": _SE_HEAD
        + """
        g = torch.sigmoid(self.fc2(F.relu(self.fc1(x.mean(dim=(2, 3)))))).detach()
        return x * g[:, :, None, None]
""",
    },
    "eca_kernel_size": {
        "t returned even when even": _K
        + """
    return int(abs((math.log2(channels) + b) / gamma))
""",
        "round instead of int": _K
        + """
    t = round(abs((math.log2(channels) + b) / gamma))
    return t if t % 2 else t + 1
""",
        "natural log": _K
        + """
    t = int(abs((math.log(channels) + b) / gamma))
    return t if t % 2 else t + 1
""",
        "t - 1 when even": _K
        + """
    t = int(abs((math.log2(channels) + b) / gamma))
    return t if t % 2 else t - 1
""",
        "returns a float": _K
        + """
    t = abs((math.log2(channels) + b) / gamma) // 1
    return t if t % 2 else t + 1
""",
        "defaults swapped": """
def eca_kernel_size(channels, gamma=1, b=2):
    t = int(abs((math.log2(channels) + b) / gamma))
    return t if t % 2 else t + 1
""",
    },
    "ECABlock": {
        "max pooling": _ECA_HEAD
        + """
        g = torch.sigmoid(self.conv(x.amax(dim=(2, 3)).unsqueeze(1))).squeeze(1)
        return x * g[:, :, None, None]
""",
        "no sigmoid": _ECA_HEAD
        + """
        g = self.conv(x.mean(dim=(2, 3)).unsqueeze(1)).squeeze(1)
        return x * g[:, :, None, None]
""",
        "softmax over channels": _ECA_HEAD
        + """
        g = torch.softmax(self.conv(x.mean(dim=(2, 3)).unsqueeze(1)).squeeze(1), dim=1)
        return x * g[:, :, None, None]
""",
        "gate returned instead of applied": _ECA_HEAD
        + """
        return torch.sigmoid(self.conv(x.mean(dim=(2, 3)).unsqueeze(1))).squeeze(1)[:, :, None, None]
""",
        "fixed kernel size 3": """
class ECABlock(nn.Module):
    def __init__(self, channels, k_size=None):
        super().__init__()
        self.conv = nn.Conv1d(1, 1, 3, padding=1, bias=False)

    def forward(self, x):
        g = torch.sigmoid(self.conv(x.mean(dim=(2, 3)).unsqueeze(1))).squeeze(1)
        return x * g[:, :, None, None]
""",
        "k_size argument ignored": """
class ECABlock(nn.Module):
    def __init__(self, channels, k_size=None):
        super().__init__()
        k = eca_kernel_size(channels)
        self.conv = nn.Conv1d(1, 1, k, padding=k // 2, bias=False)

    def forward(self, x):
        g = torch.sigmoid(self.conv(x.mean(dim=(2, 3)).unsqueeze(1))).squeeze(1)
        return x * g[:, :, None, None]
""",
        "conv with a bias": """
class ECABlock(nn.Module):
    def __init__(self, channels, k_size=None):
        super().__init__()
        k = k_size or eca_kernel_size(channels)
        self.conv = nn.Conv1d(1, 1, k, padding=k // 2)

    def forward(self, x):
        g = torch.sigmoid(self.conv(x.mean(dim=(2, 3)).unsqueeze(1))).squeeze(1)
        return x * g[:, :, None, None]
""",
        "no padding, gates interpolated back": """
class ECABlock(nn.Module):
    def __init__(self, channels, k_size=None):
        super().__init__()
        k = k_size or eca_kernel_size(channels)
        self.conv = nn.Conv1d(1, 1, k, bias=False)

    def forward(self, x):
        g = torch.sigmoid(self.conv(x.mean(dim=(2, 3)).unsqueeze(1)))
        g = F.interpolate(g, size=x.shape[1]).squeeze(1)
        return x * g[:, :, None, None]
""",
        "convolution over the spatial positions instead of the channels": _ECA_HEAD
        + """
        s = x.mean(dim=1, keepdim=True).flatten(2)  # (B, 1, HW)
        g = torch.sigmoid(self.conv(s)).mean(-1)  # (B, 1)
        return x * g[:, :, None, None]
""",
        "reversed channel order": _ECA_HEAD
        + """
        s = x.mean(dim=(2, 3)).flip(1).unsqueeze(1)
        g = torch.sigmoid(self.conv(s)).squeeze(1).flip(1)
        return x * g[:, :, None, None]
""",
    },
    "quiz_1": {"wrong letter": 'quiz_1 = "A"\n'},
    "quiz_2": {"wrong letter": 'quiz_2 = "C"\n'},
    "quiz_3": {"wrong letter": 'quiz_3 = "D"\n'},
}

RIGHT = {
    "SEBlock": {
        "adaptive_avg_pool2d and view": _SE_HEAD
        + """
        b, c = x.shape[:2]
        s = F.adaptive_avg_pool2d(x, 1).view(b, c)
        g = self.fc2(self.fc1(s).clamp(min=0)).sigmoid().view(b, c, 1, 1)
        return g * x
""",
        "einsum rescale, keepdim mean": _SE_HEAD
        + """
        s = x.mean(dim=(-2, -1))
        g = 1 / (1 + torch.exp(-self.fc2(torch.relu(self.fc1(s)))))
        return torch.einsum("bchw,bc->bchw", x, g)
""",
        "extra non-parameter module": """
class SEBlock(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Linear(channels, max(1, channels // reduction))
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Linear(max(1, channels // reduction), channels)
        self.gate = nn.Sigmoid()

    def forward(self, x):
        s = self.pool(x).flatten(1)
        return x * self.gate(self.fc2(self.act(self.fc1(s))))[..., None, None]
""",
    },
    "eca_kernel_size": {
        "floor and bit test": """
def eca_kernel_size(channels, gamma=2, b=1):
    t = math.floor(abs((math.log(channels, 2) + b) / gamma))
    return int(t | 1)
""",
    },
    "ECABlock": {
        "transpose as in the ECA paper's code": _ECA_HEAD
        + """
        y = F.adaptive_avg_pool2d(x, 1)  # (B, C, 1, 1)
        y = self.conv(y.squeeze(-1).transpose(-1, -2)).transpose(-1, -2).unsqueeze(-1)
        return x * y.sigmoid().expand_as(x)
""",
        "functional conv1d on the weight": _ECA_HEAD
        + """
        s = x.mean(dim=(2, 3))[:, None, :]
        k = self.conv.weight.shape[-1]
        g = torch.sigmoid(F.conv1d(s, self.conv.weight, padding=k // 2))
        return x * g.transpose(1, 2)[..., None]
""",
    },
}
