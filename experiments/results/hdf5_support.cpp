#include "experiments/results/hdf5_support.hpp"

#include <cstdlib>
#include <vector>

namespace bitsim::experiments::hdf5 {

std::unique_lock<std::mutex> lock_library() {
  static std::mutex mutex;
  std::unique_lock<std::mutex> lock(mutex);
  // Silence the default handler, which prints HDF5's error stack on stderr: failures
  // reach the user once, as an exception with a message (fail() below). Set on every
  // entry: a thread-safe HDF5 build keeps this setting per thread.
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  return lock;
}

namespace {

// The innermost (most specific) entry of HDF5's error stack: the reason, not the API name.
herr_t keep_innermost(unsigned position, const H5E_error2_t* error, void* data) {
  if (position != 0) return 0;
  auto& reason = *static_cast<std::string*>(data);
  char minor[256] = "";
  H5Eget_msg(error->min_num, nullptr, minor, sizeof minor);
  reason = error->desc != nullptr ? error->desc : "";
  if (minor[0] != '\0') reason += reason.empty() ? minor : std::string(" (") + minor + ")";
  return 0;
}

}  // namespace

void fail(const std::string& what) {
  std::string reason;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, keep_innermost, &reason);
  H5Eclear2(H5E_DEFAULT);
  throw std::runtime_error(reason.empty() ? what : what + ": " + reason);
}

Handle fixed_string_type(std::size_t bytes) {
  Handle type = make(H5Tcopy(H5T_C_S1), "copying the string type");
  check_status(H5Tset_size(type, bytes == 0 ? 1 : bytes), "sizing a string type");
  check_status(H5Tset_cset(type, H5T_CSET_UTF8), "setting UTF-8");
  check_status(H5Tset_strpad(type, H5T_STR_NULLPAD), "setting NUL padding");
  return type;
}

Handle variable_string_type() {
  Handle type = make(H5Tcopy(H5T_C_S1), "copying the string type");
  check_status(H5Tset_size(type, H5T_VARIABLE), "making a variable-length string type");
  check_status(H5Tset_cset(type, H5T_CSET_UTF8), "setting UTF-8");
  return type;
}

void write_attribute(hid_t object, const std::string& name, const std::string& value) {
  const Handle type = variable_string_type();
  const Handle space = make(H5Screate(H5S_SCALAR), "creating a scalar space");
  const Handle attribute =
      make(H5Acreate2(object, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), "creating attribute " + name);
  const char* text = value.c_str();
  check_status(H5Awrite(attribute, type, &text), "writing attribute " + name);
}

void write_attribute(hid_t object, const std::string& name, std::int64_t value) {
  const Handle space = make(H5Screate(H5S_SCALAR), "creating a scalar space");
  const Handle attribute = make(H5Acreate2(object, name.c_str(), H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT),
                                "creating attribute " + name);
  check_status(H5Awrite(attribute, H5T_NATIVE_INT64, &value), "writing attribute " + name);
}

void write_attribute(hid_t object, const std::string& name, const std::vector<std::int64_t>& values) {
  const hsize_t dims[1] = {values.size()};
  const Handle space = make(H5Screate_simple(1, dims, nullptr), "creating an array space");
  const Handle attribute = make(H5Acreate2(object, name.c_str(), H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT),
                                "creating attribute " + name);
  if (!values.empty()) check_status(H5Awrite(attribute, H5T_NATIVE_INT64, values.data()), "writing attribute " + name);
}

void write_attribute(hid_t object, const std::string& name, double value) {
  const Handle space = make(H5Screate(H5S_SCALAR), "creating a scalar space");
  const Handle attribute = make(H5Acreate2(object, name.c_str(), H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT),
                                "creating attribute " + name);
  check_status(H5Awrite(attribute, H5T_NATIVE_DOUBLE, &value), "writing attribute " + name);
}

