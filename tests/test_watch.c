/* test_watch.c -- the event layer on a real inotify and tree: loop, watcher, queue of dirty paths.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/log.h"
#include "agent/loop.h"
#include "agent/queue.h"
#include "agent/watch.h"
#include "common/strbuf.h"
#include "tests/testutil.h"

#define WAIT_MS 5000 /* a deadline, not a sleep: conditions usually hold within a few ms */

/* --- what the callbacks saw --- */

struct list {
    char **v;
    size_t n, cap;
};

static void
list_add(struct list *ls, const char *s)
{
    if (ls->n == ls->cap) {
        ls->cap = ls->cap == 0 ? 16 : ls->cap * 2;
        ls->v = xrealloc(ls->v, ls->cap * sizeof(*ls->v));
    }
    ls->v[ls->n++] = xstrdup(s);
}

static void
list_clear(struct list *ls)
{
    for (size_t i = 0; i < ls->n; i++) {
        free(ls->v[i]);
    }
    free(ls->v);
    memset(ls, 0, sizeof(*ls));
}

static size_t
list_count(const struct list *ls, const char *s)
{
    size_t c = 0;

    for (size_t i = 0; i < ls->n; i++) {
        c += strcmp(ls->v[i], s) == 0;
    }
    return c;
}

/* Does any entry contain needle? */
static bool
list_any(const struct list *ls, const char *needle)
{
    for (size_t i = 0; i < ls->n; i++) {
        if (strstr(ls->v[i], needle) != NULL) {
            return true;
        }
    }
    return false;
}

struct rec {
    struct list ready, modified, removed, gone, limit, unmounted;
    int overflows;
};

static void
rec_clear(struct rec *r)
{
    list_clear(&r->ready);
    list_clear(&r->modified);
    list_clear(&r->removed);
    list_clear(&r->gone);
    list_clear(&r->limit);
    list_clear(&r->unmounted);
    r->overflows = 0;
}

static void
on_ready(void *arg, const char *rel)
{
    list_add(&((struct rec *)arg)->ready, rel);
}

static void
on_modified(void *arg, const char *rel)
{
    list_add(&((struct rec *)arg)->modified, rel);
}

static void
on_removed(void *arg, const char *rel)
{
    list_add(&((struct rec *)arg)->removed, rel);
}

static void
on_gone(void *arg, const char *rel)
{
    list_add(&((struct rec *)arg)->gone, rel);
}

static void
on_overflow(void *arg)
{
    ((struct rec *)arg)->overflows++;
}

static void
on_limit(void *arg, const char *rel)
{
    list_add(&((struct rec *)arg)->limit, rel);
}

static void
on_unmounted(void *arg, const char *rel)
{
    list_add(&((struct rec *)arg)->unmounted, rel);
}

static const struct watch_ops rec_ops = {on_ready,    on_removed, on_modified, on_gone,
                                         on_overflow, on_limit,   on_unmounted};

/* --- a watched temp tree driven by a loop --- */

struct fx {
    char *dir;
    struct loop *l;
    struct watch *w;
    struct rec r;
    int sentinels;
};

static void
inotify_cb(struct loop *l, int fd, uint32_t events, void *arg)
{
    (void)l;
    (void)fd;
    (void)events;
    watch_process(arg);
}

static struct fx *
fx_new(void)
{
    struct fx *f = xcalloc(1, sizeof(*f));

    f->dir = tu_mkdtemp("test_watch");
    f->l = loop_create(NULL);
    assert_non_null(f->l);
    return f;
}

/* Create and start the watcher on f->dir, its fd in the loop. */
static void
fx_watch(struct fx *f)
{
    struct err err;

    f->w = watch_create(f->dir, &rec_ops, &f->r, &err);
    assert_non_null(f->w);
    assert_int_equal(watch_start(f->w, &err), 0);
    assert_int_equal(loop_add_fd(f->l, watch_fd(f->w), EPOLLIN, inotify_cb, f->w, &err), 0);
}

static int
setup(void **state)
{
    struct fx *f = fx_new();

    fx_watch(f);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    if (f == NULL) {
        return 0;
    }
    watch_destroy(f->w);
    loop_destroy(f->l);
    tu_rmtree(f->dir);
    free(f->dir);
    rec_clear(&f->r);
    free(f);
    return 0;
}

typedef bool cond_fn(struct fx *f, const char *arg);

/* Run the loop until cond holds or the deadline passes; returns cond's last value. */
static bool
run_until(struct fx *f, cond_fn *cond, const char *arg)
{
    long long deadline = tu_now_ms() + WAIT_MS;

    while (!cond(f, arg)) {
        if (tu_now_ms() >= deadline) {
            return cond(f, arg);
        }
        assert_true(loop_run_once(f->l, 20) >= 0);
    }
    return true;
}

static bool
has_ready(struct fx *f, const char *rel)
{
    return list_count(&f->r.ready, rel) > 0;
}

static bool
has_modified(struct fx *f, const char *rel)
{
    return list_count(&f->r.modified, rel) > 0;
}

static bool
has_removed(struct fx *f, const char *rel)
{
    return list_count(&f->r.removed, rel) > 0;
}

