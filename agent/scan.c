/* scan.c -- walking the tree and reading its files without ever following a symbolic link. */
#include "agent/scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/log.h"
#include "common/ignore.h"
#include "common/strbuf.h"
#include "parser/record.h"

static int openat2_missing; /* the kernel has no openat2: use the O_NOFOLLOW walk */

/*
 * Open rel below dirfd without following a link in any component and without leaving
 * the tree. openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) says exactly that; kernels
 * before 5.6 get the same guarantee from a walk that opens each component O_NOFOLLOW
 * and refuses "..".
 */
static int
open_beneath(int dirfd, const char *rel, int flags)
{
    if (*rel == '\0') {
        rel = ".";
    }
    if (!openat2_missing) {
        struct open_how how = {
            .flags = (unsigned long long)(flags | O_CLOEXEC | O_NOFOLLOW),
            .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
        /* ENOSYS: kernel before 5.6; EPERM: a seccomp profile that predates the call */
        if (fd >= 0 || (errno != ENOSYS && errno != EPERM)) {
            /* a link in the path reads as ELOOP: to us it is not a file of the tree */
            if (fd < 0 && errno == ELOOP) {
                errno = ENOENT;
            }
            return (int)fd;
        }
        openat2_missing = 1;
    }
    char *copy = xstrdup(rel);
    char *save = NULL;
    int cur = dup(dirfd);
    char *part = strtok_r(copy, "/", &save);
    while (cur >= 0 && part != NULL) {
        char *next = strtok_r(NULL, "/", &save);
        int fd;
        if (strcmp(part, "..") == 0) {
            errno = ENOENT;
            fd = -1;
        } else if (next != NULL) {
            fd = openat(cur, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        } else {
            fd = openat(cur, part, flags | O_CLOEXEC | O_NOFOLLOW);
        }
        if (fd < 0 && errno == ELOOP) {
            errno = ENOENT;
        }
        close(cur);
        cur = fd;
        part = next;
    }
    free(copy);
    return cur;
}

/*
 * Hard links. With fs.protected_hardlinks = 1 (the default of every current distribution) a
 * user may link only a file they own or can write; with 0, anyone who can write under the
 * root can link another user's file into it (a file the agent may read and they may not),
 * and the agent would publish it. Then a regular file with more than one link is refused.
 */
#define HARDLINKS_SYSCTL "/proc/sys/fs/protected_hardlinks"
static int reject_hardlinks = -1; /* -1: the setting not read yet */
static const char *hardlinks_why = "";

static void
hardlink_policy_init(void)
{
    FILE *f;
    long v = -1;

    if (reject_hardlinks >= 0) {
        return;
    }
    f = fopen(HARDLINKS_SYSCTL, "re");
    if (f != NULL) {
        if (fscanf(f, "%ld", &v) != 1) {
            v = -1;
        }
        fclose(f);
    }
    reject_hardlinks = v != 1;
    hardlinks_why = v == 0 ? "is 0" : "could not be read";
    if (v == 0) {
        log_kv(LOG_WARN,
               "fs.protected_hardlinks is 0: any user can link another's file into the tree; "
               "files with more than one hard link are rejected (set it to 1)",
               "sysctl", HARDLINKS_SYSCTL);
    } else if (v != 1) {
        log_kv(LOG_WARN,
               "cannot read fs.protected_hardlinks; files with more than one hard link are "
               "rejected",
               "sysctl", HARDLINKS_SYSCTL);
    }
}

int
scan_open_root(const char *root, struct err *err)
{
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    hardlink_policy_init();
    if (fd < 0) {
        return err_set(err, "cannot open root %s: %s", root, strerror(errno));
    }
    return fd;
}

int
scan_check_root(const char *root, struct err *err)
{
    struct stat st;
    int fd;

    if (stat(root, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            return err_set(
                err, "the root %s does not exist (a volume not mounted? a wrong --root?)", root);
        }
        return err_set(err, "cannot look at the root %s: %s", root, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        return err_set(err, "the root %s is not a directory", root);
    }
    fd = scan_open_root(root, err);
    if (fd < 0) {
        return -1;
    }
    close(fd);
    return 0;
}

static int
cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void
scan_names_free(char **names, size_t n)
{
    for (size_t i = 0; names != NULL && i < n; i++) {
        free(names[i]);
    }
    free(names);
}

bool
scan_names_has(char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], name) == 0) {
            return true;
        }
    }
    return false;
}

/* Entries of a directory fd (consumed), with their lstat. Calls fn for each real file or dir. */
typedef void (*entry_fn)(void *arg, const char *name, const struct stat *st);

static int
each_entry(int fd, entry_fn fn, void *arg)
{
    DIR *d = fdopendir(fd);

    if (d == NULL) {
        close(fd);
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (e->d_name[0] == '.' && (e->d_name[1] == '\0' || strcmp(e->d_name, "..") == 0)) {
            continue;
        }
        if (ignore_name(e->d_name)) {
            continue;
        }
        if (e->d_type == DT_LNK) {
            continue; /* never followed */
        }
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            continue; /* gone meanwhile */
        }
        if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
            fn(arg, e->d_name, &st);
        }
    }
    closedir(d);
    return 0;
}

