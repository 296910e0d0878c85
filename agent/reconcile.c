/* reconcile.c -- converge the database to the tree: one path for start, backfill, overflow,
 * outages and the paths that inotify reports. */
#include "agent/reconcile.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/log.h"
#include "agent/scan.h"
#include "common/clock.h"
#include "common/hash.h"
#include "common/strbuf.h"
#include "common/strmap.h"
#include "parser/utf8.h"
#include "persist/sync.h"

/* What the agent recorded of one file (mirror of creatoros_agent.file_state). */
struct fstate {
    char *path;
    int64_t size;
    int64_t mtime_ns;
    uint64_t hash;
    bool is_brief;
    char *error; /* why it is rejected; NULL when synced */
    bool live;   /* false once the file is gone; the entry is kept for reuse */
    bool seen;   /* visited by the reconcile in progress */
    /* a lesson's module facts as last synced (the inputs of its course's module rows) */
    long module_no;
    long lesson_no;
    uint64_t module_title_hash; /* 0: no module title */
};

/* The recorded files of one course. */
struct cstate {
    char *name;
    struct fstate **files; /* includes dead entries */
    size_t n, cap;
};

struct engine {
    struct engine_opts o;
    char *root;
    char *source;
    int rootfd;
    struct strmap files;   /* path -> struct fstate */
    struct strmap courses; /* course -> struct cstate */
    struct cstate **clist;
    size_t nclist, capclist;
    struct strbuf rejections;
    struct sync_ctx sync[ENGINE_MAX_CONN];
    size_t nsync;
};

/* A course batch being built: the changes own their path, record and reason. */
struct pending {
    struct course_batch b;
    struct file_change *changes;
    struct record *recs; /* parallel to changes */
    char **paths;
    char **errors;
    size_t n, cap;
    long long started_ms;
};

/* ---- recorded state ------------------------------------------------------------------- */

/*
 * The name a path is recorded under. The database holds text, and a file name need not be
 * UTF-8 (such a file is rejected, and must still be listed by status): its bad bytes are
 * written as \xNN. Returns rel itself, or a heap copy stored in *owned (free()).
 */
static const char *
path_key(const char *rel, char **owned)
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

static struct cstate *
course_get(struct engine *e, const char *name, size_t len, bool create)
{
    void **v = strmap_find(&e->courses, name, len);

    if (v != NULL) {
        return *v;
    }
    if (!create) {
        return NULL;
    }
    struct cstate *c = xcalloc(1, sizeof(*c));
    c->name = xstrndup(name, len);
    strmap_put(&e->courses, c->name, len, c);
    if (e->nclist == e->capclist) {
        e->capclist = e->capclist ? e->capclist * 2 : 64;
        e->clist = xrealloc(e->clist, e->capclist * sizeof(*e->clist));
    }
    e->clist[e->nclist++] = c;
    return c;
}

static uint64_t
title_hash(const char *title)
{
    return title != NULL ? hash64(title, strlen(title)) | 1 : 0;
}

static struct fstate *
state_get(struct engine *e, const char *path)
{
    void **v = strmap_find(&e->files, path, strlen(path));
    struct fstate *f = v != NULL ? *v : NULL;

    return f != NULL && f->live ? f : NULL;
}

