/* status.c -- the status report of a source: its statements and the reading of their rows. */
#include "persist/status.h"

#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "persist/statements.h"

/* A time as the report prints it: UTC, to the second. */
#define STATUS_TIME(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* The counts, one row: the columns of enum count_col, in order. */
#define STATUS_COUNTS_SQL                                                                          \
    "WITH c AS (SELECT DISTINCT course FROM creatoros_agent.file_state WHERE source = $1 "         \
    "             AND (error IS NULL OR error NOT LIKE '" STMT_REFUSAL "%')) "                     \
    "SELECT (SELECT count(*) FROM creatoros_agent.file_state WHERE source = $1), "                 \
    "  (SELECT count(*) FROM creatoros_agent.file_state WHERE source = $1 AND error IS NOT "       \
    "NULL), "                                                                                      \
    "  (SELECT " STATUS_TIME(                                                                      \
        "last_sync_at") " FROM creatoros_agent.sources WHERE source = $1), "                       \
                        "  (SELECT count(*) FROM public.content_projects p JOIN c ON c.course = "  \
                        "p.slug "                                                                  \
                        "     WHERE p.status <> 'archived'), "                                     \
                        "  (SELECT count(*) FROM public.contents t JOIN public.content_projects "  \
                        "p "                                                                       \
                        "     ON p.id = t.project_id JOIN c ON c.course = p.slug "                 \
                        "     WHERE t.content_type = 'course_module' AND t.deleted_at IS NULL), "  \
                        "  (SELECT count(*) FROM public.contents t JOIN public.content_projects "  \
                        "p "                                                                       \
                        "     ON p.id = t.project_id JOIN c ON c.course = p.slug "                 \
                        "     WHERE t.content_type = 'course_lesson' AND t.deleted_at IS NULL)"

enum count_col {
    COUNT_RECORDED,
    COUNT_IN_ERROR,
    COUNT_LAST_SYNC,
    COUNT_PROJECTS,
    COUNT_MODULES,
    COUNT_LESSONS,
};

/* The files in error: the columns of enum error_col, in order. */
#define STATUS_ERRORS_SQL                                                                          \
    "SELECT path, error, " STATUS_TIME(                                                            \
        "error_at") " "                                                                            \
                    "FROM creatoros_agent.file_state WHERE source = $1 AND error IS NOT NULL "     \
                    "ORDER BY path COLLATE \"C\" LIMIT " STATUS_MAX_ERRORS_TEXT

#define STATUS_STR_(x) #x
#define STATUS_STR(x) STATUS_STR_(x)
#define STATUS_MAX_ERRORS_TEXT STATUS_STR(STATUS_MAX_ERRORS)

enum error_col {
    ERROR_PATH,
    ERROR_TEXT,
    ERROR_SINCE,
};

static long
count_at(const PGresult *res, enum count_col col)
{
    return atol(PQgetvalue(res, 0, (int)col));
}

static char *
text_at(const PGresult *res, int row, int col)
{
    return xstrndup(PQgetvalue(res, row, col), (size_t)PQgetlength(res, row, col));
}

enum pg_errclass
status_read(struct pg *pg, const char *source, struct status_report *r, struct err *err)
{
    const char *params[1] = {source};
    PGresult *counts = NULL, *errors = NULL;
    enum pg_errclass cls;

    memset(r, 0, sizeof(*r));
    counts = pg_exec(pg, STATUS_COUNTS_SQL, 1, params, &cls, err);
    if (cls != PG_OK) {
        goto out;
    }
    errors = pg_exec(pg, STATUS_ERRORS_SQL, 1, params, &cls, err);
    if (cls != PG_OK) {
        goto out;
    }
    r->recorded = count_at(counts, COUNT_RECORDED);
    r->in_error = count_at(counts, COUNT_IN_ERROR);
    if (!PQgetisnull(counts, 0, COUNT_LAST_SYNC)) {
        r->last_sync = text_at(counts, 0, COUNT_LAST_SYNC);
    }
    r->projects = count_at(counts, COUNT_PROJECTS);
    r->modules = count_at(counts, COUNT_MODULES);
    r->lessons = count_at(counts, COUNT_LESSONS);
    r->nerrors = (size_t)PQntuples(errors);
    r->errors = xcalloc(r->nerrors ? r->nerrors : 1, sizeof(*r->errors));
    for (size_t i = 0; i < r->nerrors; i++) {
        r->errors[i].path = text_at(errors, (int)i, ERROR_PATH);
        r->errors[i].error = text_at(errors, (int)i, ERROR_TEXT);
        r->errors[i].since = text_at(errors, (int)i, ERROR_SINCE);
    }
out:
    PQclear(counts);
    PQclear(errors);
    return cls;
}

void
status_release(struct status_report *r)
{
    for (size_t i = 0; i < r->nerrors; i++) {
        free(r->errors[i].path);
        free(r->errors[i].error);
        free(r->errors[i].since);
    }
    free(r->errors);
    free(r->last_sync);
    memset(r, 0, sizeof(*r));
}
