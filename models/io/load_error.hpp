#pragma once
// The one exception type every weight-file reader throws: the message names the file, the
// offset or tensor at fault and what was expected, so a truncated download or a corrupt
// header is diagnosed without a debugger.
#include <stdexcept>
#include <string>

namespace bitsim::models {

class LoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace bitsim::models
