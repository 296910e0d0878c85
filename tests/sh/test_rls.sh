#!/usr/bin/env bash
# test_rls.sh -- the RLS suite (tests/sql/rls_test.sql, pgTAP) on both kinds of database.
#
# 1. fresh: an empty database migrated by `creatoros-agent migrate`: every assertion passes, and
#    the equivalent of CreatorOS v0.9.1's own RLS test (tests/sql/v091_rls_smoke.sql) runs.
# 2. existing: the production-shaped fixture (tests/fixtures/production/) adopted by `migrate`:
#    the assertions that fail are exactly those tagged with a hole `migrate` reported (the set of
#    their [hole:ID] tags equals the set of reported holes, and nothing untagged fails); after
#    `migrate --harden` every assertion passes and migrate reports no hole; v091_rls_smoke runs.
# Fails on a SQL error or an unmet plan. Drops its databases on every path.
# Needs CO_TEST_DB (a superuser URL; deploy/test.sh sets it), CO_AGENT and postgresql-15-pgtap.
set -euo pipefail

SRC=${CO_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
DBS=()
PASSED=0

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { PASSED=$((PASSED + 1)); echo "ok: $*"; }

[[ -n ${CO_TEST_DB:-} ]] || fail "CO_TEST_DB is not set: it needs a superuser URL (deploy/test.sh sets it)"
[[ -n ${CO_AGENT:-} && -x $CO_AGENT ]] || fail "CO_AGENT is not an executable (deploy/test.sh sets it)"
export PGOPTIONS='-c client_min_messages=warning'

# The CO_TEST_DB URL with another database name (the path of a postgresql:// URL).
db_url() { sed -E "s#^(postgres(ql)?://[^/?]*/)[^?]*#\1$1#" <<<"$CO_TEST_DB"; }
new_db() { # new_db NAME: create it, remember it for cleanup, set URL
    DBS+=("$1")
    psql "$CO_TEST_DB" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $1" >/dev/null
    URL=$(db_url "$1")
}

cleanup() {
    local rc=$?
    for db in "${DBS[@]}"; do
        psql "$CO_TEST_DB" -X -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    done
    exit "$rc"
}
trap cleanup EXIT INT TERM

pgtap() {
    psql "$1" -X -q -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION IF NOT EXISTS pgtap' >/dev/null ||
        fail "cannot install pgtap (apt-get install postgresql-15-pgtap)"
}

# suite URL LABEL: run rls_test.sql; prints its TAP, sets PLAN, PASS and FAILED (the
# descriptions of the failing assertions, one per line).
suite() {
    local out rc
    set +e
    out=$(psql "$1" -X -q -At -v ON_ERROR_STOP=1 -f "$SRC/tests/sql/rls_test.sql" 2>&1)
    rc=$?
    set -e
    sed "s/^/[$2] /" <<<"$out"
    [[ $rc -eq 0 ]] || fail "$2: psql exited $rc running rls_test.sql"
    PLAN=$(grep -m1 -E '^1\.\.[0-9]+$' <<<"$out" | cut -d. -f3 || true)
    [[ -n $PLAN ]] || fail "$2: no TAP plan in the output"
    PASS=$(grep -cE '^ok [0-9]+' <<<"$out" || true)
    FAILED=$(grep -E '^not ok [0-9]+' <<<"$out" | sed -E 's/^not ok [0-9]+ - //' || true)
    local nfail
    nfail=$(grep -cE '^not ok [0-9]+' <<<"$out" || true)
    [[ $((PASS + nfail)) -eq $PLAN ]] || fail "$2: planned $PLAN assertions, ran $((PASS + nfail))"
}

smoke() { # smoke URL LABEL: the v0.9.1 RLS test's equivalent runs without an error
    psql "$1" -X -q -v ON_ERROR_STOP=1 -f "$SRC/tests/sql/v091_rls_smoke.sql" >/dev/null ||
        fail "$2: v091_rls_smoke.sql failed"
    ok "$2: CreatorOS v0.9.1's RLS test (its equivalent) runs without an error"
}

# ---- 1. a fresh database -----------------------------------------------------------------------
new_db "co_rls_fresh_$$"
"$CO_AGENT" migrate --db "$URL" --log-level warn >/dev/null || fail "migrate of a fresh database failed"
pgtap "$URL"
suite "$URL" fresh
[[ -z $FAILED ]] || fail "fresh: $(wc -l <<<"$FAILED") assertions failed:
$FAILED"
ok "fresh: $PASS/$PLAN assertions passed"
FRESH=$PASS
smoke "$URL" fresh

# ---- 2. the production-shaped fixture, adopted ----------------------------------------------------
new_db "co_rls_fixture_$$"
"$SRC/tests/fixtures/production/load.sh" "$URL"
report=$("$CO_AGENT" migrate --db "$URL" --log-level warn) || fail "migrate of the fixture failed"
reported=$(grep -oE '^hole [a-z_]+:' <<<"$report" | sed -E 's/^hole (.*):$/\1/' | sort -u)
[[ -n $reported ]] || fail "migrate reported no hole on the fixture:
$report"
pgtap "$URL"
suite "$URL" fixture
untagged=$(grep -vE '^\[hole:[a-z_]+\] ' <<<"$FAILED" | grep . || true)
[[ -z $untagged ]] || fail "fixture: assertions failed that match no known hole:
$untagged"
failing=$(grep -oE '^\[hole:[a-z_]+\]' <<<"$FAILED" | sed -E 's/^\[hole:(.*)\]$/\1/' | sort -u)
[[ $failing == "$reported" ]] || fail "fixture: the holes the suite finds differ from those migrate reports
  suite:   $(echo $failing)
  migrate: $(echo $reported)"
ok "fixture: the $(wc -l <<<"$FAILED") failing assertions are exactly the reported holes: $(echo $reported)"
smoke "$URL" fixture

"$CO_AGENT" migrate --db "$URL" --harden --log-level warn >/dev/null || fail "migrate --harden failed"
report=$("$CO_AGENT" migrate --db "$URL" --log-level warn) || fail "migrate after --harden failed"
! grep -q '^hole ' <<<"$report" || fail "holes remain after --harden:
$report"
suite "$URL" hardened
[[ -z $FAILED ]] || fail "hardened fixture: $(wc -l <<<"$FAILED") assertions failed:
$FAILED"
ok "hardened fixture: $PASS/$PLAN assertions passed, and migrate reports no hole"
smoke "$URL" hardened

echo "test_rls: $((FRESH + PASS + PASSED)) passed, 0 failed, 0 skipped"
