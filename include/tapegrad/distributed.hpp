#pragma once
/// \file
/// tapegrad::distributed: data-parallel training over MPI (or over threads, for tests).
/// Include this header and link tapegrad::distributed (built when CMake finds MPI); the
/// rest of the library stays in <tapegrad/tapegrad.hpp> and needs no MPI.
#include <tapegrad/distributed/checkpoint.hpp>
#include <tapegrad/distributed/data_parallel.hpp>
#include <tapegrad/distributed/mpi.hpp>
#include <tapegrad/distributed/process_group.hpp>
#include <tapegrad/distributed/sampler.hpp>
#include <tapegrad/distributed/thread_group.hpp>
