// Eigen/Core, as every ism header includes it. Eigen 3.4 marks defaulted special
// members __host__ __device__, which nvcc reports (#20012) in every translation
// unit that includes Eigen. ism uses Eigen on the host only, so that report is
// silenced for Eigen's own declarations and nowhere else.
#pragma once

#if defined(__NVCC__)
#pragma nv_diagnostic push
#pragma nv_diag_suppress 20012
#endif
#include <Eigen/Core>
#if defined(__NVCC__)
#pragma nv_diagnostic pop
#endif
