# shellcheck shell=bash
# watch_lib.sh -- helpers for tests/sh/test_watch.sh: counters, deadline waits, databases,
# the agent's life (started by PID, stopped by PID), its JSON log and the rows it writes.
#
# Sourced, not run. Expects CO_TEST_DB and CO_AGENT; sets W_TMP (removed by w_cleanup).
# Every wait polls with a deadline (never a fixed sleep for a condition).

# shellcheck source=tests/sh/skip_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/skip_lib.sh"

W_PASS=0
W_FAIL=0
W_FAILED=()
W_DBS=()       # databases this run created (dropped by w_cleanup)
W_PIDS=()      # processes this run started (agents, listeners, writers)
W_QEV_ORIG=""  # fs.inotify.max_queued_events before a scenario lowered it
W_PG_TOUCHED=0 # the shared cluster was stopped by a scenario: restart it on exit
W_CLEANED=0
W_SCEN="-"
W_QEV=/proc/sys/fs/inotify/max_queued_events
W_TMP=$(mktemp -d /tmp/co-watch.XXXXXX)
export PGOPTIONS='-c client_min_messages=warning'
export PGCONNECT_TIMEOUT=3

# ---- counters -----------------------------------------------------------------------------

pass() {
    W_PASS=$((W_PASS + 1))
    echo "  ok - $*"
}
fail() {
    W_FAIL=$((W_FAIL + 1))
    W_FAILED+=("$W_SCEN: $*")
    echo "  NOT OK - $*"
}
# check DESC CMD...: pass when CMD succeeds.
check() {
    local desc=$1
    shift
    if "$@"; then pass "$desc"; else fail "$desc"; fi
}

# ---- time and deadlines -------------------------------------------------------------------

