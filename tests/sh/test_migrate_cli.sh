#!/usr/bin/env bash
# test_migrate_cli.sh -- the migrations from the outside: twice through psql, and `creatoros-agent migrate`.
#
# 1. sql/[0-9]*.sql applied twice with psql in name order (the files are idempotent-safe)
#    and the row fingerprint (bench/fingerprint.sql) runs on the resulting schema.
# 2. `creatoros-agent migrate`: a fresh database migrated, again (nothing to do),
#    --dry-run writing nothing, a password never echoed, and an edited migration refused
#    with its file named. A binary without the verb is a failure.
# Needs CO_TEST_DB (a superuser URL; deploy/test.sh sets it). Drops its databases.
set -euo pipefail

SRC=${CO_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
DBS=()

# shellcheck source=tests/sh/skip_lib.sh
. "$SRC/tests/sh/skip_lib.sh"
OKS=0
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { OKS=$((OKS + 1)); echo "ok: $*"; }

[[ -n ${CO_TEST_DB:-} ]] || fail "CO_TEST_DB is not set: it needs a superuser URL (deploy/test.sh sets it)"
export PGOPTIONS='-c client_min_messages=warning'

db_url() { sed -E "s#^(postgres(ql)?://[^/?]*/)[^?]*#\1$1#" <<<"$CO_TEST_DB"; }
new_db() { # new_db NAME: create it, remember it for cleanup
    psql "$CO_TEST_DB" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $1" >/dev/null
    DBS+=("$1")
}
q() { psql "$1" -X -q -At -v ON_ERROR_STOP=1 -c "$2"; }

cleanup() {
    local rc=$?
    for db in "${DBS[@]}"; do
        psql "$CO_TEST_DB" -X -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    done
    exit "$rc"
}
trap cleanup EXIT INT TERM

files=("$SRC"/sql/[0-9]*.sql)
[[ -e ${files[0]} ]] || fail "no migrations in $SRC/sql"

# ---- 1. psql, twice ----------------------------------------------------------------------
DB=co_mcli_psql_$$
new_db "$DB"
URL=$(db_url "$DB")
for pass in 1 2; do
    for f in "${files[@]}"; do
        psql "$URL" -X -q -v ON_ERROR_STOP=1 -f "$f" >/dev/null || fail "pass $pass: psql -f $f failed"
    done
done
ok "the ${#files[@]} migrations apply twice through psql"
[[ $(q "$URL" "SELECT count(*) FROM pg_policies WHERE schemaname = 'public'") -gt 20 ]] ||
    fail "policies missing after two passes"
out=$(psql "$URL" -X -At -v ON_ERROR_STOP=1 -f "$SRC/bench/fingerprint.sql") ||
    fail "bench/fingerprint.sql failed on the schema"
[[ $out == 0\|0\|0\|0\|0\|0\|0\|* ]] || fail "bench/fingerprint.sql printed '$out' on an empty schema"
ok "bench/fingerprint.sql runs on the schema"

# ---- 2. the migrate verb -------------------------------------------------------------------
[[ -n ${CO_AGENT:-} && -x $CO_AGENT ]] || fail "CO_AGENT is not an executable (deploy/test.sh sets it)"
"$CO_AGENT" migrate --help >/dev/null 2>&1 || fail "$CO_AGENT has no migrate verb"


DB=co_mcli_agent_$$
new_db "$DB"
URL=$(db_url "$DB")
# trust auth ignores the password; it only has to stay out of the output
SECRET="sekrit-$$"
URL_PW="$URL&password=$SECRET"
[[ $URL == *\?* ]] || URL_PW="$URL?password=$SECRET"

out=$("$CO_AGENT" migrate --dry-run --db "$URL_PW" 2>&1) || fail "migrate --dry-run: $out"
[[ $(q "$URL" "SELECT count(*) FROM pg_namespace WHERE nspname = 'creatoros_agent'") -eq 0 ]] ||
    fail "migrate --dry-run wrote to the database"
ok "migrate --dry-run writes nothing"

out=$("$CO_AGENT" migrate --db "$URL_PW" 2>&1) || fail "migrate: $out"
[[ $(q "$URL" "SELECT count(*) FROM creatoros_agent.schema_migrations") -eq ${#files[@]} ]] ||
    fail "migrate did not record ${#files[@]} migrations"
! grep -q "$SECRET" <<<"$out" || fail "migrate printed the password"
ok "migrate applies and records ${#files[@]} migrations"

out=$("$CO_AGENT" migrate --db "$URL_PW" 2>&1) || fail "second migrate: $out"
[[ $(q "$URL" "SELECT count(*) FROM creatoros_agent.schema_migrations") -eq ${#files[@]} ]] ||
    fail "second migrate changed the record"
ok "a second migrate applies nothing"

first=$(basename "${files[0]}")
q "$URL" "UPDATE creatoros_agent.schema_migrations SET checksum = 'x' WHERE version = '$first'" >/dev/null
if out=$("$CO_AGENT" migrate --db "$URL_PW" 2>&1); then
    fail "migrate accepted an edited migration"
fi
grep -q "$first" <<<"$out" || fail "the refusal does not name $first: $out"
! grep -q "$SECRET" <<<"$out" || fail "migrate printed the password"
ok "migrate refuses an edited migration, naming $first"
summary_line test_migrate_cli "$OKS" 0
