/* test_migrate.c -- `migrate` on a real PostgreSQL: fresh and existing databases, checksums, locks.
 */
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
#include <stdbool.h>

#include "common/err.h"
#include "common/strbuf.h"
#include "persist/migrate.h"
#include "persist/migrations.h"
#include "persist/plain.h"
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
    char other[80];

    PQfinish(fx->conn);
    admin_exec("DROP DATABASE IF EXISTS ", fx->dbname, " WITH (FORCE)");
    /* the second database a test may have made (test_revert_drops_its_role) */
    snprintf(other, sizeof(other), "%s_other", fx->dbname);
    admin_exec("DROP DATABASE IF EXISTS ", other, " WITH (FORCE)");
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

/* Run a whole SQL file of the source tree on conn, in one transaction. */
static void
exec_file(PGconn *conn, const char *rel)
{
    char path[512];
    char *sql;
    size_t len;

    snprintf(path, sizeof(path), "%s/%s", CO_SOURCE_DIR, rel);
    sql = tu_read(path, &len);
    if (sql == NULL) {
        fail_msg("cannot read %s", path);
    }
    exec_ok(conn, "BEGIN");
    exec_ok(conn, sql);
    exec_ok(conn, "COMMIT");
    free(sql);
}

/* A production-shaped CreatorOS database (tests/fixtures/production/), rows included. */
static void
load_production(PGconn *conn)
{
    exec_file(conn, "tests/fixtures/production/10_supabase.sql");
    exec_file(conn, "tests/fixtures/production/20_creatoros_v091.sql");
    exec_file(conn, "tests/fixtures/production/30_rows.sql");
}

/* How many lines of kind the report holds, and (when needle is not NULL) whether one of them
 * holds needle: fails otherwise. */
static size_t
lines_of(const struct migrate_report *r, enum migrate_line_kind kind, const char *needle)
{
    size_t n = 0;
    bool found = needle == NULL;

    for (size_t i = 0; i < r->nlines; i++) {
        if (r->lines[i].kind == kind) {
            n++;
            found |= needle != NULL && strstr(r->lines[i].text, needle) != NULL;
        }
    }
    if (!found) {
        fail_msg("no report line of kind %d holds \"%s\"", (int)kind, needle);
    }
    return n;
}

/* How many migrations run on an existing database (the agent's own). */
static int
agent_migrations(void)
{
    int n = 0;

    for (size_t i = 0; i < migrations_count; i++) {
        n += atoi(migrations[i].name) >= MIGRATE_AGENT_FIRST;
    }
    return n;
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
    assert_int_equal(migrate_run(fx->conn, true, MIGRATE_APPLY, &r, &err), 0);
    assert_true(r.dry_run);
    assert_int_equal(r.db, MIGRATE_DB_FRESH);
    assert_int_equal(r.applied, (int)migrations_count);
    assert_int_equal(r.already, 0);
    assert_string_equal(r.names[0], migrations[0].name);
    describe_has(&r, "would apply");
    describe_has(&r, migrations[0].name);
    migrate_report_release(&r);
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

    assert_true(migrations_count >= 5);
    assert_int_equal(migrate_run(fx->conn, false, MIGRATE_APPLY, &r, &err), 0);
    assert_int_equal(r.db, MIGRATE_DB_FRESH);
    assert_int_equal(r.applied, (int)migrations_count);
    assert_int_equal(r.already, 0);
    assert_int_equal(r.total, (int)migrations_count);
    /* a fresh database gets the safe policies: no known hole to report */
    assert_int_equal(r.holes, 0);
    assert_int_equal(lines_of(&r, MIGRATE_LINE_HOLE, NULL), 0);
    for (size_t i = 0; i < migrations_count && i < MIGRATE_REPORT_NAMES; i++) {
        assert_string_equal(r.names[i], migrations[i].name);
    }
    describe_has(&r, "applied");
    migrate_report_release(&r);
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

    assert_int_equal(migrate_run(fx->conn, false, MIGRATE_APPLY, &r, &err), 0);
    assert_int_equal(r.applied, 0);
    assert_int_equal(r.already, (int)migrations_count);
    describe_has(&r, "nothing to apply");
    migrate_report_release(&r);
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

    assert_int_equal(migrate_run(fx->conn, false, MIGRATE_APPLY, &r, &err), 0);
    migrate_report_release(&r);
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

    assert_int_equal(migrate_run(fx->conn, false, MIGRATE_APPLY, &r, &err), -1);
    snprintf(want, sizeof(want), "migration %s was changed after it was applied", first);
    err_has(&err, want);
    err_has(&err, "recorded x)");
    err_has(&err, "write a new migration");
    assert_int_equal(r.applied, 0);
    migrate_report_release(&r);
    assert_int_equal(recorded_count(fx->conn), (long)migrations_count - 1);
    assert_int_equal(PQtransactionStatus(fx->conn), PQTRANS_IDLE);

    err.msg[0] = '\0';
    assert_int_equal(migrate_pending(fx->conn, &pending, &err), 0);
    assert_int_equal(pending, -1);
    err_has(&err, first);
}

