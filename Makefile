# The two commands of the quick start:
#   make demo   installs what is missing, builds, trains the main example
#   make test   installs what is missing, builds, runs every test; then builds again
#               in $(SANITIZE_BUILD) with ASan + UBSan and runs every test there
# and:
#   make docs   installs Doxygen if missing, writes the API reference to
#               $(BUILD)/docs/html, fails on any warning (an undocumented symbol)
#   make fuzz   installs clang + libFuzzer if missing, builds fuzz/ in $(FUZZ_BUILD) and
#               runs each target for FUZZ_SECONDS, one after the other (see fuzz/README.md)
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
SANITIZE_BUILD ?= $(BUILD)-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= fuzz_idx fuzz_csv fuzz_serialize

.PHONY: all setup setup-docs setup-fuzz configure build test test-sanitize demo bench docs fuzz clean

all: build

setup:
	@bash scripts/setup.sh

configure: setup
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@echo "Gradient checks (float64, central differences; worst relative error per op):"
	@grep -h '^gradcheck worst' $(BUILD)/Testing/Temporary/LastTest.log | sed 's/^/  /'
	$(MAKE) --no-print-directory test-sanitize

# Every test again, built with -DTAPEGRAD_SANITIZE=ON: any ASan, LSan or UBSan report
# fails. consumer_install is left out: it installs the (instrumented, static) library and
# links a separate project against it, which would need the sanitizer runtime too; what
# it checks (the package) is the same as in the normal build, where it runs.
test-sanitize: setup
	cmake -S . -B $(SANITIZE_BUILD) -DCMAKE_BUILD_TYPE=Release -DTAPEGRAD_SANITIZE=ON \
	  -DTAPEGRAD_BUILD_BENCH=OFF $(CMAKE_FLAGS)
	cmake --build $(SANITIZE_BUILD) -j $(JOBS)
	cd $(SANITIZE_BUILD) && \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) -E '^consumer_install$$'

demo: build
	@if [ -x $(BUILD)/examples/mlp ]; then $(BUILD)/examples/mlp; \
	else $(BUILD)/examples/demo; fi

bench: build
	@for b in $(BUILD)/bench/*; do [ -x "$$b" ] && [ -f "$$b" ] && "$$b"; done

docs: setup-docs configure
	cmake --build $(BUILD) --target docs

setup-docs:
	@bash scripts/setup-docs.sh

setup-fuzz:
	@bash scripts/setup-fuzz.sh

# One fuzzer at a time, one job each, at the lowest priority (fuzz/run.sh); new inputs
# go to $(FUZZ_BUILD)/new-corpus/<target>, crashes to $(FUZZ_BUILD)/crashes/ (keep them
# in fuzz/regressions/<target>/: CI replays them; see fuzz/README.md).
fuzz: setup setup-fuzz
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ \
	  -DTAPEGRAD_FUZZ=ON -DTAPEGRAD_BUILD_TESTS=OFF -DTAPEGRAD_BUILD_EXAMPLES=OFF \
	  -DTAPEGRAD_BUILD_BENCH=OFF -DTAPEGRAD_INSTALL=OFF
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(FUZZ_TARGETS)
	bash fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

clean:
	rm -rf $(BUILD) $(SANITIZE_BUILD)
