// Checks of the Hub's answers as a client sees them, made alike over the
// in-process fake transport (hub_client_test) and over HTTP against
// `hubload serve` (hub_e2e_test).
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "hubload/hub.h"

namespace hubload::testing {

// `repo` is gated and `token` opens it. With `options` as given (no token) and
// then with a wrong token, the download fails as gated, and the message never
// shows the token sent; with `token` it succeeds.
::testing::AssertionResult gated_repo_opens_only_with(DownloadOptions options, const std::string& repo,
                                                      const std::string& token);

// The Hub's three not-found answers, each a not_found error: a repo that does not
// exist, a revision of the model `repo` that does not, and a file of its `main`
// (commit `main_commit`) that does not, which leaves its .no_exist marker in the
// cache of `options` so that asking again needs no request.
::testing::AssertionResult hub_answers_not_found(DownloadOptions options, const std::string& repo,
                                                 const std::string& main_commit);

}  // namespace hubload::testing
