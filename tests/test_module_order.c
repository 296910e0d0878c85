/* test_module_order.c -- which lesson titles a module (persist/module_order.h): the module
 * statement sorts by MODULE_ORDER_SQL, and module_order_cmp, which the agent predicts with,
 * orders lessons exactly as PostgreSQL does under that ORDER BY. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "persist/module_order.h"
#include "persist/statements.h"
#include "tests/testutil.h"

/* Lessons of one course, in no particular order: several modules, titled and not, numbered
 * and not, equal numbers told apart by their path (bytes: upper case, '-' and '_', UTF-8). */
static const struct module_fact facts[] = {
    {2, 3, true, "c/lessons/2.3-c.md"},     {2, 1, false, "c/lessons/2.1-a.md"},
    {2, 2, true, "c/lessons/2.2-b.md"},     {2, -1, true, "c/lessons/extra.md"},
    {1, -1, false, "c/lessons/x.md"},       {1, 4, true, "c/lessons/1.4-d.md"},
    {1, 4, true, "c/lessons/1.4-D.md"},     {1, 4, true, "c/lessons/1.4_d.md"},
    {1, 4, true, "c/lessons/1.4-é.md"},     {1, 12, true, "c/lessons/1.12-l.md"},
    {1, 2, false, "c/lessons/1.2-b.md"},    {0, -1, false, "c/lessons/0-intro.md"},
    {0, -1, false, "c/lessons/0-Intro.md"}, {7, 1, true, "c/lessons/7.1-a.md"},
    {7, -1, true, "c/lessons/7-z.md"},      {7, 1, false, "c/lessons/7.1-0.md"},
};
#define NFACTS (sizeof(facts) / sizeof(facts[0]))

static int
cmp_index(const void *a, const void *b)
{
    return module_order_cmp(&facts[*(const size_t *)a], &facts[*(const size_t *)b]);
}

/* The statement's ORDER BY is the description's, spliced in, not a copy that could drift. */
static void
test_statement_sorts_by_the_description(void **state)
{
    (void)state;
    assert_non_null(strstr(stmt_defs[STMT_MODULES_SYNC].sql, "ORDER BY " MODULE_ORDER_SQL));
}

/* The first of each module: the titled lesson with the lowest number. */
static void
test_lowest_titled_lesson_names_the_module(void **state)
{
    size_t idx[NFACTS];

    (void)state;
    for (size_t i = 0; i < NFACTS; i++) {
        idx[i] = i;
    }
    qsort(idx, NFACTS, sizeof(idx[0]), cmp_index);
    assert_string_equal(facts[idx[0]].path, "c/lessons/0-Intro.md");
    assert_string_equal(facts[idx[2]].path, "c/lessons/1.4-D.md");
    assert_string_equal(facts[idx[9]].path, "c/lessons/2.2-b.md");
    assert_string_equal(facts[idx[13]].path, "c/lessons/7.1-a.md");
}

/* module_order_cmp and PostgreSQL under MODULE_ORDER_SQL put the lessons in one order. */
static void
test_cmp_orders_as_postgres(void **state)
{
    const char *keys[] = {"dbname", NULL}, *values[] = {tu_db_url(), NULL};
    struct strbuf sql = STRBUF_INIT;
    size_t idx[NFACTS];
    PGconn *conn;
    PGresult *res;

    (void)state;
    strbuf_addstr(&sql, "SELECT i FROM (VALUES ");
    for (size_t i = 0; i < NFACTS; i++) {
        const struct module_fact *f = &facts[i];
        strbuf_addf(&sql, "%s(%zu, %ld, %s, ", i ? ", " : "", i, f->module_no,
                    f->titled ? "'title'" : "NULL::text");
        if (f->lesson_no < 0) {
            strbuf_addstr(&sql, "NULL::int, ");
        } else {
            strbuf_addf(&sql, "%ld, ", f->lesson_no);
        }
        strbuf_addf(&sql, "'%s')", f->path);
    }
    strbuf_addstr(&sql,
                  ") AS v(i, module_no, module_title, lesson_no, path) ORDER BY " MODULE_ORDER_SQL);
    conn = PQconnectdbParams(keys, values, 1);
    assert_int_equal(PQstatus(conn), CONNECTION_OK);
    res = PQexec(conn, sql.buf);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(res), (int)NFACTS);
    for (size_t i = 0; i < NFACTS; i++) {
        idx[i] = i;
    }
    qsort(idx, NFACTS, sizeof(idx[0]), cmp_index);
    for (size_t i = 0; i < NFACTS; i++) {
        size_t got = (size_t)strtoul(PQgetvalue(res, (int)i, 0), NULL, 10);
        if (got != idx[i]) {
            print_error("row %zu: PostgreSQL has %s, module_order_cmp %s\n", i, facts[got].path,
                        facts[idx[i]].path);
        }
        assert_int_equal(got, idx[i]);
    }
    PQclear(res);
    PQfinish(conn);
    strbuf_release(&sql);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_statement_sorts_by_the_description),
        cmocka_unit_test(test_lowest_titled_lesson_names_the_module),
        cmocka_unit_test(test_cmp_orders_as_postgres),
    };

    if (tu_db_url() == NULL) {
        fprintf(stderr, "test_module_order: CO_TEST_DB is not set; it needs a URL of a "
                        "PostgreSQL >= 15 cluster (deploy/test.sh sets it)\n");
        return 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
