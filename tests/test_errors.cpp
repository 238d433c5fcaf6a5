// Every misuse throws a tapegrad exception of the right type whose message names the
// op and the shapes involved.
#define BOOST_TEST_MODULE errors
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <functional>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>

using namespace tapegrad;

namespace {

// Runs f, which must throw E; checks that the message contains every one of `parts`.
// Returns the message.
template <class E>
std::string expect_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
  std::string msg;
  bool thrown = false;
  try {
    f();
  } catch (const E& e) {
    thrown = true;
    msg = e.what();
  } catch (const std::exception& e) {
    BOOST_ERROR("wrong exception type; message: " << e.what());
    return {};
  }
  BOOST_TEST_REQUIRE(thrown, "no exception thrown");
  for (const std::string& part : parts)
    BOOST_TEST(msg.find(part) != std::string::npos, "'" << part << "' not in: " << msg);
  BOOST_TEST_MESSAGE(msg);
  return msg;
}

Tensor param(const Shape& shape, Dtype dtype = float64) {
  Tensor t = ones(shape, dtype);
  t.requires_grad_();
  return t;
}

}  // namespace

// ---- shapes -------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(matmul_rejects_mismatched_inner_dims) {
  const std::string msg = expect_error<ShapeError>(
      [] {
        matmul(ones({3, 4}), ones({5, 2}));
      },
      {"matmul"});
  BOOST_TEST(msg == "matmul: inner dimensions differ: [3, 4] x [5, 2]");
}

// A vector is a row or a column, as in torch.matmul; a scalar is neither.
BOOST_AUTO_TEST_CASE(matmul_rejects_a_scalar) {
  expect_error<ShapeError>([] { matmul(scalar(2), ones({3, 2})); }, {"matmul", "[]", "[3, 2]"});
}

BOOST_AUTO_TEST_CASE(matmul_rejects_a_vector_of_the_wrong_length) {
  expect_error<ShapeError>(
      [] {
        matmul(ones({3}), ones({4, 2}));
      },
      {"matmul: inner dimensions differ", "[3]", "[4, 2]"});
  expect_error<ShapeError>(
      [] {
        matmul(ones({2, 4}), ones({3}));
      },
      {"matmul: inner dimensions differ", "[2, 4]", "[3]"});
}

BOOST_AUTO_TEST_CASE(batched_matmul_rejects_mismatched_inner_dims) {
  expect_error<ShapeError>(
      [] {
        matmul(ones({2, 3, 4}), ones({2, 5, 2}));
      },
      {"matmul: inner dimensions differ", "[2, 3, 4]", "[2, 5, 2]"});
}

BOOST_AUTO_TEST_CASE(batched_matmul_rejects_batch_dims_that_do_not_broadcast) {
  expect_error<ShapeError>(
      [] {
        matmul(ones({2, 3, 4}), ones({3, 4, 5}));
      },
      {"matmul: batch dimensions do not broadcast", "[2, 3, 4]", "[3, 4, 5]"});
}

BOOST_AUTO_TEST_CASE(maximum_rejects_unbroadcastable_shapes) {
  expect_error<ShapeError>(
      [] {
        maximum(ones({3, 4}), ones({2, 4}));
      },
      {"maximum", "[3, 4]", "[2, 4]"});
  expect_error<ShapeError>([] { minimum(ones({3}), ones({4})); }, {"minimum", "[3]", "[4]"});
}

BOOST_AUTO_TEST_CASE(maximum_rejects_mixed_dtypes) {
  expect_error<DtypeError>([] { maximum(ones({2}), ones({2}, float64)); },
                           {"maximum", "float32", "float64"});
}

BOOST_AUTO_TEST_CASE(stack_rejects_tensors_of_different_shapes) {
  expect_error<ShapeError>(
      [] {
        stack({ones({2, 3}), ones({2, 3}), ones({3, 2})});
      },
      {"stack", "tensor 2", "[3, 2]", "[2, 3]"});
}

BOOST_AUTO_TEST_CASE(stack_rejects_an_empty_list) {
  expect_error<ValueError>([] { stack({}); }, {"stack", "no tensors"});
}

BOOST_AUTO_TEST_CASE(stack_rejects_an_axis_out_of_range) {
  // A new axis of two 2-D tensors may be 0, 1 or 2 (or -3 to -1), not 3.
  expect_error<IndexError>(
      [] {
        stack({ones({2, 3}), ones({2, 3})}, 3);
      },
      {"stack: axis 3 is out of range"});
}

