"""Image preprocessing references for infer.ImageProcessor and ClassifyImage.

Run from the repository root:

    /usr/bin/python3 tools/golden/infer_images.py

Writes testdata/infer/{down,up}.png (a 45x29 RGB and a 9x13 RGBA image of
seeded noise plus gradients) and testdata/infer/images.safetensors with, for
each image: `<name>.resized` (F32 [16,16,3], the uint8 pixels PIL's
Image.resize((16, 16), BILINEAR) gives after convert("RGB")),
`<name>.pixel_values` (F32 [1,3,16,16]: transformers' ViTImageProcessor
steps, rescale 1/255 in float64 then float32, normalise with mean/std 0.5) and
`<name>.probs` (F32 [1,5]: softmax of the tiny ViT's logits, the PyTorch
mirror of tools/golden/models.py on testdata/models/vit).
"""
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models as M  # noqa: E402
from generate import read_safetensors  # noqa: E402

OUT = "testdata/infer"


def make(w, h, mode, seed):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 / max(w - 1, 1), yy * 255 / max(h - 1, 1), (xx + yy) * 127 / (w + h)], -1)
    px = np.clip(base + rng.integers(-60, 60, (h, w, 3)), 0, 255).astype(np.uint8)
    if mode == "RGBA":
        alpha = rng.integers(0, 256, (h, w, 1), dtype=np.uint8)
        px = np.concatenate([px, alpha], -1)
    return Image.fromarray(px, mode)


def preprocess(img):
    rgb = img.convert("RGB").resize((16, 16), resample=Image.BILINEAR, reducing_gap=None)
    arr = np.array(rgb)
    x = (arr * (1 / 255)).astype(np.float32)
    mean = np.array([0.5, 0.5, 0.5], dtype=np.float32)
    std = np.array([0.5, 0.5, 0.5], dtype=np.float32)
    x = ((x - mean) / std).astype(np.float32)
    return arr, x.transpose(2, 0, 1)[None]


def main():
    os.makedirs(OUT, exist_ok=True)
    cfg = M.json.load(open("testdata/models/vit/config.json"))
    vit = M.ViTForImageClassification(cfg)
    vit.load_state_dict(read_safetensors("testdata/models/vit/model.safetensors"), strict=True)
    vit.eval()
    tensors = {}
    for name, (w, h, mode, seed) in {"down": (45, 29, "RGB", 1), "up": (9, 13, "RGBA", 2)}.items():
        img = make(w, h, mode, seed)
        img.save(os.path.join(OUT, name + ".png"))
        img = Image.open(os.path.join(OUT, name + ".png"))
        arr, pv = preprocess(img)
        with torch.no_grad():
            logits = vit(torch.from_numpy(pv))[0]
        tensors[name + ".resized"] = torch.from_numpy(arr.astype(np.float32))
        tensors[name + ".pixel_values"] = torch.from_numpy(pv)
        tensors[name + ".probs"] = torch.softmax(logits, -1)
    M.save(os.path.join(OUT, "images.safetensors"), tensors, {"format": "pt"})


if __name__ == "__main__":
    main()
