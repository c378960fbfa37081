# Stockade — build, run and test. `make help` lists the targets.
GO       ?= go
BIN      := bin
PKG      := github.com/stockade-dev/stockade
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE     ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS  := -s -w -X $(PKG)/internal/version.Version=$(VERSION) -X $(PKG)/internal/version.Commit=$(COMMIT) -X $(PKG)/internal/version.Date=$(DATE)
DATA_DIR ?= ./stockade-data
LISTEN   ?= 127.0.0.1:8443
GOLANGCI_LINT_VERSION := v2.15.0
TOOLS    ?= $(HOME)/.cache/stockade/tools

.PHONY: help build ui ui-check run test test-deps kube-apiserver lint bench docs clean

help: ## show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-15s %s\n", $$1, $$2}'

# The CLI's two binaries are linked statically (no cgo): they run on any
# Linux CI image, and a process without the dynamic loader starts faster,
# which every `stockade deployment check` pays (docs/benchmarks.md).
CLI_CMDS := ./cmd/stockade ./cmd/stockade-scanner

build: ui ## build the dashboard, then bin/stockade, bin/stockade-scanner (which stockade runs for local scans), bin/stockade-central (which embeds the dashboard) and bin/stockade-sensor
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ $(CLI_CMDS)
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ $(filter-out $(CLI_CMDS),$(wildcard ./cmd/*))

ui: ui/node_modules/.package-lock.json ## build the dashboard into ui/dist, which Central embeds (npm ci && npm run build; Node.js 20.19+)
	cd ui && npm run build

ui-check: ui/node_modules/.package-lock.json ## typecheck, lint (eslint, prettier) and unit-test (vitest) the dashboard
	cd ui && npm run typecheck && npm run lint && npm test

# npm ci installs exactly ui/package-lock.json, again only when it changed.
ui/node_modules/.package-lock.json: ui/package-lock.json ui/package.json
	cd ui && npm ci --no-audit --no-fund

run: build ## build and start Central on its embedded store at https://$(LISTEN)
	$(BIN)/stockade-central --data-dir $(DATA_DIR) --listen $(LISTEN)

test-deps: ## install what the tests need (PostgreSQL, docker-registry, etcd from Debian; kube-apiserver) when missing
	@hack/test-deps.sh
	@hack/kube/build.sh
	@hack/helm/build.sh

kube-apiserver: ## build kube-apiserver and kubectl for the tests into ~/.cache/stockade/kube (reused when current)
	@hack/kube/build.sh

test: test-deps ui ui-check lint ## build the dashboard, then vet, lint and run every test against real PostgreSQL, registry, kube-apiserver, rsyslog, helm and Chromium
	$(GO) vet ./...
	STOCKADE_REQUIRE_UI=$${STOCKADE_REQUIRE_UI:-1} STOCKADE_REQUIRE_POSTGRES=$${STOCKADE_REQUIRE_POSTGRES:-1} STOCKADE_REQUIRE_REGISTRY=$${STOCKADE_REQUIRE_REGISTRY:-1} STOCKADE_REQUIRE_KUBE=$${STOCKADE_REQUIRE_KUBE:-1} STOCKADE_REQUIRE_RSYSLOG=$${STOCKADE_REQUIRE_RSYSLOG:-1} STOCKADE_REQUIRE_HELM=$${STOCKADE_REQUIRE_HELM:-1} STOCKADE_REQUIRE_PROTOC=$${STOCKADE_REQUIRE_PROTOC:-1} $(GO) test -count=1 ./...

.PHONY: proto
proto: ## regenerate the Go code of the protobuf definitions in api/ (needs protoc: Debian's protobuf-compiler)
	@hack/proto.sh

lint: ## run golangci-lint with the curated linters in .golangci.yml
	@test -x $(TOOLS)/golangci-lint-$(GOLANGCI_LINT_VERSION) || { mkdir -p $(TOOLS) && GOBIN=$(TOOLS) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION) && mv $(TOOLS)/golangci-lint $(TOOLS)/golangci-lint-$(GOLANGCI_LINT_VERSION); }
	$(TOOLS)/golangci-lint-$(GOLANGCI_LINT_VERSION) run ./...

bench: build ## run the benchmarks recorded in docs/benchmarks.md
	$(GO) test -run XXX -bench . -cpu 1 -benchtime 2s ./internal/policy/
	hack/bench/deployment-check.sh

docs: ## regenerate the embedded built-in policy bundle and the reference pages in docs/reference
	$(GO) generate ./internal/policy
	$(GO) run ./hack/gendocs

clean: ## remove build output
	rm -rf $(BIN)
