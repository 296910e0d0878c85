/* frontmatter.c -- find the YAML front-matter and the body in a markdown file's bytes. */
#include "parser/frontmatter.h"

#include <string.h>

#include "parser/depth_scan.h"
#include "parser/record.h"

/*
 * Does a delimiter line (marker, then spaces/tabs, then LF, CRLF or, when at_eof_ok, the
 * end of the buffer) start at pos? On a match *next is the offset after it.
 */
static bool
delim_at(const char *buf, size_t len, size_t pos, const char *marker, bool at_eof_ok, size_t *next)
{
    size_t i = pos + 3;

    if (len - pos < 3 || memcmp(buf + pos, marker, 3) != 0) {
        return false;
    }
    while (i < len && (buf[i] == ' ' || buf[i] == '\t')) {
        i++;
    }
    if (i == len) {
        *next = len;
        return at_eof_ok;
    }
    if (buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n') {
        i++;
    }
    if (buf[i] != '\n') {
        return false;
    }
    *next = i + 1;
    return true;
}

int
fm_split(const char *buf, size_t len, struct fm_split *out, struct err *err)
{
    size_t pos = 0, ls, next;

    memset(out, 0, sizeof(*out));
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {
        pos = 3;
    }
    if (!delim_at(buf, len, pos, "---", false, &next)) {
        out->body = buf + pos;
        out->body_len = len - pos;
        return 0;
    }
    ls = next;
    out->yaml_line = 2;
    for (;;) {
        const char *nl;
        size_t close_next;

        if (delim_at(buf, len, ls, "---", true, &close_next) ||
            delim_at(buf, len, ls, "...", true, &close_next)) {
            out->has_fm = true;
            out->yaml = buf + next;
            out->yaml_len = ls - next;
            out->body = buf + close_next;
            out->body_len = len - close_next;
            return 0;
        }
        nl = memchr(buf + ls, '\n', len - ls);
        if (nl == NULL) {
            return err_set(err, "unterminated front-matter (no closing --- line)");
        }
        ls = (size_t)(nl - buf) + 1;
    }
}

int
fm_check_limits(const char *yaml, size_t len, struct err *err)
{
    if (len > PARSE_MAX_FRONT_MATTER_BYTES) {
        return err_set(err, "front-matter above 64 KiB (%zu bytes)", len);
    }
    return depth_scan_check(yaml, len, err);
}
