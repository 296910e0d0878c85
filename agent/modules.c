/* modules.c -- the module rows are redone only when what they are made of changes. */
#include "agent/modules.h"

#include <stdlib.h>
#include <string.h>

#include "common/strmap.h"
#include "persist/module_order.h"

/* One lesson's module facts: the statement's sort key, and its title as remembered. */
struct mfact {
    struct module_fact key; /* key.path: the path within the course */
    uint64_t title_hash;    /* 0: no module title */
};

static int
cmp_mfact(const void *a, const void *b)
{
    return module_order_cmp(&((const struct mfact *)a)->key, &((const struct mfact *)b)->key);
}

static struct mfact
mfact_make(long module_no, long lesson_no, uint64_t title_hash, const char *rel)
{
    return (struct mfact){{module_no, lesson_no, title_hash != 0, rel}, title_hash};
}

static struct mfact
recorded_fact(const struct fstate *f)
{
    return mfact_make(f->module_no, f->lesson_no, f->module_title_hash, f->rel);
}

/* Sort the facts and keep the first of each module: the modules they make, in order. */
static size_t
mfacts_modules(struct mfact *v, size_t n)
{
    size_t k = 0;

    if (n > 0) {
        qsort(v, n, sizeof(*v), cmp_mfact);
    }
    for (size_t i = 0; i < n; i++) {
        if (k == 0 || v[k - 1].key.module_no != v[i].key.module_no) {
            v[k++] = v[i];
        }
    }
    return k;
}

/*
 * The facts of this tree before the batch and after it are compared; when both make the
 * same modules with the same titles, the statement would change nothing, whatever other
 * trees hold (the first of a module over all trees is the first of the per-tree firsts, and
 * this tree's are unchanged). A new lesson in a module that has one already, the common
 * case of a watched tree, costs no module statement.
 */
bool
modules_change(struct state *s, const struct batch *p)
{
    struct cstate *c = state_course(s, p->b.course, strlen(p->b.course), false);
    size_t cap = (c != NULL ? c->n : 0) + p->b.nchanges, nb = 0, na = 0;
    struct mfact *before = xmalloc((cap ? cap : 1) * sizeof(*before));
    struct mfact *after = xmalloc((cap ? cap : 1) * sizeof(*after));
    struct strmap changed = STRMAP_INIT; /* by the path within the course */
    bool differ;

    for (size_t i = 0; i < p->b.nchanges; i++) {
        const char *rel;
        state_path_split(p->b.changes[i].path, &rel);
        strmap_put(&changed, rel, strlen(rel), &p->b.changes[i]);
    }
    for (size_t i = 0; c != NULL && i < c->n; i++) {
        const struct fstate *f = c->files[i];
        if (!f->live || f->is_brief || f->module_no < 0) {
            continue;
        }
        before[nb++] = recorded_fact(f);
        if (strmap_find(&changed, f->rel, strlen(f->rel)) == NULL) {
            after[na++] = recorded_fact(f);
        }
    }
    for (size_t i = 0; i < p->b.nchanges; i++) {
        const struct file_change *f = &p->b.changes[i];
        if (f->is_brief || f->kind == CHANGE_GONE) {
            continue;
        }
        if (f->kind == CHANGE_PARSED) {
            const struct record *r = f->rec;
            if (r->module_no >= 0) {
                const char *rel;
                state_path_split(f->path, &rel);
                after[na++] =
                    mfact_make(r->module_no, r->lesson_no, state_title_hash(r->module_title), rel);
            }
            continue;
        }
        /* rejected or touched: the recorded facts stay */
        const struct fstate *old = state_get(s, f->path);
        if (old != NULL && old->module_no >= 0) {
            after[na++] = recorded_fact(old);
        }
    }
    nb = mfacts_modules(before, nb);
    na = mfacts_modules(after, na);
    differ = nb != na;
    for (size_t i = 0; !differ && i < nb; i++) {
        differ = before[i].key.module_no != after[i].key.module_no ||
                 before[i].title_hash != after[i].title_hash;
    }
    strmap_release(&changed);
    free(before);
    free(after);
    return differ;
}
