// Checked size arithmetic shared by the header parser and the writer, keeping
// overflow and sub-byte misalignment apart so each gets its own message.
#pragma once

#include <cstdint>
#include <span>

#include "hubload/safetensors.h"

namespace hubload::safetensors_internal {

enum class SizeStatus { ok, overflow, misaligned };

struct SizeCheck {
  SizeStatus status = SizeStatus::ok;
  std::uint64_t bytes = 0;
};

inline SizeCheck checked_tensor_bytes(DType dtype, std::span<const std::uint64_t> shape) {
  std::uint64_t elements = 1;
  for (std::uint64_t d : shape) {
    if (__builtin_mul_overflow(elements, d, &elements)) return {SizeStatus::overflow, 0};
  }
  std::uint64_t bits = 0;
  if (__builtin_mul_overflow(elements, std::uint64_t{dtype_bits(dtype)}, &bits)) {
    return {SizeStatus::overflow, 0};
  }
  if (bits % 8 != 0) return {SizeStatus::misaligned, 0};
  return {SizeStatus::ok, bits / 8};
}

// "[2, 3]" for messages.
std::string shape_to_string(std::span<const std::uint64_t> shape);

// True when `text` is well-formed UTF-8 (no overlongs, surrogates or values above U+10FFFF).
bool is_valid_utf8(std::string_view text);

}  // namespace hubload::safetensors_internal
