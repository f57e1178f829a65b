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

_BLOCK_HEAD = """
class SEBasicBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1, reduction=16):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.se = SEBlock(out_channels, reduction)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
            )

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
        "hidden = ceil(C / r)": """
class SEBlock(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = math.ceil(channels / reduction)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def forward(self, x):
        g = torch.sigmoid(self.fc2(F.relu(self.fc1(x.mean(dim=(2, 3))))))
        return x * g[:, :, None, None]
""",
        "reduction argument ignored (always 16)": """
class SEBlock(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = max(1, channels // 16)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def forward(self, x):
        g = torch.sigmoid(self.fc2(F.relu(self.fc1(x.mean(dim=(2, 3))))))
        return x * g[:, :, None, None]
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
        "no absolute value": _K
        + """
    t = int((math.log2(channels) + b) / gamma)
    return t if t % 2 else t + 1
""",
        "parameters in the order (b, gamma)": """
def eca_kernel_size(channels, b=1, gamma=2):
    t = int(abs((math.log2(channels) + b) / gamma))
    return t if t % 2 else t + 1
""",
        "gamma and b ignored": _K
        + """
    t = int(abs((math.log2(channels) + 1) / 2))
    return t if t % 2 else t + 1
""",
        "ceil instead of floor": _K
        + """
    t = math.ceil(abs((math.log2(channels) + b) / gamma))
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
        "circular padding across the channel axis": """
class ECABlock(nn.Module):
    def __init__(self, channels, k_size=None):
        super().__init__()
        k = k_size or eca_kernel_size(channels)
        self.conv = nn.Conv1d(1, 1, k, padding=k // 2, bias=False, padding_mode="circular")

    def forward(self, x):
        g = torch.sigmoid(self.conv(x.mean(dim=(2, 3)).unsqueeze(1))).squeeze(1)
        return x * g[:, :, None, None]
""",
        "padding 1 whatever the kernel size": """
class ECABlock(nn.Module):
    def __init__(self, channels, k_size=None):
        super().__init__()
        k = k_size or eca_kernel_size(channels)
        self.conv = nn.Conv1d(1, 1, k, padding=1, bias=False)

    def forward(self, x):
        g = torch.sigmoid(self.conv(x.mean(dim=(2, 3)).unsqueeze(1))).squeeze(1)
        return x * g[:, :, None, None]
""",
        "reversed channel order": _ECA_HEAD
        + """
        s = x.mean(dim=(2, 3)).flip(1).unsqueeze(1)
        g = torch.sigmoid(self.conv(s)).squeeze(1).flip(1)
        return x * g[:, :, None, None]
""",
    },
    "SEBasicBlock": {
        "SE after the addition (SE-POST)": _BLOCK_HEAD
        + """
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(self.se(out + shortcut))
""",
        "SE after the final ReLU": _BLOCK_HEAD
        + """
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return self.se(F.relu(out + shortcut))
""",
        "SE on the shortcut": _BLOCK_HEAD
        + """
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(out + self.se(shortcut))
""",
        "SE never applied": _BLOCK_HEAD
        + """
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        self.se(out)
        return F.relu(out + shortcut)
""",
        "SE before bn2": _BLOCK_HEAD
        + """
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.bn2(self.se(self.conv2(F.relu(self.bn1(self.conv1(x))))))
        return F.relu(out + shortcut)
""",
        "no ReLU after the addition": _BLOCK_HEAD
        + """
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return self.se(out) + shortcut
""",
        "ReLU on the branch instead of after the addition": _BLOCK_HEAD
        + """
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(self.se(out)) + shortcut
""",
        "no shortcut": _BLOCK_HEAD
        + """
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(self.se(out))
""",
        "shortcut added in place into the input": _BLOCK_HEAD
        + """
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        shortcut += self.se(out)
        return F.relu(shortcut)
""",
        "stride on conv2 instead of conv1": """
class SEBasicBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1, reduction=16):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.se = SEBlock(out_channels, reduction)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(self.se(out) + shortcut)
""",
        "downsample only when the stride changes": """
class SEBasicBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1, reduction=16):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.se = SEBlock(out_channels, reduction)
        self.downsample = None
        if stride != 1:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        if shortcut.shape[1] != self.conv1.out_channels:  # pad the missing channels with zeros
            shortcut = F.pad(shortcut, (0, 0, 0, 0, 0, self.conv1.out_channels - shortcut.shape[1]))
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(self.se(out) + shortcut)
""",
        "shortcut without batch norm": """
class SEBasicBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1, reduction=16):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.se = SEBlock(out_channels, reduction)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)

    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(self.se(out) + shortcut)
