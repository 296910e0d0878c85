#!/usr/bin/env bash
# test_rls.sh -- the RLS suite (tests/sql/rls_test.sql, pgTAP) on both kinds of database.
#
#   rls_fresh_database_passes  an empty database migrated by `creatoros-agent migrate`: every
#       assertion passes, and the equivalent of CreatorOS v0.9.1's own RLS test
#       (tests/sql/v091_rls_smoke.sql) runs
#   rls_fixture_fails_only_reported_holes  the production-shaped fixture
#       (tests/fixtures/production/) adopted by `migrate`: the assertions that fail are
#       exactly those tagged with a hole `migrate` reported (the set of their [hole:ID] tags
#       equals the set of reported holes, and nothing untagged fails); v091_rls_smoke runs
#   rls_hardened_fixture_passes  after `migrate --harden` every assertion passes and migrate
#       reports no hole; v091_rls_smoke runs
# A SQL error or an unmet plan fails. Each passing pgTAP assertion counts as a check.
# Needs CO_TEST_DB (a superuser URL; deploy/test.sh sets it), CO_AGENT and postgresql-15-pgtap.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/sh/lib.sh
. "$HERE/lib.sh"
lib_init test_rls CO_TEST_DB CO_AGENT

pgtap() {
    q "$1" 'CREATE EXTENSION IF NOT EXISTS pgtap' >/dev/null ||
        { fail "cannot install pgtap (apt-get install postgresql-15-pgtap)"; return 1; }
}

# suite URL LABEL: run rls_test.sql (pgTAP); its TAP prefixed with LABEL; sets PLAN, NPASS and
# FAILED (the descriptions of the failing assertions, one per line). 1 when it did not run
# through (a SQL error, no plan, an unmet plan).
suite() {
    local out rc nfail
    pgtap "$1" || return 1
    out=$(psql "$1" -X -q -At -v ON_ERROR_STOP=1 -f "$CO_SOURCE_DIR/tests/sql/rls_test.sql" 2>&1)
    rc=$?
    sed "s/^/[$2] /" <<<"$out"
    if [[ $rc -ne 0 ]]; then
        fail "$2: psql exited $rc running rls_test.sql"
        return 1
    fi
    PLAN=$(grep -m1 -E '^1\.\.[0-9]+$' <<<"$out" | cut -d. -f3)
    NPASS=$(grep -cE '^ok [0-9]+' <<<"$out")
    FAILED=$(grep -E '^not ok [0-9]+' <<<"$out" | sed -E 's/^not ok [0-9]+ - //')
    nfail=$(grep -cE '^not ok [0-9]+' <<<"$out")
    check "$2: the TAP plan is there and met ($((NPASS + nfail)) of ${PLAN:-?} assertions ran)" \
        test "${PLAN:-0}" -gt 0 -a $((NPASS + nfail)) -eq "${PLAN:-0}"
}

# all_pass LABEL: after suite, every assertion passed (each counts).
all_pass() {
    local i
    for ((i = 0; i < NPASS; i++)); do pass; done
    assert_eq "$1: no assertion failed ($NPASS/$PLAN passed)" "" "$FAILED"
}

smoke() { # smoke URL LABEL: the v0.9.1 RLS test's equivalent runs without an error
    check "$2: CreatorOS v0.9.1's RLS test (its equivalent) runs without an error" \
        psql "$1" -X -q -v ON_ERROR_STOP=1 -f "$CO_SOURCE_DIR/tests/sql/v091_rls_smoke.sql" -o /dev/null
}

# fixture_holes: the production fixture adopted; sets URL and REPORTED (the holes migrate
# reported, sorted).
fixture_holes() {
    prod_db "$1" --no-migrate || return 1
    local report
    report=$("$CO_AGENT" migrate --db "$URL" --log-level warn) ||
        { fail "migrate of the fixture failed"; return 1; }
    REPORTED=$(grep -oE '^hole [a-z_]+:' <<<"$report" | sed -E 's/^hole (.*):$/\1/' | sort -u)
    check "migrate reports holes on the fixture" test -n "$REPORTED"
}

rls_fresh_database_passes() {
    test_begin "fresh: a database migrate made"
    new_db fresh || return
    suite "$URL" fresh || return
    all_pass fresh
    smoke "$URL" fresh
}

rls_fixture_fails_only_reported_holes() {
    test_begin "fixture: the production-shaped database, adopted"
    fixture_holes fixture || return
    suite "$URL" fixture || return
    local untagged failing
    untagged=$(grep -vE '^\[hole:[a-z_]+\] ' <<<"$FAILED" | grep .)
    assert_eq "fixture: no failing assertion matches no known hole" "" "$untagged"
    failing=$(grep -oE '^\[hole:[a-z_]+\]' <<<"$FAILED" | sed -E 's/^\[hole:(.*)\]$/\1/' | sort -u)
    assert_eq "fixture: the holes the suite finds are those migrate reports" "$REPORTED" "$failing"
    smoke "$URL" fixture
}

rls_hardened_fixture_passes() {
    test_begin "hardened: the fixture after migrate --harden"
    fixture_holes hardened || return
    local report
    "$CO_AGENT" migrate --db "$URL" --harden --log-level warn >/dev/null || { fail "migrate --harden failed"; return; }
    report=$("$CO_AGENT" migrate --db "$URL" --log-level warn) || { fail "migrate after --harden failed"; return; }
    assert_eq "no hole remains after --harden" "" "$(grep '^hole ' <<<"$report")"
    suite "$URL" hardened || return
    all_pass hardened
    smoke "$URL" hardened
}

lib_run rls_fresh_database_passes rls_fixture_fails_only_reported_holes rls_hardened_fixture_passes
lib_finish
