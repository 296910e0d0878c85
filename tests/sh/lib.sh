# lib.sh -- helpers for the shell suites: a fresh database per test, psql, agent runs, assertions.
#
# Source it, then `lib_init NAME`; each test calls `test_begin NAME`, creates what it needs
# (`new_db`, `agent`), asserts (`assert_eq`, `assert_contains`, ...), and the script ends with
# `lib_finish`, which prints "NAME: N passed, M failed, K skipped" and exits non-zero on any
# failure (or when no check ran). A check that cannot run says so with `skip` or
# `require_capability` (skip_lib.sh): never silently. `lib_run FN...` runs the suite's test
# functions; CO_<NAME>_ONLY="FN ..." (e.g. CO_BACKFILL_ONLY=t_rerun) runs some of them, in
# local runs only (deploy/test.sh refuses the filters).
# Databases (co_bf_<name>_$$) are dropped WITH (FORCE) on exit, on failure too; so is the
# work directory. Hooks registered with `lib_on_exit CMD` run first (e.g. restart a server).
#
# Needs CO_TEST_DB (a superuser URL on the local cluster), CO_AGENT (the binary) and
# CO_SOURCE_DIR; deploy/test.sh exports them.

# shellcheck source=tests/sh/skip_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/skip_lib.sh"

LIB_NAME=
LIB_PASS=0
LIB_FAIL=0
LIB_CUR=
LIB_DBS=()
LIB_EXIT_HOOKS=()
LIB_FAILED_TESTS=()
WORK=

lib_cleanup() {
    local rc=$? h db
    trap - EXIT INT TERM
    for h in "${LIB_EXIT_HOOKS[@]}"; do
        eval "$h" || true
    done
    for db in "${LIB_DBS[@]}"; do
        psql "$CO_TEST_DB" -XAtq -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
    done
    if [[ -n $WORK && -d $WORK ]]; then
        chmod -R u+rwX "$WORK" 2>/dev/null || true
        rm -rf "$WORK"
    fi
    exit "$rc"
}

# lib_init NAME: check the environment, make $WORK, arm the cleanup.
lib_init() {
    LIB_NAME=$1
    local v
    for v in CO_TEST_DB CO_AGENT CO_SOURCE_DIR; do
        if [[ -z ${!v:-} ]]; then
            echo "$LIB_NAME: $v is not set (deploy/test.sh sets it)" >&2
            exit 2
        fi
    done
    if [[ ! -x $CO_AGENT ]]; then
        echo "$LIB_NAME: $CO_AGENT is not an executable" >&2
        exit 2
    fi
    WORK=$(mktemp -d "/tmp/${LIB_NAME}.XXXXXX")
    chmod 0755 "$WORK"
    export PGOPTIONS='-c client_min_messages=warning'
    trap lib_cleanup EXIT
    trap 'exit 130' INT TERM
}

# lib_on_exit CMD: run CMD (eval'd) at exit, before the databases are dropped.
lib_on_exit() {
    LIB_EXIT_HOOKS+=("$1")
}

test_begin() {
    LIB_CUR=$1
    printf '\n== %s (t+%ss)\n' "$1" "$SECONDS"
}

pass() {
    LIB_PASS=$((LIB_PASS + 1))
}

# fail MESSAGE: count a failure of the current test and say what it was.
fail() {
    LIB_FAIL=$((LIB_FAIL + 1))
    LIB_FAILED_TESTS+=("$LIB_CUR")
    printf 'FAIL [%s] %s\n' "$LIB_CUR" "$1" >&2
}

# check MESSAGE CMD...: pass when CMD succeeds.
check() {
    local msg=$1
    shift
    if "$@"; then
        pass
    else
        fail "$msg"
    fi
}

# assert_eq WHAT EXPECTED ACTUAL
assert_eq() {
    if [[ $2 == "$3" ]]; then
        pass
    else
        fail "$1
  expected: $(printf '%s' "$2" | sed '2,$s/^/            /')
  actual:   $(printf '%s' "$3" | sed '2,$s/^/            /')"
        if [[ $2 == *$'\n'* || $3 == *$'\n'* ]]; then
            diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") | sed 's/^/  | /' >&2
        fi
    fi
}

# assert_contains WHAT NEEDLE HAYSTACK (fixed string)
assert_contains() {
    if [[ $3 == *"$2"* ]]; then
        pass
    else
        fail "$1: no \"$2\" in:
$(printf '%s' "$3" | head -c 3000 | sed 's/^/  | /')"
    fi
}

