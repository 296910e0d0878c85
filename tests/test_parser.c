/* test_parser.c -- the parser layer, bytes in and records out: every row rule and rejection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/err.h"
#include "common/strbuf.h"
#include "parser/frontmatter.h"
#include "parser/record.h"
#include "parser/utf8.h"
#include "parser/yaml_json.h"
#include "tests/testrec.h"
#include "tests/testutil.h"

#define LESSON "c/lessons/x.md"
#define BRIEF "c/COURSE-BRIEF.md"

/* ---- helpers ------------------------------------------------------------------------- */

/* Parse len bytes as rel with opts; the test fails unless it is rejected with needle. */
static void
expect_reject_n(const char *rel, const char *buf, size_t len, const struct parse_opts *opts,
                const char *needle)
{
    struct err err = {{0}};
    struct record rec;
    int rc = record_parse(rel, buf, len, opts, &rec, &err);

    if (rc == 0) {
        record_release(&rec);
        print_error("accepted, expected \"%s\"\n", needle);
        fail();
    }
    if (strstr(err.msg, needle) == NULL) {
        print_error("message \"%s\" lacks \"%s\"\n", err.msg, needle);
        fail();
    }
    /* The caller adds the path: messages never carry it. */
    assert_null(strstr(err.msg, rel));
    /* A rejected record holds nothing. */
    assert_null(rec.body);
    assert_null(rec.metadata);
    assert_int_equal(rec.nwarnings, 0);
}

static void
expect_reject(const char *rel, const char *text, const char *needle)
{
    expect_reject_n(rel, text, strlen(text), NULL, needle);
}

/* The record's metadata parsed back (cJSON_Delete). */
static cJSON *
meta(const struct record *rec)
{
    cJSON *j = cJSON_Parse(rec->metadata);

    assert_non_null(j);
    return j;
}

/* Title of a lesson parsed from text. */
static void
assert_lesson_title(const char *rel, const char *text, const char *title)
{
    struct record rec;

    parse_ok(rel, text, &rec);
    assert_string_equal(rec.title, title);
    record_release(&rec);
}

static void
assert_brief_name(const char *text, const char *name)
{
    struct record rec;

    parse_ok(BRIEF, text, &rec);
    assert_int_equal(rec.kind, RECORD_BRIEF);
    assert_string_equal(rec.title, name);
    record_release(&rec);
}

static void
assert_numbers(const char *rel, const char *text, long n, long l, long seq)
{
    struct record rec;

    parse_ok(rel, text, &rec);
    if (rec.module_no != n || rec.lesson_no != l || rec.sequence != seq) {
        print_error("%s: N=%ld L=%ld seq=%ld, expected %ld %ld %ld\n", rel, rec.module_no,
                    rec.lesson_no, rec.sequence, n, l, seq);
        fail();
    }
    record_release(&rec);
}

/* ---- the tree ------------------------------------------------------------------------ */

static void
test_tree_briefs(void **state)
{
    size_t cl = 0;

    (void)state;
    assert_int_equal(tree_classify("agencia-ia/COURSE-BRIEF.md", &cl), FILE_BRIEF_CANDIDATE);
    assert_int_equal(cl, strlen("agencia-ia"));
    assert_int_equal(tree_classify("c/COURSE-BRIEF-v2.md", &cl), FILE_BRIEF_CANDIDATE);
    assert_int_equal(cl, 1);
    assert_int_equal(tree_classify("Curso Didático/COURSE-BRIEF.md", &cl), FILE_BRIEF_CANDIDATE);
    assert_int_equal(cl, strlen("Curso Didático"));
    assert_int_equal(tree_classify("c/course-brief.md", &cl), FILE_IGNORED);
    assert_int_equal(tree_classify("c/COURSE-BRIEF.txt", &cl), FILE_IGNORED);
    assert_int_equal(tree_classify("c/README.md", &cl), FILE_IGNORED); /* not a brief */
    assert_int_equal(tree_classify("c/notes.md", &cl), FILE_IGNORED);
    assert_int_equal(tree_classify("COURSE-BRIEF.md", &cl), FILE_IGNORED); /* in the root */
    assert_int_equal(tree_classify("c/sub/COURSE-BRIEF.md", &cl), FILE_IGNORED);
    assert_int_equal(tree_classify("c/COURSE-BRIEF.md~", &cl), FILE_IGNORED);
    assert_int_equal(tree_classify("c/.COURSE-BRIEF.md.swp", &cl), FILE_IGNORED);
    assert_int_equal(tree_classify(".c/COURSE-BRIEF.md", &cl), FILE_IGNORED);
}

static void
test_tree_lessons(void **state)
{
    size_t cl = 0;

    (void)state;
    assert_int_equal(tree_classify("c/lessons/x.md", &cl), FILE_LESSON);
    assert_int_equal(cl, 1);
    assert_int_equal(tree_classify("agencia-ia/lessons/modulo-1/aula-1.1-por-que.md", &cl),
                     FILE_LESSON);
    assert_int_equal(cl, strlen("agencia-ia"));
    assert_int_equal(tree_classify("c/lessons/a/b/c/d/e/f.md", &cl), FILE_LESSON);
    assert_int_equal(tree_classify("my course/lessons/Módulo 1/aula 1 \"x\".md", &cl), FILE_LESSON);
    assert_int_equal(cl, strlen("my course"));
    assert_int_equal(tree_classify("c/lessons/x.txt", &cl), FILE_IGNORED);
    assert_int_equal(tree_classify("c/lessons/x.MD", &cl), FILE_IGNORED);
    assert_int_equal(tree_classify("c/other/x.md", &cl), FILE_IGNORED);
    assert_int_equal(tree_classify("c/other/lessons/x.md", &cl), FILE_IGNORED);
    assert_int_equal(tree_classify("c/lessons", &cl), FILE_IGNORED);
    assert_int_equal(tree_classify("c/lessons/", &cl), FILE_IGNORED);
    assert_int_equal(tree_classify("c//lessons/x.md", &cl), FILE_IGNORED);
    /* hidden files and directories, editor leftovers */
    assert_int_equal(tree_classify("c/lessons/.x.md", &cl), FILE_IGNORED);
    assert_int_equal(tree_classify("c/lessons/.drafts/x.md", &cl), FILE_IGNORED);
    assert_int_equal(tree_classify(".c/lessons/x.md", &cl), FILE_IGNORED);
    assert_int_equal(tree_classify("c/.lessons/x.md", &cl), FILE_IGNORED);
    assert_int_equal(tree_classify("c/lessons/x.md~", &cl), FILE_IGNORED);
    assert_int_equal(tree_classify("c/lessons/.x.md.swp", &cl), FILE_IGNORED);
    assert_int_equal(tree_classify("c/lessons/x.md.swp", &cl), FILE_IGNORED);
    assert_int_equal(tree_classify("c/lessons/x.md.tmp", &cl), FILE_IGNORED);
    assert_int_equal(tree_classify("c/lessons/#x.md#", &cl), FILE_IGNORED);
    assert_int_equal(tree_classify("c/lessons/../x.md", &cl), FILE_IGNORED);
    /* the root itself, a course directory, a file in the root */
    assert_int_equal(tree_classify("", &cl), FILE_IGNORED);
    assert_int_equal(tree_classify(".", &cl), FILE_IGNORED);
    assert_int_equal(tree_classify("c", &cl), FILE_IGNORED);
    assert_int_equal(tree_classify("x.md", &cl), FILE_IGNORED);
}

