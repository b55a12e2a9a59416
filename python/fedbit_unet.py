"""The fedbit denoiser, a small DDPM U-Net, in PyTorch (and the same network in NumPy).

Reads the model.safetensors that a fedbit aggregator serves at GET /api/model/model.safetensors
and keeps in runs/<run-id>/model/. The architecture is packages/diffusion/src/net.ts written
once more (Ho et al., "Denoising Diffusion Probabilistic Models", arXiv 2006.11239, appendix B):
residual blocks with GroupNorm and SiLU, the time embedding added in every block, strided
convolutions down, nearest upsampling + convolution up, skips concatenated on the way up; an
optional label embedding with an extra "no label" class (classifier-free guidance, arXiv
2207.12598). `unet()` below walks it once against an `ops` object: ShapeOps declares the
parameters, TorchOps computes with PyTorch, NumpyOps with NumPy (a reference that needs no torch).

Tensors are NCHW here (PyTorch's convention); the TensorFlow.js graph model takes NHWC.
The model predicts the noise eps of x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, for integer
timesteps t in [0, T); sample_ddim.py has the sampler loop.

Safetensors: https://github.com/huggingface/safetensors (8-byte little-endian header length,
a JSON header, then the tensors' bytes); read here with the standard library and NumPy alone.

    from fedbit_unet import FedbitUNet
    model = FedbitUNet.from_safetensors("model.safetensors").eval()
    eps = model(x_t, t)            # x_t [n, C, H, W] float32, t [n] int64
"""
import json
import math
import struct

import numpy as np

GN_EPS = 1e-5


def read_safetensors(path):
    """Returns ({name: float32 ndarray}, {metadata key: string}) of a safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", None) or {}
    body = memoryview(data)[8 + n :]
    tensors = {}
    for name, entry in header.items():
        if entry["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} is {entry['dtype']}, expected F32")
        begin, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(body[begin:end], dtype="<f4").reshape(entry["shape"]).copy()
    return tensors, metadata


def time_features(t, dim):
    """Sinusoidal timestep features [n, dim] = [sin(t f_i), cos(t f_i)], computed in float64 like model.ts."""
    half = dim // 2
    freq = np.exp(-math.log(10000) * np.arange(half, dtype=np.float64) / max(half - 1, 1))
    arg = np.asarray(t, dtype=np.float64).reshape(-1, 1) * freq.reshape(1, -1)
    return np.concatenate([np.sin(arg), np.cos(arg)], axis=1).astype(np.float32)


def clean_labels(labels, n, num_classes):
    """Labels outside [0, num_classes) (or none given) select the "no label" class num_classes."""
    if labels is None:
        return np.full(n, num_classes, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    return np.where((labels < 0) | (labels >= num_classes), num_classes, labels)


def same_padding(size, kernel, stride):
    """(out, before, after) of a TensorFlow 'SAME' convolution."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return out, total // 2, total - total // 2


def _res_block(ops, name, x, emb, out_ch):
    in_ch = ops.channels(x)
    h = ops.conv(f"{name}.conv1", ops.silu(ops.group_norm(f"{name}.norm1", x)), out_ch, 3, 1)
    h = ops.add_channels(h, ops.dense(f"{name}.emb", emb, out_ch))
    h = ops.conv(f"{name}.conv2", ops.silu(ops.group_norm(f"{name}.norm2", h)), out_ch, 3, 1)
    skip = x if in_ch == out_ch else ops.conv(f"{name}.skip", x, out_ch, 1, 1)
    return ops.add(skip, h)


