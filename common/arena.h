/* arena.h -- a bump allocator for many small objects that live and die together. */
#ifndef CO_ARENA_H
#define CO_ARENA_H

#include <stddef.h>

/*
 * Objects are carved from blocks of ARENA_BLOCK bytes (larger ones get a block of their own)
 * and freed all at once by arena_release: no per-object header, and no long-lived object
 * left among the holes of short-lived ones in the malloc heap (which would keep the heap,
 * and the process, at its peak size). The agent keeps one record per file of the tree this
 * way.
 */
struct arena {
    struct arena_block *blocks; /* newest first */
    char *next;                 /* free space in the newest block */
    size_t left;
    size_t bytes; /* allocated from the system, for status lines and tests */
};

#define ARENA_INIT                                                                                 \
    {                                                                                              \
        NULL, NULL, 0, 0                                                                           \
    }

/* size zeroed bytes, aligned for integers and pointers (8 bytes), owned by the arena (never
 * NULL: aborts when memory is exhausted). */
void *arena_alloc(struct arena *a, size_t size);
/* Free every block; the arena is empty and reusable. */
void arena_release(struct arena *a);

#endif
