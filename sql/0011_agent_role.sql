-- 0011_agent_role.sql -- the login role creatoros-agent connects as, exactly what it may write,
-- and the policies that keep it inside the courses it claimed.
--
-- creatoros_agent: LOGIN, NOBYPASSRLS (its policies always apply), no superuser, createdb,
-- createrole or replication, and no password here (a migration is no place for a secret: the
-- operator sets one, docs/SCHEMA.md). It runs on every database (see 0010); every change it makes
-- to the app's objects is recorded in creatoros_agent.changes with the statement that undoes it,
-- so that `migrate --revert` can take an adoption back. The app's own policies, grants and
-- objects are never altered: this file only adds.
--
-- What the role may do, column by column, is what DATA-CONTRACT.md writes:
--   read every shared table; insert minds (slug, display_name) and tags (name, tag_type), never
--   change one; insert and update audience profiles, projects and contents of the courses it
--   claimed (creatoros_agent.courses), contents only while ai_generated; link and unlink those
--   contents' minds and tags. No DELETE but of links, no TRUNCATE: the agent soft-deletes.

-- ---- the role -------------------------------------------------------------------------------------

DO $do$
DECLARE
    r pg_catalog.pg_roles;
BEGIN
    SELECT * INTO r FROM pg_catalog.pg_roles WHERE rolname = 'creatoros_agent';
    IF NOT FOUND THEN
        BEGIN
            CREATE ROLE creatoros_agent LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
                NOBYPASSRLS;
            INSERT INTO creatoros_agent.changes (made_by, kind, description, undo)
            VALUES ('migrate', 'role', 'role creatoros_agent (LOGIN, NOBYPASSRLS)',
                    'DROP ROLE creatoros_agent');
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL; -- another database's migrate created it meanwhile: not ours to drop
        END;
    ELSIF r.rolsuper OR r.rolbypassrls OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication
          OR NOT r.rolcanlogin THEN
        -- An earlier version gave it BYPASSRLS; now its policies must apply. Only a superuser
        -- may change these attributes: without one, the error says what to ask for.
        BEGIN
            ALTER ROLE creatoros_agent LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
                NOBYPASSRLS;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE EXCEPTION 'role creatoros_agent exists with more rights than the agent may have '
                '(superuser, createrole, createdb, replication or bypassrls) and this role may '
                'not take them away'
                USING HINT = 'have a superuser run: ALTER ROLE creatoros_agent LOGIN NOSUPERUSER '
                    'NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS';
        END;
    END IF;
END
$do$;

-- ---- its own schema ---------------------------------------------------------------------------------

GRANT USAGE ON SCHEMA creatoros_agent TO creatoros_agent;
GRANT SELECT ON creatoros_agent.schema_migrations TO creatoros_agent;
GRANT SELECT, INSERT, UPDATE, DELETE
    ON creatoros_agent.file_state, creatoros_agent.sources, creatoros_agent.courses
    TO creatoros_agent;

-- ---- what the policies ask ------------------------------------------------------------------------
-- SECURITY DEFINER, so that a policy's test reads the tables once, as their owner, whatever the
-- caller may see; a fixed, empty search_path; callable by the agent's role only.

