/* cmd_watch.c -- `creatoros-agent watch`: reconcile the tree, then follow it live (the daemon). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>

#include "agent/bulk.h"
#include "agent/cmd.h"
#include "agent/fstype.h"
#include "agent/log.h"
#include "agent/loop.h"
#include "agent/metrics.h"
#include "agent/paths.h"
#include "agent/queue.h"
#include "agent/sdnotify.h"
#include "agent/watch.h"
#include "common/clock.h"
#include "common/strbuf.h"
#include "persist/sync.h"

#define RETRY_CAP_MS 30000    /* database retries back off up to this */
#define OVERFLOW_CAP_MS 30000 /* repeated overflows rescan at most this often */
/* The source's last sync time (what `status` prints) is recorded at most this often: one
 * small transaction, not one per batch. */
#define TOUCH_INTERVAL_MS 10000
#define LAST_REJECTED_MAX 300 /* bytes of the last rejection kept for the STATUS= line */
#define BULK_POLL_MS 10       /* a part of a big course at the server: look again this often */

/* A directory whose volume was unmounted: nothing below it is judged until it is back. */
struct away {
    char *rel; /* relative to the root; "" is the root itself */
    dev_t dev; /* the device at that path right after the unmount (0: nothing there) */
};

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
    bool polling;        /* a network filesystem (or --poll): periodic rescans */
    bool poll_due;       /* the rescan about to run is a periodic one (logged at debug) */
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
    struct metrics *metrics; /* --metrics-file; NULL without one (the calls are no-ops) */
    bool touch_pending;      /* rows were written since the source's last sync time was set */
    long long last_touch;    /* when it was set (loop ms); 0: not yet */
    long long touch_timer;
    char last_rejected[LAST_REJECTED_MAX]; /* "path: reason" of the latest rejection */
    struct pg *pg_bulk;                    /* big courses are written through it (bulk_step) */
    long long bulk_timer;
    struct away *away; /* volumes that went away, outermost only */
    size_t naway;
    bool tree_refused;     /* the last reconcile was refused as a mass deletion */
    bool rewatch;          /* watch the tree again (a volume is back) before the next sync */
    bool rewatch_failed;   /* the last attempt failed (logged once) */
    long long check_timer; /* periodic checks while a volume is away or the tree refused */
};

/* A long reconcile (the first one, on a big tree) keeps the systemd watchdog fed. */
static void
reconcile_progress(void *arg, long done, long total)
{
    struct daemon *d = arg;
    long long now = clock_ms();

    (void)done;
    (void)total;
    if (d->watchdog_ms > 0 && now - d->last_watchdog >= d->watchdog_ms) {
        sdnotify_send("WATCHDOG=1");
        d->last_watchdog = now;
    }
}

static void
notify_status(struct daemon *d)
{
    sdnotify_sendf("STATUS=%s; %ld files synced, %ld rejected, %ld deleted; watching %zu "
                   "directories; %zu paths pending%s%s",
                   d->db_up             ? "database up"
                   : d->problem != NULL ? "database needs an operator, retrying"
                                        : "database unreachable, retrying",
                   d->total.synced, d->total.rejected, d->total.deleted, watch_count(d->watch),
                   queue_len(d->queue), *d->last_rejected ? "; last rejected: " : "",
                   d->last_rejected);
}

/* ---- watcher callbacks: events are hints, the filesystem is the truth ---------------------- */

static void
on_file_ready(void *arg, const char *rel)
{
    struct daemon *d = arg;

    queue_mark_ready(d->queue, rel, clock_ms());
}

/*
 * A file modified without a close, or deleted, waits out the settle window. A deletion is
 * often one step of a larger change: `rm -r course` unlinks the brief, then the lessons,
 * then the directories; synced at once, the brief's removal alone would rename the project
 * to its slug (the contract's rule for a course that lost its brief) just before the course
 * is archived. Settled, the whole removal is seen together and the project is archived
 * under its name. A file deleted and written again within the window costs no write.
 */
static void
on_file_settle(void *arg, const char *rel)
{
    struct daemon *d = arg;

    queue_mark_settle(d->queue, rel, clock_ms());
}

static void
on_subtree_gone(void *arg, const char *rel_dir)
{
    struct daemon *d = arg;

    if (*rel_dir == '\0') {
        d->rescan = true; /* the root itself: the reconcile finds what is left */
        return;
    }
    queue_mark_subtree(d->queue, rel_dir, clock_ms());
}

static long overflow_timer_cb(struct loop *l, long long id, void *arg);

