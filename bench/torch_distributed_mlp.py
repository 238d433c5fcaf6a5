"""PyTorch reference for bench/distributed_mlp.cpp: the mlp epoch trained data-parallel
with torch.distributed and DistributedDataParallel, on one machine.

Model: 784-256-128-10, ReLU hidden, softmax cross-entropy (F.cross_entropy on logits),
default nn.Linear init under torch.manual_seed(seed) (DDP broadcasts rank 0's weights).
Optimizer: torch.optim.SGD, lr 0.1, no momentum; opt.zero_grad() with the 1.13 default.
Data as ../shared/peers/torch_mlp.py (its fmnist.py reads the IDX files of
/usr/share/datasets/fashion-mnist/): the full train set as float32 in memory, pixels /
255. Sharding: torch.utils.data.DistributedSampler(shuffle=True, seed=seed,
drop_last=True), set_epoch(epoch) each epoch; each rank takes contiguous slices of
`batch` of its own indices (index_select, no DataLoader), the last partial batch dropped,
as bench/distributed_mlp.cpp does: a global batch of nproc * batch a step, 60000 //
(nproc * batch) steps an epoch.
DDP with its default buckets (bucket_cap_mb 25, first bucket 1 MiB): the 940,584 bytes of
gradients fit in one bucket, so its all-reduce starts when backward has finished.
Processes: --nproc of them, spawned here (torch.multiprocessing.spawn), rendezvous on
tcp://127.0.0.1 at a free port, torch.set_num_threads(1) each (one thread a rank).
Backend: gloo. Debian's python3-torch 1.13 (/usr/bin/python3) is built without the MPI
and NCCL backends (torch.distributed.is_mpi_available() and is_nccl_available() are
False on this machine; the script prints the three flags); gloo is the one that works.
Timing: every epoch between two barriers, wall time (time.perf_counter), rank 0 prints.
Then the all-reduce of one step on its own: the gradients' bytes as one float32 tensor
(DDP's one bucket), dist.all_reduce 200 times, the median (the time a step would wait
with no overlap). Test accuracy on rank 0 after training, outside the timed region.
--no-allreduce: every rank trains the plain model on its own shard, no DDP and no
communication: the epoch's pure compute.

Prints on rank 0 `name: value unit` lines, e.g.
  torch_ddp_np2_b128_epoch_time_median: 0.41 s

Run: /usr/bin/python3 bench/torch_distributed_mlp.py --nproc 2 --batch 128 --epochs 3
"""
import argparse
import datetime
import os
import socket
import statistics
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler, TensorDataset

from torch_common import accuracy, load


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker(rank, a, port):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=a.nproc, timeout=datetime.timedelta(seconds=300))
    root = rank == 0
    torch.manual_seed(a.seed)

    xtr, ytr = load("train")

    net = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                        nn.Linear(128, 10))
    model = net if a.no_allreduce else DistributedDataParallel(net)
    opt = torch.optim.SGD(model.parameters(), lr=a.lr)
    sampler = DistributedSampler(TensorDataset(xtr, ytr), num_replicas=a.nproc, rank=rank,
                                 shuffle=True, seed=a.seed, drop_last=True)
    grad_bytes = sum(p.numel() * p.element_size() for p in net.parameters())
    if root:
        print(f"# torch {torch.__version__} backend gloo (mpi available: "
              f"{dist.is_mpi_available()}, nccl available: {dist.is_nccl_available()}, "
              f"gloo available: {dist.is_gloo_available()}), {a.nproc} ranks x "
              f"{torch.get_num_threads()} threads, batch {a.batch} per rank, epochs {a.epochs}, "
              f"lr {a.lr}, {'no all-reduce' if a.no_allreduce else 'DDP default buckets'}, "
              f"gradients {grad_bytes} bytes", flush=True)

    times = []
    steps = 0
    for ep in range(a.epochs):
        sampler.set_epoch(ep)
        mine = torch.tensor(list(iter(sampler)), dtype=torch.int64)
        steps = len(mine) // a.batch
        dist.barrier()
        t0 = time.perf_counter()
        for s in range(steps):
            idx = mine[s * a.batch:(s + 1) * a.batch]
            xb = xtr.index_select(0, idx)
            yb = ytr.index_select(0, idx)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        dist.barrier()
        t1 = time.perf_counter()
        times.append(t1 - t0)
        if root:
            print(f"epoch{ep + 1}_time: {t1 - t0:.3f} s ({steps} steps, "
                  f"last_batch_loss {loss.item():.4f})", flush=True)

    buckets = float("nan")
    if not a.no_allreduce:
        try:
            buckets = len(model._get_ddp_logging_data().get("bucket_sizes", "").split(", "))
        except Exception:  # a private API: the count is informative only
            pass

    # One step's gradients all-reduced on their own, blocking (DDP's single bucket).
    flat = torch.zeros(grad_bytes // 4)
    alone = []
    for _ in range(200 if not a.no_allreduce else 0):
        dist.barrier()
        t0 = time.perf_counter()
        dist.all_reduce(flat)
        flat /= a.nproc
        alone.append(time.perf_counter() - t0)

    if root:
        xte, yte = load("test")
        acc = accuracy(net, xte, yte)
        tag = f"torch_ddp_np{a.nproc}_b{a.batch}"
        med = statistics.median(times)
        print(f"{tag}_epoch_time_median: {med:.4f} s")
        print(f"{tag}_steps_per_epoch: {steps} steps")
        if a.no_allreduce:
            print(f"{tag}_no_allreduce_epoch_time_median: {med:.4f} s")
        else:
            print(f"{tag}_buckets: {buckets} count")
            print(f"{tag}_allreduce_alone_per_step: {statistics.median(alone) * 1e3:.4f} ms")
        print(f"{tag}_test_accuracy: {acc * 100:.2f} %", flush=True)
    dist.barrier()
    dist.destroy_process_group()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nproc", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-allreduce", action="store_true",
                    help="no DDP: each rank trains on its own shard (pure compute)")
    a = ap.parse_args()
    # One thread a rank, also for OpenMP / OpenBLAS pools created before set_num_threads.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    mp.spawn(worker, args=(a, free_port()), nprocs=a.nproc, join=True)


if __name__ == "__main__":
    main()
