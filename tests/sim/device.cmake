# sim/device.hpp (issue #7): device names and errors, DeviceScope, and the routes of
# fake_quantize / gemm to the device's kernels (a counting CPU stand-in: no GPU needed).
# In CUDA builds it also installs the real kernels and checks the no-GPU message.
bitsim_add_test(test_sim_device SOURCES ${PROJECT_SOURCE_DIR}/tests/cuda/test_device.cpp LABELS sim LIBS bitsim_sim)
if(BITSIM_HAVE_CUDA)
  target_link_libraries(test_sim_device PRIVATE bitsim_sim_cuda)
  target_compile_definitions(test_sim_device PRIVATE BITSIM_CUDA_BUILD=1)
endif()
