/* status.h -- the status report of a source: what its file state and its courses' rows hold. */
#ifndef CO_STATUS_H
#define CO_STATUS_H

#include <stddef.h>

#include "common/err.h"
#include "persist/pg.h"

/* A file recorded in error. The strings are heap, owned by the report. */
struct status_error {
    char *path;  /* relative to the source's root */
    char *error; /* the recorded reason */
    char *since; /* when it was first recorded, "YYYY-MM-DDTHH:MM:SSZ" (UTC) */
};

struct status_report {
    long recorded;   /* file records of the source */
    long in_error;   /* of them, files in error */
    char *last_sync; /* the last sync of the source that wrote, as `since`; NULL: never */
    /* live rows of the courses the source writes (a course only refused to it is not one) */
    long projects;
    long modules;
    long lessons;
    struct status_error *errors; /* the files in error by path (bytewise), 1000 at most */
    size_t nerrors;
};

/* The maximum of status_report.errors. */
#define STATUS_MAX_ERRORS 1000

/*
 * Read the report of source (outside any pipeline: pg_exec). Returns PG_OK with *r filled
 * (status_release it), or the class of the failure with err set and *r empty.
 */
enum pg_errclass status_read(struct pg *pg, const char *source, struct status_report *r,
                             struct err *err);

/* Free what status_read filled; r is empty afterwards. Accepts an empty report. */
void status_release(struct status_report *r);

#endif
