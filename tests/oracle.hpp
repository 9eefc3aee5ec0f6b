// A brute-force oracle written straight from docs/semantics.md. It shares nothing with the
// library but the input types (ism::layout, ism::segment, ism::role): it reads the
// declared segments, rebuilds per-token facts with its own loops and answers every
// question by the definitions of docs/semantics.md, visiting every (q, k) pair. Slow on purpose.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ism/layout.hpp>
#include <ism/role.hpp>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oracle {

using index = std::int64_t;
using declared_layout = std::vector<std::vector<ism::segment>>;

// docs/semantics.md#layouts: system, user, tool are context roles; assistant is the answer.
inline bool is_answer_role(ism::role r) {
  return r == ism::role::assistant;
}

// What docs/semantics.md#paradigms-and-the-segment-function needs to know about one token.
struct token {
  index document;   // 0-based document number
  index doc_begin;  // d0
  index doc_end;    // d1
  index seg_begin;  // s0
  index seg_end;    // s1
  ism::role kind;
  index trailing_begin;  // P: start of the document's trailing run of assistant segments
};

// One segment with its absolute position.
struct placed_segment {
  ism::role kind;
  index begin;
  index end;
  index document;
  index index_in_document;
};

struct row {
  declared_layout declared;
  std::vector<token> tokens;                       // (N,)
  std::vector<placed_segment> segments;            // in row order
  std::vector<std::pair<index, index>> documents;  // [begin, end)
  index size() const { return static_cast<index>(tokens.size()); }
};

inline row describe(const declared_layout& declared) {
  row out;
  out.declared = declared;
  index position = 0;
  for (std::size_t d = 0; d < declared.size(); ++d) {
    const index doc_begin = position;
    index doc_end = doc_begin;
    for (const ism::segment& s : declared[d]) doc_end += s.length;
    // P: walk back over assistant segments from the end.
    index trailing = doc_end;
    for (std::size_t s = declared[d].size(); s-- > 0;) {
      if (!is_answer_role(declared[d][s].kind)) break;
      trailing -= declared[d][s].length;
    }
    for (std::size_t s = 0; s < declared[d].size(); ++s) {
      const ism::segment& seg = declared[d][s];
      out.segments.push_back({seg.kind, position, position + seg.length, static_cast<index>(d),
                              static_cast<index>(s)});
      for (index i = 0; i < seg.length; ++i)
        out.tokens.push_back({static_cast<index>(d), doc_begin, doc_end, position,
                              position + seg.length, seg.kind, trailing});
      position += seg.length;
    }
    out.documents.emplace_back(doc_begin, doc_end);
  }
  return out;
}

inline row describe(const ism::layout& l) {
  return describe(l.declared());
}

// docs/semantics.md#paradigms-and-the-segment-function, the table, row by row. lo is d0 in every row of the table.
inline index lo_of(std::string_view /*paradigm*/, const row& r, index q) {
  return r.tokens[static_cast<std::size_t>(q)].doc_begin;
}

// docs/semantics.md#paradigms-and-the-segment-function, bidirectional-roles:ROLE[,ROLE...]: whether `list` (full
// role names separated by commas) names the role `kind`.
inline bool role_listed(std::string_view list, ism::role kind) {
  static constexpr std::string_view names[] = {"system", "user", "tool", "assistant"};
  const std::string_view name = names[static_cast<int>(kind)];
  for (std::size_t at = 0; at <= list.size();) {
    const std::size_t comma = std::min(list.find(',', at), list.size());
    if (list.substr(at, comma - at) == name) return true;
    at = comma + 1;
  }
  return false;
}

inline constexpr std::string_view roles_paradigm = "bidirectional-roles:";

inline index hi_of(std::string_view paradigm, const row& r, index q) {
  const token& t = r.tokens[static_cast<std::size_t>(q)];
  if (paradigm == "causal") return q;
  if (paradigm == "bidirectional") return t.doc_end - 1;
  if (paradigm == "prefix") return q > t.trailing_begin - 1 ? q : t.trailing_begin - 1;
  if (paradigm == "ism") return is_answer_role(t.kind) ? q : t.seg_end - 1;
  if (paradigm.starts_with(roles_paradigm))
    return role_listed(paradigm.substr(roles_paradigm.size()), t.kind) ? t.seg_end - 1 : q;
  throw std::logic_error("oracle: unknown paradigm " + std::string(paradigm));
}

