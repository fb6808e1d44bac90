#!/usr/bin/env bash
# Instructions per Submit: the aggregator's CPU cost of one ReportIngest.Submit, counted by
# valgrind's callgrind (instruction counts are repeatable on a shared machine; times are not).
#
#   Benchmarks/callgrind-submit.sh [SUBMITS] [IN_FLIGHT]      (default 2000 and 50)
#
# It builds `hitech` in release mode (scratch path $HITECH_RELEASE_SCRATCH, default
# .build-release), makes an SQLite store with IN_FLIGHT bases of reporter 110000, the rounds of
# 2024 and 2025 open and the node's key registered, and runs `hitech aggregator run` (log level
# info, as deployed) under callgrind. A load generator written from proto-schemas/WIRE.md
# (Python, pyzmq with CURVE, one DEALER connection) then sends, with IN_FLIGHT calls in flight:
#   warm-up   each base's 2024 report, and 2025 revisions 1-2 (outside the count);
#   measured  SUBMITS more 2025 revisions (each a valid, accepted, stored report whose base has
#             a report of the year before), counted alone: `callgrind_control --dump` runs
#             before and after it.
# It prints the instructions per Submit of the measured phase and the functions that cost the
# most (inclusive), and leaves the callgrind files in the work folder it names
# ($HITECH_CALLGRIND_KEEP=1 keeps the folder; otherwise only the measured dump is kept).
#
# Two workarounds for valgrind 3.19 (Debian 12) on Swift release binaries: the binary is run from a copy without debug information (callgrind
# crashes reading its DWARF; the symbols stay), and libdispatch's `sigsuspend` is replaced by a
# preloaded shim that passes a copy of the mask (valgrind faults on the read-only one).
#
# Needs: valgrind, python3 with pyzmq and protobuf, protoc, a C compiler.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"

submits="${1:-2000}"
in_flight="${2:-50}"
scratch="${HITECH_RELEASE_SCRATCH:-$root/.build-release}"
work="$(mktemp -d "${TMPDIR:-/tmp}/hitech-callgrind.XXXXXX")"
aggregator_pid=""

cleanup() {
  if [[ -n "$aggregator_pid" ]] && kill -0 "$aggregator_pid" 2>/dev/null; then
    kill -TERM "$aggregator_pid" 2>/dev/null || true
    wait "$aggregator_pid" 2>/dev/null || true
  fi
  if [[ "${HITECH_CALLGRIND_KEEP:-0}" != 1 ]]; then
    find "$work" -mindepth 1 -maxdepth 1 ! -name 'callgrind.measured' -exec rm -rf {} + 2>/dev/null || true
  fi
}
trap cleanup EXIT

for tool in valgrind callgrind_control callgrind_annotate protoc python3 cc objcopy; do
  command -v "$tool" >/dev/null || { echo "callgrind-submit.sh: $tool is missing" >&2; exit 2; }
done

echo "== building hitech (release, $scratch)" >&2
swift build -c release --product hitech --scratch-path "$scratch" >&2
bin="$(swift build -c release --scratch-path "$scratch" --show-bin-path)/hitech"
objcopy --strip-debug "$bin" "$work/hitech"
hitech="$work/hitech"

cat >"$work/sigsuspend-shim.c" <<'EOF'
#define _GNU_SOURCE
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
/* valgrind 3.19 faults on sigsuspend with a mask in read-only memory (libdispatch's). */
int sigsuspend(const sigset_t *mask) {
  sigset_t copy = *mask;
  return (int)syscall(SYS_rt_sigsuspend, &copy, _NSIG / 8);
}
EOF
cc -shared -fPIC -O2 -o "$work/sigsuspend-shim.so" "$work/sigsuspend-shim.c"

# --- the store: keys, bases, rounds ------------------------------------------------------------
mkdir -p "$work/keys"
"$hitech" keys generate --name aggregator --directory "$work/keys" >/dev/null
"$hitech" keys generate --name 110000 --directory "$work/keys" >/dev/null
database="$work/aggregator.sqlite"
python3 - "$in_flight" "$root/deploy/sample/registry.json" >"$work/registry.json" <<'EOF'
import copy, json, sys
count, sample = int(sys.argv[1]), json.load(open(sys.argv[2]))
model = next(b for b in sample["bases"] if b["baseId"] == "SAMPLE-110000-01")
bases = []
for i in range(count):
    base = copy.deepcopy(model)
    base["baseId"] = f"LOAD-110000-{i:03d}"
    base["nameEn"] = f"Load base {i}"
    base["nameZh"] = f"负载基地{i}"
    bases.append(base)
json.dump({"bases": bases}, sys.stdout, ensure_ascii=False)
EOF
"$hitech" registry import --database "$database" "$work/registry.json" >/dev/null
"$hitech" registry register-key --database "$database" --reporter 110000 --public-key "$work/keys/110000.pub" >/dev/null
for year in 2024 2025; do
  "$hitech" rounds set --database "$database" --year "$year" --state open >/dev/null
done
cat >"$work/aggregator.json" <<EOF
{ "aggregator": { "endpoint": "ipc://$work/aggregator.ipc", "secretKeyPath": "$work/keys/aggregator.key",
  "databasePath": "$database", "statusPath": "$work/aggregator.status.json" } }
EOF

# --- the aggregator under callgrind --------------------------------------------------------------
echo "== starting the aggregator under callgrind" >&2
LD_PRELOAD="$work/sigsuspend-shim.so" valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" \
  "$hitech" aggregator run --config "$work/aggregator.json" >"$work/aggregator.log" 2>&1 &
aggregator_pid=$!
for _ in $(seq 1 600); do
  [[ -S "$work/aggregator.ipc" ]] && break
  kill -0 "$aggregator_pid" 2>/dev/null || { cat "$work/aggregator.log" >&2; exit 1; }
  sleep 0.2
