"""Channel-sliced fronts for ARAC's compute levels 0 < c < 1 (NeuLens' supernet).

Level c keeps roughly the first (1 - c) of every front convolution's output
channels. Two convolutions keep full width: stage2.in_conv and
stage2.res_out_conv, whose outputs are concatenated into the split-point map
(128 = res_out [64] + in_conv [64]), so every tile's features have the depth
the cross-tile rest expects whatever the tile's level. The stem keeps its 3
input channels.

The widths are not exact fractions: MLAS (onnxruntime's CPU kernels) runs
convolutions in its blocked NCHWc layout only when channel counts are
multiples of its vector block (16 floats with AVX-512, 8 with AVX2); other
counts fall back to im2col + GEMM and may be no faster than full width. See
models/README.md for the measurements that picked LEVELS.

Level 0 stays the pretrained network. Narrower levels own their weights,
initialised from the pretrained prefix and trained by distillation
(train_levels.py); the trained weights live in levels-weights.npz (float16).
"""
from __future__ import annotations

from dataclasses import dataclass, asdict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from nanodet import Backbone, ConvAct, CspStage, mask_at

SPLIT_CHANNELS = 128
S2_WIDTH = 64  # stage2.in_conv and stage2.res_out_conv: full width at every level


@dataclass(frozen=True)
class Widths:
    """Output channels of the sliced convolutions (full NanoDet-g: 32, 32, 16, 32, 32)."""

    stem: int      # stem.conv
    s1: int        # stage1.in_conv
    s1_block: int  # stage1 residual block: in_conv and mid_conv
    s1_out: int    # stage1.res_out_conv
    s2_block: int  # stage2 residual blocks (both): in_conv and mid_conv

    def fraction(self) -> float:
        """Share of the full front's multiply-accumulates (same for any input size)."""
        return front_macs_per_pixel(self) / front_macs_per_pixel(FULL)


FULL = Widths(32, 32, 16, 32, 32)

# The shipped levels (c -> widths). Chosen by measurement on a 2-core AVX-512
# CPU with onnxruntime-node: see models/README.md, "Channel-sliced levels".
LEVELS: dict[float, Widths] = {
    0.25: Widths(16, 16, 8, 16, 32),
    0.5: Widths(16, 16, 8, 16, 16),
    0.75: Widths(8, 8, 8, 8, 8),
}
# Added to the stem's output outside the frame before the max-pool: stands in
# for -inf (the pool's padding) without a Where, which onnxruntime runs slowly
# and outside its blocked layout. Any finite activation + (-1e30) rounds to -1e30.
NEG_BIG = -1e30


def widths_by_conv(w: Widths) -> dict[str, int]:
    """Output channels of every front convolution, by module name (for the manifest)."""
    return {"backbone.stem.conv": w.stem, "backbone.stage1.in_conv": w.s1,
            "backbone.stage1.res_blocks.0": w.s1_block, "backbone.stage1.res_out_conv": w.s1_out,
            "backbone.stage2.in_conv": S2_WIDTH, "backbone.stage2.res_blocks.0": w.s2_block,
            "backbone.stage2.res_blocks.1": w.s2_block, "backbone.stage2.res_out_conv": S2_WIDTH}


def level_name(c: float) -> str:
    return f"c{round(c * 100):03d}"


def front_macs_per_pixel(w: Widths) -> float:
    """Front MACs per input pixel (3x3 convs; stride 2 stem, stride 4 stage1, stride 8 stage2)."""
    k = 9
    stem = k * 3 * w.stem / 4
    s1 = k * (w.stem * w.s1 + w.s1 * w.s1_block + w.s1_block ** 2 + 2 * w.s1_block * w.s1_out) / 16
    s1_cat = w.s1_out + w.s1
    s2 = k * (s1_cat * S2_WIDTH + S2_WIDTH * w.s2_block + w.s2_block ** 2
              + 2 * w.s2_block * w.s2_block + w.s2_block ** 2 + 2 * w.s2_block * S2_WIDTH) / 64
    return stem + s1 + s2


def front_params(w: Widths) -> int:
    """Weights + biases of a front of these widths."""
    convs = [(3, w.stem), (w.stem, w.s1), (w.s1, w.s1_block), (w.s1_block, w.s1_block), (2 * w.s1_block, w.s1_out),
             (w.s1_out + w.s1, S2_WIDTH), (S2_WIDTH, w.s2_block), (w.s2_block, w.s2_block),
             (2 * w.s2_block, w.s2_block), (w.s2_block, w.s2_block), (2 * w.s2_block, S2_WIDTH)]
    return sum(9 * i * o + o for i, o in convs)


def Stage(cin: int, width: int, blocks: int, block_width: int, out: int, stride: int) -> CspStage:
    """A CSP stage at the given widths (same module names as the full network's, so weights map 1:1)."""
    return CspStage(width, blocks, stride, cin=cin, block_width=block_width, out=out)


