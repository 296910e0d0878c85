# shellcheck shell=bash
# lib.sh -- the one library of the shell suites (tests/sh/test_*.sh; deploy/test.sh uses its
# skip accounting). A suite sources it, calls `lib_init NAME NEED...`, runs its scenario
# functions with `lib_run FN...` and ends with `lib_finish`; it keeps only its domain helpers.
#
#   environment  lib_init NAME [NEED...]   each NEED an environment variable that must be set
#                                          (CO_TEST_DB, CO_AGENT, CO_PGDIR, ...), `root`, or a
#                                          command that must be installed (jq, pgbouncer);
#                                          exits 2 naming what is missing
#   work dir     WORK (0755, removed at exit; CO_TEST_KEEP=1 keeps it); lib_on_exit CMD
#                (eval'd at exit, first); lib_track PID (a background process: killed at exit
#                when it is still this shell's child; lib_reap kills them now)
#   databases    new_db NAME [--no-migrate] (co_<suite>_<NAME>_<pid>: sets DB and URL, dropped
#                at exit); prod_db NAME [--no-rows] [--no-migrate] (the production fixture,
#                tests/fixtures/production); drop_db DB; db_url DBNAME; cluster_stop [kill] and
#                cluster_start (the shared cluster of CO_PGDIR, started again at exit whatever
#                happens)
#   psql         q URL SQL; qcmp URL SQL (an error prints a marker unique to the call: two
#                errors never compare equal); assert_sql, assert_query, expect_sql (on $URL);
#                no_agent_session URL
#   agent runs   run_agent NAME ARGS / agent ARGS (foreground: AG_RC, AG_OUT, AG_ERR;
#                ag_summary: the summary line of a backfill);
#                start_agent NAME ARGS, start_logged NAME ARGS (JSON log AG_LOG), start_watch
#                NAME ROOT ARGS (background: AG_PID); wait_ready; wait_agent / stop_agent PID
#                [TIMEOUT] (STOP_RC, STOP_MS); stop_checked [WHAT [PID [FILE...]]];
#                check_sanitizer FILE... (one pattern, SANITIZER_RE). AG_PREFIX=(...) goes in
#                front of the command, AG_BIN replaces CO_AGENT, files go to AG_DIR (WORK);
#                as_nobody on|off runs the next ones as the user nobody.
#   JSON logs    log_lines, log_count, log_has, expect_log (jq conditions; $p is the argument)
#   assertions   pass [WHAT], fail WHAT, check WHAT CMD..., assert_eq, assert_contains,
#                assert_not_contains, assert_match; lib_abort WHAT (fail, then the summary)
#   deadlines    now_ms; wait_until SECONDS CMD... (polls every LIB_POLL seconds: never a fixed
#                sleep where a condition can be polled)
#   skips        skip NAME REASON [CAPABILITY], have_capability CAP, require_capability CAP NAME
#   scenarios    lib_run FN... (CO_<SUITE>_ONLY="FN ..." runs some, in local runs only;
#                LIB_BEFORE_EACH / LIB_AFTER_EACH name functions called around each);
#                test_begin TITLE; lib_finish (the summary line deploy/test.sh reads)
#
# Failures print "FAIL [scenario] what" and count (CO_TEST_FAIL_FAST=1 stops at the first);
# passes print "  ok - what". A check that cannot run is never silent: `skip` prints
# "SKIP name: reason" and counts it, and under deploy/test.sh (CO_TEST_STRICT=1) a skip is a
# failure unless the machine lacks the capability the check needs; a suite that ran no check
# fails; the scenario filters are refused there. Every suite ends with
# "NAME: N passed, M failed, K skipped".

