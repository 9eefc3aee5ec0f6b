// The host side of the CUDA forward, checked in every build, GPU or not: the
// key-tile plan from a query tile's interval extremes against brute force over
// every pair, and the m16n8k16 fragment ownership against the matrices it
// stands for, including a host emulation of the two products of the forward.
#include <doctest/doctest.h>

#include <array>
#include <ism/any_paradigm.hpp>
#include <ism/cuda/mma_layout.hpp>
#include <ism/cuda/tile_plan.hpp>
#include <ism/interval_mask.hpp>
#include <ism/layout.hpp>
#include <random>
#include <string>
#include <vector>

#include "random_layouts.hpp"

namespace {

using ism::index_t;
namespace ic = ism::cuda;

// What brute force says about key tile kb of query rows [q_begin, q_end): some
// pair visible, every pair visible (in a whole tile).
struct tile_truth {
  bool touched = false;
  bool full = true;
};

tile_truth brute_force(const ism::interval_mask& m, index_t q_begin, index_t q_end, index_t k0,
                       index_t k1, index_t bk, index_t kb) {
  tile_truth t;
  const index_t b0 = k0 + kb * bk, b1 = b0 + bk;
  if (b1 > k1) t.full = false;
  for (index_t q = q_begin; q < q_end; ++q)
    for (index_t k = b0; k < b1; ++k) {
      const bool seen = k < k1 && m.visible(q, k);
      t.touched = t.touched || seen;
      if (!seen) t.full = false;
    }
  return t;
}

// Checks the plan of every query tile of chunk c against brute force: tiles
// outside [first, end) hold nothing visible, the end tiles hold something, and
// the unmasked tiles are exactly the tiles every row sees whole.
void check_plans(const ism::interval_mask& m, const ism::chunk& c, index_t bq, index_t bk) {
  const index_t key_tiles = ism::ceil_div(c.cols(), bk);
  for (index_t q_begin = c.q0; q_begin < c.q1; q_begin += bq) {
    const index_t q_end = std::min(q_begin + bq, c.q1);
    const ic::key_tile_plan plan =
        ic::plan_key_tiles(ic::query_tile_extremes(m, q_begin, q_end, c.k0, c.k1), c.k0, c.k1, bk);
    CAPTURE(q_begin);
    CAPTURE(plan.first);
    CAPTURE(plan.end);
    CAPTURE(plan.full_first);
    CAPTURE(plan.full_end);
    REQUIRE(plan.first <= plan.end);
    REQUIRE(plan.end <= key_tiles);
    REQUIRE(plan.first <= plan.full_first);
    REQUIRE(plan.full_first <= plan.full_end);
    REQUIRE(plan.full_end <= plan.end);
    for (index_t kb = 0; kb < key_tiles; ++kb) {
      CAPTURE(kb);
      const tile_truth t = brute_force(m, q_begin, q_end, c.k0, c.k1, bk, kb);
      const bool visited = plan.first <= kb && kb < plan.end;
      if (!visited) CHECK_FALSE(t.touched);
      if (visited && (kb == plan.first || kb + 1 == plan.end)) CHECK(t.touched);
      CHECK(plan.full(kb) == (t.full && t.touched));
    }
  }
}

}  // namespace

TEST_CASE("cuda tile plan: the four paradigms on random layouts and chunks, against brute force") {
  random_layouts::for_random_layouts(random_layouts::default_seed, 120, [](std::mt19937_64& rng,
                                                                           const auto& declared) {
    const ism::layout sequence(declared);
    random_layouts::for_each_paradigm([&](auto, const char* name, const ism::any_paradigm& kind) {
      CAPTURE(name);
      const ism::interval_mask m = ism::make_interval_mask(sequence, kind);
      const ism::chunk c = random_layouts::random_chunk(rng, sequence.size());
      CAPTURE(ism::to_string(c));
      for (const index_t bq : {1, 3, 8, 64})
        for (const index_t bk : {1, 2, 5, 16, 64}) check_plans(m, c, bq, bk);
    });
  });
}

