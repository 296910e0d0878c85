/* pgarr.c -- one-dimensional PostgreSQL arrays in the binary wire format. */
#include "persist/pgarr.h"

#include <arpa/inet.h>
#include <string.h>

/* ndim, has-nulls flag, element type, then one dimension: size and lower bound. */
#define HEADER_BYTES 20

static void
put32(char *p, uint32_t v)
{
    v = htonl(v);
    memcpy(p, &v, 4);
}

void
pgarr_init(struct pgarr *a, uint32_t elem_oid)
{
    strbuf_init(&a->sb, 256);
    a->elem_oid = elem_oid;
    pgarr_reset(a);
}

void
pgarr_release(struct pgarr *a)
{
    strbuf_release(&a->sb);
    a->count = 0;
}

void
pgarr_reset(struct pgarr *a)
{
    static const char zero[HEADER_BYTES];

    strbuf_reset(&a->sb);
    strbuf_add(&a->sb, zero, HEADER_BYTES);
    a->count = 0;
}

static void
add_len(struct pgarr *a, int32_t len)
{
    char b[4];

    put32(b, (uint32_t)len);
    strbuf_add(&a->sb, b, 4);
}

void
pgarr_add_text(struct pgarr *a, const char *s, size_t len)
{
    add_len(a, (int32_t)len);
    strbuf_add(&a->sb, s, len);
    a->count++;
}

void
pgarr_add_str(struct pgarr *a, const char *s)
{
    if (s == NULL) {
        pgarr_add_null(a);
    } else {
        pgarr_add_text(a, s, strlen(s));
    }
}

void
pgarr_add_int8(struct pgarr *a, int64_t v)
{
    char b[8];

    put32(b, (uint32_t)((uint64_t)v >> 32));
    put32(b + 4, (uint32_t)v);
    add_len(a, 8);
    strbuf_add(&a->sb, b, 8);
    a->count++;
}

void
pgarr_add_null(struct pgarr *a)
{
    add_len(a, -1);
    a->count++;
}

const char *
pgarr_data(struct pgarr *a)
{
    char *h = a->sb.buf;

    /* An empty array is sent as zero dimensions, as the server itself writes it. */
    put32(h, a->count > 0 ? 1 : 0);
    put32(h + 4, 0); /* the flag is advisory; the server scans for NULLs itself */
    put32(h + 8, a->elem_oid);
    put32(h + 12, (uint32_t)a->count);
    put32(h + 16, 1);
    return h;
}

int
pgarr_len(const struct pgarr *a)
{
    return a->count > 0 ? (int)a->sb.len : 12;
}
