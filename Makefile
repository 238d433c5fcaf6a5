# The two commands of the quick start:
#   make demo   installs what is missing, builds, trains the main example
#   make test   installs what is missing, builds, runs every test
# and:
#   make docs   installs Doxygen if missing, writes the API reference to
#               $(BUILD)/docs/html, fails on any warning (an undocumented symbol)
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all setup setup-docs configure build test demo bench docs clean

all: build

setup:
	@bash scripts/setup.sh

configure: setup
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

demo: build
	@if [ -x $(BUILD)/examples/mlp ]; then $(BUILD)/examples/mlp; \
	else $(BUILD)/examples/demo; fi

bench: build
	@for b in $(BUILD)/bench/*; do [ -x "$$b" ] && [ -f "$$b" ] && "$$b"; done

docs: setup-docs configure
	cmake --build $(BUILD) --target docs

setup-docs:
	@bash scripts/setup-docs.sh

clean:
	rm -rf $(BUILD)
