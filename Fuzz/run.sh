#!/usr/bin/env bash
# Builds the libFuzzer harnesses (-sanitize=fuzzer,address) into .build-fuzz and runs each for
# RUNS inputs, starting from the committed corpus and regressions. See Fuzz/README.md.
#
#   Fuzz/run.sh HARNESS|all [RUNS]     build, then run (RUNS defaults to 100000)
#   Fuzz/run.sh --build HARNESS|all    build only
#
# Harnesses: wire submission message-file sheet registry configuration.
# Environment: FUZZ_CONFIGURATION=release|debug (default release), FUZZ_ARGS (more libFuzzer
# flags, e.g. "-max_total_time=600" or "-jobs=2").
#
# A crash stops the harness's run; its reproducer is copied to Fuzz/regressions/HARNESS/ and
# the script exits 1 once every harness asked for has run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

all=(wire submission message-file sheet registry configuration)
build_only=0
if [[ "${1:-}" == "--build" ]]; then build_only=1; shift; fi
target="${1:?usage: Fuzz/run.sh [--build] HARNESS|all [RUNS]}"
runs="${2:-100000}"
configuration="${FUZZ_CONFIGURATION:-release}"
if [[ "$target" == all ]]; then harnesses=("${all[@]}"); else harnesses=("$target"); fi
for harness in "${harnesses[@]}"; do
  [[ " ${all[*]} " == *" $harness "* ]] || { echo "Fuzz/run.sh: no harness $harness (${all[*]})" >&2; exit 2; }
done

log() { echo "Fuzz/run.sh: $*" >&2; }
scratch=.build-fuzz
flags=(--scratch-path "$scratch" -c "$configuration" -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING)

for harness in "${harnesses[@]}"; do
  log "building fuzz-$harness ($configuration, -sanitize=fuzzer,address)"
  start=$SECONDS
  swift build "${flags[@]}" --product "fuzz-$harness" 2>&1 | grep -v "Cannot export local symbol" >&2
  log "built fuzz-$harness in $((SECONDS - start)) s"
done
[[ $build_only == 1 ]] && exit 0

bin="$scratch/$configuration"  # not --show-bin-path: it waits while another build holds the lock
failed=0
summary=()
for harness in "${harnesses[@]}"; do
  work="$scratch/corpus/$harness" artifacts="$scratch/artifacts/$harness"
  regressions="Fuzz/regressions/$harness"
  mkdir -p "$work" "$artifacts" "$regressions"
  output="$scratch/fuzz-$harness.log"
  log "running fuzz-$harness for $runs inputs (log: $output)"
  start=$SECONDS
  status=0
  # New inputs that add coverage go to the first folder (kept between runs, not committed).
  # shellcheck disable=SC2086
  SWIFT_BACKTRACE=enable=no ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}" "$bin/fuzz-$harness" -runs="$runs" -dict="Fuzz/dictionaries/$harness.dict" \
    -artifact_prefix="$artifacts/" -print_final_stats=1 -detect_leaks=0 -timeout=30 -rss_limit_mb=4096 \
    ${FUZZ_ARGS:-} "$work" "Fuzz/corpus/$harness" "$regressions" >"$output" 2>&1 || status=$?
  seconds=$((SECONDS - start))
  executed=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$output" | tail -1 | grep -o '[0-9]*$' || true)
  coverage=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$output" | tail -1 || true)
  corpus=$(find "$work" -type f | wc -l)
  crashes=0
  for artifact in "$artifacts"/*; do
    [[ -e "$artifact" ]] || continue
    crashes=$((crashes + 1))
    cp "$artifact" "$regressions/"
    log "fuzz-$harness: reproducer $regressions/$(basename "$artifact")"
  done
  rm -f "$artifacts"/*
  if [[ $status != 0 ]]; then
    failed=1
    grep -E 'ERROR|==[0-9]+==|property violated|Fatal error|SUMMARY' "$output" | head -20 >&2 || true
    [[ $crashes == 0 ]] && crashes="? (exit $status, see $output)"
  fi
  line="$harness: ${executed:-?} inputs in ${seconds} s, crashes: $crashes, ${coverage:-cov: ?}, corpus: $corpus inputs"
  summary+=("$line")
  log "$line"
done

echo "--- fuzzing summary ($configuration build, RUNS=$runs)"
printf '%s\n' "${summary[@]}"
if [[ $failed != 0 ]]; then
  echo "A harness failed. Replay a reproducer in an ordinary build: swift build && \$(swift build --show-bin-path)/fuzz-HARNESS FILE" >&2
  exit 1
fi
