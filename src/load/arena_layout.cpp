// arena_layout: where each tensor of a rank starts in its arena. Safetensors data
// rarely starts 32-byte aligned (headers are padded to 8), so by default a tensor
// is placed to agree with its file offset (copy_agreement.h) rather than on a
// round boundary.
#include "hubload/load.h"
#include "load/copy_agreement.h"

namespace hubload {
namespace {

using load_internal::kCopyAgreement;

constexpr std::uint64_t kBoundary = 256;  // Placement::aligned_256, and the fallback

// The residue mod kCopyAgreement at which `t` should start, or nullopt where its runs
// do not agree among themselves, its element size forbids it, or it is converted
// (read through a bounce buffer, so the place does not matter).
std::optional<std::uint64_t> file_residue(const RankTensor& t, DType loaded) {
  if (loaded != t.dtype) return std::nullopt;
  std::optional<std::uint64_t> residue;
  for (const ByteRun& r : t.runs) {
    if (r.length == 0) continue;
    // Unsigned wrap-around keeps the difference right mod 64.
    const std::uint64_t d = (r.file_offset - r.dest_offset) % kCopyAgreement;
    if (residue && *residue != d) return std::nullopt;
    residue = d;
  }
  const unsigned bits = dtype_bits(t.dtype);
  const std::uint64_t element = bits % 8 == 0 && bits >= 8 ? bits / 8 : 1;
  if (residue && *residue % element != 0) return std::nullopt;
  return residue;
}

}  // namespace

ArenaLayout arena_layout(const RankPlan& plan, const LoadOptions& options) {
  ArenaLayout l;
  for (const RankTensor& t : plan.tensors) {
    const DType to = loaded_dtype(t.dtype, options);
    std::uint64_t bytes = t.bytes;
    if (to != t.dtype) bytes = t.bytes / (dtype_bits(t.dtype) / 8) * (dtype_bits(to) / 8);
    std::optional<std::uint64_t> residue;
    if (options.placement == Placement::like_file) residue = file_residue(t, to);
    if (residue) {
      l.bytes += (*residue + kCopyAgreement - l.bytes % kCopyAgreement) % kCopyAgreement;
    } else {
      l.bytes = (l.bytes + kBoundary - 1) / kBoundary * kBoundary;
    }
    l.offsets.push_back(l.bytes);
    l.sizes.push_back(bytes);
    l.bytes += bytes;
    l.bytes_out += bytes;
  }
  return l;
}

Status check_conversion(const RankPlan& plan, const LoadOptions& options) {
  if (!options.convert_to) return ok();
  if (!is_convertible_float(*options.convert_to))
    return invalid_input("cannot convert tensors to " + std::string(to_string(*options.convert_to)) +
                         "; choose BF16, F16 or F32");
  for (const RankTensor& t : plan.tensors)
    if (is_quantized_tensor(t.name, t.dtype))
      return invalid_input("dtype conversion to " + std::string(to_string(*options.convert_to)) +
                           " cannot apply to quantized tensor '" + t.name + "' (" + std::string(to_string(t.dtype)) +
                           "); load a quantized checkpoint without conversion");
  return ok();
}

}  // namespace hubload
