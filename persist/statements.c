/* statements.c -- the SQL texts of statements.h. */
#include "persist/statements.h"

/* The lock key is per course and shared by every agent and backfill on any host. */
#define COURSE_LOCK                                                                                \
    "SELECT pg_advisory_xact_lock(hashtextextended('creatoros-agent:course:' || $1, 0))"

/* Creator links of the course $1's contents, those of SCOPE (a condition on contents c, or
 * ""): a link to another mind is removed, the link to the project's creator added. */
#define CREATOR_LINKS(SCOPE)                                                                       \
    "WITH p AS (SELECT id, creator_mind_id FROM public.content_projects WHERE slug = $1), "        \
    "del AS ("                                                                                     \
    "  DELETE FROM public.content_minds cm USING public.contents c, p "                            \
    "  WHERE c.project_id = p.id" SCOPE " AND cm.content_id = c.id AND cm.role = 'creator' "       \
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

const struct stmt_def stmt_defs[STMT_COUNT] = {
    [STMT_LOCK_COURSE] = {"co_lock_course", COURSE_LOCK},

    /* $1 slugs, $2 display names */
    [STMT_MINDS_ENSURE] = {"co_minds_ensure",
                           "INSERT INTO public.minds (slug, display_name) "
                           "SELECT s, d FROM unnest($1::text[], $2::text[]) AS u(s, d) "
                           "ON CONFLICT (slug) DO NOTHING"},

    /* $1 slug, $2 name, $3 description, $4 demographics, $5 psychographics,
     * $6 learning_preferences, $7 technical_level */
    [STMT_AUDIENCE_UPSERT] =
        {"co_audience_upsert",
         "INSERT INTO public.audience_profiles AS a (slug, name, description, demographics, "
         "  psychographics, learning_preferences, technical_level) "
         "VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb, $7) "
         "ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name, "
         "  description = EXCLUDED.description, demographics = EXCLUDED.demographics, "
         "  psychographics = EXCLUDED.psychographics, "
         "  learning_preferences = EXCLUDED.learning_preferences, "
         "  technical_level = EXCLUDED.technical_level "
         "WHERE (a.name, a.description, a.demographics, a.psychographics, "
         "       a.learning_preferences, a.technical_level) IS DISTINCT FROM "
         "      (EXCLUDED.name, EXCLUDED.description, EXCLUDED.demographics, "
         "       EXCLUDED.psychographics, EXCLUDED.learning_preferences, "
         "EXCLUDED.technical_level)"},

    /* $1 slug, $2 name, $3 description, $4 metadata, $5 creator mind slug, $6 persona mind
     * slug, $7 has audience. A status people set by hand (planning, completed) is kept; an
     * archived project whose course came back is in progress again. */
    [STMT_PROJECT_UPSERT] =
        {"co_project_upsert",
         "INSERT INTO public.content_projects AS p (slug, name, description, project_type, "
         "  status, project_metadata, creator_mind_id, persona_mind_id, target_audience_id) "
         "VALUES ($1, $2, $3, 'course', 'in_progress', $4::jsonb, "
         "  (SELECT id FROM public.minds WHERE slug = $5), "
         "  (SELECT id FROM public.minds WHERE slug = $6), "
         "  CASE WHEN $7::boolean THEN (SELECT id FROM public.audience_profiles WHERE slug = $1) "
         "END) "
         "ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name, "
         "  description = EXCLUDED.description, project_type = 'course', "
         "  status = CASE WHEN p.status = 'archived' THEN 'in_progress' ELSE p.status END, "
         "  project_metadata = EXCLUDED.project_metadata, "
         "  creator_mind_id = EXCLUDED.creator_mind_id, "
         "  persona_mind_id = EXCLUDED.persona_mind_id, "
         "  target_audience_id = EXCLUDED.target_audience_id "
         "WHERE (p.name, p.description, p.project_type, p.status = 'archived', "
         "       p.project_metadata, p.creator_mind_id, p.persona_mind_id, p.target_audience_id) "
         "  IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.description, 'course', false, "
         "       EXCLUDED.project_metadata, EXCLUDED.creator_mind_id, EXCLUDED.persona_mind_id, "
         "       EXCLUDED.target_audience_id)"},

    /* $1 slug, $2 creator mind slug: the project of a course whose brief was not re-read
     * (unchanged or rejected) exists and is not archived; nothing else changes. */
    [STMT_PROJECT_ENSURE] =
        {"co_project_ensure",
         "INSERT INTO public.content_projects AS p (slug, name, project_type, status, "
         "  project_metadata, creator_mind_id) "
         "VALUES ($1, $1, 'course', 'in_progress', '{}', "
         "  (SELECT id FROM public.minds WHERE slug = $2)) "
         "ON CONFLICT (slug) DO UPDATE SET status = 'in_progress' WHERE p.status = 'archived'"},

    /* $1 course slug, $2 title, $3 content, $4 metadata, $5 file_path */
    [STMT_OUTLINE_UPSERT] =
        {"co_outline_upsert",
         "INSERT INTO public.contents AS c (slug, content_type, title, content, metadata, "
         "  file_path, project_id, ai_generated, parent_content_id, sequence_order) "
         "SELECT $1, 'course_outline', $2, $3, $4::jsonb, $5, p.id, true, NULL, NULL "
         "FROM public.content_projects p WHERE p.slug = $1 "
         "ON CONFLICT (slug) DO UPDATE SET content_type = EXCLUDED.content_type, "
         "  title = EXCLUDED.title, content = EXCLUDED.content, metadata = EXCLUDED.metadata, "
         "  file_path = EXCLUDED.file_path, project_id = EXCLUDED.project_id, "
         "  ai_generated = true, parent_content_id = NULL, sequence_order = NULL, "
         "  deleted_at = NULL "
         "WHERE (c.content_type, c.title, c.content, c.metadata, c.file_path, c.project_id, "
         "       c.ai_generated, c.parent_content_id, c.sequence_order, c.deleted_at) "
         "  IS DISTINCT FROM (EXCLUDED.content_type, EXCLUDED.title, EXCLUDED.content, "
         "       EXCLUDED.metadata, EXCLUDED.file_path, EXCLUDED.project_id, true, "
         "       NULL::uuid, NULL::smallint, NULL::timestamptz)"},

    /* $1 course slug: the outline exists and is live (its brief was not re-read). */
    [STMT_OUTLINE_ENSURE] =
        {"co_outline_ensure",
         "INSERT INTO public.contents AS c (slug, content_type, title, metadata, project_id, "
         "  ai_generated) "
         "SELECT $1, 'course_outline', p.name, '{}', p.id, true "
         "FROM public.content_projects p WHERE p.slug = $1 "
         "ON CONFLICT (slug) DO UPDATE SET deleted_at = NULL WHERE c.deleted_at IS NOT NULL"},

    /* $1 source, then arrays: $2 path, $3 course, $4 kind, $5 size, $6 mtime_ns, $7 hash,
     * $8 module_no, $9 lesson_no, $10 module_title, $11 error. A rejected file keeps the
     * module facts of its last good version: its rows are untouched, so they stay live. */
    [STMT_STATE_UPSERT] =
        {"co_state_upsert",
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
         "  synced_at = now()"},

    /* $1 source, $2 paths */
    [STMT_STATE_DELETE] = {"co_state_delete", "DELETE FROM creatoros_agent.file_state "
                                              "WHERE source = $1 AND path = ANY($2::text[])"},

    /* $1 source, $2 paths, $3 mtime_ns: same bytes, new mtime; only our bookkeeping moves. */
    [STMT_STATE_TOUCH] = {"co_state_touch",
                          "UPDATE creatoros_agent.file_state AS f SET mtime_ns = u.mtime_ns "
                          "FROM unnest($2::text[], $3::int8[]) AS u(path, mtime_ns) "
                          "WHERE f.source = $1 AND f.path = u.path"},

    /* $1 course slug. Modules follow from the course's recorded lessons (any source): one
     * per module number, titled by the lowest-numbered lesson that names it; a module
     * that no live lesson has any more is soft-deleted. */
    [STMT_MODULES_SYNC] =
        {"co_modules_sync",
         "WITH live AS ("
         "  SELECT DISTINCT ON (module_no) module_no, module_title "
         "  FROM creatoros_agent.file_state "
         "  WHERE course = $1 AND kind = 'lesson' AND module_no IS NOT NULL "
         "  ORDER BY module_no, module_title IS NULL, lesson_no NULLS LAST, path COLLATE \"C\""
         "), want AS ("
         "  SELECT $1 || '/module-' || module_no AS slug, "
         "    coalesce(module_title, 'Module ' || module_no) AS title, "
         "    CASE WHEN module_no BETWEEN 0 AND 32767 THEN module_no::smallint END AS seq "
         "  FROM live"
         "), up AS ("
         "  INSERT INTO public.contents AS c (slug, content_type, title, parent_content_id, "
         "    sequence_order, project_id, ai_generated) "
         "  SELECT w.slug, 'course_module', w.title, o.id, w.seq, o.project_id, true "
         "  FROM want w JOIN public.contents o ON o.slug = $1 "
         "  ON CONFLICT (slug) DO UPDATE SET content_type = EXCLUDED.content_type, "
         "    title = EXCLUDED.title, parent_content_id = EXCLUDED.parent_content_id, "
         "    sequence_order = EXCLUDED.sequence_order, project_id = EXCLUDED.project_id, "
         "    ai_generated = true, deleted_at = NULL "
         "  WHERE (c.content_type, c.title, c.parent_content_id, c.sequence_order, "
         "         c.project_id, c.ai_generated, c.deleted_at) IS DISTINCT FROM "
         "        (EXCLUDED.content_type, EXCLUDED.title, EXCLUDED.parent_content_id, "
         "         EXCLUDED.sequence_order, EXCLUDED.project_id, true, NULL::timestamptz) "
         "  RETURNING 1"
         "), gone AS ("
         "  UPDATE public.contents SET deleted_at = now() "
         "  WHERE project_id = (SELECT id FROM public.content_projects WHERE slug = $1) "
         "    AND content_type = 'course_module' AND deleted_at IS NULL AND ai_generated "
         "    AND slug NOT IN (SELECT slug FROM want) "
         "  RETURNING 1"
         ") "
         "SELECT (SELECT count(*) FROM up) + (SELECT count(*) FROM gone) AS affected"},

    /* $1 course slug, then arrays: $2 slug, $3 title, $4 content, $5 metadata, $6 file_path,
     * $7 parent slug, $8 sequence_order, $9 status, $10 fidelity_score */
    [STMT_LESSONS_UPSERT] =
        {"co_lessons_upsert",
         "INSERT INTO public.contents AS c (slug, content_type, title, content, metadata, "
         "  file_path, parent_content_id, sequence_order, status, fidelity_score, project_id, "
         "  ai_generated) "
         "SELECT u.slug, 'course_lesson', u.title, u.content, u.metadata::jsonb, u.file_path, "
         "  par.id, u.seq::smallint, u.status, u.fidelity::numeric, p.id, true "
         "FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], "
         "  $8::int8[], $9::text[], $10::text[]) "
         "  AS u(slug, title, content, metadata, file_path, parent_slug, seq, status, fidelity) "
         "JOIN public.content_projects p ON p.slug = $1 "
         "LEFT JOIN public.contents par ON par.slug = u.parent_slug "
         "ON CONFLICT (slug) DO UPDATE SET content_type = EXCLUDED.content_type, "
         "  title = EXCLUDED.title, content = EXCLUDED.content, metadata = EXCLUDED.metadata, "
         "  file_path = EXCLUDED.file_path, parent_content_id = EXCLUDED.parent_content_id, "
         "  sequence_order = EXCLUDED.sequence_order, status = EXCLUDED.status, "
         "  fidelity_score = EXCLUDED.fidelity_score, project_id = EXCLUDED.project_id, "
         "  ai_generated = true, deleted_at = NULL "
         "WHERE (c.content_type, c.title, c.content, c.metadata, c.file_path, "
         "       c.parent_content_id, c.sequence_order, c.status, c.fidelity_score, "
         "       c.project_id, c.ai_generated, c.deleted_at) IS DISTINCT FROM "
         "      (EXCLUDED.content_type, EXCLUDED.title, EXCLUDED.content, EXCLUDED.metadata, "
         "       EXCLUDED.file_path, EXCLUDED.parent_content_id, EXCLUDED.sequence_order, "
         "       EXCLUDED.status, EXCLUDED.fidelity_score, EXCLUDED.project_id, true, "
         "       NULL::timestamptz)"},

    /* $1 slugs: files that are gone. Nothing the agent wrote is ever hard-deleted. */
    [STMT_CONTENTS_SOFT_DELETE] =
        {"co_contents_soft_delete",
         "UPDATE public.contents SET deleted_at = now() "
         "WHERE slug = ANY($1::text[]) AND deleted_at IS NULL AND ai_generated"},

    /* $1 tag slugs, $2 tag names */
    [STMT_TAGS_ENSURE] =
        {"co_tags_ensure",
         "INSERT INTO public.tags (slug, name, tag_type) "
         "SELECT DISTINCT ON (s) s, n, 'theme' FROM unnest($1::text[], $2::text[]) AS u(s, n) "
         "ON CONFLICT (slug) DO NOTHING"},

    /* $1 slugs of the contents whose tags are being set, then pairs: $2 content slug,
     * $3 tag slug. Links of a tag that left the front-matter are removed. */
    [STMT_TAGS_LINK] =
        {"co_tags_link",
         "WITH want AS ("
         "  SELECT DISTINCT c.id AS content_id, t.id AS tag_id "
         "  FROM unnest($2::text[], $3::text[]) AS u(cs, ts) "
         "  JOIN public.contents c ON c.slug = u.cs JOIN public.tags t ON t.slug = u.ts"
         "), del AS ("
         "  DELETE FROM public.content_tags ct USING public.contents c "
         "  WHERE c.slug = ANY($1::text[]) AND ct.content_id = c.id "
         "    AND NOT EXISTS (SELECT 1 FROM want w "
         "                    WHERE w.content_id = ct.content_id AND w.tag_id = ct.tag_id) "
         "  RETURNING 1"
         "), ins AS ("
         "  INSERT INTO public.content_tags (content_id, tag_id) "
         "  SELECT content_id, tag_id FROM want ON CONFLICT DO NOTHING RETURNING 1"
         ") "
         "SELECT (SELECT count(*) FROM del) + (SELECT count(*) FROM ins) AS affected"},

    /* $1 slugs of contents whose front-matter names no tag: their links are removed (the
     * common case of STMT_TAGS_LINK, far cheaper to plan). */
    [STMT_TAGS_UNLINK] = {"co_tags_unlink",
                          "DELETE FROM public.content_tags ct USING public.contents c "
                          "WHERE c.slug = ANY($1::text[]) AND ct.content_id = c.id"},

    /* $1 course slug: outline, modules and lessons linked to the project's creator mind. */
    [STMT_CREATOR_LINKS] = {"co_creator_links", CREATOR_LINKS("")},

    /* $1 course slug, $2 content slugs: the same for these contents only (new lessons of a
     * course whose creator did not change, so that every other content is in line). */
    [STMT_CREATOR_LINKS_SOME] = {"co_creator_links_some",
                                 CREATOR_LINKS(" AND c.slug = ANY($2::text[])")},

    /* $1 source, $2 course slug: the course directory is gone. */
    [STMT_COURSE_ARCHIVE] =
        {"co_course_archive",
         "WITH p AS ("
         "  UPDATE public.content_projects SET status = 'archived' "
         "  WHERE slug = $2 AND status <> 'archived' RETURNING id"
         "), c AS ("
         "  UPDATE public.contents SET deleted_at = now() "
         "  WHERE project_id = (SELECT id FROM public.content_projects WHERE slug = $2) "
         "    AND deleted_at IS NULL AND ai_generated "
         "    AND content_type IN ('course_outline', 'course_module', 'course_lesson') "
         "  RETURNING 1"
         "), st AS ("
         "  DELETE FROM creatoros_agent.file_state WHERE source = $1 AND course = $2"
         ") "
         "SELECT (SELECT count(*) FROM p) + (SELECT count(*) FROM c) AS affected"},

    /* $1 source, $2 root */
    [STMT_SOURCE_TOUCH] =
        {"co_source_touch",
         "INSERT INTO creatoros_agent.sources AS s (source, root, last_sync_at) "
         "VALUES ($1, $2, now()) "
         "ON CONFLICT (source) DO UPDATE SET root = EXCLUDED.root, last_sync_at = now()"},
};