static void
test_tree_brief_rank(void **state)
{
    (void)state;
    assert_int_equal(tree_brief_rank("COURSE-BRIEF.md"), 0);
    assert_int_equal(tree_brief_rank("COURSE-BRIEF-v2.md"), 1);
    assert_int_equal(tree_brief_rank("COURSE-BRIEF-a.md"), 1);
}

/* ---- front-matter -------------------------------------------------------------------- */

static void
test_no_front_matter(void **state)
{
    static const char *text = "# Hello\n\nbody\n";
    struct record rec;

    (void)state;
    parse_ok(LESSON, text, &rec);
    assert_string_equal(rec.metadata, "{}");
    assert_string_equal(rec.body, text);
    assert_int_equal(rec.body_len, strlen(text));
    assert_string_equal(rec.title, "Hello");
    record_release(&rec);
}

static void
test_crlf(void **state)
{
    static const char *text = "---\r\ntitle: CRLF lesson\r\nstatus: published\r\n---\r\n"
                              "line 1\r\nline 2\r\n";
    struct record rec;

    (void)state;
    parse_ok(LESSON, text, &rec);
    assert_string_equal(rec.title, "CRLF lesson");
    assert_string_equal(rec.status, "published");
    assert_string_equal(rec.body, "line 1\r\nline 2\r\n");
    record_release(&rec);
}

static void
test_bom(void **state)
{
    static const char *with_fm = "\xEF\xBB\xBF---\ntitle: T\n---\nBody";
    static const char *without = "\xEF\xBB\xBF# Heading\nBody";
    struct record rec;

    (void)state;
    parse_ok(LESSON, with_fm, &rec);
    assert_string_equal(rec.title, "T");
    assert_string_equal(rec.body, "Body");
    record_release(&rec);
    parse_ok(LESSON, without, &rec);
    assert_string_equal(rec.body, "# Heading\nBody");
    assert_string_equal(rec.title, "Heading");
    record_release(&rec);
}

static void
test_dots_closer_and_trailing_spaces(void **state)
{
    static const char *dots = "---\ntitle: Dots\n...\nafter";
    static const char *spaces = "--- \t\ntitle: Spaces\n---  \t\r\nafter";
    static const char *at_eof = "---\ntitle: Eof\n---";
    static const char *empty = "---\n---\nbody";
    struct record rec;

    (void)state;
    parse_ok(LESSON, dots, &rec);
    assert_string_equal(rec.title, "Dots");
    assert_string_equal(rec.body, "after");
    record_release(&rec);
    parse_ok(LESSON, spaces, &rec);
    assert_string_equal(rec.title, "Spaces");
    assert_string_equal(rec.body, "after");
    record_release(&rec);
    parse_ok(LESSON, at_eof, &rec);
    assert_string_equal(rec.title, "Eof");
    assert_string_equal(rec.body, "");
    record_release(&rec);
    parse_ok(LESSON, empty, &rec);
    assert_string_equal(rec.metadata, "{}");
    assert_string_equal(rec.body, "body");
    record_release(&rec);
}

static void
test_not_an_opener(void **state)
{
    static const char *four = "----\ntitle: x\n---\n";
    static const char *later = "\n---\ntitle: x\n---\n";
    static const char *bare = "---";
    struct record rec;

    (void)state;
    parse_ok(LESSON, four, &rec);
    assert_string_equal(rec.metadata, "{}");
    assert_string_equal(rec.body, four);
    record_release(&rec);
    parse_ok(LESSON, later, &rec);
    assert_string_equal(rec.metadata, "{}");
    record_release(&rec);
    parse_ok(LESSON, bare, &rec);
    assert_string_equal(rec.body, "---");
    record_release(&rec);
}

static void
test_unterminated(void **state)
{
    (void)state;
    expect_reject(LESSON, "---\ntitle: x\nbody without a closer\n",
                  "unterminated front-matter (no closing --- line)");
    expect_reject(LESSON, "---\n", "unterminated front-matter");
    expect_reject(LESSON, "---\ntitle: x\n----\n", "unterminated front-matter");
}

static void
test_fm_split_direct(void **state)
{
    static const char *text = "---\na: 1\n---\nrest";
    struct fm_split sp;
    struct err err;

    (void)state;
    assert_int_equal(fm_split(text, strlen(text), &sp, &err), 0);
    assert_true(sp.has_fm);
    assert_int_equal(sp.yaml_len, 5);
    assert_memory_equal(sp.yaml, "a: 1\n", 5);
    assert_int_equal(sp.yaml_line, 2);
    assert_int_equal(sp.body_len, 4);
}

/* ---- YAML ---------------------------------------------------------------------------- */

static void
test_core_schema_scalars(void **state)
{
    static const char *text = "---\n"
                              "yes_: yes\n"
                              "date: 2025-10-22\n"
                              "pct: 85-90%\n"
                              "hex: 0x1F\n"
                              "oct: 0o17\n"
                              "dec: 010\n"
                              "inf: .inf\n"
                              "nan: .nan\n"
                              "quoted: \"123\"\n"
                              "single: '4.5'\n"
                              "under: 1_000\n"
                              "n1: null\n"
                              "n2: ~\n"
                              "n3:\n"
                              "n4: NULL\n"
                              "b1: True\n"
                              "b2: FALSE\n"
                              "f1: 1.5e3\n"
                              "f2: 0.125\n"
                              "neg: -7\n"
                              "plus: +3\n"
                              "on: on\n"
                              "big: 1e999\n"
                              "tagged: !!str 42\n"
                              "block: |\n  12\n"
                              "---\n";
    struct record rec;
    cJSON *m;

    (void)state;
    parse_ok(LESSON, text, &rec);
    m = meta(&rec);
    assert_string_equal(jstr(m, "yes_"), "yes");
    assert_string_equal(jstr(m, "date"), "2025-10-22");
    assert_string_equal(jstr(m, "pct"), "85-90%");
    assert_int_equal(cJSON_GetObjectItem(m, "hex")->valuedouble, 31);
    assert_int_equal(cJSON_GetObjectItem(m, "oct")->valuedouble, 15);
    assert_int_equal(cJSON_GetObjectItem(m, "dec")->valuedouble, 10);
    assert_string_equal(jstr(m, "inf"), ".inf");
    assert_string_equal(jstr(m, "nan"), ".nan");
    assert_string_equal(jstr(m, "quoted"), "123");
    assert_string_equal(jstr(m, "single"), "4.5");
    assert_string_equal(jstr(m, "under"), "1_000");
    assert_true(jnull(m, "n1"));
    assert_true(jnull(m, "n2"));
    assert_true(jnull(m, "n3"));
    assert_true(jnull(m, "n4"));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(m, "b1")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(m, "b2")));
    assert_true(cJSON_GetObjectItem(m, "f1")->valuedouble == 1500.0);
    assert_true(cJSON_GetObjectItem(m, "f2")->valuedouble == 0.125);
    assert_int_equal(cJSON_GetObjectItem(m, "neg")->valuedouble, -7);
    assert_int_equal(cJSON_GetObjectItem(m, "plus")->valuedouble, 3);
    assert_string_equal(jstr(m, "on"), "on");
    assert_string_equal(jstr(m, "big"), "1e999"); /* not representable: stays text */
    assert_string_equal(jstr(m, "tagged"), "42");
    assert_string_equal(jstr(m, "block"), "12\n");
    /* floats print as written */
    assert_non_null(strstr(rec.metadata, "\"f2\":0.125"));
    cJSON_Delete(m);
    record_release(&rec);
}

