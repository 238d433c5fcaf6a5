#pragma once
/// \file
/// tapegrad: reverse-mode automatic differentiation on a dynamic tape.
/// Include this one header and link tapegrad::tapegrad. The rooms, each reached from here:
///   graph/  tensors, the tape, grad mode, gradcheck, threads
///   ops/    differentiable ops, one family per file
///   nn/     Module, Sequential, layers, activations, initializers
///   optim/  optimizers, learning-rate schedules, gradient clipping
///   data/   IDX, CSV, HDF5 and text readers, data sets, toy data sets, transforms, mini-batches
///   io/     the atomic file, tensor files, checkpoints, safetensors
///   viz/    SVG plots and the progress bar
/// Data-parallel training (distributed/, over MPI) has its own header and target:
/// <tapegrad/distributed.hpp> and tapegrad::distributed, so that a program without MPI
/// needs none.
#include <tapegrad/data/batches.hpp>
#include <tapegrad/data/csv.hpp>
#include <tapegrad/data/dataset.hpp>
#include <tapegrad/data/hdf5.hpp>
#include <tapegrad/data/idx.hpp>
#include <tapegrad/data/images.hpp>
#include <tapegrad/data/text.hpp>
#include <tapegrad/data/toy.hpp>
#include <tapegrad/data/transforms.hpp>
#include <tapegrad/graph/anomaly.hpp>
#include <tapegrad/graph/autograd.hpp>
#include <tapegrad/graph/dtype.hpp>
#include <tapegrad/graph/error.hpp>
#include <tapegrad/graph/format.hpp>
#include <tapegrad/graph/gradcheck.hpp>
#include <tapegrad/graph/named_tensors.hpp>
#include <tapegrad/graph/random.hpp>
#include <tapegrad/graph/shape.hpp>
#include <tapegrad/graph/tensor.hpp>
#include <tapegrad/graph/threads.hpp>
#include <tapegrad/io/atomic_file.hpp>
#include <tapegrad/io/checkpoint.hpp>
#include <tapegrad/io/crc32.hpp>
#include <tapegrad/io/little_endian.hpp>
#include <tapegrad/io/safetensors.hpp>
#include <tapegrad/io/tensor_file.hpp>
#include <tapegrad/nn/activation.hpp>
#include <tapegrad/nn/batch_norm.hpp>
#include <tapegrad/nn/conv.hpp>
#include <tapegrad/nn/dropout.hpp>
#include <tapegrad/nn/flatten.hpp>
#include <tapegrad/nn/init.hpp>
#include <tapegrad/nn/linear.hpp>
#include <tapegrad/nn/mlp.hpp>
#include <tapegrad/nn/module.hpp>
#include <tapegrad/nn/pooling.hpp>
#include <tapegrad/nn/recurrent.hpp>
#include <tapegrad/nn/regularization.hpp>
#include <tapegrad/nn/residual.hpp>
#include <tapegrad/nn/sequential.hpp>
#include <tapegrad/nn/transformer.hpp>
#include <tapegrad/ops/activation.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/attention.hpp>
#include <tapegrad/ops/conv.hpp>
#include <tapegrad/ops/elementwise.hpp>
#include <tapegrad/ops/linalg.hpp>
#include <tapegrad/ops/loss.hpp>
#include <tapegrad/ops/normalization.hpp>
#include <tapegrad/ops/pooling.hpp>
#include <tapegrad/ops/recurrent.hpp>
#include <tapegrad/ops/reduction.hpp>
#include <tapegrad/ops/shape_ops.hpp>
#include <tapegrad/optim/optimizer.hpp>
#include <tapegrad/optim/schedule.hpp>
#include <tapegrad/version.hpp>
#include <tapegrad/viz/plot.hpp>
#include <tapegrad/viz/progress.hpp>
