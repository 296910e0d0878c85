-- 0002_rls.sql -- Row Level Security as in CreatorOS v0.9.1: a user acts as one mind.
--
-- The model, for a user whose user_profiles row points at mind M:
--   * M's projects (creator_mind_id = M) and their contents, content_minds and
--     content_tags: read and write. A row can only be written into a project of M: an
--     INSERT or UPDATE that would put a content into another's project, or under a parent
--     content of another's project, fails WITH CHECK (SQLSTATE 42501).
--   * projects whose persona is M (persona_mind_id = M) and their contents: read only.
--   * published, non-deleted contents: read by every authenticated user.
--   * audience_profiles, minds, tags: read by every authenticated user; written only by
--     service_role and the agent (both bypass RLS; 0003_agent_role.sql).
--   * user_profiles: a user reads their own row only.
--   * anon: nothing (no grants in 0001).
-- UPDATE and DELETE of a row the policies hide affect 0 rows, as RLS does; they do not fail.
--
-- Policies are named <table>_<action>_<audience>, one per (table, action, audience).
-- The ownership tests live in SECURITY DEFINER functions: a policy on contents that
-- queried contents (the parent check) would recurse, and a definer function reads each
-- table once, without stacking the policies of the tables it joins.
-- minds, tags and user_profiles are guarded too, beyond v0.9.1: Supabase flags public
-- tables without RLS, and a writable user_profiles would let a user become any mind.

-- ---- who is asking ---------------------------------------------------------------------

-- The caller's mind, or NULL (no profile, anon, no JWT). Definer: reads user_profiles,
-- which the caller may only see their own row of anyway.
CREATE OR REPLACE FUNCTION public.current_mind_id() RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = ''
AS $$
    SELECT up.mind_id FROM public.user_profiles up WHERE up.id = auth.uid()
$$;

