// The parts of the native module ism._ism, one function per header of the
// library they expose; module.cpp calls them in order.
#pragma once

#include <nanobind/nanobind.h>

namespace ism_python {

namespace nb = nanobind;

void bind_errors(nb::module_& m);
void bind_layout(nb::module_& m);
void bind_paradigm(nb::module_& m);
void bind_masks(nb::module_& m);
void bind_exports(nb::module_& m);
void bind_analyses(nb::module_& m);
void bind_attention(nb::module_& m);
void bind_plan(nb::module_& m);

}  // namespace ism_python
