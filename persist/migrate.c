/* migrate.c -- `migrate`: the embedded sql/ files, each once, recorded, under a lock; adoption. */
#include "persist/migrate.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "persist/adopt.h"
#include "persist/migrations.h"
#include "persist/plain.h"

/* pg_type.h is a server header; the OID of bytea is fixed forever. */
#define MIGRATE_BYTEAOID 17
#define MIGRATE_CHECKSUM_HEX 64

/*
 * The record table is created before any migration runs, so that the first one is
 * recorded like the others. Only under the lock: two concurrent CREATE ... IF NOT EXISTS
 * can still collide on the catalog's unique index. Inside the caller's transaction.
 */
static const char SQL_BOOTSTRAP[] = "CREATE SCHEMA IF NOT EXISTS creatoros_agent;"
                                    "CREATE TABLE IF NOT EXISTS creatoros_agent.schema_migrations ("
                                    "    version    text PRIMARY KEY,"
                                    "    checksum   text NOT NULL,"
                                    "    applied_at timestamptz NOT NULL DEFAULT now())";
static const char SQL_LOCK[] = "SELECT pg_catalog.pg_advisory_lock($1::int8)";
static const char SQL_UNLOCK[] = "SELECT pg_catalog.pg_advisory_unlock($1::int8)";
static const char SQL_STATE[] =
    "SELECT pg_catalog.to_regnamespace('creatoros_agent') IS NOT NULL, "
    "  pg_catalog.to_regclass('creatoros_agent.schema_migrations') IS NOT NULL";
static const char SQL_RECORDED[] =
    "SELECT version, checksum FROM creatoros_agent.schema_migrations ORDER BY version";
/* The server hashes: SHA-256 without carrying one in C, and the bytes travel as binary
 * bytea, so no escaping can change what is hashed. */
static const char SQL_CHECKSUM[] = "SELECT pg_catalog.encode(pg_catalog.sha256($1), 'hex')";
static const char SQL_BEGIN[] = "BEGIN; SET LOCAL client_min_messages = warning";
static const char SQL_RECORD[] =
    "INSERT INTO creatoros_agent.schema_migrations (version, checksum) VALUES ($1, $2)";

/* The migrations an earlier development version recorded; its layout cannot be upgraded. */
static const char *const old_layout[] = {"0001_creatoros_schema.sql", "0002_rls.sql",
                                         "0003_agent_role.sql"};

typedef char checksum_t[MIGRATE_CHECKSUM_HEX + 1];

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
                plain_error(conn, msg, sizeof(msg)));
        goto out;
    }
    rc = 0;
out:
    PQclear(res);
    return rc;
}

/* What migrate finds before it changes anything. */
struct db_state {
    PGresult *recorded; /* version, checksum; NULL: no record table (never migrated) */
    bool schema;        /* the schema creatoros_agent exists */
    int shared;         /* how many of the relations CreatorOS and the agent share exist */
    enum migrate_db db;
};

static int
migration_number(const struct migration *m)
{
    return atoi(m->name);
}

/* Whether m builds the CreatorOS schema (a fresh database only) rather than the agent's. */
static bool
migration_is_app(const struct migration *m)
{
    return migration_number(m) < MIGRATE_AGENT_FIRST;
}

static bool
migration_applies(const struct migration *m, enum migrate_db db)
{
    return db == MIGRATE_DB_FRESH || !migration_is_app(m);
}

static const struct migration *
migration_find(const char *name)
{
    for (size_t i = 0; i < migrations_count; i++) {
        if (strcmp(migrations[i].name, name) == 0) {
            return &migrations[i];
        }
    }
    return NULL;
}

/*
 * Fill st (st->recorded: PQclear it) and refuse what this binary cannot carry on from: the
 * layout of an earlier development version, a recorded migration it does not know, and a
 * schema creatoros_agent that it did not make (--revert would drop it). -1 with err, and
 * *refused set for those (unset when the database could not be asked).
 */
