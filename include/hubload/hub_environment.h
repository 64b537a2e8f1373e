// The environment variables the Hub client honours, read in ONE place
// (read_hub_environment) into a plain struct that is passed down as an option,
// so tests build their own values and nothing below reads getenv.
#pragma once
#pragma GCC visibility push(default)  // public API: exported by the shared libraries (see CMake)

#include <filesystem>
#include <optional>
#include <string>

#include "hubload/transfer.h"

namespace hubload {

struct HubEnvironment {
  std::optional<std::string> hf_hub_cache;           // HF_HUB_CACHE
  std::optional<std::string> huggingface_hub_cache;  // HUGGINGFACE_HUB_CACHE (legacy)
  std::optional<std::string> hf_home;                // HF_HOME
  std::optional<std::string> xdg_cache_home;         // XDG_CACHE_HOME
  std::optional<std::string> home;                   // HOME (for ~ and the default cache)
  std::optional<std::string> hf_endpoint;            // HF_ENDPOINT
  std::optional<std::string> hf_hub_offline;         // HF_HUB_OFFLINE
  std::optional<std::string> transformers_offline;   // TRANSFORMERS_OFFLINE
  std::optional<std::string> hf_token;               // HF_TOKEN
  std::optional<std::string> hugging_face_hub_token; // HUGGING_FACE_HUB_TOKEN (legacy)
  std::optional<std::string> hf_token_path;          // HF_TOKEN_PATH
  std::optional<std::string> hf_hub_download_timeout; // HF_HUB_DOWNLOAD_TIMEOUT (seconds)
  std::optional<std::string> hf_hub_etag_timeout;     // HF_HUB_ETAG_TIMEOUT (seconds)
};

// Reads the process environment. The only getenv of the Hub client.
HubEnvironment read_hub_environment();

// HF_HUB_CACHE > HUGGINGFACE_HUB_CACHE > $HF_HOME/hub >
// $XDG_CACHE_HOME/huggingface/hub > ~/.cache/huggingface/hub, with ~ expanded.
std::filesystem::path hub_cache_root(const HubEnvironment& env);

// $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface.
std::filesystem::path hf_home(const HubEnvironment& env);

// HF_ENDPOINT without a trailing '/', default https://huggingface.co.
std::string hub_endpoint(const HubEnvironment& env);

// HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) is 1/ON/YES/TRUE, any case.
bool hub_offline(const HubEnvironment& env);

// HF_HUB_DOWNLOAD_TIMEOUT over `transfer.stall_timeout` and HF_HUB_ETAG_TIMEOUT
// over `transfer.metadata_timeout`, in seconds (fractions allowed), as
// huggingface_hub reads them. A value that is not a positive number of at most
// a day is ignored, and the default stays.
void apply_hub_timeouts(const HubEnvironment& env, TransferOptions& transfer);

}  // namespace hubload
#pragma GCC visibility pop
