// Dense boolean and additive masks (docs/semantics.md#chunks-and-absolute-positions): whole rows and random chunks
// in absolute positions against the oracle, caller buffers with padding, and
// every chunk and buffer error.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <ism/additive_mask.hpp>
#include <ism/composition.hpp>
#include <ism/dense_mask.hpp>
#include <ism/paradigms.hpp>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "oracle.hpp"
#include "random_layouts.hpp"

namespace {

using ism::index_t;

// Element (q, k) of chunk c lives at out[(q - c.q0) * stride + (k - c.k0)].
template <class Read>
std::string chunk_mismatch(const ism::chunk& c, const oracle::mask& om, Read&& read) {
  std::string out;
  for (index_t q = c.q0; q < c.q1; ++q)
    for (index_t k = c.k0; k < c.k1; ++k) {
      const int got = read(q - c.q0, k - c.k0);  // 1 visible, 0 hidden, -1 neither
      if (got != (om.visible(q, k) ? 1 : 0))
        out += "(" + std::to_string(q) + "," + std::to_string(k) + ")=" + std::to_string(got) + " ";
    }
  return out;
}

// 1 for exactly +0, 0 for exactly -inf, -1 for anything else.
template <class T>
int additive_value(T value) {
  const float f = static_cast<float>(value);
  if (f == 0.0f && !std::signbit(f)) return 1;
  if (std::isinf(f) && f < 0) return 0;
  return -1;
}

// The masks that must all agree with the oracle: the policy's interval mask, the
// runtime kind's, the view, and a predicate wrapper that forces the element-wise
// path of fill_rows.
template <class F>
void for_each_representation(const ism::interval_mask& m, F&& f) {
  f(m, "interval_mask");
  f(m.view(), "interval_view");
  f(ism::and_masks([&m](index_t q, index_t k) { return m.visible(q, k); }), "predicate");
}

}  // namespace

TEST_CASE("dense_mask: whole rows and random chunks equal the oracle") {
  random_layouts::for_random_layouts(
      12000, 1000, [](std::mt19937_64& rng, const oracle::declared_layout& d) {
        const ism::layout l(d);
        const oracle::row o = oracle::describe(d);
        const index_t n = o.size();
        random_layouts::for_each_paradigm([&](auto policy, std::string_view name,
                                              const ism::any_paradigm& kind) {
          CAPTURE(name);
          const ism::interval_mask m = ism::make_interval_mask(l, policy);
          const oracle::mask om = oracle::mask_of(name, o);
          CHECK(ism::make_interval_mask(l, kind) == m);
          const ism::dense_bool_mask whole = ism::dense_mask(m);
          CHECK(whole.rows() == n);
          CHECK(whole.cols() == n);
          CHECK(chunk_mismatch(ism::whole(n), om,
                               [&](index_t r, index_t c) { return int(whole(r, c)); }) == "");
          for_each_representation(m, [&](const auto& mask, const char* representation) {
            CAPTURE(representation);
            for (int trial = 0; trial < 3; ++trial) {
              const ism::chunk c = random_layouts::random_chunk(rng, n);
              CAPTURE(ism::to_string(c));
              const ism::dense_bool_mask part = ism::dense_mask(mask, c);
              REQUIRE(part.rows() == c.rows());
              REQUIRE(part.cols() == c.cols());
              CHECK(chunk_mismatch(c, om, [&](index_t r, index_t k) { return int(part(r, k)); }) ==
                    "");
            }
          });
        });
      });
}

TEST_CASE_TEMPLATE("additive_mask: 0 where visible, -inf where hidden", T, float, double,
                   Eigen::half, Eigen::bfloat16) {
  random_layouts::for_random_layouts(
      13000, 1000, [](std::mt19937_64& rng, const oracle::declared_layout& d) {
        const ism::layout l(d);
        const oracle::row o = oracle::describe(d);
        const index_t n = o.size();
        random_layouts::for_each_paradigm(
            [&](auto policy, std::string_view name, const ism::any_paradigm&) {
              CAPTURE(name);
              const ism::interval_mask m = ism::make_interval_mask(l, policy);
              const oracle::mask om = oracle::mask_of(name, o);
              const ism::dense_additive_mask<T> whole = ism::additive_mask<T>(m);
              CHECK(chunk_mismatch(ism::whole(n), om, [&](index_t r, index_t c) {
                      return additive_value(whole(r, c));
                    }) == "");
              for_each_representation(m, [&](const auto& mask, const char* representation) {
                CAPTURE(representation);
                const ism::chunk c = random_layouts::random_chunk(rng, n);
                CAPTURE(ism::to_string(c));
                const ism::dense_additive_mask<T> part = ism::additive_mask<T>(mask, c);
                REQUIRE(part.rows() == c.rows());
                REQUIRE(part.cols() == c.cols());
                CHECK(chunk_mismatch(c, om, [&](index_t r, index_t k) {
                        return additive_value(part(r, k));
                      }) == "");
              });
            });
      });
}

