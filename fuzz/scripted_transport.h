// A Transport that answers from the fuzzer's input instead of a network, so a
// target can drive the real Hub client code over hostile answers. The input is
// a list of answers separated by a line "---"; each answer is a status line,
// header lines "Name: value", an empty line, then the body. Requests past the
// last answer get a 404.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "hubload/transport.h"

namespace hubload::fuzz {

inline HttpResponse parse_scripted_answer(std::string_view text) {
  HttpResponse response;
  response.status = 404;
  auto next_line = [&text]() {
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    return line;
  };
  const std::string_view status = next_line();
  int code = 0;
  for (char c : status.substr(0, 3)) code = c >= '0' && c <= '9' ? code * 10 + (c - '0') : 0;
  if (code >= 100) response.status = code;
  while (!text.empty()) {
    const std::string_view line = next_line();
    if (line.empty()) break;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    if (value.starts_with(' ')) value.remove_prefix(1);
    response.headers.add(std::string(line.substr(0, colon)), std::string(value));
  }
  response.body = std::string(text);
  return response;
}

class ScriptedTransport final : public Transport {
 public:
  explicit ScriptedTransport(std::string_view script) {
    while (!script.empty()) {
      const std::size_t split = script.find("\n---\n");
      answers_.push_back(parse_scripted_answer(script.substr(0, split)));
      script = split == std::string_view::npos ? std::string_view() : script.substr(split + 5);
    }
  }
  Result<HttpResponse> send(const HttpRequest& request) override {
    if (next_ >= answers_.size()) return HttpResponse{404, {}, {}};
    HttpResponse response = answers_[next_++];
    if (request.sink && response.status >= 200 && response.status < 300) {
      Status taken = request.sink(std::span<const char>(response.body.data(), response.body.size()));
      if (!taken) return std::move(taken).error();
      response.body.clear();
    }
    return response;
  }

 private:
  std::vector<HttpResponse> answers_;
  std::size_t next_ = 0;
};

}  // namespace hubload::fuzz
