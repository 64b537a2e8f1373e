// safe_open's native half: a SafetensorsFile (pread, no mapping) whose tensors
// and slices are read into new NumPy byte arrays; the Python side gives them
// their dtype and shape. A slice reads only the byte runs it selects.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <tuple>
#include <vector>

#include "hubload/safetensors.h"
#include "python/bindings.h"

namespace hubload::python_internal {
namespace {

struct DimRange {
  std::uint64_t start = 0, count = 0, step = 1;
};

struct FileRun {
  std::uint64_t offset = 0, length = 0;
};

// The file byte runs of a strided selection, in output order: the dims after
// the last one that is not selected whole are contiguous, so each run covers
// them at once (and all of that last dim when its step is 1).
std::vector<FileRun> slice_runs(const TensorInfo& info, const std::vector<DimRange>& dims) {
  const std::size_t n = info.shape.size();
  const std::uint64_t element = dtype_bits(info.dtype) / 8;
  std::vector<std::uint64_t> stride(n, element);
  for (std::size_t k = n; k-- > 1;) stride[k - 1] = stride[k] * info.shape[k];
  std::size_t last = n;  // last dim not selected whole; n: none
  for (std::size_t k = 0; k < n; ++k) {
    if (dims[k].count == 0) return {};
    if (dims[k].start != 0 || dims[k].count != info.shape[k] || dims[k].step != 1) last = k;
  }
  std::vector<FileRun> runs;
  auto add = [&runs](std::uint64_t first, std::uint64_t length) {
    if (!runs.empty() && runs.back().offset + runs.back().length == first) {
      runs.back().length += length;
    } else {
      runs.push_back({first, length});
    }
  };
  if (last == n) {
    if (info.size > 0) add(info.offset, info.size);
    return runs;
  }
  const std::uint64_t inner = stride[last];
  std::vector<std::uint64_t> index(last, 0);  // position within each outer dim's selection
  while (true) {
    std::uint64_t base = info.offset;
    for (std::size_t k = 0; k < last; ++k) base += (dims[k].start + index[k] * dims[k].step) * stride[k];
    const DimRange& d = dims[last];
    if (d.step == 1) {
      add(base + d.start * inner, d.count * inner);
    } else {
      for (std::uint64_t i = 0; i < d.count; ++i) add(base + (d.start + i * d.step) * inner, inner);
    }
    std::size_t k = last;
    while (k > 0 && ++index[k - 1] == dims[k - 1].count) index[--k] = 0;
    if (k == 0) break;
  }
  return runs;
}

class NativeSafeFile {
 public:
  explicit NativeSafeFile(SafetensorsFile file) : file_(std::move(file)) {}

  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    for (const TensorInfo& t : file_.tensors()) out.push_back(t.name);
    return out;
  }
  const std::map<std::string, std::string>& metadata() const { return file_.metadata(); }
  py::tuple info(const std::string& name) const {
    const TensorInfo* t = value_or_raise(file_.tensor(name), "safetensors");
    return py::make_tuple(std::string(to_string(t->dtype)), t->shape);
  }

  py::array_t<std::uint8_t> read(const std::string& name) const {
    const TensorInfo* t = value_or_raise(file_.tensor(name), "safetensors");
    py::array_t<std::uint8_t> out(static_cast<py::ssize_t>(t->size));
    std::span<std::byte> bytes(reinterpret_cast<std::byte*>(out.mutable_data()), t->size);
    Status status = [&] {
      py::gil_scoped_release release;
      return file_.read_tensor(*t, bytes);
    }();
    value_or_raise(std::move(status), "safetensors");
    return out;
  }

  // `dims`: (start, count, step) per dim, already bounded by the Python side.
  py::array_t<std::uint8_t> read_slice(const std::string& name,
                                       const std::vector<std::tuple<std::uint64_t, std::uint64_t, std::uint64_t>>& dims) const {
    const TensorInfo* t = value_or_raise(file_.tensor(name), "safetensors");
    if (dims.size() != t->shape.size()) {
      raise_error(invalid_input(file_.path().string() + ": tensor '" + name + "' has " +
                                std::to_string(t->shape.size()) + " dims, the slice names " +
                                std::to_string(dims.size())),
                  "safetensors");
    }
    if (dtype_bits(t->dtype) % 8 != 0) {
      raise_error(unsupported(file_.path().string() + ": tensor '" + name + "' is " + std::string(to_string(t->dtype)) +
                              ", whose elements are not whole bytes: read it whole with get_tensor"),
                  "safetensors");
    }
    std::vector<DimRange> ranges;
    std::uint64_t bytes = dtype_bits(t->dtype) / 8;
    for (std::size_t k = 0; k < dims.size(); ++k) {
      auto [start, count, step] = dims[k];
      if (step < 1 || (count > 0 && start + (count - 1) * step >= t->shape[k])) {
        raise_error(invalid_input(file_.path().string() + ": slice of dim " + std::to_string(k) + " of tensor '" +
                                  name + "' is out of bounds"),
                    "safetensors");
      }
      ranges.push_back({start, count, step});
      bytes *= count;
    }
    py::array_t<std::uint8_t> out(static_cast<py::ssize_t>(bytes));
    std::byte* dest = reinterpret_cast<std::byte*>(out.mutable_data());
    Status status = [&]() -> Status {
      py::gil_scoped_release release;
      for (const FileRun& run : slice_runs(*t, ranges)) {
        HUBLOAD_TRY(file_.read_at(run.offset, std::span(dest, run.length)));
        dest += run.length;
      }
      return ok();
    }();
    value_or_raise(std::move(status), "safetensors");
    return out;
  }

 private:
  SafetensorsFile file_;
};

}  // namespace

void bind_safetensors(py::module_& m) {
  py::class_<NativeSafeFile>(m, "NativeSafeFile")
      .def_static(
          "open",
          [](const std::string& path) {
            Result<SafetensorsFile> file = [&] {
              py::gil_scoped_release release;
              return SafetensorsFile::open(path);
            }();
            return NativeSafeFile(value_or_raise(std::move(file), "safetensors"));
          },
          py::arg("path"))
      .def("keys", &NativeSafeFile::keys)
      .def("metadata", &NativeSafeFile::metadata)
      .def("info", &NativeSafeFile::info, py::arg("name"))
      .def("read", &NativeSafeFile::read, py::arg("name"))
      .def("read_slice", &NativeSafeFile::read_slice, py::arg("name"), py::arg("dims"));
}

}  // namespace hubload::python_internal
