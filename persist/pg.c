/* pg.c -- the agent's database connection: URL handling, deadlines, pipelines, error classes. */
#include "persist/pg.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "persist/conninfo.h"
#include "persist/pgversion.h"
#include "persist/statements.h"

struct pg {
    PGconn *conn;
    char *url;     /* owned copy, NULL for PG* variables */
    char *display; /* redacted */
    long deadline_ms;
    char version[32];
    bool in_pipeline;
    bool plain;
    bool custom_plans;
    bool txn_pool;
    bool generic_plans; /* pg_plan_generic: each transaction plans its statements once */
    bool replan;        /* pg_replan: the next transaction drops the plans made so far */
    bool txn_moded;     /* the open transaction set its plan mode (send_plan_mode) ... */
    bool txn_generic;   /* ... to plans made once (else per value) */
    /* the statements sent last, in order: true for ours (settings), false for the caller's */
    bool *sent_ours;
    size_t nsent, sent_cap;
    char timeout_text[32]; /* txn_pool: the statement_timeout each transaction sets */
    bool txn_open;         /* calls were sent without a sync: a transaction is open */
    void (*notice)(bool warning, const char *msg);
    enum pg_errclass connect_class; /* of the last failed pg_connect */
    long notices;                   /* since the last pg_notices_take */
    char first_notice[256];
    char **masks; /* every form of the URL's secrets, longest first (conninfo_secret_forms) */
    size_t nmasks;
    /* what pg_poll_txn has read of the results of the calls sent last */
    size_t poll_i;           /* results read */
    size_t poll_pos;         /* statements whose results were read, ours included */
    bool poll_mid;           /* a call's result was read, the NULL that closes it not yet */
    const bool *poll_keep;   /* the calls whose results the caller keeps (may be NULL) */
    PGresult **poll_results; /* where they go */
    size_t poll_ncalls;
    long long poll_deadline;   /* 0 until the first poll */
    enum pg_errclass poll_cls; /* the first failure */
    size_t poll_failed;        /* its call */
    struct err poll_err;       /* its message */
};

/*
 * The largest message the server reads: a Bind carries every parameter of one statement, and
 * one above this is refused by closing the connection, which would look like an outage.
 */
#define PG_MESSAGE_MAX ((size_t)0x3fffffff - 65536)

/* What a transaction sends first for itself (send_setup): behind a transaction pooler its
 * statement_timeout; with pg_plan_generic, plans made once per connection; after
 * pg_replan, the plans made so far dropped. */
#define TIMEOUT_SQL "SELECT set_config('statement_timeout', $1, true)"
#define PLANS_GENERIC_NAME "co_plans_generic"
#define PLANS_GENERIC_SQL "SELECT set_config('plan_cache_mode', 'force_generic_plan', true)"
#define PLANS_CUSTOM_NAME "co_plans_custom"
#define PLANS_CUSTOM_SQL "SELECT set_config('plan_cache_mode', 'force_custom_plan', true)"
#define REPLAN_SQL "DISCARD PLANS"

/* The length of the first line of a libpq message, all the agent quotes of one: they end
 * in a newline, and may go on with DETAIL, HINT and CONTEXT lines. */
static int
first_line(const char *m)
{
    return (int)strcspn(m, "\n");
}

/* Every message the server sends that is not an error: a WARNING goes to the callback as
 * such; a NOTICE (or INFO, LOG...) is counted, and handed on as a minor message. */
static void
notice_cb(void *arg, const PGresult *res)
{
    struct pg *pg = arg;
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    bool warning = sev != NULL && strcmp(sev, "WARNING") == 0;
    char line[1024];

    if (msg == NULL) {
        msg = PQresultErrorMessage(res);
    }
    snprintf(line, sizeof(line), "%.*s", first_line(msg), msg);
    if (!warning) {
        if (pg->notices++ == 0) {
            snprintf(pg->first_notice, sizeof(pg->first_notice), "%.*s",
                     (int)sizeof(pg->first_notice) - 1, line);
        }
    }
    if (pg->notice != NULL) {
        pg->notice(warning, line);
    }
}