CO_SOURCE_DIR=${CO_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
LIB_POLL=0.05
SANITIZER_RE='(Address|Leak|UndefinedBehavior|Thread|Memory)Sanitizer|runtime error:'

LIB_NAME=lib
LIB_SHORT=lib
LIB_PASS=0
LIB_FAIL=0
LIB_CUR=-
LIB_FAILED=()
LIB_DBS=()
LIB_PIDS=()
LIB_EXIT_HOOKS=()
LIB_CLEANED=0
LIB_CLUSTER_HOOK=0
LIB_BEFORE_EACH=
LIB_AFTER_EACH=
SKIP_COUNT=0
SKIPPED=()
WORK=
AG_DIR=
AG_PREFIX=()
AG_BIN=

# ---- environment, work directory, cleanup ------------------------------------------------------

# lib_init NAME [NEED...]: check what the suite needs, make WORK, arm the cleanup.
lib_init() {
    LIB_NAME=$1
    LIB_SHORT=${1#test_}
    shift
    local need missing=()
    for need in "$@"; do
        case $need in
        root) [[ $(id -u) -eq 0 ]] || missing+=("root") ;;
        [A-Z]*) [[ -n ${!need:-} ]] || missing+=("$need (deploy/test.sh sets it)") ;;
        *) command -v "$need" >/dev/null 2>&1 || missing+=("$need (deploy/test.sh installs it)") ;;
        esac
    done
    if [[ " $* " == *" CO_AGENT "* && -n ${CO_AGENT:-} && ! -x $CO_AGENT ]]; then
        missing+=("CO_AGENT=$CO_AGENT is not an executable")
    fi
    if [[ ${#missing[@]} -gt 0 ]]; then
        printf '%s: needs %s\n' "$LIB_NAME" "${missing[@]}" >&2
        exit 2
    fi
    WORK=$(mktemp -d "/tmp/${LIB_NAME}.XXXXXX")
    chmod 0755 "$WORK"
    AG_DIR=$WORK
    export PGOPTIONS='-c client_min_messages=warning'
    export PGCONNECT_TIMEOUT=5
    trap lib_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# lib_on_exit CMD: CMD is eval'd at exit, before the databases are dropped.
lib_on_exit() {
    LIB_EXIT_HOOKS+=("$1")
}

# lib_track PID: a process this suite started in the background; killed at exit if it runs.
lib_track() {
    LIB_PIDS+=("$1")
}

# lib_reap: kill the tracked processes that still run (a scenario's leftovers), now.
lib_reap() {
    local pid
    for pid in ${LIB_PIDS[@]+"${LIB_PIDS[@]}"}; do
        if mine "$pid"; then
            kill -CONT "$pid" 2>/dev/null
            kill -KILL "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
        fi
    done
    LIB_PIDS=()
}

lib_cleanup() {
    local rc=$? h db
    [[ $LIB_CLEANED -eq 1 ]] && return
    LIB_CLEANED=1
    trap - EXIT INT TERM
    lib_reap
    for h in ${LIB_EXIT_HOOKS[@]+"${LIB_EXIT_HOOKS[@]}"}; do
        eval "$h" || true
    done
    for db in ${LIB_DBS[@]+"${LIB_DBS[@]}"}; do
        drop_db "$db"
    done
    if [[ -n $WORK && -d $WORK ]]; then
        if [[ ${CO_TEST_KEEP:-0} == 1 ]]; then
            echo "kept $WORK"
        else
            chmod -R u+rwX "$WORK" 2>/dev/null
            rm -rf "$WORK"
        fi
    fi
    exit "$rc"
}

# ---- processes -------------------------------------------------------------------------------

# alive PID: running (or stopped), not a zombie. dead PID: the opposite.
alive() {
    kill -0 "$1" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}
dead() { ! alive "$1"; }
# mine PID: a live child of this shell (the only processes a suite may signal at exit).
mine() { alive "$1" && grep -q "^PPid:[[:space:]]*$$\$" "/proc/$1/status" 2>/dev/null; }

# ---- time and deadlines ----------------------------------------------------------------------

now_ms() {
    local t=${EPOCHREALTIME//[!0-9]/}
    echo $((10#$t / 1000))
}

# wait_until SECONDS CMD...: run CMD every LIB_POLL seconds until it succeeds (0) or the
# deadline passes (1).
wait_until() {
    local deadline=$(($(now_ms) + ${1%.*} * 1000))
    shift
    while ! "$@"; do
        if (($(now_ms) >= deadline)); then
            return 1
        fi
        sleep "$LIB_POLL"
    done
    return 0
}

# ---- assertions ------------------------------------------------------------------------------

# pass [WHAT]: one more check passed (said when WHAT is given).
pass() {
    LIB_PASS=$((LIB_PASS + 1))
    [[ $# -eq 0 ]] || printf '  ok - %s\n' "$*"
}

# fail WHAT: one more check failed, said with the scenario it belongs to. With
# CO_TEST_FAIL_FAST=1 (tests/mutants.sh: the first failure kills a mutant) the suite ends there.
fail() {
    LIB_FAIL=$((LIB_FAIL + 1))
    LIB_FAILED+=("$LIB_CUR")
    printf 'FAIL [%s] %s\n' "$LIB_CUR" "$1"
    [[ ${CO_TEST_FAIL_FAST:-0} != 1 ]] || lib_finish
}

# lib_abort WHAT: a failure after which nothing more can run: counted, then the summary.
lib_abort() {
    fail "$1"
    lib_finish
}

# check WHAT CMD...: pass when CMD succeeds. (Every assertion returns 1 when it failed.)
check() {
    local what=$1
    shift
    if "$@"; then
        pass "$what"
        return 0
    fi
    fail "$what"
    return 1
}

# assert_eq WHAT EXPECTED ACTUAL
assert_eq() {
    if [[ $2 == "$3" ]]; then
        pass "$1"
        return 0
    fi
    fail "$1
  expected: $(printf '%s' "$2" | head -c 3000 | sed '2,$s/^/            /')
  actual:   $(printf '%s' "$3" | head -c 3000 | sed '2,$s/^/            /')"
    if [[ $2 == *$'\n'* || $3 == *$'\n'* ]]; then
        diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") | head -40 | sed 's/^/  | /'
    fi
    return 1
}

# assert_contains WHAT NEEDLE HAYSTACK (a fixed string)
assert_contains() {
    if [[ $3 == *"$2"* ]]; then
        pass "$1"
        return 0
    fi
    fail "$1: no \"$2\" in:
$(printf '%s' "$3" | head -c 3000 | sed 's/^/  | /')"
    return 1
}

assert_not_contains() {
    if [[ $3 != *"$2"* ]]; then
        pass "$1"
        return 0
    fi
    fail "$1: \"$2\" found in:
$(printf '%s' "$3" | grep -F -- "$2" | head -c 3000 | sed 's/^/  | /')"
    return 1
}

# assert_match WHAT ERE HAYSTACK: some line of HAYSTACK matches the extended regexp.
assert_match() {
    if grep -Eq -- "$2" <<<"$3"; then
        pass "$1"
        return 0
    fi
    fail "$1: no line matches /$2/ in:
$(printf '%s' "$3" | head -c 3000 | sed 's/^/  | /')"
    return 1
}

# ---- databases -------------------------------------------------------------------------------

# db_url DBNAME: CO_TEST_DB pointed at another database of the same cluster.
db_url() {
    sed -E "s#^(postgres(ql)?://[^/?]*/)[^?]*#\1$1#" <<<"$CO_TEST_DB"
}

# q URL SQL: one query, unaligned, tuples only, '|' between columns; the error on stderr and
# a non-zero status when it fails.
q() {
    psql "$1" -XAtq -v ON_ERROR_STOP=1 -c "$2"
}

# qcmp URL SQL: q for a value that is compared with another: a failed query prints its error
# with a marker unique to the call, so that two failures never compare equal (nor equal an
# expected empty result), and returns 1.
qcmp() {
    local out rc
    out=$(psql "$1" -XAtq -v ON_ERROR_STOP=1 -c "$2" 2>&1)
    rc=$?
    if [[ $rc -ne 0 ]]; then
        # the marker on the last line too: callers may keep only that one (| tail -1)
        printf 'QUERY FAILED: %s\nQUERY FAILED (psql exit %s, #%s-%s-%s)\n' "$out" "$rc" \
            "$BASHPID" "$RANDOM" "$RANDOM"
        return 1
    fi
    printf '%s\n' "$out"
}

# assert_sql WHAT URL SQL EXPECTED-TEXT
assert_sql() {
    assert_eq "$1" "$4" "$(qcmp "$2" "$3")"
}

# assert_query WHAT URL ACTUAL-SQL EXPECTED-SQL: both result sets, as psql prints them, equal
# (an expectation written as SQL VALUES lets the server spell jsonb the one way it does).
assert_query() {
    local a e
    if ! a=$(qcmp "$2" "$3") || ! e=$(qcmp "$2" "$4"); then
        fail "$1: a query failed:
  actual:   $a
  expected: ${e:-(not run)}"
        return
    fi
    assert_eq "$1" "$e" "$a"
}

_sql_is() { # _sql_is URL SQL EXPECTED: sets LIB_LAST
    LIB_LAST=$(qcmp "$1" "$2") && [[ $LIB_LAST == "$3" ]]
}

# expect_sql WHAT TIMEOUT_S SQL EXPECTED: wait until SQL on $URL prints exactly EXPECTED.
expect_sql() {
    local what=$1 timeout=$2 sql=$3 want=$4
    if wait_until "$timeout" _sql_is "$URL" "$sql" "$want"; then
        pass "$what"
        return 0
    fi
    fail "$what (after ${timeout}s)"
    diff <(printf '%s\n' "$want") <(printf '%s\n' "$LIB_LAST") | head -40 | sed 's/^/  | /'
    return 1
}

# no_agent_session URL: no session of the agent (application_name creatoros-agent) is open on
# the database of URL (what it wrote is then in the statistics, its locks are gone).
no_agent_session() {
    [[ $(qcmp "$1" "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'creatoros-agent'
                    AND datname = current_database()") == 0 ]]
}

# new_db NAME [--no-migrate]: create co_<suite>_<NAME>_<pid> and migrate it with the agent.
# Sets DB (its name) and URL; dropped at exit. Returns 1 (and counts a failure) on error.
new_db() {
    local out
    DB="co_${LIB_SHORT}_${1}_$$"
    URL=$(db_url "$DB")
    if ! out=$(psql "$CO_TEST_DB" -XAtq -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$DB\"" 2>&1); then
        fail "cannot create database $DB: $out"
        return 1
    fi
    LIB_DBS+=("$DB")
    if [[ ${2:-} != --no-migrate ]] &&
        ! out=$("$CO_AGENT" migrate --db "$URL" --log-format text 2>&1); then
        fail "migrate $DB failed: $out"
        return 1
    fi
    return 0
}

# drop_db DB: drop it now (a suite of many databases keeps the cluster small).
drop_db() {
    psql "$CO_TEST_DB" -XAtq -c "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)" >/dev/null 2>&1
}

# prod_db NAME [--no-rows] [--no-migrate]: new_db with the production-shaped fixture
# (tests/fixtures/production: the app's schema, its rows unless --no-rows), then adopted by
# `creatoros-agent migrate` unless --no-migrate. Sets DB and URL.
PROD=$CO_SOURCE_DIR/tests/fixtures/production
prod_db() {
    local name=$1 rows=() migrate=1 a out
    shift
    for a in "$@"; do
        case $a in
        --no-rows) rows=(--no-rows) ;;
        --no-migrate) migrate=0 ;;
        esac
    done
    new_db "$name" --no-migrate || return 1
    if ! out=$("$PROD/load.sh" "$URL" ${rows[@]+"${rows[@]}"} 2>&1); then
        fail "cannot load the production fixture into $DB: $out"
        return 1
    fi
    if [[ $migrate -eq 1 ]] && ! out=$("$CO_AGENT" migrate --db "$URL" --log-format text 2>&1); then
        fail "migrate of the production fixture $DB failed: $out"
        return 1
    fi
    return 0
}

# cluster_stop [kill]: stop (or kill: a crash) the shared test cluster of CO_PGDIR; whatever
# happens, it is started again at exit. cluster_start: start it again.
cluster_stop() {
    if [[ $LIB_CLUSTER_HOOK -eq 0 ]]; then
        # shellcheck disable=SC2016 # eval'd at exit
        lib_on_exit '"$CO_SOURCE_DIR/deploy/pg.sh" status "$CO_PGDIR" >/dev/null 2>&1 ||
            "$CO_SOURCE_DIR/deploy/pg.sh" start "$CO_PGDIR" >/dev/null 2>&1'
        LIB_CLUSTER_HOOK=1
    fi
    "$CO_SOURCE_DIR/deploy/pg.sh" "${1:-stop}" "$CO_PGDIR" >/dev/null 2>&1
}
cluster_start() {
    "$CO_SOURCE_DIR/deploy/pg.sh" start "$CO_PGDIR" >/dev/null 2>&1
}
cluster_up() {
    "$CO_SOURCE_DIR/deploy/pg.sh" status "$CO_PGDIR" >/dev/null 2>&1
}
cluster_down() { ! cluster_up; }

# ---- the agent -------------------------------------------------------------------------------

# check_sanitizer FILE...: a sanitizer report in a file fails the current scenario (shown);
# nothing is said otherwise.
check_sanitizer() {
    local f
    for f in "$@"; do
        if grep -Eq "$SANITIZER_RE" "$f" 2>/dev/null; then
            fail "sanitizer report in $(basename "$f"):
$(grep -E -A14 "$SANITIZER_RE" "$f" | head -40 | sed 's/^/  | /')"
        fi
    done
}

# run_agent NAME ARGS...: the agent in the foreground; AG_DIR/NAME.out and .err; sets AG_RC,
# AG_OUT, AG_ERR. agent ARGS...: the same, named "agent".
# shellcheck disable=SC2034 # AG_RC/AG_OUT/AG_ERR are for the caller
run_agent() {
    local name=$1
    shift
    local o=$AG_DIR/$name.out e=$AG_DIR/$name.err
    ${AG_PREFIX[@]+"${AG_PREFIX[@]}"} "${AG_BIN:-$CO_AGENT}" "$@" >"$o" 2>"$e"
    AG_RC=$?
    AG_OUT=$(<"$o")
    AG_ERR=$(<"$e")
    check_sanitizer "$e"
}
agent() {
    run_agent agent "$@"
}

# ag_summary: the summary line of the last backfill (text mode): "[dry run: ]N files: ...".
ag_summary() {
    grep -E '^(dry run: )?[0-9]+ files: ' <<<"$AG_OUT" | tail -1
}

# start_agent NAME ARGS...: the agent in the background; sets AG_PID, AG_OUTF, AG_ERRF
# (AG_DIR/NAME.out, .err). start_logged NAME ARGS...: the same with a JSON log in AG_LOG
# (AG_DIR/NAME.log). start_watch NAME ROOT [ARGS...]: `watch` of ROOT on $URL, logged.
start_agent() {
    local name=$1
    shift
    AG_OUTF=$AG_DIR/$name.out
    AG_ERRF=$AG_DIR/$name.err
    ${AG_PREFIX[@]+"${AG_PREFIX[@]}"} "${AG_BIN:-$CO_AGENT}" "$@" >"$AG_OUTF" 2>"$AG_ERRF" &
    AG_PID=$!
    lib_track "$AG_PID"
}
start_logged() {
    local name=$1
    shift
    AG_LOG=$AG_DIR/$name.log
    start_agent "$name" "$@" --log-format json --log-file "$AG_LOG"
}
start_watch() {
    local name=$1 root=$2
    shift 2
    start_logged "$name" watch --root "$root" --db "$URL" "$@"
}

# as_nobody on|off: the next agent runs (run_agent, start_agent) as the user nobody, through
# setpriv; from a copy of the binary in WORK when nobody cannot reach the build directory
# (a build below /root).
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
NOBODY_BIN=
as_nobody() {
    if [[ $1 != on ]]; then
        AG_PREFIX=()
        AG_BIN=
        return
    fi
    if [[ -z $NOBODY_BIN ]]; then
        NOBODY_BIN=$CO_AGENT
        if ! "${NOBODY[@]}" "$CO_AGENT" --version >/dev/null 2>&1; then
            mkdir -p "$WORK/bin"
            cp "$CO_AGENT" "$WORK/bin/creatoros-agent"
            chmod 0755 "$WORK/bin" "$WORK/bin/creatoros-agent"
            NOBODY_BIN=$WORK/bin/creatoros-agent
        fi
    fi
    AG_PREFIX=("${NOBODY[@]}")
    AG_BIN=$NOBODY_BIN
}

# wait_ready [TIMEOUT_S]: the agent of AG_PID logged "ready" in AG_LOG (30 s).
wait_ready() {
    if wait_until "${1:-30}" log_has "$AG_LOG" '.msg == "ready"'; then
        pass "agent ready"
        return 0
    fi
    fail "agent not ready after ${1:-30}s (alive: $(alive "$AG_PID" && echo yes || echo no)):
$(tail -n 6 "$AG_LOG" "$AG_ERRF" 2>/dev/null | cut -c1-300 | sed 's/^/  | /')"
    return 1
}

# wait_agent PID [TIMEOUT_S]: wait for the exit of a background agent (SIGKILL after the
# deadline, 15 s); sets STOP_RC (the exit status; 999 when it had to be killed) and STOP_MS.
# stop_agent PID [TIMEOUT_S]: the same after a SIGTERM.
# shellcheck disable=SC2034 # STOP_MS is for the caller
wait_agent() {
    local pid=$1 timeout=${2:-15} t0
    t0=$(now_ms)
    if wait_until "$timeout" dead "$pid"; then
        wait "$pid" 2>/dev/null
        STOP_RC=$?
    else
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        STOP_RC=999
    fi
    STOP_MS=$(($(now_ms) - t0))
}
stop_agent() {
    kill -TERM "$1" 2>/dev/null
    wait_agent "$@"
}

# stop_checked [WHAT [PID [FILE...]]]: stop_agent, then the exit is 0 and no FILE holds a
# sanitizer report (defaults: "agent", AG_PID, AG_ERRF).
stop_checked() {
    local what=${1:-agent} pid=${2:-$AG_PID}
    shift $(($# < 2 ? $# : 2))
    stop_agent "$pid"
    assert_eq "$what exits 0 on SIGTERM" 0 "$STOP_RC"
    if [[ $# -gt 0 ]]; then
        check_sanitizer "$@"
    else
        check_sanitizer "$AG_ERRF"
    fi
}

# ---- JSON logs -------------------------------------------------------------------------------

# log_lines FILE JQ-CONDITION [ARG]: the lines of FILE (JSON objects; other lines skipped)
# for which the condition holds, compact; the condition can use $p for ARG.
log_lines() {
    jq -c -R --arg p "${3:-}" "fromjson? | select($2)" "$1" 2>/dev/null
}
# log_count FILE JQ-CONDITION [ARG]: how many.
log_count() {
    log_lines "$@" | wc -l
}
# log_has FILE JQ-CONDITION [ARG] [MIN]: at least MIN (1).
log_has() {
    [[ $(log_count "$1" "$2" "${3:-}") -ge ${4:-1} ]]
}
# expect_log WHAT TIMEOUT_S FILE JQ-CONDITION [ARG] [MIN]: wait for MIN (1) such lines.
expect_log() {
    if wait_until "$2" log_has "$3" "$4" "${5:-}" "${6:-1}"; then
        pass "$1"
        return 0
    fi
    fail "$1 (after ${2}s); log tail:
$(tail -n 8 "$3" 2>/dev/null | cut -c1-300 | sed 's/^/  | /')"
    return 1
}

# ---- skips: what a check needs from the machine ----------------------------------------------

skip_strict() { [[ ${CO_TEST_STRICT:-0} == 1 ]]; }

# have_capability CAP: root; proc_sys (fs.inotify sysctls writable); setpriv, runuser (the
# commands); nobody (root, setpriv and a `nobody` user: a process that cannot read what root
# can); mknod (device nodes can be made); tmpfs (a tmpfs can be mounted); mountns (a private
# mount namespace, unshare -m); hardlinks_protected (fs.protected_hardlinks is 1); pgdir
# (CO_PGDIR names the running test cluster, which a check may stop and start).
have_capability() {
    local d rc
    case $1 in
    root) [[ $(id -u) -eq 0 ]] ;;
    proc_sys) [[ -w /proc/sys/fs/inotify/max_queued_events ]] ;;
    setpriv | runuser) command -v "$1" >/dev/null 2>&1 ;;
    nobody) [[ $(id -u) -eq 0 ]] && id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null 2>&1 ;;
    mknod)
        [[ $(id -u) -eq 0 ]] || return 1
        d=$(mktemp -d /tmp/co-cap.XXXXXX) || return 1
        mknod "$d/null" c 1 3 2>/dev/null && [[ -c $d/null ]]
        rc=$?
        rm -rf "$d"
        return $rc
        ;;
    tmpfs)
        [[ $(id -u) -eq 0 ]] || return 1
        d=$(mktemp -d /tmp/co-cap.XXXXXX) || return 1
        mount -t tmpfs -o size=1m co-cap "$d" 2>/dev/null && umount "$d"
        rc=$?
        rmdir "$d" 2>/dev/null
        return $rc
        ;;
    mountns) unshare -m --propagation private true 2>/dev/null ;;
    hardlinks_protected) [[ $(cat /proc/sys/fs/protected_hardlinks 2>/dev/null) == 1 ]] ;;
    pgdir) [[ -n ${CO_PGDIR:-} ]] && "$CO_SOURCE_DIR/deploy/pg.sh" status "$CO_PGDIR" >/dev/null 2>&1 ;;
    *)
        echo "have_capability: unknown capability '$1'" >&2
        return 2
        ;;
    esac
}

cap_reason() {
    case $1 in
    root) echo "needs root" ;;
    proc_sys) echo "/proc/sys/fs/inotify is not writable (needs root and a writable /proc/sys)" ;;
    setpriv | runuser) echo "$1 is not installed (util-linux)" ;;
    nobody) echo "needs root, setpriv and a 'nobody' user to run the agent unprivileged" ;;
    mknod) echo "device nodes cannot be made here (needs root, no nodev)" ;;
    tmpfs) echo "a tmpfs cannot be mounted here (needs root and CAP_SYS_ADMIN)" ;;
    mountns) echo "no private mount namespace here (unshare -m needs root)" ;;
    hardlinks_protected) echo "fs.protected_hardlinks is not 1 on this machine" ;;
    pgdir) echo "CO_PGDIR does not name the running test cluster (deploy/test.sh sets it)" ;;
    *) echo "needs $1" ;;
    esac
}

