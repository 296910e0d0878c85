/* statements.c -- the SQL texts of statements.h. */
#include "persist/statements.h"

#include "persist/module_order.h"
#include "persist/rows.h"

/* The lock key is per course and shared by every agent and backfill on any host. */
#define COURSE_LOCK                                                                                \
    "SELECT pg_advisory_xact_lock(hashtextextended('creatoros-agent:course:' || $1, 0))"

/* Raise the refusal E (a text expression that must depend on row data: a constant one
 * would be folded, and raised, while the statement is planned). */
#define REFUSE(E) "('" STMT_REFUSAL "' || " E ")::int"

/* The course's project: after STMT_PROJECT_HOLD and STMT_COURSE_CHECK it exists, is locked
 * by the course's transaction and is the course's to write. */
#define PROJECT_ID "(SELECT id FROM public.content_projects WHERE slug = $1)"

/* Who holds a slug S the agent may not write, from a correlated lookup (none: a row
 * written after the statement's snapshot). */
#define HELD_BY(S)                                                                                 \
    "coalesce((SELECT CASE "                                                                       \
    "  WHEN NOT h.ai_generated THEN 'a content not written by AI (ai_generated = false)' "         \
    "  WHEN h.project_id IS NULL THEN 'a content of no project' "                                  \
    "  ELSE 'a content of another project (' || coalesce((SELECT hp.slug "                         \
    "    FROM public.content_projects hp WHERE hp.id = h.project_id), '?') || ')' END "            \
    "  FROM public.contents h WHERE h.slug = " S "), 'a row written meanwhile by someone else')"

/* The refusals, each raised only for a row that calls for it. */
#define HELD_BY_OUTLINE HELD_BY("$1")
#define HELD_BY_LESSON HELD_BY("b.slug")
#define HELD_BY_PARENT HELD_BY("b.parent_slug")
#define OUTLINE_REASON                                                                             \
    "'the outline''s slug ' || $1 || ' is held by ' || " HELD_BY_OUTLINE " || "                    \
    "'; nothing of the course is written, and that row is left untouched'"
#define OUTLINE_REFUSAL REFUSE(OUTLINE_REASON)
#define LESSON_REASON                                                                              \
    "CASE WHEN up.slug IS NULL "                                                                   \
    "  THEN 'its slug ' || b.slug || ' is held by ' || " HELD_BY_LESSON " || "                     \
    "    '; that row is left untouched' "                                                          \
    "  ELSE 'its parent''s slug ' || b.parent_slug || ' is held by ' || " HELD_BY_PARENT " || "    \
    "    '; nothing is hung under that row' END"
#define LESSON_REFUSAL REFUSE(LESSON_REASON)
#define SOURCE_REASON                                                                              \
    "'course ' || $1 || ' belongs to source ' || k.source || ', which wrote it first; "            \
    "nothing of it is written'"
#define OWNER_REASON                                                                               \
    "'project ' || $1 || ' is owned by ' || coalesce('mind ' || (SELECT m.slug FROM public.minds " \
    "m "                                                                                           \
    "WHERE m.id = p.creator_mind_id), 'no mind') || "                                              \
    "', and this agent would make ' || coalesce('mind ' || $3, 'no mind (neither "                 \
    "--creator-mind nor creator_mind names one)') || ' its owner; nothing of the course is "       \
    "written'"
#define V_REFUSAL REFUSE("v.refusal")
#define OWNER_REFUSAL REFUSE(OWNER_REASON)
#define SOURCE_REFUSAL REFUSE(SOURCE_REASON)
#define AUDIENCE_REFUSAL                                                                           \
    REFUSE("'the audience profile ' || $1 || ' is the audience of another project (' || "          \
           "o.slug || '); it is left untouched'")

/*
 * The outline of course $1: INSERT_SELECT inserts it (a SELECT over the project p), SET and
 * CHANGED are the update of an existing one. A row with the outline's slug that is not
 * the course's own (another project's, or not written by AI) is never touched: the whole
 * course is refused, since everything of it hangs under its outline.
 */
