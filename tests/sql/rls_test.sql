-- rls_test.sql -- pgTAP: the RLS model of 0002_rls.sql and the agent role of 0003, as each user sees them.
--
-- Runs in a database the migrations were applied to, with the pgtap extension:
--   psql -X -q -At -v ON_ERROR_STOP=1 -f tests/sql/rls_test.sql   (tests/sh/test_rls.sh)
-- Everything happens in one transaction that is rolled back. Identities are switched the
-- way PostgREST does: SET LOCAL ROLE plus the JWT claims in request.jwt.claims.
--
-- Cast: minds A and B each create one project (proj-a, proj-b) holding a published and a
-- draft content (A also a published but soft-deleted one); mind P is the persona of
-- proj-a. Users ua, ub, up act as A, B, P.

BEGIN;
SELECT plan(57);

-- RLS makes a hidden row's UPDATE/DELETE a no-op, not an error: count what happened.
CREATE FUNCTION pg_temp.affected(q text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    EXECUTE q;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

-- ---- fixtures, as the migrating superuser -------------------------------------------------

INSERT INTO minds (id, slug, display_name) VALUES
    ('00000000-0000-4000-8000-00000000000a', 'mind-a', 'Mind A'),
    ('00000000-0000-4000-8000-00000000000b', 'mind-b', 'Mind B'),
    ('00000000-0000-4000-8000-00000000000c', 'mind-p', 'Persona P');
INSERT INTO user_profiles (id, mind_id) VALUES
    ('10000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-00000000000a'),
    ('10000000-0000-4000-8000-00000000000b', '00000000-0000-4000-8000-00000000000b'),
    ('10000000-0000-4000-8000-00000000000c', '00000000-0000-4000-8000-00000000000c');
INSERT INTO audience_profiles (id, slug, name, technical_level) VALUES
    ('40000000-0000-4000-8000-000000000001', 'devs', 'Developers', 'advanced');
INSERT INTO content_projects (id, slug, name, project_type, status, target_audience_id,
                              creator_mind_id, persona_mind_id) VALUES
    ('20000000-0000-4000-8000-00000000000a', 'proj-a', 'Project A', 'course', 'in_progress',
     '40000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-00000000000a',
     '00000000-0000-4000-8000-00000000000c'),
    ('20000000-0000-4000-8000-00000000000b', 'proj-b', 'Project B', 'course', 'in_progress',
     NULL, '00000000-0000-4000-8000-00000000000b', NULL);
INSERT INTO contents (id, slug, title, content_type, status, project_id, deleted_at) VALUES
    ('30000000-0000-4000-8000-0000000000a1', 'a/pub', 'A published', 'course_outline',
     'published', '20000000-0000-4000-8000-00000000000a', NULL),
    ('30000000-0000-4000-8000-0000000000a2', 'a/draft', 'A draft', 'course_lesson',
     'draft', '20000000-0000-4000-8000-00000000000a', NULL),
    ('30000000-0000-4000-8000-0000000000a3', 'a/gone', 'A deleted', 'course_lesson',
     'published', '20000000-0000-4000-8000-00000000000a', now()),
    ('30000000-0000-4000-8000-0000000000b1', 'b/pub', 'B published', 'course_outline',
     'published', '20000000-0000-4000-8000-00000000000b', NULL),
    ('30000000-0000-4000-8000-0000000000b2', 'b/draft', 'B draft', 'course_lesson',
     'draft', '20000000-0000-4000-8000-00000000000b', NULL);
UPDATE contents SET parent_content_id = '30000000-0000-4000-8000-0000000000a1'
    WHERE slug IN ('a/draft', 'a/gone');
UPDATE contents SET parent_content_id = '30000000-0000-4000-8000-0000000000b1'
    WHERE slug = 'b/draft';
INSERT INTO content_minds (content_id, mind_id, role) VALUES
    ('30000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-00000000000a', 'creator'),
    ('30000000-0000-4000-8000-0000000000a2', '00000000-0000-4000-8000-00000000000a', 'creator'),
    ('30000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-00000000000b', 'creator'),
    ('30000000-0000-4000-8000-0000000000b2', '00000000-0000-4000-8000-00000000000b', 'creator');
INSERT INTO tags (id, name, tag_type) VALUES (9001, 'RLS test', 'theme');
INSERT INTO content_tags (content_id, tag_id) VALUES
    ('30000000-0000-4000-8000-0000000000a1', 9001),
    ('30000000-0000-4000-8000-0000000000b1', 9001);

-- ---- the shape of the model --------------------------------------------------------------

SELECT is((SELECT count(*)::int FROM pg_class
           WHERE oid IN ('public.content_projects'::regclass, 'public.contents'::regclass,
                         'public.audience_profiles'::regclass, 'public.content_minds'::regclass,
                         'public.content_tags'::regclass)
             AND relrowsecurity),
          5, 'RLS is enabled on the five CreatorOS tables');
SELECT policies_are('public', 'contents', ARRAY[
    'contents_select_owner', 'contents_select_persona', 'contents_select_published',
    'contents_insert_owner', 'contents_update_owner', 'contents_delete_owner',
    'contents_select_agent', 'contents_insert_agent', 'contents_update_agent'],
    'contents has one policy per action and audience');
SELECT is_definer('public', 'current_mind_id', ARRAY[]::name[],
                  'current_mind_id() is SECURITY DEFINER');

-- ---- user A: the creator of proj-a -------------------------------------------------------

SET LOCAL request.jwt.claims = '{"sub": "10000000-0000-4000-8000-00000000000a", "role": "authenticated"}';
SET LOCAL ROLE authenticated;

SELECT is(current_mind_id(), '00000000-0000-4000-8000-00000000000a'::uuid,
          'A: current_mind_id() is mind A');
SELECT results_eq($$SELECT slug FROM content_projects ORDER BY slug COLLATE "C"$$,
                  ARRAY['proj-a'], 'A: sees only their own project');
SELECT results_eq($$SELECT slug FROM contents ORDER BY slug COLLATE "C"$$,
                  ARRAY['a/draft', 'a/gone', 'a/pub', 'b/pub'],
                  'A: sees their contents and B''s published, live one');
SELECT results_eq($$SELECT c.slug FROM content_minds cm JOIN contents c ON c.id = cm.content_id
                    ORDER BY c.slug COLLATE "C"$$,
                  ARRAY['a/draft', 'a/pub'], 'A: sees only the content_minds of their contents');
SELECT results_eq($$SELECT content_id::text FROM content_tags$$,
                  ARRAY['30000000-0000-4000-8000-0000000000a1'],
                  'A: sees only the content_tags of their contents');
SELECT is((SELECT count(*)::int FROM audience_profiles), 1, 'A: reads audience profiles');
SELECT results_eq($$SELECT id::text FROM user_profiles$$,
                  ARRAY['10000000-0000-4000-8000-00000000000a'], 'A: reads only their own profile');
SELECT results_eq($$SELECT slug || ':' || coalesce(project_creator_slug, '-')
                    FROM v_contents_with_creators ORDER BY slug COLLATE "C"$$,
                  ARRAY['a/draft:mind-a', 'a/gone:mind-a', 'a/pub:mind-a', 'b/pub:-'],
                  'A: the view applies RLS as the caller (B''s project stays hidden)');

SELECT lives_ok($$INSERT INTO contents (slug, title, content_type, project_id, parent_content_id)
                  VALUES ('a/new', 'A new', 'course_lesson', '20000000-0000-4000-8000-00000000000a',
                          '30000000-0000-4000-8000-0000000000a1')$$,
                'A: inserts a content into their project');
SELECT is(pg_temp.affected($$UPDATE contents SET title = 'A draft, edited' WHERE slug = 'a/draft'$$),
          1, 'A: updates their own content');
SELECT throws_ok($$INSERT INTO contents (slug, title, content_type, project_id)
                   VALUES ('x/1', 'x', 'course_lesson', '20000000-0000-4000-8000-00000000000b')$$,
                 '42501', NULL, 'A: cannot insert a content into B''s project');
SELECT throws_ok($$INSERT INTO contents (slug, title, content_type, project_id, parent_content_id)
                   VALUES ('x/2', 'x', 'course_lesson', '20000000-0000-4000-8000-00000000000a',
                           '30000000-0000-4000-8000-0000000000b1')$$,
                 '42501', NULL, 'A: cannot insert under a parent in B''s project');
SELECT throws_ok($$UPDATE contents SET project_id = '20000000-0000-4000-8000-00000000000b'
                   WHERE slug = 'a/draft'$$,
                 '42501', NULL, 'A: cannot move a content into B''s project');
SELECT throws_ok($$UPDATE contents SET parent_content_id = '30000000-0000-4000-8000-0000000000b1'
                   WHERE slug = 'a/draft'$$,
                 '42501', NULL, 'A: cannot re-parent a content under B''s content');
SELECT is(pg_temp.affected($$UPDATE contents SET title = 'mine' WHERE slug = 'b/draft'$$),
          0, 'A: cannot update B''s draft (hidden)');
SELECT is(pg_temp.affected($$UPDATE contents SET title = 'mine' WHERE slug = 'b/pub'$$),
          0, 'A: cannot update B''s published content (readable, not writable)');
SELECT is(pg_temp.affected($$DELETE FROM contents WHERE slug LIKE 'b/%'$$),
          0, 'A: cannot delete B''s contents');
SELECT throws_ok($$INSERT INTO content_projects (slug, name, creator_mind_id)
                   VALUES ('x-proj', 'x', '00000000-0000-4000-8000-00000000000b')$$,
                 '42501', NULL, 'A: cannot create a project for mind B');
SELECT lives_ok($$INSERT INTO content_projects (slug, name, creator_mind_id)
                  VALUES ('a-two', 'A two', '00000000-0000-4000-8000-00000000000a')$$,
                'A: creates a project of their own');
SELECT is(pg_temp.affected($$UPDATE content_projects SET name = 'mine' WHERE slug = 'proj-b'$$),
          0, 'A: cannot update B''s project');
SELECT throws_ok($$UPDATE content_projects SET creator_mind_id = '00000000-0000-4000-8000-00000000000b'
                   WHERE slug = 'proj-a'$$,
                 '42501', NULL, 'A: cannot hand their project to mind B');
SELECT throws_ok($$INSERT INTO content_minds (content_id, mind_id, role)
                   VALUES ('30000000-0000-4000-8000-0000000000b2',
                           '00000000-0000-4000-8000-00000000000a', 'co_author')$$,
                 '42501', NULL, 'A: cannot link a mind to B''s content');
SELECT throws_ok($$INSERT INTO content_tags (content_id, tag_id)
                   VALUES ('30000000-0000-4000-8000-0000000000b2', 9001)$$,
                 '42501', NULL, 'A: cannot tag B''s content');
SELECT is(pg_temp.affected($$DELETE FROM content_tags$$),
          1, 'A: deleting every content_tags row removes only their own');
SELECT throws_ok($$INSERT INTO audience_profiles (slug, name) VALUES ('x-aud', 'x')$$,
                 '42501', NULL, 'A: cannot write audience profiles');
SELECT throws_ok($$UPDATE user_profiles SET mind_id = '00000000-0000-4000-8000-00000000000b'$$,
                 '42501', NULL, 'A: cannot change which mind they act as');

-- ---- user B: the creator of proj-b -------------------------------------------------------

RESET ROLE;
SET LOCAL request.jwt.claims = '{"sub": "10000000-0000-4000-8000-00000000000b", "role": "authenticated"}';
SET LOCAL ROLE authenticated;

SELECT results_eq($$SELECT slug FROM content_projects ORDER BY slug COLLATE "C"$$,
                  ARRAY['proj-b'], 'B: sees only their own project');
SELECT results_eq($$SELECT slug FROM contents ORDER BY slug COLLATE "C"$$,
                  ARRAY['a/pub', 'b/draft', 'b/pub'],
                  'B: sees their contents and A''s published one, not A''s deleted one');
SELECT results_eq($$SELECT c.slug FROM content_minds cm JOIN contents c ON c.id = cm.content_id
                    ORDER BY c.slug COLLATE "C"$$,
                  ARRAY['b/draft', 'b/pub'], 'B: sees only the content_minds of their contents');
SELECT results_eq($$SELECT content_id::text FROM content_tags$$,
                  ARRAY['30000000-0000-4000-8000-0000000000b1'],
                  'B: sees only the content_tags of their contents');
SELECT is((SELECT count(*)::int FROM audience_profiles), 1, 'B: reads audience profiles');
SELECT is(pg_temp.affected($$UPDATE contents SET title = 'mine' WHERE slug LIKE 'a/%'$$),
          0, 'B: cannot update A''s contents');
SELECT is(pg_temp.affected($$DELETE FROM content_minds
                             WHERE mind_id = '00000000-0000-4000-8000-00000000000a'$$),
          0, 'B: cannot delete A''s content_minds links');

-- ---- user P: the persona of proj-a --------------------------------------------------------

RESET ROLE;
SET LOCAL request.jwt.claims = '{"sub": "10000000-0000-4000-8000-00000000000c", "role": "authenticated"}';
SET LOCAL ROLE authenticated;

SELECT results_eq($$SELECT slug FROM content_projects ORDER BY slug COLLATE "C"$$,
                  ARRAY['proj-a'], 'persona: reads the project they are the persona of');
SELECT results_eq($$SELECT slug FROM contents ORDER BY slug COLLATE "C"$$,
                  ARRAY['a/draft', 'a/gone', 'a/new', 'a/pub', 'b/pub'],
                  'persona: reads every content of that project');
SELECT is(pg_temp.affected($$UPDATE contents SET title = 'persona' WHERE slug = 'a/draft'$$),
          0, 'persona: cannot update the project''s contents');
SELECT is(pg_temp.affected($$UPDATE content_projects SET name = 'persona'$$),
          0, 'persona: cannot update the project');
SELECT is(pg_temp.affected($$DELETE FROM contents WHERE slug LIKE 'a/%'$$),
          0, 'persona: cannot delete the project''s contents');
SELECT throws_ok($$INSERT INTO contents (slug, title, content_type, project_id)
                   VALUES ('p/1', 'x', 'course_lesson', '20000000-0000-4000-8000-00000000000a')$$,
                 '42501', NULL, 'persona: cannot insert into the project');

-- ---- an authenticated user without a profile, and anon ------------------------------------

RESET ROLE;
SET LOCAL request.jwt.claims = '{"sub": "10000000-0000-4000-8000-0000000000ff", "role": "authenticated"}';
SET LOCAL ROLE authenticated;

SELECT results_eq($$SELECT slug FROM contents ORDER BY slug COLLATE "C"$$,
                  ARRAY['a/pub', 'b/pub'], 'no profile: sees published contents only');
SELECT is((SELECT count(*)::int FROM content_projects), 0, 'no profile: sees no project');

RESET ROLE;
SET LOCAL request.jwt.claims = '{"role": "anon"}';
SET LOCAL ROLE anon;

SELECT throws_ok($$SELECT 1 FROM contents$$, '42501', NULL, 'anon: cannot read contents');
SELECT throws_ok($$SELECT 1 FROM content_projects$$, '42501', NULL, 'anon: cannot read projects');
SELECT throws_ok($$SELECT 1 FROM audience_profiles$$, '42501', NULL,
                 'anon: cannot read audience profiles');

-- ---- service_role --------------------------------------------------------------------------

RESET ROLE;
SET LOCAL request.jwt.claims = '{"role": "service_role"}';
SET LOCAL ROLE service_role;

SELECT is((SELECT count(*)::int FROM contents), 6, 'service_role: sees every content');
SELECT is((SELECT count(*)::int FROM content_projects), 3, 'service_role: sees every project');

-- ---- the agent -----------------------------------------------------------------------------

RESET ROLE;
SET LOCAL request.jwt.claims = '';
SET LOCAL ROLE creatoros_agent;

SELECT ok((SELECT rolbypassrls AND rolcanlogin AND NOT rolsuper AND NOT rolcreatedb
                  AND NOT rolcreaterole
           FROM pg_roles WHERE rolname = 'creatoros_agent'),
          'agent: LOGIN and BYPASSRLS, no superuser, createdb or createrole');
SELECT is((SELECT count(*)::int FROM contents), 6, 'agent: sees every content');
SELECT lives_ok($$INSERT INTO contents (slug, title, content_type, project_id, ai_generated)
                  VALUES ('b/agent', 'by the agent', 'course_lesson',
                          '20000000-0000-4000-8000-00000000000b', true)$$,
                'agent: inserts a content into any project');
SELECT is(pg_temp.affected($$UPDATE contents SET deleted_at = now() WHERE slug = 'b/draft'$$),
          1, 'agent: soft-deletes a content');
SELECT throws_ok($$DELETE FROM contents WHERE slug = 'b/agent'$$, '42501', NULL,
                 'agent: cannot DELETE from contents');
SELECT throws_ok($$DELETE FROM content_projects WHERE slug = 'a-two'$$, '42501', NULL,
                 'agent: cannot DELETE from content_projects');
SELECT is(pg_temp.affected($$DELETE FROM content_tags$$), 1,
          'agent: unlinks tags (B''s link; A''s went earlier)');
SELECT table_privs_are('public', 'contents', 'creatoros_agent', ARRAY['INSERT', 'SELECT', 'UPDATE'],
                       'agent: exactly SELECT, INSERT, UPDATE on contents');

RESET ROLE;
SELECT * FROM finish();
ROLLBACK;
