// What the binding files of hubload._native share: raising a hubload Error as
// the Python exception of its kind, and running I/O with the GIL released.
#pragma once

#include <pybind11/pybind11.h>

#include <atomic>
#include <functional>
#include <optional>
#include <string_view>

#include "hubload/error.h"

namespace hubload::python_internal {

namespace py = pybind11;

// Raises hubload.errors.error_for(kind, message, context): the exception class
// is chosen in Python (python/hubload/errors.py), where the hierarchy lives.
// `context` refines invalid_input ("safetensors": SafetensorsError).
[[noreturn]] void raise_error(const Error& error, std::string_view context = "");

template <class T>
T value_or_raise(Result<T> result, std::string_view context = "") {
  if (!result) raise_error(result.error(), context);
  return std::move(result).value();
}
inline void value_or_raise(Status status, std::string_view context = "") {
  if (!status) raise_error(status.error(), context);
}

// Runs `work` on a thread of its own while the calling thread waits with the
// GIL released, waking every 50 ms to take the GIL, let Python run its signal
// handlers and call `on_tick`. Python only runs signal handlers on the main
// thread, and a thread blocked in a library call never gets there: so Ctrl-C
// (or an exception from on_tick) sets the flag that `work` passes on as its
// cancel hook, and once `work` has stopped, the KeyboardInterrupt is raised.
// `work` must not touch Python objects.
void run_interruptible(const std::function<void(const std::atomic<bool>& cancel)>& work,
                       const std::function<void()>& on_tick = {});

void bind_hub(py::module_& m);
void bind_config(py::module_& m);
void bind_safetensors(py::module_& m);
void bind_load(py::module_& m);

}  // namespace hubload::python_internal
