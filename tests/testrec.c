/* testrec.c -- what the tests that parse records share. */
#include "tests/testrec.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "common/err.h"

void
parse_ok(const char *rel, const char *text, struct record *rec)
{
    struct err err = {{0}};
    int rc = record_parse(rel, text, strlen(text), NULL, rec, &err);

    if (rc != 0) {
        print_error("unexpected rejection: %s\n", err.msg);
    }
    assert_int_equal(rc, 0);
}

const char *
jstr(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool
jnull(const cJSON *obj, const char *key)
{
    return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(obj, key));
}
