"""Read a TensorFlow.js graph model (model.json + weight shards) into numpy.

Only what the NanoDet conversion needs: the node list and every weight,
dequantized the way tfjs does it (float16-stored weights widen to float32).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

_DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}
_QUANT = {"float16": np.float16, "uint8": np.uint8, "uint16": np.uint16}


@dataclass
class Node:
    name: str
    op: str
    inputs: list[str]
    attr: dict


class TfjsGraph:
    def __init__(self, model_json_path: str):
        with open(model_json_path, "r", encoding="utf-8") as f:
            self.meta = json.load(f)
        base = os.path.dirname(model_json_path)
        self.nodes = [
            Node(n["name"], n["op"], [i.split(":")[0] for i in n.get("input", [])], n.get("attr", {}))
            for n in self.meta["modelTopology"]["node"]
        ]
        self.by_name = {n.name: n for n in self.nodes}
        self.weights: dict[str, np.ndarray] = {}
        for group in self.meta["weightsManifest"]:
            blob = b"".join(open(os.path.join(base, p), "rb").read() for p in group["paths"])
            offset = 0
            for spec in group["weights"]:
                shape = spec["shape"]
                count = int(np.prod(shape)) if shape else 1
                quant = spec.get("quantization")
                if quant:
                    qtype = _QUANT[quant["dtype"]]
                    raw = np.frombuffer(blob, dtype=qtype, count=count, offset=offset)
                    offset += raw.nbytes
                    if quant["dtype"] == "float16":
                        arr = raw.astype(np.float32)
                    else:  # affine-quantized integers
                        arr = raw.astype(np.float32) * quant["scale"] + quant["min"]
                else:
                    dtype = _DTYPES[spec["dtype"]]
                    arr = np.frombuffer(blob, dtype=dtype, count=count, offset=offset)
                    offset += arr.nbytes
                self.weights[spec["name"]] = arr.reshape(shape).copy()
            if offset != len(blob):
                raise ValueError(f"weight shards hold {len(blob)} bytes, manifest describes {offset}")

    def consumers(self, name: str) -> list[Node]:
        return [n for n in self.nodes if name in n.inputs]

    def conv_params(self) -> dict[str, tuple[np.ndarray, np.ndarray, int]]:
        """Each Conv2D's (weight OIHW, bias, stride), keyed by node name.

        The graph stores weights HWIO and adds the bias in a separate Add node
        right after the conv; both are folded back into one conv here.
        """
        out = {}
        for n in self.nodes:
            if n.op != "Conv2D":
                continue
            w = self.weights[n.inputs[1]]
            adds = [c for c in self.consumers(n.name) if c.op in ("Add", "AddV2", "BiasAdd")]
            if len(adds) != 1:
                raise ValueError(f"{n.name}: expected one bias Add, found {len(adds)}")
            b = self.weights[[i for i in adds[0].inputs if i != n.name][0]]
            stride = int(n.attr["strides"]["list"]["i"][1])
            out[n.name] = (np.ascontiguousarray(w.transpose(3, 2, 0, 1)), b.astype(np.float32), stride)
        return out
