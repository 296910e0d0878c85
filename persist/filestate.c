/* filestate.c -- the recorded file state of one source, read back row by row. */
#include "persist/filestate.h"

#include <stdlib.h>

/*
 * The recorded state is read in one statement whose rows arrive one at a time (pg_exec_rows):
 * one result of the whole table would be held next to the state it fills (about 33 MB for
 * 100,000 files, more than the state itself), and the allocator keeps that peak as the
 * daemon's size for good. No order is asked for (the agent sorts each course's files): the
 * server reads the source's rows once, whatever its statistics say of the table.
 */

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
    "FROM creatoros_agent.file_state WHERE source = $1"

static const char *
nullable(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

struct load {
    filestate_row_cb cb;
    void *arg;
};

static void
row_cb(void *arg, const PGresult *res, int i)
{
    struct load *l = arg;
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

    l->cb(l->arg, &row);
}

enum pg_errclass
filestate_load(struct pg *pg, const char *source, filestate_row_cb cb, void *arg, struct err *err)
{
    struct load l = {cb, arg};
    const char *vals[1] = {source};

    return pg_exec_rows(pg, FILESTATE_SQL, 1, vals, row_cb, &l, err);
}
