# FraudStream developer targets. `make test` works from a fresh clone on Debian with only Swift installed.
SWIFT      ?= swift
REDIS_PORT ?= 6390
RUN_DIR    := $(CURDIR)/.run
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
RELEASE_BIN = .build/release/fraudstream
DEBUG_BIN   = .build/debug/fraudstream

WORKER_FLAGS ?=
PREPARE_FLAGS ?=

.PHONY: deps build release test bench redis redis-stop doctor prepare run-worker clean

## deps: install libhiredis-dev, redis-server and redis-tools with apt-get when missing (idempotent)
deps:
	@if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists hiredis 2>/dev/null \
	    || ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1 \
	    || ! command -v redis-benchmark >/dev/null 2>&1; then \
	  echo "make deps: installing libhiredis-dev redis-server redis-tools pkg-config"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libhiredis-dev redis-server redis-tools pkg-config >/dev/null; \
	else echo "make deps: libhiredis-dev and redis-server present"; fi

## build: debug build of everything
build: deps
	$(SWIFT) build

## release: optimised build (-c release)
release: deps
	$(SWIFT) build -c release

## test: unit tests and integration tests against private redis-servers
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

## bench: release-build benchmarks, printed as a table
bench: release
	$(RELEASE_BIN) bench

## redis: start a private redis-server on 127.0.0.1:$(REDIS_PORT), data under .run/, no persistence
redis: deps
	@mkdir -p $(RUN_DIR)
	@if redis-cli -p $(REDIS_PORT) ping >/dev/null 2>&1; then echo "redis already running on 127.0.0.1:$(REDIS_PORT)"; else \
	  redis-server --port $(REDIS_PORT) --bind 127.0.0.1 --dir $(RUN_DIR) --save "" --appendonly no \
	    --daemonize yes --pidfile $(RUN_DIR)/redis.pid --logfile $(RUN_DIR)/redis.log && \
	  for i in $$(seq 50); do redis-cli -p $(REDIS_PORT) ping >/dev/null 2>&1 && break; sleep 0.1; done && \
	  echo "redis running on 127.0.0.1:$(REDIS_PORT) (log: .run/redis.log); stop it with make redis-stop"; fi

## redis-stop: stop the private redis-server
redis-stop:
	@if redis-cli -p $(REDIS_PORT) ping >/dev/null 2>&1; then redis-cli -p $(REDIS_PORT) shutdown nosave >/dev/null 2>&1 || true; \
	  echo "redis on 127.0.0.1:$(REDIS_PORT) stopped"; else echo "no redis on 127.0.0.1:$(REDIS_PORT)"; fi
	@rm -f $(RUN_DIR)/redis.pid

## prepare: load the synthetic world, warm feature state, train and store a model (release build)
prepare: release
	$(RELEASE_BIN) prepare $(PREPARE_FLAGS)

## run-worker: start a worker against the configured Redis (default: make redis); WORKER_FLAGS="--profile" etc.
run-worker: release
	$(RELEASE_BIN) worker $(WORKER_FLAGS)

## doctor: check the configured Redis
doctor: build
	$(DEBUG_BIN) doctor

clean:
	rm -rf .build .run
