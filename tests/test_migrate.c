/* test_migrate.c -- `migrate` against a real PostgreSQL: once-only, checksums, locking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "common/err.h"
#include "common/strbuf.h"
#include "persist/migrate.h"
#include "persist/migrations.h"
#include "tests/testutil.h"

/* Each test gets a database of its own in the CO_TEST_DB cluster, dropped afterwards. */
struct fixture {
    char dbname[64];
    PGconn *conn;
};

static void
quiet_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* A connection to dbname in the CO_TEST_DB cluster (the URL's other settings kept). */
static PGconn *
connect_db(const char *dbname)
{
    /* expand_dbname: the first "dbname" is the URL; the second overrides its database. */
    const char *keys[] = {"dbname", "dbname", NULL};
    const char *values[] = {tu_db_url(), dbname, NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);

    if (PQstatus(conn) != CONNECTION_OK) {
        fail_msg("cannot connect to database %s: %s", dbname, PQerrorMessage(conn));
    }
    PQsetNoticeProcessor(conn, quiet_notice, NULL);
    return conn;
}

static void
exec_ok(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", PQerrorMessage(conn));
        PQclear(res);
        fail_msg("%s: %s", sql, msg);
    }
    PQclear(res);
}

/* The single value of a one-row query, as a long (NULL reads as -1). */
static long
query_long(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    long v;

    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", PQerrorMessage(conn));
        PQclear(res);
        fail_msg("%s: %s", sql, msg);
    }
    v = PQgetisnull(res, 0, 0) ? -1 : strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return v;
}

/* Run "<before><dbname quoted as an identifier><after>" in the maintenance database. */
static void
admin_exec(const char *before, const char *dbname, const char *after)
{
    PGconn *admin = connect_db("postgres");
    char *ident = PQescapeIdentifier(admin, dbname, strlen(dbname));
    char sql[256];

    assert_non_null(ident);
    snprintf(sql, sizeof(sql), "%s%s%s", before, ident, after);
    PQfreemem(ident);
    exec_ok(admin, sql);
    PQfinish(admin);
}

static int
setup(void **state)
{
    static int seq;
    struct fixture *fx = xcalloc(1, sizeof(*fx));

    snprintf(fx->dbname, sizeof(fx->dbname), "co_migrate_%ld_%d", (long)getpid(), ++seq);
    admin_exec("DROP DATABASE IF EXISTS ", fx->dbname, " WITH (FORCE)");
    admin_exec("CREATE DATABASE ", fx->dbname, "");
    fx->conn = connect_db(fx->dbname);
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *fx = *state;

    PQfinish(fx->conn);
    admin_exec("DROP DATABASE IF EXISTS ", fx->dbname, " WITH (FORCE)");
    free(fx);
    return 0;
}

/* Fail, showing the message, unless err holds needle. */
static void
err_has(const struct err *err, const char *needle)
{
    if (strstr(err->msg, needle) == NULL) {
        fail_msg("error \"%s\" lacks \"%s\"", err->msg, needle);
    }
}

static long
recorded_count(PGconn *conn)
{
    return query_long(conn, "SELECT count(*) FROM creatoros_agent.schema_migrations");
}

static void
describe_has(const struct migrate_report *r, const char *needle)
{
    struct strbuf sb = STRBUF_INIT;

    migrate_report_describe(r, &sb);
    if (strstr(sb.buf, needle) == NULL) {
        char line[512];
        snprintf(line, sizeof(line), "%s", sb.buf);
        strbuf_release(&sb);
        fail_msg("describe gave \"%s\", wanted \"%s\" in it", line, needle);
    }
    strbuf_release(&sb);
}

static void
test_dry_run_writes_nothing(void **state)
{
    struct fixture *fx = *state;
    struct migrate_report r;
    struct err err = {{0}};
    int pending = -2;

    assert_int_equal(migrate_pending(fx->conn, &pending, &err), 0);
    assert_int_equal(pending, (int)migrations_count);
    assert_int_equal(migrate_run(fx->conn, true, &r, &err), 0);
    assert_true(r.dry_run);
    assert_int_equal(r.applied, (int)migrations_count);
    assert_int_equal(r.already, 0);
    assert_string_equal(r.names[0], migrations[0].name);
    describe_has(&r, "would apply");
    describe_has(&r, migrations[0].name);
    /* not even the record table */
    assert_int_equal(query_long(fx->conn, "SELECT count(*) FROM pg_namespace "
                                          "WHERE nspname = 'creatoros_agent'"),
                     0);
    assert_int_equal(PQtransactionStatus(fx->conn), PQTRANS_IDLE);
}

