// The threads of the tiled attention. Work items are handed out one at a time
// from an atomic counter, so a thread that drew cheap items takes more; each
// item is computed whole by the thread that drew it, so what an item writes
// does not depend on how many threads ran or which one drew it.
#pragma once

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "ism/config.hpp"

namespace ism {
inline namespace v0 {
namespace detail {

// Calls work(item, worker) for every item in [0, items) on `workers` threads,
// the calling thread being worker 0. Items are drawn in ascending order. The
// first exception a call throws is rethrown once every thread has stopped;
// threads stop drawing items after it.
template <class Work>
void run_work_items(index_t items, index_t workers, Work&& work) {
  std::atomic<index_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_lock;
  const auto drain = [&](index_t worker) {
    try {
      for (index_t item = next++; item < items; item = next++) work(item, worker);
    } catch (...) {
      next = items;
      const std::lock_guard<std::mutex> hold(failure_lock);
      if (!failure) failure = std::current_exception();
    }
  };
  {
    // jthreads join when they leave scope, also when starting one more fails.
    std::vector<std::jthread> helpers;
    helpers.reserve(static_cast<std::size_t>(std::max<index_t>(workers - 1, 0)));
    for (index_t worker = 1; worker < workers; ++worker) helpers.emplace_back(drain, worker);
    drain(0);
  }
  if (failure) std::rethrow_exception(failure);
}

}  // namespace detail
}  // namespace v0
}  // namespace ism
