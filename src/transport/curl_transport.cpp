// libcurl behind the Transport seam: the one file that drives libcurl. Every
// request runs in a TransferSession (one multi handle); send() is one request
// in a session of its own (session_send.h).
//
// Redirects are never followed here (the Hub client and the transfer engine
// read the 3xx headers themselves) and bodies are never decompressed, so a
// Content-Length is always the size of the bytes on disk.
#include <curl/curl.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>

#include <fmt/format.h>

#include "hubload/transport.h"
#include "transport/session_send.h"
#include "util/terminal_text.h"

namespace hubload {
namespace {

struct EasyDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using HeaderList = std::unique_ptr<curl_slist, SlistDeleter>;

struct MultiDeleter {
  void operator()(CURLM* multi) const { curl_multi_cleanup(multi); }
};
using MultiHandle = std::unique_ptr<CURLM, MultiDeleter>;

// One request on one easy handle, and what came back so far. The handler gets
// the answer's status and headers once, at the end of its header block.
struct Exchange {
  HttpRequest request;
  TransferHandler handler;
  EasyHandle easy;
  HeaderList header_list;
  std::string range;
  HttpHeaders headers;
  long status = 0;
  bool responded = false;
  bool aborted = false;    // on_body said stop
  bool cancelled = false;  // cancel() from inside a callback; removed after perform
  char errbuf[CURL_ERROR_SIZE] = {};

  void respond() {
    if (responded) return;
    responded = true;
    curl_easy_getinfo(easy.get(), CURLINFO_RESPONSE_CODE, &status);
    if (handler.on_response) handler.on_response(static_cast<int>(status), headers);
  }

  Status result(CURLcode code) {
    if (code == CURLE_OK) {
      respond();
      return ok();
    }
    // The URL may come from a server's Location header.
    const std::string url = util_internal::terminal_safe(request.url);
    if (aborted) return network_error(fmt::format("{} {}: transfer stopped by the receiver", request.method, url));
    return network_error(fmt::format("{} {}: {}", request.method, url,
                                     errbuf[0] != 0 ? std::string(errbuf) : std::string(curl_easy_strerror(code))));
  }
};

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  if (ex->cancelled) return 0;
  std::string_view line(data, size * count);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {
    ex->headers = HttpHeaders();  // a new status line starts a new header block (after a 100)
    return size * count;
  }
  if (line.empty()) {
    long status = 0;
    curl_easy_getinfo(ex->easy.get(), CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200) ex->respond();
    return size * count;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return size * count;
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  ex->headers.add(std::string(line.substr(0, colon)), std::string(value));
  return size * count;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  if (ex->cancelled) return 0;
  ex->respond();
  if (ex->cancelled) return 0;
  const std::size_t n = size * count;
  if (ex->handler.on_body && !ex->handler.on_body(std::span<const char>(data, n))) {
    ex->aborted = true;
    return 0;  // aborts the transfer
  }
  return n;
}

Status configure(Exchange& ex) {
  ex.easy.reset(curl_easy_init());
  if (!ex.easy) return internal_error("curl_easy_init failed");
  CURL* h = ex.easy.get();
  const HttpRequest& request = ex.request;
  auto append = [&](const std::string& line) {
    curl_slist* next = curl_slist_append(ex.header_list.get(), line.c_str());
    if (next != nullptr) {
      (void)ex.header_list.release();
      ex.header_list.reset(next);
    }
  };
  for (const auto& [name, value] : request.headers.entries()) append(name + ": " + value);
  if (!request.headers.has("Accept-Encoding")) append("Accept-Encoding: identity");
  append("Expect:");
  if (request.range) {
    ex.range = request.range->last ? fmt::format("{}-{}", request.range->first, *request.range->last)
                                   : fmt::format("{}-", request.range->first);
  }
  HUBLOAD_TRY(check_fetchable_url(request.url));
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  // Nothing but http(s), even if a redirect were ever followed here: a file://
  // or gopher:// URL from a hostile server must reach no local file or socket.
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, ex.header_list.get());
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout.count()));
  if (request.stall_timeout.count() > 0) {
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT,
                     static_cast<long>(std::clamp<std::uint64_t>(request.min_rate, 1, 1ull << 30)));
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
                     static_cast<long>(std::max<std::int64_t>(1, request.stall_timeout.count() / 1000)));
  }
  if (request.total_timeout.count() > 0) {
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(request.total_timeout.count()));
  }
  curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &ex);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &ex);
  curl_easy_setopt(h, CURLOPT_PRIVATE, &ex);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ex.errbuf);
  if (request.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (!ex.range.empty()) curl_easy_setopt(h, CURLOPT_RANGE, ex.range.c_str());
  return ok();
}

