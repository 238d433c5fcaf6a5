#include <chrono>
#include <cstring>
#include <tapegrad/distributed/data_parallel.hpp>
#include <tapegrad/graph/autograd.hpp>
#include <tapegrad/graph/shape.hpp>

namespace tapegrad::distributed {

DataParallel::DataParallel(ProcessGroup& group, const nn::Module& model,
                           DataParallelOptions options)
    : DataParallel(group, model.parameters(), options) {}

DataParallel::DataParallel(ProcessGroup& group, std::vector<Tensor> parameters,
                           DataParallelOptions options)
    : group_(&group), params_(std::move(parameters)) {
  if (params_.empty()) throw ValueError("DataParallel: no parameters");
  if (options.bucket_bytes == 0) throw ValueError("DataParallel: bucket_bytes must be positive");
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    if (!p.defined() || !p.requires_grad() || !p.is_leaf())
      throw ValueError(
          fmt::format("DataParallel: parameter {} (shape {}) must be a leaf that requires grad", i,
                      p.defined() ? shape_str(p.shape()) : std::string("undefined")));
  }
  {
    NoGradGuard no_grad;  // the broadcast writes the parameters in place
    for (Tensor& p : params_) group_->broadcast(p, 0);
  }
  // Reverse order: backward finishes the last layer's gradients first. A bucket holds
  // one dtype, so a dtype change closes it.
  std::size_t bytes = 0;
  for (std::size_t k = params_.size(); k-- > 0;) {
    const Tensor& p = params_[k];
    const std::size_t b = static_cast<std::size_t>(p.numel()) * dtype_size(p.dtype());
    if (buckets_.empty() || bytes >= options.bucket_bytes ||
        params_[buckets_.back().front()].dtype() != p.dtype()) {
      buckets_.emplace_back();
      bytes = 0;
    }
    buckets_.back().push_back(k);
    bytes += b;
  }
  // Each parameter's gradient becomes a view of its slice of its bucket (from the first
  // finish() on): backward accumulates straight into the bucket and the mean lands in
  // grad() in place, with no copy either way. A grad() replaced by the user is copied.
  bucket_of_.resize(params_.size());
  grad_views_.resize(params_.size());
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    std::int64_t n = 0;
    for (std::size_t k : buckets_[b]) n += params_[k].numel();
    flat_.push_back(zeros({n}, params_[buckets_[b].front()].dtype()));
    std::size_t offset = 0;
    for (std::size_t k : buckets_[b]) {
      const Tensor& p = params_[k];
      const std::size_t bytes = static_cast<std::size_t>(p.numel()) * dtype_size(p.dtype());
      auto impl = std::make_shared<TensorImpl>();
      impl->storage = Storage::view(flat_[b].impl().storage, offset, bytes);
      impl->shape = p.shape();
      impl->dtype = p.dtype();
      impl->numel = p.numel();
      grad_views_[k] = Tensor(std::move(impl));
      bucket_of_[k] = b;
      offset += bytes;
    }
  }
  ready_.assign(params_.size(), false);
  ready_count_.assign(buckets_.size(), 0);
  work_.resize(buckets_.size());
  for (std::size_t k = 0; k < params_.size() && options.overlap; ++k)
    hook_ids_.push_back(register_post_accumulate_grad_hook(
        params_[k], [this, k](const Tensor&) { on_grad_ready(k); }));
}

DataParallel::~DataParallel() {
  for (std::size_t k = 0; k < hook_ids_.size(); ++k)
    remove_post_accumulate_grad_hook(params_[k], hook_ids_[k]);
  // Collectives still in flight finish in their Work's destructor.
}

void DataParallel::on_grad_ready(std::size_t param) {
  const std::size_t b = bucket_of_[param];
  if (ready_[param] || b < next_bucket_)
    throw GraphError(fmt::format(
        "DataParallel: the gradient of parameter {} (shape {}) came twice before finish(); call "
        "finish() after each backward",
        param, shape_str(params_[param].shape())));
  ready_[param] = true;
  ++ready_count_[b];
  start_ready_buckets();
  // Give the buckets in flight a chance to progress while backward goes on (MPI moves
  // a non-blocking collective forward only inside MPI calls).
  for (std::size_t i = 0; i < next_bucket_; ++i) work_[i]->test();
}

void DataParallel::start_ready_buckets() {
  while (next_bucket_ < buckets_.size() &&
         ready_count_[next_bucket_] == buckets_[next_bucket_].size())
    start_bucket(next_bucket_++);
}

void DataParallel::start_bucket(std::size_t bucket) {
  Tensor& flat = flat_[bucket];
  auto* out = static_cast<unsigned char*>(flat.raw_data());
  const std::size_t elem = dtype_size(flat.dtype());
  for (std::size_t k : buckets_[bucket]) {
    const Tensor g = params_[k].grad();
    const std::size_t bytes = static_cast<std::size_t>(params_[k].numel()) * elem;
    if (!g.defined())
      std::memset(out, 0, bytes);  // a parameter this rank's pass did not reach
    else if (g.raw_data() != out)  // not (or no longer) the bucket's view
      std::memcpy(out, g.raw_data(), bytes);
    out += bytes;
  }
  work_[bucket] = group_->all_reduce_async(flat, ReduceOp::mean);
}

void DataParallel::finish() {
  // Buckets backward did not complete start now, still in order.
  while (next_bucket_ < buckets_.size()) start_bucket(next_bucket_++);
  const auto t0 = std::chrono::steady_clock::now();
  for (auto& w : work_) w->wait();
  last_wait_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (std::size_t k = 0; k < params_.size(); ++k) {
    Tensor& p = params_[k];
    if (p.grad().defined() && p.grad().raw_data() == grad_views_[k].raw_data()) continue;
    p.set_grad(grad_views_[k]);  // the mean is already there
  }
  for (auto& w : work_) w.reset();
  ready_.assign(params_.size(), false);
  ready_count_.assign(buckets_.size(), 0);
  next_bucket_ = 0;
}

}  // namespace tapegrad::distributed
