-- check.sql -- what an existing CreatorOS database must hold for the agent: one row per
-- difference (a text naming the object and what is wrong, without a ';': migrate joins them
-- with '; '), none when all is as expected.
--
-- Read by `creatoros-agent migrate` (compiled into the binary, like the migrations) before it
-- changes anything in a database it did not build, and on every later run. It reads the catalog
-- only. The tables, columns and types are those of DATA-CONTRACT.md; `ins` marks the columns the
-- agent inserts (keep in step with the INSERT grants of sql/0011_agent_role.sql): any other
-- NOT NULL column needs a default. `nul`: the agent may write NULL there. The unique keys are
-- those its ON CONFLICT clauses name.

WITH shared(tbl, tord) AS (VALUES
    ('minds', 1), ('tags', 2), ('audience_profiles', 3), ('content_projects', 4),
    ('contents', 5), ('content_minds', 6), ('content_tags', 7)
), want(tbl, col, typ, ins, nul, cord) AS (VALUES
    ('minds', 'id', 'uuid', false, false, 1),
    ('minds', 'slug', 'text', true, false, 2),
    ('minds', 'display_name', 'text', true, false, 3),
    ('tags', 'id', 'bigint', false, false, 1),
    ('tags', 'name', 'text', true, false, 2),
    ('tags', 'tag_type', 'text', true, false, 3),
    ('audience_profiles', 'id', 'uuid', false, false, 1),
    ('audience_profiles', 'slug', 'text', true, false, 2),
    ('audience_profiles', 'name', 'text', true, false, 3),
    ('audience_profiles', 'description', 'text', true, true, 4),
    ('audience_profiles', 'demographics', 'jsonb', true, true, 5),
    ('audience_profiles', 'psychographics', 'jsonb', true, true, 6),
    ('audience_profiles', 'learning_preferences', 'jsonb', true, true, 7),
    ('audience_profiles', 'technical_level', 'text', true, true, 8),
    ('content_projects', 'id', 'uuid', false, false, 1),
    ('content_projects', 'slug', 'text', true, false, 2),
    ('content_projects', 'name', 'text', true, false, 3),
    ('content_projects', 'description', 'text', true, true, 4),
    ('content_projects', 'project_type', 'text', true, false, 5),
    ('content_projects', 'status', 'text', true, false, 6),
    ('content_projects', 'project_metadata', 'jsonb', true, false, 7),
    ('content_projects', 'creator_mind_id', 'uuid', true, true, 8),
    ('content_projects', 'persona_mind_id', 'uuid', true, true, 9),
    ('content_projects', 'target_audience_id', 'uuid', true, true, 10),
    ('contents', 'id', 'uuid', false, false, 1),
    ('contents', 'slug', 'text', true, false, 2),
    ('contents', 'content_type', 'text', true, false, 3),
    ('contents', 'title', 'text', true, false, 4),
    ('contents', 'content', 'text', true, true, 5),
    ('contents', 'metadata', 'jsonb', true, false, 6),
    ('contents', 'file_path', 'text', true, true, 7),
    ('contents', 'project_id', 'uuid', true, false, 8),
    ('contents', 'ai_generated', 'boolean', true, false, 9),
    ('contents', 'parent_content_id', 'uuid', true, true, 10),
    ('contents', 'sequence_order', 'smallint', true, true, 11),
    ('contents', 'status', 'text', true, false, 12),
    ('contents', 'fidelity_score', 'numeric', true, true, 13),
    ('contents', 'deleted_at', 'timestamp with time zone', false, true, 14),
    ('content_minds', 'content_id', 'uuid', true, false, 1),
    ('content_minds', 'mind_id', 'uuid', true, false, 2),
    ('content_minds', 'role', 'text', true, false, 3),
    ('content_tags', 'content_id', 'uuid', true, false, 1),
    ('content_tags', 'tag_id', 'bigint', true, false, 2)
), keys(tbl, cols, kord) AS (VALUES
    ('minds', '{id}'::text[], 1), ('minds', '{slug}', 2),
    ('tags', '{id}', 1), ('tags', '{name}', 2),
    ('audience_profiles', '{id}', 1), ('audience_profiles', '{slug}', 2),
    ('content_projects', '{id}', 1), ('content_projects', '{slug}', 2),
    ('contents', '{id}', 1), ('contents', '{slug}', 2),
    ('content_minds', '{content_id,mind_id}', 1),
    ('content_tags', '{content_id,tag_id}', 1)
), rel AS (
    SELECT s.tbl, s.tord, c.oid
    FROM shared s
    LEFT JOIN pg_catalog.pg_class c
        ON c.oid = pg_catalog.to_regclass('public.' || s.tbl) AND c.relkind IN ('r', 'p')
)
SELECT p FROM (
    SELECT r.tord, 0 AS cord, format('public.%s is missing (or is not a table)', r.tbl) AS p
    FROM rel r WHERE r.oid IS NULL

    UNION ALL
    SELECT r.tord, w.cord, CASE
        WHEN a.attnum IS NULL THEN format('public.%s has no column %s', r.tbl, w.col)
        WHEN pg_catalog.format_type(a.atttypid, NULL) <> w.typ
            THEN format('public.%s.%s is %s, the agent writes %s', r.tbl, w.col,
                        pg_catalog.format_type(a.atttypid, a.atttypmod), w.typ)
        WHEN w.nul AND a.attnotnull
            THEN format('public.%s.%s is NOT NULL, the agent writes NULL there', r.tbl, w.col)
        END
    FROM rel r
    JOIN want w ON w.tbl = r.tbl
    LEFT JOIN pg_catalog.pg_attribute a
        ON a.attrelid = r.oid AND a.attname = w.col AND a.attnum > 0 AND NOT a.attisdropped
    WHERE r.oid IS NOT NULL

    UNION ALL
    -- a NOT NULL column the agent's inserts leave to a default that does not exist
    SELECT r.tord, 100 + a.attnum,
           format('public.%s.%s is NOT NULL without a default, and the agent''s inserts leave it out',
                  r.tbl, a.attname)
    FROM rel r
    JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE a.attnotnull AND NOT a.atthasdef AND a.attidentity = '' AND a.attgenerated = ''
      AND NOT EXISTS (SELECT 1 FROM want w WHERE w.tbl = r.tbl AND w.col = a.attname AND w.ins)

    UNION ALL
    -- ON CONFLICT needs a valid, immediate, non-partial unique index on exactly these columns
    SELECT r.tord, 200 + k.kord,
           format('public.%s has no unique key on (%s)', r.tbl, array_to_string(k.cols, ', '))
    FROM rel r
    JOIN keys k ON k.tbl = r.tbl
    WHERE r.oid IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_index i
        WHERE i.indrelid = r.oid AND i.indisunique AND i.indisvalid AND i.indimmediate
          AND i.indpred IS NULL AND i.indexprs IS NULL
          AND (SELECT array_agg(a.attname::text ORDER BY a.attname)
               FROM unnest(i.indkey::smallint[]) WITH ORDINALITY AS ik(attnum, n)
               JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attnum = ik.attnum
               WHERE ik.n <= i.indnkeyatts)
              = (SELECT array_agg(c ORDER BY c) FROM unnest(k.cols) c))
) x
WHERE p IS NOT NULL
ORDER BY tord, cord
