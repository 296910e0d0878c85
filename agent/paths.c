/* paths.c -- converge the database to the paths that events name: grouped by course, each
 * course's batch built from its named files (or its whole listing), written in the flow. */
#include "agent/paths.h"

#include <stdlib.h>
#include <string.h>

#include "agent/batch.h"
#include "agent/engine_impl.h"
#include "agent/flow.h"
#include "agent/job.h"
#include "agent/log.h"
#include "agent/reconcile.h"
#include "common/strmap.h"

/* The paths of one course that events named. */
struct course_paths {
    char *course;
    char **paths;
    size_t n, cap;
    bool whole; /* the course directory itself changed: list it all */
};

static struct course_paths *
cp_get(struct strmap *m, struct course_paths ***list, size_t *n, const char *course, size_t len)
{
    void **v = strmap_find(m, course, len);

    if (v != NULL) {
        return *v;
    }
    struct course_paths *cp = xcalloc(1, sizeof(*cp));
    cp->course = xstrndup(course, len);
    strmap_put(m, cp->course, len, cp);
    *list = xrealloc(*list, (*n + 1) * sizeof(**list));
    (*list)[(*n)++] = cp;
    return cp;
}

static void
cp_add(struct course_paths *cp, const char *path)
{
    if (cp->n == cp->cap) {
        cp->cap = cp->cap ? cp->cap * 2 : 8;
        cp->paths = xrealloc(cp->paths, cp->cap * sizeof(char *));
    }
    cp->paths[cp->n++] = xstrdup(path);
}

static void
cps_free(struct course_paths **list, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        scan_names_free(list[k]->paths, list[k]->n);
        free(list[k]->course);
        free(list[k]);
    }
    free(list);
}

/* Build the batch of one course from the paths events named. Returns false when the batch
 * would hold more than one part (a big course: p is then incomplete, a job writes it). */
static bool
build_paths(struct engine *e, struct batch *p, struct course_paths *cp, struct engine_stats *st)
{
    struct cstate *c = state_course(&e->state, cp->course, strlen(cp->course), false);
    struct strmap done = STRMAP_INIT;
    struct err err;
    int64_t size, mtime;
    bool has_brief = false;
    struct strbuf old_path = STRBUF_INIT;

    /* The brief: whichever candidate now wins, and the recorded one if it lost. */
    char *brief = scan_course_brief(e->rootfd, cp->course);
    struct fstate *old_brief = NULL;
    for (size_t i = 0; c != NULL && i < c->n; i++) {
        if (c->files[i]->live && c->files[i]->is_brief) {
            old_brief = c->files[i];
            state_file_path(c, old_brief, &old_path);
        }
    }
    if (brief != NULL) {
        has_brief = true;
        if (scan_stat(e->rootfd, brief, &size, &mtime, &err) == 1) {
            batch_present(e, p, brief, true, size, mtime, st);
        }
        strmap_put(&done, brief, strlen(brief), brief);
    }
    /*
     * A recorded brief that another candidate replaced is gone. One that is simply missing
     * is gone once its own removal is reported (it settles, see cmd_watch.c): a directory
     * of the course reported gone may be a step of `rm -r` of the whole course, and the
     * brief's absence alone would rename the project to its slug just before the archive.
     */
    if (old_brief != NULL && brief != NULL && strcmp(brief, old_path.buf) != 0) {
        batch_gone(p, old_brief);
    } else if (old_brief != NULL && brief == NULL &&
               scan_names_has(cp->paths, cp->n, old_path.buf)) {
        batch_gone(p, old_brief);
    }
    strbuf_release(&old_path);
    for (size_t i = 0; i < cp->n; i++) {
        const char *path = cp->paths[i];
        if (strmap_find(&done, path, strlen(path)) != NULL) {
            continue;
        }
        strmap_put(&done, path, strlen(path), cp->paths[i]);
        if (scan_kind(path) != FILE_LESSON) {
            continue;
        }
        int r = scan_stat(e->rootfd, path, &size, &mtime, &err);
        if (r == 1 && batch_part_due(p, size)) {
            strmap_release(&done);
            free(brief);
            return false;
        }
        if (r == 1) {
            batch_present(e, p, path, false, size, mtime, st);
        } else if (r == 0) {
            char *key_owned;
            struct fstate *f = state_get(&e->state, state_path_key(path, &key_owned));
            if (f != NULL) {
                batch_gone(p, f);
            }
            free(key_owned);
        } else {
            log_kv(LOG_WARN, "cannot stat", "path", path, "error", err.msg);
        }
    }
    strmap_release(&done);
    free(brief);
    /* No brief and no lesson left: the course is gone. */
    size_t live = state_course_live(c);
    p->b.project_live = state_course_written(c) && !e->o.force;
    if (e->o.force) {
        p->b.modules_dirty = p->b.links_dirty = true;
    }
    long delta = 0;
    for (size_t i = 0; i < p->b.nchanges; i++) {
        if (p->b.changes[i].kind == CHANGE_GONE) {
            delta--;
        } else if (state_get(&e->state, p->b.changes[i].path) == NULL) {
            delta++;
        }
    }
    if (live > 0 && (long)live + delta <= 0) {
        p->b.gone = true;
    }
    p->b.brief_mode = has_brief ? BRIEF_KEEP : BRIEF_ABSENT;
    return true;
}

