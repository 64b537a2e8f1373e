// When to try again: server-requested waits (Retry-After, the Hub's RateLimit
// header) and exponential backoff with jitter. Pure functions, table-tested.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace hubload::transfer_internal {

// `Retry-After: <seconds>`. An HTTP-date is not understood (as in huggingface_hub).
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value);

// `RateLimit: "api";r=0;t=55` (IETF draft, several policies comma-separated):
// the largest t of the policies whose remaining quota r is 0 (or of all of them
// when none states r).
std::optional<std::chrono::seconds> parse_ratelimit_reset(std::string_view value);

// How long to wait before attempt number `attempt` (1 = first retry):
// min(max, base * 2^(attempt-1)), scaled by a jitter factor in [0.5, 1]
// (`unit_random` in [0, 1)).
std::chrono::milliseconds backoff_delay(int attempt, std::chrono::milliseconds base,
                                        std::chrono::milliseconds max, double unit_random);

// HTTP statuses worth retrying: 408, 429 and 5xx.
bool is_retryable_status(long status);

}  // namespace hubload::transfer_internal
