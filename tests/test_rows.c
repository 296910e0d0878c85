/* test_rows.c -- the rows a record maps to: `parse`'s JSON, the parent slug, the audience's
 * name (persist/rows.h). The bytes `parse` prints are pinned by tests/fixtures/parse.golden. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/err.h"
#include "common/strbuf.h"
#include "parser/record.h"
#include "persist/rows.h"
#include "tests/testrec.h"

#define BRIEF "c/COURSE-BRIEF.md"

/* rows_to_json's output parsed back (cJSON_Delete). */
static cJSON *
rows_of(const struct record *rec, const char *creator)
{
    struct strbuf sb = STRBUF_INIT;
    cJSON *j;

    rows_to_json(rec, creator, &sb);
    assert_null(memchr(sb.buf, '\n', sb.len)); /* one line */
    j = cJSON_Parse(sb.buf);
    if (j == NULL) {
        print_error("not JSON: %s\n", sb.buf);
    }
    assert_non_null(j);
    strbuf_release(&sb);
    return j;
}

static void
test_json_brief(void **state)
{
    static const char *text = "---\n"
                              "title: \"Curso \\\"Ágil\\\"\"\n"
                              "subtitle: Sub\n"
                              "creator_mind: brief-mind\n"
                              "mmos_persona: {mind_slug: pers}\n"
                              "tags: [a, b]\n"
                              "target_audience: {description: Devs, technical_level: expert}\n"
                              "---\nBody\twith \"quotes\"\n";
    struct record rec;
    cJSON *j, *rows, *p, *o, *a, *md;

    (void)state;
    parse_ok("c d/COURSE-BRIEF.md", text, &rec);
    j = rows_of(&rec, NULL);
    assert_string_equal(jstr(j, "path"), "c d/COURSE-BRIEF.md");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "ok")));
    assert_string_equal(jstr(j, "kind"), "brief");
    assert_string_equal(jstr(j, "course"), "c d");
    rows = cJSON_GetObjectItem(j, "rows");
    assert_int_equal(cJSON_GetArraySize(rows), 2);
    p = cJSON_GetArrayItem(rows, 0);
    assert_string_equal(jstr(p, "table"), "content_projects");
    assert_string_equal(jstr(p, "slug"), "c d");
    assert_string_equal(jstr(p, "name"), "Curso \"Ágil\"");
    assert_string_equal(jstr(p, "description"), "Sub");
    assert_string_equal(jstr(p, "project_type"), "course");
    assert_string_equal(jstr(p, "status"), "in_progress");
    md = cJSON_GetObjectItem(p, "project_metadata");
    assert_true(cJSON_IsObject(md));
    assert_string_equal(jstr(md, "subtitle"), "Sub");
    assert_string_equal(jstr(p, "creator_mind"), "brief-mind");
    assert_string_equal(jstr(p, "persona_mind"), "pers");
    a = cJSON_GetObjectItem(p, "audience");
    assert_string_equal(jstr(a, "slug"), "c d");
    assert_string_equal(jstr(a, "name"), "Curso \"Ágil\" audience");
    assert_string_equal(jstr(a, "description"), "Devs");
    assert_string_equal(jstr(a, "technical_level"), "expert");
    assert_true(jnull(a, "demographics"));
    o = cJSON_GetArrayItem(rows, 1);
    assert_string_equal(jstr(o, "table"), "contents");
    assert_string_equal(jstr(o, "content_type"), "course_outline");
    assert_string_equal(jstr(o, "slug"), "c d");
    assert_string_equal(jstr(o, "title"), "Curso \"Ágil\"");
    assert_string_equal(jstr(o, "content"), "Body\twith \"quotes\"\n");
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(o, "metadata")));
    assert_true(jnull(o, "parent_slug"));
    assert_true(jnull(o, "sequence_order"));
    assert_string_equal(jstr(o, "file_path"), "c d/COURSE-BRIEF.md");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "tags")), 2);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "minds"), 0)->valuestring,
                        "brief-mind");
    cJSON_Delete(j);
    /* --creator-mind overrides the brief's */
    j = rows_of(&rec, "deploy-mind");
    rows = cJSON_GetObjectItem(j, "rows");
    assert_string_equal(jstr(cJSON_GetArrayItem(rows, 0), "creator_mind"), "deploy-mind");
    assert_string_equal(
        cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 1), "minds"), 0)
            ->valuestring,
        "deploy-mind");
    cJSON_Delete(j);
    record_release(&rec);
}

static void
test_json_brief_minimal(void **state)
{
    struct record rec;
    cJSON *j, *rows, *p, *o;

    (void)state;
    parse_ok(BRIEF, "no front-matter", &rec);
    j = rows_of(&rec, NULL);
    rows = cJSON_GetObjectItem(j, "rows");
    p = cJSON_GetArrayItem(rows, 0);
    o = cJSON_GetArrayItem(rows, 1);
    assert_string_equal(jstr(p, "name"), "c");
    assert_true(jnull(p, "description"));
    assert_true(jnull(p, "creator_mind"));
    assert_true(jnull(p, "persona_mind"));
    assert_true(jnull(p, "audience"));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(p, "project_metadata")), 0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "minds")), 0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "tags")), 0);
    cJSON_Delete(j);
    record_release(&rec);
}