struct name_list {
    char **names;
    size_t n, cap;
};

static void
collect_dir_cb(void *arg, const char *name, const struct stat *st)
{
    struct name_list *l = arg;

    if (!S_ISDIR(st->st_mode)) {
        return;
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->names = xrealloc(l->names, l->cap * sizeof(char *));
    }
    l->names[l->n++] = xstrdup(name);
}

long
scan_course_names(int rootfd, char ***names, struct err *err)
{
    struct name_list l = {NULL, 0, 0};
    int fd = open_beneath(rootfd, "", O_RDONLY | O_DIRECTORY);

    *names = NULL;
    if (fd < 0 || each_entry(fd, collect_dir_cb, &l) != 0) {
        return err_set(err, "cannot read the root: %s", strerror(errno));
    }
    if (l.n > 0) {
        qsort(l.names, l.n, sizeof(char *), cmp_name);
    }
    *names = l.names;
    return (long)l.n;
}

static int64_t
mtime_ns_of(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

struct course_walk {
    int rootfd;
    struct scan_course *out;
    size_t cap;
    struct strbuf prefix; /* rel path of the directory being listed, with a trailing '/' */
    size_t course_len;    /* of "<course>/", which starts every path of prefix */
    char *brief;          /* best brief candidate so far */
    int64_t brief_size, brief_mtime;
};

static void
add_file(struct course_walk *w, const char *rel, const struct stat *st, bool is_brief)
{
    struct scan_course *c = w->out;

    if (c->nfiles == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 32;
        c->files = xrealloc(c->files, w->cap * sizeof(*c->files));
    }
    c->files[c->nfiles++] = (struct scan_file){xstrdup(rel + w->course_len), (int64_t)st->st_size,
                                               mtime_ns_of(st), is_brief};
}

static void walk_lessons(struct course_walk *w);

static void
lesson_entry_cb(void *arg, const char *name, const struct stat *st)
{
    struct course_walk *w = arg;
    size_t mark = w->prefix.len;

    strbuf_addstr(&w->prefix, name);
    if (S_ISDIR(st->st_mode)) {
        strbuf_addch(&w->prefix, '/');
        walk_lessons(w);
    } else if (scan_kind(w->prefix.buf) == FILE_LESSON) {
        add_file(w, w->prefix.buf, st, false);
    }
    strbuf_setlen(&w->prefix, mark);
}

/* List w->prefix (a directory below lessons/) recursively. */
static void
walk_lessons(struct course_walk *w)
{
    int fd = open_beneath(w->rootfd, w->prefix.buf, O_RDONLY | O_DIRECTORY);

    if (fd < 0 || each_entry(fd, lesson_entry_cb, w) != 0) {
        if (errno != ENOENT && errno != ENOTDIR) {
            log_kv(LOG_WARN, "cannot list directory", "path", w->prefix.buf, "error",
                   strerror(errno));
        }
    }
}

static void
course_entry_cb(void *arg, const char *name, const struct stat *st)
{
    struct course_walk *w = arg;

    if (!S_ISREG(st->st_mode)) {
        return;
    }
    size_t mark = w->prefix.len;
    strbuf_addstr(&w->prefix, name);
    if (scan_kind(w->prefix.buf) == FILE_BRIEF_CANDIDATE) {
        int rank = tree_brief_rank(name);
        const char *best = w->brief != NULL ? strrchr(w->brief, '/') + 1 : NULL;
        if (best == NULL || rank < tree_brief_rank(best) ||
            (rank == tree_brief_rank(best) && strcmp(name, best) < 0)) {
            free(w->brief);
            w->brief = xstrdup(w->prefix.buf);
            w->brief_size = (int64_t)st->st_size;
            w->brief_mtime = mtime_ns_of(st);
        }
    }
    strbuf_setlen(&w->prefix, mark);
}

static int
cmp_file(const void *a, const void *b)
{
    return strcmp(((const struct scan_file *)a)->rel, ((const struct scan_file *)b)->rel);
}

int
scan_course(int rootfd, const char *course, struct scan_course *out, struct err *err)
{
    struct course_walk w = {.rootfd = rootfd, .out = out, .prefix = STRBUF_INIT};
    int fd;

    memset(out, 0, sizeof(*out));
    out->name = xstrdup(course);
    fd = open_beneath(rootfd, course, O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            return 0;
        }
        return err_set(err, "cannot open course %s: %s", course, strerror(errno));
    }
    strbuf_addf(&w.prefix, "%s/", course);
    w.course_len = w.prefix.len;
    if (each_entry(fd, course_entry_cb, &w) != 0) {
        strbuf_release(&w.prefix);
        return err_set(err, "cannot list course %s: %s", course, strerror(errno));
    }
    if (w.brief != NULL) {
        struct stat st = {0};
        st.st_size = w.brief_size;
        st.st_mtim.tv_sec = w.brief_mtime / 1000000000;
        st.st_mtim.tv_nsec = w.brief_mtime % 1000000000;
        add_file(&w, w.brief, &st, true);
        free(w.brief);
    }
    strbuf_addstr(&w.prefix, "lessons/");
    walk_lessons(&w);
    strbuf_release(&w.prefix);
    /* brief first, then lessons by path */
    size_t first = out->nfiles > 0 && out->files[0].is_brief ? 1 : 0;
    if (out->nfiles > first) {
        qsort(out->files + first, out->nfiles - first, sizeof(*out->files), cmp_file);
    }
    if (out->nfiles > 0 && out->nfiles < w.cap) {
        /* a reconcile may hold the listing of every course at once (the mass-deletion guard) */
        out->files = xrealloc(out->files, out->nfiles * sizeof(*out->files));
    }
    return 0;
}

