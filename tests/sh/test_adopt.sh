#!/usr/bin/env bash
# test_adopt.sh -- `creatoros-agent migrate` on an existing CreatorOS database: the
# production-shaped fixture (tests/fixtures/production/), adopted, never rebuilt.
#
#   adopt_creates_only_what_dry_run_listed
#             migrate creates exactly what --dry-run listed (and --dry-run writes nothing), only
#             the agent's own objects; every app policy, grant, function, trigger and the view are
#             as they were (catalog snapshots); each known hole is reported, one line each;
#             a second run creates nothing
#   adopt_problems_listed_nothing_changed
#             a database that lacks what the agent relies on: exit 1, one message listing each
#             problem, nothing changed (pg_dump --schema-only before = after)
#   adopt_harden_then_revert_restores_schema
#             --harden lists each change and closes every hole; the app's policies stay;
#             --revert after migrate, --harden and rows written by the agent: pg_dump
#             --schema-only equals the one before the first migrate, the rows stay
#   adopt_agent_role_limits
#             connected as creatoros_agent, on the adopted fixture and on a fresh database:
#             it cannot change an ai_generated = false row, rename a mind, touch or move another
#             mind's project, read user_profiles; it writes its claimed course
#   adopt_backfill_as_agent_role
#             a backfill connected as creatoros_agent writes a course, on both databases
#
# Needs CO_TEST_DB, CO_AGENT, CO_SOURCE_DIR (deploy/test.sh exports them).
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
. "$HERE/lib.sh"
lib_init test_adopt CO_TEST_DB CO_AGENT jq pg_dump

# schema_dump URL: pg_dump --schema-only without the lines that differ on every run.
schema_dump() {
    pg_dump --schema-only "$1" | grep -vE '^\\(un)?restrict '
}

# migrate_as_listed LABEL WOULD DID ARGS...: `migrate ARGS --dry-run` on $URL exits 0 and
# changes nothing (pg_dump --schema-only), then `migrate ARGS` exits 0 and does exactly what
# the dry run listed: its "WOULD ..." lines are the "DID ..." lines, in DONE (sorted).
# DRY_OUT keeps the dry run's stdout.
migrate_as_listed() {
    local label=$1 would_w=$2 did_w=$3 dump would
    shift 3
    dump=$(schema_dump "$URL")
    agent migrate --db "$URL" "$@" --dry-run --log-format json
    assert_eq "$label --dry-run exits 0" 0 "$AG_RC"
    assert_eq "$label --dry-run changes nothing (pg_dump --schema-only)" "$dump" "$(schema_dump "$URL")"
    would=$(sed -n "s/^$would_w //p" <<<"$AG_OUT" | sort)
    DRY_OUT=$AG_OUT
    agent migrate --db "$URL" "$@" --log-format json
    assert_eq "$label exits 0" 0 "$AG_RC"
    DONE=$(sed -n "s/^$did_w //p" <<<"$AG_OUT" | sort)
    assert_eq "$label did exactly what its dry run listed" "$would" "$DONE"
}

