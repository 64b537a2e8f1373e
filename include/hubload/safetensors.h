// safetensors: dtypes, strict header parsing, readers (pread and mmap), the
// streaming writer, and the sharded index (model.safetensors.index.json).
// Rules: ../shared/docs/safetensors.md. Every malformed input is an
// ErrorKind::invalid_input error naming the file (and tensor); nothing crashes.
#pragma once
#pragma GCC visibility push(default)  // public API: exported by the shared libraries (see CMake)

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hubload/error.h"
#include "hubload/file.h"

namespace hubload {

// In the reference enum order (ascending alignment), see safetensors.md §3.
enum class DType : std::uint8_t {
  BOOL, F4, F6_E2M3, F6_E3M2, U8, I8, F8_E5M2, F8_E4M3, F8_E8M0, F8_E4M3FNUZ, F8_E5M2FNUZ,
  I16, U16, F16, BF16, I32, U32, F32, C64, F64, I64, U64,
};

std::optional<DType> dtype_from_string(std::string_view s);  // exact case: "BF16"
std::string_view to_string(DType dtype);
unsigned dtype_bits(DType dtype);  // 4 for F4, 6 for F6_*, 16 for BF16, ...
std::span<const DType> all_dtypes();  // every dtype, in enum order

// Bytes of a dense tensor: prod(shape) * bits / 8. nullopt when the element or bit
// count overflows u64, or when the bit count is not a whole number of bytes
// (sub-byte dtypes, safetensors.md §3).
std::optional<std::uint64_t> tensor_byte_size(DType dtype, std::span<const std::uint64_t> shape);

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::uint64_t> shape;  // [] is a scalar
  std::uint64_t offset = 0;          // absolute byte offset of the data in its file
  std::uint64_t size = 0;            // bytes

  std::uint64_t num_elements() const;  // product of shape, 1 for a scalar
  bool operator==(const TensorInfo&) const = default;
};

// Positions of a vector's items in name order, so that finding one item by name is
// a binary search instead of a scan: callers look up every tensor of checkpoints
// with 10^5 tensors (DeepSeek-V3 91k, Kimi-K2 140k), and a scan per lookup is
// quadratic. It holds positions, not names, and compares the items' current
// names. It is built by whoever fills the vector (the parser, open_checkpoint,
// the loader), so the structs stay plain aggregates; an index that was never
// built or that no longer matches the vector's size is ignored for a scan, and
// code that edits the vector calls reindex() on its owner. An item's name is its
// `name`, or `info.name` for items that wrap a TensorInfo.
class NameIndex {
 public:
  template <class T>
  void build(const std::vector<T>& items) {
    order_.resize(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) order_[i] = i;
    // Ties by position, so that of two equal names the first is found, as by a scan.
    std::sort(order_.begin(), order_.end(), [&](std::size_t a, std::size_t b) {
      const std::string_view x = name_of(items[a]), y = name_of(items[b]);
      return x < y || (x == y && a < b);
    });
    built_ = true;
  }

  template <class T>
  const T* find(const std::vector<T>& items, std::string_view name) const {
    if (!built_ || order_.size() != items.size()) {
      for (const T& item : items) {
        if (name_of(item) == name) return &item;
      }
      return nullptr;
    }
    auto it = std::partition_point(order_.begin(), order_.end(),
                                   [&](std::size_t i) { return name_of(items[i]) < name; });
    if (it == order_.end() || name_of(items[*it]) != name) return nullptr;
    return &items[*it];
  }

 private:
  template <class T>
  static std::string_view name_of(const T& item) {
    if constexpr (requires { item.info.name; }) {
      return item.info.name;
    } else {
      return item.name;
    }
  }

  std::vector<std::size_t> order_;
  bool built_ = false;
};

