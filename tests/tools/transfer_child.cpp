// The download that transfer_crash_test kills and races: `transfer_child URL DEST
// SIZE SHA256`, with fast_transfer_options(): a 10 ms journal, so that kills land
// between journal saves, and the default sync delay, so a kill resumes from the
// written claims (journal.h). Exit 0 = published, 1 = failed (reason on stderr),
// 2 = usage.
#include <cstdio>
#include <span>

#include "hubload/transfer.h"
#include "support/transfer_child.h"
#include "support/transfer_data.h"

int main(int argc, char** argv) {
  auto file = hubload::testing::file_from_child_arguments(argc, argv);
  if (!file) {
    std::fputs("usage: transfer_child URL DEST SIZE SHA256\n", stderr);
    return 2;
  }
  auto r = hubload::download_files(std::span(&*file, 1), hubload::testing::fast_transfer_options());
  if (!r) {
    std::fprintf(stderr, "transfer_child: %s\n", r.error().to_string().c_str());
    return 1;
  }
  return 0;
}
