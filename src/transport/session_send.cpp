#include "transport/session_send.h"

#include <fmt/format.h>

namespace hubload::transport_internal {

Result<HttpResponse> send_through_session(TransferSession& session, const HttpRequest& request) {
  // Enough of an error page for a message; the rest is dropped.
  constexpr std::size_t kErrorBodyCap = 64 * 1024;
  HttpResponse response;
  std::optional<Error> sink_error;
  std::optional<Status> done;
  TransferHandler handler;
  handler.on_response = [&](int status, const HttpHeaders& headers) {
    response.status = status;
    response.headers = headers;
  };
  handler.on_body = [&](std::span<const char> chunk) {
    const bool success = response.status >= 200 && response.status < 300;
    if (success && request.sink) {
      Status st = request.sink(chunk);
      if (!st) sink_error = std::move(st).error();
      return st.has_value();
    }
    const std::uint64_t cap = success ? request.max_collected_bytes : kErrorBodyCap;
    if (response.body.size() + chunk.size() > cap) {
      if (success) {
        sink_error = invalid_input(fmt::format("{}: response body exceeds {} bytes", request.url, cap));
        return false;
      }
      response.body.append(chunk.data(), cap - response.body.size());
      return true;
    }
    response.body.append(chunk.data(), chunk.size());
    return true;
  };
  handler.on_done = [&](Status result) { done = std::move(result); };
  HUBLOAD_TRY(session.start(request, std::move(handler)));
  while (!done) HUBLOAD_TRY(session.poll(std::chrono::milliseconds(50)));
  if (sink_error) return std::move(*sink_error);
  HUBLOAD_TRY(std::move(*done));
  return response;
}

}  // namespace hubload::transport_internal
