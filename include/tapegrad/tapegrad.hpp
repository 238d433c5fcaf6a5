#pragma once
/// \file
/// tapegrad: reverse-mode automatic differentiation on a dynamic tape.
/// Include this one header and link tapegrad::tapegrad.
#include <tapegrad/graph/anomaly.hpp>
#include <tapegrad/graph/autograd.hpp>
#include <tapegrad/graph/dtype.hpp>
#include <tapegrad/graph/error.hpp>
#include <tapegrad/graph/format.hpp>
#include <tapegrad/graph/gradcheck.hpp>
#include <tapegrad/graph/random.hpp>
#include <tapegrad/graph/shape.hpp>
#include <tapegrad/graph/tensor.hpp>
#include <tapegrad/graph/threads.hpp>
#include <tapegrad/ops/activation.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/elementwise.hpp>
#include <tapegrad/ops/linalg.hpp>
#include <tapegrad/ops/loss.hpp>
#include <tapegrad/ops/reduction.hpp>
#include <tapegrad/ops/shape_ops.hpp>
#include <tapegrad/version.hpp>
#include <tapegrad/optim/init.hpp>
#include <tapegrad/optim/layers.hpp>
#include <tapegrad/optim/named_tensors.hpp>
#include <tapegrad/optim/optimizer.hpp>
#include <tapegrad/optim/schedule.hpp>
#include <tapegrad/optim/serialize.hpp>