static bool
has_gone(struct fx *f, const char *rel)
{
    return list_count(&f->r.gone, rel) > 0;
}

static bool
has_overflow(struct fx *f, const char *unused)
{
    (void)unused;
    return f->r.overflows > 0;
}

/* Found by the walk of a directory just created (settle) or by its own close (ready). */
static bool
has_seen(struct fx *f, const char *rel)
{
    return has_ready(f, rel) || has_modified(f, rel);
}

#define WAIT_READY(f, rel) assert_true(run_until((f), has_ready, (rel)))
#define WAIT_SEEN(f, rel) assert_true(run_until((f), has_seen, (rel)))
#define WAIT_MODIFIED(f, rel) assert_true(run_until((f), has_modified, (rel)))
#define WAIT_REMOVED(f, rel) assert_true(run_until((f), has_removed, (rel)))
#define WAIT_GONE(f, rel) assert_true(run_until((f), has_gone, (rel)))

/*
 * Absence needs a barrier, not a sleep: inotify keeps one queue in order, so once a
 * sentinel written after the action is reported, every event of the action was processed.
 */
static void
barrier(struct fx *f)
{
    char name[32];

    snprintf(name, sizeof(name), "zz-sentinel-%d.md", f->sentinels++);
    tu_write_str(f->dir, name, "s");
    WAIT_READY(f, name);
}

static char *
path_in(const char *dir, const char *rel)
{
    struct strbuf sb = STRBUF_INIT;

    strbuf_addf(&sb, "%s/%s", dir, rel);
    return strbuf_detach(&sb, NULL);
}

static void
mkdir_in(const char *dir, const char *rel)
{
    char *p = path_in(dir, rel);

    assert_int_equal(mkdir(p, 0755), 0);
    free(p);
}

static void
rename_in(const char *from_dir, const char *from, const char *to_dir, const char *to)
{
    char *a = path_in(from_dir, from), *b = path_in(to_dir, to);

    assert_int_equal(rename(a, b), 0);
    free(a);
    free(b);
}

/* --- watcher tests --- */

static void
test_create_close_write(void **state)
{
    struct fx *f = *state;

    tu_write_str(f->dir, "x.md", "# x\n");
    WAIT_READY(f, "x.md");
    barrier(f);
    assert_int_equal(list_count(&f->r.ready, "x.md"), 1);
    assert_true(list_count(&f->r.modified, "x.md") >= 1); /* IN_CREATE, IN_MODIFY */
    assert_int_equal(watch_count(f->w), 1);
}

static void
test_chunks_without_close(void **state)
{
    struct fx *f = *state;
    char *p = path_in(f->dir, "big.md");
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    assert_true(fd >= 0);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(write(fd, "chunk\n", 6), 6);
        assert_int_equal(fsync(fd), 0);
    }
    WAIT_MODIFIED(f, "big.md");
    barrier(f);
    assert_int_equal(list_count(&f->r.ready, "big.md"), 0); /* no close yet: settle, not ready */
    assert_true(list_count(&f->r.modified, "big.md") >= 2);
    close(fd);
    WAIT_READY(f, "big.md");
    free(p);
}

static void
test_truncate_is_modify(void **state)
{
    struct fx *f = *state;
    char *p = path_in(f->dir, "t.md");

    tu_write_str(f->dir, "t.md", "0123456789");
    WAIT_READY(f, "t.md");
    rec_clear(&f->r);
    assert_int_equal(truncate(p, 3), 0);
    WAIT_MODIFIED(f, "t.md");
    barrier(f);
    assert_int_equal(list_count(&f->r.ready, "t.md"), 0);
    free(p);
}

static void
test_atomic_save(void **state)
{
    struct fx *f = *state;

    mkdir_in(f->dir, "c");
    tu_write_str(f->dir, "c/x.md", "v1");
    WAIT_SEEN(f, "c/x.md");
    rec_clear(&f->r);
    /* (2): write a hidden temp file, rename it onto the real name */
    tu_write_str(f->dir, "c/.x.md.tmp", "v2");
    rename_in(f->dir, "c/.x.md.tmp", f->dir, "c/x.md");
    WAIT_READY(f, "c/x.md");
    barrier(f);
    assert_false(list_any(&f->r.ready, ".x.md"));
    assert_false(list_any(&f->r.modified, ".x.md"));
    assert_int_equal(f->r.gone.n, 0);
}

static void
test_delete(void **state)
{
    struct fx *f = *state;
    char *p = path_in(f->dir, "d.md");

    tu_write_str(f->dir, "d.md", "x");
    WAIT_READY(f, "d.md");
    rec_clear(&f->r);
    assert_int_equal(unlink(p), 0);
    WAIT_REMOVED(f, "d.md");
    barrier(f);
    assert_int_equal(list_count(&f->r.ready, "d.md"), 0); /* gone, not complete */
    assert_int_equal(f->r.gone.n, 0);                     /* a file, not a subtree */
    free(p);
}

/* A file renamed: the old name is removed, the new one is complete; moved out of the tree,
 * only the removal is told. */
