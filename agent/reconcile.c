/* reconcile.c -- converge the database to the tree: one path for start, backfill, overflow,
 * outages and the paths that inotify reports. */
#include "agent/reconcile.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/log.h"
#include "agent/scan.h"
#include "common/arena.h"
#include "common/clock.h"
#include "common/hash.h"
#include "common/strbuf.h"
#include "common/strmap.h"
#include "parser/utf8.h"
#include "persist/sync.h"

/*
 * What the agent recorded of one file (mirror of creatoros_agent.file_state). One per file
 * of the tree, so its size is the agent's size: the path lives in the same allocation,
 * without its course (the course's record holds the name once for all its files), and the
 * flags after the wide fields.
 */
struct fstate {
    int64_t size;
    int64_t mtime_ns;
    uint64_t hash;
    char *error; /* why it is rejected; NULL when synced */
    /* a lesson's module facts as last synced (the inputs of its course's module rows) */
    long module_no;
    long lesson_no;
    uint64_t module_title_hash; /* 0: no module title */
    bool is_brief;
    bool live;  /* false once the file is gone; the entry is kept for reuse */
    bool seen;  /* visited by the reconcile in progress */
    char rel[]; /* the path below the course directory ("lessons/1.1-intro.md") */
};

/*
 * The recorded files of one course, sorted by rel (strcmp) and found by binary search: a
 * file is looked up by its course, then by its path within it. No table of every path of
 * the tree (a hash table's slots alone would weigh as much as a third of the records).
 */
struct cstate {
    char *name;
    struct fstate **files; /* includes dead entries */
    size_t n, cap;
    /* files[0, nsorted) are in order; a load in progress appends the rest (state_put),
     * sorted when it ends. Otherwise nsorted == n. */
    size_t nsorted;
};

/* A course waiting for, or being written through, the bulk connection. */
struct bulk_item {
    char *course;
    bool again; /* it changed meanwhile: look at it once more when it is done */
};

struct engine {
    struct engine_opts o;
    char *root;
    char *source;
    int rootfd;            /* open while an operation runs (root_open), else -1 */
    int root_depth;        /* nesting of root_open */
    struct arena fstates;  /* where every struct fstate lives (freed with the engine) */
    size_t nfstates;       /* records made so far (live or not): how far the tree has grown */
    size_t plans_nfstates; /* nfstates when the generic plans were last made (plans_generic) */
    struct strmap courses; /* course -> struct cstate */
    struct cstate **clist;
    size_t nclist, capclist;
    struct strbuf rejections;
    struct sync_ctx sync[ENGINE_MAX_CONN];
    size_t nsync;
    /* big courses in watch (engine_bulk_step): the queue, its head being written by job */
    struct sync_ctx bulk;
    struct bulk_item *bulkq;
    size_t nbulkq;
    struct job *job;
    /* courses whose files are not to be judged (a volume that went away) */
    char **away;
    size_t naway;
};

/* A course batch being built: the changes own their path, record and reason. */
struct pending {
    struct course_batch b;
    struct file_change *changes;
    struct record *recs; /* parallel to changes */
    char **paths;
    char **errors;
    size_t n, cap;
    size_t held; /* bytes of the records not sent yet (bodies, front-matter JSON, titles) */
    long long started_ms;
};

/*
 * A course whose changes hold more than SYNC_PART_BYTES, written in parts: its files are
 * looked at one by one, and whenever the part being built is full it goes to the database,
 * a statement of the course's one transaction, and its records are shed (only what the
 * commit needs is kept). So the agent holds about one part whatever the course. The last
 * part commits. A data error cannot be traced to a file once earlier records are shed: the
 * course is then written again (split) in parts that each commit on their own, through
 * the usual path that finds the culprit.
 */
struct job {
    struct scan_course sc; /* the course's listing */
    size_t next;           /* the next listed file to look at */
    struct pending p;      /* every change so far (parted), or the current part (split) */
    struct sync_ctx *ctx;  /* the connection of the transaction; NULL in a dry run */
    size_t sent;           /* changes of p already sent */
    size_t parts;          /* parts sent in the open transaction */
    bool inflight;         /* a part is at the server, not collected yet */
    bool listed;           /* every listed file looked at, the gone ones added */
    bool final;            /* the last part (the commit) is sent */
    bool split;            /* after a data error: each part its own transaction */
    bool has_brief;
    struct engine_stats cst; /* what looking at the files counted (added when done) */
};

static void job_destroy(struct job *j);

enum job_state {
    JOB_MORE, /* call again */
    JOB_WAIT, /* the server has not answered yet (only when not waiting) */
    JOB_DONE, /* committed */
};

