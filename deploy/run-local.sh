#!/usr/bin/env bash
# Runs the system locally on loopback with sample data, on a Debian/Ubuntu machine with Swift:
# the whole local federation of deploy/federation.sh (aggregator with its dashboard, coordinator
# on an accelerated clock, one province node per sample reporter) through two yearly rounds,
# 2024 then 2025, from the first opening to the last published results. Prints the arrival
# feed and table, the round's timeline and the ranking, then keeps the federation running until
# Ctrl-C (or SIGTERM), which stops every daemon cleanly.
#
#   deploy/run-local.sh [STATE_DIR]     (default: .hitech-local, git-ignored)
#
# Environment: as deploy/federation.sh (HITECH_BIN, HITECH_SPEED, HITECH_PORT); and
# HITECH_EXIT_WHEN_PUBLISHED=1 stops the federation once the results are published.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

state="${1:-.hitech-local}"
port="${HITECH_PORT:-7400}"

if [[ -z "${HITECH_BIN:-}" ]]; then
  if ! dpkg-query -W -f='${Status}' libzmq3-dev 2>/dev/null | grep -q "ok installed"; then
    if [[ "$(id -u)" == 0 ]]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libzmq3-dev >/dev/null
    else
      echo "run-local.sh: libzmq3-dev is missing: sudo apt-get install -y libzmq3-dev" >&2
      exit 1
    fi
  fi
  echo "== building hitech (release)"
  swift build -c release --product hitech
  HITECH_BIN="$(swift build -c release --show-bin-path)/hitech"
  export HITECH_BIN
fi

stop() {
  trap - EXIT INT TERM
  echo
  echo "== stopping the federation"
  deploy/federation.sh stop "$state"
}

deploy/federation.sh start "$state"
state="$(cd "$state" && pwd)"
trap stop EXIT INT TERM

echo "== waiting for the 2024 and 2025 rounds to run their course (dashboard: http://127.0.0.1:$((port + 1080))/)"
for _ in $(seq 1 600); do
  [[ -f "$state/published/results-2025.json" ]] && break
  sleep 0.5
done
if [[ ! -f "$state/published/results-2025.json" ]]; then
  echo "run-local.sh: no 2025 results after 5 minutes; see $state/logs/" >&2
  exit 1
fi
sleep 2

echo "== the 2025 round as the arrival feed told it (hitech status --watch --after 0, 2 s)"
timeout 2 "$HITECH_BIN" status --watch --after 0 --year 2025 --endpoint "tcp://127.0.0.1:$port" \
  --server-key "$state/keys/aggregator.pub" --secret-key "$state/keys/operator.key" 2>/dev/null || true
echo "== arrivals of the 2025 round (reporters with bases expected)"
HITECH_AGGREGATOR_DATABASE_PATH="$state/aggregator.sqlite" "$HITECH_BIN" status --year 2025 \
  | awk 'NR <= 3 || $3 != "0" || $1 == "TOTAL"' || true
echo "== the 2025 round's timeline"
"$HITECH_BIN" coordinator timeline --config "$state/coordinator.json" --year 2025 || true
echo "== the 2025 ranking (published in $state/published/)"
"$HITECH_BIN" coordinator results --config "$state/coordinator.json" --year 2025 || true
echo "== what Sichuan's node heard (it never reported)"
"$HITECH_BIN" node status --config "$state/nodes/510000/node.json" 2>&1 >/dev/null | tail -n 6 || true

if [[ "${HITECH_EXIT_WHEN_PUBLISHED:-0}" == 1 ]]; then
  exit 0
fi
echo "== the federation keeps running; Ctrl-C stops it"
while :; do sleep 3600 & wait $!; done
