// gen_header_only: writes a header-only checkpoint (support/header_only.h) for
// benchmarking `hubload inspect` and `hubload plan` at the size of the largest
// published checkpoints.
//
//   gen_header_only LAYOUT DIR [--shards N]
//   gen_header_only --list TENSORS.txt --config CONFIG.json DIR [--shards N]
//   gen_header_only --layouts
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "hubload/file.h"
#include "support/header_only.h"

namespace {

int usage() {
  std::fputs(
      "usage: gen_header_only LAYOUT DIR [--shards N]\n"
      "       gen_header_only --list TENSORS.txt --config CONFIG.json DIR [--shards N]\n"
      "       gen_header_only --layouts\n"
      "TENSORS.txt: one 'name DTYPE d0,d1,...' per line.\n",
      stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace hubload;
  std::string layout_name, list_path, config_path, dir;
  int shards = 64;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--layouts") {
      for (const auto& l : bench::header_only_layouts()) {
        std::printf("%-14.*s %.*s\n", static_cast<int>(l.name.size()), l.name.data(),
                    static_cast<int>(l.description.size()), l.description.data());
      }
      return 0;
    } else if (arg == "--shards" && has_value) {
      shards = std::atoi(argv[++i]);
    } else if (arg == "--list" && has_value) {
      list_path = argv[++i];
    } else if (arg == "--config" && has_value) {
      config_path = argv[++i];
    } else if (!arg.starts_with("--") && layout_name.empty() && list_path.empty()) {
      layout_name = arg;
    } else if (!arg.starts_with("--") && dir.empty()) {
      dir = arg;
    } else {
      return usage();
    }
  }
  if (!list_path.empty() && !layout_name.empty() && dir.empty()) std::swap(dir, layout_name);
  if (dir.empty() || (layout_name.empty() == list_path.empty())) return usage();

  Result<bench::HeaderOnlyLayout> layout = invalid_input("no layout named '" + layout_name + "' (see --layouts)");
  if (!list_path.empty()) {
    if (config_path.empty()) return usage();
    Result<std::string> list = read_text_file(list_path);
    Result<std::string> config = read_text_file(config_path);
    if (!list || !config) {
      std::fprintf(stderr, "gen_header_only: %s\n", (!list ? list : config).error().to_string().c_str());
      return 1;
    }
    layout = bench::layout_from_list(*list, *config);
  } else {
    for (const auto& l : bench::header_only_layouts()) {
      if (l.name == layout_name) layout = l.make();
    }
  }
  if (!layout) {
    std::fprintf(stderr, "gen_header_only: %s\n", layout.error().to_string().c_str());
    return 1;
  }
  if (Status written = bench::write_header_only_checkpoint(dir, *layout, shards); !written) {
    std::fprintf(stderr, "gen_header_only: %s\n", written.error().to_string().c_str());
    return 1;
  }
  std::printf("%s: %zu tensors in %d shards\n", dir.c_str(), layout->tensors.size(), shards);
  return 0;
}
