#define BOOST_TEST_MODULE checkpoint
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <thread>
#include <vector>

#include "support/files.hpp"
#include "support/temp_dir.hpp"

using namespace tapegrad;
namespace tt = boost::test_tools;
namespace fs = std::filesystem;

using test::read_bytes;
using test::TempDir;
using test::write_bytes;

namespace {

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.raw_data(), b.raw_data(), a.numel() * dtype_size(a.dtype())) == 0;
}

// ---- a small training run: mini-batches shuffled by a generator, input noise from
// the thread's default generator, Adam -------------------------------------------------

struct Run {
  nn::MLP model;
  optim::Adam opt;
  Generator shuffle;
  TrainingState state;

  Run(std::uint64_t seed, std::vector<std::int64_t> dims)
      : model(make_model(seed, dims)), opt(model.parameters(), 0.01), shuffle(seed + 1) {
    manual_seed(seed + 2);
    state.generators = {{"shuffle", &shuffle}, {"default", &default_generator()}};
  }
  static nn::MLP make_model(std::uint64_t seed, const std::vector<std::int64_t>& dims) {
    Generator init(seed);
    return nn::MLP(dims, nn::ReLU(), {.gen = &init});
  }

  // One epoch over (X, labels) in mini-batches of `batch` columns.
  void epoch(const Tensor& X, const Tensor& labels, std::int64_t batch) {
    const std::int64_t m = X.size(1);
    const auto order = randperm(m, shuffle);
    for (std::int64_t start = 0; start < m; start += batch) {
      std::vector<std::int64_t> idx(order.begin() + start,
                                    order.begin() + std::min(m, start + batch));
      Tensor xb = index_select(X, 1, idx);
      xb = xb + 0.05f * randn(xb.shape());  // noise: draws from the default generator
      Tensor yb = index_select(labels, 0, idx);
      opt.zero_grad();
      Tensor loss = softmax_cross_entropy(model(xb), yb, 0);
      loss.backward();
      opt.step();
      ++state.step;
    }
    ++state.epoch;
  }
};

struct Data {
  Tensor X, labels;
  Data(std::int64_t n_x, std::int64_t m, std::int64_t classes) {
    Generator gen(99);
    X = randn({n_x, m}, float32, gen);
    labels = randint(0, classes, {m}, float32, gen);
  }
};

// Trains `epochs` epochs straight through, and again with a checkpoint after half of
// them resumed in a fresh model, optimizer and generators: both must end bit-identical.
void check_resume_is_exact(const std::vector<std::int64_t>& dims, std::int64_t m,
                           std::int64_t batch, int epochs) {
  TempDir tmp;
  const Data data(dims.front(), m, dims.back());

  Run straight(7, dims);
  for (int e = 0; e < epochs; ++e) straight.epoch(data.X, data.labels, batch);

  {
    Run first_half(7, dims);
    for (int e = 0; e < epochs / 2; ++e) first_half.epoch(data.X, data.labels, batch);
    save_checkpoint(tmp / "ckpt.tg", first_half.model.named_parameters(), first_half.opt,
                    first_half.state);
  }
  // Everything different until the checkpoint is loaded: seeds, and the default
  // generator moved on.
  Run resumed(12345, dims);
  (void)randn({17});
  load_checkpoint(tmp / "ckpt.tg", resumed.model.named_parameters(), resumed.opt, resumed.state);
  BOOST_TEST(resumed.state.epoch == epochs / 2);
  BOOST_TEST(resumed.state.step == (epochs / 2) * ((m + batch - 1) / batch));
  while (resumed.state.epoch < epochs) resumed.epoch(data.X, data.labels, batch);

  BOOST_TEST(resumed.state.step == straight.state.step);
  BOOST_TEST(resumed.opt.step_count() == straight.opt.step_count());
  const auto a = straight.model.parameters(), b = resumed.model.parameters();
  for (std::size_t i = 0; i < a.size(); ++i)
    BOOST_TEST(same_bits(a[i], b[i]), "parameter " << i << " differs after resuming");
  BOOST_TEST(straight.shuffle.state() == resumed.shuffle.state());
}

}  // namespace

