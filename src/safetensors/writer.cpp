// SafetensorsWriter: header first, then streamed data, into a sibling temporary
// file renamed over `path` only once every declared byte has been written, so a
// reader that has the old file mapped never sees it truncated.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "hubload/safetensors.h"
#include "safetensors/header_write.h"

namespace hubload {

struct SafetensorsWriter::Impl {
  std::string path;
  std::string temp_path;
  UniqueFd fd;
  std::uint64_t expected = 0;
  std::uint64_t written = 0;
  bool finished = false;

  ~Impl() {
    if (!finished && !temp_path.empty()) ::unlink(temp_path.c_str());
  }
};

SafetensorsWriter::SafetensorsWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SafetensorsWriter::SafetensorsWriter(SafetensorsWriter&&) noexcept = default;
SafetensorsWriter& SafetensorsWriter::operator=(SafetensorsWriter&&) noexcept = default;
SafetensorsWriter::~SafetensorsWriter() = default;

Result<SafetensorsWriter> SafetensorsWriter::create(const std::filesystem::path& path, std::vector<TensorSpec> tensors,
                                                    std::map<std::string, std::string> metadata) {
  HUBLOAD_ASSIGN_OR_RETURN(auto header, safetensors_internal::serialize_header(tensors, metadata, path.native()));
  auto impl = std::make_unique<Impl>();
  impl->path = path.string();
  impl->expected = header.data_bytes;
  std::string templ = path.string() + ".tmp.XXXXXX";
  int fd = ::mkostemp(templ.data(), O_CLOEXEC);
  if (fd < 0) return errno_error(path.string() + ": creating a temporary file", errno);
  impl->fd.reset(fd);
  impl->temp_path = templ;
  // mkstemp creates 0600; the final file should be readable like any model file.
  if (::fchmod(fd, 0644) != 0) return errno_error(templ, errno);
  HUBLOAD_TRY(write_all(fd, std::as_bytes(std::span(header.bytes.data(), header.bytes.size())), templ));
  return SafetensorsWriter(std::move(impl));
}

std::uint64_t SafetensorsWriter::data_bytes_expected() const { return impl_->expected; }

Status SafetensorsWriter::write(std::span<const std::byte> data) {
  if (impl_->finished) return invalid_input(impl_->path + ": write after finish()");
  if (data.size() > impl_->expected - impl_->written) {
    return invalid_input(impl_->path + ": writing " + std::to_string(data.size()) + " bytes at data offset " +
                         std::to_string(impl_->written) + " exceeds the " + std::to_string(impl_->expected) +
                         " data bytes the header declares");
  }
  HUBLOAD_TRY(write_all(impl_->fd.get(), data, impl_->temp_path));
  impl_->written += data.size();
  return ok();
}

Status SafetensorsWriter::finish() {
  Impl& im = *impl_;
  if (im.finished) return ok();
  if (im.written != im.expected) {
    return invalid_input(im.path + ": only " + std::to_string(im.written) + " of the " +
                         std::to_string(im.expected) + " declared data bytes were written");
  }
  HUBLOAD_TRY(sync_close_rename(im.fd, im.temp_path, im.path));
  im.finished = true;
  return ok();
}

Status write_safetensors(const std::filesystem::path& path, const std::vector<TensorData>& tensors,
                         const std::map<std::string, std::string>& metadata) {
  std::vector<TensorSpec> specs;
  specs.reserve(tensors.size());
  for (const TensorData& t : tensors) specs.push_back(t.spec);
  HUBLOAD_ASSIGN_OR_RETURN(SafetensorsWriter writer, SafetensorsWriter::create(path, std::move(specs), metadata));
  for (const TensorData& t : tensors) {
    auto size = tensor_byte_size(t.spec.dtype, t.spec.shape);
    if (!size || *size != t.bytes.size()) {
      return invalid_input(path.string() + ": tensor '" + t.spec.name + "' is given " + std::to_string(t.bytes.size()) +
                           " bytes but " + std::string(to_string(t.spec.dtype)) + " of its shape needs " +
                           (size ? std::to_string(*size) : std::string("an invalid size")));
    }
    HUBLOAD_TRY(writer.write(t.bytes));
  }
  return writer.finish();
}

}  // namespace hubload
