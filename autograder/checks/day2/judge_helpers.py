"""Judge side of day2_channel_attention: references, typical mistakes and hints the judges use.

No probe reaches this module, so none of it enters the sandbox (``autograder/sandbox/strip.py``).
"""

from __future__ import annotations

from typing import Any

import torch

from autograder.reference import day2_channel_attention as ref


# ---------------------------------------------------------------------------- SEBlock
def se_wrong(x: torch.Tensor, p: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    s = x.mean((2, 3))
    return {
        "max pooling instead of average pooling (the squeeze is the spatial mean)": ref.se(x, p, pool="max"),
        "a softmax instead of a sigmoid (each channel needs its own gate in (0, 1))": ref.se(x, p, act="softmax"),
        "a ReLU after fc2 as well (the excitation is sigmoid(fc2(relu(fc1(s)))))": ref.se(x, p, relu_after=True),
        "a sum instead of a mean over H and W": ref.se(x, p, pool="sum"),
        "no ReLU between fc1 and fc2": ref.se(x, p, relu=False),
        "the gate without the input (return x * gate, not the gate)": ref.se_gate(s, p)[:, :, None, None].expand_as(x),
    }


# ---------------------------------------------------------------------------- ECABlock
def eca_wrong(x: torch.Tensor, w: torch.Tensor) -> dict[str, torch.Tensor]:
    s = x.mean((2, 3))
    return {
        "max pooling instead of average pooling": ref.eca(x, w, pool="max"),
        "a softmax over the channels instead of a sigmoid": ref.eca(x, w, act="softmax"),
        "no sigmoid on the convolution's output": ref.eca(x, w, act="none"),
        "a convolution with the kernel flipped (check the channel order of the pooled vector)": ref.eca(x, w.flip(-1)),
        "the gate without the input (return x * gate, not the gate)": ref.eca_gate(s, w)[:, :, None, None].expand_as(x),
    }


# ---------------------------------------------------------------------------- SEBasicBlock
def out_shape(x: torch.Tensor, c_out: int, stride: int) -> tuple[int, ...]:
    return (x.shape[0], c_out, -(-x.shape[2] // stride), -(-x.shape[3] // stride))


def block_wrong(x: torch.Tensor, p: dict[str, torch.Tensor], stride: int, train: bool = False) -> dict[str, torch.Tensor]:
    def f(**kw: Any) -> torch.Tensor:
        return ref.se_basic_block(x, p, stride, train=train, **kw)

    wrong = {
        "SE after the addition (SE-POST); the gate must scale the residual branch only, before the addition": f(placement="post"),
        "no SE at all (call self.se on the branch)": f(placement="none"),
        "SE on the shortcut instead of the residual branch": f(placement="shortcut"),
        "SE before bn2 (it goes after the branch's last batch norm)": f(placement="before_bn2"),
        "SE after the final ReLU (it goes on the branch, before the addition)": f(placement="after_relu", final_relu=False),
        "no ReLU after the addition": f(final_relu=False),
    }
    if "downsample.0.weight" in p:
        wrong["a shortcut without its batch norm"] = f(shortcut_bn=False)
    return wrong


BLOCK_HINT = (
    "conv1 = Conv2d(C_in, C_out, 3, stride, padding=1, bias=False), bn1, conv2 = Conv2d(C_out, C_out, 3, padding=1, bias=False), "
    "bn2, se = SEBlock(C_out, reduction), and downsample = Sequential(Conv2d(C_in, C_out, 1, stride, bias=False), "
    "BatchNorm2d(C_out)) only when stride != 1 or C_in != C_out (else None)"
)
