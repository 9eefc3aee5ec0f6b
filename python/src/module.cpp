// ism._ism: the library's headers compiled for Python. The package `ism`
// wraps it; users import `ism`, not this module.
#include "bindings.hpp"

namespace nb = nanobind;

NB_MODULE(_ism, m) {
  m.doc() = "ism's native core; import the package `ism` instead.";
  // Objects still referenced at interpreter exit (module globals of a program
  // that imported torch, whose teardown runs late) are not leaks worth a
  // warning to every user.
  nb::set_leak_warnings(false);
  ism_python::bind_errors(m);
  ism_python::bind_layout(m);
  ism_python::bind_paradigm(m);
  ism_python::bind_masks(m);
  ism_python::bind_exports(m);
  ism_python::bind_analyses(m);
  ism_python::bind_attention(m);
  ism_python::bind_plan(m);
}