static void
test_file_renamed_and_moved_out(void **state)
{
    struct fx *f = *state;
    char *out = tu_mkdtemp("test_watch_out");

    tu_write_str(f->dir, "old.md", "x");
    WAIT_READY(f, "old.md");
    rec_clear(&f->r);
    rename_in(f->dir, "old.md", f->dir, "new.md");
    WAIT_REMOVED(f, "old.md");
    WAIT_READY(f, "new.md");
    rename_in(f->dir, "new.md", out, "new.md");
    WAIT_REMOVED(f, "new.md");
    barrier(f);
    assert_int_equal(list_count(&f->r.ready, "old.md"), 0);
    assert_int_equal(list_count(&f->r.ready, "new.md"), 1);
    tu_rmtree(out);
    free(out);
}

static void
test_mkdir_p_burst(void **state)
{
    struct fx *f = *state;
    static const char *const files[] = {
        "a/COURSE-BRIEF.md",     "a/lessons/intro.md",     "a/lessons/m1/1.1-x.md",
        "a/lessons/m1/1.2-y.md", "a/lessons/m1/deep/z.md", "a/lessons/m2/2.1 with space.md",
    };

    /* (1): the whole tree exists before the loop reads the first IN_CREATE */
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        tu_write_str(f->dir, files[i], "x");
    }
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        WAIT_SEEN(f, files[i]);
    }
    assert_int_equal(watch_count(f->w), 6); /* root, a, lessons, m1, deep, m2 */
    rec_clear(&f->r);
    tu_write_str(f->dir, "a/lessons/m1/1.3-z.md", "x");
    WAIT_READY(f, "a/lessons/m1/1.3-z.md");
    tu_write_str(f->dir, "a/lessons/m1/deep/later.md", "x");
    WAIT_READY(f, "a/lessons/m1/deep/later.md");
}

/* A generator streaming a lesson into a fresh directory: found by the walk while still open,
 * it must settle, not be ready, until its close. */
static void
test_new_dir_file_still_open(void **state)
{
    struct fx *f = *state;
    char path[4096];
    int fd;

    mkdir_in(f->dir, "n");
    mkdir_in(f->dir, "n/lessons");
    mkdir_in(f->dir, "n/lessons/m1");
    snprintf(path, sizeof(path), "%s/n/lessons/m1/1.1-open.md", f->dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "part", 4), 4);
    WAIT_MODIFIED(f, "n/lessons/m1/1.1-open.md");
    barrier(f);
    assert_int_equal(list_count(&f->r.ready, "n/lessons/m1/1.1-open.md"), 0);
    assert_int_equal(write(fd, "rest", 4), 4);
    close(fd);
    WAIT_READY(f, "n/lessons/m1/1.1-open.md");
}

static void
test_dir_rename_within_tree(void **state)
{
    struct fx *f = *state;

    tu_write_str(f->dir, "c1/lessons/m1/l.md", "x");
    tu_write_str(f->dir, "other/keep.md", "x");
    WAIT_SEEN(f, "c1/lessons/m1/l.md");
    WAIT_SEEN(f, "other/keep.md");
    assert_int_equal(watch_count(f->w), 5);
    rec_clear(&f->r);

    /* (3): within one directory, then across watched directories */
    rename_in(f->dir, "c1", f->dir, "c2");
    WAIT_GONE(f, "c1");
    WAIT_READY(f, "c2/lessons/m1/l.md");
    rename_in(f->dir, "c2/lessons", f->dir, "other/lessons");
    WAIT_GONE(f, "c2/lessons");
    WAIT_READY(f, "other/lessons/m1/l.md");
    assert_int_equal(watch_count(f->w), 5);

    rec_clear(&f->r);
    tu_write_str(f->dir, "other/lessons/m1/new.md", "x");
    WAIT_READY(f, "other/lessons/m1/new.md");
    tu_write_str(f->dir, "c2/top.md", "x");
    WAIT_READY(f, "c2/top.md");
    barrier(f);
    assert_false(list_any(&f->r.ready, "c1/"));
    assert_false(list_any(&f->r.ready, "c2/lessons"));
}

static void
test_dir_moved_out_and_in(void **state)
{
    struct fx *f = *state;
    char *out = tu_mkdtemp("test_watch_out");

    tu_write_str(f->dir, "c/lessons/l.md", "x");
    WAIT_SEEN(f, "c/lessons/l.md");
    assert_int_equal(watch_count(f->w), 3);
    rec_clear(&f->r);

    rename_in(f->dir, "c", out, "c");
    WAIT_GONE(f, "c");
    barrier(f);
    assert_int_equal(watch_count(f->w), 1); /* its watches are gone with it */
    tu_write_str(out, "c/lessons/after.md", "x");
    barrier(f);
    assert_false(list_any(&f->r.ready, "after.md"));
    assert_false(list_any(&f->r.modified, "after.md"));

    rec_clear(&f->r);
    tu_write_str(out, "d/lessons/m1/a.md", "x");
    rename_in(out, "d", f->dir, "d");
    WAIT_READY(f, "d/lessons/m1/a.md");
    assert_int_equal(watch_count(f->w), 4);
    tu_write_str(f->dir, "d/lessons/m1/b.md", "x");
    WAIT_READY(f, "d/lessons/m1/b.md");

    /* a directory renamed to a hidden name has left the tree */
    rename_in(f->dir, "d", f->dir, ".trash-d");
    WAIT_GONE(f, "d");
    barrier(f);
    assert_int_equal(watch_count(f->w), 1);

    tu_rmtree(out);
    free(out);
}

