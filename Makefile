# Junction: the two commands a newcomer needs are `make run` and `make test`.
.PHONY: all deps build release run test bench fuzz format clean

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

# Shows the tool on the sample message (the engine itself arrives with `junction serve`).
run: release
	@scripts/demo build/release/apps/junction/junction

test: build
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
