-- v091_rls_smoke.sql -- what CreatorOS v0.9.1's own RLS test does to a database, restated: it
-- must run without an error on a database `creatoros-agent migrate` built, as on production.
--
-- The original (supabase/tests/test_creator_os_rls.sql of CreatorOS) creates, in a transaction it
-- rolls back, two private minds with a primary language and two course projects, each through
-- INSERT ... ON CONFLICT (slug) DO UPDATE ... RETURNING id INTO a variable, and prints the ids.
-- This file does the same with the same columns, conflict targets and values, then checks what
-- the original only prints as its expected results: each creator sees only their own project.
--   psql -X -q -v ON_ERROR_STOP=1 -f tests/sql/v091_rls_smoke.sql   (tests/sh/test_rls.sh)

BEGIN;

DO $$
DECLARE
    mind_1 uuid;
    mind_2 uuid;
    project_1 uuid;
    project_2 uuid;
BEGIN
    INSERT INTO minds (slug, display_name, primary_language, privacy_level)
    VALUES ('test-creator-1', 'Test Creator 1', 'en', 'private')
    ON CONFLICT (slug) DO UPDATE SET slug = EXCLUDED.slug
    RETURNING id INTO mind_1;
    INSERT INTO minds (slug, display_name, primary_language, privacy_level)
    VALUES ('test-creator-2', 'Test Creator 2', 'en', 'private')
    ON CONFLICT (slug) DO UPDATE SET slug = EXCLUDED.slug
    RETURNING id INTO mind_2;

    INSERT INTO content_projects (slug, name, creator_mind_id, project_type)
    VALUES ('test-project-1', 'Test Project 1', mind_1, 'course')
    ON CONFLICT (slug) DO UPDATE SET creator_mind_id = EXCLUDED.creator_mind_id
    RETURNING id INTO project_1;
    INSERT INTO content_projects (slug, name, creator_mind_id, project_type)
    VALUES ('test-project-2', 'Test Project 2', mind_2, 'course')
    ON CONFLICT (slug) DO UPDATE SET creator_mind_id = EXCLUDED.creator_mind_id
    RETURNING id INTO project_2;

    RAISE NOTICE 'minds % %, projects % %', mind_1, mind_2, project_1, project_2;

    -- What the original expects, checked: a user acting as each mind sees only its project.
    SET LOCAL session_replication_role = replica; -- no signup trigger: the profiles come next
    INSERT INTO auth.users (id, email) VALUES
        ('51000000-0000-4000-8000-000000000001', 'test-creator-1@example.com'),
        ('51000000-0000-4000-8000-000000000002', 'test-creator-2@example.com');
    SET LOCAL session_replication_role = origin;
    INSERT INTO user_profiles (id, mind_id) VALUES
        ('51000000-0000-4000-8000-000000000001', mind_1),
        ('51000000-0000-4000-8000-000000000002', mind_2);
END
$$;

SET LOCAL ROLE authenticated;
SET LOCAL request.jwt.claims = '{"sub": "51000000-0000-4000-8000-000000000001"}';
DO $$
BEGIN
    IF (SELECT string_agg(slug, ',') FROM content_projects) IS DISTINCT FROM 'test-project-1' THEN
        RAISE EXCEPTION 'test 1: creator 1 sees %, not only test-project-1',
            (SELECT string_agg(slug, ',') FROM content_projects);
    END IF;
END
$$;
SET LOCAL request.jwt.claims = '{"sub": "51000000-0000-4000-8000-000000000002"}';
DO $$
BEGIN
    IF (SELECT string_agg(slug, ',') FROM content_projects) IS DISTINCT FROM 'test-project-2' THEN
        RAISE EXCEPTION 'test 3: creator 2 sees %, not only test-project-2',
            (SELECT string_agg(slug, ',') FROM content_projects);
    END IF;
END
$$;
RESET ROLE;

ROLLBACK;
