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
    PG_DATA,      /* 22xxx, 23xxx, 54xxx: the data of the file at hand is at fault */
    PG_REFUSED,   /* an ownership conflict raised by a statement (statements.h, STMT_REFUSAL):
                     the course or file at hand is not the agent's to write; err holds the
                     reason, starting with STMT_REFUSAL */
    PG_SCHEMA,    /* SQLSTATE class 42 (undefined table, column or function; 42501
                     insufficient privilege) or 3F000 (no such schema): the database is not
                     what the agent needs, an operator must act; err says what to run */
    PG_FATAL,     /* anything else: an operator must act */
};

/* The client-side deadline of one round trip when none is given (--statement-timeout-ms). */
#define PG_DEFAULT_STATEMENT_TIMEOUT_MS 60000L

struct pg_opts {
    const char *url;           /* NULL: libpq's PG* variables */
    long statement_timeout_ms; /* client-side deadline of one round trip (0: the default) */
    bool plain; /* connect only: no prepared statements, no pipeline (migrate, status) */
    /* Re-plan every execution (plan_cache_mode = force_custom_plan): for a long-lived
     * connection, whose tables may have been truncated or bulk-loaded since its generic
     * plans were made (a generic plan made with no statistics keeps scanning whole tables
     * long after they have grown). */
    bool custom_plans;
    /* Behind a transaction pooler (PgBouncer pool_mode=transaction, Supabase port 6543): a
     * server connection is ours only for one transaction, so nothing may outlive one. No
     * statement is prepared (each is sent unnamed, parsed and planned with its parameters),
     * no session setting is made (statement_timeout is set for each transaction with
     * set_config(..., true)), and custom_plans is moot (an unnamed statement is planned for
     * its parameters every time). */
    bool txn_pool;
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
 * persist/statements.h (with txn_pool: neither; see pg_opts). Returns 0, or -1 with a
 * message that never holds the password.
 */
int pg_connect(struct pg *pg, struct err *err);
/* The class of the last pg_connect or pg_enter_pipeline failure: PG_TRANSIENT when the
 * server could not be reached, PG_SCHEMA when a statement could not be prepared because an
 * object is missing (err then names it and says what to run). */
enum pg_errclass pg_connect_class(const struct pg *pg);
void pg_disconnect(struct pg *pg);
/*
 * How the transactions sent from now on plan their statements. on: once per connection, a
 * generic plan made with the parameters unknown (plan_cache_mode = force_generic_plan,
 * set by the first statement of each transaction as SET LOCAL would); off: as the
 * connection was set up (custom_plans, else PostgreSQL's own choice). For the small
 * batches of a watched tree, whose statements would otherwise spend longer being planned
 * than run; the plan is made once the tables hold the tree, never over tables a reconcile
 * is still filling. No effect with txn_pool (nothing is prepared: every statement is
 * planned for its parameters).
 */
void pg_plan_generic(struct pg *pg, bool on);
/* The next transaction first drops every plan the connection made (DISCARD PLANS), so that
 * generic plans are made again, over the tables as they are now: a plan made over tables
 * that have grown much since (a tree that started empty) may scan them whole. */
void pg_replan(struct pg *pg);

/* Prepare the statements (not with txn_pool) and enter pipeline mode on a plain connection.
 * 0 or -1 (err). */
int pg_enter_pipeline(struct pg *pg, struct err *err);
bool pg_is_connected(const struct pg *pg);
/* The live connection, borrowed (NULL when disconnected). */
PGconn *pg_conn(struct pg *pg);
/* The URL for logs: user, host, port and database, never a password. Borrowed. */
const char *pg_display(const struct pg *pg);
/* "15.18" of the connected server, else "?". Borrowed. */
const char *pg_server_version(const struct pg *pg);

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
 * Queue the calls; with sync, end them with the sync point that commits (as pg_send_txn);
 * without, they join the implicit transaction that a later sync ends (a course written in
 * parts), and a flush request makes the server answer them at once. Returns PG_OK,
 * PG_TRANSIENT (connection dropped) or PG_DATA (a call's parameters are larger than one
 * protocol message may be: nothing was sent, and the server was never asked).
 */
enum pg_errclass pg_send_calls(struct pg *pg, const struct pg_call *calls, size_t ncalls, bool sync,
                               struct err *err);

/*
 * Read the results of the ncalls calls sent last (sync: as sent with their sync point).
 * wait false: return as soon as nothing more has arrived, with *done false (call again with
 * the same arguments; the statement deadline counts from the first call). When *done: PG_OK
 * and rows[i] the rows of call i, or the class of the first failure (failed_call, err); a
 * part without a sync that failed has been closed (its transaction rolled back). A passed
 * deadline or a lost connection disconnects (PG_TRANSIENT, *done false). keep (may be NULL)
 * and results as pg_collect_txn_results: results[i] is the PGresult of call i when keep[i]
 * (the caller PQclears it once *done with PG_OK; on a failure none is left).
 */
enum pg_errclass pg_poll_txn(struct pg *pg, size_t ncalls, bool sync, bool wait, long *rows,
                             const bool *keep, PGresult **results, bool *done, size_t *failed_call,
                             struct err *err);

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

/*
 * One statement as pg_exec, its rows handed to row_cb one at a time as they arrive (libpq's
 * single-row mode: row `row` of res, borrowed for the call), so that no result of a whole
 * table is ever held; the deadline runs from the last row. Returns PG_OK, or the failure
 * class with err (rows before the failure were handed over).
 */
typedef void (*pg_row_cb)(void *arg, const PGresult *res, int row);
enum pg_errclass pg_exec_rows(struct pg *pg, const char *sql, int nparams,
                              const char *const *values, pg_row_cb row_cb, void *arg,
                              struct err *err);

#endif
