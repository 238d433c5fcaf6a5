#pragma once
/// \file
/// Layer normalization and scaled dot-product attention, as torch.nn.functional's
/// layer_norm and scaled_dot_product_attention. layer_norm is one op with its own backward
/// rule; attention is three: the scores q k^T / sqrt(E) as one batched product (k
/// transposed by a BLAS flag, the scale folded in), a one-pass softmax that applies the
/// causal mask without a mask tensor, and the product with v. Their rules are raw kernels,
/// as matmul's are: a gradient of their gradient waits on the engine's double backward
/// (issue 10).
///
///   Tensor h = layer_norm(x, gamma, beta);                        // x (N, L, D)
///   Tensor y = scaled_dot_product_attention(q, k, v, /*causal=*/true);
///   Tensor z = scaled_dot_product_attention(q, k, v, true, alibi_slopes(q.size(1)));
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/tensor.hpp>
#include <vector>

namespace tapegrad {

/// Layer normalization over the last axis, as torch.nn.functional.layer_norm with
/// normalized_shape = (D): x (..., D), weight and bias (D) or undefined Tensor{} (none)
/// -> (..., D), y = (x - mean) / sqrt(var + eps) * weight + bias, with the mean and the
/// biased variance of each last-axis row. One recorded op; its rule sums over the rows in
/// a fixed order (the same bits at any thread count). Throws Error for an
/// undefined x, ValueError for eps <= 0, ShapeError for a 0-D x or a weight or bias that is not
/// (D), naming every shape ("layer_norm: weight is [3], expected (D) = [4]; x [2, 4], ...").
TAPEGRAD_API Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                               double eps = 1e-5);

/// The result of attention_with_weights.
struct AttentionResult {
  Tensor output;   ///< (..., L, Ev): weights v
  Tensor weights;  ///< (..., L, S): softmax(q k^T / sqrt(E) + mask) along the last axis
};

/// Scaled dot-product attention, as torch.nn.functional.scaled_dot_product_attention
/// (no dropout): q (..., L, E), k (..., S, E), v (..., S, Ev), the same leading (batch,
/// head) axes, any number of them -> (..., L, Ev) = softmax(q k^T / sqrt(E) + mask) v.
/// causal masks the keys after the query (j > i, top-left aligned as torch's is_causal):
/// their weights are exactly 0, as softmax of -inf scores, and they get gradient exactly 0
/// (every row keeps j = 0). Throws
/// `alibi`, when not empty, holds one slope a head (the axis before L, so q is at least
/// (heads, L, E)): ALiBi (Press et al., 2022), a bias -slope |i - j| on query i's score
/// for key j, which makes each head prefer the keys near its query without position
/// embeddings (alibi_slopes gives the paper's slopes); as torch's attn_mask of those
/// biases. The bias is a constant, so the rules are unchanged. Throws
/// Error for an undefined input and ShapeError, naming q's, k's and v's shapes, for
/// an input under 2-D, differing ranks or leading axes, q's E not k's, k's S not v's, or
/// slopes whose count is not the heads' axis; ValueError for a slope that is not finite.
TAPEGRAD_API Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                                 bool causal = false,
                                                 const std::vector<double>& alibi = {});

/// scaled_dot_product_attention's output and its attention weights (..., L, S) (e.g. for
/// a heat map), both recorded; shapes, rules and errors (naming attention_with_weights)
/// as scaled_dot_product_attention's.
TAPEGRAD_API AttentionResult attention_with_weights(const Tensor& q, const Tensor& k,
                                                    const Tensor& v, bool causal = false,
                                                    const std::vector<double>& alibi = {});

/// ALiBi's slopes for `heads` heads, a geometric sequence:
/// slope_h = 2^(-max_exponent (h + 1) / heads), h = 0 .. heads - 1. The paper's
/// max_exponent 8 gives 8 heads 1/2, 1/4, ..., 1/256; a smaller one, steeper slopes
/// (more local heads; the character transformer example uses 2). Throws ValueError for
/// heads < 1 or a max_exponent that is not finite.
TAPEGRAD_API std::vector<double> alibi_slopes(std::int64_t heads, double max_exponent = 8);

}  // namespace tapegrad
