"""One denoising step from model.safetensors, for the tests (test/export.test.ts).

    python3 python/check_step.py model.safetensors inputs.json --backend numpy|torch

inputs.json: {"shape": [n, H, W, C], "x": [...NHWC values], "t": [...], "labels": [...] or null}.
Prints {"eps": [...NHWC values]}. Exits 3 when --backend torch is asked for and torch is absent.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fedbit_unet  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("weights")
ap.add_argument("inputs")
ap.add_argument("--backend", choices=["numpy", "torch"], default="numpy")
args = ap.parse_args()

inputs = json.loads(Path(args.inputs).read_text())
x = np.asarray(inputs["x"], dtype=np.float32).reshape(inputs["shape"]).transpose(0, 3, 1, 2)
t = np.asarray(inputs["t"], dtype=np.int64)
labels = inputs.get("labels")
if args.backend == "numpy":
    params, meta = fedbit_unet.read_safetensors(args.weights)
    eps = fedbit_unet.numpy_forward(json.loads(meta["fedbit.config"]), params, x, t, labels)
else:
    torch = fedbit_unet.torch
    if torch is None:
        print("torch is not installed", file=sys.stderr)
        sys.exit(3)
    model = fedbit_unet.FedbitUNet.from_safetensors(args.weights).eval()
    with torch.no_grad():
        eps = model(torch.from_numpy(x), torch.from_numpy(t), None if labels is None else torch.tensor(labels)).numpy()
print(json.dumps({"eps": eps.transpose(0, 2, 3, 1).astype(np.float64).reshape(-1).tolist()}))
