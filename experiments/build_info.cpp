#include "experiments/build_info.hpp"

#include <boost/version.hpp>
#include <fmt/core.h>
#include <hdf5.h>
#include <oneapi/tbb/version.h>

namespace bitsim::experiments {
namespace {

std::string compiler_name() {
#if defined(__clang__)
  return fmt::format("Clang {}.{}.{}", __clang_major__, __clang_minor__, __clang_patchlevel__);
#elif defined(__GNUC__)
  return fmt::format("GCC {}.{}.{}", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#else
  return "unknown compiler";
#endif
}

BuildInfo make_build_info() {
  BuildInfo info;
  info.version = BITSIM_VERSION;
  info.git_revision = BITSIM_GIT_REVISION;
  info.compiler = compiler_name();
#ifdef NDEBUG
  info.build_type = "optimised";
#else
  info.build_type = "debug";
#endif
  info.dependencies = {
      {"hdf5", fmt::format("{}.{}.{}", H5_VERS_MAJOR, H5_VERS_MINOR, H5_VERS_RELEASE)},
      {"boost", fmt::format("{}.{}.{}", BOOST_VERSION / 100000, BOOST_VERSION / 100 % 1000,
                            BOOST_VERSION % 100)},
      {"onetbb", fmt::format("{}.{}", TBB_VERSION_MAJOR, TBB_VERSION_MINOR)},
      {"fmt", fmt::format("{}", FMT_VERSION)},
  };
  return info;
}

}  // namespace

const BuildInfo& build_info() {
  static const BuildInfo info = make_build_info();
  return info;
}

}  // namespace bitsim::experiments
