#!/usr/bin/env bash
# test_migrate_cli.sh -- `creatoros-agent migrate` from the outside, on fresh databases.
#
#   migrate_cli_fresh_applies_once  a fresh database: --dry-run writes nothing, migrate applies
#       and records every migration, reports no hole, a second run applies nothing, a password
#       is never echoed, an edited migration is refused with its file named; --revert is
#       refused there; --harden and --revert together are a usage error
#   migrate_cli_fresh_schema_is_production  the schema it builds is production's: the columns
#       (order, type, nullability, default), constraints (checks, keys, foreign-key actions),
#       indexes and triggers of the shared tables and the view's columns equal those of the
#       production-shaped fixture (tests/fixtures/production/), but for the differences
#       docs/SCHEMA.md lists
#   migrate_cli_earlier_layout_refused  a database set up by an earlier development version:
#       migrate and status refuse it, naming what to do
# Needs CO_TEST_DB (a superuser URL; deploy/test.sh sets it) and CO_AGENT.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/sh/lib.sh
. "$HERE/lib.sh"
lib_init test_migrate_cli CO_TEST_DB CO_AGENT

SQL_FILES=("$CO_SOURCE_DIR"/sql/[0-9]*.sql)
NMIG=${#SQL_FILES[@]}
FIRST=$(basename "${SQL_FILES[0]}")

# migrations URL: how many the database records.
migrations() { qcmp "$1" "SELECT count(*) FROM creatoros_agent.schema_migrations"; }

# ---- 1. a fresh database ---------------------------------------------------------------------
migrate_cli_fresh_applies_once() {
    test_begin "a fresh database: applied once, recorded, refused when edited"
    check "there are migrations in sql/" test -e "${SQL_FILES[0]}" || return
    new_db fresh --no-migrate || return
    # trust auth ignores the password; it only has to stay out of the output
    local secret="sekrit-$$" url_pw
    url_pw="$URL&password=$secret"
    [[ $URL == *\?* ]] || url_pw="$URL?password=$secret"

    agent migrate --dry-run --db "$url_pw"
    assert_eq "migrate --dry-run exits 0" 0 "$AG_RC"
    assert_sql "migrate --dry-run writes nothing" "$URL" \
        "SELECT count(*) FROM pg_namespace WHERE nspname IN ('creatoros_agent', 'auth')" 0
    assert_contains "migrate --dry-run lists the $NMIG migrations" "would apply $NMIG migrations ($FIRST" \
        "$AG_OUT$AG_ERR"

    agent migrate --db "$url_pw"
    assert_eq "migrate exits 0" 0 "$AG_RC"
    assert_eq "migrate records $NMIG migrations" "$NMIG" "$(migrations "$URL")"
    assert_not_contains "migrate does not print the password" "$secret" "$AG_OUT$AG_ERR"
    assert_not_contains "a fresh database has no known hole" $'\nhole ' $'\n'"$AG_OUT"

    agent migrate --db "$url_pw"
    assert_eq "a second migrate exits 0" 0 "$AG_RC"
    assert_eq "a second migrate changes the record not" "$NMIG" "$(migrations "$URL")"
    assert_contains "a second migrate applies nothing" \
        "nothing to apply, $NMIG of $NMIG migrations already applied" "$AG_OUT$AG_ERR"

    agent migrate --revert --db "$URL"
    assert_eq "migrate --revert refuses a database migrate built (exit 1)" 1 "$AG_RC"
    assert_contains "it says to drop the database instead" "drop the database instead" "$AG_OUT$AG_ERR"

    agent migrate --harden --revert --db "$URL"
    assert_eq "--harden with --revert is a usage error (exit 2)" 2 "$AG_RC"
    assert_contains "naming both" "--harden and --revert" "$AG_OUT$AG_ERR"

    q "$URL" "UPDATE creatoros_agent.schema_migrations SET checksum = 'x' WHERE version = '$FIRST'" >/dev/null
    agent migrate --db "$url_pw"
    check "migrate refuses an edited migration (exit $AG_RC)" test "$AG_RC" -ne 0
    assert_contains "the refusal names $FIRST" "$FIRST" "$AG_OUT$AG_ERR"
    assert_not_contains "the refusal does not print the password" "$secret" "$AG_OUT$AG_ERR"
}

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
# What production has and a fresh database does not (docs/SCHEMA.md, "Differences"): the
# foreign key to the app's job_executions, and the trigger that raises a NOTICE per AI row.
EXPECTED_DIFF=$(cat <<'DIFF'
> constraint contents.contents_generation_execution_id_fkey FOREIGN KEY (generation_execution_id) REFERENCES job_executions(id)
> trigger CREATE TRIGGER trg_validate_ai_generated BEFORE INSERT OR UPDATE ON public.contents FOR EACH ROW EXECUTE FUNCTION validate_ai_generated_fields()
DIFF
)

migrate_cli_fresh_schema_is_production() {
    test_begin "the fresh schema is production's, but for the listed differences"
    local fresh prod fresh_shape prod_shape actual_diff
    new_db shape_fresh || return
    fresh=$URL
    prod_db shape_prod --no-rows || return
    prod=$URL
    fresh_shape=$(qcmp "$fresh" "$SHAPE_SQL")
    prod_shape=$(qcmp "$prod" "$SHAPE_SQL")
    check "the shape query finds the schema ($(wc -l <<<"$fresh_shape") lines)" \
        test "$(wc -l <<<"$fresh_shape")" -gt 100
    actual_diff=$(diff <(echo "$fresh_shape") <(echo "$prod_shape") | grep '^[<>]')
    assert_eq "the fresh schema's columns, constraints, indexes, triggers and view are production's, but for the 2 listed differences" \
        "$EXPECTED_DIFF" "$actual_diff"
}

# ---- 3. a database set up by an earlier development version -----------------------------------
migrate_cli_earlier_layout_refused() {
    test_begin "a database of an earlier development version is refused, saying what to do"
    local before
    new_db old --no-migrate || return
    q "$URL" "CREATE SCHEMA creatoros_agent;
              CREATE TABLE creatoros_agent.schema_migrations (version text PRIMARY KEY,
                checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
              INSERT INTO creatoros_agent.schema_migrations (version, checksum)
              VALUES ('0001_creatoros_schema.sql', 'x'), ('0002_rls.sql', 'y')" >/dev/null
    before=$(qcmp "$URL" "SELECT count(*) FROM pg_class")
    agent migrate --db "$URL"
    assert_eq "migrate of an earlier development layout exits 1" 1 "$AG_RC"
    assert_contains "it names the earlier version" "earlier development version of creatoros-agent" "$AG_OUT$AG_ERR"
    assert_contains "it says what to do" "migrate a new, empty database" "$AG_OUT$AG_ERR"
    assert_eq "migrate changed nothing" "$before" "$(qcmp "$URL" "SELECT count(*) FROM pg_class")"
    agent status --db "$URL" --root "$CO_SOURCE_DIR/tests/fixtures"
    check "status refuses it (exit $AG_RC)" test "$AG_RC" -ne 0
    assert_contains "status names the earlier version" "earlier development version" "$AG_OUT$AG_ERR"
}

lib_run migrate_cli_fresh_applies_once migrate_cli_fresh_schema_is_production \
    migrate_cli_earlier_layout_refused
lib_finish
