// Table-driven tests whose rows check only some fields: one assertion compares a
// row's set fields with the values, naming each field that differs.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <optional>
#include <tuple>
#include <utility>

namespace hubload::testing {

// want[i] == nullopt: field i is not checked; else got[i] must equal *want[i] (got[i]
// may itself be an optional). Field i is named names[i] in the failure text.
template <typename... W, typename... G>
::testing::AssertionResult fields_match(const std::tuple<std::optional<W>...>& want, const std::tuple<G...>& got,
                                        const char* const (&names)[sizeof...(W)]) {
  static_assert(sizeof...(W) == sizeof...(G), "one value per expected field");
  ::testing::AssertionResult result = ::testing::AssertionSuccess();
  bool ok = true;
  auto one = [&](std::size_t i, const auto& w, const auto& g) {
    if (!w || g == *w) return;
    if (ok) result = ::testing::AssertionFailure();
    ok = false;
    result << names[i] << " is " << ::testing::PrintToString(g) << ", not " << ::testing::PrintToString(*w) << "; ";
  };
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (one(I, std::get<I>(want), std::get<I>(got)), ...);
  }(std::index_sequence_for<W...>{});
  return result;
}

}  // namespace hubload::testing
