#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <tapegrad/graph/autograd.hpp>
#include <tapegrad/graph/error.hpp>
#include <tapegrad/graph/kernels.hpp>
#include <tapegrad/graph/threads.hpp>
#include <tapegrad/nn/init.hpp>
#include <tapegrad/nn/transformer.hpp>
#include <tapegrad/ops/activation.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/attention.hpp>
#include <tapegrad/ops/conv.hpp>
#include <tapegrad/ops/linalg.hpp>
#include <tapegrad/ops/reduction.hpp>
#include <tapegrad/ops/shape_ops.hpp>
#include <vector>

namespace tapegrad::nn {

namespace {

std::string shape_or_undefined(const Tensor& t) {
  return t.defined() ? shape_str(t.shape()) : "undefined";
}

// The sums of the columns of a (rows, cols) matrix: blocks of columns over the pool, each
// adding its rows in order (the same bits whatever the thread count).
Tensor column_sums(const Tensor& g) {
  const std::int64_t rows = g.size(0), cols = g.size(1);
  Tensor out = Tensor::empty({cols}, g.dtype());
  constexpr std::int64_t kBlock = 64;
  dispatch(g.dtype(), [&]<class T>(T) {
    const T* pg = g.data<T>();
    T* po = out.data<T>();
    parallel_for((cols + kBlock - 1) / kBlock, 1, [&](std::int64_t b0, std::int64_t b1) {
      const std::int64_t c0 = b0 * kBlock, c1 = std::min(cols, b1 * kBlock);
      std::fill(po + c0, po + c1, T(0));
      for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t c = c0; c < c1; ++c) po[c] += pg[r * cols + c];
    });
  });
  return out;
}

// y = x W^T + b in rows, (..., in) -> (..., out), recorded as one op: one gemm of every
// row at once with W transposed by a BLAS flag and b its starting value (beta = 1), not
// matmul(x, transpose(W)) + b, which copies W, passes over y once more to add b, and
// reduces the broadcast again in backward. The rule is matmul's, in gemms: dx = g W,
// dW = g^T x, db = the column sums of g.
Tensor linear_rows(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  kernels::check_same_dtype("RowLinear", x, weight);
  const std::int64_t in = weight.size(1), out = weight.size(0), rows = x.numel() / in;
  Shape shape = x.shape();
  shape.back() = out;
  Tensor y = Tensor::empty({rows, out}, x.dtype());
  if (bias.defined()) {  // b in every row
    kernels::check_same_dtype("RowLinear", x, bias);
    const std::size_t bytes = dtype_size(x.dtype()) * static_cast<std::size_t>(out);
    char* dst = static_cast<char*>(y.raw_data());
    for (std::int64_t r = 0; r < rows; ++r)
      std::memcpy(dst + static_cast<std::size_t>(r) * bytes, bias.raw_data(), bytes);
  }
  const Tensor x2 = reshape(x.detach(), {rows, in});
  gemm(x2, false, weight.detach(), true, y, 1.0, bias.defined() ? 1.0 : 0.0);
  y = reshape(y, shape);
  const auto rule = [x2, w = weight.detach(), rows, in, out](const Tensor& g, Needs needs) {
    Grads grads(3);
    const Tensor g2 = reshape(g.detach(), {rows, out});
    if (needs[0]) {  // dx = g W
      Shape s = g.shape();
      s.back() = in;
      Tensor dx = Tensor::empty({rows, in}, g.dtype());
      gemm(g2, false, w, false, dx);
      grads[0] = reshape(dx, s);
    }
    if (needs[1]) {  // dW = g^T x
      grads[1] = Tensor::empty({out, in}, g.dtype());
      gemm(g2, true, x2, false, grads[1]);
    }
    if (needs[2]) grads[2] = column_sums(g2);  // db
    return grads;
  };
  if (bias.defined()) return record("linear", y, {&x, &weight, &bias}, rule);
  return record("linear", y, {&x, &weight}, rule);
}

// (A, B, C, D) -> (A, C, B, D), as transpose(x, 1, 2), with rows of D copied whole: what
// splits (N, L, h, d) into heads (N, h, L, d) and joins them back. Its own inverse, so the
// rule is the same op, recorded.
Tensor swap_axes_1_2(const Tensor& x) {
  const std::int64_t A = x.size(0), B = x.size(1), C = x.size(2), D = x.size(3);
  Tensor out = Tensor::empty({A, C, B, D}, x.dtype());
  const std::size_t bytes = dtype_size(x.dtype()) * static_cast<std::size_t>(D);
  const char* src = static_cast<const char*>(x.raw_data());
  char* dst = static_cast<char*>(out.raw_data());
  parallel_for(A * C, std::max<std::int64_t>(1, 4096 / std::max<std::int64_t>(1, B * D)),
               [&](std::int64_t i0, std::int64_t i1) {
                 for (std::int64_t i = i0; i < i1; ++i) {  // out[a, c, :, :]
                   const std::int64_t a = i / C, c = i % C;
                   for (std::int64_t b = 0; b < B; ++b)
                     std::memcpy(dst + static_cast<std::size_t>(i * B + b) * bytes,
                                 src + static_cast<std::size_t>((a * B + b) * C + c) * bytes,
                                 bytes);
                 }
               });
  return record("swap_axes_1_2", out, {&x},
                [](const Tensor& g, Needs) { return Grads{swap_axes_1_2(g)}; });
}

// (N, L, h d) -> (N, h, L, d): the heads as a batch axis.
Tensor split_heads(const Tensor& x, std::int64_t heads) {
  const std::int64_t N = x.size(0), L = x.size(1), d = x.size(2) / heads;
  return swap_axes_1_2(reshape(x, {N, L, heads, d}));
}

// (N, h, L, d) -> (N, L, h d).
Tensor merge_heads(const Tensor& x) {
  return reshape(swap_axes_1_2(x), {x.size(0), x.size(2), x.size(1) * x.size(3)});
}

}  // namespace