long
pg_notices_take(struct pg *pg, char *first, size_t cap)
{
    long n = pg->notices;

    if (cap > 0) {
        snprintf(first, cap, "%s", n > 0 ? pg->first_notice : "");
    }
    pg->notices = 0;
    pg->first_notice[0] = '\0';
    return n;
}

/* What an operator should do about a schema error, by SQLSTATE. */
static const char *
schema_hint(const char *state)
{
    if (state != NULL && strcmp(state, "42501") == 0) {
        return "the agent's role lacks a privilege: run `creatoros-agent migrate` as an "
               "administrator, then connect as the role it grants (creatoros_agent)";
    }
    return "the database schema is not what this agent needs: run `creatoros-agent migrate` "
           "as an administrator";
}

static void
mask_add(void *arg, const char *form)
{
    struct pg *pg = arg;

    for (size_t i = 0; i < pg->nmasks; i++) {
        if (strcmp(pg->masks[i], form) == 0) {
            return;
        }
    }
    pg->masks = xrealloc(pg->masks, (pg->nmasks + 1) * sizeof(*pg->masks));
    pg->masks[pg->nmasks++] = xstrdup(form);
}

static int
cmp_longest_first(const void *a, const void *b)
{
    size_t x = strlen(*(char *const *)a), y = strlen(*(char *const *)b);

    return x > y ? -1 : x < y;
}

struct pg *
pg_create(const struct pg_opts *opts)
{
    struct pg *pg = xcalloc(1, sizeof(*pg));

    pg->url = opts->url != NULL ? xstrdup(opts->url) : NULL;
    pg->display = conninfo_redact(opts->url);
    pg->deadline_ms = opts->statement_timeout_ms > 0 ? opts->statement_timeout_ms
                                                     : PG_DEFAULT_STATEMENT_TIMEOUT_MS;
    pg->plain = opts->plain;
    pg->custom_plans = opts->custom_plans;
    pg->txn_pool = opts->txn_pool;
    /* The server gives up a little after our own deadline would. */
    snprintf(pg->timeout_text, sizeof(pg->timeout_text), "%ld", pg->deadline_ms + 1000);
    pg->notice = opts->notice;
    conninfo_secret_forms(opts->url, mask_add, pg);
    if (pg->nmasks > 1) {
        qsort(pg->masks, pg->nmasks, sizeof(*pg->masks), cmp_longest_first);
    }
    strcpy(pg->version, "?");
    return pg;
}

void
pg_destroy(struct pg *pg)
{
    if (pg == NULL) {
        return;
    }
    pg_disconnect(pg);
    if (pg->url != NULL) {
        /* the URL may hold a password: do not leave it in freed memory */
        memset(pg->url, 0, strlen(pg->url));
    }
    free(pg->url);
    free(pg->display);
    for (size_t i = 0; i < pg->nmasks; i++) {
        memset(pg->masks[i], 0, strlen(pg->masks[i]));
        free(pg->masks[i]);
    }
    free(pg->masks);
    free(pg->sent_ours);
    free(pg);
}

void
pg_disconnect(struct pg *pg)
{
    if (pg->conn != NULL) {
        PQfinish(pg->conn);
        pg->conn = NULL;
    }
    pg->in_pipeline = false;
    pg->txn_open = false;
    pg->replan = false; /* a new connection has no plan yet */
}

bool
pg_is_connected(const struct pg *pg)
{
    return pg->conn != NULL && PQstatus(pg->conn) == CONNECTION_OK;
}

PGconn *
pg_conn(struct pg *pg)
{
    return pg->conn;
}

const char *
pg_display(const struct pg *pg)
{
    return pg->display;
}

const char *
pg_server_version(const struct pg *pg)
{
    return pg->version;
}

/*
 * The first line of libpq's message, without the trailing newline and with the URL's
 * secrets blanked: libpq quotes the connection string in some of its errors (a bad
 * percent-encoding, a broken IPv6 address), and a message cut at ERR_MSG_MAX must not keep
 * half a password that the log's own blanking could no longer recognise.
 */
static void
set_conn_err(struct pg *pg, struct err *err, const char *what)
{
    const char *m = pg->conn != NULL ? PQerrorMessage(pg->conn) : "out of memory";
    struct strbuf sb = STRBUF_INIT;

    strbuf_add_masked(&sb, m, (size_t)first_line(m), (const char *const *)pg->masks, pg->nmasks);
    err_set(err, "%s: %s", what, sb.buf);
    strbuf_release(&sb);
}

