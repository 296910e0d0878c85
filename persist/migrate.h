/* migrate.h -- apply the sql/ migrations compiled into the binary, each once, in order. */
#ifndef CO_MIGRATE_H
#define CO_MIGRATE_H

#include <stdbool.h>

#include <libpq-fe.h>

#include "common/err.h"
#include "common/strbuf.h"

/*
 * The record of what ran lives in creatoros_agent.schema_migrations(version, checksum,
 * applied_at): version is the file name ("0002_rls.sql"), checksum the SHA-256 of its
 * bytes in hex. A migration recorded with another checksum was edited after it ran; then
 * nothing more is applied until the file is restored or a new migration replaces the edit.
 *
 * Each migration runs in its own transaction (the file must hold no BEGIN/COMMIT, and no
 * statement that refuses a transaction such as CREATE INDEX CONCURRENTLY) together with
 * the INSERT that records it. A session advisory lock (MIGRATE_LOCK_KEY) serializes
 * concurrent runs on one database: the second waits, then finds everything applied. Server
 * NOTICEs are silenced; WARNINGs reach the connection's notice processor.
 * On Supabase, connect directly or through the session pooler: a transaction pooler
 * (port 6543) does not keep a session advisory lock.
 */

/* The pg_advisory_lock key: "CrOSMigr" in ASCII. */
#define MIGRATE_LOCK_KEY 0x43724f534d696772LL
/* How many names a report lists; counts go on beyond it. */
#define MIGRATE_REPORT_NAMES 64

struct migrate_report {
    bool dry_run;
    int total;   /* migrations compiled into the binary */
    int applied; /* applied by this run (with dry_run: that would be) */
    int already; /* recorded earlier with the same checksum */
    /* The first MIGRATE_REPORT_NAMES of those applied (or due), in order. They point
     * into the static migrations table: never freed, valid for the program's life. */
    const char *names[MIGRATE_REPORT_NAMES];
};

/*
 * Apply every migration not yet recorded, in name order, under the advisory lock; with
 * dry_run, take the lock, write nothing and report what would be applied. conn is
 * borrowed, connected and outside a transaction; it is outside one again on return, lock
 * released. report (required) is filled on both paths: on failure it holds what was
 * applied before it. Returns 0, or -1 with err naming the file (a changed checksum, or
 * the server's message and line for a failing statement; that migration is rolled back).
 * Never prints or reports the connection string.
 */
int migrate_run(PGconn *conn, bool dry_run, struct migrate_report *report, struct err *err);

/*
 * How many migrations are not yet applied, into *pending, without the lock or any write;
 * for `status`, so a reader with SELECT on the record suffices. A recorded migration whose
 * checksum differs sets *pending = -1 and err to the same message migrate_run gives, and
 * returns 0. Returns -1 with err when the database cannot be asked.
 */
int migrate_pending(PGconn *conn, int *pending, struct err *err);

/*
 * Append one line (no newline) describing report to out, e.g. "applied 3 migrations
 * (0001_creatoros_schema.sql, 0002_rls.sql, 0003_agent_role.sql), 0 already applied".
 */
void migrate_report_describe(const struct migrate_report *report, struct strbuf *out);

#endif
