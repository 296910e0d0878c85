/* cmd_watch.c -- `creatoros-agent watch`: reconcile the tree, then follow it live (the daemon). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "agent/cmd.h"
#include "agent/log.h"
#include "agent/loop.h"
#include "agent/queue.h"
#include "agent/sdnotify.h"
#include "agent/watch.h"
#include "common/strbuf.h"

#define RETRY_CAP_MS 30000    /* database retries back off up to this */
#define OVERFLOW_CAP_MS 30000 /* repeated overflows rescan at most this often */

struct daemon {
    const struct config *cfg;
    struct loop *loop;
    struct watch *watch;
    struct queue *queue;
    struct pg *pg;
    struct engine *engine;
    struct engine_stats total;

    bool db_up;          /* connected and state loaded */
    bool db_down_logged; /* the outage in progress was logged (once, not per attempt) */
    char *problem;       /* what an operator must mend (schema, privileges), as last logged */
    bool rescan;         /* the whole tree must be reconciled (start, overflow, lost events) */
    bool unwatched;      /* some directories could not be watched: periodic rescans */
    long retry_ms;       /* current database retry delay */
    long long retry_timer;
    long long settle_timer;
    long long rescan_timer;
    long long overflow_timer;
    long overflow_ms; /* current back-off between overflow rescans */
    long long last_overflow_rescan;
    long overflows;
    long watchdog_ms;        /* half the systemd watchdog period; 0 without one */
    long long last_watchdog; /* when WATCHDOG=1 was last sent */
};

/* A long reconcile (the first one, on a big tree) keeps the systemd watchdog fed. */
static void
reconcile_progress(void *arg, long done, long total)
{
    struct daemon *d = arg;
    long long now = loop_now_ms();

    (void)done;
    (void)total;
    if (d->watchdog_ms > 0 && now - d->last_watchdog >= d->watchdog_ms) {
        sd_notify_send("WATCHDOG=1");
        d->last_watchdog = now;
    }
}

static void
notify_status(struct daemon *d)
{
    sd_notify_sendf("STATUS=%s; %ld files synced, %ld rejected, %ld deleted; watching %zu "
                    "directories; %zu paths pending",
                    d->db_up             ? "database up"
                    : d->problem != NULL ? "database needs an operator, retrying"
                                         : "database unreachable, retrying",
                    d->total.synced, d->total.rejected, d->total.deleted, watch_count(d->watch),
                    queue_len(d->queue));
}

/* ---- watcher callbacks: events are hints, the filesystem is the truth ---------------------- */

static void
on_file_ready(void *arg, const char *rel)
{
    struct daemon *d = arg;

    queue_mark_ready(d->queue, rel, loop_now_ms());
}

/*
 * A deleted file waits out the settle window, as a written one does: a deletion is often
 * one step of a larger change. `rm -r course` unlinks the brief, then the lessons, then
 * the directories; synced at once, the brief's removal alone would rename the project to
 * its slug (the contract's rule for a course that lost its brief) just before the course
 * is archived. Settled, the whole removal is seen together and the project is archived
 * under its name. A file deleted and written again within the window costs no write.
 */
static void
on_file_gone(void *arg, const char *rel)
{
    struct daemon *d = arg;

    queue_mark_settle(d->queue, rel, loop_now_ms());
}

static void
on_file_modified(void *arg, const char *rel)
{
    struct daemon *d = arg;

    queue_mark_settle(d->queue, rel, loop_now_ms());
}

static void
on_subtree_gone(void *arg, const char *rel_dir)
{
    struct daemon *d = arg;

    if (*rel_dir == '\0') {
        d->rescan = true; /* the root itself: the reconcile finds what is left */
        return;
    }
    queue_mark_subtree(d->queue, rel_dir, loop_now_ms());
}

static long overflow_timer_cb(struct loop *l, long long id, void *arg);

