# The two commands a newcomer needs: `make run` (the backend on the local stack) and
# `make test` (everything CI checks). Each installs what it needs, quietly once installed.

SHELL := /bin/bash
TOOLS := .tools
VENV := $(TOOLS)/venv
SAM := $(VENV)/bin/sam
SAM_VERSION := 1.170.0
CHECKOV := $(TOOLS)/checkov/bin/checkov
CHECKOV_VERSION := 3.3.30
SCHEMATHESIS := $(TOOLS)/schemathesis/bin/schemathesis
SCHEMATHESIS_VERSION := 4.32.5
WEB_MODULES := web/node_modules/.package-lock.json
REFERENCE_MODULES := tests/reference/node_modules/.package-lock.json
CHROMIUM := /usr/bin/chromium
export SAM_CLI_TELEMETRY := 0

.PHONY: run logs test smoke bench soak fuzz package build-release invoke clean-data

## The backend on the local stack: HTTP API :3000, WebSocket API :3001, the web client at
## http://127.0.0.1:3000/app/ (DynamoDB Local and the web client's modules are installed on
## first run). Flags go through ARGS, e.g. make run ARGS="--in-memory --seed-demo"
run:
	@$(MAKE) --no-print-directory $(WEB_MODULES) || echo "(the web client's voice-note player is missing until npm can install web/'s modules)"
	cargo run --quiet -p im-local --bin local_stack -- $(ARGS)

## Follows the running stack's log: JSON lines in Lambda's format, each with its request id,
## route, frame and caller (`make run` prints one short line per request as well).
logs:
	@touch .data/logs/stack.jsonl 2>/dev/null || { mkdir -p .data/logs && touch .data/logs/stack.jsonl; }
	tail -n 50 -F .data/logs/stack.jsonl

## Formatting, lints, every test (unit and end-to-end, schemathesis and the browser test among
## them), the contract report (every answer and frame held to docs/openapi.yaml and
## docs/asyncapi.yaml), the SAM template checks (alarms, tracing, the 500-resource limit), the smoke suite against
## the stack `make run` starts. Artifacts (screenshot, reports): target/artifacts/
test: $(SAM) $(CHECKOV) $(SCHEMATHESIS) $(WEB_MODULES) $(CHROMIUM)
	cargo fmt --all --check
	cargo clippy --quiet --workspace --all-targets -- -D warnings
	# Bins with the tests' feature set, so `cargo test` reuses them instead of building all again.
	cargo build --quiet --workspace --bins --tests
	rm -f target/iam-usage.txt target/contracts.log
	IAM_USAGE_FILE=$(CURDIR)/target/iam-usage.txt IM_CONTRACT_LOG=$(CURDIR)/target/contracts.log cargo test --quiet --workspace
	target/debug/iam_unused target/iam-usage.txt
	target/debug/contract_report target/contracts.log
	@echo "schemathesis: $$(cat target/artifacts/schemathesis-cases.txt) cases, 0 failures (target/artifacts/schemathesis.txt)"
	@echo "browser test screenshot: target/artifacts/web-chat.png"
	$(SAM) validate --lint
	$(VENV)/bin/python tests/template_checks.py
	$(CHECKOV) -f template.yaml --config-file .checkov.yaml
	$(VENV)/bin/python tests/sam_routes.py target/debug/local_stack
	tests/smoke_local.sh

## The smoke suite against any stack, a deployed one too (docs/DEPLOYMENT.md): two throwaway
## users sign up, befriend, message over HTTP and WebSocket, in a group, by voice note, sync
## after a disconnect, log out and delete their accounts; one PASS/FAIL line per step.
## make smoke HTTP_URL=https://<id>.execute-api.<region>.amazonaws.com WS_URL=wss://<id>.execute-api.<region>.amazonaws.com/v1
smoke:
	@test -n "$(HTTP_URL)" -a -n "$(WS_URL)" || { echo "make smoke HTTP_URL=<the HTTP API's URL> WS_URL=<the WebSocket stage's URL>"; exit 2; }
	cargo build --quiet -p im-tests --bin smoke
	HTTP_URL=$(HTTP_URL) WS_URL=$(WS_URL) target/debug/smoke

$(SAM):
	@python3 -m venv $(VENV)
	@$(VENV)/bin/pip install --quiet --disable-pip-version-check aws-sam-cli==$(SAM_VERSION)

$(SCHEMATHESIS):
	@python3 -m venv $(TOOLS)/schemathesis
	@$(TOOLS)/schemathesis/bin/pip install --quiet --disable-pip-version-check schemathesis==$(SCHEMATHESIS_VERSION)

