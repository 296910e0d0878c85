/* pgversion.h -- libpq's version numbers as the agent writes them: "15.4". */
#ifndef CO_PGVERSION_H
#define CO_PGVERSION_H

#include <stddef.h>

/* Room for any text pgversion_text writes. */
#define PGVERSION_TEXT_MAX 32

/*
 * A version number as libpq gives it (PQlibVersion, PQserverVersion: 150004) as
 * "MAJOR.MINOR" ("15.4") in buf of size bytes (PGVERSION_TEXT_MAX holds any). Returns buf.
 */
const char *pgversion_text(int v, char *buf, size_t size);

/* The linked libpq's version (PQlibVersion) as pgversion_text writes it. Returns buf. */
const char *pgversion_lib(char *buf, size_t size);

#endif