static int
inspect(PGconn *conn, struct db_state *st, bool *refused, struct err *err)
{
    PGresult *res = PQexec(conn, SQL_STATE);
    bool has_record, app = false, agent = false;
    char msg[ERR_MSG_MAX];
    int rc = -1;

    memset(st, 0, sizeof(*st));
    *refused = false;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        err_set(err, "migrate: cannot look for the migration record: %s",
                plain_error(conn, msg, sizeof(msg)));
        goto out;
    }
    st->schema = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    has_record = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    PQclear(res);
    res = NULL;
    if (st->schema && !has_record) {
        *refused = true;
        err_set(err, "migrate: the schema creatoros_agent exists but holds no migration record, so "
                     "creatoros-agent did not make it; rename or drop that schema first");
        goto out;
    }
    if (has_record) {
        st->recorded = PQexec(conn, SQL_RECORDED);
        if (PQresultStatus(st->recorded) != PGRES_TUPLES_OK) {
            err_set(err, "migrate: cannot read creatoros_agent.schema_migrations: %s",
                    plain_error(conn, msg, sizeof(msg)));
            goto out;
        }
    }
    for (int i = 0; st->recorded != NULL && i < PQntuples(st->recorded); i++) {
        const char *version = PQgetvalue(st->recorded, i, 0);
        const struct migration *m = migration_find(version);

        for (size_t k = 0; k < sizeof(old_layout) / sizeof(old_layout[0]); k++) {
            if (strcmp(version, old_layout[k]) == 0) {
                *refused = true;
                err_set(err,
                        "migrate: this database was set up by an earlier development version "
                        "of creatoros-agent (it records %s), whose schema cannot be upgraded; "
                        "migrate a new, empty database (or your CreatorOS database) and "
                        "backfill into it",
                        version);
                goto out;
            }
        }
        if (m == NULL) {
            *refused = true;
            err_set(err,
                    "migrate: the database records migration %s, which this creatoros-agent "
                    "does not have (a newer version migrated it?); use that version",
                    version);
            goto out;
        }
        app |= migration_is_app(m);
        agent |= !migration_is_app(m);
    }
    if (adopt_count_shared(conn, &st->shared, err) < 0) {
        goto out;
    }
    /* Built here once (its app migrations are recorded), or nothing of CreatorOS yet: fresh.
     * An adopted database stays existing even if its tables went away (then the check says so). */
    st->db = app || (!agent && st->shared == 0) ? MIGRATE_DB_FRESH : MIGRATE_DB_EXISTING;
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
                plain_error(conn, msg, sizeof(msg)));
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
        primary = plain_error(conn, msg, sizeof(msg));
    }
    if (line > 0) {
        snprintf(where, sizeof(where), " at line %d", line);
    }
    err_set(err, "migration %s failed%s: %s%s%s%s%s%s", m->name, where, primary,
            state != NULL ? " (SQLSTATE " : "", state != NULL ? state : "",
            state != NULL ? ")" : "", hint != NULL ? "; hint: " : "", hint != NULL ? hint : "");
}

/* Apply m and record it inside the open transaction (the caller ends it). */
static int
apply_in_txn(PGconn *conn, const struct migration *m, const char *sum, struct err *err)
{
    const char *values[2] = {m->name, sum};
    PGresult *res;
    int rc = -1;

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
    rc = 0;
out:
    PQclear(res);
    return rc;
}

/* Apply m and record it, in one transaction; rolled back by the caller on failure. */
static int
apply_one(PGconn *conn, const struct migration *m, const char *sum, struct err *err)
{
    char what[128];

    snprintf(what, sizeof(what), "migration %s: cannot begin", m->name);
    if (plain_command(conn, SQL_BEGIN, 0, NULL, what, err) < 0 ||
        apply_in_txn(conn, m, sum, err) < 0) {
        return -1;
    }
    snprintf(what, sizeof(what), "migration %s: cannot commit", m->name);
    return plain_command(conn, "COMMIT", 0, NULL, what, err);
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

void
migrate_report_add(struct migrate_report *report, enum migrate_line_kind kind, const char *fmt, ...)
{
    struct strbuf sb = STRBUF_INIT;
    va_list ap;

    va_start(ap, fmt);
    strbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    if (report->nlines == report->alloc) {
        report->alloc = report->alloc ? report->alloc * 2 : 16;
        report->lines = xrealloc(report->lines, report->alloc * sizeof(*report->lines));
    }
    report->lines[report->nlines].kind = kind;
    report->lines[report->nlines].text = strbuf_detach(&sb, NULL);
    report->nlines++;
}

void
migrate_report_release(struct migrate_report *report)
{
    for (size_t i = 0; i < report->nlines; i++) {
        free(report->lines[i].text);
    }
    free(report->lines);
    report->lines = NULL;
    report->nlines = report->alloc = 0;
}

/* Each line of after that before lacks, as a MIGRATE_LINE_CREATED line. */
static void
report_created(struct migrate_report *report, const struct strbuf *before,
               const struct strbuf *after)
{
    struct strbuf key = STRBUF_INIT;
    struct strbuf hay = STRBUF_INIT;
    const char *p = after->buf;

    strbuf_addch(&hay, '\n');
    strbuf_add(&hay, before->buf, before->len);
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);

        strbuf_reset(&key);
        strbuf_addch(&key, '\n');
        strbuf_add(&key, p, n);
        strbuf_addch(&key, '\n');
        if (strstr(hay.buf, key.buf) == NULL) {
            migrate_report_add(report, MIGRATE_LINE_CREATED, "%.*s", (int)n, p);
        }
        p += n + (nl != NULL);
    }
    strbuf_release(&key);
    strbuf_release(&hay);
}

