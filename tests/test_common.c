/* test_common.c -- the string builder, the content hash, the ignored names, binary arrays,
 * libpq's version numbers as text and the answer to a broken bound. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <libpq-fe.h>

#include "common/err.h"
#include "common/hash.h"
#include "common/ignore.h"
#include "common/strbuf.h"
#include "persist/pgarr.h"
#include "persist/pgversion.h"

static void
test_strbuf_grows_and_detaches(void **state)
{
    struct strbuf sb = STRBUF_INIT;

    (void)state;
    assert_string_equal(sb.buf, "");
    for (int i = 0; i < 1000; i++) {
        strbuf_addf(&sb, "%d,", i);
    }
    assert_int_equal(sb.len, strlen(sb.buf));
    assert_memory_equal(sb.buf, "0,1,2,", 6);
    strbuf_setlen(&sb, 4);
    assert_string_equal(sb.buf, "0,1,");
    size_t len;
    char *p = strbuf_detach(&sb, &len);
    assert_int_equal(len, 4);
    assert_string_equal(p, "0,1,");
    assert_string_equal(sb.buf, "");
    free(p);
}

static void
test_strbuf_keeps_nul_bytes(void **state)
{
    struct strbuf sb = STRBUF_INIT;

    (void)state;
    strbuf_add(&sb, "a\0b", 3);
    assert_int_equal(sb.len, 3);
    assert_memory_equal(sb.buf, "a\0b", 4);
    strbuf_release(&sb);
}

static void
test_json_string_escapes(void **state)
{
    struct strbuf sb = STRBUF_INIT;
    const char in[] = "q\"b\\n\n\x01 é \xff!";

    (void)state;
    strbuf_add_json_str(&sb, in, sizeof(in) - 1);
    assert_string_equal(sb.buf, "\"q\\\"b\\\\n\\n\\u0001 é \\ufffd!\"");
    strbuf_release(&sb);
}

static void
test_escaped_is_one_line(void **state)
{
    struct strbuf sb = STRBUF_INIT;
    const char in[] = "a\nforged: line\t\\x\x01é";

    (void)state;
    strbuf_add_escaped(&sb, in, sizeof(in) - 1);
    assert_string_equal(sb.buf, "a\\nforged: line\\t\\\\x\\x01é");
    assert_null(strchr(sb.buf, '\n'));
    strbuf_release(&sb);
}

static void
test_hash_depends_on_every_byte(void **state)
{
    char a[100], b[100];

    (void)state;
    memset(a, 'x', sizeof(a));
    memcpy(b, a, sizeof(b));
    assert_true(hash64(a, sizeof(a)) == hash64(b, sizeof(b)));
    for (size_t i = 0; i < sizeof(a); i++) {
        b[i] = 'y';
        assert_true(hash64(a, sizeof(a)) != hash64(b, sizeof(b)));
        b[i] = 'x';
    }
    /* a length change with the same prefix differs too */
    assert_true(hash64(a, 8) != hash64(a, 9));
    assert_true(hash64("", 0) != hash64("\0", 1));
}

static uint32_t
get32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;

    return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

static void
test_pgarr_binary_layout(void **state)
{
    struct pgarr a;

    (void)state;
    pgarr_init(&a, PGARR_TEXT);
    pgarr_add_str(&a, "ab");
    pgarr_add_null(&a);
    pgarr_add_text(&a, "c\0d", 3);
    const char *d = pgarr_data(&a);
    assert_int_equal(get32(d), 1);      /* one dimension */
    assert_int_equal(get32(d + 8), 25); /* text */
    assert_int_equal(get32(d + 12), 3); /* three elements */
    assert_int_equal(get32(d + 16), 1); /* lower bound */
    assert_int_equal(get32(d + 20), 2);
    assert_memory_equal(d + 24, "ab", 2);
    assert_int_equal(get32(d + 26), 0xFFFFFFFFu); /* NULL */
    assert_int_equal(get32(d + 30), 3);
    assert_memory_equal(d + 34, "c\0d", 3);
    assert_int_equal(pgarr_len(&a), 37);
    pgarr_reset(&a);
    pgarr_data(&a);
    assert_int_equal(pgarr_len(&a), 12); /* empty: zero dimensions */
    assert_int_equal(get32(pgarr_data(&a)), 0);
    pgarr_release(&a);

    pgarr_init(&a, PGARR_INT8);
    pgarr_add_int8(&a, -2);
    d = pgarr_data(&a);
    assert_int_equal(get32(d + 20), 8);
    assert_int_equal(get32(d + 24), 0xFFFFFFFFu);
    assert_int_equal(get32(d + 28), 0xFFFFFFFEu);
    pgarr_release(&a);
}

