/* tags.h -- a file's tags from its front-matter (docs/CONTRACT.md, "Rows"). */
#ifndef CO_TAGS_H
#define CO_TAGS_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct tag;

/*
 * The tags of the front-matter object fm: its `tags` as a list of strings (other items
 * skipped) or as one comma-separated string. Each is trimmed of white space; empty ones and
 * repeats (case-sensitive) are dropped, the first of each kept in order. Appends to *tags
 * (xrealloc'd; *ntags its length): free them with tags_free.
 */
void tags_parse(const cJSON *fm, struct tag **tags, size_t *ntags);

/* Free n tags and the array; accepts NULL with n 0. */
void tags_free(struct tag *tags, size_t n);

#endif