/*
 * The answer to one setup command of a new connection (a SET, a prepare), cleared: on a
 * failure its class is the connection's, err says what failed and the connection is
 * dropped. Returns 0 or -1.
 */
static int
setup_done(struct pg *pg, PGresult *res, const char *what, struct err *err)
{
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        pg->connect_class = pg_classify(res);
        PQclear(res);
        set_conn_err(pg, err, what);
        pg_disconnect(pg);
        return -1;
    }
    PQclear(res);
    return 0;
}

int
pg_connect(struct pg *pg, struct err *err)
{
    /* Our defaults first, then the URL, which overrides them (expand_dbname). */
    const char *keys[] = {"connect_timeout",     "keepalives",       "keepalives_idle",
                          "keepalives_interval", "keepalives_count", "tcp_user_timeout",
                          "application_name",    "dbname",           NULL};
    const char *vals[] = {"10", "1", "30", "10", "3", "30000", "creatoros-agent", pg->url, NULL};
    char timeout[128];

    if (pg_is_connected(pg)) {
        return 0;
    }
    pg_disconnect(pg);
    pg->connect_class = PG_TRANSIENT;
    pg->conn = PQconnectdbParams(keys, vals, 1);
    if (pg->conn == NULL || PQstatus(pg->conn) != CONNECTION_OK) {
        struct err e;
        set_conn_err(pg, &e, "cannot connect");
        pg_disconnect(pg);
        return err_set(err, "%s (%s)", e.msg, pg->display);
    }
    PQsetNoticeReceiver(pg->conn, notice_cb, pg);
    pgversion_text(PQserverVersion(pg->conn), pg->version, sizeof(pg->version));

    if (pg->txn_pool) {
        /* A session setting would stay on a server connection the pooler hands to others:
         * each transaction sets its own timeout instead (send_timeout). */
        return pg->plain ? 0 : pg_enter_pipeline(pg, err);
    }
    snprintf(timeout, sizeof(timeout), "SET statement_timeout = %s%s", pg->timeout_text,
             pg->custom_plans ? "; SET plan_cache_mode = force_custom_plan" : "");
    if (setup_done(pg, PQexec(pg->conn, timeout), "cannot set statement_timeout", err) != 0) {
        return -1;
    }
    return pg->plain ? 0 : pg_enter_pipeline(pg, err);
}

int
pg_enter_pipeline(struct pg *pg, struct err *err)
{
    PGresult *res;

    if (pg->in_pipeline) {
        return 0;
    }
    /* Behind a transaction pooler a prepared statement would live on one server connection
     * while our next transaction may run on another: statements are sent unnamed. */
    for (int i = 0; i < STMT_COUNT && !pg->txn_pool; i++) {
        res = PQprepare(pg->conn, stmt_defs[i].name, stmt_defs[i].sql, 0, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            const char *m = PQresultErrorMessage(res);
            const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
            const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
            pg->connect_class = pg_classify(res);
            if (pg->connect_class == PG_SCHEMA && primary != NULL) {
                /* one line that names the object and what to do */
                err_set(err, "%.*s (SQLSTATE %s, preparing %s); %s", first_line(primary), primary,
                        state, stmt_defs[i].name, schema_hint(state));
            } else {
                err_set(err, "cannot prepare %s: %.*s", stmt_defs[i].name, first_line(m), m);
            }
            PQclear(res);
            pg_disconnect(pg);
            return -1;
        }
        PQclear(res);
    }
    /* the plan modes of send_plan_mode */
    const char *modes[][2] = {{PLANS_GENERIC_NAME, PLANS_GENERIC_SQL},
                              {PLANS_CUSTOM_NAME, PLANS_CUSTOM_SQL}};
    for (size_t i = 0; i < 2 && !pg->txn_pool; i++) {
        res = PQprepare(pg->conn, modes[i][0], modes[i][1], 0, NULL);
        if (setup_done(pg, res, "cannot prepare the plan modes", err) != 0) {
            return -1;
        }
    }
    if (PQsetnonblocking(pg->conn, 1) != 0 || PQenterPipelineMode(pg->conn) != 1) {
        set_conn_err(pg, err, "cannot enter pipeline mode");
        pg_disconnect(pg);
        return -1;
    }
    pg->in_pipeline = true;
    return 0;
}

