// Private: the kernel's copy out of the page cache (copy_to_user, rep movsb with
// FSRM on the reference VM's AMD EPYC) runs at ~0.65x a user-space memcpy unless
// the file offset and the destination agree mod 32 (bench/RESULTS.md, sessions 7
// and 8). Destinations of reads (arena tensors, bounce buffers) are therefore
// placed to agree with the file mod this: a cache line, which covers 32.
#pragma once

#include <cstdint>

namespace hubload::load_internal {

inline constexpr std::uint64_t kCopyAgreement = 64;

}  // namespace hubload::load_internal
