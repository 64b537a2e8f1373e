#include "mpi/outgoing_blob.h"

#include <algorithm>

#include <fmt/format.h>

namespace hubload::mpi_internal {

OutgoingBlob::OutgoingBlob(const ExchangeSetup& s, std::size_t index, std::shared_ptr<GrowingBlob> growing)
    : s_(s), index_(index), growing_(std::move(growing)), slots_(s.window) {
  if (!growing_) result_.emplace();  // held: whole from the start
  chunks_ = (blob().size + s_.chunk_size - 1) / s_.chunk_size;
  from_.resize(transfer().receivers.size());
  for (std::size_t i = 0; i < from_.size(); ++i) {
    MPI_Request request;
    MPI_Irecv(&from_[i], 1, MPI_UINT64_T, transfer().receivers[i], tag(), s_.topology->leaders.get(), &request);
    from_requests_.push_back(request);
  }
}

bool OutgoingBlob::know_from() {
  if (!from_known_ && all_done(from_requests_)) {
    from_known_ = true;
    next_ = first_chunk();
  }
  return from_known_;
}

std::uint64_t OutgoingBlob::first_chunk() const {
  return from_.empty() ? chunks_ : *std::min_element(from_.begin(), from_.end());
}

bool OutgoingBlob::streamable() const { return growing_ && !started_ && !result_ && growing_->view().generation > 0; }

void OutgoingBlob::send(const void* data, std::uint64_t n, std::vector<MPI_Request>& requests,
                        std::optional<std::uint64_t> chunk) {
  for (std::size_t i = 0; i < from_.size(); ++i) {
    if (chunk && *chunk < from_[i]) continue;
    MPI_Request request;
    MPI_Isend(data, static_cast<int>(n), MPI_BYTE, transfer().receivers[i], tag(), s_.topology->leaders.get(),
              &request);
    requests.push_back(request);
  }
}

void OutgoingBlob::start(Failures& failures) {
  started_ = true;
  if (result_ && *result_) {
    header_ = error_header(**result_);
  } else if (growing_) {
    round_ = growing_->view();
  } else {
    Result<ReadFile> file = ReadFile::open(s_.cache->blob_path(blob().etag));
    if (file && file->size() == blob().size) {
      file_.emplace(std::move(*file));
    } else {
      failures.own(file ? io_error(fmt::format("{}: {} bytes, expected {}", file->path().string(), file->size(),
                                               blob().size))
                        : file.error());
      header_ = error_header(failures.for_peers(*s_.topology));
    }
  }
  send(&header_, sizeof header_, control_);
  if (!header_.ok) ended_ = true;
}

GrowingBlob::View OutgoingBlob::source() const {
  GrowingBlob::View v = growing_ ? growing_->view() : round_;
  if (result_ && !*result_) v.prefix = blob().size;  // whole in the cache
  return v;
}

Result<ReadFile> OutgoingBlob::open_source() const {
  if (!round_.partial.empty()) {
    Result<ReadFile> partial = ReadFile::open(round_.partial);
    if (partial) return partial;
  }
  // Renamed onto the blob by now (or fetched by another process meanwhile).
  return ReadFile::open(s_.cache->blob_path(blob().etag));
}

Result<bool> OutgoingBlob::read_chunk(std::uint64_t offset, std::span<std::byte> out) {
  const std::uint64_t end = offset + out.size();
  if (!file_ || file_->size() < end) {
    file_.reset();
    Result<ReadFile> file = open_source();
    if (file && file->size() >= end) {
      file_.emplace(std::move(*file));
    } else if (!result_) {
      return false;  // not written yet
    } else {
      return file ? io_error(fmt::format("{}: {} bytes, expected {}", file->path().string(), file->size(),
                                         blob().size))
                  : file.error();
    }
  }
  Status read = file_->read_at(offset, out);
  if (read) return true;
  // While the download runs, a read can meet a restart (the engine truncates
  // the partial, and a new generation follows): look again later.
  if (!result_) return false;
  return read.error();
}

bool OutgoingBlob::send_chunks(ExchangeOutcome& out, Failures& failures, std::uint64_t available) {
  bool moved = false;
  for (Slot& slot : slots_) {
    if (next_ >= chunks_ || !all_done(slot.requests)) continue;
    const std::uint64_t offset = next_ * s_.chunk_size;
    const std::uint64_t n = std::min(s_.chunk_size, blob().size - offset);
    if (offset + n > available) break;
    slot.bytes.resize(n);
    Result<bool> read = read_chunk(offset, slot.bytes);
    if (!read) {
      failures.own(read.error());
      const Error located_error = failures.for_peers(*s_.topology);
      end_round(End::error, &located_error);
      return true;
    }
    if (!*read) break;
    const auto before = slot.requests.size();
    send(slot.bytes.data(), n, slot.requests, next_);
    const std::uint64_t sent = n * (slot.requests.size() - before);
    out.fabric_bytes += sent;
    if (!result_) out.streamed_bytes += sent;
    ++next_;
    moved = true;
  }
  return moved;
}

void OutgoingBlob::end_round(End end, const Error* error) {
  static const std::byte kNothing{};
  for (; next_ < chunks_; ++next_) send(&kNothing, 0, control_, next_);
  Header& trailer = trailers_.emplace_back();
  if (end == End::error) trailer = error_header(*error);
  trailer.again = end == End::again ? 1 : 0;
  send(&trailer, sizeof trailer, control_);
  if (end == End::again) {
    next_ = first_chunk();
  } else {
    ended_ = true;
  }
}

bool OutgoingBlob::step(ExchangeOutcome& out, Failures& failures) {
  if (!started_ || finished_) return false;
  bool moved = false;
  // No chunk (and no trailer) before every receiver said which chunks it needs.
  if (!ended_ && know_from()) {
    const GrowingBlob::View v = source();
    if (v.generation != round_.generation) {
      // The download began again: what this round sent may not be what gets published.
      if (next_ > first_chunk()) end_round(End::again, nullptr);
      round_ = v;
      file_.reset();
      moved = true;
    }
    if (result_ && *result_) {
      end_round(End::error, &**result_);
      moved = true;
    } else {
      moved |= send_chunks(out, failures, source().prefix);
      if (!ended_ && next_ == chunks_ && result_) {
        end_round(End::ok, nullptr);
        moved = true;
      }
    }
  }
  if (ended_ && know_from() && all_done(control_) &&
      std::all_of(slots_.begin(), slots_.end(), [](Slot& s) { return all_done(s.requests); })) {
    finished_ = true;
    moved = true;
  }
  return moved;
}

}  // namespace hubload::mpi_internal