static void
test_ignored_names(void **state)
{
    struct fx *f = *state;
    /* "#/lessons/a.md": a lone "#" is a leftover too, as common/ignore.h says for every walk */
    static const char *const names[] = {
        ".hidden.md", "x.md~",       "x.md.swp",          "x.tmp",
        "#x.md#",     ".git/config", ".hid/lessons/a.md", "#/lessons/a.md"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        tu_write_str(f->dir, names[i], "x");
    }
    tu_write_str(f->dir, ".hid/lessons/b.md", "x"); /* after the directory exists */
    barrier(f);
    assert_int_equal(f->r.ready.n, 1); /* the sentinel */
    for (size_t i = 0; i < f->r.modified.n; i++) {
        assert_non_null(strstr(f->r.modified.v[i], "zz-sentinel"));
    }
    assert_int_equal(watch_count(f->w), 1); /* hidden directories are not watched */
}

static void
test_symlink_not_followed(void **state)
{
    struct fx *f = *state;
    char *out = tu_mkdtemp("test_watch_link");
    char *link = path_in(f->dir, "link");

    tu_write_str(out, "sub/old.md", "x");
    assert_int_equal(symlink(out, link), 0);
    WAIT_MODIFIED(f, "link"); /* reported like a file; the daemon's lstat decides */
    tu_write_str(out, "new.md", "x");
    tu_write_str(out, "sub/new.md", "x");
    barrier(f);
    assert_false(list_any(&f->r.ready, "link/"));
    assert_false(list_any(&f->r.modified, "link/"));
    assert_int_equal(watch_count(f->w), 1);

    /* the full walk does not follow it either */
    assert_int_equal(watch_start(f->w, NULL), 0);
    assert_int_equal(watch_count(f->w), 1);

    tu_rmtree(out);
    free(out);
    free(link);
}

static void
test_root_deleted(void **state)
{
    struct fx *f = *state;

    tu_write_str(f->dir, "c/a.md", "x");
    WAIT_SEEN(f, "c/a.md");
    tu_rmtree(f->dir);
    WAIT_GONE(f, "");
    assert_int_equal(watch_count(f->w), 0);
    /* still serving: the root comes back and a new walk watches it again */
    assert_int_equal(mkdir(f->dir, 0755), 0);
    assert_int_equal(watch_start(f->w, NULL), 0);
    assert_int_equal(watch_count(f->w), 1);
    tu_write_str(f->dir, "b.md", "x");
    WAIT_READY(f, "b.md");
}

static bool
has_unmounted(struct fx *f, const char *rel)
{
    return list_count(&f->r.unmounted, rel) > 0;
}

/* A private mount namespace for this process (root only): mounts made here leave no trace. */
static bool
private_mounts(void)
{
    return unshare(CLONE_NEWNS) == 0 && mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0;
}

/*
 * (4) A volume unmounted below the root, and one mounted on the root itself: IN_UNMOUNT is
 * reported as such, never as a deletion (no gone, no removed file, the root not lost).
 */
static void
test_unmount(void **state)
{
    struct fx *f = fx_new();
    char path[512];

    *state = f;
    if (!private_mounts()) {
        TU_SKIP("mountns", "test_unmount", "needs root for unshare(CLONE_NEWNS) and mount");
    }
    mkdir_in(f->dir, "vol");
    snprintf(path, sizeof(path), "%s/vol", f->dir);
    assert_int_equal(mount("tmpfs", path, "tmpfs", 0, "size=1m"), 0);
    tu_write_str(f->dir, "vol/lessons/a.md", "x");
    tu_write_str(f->dir, "other/lessons/b.md", "x");
    fx_watch(f);
    size_t watched = watch_count(f->w);
    assert_int_equal(umount2(path, 0), 0);
    assert_true(run_until(f, has_unmounted, "vol"));
    assert_int_equal(f->r.gone.n, 0);
    assert_int_equal(f->r.removed.n, 0);
    assert_int_equal(watch_count(f->w), watched - 2); /* vol and vol/lessons */
    /* the rest of the tree is still watched */
    tu_write_str(f->dir, "other/lessons/c.md", "x");
    WAIT_READY(f, "other/lessons/c.md");

    /* the root itself on a volume */
    loop_del_fd(f->l, watch_fd(f->w));
    watch_destroy(f->w);
    f->w = NULL;
    rec_clear(&f->r);
    assert_int_equal(mount("tmpfs", f->dir, "tmpfs", 0, "size=1m"), 0);
    tu_write_str(f->dir, "c/lessons/a.md", "x");
    fx_watch(f);
    assert_int_equal(umount2(f->dir, 0), 0);
    assert_true(run_until(f, has_unmounted, ""));
    assert_int_equal(f->r.gone.n, 0); /* not "the root was deleted" */
    assert_int_equal(watch_count(f->w), 0);
}

