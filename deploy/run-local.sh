#!/usr/bin/env bash
# Runs the system locally on loopback with sample data, on a Debian/Ubuntu machine with Swift.
#
# Builds `hitech`, then in a state folder: makes CURVE keys for the aggregator and two province
# nodes (Beijing 110000, Shenzhen 440300), imports the sample registry (deploy/sample, invented
# bases), registers the nodes' keys, opens the 2025 round, and starts the aggregator on
# tcp://127.0.0.1:7400. Each node then checks its connection and sends the sample report files
# of deploy/sample/submissions: accepted reports get receipts, a second send gets the same
# receipt, an invalid report is refused with every finding, and a report on another
# province's base is refused. Finally the aggregator is stopped with SIGTERM.
#
#   deploy/run-local.sh [STATE_DIR]     (default: .hitech-local, git-ignored; emptied first if this script made it)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

state="${1:-.hitech-local}"
endpoint="tcp://127.0.0.1:7400"

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
hitech="$(swift build -c release --show-bin-path)/hitech"

# Start from an empty state folder, but never remove a folder this script did not make.
if [[ -e "$state" && ! -f "$state/.made-by-run-local" ]]; then
  echo "run-local.sh: $state exists and was not made by this script; name another folder" >&2
  exit 1
fi
rm -rf "$state"
mkdir -p "$state/keys"
touch "$state/.made-by-run-local"
export HITECH_AGGREGATOR_DATABASE_PATH="$state/aggregator.sqlite"
for name in aggregator 110000 440300; do
  "$hitech" keys generate --name "$name" --directory "$state/keys" >/dev/null
done

echo "== registry: the 47 reporters, the sample bases, the nodes' keys; round 2025 open"
"$hitech" registry import deploy/sample/registry.json
"$hitech" registry register-key --reporter 110000 --public-key "$state/keys/110000.pub" --comment "local demo"
"$hitech" registry register-key --reporter 440300 --public-key "$state/keys/440300.pub" --comment "local demo"
"$hitech" rounds set --year 2025 --state open

cat > "$state/aggregator.json" <<JSON
{ "aggregator": {
    "endpoint": "$endpoint",
    "secretKeyPath": "$state/keys/aggregator.key",
    "databasePath": "$state/aggregator.sqlite",
    "statusPath": "$state/aggregator.status.json"
} }
JSON

echo "== starting the aggregator on $endpoint (log: $state/aggregator.log)"
"$hitech" aggregator run --config "$state/aggregator.json" 2>"$state/aggregator.log" &
aggregator=$!
trap 'kill -TERM $aggregator 2>/dev/null; wait $aggregator 2>/dev/null || true' EXIT

node() {  # node REPORTER COMMAND ARGS...
  local reporter="$1"; shift
  "$hitech" "$@" --endpoint "$endpoint" --server-key "$state/keys/aggregator.pub" --secret-key "$state/keys/$reporter.key"
}

echo "== waiting for the aggregator"
node 110000 ping --wait-for-ready --timeout 60 --count 0

for reporter in 110000 440300; do
  echo "== node $reporter"
  node "$reporter" ping --count 200 --concurrency 10
  for file in deploy/sample/submissions/"$reporter"-*.json; do
    echo "-- $reporter sends $(basename "$file")"
    node "$reporter" submit "$file" || true
  done
done

echo "== 110000 sends its first file again: the same receipt"
node 110000 submit deploy/sample/submissions/110000-SAMPLE-110000-01-2025.json

echo "== stopping the aggregator (SIGTERM)"
kill -TERM $aggregator
wait $aggregator
trap - EXIT
echo "== the store now holds:"
"$hitech" registry keys
cat "$state/aggregator.status.json"