done

# --- the load --------------------------------------------------------------------------------
mkdir -p "$work/pb"
protoc --python_out="$work/pb" -I "$root/proto-schemas" -I /usr/include "$root"/proto-schemas/ndrc/hitech/v1/*.proto
cat >"$work/load.py" <<'EOF'
"""Submits over the wire protocol of proto-schemas/WIRE.md, IN_FLIGHT calls at once."""
import json, struct, subprocess, sys, time, uuid
import zmq
from google.protobuf import json_format

work, pid, submits, in_flight, sample = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
sys.path.insert(0, work + "/pb")
from ndrc.hitech.v1 import submission_pb2  # noqa: E402

OPEN, MESSAGE, HALF_CLOSE, HEADERS, STATUS = 0x01, 0x02, 0x03, 0x11, 0x12
METHOD = b"/ndrc.hitech.v1.ReportIngest/Submit"

context = zmq.Context()
socket = context.socket(zmq.DEALER)
secret = open(work + "/keys/110000.key").read().strip().encode()
socket.curve_secretkey = secret
socket.curve_publickey = zmq.curve_public(secret)
socket.curve_serverkey = open(work + "/keys/aggregator.pub").read().strip().encode()
socket.setsockopt(zmq.IMMEDIATE, 1)
socket.connect("ipc://" + work + "/aggregator.ipc")

template = json_format.Parse(json.dumps(json.load(open(sample))), submission_pb2.Submission())
bases = [f"LOAD-110000-{i:03d}" for i in range(in_flight)]
next_stream = 1


def submission(base, year, revision):
    message = submission_pb2.Submission()
    message.CopyFrom(template)
    message.submission_id = str(uuid.uuid4())
    message.base_id = base
    message.report_year = year
    message.revision = revision
    message.replaces_revision = revision - 1
    message.report.compiled_by = f"load generator: {base} {year} revision {revision}"
    return message.SerializeToString()


def run(calls):
    """Runs (base, year, revision) calls, each base's in order, one call per base in flight."""
    global next_stream
    queues = {}
    for call in calls:
        queues.setdefault(call[0], []).append(call)
    open_streams = {}

    def start(base):
        global next_stream
        if not queues[base]:
            return
        call = queues[base].pop(0)
        stream, next_stream = next_stream, next_stream + 1
        header = lambda kind: struct.pack(">BBQ", 1, kind, stream)
        socket.send_multipart([header(OPEN), METHOD])
        socket.send_multipart([header(MESSAGE), submission(*call)])
        socket.send_multipart([header(HALF_CLOSE)])
        open_streams[stream] = (base, call)

    for base in list(queues):
        start(base)
    failures = 0
    while open_streams:
        if not socket.poll(120_000):
            raise SystemExit(f"no answer within 120 s; {len(open_streams)} calls in flight")
        frames = socket.recv_multipart()
        _, kind, stream = struct.unpack(">BBQ", frames[0])
        if kind != STATUS or stream not in open_streams:
            continue
        (code,) = struct.unpack(">I", frames[1])
        base, call = open_streams.pop(stream)
        if code != 0:
            failures += 1
            sys.stderr.write(f"{call}: status {code} {frames[2].decode(errors='replace')}\n")
        start(base)
    return failures


def dump(label):
    subprocess.run(["callgrind_control", "--dump=" + label, pid], check=True, stdout=subprocess.DEVNULL)


warm = [(base, 2024, 1) for base in bases] + [(base, 2025, r) for base in bases for r in (1, 2)]
if run(warm):
    raise SystemExit("the warm-up had failures")
per_base = -(-submits // len(bases))
measured = [(base, 2025, 3 + k) for base in bases for k in range(per_base)][: submits]
time.sleep(1)
dump("warm-up")
started = time.monotonic()
failures = run(measured)
elapsed = time.monotonic() - started
dump("measured")
print(json.dumps({"submits": len(measured), "failures": failures, "seconds": round(elapsed, 1)}))
EOF
echo "== load: warm-up, then $submits Submits with $in_flight in flight (slow under callgrind)" >&2
result="$(python3 "$work/load.py" "$work" "$aggregator_pid" "$submits" "$in_flight" \
  "$root/deploy/sample/submissions/110000-SAMPLE-110000-01-2025.json")"
kill -TERM "$aggregator_pid"
wait "$aggregator_pid" || true
aggregator_pid=""

measured_file="$(grep -l '^desc: Trigger: .*measured$' "$work"/callgrind.out.* 2>/dev/null | head -n 1)"
[[ -n "$measured_file" ]] || { echo "callgrind-submit.sh: no dump of the measured phase in $work" >&2; exit 1; }
cp "$measured_file" "$work/callgrind.measured"
total="$(awk '/^(summary|totals):/ { print $2; exit }' "$work/callgrind.measured")"
count="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["submits"])' "$result")"
failures="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["failures"])' "$result")"

echo "== the most expensive functions of the measured phase (inclusive instructions)"
# (`head` closes the pipe early: the SIGPIPE of the commands before it is not a failure.)
{ callgrind_annotate --inclusive=yes --threshold=99 "$work/callgrind.measured" 2>/dev/null \
  | grep -E '^ *[0-9,]+ \(' | head -n 30 | cut -c1-200; } || true
echo
echo "load: $result"
echo "measured: $total instructions for $count Submits ($failures failed)"
python3 -c 'import sys; t, n = int(sys.argv[1]), int(sys.argv[2]); print(f"instructions per Submit: {t / n:,.0f}")' "$total" "$count"
echo "callgrind file of the measured phase: $work/callgrind.measured"