def unet(ops, cfg, x, temb, labels):
    """The U-Net of net.ts: x [n,C,H,W], temb [n, embedDim], labels [n] class indices or None."""
    emb = ops.dense("time.dense1", temb, cfg["embedDim"])
    emb = ops.dense("time.dense2", ops.silu(emb), cfg["embedDim"])
    if cfg["numClasses"] > 0 and labels is not None:
        emb = ops.add(emb, ops.embed("label.embed", labels, cfg["embedDim"]))
    emb = ops.silu(emb)
    base, mults = cfg["baseChannels"], cfg["channelMults"]
    h = ops.conv("in.conv", x, base, 3, 1)
    skips = [h]
    for i, mult in enumerate(mults):
        for r in range(cfg["resBlocks"]):
            h = _res_block(ops, f"down{i}.res{r}", h, emb, base * mult)
            skips.append(h)
        if i < len(mults) - 1:
            h = ops.conv(f"down{i}.down", h, ops.channels(h), 3, 2)
            skips.append(h)
    mid = ops.channels(h)
    for m in range(cfg["midBlocks"]):
        h = _res_block(ops, f"mid.res{m}", h, emb, mid)
    for i in reversed(range(len(mults))):
        for r in range(cfg["resBlocks"] + 1):
            h = _res_block(ops, f"up{i}.res{r}", ops.concat(h, skips.pop()), emb, base * mults[i])
        if i > 0:
            height, width = ops.spatial(skips[-1])
            h = ops.conv(f"up{i}.up", ops.upsample(h, height, width), base * mults[i], 3, 1)
    h = ops.silu(ops.group_norm("out.norm", h))
    return ops.conv("out.conv", h, cfg["channels"], 3, 1)