static void
test_ten_thousand_dirs(void **state)
{
    struct fx *f = *state;
    char rel[64];
    long long t0;

    watch_destroy(f->w); /* the tree first, then one walk over it */
    loop_destroy(f->l);
    f->l = loop_create(NULL);
    for (int i = 0; i < 100; i++) {
        snprintf(rel, sizeof(rel), "c%02d", i);
        mkdir_in(f->dir, rel);
        for (int j = 0; j < 100; j++) {
            snprintf(rel, sizeof(rel), "c%02d/m%02d", i, j);
            mkdir_in(f->dir, rel);
        }
    }
    t0 = tu_now_ms();
    fx_watch(f);
    assert_int_equal(watch_count(f->w), 10101);
    assert_true(tu_now_ms() - t0 < 5000);
    /* a rename moves 101 watched paths at once */
    rename_in(f->dir, "c42", f->dir, "renamed");
    WAIT_GONE(f, "c42");
    tu_write_str(f->dir, "renamed/m99/x.md", "x");
    WAIT_READY(f, "renamed/m99/x.md");
    assert_int_equal(watch_count(f->w), 10101);
    assert_false(list_any(&f->r.ready, "c42/"));
}

/* --- tests that lower a machine-wide inotify limit (root only; restored in teardown) --- */

#define SYSCTL_QUEUED "/proc/sys/fs/inotify/max_queued_events"
#define SYSCTL_WATCHES "/proc/sys/fs/inotify/max_user_watches"

static long saved_sysctl = -1;
static const char *saved_sysctl_path;

static long
sysctl_read(const char *path)
{
    FILE *fp = fopen(path, "re");
    long v = -1;

    if (fp != NULL) {
        if (fscanf(fp, "%ld", &v) != 1) {
            v = -1;
        }
        fclose(fp);
    }
    return v;
}

static bool
sysctl_write(const char *path, long v)
{
    FILE *fp = fopen(path, "we");
    bool ok;

    if (fp == NULL) {
        return false;
    }
    ok = fprintf(fp, "%ld\n", v) > 0;
    return fclose(fp) == 0 && ok;
}

/* Lower a sysctl; the value is put back by sysctl_restore (called again in teardown). */
static void
sysctl_lower(const char *path, long v)
{
    if (geteuid() != 0) {
        fail_msg("this test lowers %s and must run as root (CI does)", path);
    }
    saved_sysctl = sysctl_read(path);
    saved_sysctl_path = path;
    assert_true(saved_sysctl > 0);
    if (!sysctl_write(path, v)) {
        fail_msg("cannot write %s: %s", path, strerror(errno));
    }
}

static void
sysctl_restore(void)
{
    if (saved_sysctl_path != NULL && saved_sysctl > 0) {
        if (!sysctl_write(saved_sysctl_path, saved_sysctl)) {
            fprintf(stderr, "test_watch: could not restore %s to %ld\n", saved_sysctl_path,
                    saved_sysctl);
        }
    }
    saved_sysctl_path = NULL;
    saved_sysctl = -1;
}

static int
setup_unwatched(void **state)
{
    *state = fx_new();
    return 0;
}

static int
teardown_sysctl(void **state)
{
    sysctl_restore();
    return teardown(state);
}

static void
test_overflow(void **state)
{
    struct fx *f = *state;
    char name[32];

    /* The queue size is fixed when the inotify instance is created: lower it only for that. */
    sysctl_lower(SYSCTL_QUEUED, 64);
    fx_watch(f);
    sysctl_restore();

    for (int i = 0; i < 500; i++) {
        snprintf(name, sizeof(name), "f%03d.md", i);
        tu_write_str(f->dir, name, "x");
    }
    tu_write_str(f->dir, "newdir/lost.md", "x"); /* its IN_CREATE is lost in the overflow */
    assert_true(run_until(f, has_overflow, NULL));
    /* the watcher re-walked: the directory created while events were lost is watched */
    assert_int_equal(watch_count(f->w), 2);
    rec_clear(&f->r);
    tu_write_str(f->dir, "newdir/after.md", "x");
    WAIT_READY(f, "newdir/after.md");
}

