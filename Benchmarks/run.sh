#!/usr/bin/env bash
# The benchmark suite in one command (Benchmarks/README.md): builds `hitech-bench` and `hitech`
# in release mode (HITECH_BENCHMARKS=1 adds the suite and its HTTP/2 peer to the package; a
# scratch path of their own, .build-release, leaves the debug build alone), runs every part and
# prints the figures and the ratios as Markdown tables, then instructions per Submit
# (Benchmarks/callgrind-submit.sh).
#
#   Benchmarks/run.sh                     everything (about 3 minutes on 2 cores, after the build)
#   Benchmarks/run.sh --only ping,raw     some parts: raw, ping, stream, submit, process
#   Benchmarks/run.sh --smoke             CI: a debug build beside the tests' (.build), a few
#                                         iterations of every part; its figures mean nothing
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export HITECH_BENCHMARKS=1

log() { echo "Benchmarks/run.sh: $*" >&2; }

if [[ " $* " == *" --smoke "* ]]; then
  build=(swift build --build-tests)
  "${build[@]}" >&2
  bin="$("${build[@]}" --show-bin-path)"
else
  build=(swift build -c release --scratch-path "${HITECH_BENCH_SCRATCH:-$PWD/.build-release}")
  log "building hitech-bench and hitech (release)"
  "${build[@]}" --product hitech >&2
  "${build[@]}" --product hitech-bench >&2
  bin="$("${build[@]}" --show-bin-path)"
fi

"$bin/hitech-bench" "$@"

# Instructions per Submit (callgrind counts instructions: repeatable on a loaded machine). Not in
# the smoke pass: valgrind runs the aggregator some fifty times slower.
if [[ " $* " != *" --only "* && " $* " != *" --smoke "* && -x Benchmarks/callgrind-submit.sh ]]; then
  log "instructions per Submit (Benchmarks/callgrind-submit.sh)"
  Benchmarks/callgrind-submit.sh
fi
