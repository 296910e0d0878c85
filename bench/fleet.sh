#!/usr/bin/env bash
# bench/fleet.sh -- many hosts, one database: 1, 2 and 4 agents, each with its own tree of
# 10,000 lessons (its own course names, its own --source), back-filling into one PostgreSQL at
# the same time; directly, and through a PgBouncer in transaction mode (--pool-mode
# transaction) to measure what the transaction pooler costs.
#
#   bench/fleet.sh [--gen PATH] [--work DIR] [--courses 100] [--pool-size 2] [--fsync on|off]
#
# The trees come from the corpus generator (--gen or CO_GEN_CORPUS, default
# bench/gen_corpus.py; OUTDIR --courses --modules --lessons --body-bytes --seed), one seed per
# agent, course directories prefixed a<N>- so that no two trees share a course. Each
# configuration gets a fresh database. Every source's rows are checked against a backfill of
# its tree alone into a fresh database (the per-source fingerprint of tests/sh/fleet_lib.sh:
# file records, live contents, tags, creator links, projects).
#
# Rows of the table: agents, connection (direct; direct with --pool-mode transaction, i.e.
# unnamed statements planned each time; a PgBouncer transaction pool of --pool-size server
# connections), wall of the slowest agent, total files/s, x one direct agent, fingerprints
# equal.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$(pwd)
GEN=${CO_GEN_CORPUS:-$SRC/bench/gen_corpus.py}
BENCH_DIR=${BENCH_WORK:-/tmp/co-fleet}
COURSES=100
POOL_SIZE=2
FSYNC=off
while [[ $# -gt 0 ]]; do
    case $1 in
        --gen) GEN=$2; shift 2 ;;
        --work) BENCH_DIR=$2; shift 2 ;;
        --courses) COURSES=$2; shift 2 ;;
        --pool-size) POOL_SIZE=$2; shift 2 ;;
        --fsync) FSYNC=$2; shift 2 ;;
        *) echo "fleet.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
[[ -f $GEN ]] || { echo "fleet.sh: no corpus generator at $GEN (--gen PATH)" >&2; exit 2; }
. "$SRC/deploy/packages.sh"
ensure_packages python3 jq pgbouncer postgresql-15 postgresql-client-15

cmake -S "$SRC" -B "$SRC/build-release" -DCMAKE_BUILD_TYPE=Release -DCO_TESTS=OFF >/dev/null
cmake --build "$SRC/build-release" --target creatoros-agent -j"$(nproc)" >/dev/null
AGENT=$SRC/build-release/creatoros-agent
CO_AGENT=$AGENT
mkdir -p "$BENCH_DIR"
chmod 0755 "$BENCH_DIR"
PGDIR=$(mktemp -d /tmp/co-fleet-pg.XXXXXX)
chmod 0755 "$PGDIR"
ADMIN=$("$SRC/deploy/pg.sh" start "$PGDIR")
CO_TEST_DB=$ADMIN
# the suites' library (wait_until, q, ...) and the fleet helpers; no suite is run
# shellcheck source=tests/sh/lib.sh
. "$SRC/tests/sh/lib.sh"
# shellcheck source=tests/sh/fleet_lib.sh
. "$SRC/tests/sh/fleet_lib.sh"
WORK=$BENCH_DIR # the library starts with an empty WORK of its own
cleanup() {
    fl_pgb_kill
    "$SRC/deploy/pg.sh" stop "$PGDIR" >/dev/null 2>&1 || true
    rm -rf "$PGDIR" "$WORK/pgbouncer"
}
trap cleanup EXIT
psql "$ADMIN" -XAtq -c "ALTER SYSTEM SET fsync = $FSYNC" -c "SELECT pg_reload_conf()" >/dev/null
# fl_pgb_start keeps its config in WORK/pgbouncer
fl_pgb_start transaction "$POOL_SIZE"

db_url() { sed -E "s#^(postgres(ql)?://[^/?]*/)[^?]*#\1$1#" <<<"$ADMIN"; }
fresh_db() {
    psql "$ADMIN" -XAtq -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" \
        >/dev/null 2>&1
    "$AGENT" migrate --db "$(db_url "$1")" --log-level warn >/dev/null
}