enum pg_errclass
pg_connect_class(const struct pg *pg)
{
    return pg->connect_class;
}

enum pg_errclass
pg_classify(const PGresult *res)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    if (state == NULL) {
        return PG_TRANSIENT; /* no SQLSTATE: the connection, not the statement */
    }
    if (strncmp(state, "42", 2) == 0 || strcmp(state, "3F000") == 0) {
        return PG_SCHEMA;
    }
    /* 54: a program limit (an index entry too large for a very long path, an array too
     * large): the size of a file's data, so that file's fault, never an outage. */
    if (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0 ||
        strncmp(state, "54", 2) == 0) {
        return PG_DATA;
    }
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
        strncmp(state, "08", 2) == 0 || strncmp(state, "57", 2) == 0 ||
        strncmp(state, "53", 2) == 0 || strcmp(state, "55P03") == 0) {
        return PG_TRANSIENT;
    }
    return PG_FATAL;
}

/*
 * Wait until the socket is ready for `events`, or the deadline passes. Returns 1 when
 * ready, 0 on timeout, -1 on error.
 */
static int
wait_socket(struct pg *pg, short events, long long deadline)
{
    struct pollfd pfd = {PQsocket(pg->conn), events, 0};

    for (;;) {
        long long left = deadline - clock_ms();
        if (left <= 0) {
            return 0;
        }
        int n = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left);
        if (n > 0) {
            return 1;
        }
        if (n < 0 && errno != EINTR) {
            return -1;
        }
    }
}

/* Push the output buffer to the server, reading input meanwhile so neither side stalls. */
static int
flush_all(struct pg *pg, long long deadline, struct err *err)
{
    for (;;) {
        int r = PQflush(pg->conn);
        if (r == 0) {
            return 0;
        }
        if (r < 0) {
            set_conn_err(pg, err, "lost the database connection");
            return -1;
        }
        int w = wait_socket(pg, POLLOUT | POLLIN, deadline);
        if (w <= 0) {
            return err_set(err, "database did not take our data within %ld ms", pg->deadline_ms);
        }
        if (PQconsumeInput(pg->conn) == 0) {
            set_conn_err(pg, err, "lost the database connection");
            return -1;
        }
    }
}

/*
 * The class of a failed result, with err set to one line that says what it means: a
 * refusal raised by a statement is its reason alone (statements.h: the reason travels as
 * the text of a failed integer cast, 22P02); a schema error adds what to run.
 */
static enum pg_errclass
describe_failure(const PGresult *res, struct err *err)
{
    const char *m = PQresultErrorMessage(res);
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    enum pg_errclass cls = pg_classify(res);
    const char *mark = primary != NULL ? strstr(primary, STMT_REFUSAL) : NULL;

    if (cls == PG_DATA && mark != NULL && strcmp(state, "22P02") == 0) {
        /* invalid input syntax for type integer: "ownership conflict: ..." */
        const char *end = strrchr(mark, '"');
        size_t n = end != NULL ? (size_t)(end - mark) : (size_t)first_line(mark);
        err_set(err, "%.*s", (int)n, mark);
        return PG_REFUSED;
    }
    if (cls == PG_SCHEMA && primary != NULL) {
        err_set(err, "%.*s (SQLSTATE %s); %s", first_line(primary), primary, state,
                schema_hint(state));
        return cls;
    }
    err_set(err, "%.*s (SQLSTATE %s)", first_line(m), m, state != NULL ? state : "none");
    return cls;
}

static void
clear_results(PGresult **results, size_t n)
{
    for (size_t i = 0; results != NULL && i < n; i++) {
        PQclear(results[i]);
        results[i] = NULL;
    }
}

static void
poll_reset(struct pg *pg)
{
    pg->poll_i = 0;
    pg->poll_mid = false;
    pg->poll_deadline = 0;
    pg->poll_cls = PG_OK;
    pg->poll_failed = 0;
    pg->poll_pos = 0;
    pg->poll_keep = NULL;
    pg->poll_results = NULL;
    pg->poll_ncalls = 0;
}