static void
on_overflow(void *arg)
{
    struct daemon *d = arg;
    long long now = clock_ms();

    d->overflows++;
    metrics_count(d->metrics, METRIC_OVERFLOWS, 1);
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
    d->poll_due = true;
    return d->cfg->rescan_interval_s * 1000;
}

/* A timer of period --rescan-interval, its id kept in *slot: armed once, unless it is. */
static void
arm_interval(struct daemon *d, long long *slot, loop_timer_cb *cb)
{
    if (*slot == 0) {
        *slot = loop_add_timer(d->loop, d->cfg->rescan_interval_s * 1000, cb, d);
    }
}

/* The periodic rescan, armed once for whichever reason comes first. */
static void
arm_rescan_timer(struct daemon *d)
{
    arm_interval(d, &d->rescan_timer, rescan_timer_cb);
}

/* --rescan-interval as text, for the log lines that name it. */
static const char *
interval_text(const struct daemon *d, char *buf, size_t size)
{
    snprintf(buf, size, "%ld", d->cfg->rescan_interval_s);
    return buf;
}

/*
 * Network filesystems: inotify reports what this kernel does, so a file written by another
 * host on NFS, SMB, FUSE or 9p raises no event here. Such a tree (or a mount below it) is
 * rescanned every --rescan-interval, as is every tree with --poll; inotify still reports
 * this host's own writes at once. A rescan of an unchanged tree reads no file: the recorded
 * size and mtime of each one match its lstat.
 */
static void
start_polling(struct daemon *d)
{
    struct fstype_remote *r = NULL;
    size_t n = fstype_remote_scan(d->cfg->root, &r);
    char buf[32];
    const char *interval = interval_text(d, buf, sizeof(buf));

    for (size_t i = 0; i < n; i++) {
        log_kv(LOG_INFO,
               "network filesystem: inotify does not see writes made by other hosts; polling it",
               "path", r[i].path, "fstype", r[i].fstype, "interval_s", interval);
    }
    if (d->cfg->poll) {
        log_kv(LOG_INFO, "polling the tree (--poll)", "root", d->cfg->root, "interval_s", interval);
    }
    if (n > 0 || d->cfg->poll) {
        d->polling = true;
        arm_rescan_timer(d); /* the option's range keeps the interval above zero */
    }
    fstype_remote_free(r, n);
}

static void
on_limit(void *arg, const char *rel_dir)
{
    struct daemon *d = arg;

    (void)rel_dir; /* the watcher logged the one clear error, with the sysctl to raise */
    if (!d->unwatched) {
        d->unwatched = true;
        arm_rescan_timer(d);
        char buf[32];
        log_kv(LOG_WARN, "falling back to periodic rescans for unwatched directories", "interval_s",
               interval_text(d, buf, sizeof(buf)));
    }
}

/* ---- volumes that go away: an empty tree is not a deleted tree -------------------------- */

static long check_timer_cb(struct loop *l, long long id, void *arg);

/* Periodic checks (--rescan-interval) while a volume is away or the tree looks missing. */
static void
check_arm(struct daemon *d)
{
    arm_interval(d, &d->check_timer, check_timer_cb);
}

static bool
root_away(const struct daemon *d)
{
    return d->naway > 0 && d->away[0].rel[0] == '\0';
}

/* The device at ROOT/rel now; 0 when nothing is there. */
static dev_t
device_at(const struct daemon *d, const char *rel)
{
    struct strbuf path = STRBUF_INIT;
    struct stat st;
    dev_t dev = 0;

    strbuf_addstr(&path, d->cfg->root);
    if (*rel != '\0') {
        strbuf_addf(&path, "/%s", rel);
    }
    if (stat(path.buf, &st) == 0 && S_ISDIR(st.st_mode)) {
        dev = st.st_dev;
    }
    strbuf_release(&path);
    return dev;
}

/* Tell the engine which courses to leave alone: the first component of each away path. */
static void
away_apply(struct daemon *d)
{
    const char **courses = xcalloc(d->naway ? d->naway : 1, sizeof(char *));
    char **owned = xcalloc(d->naway ? d->naway : 1, sizeof(char *));
    size_t n = 0;

    for (size_t i = 0; i < d->naway; i++) {
        if (d->away[i].rel[0] != '\0') {
            owned[n] = xstrndup(d->away[i].rel, strcspn(d->away[i].rel, "/"));
            courses[n] = owned[n];
            n++;
        }
    }
    engine_set_away(d->engine, courses, n);
    for (size_t i = 0; i < n; i++) {
        free(owned[i]);
    }
    free(owned);
    free(courses);
}

