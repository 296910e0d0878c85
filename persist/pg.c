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
    void (*notice)(bool warning, const char *msg);
    enum pg_errclass connect_class; /* of the last failed pg_connect */
    long notices;                   /* since the last pg_notices_take */
    char first_notice[256];
};

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
    snprintf(line, sizeof(line), "%.*s", (int)strcspn(msg, "\n"), msg);
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

char *
pg_redact(const char *url)
{
    struct strbuf sb = STRBUF_INIT;
    PQconninfoOption *opts;
    char *errmsg = NULL;
    const char *user = NULL, *host = NULL, *port = NULL, *db = NULL, *ssl = NULL;

    if (url == NULL) {
        return xstrdup("(PG* environment variables)");
    }
    opts = PQconninfoParse(url, &errmsg);
    if (opts == NULL) {
        PQfreemem(errmsg);
        return xstrdup("(unparsable connection string)");
    }
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
        if (o->val == NULL) {
            continue;
        }
        if (strcmp(o->keyword, "user") == 0) {
            user = o->val;
        } else if (strcmp(o->keyword, "host") == 0) {
            host = o->val;
        } else if (strcmp(o->keyword, "port") == 0) {
            port = o->val;
        } else if (strcmp(o->keyword, "dbname") == 0) {
            db = o->val;
        } else if (strcmp(o->keyword, "sslmode") == 0) {
            ssl = o->val;
        }
    }
    bool socket = host != NULL && host[0] == '/';
    char sep = '?';
    strbuf_addstr(&sb, "postgresql://");
    if (user != NULL) {
        strbuf_addf(&sb, "%s@", user);
    }
    if (host != NULL && !socket) {
        strbuf_addstr(&sb, host);
        if (port != NULL) {
            strbuf_addf(&sb, ":%s", port);
        }
    }
    strbuf_addf(&sb, "/%s", db != NULL ? db : "");
    if (socket) {
        strbuf_addf(&sb, "?host=%s", host);
        sep = '&';
        if (port != NULL) {
            strbuf_addf(&sb, "&port=%s", port);
        }
    }
    if (ssl != NULL) {
        strbuf_addf(&sb, "%csslmode=%s", sep, ssl);
    }
    PQconninfoFree(opts);
    return strbuf_detach(&sb, NULL);
}

bool
pg_password_span(const char *conninfo, size_t *off, size_t *len)
{
    const char *scheme = strstr(conninfo, "://");
    const char *rest = conninfo;

    if (scheme != NULL) {
        const char *user = scheme + 3;
        size_t authority = strcspn(user, "/?#");
        const char *at = NULL;
        for (const char *p = user; p < user + authority; p++) {
            if (*p == '@') {
                at = p; /* the last '@' ends the user information */
            }
        }
        const char *colon = at != NULL ? memchr(user, ':', (size_t)(at - user)) : NULL;
        if (colon != NULL) {
            *off = (size_t)(colon + 1 - conninfo);
            *len = (size_t)(at - colon - 1);
            return true;
        }
        rest = user; /* a password= may still follow in the query string */
    }
    const char *pw = strstr(rest, "password=");
    if (pw != NULL) {
        const char *v = pw + strlen("password=");
        *off = (size_t)(v - conninfo);
        *len = strcspn(v, " &");
        return true;
    }
    return false;
}