-- True when some source of the agent claimed course p_course.
CREATE FUNCTION creatoros_agent.course_is_claimed(p_course text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = ''
AS $$
    SELECT EXISTS (SELECT 1 FROM creatoros_agent.courses c WHERE c.course = p_course)
$$;

-- True when project p_project is the project of a claimed course.
CREATE FUNCTION creatoros_agent.project_is_claimed(p_project uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = ''
AS $$
    SELECT EXISTS (SELECT 1 FROM public.content_projects p
                   JOIN creatoros_agent.courses c ON c.course = p.slug
                   WHERE p.id = p_project)
$$;

-- True when content p_content was written by AI into the project of a claimed course.
CREATE FUNCTION creatoros_agent.content_is_claimed(p_content uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = ''
AS $$
    SELECT EXISTS (SELECT 1 FROM public.contents ct
                   JOIN public.content_projects p ON p.id = ct.project_id
                   JOIN creatoros_agent.courses c ON c.course = p.slug
                   WHERE ct.id = p_content AND ct.ai_generated)
$$;

REVOKE ALL ON FUNCTION creatoros_agent.course_is_claimed(text),
                       creatoros_agent.project_is_claimed(uuid),
                       creatoros_agent.content_is_claimed(uuid)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION creatoros_agent.course_is_claimed(text),
                          creatoros_agent.project_is_claimed(uuid),
                          creatoros_agent.content_is_claimed(uuid)
    TO creatoros_agent;

-- ---- privileges on the shared tables, column by column --------------------------------------------

DO $do$
DECLARE
    g record;
    seq text := pg_catalog.pg_get_serial_sequence('public.tags', 'id');
BEGIN
    FOR g IN
        SELECT * FROM (VALUES
            ('minds', 'SELECT, INSERT (slug, display_name)'),
            ('tags', 'SELECT, INSERT (name, tag_type)'),
            ('audience_profiles',
             'SELECT, INSERT (slug, name, description, demographics, psychographics, '
             'learning_preferences, technical_level), UPDATE (slug, name, description, '
             'demographics, psychographics, learning_preferences, technical_level)'),
            ('content_projects',
             'SELECT, INSERT (slug, name, description, project_type, status, project_metadata, '
             'creator_mind_id, persona_mind_id, target_audience_id), UPDATE (name, description, '
             'project_type, status, project_metadata, creator_mind_id, persona_mind_id, '
             'target_audience_id)'),
            ('contents',
             'SELECT, INSERT (slug, content_type, title, content, metadata, file_path, project_id, '
             'ai_generated, parent_content_id, sequence_order, status, fidelity_score), UPDATE ('
             'slug, content_type, title, content, metadata, file_path, project_id, ai_generated, '
             'parent_content_id, sequence_order, status, fidelity_score, deleted_at)'),
            ('content_minds', 'SELECT, INSERT (content_id, mind_id, role), DELETE'),
            ('content_tags', 'SELECT, INSERT (content_id, tag_id), DELETE')
        ) AS v(tbl, privs)
    LOOP
        EXECUTE format('GRANT %s ON public.%I TO creatoros_agent', g.privs, g.tbl);
        INSERT INTO creatoros_agent.changes (made_by, kind, description, undo)
        VALUES ('migrate', 'grant',
                format('privileges for creatoros_agent on public.%s: %s', g.tbl, g.privs),
                format('REVOKE ALL ON public.%I FROM creatoros_agent', g.tbl));
    END LOOP;

    -- tags.id draws from it (bigserial): an insert needs USAGE.
    IF seq IS NULL THEN
        RAISE EXCEPTION 'public.tags.id has no sequence to draw from';
    END IF;
    EXECUTE format('GRANT USAGE ON SEQUENCE %s TO creatoros_agent', seq);
    INSERT INTO creatoros_agent.changes (made_by, kind, description, undo)
    VALUES ('migrate', 'grant', format('privileges for creatoros_agent on sequence %s: USAGE', seq),
            format('REVOKE ALL ON SEQUENCE %s FROM creatoros_agent', seq));

    -- PUBLIC may use schema public on a default PostgreSQL; where it may not, the role is given
    -- USAGE itself.
    IF NOT pg_catalog.has_schema_privilege('creatoros_agent', 'public', 'USAGE') THEN
        GRANT USAGE ON SCHEMA public TO creatoros_agent;
        INSERT INTO creatoros_agent.changes (made_by, kind, description, undo)
        VALUES ('migrate', 'grant', 'privileges for creatoros_agent on schema public: USAGE',
                'REVOKE USAGE ON SCHEMA public FROM creatoros_agent');
    END IF;
END
$do$;

-- ---- policies for the role: <table>_<action>_agent ----------------------------------------------
-- Its privileges above say which commands and columns; these say which rows. Where a row is not
-- the agent's, an UPDATE or DELETE affects nothing and an INSERT fails (SQLSTATE 42501).

DO $do$
DECLARE
    p record;
BEGIN
    FOR p IN
        SELECT * FROM (VALUES
            ('minds', 'select', 'USING (true)'),
            ('minds', 'insert', 'WITH CHECK (true)'),
            ('tags', 'select', 'USING (true)'),
            ('tags', 'insert', 'WITH CHECK (true)'),
            ('audience_profiles', 'select', 'USING (true)'),
            ('audience_profiles', 'insert',
             'WITH CHECK (creatoros_agent.course_is_claimed(slug))'),
            ('audience_profiles', 'update',
             'USING (creatoros_agent.course_is_claimed(slug)) '
             'WITH CHECK (creatoros_agent.course_is_claimed(slug))'),
            ('content_projects', 'select', 'USING (true)'),
            ('content_projects', 'insert',
             'WITH CHECK (creatoros_agent.course_is_claimed(slug))'),
            ('content_projects', 'update',
             'USING (creatoros_agent.course_is_claimed(slug)) '
             'WITH CHECK (creatoros_agent.course_is_claimed(slug))'),
            ('contents', 'select', 'USING (true)'),
            ('contents', 'insert',
             'WITH CHECK (ai_generated AND creatoros_agent.project_is_claimed(project_id))'),
            ('contents', 'update',
             'USING (ai_generated AND creatoros_agent.project_is_claimed(project_id)) '
             'WITH CHECK (ai_generated AND creatoros_agent.project_is_claimed(project_id))'),
            ('content_minds', 'select', 'USING (true)'),
            ('content_minds', 'insert',
             'WITH CHECK (creatoros_agent.content_is_claimed(content_id))'),
            ('content_minds', 'delete', 'USING (creatoros_agent.content_is_claimed(content_id))'),
            ('content_tags', 'select', 'USING (true)'),
            ('content_tags', 'insert',
             'WITH CHECK (creatoros_agent.content_is_claimed(content_id))'),
            ('content_tags', 'delete', 'USING (creatoros_agent.content_is_claimed(content_id))')
        ) AS v(tbl, action, clause)
    LOOP
        EXECUTE format('CREATE POLICY %I ON public.%I FOR %s TO creatoros_agent %s',
                       p.tbl || '_' || p.action || '_agent', p.tbl, upper(p.action), p.clause);
        INSERT INTO creatoros_agent.changes (made_by, kind, description, undo)
        VALUES ('migrate', 'policy',
                format('policy %s on public.%s', p.tbl || '_' || p.action || '_agent', p.tbl),
                format('DROP POLICY IF EXISTS %I ON public.%I',
                       p.tbl || '_' || p.action || '_agent', p.tbl));
    END LOOP;
END
$do$;

-- ---- an index the agent's statements and policies need ------------------------------------------
-- Production indexes contents.project_id only for live AI rows; the agent also looks up every
-- content of a project (creator links, archiving, the policies' project tests). Created when no
-- plain index leads with project_id.

DO $do$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_index i
        JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
        WHERE i.indrelid = 'public.contents'::regclass AND a.attname = 'project_id'
          AND i.indpred IS NULL AND i.indisvalid) THEN
        CREATE INDEX idx_contents_project_id_agent ON public.contents (project_id);
        INSERT INTO creatoros_agent.changes (made_by, kind, description, undo)
        VALUES ('migrate', 'index', 'index idx_contents_project_id_agent on public.contents (project_id)',
                'DROP INDEX IF EXISTS public.idx_contents_project_id_agent');
    END IF;
END
$do$;
