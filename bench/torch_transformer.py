"""PyTorch CPU reference for bench/transformer.cpp: one transformer block's forward +
backward.

Model: torch.nn.TransformerEncoderLayer(128, 4, 512, dropout=0.0, activation="relu",
batch_first=True, norm_first=True), training mode, default init under
torch.manual_seed(0); input x (32, 64, 128) float32 that requires grad; causal self-
attention (src_mask = triu(-inf, diagonal=1)); loss sum(y * R) for a fixed R.
Timing: wall time (time.perf_counter) of forward + backward, median over the reps after
three warm-ups; the gradients are set to None outside the timed region.

Run: OPENBLAS_NUM_THREADS=2 python3 bench/torch_transformer.py --threads 2
"""
import argparse
import resource
import statistics
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--length", type=int, default=64)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    E, heads, F = 128, 4, 512
    print(f"# torch {torch.__version__} threads={torch.get_num_threads()} block d_model {E} "
          f"nhead {heads} dim_feedforward {F} pre-norm relu, batch {a.batch} length "
          f"{a.length}, causal, float32")
    layer = torch.nn.TransformerEncoderLayer(E, heads, F, dropout=0.0, activation="relu",
                                             batch_first=True, norm_first=True)
    layer.train()
    x = torch.randn(a.batch, a.length, E, requires_grad=True)
    R = torch.randn(a.batch, a.length, E)
    mask = torch.triu(torch.full((a.length, a.length), float("-inf")), diagonal=1)
    total, forward = [], []
    for i in range(a.reps + 3):
        for p in layer.parameters():
            p.grad = None
        x.grad = None
        t0 = time.perf_counter()
        loss = torch.sum(layer(x, src_mask=mask) * R)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        if i >= 3:
            forward.append(1e3 * (t1 - t0))
            total.append(1e3 * (t2 - t0))
    print(f"pytorch_transformer_block_fwd_bwd_ms: {statistics.median(total):.4g} ms")
    print(f"pytorch_transformer_block_fwd_ms: {statistics.median(forward):.4g} ms")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"pytorch_transformer_block_peak_rss: {rss:.1f} MiB")


if __name__ == "__main__":
    main()
