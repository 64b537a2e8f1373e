#include "plan/quantized.h"

namespace hubload::plan_internal {
namespace {

std::uint64_t elements(const TensorInfo& info) {
  std::uint64_t n = 1;
  for (std::uint64_t d : info.shape) n *= d;
  return n;
}

// P + ".weight" when `name` is P + suffix.
std::optional<std::string> base_of(std::string_view name, std::string_view suffix) {
  if (!name.ends_with(suffix)) return std::nullopt;
  return std::string(name.substr(0, name.size() - suffix.size())) + ".weight";
}

QuantLayout layout(std::string weight, std::string unit, int out_dim, std::uint64_t out_per, int in_dim,
                   std::uint64_t in_per) {
  QuantLayout l;
  l.weight_name = std::move(weight);
  l.unit = std::move(unit);
  l.dim_of[0] = out_dim;
  l.dim_of[1] = in_dim;
  l.per_element[0] = out_per;
  l.per_element[1] = in_per;
  return l;
}

QuantLayout whole(std::string weight, std::string unit) {
  QuantLayout l;
  l.weight_name = std::move(weight);
  l.unit = std::move(unit);
  l.replicate = true;
  return l;
}

QuantLayout fp8_block(std::string weight, std::uint64_t bn, std::uint64_t bk) {
  QuantLayout l = layout(std::move(weight), "FP8 block " + std::to_string(bn) + "x" + std::to_string(bk), 0, bn, 1, bk);
  l.ceil_blocks = true;
  return l;
}

}  // namespace

std::optional<QuantLayout> quant_layout(std::string_view name, const TensorInfo& info,
                                        const std::optional<QuantizationConfig>& q) {
  const std::uint64_t bn = q && q->block_n ? static_cast<std::uint64_t>(*q->block_n) : 128;
  const std::uint64_t bk = q && q->block_k ? static_cast<std::uint64_t>(*q->block_k) : 128;
  const std::uint64_t pack = q && q->bits && *q->bits > 0 && 32 % *q->bits == 0 ? 32 / *q->bits : 8;
  const std::string pack_unit = "pack of " + std::to_string(pack);
  // group_size -1 (or act-order, whose groups follow g_idx, not position) keeps the
  // per-group tensors whole along the input dim.
  const bool grouped_in = q && q->group_size && *q->group_size > 0 && !q->act_order;
  const std::uint64_t group = grouped_in ? static_cast<std::uint64_t>(*q->group_size) : 1;
  const std::string group_unit = "group of " + std::to_string(group);

  if (auto w = base_of(name, ".weight_scale_inv")) return fp8_block(*w, bn, bk);
  for (std::string_view s : {".input_scale", ".weight_shape", ".k_scale", ".v_scale", ".output_scale"})
    if (auto w = base_of(name, s)) return whole(*w, "per-tensor");
  if (auto w = base_of(name, ".weight_scale")) {
    if (elements(info) <= 1) return whole(*w, "per-tensor scale");
    if (q && q->strategy == "block") return fp8_block(*w, bn, bk);
    if (q && q->method == QuantMethod::compressed_tensors && q->strategy == "group")
      return layout(*w, group_unit, 0, 1, grouped_in ? 1 : -1, group);
    return layout(*w, "per-channel scale", 0, 1, -1, 1);  // [out, 1] or [out]
  }
  if (auto w = base_of(name, ".weight_packed")) return layout(*w, pack_unit, 0, 1, 1, pack);
  if (auto w = base_of(name, ".weight_zero_point"))
    return layout(*w, pack_unit + " / " + group_unit, 0, pack, grouped_in ? 1 : -1, group);
  if (auto w = base_of(name, ".weight_g_idx")) return layout(*w, "g_idx", -1, 1, 0, 1);
  if (q && q->method == QuantMethod::bitsandbytes) {
    // absmax, quant_map, nested_* and quant_state ride along with "P.weight" (tp 1 only).
    const std::size_t at = name.find(".weight.");
    if (at != std::string_view::npos) return whole(std::string(name.substr(0, at)) + ".weight", "bitsandbytes state");
  }
  if (!q || (q->method != QuantMethod::awq && q->method != QuantMethod::gptq)) return std::nullopt;

  // AWQ packs along out ([in, out/8]); GPTQ packs qweight along in ([in/8, out]).
  const bool awq = q->method == QuantMethod::awq;
  if (auto w = base_of(name, ".qweight"))
    return awq ? layout(*w, pack_unit, 1, pack, 0, 1) : layout(*w, pack_unit, 1, 1, 0, pack);
  if (auto w = base_of(name, ".qzeros"))
    return layout(*w, pack_unit + " / " + group_unit, 1, pack, grouped_in ? 0 : -1, group);
  if (auto w = base_of(name, ".scales")) return layout(*w, group_unit, 1, 1, grouped_in ? 0 : -1, group);
  if (auto w = base_of(name, ".g_idx")) return layout(*w, "g_idx", -1, 1, 0, 1);
  return std::nullopt;
}

}  // namespace hubload::plan_internal