static void
test_applies_once(void **state)
{
    struct fixture *fx = *state;
    struct migrate_report r;
    struct err err = {{0}};
    int pending = -2;

    assert_true(migrations_count >= 3);
    assert_int_equal(migrate_run(fx->conn, false, &r, &err), 0);
    assert_int_equal(r.applied, (int)migrations_count);
    assert_int_equal(r.already, 0);
    assert_int_equal(r.total, (int)migrations_count);
    for (size_t i = 0; i < migrations_count && i < MIGRATE_REPORT_NAMES; i++) {
        assert_string_equal(r.names[i], migrations[i].name);
    }
    describe_has(&r, "applied");
    assert_int_equal(recorded_count(fx->conn), (long)migrations_count);
    assert_int_equal(query_long(fx->conn, "SELECT count(*) FROM creatoros_agent.schema_migrations "
                                          "WHERE checksum ~ '^[0-9a-f]{64}$'"),
                     (long)migrations_count);
    /* the schema is there, and the connection is handed back idle and unlocked */
    assert_int_equal(query_long(fx->conn, "SELECT count(*) FROM public.contents"), 0);
    assert_int_equal(query_long(fx->conn, "SELECT count(*) FROM pg_locks "
                                          "WHERE locktype = 'advisory' AND pid = pg_backend_pid()"),
                     0);
    assert_int_equal(PQtransactionStatus(fx->conn), PQTRANS_IDLE);
    assert_int_equal(migrate_pending(fx->conn, &pending, &err), 0);
    assert_int_equal(pending, 0);

    assert_int_equal(migrate_run(fx->conn, false, &r, &err), 0);
    assert_int_equal(r.applied, 0);
    assert_int_equal(r.already, (int)migrations_count);
    describe_has(&r, "nothing to apply");
    assert_int_equal(recorded_count(fx->conn), (long)migrations_count);
}

