/* engine_impl.h -- the engine as its own files see it (engine.h is the contract for the rest):
 * what it holds, and the helpers of engine.c and bulk.c the other files of the engine call. */
#ifndef CO_ENGINE_IMPL_H
#define CO_ENGINE_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/engine.h"
#include "agent/scan.h"
#include "agent/state.h"
#include "common/strbuf.h"
#include "persist/sync.h"

/* A course waiting for, or being written through, the bulk connection. */
struct bulk_item {
    char *course;
    bool again; /* it changed meanwhile: look at it once more when it is done */
};

struct engine {
    struct engine_opts o;
    char *root;
    char *source;
    int rootfd;            /* open while an operation runs (engine_root_open), else -1 */
    int root_depth;        /* nesting of engine_root_open */
    struct state state;    /* what is recorded of the tree */
    size_t plans_nfstates; /* state.nfstates when the generic plans were last made */
    struct strbuf rejections;
    struct sync_ctx sync[ENGINE_MAX_CONN];
    size_t nsync;
    /* big courses in watch (bulk_step): the queue, its head being written by job */
    struct sync_ctx bulk;
    struct bulk_item *bulkq;
    size_t nbulkq;
    struct job *job;
    /* courses whose files are not to be judged (a volume that went away) */
    char **away;
    size_t naway;
};

/* ---- engine.c ---- */

/* Open the root for the operation that starts (nested calls share it). 0 or -1 with err. */
int engine_root_open(struct engine *e, struct err *err);
void engine_root_close(struct engine *e);
/* The course's volume went away (engine_set_away). */
bool engine_course_away(const struct engine *e, const char *course);
/*
 * A course that is not to be touched now: its volume is away, or it is being written in
 * parts through the bulk connection (whose transaction holds its lock: a second writer
 * would wait on it). The latter is looked at again once written.
 */
bool engine_course_held(struct engine *e, const char *course);
/* List a course of the tree (scan_course, rootfd open): false when it cannot be listed
 * (logged, sc released). */
bool engine_list_course(struct engine *e, const char *course, struct scan_course *sc);
/* A file rejected: logged, and listed in engine_rejections. */
void engine_reject(struct engine *e, const char *path, const char *reason);
/* A course directory whose name is not UTF-8 cannot be a slug (the database holds text). */
bool engine_course_bad_name(const char *course);
/* Such a course is reported (rejected, counted in st), once per sync, and its files are left
 * alone: true. False for a good name. */
bool engine_course_skip_bad(struct engine *e, const char *course, struct engine_stats *st);
/* Add what looking at files counted (seen, unchanged, rejected). */
void engine_stats_add_looked(struct engine_stats *st, const struct engine_stats *looked);

/* ---- bulk.c ---- */

/* The course's entry when it waits for, or is being written through, the bulk connection. */
struct bulk_item *bulk_find(struct engine *e, const char *course);
/* Queue a big course for the bulk connection (once). */
void bulk_enqueue(struct engine *e, const char *course);

#endif