BOOST_AUTO_TEST_CASE(resumed_training_is_bit_identical_in_one_thread) {
  set_num_threads(1);
  check_resume_is_exact({4, 16, 3}, 40, 8, 6);
}

// Products large enough for the pool to split them (several row blocks of 16): the
// split is into disjoint output ranges, each summed in one order, so two threads
// resume exactly too.
BOOST_AUTO_TEST_CASE(resumed_training_is_bit_identical_in_two_threads) {
  set_num_threads(2);
  check_resume_is_exact({64, 256, 10}, 256, 128, 4);
  set_num_threads(1);
}

BOOST_AUTO_TEST_CASE(training_state_roundtrips_and_a_plain_checkpoint_has_none) {
  TempDir tmp;
  Run run(1, {3, 4, 2});
  run.state.epoch = 41;
  run.state.step = 1234567890123;
  (void)run.shuffle.integer(0, 100);
  save_checkpoint(tmp / "ckpt.tg", run.model.named_parameters(), run.opt, run.state);

  Run other(2, {3, 4, 2});
  load_checkpoint(tmp / "ckpt.tg", other.model.named_parameters(), other.opt, other.state);
  BOOST_TEST(other.state.epoch == 41);
  BOOST_TEST(other.state.step == 1234567890123);
  BOOST_TEST(other.shuffle.state() == run.shuffle.state());

  // The old three-argument functions still work on both kinds of file.
  Run third(3, {3, 4, 2});
  load_checkpoint(tmp / "ckpt.tg", third.model.named_parameters(), third.opt);
  save_checkpoint(tmp / "plain.tg", run.model.named_parameters(), run.opt);
  try {
    load_checkpoint(tmp / "plain.tg", third.model.named_parameters(), third.opt, third.state);
    BOOST_ERROR("a checkpoint without training state was accepted");
  } catch (const ValueError& e) {
    BOOST_TEST(std::string(e.what()).find("epoch") != std::string::npos, e.what());
  }
}

// Loading must change nothing at all (parameters, optimizer, epoch, step, generators)
// when the file is refused.
BOOST_AUTO_TEST_CASE(bad_checkpoints_are_refused_and_change_nothing) {
  TempDir tmp;
  Run saved(1, {3, 4, 2});
  saved.state.epoch = 5;
  saved.state.step = 50;
  save_checkpoint(tmp / "good.tg", saved.model.named_parameters(), saved.opt, saved.state);
  const std::string good = read_bytes(tmp / "good.tg");

  Run dest(2, {3, 4, 2});
  dest.state.epoch = 1;
  dest.state.step = 2;
  const auto before = dest.model.parameters();
  std::vector<Tensor> copies;
  for (const auto& p : before) copies.push_back(p.clone());
  const std::string shuffle_before = dest.shuffle.state();
  const std::string default_before = default_generator().state();
  auto unchanged = [&] {
    BOOST_TEST(dest.state.epoch == 1);
    BOOST_TEST(dest.state.step == 2);
    BOOST_TEST(dest.opt.step_count() == 0);
    BOOST_TEST(dest.shuffle.state() == shuffle_before);
    BOOST_TEST(default_generator().state() == default_before);
    for (std::size_t i = 0; i < before.size(); ++i) BOOST_TEST(same_bits(before[i], copies[i]));
  };
  auto refused = [&](const std::string& bytes, const std::string& expect) {
    write_bytes(tmp / "bad.tg", bytes);
    try {
      load_checkpoint(tmp / "bad.tg", dest.model.named_parameters(), dest.opt, dest.state);
      BOOST_ERROR("accepted a bad checkpoint (" << expect << ")");
    } catch (const IoError& e) {
      BOOST_TEST(std::string(e.what()).find(expect) != std::string::npos, e.what());
    }
    unchanged();
  };

  // Truncated anywhere (a sample of lengths, the info block's in full).
  for (std::size_t n = 0; n < good.size(); n += (n < 128 ? 1 : 41))
    refused(good.substr(0, n), "bad.tg");
  // Any flipped bit in the info block (epoch, step, generator states) or in a record.
  for (std::size_t at = 12; at < good.size(); at += 37) {
    std::string bad = good;
    bad[at] = static_cast<char>(bad[at] ^ 0x10);
    write_bytes(tmp / "bad.tg", bad);
    BOOST_CHECK_THROW(
        load_checkpoint(tmp / "bad.tg", dest.model.named_parameters(), dest.opt, dest.state),
        IoError);
    unchanged();
  }
  // A version this build does not know.
  std::string future = good;
  future[8] = 9;
  refused(future, "unsupported format version 9");

  // A generator the file does not have, or one it has and the state lacks.
  Generator extra(5);
  TrainingState more = dest.state;
  more.generators.emplace_back("dropout", &extra);
  BOOST_CHECK_THROW(load_checkpoint(tmp / "good.tg", dest.model.named_parameters(), dest.opt, more),
                    ValueError);
  unchanged();
  TrainingState fewer = dest.state;
  fewer.generators.pop_back();
  BOOST_CHECK_THROW(
      load_checkpoint(tmp / "good.tg", dest.model.named_parameters(), dest.opt, fewer), ValueError);
  unchanged();
  // A model of another shape.
  Run wider(2, {3, 5, 2});
  const std::string wider_default = default_generator().state();
  BOOST_CHECK_THROW(
      load_checkpoint(tmp / "good.tg", wider.model.named_parameters(), wider.opt, wider.state),
      ShapeError);
  BOOST_TEST(wider.state.epoch == 0);
  BOOST_TEST(default_generator().state() == wider_default);
}

