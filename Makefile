# otto: build, test and drive the example project. `make test` and `make demo` install what they need.
SWIFT      ?= swift
OTTO       := .build/release/otto
OTTO_FLAGS ?=
PDNS_DIR   := .otto/pdns
PDNS_API   ?= 8081
PDNS_DNS   ?= 5300
# CLOWD_PROVIDERS="local, powerdns" limits plan/apply/destroy/status to those providers' resources.
ifneq ($(strip $(CLOWD_PROVIDERS)),)
export OTTO_PROVIDERS := $(CLOWD_PROVIDERS)
endif
# `make TARGET ENV=staging` runs the target in that environment (environments/staging.yml: its overlays and its own
# state). Only from the command line: some shells export ENV (POSIX sh's startup file) for other reasons.
ifeq ($(origin ENV),command line)
export OTTO_ENV := $(strip $(ENV))
endif

.PHONY: deps build test test-fast validate plan apply status destroy graph pdns pdns-stop bench clean images provision config demo demo-release bench-release bench-pipeline bench-images bench-fleet bench-state-pg serve

deps:
	@scripts/install-deps.sh

# The Swift runtime and Foundation are linked statically: every otto command starts about 6 ms sooner (fewer
# symbols for the dynamic loader to look up), which is a third of the start-up of a short command.
RELEASE := -c release --static-swift-stdlib

build: deps
	$(SWIFT) build $(RELEASE) --product otto

# Tests run one at a time: the end-to-end suites wait on real processes (otto, sshd, pdns_server, machines),
# and in parallel those waits starve the cooperative pool the other tests' timeouts depend on.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --no-parallel

# The quick loop: every suite but the end-to-end ones (tagged machines, powerDNS, moto, sshd, haproxy, digitalOcean, liveServer,
# performance in Tests/Tags; OTTO_TEST_FAST=1 skips them), in parallel. Needs what `make test` installed once.
test-fast:
	$(SWIFT) build --build-tests
	OTTO_TEST_FAST=1 $(SWIFT) test --skip-build --parallel

# The example project talks to a PowerDNS on loopback; `make pdns` starts one under .otto/pdns.
pdns: deps
	@scripts/pdns-up.sh $(PDNS_DIR) $(PDNS_API) $(PDNS_DNS)

pdns-stop:
	@scripts/pdns-stop.sh $(PDNS_DIR)

validate: build
	$(OTTO) validate $(OTTO_FLAGS)

plan: build pdns
	$(OTTO) plan $(OTTO_FLAGS)

apply: build pdns
	$(OTTO) apply --auto-approve $(OTTO_FLAGS)

status: build pdns
	$(OTTO) status $(OTTO_FLAGS)

destroy: build pdns
	$(OTTO) destroy --auto-approve $(OTTO_FLAGS)
	@scripts/pdns-stop.sh $(PDNS_DIR)

# Golden images from images/*.yml for every machine provider of the inventory (local layers, DigitalOcean snapshots,
# AMIs), or those CLOWD_PROVIDERS names; an image carrying a recipe's hash is reused. Local layers need root.
images: build
	$(OTTO) images build $(OTTO_FLAGS)

# Machines only.
provision: build pdns
	$(OTTO) apply --auto-approve --target machine $(OTTO_FLAGS)

# Host configuration only (and the machines it needs).
config: build pdns
	$(OTTO) apply --auto-approve --target file --target directory --target package --target service \
	    --target unit --target nginx_site --target haproxy $(OTTO_FLAGS)

# The whole demo on this box: images, two web machines behind haproxy, a worker unit, DNS. Needs root.
demo: build pdns images
	$(OTTO) apply --auto-approve $(OTTO_FLAGS)
	$(OTTO) status $(OTTO_FLAGS)
	@scripts/demo-show.sh $(PDNS_DNS)

# On the running demo: version 1.1.0 of the hello app blue-green, then `otto rollback`, with requests flowing
# through the load balancer all along (otto-loadgen prints each second's outcomes and versions).
demo-release: build
	$(SWIFT) build $(RELEASE) --product otto-loadgen
	OTTO=$(OTTO) LOADGEN=.build/release/otto-loadgen OTTO_FLAGS="$(OTTO_FLAGS)" scripts/demo-release.sh

# The API, the status page and drift correction for the example project. A token is made once in .otto/tokens
# (mode 0600); the status page's user name is anything, its password that token.
serve: build pdns
	@mkdir -p .otto; [ -s .otto/tokens ] || (umask 077; echo "admin write $$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" > .otto/tokens)
	@echo "otto: API token (and status page password) in .otto/tokens"
	$(OTTO) serve --tokens .otto/tokens $(OTTO_FLAGS)

graph: build
	$(OTTO) graph $(OTTO_FLAGS)

bench: build
	$(SWIFT) build $(RELEASE) --product otto-fake-do
	bench/plan-scale
	bench/refresh-scale
	bench/walk
	bench/api/run

# Deploys at 500 requests/s on local machines (needs root): bench/release, with the load generator's release build.
bench-release: build
	$(SWIFT) build $(RELEASE) --product otto-loadgen
	bench/release

# One build through staging to production with traffic on both (needs root): bench/pipeline (issue 11).
bench-pipeline: build
	$(SWIFT) build $(RELEASE) --product otto-loadgen
	bench/pipeline

# Three recipes for three providers from nothing, then unchanged, beside Packer (needs root): bench/images (issue 12).
bench-images: build
	$(SWIFT) build $(RELEASE) --product otto-fake-do
	$(SWIFT) build $(RELEASE) --product otto-moto-proxy
	@command -v packer >/dev/null || apt-get install -y -qq --no-install-recommends packer >/dev/null
	bench/images

# 100 fleet units over 10 local machines from nothing and a no-change run, beside Ansible (needs root): bench/fleet (issue 13).
bench-fleet: build
	bench/fleet

# The state on PostgreSQL beside SQLite: writes/s, the 10k apply, and replicas taking over killed ones (needs root to
# run PostgreSQL as its own user): bench/state-pg (issue 14).
bench-state-pg: build
	$(SWIFT) build $(RELEASE) --product otto-state-bench
	bench/state-pg

clean:
	rm -rf .build .otto