/* Watches in use by our user across the machine (the limit is per user). */
static long
watches_in_use(void)
{
    DIR *proc = opendir("/proc");
    struct dirent *de;
    long n = 0;

    assert_non_null(proc);
    while ((de = readdir(proc)) != NULL) {
        char path[300];
        DIR *fds;
        struct dirent *fe;
        struct stat st;

        if (de->d_name[0] < '0' || de->d_name[0] > '9') {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%s", de->d_name);
        if (stat(path, &st) != 0 || st.st_uid != geteuid()) {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%s/fdinfo", de->d_name);
        if ((fds = opendir(path)) == NULL) {
            continue;
        }
        while ((fe = readdir(fds)) != NULL) {
            char fpath[600], line[512];
            FILE *fp;

            snprintf(fpath, sizeof(fpath), "%s/%s", path, fe->d_name);
            if (fe->d_name[0] == '.' || (fp = fopen(fpath, "re")) == NULL) {
                continue;
            }
            while (fgets(line, sizeof(line), fp) != NULL) {
                n += strncmp(line, "inotify wd:", 11) == 0;
            }
            fclose(fp);
        }
        closedir(fds);
    }
    closedir(proc);
    return n;
}

static void
test_watch_limit(void **state)
{
    struct fx *f = *state;
    struct err err;
    char name[32];
    size_t watched;
    const char *ok_dir = NULL;

    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof(name), "d%02d/x.md", i);
        tu_write_str(f->dir, name, "x");
    }
    f->w = watch_create(f->dir, &rec_ops, &f->r, &err);
    assert_non_null(f->w);
    /* Room for the root and 5 directories; keep the window short for the machine's sake. */
    sysctl_lower(SYSCTL_WATCHES, watches_in_use() + 6);
    assert_int_equal(watch_start(f->w, &err), 0);
    sysctl_restore();
    assert_int_equal(loop_add_fd(f->l, watch_fd(f->w), EPOLLIN, inotify_cb, f->w, &err), 0);

    watched = watch_count(f->w);
    assert_true(watched >= 1 && watched < 21);
    assert_int_equal(f->r.limit.n, 21 - watched); /* one call per unwatched directory */
    /* what is watched keeps working */
    for (int i = 0; i < 20 && ok_dir == NULL; i++) {
        snprintf(name, sizeof(name), "d%02d", i);
        if (list_count(&f->r.limit, name) == 0) {
            ok_dir = name;
        }
    }
    tu_write_str(f->dir, "top.md", "x");
    WAIT_READY(f, "top.md");
    if (ok_dir != NULL) {
        char rel[64];

        snprintf(rel, sizeof(rel), "%s/y.md", ok_dir);
        tu_write_str(f->dir, rel, "x");
        WAIT_READY(f, rel);
    }
}

/* --- queue --- */

static void
test_queue_dedupe_and_take(void **state)
{
    struct queue *q = queue_create(0, 100);
    struct queue_item *items;
    size_t n;

    (void)state;
    queue_mark_ready(q, "a.md", 0);
    queue_mark_ready(q, "a.md", 1);
    queue_mark_ready(q, "b.md", 2);
    queue_mark_settle(q, "a.md", 3); /* a ready mark wins */
    assert_int_equal(queue_len(q), 2);
    assert_int_equal(queue_next_due_ms(q, 3), 0);
    n = queue_take_due(q, 3, &items);
    assert_int_equal(n, 2);
    assert_string_equal(items[0].path, "a.md");
    assert_string_equal(items[1].path, "b.md");
    assert_false(items[0].subtree);
    assert_int_equal(queue_len(q), 0);
    assert_int_equal(queue_next_due_ms(q, 3), -1);
    queue_items_free(items, n);
    assert_int_equal(queue_take_due(q, 3, &items), 0);
    assert_null(items);
    queue_destroy(q);
}

static void
test_queue_settle(void **state)
{
    struct queue *q = queue_create(0, 100);
    struct queue_item *items;

    (void)state;
    queue_mark_settle(q, "s.md", 1000);
    assert_int_equal(queue_next_due_ms(q, 1000), 100);
    assert_int_equal(queue_take_due(q, 1050, &items), 0);
    queue_mark_settle(q, "s.md", 1050); /* pushed back to 1150 */
    assert_int_equal(queue_len(q), 1);
    assert_int_equal(queue_next_due_ms(q, 1100), 50);
    assert_int_equal(queue_take_due(q, 1149, &items), 0);
    assert_int_equal(queue_take_due(q, 1150, &items), 1);
    assert_string_equal(items[0].path, "s.md");
    queue_items_free(items, 1);

    /* ready overrides a pending settle */
    queue_mark_settle(q, "r.md", 2000);
    queue_mark_settle(q, "later.md", 2010);
    queue_mark_ready(q, "r.md", 2001);
    assert_int_equal(queue_next_due_ms(q, 2001), 0);
    assert_int_equal(queue_take_due(q, 2001, &items), 1);
    assert_string_equal(items[0].path, "r.md");
    queue_items_free(items, 1);
    assert_int_equal(queue_next_due_ms(q, 2050), 60);
    assert_int_equal(queue_next_due_ms(q, 3000), 0);
    queue_destroy(q);
}

static void
test_queue_subtree(void **state)
{
    struct queue *q = queue_create(0, 100);
    struct queue_item *items;
    size_t n;

    (void)state;
    queue_mark_subtree(q, "c1", 0);
    queue_mark_subtree(q, "c1", 0);
    queue_mark_ready(q, "c1", 0); /* a path and a prefix of the same text are distinct */
    queue_mark_subtree(q, "", 0);
    assert_int_equal(queue_len(q), 3);
    n = queue_take_due(q, 0, &items);
    assert_int_equal(n, 3);
    assert_string_equal(items[0].path, "c1");
    assert_true(items[0].subtree);
    assert_string_equal(items[1].path, "c1");
    assert_false(items[1].subtree);
    assert_string_equal(items[2].path, "");
    assert_true(items[2].subtree);
    queue_items_free(items, n);
    queue_destroy(q);
}

