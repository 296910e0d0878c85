/* yaml_json.h -- YAML front-matter to cJSON under the YAML 1.2 core schema, via libyaml. */
#ifndef CO_YAML_JSON_H
#define CO_YAML_JSON_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "common/err.h"

/* What a scalar resolved to (YJ_COLLECTION: a mapping or a sequence). */
enum yj_kind {
    YJ_NULL = 0,
    YJ_BOOL,
    YJ_INT,
    YJ_FLOAT,
    YJ_STRING,
    YJ_COLLECTION,
};

/*
 * One pair of the top-level mapping, in document order (a duplicate key appears again,
 * later: the last entry of a key is the one in the JSON). text is the scalar's own text
 * (quoted or not), so `lesson_id: 3.10` keeps "3.10" rather than the float 3.1.
 */
struct yj_top {
    char *key;
    char *text; /* NULL for collections */
    enum yj_kind kind;
};

/* A parsed front-matter: everything here is owned (yj_doc_release). */
struct yj_doc {
    cJSON *root; /* always an object after a successful yj_parse */
    struct yj_top *top;
    size_t ntop;
    char **warnings; /* duplicate keys */
    size_t nwarnings;
};

/*
 * Parse len bytes of YAML (UTF-8, without NUL bytes) whose first line is line first_line of
 * the file, so that errors name file lines. Fills *doc (zeroed first) and returns 0; returns
 * -1 with err set ("YAML error at line L, column C: ...", "front-matter is not a mapping",
 * "too many alias nodes (limit 10000)", "front-matter nested deeper than 64 levels"), and
 * *doc then holds nothing. Empty YAML gives an empty object.
 */
int yj_parse(const char *text, size_t len, size_t first_line, struct yj_doc *doc, struct err *err);

/* Free everything *doc owns; accepts a zeroed doc; leaves it zeroed. */
void yj_doc_release(struct yj_doc *doc);

/* The last top-level pair named key, or NULL. Borrowed from doc. */
const struct yj_top *yj_doc_top(const struct yj_doc *doc, const char *key);

#endif
