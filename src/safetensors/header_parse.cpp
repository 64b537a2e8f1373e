// Header validation in the order of safetensors.md §4: length, UTF-8, JSON,
// the offset walk, then the file length.
#include <algorithm>
#include <cstring>

#include "hubload/safetensors.h"
#include "safetensors/header_json.h"
#include "safetensors/sizes.h"

namespace hubload {

using safetensors_internal::RawTensor;

namespace {

std::string src(std::string_view source) { return std::string(source) + ": "; }

}  // namespace

const TensorInfo* SafetensorsHeader::find(std::string_view name) const { return name_index.find(tensors, name); }

void SafetensorsHeader::reindex() { name_index.build(tensors); }

Result<std::uint64_t> parse_header_length(std::span<const std::byte> first8, std::uint64_t file_size,
                                          const ReaderOptions& options, std::string_view source) {
  if (file_size < 8 || first8.size() < 8) {
    return invalid_input(src(source) + "file is " + std::to_string(file_size) +
                         " bytes, too small for the 8-byte header length");
  }
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<std::uint8_t>(first8[static_cast<std::size_t>(i)]);
  if (n > options.max_header_bytes) {
    return invalid_input(src(source) + "header length " + std::to_string(n) + " exceeds the limit of " +
                         std::to_string(options.max_header_bytes) + " bytes");
  }
  if (n == 0) return invalid_input(src(source) + "header length is 0; an empty header is not JSON");
  // n <= max_header_bytes, which callers keep far below 2^64 - 8; check anyway.
  std::uint64_t end = 0;
  if (__builtin_add_overflow(n, std::uint64_t{8}, &end) || end > file_size) {
    return invalid_input(src(source) + "header of " + std::to_string(n) + " bytes ends at byte 8 + " +
                         std::to_string(n) + ", beyond the file size " + std::to_string(file_size));
  }
  return n;
}

Result<SafetensorsHeader> parse_header(std::span<const std::byte> prefix, std::uint64_t file_size,
                                       const ReaderOptions& options, std::string_view source) {
  HUBLOAD_ASSIGN_OR_RETURN(std::uint64_t n, parse_header_length(prefix, file_size, options, source));
  if (prefix.size() - 8 < n) {
    return invalid_input(src(source) + "only " + std::to_string(prefix.size()) +
                         " bytes given for a header that ends at byte " + std::to_string(8 + n));
  }
  std::string_view text(reinterpret_cast<const char*>(prefix.data()) + 8, static_cast<std::size_t>(n));
  if (!safetensors_internal::is_valid_utf8(text)) {
    return invalid_input(src(source) + "header (" + std::to_string(n) + " bytes) is not valid UTF-8");
  }
  // nlohmann stops at a NUL byte as if the input ended there, which would let
  // "{}\0garbage" through; a NUL is never valid JSON (control characters must be
  // escaped inside strings), so refuse it here.
  if (std::size_t nul = text.find('\0'); nul != std::string_view::npos) {
    return invalid_input(src(source) + "header is not valid JSON: NUL byte at byte " + std::to_string(8 + nul) +
                         " of the file");
  }
  HUBLOAD_ASSIGN_OR_RETURN(auto raw, safetensors_internal::parse_header_json(text, options, source));

  // The reference walk: sorted by (BEGIN, END), each tensor must start where the
  // previous one ended, which forbids holes, overlaps and a non-zero start at once.
  std::sort(raw.tensors.begin(), raw.tensors.end(), [](const RawTensor& a, const RawTensor& b) {
    if (a.begin != b.begin) return a.begin < b.begin;
    if (a.end != b.end) return a.end < b.end;
    return a.name < b.name;
  });
  SafetensorsHeader header;
  header.header_size = n;
  header.data_offset = 8 + n;
  header.file_size = file_size;
  header.metadata = std::move(raw.metadata);
  header.tensors.reserve(raw.tensors.size());
  std::uint64_t expected = 0;
  for (RawTensor& t : raw.tensors) {
    const std::string where = src(source) + "tensor '" + t.name + "': ";
    if (t.begin != expected || t.end < t.begin) {
      return invalid_input(where + "data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                           "] do not continue the data at offset " + std::to_string(expected) +
                           " (offsets must tile the data section without holes or overlaps)");
    }
    auto size = safetensors_internal::checked_tensor_bytes(t.dtype, t.shape);
    const std::string desc = std::string(to_string(t.dtype)) + " " + safetensors_internal::shape_to_string(t.shape);
    if (size.status == safetensors_internal::SizeStatus::overflow) {
      return invalid_input(where + "size of " + desc + " overflows 64 bits");
    }
    if (size.status == safetensors_internal::SizeStatus::misaligned) {
      return invalid_input(where + desc + " is not a whole number of bytes");
    }
    if (t.end - t.begin != size.bytes) {
      return invalid_input(where + desc + " needs " + std::to_string(size.bytes) + " bytes but data_offsets [" +
                           std::to_string(t.begin) + ", " + std::to_string(t.end) + "] span " +
                           std::to_string(t.end - t.begin));
    }
    expected = t.end;
    TensorInfo info;
    info.name = std::move(t.name);
    info.dtype = t.dtype;
    info.shape = std::move(t.shape);
    info.offset = header.data_offset + t.begin;  // a wrapped value is refused by the length check below
    info.size = size.bytes;
    header.tensors.push_back(std::move(info));
  }
  // data_offset <= file_size here, so the subtraction is safe.
  const std::uint64_t data_bytes = file_size - header.data_offset;
  if (expected != data_bytes) {
    return invalid_input(src(source) + "the header declares " + std::to_string(expected) +
                         " data bytes but the file holds " + std::to_string(data_bytes) + " after the header (" +
                         (expected < data_bytes ? "trailing bytes" : "truncated data") + ")");
  }
  header.reindex();
  return header;
}

}  // namespace hubload
