/* metrics.h -- the daemon's counters and gauges, as a Prometheus textfile for node_exporter. */
#ifndef CO_METRICS_H
#define CO_METRICS_H

#include "agent/loop.h"
#include "common/err.h"

/*
 * The file is written whole to a temporary file in the same directory and renamed over
 * PATH, so node_exporter's textfile collector never reads half of it; at most once a second
 * (a timer of the loop, armed only while a change waits) and only when a value changed, so
 * an idle daemon stays idle. Every function accepts a NULL struct metrics and does nothing:
 * the daemon calls them whether or not --metrics-file was given.
 */
struct metrics;

/* Counters (only ever grow; *_total in the file). */
enum metric_counter {
    METRIC_SYNCED,    /* files whose rows were written */
    METRIC_REJECTED,  /* files rejected (parser or database) */
    METRIC_DELETED,   /* files gone, their rows soft-deleted */
    METRIC_ADOPTED,   /* rows of the original persister adopted by a file (0 until counted) */
    METRIC_OVERFLOWS, /* kernel event queue overflows */
    METRIC_NCOUNTERS,
};

/* Gauges (the value now). */
enum metric_gauge {
    METRIC_QUEUE_DEPTH, /* dirty paths waiting for the database */
    METRIC_WATCHES,     /* inotify watches in use (one per directory) */
    METRIC_DB_UP,       /* 1 connected and state loaded, 0 retrying */
    METRIC_NGAUGES,
};

/* Writes at most this often (ms). */
#define METRICS_MIN_INTERVAL_MS 1000

/*
 * Create the metrics of a daemon running on loop, written to path; writes the file once
 * at once, so a path that cannot be written is refused at start. Returns the object (free
 * with metrics_destroy) or NULL with err naming the path and the reason.
 */
struct metrics *metrics_create(const char *path, struct loop *loop, struct err *err);
/* Write what changed since the last write (now, whatever the interval) and free. NULL ok. */
void metrics_destroy(struct metrics *m);

/* Add n to a counter. */
void metrics_count(struct metrics *m, enum metric_counter c, long n);
/* Set a gauge. */
void metrics_gauge(struct metrics *m, enum metric_gauge g, long v);
/* A batch or a reconcile committed: the last successful sync is now (wall clock). */
void metrics_sync_ok(struct metrics *m);
/* A whole-tree reconcile took ms milliseconds (a summary: count, sum, and the last one). */
void metrics_reconcile(struct metrics *m, long long ms);

/* Write the file now if something changed. Returns 0, or -1 with err (the change is kept
 * and written with the next one). */
int metrics_flush(struct metrics *m, struct err *err);
/* How many times the file was written (for tests and the daemon's log). */
long metrics_writes(const struct metrics *m);

#endif