static void
on_overflow(void *arg)
{
    struct daemon *d = arg;
    long long now = loop_now_ms();

    d->overflows++;
    /* Repeated overflows back off instead of rescanning in a loop: the next rescan waits
     * until overflow_ms has passed since the last one. */
    if (now - d->last_overflow_rescan >= d->overflow_ms) {
        d->rescan = true;
        d->overflow_ms = d->overflow_ms == 0 ? 1000 : d->overflow_ms;
    } else if (d->overflow_timer == 0) {
        long wait = d->overflow_ms - (long)(now - d->last_overflow_rescan);
        d->overflow_timer = loop_add_timer(d->loop, wait, overflow_timer_cb, d);
        d->overflow_ms =
            d->overflow_ms * 2 > OVERFLOW_CAP_MS ? OVERFLOW_CAP_MS : d->overflow_ms * 2;
    }
}

static long
overflow_timer_cb(struct loop *l, long long id, void *arg)
{
    struct daemon *d = arg;

    (void)l;
    (void)id;
    d->overflow_timer = 0;
    d->rescan = true;
    return -1;
}

static long
rescan_timer_cb(struct loop *l, long long id, void *arg)
{
    struct daemon *d = arg;

    (void)l;
    (void)id;
    d->rescan = true;
    return d->cfg->rescan_interval_s * 1000;
}

static void
on_limit(void *arg, const char *rel_dir)
{
    struct daemon *d = arg;

    (void)rel_dir; /* the watcher logged the one clear error, with the sysctl to raise */
    if (!d->unwatched) {
        d->unwatched = true;
        d->rescan_timer =
            loop_add_timer(d->loop, d->cfg->rescan_interval_s * 1000, rescan_timer_cb, d);
        log_kv(LOG_WARN, "falling back to periodic rescans for unwatched directories", "interval_s",
               d->cfg->rescan_interval_s > 0 ? "set" : "0");
    }
}

static void
on_watch_fd(struct loop *l, int fd, uint32_t events, void *arg)
{
    struct daemon *d = arg;

    (void)l;
    (void)fd;
    (void)events;
    watch_process(d->watch);
}

/* ---- the database ------------------------------------------------------------------------ */

static long retry_timer_cb(struct loop *l, long long id, void *arg);

/* The database went away (or never came): keep watching, retry with backoff. */
static void
db_down(struct daemon *d, const char *why)
{
    if (!d->db_down_logged) {
        log_kv(LOG_WARN, "database unreachable; keeping dirty paths and retrying", "db",
               pg_display(d->pg), "error", why);
        d->db_down_logged = true;
    }
    d->db_up = false;
    pg_disconnect(d->pg);
    if (d->retry_timer == 0) {
        d->retry_ms = cmd_backoff_next(d->retry_ms, RETRY_CAP_MS);
        d->retry_timer = loop_add_timer(d->loop, d->retry_ms, retry_timer_cb, d);
    }
    notify_status(d);
}

/*
 * The database answers, but not as the agent needs (a missing table, column or function, a
 * privilege not granted): no outage, an operator must act. Logged once per distinct cause;
 * the agent keeps watching and tries again on the slow interval.
 */
static void
db_problem(struct daemon *d, const char *why)
{
    if (d->problem == NULL || strcmp(d->problem, why) != 0) {
        log_kv(LOG_ERROR, "database needs an operator; retrying every 30 s", "db",
               pg_display(d->pg), "error", why);
        free(d->problem);
        d->problem = xstrdup(why);
    }
    d->db_up = false;
    pg_disconnect(d->pg);
    if (d->retry_timer == 0) {
        d->retry_ms = RETRY_CAP_MS;
        d->retry_timer = loop_add_timer(d->loop, d->retry_ms, retry_timer_cb, d);
    }
    notify_status(d);
}

/* Connect and load the recorded state; true when the database is usable. */
static bool
db_try(struct daemon *d)
{
    struct err err;
    enum pg_errclass cls;

    if (d->cfg->dry_run && d->pg == NULL) {
        d->db_up = true;
        return true;
    }
    cls =
        pg_connect(d->pg, &err) != 0 ? pg_connect_class(d->pg) : engine_load_state(d->engine, &err);
    if (cls == PG_TRANSIENT) {
        db_down(d, err.msg);
        return false;
    }
    if (cls != PG_OK) {
        db_problem(d, err.msg);
        return false;
    }
    if (d->db_down_logged || d->problem != NULL) {
        log_kv(LOG_INFO, "database is back", "db", pg_display(d->pg));
        d->db_down_logged = false;
        free(d->problem);
        d->problem = NULL;
    }
    cmd_log_versions(d->pg);
    d->db_up = true;
    d->retry_ms = 0;
    /* What happened while it was away is in the queue, unless the queue overflowed. */
    if (queue_rescan_needed(d->queue)) {
        d->rescan = true;
    }
    return true;
}

