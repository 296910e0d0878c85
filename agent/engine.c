/* engine.c -- the engine's life: created for a root and its connections, its recorded state
 * loaded, the courses it must leave alone, the files it rejected; destroyed. */
#include "agent/engine_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/job.h"
#include "agent/log.h"
#include "agent/scan.h"

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
    state_release(&e->state);
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

enum pg_errclass
engine_load_state(struct engine *e, struct err *err)
{
    if (e->o.pg == NULL) {
        return PG_OK; /* a dry run without a database: every file looks new */
    }
    return state_load(&e->state, e->o.pg, e->source, err);
}

int
engine_root_open(struct engine *e, struct err *err)
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

void
engine_root_close(struct engine *e)
{
    if (--e->root_depth == 0) {
        close(e->rootfd);
        e->rootfd = -1;
    }
}

bool
engine_course_away(const struct engine *e, const char *course)
{
    return scan_names_has(e->away, e->naway, course);
}

bool
engine_course_held(struct engine *e, const char *course)
{
    struct bulk_item *b = bulk_find(e, course);

    if (b != NULL) {
        b->again = true;
        return true;
    }
    return engine_course_away(e, course);
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

bool
engine_list_course(struct engine *e, const char *course, struct scan_course *sc)
{
    struct err err;

    if (scan_course(e->rootfd, course, sc, &err) != 0) {
        log_kv(LOG_WARN, "cannot list course", "course", course, "error", err.msg);
        scan_course_release(sc);
        return false;
    }
    return true;
}

void
engine_reject(struct engine *e, const char *path, const char *reason)
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

bool
engine_course_bad_name(const char *course)
{
    char *key_owned;

    state_path_key(course, &key_owned);
    bool bad = key_owned != NULL;
    free(key_owned);
    return bad;
}

bool
engine_course_skip_bad(struct engine *e, const char *course, struct engine_stats *st)
{
    char *key_owned;
    const char *key = state_path_key(course, &key_owned);

    if (key_owned == NULL) {
        return false;
    }
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "%s/", key);
    engine_reject(e, sb.buf, "course directory name is not valid UTF-8; its files are not synced");
    st->rejected++;
    strbuf_release(&sb);
    free(key_owned);
    return true;
}

void
engine_stats_add_looked(struct engine_stats *st, const struct engine_stats *looked)
{
    st->seen += looked->seen;
    st->unchanged += looked->unchanged;
    st->rejected += looked->rejected;
}