# What the app owns, line by line: its policies, the privileges of every object of public and
# auth (the agent's own entries left out), its functions, triggers, RLS flags, the view, the
# default privileges. migrate must leave every line as it was.
APP_SNAPSHOT_SQL=$(cat <<'SQL'
WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname IN ('public', 'auth', 'extensions'))
SELECT line FROM (
    SELECT format('policy %s.%s %s %s to=%s using=%s check=%s', c.relname, p.polname, p.polcmd,
                  p.polpermissive,
                  (SELECT string_agg(CASE WHEN r = 0 THEN 'public' ELSE r::regrole::text END, ',')
                   FROM unnest(p.polroles) r),
                  pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
           AS line
    FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
    WHERE p.polname !~ '_agent$'
    UNION ALL
    SELECT format('acl %s %s', c.oid::regclass,
                  array_to_string(ARRAY(SELECT a::text FROM unnest(c.relacl) a
                                        WHERE a::text !~ '^creatoros_agent='), ','))
    FROM pg_class c WHERE c.relnamespace IN (SELECT oid FROM ns) AND c.relkind IN ('r', 'v', 'S')
    UNION ALL
    SELECT format('column acl %s.%s %s', c.oid::regclass, a.attname, acl)
    FROM pg_class c
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0,
    LATERAL (SELECT array_to_string(ARRAY(SELECT x::text FROM unnest(a.attacl) x
                                          WHERE x::text !~ '^creatoros_agent='), ',') AS acl) l
    WHERE c.relnamespace IN (SELECT oid FROM ns) AND l.acl <> ''
    UNION ALL
    SELECT format('function %s definer=%s config=%s acl=%s body=%s', p.oid::regprocedure,
                  p.prosecdef, p.proconfig, p.proacl, md5(p.prosrc))
    FROM pg_proc p WHERE p.pronamespace IN (SELECT oid FROM ns)
    UNION ALL
    SELECT format('trigger %s', pg_get_triggerdef(t.oid))
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE NOT t.tgisinternal AND c.relnamespace IN (SELECT oid FROM ns)
    UNION ALL
    SELECT format('relation %s kind=%s rls=%s force=%s options=%s', c.oid::regclass, c.relkind,
                  c.relrowsecurity, c.relforcerowsecurity, c.reloptions)
    FROM pg_class c WHERE c.relnamespace IN (SELECT oid FROM ns) AND c.relkind IN ('r', 'v', 'S')
    UNION ALL
    SELECT format('view %s %s', c.oid::regclass, pg_get_viewdef(c.oid))
    FROM pg_class c WHERE c.relnamespace IN (SELECT oid FROM ns) AND c.relkind = 'v'
    UNION ALL
    SELECT format('schema %s %s', nspname, nspacl) FROM pg_namespace WHERE oid IN (SELECT oid FROM ns)
    UNION ALL
    SELECT format('default acl %s %s %s', defaclrole::regrole, defaclobjtype, defaclacl)
    FROM pg_default_acl
) x ORDER BY line COLLATE "C"
SQL
)

# Objects of public (relations, functions, policies) by name: what migrate may add there.
PUBLIC_OBJECTS_SQL="SELECT string_agg(o, E'\n' ORDER BY o COLLATE \"C\") FROM (
    SELECT 'relation ' || relname AS o FROM pg_class WHERE relnamespace = 'public'::regnamespace
    UNION ALL SELECT 'function ' || proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace
    UNION ALL SELECT 'policy ' || polname FROM pg_policy) x"

ROWS_SQL="SELECT (SELECT count(*) FROM minds) || ' ' || (SELECT count(*) FROM tags) || ' ' ||
    (SELECT count(*) FROM content_projects) || ' ' || (SELECT count(*) FROM contents) || ' ' ||
    (SELECT count(*) FROM content_minds) || ' ' || (SELECT count(*) FROM content_tags) || ' ' ||
    (SELECT md5(string_agg(c::text, ',' ORDER BY c.id)) FROM contents c)"

HOLES="api_privileges audience_profiles_writable definer_executable_by_anon tags_rls user_profiles_writable view_owner_rights"

# The agent's role connected as itself (trust authentication on the test cluster).
as_agent_url() {
    sed -E 's#([?&])user=[^&]*#\1user=creatoros_agent#' <<<"$1"
}

