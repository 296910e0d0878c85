/* hash.h -- the 64-bit content hash kept in the agent's file state. */
#ifndef CO_HASH_H
#define CO_HASH_H

#include <stddef.h>
#include <stdint.h>

/*
 * A fast non-cryptographic 64-bit hash of len bytes (FNV-1a over 8-byte words with a
 * final mix). It only decides "did these bytes change since the last sync": whoever can
 * write a file under the root can change its rows anyway, so collisions made on purpose
 * win nothing.
 */
uint64_t hash64(const void *data, size_t len);

#endif
