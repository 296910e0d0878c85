/* err.c -- filling struct err. */
#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
err_set(struct err *err, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (err == NULL) {
        return -1;
    }
    va_start(ap, fmt);
    n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof(err->msg)) {
        memcpy(err->msg + sizeof(err->msg) - 4, "...", 4);
    }
    return -1;
}

void
err_bug(const char *fmt, ...)
{
    va_list ap;

    fputs("creatoros-agent: bug: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}