struct ReaderOptions {
  // Headers larger than this are refused; the reference readers use 100 MB,
  // the Hub's header-only readers 25 MB.
  std::uint64_t max_header_bytes = 100'000'000;
  // Denial-of-service guards beyond the header cap (safetensors.md §4, stricter rules).
  std::uint64_t max_tensors = 10'000'000;
  std::uint64_t max_name_bytes = 64 * 1024;
};

// A parsed and fully validated header (every rule of safetensors.md §4).
struct SafetensorsHeader {
  std::uint64_t header_size = 0;   // N, the JSON length
  std::uint64_t data_offset = 0;   // 8 + N
  std::uint64_t file_size = 0;
  std::vector<TensorInfo> tensors;  // in file (offset) order
  std::map<std::string, std::string> metadata;
  NameIndex name_index;  // over tensors; see NameIndex

  const TensorInfo* find(std::string_view name) const;  // O(log n) once indexed
  void reindex();  // after editing tensors
};

// Reads N from the first 8 bytes and checks it against the cap; `source` names the
// file or URL in errors. A remote reader uses this to size its second request.
Result<std::uint64_t> parse_header_length(std::span<const std::byte> first8, std::uint64_t file_size,
                                          const ReaderOptions& options, std::string_view source);

// Pure: validates a header given its first 8 + N bytes (more is allowed) and the total
// file size. Works for local files and for Range-fetched remote headers alike.
Result<SafetensorsHeader> parse_header(std::span<const std::byte> prefix, std::uint64_t file_size,
                                       const ReaderOptions& options, std::string_view source);

// Reads and validates the header of an open file (two preads: the 8-byte length,
// then the 8 + N prefix, allocated only after N passed the cap and the file size).
Result<SafetensorsHeader> read_header(const ReadFile& file, const ReaderOptions& options = {});

// What both readers below share: the storage (a ReadFile or a MappedFile, each
// knowing its path) and the validated header, with lookups that name the file.
template <class Storage>
class BasicSafetensors {
 public:
  const std::filesystem::path& path() const { return storage_.path(); }
  const SafetensorsHeader& header() const { return header_; }
  const std::vector<TensorInfo>& tensors() const { return header_.tensors; }
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }
  // not_found error naming the tensor and the file.
  Result<const TensorInfo*> tensor(std::string_view name) const {
    const TensorInfo* info = header_.find(name);
    if (info == nullptr) return not_found(path().string() + ": no tensor named '" + std::string(name) + "'");
    return info;
  }

 protected:
  BasicSafetensors(Storage storage, SafetensorsHeader header)
      : storage_(std::move(storage)), header_(std::move(header)) {}
  Storage storage_;
  SafetensorsHeader header_;
};

// A safetensors file opened for positional reads. Holds the descriptor, not a mapping.
class SafetensorsFile : public BasicSafetensors<ReadFile> {
 public:
  static Result<SafetensorsFile> open(const std::filesystem::path& path, const ReaderOptions& options = {});

  // Any byte range of the file into the caller's buffer (pread): the loader's primitive.
  Status read_at(std::uint64_t offset, std::span<std::byte> out) const { return storage_.read_at(offset, out); }
  // A whole tensor into `out` (out.size() must equal info.size).
  Status read_tensor(const TensorInfo& info, std::span<std::byte> out) const;
  const ReadFile& file() const { return storage_; }

 private:
  SafetensorsFile(ReadFile file, SafetensorsHeader header) : BasicSafetensors(std::move(file), std::move(header)) {}
};

// A safetensors file behind a read-only mmap: zero-copy views of each tensor,
// valid as long as this object lives.
class MappedSafetensors : public BasicSafetensors<MappedFile> {
 public:
  static Result<MappedSafetensors> open(const std::filesystem::path& path, const ReaderOptions& options = {});
  std::span<const std::byte> view(const TensorInfo& info) const;
  Result<std::span<const std::byte>> view(std::string_view name) const;
  std::span<const std::byte> bytes() const { return storage_.bytes(); }

 private:
  MappedSafetensors(MappedFile map, SafetensorsHeader header) : BasicSafetensors(std::move(map), std::move(header)) {}
};