# =================================================================================================
adopt_creates_only_what_dry_run_listed() {
    test_begin "adopt: only the agent's objects, exactly as --dry-run listed; the app's untouched"
    prod_db adopt --no-migrate || return
    local snap0 objs0 objs1 rows0 created
    snap0=$(qcmp "$URL" "$APP_SNAPSHOT_SQL")
    objs0=$(qcmp "$URL" "$PUBLIC_OBJECTS_SQL")
    rows0=$(qcmp "$URL" "$ROWS_SQL")

    migrate_as_listed migrate "would create" created
    created=$DONE
    assert_contains "it created the agent's schema" "schema creatoros_agent" "$created"
    assert_contains "it created the course claims" "table creatoros_agent.courses" "$created"
    assert_contains "it created the agent's policies" "policy contents_update_agent on public.contents" "$created"
    assert_contains "it created the agent's index" "index idx_contents_project_id_agent on public.contents" "$created"
    assert_match "it granted the agent its columns" '^privileges for creatoros_agent on public.contents: SELECT, INSERT \(slug' "$created"
    assert_eq "every app policy, grant, function, trigger and the view are as they were" \
        "$snap0" "$(qcmp "$URL" "$APP_SNAPSHOT_SQL")"
    objs1=$(qcmp "$URL" "$PUBLIC_OBJECTS_SQL")
    assert_eq "in public, nothing of the app's is gone" "" "$(comm -23 <(echo "$objs0") <(echo "$objs1"))"
    assert_eq "in public, only the agent's 19 policies and its index are new" \
        "19|relation idx_contents_project_id_agent" \
        "$(comm -13 <(echo "$objs0") <(echo "$objs1") | grep -cE '^policy [a-z_]+_(select|insert|update|delete)_agent$')|$(comm -13 <(echo "$objs0") <(echo "$objs1") | grep -v '^policy ')"
    assert_eq "19 policies for the agent's role, and no other" 19 \
        "$(qcmp "$URL" "SELECT count(*) FROM pg_policy WHERE polname ~ '_agent$' AND polroles = ARRAY['creatoros_agent'::regrole::oid]")"
    assert_eq "no row changed" "$rows0" "$(qcmp "$URL" "$ROWS_SQL")"
    # each known hole, one line each, with its fix
    assert_eq "the known holes, one line each" "$HOLES" \
        "$(grep -oE '^hole [a-z_]+:' <<<"$AG_OUT" | sed -E 's/^hole (.*):$/\1/' | sort | tr '\n' ' ' | sed 's/ $//')"
    assert_eq "each hole line names its fix" 6 "$(grep -cE '^hole [a-z_]+: .+; fix: .+' <<<"$AG_OUT")"
    assert_eq "--dry-run reported the same holes" "$(grep '^hole ' <<<"$DRY_OUT" | sort)" \
        "$(grep '^hole ' <<<"$AG_OUT" | sort)"
    assert_match "the summary says what closes them" '6 known holes in the policies \(migrate --harden closes them\)' "$AG_OUT"
    assert_eq "the v0.9.1 migrations are not recorded" \
        "0010_agent_state.sql,0011_agent_role.sql" \
        "$(qcmp "$URL" "SELECT string_agg(version, ',' ORDER BY version) FROM creatoros_agent.schema_migrations")"

    agent migrate --db "$URL" --log-format json
    assert_eq "a second migrate exits 0" 0 "$AG_RC"
    assert_eq "a second migrate creates nothing" "" "$(grep '^created ' <<<"$AG_OUT")"
    assert_eq "a second migrate reports the holes again" 6 "$(grep -c '^hole ' <<<"$AG_OUT")"
    assert_eq "still, every app object is as it was" "$snap0" "$(qcmp "$URL" "$APP_SNAPSHOT_SQL")"
}

