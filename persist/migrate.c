/* migrate.c -- `migrate`: the embedded sql/ files applied once each, recorded, under a lock. */
#include "persist/migrate.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "persist/migrations.h"

/* pg_type.h is a server header; the OID of bytea is fixed forever. */
#define MIGRATE_BYTEAOID 17
#define MIGRATE_CHECKSUM_HEX 64

/*
 * The record table is created before any migration runs, so that the first one is
 * recorded like the others. Only under the lock: two concurrent CREATE ... IF NOT EXISTS
 * can still collide on the catalog's unique index.
 */
static const char SQL_BOOTSTRAP[] = "BEGIN;"
                                    "SET LOCAL client_min_messages = warning;"
                                    "CREATE SCHEMA IF NOT EXISTS creatoros_agent;"
                                    "CREATE TABLE IF NOT EXISTS creatoros_agent.schema_migrations ("
                                    "    version    text PRIMARY KEY,"
                                    "    checksum   text NOT NULL,"
                                    "    applied_at timestamptz NOT NULL DEFAULT now());"
                                    "COMMIT";
static const char SQL_LOCK[] = "SELECT pg_catalog.pg_advisory_lock($1::int8)";
static const char SQL_UNLOCK[] = "SELECT pg_catalog.pg_advisory_unlock($1::int8)";
static const char SQL_HAS_RECORD[] =
    "SELECT pg_catalog.to_regclass('creatoros_agent.schema_migrations') IS NOT NULL";
static const char SQL_RECORDED[] =
    "SELECT version, checksum FROM creatoros_agent.schema_migrations";
/* The server hashes: SHA-256 without carrying one in C, and the bytes travel as binary
 * bytea, so no escaping can change what is hashed. */
static const char SQL_CHECKSUM[] = "SELECT pg_catalog.encode(pg_catalog.sha256($1), 'hex')";
static const char SQL_BEGIN[] = "BEGIN; SET LOCAL client_min_messages = warning";
static const char SQL_RECORD[] =
    "INSERT INTO creatoros_agent.schema_migrations (version, checksum) VALUES ($1, $2)";

typedef char checksum_t[MIGRATE_CHECKSUM_HEX + 1];

/* Copy the connection's last error into buf without its trailing newline. */
static const char *
conn_error(PGconn *conn, char *buf, size_t size)
{
    size_t n;

    snprintf(buf, size, "%s", PQerrorMessage(conn));
    n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) {
        buf[--n] = '\0';
    }
    return buf;
}

/* Run a statement without result rows; -1 with err ("what: server message") on failure. */
static int
exec_command(PGconn *conn, const char *sql, const char *what, struct err *err)
{
    PGresult *res = PQexec(conn, sql);
    char msg[ERR_MSG_MAX];
    int rc = -1;

    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        err_set(err, "%s: %s", what, conn_error(conn, msg, sizeof(msg)));
        goto out;
    }
    rc = 0;
out:
    PQclear(res);
    return rc;
}

/* Take (lock = true) or release the session advisory lock. */
static int
advisory_lock(PGconn *conn, bool lock, struct err *err)
{
    char key[24];
    const char *values[1] = {key};
    PGresult *res;
    char msg[ERR_MSG_MAX];
    int rc = -1;

    snprintf(key, sizeof(key), "%lld", (long long)MIGRATE_LOCK_KEY);
    res = PQexecParams(conn, lock ? SQL_LOCK : SQL_UNLOCK, 1, NULL, values, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        err_set(err, "migrate: cannot %s the migration lock: %s", lock ? "take" : "release",
                conn_error(conn, msg, sizeof(msg)));
        goto out;
    }
    rc = 0;
out:
    PQclear(res);
    return rc;
}

/*
 * The recorded migrations into *out (the caller PQclears it), or *out = NULL when the
 * record table does not exist yet (a fresh database, or a dry run before the first).
 */
static int
load_recorded(PGconn *conn, PGresult **out, struct err *err)
{
    PGresult *res = PQexec(conn, SQL_HAS_RECORD);
    char msg[ERR_MSG_MAX];
    int rc = -1;

    *out = NULL;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        err_set(err, "migrate: cannot look for the migration record: %s",
                conn_error(conn, msg, sizeof(msg)));
        goto out;
    }
    if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
        rc = 0;
        goto out;
    }
    PQclear(res);
    res = PQexec(conn, SQL_RECORDED);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        err_set(err, "migrate: cannot read creatoros_agent.schema_migrations: %s",
                conn_error(conn, msg, sizeof(msg)));
        goto out;
    }
    *out = res;
    res = NULL;
    rc = 0;
out:
    PQclear(res);
    return rc;
}