BOOST_AUTO_TEST_CASE(tensor_rejects_ragged_rows) {
  expect_error<ShapeError>(
      [] {
        tensor({{1, 2, 3}, {4, 5}});
      },
      {"tensor", "row 1 has 2 values", "row 0 has 3"});
}

BOOST_AUTO_TEST_CASE(linspace_rejects_a_negative_number_of_steps) {
  expect_error<ValueError>([] { linspace(0, 1, -1); }, {"linspace", "steps=-1"});
}

BOOST_AUTO_TEST_CASE(add_rejects_unbroadcastable_shapes) {
  expect_error<ShapeError>([] { add(ones({3, 4}), ones({2, 4})); }, {"add", "[3, 4]", "[2, 4]"});
}

BOOST_AUTO_TEST_CASE(sub_rejects_unbroadcastable_shapes) {
  expect_error<ShapeError>([] { ones({3}) - ones({4}); }, {"sub", "[3]", "[4]"});
}

BOOST_AUTO_TEST_CASE(mul_rejects_unbroadcastable_shapes) {
  expect_error<ShapeError>([] { ones({2, 3}) * ones({3, 2}); }, {"mul", "[2, 3]", "[3, 2]"});
}

BOOST_AUTO_TEST_CASE(div_rejects_unbroadcastable_shapes) {
  expect_error<ShapeError>([] { ones({2, 3, 4}) / ones({3, 3}); }, {"div", "[2, 3, 4]", "[3, 3]"});
}

BOOST_AUTO_TEST_CASE(where_rejects_unbroadcastable_shapes) {
  expect_error<ShapeError>(
      [] {
        where(ones({2, 3}), ones({2, 3}), ones({4}));
      },
      {"where", "[2, 3]", "[4]"});
}

BOOST_AUTO_TEST_CASE(comparison_rejects_unbroadcastable_shapes) {
  expect_error<ShapeError>([] { greater(ones({2, 3}), ones({2})); }, {"greater", "[2, 3]", "[2]"});
}

BOOST_AUTO_TEST_CASE(broadcast_to_rejects_a_shape_it_does_not_fit) {
  expect_error<ShapeError>(
      [] {
        broadcast_to(ones({3, 2}), {3, 4});
      },
      {"broadcast_to", "[3, 2]", "[3, 4]"});
  expect_error<ShapeError>(
      [] {
        broadcast_to(ones({2, 3}), {3});
      },
      {"broadcast_to", "[2, 3]", "[3]"});
}

BOOST_AUTO_TEST_CASE(in_place_add_rejects_a_shape_that_would_grow_the_target) {
  Tensor a = ones({3});
  expect_error<ShapeError>([&] { a += ones({2, 3}); }, {"add_", "[2, 3]", "[3]"});
}

BOOST_AUTO_TEST_CASE(reshape_rejects_the_wrong_number_of_elements) {
  expect_error<ShapeError>([] { reshape(ones({3, 4}), {5, 2}); }, {"reshape", "[3, 4]", "[5, 2]"});
}

// The message shows the shape as the caller wrote it, -1 included.
BOOST_AUTO_TEST_CASE(reshape_rejects_an_inferred_extent_that_does_not_divide) {
  expect_error<ShapeError>(
      [] {
        reshape(ones({3, 4}), {5, -1});
      },
      {"reshape: cannot reshape [3, 4] (12 elements) into [5, -1]"});
}

BOOST_AUTO_TEST_CASE(concat_rejects_shapes_that_differ_outside_the_axis) {
  expect_error<ShapeError>(
      [] {
        concat({ones({2, 3}), ones({2, 4})}, 0);
      },
      {"concat", "[2, 3]", "[2, 4]", "axis 0"});
}

BOOST_AUTO_TEST_CASE(transpose_without_axes_rejects_a_non_matrix) {
  expect_error<ShapeError>([] { transpose(ones({2, 3, 4})); }, {"transpose", "[2, 3, 4]"});
}

BOOST_AUTO_TEST_CASE(min_rejects_an_empty_tensor) {
  expect_error<ShapeError>([] { min(ones({0, 3})); }, {"min", "[0, 3]"});
  expect_error<ShapeError>([] { min(ones({2, 0}), 1); }, {"min", "axis 1", "[2, 0]"});
  expect_error<ShapeError>([] { argmin(ones({0})); }, {"argmin", "[0]"});
}

