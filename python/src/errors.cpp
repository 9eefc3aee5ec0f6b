// Every library error reaches Python as the class of the same name in
// ism.errors (ism::layout_error as ism.LayoutError, ...), with the library's
// message, so `except ism.Error` catches all of them and `except ValueError`
// the bad-input ones.
#include <ism/ism.hpp>

#include <exception>

#include "bindings.hpp"

namespace ism_python {
namespace {

// The class is looked up when raised, so the module imports without the
// package (stub generation imports ism._ism alone).
void raise(const char* name, const std::exception& e) {
  const nb::object cls = nb::module_::import_("ism.errors").attr(name);
  PyErr_SetString(cls.ptr(), e.what());
}

void translate(const std::exception_ptr& p, void*) {
  // Most derived first: layout_parse_error is a layout_error.
  try {
    std::rethrow_exception(p);
  } catch (const ism::layout_parse_error& e) {
    raise("LayoutParseError", e);
  } catch (const ism::layout_error& e) {
    raise("LayoutError", e);
  } catch (const ism::unknown_paradigm_error& e) {
    raise("UnknownParadigmError", e);
  } catch (const ism::paradigm_error& e) {
    raise("ParadigmError", e);
  } catch (const ism::shape_error& e) {
    raise("ShapeError", e);
  } catch (const ism::argument_error& e) {
    raise("ArgumentError", e);
  } catch (const ism::block_mask_mismatch& e) {
    raise("BlockMaskMismatch", e);
  } catch (const ism::unknown_format_error& e) {
    raise("UnknownFormatError", e);
  } catch (const ism::format_error& e) {
    raise("FormatError", e);
  } catch (const ism::overflow_error& e) {
    raise("OverflowError", e);
  } catch (const ism::io_error& e) {
    raise("IOError", e);
  }
}

}  // namespace

void bind_errors(nb::module_&) { nb::register_exception_translator(translate); }

}  // namespace ism_python
