// A block mask that follows a chat turn by turn, the way a serving engine would
// keep one: each new turn rebuilds only the query blocks its rows fall in, and
// the result is checked against a build from scratch. Under ISM the old query
// blocks keep their lists; under prefix the last conversation's old rows change
// too (the prefix grows), so their blocks are rebuilt.
#include <iostream>
#include <ism/ism.hpp>

namespace {

template <ism::paradigm P>
bool follow_the_chat() {
  ism::layout_builder chat;
  chat.system(16).user(20);
  ism::incremental_block_mask<P> blocks(chat.build(), ism::block_size{16, 16});
  const ism::index_t answers[] = {40, 24, 56};
  for (const ism::index_t answer : answers) {
    chat.assistant(answer).user(12);
    blocks.append(chat.build());
  }
  std::cout << P::name << ", " << blocks.sequence().size() << " tokens in 16 x 16 tiles ('#' full, "
            << "'+' partial, '.' empty):\n";
  ism::print_blocks(std::cout, blocks.block_mask());
  const ism::block_mask fresh =
      ism::make_block_mask(ism::make_interval_mask<P>(blocks.sequence()), ism::block_size{16, 16});
  const bool same = blocks.block_mask() == fresh;
  std::cout << (same ? "same as a fresh build\n\n" : "DIFFERS from a fresh build\n\n");
  return same;
}

}  // namespace

int main() {
  const bool ok = follow_the_chat<ism::intermittent>() && follow_the_chat<ism::prefix>();
  return ok ? 0 : 1;
}