BOOST_AUTO_TEST_CASE(var_rejects_too_few_elements_for_the_correction) {
  // One sample has no unbiased variance (n - 1 = 0); with correction 0 it is 0.
  expect_error<ValueError>(
      [] {
        var(ones({1, 4}), 0);
      },
      {"var", "axis 0", "[1, 4]", "correction 1 leaves 0 degrees of freedom"});
  expect_error<ValueError>([] { var(ones({1})); }, {"var", "[1]", "correction 1 leaves 0 degrees"});
  expect_error<ValueError>(
      [] {
        tapegrad::std(ones({3, 2}), 1, false, 2.0);
      },
      {"var", "axis 1", "[3, 2]", "correction 2 leaves 0 degrees"});
  BOOST_TEST(var(ones({1, 4}), 0, false, 0.0).to_vector() == std::vector<double>(4, 0.0),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(logsumexp_rejects_an_empty_axis) {
  expect_error<ShapeError>([] { logsumexp(ones({3, 0}), 1); }, {"logsumexp", "axis 1", "[3, 0]"});
}

BOOST_AUTO_TEST_CASE(mean_rejects_an_empty_tensor) {
  expect_error<ShapeError>([] { mean(ones({0, 3})); }, {"mean", "[0, 3]"});
}

BOOST_AUTO_TEST_CASE(tensor_rejects_the_wrong_number_of_values) {
  expect_error<ShapeError>(
      [] {
        tensor({1, 2, 3, 4, 5}, {2, 3});
      },
      {"tensor: 5 values do not fill shape [2, 3]"});
}

BOOST_AUTO_TEST_CASE(creation_rejects_a_negative_extent) {
  expect_error<ShapeError>([] { zeros({2, -1}); }, {"negative extent in shape [2, -1]"});
}

BOOST_AUTO_TEST_CASE(item_rejects_a_tensor_of_several_elements) {
  expect_error<ShapeError>([] { ones({2, 2}).item(); }, {"item", "[2, 2]"});
}

// ---- dtypes -------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(add_rejects_mixed_dtypes) {
  expect_error<DtypeError>(
      [] {
        add(ones({2, 3}, float32), ones({2, 3}, float64));
      },
      {"add: ", "float32 [2, 3] and float64 [2, 3]"});
}

BOOST_AUTO_TEST_CASE(matmul_rejects_mixed_dtypes) {
  expect_error<DtypeError>(
      [] {
        matmul(ones({2, 3}, float32), ones({3, 4}, float64));
      },
      {"matmul", "float32 [2, 3]", "float64 [3, 4]"});
}

BOOST_AUTO_TEST_CASE(concat_rejects_mixed_dtypes) {
  expect_error<DtypeError>(
      [] {
        concat({ones({2}, float64), ones({3}, float32)}, 0);
      },
      {"concat", "float64 [2]", "float32 [3]"});
}

BOOST_AUTO_TEST_CASE(loss_rejects_mixed_dtypes) {
  expect_error<DtypeError>([] { mse_loss(ones({2}, float32), ones({2}, float64)); },
                           {"mse_loss: ", "float32 [2] and float64 [2]"});
}

BOOST_AUTO_TEST_CASE(data_rejects_the_wrong_element_type) {
  expect_error<DtypeError>([] { ones({2}, float32).data<double>(); },
                           {"data: tensor is float32, not float64"});
}

// ---- indices and axes -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(slice_rejects_bounds_out_of_range) {
  expect_error<IndexError>(
      [] {
        slice(ones({3, 4}), 1, 1, 5);
      },
      {"slice", "[1, 5)", "axis 1", "[3, 4]"});
  expect_error<IndexError>([] { slice(ones({3, 4}), 0, -5, 2); }, {"slice", "[-5, 2)", "[3, 4]"});
  expect_error<IndexError>([] { slice(ones({3, 4}), 0, 2, 1); }, {"slice", "[2, 1)", "[3, 4]"});
}

BOOST_AUTO_TEST_CASE(select_rejects_an_index_out_of_range) {
  expect_error<IndexError>([] { select(ones({3, 4}), 0, 3); }, {"select", "index 3", "[3, 4]"});
  expect_error<IndexError>([] { select(ones({3, 4}), 1, -5); }, {"select", "index -5", "[3, 4]"});
}

