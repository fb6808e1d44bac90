#!/usr/bin/env bash
# Starts, inspects and stops a whole local federation on loopback with the sample data: the
# aggregator (with its dashboard), the coordinator (on an accelerated clock), and one province
# node per sample reporter, each a separate `hitech` process with its own configuration, keys,
# log and pid file in the state folder.
#
#   deploy/federation.sh start  [STATE_DIR]   make keys, registry, configs; start every daemon
#   deploy/federation.sh status [STATE_DIR]   which daemons run; the round's arrival table
#   deploy/federation.sh stop   [STATE_DIR]   SIGTERM every daemon (nodes, coordinator,
#                                             aggregator) and wait for each to exit
#
# STATE_DIR defaults to .hitech-local (git-ignored); `start` empties it first only if this
# script made it. Environment:
#   HITECH_BIN     the hitech executable to use (default: build it in release mode)
#   HITECH_SPEED   simulated seconds per real second for the coordinator's clock
#                  (default 86400: one day of the calendar per second; the 2024 and 2025
#                  rounds then run from the first opening to the last results in about 45 s)
#   HITECH_PORT    the aggregator's port (default 7400); the dashboard is on HITECH_PORT+1080 (8480)
#   HITECH_STORE   sqlite (default: one aggregator on an SQLite file) or postgres: a local
#                  PostgreSQL cluster in STATE_DIR/postgres (Debian's postgresql package, a unix
#                  socket, no TCP port) with the roles of deploy/postgres/, and two aggregators
#                  on it (HITECH_PORT and HITECH_PORT+1; half of the nodes start on each, the
#                  other one as their fallback); stopped with the federation
#
# The clerks are simulated: when a node hears that a round opened, its reporter's spreadsheet
# (deploy/sample/reports/<year>-<code>.csv) is turned into report files in its outbox with
# `hitech report from-csv`. Two rounds run, 2024 then 2025, so that the 2025 assessment has a
# year to grow from. In 2024 everyone reports on time. In 2025: Sichuan (510000) never reports
# (reminders name it, the results list it as not reported); the XPCC (660000) reports only after
# the round closed (accepted, marked late); Wuhan's clerk (420100) first sends its report with
# output under a field its base is not registered in, which the aggregator rejects
# (R-OUTPUT-BY-FIELD-NOT-REGISTERED), then fixes and resends it;
# Shanghai's clerk (310000) corrects a report once it is accepted (revision 2 replacing 1).
# Expert scores for the 2025 assessment are entered with `hitech coordinator expert-score`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

command="${1:-}"
state="${2:-.hitech-local}"
port="${HITECH_PORT:-7400}"
endpoint="tcp://127.0.0.1:$port"
dashboard="127.0.0.1:$((port + 1080))"
speed="${HITECH_SPEED:-86400}"
reporters=(110000 310000 330200 370200 420100 440000 440300 510000 660000)

store_kind="${HITECH_STORE:-sqlite}"
[[ "$store_kind" == sqlite || "$store_kind" == postgres ]] \
  || { echo "federation.sh: HITECH_STORE is sqlite or postgres, not $store_kind" >&2; exit 2; }
second_endpoint="tcp://127.0.0.1:$((port + 1))"

log() { echo "federation: $*"; }

