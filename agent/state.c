/* state.c -- what the engine recorded of the tree: one record per file, by course then path. */
#include "agent/state.h"

#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "parser/utf8.h"
#include "persist/filestate.h"
#include "persist/sync.h"

void
state_release(struct state *s)
{
    for (size_t i = 0; i < s->nclist; i++) {
        struct cstate *c = s->clist[i];
        for (size_t k = 0; k < c->n; k++) {
            free(c->files[k]->error);
        }
        free(c->files);
        free(c->name);
        free(c);
    }
    free(s->clist);
    arena_release(&s->fstates);
    strmap_release(&s->courses);
    memset(s, 0, sizeof(*s));
}

const char *
state_path_key(const char *rel, char **owned)
{
    size_t n = strlen(rel);
    struct strbuf sb = STRBUF_INIT;

    *owned = NULL;
    if (utf8_check(rel, n) == UTF8_VALID) {
        return rel;
    }
    for (size_t i = 0; i < n;) {
        size_t bad = utf8_check(rel + i, n - i);
        size_t good = bad == UTF8_VALID ? n - i : bad;
        strbuf_add(&sb, rel + i, good);
        i += good;
        if (i < n) {
            strbuf_addf(&sb, "\\x%02x", (unsigned char)rel[i]);
            i++;
        }
    }
    *owned = strbuf_detach(&sb, NULL);
    return *owned;
}

struct cstate *
state_course(struct state *s, const char *name, size_t len, bool create)
{
    void **v = strmap_find(&s->courses, name, len);

    if (v != NULL) {
        return *v;
    }
    if (!create) {
        return NULL;
    }
    struct cstate *c = xcalloc(1, sizeof(*c));
    c->name = xstrndup(name, len);
    strmap_put(&s->courses, c->name, len, c);
    if (s->nclist == s->capclist) {
        s->capclist = s->capclist ? s->capclist * 2 : 64;
        s->clist = xrealloc(s->clist, s->capclist * sizeof(*s->clist));
    }
    s->clist[s->nclist++] = c;
    return c;
}

uint64_t
state_title_hash(const char *title)
{
    return title != NULL ? hash64(title, strlen(title)) | 1 : 0;
}

size_t
state_path_split(const char *path, const char **rel)
{
    const char *slash = strchr(path, '/');

    if (slash == NULL) {
        *rel = path + strlen(path);
        return strlen(path);
    }
    *rel = slash + 1;
    return (size_t)(slash - path);
}

/* The record of rel among the course's files [0, n) (sorted), or NULL with *pos where it
 * would go. */
static struct fstate *
course_file(const struct cstate *c, size_t n, const char *rel, size_t *pos)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(c->files[mid]->rel, rel);
        if (cmp == 0) {
            *pos = mid;
            return c->files[mid];
        }
        if (cmp < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *pos = lo;
    return NULL;
}

const char *
state_file_path(const struct cstate *c, const struct fstate *f, struct strbuf *sb)
{
    strbuf_reset(sb);
    strbuf_addf(sb, "%s/%s", c->name, f->rel);
    return sb->buf;
}

struct fstate *
state_get(struct state *s, const char *path)
{
    const char *rel;
    size_t clen = state_path_split(path, &rel), pos;
    struct cstate *c = state_course(s, path, clen, false);
    struct fstate *f = c != NULL ? course_file(c, c->nsorted, rel, &pos) : NULL;

    return f != NULL && f->live ? f : NULL;
}

/* A new record for rel in course c, at position pos of its files (appended when pos is n). */
static struct fstate *
state_new(struct state *s, struct cstate *c, const char *rel, size_t pos)
{
    size_t len = strlen(rel);
    struct fstate *f = arena_alloc(&s->fstates, offsetof(struct fstate, rel) + len + 1);

    f->module_no = -1;
    f->lesson_no = -1;
    memcpy(f->rel, rel, len);
    s->nfstates++;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->files = xrealloc(c->files, c->cap * sizeof(*c->files));
    }
    memmove(c->files + pos + 1, c->files + pos, (c->n - pos) * sizeof(*c->files));
    c->files[pos] = f;
    c->n++;
    return f;
}

