// ism.Paradigm: a paradigm of the process-wide registry, by name ("causal",
// "prefix", "ism", "bidirectional", "bidirectional-roles:ROLE[,ROLE...]" or
// one a C++ user added). The package's functions take the name as well.
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <ism/ism.hpp>

#include <functional>
#include <string>
#include <vector>

#include "bindings.hpp"

namespace ism_python {
namespace {

// {"tool", "user"} -> the registry's family name "bidirectional-roles:tool,user".
ism::any_paradigm with_bidirectional_roles(nb::handle roles) {
  if (nb::isinstance<nb::str>(roles) || !nb::isinstance<nb::iterable>(roles))
    throw ism::unknown_paradigm_error(
        "bidirectional_roles must be a collection of role names, such as {'tool'}");
  std::string name(ism::bidirectional_roles::name);
  char separator = ':';
  for (nb::handle r : roles) {
    if (!nb::isinstance<nb::str>(r))
      throw ism::unknown_paradigm_error("bidirectional_roles holds a " +
                                        nb::cast<std::string>(nb::str(r.type().attr("__name__"))) +
                                        "; expected role names");
    name += separator;
    name += nb::cast<std::string>(r);
    separator = ',';
  }
  if (separator == ':')
    throw ism::unknown_paradigm_error(
        "bidirectional_roles is empty; list at least one role (with none, the paradigm is "
        "'causal')");
  return ism::paradigm_from_name(name);
}

}  // namespace

void bind_paradigm(nb::module_& m) {
  nb::class_<ism::any_paradigm>(
      m, "Paradigm",
      "A masking paradigm (docs/semantics.md#paradigms-and-the-segment-function), chosen by "
      "name. Anywhere a Paradigm is taken, its name is accepted too.")
      .def("__init__",
           [](ism::any_paradigm* self, const std::string& name) {
             new (self) ism::any_paradigm(ism::paradigm_from_name(name));
           },
           nb::arg("name"),
           "Paradigm('ism'): causal, prefix, ism, bidirectional, or "
           "bidirectional-roles:ROLE[,ROLE...]. Raises UnknownParadigmError listing the names.")
      .def("__init__",
           [](ism::any_paradigm* self, nb::handle bidirectional_roles) {
             new (self) ism::any_paradigm(with_bidirectional_roles(bidirectional_roles));
           },
           nb::kw_only(), nb::arg("bidirectional_roles"),
           "Paradigm(bidirectional_roles={'tool'}): segments of these roles are bidirectional "
           "blocks, every other token is causal; {'system', 'user', 'tool'} is ism.")
      .def_prop_ro("name", [](const ism::any_paradigm& p) { return std::string(p.name()); },
                   "The name it is registered under.")
      .def("__str__", [](const ism::any_paradigm& p) { return std::string(p.name()); })
      .def("__repr__",
           [](const ism::any_paradigm& p) { return "ism.Paradigm('" + std::string(p.name()) + "')"; })
      .def("__eq__", [](const ism::any_paradigm& a, const ism::any_paradigm& b) { return a == b; })
      .def("__hash__",
           [](const ism::any_paradigm& p) { return std::hash<std::string_view>{}(p.name()); });

  m.def(
      "paradigm_names",
      [] {
        std::vector<std::string> names;
        for (const ism::any_paradigm& p : ism::paradigms().all()) names.emplace_back(p.name());
        return names;
      },
      "The registered paradigms' names (the bidirectional-roles family is not listed).");
}

}  // namespace ism_python
