#pragma once
/// \file
/// Multi-head attention, positional embeddings and the transformer block, in torch's
/// ROW layout: a sequence is (N, L, E), batch first, one token per row (unlike
/// nn::Linear's course columns). Names, shapes and initialization are torch's, so a state
/// dict exchanges with torch.nn.MultiheadAttention(batch_first=True) and
/// torch.nn.TransformerEncoderLayer(batch_first=True, dropout=0) directly. The layers are
/// built of recorded ops: ops/attention.hpp's layer_norm and scaled_dot_product_attention,
/// relu, add, and two of this file's own (a row-layout linear op, one gemm with its bias,
/// and the split of (N, L, E) into heads (N, h, L, E/h) and back, copies of whole rows).
///
///   nn::Embedding embed(vocab, 128);
///   nn::PositionalEmbedding positions(256, 128);
///   nn::TransformerBlock block(128, 4, 512);                    // pre-norm, relu
///   Tensor h = block.forward(positions(embed(tokens)), /*causal=*/true);  // (N, L, 128)
///
/// The pieces the block is made of are layers of their own: RowLinear (torch's
/// nn.Linear: (..., in) -> (..., out), weight (out, in), bias (out)) and LayerNorm (torch's
/// nn.LayerNorm over the last axis).
#include <cstdint>
#include <memory>
#include <string>
#include <tapegrad/graph/dtype.hpp>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/random.hpp>
#include <tapegrad/graph/tensor.hpp>
#include <tapegrad/nn/module.hpp>
#include <vector>

namespace tapegrad::nn {

/// A fully connected layer in torch's row layout, as torch.nn.Linear: y = x W^T + b, x
/// (..., in) -> (..., out), parameters "weight" (out, in) and "bias" (out), both
/// U(-1/sqrt(in), 1/sqrt(in)) at the start (torch's default). (nn::Linear is the course's
/// column layout, (in, m) -> (out, m) with a bias (out, 1).)
class TAPEGRAD_API RowLinear : public Module {
 public:
  /// A new layer drawn from `gen`, without "bias" when `bias` is false. Throws ValueError
  /// for a size < 1.
  RowLinear(std::int64_t in_features, std::int64_t out_features, bool bias = true,
            Dtype dtype = float32, Generator& gen = default_generator());

  /// (..., in) -> (..., out): matmul(x, W^T) + b. Throws ShapeError (starting
  /// "RowLinear: ") for a 0-D input or one whose last extent is not in_features.
  Tensor forward(const Tensor& x) override;
  /// "in_features=128, out_features=512" (", bias=false" without bias).
  std::string extra_repr() const override;

  /// The last extent of the input.
  std::int64_t in_features() const { return weight.size(1); }
  /// The last extent of the output.
  std::int64_t out_features() const { return weight.size(0); }

  /// (out, in), the registered "weight": change it in place, do not rebind it.
  Tensor weight;
  /// (out), the registered "bias"; undefined without bias.
  Tensor bias;
};

/// Layer normalization over the last axis, as torch.nn.LayerNorm(dim, eps): parameters
/// "weight" (dim), ones, and "bias" (dim), zeros (ops/attention.hpp's layer_norm).
class TAPEGRAD_API LayerNorm : public Module {
 public:
  /// Throws ValueError for dim < 1 or eps <= 0.
  explicit LayerNorm(std::int64_t dim, double eps = 1e-5, Dtype dtype = float32);

  /// (..., dim) -> (..., dim): layer_norm(x, weight, bias, eps); its errors.
  Tensor forward(const Tensor& x) override;
  /// "dim=128, eps=1e-05".
  std::string extra_repr() const override;

  /// The normalized (last) extent.
  std::int64_t dim() const { return weight.size(0); }
  /// Added to the variance before its square root.
  double eps() const { return eps_; }

  /// (dim), the registered "weight" (ones).
  Tensor weight;
  /// (dim), the registered "bias" (zeros).
  Tensor bias;

