# hardening_lib.sh -- helpers for tests/sh/test_hardening.sh: counters, deadline waits, fresh
# databases, agents started and stopped by PID, JSON logs, and the "equals a clean backfill"
# row comparison.
#
# Sourced, not run. Expects CO_TEST_DB, CO_AGENT, CO_SOURCE_DIR (deploy/test.sh exports them);
# sets H_TMP (a 0755 work directory, removed by h_cleanup, which the caller traps on EXIT).
# Every wait polls with a deadline (never a fixed sleep for a condition).

# shellcheck shell=bash disable=SC2034 # RC, STOP_RC, APID, BACKENDS: results for the caller

# shellcheck source=tests/sh/skip_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/skip_lib.sh"

H_PASS=0
H_FAIL=0
H_FAILED=()
H_DBS=()       # databases created here (dropped WITH (FORCE) at exit)
H_PIDS=()      # processes started here (agents, loops, churners): the only ones signalled
H_STOPPED=()   # server backends this script SIGSTOPped (SIGCONT at exit, whatever happens)
H_EXIT_HOOKS=() # commands eval'd at exit, before the databases are dropped
H_SCEN="-"
H_CLEANED=0
H_TMP=$(mktemp -d /tmp/co-hard.XXXXXX)
chmod 0755 "$H_TMP"
export PGOPTIONS='-c client_min_messages=warning'
export PGCONNECT_TIMEOUT=5

# ---- counters -----------------------------------------------------------------------------

scenario() {
    H_SCEN=$1
    printf '\n== %s\n' "$1"
}
pass() {
    H_PASS=$((H_PASS + 1))
    echo "  ok - $*"
}
fail() {
    H_FAIL=$((H_FAIL + 1))
    H_FAILED+=("$H_SCEN: $1")
    echo "  NOT OK - $*"
}
# check DESC CMD...: pass when CMD succeeds.
check() {
    local desc=$1
    shift
    if "$@"; then pass "$desc"; else fail "$desc"; fi
}
# assert_eq DESC EXPECTED ACTUAL
assert_eq() {
    if [[ $2 == "$3" ]]; then
        pass "$1"
    else
        fail "$1"
        printf '      expected: %s\n      actual:   %s\n' "$2" "$3" | head -c 2000
        echo
    fi
}

# ---- time ---------------------------------------------------------------------------------

