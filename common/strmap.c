/* strmap.c -- a small open-addressing map from borrowed byte strings to pointers. */
#include "common/strmap.h"

#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/strbuf.h"

void
strmap_release(struct strmap *m)
{
    free(m->ents);
    m->ents = NULL;
    m->cap = 0;
    m->n = 0;
}

/* A map's slot array of 100,000 paths is 6 MB; each byte of a slot counts. */
static struct strmap_ent *
slot_of(const struct strmap *m, const char *key, size_t len, uint32_t h)
{
    size_t mask = m->cap - 1;
    size_t i = (size_t)h & mask;

    for (;;) {
        struct strmap_ent *e = &m->ents[i];

        if (e->key == NULL || (e->hash == h && e->len == len && memcmp(e->key, key, len) == 0)) {
            return e;
        }
        i = (i + 1) & mask;
    }
}

static uint32_t
key_hash(const char *key, size_t len)
{
    return (uint32_t)hash64(key, len);
}

void **
strmap_find(const struct strmap *m, const char *key, size_t len)
{
    struct strmap_ent *e;

    if (m->cap == 0) {
        return NULL;
    }
    if (len > UINT32_MAX) {
        return NULL;
    }
    e = slot_of(m, key, len, key_hash(key, len));
    return e->key != NULL ? &e->val : NULL;
}

static void
grow(struct strmap *m)
{
    struct strmap_ent *old = m->ents;
    size_t oldcap = m->cap;

    m->cap = oldcap ? oldcap * 2 : 16;
    m->ents = xcalloc(m->cap, sizeof(*m->ents));
    for (size_t i = 0; i < oldcap; i++) {
        if (old[i].key != NULL) {
            *slot_of(m, old[i].key, old[i].len, old[i].hash) = old[i];
        }
    }
    free(old);
}

void
strmap_put(struct strmap *m, const char *key, size_t len, void *val)
{
    uint32_t h = key_hash(key, len);
    struct strmap_ent *e;

    if (len > UINT32_MAX) {
        return; /* never found anyway; see strmap.h */
    }
    /* Keep the load factor under 1/2 so that probes stay short. */
    if ((m->n + 1) * 2 > m->cap) {
        grow(m);
    }
    e = slot_of(m, key, len, h);
    if (e->key == NULL) {
        m->n++;
    }
    e->key = key;
    e->len = (uint32_t)len;
    e->hash = h;
    e->val = val;
}