class ShapeOps:
    """Tracks shapes (n, c, h, w) and records every parameter's PyTorch name and shape in order."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.params = []

    def channels(self, x):
        return x[1]

    def spatial(self, x):
        return x[2], x[3]

    def conv(self, name, x, out, k, s):
        self.params += [(f"{name}.weight", (out, x[1], k, k)), (f"{name}.bias", (out,))]
        return (x[0], out, same_padding(x[2], k, s)[0], same_padding(x[3], k, s)[0])

    def dense(self, name, x, out):
        self.params += [(f"{name}.weight", (out, x[1])), (f"{name}.bias", (out,))]
        return (x[0], out)

    def embed(self, name, labels, out):
        self.params.append((f"{name}.weight", (self.cfg["numClasses"] + 1, out)))
        return (labels[0], out)

    def group_norm(self, name, x):
        self.params += [(f"{name}.weight", (x[1],)), (f"{name}.bias", (x[1],))]
        return x

    def silu(self, x):
        return x

    def add(self, a, b):
        return a

    def add_channels(self, x, v):
        return x

    def concat(self, a, b):
        return (a[0], a[1] + b[1], a[2], a[3])

    def upsample(self, x, height, width):
        return (x[0], x[1], height, width)


class NumpyOps:
    """The network in NumPy (float64 by default): a reference that runs where torch does not."""

    def __init__(self, cfg, params, dtype=np.float64):
        self.groups = cfg["groups"]
        self.p = {k: v.astype(dtype) for k, v in params.items()}

    def channels(self, x):
        return x.shape[1]

    def spatial(self, x):
        return x.shape[2], x.shape[3]

    def conv(self, name, x, out, k, s):
        _, hb, ha = same_padding(x.shape[2], k, s)
        _, wb, wa = same_padding(x.shape[3], k, s)
        xp = np.pad(x, ((0, 0), (0, 0), (hb, ha), (wb, wa)))
        win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::s, ::s]
        y = np.einsum("nchwyx,ocyx->nohw", win, self.p[f"{name}.weight"], optimize=True)
        return y + self.p[f"{name}.bias"][None, :, None, None]

    def dense(self, name, x, out):
        return x @ self.p[f"{name}.weight"].T + self.p[f"{name}.bias"]

    def embed(self, name, labels, out):
        return self.p[f"{name}.weight"][labels]

    def group_norm(self, name, x):
        n, c, h, w = x.shape
        g = x.reshape(n, self.groups, c // self.groups, h, w)
        centred = g - g.mean(axis=(2, 3, 4), keepdims=True)
        var = (centred**2).mean(axis=(2, 3, 4), keepdims=True)
        normed = (centred / np.sqrt(var + GN_EPS)).reshape(n, c, h, w)
        return normed * self.p[f"{name}.weight"][None, :, None, None] + self.p[f"{name}.bias"][None, :, None, None]

    def silu(self, x):
        return x * (0.5 * (1 + np.tanh(0.5 * x)))  # x * sigmoid(x), without overflow

    def add(self, a, b):
        return a + b

    def add_channels(self, x, v):
        return x + v[:, :, None, None]

    def concat(self, a, b):
        return np.concatenate([a, b], axis=1)

    def upsample(self, x, height, width):
        return x.repeat(2, axis=2).repeat(2, axis=3)[:, :, :height, :width]


def numpy_forward(cfg, params, x, t, labels=None):
    """eps for x [n,C,H,W] at integer timesteps t [n]; params as read_safetensors returns them."""
    n = x.shape[0]
    temb = time_features(t, cfg["embedDim"]).astype(np.float64)
    idx = clean_labels(labels, n, cfg["numClasses"]) if cfg["numClasses"] > 0 else None
    return unet(NumpyOps(cfg, params), cfg, np.asarray(x, dtype=np.float64), temb, idx)


try:
    import torch
    import torch.nn.functional as F
except ImportError:  # NumPy alone still reads the weights and runs numpy_forward
    torch = None

if torch is not None:

    class TorchOps:
        def __init__(self, module):
            self.m = module
            self.groups = module.config["groups"]

        def channels(self, x):
            return x.shape[1]

        def spatial(self, x):
            return x.shape[2], x.shape[3]

        def conv(self, name, x, out, k, s):
            _, hb, ha = same_padding(x.shape[2], k, s)
            _, wb, wa = same_padding(x.shape[3], k, s)
            x = F.pad(x, (wb, wa, hb, ha))
            return F.conv2d(x, self.m.get_parameter(f"{name}.weight"), self.m.get_parameter(f"{name}.bias"), stride=s)

        def dense(self, name, x, out):
            return F.linear(x, self.m.get_parameter(f"{name}.weight"), self.m.get_parameter(f"{name}.bias"))

        def embed(self, name, labels, out):
            return F.embedding(labels, self.m.get_parameter(f"{name}.weight"))

        def group_norm(self, name, x):
            return F.group_norm(x, self.groups, self.m.get_parameter(f"{name}.weight"), self.m.get_parameter(f"{name}.bias"), eps=GN_EPS)

        def silu(self, x):
            return F.silu(x)

        def add(self, a, b):
            return a + b

        def add_channels(self, x, v):
            return x + v[:, :, None, None]

        def concat(self, a, b):
            return torch.cat([a, b], dim=1)

        def upsample(self, x, height, width):
            return x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)[:, :, :height, :width]

    class FedbitUNet(torch.nn.Module):
        """The denoiser; its state_dict keys are the names in model.safetensors (e.g. down0.res0.conv1.weight)."""

        def __init__(self, config):
            super().__init__()
            self.config = dict(config)
            shapes = ShapeOps(self.config)
            c, size, d = config["channels"], config["imageSize"], config["embedDim"]
            unet(shapes, self.config, (1, c, size, size), (1, d), (1,) if config["numClasses"] > 0 else None)
            for name, shape in shapes.params:
                *path, leaf = name.split(".")
                module = self
                for part in path:
                    if part not in module._modules:
                        module.add_module(part, torch.nn.Module())
                    module = module._modules[part]
                module.register_parameter(leaf, torch.nn.Parameter(torch.zeros(shape)))

        @classmethod
        def from_safetensors(cls, path):
            tensors, metadata = read_safetensors(path)
            model = cls(json.loads(metadata["fedbit.config"]))
            model.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()})
            model.metadata = metadata
            return model

        def forward(self, x, t, labels=None):
            """x [n,C,H,W] noisy images in [-1, 1]; t [n] integer timesteps; labels [n] (conditional models)."""
            n = x.shape[0]
            t = torch.as_tensor(t).reshape(-1)
            if t.numel() == 1:
                t = t.expand(n)
            temb = torch.from_numpy(time_features(t.cpu().numpy(), self.config["embedDim"])).to(x.device, x.dtype)
            idx = None
            if self.config["numClasses"] > 0:
                raw = None if labels is None else torch.as_tensor(labels).cpu().numpy()
                idx = torch.from_numpy(clean_labels(raw, n, self.config["numClasses"])).to(x.device)
            return unet(TorchOps(self), self.config, x, temb, idx)