assert_not_contains() {
    if [[ $3 != *"$2"* ]]; then
        pass
    else
        fail "$1: \"$2\" found in:
$(printf '%s' "$3" | grep -F -- "$2" | head -c 3000 | sed 's/^/  | /')"
    fi
}

# assert_match WHAT ERE HAYSTACK: some line of HAYSTACK matches the extended regexp.
assert_match() {
    if grep -Eq -- "$2" <<<"$3"; then
        pass
    else
        fail "$1: no line matches /$2/ in:
$(printf '%s' "$3" | head -c 3000 | sed 's/^/  | /')"
    fi
}

# wait_until SECONDS CMD...: poll CMD until it succeeds or the deadline passes (returns 1).
wait_until() {
    local deadline=$((SECONDS + $1))
    shift
    while ! "$@"; do
        if ((SECONDS >= deadline)); then
            return 1
        fi
        sleep 0.05
    done
    return 0
}

# db_url DBNAME: CO_TEST_DB pointed at another database of the same cluster.
db_url() {
    sed -E "s#^(postgres(ql)?://[^/?]*/)[^?]*#\1$1#" <<<"$CO_TEST_DB"
}

# q URL SQL: one query, unaligned, tuples only; stops on the first error.
q() {
    psql "$1" -XAtq -v ON_ERROR_STOP=1 -c "$2"
}

# qcmp URL SQL: q for a value that is compared with another: on an error it prints the error
# with a marker unique to this call, so that two failed queries never compare equal (nor
# equal an expected empty result), and returns 1.
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

# new_db NAME [--no-migrate]: create co_bf_<NAME>_$$ and migrate it with the agent.
# Sets DB (its name) and URL; dropped at exit. Returns 1 (and counts a failure) on error.
new_db() {
    DB="co_bf_${1}_$$"
    URL=$(db_url "$DB")
    LIB_DBS+=("$DB")
    if ! psql "$CO_TEST_DB" -XAtq -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$DB\"" >/dev/null; then
        fail "cannot create database $DB"
        return 1
    fi
    if [[ ${2:-} != --no-migrate ]]; then
        local out
        if ! out=$("$CO_AGENT" migrate --db "$URL" --log-format text 2>&1); then
            fail "migrate $DB failed: $out"
            return 1
        fi
    fi
    return 0
}

# agent ARGS...: run the agent (text logs); sets AG_RC, AG_OUT (stdout), AG_ERR (stderr).
# A sanitizer report on stderr counts as a failure of the current test.
# AG_PREFIX (an array, e.g. setpriv ...) is put in front of the command when set.
AG_PREFIX=()
# shellcheck disable=SC2034 # AG_RC/AG_OUT/AG_ERR are for the caller
agent() {
    local o="$WORK/agent.out" e="$WORK/agent.err"
    "${AG_PREFIX[@]}" "$CO_AGENT" "$@" >"$o" 2>"$e"
    AG_RC=$?
    AG_OUT=$(cat "$o")
    AG_ERR=$(cat "$e")
    if grep -Eq 'Sanitizer|runtime error:' "$e"; then
        fail "sanitizer report from: creatoros-agent $*
$(grep -E -A12 'Sanitizer|runtime error:' "$e" | head -40 | sed 's/^/  | /')"
    fi
}

# The summary line of the last backfill (text mode): "[dry run: ]N files: ...".
ag_summary() {
    grep -E '^(dry run: )?[0-9]+ files: ' <<<"$AG_OUT" | tail -1
}

# lib_run FN...: run the test functions, those CO_<NAME>_ONLY selects when it is set.
lib_run() {
    local fn
    only_filter "CO_$(tr '[:lower:]' '[:upper:]' <<<"${LIB_NAME#test_}")_ONLY"
    for fn in "$@"; do
        if [[ -z $ONLY || " $ONLY " == *" $fn "* ]]; then
            "$fn"
        fi
    done
}

lib_finish() {
    echo
    if ((LIB_FAIL > 0)); then
        printf '%s: failures in: %s\n' "$LIB_NAME" \
            "$(printf '%s\n' "${LIB_FAILED_TESTS[@]}" | sort -u | tr '\n' ' ')"
    fi
    summary_line "$LIB_NAME" "$LIB_PASS" "$LIB_FAIL" || exit 1
    exit 0
}