BOOST_AUTO_TEST_CASE(index_select_rejects_an_index_out_of_range) {
  expect_error<IndexError>(
      [] {
        index_select(ones({3, 4}), 1, {0, 4});
      },
      {"index_select", "index 4", "axis 1", "[3, 4]"});
}

BOOST_AUTO_TEST_CASE(at_rejects_an_index_out_of_range) {
  expect_error<IndexError>([] { ones({3, 4}).at({1, 4}); }, {"at", "index 4", "[3, 4]"});
  expect_error<IndexError>(
      [] {
        ones({3, 4}).at({1});
      },
      {"at: 1 indices for a tensor of shape [3, 4]"});
}

BOOST_AUTO_TEST_CASE(sum_rejects_an_axis_out_of_range) {
  expect_error<IndexError>([] { sum(ones({3, 4}), 2); }, {"sum", "axis 2", "[3, 4]"});
}

BOOST_AUTO_TEST_CASE(mean_rejects_an_axis_out_of_range) {
  expect_error<IndexError>([] { mean(ones({3, 4}), -3); }, {"mean", "axis -3", "[3, 4]"});
}

BOOST_AUTO_TEST_CASE(min_rejects_an_axis_out_of_range) {
  expect_error<IndexError>([] { min(ones({2, 3}), 2); }, {"min: axis 2 is out of range", "[2, 3]"});
}

BOOST_AUTO_TEST_CASE(max_rejects_an_axis_out_of_range) {
  expect_error<IndexError>([] { max(ones({3}), 1); }, {"max", "axis 1", "[3]"});
}

BOOST_AUTO_TEST_CASE(softmax_rejects_an_axis_out_of_range) {
  expect_error<IndexError>([] { softmax(ones({3, 4}), 2); }, {"softmax", "axis 2", "[3, 4]"});
  expect_error<IndexError>(
      [] {
        log_softmax(ones({3, 4}), -3);
      },
      {"log_softmax", "axis -3", "[3, 4]"});
}

BOOST_AUTO_TEST_CASE(transpose_rejects_an_axis_out_of_range) {
  expect_error<IndexError>(
      [] {
        transpose(ones({2, 3, 4}), 0, 3);
      },
      {"transpose", "axis 3", "[2, 3, 4]"});
}

BOOST_AUTO_TEST_CASE(concat_rejects_an_axis_out_of_range) {
  expect_error<IndexError>(
      [] {
        concat({ones({2, 3}), ones({2, 3})}, 2);
      },
      {"concat", "axis 2", "[2, 3]"});
}

// ---- losses -------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(softmax_cross_entropy_rejects_a_label_out_of_range) {
  const Tensor logits = ones({3, 4});  // 3 classes on axis 0, 4 examples
  expect_error<IndexError>(
      [&] {
        softmax_cross_entropy(logits, tensor({0, 2, 3, 1}, {4}), 0);
      },
      {"softmax_cross_entropy", "label 3", "position 2", "[0, 3)", "[3, 4]"});
  expect_error<IndexError>(
      [&] {
        softmax_cross_entropy(logits, tensor({0, -1, 2, 1}, {4}), 0);
      },
      {"softmax_cross_entropy", "label -1", "[3, 4]"});
}

BOOST_AUTO_TEST_CASE(softmax_cross_entropy_rejects_a_non_integer_label) {
  expect_error<ValueError>(
      [] {
        softmax_cross_entropy(ones({3, 4}), tensor({0, 1.5, 2, 1}, {1, 4}), 0);
      },
      {"softmax_cross_entropy", "label 1.5", "position 1", "[3, 4]"});
}

BOOST_AUTO_TEST_CASE(softmax_cross_entropy_rejects_a_target_of_the_wrong_shape) {
  expect_error<ShapeError>(
      [] {
        softmax_cross_entropy(ones({3, 4}), ones({3}), 0);
      },
      {"softmax_cross_entropy", "[3]", "[3, 4]", "[4]", "[1, 4]"});
}

BOOST_AUTO_TEST_CASE(mse_loss_rejects_a_target_of_another_shape) {
  expect_error<ShapeError>(
      [] {
        mse_loss(ones({3, 1}), ones({1, 3}));
      },
      {"mse_loss", "[3, 1]", "[1, 3]"});
}

