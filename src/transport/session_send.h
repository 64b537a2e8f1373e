// send()'s contract (a sink for 2xx bodies, else a collected body with its
// caps) for one request run through a TransferSession, so that a transport's
// blocking send() and its sessions are one machinery: the libcurl transport
// and the tests' fault-injecting wrapper both build send() on it.
#pragma once

#include "hubload/transport.h"

namespace hubload::transport_internal {

Result<HttpResponse> send_through_session(TransferSession& session, const HttpRequest& request);

}  // namespace hubload::transport_internal
