/* tags.c -- a file's tags from its front-matter: a list or a comma-separated string. */
#include "parser/tags.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "common/strmap.h"
#include "parser/record.h"

/* The tag list being built, and the names it holds (keys borrowed from the tags). */
struct tag_set {
    struct tag **tags;
    size_t *ntags;
    struct strmap seen;
};

static bool
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* A tag is its name (tags.name is unique and case-sensitive): trimmed; empty ones and
 * repeats dropped. */
static void
add_tag(struct tag_set *ts, const char *s, size_t n)
{
    struct tag *t;

    while (n > 0 && is_space(s[0])) {
        s++, n--;
    }
    while (n > 0 && is_space(s[n - 1])) {
        n--;
    }
    if (n == 0 || strmap_find(&ts->seen, s, n) != NULL) {
        return;
    }
    *ts->tags = xrealloc(*ts->tags, (*ts->ntags + 1) * sizeof(**ts->tags));
    t = &(*ts->tags)[(*ts->ntags)++];
    t->name = xstrndup(s, n);
    strmap_put(&ts->seen, t->name, n, t->name);
}

void
tags_parse(const cJSON *fm, struct tag **tags, size_t *ntags)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(fm, "tags");
    struct tag_set ts = {.tags = tags, .ntags = ntags, .seen = STRMAP_INIT};
    const cJSON *it;

    if (cJSON_IsArray(v)) {
        cJSON_ArrayForEach(it, v)
        {
            if (cJSON_IsString(it)) {
                add_tag(&ts, it->valuestring, strlen(it->valuestring));
            }
        }
    } else if (cJSON_IsString(v)) {
        const char *s = v->valuestring;

        for (;;) {
            const char *comma = strchr(s, ',');
            size_t n = comma ? (size_t)(comma - s) : strlen(s);

            add_tag(&ts, s, n);
            if (comma == NULL) {
                break;
            }
            s = comma + 1;
        }
    }
    strmap_release(&ts.seen);
}

void
tags_free(struct tag *tags, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(tags[i].name);
    }
    free(tags);
}
