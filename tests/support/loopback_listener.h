// The plumbing the test servers share: a listening TCP socket on 127.0.0.1 at a
// free port, and joining the per-connection threads.
#pragma once

#include <mutex>
#include <thread>
#include <vector>

namespace hubload::testing {

// The socket (close-on-exec, backlog 64); its port goes to `port`. Throws
// std::runtime_error naming `who` when the socket cannot be bound.
int listen_on_loopback(int& port, const char* who);

// Joins every thread of `workers` (taken out under `mu`, so that an acceptor
// still adding one cannot race the join).
void join_workers(std::mutex& mu, std::vector<std::thread>& workers);

}  // namespace hubload::testing
