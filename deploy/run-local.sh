#!/usr/bin/env bash
# Runs the system locally on loopback with sample data, on a Debian/Ubuntu machine with Swift:
# the whole local federation of deploy/federation.sh (aggregator with its dashboard, coordinator
# on an accelerated clock, one province node per sample reporter) through the 2025 round, from
# opening to published results. Prints the arrival table and the results, then keeps the
# federation running until Ctrl-C (or SIGTERM), which stops every daemon cleanly.
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

echo "== waiting for the 2025 round to run its course (dashboard: http://127.0.0.1:$((port + 1080))/)"
for _ in $(seq 1 600); do
  [[ -f "$state/published/results-2025.json" ]] && break
  sleep 0.5
done
if [[ ! -f "$state/published/results-2025.json" ]]; then
  echo "run-local.sh: no results after 5 minutes; see $state/logs/" >&2
  exit 1
fi
sleep 2

echo "== arrivals of the 2025 round"
HITECH_AGGREGATOR_DATABASE_PATH="$state/aggregator.sqlite" "$HITECH_BIN" status --year 2025 || true
echo "== the round's timeline"
"$HITECH_BIN" coordinator timeline --config "$state/coordinator.json" --year 2025 || true
echo "== published results: $state/published/"
ls -l "$state/published/"
echo "== what Sichuan's node heard (it never reported)"
ls "$state/nodes/510000/spool/notices/"

if [[ "${HITECH_EXIT_WHEN_PUBLISHED:-0}" == 1 ]]; then
  exit 0
fi
echo "== the federation keeps running; Ctrl-C stops it"
while :; do sleep 3600 & wait $!; done
