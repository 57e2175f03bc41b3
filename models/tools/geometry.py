"""Tile geometry, receptive fields and MAC counts for the ARAC split (mirrors src/arac/geometry.ts)."""
from __future__ import annotations

import math

import numpy as np
import torch

CELL = 32  # the largest stride: tile sides are multiples of it


def split_cells(n_cells: int, parts: int) -> list[int]:
    """n_cells cut into `parts` runs as equal as possible, larger runs first."""
    base, extra = divmod(n_cells, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def tiles(width: int, height: int, cols: int, rows: int) -> list[dict]:
    if width % CELL or height % CELL:
        raise ValueError(f"{width}x{height} is not a multiple of {CELL}")
    xs = split_cells(width // CELL, cols)
    ys = split_cells(height // CELL, rows)
    out, y = [], 0
    for r, th in enumerate(ys):
        x = 0
        for c, tw in enumerate(xs):
            out.append({"index": r * cols + c, "col": c, "row": r, "x": x * CELL, "y": y * CELL, "w": tw * CELL, "h": th * CELL})
            x += tw
        y += th
    return out


def window_size(ts: list[dict], halo: int) -> tuple[int, int]:
    """One window size for every tile (so tiles batch): the largest tile plus the halo on each side."""
    return max(t["w"] for t in ts) + 2 * halo, max(t["h"] for t in ts) + 2 * halo


def gather_windows(img: np.ndarray, ts: list[dict], halo: int, win_w: int, win_h: int):
    """Cut each tile's window (tile origin - halo) from a CHW image; outside the image: 0 and mask 0."""
    c, h, w = img.shape
    imgs = np.zeros((len(ts), c, win_h, win_w), np.float32)
    masks = np.zeros((len(ts), 1, win_h, win_w), np.float32)
    for i, t in enumerate(ts):
        x0, y0 = t["x"] - halo, t["y"] - halo
        sx0, sy0 = max(x0, 0), max(y0, 0)
        sx1, sy1 = min(x0 + win_w, w), min(y0 + win_h, h)
        imgs[i, :, sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = img[:, sy0:sy1, sx0:sx1]
        masks[i, :, sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = 1
    return imgs, masks


def exact_halo(rf: int, stride: int) -> int:
    return math.ceil((rf - 1) / 2 / stride) * stride


def receptive_fields(model) -> list[dict]:
    """Receptive field (input pixels) and stride of each candidate split point, along the longest path."""
    rf, jump, out = 1, 1, []

    def conv(k, s):
        nonlocal rf, jump
        rf += (k - 1) * jump
        jump *= s

    def mark(name, note=""):
        out.append({"name": name, "stride": jump, "rf": rf, **({"note": note} if note else {})})

    b = model.backbone
    conv(3, 2); mark("backbone.stem.conv")
    conv(3, 2); mark("backbone.stem.pool")
    for i, stage in enumerate((b.stage1, b.stage2, b.stage3, b.stage4), 1):
        conv(3, stage.stride)
        for _ in stage.res_blocks:
            conv(3, 1); conv(3, 1)
        conv(3, 1)
        mark(f"backbone.stage{i}")
    out.append({"name": "fpn+head", "stride": 8, "rf": None,
                "note": "the PAN resizes stride-32 features up to stride 8: every output sees the whole frame"})
    return out


def macs_by_part(model, width: int, height: int) -> dict:
    """Multiply-accumulates of every conv, grouped by part, at one input size."""
    counts: dict[str, int] = {}
    hooks = []
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.Conv2d):
            part = ".".join(name.split(".")[:2]) if name.startswith("backbone") else ".".join(name.split(".")[:2])

            def hook(m, inp, outp, part=part):
                k = m.kernel_size[0] * m.kernel_size[1] * m.in_channels // m.groups
                counts[part] = counts.get(part, 0) + k * outp.numel() // outp.shape[0]
            hooks.append(mod.register_forward_hook(hook))
    with torch.no_grad():
        model(torch.zeros(1, 3, height, width))
    for h in hooks:
        h.remove()
    total = sum(counts.values())
    return {"width": width, "height": height, "total": total,
            "parts": [{"part": k, "macs": v, "share": round(v / total, 4)} for k, v in counts.items()]}
