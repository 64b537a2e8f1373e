// The check most error tests make: a call failed, with the expected kind, and
// its message names the thing at fault.
#pragma once

#include <gtest/gtest.h>

#include <string_view>

#include "hubload/error.h"

namespace hubload::testing {

// For EXPECT_TRUE/ASSERT_TRUE: the failure text shows the whole error, so a
// wrong kind or message is diagnosed from the test log alone.
template <typename R>
::testing::AssertionResult fails_with(const R& result, ErrorKind kind, std::string_view needle = {}) {
  if (result.has_value()) return ::testing::AssertionFailure() << "succeeded; expected " << to_string(kind);
  const Error& error = result.error();
  if (error.kind() != kind || error.message().find(needle) == std::string::npos) {
    return ::testing::AssertionFailure() << "expected " << to_string(kind) << " naming \"" << needle << "\", got "
                                         << error.to_string();
  }
  return ::testing::AssertionSuccess();
}

}  // namespace hubload::testing
