# swarmtopo. `make` (or `make help`) lists the targets; `make check` is what CI runs.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

GO       ?= go
BIN      := bin/swarmtopo
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
FUZZTIME ?= 20s
LABFLAGS ?=
# Where `make install-plugin` puts docker-topology: the docker CLI's per-user plugin directory,
# or e.g. PLUGIN_DIR=/usr/local/lib/docker/cli-plugins for every user.
PLUGIN_DIR ?= $(or $(DOCKER_CONFIG),$(HOME)/.docker)/cli-plugins
# make sim: how many seeded schedules, from which seed; SEED replays one with its timeline.
N        ?= 10000
FIRST    ?= 1
SEED     ?=

STATICCHECK_VERSION := v0.8.2
GOBIN_DIR   := $(or $(shell $(GO) env GOBIN),$(shell $(GO) env GOPATH)/bin)
STATICCHECK := $(GOBIN_DIR)/staticcheck
ACTIONLINT_VERSION := v1.7.12
ACTIONLINT  := $(GOBIN_DIR)/actionlint

# Go files gofmt checks: everything but hidden directories (.git, .lab), testdata and bin.
GOFILES = $(shell find . -type f -name '*.go' -not -path './.*' -not -path '*/testdata/*' -not -path './bin/*')

.PHONY: help build install-plugin image test lint fuzz bench sim e2e lab-up lab-down demo chaos partition check tidy-check clean need-root monitoring-check tools

help: ## Show this help
	@awk 'BEGIN { FS = ":.*## "; print "Usage: make TARGET [VAR=value]\n\nTargets:" } \
	     /^[a-zA-Z0-9_-]+:.*## / { printf "  %-17s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)
	@printf '\nVariables: FUZZTIME=%s  VERSION=%s  LABFLAGS=%s  N=%s  FIRST=%s  SEED=%s\n' '$(FUZZTIME)' '$(VERSION)' '$(LABFLAGS)' '$(N)' '$(FIRST)' '$(SEED)'

build: ## Build bin/swarmtopo, stamped with git describe
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/swarmtopo

install-plugin: build ## Install bin/swarmtopo as the docker CLI plugin `docker topology` in PLUGIN_DIR
	install -d '$(PLUGIN_DIR)'
	install -m 0755 $(BIN) '$(PLUGIN_DIR)/docker-topology'
	@echo "installed $(PLUGIN_DIR)/docker-topology: try 'docker topology version'"

image: ## Build the swarmtopo:latest image (FROM scratch, no pull) on the engine at DOCKER_HOST
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/swarmtopo-static ./cmd/swarmtopo
	docker build -t swarmtopo:latest -t swarmtopo:$(VERSION) .

test: ## Unit tests with the race detector (no e2e)
	$(GO) test -race -count=1 ./...

lint: $(STATICCHECK) ## gofmt, go vet and staticcheck, also over the e2e build tag
	@out=$$(gofmt -l $(GOFILES)); if [ -n "$$out" ]; then echo "gofmt -l: not formatted:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags e2e ./...
	$(STATICCHECK) ./...
	$(STATICCHECK) -tags e2e ./...

$(STATICCHECK):
	$(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

monitoring-check: $(ACTIONLINT) ## Alert rule tests (promtool), dashboard queries, scrape configs; actionlint on examples/ci
	./monitoring/check.sh
	@command -v shellcheck >/dev/null || { echo "make monitoring-check: shellcheck not found (apt-get install shellcheck); actionlint checks the workflow's shell with it" >&2; exit 1; }
	@echo "==> actionlint (with shellcheck) examples/ci/*.yml"
	$(ACTIONLINT) examples/ci/*.yml

$(ACTIONLINT):
	$(GO) install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)

tools: $(STATICCHECK) $(ACTIONLINT) ## Install the pinned Go tools (staticcheck, actionlint)

fuzz: ## Run each Fuzz* target for FUZZTIME (default 20s)
	@n=0; for pkg in $$($(GO) list ./...); do \
	  list=$$($(GO) test -list '^Fuzz' "$$pkg"); \
	  for target in $$(grep '^Fuzz' <<<"$$list" || true); do \
	    n=$$((n + 1)); echo "==> $$pkg $$target ($(FUZZTIME))"; \
	    $(GO) test -run='^$$' -fuzz="^$$target\$$" -fuzztime=$(FUZZTIME) "$$pkg"; \
	  done; \
	done; echo "fuzzed $$n targets"

bench: ## Planner benchmarks: time and allocations
	$(GO) test -run='^$$' -bench=. -benchmem ./reconcile/

sim: ## Simulate the loop: N seeded fault schedules (default 10000) without -race, or replay SEED=n
	@if [ -n "$(SEED)" ]; then \
	  $(GO) test -count=1 -run '^TestSimCampaign$$' -v ./controller/sim/ -seed $(SEED); \
	else \
	  $(GO) test -count=1 -timeout 15m -run '^TestSimCampaign$$' -v ./controller/sim/ -schedules $(N) -first $(FIRST) | grep -v '^=== \|^    --- PASS'; \
	fi

e2e: need-root ## End-to-end tests on real multi-node swarm labs, with the campaign's 36-scenario subset (root, Linux; up to 75 min)
	$(GO) test -tags e2e -count=1 -timeout 75m -parallel 4 -v ./e2e/ ./lab/

ENGINE ?=
partition: need-root ## The partitioned-leader scenario with its control runs (ENGINE=20.10|26.1, default both; ~4.5 min a run)
	./hack/engine-26.1.sh
	$(GO) test -tags e2e -count=1 -timeout 40m -v -run 'TestPartitionedLeaderHeals$(if $(ENGINE),/$(subst .,\.,$(ENGINE))/)' ./e2e/

# given is $(1) when set on the command line or in the environment, else $(2): N and FIRST
# default to the simulation's values above, which the campaign does not share.
given = $(if $(filter command line environment,$(origin $(1))),$($(1)),$(2))
PARALLEL ?= 3
RESULTS ?=
chaos: need-root ## Fault campaign: N seeded scenarios from FIRST (ENGINE=20.10|26.1|mixed|all, PARALLEL labs at once, RESULTS=file.jsonl)
	./hack/engine-26.1.sh
	CHAOS_SEED=$(or $(SEED),1) CHAOS_N=$(call given,N,12) CHAOS_FIRST=$(call given,FIRST,0) CHAOS_ENGINE=$(or $(ENGINE),all) \
	CHAOS_PARALLEL=$(PARALLEL) CHAOS_RETRY=0 CHAOS_RESULTS=$(abspath $(RESULTS)) \
	$(GO) test -tags e2e -count=1 -timeout 600m -parallel $(PARALLEL) -v -run 'TestChaosCampaign' ./e2e/

lab-up: need-root ## Start a swarm lab (LABFLAGS are passed to swarmlab up)
	$(GO) run ./cmd/swarmlab up $(LABFLAGS)

lab-down: need-root ## Tear the swarm lab down
	$(GO) run ./cmd/swarmlab down

demo: need-root ## 7-node lab: show the plan, apply it step by step, tear down
	./hack/demo.sh

check: lint test sim monitoring-check e2e ## Everything CI runs: lint, unit tests, the simulation campaign, monitoring checks, e2e

tidy-check: ## Fail if go.mod or go.sum is not tidy
	$(GO) mod tidy -diff

clean: ## Remove bin/
	rm -rf bin

need-root:
	@if [ "$$(id -u)" -ne 0 ]; then echo "make $(MAKECMDGOALS): needs root (network namespaces, dockerd)" >&2; exit 1; fi
