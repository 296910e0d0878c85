-- fingerprint.sql -- one line that summarizes the rows docs/CONTRACT.md defines, so that two
-- runs over the same tree (a clean backfill and one resumed after a crash, two builds of the
-- agent, a run today and one next month) can be compared with a string equality:
--
--   psql "$URL" -XAtq -v ON_ERROR_STOP=1 -f bench/fingerprint.sql
--
-- Output: projects|outlines|modules|lessons|live contents|tag links|mind links|
--         md5(projects)|md5(contents)|md5(tag links)|md5(mind links)
-- (an empty schema gives 0|0|0|0|0|0|0|...). What is hashed, in a fixed order (COLLATE "C",
-- so the database's collation does not matter):
--   content_projects: slug, name, description, project_type, status, project_metadata,
--     the creator and persona minds' slugs, the audience's slug and technical level;
--   contents: slug, content_type, title, the parent's slug, sequence_order, md5(content),
--     metadata, file_path, whether live, the project's slug, ai_generated, status,
--     fidelity_score;
--   content_tags as (content slug, tag name); content_minds as (content slug, mind slug,
--     role).
-- Not hashed: ids, timestamps (created, updated, deleted, published), generation ids, and
-- the agent's own file state.
WITH p AS (
    SELECT p.slug, p.name, p.description, p.project_type, p.status, p.project_metadata::text AS meta,
           cm.slug AS creator, pm.slug AS persona, a.slug AS audience, a.technical_level
    FROM public.content_projects p
    LEFT JOIN public.minds cm ON cm.id = p.creator_mind_id
    LEFT JOIN public.minds pm ON pm.id = p.persona_mind_id
    LEFT JOIN public.audience_profiles a ON a.id = p.target_audience_id
), c AS (
    SELECT c.slug, c.content_type, c.title, par.slug AS parent, c.sequence_order,
           md5(c.content) AS body, c.metadata::text AS meta, c.file_path,
           c.deleted_at IS NULL AS live, pr.slug AS project, c.ai_generated, c.status,
           c.fidelity_score
    FROM public.contents c
    LEFT JOIN public.contents par ON par.id = c.parent_content_id
    LEFT JOIN public.content_projects pr ON pr.id = c.project_id
), t AS (
    SELECT c.slug, tg.name
    FROM public.content_tags ct
    JOIN public.contents c ON c.id = ct.content_id
    JOIN public.tags tg ON tg.id = ct.tag_id
), m AS (
    SELECT c.slug, mi.slug AS mind, cm.role
    FROM public.content_minds cm
    JOIN public.contents c ON c.id = cm.content_id
    JOIN public.minds mi ON mi.id = cm.mind_id
)
SELECT concat_ws('|',
    (SELECT count(*) FROM p),
    (SELECT count(*) FROM c WHERE content_type = 'course_outline'),
    (SELECT count(*) FROM c WHERE content_type = 'course_module'),
    (SELECT count(*) FROM c WHERE content_type = 'course_lesson'),
    (SELECT count(*) FROM c WHERE live),
    (SELECT count(*) FROM t),
    (SELECT count(*) FROM m),
    (SELECT md5(coalesce(string_agg(p::text, E'\n' ORDER BY p.slug COLLATE "C"), '')) FROM p),
    (SELECT md5(coalesce(string_agg(c::text, E'\n'
                                    ORDER BY c.slug COLLATE "C", c.content_type COLLATE "C"), ''))
       FROM c),
    (SELECT md5(coalesce(string_agg(t::text, E'\n'
                                    ORDER BY t.slug COLLATE "C", t.name COLLATE "C"), ''))
       FROM t),
    (SELECT md5(coalesce(string_agg(m::text, E'\n'
                                    ORDER BY m.slug COLLATE "C", m.mind COLLATE "C",
                                             m.role COLLATE "C"), ''))
       FROM m));
