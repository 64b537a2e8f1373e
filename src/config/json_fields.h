// Typed, checked reads of config.json keys. Every failure names the file and the
// key as written ("text_config.num_attention_heads"), so a bad config is fixable
// from the message alone.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "hubload/error.h"

namespace hubload::config_internal {

class FieldReader {
 public:
  // `obj` must outlive the reader. `prefix` is "" or "text_config." for messages.
  FieldReader(const nlohmann::json& obj, std::string_view source, std::string prefix)
      : obj_(obj), source_(source), prefix_(std::move(prefix)) {}

  // The first key present with a non-null value, or nullptr.
  const nlohmann::json* find(std::initializer_list<std::string_view> keys, std::string_view* found = nullptr) const;

  // A size (> 0): integer, or a float with an integral value.
  Result<std::optional<std::int64_t>> size(std::initializer_list<std::string_view> keys) const;
  // A count (>= 0), e.g. n_shared_experts.
  Result<std::optional<std::int64_t>> count(std::initializer_list<std::string_view> keys) const;
  Result<std::optional<bool>> boolean(std::initializer_list<std::string_view> keys) const;
  Result<std::optional<std::string>> string(std::initializer_list<std::string_view> keys) const;
  Result<std::optional<double>> number(std::initializer_list<std::string_view> keys) const;

  // "<source>: key 'text_config.num_attention_heads'"
  std::string where(std::string_view key) const;
  std::string_view source() const { return source_; }

 private:
  Result<std::optional<std::int64_t>> integer(std::initializer_list<std::string_view> keys,
                                              std::int64_t min) const;
  const nlohmann::json& obj_;
  std::string_view source_;
  std::string prefix_;
};

// Largest size accepted for any dimension: bounds every product the estimate forms.
inline constexpr std::int64_t kMaxSize = std::int64_t{1} << 40;

}  // namespace hubload::config_internal
