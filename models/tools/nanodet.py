"""NanoDet-g as a PyTorch module whose parts carry the architecture's names.

Structure (RangiLyu/nanodet, config nanodet-g, batch norm already folded):
  backbone  CustomCspNet: stem conv 3->32 s2, max-pool s2, four CSP stages
            (32, 64, 128, 256 channels; 1, 2, 2, 3 tiny residual blocks;
            strides 4, 8, 16, 32; each stage outputs twice its width)
  fpn       PAN: 1x1 laterals to 128 ch, bilinear top-down then bottom-up
  head      GFL, per level one 3x3 conv + one 1x1 conv to 80 classes + 4x11 bins

ARAC needs to run the front of this network per tile on a window that may
overhang the image. Every module therefore takes an optional `mask`
(N,1,H,W at input resolution, 1 inside the image, 0 outside): after each
layer the features outside the image are reset to what zero padding would
have given the unsplit network (zero before a conv, -inf before the max-pool),
so a window's valid centre equals the unsplit network's output there.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

LEAKY = 0.1
NUM_CLASSES = 80
REG_MAX = 10  # 11 bins per side
STRIDES = (8, 16, 32)


def mask_at(mask: torch.Tensor | None, stride: int) -> torch.Tensor | None:
    """The input-resolution mask sampled at a feature map's stride.

    Exact because windows start at multiples of the split stride and image
    borders fall on multiples of 32: cell i at stride s covers pixel s*i.
    """
    if mask is None:
        return None
    return mask[:, :, ::stride, ::stride]


class ConvAct(nn.Module):
    """3x3 (or 1x1) convolution with folded batch norm, then LeakyReLU(0.1)."""

    def __init__(self, cin: int, cout: int, k: int = 3, stride: int = 1, act: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, padding=k // 2, bias=True)
        self.act = act
        self.stride = stride

    def forward(self, x: torch.Tensor, m: torch.Tensor | None = None) -> torch.Tensor:
        y = self.conv(x)
        if self.act:
            y = F.leaky_relu(y, LEAKY)
        return y if m is None else y * m


class TinyResBlock(nn.Module):
    """in_conv narrows to `k` (default half the width), mid_conv keeps it; output = cat(mid, in)."""

    def __init__(self, c: int, k: int | None = None):
        super().__init__()
        k = c // 2 if k is None else k
        self.in_conv = ConvAct(c, k)
        self.mid_conv = ConvAct(k, k)

    def forward(self, x, m=None):
        a = self.in_conv(x, m)
        return torch.cat((self.mid_conv(a, m), a), 1)


class CspStage(nn.Module):
    """in_conv (with the stage's stride), residual blocks, res_out_conv; output = cat(res_out, in).

    NanoDet-g's stages keep one width `c` throughout; the channel-sliced ARAC
    levels (levels.py) give the input, block and output widths separately.
    """

    def __init__(self, c: int, num_res: int, stride: int, *, cin: int | None = None, block_width: int | None = None, out: int | None = None):
        super().__init__()
        self.in_conv = ConvAct(c if cin is None else cin, c, stride=stride)
        bw = c // 2 if block_width is None else block_width
        self.res_blocks = nn.ModuleList()
        ws = c
        for _ in range(num_res):
            self.res_blocks.append(TinyResBlock(ws, bw))
            ws = 2 * bw
        self.res_out_conv = ConvAct(ws, c if out is None else out)
        self.stride = stride

    def forward(self, x, m=None):
        x = self.in_conv(x, m)
        y = x
        for blk in self.res_blocks:
            y = blk(y, m)
        return torch.cat((self.res_out_conv(y, m), x), 1)


class Stem(nn.Module):
    """conv 3->32 stride 2, then 3x3 max-pool stride 2 (padding acts as -inf)."""

    def __init__(self):
        super().__init__()
        self.conv = ConvAct(3, 32, stride=2)

    def forward(self, x, mask=None):
        if mask is not None:
            x = x * mask
        m2 = mask_at(mask, 2)
        y = self.conv(x, m2)
        if m2 is not None:
            y = torch.where(m2 > 0, y, torch.full_like(y, float("-inf")))
        y = F.max_pool2d(y, 3, 2, 1)
        if mask is None:
            return y
        # a pool window wholly outside the image is -inf: select, never multiply (-inf * 0 = nan)
        m4 = mask_at(mask, 4)
        return torch.where(m4 > 0, y, torch.zeros_like(y))


class Backbone(nn.Module):
    STAGES = ((32, 1, 1), (64, 2, 2), (128, 2, 2), (256, 3, 2))  # width, residual blocks, stride

    def __init__(self):
        super().__init__()
        self.stem = Stem()
        self.stage1 = CspStage(*self.STAGES[0])
        self.stage2 = CspStage(*self.STAGES[1])
        self.stage3 = CspStage(*self.STAGES[2])
        self.stage4 = CspStage(*self.STAGES[3])

    def front(self, x, mask=None):
        """stem .. stage2: the stride-8 feature map (128 ch) with a small receptive field."""
        x = self.stem(x, mask)
        x = self.stage1(x, mask_at(mask, 4))
        return self.stage2(x, mask_at(mask, 8))

    def forward(self, x):
        c3 = self.front(x)
        c4 = self.stage3(c3)
        c5 = self.stage4(c4)
        return c3, c4, c5


class Pan(nn.Module):
    """PAN with bilinear resizing (half-pixel centres) both up and down, no extra convs."""

    def __init__(self, in_channels=(128, 256, 512), out_channels=128):
        super().__init__()
        self.lateral = nn.ModuleList(nn.Conv2d(c, out_channels, 1) for c in in_channels)

    @staticmethod
    def _resize(x, ref):
        return F.interpolate(x, size=ref.shape[-2:], mode="bilinear", align_corners=False)

    def forward(self, c3, c4, c5):
        l3, l4, l5 = (conv(c) for conv, c in zip(self.lateral, (c3, c4, c5)))
        t4 = l4 + self._resize(l5, l4)
        p3 = l3 + self._resize(t4, l3)
        p4 = t4 + self._resize(p3, t4)
        p5 = l5 + self._resize(p4, l5)
        return p3, p4, p5


class HeadLevel(nn.Module):
    def __init__(self, c=128):
        super().__init__()
        self.conv = ConvAct(c, c)
        self.out = nn.Conv2d(c, NUM_CLASSES + 4 * (REG_MAX + 1), 1)

    def forward(self, p):
        y = self.out(self.conv(p))
        n = y.shape[0]
        cls = torch.sigmoid(y[:, :NUM_CLASSES]).reshape(n, NUM_CLASSES, -1).permute(0, 2, 1)
        reg = y[:, NUM_CLASSES:].reshape(n, 4 * (REG_MAX + 1), -1).permute(0, 2, 1)
        return cls, reg


class NanoDetG(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = Backbone()
        self.fpn = Pan()
        self.head = nn.ModuleList(HeadLevel() for _ in STRIDES)

    def rest(self, c3):
        """Everything after the stride-8 front: the cross-tile part of the ARAC split."""
        c4 = self.backbone.stage3(c3)
        c5 = self.backbone.stage4(c4)
        outs = []
        for level, p in zip(self.head, self.fpn(c3, c4, c5)):
            outs.extend(level(p))
        return tuple(outs)  # cls8, reg8, cls16, reg16, cls32, reg32

    def forward(self, x):
        return self.rest(self.backbone.front(x))


def conv_layers_in_graph_order(model: NanoDetG) -> list[nn.Conv2d]:
    """The Conv2d modules in the order the original graph numbers its convolutions."""
    b = model.backbone
    convs = [b.stem.conv.conv]
    for stage in (b.stage1, b.stage2, b.stage3, b.stage4):
        convs.append(stage.in_conv.conv)
        for blk in stage.res_blocks:
            convs += [blk.in_conv.conv, blk.mid_conv.conv]
        convs.append(stage.res_out_conv.conv)
    convs += list(model.fpn.lateral)
    for level in model.head:
        convs += [level.conv.conv, level.out]
    return convs
