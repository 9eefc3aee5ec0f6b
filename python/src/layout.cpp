// ism.Layout: one packed row of documents (docs/semantics.md#layouts), from
// text, from (role, length) pairs, or from one role per token.
#include <nanobind/operators.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <ism/ism.hpp>

#include <functional>
#include <string>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"

namespace ism_python {
namespace {

constexpr const char* role_names = "'system', 'user', 'tool' or 'assistant' (or s, u, t, a)";

// A role given as a name (full or one letter) or as its id 0..3.
ism::role role_of(nb::handle h, const std::string& where) {
  if (nb::isinstance<nb::str>(h)) {
    const std::string name = nb::cast<std::string>(h);
    if (const auto r = ism::role_from_name(name)) return *r;
    throw ism::layout_error(where + " has role '" + name + "'; expected " + role_names);
  }
  if (nb::isinstance<nb::int_>(h)) {
    long long id = -1;  // an int beyond 64 bits is no role id either
    if (!nb::try_cast(h, id, false) || id < 0 ||
        id > static_cast<long long>(ism::role::assistant))
      throw ism::layout_error(where + " has role id " + nb::cast<std::string>(nb::str(h)) +
                              "; ids are 0 system, 1 user, 2 tool, 3 assistant");
    return static_cast<ism::role>(id);
  }
  throw ism::layout_error(where + " has a role of type " +
                          nb::cast<std::string>(nb::str(h.type().attr("__name__"))) +
                          "; expected a name (" + role_names + ") or an id 0..3");
}

bool is_pair(nb::handle h) {
  if (nb::isinstance<nb::str>(h) || !nb::isinstance<nb::sequence>(h) || nb::len(h) != 2)
    return false;
  const nb::handle first = h[0];
  return nb::isinstance<nb::str>(first) || nb::isinstance<nb::int_>(first);
}

ism::segment segment_of(nb::handle pair, const std::string& where) {
  if (!is_pair(pair))
    throw ism::layout_error(where + " is not a (role, length) pair");
  const nb::handle length = pair[1];
  if (!nb::isinstance<nb::int_>(length))
    throw ism::layout_error(where + " has a length that is not an integer");
  index_t n = 0;
  if (!nb::try_cast(length, n, false))  // beyond 64 bits: far past the row's limit
    throw ism::layout_error(where + " has length " + nb::cast<std::string>(nb::str(length)) +
                            "; a length is 1 to 2147483647");
  return {role_of(pair[0], where), n};
}

// [(role, length), ...] is one document; [[(role, length), ...], ...] several.
std::vector<std::vector<ism::segment>> declared_documents(nb::handle documents) {
  if (nb::isinstance<nb::str>(documents) || !nb::isinstance<nb::sequence>(documents))
    throw ism::layout_error(
        "a layout is declared as a list of (role, length) pairs, or a list of such lists "
        "(one per document); use Layout.parse for text");
  const nb::sequence seq = nb::borrow<nb::sequence>(documents);
  const std::size_t n = nb::len(seq);
  std::vector<std::vector<ism::segment>> out;
  if (n > 0 && is_pair(seq[0])) {
    auto& doc = out.emplace_back();
    for (std::size_t s = 0; s < n; ++s)
      doc.push_back(segment_of(seq[s], "segment " + std::to_string(s) + " (0-based)"));
    return out;
  }
  for (std::size_t d = 0; d < n; ++d) {
    const nb::handle item = seq[d];
    if (nb::isinstance<nb::str>(item) || !nb::isinstance<nb::sequence>(item))
      throw ism::layout_error("document " + std::to_string(d) +
                              " (0-based) is not a list of (role, length) pairs");
    auto& doc = out.emplace_back();
    for (std::size_t s = 0; s < nb::len(item); ++s)
      doc.push_back(segment_of(item[s], "segment " + std::to_string(s) + " of document " +
                                            std::to_string(d) + " (0-based)"));
  }
  return out;
}

// One role per token: an integer array of ids read in place, or any sequence
// of names or ids.
std::vector<ism::role> token_roles(nb::handle roles) {
  nb::ndarray<nb::ro, nb::device::cpu, nb::ndim<1>> ids;
  if (nb::try_cast(roles, ids, false)) {
    const auto code = static_cast<nb::dlpack::dtype_code>(ids.dtype().code);
    if (code == nb::dlpack::dtype_code::Int || code == nb::dlpack::dtype_code::UInt) {
      const nb::ndarray<nb::ro, nb::device::cpu, nb::ndim<1>, std::int64_t> wide =
          nb::cast<nb::ndarray<nb::ro, nb::device::cpu, nb::ndim<1>, std::int64_t>>(
              roles, true);
      std::vector<ism::role> out(wide.shape(0));
      for (std::size_t t = 0; t < out.size(); ++t) {
        const std::int64_t id = wide(t);
        if (id < 0 || id > static_cast<std::int64_t>(ism::role::assistant))
          throw ism::layout_error("token " + std::to_string(t) + " has role id " +
                                  std::to_string(id) +
                                  "; ids are 0 system, 1 user, 2 tool, 3 assistant");
        out[t] = static_cast<ism::role>(id);
      }
      return out;
    }
  }
  if (nb::isinstance<nb::str>(roles) || !nb::isinstance<nb::sequence>(roles))
    throw ism::layout_error("roles must be a 1-D integer array of role ids or a sequence of "
                            "role names or ids");
  std::vector<ism::role> out;
  for (std::size_t t = 0; t < nb::len(roles); ++t)
    out.push_back(role_of(roles[t], "token " + std::to_string(t)));
  return out;
}

ism::layout from_roles(nb::handle roles, std::optional<std::vector<index_t>> document_starts) {
  const std::vector<ism::role> per_token = token_roles(roles);
  const auto n = static_cast<index_t>(per_token.size());
  std::vector<index_t> bounds = document_starts.value_or(std::vector<index_t>{0});
  if (bounds.empty() || bounds.front() != 0)
    throw ism::layout_error("document_starts must begin with 0, the first document's start");
  bounds.push_back(n);
  return ism::layout_from_token_roles(per_token, bounds);
}

// Per-token values read off the segments, as an int32 array.
template <class F>
nb::ndarray<nb::numpy, std::int32_t> per_token(const ism::layout& l, F&& value) {
  std::vector<std::int32_t> out(static_cast<std::size_t>(l.size()));
  const auto segments = l.segments();
  for (std::size_t s = 0; s < segments.size(); ++s)
    for (index_t t = segments[s].begin; t < segments[s].end; ++t)
      out[static_cast<std::size_t>(t)] = static_cast<std::int32_t>(value(segments[s], s, t));
  return owned_array(std::move(out), {static_cast<std::size_t>(l.size())});
}

}  // namespace

void bind_layout(nb::module_& m) {
  nb::class_<ism::layout>(m, "Layout",
                          "One packed row of documents, each an ordered list of (role, length) "
                          "segments (docs/semantics.md#layouts). Immutable; valid once built.")
      .def("__init__",
           [](ism::layout* self, nb::handle documents) {
             new (self) ism::layout(declared_documents(documents));
           },
           nb::arg("documents"),
           "Layout([(role, length), ...]) for one document, or Layout([[(role, length), ...], "
           "...]) for several. A role is 'system', 'user', 'tool', 'assistant', a letter s/u/t/a, "
           "or an id 0..3. Raises LayoutError naming the segment at fault.")
      .def_static("parse", &ism::parse_layout, nb::arg("text"),
                  "Parses the text form, e.g. 'system:6, user:5, assistant:7 | user:4, "
                  "assistant:2' ('|' separates documents). Raises LayoutParseError with the "
                  "position.")
      .def_static("from_roles", &from_roles, nb::arg("roles"), nb::arg("document_starts") = nb::none(),
                  "A layout from one role per token (ids 0..3 as an integer array, or names), "
                  "what an engine holds after its chat template. document_starts lists each "
                  "document's first token, starting with 0 (one document when omitted). Each "
                  "maximal run of one role inside a document is one segment.")
      .def("__len__", &ism::layout::size, "Tokens in the row.")
      .def("__str__", &ism::to_text, "The text form; Layout.parse(str(l)) == l.")
      .def("__repr__", [](const ism::layout& l) { return "ism.Layout.parse('" + ism::to_text(l) + "')"; })
      .def(nb::self == nb::self)
      .def("__hash__", [](const ism::layout& l) { return std::hash<std::string>{}(ism::to_text(l)); })
      .def_prop_ro(
          "documents",
          [](const ism::layout& l) {
            std::vector<std::vector<std::tuple<std::string, index_t>>> out;
            for (const auto& doc : l.declared()) {
              auto& segs = out.emplace_back();
              for (const ism::segment& s : doc) segs.emplace_back(ism::role_name(s.kind), s.length);
            }
            return out;
          },
          "The declared form: one list of (role, length) pairs per document; "
          "Layout(l.documents) == l.")
      .def_prop_ro(
          "segments",
          [](const ism::layout& l) {
            std::vector<std::tuple<std::string, index_t, index_t, index_t>> out;
            for (const ism::segment_span& s : l.segments())
              out.emplace_back(ism::role_name(s.kind), s.begin, s.end, s.document);
            return out;
          },
          "Every segment as (role, begin, end, document): tokens [begin, end) of the row.")
      .def_prop_ro(
          "document_bounds",
          [](const ism::layout& l) {
            std::vector<std::int32_t> out{0};
            for (const ism::document_span& d : l.documents())
              out.push_back(static_cast<std::int32_t>(d.end));
            const std::size_t n = out.size();
            return owned_array(std::move(out), {n});
          },
          "int32 (D + 1,): each document's first token, then the row's length (cu_seqlens).", nb::rv_policy::move)
      .def_prop_ro(
          "roles",
          [](const ism::layout& l) {
            return per_token(l, [](const ism::segment_span& s, std::size_t, index_t) {
              return static_cast<int>(s.kind);
            });
          },
          "int32 (N,): each token's role id (0 system, 1 user, 2 tool, 3 assistant).", nb::rv_policy::move)
      .def_prop_ro(
          "segment_ids",
          [](const ism::layout& l) {
            return per_token(l, [](const ism::segment_span&, std::size_t s, index_t) { return s; });
          },
          "int32 (N,): each token's segment, numbered over the row from 0.", nb::rv_policy::move)
      .def_prop_ro(
          "document_ids",
          [](const ism::layout& l) {
            return per_token(l, [](const ism::segment_span& s, std::size_t, index_t) {
              return s.document;
            });
          },
          "int32 (N,): each token's document, from 0.", nb::rv_policy::move)
      .def_prop_ro(
          "positions",
          [](const ism::layout& l) {
            return per_token(l, [&l](const ism::segment_span& s, std::size_t, index_t t) {
              return t - l.documents()[static_cast<std::size_t>(s.document)].begin;
            });
          },
          "int32 (N,): each token's position inside its document (position_ids of a packed "
          "row).",
          nb::rv_policy::move);
  m.attr("ROLES") = nb::make_tuple("system", "user", "tool", "assistant");
}

}  // namespace ism_python