/* Record a file as live with these facts (creating its entry when new). */
static struct fstate *
state_set(struct engine *e, const char *path, int64_t size, int64_t mtime_ns, uint64_t hash,
          bool is_brief, const char *error)
{
    size_t len = strlen(path);
    void **v = strmap_find(&e->files, path, len);
    struct fstate *f;

    if (v != NULL) {
        f = *v;
    } else {
        f = xcalloc(1, sizeof(*f));
        f->module_no = -1;
        f->lesson_no = -1;
        f->path = xstrndup(path, len);
        strmap_put(&e->files, f->path, len, f);
        const char *slash = strchr(path, '/');
        struct cstate *c = course_get(e, path, slash ? (size_t)(slash - path) : len, true);
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 16;
            c->files = xrealloc(c->files, c->cap * sizeof(*c->files));
        }
        c->files[c->n++] = f;
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

static size_t
course_live_count(const struct cstate *c)
{
    size_t n = 0;

    for (size_t i = 0; c != NULL && i < c->n; i++) {
        n += c->files[i]->live;
    }
    return n;
}

/* Whether an earlier sync of this source wrote the course's project and outline: some file
 * of it is recorded, and not as refused (a course refused to this source wrote nothing). */
static bool
course_written(const struct cstate *c)
{
    for (size_t i = 0; c != NULL && i < c->n; i++) {
        if (c->files[i]->live && !sync_is_refusal(c->files[i]->error)) {
            return true;
        }
    }
    return false;
}

/* ---- engine ------------------------------------------------------------------------------ */

static char *
default_source(const char *root)
{
    char host[256] = "localhost";
    char *abs = realpath(root, NULL);
    struct strbuf sb = STRBUF_INIT;

    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    strbuf_addf(&sb, "%s:%s", host, abs != NULL ? abs : root);
    free(abs);
    return strbuf_detach(&sb, NULL);
}

struct engine *
engine_create(const struct engine_opts *opts, struct err *err)
{
    struct engine *e = xcalloc(1, sizeof(*e));

    e->o = *opts;
    e->root = xstrdup(opts->root);
    e->source = opts->source != NULL ? xstrdup(opts->source) : default_source(opts->root);
    e->o.root = e->root;
    e->o.source = e->source;
    strbuf_init(&e->rejections, 0);
    e->rootfd = scan_open_root(opts->root, err);
    if (e->rootfd < 0) {
        engine_destroy(e);
        return NULL;
    }
    e->nsync = 0;
    for (size_t i = 0; i < ENGINE_MAX_CONN; i++) {
        struct pg *pg = i == 0 ? opts->pg : opts->pg_extra;
        if (pg != NULL) {
            e->sync[e->nsync++] = (struct sync_ctx){
                .pg = pg, .source = e->source, .root = e->root, .creator_mind = opts->creator_mind};
        }
    }
    if (e->nsync == 0) {
        e->nsync = 1; /* a dry run without a database: the flow is never used */
    }
    return e;
}

void
engine_destroy(struct engine *e)
{
    if (e == NULL) {
        return;
    }
    for (size_t i = 0; i < e->nclist; i++) {
        struct cstate *c = e->clist[i];
        for (size_t k = 0; k < c->n; k++) {
            free(c->files[k]->path);
            free(c->files[k]->error);
            free(c->files[k]);
        }
        free(c->files);
        free(c->name);
        free(c);
    }
    free(e->clist);
    strmap_release(&e->files);
    strmap_release(&e->courses);
    strbuf_release(&e->rejections);
    if (e->rootfd >= 0) {
        close(e->rootfd);
    }
    free(e->root);
    free(e->source);
    free(e);
}

const char *
engine_source(const struct engine *e)
{
    return e->source;
}

const char *
engine_rejections(const struct engine *e)
{
    return e->rejections.buf;
}

void
engine_clear_rejections(struct engine *e)
{
    strbuf_reset(&e->rejections);
}

enum pg_errclass
engine_load_state(struct engine *e, struct err *err)
{
    const char *vals[1] = {e->source};
    enum pg_errclass cls;
    PGresult *res;

    if (e->o.pg == NULL) {
        return PG_OK; /* a dry run without a database: every file looks new */
    }
    res = pg_exec(e->o.pg,
                  "SELECT path, size, mtime_ns, hash, kind = 'brief', error, "
                  "coalesce(module_no, -1), coalesce(lesson_no, -1), module_title "
                  "FROM creatoros_agent.file_state WHERE source = $1",
                  1, vals, &cls, err);
    if (res == NULL) {
        return cls;
    }
    /* what is recorded now replaces what we remembered */
    for (size_t i = 0; i < e->nclist; i++) {
        for (size_t k = 0; k < e->clist[i]->n; k++) {
            e->clist[i]->files[k]->live = false;
        }
    }
    for (int i = 0; i < PQntuples(res); i++) {
        struct fstate *f = state_set(
            e, PQgetvalue(res, i, 0), strtoll(PQgetvalue(res, i, 1), NULL, 10),
            strtoll(PQgetvalue(res, i, 2), NULL, 10),
            (uint64_t)strtoll(PQgetvalue(res, i, 3), NULL, 10), PQgetvalue(res, i, 4)[0] == 't',
            PQgetisnull(res, i, 5) ? NULL : PQgetvalue(res, i, 5));
        f->module_no = strtol(PQgetvalue(res, i, 6), NULL, 10);
        f->lesson_no = strtol(PQgetvalue(res, i, 7), NULL, 10);
        f->module_title_hash = PQgetisnull(res, i, 8) ? 0 : title_hash(PQgetvalue(res, i, 8));
    }
    PQclear(res);
    return PG_OK;
}

static void
log_rejection(struct engine *e, const char *path, const char *reason)
{
    log_kv(LOG_WARN, "rejected", "path", path, "reason", reason);
    /* One line per file, whatever its name holds: a newline in a name must not forge a
     * line of the listing. */
    if (e->rejections.len < 256 * 1024) {
        strbuf_add_escaped(&e->rejections, path, strlen(path));
        strbuf_addstr(&e->rejections, ": ");
        strbuf_add_escaped(&e->rejections, reason, strlen(reason));
        strbuf_addch(&e->rejections, '\n');
    }
}

/* ---- building a course batch ---------------------------------------------------------- */

static void
pend_init(struct pending *p, const char *course)
{
    memset(p, 0, sizeof(*p));
    p->b.course = xstrdup(course);
    p->b.brief_mode = BRIEF_KEEP;
    p->started_ms = clock_ms();
}

static void
pend_release(struct pending *p)
{
    sync_changes_release(p->changes, p->n);
    for (size_t i = 0; i < p->n; i++) {
        record_release(&p->recs[i]);
        free(p->paths[i]);
        free(p->errors[i]);
    }
    free(p->changes);
    free(p->recs);
    free(p->paths);
    free(p->errors);
    free((char *)p->b.course);
    memset(p, 0, sizeof(*p));
}

static struct file_change *
pend_add(struct pending *p, const char *path, enum change_kind kind, bool is_brief)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 16;
        p->changes = xrealloc(p->changes, p->cap * sizeof(*p->changes));
        p->recs = xrealloc(p->recs, p->cap * sizeof(*p->recs));
        p->paths = xrealloc(p->paths, p->cap * sizeof(*p->paths));
        p->errors = xrealloc(p->errors, p->cap * sizeof(*p->errors));
    }
    size_t i = p->n++;
    memset(&p->changes[i], 0, sizeof(p->changes[i]));
    memset(&p->recs[i], 0, sizeof(p->recs[i]));
    p->paths[i] = xstrdup(path);
    p->errors[i] = NULL;
    p->changes[i].path = p->paths[i];
    p->changes[i].kind = kind;
    p->changes[i].is_brief = is_brief;
    return &p->changes[i];
}

