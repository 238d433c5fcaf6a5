#pragma once
/// \file
/// HDF5 files, as the course's assignments read them with h5py: a named dataset into a
/// tensor, a dataset of strings, the names of a file's datasets, and the course's image
/// sets (`train_catvnoncat.h5`, `test_catvnoncat.h5`) into its X (n_x, m) and Y (1, m) in
/// one call.
///
///   auto train = data::load_hdf5_image_set("datasets/train_catvnoncat.h5");
///   auto test = data::load_hdf5_image_set("datasets/test_catvnoncat.h5",
///                                         data::Hdf5ImageNames::course("test"));
///   // train.X (12288, 209) in [0, 1], train.Y (1, 209), train.classes {"non-cat", "cat"}
///
/// Every function throws IoError naming itself, the file and the dataset for a missing
/// file, a file that is not HDF5, a truncated or corrupted one (with HDF5's own reason),
/// a missing dataset (listing those the file has), a group where a dataset is wanted,
/// and a type it does not read. The HDF5 library never prints to stderr on the way: its
/// automatic error printing is off during each call and restored after. Calls from
/// several threads are serialized (an HDF5 build need not be thread-safe).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <tapegrad/data/dataset.hpp>
#include <tapegrad/graph/dtype.hpp>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/tensor.hpp>
#include <vector>

namespace tapegrad::data {

/// The paths of every dataset in an HDF5 file, in name order, groups walked into:
/// {"group/x", "list_classes", "train_set_x", "train_set_y"}.
TAPEGRAD_API std::vector<std::string> hdf5_datasets(const std::filesystem::path& file);

/// A numeric dataset (`dataset` is its path in the file: "train_set_x", "group/x") as a
/// tensor of the dataset's shape (a scalar dataset gives shape []). The dtype, unless
/// `dtype` asks for one: float32 for floats of up to 4 bytes and for integers of up to
/// 2 bytes (uint8, int8, int16, uint16: exact in float32), float64 for wider floats and
/// integers (int32, int64, uint32, uint64). Booleans and enums read as their integer
/// values. An integer must be exact in the tensor's dtype (|v| <= 2^24 in float32, 2^53
/// in float64), otherwise IoError; floats asked for as float32 are rounded. IoError for
/// a dataset of strings or of another type (compound, array, opaque, reference).
TAPEGRAD_API Tensor read_hdf5(const std::filesystem::path& file, std::string_view dataset,
                              std::optional<Dtype> dtype = std::nullopt);

/// A dataset of strings, fixed length (numpy's `S7`: the course's `list_classes`,
/// {"non-cat", "cat"}) or variable length (h5py's `string_dtype()`), any shape,
/// row-major. A fixed-length string ends at its first NUL byte (or, space-padded, loses
/// its trailing spaces). IoError for a dataset of numbers or of another type.
TAPEGRAD_API std::vector<std::string> read_hdf5_strings(const std::filesystem::path& file,
                                                        std::string_view dataset);

/// The names of the three datasets of one of the course's image files.
struct Hdf5ImageNames {
  std::string x = "train_set_x";         ///< the images, (m, h, w, c) bytes
  std::string y = "train_set_y";         ///< the labels, (m) or (1, m)
  std::string classes = "list_classes";  ///< the class names by label (empty: none)
  /// The course's names for a split: course("test") -> test_set_x, test_set_y, list_classes.
  static Hdf5ImageNames course(std::string_view split) {
    return {std::string(split) + "_set_x", std::string(split) + "_set_y", "list_classes"};
  }
};

/// One of the course's image files in its layout: a Dataset (X, Y, labels) with the
/// class names and the images' size, so that a column of X can be drawn again.
struct Hdf5ImageSet : Dataset {
  std::vector<std::string> classes;  ///< the class names by label (empty when names.classes is)
  std::int64_t height = 0;           ///< h
  std::int64_t width = 0;            ///< w
  std::int64_t channels = 0;         ///< c (3: RGB)
};

/// The course's `load_dataset()`: images x (m, h, w, c) of bytes and labels y (m) or
/// (1, m) -> X (h w c, m) float32, column i the image i flattened in (h, w, c) order
/// (numpy's `x.reshape(m, -1).T`), divided by 255 unless `scale` is false; Y (1, m)
/// float32; labels; the class names from `names.classes`. IoError naming the function,
/// the file and the dataset when x is not rank 4 of integers in [0, 255], y is not (m)
/// or (1, m) for x's m, a label is not a whole number >= 0, or (with class names) a
/// label is not below their count.
TAPEGRAD_API Hdf5ImageSet load_hdf5_image_set(const std::filesystem::path& file,
                                              const Hdf5ImageNames& names = {}, bool scale = true);

}  // namespace tapegrad::data