#define OUTLINE_WRITE(INSERT_SELECT, SET, CHANGED)                                                 \
    "WITH p AS (SELECT id, name FROM public.content_projects WHERE slug = $1), "                   \
    "o AS (SELECT coalesce(c.project_id = (SELECT id FROM p), false) AND c.ai_generated AS ours "  \
    "      FROM public.contents c WHERE c.slug = $1), "                                            \
    "up AS ("                                                                                      \
    "  INSERT INTO public.contents AS c " INSERT_SELECT " "                                        \
    "  ON CONFLICT (slug) DO UPDATE SET " SET " "                                                  \
    "  WHERE c.project_id = EXCLUDED.project_id AND c.ai_generated AND (" CHANGED ") "             \
    "  RETURNING 1"                                                                                \
    ") "                                                                                           \
    "SELECT (SELECT count(*) FROM up) + coalesce((SELECT " OUTLINE_REFUSAL " FROM p "              \
    "  WHERE NOT EXISTS (SELECT 1 FROM up) AND NOT EXISTS (SELECT 1 FROM o WHERE o.ours)), 0) "    \
    "AS affected"

/* Creator links of the course $1's contents, those of SCOPE (a condition on contents c, or
 * ""): a link to another mind is removed, the link to the project's creator added. Only
 * the course's own contents (written by AI) are looked at. */
#define CREATOR_LINKS(SCOPE)                                                                       \
    "WITH p AS (SELECT id, creator_mind_id FROM public.content_projects WHERE slug = $1), "        \
    "del AS ("                                                                                     \
    "  DELETE FROM public.content_minds cm USING public.contents c, p "                            \
    "  WHERE c.project_id = p.id" SCOPE " AND cm.content_id = c.id AND cm.role = 'creator' "       \
    "    AND c.ai_generated "                                                                      \
    "    AND c.content_type IN ('course_outline', 'course_module', 'course_lesson') "              \
    "    AND cm.mind_id IS DISTINCT FROM p.creator_mind_id "                                       \
    "  RETURNING 1"                                                                                \
    "), ins AS ("                                                                                  \
    "  INSERT INTO public.content_minds (content_id, mind_id, role) "                              \
    "  SELECT c.id, p.creator_mind_id, 'creator' FROM public.contents c JOIN p "                   \
    "    ON c.project_id = p.id "                                                                  \
    "  WHERE p.creator_mind_id IS NOT NULL" SCOPE " AND c.ai_generated "                           \
    "    AND c.content_type IN ('course_outline', 'course_module', 'course_lesson') "              \
    "  ON CONFLICT (content_id, mind_id) DO NOTHING RETURNING 1"                                   \
    ") "                                                                                           \
    "SELECT (SELECT count(*) FROM del) + (SELECT count(*) FROM ins) AS affected"

/* The project p is another mind's, as far as source $2 goes: its owner is not the creator
 * $3 the agent would set (both may be null), the course has no claim CLAIMED (an SQL
 * condition on creatoros_agent.courses k), and no file of the course was synced by the
 * source (what made a course its own before claims were recorded). A CASE, so that the
 * lookups run only when the cheaper answers did not settle it. */
#define OWNER_FOREIGN(CLAIMED)                                                                     \
    "CASE WHEN p.creator_mind_id IS NOT DISTINCT FROM "                                            \
    "          (SELECT id FROM public.minds WHERE slug = $3) THEN false "                          \
    "     WHEN EXISTS (SELECT 1 FROM creatoros_agent.courses k WHERE " CLAIMED ") THEN false "     \
    "     ELSE NOT EXISTS (SELECT 1 FROM creatoros_agent.file_state f "                            \
    "                      WHERE f.course = $1 AND f.source = $2 AND f.error IS NULL) END"
#define ANY_CLAIM "k.course = $1"
#define EARLIER_CLAIM "k.course = $1 AND k.source = $2 AND NOT " FRESH_CLAIM
#define OWNER_FOREIGN_CLAIM OWNER_FOREIGN(ANY_CLAIM)
#define OWNER_FOREIGN_CHECK OWNER_FOREIGN(EARLIER_CLAIM)

/* A claim k made by the transaction in progress (not one made earlier). */
#define FRESH_CLAIM "k.xmin::text = (txid_current() % 4294967296)::text"

/* The project's minds and audience, for STMT_PROJECT_HOLD and STMT_PROJECT_UPDATE: $1 slug,
 * $5 creator mind slug, $6 persona mind slug, $7 has audience. */
#define PROJECT_CREATOR "(SELECT id FROM public.minds WHERE slug = $5)"
#define PROJECT_PERSONA "(SELECT id FROM public.minds WHERE slug = $6)"
#define PROJECT_AUDIENCE                                                                           \
    "CASE WHEN $7::boolean THEN (SELECT id FROM public.audience_profiles WHERE slug = $1) END"

