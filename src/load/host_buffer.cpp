// Host buffers are anonymous mappings, not heap blocks: a multi-GiB rank arena is
// aligned to 2 MiB and advised MADV_HUGEPAGE, so filling it takes one page fault per
// 2 MiB instead of per 4 KiB. First-touch faults dominate loading from the page
// cache (bench/RESULTS.md), most of all inside VMs with shadow page tables.
#include <sys/mman.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <utility>

#include "hubload/load.h"

namespace hubload {
namespace {
constexpr std::size_t kHugePage = 2u << 20;
}

Result<HostBuffer> HostBuffer::allocate(std::size_t bytes) {
  HostBuffer b;
  if (bytes == 0) return b;
  const bool huge = bytes >= kHugePage;
  const std::size_t unit = huge ? kHugePage : kAlignment;
  if (bytes > SIZE_MAX - 2 * unit) return invalid_input("cannot allocate " + std::to_string(bytes) + " bytes");
  const std::size_t rounded = (bytes + unit - 1) / unit * unit;
  // Over-map by one huge page so the start can be aligned to one, then unmap the slack.
  const std::size_t mapped = huge ? rounded + kHugePage : rounded;
  void* p = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return errno_error("cannot allocate " + std::to_string(bytes) + " bytes of host memory", errno);
  auto* start = static_cast<std::byte*>(p);
  if (huge) {
    auto addr = reinterpret_cast<std::uintptr_t>(start);
    std::size_t head = (kHugePage - addr % kHugePage) % kHugePage;
    if (head > 0) ::munmap(start, head);
    if (kHugePage - head > 0) ::munmap(start + head + rounded, kHugePage - head);
    start += head;
    // Advice only: where transparent huge pages are off this is a no-op.
    ::madvise(start, rounded, MADV_HUGEPAGE);
  }
  b.data_ = start;
  b.size_ = bytes;
  b.mapped_ = rounded;
  return b;
}

HostBuffer::HostBuffer(HostBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_(std::exchange(other.mapped_, 0)) {}

HostBuffer& HostBuffer::operator=(HostBuffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_ = std::exchange(other.mapped_, 0);
  }
  return *this;
}

HostBuffer::~HostBuffer() { release(); }

void HostBuffer::release() noexcept {
  if (data_ != nullptr) ::munmap(data_, mapped_);
  data_ = nullptr;
  size_ = mapped_ = 0;
}

const LoadedTensor* LoadedRank::find(std::string_view name) const { return name_index.find(tensors, name); }

void LoadedRank::reindex() { name_index.build(tensors); }

}  // namespace hubload
