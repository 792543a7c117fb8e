#include <cstdio>
#include "formats/format.hpp"
int main(int argc, char** argv) {
  using namespace bitsim::formats;
  for (int i = 1; i < argc; ++i) {
    auto f = Format::parse(argv[i]);
    std::printf("%s bits=%d max=%a minnorm=%a minsub=%a eps=%a codes=%llu\n", f.spec().c_str(), f.bits(), f.max_value(), f.min_normal(), f.min_subnormal(), f.epsilon(), (unsigned long long)f.finite_code_count());
  }
}
