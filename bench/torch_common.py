"""What the PyTorch references in bench/ share: Fashion-MNIST loaded through the peers'
fmnist.py (PEERS_DIR, default ../shared/peers beside the project), pixels as float32 / 255,
and test accuracy in chunks without autograd."""
import os
import sys

import numpy as np
import torch

PEERS = os.environ.get("PEERS_DIR", os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    "shared", "peers"))
sys.path.insert(0, PEERS)
import fmnist  # noqa: E402


def images(u8):
    """IDX bytes (n, 28, 28) as a float32 tensor (n, 784) of pixels / 255."""
    f = u8.reshape(len(u8), -1).astype(np.float32)
    f /= 255.0  # in place: no second float32 copy
    return torch.from_numpy(f)


def load(split):
    """Fashion-MNIST `split` ("train" or "test") as (float32 images, int64 labels)."""
    x, y = fmnist.load(split)
    return images(x), torch.from_numpy(y.astype(np.int64))


def accuracy(model, x, y, chunk=10000):
    correct = 0
    with torch.no_grad():
        for i in range(0, x.shape[0], chunk):
            correct += (model(x[i:i + chunk]).argmax(1) == y[i:i + chunk]).sum().item()
    return correct / x.shape[0]
