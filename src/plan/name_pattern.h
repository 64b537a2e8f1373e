// Private: a regular expression searched in tensor names (rules files, the
// built-in family tables, required-tensor checks).
//
// RE2, not std::regex: a rules file is user input, and std::regex backtracks,
// so a pattern such as (a*)*b takes exponential time, and a long name can
// overflow the stack. RE2 matches in time linear in the name and bounds its
// memory. Its syntax is ECMAScript's without backreferences and lookaround.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "hubload/error.h"

namespace re2 {
class RE2;
}

namespace hubload::plan_internal {

class NamePattern {
 public:
  // Longer patterns are refused: no tensor-name rule needs one.
  static constexpr std::size_t kMaxLength = 4096;

  // invalid_input naming `source` and the pattern when it is too long or not a regex.
  static Result<NamePattern> compile(std::string pattern, std::string_view source);

  const std::string& pattern() const { return pattern_; }
  // Whether the pattern matches anywhere in `name`.
  bool search(std::string_view name) const;
  // Capture group `group` (1-based) of the first match anywhere in `name`.
  std::optional<std::string_view> search_group(std::string_view name, int group) const;

 private:
  std::string pattern_;
  std::shared_ptr<const re2::RE2> re_;  // shared: rules are copied, RE2 is not copyable
};

}  // namespace hubload::plan_internal
