#!/usr/bin/env bash
# End-to-end check of the whole local federation as real processes: deploy/federation.sh starts
# the aggregator, the coordinator on an accelerated clock (two simulated days per second) and a
# node per sample reporter; the 2024 and 2025 rounds must run from opening to published results,
# with Shanghai's correction (revision 2), Wuhan's rejected file fixed and resent, and the 2025
# ranking spread over the four support tiers; then every daemon must stop cleanly on SIGTERM.
# Run by Tests/run.sh after the Swift suites.
#
#   Tests/federation-check.sh HITECH_BIN
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export HITECH_BIN="$1"
export HITECH_SPEED=172800
export HITECH_PORT=$((20000 + RANDOM % 9000))
state="$(mktemp -d /tmp/federation-check.XXXXXX)"
rmdir "$state"
fail() { echo "federation-check: FAILED: $*" >&2; tail -n 20 "$state"/logs/*.log >&2 || true; deploy/federation.sh stop "$state" >/dev/null 2>&1 || true; exit 1; }

deploy/federation.sh start "$state" >/dev/null
for _ in $(seq 1 480); do
  [[ -f "$state/published/results-2025.json" ]] && break
  sleep 0.5
done
[[ -f "$state/published/results-2025.json" ]] || fail "no published results within 240 s"
sleep 3  # the published notices reach the nodes
[[ -f "$state/published/results-2024.json" ]] || fail "no 2024 results: two rounds should have run"

python3 - "$state" <<'PY' || fail "the results or the notices are not what the round should give"
import json, os, sys
state = sys.argv[1]
results = json.load(open(f"{state}/published/results-2025.json"))
bases = {b["baseId"]: b for b in results["bases"]}
assert len(bases) == 12, f"12 expected bases, got {len(bases)}"
assert bases["SAMPLE-510000-01"]["tier"] == "not_reported", bases["SAMPLE-510000-01"]
assert bases["SAMPLE-660000-01"]["late"] is True, bases["SAMPLE-660000-01"]
assert bases["SAMPLE-110000-01"]["tier"] != "not_reported" and bases["SAMPLE-110000-01"]["accessionNumber"]
for name in ("results-2025.csv", "results-2025.html"):
    assert os.path.exists(f"{state}/published/{name}"), name
def notices(reporter):
    return os.listdir(f"{state}/nodes/{reporter}/spool/notices")
sichuan = notices("510000")
for kind in ("opened", "reminder", "closed", "published"):
    assert any(n.endswith(f"-{kind}-2025.json") for n in sichuan), (kind, sichuan)
beijing = notices("110000")
assert not any("-reminder-2025" in n for n in beijing), beijing
assert any(n.endswith("-published-2025.json") for n in beijing), beijing
for reporter in ("110000", "310000", "660000"):
    sent = os.listdir(f"{state}/nodes/{reporter}/spool/sent")
    assert any(n.endswith("-2025-r1.json") for n in sent), (reporter, sent)
    assert any(n.endswith("-2024-r1.json") for n in sent), (reporter, sent)

# Two rounds: 2024 published before 2025, every base of 2024 reported (Sichuan too).
previous = json.load(open(f"{state}/published/results-2024.json"))
assert previous["reportYear"] == 2024 and len(previous["bases"]) == 12, previous["reportYear"]
assert all(b["tier"] != "not_reported" for b in previous["bases"]), [b["baseId"] for b in previous["bases"] if b["tier"] == "not_reported"]
# The correction: Shanghai's base is ranked on its revision 2.
assert bases["SAMPLE-310000-01"]["revision"] == 2, bases["SAMPLE-310000-01"]
assert any(n.endswith("SAMPLE-310000-01-2025-r2.json") for n in os.listdir(f"{state}/nodes/310000/spool/sent"))
# The rejected file, fixed and resent: refused once with its finding, then accepted.
wuhan = f"{state}/nodes/420100/spool"
refusals = [n for n in os.listdir(f"{wuhan}/rejected") if n.endswith(".rejected.txt")]
assert len(refusals) == 1, refusals
assert "R-OUTPUT-BY-FIELD-NOT-REGISTERED" in open(f"{wuhan}/rejected/{refusals[0]}").read()
assert any(n.endswith("SAMPLE-420100-01-2025-r1.json") for n in os.listdir(f"{wuhan}/sent"))
assert bases["SAMPLE-420100-01"]["tier"] != "not_reported" and bases["SAMPLE-420100-01"]["revision"] == 1
# Growth since 2024 and the experts' scores spread the ranking over the four tiers.
tiers = {b["tier"] for b in results["bases"]}
assert {"excellent", "good", "pass", "fail"} <= tiers, sorted(tiers)
assert all(b["expertScores"] for b in results["bases"] if b["tier"] != "not_reported")
growth = [s for b in results["bases"] for s in b.get("indicatorScores", []) if s["indicator"] == "output_growth"]
assert any(s["scoreMilli"] > 0 for s in growth), growth
print("federation-check: two rounds, the correction, the resent file, tiers", sorted(tiers))
PY

# The store saw the rejection and the correction, and the feed tells the round's steps.
HITECH_AGGREGATOR_DATABASE_PATH="$state/aggregator.sqlite" "$HITECH_BIN" status --year 2025 --reporter 420100 --json \
  | python3 -c 'import json, sys; s = json.load(sys.stdin); assert s["totals"]["rejectedSubmissions"] == 1, s["totals"]' \
  || fail "the aggregator did not record Wuhan's rejected submission"
feed="$(timeout 3 "$HITECH_BIN" status --watch --after 0 --year 2025 --endpoint "tcp://127.0.0.1:$HITECH_PORT" \
  --server-key "$state/keys/aggregator.pub" --secret-key "$state/keys/operator.key" 2>/dev/null || true)"
for word in "opened" "reminded" "closed" "published" "rejected" "late" "r2"; do
  grep -q -- "  $word" <<<"$feed" || fail "the 2025 feed has no '$word' line: $feed"
done

# The results name the submissions log's signed tree head they were computed from: it verifies
# with the centre's key, Shanghai's corrected revision is the leaf ranked (its first revision's
# receipt is reported as not assessed), and the head is a prefix of the log the aggregator serves.
shanghai="$state/nodes/310000/spool/sent"
r2="$(compgen -G "$shanghai/*SAMPLE-310000-01-2025-r2.json.receipt.json" | head -n 1)"
r1="$(compgen -G "$shanghai/*SAMPLE-310000-01-2025-r1.json.receipt.json" | head -n 1)"
verify_results() {
  "$HITECH_BIN" results verify "$state/published/results-2025.json" --key "$state/receipt-signing.key.pub" "$@"
}
verified="$(verify_results --receipt "$r2" --endpoint "tcp://127.0.0.1:$HITECH_PORT" \
  --server-key "$state/keys/aggregator.pub" --secret-key "$state/keys/310000.key" 2>&1)" \
  || fail "hitech results verify refused the published results: $verified"
grep -q "is a prefix of the aggregator's latest signed head" <<<"$verified" || fail "no consistency check in: $verified"
set +e
stale="$(verify_results --receipt "$r1" 2>&1)"
code=$?
set -e
[[ $code == 1 ]] && grep -q "not this receipt's revision 1" <<<"$stale" \
  || fail "Shanghai's first revision was not reported as not assessed (exit $code): $stale"

# Arrival status: Sichuan is missing after the deadline, so `hitech status` exits 3.
set +e
HITECH_AGGREGATOR_DATABASE_PATH="$state/aggregator.sqlite" "$HITECH_BIN" status --year 2025 >/dev/null
code=$?
set -e
[[ $code == 3 ]] || fail "hitech status exited $code, expected 3 (a base missing after the deadline)"

stop_log="$(deploy/federation.sh stop "$state" 2>&1)"
if grep -q SIGKILL <<<"$stop_log"; then fail "a daemon did not stop on SIGTERM: $stop_log"; fi
grep -q "aggregator stopped" "$state/logs/aggregator.log" || fail "the aggregator did not log a clean stop"
grep -q "coordinator stopped" "$state/logs/coordinator.log" || fail "the coordinator did not log a clean stop"
rm -rf "$state"
echo "federation-check: passed"
