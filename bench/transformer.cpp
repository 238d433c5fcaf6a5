// One transformer block's forward + backward, the same work as bench/torch_transformer.py
// does in PyTorch: nn::TransformerBlock(128, 4, 512) (pre-norm, relu, torch's
// TransformerEncoderLayer(128, 4, 512, dropout=0, batch_first=True, norm_first=True)) on a
// float32 batch (32, 64, 128) that requires grad, causal self-attention, loss sum(y * R)
// for a fixed R. Milliseconds per forward + backward (median over the reps after three
// warm-ups; the gradients are zeroed outside the timed region), the forward alone, and the
// peak RSS.
// Usage: transformer [reps=30] [batch=32] [length=64]
#include <cstdlib>
#include <tapegrad/graph/threads.hpp>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#include "bench_util.hpp"

namespace tg = tapegrad;

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 30;
  const std::int64_t N = argc > 2 ? std::atoll(argv[2]) : 32;
  const std::int64_t L = argc > 3 ? std::atoll(argv[3]) : 64;
  const std::int64_t E = 128, heads = 4, F = 512;
  fmt::print(
      "# transformer: block d_model {} nhead {} dim_feedforward {} pre-norm relu, batch {} "
      "length {}, causal, float32, threads {}\n",
      E, heads, F, N, L, tg::num_threads());
  tg::manual_seed(0);
  tg::nn::TransformerBlock block(E, heads, F, {.norm_first = true});
  tg::Tensor x = tg::randn({N, L, E});
  x.requires_grad_();
  const tg::Tensor R = tg::randn({N, L, E});

  std::vector<double> total, forward;
  for (int i = 0; i < reps + 3; ++i) {
    block.zero_grad();
    x.zero_grad();
    const double t0 = bench::now();
    const tg::Tensor loss = tg::sum(block.forward(x, true) * R);
    const double t1 = bench::now();
    loss.backward();
    const double t2 = bench::now();
    if (i < 3) continue;
    forward.push_back(1e3 * (t1 - t0));
    total.push_back(1e3 * (t2 - t0));
  }
  bench::line("tapegrad_transformer_block_fwd_bwd_ms", bench::median(total), "ms");
  bench::line("tapegrad_transformer_block_fwd_ms", bench::median(forward), "ms");
  bench::line("tapegrad_transformer_block_peak_rss", bench::peak_rss_mib(), "MiB");
}
