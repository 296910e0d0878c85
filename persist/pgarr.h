/* pgarr.h -- one-dimensional PostgreSQL arrays in the binary wire format, for set-based statements.
 */
#ifndef CO_PGARR_H
#define CO_PGARR_H

#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"

/*
 * Binary arrays travel without escaping and without text parsing on the server: a body
 * goes over the wire as its own bytes. Build with pgarr_init, add elements, then pass
 * pgarr_data()/pgarr_len() as a parameter with format 1.
 */
struct pgarr {
    struct strbuf sb;
    uint32_t elem_oid;
    int32_t count;
};

#define PGARR_TEXT 25u
#define PGARR_INT8 20u

void pgarr_init(struct pgarr *a, uint32_t elem_oid);
void pgarr_release(struct pgarr *a);
/* Empty the array for reuse, keeping its buffer. */
void pgarr_reset(struct pgarr *a);
void pgarr_add_text(struct pgarr *a, const char *s, size_t len);
/* s may be NULL (adds NULL). */
void pgarr_add_str(struct pgarr *a, const char *s);
void pgarr_add_int8(struct pgarr *a, int64_t v);
void pgarr_add_null(struct pgarr *a);
/* The finished bytes (the header is written in place); borrowed until the next add. */
const char *pgarr_data(struct pgarr *a);
int pgarr_len(const struct pgarr *a);

#endif
