# The two README commands, `make demo` and `make test`, and their helpers. Each installs what is
# missing (Debian packages), configures once, and builds incrementally.
BUILD ?= build
MAKEFLAGS += --no-print-directory
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

# Build and test dependencies, as Debian package names.
PACKAGES := cmake g++ make pkg-config tao-pegtl-dev libre2-dev libsimdjson-dev libcli11-dev libyaml-cpp-dev libspdlog-dev \
            nlohmann-json3-dev catch2 python3 python3-jsonschema python3-yaml graphviz libgraphviz-dev \
            libsqlitecpp-dev libsqlite3-dev sqlite3 libssl-dev libcpp-httplib-dev libpq-dev
# Only for `make test`: Debian's AWS CLI v2 (/usr/bin/aws; the pip CLI v1 and boto3 come with the image), the
# PostgreSQL server whose throwaway cluster the PostgreSQL half of the tests runs on, and Debian's Chromium for
# the console's browser test (Playwright drives it; no browser download).
TEST_PACKAGES := awscli curl postgresql chromium nodejs $(if $(shell command -v npm),,npm)
# NodeSource's nodejs bundles npm and conflicts with Debian's npm package: ask for it only if missing.
# Only for `make fuzz`: libFuzzer comes with clang.
FUZZ_PACKAGES := clang libclang-rt-dev
BENCH_PACKAGES := libbenchmark-dev nodejs $(if $(shell command -v npm),,npm) libsqlitecpp-dev \
                  libsqlite3-dev
SELLERFLOW := $(BUILD)/src/sellerflow

.PHONY: all deps build test demo bench bench-store test-asan crash-test load-test fuzz format clean

all: build

deps:
	@sh scripts/ensure-packages.sh $(PACKAGES)

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: build
	@sh scripts/ensure-packages.sh $(TEST_PACKAGES)
	@test -d tests/console/node_modules/playwright || \
	  (cd tests/console && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

demo: build
	@sh scripts/demo.sh $(SELLERFLOW)

# Builds only what the benchmark runs.
bench:
	@sh scripts/ensure-packages.sh $(PACKAGES) $(BENCH_PACKAGES)
	cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DSELLERFLOW_BENCH=ON
	cmake --build build-bench -j $(JOBS) --target rules_bench policy_bench serve_load sellerflow
	@sh bench/run.sh build-bench

# The shared workload on PostgreSQL with 1, 2 and 4 processes beside SQLite (bench/pg/run.sh).
bench-store: build
	@sh scripts/ensure-packages.sh $(TEST_PACKAGES)
	@sh bench/pg/run.sh $(SELLERFLOW)

test-asan: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSELLERFLOW_SANITIZE=ON
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ctest --output-on-failure -j $(JOBS)

# SIGKILL during a replay, then resume: a hundred trials (make test runs ten). SEED=S reruns one.
crash-test: build
	python3 tests/proof/crash_test.py $(SELLERFLOW) . --trials $(or $(TRIALS),100) $(if $(SEED),--seed $(SEED))

# Two and four processes on one store, 5,000 commands each, and a lock held past the busy timeout.
load-test: build
	python3 tests/proof/concurrency_test.py $(SELLERFLOW) . --workers 2 4 --commands 5000 --reviews 40

# libFuzzer targets (rule language, workflow loader, change-set reader) under ASan and UBSan, in
# their own build dir, each run for FUZZ_SECONDS (60); seeds come from the repository's examples.
fuzz:
	@sh scripts/ensure-packages.sh $(PACKAGES) $(FUZZ_PACKAGES)
	cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ -DSELLERFLOW_FUZZ=ON
	cmake --build build-fuzz -j $(JOBS) --target rules_fuzz workflow_fuzz change_set_fuzz
	@sh scripts/fuzz.sh build-fuzz

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD) build-bench build-asan build-fuzz