/* Record a file as live with these facts (creating its entry when new). While loading, a
 * new entry is appended, and the course's files sorted once the load ends. */
static struct fstate *
state_put(struct state *s, const char *path, int64_t size, int64_t mtime_ns, uint64_t hash,
          bool is_brief, const char *error, bool loading)
{
    const char *rel;
    size_t clen = state_path_split(path, &rel), pos;
    struct cstate *c = state_course(s, path, clen, true);
    struct fstate *f = course_file(c, c->nsorted, rel, &pos);

    if (f == NULL) {
        f = state_new(s, c, rel, loading ? c->n : pos);
        if (!loading) {
            c->nsorted++;
        }
    }
    f->size = size;
    f->mtime_ns = mtime_ns;
    f->hash = hash;
    f->is_brief = is_brief;
    if (f->error == NULL || error == NULL || strcmp(f->error, error) != 0) {
        free(f->error);
        f->error = error != NULL ? xstrdup(error) : NULL;
    }
    f->live = true;
    return f;
}

struct fstate *
state_set(struct state *s, const char *path, int64_t size, int64_t mtime_ns, uint64_t hash,
          bool is_brief, const char *error)
{
    return state_put(s, path, size, mtime_ns, hash, is_brief, error, false);
}

static int
cmp_fstate(const void *a, const void *b)
{
    return strcmp((*(struct fstate *const *)a)->rel, (*(struct fstate *const *)b)->rel);
}

/* One recorded row, as the load reads it. */
static void
load_row_cb(void *arg, const struct filestate_row *row)
{
    struct fstate *f = state_put(arg, row->path, row->size, row->mtime_ns, row->hash, row->is_brief,
                                 row->error, true);

    f->module_no = row->module_no;
    f->lesson_no = row->lesson_no;
    f->module_title_hash = state_title_hash(row->module_title);
}

enum pg_errclass
state_load(struct state *s, struct pg *pg, const char *source, struct err *err)
{
    enum pg_errclass cls;

    /* what is recorded now replaces what we remembered */
    for (size_t i = 0; i < s->nclist; i++) {
        for (size_t k = 0; k < s->clist[i]->n; k++) {
            s->clist[i]->files[k]->live = false;
        }
    }
    cls = filestate_load(pg, source, load_row_cb, s, err);
    /* the load ended: every course's files in order again */
    for (size_t i = 0; i < s->nclist; i++) {
        struct cstate *c = s->clist[i];
        if (c->nsorted != c->n) {
            qsort(c->files, c->n, sizeof(*c->files), cmp_fstate);
            c->nsorted = c->n;
        }
    }
    return cls;
}

size_t
state_course_live(const struct cstate *c)
{
    size_t n = 0;

    for (size_t i = 0; c != NULL && i < c->n; i++) {
        n += c->files[i]->live;
    }
    return n;
}

bool
state_course_written(const struct cstate *c)
{
    for (size_t i = 0; c != NULL && i < c->n; i++) {
        if (c->files[i]->live && !sync_is_refusal(c->files[i]->error)) {
            return true;
        }
    }
    return false;
}

void
state_course_unsee(struct state *s, const char *course)
{
    struct cstate *c = state_course(s, course, strlen(course), false);

    for (size_t i = 0; c != NULL && i < c->n; i++) {
        c->files[i]->seen = false;
    }
}

long
state_live(const struct state *s)
{
    long n = 0;

    for (size_t i = 0; i < s->nclist; i++) {
        n += (long)state_course_live(s->clist[i]);
    }
    return n;
}

static int
cmp_cstate(const void *a, const void *b)
{
    return strcmp((*(struct cstate *const *)a)->name, (*(struct cstate *const *)b)->name);
}

void
state_sort_courses(struct state *s)
{
    if (s->nclist > 0) {
        qsort(s->clist, s->nclist, sizeof(*s->clist), cmp_cstate);
    }
}