# =================================================================================================
adopt_problems_listed_nothing_changed() {
    test_begin "problems: each one listed in one message, nothing changed"
    prod_db problems --no-migrate || return
    local dump0 dry msg p
    q "$URL" "ALTER TABLE public.tags RENAME COLUMN name TO label;
              ALTER TABLE public.contents DROP COLUMN sequence_order;
              ALTER TABLE public.content_projects ALTER COLUMN project_metadata DROP DEFAULT,
                  ALTER COLUMN project_metadata TYPE text;
              ALTER TABLE public.audience_profiles DROP CONSTRAINT audience_profiles_slug_key" >/dev/null ||
        fail "cannot break the fixture"
    dump0=$(schema_dump "$URL")
    for dry in "" --dry-run; do
        agent migrate --db "$URL" --log-format json $dry
        assert_eq "migrate $dry exits 1" 1 "$AG_RC"
        assert_eq "migrate $dry prints nothing on stdout" "" "$AG_OUT"
        assert_eq "migrate $dry logs one error line" 1 "$(jq -c 'select(.level == "error")' <<<"$AG_ERR" | wc -l)"
        msg=$(jq -r 'select(.level == "error") | .error + " :: " + .problems' <<<"$AG_ERR")
        assert_contains "migrate $dry counts the problems" "(6 problems); nothing was changed" "$msg"
        for p in "public.tags has no column name" \
            "public.tags.label is NOT NULL without a default" \
            "public.tags has no unique key on (name)" \
            "public.contents has no column sequence_order" \
            "public.content_projects.project_metadata is text, the agent writes jsonb" \
            "public.audience_profiles has no unique key on (slug)"; do
            assert_contains "migrate $dry lists: $p" "$p" "$msg"
        done
        assert_eq "migrate $dry changed nothing (pg_dump --schema-only)" "$dump0" "$(schema_dump "$URL")"
    done
}

# =================================================================================================
adopt_harden_then_revert_restores_schema() {
    test_begin "harden, then revert: the schema exactly as before the first migrate, the rows kept"
    prod_db revert --no-migrate || return
    local dump0 snap0 c AU rows
    dump0=$(schema_dump "$URL")
    snap0=$(qcmp "$URL" "$APP_SNAPSHOT_SQL")
    agent migrate --db "$URL" --log-format json
    assert_eq "migrate exits 0" 0 "$AG_RC"

    migrate_as_listed "migrate --harden" "would change" changed --harden
    assert_eq "--harden lists 16 changes" 16 "$(grep -c . <<<"$DONE")"
    for c in "policy user_profiles_insert_hardened on public.user_profiles: AS RESTRICTIVE FOR INSERT TO anon, authenticated WITH CHECK (false)" \
        "policy user_profiles_update_hardened on public.user_profiles: AS RESTRICTIVE FOR UPDATE TO anon, authenticated USING (false)" \
        "policy audience_profiles_insert_hardened on public.audience_profiles: AS RESTRICTIVE FOR INSERT TO anon, authenticated WITH CHECK (false)" \
        "public.tags: ENABLE ROW LEVEL SECURITY; policy tags_read_hardened FOR SELECT TO authenticated USING (true)" \
        "view public.v_contents_with_creators: SET (security_invoker = true)" \
        "privileges on table public.contents: revoke TRUNCATE, REFERENCES, TRIGGER from anon and authenticated" \
        "privileges on sequence public.tags_id_seq: revoke UPDATE from anon and authenticated" \
        "function public.provision_user_profile(): revoke EXECUTE from PUBLIC and anon"; do
        assert_contains "--harden lists: $c" "$c" "$DONE"
    done
    assert_match "the summary says the holes are closed" '6 known holes in the policies, closed' "$AG_OUT"
    agent migrate --db "$URL" --log-format json
    assert_eq "after --harden, migrate reports no hole" "" "$(grep '^hole ' <<<"$AG_OUT")"
    assert_eq "after --harden, the app's own policies are still there, unchanged" \
        "$(grep '^policy ' <<<"$snap0")" \
        "$(qcmp "$URL" "$APP_SNAPSHOT_SQL" | grep '^policy ' | grep -v '_hardened ')"

    # rows the agent writes, as the agent: a claim, a project, a content
    AU=$(as_agent_url "$URL")
    q "$AU" "INSERT INTO creatoros_agent.courses (course, source) VALUES ('adopt-course', 'test');
             INSERT INTO content_projects (slug, name, project_type, status)
             VALUES ('adopt-course', 'Adopt course', 'course', 'in_progress');
             INSERT INTO contents (slug, title, content_type, project_id, ai_generated)
             SELECT 'adopt-course', 'Adopt course', 'course_outline', id, true
             FROM content_projects WHERE slug = 'adopt-course'" >/dev/null ||
        fail "the agent's role could not write its course"
    rows=$(qcmp "$URL" "$ROWS_SQL")

    migrate_as_listed "migrate --revert" "would remove" removed --revert
    assert_contains "--revert undoes --harden" "public.tags: ENABLE ROW LEVEL SECURITY" "$AG_OUT"
    assert_contains "--revert drops the agent's schema" "removed schema creatoros_agent" "$AG_OUT"
    assert_eq "pg_dump --schema-only after --revert equals the one before the first migrate" \
        "$dump0" "$(schema_dump "$URL")"
    assert_eq "the rows stay, the agent's included" "$rows" "$(qcmp "$URL" "$ROWS_SQL")"
    assert_eq "the agent's project is still there" "Adopt course" \
        "$(qcmp "$URL" "SELECT name FROM content_projects WHERE slug = 'adopt-course'")"

    agent migrate --db "$URL" --log-format json
    assert_eq "after --revert, migrate adopts the database again" 0 "$AG_RC"
    assert_eq "it reports the holes again" 6 "$(grep -c '^hole ' <<<"$AG_OUT")"
}

