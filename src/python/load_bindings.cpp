// plan and load_rank: the rank's tensors come back as NumPy arrays that view
// the loader's arena (or the caller's buffer), never a copy. Every array's
// base is one capsule owning the LoadedRank, so the arena lives exactly as
// long as the last array (or tensor made from one) that views it.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <memory>

#include "hubload/file.h"
#include "hubload/load.h"
#include "hubload/plan.h"
#include "python/bindings.h"

namespace hubload::python_internal {
namespace {

struct NativePlan {
  std::shared_ptr<const ShardPlan> plan;
  std::string root;  // the checkpoint folder the plan's file names are relative to
};

struct PlanArgs {
  std::uint64_t vocab_pad_multiple = PlanOptions{}.vocab_pad_multiple;
  bool pad_vocab_always = false;
  std::string row_bias = "all";
  bool replicate_unmatched = false;
  std::optional<std::string> rules_file;
  bool expert_parallel = false;
};

Result<ShardPlan> make_plan(const std::string& folder, int world_size, const PlanArgs& a) {
  PlanOptions options;
  options.world_size = world_size;
  options.vocab_pad_multiple = a.vocab_pad_multiple;
  options.pad_vocab_always = a.pad_vocab_always;
  options.row_bias = a.row_bias == "rank0" ? RowBias::rank0 : RowBias::all_ranks;
  options.replicate_unmatched = a.replicate_unmatched;
  options.expert_parallel = a.expert_parallel;
  if (a.rules_file) {
    HUBLOAD_ASSIGN_OR_RETURN(options.rules_json, read_text_file(*a.rules_file));
    options.rules_source = *a.rules_file;
  }
  return plan_model_folder(folder, options);
}

// The NumPy type of a loaded dtype. BF16 and FP8 have none: their bits come as
// uint16 / uint8 (the Python side views them as torch dtypes where torch has them).
const char* numpy_format(DType dtype) {
  switch (dtype) {
    case DType::BOOL: return "?";
    case DType::I8: return "i1";
    case DType::I16: return "<i2";
    case DType::U16: case DType::BF16: return "<u2";
    case DType::F16: return "<f2";
    case DType::I32: return "<i4";
    case DType::U32: return "<u4";
    case DType::F32: return "<f4";
    case DType::C64: return "<c8";
    case DType::F64: return "<f8";
    case DType::I64: return "<i8";
    case DType::U64: return "<u8";
    default: return "u1";  // U8, the FP8 kinds, and the packed sub-byte kinds (as bytes)
  }
}

py::array tensor_array(const LoadedTensor& t, py::handle base) {
  std::vector<py::ssize_t> shape;
  if (dtype_bits(t.dtype) % 8 != 0) {
    shape.push_back(static_cast<py::ssize_t>(t.bytes.size()));
  } else {
    for (std::uint64_t d : t.shape) shape.push_back(static_cast<py::ssize_t>(d));
  }
  return py::array(py::dtype(numpy_format(t.dtype)), shape, {}, t.bytes.data(), base);
}

py::dict stats_dict(const LoadedRank& r, const std::byte* arena, std::size_t arena_size) {
  py::dict d;
  d["rank"] = r.rank;
  d["world_size"] = r.world_size;
  d["bytes_read"] = r.bytes_read;
  d["bytes_planned"] = r.bytes_planned;
  d["bytes_out"] = r.bytes_out;
  d["read_calls"] = r.read_calls;
  d["seconds"] = r.seconds;
  d["arena_address"] = reinterpret_cast<std::uintptr_t>(arena);
  d["arena_bytes"] = arena_size;
  py::dict dtypes;
  for (const LoadedTensor& t : r.tensors) dtypes[py::str(t.name)] = std::string(to_string(t.dtype));
  d["dtypes"] = dtypes;
  return d;
}

LoadOptions load_options(const std::optional<std::string>& dtype, std::optional<int> threads) {
  LoadOptions options;
  if (dtype) {
    std::optional<DType> to = dtype_from_string(*dtype);
    if (!to) raise_error(invalid_input("dtype '" + *dtype + "' is none of BF16, F16, F32"));
    options.convert_to = *to;
  }
  if (threads) options.io_threads = *threads;
  return options;
}

// Calls `hook(done, total)` from the loader's I/O threads under the GIL, about
// 64 times per load and once at the end; a Python exception stops the load.
struct ProgressRelay {
  py::object hook;
  std::uint64_t next = 0;
  std::exception_ptr failure;