static void
test_nested_structures(void **state)
{
    static const char *text = "---\n"
                              "objectives:\n"
                              "  - Compreender\n"
                              "  - {a: 1, b: [x, y]}\n"
                              "pricing:\n"
                              "  currency: BRL\n"
                              "  amount: 497\n"
                              "---\n";
    struct record rec;
    cJSON *m;

    (void)state;
    parse_ok(LESSON, text, &rec);
    assert_string_equal(rec.metadata, "{\"objectives\":[\"Compreender\",{\"a\":1,\"b\":[\"x\","
                                      "\"y\"]}],\"pricing\":{\"currency\":\"BRL\",\"amount\":"
                                      "497}}");
    m = meta(&rec);
    cJSON_Delete(m);
    record_release(&rec);
}

static void
test_aliases(void **state)
{
    static const char *text = "---\n"
                              "base: &b {x: 1, y: [1, 2]}\n"
                              "copy: *b\n"
                              "name: &n Ana\n"
                              "again: *n\n"
                              "---\n";
    struct record rec;
    cJSON *m;

    (void)state;
    parse_ok(LESSON, text, &rec);
    m = meta(&rec);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "copy"), "x")->valueint, 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "copy"), "y")),
                     2);
    assert_string_equal(jstr(m, "again"), "Ana");
    cJSON_Delete(m);
    record_release(&rec);
    expect_reject(LESSON, "---\na: *nope\n---\n", "undefined alias");
}

static void
test_billion_laughs(void **state)
{
    static const char *text = "---\n"
                              "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
                              "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                              "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                              "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                              "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                              "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                              "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
                              "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
                              "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n"
                              "---\n";
    long long t0 = tu_now_ms();

    (void)state;
    expect_reject(LESSON, text, "too many alias nodes (limit 10000)");
    assert_true(tu_now_ms() - t0 < 1000);
}

static void
test_alias_cap_boundary(void **state)
{
    /* 9 aliases of a 1,000-node list is fine; the 11th is not. */
    struct strbuf sb = STRBUF_INIT;
    struct record rec;
    struct err err;

    (void)state;
    strbuf_addstr(&sb, "---\nbase: &a [");
    for (int i = 0; i < 999; i++) {
        strbuf_addstr(&sb, i ? ",1" : "1");
    }
    strbuf_addstr(&sb, "]\n");
    for (int i = 0; i < 10; i++) {
        strbuf_addf(&sb, "k%d: *a\n", i);
    }
    strbuf_addstr(&sb, "---\n");
    assert_int_equal(record_parse(LESSON, sb.buf, sb.len, NULL, &rec, &err), 0);
    record_release(&rec);
    strbuf_setlen(&sb, sb.len - 4);
    strbuf_addstr(&sb, "k10: *a\n---\n");
    expect_reject_n(LESSON, sb.buf, sb.len, NULL, "too many alias nodes");
    strbuf_release(&sb);
}

static void
test_duplicate_keys(void **state)
{
    static const char *text = "---\ntitle: First\nstatus: draft\ntitle: Second\n---\n";
    struct record rec;

    (void)state;
    parse_ok(LESSON, text, &rec);
    assert_string_equal(rec.title, "Second");
    assert_string_equal(rec.metadata, "{\"title\":\"Second\",\"status\":\"draft\"}");
    assert_int_equal(rec.nwarnings, 1);
    assert_non_null(strstr(rec.warnings[0], "duplicate key \"title\""));
    assert_non_null(strstr(rec.warnings[0], "line 4"));
    record_release(&rec);
}

static void
test_many_duplicate_keys(void **state)
{
    /* Thousands of keys (and duplicates) stay linear, and the warnings are capped. */
    struct strbuf sb = STRBUF_INIT;
    struct record rec;
    struct err err;

    (void)state;
    strbuf_addstr(&sb, "---\n");
    for (int i = 0; i < 5000; i++) {
        strbuf_addf(&sb, "k%d: 1\n", i % 2500);
    }
    strbuf_addstr(&sb, "---\n");
    assert_int_equal(record_parse(LESSON, sb.buf, sb.len, NULL, &rec, &err), 0);
    assert_true(rec.nwarnings <= 17);
    assert_non_null(strstr(rec.warnings[rec.nwarnings - 1], "more duplicate keys"));
    record_release(&rec);
    strbuf_release(&sb);
}

static void
test_not_a_mapping(void **state)
{
    (void)state;
    expect_reject(LESSON, "---\n- a\n- b\n---\n", "front-matter is not a mapping");
    expect_reject(LESSON, "---\njust a scalar\n---\n", "front-matter is not a mapping");
    expect_reject(LESSON, "---\n~\n---\n", "front-matter is not a mapping");
    expect_reject(LESSON, "---\na: 1\n--- b\n---\n", "front-matter is not a mapping");
    expect_reject(LESSON, "---\n[1, 2]\n---\n", "front-matter is not a mapping");
}

static void
test_yaml_error_position(void **state)
{
    static const char *text = "---\ntitle: ok\nlist: [a, b\nnext: 1\n---\n";
    static const char *indent = "---\na: 1\n  b: 2\n---\n";
    struct record rec;
    struct err err;

    (void)state;
    assert_int_equal(record_parse(LESSON, text, strlen(text), NULL, &rec, &err), -1);
    assert_non_null(strstr(err.msg, "YAML error at line "));
    assert_non_null(strstr(err.msg, ", column "));
    /* File lines: "a: 1" is line 2, the stray "  b: 2" line 3, column 4 (its ':'). */
    expect_reject(LESSON, indent, "YAML error at line 3, column 4: ");
    expect_reject(LESSON, "---\na: \"\\0\"\n---\n", "NUL character");
    expect_reject(LESSON, "---\n[a, b]: 1\n---\n", "a mapping key is not a scalar");
    expect_reject(LESSON, "---\n? [a, b]\n: 1\n---\n", "a mapping key is not a scalar");
    expect_reject(LESSON, "---\na: \x01\n---\n", "YAML error at line 2");
}

