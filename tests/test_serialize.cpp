#define BOOST_TEST_MODULE serialize
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#include "support/files.hpp"
#include "support/temp_dir.hpp"

using namespace tapegrad;
namespace fs = std::filesystem;
namespace tt = boost::test_tools;

using test::read_bytes;
using test::TempDir;
using test::write_bytes;

namespace {

NamedTensors sample() {
  Generator gen(3);
  return {{"W1", randn({3, 4}, float32, gen)},
          {"b1", randn({3, 1}, float64, gen)},
          {"scale", scalar(0.125, float64)},
          {"empty", zeros({2, 0}, float32)},
          {"cube", randn({2, 2, 2}, float64, gen)}};
}

// Fresh tensors of the sample's shapes, filled with a sentinel, to load into.
NamedTensors sentinel_like(const NamedTensors& ts) {
  NamedTensors out;
  for (const auto& [name, t] : ts) out.emplace_back(name, full(t.shape(), -7.0, t.dtype()));
  return out;
}

void check_equal(const NamedTensors& got, const NamedTensors& want) {
  BOOST_TEST_REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    BOOST_TEST(got[i].first == want[i].first);
    BOOST_TEST((got[i].second.dtype() == want[i].second.dtype()));
    BOOST_TEST(got[i].second.shape() == want[i].second.shape(), tt::per_element());
    BOOST_TEST(got[i].second.to_vector() == want[i].second.to_vector(), tt::per_element());
  }
}

void check_all_sentinel(const NamedTensors& ts) {
  for (const auto& [name, t] : ts)
    for (double x : t.to_vector()) BOOST_TEST(x == -7.0, "destination '" << name << "' changed");
}

// Loading `path` must throw IoError naming the file and a byte offset, and leave a
// destination unchanged.
// Returns the message.
std::string check_rejected(const fs::path& path, const std::string& expect_in_message = "",
                           bool names_a_byte = true) {
  NamedTensors dest = sentinel_like(sample());
  std::string msg;
  try {
    load_parameters_into(path, dest);
    BOOST_ERROR("load_parameters_into accepted a bad file");
  } catch (const IoError& e) {
    msg = e.what();
    BOOST_TEST(msg.find(path.string()) != std::string::npos, msg);
    BOOST_TEST((msg.find("byte") != std::string::npos) == names_a_byte, msg);
    if (!expect_in_message.empty())
      BOOST_TEST(msg.find(expect_in_message) != std::string::npos, msg);
  }
  check_all_sentinel(dest);
  BOOST_CHECK_THROW(load_parameters(path), IoError);
  return msg;
}

}  // namespace

BOOST_AUTO_TEST_CASE(crc32_matches_the_standard_check_value) {
  const std::string s = "123456789";
  BOOST_TEST(crc32(s.data(), s.size()) == 0xCBF43926u);
  BOOST_TEST(crc32(s.data(), 4, crc32(nullptr, 0)) == crc32("1234", 4));
  BOOST_TEST(crc32(s.data() + 4, 5, crc32(s.data(), 4)) == 0xCBF43926u);  // resumable
}

BOOST_AUTO_TEST_CASE(save_load_roundtrip_is_exact) {
  TempDir tmp;
  const NamedTensors ts = sample();
  save_parameters(tmp / "p.bin", ts);
  check_equal(load_parameters(tmp / "p.bin"), ts);
  BOOST_TEST(tmp.entries().size() == 1u);  // no temporary file left behind
}

BOOST_AUTO_TEST_CASE(stream_roundtrip_is_exact) {
  const NamedTensors ts = sample();
  std::stringstream ss;
  write_tensors(ss, ts);
  check_equal(read_tensors(ss), ts);
}

BOOST_AUTO_TEST_CASE(load_into_fills_existing_tensors_in_place) {
  TempDir tmp;
  const NamedTensors ts = sample();
  save_parameters(tmp / "p.bin", ts);
  NamedTensors dest = sentinel_like(ts);
  const void* before = dest[0].second.raw_data();
  dest[0].second.requires_grad_();  // parameters require grad: the load is not recorded
  load_parameters_into(tmp / "p.bin", dest);
  BOOST_TEST(dest[0].second.raw_data() == before);
  check_equal(dest, ts);
}

