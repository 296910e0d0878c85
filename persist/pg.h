/* pg.h -- the agent's database connection: URL handling, deadlines, pipelines, error classes. */
#ifndef CO_PG_H
#define CO_PG_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

/* What a failed round trip means for the caller. */
enum pg_errclass {
    PG_OK = 0,
    PG_TRANSIENT, /* connection lost, deadline passed, 40001, 40P01, 57P01...: retry later */
    PG_DATA,      /* 22xxx, 23xxx: the data of the file at hand is at fault */
    PG_REFUSED,   /* an ownership conflict raised by a statement (statements.h, STMT_REFUSAL):
                     the course or file at hand is not the agent's to write; err holds the
                     reason, starting with STMT_REFUSAL */
    PG_SCHEMA,    /* SQLSTATE class 42 (undefined table, column or function; 42501
                     insufficient privilege) or 3F000 (no such schema): the database is not
                     what the agent needs, an operator must act; err says what to run */
    PG_FATAL,     /* anything else: an operator must act */
};

struct pg_opts {
    const char *url;           /* NULL: libpq's PG* variables */
    long statement_timeout_ms; /* client-side deadline of one round trip (0: 60 s) */
    bool plain; /* connect only: no prepared statements, no pipeline (migrate, status) */
    /* Re-plan every execution (plan_cache_mode = force_custom_plan): for a long-lived
     * connection, whose tables may have been truncated or bulk-loaded since its generic
     * plans were made (a generic plan made with no statistics keeps scanning whole tables
     * long after they have grown). */
    bool custom_plans;
    /* Called with each server message that is not an error (one line, no newline), warning
     * set for a WARNING (NOTICE, INFO and the like are not): NULL drops them. libpq would
     * print them on stderr, past the log and its format. Notices are also counted
     * (pg_notices_take). */
    void (*notice)(bool warning, const char *msg);
};

struct pg;

/* A connection handle; it connects lazily (pg_connect). Never NULL. */
struct pg *pg_create(const struct pg_opts *opts);
/* Close and free; accepts NULL. */
void pg_destroy(struct pg *pg);

/*
 * Connect (if not connected) with keepalives, tcp_user_timeout and connect_timeout
 * defaults that the URL can override, set statement_timeout, prepare the statements of
 * persist/statements.h. Returns 0, or -1 with a message that never holds the password.
 */
int pg_connect(struct pg *pg, struct err *err);
/* The class of the last pg_connect or pg_enter_pipeline failure: PG_TRANSIENT when the
 * server could not be reached, PG_SCHEMA when a statement could not be prepared because an
 * object is missing (err then names it and says what to run). */
enum pg_errclass pg_connect_class(const struct pg *pg);
void pg_disconnect(struct pg *pg);
/* Prepare the statements and enter pipeline mode on a plain connection. 0 or -1 (err). */
int pg_enter_pipeline(struct pg *pg, struct err *err);
bool pg_is_connected(const struct pg *pg);
/* The live connection, borrowed (NULL when disconnected). */
PGconn *pg_conn(struct pg *pg);
/* The URL for logs: user, host, port and database, never a password. Borrowed. */
const char *pg_display(const struct pg *pg);
/* "15.18" of the connected server, else "?". Borrowed. */
const char *pg_server_version(const struct pg *pg);

/*
 * Redact a connection string or URL for printing: returns a heap string (free()) with
 * any password removed, or a copy of "(unparsable connection string)".
 */
char *pg_redact(const char *url);

/*
 * Where the password sits in a URL ("postgresql://user:PASSWORD@host/db") or a key/value
 * string ("... password=PASSWORD ..."): returns true with its offset and length.
 */
bool pg_password_span(const char *conninfo, size_t *off, size_t *len);

/* Classify a failed result (NULL: connection trouble) by its SQLSTATE. */
enum pg_errclass pg_classify(const PGresult *res);

/*
 * Server notices (not warnings) received since the last call, and the text of the first of
 * them into first (cap bytes, may be 0); the count restarts at 0. For one summary line per
 * batch instead of a line per row (a trigger may raise one NOTICE per row written).
 */
long pg_notices_take(struct pg *pg, char *first, size_t cap);

/* ---- pipelines: send many statements, then collect, so that round trips never limit us ---- */

/* One parameter set for a prepared statement; values may be binary (formats[i] = 1). */
struct pg_call {
    int stmt; /* index into statements.h's table */
    int nparams;
    const char *const *values;
    const int *lengths;
    const int *formats;
};

/*
 * Queue the calls of one transaction, then a sync point: everything up to the sync is one
 * implicit transaction, committed at the sync, or rolled back whole at the first error.
 * Returns 0, or -1 (connection dropped, class PG_TRANSIENT) with err filled.
 */
int pg_send_txn(struct pg *pg, const struct pg_call *calls, size_t ncalls, struct err *err);

/*
 * Wait (with the statement deadline) for the results of the transaction sent last.
 * On success returns PG_OK and, when rows is not NULL, rows[i] = rows affected by call i.
 * On failure returns the class, with failed_call = the index of the failing call and the
 * server's message and SQLSTATE in err; the transaction was rolled back. A passed deadline
 * or lost connection disconnects (PG_TRANSIENT).
 */
enum pg_errclass pg_collect_txn(struct pg *pg, size_t ncalls, long *rows, size_t *failed_call,
                                struct err *err);

/*
 * The same, keeping the results of the calls i with keep[i] set: results[i] is then that
 * call's PGresult (the caller PQclears it), else NULL. On failure every kept result is
 * cleared and NULL.
 */
enum pg_errclass pg_collect_txn_results(struct pg *pg, size_t ncalls, long *rows, const bool *keep,
                                        PGresult **results, size_t *failed_call, struct err *err);

/*
 * One statement with text parameters outside any pipeline (status, state loading). Returns
 * the result (PQclear it) with status checked: NULL on failure, with err and *cls set.
 */
PGresult *pg_exec(struct pg *pg, const char *sql, int nparams, const char *const *values,
                  enum pg_errclass *cls, struct err *err);

#endif
