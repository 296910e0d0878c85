/* heading.c -- a markdown body's first heading, and a brief's heading cleaned into a name. */
#include "parser/heading.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "common/strbuf.h"

const char *
heading_find(const char *body, size_t len, size_t *n)
{
    char fence = 0;
    size_t i = 0;

    while (i < len) {
        const char *nl = memchr(body + i, '\n', len - i);
        size_t le = nl ? (size_t)(nl - body) : len;
        const char *line = body + i;
        size_t ll = le - i, k = 0;

        while (ll > 0 && line[ll - 1] == '\r') {
            ll--;
        }
        while (k < 3 && k < ll && line[k] == ' ') {
            k++;
        }
        if (k + 3 <= ll && (line[k] == '`' || line[k] == '~') && line[k + 1] == line[k] &&
            line[k + 2] == line[k]) {
            if (fence == 0) {
                fence = line[k];
            } else if (fence == line[k]) {
                fence = 0;
            }
        } else if (fence == 0 && ll >= 2 && line[0] == '#' && line[1] == ' ') {
            const char *s = line + 2;
            size_t sl = ll - 2;

            while (sl > 0 && (s[0] == ' ' || s[0] == '\t')) {
                s++, sl--;
            }
            while (sl > 0 && (s[sl - 1] == ' ' || s[sl - 1] == '\t')) {
                sl--;
            }
            *n = sl;
            return s;
        }
        i = le + 1;
    }
    return NULL;
}

/* Decode the (valid) UTF-8 code point at s; *len gets its byte length. */
static unsigned
decode_cp(const unsigned char *s, size_t avail, size_t *len)
{
    unsigned c = s[0];

    if (c < 0x80 || avail < 2) {
        *len = 1;
        return c;
    }
    if (c < 0xE0) {
        *len = 2;
        return ((c & 0x1F) << 6) | (s[1] & 0x3F);
    }
    if (c < 0xF0 || avail < 4) {
        *len = avail < 3 ? avail : 3;
        return avail < 3 ? c : ((c & 0x0F) << 12) | ((s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    }
    *len = 4;
    return ((c & 0x07) << 18) | ((s[1] & 0x3F) << 12) | ((s[2] & 0x3F) << 6) | (s[3] & 0x3F);
}

/* What a name starts with: an ASCII letter or digit, or a letter of Latin-1 Supplement to
 * Latin Extended-B (U+00C0-U+024F but for the signs U+00D7 and U+00F7). */
static bool
is_letter(unsigned cp)
{
    return (cp < 0x80 &&
            ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9'))) ||
           (cp >= 0xC0 && cp <= 0x24F && cp != 0xD7 && cp != 0xF7);
}

char *
heading_clean(const char *h, size_t n)
{
    const unsigned char *p = (const unsigned char *)h;
    size_t i = 0, cl;

    while (i < n && !is_letter(decode_cp(p + i, n - i, &cl))) {
        i += cl;
    }
    if (n - i >= 12 && strncasecmp(h + i, "course", 6) == 0 &&
        (h[i + 6] == ' ' || h[i + 6] == '-') && strncasecmp(h + i + 7, "brief", 5) == 0 &&
        (i + 12 == n || h[i + 12] == ' ' || h[i + 12] == ':' || h[i + 12] == '-' ||
         (n - i - 12 >= 3 && memcmp(h + i + 12, "\xE2\x80", 2) == 0 &&
          (p[i + 14] == 0x93 || p[i + 14] == 0x94)))) {
        i += 12;
        while (i < n && h[i] == ' ') {
            i++;
        }
        if (i < n && (h[i] == ':' || h[i] == '-')) {
            i++;
        } else if (n - i >= 3 && memcmp(h + i, "\xE2\x80", 2) == 0 &&
                   (p[i + 2] == 0x93 || p[i + 2] == 0x94)) {
            i += 3;
        }
        while (i < n && h[i] == ' ') {
            i++;
        }
    }
    return i < n ? xstrndup(h + i, n - i) : NULL;
}
