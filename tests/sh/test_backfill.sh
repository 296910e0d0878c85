#!/usr/bin/env bash
# test_backfill.sh -- `creatoros-agent backfill` and `status` end to end: the fixture tree
# (tests/fixtures/backfill) into a real PostgreSQL, asserting the exact rows of
# docs/CONTRACT.md, then re-runs, edits, bad files, a server crash mid-backfill, dry runs,
# two sources in one database, passwords kept out of the output, and `status`.
#
#   backfill_fixture_rows_as_contract             the fixture tree, row by row
#   backfill_fixture_rows_on_production_schema    the same on the production schema
#   backfill_rerun_writes_nothing                 a re-run, a touch, --force: no row version
#   backfill_changes_follow_tree                  edits, deletes, renames, moves, briefs
#   backfill_bad_files_rejected_with_reason       bad files among good ones, each named
#   backfill_server_killed_resumes                the server killed mid-backfill, a re-run
#   backfill_dry_run_writes_nothing               --dry-run, CREATOR_OS_DB_PERSIST=false
#   backfill_two_sources_keep_apart               two sources in one database
#   backfill_password_never_printed               a URL's password, in every output
#   backfill_status_compares_tree                 `status` before, after, with changes
#   backfill_schema_problem_not_outage            a missing column, a missing privilege
#   backfill_course_in_two_trees_first_source_owns  one course name in two trees
#   backfill_empty_or_wrong_root_deletes_nothing  a missing, empty or wrong root
#   backfill_secrets_blanked_every_form           every form of connection string
#   backfill_big_course_in_parts_bounded          150 lessons of 8 MB: parts, memory
#   backfill_file_above_one_part_refused          a file above one part, not even read
#   backfill_course_in_parts_file_refused         a file the database refuses, in parts
#   backfill_unindexable_path_is_data_error       a path too long for the index
#
# Each scenario gets its own database (dropped at exit) and its own copy of the tree. Needs
# CO_TEST_DB, CO_PGDIR, CO_SOURCE_DIR, CO_AGENT (deploy/test.sh exports them). The crash
# test stops the shared cluster for a few seconds; it is restarted at exit whatever happens.
# shellcheck disable=SC2317 # predicates are called through wait_until and check
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
. "$HERE/lib.sh"
lib_init test_backfill CO_TEST_DB CO_AGENT jq python3

FIX=$CO_SOURCE_DIR/tests/fixtures/backfill
BENCH=$CO_SOURCE_DIR/bench
PY=/usr/bin/python3
LEAK=LEAK_TOKEN_7f3a9c
LEFTOVER=LEFTOVER_TOKEN_b41d

# ---- helpers ------------------------------------------------------------------------------

# make_tree DIR: a copy of the fixture plus what git cannot hold nicely: odd names, hidden
# files, editor leftovers and symbolic links (to a file, a directory and a course outside).
make_tree() {
    local t=$1 out=$WORK/outside
    cp -a "$FIX" "$t"
    printf -- '---\ntitle: Nome estranho\n---\nCorpo estranho.\n' \
        >"$t/agencia-ia/lessons/8.1 \"Citação\" d'Água.md"
    local n
    for n in '.oculta.md' 'aula-9.1-x.md~' '.aula-9.2.md.swp' 'aula-9.3.md.tmp' \
        '#aula-9.4.md#' 'aula-9.5.swp' 'aula-9.6.tmp'; do
        printf -- '---\ntitle: %s\n---\n%s\n' "$LEFTOVER" "$LEFTOVER" >"$t/agencia-ia/lessons/$n"
    done
    mkdir -p "$t/agencia-ia/lessons/.rascunhos" "$t/.curso-oculto/lessons"
    printf -- '---\ntitle: %s\n---\n' "$LEFTOVER" >"$t/agencia-ia/lessons/.rascunhos/aula-9.7.md"
    printf -- '---\ntitle: %s\n---\n' "$LEFTOVER" >"$t/.curso-oculto/COURSE-BRIEF.md"
    printf -- '---\ntitle: %s\n---\n' "$LEFTOVER" >"$t/.curso-oculto/lessons/aula-1.1.md"
    if [[ ! -d $out ]]; then
        mkdir -p "$out/dir" "$out/course/lessons"
        printf -- '---\ntitle: %s\nmodule: 9\n---\n%s body\n' "$LEAK" "$LEAK" >"$out/secret.md"
        cp "$out/secret.md" "$out/dir/aula-9.8.md"
        cp "$out/secret.md" "$out/course/COURSE-BRIEF.md"
        cp "$out/secret.md" "$out/course/lessons/aula-1.1.md"
    fi
    ln -s "$out/secret.md" "$t/agencia-ia/lessons/aula-9.9-link.md"
    ln -s "$out/dir" "$t/agencia-ia/lessons/modulo-09"
    ln -s "$out/course" "$t/linked-course"
    ln -s "$out/course/lessons" "$t/so-licoes/lessons/linked"
    ln -s "$out/secret.md" "$t/so-licoes/COURSE-BRIEF.md" # a brief that is a link: no brief
}

# body_md5s ROOT REL...: "REL|md5 of its body" per file, by an independent reading of the
# contract: BOM dropped; an opening "---" line, then everything after the first closing
# "---" or "..." line (trailing spaces, CRLF allowed); no opening line: the whole text.
body_md5s() {
    "$PY" - "$@" <<'PY'
import hashlib, re, sys
root = sys.argv[1]
for rel in sys.argv[2:]:
    b = open(root + "/" + rel, "rb").read()
    if b.startswith(b"\xef\xbb\xbf"):
        b = b[3:]
    lines = re.findall(rb"[^\n]*\n|[^\n]+$", b)
    if lines and re.fullmatch(rb"---[ \t]*\r?\n", lines[0]):
        off = len(lines[0])
        for line in lines[1:]:
            off += len(line)
            if re.fullmatch(rb"(---|\.\.\.)[ \t]*(\r?\n)?", line):
                b = b[off:]
                break
        else:
            sys.exit("unterminated front-matter in " + rel)
    print(rel + "|" + hashlib.md5(b).hexdigest())
PY
}

md5_of() { # md5_of PRINTF-FORMAT: md5 of the bytes printf makes
    # shellcheck disable=SC2059
    printf -- "$1" | md5sum | cut -d' ' -f1
}

# Every live-or-not contents row as "slug|xmin|updated_at|deleted_at", for before/after.
snap() { # snap URL: remember the current row versions in table bf_snap (not the agent's)
    q "$1" "DROP TABLE IF EXISTS bf_snap;
            CREATE TABLE bf_snap AS SELECT id, slug, xmin::text AS x, updated_at, deleted_at
            FROM public.contents;
            DROP TABLE IF EXISTS bf_psnap;
            CREATE TABLE bf_psnap AS SELECT id, slug, xmin::text AS x FROM public.content_projects" >/dev/null
}
changed() { # changed URL: slugs of contents rows written since snap (new rows marked +)
    qcmp "$1" "SELECT string_agg(s, ' ' ORDER BY s COLLATE \"C\") FROM (
              SELECT c.slug AS s FROM public.contents c JOIN bf_snap b USING (id) WHERE c.xmin::text <> b.x
              UNION ALL
              SELECT '+' || c.slug FROM public.contents c WHERE NOT EXISTS (SELECT 1 FROM bf_snap b WHERE b.id = c.id)
            ) z"
}
pchanged() { # pchanged URL: slugs of content_projects rows written since snap
    qcmp "$1" "SELECT string_agg(s, ' ' ORDER BY s COLLATE \"C\") FROM (
              SELECT p.slug AS s FROM public.content_projects p JOIN bf_psnap b USING (id) WHERE p.xmin::text <> b.x
              UNION ALL
              SELECT '+' || p.slug FROM public.content_projects p WHERE NOT EXISTS (SELECT 1 FROM bf_psnap b WHERE b.id = p.id)
            ) z"
}

# Version fingerprint of every row the agent may write (xmin moves on any insert/update).
versions() {
    qcmp "$1" "SELECT concat_ws(' ',
        (SELECT md5(string_agg(id::text || xmin::text || updated_at::text || coalesce(deleted_at::text, ''), ',' ORDER BY id)) FROM public.contents),
        (SELECT md5(string_agg(id::text || xmin::text || updated_at::text, ',' ORDER BY id)) FROM public.content_projects),
        (SELECT md5(string_agg(id::text || xmin::text, ',' ORDER BY id)) FROM public.minds),
        (SELECT md5(string_agg(id::text || xmin::text, ',' ORDER BY id)) FROM public.tags),
        (SELECT md5(string_agg(id::text || xmin::text, ',' ORDER BY id)) FROM public.audience_profiles),
        (SELECT md5(string_agg(content_id::text || tag_id::text || xmin::text, ',' ORDER BY content_id, tag_id)) FROM public.content_tags),
        (SELECT md5(string_agg(content_id::text || mind_id::text || xmin::text, ',' ORDER BY content_id, mind_id)) FROM public.content_minds))"
}

# Rows in the contract's tables.
CONTRACT_ROWS_SQL="SELECT (SELECT count(*) FROM public.minds) + (SELECT count(*) FROM public.tags)
    + (SELECT count(*) FROM public.audience_profiles) + (SELECT count(*) FROM public.content_projects)
    + (SELECT count(*) FROM public.contents) + (SELECT count(*) FROM public.content_tags)
    + (SELECT count(*) FROM public.content_minds)"

EMPTY_SQL="SELECT (SELECT count(*) FROM public.minds) || ' ' || (SELECT count(*) FROM public.tags)
    || ' ' || (SELECT count(*) FROM public.audience_profiles) || ' ' || (SELECT count(*) FROM public.content_projects)
    || ' ' || (SELECT count(*) FROM public.contents) || ' ' || (SELECT count(*) FROM public.content_tags)
    || ' ' || (SELECT count(*) FROM public.content_minds) || ' ' || (SELECT count(*) FROM creatoros_agent.file_state)
    || ' ' || (SELECT count(*) FROM creatoros_agent.sources)"

LESSON_ROWS_SQL="SELECT c.slug, c.title, coalesce(par.slug, 'NULL'), coalesce(c.sequence_order::text, 'NULL'),
        c.status, coalesce(c.fidelity_score::text, 'NULL'), coalesce(c.file_path, 'NULL'), c.ai_generated,
        coalesce(p.slug, 'NULL'), c.deleted_at IS NULL
    FROM public.contents c LEFT JOIN public.contents par ON par.id = c.parent_content_id
    LEFT JOIN public.content_projects p ON p.id = c.project_id
    WHERE c.content_type = 'course_lesson' ORDER BY c.slug COLLATE \"C\""

MODULE_ROWS_SQL="SELECT c.slug, c.title, coalesce(par.slug, 'NULL'), coalesce(c.sequence_order::text, 'NULL'),
        coalesce(c.content, 'NULL'), c.metadata::text, coalesce(c.file_path, 'NULL'), c.ai_generated,
        coalesce(p.slug, 'NULL'), c.deleted_at IS NULL
    FROM public.contents c LEFT JOIN public.contents par ON par.id = c.parent_content_id
    LEFT JOIN public.content_projects p ON p.id = c.project_id
    WHERE c.content_type = 'course_module' ORDER BY c.slug COLLATE \"C\""

PROJECT_ROWS_SQL="SELECT p.slug, p.name, coalesce(p.description, 'NULL'), coalesce(p.project_type, 'NULL'),
        coalesce(p.status, 'NULL'), coalesce(cm.slug, 'NULL'), coalesce(pm.slug, 'NULL'), coalesce(a.slug, 'NULL')
    FROM public.content_projects p LEFT JOIN public.minds cm ON cm.id = p.creator_mind_id
    LEFT JOIN public.minds pm ON pm.id = p.persona_mind_id
    LEFT JOIN public.audience_profiles a ON a.id = p.target_audience_id
    ORDER BY p.slug COLLATE \"C\""

