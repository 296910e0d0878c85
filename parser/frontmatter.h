/* frontmatter.h -- find the YAML front-matter and the body in a markdown file's bytes. */
#ifndef CO_FRONTMATTER_H
#define CO_FRONTMATTER_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

/* Pointers into the caller's buffer: nothing here is owned. */
struct fm_split {
    bool has_fm;      /* an opening "---" line was found (and closed) */
    const char *yaml; /* the YAML text between the delimiter lines */
    size_t yaml_len;
    size_t yaml_line; /* 1-based line of the file where yaml starts */
    const char *body; /* everything after the closing line (or the whole text) */
    size_t body_len;
};

/*
 * Split buf: an optional UTF-8 BOM, a "---" line, YAML, a "---" or "..." line (trailing
 * spaces/tabs and CRLF allowed), then the body verbatim. Without an opening line the body
 * is all of buf but the BOM. Returns 0, or -1 when the front-matter is not closed.
 */
int fm_split(const char *buf, size_t len, struct fm_split *out, struct err *err);

/*
 * The cheap guards run before libyaml sees the YAML: -1 when it is above
 * PARSE_MAX_FRONT_MATTER_BYTES, or when a byte scan finds structure nested deeper than
 * PARSE_MAX_DEPTH. The scan never over-counts; the YAML converter checks depth exactly.
 */
int fm_check_limits(const char *yaml, size_t len, struct err *err);

#endif
