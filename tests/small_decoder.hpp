// A reference decoder small enough for a sanitized build, yet with grouped
// KV heads: shared by the tests of the decoder and of the studies.
#pragma once

#include <ism/reference_decoder.hpp>

inline ism::decoder_config small_decoder() {
  ism::decoder_config c;
  c.vocabulary = 50;
  c.d_model = 32;
  c.layers = 2;
  c.heads = 4;
  c.kv_heads = 2;
  c.mlp_hidden = 64;
  c.seed = 7;
  return c;
}
