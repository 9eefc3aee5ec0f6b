// Attention on the CPU under a layout's mask: the tiled attention (float32 or
// bfloat16 inputs, float32 out) and the exact float64 reference. Inputs are
// read in place, NumPy arrays or CPU tensors alike, shaped (tokens, heads, dim).
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <ism/ism.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <thread>

#include "arrays.hpp"
#include "bindings.hpp"

namespace ism_python {
namespace {

using input = nb::ndarray<nb::ro, nb::device::cpu>;

// Q, K and V read as one dtype and three (tokens, heads, dim) shapes; throws
// argument_error or shape_error naming the tensor.
struct attention_inputs {
  ism::npy_array q, k, v;

  attention_inputs(const input& q_in, const input& k_in, const input& v_in) {
    q = checked(q_in, "Q");
    k = checked(k_in, "K");
    v = checked(v_in, "V");
    if (k.dtype != q.dtype || v.dtype != q.dtype)
      throw ism::argument_error("Q, K and V have dtypes " + dtype_names() +
                                "; they must share one");
  }

  template <class T>
  ism::head_tensor<T> tensor(const ism::npy_array& a) const {
    return {std::span<const T>(reinterpret_cast<const T*>(a.data.data()),
                               a.data.size() / sizeof(T)),
            a.shape[0], a.shape[1], a.shape[2]};
  }

 private:
  static ism::npy_array checked(const input& a, const std::string& name) {
    ism::npy_array out = read_array(a, name);
    if (out.shape.size() != 3)
      throw ism::shape_error(name + " has " + std::to_string(out.shape.size()) +
                             " dimensions; expected (tokens, heads, dim)");
    return out;
  }
  std::string dtype_names() const {
    return std::string(ism::npy_dtype_name(q.dtype)) + ", " +
           std::string(ism::npy_dtype_name(k.dtype)) + " and " +
           std::string(ism::npy_dtype_name(v.dtype));
  }
};

template <class T>
nb::tuple to_arrays(ism::basic_attention_output<T>&& out) {
  const auto t = static_cast<std::size_t>(out.tokens);
  const auto h = static_cast<std::size_t>(out.heads);
  const auto d = static_cast<std::size_t>(out.dim);
  return nb::make_tuple(owned_array(std::move(out.output), {t, h, d}),
                        owned_array(std::move(out.lse), {t, h}));
}

nb::tuple attention(const input& q_in, const input& k_in, const input& v_in,
                    const ism::layout& sequence, const ism::any_paradigm& paradigm,
                    std::optional<double> scale, std::optional<index_t> threads, index_t q_start,
                    index_t k_start) {
  const attention_inputs in(q_in, k_in, v_in);
  ism::attention_settings settings{scale, 1};
  settings.threads =
      threads.value_or(static_cast<index_t>(std::max(1u, std::thread::hardware_concurrency())));
  const ism::interval_mask m = paradigm.intervals(sequence);
  ism::tiled_attention_output out = [&] {
    const nb::gil_scoped_release unlocked;
    if (in.q.dtype == ism::npy_dtype::float32)
      return ism::tiled_attention(m, in.tensor<float>(in.q), in.tensor<float>(in.k),
                                  in.tensor<float>(in.v), q_start, k_start, settings);
    if (in.q.dtype == ism::npy_dtype::bfloat16)
      return ism::tiled_attention(m, in.tensor<Eigen::bfloat16>(in.q),
                                  in.tensor<Eigen::bfloat16>(in.k),
                                  in.tensor<Eigen::bfloat16>(in.v), q_start, k_start, settings);
    throw ism::argument_error("attention takes float32 or bfloat16 inputs, not " +
                              std::string(ism::npy_dtype_name(in.q.dtype)));
  }();
  return to_arrays(std::move(out));
}

nb::tuple reference_attention(const input& q_in, const input& k_in, const input& v_in,
                              const ism::layout& sequence, const ism::any_paradigm& paradigm,
                              std::optional<double> scale, index_t q_start, index_t k_start) {
  const attention_inputs in(q_in, k_in, v_in);
  if (in.q.dtype != ism::npy_dtype::float64)
    throw ism::argument_error("reference_attention takes float64 inputs, not " +
                              std::string(ism::npy_dtype_name(in.q.dtype)));
  const ism::interval_mask m = paradigm.intervals(sequence);
  ism::attention_output out = [&] {
    const nb::gil_scoped_release unlocked;
    return ism::reference_attention(m, in.tensor<double>(in.q), in.tensor<double>(in.k),
                                    in.tensor<double>(in.v), q_start, k_start, scale);
  }();
  return to_arrays(std::move(out));
}

}  // namespace

void bind_attention(nb::module_& m) {
  m.def("attention", &attention, nb::arg("q"), nb::arg("k"), nb::arg("v"), nb::arg("layout"),
        nb::arg("paradigm"), nb::kw_only(), nb::arg("scale") = nb::none(),
        nb::arg("threads") = nb::none(), nb::arg("q_start") = 0, nb::arg("k_start") = 0,
        "(output float32 (Nq, H, D), lse float32 (Nq, H)) of the tiled attention.");
  m.def("reference_attention", &reference_attention, nb::arg("q"), nb::arg("k"), nb::arg("v"),
        nb::arg("layout"), nb::arg("paradigm"), nb::kw_only(), nb::arg("scale") = nb::none(),
        nb::arg("q_start") = 0, nb::arg("k_start") = 0,
        "(output float64, lse float64) of the exact reference attention, from float64 inputs.");
}

}  // namespace ism_python
