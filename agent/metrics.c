/* metrics.c -- the daemon's counters and gauges, as a Prometheus textfile for node_exporter. */
#include "agent/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/log.h"
#include "common/clock.h"
#include "common/strbuf.h"

#define PREFIX "creatoros_agent_"
#define RETRY_MS 10000 /* a failed write is tried again this much later */

struct metrics {
    char *path;
    char *tmpl; /* DIR/.NAME.XXXXXX: hidden, and not *.prom, so the collector skips it */
    struct loop *loop;
    long counters[METRIC_NCOUNTERS];
    long gauges[METRIC_NGAUGES];
    double start_time;     /* wall clock, s */
    double last_sync;      /* wall clock, s; 0 never */
    long reconcile_count;  /* whole-tree reconciles */
    double reconcile_sum;  /* s */
    double reconcile_last; /* s */
    bool dirty;            /* a value changed since the last write */
    bool failing;          /* the last write failed (logged once, until one works again) */
    long long timer;       /* the pending write, 0: none */
    long long last_write_ms;
    long writes;
};

static const struct {
    const char *name;
    const char *help;
} counter_desc[METRIC_NCOUNTERS] = {
    [METRIC_SYNCED] = {"files_synced_total", "Files whose rows were written (new or changed)."},
    [METRIC_REJECTED] = {"files_rejected_total",
                         "Files rejected by the parser or the database (listed by status)."},
    [METRIC_DELETED] = {"files_deleted_total",
                        "Files gone from the tree, their rows soft-deleted."},
    [METRIC_ADOPTED] = {"files_adopted_total",
                        "Rows written by the original persister that a file adopted."},
    [METRIC_OVERFLOWS] = {"inotify_overflows_total",
                          "Kernel event queue overflows (each one costs a rescan)."},
};

static const struct {
    const char *name;
    const char *help;
} gauge_desc[METRIC_NGAUGES] = {
    [METRIC_QUEUE_DEPTH] = {"queue_depth", "Changed paths waiting to be synced."},
    [METRIC_WATCHES] = {"inotify_watches", "inotify watches in use (one per directory)."},
    [METRIC_DB_UP] = {"database_up", "1 when the database is reachable, 0 while retrying."},
};

static double
wall_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
render(const struct metrics *m, struct strbuf *sb)
{
    for (int i = 0; i < METRIC_NCOUNTERS; i++) {
        strbuf_addf(sb, "# HELP " PREFIX "%s %s\n# TYPE " PREFIX "%s counter\n" PREFIX "%s %ld\n",
                    counter_desc[i].name, counter_desc[i].help, counter_desc[i].name,
                    counter_desc[i].name, m->counters[i]);
    }
    for (int i = 0; i < METRIC_NGAUGES; i++) {
        strbuf_addf(sb, "# HELP " PREFIX "%s %s\n# TYPE " PREFIX "%s gauge\n" PREFIX "%s %ld\n",
                    gauge_desc[i].name, gauge_desc[i].help, gauge_desc[i].name, gauge_desc[i].name,
                    m->gauges[i]);
    }
    strbuf_addf(sb,
                "# HELP " PREFIX "last_sync_timestamp_seconds When a batch or a reconcile last "
                "committed (0: not yet).\n"
                "# TYPE " PREFIX "last_sync_timestamp_seconds gauge\n" PREFIX
                "last_sync_timestamp_seconds %.3f\n",
                m->last_sync);
    strbuf_addf(sb,
                "# HELP " PREFIX "reconcile_duration_seconds Whole-tree reconciles (start, "
                "overflow, rescans) and their duration.\n"
                "# TYPE " PREFIX "reconcile_duration_seconds summary\n" PREFIX
                "reconcile_duration_seconds_sum %.3f\n" PREFIX
                "reconcile_duration_seconds_count %ld\n",
                m->reconcile_sum, m->reconcile_count);
    strbuf_addf(sb,
                "# HELP " PREFIX "last_reconcile_duration_seconds Duration of the last "
                "whole-tree reconcile.\n"
                "# TYPE " PREFIX "last_reconcile_duration_seconds gauge\n" PREFIX
                "last_reconcile_duration_seconds %.3f\n",
                m->reconcile_last);
    strbuf_addf(sb,
                "# HELP " PREFIX "start_time_seconds When the daemon started (wall clock).\n"
                "# TYPE " PREFIX "start_time_seconds gauge\n" PREFIX "start_time_seconds %.3f\n",
                m->start_time);
    strbuf_addf(sb,
                "# HELP " PREFIX "info The agent's version.\n# TYPE " PREFIX "info gauge\n" PREFIX
                "info{version=\"%s\"} 1\n",
                CO_VERSION);
}