/* A failure: the results kept so far are cleared (the caller gets none). */
static void
clear_kept(struct pg *pg)
{
    clear_results(pg->poll_results, pg->poll_ncalls);
}

/* Bytes a call puts into its Bind message (parameters and their lengths). */
static size_t
call_bytes(const struct pg_call *c)
{
    size_t bytes = 0;

    for (int k = 0; k < c->nparams; k++) {
        bytes += 4;
        if (c->values[k] != NULL) {
            bool binary = c->formats != NULL && c->formats[k] != 0;
            bytes += binary ? (size_t)c->lengths[k] : strlen(c->values[k]);
        }
    }
    return bytes;
}

/* Behind a transaction pooler: statement_timeout for the transaction that starts. Returns
 * the statements sent (1, else 0), or -1 when sending failed. */
static int
send_timeout(struct pg *pg)
{
    const char *vals[1] = {pg->timeout_text};

    if (!pg->txn_pool) {
        return 0;
    }
    return PQsendQueryParams(pg->conn, TIMEOUT_SQL, 1, NULL, vals, NULL, NULL, 0) == 1 ? 1 : -1;
}

/* Record what was just sent: a call of the caller's, or a statement of our own (ours). */
static void
sent_add(struct pg *pg, bool ours)
{
    if (pg->nsent == pg->sent_cap) {
        pg->sent_cap = pg->sent_cap ? pg->sent_cap * 2 : 32;
        pg->sent_ours = xrealloc(pg->sent_ours, pg->sent_cap * sizeof(*pg->sent_ours));
    }
    pg->sent_ours[pg->nsent++] = ours;
}

/*
 * The settings of the transaction that starts, made by its first statements for it only (as
 * SET LOCAL would): behind a transaction pooler its statement_timeout; after pg_replan, the
 * plans made so far dropped. 0 or -1 (sending failed).
 */
static int
send_setup(struct pg *pg)
{
    if (pg->txn_pool) {
        if (send_timeout(pg) < 0) {
            return -1;
        }
        sent_add(pg, true);
        return 0;
    }
    if (pg->replan) {
        if (PQsendQueryParams(pg->conn, REPLAN_SQL, 0, NULL, NULL, NULL, NULL, 0) != 1) {
            return -1;
        }
        sent_add(pg, true);
        pg->replan = false;
    }
    return 0;
}

/*
 * With pg_plan_generic, the plan mode the statement stmt runs under, set (for the rest of the
 * transaction, as SET LOCAL would) when it differs from the one in force: a plan made once
 * for most statements, one made for its values for a statement whose plan depends on how
 * its values are distributed (stmt_def.per_value). 0 or -1 (sending failed).
 */
static int
send_plan_mode(struct pg *pg, int stmt)
{
    bool generic = !stmt_defs[stmt].per_value;

    if (!pg->generic_plans || pg->txn_pool || (pg->txn_moded && pg->txn_generic == generic)) {
        return 0;
    }
    if (PQsendQueryPrepared(pg->conn, generic ? PLANS_GENERIC_NAME : PLANS_CUSTOM_NAME, 0, NULL,
                            NULL, NULL, 0) != 1) {
        return -1;
    }
    sent_add(pg, true);
    pg->txn_moded = true;
    pg->txn_generic = generic;
    return 0;
}

void
pg_plan_generic(struct pg *pg, bool on)
{
    pg->generic_plans = on;
}

void
pg_replan(struct pg *pg)
{
    pg->replan = true;
}

