/* utf8.h -- UTF-8 validation with the offset of the first bad byte, and iconv fallback. */
#ifndef CO_UTF8_H
#define CO_UTF8_H

#include <stddef.h>

#include "common/err.h"

#define UTF8_VALID ((size_t)-1)

/*
 * Offset of the first byte that does not start a well-formed UTF-8 sequence (overlongs,
 * surrogates and code points above U+10FFFF are ill-formed), or UTF8_VALID.
 */
size_t utf8_check(const char *s, size_t len);

/*
 * Convert len bytes from encoding from_enc (an iconv name) to UTF-8. On success *out is a
 * heap, NUL-terminated buffer (free()) of *out_len bytes and 0 is returned; on failure -1
 * with the reason (naming the byte offset) in err and *out NULL.
 */
int utf8_convert(const char *from_enc, const char *buf, size_t len, char **out, size_t *out_len,
                 struct err *err);

#endif
