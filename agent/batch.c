/* batch.c -- one course's batch: what changed since it was recorded, read and parsed, and what
 * is remembered of it once committed. */
#include "agent/batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/log.h"
#include "common/clock.h"
#include "common/hash.h"

void
batch_init(struct batch *p, const char *course)
{
    memset(p, 0, sizeof(*p));
    p->b.course = xstrdup(course);
    p->b.brief_mode = BRIEF_KEEP;
    p->started_ms = clock_ms();
}

/* A change's record, owned by the batch (NULL: none). */
static struct record *
change_record(const struct file_change *f)
{
    return (struct record *)f->rec;
}

void
batch_release(struct batch *p)
{
    sync_changes_release(p->b.changes, p->b.nchanges);
    for (size_t i = 0; i < p->b.nchanges; i++) {
        struct file_change *f = &p->b.changes[i];
        if (f->rec != NULL) {
            record_release(change_record(f));
            free(change_record(f));
        }
        free((char *)f->path);
        free((char *)f->error);
    }
    free(p->b.changes);
    free((char *)p->b.course);
    memset(p, 0, sizeof(*p));
}

bool
batch_empty(const struct batch *p)
{
    return p->b.nchanges == 0 && !p->b.gone;
}

static struct file_change *
batch_add(struct batch *p, const char *path, enum change_kind kind, bool is_brief)
{
    if (p->b.nchanges == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 16;
        p->b.changes = xrealloc(p->b.changes, p->cap * sizeof(*p->b.changes));
    }
    struct file_change *f = &p->b.changes[p->b.nchanges++];
    memset(f, 0, sizeof(*f));
    f->path = xstrdup(path);
    f->kind = kind;
    f->is_brief = is_brief;
    return f;
}

void
batch_finalize(struct batch *p, bool has_brief)
{
    bool brief_changed = false;

    for (size_t i = 0; i < p->b.nchanges; i++) {
        brief_changed = brief_changed || p->b.changes[i].is_brief;
    }
    p->b.brief_mode =
        has_brief || (p->b.project_live && !brief_changed) ? BRIEF_KEEP : BRIEF_ABSENT;
    for (size_t i = 0; i < p->b.nchanges; i++) {
        const struct file_change *f = &p->b.changes[i];
        if (f->kind == CHANGE_PARSED && f->is_brief) {
            p->b.brief_mode = BRIEF_PARSED;
            p->b.brief = f->rec;
        }
    }
}

