/* tree.c -- which paths below the root are briefs, lessons, or nothing (docs/CONTRACT.md,
 * "The tree"). */
#include <string.h>

#include "common/ignore.h"
#include "parser/record.h"

#define BRIEF_NAME "COURSE-BRIEF.md"
#define BRIEF_PREFIX "COURSE-BRIEF"
#define LESSONS_DIR "lessons"

/* A name of n bytes that ends in ".md". */
static bool
is_md(const char *s, size_t n)
{
    return n >= 3 && memcmp(s + n - 3, ".md", 3) == 0;
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

        if (ignore_name_n(p, n)) {
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
        memcmp(comp[1], BRIEF_PREFIX, strlen(BRIEF_PREFIX)) == 0 && is_md(comp[1], clen[1])) {
        *course_len = clen[0];
        return FILE_BRIEF_CANDIDATE;
    }
    if (ncomp >= 3 && clen[1] == strlen(LESSONS_DIR) &&
        memcmp(comp[1], LESSONS_DIR, clen[1]) == 0 && is_md(comp[2], clen[2])) {
        *course_len = clen[0];
        return FILE_LESSON;
    }
    return FILE_IGNORED;
}
