// The dtype table of safetensors.md §3, in the reference enum order.
#include <array>

#include "hubload/safetensors.h"
#include "safetensors/sizes.h"

namespace hubload {
namespace {

struct DTypeEntry {
  DType dtype;
  std::string_view name;
  unsigned bits;
};

constexpr std::array<DTypeEntry, 22> kDTypes = {{
    {DType::BOOL, "BOOL", 8},        {DType::F4, "F4", 4},
    {DType::F6_E2M3, "F6_E2M3", 6},  {DType::F6_E3M2, "F6_E3M2", 6},
    {DType::U8, "U8", 8},            {DType::I8, "I8", 8},
    {DType::F8_E5M2, "F8_E5M2", 8},  {DType::F8_E4M3, "F8_E4M3", 8},
    {DType::F8_E8M0, "F8_E8M0", 8},  {DType::F8_E4M3FNUZ, "F8_E4M3FNUZ", 8},
    {DType::F8_E5M2FNUZ, "F8_E5M2FNUZ", 8},
    {DType::I16, "I16", 16},         {DType::U16, "U16", 16},
    {DType::F16, "F16", 16},         {DType::BF16, "BF16", 16},
    {DType::I32, "I32", 32},         {DType::U32, "U32", 32},
    {DType::F32, "F32", 32},         {DType::C64, "C64", 64},
    {DType::F64, "F64", 64},         {DType::I64, "I64", 64},
    {DType::U64, "U64", 64},
}};

}  // namespace

std::optional<DType> dtype_from_string(std::string_view s) {
  for (const DTypeEntry& e : kDTypes) {
    if (e.name == s) return e.dtype;
  }
  return std::nullopt;
}

std::string_view to_string(DType dtype) { return kDTypes[static_cast<std::size_t>(dtype)].name; }

unsigned dtype_bits(DType dtype) { return kDTypes[static_cast<std::size_t>(dtype)].bits; }

std::span<const DType> all_dtypes() {
  static constexpr auto kAll = [] {
    std::array<DType, kDTypes.size()> out{};
    for (std::size_t i = 0; i < kDTypes.size(); ++i) out[i] = kDTypes[i].dtype;
    return out;
  }();
  return kAll;
}

std::uint64_t TensorInfo::num_elements() const {
  std::uint64_t n = 1;
  for (std::uint64_t d : shape) n *= d;  // validated at parse time not to overflow
  return n;
}

std::optional<std::uint64_t> tensor_byte_size(DType dtype, std::span<const std::uint64_t> shape) {
  auto check = safetensors_internal::checked_tensor_bytes(dtype, shape);
  if (check.status != safetensors_internal::SizeStatus::ok) return std::nullopt;
  return check.bytes;
}

}  // namespace hubload