/* Write the whole file to a temporary beside it, then rename it over the path. */
static int
write_file(struct metrics *m, struct err *err)
{
    struct strbuf sb = STRBUF_INIT;
    char *tmp = xstrdup(m->tmpl);
    int fd = -1, rc = -1;

    render(m, &sb);
    fd = mkstemp(tmp);
    if (fd < 0) {
        err_set(err, "--metrics-file %s: cannot create a file beside it: %s", m->path,
                strerror(errno));
        goto out;
    }
    /* mkstemp makes 0600; node_exporter runs as its own user */
    if (fchmod(fd, 0644) != 0) {
        err_set(err, "--metrics-file %s: chmod: %s", m->path, strerror(errno));
        goto out;
    }
    for (size_t off = 0; off < sb.len;) {
        ssize_t n = write(fd, sb.buf + off, sb.len - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            err_set(err, "--metrics-file %s: write: %s", m->path, strerror(errno));
            goto out;
        }
        off += (size_t)n;
    }
    if (close(fd) != 0) {
        fd = -1;
        err_set(err, "--metrics-file %s: close: %s", m->path, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, m->path) != 0) {
        err_set(err, "--metrics-file %s: rename: %s", m->path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0) {
        close(fd);
    }
    if (rc != 0 && access(tmp, F_OK) == 0) {
        unlink(tmp);
    }
    free(tmp);
    strbuf_release(&sb);
    return rc;
}

int
metrics_flush(struct metrics *m, struct err *err)
{
    if (m == NULL || !m->dirty) {
        return 0;
    }
    if (write_file(m, err) != 0) {
        return -1;
    }
    m->dirty = false;
    m->last_write_ms = clock_ms();
    m->writes++;
    return 0;
}

static long
write_timer_cb(struct loop *l, long long id, void *arg)
{
    struct metrics *m = arg;
    struct err err;

    (void)l;
    (void)id;
    if (metrics_flush(m, &err) != 0) {
        if (!m->failing) {
            log_kv(LOG_WARN, "cannot write the metrics file; retrying", "error", err.msg);
            m->failing = true;
        }
        return RETRY_MS;
    }
    if (m->failing) {
        log_kv(LOG_INFO, "metrics file written again", "path", m->path);
        m->failing = false;
    }
    m->timer = 0;
    return -1;
}

/* A value changed: write it once the interval since the last write has passed. */
static void
changed(struct metrics *m)
{
    m->dirty = true;
    if (m->timer != 0 || m->loop == NULL) {
        return;
    }
    long long wait = m->last_write_ms + METRICS_MIN_INTERVAL_MS - clock_ms();
    m->timer = loop_add_timer(m->loop, wait > 0 ? (long)wait : 0, write_timer_cb, m);
}

struct metrics *
metrics_create(const char *path, struct loop *loop, struct err *err)
{
    struct metrics *m = xcalloc(1, sizeof(*m));
    const char *slash = strrchr(path, '/');
    struct strbuf t = STRBUF_INIT;

    m->path = xstrdup(path);
    if (slash != NULL) {
        strbuf_add(&t, path, (size_t)(slash - path) + 1);
    }
    strbuf_addf(&t, ".%s.XXXXXX", slash != NULL ? slash + 1 : path);
    m->tmpl = strbuf_detach(&t, NULL);
    m->loop = loop;
    m->start_time = wall_now();
    m->dirty = true;
    if (metrics_flush(m, err) != 0) {
        metrics_destroy(m);
        return NULL;
    }
    return m;
}

void
metrics_destroy(struct metrics *m)
{
    struct err err;

    if (m == NULL) {
        return;
    }
    if (m->timer != 0 && m->loop != NULL) {
        loop_del_timer(m->loop, m->timer);
    }
    if (m->writes > 0 && metrics_flush(m, &err) != 0) {
        log_kv(LOG_WARN, "cannot write the metrics file", "error", err.msg);
    }
    free(m->path);
    free(m->tmpl);
    free(m);
}

void
metrics_count(struct metrics *m, enum metric_counter c, long n)
{
    if (m == NULL || n <= 0) {
        return;
    }
    m->counters[c] += n;
    changed(m);
}

void
metrics_gauge(struct metrics *m, enum metric_gauge g, long v)
{
    if (m == NULL || m->gauges[g] == v) {
        return;
    }
    m->gauges[g] = v;
    changed(m);
}

void
metrics_sync_ok(struct metrics *m)
{
    if (m == NULL) {
        return;
    }
    m->last_sync = wall_now();
    changed(m);
}

void
metrics_reconcile(struct metrics *m, long long ms)
{
    if (m == NULL) {
        return;
    }
    m->reconcile_count++;
    m->reconcile_last = (double)ms / 1000.0;
    m->reconcile_sum += m->reconcile_last;
    changed(m);
}

long
metrics_writes(const struct metrics *m)
{
    return m != NULL ? m->writes : 0;
}
