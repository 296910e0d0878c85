-- rls_test.sql -- pgTAP: Row Level Security, privileges and the agent's role, as each role sees them.
--
-- Runs on a database `creatoros-agent migrate` built (fresh) and on a production-shaped one it
-- adopted (tests/fixtures/production/), with the pgtap extension:
--   psql -X -q -At -v ON_ERROR_STOP=1 -f tests/sql/rls_test.sql   (tests/sh/test_rls.sh)
-- It asserts behaviour and privileges, not policy names, so that both kinds of database answer
-- the same. A check that production's known holes fail is tagged [hole:ID] with the id
-- `migrate` reports for that hole: on the adopted fixture before `migrate --harden`, the set of
-- failing checks' tags must equal the set of reported holes (test_rls.sh compares them).
--
-- Everything happens in one transaction that is rolled back. Identities are switched the way
-- PostgREST does: SET LOCAL ROLE plus the JWT claims in request.jwt.claims. What a role must not
-- be able to do is tried through pg_temp.attempt(), which undoes it even when it succeeds, so
-- that a hole cannot change what the later checks see.
--
-- Cast: users ua, ub, up act as minds A (public), B (private) and P; user un has no profile.
-- A and B each create one project (rls-proj-a, rls-proj-b) holding a published and a draft
-- content (A also a published but soft-deleted one); P is the persona of rls-proj-a. The agent's
-- role claims the course rls-agent.

BEGIN;
SELECT plan(135);