/*
 * Point the changes at their records (the arrays no longer move) and pick the brief mode.
 * A course without a brief has its project and outline written as "absent" only when that
 * can have changed: when it is new, or when its brief is among the changes (gone).
 */
static void
pend_finalize(struct pending *p, bool has_brief)
{
    bool brief_changed = false;

    p->b.changes = p->changes;
    p->b.nchanges = p->n;
    for (size_t i = 0; i < p->n; i++) {
        brief_changed = brief_changed || p->changes[i].is_brief;
    }
    p->b.brief_mode =
        has_brief || (p->b.project_live && !brief_changed) ? BRIEF_KEEP : BRIEF_ABSENT;
    for (size_t i = 0; i < p->n; i++) {
        struct file_change *f = &p->changes[i];
        f->error = p->errors[i];
        if (f->kind == CHANGE_PARSED) {
            f->rec = &p->recs[i];
            if (f->is_brief) {
                p->b.brief_mode = BRIEF_PARSED;
                p->b.brief = f->rec;
            }
        }
    }
}

/*
 * One file that is present in the tree (listed or stat'ed): decide whether it changed
 * since it was recorded and, if so, read and parse it into the batch.
 */
static void
pend_present(struct engine *e, struct pending *p, const char *rel, bool is_brief, int64_t size,
             int64_t mtime_ns, struct engine_stats *st)
{
    char *key_owned;
    const char *key = path_key(rel, &key_owned);
    struct fstate *f = state_get(e, key);
    struct file_change *c;
    char *buf = NULL;
    size_t len = 0;
    struct err err;
    int64_t read_mtime = mtime_ns;
    int r;

    st->seen++;
    if (f != NULL) {
        f->seen = true;
        if (sync_is_refusal(f->error)) {
            p->b.retry_refused = true;
        }
    }
    /* Same size and mtime as recorded: no read at all. A file rejected in this state stays
     * rejected for the same reason until it changes (or --force); but one refused for an
     * ownership conflict is tried again on every sync that writes, since the conflict may
     * be gone (a dry run, and status, list it as it was recorded). */
    if (!e->o.force && f != NULL && f->is_brief == is_brief && f->size == size &&
        f->mtime_ns == mtime_ns && (!sync_is_refusal(f->error) || e->o.dry_run)) {
        if (f->error != NULL) {
            st->rejected++;
            log_rejection(e, key, f->error);
        } else {
            st->unchanged++;
        }
        goto out;
    }
    r = scan_read(e->rootfd, rel, e->o.parse.max_file_bytes, &buf, &len, &read_mtime, &err);
    if (r == 0) {
        goto out; /* gone meanwhile: its delete event (or the next reconcile) handles it */
    }
    if (r < 0 || buf == NULL) {
        c = pend_add(p, key, CHANGE_REJECTED, is_brief);
        c->mtime_ns = mtime_ns;
        if (r < 0) {
            /* Unreadable: a chmod that fixes it changes neither size nor mtime, so it is
             * recorded with no size, and tried again on every sync until it reads. */
            p->errors[p->n - 1] = xstrdup(err.msg);
            c->size = -1;
        } else {
            /* Too large: recorded as the listing saw it, so that it is not opened again
             * until it changes. */
            struct strbuf sb = STRBUF_INIT;
            strbuf_addf(&sb, "file is %zu bytes, above the limit of %zu (--max-file-bytes)", len,
                        e->o.parse.max_file_bytes);
            p->errors[p->n - 1] = strbuf_detach(&sb, NULL);
            c->size = size;
        }
        goto out;
    }
    uint64_t h = hash64(buf, len);
    if (!e->o.force && f != NULL && f->error == NULL && f->is_brief == is_brief && f->hash == h &&
        f->size == (int64_t)len) {
        c = pend_add(p, key, CHANGE_TOUCHED, is_brief);
        c->size = (int64_t)len;
        c->mtime_ns = read_mtime;
        c->hash = h;
        st->unchanged++;
        goto out;
    }
    c = pend_add(p, key, CHANGE_PARSED, is_brief);
    c->size = (int64_t)len;
    c->mtime_ns = read_mtime;
    c->hash = h;
    if (record_parse(rel, buf, len, &e->o.parse, &p->recs[p->n - 1], &err) != 0) {
        c->kind = CHANGE_REJECTED;
        p->errors[p->n - 1] = xstrdup(err.msg);
    } else {
        const struct record *rec = &p->recs[p->n - 1];
        /* New rows need creator links; changed module facts need the modules redone. */
        if (f == NULL || f->error != NULL) {
            p->b.links_dirty = true;
            c->fresh = !is_brief; /* may adopt what the original persister wrote */
        }
        if (!is_brief &&
            (f == NULL || f->module_no != rec->module_no || f->lesson_no != rec->lesson_no ||
             f->module_title_hash != title_hash(rec->module_title))) {
            p->b.modules_dirty = true;
        }
        for (size_t i = 0; i < rec->nwarnings; i++) {
            log_kv(LOG_WARN, rec->warnings[i], "path", key);
        }
    }
out:
    free(buf);
    free(key_owned);
}

