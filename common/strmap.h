/* strmap.h -- a small open-addressing map from borrowed byte strings to pointers. */
#ifndef CO_STRMAP_H
#define CO_STRMAP_H

#include <stddef.h>
#include <stdint.h>

/*
 * Keys are borrowed: the caller keeps each key's bytes alive and unchanged while it is in
 * the map. Values are opaque pointers the map never frees. Used where a linear search
 * would turn hostile input quadratic (duplicate keys, anchors, tag slugs).
 */
struct strmap_ent {
    const char *key; /* NULL: empty slot */
    void *val;
    uint32_t len;  /* keys are shorter than 4 GiB (a longer one is never found) */
    uint32_t hash; /* the low half of hash64(key): 24 bytes a slot, not 32 */
};

struct strmap {
    struct strmap_ent *ents;
    size_t cap; /* 0 or a power of two */
    size_t n;
};

#define STRMAP_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Free the slot array (not the keys or values); the map is empty and reusable. */
void strmap_release(struct strmap *m);
/* The value slot of key, or NULL when absent. */
void **strmap_find(const struct strmap *m, const char *key, size_t len);
/* Insert key -> val, or replace the value (and the borrowed key pointer) when present. */
void strmap_put(struct strmap *m, const char *key, size_t len, void *val);

#endif
