// A user's program: it only has to compile against ism and run.
#include <ism/ism.hpp>

int main() {
  ism::index_t n = 3;
  return n == 3 ? 0 : 1;
}