static void
pend_gone(struct pending *p, struct fstate *f)
{
    pend_add(p, f->path, CHANGE_GONE, f->is_brief);
    if (!f->is_brief) {
        p->b.modules_dirty = true;
    }
}

/* ---- modules: redone only when what they are made of changes -------------------------- */

/* One lesson's module facts, as the module statement orders them. */
struct mfact {
    long module_no;
    long lesson_no;      /* -1: none */
    uint64_t title_hash; /* 0: no module title */
    const char *path;
};

/* The order of STMT_MODULES_SYNC: module_no, module_title IS NULL, lesson_no NULLS LAST,
 * path COLLATE "C". The first fact of each module names it. */
static int
cmp_mfact(const void *a, const void *b)
{
    const struct mfact *x = a, *y = b;

    if (x->module_no != y->module_no) {
        return x->module_no < y->module_no ? -1 : 1;
    }
    if ((x->title_hash == 0) != (y->title_hash == 0)) {
        return x->title_hash == 0 ? 1 : -1;
    }
    if (x->lesson_no != y->lesson_no) {
        if (x->lesson_no < 0 || y->lesson_no < 0) {
            return x->lesson_no < 0 ? 1 : -1;
        }
        return x->lesson_no < y->lesson_no ? -1 : 1;
    }
    return strcmp(x->path, y->path);
}

static struct mfact
recorded_fact(const struct fstate *f)
{
    return (struct mfact){f->module_no, f->lesson_no, f->module_title_hash, f->path};
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
        if (k == 0 || v[k - 1].module_no != v[i].module_no) {
            v[k++] = v[i];
        }
    }
    return k;
}

/*
 * Would the batch change the course's module rows? Modules are made of the recorded module
 * facts of the course's lessons (STMT_MODULES_SYNC): one per module number, titled by the
 * first lesson of the order above. The facts of this tree before the batch and after it
 * are compared; when both make the same modules with the same titles, the statement would
 * change nothing, whatever other trees hold (the first of a module over all trees is the
 * first of the per-tree firsts, and this tree's are unchanged). A new lesson in a module
 * that has one already, the common case of a watched tree, costs no module statement.
 */