BOOST_AUTO_TEST_CASE(load_into_rejects_missing_unexpected_and_misshapen_without_change) {
  TempDir tmp;
  const NamedTensors ts = sample();
  save_parameters(tmp / "p.bin", ts);

  NamedTensors wrong_shape = sentinel_like(ts);
  wrong_shape[1].second = full({4, 1}, -7.0, float64);
  BOOST_CHECK_THROW(load_parameters_into(tmp / "p.bin", wrong_shape), ShapeError);
  check_all_sentinel(wrong_shape);

  NamedTensors unknown = sentinel_like(ts);
  unknown.emplace_back("W9", full({1}, -7.0, float32));
  BOOST_CHECK_THROW(load_parameters_into(tmp / "p.bin", unknown), ValueError);
  check_all_sentinel(unknown);

  NamedTensors fewer = sentinel_like(ts);
  fewer.pop_back();
  BOOST_CHECK_THROW(load_parameters_into(tmp / "p.bin", fewer), ValueError);  // strict
  check_all_sentinel(fewer);
  load_parameters_into(tmp / "p.bin", fewer, /*strict=*/false);
  check_equal(fewer, NamedTensors(ts.begin(), ts.end() - 1));
}

BOOST_AUTO_TEST_CASE(load_converts_to_the_destination_dtype) {
  TempDir tmp;
  save_parameters(tmp / "p.bin", {{"w", tensor({0.5, -1.25}, {2}, float64)}});
  NamedTensors dest = {{"w", zeros({2}, float32)}};
  load_parameters_into(tmp / "p.bin", dest);
  BOOST_TEST((dest[0].second.dtype() == float32));
  BOOST_TEST(dest[0].second.to_vector() == std::vector<double>({0.5, -1.25}), tt::per_element());
}

BOOST_AUTO_TEST_CASE(truncated_file_throws_io_error_at_every_length) {
  TempDir tmp;
  save_parameters(tmp / "full.bin", sample());
  const std::string bytes = read_bytes(tmp / "full.bin");
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    write_bytes(tmp / "cut.bin", bytes.substr(0, n));
    check_rejected(tmp / "cut.bin");
  }
  write_bytes(tmp / "cut.bin", bytes.substr(0, bytes.size() - 3));
  check_rejected(tmp / "cut.bin", "truncated");
}

// No message states a size the file does not have: cut anywhere, a message that says
// "needs N bytes" names the bytes that field really needs (never a sentinel such as
// SIZE_MAX), and the file's real size.
BOOST_AUTO_TEST_CASE(truncated_file_messages_state_real_sizes) {
  TempDir tmp;
  save_parameters(tmp / "full.bin", {{"W", zeros({3, 4}, float32)}});
  const std::string bytes = read_bytes(tmp / "full.bin");
  // magic 8, version 4, info 4 + crc 4, count 8, name_len 4, "W" 1, dtype 1, rank 4,
  // extents 2 x 8: the data starts at byte 54 and is 3 x 4 x 4 = 48 bytes.
  BOOST_TEST_REQUIRE(bytes.size() == 54u + 48u + 4u);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    write_bytes(tmp / "cut.bin", bytes.substr(0, n));
    const std::string msg = check_rejected(tmp / "cut.bin");
    BOOST_TEST(msg.find("18446744073709551615") == std::string::npos, msg);
    BOOST_TEST(msg.find(std::to_string(SIZE_MAX)) == std::string::npos, msg);
  }
  write_bytes(tmp / "cut.bin", bytes.substr(0, 70));
  BOOST_TEST(check_rejected(tmp / "cut.bin") ==
             fmt::format("load_parameters_into: {}: truncated at byte 70: tensor 0 ('W')'s data "
                         "of shape [3, 4] needs 48 bytes from byte 54, but the file has 70 bytes",
                         (tmp / "cut.bin").string()));
}