inline bool visible(std::string_view paradigm, const row& r, index q, index k) {
  return lo_of(paradigm, r, q) <= k && k <= hi_of(paradigm, r, q);
}

// The table evaluated once per token, for loops over many (q, k) pairs.
struct mask {
  std::vector<index> lo;  // (N,)
  std::vector<index> hi;  // (N,)
  bool visible(index q, index k) const {
    return lo[static_cast<std::size_t>(q)] <= k && k <= hi[static_cast<std::size_t>(q)];
  }
};

inline mask mask_of(std::string_view paradigm, const row& r) {
  mask out;
  for (index q = 0; q < r.size(); ++q) {
    out.lo.push_back(lo_of(paradigm, r, q));
    out.hi.push_back(hi_of(paradigm, r, q));
  }
  return out;
}

// Row-major (N, N) matrix of visible(q, k).
inline std::vector<std::vector<bool>> dense(std::string_view paradigm, const row& r) {
  const index n = r.size();
  std::vector<std::vector<bool>> out(static_cast<std::size_t>(n),
                                     std::vector<bool>(static_cast<std::size_t>(n)));
  const mask m = mask_of(paradigm, r);
  for (index q = 0; q < n; ++q)
    for (index k = 0; k < n; ++k) out[q][k] = m.visible(q, k);
  return out;
}

// The largest visible key of row q found by scanning, -1 when none.
inline index scanned_hi(const std::vector<std::vector<bool>>& m, index q) {
  index hi = -1;
  for (std::size_t k = 0; k < m[q].size(); ++k)
    if (m[q][k]) hi = static_cast<index>(k);
  return hi;
}

inline index count_visible(const std::vector<std::vector<bool>>& m) {
  index pairs = 0;
  for (const auto& line : m)
    for (bool v : line) pairs += v;
  return pairs;
}

// docs/semantics.md#label-positions-and-leakage: position q has a target q + 1 in an assistant
// segment of its document; it is trainable when it does not see that target.
struct labels {
  std::vector<bool> trainable;  // (N,)
  std::vector<index> leaking;   // ascending
  index answer_targets = 0;
};

inline labels label_mask(const row& r, const std::vector<std::vector<bool>>& m) {
  labels out;
  out.trainable.assign(static_cast<std::size_t>(r.size()), false);
  for (index q = 0; q + 1 < r.size(); ++q) {
    const token& here = r.tokens[q];
    const token& next = r.tokens[q + 1];
    if (next.document != here.document || !is_answer_role(next.kind)) continue;
    ++out.answer_targets;
    if (scanned_hi(m, q) <= q)
      out.trainable[q] = true;
    else
      out.leaking.push_back(q);
  }
  return out;
}

// docs/semantics.md#reusable-kv-prefix: the largest r <= len(A) such that every j < r
// sees the same keys in A and B and sees nothing at or past r. Tries every r.
inline index reusable_prefix(const std::vector<std::vector<bool>>& a,
                             const std::vector<std::vector<bool>>& b) {
  const index len_a = static_cast<index>(a.size());
  std::vector<bool> same_row(a.size());
  std::vector<index> reach(a.size());
  for (index j = 0; j < len_a; ++j) {
    bool same = true;
    for (std::size_t k = 0; k < b[j].size(); ++k)
      if ((k < a[j].size() && a[j][k]) != b[j][k]) same = false;
    same_row[j] = same;
    reach[j] = scanned_hi(a, j);
  }
  for (index r = len_a; r > 0; --r) {
    bool ok = true;
    for (index j = 0; j < r && ok; ++j) ok = same_row[j] && reach[j] < r;
    if (ok) return r;
  }
  return 0;
}

// docs/semantics.md#density: pairs visible over N x N, and per document (pairs
// whose query lies in the document, over its length squared).
struct density_counts {
  index row_pairs = 0;
  std::vector<index> document_pairs;
};

inline density_counts density(const row& r, const std::vector<std::vector<bool>>& m) {
  density_counts out;
  out.document_pairs.assign(r.documents.size(), 0);
  for (index q = 0; q < r.size(); ++q)
    for (index k = 0; k < r.size(); ++k)
      if (m[q][k]) {
        ++out.row_pairs;
        ++out.document_pairs[static_cast<std::size_t>(r.tokens[q].document)];
      }
  return out;
}

