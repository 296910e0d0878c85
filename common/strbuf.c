/* strbuf.c -- a growable byte string, after git's strbuf. */
#include "common/strbuf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char strbuf_empty[1];

static void die_oom(size_t n) __attribute__((noreturn));

static void
die_oom(size_t n)
{
    char what[64];

    snprintf(what, sizeof(what), "allocating %zu bytes", n);
    xoom(what);
}

void
xoom(const char *what)
{
    fprintf(stderr, "creatoros-agent: out of memory (%s)\n", what);
    abort();
}

void *
xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (p == NULL) {
        die_oom(n);
    }
    return p;
}

void *
xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (p == NULL) {
        die_oom(n * size);
    }
    return p;
}

void *
xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (q == NULL) {
        die_oom(n);
    }
    return q;
}

char *
xstrndup(const char *s, size_t len)
{
    char *p = xmalloc(len + 1);

    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *
xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

void
strbuf_init(struct strbuf *sb, size_t hint)
{
    sb->buf = strbuf_empty;
    sb->len = 0;
    sb->alloc = 0;
    if (hint) {
        strbuf_grow(sb, hint);
    }
}

void
strbuf_release(struct strbuf *sb)
{
    if (sb->alloc) {
        free(sb->buf);
    }
    strbuf_init(sb, 0);
}

void
strbuf_grow(struct strbuf *sb, size_t extra)
{
    size_t need = sb->len + extra + 1;

    if (need < sb->len) {
        die_oom(SIZE_MAX);
    }
    if (need <= sb->alloc) {
        return;
    }
    size_t alloc = sb->alloc ? sb->alloc : 64;
    while (alloc < need) {
        alloc = alloc * 3 / 2 + 16;
    }
    if (sb->alloc == 0) {
        sb->buf = xmalloc(alloc);
        sb->buf[0] = '\0';
    } else {
        sb->buf = xrealloc(sb->buf, alloc);
    }
    sb->alloc = alloc;
}

char *
strbuf_detach(struct strbuf *sb, size_t *len)
{
    char *p;

    strbuf_grow(sb, 0);
    p = sb->buf;
    if (len != NULL) {
        *len = sb->len;
    }
    strbuf_init(sb, 0);
    return p;
}

void
strbuf_reset(struct strbuf *sb)
{
    strbuf_setlen(sb, 0);
}

void
strbuf_setlen(struct strbuf *sb, size_t len)
{
    if (sb->alloc == 0) {
        return;
    }
    sb->len = len < sb->len ? len : sb->len;
    sb->buf[sb->len] = '\0';
}

void
strbuf_add(struct strbuf *sb, const void *data, size_t len)
{
    if (len == 0) {
        return;
    }
    strbuf_grow(sb, len);
    memcpy(sb->buf + sb->len, data, len);
    sb->len += len;
    sb->buf[sb->len] = '\0';
}

void
strbuf_addstr(struct strbuf *sb, const char *s)
{
    strbuf_add(sb, s, strlen(s));
}

void
strbuf_addch(struct strbuf *sb, int c)
{
    strbuf_grow(sb, 1);
    sb->buf[sb->len++] = (char)c;
    sb->buf[sb->len] = '\0';
}

void
strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
    va_list cp;
    int n;

    strbuf_grow(sb, 64);
    va_copy(cp, ap);
    n = vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, cp);
    va_end(cp);
    if (n < 0) {
        return;
    }
    if ((size_t)n >= sb->alloc - sb->len) {
        strbuf_grow(sb, (size_t)n);
        n = vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, ap);
    }
    sb->len += (size_t)n;
}

void
strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    strbuf_vaddf(sb, fmt, ap);
    va_end(ap);
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when it is not valid. */
static size_t
utf8_seq_len(const unsigned char *s, size_t avail)
{
    unsigned c = s[0];
    size_t n;
    unsigned min;
    unsigned cp;

    if (c < 0x80) {
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        n = 2, min = 0x80, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3, min = 0x800, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4, min = 0x10000, cp = c & 0x07;
    } else {
        return 0;
    }
    if (n > avail) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return n;
}

void
strbuf_add_json_str(struct strbuf *sb, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    strbuf_grow(sb, len + 2);
    strbuf_addch(sb, '"');
    while (i < len) {
        unsigned c = p[i];
        size_t n;

        if (c == '"' || c == '\\') {
            strbuf_addch(sb, '\\');
            strbuf_addch(sb, (int)c);
            i++;
        } else if (c < 0x20 || c == 0x7F) {
            switch (c) {
            case '\n':
                strbuf_addstr(sb, "\\n");
                break;
            case '\r':
                strbuf_addstr(sb, "\\r");
                break;
            case '\t':
                strbuf_addstr(sb, "\\t");
                break;
            default:
                strbuf_addstr(sb, "\\u00");
                strbuf_addch(sb, hex[c >> 4]);
                strbuf_addch(sb, hex[c & 15]);
                break;
            }
            i++;
        } else if (c < 0x80) {
            strbuf_addch(sb, (int)c);
            i++;
        } else if ((n = utf8_seq_len(p + i, len - i)) != 0) {
            strbuf_add(sb, p + i, n);
            i += n;
        } else {
            strbuf_addstr(sb, "\\ufffd");
            i++;
        }
    }
    strbuf_addch(sb, '"');
}

void
strbuf_add_escaped(struct strbuf *sb, const char *s, size_t len)
{
    strbuf_grow(sb, len);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') {
            strbuf_addstr(sb, "\\n");
        } else if (c == '\t') {
            strbuf_addstr(sb, "\\t");
        } else if (c == '\r') {
            strbuf_addstr(sb, "\\r");
        } else if (c == '\\') {
            strbuf_addstr(sb, "\\\\");
        } else if (c < 0x20 || c == 0x7F) {
            strbuf_addf(sb, "\\x%02x", c);
        } else {
            strbuf_addch(sb, (int)c);
        }
    }
}

void
strbuf_add_masked(struct strbuf *sb, const char *s, size_t len, const char *const *needles,
                  size_t n)
{
    size_t i = 0, plain = 0;

    strbuf_grow(sb, len);
    while (i < len) {
        size_t hit = 0;
        for (size_t k = 0; k < n && hit == 0; k++) {
            size_t nl = strlen(needles[k]);
            if (nl > 0 && nl <= len - i && memcmp(s + i, needles[k], nl) == 0) {
                hit = nl;
            }
        }
        if (hit == 0) {
            i++;
            continue;
        }
        strbuf_add(sb, s + plain, i - plain);
        strbuf_addstr(sb, "***");
        i += hit;
        plain = i;
    }
    strbuf_add(sb, s + plain, len - plain);
}
