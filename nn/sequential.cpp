#include <fmt/format.h>

#include <tapegrad/graph/error.hpp>
#include <tapegrad/nn/sequential.hpp>

namespace tapegrad::nn {

Sequential::Sequential(std::initializer_list<AnyModule> steps) : Module("Sequential") {
  for (const AnyModule& step : steps) push_back(step);
}

void Sequential::push_back(const AnyModule& step) { push_back(std::to_string(size()), step); }

void Sequential::push_back(std::string name, const AnyModule& step) {
  register_module(std::move(name), step.ptr());
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor a = x;
  for (const auto& [name, step] : named_children()) a = step->forward(a);
  return a;
}

std::shared_ptr<Module> Sequential::ptr(std::size_t i) const {
  if (i >= size())
    throw IndexError(fmt::format("{}: step {} out of range for {} steps", type_name(), i, size()));
  return named_children()[i].second;
}

Module& Sequential::operator[](std::size_t i) const { return *ptr(i); }

void Sequential::wrong_type(std::size_t i) const {
  throw ValueError(fmt::format("{}: step {} is a {}, not the type asked for", type_name(), i,
                               (*this)[i].type_name()));
}

}  // namespace tapegrad::nn