static void
test_queue_limit_rescan(void **state)
{
    struct queue *q = queue_create(3, 100);
    struct queue_item *items;

    (void)state;
    queue_mark_ready(q, "a", 0);
    queue_mark_settle(q, "b", 0);
    queue_mark_subtree(q, "c", 0);
    queue_mark_ready(q, "a", 0); /* not distinct: no overflow */
    assert_int_equal(queue_len(q), 3);
    assert_false(queue_rescan_needed(q));
    queue_mark_ready(q, "d", 0);
    assert_true(queue_rescan_needed(q));
    assert_int_equal(queue_len(q), 0);
    queue_mark_ready(q, "e", 0); /* covered by the rescan */
    assert_int_equal(queue_len(q), 0);
    assert_int_equal(queue_take_due(q, 1000, &items), 0);
    queue_clear_rescan(q);
    queue_mark_ready(q, "e", 0);
    assert_int_equal(queue_len(q), 1);
    queue_destroy(q);
}

static void
test_queue_requeue(void **state)
{
    struct queue *q = queue_create(0, 100);
    struct queue_item *items, *again;
    size_t n;

    (void)state;
    queue_mark_ready(q, "a", 0);
    queue_mark_subtree(q, "d", 0);
    n = queue_take_due(q, 0, &items);
    assert_int_equal(n, 2);
    queue_mark_settle(q, "a", 5); /* marked again while the database was away */
    queue_requeue(q, items, n, 10);
    queue_items_free(items, n);
    assert_int_equal(queue_len(q), 2);
    assert_int_equal(queue_next_due_ms(q, 10), 0);
    n = queue_take_due(q, 10, &again);
    assert_int_equal(n, 2);
    assert_true(strcmp(again[0].path, "a") == 0 || strcmp(again[1].path, "a") == 0);
    assert_true(again[0].subtree || again[1].subtree);
    queue_items_free(again, n);
    queue_items_free(NULL, 0);
    queue_destroy(NULL);
    queue_destroy(q);
}

static void
test_queue_many(void **state)
{
    struct queue *q = queue_create(100000, 100);
    struct queue_item *items;
    char name[32];
    size_t n;

    (void)state;
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 20000; i++) {
            snprintf(name, sizeof(name), "c/lessons/%05d.md", i);
            queue_mark_settle(q, name, round);
        }
    }
    assert_int_equal(queue_len(q), 20000);
    assert_int_equal(queue_take_due(q, 100, &items), 0);
    n = queue_take_due(q, 101, &items);
    assert_int_equal(n, 20000);
    queue_items_free(items, n);
    queue_destroy(q);
}

/* --- loop --- */

struct tstate {
    int order[16];
    int n;
    int reschedules;
    long long del_id;
};

static long
timer_record(struct loop *l, long long id, void *arg)
{
    struct tstate *t = arg;

    (void)l;
    t->order[t->n++] = (int)id;
    return -1;
}

static long
timer_again(struct loop *l, long long id, void *arg)
{
    struct tstate *t = arg;

    (void)l;
    (void)id;
    return ++t->reschedules < 4 ? 5 : -1;
}

static long
timer_deletes_other(struct loop *l, long long id, void *arg)
{
    struct tstate *t = arg;

    (void)id;
    t->order[t->n++] = -1;
    assert_int_equal(loop_del_timer(l, t->del_id), 0);
    assert_int_equal(loop_del_timer(l, id), 0); /* itself: the return value is ignored */
    return 5;
}

/* Run l until cond(arg) or the deadline. */
static bool
loop_until(struct loop *l, bool (*cond)(void *), void *arg)
{
    long long deadline = tu_now_ms() + WAIT_MS;

    while (!cond(arg)) {
        if (tu_now_ms() >= deadline) {
            return cond(arg);
        }
        assert_true(loop_run_once(l, 20) >= 0);
    }
    return true;
}

static bool
three_fired(void *arg)
{
    return ((struct tstate *)arg)->n >= 3;
}

static bool
rescheduled_done(void *arg)
{
    return ((struct tstate *)arg)->reschedules >= 4;
}

static void
test_loop_timers(void **state)
{
    struct loop *l = loop_create(NULL);
    struct tstate t;
    long long a, b, c;

    (void)state;
    memset(&t, 0, sizeof(t));
    assert_non_null(l);
    c = loop_add_timer(l, 30, timer_record, &t);
    a = loop_add_timer(l, 10, timer_record, &t);
    b = loop_add_timer(l, 20, timer_record, &t);
    assert_true(loop_timer_armed(l));
    assert_true(loop_until(l, three_fired, &t));
    assert_int_equal(t.order[0], a);
    assert_int_equal(t.order[1], b);
    assert_int_equal(t.order[2], c);
    assert_false(loop_timer_armed(l)); /* all returned -1: nothing left to arm */

    long long t0 = tu_now_ms();
    loop_add_timer(l, 5, timer_again, &t);
    assert_true(loop_until(l, rescheduled_done, &t));
    assert_true(tu_now_ms() - t0 >= 20); /* four runs, 5 ms apart */
    assert_false(loop_timer_armed(l));
    loop_destroy(l);
}

