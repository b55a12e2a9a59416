"""Draws images from a fedbit model.safetensors with DDIM (eta = 0) and writes a PNG grid.

    python3 python/sample_ddim.py model.safetensors --count 16 --steps 50 --out samples.png

DDIM: Song, Meng, Ermon, "Denoising Diffusion Implicit Models", arXiv 2010.02502, eq. 12 with
eta = 0, on an evenly spaced subsequence of the T training timesteps; x_0 is predicted and clipped
to [-1, 1] as DDPM's reference code does (the same loop as packages/diffusion/src/sampler.ts).
Schedules: linear (Ho et al., arXiv 2006.11239) and cosine (Nichol & Dhariwal, arXiv 2102.09672),
read from the file's metadata. Runs with PyTorch when it is installed, else with NumPy.
"""
import argparse
import json
import math
import struct
import sys
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fedbit_unet  # noqa: E402


def alpha_bars(kind, T):
    if kind == "linear":
        scale = 1000 / T
        start, end = min(scale * 1e-4, 0.999), min(scale * 0.02, 0.999)
        betas = np.array([start + (end - start) * t / (T - 1) for t in range(T)])
    elif kind == "cosine":
        f = lambda t: math.cos(((t / T + 0.008) / 1.008) * math.pi / 2) ** 2  # noqa: E731
        betas = np.array([min(1 - f(t + 1) / f(t), 0.999) for t in range(T)])
    else:
        raise ValueError(f"unknown schedule kind {kind!r}: expected 'linear' or 'cosine'")
    return np.cumprod(1 - betas)


def sampling_timesteps(T, steps):
    s = max(1, min(int(steps), T))
    if s == 1:
        return [T - 1]
    return [math.floor(i * (T - 1) / (s - 1) + 0.5) for i in range(s)]


def ddim(eps_fn, shape, abar, steps, rng):
    """The whole sampler: a few lines around the denoiser eps_fn(x, t)."""
    taus = sampling_timesteps(len(abar), steps)
    x = rng.standard_normal(shape)
    for i in reversed(range(len(taus))):
        ab = abar[taus[i]]
        ab_prev = abar[taus[i - 1]] if i > 0 else 1.0
        eps = eps_fn(x, taus[i])
        x0 = np.clip((x - math.sqrt(1 - ab) * eps) / math.sqrt(ab), -1, 1)
        eps = (x - math.sqrt(ab) * x0) / math.sqrt(1 - ab)
        x = math.sqrt(ab_prev) * x0 + math.sqrt(1 - ab_prev) * eps
    return np.clip((x + 1) / 2, 0, 1)


def write_png(path, images, cols):
    """images [n, C, H, W] in [0, 1] as one grayscale or RGB PNG grid."""
    n, c, h, w = images.shape
    rows = -(-n // cols)
    grid = np.zeros((rows * (h + 2), cols * (w + 2), c), dtype=np.uint8)
    for k in range(n):
        r, q = divmod(k, cols)
        grid[r * (h + 2) + 1 : r * (h + 2) + 1 + h, q * (w + 2) + 1 : q * (w + 2) + 1 + w] = np.round(images[k].transpose(1, 2, 0) * 255)
    height, width = grid.shape[:2]
    raw = b"".join(b"\x00" + grid[y].tobytes() for y in range(height))
    chunk = lambda tag, data: struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))  # noqa: E731
    color = 0 if c == 1 else 2
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0))
    Path(path).write_bytes(png + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("weights", help="model.safetensors from GET /api/model/model.safetensors")
    ap.add_argument("--count", type=int, default=16)
    ap.add_argument("--steps", type=int, default=50, help="denoising steps (at most T)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--label", type=int, default=None, help="class to draw (class-conditional models)")
    ap.add_argument("--out", default="samples.png")
    ap.add_argument("--backend", choices=["auto", "torch", "numpy"], default="auto")
    args = ap.parse_args()

    params, meta = fedbit_unet.read_safetensors(args.weights)
    cfg = json.loads(meta["fedbit.config"])
    if "fedbit.schedule" not in meta:
        sys.exit(f"{args.weights} has no fedbit.schedule metadata: expected a file served by a fedbit aggregator")
    schedule = json.loads(meta["fedbit.schedule"])
    abar = alpha_bars(schedule["kind"], schedule["steps"])
    labels = None if args.label is None else np.full(args.count, args.label)
    use_torch = args.backend == "torch" or (args.backend == "auto" and fedbit_unet.torch is not None)
    if use_torch:
        if fedbit_unet.torch is None:
            sys.exit("--backend torch: PyTorch is not installed (pip install torch), or use --backend numpy")
        torch = fedbit_unet.torch
        model = fedbit_unet.FedbitUNet.from_safetensors(args.weights).eval()

        def eps_fn(x, t):
            with torch.no_grad():
                xt = torch.from_numpy(x.astype(np.float32))
                return model(xt, torch.full((x.shape[0],), t), labels).double().numpy()
    else:

        def eps_fn(x, t):
            return fedbit_unet.numpy_forward(cfg, params, x, np.full(x.shape[0], t), labels)

    shape = (args.count, cfg["channels"], cfg["imageSize"], cfg["imageSize"])
    images = ddim(eps_fn, shape, abar, args.steps, np.random.default_rng(args.seed))
    write_png(args.out, images, cols=min(8, args.count))
    print(f"{args.count} images ({'torch' if use_torch else 'numpy'}, {args.steps} DDIM steps) -> {args.out}")


if __name__ == "__main__":
    main()