class SlicedFront(nn.Module):
    """stem .. stage2 at the given widths; same masking contract as Backbone.front.

    At full widths with the pretrained weights it computes exactly
    Backbone.front (build_pack.py checks max |diff| == 0), with masking that
    onnxruntime runs ~15 % faster: the stem's "-inf outside the frame" is an
    Add of a 1x1-conv-expanded bias (stays in MLAS' blocked layout) instead
    of a broadcast Where.
    """

    def __init__(self, w: Widths):
        super().__init__()
        self.widths = w
        self.stem = ConvAct(3, w.stem, stride=2)
        self.stage1 = Stage(w.stem, w.s1, 1, w.s1_block, w.s1_out, 1)
        self.stage2 = Stage(w.s1_out + w.s1, S2_WIDTH, 2, w.s2_block, S2_WIDTH, 2)
        # mask (0/1) -> 0 inside, NEG_BIG outside, on every stem channel: m * -NEG_BIG + NEG_BIG
        self.register_buffer("outside_w", torch.full((w.stem, 1, 1, 1), -NEG_BIG), persistent=False)
        self.register_buffer("outside_b", torch.full((w.stem,), NEG_BIG), persistent=False)

    def forward(self, x, mask=None):
        if mask is None:
            return self.stage2(self.stage1(F.max_pool2d(self.stem(x), 3, 2, 1)))
        x = x * mask
        y = self.stem(x) + F.conv2d(mask_at(mask, 2), self.outside_w, self.outside_b)
        # windows wholly outside hold NEG_BIG: the product is -0, which a conv treats as 0
        m4 = mask_at(mask, 4)
        y = F.max_pool2d(y, 3, 2, 1) * m4
        y = self.stage1(y, m4)
        return self.stage2(y, mask_at(mask, 8))


def _conv_pairs(front: SlicedFront, backbone: Backbone):
    """(student conv, pretrained conv, kept output idx, kept input idx) in data-flow order."""
    w = front.widths
    pairs = []

    def add(s: ConvAct, t: ConvAct, out_idx, in_idx):
        pairs.append((s.conv, t.conv, list(out_idx), list(in_idx)))
        return list(out_idx)

    stem = add(front.stem, backbone.stem.conv, range(w.stem), range(3))

    def stage(s: Stage, t, in_idx, width_idx, bw, out_idx):
        x = add(s.in_conv, t.in_conv, width_idx, in_idx)
        y = x
        for sb, tb in zip(s.res_blocks, t.res_blocks):
            half = tb.in_conv.conv.out_channels  # the block's original width
            a = add(sb.in_conv, tb.in_conv, range(bw), y)
            mid = add(sb.mid_conv, tb.mid_conv, range(bw), a)
            y = mid + [half + i for i in a]  # cat(mid, in)
        o = add(s.res_out_conv, t.res_out_conv, out_idx, y)
        full_out = t.res_out_conv.conv.out_channels
        return o + [full_out + i for i in x]  # cat(res_out, in_conv)

    s1 = stage(front.stage1, backbone.stage1, stem, range(w.s1), w.s1_block, range(w.s1_out))
    stage(front.stage2, backbone.stage2, s1, range(S2_WIDTH), w.s2_block, range(S2_WIDTH))
    return pairs


@torch.no_grad()
def init_from_pretrained(front: SlicedFront, backbone: Backbone) -> SlicedFront:
    """Every sliced conv starts as the pretrained conv's first channels (the prefix)."""
    for s, t, out_idx, in_idx in _conv_pairs(front, backbone):
        s.weight.copy_(t.weight[out_idx][:, in_idx])
        s.bias.copy_(t.bias[out_idx])
    return front


def build_level(w: Widths, backbone: Backbone, weights: dict[str, np.ndarray] | None = None) -> SlicedFront:
    """A sliced front: trained weights if given (state_dict arrays), else the pretrained prefix."""
    front = init_from_pretrained(SlicedFront(w).eval(), backbone)
    if weights is not None:
        front.load_state_dict({k: torch.from_numpy(np.asarray(v, np.float32)) for k, v in weights.items()})
    return front


@torch.no_grad()
def round_fp16(module: nn.Module) -> None:
    """Snap weights to float16 values, so the fp16-stored ONNX file is exactly the module evaluated."""
    for p in module.parameters():
        p.copy_(p.half().float())


def save_weights(path: str, fronts: dict[float, SlicedFront], meta: dict) -> None:
    arrays = {}
    for c, f in fronts.items():
        for k, v in f.state_dict().items():
            arrays[f"{level_name(c)}/{k}"] = v.detach().cpu().numpy().astype(np.float16)
        arrays[f"{level_name(c)}/__widths__"] = np.array(list(asdict(f.widths).values()), np.int32)
    arrays["__meta__"] = np.frombuffer(repr(meta).encode(), np.uint8)
    np.savez_compressed(path, **arrays)


def weights_meta(path: str) -> dict:
    """The training record save_weights stored (a dict literal), or {}."""
    import ast
    with np.load(path) as z:
        return ast.literal_eval(bytes(z["__meta__"]).decode()) if "__meta__" in z.files else {}


def load_weights(path: str) -> dict[float, tuple[Widths, dict[str, np.ndarray]]]:
    out: dict[float, tuple[Widths, dict[str, np.ndarray]]] = {}
    with np.load(path) as z:
        for c in LEVELS:
            prefix = level_name(c) + "/"
            if prefix + "__widths__" not in z.files:
                continue
            w = Widths(*(int(v) for v in z[prefix + "__widths__"]))
            out[c] = (w, {k[len(prefix):]: z[k] for k in z.files if k.startswith(prefix) and not k.endswith("__widths__")})
    return out