static long
retry_timer_cb(struct loop *l, long long id, void *arg)
{
    struct daemon *d = arg;

    (void)l;
    (void)id;
    d->retry_timer = 0;
    db_try(d);
    return -1;
}

/* ---- flushing: the before-sleep hook ------------------------------------------------------ */

static void
after_sync(struct daemon *d, enum pg_errclass cls, const struct err *err)
{
    if (cls == PG_TRANSIENT) {
        db_down(d, err->msg);
    } else if (cls != PG_OK) {
        /* An operator must act (schema, privileges); keep serving and retry later. */
        db_problem(d, err->msg);
    }
}

static void
do_rescan(struct daemon *d)
{
    struct engine_stats st = {0};
    struct err err;
    char files[32];

    queue_clear_rescan(d->queue);
    d->rescan = false;
    d->last_overflow_rescan = loop_now_ms();
    log_kv(LOG_INFO, "rescan", "overflows", d->overflows > 0 ? "yes" : NULL);
    enum pg_errclass cls = engine_reconcile(d->engine, &st, reconcile_progress, d, &err);
    d->total.synced += st.synced;
    d->total.rejected += st.rejected;
    d->total.deleted += st.deleted;
    snprintf(files, sizeof(files), "%ld", st.seen);
    if (cls == PG_OK) {
        char synced[32];
        snprintf(synced, sizeof(synced), "%ld", st.synced);
        log_kv(LOG_INFO, "rescan done", "files", files, "synced", synced);
    } else {
        d->rescan = true;
    }
    after_sync(d, cls, &err);
}

static void
flush(struct daemon *d)
{
    struct queue_item *items = NULL;
    size_t n;

    if (!d->db_up) {
        return;
    }
    if (d->rescan || queue_rescan_needed(d->queue)) {
        do_rescan(d);
        if (!d->db_up) {
            return;
        }
    }
    n = queue_take_due(d->queue, loop_now_ms(), &items);
    if (n > 0) {
        const char **paths = xmalloc(n * sizeof(char *));
        bool *subtree = xmalloc(n * sizeof(bool));
        struct engine_stats st = {0};
        struct err err;
        for (size_t i = 0; i < n; i++) {
            paths[i] = items[i].path;
            subtree[i] = items[i].subtree;
        }
        enum pg_errclass cls = engine_sync_paths(d->engine, paths, subtree, n, &st, &err);
        d->total.synced += st.synced;
        d->total.rejected += st.rejected;
        d->total.deleted += st.deleted;
        if (cls != PG_OK) {
            /* nothing of this batch is lost: the paths wait for the database */
            queue_requeue(d->queue, items, n, loop_now_ms());
        }
        after_sync(d, cls, &err);
        free(paths);
        free(subtree);
        queue_items_free(items, n);
        notify_status(d);
    }
}

static long
settle_timer_cb(struct loop *l, long long id, void *arg)
{
    struct daemon *d = arg;

    (void)l;
    (void)id;
    d->settle_timer = 0;
    return -1; /* the flush runs in the before-sleep hook that follows */
}

static void
before_sleep(struct loop *l, void *arg)
{
    struct daemon *d = arg;

    (void)l;
    flush(d);
    /* Idle means idle: a timer only while a settling path is waiting. */
    if (d->settle_timer != 0) {
        loop_del_timer(d->loop, d->settle_timer);
        d->settle_timer = 0;
    }
    long due = d->db_up ? queue_next_due_ms(d->queue, loop_now_ms()) : -1;
    if (due >= 0) {
        d->settle_timer = loop_add_timer(d->loop, due > 0 ? due : 1, settle_timer_cb, d);
    }
}

/* ---- signals ------------------------------------------------------------------------------- */

static void
on_stop_signal(struct loop *l, int signo, void *arg)
{
    (void)arg;
    log_kv(LOG_INFO, "stopping", "signal", signo == SIGTERM ? "SIGTERM" : "SIGINT");
    sd_notify_send("STOPPING=1");
    loop_stop(l);
}