// ---- RowLinear ------------------------------------------------------------------------

RowLinear::RowLinear(std::int64_t in_features, std::int64_t out_features, bool with_bias,
                     Dtype dtype, Generator& gen)
    : Module("RowLinear") {
  if (in_features < 1 || out_features < 1)
    throw ValueError(fmt::format("RowLinear: sizes must be positive, got in={} out={}", in_features,
                                 out_features));
  // torch's reset_parameters: kaiming_uniform(a = sqrt(5)) is U(-1/sqrt(in), 1/sqrt(in)),
  // and the bias the same bound.
  weight = register_parameter(
      "weight", init::kaiming_uniform({out_features, in_features}, std::sqrt(5.0), dtype, gen));
  if (with_bias)
    bias = register_parameter(
        "bias", init::uniform({out_features}, 1.0 / std::sqrt(static_cast<double>(in_features)),
                              dtype, gen));
}

Tensor RowLinear::forward(const Tensor& x) {
  if (!x.defined() || x.dim() < 1 || x.size(-1) != in_features())
    throw ShapeError(
        fmt::format("RowLinear: input of shape {} for a layer of {} inputs (expects (..., {}))",
                    shape_or_undefined(x), in_features(), in_features()));
  return linear_rows(x, weight, bias);
}

std::string RowLinear::extra_repr() const {
  return fmt::format("in_features={}, out_features={}{}", in_features(), out_features(),
                     bias.defined() ? "" : ", bias=false");
}

// ---- LayerNorm ------------------------------------------------------------------------

LayerNorm::LayerNorm(std::int64_t dim, double eps, Dtype dtype) : Module("LayerNorm"), eps_(eps) {
  if (dim < 1) throw ValueError(fmt::format("LayerNorm: dim must be positive, got {}", dim));
  if (!(eps > 0)) throw ValueError(fmt::format("LayerNorm: eps must be > 0, got {}", eps));
  weight = register_parameter("weight", ones({dim}, dtype));
  bias = register_parameter("bias", zeros({dim}, dtype));
}

Tensor LayerNorm::forward(const Tensor& x) { return layer_norm(x, weight, bias, eps_); }

std::string LayerNorm::extra_repr() const { return fmt::format("dim={}, eps={}", dim(), eps_); }

// ---- MultiheadAttention ---------------------------------------------------------------