/* A record this binary cannot carry on from: nothing is applied, status says so too. */
static void
refused_record(struct fixture *fx, const char *version, const char *needle)
{
    const char *params[1] = {version};
    struct migrate_report r;
    struct err err = {{0}};
    PGresult *res;
    int pending = -2;

    exec_ok(fx->conn, "CREATE SCHEMA creatoros_agent; "
                      "CREATE TABLE creatoros_agent.schema_migrations (version text PRIMARY KEY, "
                      "  checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
    res = PQexecParams(fx->conn,
                       "INSERT INTO creatoros_agent.schema_migrations VALUES ($1, 'x', now())", 1,
                       NULL, params, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    assert_int_equal(migrate_run(fx->conn, false, MIGRATE_APPLY, &r, &err), -1);
    err_has(&err, needle);
    err_has(&err, version);
    assert_int_equal(r.applied, 0);
    migrate_report_release(&r);
    assert_int_equal(recorded_count(fx->conn), 1);
    assert_int_equal(query_long(fx->conn, "SELECT count(*) FROM pg_class "
                                          "WHERE oid = to_regclass('public.contents')"),
                     0);
    err.msg[0] = '\0';
    assert_int_equal(migrate_pending(fx->conn, &pending, &err), 0);
    assert_int_equal(pending, -1);
    err_has(&err, needle);
}

static void
test_earlier_layout_refused(void **state)
{
    refused_record(*state, "0002_rls.sql", "earlier development version of creatoros-agent");
}

static void
test_unknown_migration_refused(void **state)
{
    refused_record(*state, "9999_from_the_future.sql", "which this creatoros-agent does not have");
}

static void
test_foreign_schema_refused(void **state)
{
    struct fixture *fx = *state;
    struct migrate_report r;
    struct err err = {{0}};

    /* --revert would drop it: a schema of that name that migrate did not make is not taken */
    exec_ok(fx->conn, "CREATE SCHEMA creatoros_agent; CREATE TABLE creatoros_agent.mine (x int)");
    assert_int_equal(migrate_run(fx->conn, false, MIGRATE_APPLY, &r, &err), -1);
    err_has(&err, "holds no migration record");
    migrate_report_release(&r);
    assert_int_equal(query_long(fx->conn, "SELECT count(*) FROM pg_class "
                                          "WHERE oid = to_regclass('creatoros_agent.mine')"),
                     1);
    assert_int_equal(query_long(fx->conn, "SELECT count(*) FROM pg_class "
                                          "WHERE oid = to_regclass('public.contents')"),
                     0);
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
        rc->rc = migrate_run(conn, false, MIGRATE_APPLY, &rc->report, &rc->err);
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
    migrate_report_release(&racers[0].report);
    migrate_report_release(&racers[1].report);
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
    char want[160];

    /* A database without the `english` text search configuration: 0001 applies, 0002 fails at
     * the full-text index, names its line, and everything it did before is rolled back. */
    exec_ok(fx->conn, "DROP TEXT SEARCH CONFIGURATION pg_catalog.english");
    assert_int_equal(migrate_run(fx->conn, false, MIGRATE_APPLY, &r, &err), -1);
    snprintf(want, sizeof(want), "migration %s failed at line %d: ", migrations[1].name,
             line_in(&migrations[1], "'english'"));
    err_has(&err, want);
    err_has(&err, "\"english\" does not exist (SQLSTATE 42704)");
    assert_int_equal(r.applied, 1);
    migrate_report_release(&r);
    assert_int_equal(recorded_count(fx->conn), 1);
    assert_int_equal(query_long(fx->conn, "SELECT count(*) FROM pg_class "
                                          "WHERE oid = to_regclass('public.minds')"),
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
    assert_int_equal(migrate_run(fx->conn, false, MIGRATE_APPLY, &r, &err), -1);
    err_has(&err, "inside a transaction");
    migrate_report_release(&r);
    exec_ok(fx->conn, "ROLLBACK");
}

static void
test_existing_adopted(void **state)
{
    struct fixture *fx = *state;
    struct migrate_report r;
    struct err err = {{0}};
    int pending = -2;

    load_production(fx->conn);
    assert_int_equal(migrate_pending(fx->conn, &pending, &err), 0);
    assert_int_equal(pending, agent_migrations());

    assert_int_equal(migrate_run(fx->conn, false, MIGRATE_APPLY, &r, &err), 0);
    assert_int_equal(r.db, MIGRATE_DB_EXISTING);
    assert_int_equal(r.applied, agent_migrations());
    assert_int_equal(r.total, agent_migrations());
    /* the agent's objects are listed; the app's schema is not rebuilt */
    lines_of(&r, MIGRATE_LINE_CREATED, "table creatoros_agent.file_state");
    lines_of(&r, MIGRATE_LINE_CREATED, "policy contents_update_agent on public.contents");
    lines_of(&r, MIGRATE_LINE_CREATED, "index idx_contents_project_id_agent on public.contents");
    /* the fixture's six holes, one line each, and nothing fixed */
    assert_int_equal(r.holes, 6);
    assert_int_equal(lines_of(&r, MIGRATE_LINE_HOLE, "user_profiles_writable: "), 6);
    lines_of(&r, MIGRATE_LINE_HOLE, "audience_profiles_writable: ");
    lines_of(&r, MIGRATE_LINE_HOLE, "tags_rls: ");
    lines_of(&r, MIGRATE_LINE_HOLE, "view_owner_rights: ");
    lines_of(&r, MIGRATE_LINE_HOLE, "api_privileges: ");
    lines_of(&r, MIGRATE_LINE_HOLE, "definer_executable_by_anon: ");
    assert_int_equal(lines_of(&r, MIGRATE_LINE_CHANGED, NULL), 0);
    describe_has(&r, "existing CreatorOS database: applied 2 migrations");
    describe_has(&r, "6 known holes in the policies (migrate --harden closes them)");
    migrate_report_release(&r);
    /* 0001-0003 are not recorded, and not pending either */
    assert_int_equal(recorded_count(fx->conn), (long)agent_migrations());
    assert_int_equal(query_long(fx->conn,
                                "SELECT count(*) FROM pg_policies "
                                "WHERE tablename = 'tags' AND policyname LIKE '%hardened'"),
                     0);
    assert_int_equal(migrate_pending(fx->conn, &pending, &err), 0);
    assert_int_equal(pending, 0);

    /* again: nothing created, the holes still reported */
    assert_int_equal(migrate_run(fx->conn, false, MIGRATE_APPLY, &r, &err), 0);
    assert_int_equal(r.applied, 0);
    assert_int_equal(lines_of(&r, MIGRATE_LINE_CREATED, NULL), 0);
    assert_int_equal(r.holes, 6);
    migrate_report_release(&r);
}

static void
test_existing_problems_change_nothing(void **state)
{
    struct fixture *fx = *state;
    struct migrate_report r;
    struct err err = {{0}};

    load_production(fx->conn);
    exec_ok(fx->conn, "ALTER TABLE public.tags RENAME COLUMN name TO label; "
                      "ALTER TABLE public.contents ALTER COLUMN content SET NOT NULL; "
                      "ALTER TABLE public.minds ADD COLUMN tenant text NOT NULL DEFAULT 'x'; "
                      "ALTER TABLE public.minds ALTER COLUMN tenant DROP DEFAULT; "
                      "ALTER TABLE public.content_minds DROP CONSTRAINT content_minds_pkey; "
                      "ALTER TABLE public.contents ALTER COLUMN sequence_order TYPE integer");
    assert_int_equal(migrate_run(fx->conn, false, MIGRATE_APPLY, &r, &err), -1);
    err_has(&err, "lacks what creatoros-agent relies on (7 problems); nothing was changed");
    assert_int_equal(lines_of(&r, MIGRATE_LINE_PROBLEM, "public.tags has no column name"), 7);
    /* the renamed column is NOT NULL and the agent would not fill it */
    lines_of(&r, MIGRATE_LINE_PROBLEM, "public.tags.label is NOT NULL without a default");
    lines_of(&r, MIGRATE_LINE_PROBLEM, "public.tags has no unique key on (name)");
    lines_of(&r, MIGRATE_LINE_PROBLEM,
             "public.contents.content is NOT NULL, the agent writes NULL there");
    lines_of(&r, MIGRATE_LINE_PROBLEM, "public.minds.tenant is NOT NULL without a default");
    lines_of(&r, MIGRATE_LINE_PROBLEM,
             "public.content_minds has no unique key on (content_id, mind_id)");
    lines_of(&r, MIGRATE_LINE_PROBLEM,
             "public.contents.sequence_order is integer, the agent writes smallint");
    migrate_report_release(&r);
    assert_int_equal(query_long(fx->conn, "SELECT count(*) FROM pg_namespace "
                                          "WHERE nspname = 'creatoros_agent'"),
                     0);
    /* dry run: the same refusal */
    assert_int_equal(migrate_run(fx->conn, true, MIGRATE_APPLY, &r, &err), -1);
    assert_int_equal(lines_of(&r, MIGRATE_LINE_PROBLEM, NULL), 7);
    migrate_report_release(&r);
}

static void
test_existing_harden_and_revert(void **state)
{
    struct fixture *fx = *state;
    struct migrate_report r;
    struct err err = {{0}};
    long policies = query_long(fx->conn, "SELECT count(*) FROM pg_policy");

    /* --revert of what was never migrated, and of a database migrate built, are refused */
    assert_int_equal(migrate_run(fx->conn, false, MIGRATE_REVERT, &r, &err), -1);
    err_has(&err, "nothing to take back");
    migrate_report_release(&r);

    load_production(fx->conn);
    /* one more hole than production has: a definer function without a fixed search_path */
    exec_ok(fx->conn, "CREATE FUNCTION public.adopt_probe() RETURNS int LANGUAGE sql "
                      "SECURITY DEFINER AS 'SELECT 1'");
    policies = query_long(fx->conn, "SELECT count(*) FROM pg_policy");
    assert_int_equal(migrate_run(fx->conn, true, MIGRATE_HARDEN, &r, &err), 0);
    assert_int_equal(r.holes, 7);
    lines_of(&r, MIGRATE_LINE_HOLE,
             "definer_search_path: SECURITY DEFINER function public.adopt_probe() has no fixed "
             "search_path");
    lines_of(&r, MIGRATE_LINE_CHANGED,
             "policy user_profiles_update_hardened on public.user_profiles");
    describe_has(&r, "which --harden would close");
    migrate_report_release(&r);
    assert_int_equal(query_long(fx->conn, "SELECT count(*) FROM pg_policy"), policies);

    assert_int_equal(migrate_run(fx->conn, false, MIGRATE_HARDEN, &r, &err), 0);
    assert_int_equal(r.holes, 7);
    lines_of(&r, MIGRATE_LINE_CHANGED, "public.tags: ENABLE ROW LEVEL SECURITY");
    lines_of(&r, MIGRATE_LINE_CHANGED,
             "function public.adopt_probe(): SET search_path = public, pg_temp");
    lines_of(&r, MIGRATE_LINE_CHANGED,
             "function public.provision_user_profile(): revoke EXECUTE from PUBLIC and anon");
    describe_has(&r, "7 known holes in the policies, closed");
    assert_int_equal(query_long(fx->conn, "SELECT count(*) FROM pg_proc WHERE proname = "
                                          "'adopt_probe' AND proconfig IS NOT NULL"),
                     1);
    migrate_report_release(&r);
    assert_int_equal(query_long(fx->conn, "SELECT relrowsecurity::int FROM pg_class "
                                          "WHERE oid = 'public.tags'::regclass"),
                     1);
    assert_int_equal(migrate_run(fx->conn, false, MIGRATE_APPLY, &r, &err), 0);
    assert_int_equal(r.holes, 0);
    migrate_report_release(&r);

    /* a dry run of --revert takes nothing back */
    assert_int_equal(migrate_run(fx->conn, true, MIGRATE_REVERT, &r, &err), 0);
    lines_of(&r, MIGRATE_LINE_REMOVED, "policy tags_read_hardened");
    migrate_report_release(&r);
    assert_int_equal(query_long(fx->conn, "SELECT count(*) FROM pg_namespace "
                                          "WHERE nspname = 'creatoros_agent'"),
                     1);

    assert_int_equal(migrate_run(fx->conn, false, MIGRATE_REVERT, &r, &err), 0);
    lines_of(&r, MIGRATE_LINE_REMOVED, "schema creatoros_agent");
    lines_of(&r, MIGRATE_LINE_REMOVED, "policy contents_insert_agent on public.contents");
    describe_has(&r, "took back");
    migrate_report_release(&r);
    assert_int_equal(query_long(fx->conn, "SELECT count(*) FROM pg_namespace "
                                          "WHERE nspname = 'creatoros_agent'"),
                     0);
    assert_int_equal(query_long(fx->conn, "SELECT count(*) FROM pg_policy"), policies);
    assert_int_equal(query_long(fx->conn, "SELECT relrowsecurity::int FROM pg_class "
                                          "WHERE oid = 'public.tags'::regclass"),
                     0);
    assert_int_equal(query_long(fx->conn, "SELECT count(*) FROM pg_proc WHERE proname = "
                                          "'adopt_probe' AND proconfig IS NULL"),
                     1);
    /* the rows stay */
    assert_int_equal(query_long(fx->conn, "SELECT count(*) FROM public.contents"), 5);
}

/* Whether role creatoros_agent exists in the cluster. */
static long
agent_role_exists(PGconn *conn)
{
    return query_long(conn, "SELECT count(*) FROM pg_roles WHERE rolname = 'creatoros_agent'");
}

/* Drop the agent's role, so that the next migrate creates it (and records that it did). The
 * test cluster must hold no other database that uses it (deploy/test.sh runs ctest first). */
static void
drop_agent_role(void)
{
    PGconn *admin = connect_db("postgres");
    PGresult *res = PQexec(admin, "DROP ROLE IF EXISTS creatoros_agent");

    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", PQerrorMessage(admin));
        PQclear(res);
        PQfinish(admin);
        fail_msg("this test drops role creatoros_agent, which another database of the test "
                 "cluster still uses: %s",
                 msg);
    }
    PQclear(res);
    PQfinish(admin);
}

static void
test_revert_drops_its_role(void **state)
{
    struct fixture *fx = *state;
    struct migrate_report r;
    struct err err = {{0}};
    char other[80];
    PGconn *oc;

    load_production(fx->conn);
    drop_agent_role();
    assert_int_equal(migrate_run(fx->conn, false, MIGRATE_APPLY, &r, &err), 0);
    lines_of(&r, MIGRATE_LINE_CREATED, "role creatoros_agent");
    migrate_report_release(&r);

    /* another database uses the role: --revert keeps it, and says so */
    snprintf(other, sizeof(other), "%s_other", fx->dbname);
    admin_exec("DROP DATABASE IF EXISTS ", other, " WITH (FORCE)");
    admin_exec("CREATE DATABASE ", other, "");
    oc = connect_db(other);
    assert_int_equal(migrate_run(oc, false, MIGRATE_APPLY, &r, &err), 0);
    migrate_report_release(&r);
    PQfinish(oc);
    assert_int_equal(migrate_run(fx->conn, false, MIGRATE_REVERT, &r, &err), 0);
    lines_of(&r, MIGRATE_LINE_NOTE,
             "kept role creatoros_agent (role \"creatoros_agent\" cannot be "
             "dropped because some objects depend on it)");
    assert_int_equal(lines_of(&r, MIGRATE_LINE_REMOVED, "schema creatoros_agent") > 0, 1);
    migrate_report_release(&r);
    assert_int_equal(agent_role_exists(fx->conn), 1);
    admin_exec("DROP DATABASE IF EXISTS ", other, " WITH (FORCE)");

    /* no other database uses it: the role migrate created goes with --revert */
    drop_agent_role();
    assert_int_equal(migrate_run(fx->conn, false, MIGRATE_APPLY, &r, &err), 0);
    lines_of(&r, MIGRATE_LINE_CREATED, "role creatoros_agent");
    migrate_report_release(&r);
    assert_int_equal(migrate_run(fx->conn, false, MIGRATE_REVERT, &r, &err), 0);
    lines_of(&r, MIGRATE_LINE_REMOVED, "role creatoros_agent");
    assert_int_equal(lines_of(&r, MIGRATE_LINE_NOTE, NULL), 0);
    migrate_report_release(&r);
    assert_int_equal(agent_role_exists(fx->conn), 0);
}

static void
test_revert_refuses_fresh(void **state)
{
    struct fixture *fx = *state;
    struct migrate_report r;
    struct err err = {{0}};

    assert_int_equal(migrate_run(fx->conn, false, MIGRATE_APPLY, &r, &err), 0);
    migrate_report_release(&r);
    assert_int_equal(migrate_run(fx->conn, false, MIGRATE_REVERT, &r, &err), -1);
    err_has(&err, "drop the database instead");
    migrate_report_release(&r);
    assert_int_equal(recorded_count(fx->conn), (long)migrations_count);
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
    r.names[0] = "0002_creatoros_schema.sql";
    r.names[1] = "0003_creatoros_rls.sql";
    migrate_report_describe(&r, &sb);
    assert_string_equal(
        sb.buf,
        "applied 2 migrations (0002_creatoros_schema.sql, 0003_creatoros_rls.sql), 1 already "
        "applied");
    strbuf_reset(&sb);
    r.applied = 0;
    r.already = 3;
    r.db = MIGRATE_DB_EXISTING;
    r.holes = 1;
    migrate_report_describe(&r, &sb);
    assert_string_equal(sb.buf, "existing CreatorOS database: nothing to apply, 3 of 3 migrations "
                                "already applied; 1 known hole in the policies (migrate --harden "
                                "closes them)");
    strbuf_reset(&sb);
    r.mode = MIGRATE_REVERT;
    migrate_report_add(&r, MIGRATE_LINE_REMOVED, "policy %s", "x");
    migrate_report_add(&r, MIGRATE_LINE_NOTE, "kept role");
    migrate_report_describe(&r, &sb);
    assert_string_equal(sb.buf,
                        "took back 1 change of creatoros-agent to the existing CreatorOS database");
    assert_string_equal(r.lines[0].text, "policy x");
    migrate_report_release(&r);
    strbuf_release(&sb);
}

/* A failed statement on a plain connection is one message: "what: server message", without
 * the newline libpq ends it with. */
static void
test_plain_failure_message(void **state)
{
    struct fixture *fx = *state;
    struct err err = {{0}};
    const char *values[1] = {"0"};
    size_t n;

    assert_int_equal(plain_command(fx->conn, "SELEC 1", 0, NULL, "probing", &err), -1);
    assert_non_null(strstr(err.msg, "probing: ERROR:  syntax error at or near \"SELEC\""));
    n = strlen(err.msg);
    assert_true(n > 0 && err.msg[n - 1] != '\n' && err.msg[n - 1] != ' ');
    assert_null(plain_query(fx->conn, "SELECT 1 / $1::int", 1, values, "dividing", &err));
    assert_string_equal(err.msg, "dividing: ERROR:  division by zero");
    assert_int_equal(plain_command(fx->conn, "SET search_path = $1", 1, values, "setting", &err),
                     -1);
    assert_int_equal(strncmp(err.msg, "setting: ERROR:", 15), 0);
    n = strlen(err.msg);
    assert_true(err.msg[n - 1] != '\n' && err.msg[n - 1] != ' ');
    assert_int_equal(plain_command(fx->conn, "SELECT 1", 0, NULL, "rows", &err), -1);
    assert_int_equal(plain_command(fx->conn, "CREATE TABLE t (a int); DROP TABLE t", 0, NULL,
                                   "two commands", &err),
                     0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_describe),
        cmocka_unit_test_setup_teardown(test_plain_failure_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dry_run_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_applies_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_checksum_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_earlier_layout_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_migration_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_open_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_existing_adopted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_existing_problems_change_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_existing_harden_and_revert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revert_refuses_fresh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revert_drops_its_role, setup, teardown),
    };

    if (tu_db_url() == NULL) {
        fprintf(stderr, "test_migrate: CO_TEST_DB is not set; it needs a superuser URL of a "
                        "PostgreSQL >= 15 cluster (deploy/test.sh sets it)\n");
        return 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
