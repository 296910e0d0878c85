#!/usr/bin/env bash
# bench/scale.sh -- how the agent's costs grow with the tree: 10,000 and 100,000 lessons (and,
# with --huge, 1,000,000 small ones), fresh database each, one run, one growth table.
#
#   bench/scale.sh [--gen PATH] [--work DIR] [--huge] [--huge-courses 10000] [--fsync on|off]
#                  [--sizes "100 1000"] [--probe-n 200]
#
# The corpus: COURSES courses x 10 modules x 10 lessons of ~4 KB (the shape of bench/run.sh;
# 100 courses = 10,000 lessons, 1,000 = 100,000, ~470 MB); --huge adds 10,000 courses of
# 512-byte lessons (1,000,000 files). The generator is --gen (or CO_GEN_CORPUS), default
# bench/gen_corpus.py; its CLI: OUTDIR --courses --modules --lessons --body-bytes --seed.
# Corpora are kept in WORK (default /tmp/co-scale) and reused.
#
# For each size, on a fresh database of a private PostgreSQL 15 (deploy/pg.sh; fsync off by
# default, as the growth is about the agent, not the disk):
#   cold backfill   wall, files/s, peak RSS (GNU time)
#   re-run          wall and peak RSS of a backfill over the unchanged tree
#   ready           `watch` start to its "ready" line, on the recorded tree
#   daemon RSS      VmRSS 3 s after ready; bytes per watched file; inotify watches in use
#                   (the "inotify wd:" lines of the inotify fd's /proc/PID/fdinfo)
#   rescan          the unchanged-tree rescan of a polled tree (--poll --rescan-interval 4:
#                   the "rescan" to "rescan done" time of the 2nd and 3rd poll, the larger)
#   latency         paced creates through temp file + rename (bench/latency.py), p50/p99
# Targets (on the 2-core machine, same run): 100k cold backfill <= 11 x the 10k time; peak RSS
# <= 32 MB in backfill and <= 48 MB in the daemon at 100k; re-run at 100k <= 1.0 s; ready on
# a recorded 100k tree <= 1.5 s; latency on the 100k tree within 1.2 x the 10k tree's.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$(pwd)
GEN=${CO_GEN_CORPUS:-$SRC/bench/gen_corpus.py}
WORK=${BENCH_WORK:-/tmp/co-scale}
SIZES="100 1000"
HUGE=0
HUGE_COURSES=10000
FSYNC=off
PROBE_N=200
while [[ $# -gt 0 ]]; do
    case $1 in
        --gen) GEN=$2; shift 2 ;;
        --work) WORK=$2; shift 2 ;;
        --huge) HUGE=1; shift ;;
        --huge-courses) HUGE_COURSES=$2; shift 2 ;;
        --fsync) FSYNC=$2; shift 2 ;;
        --sizes) SIZES=$2; shift 2 ;;
        --probe-n) PROBE_N=$2; shift 2 ;;
        *) echo "scale.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
[[ -f $GEN ]] || { echo "scale.sh: no corpus generator at $GEN (--gen PATH)" >&2; exit 2; }
. "$SRC/deploy/packages.sh"
ensure_packages time python3 python3-psycopg2 jq postgresql-15 postgresql-client-15

cmake -S "$SRC" -B "$SRC/build-release" -DCMAKE_BUILD_TYPE=Release -DCO_TESTS=OFF >/dev/null
cmake --build "$SRC/build-release" --target creatoros-agent -j"$(nproc)" >/dev/null
AGENT=$SRC/build-release/creatoros-agent
mkdir -p "$WORK"
PGDIR=$(mktemp -d /tmp/co-scale-pg.XXXXXX)
AGENT_PID=""
cleanup() {
    [[ -z $AGENT_PID ]] || kill -TERM "$AGENT_PID" 2>/dev/null || true
    [[ -z $AGENT_PID ]] || wait "$AGENT_PID" 2>/dev/null || true
    "$SRC/deploy/pg.sh" stop "$PGDIR" >/dev/null 2>&1 || true
    rm -rf "$PGDIR"
}
trap cleanup EXIT
chmod 0755 "$PGDIR"
ADMIN=$("$SRC/deploy/pg.sh" start "$PGDIR")
psql "$ADMIN" -XAtq -c "ALTER SYSTEM SET fsync = $FSYNC" -c "SELECT pg_reload_conf()" >/dev/null
export PGOPTIONS='-c client_min_messages=warning'

