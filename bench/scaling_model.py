#!/usr/bin/python3
"""bench/distributed_mlp's epoch on N machines, on paper (docs/scaling.md explains it).

  T(N)  = steps(N) * (t_step + (1 - hidden) * C(N))    steps(N) = examples / (batch * N)
  C(N)  = sum over buckets b of  m(N) * alpha + 2 (N - 1) / N * bytes_b / beta

t_step is one rank's compute for one batch of 128 (measured: the 1-rank epoch / its
steps); every rank keeps batch 128, so N machines do an epoch in 1 / N of the steps. C(N)
is one step's all-reduce: a reduce-scatter then an all-gather, each rank sending and
receiving 2 (N - 1) / N of every bucket; m(N) messages a rank per bucket in sequence:
2 (N - 1) as built (distributed/mpi.cpp sends to every rank directly) or 2 log2 N for
recursive halving and doubling (what MPI libraries switch to at large N).
speedup(N) = T(1) / T(N); efficiency(N) = speedup(N) / N, 50 % where the exposed
all-reduce of a step equals its compute: where it stops scaling.

Standard library only. Prints `name: value unit` lines, the table as '#' comments.
Usage: bench/scaling_model.py [--epoch1 S] [--hidden H] [--buckets BYTES ...] ...
"""
import argparse
import math

# Networks: name, alpha (s per message, MPI's small-message latency), beta (bytes/s a
# rank can send while receiving as much). Typical published figures, not measured here.
NETWORKS = [("10gbe", 25e-6, 1.1e9), ("ib100", 1.5e-6, 11e9)]


def allreduce(n, buckets, alpha, beta, messages):
    return 0.0 if n == 1 else sum(messages(n) * alpha + 2 * (n - 1) / n * b / beta
                                  for b in buckets)


def direct(n):
    return 2 * (n - 1)


def halving(n):
    return 2 * math.ceil(math.log2(n))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    # Defaults: bench/compare --only distributed on this machine, 2026-12-04 (AMD EPYC,
    # 2 cores, Open MPI over shared memory, TAPEGRAD_NUM_THREADS=1, batch 128 per rank).
    ap.add_argument("--epoch1", type=float, default=2.35, help="1-rank epoch, s")
    ap.add_argument("--epoch2", type=float, default=1.381, help="2-rank epoch measured, s")
    ap.add_argument("--hidden", type=float, default=0.0,
                    help="share of the all-reduce hidden behind backward (measured ~0 here)")
    ap.add_argument("--buckets", type=int, nargs="+", default=[137512, 803072],
                    help="bytes of each bucket (DataParallel's 64 KiB buckets of 784-256-128-10)")
    ap.add_argument("--shm-alpha", type=float, default=5.5e-6,
                    help="s per message, this machine's shared memory (fitted, see docs)")
    ap.add_argument("--shm-beta", type=float, default=3.09e9,
                    help="bytes/s, this machine's shared memory (fitted, see docs)")
    ap.add_argument("--examples", type=int, default=60000)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--ns", default="1,2,4,8,16,32,64")
    a = ap.parse_args()

    steps1 = a.examples // a.batch  # what the 1-rank epoch ran (the tail dropped)
    t_step = a.epoch1 / steps1
    ns = [int(x) for x in a.ns.split(",")]
    print(f"# model: t_step {t_step * 1e3:.3f} ms ({a.epoch1} s / {steps1} steps), buckets "
          f"{a.buckets} B, hidden {a.hidden}")

    def epoch(n, alpha, beta, messages, hidden=a.hidden):
        return a.examples / (a.batch * n) * (
            t_step + (1 - hidden) * allreduce(n, a.buckets, alpha, beta, messages))

    t1 = epoch(1, 0.0, 1.0, direct)  # the same fractional steps as every N

    # The check: 2 ranks on this machine's shared memory against what was measured.
    pred = epoch(2, a.shm_alpha, a.shm_beta, direct)
    print(f"scaling_shm_n2_predicted_epoch: {pred:.4g} s")
    print(f"scaling_shm_n2_measured_epoch: {a.epoch2:.4g} s")
    print(f"scaling_shm_n2_predicted_over_measured: {pred / a.epoch2:.3f} x")

    print(f"# {'network':>7} {'messages':>8} {'N':>3} {'allreduce/step':>14} {'epoch':>9} "
          f"{'speedup':>8} {'efficiency':>10}")
    for name, alpha, beta in NETWORKS:
        for mname, messages in (("direct", direct), ("halving", halving)):
            for n in ns:
                t = epoch(n, alpha, beta, messages)
                c = allreduce(n, a.buckets, alpha, beta, messages)
                print(f"# {name:>7} {mname:>8} {n:3d} {c * 1e3:11.3f} ms {t:7.4f} s "
                      f"{t1 / t:7.2f}x {t1 / t / n * 100:9.1f}%")
                if n in (8, 64):
                    print(f"scaling_{name}_{mname}_n{n}_speedup: {t1 / t:.3g} x")
            # Where the efficiency falls to 50 %: exposed all-reduce = t_step (bisection).
            lo, hi = 2.0, 1e6
            if (1 - a.hidden) * allreduce(hi, a.buckets, alpha, beta, messages) < t_step:
                where = math.inf
            else:
                for _ in range(100):
                    mid = (lo + hi) / 2
                    exposed = (1 - a.hidden) * allreduce(mid, a.buckets, alpha, beta, messages)
                    lo, hi = (mid, hi) if exposed < t_step else (lo, mid)
                where = hi
            if math.isinf(where):
                limit = (1 - a.hidden) * sum(2 * b / beta for b in a.buckets)
                print(f"# {name} {mname}: the exposed all-reduce tends to {limit * 1e3:.3f} ms, "
                      f"below t_step: never 50 % on communication alone")
                print(f"scaling_{name}_{mname}_exposed_allreduce_limit: {limit * 1e3:.3f} ms")
            else:
                print(f"scaling_{name}_{mname}_half_efficiency_at: {where:.0f} machines")
            # Past examples / batch machines an epoch is less than one step a rank.
            h70 = epoch(64, alpha, beta, messages, 0.7)
            print(f"scaling_{name}_{mname}_n64_speedup_if_70pct_hidden: {t1 / h70:.3g} x")


if __name__ == "__main__":
    main()