static bool
under(const char *rel, const char *prefix)
{
    size_t n = strlen(prefix);

    return n == 0 || (strncmp(rel, prefix, n) == 0 && (rel[n] == '\0' || rel[n] == '/'));
}

static void
on_unmounted(void *arg, const char *rel_dir)
{
    struct daemon *d = arg;
    size_t k = 0;

    for (size_t i = 0; i < d->naway; i++) {
        if (under(rel_dir, d->away[i].rel)) {
            return; /* a directory of a volume already away */
        }
    }
    for (size_t i = 0; i < d->naway; i++) { /* an outer volume covers inner ones */
        if (under(d->away[i].rel, rel_dir)) {
            free(d->away[i].rel);
        } else {
            d->away[k++] = d->away[i];
        }
    }
    d->away = xrealloc(d->away, (k + 1) * sizeof(*d->away));
    d->away[k] = (struct away){xstrdup(rel_dir), device_at(d, rel_dir)};
    d->naway = k + 1;
    if (*rel_dir == '\0' && d->naway > 1) { /* the root first: root_away looks there */
        struct away t = d->away[0];
        d->away[0] = d->away[k];
        d->away[k] = t;
    }
    char buf[32];
    log_kv(LOG_WARN,
           "a volume was unmounted: nothing below it is deleted; checking until it is back", "path",
           *rel_dir != '\0' ? rel_dir : d->cfg->root, "interval_s",
           interval_text(d, buf, sizeof(buf)));
    away_apply(d);
    check_arm(d);
}