namespace hubload {

bool is_quantized_tensor(std::string_view name, DType dtype) {
  switch (dtype) {
    case DType::F4: case DType::F6_E2M3: case DType::F6_E3M2: case DType::F8_E5M2: case DType::F8_E4M3:
    case DType::F8_E8M0: case DType::F8_E4M3FNUZ: case DType::F8_E5M2FNUZ:
      return true;
    default: break;
  }
  for (std::string_view s : {".weight_scale_inv", ".weight_scale", ".input_scale", ".weight_packed",
                             ".weight_zero_point", ".weight_g_idx", ".weight_shape", ".qweight", ".qzeros", ".scales",
                             ".g_idx", "_blocks", "_scales", ".absmax", ".quant_map"})
    if (name.ends_with(s)) return true;
  return name.find(".quant_state.") != std::string_view::npos || name.find(".nested_") != std::string_view::npos;
}

}  // namespace hubload

namespace hubload::plan_internal {
namespace {

using u64 = std::uint64_t;

// The logical weight's ranges on `dim` for `ctx`, or nullopt when the weight itself does not split.
std::optional<std::vector<std::vector<SliceRange>>> logical_ranges(const TensorInfo& logical, Strategy s, int dim,
                                                                   const SplitContext& ctx) {
  auto slices = split_tensor(logical, s, dim, ctx);
  if (!slices) return std::nullopt;
  std::vector<std::vector<SliceRange>> out;
  for (TensorSlice& t : *slices) out.push_back(std::move(t.ranges));
  return out;
}

bool aligned(const SliceRange& r, u64 per, bool ceil_blocks, u64 n) {
  return r.start % per == 0 && (r.length % per == 0 || (ceil_blocks && r.start + r.length == n));
}

}  // namespace

QuantSplitter::QuantSplitter(const SplitContext& ctx) : ctx_(ctx) {}

std::string QuantSplitter::working_sizes(const TensorInfo& logical, Strategy s, int dim, u64 per, bool ceil_blocks) {
  const std::string key = std::to_string(static_cast<int>(s)) + "/" + std::to_string(dim) + "/" +
                          std::to_string(logical.shape[static_cast<std::size_t>(dim)]) + "/" + std::to_string(per);
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  std::string list;
  for (int w = 1; w <= kMaxSuggestedTp; ++w) {
    SplitContext c = ctx_;
    c.world_size = w;
    auto ranges = logical_ranges(logical, s, dim, c);
    if (!ranges) continue;
    bool ok = true;
    for (const auto& rank : *ranges)
      for (const SliceRange& r : rank) ok = ok && aligned(r, per, ceil_blocks, logical.shape[static_cast<std::size_t>(dim)]);
    if (ok) list += (list.empty() ? "" : ", ") + std::to_string(w);
  }
  return cache_[key] = list.empty() ? "none up to " + std::to_string(kMaxSuggestedTp) : list;
}

Result<std::vector<TensorSlice>> QuantSplitter::split(const TensorInfo& info, const QuantLayout& l, Strategy s,
                                                      int rule_dim, const TensorInfo* weight) {
  const int w = ctx_.world_size;
  std::vector<TensorSlice> out(static_cast<std::size_t>(w));
  if (presence_only(s, out)) return out;
  if (s == Strategy::replicate || l.replicate || w == 1) return out;
  const int dim = rule_dim >= 0 ? rule_dim : (is_column_type(s) ? 0 : 1);
  if (s == Strategy::vocab || dim > 1)
    return Error(ErrorKind::unsupported, "tensor '" + info.name + "': a quantized " + l.unit + " tensor of '" +
                                             l.weight_name + "' cannot be split as " + std::string(to_string(s)));
  const int td = l.dim_of[dim];
  if (td < 0) return out;  // e.g. a per-channel scale of a row-split weight: whole on every rank
  if (static_cast<std::size_t>(td) >= info.shape.size())
    return Error(ErrorKind::invalid_plan, "tensor '" + info.name + "' has " + std::to_string(info.shape.size()) +
                                              " dims; its " + l.unit + " layout splits dim " + std::to_string(td));
  const u64 per = l.per_element[dim];
  const u64 n = weight && weight->shape.size() == 2 ? weight->shape[static_cast<std::size_t>(dim)]
                                                     : info.shape[static_cast<std::size_t>(td)] * per;
  TensorInfo logical;
  logical.name = l.weight_name;
  logical.dtype = info.dtype;
  logical.shape = {1, 1};
  logical.shape[static_cast<std::size_t>(dim)] = n;
  HUBLOAD_ASSIGN_OR_RETURN(auto slices, split_tensor(logical, s, dim, ctx_));
  const char* what = dim == 0 ? "rows" : "columns";
  for (std::size_t r = 0; r < out.size(); ++r) {
    out[r].dim = td;
    for (const SliceRange& x : slices[r].ranges) {
      if (!aligned(x, per, l.ceil_blocks, n)) {
        std::string msg = "tensor '" + info.name + "': tp " + std::to_string(w) + " gives rank " + std::to_string(r) +
                          " " + std::to_string(x.length) + " of the " + std::to_string(n) + " " + what + " of '" +
                          l.weight_name + "' (from " + std::to_string(x.start) + "), not a multiple of its " + l.unit +
                          " (" + std::to_string(per) + " " + what + "); tp that keep whole units: " +
                          working_sizes(logical, s, dim, per, l.ceil_blocks);
        if (l.weight_name.find(".experts.") != std::string::npos) msg += "; or plan with expert parallelism";
        return Error(ErrorKind::invalid_plan, msg);
      }
      out[r].ranges.push_back({x.start / per, (x.length + per - 1) / per});
    }
  }
  return out;
}

}  // namespace hubload::plan_internal
