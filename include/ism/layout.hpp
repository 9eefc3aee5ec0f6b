// A layout: one packed row of documents, each an ordered list of segments with a
// role and a length (docs/semantics.md#layouts). Tokens are numbered 0..size()-1 over the
// whole row. A layout is immutable and always valid once constructed.
#pragma once

#include <limits>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ism/config.hpp"
#include "ism/errors.hpp"
#include "ism/role.hpp"

namespace ism {
inline namespace v0 {

// What a caller declares: a role and a token count.
struct segment {
  role kind;
  index_t length;
  friend bool operator==(const segment&, const segment&) = default;
};

// A segment placed in the row: tokens [begin, end) of document `document`.
struct segment_span {
  role kind;
  index_t begin;
  index_t end;
  index_t document;
  ISM_HOST_DEVICE constexpr index_t length() const noexcept { return end - begin; }
  friend bool operator==(const segment_span&, const segment_span&) = default;
};

// A document placed in the row: tokens [begin, end), segments [first_segment,
// end_segment) of layout::segments(). trailing_answer_begin is the start P of the
// maximal run of assistant segments at the document's end (end when the document
// ends with a context segment); the prefix paradigm needs it.
struct document_span {
  index_t begin;
  index_t end;
  index_t first_segment;
  index_t end_segment;
  index_t trailing_answer_begin;
  ISM_HOST_DEVICE constexpr index_t length() const noexcept { return end - begin; }
  friend bool operator==(const document_span&, const document_span&) = default;
};

class layout {
 public:
  // Exports store positions as int32 (docs/formats.md), so a row stays below 2^31 tokens.
  static constexpr index_t max_tokens = std::numeric_limits<std::int32_t>::max();

  // Throws layout_error naming the document and segment (0-based) at fault.
  explicit layout(const std::vector<std::vector<segment>>& documents) {
    if (documents.empty()) throw layout_error("layout has no document");
    for (std::size_t d = 0; d < documents.size(); ++d) {
      if (documents[d].empty())
        throw layout_error("document " + std::to_string(d) + " (0-based) has no segment");
      const index_t document_begin = size_;
      const auto first_segment = static_cast<index_t>(segments_.size());
      for (std::size_t s = 0; s < documents[d].size(); ++s) {
        const segment& seg = documents[d][s];
        const std::string where =
            "segment " + std::to_string(s) + " of document " + std::to_string(d) + " (0-based)";
        if (static_cast<unsigned>(seg.kind) > static_cast<unsigned>(role::assistant))
          throw layout_error(where + " has role value " +
                             std::to_string(static_cast<unsigned>(seg.kind)) +
                             ", which names no role");
        if (seg.length < 1)
          throw layout_error(where + " has length " + std::to_string(seg.length) +
                             "; a segment needs at least one token");
        if (seg.length > max_tokens - size_)
          throw layout_error(where + " makes the row longer than " + std::to_string(max_tokens) +
                             " tokens");
        segments_.push_back({seg.kind, size_, size_ + seg.length, static_cast<index_t>(d)});
        size_ += seg.length;
      }
      const auto end_segment = static_cast<index_t>(segments_.size());
      index_t trailing = end_segment;
      while (trailing > first_segment && is_answer(segments_[trailing - 1].kind)) --trailing;
      const index_t answer_begin = trailing == end_segment ? size_ : segments_[trailing].begin;
      documents_.push_back({document_begin, size_, first_segment, end_segment, answer_begin});
    }
  }

  // Number of tokens in the row.
  index_t size() const noexcept { return size_; }
  std::span<const document_span> documents() const noexcept { return documents_; }
  std::span<const segment_span> segments() const noexcept { return segments_; }

  // The declared form, document by document; layout(l.declared()) == l.
  std::vector<std::vector<segment>> declared() const {
    std::vector<std::vector<segment>> out;
    for (const document_span& doc : documents_) {
      auto& segs = out.emplace_back();
      for (index_t s = doc.first_segment; s < doc.end_segment; ++s)
        segs.push_back({segments_[s].kind, segments_[s].length()});
    }
    return out;
  }

  friend bool operator==(const layout& a, const layout& b) {
    return a.segments_ == b.segments_ && a.documents_ == b.documents_;
  }

 private:
  index_t size_ = 0;
  std::vector<segment_span> segments_;
  std::vector<document_span> documents_;
};

// Builds a layout in code:
//   layout l = layout_builder{}.system(6).user(5).assistant(7).next_document().user(4).build();
class layout_builder {
 public:
  layout_builder& add(role kind, index_t length) {
    documents_.back().push_back({kind, length});
    return *this;
  }
  layout_builder& system(index_t length) { return add(role::system, length); }
  layout_builder& user(index_t length) { return add(role::user, length); }
  layout_builder& tool(index_t length) { return add(role::tool, length); }
  layout_builder& assistant(index_t length) { return add(role::assistant, length); }
  layout_builder& next_document() {
    documents_.emplace_back();
    return *this;
  }
  // Validates everything declared so far; throws layout_error.
  layout build() const { return layout(documents_); }

 private:
  std::vector<std::vector<segment>> documents_{1};
};

}  // namespace v0
}  // namespace ism
