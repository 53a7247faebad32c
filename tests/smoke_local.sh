#!/usr/bin/env bash
# `make test`'s smoke check: the stack `make run` starts (its binary, in memory) in the
# background, `make smoke` against it as against a deployment, then the stack stops.
set -euo pipefail
cd "$(dirname "$0")/.."
http=http://127.0.0.1:3000
log=target/artifacts/smoke-stack.log
mkdir -p target/artifacts
if curl -sf "$http/health" >/dev/null 2>&1; then
  echo "something already answers on $http (a make run?): stop it, or run make smoke against it"
  exit 1
fi
target/debug/local_stack --in-memory --data-dir target/smoke-data >"$log" 2>&1 &
stack=$!
trap 'kill $stack 2>/dev/null; wait $stack 2>/dev/null || true' EXIT
for _ in $(seq 1 180); do
  curl -sf "$http/health" >/dev/null 2>&1 && break
  kill -0 $stack 2>/dev/null || { echo "the local stack did not start:"; tail -n 20 "$log"; exit 1; }
  sleep 1
done
make --no-print-directory smoke HTTP_URL=$http WS_URL=ws://127.0.0.1:3001/v1