  bool operator()(const LoadProgress& p) {
    if (p.bytes_done < next && p.bytes_done < p.bytes_total) return true;
    next = p.bytes_done + p.bytes_total / 64;
    py::gil_scoped_acquire acquire;
    try {
      hook(p.bytes_done, p.bytes_total);
      return true;
    } catch (...) {
      failure = std::current_exception();
      return false;
    }
  }
};

// Loads `rank` of the plan, into `buffer` when given (the arrays then view it)
// or into a new arena owned by the capsule every array holds.
py::tuple load_rank_native(const NativePlan& plan, int rank, const std::optional<std::string>& dtype,
                           std::optional<int> threads, const py::object& hook, const py::object& buffer) {
  LoadOptions options = load_options(dtype, threads);
  auto relay = std::make_shared<ProgressRelay>();
  relay->hook = hook;
  if (!hook.is_none()) options.progress = [relay](const LoadProgress& p) { return (*relay)(p); };
  RankPlan rank_plan_value = value_or_raise(rank_plan(*plan.plan, rank), "plan");

  std::span<std::byte> arena;
  std::optional<py::buffer_info> view;
  if (!buffer.is_none()) {
    view = py::reinterpret_borrow<py::buffer>(buffer).request(true);
    arena = {static_cast<std::byte*>(view->ptr), static_cast<std::size_t>(view->size * view->itemsize)};
  }
  std::optional<Result<LoadedRank>> loaded;
  run_interruptible([&](const std::atomic<bool>& cancel) {
    LoadOptions with_cancel = options;
    with_cancel.cancel = &cancel;
    Result<RankLoader> cancellable = RankLoader::create(plan.root, with_cancel);
    if (!cancellable) {
      loaded.emplace(std::move(cancellable).error());
    } else if (view) {
      loaded.emplace(cancellable->load_into(rank_plan_value, arena));
    } else {
      loaded.emplace(cancellable->load(rank_plan_value));
    }
  });
  if (relay->failure) std::rethrow_exception(relay->failure);
  auto rank_data = std::make_shared<LoadedRank>(value_or_raise(std::move(*loaded), "load"));

  py::object base = buffer;
  if (!view) {
    base = py::capsule(new std::shared_ptr<LoadedRank>(rank_data),
                       [](void* p) { delete static_cast<std::shared_ptr<LoadedRank>*>(p); });
    arena = {rank_data->storage.data(), rank_data->storage.size()};
  }
  py::dict tensors;
  for (const LoadedTensor& t : rank_data->tensors) tensors[py::str(t.name)] = tensor_array(t, base);
  return py::make_tuple(tensors, stats_dict(*rank_data, arena.data(), arena.size()));
}

}  // namespace

void bind_load(py::module_& m) {
  py::class_<PlanArgs>(m, "PlanArgs")
      .def(py::init<>())
      .def_readwrite("vocab_pad_multiple", &PlanArgs::vocab_pad_multiple)
      .def_readwrite("pad_vocab_always", &PlanArgs::pad_vocab_always)
      .def_readwrite("row_bias", &PlanArgs::row_bias)
      .def_readwrite("replicate_unmatched", &PlanArgs::replicate_unmatched)
      .def_readwrite("rules_file", &PlanArgs::rules_file)
      .def_readwrite("expert_parallel", &PlanArgs::expert_parallel);

  py::class_<NativePlan>(m, "NativePlan")
      .def_property_readonly("world_size", [](const NativePlan& p) { return p.plan->world_size; })
      .def_property_readonly("model_type", [](const NativePlan& p) { return p.plan->model_type; })
      .def_property_readonly("notes", [](const NativePlan& p) { return p.plan->notes; })
      .def_property_readonly("root", [](const NativePlan& p) { return p.root; })
      .def("to_json", [](const NativePlan& p) { return plan_to_json(*p.plan); })
      .def("rank_bytes", [](const NativePlan& p) { return summarize(*p.plan).rank_bytes; })
      .def("strategies",
           [](const NativePlan& p) {
             py::dict out;
             for (const TensorPlan& t : p.plan->tensors) out[py::str(t.name)] = std::string(to_string(t.strategy));
             return out;
           })
      .def(
          "arena_bytes",
          [](const NativePlan& p, int rank, const std::optional<std::string>& dtype) {
            RankPlan plan = value_or_raise(rank_plan(*p.plan, rank), "plan");
            RankLoader loader = value_or_raise(RankLoader::create(p.root, load_options(dtype, std::nullopt)));
            return loader.arena_bytes(plan);
          },
          py::arg("rank"), py::arg("dtype") = py::none());

  m.def(
      "plan",
      [](const std::string& folder, int world_size, const PlanArgs& args) {
        Result<ShardPlan> plan = [&] {
          py::gil_scoped_release release;
          return make_plan(folder, world_size, args);
        }();
        return NativePlan{std::make_shared<const ShardPlan>(value_or_raise(std::move(plan), "plan")), folder};
      },
      py::arg("folder"), py::arg("world_size"), py::arg("args"));

  m.def("load_rank", &load_rank_native, py::arg("plan"), py::arg("rank"), py::arg("dtype"), py::arg("threads"),
        py::arg("progress_hook"), py::arg("buffer"));
}

}  // namespace hubload::python_internal
