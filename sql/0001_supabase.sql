-- 0001_supabase.sql -- what a Supabase project provides before CreatorOS's own migrations run,
-- created where it is missing: the API roles, the `auth` schema (auth.users, auth.jwt(),
-- auth.uid(), auth.role()), pgcrypto in the `extensions` schema, and the default privileges that
-- hand every new table, sequence and function in `public` to the API roles.
--
-- Migrations 0001-0009 build the CreatorOS schema and run only on a fresh database (one without
-- the CreatorOS tables); an existing CreatorOS database keeps its own (docs/SCHEMA.md).
-- On Supabase everything here exists already and is left alone: a database whose `auth` schema
-- exists is taken for a Supabase one. Roles are cluster-wide and may already exist (another
-- database of the cluster, or a race with a migrate there): "already exists" is success.
-- No BEGIN/COMMIT here: migrate wraps every file in its own transaction.

-- ---- the API roles --------------------------------------------------------------------------
-- anon: a request without a signed-in user; authenticated: a signed-in user (auth.uid());
-- service_role: the server side, past RLS. Nobody logs in as them: PostgREST's login role
-- switches to them per request, and is not created here (it belongs to a PostgREST deployment).

DO $do$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
        CONTINUE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r);
        BEGIN
            IF r = 'service_role' THEN
                CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
            ELSE
                EXECUTE format('CREATE ROLE %I NOLOGIN NOINHERIT', r);
            END IF;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN NULL; -- created meanwhile
            WHEN insufficient_privilege THEN
                IF r <> 'service_role' THEN
                    RAISE;
                END IF;
                -- only a superuser may grant BYPASSRLS
                CREATE ROLE service_role NOLOGIN NOINHERIT;
                RAISE WARNING 'service_role was created without BYPASSRLS (only a superuser may '
                    'grant it): Row Level Security filters it like any other role';
        END;
    END LOOP;
END
$do$;

-- ---- auth, extensions and default privileges, unless this is a Supabase database -----------

DO $do$
BEGIN
    IF pg_catalog.to_regnamespace('auth') IS NOT NULL THEN
        IF pg_catalog.to_regprocedure('auth.uid()') IS NULL
           OR pg_catalog.to_regclass('auth.users') IS NULL THEN
            RAISE EXCEPTION 'schema auth exists but lacks auth.users or auth.uid()'
                USING HINT = 'on Supabase both exist; elsewhere drop or rename that schema';
        END IF;
        RETURN;
    END IF;

    CREATE SCHEMA auth;
    -- The users of the sign-in (Supabase's table has many more columns); the signup trigger of
    -- 0002 reads id, email and raw_user_meta_data.
    CREATE TABLE auth.users (
        id                 uuid PRIMARY KEY,
        email              text,
        raw_user_meta_data jsonb,
        created_at         timestamptz NOT NULL DEFAULT now()
    );
    -- The request's JWT claims as PostgREST sets them (request.jwt.claims, a JSON text); a
    -- setting never set, or set LOCAL and gone out of scope (it then reads ''), is NULL.
    -- Every name is qualified, and no SET clause keeps these small functions inlinable.
    EXECUTE $ddl$
        CREATE FUNCTION auth.jwt() RETURNS jsonb
        LANGUAGE sql STABLE
        AS $fn$
            SELECT nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb
        $fn$
    $ddl$;
    EXECUTE $ddl$
        CREATE FUNCTION auth.uid() RETURNS uuid
        LANGUAGE sql STABLE
        AS $fn$
            SELECT nullif(auth.jwt() ->> 'sub', '')::uuid
        $fn$
    $ddl$;
    EXECUTE $ddl$
        CREATE FUNCTION auth.role() RETURNS text
        LANGUAGE sql STABLE
        AS $fn$
            SELECT auth.jwt() ->> 'role'
        $fn$
    $ddl$;
    GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
    GRANT EXECUTE ON FUNCTION auth.jwt(), auth.uid(), auth.role()
        TO anon, authenticated, service_role;
    GRANT ALL ON auth.users TO service_role;

    -- pgcrypto lives in `extensions` on Supabase. gen_random_uuid() is built in, so nothing
    -- here needs it; the app's own migrations ask for it. Skipped where contrib is missing.
    CREATE SCHEMA IF NOT EXISTS extensions;
    GRANT USAGE ON SCHEMA extensions TO anon, authenticated, service_role;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = 'pgcrypto') THEN
        CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA extensions;
    END IF;

    -- Supabase's default privileges: every table, sequence and function the migrating role
    -- creates in public later is the API roles' too, and RLS decides. 0002 narrows its own
    -- tables (no TRUNCATE, REFERENCES or TRIGGER for anon and authenticated) explicitly.
    GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
    ALTER DEFAULT PRIVILEGES IN SCHEMA public
        GRANT ALL ON TABLES TO anon, authenticated, service_role;
    ALTER DEFAULT PRIVILEGES IN SCHEMA public
        GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
    ALTER DEFAULT PRIVILEGES IN SCHEMA public
        GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;
END
$do$;