/* Refusing a mass deletion: more than this many files, and more than half (README). */
#define MASS_DELETE_FEW 5

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

/* A path relative to the root is its course (the first component, clen bytes) and its path
 * within it (*rel; "" for a path of one component). */
static size_t
path_split(const char *path, const char **rel)
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

/* The file's path relative to the root, into sb (reset first); returns sb->buf. */
static const char *
fstate_path(const struct cstate *c, const struct fstate *f, struct strbuf *sb)
{
    strbuf_reset(sb);
    strbuf_addf(sb, "%s/%s", c->name, f->rel);
    return sb->buf;
}

static struct fstate *
state_get(struct engine *e, const char *path)
{
    const char *rel;
    size_t clen = path_split(path, &rel), pos;
    struct cstate *c = course_get(e, path, clen, false);
    struct fstate *f = c != NULL ? course_file(c, c->nsorted, rel, &pos) : NULL;

    return f != NULL && f->live ? f : NULL;
}

/* A new record for rel in course c, at position pos of its files (appended when pos is n). */
static struct fstate *
state_new(struct engine *e, struct cstate *c, const char *rel, size_t pos)
{
    size_t len = strlen(rel);
    struct fstate *f = arena_alloc(&e->fstates, offsetof(struct fstate, rel) + len + 1);

    f->module_no = -1;
    f->lesson_no = -1;
    memcpy(f->rel, rel, len);
    e->nfstates++;
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
state_put(struct engine *e, const char *path, int64_t size, int64_t mtime_ns, uint64_t hash,
          bool is_brief, const char *error, bool loading)
{
    const char *rel;
    size_t clen = path_split(path, &rel), pos;
    struct cstate *c = course_get(e, path, clen, true);
    struct fstate *f = course_file(c, c->nsorted, rel, &pos);

    if (f == NULL) {
        f = state_new(e, c, rel, loading ? c->n : pos);
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

static struct fstate *
state_set(struct engine *e, const char *path, int64_t size, int64_t mtime_ns, uint64_t hash,
          bool is_brief, const char *error)
{
    return state_put(e, path, size, mtime_ns, hash, is_brief, error, false);
}

static int
cmp_fstate(const void *a, const void *b)
{
    return strcmp((*(struct fstate *const *)a)->rel, (*(struct fstate *const *)b)->rel);
}

/* The load ended: every course's files in order again. */
static void
state_load_done(struct engine *e)
{
    for (size_t i = 0; i < e->nclist; i++) {
        struct cstate *c = e->clist[i];
        if (c->nsorted != c->n) {
            qsort(c->files, c->n, sizeof(*c->files), cmp_fstate);
            c->nsorted = c->n;
        }
    }
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
    /* The root is opened for each operation, not held: a volume unmounted under a running
     * watch is seen for what it is (and its unmount is not made to fail as busy). */
    e->rootfd = -1;
    if (scan_check_root(opts->root, err) != 0) {
        engine_destroy(e);
        return NULL;
    }
    if (opts->pg_bulk != NULL) {
        e->bulk = (struct sync_ctx){.pg = opts->pg_bulk,
                                    .source = e->source,
                                    .root = e->root,
                                    .creator_mind = opts->creator_mind};
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
            free(c->files[k]->error);
        }
        free(c->files);
        free(c->name);
        free(c);
    }
    free(e->clist);
    arena_release(&e->fstates);
    strmap_release(&e->courses);
    strbuf_release(&e->rejections);
    if (e->rootfd >= 0) {
        close(e->rootfd);
    }
    job_destroy(e->job);
    for (size_t i = 0; i < e->nbulkq; i++) {
        free(e->bulkq[i].course);
    }
    free(e->bulkq);
    scan_names_free(e->away, e->naway);
    free(e->root);
    free(e->source);
    free(e);
}

const char *
engine_source(const struct engine *e)
{
    return e->source;
}

/* Open the root for the operation that starts (nested calls share it). */
static int
root_open(struct engine *e, struct err *err)
{
    if (e->root_depth == 0) {
        e->rootfd = scan_open_root(e->root, err);
        if (e->rootfd < 0) {
            return -1;
        }
    }
    e->root_depth++;
    return 0;
}

static void
root_close(struct engine *e)
{
    if (--e->root_depth == 0) {
        close(e->rootfd);
        e->rootfd = -1;
    }
}

/* The course waits for, or is being written through, the bulk connection. */
static struct bulk_item *
bulk_find(struct engine *e, const char *course)
{
    for (size_t i = 0; i < e->nbulkq; i++) {
        if (strcmp(e->bulkq[i].course, course) == 0) {
            return &e->bulkq[i];
        }
    }
    return NULL;
}

static void
bulk_enqueue(struct engine *e, const char *course)
{
    if (bulk_find(e, course) != NULL) {
        return;
    }
    e->bulkq = xrealloc(e->bulkq, (e->nbulkq + 1) * sizeof(*e->bulkq));
    e->bulkq[e->nbulkq++] = (struct bulk_item){xstrdup(course), false};
    log_kv(LOG_INFO, "big course: written in parts beside the other courses", "course", course);
}

static bool
course_away(const struct engine *e, const char *course)
{
    for (size_t i = 0; i < e->naway; i++) {
        if (strcmp(e->away[i], course) == 0) {
            return true;
        }
    }
    return false;
}

/*
 * A course that is not to be touched now: its volume is away, or it is being written in
 * parts through the bulk connection (whose transaction holds its lock: a second writer
 * would wait on it). The latter is looked at again once written.
 */
static bool
course_held(struct engine *e, const char *course)
{
    struct bulk_item *b = bulk_find(e, course);

    if (b != NULL) {
        b->again = true;
        return true;
    }
    return course_away(e, course);
}

void
engine_set_away(struct engine *e, const char *const *courses, size_t n)
{
    scan_names_free(e->away, e->naway);
    e->away = n > 0 ? xcalloc(n, sizeof(char *)) : NULL;
    for (size_t i = 0; i < n; i++) {
        e->away[i] = xstrdup(courses[i]);
    }
    e->naway = n;
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

/*
 * The recorded state is read in pages of LOAD_PAGE rows, in the order of the primary key
 * (source, path): one result of the whole table would be held next to the state it fills
 * (about 33 MB for 100,000 files, more than the state itself), and the allocator keeps
 * that peak as the daemon's size for good.
 */
#define LOAD_PAGE 4096

enum pg_errclass
engine_load_state(struct engine *e, struct err *err)
{
    char limit[16];
    char *after = NULL; /* the last path of the previous page */
    enum pg_errclass cls = PG_OK;
    PGresult *res;
    int n;

    if (e->o.pg == NULL) {
        return PG_OK; /* a dry run without a database: every file looks new */
    }
    /* what is recorded now replaces what we remembered */
    for (size_t i = 0; i < e->nclist; i++) {
        for (size_t k = 0; k < e->clist[i]->n; k++) {
            e->clist[i]->files[k]->live = false;
        }
    }
    snprintf(limit, sizeof(limit), "%d", LOAD_PAGE);
    do {
        const char *vals[3] = {e->source, after != NULL ? after : "", limit};
        res = pg_exec(e->o.pg,
                      "SELECT path, size, mtime_ns, hash, kind = 'brief', error, "
                      "coalesce(module_no, -1), coalesce(lesson_no, -1), module_title "
                      "FROM creatoros_agent.file_state WHERE source = $1 AND path > $2 "
                      "ORDER BY path LIMIT $3::int",
                      3, vals, &cls, err);
        if (res == NULL) {
            break;
        }
        n = PQntuples(res);
        for (int i = 0; i < n; i++) {
            struct fstate *f = state_put(
                e, PQgetvalue(res, i, 0), strtoll(PQgetvalue(res, i, 1), NULL, 10),
                strtoll(PQgetvalue(res, i, 2), NULL, 10),
                (uint64_t)strtoll(PQgetvalue(res, i, 3), NULL, 10), PQgetvalue(res, i, 4)[0] == 't',
                PQgetisnull(res, i, 5) ? NULL : PQgetvalue(res, i, 5), true);
            f->module_no = strtol(PQgetvalue(res, i, 6), NULL, 10);
            f->lesson_no = strtol(PQgetvalue(res, i, 7), NULL, 10);
            f->module_title_hash = PQgetisnull(res, i, 8) ? 0 : title_hash(PQgetvalue(res, i, 8));
        }
        free(after);
        after = n > 0 ? xstrdup(PQgetvalue(res, n - 1, 0)) : NULL;
        PQclear(res);
    } while (n == LOAD_PAGE);
    free(after);
    state_load_done(e);
    return cls;
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
    /* A file above one part could never be written (SYNC_PART_BYTES): not even read. */
    size_t limit = (size_t)e->o.parse.max_file_bytes;
    if (limit > SYNC_PART_BYTES) {
        limit = SYNC_PART_BYTES;
    }
    r = scan_read(e->rootfd, rel, limit, &buf, &len, &read_mtime, &err);
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
            if (record_check_size(len, e->o.parse.max_file_bytes, &err) == 0) {
                err_set(&err,
                        "file is %zu bytes, above the %zu bytes one statement may carry "
                        "(SYNC_PART_BYTES): split the lesson",
                        len, SYNC_PART_BYTES);
            }
            p->errors[p->n - 1] = xstrdup(err.msg);
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
        p->held += rec->body_len + strlen(rec->metadata) + strlen(rec->title);
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

/* Whether the next file (size bytes) would make the part being built hold more than one
 * part: then the part goes first. */
static bool
part_due(const struct pending *p, int64_t size)
{
    return p->held > 0 && p->held + (size_t)(size > 0 ? size : 0) > SYNC_PART_BYTES;
}

/* The changes [from, to) were sent: free their bodies and front-matter, keep what the
 * commit needs (paths, slugs, module facts). */
static void
pend_shed(struct pending *p, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        struct record *r = &p->recs[i];
        free(r->body);
        free(r->metadata);
        r->body = NULL;
        r->body_len = 0;
        r->metadata = NULL;
    }
    p->held = 0;
}

/* A recorded file of the batch's course is gone. */
static void
pend_gone(struct pending *p, const struct fstate *f)
{
    struct strbuf path = STRBUF_INIT;

    strbuf_addf(&path, "%s/%s", p->b.course, f->rel);
    pend_add(p, path.buf, CHANGE_GONE, f->is_brief);
    strbuf_release(&path);
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
    const char *rel;     /* the path within the course */
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
    return strcmp(x->rel, y->rel); /* one course: the order of the whole paths */
}

static struct mfact
recorded_fact(const struct fstate *f)
{
    return (struct mfact){f->module_no, f->lesson_no, f->module_title_hash, f->rel};
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
    struct strmap changed = STRMAP_INIT; /* by the path within the course */
    bool differ;

    for (size_t i = 0; i < p->n; i++) {
        const char *rel;
        path_split(p->changes[i].path, &rel);
        strmap_put(&changed, rel, strlen(rel), &p->changes[i]);
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
    for (size_t i = 0; i < p->n; i++) {
        const struct file_change *f = &p->changes[i];
        if (f->is_brief || f->kind == CHANGE_GONE) {
            continue;
        }
        if (f->kind == CHANGE_PARSED) {
            const struct record *r = &p->recs[i];
            if (r->module_no >= 0) {
                const char *rel;
                path_split(f->path, &rel);
                after[na++] =
                    (struct mfact){r->module_no, r->lesson_no, title_hash(r->module_title), rel};
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
pend_dry_run(struct engine *e, struct pending *p, size_t from, struct engine_stats *st)
{
    for (size_t i = from; i < p->n; i++) {
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
    struct sync_stats ss = {0};
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
        pend_dry_run(e, p, 0, st);
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

/* ---- a course's batch -------------------------------------------------------------------- */

static void
stats_add_looked(struct engine_stats *st, const struct engine_stats *looked)
{
    st->seen += looked->seen;
    st->unchanged += looked->unchanged;
    st->rejected += looked->rejected;
}

/* A listing holds the brief first, when there is one (scan_course). */
static bool
listing_has_brief(const struct scan_course *sc)
{
    return sc->nfiles > 0 && sc->files[0].is_brief;
}

/* A course's batch before any file is looked at: what its recorded state says. */
static void
course_begin(struct engine *e, struct pending *p, const char *course, bool has_brief)
{
    struct cstate *c = course_get(e, course, strlen(course), false);

    pend_init(p, course);
    /* --force rewrites the course rows too */
    p->b.project_live = course_written(c) && !e->o.force;
    if (e->o.force) {
        p->b.modules_dirty = p->b.links_dirty = true;
    }
    p->b.brief_mode = has_brief ? BRIEF_KEEP : BRIEF_ABSENT;
}

/* Before a course's listing is looked at, none of its recorded files is seen. */
static void
course_unsee(struct engine *e, const char *course)
{
    struct cstate *c = course_get(e, course, strlen(course), false);

    for (size_t i = 0; c != NULL && i < c->n; i++) {
        c->files[i]->seen = false;
    }
}

/* After the listing: recorded files it did not hold are gone; with no file left the course
 * is gone. */
static void
course_end(struct engine *e, struct pending *p, const struct scan_course *sc)
{
    struct cstate *c = course_get(e, sc->name, strlen(sc->name), false);

    for (size_t i = 0; c != NULL && i < c->n; i++) {
        struct fstate *f = c->files[i];
        if (f->live && !f->seen) {
            pend_gone(p, f);
        }
    }
    if (sc->nfiles == 0 && course_live_count(c) > 0) {
        p->b.gone = true; /* no brief and no lesson left: the course is gone */
    }
}

/*
 * Look at the listed files of a course, from file `from` on, into p (course_begin'd, its
 * recorded files unseen). Stops before a file that would make p hold more than one part and
 * returns its index (the course is big: a job writes it); else adds the gone files and
 * returns sc->nfiles.
 */
static size_t
build_course(struct engine *e, struct pending *p, const struct scan_course *sc, size_t from,
             struct engine_stats *st)
{
    for (size_t i = from; i < sc->nfiles; i++) {
        const struct scan_file *f = &sc->files[i];
        if (part_due(p, f->size)) {
            return i;
        }
        pend_present(e, p, f->rel, f->is_brief, f->size, f->mtime_ns, st);
    }
    course_end(e, p, sc);
    return sc->nfiles;
}

/* Write p as one transaction now, through the usual path (a data error is traced to its
 * file). Takes p. */
static enum pg_errclass
push_now(struct engine *e, struct sync_ctx *ctx, struct pending *p, struct engine_stats *st,
         struct err *err)
{
    struct sync_stats ss = {0};
    enum pg_errclass cls;

    if (pend_empty(p)) {
        pend_release(p);
        return PG_OK;
    }
    if (p->b.modules_dirty && !e->o.force && !p->b.gone && !modules_change(e, p)) {
        p->b.modules_dirty = false;
    }
    pend_finalize(p, p->b.brief_mode != BRIEF_ABSENT);
    if (ctx == NULL) {
        pend_dry_run(e, p, 0, st);
        pend_release(p);
        return PG_OK;
    }
    cls = sync_course_send(ctx, &p->b, err) != 0 ? PG_TRANSIENT
                                                 : sync_course_finish(ctx, &p->b, &ss, err);
    if (cls == PG_OK) {
        st->rows += ss.rows;
        pend_apply(e, p, st);
    }
    pend_release(p);
    return cls;
}

/* ---- big courses: a job writes them in parts --------------------------------------------- */

static void
job_destroy(struct job *j)
{
    if (j == NULL) {
        return;
    }
    scan_course_release(&j->sc);
    pend_release(&j->p);
    free(j);
}

/* A job that takes over a course's listing and the batch built so far (files [0, next)). */
static struct job *
job_adopt(struct pending *p, struct scan_course *sc, size_t next, struct sync_ctx *ctx,
          const struct engine_stats *looked)
{
    struct job *j = xcalloc(1, sizeof(*j));

    j->sc = *sc;
    memset(sc, 0, sizeof(*sc));
    j->p = *p;
    memset(p, 0, sizeof(*p));
    j->next = next;
    j->ctx = ctx;
    j->has_brief = listing_has_brief(&j->sc);
    if (looked != NULL) {
        j->cst = *looked;
    }
    return j;
}

/* A job from the start: the course listed now. NULL (logged) when it cannot be listed. */
static struct job *
job_start(struct engine *e, const char *course, struct sync_ctx *ctx)
{
    struct scan_course sc;
    struct pending p;
    struct err err;

    if (scan_course(e->rootfd, course, &sc, &err) != 0) {
        log_kv(LOG_WARN, "cannot list course", "course", course, "error", err.msg);
        scan_course_release(&sc);
        return NULL;
    }
    course_begin(e, &p, course, listing_has_brief(&sc));
    course_unsee(e, course);
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
    struct pending old = j->p;
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
    course_begin(e, &j->p, old.b.course, j->has_brief);
    for (size_t i = 0; i < old.n && cls == PG_OK; i++) {
        const struct file_change *f = &old.changes[i];
        int64_t size, mtime;
        struct err e2;
        if (f->kind == CHANGE_GONE) {
            struct fstate *gone = state_get(e, f->path);
            if (gone != NULL) {
                pend_gone(&j->p, gone);
            }
            continue;
        }
        if (scan_stat(e->rootfd, f->path, &size, &mtime, &e2) != 1) {
            continue; /* gone meanwhile: its event, or the next reconcile, sees to it */
        }
        if (part_due(&j->p, size)) {
            cls = job_send(e, j, false, st, err);
        }
        if (cls == PG_OK) {
            pend_present(e, &j->p, f->path, f->is_brief, size, mtime, &again);
        }
    }
    pend_release(&old);
    return cls;
}

/* Send what p holds beyond what was sent: a part of the open transaction, or (split, or a
 * course that fits one part after all) a transaction of its own. last: the course's last. */
static enum pg_errclass
job_send(struct engine *e, struct job *j, bool last, struct engine_stats *st, struct err *err)
{
    struct pending *p = &j->p;
    enum pg_errclass cls;

    if (j->split || (last && j->parts == 0)) {
        char *course = xstrdup(p->b.course);
        cls = push_now(e, j->ctx, p, st, err);
        course_begin(e, p, course, j->has_brief); /* the rest of the course, if any */
        free(course);
        j->sent = 0;
        j->final = last;
        return cls;
    }
    pend_finalize(p, j->has_brief);
    if (j->ctx == NULL) { /* a dry run: say what each part would write */
        pend_dry_run(e, p, j->sent, st);
        pend_shed(p, j->sent, p->n);
        j->sent = p->n;
        j->parts++;
        j->final = last;
        return PG_OK;
    }
    if (j->ctx == &e->bulk) {
        /* through the first connection, committed: see sync_shared_ensure (a data error
         * there is the part's, found when it is sent) */
        cls = sync_shared_ensure(&e->sync[0], &p->b, j->sent, p->n, j->parts == 0, err);
        if (cls != PG_OK && cls != PG_DATA) {
            return cls;
        }
    }
    cls = sync_part_send(j->ctx, &p->b, j->sent, p->n, j->parts == 0, last, err);
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
    pend_shed(p, j->sent, p->n);
    j->sent = p->n;
    j->parts++;
    j->inflight = true;
    j->final = last;
    return PG_OK;
}

/*
 * One step of a job: look at the next listed file while the part has room; else collect
 * the part at the server (wait false: JOB_WAIT when it has not answered yet) and send the
 * next one, the last (the commit) once the listing is done; JOB_DONE once committed.
 */
static enum pg_errclass
job_step(struct engine *e, struct job *j, bool wait, enum job_state *state, struct engine_stats *st,
         struct err *err)
{
    *state = JOB_MORE;
    if (!j->listed && !j->final) {
        if (j->next < j->sc.nfiles && !part_due(&j->p, j->sc.files[j->next].size)) {
            const struct scan_file *f = &j->sc.files[j->next++];
            pend_present(e, &j->p, f->rel, f->is_brief, f->size, f->mtime_ns, &j->cst);
            return PG_OK;
        }
        if (j->next == j->sc.nfiles) {
            course_end(e, &j->p, &j->sc);
            j->listed = true;
        }
    }
    if (j->inflight) {
        struct sync_stats ss = {0};
        bool done;
        pend_finalize(&j->p, j->has_brief); /* files read meanwhile may have moved the arrays */
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
            pend_finalize(&j->p, j->has_brief);
            pend_apply(e, &j->p, st);
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
        stats_add_looked(st, &j->cst);
    } else if (j->ctx != NULL && (j->inflight || j->parts > 0)) {
        pg_disconnect(j->ctx->pg); /* no sync may commit half a course */
    }
    return cls;
}

/*
 * A course found big while its batch was built (its files [0, next) are in p): with a bulk
 * connection (watch) it is queued there and p dropped; else the flow is drained and a job
 * writes it now. Takes p (and sc, when given).
 */
static enum pg_errclass
write_big(struct engine *e, struct flow *fl, struct pending *p, struct scan_course *sc, size_t next,
          const struct engine_stats *looked, struct engine_stats *st, struct err *err)
{
    enum pg_errclass cls;
    struct job *j;

    if (e->bulk.pg != NULL) {
        bulk_enqueue(e, p->b.course);
        pend_release(p);
        return PG_OK;
    }
    cls = flow_finish(e, fl, st, err);
    if (cls != PG_OK) {
        pend_release(p);
        return cls;
    }
    struct sync_ctx *ctx = e->o.dry_run ? NULL : &e->sync[0];
    if (sc != NULL) {
        j = job_adopt(p, sc, next, ctx, looked);
    } else {
        char *course = xstrdup(p->b.course);
        pend_release(p);
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

/* ---- the whole tree --------------------------------------------------------------------- */

/*
 * A course directory whose name is not UTF-8 cannot be a slug (the database holds text):
 * it is reported, once per sync, and its files are left alone.
 */
static bool
bad_course_name(const char *course)
{
    char *key_owned;

    path_key(course, &key_owned);
    bool bad = key_owned != NULL;
    free(key_owned);
    return bad;
}

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

static long
recorded_live(const struct engine *e)
{
    long n = 0;

    for (size_t i = 0; i < e->nclist; i++) {
        n += (long)course_live_count(e->clist[i]);
    }
    return n;
}

/*
 * An empty tree is not a deleted tree. Would this reconcile delete or archive most of what
 * the source recorded: the tree holds no file at all, or more than MASS_DELETE_FEW files
 * and more than half of them would go? A volume that is not mounted, or a --root that
 * points at the wrong folder, looks exactly like that; the operator says otherwise with
 * --allow-mass-delete. Courses held (away, or in the bulk queue) count as present.
 */
static bool
mass_delete(struct engine *e, char **names, const struct scan_course *lists, const bool *ok,
            long nnames, struct strmap *listed, struct err *err)
{
    long recorded = recorded_live(e), removed = 0, tree_files = 0;
    bool held_any = false;

    if (recorded == 0) {
        return false;
    }
    for (long i = 0; i < nnames; i++) {
        if (!ok[i]) {
            held_any = held_any || !bad_course_name(names[i]);
            continue;
        }
        tree_files += (long)lists[i].nfiles;
        struct cstate *c = course_get(e, names[i], strlen(names[i]), false);
        if (c == NULL) {
            continue;
        }
        course_unsee(e, names[i]);
        for (size_t k = 0; k < lists[i].nfiles; k++) {
            char *key_owned;
            struct fstate *f = state_get(e, path_key(lists[i].files[k].rel, &key_owned));
            if (f != NULL) {
                f->seen = true;
            }
            free(key_owned);
        }
        for (size_t k = 0; k < c->n; k++) {
            removed += c->files[k]->live && !c->files[k]->seen;
        }
    }
    for (size_t i = 0; i < e->nclist; i++) {
        struct cstate *c = e->clist[i];
        if (strmap_find(listed, c->name, strlen(c->name)) == NULL && !course_away(e, c->name) &&
            bulk_find(e, c->name) == NULL) {
            removed += (long)course_live_count(c);
        }
    }
    bool empty = tree_files == 0 && !held_any;
    if (!empty && !(removed > MASS_DELETE_FEW && removed * 2 > recorded)) {
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
    struct err err;

    if (bad_course_name(course) || course_held(e, course)) {
        return false;
    }
    if (scan_course(e->rootfd, course, sc, &err) != 0) {
        log_kv(LOG_WARN, "cannot list course", "course", course, "error", err.msg);
        scan_course_release(sc);
        return false;
    }
    return true;
}

enum pg_errclass
engine_reconcile(struct engine *e, struct engine_stats *st, engine_progress_cb progress, void *arg,
                 struct err *err)
{
    char **names = NULL;
    long nnames;
    struct flow fl = {.next = 0};
    enum pg_errclass cls = PG_OK;
    long total = recorded_live(e);
    struct strmap listed = STRMAP_INIT;

    if (root_open(e, err) != 0) {
        /* The root itself is gone (a volume unmounted): there is nothing to judge. */
        st->refused = total > 0 ? total : 1;
        return PG_OK;
    }
    nnames = scan_course_names(e->rootfd, &names, err);
    if (nnames < 0) {
        root_close(e);
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
        struct pending p;
        if (skip_bad_course(e, names[i], st)) {
            continue;
        }
        if (!list_first) {
            ok[i] = list_course(e, names[i], &lists[i]);
        }
        if (!ok[i]) {
            continue;
        }
        course_begin(e, &p, names[i], listing_has_brief(&lists[i]));
        course_unsee(e, names[i]);
        size_t next = build_course(e, &p, &lists[i], 0, &looked);
        if (next < lists[i].nfiles) {
            cls = write_big(e, &fl, &p, &lists[i], next, &looked, st, err);
        } else {
            stats_add_looked(st, &looked);
            cls = flow_push(e, &fl, &p, st, err);
        }
        scan_course_release(&lists[i]); /* the batch holds what it needs */
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
        if (course_live_count(c) == 0 || strmap_find(&listed, c->name, strlen(c->name)) ||
            course_held(e, c->name)) {
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
out:
    for (long i = 0; i < nnames; i++) {
        scan_course_release(&lists[i]);
    }
    free(lists);
    free(ok);
    log_notices(e);
    strmap_release(&listed);
    scan_names_free(names, (size_t)nnames);
    root_close(e);
    return cls;
}

/* ---- big courses in watch: the bulk connection ------------------------------------------- */

bool
engine_bulk_busy(const struct engine *e)
{
    return e->nbulkq > 0;
}

void
engine_bulk_reset(struct engine *e)
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
engine_bulk_step(struct engine *e, struct engine_stats *st, bool *more, struct err *err)
{
    enum job_state state = JOB_MORE;
    enum pg_errclass cls;

    *more = false;
    if (e->nbulkq == 0) {
        return PG_OK;
    }
    if (root_open(e, err) != 0) {
        /* the tree went away: the next reconcile, once it is back, sees to these courses */
        engine_bulk_reset(e);
        while (e->nbulkq > 0) {
            e->bulkq[0].again = false;
            bulk_pop(e);
        }
        return PG_OK;
    }
    if (e->job == NULL) {
        if (pg_connect(e->bulk.pg, err) != 0) {
            root_close(e);
            return PG_TRANSIENT;
        }
        e->bulkq[0].again = false;
        e->job = job_start(e, e->bulkq[0].course, &e->bulk);
        if (e->job == NULL) {
            bulk_pop(e);
            root_close(e);
            *more = e->nbulkq > 0;
            return PG_OK;
        }
        char files[32];
        snprintf(files, sizeof(files), "%zu", e->job->sc.nfiles);
        log_kv(LOG_INFO, "writing a big course in parts", "course", e->bulkq[0].course, "files",
               files);
    }
    cls = job_step(e, e->job, false, &state, st, err);
    root_close(e);
    if (cls != PG_OK) {
        engine_bulk_reset(e); /* redone from its start, once the database is back */
        return cls;
    }
    if (state == JOB_DONE) {
        char parts[32];
        snprintf(parts, sizeof(parts), "%zu", e->job->parts);
        stats_add_looked(st, &e->job->cst);
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

/* Build the batch of one course from the paths events named. Returns false when the batch
 * would hold more than one part (a big course: p is then incomplete, a job writes it). */
static bool
build_paths(struct engine *e, struct pending *p, struct course_paths *cp, struct engine_stats *st)
{
    struct cstate *c = course_get(e, cp->course, strlen(cp->course), false);
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
            fstate_path(c, old_brief, &old_path);
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
    if (old_brief != NULL && brief != NULL && strcmp(brief, old_path.buf) != 0) {
        pend_gone(p, old_brief);
    } else if (old_brief != NULL && brief == NULL && cp_has(cp, old_path.buf)) {
        pend_gone(p, old_brief);
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
        if (r == 1 && part_due(p, size)) {
            strmap_release(&done);
            free(brief);
            return false;
        }
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
    return true;
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
static void
plans_generic(struct engine *e, bool on)
{
    bool replan = on && e->nfstates >= 2 * e->plans_nfstates;

    if (replan) {
        e->plans_nfstates = e->nfstates;
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
            struct strbuf full = STRBUF_INIT;
            strbuf_reset(&prefix);
            strbuf_addf(&prefix, "%s/", slash + 1); /* within the course */
            for (size_t k = 0; c != NULL && k < c->n; k++) {
                if (c->files[k]->live && strncmp(c->files[k]->rel, prefix.buf, prefix.len) == 0) {
                    cp_add(cp, fstate_path(c, c->files[k], &full));
                }
            }
            strbuf_release(&full);
        } else {
            cp_add(cp, path);
        }
    }
    strbuf_release(&prefix);
    if (root_open(e, err) != 0) {
        /* the root went away: the watcher tells the daemon, which checks until it is back */
        cps_free(list, nlist);
        strmap_release(&m);
        return PG_OK;
    }
    plans_generic(e, true);
    for (size_t i = 0; i < nlist && cls == PG_OK; i++) {
        struct course_paths *cp = list[i];
        struct engine_stats looked = {0};
        struct pending p;
        if (skip_bad_course(e, cp->course, st) || course_held(e, cp->course)) {
            continue;
        }
        if (cp->whole) {
            struct scan_course sc;
            struct err e2;
            if (scan_course(e->rootfd, cp->course, &sc, &e2) != 0) {
                log_kv(LOG_WARN, "cannot list course", "course", cp->course, "error", e2.msg);
                scan_course_release(&sc);
                continue;
            }
            course_begin(e, &p, cp->course, listing_has_brief(&sc));
            course_unsee(e, cp->course);
            size_t next = build_course(e, &p, &sc, 0, &looked);
            if (next < sc.nfiles) {
                cls = write_big(e, &fl, &p, &sc, next, &looked, st, err);
                scan_course_release(&sc);
                continue;
            }
            scan_course_release(&sc);
        } else {
            pend_init(&p, cp->course);
            if (!build_paths(e, &p, cp, &looked)) {
                /* big: the whole course is written in parts (a job lists it itself) */
                cls = write_big(e, &fl, &p, NULL, 0, NULL, st, err);
                continue;
            }
        }
        stats_add_looked(st, &looked);
        cls = flow_push(e, &fl, &p, st, err);
    }
    cls = flow_close(e, &fl, cls, st, err);
    plans_generic(e, false);
    root_close(e);
    log_notices(e);
    cps_free(list, nlist);
    strmap_release(&m);
    return cls;
}
