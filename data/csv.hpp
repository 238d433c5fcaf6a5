#pragma once
/// \file
/// A user's table from a CSV file, in the course's layout.
#include <filesystem>
#include <string>
#include <string_view>
#include <tapegrad/graph/dtype.hpp>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/tensor.hpp>
#include <vector>

namespace tapegrad::data {

/// A user's table: X (n_features, m), Y (1, m), and the feature column names in row order of X.
struct CsvData {
  Tensor X;                           ///< (n_features, m)
  Tensor Y;                           ///< (1, m), the label column
  std::vector<std::string> features;  ///< the names of X's rows
};

/// A comma-separated file with a header row and numeric cells -> X from every column but
/// `label_column`, Y from that one. Throws IoError naming file, line and column.
TAPEGRAD_API CsvData load_csv(const std::filesystem::path& file, std::string_view label_column,
                              Dtype dtype = float32);

}  // namespace tapegrad::data
