// Every engine export (docs/formats.md): each header builds one format's arrays
// and decodes them back; format_registry.hpp lists them by name.
#pragma once

#include "ism/exports/additive.hpp"
#include "ism/exports/bidirectional_blocks.hpp"
#include "ism/exports/cu_seqlens.hpp"
#include "ism/exports/cudnn_endpoints.hpp"
#include "ism/exports/dense.hpp"
#include "ism/exports/fa4_block_sparse.hpp"
#include "ism/exports/flashinfer.hpp"
#include "ism/exports/flashinfer_ranges.hpp"
#include "ism/exports/flashmask.hpp"
#include "ism/exports/flex.hpp"
#include "ism/exports/hf.hpp"
#include "ism/exports/intervals.hpp"
#include "ism/exports/llamacpp.hpp"
#include "ism/exports/magi.hpp"
#include "ism/exports/vllm.hpp"
#include "ism/exports/vllm_ids.hpp"
#include "ism/format_registry.hpp"
#include "ism/verify.hpp"