struct pg *
pg_create(const struct pg_opts *opts)
{
    struct pg *pg = xcalloc(1, sizeof(*pg));

    pg->url = opts->url != NULL ? xstrdup(opts->url) : NULL;
    pg->display = pg_redact(opts->url);
    pg->deadline_ms = opts->statement_timeout_ms > 0 ? opts->statement_timeout_ms : 60000;
    pg->plain = opts->plain;
    pg->custom_plans = opts->custom_plans;
    pg->notice = opts->notice;
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

/* The first line of libpq's message, without the trailing newline. */
static void
set_conn_err(struct err *err, const char *what, PGconn *conn)
{
    const char *m = conn != NULL ? PQerrorMessage(conn) : "out of memory";
    size_t n = strcspn(m, "\n");

    err_set(err, "%s: %.*s", what, (int)n, m);
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
    PGresult *res;

    if (pg_is_connected(pg)) {
        return 0;
    }
    pg_disconnect(pg);
    pg->connect_class = PG_TRANSIENT;
    pg->conn = PQconnectdbParams(keys, vals, 1);
    if (pg->conn == NULL || PQstatus(pg->conn) != CONNECTION_OK) {
        struct err e;
        set_conn_err(&e, "cannot connect", pg->conn);
        pg_disconnect(pg);
        return err_set(err, "%s (%s)", e.msg, pg->display);
    }
    PQsetNoticeReceiver(pg->conn, notice_cb, pg);
    int v = PQserverVersion(pg->conn);
    snprintf(pg->version, sizeof(pg->version), "%d.%d", v / 10000, v % 10000);

    /* The server gives up a little after our own deadline would. */
    snprintf(timeout, sizeof(timeout), "SET statement_timeout = %ld%s", pg->deadline_ms + 1000,
             pg->custom_plans ? "; SET plan_cache_mode = force_custom_plan" : "");
    res = PQexec(pg->conn, timeout);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        pg->connect_class = pg_classify(res);
        PQclear(res);
        set_conn_err(err, "cannot set statement_timeout", pg->conn);
        pg_disconnect(pg);
        return -1;
    }
    PQclear(res);
    return pg->plain ? 0 : pg_enter_pipeline(pg, err);
}

int
pg_enter_pipeline(struct pg *pg, struct err *err)
{
    PGresult *res;

    if (pg->in_pipeline) {
        return 0;
    }
    for (int i = 0; i < STMT_COUNT; i++) {
        res = PQprepare(pg->conn, stmt_defs[i].name, stmt_defs[i].sql, 0, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            const char *m = PQresultErrorMessage(res);
            const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
            const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
            pg->connect_class = pg_classify(res);
            if (pg->connect_class == PG_SCHEMA && primary != NULL) {
                /* one line that names the object and what to do */
                err_set(err, "%.*s (SQLSTATE %s, preparing %s); %s", (int)strcspn(primary, "\n"),
                        primary, state, stmt_defs[i].name, schema_hint(state));
            } else {
                err_set(err, "cannot prepare %s: %.*s", stmt_defs[i].name, (int)strcspn(m, "\n"),
                        m);
            }
            PQclear(res);
            pg_disconnect(pg);
            return -1;
        }
        PQclear(res);
    }
    if (PQsetnonblocking(pg->conn, 1) != 0 || PQenterPipelineMode(pg->conn) != 1) {
        set_conn_err(err, "cannot enter pipeline mode", pg->conn);
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
    if (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0) {
        return PG_DATA;
    }
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
        strncmp(state, "08", 2) == 0 || strncmp(state, "57", 2) == 0 ||
        strncmp(state, "53", 2) == 0 || strcmp(state, "55P03") == 0) {
        return PG_TRANSIENT;
    }
    if (strncmp(state, "42", 2) == 0 || strcmp(state, "3F000") == 0) {
        return PG_SCHEMA;
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
            set_conn_err(err, "lost the database connection", pg->conn);
            return -1;
        }
        int w = wait_socket(pg, POLLOUT | POLLIN, deadline);
        if (w <= 0) {
            return err_set(err, "database did not take our data within %ld ms", pg->deadline_ms);
        }
        if (PQconsumeInput(pg->conn) == 0) {
            set_conn_err(err, "lost the database connection", pg->conn);
            return -1;
        }
    }
}

int
pg_send_txn(struct pg *pg, const struct pg_call *calls, size_t ncalls, struct err *err)
{
    long long deadline = clock_ms() + pg->deadline_ms;

    if (!pg_is_connected(pg) || !pg->in_pipeline) {
        return err_set(err, "not connected to the database");
    }
    /* Everything up to the sync point runs as one implicit transaction: committed at the
     * sync, rolled back whole at the first error (protocol: Sync closes it). */
    for (size_t i = 0; i < ncalls; i++) {
        const struct pg_call *c = &calls[i];
        if (PQsendQueryPrepared(pg->conn, stmt_defs[c->stmt].name, c->nparams, c->values,
                                c->lengths, c->formats, 0) != 1) {
            set_conn_err(err, "cannot send to the database", pg->conn);
            pg_disconnect(pg);
            return -1;
        }
    }
    if (PQpipelineSync(pg->conn) != 1) {
        set_conn_err(err, "cannot send to the database", pg->conn);
        pg_disconnect(pg);
        return -1;
    }
    if (flush_all(pg, deadline, err) != 0) {
        pg_disconnect(pg);
        return -1;
    }
    return 0;
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
        size_t n = end != NULL ? (size_t)(end - mark) : strcspn(mark, "\n");
        err_set(err, "%.*s", (int)n, mark);
        return PG_REFUSED;
    }
    if (cls == PG_SCHEMA && primary != NULL) {
        err_set(err, "%.*s (SQLSTATE %s); %s", (int)strcspn(primary, "\n"), primary, state,
                schema_hint(state));
        return cls;
    }
    err_set(err, "%.*s (SQLSTATE %s)", (int)strcspn(m, "\n"), m, state != NULL ? state : "none");
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

