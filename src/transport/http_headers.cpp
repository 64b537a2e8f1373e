#include <strings.h>

#include "hubload/transport.h"

namespace hubload {
namespace {

bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

void HttpHeaders::set(std::string name, std::string value) {
  remove(name);
  add(std::move(name), std::move(value));
}

void HttpHeaders::add(std::string name, std::string value) {
  entries_.emplace_back(std::move(name), std::move(value));
}

std::optional<std::string> HttpHeaders::get(std::string_view name) const {
  for (const auto& [key, value] : entries_) {
    if (same_name(key, name)) return value;
  }
  return std::nullopt;
}

void HttpHeaders::remove(std::string_view name) {
  std::erase_if(entries_, [&](const auto& entry) { return same_name(entry.first, name); });
}

}  // namespace hubload