# =================================================================================================
# as_role URL SQL: one statement as creatoros_agent, connected as that role; prints
# "ok N" (rows) or the SQLSTATE it failed with.
as_role() {
    local out
    if out=$(psql "$(as_agent_url "$1")" -X -q -At -v ON_ERROR_STOP=1 \
        -v VERBOSITY=verbose -c "$2" 2>&1); then
        echo "ok $(grep -oE '[0-9]+$' <<<"$out" | tail -1)"
    else
        grep -oE 'ERROR: +[0-9A-Z]{5}' <<<"$out" | head -1 | grep -oE '[0-9A-Z]{5}$'
    fi
}

role_checks() { # role_checks URL LABEL PROJECT-OF-ANOTHER-MIND
    local u=$1 l=$2 other=$3
    assert_eq "$l: connected as creatoros_agent, without BYPASSRLS" "creatoros_agent|false" \
        "$(qcmp "$(as_agent_url "$u")" "SELECT current_user || '|' || (SELECT rolbypassrls FROM pg_roles WHERE rolname = current_user)")"
    q "$u" "INSERT INTO content_projects (slug, name, project_type) VALUES ('role-course', 'Role course', 'course');
            INSERT INTO contents (slug, title, content_type, project_id, ai_generated)
            SELECT 'role-course/collected', 'Collected', 'interview', id, false FROM content_projects WHERE slug = 'role-course';
            INSERT INTO contents (slug, title, content_type, project_id, ai_generated)
            SELECT 'role-course/lessons/1.1-x', 'Lesson', 'course_lesson', id, true FROM content_projects WHERE slug = 'role-course'" >/dev/null
    assert_eq "$l: it claims its course" "ok 1" \
        "$(as_role "$u" "WITH c AS (INSERT INTO creatoros_agent.courses (course, source) VALUES ('role-course', 'test') RETURNING 1) SELECT count(*) FROM c")"
    assert_eq "$l: it updates an AI row of its course" "ok 1" \
        "$(as_role "$u" "WITH c AS (UPDATE contents SET title = 'Lesson!' WHERE slug = 'role-course/lessons/1.1-x' RETURNING 1) SELECT count(*) FROM c")"
    assert_eq "$l: it cannot change an ai_generated = false row" "ok 0" \
        "$(as_role "$u" "WITH c AS (UPDATE contents SET title = 'changed' WHERE slug = 'role-course/collected' RETURNING 1) SELECT count(*) FROM c")"
    assert_eq "$l: it cannot rename a mind" "42501" \
        "$(as_role "$u" "UPDATE minds SET display_name = 'renamed'")"
    assert_eq "$l: it cannot touch another mind's project" "ok 0" \
        "$(as_role "$u" "WITH c AS (UPDATE content_projects SET name = 'mine' WHERE slug = '$other' RETURNING 1) SELECT count(*) FROM c")"
    assert_eq "$l: it cannot move another mind's project to another mind" "ok 0" \
        "$(as_role "$u" "WITH c AS (UPDATE content_projects SET creator_mind_id = (SELECT id FROM minds LIMIT 1) WHERE slug = '$other' RETURNING 1) SELECT count(*) FROM c")"
    assert_eq "$l: it cannot write into another mind's project" "42501" \
        "$(as_role "$u" "INSERT INTO contents (slug, title, content_type, project_id, ai_generated) SELECT 'x/1', 'x', 'course_lesson', id, true FROM content_projects WHERE slug = '$other'")"
    assert_eq "$l: it cannot read user_profiles" "42501" \
        "$(as_role "$u" "SELECT count(*) FROM user_profiles")"
    assert_eq "$l: it cannot delete a content" "42501" \
        "$(as_role "$u" "DELETE FROM contents WHERE slug = 'role-course/lessons/1.1-x'")"
}