# ==== 1. the fixture: every row rule, on a database the agent made and on the app's own schema ====
backfill_fixture_rows_as_contract() { # [production]
    if [[ ${1:-} == production ]]; then
        test_begin "fixture backfill into the production schema (tests/fixtures/production, no rows)"
        prod_db fixture_prod --no-rows || return
    else
        test_begin "fixture backfill"
        new_db fixture || return
    fi
    local T=$WORK/t1
    make_tree "$T"
    agent backfill --root "$T" --db "$URL" --source bf-fixture --log-format text
    assert_eq "exit code of the fixture backfill (stderr: $AG_ERR)" 0 "$AG_RC"
    assert_match "summary of the fixture backfill" \
        '^27 files: 27 written, 0 unchanged, 0 deleted, 0 rejected; 0 courses archived; [0-9]+ rows changed in [0-9.]+ s$' \
        "$(ag_summary)"
    assert_match "last line of the backfill" '^files=27 seconds=[0-9.]+ files_per_s=[0-9.]+$' \
        "$(tail -1 <<<"$AG_OUT")"
    local rows
    rows=$(sed -nE 's/.*archived; ([0-9]+) rows changed.*/\1/p' <<<"$(ag_summary)")
    assert_eq "rows changed on an empty database = rows now in the contract's tables" \
        "$(q "$URL" "$CONTRACT_ROWS_SQL")" "$rows"

    # -- projects
    assert_sql "content_projects rows" "$URL" "$PROJECT_ROWS_SQL" \
"agencia-ia|Agência de IA|Monte uma agência de automação com IA|course|in_progress|alan-nicolas|alan-persona|agencia-ia
atendimento|Agente de Atendimento|NULL|course|in_progress|NULL|NULL|NULL
didatica-lendaria|Didática Lendária|Como ensinar de forma lendária|course|in_progress|prof-didatica|NULL|didatica-lendaria
nome-curso|Curso pelo Nome|NULL|course|in_progress|NULL|persona-nome|nome-curso
sem-titulo|sem-titulo|Sem título algum|course|in_progress|NULL|NULL|NULL
so-licoes|so-licoes|NULL|course|in_progress|NULL|NULL|NULL"
    assert_query "project_metadata: each brief's whole front-matter ({} without a brief)" "$URL" \
        "SELECT slug, project_metadata FROM public.content_projects ORDER BY slug COLLATE \"C\"" \
        "SELECT s, m::jsonb FROM (VALUES
 ('agencia-ia', '{\"title\":\"Agência de IA\",\"name\":\"Nome Ignorado\",\"description\":\"Monte uma agência de automação com IA\",\"subtitle\":\"Subtítulo ignorado\",\"creator_mind\":\"alan-nicolas\",\"creator_mind_name\":\"Alan Nicolas\",\"mmos_persona\":{\"enabled\":true,\"mind_slug\":\"alan-persona\",\"mind_name\":\"Alan (persona)\"},\"target_audience\":{\"name\":\"Donos de agência\",\"description\":\"Quem vende serviços digitais\",\"demographics\":{\"age\":\"25-45\",\"country\":\"BR\"},\"psychographics\":[\"ambicioso\",\"pragmático\"],\"learning_preferences\":{\"format\":\"video\"},\"technical_level\":\"intermediate\"},\"tags\":[\"IA\",\"Marketing Digital\",\"Ética Digital\"],\"version\":2,\"published\":false,\"created\":\"2025-10-22\"}'),
 ('atendimento', '{\"tags\":[\"Atendimento\",\"Chatbots\",42],\"target_audience\":\"Empreendedores\"}'),
 ('didatica-lendaria', '{\"subtitle\":\"Como ensinar de forma lendária\",\"creator_mind\":\"prof-didatica\",\"mmos_persona\":{\"enabled\":false,\"mind_slug\":\"ghost-persona\",\"mind_name\":\"Fantasma\"},\"audience\":{\"level\":\"beginner\",\"description\":\"Professores\"},\"tags\":\"Didática, Ensino Online\"}'),
 ('nome-curso', '{\"name\":\"Curso pelo Nome\",\"icp\":{\"name\":\"ICP Nome\",\"technical_level\":\"guru\",\"learning_preferences\":[\"leitura\",\"prática\"]},\"mmos_persona\":{\"mind_slug\":\"persona-nome\"}}'),
 ('sem-titulo', '{\"description\":\"Sem título algum\"}'),
 ('so-licoes', '{}')) v(s, m)"
    assert_sql "project_metadata->>'title'" "$URL" \
        "SELECT project_metadata->>'title' FROM public.content_projects WHERE slug = 'agencia-ia'" "Agência de IA"
    assert_query "audience_profiles rows (mapping target_audience / audience / icp; none for a string)" "$URL" \
        "SELECT slug, name, coalesce(description, 'NULL'), demographics, psychographics, learning_preferences,
                coalesce(technical_level, 'NULL') FROM public.audience_profiles ORDER BY slug COLLATE \"C\"" \
        "SELECT * FROM (VALUES
 ('agencia-ia', 'Donos de agência', 'Quem vende serviços digitais', '{\"age\":\"25-45\",\"country\":\"BR\"}'::jsonb, '[\"ambicioso\",\"pragmático\"]'::jsonb, '{\"format\":\"video\"}'::jsonb, 'intermediate'),
 ('didatica-lendaria', 'Didática Lendária audience', 'Professores', NULL, NULL, NULL, 'beginner'),
 ('nome-curso', 'ICP Nome', 'NULL', NULL, NULL, '[\"leitura\",\"prática\"]'::jsonb, 'NULL')) v"
    assert_sql "minds: created with display names (the persona of a disabled mmos_persona is not)" "$URL" \
        "SELECT slug || '|' || display_name FROM public.minds ORDER BY slug COLLATE \"C\"" \
"alan-nicolas|Alan Nicolas
alan-persona|Alan (persona)
persona-nome|persona-nome
prof-didatica|prof-didatica"

    # -- outlines
    local briefs
    briefs=$(body_md5s "$T" agencia-ia/COURSE-BRIEF.md atendimento/COURSE-BRIEF-v2.md \
        didatica-lendaria/COURSE-BRIEF.md nome-curso/COURSE-BRIEF.md sem-titulo/COURSE-BRIEF.md)
    b() { grep -F "$1|" <<<"$briefs" | cut -d'|' -f2; }
    assert_sql "outline rows" "$URL" \
        "SELECT o.slug, o.title, coalesce(md5(o.content), 'NULL'), coalesce(o.file_path, 'NULL'),
                coalesce(o.parent_content_id::text, 'NULL'), coalesce(o.sequence_order::text, 'NULL'),
                o.ai_generated, p.slug, o.deleted_at IS NULL
         FROM public.contents o JOIN public.content_projects p ON p.id = o.project_id
         WHERE o.content_type = 'course_outline' ORDER BY o.slug COLLATE \"C\"" \
"agencia-ia|Agência de IA|$(b agencia-ia/COURSE-BRIEF.md)|agencia-ia/COURSE-BRIEF.md|NULL|NULL|t|agencia-ia|t
atendimento|Agente de Atendimento|$(b atendimento/COURSE-BRIEF-v2.md)|atendimento/COURSE-BRIEF-v2.md|NULL|NULL|t|atendimento|t
didatica-lendaria|Didática Lendária|$(b didatica-lendaria/COURSE-BRIEF.md)|didatica-lendaria/COURSE-BRIEF.md|NULL|NULL|t|didatica-lendaria|t
nome-curso|Curso pelo Nome|$(b nome-curso/COURSE-BRIEF.md)|nome-curso/COURSE-BRIEF.md|NULL|NULL|t|nome-curso|t
sem-titulo|sem-titulo|$(b sem-titulo/COURSE-BRIEF.md)|sem-titulo/COURSE-BRIEF.md|NULL|NULL|t|sem-titulo|t
so-licoes|so-licoes|NULL|NULL|NULL|NULL|t|so-licoes|t"
    unset -f b
    assert_sql "outline body of a CRLF brief, byte for byte" "$URL" \
        "SELECT md5(content) FROM public.contents WHERE slug = 'didatica-lendaria'" \
        "$(md5_of '\r\n# COURSE-BRIEF: Didática Lendária\r\n\r\nTexto do brief.\r\n')"
    assert_sql "outline body after a BOM and a '...' closer" "$URL" \
        "SELECT md5(content) FROM public.contents WHERE slug = 'sem-titulo'" "$(md5_of 'Texto sem heading.\n')"
    assert_sql "outline metadata = project_metadata, outline title = project name" "$URL" \
        "SELECT count(*) FROM public.contents o JOIN public.content_projects p ON p.id = o.project_id
         WHERE o.content_type = 'course_outline'
           AND (o.metadata IS DISTINCT FROM p.project_metadata OR o.title IS DISTINCT FROM p.name)" 0

    # -- modules
    assert_sql "module rows" "$URL" "$MODULE_ROWS_SQL" \
"agencia-ia/module-1|Fundamentos|agencia-ia|1|NULL|{}|NULL|t|agencia-ia|t
agencia-ia/module-2|Construção Avançada|agencia-ia|2|NULL|{}|NULL|t|agencia-ia|t
agencia-ia/module-3|Module 3|agencia-ia|3|NULL|{}|NULL|t|agencia-ia|t
agencia-ia/module-4|Module 4|agencia-ia|4|NULL|{}|NULL|t|agencia-ia|t
agencia-ia/module-6|Module 6|agencia-ia|6|NULL|{}|NULL|t|agencia-ia|t
agencia-ia/module-7|Module 7|agencia-ia|7|NULL|{}|NULL|t|agencia-ia|t
agencia-ia/module-8|Module 8|agencia-ia|8|NULL|{}|NULL|t|agencia-ia|t
atendimento/module-1|Module 1|atendimento|1|NULL|{}|NULL|t|atendimento|t
didatica-lendaria/module-3|Módulo 3 - Construção|didatica-lendaria|3|NULL|{}|NULL|t|didatica-lendaria|t
didatica-lendaria/module-5|Module 5|didatica-lendaria|5|NULL|{}|NULL|t|didatica-lendaria|t
so-licoes/module-2|Module 2|so-licoes|2|NULL|{}|NULL|t|so-licoes|t"

    # -- lessons
    local L=agencia-ia/lessons
    assert_sql "lesson rows" "$URL" "$LESSON_ROWS_SQL" \
"$L/2.1-primeiro|Primeiro passo|agencia-ia/module-2|1|draft|NULL|$L/2.1-primeiro.md|t|agencia-ia|t
$L/2.2-segundo|Segundo|agencia-ia/module-2|2|draft|NULL|$L/2.2-segundo.md|t|agencia-ia|t
$L/8.1 \"Citação\" d'Água|Nome estranho|agencia-ia/module-8|1|draft|NULL|$L/8.1 \"Citação\" d'Água.md|t|agencia-ia|t
$L/aula-6.40000-grande|Aula de número enorme|agencia-ia/module-6|NULL|draft|NULL|$L/aula-6.40000-grande.md|t|agencia-ia|t
$L/aula-7.1-bom|Aula BOM|agencia-ia/module-7|1|draft|NULL|$L/aula-7.1-bom.md|t|agencia-ia|t
$L/aula-7.2-pontos|Aula com três pontos|agencia-ia/module-7|2|archived|NULL|$L/aula-7.2-pontos.md|t|agencia-ia|t
$L/aula-7.3-bom-sem-fm|Título BOM|agencia-ia/module-7|3|draft|NULL|$L/aula-7.3-bom-sem-fm.md|t|agencia-ia|t
$L/aula-7.4-fid-texto|Fidelidade em texto|agencia-ia/module-7|4|draft|NULL|$L/aula-7.4-fid-texto.md|t|agencia-ia|t
$L/aula-7.5-fid-um|Fidelidade um|agencia-ia/module-7|5|draft|1.00|$L/aula-7.5-fid-um.md|t|agencia-ia|t
$L/aula-7.6-escalares|Escalares YAML|agencia-ia/module-7|6|draft|NULL|$L/aula-7.6-escalares.md|t|agencia-ia|t
$L/extra-modulo-2|Extra|agencia-ia/module-2|NULL|draft|NULL|$L/extra-modulo-2.md|t|agencia-ia|t
$L/licao-com-aspas|Lição 4.10 com aspas|agencia-ia/module-4|10|draft|NULL|$L/licao-com-aspas.md|t|agencia-ia|t
$L/licao-sem-aspas|Lição 3.10 sem aspas|agencia-ia/module-3|10|draft|NULL|$L/licao-sem-aspas.md|t|agencia-ia|t
$L/modulo-01/aula-1.1-por-que|Por que agentes?|agencia-ia/module-1|1|published|0.85|$L/modulo-01/aula-1.1-por-que.md|t|agencia-ia|t
$L/modulo-01/aula-1.2-como|Como construir|agencia-ia/module-1|2|draft|NULL|$L/modulo-01/aula-1.2-como.md|t|agencia-ia|t
$L/modulo-01/aula-1.3-crlf|Aula CRLF|agencia-ia/module-1|3|draft|NULL|$L/modulo-01/aula-1.3-crlf.md|t|agencia-ia|t
$L/modulo-01/intro|Introdução ao módulo|agencia-ia/module-1|NULL|reviewed|NULL|$L/modulo-01/intro.md|t|agencia-ia|t
$L/sem-modulo|sem-modulo|agencia-ia|NULL|draft|NULL|$L/sem-modulo.md|t|agencia-ia|t
atendimento/lessons/aula-1.1-oi|Oi|atendimento/module-1|1|draft|NULL|atendimento/lessons/aula-1.1-oi.md|t|atendimento|t
didatica-lendaria/lessons/modulo-05/construcao|Construção|didatica-lendaria/module-3|1|draft|NULL|didatica-lendaria/lessons/modulo-05/construcao.md|t|didatica-lendaria|t
didatica-lendaria/lessons/modulo-05/pratica|Prática real|didatica-lendaria/module-5|NULL|draft|NULL|didatica-lendaria/lessons/modulo-05/pratica.md|t|didatica-lendaria|t
so-licoes/lessons/modulo-02/aula-2.1-a|Só lição|so-licoes/module-2|1|draft|NULL|so-licoes/lessons/modulo-02/aula-2.1-a.md|t|so-licoes|t"
    assert_query "lesson metadata: the whole front-matter ({} without one; 3.10 unquoted is the number 3.1)" "$URL" \
        "SELECT slug, metadata FROM public.contents WHERE content_type = 'course_lesson' ORDER BY slug COLLATE \"C\"" \
        "SELECT s, m::jsonb FROM (VALUES
 ('$L/2.1-primeiro', '{}'),
 ('$L/2.2-segundo', '{\"title\":\"Segundo\",\"module_title\":\"Construção Avançada\"}'),
 ('$L/8.1 \"Citação\" d''Água', '{\"title\":\"Nome estranho\"}'),
 ('$L/aula-6.40000-grande', '{\"title\":\"Aula de número enorme\"}'),
 ('$L/aula-7.1-bom', '{\"title\":\"Aula BOM\"}'),
 ('$L/aula-7.2-pontos', '{\"title\":\"Aula com três pontos\",\"status\":\"archived\"}'),
 ('$L/aula-7.3-bom-sem-fm', '{}'),
 ('$L/aula-7.4-fid-texto', '{\"title\":\"Fidelidade em texto\",\"fidelity_score\":\"0.9\",\"status\":\"finalizado\"}'),
 ('$L/aula-7.5-fid-um', '{\"title\":\"Fidelidade um\",\"fidelity_score\":1}'),
 ('$L/aula-7.6-escalares', '{\"title\":\"Escalares YAML\",\"published\":\"yes\",\"date\":\"2025-10-22\",\"range\":\"85-90%\",\"hex\":31,\"octal\":15,\"inf\":\".inf\",\"nan\":\".nan\",\"nothing\":null,\"empty\":null,\"upper\":true,\"quoted_num\":\"42\",\"float\":1500,\"dup\":\"segundo\",\"alias_src\":{\"k\":\"v\"},\"alias_use\":{\"k\":\"v\"}}'),
 ('$L/extra-modulo-2', '{\"module\":2,\"module_name\":\"Nome de aula sem número\",\"title\":\"Extra\"}'),
 ('$L/licao-com-aspas', '{\"lesson_id\":\"4.10\",\"title\":\"Lição 4.10 com aspas\"}'),
 ('$L/licao-sem-aspas', '{\"lesson_id\":3.1,\"title\":\"Lição 3.10 sem aspas\"}'),
 ('$L/modulo-01/aula-1.1-por-que', '{\"lesson_id\":\"1.1\",\"title\":\"Por que agentes?\",\"module_name\":\"Fundamentos\",\"status\":\"published\",\"fidelity_score\":0.85,\"tags\":[\"IA\",\"Agentes de IA\"]}'),
 ('$L/modulo-01/aula-1.2-como', '{\"module_name\":\"Nome perdedor\",\"status\":\"done\",\"fidelity_score\":1.5}'),
 ('$L/modulo-01/aula-1.3-crlf', '{\"title\":\"Aula CRLF\",\"tags\":\"IA, No-Code ,  Agentes de IA\"}'),
 ('$L/modulo-01/intro', '{\"lesson_title\":\"Introdução ao módulo\",\"module_name\":\"Nome sem número\",\"fidelity_score\":true,\"status\":\"reviewed\"}'),
 ('$L/sem-modulo', '{}'),
 ('atendimento/lessons/aula-1.1-oi', '{\"title\":\"Oi\"}'),
 ('didatica-lendaria/lessons/modulo-05/construcao', '{\"module\":\"Módulo 3 - Construção\",\"lesson_id\":\"9.1\",\"title\":\"Construção\"}'),
 ('didatica-lendaria/lessons/modulo-05/pratica', '{}'),
 ('so-licoes/lessons/modulo-02/aula-2.1-a', '{\"title\":\"Só lição\"}')) v(s, m) ORDER BY s COLLATE \"C\""
    # bodies: every lesson's content against an independent split of its file
    local paths=() p expected actual
    while IFS= read -r p; do paths+=("$p"); done < <(q "$URL" \
        "SELECT file_path FROM public.contents WHERE content_type = 'course_lesson' ORDER BY file_path COLLATE \"C\"")
    expected=$(body_md5s "$T" "${paths[@]}")
    actual=$(q "$URL" "SELECT file_path || '|' || md5(content) FROM public.contents
                       WHERE content_type = 'course_lesson' ORDER BY file_path COLLATE \"C\"")
    assert_eq "lesson content = the body, byte for byte (md5 per file)" "$expected" "$actual"
    assert_sql "CRLF lesson body" "$URL" "SELECT md5(content) FROM public.contents WHERE slug = '$L/modulo-01/aula-1.3-crlf'" \
        "$(md5_of 'Linha 1\r\nLinha 2\r\n')"
    assert_sql "BOM lesson body (front-matter)" "$URL" "SELECT md5(content) FROM public.contents WHERE slug = '$L/aula-7.1-bom'" \
        "$(md5_of 'Corpo BOM.\n')"
    assert_sql "BOM lesson body (no front-matter)" "$URL" "SELECT md5(content) FROM public.contents WHERE slug = '$L/aula-7.3-bom-sem-fm'" \
        "$(md5_of '# Título BOM\nCorpo.\n')"
    assert_sql "'...' closer with trailing spaces" "$URL" "SELECT md5(content) FROM public.contents WHERE slug = '$L/aula-7.2-pontos'" \
        "$(md5_of 'Corpo depois dos pontos.\n')"
    assert_sql "every row ai_generated with a project" "$URL" \
        "SELECT count(*) FROM public.contents WHERE NOT ai_generated OR project_id IS NULL" 0

    # -- tags
    assert_sql "tags: a tag is its name, as written and trimmed; a new one is a theme" "$URL" \
        "SELECT name || '|' || tag_type FROM public.tags ORDER BY name COLLATE \"C\"" \
