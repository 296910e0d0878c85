/* depth_scan.c -- a linear byte scan that refuses YAML nested too deep, before libyaml. */
#include "parser/depth_scan.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "parser/record.h"

/*
 * The depth scan: one pass that counts only what is certainly structure, so that its
 * count is a lower bound of the true depth. Hostile flow nesting ("[[[[...", which libyaml
 * parses in quadratic time) is refused in linear time before libyaml sees it; block
 * nesting and anything subtler is left to the exact check in yaml_json.c. Tracked:
 *  - block depth: a stack of the columns of open block collections ("- " and "? "
 *    entries, "key:" lines), popped by lines indented no deeper;
 *  - flow depth: '[' and '{' where a node starts, and inside flow collections, outside
 *    quoted scalars and comments.
 * Lines that cannot hold structure are skipped: block scalars (| and >) and the
 * continuation lines of multi-line plain scalars (where "[" is just text).
 */
struct scan {
    const char *s;
    size_t len;
    size_t cols[PARSE_MAX_DEPTH + 2];
    int ncols;
    int flow;
};

/*
 * Only flow depth (and a chain of "- " entries on one line, below) refuses. Indented block
 * depth costs libyaml nothing (64 KiB hold at most ~360 indented levels) and a column stack is not
 * a sure lower bound of how libyaml nests lines dedented to odd columns (fuzzing found "k44:" at
 * column 44 followed by "k45:" at 43, which libyaml hangs two levels below the root); the exact
 * check in yaml_json.c rejects deep block nesting with the same message. The block columns are
 * still tracked: they tell where a value starts, hence where a '[' opens a collection.
 */
static bool
too_deep(const struct scan *sc)
{
    return sc->flow > PARSE_MAX_DEPTH;
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

static size_t
skip_token(const char *s, size_t le, size_t i)
{
    while (i < le && !is_blank(s[i])) {
        i++;
    }
    while (i < le && (s[i] == ' ' || s[i] == '\t')) {
        i++;
    }
    return i;
}

/*
 * From a flow collection's opening bracket at i, across lines, to just after its closer
 * (or the end). A quote opens a quoted scalar only where a node starts (after an opening
 * bracket, ',', ':', '?', or an anchor or tag); elsewhere it is part of a plain scalar.
 */
static size_t
scan_flow(struct scan *sc, size_t i)
{
    const char *s = sc->s;
    bool node_start = false;

    while (i < sc->len) {
        char c = s[i];

        if (is_blank(c)) {
            i++;
            continue;
        }
        if ((c == '"' || c == '\'') && node_start) {
            i = skip_quoted(s, sc->len, i);
            node_start = false;
            continue;
        }
        if (c == '#' && is_blank(s[i - 1])) {
            const char *nl = memchr(s + i, '\n', sc->len - i);

            i = nl ? (size_t)(nl - s) : sc->len;
            continue;
        }
        if ((c == '&' || c == '!') && node_start) {
            while (i < sc->len && !is_blank(s[i]) && !memchr(",[]{}", s[i], 5)) {
                i++;
            }
            continue;
        }
        node_start = false;
        if (c == '[' || c == '{') {
            sc->flow++;
            node_start = true;
            if (too_deep(sc)) {
                return SIZE_MAX;
            }
        } else if (c == ']' || c == '}') {
            i++;
            if (--sc->flow == 0) {
                return i;
            }
            continue;
        } else if (c == ',' || c == ':' || c == '?') {
            node_start = true;
        }
        i++;
    }
    return i;
}

int
depth_scan_check(const char *yaml, size_t len, struct err *err)
{
    struct scan sc = {.s = yaml, .len = len};
    size_t i = 0;
    bool skipping = false; /* inside a block scalar or a multi-line plain scalar */
    long skip_col = -1;    /* ... whose lines are indented more than this */

    while (i < len) {
        size_t ls = i, lead, le;
        long parent;
        const char *nl = memchr(yaml + i, '\n', len - i);

        le = nl ? (size_t)(nl - yaml) : len;
        while (i < le && yaml[i] == ' ') {
            i++;
        }
        lead = i - ls;
        if (i == le || is_blank(yaml[i]) || yaml[i] == '#') {
            i = le + 1; /* blank or comment line (a tab-led line is no structure either) */
            continue;
        }
        if (skipping && (long)lead > skip_col) {
            i = le + 1;
            continue;
        }
        skipping = false;
        while (sc.ncols > 0 && sc.cols[sc.ncols - 1] >= lead) {
            sc.ncols--;
        }
        parent = sc.ncols > 0 ? (long)sc.cols[sc.ncols - 1] : -1;
        /* "- " and "? " entries, possibly several on one line ("- - x"): entries after the
         * first on one line are certainly nested in it, two bytes a level, so a long chain
         * is refused here like deep flow nesting. */
        int compact = 0;
        while (i < le && (yaml[i] == '-' || yaml[i] == '?') &&
               (i + 1 == le || is_blank(yaml[i + 1]))) {
            push_col(&sc, i - ls);
            parent = (long)(i - ls);
            i = skip_token(yaml, le, i);
            if (++compact > PARSE_MAX_DEPTH) {
                goto deep;
            }
        }
        /* The nodes on the rest of the line: "key: key: value" at most, then one value. */
        while (i < le && !too_deep(&sc)) {
            size_t key_col = i - ls, e;
            char c;

            while (i < le && (yaml[i] == '&' || yaml[i] == '!')) {
                i = skip_token(yaml, le, i);
            }
            if (i >= le) {
                break;
            }
            c = yaml[i];
            if (c == '#' || c == '*' || c == '\r') {
                break;
            }
            if (c == '[' || c == '{') {
                size_t after = scan_flow(&sc, i);

                if (after == SIZE_MAX) {
                    goto deep;
                }
                /* Resume on the line after the collection's last one. */
                nl = after < len ? memchr(yaml + after, '\n', len - after) : NULL;
                le = nl ? (size_t)(nl - yaml) : len;
                break;
            }
            if (c == '|' || c == '>') {
                skipping = true;
                skip_col = (long)lead;
                break;
            }
            if (c == '"' || c == '\'') {
                e = skip_quoted(yaml, len, i);
                if (e > le) {
                    /* A quoted scalar over several lines: go on from its last line. */
                    nl = memchr(yaml + e, '\n', len - e);
                    le = nl ? (size_t)(nl - yaml) : len;
                    ls = e;
                }
                while (e < le && (yaml[e] == ' ' || yaml[e] == '\t')) {
                    e++;
                }
            } else {
                /* A plain scalar ends at ": " (it was a key) or " #". */
                for (e = i; e < le; e++) {
                    if (yaml[e] == ':' && (e + 1 == le || is_blank(yaml[e + 1]))) {
                        break;
                    }
                    if (yaml[e] == '#' && e > i && is_blank(yaml[e - 1])) {
                        e = le;
                        break;
                    }
                }
                if (e == le) {
                    /* A plain value: more indented lines continue it. */
                    skipping = true;
                    skip_col = parent;
                    break;
                }
            }
            if (e >= le || yaml[e] != ':' || (e + 1 < le && !is_blank(yaml[e + 1]))) {
                break; /* a quoted value */
            }
            push_col(&sc, key_col);
            parent = (long)key_col;
            i = e + 1;
            while (i < le && (yaml[i] == ' ' || yaml[i] == '\t')) {
                i++;
            }
        }
        if (too_deep(&sc)) {
            goto deep;
        }
        i = le + 1;
    }
    return 0;
deep:
    return err_set(err, PARSE_TOO_DEEP_FMT, PARSE_MAX_DEPTH);
}
