/* hash.c -- the 64-bit content hash kept in the agent's file state. */
#include "common/hash.h"

#include <string.h>

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static uint64_t
mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

uint64_t
hash64(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = FNV_OFFSET ^ (uint64_t)len;
    uint64_t w;

    while (len >= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * FNV_PRIME;
        h = (h << 31) | (h >> 33);
        p += 8;
        len -= 8;
    }
    while (len > 0) {
        h = (h ^ *p++) * FNV_PRIME;
        len--;
    }
    return mix64(h);
}
