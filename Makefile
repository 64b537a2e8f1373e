# hubload's entry points. `make test` and `make demo` install the Debian
# dependencies first (idempotent), then build incrementally.
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
FUZZ_SECONDS ?= 60

.PHONY: all deps configure build test demo cli install-check package asan-test fuzz bench clean

all: build

deps:
	bash scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHUBLOAD_PYTHON=ON $(CMAKE_FLAGS)

configure: deps $(BUILD)/CMakeCache.txt

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The same suite built with AddressSanitizer and UndefinedBehaviorSanitizer.
# Without the Python package: an extension built with ASan loads only into an
# interpreter started with the ASan runtime preloaded (LD_PRELOAD=libasan.so).
asan-test: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DHUBLOAD_SANITIZE=ON -DHUBLOAD_BUILD_BENCH=OFF -DHUBLOAD_PYTHON=OFF
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS)

# libFuzzer targets under clang, each run for FUZZ_SECONDS.
fuzz: deps
	CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHUBLOAD_FUZZ=ON -DHUBLOAD_BUILD_TESTS=OFF -DHUBLOAD_BUILD_BENCH=OFF
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers
	bash scripts/run-fuzzers.sh $(FUZZ_BUILD)/fuzz $(FUZZ_SECONDS)

# Only what the demo runs: the CLI (and the libraries it links), no tests or benchmarks.
cli: configure
	cmake --build $(BUILD) -j $(JOBS) --target hubload_cli

demo: cli
	bash scripts/demo.sh $(BUILD)/bin/hubload

# Install into a temporary prefix and build examples/ against it (CMake and pkg-config).
install-check: configure
	bash scripts/check-install.sh $(BUILD)

# hubload_<version>_amd64.deb in $(BUILD), checked as install-check does and more.
package: configure
	bash scripts/check-install.sh $(BUILD) --package

bench: build
	bash bench/run-all.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