 private:
  double eps_;
};

/// MultiheadAttention's settings: `nn::MultiheadAttention mha(64, 4, {.bias = false})`.
struct MultiheadAttentionOptions {
  bool bias = true;       ///< learn "in_proj_bias" and "out_proj.bias"
  Dtype dtype = float32;  ///< of the parameters, and of the inputs the layer takes
  /// Empty, or one ALiBi slope a head (alibi_slopes(num_heads, ...)): every attention of
  /// the layer biases query i's score for key j by -slope |i - j| (ops/attention.hpp).
  std::vector<double> alibi = {};
  /// 0, or K: Primer's multi-dconv-head attention, a causal depthwise convolution of K
  /// steps (causal_depthwise_conv1d) on each of q, k and v after their projections, with
  /// parameters "qkv_conv" (3, K, E), starting as the identity (tap 0 one, the rest zero).
  /// For a sequence read in time order (a decoder): it mixes each step with the K - 1
  /// before it.
  std::int64_t qkv_conv = 0;
};

/// What MultiheadAttention's three-input forward returns, as torch's (attn_output,
/// attn_output_weights) with need_weights=True and average_attn_weights=True.
struct MultiheadAttentionOutput {
  Tensor output;   ///< (N, L, E)
  Tensor weights;  ///< (N, L, S): the heads' attention weights, averaged over the heads
};

/// Multi-head attention, as torch.nn.MultiheadAttention(embed_dim, num_heads, bias=bias,
/// batch_first=True) without dropout: q = query Wq^T + bq, k = key Wk^T + bk, v = value
/// Wv^T + bv (Wq, Wk, Wv the three row blocks of in_proj_weight), each split into
/// num_heads heads of E / num_heads features, (N, h, L, E/h); per head
/// scaled_dot_product_attention; the heads joined back to (N, L, E) and out_proj applied.
/// Parameters as torch's state dict: "in_proj_weight" (3E, E), xavier uniform;
/// "in_proj_bias" (3E), zeros; "out_proj.weight" (E, E), U(-1/sqrt(E), 1/sqrt(E));
/// "out_proj.bias" (E), zeros (the child out_proj is a RowLinear).
class TAPEGRAD_API MultiheadAttention : public Module {
 public:
  /// A new layer drawn from `gen`. Throws ValueError for a size < 1, an embed_dim that
  /// num_heads does not divide, or ALiBi slopes that are not one a head.
  MultiheadAttention(std::int64_t embed_dim, std::int64_t num_heads,
                     const MultiheadAttentionOptions& options = {},
                     Generator& gen = default_generator());

  /// Self-attention without a mask: forward(x, x, x).output, x (N, L, E) -> (N, L, E).
  Tensor forward(const Tensor& x) override;
  /// Self-attention, (N, L, E) -> (N, L, E); `causal` lets position i see positions j <= i
  /// only (torch's attn_mask = triu(-inf, diagonal=1)). No weights are averaged.
  Tensor forward(const Tensor& x, bool causal);
  /// Attention of `query` (N, L, E) over `key` (N, S, E) and `value` (N, S, E): self- or
  /// cross-attention. `causal` masks key j for query i where j > i (top-left aligned, as
  /// ops/attention.hpp). Throws ShapeError, starting "MultiheadAttention: " and giving
  /// the three shapes, for an input that is not 3-D, a last extent that is not E, a
  /// batch N that differs, or a key and value of different S.
  MultiheadAttentionOutput forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                   bool causal = false);
  /// "embed_dim=128, num_heads=4" (", bias=false" without bias, ", alibi" with slopes).
  std::string extra_repr() const override;

  /// E: the features of every input and of the output.
  std::int64_t embed_dim() const { return in_proj_weight.size(1); }
  /// h: the number of heads.
  std::int64_t num_heads() const { return num_heads_; }
  /// E / h: the features of each head.
  std::int64_t head_dim() const { return embed_dim() / num_heads_; }

  /// (3E, E), the registered "in_proj_weight": Wq, Wk, Wv stacked by rows.
  Tensor in_proj_weight;
  /// (3E), the registered "in_proj_bias"; undefined without bias.
  Tensor in_proj_bias;
  /// The output projection, (N, L, E) -> (N, L, E): "out_proj.weight" and "out_proj.bias".
  std::shared_ptr<RowLinear> out_proj;
  /// (3, K, E), the registered "qkv_conv" (options.qkv_conv = K); undefined without it.
  Tensor qkv_conv;

 private:
  Tensor attend(const Tensor& query, const Tensor& key, const Tensor& value, bool causal,
                Tensor* weights);
  std::int64_t num_heads_;
  std::vector<double> alibi_;
};

/// A learned positional embedding, as GPT-2's wpe: parameter "weight" (max_len, dim),
/// N(0, 0.02^2) at the start (GPT-2 / nanoGPT's scale; torch has no such layer), added to
/// the tokens' embeddings: position t gets row t.
class TAPEGRAD_API PositionalEmbedding : public Module {
 public:
  /// A table drawn from N(0, 0.02^2) with `gen`. Throws ValueError for a size < 1.
  PositionalEmbedding(std::int64_t max_len, std::int64_t dim, Dtype dtype = float32,
                      Generator& gen = default_generator());

  /// x (N, L, dim) -> x + weight[:L] (the rows broadcast over N). Throws ShapeError for an
  /// input that is not 3-D or whose last extent is not dim, IndexError for L > max_len
  /// (messages start "PositionalEmbedding: " and give the shapes).
  Tensor forward(const Tensor& x) override;
  /// "max_len=256, dim=128".
  std::string extra_repr() const override;

