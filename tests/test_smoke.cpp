// Placeholder so the test machinery has something to build; to be removed.
#include <ism/config.hpp>

#include <doctest/doctest.h>

TEST_CASE("index_t is 64-bit") {
  CHECK(sizeof(ism::index_t) == 8);
}
