#!/usr/bin/env bash
# Installs every Debian 12 package that hubload's build, tests, fuzzing, demo and
# benchmarks need. Idempotent: packages already present are skipped, and apt is
# not touched at all when nothing is missing.
set -euo pipefail

packages=(
  build-essential g++ cmake make pkg-config   # toolchain
  libcurl4-openssl-dev                        # HTTP client (libcurl multi interface)
  libssl-dev                                  # SHA-256 / SHA-1 (OpenSSL EVP)
  nlohmann-json3-dev                          # JSON
  libcli11-dev                                # command-line parsing
  libfmt-dev                                  # formatting
  libcpp-httplib-dev                          # HTTP server for `hubload serve`
  liburing-dev                                # batched positional reads (io_uring) for the rank loader
  libre2-dev                                  # linear-time regular expressions for plan rules (user input)
  libgtest-dev libgmock-dev                   # unit and end-to-end tests
  libbenchmark-dev                            # micro-benchmarks
  clang                                       # libFuzzer targets
  curl aria2 time                             # benchmark baselines (time: peak RSS)
  python3                                     # demo / bench helper scripts
  python3-dev pybind11-dev python3-pybind11   # the Python extension (hubload._native, docs/python.md)
  python3-pip python3-setuptools python3-wheel  # pip install --no-build-isolation . (offline)
  python3-numpy python3-torch python3-pytest python3-tqdm  # the Python package's tests run, none skipped
  iproute2                                    # ss: a test reads the server's listen backlog
  ccache                                      # compiler cache: rebuilds of unchanged files are instant
  ca-certificates
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