/* How one migration is applied: inside the open transaction, or in one of its own. */
typedef int apply_fn(PGconn *conn, const struct migration *m, const char *sum, struct err *err);

/* The migrations the database needs that are not recorded (was[i] NULL), in order, each
 * applied by apply and named in report. 0, or -1 with err at the first failure. */
static int
apply_pending(PGconn *conn, const struct db_state *st, checksum_t *sums, const char **was,
              apply_fn *apply, struct migrate_report *report, struct err *err)
{
    for (size_t i = 0; i < migrations_count; i++) {
        if (was[i] != NULL || !migration_applies(&migrations[i], st->db)) {
            continue;
        }
        if (apply(conn, &migrations[i], sums[i], err) < 0) {
            return -1;
        }
        if (report->applied < MIGRATE_REPORT_NAMES) {
            report->names[report->applied] = migrations[i].name;
        }
        report->applied++;
    }
    return 0;
}

/*
 * Apply what the database needs, then look for the known holes: each migration in its own
 * transaction, then --harden's fixes with their record in one (they commit together, or not
 * at all). A dry run (of an existing database) runs it all in one transaction that is rolled
 * back: what the migrations would create is listed exactly (the catalog after, against
 * before), and nothing stays.
 */
static int
apply(PGconn *conn, const struct db_state *st, checksum_t *sums, const char **was, bool dry_run,
      enum migrate_mode mode, struct migrate_report *report, struct err *err)
{
    struct strbuf before = STRBUF_INIT, after = STRBUF_INIT;
    bool existing = st->db == MIGRATE_DB_EXISTING;
    const char *begin = dry_run ? "migrate --dry-run: cannot begin" : "migrate: cannot begin";
    int rc = -1;

    if ((existing && adopt_inventory(conn, &before, err) < 0) ||
        plain_command(conn, SQL_BEGIN, 0, NULL, begin, err) < 0 ||
        plain_command(conn, SQL_BOOTSTRAP, 0, NULL,
                      "migrate: cannot create creatoros_agent.schema_migrations", err) < 0 ||
        (!dry_run && plain_command(conn, "COMMIT", 0, NULL, "migrate: cannot commit", err) < 0) ||
        apply_pending(conn, st, sums, was, dry_run ? apply_in_txn : apply_one, report, err) < 0) {
        goto out;
    }
    if (existing) {
        if (adopt_inventory(conn, &after, err) < 0) {
            goto out;
        }
        report_created(report, &before, &after);
    }
    if ((!dry_run && plain_command(conn, SQL_BEGIN, 0, NULL, begin, err) < 0) ||
        adopt_holes(conn, mode == MIGRATE_HARDEN, report, err) < 0 ||
        (!dry_run &&
         plain_command(conn, "COMMIT", 0, NULL, "migrate --harden: cannot commit", err) < 0)) {
        goto out;
    }
    rc = 0;
out:
    rollback_if_open(conn);
    strbuf_release(&before);
    strbuf_release(&after);
    return rc;
}

static int
revert(PGconn *conn, const struct db_state *st, bool dry_run, struct migrate_report *report,
       struct err *err)
{
    int rc = -1;

    if (st->recorded == NULL) {
        return err_set(err, "migrate --revert: nothing to take back, creatoros-agent never "
                            "migrated this database");
    }
    if (st->db == MIGRATE_DB_FRESH) {
        return err_set(err, "migrate --revert takes back what creatoros-agent added to an existing "
                            "CreatorOS database; it built this database's schema itself, so drop "
                            "the database instead");
    }
    if (plain_command(conn, SQL_BEGIN, 0, NULL, "migrate --revert: cannot begin", err) < 0 ||
        adopt_revert(conn, report, err) < 0 ||
        plain_command(conn, dry_run ? "ROLLBACK" : "COMMIT", 0, NULL,
                      "migrate --revert: cannot commit", err) < 0) {
        goto out;
    }
    rc = 0;
out:
    rollback_if_open(conn);
    return rc;
}

int
migrate_run(PGconn *conn, bool dry_run, enum migrate_mode mode, struct migrate_report *report,
            struct err *err)
{
    struct db_state st = {0};
    checksum_t *sums = xcalloc(migrations_count + 1, sizeof(*sums));
    const char **was = xcalloc(migrations_count + 1, sizeof(*was));
    bool locked = false, changed, refused;
    int rc = -1, problems;