  /// The longest sequence the table covers.
  std::int64_t max_len() const { return weight.size(0); }
  /// The features of each position.
  std::int64_t dim() const { return weight.size(1); }

  /// (max_len, dim), the registered "weight": change it in place, do not rebind it.
  Tensor weight;
};

/// The fixed positional encoding of "Attention is all you need" (the course's week-4
/// positional_encoding): (length, dim), PE[pos, c] = sin(pos / 10000^(2 (c / 2) / dim)) at
/// even columns c and the cosine of the same angle at odd ones. Not a parameter: add it to
/// a batch (N, L, dim) as x + sinusoidal_positions(L, dim). Throws ValueError for a length
/// or dim < 1.
TAPEGRAD_API Tensor sinusoidal_positions(std::int64_t length, std::int64_t dim,
                                         Dtype dtype = float32);

/// The feed-forward activation of a TransformerBlock. torch's "gelu" (the exact, erf one)
/// is not here: tapegrad has no erf op yet.
enum class TransformerActivation {
  relu,         ///< max(x, 0), torch's default
  relu_squared  ///< max(x, 0)^2, Primer's (not torch's): learns faster in small models
};

/// TransformerBlock's settings: `nn::TransformerBlock block(128, 4, 512, {.norm_first = false})`.
struct TransformerBlockOptions {
  bool norm_first = true;  ///< pre-norm (GPT-2's); false: torch's default post-norm
  TransformerActivation activation = TransformerActivation::relu;  ///< of the feed-forward
  double eps = 1e-5;                                               ///< of both layer norms
  Dtype dtype = float32;  ///< of the parameters, and of the inputs the block takes
  /// Empty, or one ALiBi slope a head for the self-attention (MultiheadAttentionOptions).
  std::vector<double> alibi = {};
  /// 0, or the steps of the self-attention's q, k, v convolutions (MultiheadAttentionOptions).
  std::int64_t qkv_conv = 0;
};

/// One transformer encoder layer, exactly torch.nn.TransformerEncoderLayer(d_model, nhead,
/// dim_feedforward, dropout=0, activation, batch_first=True, norm_first): with norm_first,
///   x = x + self_attn(norm1(x));  x = x + linear2(relu(linear1(norm2(x))))
/// and otherwise (post-norm)
///   x = norm1(x + self_attn(x));  x = norm2(x + linear2(relu(linear1(x)))).
/// Children named as torch's: "self_attn" (MultiheadAttention), "linear1" (d_model ->
/// dim_feedforward) and "linear2" (back; RowLinear, torch's default init), "norm1" and
/// "norm2" (LayerNorm), so the state dict is torch's, in torch's order. Two settings go
/// beyond torch's layer (options: relu_squared for relu, ALiBi slopes in the attention);
/// the parameters stay the same.
class TAPEGRAD_API TransformerBlock : public Module {
 public:
  /// A new block drawn from `gen`. Throws ValueError for a size < 1, a d_model that
  /// nhead does not divide, or ALiBi slopes that are not one a head.
  TransformerBlock(std::int64_t d_model, std::int64_t nhead, std::int64_t dim_feedforward,
                   const TransformerBlockOptions& options = {},
                   Generator& gen = default_generator());

  /// forward(x, false).
  Tensor forward(const Tensor& x) override;
  /// (N, L, d_model) -> (N, L, d_model); `causal` masks the later positions in the
  /// self-attention. Throws ShapeError (from self_attn, or starting "TransformerBlock: ")
  /// for another input shape.
  Tensor forward(const Tensor& x, bool causal);
  /// "d_model=128, nhead=4, dim_feedforward=512, norm_first=true".
  std::string extra_repr() const override;

  /// E: the features of each token.
  std::int64_t d_model() const { return self_attn->embed_dim(); }
  /// Whether the layer norms come before the attention and the feed-forward.
  bool norm_first() const { return options_.norm_first; }

  std::shared_ptr<MultiheadAttention> self_attn;  ///< "self_attn"
  std::shared_ptr<RowLinear> linear1;             ///< "linear1": (d_model) -> (dim_feedforward)
  std::shared_ptr<RowLinear> linear2;             ///< "linear2": (dim_feedforward) -> (d_model)
  std::shared_ptr<LayerNorm> norm1;               ///< "norm1": before (or after) the attention
  std::shared_ptr<LayerNorm> norm2;               ///< "norm2": before (or after) the feed-forward

 private:
  Tensor feed_forward(const Tensor& x);
  TransformerBlockOptions options_;
};

}  // namespace tapegrad::nn
