// ModelConfig and validate_tensor_parallel for Python: the typed fields travel as
// the JSON of `hubload config --json` (python/hubload/_config.py parses it), so
// the CLI, scripts and Python see one schema.
#include <pybind11/stl.h>

#include "hubload/config.h"
#include "python/bindings.h"

namespace hubload::python_internal {

void bind_config(py::module_& m) {
  py::class_<ModelConfig>(m, "NativeConfig")
      .def("to_json", [](const ModelConfig& c) { return config_to_json(c); })
      .def_readonly("raw_json", &ModelConfig::raw_json);

  m.def(
      "load_config",
      [](const std::string& path) {
        Result<ModelConfig> config = [&] {
          py::gil_scoped_release release;
          return load_model_config(path);
        }();
        return value_or_raise(std::move(config), "config");
      },
      py::arg("path"));
  m.def(
      "validate_tensor_parallel",
      [](const ModelConfig& config, int world_size) {
        return validation_to_json(validate_tensor_parallel(config, world_size));
      },
      py::arg("config"), py::arg("world_size"));
}

}  // namespace hubload::python_internal
