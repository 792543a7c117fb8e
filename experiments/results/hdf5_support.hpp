#pragma once
// Small RAII and error helpers over the HDF5 C API, private to experiments/results/.
// HDF5's own error-stack printing is switched off; a failing call becomes an exception
// that names what we were doing and HDF5's innermost reason.
#include <hdf5.h>

#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace bitsim::experiments::hdf5 {

// The serial HDF5 library is not thread-safe: every use in bitsim holds this lock.
std::unique_lock<std::mutex> lock_library();

// Throws std::runtime_error("<what>: <HDF5's reason>") and clears HDF5's error stack.
[[noreturn]] void fail(const std::string& what);

inline hid_t check(hid_t id, const std::string& what) {
  if (id < 0) fail(what);
  return id;
}
inline void check_status(herr_t status, const std::string& what) {
  if (status < 0) fail(what);
}

// Owns one identifier (file, group, dataset, attribute, type, space, property list).
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  Handle(Handle&& other) noexcept : id_(other.id_) { other.id_ = -1; }
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = other.id_;
      other.id_ = -1;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }

  hid_t get() const { return id_; }
  hid_t release() {  // for calls whose failure must be seen (H5Fclose flushes)
    const hid_t id = id_;
    id_ = -1;
    return id;
  }
  operator hid_t() const { return id_; }  // NOLINT: handles pass straight to H5* calls
  void reset() {
    if (id_ >= 0) H5Idec_ref(id_);
    id_ = -1;
  }

 private:
  hid_t id_ = -1;
};

// A handle from a call that must succeed.
inline Handle make(hid_t id, const std::string& what) { return Handle(check(id, what)); }

// Fixed-length UTF-8 string type of `bytes` bytes, padded with NULs (numpy's 'S' dtype).
Handle fixed_string_type(std::size_t bytes);
// Variable-length UTF-8 string type (h5py reads it as str).
Handle variable_string_type();

// Attributes on any object. Strings are written variable-length UTF-8; the readers accept
// fixed- and variable-length strings and any integer type.
void write_attribute(hid_t object, const std::string& name, const std::string& value);
void write_attribute(hid_t object, const std::string& name, std::int64_t value);
// A 1-D int64 array (a shape) and a float64 scalar.
void write_attribute(hid_t object, const std::string& name, const std::vector<std::int64_t>& values);
void write_attribute(hid_t object, const std::string& name, double value);
bool has_attribute(hid_t object, const std::string& name);
std::string read_string_attribute(hid_t object, const std::string& name);
std::int64_t read_integer_attribute(hid_t object, const std::string& name);
std::vector<std::int64_t> read_integer_array_attribute(hid_t object, const std::string& name);
double read_real_attribute(hid_t object, const std::string& name);

}  // namespace bitsim::experiments::hdf5
