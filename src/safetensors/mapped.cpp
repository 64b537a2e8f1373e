// MappedSafetensors: one read-only mapping; tensor views are spans into it.
#include "hubload/safetensors.h"

namespace hubload {

Result<MappedSafetensors> MappedSafetensors::open(const std::filesystem::path& path, const ReaderOptions& options) {
  HUBLOAD_ASSIGN_OR_RETURN(MappedFile map, MappedFile::open(path));
  HUBLOAD_ASSIGN_OR_RETURN(SafetensorsHeader header, parse_header(map.bytes(), map.size(), options, path.native()));
  return MappedSafetensors(std::move(map), std::move(header));
}

std::span<const std::byte> MappedSafetensors::view(const TensorInfo& info) const {
  // info comes from this file's validated header, so the range is inside the mapping.
  return storage_.bytes().subspan(static_cast<std::size_t>(info.offset), static_cast<std::size_t>(info.size));
}

Result<std::span<const std::byte>> MappedSafetensors::view(std::string_view name) const {
  HUBLOAD_ASSIGN_OR_RETURN(const TensorInfo* info, tensor(name));
  return view(*info);
}

}  // namespace hubload