const struct stmt_def stmt_defs[STMT_COUNT] = {
    [STMT_LOCK_COURSE] = {.name = "co_lock_course", COURSE_LOCK},

    /* $1 course, $2 source, $3 creator mind slug (NULL: none named): read-only, sent first
     * when files refused earlier are tried again. A course that is plainly another's
     * (another source's, a project of another mind, an outline slug held by a row not its
     * own) is refused before anything is written, so that trying a refused course again
     * costs no write. The statements that follow judge again, race-free. */
    [STMT_COURSE_PROBE] =
        {.name = "co_course_probe",
         "WITH k AS (SELECT source FROM creatoros_agent.courses WHERE course = $1), "
         "v AS ("
         "  SELECT " SOURCE_REASON " AS refusal FROM k WHERE k.source <> $2 "
         "  UNION ALL "
         "  SELECT " OWNER_REASON " FROM public.content_projects p "
         "  WHERE p.slug = $1 AND " OWNER_FOREIGN_CLAIM " "
         "  UNION ALL "
         "  SELECT " OUTLINE_REASON " FROM public.contents c WHERE c.slug = $1 "
         "    AND (c.project_id IS DISTINCT FROM " PROJECT_ID " OR NOT c.ai_generated)"
         ") "
         "SELECT coalesce((SELECT " V_REFUSAL " FROM v LIMIT 1), 0) AS affected"},

    /* $1 slugs, $2 display names */
    [STMT_MINDS_ENSURE] = {.name = "co_minds_ensure",
                           "INSERT INTO public.minds (slug, display_name) "
                           "SELECT s, d FROM unnest($1::text[], $2::text[]) AS u(s, d) "
                           "ON CONFLICT (slug) DO NOTHING"},

    /* $1 course, $2 source. The course is this source's when no other source claimed it
     * first: the claim is made before any row of the course is written (and rolled back
     * with the rest when STMT_COURSE_CHECK refuses the project). */
    [STMT_COURSE_CLAIM] =
        {.name = "co_course_claim",
         "WITH k AS (SELECT source FROM creatoros_agent.courses WHERE course = $1), "
         "ins AS ("
         "  INSERT INTO creatoros_agent.courses (course, source) "
         "  SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM k) "
         "  ON CONFLICT (course) DO NOTHING"
         ") "
         "SELECT coalesce((SELECT " SOURCE_REFUSAL " FROM k WHERE k.source <> $2), 0) "
         "AS affected"},

    /* $1 slug, $2 name, $3 description, $4 demographics, $5 psychographics,
     * $6 learning_preferences, $7 technical_level: a new audience profile (an existing one
     * is updated by STMT_AUDIENCE_UPDATE, once the course is known to be this agent's). */
    [STMT_AUDIENCE_INSERT] =
        {.name = "co_audience_insert",
         "INSERT INTO public.audience_profiles (slug, name, description, demographics, "
         "  psychographics, learning_preferences, technical_level) "
         "VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb, $7) "
         "ON CONFLICT (slug) DO NOTHING"},

    /* $1 slug, $2 name, $3 description, $4 metadata, $5 creator mind slug, $6 persona mind
     * slug, $7 has audience. A new project is inserted as the contract says; an existing one
     * is only locked (the DO UPDATE's WHERE is evaluated after the row lock, and being false
     * changes nothing and checks no policy), so that nobody changes, deletes or re-creates
     * it until the course's transaction ends and STMT_COURSE_CHECK judges it as it is. */
    [STMT_PROJECT_HOLD] =
        {.name = "co_project_hold",
         "INSERT INTO public.content_projects AS p (slug, name, description, project_type, "
         "  status, project_metadata, creator_mind_id, persona_mind_id, target_audience_id) "
         "VALUES ($1, $2, $3, 'course', 'in_progress', $4::jsonb, " PROJECT_CREATOR
         ", " PROJECT_PERSONA ", " PROJECT_AUDIENCE ") "
         "ON CONFLICT (slug) DO UPDATE SET status = p.status WHERE false"},

    /* $1 course, $2 source, $3 creator mind slug (NULL: none named). The project, locked
     * by STMT_PROJECT_HOLD, is the course's to write when its owner is the creator the
     * agent would set (both may be null), or when this source claimed the course in an
     * earlier transaction (or, before claims were recorded, synced files of it). Anything
     * else is another mind's project: the course is refused. */
    [STMT_COURSE_CHECK] = {.name = "co_course_check",
                           "SELECT coalesce((SELECT " OWNER_REFUSAL " "
                           "FROM public.content_projects p WHERE p.slug = $1 "
                           "AND " OWNER_FOREIGN_CHECK "), 0) AS affected"},

    /* $1 slug, $2 name, $3 description, $4 demographics, $5 psychographics,
     * $6 learning_preferences, $7 technical_level. An audience profile that is another
     * project's audience is never changed: the brief is refused. */
    [STMT_AUDIENCE_UPDATE] =
        {.name = "co_audience_update",
         "WITH o AS ("
         "  SELECT op.slug FROM public.audience_profiles a "
         "  JOIN public.content_projects op ON op.target_audience_id = a.id "
         "  WHERE a.slug = $1 AND op.slug <> $1 LIMIT 1"
         "), up AS ("
         "  UPDATE public.audience_profiles AS a SET name = $2, description = $3, "
         "    demographics = $4::jsonb, psychographics = $5::jsonb, "
         "    learning_preferences = $6::jsonb, technical_level = $7 "
         "  WHERE a.slug = $1 AND NOT EXISTS (SELECT 1 FROM o) "
         "    AND (a.name, a.description, a.demographics, a.psychographics, "
         "         a.learning_preferences, a.technical_level) IS DISTINCT FROM "
         "        ($2, $3, $4::jsonb, $5::jsonb, $6::jsonb, $7) "
         "  RETURNING 1"
         ") "
         "SELECT (SELECT count(*) FROM up) + coalesce((SELECT " AUDIENCE_REFUSAL " FROM o), 0) "
         "AS affected",
         .per_value = true},

    /* $1 slug, $2 name, $3 description, $4 metadata, $5 creator mind slug, $6 persona mind
     * slug, $7 has audience. A status people set by hand (planning, completed) is kept; an
     * archived project whose course came back is in progress again; an owner is never
     * nulled (no creator named keeps the one the project has). */
    [STMT_PROJECT_UPDATE] =
        {.name = "co_project_update",
         "UPDATE public.content_projects AS p SET name = v.name, description = v.description, "
         "  project_type = 'course', "
         "  status = CASE WHEN p.status = 'archived' THEN 'in_progress' ELSE p.status END, "
         "  project_metadata = v.meta, creator_mind_id = coalesce(v.creator, p.creator_mind_id), "
         "  persona_mind_id = v.persona, target_audience_id = v.audience "
         "FROM (SELECT $2::text, $3::text, $4::jsonb, " PROJECT_CREATOR ", " PROJECT_PERSONA
         ", " PROJECT_AUDIENCE ") AS v(name, description, meta, creator, persona, audience) "
         "WHERE p.slug = $1 "
         "  AND (p.name, p.description, p.project_type, coalesce(p.status = 'archived', false), "
         "       p.project_metadata, p.creator_mind_id, p.persona_mind_id, p.target_audience_id) "
         "  IS DISTINCT FROM (v.name, v.description, 'course', false, v.meta, "
         "       coalesce(v.creator, p.creator_mind_id), v.persona, v.audience)"},

    /* $1 slug: the project of a course whose brief was not re-read is not archived;
     * nothing else changes (STMT_PROJECT_HOLD made it when it was missing). */
    [STMT_PROJECT_ENSURE] = {.name = "co_project_ensure",
                             "UPDATE public.content_projects SET status = 'in_progress' "
                             "WHERE slug = $1 AND status = 'archived'"},

    /* $1 course slug, $2 title, $3 content, $4 metadata, $5 file_path */
    [STMT_OUTLINE_UPSERT] = {.name = "co_outline_upsert",
                             OUTLINE_WRITE("(slug, content_type, title, content, metadata, "
                                           "file_path, project_id, ai_generated, "
                                           "parent_content_id, sequence_order) "
                                           "SELECT $1, 'course_outline', $2, $3, $4::jsonb, $5, "
                                           "p.id, true, NULL, NULL FROM p",
                                           "content_type = EXCLUDED.content_type, "
                                           "title = EXCLUDED.title, content = EXCLUDED.content, "
                                           "metadata = EXCLUDED.metadata, "
                                           "file_path = EXCLUDED.file_path, "
                                           "parent_content_id = NULL, sequence_order = NULL, "
                                           "deleted_at = NULL",
                                           "(c.content_type, c.title, c.content, c.metadata, "
                                           "c.file_path, c.parent_content_id, c.sequence_order, "
                                           "c.deleted_at) IS DISTINCT FROM "
                                           "(EXCLUDED.content_type, EXCLUDED.title, "
                                           "EXCLUDED.content, EXCLUDED.metadata, "
                                           "EXCLUDED.file_path, NULL::uuid, NULL::smallint, "
                                           "NULL::timestamptz)")},

    /* $1 course slug: the outline exists and is live (its brief was not re-read). */
    [STMT_OUTLINE_ENSURE] = {.name = "co_outline_ensure",
                             OUTLINE_WRITE("(slug, content_type, title, metadata, project_id, "
                                           "ai_generated) "
                                           "SELECT $1, 'course_outline', p.name, '{}', p.id, "
                                           "true FROM p",
                                           "deleted_at = NULL", "c.deleted_at IS NOT NULL")},

    /* $1 source, then arrays: $2 path, $3 course, $4 kind, $5 size, $6 mtime_ns, $7 hash,
     * $8 module_no, $9 lesson_no, $10 module_title, $11 error. A rejected file keeps the
     * module facts of its last good version: its rows are untouched, so they stay live.
     * A file rejected again for the same reason, unchanged, costs no write. */
    [STMT_STATE_UPSERT] =
        {.name = "co_state_upsert",
         "INSERT INTO creatoros_agent.file_state AS f (source, path, course, kind, size, "
         "  mtime_ns, hash, module_no, lesson_no, module_title, error, error_at, synced_at) "
         "SELECT $1, u.path, u.course, u.kind, u.size, u.mtime_ns, u.hash, u.module_no, "
         "  u.lesson_no, u.module_title, u.error, "
         "  CASE WHEN u.error IS NOT NULL THEN now() END, now() "
         "FROM unnest($2::text[], $3::text[], $4::text[], $5::int8[], $6::int8[], $7::int8[], "
         "  $8::int8[], $9::int8[], $10::text[], $11::text[]) "
         "  AS u(path, course, kind, size, mtime_ns, hash, module_no, lesson_no, module_title, "
         "       error) "
         "ON CONFLICT (source, path) DO UPDATE SET course = EXCLUDED.course, "
         "  kind = EXCLUDED.kind, size = EXCLUDED.size, mtime_ns = EXCLUDED.mtime_ns, "
         "  hash = EXCLUDED.hash, "
         "  module_no = CASE WHEN EXCLUDED.error IS NULL THEN EXCLUDED.module_no "
         "                   ELSE f.module_no END, "
         "  lesson_no = CASE WHEN EXCLUDED.error IS NULL THEN EXCLUDED.lesson_no "
         "                   ELSE f.lesson_no END, "
         "  module_title = CASE WHEN EXCLUDED.error IS NULL THEN EXCLUDED.module_title "
         "                      ELSE f.module_title END, "
         "  error = EXCLUDED.error, "
         "  error_at = CASE WHEN EXCLUDED.error IS NULL THEN NULL "
         "                  WHEN f.error IS NOT DISTINCT FROM EXCLUDED.error THEN f.error_at "
         "                  ELSE now() END, "
         "  synced_at = now() "
         "WHERE EXCLUDED.error IS NULL "
         "   OR (f.course, f.kind, f.size, f.mtime_ns, f.hash, f.error) IS DISTINCT FROM "
         "      (EXCLUDED.course, EXCLUDED.kind, EXCLUDED.size, EXCLUDED.mtime_ns, "
         "       EXCLUDED.hash, EXCLUDED.error)"},

    /* $1 source, $2 paths */
    [STMT_STATE_DELETE] = {.name = "co_state_delete",
                           "DELETE FROM creatoros_agent.file_state "
                           "WHERE source = $1 AND path = ANY($2::text[])"},

    /* $1 source, $2 paths, $3 mtime_ns: same bytes, new mtime; only our bookkeeping moves. */
    [STMT_STATE_TOUCH] = {.name = "co_state_touch",
                          "UPDATE creatoros_agent.file_state AS f SET mtime_ns = u.mtime_ns "
                          "FROM unnest($2::text[], $3::int8[]) AS u(path, mtime_ns) "
                          "WHERE f.source = $1 AND f.path = u.path"},

    /* $1 course slug, then arrays: $2 lesson slugs, $3 the same files' names without ".md"
     * (the original persister's slugs). A live lesson of the course's project that the
     * persister wrote (that slug, no file_path, written by AI) takes the contract's slug
     * when no row holds it yet: same id, so links to it stay; STMT_LESSONS_UPSERT then sets
     * its columns. Two files of one name: the first path adopts it. Returns (slug, id) of
     * each row adopted. */
    [STMT_LESSONS_ADOPT] =
        {.name = "co_lessons_adopt",
         "WITH l AS ("
         "  SELECT DISTINCT ON (u.legacy) u.slug, c.id "
         "  FROM unnest($2::text[], $3::text[]) AS u(slug, legacy) "
         /* a lookup by slug for each file, fenced (OFFSET 0) so that it is never a scan of
          * the project's rows */
         "  CROSS JOIN LATERAL (SELECT c.id, c.project_id, c.content_type, c.ai_generated, "
         "      c.deleted_at, c.file_path FROM public.contents c WHERE c.slug = u.legacy "
         "      OFFSET 0) c "
         "  WHERE c.project_id = " PROJECT_ID " AND c.content_type = 'course_lesson' "
         "    AND c.ai_generated AND c.deleted_at IS NULL AND c.file_path IS NULL "
         "    AND NOT EXISTS (SELECT 1 FROM public.contents x WHERE x.slug = u.slug) "
         "  ORDER BY u.legacy, u.slug COLLATE \"C\""
         ") "
         "UPDATE public.contents AS c SET slug = l.slug FROM l WHERE c.id = l.id "
         "RETURNING c.slug, c.id"},

    /* $1 course slug. Modules follow from the course's recorded lessons (any source): one
     * per module number, titled by the lowest-numbered lesson that names it; a module
     * that no live lesson has any more is soft-deleted. A module slug held by a row that
     * is not the course's own is left alone (the lessons that would hang under it are
     * refused by STMT_LESSONS_UPSERT). */
    [STMT_MODULES_SYNC] =
        {.name = "co_modules_sync",
         "WITH live AS ("
         "  SELECT DISTINCT ON (module_no) module_no, module_title "
         "  FROM creatoros_agent.file_state "
         "  WHERE course = $1 AND kind = 'lesson' AND module_no IS NOT NULL "
         "  ORDER BY " MODULE_ORDER_SQL "), want AS ("
         "  SELECT $1 || '" ROWS_MODULE_SLUG_INFIX "' || module_no AS slug, "
         "    coalesce(module_title, 'Module ' || module_no) AS title, "
         "    CASE WHEN module_no BETWEEN 0 AND 32767 THEN module_no::smallint END AS seq "
         "  FROM live"
         "), o AS ("
         "  SELECT id, project_id "
         "  FROM (SELECT id, project_id FROM public.contents WHERE slug = $1 OFFSET 0) o "
         "  WHERE project_id = " PROJECT_ID " "
         "), up AS ("
         "  INSERT INTO public.contents AS c (slug, content_type, title, parent_content_id, "
         "    sequence_order, project_id, ai_generated) "
         "  SELECT w.slug, 'course_module', w.title, o.id, w.seq, o.project_id, true "
         "  FROM want w CROSS JOIN o "
         "  ON CONFLICT (slug) DO UPDATE SET content_type = EXCLUDED.content_type, "
         "    title = EXCLUDED.title, parent_content_id = EXCLUDED.parent_content_id, "
         "    sequence_order = EXCLUDED.sequence_order, deleted_at = NULL "
         "  WHERE c.project_id = EXCLUDED.project_id AND c.ai_generated "
         "    AND (c.content_type, c.title, c.parent_content_id, c.sequence_order, "
         "         c.deleted_at) IS DISTINCT FROM "
         "        (EXCLUDED.content_type, EXCLUDED.title, EXCLUDED.parent_content_id, "
         "         EXCLUDED.sequence_order, NULL::timestamptz) "
         "  RETURNING 1"
         "), gone AS ("
         "  UPDATE public.contents SET deleted_at = now() "
         "  WHERE project_id = " PROJECT_ID " "
         "    AND content_type = 'course_module' AND deleted_at IS NULL AND ai_generated "
         "    AND slug NOT IN (SELECT slug FROM want) "
         "  RETURNING 1"
         ") "
         "SELECT (SELECT count(*) FROM up) + (SELECT count(*) FROM gone) AS affected",
         .per_value = true},

    /* $1 course slug, then arrays: $2 slug, $3 title, $4 content, $5 metadata, $6 file_path,
     * $7 parent slug, $8 sequence_order, $9 status, $10 fidelity_score. Parents are looked
     * up inside the course's project. A lesson whose slug is held by a row that is not the
     * course's own, or whose parent's slug is, is refused (that row is left untouched). */
    [STMT_LESSONS_UPSERT] =
        {.name = "co_lessons_upsert",
         "WITH up AS ("
         "  INSERT INTO public.contents AS c (slug, content_type, title, content, metadata, "
         "    file_path, parent_content_id, sequence_order, status, fidelity_score, project_id, "
         "    ai_generated) "
         "  SELECT u.slug, 'course_lesson', u.title, u.content, u.metadata::jsonb, u.file_path, "
         "    par.id, u.seq::smallint, u.status, u.fidelity::numeric, p.id, true "
         "  FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], "
         "    $8::int8[], $9::text[], $10::text[]) "
         "    AS u(slug, title, content, metadata, file_path, parent_slug, seq, status, "
         "         fidelity) "
         "  JOIN public.content_projects p ON p.slug = $1 "
         "  LEFT JOIN public.contents par ON par.slug = u.parent_slug AND par.project_id = p.id "
         "  ON CONFLICT (slug) DO UPDATE SET content_type = EXCLUDED.content_type, "
         "    title = EXCLUDED.title, content = EXCLUDED.content, metadata = EXCLUDED.metadata, "
         "    file_path = EXCLUDED.file_path, parent_content_id = EXCLUDED.parent_content_id, "
         "    sequence_order = EXCLUDED.sequence_order, status = EXCLUDED.status, "
         "    fidelity_score = EXCLUDED.fidelity_score, deleted_at = NULL "
         "  WHERE c.project_id = EXCLUDED.project_id AND c.ai_generated "
         "    AND (c.content_type, c.title, c.content, c.metadata, c.file_path, "
         "         c.parent_content_id, c.sequence_order, c.status, c.fidelity_score, "
         "         c.deleted_at) IS DISTINCT FROM "
         "        (EXCLUDED.content_type, EXCLUDED.title, EXCLUDED.content, EXCLUDED.metadata, "
         "         EXCLUDED.file_path, EXCLUDED.parent_content_id, EXCLUDED.sequence_order, "
         "         EXCLUDED.status, EXCLUDED.fidelity_score, NULL::timestamptz) "
         "  RETURNING c.slug, c.parent_content_id IS NULL AS orphan"
         ") "
         "SELECT (SELECT count(*) FROM up) + coalesce(("
         "  SELECT " LESSON_REFUSAL " "
         "  FROM unnest($2::text[], $7::text[]) AS b(slug, parent_slug) "
         "  LEFT JOIN up ON up.slug = b.slug "
         /* not written, and not the course's own row left as it was; or written without a
          * parent whose slug someone else holds */
         "  WHERE CASE WHEN up.slug IS NULL "
         "    THEN NOT EXISTS (SELECT 1 FROM public.contents c WHERE c.slug = b.slug "
         "                     AND c.project_id = " PROJECT_ID " AND c.ai_generated) "
         "    ELSE up.orphan AND EXISTS (SELECT 1 FROM public.contents x "
         "                               WHERE x.slug = b.parent_slug) END "
         "  LIMIT 1), 0) AS affected"},

    /* $1 course slug, $2 slugs: files that are gone. Nothing the agent wrote is ever
     * hard-deleted, and only the course's own rows are soft-deleted. */
    [STMT_CONTENTS_SOFT_DELETE] = {.name = "co_contents_soft_delete",
                                   "UPDATE public.contents SET deleted_at = now() "
                                   "WHERE slug = ANY($2::text[]) AND deleted_at IS NULL "
                                   "  AND ai_generated AND project_id = " PROJECT_ID},

    /* $1 tag names (distinct, sorted). A tag is its name; an existing one is used as it is,
     * whatever its type. */
    [STMT_TAGS_ENSURE] = {.name = "co_tags_ensure",
                          "INSERT INTO public.tags (name, tag_type) "
                          "SELECT n, 'theme' FROM unnest($1::text[]) AS u(n) "
                          "ON CONFLICT (name) DO NOTHING"},

    /* $1 slugs of the contents whose tags are being set, then pairs: $2 content slug (one
     * of $1), $3 tag name. Links of a tag that left the front-matter are removed. Every
     * content named here was written by this transaction's upserts, which refuse (and so
     * roll back) a slug that is not the course's own. The contents are looked up once, by
     * slug, and their links by content id (an array, not a join): so neither contents nor
     * content_tags is ever scanned whole, whatever the planner thinks of their sizes. */
    [STMT_TAGS_LINK] =
        {.name = "co_tags_link",
         "WITH c AS (SELECT id, slug FROM public.contents WHERE slug = ANY($1::text[])), "
         "want AS ("
         "  SELECT DISTINCT c.id AS content_id, t.id AS tag_id "
         "  FROM unnest($2::text[], $3::text[]) AS u(cs, tn) "
         "  JOIN c ON c.slug = u.cs JOIN public.tags t ON t.name = u.tn"
         "), del AS ("
         "  DELETE FROM public.content_tags ct "
         "  WHERE ct.content_id = ANY(ARRAY(SELECT id FROM c)) "
         "    AND NOT EXISTS (SELECT 1 FROM want w "
         "                    WHERE w.content_id = ct.content_id AND w.tag_id = ct.tag_id) "
         "  RETURNING 1"
         "), ins AS ("
         "  INSERT INTO public.content_tags (content_id, tag_id) "
         "  SELECT content_id, tag_id FROM want ON CONFLICT DO NOTHING RETURNING 1"
         ") "
         "SELECT (SELECT count(*) FROM del) + (SELECT count(*) FROM ins) AS affected",
         .per_value = true},

    /* $1 slugs of contents whose front-matter names no tag: their links are removed (the
     * common case of STMT_TAGS_LINK, far cheaper to plan). */
    [STMT_TAGS_UNLINK] = {.name = "co_tags_unlink",
                          "DELETE FROM public.content_tags ct USING public.contents c "
                          "WHERE c.slug = ANY($1::text[]) AND ct.content_id = c.id",
                          .per_value = true},

    /* $1 course slug: outline, modules and lessons linked to the project's creator mind. */
    [STMT_CREATOR_LINKS] = {.name = "co_creator_links", CREATOR_LINKS(""), .per_value = true},

    /* $1 course slug, $2 content slugs: the same for these contents only (new lessons of a
     * course whose creator did not change, so that every other content is in line). */
    [STMT_CREATOR_LINKS_SOME] = {.name = "co_creator_links_some",
                                 CREATOR_LINKS(" AND c.slug = ANY($2::text[])"),
                                 .per_value = true},

    /* $1 source, $2 course slug: the course directory is gone. Only a course this source
     * claimed (or, before claims were recorded, synced) is archived: a course refused to
     * it leaves the project it met as it is. */
    [STMT_COURSE_ARCHIVE] =
        {.name = "co_course_archive",
         "WITH mine AS ("
         "  SELECT 1 WHERE EXISTS (SELECT 1 FROM creatoros_agent.courses "
         "                         WHERE course = $2 AND source = $1) "
         "    OR (NOT EXISTS (SELECT 1 FROM creatoros_agent.courses WHERE course = $2) "
         "        AND EXISTS (SELECT 1 FROM creatoros_agent.file_state "
         "                    WHERE course = $2 AND source = $1 AND error IS NULL))"
         "), p AS ("
         "  UPDATE public.content_projects SET status = 'archived' "
         "  WHERE slug = $2 AND status <> 'archived' AND EXISTS (SELECT 1 FROM mine) "
         "  RETURNING id"
         "), c AS ("
         "  UPDATE public.contents SET deleted_at = now() "
         "  WHERE project_id = (SELECT id FROM public.content_projects WHERE slug = $2) "
         "    AND EXISTS (SELECT 1 FROM mine) AND deleted_at IS NULL AND ai_generated "
         "    AND content_type IN ('course_outline', 'course_module', 'course_lesson') "
         "  RETURNING 1"
         "), st AS ("
         "  DELETE FROM creatoros_agent.file_state WHERE source = $1 AND course = $2"
         ") "
         "SELECT (SELECT count(*) FROM p) + (SELECT count(*) FROM c) AS affected",
         .per_value = true},

    /* $1 source, $2 root */
    [STMT_SOURCE_TOUCH] =
        {.name = "co_source_touch",
         "INSERT INTO creatoros_agent.sources AS s (source, root, last_sync_at) "
         "VALUES ($1, $2, now()) "
         "ON CONFLICT (source) DO UPDATE SET root = EXCLUDED.root, last_sync_at = now()"},
};
