/* job.c -- a big course written in parts, one statement of its transaction at a time. */
#include "agent/job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/log.h"

void
job_destroy(struct job *j)
{
    if (j == NULL) {
        return;
    }
    scan_course_release(&j->sc);
    batch_release(&j->p);
    free(j);
}

/* A job that takes over a course's listing and the batch built so far (files [0, next)). */
static struct job *
job_adopt(struct batch *p, struct scan_course *sc, size_t next, struct sync_ctx *ctx,
          const struct engine_stats *looked)
{
    struct job *j = xcalloc(1, sizeof(*j));

    j->sc = *sc;
    memset(sc, 0, sizeof(*sc));
    j->p = *p;
    memset(p, 0, sizeof(*p));
    j->next = next;
    j->ctx = ctx;
    j->has_brief = batch_listing_has_brief(&j->sc);
    if (looked != NULL) {
        j->cst = *looked;
    }
    return j;
}

struct job *
job_start(struct engine *e, const char *course, struct sync_ctx *ctx)
{
    struct scan_course sc;
    struct batch p;

    if (!engine_list_course(e, course, &sc)) {
        return NULL;
    }
    batch_begin_listing(e, &p, &sc);
    return job_adopt(&p, &sc, 0, ctx, NULL);
}

static enum pg_errclass job_send(struct engine *e, struct job *j, bool last,
                                 struct engine_stats *st, struct err *err);

/*
 * The database refused the course's transaction on data (it was rolled back: nothing of
 * the course was written). The bodies of the parts sent are gone, so the files are read
 * again and written in parts that commit on their own, each through the usual path that
 * finds the file at fault; what is left of the listing follows the same way.
 */
static enum pg_errclass
job_split(struct engine *e, struct job *j, struct engine_stats *st, struct err *err)
{
    struct batch old = j->p;
    struct engine_stats again = {0}; /* these files were counted once already */
    enum pg_errclass cls = PG_OK;

    log_kv(LOG_WARN,
           "the database refused a course written in parts; writing it again in parts that "
           "commit on their own, to find the file at fault",
           "course", old.b.course, "error", err->msg);
    if (j->ctx != NULL && !pg_is_connected(j->ctx->pg) && pg_connect(j->ctx->pg, err) != 0) {
        return PG_TRANSIENT;
    }
    j->split = true;
    j->inflight = j->final = false;
    j->parts = j->sent = 0;
    batch_begin(e, &j->p, old.b.course, j->has_brief);
    for (size_t i = 0; i < old.b.nchanges && cls == PG_OK; i++) {
        const struct file_change *f = &old.b.changes[i];
        int64_t size, mtime;
        struct err e2;
        if (f->kind == CHANGE_GONE) {
            struct fstate *gone = state_get(&e->state, f->path);
            if (gone != NULL) {
                batch_gone(&j->p, gone);
            }
            continue;
        }
        if (scan_stat(e->rootfd, f->path, &size, &mtime, &e2) != 1) {
            continue; /* gone meanwhile: its event, or the next reconcile, sees to it */
        }
        if (batch_part_due(&j->p, size)) {
            cls = job_send(e, j, false, st, err);
        }
        if (cls == PG_OK) {
            batch_present(e, &j->p, f->path, f->is_brief, size, mtime, &again);
        }
    }
    batch_release(&old);
    return cls;
}

/* Send what p holds beyond what was sent: a part of the open transaction, or (split, or a
 * course that fits one part after all) a transaction of its own. last: the course's last. */
static enum pg_errclass
job_send(struct engine *e, struct job *j, bool last, struct engine_stats *st, struct err *err)
{
    struct batch *p = &j->p;
    enum pg_errclass cls;

    if (j->split || (last && j->parts == 0)) {
        char *course = xstrdup(p->b.course);
        cls = flow_write_now(e, j->ctx, p, st, err);
        batch_begin(e, p, course, j->has_brief); /* the rest of the course, if any */
        free(course);
        j->sent = 0;
        j->final = last;
        return cls;
    }
    batch_finalize(p, j->has_brief);
    if (j->ctx == NULL) { /* a dry run: say what each part would write */
        batch_dry_run(e, p, j->sent, st);
        batch_shed(p, j->sent, p->b.nchanges);
        j->sent = p->b.nchanges;
        j->parts++;
        j->final = last;
        return PG_OK;
    }
    if (j->ctx == &e->bulk) {
        /* through the first connection, committed: see sync_shared_ensure (a data error
         * there is the part's, found when it is sent) */
        cls = sync_shared_ensure(&e->sync[0], &p->b, j->sent, p->b.nchanges, j->parts == 0, err);
        if (cls != PG_OK && cls != PG_DATA) {
            return cls;
        }
    }
    cls = sync_part_send(j->ctx, &p->b, j->sent, p->b.nchanges, j->parts == 0, last, err);
    if (cls == PG_DATA) {
        return job_split(e, j, st, err);
    }
    if (cls != PG_OK) {
        return cls;
    }
    char part[32], bytes[32];
    snprintf(part, sizeof(part), "%zu", j->parts + 1);
    snprintf(bytes, sizeof(bytes), "%zu", p->held);
    log_kv(LOG_DEBUG, "part sent", "course", p->b.course, "part", part, "bytes", bytes, "last",
           last ? "true" : NULL);
    batch_shed(p, j->sent, p->b.nchanges);
    j->sent = p->b.nchanges;
    j->parts++;
    j->inflight = true;
    j->final = last;
    return PG_OK;
}