TEST_CASE("additive_mask: float is the default scalar") {
  const ism::interval_mask m({0, 0}, {0, 1});
  const auto a = ism::additive_mask(m);
  static_assert(std::is_same_v<std::decay_t<decltype(a)>, ism::dense_additive_mask<float>>);
  CHECK(a(0, 0) == 0.0f);
  CHECK(a(0, 1) == -std::numeric_limits<float>::infinity());
  static_assert(ism::additive_scalar<Eigen::half> && !ism::additive_scalar<int>);
}

TEST_CASE("fill_dense_mask: a caller buffer with row_stride > cols keeps its padding") {
  random_layouts::for_random_layouts(
      14000, 1000, [](std::mt19937_64& rng, const oracle::declared_layout& d) {
        const ism::layout l(d);
        const oracle::row o = oracle::describe(d);
        random_layouts::for_each_paradigm(
            [&](auto policy, std::string_view name, const ism::any_paradigm&) {
              CAPTURE(name);
              const ism::interval_mask m = ism::make_interval_mask(l, policy);
              const oracle::mask om = oracle::mask_of(name, o);
              const ism::chunk c = random_layouts::random_chunk(rng, o.size());
              const index_t stride = c.cols() + random_layouts::uniform(rng, 1, 4);
              CAPTURE(ism::to_string(c));
              CAPTURE(stride);
              // A buffer with a tail past the last row; padding is every cell not in the chunk.
              const auto size = static_cast<std::size_t>(c.rows() * stride + 3);
              const auto in_chunk = [&](std::size_t i) {
                return static_cast<index_t>(i) < c.rows() * stride &&
                       static_cast<index_t>(i) % stride < c.cols();
              };
              for (const bool sentinel : {false, true}) {
                CAPTURE(sentinel);
                std::unique_ptr<bool[]> storage(new bool[size]);
                std::fill(storage.get(), storage.get() + size, sentinel);
                ism::fill_dense_mask(m, c, std::span<bool>(storage.get(), size), stride);
                std::string padding;
                for (std::size_t i = 0; i < size; ++i)
                  if (!in_chunk(i) && storage[i] != sentinel) padding += std::to_string(i) + " ";
                CHECK(padding == "");
                CHECK(chunk_mismatch(c, om, [&](index_t r, index_t k) {
                        return int(storage[static_cast<std::size_t>(r * stride + k)]);
                      }) == "");
              }
              // Additive: NaN marks the padding.
              std::vector<float> buffer(size, std::numeric_limits<float>::quiet_NaN());
              ism::fill_additive_mask<float>(m, c, std::span<float>(buffer), stride);
              std::string padding;
              for (std::size_t i = 0; i < size; ++i)
                if (!in_chunk(i) && !std::isnan(buffer[i])) padding += std::to_string(i) + " ";
              CHECK(padding == "");
              CHECK(chunk_mismatch(c, om, [&](index_t r, index_t k) {
                      return additive_value(buffer[static_cast<std::size_t>(r * stride + k)]);
                    }) == "");
            });
      });
}

TEST_CASE("fill_dense_mask: the smallest buffer is (rows - 1) * row_stride + cols") {
  const ism::interval_mask m =
      ism::make_interval_mask<ism::causal>(ism::layout_builder{}.user(5).build());
  const ism::chunk c{1, 4, 0, 3};
  std::vector<float> exact(static_cast<std::size_t>(2 * 5 + 3), 7.0f);
  CHECK_NOTHROW(ism::fill_additive_mask<float>(m, c, std::span<float>(exact), 5));
  CHECK(exact[5 + 2] == 0.0f);  // (q 2, k 2)
  CHECK(exact[3] == 7.0f);      // padding after row 0
  std::vector<float> short_by_one(exact.size() - 1);
  CHECK_THROWS_AS(ism::fill_additive_mask<float>(m, c, std::span<float>(short_by_one), 5),
                  ism::shape_error);
  CHECK_THROWS_WITH(ism::fill_additive_mask<float>(m, c, std::span<float>(short_by_one), 5),
                    doctest::Contains("buffer holds 12 elements"));
  CHECK_THROWS_WITH(ism::fill_additive_mask<float>(m, c, std::span<float>(short_by_one), 5),
                    doctest::Contains("needs 13"));
}

