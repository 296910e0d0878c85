/* ignore.c -- the names docs/CONTRACT.md ignores: hidden ones and editors' leftovers. */
#include "common/ignore.h"

#include <string.h>

static bool
ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);

    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

bool
ignore_name_n(const char *name, size_t n)
{
    if (n == 0) {
        return true;
    }
    return name[0] == '.' || name[n - 1] == '~' || ends_with(name, n, ".swp") ||
           ends_with(name, n, ".tmp") || (name[0] == '#' && name[n - 1] == '#');
}

bool
ignore_name(const char *name)
{
    return ignore_name_n(name, strlen(name));
}