# The AWS SDK modules of the reference chat's design that `bench --cost` measures (tests/reference).
$(REFERENCE_MODULES): tests/reference/package-lock.json
	@npm ci --prefix tests/reference --silent --no-audit --no-fund

# The web client's modules (the AMR decoder; playwright-core for the browser test), from npm.
$(WEB_MODULES): web/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js 20 and npm (Debian: apt-get install nodejs npm)"; exit 1; }
	@npm ci --prefix web --silent --no-audit --no-fund || { echo "npm could not install web/'s modules: is the npm registry reachable (npm config get registry)?"; exit 1; }

# Debian's Chromium for the browser test (a tool's own browser download does not work here).
$(CHROMIUM):
	@{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; } >/dev/null 2>&1 \
		|| { echo "could not install chromium: run as root, or: sudo apt-get install chromium chromium-driver"; exit 1; }

# checkov in a venv of its own: its boto3 pin conflicts with SAM CLI's.
$(CHECKOV):
	@python3 -m venv $(TOOLS)/checkov
	@$(TOOLS)/checkov/bin/pip install --quiet --disable-pip-version-check checkov==$(CHECKOV_VERSION)

## Benchmarks; numbers go in docs/BENCHMARKS.md. Function binaries are built as deployed
## (release: LTO, one codegen unit, stripped); the stack and the bench binary with the lighter
## `local` profile, so the run does not wait for LTO of every binary. One section or a few:
## make bench SECTIONS="--stub-connections --cost"
BENCH_FUNCTIONS := health get_user_by_id send_message ws_default fan_out
SECTIONS ?= --sizes --stub-connections --cost --throughput --scale --fan-out --messages --relations --thumbnail
bench: $(REFERENCE_MODULES)
	cargo build --quiet --release -p im-functions $(addprefix --bin ,$(BENCH_FUNCTIONS))
	cargo build --quiet --profile local -p im-tests --bin bench
	@for section in $(SECTIONS); do target/local/bench $$section || exit 1; echo; done

## The long churn run: 10 users x 3 devices dropping and reconnecting while 600 messages flow,
## acking live, then syncing; prints lost / redelivered (docs/BENCHMARKS.md). `make test` runs
## the short one (6 users x 2 devices, 90 messages).
soak:
	CHURN_SOAK=1 cargo test --quiet -p im-tests --test e2e churn -- --nocapture

## The long fuzz run (docs/SECURITY.md): 20 000 cases per parser property, 20 000 random
## requests and frames against a running stack, and schemathesis with 100 cases per operation
## and a random seed. `make test` runs 256, 300 and 8 (seed 1).
fuzz: $(SCHEMATHESIS)
	PROPTEST_CASES=20000 cargo test --quiet -p im-functions --test properties
	FUZZ_CASES=20000 cargo test --quiet -p im-tests --test e2e fuzz -- --nocapture
	SCHEMATHESIS_EXAMPLES=100 SCHEMATHESIS_SEED=$$RANDOM cargo test --quiet -p im-tests --test e2e schemathesis
	@echo "schemathesis: $$(cat target/artifacts/schemathesis-cases.txt) cases, 0 failures"

## The deployable artifact: every function built for provided.al2023 arm64 as `sam build`
## builds it (BuildMethod rust-cargolambda: cargo-lambda, with zig to cross-link), zipped, then
## each zip's size. Long (fat LTO per function): not in `make test`; docs/BENCHMARKS.md.
PACKAGE_TOOLS := $(TOOLS)/package/bin/cargo-lambda
package: $(PACKAGE_TOOLS)
	@rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1
	PATH=$(CURDIR)/$(TOOLS)/package/bin:$$PATH cargo lambda build --quiet --release --arm64 --output-format zip -p im-functions
	@for zip in target/lambda/*/bootstrap.zip; do \
		printf '%-28s %7d KB\n' "$$(basename $$(dirname $$zip))" $$(( $$(stat -c %s $$zip) / 1024 )); \
	done

$(PACKAGE_TOOLS):
	@python3 -m venv $(TOOLS)/package
	@$(TOOLS)/package/bin/pip install --quiet --disable-pip-version-check cargo-lambda==1.9.2 ziglang==0.17.1

## One function binary with its sample event, against a running `make run`:
## make invoke FN=get_user_by_id
invoke:
	cargo build --quiet -p im-functions --bin $(FN) -p im-local --bin invoke
	target/debug/invoke $(FN) --event events/$(FN).json

clean-data:
	rm -rf .data
