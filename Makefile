# E-Code. `make run` builds everything and starts the server on
# http://localhost:5000 with embedded defaults (SQLite, local sandbox);
# `make test` runs every test (Go on SQLite, and on PostgreSQL when
# ECODE_TEST_POSTGRES_URL is set; the browser journeys in headless Chromium).

GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X ecode/internal/app.Version=$(VERSION)
BIN       := bin/ecode
UI_SRC    := $(shell find ui/src ui/scripts ui/index.html ui/vite.config.ts ui/tsconfig.json -type f 2>/dev/null)
NODE_DIRS := ui e2e internal/yjs/testdata/oracle internal/collab/testdata/clients bench/collabbench/node

.PHONY: all build run ui test test-go test-race test-e2e fuzz bench lint clean deps

all: build

# npm ci in each Node folder whose lockfile changed since the last install.
deps: $(addsuffix /node_modules/.installed,$(NODE_DIRS))

%/node_modules/.installed: %/package-lock.json
	@echo "==> Installing the Node packages of $*"
	cd $* && npm ci --no-audit --no-fund --loglevel=error
	touch $@

ui/dist/index.html: ui/node_modules/.installed $(UI_SRC)
	@echo "==> Building the web UI"
	cd ui && npm run build

ui: ui/dist/index.html

build: ui
	@GO=$(GO) scripts/gobuild.sh $(BIN) -tags embed -ldflags "$(LDFLAGS)"

# Installs bubblewrap when missing (as root on Debian/Ubuntu) or says how.
run: build
	@scripts/setup-check.sh
	./$(BIN) serve

lint:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...

test: lint deps test-go test-race test-e2e

test-go:
	$(GO) test -count=1 ./...

# The race detector over the packages whose goroutines share the most:
# live collaboration (rooms, log writer, Redis relay), the store's
# statement caches and the WebSocket layer.
RACE_PKGS = ./internal/collab/ ./internal/store/ ./internal/wsock/
test-race:
	$(GO) test -race -count=1 $(RACE_PKGS)

test-e2e: build e2e/node_modules/.installed
	cd e2e && ECODE_BIN=$(CURDIR)/$(BIN) npm test

# Each fuzz target for FUZZTIME (go test runs their seed corpora anyway).
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzCleanPath$$' -fuzztime $(FUZZTIME) ./internal/workspace
	$(GO) test -run '^$$' -fuzz '^FuzzProjectPaths$$' -fuzztime $(FUZZTIME) ./internal/workspace
	$(GO) test -run '^$$' -fuzz '^FuzzSuggestTemplate$$' -fuzztime $(FUZZTIME) ./internal/workspace
	$(GO) test -run '^$$' -fuzz '^FuzzRequestBodies$$' -fuzztime $(FUZZTIME) ./internal/api
	$(GO) test -run '^$$' -fuzz '^FuzzAppCookies$$' -fuzztime $(FUZZTIME) ./internal/api
	$(GO) test -run '^$$' -fuzz '^FuzzAcceptEncoding$$' -fuzztime $(FUZZTIME) ./internal/api
	$(GO) test -run '^$$' -fuzz '^FuzzSecondFactorInputs$$' -fuzztime $(FUZZTIME) ./internal/api
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/runconfig
	$(GO) test -run '^$$' -fuzz '^FuzzExtractZip$$' -fuzztime $(FUZZTIME) ./internal/imports
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/figma
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeUpdate$$' -fuzztime $(FUZZTIME) ./internal/yjs
	$(GO) test -run '^$$' -fuzz '^FuzzMask$$' -fuzztime $(FUZZTIME) ./internal/secrets
	$(GO) test -run '^$$' -fuzz '^FuzzParseDotenv$$' -fuzztime $(FUZZTIME) ./internal/secrets
	$(GO) test -run '^$$' -fuzz '^FuzzApplyUpdate$$' -fuzztime $(FUZZTIME) ./internal/yjs
	$(GO) test -run '^$$' -fuzz '^FuzzFingerprint$$' -fuzztime $(FUZZTIME) ./internal/errtrack
	$(GO) test -run '^$$' -fuzz '^FuzzProtocolMessage$$' -fuzztime $(FUZZTIME) ./internal/yjs/protocol
	$(GO) test -run '^$$' -fuzz '^FuzzClientMessage$$' -fuzztime $(FUZZTIME) ./internal/collab
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeIndex$$' -fuzztime $(FUZZTIME) ./internal/checkpoint
	$(GO) test -run '^$$' -fuzz '^FuzzNormalize$$' -fuzztime $(FUZZTIME) ./internal/domains
	$(GO) test -run '^$$' -fuzz '^FuzzParseSchedule$$' -fuzztime $(FUZZTIME) ./internal/deploy
	$(GO) test -run '^$$' -fuzz '^FuzzRead$$' -fuzztime $(FUZZTIME) ./internal/wsock
	$(GO) test -run '^$$' -fuzz '^FuzzEdges$$' -fuzztime $(FUZZTIME) ./internal/wsock

bench:
	$(GO) run ./bench/filebench
	$(GO) run ./bench/runbench
	$(GO) run ./bench/collabbench
	$(GO) run ./bench/checkpointbench
	$(GO) run ./bench/ledgerbench
	$(GO) run ./bench/deploybench
	$(GO) run ./bench/importbench
	$(GO) run ./bench/coldstartbench
	$(GO) run ./bench/obsbench
	$(GO) run ./bench/nodebench
	$(GO) run ./bench/capacitybench

clean:
	rm -rf bin ui/dist
