// The default TransferSession of a Transport that only implements send():
// one transfer at a time, each a blocking send() whose body is collected and
// then handed over. Enough for an embedder's proxy or a test fake to get the
// engine's ranges, resume and retries; a transport that wants parallel
// connections overrides open_session().
#include <deque>
#include <thread>

#include "hubload/transport.h"

namespace hubload {
namespace {

class SerialSession final : public TransferSession {
 public:
  explicit SerialSession(Transport& transport) : transport_(transport) {}

  Result<TransferId> start(HttpRequest request, TransferHandler handler) override {
    request.sink = nullptr;
    if (request.range && request.range->last) {
      // The whole range is held in memory before it is handed over.
      request.max_collected_bytes = *request.range->last - request.range->first + 1;
    }
    const TransferId id = next_id_++;
    queue_.push_back({id, std::move(request), std::move(handler)});
    return id;
  }

  void cancel(TransferId id) override {
    if (id == running_) running_cancelled_ = true;
    std::erase_if(queue_, [&](const Pending& p) { return p.id == id; });
  }

  Status poll(std::chrono::milliseconds timeout) override {
    if (queue_.empty()) {
      std::this_thread::sleep_for(timeout);  // as a network wait would: the caller may be backing off
      return ok();
    }
    Pending next = std::move(queue_.front());
    queue_.pop_front();
    running_ = next.id;
    running_cancelled_ = false;
    Result<HttpResponse> response = transport_.send(next.request);
    const TransferHandler& h = next.handler;
    if (response) {
      if (h.on_response) h.on_response(response->status, response->headers);
      if (!running_cancelled_ && h.on_body && !response->body.empty() &&
          !h.on_body(std::span<const char>(response->body.data(), response->body.size()))) {
        if (!running_cancelled_ && h.on_done) {
          h.on_done(network_error(next.request.method + " " + next.request.url + ": transfer stopped by the receiver"));
        }
        running_ = 0;
        return ok();
      }
    }
    if (!running_cancelled_ && h.on_done) h.on_done(response ? ok() : Status(response.error()));
    running_ = 0;
    return ok();
  }

 private:
  struct Pending {
    TransferId id;
    HttpRequest request;
    TransferHandler handler;
  };
  Transport& transport_;
  std::deque<Pending> queue_;
  TransferId next_id_ = 1;
  TransferId running_ = 0;
  bool running_cancelled_ = false;
};

}  // namespace

Result<std::unique_ptr<TransferSession>> Transport::open_session(int) {
  return std::unique_ptr<TransferSession>(std::make_unique<SerialSession>(*this));
}

}  // namespace hubload
