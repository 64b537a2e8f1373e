// The server's listening sockets accept a burst of connections: the backlog is
// raised past cpp-httplib's 5, which made a client opening 8 ranged connections
// at once wait 1 s for a SYN retransmit (bench/RESULTS.md). Read with ss(8).
#include <gtest/gtest.h>

#include <sstream>

#include "support/serve_fixture.h"

namespace hubload::testing {
namespace {

// The Send-Q column of a listening TCP socket is its backlog limit.
long listen_backlog(const std::string& url) {
  std::string port = url.substr(url.rfind(':') + 1);
  CommandResult r = run_command("ss -Hlnt 'sport = :" + port + "'");
  EXPECT_EQ(r.exit_code, 0) << "ss (iproute2) must be installed";
  std::istringstream line(r.out);
  std::string state;
  long recv_q = -1, send_q = -1;
  line >> state >> recv_q >> send_q;
  EXPECT_EQ(state, "LISTEN") << r.out;
  return send_q;
}

TEST(ServeListen, BacklogTakesABurstOfConnections) {
  FakeHub hub;
  hub.model("acme/tiny").branch("main", {{"config.json", "{}"}});
  hub.start(FakeHubOptions().with_cdn());
  EXPECT_GE(listen_backlog(hub.url()), 128);
  EXPECT_GE(listen_backlog(hub.cdn_url()), 128);
}

}  // namespace
}  // namespace hubload::testing
