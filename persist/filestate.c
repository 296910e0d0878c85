/* filestate.c -- the recorded file state of one source, read back page by page. */
#include "persist/filestate.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/strbuf.h"

/*
 * The recorded state is read in pages of FILESTATE_PAGE rows, in the order of the primary
 * key (source, path): one result of the whole table would be held next to the state it
 * fills (about 33 MB for 100,000 files, more than the state itself), and the allocator
 * keeps that peak as the daemon's size for good.
 */
#define FILESTATE_PAGE 4096

/* The columns, in the order of FILESTATE_SQL's select list. */
enum filestate_col {
    COL_PATH,
    COL_SIZE,
    COL_MTIME_NS,
    COL_HASH,
    COL_IS_BRIEF,
    COL_ERROR,
    COL_MODULE_NO,
    COL_LESSON_NO,
    COL_MODULE_TITLE,
};

#define FILESTATE_SQL                                                                              \
    "SELECT path, size, mtime_ns, hash, kind = 'brief', error, "                                   \
    "coalesce(module_no, -1), coalesce(lesson_no, -1), module_title "                              \
    "FROM creatoros_agent.file_state WHERE source = $1 AND path > $2 "                             \
    "ORDER BY path LIMIT $3::int"

static const char *
nullable(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

enum pg_errclass
filestate_load(struct pg *pg, const char *source, filestate_row_cb cb, void *arg, struct err *err)
{
    char limit[16];
    char *after = NULL; /* the last path of the previous page */
    enum pg_errclass cls = PG_OK;
    PGresult *res;
    int n;

    snprintf(limit, sizeof(limit), "%d", FILESTATE_PAGE);
    do {
        const char *vals[3] = {source, after != NULL ? after : "", limit};
        res = pg_exec(pg, FILESTATE_SQL, 3, vals, &cls, err);
        if (res == NULL) {
            break;
        }
        n = PQntuples(res);
        for (int i = 0; i < n; i++) {
            struct filestate_row row = {
                .path = PQgetvalue(res, i, COL_PATH),
                .size = strtoll(PQgetvalue(res, i, COL_SIZE), NULL, 10),
                .mtime_ns = strtoll(PQgetvalue(res, i, COL_MTIME_NS), NULL, 10),
                .hash = (uint64_t)strtoll(PQgetvalue(res, i, COL_HASH), NULL, 10),
                .is_brief = PQgetvalue(res, i, COL_IS_BRIEF)[0] == 't',
                .error = nullable(res, i, COL_ERROR),
                .module_no = strtol(PQgetvalue(res, i, COL_MODULE_NO), NULL, 10),
                .lesson_no = strtol(PQgetvalue(res, i, COL_LESSON_NO), NULL, 10),
                .module_title = nullable(res, i, COL_MODULE_TITLE),
            };
            cb(arg, &row);
        }
        free(after);
        after = n > 0 ? xstrdup(PQgetvalue(res, n - 1, COL_PATH)) : NULL;
        PQclear(res);
    } while (n == FILESTATE_PAGE);
    free(after);
    return cls;
}
