"""PyTorch CPU reference for bench/mlp_bn_dropout.cpp: the mlp epoch with batch norm and
dropout on Fashion-MNIST.

Model: Linear(784, 256) -> BatchNorm1d(256) -> ReLU -> Dropout(0.2) -> Linear(256, 128)
-> BatchNorm1d(128) -> ReLU -> Dropout(0.2) -> Linear(128, 10), softmax cross-entropy
(F.cross_entropy on logits), default init under torch.manual_seed(seed).
Optimizer: torch.optim.SGD, lr 0.1, momentum 0.9, no weight decay.
Data and batching as ../shared/peers/torch_mlp.py (whose fmnist.py loads the IDX files):
full train/test sets as float32 tensors in memory, pixels / 255; per epoch a
torch.randperm from one seeded torch.Generator, contiguous slices of it (index_select),
the last partial batch kept. No DataLoader.
Timing: wall time of each epoch's training loop only (time.perf_counter). Test accuracy
after the last epoch in eval mode (running statistics, no dropout), in chunks of 10000.

Run: OPENBLAS_NUM_THREADS=2 python3 bench/torch_mlp_bn_dropout.py --batch 128 --threads 2
"""
import argparse
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_common import accuracy, load


def rss_mib():
    """Peak RSS of this process so far (ru_maxrss), MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--p", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    print(f"# torch {torch.__version__} threads={torch.get_num_threads()} batch={a.batch} "
          f"epochs={a.epochs} lr={a.lr} momentum={a.momentum} p={a.p} seed={a.seed}")

    xtr, ytr = load("train")
    xte, yte = load("test")

    model = nn.Sequential(nn.Linear(784, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Dropout(a.p),
                          nn.Linear(256, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(a.p),
                          nn.Linear(128, 10))
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum)
    gen = torch.Generator().manual_seed(a.seed)
    n = xtr.shape[0]
    times = []
    model.train()
    for ep in range(a.epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, a.batch):
            idx = perm[i:i + a.batch]
            xb = xtr.index_select(0, idx)
            yb = ytr.index_select(0, idx)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        t1 = time.perf_counter()
        times.append(t1 - t0)
        print(f"epoch{ep + 1}_time: {t1 - t0:.3f} s (last_batch_loss {loss.item():.4f})")
    model.eval()
    acc = accuracy(model, xte, yte)
    print(f"epoch_time_median_all{a.epochs}: {statistics.median(times):.3f} s")
    print(f"epoch_time_min: {min(times):.3f} s")
    print(f"epoch_time_max: {max(times):.3f} s")
    print(f"steps_per_epoch: {(n + a.batch - 1) // a.batch} steps")
    print(f"test_accuracy: {acc * 100:.2f} %")
    print(f"rss_peak_in_process: {rss_mib():.1f} MiB")


if __name__ == "__main__":
    main()
