/* flow.h -- course batches written through the engine's connections: a pipeline over one or
 * two connections, or one batch at once. Private to the engine's files. */
#ifndef CO_FLOW_H
#define CO_FLOW_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/batch.h"

/*
 * The pipeline: course N's transaction travels and runs while course N+1 is read and
 * parsed. With a second connection two courses are in the database at once, one per
 * core; courses never share rows except minds and tags, which every transaction inserts
 * in slug order, so the two cannot deadlock each other. Slots are used round robin and
 * confirmed oldest first. Zeroed is empty.
 */
struct flow {
    struct batch inflight[ENGINE_MAX_CONN];
    bool busy[ENGINE_MAX_CONN];
    size_t next; /* slot of the next batch; also the oldest in flight */
};

/* Hand a built batch to the flow (it takes ownership of *p). Returns PG_OK or the failure
 * class of the batch sent or confirmed. */
enum pg_errclass flow_push(struct engine *e, struct flow *fl, struct batch *p,
                           struct engine_stats *st, struct err *err);
/* Confirm every batch in flight, oldest first; the first failure is returned. */
enum pg_errclass flow_finish(struct engine *e, struct flow *fl, struct engine_stats *st,
                             struct err *err);
/* Confirm what is still in flight; the first failure (cls, if any) is what is returned. */
enum pg_errclass flow_close(struct engine *e, struct flow *fl, enum pg_errclass cls,
                            struct engine_stats *st, struct err *err);

/* Write p as one transaction now through ctx (NULL: a dry run), through the usual path (a
 * data error is traced to its file). Takes p. */
enum pg_errclass flow_write_now(struct engine *e, struct sync_ctx *ctx, struct batch *p,
                                struct engine_stats *st, struct err *err);

/* Log the server notices of the batches just done, as one line. */
void flow_log_notices(struct engine *e);

/* How the batches written from now on through the engine's connections are planned: once
 * per connection (on, for the few files events name), or for their values (off). */
void flow_plan_generic(struct engine *e, bool on);

#endif
