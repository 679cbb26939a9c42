# otelcol-aiops. `make demo` and `make test` work on a fresh machine with Go,
# npm and make; everything else is fetched and pinned here.
SHELL := /bin/bash
GO ?= go
# purego loads the engine at run time: no cgo anywhere.
export CGO_ENABLED := 0
export AIOPS_DATA_DIR ?= ./data

OCB_VERSION := v0.161.0
TOOLS := $(CURDIR)/.tools/bin
OCB := $(TOOLS)/builder

.PHONY: all build libchdb ocb generate test fuzz soak bench demo fmt vet clean captures

all: build

build:
	$(GO) build -trimpath -o bin/otelcol-aiops ./cmd/otelcol-aiops
	$(GO) build -trimpath -o bin/aiops-loadgen ./cmd/aiops-loadgen
	$(GO) build -trimpath -o bin/aiops-simulator ./cmd/aiops-simulator
	$(GO) build -trimpath -o bin/aiops-mockprovider ./cmd/aiops-mockprovider

# The embedded ClickHouse engine, pinned by version and sha256, into the user cache.
libchdb:
	./scripts/fetch-libchdb.sh

ocb: $(OCB)
$(OCB):
	GOBIN=$(TOOLS) $(GO) install go.opentelemetry.io/collector/cmd/builder@$(OCB_VERSION)

# Regenerates the distribution's sources from builder-config.yaml. ocb's
# main_others.go and main_windows.go are replaced by cmd/otelcol-aiops/run.go.
generate: ocb
	$(OCB) --config builder-config.yaml --skip-compilation --skip-get-modules
	rm -f cmd/otelcol-aiops/main_others.go cmd/otelcol-aiops/main_windows.go

vet:
	$(GO) vet ./...

fmt:
	gofmt -l -w $$(git ls-files '*.go' | grep -v '^cmd/otelcol-aiops/\(main\|components\).go$$')

# The whole suite, on the real embedded engine. OCB lets the regeneration test
# find the pinned builder; AIOPS_BIN gives the crash tests the built binary.
test: libchdb ocb vet build
	OCB=$(OCB) AIOPS_BIN=$(CURDIR)/bin/otelcol-aiops $(GO) test -count=1 $$($(GO) list ./... | grep -v /test/e2e)
	# The binary's end-to-end tests alone: some compare ingest rates.
	AIOPS_BIN=$(CURDIR)/bin/otelcol-aiops $(GO) test -count=1 ./test/e2e/
	# A count, not a duration: Go 1.26's fuzz coordinator can report
	# "context deadline exceeded" as a failure when a duration runs out
	# mid-execution (golang/go#75804, fixed in Go 1.27); a count has no
	# deadline to race.
	$(MAKE) fuzz FUZZTIME=20000x

# Brief fuzzing of the parsers that take untrusted input (longer: FUZZTIME=5m).
FUZZTIME ?= 30s
fuzz:
	$(GO) test ./internal/genai -run '^$$' -fuzz FuzzParseMessages -fuzztime $(FUZZTIME)
	$(GO) test ./internal/genai/policy -run '^$$' -fuzz FuzzDetectors -fuzztime $(FUZZTIME)
	$(GO) test ./processor/aitrace -run '^$$' -fuzz FuzzNormalize -fuzztime $(FUZZTIME)
	$(GO) test ./extension/otlpguard -run '^$$' -fuzz FuzzScan -fuzztime $(FUZZTIME)
	$(GO) test ./extension/otlpguard -run '^$$' -fuzz FuzzNesting -fuzztime $(FUZZTIME)

# Long forms of the crash tests (more requests, more kills).
soak: libchdb build
	AIOPS_SOAK=1 AIOPS_BIN=$(CURDIR)/bin/otelcol-aiops $(GO) test -count=1 -timeout 60m -v ./test/e2e/

# Component benchmarks, then issue 19's four measures in one invocation:
# the full pipeline, the pass-through baseline and the full pipelines of
# BENCH_REF and BENCH_PREV (built by the harness from their own trees, run
# with their own config) under the same load, interleaved, and the encoding
# benchmark on one core; each measure beside its target and BENCH_PREV's.
BENCH_DURATION ?= 60s
BENCH_REF ?= 4be4038
BENCH_PREV ?= HEAD~1
bench: build libchdb
	$(GO) test -run '^$$' -bench . -benchtime 2s ./processor/... ./internal/pricing/ ./exporter/... ./extension/journalstorage/
	$(GO) build -o bin/aiops-bench ./cmd/aiops-bench
	./bin/aiops-bench -go '$(GO)' -bin bin/otelcol-aiops -duration $(BENCH_DURATION) -ref '$(BENCH_REF)' -prev '$(BENCH_PREV)'
	AIOPS_MATURITY_BENCH=1 $(GO) test -count=1 -run TestScoringTenMillionSpans -v ./maturity/

# A month of a busy fleet in the embedded store: insert latency, scoring and
# every panel at 1M, 10M and 100M genai_spans rows (about 2 h and 30 GB of
# free disk under $TMPDIR; AIOPS_SCALE_ROWS=10000000 stops at 10M).
# AIOPS_SCALE_DIR=dir keeps the filled store and fills on from it in the
# next run; AIOPS_SCALE_FILL_ONLY=1 fills without measuring.
.PHONY: bench-scale
bench-scale: libchdb
	AIOPS_SCALE=1 $(GO) test -count=1 -timeout 0 -v -run '^TestScale$$' ./dashboards/

demo: build libchdb
	./scripts/demo.sh

clean:
	rm -rf bin .tools

# Re-captures the conformance apps' telemetry (needs npm and the registry;
# the captures are committed, so `make test` does not).
captures:
	./test/conformance/capture.sh