"Agentes de IA|theme
Atendimento|theme
Chatbots|theme
Didática|theme
Ensino Online|theme
IA|theme
Marketing Digital|theme
No-Code|theme
Ética Digital|theme"
    assert_sql "content_tags (brief tags on the outline; list, comma string)" "$URL" \
        "SELECT c.slug || '|' || t.name FROM public.content_tags ct JOIN public.contents c ON c.id = ct.content_id
         JOIN public.tags t ON t.id = ct.tag_id ORDER BY c.slug COLLATE \"C\", t.name COLLATE \"C\"" \
"agencia-ia|IA
agencia-ia|Marketing Digital
agencia-ia|Ética Digital
$L/modulo-01/aula-1.1-por-que|Agentes de IA
$L/modulo-01/aula-1.1-por-que|IA
$L/modulo-01/aula-1.3-crlf|Agentes de IA
$L/modulo-01/aula-1.3-crlf|IA
$L/modulo-01/aula-1.3-crlf|No-Code
atendimento|Atendimento
atendimento|Chatbots
didatica-lendaria|Didática
didatica-lendaria|Ensino Online"

    # -- content_minds: outline, modules and lessons of a project with a creator mind
    assert_sql "content_minds per project" "$URL" \
        "SELECT p.slug || '|' || m.slug || '|' || coalesce(cm.role, 'NULL') || '|' || count(*)
         FROM public.content_minds cm JOIN public.contents c ON c.id = cm.content_id
         JOIN public.content_projects p ON p.id = c.project_id JOIN public.minds m ON m.id = cm.mind_id
         GROUP BY p.slug, m.slug, cm.role ORDER BY 1" \
"agencia-ia|alan-nicolas|creator|26
didatica-lendaria|prof-didatica|creator|5"
    assert_sql "every content of a project with a creator is linked to it" "$URL" \
        "SELECT count(*) FROM public.contents c JOIN public.content_projects p ON p.id = c.project_id
         WHERE p.creator_mind_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public.content_minds cm
               WHERE cm.content_id = c.id AND cm.mind_id = p.creator_mind_id AND cm.role = 'creator')" 0

    # -- ignored: second brief candidate, non-lesson .md, hidden, leftovers, links
    assert_sql "nothing from COURSE-BRIEF-v2.md beside COURSE-BRIEF.md, COURSE-BRIEF-v3.md, notes.md, README.md" "$URL" \
        "SELECT count(*) FROM public.contents WHERE title IN ('Versão 2 ignorada', 'V3 não vence', 'Notas soltas')
            OR file_path IN ('agencia-ia/notes.md', 'README.md', 'agencia-ia/COURSE-BRIEF-v2.md')" 0
    assert_sql "hidden files and directories, editor leftovers: no row" "$URL" \
        "SELECT (SELECT count(*) FROM public.contents t WHERE t::text LIKE '%$LEFTOVER%')
              + (SELECT count(*) FROM public.content_projects t WHERE t::text LIKE '%$LEFTOVER%' OR slug LIKE '.%')
              + (SELECT count(*) FROM creatoros_agent.file_state WHERE path LIKE '%$LEFTOVER%' OR path LIKE '%/.%' OR path LIKE '.%')" 0
    assert_sql "symbolic links are never followed: no row holds the outside file's token" "$URL" \
        "SELECT (SELECT count(*) FROM public.contents t WHERE t::text LIKE '%$LEAK%')
              + (SELECT count(*) FROM public.content_projects t WHERE t::text LIKE '%$LEAK%' OR slug = 'linked-course')
              + (SELECT count(*) FROM public.tags t WHERE t::text LIKE '%$LEAK%')
              + (SELECT count(*) FROM creatoros_agent.file_state t WHERE t::text LIKE '%$LEAK%' OR path LIKE '%link%')" 0
    assert_sql "file_state: 27 files, none in error" "$URL" \
        "SELECT count(*) || ' ' || count(error) FROM creatoros_agent.file_state WHERE source = 'bf-fixture'" "27 0"
}

