#include <tapegrad/version.hpp>

namespace tapegrad {

std::string_view version() { return TAPEGRAD_VERSION; }

}  // namespace tapegrad
