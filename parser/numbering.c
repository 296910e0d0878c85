/* numbering.c -- a lesson's module and lesson numbers, N and L (docs/CONTRACT.md "Lessons"). */
#include "parser/numbering.h"

#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "parser/record.h"

#define SMALLINT_MAX 32767
#define RULE_NOT_APPLICABLE (-2) /* a numbering rule whose pattern did not match */

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool
is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A run of ASCII digits as a number; -1 when it does not fit a long (never wraps). */
static long
parse_digits(const char *s, size_t n)
{
    long v = 0;

    for (size_t i = 0; i < n; i++) {
        int d = s[i] - '0';

        if (v > (LONG_MAX - d) / 10) {
            return -1;
        }
        v = v * 10 + d;
    }
    return v;
}

static size_t
digit_run(const char *s, size_t n, size_t i)
{
    size_t k = i;

    while (k < n && is_digit(s[k])) {
        k++;
    }
    return k - i;
}

/* "N.L": digits, a dot, digits, nothing else. */
static bool
match_lesson_id(const char *s, long *n, long *l)
{
    size_t len = strlen(s), d1 = digit_run(s, len, 0), d2;

    if (d1 == 0 || d1 >= len || s[d1] != '.') {
        return false;
    }
    d2 = digit_run(s, len, d1 + 1);
    if (d2 == 0 || d1 + 1 + d2 != len) {
        return false;
    }
    *n = parse_digits(s, d1);
    *l = parse_digits(s + d1 + 1, d2);
    return true;
}

/* A file stem that starts with "N.L" or "<letters>-N.L", then '-', '_', ' ' or its end. */
static bool
match_file_name(const char *s, size_t len, long *n, long *l)
{
    size_t i = 0, d1, d2;

    while (i < len && is_alpha(s[i])) {
        i++;
    }
    if (i > 0) {
        if (i == len || s[i] != '-') {
            return false;
        }
        i++;
    }
    d1 = digit_run(s, len, i);
    if (d1 == 0 || i + d1 >= len || s[i + d1] != '.') {
        return false;
    }
    d2 = digit_run(s, len, i + d1 + 1);
    if (d2 == 0) {
        return false;
    }
    if (i + d1 + 1 + d2 < len && !strchr("-_ ", s[i + d1 + 1 + d2])) {
        return false;
    }
    *n = parse_digits(s + i, d1);
    *l = parse_digits(s + i + d1 + 1, d2);
    return true;
}

/*
 * A directory named modulo|module|mod (any case), then '-', '_' or nothing, then digits:
 * its number (-1 when too large), else RULE_NOT_APPLICABLE.
 */
static long
match_module_dir(const char *s, size_t len)
{
    static const char *const prefixes[] = {"modulo", "module", "mod"};

    for (size_t p = 0; p < 3; p++) {
        size_t pl = strlen(prefixes[p]), i = pl;

        if (len < pl || strncasecmp(s, prefixes[p], pl) != 0) {
            continue;
        }
        if (i < len && (s[i] == '-' || s[i] == '_')) {
            i++;
        }
        if (i < len && digit_run(s, len, i) == len - i) {
            return parse_digits(s + i, len - i);
        }
    }
    return RULE_NOT_APPLICABLE;
}

/*
 * Module number N from the front-matter's `module`: RULE_NOT_APPLICABLE when it is neither
 * an integer nor a string with digits; -1 when it is one but the number is unusable
 * (negative, or too large to hold exactly).
 */
static long
module_from_fm(const struct yj_doc *doc)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(doc->root, "module");
    const struct yj_top *t = yj_doc_top(doc, "module");

    if (cJSON_IsNumber(m) && t != NULL && t->kind == YJ_INT) {
        double v = m->valuedouble;

        /* Above 2^53 a double no longer holds every integer: unknown rather than wrong. */
        return v >= 0 && v <= 9007199254740992.0 ? (long)v : -1;
    }
    if (cJSON_IsString(m)) {
        const char *s = m->valuestring;
        size_t len = strlen(s), i = 0;

        while (i < len && !is_digit(s[i])) {
            i++;
        }
        if (i < len) {
            return parse_digits(s + i, digit_run(s, len, i));
        }
    }
    return RULE_NOT_APPLICABLE;
}

/*
 * The first rule whose pattern matches decides, as the contract's "first that applies" says.
 * A number too large for a long (a 30-digit run) is unknown (-1), never wrapped, and does not
 * hand over to the next rule.
 */
void
numbering_fill(struct record *rec, const struct yj_doc *doc)
{
    const char *rel = rec->rel_path;
    const char *name = strrchr(rel, '/') + 1; /* a lesson has at least two slashes */
    size_t stem_len = strlen(name) - 3;
    const struct yj_top *lid = yj_doc_top(doc, "lesson_id");
    long id_n = -1, id_l = -1, fn_n = -1, fn_l = -1, n;
    bool by_id = lid != NULL && lid->text != NULL && match_lesson_id(lid->text, &id_n, &id_l);
    bool by_name = match_file_name(name, stem_len, &fn_n, &fn_l);

    n = module_from_fm(doc);
    if (n == RULE_NOT_APPLICABLE && by_id) {
        n = id_n;
    }
    if (n == RULE_NOT_APPLICABLE && by_name) {
        n = fn_n;
    }
    if (n == RULE_NOT_APPLICABLE) {
        /* The nearest directory below ROOT/<course>/lessons/ named like a module. */
        const char *lessons_end = strchr(strchr(rel, '/') + 1, '/');
        const char *end = name - 1;

        while (n == RULE_NOT_APPLICABLE && end > lessons_end) {
            const char *start = end - 1;

            while (start > lessons_end && start[-1] != '/') {
                start--;
            }
            n = match_module_dir(start, (size_t)(end - start));
            end = start - 1;
        }
    }
    rec->module_no = n < 0 ? -1 : n;
    rec->lesson_no = by_id ? id_l : by_name ? fn_l : -1;
    rec->sequence = rec->lesson_no >= 0 && rec->lesson_no <= SMALLINT_MAX ? rec->lesson_no : -1;
}