void
batch_present(struct engine *e, struct batch *p, const char *rel, bool is_brief, int64_t size,
              int64_t mtime_ns, struct engine_stats *st)
{
    char *key_owned;
    const char *key = state_path_key(rel, &key_owned);
    struct fstate *f = state_get(&e->state, key);
    struct file_change *c;
    struct record *rec;
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
            engine_reject(e, key, f->error);
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
        c = batch_add(p, key, CHANGE_REJECTED, is_brief);
        c->mtime_ns = mtime_ns;
        if (r < 0) {
            /* Unreadable: a chmod that fixes it changes neither size nor mtime, so it is
             * recorded with no size, and tried again on every sync until it reads. */
            c->error = xstrdup(err.msg);
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
            c->error = xstrdup(err.msg);
            c->size = size;
        }
        goto out;
    }
    uint64_t h = hash64(buf, len);
    if (!e->o.force && f != NULL && f->error == NULL && f->is_brief == is_brief && f->hash == h &&
        f->size == (int64_t)len) {
        c = batch_add(p, key, CHANGE_TOUCHED, is_brief);
        c->size = (int64_t)len;
        c->mtime_ns = read_mtime;
        c->hash = h;
        st->unchanged++;
        goto out;
    }
    c = batch_add(p, key, CHANGE_PARSED, is_brief);
    c->size = (int64_t)len;
    c->mtime_ns = read_mtime;
    c->hash = h;
    rec = xcalloc(1, sizeof(*rec));
    if (record_parse(rel, buf, len, &e->o.parse, rec, &err) != 0) {
        record_release(rec);
        free(rec);
        c->kind = CHANGE_REJECTED;
        c->error = xstrdup(err.msg);
    } else {
        c->rec = rec;
        p->held += rec->body_len + strlen(rec->metadata) + strlen(rec->title);
        /* New rows need creator links; changed module facts need the modules redone. */
        if (f == NULL || f->error != NULL) {
            p->b.links_dirty = true;
            c->fresh = !is_brief; /* may adopt what the original persister wrote */
        }
        if (!is_brief &&
            (f == NULL || f->module_no != rec->module_no || f->lesson_no != rec->lesson_no ||
             f->module_title_hash != state_title_hash(rec->module_title))) {
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

bool
batch_part_due(const struct batch *p, int64_t size)
{
    return p->held > 0 && p->held + (size_t)(size > 0 ? size : 0) > SYNC_PART_BYTES;
}

void
batch_shed(struct batch *p, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        struct record *r = change_record(&p->b.changes[i]);
        if (r == NULL) {
            continue;
        }
        free(r->body);
        free(r->metadata);
        r->body = NULL;
        r->body_len = 0;
        r->metadata = NULL;
    }
    p->held = 0;
}

void
batch_gone(struct batch *p, const struct fstate *f)
{
    struct strbuf path = STRBUF_INIT;

    strbuf_addf(&path, "%s/%s", p->b.course, f->rel);
    batch_add(p, path.buf, CHANGE_GONE, f->is_brief);
    strbuf_release(&path);
    if (!f->is_brief) {
        p->b.modules_dirty = true;
    }
}

void
batch_begin(struct engine *e, struct batch *p, const char *course, bool has_brief)
{
    struct cstate *c = state_course(&e->state, course, strlen(course), false);

    batch_init(p, course);
    /* --force rewrites the course rows too */
    p->b.project_live = state_course_written(c) && !e->o.force;
    if (e->o.force) {
        p->b.modules_dirty = p->b.links_dirty = true;
    }
    p->b.brief_mode = has_brief ? BRIEF_KEEP : BRIEF_ABSENT;
}

void
batch_begin_listing(struct engine *e, struct batch *p, const struct scan_course *sc)
{
    batch_begin(e, p, sc->name, batch_listing_has_brief(sc));
    state_course_unsee(&e->state, sc->name);
}

bool
batch_listing_has_brief(const struct scan_course *sc)
{
    return sc->nfiles > 0 && sc->files[0].is_brief;
}

void
batch_end_listing(struct engine *e, struct batch *p, const struct scan_course *sc)
{
    struct cstate *c = state_course(&e->state, sc->name, strlen(sc->name), false);

    for (size_t i = 0; c != NULL && i < c->n; i++) {
        struct fstate *f = c->files[i];
        if (f->live && !f->seen) {
            batch_gone(p, f);
        }
    }
    if (sc->nfiles == 0 && state_course_live(c) > 0) {
        p->b.gone = true; /* no brief and no lesson left: the course is gone */
    }
}

size_t
batch_build_listing(struct engine *e, struct batch *p, const struct scan_course *sc, size_t from,
                    struct engine_stats *st)
{
    struct strbuf path = STRBUF_INIT;
    size_t i;

    for (i = from; i < sc->nfiles; i++) {
        const struct scan_file *f = &sc->files[i];
        if (batch_part_due(p, f->size)) {
            break;
        }
        batch_present(e, p, scan_file_path(sc, f, &path), f->is_brief, f->size, f->mtime_ns, st);
    }
    strbuf_release(&path);
    if (i == sc->nfiles) {
        batch_end_listing(e, p, sc);
    }
    return i;
}

void
batch_apply(struct engine *e, struct batch *p, struct engine_stats *st)
{
    char ms[32];

    snprintf(ms, sizeof(ms), "%lld", clock_ms() - p->started_ms);
    if (p->b.gone) {
        struct cstate *c = state_course(&e->state, p->b.course, strlen(p->b.course), false);
        bool written = state_course_written(c);
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
    for (size_t i = 0; i < p->b.nchanges; i++) {
        struct file_change *f = &p->b.changes[i];
        if (f->dropped) {
            st->rejected++;
            engine_reject(e, f->path, f->db_error);
            continue;
        }
        switch (f->kind) {
        case CHANGE_GONE: {
            struct fstate *s = state_get(&e->state, f->path);
            if (s != NULL) {
                s->live = false;
            }
            st->deleted++;
            log_kv(e->o.log_each ? LOG_INFO : LOG_DEBUG, "deleted", "path", f->path);
            break;
        }
        case CHANGE_TOUCHED:
            state_set(&e->state, f->path, f->size, f->mtime_ns, f->hash, f->is_brief,
                      f->failed ? f->db_error : NULL);
            if (f->failed) {
                st->rejected++;
                engine_reject(e, f->path, f->db_error);
            }
            break;
        case CHANGE_REJECTED:
            state_set(&e->state, f->path, f->size, f->mtime_ns, f->hash, f->is_brief, f->error);
            st->rejected++;
            engine_reject(e, f->path, f->error);
            break;
        case CHANGE_PARSED: {
            struct fstate *s = state_set(&e->state, f->path, f->size, f->mtime_ns, f->hash,
                                         f->is_brief, f->failed ? f->db_error : NULL);
            if (!f->failed && !f->is_brief) {
                s->module_no = f->rec->module_no;
                s->lesson_no = f->rec->lesson_no;
                s->module_title_hash = state_title_hash(f->rec->module_title);
            }
            if (f->adopted_id != NULL) {
                st->adopted++;
                log_kv(LOG_INFO, "adopted", "path", f->path, "slug", f->rec->slug, "id",
                       f->adopted_id);
            }
            if (f->failed) {
                st->rejected++;
                engine_reject(e, f->path, f->db_error);
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

void
batch_dry_run(struct engine *e, struct batch *p, size_t from, struct engine_stats *st)
{
    for (size_t i = from; i < p->b.nchanges; i++) {
        struct file_change *f = &p->b.changes[i];
        if (f->kind == CHANGE_PARSED) {
            st->synced++;
            log_kv(LOG_INFO, "would sync", "path", f->path, "slug", f->rec->slug);
        } else if (f->kind == CHANGE_REJECTED) {
            st->rejected++;
            engine_reject(e, f->path, f->error);
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
