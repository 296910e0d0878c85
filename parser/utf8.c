/* utf8.c -- UTF-8 validation with the offset of the first bad byte, and iconv fallback. */
#include "parser/utf8.h"

#include <errno.h>
#include <iconv.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"

size_t
utf8_check(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        unsigned c = p[i];
        unsigned lo = 0x80, hi = 0xBF;
        size_t n;

        if (c < 0x80) {
            /*
             * Markdown is mostly ASCII: skip 8 bytes at a time, or (little-endian) straight
             * to the first non-ASCII byte of the word.
             */
            uint64_t w, m;

            if (len - i < 8) {
                i++;
                continue;
            }
            memcpy(&w, p + i, 8);
            m = w & 0x8080808080808080ULL;
            if (m == 0) {
                i += 8;
                continue;
            }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            i += (size_t)__builtin_ctzll(m) >> 3;
#else
            i++;
#endif
            continue;
        }
        /* The common accented letter (U+0080..U+07FF) without the general path. */
        if (c >= 0xC2 && c <= 0xDF && len - i >= 2 && (p[i + 1] & 0xC0) == 0x80) {
            i += 2;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            n = 2;
        } else if (c == 0xE0) {
            n = 3, lo = 0xA0;
        } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
            n = 3;
        } else if (c == 0xED) {
            n = 3, hi = 0x9F; /* no surrogates */
        } else if (c == 0xF0) {
            n = 4, lo = 0x90;
        } else if (c >= 0xF1 && c <= 0xF3) {
            n = 4;
        } else if (c == 0xF4) {
            n = 4, hi = 0x8F; /* nothing above U+10FFFF */
        } else {
            return i;
        }
        if (n > len - i || p[i + 1] < lo || p[i + 1] > hi) {
            return i;
        }
        for (size_t k = 2; k < n; k++) {
            if ((p[i + k] & 0xC0) != 0x80) {
                return i;
            }
        }
        i += n;
    }
    return UTF8_VALID;
}

int
utf8_convert(const char *from_enc, const char *buf, size_t len, char **out, size_t *out_len,
             struct err *err)
{
    struct strbuf sb = STRBUF_INIT;
    iconv_t cd;
    char *in = (char *)buf; /* iconv's prototype wants char **; it does not write input */
    size_t inleft = len;
    int ret = -1;

    *out = NULL;
    *out_len = 0;
    cd = iconv_open("UTF-8", from_enc);
    if (cd == (iconv_t)-1) {
        return err_set(err, "cannot convert from %s: %s (check --fallback-encoding)", from_enc,
                       strerror(errno));
    }
    /* Single-byte legacy text grows by at most 3x; start at 1.5x and grow on E2BIG. */
    strbuf_init(&sb, len + len / 2 + 16);
    for (;;) {
        bool flush = inleft == 0; /* the last call flushes any shift state */
        char *o = sb.buf + sb.len;
        size_t oleft = sb.alloc - sb.len - 1;
        size_t r = iconv(cd, flush ? NULL : &in, flush ? NULL : &inleft, &o, &oleft);

        sb.len = (size_t)(o - sb.buf);
        if (r != (size_t)-1) {
            if (flush) {
                break;
            }
            continue;
        }
        if (errno == E2BIG) {
            strbuf_grow(&sb, inleft * 2 + 64);
            continue;
        }
        err_set(err, "not valid %s either at byte %zu", from_enc, (size_t)(in - buf));
        goto out;
    }
    sb.buf[sb.len] = '\0';
    if (memchr(sb.buf, '\0', sb.len) != NULL) {
        err_set(err, "NUL character after conversion from %s at offset %zu", from_enc,
                (size_t)((char *)memchr(sb.buf, '\0', sb.len) - sb.buf));
        goto out;
    }
    if (utf8_check(sb.buf, sb.len) != UTF8_VALID) {
        err_set(err, "conversion from %s did not produce valid UTF-8", from_enc);
        goto out;
    }
    *out = strbuf_detach(&sb, out_len);
    ret = 0;
out:
    strbuf_release(&sb);
    iconv_close(cd);
    return ret;
}
