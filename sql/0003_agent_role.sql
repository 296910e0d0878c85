-- 0003_agent_role.sql -- the login role creatoros-agent connects as, and exactly what it may do.
--
-- creatoros_agent: LOGIN, BYPASSRLS, nothing else (no superuser, createdb, createrole).
-- BYPASSRLS sits on the login role itself because membership does not pass it on: a
-- member of service_role is still filtered by RLS. No password here (a migration is no
-- place for a secret): until the operator runs ALTER ROLE creatoros_agent PASSWORD '...'
-- it can only log in where pg_hba.conf trusts it. See docs/SCHEMA.md.
--
-- Grants: read, insert and update the rows of docs/CONTRACT.md; delete only the
-- content_minds/content_tags links (a tag that leaves the front-matter is unlinked).
-- Never DELETE on contents or content_projects: the agent soft-deletes (deleted_at).
--
-- PostgreSQL 15 lets only a superuser grant BYPASSRLS, and Supabase's `postgres` is not
-- one. There the role is created without it (a WARNING says so), and the <table>_*_agent
-- policies below give it the same reach through RLS; with BYPASSRLS they are moot.

DO $do$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'creatoros_agent') THEN
        BEGIN
            CREATE ROLE creatoros_agent LOGIN BYPASSRLS
                NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN NULL; -- created meanwhile
            WHEN insufficient_privilege THEN
                CREATE ROLE creatoros_agent LOGIN
                    NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
                RAISE WARNING 'creatoros_agent was created without BYPASSRLS (only a superuser '
                    'may grant it); the agent policies give it the same access';
        END;
    ELSIF NOT (SELECT rolbypassrls FROM pg_catalog.pg_roles WHERE rolname = 'creatoros_agent') THEN
        BEGIN
            ALTER ROLE creatoros_agent BYPASSRLS;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE WARNING 'creatoros_agent lacks BYPASSRLS and only a superuser may grant it; '
                'the agent policies give it the same access';
        END;
    END IF;
END
$do$;

-- ---- table privileges --------------------------------------------------------------------

GRANT USAGE ON SCHEMA public TO creatoros_agent;
GRANT SELECT, INSERT, UPDATE
    ON public.minds, public.tags, public.audience_profiles, public.content_projects,
       public.contents
    TO creatoros_agent;
GRANT SELECT, INSERT, UPDATE, DELETE
    ON public.content_minds, public.content_tags
    TO creatoros_agent;
-- tags.id is an identity column: its sequence, for an explicit nextval or a currval.
GRANT USAGE, SELECT ON SEQUENCE public.tags_id_seq TO creatoros_agent;

-- ---- the agent's own schema -----------------------------------------------------------
-- Owned by whoever migrates; the agent may use it but not create in it. Its tables and
-- their privileges come with 0010_agent_state.sql. schema_migrations exists here when
-- `creatoros-agent migrate` applies this file (it creates the table first); `status`
-- reads it as the agent.

CREATE SCHEMA IF NOT EXISTS creatoros_agent;
GRANT USAGE ON SCHEMA creatoros_agent TO creatoros_agent;

DO $do$
BEGIN
    IF pg_catalog.to_regclass('creatoros_agent.schema_migrations') IS NOT NULL THEN
        GRANT SELECT ON creatoros_agent.schema_migrations TO creatoros_agent;
    END IF;
END
$do$;

-- ---- policies: the agent's reach where it could not be given BYPASSRLS --------------------
-- <table>_<action>_agent, one per table and granted action.

DO $do$
DECLARE
    t text;
    a text;
BEGIN
    FOREACH t IN ARRAY ARRAY['minds', 'tags', 'audience_profiles', 'content_projects',
                             'contents', 'content_minds', 'content_tags'] LOOP
        FOREACH a IN ARRAY ARRAY['select', 'insert', 'update', 'delete'] LOOP
            CONTINUE WHEN a = 'delete' AND t NOT IN ('content_minds', 'content_tags');
            EXECUTE format('DROP POLICY IF EXISTS %I ON public.%I', t || '_' || a || '_agent', t);
            EXECUTE format('CREATE POLICY %I ON public.%I FOR %s TO creatoros_agent %s',
                           t || '_' || a || '_agent', t, upper(a),
                           CASE a WHEN 'insert' THEN 'WITH CHECK (true)'
                                  WHEN 'update' THEN 'USING (true) WITH CHECK (true)'
                                  ELSE 'USING (true)' END);
        END LOOP;
    END LOOP;
END
$do$;