# tree N: the N-th agent's tree (generated once, its courses renamed a<N>-...).
tree() {
    local dir=$WORK/tree-$1-c$COURSES
    if [[ ! -f $dir/.complete ]]; then
        rm -rf "$dir"
        echo "  generating $dir" >&2
        nice python3 "$GEN" "$dir.tmp" --courses "$COURSES" --modules 10 --lessons 10 \
            --body-bytes 4096 --seed "$((41 + $1))" >/dev/null
        mkdir -p "$dir"
        for c in "$dir.tmp"/*/; do
            c=${c%/}
            mv "$c" "$dir/a$1-${c##*/}"
        done
        rmdir "$dir.tmp"
        touch "$dir/.complete"
    fi
    echo "$dir"
}

# Reference fingerprints: each tree alone, in a fresh database.
declare -A REF
for i in 1 2 3 4; do
    t=$(tree "$i")
    fresh_db fleet_ref
    "$AGENT" backfill --root "$t" --db "$(db_url fleet_ref)" --source "a$i" --log-level warn >/dev/null
    REF[$i]=$(fl_fingerprint "$(db_url fleet_ref)" "a$i")
done
FILES=$(find "$(tree 1)" -name '*.md' | wc -l)

# run N MODE: N agents at once into a fresh database; MODE direct | txn-direct | pooled.
ONE=""
run() {
    local n=$1 mode=$2 db url i t0 t1 pids=() ok=0 args=()
    db=fleet_${n}_${mode//-/_}
    fresh_db "$db"
    url=$(db_url "$db")
    case $mode in
        direct) ;;
        txn-direct) args=(--pool-mode transaction) ;;
        pooled) url=$(fl_pgb_url "$db"); args=(--pool-mode transaction) ;;
    esac
    sync
    t0=$(now_ms)
    for ((i = 1; i <= n; i++)); do
        env -u PGOPTIONS "$AGENT" backfill --root "$(tree "$i")" --db "$url" --source "a$i" \
            --log-level warn "${args[@]}" >"$WORK/run-$n-$mode-$i.out" 2>&1 &
        pids+=("$!")
    done
    for p in "${pids[@]}"; do
        wait "$p" || echo "  an agent failed: $(tail -n 3 "$WORK/run-$n-$mode-"*.out)" >&2
    done
    t1=$(now_ms)
    for ((i = 1; i <= n; i++)); do
        [[ $(fl_fingerprint "$(db_url "$db")" "a$i") == "${REF[$i]}" ]] && ok=$((ok + 1))
    done
    local wall rate x
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", (b - a) / 1000}')
    rate=$(awk -v w="$wall" -v f="$((FILES * n))" 'BEGIN {printf "%.0f", f / w}')
    [[ -n $ONE ]] || ONE=$rate
    x=$(awk -v r="$rate" -v o="$ONE" 'BEGIN {printf "%.2f", r / o}')
    local label
    case $mode in
        direct) label="direct" ;;
        txn-direct) label="direct, --pool-mode transaction" ;;
        pooled) label="PgBouncer transaction pool of $POOL_SIZE" ;;
    esac
    printf '| %d | %s | %s | %s | %s | %d of %d |\n' "$n" "$label" "$wall" "$rate" "$x" "$ok" "$n"
    psql "$ADMIN" -XAtq -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
}

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $("$AGENT" --version | head -1), PostgreSQL $(psql "$ADMIN" -XAtqc 'SHOW server_version'), fsync=$FSYNC, $("$(command -v pgbouncer)" --version | head -1); $FILES files per tree"
echo
echo "| agents | connection | wall s | total files/s | x one agent | sources equal to their tree alone |"
echo "|---:|---|---:|---:|---:|---:|"
# Interleaved, so that a change of the machine's load during the run hits every mode alike.
for n in 1 2 4; do
    run "$n" direct
    run "$n" txn-direct
    run "$n" pooled
done