-- True when the caller's mind created project p_project_id.
CREATE OR REPLACE FUNCTION public.project_is_owned(p_project_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = ''
AS $$
    SELECT EXISTS (SELECT 1 FROM public.content_projects cp
                   WHERE cp.id = p_project_id AND cp.creator_mind_id = public.current_mind_id())
$$;

-- True when the caller's mind is the persona of project p_project_id.
CREATE OR REPLACE FUNCTION public.project_is_persona(p_project_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = ''
AS $$
    SELECT EXISTS (SELECT 1 FROM public.content_projects cp
                   WHERE cp.id = p_project_id AND cp.persona_mind_id = public.current_mind_id())
$$;

-- True when content p_content_id belongs to a project the caller's mind created.
CREATE OR REPLACE FUNCTION public.content_is_owned(p_content_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = ''
AS $$
    SELECT EXISTS (SELECT 1 FROM public.contents ct
                   JOIN public.content_projects cp ON cp.id = ct.project_id
                   WHERE ct.id = p_content_id AND cp.creator_mind_id = public.current_mind_id())
$$;

REVOKE ALL ON FUNCTION public.current_mind_id(), public.project_is_owned(uuid),
                       public.project_is_persona(uuid), public.content_is_owned(uuid)
    FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION public.current_mind_id(), public.project_is_owned(uuid),
                          public.project_is_persona(uuid), public.content_is_owned(uuid)
    TO authenticated, service_role;

-- ---- RLS on ----------------------------------------------------------------------------

ALTER TABLE public.content_projects  ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.contents          ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.audience_profiles ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.content_minds     ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.content_tags      ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.minds             ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.tags              ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.user_profiles     ENABLE ROW LEVEL SECURITY;

-- ---- content_projects ------------------------------------------------------------------

DROP POLICY IF EXISTS content_projects_select_owner ON public.content_projects;
CREATE POLICY content_projects_select_owner ON public.content_projects
    FOR SELECT TO authenticated
    USING (creator_mind_id = public.current_mind_id());

DROP POLICY IF EXISTS content_projects_select_persona ON public.content_projects;
CREATE POLICY content_projects_select_persona ON public.content_projects
    FOR SELECT TO authenticated
    USING (persona_mind_id = public.current_mind_id());

DROP POLICY IF EXISTS content_projects_insert_owner ON public.content_projects;
CREATE POLICY content_projects_insert_owner ON public.content_projects
    FOR INSERT TO authenticated
    WITH CHECK (creator_mind_id = public.current_mind_id());

DROP POLICY IF EXISTS content_projects_update_owner ON public.content_projects;
CREATE POLICY content_projects_update_owner ON public.content_projects
    FOR UPDATE TO authenticated
    USING (creator_mind_id = public.current_mind_id())
    WITH CHECK (creator_mind_id = public.current_mind_id());

DROP POLICY IF EXISTS content_projects_delete_owner ON public.content_projects;
CREATE POLICY content_projects_delete_owner ON public.content_projects
    FOR DELETE TO authenticated
    USING (creator_mind_id = public.current_mind_id());

-- ---- contents --------------------------------------------------------------------------

DROP POLICY IF EXISTS contents_select_owner ON public.contents;
CREATE POLICY contents_select_owner ON public.contents
    FOR SELECT TO authenticated
    USING (public.project_is_owned(project_id));

DROP POLICY IF EXISTS contents_select_persona ON public.contents;
CREATE POLICY contents_select_persona ON public.contents
    FOR SELECT TO authenticated
    USING (public.project_is_persona(project_id));

DROP POLICY IF EXISTS contents_select_published ON public.contents;
CREATE POLICY contents_select_published ON public.contents
    FOR SELECT TO authenticated
    USING (status = 'published' AND deleted_at IS NULL);

DROP POLICY IF EXISTS contents_insert_owner ON public.contents;
CREATE POLICY contents_insert_owner ON public.contents
    FOR INSERT TO authenticated
    WITH CHECK (public.project_is_owned(project_id)
                AND (parent_content_id IS NULL
                     OR public.content_is_owned(parent_content_id)));

-- USING picks the rows a user may change; WITH CHECK stops moving one out: a new
-- project_id or parent_content_id must be the user's too.
DROP POLICY IF EXISTS contents_update_owner ON public.contents;
CREATE POLICY contents_update_owner ON public.contents
    FOR UPDATE TO authenticated
    USING (public.project_is_owned(project_id))
    WITH CHECK (public.project_is_owned(project_id)
                AND (parent_content_id IS NULL
                     OR public.content_is_owned(parent_content_id)));

DROP POLICY IF EXISTS contents_delete_owner ON public.contents;
CREATE POLICY contents_delete_owner ON public.contents
    FOR DELETE TO authenticated
    USING (public.project_is_owned(project_id));

-- ---- content_minds ---------------------------------------------------------------------

DROP POLICY IF EXISTS content_minds_select_owner ON public.content_minds;
CREATE POLICY content_minds_select_owner ON public.content_minds
    FOR SELECT TO authenticated
    USING (public.content_is_owned(content_id));

DROP POLICY IF EXISTS content_minds_insert_owner ON public.content_minds;
CREATE POLICY content_minds_insert_owner ON public.content_minds
    FOR INSERT TO authenticated
    WITH CHECK (public.content_is_owned(content_id));

DROP POLICY IF EXISTS content_minds_update_owner ON public.content_minds;
CREATE POLICY content_minds_update_owner ON public.content_minds
    FOR UPDATE TO authenticated
    USING (public.content_is_owned(content_id))
    WITH CHECK (public.content_is_owned(content_id));

DROP POLICY IF EXISTS content_minds_delete_owner ON public.content_minds;
CREATE POLICY content_minds_delete_owner ON public.content_minds
    FOR DELETE TO authenticated
    USING (public.content_is_owned(content_id));

-- ---- content_tags ----------------------------------------------------------------------

DROP POLICY IF EXISTS content_tags_select_owner ON public.content_tags;
CREATE POLICY content_tags_select_owner ON public.content_tags
    FOR SELECT TO authenticated
    USING (public.content_is_owned(content_id));

DROP POLICY IF EXISTS content_tags_insert_owner ON public.content_tags;
CREATE POLICY content_tags_insert_owner ON public.content_tags
    FOR INSERT TO authenticated
    WITH CHECK (public.content_is_owned(content_id));

DROP POLICY IF EXISTS content_tags_update_owner ON public.content_tags;
CREATE POLICY content_tags_update_owner ON public.content_tags
    FOR UPDATE TO authenticated
    USING (public.content_is_owned(content_id))
    WITH CHECK (public.content_is_owned(content_id));

DROP POLICY IF EXISTS content_tags_delete_owner ON public.content_tags;
CREATE POLICY content_tags_delete_owner ON public.content_tags
    FOR DELETE TO authenticated
    USING (public.content_is_owned(content_id));

-- ---- read-only for every authenticated user ---------------------------------------------

DROP POLICY IF EXISTS audience_profiles_select_authenticated ON public.audience_profiles;
CREATE POLICY audience_profiles_select_authenticated ON public.audience_profiles
    FOR SELECT TO authenticated
    USING (true);

DROP POLICY IF EXISTS minds_select_authenticated ON public.minds;
CREATE POLICY minds_select_authenticated ON public.minds
    FOR SELECT TO authenticated
    USING (true);

DROP POLICY IF EXISTS tags_select_authenticated ON public.tags;
CREATE POLICY tags_select_authenticated ON public.tags
    FOR SELECT TO authenticated
    USING (true);

DROP POLICY IF EXISTS user_profiles_select_self ON public.user_profiles;
CREATE POLICY user_profiles_select_self ON public.user_profiles
    FOR SELECT TO authenticated
    USING (id = auth.uid());
