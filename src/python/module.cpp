// hubload._native: the extension under the pure-Python package `hubload`
// (python/hubload/), which wraps it with Python signatures, tensors and tqdm.
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

#include "hubload/version.h"
#include "python/bindings.h"

namespace hubload::python_internal {

void raise_error(const Error& error, std::string_view context) {
  py::object error_for = py::module_::import("hubload.errors").attr("error_for");
  py::object exception = error_for(std::string(to_string(error.kind())), error.message(), std::string(context));
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exception.ptr())), exception.ptr());
  throw py::error_already_set();
}

void run_interruptible(const std::function<void(const std::atomic<bool>& cancel)>& work,
                       const std::function<void()>& on_tick) {
  std::atomic<bool> cancel{false};
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
  std::exception_ptr work_failure;
  std::exception_ptr python_failure;
  {
    py::gil_scoped_release release;
    std::thread worker([&] {
      try {
        work(cancel);
      } catch (...) {
        work_failure = std::current_exception();
      }
      std::lock_guard lock(mu);
      finished = true;
      cv.notify_all();
    });
    std::unique_lock lock(mu);
    while (!finished) {
      if (cv.wait_for(lock, std::chrono::milliseconds(50), [&] { return finished; })) break;
      if (python_failure) continue;  // cancelled: wait for the work to stop
      lock.unlock();
      {
        py::gil_scoped_acquire acquire;
        try {
          if (PyErr_CheckSignals() != 0) throw py::error_already_set();
          if (on_tick) on_tick();
        } catch (...) {
          python_failure = std::current_exception();
          cancel = true;
        }
      }
      lock.lock();
    }
    lock.unlock();
    worker.join();
  }
  if (python_failure) std::rethrow_exception(python_failure);
  if (work_failure) std::rethrow_exception(work_failure);
  if (on_tick) on_tick();  // the final state (a bar at 100%)
}

}  // namespace hubload::python_internal

PYBIND11_MODULE(_native, m) {
  using namespace hubload::python_internal;
  m.doc() = "hubload's native core; use the `hubload` package, which wraps it.";
  m.attr("__version__") = std::string(hubload::kVersion);
  bind_hub(m);
  bind_config(m);
  bind_safetensors(m);
  bind_load(m);
}