static long
check_timer_cb(struct loop *l, long long id, void *arg)
{
    struct daemon *d = arg;
    size_t k = 0;
    bool back = false;

    (void)l;
    (void)id;
    for (size_t i = 0; i < d->naway; i++) {
        dev_t now = device_at(d, d->away[i].rel);
        if (now != 0 && now != d->away[i].dev) {
            log_kv(LOG_INFO, "the volume is back; rescanning", "path",
                   d->away[i].rel[0] != '\0' ? d->away[i].rel : d->cfg->root);
            free(d->away[i].rel);
            back = true;
        } else {
            log_kv(LOG_DEBUG, "the volume is still away", "path",
                   d->away[i].rel[0] != '\0' ? d->away[i].rel : d->cfg->root);
            d->away[k++] = d->away[i];
        }
    }
    d->naway = k;
    if (back) {
        away_apply(d);
    }
    if (back || d->tree_refused) {
        d->rewatch = true; /* the watches were on the volume that left, or on what was left */
        d->rescan = true;
    }
    if (d->naway == 0 && !d->tree_refused) {
        d->check_timer = 0;
        return -1;
    }
    return d->cfg->rescan_interval_s * 1000;
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
static void touch_source(struct daemon *d);

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
    metrics_gauge(d->metrics, METRIC_DB_UP, 0);
    pg_disconnect(d->pg);
    bulk_reset(d->engine); /* a big course in parts starts over once it is back */
    if (d->pg_bulk != NULL) {
        pg_disconnect(d->pg_bulk);
    }
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
    metrics_gauge(d->metrics, METRIC_DB_UP, 1);
    d->retry_ms = 0;
    /* What happened while it was away is in the queue, unless the queue overflowed. */
    if (queue_rescan_needed(d->queue)) {
        d->rescan = true;
    }
    touch_source(d); /* a sync time that waited for the database */
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

static long touch_timer_cb(struct loop *l, long long id, void *arg);

/*
 * Record the source's last sync time (`status`: "last sync that wrote") when rows were
 * written since it was last recorded: at once, or TOUCH_INTERVAL_MS after the previous
 * time (a timer, armed only while a time waits). While the database is away it waits for
 * the next batch that commits.
 */
static void
touch_source(struct daemon *d)
{
    long long now = clock_ms();
    struct err err;

    if (!d->touch_pending || !d->db_up || d->pg == NULL || d->cfg->dry_run) {
        return;
    }
    if (d->last_touch != 0 && now - d->last_touch < TOUCH_INTERVAL_MS) {
        if (d->touch_timer == 0) {
            d->touch_timer = loop_add_timer(
                d->loop, (long)(d->last_touch + TOUCH_INTERVAL_MS - now), touch_timer_cb, d);
        }
        return;
    }
    struct sync_ctx ctx = {.pg = d->pg, .source = engine_source(d->engine), .root = d->cfg->root};
    if (sync_touch_source(&ctx, &err) != 0) {
        log_kv(LOG_WARN, "cannot record the sync time", "error", err.msg);
        return;
    }
    d->touch_pending = false;
    d->last_touch = now;
}

static long
touch_timer_cb(struct loop *l, long long id, void *arg)
{
    struct daemon *d = arg;

    (void)l;
    (void)id;
    d->touch_timer = 0;
    touch_source(d);
    return -1;
}

/*
 * What a sync call did: totals, metrics, the last rejection. The engine's list of
 * rejections is the call's own (cleared before each), so it never fills up and stops
 * recording on a daemon that runs for months.
 */
static void
account(struct daemon *d, const struct engine_stats *st, enum pg_errclass cls)
{
    const char *rej = engine_rejections(d->engine);
    size_t len = strlen(rej);

    d->total.synced += st->synced;
    d->total.rejected += st->rejected;
    d->total.deleted += st->deleted;
    metrics_count(d->metrics, METRIC_SYNCED, st->synced);
    metrics_count(d->metrics, METRIC_REJECTED, st->rejected);
    metrics_count(d->metrics, METRIC_DELETED, st->deleted);
    metrics_count(d->metrics, METRIC_ADOPTED, st->adopted);
    if (len > 0) {
        /* the last line, without its newline */
        size_t end = rej[len - 1] == '\n' ? len - 1 : len;
        size_t start = end;
        while (start > 0 && rej[start - 1] != '\n') {
            start--;
        }
        snprintf(d->last_rejected, sizeof(d->last_rejected), "%.*s", (int)(end - start),
                 rej + start);
    }
    if (cls == PG_OK) {
        metrics_sync_ok(d->metrics);
        if (st->rows > 0) {
            d->touch_pending = true;
        }
        touch_source(d);
    }
}

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

    /* a periodic poll that finds nothing is not news: it logs at debug */
    enum log_level level = d->poll_due && d->polling ? LOG_DEBUG : LOG_INFO;

    queue_clear_rescan(d->queue);
    d->rescan = false;
    d->poll_due = false;
    d->last_overflow_rescan = clock_ms();
    log_kv(level, "rescan", "overflows", d->overflows > 0 ? "yes" : NULL);
    engine_clear_rejections(d->engine);
    enum pg_errclass cls = reconcile_tree(d->engine, &st, reconcile_progress, d, &err);
    if (cls == PG_OK) {
        metrics_reconcile(d->metrics, clock_ms() - d->last_overflow_rescan);
    }
    account(d, &st, cls);
    snprintf(files, sizeof(files), "%ld", st.seen);
    if (cls == PG_OK && st.refused > 0) {
        /* An empty tree is not a deleted tree: keep every row, look again periodically. */
        if (!d->tree_refused) {
            char buf[32];
            log_kv(LOG_ERROR, "reconcile refused; keeping every row and checking again", "error",
                   err.msg, "interval_s", interval_text(d, buf, sizeof(buf)));
            d->tree_refused = true;
        }
        check_arm(d);
        return;
    }
    if (cls == PG_OK && d->tree_refused) {
        log_kv(LOG_INFO, "the tree is back", "root", d->cfg->root);
        d->tree_refused = false;
    }
    if (cls == PG_OK) {
        char synced[32];
        snprintf(synced, sizeof(synced), "%ld", st.synced);
        log_kv(st.synced > 0 || st.deleted > 0 ? LOG_INFO : level, "rescan done", "files", files,
               "synced", synced);
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
    if (d->rewatch) {
        struct err err;
        d->rewatch = false;
        if (watch_start(d->watch, &err) != 0) {
            /* said once; the periodic checks go on quietly until it can be watched */
            log_kv(d->rewatch_failed ? LOG_DEBUG : LOG_WARN, "cannot watch the root yet", "root",
                   d->cfg->root, "error", err.msg);
            d->rewatch_failed = true;
        } else {
            d->rewatch_failed = false;
        }
    }
    if (root_away(d)) {
        return; /* nothing to judge until the volume is back (the paths wait in the queue) */
    }
    if (d->rescan || queue_rescan_needed(d->queue)) {
        do_rescan(d);
        if (!d->db_up) {
            return;
        }
    }
    n = queue_take_due(d->queue, clock_ms(), &items);
    if (n > 0) {
        const char **paths = xmalloc(n * sizeof(char *));
        bool *subtree = xmalloc(n * sizeof(bool));
        struct engine_stats st = {0};
        struct err err;
        for (size_t i = 0; i < n; i++) {
            paths[i] = items[i].path;
            subtree[i] = items[i].subtree;
        }
        engine_clear_rejections(d->engine);
        enum pg_errclass cls = paths_sync(d->engine, paths, subtree, n, &st, &err);
        account(d, &st, cls);
        if (cls != PG_OK) {
            /* nothing of this batch is lost: the paths wait for the database */
            queue_requeue(d->queue, items, n, clock_ms());
        }
        after_sync(d, cls, &err);
        free(paths);
        free(subtree);
        queue_items_free(items, n);
        notify_status(d);
    }
}

/* A timer that only wakes the loop: arg is where its id is kept, cleared as it fires; the
 * work (a bulk step, a flush) runs in the before-sleep hook that follows. */
static long
wake_timer_cb(struct loop *l, long long id, void *arg)
{
    long long *slot = arg;

    (void)l;
    (void)id;
    *slot = 0;
    return -1;
}

/*
 * Big courses: one step at a time through the second connection, between the flushes of
 * everything else, so that a course written in parts for a minute never holds up the
 * others. A step looks at one file, sends a part, or sees whether the server answered.
 */
static void
do_bulk_step(struct daemon *d)
{
    struct engine_stats st = {0};
    struct err err;
    bool more = false;

    if (!d->db_up || root_away(d) || !bulk_busy(d->engine)) {
        return;
    }
    enum pg_errclass cls = bulk_step(d->engine, &st, &more, &err);
    d->total.synced += st.synced;
    d->total.rejected += st.rejected;
    d->total.deleted += st.deleted;
    after_sync(d, cls, &err);
    if (d->db_up && bulk_busy(d->engine) && d->bulk_timer == 0) {
        d->bulk_timer =
            loop_add_timer(d->loop, more ? 0 : BULK_POLL_MS, wake_timer_cb, &d->bulk_timer);
    }
}

static void
before_sleep(struct loop *l, void *arg)
{
    struct daemon *d = arg;

    (void)l;
    flush(d);
    do_bulk_step(d);
    /* Idle means idle: a timer only while a settling path is waiting. */
    if (d->settle_timer != 0) {
        loop_del_timer(d->loop, d->settle_timer);
        d->settle_timer = 0;
    }
    long due = d->db_up ? queue_next_due_ms(d->queue, clock_ms()) : -1;
    if (due >= 0) {
        d->settle_timer =
            loop_add_timer(d->loop, due > 0 ? due : 1, wake_timer_cb, &d->settle_timer);
    }
    metrics_gauge(d->metrics, METRIC_QUEUE_DEPTH, (long)queue_len(d->queue));
    metrics_gauge(d->metrics, METRIC_WATCHES, (long)watch_count(d->watch));
}

/* ---- signals ------------------------------------------------------------------------------- */

static void
on_stop_signal(struct loop *l, int signo, void *arg)
{
    (void)arg;
    log_kv(LOG_INFO, "stopping", "signal", signo == SIGTERM ? "SIGTERM" : "SIGINT");
    sdnotify_send("STOPPING=1");
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
    sdnotify_send("WATCHDOG=1");
    d->last_watchdog = clock_ms();
    return d->watchdog_ms;
}

int
cmd_watch(const struct config *cfg)
{
    static const struct watch_ops ops = {on_file_ready,   on_file_settle, on_file_settle,
                                         on_subtree_gone, on_overflow,    on_limit,
                                         on_unmounted};
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
    if (cfg->metrics_file != NULL) {
        d.metrics = metrics_create(cfg->metrics_file, d.loop, &err);
        if (d.metrics == NULL) {
            log_kv(LOG_ERROR, "cannot start", "error", err.msg);
            rc = 2;
            goto out;
        }
    }
    d.watchdog_ms = sdnotify_watchdog_ms() / 2;
    d.queue = queue_create((size_t)cfg->queue_limit, cfg->settle_ms);
    if (!cfg->dry_run || cfg->db_url != NULL) {
        d.pg = cmd_pg_create(cfg, false);
        d.pg_bulk = cmd_pg_create(cfg, false); /* connects once a big course comes */
    }
    cmd_engine_opts(cfg, d.pg, &eo);
    eo.pg_bulk = d.pg_bulk;
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
    metrics_gauge(d.metrics, METRIC_WATCHES, (long)watch_count(d.watch));
    log_kv(LOG_INFO, "watching", "root", cfg->root, "directories", ndirs, "source",
           engine_source(d.engine), "dry_run", cfg->dry_run ? "true" : NULL);
    start_polling(&d);
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
    sdnotify_send("READY=1");
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
    metrics_destroy(d.metrics);
    watch_destroy(d.watch);
    engine_destroy(d.engine);
    queue_destroy(d.queue);
    pg_destroy(d.pg);
    pg_destroy(d.pg_bulk);
    for (size_t i = 0; i < d.naway; i++) {
        free(d.away[i].rel);
    }
    free(d.away);
    loop_destroy(d.loop);
    free(d.problem);
    return rc;
}