BOOST_AUTO_TEST_CASE(binary_cross_entropy_rejects_a_target_of_another_shape) {
  expect_error<ShapeError>(
      [] {
        binary_cross_entropy(full({1, 4}, 0.5), ones({4}));
      },
      {"binary_cross_entropy", "[1, 4]", "[4]"});
}

BOOST_AUTO_TEST_CASE(binary_cross_entropy_with_logits_rejects_a_target_of_another_shape) {
  expect_error<ShapeError>(
      [] {
        binary_cross_entropy_with_logits(ones({2, 4}), ones({4, 2}));
      },
      {"binary_cross_entropy_with_logits", "[2, 4]", "[4, 2]"});
}

// ---- values -------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(one_hot_rejects_a_label_out_of_range) {
  expect_error<ValueError>(
      [] {
        one_hot(tensor({0, 3, 1}), 3);
      },
      {"one_hot", "label 3", "position 1", "[3]", "[0, 3)"});
  expect_error<ValueError>([] { one_hot(tensor({-1}), 3); }, {"one_hot", "label -1"});
}

BOOST_AUTO_TEST_CASE(one_hot_rejects_a_label_that_is_not_an_integer) {
  expect_error<ValueError>(
      [] {
        one_hot(tensor({{0, 1}, {1.5, 2}}), 3);
      },
      {"one_hot", "label 1.5", "position 2", "[2, 2]"});
  expect_error<ValueError>([] { one_hot(tensor({std::nan("")}), 3); }, {"one_hot", "nan"});
}

BOOST_AUTO_TEST_CASE(one_hot_rejects_no_classes_and_an_axis_out_of_range) {
  expect_error<ValueError>([] { one_hot(tensor({0}), 0); }, {"one_hot", "num_classes", "0"});
  expect_error<IndexError>(
      [] {
        one_hot(tensor({0, 1}), 2, 2);
      },
      {"one_hot: axis 2 is out of range"});
}

BOOST_AUTO_TEST_CASE(clamp_rejects_a_lower_bound_above_the_upper) {
  expect_error<ValueError>([] { clamp(ones({2}), 1.0, -1.0); },
                           {"clamp: lower bound 1 is above upper bound -1"});
}

BOOST_AUTO_TEST_CASE(randint_rejects_an_empty_range) {
  expect_error<ValueError>([] { randint(3, 3, {2}); }, {"randint", "[3, 3)"});
}

BOOST_AUTO_TEST_CASE(arange_rejects_a_zero_step) {
  expect_error<ValueError>([] { arange(0, 1, 0); }, {"arange", "step=0"});
}

// ---- the tape -----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(backward_on_a_non_scalar_without_a_gradient_throws) {
  const Tensor x = param({2, 3});
  expect_error<GraphError>([&] { (x * 2.0).backward(); }, {"backward", "[2, 3]", "not a scalar"});
}

BOOST_AUTO_TEST_CASE(backward_through_a_released_graph_throws) {
  const Tensor x = param({2, 3});
  const Tensor y = exp(x);
  const Tensor loss = sum(y);
  loss.backward();
  expect_error<GraphError>([&] { loss.backward(); }, {"backward", "'sum'", "[]", "retain_graph"});
  // A second loss on the released part reaches 'exp' and names it and its shape.
  const Tensor again = sum(y * 2.0);
  expect_error<GraphError>([&] { again.backward(); }, {"backward", "'exp'", "[2, 3]"});
}

BOOST_AUTO_TEST_CASE(backward_rejects_a_gradient_of_the_wrong_shape) {
  const Tensor x = param({2, 3});
  expect_error<ShapeError>([&] { (x * 2.0).backward(ones({3}, float64)); },
                           {"backward", "[3]", "[2, 3]"});
}

BOOST_AUTO_TEST_CASE(backward_rejects_a_gradient_of_the_wrong_dtype) {
  const Tensor x = param({2, 3});
  expect_error<DtypeError>(
      [&] {
        (x * 2.0).backward(ones({2, 3}, float32));
      },
      {"backward", "float64 [2, 3]", "float32 [2, 3]"});
}

BOOST_AUTO_TEST_CASE(backward_on_a_tensor_that_does_not_require_grad_throws) {
  expect_error<GraphError>(
      [] {
        sum(ones({2, 2})).backward();
      },
      {"backward", "[]", "require grad"});
}