// A flipped byte is inside the range the message names: the checksummed bytes or the
// stored checksum itself (a checksum cannot say which byte is wrong, so no message
// claims one).
BOOST_AUTO_TEST_CASE(flipped_byte_lies_in_the_range_the_message_names) {
  TempDir tmp;
  save_parameters(tmp / "good.bin", sample());
  const std::string bytes = read_bytes(tmp / "good.bin");
  int checksum_messages = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    write_bytes(tmp / "bad.bin", bad);
    const std::string msg = check_rejected(tmp / "bad.bin");
    const auto at = msg.find("do not match their checksum");
    if (at == std::string::npos) continue;
    ++checksum_messages;
    std::size_t first = 0, last = 0, crc_first = 0, crc_last = 0;
    const auto from = msg.rfind(": bytes ", at);
    BOOST_TEST_REQUIRE(from != std::string::npos);
    BOOST_TEST_REQUIRE(
        std::sscanf(msg.c_str() + from,
                    ": bytes %zu to %zu do not match their checksum at bytes %zu to %zu", &first,
                    &last, &crc_first, &crc_last) == 4,
        msg);
    BOOST_TEST((first <= i && i <= crc_last), "byte " << i << ": " << msg);
    BOOST_TEST(crc_first == last + 1);
    BOOST_TEST(crc_last == crc_first + 3);
  }
  // Most flips land where only a checksum can tell.
  BOOST_TEST(checksum_messages > static_cast<int>(bytes.size()) / 2);
}

BOOST_AUTO_TEST_CASE(corrupted_byte_anywhere_throws_io_error) {
  TempDir tmp;
  save_parameters(tmp / "good.bin", sample());
  const std::string bytes = read_bytes(tmp / "good.bin");
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    write_bytes(tmp / "bad.bin", bad);
    check_rejected(tmp / "bad.bin");
  }
  // A flipped bit in the data of the last tensor is caught by its checksum.
  std::string bad = bytes;
  bad[bytes.size() - 10] = static_cast<char>(bad[bytes.size() - 10] ^ 0x01);
  write_bytes(tmp / "bad.bin", bad);
  check_rejected(tmp / "bad.bin", "checksum");
}

BOOST_AUTO_TEST_CASE(trailing_garbage_throws_io_error) {
  TempDir tmp;
  save_parameters(tmp / "p.bin", sample());
  write_bytes(tmp / "p.bin", read_bytes(tmp / "p.bin") + "xyz");
  check_rejected(tmp / "p.bin", "unexpected");
}

BOOST_AUTO_TEST_CASE(wrong_magic_throws_io_error) {
  TempDir tmp;
  save_parameters(tmp / "p.bin", sample());
  std::string bytes = read_bytes(tmp / "p.bin");
  bytes.replace(0, 8, "NOTAFILE");
  write_bytes(tmp / "p.bin", bytes);
  check_rejected(tmp / "p.bin", "magic");
  write_bytes(tmp / "short.bin", "PK");  // shorter than the magic, and not its start
  check_rejected(tmp / "short.bin", "magic");
}

BOOST_AUTO_TEST_CASE(wrong_version_throws_io_error) {
  TempDir tmp;
  save_parameters(tmp / "p.bin", sample());
  std::string bytes = read_bytes(tmp / "p.bin");
  bytes[8] = 3;  // version u32 little-endian at byte 8
  write_bytes(tmp / "p.bin", bytes);
  check_rejected(tmp / "p.bin", "version 3");
}

BOOST_AUTO_TEST_CASE(missing_file_throws_io_error_naming_it) {
  TempDir tmp;
  // A file that is not there has no byte to blame.
  check_rejected(tmp / "nothing_here.bin", "cannot open for reading: No such file", false);
}

BOOST_AUTO_TEST_CASE(save_to_missing_directory_throws_and_creates_nothing) {
  TempDir tmp;
  const fs::path target = tmp / "no_such_dir" / "p.bin";
  try {
    save_parameters(target, sample());
    BOOST_ERROR("save into a missing directory succeeded");
  } catch (const IoError& e) {
    BOOST_TEST(std::string(e.what()).find(target.string()) != std::string::npos, e.what());
  }
  BOOST_TEST(!fs::exists(target));
  BOOST_TEST(tmp.entries().size() == 0u);
}

