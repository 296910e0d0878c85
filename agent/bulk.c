/* bulk.c -- big courses in watch: a queue of them, written in parts through the bulk
 * connection a step at a time while the other courses keep syncing. */
#include "agent/bulk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/engine_impl.h"
#include "agent/job.h"
#include "agent/log.h"

struct bulk_item *
bulk_find(struct engine *e, const char *course)
{
    for (size_t i = 0; i < e->nbulkq; i++) {
        if (strcmp(e->bulkq[i].course, course) == 0) {
            return &e->bulkq[i];
        }
    }
    return NULL;
}

void
bulk_enqueue(struct engine *e, const char *course)
{
    if (bulk_find(e, course) != NULL) {
        return;
    }
    e->bulkq = xrealloc(e->bulkq, (e->nbulkq + 1) * sizeof(*e->bulkq));
    e->bulkq[e->nbulkq++] = (struct bulk_item){xstrdup(course), false};
    log_kv(LOG_INFO, "big course: written in parts beside the other courses", "course", course);
}

bool
bulk_busy(const struct engine *e)
{
    return e->nbulkq > 0;
}

void
bulk_reset(struct engine *e)
{
    if (e->job != NULL) {
        job_destroy(e->job);
        e->job = NULL;
        pg_disconnect(e->bulk.pg); /* its open transaction is rolled back */
    }
}

/* The head of the queue is done: off it, and back at its tail when it changed meanwhile. */
static void
bulk_pop(struct engine *e)
{
    struct bulk_item head = e->bulkq[0];

    memmove(e->bulkq, e->bulkq + 1, (e->nbulkq - 1) * sizeof(*e->bulkq));
    if (head.again) {
        e->bulkq[e->nbulkq - 1] = (struct bulk_item){head.course, false};
    } else {
        free(head.course);
        e->nbulkq--;
    }
}

enum pg_errclass
bulk_step(struct engine *e, struct engine_stats *st, bool *more, struct err *err)
{
    enum job_state state = JOB_MORE;
    enum pg_errclass cls;

    *more = false;
    if (e->nbulkq == 0) {
        return PG_OK;
    }
    if (engine_root_open(e, err) != 0) {
        /* the tree went away: the next reconcile, once it is back, sees to these courses */
        bulk_reset(e);
        while (e->nbulkq > 0) {
            e->bulkq[0].again = false;
            bulk_pop(e);
        }
        return PG_OK;
    }
    if (e->job == NULL) {
        if (pg_connect(e->bulk.pg, err) != 0) {
            engine_root_close(e);
            return PG_TRANSIENT;
        }
        e->bulkq[0].again = false;
        e->job = job_start(e, e->bulkq[0].course, &e->bulk);
        if (e->job == NULL) {
            bulk_pop(e);
            engine_root_close(e);
            *more = e->nbulkq > 0;
            return PG_OK;
        }
        char files[32];
        snprintf(files, sizeof(files), "%zu", e->job->sc.nfiles);
        log_kv(LOG_INFO, "writing a big course in parts", "course", e->bulkq[0].course, "files",
               files);
    }
    cls = job_step(e, e->job, false, &state, st, err);
    engine_root_close(e);
    if (cls != PG_OK) {
        bulk_reset(e); /* redone from its start, once the database is back */
        return cls;
    }
    if (state == JOB_DONE) {
        char parts[32];
        snprintf(parts, sizeof(parts), "%zu", e->job->parts);
        engine_stats_add_looked(st, &e->job->cst);
        log_kv(LOG_INFO, "big course written", "course", e->bulkq[0].course, "parts", parts);
        job_destroy(e->job);
        e->job = NULL;
        bulk_pop(e);
        *more = e->nbulkq > 0;
        return PG_OK;
    }
    *more = state == JOB_MORE;
    return PG_OK;
}
