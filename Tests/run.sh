#!/usr/bin/env bash
# Runs every check of the project on a Debian/Ubuntu machine with Swift installed:
# installs the system and Python packages the tests need when they are missing, checks that
# the committed generated code matches proto-schemas/, then runs the whole test suite.
#
#   Tests/run.sh              everything
#   Tests/run.sh --filter X   only the Swift tests matching X (after the same checks)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { echo "Tests/run.sh: $*" >&2; }

# System packages: libzmq (the transport), protoc and the well-known types (generated-code
# check, Python interop client), Python's pip, Chromium (the dashboard's headless-browser test),
# PostgreSQL (the store contract's PostgreSQL cases, several aggregators on one database).
missing=()
for package in libzmq3-dev protobuf-compiler libprotobuf-dev python3-pip chromium postgresql; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  if [[ "$(id -u)" != 0 ]]; then
    log "missing packages: ${missing[*]}; run: sudo apt-get install -y ${missing[*]}"
    exit 1
  fi
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Python packages of the interop client (a client written from proto-schemas/WIRE.md alone).
if [[ -f Tests/InteropTests/python/requirements.txt ]]; then
  python3 -m pip install -q --disable-pip-version-check -r Tests/InteropTests/python/requirements.txt \
    || python3 -m pip install -q --disable-pip-version-check --break-system-packages -r Tests/InteropTests/python/requirements.txt
fi

log "checking that the generated Swift matches proto-schemas/"
proto-schemas/check-generated.sh

log "building"
swift build --build-tests

# A throwaway PostgreSQL cluster (initdb in a temporary folder, a unix socket in that folder, no
# TCP port), stopped and removed on exit. initdb refuses to run as root: as root, the cluster
# runs as the `postgres` user the package made.
pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
if [[ -z "$pg_bin" ]]; then
  log "no PostgreSQL server binaries under /usr/lib/postgresql; install the postgresql package"
  exit 1
fi
pg_dir="$(mktemp -d /tmp/hitech-pg.XXXXXX)"
as_pg() { if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
stop_postgres() {
  as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$pg_dir"
}
trap stop_postgres EXIT
[[ "$(id -u)" == 0 ]] && chown postgres "$pg_dir"
pg_user="$(as_pg id -un)"
as_pg "$pg_bin/initdb" -D "$pg_dir/data" -A trust -U "$pg_user" -E UTF8 --no-sync >"$pg_dir/initdb.log" 2>&1 \
  || { cat "$pg_dir/initdb.log" >&2; exit 1; }
as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w \
  -o "-c listen_addresses='' -c unix_socket_directories='$pg_dir' -c port=5432 -c max_connections=400" start >/dev/null \
  || { cat "$pg_dir/server.log" >&2; exit 1; }
export HITECH_TEST_POSTGRES_URL="postgres://$pg_user@/postgres?host=$pg_dir&port=5432"
log "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') for the tests at $HITECH_TEST_POSTGRES_URL"

log "testing"
if [[ $# -gt 0 ]]; then
  swift test --skip-build "$@"
else
  # The headless-Chromium test runs on its own, after the others: beside the parallel suites on
  # a 2-core machine the page's server starves and the run stalls (see BrowserTests.swift).
  # In two halves: all suites at once on a 2-core machine starve each other past the time
  # bounds some tests keep. The province node's real-process suites, the store contract on
  # PostgreSQL and the fuzz replays (the heaviest) run after the rest.
  swift test --skip-build --skip BrowserTests --skip HostilePeerTests \
    --skip ProvinceNodeTests --skip StoreContractTests --skip FuzzTests
  log "testing the province node's processes, the store contract on both backends, the fuzz corpus"
  swift test --skip-build --filter ProvinceNodeTests --filter StoreContractTests --filter FuzzTests
  # The hostile-peer suite compares a client's latency under a flood with its quiet latency in
  # the same run: it runs alone, so that the other suites' load does not skew the ratio.
  log "testing the aggregator against hostile peers"
  swift test --skip-build --filter HostilePeerTests
  log "testing the dashboard in headless Chromium"
  HITECH_BROWSER_TEST=1 swift test --skip-build --filter BrowserTests
  log "testing the whole local federation as real processes (one round at two days per second)"
  Tests/federation-check.sh "$(swift build --show-bin-path)/hitech"
  # FuzzTests above replayed every committed fuzz input; this keeps the sanitizer build working.
  if [[ "${HITECH_SKIP_FUZZ:-}" != 1 ]]; then
    log "fuzzing the wire decoder briefly with the sanitizers (Fuzz/run.sh; HITECH_SKIP_FUZZ=1 skips)"
    Fuzz/run.sh wire 2000
  fi
  # No figures: this keeps the benchmark suite building and running (Benchmarks/README.md).
  log "running the benchmark suite once, a few iterations of each part (Benchmarks/run.sh --smoke)"
  Benchmarks/run.sh --smoke
fi
