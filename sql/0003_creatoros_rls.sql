-- 0003_creatoros_rls.sql -- Row Level Security of CreatorOS v0.9.1, without its known holes.
--
-- Only on a fresh database (see 0001). A signed-in user acts as one mind (current_mind_id()):
--   * their projects (creator_mind_id) and the contents, content_minds and content_tags in them:
--     read and write; a project or content can only be written into one of their projects;
--   * projects they are the persona of: read only;
--   * published, live contents, audience profiles, tags and public minds: read;
--     a private mind: its owner only;
--   * their own user_profiles row: read only.
-- anon reads and writes nothing (its table privileges meet no policy). service_role bypasses RLS;
-- the agent's role has its own policies (0011_agent_role.sql).
--
-- The policies are production's, by name and expression, except where production's leave a
-- hole (docs/SCHEMA.md): user_profiles_read_mine replaces user_profiles_me_only (FOR ALL, so a
-- user could change their mind_id and act as any mind), audience profiles have no write policy
-- (audience_profiles_write_all let any user insert them), and tags have RLS with a read policy
-- (production's tags have none, so anon could change them). `migrate --harden` closes the same
-- holes on an existing database.

ALTER TABLE public.minds             ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.user_profiles     ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.tags              ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.audience_profiles ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.content_projects  ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.contents          ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.content_minds     ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.content_tags      ENABLE ROW LEVEL SECURITY;

-- ---- minds, user_profiles, tags ---------------------------------------------------------------

CREATE POLICY minds_read_public_or_mine ON public.minds
    FOR SELECT TO authenticated
    USING (privacy_level = 'public' OR id = public.current_mind_id());

CREATE POLICY user_profiles_read_mine ON public.user_profiles
    FOR SELECT TO authenticated
    USING (id = auth.uid());

CREATE POLICY tags_read_all ON public.tags
    FOR SELECT TO authenticated
    USING (true);

-- ---- projects and contents ---------------------------------------------------------------------

CREATE POLICY content_projects_rw_mine ON public.content_projects
    FOR ALL TO authenticated
    USING (creator_mind_id = public.current_mind_id())
    WITH CHECK (creator_mind_id = public.current_mind_id());
COMMENT ON POLICY content_projects_rw_mine ON public.content_projects IS
    'KISS policy: Users can only read/write their own projects';

CREATE POLICY content_projects_read_as_persona ON public.content_projects
    FOR SELECT TO authenticated
    USING (persona_mind_id = public.current_mind_id());

CREATE POLICY contents_rw_by_project ON public.contents
    FOR ALL TO authenticated
    USING (project_id IN (SELECT id FROM public.content_projects
                          WHERE creator_mind_id = public.current_mind_id()))
    WITH CHECK (project_id IN (SELECT id FROM public.content_projects
                               WHERE creator_mind_id = public.current_mind_id()));

CREATE POLICY contents_read_published ON public.contents
    FOR SELECT TO authenticated
    USING (status = 'published' AND deleted_at IS NULL);

CREATE POLICY audience_profiles_read_all ON public.audience_profiles
    FOR SELECT TO authenticated
    USING (true);

-- FOR ALL with USING only: the same condition checks the rows written.
CREATE POLICY content_minds_via_content ON public.content_minds
    FOR ALL TO authenticated
    USING (content_id IN (SELECT id FROM public.contents WHERE project_id IN (
               SELECT id FROM public.content_projects
               WHERE creator_mind_id = public.current_mind_id())));

CREATE POLICY content_tags_via_content ON public.content_tags
    FOR ALL TO authenticated
    USING (content_id IN (SELECT id FROM public.contents WHERE project_id IN (
               SELECT id FROM public.content_projects
               WHERE creator_mind_id = public.current_mind_id())));