bool has_attribute(hid_t object, const std::string& name) {
  const htri_t exists = H5Aexists(object, name.c_str());
  if (exists < 0) fail("looking for attribute " + name);
  return exists > 0;
}

namespace {

Handle open_attribute(hid_t object, const std::string& name) {
  if (!has_attribute(object, name)) throw std::runtime_error("attribute '" + name + "' is missing");
  return make(H5Aopen(object, name.c_str(), H5P_DEFAULT), "opening attribute " + name);
}

void require_scalar(hid_t attribute, const std::string& name) {
  const Handle space = make(H5Aget_space(attribute), "reading the shape of attribute " + name);
  if (H5Sget_simple_extent_type(space) != H5S_SCALAR) {
    throw std::runtime_error("attribute '" + name + "' is not a single value");
  }
}

}  // namespace

std::string read_string_attribute(hid_t object, const std::string& name) {
  const Handle attribute = open_attribute(object, name);
  require_scalar(attribute, name);
  const Handle stored = make(H5Aget_type(attribute), "reading the type of attribute " + name);
  if (H5Tget_class(stored) != H5T_STRING) throw std::runtime_error("attribute '" + name + "' is not text");
  const htri_t variable = H5Tis_variable_str(stored);
  if (variable < 0) fail("reading the type of attribute " + name);
  if (variable > 0) {
    const Handle type = variable_string_type();
    char* text = nullptr;
    check_status(H5Aread(attribute, type, &text), "reading attribute " + name);
    std::string value = text != nullptr ? text : "";
    H5free_memory(text);
    return value;
  }
  const std::size_t size = H5Tget_size(stored);
  const Handle type = fixed_string_type(size);
  std::vector<char> buffer(size + 1, '\0');
  check_status(H5Aread(attribute, type, buffer.data()), "reading attribute " + name);
  return std::string(buffer.data());  // up to the first NUL (padding)
}

std::int64_t read_integer_attribute(hid_t object, const std::string& name) {
  const Handle attribute = open_attribute(object, name);
  require_scalar(attribute, name);
  const Handle stored = make(H5Aget_type(attribute), "reading the type of attribute " + name);
  if (H5Tget_class(stored) != H5T_INTEGER) throw std::runtime_error("attribute '" + name + "' is not an integer");
  std::int64_t value = 0;
  check_status(H5Aread(attribute, H5T_NATIVE_INT64, &value), "reading attribute " + name);
  return value;
}

}  // namespace bitsim::experiments::hdf5

namespace bitsim::experiments::hdf5 {

std::vector<std::int64_t> read_integer_array_attribute(hid_t object, const std::string& name) {
  const Handle attribute = open_attribute(object, name);
  const Handle stored = make(H5Aget_type(attribute), "reading the type of attribute " + name);
  if (H5Tget_class(stored) != H5T_INTEGER) throw std::runtime_error("attribute '" + name + "' is not integers");
  const Handle space = make(H5Aget_space(attribute), "reading the shape of attribute " + name);
  if (H5Sget_simple_extent_ndims(space) != 1) throw std::runtime_error("attribute '" + name + "' is not a 1-D array");
  const hssize_t count = H5Sget_simple_extent_npoints(space);
  if (count < 0) fail("reading the size of attribute " + name);
  std::vector<std::int64_t> values(std::size_t(count), 0);
  if (count > 0) check_status(H5Aread(attribute, H5T_NATIVE_INT64, values.data()), "reading attribute " + name);
  return values;
}

double read_real_attribute(hid_t object, const std::string& name) {
  const Handle attribute = open_attribute(object, name);
  require_scalar(attribute, name);
  const Handle stored = make(H5Aget_type(attribute), "reading the type of attribute " + name);
  if (H5Tget_class(stored) != H5T_FLOAT) throw std::runtime_error("attribute '" + name + "' is not a real number");
  double value = 0;
  check_status(H5Aread(attribute, H5T_NATIVE_DOUBLE, &value), "reading attribute " + name);
  return value;
}

}  // namespace bitsim::experiments::hdf5
