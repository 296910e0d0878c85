#!/usr/bin/env bash
# test_rls.sh -- the RLS policies and the agent role, checked with pgTAP in a fresh database.
#
# Creates a database in the CO_TEST_DB cluster, applies the migrations with
# `creatoros-agent migrate`, installs pgtap, runs tests/sql/rls_test.sql and prints its TAP.
# Fails on any `not ok`, an unmet plan or a SQL error; drops the database on every path.
# Needs CO_TEST_DB, CO_AGENT (deploy/test.sh sets them) and postgresql-15-pgtap.
set -euo pipefail

SRC=${CO_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
DB=co_rls_$$

fail() { echo "FAIL: $*" >&2; exit 1; }

[[ -n ${CO_TEST_DB:-} ]] || fail "CO_TEST_DB is not set: it needs a superuser URL (deploy/test.sh sets it)"
export PGOPTIONS='-c client_min_messages=warning'

# The CO_TEST_DB URL with another database name (the path of a postgresql:// URL).
db_url() { sed -E "s#^(postgres(ql)?://[^/?]*/)[^?]*#\1$1#" <<<"$CO_TEST_DB"; }
URL=$(db_url "$DB")

cleanup() {
    local rc=$?
    psql "$CO_TEST_DB" -X -q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    exit "$rc"
}
trap cleanup EXIT INT TERM

psql "$CO_TEST_DB" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $DB" >/dev/null

[[ -n ${CO_AGENT:-} && -x $CO_AGENT ]] || fail "CO_AGENT is not an executable (deploy/test.sh sets it)"
echo "# migrations applied by $CO_AGENT migrate"
"$CO_AGENT" migrate --db "$URL" || fail "creatoros-agent migrate failed"
psql "$URL" -X -q -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION IF NOT EXISTS pgtap' >/dev/null ||
    fail "cannot install pgtap (apt-get install postgresql-15-pgtap)"

set +e
out=$(psql "$URL" -X -q -At -v ON_ERROR_STOP=1 -f "$SRC/tests/sql/rls_test.sql" 2>&1)
rc=$?
set -e
echo "$out"

[[ $rc -eq 0 ]] || fail "psql exited $rc running rls_test.sql"
plan=$(grep -m1 -E '^1\.\.[0-9]+$' <<<"$out" | cut -d. -f3 || true)
[[ -n $plan ]] || fail "no TAP plan in the output"
passed=$(grep -cE '^ok [0-9]+' <<<"$out" || true)
failed=$(grep -cE '^not ok' <<<"$out" || true)
[[ $failed -eq 0 ]] || fail "$failed of $plan pgTAP assertions failed"
[[ $passed -eq $plan ]] || fail "planned $plan assertions, $passed passed"
[[ $passed -gt 0 ]] || fail "no pgTAP assertion ran"
! grep -q '^# Looks like' <<<"$out" || fail "pgTAP: $(grep '^# Looks like' <<<"$out")"
echo "# rls: $passed/$plan assertions passed"
echo "test_rls: $passed passed, $failed failed, 0 skipped"
