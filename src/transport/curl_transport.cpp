// libcurl behind the Transport seam. Redirects are never followed here (the Hub
// client reads the 3xx headers itself) and bodies are never decompressed, so a
// Content-Length is always the size of the bytes on disk.
#include <curl/curl.h>

#include <memory>
#include <mutex>

#include <fmt/format.h>

#include "hubload/transport.h"

namespace hubload {
namespace {

constexpr std::size_t kErrorBodyCap = 64 * 1024;

struct EasyDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using HeaderList = std::unique_ptr<curl_slist, SlistDeleter>;

// State shared with libcurl's callbacks for one transfer.
struct Exchange {
  const HttpRequest* request = nullptr;
  HttpResponse response;
  std::optional<Error> sink_error;
  CURL* handle = nullptr;
};

bool is_success(long status) { return status >= 200 && status < 300; }

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  std::string_view line(data, size * count);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {
    ex->response.headers = HttpHeaders();  // a new status line starts a new header block
    return size * count;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return size * count;
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  ex->response.headers.add(std::string(line.substr(0, colon)), std::string(value));
  return size * count;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  const std::size_t n = size * count;
  long status = 0;
  curl_easy_getinfo(ex->handle, CURLINFO_RESPONSE_CODE, &status);
  if (is_success(status) && ex->request->sink) {
    Status st = ex->request->sink(std::span<const char>(data, n));
    if (!st) {
      ex->sink_error = std::move(st).error();
      return 0;  // aborts the transfer
    }
    return n;
  }
  std::string& body = ex->response.body;
  const std::uint64_t cap = is_success(status) ? ex->request->max_collected_bytes : kErrorBodyCap;
  if (body.size() + n > cap) {
    if (is_success(status)) {
      ex->sink_error = invalid_input(fmt::format("{}: response body exceeds {} bytes",
                                                 ex->request->url, cap));
      return 0;
    }
    body.append(data, cap - body.size());  // keep the start of an error page, drop the rest
    return n;
  }
  body.append(data, n);
  return n;
}

class CurlTransport final : public Transport {
 public:
  Result<HttpResponse> send(const HttpRequest& request) override {
    EasyHandle handle(curl_easy_init());
    if (!handle) return internal_error("curl_easy_init failed");
    CURL* h = handle.get();
    Exchange ex;
    ex.request = &request;
    ex.handle = h;

    HeaderList headers;
    auto append = [&](const std::string& line) {
      curl_slist* next = curl_slist_append(headers.get(), line.c_str());
      if (next != nullptr) {
        (void)headers.release();
        headers.reset(next);
      }
    };
    bool has_encoding = request.headers.has("Accept-Encoding");
    for (const auto& [name, value] : request.headers.entries()) append(name + ": " + value);
    if (!has_encoding) append("Accept-Encoding: identity");
    append("Expect:");

    std::string range;
    if (request.range) {
      range = request.range->last ? fmt::format("{}-{}", request.range->first, *request.range->last)
                                  : fmt::format("{}-", request.range->first);
    }

    curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout_ms));
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
                     static_cast<long>(std::max(1, request.stall_timeout_ms / 1000)));
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &ex);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &ex);
    if (request.method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (request.method != "GET") {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    if (!range.empty()) curl_easy_setopt(h, CURLOPT_RANGE, range.c_str());

    CURLcode code = curl_easy_perform(h);
    if (ex.sink_error) return std::move(*ex.sink_error);
    if (code != CURLE_OK) {
      return network_error(fmt::format("{} {}: {}", request.method, request.url,
                                       curl_easy_strerror(code)));
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    ex.response.status = static_cast<int>(status);
    return std::move(ex.response);
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
