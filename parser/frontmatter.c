/* frontmatter.c -- find the YAML front-matter and the body in a markdown file's bytes. */
#include "parser/frontmatter.h"

#include <string.h>

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

/*
 * The depth scan. It walks the YAML once, tracking:
 *  - flow depth: '[' and '{' opening a node (at a token start in block context, anywhere
 *    in flow context) minus their closers, outside quoted scalars and comments;
 *  - block depth: a stack of the columns of lines that open a block node (a "- " or "? "
 *    entry, or a "key:"), popped by less indented lines; block scalars (| and >) skipped.
 * Each counted level is a real collection level, so the sum is a lower bound of the true
 * depth: hostile input ("[[[[..." or "- - - - ...") is refused in linear time, and valid
 * YAML near the limit is left to the exact check in yaml_json.c.
 */
struct scan {
    const char *s;
    size_t len;
    size_t cols[PARSE_MAX_DEPTH + 2];
    int ncols;
    int flow;
};

static bool
too_deep(const struct scan *sc)
{
    return sc->ncols + sc->flow > PARSE_MAX_DEPTH;
}

static void
push_col(struct scan *sc, size_t col)
{
    if (sc->ncols < PARSE_MAX_DEPTH + 1) {
        sc->cols[sc->ncols++] = col;
    }
}

static bool
is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Skip a quoted scalar starting at i (the quote); returns the offset after it. */
static size_t
skip_quoted(const char *s, size_t len, size_t i)
{
    char q = s[i++];

    while (i < len) {
        if (q == '"' && s[i] == '\\') {
            i += 2;
            continue;
        }
        if (s[i] == q) {
            if (q == '\'' && i + 1 < len && s[i + 1] == '\'') {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i++;
    }
    return len;
}

int
fm_check_limits(const char *yaml, size_t len, struct err *err)
{
    struct scan sc = {.s = yaml, .len = len};
    size_t i = 0;
    long scalar_indent = -1; /* inside a block scalar: skip lines indented more than this */

    if (len > PARSE_MAX_FRONT_MATTER_BYTES) {
        return err_set(err, "front-matter above 64 KiB (%zu bytes)", len);
    }
    while (i < len) {
        size_t ind = 0, lead, le;
        const char *nl;
        bool line_start = true, key_seen = false;

        while (i < len && yaml[i] == ' ') {
            i++, ind++;
        }
        lead = ind;
        nl = memchr(yaml + i, '\n', len - i);
        le = nl ? (size_t)(nl - yaml) : len;
        if (scalar_indent >= 0) {
            bool blank = true;
            for (size_t k = i; k < le; k++) {
                if (!is_blank(yaml[k])) {
                    blank = false;
                    break;
                }
            }
            if (blank || (long)ind > scalar_indent) {
                i = le + 1;
                continue;
            }
            scalar_indent = -1;
        }
        if (sc.flow == 0 && i < le && yaml[i] != '#' && !is_blank(yaml[i])) {
            while (sc.ncols > 0 && sc.cols[sc.ncols - 1] >= ind) {
                sc.ncols--;
            }
            /* "- " and "? " entries, possibly several on one line ("- - x"). */
            while (i < le && (yaml[i] == '-' || yaml[i] == '?') &&
                   (i + 1 == le || is_blank(yaml[i + 1]))) {
                push_col(&sc, ind);
                i++, ind++;
                while (i < le && yaml[i] == ' ') {
                    i++, ind++;
                }
            }
        }
        while (i < le) {
            char c = yaml[i];
            bool tok = line_start || is_blank(yaml[i - 1]);

            line_start = false;
            if (c == '#' && tok) {
                break; /* a comment runs to the end of the line */
            }
            if ((c == '"' || c == '\'') && (tok || (sc.flow && memchr("[{,:", yaml[i - 1], 4)))) {
                size_t e = skip_quoted(yaml, len, i);
                /* A quoted scalar may span lines: resume after it, on its last line. */
                if (e > le) {
                    nl = memchr(yaml + e, '\n', len - e);
                    le = nl ? (size_t)(nl - yaml) : len;
                }
                i = e;
                continue;
            }
            if (sc.flow > 0) {
                if (c == '[' || c == '{') {
                    sc.flow++;
                } else if (c == ']' || c == '}') {
                    sc.flow--;
                }
            } else if ((c == '[' || c == '{') && tok) {
                sc.flow++;
            } else if (c == ':' && !key_seen && (i + 1 == le || is_blank(yaml[i + 1]))) {
                key_seen = true;
                push_col(&sc, ind);
            } else if ((c == '|' || c == '>') && tok) {
                scalar_indent = (long)lead;
                break;
            }
            if (too_deep(&sc)) {
                goto deep;
            }
            i++;
        }
        if (too_deep(&sc)) {
            goto deep;
        }
        i = le + 1;
    }
    return 0;
deep:
    return err_set(err, "front-matter nested deeper than %d levels", PARSE_MAX_DEPTH);
}