static bool
modules_change(struct engine *e, const struct pending *p)
{
    struct cstate *c = course_get(e, p->b.course, strlen(p->b.course), false);
    size_t cap = (c != NULL ? c->n : 0) + p->n, nb = 0, na = 0;
    struct mfact *before = xmalloc((cap ? cap : 1) * sizeof(*before));
    struct mfact *after = xmalloc((cap ? cap : 1) * sizeof(*after));
    struct strmap changed = STRMAP_INIT;
    bool differ;

    for (size_t i = 0; i < p->n; i++) {
        strmap_put(&changed, p->changes[i].path, strlen(p->changes[i].path), &p->changes[i]);
    }
    for (size_t i = 0; c != NULL && i < c->n; i++) {
        const struct fstate *f = c->files[i];
        if (!f->live || f->is_brief || f->module_no < 0) {
            continue;
        }
        before[nb++] = recorded_fact(f);
        if (strmap_find(&changed, f->path, strlen(f->path)) == NULL) {
            after[na++] = recorded_fact(f);
        }
    }
    for (size_t i = 0; i < p->n; i++) {
        const struct file_change *f = &p->changes[i];
        if (f->is_brief || f->kind == CHANGE_GONE) {
            continue;
        }
        if (f->kind == CHANGE_PARSED) {
            const struct record *r = &p->recs[i];
            if (r->module_no >= 0) {
                after[na++] = (struct mfact){r->module_no, r->lesson_no,
                                             title_hash(r->module_title), f->path};
            }
            continue;
        }
        /* rejected or touched: the recorded facts stay */
        const struct fstate *old = state_get(e, f->path);
        if (old != NULL && old->module_no >= 0) {
            after[na++] = recorded_fact(old);
        }
    }
    nb = mfacts_modules(before, nb);
    na = mfacts_modules(after, na);
    differ = nb != na;
    for (size_t i = 0; !differ && i < nb; i++) {
        differ = before[i].module_no != after[i].module_no ||
                 before[i].title_hash != after[i].title_hash;
    }
    strmap_release(&changed);
    free(before);
    free(after);
    return differ;
}

/* ---- writing a batch -------------------------------------------------------------------- */

/* After the commit: what the database now records becomes what we remember. */
static void
pend_apply(struct engine *e, struct pending *p, struct engine_stats *st)
{
    char ms[32];

    snprintf(ms, sizeof(ms), "%lld", clock_ms() - p->started_ms);
    if (p->b.gone) {
        struct cstate *c = course_get(e, p->b.course, strlen(p->b.course), false);
        bool written = course_written(c);
        for (size_t i = 0; c != NULL && i < c->n; i++) {
            c->files[i]->live = false;
        }
        if (written) {
            st->archived++;
            log_kv(LOG_INFO, "course archived", "course", p->b.course);
        } else {
            /* refused to this source: nothing of it is ours to archive */
            log_kv(LOG_INFO, "refused course gone", "course", p->b.course);
        }
        return;
    }
    for (size_t i = 0; i < p->n; i++) {
        struct file_change *f = &p->changes[i];
        if (f->dropped) {
            st->rejected++;
            log_rejection(e, f->path, f->db_error);
            continue;
        }
        switch (f->kind) {
        case CHANGE_GONE: {
            struct fstate *s = state_get(e, f->path);
            if (s != NULL) {
                s->live = false;
            }
            st->deleted++;
            log_kv(e->o.log_each ? LOG_INFO : LOG_DEBUG, "deleted", "path", f->path);
            break;
        }
        case CHANGE_TOUCHED:
            state_set(e, f->path, f->size, f->mtime_ns, f->hash, f->is_brief,
                      f->failed ? f->db_error : NULL);
            if (f->failed) {
                st->rejected++;
                log_rejection(e, f->path, f->db_error);
            }
            break;
        case CHANGE_REJECTED:
            state_set(e, f->path, f->size, f->mtime_ns, f->hash, f->is_brief, f->error);
            st->rejected++;
            log_rejection(e, f->path, f->error);
            break;
        case CHANGE_PARSED: {
            struct fstate *s = state_set(e, f->path, f->size, f->mtime_ns, f->hash, f->is_brief,
                                         f->failed ? f->db_error : NULL);
            if (!f->failed && !f->is_brief) {
                s->module_no = f->rec->module_no;
                s->lesson_no = f->rec->lesson_no;
                s->module_title_hash = title_hash(f->rec->module_title);
            }
            if (f->adopted_id != NULL) {
                st->adopted++;
                log_kv(LOG_INFO, "adopted", "path", f->path, "slug", f->rec->slug, "id",
                       f->adopted_id);
            }
            if (f->failed) {
                st->rejected++;
                log_rejection(e, f->path, f->db_error);
            } else {
                st->synced++;
                log_kv(e->o.log_each ? LOG_INFO : LOG_DEBUG, "synced", "path", f->path, "slug",
                       f->rec->slug, "ms", ms);
                if (f->is_brief && f->rec->persona_mind.slug != NULL) {
                    /* a persona reads the project's drafts: who gets one is worth a line */
                    log_kv(LOG_INFO, "project persona", "course", f->rec->course, "persona",
                           f->rec->persona_mind.slug);
                }
            }
            break;
        }
        }
    }
}

