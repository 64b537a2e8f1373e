#include "plan/name_pattern.h"

#include <re2/re2.h>

#include <vector>

namespace hubload::plan_internal {

Result<NamePattern> NamePattern::compile(std::string pattern, std::string_view source) {
  if (pattern.size() > kMaxLength)
    return invalid_input(std::string(source) + ": a pattern of " + std::to_string(pattern.size()) +
                         " characters is longer than the " + std::to_string(kMaxLength) + " allowed");
  RE2::Options options;
  options.set_log_errors(false);  // the library never prints; the error is returned
  auto re = std::make_shared<const re2::RE2>(pattern, options);
  if (!re->ok())
    return invalid_input(std::string(source) + ": pattern '" + pattern + "' is not a valid regular expression: " +
                         re->error());
  NamePattern p;
  p.pattern_ = std::move(pattern);
  p.re_ = std::move(re);
  return p;
}

bool NamePattern::search(std::string_view name) const { return RE2::PartialMatch(name, *re_); }

std::optional<std::string_view> NamePattern::search_group(std::string_view name, int group) const {
  if (group < 1 || group > re_->NumberOfCapturingGroups()) return std::nullopt;
  std::vector<re2::StringPiece> groups(static_cast<std::size_t>(group) + 1);
  if (!re_->Match(name, 0, name.size(), RE2::UNANCHORED, groups.data(), static_cast<int>(groups.size())))
    return std::nullopt;
  const re2::StringPiece g = groups[static_cast<std::size_t>(group)];
  if (g.data() == nullptr) return std::nullopt;
  return std::string_view(g.data(), g.size());
}

}  // namespace hubload::plan_internal