db_url() { sed -E "s#^(postgres(ql)?://[^/?]*/)[^?]*#\1$1#" <<<"$ADMIN"; }
now_ms() { local t=${EPOCHREALTIME//[!0-9]/}; echo $((10#$t / 1000)); }
ts_ms() { date -d "$1" +%s%3N; } # an ISO-8601 log timestamp in ms

# corpus COURSES BODY SEED: the corpus directory (generated once).
corpus() {
    local dir=$WORK/corpus-c$1-m10-l10-b$2-s$3
    if [[ ! -f $dir/.complete ]]; then
        rm -rf "$dir"
        echo "  generating $dir" >&2
        nice python3 "$GEN" "$dir" --courses "$1" --modules 10 --lessons 10 --body-bytes "$2" \
            --seed "$3" >/dev/null
        touch "$dir/.complete"
    fi
    echo "$dir"
}

# wait_log LOG JQ-CONDITION TIMEOUT_S: wait for a matching JSON line.
wait_log() {
    local deadline=$(($(now_ms) + $3 * 1000))
    until jq -e -R "fromjson? | select($2)" "$1" >/dev/null 2>&1; do
        (($(now_ms) < deadline)) || return 1
        sleep 0.01
    done
}

declare -A R
# measure LABEL COURSES BODY
measure() {
    local label=$1 courses=$2 body=$3 dir db url out log t0 t1 files
    dir=$(corpus "$courses" "$body" 42)
    files=$(find "$dir" -name '*.md' | wc -l)
    db=co_scale_${label//-/_}
    psql "$ADMIN" -XAtq -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
    url=$(db_url "$db")
    "$AGENT" migrate --db "$url" --log-level warn >/dev/null
    sync
    echo "== $label: $files files in $dir" >&2
    out=$WORK/$label.backfill
    /usr/bin/time -f 'rss_kb=%M' -o "$out.time" "$AGENT" backfill --root "$dir" --db "$url" \
        --source scale --log-level warn >"$out" 2>"$out.err"
    R[$label.files]=$files
    R[$label.cold]=$(sed -nE 's/^files=[0-9]+ seconds=([0-9.]+) .*/\1/p' "$out")
    R[$label.rate]=$(sed -nE 's/.*files_per_s=([0-9.]+).*/\1/p' "$out")
    R[$label.bf_rss]=$(sed -nE 's/rss_kb=([0-9]+)/\1/p' "$out.time")
    /usr/bin/time -f 'rss_kb=%M' -o "$out.rerun.time" "$AGENT" backfill --root "$dir" --db "$url" \
        --source scale --log-level warn >"$out.rerun" 2>&1
    R[$label.rerun]=$(sed -nE 's/^files=[0-9]+ seconds=([0-9.]+) .*/\1/p' "$out.rerun")
    R[$label.rerun_rss]=$(sed -nE 's/rss_kb=([0-9]+)/\1/p' "$out.rerun.time")

    # watch on the recorded tree, polled every 4 s: ready, RSS, watches, rescan cost
    log=$WORK/$label.watch.log
    rm -f "$log"
    t0=$(now_ms)
    "$AGENT" watch --root "$dir" --db "$url" --source scale --log-format json --log-file "$log" \
        --log-level debug --poll --rescan-interval 4 &
    AGENT_PID=$!
    wait_log "$log" '.msg == "ready"' 600 || { echo "watch never ready" >&2; exit 1; }
    local ready_ts=""
    while [[ -z $ready_ts ]]; do
        ready_ts=$(jq -r -R 'fromjson? | select(.msg == "ready") | .ts' "$log" | head -n 1)
        [[ -n $ready_ts ]] || sleep 0.05
    done
    t1=$(ts_ms "$ready_ts")
    R[$label.ready]=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", (b - a) / 1000}')
    sleep 3
    R[$label.d_rss]=$(awk '/VmRSS/ {print $2}' "/proc/$AGENT_PID/status")
    local fd wds=0
    for fd in /proc/"$AGENT_PID"/fd/*; do
        if [[ $(readlink "$fd") == "anon_inode:inotify" ]]; then
            wds=$(grep -c '^inotify wd:' "/proc/$AGENT_PID/fdinfo/${fd##*/}")
        fi
    done
    R[$label.wds]=$wds
    # the start-up reconcile and three periodic rescans; the last two are timed
    local deadline=$(($(now_ms) + 60000)) worst=0 start="" ms line
    until (($(jq -R -c 'fromjson? | select(.msg == "rescan done")' "$log" | wc -l) >= 4)); do
        (($(now_ms) < deadline)) || break
        sleep 0.2
    done
    while read -r line; do
        if [[ $line == rescan\ * ]]; then
            start=$(ts_ms "${line#rescan }")
        elif [[ -n $start ]]; then
            ms=$(($(ts_ms "${line#done }") - start))
            ((ms > worst)) && worst=$ms
            start=""
        fi
    done < <(jq -r -R 'fromjson? | select(.msg == "rescan" or .msg == "rescan done")
                         | (if .msg == "rescan" then "rescan " else "done " end) + .ts' "$log" | tail -n 4)
    R[$label.rescan]=$worst
    kill -TERM "$AGENT_PID"
    wait "$AGENT_PID" || true
    AGENT_PID=""

    # latency on the recorded tree, without polling
    log=$WORK/$label.latency.log
    rm -f "$log"
    "$AGENT" watch --root "$dir" --db "$url" --source scale --log-format json --log-file "$log" &
    AGENT_PID=$!
    wait_log "$log" '.msg == "ready"' 600 || { echo "watch never ready" >&2; exit 1; }
    local lat
    lat=$(/usr/bin/python3 "$SRC/bench/latency.py" "$dir" "$url" --n "$PROBE_N" --interval-ms 20)
    echo "  $lat" >&2
    R[$label.p50]=$(sed -nE 's/.*p50_ms=([0-9.]+).*/\1/p' <<<"$lat")
    R[$label.p99]=$(sed -nE 's/.*p99_ms=([0-9.]+).*/\1/p' <<<"$lat")
    R[$label.hwm]=$(awk '/VmHWM/ {print $2}' "/proc/$AGENT_PID/status")
    kill -TERM "$AGENT_PID"
    wait "$AGENT_PID" || true
    AGENT_PID=""
    rm -rf "$dir"/zz-probe-*
    psql "$ADMIN" -XAtq -c "DROP DATABASE IF EXISTS $db" >/dev/null
}

LABELS=()
for c in $SIZES; do
    LABELS+=("$((c * 100))")
    measure "$((c * 100))" "$c" 4096
done
if [[ $HUGE -eq 1 ]]; then
    LABELS+=("$((HUGE_COURSES * 100))-small")
    measure "$((HUGE_COURSES * 100))-small" "$HUGE_COURSES" 512
fi

mb() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r), $("$AGENT" --version | head -1), PostgreSQL $(psql "$ADMIN" -XAtqc 'SHOW server_version'), fsync=$FSYNC"
printf '\n| lessons (files) |'
for l in "${LABELS[@]}"; do printf ' %s (%s) |' "$l" "${R[$l.files]}"; done
printf '\n|---|'
for _ in "${LABELS[@]}"; do printf -- '---:|'; done
row() { # row TITLE KEY [FORMAT-FN]
    printf '\n| %s |' "$1"
    for l in "${LABELS[@]}"; do
        if [[ -n ${3:-} ]]; then printf ' %s |' "$($3 "${R[$l.$2]}")"; else printf ' %s |' "${R[$l.$2]}"; fi
    done
}
row "cold backfill s" cold
row "cold backfill files/s" rate
row "backfill peak RSS MB" bf_rss mb
row "re-run over the unchanged tree s" rerun
row "re-run peak RSS MB" rerun_rss mb
row "watch: start to ready on the recorded tree s" ready
row "daemon RSS after ready MB" d_rss mb
printf '\n| daemon bytes per watched file |'
for l in "${LABELS[@]}"; do printf ' %s |' "$((R[$l.d_rss] * 1024 / R[$l.files]))"; done
row "inotify watches" wds
row "unchanged-tree rescan ms (polled)" rescan
row "paced create p50 ms" p50
row "paced create p99 ms" p99
row "daemon peak RSS over the latency run MB" hwm mb
echo
if [[ -n ${R[10000.cold]:-} && -n ${R[100000.cold]:-} ]]; then
    echo
    echo "growth 10k -> 100k: cold backfill x$(awk -v a="${R[10000.cold]}" -v b="${R[100000.cold]}" 'BEGIN {printf "%.2f", b / a}') (target <= 11)," \
        "p99 x$(awk -v a="${R[10000.p99]}" -v b="${R[100000.p99]}" 'BEGIN {printf "%.2f", b / a}') (target <= 1.2)"
fi