static bool
pend_empty(const struct pending *p)
{
    return p->n == 0 && !p->b.gone;
}

/* Log what a dry run would write. */
static void
pend_dry_run(struct engine *e, struct pending *p, struct engine_stats *st)
{
    for (size_t i = 0; i < p->n; i++) {
        struct file_change *f = &p->changes[i];
        if (f->kind == CHANGE_PARSED) {
            st->synced++;
            log_kv(LOG_INFO, "would sync", "path", f->path, "slug", f->rec->slug);
        } else if (f->kind == CHANGE_REJECTED) {
            st->rejected++;
            log_rejection(e, f->path, f->error);
        } else if (f->kind == CHANGE_GONE) {
            st->deleted++;
            log_kv(LOG_INFO, "would delete", "path", f->path);
        }
    }
    if (p->b.gone) {
        st->archived++;
        log_kv(LOG_INFO, "would archive", "course", p->b.course);
    }
}

/*
 * The pipeline: course N's transaction travels and runs while course N+1 is read and
 * parsed. With a second connection two courses are in the database at once, one per
 * core; courses never share rows except minds and tags, which every transaction inserts
 * in slug order, so the two cannot deadlock each other. Slots are used round robin and
 * confirmed oldest first.
 */
struct flow {
    struct pending inflight[ENGINE_MAX_CONN];
    bool busy[ENGINE_MAX_CONN];
    size_t next; /* slot of the next batch; also the oldest in flight */
};

static enum pg_errclass
flow_finish_slot(struct engine *e, struct flow *fl, size_t slot, struct engine_stats *st,
                 struct err *err)
{
    struct sync_stats ss = {0, 0, 0};
    enum pg_errclass cls;

    if (!fl->busy[slot]) {
        return PG_OK;
    }
    cls = sync_course_finish(&e->sync[slot], &fl->inflight[slot].b, &ss, err);
    if (cls == PG_OK) {
        st->rows += ss.rows;
        pend_apply(e, &fl->inflight[slot], st);
    }
    pend_release(&fl->inflight[slot]);
    fl->busy[slot] = false;
    return cls;
}

/* Confirm every batch in flight, oldest first; the first failure is returned. */
static enum pg_errclass
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

/* Confirm what is still in flight; the first failure (cls, if any) is what is returned. */
static enum pg_errclass
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

/* Hand a built batch to the flow (it takes ownership of *p). */
static enum pg_errclass
flow_push(struct engine *e, struct flow *fl, struct pending *p, struct engine_stats *st,
          struct err *err)
{
    enum pg_errclass cls;
    size_t slot = fl->next;

    if (pend_empty(p)) {
        pend_release(p);
        return PG_OK;
    }
    if (p->b.modules_dirty && !e->o.force && !p->b.gone && !modules_change(e, p)) {
        p->b.modules_dirty = false;
    }
    pend_finalize(p, p->b.brief_mode != BRIEF_ABSENT);
    if (e->o.dry_run) {
        pend_dry_run(e, p, st);
        pend_release(p);
        return PG_OK;
    }
    cls = flow_finish_slot(e, fl, slot, st, err);
    if (cls != PG_OK) {
        pend_release(p);
        return cls;
    }
    if (sync_course_send(&e->sync[slot], &p->b, err) != 0) {
        pend_release(p);
        return PG_TRANSIENT;
    }
    fl->inflight[slot] = *p;
    fl->busy[slot] = true;
    fl->next = (slot + 1) % e->nsync;
    memset(p, 0, sizeof(*p));
    return PG_OK;
}

/*
 * Server notices of the batch just done, as one line: a trigger of the app's schema raises
 * a NOTICE for every AI row written, which would be a line per row. Each notice itself is
 * logged at debug (agent/cmd_common.c).
 */
static void
log_notices(struct engine *e)
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

/* ---- the whole tree --------------------------------------------------------------------- */

/* Build the batch of one listed course: every file compared with its record. */
static void
build_course(struct engine *e, struct pending *p, const struct scan_course *sc,
             struct engine_stats *st)
{
    struct cstate *c = course_get(e, sc->name, strlen(sc->name), false);
    bool has_brief = false;

