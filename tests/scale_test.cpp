// The 1,048,576-token case of issue 3: 256 conversations of 32 turns, packed in
// one row, get their ISM block mask (128 x 128) and their flashmask and
// intervals exports with memory proportional to N plus the listed blocks. The program counts every byte it allocates, so a
// quadratic intermediate (even a byte per tile, 64 MiB here) fails the bound.
// Its own executable, because replacing operator new is global.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <malloc.h>

#include <cstdlib>
#include <ism/block_mask.hpp>
#include <ism/exports/flashmask.hpp>
#include <ism/exports/intervals.hpp>
#include <ism/paradigms.hpp>
#include <new>
#include <random>

namespace {

std::size_t live_bytes = 0;
std::size_t peak_bytes = 0;

void* counted_allocation(std::size_t size) {
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  live_bytes += malloc_usable_size(p);
  peak_bytes = std::max(peak_bytes, live_bytes);
  return p;
}

void counted_free(void* p) noexcept {
  if (p == nullptr) return;
  live_bytes -= malloc_usable_size(p);
  std::free(p);
}

// Peak bytes allocated by f beyond what was live when it started.
template <class F>
std::size_t peak_allocation_of(F&& f) {
  const std::size_t before = live_bytes;
  peak_bytes = live_bytes;
  f();
  return peak_bytes - before;
}

}  // namespace

void* operator new(std::size_t size) { return counted_allocation(size); }
void* operator new[](std::size_t size) { return counted_allocation(size); }
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_free(p); }

namespace {

using ism::index_t;

constexpr index_t conversations = 256;
constexpr index_t turns = 32;

// 32 + 32 x (40 + 87) = 4096 tokens per conversation, 2^20 in all.
ism::layout million_token_layout() {
  ism::layout_builder b;
  for (index_t c = 0; c < conversations; ++c) {
    if (c > 0) b.next_document();
    b.system(32);
    for (index_t t = 0; t < turns; ++t) b.user(40).assistant(87);
  }
  return b.build();
}

}  // namespace

TEST_CASE("a 1M-token ISM layout gets its block mask and exports without quadratic memory") {
  const ism::layout row = million_token_layout();
  const index_t n = row.size();
  REQUIRE(n == index_t{1} << 20);

  ism::interval_mask m;
  std::optional<ism::block_mask> blocks;
  const std::size_t peak = peak_allocation_of([&] {
    m = ism::make_interval_mask<ism::intermittent>(row);
    blocks.emplace(ism::make_block_mask(m, ism::block_size{128, 128}));
  });

  const index_t qb = blocks->query_blocks(), kb = blocks->key_blocks();
  REQUIRE(qb == 8192);
  REQUIRE(kb == 8192);
  // Each conversation is 32 blocks wide and ISM sees at most its own lower
  // triangle of them: about 32 x 33 / 2 tiles per conversation.
  const index_t listed = blocks->listed_blocks();
  CHECK(listed <= conversations * 32 * 33 / 2 + conversations * 32);
  // Intervals: 16 bytes a token; tiles: an index each way; lists: a vector
  // header per key block and an offset per query block, twice.
  const std::size_t bound = static_cast<std::size_t>(24 * n + 16 * listed + 96 * (qb + kb)) +
                            (std::size_t{1} << 20);
  MESSAGE("peak allocation " << peak << " bytes, bound " << bound << " bytes, " << listed
                             << " listed tiles of " << qb * kb);
  CHECK(peak <= bound);
  CHECK(bound < static_cast<std::size_t>(qb * kb));  // a byte per tile would not fit

  // flashmask: int32 [N, 2]; intervals: int64 lo and hi. Both are O(N); an
  // export may use O(N) scratch, 32 bytes a token here, but nothing N x N.
  const std::size_t export_bound = static_cast<std::size_t>(48 * n) + (std::size_t{1} << 20);
  ism::flashmask_export flashmask;
  const std::size_t flashmask_peak = peak_allocation_of([&] { flashmask = ism::export_flashmask(m); });
  MESSAGE("flashmask export peak " << flashmask_peak << " bytes");
  CHECK(flashmask_peak <= export_bound);
  CHECK(flashmask.startend_row_indices.size() == static_cast<std::size_t>(2 * n));
  ism::intervals_export intervals;
  const std::size_t intervals_peak = peak_allocation_of([&] { intervals = ism::export_intervals(m); });
  MESSAGE("intervals export peak " << intervals_peak << " bytes");
  CHECK(intervals_peak <= export_bound);
  // Spot checks: column k is seen by rows [UTE, LTS) of its own conversation.
  for (const index_t k : {index_t{0}, index_t{31}, index_t{32}, index_t{4095}, index_t{4096},
                          n / 2 + 100, n - 1}) {
    index_t first = -1, last = -1;
    for (index_t q = (k / 4096) * 4096; q < (k / 4096 + 1) * 4096; ++q)
      if (m.visible(q, k)) last = q, first = first < 0 ? q : first;
    CAPTURE(k);
    CHECK(flashmask.startend_row_indices[static_cast<std::size_t>(2 * k + 1)] == first);
    CHECK(flashmask.startend_row_indices[static_cast<std::size_t>(2 * k)] == last + 1);
  }

  // Spot checks of random tiles against the intervals, pair by pair.
  std::mt19937_64 rng(20240801);
  for (int i = 0; i < 300; ++i) {
    const index_t q = std::uniform_int_distribution<index_t>(0, qb - 1)(rng);
    // Mostly tiles near the diagonal, where the structure is.
    const index_t k = std::clamp<index_t>(q - std::uniform_int_distribution<index_t>(-2, 40)(rng),
                                          0, kb - 1);
    const ism::chunk t = blocks->tile(q, k);
    bool any = false, all = true;
    for (index_t r = t.q0; r < t.q1; ++r)
      for (index_t c = t.k0; c < t.k1; ++c) {
        const bool v = m.visible(r, c);
        any = any || v;
        all = all && v;
      }
    const ism::block_class expected =
        all ? ism::block_class::full : any ? ism::block_class::partial : ism::block_class::empty;
    CAPTURE(q);
    CAPTURE(k);
    CHECK(blocks->classify(q, k) == expected);
  }
}