static void
test_front_matter_size_limit(void **state)
{
    struct strbuf sb = STRBUF_INIT;
    struct record rec;
    struct err err;

    (void)state;
    strbuf_addstr(&sb, "---\n");
    while (sb.len < PARSE_MAX_FRONT_MATTER_BYTES - 32) {
        strbuf_addf(&sb, "k%zu: v\n", sb.len);
    }
    strbuf_addstr(&sb, "---\nbody");
    assert_int_equal(record_parse(LESSON, sb.buf, sb.len, NULL, &rec, &err), 0);
    record_release(&rec);
    strbuf_reset(&sb);
    strbuf_addstr(&sb, "---\n");
    while (sb.len < PARSE_MAX_FRONT_MATTER_BYTES + 64) {
        strbuf_addf(&sb, "k%zu: v\n", sb.len);
    }
    strbuf_addstr(&sb, "---\nbody");
    expect_reject_n(LESSON, sb.buf, sb.len, NULL, "front-matter above 64 KiB");
    strbuf_release(&sb);
}

/* "a: " then depth-1 nested flow sequences: depth levels counting the root mapping. */
static void
nested_flow(struct strbuf *sb, int depth)
{
    strbuf_addstr(sb, "---\na: ");
    for (int i = 1; i < depth; i++) {
        strbuf_addch(sb, '[');
    }
    for (int i = 1; i < depth; i++) {
        strbuf_addch(sb, ']');
    }
    strbuf_addstr(sb, "\n---\n");
}

static void
test_depth_limit_flow(void **state)
{
    struct strbuf sb = STRBUF_INIT;
    struct record rec;
    struct err err;
    long long t0;

    (void)state;
    nested_flow(&sb, 64);
    assert_int_equal(record_parse(LESSON, sb.buf, sb.len, NULL, &rec, &err), 0);
    record_release(&rec);
    strbuf_reset(&sb);
    nested_flow(&sb, 65);
    expect_reject_n(LESSON, sb.buf, sb.len, NULL, "front-matter nested deeper than 64 levels");
    /* 60,000 '[' (under 64 KiB) and 100,000 (above it): both refused at once. */
    strbuf_reset(&sb);
    strbuf_addstr(&sb, "---\n");
    for (int i = 0; i < 60000; i++) {
        strbuf_addch(&sb, '[');
    }
    strbuf_addstr(&sb, "\n---\n");
    t0 = tu_now_ms();
    expect_reject_n(LESSON, sb.buf, sb.len, NULL, "nested deeper than 64 levels");
    strbuf_reset(&sb);
    strbuf_addstr(&sb, "---\n");
    for (int i = 0; i < 100000; i++) {
        strbuf_addch(&sb, '[');
    }
    strbuf_addstr(&sb, "\n---\n");
    expect_reject_n(LESSON, sb.buf, sb.len, NULL, "front-matter above 64 KiB");
    assert_true(tu_now_ms() - t0 < 1000);
    strbuf_release(&sb);
}

static void
test_depth_limit_block(void **state)
{
    struct strbuf sb = STRBUF_INIT;
    struct record rec;
    struct err err;

    (void)state;
    /* 64 nested block mappings (the root, 62 more, the leaf's): accepted. */
    strbuf_addstr(&sb, "---\n");
    for (int i = 0; i < 63; i++) {
        strbuf_addf(&sb, "%*sk%d:\n", i, "", i);
    }
    strbuf_addf(&sb, "%*sleaf: 1\n---\n", 63, "");
    assert_int_equal(record_parse(LESSON, sb.buf, sb.len, NULL, &rec, &err), 0);
    record_release(&rec);
    /* 70: refused. */
    strbuf_reset(&sb);
    strbuf_addstr(&sb, "---\n");
    for (int i = 0; i < 70; i++) {
        strbuf_addf(&sb, "%*sk%d:\n", i, "", i);
    }
    strbuf_addf(&sb, "%*sleaf: 1\n---\n", 70, "");
    expect_reject_n(LESSON, sb.buf, sb.len, NULL, "nested deeper than 64 levels");
    /* Compact nested sequences "- - - - x". */
    strbuf_reset(&sb);
    strbuf_addstr(&sb, "---\na:\n");
    for (int i = 0; i < 20000; i++) {
        strbuf_addstr(&sb, "- ");
    }
    strbuf_addstr(&sb, "x\n---\n");
    expect_reject_n(LESSON, sb.buf, sb.len, NULL, "nested deeper than 64 levels");
    /* An alias that would push a deep anchor past the limit. */
    strbuf_reset(&sb);
    strbuf_addstr(&sb, "---\na: &d ");
    for (int i = 0; i < 60; i++) {
        strbuf_addch(&sb, '[');
    }
    for (int i = 0; i < 60; i++) {
        strbuf_addch(&sb, ']');
    }
    strbuf_addstr(&sb, "\nb: [[[[[[*d]]]]]]\n---\n");
    expect_reject_n(LESSON, sb.buf, sb.len, NULL, "nested deeper than 64 levels");
    strbuf_release(&sb);
}

static void
test_depth_scan_direct(void **state)
{
    /* The byte scan itself (before libyaml) catches flow and compact nesting; indented
     * block nesting is cheap for libyaml and left to the exact check (a column count is no
     * sure lower bound of libyaml's nesting), which rejects it all the same. */
    struct strbuf sb = STRBUF_INIT;
    struct err err;
    struct record rec;

    (void)state;
    for (int i = 0; i < 70; i++) {
        strbuf_addf(&sb, "%*sk%d:\n", i, "", i);
    }
    assert_int_equal(fm_check_limits(sb.buf, sb.len, &err), 0);
    strbuf_reset(&sb);
    strbuf_addstr(&sb, "---\n");
    for (int i = 0; i < 70; i++) {
        strbuf_addf(&sb, "%*sk%d:\n", i, "", i);
    }
    strbuf_addstr(&sb, "---\n");
    assert_int_equal(record_parse("c/lessons/d.md", sb.buf, sb.len, NULL, &rec, &err), -1);
    assert_non_null(strstr(err.msg, "nested deeper than 64 levels"));
    strbuf_reset(&sb);
    strbuf_addstr(&sb, "a:\n");
    for (int i = 0; i < 70; i++) {
        strbuf_addstr(&sb, "- ");
    }
    assert_int_equal(fm_check_limits(sb.buf, sb.len, &err), -1);
    strbuf_reset(&sb);
    strbuf_addstr(&sb, "a: {b: ");
    for (int i = 0; i < 70; i++) {
        strbuf_addstr(&sb, "[\n ");
    }
    assert_int_equal(fm_check_limits(sb.buf, sb.len, &err), -1);
    strbuf_reset(&sb);
    for (int i = 0; i < 63; i++) {
        strbuf_addf(&sb, "%*sk%d:\n", i, "", i);
    }
    assert_int_equal(fm_check_limits(sb.buf, sb.len, &err), 0);
    strbuf_release(&sb);
}

