// bf16 / f16 / f32 conversions, bit-exact and round-to-nearest-even, without
// relying on compiler half-float types.
#include <cstring>
#include <string>

#include "hubload/load.h"

namespace hubload {
namespace {

std::uint32_t f32_to_bits(float f) {
  std::uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

std::uint16_t f32_to_bf16(std::uint32_t b) {
  if ((b & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((b >> 16) | 0x0040u);  // quiet NaN
  std::uint32_t rounding = 0x7fffu + ((b >> 16) & 1u);
  return static_cast<std::uint16_t>((b + rounding) >> 16);
}

std::uint32_t f16_to_f32(std::uint16_t h) {
  std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  if (exp == 0x1f) return sign | 0x7f800000u | (mant << 13);  // inf / NaN
  if (exp == 0) {
    if (mant == 0) return sign;
    // Subnormal: value = mant · 2^-24, exact in f32.
    return sign | f32_to_bits(static_cast<float>(mant) * 5.9604644775390625e-8f);
  }
  return sign | ((exp + 112) << 23) | (mant << 13);
}

std::uint16_t f32_to_f16(std::uint32_t b) {
  std::uint16_t sign = static_cast<std::uint16_t>((b >> 16) & 0x8000u);
  std::uint32_t abs = b & 0x7fffffffu;
  if (abs > 0x7f800000u) return static_cast<std::uint16_t>(sign | 0x7e00u | ((abs >> 13) & 0x3ffu));
  if (abs >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // rounds to >= 65520: inf
  std::int32_t exp = static_cast<std::int32_t>(abs >> 23) - 127;
  if (exp < -14) {
    // Subnormal result: shift the 24-bit significand into place, rounding to even.
    if (exp < -25) return sign;
    std::uint32_t mant = (abs & 0x7fffffu) | 0x800000u;
    int shift = -exp - 1;  // 14..24 -> result = mant >> (shift - 0) with 2^-24 units
    std::uint32_t q = mant >> (shift);
    std::uint32_t rem = mant & ((1u << shift) - 1u), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1u))) ++q;
    return static_cast<std::uint16_t>(sign | q);
  }
  std::uint32_t mant = abs & 0x7fffffu;
  std::uint32_t h = (static_cast<std::uint32_t>(exp + 15) << 10) | (mant >> 13);
  std::uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // carry into the exponent is correct
  return static_cast<std::uint16_t>(sign | h);
}

std::size_t float_size(DType d) { return d == DType::F32 ? 4 : 2; }

std::uint32_t load_as_f32_bits(DType d, const std::byte* p) {
  if (d == DType::F32) {
    std::uint32_t b;
    std::memcpy(&b, p, 4);
    return b;
  }
  std::uint16_t h;
  std::memcpy(&h, p, 2);
  return d == DType::BF16 ? static_cast<std::uint32_t>(h) << 16 : f16_to_f32(h);
}

void store_from_f32_bits(DType d, std::uint32_t b, std::byte* p) {
  if (d == DType::F32) {
    std::memcpy(p, &b, 4);
    return;
  }
  std::uint16_t h = d == DType::BF16 ? f32_to_bf16(b) : f32_to_f16(b);
  std::memcpy(p, &h, 2);
}

}  // namespace

bool is_convertible_float(DType d) { return d == DType::BF16 || d == DType::F16 || d == DType::F32; }

DType loaded_dtype(DType stored, const LoadOptions& options) {
  return options.convert_to && is_convertible_float(stored) ? *options.convert_to : stored;
}

Status convert_floats(DType from, DType to, std::span<const std::byte> in, std::span<std::byte> out) {
  if (!is_convertible_float(from) || !is_convertible_float(to))
    return invalid_input("dtype conversion supports BF16, F16 and F32, not " + std::string(to_string(from)) +
                         " -> " + std::string(to_string(to)));
  std::size_t fs = float_size(from), ts = float_size(to);
  if (in.size() % fs != 0 || out.size() != in.size() / fs * ts)
    return invalid_input("dtype conversion: " + std::to_string(in.size()) + " input bytes do not fit " +
                         std::to_string(out.size()) + " output bytes");
  if (from == to) {
    if (!in.empty()) std::memcpy(out.data(), in.data(), in.size());
    return ok();
  }
  std::size_t n = in.size() / fs;
  if (from == DType::BF16 && to == DType::F32) {  // the common case: a shift
    for (std::size_t i = 0; i < n; ++i) {
      std::uint16_t h;
      std::memcpy(&h, in.data() + 2 * i, 2);
      std::uint32_t b = static_cast<std::uint32_t>(h) << 16;
      std::memcpy(out.data() + 4 * i, &b, 4);
    }
    return ok();
  }
  for (std::size_t i = 0; i < n; ++i)
    store_from_f32_bits(to, load_as_f32_bits(from, in.data() + fs * i), out.data() + ts * i);
  return ok();
}

}  // namespace hubload
