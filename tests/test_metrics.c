/* test_metrics.c -- the Prometheus textfile: content, atomic replacement, at most once a second,
 * nothing written (and no timer armed) while nothing changes. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "agent/loop.h"
#include "agent/metrics.h"
#include "testutil.h"

struct fixture {
    char *dir;
    char *path;
    struct loop *loop;
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct err err;

    f->dir = tu_mkdtemp("co-metrics");
    f->path = malloc(strlen(f->dir) + 32);
    sprintf(f->path, "%s/creatoros-agent.prom", f->dir);
    f->loop = loop_create(&err);
    assert_non_null(f->loop);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    loop_destroy(f->loop);
    tu_rmtree(f->dir);
    free(f->path);
    free(f->dir);
    free(f);
    return 0;
}

/* The file holds line (a whole line). */
static bool
file_has_line(const char *path, const char *line)
{
    char *text = tu_read(path, NULL);
    bool found = false;

    if (text == NULL) {
        return false;
    }
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++) {
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0')) {
            found = true;
            break;
        }
    }
    free(text);
    return found;
}

/* Run the loop until the file holds line or timeout_ms passes. */
static bool
run_until_line(struct loop *l, const char *path, const char *line, long timeout_ms)
{
    long long deadline = tu_now_ms() + timeout_ms;

    while (!file_has_line(path, line)) {
        if (tu_now_ms() >= deadline) {
            return false;
        }
        loop_run_once(l, 20);
    }
    return true;
}

/* Entries of dir other than "." and "..". */
static int
count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    }
    closedir(d);
    return n;
}

static void
test_content(void **state)
{
    struct fixture *f = *state;
    struct err err;
    struct metrics *m = metrics_create(f->path, f->loop, &err);
    static const char *const series[] = {
        "creatoros_agent_files_synced_total 0",
        "creatoros_agent_files_rejected_total 0",
        "creatoros_agent_files_deleted_total 0",
        "creatoros_agent_files_adopted_total 0",
        "creatoros_agent_inotify_overflows_total 0",
        "creatoros_agent_queue_depth 0",
        "creatoros_agent_inotify_watches 0",
        "creatoros_agent_database_up 0",
        "creatoros_agent_last_sync_timestamp_seconds 0.000",
        "creatoros_agent_reconcile_duration_seconds_count 0",
        "# TYPE creatoros_agent_files_synced_total counter",
        "# TYPE creatoros_agent_queue_depth gauge",
        "# TYPE creatoros_agent_reconcile_duration_seconds summary",
    };

    assert_non_null(m);
    /* written at once, before anything happened */
    for (size_t i = 0; i < sizeof(series) / sizeof(series[0]); i++) {
        if (!file_has_line(f->path, series[i])) {
            fail_msg("no line \"%s\" in the first file", series[i]);
        }
    }
    metrics_count(m, METRIC_SYNCED, 3);
    metrics_count(m, METRIC_REJECTED, 1);
    metrics_count(m, METRIC_DELETED, 2);
    metrics_count(m, METRIC_OVERFLOWS, 1);
    metrics_gauge(m, METRIC_QUEUE_DEPTH, 7);
    metrics_gauge(m, METRIC_WATCHES, 12);
    metrics_gauge(m, METRIC_DB_UP, 1);
    metrics_reconcile(m, 1500);
    metrics_reconcile(m, 500);
    metrics_sync_ok(m);
    assert_true(run_until_line(f->loop, f->path, "creatoros_agent_files_synced_total 3", 5000));
    assert_true(file_has_line(f->path, "creatoros_agent_files_rejected_total 1"));
    assert_true(file_has_line(f->path, "creatoros_agent_files_deleted_total 2"));
    assert_true(file_has_line(f->path, "creatoros_agent_inotify_overflows_total 1"));
    assert_true(file_has_line(f->path, "creatoros_agent_queue_depth 7"));
    assert_true(file_has_line(f->path, "creatoros_agent_inotify_watches 12"));
    assert_true(file_has_line(f->path, "creatoros_agent_database_up 1"));
    assert_true(file_has_line(f->path, "creatoros_agent_reconcile_duration_seconds_count 2"));
    assert_true(file_has_line(f->path, "creatoros_agent_reconcile_duration_seconds_sum 2.000"));
    assert_true(file_has_line(f->path, "creatoros_agent_last_reconcile_duration_seconds 0.500"));
    assert_false(file_has_line(f->path, "creatoros_agent_last_sync_timestamp_seconds 0.000"));
    /* nothing beside the file: the temporary was renamed over it */
    assert_int_equal(count_entries(f->dir), 1);
    metrics_destroy(m);
}

