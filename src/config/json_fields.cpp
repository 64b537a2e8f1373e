#include "config/json_fields.h"

#include <cmath>

namespace hubload::config_internal {
namespace {

std::string type_of(const nlohmann::json& v) {
  std::string t = v.type_name();
  if (v.is_string()) t += " \"" + v.get<std::string>().substr(0, 40) + "\"";
  return t;
}

// The first present key's value when `is_type` accepts it; invalid_input naming
// the key and the type it got otherwise.
template <class T>
Result<std::optional<T>> typed_field(const FieldReader& reader, std::initializer_list<std::string_view> keys,
                                     bool (nlohmann::json::*is_type)() const noexcept, std::string_view expected) {
  std::string_view key;
  const nlohmann::json* v = reader.find(keys, &key);
  if (!v) return std::optional<T>{};
  if (!(v->*is_type)()) {
    return invalid_input(reader.where(key) + " must be " + std::string(expected) + ", got " + type_of(*v));
  }
  return std::optional<T>{v->get<T>()};
}

}  // namespace

std::string FieldReader::where(std::string_view key) const {
  return std::string(source_) + ": key '" + prefix_ + std::string(key) + "'";
}

const nlohmann::json* FieldReader::find(std::initializer_list<std::string_view> keys,
                                        std::string_view* found) const {
  if (!obj_.is_object()) return nullptr;
  for (std::string_view k : keys) {
    auto it = obj_.find(k);
    if (it != obj_.end() && !it->is_null()) {
      if (found) *found = k;
      return &*it;
    }
  }
  return nullptr;
}

Result<std::optional<std::int64_t>> FieldReader::integer(std::initializer_list<std::string_view> keys,
                                                         std::int64_t min) const {
  std::string_view key;
  const nlohmann::json* v = find(keys, &key);
  if (!v) return std::optional<std::int64_t>{};
  std::int64_t n = 0;
  if (v->is_number_integer()) {
    if (v->is_number_unsigned() && v->get<std::uint64_t>() > static_cast<std::uint64_t>(kMaxSize)) {
      return invalid_input(where(key) + " value " + v->dump() + " is too large");
    }
    n = v->get<std::int64_t>();
  } else if (v->is_number_float()) {
    double d = v->get<double>();
    if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > static_cast<double>(kMaxSize)) {
      return invalid_input(where(key) + " must be an integer, got " + v->dump());
    }
    n = static_cast<std::int64_t>(d);
  } else {
    return invalid_input(where(key) + " must be an integer, got " + type_of(*v));
  }
  if (n < min) {
    return invalid_input(where(key) + " must be " + (min > 0 ? "positive" : "non-negative") + ", got " +
                         std::to_string(n));
  }
  if (n > kMaxSize) return invalid_input(where(key) + " value " + std::to_string(n) + " is too large");
  return std::optional<std::int64_t>{n};
}

Result<std::optional<std::int64_t>> FieldReader::size(std::initializer_list<std::string_view> keys) const {
  return integer(keys, 1);
}

Result<std::optional<std::int64_t>> FieldReader::count(std::initializer_list<std::string_view> keys) const {
  return integer(keys, 0);
}

Result<std::optional<bool>> FieldReader::boolean(std::initializer_list<std::string_view> keys) const {
  return typed_field<bool>(*this, keys, &nlohmann::json::is_boolean, "a boolean");
}

Result<std::optional<std::string>> FieldReader::string(std::initializer_list<std::string_view> keys) const {
  return typed_field<std::string>(*this, keys, &nlohmann::json::is_string, "a string");
}

Result<std::optional<double>> FieldReader::number(std::initializer_list<std::string_view> keys) const {
  return typed_field<double>(*this, keys, &nlohmann::json::is_number, "a number");
}

}  // namespace hubload::config_internal
