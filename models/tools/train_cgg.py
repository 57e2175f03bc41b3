"""Train the compression controller (CGG) on the labeling rule's labels.

Input: pairs of files written by `neulens label <video...> --out L.jsonl --patches P.u8`
(one JSON line per frame with each tile's label, and per line tiles x 3 x 28 x 28 bytes of
controller input: see src/importance/cgg.ts). Output: a neulens-cgg/1 JSON file with the
weights (float32, base64), a check vector, the skip threshold and the training record.

The architecture is the paper's: conv 7x7 stride 4 -> ReLU -> max-pool 2 -> fully
connected -> one logit per level (the compute levels, then 1 = skip). The live `arac`
uses the skip logit: a tile is skipped when P(skip) >= skipThreshold.

Only tiles with evidence (a change above noise since the tile was last computed, or a
track that moved: planes 1 or 2 non-zero) are learnt from; the live controller skips the
others without asking (Cgg.skipProbabilities), so the report counts them as skipped.
Each training video is split in time: the network learns on its first 75 % of frames and
the threshold is chosen on the last 25 %, the lowest that skips at most `--miss` of the
calibration tiles that needed computing; the held-out videos (--val) are only reported.

    python3 models/tools/train_cgg.py --train out/cgg/train.jsonl:out/cgg/train.u8 \\
        [--val out/cgg/val.jsonl:out/cgg/val.u8] --out models/tools/cgg.json

CPU is enough (a few seconds an epoch for ~10 k tiles); `--device cuda` if you have one.
"""
import argparse
import base64
import json
import os
import shutil
import time

import numpy as np
import torch
from torch import nn

SIZE = 28
PLANES = ["luma", "change since last computed", "track prime"]


class Cgg(nn.Module):
    def __init__(self, channels: int, levels: int):
        super().__init__()
        self.conv = nn.Conv2d(len(PLANES), channels, 7, stride=4, padding=3)
        self.pool = nn.MaxPool2d(2, ceil_mode=True)
        self.fc = nn.Linear(channels * 4 * 4, levels)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(torch.relu(self.conv(x))), 1))


def load(pair: str, levels: list):
    """Inputs (float, 0..1), label indices, video names and each frame's position in its video (0..1)."""
    labels_path, patches_path = pair.split(":")
    lines = [json.loads(s) for s in open(labels_path, encoding="utf-8") if s.strip()]
    raw = np.fromfile(patches_path, dtype=np.uint8)
    tiles = sum(len(l["levels"]) for l in lines)
    if raw.size != tiles * len(PLANES) * SIZE * SIZE:
        raise SystemExit(f"{patches_path}: {raw.size} bytes, {labels_path} needs {tiles * len(PLANES) * SIZE * SIZE}")
    x = raw.reshape(tiles, len(PLANES), SIZE, SIZE).astype(np.float32) / 255.0
    index = {l: i for i, l in enumerate(levels)}
    y = np.array([index[v] for l in lines for v in l["levels"]], dtype=np.int64)
    videos = np.array([l["video"] for l in lines for _ in l["levels"]])
    last = {}
    for l in lines:
        last[l["video"]] = max(last.get(l["video"], 0), l["seq"])
    when = np.array([l["seq"] / max(1, last[l["video"]]) for l in lines for _ in l["levels"]])
    return x, y, videos, when


def evidence(x: np.ndarray) -> np.ndarray:
    return (x[:, 1] > 0).any((1, 2)) | (x[:, 2] > 0).any((1, 2))


def synthetic_tile() -> np.ndarray:
    """The check vector's input: a fixed made-up tile (noise luma, sparse change, a track box),
    so that the shipped file holds no piece of the footage it was trained on."""
    rng = np.random.default_rng(0)
    tile = np.zeros((len(PLANES), SIZE, SIZE), dtype=np.float32)
    tile[0] = rng.random((SIZE, SIZE))
    tile[1] = np.where(rng.random((SIZE, SIZE)) < 0.2, rng.random((SIZE, SIZE)), 0)
    tile[2, 6:20, 9:17] = 0.6
    return tile


