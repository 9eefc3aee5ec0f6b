// Every engine export of FORMATS.md beyond the dense and additive masks: each
// header builds one format's arrays (a small struct of vectors), sizes them
// from shapes alone (<format>_shapes, for npy_bytes / npz_bytes) and names them
// for write_npy / write_npz (named_arrays).
#pragma once

#include "ism/exports/bidirectional_blocks.hpp"
#include "ism/exports/cu_seqlens.hpp"
#include "ism/exports/flashinfer.hpp"
#include "ism/exports/flashmask.hpp"
#include "ism/exports/flex.hpp"
#include "ism/exports/hf.hpp"
#include "ism/exports/intervals.hpp"
#include "ism/exports/llamacpp.hpp"
#include "ism/exports/vllm.hpp"
