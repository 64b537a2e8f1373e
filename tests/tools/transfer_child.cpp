// The download that transfer_crash_test kills and races: `transfer_child URL DEST
// SIZE SHA256`. Exit 0 = published, 1 = failed (reason on stderr), 2 = usage.
#include <cstdio>
#include <span>

#include "hubload/transfer.h"
#include "support/transfer_child.h"

int main(int argc, char** argv) {
  auto file = hubload::testing::file_from_child_arguments(argc, argv);
  if (!file) {
    std::fputs("usage: transfer_child URL DEST SIZE SHA256\n", stderr);
    return 2;
  }
  auto r = hubload::download_files(std::span(&*file, 1), hubload::testing::child_transfer_options());
  if (!r) {
    std::fprintf(stderr, "transfer_child: %s\n", r.error().to_string().c_str());
    return 1;
  }
  return 0;
}