# skip NAME REASON [CAP]: a check that cannot run: said and counted. Under strict mode it is
# also a failure, unless CAP is named and the machine lacks it.
skip() {
    local name=$1 reason=$2 cap=${3:-}
    SKIP_COUNT=$((SKIP_COUNT + 1))
    SKIPPED+=("$name")
    echo "SKIP $name: $reason"
    if skip_strict; then
        if [[ -z $cap ]]; then
            fail "$name was skipped under deploy/test.sh ($reason): a check that can run must run"
        elif have_capability "$cap"; then
            fail "$name was skipped under deploy/test.sh although the machine has '$cap' ($reason)"
        fi
    fi
}

# require_capability CAP NAME: 0 when the machine has CAP, else skip NAME and return 1:
#   require_capability proc_sys watch_overflow_rescans || return
require_capability() {
    if have_capability "$1"; then
        return 0
    fi
    skip "$2" "$(cap_reason "$1")" "$1"
    return 1
}

# ---- scenarios and the summary ---------------------------------------------------------------

# test_begin TITLE: the scenario's title, with the time since the suite started.
test_begin() {
    printf '\n== %s: %s (t+%ss)\n' "$LIB_CUR" "$1" "$SECONDS"
}

# lib_run FN...: run the scenario functions, those of CO_<SUITE>_ONLY when it is set (a local
# run; under strict mode the filter is refused, a failure, and every scenario runs).
lib_run() {
    local var fn only p0 f0 s0 t0
    var="CO_$(tr '[:lower:]' '[:upper:]' <<<"$LIB_SHORT")_ONLY"
    only=${!var:-}
    if [[ -n $only ]]; then
        if skip_strict; then
            fail "$var is set ('$only'): scenario filters are for local runs; deploy/test.sh runs every check"
            only=
        else
            echo "($var: running $only only)"
            for fn in $only; do
                [[ " $* " == *" $fn "* ]] || fail "$var names no scenario of $LIB_NAME: $fn"
            done
        fi
    fi
    for fn in "$@"; do
        [[ -z $only || " $only " == *" $fn "* ]] || continue
        LIB_CUR=$fn
        p0=$LIB_PASS f0=$LIB_FAIL s0=$SKIP_COUNT t0=$(now_ms)
        if [[ -n $LIB_BEFORE_EACH ]] && ! "$LIB_BEFORE_EACH" "$fn"; then
            fail "the set-up of $fn failed"
            continue
        fi
        "$fn"
        [[ -z $LIB_AFTER_EACH ]] || "$LIB_AFTER_EACH" "$fn"
        printf '  (%s: %d passed, %d failed, %d skipped, %d ms)\n' "$fn" $((LIB_PASS - p0)) \
            $((LIB_FAIL - f0)) $((SKIP_COUNT - s0)) $(($(now_ms) - t0))
        LIB_CUR=-
    done
}

# summary_line NAME PASSED FAILED: the suite's last line; 1 when it failed or ran nothing.
summary_line() {
    local name=$1 p=$2 f=$3
    if ((p + f == 0)); then
        echo "FAIL: $name ran no check"
        f=1
    fi
    if ((SKIP_COUNT > 0)); then
        echo "$name: skipped: ${SKIPPED[*]}"
    fi
    echo "$name: $p passed, $f failed, $SKIP_COUNT skipped"
    ((f == 0))
}

# lib_finish: the failures by scenario, the summary line, the exit status.
lib_finish() {
    echo
    if ((LIB_FAIL > 0)); then
        printf '%s: failures in: %s\n' "$LIB_NAME" \
            "$(printf '%s\n' "${LIB_FAILED[@]}" | sort -u | tr '\n' ' ')"
    fi
    echo "($LIB_NAME: ${SECONDS} s)"
    summary_line "$LIB_NAME" "$LIB_PASS" "$LIB_FAIL" || exit 1
    exit 0
}