static void
test_depth_scan_not_fooled(void **state)
{
    /* Brackets in text, quotes and block scalars are not structure. */
    static const char *text = "---\n"
                              "a: \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
                              "[[[[[[[[[[[[\"\n"
                              "b: x[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
                              "[[[[[[[[[[\n"
                              "c: |\n"
                              "  {{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{"
                              "{{{{{{{{{{\n"
                              "d: 'it''s [' # [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
                              "[[[[[[[[[[[[[[[[[[[\n"
                              "---\n";
    struct record rec;

    (void)state;
    parse_ok(LESSON, text, &rec);
    record_release(&rec);
}

static void
test_file_size_limit(void **state)
{
    size_t big = (size_t)100 << 20;
    static const char *head = "---\ntitle: Big\n---\n";
    char *buf = malloc(big);
    struct parse_opts opts = {.max_file_bytes = (size_t)128 << 20};
    struct record rec;
    struct err err;
    long long t0;

    (void)state;
    assert_non_null(buf);
    memset(buf, 'a', big);
    for (size_t i = 100; i < big; i += 101) {
        buf[i] = '\n';
    }
    memcpy(buf, head, strlen(head));
    t0 = tu_now_ms();
    expect_reject_n(LESSON, buf, big, NULL,
                    "file is 104857600 bytes, above the limit of 8388608 "
                    "(--max-file-bytes)");
    assert_true(tu_now_ms() - t0 < 100);
    assert_int_equal(record_parse(LESSON, buf, big, &opts, &rec, &err), 0);
    assert_string_equal(rec.title, "Big");
    assert_int_equal(rec.body_len, big - strlen(head));
    record_release(&rec);
    free(buf);
}

static void
test_size_limit_boundary(void **state)
{
    static const char *text = "0123456789";
    struct parse_opts opts = {.max_file_bytes = 10};
    struct record rec;
    struct err err;

    (void)state;
    assert_int_equal(record_parse(LESSON, text, 10, &opts, &rec, &err), 0);
    record_release(&rec);
    opts.max_file_bytes = 9;
    expect_reject_n(LESSON, text, 10, &opts, "file is 10 bytes, above the limit of 9");
}

static void
test_nul_and_binary(void **state)
{
    static const char text[] = "---\ntitle: x\n---\nab\0cd";
    unsigned char bin[4096];
    unsigned x = 12345;

    (void)state;
    expect_reject_n(LESSON, text, sizeof(text) - 1, NULL, "NUL byte at offset 19");
    /* NUL is found before anything reaches libyaml. */
    expect_reject_n(LESSON, "---\na: \0\n---\n", 13, NULL, "NUL byte at offset 7");
    for (size_t i = 0; i < sizeof(bin); i++) {
        x = x * 1103515245 + 12345;
        bin[i] = (unsigned char)(x >> 16);
    }
    bin[0] = 0xFF;
    expect_reject_n(LESSON, (const char *)bin, sizeof(bin), NULL, "");
    for (size_t i = 0; i < sizeof(bin); i++) {
        if (bin[i] == 0) {
            bin[i] = 0xFE;
        }
    }
    expect_reject_n(LESSON, (const char *)bin, sizeof(bin), NULL, "invalid UTF-8 at byte 0");
}

static void
test_invalid_utf8(void **state)
{
    (void)state;
    expect_reject(LESSON, "abc\xE9 def",
                  "invalid UTF-8 at byte 3 (re-encode the file as UTF-8, or run with "
                  "--fallback-encoding WINDOWS-1252)");
    expect_reject(LESSON, "---\ntitle: caf\xC3\xA9 \xC0\x80\n---\n", "invalid UTF-8 at byte 17");
    expect_reject(LESSON, "x\xED\xA0\x80", "invalid UTF-8 at byte 1"); /* a surrogate */
    expect_reject(LESSON, "xy\xF4\x90\x80\x80", "invalid UTF-8 at byte 2");
    expect_reject(LESSON, "xyz\xE2\x82", "invalid UTF-8 at byte 3"); /* truncated */
    assert_int_equal(utf8_check("ação 📋", strlen("ação 📋")), UTF8_VALID);
}

static void
test_fallback_encoding(void **state)
{
    static const char *latin = "---\ntitle: Caf\xE9\n---\nA\xE7\xE3o \x93quoted\x94\n";
    struct parse_opts opts = {.fallback_encoding = "WINDOWS-1252"};
    struct record rec;
    struct err err;

    (void)state;
    assert_int_equal(record_parse(LESSON, latin, strlen(latin), &opts, &rec, &err), 0);
    assert_string_equal(rec.title, "Café");
    assert_string_equal(rec.body, "Ação “quoted”\n");
    assert_int_equal(rec.nwarnings, 1);
    assert_non_null(strstr(rec.warnings[0], "converted from WINDOWS-1252"));
    record_release(&rec);
    /* 0x81 is not a WINDOWS-1252 character: invalid in both. */
    expect_reject_n(LESSON, "ok \xE9 \x81", 6, &opts,
                    "invalid UTF-8 at byte 3, and not valid "
                    "WINDOWS-1252 either at byte 5");
    /* Valid UTF-8 is never converted. */
    assert_int_equal(record_parse(LESSON, "caf\xC3\xA9", 5, &opts, &rec, &err), 0);
    assert_string_equal(rec.body, "café");
    assert_int_equal(rec.nwarnings, 0);
    record_release(&rec);
    opts.fallback_encoding = "NO-SUCH-ENCODING-X";
    expect_reject_n(LESSON, "\xE9", 1, &opts, "cannot convert from NO-SUCH-ENCODING-X");
}

static void
test_file_name_not_utf8(void **state)
{
    (void)state;
    expect_reject("c/lessons/caf\xE9.md", "# x", "file name is not valid UTF-8");
    expect_reject("c/lessons/x.txt", "# x", "not a course brief or lesson path");
}

/* ---- brief rows ---------------------------------------------------------------------- */

static void
test_brief_name_fallbacks(void **state)
{
    (void)state;
    assert_brief_name("---\ntitle: T\nname: N\n---\n# H\n", "T");
    assert_brief_name("---\nname: N\n---\n# H\n", "N");
    assert_brief_name("---\ntitle: ''\nname: N\n---\n", "N");
    assert_brief_name("---\ntitle: [AUTO-FILLED]\nname: 12\n---\n# Heading\n", "Heading");
    assert_brief_name("---\ntitle: [AUTO-FILLED]\n---\n", "c");
    assert_brief_name("# 📋 Course Brief - Agente de Atendimento\n", "Agente de Atendimento");
    assert_brief_name("---\na: 1\n---\n# COURSE-BRIEF: Didática Lendária\n", "Didática Lendária");
    assert_brief_name("# course brief — Ênfase\n", "Ênfase");
    assert_brief_name("# Course Brief–X\n", "X");
    assert_brief_name("# Course Brief—X\n", "X");
    assert_brief_name("# ✨ Ética × Dados\n", "Ética × Dados");
    assert_brief_name("# × ÷ 3 Passos\n", "3 Passos");
    assert_brief_name("# Course Briefing Guide\n", "Course Briefing Guide");
    assert_brief_name("# 📋 Course Brief\n", "c");
    assert_brief_name("#NoSpace\n\n# Real  \n", "Real");
    assert_brief_name("```\n# In code\n```\n~~~\n# also\n```\n# still code\n~~~\n# Out\n", "Out");
    assert_brief_name("text\n", "c");
}

