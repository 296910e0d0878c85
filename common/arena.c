/* arena.c -- a bump allocator for many small objects that live and die together. */
#include "common/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"

/* Above glibc's mmap threshold: each block is a mapping of its own, apart from the heap. */
#define ARENA_BLOCK (256 * 1024)

struct arena_block {
    struct arena_block *next;
    alignas(uint64_t) char data[];
};

void *
arena_alloc(struct arena *a, size_t size)
{
    size_t align = alignof(uint64_t);
    size_t need = (size + align - 1) / align * align;
    char *p;

    if (need == 0) {
        need = align;
    }
    if (need > a->left) {
        size_t cap = need > ARENA_BLOCK / 4 ? need : ARENA_BLOCK - sizeof(struct arena_block);
        struct arena_block *b = xmalloc(sizeof(*b) + cap);
        a->bytes += sizeof(*b) + cap;
        if (need > ARENA_BLOCK / 4 && a->blocks != NULL) {
            /* a large object: its own block, behind the current one, which keeps its room */
            b->next = a->blocks->next;
            a->blocks->next = b;
            memset(b->data, 0, size);
            return b->data;
        }
        b->next = a->blocks;
        a->blocks = b;
        a->next = b->data;
        a->left = cap;
    }
    p = a->next;
    a->next += need;
    a->left -= need;
    memset(p, 0, size);
    return p;
}

void
arena_release(struct arena *a)
{
    struct arena_block *b = a->blocks, *next;

    for (; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
    a->blocks = NULL;
    a->next = NULL;
    a->left = 0;
    a->bytes = 0;
}
