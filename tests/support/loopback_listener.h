// A listening TCP socket on 127.0.0.1 at a free port, for the test servers.
#pragma once

namespace hubload::testing {

// The socket (close-on-exec, backlog 64); its port goes to `port`. Throws
// std::runtime_error naming `who` when the socket cannot be bound.
int listen_on_loopback(int& port, const char* who);

}  // namespace hubload::testing
