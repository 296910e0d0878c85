/* migrate.h -- the sql/ migrations compiled into the binary, on a fresh or an existing database. */
#ifndef CO_MIGRATE_H
#define CO_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "common/err.h"
#include "common/strbuf.h"

/*
 * Two kinds of migrations, by number: 0001-0009 build the CreatorOS schema (the Supabase
 * stand-ins, the shared tables, their policies) and run only on a fresh database; 0010 and up
 * hold the agent's own objects (its schema, file state, role, grants and policies) and run on
 * every database. A database is fresh when it holds none of the shared tables (or this binary
 * recorded building them); otherwise it is an existing CreatorOS database: it is checked first
 * (persist/adopt.h) and, when it holds everything the agent relies on, only the agent's own
 * migrations are applied. Everything they change outside the agent's schema is recorded with
 * its undo (creatoros_agent.changes), so that MIGRATE_REVERT can take it back.
 *
 * The record of what ran lives in creatoros_agent.schema_migrations(version, checksum,
 * applied_at): version is the file name ("0010_agent_state.sql"), checksum the SHA-256 of its
 * bytes in hex. A migration recorded with another checksum was edited after it ran; a recorded
 * version this binary does not know (a newer one, or the layout of an earlier development
 * version) is refused too. Then nothing is applied.
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
/* The first migration number that belongs to the agent (runs on existing databases too). */
#define MIGRATE_AGENT_FIRST 10

enum migrate_db {
    MIGRATE_DB_FRESH = 0, /* no CreatorOS table: migrate builds the schema */
    MIGRATE_DB_EXISTING,  /* an existing CreatorOS database: adopted, never rebuilt */
};

/* What a run does besides applying migrations. */
enum migrate_mode {
    MIGRATE_APPLY = 0,
    MIGRATE_HARDEN, /* apply, then close the known holes of the policies (existing databases) */
    MIGRATE_REVERT, /* take back everything migrate and --harden added to an existing database */
};

/* One line of a report; text is owned by the report. */
enum migrate_line_kind {
    MIGRATE_LINE_CREATED, /* an object this run created (with dry_run: would create) */
    MIGRATE_LINE_HOLE,    /* a known hole of the policies: "ID: what; fix: how" */
    MIGRATE_LINE_CHANGED, /* a fix --harden applied (with dry_run: would apply) */
    MIGRATE_LINE_REMOVED, /* what --revert took back (with dry_run: would take back) */
    MIGRATE_LINE_PROBLEM, /* what an existing database lacks: nothing was changed */
    MIGRATE_LINE_NOTE,    /* anything else worth a line (a role kept by --revert) */
};

struct migrate_line {
    enum migrate_line_kind kind;
    char *text;
};

struct migrate_report {
    bool dry_run;
    enum migrate_mode mode;
    enum migrate_db db;
    int total;   /* migrations compiled into the binary */
    int applied; /* applied by this run (with dry_run: that would be) */
    int already; /* recorded earlier with the same checksum */
    int holes;   /* known holes found (before any --harden) */
    /* The first MIGRATE_REPORT_NAMES of those applied (or due), in order. They point
     * into the static migrations table: never freed, valid for the program's life. */
    const char *names[MIGRATE_REPORT_NAMES];
    struct migrate_line *lines; /* in the order they happened */
    size_t nlines, alloc;
};

/*
 * Run migrate on conn (borrowed, connected and outside a transaction; outside one again on
 * return, lock released): apply every migration not yet recorded that belongs to the database's
 * kind, in name order, under the advisory lock; then report the known holes, and with
 * MIGRATE_HARDEN fix them. MIGRATE_REVERT applies nothing: it takes back what the record of
 * changes holds and drops the agent's schema (existing databases only). With dry_run the same
 * work runs where it can be rolled back, and nothing is kept. report (required;
 * migrate_report_release it) is filled on every path. Returns 0, or -1 with err: a changed or
 * unknown recorded migration, an existing database that lacks something (each problem is a
 * MIGRATE_LINE_PROBLEM line; nothing was changed), or a failing statement (the file and line,
 * and the server's message; that step is rolled back). Never prints the connection string.
 */
int migrate_run(PGconn *conn, bool dry_run, enum migrate_mode mode, struct migrate_report *report,
                struct err *err);

/* Free the report's lines; the report may be reused after it. */
void migrate_report_release(struct migrate_report *report);

/* Append a line of kind (printf-style) to report. */
void migrate_report_add(struct migrate_report *report, enum migrate_line_kind kind, const char *fmt,
                        ...) __attribute__((format(printf, 3, 4)));

/*
 * How many migrations this database still needs, into *pending, without the lock or any write;
 * for `status`, so a reader with SELECT on the record suffices. A recorded migration whose
 * checksum differs, or one this binary does not know, sets *pending = -1 and err to the message
 * migrate_run gives, and returns 0. Returns -1 with err when the database cannot be asked.
 */
int migrate_pending(PGconn *conn, int *pending, struct err *err);

/*
 * Append one line (no newline) summing report up to out, e.g. "applied 3 migrations
 * (0001_supabase.sql, 0002_creatoros_schema.sql, 0003_creatoros_rls.sql), 0 already applied".
 */
void migrate_report_describe(const struct migrate_report *report, struct strbuf *out);

#endif
