/* job.h -- a big course written in parts, one statement of its transaction at a time. Private
 * to the engine's files. */
#ifndef CO_JOB_H
#define CO_JOB_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/batch.h"
#include "agent/flow.h"

/*
 * A course whose changes hold more than SYNC_PART_BYTES, written in parts: its files are
 * looked at one by one, and whenever the part being built is full it goes to the database,
 * a statement of the course's one transaction, and its records are shed (only what the
 * commit needs is kept). So the agent holds about one part whatever the course. The last
 * part commits. A data error cannot be traced to a file once earlier records are shed: the
 * course is then written again (split) in parts that each commit on their own, through
 * the usual path that finds the culprit.
 */
struct job {
    struct scan_course sc; /* the course's listing */
    size_t next;           /* the next listed file to look at */
    struct batch p;        /* every change so far (parted), or the current part (split) */
    struct sync_ctx *ctx;  /* the connection of the transaction; NULL in a dry run */
    size_t sent;           /* changes of p already sent */
    size_t parts;          /* parts sent in the open transaction */
    bool inflight;         /* a part is at the server, not collected yet */
    bool listed;           /* every listed file looked at, the gone ones added */
    bool final;            /* the last part (the commit) is sent */
    bool split;            /* after a data error: each part its own transaction */
    bool has_brief;
    struct engine_stats cst; /* what looking at the files counted (added when done) */
};

enum job_state {
    JOB_MORE, /* call again */
    JOB_WAIT, /* the server has not answered yet (only when not waiting) */
    JOB_DONE, /* committed */
};

void job_destroy(struct job *j);
/* A job from the start: the course listed now. NULL (logged) when it cannot be listed. */
struct job *job_start(struct engine *e, const char *course, struct sync_ctx *ctx);
/*
 * One step of a job: look at the next listed file while the part has room; else collect
 * the part at the server (wait false: JOB_WAIT when it has not answered yet) and send the
 * next one, the last (the commit) once the listing is done; JOB_DONE once committed.
 */
enum pg_errclass job_step(struct engine *e, struct job *j, bool wait, enum job_state *state,
                          struct engine_stats *st, struct err *err);
/*
 * A course found big while its batch was built (its files [0, next) are in p): with a bulk
 * connection (watch) it is queued there and p dropped; else the flow is drained and a job
 * writes it now. Takes p (and sc, when given; NULL: the job lists the course itself).
 */
enum pg_errclass job_write_big(struct engine *e, struct flow *fl, struct batch *p,
                               struct scan_course *sc, size_t next,
                               const struct engine_stats *looked, struct engine_stats *st,
                               struct err *err);

#endif
