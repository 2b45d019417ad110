"""Makes `crates/ferrite-infer/assets/mtcnn.safetensors` and the detector's parity fixture.

The weights are MTCNN's (Zhang et al. 2016, MIT licence) as the `facenet-pytorch` package
(MIT licence) ships them in `facenet_pytorch/data/{pnet,rnet,onet}.pt`; they are stored here
in PyTorch's layouts (conv OIHW, dense [out, in]) under `pnet.*`, `rnet.*`, `onet.*`, as
float16 (1 MB instead of 2: the private mode's WebAssembly module embeds them and has a size
budget), without O-Net's landmark head, which Ferrite does not use. The fixture holds each
network's outputs on a fixed gray pattern, computed by facenet-pytorch's own modules with the
weights rounded to float16 as stored, which
the tests of `crates/ferrite-infer/src/detect/mtcnn/nets.rs` compare the Rust networks with.

    python -m venv /tmp/mtcnn && /tmp/mtcnn/bin/pip install torch safetensors
    /tmp/mtcnn/bin/pip download --no-deps facenet-pytorch==2.6.0 -d /tmp/mtcnn/wheel
    /tmp/mtcnn/bin/python scripts/mtcnn_weights.py /tmp/mtcnn/wheel/facenet_pytorch-2.6.0-py3-none-any.whl
"""

import io
import json
import sys
import zipfile

import torch
from safetensors.torch import save_file

ASSET = "crates/ferrite-infer/assets/mtcnn.safetensors"
FIXTURE = "crates/ferrite-infer/tests/fixtures/mtcnn_parity.json"


def pattern(side_h, side_w, seed):
    """A gray test image in [0, 255], as the detector feeds it (the same value in R, G and B)."""
    y = torch.arange(side_h, dtype=torch.float32).unsqueeze(1)
    x = torch.arange(side_w, dtype=torch.float32).unsqueeze(0)
    gray = 127.5 + 100.0 * torch.sin(x * 0.37 + seed) * torch.cos(y * 0.23 - seed) + 20.0 * torch.sin(x * y * 0.05)
    return gray.round().clamp(0, 255)


def main(wheel):
    with zipfile.ZipFile(wheel) as z:
        states = {
            net: torch.load(io.BytesIO(z.read(f"facenet_pytorch/data/{net}.pt")))
            for net in ("pnet", "rnet", "onet")
        }
        source = z.read("facenet_pytorch/models/mtcnn.py").decode()
    tensors = {}
    for net, state in states.items():
        for name, value in state.items():
            if net == "onet" and name.startswith("dense6_3"):
                continue
            tensors[f"{net}.{name}"] = value.half().contiguous()
    save_file(tensors, ASSET)
    # What Ferrite computes with: the stored float16 values, widened.
    states = {net: {k: v.half().float() for k, v in state.items()} for net, state in states.items()}

    # facenet-pytorch's own module definitions, for the fixture.
    scope = {}
    exec(source.replace("from .utils.detect_face import detect_face, extract_face", ""), scope)
    nets = {}
    for net, cls in (("pnet", "PNet"), ("rnet", "RNet"), ("onet", "ONet")):
        module = scope[cls](pretrained=False)
        module.load_state_dict(states[net])
        module.eval()
        nets[net] = module

    fixture = {}
    cases = {"pnet": [(20, 27, 0.0)], "rnet": [(24, 24, 0.5), (24, 24, 1.5)], "onet": [(48, 48, 0.7), (48, 48, 2.0)]}
    with torch.no_grad():
        for net, shapes in cases.items():
            images = [pattern(h, w, seed) for h, w, seed in shapes]
            batch = torch.stack([img.expand(3, -1, -1) for img in images])
            outputs = nets[net]((batch - 127.5) * 0.0078125)
            fixture[net] = {
                "inputs": [img.flatten().tolist() for img in images],
                "height": shapes[0][0],
                "width": shapes[0][1],
                # P-Net: [N, C, H, W] maps; R-Net and O-Net: [N, C] rows.
                "regression": outputs[0].flatten().tolist(),
                "face_probability": outputs[-1][:, 1].flatten().tolist(),
            }
    with open(FIXTURE, "w") as f:
        json.dump(fixture, f)
    print(f"wrote {ASSET} ({len(tensors)} tensors) and {FIXTURE}")


if __name__ == "__main__":
    main(sys.argv[1])
