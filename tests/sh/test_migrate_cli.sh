#!/usr/bin/env bash
# test_migrate_cli.sh -- `creatoros-agent migrate` from the outside, on fresh databases.
#
# 1. A fresh database: --dry-run writes nothing, migrate applies and records every migration,
#    reports no hole, a second run applies nothing, a password is never echoed, an edited
#    migration is refused with its file named; --revert is refused there; --harden and --revert
#    together are a usage error.
# 2. The schema it builds is production's: the columns (order, type, nullability, default),
#    constraints (checks, keys, foreign-key actions), indexes and triggers of the shared tables
#    and the view's columns equal those of the production-shaped fixture
#    (tests/fixtures/production/), but for the differences docs/SCHEMA.md lists.
# 3. A database set up by an earlier development version: migrate and status refuse it, naming
#    what to do.
# Needs CO_TEST_DB (a superuser URL; deploy/test.sh sets it) and CO_AGENT. Drops its databases.
set -euo pipefail

SRC=${CO_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
DBS=()
PASSED=0

# shellcheck source=tests/sh/skip_lib.sh
. "$SRC/tests/sh/skip_lib.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { PASSED=$((PASSED + 1)); echo "ok: $*"; }

[[ -n ${CO_TEST_DB:-} ]] || fail "CO_TEST_DB is not set: it needs a superuser URL (deploy/test.sh sets it)"
[[ -n ${CO_AGENT:-} && -x $CO_AGENT ]] || fail "CO_AGENT is not an executable (deploy/test.sh sets it)"
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

# ---- 1. a fresh database ---------------------------------------------------------------------
DB=co_mcli_fresh_$$
new_db "$DB"
URL=$(db_url "$DB")
# trust auth ignores the password; it only has to stay out of the output
SECRET="sekrit-$$"
URL_PW="$URL&password=$SECRET"
[[ $URL == *\?* ]] || URL_PW="$URL?password=$SECRET"

out=$("$CO_AGENT" migrate --dry-run --db "$URL_PW" 2>&1) || fail "migrate --dry-run: $out"
[[ $(q "$URL" "SELECT count(*) FROM pg_namespace WHERE nspname IN ('creatoros_agent', 'auth')") -eq 0 ]] ||
    fail "migrate --dry-run wrote to the database"
grep -q "would apply ${#files[@]} migrations ($(basename "${files[0]}")" <<<"$out" ||
    fail "migrate --dry-run does not list the ${#files[@]} migrations: $out"
ok "migrate --dry-run on a fresh database lists ${#files[@]} migrations and writes nothing"

out=$("$CO_AGENT" migrate --db "$URL_PW" 2>&1) || fail "migrate: $out"
[[ $(q "$URL" "SELECT count(*) FROM creatoros_agent.schema_migrations") -eq ${#files[@]} ]] ||
    fail "migrate did not record ${#files[@]} migrations"
! grep -q "$SECRET" <<<"$out" || fail "migrate printed the password"
! grep -q '^hole ' <<<"$out" || fail "a fresh database has a known hole: $out"
ok "migrate applies and records ${#files[@]} migrations on a fresh database, with no known hole"

out=$("$CO_AGENT" migrate --db "$URL_PW" 2>&1) || fail "second migrate: $out"
[[ $(q "$URL" "SELECT count(*) FROM creatoros_agent.schema_migrations") -eq ${#files[@]} ]] ||
    fail "second migrate changed the record"
grep -q "nothing to apply, ${#files[@]} of ${#files[@]} migrations already applied" <<<"$out" ||
    fail "second migrate: $out"
ok "a second migrate applies nothing"

set +e
out=$("$CO_AGENT" migrate --revert --db "$URL" 2>&1)
rc=$?
set -e
[[ $rc -eq 1 ]] || fail "migrate --revert on a database migrate built exits $rc, not 1: $out"
grep -q "drop the database instead" <<<"$out" || fail "migrate --revert: $out"
ok "migrate --revert refuses a database migrate built (exit 1)"

set +e
out=$("$CO_AGENT" migrate --harden --revert --db "$URL" 2>&1)
rc=$?
set -e
[[ $rc -eq 2 ]] || fail "migrate --harden --revert exits $rc, not 2: $out"
grep -q -- "--harden and --revert" <<<"$out" || fail "migrate --harden --revert: $out"
ok "--harden with --revert is a usage error (exit 2)"

first=$(basename "${files[0]}")
q "$URL" "UPDATE creatoros_agent.schema_migrations SET checksum = 'x' WHERE version = '$first'" >/dev/null
if out=$("$CO_AGENT" migrate --db "$URL_PW" 2>&1); then
    fail "migrate accepted an edited migration"
fi
grep -q "$first" <<<"$out" || fail "the refusal does not name $first: $out"
! grep -q "$SECRET" <<<"$out" || fail "migrate printed the password"
ok "migrate refuses an edited migration, naming $first"

# ---- 2. the fresh schema is production's -------------------------------------------------------
# One line per property of the shared tables and the view, names and all.
SHAPE_SQL=$(cat <<'SQL'
WITH t(tbl) AS (VALUES ('minds'), ('user_profiles'), ('tags'), ('audience_profiles'),
                       ('content_projects'), ('contents'), ('content_minds'), ('content_tags'),
                       ('v_contents_with_creators')),
rel AS (SELECT c.oid, c.relname FROM t JOIN pg_class c ON c.oid = to_regclass('public.' || t.tbl))
SELECT line FROM (
    SELECT format('column %s.%s #%s %s%s%s', r.relname, a.attname, a.attnum,
                  format_type(a.atttypid, a.atttypmod),
                  CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END,
                  coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')) AS line
    FROM rel r
    JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = r.oid AND d.adnum = a.attnum
    UNION ALL
    SELECT format('constraint %s.%s %s', r.relname, con.conname, pg_get_constraintdef(con.oid))
    FROM rel r JOIN pg_constraint con ON con.conrelid = r.oid
    UNION ALL
    SELECT format('index %s', pg_get_indexdef(i.indexrelid))
    FROM rel r JOIN pg_index i ON i.indrelid = r.oid
    UNION ALL
    SELECT format('trigger %s', pg_get_triggerdef(tg.oid))
    FROM pg_trigger tg
    WHERE NOT tg.tgisinternal
      AND (tg.tgrelid IN (SELECT oid FROM rel) OR tg.tgrelid = 'auth.users'::regclass)
    UNION ALL
    SELECT format('view %s', regexp_replace(pg_get_viewdef('public.v_contents_with_creators'::regclass),
                                            '\s+', ' ', 'g'))
    UNION ALL
    SELECT format('comment %s %s', r.relname, obj_description(r.oid, 'pg_class')) FROM rel r
    WHERE obj_description(r.oid, 'pg_class') IS NOT NULL
) x ORDER BY line COLLATE "C"
SQL
)
DB=co_mcli_prod_$$
new_db "$DB"
PURL=$(db_url "$DB")
"$SRC/tests/fixtures/production/load.sh" "$PURL" --no-rows
"$CO_AGENT" migrate --db "$PURL" --log-level warn >/dev/null || fail "migrate of the fixture failed"
fresh_shape=$(q "$URL" "$SHAPE_SQL")
prod_shape=$(q "$PURL" "$SHAPE_SQL")
[[ $(wc -l <<<"$fresh_shape") -gt 100 ]] || fail "the shape query found too little: $fresh_shape"
# What production has and a fresh database does not (docs/SCHEMA.md, "Differences"): the
# foreign key to the app's job_executions, and the trigger that raises a NOTICE per AI row.
expected_diff=$(cat <<'DIFF'
> constraint contents.contents_generation_execution_id_fkey FOREIGN KEY (generation_execution_id) REFERENCES job_executions(id)
> trigger CREATE TRIGGER trg_validate_ai_generated BEFORE INSERT OR UPDATE ON public.contents FOR EACH ROW EXECUTE FUNCTION validate_ai_generated_fields()
DIFF
)
actual_diff=$(diff <(echo "$fresh_shape") <(echo "$prod_shape") | grep '^[<>]' || true)
[[ $actual_diff == "$expected_diff" ]] || fail "the fresh schema differs from production's beyond what docs/SCHEMA.md lists:
$(diff <(echo "$expected_diff") <(echo "$actual_diff") || true)"
ok "the fresh schema's $(wc -l <<<"$fresh_shape") columns, constraints, indexes, triggers and view are production's, but for the 2 listed differences"

# ---- 3. a database set up by an earlier development version -----------------------------------
DB=co_mcli_old_$$
new_db "$DB"
OURL=$(db_url "$DB")
q "$OURL" "CREATE SCHEMA creatoros_agent;
           CREATE TABLE creatoros_agent.schema_migrations (version text PRIMARY KEY,
             checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
           INSERT INTO creatoros_agent.schema_migrations (version, checksum)
           VALUES ('0001_creatoros_schema.sql', 'x'), ('0002_rls.sql', 'y')" >/dev/null
before=$(q "$OURL" "SELECT count(*) FROM pg_class")
set +e
out=$("$CO_AGENT" migrate --db "$OURL" 2>&1)
rc=$?
set -e
[[ $rc -eq 1 ]] || fail "migrate of an earlier development layout exits $rc, not 1: $out"
grep -q "earlier development version of creatoros-agent" <<<"$out" || fail "migrate: $out"
grep -q "migrate a new, empty database" <<<"$out" || fail "migrate does not say what to do: $out"
[[ $(q "$OURL" "SELECT count(*) FROM pg_class") -eq $before ]] || fail "migrate changed the old database"
set +e
out=$("$CO_AGENT" status --db "$OURL" --root "$SRC/tests/fixtures" 2>&1)
rc=$?
set -e
[[ $rc -ne 0 ]] && grep -q "earlier development version" <<<"$out" ||
    fail "status on an earlier development layout (exit $rc): $out"
ok "migrate and status refuse a database of an earlier development version, saying what to do"

summary_line test_migrate_cli "$PASSED" 0
