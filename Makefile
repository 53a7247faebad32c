# The two commands a newcomer needs: `make run` (the backend on the local stack) and
# `make test` (everything CI checks). Each installs what it needs, quietly once installed.

SHELL := /bin/bash
TOOLS := .tools
VENV := $(TOOLS)/venv
SAM := $(VENV)/bin/sam
SAM_VERSION := 1.170.0
CHECKOV := $(TOOLS)/checkov/bin/checkov
CHECKOV_VERSION := 3.3.30
export SAM_CLI_TELEMETRY := 0

.PHONY: run test bench soak fuzz package build-release invoke clean-data

## The backend on the local stack: HTTP API :3000, WebSocket API :3001 (DynamoDB Local is
## installed on first run). Flags go through ARGS, e.g. make run ARGS=--in-memory
run:
	cargo run --quiet -p im-local --bin local_stack -- $(ARGS)

## Formatting, lints, every test (unit and end-to-end), the SAM template checks.
test: $(SAM) $(CHECKOV)
	cargo fmt --all --check
	cargo clippy --quiet --workspace --all-targets -- -D warnings
	cargo build --quiet --workspace --bins
	rm -f target/iam-usage.txt
	IAM_USAGE_FILE=$(CURDIR)/target/iam-usage.txt cargo test --quiet --workspace
	target/debug/iam_unused target/iam-usage.txt
	$(SAM) validate --lint
	$(CHECKOV) -f template.yaml --config-file .checkov.yaml
	$(VENV)/bin/python tests/sam_routes.py target/debug/local_stack

$(SAM):
	@python3 -m venv $(VENV)
	@$(VENV)/bin/pip install --quiet --disable-pip-version-check aws-sam-cli==$(SAM_VERSION)

# checkov in a venv of its own: its boto3 pin conflicts with SAM CLI's.
$(CHECKOV):
	@python3 -m venv $(TOOLS)/checkov
	@$(TOOLS)/checkov/bin/pip install --quiet --disable-pip-version-check checkov==$(CHECKOV_VERSION)

## Benchmarks; numbers go in docs/BENCHMARKS.md. Function binaries are built as deployed
## (release: LTO, one codegen unit, stripped); the stack and the bench binary with the lighter
## `local` profile, so the run does not wait for LTO of every binary. One section or a few:
## make bench SECTIONS="--stub-connections --cost"
BENCH_FUNCTIONS := health get_user_by_id send_message ws_default fan_out
SECTIONS ?= --sizes --stub-connections --cost --scale --fan-out --messages --relations
bench:
	cargo build --quiet --release -p im-functions $(addprefix --bin ,$(BENCH_FUNCTIONS))
	cargo build --quiet --profile local -p im-tests --bin bench
	@for section in $(SECTIONS); do target/local/bench $$section || exit 1; echo; done

## The long churn run: 10 users x 3 devices dropping and reconnecting while 600 messages flow,
## acking live, then syncing; prints lost / redelivered (docs/BENCHMARKS.md). `make test` runs
## the short one (6 users x 2 devices, 90 messages).
soak:
	CHURN_SOAK=1 cargo test --quiet -p im-tests --test e2e churn -- --nocapture

## The long fuzz run (docs/SECURITY.md): 20 000 cases per parser property, and 20 000 random
## requests and frames against a running stack. `make test` runs 256 and 300.
fuzz:
	PROPTEST_CASES=20000 cargo test --quiet -p im-functions --test properties
	FUZZ_CASES=20000 cargo test --quiet -p im-tests --test e2e fuzz -- --nocapture

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
