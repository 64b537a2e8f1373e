// download_model, hf_hub_download and the offline resolver, with the
// environment read as the CLI reads it and Ctrl-C cancelling the download.
#include <pybind11/stl.h>

#include <map>
#include <mutex>
#include <utility>

#include "hubload/hub.h"
#include "python/bindings.h"

namespace hubload::python_internal {
namespace {

struct HubArgs {
  std::optional<std::string> cache_dir;
  std::optional<std::string> revision;
  bool local_files_only = false;
  std::optional<std::string> token;
  bool no_token = false;
  std::optional<std::string> endpoint;
  std::string repo_type = "model";
};

HubOptions hub_options(const HubArgs& a) {
  HubOptions hub;
  hub.environment = read_hub_environment();
  apply_hub_timeouts(hub.environment, hub.transfer);
  if (a.revision) hub.revision = *a.revision;
  if (a.cache_dir) hub.cache_dir = *a.cache_dir;
  hub.token = a.token;
  hub.no_token = a.no_token;
  hub.endpoint = a.endpoint;
  hub.local_files_only = a.local_files_only;
  hub.repo_type = value_or_raise(parse_repo_type(a.repo_type));
  return hub;
}

// Bytes per file as the download workers report them, summed for one bar.
class ProgressTotals {
 public:
  void update(const FileProgress& p) {
    std::lock_guard lock(mu_);
    files_[p.path] = {p.bytes_done, p.bytes_total};
  }
  std::pair<std::uint64_t, std::uint64_t> totals() const {
    std::lock_guard lock(mu_);
    std::uint64_t done = 0, total = 0;
    for (const auto& entry : files_) {
      done += entry.second.first;
      total += entry.second.second;
    }
    return {done, total};
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> files_;
};

// Runs a download with the GIL released: `hook(done, total)` (a tqdm bar from
// the Python side, or None) is called from the waiting thread, never from a
// download worker, and Ctrl-C cancels through HubOptions::cancel.
template <class T>
T download_interruptibly(HubOptions& hub, const py::object& hook,
                         const std::function<Result<T>(const HubOptions&)>& call) {
  auto totals = std::make_shared<ProgressTotals>();
  if (!hook.is_none()) hub.on_progress = [totals](const FileProgress& p) { totals->update(p); };
  std::optional<Result<T>> result;
  std::pair<std::uint64_t, std::uint64_t> shown{0, 0};
  run_interruptible(
      [&](const std::atomic<bool>& cancel) {
        hub.cancel = &cancel;
        result.emplace(call(hub));
      },
      [&] {
        if (hook.is_none()) return;
        auto now = totals->totals();
        if (now == shown) return;
        shown = now;
        hook(now.first, now.second);
      });
  return value_or_raise(std::move(*result));
}

}  // namespace

void bind_hub(py::module_& m) {
  py::class_<HubArgs>(m, "HubArgs")
      .def(py::init<>())
      .def_readwrite("cache_dir", &HubArgs::cache_dir)
      .def_readwrite("revision", &HubArgs::revision)
      .def_readwrite("local_files_only", &HubArgs::local_files_only)
      .def_readwrite("token", &HubArgs::token)
      .def_readwrite("no_token", &HubArgs::no_token)
      .def_readwrite("endpoint", &HubArgs::endpoint)
      .def_readwrite("repo_type", &HubArgs::repo_type);

  m.def(
      "download_model",
      [](const std::string& model, const HubArgs& args, bool skip_download_weights,
         std::vector<std::string> allow_patterns, std::vector<std::string> ignore_patterns, py::object hook) {
        DownloadOptions options;
        options.hub = hub_options(args);
        options.skip_download_weights = skip_download_weights;
        options.allow_patterns = std::move(allow_patterns);
        options.ignore_patterns = std::move(ignore_patterns);
        DownloadResult result = download_interruptibly<DownloadResult>(
            options.hub, hook, [&options, &model](const HubOptions& hub) {
              DownloadOptions call = options;
              call.hub = hub;
              return download_model(model, call);
            });
        return result.snapshot.string();
      },
      py::arg("model"), py::arg("args"), py::arg("skip_download_weights"), py::arg("allow_patterns"),
      py::arg("ignore_patterns"), py::arg("progress_hook"));

  m.def(
      "hub_download",
      [](const std::string& repo_id, const std::string& filename, const HubArgs& args, py::object hook) {
        HubOptions hub = hub_options(args);
        std::filesystem::path path = download_interruptibly<std::filesystem::path>(
            hub, hook, [&repo_id, &filename](const HubOptions& options) {
              return hub_download(repo_id, filename, options);
            });
        return path.string();
      },
      py::arg("repo_id"), py::arg("filename"), py::arg("args"), py::arg("progress_hook"));

  m.def(
      "resolve_model_path",
      [](const std::string& model, const HubArgs& args) {
        HubOptions hub = hub_options(args);
        Result<std::filesystem::path> path = [&] {
          py::gil_scoped_release release;
          return resolve_model_path(model, hub);
        }();
        return value_or_raise(std::move(path)).string();
      },
      py::arg("model"), py::arg("args"));
}

}  // namespace hubload::python_internal