    for (size_t i = 0; c != NULL && i < c->n; i++) {
        c->files[i]->seen = false;
    }
    for (size_t i = 0; i < sc->nfiles; i++) {
        const struct scan_file *f = &sc->files[i];
        has_brief = has_brief || f->is_brief;
        pend_present(e, p, f->rel, f->is_brief, f->size, f->mtime_ns, st);
    }
    for (size_t i = 0; c != NULL && i < c->n; i++) {
        struct fstate *f = c->files[i];
        if (f->live && !f->seen) {
            pend_gone(p, f);
        }
    }
    size_t live = course_live_count(c);
    if (sc->nfiles == 0 && live > 0) {
        p->b.gone = true; /* no brief and no lesson left: the course is gone */
    }
    /* --force rewrites the course rows too */
    p->b.project_live = course_written(c) && !e->o.force;
    if (e->o.force) {
        p->b.modules_dirty = p->b.links_dirty = true;
    }
    p->b.brief_mode = has_brief ? BRIEF_KEEP : BRIEF_ABSENT;
}

/*
 * A course directory whose name is not UTF-8 cannot be a slug (the database holds text):
 * it is reported, once per sync, and its files are left alone.
 */
static bool
skip_bad_course(struct engine *e, const char *course, struct engine_stats *st)
{
    char *key_owned;
    const char *key = path_key(course, &key_owned);

    if (key_owned == NULL) {
        return false;
    }
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "%s/", key);
    log_rejection(e, sb.buf, "course directory name is not valid UTF-8; its files are not synced");
    st->rejected++;
    strbuf_release(&sb);
    free(key_owned);
    return true;
}

static int
cmp_cstate(const void *a, const void *b)
{
    return strcmp((*(struct cstate *const *)a)->name, (*(struct cstate *const *)b)->name);
}

enum pg_errclass
engine_reconcile(struct engine *e, struct engine_stats *st, engine_progress_cb progress, void *arg,
                 struct err *err)
{
    char **names = NULL;
    long nnames = scan_course_names(e->rootfd, &names, err);
    struct flow fl = {.next = 0};
    enum pg_errclass cls = PG_OK;
    long total = 0;

    if (nnames < 0) {
        return PG_FATAL;
    }
    for (size_t i = 0; i < e->nclist; i++) {
        total += (long)course_live_count(e->clist[i]);
    }
    struct strmap listed = STRMAP_INIT;
    for (long i = 0; i < nnames && cls == PG_OK; i++) {
        struct scan_course sc;
        struct pending p;
        strmap_put(&listed, names[i], strlen(names[i]), names[i]);
        if (skip_bad_course(e, names[i], st)) {
            continue;
        }
        if (scan_course(e->rootfd, names[i], &sc, err) != 0) {
            log_kv(LOG_WARN, "cannot list course", "course", names[i], "error", err->msg);
            scan_course_release(&sc);
            continue;
        }
        pend_init(&p, names[i]);
        build_course(e, &p, &sc, st);
        scan_course_release(&sc);
        cls = flow_push(e, &fl, &p, st, err);
        if (progress != NULL) {
            progress(arg, st->seen, total > st->seen ? total : 0);
        }
    }
    /* Courses recorded but no longer in the tree. */
    if (e->nclist > 0) {
        qsort(e->clist, e->nclist, sizeof(*e->clist), cmp_cstate);
    }
    for (size_t i = 0; i < e->nclist && cls == PG_OK; i++) {
        struct cstate *c = e->clist[i];
        if (course_live_count(c) == 0 || strmap_find(&listed, c->name, strlen(c->name))) {
            continue;
        }
        struct pending p;
        pend_init(&p, c->name);
        p.b.gone = true;
        for (size_t k = 0; k < c->n; k++) {
            if (c->files[k]->live) {
                st->deleted++;
            }
        }
        cls = flow_push(e, &fl, &p, st, err);
    }
    cls = flow_close(e, &fl, cls, st, err);
    log_notices(e);
    strmap_release(&listed);
    scan_names_free(names, (size_t)nnames);
    return cls;
}

/* ---- given paths ------------------------------------------------------------------------ */

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