enum pg_errclass
pg_collect_txn(struct pg *pg, size_t ncalls, long *rows, size_t *failed_call, struct err *err)
{
    return pg_collect_txn_results(pg, ncalls, rows, NULL, NULL, failed_call, err);
}

enum pg_errclass
pg_collect_txn_results(struct pg *pg, size_t ncalls, long *rows, const bool *keep,
                       PGresult **results, size_t *failed_call, struct err *err)
{
    long long deadline = clock_ms() + pg->deadline_ms;
    enum pg_errclass cls = PG_OK;
    bool timed_out;
    size_t i = 0;

    *failed_call = 0;
    for (size_t k = 0; results != NULL && k < ncalls; k++) {
        results[k] = NULL;
    }
    if (!pg_is_connected(pg)) {
        err_set(err, "not connected to the database");
        return PG_TRANSIENT;
    }
    /* Each call yields one result then NULL; the sync yields PGRES_PIPELINE_SYNC. */
    for (;;) {
        PGresult *res = next_result(pg, deadline, &timed_out);
        if (res == NULL) {
            if (timed_out) {
                err_set(err,
                        "database did not answer within %ld ms; dropping the connection "
                        "(--statement-timeout-ms)",
                        pg->deadline_ms);
                pg_disconnect(pg);
                clear_results(results, ncalls);
                return PG_TRANSIENT;
            }
            if (!pg_is_connected(pg) || PQstatus(pg->conn) != CONNECTION_OK) {
                set_conn_err(err, "lost the database connection", pg->conn);
                pg_disconnect(pg);
                clear_results(results, ncalls);
                return PG_TRANSIENT;
            }
            continue; /* end of one call's results */
        }
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(res);
            break;
        }
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
            if (rows != NULL && i < ncalls) {
                rows[i] = rows_affected(res);
            }
            if (keep != NULL && i < ncalls && keep[i] && results[i] == NULL) {
                results[i] = res;
                res = NULL;
            }
            i++;
        } else if (st == PGRES_PIPELINE_ABORTED) {
            i++;
        } else {
            if (cls == PG_OK) {
                cls = describe_failure(res, err);
                *failed_call = i;
            }
            i++;
        }
        PQclear(res);
        if (PQstatus(pg->conn) == CONNECTION_BAD) {
            if (cls == PG_OK) {
                set_conn_err(err, "lost the database connection", pg->conn);
            }
            pg_disconnect(pg);
            clear_results(results, ncalls);
            return PG_TRANSIENT;
        }
    }
    if (cls == PG_TRANSIENT && PQtransactionStatus(pg->conn) != PQTRANS_IDLE) {
        pg_disconnect(pg);
    }
    if (cls != PG_OK) {
        clear_results(results, ncalls);
    }
    return cls;
}

PGresult *
pg_exec(struct pg *pg, const char *sql, int nparams, const char *const *values,
        enum pg_errclass *cls, struct err *err)
{
    long long deadline = clock_ms() + pg->deadline_ms;
    PGresult *out = NULL;
    bool timed_out;

    *cls = PG_OK;
    if (!pg_is_connected(pg)) {
        *cls = PG_TRANSIENT;
        err_set(err, "not connected to the database");
        return NULL;
    }
    if (PQsendQueryParams(pg->conn, sql, nparams, NULL, values, NULL, NULL, 0) != 1 ||
        PQpipelineSync(pg->conn) != 1 || flush_all(pg, deadline, err) != 0) {
        set_conn_err(err, "cannot send to the database", pg->conn);
        pg_disconnect(pg);
        *cls = PG_TRANSIENT;
        return NULL;
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
            continue;
        }
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(res);
            break;
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
