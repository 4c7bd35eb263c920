# Junction: the two commands a newcomer needs are `make run` and `make test`.
.PHONY: all deps build release run demo test bench fuzz format clean

JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60

all: build

deps:
	@scripts/install-deps

build: deps
	cmake --preset test >/dev/null
	cmake --build --preset test -j $(JOBS)

release: deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)

# The engine with its embedded SQLite store under ./var/, MLLP on 127.0.0.1:2575.
run: release
	build/release/apps/junction/junction serve --config conf/junction.yaml

# A tour of the command-line tool on the sample messages.
demo: release
	@scripts/demo build/release/apps/junction/junction

# npm packages (real peers, FHIR schema validation) come from committed lock files.
test: build
	tests/integration/install-node-deps.sh
	@if [ -x tests/fhir-validate/install.sh ]; then tests/fhir-validate/install.sh; fi
	ctest --preset test -j $(JOBS)

bench: release
	bench/run-all.sh build/release

fuzz: deps
	cmake --preset fuzz >/dev/null
	cmake --build --preset fuzz -j $(JOBS)
	fuzz/run-all.sh build/fuzz $(FUZZ_SECONDS)

format:
	find include src apps tests bench fuzz -name '*.h' -o -name '*.cpp' | xargs clang-format -i

clean:
	rm -rf build