TEST_CASE("cuda tile plan: masks that are not monotone, with empty rows and gaps") {
  std::mt19937_64 rng(random_layouts::default_seed + 1);
  for (int round = 0; round < 300; ++round) {
    const index_t n = random_layouts::uniform(rng, 1, 50);
    std::vector<index_t> lo(static_cast<std::size_t>(n)), hi(static_cast<std::size_t>(n));
    for (index_t q = 0; q < n; ++q) {
      if (random_layouts::chance(rng, 0.15)) {
        lo[q] = n;  // sees nothing
        hi[q] = n - 1;
        continue;
      }
      lo[q] = random_layouts::uniform(rng, 0, n - 1);
      hi[q] = random_layouts::uniform(rng, lo[q], n - 1);
    }
    const ism::interval_mask m(lo, hi);
    const ism::chunk c = random_layouts::random_chunk(rng, n);
    CAPTURE(round);
    CAPTURE(ism::to_string(c));
    for (const index_t bq : {1, 4, 16})
      for (const index_t bk : {1, 3, 8}) check_plans(m, c, bq, bk);
  }
}

TEST_CASE("cuda tile plan: a tile of rows that see nothing visits nothing") {
  const ism::interval_mask m({5, 5}, {4, 4});
  const ic::key_tile_plan plan =
      ic::plan_key_tiles(ic::query_tile_extremes(m, 0, 2, 0, 5), 0, 5, 2);
  CHECK(plan.first == plan.end);
  CHECK(plan.full_first == plan.full_end);
  const ic::key_tile_plan no_keys =
      ic::plan_key_tiles(ic::query_tile_extremes(m, 0, 2, 3, 3), 3, 3, 2);
  CHECK(no_keys.first == no_keys.end);
}

namespace {

// Counts, for a matrix of rows x cols, how often the lanes' elements land on
// each position; every count must be 1.
template <class Position>
void check_covers_once(int rows, int cols, int elements, Position position) {
  std::vector<int> hits(static_cast<std::size_t>(rows * cols), 0);
  for (int lane = 0; lane < ic::warp_lanes; ++lane)
    for (int i = 0; i < elements; ++i) {
      const ic::fragment_position p = position(lane, i);
      REQUIRE(0 <= p.row);
      REQUIRE(p.row < rows);
      REQUIRE(0 <= p.col);
      REQUIRE(p.col < cols);
      ++hits[static_cast<std::size_t>(p.row * cols + p.col)];
    }
  for (const int h : hits) CHECK(h == 1);
}

}  // namespace

TEST_CASE("cuda mma layout: each fragment covers its matrix exactly once") {
  check_covers_once(ic::mma_m, ic::mma_k, 8, ic::a_element);
  check_covers_once(ic::mma_k, ic::mma_n, 4, ic::b_element);
  check_covers_once(ic::mma_m, ic::mma_n, 4, ic::c_element);
}

TEST_CASE("cuda mma layout: a register holds two neighbours, the lower one first") {
  // The kernel loads and stores elements 2r and 2r + 1 as one 32-bit word.
  for (int lane = 0; lane < ic::warp_lanes; ++lane) {
    for (int r = 0; r < 4; ++r) {
      const ic::fragment_position low = ic::a_element(lane, 2 * r);
      CHECK(ic::a_element(lane, 2 * r + 1) == ic::fragment_position{low.row, low.col + 1});
      CHECK(low.col % 2 == 0);
    }
    for (int r = 0; r < 2; ++r) {
      const ic::fragment_position low = ic::b_element(lane, 2 * r);
      CHECK(ic::b_element(lane, 2 * r + 1) == ic::fragment_position{low.row + 1, low.col});
      CHECK(ic::c_element(lane, 2 * r + 1) ==
            ic::fragment_position{ic::c_element(lane, 2 * r).row, ic::c_element(lane, 2 * r).col + 1});
      // Accumulator element 2r is row g + 8r, which the kernel reads as i >> 1.
      CHECK(ic::c_element(lane, 2 * r).row == ic::lane_group(lane) + 8 * r);
    }
  }
}

TEST_CASE("cuda mma layout: two accumulator tiles side by side are an A fragment, lane by lane") {
  for (int lane = 0; lane < ic::warp_lanes; ++lane)
    for (int i = 0; i < 8; ++i) {
      const ic::accumulator_slot slot = ic::a_from_accumulators(i);
      const ic::fragment_position c = ic::c_element(lane, slot.element);
      CHECK(ic::a_element(lane, i) ==
            ic::fragment_position{c.row, c.col + slot.tile * ic::mma_n});
    }
}