BOOST_AUTO_TEST_CASE(failed_save_leaves_previous_file_intact) {
  TempDir tmp;
  const fs::path target = tmp / "p.bin";
  const NamedTensors ts = sample();
  save_parameters(target, ts);
  const std::string before = read_bytes(target);

  NamedTensors broken = ts;
  broken.emplace_back("W1", zeros({1}));  // a repeated name: refused before any write
  BOOST_CHECK_THROW(save_parameters(target, broken), ValueError);
  BOOST_TEST(read_bytes(target) == before);

  // A directory we cannot write into: creating the temporary file fails. (Root ignores
  // the permission bits; then the save simply succeeds and only the cleanup is checked.)
  fs::permissions(tmp.path,
                  fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write,
                  fs::perm_options::remove);
  bool refused = false;
  try {
    save_parameters(target, {{"other", ones({2})}});
  } catch (const IoError& e) {
    refused = true;
    BOOST_TEST(std::string(e.what()).find(target.string()) != std::string::npos, e.what());
  }
  fs::permissions(tmp.path, fs::perms::owner_all, fs::perm_options::add);
  if (refused) {
    BOOST_TEST(read_bytes(target) == before);
    check_equal(load_parameters(target), ts);
  }
  BOOST_TEST(tmp.entries().size() == 1u);  // no stray temporary file
}

BOOST_AUTO_TEST_CASE(save_failing_mid_write_leaves_previous_file_intact) {
  // A file-size limit makes write() fail part way (EFBIG), even for root: the crash
  // mid-save case. The target must keep its old bytes and no temporary may remain.
  TempDir tmp;
  const fs::path target = tmp / "p.bin";
  const NamedTensors ts = sample();
  save_parameters(target, ts);
  const std::string before = read_bytes(target);

  rlimit old{};
  BOOST_TEST_REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old;
  small.rlim_cur = 64;
  BOOST_TEST_REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  bool refused = false;
  std::string message;
  try {
    save_parameters(target, {{"big", zeros({1000}, float64)}});
  } catch (const IoError& e) {
    refused = true;
    message = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);

  BOOST_TEST(refused);
  BOOST_TEST(message.find(target.string()) != std::string::npos, message);
  BOOST_TEST(read_bytes(target) == before);
  check_equal(load_parameters(target), ts);
  BOOST_TEST(tmp.entries().size() == 1u);
}

BOOST_AUTO_TEST_CASE(save_replaces_previous_file) {
  TempDir tmp;
  save_parameters(tmp / "p.bin", sample());
  const NamedTensors second = {{"only", tensor({1, 2, 3}, {3}, float64)}};
  save_parameters(tmp / "p.bin", second);
  check_equal(load_parameters(tmp / "p.bin"), second);
  BOOST_TEST(tmp.entries().size() == 1u);
}

BOOST_AUTO_TEST_CASE(save_rejects_empty_repeated_or_undefined_names) {
  TempDir tmp;
  BOOST_CHECK_THROW(save_parameters(tmp / "p.bin", {{"", ones({1})}}), ValueError);
  BOOST_CHECK_THROW(save_parameters(tmp / "p.bin", {{"a", ones({1})}, {"a", ones({1})}}),
                    ValueError);
  BOOST_CHECK_THROW(save_parameters(tmp / "p.bin", {{"a", Tensor()}}), ValueError);
  BOOST_TEST(tmp.entries().size() == 0u);
}

// ---- models and optimizers ------------------------------------------------------------

BOOST_AUTO_TEST_CASE(mlp_parameters_roundtrip_through_a_file) {
  TempDir tmp;
  manual_seed(1);
  nn::MLP a({4, 5, 2}, nn::ReLU());
  nn::MLP b({4, 5, 2}, nn::ReLU());  // different draws
  save_parameters(tmp / "model.bin", a.named_parameters());
  load_parameters_into(tmp / "model.bin", b.named_parameters());
  const Tensor x = randn({4, 3});
  BOOST_TEST(a(x).to_vector() == b(x).to_vector(), tt::per_element());
}

