// What the CUDA test programs share: random packed layouts, a user paradigm
// and a mask without intervals that run on the device, a mask's intervals in
// device memory, a count of mismatches, and the check that an argument error
// is thrown with a message naming the problem.
#pragma once

#include <cstdio>
#include <exception>
#include <ism/interval_mask.hpp>
#include <ism/layout.hpp>
#include <ism/paradigm.hpp>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "device_array.hpp"

namespace cuda_tests {

using ism::index_t;

inline index_t uniform(std::mt19937_64& rng, index_t lo, index_t hi) {
  return std::uniform_int_distribution<index_t>(lo, hi)(rng);
}

// Up to `documents` documents of up to `segments` segments of any role, each
// 1 to `length` tokens long.
inline ism::layout random_layout(std::mt19937_64& rng, index_t documents, index_t segments,
                                 index_t length) {
  ism::layout_builder builder;
  const index_t document_count = uniform(rng, 1, documents);
  for (index_t d = 0; d < document_count; ++d) {
    if (d > 0) builder.next_document();
    const index_t segment_count = uniform(rng, 1, segments);
    for (index_t s = 0; s < segment_count; ++s)
      builder.add(static_cast<ism::role>(uniform(rng, 0, 3)), uniform(rng, 1, length));
  }
  return builder.build();
}

// A user paradigm, as examples/custom_paradigm.cpp writes one, usable on the
// device: tool results read bidirectionally, everything else causally.
struct tool_results_bidirectional {
  static constexpr std::string_view name = "tool-bidirectional";
  ISM_HOST_DEVICE ism::row_interval interval(const ism::token_context& t) const {
    const bool block = t.segment.kind == ism::role::tool;
    return {t.document.begin, block ? t.segment.end - 1 : t.position};
  }
};

// A mask with no intervals: a paradigm's intervals with every third key hidden
// from all but itself. It reads the intervals through a view, so one type
// serves the host (host arrays) and the kernels (device arrays).
struct sparse_keys_mask {
  ism::interval_view intervals;
  ISM_HOST_DEVICE index_t size() const noexcept { return intervals.size(); }
  ISM_HOST_DEVICE bool visible(index_t q, index_t k) const noexcept {
    return intervals.visible(q, k) && (k % 3 != 1 || k == q);
  }
};

// A mask's intervals in device memory.
struct device_intervals {
  device_array<index_t> lo;
  device_array<index_t> hi;
  index_t rows;

  explicit device_intervals(const ism::interval_mask& m)
      : lo(std::vector<index_t>(m.lo().begin(), m.lo().end())),
        hi(std::vector<index_t>(m.hi().begin(), m.hi().end())),
        rows(m.size()) {}
  ism::interval_view view() const { return {lo.data(), hi.data(), rows}; }
};

// Counts the results that differ from the host's, printing the first ones.
class comparison {
 public:
  static constexpr int printed = 20;

  // What the next comparisons are about.
  void start(std::string what) { what_ = std::move(what); }
  void fail(const std::string& detail) {
    if (++mismatches_ <= printed) std::printf("mismatch: %s: %s\n", what_.c_str(), detail.c_str());
  }
  // Element by element, for numbers.
  template <class T>
  void expect_equal(const char* result, const std::vector<T>& device, const std::vector<T>& host) {
    if (device.size() != host.size()) {
      fail(std::string(result) + ": sizes differ");
      return;
    }
    for (std::size_t i = 0; i < host.size(); ++i)
      if (!(device[i] == host[i]))
        fail(std::string(result) + "[" + std::to_string(i) + "]: device " +
             std::to_string(device[i]) + ", host " + std::to_string(host[i]));
  }
  int mismatches() const { return mismatches_; }

 private:
  std::string what_;
  int mismatches_ = 0;
};

// Whether f throws E with a message containing `needle`; prints what
// happened instead when not.
template <class E, class F>
bool throws(const char* check, const std::string& needle, F&& f) {
  try {
    f();
  } catch (const E& e) {
    if (std::string(e.what()).find(needle) != std::string::npos) return true;
    std::printf("error check '%s': message '%s' lacks '%s'\n", check, e.what(), needle.c_str());
    return false;
  } catch (const std::exception& e) {
    std::printf("error check '%s': threw another type: %s\n", check, e.what());
    return false;
  }
  std::printf("error check '%s': threw nothing\n", check);
  return false;
}

}  // namespace cuda_tests
