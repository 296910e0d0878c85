#!/usr/bin/env bash
# test_existing_db.sh -- `creatoros-agent backfill` against a CreatorOS database it did not
# make: the production-shaped fixture (tests/fixtures/production: the app's schema, its
# NOTICE trigger and policies, rows of the original persister, another tenant's project,
# collected content) and its tree (tests/fixtures/production/tree). Asserts the contract's
# rows, the adoption of the original persister's lessons, tags by name, and every ownership
# rule of DATA-CONTRACT.md "Ownership", each with a scenario that fails when its SQL
# condition is removed: attacks made as a signed-in tenant under the app's own policies,
# and races (a tenant's row that appears between two statements of the course's
# transaction, made deterministic with a transaction held open).
#
#   existing_contract_rows_adoption_owners_tags  the fixture: migrate, backfill, exactly the
#                                   contract's rows, adoption, owners, tags by name, NOTICEs
#   existing_owner_never_nulled_without_creator  no creator named: another mind's project
#                                   refused, an owner never nulled
#   existing_tenant_attacks_refused  a tenant's rows are never taken, moved or deleted
#   existing_races_judged_by_statements  rows that appear between two statements of the
#                                   course's transaction: judged by the statements themselves
#   existing_adoption_rules          only the original persister's lessons, in the course's
#                                   own project, are adopted (same id)
#   existing_tree_on_fresh_database  the production tree on a database the agent made
#
# Each scenario gets its own database (dropped at exit). Needs CO_TEST_DB, CO_SOURCE_DIR,
# CO_AGENT (deploy/test.sh exports them).
# shellcheck disable=SC2317 # predicates are called through wait_until and check
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
. "$HERE/lib.sh"
lib_init test_existing_db CO_TEST_DB CO_AGENT jq

TENANT_UID=b2b2b2b2-0000-4000-8000-000000000002
TENANT_PROJECT=f6f6f6f6-0000-4000-8000-000000000006
LEGACY_PROJECT=d4d4d4d4-0000-4000-8000-000000000004

# ---- helpers ------------------------------------------------------------------------------

# as_tenant URL SQL: run SQL as the signed-in tenant, under the app's policies.
as_tenant() {
    psql "$1" -XAtq -v ON_ERROR_STOP=1 -c "SET ROLE authenticated" \
        -c "SELECT set_config('request.jwt.claims', '{\"sub\": \"$TENANT_UID\", \"role\": \"authenticated\"}', false)" \
        -c "$2" >/dev/null
}

# A fingerprint of rows (id, xmin and every column), to show they were left untouched.
rows_of() { # rows_of URL TABLE WHERE
    q "$1" "SELECT coalesce(md5(string_agg(t::text || t.xmin::text, ',' ORDER BY t.id)), 'none') FROM $2 t WHERE $3"
}

stats_sum() { # n_tup_ins/upd/del over the public and agent tables, fresh from the collector
    q "$1" "SELECT pg_stat_clear_snapshot();
            SELECT sum(n_tup_ins) || ' ' || sum(n_tup_upd) || ' ' || sum(n_tup_del)
            FROM pg_stat_user_tables WHERE schemaname IN ('public', 'creatoros_agent')" | tail -1
}
stats_settled() { # the counters stop moving once the agent's sessions are gone
    local a b
    a=$(stats_sum "$1")
    sleep 0.2
    b=$(stats_sum "$1")
    [[ $a == "$b" ]]
}

# rejected_reason PATH: the reason the last backfill gave for PATH ("" when none).
rejected_reason() {
    sed -nE "s|^  $1: (.*)$|\1|p" <<<"$AG_OUT" | head -1
}