adopt_agent_role_limits() {
    test_begin "role: connected as creatoros_agent, on the adopted fixture and on a fresh database"
    if prod_db role_fixture; then
        role_checks "$URL" fixture tenant-course
    fi
    if new_db role_fresh; then
        q "$URL" "INSERT INTO minds (slug, display_name, privacy_level) VALUES ('other', 'Other', 'private');
                  INSERT INTO content_projects (slug, name, creator_mind_id)
                  SELECT 'other-course', 'Other', id FROM minds WHERE slug = 'other'" >/dev/null
        role_checks "$URL" fresh other-course
    fi
}

# =================================================================================================
# A course the agent writes whole, with a tag; the legacy course's owner is alan.
write_tree() {
    local t=$1
    mkdir -p "$t/role-course/lessons/modulo-1"
    printf -- '---\ntitle: Role course\ntags: [marketing, novo]\n---\n# Role course\n' >"$t/role-course/COURSE-BRIEF.md"
    printf -- '---\nlesson_id: "1.1"\ntitle: First\n---\nBody.\n' >"$t/role-course/lessons/modulo-1/1.1-first.md"
}

adopt_backfill_as_agent_role() {
    test_begin "backfill connected as creatoros_agent, on both databases"
    local kind tree
    for kind in fresh fixture; do
        if [[ $kind == fresh ]]; then
            new_db "backfill_$kind" || continue
        else
            prod_db "backfill_$kind" || continue
        fi
        tree=$WORK/tree-$kind
        write_tree "$tree"
        agent backfill --root "$tree" --db "$(as_agent_url "$URL")" --creator-mind alan \
            --source "test-$kind" --log-format json
        assert_eq "$kind: backfill as creatoros_agent exits 0" 0 "$AG_RC"
        [[ $AG_RC -eq 0 ]] || echo "$AG_ERR" | tail -5
        assert_eq "$kind: its project, outline, module and lesson are written" "1|3" \
            "$(qcmp "$URL" "SELECT (SELECT count(*) FROM content_projects WHERE slug = 'role-course') || '|' ||
                                (SELECT count(*) FROM contents WHERE slug LIKE 'role-course%' AND deleted_at IS NULL)")"
    done
}

lib_run adopt_creates_only_what_dry_run_listed adopt_problems_listed_nothing_changed \
    adopt_harden_then_revert_restores_schema adopt_agent_role_limits adopt_backfill_as_agent_role
lib_finish
