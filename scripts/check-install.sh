#!/usr/bin/env bash
# Checks hubload as a consumer sees it, from a configured build tree:
#   1. `cmake --install` into a temporary prefix;
#   2. examples/ built against it twice: CMake find_package, and pkg-config;
#   3. both run on a generated model (scripts/gen-model.py), loading rank 1 of 2;
#   4. every `hubload ...` command in the README's tour parses (`--help`);
#   5. with --package: `make package`'s .deb declares its dependencies
#      (dpkg-deb -I) and the `hubload --version` extracted from it (dpkg -x) runs.
#
# Usage: bash scripts/check-install.sh BUILD_DIR [--package]
set -euo pipefail

BUILD=$(realpath "${1:?usage: check-install.sh BUILD_DIR [--package]}")
PACKAGE=${2:-}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hubload-install.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
PREFIX=$WORK/prefix
JOBS=$(nproc)

echo "== install into $PREFIX"
cmake --build "$BUILD" -j "$JOBS" >/dev/null --target hubload_cli hubload_core hubload_hub hubload_serve \
  hubload_core_static hubload_hub_static hubload_serve_static
cmake --install "$BUILD" --prefix "$PREFIX" >/dev/null
test -f "$PREFIX/include/hubload/version.h"
LIBDIR=$(dirname "$(find "$PREFIX" -name 'libhubload_core.so' | head -1)")
for lib in core hub serve; do
  readelf -d "$LIBDIR/libhubload_$lib.so" | grep -q "SONAME.*libhubload_$lib.so.[0-9]*\.[0-9]*\]" ||
    { echo "libhubload_$lib.so: no versioned SONAME" >&2; exit 1; }
  test -f "$LIBDIR/libhubload_$lib.a"
done
# Hidden by default: private code (hubload::*_internal) stays out of the dynamic
# symbols, except what a public header names (error.h's abort helpers that inline
# code calls, serve.h's opaque ServerImpl).
nm -DC --defined-only "$LIBDIR"/libhubload_*.so | cut -c20- | sed 's/(.*//' |
  grep -oE '[a-z_]+_internal::[A-Za-z_]+' | sort -u |
  while IFS= read -r symbol; do
    grep -q "${symbol##*::}" "$ROOT"/include/hubload/*.h ||
      { echo "a shared library exports private $symbol" >&2; exit 1; }
  done

echo "== example, CMake find_package(hubload COMPONENTS core)"
cmake -S "$ROOT/examples" -B "$WORK/example-cmake" -DCMAKE_PREFIX_PATH="$PREFIX" >/dev/null
cmake --build "$WORK/example-cmake" -j "$JOBS" >/dev/null

echo "== example, pkg-config"
export PKG_CONFIG_PATH="$LIBDIR/pkgconfig"
# shellcheck disable=SC2046  # pkg-config's output is a list of flags
g++ -o "$WORK/load_rank_pc" "$ROOT/examples/load_rank.cpp" $(pkg-config --cflags --libs hubload) \
  -Wl,-rpath,"$LIBDIR"

echo "== both run on a generated model"
python3 "$ROOT/scripts/gen-model.py" "$WORK/model" --preset small >/dev/null
LD_LIBRARY_PATH="$LIBDIR" "$WORK/example-cmake/load_rank" "$WORK/model" 2 1
"$WORK/load_rank_pc" "$WORK/model" 2 1

echo "== the README's tour: each hubload command parses"
"$PREFIX/bin/hubload" --version
# The tour's lines: those of the README's ```sh blocks that start with `hubload`.
awk '/^```sh/ {block = 1; next} /^```/ {block = 0} block' "$ROOT/README.md" |
  grep -oE '^ *hubload [a-z]+( [a-z]+)?( |$)' | sort -u | while read -r _ cmd sub; do
  # `hubload cache ls` has a subcommand; `hubload download REPO` an argument.
  args=("$cmd")
  if [[ -n "${sub:-}" ]] && "$PREFIX/bin/hubload" "$cmd" "$sub" --help >/dev/null 2>&1; then args+=("$sub"); fi
  "$PREFIX/bin/hubload" "${args[@]}" --help >/dev/null ||
    { echo "README: \`hubload ${args[*]}\` does not parse" >&2; exit 1; }
  echo "ok: hubload ${args[*]}"
done

if [[ "$PACKAGE" == --package ]]; then
  echo "== Debian package"
  rm -f "$BUILD"/hubload_*_amd64.deb  # one of an older version would be picked too
  (cd "$BUILD" && cpack -G DEB >/dev/null)
  DEB=$(ls "$BUILD"/hubload_*_amd64.deb)
  dpkg-deb -I "$DEB" | tee "$WORK/deb-info" | grep -E '^ (Package|Version|Depends):'
  for dep in libcurl4 libssl3 libfmt9 libcpp-httplib0.11 liburing2 libre2-9 libstdc++6; do
    grep -q "Depends:.*$dep" "$WORK/deb-info" || { echo "$DEB: does not depend on $dep" >&2; exit 1; }
  done
  dpkg -x "$DEB" "$WORK/deb"
  LD_LIBRARY_PATH="$WORK/deb/usr/lib" "$WORK/deb/usr/bin/hubload" --version
fi
echo "check-install: all passed"
