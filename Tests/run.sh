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
# check, Python interop client), Python's pip, Chromium (the dashboard's headless-browser test).
missing=()
for package in libzmq3-dev protobuf-compiler libprotobuf-dev python3-pip chromium; do
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

log "testing"
if [[ $# -gt 0 ]]; then
  swift test --skip-build "$@"
else
  # The headless-Chromium test runs on its own, after the others: beside the parallel suites on
  # a 2-core machine the page's server starves and the run stalls (see BrowserTests.swift).
  swift test --skip-build --skip BrowserTests
  log "testing the dashboard in headless Chromium"
  HITECH_BROWSER_TEST=1 swift test --skip-build --filter BrowserTests
  log "testing the whole local federation as real processes (one round at two days per second)"
  Tests/federation-check.sh "$(swift build --show-bin-path)/hitech"
fi