def skip_probabilities(model: nn.Module, xs: np.ndarray, skip: int, dev=torch.device("cpu")) -> np.ndarray:
    """P(skip) per tile, as the live controller gives it: 1 without running the network for a
    tile without evidence (Cgg.skipProbabilities)."""
    p = np.ones(len(xs), dtype=np.float32)
    ev = evidence(xs)
    if ev.any():
        with torch.no_grad():
            p[ev] = torch.softmax(model(torch.from_numpy(xs[ev]).to(dev)), 1)[:, skip].cpu().numpy()
    return p


def skip_stats(p_skip: np.ndarray, y: np.ndarray, skip: int, threshold: float) -> dict:
    """p_skip is 1 for tiles without evidence (never asked)."""
    need = y != skip
    skipped = p_skip >= threshold
    return {"tiles": int(y.size), "needCompute": round(float(need.mean()), 4),
            "missedWithoutEvidence": round(float(((p_skip >= 1) & need).sum() / max(1, need.sum())), 4),
            "computed": round(float((~skipped).mean()), 4),
            "missed": round(float((skipped & need).sum() / max(1, need.sum())), 4),
            "accuracy": round(float((skipped == ~need).mean()), 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", action="append", required=True, help="LABELS.jsonl:PATCHES.u8 (repeatable)")
    ap.add_argument("--val", action="append", default=[], help="held-out LABELS.jsonl:PATCHES.u8 (repeatable)")
    ap.add_argument("--levels", default="0,0.25,0.5,0.75,1", help="label levels, in logit order (the pack's, skip last)")
    ap.add_argument("--channels", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=80)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=5e-3)
    ap.add_argument("--miss", type=float, default=0.05, help="largest share of the asked must-compute calibration tiles the threshold may skip")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--planes", default="0,1,2", help="input planes the controller may use (the others get zero weights)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", required=True)
    ap.add_argument("--pack", help="also copy into this pack folder and record it in its manifest.json")
    args = ap.parse_args()

    levels = [float(v) for v in args.levels.split(",")]
    skip = len(levels) - 1
    parts = [load(p, levels) for p in args.train]
    use = [int(v) for v in args.planes.split(",")]
    unused = [p for p in range(len(PLANES)) if p not in use]
    x_all = np.concatenate([p[0] for p in parts])
    y_all = np.concatenate([p[1] for p in parts])
    when = np.concatenate([p[3] for p in parts])
    ev_all = evidence(x_all)
    fit = ev_all & (when < 0.75)
    x, y = x_all[fit], y_all[fit]
    trained_on = sorted({str(v) for p in parts for v in set(p[2].tolist())})
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    dev = torch.device(args.device)
    model = Cgg(args.channels, len(levels)).to(dev)
    with torch.no_grad():
        model.conv.weight[:, unused] = 0
    if unused:
        # Unused planes keep zero weights: their gradient is masked, so the export ignores them.
        model.conv.weight.register_hook(lambda g: g.index_fill(1, torch.tensor(unused, device=g.device), 0))
    # Class weights: the tiles that need computing (any compute level) count as much in total
    # as the skips, so the many easy skips (empty background) do not drown them. The compute
    # levels share one weight: some are rare (a few dozen tiles), and the live decision is
    # skip or not.
    n_skip = max(1, int((y == skip).sum()))
    n_comp = max(1, int((y != skip).sum()))
    weights = torch.tensor([len(y) / (2 * n_comp)] * skip + [len(y) / (2 * n_skip)], dtype=torch.float32, device=dev)
    loss_fn = nn.CrossEntropyLoss(weight=weights)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.epochs)
    xt = torch.from_numpy(x).to(dev)
    yt = torch.from_numpy(y).to(dev)
    t0 = time.time()
    for epoch in range(args.epochs):
        perm = torch.randperm(len(yt), device=dev)
        total = 0.0
        for i in range(0, len(perm), args.batch):
            idx = perm[i:i + args.batch]
            xb = xt[idx]
            # Mirror half the batch: the scenes' left and right are not special.
            flip = torch.rand(len(idx), device=dev) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            loss = loss_fn(model(xb), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        print(f"epoch {epoch + 1}/{args.epochs} loss {total / len(yt):.4f} ({time.time() - t0:.0f} s)", flush=True)
    seconds = time.time() - t0

    model.eval()
    p_all = lambda xs: skip_probabilities(model, xs, skip, dev)

    p_cal = p_all(x_all[when >= 0.75])
    y_cal = y_all[when >= 0.75]
    need = y_cal != skip
    # Misses among the asked tiles only (those without evidence are skipped whatever the threshold);
    # take the lowest threshold that keeps them within --miss: the most skipping allowed.
    asked = need & (p_cal < 1)
    threshold = 0.95
    for t in np.linspace(0.05, 0.95, 91):
        if (p_cal[asked] >= t).sum() <= args.miss * max(1, asked.sum()):
            threshold = float(round(t, 2))
            break
    metrics = {"fit (first 75 %)": skip_stats(p_all(x_all[when < 0.75]), y_all[when < 0.75], skip, threshold),
               "calibration (last 25 %)": skip_stats(p_cal, y_cal, skip, threshold)}
    for pair in args.val:
        xv, yv, vv, _ = load(pair, levels)
        pv = p_all(xv)
        for video in sorted(set(vv.tolist())):
            m = vv == video
            metrics[f"held out {video}"] = skip_stats(pv[m], yv[m], skip, threshold)
    for k, v in metrics.items():
        print(f"{k}: {v}")

    sd = {k: v.detach().cpu().numpy().astype("<f4") for k, v in model.state_dict().items()}
    b64 = lambda a: base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode("ascii")
    check = synthetic_tile()
    with torch.no_grad():
        check_logits = model(torch.from_numpy(check[None]).to(dev))[0].cpu().numpy()
    spec = {
        "format": "neulens-cgg/1",
        "inputSize": SIZE,
        "planes": PLANES,
        "conv": {"out": args.channels, "kernel": 7, "stride": 4, "pad": 3},
        "pool": {"kernel": 2},
        "levels": levels,
        "skipThreshold": threshold,
        "weights": {"convW": b64(sd["conv.weight"]), "convB": b64(sd["conv.bias"]), "fcW": b64(sd["fc.weight"]), "fcB": b64(sd["fc.bias"])},
        "check": {"input": b64(check), "logits": [float(v) for v in check_logits]},
        "training": {"trainedOn": trained_on, "tiles": int(y.size), "tilesWithoutEvidence": int((~ev_all).sum()), "epochs": args.epochs, "batch": args.batch, "lr": args.lr,
                     "seed": args.seed, "device": args.device, "torch": torch.__version__, "seconds": round(seconds, 1),
                     "miss": args.miss, "planesUsed": [PLANES[p] for p in use], "metrics": metrics},
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(spec, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out}: skip threshold {threshold}, {seconds:.0f} s")
    if args.pack:
        install(args.out, args.pack)


def controller_entry(path: str) -> dict:
    """The manifest's `controller` record for a cgg file inside the pack."""
    import hashlib
    spec = json.load(open(path, encoding="utf-8"))
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return {"kind": "cgg", "file": os.path.basename(path), "sha256": digest, "bytes": os.path.getsize(path),
            "levels": spec["levels"], "skipThreshold": spec["skipThreshold"],
            "trainedOn": spec["training"]["trainedOn"]}


def install(src: str, pack: str) -> None:
    """Copy the controller into the pack as cgg.json and record it in manifest.json."""
    dst = os.path.join(pack, "cgg.json")
    if os.path.abspath(src) != os.path.abspath(dst):
        shutil.copyfile(src, dst)
    mpath = os.path.join(pack, "manifest.json")
    manifest = json.load(open(mpath, encoding="utf-8"))
    manifest["controller"] = controller_entry(dst)
    with open(mpath, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print(f"installed {dst} in {mpath}")


if __name__ == "__main__":
    main()