enum pg_errclass
pg_send_calls(struct pg *pg, const struct pg_call *calls, size_t ncalls, bool sync, struct err *err)
{
    long long deadline = clock_ms() + pg->deadline_ms;

    /* Refused here, as the data error it is, rather than by the server as a lost connection. */
    for (size_t i = 0; i < ncalls; i++) {
        size_t bytes = call_bytes(&calls[i]);
        if (bytes > PG_MESSAGE_MAX) {
            err_set(err,
                    "a statement's parameters hold %zu bytes, above the %zu that one protocol "
                    "message may carry",
                    bytes, PG_MESSAGE_MAX);
            return PG_DATA;
        }
    }
    if (!pg_is_connected(pg) || !pg->in_pipeline) {
        err_set(err, "not connected to the database");
        return PG_TRANSIENT;
    }
    /* Everything up to the sync point runs as one implicit transaction: committed at the
     * sync, rolled back whole at the first error (protocol: Sync closes it). Calls sent
     * without a sync join the transaction the next sync ends. */
    pg->nsent = 0;
    if (!pg->txn_open) {
        pg->txn_moded = false;
        if (send_setup(pg) != 0) {
            set_conn_err(pg, err, "cannot send to the database");
            pg_disconnect(pg);
            return PG_TRANSIENT;
        }
    }
    for (size_t i = 0; i < ncalls; i++) {
        const struct pg_call *c = &calls[i];
        int ok = send_plan_mode(pg, c->stmt) == 0;
        if (ok) {
            ok = (pg->txn_pool ? PQsendQueryParams(pg->conn, stmt_defs[c->stmt].sql, c->nparams,
                                                   NULL, c->values, c->lengths, c->formats, 0)
                               : PQsendQueryPrepared(pg->conn, stmt_defs[c->stmt].name, c->nparams,
                                                     c->values, c->lengths, c->formats, 0)) == 1;
        }
        if (!ok) {
            set_conn_err(pg, err, "cannot send to the database");
            pg_disconnect(pg);
            return PG_TRANSIENT;
        }
        sent_add(pg, false);
    }
    if (sync && PQpipelineSync(pg->conn) != 1) {
        set_conn_err(pg, err, "cannot send to the database");
        pg_disconnect(pg);
        return PG_TRANSIENT;
    }
    if ((!sync && PQsendFlushRequest(pg->conn) != 1) || flush_all(pg, deadline, err) != 0) {
        pg_disconnect(pg);
        return PG_TRANSIENT;
    }
    pg->txn_open = !sync;
    poll_reset(pg);
    return PG_OK;
}

int
pg_send_txn(struct pg *pg, const struct pg_call *calls, size_t ncalls, struct err *err)
{
    return pg_send_calls(pg, calls, ncalls, true, err) == PG_OK ? 0 : -1;
}

/* Next result, waiting with the deadline. *timed_out set when it passed. */
static PGresult *
next_result(struct pg *pg, long long deadline, bool *timed_out)
{
    *timed_out = false;
    while (PQisBusy(pg->conn)) {
        int w = wait_socket(pg, POLLIN, deadline);
        if (w == 0) {
            *timed_out = true;
            return NULL;
        }
        if (w < 0 || PQconsumeInput(pg->conn) == 0) {
            return NULL;
        }
    }
    return PQgetResult(pg->conn);
}

/* Rows a statement changed: its command count, or its `affected` column (statements.h). */
static long
rows_affected(const PGresult *res)
{
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQnfields(res) == 1 && PQntuples(res) == 1 &&
        strcmp(PQfname(res, 0), "affected") == 0) {
        return atol(PQgetvalue(res, 0, 0));
    }
    const char *t = PQcmdTuples((PGresult *)res);
    return *t ? atol(t) : 0;
}

/*
 * Calls sent without a sync failed: the server skips what follows until a sync, which
 * then ends the transaction with a rollback. Send it and read up to it (a failure here
 * drops the connection, which rolls back too).
 */
static void
end_aborted(struct pg *pg)
{
    long long deadline = clock_ms() + pg->deadline_ms;
    struct err ignored;
    bool timed_out;

    pg->txn_open = false;
    if (PQpipelineSync(pg->conn) != 1 || flush_all(pg, deadline, &ignored) != 0) {
        pg_disconnect(pg);
        return;
    }
    for (;;) {
        PGresult *res = next_result(pg, deadline, &timed_out);
        if (res == NULL) {
            if (timed_out || PQstatus(pg->conn) != CONNECTION_OK) {
                pg_disconnect(pg);
                return;
            }
            continue;
        }
        ExecStatusType st = PQresultStatus(res);
        PQclear(res);
        if (st == PGRES_PIPELINE_SYNC) {
            return;
        }
    }
}

/* The connection failed while results were awaited. */
static enum pg_errclass
poll_lost(struct pg *pg, bool timed_out, struct err *err)
{
    if (timed_out) {
        err_set(err,
                "database did not answer within %ld ms; dropping the connection "
                "(--statement-timeout-ms)",
                pg->deadline_ms);
    } else {
        set_conn_err(pg, err, "lost the database connection");
    }
    pg_disconnect(pg);
    clear_kept(pg);
    poll_reset(pg);
    return PG_TRANSIENT;
}