// docs/semantics.md#training-cost. causal and ism train in one pass; prefix one
// sample per assistant segment, the document cut at its end. bidirectional follows
// the library's documented rule: one pass when no answer target leaks in the
// row, per answer otherwise.
struct training {
  bool one_pass = true;
  index samples = 0;
  index tokens = 0;
  index pairs = 0;
  index answer_segments = 0;
  index untrainable_segments = 0;
};

// An answer segment whose targets are not all trainable.
inline bool segment_untrainable(const row& r, const labels& l, const placed_segment& s) {
  const index doc_begin = r.documents[static_cast<std::size_t>(s.document)].first;
  for (index t = s.begin; t < s.end; ++t)
    if (t > doc_begin && !l.trainable[t - 1]) return true;
  return false;
}

inline training training_cost(std::string_view paradigm, const row& r) {
  training out;
  const auto m = dense(paradigm, r);
  const labels l = label_mask(r, m);
  for (const placed_segment& s : r.segments) out.answer_segments += is_answer_role(s.kind);
  if (paradigm == "prefix")
    out.one_pass = false;
  else if (paradigm == "bidirectional")
    out.one_pass = l.leaking.empty();
  if (out.one_pass) {
    out.samples = 1;
    out.tokens = r.size();
    out.pairs = count_visible(m);
    for (const placed_segment& s : r.segments)
      if (is_answer_role(s.kind) && segment_untrainable(r, l, s)) ++out.untrainable_segments;
    return out;
  }
  for (const placed_segment& s : r.segments) {
    if (!is_answer_role(s.kind)) continue;
    const auto& doc = r.declared[static_cast<std::size_t>(s.document)];
    declared_layout cut{
        std::vector<ism::segment>(doc.begin(), doc.begin() + s.index_in_document + 1)};
    const row sample = describe(cut);
    const auto sm = dense(paradigm, sample);
    ++out.samples;
    out.tokens += sample.size();
    out.pairs += count_visible(sm);
    out.untrainable_segments +=
        segment_untrainable(sample, label_mask(sample, sm), sample.segments.back());
  }
  return out;
}

// docs/semantics.md#numerics-of-attention: O = softmax(scale Q K^T + M) V per head in long double. Q is
// (Lq, H, D), K and V (Lk, Hkv, D), row-major; query row i is position q0 + i and
// key row j position k0 + j. A row that sees nothing gives zeros and lse -inf.
struct attention {
  std::vector<long double> output;  // (Lq, H, D)
  std::vector<long double> lse;     // (Lq, H)
};

template <class Visible>
attention attend(Visible&& vis, const std::vector<double>& q, const std::vector<double>& k,
                 const std::vector<double>& v, index lq, index lk, index heads, index kv_heads,
                 index dim, index q0, index k0, long double scale) {
  attention out;
  out.output.assign(static_cast<std::size_t>(lq * heads * dim), 0.0L);
  out.lse.assign(static_cast<std::size_t>(lq * heads), 0.0L);
  const index per_kv = heads / kv_heads;
  for (index i = 0; i < lq; ++i)
    for (index h = 0; h < heads; ++h) {
      const index g = h / per_kv;
      std::vector<long double> logit(static_cast<std::size_t>(lk));
      std::vector<bool> seen(static_cast<std::size_t>(lk));
      long double top = -std::numeric_limits<long double>::infinity();
      for (index j = 0; j < lk; ++j) {
        seen[j] = vis(q0 + i, k0 + j);
        if (!seen[j]) continue;
        long double dot = 0.0L;
        for (index d = 0; d < dim; ++d)
          dot += static_cast<long double>(q[(i * heads + h) * dim + d]) *
                 static_cast<long double>(k[(j * kv_heads + g) * dim + d]);
        logit[j] = scale * dot;
        if (logit[j] > top) top = logit[j];
      }
      if (top == -std::numeric_limits<long double>::infinity()) {
        out.lse[i * heads + h] = top;
        continue;
      }
      long double sum = 0.0L;
      for (index j = 0; j < lk; ++j)
        if (seen[j]) sum += std::exp(logit[j] - top);
      for (index j = 0; j < lk; ++j) {
        if (!seen[j]) continue;
        const long double p = std::exp(logit[j] - top) / sum;
        for (index d = 0; d < dim; ++d)
          out.output[(i * heads + h) * dim + d] +=
              p * static_cast<long double>(v[(j * kv_heads + g) * dim + d]);
      }
      out.lse[i * heads + h] = top + std::log(sum);
    }
  return out;
}

}  // namespace oracle