now_ms() {
    local t=${EPOCHREALTIME//[!0-9]/}
    echo $((10#$t / 1000))
}
# wait_for TIMEOUT_S CMD...: run CMD every 100 ms until it succeeds (0) or the deadline passes (1).
wait_for() {
    local deadline=$(($(now_ms) + ${1%.*} * 1000))
    shift
    while true; do
        if "$@"; then
            return 0
        fi
        if [[ $(now_ms) -ge $deadline ]]; then
            return 1
        fi
        sleep 0.1
    done
}

# ---- the database -------------------------------------------------------------------------

# db_url DBNAME: CO_TEST_DB pointed at another database of the same cluster.
db_url() { sed -E "s#^(postgres(ql)?://[^/?]*/)[^?]*#\1$1#" <<<"$CO_TEST_DB"; }

# new_db NAME: create and migrate co_hard_NAME_$$; sets DB (its name) and DB_URL.
new_db() {
    DB="co_hard_${1}_$$"
    DB_URL=$(db_url "$DB")
    psql "$CO_TEST_DB" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$DB\"" >/dev/null || return 1
    H_DBS+=("$DB")
    "$CO_AGENT" migrate --db "$DB_URL" --log-format json >"$H_TMP/migrate-$DB.log" 2>&1 || {
        cat "$H_TMP/migrate-$DB.log" >&2
        return 1
    }
}

# qd URL SQL: one query, unaligned, tuples only, '|' between columns.
qd() { psql "$1" -X -q -At -v ON_ERROR_STOP=1 -c "$2" 2>&1; }

# qcmp URL SQL: qd for a result compared with another: a failed query prints its error with a
# marker unique to the call, so that two failures never compare equal; returns 1.
qcmp() {
    local out rc
    out=$(psql "$1" -X -q -At -v ON_ERROR_STOP=1 -c "$2" 2>&1)
    rc=$?
    if [[ $rc -ne 0 ]]; then
        printf 'QUERY FAILED: %s\nQUERY FAILED (psql exit %s, #%s-%s-%s)\n' "$out" "$rc" \
            "$BASHPID" "$RANDOM" "$RANDOM"
        return 1
    fi
    printf '%s\n' "$out"
}

# The agent's server backends in database $1 (application_name creatoros-agent).
agent_backends() {
    qd "$CO_TEST_DB" "SELECT pid FROM pg_stat_activity WHERE application_name = 'creatoros-agent'
                      AND datname = '$1' ORDER BY pid"
}

# ---- comparing with a clean backfill --------------------------------------------------------

# snapshot URL FILTER LIVE: the rows the comparison looks at, one per line, sorted.
# FILTER is a SQL condition on the course slug `course` (e.g. "course ~ '^r1-'", or "true");
# LIVE=1 keeps only live rows (for trees where files were deleted: a clean backfill has no
# soft-deleted rows), LIVE=0 keeps every row and compares deleted_at IS NULL too.
snapshot() {
    local url=$1 filter=$2 live=$3 cond
    cond="($filter)"
    [[ $live == 1 ]] && cond="$cond AND c.deleted_at IS NULL"
    qcmp "$url" "
SELECT 'content', c.slug, c.content_type, coalesce(c.title, '<null>'),
       coalesce(md5(c.content), '<null>'), coalesce(p.slug, '-'),
       coalesce(c.sequence_order::text, '-'), c.status, coalesce(c.fidelity_score::text, '-'),
       c.deleted_at IS NULL
  FROM contents c LEFT JOIN contents p ON p.id = c.parent_content_id,
       LATERAL (SELECT split_part(c.slug, '/', 1) AS course) x
 WHERE $cond
 ORDER BY c.slug COLLATE \"C\""
    qcmp "$url" "
SELECT 'project', slug, name, status
  FROM content_projects, LATERAL (SELECT slug AS course) x
 WHERE ($filter) $([[ $live == 1 ]] && echo "AND status <> 'archived'")
 ORDER BY slug COLLATE \"C\""
}

# counts URL FILTER: live contents, projects, duplicates (slug; live lesson per file).
counts() {
    qcmp "$1" "
SELECT (SELECT count(*) FROM contents c WHERE deleted_at IS NULL AND (SELECT ($2) FROM
          (SELECT split_part(c.slug, '/', 1) AS course) x)) AS live,
       (SELECT count(*) FROM content_projects p WHERE status <> 'archived' AND (SELECT ($2) FROM
          (SELECT p.slug AS course) x)) AS projects,
       (SELECT count(*) - count(DISTINCT slug) FROM contents) AS dup_slugs,
       (SELECT count(*) FROM (SELECT 1 FROM contents WHERE deleted_at IS NULL
          AND content_type = 'course_lesson' GROUP BY project_id, file_path
          HAVING count(*) > 1) d) AS dup_files"
}

# assert_equals_clean DESC ROOT URL FILTER LIVE [AGENT-ARGS...]: back-fill ROOT into a fresh
# database and compare the rows of URL (restricted by FILTER) with it, row by row.
H_CLEAN_N=0
assert_equals_clean() {
    local desc=$1 root=$2 url=$3 filter=$4 live=$5
    shift 5
    H_CLEAN_N=$((H_CLEAN_N + 1))
    local saved_db=${DB:-} saved_url=${DB_URL:-}
    if ! new_db "clean$H_CLEAN_N"; then
        fail "$desc: cannot create the clean database"
        return 1
    fi
    local clean=$DB_URL
    DB=$saved_db DB_URL=$saved_url
    "$CO_AGENT" backfill --root "$root" --db "$clean" --log-format json "$@" \
        >"$H_TMP/clean$H_CLEAN_N.out" 2>"$H_TMP/clean$H_CLEAN_N.err"
    local rc=$?
    if [[ $rc -gt 1 ]]; then
        fail "$desc: the clean backfill failed (rc=$rc)"
        tail -n 5 "$H_TMP/clean$H_CLEAN_N.err" | sed 's/^/      /'
        return 1
    fi
    check_sanitizer "$H_TMP/clean$H_CLEAN_N.err"
    local a b
    a=$(snapshot "$url" "$filter" "$live")
    b=$(snapshot "$clean" "$filter" "$live")
    if [[ -n $b && $a == "$b" ]]; then
        pass "$desc: rows equal a clean backfill ($(grep -c '^content|' <<<"$b") contents, $(grep -c '^project|' <<<"$b") projects)"
    else
        fail "$desc: rows differ from a clean backfill (< this database, > clean)"
        diff <(printf '%s\n' "$a") <(printf '%s\n' "$b") | head -30 | cut -c1-220 | sed 's/^/      /'
    fi
    local ca cb
    ca=$(counts "$url" "$filter")
    cb=$(counts "$clean" "$filter")
    assert_eq "$desc: counts (live contents|projects|duplicate slugs|duplicate files)" "$cb" "$ca"
    assert_eq "$desc: no duplicates" "0|0" "$(cut -d'|' -f3,4 <<<"$ca")"
}

# ---- agents -------------------------------------------------------------------------------

# alive PID: running (or stopped), not a zombie.
alive() {
    kill -0 "$1" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}
dead() { ! alive "$1"; }

# run_agent NAME ARGS...: run the agent in the foreground; stdout in $H_TMP/NAME.out, stderr in
# $H_TMP/NAME.err; sets RC. AS=(setpriv ...) is put in front when set.
AS=()
run_agent() {
    local name=$1
    shift
    ${AS[@]+"${AS[@]}"} "$H_AGENT" "$@" >"$H_TMP/$name.out" 2>"$H_TMP/$name.err"
    RC=$?
    check_sanitizer "$H_TMP/$name.err"
}

# start_agent NAME ARGS...: the agent in the background (AS prefix honoured); sets APID;
# stdout/stderr as run_agent.
start_agent() {
    local name=$1
    shift
    ${AS[@]+"${AS[@]}"} "$H_AGENT" "$@" >"$H_TMP/$name.out" 2>"$H_TMP/$name.err" &
    APID=$!
    H_PIDS+=("$APID")
}

# stop_pid PID [TIMEOUT_S]: SIGTERM, wait (SIGKILL after the deadline); sets STOP_RC (999 when
# it had to be killed).
stop_pid() {
    local pid=$1 timeout=${2:-15}
    kill -TERM "$pid" 2>/dev/null
    if wait_for "$timeout" dead "$pid"; then
        wait "$pid" 2>/dev/null
        STOP_RC=$?
    else
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        STOP_RC=999
    fi
}

# check_sanitizer FILE...: no AddressSanitizer / UBSan / LeakSanitizer report in FILE.
check_sanitizer() {
    local f
    for f in "$@"; do
        if grep -qE 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer|ERROR: UndefinedBehavior' "$f" 2>/dev/null; then
            fail "sanitizer report in $(basename "$f")"
            grep -E -A14 'Sanitizer|runtime error:' "$f" | head -30 | sed 's/^/      /'
        fi
    done
}

# ---- JSON logs ----------------------------------------------------------------------------

# log_count FILE JQ-CONDITION [ARG]: lines of FILE (JSON objects; other lines skipped) for which
# the condition holds; it can use $p for ARG.
log_count() { jq -c -R --arg p "${3:-}" "fromjson? | select($2)" "$1" 2>/dev/null | wc -l; }
_log_has() { [[ $(log_count "$1" "$2" "${3:-}") -ge ${4:-1} ]]; }
# expect_log DESC TIMEOUT_S FILE JQ-CONDITION [ARG]
expect_log() {
    if wait_for "$2" _log_has "$3" "$4" "${5:-}"; then
        pass "$1"
        return 0
    fi
    fail "$1 (after ${2}s); log tail:"
    tail -n 6 "$3" 2>/dev/null | cut -c1-300 | sed 's/^/      /'
    return 1
}

# rejections FILE: "path<TAB>reason" for every "rejected" line of a JSON log (a newline in a
# path shown as \n, so that each rejection stays on one line).
rejections() {
    jq -r -R 'fromjson? | select(.msg == "rejected") | "\(.path | gsub("\n"; "\\n"))\t\(.reason)"' \
        "$1" 2>/dev/null
}

# ---- cleanup ------------------------------------------------------------------------------

h_on_exit() { H_EXIT_HOOKS+=("$1"); }

h_cleanup() {
    local rc=$? pid db h
    [[ $H_CLEANED -eq 1 ]] && return
    H_CLEANED=1
    trap - INT TERM
    for pid in ${H_STOPPED[@]+"${H_STOPPED[@]}"}; do
        kill -CONT "$pid" 2>/dev/null
    done
    for pid in ${H_PIDS[@]+"${H_PIDS[@]}"}; do
        if alive "$pid"; then
            kill -CONT "$pid" 2>/dev/null
            kill -KILL "$pid" 2>/dev/null
        fi
        wait "$pid" 2>/dev/null
    done
    for h in ${H_EXIT_HOOKS[@]+"${H_EXIT_HOOKS[@]}"}; do
        eval "$h" || true
    done
    for db in ${H_DBS[@]+"${H_DBS[@]}"}; do
        psql "$CO_TEST_DB" -X -q -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1
    done
    if [[ ${CO_HARDEN_KEEP:-0} == 1 ]]; then
        echo "kept $H_TMP"
    else
        chmod -R u+rwX "$H_TMP" 2>/dev/null
        rm -rf "$H_TMP"
    fi
    exit "$rc"
}
