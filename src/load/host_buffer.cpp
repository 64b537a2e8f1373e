#include <cstdlib>
#include <string>
#include <utility>

#include "hubload/load.h"

namespace hubload {

Result<HostBuffer> HostBuffer::allocate(std::size_t bytes) {
  HostBuffer b;
  if (bytes == 0) return b;
  std::size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  void* p = std::aligned_alloc(kAlignment, rounded);
  if (p == nullptr) return io_error("cannot allocate " + std::to_string(bytes) + " bytes of host memory");
  b.data_ = static_cast<std::byte*>(p);
  b.size_ = bytes;
  return b;
}

HostBuffer::HostBuffer(HostBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

HostBuffer& HostBuffer::operator=(HostBuffer&& other) noexcept {
  if (this != &other) {
    std::free(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

HostBuffer::~HostBuffer() { std::free(data_); }

const LoadedTensor* LoadedRank::find(std::string_view name) const {
  for (const LoadedTensor& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace hubload
