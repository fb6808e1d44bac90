#!/usr/bin/env bash
# Runs the system locally on loopback, on a Debian/Ubuntu machine with Swift installed.
#
# For now the system is its transport: this builds `hitech`, makes CURVE keys for a central
# server and for two province nodes (Beijing 110000, Shenzhen 440300) in a state folder, starts
# a server on tcp://127.0.0.1:7400 that admits only those two keys, and has each node call it:
# WhoAmI shows the identity the server gives each key, then 2,000 pings measure the calls per
# second with 1 and with 100 calls in flight. A key the server does not know is refused.
# Ctrl-C or the end of the demo stops the server cleanly (SIGTERM).
#
#   deploy/run-local.sh [STATE_DIR]     (default: .hitech-local, git-ignored)
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

mkdir -p "$state/keys"
for name in central 110000 440300 stranger; do
  [[ -f "$state/keys/$name.key" ]] || "$hitech" keys generate --name "$name" --directory "$state/keys" >/dev/null
done

echo "== starting the central server on $endpoint (CURVE; admits 110000 and 440300)"
"$hitech" serve-diagnostics --endpoint "$endpoint" \
  --secret-key "$state/keys/central.key" \
  --allow "110000=$state/keys/110000.pub" --allow "440300=$state/keys/440300.pub" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
sleep 1

for node in 110000 440300; do
  echo "== node $node"
  "$hitech" ping --endpoint "$endpoint" --server-key "$state/keys/central.pub" \
    --secret-key "$state/keys/$node.key" --count 2000 --concurrency 1
  "$hitech" ping --endpoint "$endpoint" --server-key "$state/keys/central.pub" \
    --secret-key "$state/keys/$node.key" --count 2000 --concurrency 100
done

echo "== an unregistered key"
if "$hitech" ping --endpoint "$endpoint" --server-key "$state/keys/central.pub" \
  --secret-key "$state/keys/stranger.key" --timeout 3; then
  echo "run-local.sh: the unregistered key was admitted" >&2
  exit 1
fi
echo "== done; stopping the server"
