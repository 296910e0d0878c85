/* reconcile.c -- converge the database to the whole tree: every course listed, looked at and
 * written, the gone ones archived, and a tree that looks missing refused. */
#include "agent/reconcile.h"

#include <stdlib.h>
#include <string.h>

#include "agent/batch.h"
#include "agent/engine_impl.h"
#include "agent/flow.h"
#include "agent/job.h"
#include "agent/scan.h"
#include "common/strmap.h"

/* Refusing a mass deletion: more than this many files, and more than half (README). */
#define MASS_REMOVE_FEW 5

/*
 * An empty tree is not a deleted tree. Would this reconcile delete or archive most of what
 * the source recorded: the tree holds no file at all, or more than MASS_REMOVE_FEW files
 * and more than half of them would go? A volume that is not mounted, or a --root that
 * points at the wrong folder, looks exactly like that; the operator says otherwise with
 * --allow-mass-delete. Courses held (away, or in the bulk queue) count as present.
 */
static bool
mass_delete(struct engine *e, char **names, const struct scan_course *lists, const bool *ok,
            long nnames, struct strmap *listed, struct err *err)
{
    long recorded = state_live(&e->state), removed = 0, tree_files = 0;
    bool held_any = false;

    if (recorded == 0) {
        return false;
    }
    for (long i = 0; i < nnames; i++) {
        if (!ok[i]) {
            held_any = held_any || !engine_course_bad_name(names[i]);
            continue;
        }
        tree_files += (long)lists[i].nfiles;
        struct cstate *c = state_course(&e->state, names[i], strlen(names[i]), false);
        if (c == NULL) {
            continue;
        }
        state_course_unsee(&e->state, names[i]);
        struct strbuf sb = STRBUF_INIT;
        for (size_t k = 0; k < lists[i].nfiles; k++) {
            char *key_owned;
            const char *path = scan_file_path(&lists[i], &lists[i].files[k], &sb);
            struct fstate *f = state_get(&e->state, state_path_key(path, &key_owned));
            if (f != NULL) {
                f->seen = true;
            }
            free(key_owned);
        }
        strbuf_release(&sb);
        for (size_t k = 0; k < c->n; k++) {
            removed += c->files[k]->live && !c->files[k]->seen;
        }
    }
    for (size_t i = 0; i < e->state.nclist; i++) {
        struct cstate *c = e->state.clist[i];
        if (strmap_find(listed, c->name, strlen(c->name)) == NULL &&
            !engine_course_away(e, c->name) && bulk_find(e, c->name) == NULL) {
            removed += (long)state_course_live(c);
        }
    }
    bool empty = tree_files == 0 && !held_any;
    if (!empty && !(removed > MASS_REMOVE_FEW && removed * 2 > recorded)) {
        return false;
    }
    err_set(err,
            "refusing to delete or archive %ld of the %ld files this source recorded (%s): is "
            "the volume mounted, is --root %s the right folder? Nothing was written; "
            "--allow-mass-delete lets it through",
            removed, recorded, empty ? "the tree is empty" : "more than half of them", e->root);
    return true;
}

/* List a course of the tree: false when there is nothing to write of it now (a name that
 * cannot be a slug, a course held, a course that cannot be listed: logged). */
static bool
list_course(struct engine *e, const char *course, struct scan_course *sc)
{
    if (engine_course_bad_name(course) || engine_course_held(e, course)) {
        return false;
    }
    return engine_list_course(e, course, sc);
}

/* Courses recorded but no longer in the tree (the courses sorted by name): archived. */
static enum pg_errclass
archive_gone(struct engine *e, struct flow *fl, struct strmap *listed, struct engine_stats *st,
             struct err *err)
{
    enum pg_errclass cls = PG_OK;

    for (size_t i = 0; i < e->state.nclist && cls == PG_OK; i++) {
        struct cstate *c = e->state.clist[i];
        if (state_course_live(c) == 0 || strmap_find(listed, c->name, strlen(c->name)) ||
            engine_course_held(e, c->name)) {
            continue;
        }
        struct batch p;
        batch_init(&p, c->name);
        p.b.gone = true;
        for (size_t k = 0; k < c->n; k++) {
            if (c->files[k]->live) {
                st->deleted++;
            }
        }
        cls = flow_push(e, fl, &p, st, err);
    }
    return cls;
}

enum pg_errclass
reconcile_tree(struct engine *e, struct engine_stats *st, engine_progress_cb progress, void *arg,
               struct err *err)
{
    char **names = NULL;
    long nnames;
    struct flow fl = {.next = 0};
    enum pg_errclass cls = PG_OK;
    long total = state_live(&e->state);
    struct strmap listed = STRMAP_INIT;

    if (engine_root_open(e, err) != 0) {
        /* The root itself is gone (a volume unmounted): there is nothing to judge. */
        st->refused = total > 0 ? total : 1;
        return PG_OK;
    }
    nnames = scan_course_names(e->rootfd, &names, err);
    if (nnames < 0) {
        engine_root_close(e);
        return PG_FATAL;
    }
    /* When the source recorded files, every course is listed first (names and sizes, nothing
     * read), so that a mass deletion is refused before anything is written. With nothing
     * recorded there is nothing to delete: each course is listed just before it is written
     * (a cold backfill never holds the listing of the whole tree). Each listing is dropped
     * once its course is written. */
    bool list_first = total > 0 && !e->o.allow_mass_delete;
    struct scan_course *lists = xcalloc(nnames > 0 ? (size_t)nnames : 1, sizeof(*lists));
    bool *ok = xcalloc(nnames > 0 ? (size_t)nnames : 1, sizeof(bool));
    for (long i = 0; i < nnames; i++) {
        strmap_put(&listed, names[i], strlen(names[i]), names[i]);
        if (list_first) {
            ok[i] = list_course(e, names[i], &lists[i]);
        }
    }
    if (list_first && mass_delete(e, names, lists, ok, nnames, &listed, err)) {
        st->refused = total;
        goto out;
    }
    for (long i = 0; i < nnames && cls == PG_OK; i++) {
        struct engine_stats looked = {0};
        struct batch p;
        if (engine_course_skip_bad(e, names[i], st)) {
            continue;
        }
        if (!list_first) {
            ok[i] = list_course(e, names[i], &lists[i]);
        }
        if (!ok[i]) {
            continue;
        }
        batch_begin_listing(e, &p, &lists[i]);
        size_t next = batch_build_listing(e, &p, &lists[i], 0, &looked);
        if (next < lists[i].nfiles) {
            cls = job_write_big(e, &fl, &p, &lists[i], next, &looked, st, err);
        } else {
            engine_stats_add_looked(st, &looked);
            cls = flow_push(e, &fl, &p, st, err);
        }
        scan_course_release(&lists[i]); /* the batch holds what it needs */
        if (progress != NULL) {
            progress(arg, st->seen, total > st->seen ? total : 0);
        }
    }
    state_sort_courses(&e->state);
    if (cls == PG_OK) {
        cls = archive_gone(e, &fl, &listed, st, err);
    }
    cls = flow_close(e, &fl, cls, st, err);
out:
    for (long i = 0; i < nnames; i++) {
        scan_course_release(&lists[i]);
    }
    free(lists);
    free(ok);
    flow_log_notices(e);
    strmap_release(&listed);
    scan_names_free(names, (size_t)nnames);
    engine_root_close(e);
    return cls;
}
