// Must not compile: activations are modules, not names (checked by compile_fail.cmake,
// which also wants the message that says what to write instead).
#include <tapegrad/tapegrad.hpp>

int main() {
  tapegrad::nn::MLP model({2, 8, 1}, COMPILE_FAIL_ARGUMENT);
  return static_cast<int>(model.num_layers());
}