static void
test_json_lesson(void **state)
{
    static const char *text = "---\n"
                              "lesson_id: \"2.7\"\n"
                              "title: Aula\n"
                              "module_name: Fundamentos\n"
                              "status: reviewed\n"
                              "fidelity_score: 0.875\n"
                              "tags: x, y\n"
                              "---\n# H\ncontent\n";
    struct record rec;
    cJSON *j, *l;

    (void)state;
    parse_ok("c/lessons/m/aula.md", text, &rec);
    j = rows_of(&rec, "mind-a");
    assert_string_equal(jstr(j, "kind"), "lesson");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "rows")), 1);
    l = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "rows"), 0);
    assert_string_equal(jstr(l, "table"), "contents");
    assert_string_equal(jstr(l, "content_type"), "course_lesson");
    assert_string_equal(jstr(l, "slug"), "c/lessons/m/aula");
    assert_string_equal(jstr(l, "title"), "Aula");
    assert_string_equal(jstr(l, "content"), "# H\ncontent\n");
    assert_string_equal(jstr(cJSON_GetObjectItem(l, "metadata"), "lesson_id"), "2.7");
    assert_string_equal(jstr(l, "parent_slug"), "c/module-2");
    assert_int_equal(cJSON_GetObjectItem(l, "sequence_order")->valueint, 7);
    assert_string_equal(jstr(l, "status"), "reviewed");
    assert_true(cJSON_GetObjectItem(l, "fidelity_score")->valuedouble == 0.875);
    assert_string_equal(jstr(l, "file_path"), "c/lessons/m/aula.md");
    assert_string_equal(jstr(l, "module_title"), "Fundamentos");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(l, "tags")), 2);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(l, "minds"), 0)->valuestring,
                        "mind-a");
    cJSON_Delete(j);
    record_release(&rec);
    /* No module number: the outline is the parent; nulls everywhere else. */
    parse_ok("c/lessons/intro.md", "hi", &rec);
    j = rows_of(&rec, NULL);
    l = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "rows"), 0);
    assert_string_equal(jstr(l, "parent_slug"), "c");
    assert_true(jnull(l, "sequence_order"));
    assert_true(jnull(l, "fidelity_score"));
    assert_true(jnull(l, "module_title"));
    assert_string_equal(jstr(l, "title"), "intro");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(l, "minds")), 0);
    cJSON_Delete(j);
    record_release(&rec);
}

/* The parent slug: "<course>/module-<N>", else the course (the outline); appended. */
static void
test_parent_slug(void **state)
{
    struct strbuf sb = STRBUF_INIT;
    struct strbuf course = STRBUF_INIT;
    struct strbuf want = STRBUF_INIT;
    struct record rec;

    (void)state;
    parse_ok("curso ação/lessons/modulo-12/aula.md", "x", &rec);
    strbuf_addstr(&sb, ">");
    rows_parent_slug(&rec, &sb);
    assert_string_equal(sb.buf, ">curso ação/module-12");
    record_release(&rec);
    strbuf_reset(&sb);
    parse_ok("c/lessons/intro.md", "x", &rec);
    rows_parent_slug(&rec, &sb);
    assert_string_equal(sb.buf, "c");
    record_release(&rec);
    /* module 0 is a module; a course name of any length is kept whole */
    for (int i = 0; i < 5000; i++) {
        strbuf_addch(&course, 'k');
    }
    strbuf_addstr(&course, "/lessons/mod_0/a.md");
    parse_ok(course.buf, "x", &rec);
    strbuf_reset(&sb);
    rows_parent_slug(&rec, &sb);
    strbuf_add(&want, course.buf, 5000);
    strbuf_addstr(&want, "/module-0");
    assert_string_equal(sb.buf, want.buf);
    record_release(&rec);
    strbuf_release(&sb);
    strbuf_release(&course);
    strbuf_release(&want);
}

/* The audience's own name wins; else "<project name> audience", rebuilt in the scratch. */
static void
test_audience_name(void **state)
{
    struct strbuf scratch = STRBUF_INIT;
    struct record rec;

    (void)state;
    parse_ok(BRIEF, "---\ntitle: Curso\naudience: {name: Devs}\n---\n", &rec);
    strbuf_addstr(&scratch, "left over");
    assert_string_equal(rows_audience_name(&rec, &scratch), "Devs");
    record_release(&rec);
    parse_ok(BRIEF, "---\ntitle: Curso\naudience: {level: expert}\n---\n", &rec);
    assert_string_equal(rows_audience_name(&rec, &scratch), "Curso audience");
    assert_string_equal(rows_audience_name(&rec, &scratch), "Curso audience");
    record_release(&rec);
    parse_ok(BRIEF, "---\naudience: {level: expert}\n---\n# Course Brief: Título\n", &rec);
    assert_string_equal(rows_audience_name(&rec, &scratch), "Título audience");
    record_release(&rec);
    strbuf_release(&scratch);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_brief),    cmocka_unit_test(test_json_brief_minimal),
        cmocka_unit_test(test_json_lesson),   cmocka_unit_test(test_parent_slug),
        cmocka_unit_test(test_audience_name),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