/* The checksum recorded for name, borrowed from recorded, or NULL when not recorded. */
static const char *
recorded_checksum(const PGresult *recorded, const char *name)
{
    if (recorded == NULL) {
        return NULL;
    }
    for (int i = 0; i < PQntuples(recorded); i++) {
        if (strcmp(PQgetvalue(recorded, i, 0), name) == 0) {
            return PQgetvalue(recorded, i, 1);
        }
    }
    return NULL;
}

/* SHA-256 of the migration's bytes, as 64 lowercase hex digits. */
static int
migration_checksum(PGconn *conn, const struct migration *m, checksum_t out, struct err *err)
{
    const Oid types[1] = {MIGRATE_BYTEAOID};
    const char *values[1] = {m->sql};
    int lengths[1];
    const int formats[1] = {1};
    PGresult *res = NULL;
    char msg[ERR_MSG_MAX];
    int rc = -1;

    if (m->len > INT_MAX) {
        err_set(err, "migration %s is too large (%zu bytes)", m->name, m->len);
        goto out;
    }
    lengths[0] = (int)m->len;
    res = PQexecParams(conn, SQL_CHECKSUM, 1, types, values, lengths, formats, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 ||
        PQgetlength(res, 0, 0) != MIGRATE_CHECKSUM_HEX) {
        err_set(err, "migrate: cannot checksum %s: %s", m->name,
                conn_error(conn, msg, sizeof(msg)));
        goto out;
    }
    memcpy(out, PQgetvalue(res, 0, 0), MIGRATE_CHECKSUM_HEX + 1);
    rc = 0;
out:
    PQclear(res);
    return rc;
}

static int
changed_error(struct err *err, const struct migration *m, const char *sum, const char *was)
{
    return err_set(err,
                   "migration %s was changed after it was applied (checksum %s, recorded %s); "
                   "restore the original file or write a new migration",
                   m->name, sum, was);
}

/*
 * The 1-based line of the character at 1-based position pos of text (the server counts
 * characters, not bytes: skip UTF-8 continuation bytes). 0 when pos is out of range.
 */
static int
line_of(const char *text, size_t len, long pos)
{
    long chars = 0;
    int line = 1;

    for (size_t i = 0; i < len; i++) {
        if (((unsigned char)text[i] & 0xC0) == 0x80) {
            continue;
        }
        if (++chars == pos) {
            return line;
        }
        if (text[i] == '\n') {
            line++;
        }
    }
    return 0;
}

/* err = "migration NAME failed [at line N]: server message [(hint)]". */
static void
failed_error(PGconn *conn, const PGresult *res, const struct migration *m, struct err *err)
{
    const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *pos = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
    const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    char msg[ERR_MSG_MAX];
    char where[32] = "";
    int line = pos != NULL ? line_of(m->sql, m->len, strtol(pos, NULL, 10)) : 0;

    if (primary == NULL) {
        primary = conn_error(conn, msg, sizeof(msg));
    }
    if (line > 0) {
        snprintf(where, sizeof(where), " at line %d", line);
    }
    err_set(err, "migration %s failed%s: %s%s%s%s%s%s", m->name, where, primary,
            state != NULL ? " (SQLSTATE " : "", state != NULL ? state : "",
            state != NULL ? ")" : "", hint != NULL ? "; hint: " : "", hint != NULL ? hint : "");
}

/* Apply m and record it, in one transaction; rolled back by the caller on failure. */
static int
apply_one(PGconn *conn, const struct migration *m, const char *sum, struct err *err)
{
    const char *values[2] = {m->name, sum};
    PGresult *res = NULL;
    char what[128];
    int rc = -1;

    snprintf(what, sizeof(what), "migration %s: cannot begin", m->name);
    if (exec_command(conn, SQL_BEGIN, what, err) < 0) {
        goto out;
    }
    /* A multi-statement simple query: the server stops at the first error and that error
     * is the last result. An empty file (only comments) is a valid, empty migration. */
    res = PQexec(conn, m->sql);
    switch (PQresultStatus(res)) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
    case PGRES_EMPTY_QUERY:
        break;
    default:
        failed_error(conn, res, m, err);
        goto out;
    }
    if (PQtransactionStatus(conn) != PQTRANS_INTRANS) {
        err_set(err,
                "migration %s ended the transaction migrate opened; remove its "
                "BEGIN/COMMIT",
                m->name);
        goto out;
    }
    PQclear(res);
    res = PQexecParams(conn, SQL_RECORD, 2, NULL, values, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        failed_error(conn, res, m, err);
        goto out;
    }
    snprintf(what, sizeof(what), "migration %s: cannot commit", m->name);
    if (exec_command(conn, "COMMIT", what, err) < 0) {
        goto out;
    }
    rc = 0;
out:
    PQclear(res);
    return rc;
}

/* Leave no transaction open behind us: the caller gets the connection back idle. */
static void
rollback_if_open(PGconn *conn)
{
    PGTransactionStatusType ts = PQtransactionStatus(conn);

    if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
        PQclear(PQexec(conn, "ROLLBACK"));
    }
}

