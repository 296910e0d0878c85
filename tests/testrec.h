/* testrec.h -- what the tests that parse records share (test_parser, test_rows): a text that
 * must be accepted, and the fields of a JSON object read back. */
#ifndef CO_TESTREC_H
#define CO_TESTREC_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "parser/record.h"

/* Parse text as rel with the default options into *rec (record_release it); the test fails
 * unless it is accepted, printing the reason. */
void parse_ok(const char *rel, const char *text, struct record *rec);

/* The string value of key in obj, or NULL when absent or not a string. Borrowed from obj. */
const char *jstr(const cJSON *obj, const char *key);

/* True when key in obj is a JSON null. */
bool jnull(const cJSON *obj, const char *key);

#endif