// True while `pid` holds an unnamed file (O_TMPFILE) of `dir` open: it is in the middle
// of a save. The kernel shows such a file as "<dir>/#<inode> (deleted)".
bool holds_unnamed_file(pid_t pid, const fs::path& dir) {
  std::error_code ec;
  const std::string prefix = dir.string() + "/#";
  for (fs::directory_iterator it(fmt::format("/proc/{}/fd", pid), ec), end; !ec && it != end;
       it.increment(ec)) {
    const fs::path target = fs::read_symlink(it->path(), ec);
    if (!ec && target.string().starts_with(prefix)) return true;
  }
  return false;
}

// A process killed (SIGKILL) at a random moment while it saves big checkpoints in a
// loop leaves either the previous checkpoint or the new one, whole, never a torn one,
// and (but for a kill between naming the finished file and renaming it, two system
// calls) no temporary file either.
BOOST_AUTO_TEST_CASE(killed_save_leaves_the_previous_or_the_new_checkpoint_whole) {
  TempDir tmp;
  const fs::path path = tmp / "ckpt.tg";
  // 2 x 512K float32 parameters and as much SGD velocity: an 8 MB file.
  std::vector<Tensor> params{zeros({512, 1024}).requires_grad_(),
                             zeros({512, 1024}).requires_grad_()};
  optim::SGD opt(params, {.lr = 0.1, .momentum = 0.9});
  const NamedTensors named{{"a", params[0]}, {"b", params[1]}};
  // Every file written holds one value k everywhere: parameters k, velocity -k, epoch k.
  auto fill = [&](std::int64_t k) {
    for (const auto& [name, t] : opt.state()) {
      if (name == "lr") continue;
      float* p = t.data<float>();
      for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = -static_cast<float>(k);
    }
    for (const auto& t : params) {
      float* p = t.data<float>();
      for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>(k);
    }
  };
  // The velocity exists once step() has run with a gradient.
  for (auto& p : params) p.set_grad(zeros(p.shape()));
  opt.step();
  fill(0);
  TrainingState state;
  save_checkpoint(path, named, opt, state);
  const auto t0 = std::chrono::steady_clock::now();
  save_checkpoint(path, named, opt, state);
  const double save_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const auto full_size = fs::file_size(path);
  BOOST_TEST_MESSAGE("one " << full_size / 1000000 << " MB checkpoint save takes " << save_ms
                            << " ms");

  Generator gen(2024);
  std::int64_t last = 0;
  int mid_save_kills = 0, completed_after_kill = 0;
  std::vector<std::string> left_behind;  // named temporaries of kills between link and rename
  const int trials = 12;
  for (int trial = 0; trial < trials; ++trial) {
    const std::int64_t first = last + 1;
    const pid_t child = ::fork();
    BOOST_REQUIRE(child >= 0);
    if (child == 0) {
      // The child only fills buffers and saves: no pool, no Boost.Test.
      TrainingState s;
      for (std::int64_t k = first;; ++k) {
        fill(k);
        s.epoch = k;
        try {
          save_checkpoint(path, named, opt, s);
        } catch (...) {
          ::_exit(3);
        }
      }
    }
    if (trial % 2 == 0) {
      // At a random moment within the first few saves.
      const double wait_ms = gen.uniform() * 3.0 * std::max(save_ms, 5.0);
      std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(wait_ms));
    } else {
      // While a file is being written: the child holds an unnamed file, or the target
      // is not its full size (were it written in place). Then a little later, at random.
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(3);
      auto writing = [&] {
        std::error_code ec;
        const auto size = fs::file_size(path, ec);
        return holds_unnamed_file(child, tmp.path) || ec || size != full_size;
      };
      while (!writing() && std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(gen.uniform() * 5.0));
    }
    mid_save_kills += holds_unnamed_file(child, tmp.path);
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    BOOST_REQUIRE_MESSAGE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                          "the saving child ended by itself (status " << status << ")");

    for (const auto& name : tmp.entries())
      if (name != "ckpt.tg" &&
          std::find(left_behind.begin(), left_behind.end(), name) == left_behind.end())
        left_behind.push_back(name);

    std::vector<Tensor> got{zeros({512, 1024}).requires_grad_(),
                            zeros({512, 1024}).requires_grad_()};
    optim::SGD got_opt(got, {.lr = 0.1, .momentum = 0.9});
    for (auto& p : got) p.set_grad(zeros(p.shape()));
    got_opt.step();
    TrainingState got_state;
    try {
      load_checkpoint(path, {{"a", got[0]}, {"b", got[1]}}, got_opt, got_state);
    } catch (const Error& e) {
      BOOST_FAIL("trial " << trial << ": the checkpoint is torn after a kill: " << e.what());
    }
    const std::int64_t k = got_state.epoch;
    // The last whole save: the previous trial's, or one of this child's.
    BOOST_TEST(k >= last);
    completed_after_kill += k >= first;
    bool consistent = true;
    for (const auto& t : got) consistent &= t.at({0, 0}) == k && t.at({511, 1023}) == k;
    for (const auto& [name, t] : got_opt.state())
      if (name != "lr") consistent &= t.at({311, 7}) == -k;
    BOOST_TEST(consistent, "trial " << trial << ": checkpoint " << k << " mixes values");
    last = k;
  }
  BOOST_TEST_MESSAGE(trials << " kills: " << mid_save_kills << " hit a save in progress, "
                            << completed_after_kill << " came after a new save completed, "
                            << left_behind.size() << " left a named temporary");
  // The test means something only if some kills landed mid-save.
  BOOST_TEST(mid_save_kills > 0);
  // Only a kill in the two system calls between naming and renaming leaves a file.
  BOOST_TEST(left_behind.size() <= 1u);

  // The next save works and leaves nothing of its own behind.
  fill(last + 1);
  state.epoch = last + 1;
  save_checkpoint(path, named, opt, state);
  std::vector<std::string> want{"ckpt.tg"};
  want.insert(want.end(), left_behind.begin(), left_behind.end());
  std::vector<std::string> got = tmp.entries();
  std::sort(want.begin(), want.end());
  std::sort(got.begin(), got.end());
  BOOST_TEST(got == want, tt::per_element());
  TrainingState check;
  load_checkpoint(path, named, opt, check);
  BOOST_TEST(check.epoch == last + 1);
}
