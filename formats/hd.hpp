#pragma once
// BITSIM_HD marks the numeric core as callable from host and device code. Under nvcc it
// becomes __host__ __device__, so CUDA kernels and CPU kernels share one implementation
// of every rounding rule; elsewhere it is empty.
#if defined(__CUDACC__)
#define BITSIM_HD __host__ __device__
#else
#define BITSIM_HD
#endif
