# The two commands a newcomer needs:
#   make run    install what is missing, build, start http://127.0.0.1:8080
#   make test   the whole suite (needs Docker and PostgreSQL: make setup)
SHELL := /bin/bash
GO    ?= go
BIN   := bin/opsdojo
ADDR  ?= 127.0.0.1:8080
SUDO  := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
# go test flags; CI sets nothing extra. Override e.g. TESTFLAGS='-run Foo'.
TESTFLAGS ?=

.PHONY: run test test-runsc test-library build ui images setup vet fmt-check clean

setup:
	$(SUDO) bash scripts/setup-host.sh

ui:
	@if [ -f ui/package.json ]; then \
		cd ui && (npm ci --no-audit --no-fund --loglevel=error || npm install --no-audit --no-fund --loglevel=error) && npm run --silent build; \
	else echo "ui: no front-end sources yet"; fi

build: ui
	$(GO) build -o $(BIN) ./cmd/opsdojo

# Builds sandbox images; falls back to the offline bootstrap when a base
# cannot be pulled (needs root for debootstrap).
images: build
	$(SUDO) $(BIN) images build

run: setup build images
	$(BIN) serve --addr $(ADDR)

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './ui/node_modules/*')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

test: build images fmt-check vet
	OPSDOJO_TEST_BIN=$(CURDIR)/$(BIN) $(GO) test ./... -count=1 -timeout 45m $(TESTFLAGS)

# The attack suite again with sandboxes under gVisor (runsc, registered by
# `make setup`): the sandbox adversarial suite, the runtime checks, the
# freeze at submission, and the grader's tamper suite (gVisor facts source).
# Only these: the rest does not depend on the runtime, and gVisor makes
# every sandbox slower.
RUNSC_TESTS ?= TestAdversarial|TestRuntime|TestFreeze|TestTampering|TestExecutableIdentityTampering|TestChecksNeverEnterTheSandbox|TestSymlinkTrapUnderProcRoot
test-runsc: build images
	OPSDOJO_TEST_RUNTIME=runsc $(GO) test ./sandbox ./grader -count=1 -timeout 20m -run '$(RUNSC_TESTS)' $(TESTFLAGS)

# Every shipped challenge lints clean and passes its self-test 3 times in
# real sandboxes (unsolved and wrong fixes fail, the solution scores 100%).
test-library: build images
	$(BIN) challenge lint library/challenges
	$(BIN) challenge test --runs 3 library/challenges

clean:
	rm -rf bin ui/node_modules