namespace {

// Least squares on a few parameters; one step of `opt`.
void train_step(optim::Optimizer& opt, const std::vector<Tensor>& ps) {
  opt.zero_grad();
  Tensor loss = sum(square(ps[0] - 1.0)) + sum(square(ps[1] + 2.0));
  loss.backward();
  opt.step();
}

std::vector<Tensor> fresh_params() {
  return {tensor({0.1, 0.2, 0.3}, {3}, float64).requires_grad_(),
          tensor({1, 2, 3, 4}, {2, 2}, float64).requires_grad_()};
}

}  // namespace

BOOST_AUTO_TEST_CASE(adam_resumed_from_saved_state_continues_identically) {
  TempDir tmp;
  std::vector<Tensor> ps = fresh_params();
  optim::Adam a(ps, 0.05);
  for (int s = 0; s < 3; ++s) train_step(a, ps);
  save_checkpoint(tmp / "ckpt.bin", {{"p0", ps[0]}, {"p1", ps[1]}}, a);
  save_optimizer(tmp / "opt.bin", a);

  std::vector<Tensor> qs = fresh_params();
  optim::Adam b(qs, 0.001);
  load_checkpoint(tmp / "ckpt.bin", {{"p0", qs[0]}, {"p1", qs[1]}}, b);
  BOOST_TEST(b.step_count() == 3);
  BOOST_TEST(b.lr() == 0.05);
  for (int s = 0; s < 2; ++s) {
    train_step(a, ps);
    train_step(b, qs);
  }
  for (std::size_t i = 0; i < ps.size(); ++i)
    BOOST_TEST(ps[i].to_vector() == qs[i].to_vector(), tt::per_element());

  // The optimizer file alone restores the state too.
  std::vector<Tensor> rs = fresh_params();
  optim::Adam c(rs, 0.001);
  load_optimizer(tmp / "opt.bin", c);
  BOOST_TEST(c.step_count() == 3);
}

BOOST_AUTO_TEST_CASE(sgd_momentum_state_roundtrips) {
  TempDir tmp;
  std::vector<Tensor> ps = fresh_params();
  optim::SGD a(ps, {.lr = 0.1, .momentum = 0.9});
  train_step(a, ps);
  save_optimizer(tmp / "opt.bin", a);
  std::vector<Tensor> qs = fresh_params();
  {
    NoGradGuard no_grad;
    for (std::size_t i = 0; i < ps.size(); ++i) qs[i].copy_(ps[i]);
  }
  optim::SGD b(qs, {.lr = 0.1, .momentum = 0.9});
  load_optimizer(tmp / "opt.bin", b);
  train_step(a, ps);
  train_step(b, qs);
  for (std::size_t i = 0; i < ps.size(); ++i)
    BOOST_TEST(ps[i].to_vector() == qs[i].to_vector(), tt::per_element());
}

BOOST_AUTO_TEST_CASE(optimizer_state_of_another_kind_is_refused_without_change) {
  TempDir tmp;
  std::vector<Tensor> ps = fresh_params();
  optim::SGD sgd(ps, {.lr = 0.1, .momentum = 0.9});
  save_optimizer(tmp / "sgd.bin", sgd);
  optim::Adam adam(ps, 0.01);
  BOOST_CHECK_THROW(load_optimizer(tmp / "sgd.bin", adam), ValueError);
  BOOST_TEST(adam.lr() == 0.01);
}

