/* scan.h -- walking the tree and reading its files without ever following a symbolic link. */
#ifndef CO_SCAN_H
#define CO_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/strbuf.h"
#include "parser/record.h"

/* What a path relative to the root is: brief candidate, lesson or ignored. */
static inline enum file_kind
scan_kind(const char *rel)
{
    size_t course_len;

    return tree_classify(rel, &course_len);
}

/* A regular file of the tree, as lstat saw it. */
struct scan_file {
    /* path below the course directory ("lessons/1.1-intro.md"), heap: the course's name is
     * held once, by the listing (scan_file_path gives the path from the root) */
    char *rel;
    int64_t size;
    int64_t mtime_ns;
    bool
        is_brief; /* the course's chosen brief (COURSE-BRIEF.md, else the first COURSE-BRIEF*.md) */
};

/* One course: its chosen brief (if any) and every lesson, sorted by path. */
struct scan_course {
    char *name; /* the course slug, heap */
    struct scan_file *files;
    size_t nfiles;
};

/*
 * Open the root directory; the fd anchors every later lookup (nothing resolves outside
 * it). Returns the fd (close it) or -1 with err. The first call reads fs.protected_hardlinks
 * (a warning in the log when it is not 1: scan_read then refuses files with several links).
 */
int scan_open_root(const char *root, struct err *err);

/*
 * The root exists and is a directory that can be opened: 0, or -1 with err naming the root
 * and what is wrong with it (a missing root suggests an unmounted volume or a wrong --root).
 */
int scan_check_root(const char *root, struct err *err);

/* The courses under the root: immediate, non-hidden, real directories, sorted (free with
 * scan_names_free). Returns the count, or -1 with err when the root cannot be read. */
long scan_course_names(int rootfd, char ***names, struct err *err);
void scan_names_free(char **names, size_t n);
/* Whether name is one of names[0, n). */
bool scan_names_has(char *const *names, size_t n, const char *name);

/*
 * List one course (brief and lessons). A course directory that is gone or not a real
 * directory yields 0 files. Unreadable subdirectories are skipped with a warning in the
 * log. Returns 0 or -1 (err) when the course directory exists but cannot be read.
 */
int scan_course(int rootfd, const char *course, struct scan_course *out, struct err *err);
void scan_course_release(struct scan_course *c);
/* The path of a listed file relative to the root ("<course>/<rel>"), written into sb (its
 * previous content replaced). Returns sb->buf. */
const char *scan_file_path(const struct scan_course *c, const struct scan_file *f,
                           struct strbuf *sb);

/*
 * The chosen brief of a course: its file name (heap), or NULL when it has none.
 */
char *scan_course_brief(int rootfd, const char *course);

/*
 * lstat rel below the root without following a link in any component. Returns 1 when it
 * is a regular file (size and mtime filled), 0 when it is absent or not a regular file,
 * -1 on another error (err).
 */
int scan_stat(int rootfd, const char *rel, int64_t *size, int64_t *mtime_ns, struct err *err);

/*
 * Read a regular file below the root: opened with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS) (or an equivalent O_NOFOLLOW walk on older kernels), so nothing
 * outside the root is ever read. Files above max_bytes are not read: *buf is NULL and
 * *len their size. Returns 1 with *buf (free()) and its stat, 0 when absent, -1 with err
 * (e.g. "permission denied", or a file with more than one hard link while
 * fs.protected_hardlinks is not 1).
 */
int scan_read(int rootfd, const char *rel, size_t max_bytes, char **buf, size_t *len,
              int64_t *mtime_ns, struct err *err);

#endif
