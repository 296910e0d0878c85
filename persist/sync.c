/* sync.c -- one course's changes in, one transaction of set-based upserts out. */
#include "persist/sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "persist/pgarr.h"
#include "persist/rows.h"
#include "persist/statements.h"

/* The parameters of one statement at most (the file state upsert has 11). */
#define TXN_MAX_PARAMS 11

/* One statement's parameters: text values are borrowed, arrays are owned copies. */
struct txn_call {
    int stmt;
    int n;
    const char *vals[TXN_MAX_PARAMS];
    int lens[TXN_MAX_PARAMS];
    int fmts[TXN_MAX_PARAMS];
    char *owned[TXN_MAX_PARAMS];
};

/* The calls of one transaction, in order. */
struct txn {
    struct txn_call calls[SYNC_MAX_CALLS];
    size_t n;
    struct strbuf scratch; /* text built for this transaction (the audience's default name) */
};

static struct txn_call *
txn_add(struct txn *t, enum stmt stmt)
{
    if (t->n == SYNC_MAX_CALLS) {
        err_bug("%s: a transaction of more than %d statements", stmt_defs[stmt].name,
                SYNC_MAX_CALLS);
    }
    struct txn_call *c = &t->calls[t->n++];

    memset(c, 0, sizeof(*c));
    c->stmt = (int)stmt;
    return c;
}

/* Whether c has room for one more parameter (a bug otherwise: the statements are ours). */
static void
call_check(const struct txn_call *c)
{
    if (c->n == TXN_MAX_PARAMS) {
        err_bug("%s: a statement of more than %d parameters", stmt_defs[c->stmt].name,
                TXN_MAX_PARAMS);
    }
}

static void
call_text(struct txn_call *c, const char *s)
{
    call_check(c);
    c->vals[c->n] = s;
    c->lens[c->n] = 0;
    c->fmts[c->n] = 0;
    c->n++;
}

/* The array's bytes move into the call (no copy: a part's bodies are tens of MB); a is left
 * empty, ready for pgarr_release. */
static void
call_array(struct txn_call *c, struct pgarr *a)
{
    int len = pgarr_len(a);
    char *bytes;

    call_check(c);
    pgarr_data(a); /* writes the header in place */
    if (a->count > 0) {
        bytes = strbuf_detach(&a->sb, NULL);
    } else {
        bytes = xmalloc((size_t)len);
        memcpy(bytes, pgarr_data(a), (size_t)len);
    }
    pgarr_reset(a);
    c->owned[c->n] = bytes;
    c->vals[c->n] = bytes;
    c->lens[c->n] = len;
    c->fmts[c->n] = 1;
    c->n++;
}

static void
txn_release(struct txn *t)
{
    strbuf_release(&t->scratch);
    for (size_t i = 0; i < t->n; i++) {
        for (int k = 0; k < t->calls[i].n; k++) {
            free(t->calls[i].owned[k]);
        }
    }
    t->n = 0;
}

/*
 * A statement's arrays as one table: an X-macro lists them, X(NAME, element type), one line a
 * column, in the order of the statement's array parameters. ARRAY_NAME makes the enum of their
 * positions (its last member the count), ARRAY_TYPE the table of their element types.
 */
#define ARRAY_NAME(name, type) name,
#define ARRAY_TYPE(name, type) type,

static void
arrays_init(struct pgarr *a, const uint32_t *types, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        pgarr_init(&a[i], types[i]);
    }
}

static void
arrays_release(struct pgarr *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        pgarr_release(&a[i]);
    }
}

/* The arrays [from, to) of a, in order, as c's next parameters (call_array). */
static void
call_arrays(struct txn_call *c, struct pgarr *a, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        call_array(c, &a[i]);
    }
}