static bool
cp_has(const struct course_paths *cp, const char *path)
{
    for (size_t i = 0; i < cp->n; i++) {
        if (strcmp(cp->paths[i], path) == 0) {
            return true;
        }
    }
    return false;
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

/* Build the batch of one course from the paths events named. */
static void
build_paths(struct engine *e, struct pending *p, struct course_paths *cp, struct engine_stats *st)
{
    struct cstate *c = course_get(e, cp->course, strlen(cp->course), false);
    struct strmap done = STRMAP_INIT;
    struct err err;
    int64_t size, mtime;
    bool has_brief = false;

    /* The brief: whichever candidate now wins, and the recorded one if it lost. */
    char *brief = scan_course_brief(e->rootfd, cp->course);
    struct fstate *old_brief = NULL;
    for (size_t i = 0; c != NULL && i < c->n; i++) {
        if (c->files[i]->live && c->files[i]->is_brief) {
            old_brief = c->files[i];
        }
    }
    if (brief != NULL) {
        has_brief = true;
        if (scan_stat(e->rootfd, brief, &size, &mtime, &err) == 1) {
            pend_present(e, p, brief, true, size, mtime, st);
        }
        strmap_put(&done, brief, strlen(brief), brief);
    }
    /*
     * A recorded brief that another candidate replaced is gone. One that is simply missing
     * is gone once its own removal is reported (it settles, see cmd_watch.c): a directory
     * of the course reported gone may be a step of `rm -r` of the whole course, and the
     * brief's absence alone would rename the project to its slug just before the archive.
     */
    if (old_brief != NULL && brief != NULL && strcmp(brief, old_brief->path) != 0) {
        pend_gone(p, old_brief);
    } else if (old_brief != NULL && brief == NULL && cp_has(cp, old_brief->path)) {
        pend_gone(p, old_brief);
    }
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
        if (r == 1) {
            pend_present(e, p, path, false, size, mtime, st);
        } else if (r == 0) {
            char *key_owned;
            struct fstate *f = state_get(e, path_key(path, &key_owned));
            if (f != NULL) {
                pend_gone(p, f);
            }
            free(key_owned);
        } else {
            log_kv(LOG_WARN, "cannot stat", "path", path, "error", err.msg);
        }
    }
    strmap_release(&done);
    free(brief);
    /* No brief and no lesson left: the course is gone. */
    size_t live = course_live_count(c);
    p->b.project_live = course_written(c) && !e->o.force;
    if (e->o.force) {
        p->b.modules_dirty = p->b.links_dirty = true;
    }
    long delta = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (p->changes[i].kind == CHANGE_GONE) {
            delta--;
        } else if (state_get(e, p->changes[i].path) == NULL) {
            delta++;
        }
    }
    if (live > 0 && (long)live + delta <= 0) {
        p->b.gone = true;
    }
    p->b.brief_mode = has_brief ? BRIEF_KEEP : BRIEF_ABSENT;
}

enum pg_errclass
engine_sync_paths(struct engine *e, const char *const *paths, const bool *subtree, size_t n,
                  struct engine_stats *st, struct err *err)
{
    struct strmap m = STRMAP_INIT;
    struct course_paths **list = NULL;
    size_t nlist = 0;
    struct flow fl = {.next = 0};
    enum pg_errclass cls = PG_OK;
    struct strbuf prefix = STRBUF_INIT;

    for (size_t i = 0; i < n; i++) {
        const char *path = paths[i];
        size_t len = strlen(path);
        if (len == 0) {
            cps_free(list, nlist);
            strmap_release(&m);
            strbuf_release(&prefix);
            return engine_reconcile(e, st, NULL, NULL, err); /* the whole tree */
        }
        const char *slash = strchr(path, '/');
        if (slash == NULL && !subtree[i]) {
            continue; /* a file directly under the root is no course file */
        }
        size_t clen = slash ? (size_t)(slash - path) : len;
        struct course_paths *cp = cp_get(&m, &list, &nlist, path, clen);
        if (slash == NULL) {
            cp->whole = true; /* the course directory itself: list it all */
        } else if (subtree[i]) {
            /* a directory inside the course: every file recorded under it is re-checked */
            struct cstate *c = course_get(e, path, clen, false);
            strbuf_reset(&prefix);
            strbuf_addf(&prefix, "%s/", path);
            for (size_t k = 0; c != NULL && k < c->n; k++) {
                if (c->files[k]->live && strncmp(c->files[k]->path, prefix.buf, prefix.len) == 0) {
                    cp_add(cp, c->files[k]->path);
                }
            }
        } else {
            cp_add(cp, path);
        }
    }
    strbuf_release(&prefix);
    for (size_t i = 0; i < nlist && cls == PG_OK; i++) {
        struct course_paths *cp = list[i];
        struct pending p;
        if (skip_bad_course(e, cp->course, st)) {
            continue;
        }
        pend_init(&p, cp->course);
        if (cp->whole) {
            struct scan_course sc;
            if (scan_course(e->rootfd, cp->course, &sc, err) == 0) {
                build_course(e, &p, &sc, st);
            } else {
                log_kv(LOG_WARN, "cannot list course", "course", cp->course, "error", err->msg);
            }
            scan_course_release(&sc);
        } else {
            build_paths(e, &p, cp, st);
        }
        cls = flow_push(e, &fl, &p, st, err);
    }
    cls = flow_close(e, &fl, cls, st, err);
    log_notices(e);
    cps_free(list, nlist);
    strmap_release(&m);
    return cls;
}