enum pg_errclass
job_step(struct engine *e, struct job *j, bool wait, enum job_state *state, struct engine_stats *st,
         struct err *err)
{
    *state = JOB_MORE;
    if (!j->listed && !j->final) {
        if (j->next < j->sc.nfiles && !batch_part_due(&j->p, j->sc.files[j->next].size)) {
            const struct scan_file *f = &j->sc.files[j->next++];
            struct strbuf path = STRBUF_INIT;
            batch_present(e, &j->p, scan_file_path(&j->sc, f, &path), f->is_brief, f->size,
                          f->mtime_ns, &j->cst);
            strbuf_release(&path);
            return PG_OK;
        }
        if (j->next == j->sc.nfiles) {
            batch_end_listing(e, &j->p, &j->sc);
            j->listed = true;
        }
    }
    if (j->inflight) {
        struct sync_stats ss = {0};
        bool done;
        batch_finalize(&j->p, j->has_brief); /* files read meanwhile may be a brief */
        enum pg_errclass cls = sync_part_poll(j->ctx, &j->p.b, wait, &done, &ss, err);
        if (cls == PG_DATA || cls == PG_REFUSED) {
            return job_split(e, j, st, err);
        }
        if (cls != PG_OK) {
            return cls;
        }
        if (!done) {
            *state = JOB_WAIT;
            return PG_OK;
        }
        j->inflight = false;
        if (j->final) { /* committed: what the database records becomes what we remember */
            st->rows += ss.rows;
            batch_finalize(&j->p, j->has_brief);
            batch_apply(e, &j->p, st);
            *state = JOB_DONE;
            return PG_OK;
        }
    }
    if (j->final) {
        *state = JOB_DONE; /* a dry run, or the last part committed on its own */
        return PG_OK;
    }
    return job_send(e, j, j->listed, st, err);
}

/* Run a job to its end, waiting for the server (backfill; watch without a bulk connection). */
static enum pg_errclass
job_run(struct engine *e, struct job *j, struct engine_stats *st, struct err *err)
{
    enum job_state state = JOB_MORE;
    enum pg_errclass cls = PG_OK;

    while (cls == PG_OK && state != JOB_DONE) {
        cls = job_step(e, j, true, &state, st, err);
    }
    if (cls == PG_OK) {
        engine_stats_add_looked(st, &j->cst);
    } else if (j->ctx != NULL && (j->inflight || j->parts > 0)) {
        pg_disconnect(j->ctx->pg); /* no sync may commit half a course */
    }
    return cls;
}

enum pg_errclass
job_write_big(struct engine *e, struct flow *fl, struct batch *p, struct scan_course *sc,
              size_t next, const struct engine_stats *looked, struct engine_stats *st,
              struct err *err)
{
    enum pg_errclass cls;
    struct job *j;

    if (e->bulk.pg != NULL) {
        bulk_enqueue(e, p->b.course);
        batch_release(p);
        return PG_OK;
    }
    cls = flow_finish(e, fl, st, err);
    if (cls != PG_OK) {
        batch_release(p);
        return cls;
    }
    struct sync_ctx *ctx = e->o.dry_run ? NULL : &e->sync[0];
    if (sc != NULL) {
        j = job_adopt(p, sc, next, ctx, looked);
    } else {
        char *course = xstrdup(p->b.course);
        batch_release(p);
        j = job_start(e, course, ctx);
        free(course);
        if (j == NULL) {
            return PG_OK;
        }
    }
    cls = job_run(e, j, st, err);
    job_destroy(j);
    return cls;
}