enum pg_errclass
pg_poll_txn(struct pg *pg, size_t ncalls, bool sync, bool wait, long *rows, const bool *keep,
            PGresult **results, bool *done, size_t *failed_call, struct err *err)
{
    *done = false;
    *failed_call = 0;
    if (keep != NULL && results != NULL && pg->poll_keep == NULL) {
        for (size_t k = 0; k < ncalls; k++) {
            results[k] = NULL;
        }
        pg->poll_keep = keep;
        pg->poll_results = results;
        pg->poll_ncalls = ncalls;
    }
    if (!pg_is_connected(pg)) {
        err_set(err, "not connected to the database");
        poll_reset(pg);
        return PG_TRANSIENT;
    }
    if (pg->poll_deadline == 0) {
        pg->poll_deadline = clock_ms() + pg->deadline_ms;
    }
    /* Each call yields one result then NULL; the sync yields PGRES_PIPELINE_SYNC. */
    for (;;) {
        if (!sync && pg->poll_pos >= pg->nsent && !pg->poll_mid) {
            break; /* no sync point: the part ends with its last call's NULL */
        }
        if (PQisBusy(pg->conn)) {
            if (PQconsumeInput(pg->conn) == 0) {
                return poll_lost(pg, false, err);
            }
            if (PQisBusy(pg->conn)) {
                if (clock_ms() >= pg->poll_deadline) {
                    return poll_lost(pg, true, err);
                }
                if (!wait) {
                    return PG_OK; /* not yet: *done stays false */
                }
                int w = wait_socket(pg, POLLIN, pg->poll_deadline);
                if (w <= 0) {
                    return poll_lost(pg, w == 0, err);
                }
                continue;
            }
        }
        PGresult *res = PQgetResult(pg->conn);
        if (res == NULL) {
            if (PQstatus(pg->conn) != CONNECTION_OK) {
                return poll_lost(pg, false, err);
            }
            if (pg->poll_mid) {
                pg->poll_pos++; /* end of one statement's results */
            }
            pg->poll_mid = false;
            continue;
        }
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(res);
            break;
        }
        pg->poll_mid = true;
        if (pg->poll_pos < pg->nsent && pg->sent_ours[pg->poll_pos]) {
            /* a setting of ours, not a call of the caller's; should it fail, every call after
             * it is aborted and the next call carries its message */
            if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && st != PGRES_PIPELINE_ABORTED &&
                pg->poll_cls == PG_OK) {
                const char *m = PQresultErrorMessage(res);
                pg->poll_cls = pg_classify(res);
                pg->poll_failed = pg->poll_i;
                err_set(&pg->poll_err, "cannot set up the transaction: %.*s", first_line(m), m);
            }
            PQclear(res);
            continue;
        }
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
            if (rows != NULL && pg->poll_i < ncalls) {
                rows[pg->poll_i] = rows_affected(res);
            }
            if (pg->poll_keep != NULL && pg->poll_i < pg->poll_ncalls &&
                pg->poll_keep[pg->poll_i] && pg->poll_results[pg->poll_i] == NULL) {
                pg->poll_results[pg->poll_i] = res;
                res = NULL;
            }
        } else if (st != PGRES_PIPELINE_ABORTED && pg->poll_cls == PG_OK) {
            pg->poll_cls = describe_failure(res, &pg->poll_err);
            pg->poll_failed = pg->poll_i;
        }
        pg->poll_i++;
        PQclear(res);
        if (PQstatus(pg->conn) == CONNECTION_BAD) {
            if (pg->poll_cls != PG_OK) {
                *err = pg->poll_err;
                pg_disconnect(pg);
                clear_kept(pg);
                poll_reset(pg);
                return PG_TRANSIENT;
            }
            return poll_lost(pg, false, err);
        }
    }
    enum pg_errclass cls = pg->poll_cls;
    if (cls != PG_OK) {
        *err = pg->poll_err;
        *failed_call = pg->poll_failed;
        clear_kept(pg);
    }
    poll_reset(pg);
    *done = true;
    if (cls != PG_OK && !sync) {
        end_aborted(pg);
    } else if (cls == PG_TRANSIENT && PQtransactionStatus(pg->conn) != PQTRANS_IDLE) {
        pg_disconnect(pg);
    }
    return cls;
}