static void
test_replaced_atomically(void **state)
{
    struct fixture *f = *state;
    struct err err;
    struct stat a, b;
    struct metrics *m = metrics_create(f->path, f->loop, &err);

    assert_non_null(m);
    assert_int_equal(stat(f->path, &a), 0);
    assert_int_equal(a.st_mode & 0777, 0644); /* node_exporter runs as another user */
    metrics_count(m, METRIC_SYNCED, 1);
    assert_true(run_until_line(f->loop, f->path, "creatoros_agent_files_synced_total 1", 5000));
    assert_int_equal(stat(f->path, &b), 0);
    /* a new inode: the reader holds either the old file or the new one, never half */
    assert_true(a.st_ino != b.st_ino);
    metrics_destroy(m);
}

static void
test_at_most_once_a_second(void **state)
{
    struct fixture *f = *state;
    struct err err;
    struct metrics *m = metrics_create(f->path, f->loop, &err);
    long long t0 = tu_now_ms();
    long n = 0;

    assert_non_null(m);
    assert_int_equal(metrics_writes(m), 1);
    /* a change every few ms for 1.5 s */
    while (tu_now_ms() - t0 < 1500) {
        metrics_count(m, METRIC_SYNCED, 1);
        n++;
        loop_run_once(f->loop, 5);
    }
    long long elapsed = tu_now_ms() - t0;
    long writes = metrics_writes(m);
    /* the first write, then at most one per started second */
    if (writes > 2 + elapsed / METRICS_MIN_INTERVAL_MS) {
        fail_msg("%ld writes in %lld ms", writes, elapsed);
    }
    char last[96];
    snprintf(last, sizeof(last), "creatoros_agent_files_synced_total %ld", n);
    /* the last change is written too, in its turn */
    assert_true(run_until_line(f->loop, f->path, last, 5000));
    /* then nothing changes (a gauge set to the value it has is no change): no write, and no
     * timer left armed */
    long before = metrics_writes(m);
    metrics_gauge(m, METRIC_QUEUE_DEPTH, 0);
    long long t1 = tu_now_ms();
    while (tu_now_ms() - t1 < 1200) {
        loop_run_once(f->loop, 50);
    }
    assert_int_equal(metrics_writes(m), before);
    assert_false(loop_timer_armed(f->loop));
    metrics_destroy(m);
}

static void
test_bad_path_refused(void **state)
{
    struct fixture *f = *state;
    struct err err;
    char path[512];

    snprintf(path, sizeof(path), "%s/no-such-dir/agent.prom", f->dir);
    assert_null(metrics_create(path, f->loop, &err));
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "No such file or directory"));
    /* every call accepts NULL */
    metrics_count(NULL, METRIC_SYNCED, 1);
    metrics_gauge(NULL, METRIC_DB_UP, 1);
    metrics_sync_ok(NULL);
    metrics_reconcile(NULL, 1);
    assert_int_equal(metrics_flush(NULL, &err), 0);
    metrics_destroy(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_content, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replaced_atomically, setup, teardown),
        cmocka_unit_test_setup_teardown(test_at_most_once_a_second, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_path_refused, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
