#pragma once
// Device memory for the host wrappers of the CUDA kernels (formats/cuda, sim/cuda): a
// buffer that frees itself, filled from and read back into host spans. Include only from
// .cu files (it needs the CUDA runtime).
#include <cuda_runtime.h>

#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>

namespace bitsim::formats::cuda {

inline void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw std::runtime_error(std::string("CUDA ") + what + ": " + cudaGetErrorString(status));
}

template <class T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(std::size_t n) : size_(n) {
    if (n) check(cudaMalloc(&data_, n * sizeof(T)), "cudaMalloc");
  }
  explicit DeviceBuffer(std::span<const T> host) : DeviceBuffer(host.size()) {
    if (size_) check(cudaMemcpy(data_, host.data(), size_ * sizeof(T), cudaMemcpyHostToDevice), "copy to device");
  }
  ~DeviceBuffer() { cudaFree(data_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* data() const { return data_; }
  std::size_t size() const { return size_; }
  void copy_to(std::span<T> host) const {
    if (size_) check(cudaMemcpy(host.data(), data_, size_ * sizeof(T), cudaMemcpyDeviceToHost), "copy to host");
  }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

// Blocks of 256 threads covering n items.
inline unsigned blocks_for(std::size_t n, unsigned threads = 256) { return unsigned((n + threads - 1) / threads); }

}  // namespace bitsim::formats::cuda
