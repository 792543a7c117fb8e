// Tensor is header-only; this unit checks that the header stands on its own.
#include "sim/tensor.hpp"