enum pg_errclass
pg_collect_txn(struct pg *pg, size_t ncalls, long *rows, size_t *failed_call, struct err *err)
{
    return pg_collect_txn_results(pg, ncalls, rows, NULL, NULL, failed_call, err);
}

enum pg_errclass
pg_collect_txn_results(struct pg *pg, size_t ncalls, long *rows, const bool *keep,
                       PGresult **results, size_t *failed_call, struct err *err)
{
    bool done;

    for (size_t k = 0; results != NULL && k < ncalls; k++) {
        results[k] = NULL;
    }
    return pg_poll_txn(pg, ncalls, true, true, rows, keep, results, &done, failed_call, err);
}

/*
 * One statement outside any transaction of the caller's: sent with its sync, its results read
 * up to the sync. With row_cb, the statement's rows are handed over one at a time as they
 * arrive (libpq's single-row mode) and the deadline runs from the last row; else its last
 * result is returned (the caller PQclears it). NULL, with *cls and err, on failure.
 */
static PGresult *
exec_one(struct pg *pg, const char *sql, int nparams, const char *const *values, pg_row_cb row_cb,
         void *arg, enum pg_errclass *cls, struct err *err)
{
    long long deadline = clock_ms() + pg->deadline_ms;
    PGresult *out = NULL;
    bool timed_out;
    int before; /* statements of our own sent ahead of the caller's, whose results come first */

    *cls = PG_OK;
    if (!pg_is_connected(pg)) {
        *cls = PG_TRANSIENT;
        err_set(err, "not connected to the database");
        return NULL;
    }
    if ((before = send_timeout(pg)) < 0 ||
        PQsendQueryParams(pg->conn, sql, nparams, NULL, values, NULL, NULL, 0) != 1 ||
        PQpipelineSync(pg->conn) != 1 || flush_all(pg, deadline, err) != 0) {
        set_conn_err(pg, err, "cannot send to the database");
        pg_disconnect(pg);
        *cls = PG_TRANSIENT;
        return NULL;
    }
    if (row_cb != NULL && before == 0) {
        (void)PQsetSingleRowMode(pg->conn); /* refused: the rows come as one result */
    }
    for (;;) {
        PGresult *res = next_result(pg, deadline, &timed_out);
        if (res == NULL) {
            if (timed_out || !pg_is_connected(pg)) {
                err_set(err, "database did not answer within %ld ms", pg->deadline_ms);
                pg_disconnect(pg);
                *cls = PG_TRANSIENT;
                PQclear(out);
                return NULL;
            }
            /* the end of one statement's results: the caller's may be next */
            if (row_cb != NULL && before > 0 && --before == 0) {
                (void)PQsetSingleRowMode(pg->conn);
            }
            continue;
        }
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(res);
            break;
        }
        if (row_cb != NULL && before == 0 && (st == PGRES_SINGLE_TUPLE || st == PGRES_TUPLES_OK)) {
            for (int i = 0; i < PQntuples(res) && *cls == PG_OK; i++) {
                row_cb(arg, res, i);
            }
            PQclear(res);
            deadline = clock_ms() + pg->deadline_ms;
            continue;
        }
        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
            PQclear(out);
            out = res;
            continue;
        }
        if (*cls == PG_OK) {
            *cls = describe_failure(res, err);
        }
        PQclear(res);
    }
    if (*cls != PG_OK) {
        PQclear(out);
        return NULL;
    }
    return out;
}

PGresult *
pg_exec(struct pg *pg, const char *sql, int nparams, const char *const *values,
        enum pg_errclass *cls, struct err *err)
{
    return exec_one(pg, sql, nparams, values, NULL, NULL, cls, err);
}

enum pg_errclass
pg_exec_rows(struct pg *pg, const char *sql, int nparams, const char *const *values,
             pg_row_cb row_cb, void *arg, struct err *err)
{
    enum pg_errclass cls;

    PQclear(exec_one(pg, sql, nparams, values, row_cb, arg, &cls, err));
    return cls;
}