static void
test_changed_checksum_refused(void **state)
{
    struct fixture *fx = *state;
    const char *first = migrations[0].name;
    const char *last = migrations[migrations_count - 1].name;
    const char *params[1];
    struct migrate_report r;
    struct err err = {{0}};
    PGresult *res;
    char want[128];
    int pending = -2;

    assert_int_equal(migrate_run(fx->conn, false, &r, &err), 0);
    /* tamper with the first and forget the last: the run must apply nothing at all */
    params[0] = first;
    res = PQexecParams(fx->conn,
                       "UPDATE creatoros_agent.schema_migrations SET checksum = 'x' "
                       "WHERE version = $1",
                       1, NULL, params, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    assert_string_equal(PQcmdTuples(res), "1");
    PQclear(res);
    params[0] = last;
    res = PQexecParams(fx->conn, "DELETE FROM creatoros_agent.schema_migrations WHERE version = $1",
                       1, NULL, params, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);

    assert_int_equal(migrate_run(fx->conn, false, &r, &err), -1);
    snprintf(want, sizeof(want), "migration %s was changed after it was applied", first);
    err_has(&err, want);
    err_has(&err, "recorded x)");
    err_has(&err, "write a new migration");
    assert_int_equal(r.applied, 0);
    assert_int_equal(recorded_count(fx->conn), (long)migrations_count - 1);
    assert_int_equal(PQtransactionStatus(fx->conn), PQTRANS_IDLE);

    err.msg[0] = '\0';
    assert_int_equal(migrate_pending(fx->conn, &pending, &err), 0);
    assert_int_equal(pending, -1);
    err_has(&err, first);
}

struct racer {
    const char *dbname;
    struct migrate_report report;
    struct err err;
    int rc;
};

static void *
race_cb(void *arg)
{
    struct racer *rc = arg;
    const char *keys[] = {"dbname", "dbname", NULL};
    const char *values[] = {tu_db_url(), rc->dbname, NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);

    rc->rc = -1;
    if (PQstatus(conn) != CONNECTION_OK) {
        err_set(&rc->err, "connect: %s", PQerrorMessage(conn));
    } else {
        PQsetNoticeProcessor(conn, quiet_notice, NULL);
        rc->rc = migrate_run(conn, false, &rc->report, &rc->err);
    }
    PQfinish(conn);
    return NULL;
}

static void
test_concurrent_runs(void **state)
{
    struct fixture *fx = *state;
    struct racer racers[2];
    pthread_t threads[2];

    memset(racers, 0, sizeof(racers));
    for (int i = 0; i < 2; i++) {
        racers[i].dbname = fx->dbname;
        assert_int_equal(pthread_create(&threads[i], NULL, race_cb, &racers[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    }
    for (int i = 0; i < 2; i++) {
        if (racers[i].rc != 0) {
            fail_msg("run %d failed: %s", i, racers[i].err.msg);
        }
        assert_int_equal(racers[i].report.applied + racers[i].report.already,
                         (int)migrations_count);
    }
    /* each migration applied exactly once, by one run or the other */
    assert_int_equal(racers[0].report.applied + racers[1].report.applied, (int)migrations_count);
    assert_int_equal(recorded_count(fx->conn), (long)migrations_count);
}

/* The 1-based line of the first occurrence of needle in migration m. */
static int
line_in(const struct migration *m, const char *needle)
{
    const char *at = strstr(m->sql, needle);
    int line = 1;

    assert_non_null(at);
    for (const char *p = m->sql; p < at; p++) {
        line += *p == '\n';
    }
    return line;
}

static void
test_failure_rolls_back(void **state)
{
    struct fixture *fx = *state;
    struct migrate_report r;
    struct err err = {{0}};
    char want[128];

    /* A minds table without slug: CREATE TABLE IF NOT EXISTS skips it, then the view's
     * m.slug fails. Everything 0001 did before must be rolled back, and the error must
     * point at the line of the view that failed. */
    exec_ok(fx->conn, "CREATE TABLE public.minds (id uuid PRIMARY KEY)");
    assert_int_equal(migrate_run(fx->conn, false, &r, &err), -1);
    snprintf(want, sizeof(want), "migration %s failed at line %d: ", migrations[0].name,
             line_in(&migrations[0], "'slug', m.slug"));
    err_has(&err, want);
    err_has(&err, "m.slug does not exist (SQLSTATE 42703)");
    assert_int_equal(r.applied, 0);
    assert_int_equal(recorded_count(fx->conn), 0);
    assert_int_equal(query_long(fx->conn, "SELECT count(*) FROM pg_class "
                                          "WHERE oid = to_regclass('public.contents')"),
                     0);
    assert_int_equal(PQtransactionStatus(fx->conn), PQTRANS_IDLE);
}

static void
test_refuses_open_transaction(void **state)
{
    struct fixture *fx = *state;
    struct migrate_report r;
    struct err err = {{0}};

    exec_ok(fx->conn, "BEGIN");
    assert_int_equal(migrate_run(fx->conn, false, &r, &err), -1);
    err_has(&err, "inside a transaction");
    exec_ok(fx->conn, "ROLLBACK");
}

static void
test_describe(void **state)
{
    struct migrate_report r;
    struct strbuf sb = STRBUF_INIT;

    (void)state;
    memset(&r, 0, sizeof(r));
    r.total = 3;
    r.applied = 2;
    r.already = 1;
    r.names[0] = "0002_rls.sql";
    r.names[1] = "0003_agent_role.sql";
    migrate_report_describe(&r, &sb);
    assert_string_equal(
        sb.buf, "applied 2 migrations (0002_rls.sql, 0003_agent_role.sql), 1 already applied");
    strbuf_reset(&sb);
    r.applied = 0;
    r.already = 3;
    migrate_report_describe(&r, &sb);
    assert_string_equal(sb.buf, "nothing to apply, 3 of 3 migrations already applied");
    strbuf_release(&sb);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_describe),
        cmocka_unit_test_setup_teardown(test_dry_run_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_applies_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_checksum_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_open_transaction, setup, teardown),
    };

    if (tu_db_url() == NULL) {
        fprintf(stderr, "test_migrate: CO_TEST_DB is not set; it needs a superuser URL of a "
                        "PostgreSQL >= 15 cluster (deploy/test.sh sets it)\n");
        return 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
