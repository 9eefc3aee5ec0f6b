// Helpers for the error-path tests: every error must name what is wrong and
// where, so tests read the message, not only the exception type.
#pragma once

#include <doctest/doctest.h>

#include <ism/errors.hpp>
#include <string>

// The message of the layout_error that f throws; fails the test when none.
template <class F>
std::string layout_error_message(F&& f) {
  try {
    f();
  } catch (const ism::layout_error& e) {
    return e.what();
  }
  FAIL("expected ism::layout_error");
  return {};
}

// The message of the E that f throws; fails the test when f throws nothing or
// something else.
template <class E, class F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (...) {
    FAIL("threw an exception of another type");
    return {};
  }
  FAIL("threw nothing");
  return {};
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}