# The local PostgreSQL cluster of HITECH_STORE=postgres (as root, it runs as the `postgres` user).
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
as_pg() { if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_url() { echo "postgres://$1@/hitech?host=$state/postgres&port=5432"; }

start_postgres() {
  if [[ -z "$(pg_bin)" ]]; then
    if [[ "$(id -u)" == 0 ]]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    else
      echo "federation.sh: PostgreSQL is missing: sudo apt-get install -y postgresql" >&2
      exit 1
    fi
  fi
  local bin
  bin="$(pg_bin)"
  mkdir -p "$state/postgres"
  [[ "$(id -u)" == 0 ]] && chown postgres "$state/postgres"
  local superuser
  superuser="$(as_pg id -un)"
  as_pg "$bin/initdb" -D "$state/postgres/data" -A trust -U "$superuser" -E UTF8 >"$state/postgres/initdb.log" 2>&1
  as_pg "$bin/pg_ctl" -D "$state/postgres/data" -l "$state/postgres/server.log" -w \
    -o "-c listen_addresses='' -c unix_socket_directories='$state/postgres' -c port=5432" start >/dev/null
  log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') in $state/postgres: roles hitech_owner and hitech_aggregator"
  psql -X -q "postgres://$superuser@/postgres?host=$state/postgres&port=5432" -f deploy/postgres/roles.sql >/dev/null
  "$hitech" store migrate --store "$(pg_url hitech_owner)" >/dev/null
  psql -X -q "$(pg_url hitech_owner)" -f deploy/postgres/grants.sql >/dev/null
}

stop_postgres() {
  [[ -d "$state/postgres/data" ]] || return 0
  as_pg "$(pg_bin)/pg_ctl" -D "$state/postgres/data" -m fast -w stop >/dev/null 2>&1 || true
}

find_hitech() {
  if [[ -n "${HITECH_BIN:-}" ]]; then
    hitech="$HITECH_BIN"
  else
    if ! dpkg-query -W -f='${Status}' libzmq3-dev 2>/dev/null | grep -q "ok installed"; then
      if [[ "$(id -u)" == 0 ]]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libzmq3-dev >/dev/null
      else
        echo "federation.sh: libzmq3-dev is missing: sudo apt-get install -y libzmq3-dev" >&2
        exit 1
      fi
    fi
    log "building hitech (release)"
    swift build -c release --product hitech >&2
    hitech="$(swift build -c release --show-bin-path)/hitech"
  fi
}

# start_daemon NAME ARGS...: runs `hitech ARGS...` in the background, logs to logs/NAME.log.
start_daemon() {
  local name="$1"; shift
  "$hitech" "$@" </dev/null >>"$state/logs/$name.log" 2>&1 &
  echo $! >"$state/pids/$name.pid"
}

# Shanghai wall-clock time (UTC+8) of a moment given as seconds since the epoch.
shanghai() { TZ=Asia/Shanghai date -d "@$1" +%Y-%m-%dT%H:%M; }

# The simulated clock: the coordinator's day N of the demo calendar, as a Shanghai time.
day() { shanghai $((epoch + $1 * 86400)); }

# clerk_drop REPORTER YEAR [CSV]: the reporter's spreadsheet for YEAR into its outbox.
clerk_drop() {
  local reporter="$1" year="$2" sheet="${3:-deploy/sample/reports/$2-$1.csv}"
  "$hitech" report from-csv "$sheet" --output "$state/nodes/$reporter/spool/outbox" >>"$state/logs/clerks.log" 2>&1 || true
  echo "$(date -Is) clerk of $reporter dropped $(basename "$sheet")" >>"$state/logs/clerks.log"
}

clerks() {  # runs in the background: the clerks act on the notices their nodes received
  local done_list=" "
  local jobs=0
  while :; do
    jobs=0
    for year in 2024 2025; do
      for reporter in "${reporters[@]}"; do
        local key="$year/$reporter"
        jobs=$((jobs + 1))
        [[ "$done_list" == *" $key "* ]] && continue
        local spool="$state/nodes/$reporter/spool"
        local trigger="-opened-$year.json"
        [[ "$year/$reporter" == 2025/660000 ]] && trigger="-closed-2025.json"
        if [[ "$year/$reporter" == 2025/510000 ]]; then done_list+="$key "; continue; fi
        ls "$spool/notices" 2>/dev/null | grep -q -- "$trigger" || continue
        case "$year/$reporter" in
          2025/420100)
            # First the clerk adds an output breakdown by field naming new energy, a field the
            # biology base is not registered in: the aggregator rejects it
            # (R-OUTPUT-BY-FIELD-NOT-REGISTERED); once the refusal is back in rejected/, the clerk
            # sends the sheet as it is.
            if [[ "$done_list" != *" $key:wrong "* ]]; then
              "$hitech" report from-csv deploy/sample/reports/2025-420100.csv --output "$state/clerk-420100" \
                >>"$state/logs/clerks.log" 2>&1 || true
              python3 - "$state/clerk-420100/SAMPLE-420100-01-2025-r1.json" "$spool/outbox" <<'PY' || true
import json, os, sys
source, outbox = sys.argv[1], sys.argv[2]
message = json.load(open(source, encoding="utf-8"))
message.pop("contentSha256", None)  # the node computes it for the changed report
message.pop("submissionId", None)
total = message["report"]["totalOutputValue"]
message["report"]["outputByField"] = [
    {"field": "FIELD_NEW_ENERGY", "outputValue": {"value": str(int(total["value"]) // 4), "unit": total["unit"]}}]
temporary = os.path.join(outbox, ".SAMPLE-420100-01-2025-r1.json.tmp")
with open(temporary, "w", encoding="utf-8") as out:
    json.dump(message, out, ensure_ascii=False)
os.rename(temporary, os.path.join(outbox, "SAMPLE-420100-01-2025-r1.json"))
PY
              echo "$(date -Is) clerk of 420100 dropped a 2025 report with a wrong field breakdown" >>"$state/logs/clerks.log"
              done_list+="$key:wrong "
              continue
            fi
            compgen -G "$spool/rejected/*.rejected.txt" >/dev/null || continue
            clerk_drop "$reporter" 2025
            ;;
          2025/310000)
            # Sent once; when its receipt is back, one figure is corrected: revision 2.
            if [[ "$done_list" != *" $key:r1 "* ]]; then
              clerk_drop "$reporter" 2025
              done_list+="$key:r1 "
              continue
            fi
            compgen -G "$spool/sent/*SAMPLE-310000-01-2025-r1.json.receipt.json" >/dev/null || continue
            awk -F, 'BEGIN { OFS = "," } NR == 1 { print $0, "revision", "replaces_revision" }
              $1 == "SAMPLE-310000-01" { $14 = $14 + 120; print $0, 2, 1 }' \
              "deploy/sample/reports/2025-310000.csv" >"$state/correction-2025-310000.csv"
            clerk_drop "$reporter" 2025 "$state/correction-2025-310000.csv"
            ;;
          *) clerk_drop "$reporter" "$year" & ;;  # the clerks work side by side
        esac
        done_list+="$key "
      done
    done
    [[ $(tr ' ' '\n' <<<"$done_list" | grep -c '^[0-9]*/[0-9]*$') -ge $jobs ]] && break
    sleep 0.3
  done
}

# The experts' scores of the 2025 bases (0..100, two experts each), entered before the
# assessment: with the growth since 2024 and the data indicators they spread the bases over the
# four support tiers.
expert_scores() {
  local scores=(
    SAMPLE-110000-01:92:88 SAMPLE-110000-02:70:74 SAMPLE-310000-01:95:91 SAMPLE-310000-02:55:61
    SAMPLE-330200-01:80:84 SAMPLE-370200-01:35:41 SAMPLE-420100-01:78:72 SAMPLE-440000-01:88:90
    SAMPLE-440300-01:62:58 SAMPLE-440300-02:96:94 SAMPLE-660000-01:45:51
  )
  # The coordinator plans its rounds when it starts.
  for _ in $(seq 1 100); do
    "$hitech" coordinator rounds --config "$state/coordinator.json" 2>/dev/null | grep -q 2025 && break
    sleep 0.2
  done
  for entry in "${scores[@]}"; do
    IFS=: read -r base first second <<<"$entry"
    for pair in "E-017:$first" "E-042:$second"; do
      "$hitech" coordinator expert-score --config "$state/coordinator.json" --year 2025 --base "$base" \
        --expert "${pair%%:*}" --score "${pair##*:}" >>"$state/logs/experts.log" 2>&1
    done
  done
}

start() {
  find_hitech
  if [[ -e "$state" && ! -f "$state/.made-by-federation" && ! -f "$state/.made-by-run-local" ]]; then
    echo "federation.sh: $state exists and was not made by this script; name another folder" >&2
    exit 1
  fi
  if [[ -d "$state/pids" ]] && compgen -G "$state/pids/*.pid" >/dev/null; then
    stop
  fi
  rm -rf "$state"
  mkdir -p "$state/keys" "$state/logs" "$state/pids" "$state/published"
  touch "$state/.made-by-federation"
  state="$(cd "$state" && pwd)"

  log "keys for the aggregator, the coordinator, an operator and ${#reporters[@]} nodes"
  for name in aggregator coordinator operator "${reporters[@]}"; do
    "$hitech" keys generate --name "$name" --directory "$state/keys" >/dev/null
  done

  export HITECH_AGGREGATOR_DATABASE_PATH="$state/aggregator.sqlite"
  if [[ "$store_kind" == postgres ]]; then
    start_postgres
    # The registry commands run as the owner; the aggregators log in as hitech_aggregator.
    export HITECH_AGGREGATOR_STORE="$(pg_url hitech_owner)"
  fi
  log "registry: the 47 reporters, the sample bases, every key"
  "$hitech" registry import deploy/sample/registry.json >/dev/null
  for reporter in "${reporters[@]}"; do
    "$hitech" registry register-key --reporter "$reporter" --public-key "$state/keys/$reporter.pub" \
      --comment "local federation" >/dev/null
  done
  "$hitech" registry register-key --role coordinator --name central \
    --public-key "$state/keys/coordinator.pub" --comment "local federation" >/dev/null
  "$hitech" registry register-key --role operator --name demo \
    --public-key "$state/keys/operator.pub" --comment "local federation" >/dev/null
  unset HITECH_AGGREGATOR_DATABASE_PATH HITECH_AGGREGATOR_STORE

  local store_line=""
  [[ "$store_kind" == postgres ]] && store_line="\"store\": \"$(pg_url hitech_aggregator)\","
  cat >"$state/aggregator.json" <<JSON
{ "aggregator": {
    "endpoint": "$endpoint",
    "secretKeyPath": "$state/keys/aggregator.key",
    "databasePath": "$state/aggregator.sqlite", $store_line
    "statusPath": "$state/aggregator.status.json",
    "dashboard": { "listen": "$dashboard" }
} }
JSON
  log "aggregator on $endpoint, dashboard on http://$dashboard/"
  start_daemon aggregator aggregator run --config "$state/aggregator.json"
  "$hitech" ping --wait-for-ready --timeout 60 --count 0 --endpoint "$endpoint" \
    --server-key "$state/keys/aggregator.pub" --secret-key "$state/keys/110000.key" >/dev/null
  if [[ "$store_kind" == postgres ]]; then
    cat >"$state/aggregator-2.json" <<JSON
{ "aggregator": {
    "endpoint": "$second_endpoint",
    "secretKeyPath": "$state/keys/aggregator.key",
    "databasePath": "$state/aggregator.sqlite", $store_line
    "statusPath": "$state/aggregator-2.status.json"
} }
JSON
    log "second aggregator on $second_endpoint, the same PostgreSQL database"
    start_daemon aggregator-2 aggregator run --config "$state/aggregator-2.json"
    "$hitech" ping --wait-for-ready --timeout 60 --count 0 --endpoint "$second_endpoint" \
      --server-key "$state/keys/aggregator.pub" --secret-key "$state/keys/110000.key" >/dev/null
  fi

  local index=0
  for reporter in "${reporters[@]}"; do
    mkdir -p "$state/nodes/$reporter"
    local primary="$endpoint" fallback_line=""
    if [[ "$store_kind" == postgres ]]; then
      # Half of the nodes on each aggregator, the other one as their fallback.
      if (( index % 2 == 1 )); then primary="$second_endpoint"; fallback_line="\"fallbackEndpoints\": [\"$endpoint\"],"
      else fallback_line="\"fallbackEndpoints\": [\"$second_endpoint\"],"; fi
    fi
    index=$((index + 1))
    cat >"$state/nodes/$reporter/node.json" <<JSON
{ "node": {
    "reporterCode": "$reporter",
    "aggregatorEndpoint": "$primary", $fallback_line
    "aggregatorPublicKeyPath": "$state/keys/aggregator.pub",
    "secretKeyPath": "$state/keys/$reporter.key",
    "spoolDirectory": "$state/nodes/$reporter/spool",
    "statusPath": "$state/nodes/$reporter/node.status.json",
    "initialBackoffMilliseconds": 200,
    "maxBackoffMilliseconds": 5000
} }
JSON
    start_daemon "node-$reporter" node run --config "$state/nodes/$reporter/node.json"
  done
  log "${#reporters[@]} province nodes started"

  # The demo calendar: day 0 is now; at HITECH_SPEED one simulated day passes per
  # 86400/HITECH_SPEED real seconds.
  epoch=$(( $(date +%s) / 60 * 60 ))
  cat >"$state/coordinator.json" <<JSON
{ "coordinator": {
    "storePath": "$state/coordinator.sqlite",
    "statusPath": "$state/coordinator.status.json",
    "controlEndpoint": "ipc://$state/coordinator.control",
    "aggregatorEndpoint": "$endpoint",
    "aggregatorPublicKeyPath": "$state/keys/aggregator.pub",
    "secretKeyPath": "$state/keys/coordinator.key",
    "publishDirectory": "$state/published",
    "catchUpWindow": "7d",
    "initialBackoffMilliseconds": 200,
    "maxBackoffMilliseconds": 5000,
    "clock": { "speed": $speed, "epoch": "$(day 0)" },
    "rounds": {
      "years": [2024, 2025],
      "2024": {
        "opensAt": "$(day 1)",
        "reminders": ["3d"],
        "deadline": "$(day 12)",
        "latePolicy": "acceptMarkLate",
        "assessmentAt": "$(day 13)",
        "publishAt": "$(day 14)"
      },
      "2025": {
        "opensAt": "$(day 16)",
        "reminders": ["14d", "3d"],
        "deadline": "$(day 40)",
        "latePolicy": "acceptMarkLate",
        "assessmentAt": "$(day 42)",
        "publishAt": "$(day 44)"
      }
    }
} }
JSON
  log "coordinator: round 2024 opens $(day 1), deadline $(day 12), results $(day 14); round 2025 opens $(day 16), deadline $(day 40), results $(day 44) (Asia/Shanghai, simulated)"
  start_daemon coordinator coordinator run --config "$state/coordinator.json"
  expert_scores || log "expert scores could not be entered: see $state/logs/experts.log"

  clerks </dev/null >>"$state/logs/clerks.log" 2>&1 &
  echo $! >"$state/pids/clerks.pid"

  cat <<TEXT
federation: running. State, logs and pid files in $state
  dashboard   http://$dashboard/   (arrival board, chart, rejections, metrics at /metrics)
  arrivals    $( [[ "$store_kind" == postgres ]] && echo "HITECH_AGGREGATOR_STORE='$(pg_url hitech_owner)'" || echo "HITECH_AGGREGATOR_DATABASE_PATH=$state/aggregator.sqlite") $hitech status --year 2025
  a node      $hitech node status --config $state/nodes/110000/node.json
  results     $state/published/   (JSON, CSV, index.html once the round is published)
  stop        deploy/federation.sh stop $state
TEXT
}

status() {
  [[ -d "$state/pids" ]] || { echo "federation.sh: no federation in $state" >&2; exit 1; }
  for pidfile in "$state"/pids/*.pid; do
    local name pid
    name="$(basename "$pidfile" .pid)"
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then echo "running  $name (pid $pid)"; else echo "stopped  $name"; fi
  done
}

stop() {
  [[ -d "$state/pids" ]] || return 0
  local order=(clerks)
  for pidfile in "$state"/pids/node-*.pid; do [[ -e "$pidfile" ]] && order+=("$(basename "$pidfile" .pid)"); done
  order+=(coordinator aggregator-2 aggregator)
  for name in "${order[@]}"; do
    local pidfile="$state/pids/$name.pid"
    [[ -f "$pidfile" ]] || continue
    local pid
    pid="$(cat "$pidfile")"
    if kill -TERM "$pid" 2>/dev/null; then
      for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$pid" 2>/dev/null; then
        echo "federation: $name did not stop within 20 s; sending SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
      fi
    fi
    rm -f "$pidfile"
  done
  stop_postgres
  log "stopped"
}

case "$command" in
  start) start ;;
  status) status ;;
  stop) stop ;;
  *) sed -n '2,25p' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
esac
