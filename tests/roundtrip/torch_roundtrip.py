"""PyTorch's half of the round trips through safetensors (tests/roundtrip/).

    python3 torch_roundtrip.py export DIR   # torch trains the three models; writes
                                            # DIR/torch_<model>.safetensors (state_dict)
                                            # and DIR/torch_<model>_outputs.safetensors
    python3 torch_roundtrip.py check DIR    # loads DIR/tapegrad_<model>.safetensors into
                                            # torch's model and compares its logits with
                                            # DIR/tapegrad_<model>_outputs.safetensors

The models are the ones tests/roundtrip/torch_roundtrip.cpp builds with tapegrad: mlp
(784-256-128-10), convnet (two Conv2d + BatchNorm2d + ReLU + MaxPool2d, then Linear) and
deepnet (the course's [784, 20, 7, 5, 1], sigmoid output, T-shirt against shirt). An
outputs file holds the test inputs as bytes (x: U8 (N, 784)), their labels (I64 (N)),
the model's outputs on them in float32 (logits: F32 (N, C)) and in float64 with the same
weights (logits64: F64 (N, C)), and its accuracy in the metadata.

The safetensors format is written and read here with the standard library (struct and
json), not with the safetensors package, so that the test checks tapegrad against the
format's text, not against one implementation. Debian's python3-torch, one thread.
"""
import gzip
import json
import struct
import sys

import torch
from torch import nn

torch.set_num_threads(1)
FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
MODELS = ("mlp", "convnet", "deepnet")
TOLERANCE = 1e-6  # float32 logits, relative to the largest |logit|
TOLERANCE64 = 1e-12  # float64

# ---- the format, with the standard library --------------------------------------------

DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64", torch.uint8: "U8"}
TORCH_DTYPES = {code: dtype for dtype, code in DTYPES.items()}


def write_safetensors(path, tensors, metadata=None):
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        t = t.detach().contiguous()
        data = t.numpy().tobytes()  # little-endian on every machine torch runs here
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    metadata = header.pop("__metadata__", {})
    data = raw[8 + n:]
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        dtype = TORCH_DTYPES[entry["dtype"]]
        flat = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype) if end > begin \
            else torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(entry["shape"])
    return tensors, metadata


# ---- Fashion-MNIST, from the gzip'd IDX files -----------------------------------------

def idx(name):
    with gzip.open(f"{FASHION_MNIST}/{name}.gz", "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    return torch.frombuffer(bytearray(raw[4 + 4 * ndim:]), dtype=torch.uint8).reshape(dims)


def data(model, split, count):
    """The first `count` images of a split (of classes 0 and 6, relabelled 0 and 1, for
    deepnet): x (N, 784) bytes, labels (N)."""
    prefix = "train" if split == "train" else "t10k"
    x = idx(f"{prefix}-images-idx3-ubyte").reshape(-1, 784)
    y = idx(f"{prefix}-labels-idx1-ubyte").long()
    if model == "deepnet":
        keep = (y == 0) | (y == 6)
        x, y = x[keep], (y[keep] == 6).long()
    return x[:count].clone(), y[:count].clone()


# ---- the models ---------------------------------------------------------------------

def build(model):
    if model == "mlp":
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                             nn.Linear(128, 10))
    if model == "convnet":
        return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1),
                             nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(16 * 7 * 7, 10))
    return nn.Sequential(nn.Linear(784, 20), nn.ReLU(), nn.Linear(20, 7), nn.ReLU(),
                         nn.Linear(7, 5), nn.ReLU(), nn.Linear(5, 1), nn.Sigmoid())


def inputs(model, x, dtype=torch.float32):
    x = x.to(dtype) / 255
    return x.reshape(-1, 1, 28, 28) if model == "convnet" else x


def accuracy(model, outputs, labels):
    guess = (outputs[:, 0] > 0.5).long() if model == "deepnet" else outputs.argmax(1)
    return (guess == labels).double().mean().item()


def train(model, net):
    x, y = data(model, "train", 2000)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(1)
    net.train()
    for _ in range(3 if model != "deepnet" else 30):
        order = torch.randperm(len(x), generator=gen)
        for start in range(0, len(x), 64):
            batch = order[start:start + 64]
            out = net(inputs(model, x[batch]))
            if model == "deepnet":
                loss = nn.functional.binary_cross_entropy(out[:, 0], y[batch].float())
            else:
                loss = nn.functional.cross_entropy(out, y[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()


def export(directory):
    torch.manual_seed(0)
    for model in MODELS:
        net = build(model)
        train(model, net)
        x, y = data(model, "test", 500)
        with torch.no_grad():
            logits = net(inputs(model, x))
            logits64 = net.double()(inputs(model, x, torch.float64))
        net.float()
        acc = accuracy(model, logits, y)
        write_safetensors(f"{directory}/torch_{model}.safetensors", net.state_dict(),
                          {"format": "pt"})
        write_safetensors(f"{directory}/torch_{model}_outputs.safetensors",
                          {"x": x, "labels": y, "logits": logits, "logits64": logits64},
                          {"accuracy": f"{acc:.6f}", "model": model})
        print(f"{model}: torch trained, test_accuracy: {acc:.4f} on {len(x)} images")


def compare(name, got, want, tolerance):
    scale = want.abs().max().item()
    diff = (got - want).abs().max().item()
    print(f"  {name}: max |logit difference| {diff:.3g} (largest |logit| {scale:.3g}, "
          f"relative {diff / scale:.3g})")
    return diff <= tolerance * scale


def check(directory):
    ok = True
    for model in MODELS:
        state, _ = read_safetensors(f"{directory}/tapegrad_{model}.safetensors")
        outputs, metadata = read_safetensors(f"{directory}/tapegrad_{model}_outputs.safetensors")
        net = build(model)
        # tapegrad writes torch's names and shapes; torch's BatchNorm2d alone has a
        # num_batches_tracked counter that tapegrad has no use for.
        result = net.load_state_dict(state, strict=False)
        missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
        if missing or result.unexpected_keys:
            print(f"{model}: missing {missing}, unexpected {result.unexpected_keys}")
            ok = False
            continue
        net.eval()
        x, y = outputs["x"], outputs["labels"]
        with torch.no_grad():
            logits = net(inputs(model, x))
            logits64 = net.double()(inputs(model, x, torch.float64))
        acc = accuracy(model, logits, y)
        theirs = float(metadata["accuracy"])
        print(f"{model}: tapegrad's weights in torch: test_accuracy: {acc:.4f} "
              f"(tapegrad: {theirs:.4f})")
        ok &= compare("float32", logits, outputs["logits"], TOLERANCE)
        ok &= compare("float64", logits64, outputs["logits64"], TOLERANCE64)
        if abs(acc - theirs) > 1e-9:
            print(f"{model}: accuracy differs: torch {acc}, tapegrad {theirs}")
            ok = False
    if not ok:
        sys.exit("check: tapegrad's models differ in torch")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("export", "check"):
        sys.exit("usage: torch_roundtrip.py export|check DIR")
    (export if sys.argv[1] == "export" else check)(sys.argv[2])
