# Beacon's build and test entry points. `make test` is what CI runs (.ci/run).
GO       ?= go
GOFLAGS  ?=
export CGO_ENABLED ?= 1

.PHONY: all build test setup vet unit fuzz-short fuzz bench check-demo demo clean

all: build

build:
	$(GO) build -o bin/ ./cmd/...

# setup installs the real peers the tests run against, when missing.
setup:
	bash scripts/setup-test-peers.sh

vet:
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 -timeout 15m ./...

# fuzz-short runs every fuzz target briefly, as CI does; fuzz runs them long.
fuzz-short:
	bash scripts/fuzz.sh 10s

fuzz:
	bash scripts/fuzz.sh 5m

# demo runs the simulated demo center and serves the manager's page; it
# prints the page's address and a demo manager token.
demo:
	$(GO) run ./cmd/beacon demo

check-demo: build
	./bin/beacon check -c configs/demo-center.yaml >/dev/null

test: setup vet check-demo unit fuzz-short

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin
