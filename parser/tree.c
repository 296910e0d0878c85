/* tree.c -- which paths below the root are briefs, lessons, or nothing (docs/CONTRACT.md,
 * "The tree"). */
#include <string.h>

#include "parser/record.h"

#define BRIEF_NAME "COURSE-BRIEF.md"
#define BRIEF_PREFIX "COURSE-BRIEF"
#define LESSONS_DIR "lessons"

static bool
ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);

    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* The ignore rule on a name of n bytes (not necessarily NUL-terminated). */
static bool
ignored_n(const char *name, size_t n)
{
    if (n == 0) {
        return true; /* "a//b" or a trailing slash: not a path we produce */
    }
    return name[0] == '.' || name[n - 1] == '~' || ends_with(name, n, ".swp") ||
           ends_with(name, n, ".tmp") || (name[0] == '#' && name[n - 1] == '#');
}

bool
tree_ignored_name(const char *name)
{
    return ignored_n(name, strlen(name));
}

int
tree_brief_rank(const char *name)
{
    return strcmp(name, BRIEF_NAME) == 0 ? 0 : 1;
}

enum file_kind
tree_classify(const char *rel, size_t *course_len)
{
    const char *comp[3] = {NULL, NULL, NULL}; /* the first two components, and the last */
    size_t clen[3] = {0, 0, 0};
    size_t ncomp = 0;
    const char *p = rel;

    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);

        if (ignored_n(p, n)) {
            return FILE_IGNORED;
        }
        if (ncomp < 2) {
            comp[ncomp] = p;
            clen[ncomp] = n;
        }
        comp[2] = p;
        clen[2] = n;
        ncomp++;
        if (slash == NULL) {
            break;
        }
        p = slash + 1;
    }
    if (ncomp == 2 && clen[1] >= strlen(BRIEF_NAME) &&
        memcmp(comp[1], BRIEF_PREFIX, strlen(BRIEF_PREFIX)) == 0 &&
        ends_with(comp[1], clen[1], ".md")) {
        *course_len = clen[0];
        return FILE_BRIEF_CANDIDATE;
    }
    if (ncomp >= 3 && clen[1] == strlen(LESSONS_DIR) &&
        memcmp(comp[1], LESSONS_DIR, clen[1]) == 0 && ends_with(comp[2], clen[2], ".md")) {
        *course_len = clen[0];
        return FILE_LESSON;
    }
    return FILE_IGNORED;
}