// What a writer needs to know of a tensor before its bytes are streamed.
struct TensorSpec {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::uint64_t> shape;
};

// Streams a spec-conformant file: the header (padded with spaces to a multiple of 8)
// is written first, then each tensor's bytes in the order given, in as many write()
// calls as the caller likes, so files larger than memory can be written. The data
// goes to a temporary file beside `path`, renamed into place only by finish().
class SafetensorsWriter {
 public:
  static Result<SafetensorsWriter> create(const std::filesystem::path& path, std::vector<TensorSpec> tensors,
                                          std::map<std::string, std::string> metadata = {});
  SafetensorsWriter(SafetensorsWriter&&) noexcept;
  SafetensorsWriter& operator=(SafetensorsWriter&&) noexcept;
  ~SafetensorsWriter();  // removes the temporary file unless finish() succeeded

  Status write(std::span<const std::byte> data);  // next bytes, crossing tensors freely
  Status finish();  // errors if fewer or more bytes than the header declares were written
  std::uint64_t data_bytes_expected() const;

 private:
  struct Impl;
  explicit SafetensorsWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Convenience: one call writes whole in-memory tensors.
struct TensorData {
  TensorSpec spec;
  std::span<const std::byte> bytes;
};
Status write_safetensors(const std::filesystem::path& path, const std::vector<TensorData>& tensors,
                         const std::map<std::string, std::string>& metadata = {});

// model.safetensors.index.json (safetensors.md §8).
struct ShardedIndex {
  std::map<std::string, std::string> weight_map;  // tensor -> shard file, relative to the index
  std::optional<std::uint64_t> total_size;
  std::vector<std::string> shard_files() const;   // distinct, in first-appearance order of sorted names
};
Result<ShardedIndex> parse_index(std::string_view json_text, std::string_view source);
Result<ShardedIndex> load_index(const std::filesystem::path& path);

// One tensor of a checkpoint, with the shard file that holds it.
struct CheckpointTensor {
  TensorInfo info;
  std::string file;  // path relative to Checkpoint::root
};

// A whole checkpoint: a single .safetensors file, an index file, or a model folder
// (the index is preferred; else every *.safetensors in it). Opening validates every
// shard header and the index rules of safetensors.md §8.2: a missing shard, a tensor
// absent from its shard or present in two, are invalid_input errors naming both.
//
// root and index_file stay strings, not paths: for a remote checkpoint
// (remote_metadata.h) they are URLs. shard_files and CheckpointTensor::file are
// names relative to root, in the index's spelling.
struct Checkpoint {
  std::string root;                       // the folder holding the shards (or a /resolve URL)
  std::optional<std::string> index_file;  // absolute path (or URL) when opened through an index
  std::vector<std::string> shard_files;   // relative to root
  std::vector<SafetensorsHeader> shard_headers;  // parallel to shard_files
  std::vector<CheckpointTensor> tensors;  // shard by shard, each in file order
  std::vector<std::string> warnings;      // non-fatal findings (total_size mismatch, unmapped tensors)
  NameIndex name_index;                   // over tensors; see NameIndex

  const CheckpointTensor* find(std::string_view name) const;  // O(log n) once indexed
  void reindex();  // after editing tensors
  std::uint64_t total_data_bytes() const;
};
Result<Checkpoint> open_checkpoint(const std::filesystem::path& path, const ReaderOptions& options = {});

// The same checks as open_checkpoint for headers read elsewhere (remote Range
// reads, remote_metadata.h): `index` null means every tensor of every shard
// belongs to the checkpoint. `root` and `index_file` (a path or URL) only
// name things in errors and in the result; nothing is opened.
Result<Checkpoint> assemble_checkpoint(std::string root, std::optional<std::string> index_file,
                                       const ShardedIndex* index, std::vector<std::string> shard_files,
                                       std::vector<SafetensorsHeader> shard_headers);

}  // namespace hubload
#pragma GCC visibility pop