class CurlSession final : public TransferSession {
 public:
  explicit CurlSession(MultiHandle multi) : multi_(std::move(multi)) {}
  ~CurlSession() override {
    for (auto& [id, ex] : live_) curl_multi_remove_handle(multi_.get(), ex->easy.get());
  }

  Result<TransferId> start(HttpRequest request, TransferHandler handler) override {
    auto ex = std::make_unique<Exchange>();
    ex->request = std::move(request);
    ex->request.sink = nullptr;
    ex->handler = std::move(handler);
    HUBLOAD_TRY(configure(*ex));
    if (curl_multi_add_handle(multi_.get(), ex->easy.get()) != CURLM_OK) {
      return internal_error("curl_multi_add_handle failed for " + ex->request.url);
    }
    const TransferId id = next_id_++;
    live_.emplace(id, std::move(ex));
    return id;
  }

  void cancel(TransferId id) override {
    auto it = live_.find(id);
    if (it == live_.end() || it->second->cancelled) return;
    it->second->cancelled = true;
    // Inside perform a handle must not be removed (and the callback that
    // cancels may be its own); it goes right after.
    if (performing_) {
      doomed_.push_back(id);
      return;
    }
    curl_multi_remove_handle(multi_.get(), it->second->easy.get());
    live_.erase(it);
  }

  Status poll(std::chrono::milliseconds timeout) override {
    HUBLOAD_ASSIGN_OR_RETURN(bool finished, step());
    // With nothing running this still waits: the caller may be backing off.
    if (finished) return ok();
    if (curl_multi_poll(multi_.get(), nullptr, 0, static_cast<int>(timeout.count()), nullptr) != CURLM_OK) {
      return internal_error("curl_multi_poll failed");
    }
    HUBLOAD_TRY(step());
    return ok();
  }

 private:
  // One curl_multi_perform and the ends it produced; true if any ended.
  Result<bool> step() {
    int running = 0;
    performing_ = true;
    CURLMcode code = curl_multi_perform(multi_.get(), &running);
    performing_ = false;
    for (TransferId id : std::exchange(doomed_, {})) {
      if (auto it = live_.find(id); it != live_.end()) {
        curl_multi_remove_handle(multi_.get(), it->second->easy.get());
        live_.erase(it);
      }
    }
    if (code != CURLM_OK) return internal_error(fmt::format("curl_multi_perform: {}", curl_multi_strerror(code)));
    bool finished = false;
    int queued = 0;
    while (CURLMsg* m = curl_multi_info_read(multi_.get(), &queued)) {
      if (m->msg != CURLMSG_DONE) continue;
      Exchange* ex = nullptr;
      curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&ex));
      const CURLcode result = m->data.result;
      curl_multi_remove_handle(multi_.get(), m->easy_handle);
      auto it = std::find_if(live_.begin(), live_.end(), [&](const auto& e) { return e.second.get() == ex; });
      if (it == live_.end() || it->second->cancelled) continue;
      std::unique_ptr<Exchange> done = std::move(it->second);
      live_.erase(it);
      finished = true;
      Status status = done->result(result);
      if (done->handler.on_done) done->handler.on_done(std::move(status));
    }
    return finished;
  }

  MultiHandle multi_;
  std::map<TransferId, std::unique_ptr<Exchange>> live_;
  std::vector<TransferId> doomed_;
  TransferId next_id_ = 1;
  bool performing_ = false;
};

class CurlTransport final : public Transport {
 public:
  Result<HttpResponse> send(const HttpRequest& request) override {
    HUBLOAD_ASSIGN_OR_RETURN(std::unique_ptr<TransferSession> session, open_session(1));
    return transport_internal::send_through_session(*session, request);
  }

  Result<std::unique_ptr<TransferSession>> open_session(int max_connections) override {
    MultiHandle multi(curl_multi_init());
    if (!multi) return internal_error("curl_multi_init failed");
    curl_multi_setopt(multi.get(), CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(std::max(1, max_connections)));
    return std::unique_ptr<TransferSession>(std::make_unique<CurlSession>(std::move(multi)));
  }
};

}  // namespace

std::shared_ptr<Transport> make_curl_transport() {
  // curl_global_init is not thread-safe on older libcurl; run it exactly once.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  return std::make_shared<CurlTransport>();
}

}  // namespace hubload
