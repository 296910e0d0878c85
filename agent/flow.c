/* flow.c -- course batches written through the engine's connections. */
#include "agent/flow.h"

#include <stdio.h>
#include <string.h>

#include "agent/log.h"
#include "agent/modules.h"

static enum pg_errclass
flow_finish_slot(struct engine *e, struct flow *fl, size_t slot, struct engine_stats *st,
                 struct err *err)
{
    struct sync_stats ss = {0};
    enum pg_errclass cls;

    if (!fl->busy[slot]) {
        return PG_OK;
    }
    cls = sync_course_finish(&e->sync[slot], &fl->inflight[slot].b, &ss, err);
    if (cls == PG_OK) {
        st->rows += ss.rows;
        batch_apply(e, &fl->inflight[slot], st);
    }
    batch_release(&fl->inflight[slot]);
    fl->busy[slot] = false;
    return cls;
}

enum pg_errclass
flow_finish(struct engine *e, struct flow *fl, struct engine_stats *st, struct err *err)
{
    enum pg_errclass first = PG_OK;

    for (size_t k = 0; k < e->nsync; k++) {
        struct err e2;
        enum pg_errclass cls =
            flow_finish_slot(e, fl, (fl->next + k) % e->nsync, st, first == PG_OK ? err : &e2);
        if (first == PG_OK) {
            first = cls;
        }
    }
    return first;
}

enum pg_errclass
flow_close(struct engine *e, struct flow *fl, enum pg_errclass cls, struct engine_stats *st,
           struct err *err)
{
    struct err ignored;

    if (cls == PG_OK) {
        return flow_finish(e, fl, st, err);
    }
    flow_finish(e, fl, st, &ignored);
    return cls;
}

/*
 * Ready a built batch to go: the module statement dropped when it would change nothing,
 * the brief mode picked. False when nothing is to be sent (an empty batch, or a dry run:
 * logged); p is then released.
 */
static bool
flow_ready(struct engine *e, struct batch *p, bool dry_run, struct engine_stats *st)
{
    if (batch_empty(p)) {
        batch_release(p);
        return false;
    }
    if (p->b.modules_dirty && !e->o.force && !p->b.gone && !modules_change(&e->state, p)) {
        p->b.modules_dirty = false;
    }
    batch_finalize(p, p->b.brief_mode != BRIEF_ABSENT);
    if (dry_run) {
        batch_dry_run(e, p, 0, st);
        batch_release(p);
        return false;
    }
    return true;
}

enum pg_errclass
flow_push(struct engine *e, struct flow *fl, struct batch *p, struct engine_stats *st,
          struct err *err)
{
    enum pg_errclass cls;
    size_t slot = fl->next;

    if (!flow_ready(e, p, e->o.dry_run, st)) {
        return PG_OK;
    }
    cls = flow_finish_slot(e, fl, slot, st, err);
    if (cls != PG_OK) {
        batch_release(p);
        return cls;
    }
    if (sync_course_send(&e->sync[slot], &p->b, err) != 0) {
        batch_release(p);
        return PG_TRANSIENT;
    }
    fl->inflight[slot] = *p;
    fl->busy[slot] = true;
    fl->next = (slot + 1) % e->nsync;
    memset(p, 0, sizeof(*p));
    return PG_OK;
}

enum pg_errclass
flow_write_now(struct engine *e, struct sync_ctx *ctx, struct batch *p, struct engine_stats *st,
               struct err *err)
{
    struct sync_stats ss = {0};
    enum pg_errclass cls;

    if (!flow_ready(e, p, ctx == NULL, st)) {
        return PG_OK;
    }
    cls = sync_course_send(ctx, &p->b, err) != 0 ? PG_TRANSIENT
                                                 : sync_course_finish(ctx, &p->b, &ss, err);
    if (cls == PG_OK) {
        st->rows += ss.rows;
        batch_apply(e, p, st);
    }
    batch_release(p);
    return cls;
}

/*
 * Server notices of the batch just done, as one line: a trigger of the app's schema raises
 * a NOTICE for every AI row written, which would be a line per row. Each notice itself is
 * logged at debug (agent/cmd_common.c).
 */
void
flow_log_notices(struct engine *e)
{
    char first[256] = "", count[32];
    long n = 0;

    for (size_t i = 0; i < e->nsync; i++) {
        if (e->sync[i].pg != NULL) {
            char one[256];
            long k = pg_notices_take(e->sync[i].pg, one, sizeof(one));
            if (k > 0 && n == 0) {
                snprintf(first, sizeof(first), "%s", one);
            }
            n += k;
        }
    }
    if (n > 0) {
        snprintf(count, sizeof(count), "%ld", n);
        log_kv(LOG_INFO, "database notices", "count", count, "first", first);
    }
}

/*
 * How the batches written from now on through the engine's connections are planned
 * (pg_plan_generic): once per connection for the few files events name, so that a live
 * create is not spent re-planning a dozen statements; as the connection was set up for
 * whole-tree syncs, which fill the tables the plans would be made over. A generic plan is
 * made over the tables as they are when first used: whenever the tree has doubled since
 * (a tree that started empty and grows by events), the plans are made again
 * (pg_replan), or one made over empty tables would scan them whole once they are large.
 */
void
flow_plan_generic(struct engine *e, bool on)
{
    bool replan = on && e->state.nfstates >= 2 * e->plans_nfstates;

    if (replan) {
        e->plans_nfstates = e->state.nfstates;
    }
    for (size_t i = 0; i < e->nsync; i++) {
        if (e->sync[i].pg != NULL) {
            pg_plan_generic(e->sync[i].pg, on);
            if (replan) {
                pg_replan(e->sync[i].pg);
            }
        }
    }
}