TEST_CASE("fill_dense_mask: row_stride shorter than the chunk") {
  const ism::interval_mask m =
      ism::make_interval_mask<ism::causal>(ism::layout_builder{}.user(5).build());
  std::vector<float> buffer(100);
  CHECK_THROWS_AS(
      ism::fill_additive_mask<float>(m, ism::chunk{0, 2, 0, 4}, std::span<float>(buffer), 3),
      ism::shape_error);
  CHECK_THROWS_WITH(
      ism::fill_additive_mask<float>(m, ism::chunk{0, 2, 0, 4}, std::span<float>(buffer), 3),
      doctest::Contains("row_stride 3 is shorter than the 4 keys"));
  std::unique_ptr<bool[]> flags(new bool[100]);
  CHECK_THROWS_AS(
      ism::fill_dense_mask(m, ism::chunk{0, 2, 0, 4}, std::span<bool>(flags.get(), 100), -1),
      ism::shape_error);
}

TEST_CASE("dense_mask: empty chunks") {
  const ism::interval_mask m = ism::make_interval_mask<ism::intermittent>(
      ism::layout_builder{}.user(3).assistant(2).build());
  for (const ism::chunk c : {ism::chunk{0, 0, 0, 5}, ism::chunk{2, 5, 3, 3}, ism::chunk{5, 5, 5, 5},
                             ism::chunk{0, 0, 0, 0}}) {
    CAPTURE(ism::to_string(c));
    const ism::dense_bool_mask d = ism::dense_mask(m, c);
    CHECK(d.rows() == c.rows());
    CHECK(d.cols() == c.cols());
    CHECK(ism::additive_mask<Eigen::half>(m, c).size() == 0);
  }
}

TEST_CASE("fill_dense_mask: a chunk without keys into an empty caller buffer writes nothing") {
  // Three query rows, zero keys, a stride of 4: nothing to write and no element
  // needed, so an empty span (data() == nullptr) is a valid buffer. Computing a
  // row pointer nullptr + row * row_stride is undefined behaviour, which clang's
  // UBSan reports ("applying non-zero offset to null pointer").
  const ism::interval_mask m = ism::make_interval_mask<ism::intermittent>(
      ism::layout_builder{}.user(3).assistant(2).build());
  CHECK_NOTHROW(ism::fill_dense_mask(m, ism::chunk{0, 3, 2, 2}, std::span<bool>(), 4));
  CHECK_NOTHROW(ism::fill_additive_mask<float>(m, ism::chunk{0, 3, 2, 2}, std::span<float>(), 4));
}

TEST_CASE("dense_mask: chunk errors") {
  const ism::interval_mask m =
      ism::make_interval_mask<ism::prefix>(ism::layout_builder{}.user(3).assistant(2).build());
  const ism::chunk bad[] = {
      {3, 2, 0, 5},   // reversed queries
      {0, 5, 4, 1},   // reversed keys
      {-1, 2, 0, 5},  // negative query start
      {0, 2, -3, 1},  // negative key start
      {0, 6, 0, 5},   // past the last query
      {0, 5, 0, 6},   // past the last key
      {6, 6, 0, 0},   // empty but outside
  };
  for (const ism::chunk& c : bad) {
    CAPTURE(ism::to_string(c));
    CHECK_THROWS_AS(ism::dense_mask(m, c), ism::shape_error);
    CHECK_THROWS_AS(ism::additive_mask<float>(m, c), ism::shape_error);
    CHECK_THROWS_AS(ism::additive_mask<Eigen::bfloat16>(m, c), ism::shape_error);
    CHECK_THROWS_AS(ism::dense_mask(m.view(), c), ism::shape_error);
    std::vector<double> buffer(100);
    CHECK_THROWS_AS(ism::fill_additive_mask<double>(m, c, std::span<double>(buffer), 10),
                    ism::shape_error);
    CHECK_THROWS_WITH(ism::dense_mask(m, c), doctest::Contains(ism::to_string(c).c_str()));
  }
  CHECK_THROWS_WITH(ism::dense_mask(m, ism::chunk{0, 6, 0, 5}), doctest::Contains("5 positions"));
}

TEST_CASE("fill_dense_mask: a row_stride whose span overflows index_t is a shape_error") {
  const ism::interval_mask m =
      ism::make_interval_mask<ism::causal>(ism::layout({{{ism::role::user, 3}}}));
  bool buffer[10] = {};
  const index_t huge_stride = index_t{1} << 62;  // 2 * 2^62 overflows
  CHECK_THROWS_WITH_AS(
      ism::fill_dense_mask(m, ism::chunk{0, 3, 0, 1}, std::span<bool>(buffer, 10), huge_stride),
      doctest::Contains("more elements than index_t counts"), ism::shape_error);
  CHECK(std::none_of(buffer, buffer + 10, [](bool b) { return b; }));
}
