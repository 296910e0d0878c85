/* filestate.h -- the recorded file state of one source, read back row by row. */
#ifndef CO_FILESTATE_H
#define CO_FILESTATE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "persist/pg.h"

/* One row of creatoros_agent.file_state, typed. Every pointer is borrowed for the call of
 * the callback only (copy what is kept). */
struct filestate_row {
    const char *path; /* relative to the root */
    int64_t size;
    int64_t mtime_ns;
    uint64_t hash;
    bool is_brief;
    const char *error;        /* why it is rejected; NULL when synced */
    long module_no;           /* -1: none */
    long lesson_no;           /* -1: none */
    const char *module_title; /* NULL: none */
};

typedef void (*filestate_row_cb)(void *arg, const struct filestate_row *row);

/*
 * Call cb for every file recorded for source, in no particular order, each row as it
 * arrives (no result of the whole table is held). Returns PG_OK, or the failure class with
 * err (the rows before the failure were given).
 */
enum pg_errclass filestate_load(struct pg *pg, const char *source, filestate_row_cb cb, void *arg,
                                struct err *err);

#endif
