# Kehu developer entry points. `make run` and `make test` do all set-up:
# they find (or start) PostgreSQL and Redis through `kehuctl env`/`kehuctl dev`.
SHELL := /bin/bash
GO    ?= go
STATE := $(CURDIR)/.state
BIN   := $(STATE)/bin
# Locally built, pinned code generators come first on PATH (buf.gen.yaml
# names them as local plugins).
export PATH := $(BIN):$(PATH)

# Every program: kehuctl and each service with a main.go, so a new service
# is built without editing this file.
MAIN_PKGS := ./cmd/kehuctl $(patsubst %/main.go,./%,$(wildcard services/*/main.go))
GENERATED := $(shell git ls-files 'pkg/api/*.pb.go' 'pkg/api/*.pb.gw.go' 'pkg/api/*.swagger.json' 2>/dev/null)

.PHONY: all help run test test-web bench bench-go build tools generate generate-check lint images clean web

all: build

## help: list the documented targets
help:
	@awk -F': ' '/^## [a-z-]+: /{sub(/^## /, "", $$1); printf "  make %-15s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

## tools: build buf and the protoc plugins pinned in cmd/tools/go.mod
tools: $(BIN)/.tools
$(BIN)/.tools: cmd/tools/go.mod cmd/tools/go.sum
	@mkdir -p $(BIN)
	cd cmd/tools && GOWORK=off $(GO) build -o $(BIN)/ tool
	@touch $@

## build: compile every service and kehuctl into .state/bin
build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ $(MAIN_PKGS)

## generate: regenerate Go code and the OpenAPI spec from proto/ (offline)
generate: tools
	rm -f $(GENERATED)
	buf generate

## generate-check: fail if generated code or the console bundle differs from what is committed
generate-check: generate web
	@git diff --exit-code --stat -- pkg/api $(WEB_OUT) || { echo "generated code is stale: run make generate web and commit"; exit 1; }
	@untracked=$$(git ls-files --others --exclude-standard pkg/api $(WEB_OUT)); \
	  if [ -n "$$untracked" ]; then echo "untracked generated files: $$untracked"; exit 1; fi

# The web console (web/): its typed API client is generated from the
# OpenAPI document, and its bundle is embedded in the gateway. Both are
# committed, so a machine with only Go serves the console.
WEB_OUT   := web/src/api/schema.ts services/gateway/internal/console/dist
WEB_DEPS  := web/node_modules/.installed
$(WEB_DEPS): web/package.json web/package-lock.json
	@command -v npm >/dev/null || { echo "the web console needs Node.js and npm (apt-get install nodejs npm)"; exit 1; }
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

## web: regenerate the console's API client and rebuild its bundle from the lockfile (npm ci)
web: $(WEB_DEPS)
	cd web && npm run --silent generate && npm run --silent build -- --logLevel warn

# The OpenAPI linter (Redocly CLI) from npm, at the version package-lock.json pins.
REDOCLY := $(STATE)/openapi-lint/node_modules/.bin/redocly
$(REDOCLY): cmd/tools/openapi/package.json cmd/tools/openapi/package-lock.json
	@command -v npm >/dev/null || { echo "make lint needs Node.js and npm for the OpenAPI linter (apt-get install nodejs npm)"; exit 1; }
	@mkdir -p $(STATE)/openapi-lint
	cp cmd/tools/openapi/package.json cmd/tools/openapi/package-lock.json $(STATE)/openapi-lint/
	cd $(STATE)/openapi-lint && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

## lint: gofmt, go vet, buf lint, buf breaking against main, OpenAPI lint (zero problems)
lint: tools $(REDOCLY)
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^pkg/api/')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet work
	cd deploy && GOWORK=off $(GO) vet ./...
	buf lint
	@if git rev-parse --verify -q main >/dev/null && git cat-file -e main:buf.yaml 2>/dev/null; then \
	  buf breaking --against '.git#branch=main'; fi
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true $(REDOCLY) lint --config redocly.yaml pkg/api/openapi/kehu.swagger.json

## test: unit, integration and end-to-end tests against real PostgreSQL and Redis
test: build
	$(BIN)/kehuctl env -- $(GO) test -count=1 -timeout 20m work
	# The end-to-end tests again with every service on its own gRPC connection
	# (the first run wires them in-process, as `kehuctl dev` does).
	KEHU_E2E_WIRING=split $(BIN)/kehuctl env -- $(GO) test -count=1 -timeout 10m ./e2e/...
	cd deploy && GOWORK=off $(GO) test -count=1 ./...
	$(MAKE) --no-print-directory test-web

# Root installs with apt-get directly (CI), anyone else through sudo.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

## test-web: the console's unit tests (Vitest) and its browser tests in headless Chromium (installed if missing)
test-web: build $(WEB_DEPS)
	cd web && npm test --silent
	@if ! command -v chromium >/dev/null || [ -z "$$(fc-list :lang=zh 2>/dev/null)" ]; then \
	  echo "installing Chromium and a Chinese font for the browser tests"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends chromium fonts-wqy-microhei >/dev/null; fi
	KEHU_BROWSER_TESTS=1 $(BIN)/kehuctl env -- $(GO) test -count=1 -timeout 10m -v -run TestConsoleInBrowser ./e2e/

## bench: the speed table against this machine's limits and PocketBase (~20 min; ARGS=--quick for ~5)
bench: build
	$(BIN)/kehuctl bench $(ARGS)

## bench-go: the Go benchmarks (segment lookup against a bare server, dashboards on generated data)
bench-go: build
	$(BIN)/kehuctl env -- $(GO) test -run '^$$' -bench . -benchmem work

## run: start PostgreSQL/Redis if needed, migrate, and run the whole suite
run: build tools
	$(BIN)/kehuctl dev $(ARGS)

## images: OCI image tarballs of every service, built offline (docker load / crane push them)
images: build
	$(BIN)/kehuctl images

## clean: remove .state (binaries, tools, throwaway databases)
clean:
	rm -rf $(STATE)