static int
check_conn(PGconn *conn, struct err *err)
{
    if (PQstatus(conn) != CONNECTION_OK) {
        return err_set(err, "migrate: not connected to the database");
    }
    if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
        return err_set(err, "migrate: the connection is inside a transaction");
    }
    return 0;
}

/*
 * The checksum of every migration into sums, and each one's recorded checksum, if any,
 * into was (borrowed from recorded). -1 on the first changed one, naming it.
 */
static int
compare_all(PGconn *conn, const PGresult *recorded, checksum_t *sums, const char **was,
            bool *changed, struct err *err)
{
    *changed = false;
    for (size_t i = 0; i < migrations_count; i++) {
        if (migration_checksum(conn, &migrations[i], sums[i], err) < 0) {
            return -1;
        }
        was[i] = recorded_checksum(recorded, migrations[i].name);
        if (was[i] != NULL && strcmp(was[i], sums[i]) != 0) {
            *changed = true;
            return changed_error(err, &migrations[i], sums[i], was[i]);
        }
    }
    return 0;
}

int
migrate_run(PGconn *conn, bool dry_run, struct migrate_report *report, struct err *err)
{
    PGresult *recorded = NULL;
    checksum_t *sums = xcalloc(migrations_count + 1, sizeof(*sums));
    const char **was = xcalloc(migrations_count + 1, sizeof(*was));
    bool locked = false, changed;
    int rc = -1;

    memset(report, 0, sizeof(*report));
    report->dry_run = dry_run;
    report->total = (int)migrations_count;
    if (check_conn(conn, err) < 0) {
        goto out;
    }
    if (advisory_lock(conn, true, err) < 0) {
        goto out;
    }
    locked = true;
    if (!dry_run &&
        exec_command(conn, SQL_BOOTSTRAP,
                     "migrate: cannot create creatoros_agent.schema_migrations", err) < 0) {
        goto out;
    }
    if (load_recorded(conn, &recorded, err) < 0) {
        goto out;
    }
    /* Every recorded checksum is checked before anything runs: an edited migration
     * stops the whole run, not just the ones after it. */
    if (compare_all(conn, recorded, sums, was, &changed, err) < 0) {
        goto out;
    }
    for (size_t i = 0; i < migrations_count; i++) {
        if (was[i] != NULL) {
            report->already++;
            continue;
        }
        if (!dry_run && apply_one(conn, &migrations[i], sums[i], err) < 0) {
            goto out;
        }
        if (report->applied < MIGRATE_REPORT_NAMES) {
            report->names[report->applied] = migrations[i].name;
        }
        report->applied++;
    }
    rc = 0;
out:
    PQclear(recorded);
    rollback_if_open(conn);
    /* A failed unlock must not hide the error that brought us here; the lock goes with
     * the session anyway. */
    if (locked && advisory_lock(conn, false, rc == 0 ? err : NULL) < 0) {
        rc = -1;
    }
    free(sums);
    free(was);
    return rc;
}

int
migrate_pending(PGconn *conn, int *pending, struct err *err)
{
    PGresult *recorded = NULL;
    checksum_t *sums = xcalloc(migrations_count + 1, sizeof(*sums));
    const char **was = xcalloc(migrations_count + 1, sizeof(*was));
    bool changed = false;
    int rc = -1, n = 0;

    *pending = 0;
    if (check_conn(conn, err) < 0) {
        goto out;
    }
    if (load_recorded(conn, &recorded, err) < 0) {
        goto out;
    }
    if (compare_all(conn, recorded, sums, was, &changed, err) < 0) {
        if (changed) {
            *pending = -1;
            rc = 0;
        }
        goto out;
    }
    for (size_t i = 0; i < migrations_count; i++) {
        n += was[i] == NULL;
    }
    *pending = n;
    rc = 0;
out:
    PQclear(recorded);
    free(sums);
    free(was);
    return rc;
}

void
migrate_report_describe(const struct migrate_report *report, struct strbuf *out)
{
    int listed = report->applied < MIGRATE_REPORT_NAMES ? report->applied : MIGRATE_REPORT_NAMES;

    if (report->applied == 0) {
        strbuf_addf(out, "nothing to apply, %d of %d migration%s already applied", report->already,
                    report->total, report->total == 1 ? "" : "s");
        return;
    }
    strbuf_addf(out, "%s %d migration%s (", report->dry_run ? "would apply" : "applied",
                report->applied, report->applied == 1 ? "" : "s");
    for (int i = 0; i < listed; i++) {
        strbuf_addf(out, "%s%s", i > 0 ? ", " : "", report->names[i]);
    }
    if (listed < report->applied) {
        strbuf_addstr(out, ", ...");
    }
    strbuf_addf(out, "), %d already applied", report->already);
}