static void
test_brief_description_and_minds(void **state)
{
    static const char *full = "---\n"
                              "title: T\n"
                              "description: D\n"
                              "subtitle: S\n"
                              "creator_mind: alan-nicolas\n"
                              "creator_mind_name: Alan Nicolas\n"
                              "mmos_persona:\n"
                              "  mind_slug: persona-x\n"
                              "  mind_name: Persona X\n"
                              "  enabled: true\n"
                              "---\n";
    static const char *sub = "---\nsubtitle: S\ncreator_mind: m\nmmos_persona:\n"
                             "  mind_slug: p\n---\n";
    static const char *off = "---\ndescription: ''\nmmos_persona:\n  mind_slug: p\n"
                             "  enabled: false\ncreator_mind: [AUTO-FILLED]\n---\n";
    static const char *str_false = "---\nmmos_persona:\n  mind_slug: p\n  enabled: 'false'\n"
                                   "---\n";
    struct record rec;

    (void)state;
    parse_ok(BRIEF, full, &rec);
    assert_string_equal(rec.description, "D");
    assert_string_equal(rec.creator_mind.slug, "alan-nicolas");
    assert_string_equal(rec.creator_mind.display_name, "Alan Nicolas");
    assert_string_equal(rec.persona_mind.slug, "persona-x");
    assert_string_equal(rec.persona_mind.display_name, "Persona X");
    record_release(&rec);
    parse_ok(BRIEF, sub, &rec);
    assert_string_equal(rec.description, "S");
    assert_string_equal(rec.creator_mind.display_name, "m");
    assert_string_equal(rec.persona_mind.slug, "p");
    assert_string_equal(rec.persona_mind.display_name, "p");
    record_release(&rec);
    parse_ok(BRIEF, off, &rec);
    assert_null(rec.description);
    assert_null(rec.creator_mind.slug);
    assert_null(rec.persona_mind.slug);
    record_release(&rec);
    parse_ok(BRIEF, str_false, &rec);
    assert_string_equal(rec.persona_mind.slug, "p"); /* only boolean false disables */
    record_release(&rec);
}

static void
test_audience(void **state)
{
    static const char *target = "---\n"
                                "target_audience:\n"
                                "  name: Gestores\n"
                                "  description: Quem lidera\n"
                                "  demographics: {age: 30-45, country: BR}\n"
                                "  psychographics: [ambição]\n"
                                "  learning_preferences: ~\n"
                                "  technical_level: intermediate\n"
                                "audience: {name: other}\n"
                                "---\n";
    static const char *fallback = "---\ntarget_audience: everyone\naudience: 3\n"
                                  "icp:\n  level: beginner\n  technical_level: guru\n---\n";
    static const char *audience = "---\naudience:\n  level: iniciante\n---\n";
    static const char *none = "---\ntarget_audience: [a, b]\n---\n";
    struct record rec;

    (void)state;
    parse_ok(BRIEF, target, &rec);
    assert_true(rec.has_audience);
    assert_string_equal(rec.audience.name, "Gestores");
    assert_string_equal(rec.audience.description, "Quem lidera");
    assert_string_equal(rec.audience.demographics_json, "{\"age\":\"30-45\",\"country\":\"BR\"}");
    assert_string_equal(rec.audience.psychographics_json, "[\"ambição\"]");
    assert_null(rec.audience.learning_preferences_json);
    assert_string_equal(rec.audience.technical_level, "intermediate");
    record_release(&rec);
    parse_ok(BRIEF, fallback, &rec);
    assert_true(rec.has_audience);
    assert_null(rec.audience.name);
    assert_string_equal(rec.audience.technical_level, "beginner");
    record_release(&rec);
    parse_ok(BRIEF, audience, &rec);
    assert_true(rec.has_audience);
    assert_null(rec.audience.technical_level);
    record_release(&rec);
    parse_ok(BRIEF, none, &rec);
    assert_false(rec.has_audience);
    record_release(&rec);
}

/* ---- lesson rows --------------------------------------------------------------------- */

static void
test_lesson_title_fallbacks(void **state)
{
    (void)state;
    assert_lesson_title(LESSON, "---\ntitle: T\nlesson_title: L\n---\n# H\n", "T");
    assert_lesson_title(LESSON, "---\ntitle: [AUTO-FILLED]\nlesson_title: L\n---\n# H\n", "L");
    assert_lesson_title(LESSON, "---\ntitle: 3\n---\n# 📋 Heading kept as is  \n",
                        "📋 Heading kept as is");
    assert_lesson_title(LESSON, "```\n# code\n```\n#\n# \n", "x");
    assert_lesson_title("c/lessons/mod 1/Aula 1 – Ação.md", "no heading\n", "Aula 1 – Ação");
}

static void
test_lesson_slug(void **state)
{
    struct record rec;

    (void)state;
    parse_ok("agencia-ia/lessons/modulo-1/aula-1.1-por-que.md", "x", &rec);
    assert_int_equal(rec.kind, RECORD_LESSON);
    assert_string_equal(rec.course, "agencia-ia");
    assert_string_equal(rec.slug, "agencia-ia/lessons/modulo-1/aula-1.1-por-que");
    assert_string_equal(rec.rel_path, "agencia-ia/lessons/modulo-1/aula-1.1-por-que.md");
    record_release(&rec);
}

