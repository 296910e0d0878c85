/* pgversion.c -- libpq's version numbers as the agent writes them. */
#include "persist/pgversion.h"

#include <stdio.h>

#include <libpq-fe.h>

const char *
pgversion_text(int v, char *buf, size_t size)
{
    snprintf(buf, size, "%d.%d", v / 10000, v % 10000);
    return buf;
}

const char *
pgversion_lib(char *buf, size_t size)
{
    return pgversion_text(PQlibVersion(), buf, size);
}