now_ms() {
    local t=${EPOCHREALTIME//[!0-9]/}
    echo $((10#$t / 1000))
}

# wait_for TIMEOUT_S CMD...: run CMD every 50 ms until it succeeds (0) or the deadline passes (1).
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
        sleep 0.05
    done
}

# ---- the database -------------------------------------------------------------------------

# The CO_TEST_DB URL with another database name (the path of a postgresql:// URL).
db_url() { sed -E "s#^(postgres(ql)?://[^/?]*/)[^?]*#\1$1#" <<<"$CO_TEST_DB"; }

# new_db NAME: create and migrate database NAME; sets DB_URL. Returns non-zero on failure.
new_db() {
    psql "$CO_TEST_DB" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $1" >/dev/null || return 1
    W_DBS+=("$1")
    DB_URL=$(db_url "$1")
    "$CO_AGENT" migrate --db "$DB_URL" >"$W_TMP/migrate-$1.log" 2>&1 || {
        cat "$W_TMP/migrate-$1.log" >&2
        return 1
    }
}

drop_db() {
    psql "$CO_TEST_DB" -X -q -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null 2>&1
}

# q SQL: one query against DB_URL, unaligned, tuples only.
q() { psql "$DB_URL" -X -q -At -v ON_ERROR_STOP=1 -c "$1" 2>/dev/null; }

W_LAST=""
_sql_is() { # _sql_is SQL EXPECTED
    W_LAST=$(q "$1") && [[ $W_LAST == "$2" ]]
}

# expect_sql DESC TIMEOUT_S SQL EXPECTED: wait until SQL prints exactly EXPECTED; pass or fail
# (showing what it printed last).
expect_sql() {
    local desc=$1 timeout=$2 sql=$3 want=$4
    if wait_for "$timeout" _sql_is "$sql" "$want"; then
        pass "$desc"
        return 0
    fi
    fail "$desc (after ${timeout}s)"
    diff <(printf '%s\n' "$want") <(printf '%s\n' "$W_LAST") | sed 's/^/      /' | head -40
    return 1
}

# The rows of one course as "slug|type|title|live/deleted|parent slug|sequence".
rows_sql() {
    cat <<SQL
SELECT c.slug, c.content_type, c.title,
       CASE WHEN c.deleted_at IS NULL THEN 'live' ELSE 'deleted' END,
       coalesce(p.slug, '-'), coalesce(c.sequence_order::text, '-')
  FROM contents c LEFT JOIN contents p ON p.id = c.parent_content_id
 WHERE split_part(c.slug, '/', 1) = '$1'
 ORDER BY c.slug COLLATE "C"
SQL
}
project_sql() {
    echo "SELECT slug, name, status, project_type FROM content_projects WHERE slug = '$1'"
}

# ---- the agent ----------------------------------------------------------------------------

# start_agent NAME ROOT [ARGS...]: start `watch` in the background on DB_URL with a JSON log.
# Sets AGENT_PID, AGENT_LOG, AGENT_ERR. Extra environment: AGENT_ENV=(K=V ...).
start_agent() {
    local name=$1 root=$2
    shift 2
    AGENT_LOG=$SDIR/$name.log
    AGENT_ERR=$SDIR/$name.stderr
    env ${AGENT_ENV[@]+"${AGENT_ENV[@]}"} "$CO_AGENT" watch --root "$root" --db "$DB_URL" \
        --log-format json --log-file "$AGENT_LOG" "$@" 2>>"$AGENT_ERR" &
    AGENT_PID=$!
    W_PIDS+=("$AGENT_PID")
}

# alive PID: running (or stopped), not a zombie. dead PID: the opposite.
alive() {
    kill -0 "$1" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}
dead() { ! alive "$1"; }
# mine PID: a live child of this shell (the only processes this script may signal).
mine() { alive "$1" && grep -q "^PPid:[[:space:]]*$$\$" "/proc/$1/status" 2>/dev/null; }

# stop_agent PID [TIMEOUT_S]: SIGTERM, wait for the exit (SIGKILL after the deadline); sets
# AGENT_RC (the exit status; 999 when it had to be killed) and STOP_MS (time to exit).
stop_agent() {
    local pid=$1 timeout=${2:-10} t0
    t0=$(now_ms)
    AGENT_RC=0
    kill -TERM "$pid" 2>/dev/null
    if ! wait_for "$timeout" dead "$pid"; then
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        AGENT_RC=999
    else
        wait "$pid" 2>/dev/null
        AGENT_RC=$?
    fi
    # shellcheck disable=SC2034 # read by test_watch.sh
    STOP_MS=$(($(now_ms) - t0))
}

# stop_agent_checked: stop AGENT_PID and assert a clean exit with no sanitizer report.
stop_agent_checked() {
    stop_agent "$AGENT_PID" 10
    check "agent exits 0 on SIGTERM (rc=$AGENT_RC)" test "$AGENT_RC" -eq 0
    check_sanitizer "$AGENT_ERR"
}

check_sanitizer() {
    if grep -qE 'Sanitizer|runtime error:' "$1" 2>/dev/null; then
        fail "sanitizer report in $(basename "$1")"
        grep -E -A12 'Sanitizer|runtime error:' "$1" | head -30 | sed 's/^/      /'
    fi
}

# ---- the JSON log -------------------------------------------------------------------------

# log_lines LOG JQ-CONDITION: the log lines (compact JSON) for which the condition holds.
log_lines() { jq -c -R --arg p "${3:-}" "fromjson? | select($2)" "$1" 2>/dev/null; }
# log_count LOG JQ-CONDITION [ARG]: how many (the condition can use \$p for ARG).
log_count() { log_lines "$1" "$2" "${3:-}" | wc -l; }
_log_has() { [[ $(log_count "$1" "$2" "${3:-}") -ge ${4:-1} ]]; }

# expect_log DESC TIMEOUT_S LOG JQ-CONDITION [ARG] [MIN]: wait for MIN (1) matching lines.
expect_log() {
    if wait_for "$2" _log_has "$3" "$4" "${5:-}" "${6:-1}"; then
        pass "$1"
        return 0
    fi
    fail "$1 (after ${2}s); log tail:"
    tail -n 8 "$3" 2>/dev/null | sed 's/^/      /'
    return 1
}

# wait_ready TIMEOUT_S: wait for "ready" in AGENT_LOG (and that the agent is still alive).
wait_ready() {
    if wait_for "${1:-30}" _log_has "$AGENT_LOG" '.msg == "ready"'; then
        pass "agent ready"
        return 0
    fi
    fail "agent not ready after ${1:-30}s (alive: $(alive "$AGENT_PID" && echo yes || echo no))"
    tail -n 10 "$AGENT_LOG" "$AGENT_ERR" 2>/dev/null | sed 's/^/      /'
    return 1
}

# ---- files --------------------------------------------------------------------------------

# lesson FILE [FRONT-MATTER-LINES...] -- write FILE (dirs created) with the given front-matter
# and the body in $BODY (default "# <name>\n\ntext\n"), in one open/write/close.
lesson() {
    local f=$1
    shift
    mkdir -p "$(dirname "$f")"
    {
        if [[ $# -gt 0 ]]; then
            printf -- '---\n'
            printf '%s\n' "$@"
            printf -- '---\n'
        fi
        printf '%s' "${BODY:-# $(basename "$f" .md)

text
}"
    } >"$f"
}

# ---- cleanup ------------------------------------------------------------------------------

w_cleanup() {
    local rc=$?
    [[ $W_CLEANED -eq 1 ]] && return
    W_CLEANED=1
    trap - INT TERM
    for pid in ${W_PIDS[@]+"${W_PIDS[@]}"}; do
        if mine "$pid"; then
            kill -CONT "$pid" 2>/dev/null
            kill -KILL "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
        fi
    done
    if [[ -n $W_QEV_ORIG ]]; then
        echo "$W_QEV_ORIG" >"$W_QEV" 2>/dev/null || echo "test_watch: could not restore $W_QEV to $W_QEV_ORIG" >&2
    fi
    if [[ $W_PG_TOUCHED -eq 1 && -n ${CO_PGDIR:-} ]]; then
        "${CO_SOURCE_DIR}/deploy/pg.sh" start "$CO_PGDIR" >/dev/null 2>&1 ||
            echo "test_watch: could not restart the cluster in $CO_PGDIR" >&2
    fi
    for db in ${W_DBS[@]+"${W_DBS[@]}"}; do
        drop_db "$db"
    done
    if [[ ${CO_WATCH_KEEP:-0} == 1 ]]; then
        echo "kept $W_TMP"
    else
        rm -rf "$W_TMP"
    fi
    exit "$rc"
}