MultiheadAttention::MultiheadAttention(std::int64_t embed_dim, std::int64_t num_heads,
                                       const MultiheadAttentionOptions& options, Generator& gen)
    : Module("MultiheadAttention"), num_heads_(num_heads), alibi_(options.alibi) {
  if (embed_dim < 1 || num_heads < 1)
    throw ValueError(
        fmt::format("MultiheadAttention: sizes must be positive, got embed_dim={} num_heads={}",
                    embed_dim, num_heads));
  if (embed_dim % num_heads != 0)
    throw ValueError(fmt::format(
        "MultiheadAttention: embed_dim {} is not divisible by num_heads {}", embed_dim, num_heads));
  if (!alibi_.empty() && static_cast<std::int64_t>(alibi_.size()) != num_heads)
    throw ValueError(fmt::format("MultiheadAttention: {} ALiBi slopes for {} heads (one a head)",
                                 alibi_.size(), num_heads));
  // torch's _reset_parameters: xavier_uniform in_proj_weight (fans 3E and E, as torch
  // computes them for the stacked matrix), zero biases; out_proj.weight keeps nn.Linear's
  // default.
  in_proj_weight = register_parameter(
      "in_proj_weight", init::xavier_uniform({3 * embed_dim, embed_dim}, options.dtype, gen));
  if (options.bias)
    in_proj_bias = register_parameter("in_proj_bias", zeros({3 * embed_dim}, options.dtype));
  out_proj = register_module("out_proj",
                             RowLinear(embed_dim, embed_dim, options.bias, options.dtype, gen));
  if (options.qkv_conv < 0)
    throw ValueError(
        fmt::format("MultiheadAttention: qkv_conv must be >= 0 steps, got {}", options.qkv_conv));
  if (options.qkv_conv > 0) {  // the identity: tap 0 one, the others zero
    const std::int64_t K = options.qkv_conv;
    std::vector<double> w(static_cast<std::size_t>(3 * K * embed_dim), 0.0);
    for (std::int64_t i = 0; i < 3; ++i) std::fill_n(w.begin() + i * K * embed_dim, embed_dim, 1.0);
    qkv_conv = register_parameter("qkv_conv", tensor(w, {3, K, embed_dim}, options.dtype));
  }
  if (options.bias) {  // drawn as nn.Linear's, then zeroed, as torch does
    NoGradGuard no_grad;
    out_proj->bias.fill_(0.0);
  }
}

Tensor MultiheadAttention::attend(const Tensor& query, const Tensor& key, const Tensor& value,
                                  bool causal, Tensor* weights) {
  const std::int64_t E = embed_dim();
  const auto valid = [E](const Tensor& t) { return t.defined() && t.dim() == 3 && t.size(2) == E; };
  if (!valid(query) || !valid(key) || !valid(value) || key.size(0) != query.size(0) ||
      value.size(0) != query.size(0) || key.size(1) != value.size(1))
    throw ShapeError(fmt::format(
        "MultiheadAttention: query, key and value must be (N, L, E), (N, S, E), (N, S, E) with "
        "E = {}; query {}, key {}, value {}",
        E, shape_or_undefined(query), shape_or_undefined(key), shape_or_undefined(value)));
  const std::int64_t h = num_heads_;
  // q, k and v by three products (of Wq, Wk, Wv, the row blocks of in_proj_weight), not
  // one of the stacked weight: each is then split into heads without a copy of its third.
  const auto heads_of = [&](const Tensor& x, std::int64_t i) {
    const Tensor b = in_proj_bias.defined() ? slice(in_proj_bias, 0, i * E, (i + 1) * E) : Tensor();
    Tensor p = linear_rows(x, slice(in_proj_weight, 0, i * E, (i + 1) * E), b);
    if (qkv_conv.defined()) p = causal_depthwise_conv1d(p, select(qkv_conv, 0, i));
    return split_heads(p, h);
  };
  const Tensor q = heads_of(query, 0), k = heads_of(key, 1), v = heads_of(value, 2);
  Tensor heads;  // (N, h, L, d)
  if (weights) {
    AttentionResult r = attention_with_weights(q, k, v, causal, alibi_);
    *weights = mean(r.weights, 1);  // (N, h, L, S) -> (N, L, S), torch's average
    heads = r.output;
  } else {
    heads = scaled_dot_product_attention(q, k, v, causal, alibi_);
  }
  return out_proj->forward(merge_heads(heads));
}

Tensor MultiheadAttention::forward(const Tensor& x) { return attend(x, x, x, false, nullptr); }

Tensor MultiheadAttention::forward(const Tensor& x, bool causal) {
  return attend(x, x, x, causal, nullptr);
}

MultiheadAttentionOutput MultiheadAttention::forward(const Tensor& query, const Tensor& key,
                                                     const Tensor& value, bool causal) {
  MultiheadAttentionOutput out;
  out.output = attend(query, key, value, causal, &out.weights);
  return out;
}

std::string MultiheadAttention::extra_repr() const {
  return fmt::format("embed_dim={}, num_heads={}{}{}", embed_dim(), num_heads_,
                     in_proj_bias.defined() ? "" : ", bias=false", alibi_.empty() ? "" : ", alibi");
}

// ---- positions ------------------------------------------------------------------------

PositionalEmbedding::PositionalEmbedding(std::int64_t max_len, std::int64_t dim, Dtype dtype,
                                         Generator& gen)
    : Module("PositionalEmbedding") {
  if (max_len < 1 || dim < 1)
    throw ValueError(fmt::format(
        "PositionalEmbedding: sizes must be positive, got max_len={} dim={}", max_len, dim));
  Tensor table = randn({max_len, dim}, dtype, gen);
  table.mul_(0.02);
  weight = register_parameter("weight", table);
}