/* docs/CONTRACT.md "The tree": hidden names and editors' leftovers, nothing more. */
static void
test_ignore_name(void **state)
{
    (void)state;
    assert_true(ignore_name(".git"));
    assert_true(ignore_name(".x.md"));
    assert_true(ignore_name("x.md~"));
    assert_true(ignore_name("x.swp"));
    assert_true(ignore_name("x.tmp"));
    assert_true(ignore_name("#x.md#"));
    assert_true(ignore_name("#"));
    assert_true(ignore_name(""));
    assert_false(ignore_name("x.md"));
    assert_false(ignore_name("#x.md"));
    assert_false(ignore_name("x.md#"));
    assert_false(ignore_name("aula 1 – ação.md"));
    assert_false(ignore_name("x.tmpl"));
    assert_false(ignore_name("swp"));
    /* a component inside a path: only its n bytes count */
    assert_true(ignore_name_n(".hidden/x.md", 7));
    assert_false(ignore_name_n("lessons/x.swp", 7));
    assert_true(ignore_name_n("x.swp/a.md", 5));
    assert_true(ignore_name_n("x", 0));
}

/* libpq's version numbers: "MAJOR.MINOR" (PostgreSQL 10 and later number them so). */
static void
test_pgversion_text(void **state)
{
    char buf[PGVERSION_TEXT_MAX], lib[PGVERSION_TEXT_MAX], want[PGVERSION_TEXT_MAX];
    int v = PQlibVersion();

    (void)state;
    assert_string_equal(pgversion_text(150004, buf, sizeof(buf)), "15.4");
    assert_string_equal(pgversion_text(170000, buf, sizeof(buf)), "17.0");
    assert_string_equal(pgversion_text(150018, buf, sizeof(buf)), "15.18");
    snprintf(want, sizeof(want), "%d.%d", v / 10000, v % 10000);
    assert_string_equal(pgversion_lib(lib, sizeof(lib)), want);
}

/* A broken bound (err_bug) says which on stderr and aborts: it never returns to write past it. */
static void
test_err_bug_aborts_with_its_message(void **state)
{
    int fds[2];
    char buf[256];
    ssize_t n, got = 0;
    int status;

    (void)state;
    assert_int_equal(pipe(fds), 0);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        err_bug("%s: more than %d", "co_lesson_upsert", 11);
    }
    close(fds[1]);
    while ((n = read(fds[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0) {
        got += n;
    }
    buf[got] = '\0';
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
    assert_string_equal(buf, "creatoros-agent: bug: co_lesson_upsert: more than 11\n");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strbuf_grows_and_detaches),
        cmocka_unit_test(test_strbuf_keeps_nul_bytes),
        cmocka_unit_test(test_json_string_escapes),
        cmocka_unit_test(test_escaped_is_one_line),
        cmocka_unit_test(test_hash_depends_on_every_byte),
        cmocka_unit_test(test_pgarr_binary_layout),
        cmocka_unit_test(test_ignore_name),
        cmocka_unit_test(test_pgversion_text),
        cmocka_unit_test(test_err_bug_aborts_with_its_message),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