namespace {

// One warp's mma on the host: each lane holds the elements its fragments name,
// and lane l's accumulator element i gains sum_k A(row, k) B(k, col) from the
// A and B elements the lanes hold. Returns D (16 x 8) gathered from the lanes.
using matrix = std::vector<double>;

matrix emulate_mma(const std::array<std::array<double, 8>, ic::warp_lanes>& a_regs,
                   const std::array<std::array<double, 4>, ic::warp_lanes>& b_regs) {
  matrix a(ic::mma_m * ic::mma_k), b(ic::mma_k * ic::mma_n), d(ic::mma_m * ic::mma_n, 0.0);
  for (int lane = 0; lane < ic::warp_lanes; ++lane) {
    for (int i = 0; i < 8; ++i) {
      const ic::fragment_position p = ic::a_element(lane, i);
      a[static_cast<std::size_t>(p.row * ic::mma_k + p.col)] = a_regs[lane][i];
    }
    for (int i = 0; i < 4; ++i) {
      const ic::fragment_position p = ic::b_element(lane, i);
      b[static_cast<std::size_t>(p.row * ic::mma_n + p.col)] = b_regs[lane][i];
    }
  }
  for (int r = 0; r < ic::mma_m; ++r)
    for (int c = 0; c < ic::mma_n; ++c)
      for (int k = 0; k < ic::mma_k; ++k)
        d[static_cast<std::size_t>(r * ic::mma_n + c)] +=
            a[static_cast<std::size_t>(r * ic::mma_k + k)] * b[static_cast<std::size_t>(k * ic::mma_n + c)];
  return d;
}

}  // namespace

TEST_CASE("cuda mma layout: the forward's loads compute S = Q K^T and O = P V") {
  // Q (16 x 16), K (16 keys x 16 features) and V (16 keys x 8 features), with
  // every fragment loaded the way forward_kernel.cuh loads it.
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal;
  matrix q(16 * 16), k(16 * 16), v(16 * 8);
  for (double* m : {q.data(), k.data()})
    for (int i = 0; i < 256; ++i) m[i] = normal(rng);
  for (double& x : v) x = normal(rng);

  // S = Q K^T in two accumulator tiles of 8 keys: B(feature, key) = K[key][feature].
  std::array<std::array<double, 8>, ic::warp_lanes> q_regs{};
  std::array<matrix, 2> s;
  for (int lane = 0; lane < ic::warp_lanes; ++lane)
    for (int i = 0; i < 8; ++i) {
      const ic::fragment_position p = ic::a_element(lane, i);
      q_regs[lane][i] = q[static_cast<std::size_t>(p.row * 16 + p.col)];
    }
  for (int j = 0; j < 2; ++j) {
    std::array<std::array<double, 4>, ic::warp_lanes> k_regs{};
    for (int lane = 0; lane < ic::warp_lanes; ++lane)
      for (int i = 0; i < 4; ++i) {
        const ic::fragment_position p = ic::b_element(lane, i);
        k_regs[lane][i] = k[static_cast<std::size_t>((j * ic::mma_n + p.col) * 16 + p.row)];
      }
    s[j] = emulate_mma(q_regs, k_regs);
  }
  for (int r = 0; r < 16; ++r)
    for (int key = 0; key < 16; ++key) {
      double want = 0.0;
      for (int f = 0; f < 16; ++f) want += q[r * 16 + f] * k[key * 16 + f];
      CHECK(s[key / 8][static_cast<std::size_t>(r * 8 + key % 8)] == doctest::Approx(want));
    }

  // O = P V with P taken lane by lane from S's accumulators, as the kernel does.
  std::array<std::array<double, 8>, ic::warp_lanes> p_regs{};
  std::array<std::array<double, 4>, ic::warp_lanes> v_regs{};
  for (int lane = 0; lane < ic::warp_lanes; ++lane) {
    for (int i = 0; i < 8; ++i) {
      const ic::accumulator_slot slot = ic::a_from_accumulators(i);
      const ic::fragment_position c = ic::c_element(lane, slot.element);
      p_regs[lane][i] = s[slot.tile][static_cast<std::size_t>(c.row * 8 + c.col)];
    }
    for (int i = 0; i < 4; ++i) {
      const ic::fragment_position p = ic::b_element(lane, i);  // row: key, col: feature
      v_regs[lane][i] = v[static_cast<std::size_t>(p.row * 8 + p.col)];
    }
  }
  const matrix o = emulate_mma(p_regs, v_regs);
  for (int r = 0; r < 16; ++r)
    for (int f = 0; f < 8; ++f) {
      double want = 0.0;
      for (int key = 0; key < 16; ++key)
        want += s[key / 8][static_cast<std::size_t>(r * 8 + key % 8)] * v[key * 8 + f];
      CHECK(o[static_cast<std::size_t>(r * 8 + f)] == doctest::Approx(want));
    }
}
