"""Plot what a trained compression controller trades: for each threshold on P(skip), the share
of tiles it computes against the share of must-compute tiles it skips, per split: the training
videos' calibration part (their last 25 %) and each held-out video. Its chosen threshold is
marked, and so is a rule that needs no training on the same inputs (compute a tile when at least
1 % of it changed above the noise level, or a moved track is in it).

    python3 models/tools/plot_cgg.py --cgg models/tools/cgg.json \\
        --train out/cgg/train.jsonl:out/cgg/train.u8 --val out/cgg/val.jsonl:out/cgg/val.u8 \\
        --out docs/results/cgg-threshold.svg

Writes a standalone SVG (no plotting library needed).
"""
import argparse
import base64
import json

import numpy as np
import torch

from train_cgg import Cgg, load, skip_probabilities

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def floats(b64: str, shape) -> torch.Tensor:
    return torch.from_numpy(np.frombuffer(base64.b64decode(b64), dtype="<f4").copy().reshape(shape))


def load_model(spec: dict) -> Cgg:
    c = spec["conv"]["out"]
    levels = len(spec["levels"])
    model = Cgg(c, levels)
    w = spec["weights"]
    with torch.no_grad():
        model.conv.weight.copy_(floats(w["convW"], (c, 3, 7, 7)))
        model.conv.bias.copy_(floats(w["convB"], (c,)))
        model.fc.weight.copy_(floats(w["fcW"], (levels, c * 16)))
        model.fc.bias.copy_(floats(w["fcB"], (levels,)))
    model.eval()
    return model


def curve(p: np.ndarray, need: np.ndarray):
    """(computed share, missed share) for each threshold; p is 1 where the tile had no evidence."""
    pts = []
    for t in np.linspace(0.02, 0.99, 98):
        skipped = p >= t
        pts.append((float((~skipped).mean()), float((skipped & need).sum() / max(1, need.sum()))))
    return pts


def rule(x: np.ndarray, need: np.ndarray):
    computed = ((x[:, 1] > 0).mean((1, 2)) >= 0.01) | (x[:, 2] > 0).any((1, 2))
    return float(computed.mean()), float((~computed & need).sum() / max(1, need.sum()))


def svg(series, threshold: float, out: str) -> None:
    W, H, L, R, T, B = 700, 440, 60, 250, 30, 50
    pw, ph = W - L - R, H - T - B
    sx = lambda v: L + v * pw
    sy = lambda v: T + ph - v * ph
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
             f'<rect width="{W}" height="{H}" fill="white"/>',
             f'<text x="{L}" y="18" font-size="13">Compression controller: tiles computed vs must-compute tiles skipped</text>']
    for i in range(6):
        v = i / 5
        parts.append(f'<line x1="{sx(v)}" y1="{T}" x2="{sx(v)}" y2="{T + ph}" stroke="#eee"/><text x="{sx(v)}" y="{T + ph + 15}" text-anchor="middle">{v:.1f}</text>')
        parts.append(f'<line x1="{L}" y1="{sy(v)}" x2="{L + pw}" y2="{sy(v)}" stroke="#eee"/><text x="{L - 6}" y="{sy(v) + 4}" text-anchor="end">{v:.1f}</text>')
    parts.append(f'<rect x="{L}" y="{T}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>')
    parts.append(f'<text x="{L + pw / 2}" y="{H - 12}" text-anchor="middle">share of tiles computed</text>')
    parts.append(f'<text x="16" y="{T + ph / 2}" text-anchor="middle" transform="rotate(-90 16 {T + ph / 2})">share of must-compute tiles skipped</text>')
    for i, (name, pts, chosen, rpt) in enumerate(series):
        col = COLOURS[i % len(COLOURS)]
        parts.append('<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>' % (col, " ".join(f"{sx(a):.1f},{sy(b):.1f}" for a, b in pts)))
        parts.append(f'<circle cx="{sx(chosen[0]):.1f}" cy="{sy(chosen[1]):.1f}" r="4.5" fill="{col}"/>')
        parts.append(f'<rect x="{sx(rpt[0]) - 4:.1f}" y="{sy(rpt[1]) - 4:.1f}" width="8" height="8" fill="none" stroke="{col}" stroke-width="1.5"/>')
        y = T + 10 + 16 * i
        parts.append(f'<line x1="{L + pw + 12}" y1="{y}" x2="{L + pw + 30}" y2="{y}" stroke="{col}" stroke-width="2"/><text x="{L + pw + 35}" y="{y + 4}">{name}</text>')
    y = T + 10 + 16 * len(series) + 10
    parts.append(f'<circle cx="{L + pw + 21}" cy="{y}" r="4.5" fill="#444"/><text x="{L + pw + 35}" y="{y + 4}">CGG at threshold {threshold}</text>')
    parts.append(f'<rect x="{L + pw + 17}" y="{y + 12}" width="8" height="8" fill="none" stroke="#444" stroke-width="1.5"/><text x="{L + pw + 35}" y="{y + 20}">rule: 1 % changed or</text>')
    parts.append(f'<text x="{L + pw + 35}" y="{y + 34}">a moved track</text>')
    parts.append('</svg>')
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(parts) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cgg", required=True)
    ap.add_argument("--train", action="append", default=[], help="LABELS.jsonl:PATCHES.u8 (their last 25 %% is plotted)")
    ap.add_argument("--val", action="append", default=[], help="held-out LABELS.jsonl:PATCHES.u8 (each video plotted)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    spec = json.load(open(args.cgg, encoding="utf-8"))
    levels = spec["levels"]
    skip = len(levels) - 1
    model = load_model(spec)

    series = []
    groups = []
    if args.train:
        parts = [load(p, levels) for p in args.train]
        x = np.concatenate([p[0] for p in parts])
        y = np.concatenate([p[1] for p in parts])
        when = np.concatenate([p[3] for p in parts])
        groups.append(("calibration (last 25 %)", x[when >= 0.75], y[when >= 0.75]))
    for pair in args.val:
        xv, yv, vv, _ = load(pair, levels)
        for video in sorted(set(vv.tolist())):
            m = vv == video
            groups.append((f"held out: {video.rsplit('.', 1)[0][:18]}", xv[m], yv[m]))
    t = spec["skipThreshold"]
    for name, x, y in groups:
        need = y != skip
        p = skip_probabilities(model, x, skip)
        skipped = p >= t
        chosen = (float((~skipped).mean()), float((skipped & need).sum() / max(1, need.sum())))
        r = rule(x, need)
        series.append((name, curve(p, need), chosen, r))
        print(f"{name}: CGG computes {chosen[0]:.3f}, skips {chosen[1]:.3f} of must-compute; rule computes {r[0]:.3f}, skips {r[1]:.3f}")
    svg(series, t, args.out)
    print(f"plot: {args.out}")


if __name__ == "__main__":
    main()