/* Group the paths by course. False when one is "" (the whole tree). */
static bool
group_paths(struct engine *e, const char *const *paths, const bool *subtree, size_t n,
            struct strmap *m, struct course_paths ***list, size_t *nlist)
{
    struct strbuf prefix = STRBUF_INIT, full = STRBUF_INIT;
    bool ok = true;

    for (size_t i = 0; i < n && ok; i++) {
        const char *path = paths[i];
        size_t len = strlen(path);
        if (len == 0) {
            ok = false;
            break;
        }
        const char *slash = strchr(path, '/');
        if (slash == NULL && !subtree[i]) {
            continue; /* a file directly under the root is no course file */
        }
        size_t clen = slash ? (size_t)(slash - path) : len;
        struct course_paths *cp = cp_get(m, list, nlist, path, clen);
        if (slash == NULL) {
            cp->whole = true; /* the course directory itself: list it all */
        } else if (subtree[i]) {
            /* a directory inside the course: every file recorded under it is re-checked */
            struct cstate *c = state_course(&e->state, path, clen, false);
            strbuf_reset(&prefix);
            strbuf_addf(&prefix, "%s/", slash + 1); /* within the course */
            for (size_t k = 0; c != NULL && k < c->n; k++) {
                if (c->files[k]->live && strncmp(c->files[k]->rel, prefix.buf, prefix.len) == 0) {
                    cp_add(cp, state_file_path(c, c->files[k], &full));
                }
            }
        } else {
            cp_add(cp, path);
        }
    }
    strbuf_release(&prefix);
    strbuf_release(&full);
    return ok;
}

/* One course's named paths into the flow (its whole listing when the course itself was
 * named; a job when it is big). */
static enum pg_errclass
sync_course_paths(struct engine *e, struct flow *fl, struct course_paths *cp,
                  struct engine_stats *st, struct err *err)
{
    struct engine_stats looked = {0};
    struct batch p;

    if (cp->whole) {
        struct scan_course sc;
        if (!engine_list_course(e, cp->course, &sc)) {
            return PG_OK;
        }
        batch_begin_listing(e, &p, &sc);
        size_t next = batch_build_listing(e, &p, &sc, 0, &looked);
        if (next < sc.nfiles) {
            enum pg_errclass cls = job_write_big(e, fl, &p, &sc, next, &looked, st, err);
            scan_course_release(&sc);
            return cls;
        }
        scan_course_release(&sc);
    } else {
        batch_init(&p, cp->course);
        if (!build_paths(e, &p, cp, &looked)) {
            /* big: the whole course is written in parts (a job lists it itself) */
            return job_write_big(e, fl, &p, NULL, 0, NULL, st, err);
        }
    }
    engine_stats_add_looked(st, &looked);
    return flow_push(e, fl, &p, st, err);
}

enum pg_errclass
paths_sync(struct engine *e, const char *const *paths, const bool *subtree, size_t n,
           struct engine_stats *st, struct err *err)
{
    struct strmap m = STRMAP_INIT;
    struct course_paths **list = NULL;
    size_t nlist = 0;
    struct flow fl = {.next = 0};
    enum pg_errclass cls = PG_OK;

    if (!group_paths(e, paths, subtree, n, &m, &list, &nlist)) {
        cps_free(list, nlist);
        strmap_release(&m);
        return reconcile_tree(e, st, NULL, NULL, err); /* the whole tree */
    }
    if (engine_root_open(e, err) != 0) {
        /* the root went away: the watcher tells the daemon, which checks until it is back */
        cps_free(list, nlist);
        strmap_release(&m);
        return PG_OK;
    }
    flow_plan_generic(e, true);
    for (size_t i = 0; i < nlist && cls == PG_OK; i++) {
        struct course_paths *cp = list[i];
        if (engine_course_skip_bad(e, cp->course, st) || engine_course_held(e, cp->course)) {
            continue;
        }
        cls = sync_course_paths(e, &fl, cp, st, err);
    }
    cls = flow_close(e, &fl, cls, st, err);
    flow_plan_generic(e, false);
    engine_root_close(e);
    flow_log_notices(e);
    cps_free(list, nlist);
    strmap_release(&m);
    return cls;
}