""",
        "one batch norm shared by both convolutions": """
class SEBasicBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1, reduction=16):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.se = SEBlock(out_channels, reduction)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.bn1(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(self.se(out) + shortcut)
""",
        "SE with the default reduction, whatever is asked": """
class SEBasicBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1, reduction=16):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.se = SEBlock(out_channels)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(self.se(out) + shortcut)
""",
        "batch norm always in eval mode": _BLOCK_HEAD
        + """
        def bn(m, t):
            return F.batch_norm(t, m.running_mean, m.running_var, m.weight, m.bias, training=False, eps=m.eps)

        if self.downsample is None:
            shortcut = x
        else:
            shortcut = bn(self.downsample[1], self.downsample[0](x))
        out = bn(self.bn2, self.conv2(F.relu(bn(self.bn1, self.conv1(x)))))
        return F.relu(self.se(out) + shortcut)
""",
        "returns (output, SE gate) instead of the output": _BLOCK_HEAD
        + """
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        gate = torch.sigmoid(self.se.fc2(F.relu(self.se.fc1(out.mean(dim=(2, 3))))))
        return F.relu(out * gate[:, :, None, None] + shortcut), gate
""",
    },
    "quiz_1": {"wrong letter": 'quiz_1 = "A"\n'},
    "quiz_2": {"wrong letter": 'quiz_2 = "B"\n'},
    "quiz_3": {"wrong letter": 'quiz_3 = "C"\n'},
    "quiz_4": {"wrong letter": 'quiz_4 = "A"\n'},
}

RIGHT = {
    "SEBasicBlock": {
        "torchvision style: ReLU modules, identity, in-place add": """
class SEBasicBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1, reduction=16):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.se = SEBlock(out_channels, reduction=reduction)
        if stride == 1 and in_channels == out_channels:
            self.downsample = None
        else:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.se(self.bn2(self.conv2(out)))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)
""",
        "branch and shortcut as helper methods, torch.add": _BLOCK_HEAD.replace(
            "    def forward(self, x):\n",
            """    def _branch(self, x):
        return self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))

    def _shortcut(self, x):
        return x if self.downsample is None else self.downsample(x)

    def forward(self, x):
""",
        )
        + """
        return torch.add(self.se(self._branch(x)), self._shortcut(x)).clamp(min=0)
""",
    },
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
        "odd by arithmetic": """
def eca_kernel_size(channels, gamma=2, b=1):
    t = int(abs(math.log(channels, 2) + b) / abs(gamma))
    return t + 1 - t % 2
""",
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
        "explicit zero padding, then an unpadded conv1d": _ECA_HEAD
        + """
        k = self.conv.weight.shape[-1]
        s = F.pad(x.mean(dim=(2, 3)), (k // 2, k // 2))[:, None, :]
        g = torch.sigmoid(F.conv1d(s, self.conv.weight))[:, 0]
        return x * g.view(*g.shape, 1, 1)
""",
        "one channel at a time, weights read from the conv": _ECA_HEAD
        + """
        s = x.mean(dim=(2, 3))
        w = self.conv.weight[0, 0]
        k = w.shape[0]
        gates = []
        for c in range(s.shape[1]):
            z = torch.zeros_like(s[:, 0])
            for j in range(k):
                src = c + j - k // 2
                if 0 <= src < s.shape[1]:
                    z = z + w[j] * s[:, src]
            gates.append(torch.sigmoid(z))
        return x * torch.stack(gates, dim=1)[:, :, None, None]
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