tree_copy() { # tree_copy DEST [COURSE...]: the production tree, or some of its courses
    local d=$1 c
    shift
    mkdir -p "$d"
    if [[ $# -eq 0 ]]; then
        cp -a "$PROD/tree/." "$d/"
    else
        for c in "$@"; do cp -a "$PROD/tree/$c" "$d/"; done
    fi
}

lesson() { # lesson FILE FRONT-MATTER-LINE...: a lesson file with that front-matter
    local f=$1 name
    shift
    name=$(basename "$f")
    mkdir -p "$(dirname "$f")"
    { printf -- '---\n'; printf '%s\n' "$@"; printf -- '---\nBody of %s.\n' "$name"; } >"$f"
}

# ==== 1. the fixture: migrate, backfill, exactly the contract's rows ============================
existing_contract_rows_adoption_owners_tags() {
    test_begin "the production fixture: contract rows, adoption, owners, tags by name"
    prod_db contract || return
    local T=$WORK/t1 L=legacy-course/lessons
    tree_copy "$T"
    local tenant_before interview_before minds_before
    tenant_before=$(rows_of "$URL" public.contents "project_id = '$TENANT_PROJECT'")$(rows_of "$URL" public.content_projects "id = '$TENANT_PROJECT'")
    interview_before=$(rows_of "$URL" public.contents "slug = 'interview-2025-10'")
    minds_before=$(rows_of "$URL" public.minds "true")

    # the server's default client_min_messages (notice), not the suites' quieter one
    AG_PREFIX=(env -u PGOPTIONS)
    agent backfill --root "$T" --db "$URL" --creator-mind alan --source prod --log-format json --json
    AG_PREFIX=()
    assert_eq "exit code: 1, the refused files are listed" 1 "$AG_RC"
    local js
    js=$(grep '^{' <<<"$AG_OUT")
    assert_eq "summary: files, written, rejected, adopted" "11 7 4 3" \
        "$(jq -r '"\(.files) \(.written) \(.rejected) \(.adopted)"' <<<"$js" 2>&1)"
    assert_eq "the refused files, each naming the conflict" \
"interview-2025-10/COURSE-BRIEF.md: ownership conflict: the outline's slug interview-2025-10 is held by a content not written by AI (ai_generated = false); nothing of the course is written, and that row is left untouched
interview-2025-10/lessons/1.1-q.md: ownership conflict: the outline's slug interview-2025-10 is held by a content not written by AI (ai_generated = false); nothing of the course is written, and that row is left untouched
tenant-course/COURSE-BRIEF.md: ownership conflict: project tenant-course is owned by mind tenant, and this agent would make mind alan its owner; nothing of the course is written
tenant-course/lessons/1.1-mine.md: ownership conflict: project tenant-course is owned by mind tenant, and this agent would make mind alan its owner; nothing of the course is written" \
        "$(jq -r '.errors[]' <<<"$js" | sort)"

    # -- projects: the legacy one kept (id, owner), the tenant's untouched, no other
    assert_sql "content_projects" "$URL" \
        "SELECT p.id = '$LEGACY_PROJECT', p.slug, p.name, coalesce(p.description, 'NULL'), p.project_type, p.status,
                coalesce(cm.slug, 'NULL'), coalesce(pm.slug, 'NULL'), coalesce(p.target_audience_id::text, 'NULL')
         FROM public.content_projects p LEFT JOIN public.minds cm ON cm.id = p.creator_mind_id
         LEFT JOIN public.minds pm ON pm.id = p.persona_mind_id ORDER BY p.slug COLLATE \"C\"" \
"t|legacy-course|Legacy Course|The course the original persister wrote, now kept from its files|course|in_progress|alan|persona-x|NULL
f|new-course|New Course|NULL|course|in_progress|alan|NULL|NULL
f|tenant-course|Tenant Course|NULL|course|planning|tenant|NULL|NULL"
    assert_eq "the tenant's project and lesson: untouched" "$tenant_before" \
        "$(rows_of "$URL" public.contents "project_id = '$TENANT_PROJECT'")$(rows_of "$URL" public.content_projects "id = '$TENANT_PROJECT'")"
    assert_eq "the collected content interview-2025-10: untouched" "$interview_before" \
        "$(rows_of "$URL" public.contents "slug = 'interview-2025-10'")"
    assert_eq "minds: none created, none changed (tenant stays private)" "$minds_before" "$(rows_of "$URL" public.minds "true")"
    assert_sql "the tenant's mind is still private" "$URL" "SELECT privacy_level FROM public.minds WHERE slug = 'tenant'" private

    # -- contents: the legacy lessons adopted (same ids), nothing duplicated
    assert_sql "contents rows" "$URL" \
        "SELECT c.slug, c.content_type, c.title, coalesce(par.slug, 'NULL'), coalesce(c.sequence_order::text, 'NULL'),
                coalesce(p.slug, 'NULL'), coalesce(c.file_path, 'NULL'), c.ai_generated, c.deleted_at IS NULL,
                coalesce(c.status, 'NULL')
         FROM public.contents c LEFT JOIN public.contents par ON par.id = c.parent_content_id
         LEFT JOIN public.content_projects p ON p.id = c.project_id ORDER BY c.slug COLLATE \"C\"" \
"interview-2025-10|interview|An interview|NULL|NULL|NULL|NULL|f|t|draft
legacy-course|course_outline|Legacy Course|NULL|NULL|legacy-course|legacy-course/COURSE-BRIEF.md|t|t|draft
$L/1.1-intro|course_lesson|Intro|legacy-course/module-1|1|legacy-course|$L/1.1-intro.md|t|t|draft
$L/1.2-setup|course_lesson|Setup|legacy-course/module-1|2|legacy-course|$L/1.2-setup.md|t|t|draft
$L/2.1-deeper|course_lesson|Deeper|legacy-course/module-2|1|legacy-course|$L/2.1-deeper.md|t|t|draft
$L/2.2-new|course_lesson|New One|legacy-course/module-2|2|legacy-course|$L/2.2-new.md|t|t|draft
legacy-course/module-1|course_module|Basics|legacy-course|1|legacy-course|NULL|t|t|draft
legacy-course/module-2|course_module|Advanced|legacy-course|2|legacy-course|NULL|t|t|draft
new-course|course_outline|New Course|NULL|NULL|new-course|new-course/COURSE-BRIEF.md|t|t|draft
new-course/lessons/1.1-hello|course_lesson|Hello|new-course/module-1|1|new-course|new-course/lessons/1.1-hello.md|t|t|draft
new-course/module-1|course_module|First Steps|new-course|1|new-course|NULL|t|t|draft
tenant-course/lessons/1.1-mine|course_lesson|Mine|NULL|NULL|tenant-course|NULL|t|t|draft"
    assert_sql "the legacy lessons kept their ids" "$URL" \
        "SELECT string_agg(slug || '=' || right(id::text, 3), ' ' ORDER BY slug) FROM public.contents
         WHERE id::text LIKE 'e5e5e5e5-%'" \
        "$L/1.1-intro=101 $L/1.2-setup=102 $L/2.1-deeper=103"
    assert_sql "adopted lessons: content is the file's body, metadata its front-matter" "$URL" \
        "SELECT md5(content) || ' ' || (metadata = '{\"lesson_id\": \"1.1\", \"title\": \"Intro\", \"module_title\": \"Basics\", \"tags\": [\"marketing\"]}'::jsonb)
         FROM public.contents WHERE slug = '$L/1.1-intro'" \
        "$(printf '# Intro\n\nThe first lesson, from its file.\n' | md5sum | cut -d' ' -f1) true"
    assert_eq "one adopted line per legacy lesson, with path, slug and id" \
"$L/1.1-intro.md $L/1.1-intro e5e5e5e5-0000-4000-8000-000000000101
$L/1.2-setup.md $L/1.2-setup e5e5e5e5-0000-4000-8000-000000000102
$L/2.1-deeper.md $L/2.1-deeper e5e5e5e5-0000-4000-8000-000000000103" \
        "$(jq -R -r 'fromjson? | select(.msg == "adopted") | "\(.path) \(.slug) \(.id)"' <<<"$AG_ERR" | sort)"

    assert_eq "the persona a project gets is named in the log" "legacy-course persona-x" \
        "$(jq -R -r 'fromjson? | select(.msg == "project persona" and .level == "info") | "\(.course) \(.persona)"' <<<"$AG_ERR")"

    # -- tags by name: an existing tag is used whatever its type; names are case-sensitive
    assert_sql "tags" "$URL" "SELECT string_agg(name || ':' || tag_type, ' ' ORDER BY name COLLATE \"C\") FROM public.tags" \
        "Marketing:theme Vendas:theme marketing:domain vendas:theme"
    assert_sql "content_tags" "$URL" \
        "SELECT c.slug || '|' || string_agg(t.name, ',' ORDER BY t.name COLLATE \"C\") FROM public.content_tags ct
         JOIN public.contents c ON c.id = ct.content_id JOIN public.tags t ON t.id = ct.tag_id
         GROUP BY c.slug ORDER BY c.slug COLLATE \"C\"" \
"legacy-course|Vendas,marketing,vendas
$L/1.1-intro|marketing
new-course|Marketing,Vendas,marketing"
    assert_sql "the persister's tag link on the adopted lesson is the same row (not re-made)" "$URL" \
        "SELECT count(*) FROM public.content_tags ct JOIN public.tags t ON t.id = ct.tag_id
         WHERE ct.content_id = 'e5e5e5e5-0000-4000-8000-000000000101' AND t.name = 'marketing'
           AND ct.created_at < (SELECT min(synced_at) FROM creatoros_agent.file_state)" 1

    # -- creator links: every content of the agent's projects, to the owner
    assert_sql "content_minds" "$URL" \
        "SELECT p.slug || '|' || m.slug || '|' || cm.role || '|' || count(*) FROM public.content_minds cm
         JOIN public.contents c ON c.id = cm.content_id JOIN public.content_projects p ON p.id = c.project_id
         JOIN public.minds m ON m.id = cm.mind_id GROUP BY p.slug, m.slug, cm.role ORDER BY 1" \
"legacy-course|alan|creator|7
new-course|alan|creator|3"

    # -- the app's NOTICE trigger: counted, one line; never a warning per row
    assert_eq "no warn line for the trigger's NOTICEs" 0 \
        "$(jq -R -c 'fromjson? | select(.msg == "database says" and .level != "debug")' <<<"$AG_ERR" | grep -c .)"
    local notices
    notices=$(jq -R -r 'fromjson? | select(.msg == "database notices") | "\(.level) \(.count)"' <<<"$AG_ERR")
    assert_match "one info line with the count of the trigger's NOTICEs" '^info [1-9][0-9]*$' "$notices"
    assert_eq "that one line only" 1 "$(grep -c . <<<"$notices")"

    # -- status agrees that only the refused files differ
    agent status --root "$T" --db "$URL" --source prod --json
    assert_eq "status: exit 1, 4 files in error, nothing else to write" "1 4 0 0 0" \
        "$AG_RC $(jq -r '"\(.files_in_error) \(.to_write) \(.to_delete) \(.to_archive)"' <<<"$AG_OUT" 2>&1)"

    # -- a second backfill writes nothing, and still refuses (tried again, at no write)
    check "the agent's sessions ended" wait_until 10 no_agent_session "$URL"
    check "statistics settled" wait_until 15 stats_settled "$URL"
    local s1 s2
    s1=$(stats_sum "$URL")
    agent backfill --root "$T" --db "$URL" --creator-mind alan --source prod --log-format text
    assert_eq "second backfill: exit 1" 1 "$AG_RC"
    assert_match "second backfill: the refused files tried again, nothing written" \
        '^11 files: 0 written, 7 unchanged, 0 deleted, 4 rejected; 0 courses archived; 0 rows changed' "$(ag_summary)"
    check "the agent's sessions ended" wait_until 10 no_agent_session "$URL"
    s2=$(stats_sum "$URL")
    assert_eq "n_tup_ins/upd/del unchanged by trying the refused courses again" "$s1" "$s2"

    # -- with no creator named, another mind's project is refused too
    local T2=$WORK/t1b
    tree_copy "$T2" legacy-course
    sed -i '/^creator_mind:/d' "$T2/legacy-course/COURSE-BRIEF.md"
    agent backfill --root "$T2" --db "$URL" --source prod-nocreator --log-format text
    assert_eq "no creator named: legacy-course (owned by alan) is not this source's" \
        "ownership conflict: course legacy-course belongs to source prod, which wrote it first; nothing of it is written" \
        "$(rejected_reason legacy-course/COURSE-BRIEF.md)"
}

# ==== 2. the same tree on an unclaimed legacy project, with no creator named ===================
existing_owner_never_nulled_without_creator() {
    test_begin "no creator named: another mind's project is refused, an owner is never nulled"
    prod_db nocreator || return
    local T=$WORK/t2
    tree_copy "$T" legacy-course new-course
    sed -i '/^creator_mind:/d' "$T/legacy-course/COURSE-BRIEF.md"
    local legacy_before
    legacy_before=$(rows_of "$URL" public.content_projects "slug = 'legacy-course'")$(rows_of "$URL" public.contents "project_id = '$LEGACY_PROJECT'")
    agent backfill --root "$T" --db "$URL" --source nocreator --log-format text
    assert_eq "exit 1" 1 "$AG_RC"
    assert_eq "legacy-course: refused, naming its owner" \
        "ownership conflict: project legacy-course is owned by mind alan, and this agent would make no mind (neither --creator-mind nor creator_mind names one) its owner; nothing of the course is written" \
        "$(rejected_reason legacy-course/COURSE-BRIEF.md)"
    assert_eq "legacy-course rows untouched" "$legacy_before" \
        "$(rows_of "$URL" public.content_projects "slug = 'legacy-course'")$(rows_of "$URL" public.contents "project_id = '$LEGACY_PROJECT'")"
    assert_sql "new-course: written, with no owner" "$URL" \
        "SELECT coalesce(creator_mind_id::text, 'NULL') FROM public.content_projects WHERE slug = 'new-course'" NULL

    # The owner then named by the brief: the course is claimed; named no more: kept.
    printf -- '---\ntitle: New Course\ncreator_mind: alan\n---\nNow owned.\n' >"$T/new-course/COURSE-BRIEF.md"
    agent backfill --root "$T" --db "$URL" --source nocreator --log-format text
    assert_sql "new-course owned by alan once the brief names him" "$URL" \
        "SELECT m.slug FROM public.content_projects p JOIN public.minds m ON m.id = p.creator_mind_id WHERE p.slug = 'new-course'" alan
    printf -- '---\ntitle: New Course, renamed\n---\nNo owner named.\n' >"$T/new-course/COURSE-BRIEF.md"
    agent backfill --root "$T" --db "$URL" --source nocreator --log-format text
    assert_sql "an owner is never nulled (the course is this source's: its other values are written)" "$URL" \
        "SELECT m.slug || '|' || p.name FROM public.content_projects p JOIN public.minds m ON m.id = p.creator_mind_id
         WHERE p.slug = 'new-course'" "alan|New Course, renamed"
}

# refused_untouched WHAT PATH REASON TABLE WHERE: a backfill of T (source attacks) refuses PATH
# with REASON and leaves the rows of TABLE that match WHERE as they were.
refused_untouched() {
    local before
    before=$(rows_of "$URL" "$4" "$5")
    agent backfill --root "$T" --db "$URL" --creator-mind alan --source attacks --log-format text
    assert_eq "$1: refused, naming why" "$3" "$(rejected_reason "$2")"
    assert_eq "$1: that row untouched" "$before" "$(rows_of "$URL" "$4" "$5")"
}

# ==== 3. attacks, as a signed-in tenant under the app's policies =================================
existing_tenant_attacks_refused() {
    test_begin "attacks: a tenant's rows are never taken, moved or deleted"
    prod_db attacks || return
    local T=$WORK/t3 before
    mkdir -p "$T"

    # (a) a contents row with a new course's name, in the tenant's own project
    as_tenant "$URL" "INSERT INTO public.contents (project_id, slug, title, content_type, ai_generated)
                      VALUES ('$TENANT_PROJECT', 'cap-course', 'Captured', 'course_outline', true)"
    lesson "$T/cap-course/COURSE-BRIEF.md" 'title: Capture Me' 'creator_mind: alan'
    lesson "$T/cap-course/lessons/1.1-a.md" 'lesson_id: "1.1"' 'module_title: One'
    # ... and of a course with lessons only (no brief)
    as_tenant "$URL" "INSERT INTO public.contents (project_id, slug, title, content_type, ai_generated)
                      VALUES ('$TENANT_PROJECT', 'cap-lessons', 'Captured too', 'course_outline', true)"
    lesson "$T/cap-lessons/lessons/1.1-a.md" 'lesson_id: "1.1"'
    # (b) a project pre-created with a new course's name
    as_tenant "$URL" "INSERT INTO public.content_projects (slug, name, project_type, creator_mind_id)
                      VALUES ('pre-course', 'Pre-created', 'course', public.current_mind_id())"
    lesson "$T/pre-course/COURSE-BRIEF.md" 'title: Pre Me' 'creator_mind: alan'
    lesson "$T/pre-course/lessons/1.1-a.md" 'lesson_id: "1.1"'
    # (c) lesson and module slugs of a course of ours, taken in the tenant's project
    lesson "$T/own-course/COURSE-BRIEF.md" 'title: Own Course' 'creator_mind: alan'
    lesson "$T/own-course/lessons/1.1-ok.md" 'lesson_id: "1.1"'
    lesson "$T/own-course/lessons/1.2-taken.md" 'lesson_id: "1.2"'
    lesson "$T/own-course/lessons/5.1-under-taken.md" 'lesson_id: "5.1"'
    as_tenant "$URL" "INSERT INTO public.contents (project_id, slug, title, content_type, ai_generated) VALUES
                      ('$TENANT_PROJECT', 'own-course/lessons/1.2-taken', 'Taken', 'course_lesson', true),
                      ('$TENANT_PROJECT', 'own-course/module-5', 'Taken module', 'course_module', true)"
    local tenant_before
    tenant_before=$(rows_of "$URL" public.contents "project_id = '$TENANT_PROJECT'")
    before=$(rows_of "$URL" public.content_projects "slug = 'pre-course'")

    agent backfill --root "$T" --db "$URL" --creator-mind alan --source attacks --log-format text
    assert_eq "exit 1" 1 "$AG_RC"
    assert_eq "(a) a captured outline slug: the course refused, naming the holder" \
        "ownership conflict: the outline's slug cap-course is held by a content of another project (tenant-course); nothing of the course is written, and that row is left untouched" \
        "$(rejected_reason cap-course/lessons/1.1-a.md)"
    assert_sql "(a) nothing of cap-course written (no project, no module, no lesson)" "$URL" \
        "SELECT (SELECT count(*) FROM public.content_projects WHERE slug = 'cap-course')
              + (SELECT count(*) FROM public.contents WHERE slug LIKE 'cap-course/%')" 0
    assert_eq "(b) a pre-created project: the course refused" \
        "ownership conflict: project pre-course is owned by mind tenant, and this agent would make mind alan its owner; nothing of the course is written" \
        "$(rejected_reason pre-course/COURSE-BRIEF.md)"
    assert_eq "(b) the pre-created project untouched" "$before" "$(rows_of "$URL" public.content_projects "slug = 'pre-course'")"
    assert_sql "(b) nothing hung under it" "$URL" "SELECT count(*) FROM public.contents WHERE slug LIKE 'pre-course%'" 0
    assert_eq "(c) a lesson slug held in another project: that file refused" \
        "ownership conflict: its slug own-course/lessons/1.2-taken is held by a content of another project (tenant-course); that row is left untouched" \
        "$(rejected_reason own-course/lessons/1.2-taken.md)"
    assert_eq "(c) a module slug held in another project: its lessons refused, not hung under it" \
        "ownership conflict: its parent's slug own-course/module-5 is held by a content of another project (tenant-course); nothing is hung under that row" \
        "$(rejected_reason own-course/lessons/5.1-under-taken.md)"
    assert_eq "every row of the tenant's project untouched" "$tenant_before" \
        "$(rows_of "$URL" public.contents "project_id = '$TENANT_PROJECT'")"
    assert_sql "(c) the rest of own-course written" "$URL" \
        "SELECT string_agg(c.slug, ' ' ORDER BY c.slug) FROM public.contents c JOIN public.content_projects p
         ON p.id = c.project_id WHERE p.slug = 'own-course'" \
        "own-course own-course/lessons/1.1-ok own-course/module-1"

    # (d) a row of the course's own project that no AI wrote, with its own creator link
    q "$URL" "INSERT INTO public.contents (project_id, slug, title, content_type, ai_generated)
              SELECT id, 'own-course/lessons/1.3-human', 'Written by hand', 'course_lesson', false
              FROM public.content_projects WHERE slug = 'own-course';
              INSERT INTO public.content_minds (content_id, mind_id, role)
              SELECT c.id, m.id, 'creator' FROM public.contents c, public.minds m
              WHERE c.slug = 'own-course/lessons/1.3-human' AND m.slug = 'tenant'" >/dev/null
    lesson "$T/own-course/lessons/1.3-human.md" 'lesson_id: "1.3"'
    lesson "$T/own-course/COURSE-BRIEF.md" 'title: Own Course, again' 'creator_mind: alan'
    refused_untouched "(d) a slug held by a content not written by AI" own-course/lessons/1.3-human.md \
        "ownership conflict: its slug own-course/lessons/1.3-human is held by a content not written by AI (ai_generated = false); that row is left untouched" \
        public.contents "slug = 'own-course/lessons/1.3-human'"
    assert_sql "(d) its creator link kept (the brief changed: the course's links were brought in line)" "$URL" \
        "SELECT string_agg(m.slug, ',') FROM public.content_minds cm JOIN public.contents c ON c.id = cm.content_id
         JOIN public.minds m ON m.id = cm.mind_id WHERE c.slug = 'own-course/lessons/1.3-human'" tenant
    assert_sql "(d) the brief's change written" "$URL" \
        "SELECT name FROM public.content_projects WHERE slug = 'own-course'" "Own Course, again"

    # (h) an audience profile that is another project's audience
    as_tenant "$URL" "INSERT INTO public.audience_profiles (slug, name) VALUES ('aud-course', 'Tenant audience');
                      UPDATE public.content_projects SET target_audience_id =
                        (SELECT id FROM public.audience_profiles WHERE slug = 'aud-course')
                      WHERE id = '$TENANT_PROJECT'"
    lesson "$T/aud-course/COURSE-BRIEF.md" 'title: Audience Course' 'creator_mind: alan' \
        'target_audience: {name: Ours, description: Our people}'
    lesson "$T/aud-course/lessons/1.1-a.md" 'lesson_id: "1.1"'
    refused_untouched "(h) a brief naming another project's audience" aud-course/COURSE-BRIEF.md \
        "ownership conflict: the audience profile aud-course is the audience of another project (tenant-course); it is left untouched" \
        public.audience_profiles "slug = 'aud-course'"
    assert_sql "(h) the course's other files written, its project without that audience" "$URL" \
        "SELECT coalesce(p.target_audience_id::text, 'NULL') || ' ' || (SELECT count(*) FROM public.contents c
           WHERE c.project_id = p.id) FROM public.content_projects p WHERE p.slug = 'aud-course'" "NULL 3"

    # (i) a module slug held by another project while the module is wanted: its row was
    # hard-deleted by an administrator (with its lesson), then taken by the tenant; a module
    # title that changes makes the modules be written again
    lesson "$T/own-course/lessons/6.1-six.md" 'lesson_id: "6.1"' 'module_title: Six'
    agent backfill --root "$T" --db "$URL" --creator-mind alan --source attacks --log-format text
    q "$URL" "DELETE FROM public.contents WHERE slug = 'own-course/module-6'" >/dev/null
    as_tenant "$URL" "INSERT INTO public.contents (project_id, slug, title, content_type, ai_generated)
                      VALUES ('$TENANT_PROJECT', 'own-course/module-6', 'Tenant six', 'course_module', true)"
    before=$(rows_of "$URL" public.contents "slug = 'own-course/module-6'")
    lesson "$T/own-course/lessons/1.1-ok.md" 'lesson_id: "1.1"' 'module_title: One, renamed'
    agent backfill --root "$T" --db "$URL" --creator-mind alan --source attacks --log-format text
    assert_sql "(i) the modules were written again" "$URL" \
        "SELECT title FROM public.contents WHERE slug = 'own-course/module-1'" "One, renamed"
    assert_eq "(i) the module slug held in another project: that row untouched" "$before" \
        "$(rows_of "$URL" public.contents "slug = 'own-course/module-6'")"

    # (e) refused files deleted, a refused course removed: nothing of the tenant's is touched
    rm "$T/own-course/lessons/1.2-taken.md" "$T/own-course/lessons/1.3-human.md"
    rm -r "$T/pre-course"
    tenant_before=$(rows_of "$URL" public.contents "project_id = '$TENANT_PROJECT' OR NOT ai_generated")
    before=$(rows_of "$URL" public.content_projects "slug = 'pre-course'")
    agent backfill --root "$T" --db "$URL" --creator-mind alan --source attacks --log-format text
    assert_eq "(e) the held rows are not soft-deleted" "$tenant_before" \
        "$(rows_of "$URL" public.contents "project_id = '$TENANT_PROJECT' OR NOT ai_generated")"
    assert_eq "(e) the pre-created project is not archived" "$before" "$(rows_of "$URL" public.content_projects "slug = 'pre-course'")"
    assert_match "(e) nor counted as archived" '; 0 courses archived;' "$(ag_summary)"

    # (f) the tenant deletes the captured outline: nothing of the agent's goes with it (it
    # never hung anything under it), and the next sync writes the course
    assert_sql "(a) nothing of cap-lessons written" "$URL" \
        "SELECT count(*) FROM public.content_projects WHERE slug = 'cap-lessons'" 0
    as_tenant "$URL" "DELETE FROM public.contents WHERE slug IN ('cap-course', 'cap-lessons')"
    agent backfill --root "$T" --db "$URL" --creator-mind alan --source attacks --log-format text
    assert_sql "(f) the conflict gone, the refused courses are written" "$URL" \
        "SELECT string_agg(c.slug || ':' || coalesce(par.slug, '-'), ' ' ORDER BY c.slug) FROM public.contents c
         JOIN public.content_projects p ON p.id = c.project_id LEFT JOIN public.contents par ON par.id = c.parent_content_id
         WHERE p.slug IN ('cap-course', 'cap-lessons') AND c.deleted_at IS NULL" \
        "cap-course:- cap-course/lessons/1.1-a:cap-course/module-1 cap-course/module-1:cap-course cap-lessons:- cap-lessons/lessons/1.1-a:cap-lessons/module-1 cap-lessons/module-1:cap-lessons"
    assert_sql "(f) and their files are no longer in error" "$URL" \
        "SELECT count(*) FROM creatoros_agent.file_state WHERE path LIKE 'cap-%' AND error IS NOT NULL" 0
    as_tenant "$URL" "DELETE FROM public.contents WHERE slug LIKE 'cap-course%'"
    assert_sql "(f) the tenant cannot delete the course now: it is not theirs" "$URL" \
        "SELECT count(*) FROM public.contents WHERE slug LIKE 'cap-course%' AND deleted_at IS NULL" 3

    # (g) two sources, one course name: the first to write it keeps it
    local T2=$WORK/t3b own_before
    mkdir -p "$T2"
    cp -a "$T/own-course" "$T2/"
    printf 'Changed by the other tree.\n' >>"$T2/own-course/lessons/1.1-ok.md"
    own_before=$(rows_of "$URL" public.contents "slug LIKE 'own-course%'")$(rows_of "$URL" public.content_projects "slug = 'own-course'")
    agent backfill --root "$T2" --db "$URL" --creator-mind alan --source attacks-2 --log-format text
    assert_eq "(g) the other source's files refused, naming the first" \
        "ownership conflict: course own-course belongs to source attacks, which wrote it first; nothing of it is written" \
        "$(rejected_reason own-course/lessons/1.1-ok.md)"
    assert_eq "(g) the first source's rows untouched" "$own_before" \
        "$(rows_of "$URL" public.contents "slug LIKE 'own-course%'")$(rows_of "$URL" public.content_projects "slug = 'own-course'")"
    rm -r "$T2/own-course"
    agent backfill --root "$T2" --db "$URL" --creator-mind alan --source attacks-2 --log-format text
    assert_eq "(g) nor archived when it leaves the other tree" "$own_before" \
        "$(rows_of "$URL" public.contents "slug LIKE 'own-course%'")$(rows_of "$URL" public.content_projects "slug = 'own-course'")"
}

# ==== 4. races: a tenant's row that appears between two statements of the course's transaction ==
# hold_open URL SQL: run SQL in a transaction left open (as the tenant); hold_commit ends it.
hold_open() {
    rm -f "$WORK/hold.fifo"
    mkfifo "$WORK/hold.fifo"
    PGAPPNAME=bf_hold psql "$1" -XAtq -v ON_ERROR_STOP=1 <"$WORK/hold.fifo" >"$WORK/hold.out" 2>&1 &
    HOLD_PID=$!
    exec 9>"$WORK/hold.fifo"
    printf "SET ROLE authenticated;\nSELECT set_config('request.jwt.claims', '{\"sub\": \"%s\"}', false);\nBEGIN;\n%s;\n" \
        "$TENANT_UID" "$2" >&9
}
hold_commit() {
    printf 'COMMIT;\n' >&9
    exec 9>&-
    wait "$HOLD_PID"
}
held() { # the held transaction has run its statement and waits
    [[ $(q "$1" "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'bf_hold'
                 AND state = 'idle in transaction' AND datname = current_database()") == 1 ]]
}
agent_blocked() { # the agent waits for the held transaction's row lock
    [[ $(q "$1" "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'creatoros-agent'
                 AND wait_event_type = 'Lock' AND datname = current_database()") -ge 1 ]]
}

# race URL TREE HELD-SQL: backfill TREE while HELD-SQL's row is uncommitted, commit it once
# the agent waits for it; sets AG_RC, AG_OUT, AG_ERR as `agent` does.
race() {
    local url=$1 tree=$2
    hold_open "$url" "$3"
    check "the tenant's transaction holds its row" wait_until 10 held "$url"
    start_agent race backfill --root "$tree" --db "$url" --creator-mind alan --source races --log-format text
    check "the agent waits for the tenant's row" wait_until 20 agent_blocked "$url"
    hold_commit
    wait "$AG_PID"
    AG_RC=$?
    AG_OUT=$(<"$AG_OUTF")
    AG_ERR=$(<"$AG_ERRF")
    assert_eq "the tenant's transaction committed" "" "$(grep -i error "$WORK/hold.out")"
    check_sanitizer "$AG_ERRF"
}

# race_refused LABEL HELD-SQL PATH REASON: backfill T while the row of HELD-SQL is not
# committed yet (race); PATH is refused with REASON.
race_refused() {
    race "$URL" "$T" "$2"
    assert_eq "$1 refused, naming why" "$4" "$(rejected_reason "$3")"
}

existing_races_judged_by_statements() {
    test_begin "races: the statements' own conditions (a claim judged on the snapshot is not enough)"
    prod_db races || return
    local T

    # (a) a project inserted after the claim was judged: locked and judged again
    T=$WORK/t4a
    lesson "$T/race-project/COURSE-BRIEF.md" 'title: Race Project' 'creator_mind: alan'
    race_refused "(a)" "INSERT INTO public.content_projects (slug, name, project_type, status, creator_mind_id)
                        VALUES ('race-project', 'Tenant race', 'course', 'planning', public.current_mind_id())" \
        race-project/COURSE-BRIEF.md \
        "ownership conflict: project race-project is owned by mind tenant, and this agent would make mind alan its owner; nothing of the course is written"
    assert_eq "(a) exit 1" 1 "$AG_RC"
    assert_sql "(a) the tenant's project untouched" "$URL" \
        "SELECT p.name || '|' || p.status || '|' || m.slug || '|' || (SELECT count(*) FROM public.contents WHERE slug LIKE 'race-project%')
         FROM public.content_projects p JOIN public.minds m ON m.id = p.creator_mind_id WHERE p.slug = 'race-project'" \
        "Tenant race|planning|tenant|0"
    assert_sql "(a) no claim left" "$URL" "SELECT count(*) FROM creatoros_agent.courses WHERE course = 'race-project'" 0

    # (b) the outline's slug taken after the claim
    T=$WORK/t4b
    lesson "$T/race-outline/COURSE-BRIEF.md" 'title: Race Outline' 'creator_mind: alan'
    race_refused "(b)" "INSERT INTO public.contents (project_id, slug, title, content_type, ai_generated)
                        VALUES ('$TENANT_PROJECT', 'race-outline', 'Tenant race', 'course_outline', true)" \
        race-outline/COURSE-BRIEF.md \
        "ownership conflict: the outline's slug race-outline is held by a content of another project (tenant-course); nothing of the course is written, and that row is left untouched"
    assert_sql "(b) the tenant's row untouched, nothing of the course written" "$URL" \
        "SELECT c.title || '|' || p.slug || '|' || (SELECT count(*) FROM public.content_projects WHERE slug = 'race-outline')
         FROM public.contents c JOIN public.content_projects p ON p.id = c.project_id WHERE c.slug = 'race-outline'" \
        "Tenant race|tenant-course|0"

    # (c) a lesson's slug taken after the course was judged
    T=$WORK/t4c
    lesson "$T/race-lesson/COURSE-BRIEF.md" 'title: Race Lesson' 'creator_mind: alan'
    lesson "$T/race-lesson/lessons/1.1-a.md" 'lesson_id: "1.1"'
    race_refused "(c) the lesson" "INSERT INTO public.contents (project_id, slug, title, content_type, ai_generated)
                        VALUES ('$TENANT_PROJECT', 'race-lesson/lessons/1.1-a', 'Tenant race', 'course_lesson', true)" \
        race-lesson/lessons/1.1-a.md \
        "ownership conflict: its slug race-lesson/lessons/1.1-a is held by a content of another project (tenant-course); that row is left untouched"
    assert_sql "(c) the tenant's row untouched; the outline written (no module: its only lesson is refused)" "$URL" \
        "SELECT c.title || '|' || p.slug || '|' || (SELECT count(*) FROM public.contents WHERE slug IN ('race-lesson', 'race-lesson/module-1'))
         FROM public.contents c JOIN public.content_projects p ON p.id = c.project_id WHERE c.slug = 'race-lesson/lessons/1.1-a'" \
        "Tenant race|tenant-course|1"
}

# ==== 5. adoption: only what the original persister wrote, in the course's own project =========
existing_adoption_rules() {
    test_begin "adoption rules"
    prod_db adoption || return
    local T=$WORK/t5 L=legacy-course/lessons
    tree_copy "$T" legacy-course
    # rows that look like the persister's but must not be adopted
    q "$URL" "INSERT INTO public.contents (id, project_id, slug, title, content_type, ai_generated, deleted_at, file_path) VALUES
        ('e5e5e5e5-0000-4000-8000-000000000201', '$LEGACY_PROJECT', '3.1-gone', 'Gone', 'course_lesson', true, now(), NULL),
        ('e5e5e5e5-0000-4000-8000-000000000202', '$LEGACY_PROJECT', '3.2-pathed', 'Pathed', 'course_lesson', true, NULL, 'elsewhere.md'),
        ('e5e5e5e5-0000-4000-8000-000000000203', '$TENANT_PROJECT', '3.3-tenants', 'Tenant''s', 'course_lesson', true, NULL, NULL),
        ('e5e5e5e5-0000-4000-8000-000000000204', '$LEGACY_PROJECT', '3.4-human', 'Human', 'course_lesson', false, NULL, NULL),
        ('e5e5e5e5-0000-4000-8000-000000000205', '$LEGACY_PROJECT', '3.5-taken', 'Legacy', 'course_lesson', true, NULL, NULL),
        ('e5e5e5e5-0000-4000-8000-000000000206', '$LEGACY_PROJECT', '$L/3.5-taken', 'Contract', 'course_lesson', true, NULL, '$L/3.5-taken.md'),
        ('e5e5e5e5-0000-4000-8000-000000000207', '$LEGACY_PROJECT', '3.6-article', 'Article', 'article', true, NULL, NULL)" >/dev/null
    local n
    for n in 3.1-gone 3.2-pathed 3.3-tenants 3.4-human 3.5-taken 3.6-article; do
        lesson "$T/$L/$n.md" "lesson_id: \"${n%%-*}\""
    done
    local others_before
    others_before=$(rows_of "$URL" public.contents "id::text LIKE 'e5e5e5e5-%-0000000002%' AND id <> 'e5e5e5e5-0000-4000-8000-000000000206'")
    agent backfill --root "$T" --db "$URL" --creator-mind alan --source adoption --log-format text --json
    assert_eq "exit 0" 0 "$AG_RC"
    assert_eq "adopted: the three legacy lessons only" 3 "$(grep '^{' <<<"$AG_OUT" | jq -r .adopted 2>&1)"
    assert_sql "the look-alikes: a new row per file, or the contract slug's own row" "$URL" \
        "SELECT string_agg(slug || '=' || CASE WHEN id::text LIKE 'e5e5e5e5-%' THEN right(id::text, 3) ELSE 'new' END, ' ' ORDER BY slug)
         FROM public.contents WHERE slug LIKE '$L/3.%'" \
        "$L/3.1-gone=new $L/3.2-pathed=new $L/3.3-tenants=new $L/3.4-human=new $L/3.5-taken=206 $L/3.6-article=new"
    assert_eq "the look-alikes themselves untouched" "$others_before" \
        "$(rows_of "$URL" public.contents "id::text LIKE 'e5e5e5e5-%-0000000002%' AND id <> 'e5e5e5e5-0000-4000-8000-000000000206'")"
    assert_eq "no adopted line for them" "" "$(grep -o 'adopted path=[^ ]*3\.[^ ]*' <<<"$AG_ERR")"
}

existing_tree_on_fresh_database() {
    test_begin "the production tree on a fresh database"
    new_db fresh || return
    local T=$WORK/t6
    tree_copy "$T"
    agent backfill --root "$T" --db "$URL" --creator-mind alan --source fresh --log-format text
    assert_eq "exit 0: nothing to refuse on a database the agent made" 0 "$AG_RC"
    assert_match "summary" '^11 files: 11 written, 0 unchanged, 0 deleted, 0 rejected;' "$(ag_summary)"
    assert_sql "projects, all owned by alan" "$URL" \
        "SELECT string_agg(p.slug || ':' || m.slug, ' ' ORDER BY p.slug) FROM public.content_projects p
         JOIN public.minds m ON m.id = p.creator_mind_id" \
        "interview-2025-10:alan legacy-course:alan new-course:alan tenant-course:alan"
    assert_sql "tags by name, case-sensitive" "$URL" \
        "SELECT string_agg(name || ':' || tag_type, ' ' ORDER BY name COLLATE \"C\") FROM public.tags" \
        "Marketing:theme Vendas:theme marketing:theme vendas:theme"
    assert_sql "claims of the source" "$URL" \
        "SELECT string_agg(course || ':' || source, ' ' ORDER BY course) FROM creatoros_agent.courses" \
        "interview-2025-10:fresh legacy-course:fresh new-course:fresh tenant-course:fresh"
}

lib_run existing_contract_rows_adoption_owners_tags existing_owner_never_nulled_without_creator \
    existing_tenant_attacks_refused existing_races_judged_by_statements existing_adoption_rules \
    existing_tree_on_fresh_database
lib_finish