static void
test_loop_del_timer(void **state)
{
    struct loop *l = loop_create(NULL);
    struct tstate t;

    (void)state;
    memset(&t, 0, sizeof(t));
    long long id = loop_add_timer(l, 10, timer_record, &t);
    assert_int_equal(loop_del_timer(l, id), 0);
    assert_int_equal(loop_del_timer(l, id), -1);
    assert_false(loop_timer_armed(l));
    assert_int_equal(loop_run_once(l, 40), 0);
    assert_int_equal(t.n, 0);

    /* a callback deletes another timer due in the same iteration, and itself */
    loop_add_timer(l, 0, timer_deletes_other, &t);
    t.del_id = loop_add_timer(l, 0, timer_record, &t);
    long long deadline = tu_now_ms() + WAIT_MS;
    while (t.n == 0 && tu_now_ms() < deadline) {
        assert_true(loop_run_once(l, 20) >= 0);
    }
    assert_int_equal(t.n, 1);
    assert_int_equal(t.order[0], -1);
    assert_false(loop_timer_armed(l));
    assert_int_equal(loop_run_once(l, 30), 0);
    assert_int_equal(t.n, 1);
    loop_destroy(l);
}

static void
test_loop_idle(void **state)
{
    struct loop *l = loop_create(NULL);
    long long t0 = tu_now_ms();

    (void)state;
    assert_false(loop_timer_armed(l));
    assert_int_equal(loop_run_once(l, 50), 0);
    assert_true(tu_now_ms() - t0 >= 40); /* it slept: nothing woke it */
    assert_false(loop_timer_armed(l));
    loop_destroy(l);
    loop_destroy(NULL);
}

static int signals_seen;

static void
on_signal(struct loop *l, int signo, void *arg)
{
    (void)l;
    assert_int_equal(signo, SIGUSR1);
    (*(int *)arg)++;
}

static bool
signal_seen(void *arg)
{
    return *(int *)arg > 0;
}

static void
test_loop_signal(void **state)
{
    struct loop *l = loop_create(NULL);
    struct err err;

    (void)state;
    signals_seen = 0;
    assert_int_equal(loop_add_signal(l, SIGUSR1, on_signal, &signals_seen, &err), 0);
    assert_int_equal(loop_add_signal(l, SIGKILL, on_signal, &signals_seen, &err), -1);
    assert_int_equal(raise(SIGUSR1), 0); /* blocked: pending until the signalfd is read */
    assert_true(loop_until(l, signal_seen, &signals_seen));
    assert_int_equal(signals_seen, 1);
    loop_destroy(l);
}

struct fdstate {
    int before_sleep;
    int reads;
    int seen_before_at_read;
};

static void
on_before_sleep(struct loop *l, void *arg)
{
    (void)l;
    ((struct fdstate *)arg)->before_sleep++;
}

static void
on_pipe(struct loop *l, int fd, uint32_t events, void *arg)
{
    struct fdstate *s = arg;
    char c;

    assert_true(events & EPOLLIN);
    while (read(fd, &c, 1) == 1) {
        s->reads++;
    }
    s->seen_before_at_read = s->before_sleep;
    loop_del_fd(l, fd);
}

static long
stop_timer(struct loop *l, long long id, void *arg)
{
    (void)id;
    (void)arg;
    loop_stop(l);
    return -1;
}

static void
test_loop_fd_before_sleep_stop(void **state)
{
    struct loop *l = loop_create(NULL);
    struct fdstate s;
    struct err err;
    int p[2];

    (void)state;
    memset(&s, 0, sizeof(s));
    assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    loop_set_before_sleep(l, on_before_sleep, &s);
    assert_int_equal(loop_add_fd(l, p[0], EPOLLIN, on_pipe, &s, &err), 0);
    assert_int_equal(write(p[1], "xy", 2), 2);
    assert_int_equal(loop_run_once(l, 1000), 1);
    assert_int_equal(s.reads, 2);
    assert_int_equal(s.seen_before_at_read, 1); /* the hook ran before the wait */
    assert_int_equal(write(p[1], "z", 1), 1);   /* deleted: no longer dispatched */
    assert_int_equal(loop_run_once(l, 20), 0);
    assert_int_equal(s.before_sleep, 2);

    loop_add_timer(l, 1, stop_timer, NULL);
    assert_int_equal(loop_run(l), 0);
    assert_true(s.before_sleep >= 3);
    close(p[0]);
    close(p[1]);
    loop_destroy(l);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loop_timers),
        cmocka_unit_test(test_loop_del_timer),
        cmocka_unit_test(test_loop_idle),
        cmocka_unit_test(test_loop_signal),
        cmocka_unit_test(test_loop_fd_before_sleep_stop),
        cmocka_unit_test(test_queue_dedupe_and_take),
        cmocka_unit_test(test_queue_settle),
        cmocka_unit_test(test_queue_subtree),
        cmocka_unit_test(test_queue_limit_rescan),
        cmocka_unit_test(test_queue_requeue),
        cmocka_unit_test(test_queue_many),
        cmocka_unit_test_setup_teardown(test_create_close_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunks_without_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncate_is_modify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atomic_save, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mkdir_p_burst, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_dir_file_still_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dir_rename_within_tree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dir_moved_out_and_in, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ignored_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_not_followed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_renamed_and_moved_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_root_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ten_thousand_dirs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unmount, NULL, teardown),
        cmocka_unit_test_setup_teardown(test_overflow, setup_unwatched, teardown_sysctl),
        cmocka_unit_test_setup_teardown(test_watch_limit, setup_unwatched, teardown_sysctl),
    };

    log_open(NULL, LOG_TEXT, LOG_WARN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
