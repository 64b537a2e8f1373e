// The Hub connection flags shared by commands that talk to a Hub
// (--endpoint, --revision, --token/--no-token, --cache-dir), and their
// translation into HubOptions with the environment read once, here.
#pragma once

#include <string>

#include "cli/command.h"
#include "hubload/hub.h"

namespace hubload::cli {

struct HubFlags {
  std::string revision = "main";
  std::string cache_dir;
  std::string token;
  bool no_token = false;
  std::string endpoint;
};

void add_hub_flags(CLI::App* app, HubFlags& flags);

// HubOptions from the flags plus read_hub_environment(). Warnings are printed
// to stderr by the caller's on_warning, if it sets one.
HubOptions hub_options(const HubFlags& flags);

}  // namespace hubload::cli
