// Compile-only check that the on-the-fly masks work in device code: this machine
// and CI have nvcc but no GPU, so a kernel that builds is what can be proven here.
#include <ism/composition.hpp>
#include <ism/interval_view.hpp>

// One thread per (query, key) pair of an n x n mask.
template <class Mask>
__global__ void fill_dense(Mask mask, ism::index_t n, bool* out) {
  const ism::index_t q = blockIdx.x;
  const ism::index_t k = threadIdx.x;
  if (q < n && k < n) out[q * n + k] = mask.visible(q, k);
}

template __global__ void fill_dense<ism::interval_view>(ism::interval_view, ism::index_t, bool*);
template __global__ void fill_dense<ism::and_mask<ism::interval_view, ism::sliding_window>>(
    ism::and_mask<ism::interval_view, ism::sliding_window>, ism::index_t, bool*);