# ==== 2. a re-run writes nothing ==================================================================
stats_sum() { # n_tup_ins/upd/del over the public and agent tables, fresh from the collector
    qcmp "$1" "SELECT pg_stat_clear_snapshot();
            SELECT sum(n_tup_ins) || ' ' || sum(n_tup_upd) || ' ' || sum(n_tup_del)
            FROM pg_stat_user_tables WHERE schemaname IN ('public', 'creatoros_agent')
              AND relname NOT LIKE 'bf\_%'" | tail -1
}
stats_contents_ins() {
    [[ $(qcmp "$1" "SELECT pg_stat_clear_snapshot(); SELECT n_tup_ins FROM pg_stat_user_tables
                 WHERE relid = 'public.contents'::regclass" | tail -1) == "$2" ]]
}

backfill_rerun_writes_nothing() {
    test_begin "re-run writes nothing"
    new_db rerun || return
    local T=$WORK/t2 v1 v2 s1 s2 n
    make_tree "$T"
    agent backfill --root "$T" --db "$URL" --source bf-rerun --log-format text
    assert_eq "first backfill exit code" 0 "$AG_RC"
    n=$(q "$URL" "SELECT count(*) FROM public.contents")
    check "statistics of the first backfill reach the collector (contents inserts = $n)" \
        wait_until 15 stats_contents_ins "$URL" "$n"
    v1=$(versions "$URL")
    s1=$(stats_sum "$URL")
    agent backfill --root "$T" --db "$URL" --source bf-rerun --log-format text
    assert_eq "second backfill exit code" 0 "$AG_RC"
    assert_match "second backfill summary" \
        '^27 files: 0 written, 27 unchanged, 0 deleted, 0 rejected; 0 courses archived; 0 rows changed \(the database already matched the tree\) in [0-9.]+ s$' \
        "$(ag_summary)"
    v2=$(versions "$URL")
    assert_eq "xmin/updated_at of every row unchanged by the re-run" "$v1" "$v2"
    check "the agent's session ended" wait_until 10 no_agent_session "$URL"
    s2=$(stats_sum "$URL")
    assert_eq "n_tup_ins/upd/del unchanged by the re-run" "$s1" "$s2"

    # a touched file (same bytes, new mtime) is read again but writes nothing
    touch "$T/agencia-ia/lessons/sem-modulo.md" "$T/agencia-ia/COURSE-BRIEF.md"
    agent backfill --root "$T" --db "$URL" --source bf-rerun --log-format text --json
    assert_eq "backfill after touch: exit code" 0 "$AG_RC"
    local js
    js=$(grep '^{' <<<"$AG_OUT")
    assert_eq "backfill --json after touch" \
        '27 0 27 0 0 0 0 false []' \
        "$(jq -r '"\(.files) \(.written) \(.unchanged) \(.deleted) \(.rejected) \(.archived) \(.rows) \(.dry_run) \(.errors|tostring)"' <<<"$js" 2>&1)"
    assert_eq "xmin/updated_at unchanged after touch" "$v1" "$(versions "$URL")"
    assert_match "--json: last line is still files=" '^files=27 ' "$(tail -1 <<<"$AG_OUT")"

    # --force reads, parses and upserts every file again: over an unchanged tree the upserts
    # find nothing different, so no row gets a new version (xmin) nor a new updated_at.
    agent backfill --root "$T" --db "$URL" --source bf-rerun --log-format text --force
    assert_eq "backfill --force over an unchanged tree: exit code" 0 "$AG_RC"
    assert_match "backfill --force re-read every file" '^27 files: ' "$(ag_summary)"
    assert_eq "xmin/updated_at of every row unchanged by backfill --force" "$v1" "$(versions "$URL")"
}

# ==== 3. changes ================================================================================
bf3() { # one backfill of test 3's tree; asserts exit 0
    agent backfill --root "$T3" --db "$URL" --source bf-changes --log-format text "$@"
    assert_eq "exit code of backfill ($STEP)" 0 "$AG_RC"
    if [[ $AG_RC -ne 0 ]]; then printf '%s\n%s\n' "$AG_OUT" "$AG_ERR" | tail -20 >&2; fi
}

backfill_changes_follow_tree() {
    test_begin "changes"
    new_db changes || return
    T3=$WORK/t3
    make_tree "$T3"
    local L=agencia-ia/lessons A=$T3/agencia-ia/lessons id old_upd
    STEP=initial
    bf3

    STEP="edit a lesson's title"
    snap "$URL"
    old_upd=$(q "$URL" "SELECT updated_at FROM public.contents WHERE slug = '$L/modulo-01/aula-1.1-por-que'")
    sed -i 's/^title: Por que agentes?$/title: Por que agentes hoje?/' "$A/modulo-01/aula-1.1-por-que.md"
    bf3
    assert_match "$STEP: summary" '^27 files: 1 written, 26 unchanged, 0 deleted' "$(ag_summary)"
    assert_sql "$STEP: title" "$URL" "SELECT title FROM public.contents WHERE slug = '$L/modulo-01/aula-1.1-por-que'" \
        "Por que agentes hoje?"
    assert_sql "$STEP: updated_at moved" "$URL" \
        "SELECT updated_at > '$old_upd' FROM public.contents WHERE slug = '$L/modulo-01/aula-1.1-por-que'" t
    assert_eq "$STEP: only that row's xmin changed" "$L/modulo-01/aula-1.1-por-que" "$(changed "$URL")"
    assert_eq "$STEP: no project row changed" "" "$(pchanged "$URL")"

    STEP="delete a lesson"
    id=$(q "$URL" "SELECT id FROM public.contents WHERE slug = '$L/2.2-segundo'")
    rm "$A/2.2-segundo.md"
    bf3
    assert_match "$STEP: summary" '^26 files: 0 written, 26 unchanged, 1 deleted, 0 rejected; 0 courses archived; [1-9][0-9]* rows changed' "$(ag_summary)"
    assert_sql "$STEP: row kept, deleted_at set" "$URL" \
        "SELECT count(*) || ' ' || count(deleted_at) FROM public.contents WHERE slug = '$L/2.2-segundo'" "1 1"
    assert_sql "$STEP: module 2 is titled by the unnumbered lesson now (no numbered lesson names it)" "$URL" \
        "SELECT title || ' ' || (deleted_at IS NULL) FROM public.contents WHERE slug = 'agencia-ia/module-2'" \
        "Nome de aula sem número true"

    STEP="re-create the lesson"
    cp "$FIX/agencia-ia/lessons/2.2-segundo.md" "$A/2.2-segundo.md"
    bf3
    assert_sql "$STEP: same row, live again" "$URL" \
        "SELECT id || ' ' || (deleted_at IS NULL) FROM public.contents WHERE slug = '$L/2.2-segundo'" "$id true"
    assert_sql "$STEP: module title back" "$URL" \
        "SELECT title FROM public.contents WHERE slug = 'agencia-ia/module-2'" "Construção Avançada"

    STEP="rename a lesson"
    mv "$A/sem-modulo.md" "$A/sem-modulo-renomeado.md"
    bf3
    assert_sql "$STEP: old soft-deleted, new live" "$URL" \
        "SELECT slug || ' ' || (deleted_at IS NULL) || ' ' || title || ' ' || md5(content) FROM public.contents
         WHERE slug IN ('$L/sem-modulo', '$L/sem-modulo-renomeado') ORDER BY slug" \
"$L/sem-modulo false sem-modulo $(md5_of 'Só texto, sem heading e sem número.\n')
$L/sem-modulo-renomeado true sem-modulo-renomeado $(md5_of 'Só texto, sem heading e sem número.\n')"

    STEP="move a lesson to another module"
    snap "$URL"
    sed -i 's/^lesson_id: "4.10"$/lesson_id: "9.10"/' "$A/licao-com-aspas.md"
    bf3
    assert_eq "$STEP: the modules redone, only the lesson and the two modules it left and joined written" \
        "+agencia-ia/module-9 $L/licao-com-aspas agencia-ia/module-4" "$(changed "$URL")"
    assert_sql "$STEP: lesson under module 9" "$URL" \
        "SELECT par.slug || ' ' || c.sequence_order FROM public.contents c JOIN public.contents par
         ON par.id = c.parent_content_id WHERE c.slug = '$L/licao-com-aspas'" "agencia-ia/module-9 10"
    assert_sql "$STEP: module 9 created, emptied module 4 soft-deleted" "$URL" \
        "SELECT slug || ' ' || title || ' ' || sequence_order || ' ' || (deleted_at IS NULL) FROM public.contents
         WHERE slug IN ('agencia-ia/module-4', 'agencia-ia/module-9') ORDER BY slug" \
"agencia-ia/module-4 Module 4 4 false
agencia-ia/module-9 Module 9 9 true"

    STEP="change the lowest lesson's module_name"
    sed -i 's/^module_name: Fundamentos$/module_name: Fundamentos Revistos/' "$A/modulo-01/aula-1.1-por-que.md"
    bf3
    assert_sql "$STEP: module title follows" "$URL" \
        "SELECT title FROM public.contents WHERE slug = 'agencia-ia/module-1'" "Fundamentos Revistos"

    STEP="remove a tag from a lesson"
    sed -i 's/^tags: \[IA, Agentes de IA\]$/tags: [IA]/' "$A/modulo-01/aula-1.1-por-que.md"
    bf3
    assert_sql "$STEP: link removed" "$URL" \
        "SELECT string_agg(t.name, ',' ORDER BY t.name) FROM public.content_tags ct JOIN public.contents c
         ON c.id = ct.content_id JOIN public.tags t ON t.id = ct.tag_id WHERE c.slug = '$L/modulo-01/aula-1.1-por-que'" "IA"
    assert_sql "$STEP: tag row kept (still linked elsewhere too)" "$URL" \
        "SELECT count(*) FROM public.tags WHERE name = 'Agentes de IA'" 1

    STEP="remove every tag from a lesson"
    sed -i 's/^tags: \[IA\]$/tags: []/' "$A/modulo-01/aula-1.1-por-que.md"
    bf3
    assert_sql "$STEP: no link left" "$URL" \
        "SELECT count(*) FROM public.content_tags ct JOIN public.contents c ON c.id = ct.content_id
         WHERE c.slug = '$L/modulo-01/aula-1.1-por-que'" 0
    sed -i 's/^tags: \[\]$/tags: [IA]/' "$A/modulo-01/aula-1.1-por-que.md"
    bf3
    assert_sql "$STEP, then one back: linked again" "$URL" \
        "SELECT string_agg(t.name, ',' ORDER BY t.name) FROM public.content_tags ct JOIN public.contents c
         ON c.id = ct.content_id JOIN public.tags t ON t.id = ct.tag_id WHERE c.slug = '$L/modulo-01/aula-1.1-por-que'" "IA"

    STEP="a status set by hand is kept"
    q "$URL" "UPDATE public.content_projects SET status = 'completed' WHERE slug = 'agencia-ia'" >/dev/null
    sed -i 's/^description: Monte uma agência de automação com IA$/description: Nova descrição/' \
        "$T3/agencia-ia/COURSE-BRIEF.md"
    bf3
    assert_sql "$STEP: description updated, status kept" "$URL" \
        "SELECT description || ' ' || status FROM public.content_projects WHERE slug = 'agencia-ia'" \
        "Nova descrição completed"

    STEP="rename a course directory"
    local aid
    aid=$(q "$URL" "SELECT string_agg(id::text, ',' ORDER BY slug) FROM public.contents c WHERE slug LIKE 'atendimento%'")
    mv "$T3/atendimento" "$T3/atendimento-novo"
    bf3
    assert_match "$STEP: summary" '^27 files: 2 written, 25 unchanged, 2 deleted, 0 rejected; 1 courses archived' "$(ag_summary)"
    assert_sql "$STEP: old project archived, new in progress" "$URL" \
        "SELECT slug || ' ' || status || ' ' || name FROM public.content_projects WHERE slug LIKE 'atendimento%' ORDER BY slug" \
"atendimento archived Agente de Atendimento
atendimento-novo in_progress Agente de Atendimento"
    assert_sql "$STEP: old contents soft-deleted, new live" "$URL" \
        "SELECT p.slug || ' ' || count(*) || ' ' || count(c.deleted_at) FROM public.contents c
         JOIN public.content_projects p ON p.id = c.project_id WHERE p.slug LIKE 'atendimento%'
         GROUP BY p.slug ORDER BY p.slug" \
"atendimento 3 3
atendimento-novo 3 0"

    STEP="remove a brief (lessons left)"
    rm "$T3/didatica-lendaria/COURSE-BRIEF.md"
    bf3
    assert_sql "$STEP: project kept, name falls back to the slug, the owner kept (never nulled)" "$URL" \
        "SELECT p.slug || '|' || name || '|' || coalesce(description, 'NULL') || '|' || status || '|'
                || coalesce(m.slug, 'NULL') || '|' || coalesce(persona_mind_id::text, 'NULL') || '|'
                || coalesce(target_audience_id::text, 'NULL') || '|' || project_metadata::text
         FROM public.content_projects p LEFT JOIN public.minds m ON m.id = p.creator_mind_id
         WHERE p.slug = 'didatica-lendaria'" \
        "didatica-lendaria|didatica-lendaria|NULL|in_progress|prof-didatica|NULL|NULL|{}"
    assert_sql "$STEP: outline kept with content NULL" "$URL" \
        "SELECT title || '|' || coalesce(content, 'NULL') || '|' || coalesce(file_path, 'NULL') || '|'
                || (deleted_at IS NULL) || '|' || metadata::text
         FROM public.contents WHERE slug = 'didatica-lendaria'" "didatica-lendaria|NULL|NULL|true|{}"
    assert_sql "$STEP: its lessons untouched and live" "$URL" \
        "SELECT count(*) FROM public.contents WHERE slug LIKE 'didatica-lendaria/%' AND deleted_at IS NULL" 4

    STEP="remove a course's only file"
    rm "$T3/nome-curso/COURSE-BRIEF.md"
    bf3
    assert_sql "$STEP: a directory with neither brief nor lesson: archived" "$URL" \
        "SELECT p.status || ' ' || (c.deleted_at IS NOT NULL) FROM public.content_projects p
         JOIN public.contents c ON c.project_id = p.id WHERE p.slug = 'nome-curso'" "archived true"

    STEP="an archived course comes back"
    mv "$T3/atendimento-novo" "$T3/atendimento"
    bf3
    assert_sql "$STEP: project in progress again, same rows live" "$URL" \
        "SELECT p.status || ' ' || string_agg(c.id::text, ',' ORDER BY c.slug) || ' ' || count(c.deleted_at)
         FROM public.content_projects p JOIN public.contents c ON c.project_id = p.id
         WHERE p.slug = 'atendimento' GROUP BY p.status" "in_progress $aid 0"
    assert_sql "$STEP: the other name archived now" "$URL" \
        "SELECT status FROM public.content_projects WHERE slug = 'atendimento-novo'" archived

    STEP="--creator-mind with --force"
    bf3 --creator-mind outro-criador --force
    assert_sql "$STEP: creator of every course in the tree" "$URL" \
        "SELECT p.slug || ' ' || coalesce(m.slug, 'NULL') FROM public.content_projects p
         LEFT JOIN public.minds m ON m.id = p.creator_mind_id WHERE p.status <> 'archived' ORDER BY p.slug" \
"agencia-ia outro-criador
atendimento outro-criador
didatica-lendaria outro-criador
sem-titulo outro-criador
so-licoes outro-criador"
    assert_sql "$STEP: mind created, named by its slug" "$URL" \
        "SELECT display_name FROM public.minds WHERE slug = 'outro-criador'" outro-criador
    assert_sql "$STEP: content_minds follow (every live row of those courses, no other creator left)" "$URL" \
        "SELECT (SELECT count(*) FROM public.contents c JOIN public.content_projects p ON p.id = c.project_id
                 WHERE p.status <> 'archived' AND c.deleted_at IS NULL AND NOT EXISTS (
                   SELECT 1 FROM public.content_minds cm JOIN public.minds m ON m.id = cm.mind_id
                   WHERE cm.content_id = c.id AND m.slug = 'outro-criador' AND cm.role = 'creator'))
             || ' ' || (SELECT count(*) FROM public.content_minds cm JOIN public.minds m ON m.id = cm.mind_id
                        WHERE m.slug <> 'outro-criador')" "0 0"
    assert_sql "$STEP: status set by hand still kept" "$URL" \
        "SELECT status FROM public.content_projects WHERE slug = 'agencia-ia'" completed
    agent status --root "$T3" --db "$URL" --source bf-changes --json
    assert_eq "status after all the changes: in agreement (exit 0)" "0 true" \
        "$AG_RC $(jq -r .in_agreement <<<"$AG_OUT" 2>&1)"
}

# ==== 4. bad files ==============================================================================
# the backfills of this scenario run as nobody when the machine can (so that mode 000 means
# something: root reads every file)
NB=0
have_capability nobody && NB=1
bf4() { # backfill of the scenario's tree
    [[ $NB -eq 0 ]] || as_nobody on
    agent backfill --root "$T4" --db "$URL" --source bf-bad --log-format text --max-file-bytes 100000 "$@"
    as_nobody off
}
st4() {
    [[ $NB -eq 0 ]] || as_nobody on
    agent status --root "$T4" --db "$URL" --source bf-bad --max-file-bytes 100000 "$@"
    as_nobody off
}
# a rejection line "  <path>: <reason>" of the last backfill
rej_line() {
    grep -F -- "  $1: " <<<"$AG_OUT" | head -1
}

backfill_bad_files_rejected_with_reason() {
    test_begin "bad files"
    new_db bad || return
    T4=$WORK/t4
    local D=$T4/lote/lessons P=lote/lessons bad_name
    mkdir -p "$D"
    good() { printf -- '---\ntitle: %s\nmodule: 1\n---\nCorpo %s.\n' "$2" "$2" >"$D/$1"; }
    good a-boa.md "Boa A"
    printf -- '---\ntitle: x\n---\nabc\xff\n' >"$D/b-utf8.md"               # invalid UTF-8 at byte 20
    printf -- '---\ntitle: x\n---\nab\0c\n' >"$D/c-nul.md"                   # NUL at byte 19
    printf -- '---\ntitle: x\nsem fim\n' >"$D/d-sem-fim.md"                  # unterminated
    printf -- '---\ntitle: x\nlist: [a, b\n---\nCorpo.\n' >"$D/e-yaml.md"    # YAML error
    printf -- '---\n- a\n- b\n---\nCorpo.\n' >"$D/f-lista.md"                # not a mapping
    {
        printf -- '---\na: &a [x, x, x, x, x, x, x, x, x, x]\n'
        printf -- 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n'
        printf -- 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n'
        printf -- 'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n'
        printf -- 'e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n'
        printf -- 'f: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n---\nBomba.\n'
    } >"$D/g-bomba.md"
    { printf -- '---\ntitle: grande\n---\n'; head -c 120000 /dev/zero | tr '\0' 'x'; } >"$D/h-grande.md"
    if [[ $NB -eq 1 ]]; then
        good i-perm.md "Sem permissão"
        chmod 000 "$D/i-perm.md"
    else
        skip "backfill_bad_files_rejected_with_reason: an unreadable file" \
            "$(cap_reason nobody) (root reads every file)" nobody
    fi
    printf -- '---\ntitle: "a\\0b"\n---\nCorpo.\n' >"$D/j-nul-escape.md"
    { printf -- '---\ntitle: fm grande\npad: "'; head -c 70000 /dev/zero | tr '\0' 'y'; printf -- '"\n---\nCorpo.\n'; } \
        >"$D/l-fm-grande.md"                                                 # front-matter > 64 KiB
    { printf -- '---\nfundo: '; printf '[%.0s' {1..70}; printf ']%.0s' {1..70}; printf -- '\n---\nCorpo.\n'; } \
        >"$D/m-fundo.md"                                                     # nested 70 deep
    good z-boa.md "Boa Z"
    printf -- '---\ntitle: Lote\n---\nBrief do lote.\n' >"$T4/lote/COURSE-BRIEF.md"
    mkdir -p "$T4/so-ruim/lessons"
    printf -- '---\ntitle: [ruim\n---\n' >"$T4/so-ruim/lessons/aula-1.1.md"   # the course's only file, rejected
    chmod -R a+rX "$T4" 2>/dev/null
    [[ $NB -eq 1 ]] && chmod 000 "$D/i-perm.md"

    bf4
    assert_eq "exit code with rejected files" 1 "$AG_RC"
    local nbad=12
    [[ $NB -eq 1 ]] || nbad=11
    assert_match "summary counts" "^$((nbad + 3)) files: 3 written, 0 unchanged, 0 deleted, $nbad rejected;" "$(ag_summary)"
    assert_sql "the good files between the bad ones landed" "$URL" \
        "SELECT string_agg(title, ',' ORDER BY slug) FROM public.contents WHERE content_type = 'course_lesson'
         AND slug LIKE 'lote/%'" "Boa A,Boa Z"
    assert_sql "a course whose only file is rejected still has its project and outline" "$URL" \
        "SELECT p.name || ' ' || p.status || ' ' || (SELECT count(*) FROM public.contents c WHERE c.project_id = p.id
                AND c.deleted_at IS NULL) FROM public.content_projects p WHERE p.slug = 'so-ruim'" "so-ruim in_progress 1"
    assert_match "invalid UTF-8: file and byte offset" 'invalid UTF-8 at byte 20' "$(rej_line "$P/b-utf8.md")"
    assert_match "NUL byte: file and offset" 'NUL byte at offset 19' "$(rej_line "$P/c-nul.md")"
    assert_match "unterminated front-matter" 'unterminated front-matter' "$(rej_line "$P/d-sem-fim.md")"
    assert_match "YAML error with line and column" '[Ll]ine [0-9]+.*[Cc]olumn [0-9]+' "$(rej_line "$P/e-yaml.md")"
    assert_match "front-matter not a mapping" 'not a mapping' "$(rej_line "$P/f-lista.md")"
    assert_match "alias bomb" '[Aa]lias|nodes' "$(rej_line "$P/g-bomba.md")"
    assert_match "file above --max-file-bytes" '120[0-9]{3} bytes.*above the limit of 100000' "$(rej_line "$P/h-grande.md")"
    assert_match "front-matter above 64 KiB" '64 KiB' "$(rej_line "$P/l-fm-grande.md")"
    assert_match "front-matter nested deeper than 64 levels" 'deeper than 64' "$(rej_line "$P/m-fundo.md")"
    assert_match "the only file of a course rejected" '[Ll]ine [0-9]+' "$(rej_line "so-ruim/lessons/aula-1.1.md")"
    if [[ $NB -eq 1 ]]; then
        assert_match "unreadable file" '[Pp]ermission denied' "$(rej_line "$P/i-perm.md")"
    fi
    assert_match "a \\0 escape in a YAML string" 'NUL|\\0|0x00|u0000' "$(rej_line "$P/j-nul-escape.md")"
    assert_sql "file_state records each rejection" "$URL" \
        "SELECT count(*) FROM creatoros_agent.file_state WHERE source = 'bf-bad' AND error IS NOT NULL" "$nbad"

    st4 --json
    assert_eq "status exit code with files in error" 1 "$AG_RC"
    assert_eq "status --json: rejected, files_in_error, in_agreement" "$nbad $nbad false" \
        "$(jq -r '"\(.rejected) \(.files_in_error) \(.in_agreement)"' <<<"$AG_OUT" 2>&1)"
    assert_contains "status --json lists the YAML error" "$P/e-yaml.md" \
        "$(jq -r '.errors[] | "\(.path): \(.error) \(.since)"' <<<"$AG_OUT" 2>&1)"
    st4
    assert_match "status (text) lists the files in error" "^  $P/c-nul.md: NUL byte at offset 19" "$AG_OUT"

    bf4 --json
    assert_eq "--json re-run: exit, rejected, errors listed" "1 $nbad $nbad" \
        "$AG_RC $(grep '^{' <<<"$AG_OUT" | jq -r '"\(.rejected) \(.errors|length)"' 2>&1)"
    assert_contains "--json errors name the file and the reason" "$P/c-nul.md: NUL byte at offset 19" \
        "$(grep '^{' <<<"$AG_OUT" | jq -r '.errors[]' 2>&1)"

    # unchanged since rejected: still rejected, and not re-read (same size and mtime)
    touch -r "$D/e-yaml.md" "$WORK/e-yaml.ref"
    printf -- '---\ntitle: x\nlist: [a,b]\n---\nCorpo.\n' >"$D/e-yaml.md" # same length, now valid
    touch -r "$WORK/e-yaml.ref" "$D/e-yaml.md"
    bf4
    assert_eq "re-run: still exit 1" 1 "$AG_RC"
    assert_match "re-run: the unchanged rejected file is listed again, not re-read" \
        '[Ll]ine [0-9]+.*[Cc]olumn [0-9]+' "$(rej_line "$P/e-yaml.md")"
    bf4 --force
    assert_eq "--force re-reads: the fixed YAML file is no longer rejected" "" "$(rej_line "$P/e-yaml.md")"
    assert_sql "--force: its row is written" "$URL" \
        "SELECT count(*) FROM public.contents WHERE slug = '$P/e-yaml' AND deleted_at IS NULL" 1

    # a good lesson turned bad keeps its rows untouched
    snap "$URL"
    printf -- '---\ntitle: [Boa A\n---\nCorpo.\n' >"$D/a-boa.md"
    printf -- '---\ntitle: [Lote\n---\nBrief quebrado.\n' >"$T4/lote/COURSE-BRIEF.md"
    bf4
    assert_eq "good file turned bad: exit 1" 1 "$AG_RC"
    assert_match "good file turned bad: listed" '[Ll]ine [0-9]+' "$(rej_line "$P/a-boa.md")"
    assert_match "good brief turned bad: listed" '[Ll]ine [0-9]+' "$(rej_line "lote/COURSE-BRIEF.md")"
    assert_eq "good files turned bad: no contents row written" "" "$(changed "$URL")"
    assert_eq "good brief turned bad: project row untouched" "" "$(pchanged "$URL")"
    assert_sql "good brief turned bad: project and outline keep the last good values" "$URL" \
        "SELECT p.name || '|' || o.title || '|' || md5(o.content) FROM public.content_projects p
         JOIN public.contents o ON o.slug = p.slug WHERE p.slug = 'lote'" "Lote|Lote|$(md5_of 'Brief do lote.\n')"
    assert_sql "good file turned bad: old row still live, module too" "$URL" \
        "SELECT string_agg(slug || ' ' || title || ' ' || (deleted_at IS NULL), ',' ORDER BY slug) FROM public.contents
         WHERE slug IN ('$P/a-boa', 'lote/module-1')" "$P/a-boa Boa A true,lote/module-1 Module 1 true"

    # fix everything: errors cleared, status in agreement
    good a-boa.md "Boa A2"
    good b-utf8.md "B"
    good c-nul.md "C"
    good d-sem-fim.md "D"
    good f-lista.md "F"
    good g-bomba.md "G"
    good h-grande.md "H"
    if [[ $NB -eq 1 ]]; then
        chmod 0644 "$D/i-perm.md"
        touch "$D/i-perm.md"
    fi
    good j-nul-escape.md "J"
    good l-fm-grande.md "L"
    good m-fundo.md "M"
    printf -- '---\ntitle: Lote 2\n---\nBrief do lote.\n' >"$T4/lote/COURSE-BRIEF.md"
    printf -- '---\ntitle: Boa agora\n---\n' >"$T4/so-ruim/lessons/aula-1.1.md"
    chmod -R a+rX "$T4"
    bf4
    assert_eq "after the fixes: exit 0 (stdout: $(tail -3 <<<"$AG_OUT"))" 0 "$AG_RC"
    assert_sql "after the fixes: fixed brief and lessons written" "$URL" \
        "SELECT (SELECT name FROM public.content_projects WHERE slug = 'lote') || ' '
             || (SELECT count(*) FROM public.contents WHERE content_type = 'course_lesson' AND deleted_at IS NULL
                 AND (slug LIKE 'lote/%' OR slug LIKE 'so-ruim/%'))" "Lote 2 $((nbad + 2))"
    assert_sql "after the fixes: no file in error" "$URL" \
        "SELECT count(*) FROM creatoros_agent.file_state WHERE source = 'bf-bad' AND error IS NOT NULL" 0
    st4 --json
    assert_eq "after the fixes: status exit 0, in agreement, no errors" "0 true 0 []" \
        "$AG_RC $(jq -r '"\(.in_agreement) \(.files_in_error) \(.errors|tostring)"' <<<"$AG_OUT" 2>&1)"

    # A file name that is not UTF-8, in a tree of its own: today it stops the whole backfill
    # (see the report), which would hide every other case above.
    local T4N=$WORK/t4n bad_name
    mkdir -p "$T4N/nomes/lessons"
    D=$T4N/nomes/lessons
    bad_name=$(printf 'k-\xff-nome.md')
    good a-boa.md "Nome A"
    good "$bad_name" "Nome inválido"
    good z-boa.md "Nome Z"
    agent backfill --root "$T4N" --db "$URL" --source bf-badname --log-format text
    assert_eq "file name not UTF-8: exit 1 (stderr: $(tail -1 <<<"$AG_ERR"))" 1 "$AG_RC"
    assert_match "file name not UTF-8: listed with the reason" '^  nomes/lessons/k-.*not valid UTF-8' "$AG_OUT"
    assert_sql "file name not UTF-8: the files around it landed" "$URL" \
        "SELECT string_agg(title, ',' ORDER BY slug) FROM public.contents
         WHERE content_type = 'course_lesson' AND slug LIKE 'nomes/%'" "Nome A,Nome Z"
    mv "$D/$bad_name" "$D/k-nome.md"
    agent backfill --root "$T4N" --db "$URL" --source bf-badname --log-format text
    assert_eq "file name not UTF-8, renamed: exit 0" 0 "$AG_RC"
    agent status --root "$T4N" --db "$URL" --source bf-badname --json
    assert_eq "file name not UTF-8, renamed: status in agreement" "0 true" \
        "$AG_RC $(jq -r .in_agreement <<<"$AG_OUT" 2>&1)"

    # Legacy encodings: rejected with a hint; converted with --fallback-encoding (logged);
    # a file invalid in both stays rejected.
    local T4E=$WORK/t4e E=legado/lessons
    mkdir -p "$T4E/$E"
    printf -- '---\ntitle: Li\xe7\xe3o\n---\nCora\xe7\xe3o \x80 5\n' >"$T4E/$E/aula-1.1-cp1252.md"
    printf -- '---\ntitle: Ruim\n---\nbyte \x81 indefinido\n' >"$T4E/$E/aula-1.2-indefinido.md"
    agent backfill --root "$T4E" --db "$URL" --source bf-enc --log-format text
    assert_eq "Windows-1252 without --fallback-encoding: exit 1" 1 "$AG_RC"
    assert_match "Windows-1252 without --fallback-encoding: byte offset and a hint" \
        'invalid UTF-8 at byte 13.*--fallback-encoding' "$(rej_line "$E/aula-1.1-cp1252.md")"
    agent backfill --root "$T4E" --db "$URL" --source bf-enc --log-format text --fallback-encoding WINDOWS-1252 --force
    assert_eq "--fallback-encoding: exit 1 (one file invalid in both)" 1 "$AG_RC"
    assert_sql "--fallback-encoding: converted file written" "$URL" \
        "SELECT title || '|' || md5(content) FROM public.contents WHERE slug = '$E/aula-1.1-cp1252'" \
        "Lição|$(md5_of 'Coração € 5\n')"
    assert_contains "--fallback-encoding: the conversion is logged" "converted from WINDOWS-1252" "$AG_ERR"
    assert_match "--fallback-encoding: invalid in both, rejected" 'invalid UTF-8 at byte 25' \
        "$(rej_line "$E/aula-1.2-indefinido.md")"
    unset -f good
}

# ==== 5. the server dies in the middle of a backfill ==========================================
lessons_visible() { # lessons_visible URL MIN
    local n
    n=$(q "$1" "SELECT count(*) FROM public.contents WHERE content_type = 'course_lesson'" 2>/dev/null) || return 1
    [[ $n -ge $2 ]]
}

backfill_server_killed_resumes() {
    test_begin "server killed mid-backfill"
    require_capability pgdir backfill_server_killed_resumes || return
    if [[ ! -f $BENCH/gen_corpus.py ]]; then
        fail "no $BENCH/gen_corpus.py"
        return
    fi
    local C=$WORK/corpus clean_url pid total down
    "$PY" "$BENCH/gen_corpus.py" "$C" --courses 30 --modules 5 --lessons 10 --body-bytes 4096 --seed 7 >/dev/null ||
        { fail "gen_corpus.py failed"; return; }
    new_db clean || return
    clean_url=$URL
    new_db crash || return

    start_agent crash backfill --root "$C" --db "$URL" --source bf-crash --log-format text --connect-retry 3
    pid=$AG_PID
    check "lessons visible during the backfill" wait_until 30 lessons_visible "$URL" 100
    # the fault counts only if it hits the backfill mid-way
    check "the backfill is still at work when the server is killed" alive "$pid"
    down=$SECONDS
    cluster_stop kill
    check "the backfill exits after its retry window" wait_until 30 dead "$pid"
    wait "$pid"
    AG_RC=$?
    check "the cluster starts again" cluster_start
    echo "  server down for $((SECONDS - down)) s; the backfill exited with $AG_RC"
    assert_eq "exit code of the interrupted backfill (2: database unreachable)" 2 "$AG_RC"
    check_sanitizer "$AG_ERRF"
    total=$(q "$URL" "SELECT count(*) FROM public.contents WHERE content_type = 'course_lesson'")
    echo "  lessons in the database when the server died: $total of 1500"
    check "the server died mid-backfill ($total of 1500 lessons were in)" test "${total:-1500}" -lt 1500

    agent backfill --root "$C" --db "$URL" --source bf-crash --log-format text
    assert_eq "re-run after the restart: exit 0" 0 "$AG_RC"
    agent backfill --root "$C" --db "$clean_url" --source bf-crash --log-format text
    assert_eq "clean backfill: exit 0" 0 "$AG_RC"
    local verify=$BENCH/fingerprint.sql fa fb
    # a failed fingerprint on both sides is no agreement
    if fa=$(psql "$clean_url" -XAtq -v ON_ERROR_STOP=1 -f "$verify" 2>&1) &&
        fb=$(psql "$URL" -XAtq -v ON_ERROR_STOP=1 -f "$verify" 2>&1); then
        assert_eq "bench/fingerprint.sql: resumed = clean" "$fa" "$fb"
    else
        fail "bench/fingerprint.sql: a side failed: ${fb:-$fa}"
    fi
    local rows_sql="SELECT c.slug, c.content_type, c.title, md5(c.content), p.slug, c.sequence_order, c.status,
            c.fidelity_score, c.deleted_at IS NULL
        FROM public.contents c LEFT JOIN public.contents p ON p.id = c.parent_content_id
        ORDER BY c.slug COLLATE \"C\""
    local a b
    a=$(qcmp "$clean_url" "$rows_sql" | md5sum)
    b=$(qcmp "$URL" "$rows_sql" | md5sum)
    assert_eq "contents rows: resumed = clean" "$a" "$b"
    if [[ $a != "$b" ]]; then
        diff <(q "$clean_url" "$rows_sql") <(q "$URL" "$rows_sql") | head -10 | sed 's/^/  | /'
    fi
    assert_sql "resumed: 1530 files recorded, none in error" "$URL" \
        "SELECT count(*) || ' ' || count(error) FROM creatoros_agent.file_state" "1530 0"
}

# ==== 6. dry run ================================================================================
backfill_dry_run_writes_nothing() {
    test_begin "dry run"
    new_db dry || return
    local T=$WORK/t6
    make_tree "$T"
    agent backfill --root "$T" --db "$URL" --source bf-dry --log-format text --dry-run
    assert_eq "--dry-run exit code" 0 "$AG_RC"
    assert_match "--dry-run summary says what it would write" '^dry run: 27 files: 27 written, 0 unchanged' "$(ag_summary)"
    assert_contains "--dry-run logs each file it would write" \
        'would sync path=agencia-ia/lessons/modulo-01/aula-1.1-por-que.md' "$AG_ERR"
    assert_sql "--dry-run: every table empty" "$URL" "$EMPTY_SQL" "0 0 0 0 0 0 0 0 0"

    CREATOR_OS_DB_PERSIST=false agent backfill --root "$T" --db "$URL" --source bf-dry --log-format text
    assert_eq "CREATOR_OS_DB_PERSIST=false exit code" 0 "$AG_RC"
    assert_match "CREATOR_OS_DB_PERSIST=false summary" '^dry run: 27 files: 27 written' "$(ag_summary)"
    assert_sql "CREATOR_OS_DB_PERSIST=false: every table empty" "$URL" "$EMPTY_SQL" "0 0 0 0 0 0 0 0 0"
    env -u DATABASE_URL -u SUPABASE_DB_URL -u CREATOROS_DB \
        "$CO_AGENT" backfill --root "$T" --source bf-dry --log-format text --dry-run >"$WORK/nodb.out" 2>"$WORK/nodb.err"
    local rc=$?
    assert_eq "--dry-run without a database: exit 0 (stderr: $(tail -1 "$WORK/nodb.err"))" 0 "$rc"
    assert_match "--dry-run without a database: every file would be written" '^dry run: 27 files: 27 written' \
        "$(cat "$WORK/nodb.out")"

    # against a synced database: only the difference, and still nothing written
    agent backfill --root "$T" --db "$URL" --source bf-dry --log-format text
    assert_eq "real backfill exit code" 0 "$AG_RC"
    local v
    v=$(versions "$URL")
    printf 'Mais uma linha.\n' >>"$T/agencia-ia/lessons/sem-modulo.md"
    rm "$T/agencia-ia/lessons/2.1-primeiro.md"
    agent backfill --root "$T" --db "$URL" --source bf-dry --log-format text --dry-run --json
    assert_eq "--dry-run --json after an edit and a delete" "0 26 1 1 true" \
        "$AG_RC $(grep '^{' <<<"$AG_OUT" | jq -r '"\(.files) \(.written) \(.deleted) \(.dry_run)"' 2>&1)"
    assert_eq "--dry-run on a synced database writes nothing" "$v" "$(versions "$URL")"
}

# ==== 7. two sources in one database ===========================================================
backfill_two_sources_keep_apart() {
    test_begin "two sources"
    new_db sources || return
    local R1=$WORK/t7a R2=$WORK/t7b live
    mkdir -p "$R1" "$R2"
    cp -a "$FIX/agencia-ia" "$FIX/so-licoes" "$R1/"
    cp -a "$FIX/didatica-lendaria" "$FIX/atendimento" "$R2/"
    agent backfill --root "$R1" --db "$URL" --source host-a --log-format text
    assert_eq "source A exit code" 0 "$AG_RC"
    agent backfill --root "$R2" --db "$URL" --source host-b --log-format text
    assert_eq "source B exit code" 0 "$AG_RC"
    live="SELECT string_agg(p.slug || ':' || p.status || ':' || (SELECT count(*) FROM public.contents c
            WHERE c.project_id = p.id AND c.deleted_at IS NULL), ' ' ORDER BY p.slug) FROM public.content_projects p"
    local before
    before=$(q "$URL" "$live")
    assert_eq "both sources' courses live" \
        "agencia-ia:in_progress:24 atendimento:in_progress:3 didatica-lendaria:in_progress:5 so-licoes:in_progress:3" "$before"
    agent backfill --root "$R1" --db "$URL" --source host-a --log-format text
    assert_match "re-run of A deletes and archives nothing" '0 deleted, 0 rejected; 0 courses archived; 0 rows changed' "$(ag_summary)"
    agent backfill --root "$R2" --db "$URL" --source host-b --log-format text
    assert_match "re-run of B deletes and archives nothing" '0 deleted, 0 rejected; 0 courses archived; 0 rows changed' "$(ag_summary)"
    assert_eq "rows of both sources still live" "$before" "$(q "$URL" "$live")"
    rm "$R1/agencia-ia/lessons/sem-modulo.md"
    agent backfill --root "$R1" --db "$URL" --source host-a --log-format text
    assert_match "A deletes its own lesson only" '^[0-9]+ files: 0 written, [0-9]+ unchanged, 1 deleted, 0 rejected; 0 courses archived' "$(ag_summary)"
    agent backfill --root "$R2" --db "$URL" --source host-b --log-format text
    assert_match "then B still changes nothing" '0 deleted, 0 rejected; 0 courses archived; 0 rows changed' "$(ag_summary)"
    assert_eq "only A's deleted lesson went" \
        "agencia-ia:in_progress:23 atendimento:in_progress:3 didatica-lendaria:in_progress:5 so-licoes:in_progress:3" \
        "$(q "$URL" "$live")"
    agent status --root "$R2" --db "$URL" --source host-b --json
    assert_eq "status of B: in agreement, its own files only" "0 true 5" \
        "$AG_RC $(jq -r '"\(.in_agreement) \(.recorded_files)"' <<<"$AG_OUT" 2>&1)"
}