const char *
scan_file_path(const struct scan_course *c, const struct scan_file *f, struct strbuf *sb)
{
    strbuf_reset(sb);
    strbuf_addf(sb, "%s/%s", c->name, f->rel);
    return sb->buf;
}

void
scan_course_release(struct scan_course *c)
{
    for (size_t i = 0; i < c->nfiles; i++) {
        free(c->files[i].rel);
    }
    free(c->files);
    free(c->name);
    memset(c, 0, sizeof(*c));
}

char *
scan_course_brief(int rootfd, const char *course)
{
    struct scan_course c;
    struct course_walk w = {.rootfd = rootfd, .out = &c, .prefix = STRBUF_INIT};
    int fd = open_beneath(rootfd, course, O_RDONLY | O_DIRECTORY);

    memset(&c, 0, sizeof(c));
    if (fd < 0) {
        return NULL;
    }
    strbuf_addf(&w.prefix, "%s/", course);
    w.course_len = w.prefix.len;
    each_entry(fd, course_entry_cb, &w);
    strbuf_release(&w.prefix);
    return w.brief;
}

int
scan_stat(int rootfd, const char *rel, int64_t *size, int64_t *mtime_ns, struct err *err)
{
    const char *slash = strrchr(rel, '/');
    struct stat st;
    int dfd;

    if (slash == NULL) {
        dfd = dup(rootfd);
    } else {
        char *dir = xstrndup(rel, (size_t)(slash - rel));
        dfd = open_beneath(rootfd, dir, O_RDONLY | O_DIRECTORY);
        free(dir);
    }
    if (dfd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            return 0;
        }
        return err_set(err, "%s", strerror(errno));
    }
    int r = fstatat(dfd, slash != NULL ? slash + 1 : rel, &st, AT_SYMLINK_NOFOLLOW);
    int saved = errno;
    close(dfd);
    if (r != 0) {
        if (saved == ENOENT || saved == ENOTDIR) {
            return 0;
        }
        return err_set(err, "%s", strerror(saved));
    }
    if (!S_ISREG(st.st_mode)) {
        return 0;
    }
    *size = (int64_t)st.st_size;
    *mtime_ns = mtime_ns_of(&st);
    return 1;
}

int
scan_read(int rootfd, const char *rel, size_t max_bytes, char **buf, size_t *len, int64_t *mtime_ns,
          struct err *err)
{
    struct stat st;
    int fd = open_beneath(rootfd, rel, O_RDONLY | O_NONBLOCK);
    char *data = NULL;
    size_t n = 0;

    *buf = NULL;
    *len = 0;
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            return 0;
        }
        return err_set(err, "cannot read the file: %s", strerror(errno));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return 0;
    }
    *mtime_ns = mtime_ns_of(&st);
    if (reject_hardlinks > 0 && st.st_nlink > 1) {
        close(fd);
        return err_set(err,
                       "file has %ju hard links and fs.protected_hardlinks %s: a hard link "
                       "may be another user's file (see SECURITY.md)",
                       (uintmax_t)st.st_nlink, hardlinks_why);
    }
    if ((uint64_t)st.st_size > max_bytes) {
        *len = (size_t)st.st_size;
        close(fd);
        return 1;
    }
    /* Read what is there, even if the file grew since fstat (a writer still at work: the
     * next event re-reads it), up to the limit. */
    size_t cap = (size_t)st.st_size + 1;
    data = xmalloc(cap);
    for (;;) {
        if (n == cap - 1) {
            if (cap > max_bytes + 1) {
                break;
            }
            cap = cap * 2 > max_bytes + 2 ? max_bytes + 2 : cap * 2;
            data = xrealloc(data, cap);
        }
        ssize_t r = read(fd, data + n, cap - 1 - n);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            int saved = errno;
            free(data);
            close(fd);
            return err_set(err, "cannot read the file: %s", strerror(saved));
        }
        if (r == 0) {
            break;
        }
        n += (size_t)r;
    }
    close(fd);
    data[n] = '\0';
    *buf = data;
    *len = n;
    return 1;
}