-- 'ok N' when q ran and changed N rows (then undone), else the SQLSTATE it failed with.
CREATE FUNCTION pg_temp.attempt(q text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    BEGIN
        EXECUTE q;
        GET DIAGNOSTICS n = ROW_COUNT;
        RAISE EXCEPTION USING ERRCODE = 'P0999', MESSAGE = 'ok ' || n;
    EXCEPTION WHEN OTHERS THEN
        IF SQLSTATE = 'P0999' THEN
            RETURN SQLERRM;
        END IF;
        RETURN SQLSTATE;
    END;
END $$;

-- The rows of a statement that must happen (not undone): how many it changed.
CREATE FUNCTION pg_temp.affected(q text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    EXECUTE q;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

-- ---- the cast, as the migrating superuser ------------------------------------------------------

-- The users, without the signup trigger (it would make minds of its own; it is tried below).
SET LOCAL session_replication_role = replica;
INSERT INTO auth.users (id, email) VALUES
    ('10000000-0000-4000-8000-00000000000a', 'rls-a@example.com'),
    ('10000000-0000-4000-8000-00000000000b', 'rls-b@example.com'),
    ('10000000-0000-4000-8000-00000000000c', 'rls-p@example.com'),
    ('10000000-0000-4000-8000-00000000000d', 'rls-n@example.com');
SET LOCAL session_replication_role = origin;

INSERT INTO minds (id, slug, display_name, privacy_level) VALUES
    ('00000000-0000-4000-8000-00000000000a', 'rls-mind-a', 'Mind A', 'public'),
    ('00000000-0000-4000-8000-00000000000b', 'rls-mind-b', 'Mind B', 'private'),
    ('00000000-0000-4000-8000-00000000000c', 'rls-mind-p', 'Persona P', 'public'),
    ('00000000-0000-4000-8000-0000000000f1', 'rls-free', 'Nobody''s', 'public');
INSERT INTO user_profiles (id, mind_id) VALUES
    ('10000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-00000000000a'),
    ('10000000-0000-4000-8000-00000000000b', '00000000-0000-4000-8000-00000000000b'),
    ('10000000-0000-4000-8000-00000000000c', '00000000-0000-4000-8000-00000000000c');
INSERT INTO audience_profiles (id, slug, name, technical_level) VALUES
    ('40000000-0000-4000-8000-000000000001', 'rls-devs', 'Developers', 'advanced');
INSERT INTO content_projects (id, slug, name, project_type, status, target_audience_id,
                              creator_mind_id, persona_mind_id) VALUES
    ('20000000-0000-4000-8000-00000000000a', 'rls-proj-a', 'Project A', 'course', 'in_progress',
     '40000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-00000000000a',
     '00000000-0000-4000-8000-00000000000c'),
    ('20000000-0000-4000-8000-00000000000b', 'rls-proj-b', 'Project B', 'course', 'in_progress',
     NULL, '00000000-0000-4000-8000-00000000000b', NULL);
INSERT INTO contents (id, slug, title, content_type, status, project_id, deleted_at,
                      ai_generated) VALUES
    ('30000000-0000-4000-8000-0000000000a1', 'rls/a/pub', 'A published', 'course_outline',
     'published', '20000000-0000-4000-8000-00000000000a', NULL, true),
    ('30000000-0000-4000-8000-0000000000a2', 'rls/a/draft', 'A draft', 'course_lesson',
     'draft', '20000000-0000-4000-8000-00000000000a', NULL, true),
    ('30000000-0000-4000-8000-0000000000a3', 'rls/a/gone', 'A deleted', 'course_lesson',
     'published', '20000000-0000-4000-8000-00000000000a', now(), true),
    ('30000000-0000-4000-8000-0000000000b1', 'rls/b/pub', 'B published', 'course_outline',
     'published', '20000000-0000-4000-8000-00000000000b', NULL, true),
    ('30000000-0000-4000-8000-0000000000b2', 'rls/b/draft', 'B draft', 'course_lesson',
     'draft', '20000000-0000-4000-8000-00000000000b', NULL, true);
UPDATE contents SET parent_content_id = '30000000-0000-4000-8000-0000000000a1'
    WHERE slug IN ('rls/a/draft', 'rls/a/gone');
UPDATE contents SET parent_content_id = '30000000-0000-4000-8000-0000000000b1'
    WHERE slug = 'rls/b/draft';
INSERT INTO content_minds (content_id, mind_id, role) VALUES
    ('30000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-00000000000a', 'creator'),
    ('30000000-0000-4000-8000-0000000000a2', '00000000-0000-4000-8000-00000000000a', 'creator'),
    ('30000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-00000000000b', 'creator'),
    ('30000000-0000-4000-8000-0000000000b2', '00000000-0000-4000-8000-00000000000b', 'creator');
INSERT INTO tags (id, name, tag_type) VALUES (900001, 'rls-test', 'theme');
INSERT INTO content_tags (content_id, tag_id) VALUES
    ('30000000-0000-4000-8000-0000000000a1', 900001),
    ('30000000-0000-4000-8000-0000000000b1', 900001);

-- ---- the shape: RLS on, privileges, definer functions -----------------------------------------

SELECT ok((SELECT relrowsecurity FROM pg_class WHERE oid = to_regclass('public.' || t)),
          'RLS is on for public.' || t)
FROM unnest(ARRAY['minds', 'audience_profiles', 'content_projects', 'contents',
                  'content_minds', 'content_tags', 'user_profiles']) t;
SELECT ok((SELECT relrowsecurity FROM pg_class WHERE oid = 'public.tags'::regclass),
          '[hole:tags_rls] RLS is on for public.tags');

-- Supabase's default privileges, minus what RLS does not filter: DML only, under the policies.
SELECT table_privs_are('public', t, r, ARRAY['DELETE', 'INSERT', 'SELECT', 'UPDATE'],
                       format('[hole:api_privileges] %s: exactly SELECT, INSERT, UPDATE, DELETE on '
                              'public.%s (no TRUNCATE, REFERENCES, TRIGGER)', r, t))
FROM unnest(ARRAY['minds', 'user_profiles', 'tags', 'audience_profiles', 'content_projects',
                  'contents', 'content_minds', 'content_tags', 'v_contents_with_creators']) t,
     unnest(ARRAY['anon', 'authenticated']) r;
SELECT sequence_privs_are('public', 'tags_id_seq', r, ARRAY['SELECT', 'USAGE'],
                          format('[hole:api_privileges] %s: USAGE and SELECT on public.tags_id_seq, '
                                 'not UPDATE (setval)', r))
FROM unnest(ARRAY['anon', 'authenticated']) r;

SELECT is((SELECT coalesce(array_agg(p.oid::regprocedure::text ORDER BY 1), '{}')
           FROM pg_proc p
           WHERE p.prosecdef AND p.pronamespace IN ('public'::regnamespace,
                                                   'creatoros_agent'::regnamespace)
             AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%')),
          '{}'::text[],
          '[hole:definer_search_path] every SECURITY DEFINER function has a fixed search_path');
SELECT is((SELECT coalesce(array_agg(p.oid::regprocedure::text ORDER BY 1), '{}')
           FROM pg_proc p
           WHERE p.prosecdef AND p.pronamespace IN ('public'::regnamespace,
                                                   'creatoros_agent'::regnamespace)
             AND has_function_privilege('anon', p.oid, 'EXECUTE')),
          '{}'::text[],
          '[hole:definer_executable_by_anon] no SECURITY DEFINER function is executable by anon');
SELECT ok((SELECT count(*) > 0 FROM pg_proc p WHERE p.prosecdef
           AND p.pronamespace IN ('public'::regnamespace, 'creatoros_agent'::regnamespace)),
          'there are SECURITY DEFINER functions to check');

-- The signup trigger: a new user gets a mind (slug from the e-mail) and a profile.
INSERT INTO auth.users (id, email, raw_user_meta_data)
    VALUES ('10000000-0000-4000-8000-0000000000e1', 'rls.signup@example.com', '{"name": "Signup"}');
SELECT is((SELECT m.slug || '|' || m.display_name || '|' || m.privacy_level
           FROM user_profiles up JOIN minds m ON m.id = up.mind_id
           WHERE up.id = '10000000-0000-4000-8000-0000000000e1'),
          'rls_signup|Signup|public', 'signup: a new user gets a public mind and a profile');

-- ---- user A: the creator of rls-proj-a ------------------------------------------------------

SET LOCAL request.jwt.claims = '{"sub": "10000000-0000-4000-8000-00000000000a", "role": "authenticated"}';
SET LOCAL ROLE authenticated;

SELECT is(current_mind_id(), '00000000-0000-4000-8000-00000000000a'::uuid,
          'A: current_mind_id() is mind A');
SELECT results_eq($$SELECT slug FROM content_projects ORDER BY slug COLLATE "C"$$,
                  ARRAY['rls-proj-a'], 'A: sees only their own project, of all projects');
SELECT results_eq($$SELECT slug FROM contents WHERE slug LIKE 'rls/%' ORDER BY slug COLLATE "C"$$,
                  ARRAY['rls/a/draft', 'rls/a/gone', 'rls/a/pub', 'rls/b/pub'],
                  'A: sees their contents and B''s published, live one');
SELECT is((SELECT count(*)::int FROM contents
           WHERE slug NOT LIKE 'rls/%' AND NOT (status = 'published' AND deleted_at IS NULL)),
          0, 'A: sees no one else''s unpublished content');
SELECT results_eq($$SELECT c.slug FROM content_minds cm JOIN contents c ON c.id = cm.content_id
                    ORDER BY c.slug COLLATE "C"$$,
                  ARRAY['rls/a/draft', 'rls/a/pub'],
                  'A: sees only the content_minds of their contents');
SELECT results_eq($$SELECT content_id::text FROM content_tags$$,
                  ARRAY['30000000-0000-4000-8000-0000000000a1'],
                  'A: sees only the content_tags of their contents');
SELECT is((SELECT count(*)::int FROM audience_profiles WHERE slug = 'rls-devs'), 1,
          'A: reads audience profiles');
SELECT results_eq($$SELECT id::text FROM user_profiles$$,
                  ARRAY['10000000-0000-4000-8000-00000000000a'], 'A: reads only their own profile');
SELECT is((SELECT count(*)::int FROM minds WHERE slug IN ('rls-mind-a', 'rls-free')), 2,
          'A: reads public minds');
SELECT is((SELECT count(*)::int FROM minds
           WHERE privacy_level = 'private' AND id <> current_mind_id()), 0,
          'A: reads no one else''s private mind (B''s, the fixture''s tenant)');
SELECT is((SELECT count(*)::int FROM tags WHERE name = 'rls-test'), 1, 'A: reads tags');
SELECT results_eq($$SELECT slug || ':' || coalesce(creator_name, '-')
                    FROM v_contents_with_creators WHERE slug LIKE 'rls/%'
                    ORDER BY slug COLLATE "C"$$,
                  ARRAY['rls/a/draft:Mind A', 'rls/a/pub:Mind A', 'rls/b/pub:-'],
                  '[hole:view_owner_rights] A: the view reads as its caller (B''s draft, project '
                  'and private mind stay hidden)');

SELECT lives_ok($$INSERT INTO contents (slug, title, content_type, project_id, parent_content_id)
                  VALUES ('rls/a/new', 'A new', 'course_lesson',
                          '20000000-0000-4000-8000-00000000000a',
                          '30000000-0000-4000-8000-0000000000a1')$$,
                'A: inserts a content into their project');
SELECT is(pg_temp.affected($$UPDATE contents SET title = 'A draft, edited'
                             WHERE slug = 'rls/a/draft'$$),
          1, 'A: updates their own content');
SELECT is(pg_temp.attempt($$INSERT INTO contents (slug, title, content_type, project_id)
                            VALUES ('rls/x/1', 'x', 'course_lesson',
                                    '20000000-0000-4000-8000-00000000000b')$$),
          '42501', 'A: cannot insert a content into B''s project');
SELECT is(pg_temp.attempt($$UPDATE contents SET project_id = '20000000-0000-4000-8000-00000000000b'
                            WHERE slug = 'rls/a/draft'$$),
          '42501', 'A: cannot move a content into B''s project');
SELECT is(pg_temp.attempt($$UPDATE contents SET title = 'mine' WHERE slug = 'rls/b/draft'$$),
          'ok 0', 'A: cannot update B''s draft (hidden)');
SELECT is(pg_temp.attempt($$UPDATE contents SET title = 'mine' WHERE slug = 'rls/b/pub'$$),
          'ok 0', 'A: cannot update B''s published content (readable, not writable)');
SELECT is(pg_temp.attempt($$DELETE FROM contents WHERE slug LIKE 'rls/b/%'$$),
          'ok 0', 'A: cannot delete B''s contents');
SELECT is(pg_temp.attempt($$INSERT INTO content_projects (slug, name, creator_mind_id)
                            VALUES ('rls-x', 'x', '00000000-0000-4000-8000-00000000000b')$$),
          '42501', 'A: cannot create a project for mind B');
SELECT lives_ok($$INSERT INTO content_projects (slug, name, creator_mind_id)
                  VALUES ('rls-a-two', 'A two', '00000000-0000-4000-8000-00000000000a')$$,
                'A: creates a project of their own');
SELECT is(pg_temp.attempt($$UPDATE content_projects SET name = 'mine' WHERE slug = 'rls-proj-b'$$),
          'ok 0', 'A: cannot update B''s project');
SELECT is(pg_temp.attempt($$UPDATE content_projects
                            SET creator_mind_id = '00000000-0000-4000-8000-00000000000b'
                            WHERE slug = 'rls-proj-a'$$),
          '42501', 'A: cannot hand their project to mind B');
SELECT is(pg_temp.attempt($$INSERT INTO content_minds (content_id, mind_id, role)
                            VALUES ('30000000-0000-4000-8000-0000000000b2',
                                    '00000000-0000-4000-8000-00000000000a', 'co_author')$$),
          '42501', 'A: cannot link a mind to B''s content');
SELECT is(pg_temp.attempt($$INSERT INTO content_tags (content_id, tag_id)
                            VALUES ('30000000-0000-4000-8000-0000000000b2', 900001)$$),
          '42501', 'A: cannot tag B''s content');
SELECT is(pg_temp.attempt($$DELETE FROM content_tags$$),
          'ok 1', 'A: deleting every content_tags row reaches only their own');
SELECT is(pg_temp.attempt($$UPDATE minds SET display_name = 'mine'$$),
          'ok 0', 'A: cannot change a mind');
SELECT is(pg_temp.attempt($$INSERT INTO minds (slug, display_name) VALUES ('rls-x', 'x')$$),
          '42501', 'A: cannot create a mind');
SELECT is(pg_temp.attempt($$INSERT INTO audience_profiles (slug, name) VALUES ('rls-x', 'x')$$),
          '42501', '[hole:audience_profiles_writable] A: cannot create audience profiles');
SELECT is(pg_temp.attempt($$UPDATE audience_profiles SET name = 'mine'$$),
          'ok 0', 'A: cannot change audience profiles');
SELECT is(pg_temp.attempt($$INSERT INTO tags (name, tag_type) VALUES ('rls-x', 'theme')$$),
          '42501', '[hole:tags_rls] A: cannot create a tag');
SELECT is(pg_temp.attempt($$UPDATE tags SET tag_type = 'domain' WHERE name = 'rls-test'$$),
          'ok 0', '[hole:tags_rls] A: cannot change a tag');
SELECT is(pg_temp.attempt($$DELETE FROM tags WHERE name = 'rls-test'$$),
          'ok 0', '[hole:tags_rls] A: cannot delete a tag');
SELECT is(pg_temp.attempt($$UPDATE user_profiles SET mind_id = '00000000-0000-4000-8000-0000000000f1'$$),
          'ok 0', '[hole:user_profiles_writable] A: cannot change which mind they act as');
SELECT is(pg_temp.attempt($$TRUNCATE contents CASCADE$$),
          '42501', '[hole:api_privileges] A: cannot TRUNCATE contents (RLS does not filter it)');

-- ---- user B: the creator of rls-proj-b ------------------------------------------------------

RESET ROLE;
SET LOCAL request.jwt.claims = '{"sub": "10000000-0000-4000-8000-00000000000b", "role": "authenticated"}';
SET LOCAL ROLE authenticated;

SELECT results_eq($$SELECT slug FROM content_projects ORDER BY slug COLLATE "C"$$,
                  ARRAY['rls-proj-b'], 'B: sees only their own project');
SELECT results_eq($$SELECT slug FROM contents WHERE slug LIKE 'rls/%' ORDER BY slug COLLATE "C"$$,
                  ARRAY['rls/a/pub', 'rls/b/draft', 'rls/b/pub'],
                  'B: sees their contents and A''s published one, not A''s deleted one');
SELECT results_eq($$SELECT c.slug FROM content_minds cm JOIN contents c ON c.id = cm.content_id
                    ORDER BY c.slug COLLATE "C"$$,
                  ARRAY['rls/b/draft', 'rls/b/pub'],
                  'B: sees only the content_minds of their contents');
SELECT results_eq($$SELECT content_id::text FROM content_tags$$,
                  ARRAY['30000000-0000-4000-8000-0000000000b1'],
                  'B: sees only the content_tags of their contents');
SELECT is((SELECT count(*)::int FROM minds WHERE slug = 'rls-mind-b'), 1,
          'B: reads their own private mind');
SELECT is(pg_temp.attempt($$UPDATE contents SET title = 'mine' WHERE slug LIKE 'rls/a/%'$$),
          'ok 0', 'B: cannot update A''s contents');
SELECT is(pg_temp.attempt($$DELETE FROM content_minds
                            WHERE mind_id = '00000000-0000-4000-8000-00000000000a'$$),
          'ok 0', 'B: cannot delete A''s content_minds links');

-- ---- user P: the persona of rls-proj-a -------------------------------------------------------

RESET ROLE;
SET LOCAL request.jwt.claims = '{"sub": "10000000-0000-4000-8000-00000000000c", "role": "authenticated"}';
SET LOCAL ROLE authenticated;

SELECT results_eq($$SELECT slug FROM content_projects ORDER BY slug COLLATE "C"$$,
                  ARRAY['rls-proj-a'], 'persona: reads the project they are the persona of');
-- Production's policies give a persona the project row, not its unpublished contents.
SELECT results_eq($$SELECT slug FROM contents WHERE slug LIKE 'rls/%' ORDER BY slug COLLATE "C"$$,
                  ARRAY['rls/a/pub', 'rls/b/pub'],
                  'persona: reads the published contents only, as every signed-in user');
SELECT is(pg_temp.attempt($$UPDATE contents SET title = 'persona' WHERE slug = 'rls/a/draft'$$),
          'ok 0', 'persona: cannot update the project''s contents');
SELECT is(pg_temp.attempt($$UPDATE content_projects SET name = 'persona'$$),
          'ok 0', 'persona: cannot update the project');
SELECT is(pg_temp.attempt($$DELETE FROM contents WHERE slug LIKE 'rls/a/%'$$),
          'ok 0', 'persona: cannot delete the project''s contents');
SELECT is(pg_temp.attempt($$INSERT INTO contents (slug, title, content_type, project_id)
                            VALUES ('rls/p/1', 'x', 'course_lesson',
                                    '20000000-0000-4000-8000-00000000000a')$$),
          '42501', 'persona: cannot insert into the project');

-- ---- a signed-in user without a profile -------------------------------------------------------

RESET ROLE;
SET LOCAL request.jwt.claims = '{"sub": "10000000-0000-4000-8000-00000000000d", "role": "authenticated"}';
SET LOCAL ROLE authenticated;

SELECT results_eq($$SELECT slug FROM contents WHERE slug LIKE 'rls/%' ORDER BY slug COLLATE "C"$$,
                  ARRAY['rls/a/pub', 'rls/b/pub'], 'no profile: sees published contents only');
SELECT is((SELECT count(*)::int FROM content_projects), 0, 'no profile: sees no project');
SELECT is(pg_temp.attempt($$INSERT INTO user_profiles (id, mind_id)
                            VALUES ('10000000-0000-4000-8000-00000000000d',
                                    '00000000-0000-4000-8000-0000000000f1')$$),
          '42501', '[hole:user_profiles_writable] no profile: cannot give themselves one (and '
                   'act as any mind)');

-- ---- anon: a request without a signed-in user --------------------------------------------------

RESET ROLE;
SET LOCAL request.jwt.claims = '{"role": "anon"}';
SET LOCAL ROLE anon;

SELECT is((SELECT count(*)::int FROM contents), 0, 'anon: reads no content');
SELECT is((SELECT count(*)::int FROM content_projects), 0, 'anon: reads no project');
SELECT is((SELECT count(*)::int FROM audience_profiles), 0, 'anon: reads no audience profile');
SELECT is((SELECT count(*)::int FROM minds), 0, 'anon: reads no mind');
SELECT is((SELECT count(*)::int FROM user_profiles), 0, 'anon: reads no profile');
SELECT is((SELECT count(*)::int FROM v_contents_with_creators), 0,
          '[hole:view_owner_rights] anon: reads nothing through the view');
SELECT is((SELECT count(*)::int FROM tags), 0, '[hole:tags_rls] anon: reads no tag');
SELECT is(pg_temp.attempt($$INSERT INTO tags (name, tag_type) VALUES ('rls-anon', 'theme')$$),
          '42501', '[hole:tags_rls] anon: cannot create a tag');
SELECT is(pg_temp.attempt($$UPDATE tags SET tag_type = 'domain'$$),
          'ok 0', '[hole:tags_rls] anon: cannot change tags');
SELECT is(pg_temp.attempt($$DELETE FROM tags$$),
          'ok 0', '[hole:tags_rls] anon: cannot delete tags');
SELECT is(pg_temp.attempt($$INSERT INTO contents (slug, title, content_type)
                            VALUES ('rls/anon', 'x', 'article')$$),
          '42501', 'anon: cannot insert a content');
SELECT is(pg_temp.attempt($$TRUNCATE content_tags$$),
          '42501', '[hole:api_privileges] anon: cannot TRUNCATE a table');
SELECT is(pg_temp.attempt($$SELECT setval('public.tags_id_seq', 1)$$),
          '42501', '[hole:api_privileges] anon: cannot setval the tags sequence');
SELECT is(pg_temp.attempt($$SELECT public.provision_user_profile()$$),
          '42501', '[hole:definer_executable_by_anon] anon: cannot run the signup function');

-- ---- service_role --------------------------------------------------------------------------------

RESET ROLE;
SET LOCAL request.jwt.claims = '{"role": "service_role"}';
SET LOCAL ROLE service_role;

SELECT is((SELECT count(*)::int FROM contents WHERE slug LIKE 'rls/%'), 6,
          'service_role: sees every content');
SELECT is((SELECT count(*)::int FROM content_projects WHERE slug LIKE 'rls-%'), 3,
          'service_role: sees every project');

-- ---- the agent's role ----------------------------------------------------------------------------

RESET ROLE;
-- A content nobody generated, inside the course the agent is about to claim.
INSERT INTO content_projects (id, slug, name, project_type, creator_mind_id) VALUES
    ('20000000-0000-4000-8000-0000000000ee', 'rls-agent', 'Agent course', 'course',
     '00000000-0000-4000-8000-00000000000a');
INSERT INTO contents (id, slug, title, content_type, project_id, ai_generated) VALUES
    ('30000000-0000-4000-8000-0000000000e1', 'rls/agent/collected', 'Collected', 'interview',
     '20000000-0000-4000-8000-0000000000ee', false);
SET LOCAL request.jwt.claims = '';
SET LOCAL ROLE creatoros_agent;

SELECT ok((SELECT rolcanlogin AND NOT rolbypassrls AND NOT rolsuper AND NOT rolcreatedb
                  AND NOT rolcreaterole AND NOT rolreplication
           FROM pg_roles WHERE rolname = 'creatoros_agent'),
          'agent: LOGIN, and no BYPASSRLS, superuser, createdb, createrole or replication');
SELECT is((SELECT count(*)::int FROM pg_auth_members
           WHERE member = 'creatoros_agent'::regrole), 0, 'agent: a member of no role');
-- Exactly what it writes (DATA-CONTRACT.md): table privileges, then column privileges.
SELECT is((SELECT array_agg(x ORDER BY x COLLATE "C") FROM (
               SELECT c.relname || ':' || e.privilege_type
               FROM pg_class c, aclexplode(c.relacl) e
               WHERE c.relnamespace = 'public'::regnamespace
                 AND e.grantee = 'creatoros_agent'::regrole
               UNION ALL
               SELECT c.relname || '.' || a.attname || ':' || e.privilege_type
               FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid, aclexplode(a.attacl) e
               WHERE c.relnamespace = 'public'::regnamespace
                 AND e.grantee = 'creatoros_agent'::regrole) t(x)),
          ARRAY['audience_profiles.demographics:INSERT', 'audience_profiles.demographics:UPDATE',
                'audience_profiles.description:INSERT', 'audience_profiles.description:UPDATE',
                'audience_profiles.learning_preferences:INSERT',
                'audience_profiles.learning_preferences:UPDATE',
                'audience_profiles.name:INSERT', 'audience_profiles.name:UPDATE',
                'audience_profiles.psychographics:INSERT', 'audience_profiles.psychographics:UPDATE',
                'audience_profiles.slug:INSERT', 'audience_profiles.slug:UPDATE',
                'audience_profiles.technical_level:INSERT',
                'audience_profiles.technical_level:UPDATE',
                'audience_profiles:SELECT',
                'content_minds.content_id:INSERT', 'content_minds.mind_id:INSERT',
                'content_minds.role:INSERT', 'content_minds:DELETE', 'content_minds:SELECT',
                'content_projects.creator_mind_id:INSERT', 'content_projects.creator_mind_id:UPDATE',
                'content_projects.description:INSERT', 'content_projects.description:UPDATE',
                'content_projects.name:INSERT', 'content_projects.name:UPDATE',
                'content_projects.persona_mind_id:INSERT', 'content_projects.persona_mind_id:UPDATE',
                'content_projects.project_metadata:INSERT',
                'content_projects.project_metadata:UPDATE',
                'content_projects.project_type:INSERT', 'content_projects.project_type:UPDATE',
                'content_projects.slug:INSERT',
                'content_projects.status:INSERT', 'content_projects.status:UPDATE',
                'content_projects.target_audience_id:INSERT',
                'content_projects.target_audience_id:UPDATE',
                'content_projects:SELECT',
                'content_tags.content_id:INSERT', 'content_tags.tag_id:INSERT',
                'content_tags:DELETE', 'content_tags:SELECT',
                'contents.ai_generated:INSERT', 'contents.ai_generated:UPDATE',
                'contents.content:INSERT', 'contents.content:UPDATE',
                'contents.content_type:INSERT', 'contents.content_type:UPDATE',
                'contents.deleted_at:UPDATE',
                'contents.fidelity_score:INSERT', 'contents.fidelity_score:UPDATE',
                'contents.file_path:INSERT', 'contents.file_path:UPDATE',
                'contents.metadata:INSERT', 'contents.metadata:UPDATE',
                'contents.parent_content_id:INSERT', 'contents.parent_content_id:UPDATE',
                'contents.project_id:INSERT', 'contents.project_id:UPDATE',
                'contents.sequence_order:INSERT', 'contents.sequence_order:UPDATE',
                'contents.slug:INSERT', 'contents.slug:UPDATE',
                'contents.status:INSERT', 'contents.status:UPDATE',
                'contents.title:INSERT', 'contents.title:UPDATE',
                'contents:SELECT',
                'minds.display_name:INSERT', 'minds.slug:INSERT', 'minds:SELECT',
                'tags.name:INSERT', 'tags.tag_type:INSERT', 'tags:SELECT',
                'tags_id_seq:USAGE'],
          'agent: exactly its column-level privileges on the shared tables');

SELECT is((SELECT count(*)::int FROM contents WHERE slug LIKE 'rls/%'), 7,
          'agent: reads every content, drafts of every project included');
SELECT is(pg_temp.attempt($$SELECT 1 FROM user_profiles$$), '42501',
          'agent: cannot read user_profiles');
SELECT lives_ok($$INSERT INTO minds (slug, display_name) VALUES ('rls-agent-mind', 'Agent''s')$$,
                'agent: creates a mind (slug, display_name)');
SELECT is((SELECT privacy_level || '|' || coalesce(primary_language, '-') FROM minds
           WHERE slug = 'rls-agent-mind'), 'public|-',
          'agent: a mind it creates gets production''s defaults');
SELECT is(pg_temp.attempt($$INSERT INTO minds (slug, display_name, privacy_level)
                            VALUES ('rls-y', 'y', 'private')$$),
          '42501', 'agent: cannot set a mind''s other columns');
SELECT is(pg_temp.attempt($$UPDATE minds SET display_name = 'renamed' WHERE slug = 'rls-mind-a'$$),
          '42501', 'agent: cannot rename a mind');
SELECT lives_ok($$INSERT INTO tags (name, tag_type) VALUES ('rls-agent-tag', 'theme')$$,
                'agent: creates a tag (name, tag_type)');
SELECT is(pg_temp.attempt($$UPDATE tags SET tag_type = 'domain' WHERE name = 'rls-test'$$),
          '42501', 'agent: cannot change a tag');

SELECT is(pg_temp.attempt($$INSERT INTO content_projects (slug, name, project_type)
                            VALUES ('rls-unclaimed', 'x', 'course')$$),
          '42501', 'agent: cannot create the project of a course it did not claim');
SELECT lives_ok($$INSERT INTO creatoros_agent.courses (course, source)
                  VALUES ('rls-agent', 'rls-source')$$,
                'agent: claims course rls-agent');
SELECT is(pg_temp.attempt($$UPDATE content_projects SET name = 'Agent course, renamed'
                            WHERE slug = 'rls-agent'$$),
          'ok 1', 'agent: updates the project of a course it claimed');
SELECT is(pg_temp.attempt($$UPDATE content_projects SET name = 'x' WHERE slug = 'rls-proj-b'$$),
          'ok 0', 'agent: cannot touch the project of another mind''s course');
SELECT is(pg_temp.attempt($$UPDATE content_projects
                            SET creator_mind_id = '00000000-0000-4000-8000-00000000000a'
                            WHERE slug = 'rls-proj-b'$$),
          'ok 0', 'agent: cannot move another mind''s project to another mind');
SELECT is(pg_temp.attempt($$UPDATE content_projects SET slug = 'rls-agent-2'
                            WHERE slug = 'rls-agent'$$),
          '42501', 'agent: cannot change a project''s slug');
SELECT lives_ok($$INSERT INTO audience_profiles (slug, name) VALUES ('rls-agent', 'Its audience')$$,
                'agent: creates the audience profile of a claimed course');
SELECT is(pg_temp.attempt($$UPDATE audience_profiles SET name = 'x' WHERE slug = 'rls-devs'$$),
          'ok 0', 'agent: cannot change the audience profile of a course it did not claim');

SELECT is(pg_temp.attempt($$INSERT INTO contents (id, slug, title, content_type, project_id,
                                                  ai_generated)
                            VALUES ('30000000-0000-4000-8000-0000000000e3', 'rls/agent/id', 'x',
                                    'course_lesson', '20000000-0000-4000-8000-0000000000ee',
                                    true)$$),
          '42501', 'agent: cannot choose a content''s id');
SELECT lives_ok($$INSERT INTO contents (slug, title, content_type, project_id, ai_generated)
                  VALUES ('rls/agent/lesson', 'Lesson', 'course_lesson',
                          '20000000-0000-4000-8000-0000000000ee', true)$$,
                'agent: inserts an AI content into its claimed course');
SELECT is(pg_temp.attempt($$INSERT INTO contents (slug, title, content_type, project_id,
                                                  ai_generated)
                            VALUES ('rls/agent/human', 'x', 'course_lesson',
                                    '20000000-0000-4000-8000-0000000000ee', false)$$),
          '42501', 'agent: cannot insert a content not generated by AI');
SELECT is(pg_temp.attempt($$INSERT INTO contents (slug, title, content_type, project_id,
                                                  ai_generated)
                            VALUES ('rls/agent/x', 'x', 'course_lesson',
                                    '20000000-0000-4000-8000-00000000000b', true)$$),
          '42501', 'agent: cannot insert a content into another mind''s project');
SELECT is(pg_temp.attempt($$UPDATE contents SET title = 'changed'
                            WHERE slug = 'rls/agent/collected'$$),
          'ok 0', 'agent: cannot change an ai_generated = false row, even in its course');
SELECT is(pg_temp.attempt($$UPDATE contents SET title = 'changed' WHERE slug = 'rls/b/draft'$$),
          'ok 0', 'agent: cannot change another mind''s content');
SELECT is(pg_temp.attempt($$UPDATE contents SET project_id = '20000000-0000-4000-8000-00000000000b'
                            WHERE slug = 'rls/agent/lesson'$$),
          '42501', 'agent: cannot move its content into another mind''s project');
SELECT is(pg_temp.attempt($$UPDATE contents SET ai_generated = false
                            WHERE slug = 'rls/agent/lesson'$$),
          '42501', 'agent: cannot turn its content into a non-AI one');
SELECT is(pg_temp.attempt($$UPDATE contents SET deleted_at = now()
                            WHERE slug = 'rls/agent/lesson'$$),
          'ok 1', 'agent: soft-deletes its content');
SELECT is(pg_temp.attempt($$DELETE FROM contents WHERE slug = 'rls/agent/lesson'$$),
          '42501', 'agent: cannot DELETE contents');
SELECT is(pg_temp.attempt($$DELETE FROM content_projects WHERE slug = 'rls-agent'$$),
          '42501', 'agent: cannot DELETE projects');
SELECT is(pg_temp.attempt($$TRUNCATE content_tags$$), '42501', 'agent: cannot TRUNCATE');
SELECT lives_ok($$INSERT INTO content_minds (content_id, mind_id, role)
                  SELECT id, '00000000-0000-4000-8000-00000000000a', 'creator'
                  FROM contents WHERE slug = 'rls/agent/lesson'$$,
                'agent: links a mind to its content');
SELECT is(pg_temp.attempt($$INSERT INTO content_minds (content_id, mind_id, role)
                            VALUES ('30000000-0000-4000-8000-0000000000b2',
                                    '00000000-0000-4000-8000-00000000000a', 'creator')$$),
          '42501', 'agent: cannot link a mind to another mind''s content');
SELECT is(pg_temp.attempt($$INSERT INTO content_tags (content_id, tag_id)
                            VALUES ('30000000-0000-4000-8000-0000000000e1', 900001)$$),
          '42501', 'agent: cannot tag a content not generated by AI');
SELECT is(pg_temp.attempt($$DELETE FROM content_tags$$), 'ok 0',
          'agent: cannot unlink tags of contents that are not its own');
SELECT is(pg_temp.attempt($$DELETE FROM content_minds$$), 'ok 1',
          'agent: unlinks minds of its own contents only');

RESET ROLE;
SELECT * FROM finish();
ROLLBACK;