# ==== 8. the password never appears ===========================================================
backfill_password_never_printed() {
    test_begin "password kept out of the output"
    local SECRET=S3cretPa55 port url bad all
    new_db pw || return
    q "$CO_TEST_DB" "DO \$\$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'co_pw_test') THEN
          CREATE ROLE co_pw_test LOGIN PASSWORD '$SECRET';
        END IF; END \$\$; GRANT creatoros_agent TO co_pw_test" >/dev/null ||
        { fail "cannot create role co_pw_test"; return; }
    port=$(sed -nE 's/.*[?&]port=([0-9]+).*/\1/p' <<<"$CO_TEST_DB")
    [[ -n $port ]] || port=5432
    url="postgresql://co_pw_test:$SECRET@127.0.0.1:$port/$DB"
    # pg_hba trusts 127.0.0.1: the password is ignored, it only has to stay out of the output
    local su_url="postgresql://postgres:$SECRET@127.0.0.1:$port/$DB"
    bad="postgresql://co_pw_test:$SECRET@127.0.0.1:1/$DB?connect_timeout=2"
    local T=$WORK/t8
    mkdir -p "$T"
    cp -a "$FIX/atendimento" "$T/"
    printf -- '---\ntitle: [quebrado\n---\n' >"$T/atendimento/lessons/aula-1.2-ruim.md"

    all=""
    agent migrate --db "$su_url" --log-format text
    assert_eq "migrate through a URL with a password (nothing to do) exit code" 0 "$AG_RC"
    all+="$AG_OUT$AG_ERR"
    agent migrate --db "$url" --log-format json
    assert_eq "migrate as a role that may not create the schema fails (exit 1)" 1 "$AG_RC"
    all+="$AG_OUT$AG_ERR"
    agent backfill --root "$T" --db "$url" --source bf-pw --log-format text
    assert_eq "backfill as co_pw_test exit code (one rejected file)" 1 "$AG_RC"
    all+="$AG_OUT$AG_ERR"
    agent backfill --root "$T" --db "$url" --source bf-pw --log-format json --json --log-level debug
    all+="$AG_OUT$AG_ERR"
    agent status --root "$T" --db "$url" --source bf-pw
    assert_eq "status as co_pw_test exit code" 1 "$AG_RC"
    all+="$AG_OUT$AG_ERR"
    agent status --root "$T" --db "$url" --source bf-pw --json
    all+="$AG_OUT$AG_ERR"
    assert_contains "the redacted URL is shown" "co_pw_test@" "$AG_OUT"
    agent backfill --root "$T" --db "$bad" --source bf-pw --connect-retry 1 --log-format text
    assert_eq "backfill with an unreachable server: exit 2" 2 "$AG_RC"
    all+="$AG_OUT$AG_ERR"
    agent status --root "$T" --db "$bad" --source bf-pw --connect-retry 1
    assert_eq "status with an unreachable server: exit 2" 2 "$AG_RC"
    all+="$AG_OUT$AG_ERR"
    agent migrate --db "$bad" --connect-retry 1 --log-format json
    assert_eq "migrate with an unreachable server: exit 2" 2 "$AG_RC"
    all+="$AG_OUT$AG_ERR"
    agent backfill --root "$T" --db "postgresql://co_pw_test:$SECRET@127.0.0.1:notaport/x" --source bf-pw --connect-retry 1
    all+="$AG_OUT$AG_ERR"
    DATABASE_URL=$url agent backfill --root "$T" --source bf-pw --log-format text
    all+="$AG_OUT$AG_ERR"
    SUPABASE_DB_URL=$url agent status --root "$T" --source bf-pw --json
    all+="$AG_OUT$AG_ERR"
    CREATOROS_DB=$url agent status --root "$T" --source bf-pw
    all+="$AG_OUT$AG_ERR"
    local v
    for v in backfill status migrate; do
        DATABASE_URL=$url SUPABASE_DB_URL=$url CREATOROS_DB=$url agent "$v" --help
        all+="$AG_OUT$AG_ERR"
    done
    DATABASE_URL=$url agent --help
    all+="$AG_OUT$AG_ERR"
    assert_not_contains "password in any output of backfill/status/migrate/--help" "$SECRET" "$all"
    assert_contains "the outputs were collected" "co_pw_test" "$all"
    psql "$CO_TEST_DB" -XAtq -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1
    psql "$CO_TEST_DB" -XAtq -c "DROP ROLE IF EXISTS co_pw_test" >/dev/null 2>&1 || true
}