/* Send the calls (sync: with the sync point that commits). Returns the class (pg_send_calls). */
static enum pg_errclass
txn_send(struct sync_ctx *ctx, struct txn *t, bool sync, struct err *err)
{
    struct pg_call calls[SYNC_MAX_CALLS];

    ctx->sent_n = t->n;
    for (size_t i = 0; i < t->n; i++) {
        ctx->sent_stmts[i] = t->calls[i].stmt;
        ctx->sent_keep[i] = t->calls[i].stmt == STMT_LESSONS_ADOPT;
        calls[i].stmt = t->calls[i].stmt;
        calls[i].nparams = t->calls[i].n;
        calls[i].values = t->calls[i].vals;
        calls[i].lengths = t->calls[i].lens;
        calls[i].formats = t->calls[i].fmts;
    }
    return pg_send_calls(ctx->pg, calls, t->n, sync, err);
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Which changes of the batch go into this transaction (NULL: all of them). */
static bool
included(const bool *only, size_t i)
{
    return only == NULL || only[i];
}

/* The course's creator mind: the deployment's, else the brief's. */
static const char *
creator_of(const struct sync_ctx *ctx, const struct course_batch *b)
{
    if (ctx->creator_mind != NULL) {
        return ctx->creator_mind;
    }
    if (b->brief_mode == BRIEF_PARSED && b->brief->creator_mind.slug != NULL) {
        return b->brief->creator_mind.slug;
    }
    return NULL;
}

/* Minds named by this course, sorted by slug so that concurrent agents lock them in order. */
static void
add_minds(struct txn *t, const struct sync_ctx *ctx, const struct course_batch *b)
{
    const char *slugs[2], *names[2];
    size_t n = 0;
    const char *creator = creator_of(ctx, b);

    if (creator != NULL) {
        slugs[n] = creator;
        names[n] = creator;
        if (ctx->creator_mind == NULL && b->brief->creator_mind.display_name != NULL) {
            names[n] = b->brief->creator_mind.display_name;
        }
        n++;
    }
    if (b->brief_mode == BRIEF_PARSED && b->brief->persona_mind.slug != NULL &&
        (n == 0 || strcmp(slugs[0], b->brief->persona_mind.slug) != 0)) {
        slugs[n] = b->brief->persona_mind.slug;
        names[n] = b->brief->persona_mind.display_name != NULL ? b->brief->persona_mind.display_name
                                                               : b->brief->persona_mind.slug;
        n++;
    }
    if (n == 0) {
        return;
    }
    if (n == 2 && strcmp(slugs[0], slugs[1]) > 0) {
        const char *s = slugs[0], *d = names[0];
        slugs[0] = slugs[1], names[0] = names[1];
        slugs[1] = s, names[1] = d;
    }
    struct pgarr as, an;
    pgarr_init(&as, PGARR_TEXT);
    pgarr_init(&an, PGARR_TEXT);
    for (size_t i = 0; i < n; i++) {
        pgarr_add_str(&as, slugs[i]);
        pgarr_add_str(&an, names[i]);
    }
    struct txn_call *c = txn_add(t, STMT_MINDS_ENSURE);
    call_array(c, &as);
    call_array(c, &an);
    pgarr_release(&as);
    pgarr_release(&an);
}

/* The brief's audience profile: STMT_AUDIENCE_INSERT and STMT_AUDIENCE_UPDATE take the same
 * parameters. */
static void
add_audience(struct txn *t, enum stmt stmt, const struct course_batch *b, const struct record *r,
             const char *name)
{
    struct txn_call *c = txn_add(t, stmt);

    call_text(c, b->course);
    call_text(c, name);
    call_text(c, r->audience.description);
    call_text(c, r->audience.demographics_json);
    call_text(c, r->audience.psychographics_json);
    call_text(c, r->audience.learning_preferences_json);
    call_text(c, r->audience.technical_level);
}

/* The course's project from its brief r (NULL: a course without a brief, by its slug):
 * STMT_PROJECT_HOLD and STMT_PROJECT_UPDATE take the same parameters. */
static void
add_project(struct txn *t, enum stmt stmt, const struct course_batch *b, const struct record *r,
            const char *creator)
{
    struct txn_call *c = txn_add(t, stmt);

    call_text(c, b->course);
    call_text(c, r != NULL ? r->title : b->course);
    call_text(c, r != NULL ? r->description : NULL);
    call_text(c, r != NULL ? r->metadata : "{}");
    call_text(c, creator);
    call_text(c, r != NULL ? r->persona_mind.slug : NULL);
    call_text(c, r != NULL && r->has_audience ? "true" : "false");
}

/*
 * The course's project, then its course-level rows per the brief mode: the project is
 * inserted or locked, then judged (STMT_COURSE_CHECK), before anything is written under
 * it. audience_name_buf: room for the audience's default name (rows_audience_name).
 */
static void
add_course_rows(struct txn *t, const struct sync_ctx *ctx, const struct course_batch *b,
                struct strbuf *audience_name_buf)
{
    const char *creator = creator_of(ctx, b);
    const struct record *r = b->brief_mode == BRIEF_PARSED ? b->brief : NULL;
    const char *audience_name = NULL;
    struct txn_call *c;

    if (r != NULL && r->has_audience) {
        audience_name = rows_audience_name(r, audience_name_buf);
        add_audience(t, STMT_AUDIENCE_INSERT, b, r, audience_name);
    }
    /* the project as the contract has it (a course whose brief was not re-read: by its
     * slug, as a course without a brief, when it has to be made again) */
    add_project(t, STMT_PROJECT_HOLD, b, r, creator);
    c = txn_add(t, STMT_COURSE_CHECK);
    call_text(c, b->course);
    call_text(c, ctx->source);
    call_text(c, creator);

    if (b->brief_mode == BRIEF_KEEP && b->project_live) {
        return; /* written by an earlier sync, nothing of it changed */
    }
    if (b->brief_mode == BRIEF_KEEP) {
        c = txn_add(t, STMT_PROJECT_ENSURE);
        call_text(c, b->course);
        c = txn_add(t, STMT_OUTLINE_ENSURE);
        call_text(c, b->course);
        return;
    }
    if (r != NULL && r->has_audience) {
        add_audience(t, STMT_AUDIENCE_UPDATE, b, r, audience_name);
    }
    add_project(t, STMT_PROJECT_UPDATE, b, r, creator);

    c = txn_add(t, STMT_OUTLINE_UPSERT);
    call_text(c, b->course);
    call_text(c, r != NULL ? r->title : b->course);
    call_text(c, r != NULL ? r->body : NULL);
    call_text(c, r != NULL ? r->metadata : "{}");
    call_text(c, r != NULL ? r->rel_path : NULL);
}

/*
 * The arrays of the file records: the columns of STMT_STATE_UPSERT ($2 on, after the source),
 * then the paths of STMT_STATE_DELETE ($2), then the paths and times of STMT_STATE_TOUCH ($2,
 * $3). A statement's arrays run from its first to the next statement's first.
 */
#define STATE_ARRAYS(X)                                                                            \
    X(STATE_PATH, PGARR_TEXT)                                                                      \
    X(STATE_COURSE, PGARR_TEXT)                                                                    \
    X(STATE_KIND, PGARR_TEXT)                                                                      \
    X(STATE_SIZE, PGARR_INT8)                                                                      \
    X(STATE_MTIME, PGARR_INT8)                                                                     \
    X(STATE_HASH, PGARR_INT8)                                                                      \
    X(STATE_MODULE_NO, PGARR_INT8)                                                                 \
    X(STATE_LESSON_NO, PGARR_INT8)                                                                 \
    X(STATE_MODULE_TITLE, PGARR_TEXT)                                                              \
    X(STATE_ERROR, PGARR_TEXT)                                                                     \
    X(STATE_GONE_PATH, PGARR_TEXT)                                                                 \
    X(STATE_TOUCH_PATH, PGARR_TEXT)                                                                \
    X(STATE_TOUCH_MTIME, PGARR_INT8)

enum state_array { STATE_ARRAYS(ARRAY_NAME) STATE_NARRAYS };
static const uint32_t state_types[STATE_NARRAYS] = {STATE_ARRAYS(ARRAY_TYPE)};
_Static_assert(1 + STATE_GONE_PATH <= TXN_MAX_PARAMS, "the state upsert's parameters");

/* The file records of this transaction: state upserts, deletes and touches. */
static void
add_state(struct txn *t, const struct sync_ctx *ctx, const struct course_batch *b, const bool *only)
{
    struct pgarr a[STATE_NARRAYS];
    size_t nup = 0;

    arrays_init(a, state_types, STATE_NARRAYS);
    for (size_t i = 0; i < b->nchanges; i++) {
        const struct file_change *f = &b->changes[i];
        if (!included(only, i)) {
            continue;
        }
        if (f->kind == CHANGE_GONE) {
            pgarr_add_str(&a[STATE_GONE_PATH], f->path);
            continue;
        }
        if (f->kind == CHANGE_TOUCHED && !f->failed) {
            pgarr_add_str(&a[STATE_TOUCH_PATH], f->path);
            pgarr_add_int8(&a[STATE_TOUCH_MTIME], f->mtime_ns);
            continue;
        }
        const struct record *r = f->kind == CHANGE_PARSED && !f->failed ? f->rec : NULL;
        const char *error_text = f->kind == CHANGE_REJECTED ? f->error : f->db_error;
        pgarr_add_str(&a[STATE_PATH], f->path);
        pgarr_add_str(&a[STATE_COURSE], b->course);
        pgarr_add_str(&a[STATE_KIND], f->is_brief ? "brief" : "lesson");
        pgarr_add_int8(&a[STATE_SIZE], f->size);
        pgarr_add_int8(&a[STATE_MTIME], f->mtime_ns);
        pgarr_add_int8(&a[STATE_HASH], (int64_t)f->hash);
        if (r != NULL && r->kind == RECORD_LESSON && r->module_no >= 0) {
            pgarr_add_int8(&a[STATE_MODULE_NO], r->module_no);
        } else {
            pgarr_add_null(&a[STATE_MODULE_NO]);
        }
        if (r != NULL && r->kind == RECORD_LESSON && r->lesson_no >= 0) {
            pgarr_add_int8(&a[STATE_LESSON_NO], r->lesson_no);
        } else {
            pgarr_add_null(&a[STATE_LESSON_NO]);
        }
        pgarr_add_str(&a[STATE_MODULE_TITLE],
                      r != NULL && r->kind == RECORD_LESSON ? r->module_title : NULL);
        pgarr_add_str(&a[STATE_ERROR], r != NULL ? NULL : error_text);
        nup++;
    }
    if (nup > 0) {
        struct txn_call *c = txn_add(t, STMT_STATE_UPSERT);
        call_text(c, ctx->source);
        call_arrays(c, a, STATE_PATH, STATE_GONE_PATH);
    }
    if (a[STATE_GONE_PATH].count > 0) {
        struct txn_call *c = txn_add(t, STMT_STATE_DELETE);
        call_text(c, ctx->source);
        call_arrays(c, a, STATE_GONE_PATH, STATE_TOUCH_PATH);
    }
    if (a[STATE_TOUCH_PATH].count > 0) {
        struct txn_call *c = txn_add(t, STMT_STATE_TOUCH);
        call_text(c, ctx->source);
        call_arrays(c, a, STATE_TOUCH_PATH, STATE_NARRAYS);
    }
    arrays_release(a, STATE_NARRAYS);
}

/* The original persister's slug of a lesson: its file name without ".md". */
static const char *
legacy_slug(const struct record *r)
{
    const char *slash = strrchr(r->slug, '/');

    return slash != NULL ? slash + 1 : r->slug;
}

/*
 * The arrays of the lessons: the columns of STMT_LESSONS_UPSERT ($2 on, after the course),
 * then the slugs of STMT_CONTENTS_SOFT_DELETE ($2), then the slugs and legacy slugs of
 * STMT_LESSONS_ADOPT ($2, $3). A statement's arrays run from its first to the next one's first.
 */
#define LESSON_ARRAYS(X)                                                                           \
    X(LESSON_SLUG, PGARR_TEXT)                                                                     \
    X(LESSON_TITLE, PGARR_TEXT)                                                                    \
    X(LESSON_CONTENT, PGARR_TEXT)                                                                  \
    X(LESSON_METADATA, PGARR_TEXT)                                                                 \
    X(LESSON_FILE_PATH, PGARR_TEXT)                                                                \
    X(LESSON_PARENT, PGARR_TEXT)                                                                   \
    X(LESSON_SEQUENCE, PGARR_INT8)                                                                 \
    X(LESSON_STATUS, PGARR_TEXT)                                                                   \
    X(LESSON_FIDELITY, PGARR_TEXT)                                                                 \
    X(LESSON_GONE_SLUG, PGARR_TEXT)                                                                \
    X(LESSON_ADOPT_SLUG, PGARR_TEXT)                                                               \
    X(LESSON_ADOPT_LEGACY, PGARR_TEXT)

enum lesson_array { LESSON_ARRAYS(ARRAY_NAME) LESSON_NARRAYS };
static const uint32_t lesson_types[LESSON_NARRAYS] = {LESSON_ARRAYS(ARRAY_TYPE)};
_Static_assert(1 + LESSON_GONE_SLUG <= TXN_MAX_PARAMS, "the lesson upsert's parameters");

/* Lessons written (new ones first adopt what the original persister wrote of them), gone
 * lessons soft-deleted. Returns true when any lesson is involved. */
static bool
add_lessons(struct txn *t, const struct course_batch *b, const bool *only)
{
    struct pgarr a[LESSON_NARRAYS];
    bool any = false;
    struct strbuf pslug = STRBUF_INIT;

    arrays_init(a, lesson_types, LESSON_NARRAYS);
    for (size_t i = 0; i < b->nchanges; i++) {
        const struct file_change *f = &b->changes[i];
        if (!included(only, i) || f->is_brief) {
            continue;
        }
        if (f->kind == CHANGE_GONE) {
            /* the slug is the path without ".md" */
            size_t n = strlen(f->path);
            pgarr_add_text(&a[LESSON_GONE_SLUG], f->path, n >= 3 ? n - 3 : n);
            any = true;
            continue;
        }
        if (f->kind != CHANGE_PARSED || f->failed) {
            any = any || f->kind == CHANGE_REJECTED;
            continue;
        }
        const struct record *r = f->rec;
        pgarr_add_str(&a[LESSON_SLUG], r->slug);
        pgarr_add_str(&a[LESSON_TITLE], r->title);
        pgarr_add_text(&a[LESSON_CONTENT], r->body, r->body_len);
        pgarr_add_str(&a[LESSON_METADATA], r->metadata);
        pgarr_add_str(&a[LESSON_FILE_PATH], r->rel_path);
        strbuf_reset(&pslug);
        rows_parent_slug(r, &pslug);
        pgarr_add_text(&a[LESSON_PARENT], pslug.buf, pslug.len);
        if (r->sequence >= 0) {
            pgarr_add_int8(&a[LESSON_SEQUENCE], r->sequence);
        } else {
            pgarr_add_null(&a[LESSON_SEQUENCE]);
        }
        pgarr_add_str(&a[LESSON_STATUS], r->status);
        pgarr_add_str(&a[LESSON_FIDELITY], r->fidelity);
        if (f->fresh) {
            pgarr_add_str(&a[LESSON_ADOPT_SLUG], r->slug);
            pgarr_add_str(&a[LESSON_ADOPT_LEGACY], legacy_slug(r));
        }
        any = true;
    }
    if (a[LESSON_ADOPT_SLUG].count > 0) {
        struct txn_call *c = txn_add(t, STMT_LESSONS_ADOPT);
        call_text(c, b->course);
        call_arrays(c, a, LESSON_ADOPT_SLUG, LESSON_NARRAYS);
    }
    if (any && b->modules_dirty) {
        /* modules first: lessons find their parent module by slug */
        struct txn_call *c = txn_add(t, STMT_MODULES_SYNC);
        call_text(c, b->course);
    }
    if (a[LESSON_SLUG].count > 0) {
        struct txn_call *c = txn_add(t, STMT_LESSONS_UPSERT);
        call_text(c, b->course);
        call_arrays(c, a, LESSON_SLUG, LESSON_GONE_SLUG);
    }
    if (a[LESSON_GONE_SLUG].count > 0) {
        struct txn_call *c = txn_add(t, STMT_CONTENTS_SOFT_DELETE);
        call_text(c, b->course);
        call_arrays(c, a, LESSON_GONE_SLUG, LESSON_ADOPT_SLUG);
    }
    strbuf_release(&pslug);
    arrays_release(a, LESSON_NARRAYS);
    return any;
}

struct tag_pair {
    const char *content_slug;
    const char *tag_name;
};

static int
cmp_tag_pair(const void *a, const void *b)
{
    const struct tag_pair *x = a, *y = b;
    int c = strcmp(x->tag_name, y->tag_name);

    return c != 0 ? c : strcmp(x->content_slug, y->content_slug);
}

/* Tags of every re-read file (the brief's go to the outline). A tag is its name. */
static void
add_tags(struct txn *t, const struct course_batch *b, const bool *only)
{
    struct tag_pair *pairs = NULL;
    const char **targets = NULL;
    size_t npairs = 0, ntargets = 0, cap = 0;

    for (size_t i = 0; i < b->nchanges; i++) {
        const struct file_change *f = &b->changes[i];
        if (!included(only, i) || f->kind != CHANGE_PARSED || f->failed) {
            continue;
        }
        if (f->is_brief && b->brief_mode != BRIEF_PARSED) {
            continue;
        }
        const struct record *r = f->rec;
        targets = xrealloc(targets, (ntargets + 1) * sizeof(*targets));
        targets[ntargets++] = r->slug;
        for (size_t k = 0; k < r->ntags; k++) {
            if (npairs == cap) {
                cap = cap ? cap * 2 : 64;
                pairs = xrealloc(pairs, cap * sizeof(*pairs));
            }
            pairs[npairs++] = (struct tag_pair){r->slug, r->tags[k].name};
        }
    }
    if (ntargets == 0) {
        goto out;
    }
    struct pgarr cs;
    pgarr_init(&cs, PGARR_TEXT);
    qsort(targets, ntargets, sizeof(*targets), cmp_str);
    for (size_t i = 0; i < ntargets; i++) {
        pgarr_add_str(&cs, targets[i]);
    }
    if (npairs == 0) {
        /* no tag named: only links to remove, by a statement far cheaper to plan */
        struct txn_call *c = txn_add(t, STMT_TAGS_UNLINK);
        call_array(c, &cs);
        pgarr_release(&cs);
        goto out;
    }
    /* sorted by name: concurrent agents insert shared tags in one order (no deadlock) */
    qsort(pairs, npairs, sizeof(*pairs), cmp_tag_pair);
    struct pgarr tn, ps, pt;
    pgarr_init(&tn, PGARR_TEXT);
    pgarr_init(&ps, PGARR_TEXT);
    pgarr_init(&pt, PGARR_TEXT);
    for (size_t i = 0; i < npairs; i++) {
        if (i == 0 || strcmp(pairs[i].tag_name, pairs[i - 1].tag_name) != 0) {
            pgarr_add_str(&tn, pairs[i].tag_name);
        }
        pgarr_add_str(&ps, pairs[i].content_slug);
        pgarr_add_str(&pt, pairs[i].tag_name);
    }
    struct txn_call *c = txn_add(t, STMT_TAGS_ENSURE);
    call_array(c, &tn);
    c = txn_add(t, STMT_TAGS_LINK);
    call_array(c, &cs);
    call_array(c, &ps);
    call_array(c, &pt);
    pgarr_release(&tn);
    pgarr_release(&cs);
    pgarr_release(&ps);
    pgarr_release(&pt);
out:
    free(pairs);
    free(targets);
}

/* Creator links of the lessons this batch writes. */
static void
add_lesson_links(struct txn *t, const struct course_batch *b, const bool *only)
{
    struct pgarr slugs;

    pgarr_init(&slugs, PGARR_TEXT);
    for (size_t i = 0; i < b->nchanges; i++) {
        const struct file_change *f = &b->changes[i];
        if (included(only, i) && f->kind == CHANGE_PARSED && !f->failed && !f->is_brief) {
            pgarr_add_str(&slugs, f->rec->slug);
        }
    }
    if (slugs.count > 0) {
        struct txn_call *c = txn_add(t, STMT_CREATOR_LINKS_SOME);
        call_text(c, b->course);
        call_array(c, &slugs);
    }
    pgarr_release(&slugs);
}

/*
 * After the course's lock: its claim (a course of another source is refused before anything
 * is written; a course refused before is probed first when it is tried again), then its
 * minds, project and outline.
 */
static void
add_course_head(struct txn *t, const struct sync_ctx *ctx, const struct course_batch *b)
{
    struct txn_call *c;

    if (b->retry_refused) {
        c = txn_add(t, STMT_COURSE_PROBE);
        call_text(c, b->course);
        call_text(c, ctx->source);
        call_text(c, creator_of(ctx, b));
    }
    c = txn_add(t, STMT_COURSE_CLAIM);
    call_text(c, b->course);
    call_text(c, ctx->source);
    add_minds(t, ctx, b);
    add_course_rows(t, ctx, b, &t->scratch);
}

/* The changes of only: their file records, lessons (modules first) and tags. */
static void
add_changes(struct txn *t, const struct sync_ctx *ctx, const struct course_batch *b,
            const bool *only)
{
    add_state(t, ctx, b, only);
    add_lessons(t, b, only);
    add_tags(t, b, only);
}

/*
 * Build the course's transaction. only (NULL: every change) selects the changes to
 * include; course-level rows are always written.
 */
static void
build_txn(struct txn *t, const struct sync_ctx *ctx, const struct course_batch *b, const bool *only)
{
    struct txn_call *c = txn_add(t, STMT_LOCK_COURSE);

    call_text(c, b->course);
    if (b->gone) {
        c = txn_add(t, STMT_COURSE_ARCHIVE);
        call_text(c, ctx->source);
        call_text(c, b->course);
        return;
    }
    if (b->refused) {
        add_state(t, ctx, b, only); /* the course is not ours: only why, file by file */
        return;
    }
    add_course_head(t, ctx, b);
    add_changes(t, ctx, b, only);
    /* The project's creator may come from a brief read in an earlier sync: only the
     * database knows, so whenever a content is new (a lesson, or a module its lessons
     * made) or the brief changed, the links are brought in line (one indexed pass over the
     * course). When neither the brief nor the modules moved, every other content of a live
     * course is in line already: only the lessons of this batch are looked at. */
    if (b->brief_mode == BRIEF_KEEP && b->project_live && !b->modules_dirty) {
        if (b->links_dirty) {
            add_lesson_links(t, b, only);
        }
    } else if (b->links_dirty || b->modules_dirty || b->brief_mode != BRIEF_KEEP) {
        c = txn_add(t, STMT_CREATOR_LINKS);
        call_text(c, b->course);
    }
}

int
sync_course_send(struct sync_ctx *ctx, const struct course_batch *b, struct err *err)
{
    struct txn t = {.n = 0, .scratch = STRBUF_INIT};
    enum pg_errclass cls;

    build_txn(&t, ctx, b, NULL);
    cls = txn_send(ctx, &t, true, err);
    txn_release(&t);
    /* Too large for one message: nothing was sent; sync_course_finish finds the culprit. */
    ctx->refused = cls == PG_DATA;
    return cls == PG_OK || cls == PG_DATA ? 0 : -1;
}

/* Add the rows of the contract's tables that the last transaction changed. */
static void
count_rows(const struct sync_ctx *ctx, const long *rows, struct sync_stats *stats)
{
    for (size_t i = 0; i < ctx->sent_n; i++) {
        switch ((enum stmt)ctx->sent_stmts[i]) {
        case STMT_LOCK_COURSE:
        case STMT_COURSE_PROBE:
        case STMT_COURSE_CLAIM:
        case STMT_COURSE_CHECK:
        case STMT_STATE_UPSERT:
        case STMT_STATE_DELETE:
        case STMT_STATE_TOUCH:
        case STMT_SOURCE_TOUCH:
            break; /* a lock, the ownership checks and the agent's own bookkeeping */
        case STMT_LESSONS_ADOPT:
            break; /* an adopted row is counted once, by the lesson upsert that follows */
        default:
            stats->rows += rows[i];
            break;
        }
    }
}

/* Rows the original persister wrote that lessons of this transaction adopted: (slug, id). */
static void
note_adoptions(struct course_batch *b, const PGresult *res, struct sync_stats *stats)
{
    for (int k = 0; k < PQntuples(res); k++) {
        const char *slug = PQgetvalue(res, k, 0);
        for (size_t i = 0; i < b->nchanges; i++) {
            struct file_change *f = &b->changes[i];
            if (f->kind == CHANGE_PARSED && !f->is_brief && f->adopted_id == NULL &&
                strcmp(f->rec->slug, slug) == 0) {
                f->adopted_id = xstrdup(PQgetvalue(res, k, 1));
                stats->adopted++;
                break;
            }
        }
    }
}

/* Wait for the transaction sent last; on success count its rows and note adoptions. */
static enum pg_errclass
collect_txn(struct sync_ctx *ctx, struct course_batch *b, struct sync_stats *stats, struct err *err)
{
    long rows[SYNC_MAX_CALLS] = {0};
    bool keep[SYNC_MAX_CALLS] = {false};
    PGresult *results[SYNC_MAX_CALLS];
    size_t failed_call;

    for (size_t i = 0; i < ctx->sent_n; i++) {
        keep[i] = ctx->sent_stmts[i] == STMT_LESSONS_ADOPT;
    }
    enum pg_errclass cls =
        pg_collect_txn_results(ctx->pg, ctx->sent_n, rows, keep, results, &failed_call, err);
    if (cls != PG_OK) {
        return cls;
    }
    count_rows(ctx, rows, stats);
    for (size_t i = 0; i < ctx->sent_n; i++) {
        if (results[i] != NULL) {
            note_adoptions(b, results[i], stats);
            PQclear(results[i]);
        }
    }
    return PG_OK;
}

/* Send and wait for one transaction; rows affected are added to stats. */
static enum pg_errclass
run_txn(struct sync_ctx *ctx, struct course_batch *b, const bool *only, struct sync_stats *stats,
        struct err *err)
{
    struct txn t = {.n = 0, .scratch = STRBUF_INIT};

    build_txn(&t, ctx, b, only);
    enum pg_errclass sent = txn_send(ctx, &t, true, err);
    txn_release(&t);
    if (sent != PG_OK) {
        return sent; /* PG_DATA: too large for one message, the file's fault like any other */
    }
    return collect_txn(ctx, b, stats, err);
}

static void
fail_change(struct file_change *f, const char *reason)
{
    free(f->db_error);
    f->failed = true;
    f->db_error = xstrdup(reason);
}

/*
 * The batch's transaction failed on data: find the culprits. The course-level rows go
 * first on their own (a brief the database refuses is that file's fault), then each
 * file in a transaction of its own.
 */
static enum pg_errclass
isolate_failures(struct sync_ctx *ctx, struct course_batch *b, struct sync_stats *stats,
                 struct err *err)
{
    bool *only = xcalloc(b->nchanges ? b->nchanges : 1, sizeof(bool));
    enum pg_errclass cls;
    struct err e;

    cls = run_txn(ctx, b, only, stats, &e);
    if ((cls == PG_DATA || cls == PG_REFUSED) && b->brief_mode == BRIEF_PARSED) {
        for (size_t i = 0; i < b->nchanges; i++) {
            if (b->changes[i].is_brief && b->changes[i].kind == CHANGE_PARSED) {
                fail_change(&b->changes[i], e.msg);
            }
        }
        b->brief_mode = BRIEF_KEEP;
        cls = run_txn(ctx, b, only, stats, &e);
    }
    if (cls == PG_REFUSED) {
        for (size_t i = 0; i < b->nchanges; i++) {
            struct file_change *f = &b->changes[i];
            if (f->kind == CHANGE_PARSED || f->kind == CHANGE_TOUCHED) {
                stats->failed += !f->failed;
                fail_change(f, e.msg);
            }
        }
        b->refused = true;
        cls = run_txn(ctx, b, NULL, stats, &e);
        if (cls != PG_OK) {
            err_set(err, "%s: %s", b->course, e.msg);
        }
        goto out;
    }
    if (cls != PG_OK) {
        err_set(err, "%s", e.msg);
        goto out;
    }
    for (size_t i = 0; i < b->nchanges; i++) {
        struct file_change *f = &b->changes[i];
        if (f->failed || f->dropped) {
            continue;
        }
        memset(only, 0, b->nchanges * sizeof(bool));
        only[i] = true;
        cls = run_txn(ctx, b, only, stats, &e);
        if ((cls == PG_DATA || cls == PG_REFUSED) && f->kind == CHANGE_PARSED) {
            /* Record the refusal in the file state; its rows stay as they were. */
            fail_change(f, e.msg);
            stats->failed++;
            cls = run_txn(ctx, b, only, stats, &e);
        }
        if (cls == PG_DATA || cls == PG_REFUSED) {
            /* Even the record of this file is refused: leave it out, keep the others. */
            f->dropped = true;
            if (f->db_error == NULL) {
                f->db_error = xstrdup(e.msg);
            }
            cls = PG_OK;
        }
        if (cls != PG_OK) {
            err_set(err, "%s: %s", f->path, e.msg);
            goto out;
        }
    }
out:
    free(only);
    return cls;
}

enum pg_errclass
sync_course_finish(struct sync_ctx *ctx, struct course_batch *b, struct sync_stats *stats,
                   struct err *err)
{
    enum pg_errclass cls;

    if (ctx->refused) {
        ctx->refused = false;
        return isolate_failures(ctx, b, stats, err);
    }
    cls = collect_txn(ctx, b, stats, err);
    if (cls != PG_DATA && cls != PG_REFUSED) {
        return cls;
    }
    return isolate_failures(ctx, b, stats, err);
}

bool
sync_is_refusal(const char *reason)
{
    return reason != NULL && strncmp(reason, STMT_REFUSAL, strlen(STMT_REFUSAL)) == 0;
}

int
sync_touch_source(struct sync_ctx *ctx, struct err *err)
{
    struct txn t = {.n = 0, .scratch = STRBUF_INIT};
    struct txn_call *c = txn_add(&t, STMT_SOURCE_TOUCH);
    size_t failed_call;

    call_text(c, ctx->source);
    call_text(c, ctx->root);
    if (txn_send(ctx, &t, true, err) != PG_OK) {
        return -1;
    }
    return pg_collect_txn(ctx->pg, 1, NULL, &failed_call, err) == PG_OK ? 0 : -1;
}

/* ---- parts: a course above SYNC_PART_BYTES, several statements in its one transaction ---- */

/*
 * The statements of one part: the first takes the course's lock and writes its minds,
 * project and outline; every part writes the file states, lessons (modules first) and tags
 * of its changes; the last brings the creator links of the whole course in line (one
 * indexed pass; which contents are new is no longer known once earlier parts are shed).
 * Modules are redone in every part that has lessons, as the batch flags say so far: the
 * last such part runs after every file state of the course is written, so its modules are
 * the final ones.
 */
static void
build_part(struct txn *t, const struct sync_ctx *ctx, const struct course_batch *b,
           const bool *only, bool first, bool last)
{
    struct txn_call *c;

    if (first) {
        c = txn_add(t, STMT_LOCK_COURSE);
        call_text(c, b->course);
        add_course_head(t, ctx, b);
    }
    add_changes(t, ctx, b, only);
    if (last) {
        c = txn_add(t, STMT_CREATOR_LINKS);
        call_text(c, b->course);
    }
}

enum pg_errclass
sync_part_send(struct sync_ctx *ctx, const struct course_batch *b, size_t from, size_t to,
               bool first, bool last, struct err *err)
{
    struct txn t = {.n = 0, .scratch = STRBUF_INIT};
    bool *only = xcalloc(b->nchanges ? b->nchanges : 1, sizeof(bool));
    enum pg_errclass cls;

    for (size_t i = from; i < to && i < b->nchanges; i++) {
        only[i] = true;
    }
    if (first) {
        ctx->part_rows = 0;
    }
    build_part(&t, ctx, b, only, first, last);
    cls = txn_send(ctx, &t, last, err);
    txn_release(&t);
    free(only);
    ctx->part_last = last;
    if (cls == PG_DATA && !first) {
        /* earlier parts wait in an open transaction that a sync would commit: drop it */
        pg_disconnect(ctx->pg);
    }
    return cls;
}

/* The tags that the changes of only name, inserted (the rows only, no link). */
static void
add_tag_rows(struct txn *t, const struct course_batch *b, const bool *only)
{
    struct tag_pair *pairs = NULL;
    size_t npairs = 0;

    for (size_t i = 0; i < b->nchanges; i++) {
        const struct file_change *f = &b->changes[i];
        if (!included(only, i) || f->kind != CHANGE_PARSED || f->failed) {
            continue;
        }
        for (size_t k = 0; k < f->rec->ntags; k++) {
            pairs = xrealloc(pairs, (npairs + 1) * sizeof(*pairs));
            pairs[npairs++] = (struct tag_pair){f->rec->slug, f->rec->tags[k].name};
        }
    }
    if (npairs > 0) {
        struct pgarr tn;
        pgarr_init(&tn, PGARR_TEXT);
        qsort(pairs, npairs, sizeof(*pairs), cmp_tag_pair);
        for (size_t i = 0; i < npairs; i++) {
            if (i == 0 || strcmp(pairs[i].tag_name, pairs[i - 1].tag_name) != 0) {
                pgarr_add_str(&tn, pairs[i].tag_name);
            }
        }
        struct txn_call *c = txn_add(t, STMT_TAGS_ENSURE);
        call_array(c, &tn);
        pgarr_release(&tn);
    }
    free(pairs);
}

enum pg_errclass
sync_shared_ensure(struct sync_ctx *ctx, const struct course_batch *b, size_t from, size_t to,
                   bool minds, struct err *err)
{
    struct txn t = {.n = 0, .scratch = STRBUF_INIT};
    bool *only = xcalloc(b->nchanges ? b->nchanges : 1, sizeof(bool));
    enum pg_errclass cls = PG_OK;
    size_t failed_call, n;

    for (size_t i = from; i < to && i < b->nchanges; i++) {
        only[i] = true;
    }
    if (minds) {
        add_minds(&t, ctx, b);
    }
    add_tag_rows(&t, b, only);
    free(only);
    n = t.n;
    if (n > 0) {
        cls = txn_send(ctx, &t, true, err);
    }
    txn_release(&t);
    if (n > 0 && cls == PG_OK) {
        cls = pg_collect_txn(ctx->pg, n, NULL, &failed_call, err);
    }
    return cls;
}

enum pg_errclass
sync_part_poll(struct sync_ctx *ctx, struct course_batch *b, bool wait, bool *done,
               struct sync_stats *stats, struct err *err)
{
    size_t failed_call;
    struct sync_stats part = {0};
    enum pg_errclass cls = pg_poll_txn(ctx->pg, ctx->sent_n, ctx->part_last, wait, ctx->sent_rows,
                                       ctx->sent_keep, ctx->sent_results, done, &failed_call, err);

    if (cls != PG_OK || !*done) {
        if (cls != PG_OK) {
            ctx->part_rows = 0;
        }
        return cls;
    }
    count_rows(ctx, ctx->sent_rows, &part);
    ctx->part_rows += part.rows;
    for (size_t i = 0; i < ctx->sent_n; i++) {
        if (ctx->sent_results[i] != NULL) {
            note_adoptions(b, ctx->sent_results[i], stats);
            PQclear(ctx->sent_results[i]);
            ctx->sent_results[i] = NULL;
        }
    }
    if (ctx->part_last) {
        stats->rows += ctx->part_rows; /* committed */
        ctx->part_rows = 0;
    }
    return PG_OK;
}

void
sync_changes_release(struct file_change *changes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(changes[i].db_error);
        changes[i].db_error = NULL;
        free(changes[i].adopted_id);
        changes[i].adopted_id = NULL;
    }
}
