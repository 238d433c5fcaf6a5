# The two commands of the quick start:
#   make demo   installs what is missing, builds, trains the main example
#   make test   installs what is missing, then fails on the first of: a source file
#               clang-format would change; a build warning (-Werror on every target);
#               a failing test; the same tests built with ASan + UBSan ($(SANITIZE_BUILD));
#               an include against the rooms' order (scripts/check-layout.sh);
#               the thread-pool suites built with ThreadSanitizer ($(TSAN_BUILD)); a
#               Doxygen warning (make docs); a clang-tidy finding (make tidy)
# and:
#   make format installs clang-format if missing, formats every source file in place
#   make tidy   runs clang-tidy (.clang-tidy) over the library's, examples', benchmarks'
#               and fuzz drivers' sources changed since .ci/tidy-base; any finding fails
#               (make tidy-all: over every one)
#   make docs   installs Doxygen if missing, writes the API reference to
#               $(BUILD)/docs/html, fails on any warning (an undocumented symbol)
#   make fuzz   installs clang + libFuzzer if missing, builds fuzz/ in $(FUZZ_BUILD) and
#               runs each target for FUZZ_SECONDS, one after the other (see fuzz/README.md)
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
SANITIZE_BUILD ?= $(BUILD)-asan
TSAN_BUILD ?= $(BUILD)-tsan
# The suites that drive the thread pool, and two training threads at once.
TSAN_TESTS ?= test_threads test_determinism test_engine test_data test_conv
# Every C++ file of the project, for clang-format (scripts/tidy.sh lists clang-tidy's).
SOURCES = $(shell git ls-files '*.cpp' '*.hpp')
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= fuzz_idx fuzz_csv fuzz_serialize fuzz_safetensors

.PHONY: all setup setup-docs setup-fuzz configure build test test-sanitize test-tsan demo bench \
  docs fuzz format format-check check-layout tidy tidy-all tidy-base clean

all: build

setup:
	@bash scripts/setup.sh

# Also links compile_commands.json at the root, where editors (clangd) look for it.
configure: setup
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DTAPEGRAD_REQUIRE_MPI=ON $(CMAKE_FLAGS)
	@ln -sf $(BUILD)/compile_commands.json compile_commands.json

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: format-check check-layout build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@echo "Gradient checks (float64, central differences; worst relative error per op):"
	@grep -h '^gradcheck worst' $(BUILD)/Testing/Temporary/LastTest.log | sed 's/^/  /'
	$(MAKE) --no-print-directory test-sanitize
	$(MAKE) --no-print-directory test-tsan
	$(MAKE) --no-print-directory docs
	$(MAKE) --no-print-directory tidy

# The suites again, built with -DTAPEGRAD_SANITIZE=ON: any ASan, LSan or UBSan report
# fails. Left out, for CI's 20 minutes on 2 cores: the example programs and the
# documents' snippets (they run the library code the suites run; the normal build
# builds and tests them), consumer_install (it installs the instrumented static library
# and links a separate project against it, which would need the sanitizer runtime too;
# what it checks, the package, is the same as in the normal build, where it runs), the
# compile_fail tests (they run the compiler, not tapegrad) and the lessons (label lesson).
test-sanitize: setup
	cmake -S . -B $(SANITIZE_BUILD) -DCMAKE_BUILD_TYPE=Release -DTAPEGRAD_SANITIZE=ON \
	  -DTAPEGRAD_BUILD_BENCH=OFF -DTAPEGRAD_BUILD_EXAMPLES=OFF -DTAPEGRAD_DOC_SNIPPETS=OFF \
	  $(CMAKE_FLAGS)
	cmake --build $(SANITIZE_BUILD) -j $(JOBS)
	cd $(SANITIZE_BUILD) && \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) -E '^(consumer_install|compile_fail_.*)$$' -LE '^lesson$$'

# The suites of TSAN_TESTS built with -DTAPEGRAD_TSAN=ON: any data race fails.
# OpenBLAS is not instrumented, but it runs on one thread inside tapegrad's pool.
test-tsan: setup
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Release -DTAPEGRAD_TSAN=ON \
	  -DTAPEGRAD_BUILD_BENCH=OFF -DTAPEGRAD_BUILD_EXAMPLES=OFF -DTAPEGRAD_INSTALL=OFF $(CMAKE_FLAGS)
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target $(TSAN_TESTS)
	cd $(TSAN_BUILD) && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --output-on-failure -j $(JOBS) \
	  -R '^($(subst $(eval) ,|,$(patsubst test_%,%,$(TSAN_TESTS)))|threads_env_[12])$$'

# The include rule of the house: rooms include only downward (scripts/check-layout.sh).
check-layout:
	@bash scripts/check-layout.sh

format: setup
	clang-format -i $(SOURCES)

format-check: setup
	@clang-format --dry-run --Werror $(SOURCES) \
	  || { echo "format-check: run 'make format' to fix the files above" >&2; exit 1; }
	@echo "format-check: $(words $(SOURCES)) files formatted"

# make tidy (make test, CI): the sources changed since .ci/tidy-base, at which every
# source was clean; make tidy-all: every source; make tidy-base: tidy-all, then records
# HEAD in .ci/tidy-base (commit it). See scripts/tidy.sh.
tidy: configure
	@bash scripts/tidy.sh $(BUILD) $(JOBS) changed

tidy-all: configure
	@bash scripts/tidy.sh $(BUILD) $(JOBS) all

tidy-base: tidy-all
	git rev-parse HEAD > .ci/tidy-base
	@echo "tidy-base: $$(cat .ci/tidy-base); commit .ci/tidy-base"

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
	rm -rf $(BUILD) $(SANITIZE_BUILD) $(TSAN_BUILD)