# ==== 9. status ================================================================================
backfill_status_compares_tree() {
    test_begin "status"
    new_db status || return
    local T=$WORK/t9
    make_tree "$T"
    agent status --root "$T" --db "$URL" --source bf-status --json
    assert_eq "status before any backfill: exit 1, 27 to write" "1 27 false" \
        "$AG_RC $(jq -r '"\(.to_write) \(.in_agreement)"' <<<"$AG_OUT" 2>&1)"
    agent backfill --root "$T" --db "$URL" --source bf-status --log-format text
    assert_eq "backfill exit code" 0 "$AG_RC"
    agent status --root "$T" --db "$URL" --source bf-status --json
    assert_eq "status after the backfill (exit, in_agreement, recorded, in error, to_write, to_delete, to_archive, rejected, errors)" \
        "0 true 27 0 0 0 0 0 []" \
        "$AG_RC $(jq -r '"\(.in_agreement) \(.recorded_files) \(.files_in_error) \(.to_write) \(.to_delete) \(.to_archive) \(.rejected) \(.errors|tostring)"' <<<"$AG_OUT" 2>&1)"
    assert_eq "status after the backfill: live projects, modules, lessons and the last sync, as the database holds them" \
        "$(qcmp "$URL" "SELECT (SELECT count(*) FROM public.content_projects WHERE status <> 'archived') || ' ' ||
                (SELECT count(*) FROM public.contents WHERE content_type = 'course_module' AND deleted_at IS NULL) || ' ' ||
                (SELECT count(*) FROM public.contents WHERE content_type = 'course_lesson' AND deleted_at IS NULL) || ' ' ||
                (SELECT to_char(last_sync_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
                   FROM creatoros_agent.sources WHERE source = 'bf-status')")" \
        "$(jq -r '"\(.projects) \(.modules) \(.lessons) \(.last_sync)"' <<<"$AG_OUT" 2>&1)"
    agent status --root "$T" --db "$URL" --source bf-status
    assert_eq "status (text) exit code in agreement" 0 "$AG_RC"
    assert_contains "status (text) says so" "in agreement with the database" "$AG_OUT"

    printf 'Editado.\n' >>"$T/agencia-ia/lessons/modulo-01/intro.md"
    agent status --root "$T" --db "$URL" --source bf-status --json
    assert_eq "status after an edit: exit 1, to_write 1" "1 1 false" \
        "$AG_RC $(jq -r '"\(.to_write) \(.in_agreement)"' <<<"$AG_OUT" 2>&1)"
    rm "$T/agencia-ia/lessons/sem-modulo.md"
    mv "$T/sem-titulo" "$WORK/sem-titulo.away"
    agent status --root "$T" --db "$URL" --source bf-status --json
    assert_eq "status after a delete and a course gone: to_write, to_delete (the lesson and the gone course's brief), to_archive" "1 1 2 1 false" \
        "$AG_RC $(jq -r '"\(.to_write) \(.to_delete) \(.to_archive) \(.in_agreement)"' <<<"$AG_OUT" 2>&1)"
    snap "$URL"
    assert_eq "status writes nothing" "" "$(changed "$URL")"

    printf -- '---\ntitle: x\n  bad: indent\n---\n' >"$T/agencia-ia/lessons/aula-7.9-ruim.md"
    agent backfill --root "$T" --db "$URL" --source bf-status --log-format text
    assert_eq "backfill with one bad file: exit 1" 1 "$AG_RC"
    agent status --root "$T" --db "$URL" --source bf-status --json
    assert_eq "status lists the rejected file (exit, in_agreement, rejected, files_in_error, path)" \
        "1 false 1 1 agencia-ia/lessons/aula-7.9-ruim.md" \
        "$AG_RC $(jq -r '"\(.in_agreement) \(.rejected) \(.files_in_error) \(.errors[0].path)"' <<<"$AG_OUT" 2>&1)"
    assert_match "status error entry has a reason and a since" '^.+ [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' \
        "$(jq -r '.errors[0] | "\(.error) \(.since)"' <<<"$AG_OUT" 2>&1)"
    rm "$T/agencia-ia/lessons/aula-7.9-ruim.md"
    agent backfill --root "$T" --db "$URL" --source bf-status --log-format text
    agent status --root "$T" --db "$URL" --source bf-status --json
    assert_eq "bad file removed: in agreement again" "0 true 0" \
        "$AG_RC $(jq -r '"\(.in_agreement) \(.files_in_error)"' <<<"$AG_OUT" 2>&1)"
    agent status --root "$T" --db "$(db_url "co_bf_nonexistent_$$")" --source bf-status --connect-retry 1
    assert_eq "status without a database: exit 2" 2 "$AG_RC"
}

# ==== 10. a big course: parts of one transaction, bounded memory ===============================
# The agent's peak RSS for the 150 x 8 MB course stays under this (README, "Memory"). The
# sanitizer build runs with a small quarantine here; it measures above the Release build.
BIG_RSS_BUDGET_MB=160
backfill_big_course_in_parts_bounded() {
    test_begin "a course of 150 lessons of 8 MB, beside a small one"
    new_db big || return
    local T=$WORK/t10 rss parts maxpart
    if ! "$CO_SOURCE_DIR/tests/hostile/make_big_course.sh" "$T" huge 150 8000000; then
        fail "make_big_course.sh failed"
        return
    fi
    mkdir -p "$T/small/lessons"
    printf -- '---\ntitle: Pequena\n---\nCorpo.\n' >"$T/small/lessons/aula-1.1.md"
    AG_PREFIX=(/usr/bin/time -f 'maxrss_kb=%M' -o "$WORK/t10.time")
    ASAN_OPTIONS=${ASAN_OPTIONS:-}:quarantine_size_mb=16 agent backfill --root "$T" --db "$URL" \
        --source bf-big --log-format json --log-level debug
    AG_PREFIX=()
    assert_eq "backfill of the big course exit code" 0 "$AG_RC"
    if [[ $AG_RC -ne 0 ]]; then
        grep -E '"level":"(warn|error)"' <<<"$AG_ERR" | head -5 | cut -c1-300 >&2
    fi
    assert_match "summary: every file written" '^152 files: 152 written, 0 unchanged' "$(ag_summary)"
    assert_sql "150 big lessons and the small one live" "$URL" \
        "SELECT count(*) FILTER (WHERE slug LIKE 'huge/lessons/%') || ' ' ||
                count(*) FILTER (WHERE slug LIKE 'small/lessons/%')
           FROM public.contents WHERE content_type = 'course_lesson' AND deleted_at IS NULL" "150 1"
    # One transaction: every row of the course (outline, modules, lessons) and its file state
    # carry the same xmin.
    assert_sql "the big course was written in one transaction" "$URL" \
        "SELECT (SELECT count(DISTINCT xmin::text) FROM public.contents WHERE slug LIKE 'huge%')
              + (SELECT count(DISTINCT xmin::text) FROM creatoros_agent.file_state
                  WHERE source = 'bf-big' AND course = 'huge') - 1" "1"
    parts=$(jq -r 'select(.msg == "part sent" and .course == "huge") | .bytes' <<<"$AG_ERR" 2>/dev/null | wc -l)
    maxpart=$(jq -r 'select(.msg == "part sent") | .bytes' <<<"$AG_ERR" 2>/dev/null | sort -n | tail -1)
    check "the big course went in several parts ($parts)" test "$parts" -ge 30
    check "no part above 33 MiB of records (largest: ${maxpart:-none} bytes)" \
        test "${maxpart:-999999999}" -le $((33 * 1048576))
    rss=$(sed -n 's/^maxrss_kb=//p' "$WORK/t10.time")
    echo "  peak RSS of the backfill: ${rss:-?} kB (budget ${BIG_RSS_BUDGET_MB} MB, sanitizer build x2)"
    check "peak RSS ${rss:-?} kB within twice the documented ${BIG_RSS_BUDGET_MB} MB" \
        test "${rss:-999999999}" -le $((2 * BIG_RSS_BUDGET_MB * 1024))
    local want got
    want=$(body_md5s "$T" huge/lessons/aula-15.10-big.md huge/lessons/aula-7.3-big.md)
    got=$(q "$URL" "SELECT file_path || '|' || md5(content) FROM public.contents
                    WHERE slug IN ('huge/lessons/aula-7.3-big', 'huge/lessons/aula-15.10-big')
                    ORDER BY slug COLLATE \"C\"")
    assert_eq "two big bodies stored byte for byte" "$want" "$got"
    assert_sql "modules of the big course: 15 live" "$URL" \
        "SELECT count(*) FROM public.contents WHERE content_type = 'course_module'
          AND slug LIKE 'huge/%' AND deleted_at IS NULL" "15"
    agent backfill --root "$T" --db "$URL" --source bf-big --log-format text
    assert_match "a re-run over the unchanged tree writes nothing" \
        '^152 files: 0 written, 152 unchanged.* 0 rows changed' "$(ag_summary)"

    # One lesson edited: only it is written (the course is small again: one transaction).
    printf 'Editado.\n' >>"$T/huge/lessons/aula-3.3-big.md"
    agent backfill --root "$T" --db "$URL" --source bf-big --log-format text
    assert_match "one big lesson edited: one file written" '^152 files: 1 written, 151 unchanged' \
        "$(ag_summary)"

}

# ==== a file above one part ====================================================================
backfill_file_above_one_part_refused() {
    test_begin "a file above one part is refused without being read; its neighbour lands"
    new_db over || return
    # whatever --max-file-bytes says: one statement carries at most SYNC_PART_BYTES
    local O=$WORK/t10-over
    mkdir -p "$O/over/lessons"
    printf -- '---\ntitle: Grande demais\n---\n' >"$O/over/lessons/aula-1.1-enorme.md"
    truncate -s 40M "$O/over/lessons/aula-1.1-enorme.md"
    printf -- '---\ntitle: Vizinha\n---\nCorpo.\n' >"$O/over/lessons/aula-1.2-vizinha.md"
    agent backfill --root "$O" --db "$URL" --source bf-over --max-file-bytes 100000000 --log-format text
    assert_eq "a file above one part: exit 1" 1 "$AG_RC"
    assert_match "its reason names the bound of one statement" \
        'aula-1.1-enorme.md: file is 41943040 bytes, above the 33554432 bytes one statement may carry' \
        "$AG_OUT"
    assert_sql "its neighbour landed" "$URL" \
        "SELECT string_agg(title, ',') FROM public.contents WHERE slug LIKE 'over/lessons/%'" "Vizinha"
}

# ==== 11. a big course the database refuses one file of ========================================
backfill_course_in_parts_file_refused() {
    test_begin "a course written in parts, one file refused by the database"
    new_db bigbad || return
    local T=$WORK/t11
    "$CO_SOURCE_DIR/tests/hostile/make_big_course.sh" "$T" pois 12 6000000 || { fail "make_big_course.sh"; return; }
    sed -i '2s/.*/title: "POISON"/' "$T/pois/lessons/aula-1.7-big.md"
    # A rule of this database that the parser cannot know: the course's transaction fails on
    # data in a late part, after earlier parts were sent and their bodies shed.
    q "$URL" "ALTER TABLE public.contents ADD CONSTRAINT t11_poison CHECK (title IS DISTINCT FROM 'POISON')" >/dev/null
    agent backfill --root "$T" --db "$URL" --source bf-bigbad --log-format json --log-level debug
    assert_eq "exit 1: one file rejected" 1 "$AG_RC"
    assert_match "the refusal is logged, then the course written again part by part" \
        '"msg":"the database refused a course written in parts' "$AG_ERR"
    assert_match "the refused file is listed with the database's reason" \
        'pois/lessons/aula-1.7-big.md: .*t11_poison' "$AG_OUT"
    assert_sql "its 11 neighbours landed, it did not" "$URL" \
        "SELECT count(*) || ' ' || count(*) FILTER (WHERE title = 'POISON') FROM public.contents
          WHERE slug LIKE 'pois/lessons/%' AND deleted_at IS NULL" "11 0"
    assert_sql "the file state records the refusal" "$URL" \
        "SELECT count(*) FROM creatoros_agent.file_state WHERE source = 'bf-bigbad'
          AND path = 'pois/lessons/aula-1.7-big.md' AND error LIKE '%t11_poison%'" "1"
}

# ==== 11b. a path too long for the database's index ===========================================
backfill_unindexable_path_is_data_error() {
    test_begin "a path the database cannot index: that file's fault, not an outage"
    new_db longpath || return
    local T=$WORK/longpath d
    # 13 directories of 230 random characters: the path does not compress below the 2704 bytes
    # a btree entry may hold (SQLSTATE 54000, a program limit)
    d=$("$PY" -c '
import random, sys
r = random.Random(7)
print("/".join("".join(r.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(230))
               for _ in range(13)))')
    mkdir -p "$T/longc/lessons/$d"
    printf -- '---\ntitle: Longa\n---\nx\n' >"$T/longc/lessons/$d/aula-1.1.md"
    printf -- '---\ntitle: Curta\n---\nx\n' >"$T/longc/lessons/aula-1.2.md"
    agent backfill --root "$T" --db "$URL" --source bf-long --log-format text
    assert_eq "exit 1: one file rejected (not 2: the database is fine)" 1 "$AG_RC"
    assert_match "the file is rejected with the database's reason" \
        'longc/lessons/.*/aula-1.1.md: .*index row size .* exceeds' "$AG_OUT"
    assert_sql "its neighbour landed" "$URL" \
        "SELECT string_agg(title, ',') FROM public.contents WHERE content_type = 'course_lesson'" "Curta"
}

# ==== 12. an empty tree is not a deleted tree ================================================
backfill_empty_or_wrong_root_deletes_nothing() {
    test_begin "a missing, empty or wrong root deletes nothing"
    new_db mass || return
    local T=$WORK/t12 E=$WORK/t12-empty t0 before
    cp -a "$FIX" "$T"
    agent backfill --root "$T" --db "$URL" --source bf-mass --log-format text
    assert_eq "backfill of the fixture" 0 "$AG_RC"
    before=$(versions "$URL")

    # A root that does not exist, or is a file: refused at once, naming it, before any
    # connection (the URL's port is closed: trying it would take --connect-retry seconds).
    t0=$SECONDS
    agent backfill --root "$WORK/t12-nowhere" --db "postgresql://u@127.0.0.1:1/x" --connect-retry 10 \
        --log-format text
    assert_eq "a missing root: exit 2" 2 "$AG_RC"
    assert_contains "the error names the root" "the root $WORK/t12-nowhere does not exist" "$AG_ERR"
    assert_not_contains "and does not blame the database" "database" "$AG_ERR"
    check "refused at once, before any connection ($((SECONDS - t0)) s)" test $((SECONDS - t0)) -lt 5
    agent status --root "$WORK/t12-nowhere" --db "postgresql://u@127.0.0.1:1/x" --connect-retry 10
    assert_eq "status with a missing root: exit 2" 2 "$AG_RC"
    assert_contains "status names the root" "the root $WORK/t12-nowhere does not exist" "$AG_ERR"
    touch "$WORK/t12-file"
    agent backfill --root "$WORK/t12-file" --db "postgresql://u@127.0.0.1:1/x" --connect-retry 10 \
        --log-format text
    assert_eq "a root that is a file: exit 2" 2 "$AG_RC"
    assert_contains "the error says so" "the root $WORK/t12-file is not a directory" "$AG_ERR"

    # The same source over an empty folder (a volume not mounted): nothing written at all.
    mkdir -p "$E"
    agent backfill --root "$E" --db "$URL" --source bf-mass --log-format text
    assert_eq "an empty root: exit 1" 1 "$AG_RC"
    assert_match "the error names the count and the likely causes" \
        'refusing to delete or archive 26 of the 26 files this source recorded \(the tree is empty\): is the volume mounted, is --root' \
        "$AG_ERR"
    assert_eq "nothing was written" "$before" "$(versions "$URL")"
    agent backfill --root "$E" --db "$URL" --source bf-mass --log-format text --dry-run
    assert_eq "a dry run over the empty root is refused too (exit 1)" 1 "$AG_RC"
    # An empty tree is refused however few files the source recorded (the "more than half and
    # more than a few" rule alone would let 2 files go); in a database of its own.
    local F=$WORK/t12-few url=$URL
    new_db mass_few || return
    mkdir -p "$F/poucos/lessons"
    printf -- '---\ntitle: Um\n---\nx\n' >"$F/poucos/lessons/aula-1.1.md"
    printf -- '---\ntitle: Dois\n---\nx\n' >"$F/poucos/lessons/aula-1.2.md"
    agent backfill --root "$F" --db "$URL" --source bf-few --log-format text
    assert_eq "a source of two files: written" 0 "$AG_RC"
    rm -r "$F/poucos"
    agent backfill --root "$F" --db "$URL" --source bf-few --log-format text
    assert_eq "its tree empty: exit 1" 1 "$AG_RC"
    assert_match "refused as an empty tree" \
        'refusing to delete or archive 2 of the 2 files this source recorded \(the tree is empty\)' "$AG_ERR"
    assert_sql "its course kept live (outline, module, two lessons)" "$URL" \
        "SELECT status || ' ' || (SELECT count(*) FROM public.contents c WHERE c.project_id = p.id
           AND c.deleted_at IS NULL) FROM public.content_projects p WHERE slug = 'poucos'" "in_progress 4"
    URL=$url

    # A wrong --root: another tree where most of the recorded files are not.
    local W=$WORK/t12-wrong
    mkdir -p "$W"
    cp -a "$FIX/atendimento" "$W/"
    agent backfill --root "$W" --db "$URL" --source bf-mass --log-format text
    assert_eq "a tree missing most recorded files: exit 1" 1 "$AG_RC"
    assert_match "more than half of the recorded files would go" \
        'refusing to delete or archive 24 of the 26 files this source recorded \(more than half of them\)' "$AG_ERR"
    assert_eq "nothing was written" "$before" "$(versions "$URL")"

    # A few files gone is an ordinary deletion.
    rm "$T/agencia-ia/lessons/sem-modulo.md" "$T/agencia-ia/lessons/extra-modulo-2.md"
    agent backfill --root "$T" --db "$URL" --source bf-mass --log-format text
    assert_match "two files deleted: no refusal" '^24 files: 0 written, 24 unchanged, 2 deleted' \
        "$(ag_summary)"

    # The operator means it: --allow-mass-delete lets one run through.
    agent status --root "$E" --db "$URL" --source bf-mass --json
    assert_eq "status over the empty root still compares (to_delete, to_archive)" "1 24 6" \
        "$AG_RC $(jq -r '"\(.to_delete) \(.to_archive)"' <<<"$AG_OUT" 2>&1)"
    agent backfill --root "$E" --db "$URL" --source bf-mass --log-format text --allow-mass-delete
    assert_eq "--allow-mass-delete: exit 0" 0 "$AG_RC"
    assert_match "every course archived" '^0 files: .* 6 courses archived' "$(ag_summary)"
    assert_sql "no live project left for this source" "$URL" \
        "SELECT count(*) FROM public.content_projects WHERE status <> 'archived'" "0"
}

# ==== 13. secrets in every form: never printed, never in the process title ====================
backfill_secrets_blanked_every_form() {
    test_begin "secrets in every form of connection string"
    local T=$WORK/t13 port pw forms form i pid cmdline all="" title_bad="" parts=()
    mkdir -p "$T/c/lessons"
    printf -- '---\ntitle: x\n---\ny\n' >"$T/c/lessons/a.md"
    port=$(sed -nE 's/.*[?&]port=([0-9]+).*/\1/p' <<<"$CO_TEST_DB")
    # Each line: a connection string, then the secret(s) it holds as written and decoded.
    forms=(
        "postgresql://u:S3CRETpw%zz@127.0.0.1:$port/x|S3CRETpw%zz"
        "postgresql://u:Pw1S3cret@[::1/x|Pw1S3cret"
        "host=127.0.0.1 port=1 dbname=x password = Pw2S3cret|Pw2S3cret"
        "host=127.0.0.1 port=1 dbname=x password='a b Pw3S3cret'|a b Pw3S3cret"
        "postgresql://127.0.0.1:1/x?sslpassword=Ssl4S3cret&password=Pw4S3cret|Ssl4S3cret|Pw4S3cret"
        "postgresql://u@127.0.0.1:1/x?password=Pw5S3cret&sslmode=disable|Pw5S3cret"
        "postgresql://u:Pw6%40S3%3Acret@127.0.0.1:1/x|Pw6%40S3%3Acret|Pw6@S3:cret"
        "host=127.0.0.1 port=1 password=Pw7S3cret bogus=1|Pw7S3cret"
        "postgresql://u:Pw8S3cret@127.0.0.1:notaport/x|Pw8S3cret"
    )
    for i in "${!forms[@]}"; do
        IFS='|' read -r -a parts <<<"${forms[$i]}"
        form=${parts[0]}
        agent backfill --root "$T" --db "$form" --source bf-sec --connect-retry 1 --log-format text
        all+="$AG_OUT$AG_ERR"
        agent status --root "$T" --db "$form" --source bf-sec --connect-retry 0
        all+="$AG_OUT$AG_ERR"
        SUPABASE_DB_URL=$form agent backfill --root "$T" --source bf-sec --connect-retry 0 --log-format json
        all+="$AG_OUT$AG_ERR"
        # the process title of a running watch (it keeps retrying the database)
        start_logged "t13-$i" watch --root "$T" --db "$form" --source bf-sec
        wait_until 10 grep -qs 'database unreachable' "$AG_LOG"
        cmdline=$(tr '\0' ' ' <"/proc/$AG_PID/cmdline" 2>/dev/null)
        stop_agent "$AG_PID"
        check_sanitizer "$AG_ERRF"
        all+="$(cat "$AG_LOG" "$AG_ERRF")"
        [[ $cmdline == *"watch --root"* ]] || title_bad+=" (form $i: no title read)"
        for pw in "${parts[@]:1}"; do
            [[ $cmdline == *"$pw"* ]] && title_bad+=" form $i: $cmdline"
            if [[ $all == *"$pw"* ]]; then
                fail "form $i: \"$pw\" printed: $(grep -F -- "$pw" <<<"$all" | head -2)"
            else
                pass
            fi
        done
    done
    assert_eq "no secret in any process title" "" "$title_bad"
    # A message cut to length (the agent's errors hold 512 bytes) must not keep half a
    # password: a long user name puts it across the cut of libpq's echo of the URL.
    local long=""
    for i in 386 388 390 392; do
        agent status --root "$T" --connect-retry 0 \
            --db "postgresql://$(printf 'u%.0s' $(seq 1 "$i")):LongS3cretPassw0rd@[::1/x"
        long+="$AG_OUT$AG_ERR"
    done
    assert_contains "the cut messages were printed" "uuuu:***" "$long"
    assert_not_contains "no part of a password left by a cut" "LongS3" "$long"
    assert_contains "libpq's message is there, with the secret blanked" \
        'invalid percent-encoded token: "***"' "$all"
    assert_contains "and so is the echoed URL" 'postgresql://u:***@[::1/x' "$all"
    # PGPASSWORD and a password file: libpq reads them; nothing ever prints them.
    local pgpass=$WORK/t13.pgpass
    printf '127.0.0.1:1:*:u:PassFileS3cret\n' >"$pgpass"
    chmod 600 "$pgpass"
    all=""
    PGPASSWORD=EnvS3cretPw agent backfill --root "$T" --db "postgresql://u@127.0.0.1:1/x" \
        --source bf-sec --connect-retry 1 --log-format text --log-level debug
    all+="$AG_OUT$AG_ERR"
    PGPASSFILE=$pgpass agent status --root "$T" --db "postgresql://u@127.0.0.1:1/x" --connect-retry 0
    all+="$AG_OUT$AG_ERR"
    PGPASSWORD=EnvS3cretPw PGHOST=127.0.0.1 PGPORT=1 agent status --root "$T" --connect-retry 0
    all+="$AG_OUT$AG_ERR"
    assert_eq "the runs failed to connect, as they should (exit 2)" 2 "$AG_RC"
    assert_not_contains "PGPASSWORD never printed" "EnvS3cretPw" "$all"
    assert_not_contains "the password file's password never printed" "PassFileS3cret" "$all"
}

# ==== 14. a schema problem is not an outage ======================================================
low_cleanup() { # low_cleanup URL ROLE
    q "$1" "DROP OWNED BY $2" >/dev/null 2>&1
    q "$CO_TEST_DB" "DROP ROLE IF EXISTS $2" >/dev/null 2>&1
}

# ==== 15. one course name in two trees: the first to write it keeps it ===========================
backfill_course_in_two_trees_first_source_owns() {
    test_begin "one course name in two trees"
    new_db samecourse || return
    local A=$WORK/same-a B=$WORK/same-b before
    mkdir -p "$A" "$B"
    cp -a "$FIX/agencia-ia" "$A/"
    cp -a "$FIX/agencia-ia" "$B/"
    printf 'Changed in the second tree.\n' >>"$B/agencia-ia/lessons/sem-modulo.md"
    agent backfill --root "$A" --db "$URL" --source tree-a --log-format text
    assert_eq "the first tree writes the course" 0 "$AG_RC"
    before=$(versions "$URL")
    local n js
    n=$(q "$URL" "SELECT count(*) FROM creatoros_agent.file_state WHERE source = 'tree-a'")
    agent backfill --root "$B" --db "$URL" --source tree-b --log-format text --json
    js=$(grep '^{' <<<"$AG_OUT")
    assert_eq "the second tree: exit 1, nothing written, every file rejected" "1 0 $n" \
        "$AG_RC $(jq -r '"\(.written) \(.rejected)"' <<<"$js" 2>&1)"
    assert_eq "each naming the first tree's source" "$n" \
        "$(jq -r '.errors[]' <<<"$js" | grep -c ': ownership conflict: course agencia-ia belongs to source tree-a, which wrote it first; nothing of it is written$')"
    assert_eq "no row of the first tree's course touched" "$before" "$(versions "$URL")"
    agent status --root "$B" --db "$URL" --source tree-b --json
    assert_eq "status of the second tree: no project of its own, its files in error, nothing else to write" \
        "1 0 $n 0 $n" \
        "$AG_RC $(jq -r '"\(.projects) \(.files_in_error) \(.to_write) \(.rejected)"' <<<"$AG_OUT" 2>&1)"
}

# shellcheck disable=SC2016 # backquotes in the expected messages are literal
backfill_schema_problem_not_outage() {
    test_begin "schema problems: one line naming the object and what to run, at once"
    new_db schema || return
    local T=$WORK/schema start secs
    make_tree "$T"
    q "$URL" "ALTER TABLE public.contents DROP COLUMN file_path CASCADE" >/dev/null
    start=$SECONDS
    agent backfill --root "$T" --db "$URL" --source bf-schema --log-format text --connect-retry 10
    secs=$((SECONDS - start))
    assert_eq "a missing column: backfill exits 2" 2 "$AG_RC"
    check "at once, not after --connect-retry (took ${secs}s)" test "$secs" -lt 5
    assert_not_contains "not reported as an outage" "unreachable" "$AG_ERR"
    assert_eq "one error line, naming the column and what to run" 1 "$(grep -c ' error ' <<<"$AG_ERR")"
    assert_match "the line" 'error +database schema problem .*column \\?"file_path\\?" of relation \\?"contents\\?" does not exist.*run `creatoros-agent migrate`' \
        "$(grep ' error ' <<<"$AG_ERR")"
    agent status --root "$T" --db "$URL" --source bf-schema --connect-retry 10
    assert_eq "status: exit 2" 2 "$AG_RC"
    assert_match "status: one line naming the column and what to run" \
        '^creatoros-agent status: column "file_path" of relation "contents" does not exist .*run `creatoros-agent migrate`' \
        "$AG_ERR"

    # a privilege the connecting role lacks: found when the first course is written
    new_db schema_priv || return
    local role=bf_low_$$ low
    lib_on_exit "low_cleanup \"$URL\" $role"
    q "$CO_TEST_DB" "CREATE ROLE $role LOGIN" >/dev/null
    q "$URL" "GRANT USAGE ON SCHEMA public, creatoros_agent TO $role;
              GRANT SELECT ON ALL TABLES IN SCHEMA public, creatoros_agent TO $role" >/dev/null
    if [[ $URL == *\?* ]]; then low="$URL&user=$role"; else low="$URL?user=$role"; fi
    start=$SECONDS
    agent backfill --root "$T" --db "$low" --source bf-schema --log-format text --connect-retry 10
    secs=$((SECONDS - start))
    assert_eq "a privilege missing: backfill exits 2" 2 "$AG_RC"
    check "at once (took ${secs}s)" test "$secs" -lt 5
    assert_eq "one error line" 1 "$(grep -c ' error ' <<<"$AG_ERR")"
    assert_match "naming the table and what to do" \
        'error +backfill stopped .*permission denied for table [a-z_]+ .*42501.*run `creatoros-agent migrate` as an administrator' \
        "$(grep ' error ' <<<"$AG_ERR")"
    assert_sql "nothing written" "$URL" "SELECT count(*) FROM public.contents" 0
    low_cleanup "$URL" "$role"
}


# the contract's fixture once more, on a database shaped as production is
backfill_fixture_rows_on_production_schema() { backfill_fixture_rows_as_contract production; }

lib_run backfill_fixture_rows_as_contract backfill_fixture_rows_on_production_schema \
    backfill_rerun_writes_nothing backfill_changes_follow_tree backfill_bad_files_rejected_with_reason \
    backfill_server_killed_resumes backfill_dry_run_writes_nothing backfill_two_sources_keep_apart \
    backfill_password_never_printed backfill_status_compares_tree backfill_schema_problem_not_outage \
    backfill_course_in_two_trees_first_source_owns backfill_empty_or_wrong_root_deletes_nothing \
    backfill_secrets_blanked_every_form backfill_big_course_in_parts_bounded \
    backfill_file_above_one_part_refused backfill_course_in_parts_file_refused \
    backfill_unindexable_path_is_data_error
lib_finish