    memset(report, 0, sizeof(*report));
    report->dry_run = dry_run;
    report->mode = mode;
    if (check_conn(conn, err) < 0) {
        goto out;
    }
    if (advisory_lock(conn, true, err) < 0) {
        goto out;
    }
    locked = true;
    if (inspect(conn, &st, &refused, err) < 0) {
        goto out;
    }
    report->db = st.db;
    /* Every recorded checksum is checked before anything runs: an edited migration
     * stops the whole run, not just the ones after it. */
    if (compare_all(conn, st.recorded, sums, was, &changed, err) < 0) {
        goto out;
    }
    for (size_t i = 0; i < migrations_count; i++) {
        if (migration_applies(&migrations[i], st.db)) {
            report->total++;
            report->already += was[i] != NULL;
        }
    }
    if (mode == MIGRATE_REVERT) {
        rc = revert(conn, &st, dry_run, report, err);
        goto out;
    }
    if (st.db == MIGRATE_DB_EXISTING) {
        /* An existing database is checked on every run, before anything is written. */
        if ((problems = adopt_check(conn, report, err)) < 0) {
            goto out;
        }
        if (problems > 0) {
            err_set(err,
                    "migrate: this existing CreatorOS database lacks what creatoros-agent relies "
                    "on (%d problem%s); nothing was changed",
                    problems, problems == 1 ? "" : "s");
            goto out;
        }
        rc = apply(conn, &st, sums, was, dry_run, mode, report, err);
        goto out;
    }
    if (!dry_run) {
        rc = apply(conn, &st, sums, was, false, mode, report, err);
        goto out;
    }
    /* A fresh database's dry run: the migrations due, and (when all are in) the holes. */
    for (size_t i = 0; i < migrations_count; i++) {
        if (was[i] != NULL) {
            continue;
        }
        if (report->applied < MIGRATE_REPORT_NAMES) {
            report->names[report->applied] = migrations[i].name;
        }
        report->applied++;
    }
    if (report->applied == 0 && adopt_holes(conn, false, report, err) < 0) {
        goto out;
    }
    rc = 0;
out:
    PQclear(st.recorded);
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
    struct db_state st = {0};
    checksum_t *sums = xcalloc(migrations_count + 1, sizeof(*sums));
    const char **was = xcalloc(migrations_count + 1, sizeof(*was));
    bool changed = false, refused;
    int rc = -1, n = 0;

    *pending = 0;
    if (check_conn(conn, err) < 0) {
        goto out;
    }
    if (inspect(conn, &st, &refused, err) < 0) {
        /* a record this binary cannot carry on from is the operator's to fix, like an edit */
        if (refused) {
            *pending = -1;
            rc = 0;
        }
        goto out;
    }
    if (compare_all(conn, st.recorded, sums, was, &changed, err) < 0) {
        if (changed) {
            *pending = -1;
            rc = 0;
        }
        goto out;
    }
    for (size_t i = 0; i < migrations_count; i++) {
        n += was[i] == NULL && migration_applies(&migrations[i], st.db);
    }
    *pending = n;
    rc = 0;
out:
    PQclear(st.recorded);
    free(sums);
    free(was);
    return rc;
}

void
migrate_report_describe(const struct migrate_report *report, struct strbuf *out)
{
    int listed = report->applied < MIGRATE_REPORT_NAMES ? report->applied : MIGRATE_REPORT_NAMES;
    size_t removed = 0;

    if (report->mode == MIGRATE_REVERT) {
        for (size_t i = 0; i < report->nlines; i++) {
            removed += report->lines[i].kind == MIGRATE_LINE_REMOVED;
        }
        strbuf_addf(out, "%s %zu change%s of creatoros-agent to the existing CreatorOS database",
                    report->dry_run ? "would take back" : "took back", removed,
                    removed == 1 ? "" : "s");
        return;
    }
    if (report->db == MIGRATE_DB_EXISTING) {
        strbuf_addstr(out, "existing CreatorOS database: ");
    }
    if (report->applied == 0) {
        strbuf_addf(out, "nothing to apply, %d of %d migration%s already applied", report->already,
                    report->total, report->total == 1 ? "" : "s");
    } else {
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
    if (report->holes > 0) {
        strbuf_addf(out, "; %d known hole%s in the policies%s", report->holes,
                    report->holes == 1 ? "" : "s",
                    report->mode == MIGRATE_HARDEN
                        ? (report->dry_run ? ", which --harden would close" : ", closed")
                        : " (migrate --harden closes them)");
    }
}