static void
test_module_numbers(void **state)
{
    (void)state;
    /* front-matter module: an integer, or the first digits of a string */
    assert_numbers(LESSON, "---\nmodule: 4\n---\n", 4, -1, -1);
    assert_numbers(LESSON, "---\nmodule: Módulo 3 - Construção\n---\n", 3, -1, -1);
    assert_numbers(LESSON, "---\nmodule: '07'\n---\n", 7, -1, -1);
    /* lesson_id N.L from its text, quoted or not */
    assert_numbers(LESSON, "---\nlesson_id: 3.10\n---\n", 3, 10, 10);
    assert_numbers(LESSON, "---\nlesson_id: \"3.10\"\n---\n", 3, 10, 10);
    assert_numbers(LESSON, "---\nlesson_id: 3.10.1\n---\n", -1, -1, -1);
    assert_numbers(LESSON, "---\nlesson_id: L3.10\n---\n", -1, -1, -1);
    /* file names */
    assert_numbers("c/lessons/1.1-intro.md", "", 1, 1, 1);
    assert_numbers("c/lessons/aula-2.3-x.md", "", 2, 3, 3);
    assert_numbers("c/lessons/2.3.md", "", 2, 3, 3);
    assert_numbers("c/lessons/2.3 x.md", "", 2, 3, 3);
    assert_numbers("c/lessons/2.3_x.md", "", 2, 3, 3);
    assert_numbers("c/lessons/aula2.3-x.md", "", -1, -1, -1);
    assert_numbers("c/lessons/2.3x.md", "", -1, -1, -1);
    assert_numbers("c/lessons/a-b-2.3.md", "", -1, -1, -1);
    /* directories below lessons/ */
    assert_numbers("c/lessons/modulo-01/intro.md", "", 1, -1, -1);
    assert_numbers("c/lessons/Module_2/intro.md", "", 2, -1, -1);
    assert_numbers("c/lessons/MOD3/x/intro.md", "", 3, -1, -1);
    assert_numbers("c/lessons/modulo-1/modulo-5/intro.md", "", 5, -1, -1);
    assert_numbers("c/lessons/modulo-x/intro.md", "", -1, -1, -1);
    assert_numbers("modulo-9/lessons/intro.md", "", -1, -1, -1); /* the course is no module */
    /* the order: module, lesson_id, file name, directory */
    assert_numbers("c/lessons/modulo-9/5.6-x.md", "---\nmodule: 1\nlesson_id: 2.3\n---\n", 1, 3, 3);
    assert_numbers("c/lessons/modulo-9/5.6-x.md", "---\nlesson_id: 2.3\n---\n", 2, 3, 3);
    assert_numbers("c/lessons/modulo-9/5.6-x.md", "---\nmodule: [x]\n---\n", 5, 6, 6);
    assert_numbers("c/lessons/modulo-9/x.md", "---\nmodule: Intro\n---\n", 9, -1, -1);
    /* not integers: floats and booleans fall through; a negative integer is unknown */
    assert_numbers("c/lessons/5.6-x.md", "---\nmodule: 3.0\n---\n", 5, 6, 6);
    assert_numbers("c/lessons/5.6-x.md", "---\nmodule: true\n---\n", 5, 6, 6);
    assert_numbers("c/lessons/5.6-x.md", "---\nmodule: -2\n---\n", -1, 6, 6);
    assert_numbers("c/lessons/5.6-x.md", "---\nmodule: 0x10\n---\n", 16, 6, 6);
}

static void
test_sequence_bounds(void **state)
{
    (void)state;
    assert_numbers(LESSON, "---\nlesson_id: 1.32767\n---\n", 1, 32767, 32767);
    assert_numbers(LESSON, "---\nlesson_id: 1.32768\n---\n", 1, 32768, -1);
    assert_numbers(LESSON, "---\nlesson_id: 1.0\n---\n", 1, 0, 0);
    /* huge digit runs are unknown, never wrapped */
    assert_numbers(LESSON, "---\nlesson_id: 99999999999999999999999.99999999999999999999999\n---\n",
                   -1, -1, -1);
    assert_numbers("c/lessons/99999999999999999999999.1-x.md", "", -1, 1, 1);
    assert_numbers("c/lessons/x.md", "---\nmodule: Módulo 99999999999999999999999\n---\n", -1, -1,
                   -1);
    assert_numbers(LESSON, "---\nmodule: 99999999999999999999999\n---\n", -1, -1, -1);
    /* the first matching rule decides even when its number is unusable: no fall-through */
    assert_numbers("c/lessons/modulo-4/5.6-x.md",
                   "---\nmodule: M 99999999999999999999999\nlesson_id: 2.3\n---\n", -1, 3, 3);
    assert_numbers("c/lessons/modulo-4/5.6-x.md",
                   "---\nlesson_id: 99999999999999999999999.3\n---\n", -1, 3, 3);
    assert_numbers("c/lessons/modulo-99999999999999999999999/x.md", "", -1, -1, -1);
}

static void
test_module_title(void **state)
{
    struct record rec;

    (void)state;
    parse_ok(LESSON, "---\nmodule_name: A\nmodule_title: B\nmodule: C 1\n---\n", &rec);
    assert_string_equal(rec.module_title, "A");
    record_release(&rec);
    parse_ok(LESSON, "---\nmodule_name: ''\nmodule_title: B\nmodule: C 1\n---\n", &rec);
    assert_string_equal(rec.module_title, "B");
    record_release(&rec);
    parse_ok(LESSON, "---\nmodule: Módulo 3 - Construção\n---\n", &rec);
    assert_string_equal(rec.module_title, "Módulo 3 - Construção");
    record_release(&rec);
    parse_ok(LESSON, "---\nmodule: 3\n---\n", &rec);
    assert_null(rec.module_title);
    record_release(&rec);
}

static void
test_status(void **state)
{
    static const struct {
        const char *text;
        const char *status;
    } cases[] = {
        {"---\nstatus: draft\n---\n", "draft"},
        {"---\nstatus: reviewed\n---\n", "reviewed"},
        {"---\nstatus: published\n---\n", "published"},
        {"---\nstatus: archived\n---\n", "archived"},
        {"---\nstatus: review\n---\n", "draft"},
        {"---\nstatus: Published\n---\n", "draft"},
        {"---\nstatus: [published]\n---\n", "draft"},
        {"---\nstatus: 1\n---\n", "draft"},
        {"no front-matter", "draft"},
    };
    struct record rec;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        parse_ok(LESSON, cases[i].text, &rec);
        assert_string_equal(rec.status, cases[i].status);
        record_release(&rec);
    }
}

static void
test_fidelity(void **state)
{
    static const struct {
        const char *value;
        const char *text; /* NULL: no fidelity */
    } cases[] = {
        {"0.125", "0.125"},
        {"1", "1"},
        {"0", "0"},
        {"1.0", "1"},
        {"0.87", "0.87"},
        {"0.1", "0.1"},
        {"0.00001", "0.00001"},
        {"1.5e-7", "0.00000015"},
        {"-0.0", "0"},
        {"1.01", NULL},
        {"-0.1", NULL},
        {"2", NULL},
        {"true", NULL},
        {"'0.5'", NULL},
        {"~", NULL},
        {"[0.5]", NULL},
        {".nan", NULL},
        {"0x1", "1"},
    };
    struct record rec;
    char text[128];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(text, sizeof(text), "---\nfidelity_score: %s\n---\n", cases[i].value);
        parse_ok(LESSON, text, &rec);
        if (cases[i].text == NULL) {
            assert_null(rec.fidelity);
        } else {
            assert_non_null(rec.fidelity);
            assert_string_equal(rec.fidelity, cases[i].text);
        }
        record_release(&rec);
    }
}