BOOST_AUTO_TEST_CASE(rule_giving_a_gradient_of_an_unreducible_shape_is_reported_by_op) {
  const Tensor x = param({2, 3});
  const Tensor y = record("bad_rule", x.detach().clone(), {&x},
                          [](const Tensor&, Needs) { return Grads{ones({4}, float64)}; });
  expect_error<ShapeError>([&] { sum(y).backward(); }, {"bad_rule", "[4]", "[2, 3]"});
}

BOOST_AUTO_TEST_CASE(rule_giving_no_gradient_for_a_needed_input_is_reported_by_op) {
  const Tensor x = param({2});
  const Tensor y =
      record("silent_rule", x.detach().clone(), {&x}, [](const Tensor&, Needs) { return Grads{}; });
  expect_error<GraphError>([&] { sum(y).backward(); }, {"silent_rule", "input 0"});
}

BOOST_AUTO_TEST_CASE(in_place_update_of_a_tensor_requiring_grad_throws_under_grad_mode) {
  Tensor w = param({2, 2});
  expect_error<GraphError>([&] { w.add_(1.0); }, {"add_", "[2, 2]", "NoGradGuard"});
  expect_error<GraphError>([&] { w.fill_(0.0); }, {"fill_", "[2, 2]"});
  expect_error<GraphError>([&] { w.mul_(2.0); }, {"mul_", "[2, 2]"});
  expect_error<GraphError>([&] { w.copy_(zeros({2, 2}, float64)); }, {"copy_", "[2, 2]"});
  expect_error<GraphError>([&] { w -= ones({2, 2}, float64); }, {"add_", "[2, 2]"});
  expect_error<GraphError>([&] { w *= ones({2, 2}, float64); }, {"mul_", "[2, 2]"});
  BOOST_TEST(w.to_vector() == std::vector<double>({1, 1, 1, 1}), boost::test_tools::per_element());
  // The same update under NoGradGuard is how an optimizer steps: allowed.
  {
    NoGradGuard no_grad;
    w -= ones({2, 2}, float64) * 0.5;
  }
  BOOST_TEST(w.to_vector() == std::vector<double>({0.5, 0.5, 0.5, 0.5}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(requires_grad_on_a_computed_tensor_throws) {
  const Tensor x = param({3});
  Tensor y = exp(x);
  expect_error<GraphError>([&] { y.requires_grad_(); }, {"requires_grad_", "[3]", "'exp'"});
}

BOOST_AUTO_TEST_CASE(retain_grad_on_a_tensor_that_does_not_require_grad_throws) {
  Tensor c = ones({2, 5});
  expect_error<GraphError>([&] { c.retain_grad(); }, {"retain_grad", "[2, 5]"});
}

BOOST_AUTO_TEST_CASE(set_grad_rejects_a_gradient_of_another_shape) {
  Tensor w = param({2, 3});
  expect_error<ShapeError>(
      [&] {
        w.set_grad(ones({3, 2}, float64));
      },
      {"set_grad", "[3, 2]", "[2, 3]"});
}

BOOST_AUTO_TEST_CASE(gradcheck_rejects_a_function_that_leaves_float64) {
  expect_error<DtypeError>(
      [] { gradcheck([](const std::vector<Tensor>& x) { return x[0].to(float32); }, {ones({2})}); },
      {"gradcheck", "float64"});
}

// ---- undefined tensors ----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(undefined_tensor_in_an_op_throws_naming_the_op) {
  const Tensor undefined;
  expect_error<Error>([&] { add(undefined, ones({2})); }, {"add", "undefined"});
  expect_error<Error>([&] { matmul(ones({2, 2}), undefined); }, {"matmul", "undefined"});
  expect_error<Error>([&] { sum(undefined); }, {"sum", "undefined"});
  expect_error<Error>([&] { sigmoid(undefined); }, {"sigmoid", "undefined"});
  expect_error<Error>([&] { mse_loss(undefined, ones({2})); }, {"mse_loss", "undefined"});
}

BOOST_AUTO_TEST_CASE(undefined_tensor_queried_directly_throws) {
  const Tensor undefined;
  BOOST_TEST(!undefined.defined());
  expect_error<Error>([&] { (void)undefined.shape(); }, {"undefined"});
  expect_error<Error>([&] { undefined.backward(); }, {"undefined"});
}
