#!/usr/bin/env bash
# bench/run.sh -- creatoros-agent against the peers users would otherwise run, in one run.
#
#   bench/run.sh [--courses 100] [--reps 3] [--quick] [--no-idle] [run_all.sh options...]
#
# Builds a Release binary (build-release/), installs the peers' packages
# (../shared/bench/deps.sh), then runs ../shared/bench/run_all.sh with the agent plugged in:
# the same fresh PostgreSQL 15, the same synthetic corpus (10,000 lessons of ~4 KB by
# default), the project's own schema (`migrate`), our backfill beside the naive and batched
# Python peers and the COPY bound, and our watcher beside the watchdog peer under the
# latency probe. It prints their tables (files/s, wall, peak RSS, ratios, latencies).
# Then it measures what run_all.sh does not: the agent's CPU ticks over 30 s of idle
# watching and its RSS while watching the whole corpus.
# --quick: 1,000 lessons, 1 rep, no mddb (about two minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$(pwd)
SHARED=$SRC/../shared/bench
WORK=${BENCH_WORK:-/tmp/bench-work}
IDLE=1
ARGS=()
COURSES=100
while [[ $# -gt 0 ]]; do
    case $1 in
        --quick) ARGS+=(--reps 1 --no-mddb); COURSES=10; shift ;;
        --courses) COURSES=$2; shift 2 ;;
        --no-idle) IDLE=0; shift ;;
        --work) WORK=$2; shift 2 ;;
        *) ARGS+=("$1"); shift ;;
    esac
done
[[ -d $SHARED ]] || { echo "bench/run.sh: $SHARED not found (../shared/bench beside the repo)" >&2; exit 1; }

"$SHARED/deps.sh" >/dev/null
cmake -S "$SRC" -B "$SRC/build-release" -DCMAKE_BUILD_TYPE=Release -DCO_TESTS=OFF >/dev/null
cmake --build "$SRC/build-release" --target creatoros-agent -j"$(nproc)" >/dev/null
AGENT=$SRC/build-release/creatoros-agent

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r), $("$AGENT" --version | head -1)"
"$SHARED/run_all.sh" --work "$WORK" --courses "$COURSES" \
    --schema-cmd "$AGENT migrate --db {db} --log-level warn" \
    --reset-sql 'TRUNCATE content_projects, contents, tags, minds, audience_profiles, creatoros_agent.file_state, creatoros_agent.sources, creatoros_agent.courses CASCADE' \
    --peer "c_agent=$AGENT backfill --root {root} --db {db} --log-level warn --source bench" \
    --watch-peer "c_agent=$AGENT watch --root {root} --db {db} --log-level warn --source bench" \
    "${ARGS[@]}"

[[ $IDLE -eq 1 ]] || exit 0

# ---- idle CPU and RSS while watching the corpus ---------------------------------------------
CORPUS=$(ls -d "$WORK"/corpus-c"$COURSES"-m10-l10-b4096-s42 2>/dev/null | head -1)
[[ -n $CORPUS ]] || { echo "no corpus for the idle measurement" >&2; exit 1; }
PGDIR=$(mktemp -d /tmp/co-bench-idle.XXXXXX)
AGENT_PID=""
cleanup() {
    [[ -z $AGENT_PID ]] || kill -TERM "$AGENT_PID" 2>/dev/null || true
    [[ -z $AGENT_PID ]] || wait "$AGENT_PID" 2>/dev/null || true
    "$SRC/deploy/pg.sh" stop "$PGDIR" >/dev/null 2>&1 || true
    rm -rf "$PGDIR"
}
trap cleanup EXIT
chmod 0755 "$PGDIR"
DB=$("$SRC/deploy/pg.sh" start "$PGDIR")
"$AGENT" migrate --db "$DB" --log-level warn >/dev/null
LOG=$PGDIR/agent.log
"$AGENT" watch --root "$CORPUS" --db "$DB" --log-format json --log-file "$LOG" --source idle &
AGENT_PID=$!
for _ in $(seq 1 600); do
    grep -q '"msg":"ready"' "$LOG" 2>/dev/null && break
    sleep 0.1
done
grep -q '"msg":"ready"' "$LOG" || { echo "agent not ready within 60 s" >&2; exit 1; }
ticks() { awk '{print $14 + $15}' "/proc/$AGENT_PID/stat"; }
t0=$(ticks)
sleep 30
t1=$(ticks)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$AGENT_PID/status")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$AGENT_PID/status")
files=$(find "$CORPUS" -name '*.md' | wc -l)
echo
echo "watch, idle over 30 s on $files files: $((t1 - t0)) CPU ticks; RSS ${rss} kB (peak ${hwm} kB, including the initial reconcile)"
