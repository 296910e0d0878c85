#!/usr/bin/env bash
# bench/run.sh -- creatoros-agent's backfill and watcher, measured; beside the peers users would
# otherwise run when their harness is there.
#
#   bench/run.sh [--courses 100] [--reps 3] [--quick] [--no-idle] [--work DIR] [run_all.sh options...]
#
# Builds a Release binary (build-release/). Then:
#   - with the peers' harness beside the repository (../shared/bench, kept outside it: the
#     Python peers, their corpus generator and the latency probe), runs its run_all.sh with
#     the agent plugged in: the same fresh PostgreSQL 15, the same synthetic corpus (10,000
#     lessons of ~4 KB by default), the project's schema (`migrate`), our backfill beside the
#     naive and batched Python peers and the COPY bound, and our watcher beside the watchdog
#     peer under the latency probe; it prints their tables;
#   - without it, says so in one line and measures the agent alone on a corpus from
#     bench/gen_corpus.py: a throwaway PostgreSQL 15 (deploy/pg.sh), --reps backfills from
#     empty tables (wall, files/s, peak RSS; the median), one re-run over the unchanged tree,
#     and the row fingerprint (bench/fingerprint.sql) of every run, which must not differ.
# Both end with what run_all.sh does not measure: the agent's CPU ticks over 30 s of idle
# watching and its RSS while watching the whole corpus.
# --quick: 1,000 lessons, 1 rep (no mddb peer).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$(pwd)
SHARED=$SRC/../shared/bench
WORK=${BENCH_WORK:-/tmp/bench-work}
IDLE=1 REPS=3 COURSES=100
ARGS=()
while [[ $# -gt 0 ]]; do
    case $1 in
        --quick) ARGS+=(--no-mddb); REPS=1; COURSES=10; shift ;;
        --courses) COURSES=$2; shift 2 ;;
        --reps) REPS=$2; shift 2 ;;
        --no-idle) IDLE=0; shift ;;
        --work) WORK=$2; shift 2 ;;
        *) ARGS+=("$1"); shift ;;
    esac
done
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

cmake -S "$SRC" -B "$SRC/build-release" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$SRC/build-release" --target creatoros-agent -j"$(nproc)" >/dev/null
AGENT=$SRC/build-release/creatoros-agent
RESET_SQL='TRUNCATE content_projects, contents, tags, minds, audience_profiles, creatoros_agent.file_state, creatoros_agent.sources, creatoros_agent.courses CASCADE'

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r), $("$AGENT" --version | head -1)"

PGDIR="" AGENT_PID=""
cleanup() {
    [[ -z $AGENT_PID ]] || kill -TERM "$AGENT_PID" 2>/dev/null || true
    [[ -z $AGENT_PID ]] || wait "$AGENT_PID" 2>/dev/null || true
    if [[ -n $PGDIR ]]; then
        "$SRC/deploy/pg.sh" stop "$PGDIR" >/dev/null 2>&1 || true
        rm -rf "$PGDIR"
    fi
}
trap cleanup EXIT

if [[ -d $SHARED ]]; then
    "$SHARED/deps.sh" >/dev/null
    "$SHARED/run_all.sh" --work "$WORK" --courses "$COURSES" --reps "$REPS" \
        --schema-cmd "$AGENT migrate --db {db} --log-level warn" \
        --reset-sql "$RESET_SQL" \
        --peer "c_agent=$AGENT backfill --root {root} --db {db} --log-level warn --source bench" \
        --watch-peer "c_agent=$AGENT watch --root {root} --db {db} --log-level warn --source bench" \
        "${ARGS[@]}"
    CORPUS=$(ls -d "$WORK"/corpus-c"$COURSES"-m10-l10-b4096-s42 2>/dev/null | head -1)
else
    echo "bench/run.sh: no ../shared/bench beside the repository: the Python peers, the COPY bound and the watch latency probe are skipped; measuring the agent alone"
    CORPUS=$WORK/own-corpus-c$COURSES-m10-l10-b4096-s42
    if [[ ! -f $CORPUS.complete ]]; then
        rm -rf "$CORPUS"
        /usr/bin/python3 "$SRC/bench/gen_corpus.py" "$CORPUS" --courses "$COURSES" --modules 10 \
            --lessons 10 --body-bytes 4096 --seed 42
        touch "$CORPUS.complete"
    fi
    PGDIR=$(mktemp -d /tmp/co-bench.XXXXXX)
    chmod 0755 "$PGDIR"
    DB=$("$SRC/deploy/pg.sh" start "$PGDIR")
    psqlq() { PGOPTIONS='-c client_min_messages=warning' psql "$DB" -XAtq -v ON_ERROR_STOP=1 "$@"; }
    "$AGENT" migrate --db "$DB" --log-level warn >/dev/null
    find "$CORPUS" -name '*.md' -type f -print0 | xargs -0 cat >/dev/null # warm cache
    files=$(find "$CORPUS" -name '*.md' -type f | wc -l)
    mb=$(find "$CORPUS" -name '*.md' -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%.1f", s / 1e6 }')
    echo "corpus: $files files, $mb MB ($CORPUS)"
    # one_run NAME: a backfill under /usr/bin/time; prints "wall_s files_per_s rss_mb fingerprint"
    one_run() {
        local t=$PGDIR/$1.time o=$PGDIR/$1.out
        /usr/bin/time -f '%e %M' -o "$t" "$AGENT" backfill --root "$CORPUS" --db "$DB" \
            --log-level warn --source bench >"$o"
        local fps wall rss
        fps=$(sed -n 's/.*files_per_s=\([0-9.]*\).*/\1/p' "$o" | tail -1)
        read -r wall rss <"$t"
        printf '%s %s %s %s\n' "$wall" "$fps" "$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')" \
            "$(psqlq -f "$SRC/bench/fingerprint.sql" | md5sum | cut -c1-12)"
    }
    results=()
    for ((rep = 1; rep <= REPS; rep++)); do
        psqlq -c "$RESET_SQL" -c CHECKPOINT >/dev/null
        results+=("$(one_run "rep$rep")")
    done
    rerun=$(one_run rerun)
    echo
    echo "| run | wall s | files/s | peak RSS MB | fingerprint |"
    echo "|---|---:|---:|---:|---|"
    for ((rep = 1; rep <= REPS; rep++)); do
        read -r w f r fp <<<"${results[rep - 1]}"
        echo "| backfill $rep (empty tables) | $w | $f | $r | $fp |"
    done
    read -r w f r fp <<<"$rerun"
    echo "| re-run over the unchanged tree | $w | $f | $r | $fp |"
    median=$(printf '%s\n' "${results[@]}" | sort -n | sed -n "$(((REPS + 1) / 2))p")
    echo
    echo "backfill median of $REPS: $(cut -d' ' -f1 <<<"$median") s, $(cut -d' ' -f2 <<<"$median") files/s"
    nfp=$(printf '%s\n' "${results[@]}" "$rerun" | cut -d' ' -f4 | sort -u | wc -l)
    [[ $nfp -eq 1 ]] || { echo "bench/run.sh: the runs' fingerprints differ" >&2; exit 1; }
    "$SRC/deploy/pg.sh" stop "$PGDIR" >/dev/null
    rm -rf "$PGDIR"
    PGDIR=""
fi

[[ $IDLE -eq 1 ]] || exit 0

# ---- idle CPU and RSS while watching the corpus ---------------------------------------------
[[ -n $CORPUS && -d $CORPUS ]] || { echo "no corpus for the idle measurement" >&2; exit 1; }
PGDIR=$(mktemp -d /tmp/co-bench-idle.XXXXXX)
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
