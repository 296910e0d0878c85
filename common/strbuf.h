/* strbuf.h -- a growable byte string, after git's strbuf. */
#ifndef CO_STRBUF_H
#define CO_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

/*
 * buf is never NULL (an empty strbuf points at a shared "") and always NUL-terminated;
 * len excludes the terminator. Embedded NULs are allowed (len is the truth).
 * Allocation failure aborts: a daemon out of memory cannot do anything useful.
 */
struct strbuf {
    char *buf;
    size_t len;
    size_t alloc;
};

#define STRBUF_INIT                                                                                \
    {                                                                                              \
        strbuf_empty, 0, 0                                                                         \
    }
extern char strbuf_empty[];

void strbuf_init(struct strbuf *sb, size_t hint);
/* Free the buffer; sb is empty and reusable afterwards. */
void strbuf_release(struct strbuf *sb);
/* Make room for extra more bytes beyond len. */
void strbuf_grow(struct strbuf *sb, size_t extra);
/* Hand the buffer to the caller (free() it); sb is reset. Never returns NULL. */
char *strbuf_detach(struct strbuf *sb, size_t *len);
void strbuf_reset(struct strbuf *sb);
void strbuf_setlen(struct strbuf *sb, size_t len);

void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, int c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Append s as a JSON string literal (quotes included); invalid UTF-8 bytes become U+FFFD. */
void strbuf_add_json_str(struct strbuf *sb, const char *s, size_t len);

/* Append s with control characters and backslashes escaped (\n, \t, \\, \xNN): one
 * printable line whatever s holds. */
void strbuf_add_escaped(struct strbuf *sb, const char *s, size_t len);

/*
 * Append s with every occurrence of each needle (n of them, longest first is the caller's
 * choice of order: the first needle that matches at a position wins) replaced by "***".
 * Empty needles are ignored.
 */
void strbuf_add_masked(struct strbuf *sb, const char *s, size_t len, const char *const *needles,
                       size_t n);

/* Say on stderr that `what` (a library allocating on its own: "cJSON", "libyaml") ran out
 * of memory, and abort: the xmalloc family's answer, for what they do not allocate. */
void xoom(const char *what) __attribute__((noreturn));

/* Duplicate len bytes into a new NUL-terminated heap string (free()). Aborts on OOM. */
char *xstrndup(const char *s, size_t len);
char *xstrdup(const char *s);
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);

#endif
