// Placeholder for the ism command-line tool; to be replaced.
#include <ism/config.hpp>

#include <cstdio>

int main() {
  std::puts("ism");
  return 0;
}
