-- 0002_creatoros_schema.sql -- the tables CreatorOS v0.9.1 and the agent share, as production
-- has them: minds, user_profiles (and the signup trigger), tags, audience_profiles,
-- content_projects, contents, content_minds, content_tags, their indexes, the updated_at
-- triggers, the view v_contents_with_creators, and the API roles' privileges.
--
-- Only on a fresh database (see 0001). Column names, order, types, nullability, defaults,
-- checks, unique keys and foreign-key actions are production's; docs/SCHEMA.md lists every
-- difference (generation_execution_id without its job_executions, the view's security_invoker,
-- no TRUNCATE/REFERENCES/TRIGGER for anon and authenticated, ...) and why.

-- ---- functions the tables use ------------------------------------------------------------------

CREATE FUNCTION public.set_updated_at() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

-- ---- minds and who acts as which --------------------------------------------------------------

CREATE TABLE public.minds (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug             text UNIQUE NOT NULL,
    display_name     text NOT NULL,
    primary_language char(2),
    short_bio        text,
    privacy_level    text NOT NULL DEFAULT 'public' CHECK (privacy_level IN ('public', 'private')),
    apex_score       numeric(3,2),
    created_by       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- A signed-in user (auth.users.id) acting as exactly one mind.
CREATE TABLE public.user_profiles (
    id         uuid PRIMARY KEY,
    mind_id    uuid NOT NULL UNIQUE REFERENCES public.minds (id) ON DELETE RESTRICT,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT fk_user_profiles_auth FOREIGN KEY (id) REFERENCES auth.users (id) ON DELETE CASCADE
);

-- The caller's mind, through the caller's own read policy on user_profiles (as production).
CREATE FUNCTION public.current_mind_id() RETURNS uuid
LANGUAGE sql STABLE
AS $$
    SELECT up.mind_id FROM public.user_profiles up WHERE up.id = auth.uid()
$$;

-- Signup: every new auth user gets a mind (slug from the e-mail's local part, made unique) and a
-- profile pointing at it. A definer (it writes minds and user_profiles for the new user) with a
-- fixed search_path; nobody calls it but the trigger (EXECUTE is revoked below).
CREATE FUNCTION public.provision_user_profile() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    v_base text := lower(regexp_replace(split_part(NEW.email, '@', 1), '[^a-z0-9_]', '_', 'g'));
    v_slug text := v_base;
    v_n    int := 0;
    v_mind uuid;
BEGIN
    WHILE EXISTS (SELECT 1 FROM minds m WHERE m.slug = v_slug) LOOP
        v_n := v_n + 1;
        IF v_n > 100 THEN
            v_slug := v_base || '_' || substring(NEW.id::text FROM 1 FOR 8);
            EXIT;
        END IF;
        v_slug := v_base || '_' || v_n;
    END LOOP;
    INSERT INTO minds (slug, display_name, primary_language, short_bio, created_by)
    VALUES (v_slug, coalesce(NEW.raw_user_meta_data ->> 'name', v_slug), 'pt', '', NEW.id::text)
    RETURNING id INTO v_mind;
    INSERT INTO user_profiles (id, mind_id) VALUES (NEW.id, v_mind) ON CONFLICT (id) DO NOTHING;
    RETURN NEW;
END
$$;

CREATE TRIGGER trg_provision_user_profile AFTER INSERT ON auth.users
    FOR EACH ROW EXECUTE FUNCTION public.provision_user_profile();

-- ---- tags: a tag is its name (case-sensitive) ----------------------------------------------------

CREATE TABLE public.tags (
    id         bigserial PRIMARY KEY,
    name       text UNIQUE NOT NULL,
    tag_type   text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_tags_type ON public.tags (tag_type);

-- ---- the CreatorOS content tables ---------------------------------------------------------------

-- technical_level's list holds NULL as production's does, so that CHECK lets any text pass
-- (x IN (..., NULL) is never false); the agent writes only the four levels.
CREATE TABLE public.audience_profiles (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug                 text NOT NULL UNIQUE,
    name                 text NOT NULL,
    description          text,
    demographics         jsonb,
    psychographics       jsonb,
    technical_level      text CHECK (technical_level IN (
                             'beginner', 'intermediate', 'advanced', 'expert', NULL)),
    learning_preferences jsonb,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.content_projects (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug               text NOT NULL UNIQUE,
    name               text NOT NULL,
    description        text,
    project_type       text CHECK (project_type IN (
                           'course', 'book', 'blog_series', 'video_series', 'newsletter',
                           'social_media_campaign', 'other')),
    status             text DEFAULT 'planning' CHECK (status IN (
                           'planning', 'in_progress', 'completed', 'archived')),
    target_audience_id uuid REFERENCES public.audience_profiles (id),
    default_frameworks jsonb,
    project_metadata   jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    creator_mind_id    uuid REFERENCES public.minds (id) ON DELETE SET NULL,
    persona_mind_id    uuid REFERENCES public.minds (id) ON DELETE SET NULL
);

-- generation_execution_id names a row of the app's job_executions, which is not part of this
-- schema: a plain uuid here, a foreign key in production.
CREATE TABLE public.contents (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    ai_generated            boolean NOT NULL DEFAULT false,
    content_type            text NOT NULL CHECK (content_type IN (
                                'raw_source', 'interview', 'podcast_transcript',
                                'video_transcript', 'article', 'book_excerpt', 'essay', 'speech',
                                'social_media_post', 'email', 'conversation', 'academic_paper',
                                'course_outline', 'course_module', 'course_lesson',
                                'book_outline', 'book_part', 'book_chapter', 'blog_series',
                                'blog_post', 'video_script', 'video_chapter',
                                'social_post_linkedin', 'social_post_twitter', 'social_thread',
                                'newsletter_edition', 'other')),
    parent_content_id       uuid REFERENCES public.contents (id) ON DELETE CASCADE,
    sequence_order          smallint,
    slug                    text NOT NULL UNIQUE,
    title                   text NOT NULL,
    content                 text,
    generation_execution_id uuid,
    project_id              uuid REFERENCES public.content_projects (id) ON DELETE SET NULL,
    fidelity_score          numeric(3,2) CHECK (fidelity_score BETWEEN 0 AND 1),
    metadata                jsonb NOT NULL DEFAULT '{}'::jsonb,
    status                  text DEFAULT 'draft' CHECK (status IN (
                                'draft', 'reviewed', 'published', 'archived')),
    published_at            timestamptz,
    published_url           text,
    file_path               text,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    deleted_at              timestamptz
);

CREATE TABLE public.content_minds (
    content_id uuid NOT NULL REFERENCES public.contents (id) ON DELETE CASCADE,
    mind_id    uuid NOT NULL REFERENCES public.minds (id) ON DELETE CASCADE,
    role       text CHECK (role IN (
                   'creator', 'author', 'co_author', 'host', 'guest', 'interviewer',
                   'interviewee', 'participant', 'moderator', 'contributor', 'other')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (content_id, mind_id)
);

CREATE TABLE public.content_tags (
    content_id uuid NOT NULL REFERENCES public.contents (id) ON DELETE CASCADE,
    tag_id     bigint NOT NULL REFERENCES public.tags (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (content_id, tag_id)
);

COMMENT ON TABLE public.contents IS
    'Universal content table: collected (ai_generated = false) and generated (true) contents.';
COMMENT ON TABLE public.content_projects IS
    'Content projects (courses, books, series) grouping related contents';
COMMENT ON COLUMN public.content_projects.creator_mind_id IS
    'Mind creating the content project (course creator, author, etc.)';
COMMENT ON COLUMN public.content_projects.persona_mind_id IS
    'Mind whose voice/style to emulate in generated content';

-- ---- indexes (production's) ----------------------------------------------------------------------

CREATE INDEX idx_contents_ai_generated ON public.contents (ai_generated) WHERE deleted_at IS NULL;
CREATE INDEX idx_content_minds_content ON public.content_minds (content_id);
CREATE INDEX idx_content_minds_mind ON public.content_minds (mind_id);
CREATE INDEX idx_content_minds_role ON public.content_minds (mind_id, role);
CREATE INDEX idx_contents_parent ON public.contents (parent_content_id, sequence_order)
    WHERE deleted_at IS NULL;
CREATE INDEX idx_contents_hierarchy ON public.contents (parent_content_id, sequence_order)
    WHERE deleted_at IS NULL AND parent_content_id IS NOT NULL;
CREATE INDEX idx_contents_project ON public.contents (project_id)
    WHERE ai_generated = true AND deleted_at IS NULL;
CREATE INDEX idx_contents_status ON public.contents (status, published_at DESC)
    WHERE deleted_at IS NULL;
CREATE INDEX idx_contents_processing ON public.contents ((metadata ->> 'processing_status'))
    WHERE ai_generated = false AND deleted_at IS NULL;
CREATE INDEX idx_contents_generation ON public.contents (generation_execution_id)
    WHERE ai_generated = true;
CREATE INDEX idx_content_tags_content ON public.content_tags (content_id);
CREATE INDEX idx_content_tags_tag ON public.content_tags (tag_id);
CREATE INDEX idx_contents_fts ON public.contents
    USING gin (to_tsvector('english', coalesce(title, '') || ' ' || coalesce(content, '')));
CREATE INDEX idx_contents_metadata ON public.contents USING gin (metadata);
CREATE INDEX idx_contents_slug ON public.contents (slug) WHERE deleted_at IS NULL;
CREATE INDEX idx_content_projects_slug ON public.content_projects (slug);
CREATE INDEX idx_content_projects_creator_mind ON public.content_projects (creator_mind_id)
    WHERE creator_mind_id IS NOT NULL;
CREATE INDEX idx_content_projects_persona_mind ON public.content_projects (persona_mind_id)
    WHERE persona_mind_id IS NOT NULL;
CREATE INDEX idx_content_projects_target_audience ON public.content_projects (target_audience_id)
    WHERE target_audience_id IS NOT NULL;

-- ---- updated_at, on the tables production keeps it for -----------------------------------------

CREATE TRIGGER trg_minds_updated BEFORE UPDATE ON public.minds
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();
CREATE TRIGGER trg_contents_updated_at BEFORE UPDATE ON public.contents
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();
CREATE TRIGGER trg_audience_profiles_updated_at BEFORE UPDATE ON public.audience_profiles
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();
CREATE TRIGGER trg_content_projects_updated_at BEFORE UPDATE ON public.content_projects
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

-- ---- the view --------------------------------------------------------------------------------------
-- Production's columns. security_invoker: the view reads the tables as its caller, so their
-- policies apply through it (production's runs as its owner and shows every row to every reader).

CREATE VIEW public.v_contents_with_creators WITH (security_invoker = true) AS
SELECT c.id, c.slug, c.title, c.content_type, c.ai_generated, c.fidelity_score, c.status,
       c.project_id, p.name AS project_name, p.creator_mind_id, p.persona_mind_id,
       cm.display_name AS creator_name, pm.display_name AS persona_name,
       c.created_at, c.published_at
FROM public.contents c
LEFT JOIN public.content_projects p ON c.project_id = p.id
LEFT JOIN public.minds cm ON p.creator_mind_id = cm.id
LEFT JOIN public.minds pm ON p.persona_mind_id = pm.id
WHERE c.deleted_at IS NULL;
COMMENT ON VIEW public.v_contents_with_creators IS 'Content with creator and persona mind information';

-- ---- privileges, as Supabase's defaults give them, minus what RLS cannot guard -----------------
-- On Supabase (and where 0001 emulated it) the default privileges have just granted ALL to anon,
-- authenticated and service_role; the explicit grants make the result the same for any migrating
-- role. Row Level Security (0003) then decides which rows. TRUNCATE ignores RLS, REFERENCES and
-- TRIGGER let a role hang its own objects on a table: anon and authenticated get none of them, nor
-- setval (UPDATE) on the sequence.

GRANT SELECT, INSERT, UPDATE, DELETE
    ON public.minds, public.user_profiles, public.tags, public.audience_profiles,
       public.content_projects, public.contents, public.content_minds, public.content_tags,
       public.v_contents_with_creators
    TO anon, authenticated;
GRANT ALL
    ON public.minds, public.user_profiles, public.tags, public.audience_profiles,
       public.content_projects, public.contents, public.content_minds, public.content_tags,
       public.v_contents_with_creators
    TO service_role;
REVOKE TRUNCATE, REFERENCES, TRIGGER
    ON public.minds, public.user_profiles, public.tags, public.audience_profiles,
       public.content_projects, public.contents, public.content_minds, public.content_tags,
       public.v_contents_with_creators
    FROM PUBLIC, anon, authenticated;
GRANT USAGE, SELECT ON SEQUENCE public.tags_id_seq TO anon, authenticated;
GRANT ALL ON SEQUENCE public.tags_id_seq TO service_role;
REVOKE UPDATE ON SEQUENCE public.tags_id_seq FROM PUBLIC, anon, authenticated;

GRANT EXECUTE ON FUNCTION public.set_updated_at(), public.current_mind_id()
    TO anon, authenticated, service_role;
-- A SECURITY DEFINER function is never anon's to call.
REVOKE EXECUTE ON FUNCTION public.provision_user_profile() FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION public.provision_user_profile() TO authenticated, service_role;
