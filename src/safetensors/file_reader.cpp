// SafetensorsFile: the header read with two preads (never more than the cap
// allows), then positional reads of tensor bytes.
#include <vector>

#include "hubload/safetensors.h"

namespace hubload {

Result<SafetensorsHeader> read_header(const ReadFile& file, const ReaderOptions& options) {
  std::byte first8[8] = {};
  if (file.size() >= 8) HUBLOAD_TRY(file.read_at(0, first8));
  HUBLOAD_ASSIGN_OR_RETURN(std::uint64_t n, parse_header_length(first8, file.size(), options, file.path().native()));
  // n is bounded by the cap and by the file size, so this allocation is too.
  std::vector<std::byte> prefix(static_cast<std::size_t>(8 + n));
  HUBLOAD_TRY(file.read_at(0, prefix));
  return parse_header(prefix, file.size(), options, file.path().native());
}

Result<SafetensorsFile> SafetensorsFile::open(const std::filesystem::path& path, const ReaderOptions& options) {
  HUBLOAD_ASSIGN_OR_RETURN(ReadFile file, ReadFile::open(path));
  HUBLOAD_ASSIGN_OR_RETURN(SafetensorsHeader header, read_header(file, options));
  return SafetensorsFile(std::move(file), std::move(header));
}

Status SafetensorsFile::read_tensor(const TensorInfo& info, std::span<std::byte> out) const {
  if (out.size() != info.size) {
    return invalid_input(path().string() + ": tensor '" + info.name + "' is " + std::to_string(info.size) +
                         " bytes but the destination buffer holds " + std::to_string(out.size()));
  }
  return storage_.read_at(info.offset, out);
}

}  // namespace hubload
