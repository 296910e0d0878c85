-- holes.sql -- the known holes of CreatorOS v0.9.1's policies that this database has, one row per
-- change that closes them (docs/SCHEMA.md, "Known holes"):
--
--   hole    the hole's id (user_profiles_writable, audience_profiles_writable, tags_rls,
--           view_owner_rights, api_privileges, definer_executable_by_anon, definer_search_path)
--   what    what is wrong;  fix: what closes it
--   change  one change, as `migrate --harden` lists it
--   apply   the SQL that makes it;  undo: the SQL that takes it back (`migrate --revert`)
--   kind    its kind in creatoros_agent.changes
--
-- Read by `creatoros-agent migrate` (compiled into the binary) on every run, to report the holes;
-- `--harden` runs `apply` and records `undo`. It reads the catalog only. Every identifier comes
-- from the catalog through format('%I'). Where a change revokes privileges, the undo rebuilds the
-- object's privileges as they were, in their order, so that a revert leaves them byte for byte
-- the same (a GRANT to a grantee the list lacks appends it). The holes concern the API roles
-- anon and authenticated: a database without them (not a Supabase one) has none.

WITH api AS (
    SELECT r.oid, r.rolname
    FROM pg_catalog.pg_roles r
    WHERE r.rolname IN ('anon', 'authenticated')
      AND (SELECT count(*) FROM pg_catalog.pg_roles x
           WHERE x.rolname IN ('anon', 'authenticated')) = 2
), shared(tbl, ord) AS (VALUES
    ('minds', 1), ('user_profiles', 2), ('tags', 3), ('audience_profiles', 4),
    ('content_projects', 5), ('contents', 6), ('content_minds', 7), ('content_tags', 8),
    ('v_contents_with_creators', 9)
), rel AS (
    SELECT s.tbl, s.ord, c.oid, c.relkind, c.relrowsecurity, c.reloptions,
           coalesce(c.relacl, pg_catalog.acldefault('r', c.relowner)) AS acl,
           format('TABLE public.%I', s.tbl) AS obj
    FROM shared s
    JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass('public.' || s.tbl)
), writable AS (
    -- Writes that only service_role and the agent make, opened to an API role by a permissive
    -- policy and not shut by a restrictive one that is plainly false.
    SELECT r.tbl, r.ord, w.cmd, w.cord, w.why,
           (SELECT string_agg(DISTINCT p.polname, ', ') FROM pg_catalog.pg_policy p
            WHERE p.polrelid = r.oid AND p.polpermissive AND p.polcmd IN ('*', w.c)
              AND EXISTS (SELECT 1 FROM unnest(p.polroles) pr, api a
                          WHERE pr = 0 OR pg_catalog.pg_has_role(a.oid, pr, 'MEMBER'))
           ) AS opened_by
    FROM rel r
    JOIN (VALUES
        ('user_profiles', 'INSERT', 'a', 1,
         'a user may insert a profile, or give theirs any mind_id, and so act as any mind'),
        ('user_profiles', 'UPDATE', 'w', 2, NULL),
        ('audience_profiles', 'INSERT', 'a', 1,
         'any user may write the audience profiles that only service_role and the agent write'),
        ('audience_profiles', 'UPDATE', 'w', 2, NULL),
        ('audience_profiles', 'DELETE', 'd', 3, NULL)
    ) AS w(tbl, cmd, c, cord, why) ON w.tbl = r.tbl
    WHERE r.relrowsecurity AND EXISTS (
        SELECT 1 FROM api a
        WHERE pg_catalog.has_table_privilege(a.oid, r.oid, w.cmd)
          AND EXISTS (
              SELECT 1 FROM pg_catalog.pg_policy p
              WHERE p.polrelid = r.oid AND p.polpermissive AND p.polcmd IN ('*', w.c)
                AND EXISTS (SELECT 1 FROM unnest(p.polroles) pr
                            WHERE pr = 0 OR pg_catalog.pg_has_role(a.oid, pr, 'MEMBER')))
          AND NOT EXISTS (
              SELECT 1 FROM pg_catalog.pg_policy p
              WHERE p.polrelid = r.oid AND NOT p.polpermissive AND p.polcmd IN ('*', w.c)
                AND EXISTS (SELECT 1 FROM unnest(p.polroles) pr
                            WHERE pr = 0 OR pg_catalog.pg_has_role(a.oid, pr, 'MEMBER'))
                AND pg_catalog.pg_get_expr(CASE WHEN w.c = 'a' THEN p.polwithcheck
                                                ELSE p.polqual END, p.polrelid) = 'false'))
), privs AS (
    -- What Row Level Security never filters: TRUNCATE, REFERENCES, TRIGGER; setval on the
    -- sequence of tags.id.
    SELECT r.obj, format('table public.%I', r.tbl) AS label, r.ord, r.acl,
           ARRAY(SELECT x FROM unnest(ARRAY['TRUNCATE', 'REFERENCES', 'TRIGGER']) x
                 WHERE EXISTS (SELECT 1 FROM api a
                               WHERE pg_catalog.has_table_privilege(a.oid, r.oid, x))) AS held
    FROM rel r
    UNION ALL
    SELECT format('SEQUENCE %I.%I', n.nspname, s.relname),
           format('sequence %I.%I', n.nspname, s.relname), 10,
           coalesce(s.relacl, pg_catalog.acldefault('s', s.relowner)),
           ARRAY(SELECT 'UPDATE'::text
                 WHERE EXISTS (SELECT 1 FROM api a
                               WHERE pg_catalog.has_sequence_privilege(a.oid, s.oid, 'UPDATE')))
    FROM pg_catalog.pg_class s
    JOIN pg_catalog.pg_namespace n ON n.oid = s.relnamespace
    WHERE s.oid = pg_catalog.to_regclass(pg_catalog.pg_get_serial_sequence('public.tags', 'id'))
), definer AS (
    SELECT p.oid,
           format('%I.%I(%s)', n.nspname, p.proname,
                  pg_catalog.pg_get_function_identity_arguments(p.oid)) AS sig,
           coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner)) AS acl,
           EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%') AS pinned
    FROM pg_catalog.pg_proc p
    JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
    WHERE p.prosecdef AND n.nspname = 'public' AND EXISTS (SELECT 1 FROM api)
), ch(hole, hord, cord, what, fix, change, apply, undo, kind, rb_obj, rb_acl) AS (
    SELECT w.tbl || '_writable', w.ord, w.cord,
           format('policy %s lets signed-in users %s rows of public.%s: %s', w.opened_by,
                  string_agg(w.cmd, ', ') OVER (PARTITION BY w.tbl), w.tbl,
                  max(w.why) OVER (PARTITION BY w.tbl)),
           format('restrictive policies %s deny that to anon and authenticated',
                  string_agg(w.tbl || '_' || lower(w.cmd) || '_hardened', ', ')
                      OVER (PARTITION BY w.tbl)),
           format('policy %I on public.%I: AS RESTRICTIVE FOR %s TO anon, authenticated %s',
                  w.tbl || '_' || lower(w.cmd) || '_hardened', w.tbl, w.cmd,
                  CASE w.cmd WHEN 'INSERT' THEN 'WITH CHECK (false)' ELSE 'USING (false)' END),
           format('CREATE POLICY %I ON public.%I AS RESTRICTIVE FOR %s TO anon, authenticated %s',
                  w.tbl || '_' || lower(w.cmd) || '_hardened', w.tbl, w.cmd,
                  CASE w.cmd WHEN 'INSERT' THEN 'WITH CHECK (false)' ELSE 'USING (false)' END),
           format('DROP POLICY IF EXISTS %I ON public.%I',
                  w.tbl || '_' || lower(w.cmd) || '_hardened', w.tbl),
           'policy', NULL, NULL::aclitem[]
    FROM writable w

    UNION ALL
    SELECT 'tags_rls', 10, 1,
           'public.tags has no Row Level Security: with the default grants anon and authenticated '
               'may insert, change and delete tags',
           'enable RLS on public.tags, with policy tags_read_hardened letting signed-in users '
               'read them',
           'public.tags: ENABLE ROW LEVEL SECURITY; policy tags_read_hardened FOR SELECT TO '
               'authenticated USING (true)',
           'ALTER TABLE public.tags ENABLE ROW LEVEL SECURITY; CREATE POLICY tags_read_hardened '
               'ON public.tags FOR SELECT TO authenticated USING (true)',
           'DROP POLICY IF EXISTS tags_read_hardened ON public.tags; '
               'ALTER TABLE public.tags DISABLE ROW LEVEL SECURITY',
           'rls', NULL, NULL
    FROM rel r
    WHERE r.tbl = 'tags' AND NOT r.relrowsecurity AND EXISTS (SELECT 1 FROM api)

    UNION ALL
    SELECT 'view_owner_rights', 11, 1,
           'public.v_contents_with_creators runs with its owner''s rights: whoever may read it '
               'reads every content, project and mind name it joins, past their policies',
           'security_invoker on the view, so that it reads the tables as its caller',
           'view public.v_contents_with_creators: SET (security_invoker = true)',
           'ALTER VIEW public.v_contents_with_creators SET (security_invoker = true)',
           CASE WHEN o.opt IS NULL
                THEN 'ALTER VIEW public.v_contents_with_creators RESET (security_invoker)'
                ELSE format('ALTER VIEW public.v_contents_with_creators '
                            'SET (security_invoker = %L)', o.opt) END,
           'view', NULL, NULL
    FROM rel r
    LEFT JOIN LATERAL (
        SELECT option_value AS opt FROM pg_catalog.pg_options_to_table(r.reloptions)
        WHERE option_name = 'security_invoker'
    ) o ON true
    WHERE r.tbl = 'v_contents_with_creators' AND r.relkind = 'v'
      AND NOT coalesce(o.opt::boolean, false)
      AND EXISTS (SELECT 1 FROM api a WHERE pg_catalog.has_table_privilege(a.oid, r.oid, 'SELECT'))

    UNION ALL
    SELECT 'api_privileges', 12, p.ord,
           'anon and authenticated hold privileges that Row Level Security does not filter: '
               'TRUNCATE empties a table whatever its policies, REFERENCES and TRIGGER hang '
               'their objects on it, UPDATE on a sequence is setval',
           'revoke those from anon and authenticated (SELECT, INSERT, UPDATE, DELETE stay, '
               'under RLS)',
           format('privileges on %s: revoke %s from anon and authenticated', p.label,
                  array_to_string(p.held, ', ')),
           format('REVOKE %s ON %s FROM PUBLIC, anon, authenticated',
                  array_to_string(p.held, ', '), p.obj),
           NULL, 'privileges', p.obj, p.acl
    FROM privs p
    WHERE cardinality(p.held) > 0

    UNION ALL
    SELECT 'definer_executable_by_anon', 13, row_number() OVER (ORDER BY d.sig),
           format('SECURITY DEFINER function %s may be run by anon, with its owner''s rights',
                  string_agg(d.sig, ', ') OVER ()),
           'revoke EXECUTE on it from PUBLIC and anon',
           format('function %s: revoke EXECUTE from PUBLIC and anon', d.sig),
           format('REVOKE EXECUTE ON ROUTINE %s FROM PUBLIC, anon', d.sig),
           NULL, 'function', 'ROUTINE ' || d.sig, d.acl
    FROM definer d
    WHERE pg_catalog.has_function_privilege((SELECT a.oid FROM api a WHERE a.rolname = 'anon'),
                                            d.oid, 'EXECUTE')

    UNION ALL
    SELECT 'definer_search_path', 14, row_number() OVER (ORDER BY d.sig),
           format('SECURITY DEFINER function %s has no fixed search_path: its caller''s '
                  'search_path decides what its names mean', string_agg(d.sig, ', ') OVER ()),
           'pin search_path = public, pg_temp on it',
           format('function %s: SET search_path = public, pg_temp', d.sig),
           format('ALTER ROUTINE %s SET search_path = public, pg_temp', d.sig),
           format('ALTER ROUTINE %s RESET search_path', d.sig),
           'function', NULL, NULL
    FROM definer d
    WHERE NOT d.pinned
)
SELECT ch.hole, ch.what, ch.fix, ch.change, ch.apply, coalesce(ch.undo, rb.sql) AS undo, ch.kind
FROM ch
LEFT JOIN LATERAL (
    -- REVOKE everything from everyone the privileges name, then GRANT each grantee's back in
    -- the original order.
    SELECT format('REVOKE ALL ON %s FROM %s; ', ch.rb_obj, string_agg(DISTINCT g.who, ', '))
           || string_agg(format('GRANT %s ON %s TO %s%s', g.privs, ch.rb_obj, g.who,
                                CASE WHEN g.grantable THEN ' WITH GRANT OPTION' ELSE '' END),
                         '; ' ORDER BY g.first) AS sql
    FROM (SELECT CASE WHEN e.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(ro.rolname) END AS who,
                 e.is_grantable AS grantable, min(e.n) AS first,
                 string_agg(e.privilege_type, ', ' ORDER BY e.n) AS privs
          FROM pg_catalog.aclexplode(ch.rb_acl) WITH ORDINALITY
               AS e(grantor, grantee, privilege_type, is_grantable, n)
          LEFT JOIN pg_catalog.pg_roles ro ON ro.oid = e.grantee
          GROUP BY 1, 2) g
) rb ON ch.rb_acl IS NOT NULL
ORDER BY ch.hord, ch.hole, ch.cord