static void
test_tags(void **state)
{
    static const char *list = "---\ntags: [' Marketing Digital ', marketing-digital, 3, "
                              "\"Ação & Reação\", '', '  ', {a: 1}, IA, ia, 'IA ', '!!!']\n---\n";
    static const char *comma = "---\ntags: \"vendas, , Vendas,  B2B ,vendas,--x--\"\n---\n";
    static const char *other = "---\ntags: 5\n---\n";
    static const char *unicode = "---\ntags: [\"Ética Digital\", \"ética digital\", "
                                 "\"Ética Digital\", \"ÇÃO 🚀 Ü\"]\n---\n";
    struct record rec;

    (void)state;
    /* A tag is its name: trimmed, case-sensitive; only exact repeats and empty ones go. */
    parse_ok(LESSON, unicode, &rec);
    assert_int_equal(rec.ntags, 3);
    assert_string_equal(rec.tags[0].name, "Ética Digital");
    assert_string_equal(rec.tags[1].name, "ética digital");
    assert_string_equal(rec.tags[2].name, "ÇÃO 🚀 Ü");
    record_release(&rec);
    parse_ok(LESSON, list, &rec);
    assert_int_equal(rec.ntags, 6);
    assert_string_equal(rec.tags[0].name, "Marketing Digital");
    assert_string_equal(rec.tags[1].name, "marketing-digital");
    assert_string_equal(rec.tags[2].name, "Ação & Reação");
    assert_string_equal(rec.tags[3].name, "IA");
    assert_string_equal(rec.tags[4].name, "ia");
    assert_string_equal(rec.tags[5].name, "!!!");
    record_release(&rec);
    parse_ok(BRIEF, comma, &rec);
    assert_int_equal(rec.ntags, 4);
    assert_string_equal(rec.tags[0].name, "vendas");
    assert_string_equal(rec.tags[1].name, "Vendas");
    assert_string_equal(rec.tags[2].name, "B2B");
    assert_string_equal(rec.tags[3].name, "--x--");
    record_release(&rec);
    parse_ok(LESSON, other, &rec);
    assert_int_equal(rec.ntags, 0);
    record_release(&rec);
}

static void
test_placeholders(void **state)
{
    static const char *text = "---\n"
                              "course_slug: [AUTO-FILLED]\n"
                              "title: [AUTO-FILLED]\n"
                              "module: [AUTO-FILLED]\n"
                              "module_name: [AUTO-FILLED]\n"
                              "status: [AUTO-FILLED]\n"
                              "tags: [AUTO-FILLED]\n"
                              "fidelity_score: [AUTO-FILLED]\n"
                              "lesson_id: [AUTO-FILLED]\n"
                              "---\n# Heading\n";
    struct record rec;

    (void)state;
    parse_ok("c/lessons/1.2-x.md", text, &rec);
    assert_string_equal(rec.title, "Heading");
    assert_int_equal(rec.module_no, 1);
    assert_int_equal(rec.lesson_no, 2);
    assert_null(rec.module_title);
    assert_string_equal(rec.status, "draft");
    assert_null(rec.fidelity);
    assert_int_equal(rec.ntags, 1); /* the string "AUTO-FILLED" inside the list */
    record_release(&rec);
}

static void
test_generated_corpus_shape(void **state)
{
    /* The shape bench/gen_corpus.py writes for its lessons. */
    static const char *lesson = "---\n"
                                "lesson_id: \"1.10\"\n"
                                "title: \"Aula 1.10: Compreender a estratégia\"\n"
                                "module: 1\n"
                                "module_name: \"Fundamentos\"\n"
                                "duration_minutes: 25\n"
                                "learning_objectives:\n"
                                "  - \"Compreender o método\"\n"
                                "tags: [\"educação\", \"módulo-1\"]\n"
                                "fidelity_score: 0.912\n"
                                "status: review\n"
                                "---\n\n# Aula 1.10\n\ntexto\n";
    struct record rec;

    (void)state;
    parse_ok("curso/lessons/1.10-compreender.md", lesson, &rec);
    assert_string_equal(rec.title, "Aula 1.10: Compreender a estratégia");
    assert_int_equal(rec.module_no, 1);
    assert_int_equal(rec.lesson_no, 10);
    assert_string_equal(rec.status, "draft");
    assert_string_equal(rec.fidelity, "0.912");
    assert_string_equal(rec.tags[1].name, "módulo-1");
    record_release(&rec);
}

static void
test_yj_top_text(void **state)
{
    static const char *yaml = "lesson_id: 3.10\nq: '3.10'\nm: {a: 1}\nlesson_id: 4.20\n";
    struct yj_doc doc;
    struct err err;
    const struct yj_top *t;

    (void)state;
    assert_int_equal(yj_parse(yaml, strlen(yaml), 2, &doc, &err), 0);
    t = yj_doc_top(&doc, "lesson_id");
    assert_string_equal(t->text, "4.20");
    assert_int_equal(t->kind, YJ_FLOAT);
    t = yj_doc_top(&doc, "q");
    assert_int_equal(t->kind, YJ_STRING);
    t = yj_doc_top(&doc, "m");
    assert_null(t->text);
    assert_null(yj_doc_top(&doc, "absent"));
    yj_doc_release(&doc);
    yj_doc_release(&doc); /* idempotent on a released doc */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree_briefs),
        cmocka_unit_test(test_tree_lessons),
        cmocka_unit_test(test_tree_brief_rank),
        cmocka_unit_test(test_no_front_matter),
        cmocka_unit_test(test_crlf),
        cmocka_unit_test(test_bom),
        cmocka_unit_test(test_dots_closer_and_trailing_spaces),
        cmocka_unit_test(test_not_an_opener),
        cmocka_unit_test(test_unterminated),
        cmocka_unit_test(test_fm_split_direct),
        cmocka_unit_test(test_core_schema_scalars),
        cmocka_unit_test(test_nested_structures),
        cmocka_unit_test(test_aliases),
        cmocka_unit_test(test_billion_laughs),
        cmocka_unit_test(test_alias_cap_boundary),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_many_duplicate_keys),
        cmocka_unit_test(test_not_a_mapping),
        cmocka_unit_test(test_yaml_error_position),
        cmocka_unit_test(test_front_matter_size_limit),
        cmocka_unit_test(test_depth_limit_flow),
        cmocka_unit_test(test_depth_limit_block),
        cmocka_unit_test(test_depth_scan_direct),
        cmocka_unit_test(test_depth_scan_not_fooled),
        cmocka_unit_test(test_file_size_limit),
        cmocka_unit_test(test_size_limit_boundary),
        cmocka_unit_test(test_nul_and_binary),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_fallback_encoding),
        cmocka_unit_test(test_file_name_not_utf8),
        cmocka_unit_test(test_brief_name_fallbacks),
        cmocka_unit_test(test_brief_description_and_minds),
        cmocka_unit_test(test_audience),
        cmocka_unit_test(test_lesson_title_fallbacks),
        cmocka_unit_test(test_lesson_slug),
        cmocka_unit_test(test_module_numbers),
        cmocka_unit_test(test_sequence_bounds),
        cmocka_unit_test(test_module_title),
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_fidelity),
        cmocka_unit_test(test_tags),
        cmocka_unit_test(test_placeholders),
        cmocka_unit_test(test_generated_corpus_shape),
        cmocka_unit_test(test_yj_top_text),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
