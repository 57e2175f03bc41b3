"""Images for distilling and evaluating the sliced levels (train_levels.py, eval_levels.py).

Sources, never copied into the project: the development videos and coco128
under /work/shared/data (or --data). Video frames are decoded by ffmpeg
straight into memory. Each source is split so evaluation never sees a
training image: a video's last 20 % (after a 5 % gap) is held out; of
coco128 the last 28 images by name are held out.
"""
from __future__ import annotations

import glob
import os
import random
import shutil
import subprocess

import numpy as np

MEAN = np.array([103.53, 116.28, 123.675], np.float32)  # BGR, as the pack's manifest
STD = np.array([57.375, 57.12, 58.395], np.float32)
MAX_SIDE = 640  # frames are kept at most this wide/tall: crops at 512 need no upscaling of big videos
PER_VIDEO = 120  # frames kept per video (evenly spaced)
HOLDOUT, GAP = 0.20, 0.05
COCO_HOLDOUT = 28


def ffmpeg_bin() -> str:
    for p in (shutil.which("ffmpeg"), "node_modules/@ffmpeg-installer/linux-x64/ffmpeg"):
        if p and os.path.exists(p):
            return p
    raise SystemExit("ffmpeg not found (install it, or run from the repo root after npm ci)")


def probe(path: str) -> tuple[int, int, int]:
    """width, height, frame count (counted by decoding packets: containers lie)."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
                          "-show_entries", "stream=width,height,nb_read_packets", "-of", "csv=p=0", path],
                         check=True, capture_output=True, text=True).stdout.strip().split(",")
    return int(out[0]), int(out[1]), int(out[2])


def fit(w: int, h: int, limit: int = MAX_SIDE) -> tuple[int, int]:
    s = min(1.0, limit / max(w, h))
    return max(2, round(w * s / 2) * 2), max(2, round(h * s / 2) * 2)


def decode_video(path: str, per_video: int = PER_VIDEO) -> list[np.ndarray]:
    """Evenly spaced frames as HxWx3 uint8 BGR."""
    w, h, n = probe(path)
    step = max(1, n // per_video)
    ow, oh = fit(w, h)
    raw = subprocess.run([ffmpeg_bin(), "-v", "error", "-nostdin", "-i", path, "-vf",
                          f"select=not(mod(n\\,{step})),scale={ow}:{oh}", "-vsync", "0",
                          "-f", "rawvideo", "-pix_fmt", "bgr24", "-"], check=True, capture_output=True).stdout
    frames = np.frombuffer(raw, np.uint8).reshape(-1, oh, ow, 3)
    return [f for f in frames]


def load_image(path: str) -> np.ndarray:
    """HxWx3 uint8 BGR, at most MAX_SIDE (PIL, else torchvision's JPEG decoder)."""
    try:
        from PIL import Image
    except ImportError:
        import torch
        import torchvision.io as tio
        t = tio.decode_jpeg(tio.read_file(path)).permute(1, 2, 0).numpy()
        w, h = fit(t.shape[1], t.shape[0])
        if (w, h) != (t.shape[1], t.shape[0]):
            t = torch.nn.functional.interpolate(torch.from_numpy(t).permute(2, 0, 1)[None].float(), size=(h, w), mode="bilinear",
                                                antialias=True)[0].round().clamp(0, 255).byte().permute(1, 2, 0).numpy()
        return t[:, :, ::-1].copy()
    img = Image.open(path).convert("RGB")
    w, h = fit(*img.size)
    if (w, h) != img.size:
        img = img.resize((w, h), Image.BILINEAR)
    return np.asarray(img)[:, :, ::-1].copy()  # BGR


def split_video(frames: list, holdout=HOLDOUT, gap=GAP):
    n = len(frames)
    test_from = int(round(n * (1 - holdout)))
    train_to = int(round(n * (1 - holdout - gap)))
    return frames[:train_to], frames[test_from:]


def collect(data_dir: str, verbose: bool = True) -> dict[str, dict[str, list[np.ndarray]]]:
    """{'train'|'test': {source name: [BGR uint8 images]}}."""
    out: dict[str, dict[str, list[np.ndarray]]] = {"train": {}, "test": {}}
    videos = sorted(glob.glob(os.path.join(data_dir, "*", "*.mp4")) + glob.glob(os.path.join(data_dir, "*", "*.avi")))
    for v in videos:
        name = os.path.basename(os.path.dirname(v))
        tr, te = split_video(decode_video(v))
        out["train"][name], out["test"][name] = tr, te
        if verbose:
            print(f"  {name}: {len(tr)} train, {len(te)} held-out frames", flush=True)
    coco = sorted(glob.glob(os.path.join(data_dir, "coco128-train2017", "images", "*.jpg")))
    if coco:
        out["train"]["coco128"] = [load_image(p) for p in coco[:-COCO_HOLDOUT]]
        out["test"]["coco128"] = [load_image(p) for p in coco[-COCO_HOLDOUT:]]
        if verbose:
            print(f"  coco128: {len(coco) - COCO_HOLDOUT} train, {COCO_HOLDOUT} held-out images", flush=True)
    if not out["train"]:
        raise SystemExit(f"no videos or coco128 images under {data_dir}")
    return out


def dump_jpgs(sets: dict, folder: str, quality: int = 75, max_side: int = 480) -> None:
    """Write the training images as JPEG (for a machine without the data, e.g. a GPU box).

    Smaller than in memory (at most 480 px, quality 75): ~12 MB for the default sets."""
    from PIL import Image
    os.makedirs(folder, exist_ok=True)
    for src, imgs in sets["train"].items():
        for i, im in enumerate(imgs):
            img = Image.fromarray(im[:, :, ::-1])
            w, h = fit(*img.size, limit=max_side)
            img = img.resize((w, h), Image.BILINEAR) if (w, h) != img.size else img
            img.save(os.path.join(folder, f"{src}-{i:04d}.jpg"), quality=quality)


def load_jpgs(folder: str) -> dict[str, dict[str, list[np.ndarray]]]:
    train: dict[str, list[np.ndarray]] = {}
    for p in sorted(glob.glob(os.path.join(folder, "*.jpg"))):
        train.setdefault(os.path.basename(p).rsplit("-", 1)[0], []).append(load_image(p))
    return {"train": train, "test": {}}


def to_tensor(img: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 BGR -> 3xHxW float32, normalised as the pack's input."""
    return ((img.astype(np.float32) - MEAN) / STD).transpose(2, 0, 1).copy()


def resize(img: np.ndarray, w: int, h: int) -> np.ndarray:
    """Stretch to w x h, as the project's ffmpeg scaling does."""
    from PIL import Image
    if img.shape[1] == w and img.shape[0] == h:
        return img
    return np.asarray(Image.fromarray(img).resize((w, h), Image.BILINEAR))


TRAIN_SIZES = [(512, 384), (512, 288), (416, 416), (384, 288), (320, 256)]


class Sampler:
    """Random training batches: scale jitter (0.6-1.4 of stretch-to-fit), random crop or
    mean-padding to one of TRAIN_SIZES, horizontal flips. Sources are drawn evenly, so a
    long video does not dominate. Images live on `device` and are augmented there."""

    def __init__(self, train: dict[str, list[np.ndarray]], seed: int = 0, sizes=TRAIN_SIZES, device: str = "cpu"):
        import torch
        self.torch = torch
        self.sources = [[torch.from_numpy(np.ascontiguousarray(i)).permute(2, 0, 1).to(device) for i in imgs]
                        for imgs in train.values() if imgs]
        self.rng = random.Random(seed)
        self.sizes = sizes
        self.device = device
        self.mean = torch.tensor(MEAN, device=device).view(3, 1, 1)
        self.std = torch.tensor(STD, device=device).view(3, 1, 1)

    def _one(self, img, w: int, h: int):
        F = self.torch.nn.functional
        s = self.rng.uniform(0.6, 1.4)
        sw, sh = max(8, int(w * s * self.rng.uniform(0.9, 1.1))), max(8, int(h * s))
        im = F.interpolate(img[None].float(), size=(sh, sw), mode="bilinear", align_corners=False, antialias=sw < img.shape[2])[0]
        im = (im - self.mean) / self.std
        out = self.torch.zeros(3, h, w, device=self.device)  # the mean colour, normalised
        x0 = self.rng.randint(0, max(0, sw - w))
        y0 = self.rng.randint(0, max(0, sh - h))
        crop = im[:, y0:y0 + h, x0:x0 + w]
        ox = self.rng.randint(0, w - crop.shape[2])
        oy = self.rng.randint(0, h - crop.shape[1])
        out[:, oy:oy + crop.shape[1], ox:ox + crop.shape[2]] = crop
        return out.flip(2) if self.rng.random() < 0.5 else out

    def batch(self, n: int):
        w, h = self.rng.choice(self.sizes)
        return self.torch.stack([self._one(self.rng.choice(self.rng.choice(self.sources)), w, h) for _ in range(n)])