Tensor PositionalEmbedding::forward(const Tensor& x) {
  if (!x.defined() || x.dim() != 3 || x.size(2) != dim())
    throw ShapeError(fmt::format(
        "PositionalEmbedding: input of shape {} for a table of dim {} (expects (N, L, {}))",
        shape_or_undefined(x), dim(), dim()));
  const std::int64_t L = x.size(1);
  if (L > max_len())
    throw IndexError(fmt::format(
        "PositionalEmbedding: a sequence of length {} for a table of max_len {}; input {}, "
        "weight {}",
        L, max_len(), shape_str(x.shape()), shape_str(weight.shape())));
  return x + slice(weight, 0, 0, L);
}

std::string PositionalEmbedding::extra_repr() const {
  return fmt::format("max_len={}, dim={}", max_len(), dim());
}

Tensor sinusoidal_positions(std::int64_t length, std::int64_t dim, Dtype dtype) {
  if (length < 1 || dim < 1)
    throw ValueError(fmt::format(
        "sinusoidal_positions: sizes must be positive, got length={} dim={}", length, dim));
  std::vector<double> pe(static_cast<std::size_t>(length * dim));
  for (std::int64_t pos = 0; pos < length; ++pos)
    for (std::int64_t c = 0; c < dim; ++c) {
      // The course's get_angles: pos / 10000^(2 (c // 2) / dim); sin at even c, cos at odd.
      const std::int64_t even = c - c % 2;  // 2 (c // 2)
      const double angle = static_cast<double>(pos) /
                           std::pow(10000.0, static_cast<double>(even) / static_cast<double>(dim));
      pe[static_cast<std::size_t>(pos * dim + c)] = c % 2 == 0 ? std::sin(angle) : std::cos(angle);
    }
  return tensor(pe, {length, dim}, dtype);
}

// ---- TransformerBlock -----------------------------------------------------------------

TransformerBlock::TransformerBlock(std::int64_t d_model, std::int64_t nhead,
                                   std::int64_t dim_feedforward,
                                   const TransformerBlockOptions& options, Generator& gen)
    : Module("TransformerBlock"), options_(options) {
  if (d_model < 1 || nhead < 1 || dim_feedforward < 1)
    throw ValueError(fmt::format(
        "TransformerBlock: sizes must be positive, got d_model={} nhead={} dim_feedforward={}",
        d_model, nhead, dim_feedforward));
  if (d_model % nhead != 0)
    throw ValueError(
        fmt::format("TransformerBlock: d_model {} is not divisible by nhead {}", d_model, nhead));
  // torch's order of registration, which is its state dict's.
  self_attn = register_module(
      "self_attn",
      MultiheadAttention(
          d_model, nhead,
          {.dtype = options.dtype, .alibi = options.alibi, .qkv_conv = options.qkv_conv}, gen));
  linear1 =
      register_module("linear1", RowLinear(d_model, dim_feedforward, true, options.dtype, gen));
  linear2 =
      register_module("linear2", RowLinear(dim_feedforward, d_model, true, options.dtype, gen));
  norm1 = register_module("norm1", LayerNorm(d_model, options.eps, options.dtype));
  norm2 = register_module("norm2", LayerNorm(d_model, options.eps, options.dtype));
}

Tensor TransformerBlock::feed_forward(const Tensor& x) {
  const Tensor a = linear1->forward(x);
  return linear2->forward(
      options_.activation == TransformerActivation::relu_squared ? relu_squared(a) : relu(a));
}

Tensor TransformerBlock::forward(const Tensor& x) { return forward(x, false); }

Tensor TransformerBlock::forward(const Tensor& x, bool causal) {
  if (!x.defined() || x.dim() != 3 || x.size(2) != d_model())
    throw ShapeError(
        fmt::format("TransformerBlock: input of shape {} for d_model {} (expects "
                    "(N, L, {}))",
                    shape_or_undefined(x), d_model(), d_model()));
  if (options_.norm_first) {
    const Tensor h = x + self_attn->forward(norm1->forward(x), causal);
    return h + feed_forward(norm2->forward(h));
  }
  const Tensor h = norm1->forward(x + self_attn->forward(x, causal));
  return norm2->forward(h + feed_forward(h));
}

std::string TransformerBlock::extra_repr() const {
  return fmt::format("d_model={}, nhead={}, dim_feedforward={}, norm_first={}{}", d_model(),
                     self_attn->num_heads(), linear1->out_features(), options_.norm_first,
                     options_.activation == TransformerActivation::relu_squared
                         ? ", activation=relu_squared"
                         : "");
}

}  // namespace tapegrad::nn