static void
on_hup(struct loop *l, int signo, void *arg)
{
    (void)l;
    (void)signo;
    (void)arg;
    log_reopen();
    log_info("log file reopened");
}

static long
watchdog_cb(struct loop *l, long long id, void *arg)
{
    struct daemon *d = arg;

    (void)l;
    (void)id;
    sd_notify_send("WATCHDOG=1");
    d->last_watchdog = loop_now_ms();
    return d->watchdog_ms;
}

int
cmd_watch(const struct config *cfg)
{
    static const struct watch_ops ops = {on_file_ready,   on_file_gone, on_file_modified,
                                         on_subtree_gone, on_overflow,  on_limit};
    struct daemon d = {.cfg = cfg};
    struct engine_opts eo;
    struct err err;
    int rc = 0;

    d.loop = loop_create(&err);
    if (d.loop == NULL) {
        log_kv(LOG_ERROR, "cannot start", "error", err.msg);
        return 2;
    }
    if (loop_add_signal(d.loop, SIGTERM, on_stop_signal, &d, &err) != 0 ||
        loop_add_signal(d.loop, SIGINT, on_stop_signal, &d, &err) != 0 ||
        loop_add_signal(d.loop, SIGHUP, on_hup, &d, &err) != 0) {
        log_kv(LOG_ERROR, "cannot start", "error", err.msg);
        rc = 2;
        goto out;
    }
    d.watchdog_ms = sd_watchdog_ms() / 2;
    d.queue = queue_create((size_t)cfg->queue_limit, cfg->settle_ms);
    if (!cfg->dry_run || cfg->db_url != NULL) {
        d.pg = cmd_pg_create(cfg, false);
    }
    cmd_engine_opts(cfg, d.pg, &eo);
    d.engine = engine_create(&eo, &err);
    if (d.engine == NULL) {
        log_kv(LOG_ERROR, "cannot start", "error", err.msg);
        rc = 2;
        goto out;
    }
    /*
     * Race story 1: watch before the first reconcile. A file written while the reconcile
     * walks is then either seen by the walk or queued by its event (or both: the second
     * sync finds it unchanged), never missed.
     */
    d.watch = watch_create(cfg->root, &ops, &d, &err);
    if (d.watch == NULL || watch_start(d.watch, &err) != 0 ||
        loop_add_fd(d.loop, watch_fd(d.watch), EPOLLIN, on_watch_fd, &d, &err) != 0) {
        log_kv(LOG_ERROR, "cannot watch the root", "root", cfg->root, "error", err.msg);
        rc = 2;
        goto out;
    }
    char ndirs[32];
    snprintf(ndirs, sizeof(ndirs), "%zu", watch_count(d.watch));
    log_kv(LOG_INFO, "watching", "root", cfg->root, "directories", ndirs, "source",
           engine_source(d.engine), "dry_run", cfg->dry_run ? "true" : NULL);
    d.rescan = true;
    if (db_try(&d)) {
        flush(&d);
    }
    /* Ready after the first reconcile, or as soon as it is clear the database is away (the
     * service must not be failed for that: it keeps the paths and retries). */
    char synced[32];
    snprintf(synced, sizeof(synced), "%ld", d.total.synced);
    log_kv(LOG_INFO, "ready", "synced", synced, "database",
           d.db_up             ? "up"
           : d.problem != NULL ? "needs an operator"
                               : "unreachable");
    sd_notify_send("READY=1");
    notify_status(&d);
    /* The only timer of an idle agent, and only when systemd asks for it. */
    if (d.watchdog_ms > 0) {
        loop_add_timer(d.loop, d.watchdog_ms, watchdog_cb, &d);
    }
    loop_set_before_sleep(d.loop, before_sleep, &d);
    if (loop_run(d.loop) != 0) {
        log_error("event loop failed");
        rc = 2;
    }
    log_info("stopped");
    /* A second SIGTERM still pending must not kill us with the default action when
     * loop_destroy unblocks it: the work is done, the exit status is 0. */
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
out:
    watch_destroy(d.watch);
    engine_destroy(d.engine);
    queue_destroy(d.queue);
    pg_destroy(d.pg);
    loop_destroy(d.loop);
    free(d.problem);
    return rc;
}