BOOST_AUTO_TEST_CASE(corrupted_checkpoint_changes_neither_model_nor_optimizer) {
  TempDir tmp;
  std::vector<Tensor> ps = fresh_params();
  optim::Adam a(ps, 0.05);
  train_step(a, ps);
  save_checkpoint(tmp / "ckpt.bin", {{"p0", ps[0]}, {"p1", ps[1]}}, a);
  std::string bytes = read_bytes(tmp / "ckpt.bin");
  bytes[bytes.size() - 6] ^= 0x40;
  write_bytes(tmp / "ckpt.bin", bytes);

  std::vector<Tensor> qs = fresh_params();
  optim::Adam b(qs, 0.001);
  try {
    load_checkpoint(tmp / "ckpt.bin", {{"p0", qs[0]}, {"p1", qs[1]}}, b);
    BOOST_ERROR("corrupted checkpoint accepted");
  } catch (const IoError& e) {
    BOOST_TEST(std::string(e.what()).find("byte") != std::string::npos, e.what());
  }
  BOOST_TEST(b.step_count() == 0);
  BOOST_TEST(b.lr() == 0.001);
  BOOST_TEST(qs[0].to_vector() == std::vector<double>({0.1, 0.2, 0.3}), tt::per_element());
}

// ---- files crafted byte by byte (inputs found by fuzz/fuzz_serialize) ----------------

namespace {

template <class U>
void put_le(std::string& out, U value) {
  for (std::size_t k = 0; k < sizeof(U); ++k)
    out.push_back(static_cast<char>((value >> (8 * k)) & 0xFFu));
}

// One record of the format in optim/serialize.hpp, with its checksum.
std::string record(const std::string& name, unsigned char dtype_code,
                   const std::vector<std::uint64_t>& shape, const std::string& data) {
  std::string out;
  put_le<std::uint32_t>(out, static_cast<std::uint32_t>(name.size()));
  out += name;
  out.push_back(static_cast<char>(dtype_code));
  put_le<std::uint32_t>(out, static_cast<std::uint32_t>(shape.size()));
  for (std::uint64_t extent : shape) put_le<std::uint64_t>(out, extent);
  out += data;
  put_le<std::uint32_t>(out, crc32(out.data(), out.size()));
  return out;
}

// A version 2 file with an empty info block and `records`.
std::string file_of(const std::vector<std::string>& records) {
  std::string out = "TAPEGRAD";
  put_le<std::uint32_t>(out, parameter_file_version);
  std::string info;
  put_le<std::uint32_t>(info, 0);
  put_le<std::uint32_t>(info, crc32(info.data(), info.size()));
  out += info;
  put_le<std::uint64_t>(out, records.size());
  for (const auto& r : records) out += r;
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(crafted_file_with_a_zero_extent_loads) {
  TempDir tmp;
  write_bytes(tmp / "ok.tg", file_of({record("z", 0, {3, 0}, "")}));
  const NamedTensors loaded = load_parameters(tmp / "ok.tg");
  BOOST_TEST_REQUIRE(loaded.size() == 1u);
  BOOST_TEST(loaded[0].second.shape() == Shape({3, 0}), tt::per_element());
}

BOOST_AUTO_TEST_CASE(shape_whose_element_count_overflows_throws_io_error_even_without_data) {
  TempDir tmp;
  // No data to read (a zero extent), but numel's product 2^62 * 4 * 0 overflows on the way.
  write_bytes(tmp / "f.tg", file_of({record("z", 0, {std::uint64_t{1} << 62, 4, 0}, "")}));
  check_rejected(tmp / "f.tg", "too many elements");
}

BOOST_AUTO_TEST_CASE(empty_tensor_name_in_a_file_throws_io_error) {
  TempDir tmp;
  // save_parameters refuses an empty name: a file holding one could not be saved again.
  write_bytes(tmp / "f.tg", file_of({record("", 0, {1}, std::string(4, '\0'))}));
  check_rejected(tmp / "f.tg", "empty name");
}

BOOST_AUTO_TEST_CASE(adam_state_whose_step_is_not_a_whole_count_is_refused_without_change) {
  for (double bad : {std::numeric_limits<double>::quiet_NaN(), 1e300, -1.0, 2.5}) {
    Tensor w = zeros({2}, float64).requires_grad_();
    optim::Adam adam({w}, 0.1);
    NamedTensors state;
    for (const auto& [name, t] : adam.state())
      state.emplace_back(name, name == "step" ? scalar(bad, float64) : t.detach().clone());
    BOOST_CHECK_THROW(adam.load_state(state), ValueError);
    BOOST_TEST(adam.step_count() == 0);  // a cast of NaN or 1e300 to an integer is undefined
  }
}
