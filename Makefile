# hfhost — the two commands a fresh machine needs are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
BIN := bin
PLUGINS := cpu
GO_PACKAGES := ./sdk/... ./host/... ./plugins/cpu/...
export HFHOST_ORT_LIB ?= $(shell scripts/fetch-ort.sh 2>/dev/null)

.PHONY: all build plugins run test vet fmt-check proto proto-check ort fixtures bench lint clean

all: build

## ort: fetch the ONNX Runtime library into the cache (checksum-verified, idempotent)
ort:
	@scripts/fetch-ort.sh >/dev/null

## build: the hfhost CLI and every backend plugin this machine can build
build: plugins
	$(GO) build -o $(BIN)/hfhost ./host/cmd/hfhost

plugins:
	@for p in $(PLUGINS); do $(GO) build -o $(BIN)/hfhost-plugin-$$p ./plugins/$$p || exit 1; done

## run: classify the built-in sample digits with the built-in MNIST-8 model
run: ort build
	HFHOST_ORT_LIB=$$(scripts/fetch-ort.sh) $(BIN)/hfhost run --pipeline vision

## test: vet, staticcheck, formatting, generated-code check and every Go test
test: ort build vet lint fmt-check proto-check
	HFHOST_ORT_LIB=$$(scripts/fetch-ort.sh) $(GO) test -count=1 -timeout 30m $(GO_PACKAGES)

vet:
	$(GO) vet $(GO_PACKAGES)

fmt-check:
	@out=$$(gofmt -l sdk host plugins); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## proto: regenerate sdk/internal/proto/executorv1 (pinned generators)
proto:
	scripts/gen-proto.sh

## proto-check: fail if regenerating the protocol code changes it
proto-check:
	@if command -v protoc >/dev/null; then \
	  scripts/gen-proto.sh && git diff --exit-code -- sdk/internal/proto || { echo "generated protocol code is stale: run make proto"; exit 1; }; \
	else echo "proto-check skipped: protoc not installed (apt-get install protobuf-compiler)"; fi

## fixtures: regenerate every reference fixture with the pinned Python stack (slow; needs PyPI)
fixtures:
	tools/fixtures/generate.sh

## bench: plugin-boundary and preprocessing benchmarks (see PERFORMANCE.md)
bench: ort build
	HFHOST_ORT_LIB=$$(scripts/fetch-ort.sh) $(GO) test -run '^$$' -bench . -benchmem -count 6 ./plugins/cpu/ ./host/preprocess/...

## lint: staticcheck at a pinned version
lint:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(GO_PACKAGES)

clean:
	rm -rf $(BIN)
