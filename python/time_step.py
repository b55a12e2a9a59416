"""Times the fedbit U-Net's training step in PyTorch, for the cases a `bench:train --json` run timed.

    npm run bench:train -- --backend webgpu,wasm --batch 8,64 --json > bench.json
    python3 python/time_step.py bench.json [--device cuda] [--steps 50] [--warmup 10] [--json]

The same step as packages/diffusion/src/trainer.ts (DDPM epsilon objective, Ho et al., arXiv
2006.11239, Algorithm 1): timesteps uniform on a cosine schedule of 1000 steps, Gaussian noise,
x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, forward, mean squared error, backward, Adam
(lr 1e-3), and the loss read back to the host (which waits for the GPU). The network is
fedbit_unet.FedbitUNet built from each case's `config` in the bench's JSON, so both sides time
the same U-Net; eager mode, float32, no torch.compile. Reports the median wall time per step
after warm-up. Exits 3 where torch is not installed.
"""
import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fedbit_unet  # noqa: E402

torch = fedbit_unet.torch


def cosine_alpha_bars(steps, s=0.008):
    """abar_t of the cosine schedule (Nichol & Dhariwal, arXiv 2102.09672), as schedule.ts makes it."""
    f = [math.cos(((t / steps) + s) / (1 + s) * math.pi / 2) ** 2 for t in range(steps + 1)]
    return [min(max(f[t + 1] / f[0], 1e-5), 1.0) for t in range(steps)]


def time_case(config, batch, device, steps, warmup, seed=0):
    torch.manual_seed(seed)
    model = fedbit_unet.FedbitUNet(config).to(device)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(".weight") and p.dim() > 1:
                fan_in = p[0].numel()
                p.normal_(0, math.sqrt(2.0 / fan_in))
            elif name.endswith(".weight") and "norm" in name:
                p.fill_(1.0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    size, channels = config["imageSize"], config["channels"]
    images = torch.rand(batch, channels, size, size, device=device)
    abar = torch.tensor(cosine_alpha_bars(1000), device=device)
    gen = torch.Generator().manual_seed(seed)

    def step():
        t = torch.randint(0, 1000, (batch,), generator=gen)
        a = abar[t.to(device)].reshape(-1, 1, 1, 1)
        eps = torch.randn(images.shape, device=device)
        x_t = a.sqrt() * (2 * images - 1) + (1 - a).sqrt() * eps
        pred = model(x_t, t)
        loss = torch.mean((pred - eps) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    losses = [step() for _ in range(warmup)]
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        losses.append(step())
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), losses


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bench", help="the JSON line of `npm run bench:train -- --json` (its last line is read)")
    ap.add_argument("--device", default="cuda", help="torch device (default cuda)")
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--json", action="store_true", help="end with one JSON line")
    args = ap.parse_args()
    if torch is None:
        print("time_step.py needs PyTorch (pip install torch)", file=sys.stderr)
        sys.exit(3)
    lines = [l for l in Path(args.bench).read_text().splitlines() if l.startswith("{")]
    if not lines:
        print(f"{args.bench}: no JSON line; expected the output of `npm run bench:train -- --json`", file=sys.stderr)
        sys.exit(2)
    bench = json.loads(lines[-1])
    cases = {}
    for r in bench["results"]:
        cases.setdefault((r["size"], r["batch"]), r["config"])
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    results = []
    for (size, batch), config in cases.items():
        ms, losses = time_case(config, batch, device, args.steps, args.warmup)
        if not all(math.isfinite(l) for l in losses):
            print(f"{size} batch {batch}: a loss was not finite: {losses}", file=sys.stderr)
            sys.exit(1)
        results.append({"size": size, "batch": batch, "msPerStep": round(ms, 3), "steps": args.steps, "lastLoss": losses[-1]})
        print(f"pytorch {args.device} {size} batch {batch}: {ms:.2f} ms/step (median of {args.steps})", file=sys.stderr if args.json else sys.stdout)
    summary = {"torch": torch.__version__, "device": name, "results": results}
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
